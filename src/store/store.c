/* dealdesk store: the LMDB environment, read and write transactions, scans
 * and backups (API and key layout in include/dealdesk/store.h).
 *
 * LMDB return codes are translated to dd_err here and nowhere else:
 * MDB_NOTFOUND -> DD_ENOTFOUND, MDB_MAP_FULL and a full disk (ENOSPC, EDQUOT,
 * EFBIG) -> DD_EFULL, ENOMEM -> DD_ENOMEM, anything else -> DD_ESTORE. Which
 * of the "full" causes it was is kept (the last one seen) so that
 * dd_store_full_message can tell the operator the cause and the remedy.
 *
 * Threads: a dd_store is shared by all threads. A dd_rtxn belongs to one
 * thread at a time (MDB_NOTLS ties the reader slot to the handle, not the
 * thread, so a pool may hand it from thread to thread between requests). A
 * dd_wtxn must end on the thread that began it: LMDB's writer lock is a mutex
 * owned by that thread, and a thread that begins a second dd_wtxn while it
 * holds one deadlocks. A nested dd_wtxn (dd_wtxn_begin_child) lives on the
 * thread of its parent too; the parent is unusable while it is open.
 */
#include "dealdesk/store.h"

#include <dirent.h>
#include <errno.h>
#include <lmdb.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>

#include "store_int.h"

#define STORE_SCHEMA 1
#define STORE_DEFAULT_MAP_SIZE ((size_t)1 << 30)
#define STORE_DEFAULT_MAX_READERS 126
/* The store holds prices and credit data: owner and group only. */
#define STORE_DIR_MODE 0750

#define META_DATA_VERSION DD_META_DATA_VERSION
#define META_SCHEMA DD_META_SCHEMA

/* Indexed by dd_table; the names are the on-disk database names. */
static const char *const table_names[DD_T__COUNT] = {
	[DD_T_PRICES] = "prices",
	[DD_T_PROMOTIONS] = "promotions",
	[DD_T_CUSTOMERS] = "customers",
	[DD_T_CHECKS] = "checks",
	[DD_T_POLICIES] = "policies",
	[DD_T_META] = "meta",
	[DD_T_SIGNALS] = "signals",
	[DD_T_COUPONS] = "coupons",
	[DD_T_USAGE] = "usage",
	[DD_T_TOKENS] = "tokens",
	[DD_T_ORDERS] = "orders",
	[DD_T_SKU_HISTORY] = "sku_history",
	[DD_T_PRICE_HISTORY] = "price_history",
	[DD_T_PROMO_HISTORY] = "promotion_history",
	[DD_T_INVOICES] = "invoices",
	[DD_T_OPEN_ITEMS] = "open_items",
	[DD_T_CREDIT_AUDIT] = "credit_audit",
	[DD_T_CREDIT_TIERS] = "credit_tiers",
	[DD_T_OPEN_ORDERS] = "open_orders",
	[DD_T_CUSTOMER_ORDERS] = "customer_orders",
	[DD_T_ANALYTICS] = "analytics",
	[DD_T_DECISIONS] = "decisions",
	[DD_T_DECISION_INDEX] = "decision_index",
	[DD_T_AUDIT] = "audit",
	[DD_T_JOURNAL] = "journal",
};


struct dd_wtxn {
	dd_store *store;
	MDB_txn *txn;
	dd_wtxn *parent; /* NULL for a top-level transaction */
	dd_wtxn *child;  /* the open nested transaction: this one is unusable until it ends */
	int err;        /* sticky: the first failure, DD_OK until then */
	bool dirty;     /* something was put or deleted: data_version advances */
	bool merged;    /* a child committed into this one (its version already counted) */
	bool logged;    /* something was written to a journal table: commit, no new version */
};

/* ---- helpers ------------------------------------------------------------- */

int store__err(int rc)
{
	switch (rc) {
	case MDB_SUCCESS: return DD_OK;
	case MDB_NOTFOUND: return DD_ENOTFOUND;
	case MDB_MAP_FULL: return DD_EFULL;
	case ENOSPC: return DD_EFULL;
	case EDQUOT: return DD_EFULL;
	case EFBIG: return DD_EFULL;
	case ENOMEM: return DD_ENOMEM;
	default: return DD_ESTORE;
	}
}

/* LMDB reports a short write as EIO (mdb_page_flush), and a disk that fills
 * up mid-write gives a short write: with (almost) no space left on the
 * store's filesystem an EIO counts as ENOSPC. */
bool store__disk_nearly_full(const char *path)
{
	struct statvfs vfs;
	if (path[0] == '\0' || statvfs(path, &vfs) != 0)
		return false;
	return (uint64_t)vfs.f_bavail * vfs.f_frsize < ((uint64_t)1 << 20);
}

static bool disk_nearly_full(const dd_store *store)
{
	return store__disk_nearly_full(store->path);
}

/* store__err for a write: remembers why the store was full. */
static int store_write_err(dd_store *store, int rc)
{
	if (rc == EIO && store != NULL && disk_nearly_full(store))
		rc = ENOSPC;
	int code = store__err(rc);
	if (code == DD_EFULL && store != NULL)
		atomic_store(&store->full_cause, rc);
	return code;
}

/* The journal tables (decision log, audit log) record what happened; they
 * are not data a quote reads, so writing them does not advance
 * data_version (a decision logged must not invalidate every quoter's cache,
 * nor make the data it was decided on look changed). */
bool store__is_journal(dd_table t)
{
	return t == DD_T_DECISIONS || t == DD_T_DECISION_INDEX || t == DD_T_AUDIT
	       || t == DD_T_JOURNAL;
}

static void wtxn_mark(dd_wtxn *txn, dd_table t)
{
	if (store__is_journal(t))
		txn->logged = true;
	else
		txn->dirty = true;
}

uint64_t store__u64_le(const unsigned char b[8])
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | b[i];
	return v;
}

static void u64_store_le(unsigned char b[8], uint64_t v)
{
	for (int i = 0; i < 8; i++) {
		b[i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
}

/* meta values are 8 bytes little-endian; absent or malformed reads as 0. */
uint64_t store__meta_get_u64(MDB_txn *txn, MDB_dbi dbi, const char *key)
{
	if (key == NULL)
		return 0;
	MDB_val k = { .mv_size = strlen(key), .mv_data = (void *)key };
	MDB_val v;
	if (k.mv_size == 0 || k.mv_size > DD_STORE_MAX_KEY
	    || mdb_get(txn, dbi, &k, &v) != MDB_SUCCESS || v.mv_size != 8)
		return 0;
	return store__u64_le(v.mv_data);
}

static int meta_put_u64(MDB_txn *txn, MDB_dbi dbi, const char *key, uint64_t value)
{
	unsigned char buf[8];
	u64_store_le(buf, value);
	MDB_val k = { .mv_size = strlen(key), .mv_data = (void *)key };
	MDB_val v = { .mv_size = sizeof(buf), .mv_data = buf };
	return mdb_put(txn, dbi, &k, &v, 0);
}

/* mkdir -p: creates every missing component of path. 0 or an errno. */
int store__mkdir_p(const char *path)
{
	char *copy = strdup(path);
	if (copy == NULL)
		return ENOMEM;
	int rc = 0;
	for (char *p = copy + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;
		*p = '\0';
		/* Some systems say EACCES or EROFS, not EEXIST, for an
		 * existing directory we may not write: stat settles it. */
		if (mkdir(copy, STORE_DIR_MODE) != 0 && errno != EEXIST) {
			int mkdir_errno = errno;
			struct stat st;
			if (stat(copy, &st) != 0 || !S_ISDIR(st.st_mode)) {
				rc = mkdir_errno;
				break;
			}
		}
		*p = saved;
		if (saved == '\0')
			break;
	}
	free(copy);
	if (rc != 0)
		return rc;
	/* EEXIST also covers a regular file in the way. */
	struct stat st;
	if (stat(path, &st) != 0)
		return errno;
	return S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
}

/* 1 when dir holds nothing but . and .., 0 when it holds something, or -errno. */
int store__dir_is_empty(const char *path)
{
	DIR *d = opendir(path);
	if (d == NULL)
		return -errno;
	int empty = 1;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
			empty = 0;
			break;
		}
	}
	closedir(d);
	return empty;
}

/* Opens the named databases and stamps a new store with its schema.
 * mdb_dbi_open is not thread-safe, so this runs once, here, before the
 * store is shared; the handles stay valid until mdb_env_close. */
static int store_init_dbs(dd_store *store, const char *path, dd_error *err)
{
	MDB_txn *txn;
	int rc = mdb_txn_begin(store->env, NULL, 0, &txn);
	if (rc != MDB_SUCCESS)
		return dd_error_set(err, store__err(rc), "store %s: begin: %s",
		                    path, mdb_strerror(rc));
	for (int t = 0; t < DD_T__COUNT; t++) {
		rc = mdb_dbi_open(txn, table_names[t], MDB_CREATE, &store->dbi[t]);
		if (rc != MDB_SUCCESS) {
			mdb_txn_abort(txn);
			return dd_error_set(err, store__err(rc),
			                    "store %s: open database %s: %s", path,
			                    table_names[t], mdb_strerror(rc));
		}
	}
	MDB_dbi meta = store->dbi[DD_T_META];
	MDB_val k = { .mv_size = strlen(META_SCHEMA), .mv_data = META_SCHEMA };
	MDB_val v;
	rc = mdb_get(txn, meta, &k, &v);
	if (rc == MDB_NOTFOUND) {
		rc = meta_put_u64(txn, meta, META_SCHEMA, STORE_SCHEMA);
	} else if (rc == MDB_SUCCESS) {
		uint64_t schema = store__meta_get_u64(txn, meta, META_SCHEMA);
		if (schema != STORE_SCHEMA) {
			mdb_txn_abort(txn);
			return dd_error_set(err, DD_EPRECOND,
			                    "store %s: schema %llu, this build reads %d",
			                    path, (unsigned long long)schema,
			                    STORE_SCHEMA);
		}
	}
	if (rc != MDB_SUCCESS) {
		mdb_txn_abort(txn);
		return dd_error_set(err, store__err(rc), "store %s: schema: %s",
		                    path, mdb_strerror(rc));
	}
	rc = mdb_txn_commit(txn);
	if (rc != MDB_SUCCESS)
		return dd_error_set(err, store__err(rc), "store %s: commit: %s",
		                    path, mdb_strerror(rc));
	return DD_OK;
}

/* ---- environment --------------------------------------------------------- */

int dd_store_open(dd_store **out, const dd_store_opts *opts, dd_error *err)
{
	if (out == NULL || opts == NULL || opts->path == NULL
	    || opts->path[0] == '\0')
		return dd_error_set(err, DD_EINVAL, "store: no path given");
	*out = NULL;
	const char *path = opts->path;

	int rc = store__mkdir_p(path);
	if (rc != 0)
		return dd_error_set(err, rc == ENOMEM ? DD_ENOMEM : DD_ESTORE,
		                    "store %s: create directory: %s", path,
		                    strerror(rc));

	dd_store *store = calloc(1, sizeof(*store));
	if (store == NULL)
		return dd_error_set(err, DD_ENOMEM, "store %s: out of memory", path);
	rc = mdb_env_create(&store->env);
	if (rc != MDB_SUCCESS) {
		free(store);
		return dd_error_set(err, store__err(rc), "store %s: mdb_env_create: %s",
		                    path, mdb_strerror(rc));
	}

	/* All three must be set before mdb_env_open. The map size is address
	 * space, not disk: a large default spares us mdb_env_set_mapsize on a
	 * live environment, which is only safe with no transaction open. */
	size_t map_size = opts->map_size ? opts->map_size : STORE_DEFAULT_MAP_SIZE;
	store->price_history_days =
		opts->price_history_days > 0 ? opts->price_history_days : DD_PRICE_HISTORY_DEFAULT_DAYS;
	unsigned readers = opts->max_readers ? opts->max_readers
	                                     : STORE_DEFAULT_MAX_READERS;
	const char *step = "mdb_env_set_maxdbs";
	rc = mdb_env_set_maxdbs(store->env, DD_T__COUNT);
	if (rc == MDB_SUCCESS) {
		step = "mdb_env_set_mapsize";
		rc = mdb_env_set_mapsize(store->env, map_size);
	}
	if (rc == MDB_SUCCESS) {
		step = "mdb_env_set_maxreaders";
		rc = mdb_env_set_maxreaders(store->env, readers);
	}

	/* MDB_NOTLS: worker threads reuse read transactions (reset/renew), so
	 * a reader slot must belong to the transaction, not the thread.
	 * Commits are synchronous by default: a request is acknowledged only
	 * after dd_wtxn_commit returns, and without fsync a crash could lose a
	 * write we already acknowledged. Throughput comes from group commit,
	 * not from MDB_NOSYNC, which only tests ask for. */
	unsigned flags = MDB_NOTLS;
	if (opts->no_sync)
		flags |= MDB_NOSYNC;
	if (rc == MDB_SUCCESS) {
		step = "mdb_env_open";
		rc = mdb_env_open(store->env, path, flags, STORE_FILE_MODE);
	}
	if (rc == MDB_SUCCESS && mdb_env_get_maxkeysize(store->env) < DD_STORE_MAX_KEY) {
		mdb_env_close(store->env);
		free(store);
		return dd_error_set(err, DD_ESTORE,
		                    "store %s: liblmdb built with keys shorter than %d",
		                    path, DD_STORE_MAX_KEY);
	}
	if (rc != MDB_SUCCESS) {
		mdb_env_close(store->env);
		free(store);
		return dd_error_set(err, store__err(rc), "store %s: %s: %s", path,
		                    step, mdb_strerror(rc));
	}

	snprintf(store->path, sizeof(store->path), "%s", path);
	/* Reader slots left by a crashed process would pin old pages forever. */
	int dead = 0;
	mdb_reader_check(store->env, &dead);

	int ret = store_init_dbs(store, path, err);
	if (ret != DD_OK) {
		mdb_env_close(store->env);
		free(store);
		return ret;
	}
	*out = store;
	return DD_OK;
}

int dd_store__attach_writer(dd_store *store, struct dd_writer *w)
{
	struct dd_writer *none = NULL;
	return atomic_compare_exchange_strong(&store->writer, &none, w) ? DD_OK : DD_EEXIST;
}

void dd_store__detach_writer(dd_store *store, struct dd_writer *w)
{
	atomic_compare_exchange_strong(&store->writer, &w, NULL);
}

struct dd_writer *dd_store__writer(dd_store *store)
{
	return atomic_load(&store->writer);
}

/* Every dd_rtxn must be freed, every dd_wtxn ended and the writer stopped
 * before this. */
int dd_store_map_use(dd_store *store, uint64_t *used, uint64_t *size)
{
	MDB_envinfo info;
	MDB_stat st;
	if (mdb_env_info(store->env, &info) != 0 || mdb_env_stat(store->env, &st) != 0)
		return DD_ESTORE;
	*size = info.me_mapsize;
	*used = ((uint64_t)info.me_last_pgno + 1) * st.ms_psize;
	return DD_OK;
}

void dd_store_close(dd_store *store)
{
	if (store == NULL)
		return;
	mdb_env_close(store->env);
	free(store);
}

const char *dd_store_table_name(dd_table t)
{
	return store__table_ok(t) ? table_names[t] : "?";
}

const char *dd_store_full_message(dd_store *store, char *buf, size_t size)
{
	MDB_envinfo info;
	MDB_stat st;
	int cause = store ? atomic_load(&store->full_cause) : 0;
	if (store == NULL || mdb_env_info(store->env, &info) != MDB_SUCCESS ||
	    mdb_env_stat(store->env, &st) != MDB_SUCCESS) {
		snprintf(buf, size, "store is full");
		return buf;
	}
	size_t mib = info.me_mapsize >> 20;
	size_t used = ((size_t)info.me_last_pgno + 1) * st.ms_psize;
	if (cause == ENOSPC || cause == EDQUOT || cause == EFBIG)
		snprintf(buf, size,
		         "disk full: the store %s could not be written (%s); free space on its "
		         "filesystem (or move --db to a larger one), then retry",
		         store->path, strerror(cause));
	else
		snprintf(buf, size,
		         "store map full (map size %zu MiB, %zu KiB in use): raise --map-size "
		         "and restart dealdeskd", mib, used >> 10);
	return buf;
}

/* ---- write transactions -------------------------------------------------- */

/* Records the first failure; later calls return it. */
static int wtxn_fail(dd_wtxn *txn, int code)
{
	if (txn->err == DD_OK)
		txn->err = code;
	return txn->err;
}

int dd_wtxn_begin(dd_store *store, dd_wtxn **out)
{
	if (store == NULL || out == NULL)
		return DD_EINVAL;
	dd_wtxn *txn = calloc(1, sizeof(*txn));
	if (txn == NULL)
		return DD_ENOMEM;
	/* Blocks while another thread or process holds the writer lock. */
	int rc = mdb_txn_begin(store->env, NULL, 0, &txn->txn);
	if (rc != MDB_SUCCESS) {
		free(txn);
		return store__err(rc);
	}
	txn->store = store;
	*out = txn;
	return DD_OK;
}

int dd_wtxn_begin_child(dd_wtxn *parent, dd_wtxn **out)
{
	if (parent == NULL || out == NULL || parent->child != NULL)
		return DD_EINVAL;
	if (parent->err != DD_OK)
		return parent->err;
	dd_wtxn *txn = calloc(1, sizeof(*txn));
	if (txn == NULL)
		return DD_ENOMEM;
	/* A child of a write transaction takes no lock: the parent holds it. */
	int rc = mdb_txn_begin(parent->store->env, parent->txn, 0, &txn->txn);
	if (rc != MDB_SUCCESS) {
		free(txn);
		return store__err(rc);
	}
	txn->store = parent->store;
	txn->parent = parent;
	parent->child = txn;
	*out = txn;
	return DD_OK;
}

/* Ends a nested transaction's link to its parent and frees it. */
static void wtxn_release(dd_wtxn *txn)
{
	if (txn->parent != NULL)
		txn->parent->child = NULL;
	free(txn);
}

/* Aborts txn and, first, any child still open inside it. */
static void wtxn_abort_tree(dd_wtxn *txn)
{
	if (txn->child != NULL)
		wtxn_abort_tree(txn->child);
	mdb_txn_abort(txn->txn);
	wtxn_release(txn);
}

static int wtxn_put(dd_wtxn *txn, dd_table t, dd_val key, dd_val val, unsigned flags)
{
	if (txn == NULL || txn->child != NULL)
		return DD_EINVAL;
	if (txn->err != DD_OK)
		return txn->err;
	/* A put that cannot happen sticks: committing the rest of the
	 * transaction would store a change the caller did not make whole. */
	if (!store__table_ok(t) || !store__key_ok(key) || (val.len > 0 && val.data == NULL))
		return wtxn_fail(txn, DD_EINVAL);
	MDB_val k = store__to_mdb(key), v = store__to_mdb(val);
	if (v.mv_size == 0)
		v.mv_data = ""; /* LMDB copies 0 bytes, but not from NULL */
	int rc = mdb_put(txn->txn, txn->store->dbi[t], &k, &v, flags);
	if (rc == MDB_KEYEXIST && (flags & MDB_APPEND)) /* not after the last key */
		rc = mdb_put(txn->txn, txn->store->dbi[t], &k, &v, 0);
	if (rc != MDB_SUCCESS)
		return wtxn_fail(txn, store_write_err(txn->store, rc));
	wtxn_mark(txn, t);
	return DD_OK;
}

int dd_wtxn_put(dd_wtxn *txn, dd_table t, dd_val key, dd_val val)
{
	return wtxn_put(txn, t, key, val, 0);
}

int dd_wtxn_append(dd_wtxn *txn, dd_table t, dd_val key, dd_val val)
{
	return wtxn_put(txn, t, key, val, MDB_APPEND);
}

int dd_wtxn_del(dd_wtxn *txn, dd_table t, dd_val key)
{
	if (txn == NULL || txn->child != NULL)
		return DD_EINVAL;
	if (txn->err != DD_OK)
		return txn->err;
	if (!store__table_ok(t) || !store__key_ok(key))
		return wtxn_fail(txn, DD_EINVAL);
	MDB_val k = store__to_mdb(key);
	int rc = mdb_del(txn->txn, txn->store->dbi[t], &k, NULL);
	if (rc == MDB_NOTFOUND)
		return DD_ENOTFOUND; /* nothing changed: not a failure */
	if (rc != MDB_SUCCESS)
		return wtxn_fail(txn, store_write_err(txn->store, rc));
	wtxn_mark(txn, t);
	return DD_OK;
}

int dd_wtxn_take_first(dd_wtxn *txn, dd_table t, size_t max, dd_scan_fn fn, void *ud,
                       size_t *taken)
{
	*taken = 0;
	if (txn == NULL || txn->child != NULL || fn == NULL)
		return DD_EINVAL;
	if (txn->err != DD_OK)
		return txn->err;
	if (!store__table_ok(t))
		return wtxn_fail(txn, DD_EINVAL);
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn->txn, txn->store->dbi[t], &cur);
	if (rc != MDB_SUCCESS)
		return wtxn_fail(txn, store__err(rc));
	int ret = DD_OK;
	MDB_val k, v;
	/* the first record each time: where a delete leaves the cursor is
	 * LMDB's business, the leftmost path is cheap to walk again */
	while (*taken < max && (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST)) == MDB_SUCCESS) {
		int r = fn(ud, store__from_mdb(k), store__from_mdb(v));
		if (r != 0) {
			ret = r < 0 ? r : DD_OK;
			break;
		}
		if ((rc = mdb_cursor_del(cur, 0)) != MDB_SUCCESS)
			break;
		(*taken)++;
		wtxn_mark(txn, t);
	}
	mdb_cursor_close(cur);
	if (ret == DD_OK && rc != MDB_SUCCESS && rc != MDB_NOTFOUND)
		return wtxn_fail(txn, store_write_err(txn->store, rc));
	return ret;
}

/* *val is valid until the next write in txn or its end. */
int dd_wtxn_table_stat(dd_wtxn *txn, dd_table t, uint64_t *bytes, uint64_t *entries)
{
	if (txn == NULL || txn->child != NULL || !store__table_ok(t))
		return DD_EINVAL;
	if (txn->err != DD_OK)
		return txn->err;
	MDB_stat st;
	if (mdb_stat(txn->txn, txn->store->dbi[t], &st) != 0)
		return DD_ESTORE;
	*bytes = ((uint64_t)st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages) *
	         st.ms_psize;
	*entries = st.ms_entries;
	return DD_OK;
}

int dd_wtxn_get(dd_wtxn *txn, dd_table t, dd_val key, dd_val *val)
{
	if (txn == NULL || txn->child != NULL)
		return DD_EINVAL;
	if (txn->err != DD_OK)
		return txn->err;
	/* A bad lookup changes nothing, so it does not stick. */
	if (!store__table_ok(t) || !store__key_ok(key) || val == NULL)
		return DD_EINVAL;
	MDB_val k = store__to_mdb(key), v;
	int rc = mdb_get(txn->txn, txn->store->dbi[t], &k, &v);
	if (rc == MDB_NOTFOUND)
		return DD_ENOTFOUND;
	if (rc != MDB_SUCCESS)
		return wtxn_fail(txn, store__err(rc));
	*val = store__from_mdb(v);
	return DD_OK;
}

/* fn may write through txn (LMDB moves the cursors of a write transaction
 * with the data), but a write invalidates the key and val it was given. */
int dd_wtxn_scan(dd_wtxn *txn, dd_table t, dd_val prefix, dd_val start,
                 dd_scan_fn fn, void *ud)
{
	if (txn == NULL || txn->child != NULL)
		return DD_EINVAL;
	if (txn->err != DD_OK)
		return txn->err;
	if (!store__table_ok(t))
		return DD_EINVAL;
	bool lmdb_failed;
	int ret = store__scan(txn->txn, txn->store->dbi[t], prefix, start, fn, ud,
	               &lmdb_failed);
	/* fn's own code is the caller's business; only LMDB failures stick. */
	if (lmdb_failed)
		return wtxn_fail(txn, ret);
	return txn->err != DD_OK ? txn->err : ret;
}

uint64_t dd_wtxn_meta_u64(dd_wtxn *txn, const char *key)
{
	if (txn == NULL || txn->child != NULL || txn->err != DD_OK)
		return 0;
	return store__meta_get_u64(txn->txn, txn->store->dbi[DD_T_META], key);
}

int dd_wtxn_set_meta_u64(dd_wtxn *txn, const char *key, uint64_t v)
{
	if (txn == NULL || txn->child != NULL)
		return DD_EINVAL;
	if (txn->err != DD_OK)
		return txn->err;
	if (key == NULL)
		return wtxn_fail(txn, DD_EINVAL);
	unsigned char buf[8];
	u64_store_le(buf, v);
	dd_val k = { .data = key, .len = strlen(key) };
	dd_val val = { .data = buf, .len = sizeof(buf) };
	return dd_wtxn_put(txn, DD_T_META, k, val);
}

int dd_wtxn_commit(dd_wtxn *txn, uint64_t *version)
{
	if (txn == NULL)
		return DD_EINVAL;
	int ret = txn->err;
	if (ret == DD_OK && txn->child != NULL)
		ret = DD_EINVAL; /* a child still open: its work is not finished */
	if (ret != DD_OK) {
		wtxn_abort_tree(txn);
		return ret;
	}
	MDB_dbi meta = txn->store->dbi[DD_T_META];
	uint64_t v = store__meta_get_u64(txn->txn, meta, META_DATA_VERSION);
	if (!txn->dirty && !txn->merged && !txn->logged) {
		/* Nothing to make durable: abort spares the two fsyncs. */
		mdb_txn_abort(txn->txn);
		wtxn_release(txn);
		if (version != NULL)
			*version = v;
		return DD_OK;
	}
	/* Same transaction: readers see the data and its version together.
	 * Writes a child already counted (merged) do not count again. */
	int rc = MDB_SUCCESS;
	if (txn->dirty) {
		v++;
		rc = meta_put_u64(txn->txn, meta, META_DATA_VERSION, v);
	}
	dd_store *store = txn->store;
	if (rc != MDB_SUCCESS) {
		mdb_txn_abort(txn->txn);
		wtxn_release(txn);
		return store_write_err(store, rc);
	}
	dd_wtxn *parent = txn->parent;
	/* For a child this merges into the parent (no fsync); for a top-level
	 * transaction it is the durable commit. Frees the MDB_txn either way. */
	rc = mdb_txn_commit(txn->txn);
	wtxn_release(txn);
	if (rc != MDB_SUCCESS)
		return store_write_err(store, rc);
	if (parent != NULL)
		parent->merged = true;
	if (version != NULL)
		*version = v;
	return DD_OK;
}

void dd_wtxn_abort(dd_wtxn *txn)
{
	if (txn == NULL)
		return;
	wtxn_abort_tree(txn);
}

int64_t dd_wtxn_price_history_days(const dd_wtxn *txn)
{
	return txn && txn->store ? txn->store->price_history_days : DD_PRICE_HISTORY_DEFAULT_DAYS;
}
