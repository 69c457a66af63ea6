/* dealdesk store: what the writer (writer.c) and the copies (copy.c) need
 * from store.c and nobody else does. */
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
