/* Unit tests for src/store: the LMDB environment, read and write
 * transactions, data_version, scans, meta values, keys, concurrency, backup
 * and a full map. Every test works in its own mkdtemp directory under /tmp. */
#define _XOPEN_SOURCE 700 /* mkdtemp, nftw */
#include <ftw.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "dealdesk/error.h"
#include "dealdesk/store.h"

/* A dd_val over a string literal, without its NUL. */
#define LIT(s) ((dd_val){ .data = (s), .len = sizeof(s) - 1 })

static dd_val str_val(const char *s)
{
	return (dd_val){ .data = s, .len = strlen(s) };
}

static bool val_equals(dd_val v, const void *data, size_t len)
{
	return v.len == len && (len == 0 || memcmp(v.data, data, len) == 0);
}

/* ---- fixture: a fresh directory and a store in it ------------------------- */

typedef struct fixture {
	char dir[64];      /* mkdtemp directory, removed by teardown */
	char path[128];    /* dir/db: the fixture's store */
	dd_store *store;
} fixture;

static int rm_entry(const char *p, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	return remove(p);
}

static void rm_rf(const char *dir)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void sub_path(char *out, size_t size, const fixture *f, const char *name)
{
	int n = snprintf(out, size, "%s/%s", f->dir, name);
	assert_true(n > 0 && (size_t)n < size);
}

static dd_store *open_at(const char *path, size_t map_size, unsigned max_readers,
                         int no_sync)
{
	dd_store_opts opts = {
		.path = path,
		.map_size = map_size,
		.max_readers = max_readers,
		.no_sync = no_sync,
	};
	dd_error err;
	dd_error_clear(&err);
	dd_store *store = NULL;
	int rc = dd_store_open(&store, &opts, &err);
	if (rc != DD_OK)
		fprintf(stderr, "dd_store_open: %s\n", err.msg);
	assert_int_equal(rc, DD_OK);
	assert_non_null(store);
	return store;
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	strcpy(f->dir, "/tmp/dd-test-store-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	sub_path(f->path, sizeof(f->path), f, "db");
	/* Tests do not outlive a crash: skip the fsyncs. */
	f->store = open_at(f->path, 0, 0, 1);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	dd_store_close(f->store);
	rm_rf(f->dir);
	free(f);
	return 0;
}

/* ---- helpers -------------------------------------------------------------- */

/* Puts one record in its own transaction; returns the committed version. */
static uint64_t put_one(dd_store *store, dd_table t, dd_val key, dd_val val)
{
	dd_wtxn *w;
	assert_int_equal(dd_wtxn_begin(store, &w), DD_OK);
	assert_int_equal(dd_wtxn_put(w, t, key, val), DD_OK);
	uint64_t version = 0;
	assert_int_equal(dd_wtxn_commit(w, &version), DD_OK);
	return version;
}

static uint64_t read_version(dd_store *store)
{
	dd_rtxn *r;
	assert_int_equal(dd_rtxn_new(store, &r), DD_OK);
	assert_int_equal(dd_rtxn_begin(r), DD_OK);
	uint64_t v = dd_rtxn_data_version(r);
	dd_rtxn_end(r);
	dd_rtxn_free(r);
	return v;
}

static void u64_le(unsigned char b[8], uint64_t v)
{
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
}

/* ---- open, close, reopen -------------------------------------------------- */

static void test_open_close_reopen(void **state)
{
	fixture *f = *state;
	char path[192];
	/* Missing parents are created (mkdir -p). */
	sub_path(path, sizeof(path), f, "deep/er/store");
	dd_store *s = open_at(path, 0, 0, 0); /* default: synchronous commits */
	assert_int_equal(read_version(s), 0);
	assert_int_equal(put_one(s, DD_T_CUSTOMERS, LIT("c-1"), LIT("alice")), 1);
	dd_store_close(s);

	s = open_at(path, 0, 0, 0);
	dd_rtxn *r;
	assert_int_equal(dd_rtxn_new(s, &r), DD_OK);
	assert_int_equal(dd_rtxn_begin(r), DD_OK);
	dd_val v;
	assert_int_equal(dd_rtxn_get(r, DD_T_CUSTOMERS, LIT("c-1"), &v), DD_OK);
	assert_true(val_equals(v, "alice", 5));
	assert_int_equal(dd_rtxn_data_version(r), 1);
	assert_int_equal(dd_rtxn_meta_u64(r, "schema"), 1);
	dd_rtxn_end(r);
	dd_rtxn_free(r);
	dd_store_close(s);
}

static void test_open_errors(void **state)
{
	fixture *f = *state;
	dd_error err;
	dd_store *s = (dd_store *)1;
	assert_int_equal(dd_store_open(&s, NULL, &err), DD_EINVAL);
	dd_store_opts opts = { .path = NULL };
	assert_int_equal(dd_store_open(&s, &opts, &err), DD_EINVAL);
	assert_int_equal(err.code, DD_EINVAL);

	/* A regular file where the directory should be. */
	char file[192];
	sub_path(file, sizeof(file), f, "plain");
	FILE *fp = fopen(file, "w");
	assert_non_null(fp);
	fputs("not a directory", fp);
	fclose(fp);
	opts.path = file;
	dd_error_clear(&err);
	assert_int_equal(dd_store_open(&s, &opts, &err), DD_ESTORE);
	assert_int_equal(err.code, DD_ESTORE);
	assert_non_null(strstr(err.msg, file));
	assert_null(s);

	/* A directory with a data.mdb that is not LMDB: mdb_env_open fails
	 * and the message names the path and LMDB's reason. */
	char dir[192], data[256];
	sub_path(dir, sizeof(dir), f, "garbage");
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(data, sizeof(data), "%s/data.mdb", dir);
	fp = fopen(data, "w");
	assert_non_null(fp);
	for (int i = 0; i < 8192; i++)
		fputc('z', fp);
	fclose(fp);
	opts.path = dir;
	dd_error_clear(&err);
	assert_int_equal(dd_store_open(&s, &opts, &err), DD_ESTORE);
	assert_non_null(strstr(err.msg, dir));
	assert_non_null(strstr(err.msg, "MDB_INVALID"));
}

/* ---- put, get, delete ----------------------------------------------------- */

static void test_put_get(void **state)
{
	fixture *f = *state;
	const unsigned char key[] = { 'k', 0, 'e', 0xff, 'y' };
	const unsigned char val[] = { 0, 1, 2, 0, 0xfe };
	dd_val k = { key, sizeof(key) };

	dd_wtxn *w;
	assert_int_equal(dd_wtxn_begin(f->store, &w), DD_OK);
	assert_int_equal(dd_wtxn_put(w, DD_T_PRICES, k, (dd_val){ val, sizeof(val) }),
	                 DD_OK);
	/* Same key, another table: a separate record. */
	assert_int_equal(dd_wtxn_put(w, DD_T_CHECKS, k, LIT("check")), DD_OK);
	/* Empty values are allowed, even with a NULL pointer. */
	assert_int_equal(dd_wtxn_put(w, DD_T_PROMOTIONS, LIT("empty"),
	                             (dd_val){ NULL, 0 }), DD_OK);
	dd_val v;
	assert_int_equal(dd_wtxn_get(w, DD_T_PRICES, k, &v), DD_OK);
	assert_true(val_equals(v, val, sizeof(val)));
	assert_int_equal(dd_wtxn_get(w, DD_T_PRICES, LIT("nope"), &v), DD_ENOTFOUND);
	uint64_t version = 0;
	assert_int_equal(dd_wtxn_commit(w, &version), DD_OK);
	assert_int_equal(version, 1);

	/* Overwrite. */
	assert_int_equal(put_one(f->store, DD_T_CUSTOMERS, LIT("c"), LIT("one")), 2);
	assert_int_equal(put_one(f->store, DD_T_CUSTOMERS, LIT("c"), LIT("two")), 3);

	dd_rtxn *r;
	assert_int_equal(dd_rtxn_new(f->store, &r), DD_OK);
	assert_int_equal(dd_rtxn_get(r, DD_T_PRICES, k, &v), DD_EINVAL); /* not begun */
	assert_int_equal(dd_rtxn_begin(r), DD_OK);
	assert_int_equal(dd_rtxn_get(r, DD_T_PRICES, k, &v), DD_OK);
	assert_true(val_equals(v, val, sizeof(val)));
	assert_int_equal(dd_rtxn_get(r, DD_T_CHECKS, k, &v), DD_OK);
	assert_true(val_equals(v, "check", 5));
	assert_int_equal(dd_rtxn_get(r, DD_T_PROMOTIONS, LIT("empty"), &v), DD_OK);
	assert_int_equal(v.len, 0);
	assert_int_equal(dd_rtxn_get(r, DD_T_CUSTOMERS, LIT("c"), &v), DD_OK);
	assert_true(val_equals(v, "two", 3));
	assert_int_equal(dd_rtxn_get(r, DD_T_CUSTOMERS, k, &v), DD_ENOTFOUND);
	assert_int_equal(dd_rtxn_get(r, DD_T_PRICES, LIT("k"), &v), DD_ENOTFOUND);
	assert_int_equal(dd_rtxn_get(r, DD_T__COUNT, k, &v), DD_EINVAL);
	assert_int_equal(dd_rtxn_get(r, DD_T_PRICES, LIT(""), &v), DD_EINVAL);
	dd_rtxn_end(r);
	dd_rtxn_free(r);
}

static void test_delete(void **state)
{
	fixture *f = *state;
	assert_int_equal(put_one(f->store, DD_T_PROMOTIONS, LIT("p1"), LIT("x")), 1);

	dd_wtxn *w;
	dd_val v;
	uint64_t version = 0;
	assert_int_equal(dd_wtxn_begin(f->store, &w), DD_OK);
	assert_int_equal(dd_wtxn_del(w, DD_T_PROMOTIONS, LIT("p1")), DD_OK);
	assert_int_equal(dd_wtxn_get(w, DD_T_PROMOTIONS, LIT("p1"), &v), DD_ENOTFOUND);
	/* Deleting it again: not found, and not sticky. */
	assert_int_equal(dd_wtxn_del(w, DD_T_PROMOTIONS, LIT("p1")), DD_ENOTFOUND);
	assert_int_equal(dd_wtxn_commit(w, &version), DD_OK);
	assert_int_equal(version, 2);

	/* A transaction whose only call deleted nothing changed nothing. */
	assert_int_equal(dd_wtxn_begin(f->store, &w), DD_OK);
	assert_int_equal(dd_wtxn_del(w, DD_T_PROMOTIONS, LIT("missing")), DD_ENOTFOUND);
	version = 99;
	assert_int_equal(dd_wtxn_commit(w, &version), DD_OK);
	assert_int_equal(version, 2);

	dd_rtxn *r;
	assert_int_equal(dd_rtxn_new(f->store, &r), DD_OK);
	assert_int_equal(dd_rtxn_begin(r), DD_OK);
	assert_int_equal(dd_rtxn_get(r, DD_T_PROMOTIONS, LIT("p1"), &v), DD_ENOTFOUND);
	assert_int_equal(dd_rtxn_data_version(r), 2);
	dd_rtxn_end(r);
	dd_rtxn_free(r);
}

/* ---- data_version --------------------------------------------------------- */

static void test_data_version(void **state)
{
	fixture *f = *state;
	assert_int_equal(read_version(f->store), 0);

	dd_wtxn *w;
	uint64_t version = 99;
	/* No writes: no new version, and the current one reported. */
	assert_int_equal(dd_wtxn_begin(f->store, &w), DD_OK);
	assert_int_equal(dd_wtxn_commit(w, &version), DD_OK);
	assert_int_equal(version, 0);
	assert_int_equal(read_version(f->store), 0);

	assert_int_equal(put_one(f->store, DD_T_PRICES, LIT("a"), LIT("1")), 1);

	/* Many writes in one transaction: still exactly one step. */
	assert_int_equal(dd_wtxn_begin(f->store, &w), DD_OK);
	for (int i = 0; i < 50; i++) {
		char key[16];
		snprintf(key, sizeof(key), "k%02d", i);
		assert_int_equal(dd_wtxn_put(w, DD_T_PRICES, str_val(key), LIT("v")), DD_OK);
	}
	assert_int_equal(dd_wtxn_meta_u64(w, "data_version"), 1);
	assert_int_equal(dd_wtxn_commit(w, &version), DD_OK);
	assert_int_equal(version, 2);
	assert_int_equal(read_version(f->store), 2);

	/* Aborted writes leave the version alone. */
	assert_int_equal(dd_wtxn_begin(f->store, &w), DD_OK);
	assert_int_equal(dd_wtxn_put(w, DD_T_PRICES, LIT("b"), LIT("2")), DD_OK);
	dd_wtxn_abort(w);
	assert_int_equal(read_version(f->store), 2);

	/* NULL version pointer is fine. */
	assert_int_equal(dd_wtxn_begin(f->store, &w), DD_OK);
	assert_int_equal(dd_wtxn_put(w, DD_T_PRICES, LIT("c"), LIT("3")), DD_OK);
	assert_int_equal(dd_wtxn_commit(w, NULL), DD_OK);
	assert_int_equal(read_version(f->store), 3);

	assert_int_equal(dd_wtxn_begin(f->store, &w), DD_OK);
	assert_int_equal(dd_wtxn_commit(w, &version), DD_OK);
	assert_int_equal(version, 3);

	/* One read transaction renewed across commits (as a quoter keeps
	 * it): each snapshot reports its own version, remembered per LMDB
	 * snapshot; a journal-only commit is a new snapshot, same version. */
	dd_rtxn *r;
	assert_int_equal(dd_rtxn_new(f->store, &r), DD_OK);
	assert_int_equal(dd_rtxn_begin(r), DD_OK);
	assert_int_equal(dd_rtxn_data_version(r), 3);
	assert_int_equal(dd_rtxn_data_version(r), 3);
	dd_rtxn_end(r);
	assert_int_equal(dd_rtxn_data_version(r), 0); /* not active */
	assert_int_equal(put_one(f->store, DD_T_PRICES, LIT("d"), LIT("4")), 4);
	assert_int_equal(dd_rtxn_begin(r), DD_OK);
	assert_int_equal(dd_rtxn_data_version(r), 4);
	dd_rtxn_end(r);
	assert_int_equal(dd_wtxn_begin(f->store, &w), DD_OK);
	assert_int_equal(dd_wtxn_put(w, DD_T_DECISIONS, LIT("s1"), LIT("rec")), DD_OK);
	assert_int_equal(dd_wtxn_commit(w, &version), DD_OK);
	assert_int_equal(version, 4);
	assert_int_equal(dd_rtxn_begin(r), DD_OK);
	assert_int_equal(dd_rtxn_data_version(r), 4);
	dd_rtxn_end(r);
	assert_int_equal(put_one(f->store, DD_T_PRICES, LIT("e"), LIT("5")), 5);
	assert_int_equal(put_one(f->store, DD_T_PRICES, LIT("f"), LIT("6")), 6);
	assert_int_equal(dd_rtxn_begin(r), DD_OK);
	assert_int_equal(dd_rtxn_data_version(r), 6);
	dd_rtxn_end(r);
	dd_rtxn_free(r);
}

/* ---- scans ---------------------------------------------------------------- */

typedef struct collect {
	int n;
	char keys[16][32];
	size_t lens[16];
	int stop_after;  /* return 1 after this many records (0: never) */
	int fail_after;  /* return fail_code after this many records (0: never) */
	int fail_code;
} collect;

static int collect_fn(void *ud, dd_val key, dd_val val)
{
	(void)val;
	collect *c = ud;
	if (c->n >= 16 || key.len > sizeof(c->keys[0]))
		return DD_EINTERNAL;
	memcpy(c->keys[c->n], key.data, key.len);
	c->lens[c->n] = key.len;
	c->n++;
	if (c->stop_after > 0 && c->n >= c->stop_after)
		return 1;
	if (c->fail_after > 0 && c->n >= c->fail_after)
		return c->fail_code;
	return 0;
}

static void assert_key(const collect *c, int i, const char *key, size_t len)
{
	assert_true(i < c->n);
	assert_int_equal(c->lens[i], len);
	assert_memory_equal(c->keys[i], key, len);
}

#define ASSERT_KEY(c, i, lit) assert_key((c), (i), (lit), sizeof(lit) - 1)

static void put_price(dd_wtxn *w, const char *sku, const char *cur, const char *list)
{
	char key[64];
	int n = dd_key_join(key, sizeof(key), 3, sku, cur, list);
	assert_true(n > 0);
	assert_int_equal(dd_wtxn_put(w, DD_T_PRICES, (dd_val){ key, (size_t)n },
	                             LIT("price")), DD_OK);
}

static void test_scan(void **state)
{
	fixture *f = *state;
	dd_wtxn *w;
	assert_int_equal(dd_wtxn_begin(f->store, &w), DD_OK);
	/* Inserted out of order on purpose. */
	put_price(w, "B", "EUR", "pl1");
	put_price(w, "A", "USD", "pl2");
	put_price(w, "AB", "USD", "pl1");
	put_price(w, "A", "EUR", "pl1");
	put_price(w, "A", "USD", "pl1");
	assert_int_equal(dd_wtxn_commit(w, NULL), DD_OK);

	dd_rtxn *r;
	assert_int_equal(dd_rtxn_new(f->store, &r), DD_OK);
	assert_int_equal(dd_rtxn_begin(r), DD_OK);
	const dd_val none = { NULL, 0 };

	/* Everything, in key order. */
	collect c = { 0 };
	assert_int_equal(dd_rtxn_scan(r, DD_T_PRICES, none, none, collect_fn, &c), DD_OK);
	assert_int_equal(c.n, 5);
	ASSERT_KEY(&c, 0, "A\0EUR\0pl1");
	ASSERT_KEY(&c, 1, "A\0USD\0pl1");
	ASSERT_KEY(&c, 2, "A\0USD\0pl2");
	ASSERT_KEY(&c, 3, "AB\0USD\0pl1");
	ASSERT_KEY(&c, 4, "B\0EUR\0pl1");

	/* Prefix "A\0": sku A only, not AB. */
	char prefix[8];
	int plen = dd_key_join(prefix, sizeof(prefix), 2, "A", "");
	assert_int_equal(plen, 2);
	dd_val pa = { prefix, (size_t)plen };
	memset(&c, 0, sizeof(c));
	assert_int_equal(dd_rtxn_scan(r, DD_T_PRICES, pa, none, collect_fn, &c), DD_OK);
	assert_int_equal(c.n, 3);
	ASSERT_KEY(&c, 0, "A\0EUR\0pl1");
	ASSERT_KEY(&c, 2, "A\0USD\0pl2");

	/* Start inside the prefix range. */
	memset(&c, 0, sizeof(c));
	assert_int_equal(dd_rtxn_scan(r, DD_T_PRICES, pa, LIT("A\0USD"), collect_fn, &c),
	                 DD_OK);
	assert_int_equal(c.n, 2);
	ASSERT_KEY(&c, 0, "A\0USD\0pl1");
	ASSERT_KEY(&c, 1, "A\0USD\0pl2");

	/* Start on an exact key includes it. */
	memset(&c, 0, sizeof(c));
	assert_int_equal(dd_rtxn_scan(r, DD_T_PRICES, pa, LIT("A\0USD\0pl2"),
	                              collect_fn, &c), DD_OK);
	assert_int_equal(c.n, 1);
	ASSERT_KEY(&c, 0, "A\0USD\0pl2");

	/* Start before the prefix: the whole prefix range. */
	memset(&c, 0, sizeof(c));
	assert_int_equal(dd_rtxn_scan(r, DD_T_PRICES, pa, LIT("0"), collect_fn, &c), DD_OK);
	assert_int_equal(c.n, 3);

	/* Start past the prefix range: nothing. */
	memset(&c, 0, sizeof(c));
	assert_int_equal(dd_rtxn_scan(r, DD_T_PRICES, pa, LIT("B"), collect_fn, &c), DD_OK);
	assert_int_equal(c.n, 0);

	/* Start without prefix. */
	memset(&c, 0, sizeof(c));
	assert_int_equal(dd_rtxn_scan(r, DD_T_PRICES, none, LIT("AB"), collect_fn, &c),
	                 DD_OK);
	assert_int_equal(c.n, 2);
	ASSERT_KEY(&c, 0, "AB\0USD\0pl1");

	/* A prefix nothing has, and an empty table. */
	memset(&c, 0, sizeof(c));
	assert_int_equal(dd_rtxn_scan(r, DD_T_PRICES, LIT("C"), none, collect_fn, &c), DD_OK);
	assert_int_equal(dd_rtxn_scan(r, DD_T_CHECKS, none, none, collect_fn, &c), DD_OK);
	assert_int_equal(c.n, 0);

	/* Early stop: 1 ends the scan with DD_OK. */
	memset(&c, 0, sizeof(c));
	c.stop_after = 2;
	assert_int_equal(dd_rtxn_scan(r, DD_T_PRICES, none, none, collect_fn, &c), DD_OK);
	assert_int_equal(c.n, 2);

	/* A negative code from fn ends the scan and comes back. */
	memset(&c, 0, sizeof(c));
	c.fail_after = 1;
	c.fail_code = DD_EPOLICY;
	assert_int_equal(dd_rtxn_scan(r, DD_T_PRICES, none, none, collect_fn, &c),
	                 DD_EPOLICY);
	assert_int_equal(c.n, 1);

	assert_int_equal(dd_rtxn_scan(r, DD_T_PRICES, none, none, NULL, NULL), DD_EINVAL);
	dd_rtxn_end(r);
	assert_int_equal(dd_rtxn_scan(r, DD_T_PRICES, none, none, collect_fn, &c),
	                 DD_EINVAL);
	dd_rtxn_free(r);

	/* A write transaction scans its own uncommitted writes, and fn's error
	 * does not stick. */
	assert_int_equal(dd_wtxn_begin(f->store, &w), DD_OK);
	put_price(w, "A", "GBP", "pl1");
	memset(&c, 0, sizeof(c));
	assert_int_equal(dd_wtxn_scan(w, DD_T_PRICES, pa, none, collect_fn, &c), DD_OK);
	assert_int_equal(c.n, 4);
	ASSERT_KEY(&c, 1, "A\0GBP\0pl1");
	memset(&c, 0, sizeof(c));
	c.fail_after = 2;
	c.fail_code = DD_EPRECOND;
	assert_int_equal(dd_wtxn_scan(w, DD_T_PRICES, pa, none, collect_fn, &c),
	                 DD_EPRECOND);
	assert_int_equal(c.n, 2);
	put_price(w, "A", "JPY", "pl1");
	uint64_t version = 0;
	assert_int_equal(dd_wtxn_commit(w, &version), DD_OK);
	assert_int_equal(version, 2);
}

/* dd_wtxn_take_first: the front of a table, record by record, as the
 * callback allows; its error comes back and does not stick. */
static void test_take_first(void **state)
{
	fixture *f = *state;
	static const char *keys[] = { "k1", "k2", "k3", "k4", "k5" };
	for (int i = 0; i < 5; i++)
		assert_int_equal(put_one(f->store, DD_T_PROMOTIONS, (dd_val){ keys[i], 2 }, LIT("x")),
		                 i + 1);
	dd_wtxn *w;
	dd_val v;
	size_t taken = 99;
	assert_int_equal(dd_wtxn_begin(f->store, &w), DD_OK);
	collect c = { 0 };
	assert_int_equal(dd_wtxn_take_first(w, DD_T_PROMOTIONS, 2, collect_fn, &c, &taken), DD_OK);
	assert_int_equal(taken, 2);
	assert_int_equal(c.n, 2);
	ASSERT_KEY(&c, 0, "k1");
	ASSERT_KEY(&c, 1, "k2");
	assert_int_equal(dd_wtxn_get(w, DD_T_PROMOTIONS, LIT("k2"), &v), DD_ENOTFOUND);
	/* 1 from the callback: that record stays */
	c = (collect){ .stop_after = 2 };
	assert_int_equal(dd_wtxn_take_first(w, DD_T_PROMOTIONS, 10, collect_fn, &c, &taken), DD_OK);
	assert_int_equal(taken, 1);
	ASSERT_KEY(&c, 1, "k4");
	assert_int_equal(dd_wtxn_get(w, DD_T_PROMOTIONS, LIT("k3"), &v), DD_ENOTFOUND);
	assert_int_equal(dd_wtxn_get(w, DD_T_PROMOTIONS, LIT("k4"), &v), DD_OK);
	/* the callback's error: returned, nothing taken, not sticky */
	c = (collect){ .fail_after = 1, .fail_code = DD_EINTERNAL };
	assert_int_equal(dd_wtxn_take_first(w, DD_T_PROMOTIONS, 10, collect_fn, &c, &taken),
	                 DD_EINTERNAL);
	assert_int_equal(taken, 0);
	assert_int_equal(dd_wtxn_get(w, DD_T_PROMOTIONS, LIT("k4"), &v), DD_OK);
	c = (collect){ 0 };
	assert_int_equal(dd_wtxn_take_first(w, DD_T_PROMOTIONS, 10, collect_fn, &c, &taken), DD_OK);
	assert_int_equal(taken, 2);
	assert_int_equal(dd_wtxn_take_first(w, DD_T_PROMOTIONS, 10, collect_fn, &c, &taken), DD_OK);
	assert_int_equal(taken, 0); /* empty */
	assert_int_equal(dd_wtxn_take_first(w, DD_T__COUNT, 10, collect_fn, &c, &taken), DD_EINVAL);
	uint64_t version = 0;
	assert_int_equal(dd_wtxn_commit(w, &version), DD_EINVAL); /* a bad table sticks */
	assert_int_equal(dd_wtxn_begin(f->store, &w), DD_OK);
	assert_int_equal(dd_wtxn_get(w, DD_T_PROMOTIONS, LIT("k5"), &v), DD_OK); /* rolled back */
	c = (collect){ 0 };
	assert_int_equal(dd_wtxn_take_first(w, DD_T_PROMOTIONS, 10, collect_fn, &c, &taken), DD_OK);
	assert_int_equal(taken, 5);
	assert_int_equal(dd_wtxn_commit(w, &version), DD_OK);
	assert_int_equal(version, 6); /* deletes are a change */
}

/* dd_wtxn_append: keys in order go on the end, many pages of them (the
 * append split); a key not after the last is put the ordinary way (it
 * replaces its value); what was appended reads back in order. */
static void test_append(void **state)
{
	fixture *f = *state;
	dd_wtxn *w;
	char val[1500];
	assert_int_equal(dd_wtxn_begin(f->store, &w), DD_OK);
	for (int i = 0; i < 300; i++) {
		unsigned char k[8] = { 0, 0, 0, 0, 0, 0, (unsigned char)(i >> 8), (unsigned char)i };
		memset(val, 'a' + i % 26, sizeof(val));
		assert_int_equal(dd_wtxn_append(w, DD_T_DECISIONS, (dd_val){ k, 8 },
		                                 (dd_val){ val, 100 + (size_t)i * 4 }), DD_OK);
	}
	/* before the last key: an ordinary put, replacing key 7's value */
	unsigned char k7[8] = { 0, 0, 0, 0, 0, 0, 0, 7 };
	assert_int_equal(dd_wtxn_append(w, DD_T_DECISIONS, (dd_val){ k7, 8 }, LIT("seven")), DD_OK);
	/* a new key in the middle, the same */
	unsigned char mid[9] = { 0, 0, 0, 0, 0, 0, 0, 7, 1 };
	assert_int_equal(dd_wtxn_append(w, DD_T_DECISIONS, (dd_val){ mid, 9 }, LIT("between")),
	                 DD_OK);
	uint64_t version = 0;
	assert_int_equal(dd_wtxn_commit(w, &version), DD_OK);
	assert_int_equal(dd_wtxn_begin(f->store, &w), DD_OK);
	dd_val v;
	assert_int_equal(dd_wtxn_get(w, DD_T_DECISIONS, (dd_val){ k7, 8 }, &v), DD_OK);
	assert_int_equal(v.len, 5);
	assert_memory_equal(v.data, "seven", 5);
	assert_int_equal(dd_wtxn_get(w, DD_T_DECISIONS, (dd_val){ mid, 9 }, &v), DD_OK);
	assert_memory_equal(v.data, "between", 7);
	unsigned char k299[8] = { 0, 0, 0, 0, 0, 0, 1, 43 };
	assert_int_equal(dd_wtxn_get(w, DD_T_DECISIONS, (dd_val){ k299, 8 }, &v), DD_OK);
	assert_int_equal(v.len, 100 + 299 * 4);
	assert_int_equal(((const char *)v.data)[0], 'a' + 299 % 26);
	/* in order from the front: 0..7, the one between, 8..299 */
	collect c = { 0 };
	size_t taken = 0;
	assert_int_equal(dd_wtxn_take_first(w, DD_T_DECISIONS, 10, collect_fn, &c, &taken), DD_OK);
	assert_int_equal(taken, 10);
	assert_int_equal(c.n, 10);
	assert_int_equal(c.lens[8], 9);
	assert_int_equal(c.lens[9], 8);
	dd_wtxn_abort(w);
	/* the sticky error and bad arguments as dd_wtxn_put */
	assert_int_equal(dd_wtxn_begin(f->store, &w), DD_OK);
	assert_int_equal(dd_wtxn_append(w, DD_T__COUNT, (dd_val){ k7, 8 }, LIT("x")), DD_EINVAL);
	assert_int_equal(dd_wtxn_append(w, DD_T_DECISIONS, (dd_val){ k7, 8 }, LIT("x")), DD_EINVAL);
	dd_wtxn_abort(w);
}

static void test_scan_policies(void **state)
{
	fixture *f = *state;
	static const uint64_t versions[] = { 256, 1, 2, 0x0100000000000000ULL };
	unsigned char key[9];
	dd_wtxn *w;
	assert_int_equal(dd_wtxn_begin(f->store, &w), DD_OK);
	for (size_t i = 0; i < 4; i++) {
		dd_key_policy(key, DD_POLICY_PRICING, versions[i]);
		assert_int_equal(dd_wtxn_put(w, DD_T_POLICIES, (dd_val){ key, 9 },
		                             LIT("lua")), DD_OK);
	}
	dd_key_policy(key, DD_POLICY_PROMOTIONS, 0);
	assert_int_equal(dd_wtxn_put(w, DD_T_POLICIES, (dd_val){ key, 9 }, LIT("lua")),
	                 DD_OK);
	dd_key_policy(key, 0, UINT64_MAX);
	assert_int_equal(dd_wtxn_put(w, DD_T_POLICIES, (dd_val){ key, 9 }, LIT("lua")),
	                 DD_OK);
	assert_int_equal(dd_wtxn_commit(w, NULL), DD_OK);

	/* Big-endian versions: one kind's records come back in numeric order. */
	dd_rtxn *r;
	assert_int_equal(dd_rtxn_new(f->store, &r), DD_OK);
	assert_int_equal(dd_rtxn_begin(r), DD_OK);
	collect c = { 0 };
	const unsigned char kind1 = DD_POLICY_PRICING;
	assert_int_equal(dd_rtxn_scan(r, DD_T_POLICIES, (dd_val){ &kind1, 1 },
	                              (dd_val){ NULL, 0 }, collect_fn, &c), DD_OK);
	assert_int_equal(c.n, 4);
	static const uint64_t sorted[] = { 1, 2, 256, 0x0100000000000000ULL };
	for (int i = 0; i < 4; i++) {
		dd_key_policy(key, DD_POLICY_PRICING, sorted[i]);
		assert_key(&c, i, (const char *)key, 9);
	}
	dd_rtxn_end(r);
	dd_rtxn_free(r);
}

/* ---- sticky errors -------------------------------------------------------- */

static void test_sticky_error(void **state)
{
	fixture *f = *state;
	char big[DD_STORE_MAX_KEY + 1];
	memset(big, 'k', sizeof(big));
	dd_val max_key = { big, DD_STORE_MAX_KEY };
	dd_val too_long = { big, DD_STORE_MAX_KEY + 1 };

	/* The longest key works. */
	assert_int_equal(put_one(f->store, DD_T_CHECKS, max_key, LIT("ok")), 1);

	dd_wtxn *w;
	dd_val v;
	assert_int_equal(dd_wtxn_begin(f->store, &w), DD_OK);
	assert_int_equal(dd_wtxn_put(w, DD_T_CHECKS, LIT("first"), LIT("1")), DD_OK);
	assert_int_equal(dd_wtxn_put(w, DD_T_CHECKS, too_long, LIT("x")), DD_EINVAL);
	/* From here on every call returns the first failure. */
	assert_int_equal(dd_wtxn_put(w, DD_T_CHECKS, LIT("second"), LIT("2")), DD_EINVAL);
	assert_int_equal(dd_wtxn_get(w, DD_T_CHECKS, LIT("first"), &v), DD_EINVAL);
	assert_int_equal(dd_wtxn_del(w, DD_T_CHECKS, LIT("first")), DD_EINVAL);
	assert_int_equal(dd_wtxn_set_meta_u64(w, "x", 1), DD_EINVAL);
	assert_int_equal(dd_wtxn_scan(w, DD_T_CHECKS, LIT(""), LIT(""), collect_fn,
	                              &(collect){ 0 }), DD_EINVAL);
	uint64_t version = 77;
	assert_int_equal(dd_wtxn_commit(w, &version), DD_EINVAL);
	assert_int_equal(version, 77);

	/* An empty key fails the same way. */
	assert_int_equal(dd_wtxn_begin(f->store, &w), DD_OK);
	assert_int_equal(dd_wtxn_put(w, DD_T_CHECKS, LIT("third"), LIT("3")), DD_OK);
	assert_int_equal(dd_wtxn_put(w, DD_T_CHECKS, LIT(""), LIT("x")), DD_EINVAL);
	assert_int_equal(dd_wtxn_commit(w, NULL), DD_EINVAL);

	/* Nothing from either transaction is visible. */
	dd_rtxn *r;
	assert_int_equal(dd_rtxn_new(f->store, &r), DD_OK);
	assert_int_equal(dd_rtxn_begin(r), DD_OK);
	assert_int_equal(dd_rtxn_get(r, DD_T_CHECKS, LIT("first"), &v), DD_ENOTFOUND);
	assert_int_equal(dd_rtxn_get(r, DD_T_CHECKS, LIT("second"), &v), DD_ENOTFOUND);
	assert_int_equal(dd_rtxn_get(r, DD_T_CHECKS, LIT("third"), &v), DD_ENOTFOUND);
	assert_int_equal(dd_rtxn_get(r, DD_T_CHECKS, max_key, &v), DD_OK);
	assert_int_equal(dd_rtxn_get(r, DD_T_CHECKS, too_long, &v), DD_EINVAL);
	assert_int_equal(dd_rtxn_data_version(r), 1);
	dd_rtxn_end(r);
	dd_rtxn_free(r);

	/* A bad lookup does not poison a transaction. */
	assert_int_equal(dd_wtxn_begin(f->store, &w), DD_OK);
	assert_int_equal(dd_wtxn_get(w, DD_T_CHECKS, too_long, &v), DD_EINVAL);
	assert_int_equal(dd_wtxn_put(w, DD_T_CHECKS, LIT("fourth"), LIT("4")), DD_OK);
	assert_int_equal(dd_wtxn_commit(w, &version), DD_OK);
	assert_int_equal(version, 2);
}

/* ---- nested write transactions -------------------------------------------- */

static void test_nested(void **state)
{
	fixture *f = *state;
	dd_val v;
	dd_wtxn *w, *c, *c2;
	uint64_t version = 99;
	char too_long[DD_STORE_MAX_KEY + 1];
	memset(too_long, 'k', sizeof(too_long));
	dd_val bad = { too_long, sizeof(too_long) };

	assert_int_equal(dd_wtxn_begin(f->store, &w), DD_OK);
	assert_int_equal(dd_wtxn_put(w, DD_T_PRICES, LIT("a"), LIT("parent")), DD_OK);

	/* A committed child: its writes join the parent and take a version. */
	assert_int_equal(dd_wtxn_begin_child(w, &c), DD_OK);
	assert_int_equal(dd_wtxn_begin_child(w, &c2), DD_EINVAL); /* one at a time */
	/* the parent is unusable while the child is open */
	assert_int_equal(dd_wtxn_put(w, DD_T_PRICES, LIT("x"), LIT("x")), DD_EINVAL);
	assert_int_equal(dd_wtxn_get(w, DD_T_PRICES, LIT("a"), &v), DD_EINVAL);
	assert_int_equal(dd_wtxn_get(c, DD_T_PRICES, LIT("a"), &v), DD_OK); /* sees the parent */
	assert_int_equal(dd_wtxn_put(c, DD_T_PRICES, LIT("b"), LIT("child 1")), DD_OK);
	assert_int_equal(dd_wtxn_commit(c, &version), DD_OK);
	assert_int_equal(version, 1);

	/* A failed child: its sticky error stays its own. */
	assert_int_equal(dd_wtxn_begin_child(w, &c), DD_OK);
	assert_int_equal(dd_wtxn_put(c, DD_T_PRICES, LIT("c"), LIT("child 2")), DD_OK);
	assert_int_equal(dd_wtxn_put(c, DD_T_PRICES, bad, LIT("x")), DD_EINVAL);
	assert_int_equal(dd_wtxn_commit(c, &version), DD_EINVAL);
	assert_int_equal(dd_wtxn_get(w, DD_T_PRICES, LIT("c"), &v), DD_ENOTFOUND);
	assert_int_equal(dd_wtxn_get(w, DD_T_PRICES, LIT("b"), &v), DD_OK);
	assert_true(val_equals(v, "child 1", 7));

	/* An aborted child, then one that wrote nothing: no version step. */
	assert_int_equal(dd_wtxn_begin_child(w, &c), DD_OK);
	assert_int_equal(dd_wtxn_put(c, DD_T_PRICES, LIT("d"), LIT("child 3")), DD_OK);
	dd_wtxn_abort(c);
	assert_int_equal(dd_wtxn_begin_child(w, &c), DD_OK);
	assert_int_equal(dd_wtxn_commit(c, &version), DD_OK);
	assert_int_equal(version, 1);

	/* A second committed child gets the next version. */
	assert_int_equal(dd_wtxn_begin_child(w, &c), DD_OK);
	assert_int_equal(dd_wtxn_del(c, DD_T_PRICES, LIT("a")), DD_OK);
	assert_int_equal(dd_wtxn_put(c, DD_T_PRICES, LIT("a"), LIT("child 5")), DD_OK);
	assert_int_equal(dd_wtxn_commit(c, &version), DD_OK);
	assert_int_equal(version, 2);
	assert_int_equal(read_version(f->store), 0); /* nothing durable yet */

	/* The parent's own write ("a" before the children) takes one more. */
	assert_int_equal(dd_wtxn_commit(w, &version), DD_OK);
	assert_int_equal(version, 3);
	assert_int_equal(read_version(f->store), 3);

	/* Only children wrote: the parent adds no step of its own. */
	assert_int_equal(dd_wtxn_begin(f->store, &w), DD_OK);
	assert_int_equal(dd_wtxn_begin_child(w, &c), DD_OK);
	assert_int_equal(dd_wtxn_put(c, DD_T_PRICES, LIT("e"), LIT("child 6")), DD_OK);
	assert_int_equal(dd_wtxn_commit(c, &version), DD_OK);
	assert_int_equal(version, 4);
	assert_int_equal(dd_wtxn_commit(w, &version), DD_OK);
	assert_int_equal(version, 4);

	/* A parent committed with its child open fails whole. */
	assert_int_equal(dd_wtxn_begin(f->store, &w), DD_OK);
	assert_int_equal(dd_wtxn_put(w, DD_T_PRICES, LIT("f"), LIT("parent")), DD_OK);
	assert_int_equal(dd_wtxn_begin_child(w, &c), DD_OK);
	assert_int_equal(dd_wtxn_put(c, DD_T_PRICES, LIT("g"), LIT("child")), DD_OK);
	assert_int_equal(dd_wtxn_commit(w, &version), DD_EINVAL);
	/* and an abort with a child open frees both */
	assert_int_equal(dd_wtxn_begin(f->store, &w), DD_OK);
	assert_int_equal(dd_wtxn_begin_child(w, &c), DD_OK);
	assert_int_equal(dd_wtxn_begin_child(c, &c2), DD_OK); /* deeper nesting works */
	assert_int_equal(dd_wtxn_put(c2, DD_T_PRICES, LIT("h"), LIT("grandchild")), DD_OK);
	dd_wtxn_abort(w);
	/* A parent with a sticky error refuses children. */
	assert_int_equal(dd_wtxn_begin(f->store, &w), DD_OK);
	assert_int_equal(dd_wtxn_put(w, DD_T_PRICES, bad, LIT("x")), DD_EINVAL);
	assert_int_equal(dd_wtxn_begin_child(w, &c), DD_EINVAL);
	dd_wtxn_abort(w);

	dd_rtxn *r;
	assert_int_equal(dd_rtxn_new(f->store, &r), DD_OK);
	assert_int_equal(dd_rtxn_begin(r), DD_OK);
	assert_int_equal(dd_rtxn_data_version(r), 4);
	assert_int_equal(dd_rtxn_get(r, DD_T_PRICES, LIT("a"), &v), DD_OK);
	assert_true(val_equals(v, "child 5", 7));
	assert_int_equal(dd_rtxn_get(r, DD_T_PRICES, LIT("b"), &v), DD_OK);
	assert_int_equal(dd_rtxn_get(r, DD_T_PRICES, LIT("e"), &v), DD_OK);
	const char *absent[] = { "c", "d", "f", "g", "h" };
	for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++)
		assert_int_equal(dd_rtxn_get(r, DD_T_PRICES, str_val(absent[i]), &v),
		                 DD_ENOTFOUND);
	dd_rtxn_end(r);
	dd_rtxn_free(r);
}

/* ---- read isolation ------------------------------------------------------- */

static void test_read_isolation(void **state)
{
	fixture *f = *state;
	assert_int_equal(put_one(f->store, DD_T_CUSTOMERS, LIT("c1"), LIT("old")), 1);

	dd_rtxn *r;
	dd_val v;
	assert_int_equal(dd_rtxn_new(f->store, &r), DD_OK);
	assert_int_equal(dd_rtxn_begin(r), DD_OK);
	assert_int_equal(dd_rtxn_data_version(r), 1);

	dd_wtxn *w;
	assert_int_equal(dd_wtxn_begin(f->store, &w), DD_OK);
	assert_int_equal(dd_wtxn_put(w, DD_T_CUSTOMERS, LIT("c1"), LIT("new")), DD_OK);
	assert_int_equal(dd_wtxn_put(w, DD_T_CUSTOMERS, LIT("c2"), LIT("added")), DD_OK);
	/* Uncommitted writes are invisible to the reader... */
	assert_int_equal(dd_rtxn_get(r, DD_T_CUSTOMERS, LIT("c2"), &v), DD_ENOTFOUND);
	uint64_t version = 0;
	assert_int_equal(dd_wtxn_commit(w, &version), DD_OK);
	assert_int_equal(version, 2);

	/* ...and so are committed ones, until the reader starts again. */
	assert_int_equal(dd_rtxn_get(r, DD_T_CUSTOMERS, LIT("c1"), &v), DD_OK);
	assert_true(val_equals(v, "old", 3));
	assert_int_equal(dd_rtxn_get(r, DD_T_CUSTOMERS, LIT("c2"), &v), DD_ENOTFOUND);
	assert_int_equal(dd_rtxn_data_version(r), 1);
	dd_rtxn_end(r);

	assert_int_equal(dd_rtxn_begin(r), DD_OK);
	assert_int_equal(dd_rtxn_get(r, DD_T_CUSTOMERS, LIT("c1"), &v), DD_OK);
	assert_true(val_equals(v, "new", 3));
	assert_int_equal(dd_rtxn_get(r, DD_T_CUSTOMERS, LIT("c2"), &v), DD_OK);
	assert_true(val_equals(v, "added", 5));
	assert_int_equal(dd_rtxn_data_version(r), 2);
	dd_rtxn_end(r);
	dd_rtxn_free(r);
}

/* ---- meta ----------------------------------------------------------------- */

static void test_meta_u64(void **state)
{
	fixture *f = *state;
	dd_wtxn *w;
	uint64_t version = 0;
	assert_int_equal(dd_wtxn_begin(f->store, &w), DD_OK);
	assert_int_equal(dd_wtxn_meta_u64(w, "active/1"), 0);
	assert_int_equal(dd_wtxn_set_meta_u64(w, "active/1", 0x0102030405060708ULL), DD_OK);
	assert_true(dd_wtxn_meta_u64(w, "active/1") == 0x0102030405060708ULL);
	assert_int_equal(dd_wtxn_set_meta_u64(w, "next/1", UINT64_MAX), DD_OK);
	/* A value that is not 8 bytes reads as 0. */
	assert_int_equal(dd_wtxn_put(w, DD_T_META, LIT("bad"), LIT("abc")), DD_OK);
	assert_int_equal(dd_wtxn_commit(w, &version), DD_OK);
	assert_int_equal(version, 1); /* a meta write is a write */

	dd_rtxn *r;
	dd_val v;
	assert_int_equal(dd_rtxn_new(f->store, &r), DD_OK);
	assert_int_equal(dd_rtxn_begin(r), DD_OK);
	assert_true(dd_rtxn_meta_u64(r, "active/1") == 0x0102030405060708ULL);
	assert_true(dd_rtxn_meta_u64(r, "next/1") == UINT64_MAX);
	assert_int_equal(dd_rtxn_meta_u64(r, "bad"), 0);
	assert_int_equal(dd_rtxn_meta_u64(r, "absent"), 0);
	assert_int_equal(dd_rtxn_meta_u64(r, ""), 0);
	assert_int_equal(dd_rtxn_meta_u64(r, NULL), 0);
	/* On disk: 8 bytes little-endian. */
	static const unsigned char le[8] = { 8, 7, 6, 5, 4, 3, 2, 1 };
	assert_int_equal(dd_rtxn_get(r, DD_T_META, LIT("active/1"), &v), DD_OK);
	assert_true(val_equals(v, le, 8));
	unsigned char one[8];
	u64_le(one, 1);
	assert_int_equal(dd_rtxn_get(r, DD_T_META, LIT("data_version"), &v), DD_OK);
	assert_true(val_equals(v, one, 8));
	assert_int_equal(dd_rtxn_get(r, DD_T_META, LIT("schema"), &v), DD_OK);
	assert_true(val_equals(v, one, 8));
	dd_rtxn_end(r);
	assert_int_equal(dd_rtxn_meta_u64(r, "active/1"), 0); /* not begun */
	dd_rtxn_free(r);
}

/* ---- keys ----------------------------------------------------------------- */

static void test_key_join(void **state)
{
	(void)state;
	char buf[600];
	assert_int_equal(dd_key_join(buf, sizeof(buf), 3, "SKU-1", "USD", "list-7"), 16);
	assert_memory_equal(buf, "SKU-1\0USD\0list-7", 16);
	assert_int_equal(dd_key_join(buf, sizeof(buf), 1, "abc"), 3);
	assert_memory_equal(buf, "abc", 3);
	/* Empty parts keep their separators. */
	assert_int_equal(dd_key_join(buf, sizeof(buf), 2, "", ""), 1);
	assert_int_equal(buf[0], '\0');
	assert_int_equal(dd_key_join(buf, sizeof(buf), 3, "a", "", "b"), 4);
	assert_memory_equal(buf, "a\0\0b", 4);
	assert_int_equal(dd_key_join(buf, sizeof(buf), 1, ""), 0);

	/* Errors leave buf untouched. */
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(dd_key_join(buf, sizeof(buf), 2, "a", (const char *)NULL),
	                 DD_EINVAL);
	assert_int_equal(dd_key_join(buf, sizeof(buf), 0), DD_EINVAL);
	assert_int_equal(buf[0], 'x');

	/* size is exact: no room is needed for a trailing NUL. */
	assert_int_equal(dd_key_join(buf, 7, 2, "abc", "def"), 7);
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(dd_key_join(buf, 6, 2, "abc", "def"), DD_EINVAL);
	assert_int_equal(buf[0], 'x');
	assert_int_equal(dd_key_join(NULL, 0, 1, ""), 0);
	assert_int_equal(dd_key_join(NULL, 0, 1, "a"), DD_EINVAL);

	/* DD_STORE_MAX_KEY bounds the result whatever size says. */
	char part[DD_STORE_MAX_KEY + 1];
	memset(part, 'p', DD_STORE_MAX_KEY);
	part[DD_STORE_MAX_KEY] = '\0';
	assert_int_equal(dd_key_join(buf, sizeof(buf), 1, part), DD_STORE_MAX_KEY);
	assert_int_equal(dd_key_join(buf, sizeof(buf), 2, part, ""), DD_EINVAL);
	part[DD_STORE_MAX_KEY - 2] = '\0'; /* 509 + 1 + 1 = 511 */
	assert_int_equal(dd_key_join(buf, sizeof(buf), 2, part, "q"), DD_STORE_MAX_KEY);
	assert_int_equal(buf[509], '\0');
	assert_int_equal(buf[510], 'q');
	assert_int_equal(dd_key_join(buf, sizeof(buf), 2, part, "qq"), DD_EINVAL);
}

static void test_key_policy(void **state)
{
	(void)state;
	unsigned char k[9];
	dd_key_policy(k, 3, 0x0102030405060708ULL);
	static const unsigned char a[9] = { 3, 1, 2, 3, 4, 5, 6, 7, 8 };
	assert_memory_equal(k, a, 9);
	dd_key_policy(k, 255, 1);
	static const unsigned char b[9] = { 0xff, 0, 0, 0, 0, 0, 0, 0, 1 };
	assert_memory_equal(k, b, 9);
	dd_key_policy(k, 0, 0);
	static const unsigned char c[9] = { 0 };
	assert_memory_equal(k, c, 9);
	dd_key_policy(k, 7, UINT64_MAX);
	static const unsigned char d[9] = { 7, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	                                    0xff, 0xff };
	assert_memory_equal(k, d, 9);
}

/* ---- read transaction reuse ----------------------------------------------- */

static void test_rtxn_reuse(void **state)
{
	fixture *f = *state;
	char path[192];
	sub_path(path, sizeof(path), f, "one-reader");
	/* One reader slot: the reused handle must keep using the same one. */
	dd_store *s = open_at(path, 0, 1, 1);
	dd_rtxn *r;
	dd_val v;
	assert_int_equal(dd_rtxn_new(s, &r), DD_OK);
	uint64_t expect = 0;
	for (int i = 0; i < 1000; i++) {
		if (i % 100 == 50) {
			char val[16];
			snprintf(val, sizeof(val), "%d", i);
			expect = put_one(s, DD_T_PRICES, LIT("sku"), str_val(val));
		}
		assert_int_equal(dd_rtxn_begin(r), DD_OK);
		assert_int_equal(dd_rtxn_begin(r), DD_EINVAL); /* already begun */
		assert_true(dd_rtxn_data_version(r) == expect);
		if (expect > 0) {
			char val[16];
			snprintf(val, sizeof(val), "%d", (int)(expect - 1) * 100 + 50);
			assert_int_equal(dd_rtxn_get(r, DD_T_PRICES, LIT("sku"), &v), DD_OK);
			assert_true(val_equals(v, val, strlen(val)));
		}
		dd_rtxn_end(r);
		dd_rtxn_end(r); /* harmless */
	}
	assert_int_equal(expect, 10);

	/* The slot stays with the idle handle (MDB_NOTLS), so a second
	 * handle finds none until the first is freed. */
	dd_rtxn *r2;
	assert_int_equal(dd_rtxn_new(s, &r2), DD_OK);
	assert_int_equal(dd_rtxn_begin(r2), DD_ESTORE);
	dd_rtxn_free(r);
	assert_int_equal(dd_rtxn_begin(r2), DD_OK);
	assert_int_equal(dd_rtxn_data_version(r2), 10);
	dd_rtxn_end(r2);
	dd_rtxn_free(r2);
	dd_store_close(s);
}

/* ---- concurrent readers and a writer -------------------------------------- */

#define WRITER_COMMITS 300
#define READER_MIN_ROUNDS 200

typedef struct reader_arg {
	dd_store *store;
	atomic_bool *writer_done;
	atomic_int *ready;    /* readers that finished a round */
	long rounds;
	long errors;
	long versions_seen;   /* distinct versions observed */
	uint64_t last;
} reader_arg;

static int get_u64(dd_rtxn *r, const char *key, uint64_t *out)
{
	dd_val v;
	int rc = dd_rtxn_get(r, DD_T_CUSTOMERS, str_val(key), &v);
	if (rc != DD_OK)
		return rc;
	if (v.len != 8)
		return DD_EINTERNAL;
	const unsigned char *b = v.data;
	*out = 0;
	for (int i = 7; i >= 0; i--)
		*out = (*out << 8) | b[i];
	return DD_OK;
}

/* cmocka's asserts may not run off the main thread: count failures instead. */
static void *reader_main(void *p)
{
	reader_arg *a = p;
	dd_rtxn *r;
	if (dd_rtxn_new(a->store, &r) != DD_OK) {
		a->errors++;
		return NULL;
	}
	for (;;) {
		/* A round begun after the writer is done must see its last commit. */
		bool last_round = atomic_load(a->writer_done)
		                  && a->rounds >= READER_MIN_ROUNDS;
		if (dd_rtxn_begin(r) != DD_OK) {
			a->errors++;
			break;
		}
		/* The writer's commit n sets a = b = n and data_version = n: one
		 * snapshot must show all three equal. */
		uint64_t v = dd_rtxn_data_version(r), x = 0, y = 0;
		int ra = get_u64(r, "a", &x), rb = get_u64(r, "b", &y);
		if (v == 0) {
			if (ra != DD_ENOTFOUND || rb != DD_ENOTFOUND)
				a->errors++;
		} else if (ra != DD_OK || rb != DD_OK || x != v || y != v) {
			a->errors++;
		}
		if (v < a->last || dd_rtxn_data_version(r) != v)
			a->errors++;
		if (v != a->last)
			a->versions_seen++;
		a->last = v;
		a->rounds++;
		dd_rtxn_end(r);
		if (a->rounds == 1)
			atomic_fetch_add(a->ready, 1);
		if (last_round)
			break;
	}
	dd_rtxn_free(r);
	return NULL;
}

static void test_concurrent_readers(void **state)
{
	fixture *f = *state;
	atomic_bool done = false;
	atomic_int ready = 0;
	reader_arg args[2] = {
		{ .store = f->store, .writer_done = &done, .ready = &ready },
		{ .store = f->store, .writer_done = &done, .ready = &ready },
	};
	pthread_t th[2];
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, reader_main, &args[i]), 0);
	/* Both readers are running before the first commit. */
	while (atomic_load(&ready) < 2)
		sched_yield();

	for (uint64_t n = 1; n <= WRITER_COMMITS; n++) {
		unsigned char buf[8];
		u64_le(buf, n);
		dd_val val = { buf, 8 };
		dd_wtxn *w;
		assert_int_equal(dd_wtxn_begin(f->store, &w), DD_OK);
		assert_int_equal(dd_wtxn_put(w, DD_T_CUSTOMERS, LIT("a"), val), DD_OK);
		/* Widen the window between the two writes. */
		for (int i = 0; i < 8; i++) {
			char key[16];
			snprintf(key, sizeof(key), "filler%d", i);
			assert_int_equal(dd_wtxn_put(w, DD_T_CUSTOMERS, str_val(key), val),
			                 DD_OK);
		}
		assert_int_equal(dd_wtxn_put(w, DD_T_CUSTOMERS, LIT("b"), val), DD_OK);
		uint64_t version = 0;
		assert_int_equal(dd_wtxn_commit(w, &version), DD_OK);
		assert_true(version == n);
	}
	atomic_store(&done, true);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);

	for (int i = 0; i < 2; i++) {
		assert_int_equal(args[i].errors, 0);
		assert_true(args[i].rounds >= READER_MIN_ROUNDS);
		assert_true(args[i].versions_seen >= 1);
		/* The last round began after the final commit. */
		assert_int_equal(args[i].last, WRITER_COMMITS);
	}
}

/* ---- backup --------------------------------------------------------------- */

static void test_backup(void **state)
{
	fixture *f = *state;
	for (int i = 0; i < 100; i++) {
		char key[16];
		snprintf(key, sizeof(key), "cust-%03d", i);
		put_one(f->store, DD_T_CUSTOMERS, str_val(key), LIT("record"));
	}
	/* Churn so compaction has free pages to drop. */
	dd_wtxn *w;
	assert_int_equal(dd_wtxn_begin(f->store, &w), DD_OK);
	for (int i = 0; i < 50; i++) {
		char key[16];
		snprintf(key, sizeof(key), "cust-%03d", i);
		assert_int_equal(dd_wtxn_del(w, DD_T_CUSTOMERS, str_val(key)), DD_OK);
	}
	assert_int_equal(dd_wtxn_commit(w, NULL), DD_OK);

	/* A reader open during the backup does not block it. */
	dd_rtxn *r;
	assert_int_equal(dd_rtxn_new(f->store, &r), DD_OK);
	assert_int_equal(dd_rtxn_begin(r), DD_OK);

	char dir[192];
	sub_path(dir, sizeof(dir), f, "backups/one"); /* created */
	dd_error err;
	dd_error_clear(&err);
	assert_int_equal(dd_store_backup(f->store, dir, &err), DD_OK);
	dd_rtxn_end(r);
	dd_rtxn_free(r);

	/* Writes after the backup are not in it. */
	assert_int_equal(put_one(f->store, DD_T_CUSTOMERS, LIT("later"), LIT("x")), 102);

	/* Never on top of existing files. */
	assert_int_equal(dd_store_backup(f->store, dir, &err), DD_EEXIST);
	assert_int_equal(err.code, DD_EEXIST);
	assert_non_null(strstr(err.msg, dir));

	dd_store *b = open_at(dir, 0, 0, 1);
	assert_int_equal(dd_rtxn_new(b, &r), DD_OK);
	assert_int_equal(dd_rtxn_begin(r), DD_OK);
	assert_int_equal(dd_rtxn_data_version(r), 101);
	assert_int_equal(dd_rtxn_meta_u64(r, "schema"), 1);
	dd_val v;
	assert_int_equal(dd_rtxn_get(r, DD_T_CUSTOMERS, LIT("cust-099"), &v), DD_OK);
	assert_true(val_equals(v, "record", 6));
	assert_int_equal(dd_rtxn_get(r, DD_T_CUSTOMERS, LIT("cust-000"), &v), DD_ENOTFOUND);
	assert_int_equal(dd_rtxn_get(r, DD_T_CUSTOMERS, LIT("later"), &v), DD_ENOTFOUND);
	collect c = { 0 };
	c.stop_after = 16;
	assert_int_equal(dd_rtxn_scan(r, DD_T_CUSTOMERS, LIT("cust-"), LIT(""),
	                              collect_fn, &c), DD_OK);
	assert_int_equal(c.n, 16);
	ASSERT_KEY(&c, 0, "cust-050");
	dd_rtxn_end(r);
	dd_rtxn_free(r);
	/* The backup is a working store. */
	assert_int_equal(put_one(b, DD_T_CUSTOMERS, LIT("restored"), LIT("y")), 102);
	dd_store_close(b);
}

/* ---- a full map ----------------------------------------------------------- */

static void test_map_full(void **state)
{
	fixture *f = *state;
	char path[192];
	sub_path(path, sizeof(path), f, "tiny");
	dd_store *s = open_at(path, 1 << 20, 0, 1);
	assert_int_equal(put_one(s, DD_T_PRICES, LIT("base"), LIT("kept")), 1);

	static char blob[1000];
	memset(blob, 'x', sizeof(blob));
	dd_val big = { blob, sizeof(blob) };
	dd_wtxn *w;
	assert_int_equal(dd_wtxn_begin(s, &w), DD_OK);
	int rc = DD_OK, i;
	for (i = 0; i < 100000 && rc == DD_OK; i++) {
		char key[16];
		snprintf(key, sizeof(key), "k%06d", i);
		rc = dd_wtxn_put(w, DD_T_PRICES, str_val(key), big);
	}
	assert_int_equal(rc, DD_EFULL);
	assert_true(i > 100); /* it did fill up rather than fail at once */
	assert_int_equal(dd_wtxn_put(w, DD_T_PRICES, LIT("more"), LIT("y")), DD_EFULL);
	uint64_t version = 0;
	assert_int_equal(dd_wtxn_commit(w, &version), DD_EFULL);
	/* The cause and the remedy, for RESOURCE_EXHAUSTED. */
	char msg[400];
	dd_store_full_message(s, msg, sizeof(msg));
	assert_non_null(strstr(msg, "store map full (map size 1 MiB, "));
	assert_non_null(strstr(msg, "raise --map-size"));

	/* Reads work and the failed transaction left nothing. */
	dd_rtxn *r;
	dd_val v;
	assert_int_equal(dd_rtxn_new(s, &r), DD_OK);
	assert_int_equal(dd_rtxn_begin(r), DD_OK);
	assert_int_equal(dd_rtxn_get(r, DD_T_PRICES, LIT("base"), &v), DD_OK);
	assert_true(val_equals(v, "kept", 4));
	assert_int_equal(dd_rtxn_get(r, DD_T_PRICES, LIT("k000000"), &v), DD_ENOTFOUND);
	assert_int_equal(dd_rtxn_data_version(r), 1);
	collect c = { 0 };
	assert_int_equal(dd_rtxn_scan(r, DD_T_PRICES, LIT(""), LIT(""), collect_fn, &c),
	                 DD_OK);
	assert_int_equal(c.n, 1);
	dd_rtxn_end(r);
	dd_rtxn_free(r);

	/* And small writes still fit. */
	assert_int_equal(put_one(s, DD_T_PRICES, LIT("after"), LIT("z")), 2);
	dd_store_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_close_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_put_get, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_take_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append, setup, teardown),
		cmocka_unit_test_setup_teardown(test_data_version, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan_policies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sticky_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nested, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_isolation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_meta_u64, setup, teardown),
		cmocka_unit_test(test_key_join),
		cmocka_unit_test(test_key_policy),
		cmocka_unit_test_setup_teardown(test_rtxn_reuse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_readers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_map_full, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
