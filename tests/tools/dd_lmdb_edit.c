/* dd_lmdb_edit: hand-edits a dealdesk store the way an attacker with the
 * file would, below dealdesk's own code (LMDB directly): for the audit log
 * tests (tests/integration/test_journal.py).
 *
 *   dd_lmdb_edit DIR replace TABLE SEQ FROM TO   replaces the first FROM in
 *                                                the value of key SEQ (8 bytes
 *                                                big-endian) with TO (same length)
 *   dd_lmdb_edit DIR delete TABLE SEQ            deletes key SEQ
 *
 * Exit 0 done, 1 not found or LMDB failed, 2 usage. */
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(void)
{
	fprintf(stderr, "usage: dd_lmdb_edit DIR replace TABLE SEQ FROM TO\n"
	                "       dd_lmdb_edit DIR delete TABLE SEQ\n");
	return 2;
}

int main(int argc, char **argv)
{
	if (argc < 5)
		return usage();
	int replace = strcmp(argv[2], "replace") == 0;
	if ((!replace && strcmp(argv[2], "delete") != 0) || (replace && argc != 7)
	    || (!replace && argc != 5))
		return usage();
	unsigned long long seq = strtoull(argv[4], NULL, 10);
	unsigned char key[8];
	for (int i = 7; i >= 0; i--, seq >>= 8)
		key[i] = (unsigned char)(seq & 0xff);
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	int rc = mdb_env_create(&env);
	if (rc == 0)
		rc = mdb_env_set_maxdbs(env, 64);
	if (rc == 0)
		rc = mdb_env_set_mapsize(env, (size_t)1 << 30);
	if (rc == 0)
		rc = mdb_env_open(env, argv[1], MDB_NOTLS, 0640);
	if (rc == 0)
		rc = mdb_txn_begin(env, NULL, 0, &txn);
	if (rc == 0)
		rc = mdb_dbi_open(txn, argv[3], 0, &dbi);
	if (rc != 0) {
		fprintf(stderr, "dd_lmdb_edit: %s\n", mdb_strerror(rc));
		return 1;
	}
	MDB_val k = { 8, key }, v;
	if (replace) {
		size_t fl = strlen(argv[5]);
		if (fl == 0 || fl != strlen(argv[6]))
			return usage();
		rc = mdb_get(txn, dbi, &k, &v);
		unsigned char *copy = rc == 0 ? malloc(v.mv_size) : NULL;
		unsigned char *hit = NULL;
		if (copy) {
			memcpy(copy, v.mv_data, v.mv_size);
			for (size_t i = 0; i + fl <= v.mv_size && !hit; i++)
				if (memcmp(copy + i, argv[5], fl) == 0)
					hit = copy + i;
		}
		if (hit == NULL) {
			fprintf(stderr, "dd_lmdb_edit: '%s' not found in entry %s\n", argv[5], argv[4]);
			mdb_txn_abort(txn);
			free(copy);
			return 1;
		}
		memcpy(hit, argv[6], fl);
		MDB_val nv = { v.mv_size, copy };
		rc = mdb_put(txn, dbi, &k, &nv, 0);
		free(copy);
	} else {
		rc = mdb_del(txn, dbi, &k, NULL);
	}
	if (rc == 0)
		rc = mdb_txn_commit(txn);
	else
		mdb_txn_abort(txn);
	mdb_env_close(env);
	if (rc != 0) {
		fprintf(stderr, "dd_lmdb_edit: %s\n", mdb_strerror(rc));
		return 1;
	}
	return 0;
}
