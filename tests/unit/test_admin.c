/* Unit tests for src/admin: conditions compiled on write, CRUD with paging,
 * the policy lifecycle, writes in two steps through the writer thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin/admin_int.h"
#include "dealdesk/writer.h"

typedef struct fixture {
	char dir[64];
	dd_store *store;
	dd_arena arena;
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/dd-test-admin-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	dd_store_opts o = { .path = f->dir, .map_size = 64u << 20, .no_sync = 1 };
	dd_error err;
	assert_int_equal(dd_store_open(&f->store, &o, &err), DD_OK);
	dd_arena_init(&f->arena, 0, 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	dd_arena_free(&f->arena);
	dd_store_close(f->store);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* Field checks are the model's (tests/unit/test_model.c); a write also
 * compiles a promotion's condition. */
static void test_condition_compiled_on_write(void **state)
{
	(void)state;
	Dealdesk__V1__Promotion p = DEALDESK__V1__PROMOTION__INIT;
	p.id = "P";
	p.kind = DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_PERCENTAGE;
	p.percent_bps = 1000;
	p.condition = "return (";
	dd_error err;
	assert_int_equal(dd_entity_validate(DD_ENTITY_PROMOTION, &p.base, "x", &err), DD_OK);
	assert_int_equal(admin_validate(DD_ENTITY_PROMOTION, &p.base, "x", &err), DD_EINVAL);
	assert_non_null(strstr(err.msg, "x.condition: condition:"));
	p.condition = "return ctx.total > 0";
	assert_int_equal(admin_validate(DD_ENTITY_PROMOTION, &p.base, "x", &err), DD_OK);
	/* the model's checks come first, with the model's messages */
	p.percent_bps = 0;
	assert_int_equal(admin_validate(DD_ENTITY_PROMOTION, &p.base, "x", &err), DD_EINVAL);
	assert_string_equal(err.msg, "x.percent_bps: a PERCENTAGE promotion needs 1..10000");
}

static void test_crud_and_paging(void **state)
{
	fixture *f = *state;
	dd_error err;
	char ids[30][8];
	Dealdesk__V1__Customer c[30];
	ProtobufCMessage *items[30];
	for (int i = 0; i < 30; i++) {
		snprintf(ids[i], sizeof(ids[i]), "c%02d", i);
		dealdesk__v1__customer__init(&c[i]);
		c[i].id = ids[i];
		items[i] = &c[i].base;
	}
	uint64_t v = 0;
	assert_int_equal(dd_admin_put(f->store, DD_ENTITY_CUSTOMER, items, 30, "customers", &v, &err), DD_OK);
	assert_int_equal(v, 1); /* one transaction, one version */
	/* a bad record anywhere: nothing is written */
	c[5].id = "";
	assert_int_equal(dd_admin_put(f->store, DD_ENTITY_CUSTOMER, items, 30, "customers", &v, &err),
	                 DD_EINVAL);
	assert_string_equal(err.msg, "customers[5].id: required");
	c[5].id = ids[5];

	const char *token = "";
	int seen = 0;
	do {
		ProtobufCMessage **page;
		size_t n;
		char *next;
		assert_int_equal(dd_admin_list(f->store, DD_ENTITY_CUSTOMER, NULL, 0, 7, token,
		                               &f->arena, &page, &n, &next, &err), DD_OK);
		for (size_t i = 0; i < n; i++, seen++)
			assert_string_equal(((Dealdesk__V1__Customer *)page[i])->id, ids[seen]);
		token = next;
	} while (*token);
	assert_int_equal(seen, 30);

	ProtobufCMessage **page;
	size_t n;
	char *next;
	assert_int_equal(dd_admin_list(f->store, DD_ENTITY_CUSTOMER, NULL, 0, 7, "zz",
	                               &f->arena, &page, &n, &next, &err), DD_EINVAL);
	const char *key[] = { "c07" };
	ProtobufCMessage *got;
	assert_int_equal(dd_admin_get(f->store, DD_ENTITY_CUSTOMER, key, &f->arena, &got, &err), DD_OK);
	assert_int_equal(dd_admin_delete(f->store, DD_ENTITY_CUSTOMER, key, &v, &err), DD_OK);
	assert_int_equal(v, 2);
	assert_int_equal(dd_admin_get(f->store, DD_ENTITY_CUSTOMER, key, &f->arena, &got, &err),
	                 DD_ENOTFOUND);
	assert_string_equal(err.msg, "customer 'c07' not found");
	assert_int_equal(dd_admin_delete(f->store, DD_ENTITY_CUSTOMER, key, &v, &err), DD_ENOTFOUND);
}

#define CREDIT DD_POLICY_CREDIT
#define PENDING_REVIEW DEALDESK__V1__POLICY_STATUS__POLICY_STATUS_PENDING_REVIEW
#define APPROVED DEALDESK__V1__POLICY_STATUS__POLICY_STATUS_APPROVED

static void test_policy_lifecycle(void **state)
{
	fixture *f = *state;
	dd_error err;
	Dealdesk__V1__PolicyScript *p;
	dd_arena *a = &f->arena;
	const char *src = "function decide(ctx, c) return { outcome = 'REVIEW' } end";
	assert_int_equal(dd_policy_upload(f->store, CREDIT, "function nope() end", "a", "", 1, NULL,
	                                  a, &p, &err), DD_EINVAL);
	assert_string_equal(err.msg, "source: a credit policy must define function decide()");
	assert_int_equal(dd_policy_upload(f->store, CREDIT, src, "alice", "why", 100, NULL, a,
	                                  &p, &err), DD_OK);
	assert_int_equal(p->version, 1);
	assert_int_equal(p->status, DEALDESK__V1__POLICY_STATUS__POLICY_STATUS_DRAFT);
	assert_int_equal(strlen(p->sha256), 64);
	/* approval required: a draft cannot go live */
	assert_int_equal(dd_policy_activate(f->store, CREDIT, 1, "alice", 1, 101, a, &p, &err),
	                 DD_EPRECOND);
	assert_int_equal(dd_policy_review(f->store, CREDIT, 1, APPROVED, "bob", "", 102, a, &p,
	                                  &err), DD_EPRECOND); /* not submitted yet */
	assert_int_equal(dd_policy_review(f->store, CREDIT, 1, PENDING_REVIEW, "alice", "", 103, a,
	                                  &p, &err), DD_OK);
	assert_int_equal(dd_policy_review(f->store, CREDIT, 1, APPROVED, "alice", "", 104, a, &p,
	                                  &err), DD_EDENIED);
	assert_int_equal(dd_policy_review(f->store, CREDIT, 1, APPROVED, "bob", "ok", 105, a, &p,
	                                  &err), DD_OK);
	assert_string_equal(p->reviewer, "bob");
	assert_int_equal(dd_policy_activate(f->store, CREDIT, 1, "alice", 1, 106, a, &p, &err),
	                 DD_OK);
	assert_int_equal(p->status, DEALDESK__V1__POLICY_STATUS__POLICY_STATUS_ACTIVE);
	/* version 2 replaces it; 1 is retired */
	assert_int_equal(dd_policy_upload(f->store, CREDIT, src, "carol", "", 107, NULL, a, &p,
	                                  &err), DD_OK);
	assert_int_equal(p->version, 2);
	assert_int_equal(dd_policy_activate(f->store, CREDIT, 2, "carol", 0, 108, a, &p, &err),
	                 DD_OK);
	assert_int_equal(dd_policy_get(f->store, CREDIT, 0, a, &p, &err), DD_OK);
	assert_int_equal(p->version, 2);
	assert_int_equal(dd_policy_get(f->store, CREDIT, 1, a, &p, &err), DD_OK);
	assert_int_equal(p->status, DEALDESK__V1__POLICY_STATUS__POLICY_STATUS_RETIRED);
	assert_int_equal(dd_policy_get(f->store, CREDIT, 9, a, &p, &err), DD_ENOTFOUND);
	/* an invalid kind is refused by name */
	assert_int_equal(dd_policy_get(f->store, DD_POLICY_KIND_COUNT, 0, a, &p, &err), DD_EINVAL);
	assert_string_equal(err.msg, "kind: must be PRICING, PROMOTIONS, CREDIT or COMPLIANCE");
}

static void test_shipped_policies(void **state)
{
	fixture *f = *state;
	dd_error err;
	assert_int_equal(dd_policy_install_shipped(f->store, NULL, 5, &err), DD_OK);
	assert_int_equal(dd_policy_install_shipped(f->store, NULL, 6, &err), DD_OK); /* idempotent */
	for (int kind = DD_POLICY_PRICING; kind < DD_POLICY_KIND_COUNT; kind++) {
		Dealdesk__V1__PolicyScript *p;
		assert_int_equal(dd_policy_get(f->store, kind, 0, &f->arena, &p, &err), DD_OK);
		assert_int_equal(p->version, 1);
		size_t len;
		assert_string_equal(p->source, dd_policy_shipped_source(kind, &len));
	}
	assert_int_equal(dd_demo_seed(f->store, &err), DD_OK);
	assert_int_equal(dd_demo_seed(f->store, &err), DD_EEXIST);
}

/* ---- writes in two steps, through the writer --------------------------------- */

/* A prepared write as a writer job, as the server's handlers queue them. */
typedef struct admin_job {
	dd_writer_job job;
	dd_admin_write *w;
	atomic_int *finished;
	int rc;
	uint64_t version;
	char msg[512];
} admin_job;

static int admin_apply(dd_wtxn *txn, void *ud, dd_error *err)
{
	admin_job *j = ud;
	return dd_admin_write_apply(txn, j->w, err);
}

static void admin_done(void *ud, int rc, uint64_t version, const dd_error *err)
{
	admin_job *j = ud;
	j->rc = rc;
	j->version = version;
	snprintf(j->msg, sizeof(j->msg), "%s", rc == DD_OK ? "" : err->msg);
	atomic_fetch_add(j->finished, 1);
}

static atomic_bool gate_entered, gate_open;

static void nap(void)
{
	struct timespec ts = { 0, 200000 };
	nanosleep(&ts, NULL);
}

/* Holds the writer until gate_open, so the jobs queued meanwhile share
 * the next batch. */
static int gate_apply(dd_wtxn *txn, void *ud, dd_error *err)
{
	(void)txn;
	(void)ud;
	(void)err;
	atomic_store(&gate_entered, true);
	while (!atomic_load(&gate_open))
		nap();
	return DD_OK;
}

static void test_two_step_writes(void **state)
{
	fixture *f = *state;
	dd_error err;
	dd_writer *wr;
	assert_int_equal(dd_writer_start(&wr, f->store, &err), DD_OK);

	/* validation happens at prepare time: bad input never reaches the writer */
	Dealdesk__V1__Customer bad = DEALDESK__V1__CUSTOMER__INIT;
	bad.id = "";
	ProtobufCMessage *bad_items[] = { &bad.base };
	dd_admin_write *w;
	assert_int_equal(dd_admin_put_prepare(DD_ENTITY_CUSTOMER, bad_items, 1, "customers",
	                                      &f->arena, &w, &err), DD_EINVAL);
	assert_string_equal(err.msg, "customers[0].id: required");
	assert_int_equal(dd_policy_upload_prepare(3, "function nope() end", "a", "", 1, NULL,
	                                          &f->arena, &w, &err), DD_EINVAL);
	const char *empty_key[] = { "" };
	assert_int_equal(dd_admin_delete_prepare(DD_ENTITY_CUSTOMER, empty_key, &f->arena, &w,
	                                         &err), DD_EINVAL);

	/* one batch: three good writes and two the stored state refuses */
	Dealdesk__V1__Customer c[2] = { DEALDESK__V1__CUSTOMER__INIT, DEALDESK__V1__CUSTOMER__INIT };
	c[0].id = "one";
	c[1].id = "two";
	ProtobufCMessage *items[] = { &c[0].base, &c[1].base };
	const char *ghost[] = { "ghost" };
	const char *src = "function decide(ctx, c) return { outcome = 'REVIEW' } end";
	dd_admin_write *writes[5];
	assert_int_equal(dd_admin_put_prepare(DD_ENTITY_CUSTOMER, items, 2, "customers",
	                                      &f->arena, &writes[0], &err), DD_OK);
	assert_int_equal(dd_admin_delete_prepare(DD_ENTITY_CUSTOMER, ghost, &f->arena, &writes[1],
	                                         &err), DD_OK);
	assert_int_equal(dd_policy_upload_prepare(3, src, "alice", "", 10, NULL, &f->arena,
	                                          &writes[2], &err), DD_OK);
	assert_int_equal(dd_policy_review_prepare(3, 9, 2, "alice", "", 11, &f->arena, &writes[3],
	                                          &err), DD_OK);
	/* submits version 1, which writes[2] creates earlier in the same batch */
	assert_int_equal(dd_policy_review_prepare(3, 1, 2, "alice", "", 12, &f->arena, &writes[4],
	                                          &err), DD_OK);
	assert_int_equal(dd_admin_write_count(writes[0]), 2);
	assert_null(dd_admin_write_policy(writes[0]));

	dd_writer_job gate = { .apply = gate_apply };
	atomic_store(&gate_entered, false);
	atomic_store(&gate_open, false);
	assert_int_equal(dd_writer_submit(wr, &gate), DD_OK);
	while (!atomic_load(&gate_entered))
		nap();
	atomic_int finished = 0;
	admin_job jobs[5];
	for (int i = 0; i < 5; i++) {
		memset(&jobs[i], 0, sizeof(jobs[i]));
		jobs[i].w = writes[i];
		jobs[i].finished = &finished;
		jobs[i].job.apply = admin_apply;
		jobs[i].job.done = admin_done;
		jobs[i].job.ud = &jobs[i];
		assert_int_equal(dd_writer_submit(wr, &jobs[i].job), DD_OK);
	}
	atomic_store(&gate_open, true);
	while (atomic_load(&finished) < 5)
		nap();

	assert_int_equal(jobs[0].rc, DD_OK);
	assert_int_equal(jobs[0].version, 1);
	assert_int_equal(jobs[1].rc, DD_ENOTFOUND);
	assert_string_equal(jobs[1].msg, "customer 'ghost' not found");
	assert_int_equal(jobs[2].rc, DD_OK);
	assert_int_equal(jobs[2].version, 2);
	assert_int_equal(dd_admin_write_policy(writes[2])->version, 1);
	assert_int_equal(jobs[3].rc, DD_ENOTFOUND);
	assert_string_equal(jobs[3].msg, "credit policy version 9 not found");
	assert_int_equal(jobs[4].rc, DD_OK);
	assert_int_equal(jobs[4].version, 3);
	assert_int_equal(dd_admin_write_policy(writes[4])->status,
	                 DEALDESK__V1__POLICY_STATUS__POLICY_STATUS_PENDING_REVIEW);
	dd_writer_stats st;
	dd_writer_get_stats(wr, &st);
	assert_int_equal(st.batches, 2); /* the gate, then all five together */
	assert_int_equal(st.failed_jobs, 2);

	/* the one-call forms go through the attached writer too */
	const char *one[] = { "one" };
	uint64_t v = 0;
	assert_int_equal(dd_admin_delete(f->store, DD_ENTITY_CUSTOMER, one, &v, &err), DD_OK);
	assert_int_equal(v, 4);
	dd_writer_get_stats(wr, &st);
	assert_int_equal(st.jobs, 7);
	dd_writer_stop(wr);
	ProtobufCMessage *got;
	const char *two[] = { "two" };
	assert_int_equal(dd_admin_get(f->store, DD_ENTITY_CUSTOMER, two, &f->arena, &got, &err),
	                 DD_OK);
	assert_int_equal(dd_admin_get(f->store, DD_ENTITY_CUSTOMER, one, &f->arena, &got, &err),
	                 DD_ENOTFOUND);
}

/* Tokens: the secret is shown once and stored as a hash; lookup by the
 * secret gives name and role; a revoked or unknown token is DD_EUNAUTH. */
static void test_tokens(void **state)
{
	fixture *f = *state;
	dd_error err;
	char *secret = NULL, *other = NULL;
	assert_int_equal(dd_token_any(f->store), 0);
	assert_int_equal(dd_token_create(f->store, "ops", "admin", "local", 100, &f->arena,
	                                 &secret, &err), DD_OK);
	assert_int_equal(strncmp(secret, "ddt_", 4), 0);
	assert_int_equal(strlen(secret), 4 + 43);
	assert_int_equal(dd_token_create(f->store, "shop", "checkout", "token:ops", 101, &f->arena,
	                                 &other, &err), DD_OK);
	assert_string_not_equal(secret, other);
	assert_int_equal(dd_token_any(f->store), 1);
	/* names unique, roles and names checked */
	char *x;
	assert_int_equal(dd_token_create(f->store, "shop", "pricing", "", 1, &f->arena, &x, &err),
	                 DD_EEXIST);
	assert_int_equal(dd_token_create(f->store, "p", "root", "", 1, &f->arena, &x, &err),
	                 DD_EINVAL);
	assert_int_equal(dd_token_create(f->store, "a b", "admin", "", 1, &f->arena, &x, &err),
	                 DD_EINVAL);
	char longname[DD_MAX_ID];
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(dd_token_create(f->store, longname, "admin", "", 1, &f->arena, &x, &err),
	                 DD_EINVAL);
	longname[DD_TOKEN_NAME_MAX] = '\0';
	assert_int_equal(dd_token_create(f->store, longname, "admin", "", 1, &f->arena, &x, &err),
	                 DD_OK);
	dd_rtxn *r;
	char name[DD_MAX_ID + 1], role[16];
	assert_int_equal(dd_rtxn_new(f->store, &r), DD_OK);
	assert_int_equal(dd_rtxn_begin(r), DD_OK);
	assert_int_equal(dd_token_lookup(r, other, strlen(other), name, role, &err), DD_OK);
	assert_string_equal(name, "shop");
	assert_string_equal(role, "checkout");
	assert_int_equal(dd_token_lookup(r, other, strlen(other) - 1, name, role, &err), DD_EUNAUTH);
	assert_int_equal(dd_token_lookup(r, "", 0, name, role, &err), DD_EUNAUTH);
	dd_rtxn_end(r);
	/* listed without hashes */
	Dealdesk__V1__ApiToken **items;
	size_t n;
	assert_int_equal(dd_token_list(f->store, &f->arena, &items, &n, &err), DD_OK);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(items[i]->secret_sha256.len, 0);
	/* revoked */
	dd_admin_write *w;
	assert_int_equal(dd_token_revoke_prepare("shop", 200, &f->arena, &w, &err), DD_OK);
	assert_int_equal(dd_store_write(f->store, dd_admin_write_apply, w, NULL, &err), DD_OK);
	assert_true(dd_admin_write_token(w)->revoked);
	assert_int_equal(dd_token_revoke_prepare("nobody", 200, &f->arena, &w, &err), DD_OK);
	assert_int_equal(dd_store_write(f->store, dd_admin_write_apply, w, NULL, &err), DD_ENOTFOUND);
	assert_int_equal(dd_rtxn_begin(r), DD_OK);
	assert_int_equal(dd_token_lookup(r, other, strlen(other), name, role, &err), DD_EUNAUTH);
	assert_non_null(strstr(err.msg, "revoked"));
	assert_int_equal(dd_token_lookup(r, secret, strlen(secret), name, role, &err), DD_OK);
	dd_rtxn_end(r);
	dd_rtxn_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_condition_compiled_on_write),
		cmocka_unit_test_setup_teardown(test_crud_and_paging, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policy_lifecycle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shipped_policies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_step_writes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tokens, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
