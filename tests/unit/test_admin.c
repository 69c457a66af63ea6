/* Unit tests for src/admin: conditions compiled on write, CRUD with paging,
 * the policy lifecycle. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin_int.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_condition_compiled_on_write),
		cmocka_unit_test_setup_teardown(test_crud_and_paging, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policy_lifecycle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shipped_policies, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
