/* Unit tests for src/quote/commit.c and orders.c: commits prepared on a
 * quoter and applied in write transactions of their own, in-process, over
 * the demo dataset. The write of the second of two orders prepared against
 * the same last coupon use fails: the re-check inside the write. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dealdesk/admin.h"
#include "dealdesk/order.h"
#include "dealdesk/quote.h"
#include "dealdesk/store.h"
#include "dealdesk/writer.h"

#define T0 1790000000

typedef struct fixture {
	char dir[64];
	dd_store *store;
	dd_quoter *q;
	dd_arena arena;
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/dd-test-order-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	dd_store_opts o = { .path = f->dir, .map_size = 64u << 20, .no_sync = 1 };
	dd_error err;
	assert_int_equal(dd_store_open(&f->store, &o, &err), DD_OK);
	assert_int_equal(dd_policy_install_shipped(f->store, NULL, T0, &err), DD_OK);
	assert_int_equal(dd_demo_seed(f->store, &err), DD_OK);
	Dealdesk__V1__Coupon c = DEALDESK__V1__COUPON__INIT;
	c.code = "LAST1";
	c.promotion_id = "VIP-GADGET";
	c.enabled = 1;
	c.max_uses = 1;
	ProtobufCMessage *items[] = { &c.base };
	assert_int_equal(dd_admin_put(f->store, DD_ENTITY_COUPON, items, 1, "coupons", NULL, &err),
	                 DD_OK);
	assert_int_equal(dd_quoter_new(&f->q, f->store, NULL, &err), DD_OK);
	dd_arena_init(&f->arena, 0, 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	dd_arena_free(&f->arena);
	dd_quoter_free(f->q);
	dd_store_close(f->store);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

typedef struct commit_buf {
	Dealdesk__V1__CommitRequest c;
	Dealdesk__V1__QuoteRequest r;
	Dealdesk__V1__LineRequest l[2];
	Dealdesk__V1__LineRequest *lp[2];
	char *coupons[1];
} commit_buf;

static void commit_init(commit_buf *b, const char *id, const char *customer, int64_t gadgets,
                        const char *coupon)
{
	memset(b, 0, sizeof(*b));
	dealdesk__v1__commit_request__init(&b->c);
	dealdesk__v1__quote_request__init(&b->r);
	b->c.order_id = (char *)id;
	b->c.request = &b->r;
	b->r.customer_id = (char *)customer;
	b->r.currency = "USD";
	b->r.channel = "web";
	b->r.request_time = T0;
	dealdesk__v1__line_request__init(&b->l[0]);
	b->l[0].sku = "GADGET-2";
	b->l[0].quantity = gadgets;
	b->lp[0] = &b->l[0];
	b->r.lines = b->lp;
	b->r.n_lines = 1;
	if (coupon) {
		b->coupons[0] = (char *)coupon;
		b->r.coupon_codes = b->coupons;
		b->r.n_coupon_codes = 1;
	}
}

static int apply_fn(dd_wtxn *txn, void *ud, dd_error *err)
{
	return dd_order_write_apply(txn, ud, err);
}

static int apply(fixture *f, dd_order_write *w, dd_error *err)
{
	return dd_store_write(f->store, apply_fn, w, NULL, err);
}

static Dealdesk__V1__Order *result(fixture *f, dd_order_write *w)
{
	ProtobufCMessage *m = NULL;
	dd_error err;
	assert_int_equal(dd_order_write_message(w, &f->arena, &m, &err), DD_OK);
	return (Dealdesk__V1__Order *)m;
}

static void assert_verified(fixture *f)
{
	Dealdesk__V1__VerifyCountersResponse *v;
	dd_error err;
	assert_int_equal(dd_order_verify(f->store, &f->arena, &v, &err), DD_OK);
	for (size_t i = 0; i < v->n_differences; i++)
		print_message("difference: %s\n", v->differences[i]->counter);
	assert_int_equal(v->n_differences, 0);
}

/* Two orders quoted while one use is left: both quotes accept the code; the
 * first write takes the use, the second is refused inside its write. */
static void test_last_coupon_use(void **state)
{
	fixture *f = *state;
	commit_buf a, b;
	commit_init(&a, "o1", "acme", 1, "LAST1");
	commit_init(&b, "o2", "bolt", 1, "LAST1");
	dd_order_write *wa, *wb;
	dd_error err;
	assert_int_equal(dd_order_commit_prepare(f->q, &a.c, T0, &f->arena, &wa, &err), DD_OK);
	assert_int_equal(dd_order_commit_prepare(f->q, &b.c, T0, &f->arena, &wb, &err), DD_OK);
	assert_int_equal(apply(f, wa, &err), DD_OK);
	assert_int_equal(apply(f, wb, &err), DD_EPRECOND);
	assert_non_null(strstr(err.msg, "coupon 'LAST1'"));
	assert_non_null(strstr(err.msg, "retry"));
	Dealdesk__V1__Order *o = result(f, wa);
	assert_int_equal(o->n_coupons, 1);
	assert_string_equal(o->coupons[0], "LAST1");
	assert_int_equal(o->state, DEALDESK__V1__ORDER_STATE__ORDER_STATE_OPEN);
	/* the retry re-quotes: the code is refused, the order commits without it */
	assert_int_equal(dd_order_commit_prepare(f->q, &b.c, T0, &f->arena, &wb, &err), DD_OK);
	assert_int_equal(apply(f, wb, &err), DD_OK);
	assert_int_equal(result(f, wb)->n_coupons, 0);
	assert_verified(f);
	/* cancel gives the use back: a third order gets it */
	dd_order_write *wc;
	assert_int_equal(dd_order_change_prepare(DD_ORDER_CANCEL, "o1", "t", "", T0, &f->arena, &wc,
	                                         &err), DD_OK);
	assert_int_equal(apply(f, wc, &err), DD_OK);
	assert_int_equal(result(f, wc)->state, DEALDESK__V1__ORDER_STATE__ORDER_STATE_CANCELLED);
	commit_buf c;
	commit_init(&c, "o3", "acme", 1, "LAST1");
	assert_int_equal(dd_order_commit_prepare(f->q, &c.c, T0, &f->arena, &wc, &err), DD_OK);
	assert_int_equal(apply(f, wc, &err), DD_OK);
	assert_int_equal(result(f, wc)->n_coupons, 1);
	assert_verified(f);
}

/* Same id and request: the stored order, no write; another request: EEXIST;
 * a duplicate prepared before the first was written commits once. */
static void test_idempotent(void **state)
{
	fixture *f = *state;
	commit_buf a, a2, changed;
	commit_init(&a, "same", "acme", 2, NULL);
	commit_init(&a2, "same", "acme", 2, NULL);
	commit_init(&changed, "same", "acme", 3, NULL);
	dd_order_write *w1, *w2, *w3;
	dd_error err;
	assert_int_equal(dd_order_commit_prepare(f->q, &a.c, T0, &f->arena, &w1, &err), DD_OK);
	assert_int_equal(dd_order_commit_prepare(f->q, &a2.c, T0, &f->arena, &w2, &err), DD_OK);
	assert_int_equal(dd_order_write_needed(w2), 1);
	assert_int_equal(apply(f, w1, &err), DD_OK);
	assert_int_equal(apply(f, w2, &err), DD_OK); /* found the first: no second order */
	Dealdesk__V1__Order *o1 = result(f, w1), *o2 = result(f, w2);
	assert_string_equal(o1->quote->decision_id, o2->quote->decision_id);
	assert_int_equal(dd_order_commit_prepare(f->q, &a.c, T0 + 5, &f->arena, &w3, &err), DD_OK);
	assert_int_equal(dd_order_write_needed(w3), 0);
	assert_string_equal(result(f, w3)->quote->decision_id, o1->quote->decision_id);
	assert_int_equal(dd_order_commit_prepare(f->q, &changed.c, T0, &f->arena, &w3, &err),
	                 DD_EEXIST);
	/* the customer counted one order, the exposure one reservation */
	Dealdesk__V1__VerifyCountersResponse *v;
	assert_int_equal(dd_order_verify(f->store, &f->arena, &v, &err), DD_OK);
	assert_int_equal(v->orders, 1);
	assert_int_equal(v->n_differences, 0);
}

static void test_expected_total_and_bad_input(void **state)
{
	fixture *f = *state;
	commit_buf a;
	commit_init(&a, "t1", "acme", 1, NULL);
	a.c.has_expected_total = 1;
	a.c.expected_total = 1;
	dd_order_write *w;
	dd_error err;
	assert_int_equal(dd_order_commit_prepare(f->q, &a.c, T0, &f->arena, &w, &err), DD_EPRECOND);
	assert_non_null(strstr(err.msg, "not 1"));
	commit_init(&a, "", "acme", 1, NULL);
	assert_int_equal(dd_order_commit_prepare(f->q, &a.c, T0, &f->arena, &w, &err), DD_EINVAL);
	assert_string_equal(err.msg, "order_id: required");
	commit_init(&a, "t2", "acme", 1, NULL);
	a.r.order_id = "other";
	assert_int_equal(dd_order_commit_prepare(f->q, &a.c, T0, &f->arena, &w, &err), DD_EINVAL);
	commit_init(&a, "t3", "defaulter", 1, NULL);
	assert_int_equal(dd_order_commit_prepare(f->q, &a.c, T0, &f->arena, &w, &err), DD_EPRECOND);
	assert_non_null(strstr(err.msg, "credit DECLINE"));
	assert_int_equal(dd_order_payment_prepare("i", 0, 0, "p", T0, &f->arena, &w, &err), DD_EINVAL);
}

static void put_customer(fixture *f, const char *id, int64_t limit, const char *tier)
{
	Dealdesk__V1__Customer c = DEALDESK__V1__CUSTOMER__INIT;
	Dealdesk__V1__CreditProfile cr = DEALDESK__V1__CREDIT_PROFILE__INIT;
	c.id = (char *)id;
	c.customer_group = "retail";
	cr.currency = "USD";
	cr.credit_limit = limit;
	cr.standard_terms_days = 30;
	cr.tier = (char *)tier;
	c.credit = &cr;
	ProtobufCMessage *items[] = { &c.base };
	dd_error err;
	assert_int_equal(dd_admin_put(f->store, DD_ENTITY_CUSTOMER, items, 1, "c", NULL, &err), DD_OK);
}

static void put_tier(fixture *f, int32_t horizon_days)
{
	Dealdesk__V1__CreditTier t = DEALDESK__V1__CREDIT_TIER__INIT;
	t.name = "H";
	t.approve_bps = t.shorter_bps = t.deposit_bps = 10000;
	t.beyond = "DECLINE";
	t.review_overdue_days = 60;
	t.decline_overdue_days = 90;
	t.horizon_days = horizon_days;
	ProtobufCMessage *items[] = { &t.base };
	dd_error err;
	assert_int_equal(dd_admin_put(f->store, DD_ENTITY_CREDIT_TIER, items, 1, "tiers", NULL, &err),
	                 DD_OK);
}

static const Dealdesk__V1__CreditDecision *decide_at(fixture *f, commit_buf *b, int64_t t)
{
	b->r.request_time = t;
	Dealdesk__V1__QuoteResponse *r;
	dd_error err;
	assert_int_equal(dd_quote(f->q, &b->r, t, &f->arena, &r, &err), DD_OK);
	return r->credit;
}

/* SAP's dynamic check: with a horizon, an open order to be delivered after
 * it does not count toward the exposure; as time passes it comes inside;
 * cancelling it takes it out of the index for good. */
static void test_dynamic_horizon(void **state)
{
	fixture *f = *state;
	const int64_t day = 86400;
	put_tier(f, 30);
	put_customer(f, "later", INT64_C(100000000), "H");
	commit_buf a, b;
	commit_init(&a, "far", "later", 10, NULL);
	a.r.delivery_at = T0 + 60 * day;
	dd_order_write *w;
	dd_error err;
	assert_int_equal(dd_order_commit_prepare(f->q, &a.c, T0, &f->arena, &w, &err), DD_OK);
	assert_int_equal(apply(f, w, &err), DD_OK);
	Dealdesk__V1__Order *o = result(f, w);
	int64_t ta = o->total;
	assert_true(ta > 0);
	assert_int_equal(o->exposure, ta);
	assert_int_equal(o->delivery_at, T0 + 60 * day);
	/* the limit holds one such order, not two */
	put_customer(f, "later", ta + ta / 2, "H");
	commit_init(&b, "near", "later", 10, NULL);
	const Dealdesk__V1__CreditDecision *d = decide_at(f, &b, T0);
	assert_int_equal(d->outcome, DEALDESK__V1__CREDIT_OUTCOME__CREDIT_OUTCOME_APPROVE);
	assert_int_equal(d->exposure, ta); /* this order only */
	/* 40 days on, the far order is due within 30 days: it counts */
	d = decide_at(f, &b, T0 + 40 * day);
	assert_int_equal(d->outcome, DEALDESK__V1__CREDIT_OUTCOME__CREDIT_OUTCOME_DECLINE);
	assert_int_equal(d->exposure, 2 * ta);
	/* exactly at the edge (delivery = time + horizon) it counts; a second later not */
	d = decide_at(f, &b, T0 + 30 * day);
	assert_int_equal(d->exposure, 2 * ta);
	d = decide_at(f, &b, T0 + 30 * day - 1);
	assert_int_equal(d->exposure, ta);
	/* without a horizon (the static check) every open order counts */
	put_tier(f, 0);
	d = decide_at(f, &b, T0);
	assert_int_equal(d->exposure, 2 * ta);
	assert_int_equal(d->outcome, DEALDESK__V1__CREDIT_OUTCOME__CREDIT_OUTCOME_DECLINE);
	/* cancelled, the far order is gone from the count and from the index */
	put_tier(f, 30);
	assert_int_equal(dd_order_change_prepare(DD_ORDER_CANCEL, "far", "t", "", T0, &f->arena, &w,
	                                         &err), DD_OK);
	assert_int_equal(apply(f, w, &err), DD_OK);
	d = decide_at(f, &b, T0 + 40 * day);
	assert_int_equal(d->exposure, ta);
	assert_int_equal(d->outcome, DEALDESK__V1__CREDIT_OUTCOME__CREDIT_OUTCOME_APPROVE);
	/* a far order that is invoiced leaves the index too (its amount is a
	 * receivable now, counted whatever the horizon) */
	commit_init(&a, "far2", "later", 10, NULL);
	a.r.delivery_at = T0 + 90 * day;
	assert_int_equal(dd_order_commit_prepare(f->q, &a.c, T0, &f->arena, &w, &err), DD_OK);
	assert_int_equal(apply(f, w, &err), DD_OK);
	assert_int_equal(decide_at(f, &b, T0)->exposure, ta);
	assert_int_equal(dd_order_change_prepare(DD_ORDER_INVOICE, "far2", "t", "", T0, &f->arena, &w,
	                                         &err), DD_OK);
	assert_int_equal(apply(f, w, &err), DD_OK);
	assert_int_equal(decide_at(f, &b, T0)->exposure, 2 * ta);
	assert_verified(f);
	/* a negative delivery date is refused, naming the field */
	commit_init(&a, "neg", "later", 1, NULL);
	a.r.delivery_at = -1;
	assert_int_equal(dd_order_commit_prepare(f->q, &a.c, T0, &f->arena, &w, &err), DD_EINVAL);
	assert_string_equal(err.msg, "delivery_at: must be >= 0");
}

static size_t list_ids(fixture *f, const char *customer, int64_t from, int64_t to, uint32_t page,
                       char out[][16], size_t max)
{
	size_t n = 0;
	char token[64] = "";
	for (;;) {
		Dealdesk__V1__ListOrdersRequest q = DEALDESK__V1__LIST_ORDERS_REQUEST__INIT;
		Dealdesk__V1__PageRequest pr = DEALDESK__V1__PAGE_REQUEST__INIT;
		q.customer_id = (char *)customer;
		q.from_time = from;
		q.to_time = to;
		pr.page_size = page;
		pr.page_token = token;
		q.page = &pr;
		Dealdesk__V1__ListOrdersResponse *r;
		dd_error err;
		assert_int_equal(dd_order_list(f->store, &q, 0, &f->arena, &r, &err), DD_OK);
		for (size_t i = 0; i < r->n_orders && n < max; i++)
			snprintf(out[n++], 16, "%s", r->orders[i]->order_id);
		if (!*r->next_page_token)
			return n;
		snprintf(token, sizeof(token), "%s", r->next_page_token);
	}
}

static int drop_index(dd_wtxn *txn, void *ud, dd_error *err)
{
	(void)ud;
	(void)err;
	dd_wtxn_set_meta_u64(txn, DD_META_CUSTOMER_ORDERS, 0);
	const char *ids[] = { "k1", "k2", "k3" };
	for (int i = 0; i < 3; i++) {
		char k[64];
		/* bolt \0 T0 + i*100 (BE) \0 id */
		size_t cl = 4;
		memcpy(k, "bolt", cl);
		k[cl] = 0;
		uint64_t t = (uint64_t)(T0 + 100 * (3 - i));
		for (int b = 0; b < 8; b++)
			k[cl + 1 + b] = (char)(t >> (56 - 8 * b));
		k[cl + 9] = 0;
		memcpy(k + cl + 10, ids[i], 2);
		dd_wtxn_del(txn, DD_T_CUSTOMER_ORDERS, (dd_val){ k, cl + 12 });
	}
	return DD_OK;
}

/* ListOrders by customer reads the customer's index, in time order, paged;
 * a store whose orders predate the index is listed by a scan until the
 * next commit builds the index. */
static void test_list_by_customer(void **state)
{
	fixture *f = *state;
	/* bolt's orders at T0+300, +200, +100 (ids in the other order); one of acme's between */
	const char *ids[] = { "k1", "k2", "k3" };
	dd_order_write *w;
	dd_error err;
	for (int i = 0; i < 3; i++) {
		commit_buf b;
		commit_init(&b, ids[i], "bolt", 1, NULL);
		b.r.request_time = T0 + 100 * (3 - i);
		assert_int_equal(dd_order_commit_prepare(f->q, &b.c, T0, &f->arena, &w, &err), DD_OK);
		assert_int_equal(apply(f, w, &err), DD_OK);
	}
	commit_buf a;
	commit_init(&a, "k0", "acme", 1, NULL);
	a.r.request_time = T0 + 150;
	assert_int_equal(dd_order_commit_prepare(f->q, &a.c, T0, &f->arena, &w, &err), DD_OK);
	assert_int_equal(apply(f, w, &err), DD_OK);
	char got[8][16];
	assert_int_equal(list_ids(f, "bolt", 0, 0, 2, got, 8), 3);
	assert_string_equal(got[0], "k3");
	assert_string_equal(got[1], "k2");
	assert_string_equal(got[2], "k1");
	/* [T0+200, T0+300): k2 only */
	assert_int_equal(list_ids(f, "bolt", T0 + 200, T0 + 300, 1, got, 8), 1);
	assert_string_equal(got[0], "k2");
	assert_int_equal(list_ids(f, "acme", 0, 0, 10, got, 8), 1);
	assert_string_equal(got[0], "k0");
	assert_int_equal(list_ids(f, "nobody", 0, 0, 10, got, 8), 0);
	/* without the index (an older store): the scan lists the same orders */
	assert_int_equal(dd_store_write(f->store, drop_index, NULL, NULL, &err), DD_OK);
	assert_int_equal(list_ids(f, "bolt", 0, 0, 2, got, 8), 3);
	assert_string_equal(got[0], "k1"); /* in id order */
	/* the next commit rebuilds it: time order again, the new order too */
	commit_init(&a, "k9", "bolt", 1, NULL);
	a.r.request_time = T0 + 50;
	assert_int_equal(dd_order_commit_prepare(f->q, &a.c, T0, &f->arena, &w, &err), DD_OK);
	assert_int_equal(apply(f, w, &err), DD_OK);
	assert_int_equal(list_ids(f, "bolt", 0, 0, 3, got, 8), 4);
	assert_string_equal(got[0], "k9");
	assert_string_equal(got[1], "k3");
	assert_string_equal(got[3], "k1");
}

/* "customer \0 t (8 bytes BE) \0 id", the order indexes' key */
static size_t dated_key(char *key, const char *cust, int64_t t, const char *id)
{
	size_t cl = strlen(cust), il = strlen(id);
	memcpy(key, cust, cl);
	key[cl] = '\0';
	for (int b = 0; b < 8; b++)
		key[cl + 1 + b] = (char)((uint64_t)t >> (56 - 8 * b));
	key[cl + 9] = '\0';
	memcpy(key + cl + 10, id, il);
	return cl + 10 + il;
}

typedef struct tamper {
	const char *cust, *id;
	int64_t t;
	int table; /* dd_table */
	int op;    /* 0 delete, 1 put value */
	int64_t value;
} tamper;

static int tamper_fn(dd_wtxn *txn, void *ud, dd_error *err)
{
	(void)err;
	const tamper *x = ud;
	char key[256];
	size_t klen = dated_key(key, x->cust, x->t, x->id);
	if (x->op == 0)
		return dd_wtxn_del(txn, (dd_table)x->table, (dd_val){ key, klen });
	unsigned char v[8];
	for (int b = 0; b < 8; b++)
		v[b] = (unsigned char)((uint64_t)x->value >> (56 - 8 * b));
	return dd_wtxn_put(txn, (dd_table)x->table, (dd_val){ key, klen },
	                   (dd_val){ v, x->table == DD_T_OPEN_ORDERS ? 8 : 0 });
}

static const Dealdesk__V1__CounterDifference *difference(const Dealdesk__V1__VerifyCountersResponse *v,
                                                       const char *name)
{
	for (size_t i = 0; i < v->n_differences; i++)
		if (strcmp(v->differences[i]->counter, name) == 0)
			return v->differences[i];
	fail_msg("no difference named '%s'", name);
	return NULL;
}

/* VerifyCounters compares the order indexes with the orders too: an entry
 * missing, one too many, or an open order listed with another exposure,
 * each named with its order and customer. */
static void test_verify_order_indexes(void **state)
{
	fixture *f = *state;
	commit_buf a, b, c;
	commit_init(&a, "o1", "acme", 1, NULL);
	commit_init(&b, "o2", "acme", 2, NULL);
	commit_init(&c, "o3", "bolt", 1, NULL);
	dd_order_write *w;
	dd_error err;
	Dealdesk__V1__Order *o[3];
	commit_buf *bufs[] = { &a, &b, &c };
	for (int i = 0; i < 3; i++) {
		assert_int_equal(dd_order_commit_prepare(f->q, &bufs[i]->c, T0 + i, &f->arena, &w, &err),
		                 DD_OK);
		assert_int_equal(apply(f, w, &err), DD_OK);
		o[i] = result(f, w);
		assert_true(o[i]->exposure > 0);
	}
	/* o3 cancelled: no longer an open order, still a customer's order */
	assert_int_equal(dd_order_change_prepare(DD_ORDER_CANCEL, "o3", "t", "", T0 + 5, &f->arena,
	                                         &w, &err), DD_OK);
	assert_int_equal(apply(f, w, &err), DD_OK);
	Dealdesk__V1__VerifyCountersResponse *v;
	assert_int_equal(dd_order_verify(f->store, &f->arena, &v, &err), DD_OK);
	assert_int_equal(v->n_differences, 0);
	assert_int_equal(v->orders, 3);
	assert_int_equal(v->index_entries, 2 + 3); /* o1, o2 open; o1..o3 by customer */

	tamper t[] = {
		/* o1's open entry lost */
		{ "acme", "o1", o[0]->delivery_at, DD_T_OPEN_ORDERS, 0, 0 },
		/* o2 listed with 1 minor unit too much */
		{ "acme", "o2", o[1]->delivery_at, DD_T_OPEN_ORDERS, 1, o[1]->exposure + 1 },
		/* the cancelled o3 listed as open again */
		{ "bolt", "o3", o[2]->delivery_at, DD_T_OPEN_ORDERS, 1, 777 },
		/* o2 gone from its customer's orders, a ghost in them */
		{ "acme", "o2", o[1]->created_at, DD_T_CUSTOMER_ORDERS, 0, 0 },
		{ "acme", "ghost", T0, DD_T_CUSTOMER_ORDERS, 1, 0 },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		assert_int_equal(dd_store_write(f->store, tamper_fn, &t[i], NULL, &err), DD_OK);
	assert_int_equal(dd_order_verify(f->store, &f->arena, &v, &err), DD_OK);
	assert_int_equal(v->n_differences, 5);
	assert_int_equal(v->index_entries, 2 + 3);
	const Dealdesk__V1__CounterDifference *d = difference(v, "open order o1 customer acme");
	assert_int_equal(d->expected_uses, 1);
	assert_int_equal(d->expected_amount, o[0]->exposure);
	assert_int_equal(d->stored_uses, 0);
	assert_int_equal(d->stored_amount, 0);
	d = difference(v, "open order o2 customer acme");
	assert_int_equal(d->expected_uses, 1);
	assert_int_equal(d->expected_amount, o[1]->exposure);
	assert_int_equal(d->stored_uses, 1);
	assert_int_equal(d->stored_amount, o[1]->exposure + 1);
	d = difference(v, "open order o3 customer bolt");
	assert_int_equal(d->expected_uses, 0);
	assert_int_equal(d->stored_uses, 1);
	assert_int_equal(d->stored_amount, 777);
	d = difference(v, "customer order o2 customer acme");
	assert_int_equal(d->expected_uses, 1);
	assert_int_equal(d->stored_uses, 0);
	d = difference(v, "customer order ghost customer acme");
	assert_int_equal(d->expected_uses, 0);
	assert_int_equal(d->stored_uses, 1);
	/* the usage counters themselves were not touched */
	for (size_t i = 0; i < v->n_differences; i++)
		assert_true(strncmp(v->differences[i]->counter, "open order ", 11) == 0 ||
		            strncmp(v->differences[i]->counter, "customer order ", 15) == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_last_coupon_use, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idempotent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expected_total_and_bad_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dynamic_horizon, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_by_customer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify_order_indexes, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
