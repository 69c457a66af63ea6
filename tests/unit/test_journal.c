/* Unit tests for src/journal: the audit chain (appended by the writer in
 * the change's own transaction; an edited entry, one rewritten with its hash
 * recomputed, a removed one and a removed last one are each named by
 * verify), and the decision log (a full queue drops and counts, records are
 * found by id and order, logging does not move data_version, retention
 * prunes, redaction names are checked). Each test has its own store under
 * /tmp. */
#define _GNU_SOURCE /* mkdtemp, nftw, memmem */
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "dealdesk/journal.h"
#include "dealdesk/store.h"
#include "dealdesk/writer.h"
#include "journal/journal_int.h"

typedef struct fixture {
	char dir[64];
	char path[128];
	dd_store *store;
	dd_writer *writer;
	dd_arena arena;
} fixture;

static int rm_entry(const char *p, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	return remove(p);
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	strcpy(f->dir, "/tmp/dd-test-journal-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/db", f->dir);
	dd_store_opts opts = { .path = f->path, .no_sync = 1 };
	dd_error err;
	assert_int_equal(dd_store_open(&f->store, &opts, &err), DD_OK);
	assert_int_equal(dd_writer_start(&f->writer, f->store, &err), DD_OK);
	dd_writer_set_audit(f->writer, dd_audit_append, NULL);
	dd_arena_init(&f->arena, 4096, 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	dd_writer_stop(f->writer);
	dd_store_close(f->store);
	dd_arena_free(&f->arena);
	nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* ---- a job with an audit note, waited for ------------------------------------ */

typedef struct audited {
	dd_writer_job job;
	int fail; /* apply fails after writing */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool finished;
	int rc;
} audited;

static int audited_apply(dd_wtxn *txn, void *ud, dd_error *err)
{
	audited *a = ud;
	int rc = dd_wtxn_put(txn, DD_T_PRICES, (dd_val){ "k", 1 }, (dd_val){ "v", 1 });
	if (rc == DD_OK && a->fail)
		return dd_error_set(err, DD_EPRECOND, "refused");
	return rc;
}

static void audited_done(void *ud, int rc, uint64_t version, const dd_error *err)
{
	(void)version;
	(void)err;
	audited *a = ud;
	pthread_mutex_lock(&a->lock);
	a->rc = rc;
	a->finished = true;
	pthread_cond_signal(&a->cond);
	pthread_mutex_unlock(&a->lock);
}

static int run_audited(fixture *f, const char *principal, const char *key, int fail)
{
	dd_audit_note note = { principal, "admin", "/dealdesk.v1.CatalogAdmin/PutPriceEntries", key,
		               { 0 } };
	memset(note.value_sha256, 0xab, 32);
	audited a;
	memset(&a, 0, sizeof(a));
	a.fail = fail;
	pthread_mutex_init(&a.lock, NULL);
	pthread_cond_init(&a.cond, NULL);
	a.job.apply = audited_apply;
	a.job.done = audited_done;
	a.job.ud = &a;
	a.job.audit = &note;
	assert_int_equal(dd_writer_submit(f->writer, &a.job), DD_OK);
	pthread_mutex_lock(&a.lock);
	while (!a.finished)
		pthread_cond_wait(&a.cond, &a.lock);
	pthread_mutex_unlock(&a.lock);
	pthread_cond_destroy(&a.cond);
	pthread_mutex_destroy(&a.lock);
	return a.rc;
}

static Dealdesk__V1__VerifyAuditResponse *verify(fixture *f)
{
	Dealdesk__V1__VerifyAuditResponse *r = NULL;
	dd_error err;
	assert_int_equal(dd_audit_verify(f->store, &f->arena, &r, &err), DD_OK);
	return r;
}

/* ---- raw edits, as someone with the file would make them ---------------------- */

typedef struct raw_edit {
	uint64_t seq;
	int del;
	const void *val;
	size_t len;
} raw_edit;

static int raw_apply(dd_wtxn *txn, void *ud, dd_error *err)
{
	(void)err;
	raw_edit *e = ud;
	unsigned char key[8];
	journal_be64(key, e->seq);
	if (e->del)
		return dd_wtxn_del(txn, DD_T_AUDIT, (dd_val){ key, 8 });
	return dd_wtxn_put(txn, DD_T_AUDIT, (dd_val){ key, 8 }, (dd_val){ e->val, e->len });
}

static void raw(fixture *f, raw_edit *e)
{
	dd_error err;
	assert_int_equal(dd_writer_run(f->writer, raw_apply, e, NULL, &err), DD_OK);
}

/* The stored bytes of entry seq (malloc'd copy). */
static unsigned char *stored(fixture *f, uint64_t seq, size_t *len)
{
	dd_rtxn *t;
	assert_int_equal(dd_rtxn_new(f->store, &t), DD_OK);
	assert_int_equal(dd_rtxn_begin(t), DD_OK);
	unsigned char key[8];
	journal_be64(key, seq);
	dd_val v;
	assert_int_equal(dd_rtxn_get(t, DD_T_AUDIT, (dd_val){ key, 8 }, &v), DD_OK);
	unsigned char *copy = malloc(v.len);
	memcpy(copy, v.data, v.len);
	*len = v.len;
	dd_rtxn_end(t);
	dd_rtxn_free(t);
	return copy;
}

static void assert_problems(Dealdesk__V1__VerifyAuditResponse *r, size_t n, const uint64_t *seqs,
                            const char *const *what)
{
	for (size_t i = 0; i < r->n_problems; i++)
		fprintf(stderr, "  problem: %llu %s %s\n", (unsigned long long)r->problems[i]->seq,
		        r->problems[i]->problem, r->problems[i]->detail);
	assert_int_equal(r->ok, n == 0);
	assert_int_equal(r->n_problems, n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(r->problems[i]->seq, seqs[i]);
		assert_string_equal(r->problems[i]->problem, what[i]);
	}
}

static void test_audit_chain(void **state)
{
	fixture *f = *state;
	assert_int_equal(verify(f)->ok, 1);
	assert_int_equal(verify(f)->entries, 0);
	const char *who[] = { "token:a", "token:b", "token:c", "token:d", "token:e" };
	for (int i = 0; i < 5; i++)
		assert_int_equal(run_audited(f, who[i], "sku-1", 0), DD_OK);
	/* a refused change leaves no entry: it rolled back with the change */
	assert_int_equal(run_audited(f, "token:x", "sku-2", 1), DD_EPRECOND);
	Dealdesk__V1__VerifyAuditResponse *r = verify(f);
	assert_problems(r, 0, NULL, NULL);
	assert_int_equal(r->entries, 5);
	assert_int_equal(r->head_seq, 5);
	Dealdesk__V1__AuditEntry **items;
	size_t n;
	uint64_t next;
	dd_error err;
	assert_int_equal(dd_audit_list(f->store, 0, 2, &f->arena, &items, &n, &next, &err), DD_OK);
	assert_int_equal(n, 2);
	assert_int_equal(next, 2);
	assert_string_equal(items[1]->principal, "token:b");
	assert_int_equal(items[1]->prev_hash.len, 32);
	assert_memory_equal(items[1]->prev_hash.data, items[0]->hash.data, 32);
	assert_int_equal(dd_audit_list(f->store, 4, 0, &f->arena, &items, &n, &next, &err), DD_OK);
	assert_int_equal(n, 1);
	assert_int_equal(items[0]->seq, 5);
	assert_int_equal(next, 0);

	/* 1. a byte of entry 3 changed: its own hash no longer matches */
	size_t len;
	unsigned char *orig = stored(f, 3, &len);
	unsigned char *bad = malloc(len);
	memcpy(bad, orig, len);
	unsigned char *c = memmem(bad + 32, len - 32, "token:c", 7);
	assert_non_null(c);
	c[6] = 'z';
	raw(f, &(raw_edit){ .seq = 3, .val = bad, .len = len });
	assert_problems(verify(f), 1, (uint64_t[]){ 3 }, (const char *[]){ "altered" });

	/* 2. the same edit with the hash recomputed: entry 4 names it */
	journal_sha256(bad + 32, len - 32, bad);
	raw(f, &(raw_edit){ .seq = 3, .val = bad, .len = len });
	r = verify(f);
	assert_problems(r, 1, (uint64_t[]){ 3 }, (const char *[]){ "altered" });
	assert_non_null(strstr(r->problems[0]->detail, "entry 4 recorded another hash"));
	raw(f, &(raw_edit){ .seq = 3, .val = orig, .len = len });
	assert_problems(verify(f), 0, NULL, NULL);

	/* 3. the last entry rewritten with its hash recomputed: the head names it */
	size_t len5;
	unsigned char *orig5 = stored(f, 5, &len5);
	unsigned char *bad5 = malloc(len5);
	memcpy(bad5, orig5, len5);
	c = memmem(bad5 + 32, len5 - 32, "token:e", 7);
	assert_non_null(c);
	c[6] = 'z';
	journal_sha256(bad5 + 32, len5 - 32, bad5);
	raw(f, &(raw_edit){ .seq = 5, .val = bad5, .len = len5 });
	r = verify(f);
	assert_problems(r, 1, (uint64_t[]){ 5 }, (const char *[]){ "altered" });
	assert_non_null(strstr(r->problems[0]->detail, "the head records another hash"));
	raw(f, &(raw_edit){ .seq = 5, .val = orig5, .len = len5 });

	/* 4. entry 2 removed, then the last one too */
	raw(f, &(raw_edit){ .seq = 2, .del = 1 });
	assert_problems(verify(f), 1, (uint64_t[]){ 2 }, (const char *[]){ "removed" });
	raw(f, &(raw_edit){ .seq = 5, .del = 1 });
	assert_problems(verify(f), 2, (uint64_t[]){ 2, 5 }, (const char *[]){ "removed", "removed" });
	/* 5. entry 4 moved under key 5 */
	size_t len4;
	unsigned char *e4 = stored(f, 4, &len4);
	raw(f, &(raw_edit){ .seq = 4, .del = 1 });
	raw(f, &(raw_edit){ .seq = 5, .val = e4, .len = len4 });
	r = verify(f);
	assert_problems(r, 3, (uint64_t[]){ 2, 4, 5 },
	                (const char *[]){ "removed", "removed", "moved" });
	free(e4);
	free(orig);
	free(bad);
	free(orig5);
	free(bad5);
}

/* ---- decision log ---------------------------------------------------------------- */

/* A writer job that holds the writer until the gate opens. */
typedef struct gate {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool open, entered;
} gate;

static int gate_apply(dd_wtxn *txn, void *ud, dd_error *err)
{
	(void)txn;
	(void)err;
	gate *g = ud;
	pthread_mutex_lock(&g->lock);
	g->entered = true;
	pthread_cond_broadcast(&g->cond);
	while (!g->open)
		pthread_cond_wait(&g->cond, &g->lock);
	pthread_mutex_unlock(&g->lock);
	return DD_OK;
}

static uint64_t data_version(fixture *f)
{
	dd_rtxn *t;
	assert_int_equal(dd_rtxn_new(f->store, &t), DD_OK);
	assert_int_equal(dd_rtxn_begin(t), DD_OK);
	uint64_t v = dd_rtxn_data_version(t);
	dd_rtxn_end(t);
	dd_rtxn_free(t);
	return v;
}

static void record(dd_decisions *d, const char *id, const char *order)
{
	Dealdesk__V1__QuoteRequest req = DEALDESK__V1__QUOTE_REQUEST__INIT;
	req.customer_id = (char *)"acme";
	req.currency = (char *)"USD";
	req.order_id = (char *)order;
	Dealdesk__V1__QuoteResponse resp = DEALDESK__V1__QUOTE_RESPONSE__INIT;
	Dealdesk__V1__Versions v = DEALDESK__V1__VERSIONS__INIT;
	v.data_version = 7;
	v.credit_policy = 2;
	resp.versions = &v;
	resp.decision_id = (char *)id;
	resp.order_id = (char *)order;
	resp.currency = (char *)"USD";
	resp.total = 1234;
	dd_decisions_record(d, DEALDESK__V1__DECISION_KIND__DECISION_KIND_QUOTE, &req.base, NULL, 0,
	                    &resp.base, NULL, 0, "token:shop");
}

typedef struct prune_job {
	int64_t cutoff;
	uint64_t pruned;
} prune_job;

static int prune_apply(dd_wtxn *txn, void *ud, dd_error *e)
{
	(void)e;
	prune_job *pj = ud;
	return journal_decisions_prune(txn, pj->cutoff, 100, &pj->pruned);
}

/* a record that does not read, in front of the others (sequence 0) */
static int put_garbage(dd_wtxn *txn, void *ud, dd_error *e)
{
	(void)ud;
	(void)e;
	static const unsigned char seq0[8] = { 0 };
	return dd_wtxn_put(txn, DD_T_DECISIONS, (dd_val){ seq0, 8 }, (dd_val){ "\x0a\xff", 2 });
}

static void test_decisions_queue_drops_and_counts(void **state)
{
	fixture *f = *state;
	dd_decisions *d;
	dd_error err;
	dd_decisions_opts opts = { .queue = 2 };
	assert_int_equal(dd_decisions_new(&d, f->writer, &opts, &err), DD_OK);
	uint64_t dv = data_version(f);
	/* the writer busy: the log cannot keep up */
	gate g = { .open = false };
	pthread_mutex_init(&g.lock, NULL);
	pthread_cond_init(&g.cond, NULL);
	dd_writer_job gj = { .apply = gate_apply, .ud = &g };
	assert_int_equal(dd_writer_submit(f->writer, &gj), DD_OK);
	pthread_mutex_lock(&g.lock);
	while (!g.entered)
		pthread_cond_wait(&g.cond, &g.lock);
	pthread_mutex_unlock(&g.lock);
	record(d, "d1", "o1");
	record(d, "d2", "");
	record(d, "d3", "o1");
	record(d, "d4", "");
	record(d, "d5", "");
	Dealdesk__V1__DecisionLogStats st;
	dd_decisions_stats(d, &st);
	assert_int_equal(st.recorded, 5);
	assert_int_equal(st.queued, 2);
	assert_int_equal(st.dropped, 3);
	assert_int_equal(st.written, 0);
	assert_int_equal(st.capacity, 2);
	pthread_mutex_lock(&g.lock);
	g.open = true;
	pthread_cond_broadcast(&g.cond);
	pthread_mutex_unlock(&g.lock);
	dd_decisions_flush(d);
	dd_decisions_stats(d, &st);
	assert_int_equal(st.written, 2);
	assert_int_equal(st.queued, 0);
	assert_int_equal(st.dropped, 3);
	/* the log is not data: quoters keep their caches, replays their version */
	assert_int_equal(data_version(f), dv);
	Dealdesk__V1__DecisionRecord *rec;
	assert_int_equal(dd_decision_get(f->store, "d2", NULL, &f->arena, &rec, &err), DD_OK);
	assert_int_equal(rec->seq, 2);
	assert_string_equal(rec->principal, "token:shop");
	assert_int_equal(rec->total, 1234);
	assert_int_equal(rec->versions->credit_policy, 2);
	assert_int_equal(dd_decision_get(f->store, NULL, "o1", &f->arena, &rec, &err), DD_OK);
	assert_string_equal(rec->decision_id, "d1");
	assert_int_equal(dd_decision_get(f->store, "d3", NULL, &f->arena, &rec, &err), DD_ENOTFOUND);
	Dealdesk__V1__ListDecisionsRequest lq = DEALDESK__V1__LIST_DECISIONS_REQUEST__INIT;
	Dealdesk__V1__PageRequest page = DEALDESK__V1__PAGE_REQUEST__INIT;
	page.page_size = 1;
	lq.page = &page;
	lq.summary = 1;
	Dealdesk__V1__ListDecisionsResponse *lr;
	assert_int_equal(dd_decision_list(f->store, &lq, &f->arena, &lr, &err), DD_OK);
	assert_int_equal(lr->n_decisions, 1);
	assert_string_equal(lr->decisions[0]->decision_id, "d1");
	assert_int_equal(lr->decisions[0]->request.len, 0);
	assert_string_equal(lr->next_page_token, "2");
	page.page_token = lr->next_page_token;
	assert_int_equal(dd_decision_list(f->store, &lq, &f->arena, &lr, &err), DD_OK);
	assert_int_equal(lr->n_decisions, 1);
	assert_string_equal(lr->decisions[0]->decision_id, "d2");
	assert_string_equal(lr->next_page_token, "");

	/* retention: everything recorded before the cutoff goes, index too;
	 * a record that does not read goes as well (left in front, it would
	 * stop pruning for good); what came after the cutoff stays */
	record(d, "d6", "o6");
	dd_decisions_flush(d);
	assert_int_equal(dd_writer_run(f->writer, put_garbage, NULL, NULL, &err), DD_OK);
	prune_job pj = { journal_now_ns() + 1, 0 };
	record(d, "d7", "o7");
	dd_decisions_flush(d);
	assert_int_equal(dd_writer_run(f->writer, prune_apply, &pj, NULL, &err), DD_OK);
	assert_int_equal(pj.pruned, 4);
	assert_int_equal(dd_decision_get(f->store, "d6", NULL, &f->arena, &rec, &err), DD_ENOTFOUND);
	assert_int_equal(dd_decision_get(f->store, NULL, "o1", &f->arena, &rec, &err), DD_ENOTFOUND);
	assert_int_equal(dd_decision_get(f->store, NULL, "o6", &f->arena, &rec, &err), DD_ENOTFOUND);
	assert_int_equal(dd_decision_get(f->store, "d7", NULL, &f->arena, &rec, &err), DD_OK);
	assert_int_equal(dd_decision_get(f->store, NULL, "o7", &f->arena, &rec, &err), DD_OK);
	assert_string_equal(rec->decision_id, "d7");
	/* nothing more is old enough: the front record stays */
	assert_int_equal(dd_writer_run(f->writer, prune_apply, &pj, NULL, &err), DD_OK);
	assert_int_equal(pj.pruned, 0);
	dd_decisions_free(d);
	pthread_cond_destroy(&g.cond);
	pthread_mutex_destroy(&g.lock);
}

/* The size cap: past max_bytes the oldest records are pruned (counted), so
 * the log cannot fill the store; the newest stay fetchable. */
static void test_decisions_size_cap(void **state)
{
	fixture *f = *state;
	dd_decisions *d;
	dd_error err;
	dd_decisions_opts opts = { .queue = 100000, .max_bytes = 256 * 1024 };
	assert_int_equal(dd_decisions_new(&d, f->writer, &opts, &err), DD_OK);
	char id[32];
	for (int round = 0; round < 20; round++) {
		for (int i = 0; i < 500; i++) {
			snprintf(id, sizeof(id), "c%05d", round * 500 + i);
			record(d, id, "");
		}
		dd_decisions_flush(d);
	}
	Dealdesk__V1__DecisionLogStats st;
	dd_decisions_stats(d, &st);
	assert_int_equal(st.recorded, 10000);
	assert_int_equal(st.written, 10000);
	assert_int_equal(st.dropped, 0);
	assert_true(st.pruned > 0);
	/* what is left fits the cap (checked after each flush) */
	Dealdesk__V1__DecisionRecord *rec;
	assert_int_equal(dd_decision_get(f->store, "c09999", NULL, &f->arena, &rec, &err), DD_OK);
	assert_int_equal(dd_decision_get(f->store, "c00000", NULL, &f->arena, &rec, &err),
	                 DD_ENOTFOUND);
	assert_true(st.written - st.pruned < 10000);
	dd_decisions_free(d);
}

static void test_redact_names(void **state)
{
	(void)state;
	unsigned bits;
	dd_error err;
	assert_int_equal(journal_redact_parse("customer_id, region", &bits, &err), DD_OK);
	assert_int_not_equal(bits, 0);
	assert_int_equal(journal_redact_parse("", &bits, &err), DD_OK);
	assert_int_equal(bits, 0);
	assert_int_equal(journal_redact_parse("customer_id,password", &bits, &err), DD_EINVAL);
	assert_non_null(strstr(err.msg, "decision-redact: unknown field 'password'"));
	dd_decisions *d;
	dd_decisions_opts opts = { .redact = "nope" };
	assert_int_equal(dd_decisions_new(&d, NULL, &opts, &err), DD_EINVAL);
	/* no writer: every record is dropped, and counted */
	opts.redact = NULL;
	assert_int_equal(dd_decisions_new(&d, NULL, &opts, &err), DD_OK);
	record(d, "x", "");
	Dealdesk__V1__DecisionLogStats st;
	dd_decisions_stats(d, &st);
	assert_int_equal(st.dropped, 1);
	dd_decisions_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_audit_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_decisions_queue_drops_and_counts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_decisions_size_cap, setup, teardown),
		cmocka_unit_test(test_redact_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
