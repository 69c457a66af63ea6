/* Unit tests for src/store/writer.c: the writer thread and group commit.
 * A failed job rolls back alone, done runs after the durable commit, many
 * submitters each get their own result, queued jobs share a commit, stop
 * drains the queue, a failed commit fails every job in it. Every test works
 * in its own mkdtemp directory under /tmp. */
#define _XOPEN_SOURCE 700 /* mkdtemp, nftw */
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "dealdesk/error.h"
#include "dealdesk/store.h"
#include "dealdesk/writer.h"
#include "store/writer_int.h"

#define LIT(s) ((dd_val){ .data = (s), .len = sizeof(s) - 1 })

static dd_val str_val(const char *s)
{
	return (dd_val){ .data = s, .len = strlen(s) };
}

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
	nanosleep(&ts, NULL);
}

/* ---- fixture --------------------------------------------------------------- */

typedef struct fixture {
	char dir[64];
	char path[128];
	dd_store *store;
	dd_writer *writer;
} fixture;

static int rm_entry(const char *p, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	return remove(p);
}

static dd_store *open_store(const char *path, size_t map_size)
{
	dd_store_opts opts = { .path = path, .map_size = map_size, .no_sync = 1 };
	dd_error err;
	dd_store *store = NULL;
	int rc = dd_store_open(&store, &opts, &err);
	if (rc != DD_OK)
		fprintf(stderr, "dd_store_open: %s\n", err.msg);
	assert_int_equal(rc, DD_OK);
	return store;
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	strcpy(f->dir, "/tmp/dd-test-writer-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/db", f->dir);
	f->store = open_store(f->path, 0);
	dd_error err;
	assert_int_equal(dd_writer_start(&f->writer, f->store, &err), DD_OK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	dd_writer_stop(f->writer);
	dd_store_close(f->store);
	nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* ---- jobs ------------------------------------------------------------------- */

/* A job that puts key = key in DD_T_CUSTOMERS and then fails with fail_code
 * (0: succeeds), recording what done was told. */
typedef struct put_job {
	dd_writer_job job;
	char key[32];
	int fail_code;
	atomic_int *finished; /* incremented by done */
	int done_calls;
	int rc;
	uint64_t version;
	char msg[sizeof(((dd_error *)0)->msg)];
	dd_store *check_store; /* when set, done checks that check_key (or key) */
	const char *check_key; /* is visible to a new reader */
	int visible;
} put_job;

static int put_apply(dd_wtxn *txn, void *ud, dd_error *err)
{
	put_job *p = ud;
	int rc = dd_wtxn_put(txn, DD_T_CUSTOMERS, str_val(p->key), str_val(p->key));
	if (rc != DD_OK)
		return dd_error_set(err, rc, "%s: put failed", p->key);
	if (p->fail_code != 0)
		return dd_error_set(err, p->fail_code, "%s refused", p->key);
	return DD_OK;
}

/* 1 when key is in the store, read in a new read transaction (so only
 * what is committed), and the store's version is at least version. */
static int committed(dd_store *store, const char *key, uint64_t version)
{
	dd_rtxn *r;
	if (dd_rtxn_new(store, &r) != DD_OK)
		return 0;
	if (dd_rtxn_begin(r) != DD_OK) {
		dd_rtxn_free(r);
		return 0;
	}
	dd_val v;
	int ok = dd_rtxn_get(r, DD_T_CUSTOMERS, str_val(key), &v) == DD_OK
	         && v.len == strlen(key) && memcmp(v.data, key, v.len) == 0
	         && dd_rtxn_data_version(r) >= version;
	dd_rtxn_end(r);
	dd_rtxn_free(r);
	return ok;
}

static void put_done(void *ud, int rc, uint64_t version, const dd_error *err)
{
	put_job *p = ud;
	p->done_calls++;
	p->rc = rc;
	p->version = version;
	snprintf(p->msg, sizeof(p->msg), "%s", rc == DD_OK ? "" : err->msg);
	if (p->check_store != NULL)
		p->visible = committed(p->check_store, p->check_key ? p->check_key : p->key,
		                       version);
	if (p->finished)
		atomic_fetch_add(p->finished, 1);
}

static void put_job_init(put_job *p, const char *key, int fail_code, atomic_int *finished)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->key, sizeof(p->key), "%s", key);
	p->fail_code = fail_code;
	p->finished = finished;
	p->job.apply = put_apply;
	p->job.done = put_done;
	p->job.ud = p;
}

/* A job that holds the writer (inside its transaction) until released, so
 * that the jobs submitted meanwhile queue up and form the next batch. */
typedef struct gate {
	dd_writer_job job;
	atomic_bool entered, open;
	int sleep_ms; /* instead of waiting to be opened */
} gate;

static int gate_apply(dd_wtxn *txn, void *ud, dd_error *err)
{
	(void)txn;
	(void)err;
	gate *g = ud;
	atomic_store(&g->entered, true);
	if (g->sleep_ms > 0)
		sleep_us(g->sleep_ms * 1000L);
	else
		while (!atomic_load(&g->open))
			sleep_us(200);
	return DD_OK;
}

static void gate_close(dd_writer *w, gate *g)
{
	memset(g, 0, sizeof(*g));
	g->job.apply = gate_apply;
	g->job.ud = g;
	assert_int_equal(dd_writer_submit(w, &g->job), DD_OK);
	while (!atomic_load(&g->entered))
		sleep_us(200);
}

static void wait_for(atomic_int *n, int want)
{
	for (int i = 0; i < 20000 && atomic_load(n) < want; i++)
		sleep_us(500);
	assert_int_equal(atomic_load(n), want);
}

static uint64_t store_version(dd_store *store)
{
	dd_rtxn *r;
	assert_int_equal(dd_rtxn_new(store, &r), DD_OK);
	assert_int_equal(dd_rtxn_begin(r), DD_OK);
	uint64_t v = dd_rtxn_data_version(r);
	dd_rtxn_end(r);
	dd_rtxn_free(r);
	return v;
}

/* ---- a failed job rolls back alone ---------------------------------------- */

/* Writes until the map is full: the job's own transaction fails. */
static int fill_apply(dd_wtxn *txn, void *ud, dd_error *err)
{
	(void)ud;
	static char blob[1000];
	memset(blob, 'x', sizeof(blob));
	int rc = DD_OK;
	for (int i = 0; i < 100000 && rc == DD_OK; i++) {
		char key[16];
		snprintf(key, sizeof(key), "fill%06d", i);
		rc = dd_wtxn_put(txn, DD_T_PRICES, str_val(key), (dd_val){ blob, sizeof(blob) });
	}
	return dd_error_set(err, rc, "fill: %s", dd_strerror(rc));
}

static void test_failed_job_alone(void **state)
{
	fixture *f = *state;
	atomic_int finished = 0;
	put_job a, b, c;
	put_job_init(&a, "a", 0, &finished);
	put_job_init(&b, "b", DD_EPRECOND, &finished);
	put_job_init(&c, "c", 0, &finished);
	gate g;
	gate_close(f->writer, &g);
	assert_int_equal(dd_writer_submit(f->writer, &a.job), DD_OK);
	assert_int_equal(dd_writer_submit(f->writer, &b.job), DD_OK);
	assert_int_equal(dd_writer_submit(f->writer, &c.job), DD_OK);
	atomic_store(&g.open, true);
	wait_for(&finished, 3);

	assert_int_equal(a.rc, DD_OK);
	assert_int_equal(b.rc, DD_EPRECOND);
	assert_string_equal(b.msg, "b refused");
	assert_int_equal(c.rc, DD_OK);
	/* versions stay one per acknowledged write, in queue order */
	assert_int_equal(a.version, 1);
	assert_int_equal(c.version, 2);
	assert_int_equal(store_version(f->store), 2);
	assert_true(committed(f->store, "a", 2));
	assert_false(committed(f->store, "b", 0));
	assert_true(committed(f->store, "c", 2));
	dd_writer_stats st;
	dd_writer_get_stats(f->writer, &st);
	assert_int_equal(st.batches, 2); /* the gate, then a, b, c together */
	assert_int_equal(st.largest_batch, 3);
	assert_int_equal(st.failed_jobs, 1);
	assert_int_equal(st.failed_batches, 0);
	assert_int_equal(a.done_calls, 1);
	assert_int_equal(b.done_calls, 1);
	assert_int_equal(c.done_calls, 1);
}

/* The store itself fails a job (map full) between two good ones. */
static void test_full_map_job_alone(void **state)
{
	fixture *f = *state;
	char path[192];
	snprintf(path, sizeof(path), "%s/tiny", f->dir);
	dd_store *s = open_store(path, 1 << 20);
	dd_writer *w;
	dd_error err;
	assert_int_equal(dd_writer_start(&w, s, &err), DD_OK);
	atomic_int finished = 0;
	put_job a, c;
	put_job_init(&a, "before", 0, &finished);
	put_job_init(&c, "after", 0, &finished);
	put_job fill;
	put_job_init(&fill, "fill", 0, &finished);
	fill.job.apply = fill_apply;
	gate g;
	gate_close(w, &g);
	assert_int_equal(dd_writer_submit(w, &a.job), DD_OK);
	assert_int_equal(dd_writer_submit(w, &fill.job), DD_OK);
	assert_int_equal(dd_writer_submit(w, &c.job), DD_OK);
	atomic_store(&g.open, true);
	wait_for(&finished, 3);
	assert_int_equal(a.rc, DD_OK);
	assert_int_equal(fill.rc, DD_EFULL);
	/* the cause and the remedy, whatever the job said */
	assert_non_null(strstr(fill.msg, "store map full (map size 1 MiB, "));
	assert_non_null(strstr(fill.msg, "raise --map-size"));
	assert_int_equal(c.rc, DD_OK);
	assert_true(committed(s, "before", 1));
	assert_true(committed(s, "after", 2));
	dd_writer_stop(w);
	dd_store_close(s);
}

/* ---- done runs after the commit ------------------------------------------------ */

static void test_done_after_commit(void **state)
{
	fixture *f = *state;
	enum { N = 20 };
	static put_job jobs[N];
	atomic_int finished = 0;
	gate g;
	gate_close(f->writer, &g);
	for (int i = 0; i < N; i++) {
		char key[16];
		snprintf(key, sizeof(key), "k%02d", i); /* k00 .. k19 */
		put_job_init(&jobs[i], key, 0, &finished);
		/* every done, the first one's too, sees the LAST job's write:
		 * the whole batch is durable before any done runs */
		jobs[i].check_store = f->store;
		jobs[i].check_key = "k19";
		assert_int_equal(dd_writer_submit(f->writer, &jobs[i].job), DD_OK);
	}
	atomic_store(&g.open, true);
	wait_for(&finished, N);
	for (int i = 0; i < N; i++) {
		assert_int_equal(jobs[i].rc, DD_OK);
		assert_int_equal(jobs[i].visible, 1);
		assert_int_equal(jobs[i].version, (uint64_t)i + 1);
	}
}

/* ---- many submitters ------------------------------------------------------------- */

enum { SUBMITTERS = 8, PER_SUBMITTER = 250 };

typedef struct submitter {
	dd_writer *w;
	int index;
	put_job *jobs; /* PER_SUBMITTER */
	atomic_int finished;
	int errors;
} submitter;

static void *submitter_main(void *arg)
{
	submitter *s = arg;
	for (int i = 0; i < PER_SUBMITTER; i++) {
		char key[32];
		snprintf(key, sizeof(key), "t%d-%d", s->index, i);
		int fail = i % 5 == 0 ? DD_EPRECOND : 0;
		put_job *p = &s->jobs[i];
		put_job_init(p, key, fail, &s->finished);
		if (s->index % 2 == 0) {
			if (dd_writer_submit(s->w, &p->job) != DD_OK)
				s->errors++;
			continue;
		}
		/* the odd threads wait for each result */
		dd_error err;
		dd_error_clear(&err);
		uint64_t v = 0;
		int rc = dd_writer_run(s->w, put_apply, p, &v, &err);
		p->done_calls = 1;
		p->rc = rc;
		p->version = v;
		snprintf(p->msg, sizeof(p->msg), "%s", rc == DD_OK ? "" : err.msg);
		atomic_fetch_add(&s->finished, 1);
	}
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void test_many_submitters(void **state)
{
	fixture *f = *state;
	static submitter subs[SUBMITTERS];
	static put_job jobs[SUBMITTERS][PER_SUBMITTER];
	pthread_t th[SUBMITTERS];
	for (int t = 0; t < SUBMITTERS; t++) {
		memset(&subs[t], 0, sizeof(subs[t]));
		subs[t].w = f->writer;
		subs[t].index = t;
		subs[t].jobs = jobs[t];
		assert_int_equal(pthread_create(&th[t], NULL, submitter_main, &subs[t]), 0);
	}
	for (int t = 0; t < SUBMITTERS; t++) {
		assert_int_equal(pthread_join(th[t], NULL), 0);
		assert_int_equal(subs[t].errors, 0);
		wait_for(&subs[t].finished, PER_SUBMITTER);
	}
	static uint64_t versions[SUBMITTERS * PER_SUBMITTER];
	size_t nv = 0;
	for (int t = 0; t < SUBMITTERS; t++)
		for (int i = 0; i < PER_SUBMITTER; i++) {
			put_job *p = &jobs[t][i];
			assert_int_equal(p->done_calls, 1);
			if (i % 5 == 0) {
				char want[64];
				snprintf(want, sizeof(want), "t%d-%d refused", t, i);
				assert_int_equal(p->rc, DD_EPRECOND);
				assert_string_equal(p->msg, want);
				assert_false(committed(f->store, p->key, 0));
			} else {
				assert_int_equal(p->rc, DD_OK);
				assert_true(p->version > 0);
				assert_true(committed(f->store, p->key, p->version));
				versions[nv++] = p->version;
			}
		}
	/* every acknowledged write has a version of its own: 1..nv */
	qsort(versions, nv, sizeof(versions[0]), cmp_u64);
	for (size_t i = 0; i < nv; i++)
		assert_int_equal(versions[i], i + 1);
	assert_int_equal(store_version(f->store), nv);
	dd_writer_stats st;
	dd_writer_get_stats(f->writer, &st);
	assert_int_equal(st.jobs, SUBMITTERS * PER_SUBMITTER);
	assert_int_equal(st.failed_jobs, SUBMITTERS * PER_SUBMITTER / 5);
	printf("  %d jobs from %d threads in %llu batches (largest %llu)\n",
	       SUBMITTERS * PER_SUBMITTER, SUBMITTERS, (unsigned long long)st.batches,
	       (unsigned long long)st.largest_batch);
}

/* ---- group commit ------------------------------------------------------------------ */

static void test_group_commit(void **state)
{
	fixture *f = *state;
	enum { N = 300 };
	static put_job jobs[N];
	atomic_int finished = 0;
	gate g;
	gate_close(f->writer, &g);
	for (int i = 0; i < N; i++) {
		char key[16];
		snprintf(key, sizeof(key), "g%03d", i);
		put_job_init(&jobs[i], key, 0, &finished);
		assert_int_equal(dd_writer_submit(f->writer, &jobs[i].job), DD_OK);
	}
	atomic_store(&g.open, true);
	wait_for(&finished, N);
	dd_writer_stats st;
	dd_writer_get_stats(f->writer, &st);
	/* the gate alone, then 256 and 44: three commits for 301 jobs */
	assert_int_equal(st.jobs, N + 1);
	assert_int_equal(st.batches, 3);
	assert_int_equal(st.largest_batch, DD_WRITER_MAX_BATCH);
	for (int i = 0; i < N; i++) {
		assert_int_equal(jobs[i].rc, DD_OK);
		assert_int_equal(jobs[i].version, (uint64_t)i + 1);
	}
	assert_int_equal(store_version(f->store), N);
}

/* ---- stop drains ---------------------------------------------------------------------- */

static void test_stop_drains(void **state)
{
	fixture *f = *state;
	enum { N = 100 };
	static put_job jobs[N];
	atomic_int finished = 0;
	gate g;
	memset(&g, 0, sizeof(g));
	g.job.apply = gate_apply;
	g.job.ud = &g;
	g.sleep_ms = 50; /* the rest queue up behind it */
	assert_int_equal(dd_writer_submit(f->writer, &g.job), DD_OK);
	for (int i = 0; i < N; i++) {
		char key[16];
		snprintf(key, sizeof(key), "s%03d", i);
		put_job_init(&jobs[i], key, 0, &finished);
		assert_int_equal(dd_writer_submit(f->writer, &jobs[i].job), DD_OK);
	}
	dd_writer_stop(f->writer);
	f->writer = NULL;
	assert_int_equal(atomic_load(&finished), N);
	for (int i = 0; i < N; i++) {
		assert_int_equal(jobs[i].rc, DD_OK);
		assert_true(committed(f->store, jobs[i].key, jobs[i].version));
	}
	/* No writer attached any more: dd_store_write writes directly. */
	put_job p;
	put_job_init(&p, "direct", 0, NULL);
	uint64_t v = 0;
	dd_error err;
	assert_int_equal(dd_store_write(f->store, put_apply, &p, &v, &err), DD_OK);
	assert_int_equal(v, N + 1);
	put_job_init(&p, "refused", DD_EDENIED, NULL);
	assert_int_equal(dd_store_write(f->store, put_apply, &p, &v, &err), DD_EDENIED);
	assert_string_equal(err.msg, "refused refused");
	assert_false(committed(f->store, "refused", 0));
}

/* ---- a failed commit fails every job in it -------------------------------------------- */

static void test_commit_failure(void **state)
{
	fixture *f = *state;
	atomic_int finished = 0;
	put_job a, a2, b, c;
	put_job_init(&a, "a", 0, &finished);
	put_job_init(&a2, "a2", 0, &finished);
	put_job_init(&b, "b", DD_EINVAL, &finished);
	put_job_init(&c, "c", 0, &finished);
	gate g;
	gate_close(f->writer, &g);
	dd_writer__fail_commits(f->writer, 1); /* the batch after the gate's */
	assert_int_equal(dd_writer_submit(f->writer, &a.job), DD_OK);
	assert_int_equal(dd_writer_submit(f->writer, &b.job), DD_OK);
	assert_int_equal(dd_writer_submit(f->writer, &a2.job), DD_OK);
	atomic_store(&g.open, true);
	wait_for(&finished, 3);
	/* the jobs that had succeeded all get the commit's error */
	put_job *succeeded[] = { &a, &a2 };
	for (int i = 0; i < 2; i++) {
		put_job *p = succeeded[i];
		assert_int_equal(p->rc, DD_ESTORE);
		assert_string_equal(p->msg, "store: commit failed: store error");
		assert_int_equal(p->version, 0);
		assert_false(committed(f->store, p->key, 0));
	}
	assert_int_equal(b.rc, DD_EINVAL); /* its own error stays */
	assert_string_equal(b.msg, "b refused");
	/* the next batch commits */
	assert_int_equal(dd_writer_submit(f->writer, &c.job), DD_OK);
	wait_for(&finished, 4);
	assert_int_equal(c.rc, DD_OK);
	assert_int_equal(c.version, 1);
	dd_writer_stats st;
	dd_writer_get_stats(f->writer, &st);
	assert_int_equal(st.failed_batches, 1);
	assert_int_equal(st.failed_jobs, 3);
}

/* ---- the synchronous forms ------------------------------------------------------------ */

static int nested_run_apply(dd_wtxn *txn, void *ud, dd_error *err)
{
	(void)txn;
	dd_writer *w = ud;
	put_job p;
	put_job_init(&p, "nested", 0, NULL);
	return dd_writer_run(w, put_apply, &p, NULL, err);
}

static int bare_apply(dd_wtxn *txn, void *ud, dd_error *err)
{
	(void)txn;
	(void)ud;
	(void)err;
	return DD_ENOTFOUND;
}

static void test_run(void **state)
{
	fixture *f = *state;
	dd_error err;
	put_job p;
	put_job_init(&p, "one", 0, NULL);
	uint64_t v = 0;
	assert_int_equal(dd_writer_run(f->writer, put_apply, &p, &v, &err), DD_OK);
	assert_int_equal(v, 1);
	/* dd_store_write goes through the attached writer */
	put_job_init(&p, "two", 0, NULL);
	assert_int_equal(dd_store_write(f->store, put_apply, &p, &v, &err), DD_OK);
	assert_int_equal(v, 2);
	dd_writer_stats st;
	dd_writer_get_stats(f->writer, &st);
	assert_int_equal(st.jobs, 2);
	/* a job cannot wait for the writer it runs on */
	assert_int_equal(dd_writer_run(f->writer, nested_run_apply, f->writer, &v, &err),
	                 DD_EINTERNAL);
	assert_string_equal(err.msg, "writer: a job cannot wait for another job");
	assert_false(committed(f->store, "nested", 0));
	/* one writer per store */
	dd_writer *second;
	assert_int_equal(dd_writer_start(&second, f->store, &err), DD_EEXIST);
	/* a job without apply is refused at once */
	dd_writer_job empty;
	memset(&empty, 0, sizeof(empty));
	assert_int_equal(dd_writer_submit(f->writer, &empty), DD_EINVAL);
	/* an apply that returns a bare code gets a message */
	assert_int_equal(dd_writer_run(f->writer, bare_apply, NULL, &v, &err), DD_ENOTFOUND);
	assert_string_equal(err.msg, "write failed: not found");
	assert_int_equal(store_version(f->store), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_failed_job_alone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_map_job_alone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_done_after_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_submitters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_drains, setup, teardown),
		cmocka_unit_test_setup_teardown(test_commit_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
