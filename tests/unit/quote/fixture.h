/* Shared fixture of the quote stage tests (tests/unit/quote/test_*.c): a
 * temporary LMDB store with the shipped policies installed, a quoter over
 * it, request builders, record writers and assertions. Everything is
 * static inline so each test file takes what it uses.
 *
 * The small catalogue most stage tests use (fx_catalog), all USD, half-up
 * rounding, one price list "usd":
 *
 *   sku  category  price   cost
 *   A    x         10.00   4.00
 *   B    x          5.00   2.00
 *   C    y          3.00   1.00
 *   D    z         20.00   8.00
 *   G    gift       7.00   3.00
 *
 * and customer "c1" (group retail, segment loyal, loyalty tier gold, 3
 * orders, last one 100 days before T0) with a USD credit line of
 * 10,000,000.00 in tier A. */
#ifndef DD_TEST_QUOTE_FIXTURE_H
#define DD_TEST_QUOTE_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dealdesk/admin.h"
#include "dealdesk/log.h"
#include "dealdesk/model.h"
#include "dealdesk/quote.h"
#include "dealdesk/store.h"

#define T0 1790000000
#define DAY 86400

#define KIND(k) DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_##k
#define OUTCOME(o) DEALDESK__V1__CREDIT_OUTCOME__CREDIT_OUTCOME_##o
#define STATUS(s) DEALDESK__V1__COMPLIANCE_STATUS__COMPLIANCE_STATUS_##s
#define HALF_UP DEALDESK__V1__ROUNDING_MODE__ROUNDING_MODE_HALF_UP

typedef struct fixture {
	char dir[64];
	dd_store *store;
	dd_quoter *q;
	dd_arena arena;   /* responses; reset by every quote */
	dd_arena scratch; /* records the tests build; lives as long as the fixture */
} fixture;

/* ---- setup ------------------------------------------------------------------ */

/* An empty store, with the shipped policies active (version 1 of each)
 * when `shipped`, and a quoter with `limits` (NULL = the defaults). */
static inline fixture *fx_open_store(const dd_quote_limits *limits, int shipped)
{
	fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	/* policies fail here on purpose, and each failure is logged: the
	 * assertions say what went wrong */
	dd_log_set_level(DD_LOG_OFF);
	snprintf(f->dir, sizeof(f->dir), "/tmp/dd-test-quote-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	dd_store_opts o = { .path = f->dir, .map_size = 64u << 20, .no_sync = 1 };
	dd_error err;
	if (dd_store_open(&f->store, &o, &err) != DD_OK)
		fail_msg("store: %s", err.msg);
	if (shipped && dd_policy_install_shipped(f->store, NULL, T0, &err) != DD_OK)
		fail_msg("shipped policies: %s", err.msg);
	if (dd_quoter_new(&f->q, f->store, limits, &err) != DD_OK)
		fail_msg("quoter: %s", err.msg);
	dd_arena_init(&f->arena, 0, 0);
	dd_arena_init(&f->scratch, 0, 0);
	return f;
}

static inline fixture *fx_open(const dd_quote_limits *limits)
{
	return fx_open_store(limits, 1);
}

static inline void fx_close(fixture *f)
{
	dd_arena_free(&f->arena);
	dd_arena_free(&f->scratch);
	dd_quoter_free(f->q);
	dd_store_close(f->store);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
}

static inline int fx_teardown(void **state)
{
	fx_close(*state);
	return 0;
}

/* ---- writing records ----------------------------------------------------------- */

static inline int fx_put_rc(fixture *f, dd_entity_kind kind, ProtobufCMessage *m, dd_error *err)
{
	ProtobufCMessage *items[] = { m };
	return dd_admin_put(f->store, kind, items, 1, "records", NULL, err);
}

static inline void fx_put(fixture *f, dd_entity_kind kind, ProtobufCMessage *m)
{
	dd_error err;
	if (fx_put_rc(f, kind, m, &err) != DD_OK)
		fail_msg("put: %s", err.msg);
}

static inline void fx_price_full(fixture *f, const char *list, const char *sku,
                                 const char *currency, const char *category, int64_t price,
                                 int64_t cost, int64_t floor, int64_t ceiling)
{
	Dealdesk__V1__PriceEntry e = DEALDESK__V1__PRICE_ENTRY__INIT;
	e.price_list_id = (char *)list;
	e.sku = (char *)sku;
	e.currency = (char *)currency;
	e.category = (char *)category;
	e.unit_price = price;
	e.unit_cost = cost;
	e.floor_price = floor;
	e.ceiling_price = ceiling;
	e.rounding = HALF_UP;
	fx_put(f, DD_ENTITY_PRICE, &e.base);
}

static inline void fx_price(fixture *f, const char *sku, const char *category, int64_t price,
                            int64_t cost)
{
	fx_price_full(f, "usd", sku, "USD", category, price, cost, 0, 0);
}

/* A customer with a credit profile in the fixture's scratch arena, for the
 * test to adjust and write with fx_put_customer. */
typedef struct fx_customer {
	Dealdesk__V1__Customer c;
	Dealdesk__V1__CreditProfile cr;
} fx_customer;

static inline void fx_customer_init(fx_customer *x, const char *id, const char *currency,
                                    const char *tier, int64_t limit)
{
	memset(x, 0, sizeof(*x));
	dealdesk__v1__customer__init(&x->c);
	dealdesk__v1__credit_profile__init(&x->cr);
	x->c.id = (char *)id;
	x->c.name = (char *)id;
	x->c.customer_group = "retail";
	x->cr.currency = (char *)currency;
	x->cr.tier = (char *)tier;
	x->cr.credit_limit = limit;
	x->cr.standard_terms_days = 30;
	x->c.credit = &x->cr;
}

static inline void fx_put_customer(fixture *f, fx_customer *x)
{
	fx_put(f, DD_ENTITY_CUSTOMER, &x->c.base);
}

static inline void fx_catalog(fixture *f)
{
	fx_price(f, "A", "x", 1000, 400);
	fx_price(f, "B", "x", 500, 200);
	fx_price(f, "C", "y", 300, 100);
	fx_price(f, "D", "z", 2000, 800);
	fx_price(f, "G", "gift", 700, 300);
	fx_customer c1;
	fx_customer_init(&c1, "c1", "USD", "A", 1000000000);
	c1.c.segment = "loyal";
	c1.c.loyalty_tier = "gold";
	c1.c.order_count = 3;
	c1.c.first_order_at = T0 - 400 * DAY;
	c1.c.last_order_at = T0 - 100 * DAY;
	fx_put_customer(f, &c1);
}

/* setup functions for cmocka */
static inline int fx_setup(void **state)
{
	fixture *f = fx_open(NULL);
	fx_catalog(f);
	*state = f;
	return 0;
}

static inline int fx_setup_demo(void **state)
{
	fixture *f = fx_open(NULL);
	dd_error err;
	if (dd_demo_seed(f->store, &err) != DD_OK)
		fail_msg("demo: %s", err.msg);
	*state = f;
	return 0;
}

/* A promotion, enabled, named after its id, for the test to complete. */
static inline Dealdesk__V1__Promotion fx_promo(const char *id, int kind)
{
	Dealdesk__V1__Promotion p = DEALDESK__V1__PROMOTION__INIT;
	p.id = (char *)id;
	p.name = (char *)id;
	p.kind = kind;
	p.enabled = 1;
	return p;
}

static inline void fx_put_promo(fixture *f, Dealdesk__V1__Promotion *p)
{
	fx_put(f, DD_ENTITY_PROMOTION, &p->base);
}

static inline void fx_delete_promo(fixture *f, const char *id)
{
	dd_error err;
	const char *key[] = { id };
	if (dd_admin_delete(f->store, DD_ENTITY_PROMOTION, key, NULL, &err) != DD_OK)
		fail_msg("delete %s: %s", id, err.msg);
}

/* Writes a promotion record past the admin layer's validation, as an older
 * writer or a restore could have left it; advances the promotions counter
 * so quoters convert it. */
static inline void fx_put_promo_raw(fixture *f, Dealdesk__V1__Promotion *p)
{
	size_t len = protobuf_c_message_get_packed_size(&p->base);
	uint8_t *buf = dd_arena_alloc(&f->scratch, len ? len : 1);
	assert_non_null(buf);
	protobuf_c_message_pack(&p->base, buf);
	dd_wtxn *txn;
	assert_int_equal(dd_wtxn_begin(f->store, &txn), DD_OK);
	assert_int_equal(dd_wtxn_put(txn, DD_T_PROMOTIONS, (dd_val){ p->id, strlen(p->id) },
	                             (dd_val){ buf, len }), DD_OK);
	uint64_t v = dd_wtxn_meta_u64(txn, DD_META_PROMOTIONS_VERSION);
	assert_int_equal(dd_wtxn_set_meta_u64(txn, DD_META_PROMOTIONS_VERSION, v + 1), DD_OK);
	assert_int_equal(dd_wtxn_commit(txn, NULL), DD_OK);
}

/* Writes a Usage counter as order commits will: kind "p" (promotion) or
 * "c" (coupon), overall (customer NULL) or per customer. */
static inline void fx_put_usage(fixture *f, const char *kind, const char *id,
                                const char *customer, int64_t uses, int64_t amount)
{
	Dealdesk__V1__Usage u = DEALDESK__V1__USAGE__INIT;
	u.uses = uses;
	u.amount = amount;
	uint8_t buf[64];
	size_t len = protobuf_c_message_pack(&u.base, buf);
	char key[256];
	int klen = customer ? dd_key_join(key, sizeof(key), 3, kind, id, customer)
	                    : dd_key_join(key, sizeof(key), 2, kind, id);
	assert_true(klen > 0);
	dd_wtxn *txn;
	assert_int_equal(dd_wtxn_begin(f->store, &txn), DD_OK);
	assert_int_equal(dd_wtxn_put(txn, DD_T_USAGE, (dd_val){ key, (size_t)klen },
	                             (dd_val){ buf, len }), DD_OK);
	assert_int_equal(dd_wtxn_commit(txn, NULL), DD_OK);
}

static inline void fx_coupon(fixture *f, const char *code, const char *promotion)
{
	Dealdesk__V1__Coupon c = DEALDESK__V1__COUPON__INIT;
	c.code = (char *)code;
	c.promotion_id = (char *)promotion;
	c.enabled = 1;
	fx_put(f, DD_ENTITY_COUPON, &c.base);
}

static inline void fx_check(fixture *f, const char *id, int kind, int32_t bps, int on_fail)
{
	Dealdesk__V1__ComplianceCheck c = DEALDESK__V1__COMPLIANCE_CHECK__INIT;
	c.id = (char *)id;
	c.kind = kind;
	c.bps = bps;
	c.on_fail = on_fail;
	c.enabled = 1;
	c.description = (char *)id;
	fx_put(f, DD_ENTITY_CHECK, &c.base);
}

/* ---- policies ---------------------------------------------------------------- */

/* Uploads and activates a policy of kind; returns its version. */
static inline uint64_t fx_activate(fixture *f, int kind, const char *src)
{
	dd_error err;
	dd_arena a;
	dd_arena_init(&a, 0, 0);
	Dealdesk__V1__PolicyScript *p;
	if (dd_policy_upload(f->store, kind, src, "tester", "", T0, NULL, &a, &p, &err) != DD_OK)
		fail_msg("upload: %s", err.msg);
	uint64_t v = p->version;
	if (dd_policy_activate(f->store, kind, v, "tester", 0, T0, &a, &p, &err) != DD_OK)
		fail_msg("activate: %s", err.msg);
	dd_arena_free(&a);
	return v;
}

/* The shipped source of kind with `from` replaced (once, must be there) by
 * `to`, in the scratch arena. */
static inline const char *fx_shipped_with(fixture *f, int kind, const char *from, const char *to)
{
	size_t len;
	const char *src = dd_policy_shipped_source(kind, &len);
	assert_non_null(src);
	const char *at = strstr(src, from);
	if (at == NULL)
		fail_msg("shipped %s policy has no '%s'", dd_policy_kind_name(kind), from);
	return dd_arena_printf(&f->scratch, "%.*s%s%s", (int)(at - src), src, to, at + strlen(from));
}

/* ---- requests ----------------------------------------------------------------- */

#define FX_MAX_LINES 16

typedef struct req_buf {
	Dealdesk__V1__QuoteRequest r;
	Dealdesk__V1__LineRequest l[FX_MAX_LINES];
	Dealdesk__V1__LineRequest *lp[FX_MAX_LINES];
	char *coupons[8];
	Dealdesk__V1__QuoteRequest__AttributesEntry a[8];
	Dealdesk__V1__QuoteRequest__AttributesEntry *ap[8];
} req_buf;

static inline void req_init(req_buf *b, const char *customer, const char *currency,
                            const char *channel)
{
	memset(b, 0, sizeof(*b));
	dealdesk__v1__quote_request__init(&b->r);
	b->r.customer_id = (char *)customer;
	b->r.currency = (char *)currency;
	b->r.channel = (char *)channel;
	b->r.request_time = T0;
	b->r.lines = b->lp;
	b->r.coupon_codes = b->coupons;
	b->r.attributes = b->ap;
}

static inline void req_line(req_buf *b, const char *sku, int64_t qty)
{
	assert_true(b->r.n_lines < FX_MAX_LINES);
	size_t i = b->r.n_lines++;
	dealdesk__v1__line_request__init(&b->l[i]);
	b->l[i].sku = (char *)sku;
	b->l[i].quantity = qty;
	b->lp[i] = &b->l[i];
}

static inline void req_coupon(req_buf *b, const char *code)
{
	assert_true(b->r.n_coupon_codes < 8);
	b->coupons[b->r.n_coupon_codes++] = (char *)code;
}

static inline void req_attr(req_buf *b, const char *key, const char *value)
{
	assert_true(b->r.n_attributes < 8);
	size_t i = b->r.n_attributes++;
	dealdesk__v1__quote_request__attributes_entry__init(&b->a[i]);
	b->a[i].key = (char *)key;
	b->a[i].value = (char *)value;
	b->ap[i] = &b->a[i];
}

/* A USD web request of customer c1, T0. */
static inline void req_c1(req_buf *b)
{
	req_init(b, "c1", "USD", "web");
}

/* Quotes b with `now` as the time of a request_time 0. */
static inline Dealdesk__V1__QuoteResponse *quote_at(fixture *f, req_buf *b, int64_t now)
{
	Dealdesk__V1__QuoteResponse *r = NULL;
	dd_error err;
	dd_arena_reset(&f->arena);
	int rc = dd_quote(f->q, &b->r, now, &f->arena, &r, &err);
	if (rc != DD_OK)
		fail_msg("quote failed (%d): %s", rc, err.msg);
	assert_non_null(r);
	return r;
}

static inline Dealdesk__V1__QuoteResponse *quote_ok(fixture *f, req_buf *b)
{
	return quote_at(f, b, T0);
}

/* Expects the quote to fail with a message containing want_msg (if not
 * NULL); returns the code. */
static inline int quote_err(fixture *f, req_buf *b, const char *want_msg)
{
	Dealdesk__V1__QuoteResponse *r = NULL;
	dd_error err;
	dd_arena_reset(&f->arena);
	int rc = dd_quote(f->q, &b->r, T0, &f->arena, &r, &err);
	if (rc == DD_OK)
		fail_msg("quote succeeded; wanted an error with '%s'", want_msg ? want_msg : "");
	if (want_msg && strstr(err.msg, want_msg) == NULL)
		fail_msg("error '%s' lacks '%s'", err.msg, want_msg);
	return rc;
}

/* ---- reading responses ------------------------------------------------------------ */

static inline int64_t discount_of(const Dealdesk__V1__QuoteLine *l, const char *promo)
{
	int64_t sum = 0;
	for (size_t i = 0; i < l->n_discounts; i++)
		if (promo == NULL || strcmp(l->discounts[i]->promotion_id, promo) == 0)
			sum += l->discounts[i]->amount;
	return sum;
}

/* The sum of promo's discounts over every line. */
static inline int64_t discount_total_of(const Dealdesk__V1__QuoteResponse *r, const char *promo)
{
	int64_t sum = 0;
	for (size_t i = 0; i < r->n_lines; i++)
		sum += discount_of(r->lines[i], promo);
	return sum;
}

static inline const Dealdesk__V1__AppliedDiscount *
order_discount(const Dealdesk__V1__QuoteResponse *r, const char *promo)
{
	for (size_t i = 0; i < r->n_order_discounts; i++)
		if (strcmp(r->order_discounts[i]->promotion_id, promo) == 0)
			return r->order_discounts[i];
	return NULL;
}

/* Every line sums up, no line below zero, the order sums its lines. */
static inline void assert_sums(const Dealdesk__V1__QuoteResponse *r)
{
	int64_t sub = 0, disc = 0, tot = 0;
	for (size_t i = 0; i < r->n_lines; i++) {
		const Dealdesk__V1__QuoteLine *l = r->lines[i];
		int64_t d = 0;
		for (size_t k = 0; k < l->n_discounts; k++)
			d += l->discounts[k]->amount;
		assert_int_equal(d, l->discount_total);
		assert_int_equal(l->line_subtotal - l->discount_total, l->line_total);
		assert_true(l->line_total >= 0);
		assert_int_equal(l->line_no, (int32_t)i);
		sub += l->line_subtotal;
		disc += l->discount_total;
		tot += l->line_total;
	}
	assert_int_equal(sub, r->subtotal);
	assert_int_equal(disc, r->discount_total);
	assert_int_equal(tot, r->total);
	assert_int_equal(r->subtotal - r->discount_total, r->total);
}

/* The code of promo's first note ("" when none). */
static inline const char *note_code(const Dealdesk__V1__QuoteResponse *r, const char *promo)
{
	for (size_t i = 0; i < r->n_promotion_notes; i++)
		if (!strcmp(r->promotion_notes[i]->promotion_id, promo))
			return r->promotion_notes[i]->code;
	return "";
}

static inline int has_note(const Dealdesk__V1__QuoteResponse *r, const char *promo,
                           const char *code)
{
	for (size_t i = 0; i < r->n_promotion_notes; i++)
		if (!strcmp(r->promotion_notes[i]->promotion_id, promo) &&
		    !strcmp(r->promotion_notes[i]->code, code))
			return 1;
	return 0;
}

/* The explain detail of promotions rule `rule` ("" applied or not), NULL
 * when it is not in the trace. */
static inline const Dealdesk__V1__TraceEntry *trace_of(const Dealdesk__V1__QuoteResponse *r,
                                                       const char *stage, const char *rule)
{
	for (size_t i = 0; i < r->n_trace; i++)
		if (!strcmp(r->trace[i]->stage, stage) && !strcmp(r->trace[i]->rule, rule))
			return r->trace[i];
	return NULL;
}

static inline const Dealdesk__V1__CouponResult *coupon_of(const Dealdesk__V1__QuoteResponse *r,
                                                          const char *code)
{
	for (size_t i = 0; i < r->n_coupons; i++)
		if (!strcmp(r->coupons[i]->code, code))
			return r->coupons[i];
	return NULL;
}

/* The result of check `id` for line_no (-1 = the order or a PASS), NULL
 * when none. */
static inline const Dealdesk__V1__ComplianceResult *
result_of(const Dealdesk__V1__QuoteResponse *r, const char *id, int32_t line_no)
{
	for (size_t i = 0; i < r->n_compliance; i++)
		if (!strcmp(r->compliance[i]->check_id, id) && r->compliance[i]->line_no == line_no)
			return r->compliance[i];
	return NULL;
}

static inline size_t results_of(const Dealdesk__V1__QuoteResponse *r, const char *id)
{
	size_t n = 0;
	for (size_t i = 0; i < r->n_compliance; i++)
		n += !strcmp(r->compliance[i]->check_id, id);
	return n;
}

static inline int starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

#define assert_prefix(s, prefix)                                                          \
	do {                                                                              \
		const char *s_ = (s);                                                     \
		if (!starts_with(s_, (prefix)))                                           \
			fail_msg("'%s' does not start with '%s'", s_, (prefix));         \
	} while (0)

#define assert_contains(s, part)                                                          \
	do {                                                                              \
		const char *s_ = (s);                                                     \
		if (strstr(s_, (part)) == NULL)                                           \
			fail_msg("'%s' does not contain '%s'", s_, (part));              \
	} while (0)

#endif
