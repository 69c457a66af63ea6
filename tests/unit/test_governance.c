/* Unit tests for the reviewed-rules lifecycle (src/admin/policy.c,
 * governance.c, diff.c) and the policy test library (src/policytest):
 * history of every transition, four eyes, rollback, comments, content
 * names, diffs, the compliance review of promotions, test blocks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dealdesk/governance.h"
#include "dealdesk/log.h"
#include "dealdesk/pbjson.h"
#include "dealdesk/policytest.h"
#include "dealdesk/quote.h"
#include "dealdesk/writer.h"

#define ST(x) DEALDESK__V1__POLICY_STATUS__POLICY_STATUS_##x
#define PR(x) DEALDESK__V1__PROMOTION_REVIEW__PROMOTION_REVIEW_##x

typedef struct fixture {
	char dir[64];
	dd_store *store;
	dd_arena arena;
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/dd-test-gov-XXXXXX");
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

/* A prepared write applied; the policy version it stored in *out. */
static int apply(fixture *f, int rc, dd_admin_write *w, Dealdesk__V1__PolicyScript **out,
                 dd_error *err)
{
	if (rc == DD_OK)
		rc = dd_store_write(f->store, dd_admin_write_apply, w, NULL, err);
	if (rc == DD_OK && out)
		*out = dd_admin_write_policy(w);
	return rc;
}

static Dealdesk__V1__PolicyScript *get(fixture *f, uint64_t version)
{
	Dealdesk__V1__PolicyScript *p = NULL;
	dd_error err;
	assert_int_equal(dd_policy_get(f->store, DD_POLICY_PRICING, version, &f->arena, &p, &err),
	                 DD_OK);
	return p;
}

static void assert_step(const Dealdesk__V1__PolicyTransition *t, const char *actor, int from,
                        int to, const char *comment)
{
	assert_string_equal(t->actor, actor);
	assert_int_equal(t->from, from);
	assert_int_equal(t->to, to);
	assert_string_equal(t->comment, comment);
}

static void test_lifecycle(void **state)
{
	fixture *f = *state;
	dd_error err;
	Dealdesk__V1__PolicyScript *p;
	dd_admin_write *w;
	assert_int_equal(dd_policy_install_shipped(f->store, NULL, 100, &err), DD_OK);
	size_t len;
	const char *shipped = dd_policy_shipped_source(DD_POLICY_PRICING, &len);
	char *v2src = malloc(len + 32), *v3src = malloc(len + 32);
	snprintf(v2src, len + 32, "-- v2\n%s", shipped);
	snprintf(v3src, len + 32, "-- v3\n%s", shipped);

	assert_int_equal(dd_policy_upload(f->store, DD_POLICY_PRICING, v2src, "alice", "faster",
	                                  200, NULL, &f->arena, &p, &err), DD_OK);
	assert_int_equal(p->version, 2);
	assert_int_equal(p->n_history, 1);
	assert_step(p->history[0], "alice", ST(UNSPECIFIED), ST(DRAFT), "faster");
	assert_int_equal(p->history[0]->at, 200);

	/* approve before submit: from the wrong state */
	assert_int_equal(dd_policy_review(f->store, DD_POLICY_PRICING, 2, ST(APPROVED), "bob", "",
	                                  210, &f->arena, &p, &err), DD_EPRECOND);
	assert_string_equal(err.msg, "version 2 is POLICY_STATUS_DRAFT; cannot move to "
	                             "POLICY_STATUS_APPROVED");
	int rc = dd_policy_submit_prepare(DD_POLICY_PRICING, 2, "alice", "ready", 3, 3, 220,
	                                  &f->arena, &w, &err);
	assert_int_equal(apply(f, rc, w, &p, &err), DD_OK);
	assert_int_equal(p->status, ST(PENDING_REVIEW));
	assert_int_equal(p->tests_run, 3);
	assert_int_equal(p->tests_passed, 3);
	/* four eyes */
	assert_int_equal(dd_policy_review(f->store, DD_POLICY_PRICING, 2, ST(APPROVED), "alice", "",
	                                  230, &f->arena, &p, &err), DD_EDENIED);
	assert_string_equal(err.msg, "actor: alice wrote pricing policy version 2 and cannot review "
	                             "it (approve); four eyes: another principal with the "
	                             "approving role must");
	assert_int_equal(get(f, 2)->status, ST(PENDING_REVIEW));
	assert_int_equal(dd_policy_review(f->store, DD_POLICY_PRICING, 2, ST(APPROVED), "bob", "ok",
	                                  240, &f->arena, &p, &err), DD_OK);
	assert_string_equal(p->reviewer, "bob");
	assert_int_equal(dd_policy_activate(f->store, DD_POLICY_PRICING, 2, "alice", 1, 250,
	                                    &f->arena, &p, &err), DD_OK);
	assert_int_equal(p->status, ST(ACTIVE));
	assert_int_equal(p->replaced_version, 1);
	assert_int_equal(p->n_history, 4);
	assert_step(p->history[1], "alice", ST(DRAFT), ST(PENDING_REVIEW), "ready");
	assert_step(p->history[2], "bob", ST(PENDING_REVIEW), ST(APPROVED), "ok");
	assert_step(p->history[3], "alice", ST(APPROVED), ST(ACTIVE), "");
	assert_int_equal(p->history[3]->at, 250);
	Dealdesk__V1__PolicyScript *v1 = get(f, 1);
	assert_int_equal(v1->status, ST(RETIRED));
	assert_step(v1->history[v1->n_history - 1], "alice", ST(ACTIVE), ST(RETIRED),
	            "replaced by version 2");

	/* v3, activated without review (require_approval off) */
	assert_int_equal(dd_policy_upload(f->store, DD_POLICY_PRICING, v3src, "alice", "", 300,
	                                  NULL, &f->arena, &p, &err), DD_OK);
	assert_int_equal(dd_policy_activate(f->store, DD_POLICY_PRICING, 3, "alice", 0, 310,
	                                    &f->arena, &p, &err), DD_OK);
	assert_int_equal(p->replaced_version, 2);

	/* rollback: one call per step back, down to the first */
	rc = dd_policy_rollback_prepare(DD_POLICY_PRICING, "ops", "", 400, &f->arena, &w, &err);
	assert_int_equal(apply(f, rc, w, &p, &err), DD_OK);
	assert_int_equal(p->version, 2);
	assert_int_equal(p->status, ST(ACTIVE));
	assert_int_equal(p->replaced_version, 1); /* kept: the next rollback goes to 1 */
	assert_step(p->history[p->n_history - 1], "ops", ST(RETIRED), ST(ACTIVE), "rollback");
	assert_int_equal(get(f, 0)->version, 2);
	assert_int_equal(get(f, 3)->status, ST(RETIRED));
	rc = dd_policy_rollback_prepare(DD_POLICY_PRICING, "ops", "again", 410, &f->arena, &w, &err);
	assert_int_equal(apply(f, rc, w, &p, &err), DD_OK);
	assert_int_equal(p->version, 1);
	rc = dd_policy_rollback_prepare(DD_POLICY_PRICING, "ops", "", 420, &f->arena, &w, &err);
	assert_int_equal(apply(f, rc, w, &p, &err), DD_EPRECOND);
	assert_string_equal(err.msg, "pricing policy version 1 replaced no earlier version; "
	                             "nothing to roll back to");
	assert_int_equal(get(f, 0)->version, 1);

	/* comments: in any state, the state unchanged */
	rc = dd_policy_comment_prepare(DD_POLICY_PRICING, 3, "carol", "why?", 500, &f->arena, &w,
	                               &err);
	assert_int_equal(apply(f, rc, w, &p, &err), DD_OK);
	assert_int_equal(p->status, ST(RETIRED));
	assert_int_equal(p->n_comments, 1);
	assert_string_equal(p->comments[0]->actor, "carol");
	assert_string_equal(p->comments[0]->text, "why?");
	assert_int_equal(p->comments[0]->at, 500);
	assert_int_equal(dd_policy_comment_prepare(DD_POLICY_PRICING, 0, "carol", "x", 500,
	                                           &f->arena, &w, &err), DD_EINVAL);
	assert_string_equal(err.msg, "version: required");
	assert_int_equal(dd_policy_comment_prepare(DD_POLICY_PRICING, 3, "carol", "", 500,
	                                           &f->arena, &w, &err), DD_EINVAL);
	rc = dd_policy_comment_prepare(DD_POLICY_PRICING, 99, "carol", "x", 500, &f->arena, &w,
	                               &err);
	assert_int_equal(apply(f, rc, w, &p, &err), DD_ENOTFOUND);

	/* content names */
	Dealdesk__V1__PolicyScript *v3 = get(f, 3);
	assert_int_equal(dd_policy_get_by_sha256(f->store, DD_POLICY_PRICING, v3->sha256, &f->arena,
	                                         &p, &err), DD_OK);
	assert_int_equal(p->version, 3);
	assert_int_equal(dd_policy_get_by_sha256(f->store, DD_POLICY_CREDIT, v3->sha256, &f->arena,
	                                         &p, &err), DD_ENOTFOUND);
	assert_int_equal(dd_policy_get_by_sha256(f->store, DD_POLICY_PRICING, "ABC", &f->arena, &p,
	                                         &err), DD_EINVAL);
	free(v2src);
	free(v3src);
}

static ProtobufCMessage *json_msg(const char *text, const ProtobufCMessageDescriptor *d)
{
	ProtobufCMessage *m = NULL;
	dd_error err;
	if (dd_pbjson_parse_message(text, strlen(text), d, &m, &err) != DD_OK)
		fail_msg("%s", err.msg);
	return m;
}

static uint64_t quoted_pricing_version(dd_quoter *q, const ProtobufCMessage *req)
{
	dd_arena a;
	dd_arena_init(&a, 0, 0);
	Dealdesk__V1__QuoteResponse *r = NULL;
	dd_error err;
	if (dd_quote(q, (const void *)req, 1790000000, &a, &r, &err) != DD_OK)
		fail_msg("%s", err.msg);
	uint64_t v = r->versions->pricing_policy;
	dd_arena_free(&a);
	return v;
}

/* A quoter picks up an activation and a rollback at its next quote: each
 * quote reads the active versions from the one snapshot it starts with. */
static void test_quoter_follows_activation(void **state)
{
	fixture *f = *state;
	dd_error err;
	assert_int_equal(dd_policy_install_shipped(f->store, NULL, 100, &err), DD_OK);
	ProtobufCMessage *price = json_msg(
		"{\"price_list_id\": \"usd\", \"sku\": \"A\", \"currency\": \"USD\", "
		"\"unit_price\": 1000, \"category\": \"x\", \"rounding\": \"HALF_UP\"}",
		&dealdesk__v1__price_entry__descriptor);
	ProtobufCMessage *cust = json_msg(
		"{\"id\": \"c1\", \"customer_group\": \"retail\", \"credit\": {\"currency\": "
		"\"USD\", \"credit_limit\": 100000000, \"tier\": \"A\", \"standard_terms_days\": 30}}",
		&dealdesk__v1__customer__descriptor);
	ProtobufCMessage *req = json_msg(
		"{\"customer_id\": \"c1\", \"currency\": \"USD\", \"channel\": \"web\", "
		"\"request_time\": 1790000000, \"lines\": [{\"sku\": \"A\", \"quantity\": 1}]}",
		&dealdesk__v1__quote_request__descriptor);
	assert_int_equal(dd_admin_put(f->store, DD_ENTITY_PRICE, &price, 1, "entries", NULL, &err),
	                 DD_OK);
	assert_int_equal(dd_admin_put(f->store, DD_ENTITY_CUSTOMER, &cust, 1, "customers", NULL,
	                              &err), DD_OK);
	dd_quoter *q;
	assert_int_equal(dd_quoter_new(&q, f->store, NULL, &err), DD_OK);
	assert_int_equal(quoted_pricing_version(q, req), 1);
	size_t len;
	const char *src = dd_policy_shipped_source(DD_POLICY_PRICING, &len);
	Dealdesk__V1__PolicyScript *p;
	assert_int_equal(dd_policy_upload(f->store, DD_POLICY_PRICING, src, "a", "", 1, NULL,
	                                  &f->arena, &p, &err), DD_OK);
	assert_int_equal(quoted_pricing_version(q, req), 1); /* uploaded is not active */
	assert_int_equal(dd_policy_activate(f->store, DD_POLICY_PRICING, 2, "a", 0, 2, &f->arena, &p,
	                                    &err), DD_OK);
	assert_int_equal(quoted_pricing_version(q, req), 2);
	dd_admin_write *w;
	int rc = dd_policy_rollback_prepare(DD_POLICY_PRICING, "ops", "", 3, &f->arena, &w, &err);
	assert_int_equal(apply(f, rc, w, &p, &err), DD_OK);
	assert_int_equal(quoted_pricing_version(q, req), 1);
	dd_quoter_free(q);
	protobuf_c_message_free_unpacked(price, NULL);
	protobuf_c_message_free_unpacked(cust, NULL);
	protobuf_c_message_free_unpacked(req, NULL);
}

static void assert_diff(const char *a, const char *b, const char *want)
{
	dd_arena arena;
	dd_arena_init(&arena, 0, 0);
	char *d = dd_text_diff("x", a, "y", b, &arena);
	assert_non_null(d);
	assert_string_equal(d, want);
	dd_arena_free(&arena);
}

static void test_diff(void **state)
{
	(void)state;
	assert_diff("a\nb\n", "a\nb\n", "");
	assert_diff("", "", "");
	assert_diff("a\nb\nc\n", "a\nB\nc\n", "--- x\n+++ y\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n");
	assert_diff("", "a\n", "--- x\n+++ y\n@@ -0,0 +1,1 @@\n+a\n");
	assert_diff("a\n", "", "--- x\n+++ y\n@@ -1,1 +0,0 @@\n-a\n");
	assert_diff("a\nb\n", "a\nx\nb\n", "--- x\n+++ y\n@@ -1,2 +1,3 @@\n a\n+x\n b\n");
	/* 20 lines: changes at lines 2 and 18 are two hunks, at 2 and 8 one */
	char a[128] = "", b1[128] = "", b2[128] = "";
	for (int i = 1; i <= 20; i++) {
		char l[8];
		snprintf(l, sizeof(l), "%d\n", i);
		strcat(a, l);
		strcat(b1, i == 2 ? "two\n" : i == 18 ? "eighteen\n" : l);
		strcat(b2, i == 2 ? "two\n" : i == 8 ? "eight\n" : l);
	}
	assert_diff(a, b1,
	            "--- x\n+++ y\n"
	            "@@ -1,5 +1,5 @@\n 1\n-2\n+two\n 3\n 4\n 5\n"
	            "@@ -15,6 +15,6 @@\n 15\n 16\n 17\n-18\n+eighteen\n 19\n 20\n");
	assert_diff(a, b2,
	            "--- x\n+++ y\n"
	            "@@ -1,11 +1,11 @@\n 1\n-2\n+two\n 3\n 4\n 5\n 6\n 7\n-8\n+eight\n 9\n 10\n 11\n");
	/* a last line without a newline is still a line */
	assert_diff("a\nb", "a\nc", "--- x\n+++ y\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n");
}

static void test_diff_of_versions(void **state)
{
	fixture *f = *state;
	dd_error err;
	Dealdesk__V1__PolicyScript *p1, *p2;
	const char *s1 = "function price(o)\n  return o\nend\n";
	const char *s2 = "function price(o)\n  return o -- same\nend\n";
	assert_int_equal(dd_policy_upload(f->store, DD_POLICY_PRICING, s1, "a", "", 1, NULL,
	                                  &f->arena, &p1, &err), DD_OK);
	assert_int_equal(dd_policy_upload(f->store, DD_POLICY_PRICING, s2, "a", "", 1, NULL,
	                                  &f->arena, &p2, &err), DD_OK);
	char *d, *sa, *sb;
	assert_int_equal(dd_policy_diff(f->store, DD_POLICY_PRICING, 1, 2, &f->arena, &d, &sa, &sb,
	                                &err), DD_OK);
	char want[512];
	snprintf(want, sizeof(want),
	         "--- pricing v1 %s\n+++ pricing v2 %s\n@@ -1,3 +1,3 @@\n function price(o)\n"
	         "-  return o\n+  return o -- same\n end\n", p1->sha256, p2->sha256);
	assert_string_equal(d, want);
	assert_string_equal(sa, p1->sha256);
	assert_int_equal(dd_policy_diff(f->store, DD_POLICY_PRICING, 0, 2, &f->arena, &d, &sa, &sb,
	                                &err), DD_EINVAL);
	assert_string_equal(err.msg, "from: a version >= 1 is required");
	assert_int_equal(dd_policy_diff(f->store, DD_POLICY_PRICING, 1, 7, &f->arena, &d, &sa, &sb,
	                                &err), DD_ENOTFOUND);
}

static void test_promotion_review(void **state)
{
	fixture *f = *state;
	dd_error err;
	Dealdesk__V1__Promotion c = DEALDESK__V1__PROMOTION__INIT, big = c, small = c;
	c.id = "COND";
	c.kind = DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_PERCENTAGE;
	c.percent_bps = 100;
	c.condition = "return true";
	c.review = PR(APPROVED); /* a client's claim */
	c.approved_by = "mallory";
	big = c;
	big.id = "BIG";
	big.condition = "";
	big.percent_bps = 3001;
	small = big;
	small.id = "SMALL";
	small.percent_bps = 3000;
	ProtobufCMessage *items[] = { &c.base, &big.base, &small.base };
	dd_promotion_review_mark(items, 3, "pricer", 3000);
	assert_int_equal(c.review, PR(PENDING));
	assert_string_equal(c.written_by, "pricer");
	assert_string_equal(c.approved_by, "");
	assert_int_equal(big.review, PR(PENDING));
	assert_int_equal(small.review, PR(NOT_REQUIRED));
	dd_promotion_review_mark(items, 3, "pricer", 0); /* conditions only */
	assert_int_equal(c.review, PR(PENDING));
	assert_int_equal(big.review, PR(NOT_REQUIRED));
	dd_promotion_review_mark(items, 3, "pricer", -1); /* no review */
	assert_int_equal(c.review, PR(NOT_REQUIRED));
	dd_promotion_review_mark(items, 3, "pricer", 3000);
	assert_int_equal(dd_admin_put(f->store, DD_ENTITY_PROMOTION, items, 3, "promotions", NULL,
	                              &err), DD_OK);

	dd_admin_write *w;
	int rc = dd_promotion_approve_prepare("COND", "pricer", "", 10, &f->arena, &w, &err);
	assert_int_equal(apply(f, rc, w, NULL, &err), DD_EDENIED);
	assert_string_equal(err.msg, "actor: pricer wrote promotion 'COND' and cannot approve it; "
	                             "four eyes: another principal with the compliance role must");
	rc = dd_promotion_approve_prepare("COND", "officer", "fine", 10, &f->arena, &w, &err);
	assert_int_equal(apply(f, rc, w, NULL, &err), DD_OK);
	Dealdesk__V1__Promotion *got = dd_promotion_write_result(w);
	assert_int_equal(got->review, PR(APPROVED));
	assert_string_equal(got->approved_by, "officer");
	assert_string_equal(got->approval_comment, "fine");
	assert_int_equal(got->approved_at, 10);
	assert_string_equal(got->written_by, "pricer");
	ProtobufCMessage *stored;
	const char *key[] = { "COND" };
	assert_int_equal(dd_admin_get(f->store, DD_ENTITY_PROMOTION, key, &f->arena, &stored, &err),
	                 DD_OK);
	assert_int_equal(((Dealdesk__V1__Promotion *)stored)->review, PR(APPROVED));
	rc = dd_promotion_approve_prepare("COND", "officer2", "", 11, &f->arena, &w, &err);
	assert_int_equal(apply(f, rc, w, NULL, &err), DD_EPRECOND);
	assert_string_equal(err.msg, "promotion 'COND' is already approved");
	rc = dd_promotion_approve_prepare("SMALL", "officer", "", 11, &f->arena, &w, &err);
	assert_int_equal(apply(f, rc, w, NULL, &err), DD_EPRECOND);
	assert_string_equal(err.msg, "promotion 'SMALL' needs no compliance approval");
	rc = dd_promotion_approve_prepare("NOPE", "officer", "", 11, &f->arena, &w, &err);
	assert_int_equal(apply(f, rc, w, NULL, &err), DD_ENOTFOUND);
	assert_int_equal(dd_promotion_approve_prepare("", "officer", "", 11, &f->arena, &w, &err),
	                 DD_EINVAL);
}

static void test_tests_block(void **state)
{
	(void)state;
	const char *json;
	size_t len;
	assert_int_equal(dd_policytest_extract("function price() end", &json, &len), DD_ENOTFOUND);
	assert_int_equal(dd_policytest_extract("--[=[dealdesk:tests [ ]", &json, &len), DD_EINVAL);
	const char *src = "x = 1\n--[=[dealdesk:tests\n[]\n]=]\n";
	assert_int_equal(dd_policytest_extract(src, &json, &len), DD_OK);
	assert_int_equal(len, 4);
	assert_memory_equal(json, "\n[]\n", 4);
	dd_policytest_result res;
	dd_error err;
	assert_int_equal(dd_policytest_run("[]", 2, DD_POLICY_PRICING, NULL, NULL, &res, &err), DD_OK);
	assert_int_equal(res.run, 0);
	assert_int_equal(dd_policytest_run("{\"cases\": []}", 13, DD_POLICY_PRICING, NULL, NULL,
	                                   &res, &err), DD_OK);
	assert_int_equal(dd_policytest_run("[", 1, DD_POLICY_PRICING, NULL, NULL, &res, &err),
	                 DD_EINVAL);
	assert_int_equal(dd_policytest_run("{}", 2, DD_POLICY_PRICING, NULL, NULL, &res, &err),
	                 DD_EINVAL);
	assert_string_equal(err.msg, "tests: expected an array of cases (or {\"cases\": [...]})");
	const char *one = "[{\"name\": \"n\", \"request\": {}}, 3]";
	assert_int_equal(dd_policytest_run(one, strlen(one), DD_POLICY_PRICING, NULL, NULL, &res,
	                                   &err), DD_OK);
	assert_int_equal(res.run, 2);
	assert_int_equal(res.passed, 0);
	assert_string_equal(res.first_failure, "case 'n': needs a request and an expect");
	/* a candidate that does not compile fails every case, naming why */
	const char *c = "[{\"name\": \"n\", \"request\": {}, \"expect\": {}}]";
	assert_int_equal(dd_policytest_run(c, strlen(c), DD_POLICY_PRICING, "function (", NULL,
	                                   &res, &err), DD_OK);
	assert_int_equal(res.passed, 0);
	assert_non_null(strstr(res.first_failure, "case 'n': the pricing policy under test: "));
}

/* A promotions policy that commits every candidate, in force or not: the
 * engine still takes nothing for a promotion awaiting approval. */
static void test_pending_promotion_never_committed(void **state)
{
	(void)state;
	const char *policy = "function apply(ctx, promotions)\n"
	                     "  for _, p in ipairs(promotions) do\n"
	                     "    local e = dd.promotion_effect(p)\n"
	                     "    if e then dd.promotion_commit(p, e, 1000000) end\n"
	                     "  end\n"
	                     "end\n";
	const char *cases =
		"[{\"name\": \"pending\", \"data\": {"
		"\"prices\": [{\"price_list_id\": \"usd\", \"sku\": \"A\", \"currency\": \"USD\", "
		"\"unit_price\": 1000, \"category\": \"x\", \"rounding\": \"HALF_UP\"}], "
		"\"customers\": [{\"id\": \"c1\", \"customer_group\": \"retail\", \"credit\": "
		"{\"currency\": \"USD\", \"credit_limit\": 100000000, \"tier\": \"A\", "
		"\"standard_terms_days\": 30}}], "
		"\"promotions\": [{\"id\": \"P\", \"kind\": \"PERCENTAGE\", \"percent_bps\": 1000, "
		"\"enabled\": true, \"review\": \"PROMOTION_REVIEW_%s\"}]}, "
		"\"request\": {\"customer_id\": \"c1\", \"currency\": \"USD\", \"channel\": \"web\", "
		"\"explain\": true, \"lines\": [{\"sku\": \"A\", \"quantity\": 1}]}, "
		"\"expect\": {\"total\": %d%s}}]";
	char text[2048];
	dd_policytest_result res;
	dd_error err;
	snprintf(text, sizeof(text), cases, "PENDING", 1000,
	         ", \"notes\": {\"P\": \"AWAITING_APPROVAL\"}");
	assert_int_equal(dd_policytest_run(text, strlen(text), DD_POLICY_PROMOTIONS, policy, NULL,
	                                   &res, &err), DD_OK);
	if (res.passed != 1)
		fail_msg("%s", res.first_failure);
	snprintf(text, sizeof(text), cases, "APPROVED", 900, "");
	assert_int_equal(dd_policytest_run(text, strlen(text), DD_POLICY_PROMOTIONS, policy, NULL,
	                                   &res, &err), DD_OK);
	if (res.passed != 1)
		fail_msg("%s", res.first_failure);
}

int main(void)
{
	dd_log_set_level(DD_LOG_OFF);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lifecycle, setup, teardown),
		cmocka_unit_test(test_diff),
		cmocka_unit_test_setup_teardown(test_diff_of_versions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_promotion_review, setup, teardown),
		cmocka_unit_test(test_tests_block),
		cmocka_unit_test_setup_teardown(test_quoter_follows_activation, setup, teardown),
		cmocka_unit_test(test_pending_promotion_never_committed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
