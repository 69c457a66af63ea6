/* dealdesk store: what the files of the store (store.c, read.c, writer.c,
 * copy.c) share and nobody else needs. */
#ifndef DD_STORE_STORE_INT_H
#define DD_STORE_STORE_INT_H

#include <lmdb.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "dealdesk/store.h"

/* Files of a store: owner and group only (prices and credit data). */
#define STORE_FILE_MODE 0640

struct dd_store {
	MDB_env *env;
	char path[512];            /* the --db directory, for messages */
	_Atomic int full_cause;    /* the last MDB_MAP_FULL / ENOSPC / EDQUOT / EFBIG, or 0 */
	MDB_dbi dbi[DD_T__COUNT];  /* opened once in dd_store_open, read-only after */
	_Atomic(struct dd_writer *) writer; /* the writer thread, when one runs */
	int64_t price_history_days; /* dd_store_opts; read-only after open */
};

static inline bool store__table_ok(dd_table t)
{
	return (unsigned)t < DD_T__COUNT;
}

/* LMDB rejects empty keys and keys over its compiled maximum (511). */
static inline bool store__key_ok(dd_val key)
{
	return key.data != NULL && key.len > 0 && key.len <= DD_STORE_MAX_KEY;
}

static inline MDB_val store__to_mdb(dd_val v)
{
	MDB_val m = { .mv_size = v.len, .mv_data = (void *)v.data };
	return m;
}

static inline dd_val store__from_mdb(MDB_val m)
{
	dd_val v = { .data = m.mv_data, .len = m.mv_size };
	return v;
}

/* meta values are 8 bytes little-endian; absent or malformed reads as 0. */
uint64_t store__meta_get_u64(MDB_txn *txn, MDB_dbi dbi, const char *key);

/* Calls fn for the records with prefix from start (dd_rtxn_scan). DD_OK
 * (done, or stopped by fn), fn's negative code, DD_EINVAL, or a translated
 * LMDB error; *lmdb_failed tells the caller which of the last. */
int store__scan(MDB_txn *txn, MDB_dbi dbi, dd_val prefix, dd_val start, dd_scan_fn fn,
                void *ud, bool *lmdb_failed);

/* An LMDB or errno code as a dd_err (DD_EFULL for a full map or disk). */
int store__err(int rc);
/* Is the filesystem of path (nearly) out of space? */
bool store__disk_nearly_full(const char *path);
/* The journal's tables: their writes do not advance data_version. */
bool store__is_journal(dd_table t);
uint64_t store__u64_le(const unsigned char b[8]);
/* mkdir -p; 0 or an errno. */
int store__mkdir_p(const char *path);
/* 1 empty, 0 not, -errno when it cannot be read. */
int store__dir_is_empty(const char *path);

struct dd_writer;

/* Attaches w as the store's writer: DD_OK, or DD_EEXIST when another one is
 * attached. Detaching clears the slot only when w is the one attached. */
int dd_store__attach_writer(dd_store *store, struct dd_writer *w);
void dd_store__detach_writer(dd_store *store, struct dd_writer *w);
/* The attached writer, or NULL. */
struct dd_writer *dd_store__writer(dd_store *store);

#endif
