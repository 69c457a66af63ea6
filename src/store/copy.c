/* dealdesk store: copies of a store. dd_store_backup: an online,
 * consistent, compacted copy (mdb_env_copy2) into an empty directory, and
 * what it holds; dd_store_clone_data: a scratch copy of the data (not the
 * journal) that what-if analyses write to. */
#include "dealdesk/store.h"

#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "store_int.h"

int dd_store_clone_data(dd_store *src, const char *dir, dd_store **out, dd_error *err)
{
	*out = NULL;
	dd_store_opts o = { .path = dir, .no_sync = 1,
		            .price_history_days = src->price_history_days };
	MDB_envinfo info;
	if (mdb_env_info(src->env, &info) == 0)
		o.map_size = info.me_mapsize;
	dd_store *dst;
	int rc = dd_store_open(&dst, &o, err);
	if (rc != DD_OK)
		return rc;
	MDB_txn *rt = NULL, *wt = NULL;
	int mrc = mdb_txn_begin(src->env, NULL, MDB_RDONLY, &rt);
	if (mrc == 0)
		mrc = mdb_txn_begin(dst->env, NULL, 0, &wt);
	for (int t = 0; mrc == 0 && t < DD_T__COUNT; t++) {
		/* the journal records what happened here, not data to decide on */
		if (store__is_journal((dd_table)t))
			continue;
		MDB_cursor *c;
		if ((mrc = mdb_cursor_open(rt, src->dbi[t], &c)) != 0)
			break;
		MDB_val k, v;
		int op = MDB_FIRST;
		while ((mrc = mdb_cursor_get(c, &k, &v, op)) == 0) {
			op = MDB_NEXT;
			/* the meta table already holds the schema the open wrote */
			if ((mrc = mdb_put(wt, dst->dbi[t], &k, &v, 0)) != 0)
				break;
		}
		mdb_cursor_close(c);
		if (mrc == MDB_NOTFOUND)
			mrc = 0;
	}
	if (rt)
		mdb_txn_abort(rt);
	if (mrc == 0)
		mrc = mdb_txn_commit(wt);
	else if (wt)
		mdb_txn_abort(wt);
	if (mrc != 0) {
		dd_store_close(dst);
		return dd_error_set(err, DD_ESTORE, "store: cannot copy the data: %s",
		                    mdb_strerror(mrc));
	}
	*out = dst;
	return DD_OK;
}

/* Reads what the copy in dir holds: opened read-only without a lock file
 * (MDB_NOLOCK), so the copy stays the one file mdb_env_copy2 wrote. */
static int backup_describe(const char *dir, dd_backup_info *info, dd_error *err)
{
	MDB_env *env;
	MDB_txn *txn = NULL;
	int rc = mdb_env_create(&env);
	if (rc == MDB_SUCCESS)
		rc = mdb_env_set_maxdbs(env, DD_T__COUNT);
	if (rc == MDB_SUCCESS)
		rc = mdb_env_open(env, dir, MDB_RDONLY | MDB_NOLOCK, STORE_FILE_MODE);
	if (rc == MDB_SUCCESS)
		rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
	for (int t = 0; rc == MDB_SUCCESS && t < DD_T__COUNT; t++) {
		MDB_dbi dbi;
		MDB_stat st;
		info->records[t] = 0;
		int r = mdb_dbi_open(txn, dd_store_table_name((dd_table)t), 0, &dbi);
		if (r == MDB_NOTFOUND)
			continue;
		if (r == MDB_SUCCESS)
			r = mdb_stat(txn, dbi, &st);
		if (r != MDB_SUCCESS)
			rc = r;
		else
			info->records[t] = st.ms_entries;
		if (r == MDB_SUCCESS && t == DD_T_META) {
			MDB_val k = { .mv_size = strlen(DD_META_DATA_VERSION),
				      .mv_data = (void *)DD_META_DATA_VERSION }, v;
			if (mdb_get(txn, dbi, &k, &v) == MDB_SUCCESS && v.mv_size == 8)
				info->data_version = store__u64_le(v.mv_data);
		}
	}
	if (txn != NULL)
		mdb_txn_abort(txn);
	mdb_env_close(env);
	if (rc != MDB_SUCCESS)
		return dd_error_set(err, store__err(rc), "backup %s: reading the copy: %s", dir,
		                    mdb_strerror(rc));
	snprintf(info->file, sizeof(info->file), "%s/data.mdb", dir);
	struct stat st;
	if (stat(info->file, &st) != 0)
		return dd_error_set(err, DD_ESTORE, "backup %s: %s", info->file, strerror(errno));
	info->bytes = (uint64_t)st.st_size;
	/* prices and credit data, like the store itself: owner and group only */
	chmod(info->file, STORE_FILE_MODE);
	return DD_OK;
}

int dd_store_backup_info(dd_store *store, const char *dir, dd_backup_info *info,
                         dd_error *err)
{
	if (store == NULL || dir == NULL || dir[0] == '\0')
		return dd_error_set(err, DD_EINVAL, "backup: no directory given");
	int rc = store__mkdir_p(dir);
	if (rc != 0) {
		int code = rc == ENOMEM || store__err(rc) == DD_EFULL ? store__err(rc) : DD_ESTORE;
		return dd_error_set(err, code, "backup %s: create directory: %s", dir,
		                    strerror(rc));
	}
	/* A backup never lands on top of another store's files. */
	int empty = store__dir_is_empty(dir);
	if (empty < 0)
		return dd_error_set(err, DD_ESTORE, "backup %s: %s", dir,
		                    strerror(-empty));
	if (empty == 0)
		return dd_error_set(err, DD_EEXIST, "backup %s: directory is not empty",
		                    dir);
	/* The copy runs in its own read transaction: a consistent snapshot
	 * while writers go on. Compacting drops free pages. */
	rc = mdb_env_copy2(store->env, dir, MDB_CP_COMPACT);
	if (rc != MDB_SUCCESS) {
		if (rc == EIO && store__disk_nearly_full(dir))
			rc = ENOSPC; /* a short write: the disk filled up */
		return dd_error_set(err, store__err(rc), "backup %s: mdb_env_copy2: %s%s",
		                    dir, mdb_strerror(rc),
		                    store__err(rc) == DD_EFULL
		                            ? "; free space there or back up elsewhere" : "");
	}
	if (info == NULL)
		return DD_OK;
	memset(info, 0, sizeof(*info));
	return backup_describe(dir, info, err);
}

int dd_store_backup(dd_store *store, const char *dir, dd_error *err)
{
	return dd_store_backup_info(store, dir, NULL, err);
}

