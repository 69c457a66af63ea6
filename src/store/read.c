/* dealdesk store: read transactions, and the prefix scan they share with
 * write transactions (store.c). */
#include "store_int.h"

#include <stdlib.h>
#include <string.h>

struct dd_rtxn {
	dd_store *store;
	MDB_txn *txn;   /* NULL until the first begin, or after a failed renew */
	bool active;    /* between dd_rtxn_begin and dd_rtxn_end */
};

/* ---- scans (shared by read and write transactions) ----------------------- */

static bool has_prefix(MDB_val key, dd_val prefix)
{
	return prefix.len == 0
	       || (key.mv_size >= prefix.len
	           && memcmp(key.mv_data, prefix.data, prefix.len) == 0);
}

/* The larger of two keys in LMDB's default order (memcmp, then length). */
static dd_val key_max(dd_val a, dd_val b)
{
	size_t n = a.len < b.len ? a.len : b.len;
	int c = memcmp(a.data, b.data, n);
	if (c == 0)
		c = a.len < b.len ? -1 : a.len > b.len;
	return c >= 0 ? a : b;
}

int store__scan(MDB_txn *txn, MDB_dbi dbi, dd_val prefix, dd_val start,
                dd_scan_fn fn, void *ud, bool *lmdb_failed)
{
	*lmdb_failed = false;
	if (fn == NULL || prefix.len > DD_STORE_MAX_KEY || start.len > DD_STORE_MAX_KEY
	    || (prefix.len > 0 && prefix.data == NULL)
	    || (start.len > 0 && start.data == NULL))
		return DD_EINVAL;

	/* Keys are sorted, so the records with the prefix are one run that
	 * begins at the first key >= prefix; a start inside or past that run
	 * moves the beginning, one before it does not. */
	dd_val seek = prefix;
	if (start.len > 0)
		seek = prefix.len > 0 ? key_max(prefix, start) : start;

	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, dbi, &cur);
	if (rc != MDB_SUCCESS) {
		*lmdb_failed = true;
		return store__err(rc);
	}
	MDB_val k = store__to_mdb(seek), v;
	rc = mdb_cursor_get(cur, &k, &v, seek.len > 0 ? MDB_SET_RANGE : MDB_FIRST);
	int ret = DD_OK;
	while (rc == MDB_SUCCESS && has_prefix(k, prefix)) {
		int r = fn(ud, store__from_mdb(k), store__from_mdb(v));
		if (r != 0) {
			ret = r < 0 ? r : DD_OK;
			break;
		}
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	if (ret == DD_OK && rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
		*lmdb_failed = true;
		ret = store__err(rc);
	}
	mdb_cursor_close(cur);
	return ret;
}

/* ---- read transactions --------------------------------------------------- */

int dd_rtxn_new(dd_store *store, dd_rtxn **out)
{
	if (store == NULL || out == NULL)
		return DD_EINVAL;
	dd_rtxn *txn = calloc(1, sizeof(*txn));
	if (txn == NULL)
		return DD_ENOMEM;
	/* The MDB_txn comes with the first begin, so an idle handle holds no
	 * reader slot and pins no snapshot. */
	txn->store = store;
	*out = txn;
	return DD_OK;
}

void dd_rtxn_free(dd_rtxn *txn)
{
	if (txn == NULL)
		return;
	if (txn->txn != NULL)
		mdb_txn_abort(txn->txn); /* also releases the reader slot */
	free(txn);
}

int dd_rtxn_begin(dd_rtxn *txn)
{
	if (txn == NULL || txn->active)
		return DD_EINVAL;
	int rc;
	if (txn->txn == NULL) {
		rc = mdb_txn_begin(txn->store->env, NULL, MDB_RDONLY, &txn->txn);
		if (rc != MDB_SUCCESS)
			txn->txn = NULL;
	} else {
		/* Reuses the reader slot and the handle: no malloc, no lock. */
		rc = mdb_txn_renew(txn->txn);
		if (rc != MDB_SUCCESS) {
			/* Start from scratch next time. */
			mdb_txn_abort(txn->txn);
			txn->txn = NULL;
		}
	}
	if (rc != MDB_SUCCESS)
		return store__err(rc);
	txn->active = true;
	return DD_OK;
}

/* Releases the snapshot (old pages can be reused again) but keeps the slot. */
void dd_rtxn_end(dd_rtxn *txn)
{
	if (txn == NULL || !txn->active)
		return;
	mdb_txn_reset(txn->txn);
	txn->active = false;
}

int dd_rtxn_get(dd_rtxn *txn, dd_table t, dd_val key, dd_val *val)
{
	if (txn == NULL || !txn->active || !store__table_ok(t) || !store__key_ok(key) || val == NULL)
		return DD_EINVAL;
	MDB_val k = store__to_mdb(key), v;
	int rc = mdb_get(txn->txn, txn->store->dbi[t], &k, &v);
	if (rc != MDB_SUCCESS)
		return store__err(rc);
	*val = store__from_mdb(v);
	return DD_OK;
}

int dd_rtxn_scan(dd_rtxn *txn, dd_table t, dd_val prefix, dd_val start,
                 dd_scan_fn fn, void *ud)
{
	if (txn == NULL || !txn->active || !store__table_ok(t))
		return DD_EINVAL;
	bool lmdb_failed;
	return store__scan(txn->txn, txn->store->dbi[t], prefix, start, fn, ud,
	            &lmdb_failed);
}

uint64_t dd_rtxn_meta_u64(dd_rtxn *txn, const char *key)
{
	if (txn == NULL || !txn->active)
		return 0;
	return store__meta_get_u64(txn->txn, txn->store->dbi[DD_T_META], key);
}

uint64_t dd_rtxn_data_version(dd_rtxn *txn)
{
	/* read from the snapshot itself, every time: LMDB's transaction id is
	 * not an identity of what a reader sees (mdb_txn_renew reads the id,
	 * then copies the meta page, which a writer two commits on may have
	 * rewritten by then), so a version remembered per id was wrong under
	 * fast writers (test_concurrent_readers caught it) */
	return dd_rtxn_meta_u64(txn, DD_META_DATA_VERSION);
}
