/* src/quote/load.c: stage 2, every store read of a quote: the customer,
 * each line's price entry (README "Price selection": scope, then quantity
 * tier, then priority, then the newest valid_from, then the first price
 * list id in key order), the active policies, the candidate promotions
 * and the coupon codes. */
#include "fixture.h"

static void entry(fixture *f, const char *list, const char *sku, int64_t price,
                  void (*adjust)(Dealdesk__V1__PriceEntry *e, void *ud), void *ud)
{
	Dealdesk__V1__PriceEntry e = DEALDESK__V1__PRICE_ENTRY__INIT;
	e.price_list_id = (char *)list;
	e.sku = (char *)sku;
	e.currency = "USD";
	e.category = "s";
	e.unit_price = price;
	e.rounding = HALF_UP;
	if (adjust)
		adjust(&e, ud);
	fx_put(f, DD_ENTITY_PRICE, &e.base);
}

static void scope_channel(Dealdesk__V1__PriceEntry *e, void *ud) { e->channel = ud; }
static void scope_region(Dealdesk__V1__PriceEntry *e, void *ud) { e->region = ud; }
static void scope_group(Dealdesk__V1__PriceEntry *e, void *ud) { e->customer_group = ud; }
static void scope_web_eu(Dealdesk__V1__PriceEntry *e, void *ud)
{
	(void)ud;
	e->channel = "web";
	e->region = "eu";
}
static void tier(Dealdesk__V1__PriceEntry *e, void *ud) { e->min_quantity = *(int64_t *)ud; }
static void tier_web(Dealdesk__V1__PriceEntry *e, void *ud)
{
	(void)ud;
	e->channel = "web";
}
static void priority(Dealdesk__V1__PriceEntry *e, void *ud) { e->priority = *(int32_t *)ud; }
static void from(Dealdesk__V1__PriceEntry *e, void *ud) { e->valid_from = *(int64_t *)ud; }
static void until(Dealdesk__V1__PriceEntry *e, void *ud)
{
	e->valid_to = *(int64_t *)ud;
	e->priority = 9;
}

static const Dealdesk__V1__QuoteLine *quote_one(fixture *f, const char *customer,
                                                const char *channel, const char *region,
                                                const char *sku, int64_t qty, int64_t time)
{
	req_buf b;
	req_init(&b, customer, "USD", channel);
	b.r.region = (char *)region;
	b.r.request_time = time;
	req_line(&b, sku, qty);
	return quote_ok(f, &b)->lines[0];
}

#define assert_pick(l, list, price)                                  \
	do {                                                         \
		assert_string_equal((l)->price_list_id, (list));     \
		assert_int_equal((l)->unit_list_price, (price));     \
	} while (0)

static void test_scope_precedence(void **state)
{
	fixture *f = *state;
	fx_customer wh;
	fx_customer_init(&wh, "wh", "USD", "A", 1000000000);
	wh.c.customer_group = "wholesale";
	fx_put_customer(f, &wh);
	entry(f, "p-any", "S", 1000, NULL, NULL);
	entry(f, "p-eu", "S", 990, scope_region, "eu");
	entry(f, "p-web", "S", 980, scope_channel, "web");
	entry(f, "p-web-eu", "S", 970, scope_web_eu, NULL);
	entry(f, "p-retail", "S", 960, scope_group, "retail");
	/* customer group 4 beats channel 2 + region 1 */
	assert_pick(quote_one(f, "c1", "web", "eu", "S", 1, T0), "p-retail", 960);
	/* wholesale: p-retail is out of scope; channel + region (3) wins */
	assert_pick(quote_one(f, "wh", "web", "eu", "S", 1, T0), "p-web-eu", 970);
	/* channel (2) beats region (1) */
	assert_pick(quote_one(f, "wh", "web", "us", "S", 1, T0), "p-web", 980);
	assert_pick(quote_one(f, "wh", "store", "eu", "S", 1, T0), "p-eu", 990);
	/* nothing scoped matches: the unscoped entry */
	assert_pick(quote_one(f, "wh", "store", "", "S", 1, T0), "p-any", 1000);
	/* the shipped pricing policy then gives wholesale its member price:
	 * 10 % of 10.00 = 1.00 -> 9.00 */
	const Dealdesk__V1__QuoteLine *l = quote_one(f, "wh", "", "", "S", 1, T0);
	assert_int_equal(l->unit_list_price, 1000);
	assert_int_equal(l->unit_price, 900);
}

static void test_quantity_tiers(void **state)
{
	fixture *f = *state;
	int64_t t10 = 10, t50 = 50;
	entry(f, "t-base", "T", 1000, NULL, NULL);
	entry(f, "t-10", "T", 900, tier, &t10);
	entry(f, "t-50", "T", 800, tier, &t50);
	const Dealdesk__V1__QuoteLine *l = quote_one(f, "c1", "store", "", "T", 9, T0);
	assert_pick(l, "t-base", 1000);
	assert_int_equal(l->price_tier, 1);
	l = quote_one(f, "c1", "store", "", "T", 10, T0); /* exactly the tier */
	assert_pick(l, "t-10", 900);
	assert_int_equal(l->price_tier, 10);
	assert_int_equal(l->line_subtotal, 9000);
	l = quote_one(f, "c1", "store", "", "T", 60, T0);
	assert_pick(l, "t-50", 800);
	assert_int_equal(l->price_tier, 50);
	/* scope comes before the tier: a web entry without a tier wins on the
	 * web even for 60 units */
	entry(f, "t-web", "T", 950, tier_web, NULL);
	l = quote_one(f, "c1", "web", "", "T", 60, T0);
	assert_pick(l, "t-web", 950);
	assert_int_equal(l->price_tier, 1);
}

static void test_priority_validity_and_key_order(void **state)
{
	fixture *f = *state;
	int32_t lo = 1, hi = 5;
	entry(f, "p-lo", "P", 1000, priority, &lo);
	entry(f, "p-hi", "P", 900, priority, &hi);
	assert_pick(quote_one(f, "c1", "web", "", "P", 1, T0), "p-hi", 900);

	int64_t old = T0 - 10 * DAY, recent = T0 - DAY, soon = T0 + 3600, end = T0;
	entry(f, "v-old", "V", 1000, from, &old);
	entry(f, "v-new", "V", 950, from, &recent);
	entry(f, "v-future", "V", 800, from, &soon);
	entry(f, "v-ended", "V", 700, until, &end); /* priority 9 while valid */
	/* at T0 - 1 every entry but v-future is valid: v-ended by priority */
	assert_pick(quote_one(f, "c1", "web", "", "V", 1, T0 - 1), "v-ended", 700);
	/* valid_to is exclusive: at T0 v-ended is over; the newest valid_from */
	assert_pick(quote_one(f, "c1", "web", "", "V", 1, T0), "v-new", 950);
	assert_pick(quote_one(f, "c1", "web", "", "V", 1, T0 + 3599), "v-new", 950);
	/* a scheduled price takes effect at its start, with no write then */
	assert_pick(quote_one(f, "c1", "web", "", "V", 1, T0 + 3600), "v-future", 800);
	/* request_time 0: the time the caller gives dd_quote */
	req_buf b;
	req_c1(&b);
	b.r.request_time = 0;
	req_line(&b, "V", 1);
	Dealdesk__V1__QuoteResponse *r = quote_at(f, &b, T0 + 7200);
	assert_pick(r->lines[0], "v-future", 800);
	assert_int_equal(r->request_time, T0 + 7200);

	/* all else equal: the first price list id in key order */
	entry(f, "beta", "K", 1000, NULL, NULL);
	entry(f, "alpha", "K", 1100, NULL, NULL);
	assert_pick(quote_one(f, "c1", "web", "", "K", 1, T0), "alpha", 1100);
}

static void test_not_found(void **state)
{
	fixture *f = *state;
	req_buf b;
	req_init(&b, "nobody", "USD", "web");
	req_line(&b, "A", 1);
	assert_int_equal(quote_err(f, &b, "customer_id: customer 'nobody' not found"), DD_ENOTFOUND);

	req_c1(&b);
	req_line(&b, "A", 1);
	req_line(&b, "NOPE", 1);
	assert_int_equal(quote_err(f, &b, "lines[1].sku: unknown SKU 'NOPE'"), DD_ENOTFOUND);

	fx_price_full(f, "eur", "E", "EUR", "x", 1000, 0, 0, 0);
	req_c1(&b);
	req_line(&b, "E", 1);
	assert_int_equal(quote_err(f, &b, "lines[0].sku: no price list has 'E' in currency USD"),
	                 DD_ENOTFOUND);

	/* entries in the currency, none for this channel or this time */
	entry(f, "store-only", "W", 1000, scope_channel, "store");
	int64_t soon = T0 + DAY;
	entry(f, "later", "W", 900, from, &soon);
	req_c1(&b);
	req_line(&b, "W", 1);
	assert_int_equal(quote_err(f, &b, "lines[0].sku: no price for 'W' in USD for channel "
	                                  "'web' at this time"),
	                 DD_ENOTFOUND);
	b.r.request_time = T0 + DAY;
	assert_pick(quote_ok(f, &b)->lines[0], "later", 900);
}

static void test_overflow(void **state)
{
	fixture *f = *state;
	entry(f, "huge", "YACHT", INT64_MAX / 2, NULL, NULL);
	req_buf b;
	req_c1(&b);
	req_line(&b, "YACHT", 3);
	assert_int_equal(quote_err(f, &b, "lines[0].quantity: 3 x 4611686018427387903 overflows int64"),
	                 DD_EOVERFLOW);
	/* two lines that fit alone but not together */
	b.l[0].quantity = 1;
	req_line(&b, "YACHT", 2);
	assert_int_equal(quote_err(f, &b, "lines[1]: the order amount overflows int64"),
	                 DD_EOVERFLOW);
}

static int setup_no_policies(void **state)
{
	fixture *f = fx_open_store(NULL, 0);
	fx_catalog(f);
	*state = f;
	return 0;
}

static void test_active_policies_required(void **state)
{
	fixture *f = *state;
	req_buf b;
	req_c1(&b);
	req_line(&b, "A", 1);
	assert_int_equal(quote_err(f, &b, "no active pricing policy"), DD_EPRECOND);
	size_t len;
	fx_activate(f, DD_POLICY_PRICING, dd_policy_shipped_source(DD_POLICY_PRICING, &len));
	fx_activate(f, DD_POLICY_PROMOTIONS, dd_policy_shipped_source(DD_POLICY_PROMOTIONS, &len));
	assert_int_equal(quote_err(f, &b, "no active credit policy"), DD_EPRECOND);
	fx_activate(f, DD_POLICY_CREDIT, dd_policy_shipped_source(DD_POLICY_CREDIT, &len));
	assert_int_equal(quote_err(f, &b, "no active compliance policy"), DD_EPRECOND);
	fx_activate(f, DD_POLICY_COMPLIANCE, "function check(ctx, checks) return nil end");
	Dealdesk__V1__QuoteResponse *r = quote_ok(f, &b);
	assert_int_equal(r->total, 1000);
	assert_int_equal(r->versions->compliance_policy, 1);
}

/* Every write moves the data version; the quoter sees the new records
 * (and policies) at once and reports the versions it used. */
static void test_data_and_policy_versions(void **state)
{
	fixture *f = *state;
	req_buf b;
	req_c1(&b);
	req_line(&b, "A", 1);
	Dealdesk__V1__QuoteResponse *r = quote_ok(f, &b);
	uint64_t before = r->versions->data_version;
	assert_true(before > 0);
	assert_int_equal(r->lines[0]->unit_list_price, 1000);
	Dealdesk__V1__PriceEntry e = DEALDESK__V1__PRICE_ENTRY__INIT;
	e.price_list_id = "usd";
	e.sku = "A";
	e.currency = "USD";
	e.category = "x";
	e.unit_price = 1200;
	ProtobufCMessage *items[] = { &e.base };
	uint64_t version;
	dd_error err;
	assert_int_equal(dd_admin_put(f->store, DD_ENTITY_PRICE, items, 1, "e", &version, &err), DD_OK);
	assert_int_equal(version, before + 1);
	r = quote_ok(f, &b);
	assert_int_equal(r->versions->data_version, version);
	assert_int_equal(r->lines[0]->unit_list_price, 1200);
	assert_int_equal(r->versions->pricing_policy, 1);
	assert_int_equal(r->versions->promotions_policy, 1);
	fx_activate(f, DD_POLICY_PRICING,
	            "function price(ctx) return { { unit_price = 1, reason = 'v2' } } end");
	r = quote_ok(f, &b);
	assert_int_equal(r->versions->pricing_policy, 2);
	assert_int_equal(r->lines[0]->unit_price, 1);
	assert_true(r->versions->data_version > version); /* the activation wrote too */
}

/* The candidates the promotions policy gets, by a policy that lists them. */
static const char *const list_policy =
	"function apply(ctx, promotions)\n"
	"  local ids = {}\n"
	"  for i = 1, #promotions do ids[#ids + 1] = promotions[i].id end\n"
	"  return { notes = { { promotion = 'LIST', code = 'IDS',\n"
	"                       message = table.concat(ids, ',') } } }\n"
	"end\n";

static const char *candidates(fixture *f, req_buf *b)
{
	Dealdesk__V1__QuoteResponse *r = quote_ok(f, b);
	assert_int_equal(r->n_promotion_notes, 1);
	return r->promotion_notes[0]->message;
}

static void test_candidate_promotions(void **state)
{
	fixture *f = *state;
	static char *sku_a[] = { "A" }, *sku_z[] = { "Z" }, *cat_x[] = { "x" },
		    *store[] = { "store" };
	Dealdesk__V1__BundleItem i1 = DEALDESK__V1__BUNDLE_ITEM__INIT,
				 i2 = DEALDESK__V1__BUNDLE_ITEM__INIT;
	i1.sku = "A";
	i1.quantity = 1;
	i2.sku = "C";
	i2.quantity = 1;
	Dealdesk__V1__BundleItem *items[] = { &i1, &i2 };
	Dealdesk__V1__Promotion p;

	p = fx_promo("G1", KIND(PERCENTAGE)); /* untargeted: always a candidate */
	p.percent_bps = 100;
	p.priority = 5;
	fx_put_promo(f, &p);
	p = fx_promo("SA", KIND(PERCENTAGE));
	p.percent_bps = 100;
	p.skus = sku_a;
	p.n_skus = 1;
	p.priority = 1;
	fx_put_promo(f, &p);
	p = fx_promo("SZ", KIND(PERCENTAGE)); /* its SKU is not in the cart */
	p.percent_bps = 100;
	p.skus = sku_z;
	p.n_skus = 1;
	p.priority = 4;
	fx_put_promo(f, &p);
	p = fx_promo("CX", KIND(PERCENTAGE));
	p.percent_bps = 100;
	p.categories = cat_x;
	p.n_categories = 1;
	p.priority = 3;
	fx_put_promo(f, &p);
	p = fx_promo("BUN", KIND(BUNDLE)); /* reached through its items' SKUs */
	p.bundle_items = items;
	p.n_bundle_items = 2;
	p.bundle_price = 100;
	p.currency = "USD";
	p.priority = 2;
	fx_put_promo(f, &p);
	/* ruled out by data alone when nobody reads reasons */
	p = fx_promo("OFF", KIND(PERCENTAGE));
	p.percent_bps = 100;
	p.skus = sku_a;
	p.n_skus = 1;
	p.enabled = 0;
	fx_put_promo(f, &p);
	p = fx_promo("EUR", KIND(FIXED_AMOUNT));
	p.amount = 100;
	p.currency = "EUR";
	p.skus = sku_a;
	p.n_skus = 1;
	fx_put_promo(f, &p);
	p = fx_promo("STORE", KIND(PERCENTAGE));
	p.percent_bps = 100;
	p.skus = sku_a;
	p.n_skus = 1;
	p.channels = store;
	p.n_channels = 1;
	fx_put_promo(f, &p);
	p = fx_promo("LATER", KIND(PERCENTAGE));
	p.percent_bps = 100;
	p.skus = sku_a;
	p.n_skus = 1;
	p.valid_from = T0 + 1;
	fx_put_promo(f, &p);
	/* behind a code: reached through the code entered */
	p = fx_promo("CODE", KIND(PERCENTAGE));
	p.percent_bps = 100;
	p.coupon_code = "SAVE";
	fx_put_promo(f, &p);
	p = fx_promo("REQ", KIND(PERCENTAGE));
	p.percent_bps = 100;
	p.skus = sku_z;
	p.n_skus = 1;
	p.requires_coupon = 1;
	fx_put_promo(f, &p);
	fx_coupon(f, "VIP", "REQ");
	fx_activate(f, DD_POLICY_PROMOTIONS, list_policy);

	req_buf b;
	req_c1(&b);
	req_line(&b, "A", 1);
	/* in priority order, then id */
	assert_string_equal(candidates(f, &b), "SA,BUN,CX,G1");
	/* with a code entered every reason is read: nothing is prefiltered,
	 * and the code's promotion joins */
	req_coupon(&b, "SAVE");
	assert_string_equal(candidates(f, &b), "CODE,EUR,LATER,OFF,STORE,SA,BUN,CX,G1");
	/* a Coupon record brings its promotion, whatever it targets */
	b.coupons[0] = "VIP";
	assert_string_equal(candidates(f, &b), "EUR,LATER,OFF,REQ,STORE,SA,BUN,CX,G1");
	/* with explain every promotion is there, for the trace's reasons */
	b.r.n_coupon_codes = 0;
	b.r.explain = 1;
	assert_string_equal(candidates(f, &b), "CODE,EUR,LATER,OFF,REQ,STORE,SA,BUN,CX,SZ,G1");
	/* a cart of C reaches the bundle through its other item */
	req_c1(&b);
	req_line(&b, "C", 1);
	assert_string_equal(candidates(f, &b), "BUN,G1");
}

/* Each code is looked up once: the record, its usage counters, and why it
 * is not valid now (first reason in this order: disabled, not started,
 * expired, another customer's, used up, used up by this customer). */
static void test_coupon_records(void **state)
{
	fixture *f = *state;
	static char *sku_a[] = { "A" };
	Dealdesk__V1__Promotion p = fx_promo("CP", KIND(FIXED_AMOUNT));
	p.amount = 100;
	p.currency = "USD";
	p.skus = sku_a;
	p.n_skus = 1;
	p.requires_coupon = 1;
	fx_put_promo(f, &p);
	struct {
		const char *code;
		int enabled;
		int64_t from, to, max, max_customer;
		const char *customer;
	} cs[] = {
		{ "OK", 1, 0, 0, 0, 0, "" },
		{ "OFF", 0, 0, 0, 0, 0, "" },
		{ "OFF-OLD", 0, 0, T0, 0, 0, "" },
		{ "SOON", 1, T0 + 1, 0, 0, 0, "" },
		{ "OLD", 1, 0, T0, 0, 0, "" },
		{ "MINE", 1, 0, 0, 0, 0, "c1" },
		{ "OTHERS", 1, 0, 0, 0, 0, "c2" },
		{ "USED", 1, 0, 0, 2, 0, "" },
		{ "MYUSED", 1, 0, 0, 0, 1, "" },
		{ "ROOM", 1, 0, 0, 3, 2, "" },
	};
	for (size_t i = 0; i < sizeof(cs) / sizeof(cs[0]); i++) {
		Dealdesk__V1__Coupon c = DEALDESK__V1__COUPON__INIT;
		c.code = (char *)cs[i].code;
		c.promotion_id = "CP";
		c.enabled = cs[i].enabled;
		c.valid_from = cs[i].from;
		c.valid_to = cs[i].to;
		c.max_uses = cs[i].max;
		c.max_uses_per_customer = cs[i].max_customer;
		c.customer_id = (char *)cs[i].customer;
		fx_put(f, DD_ENTITY_COUPON, &c.base);
	}
	fx_put_usage(f, "c", "USED", NULL, 2, 0);
	fx_put_usage(f, "c", "MYUSED", "c1", 1, 0);
	fx_put_usage(f, "c", "MYUSED", NULL, 1, 0);
	fx_put_usage(f, "c", "ROOM", NULL, 2, 0);
	fx_put_usage(f, "c", "ROOM", "c1", 1, 0);

	req_buf b;
	req_c1(&b);
	req_line(&b, "A", 1);
	const char *codes[] = { "OFF", "OFF-OLD", "SOON", "OLD", "OTHERS", "USED", "MYUSED", "NONE" };
	for (size_t i = 0; i < 8; i++)
		req_coupon(&b, codes[i]);
	Dealdesk__V1__QuoteResponse *r = quote_ok(f, &b);
	assert_int_equal(r->n_coupons, 8);
	const char *want[] = {
		"DISABLED: the code is switched off",
		"DISABLED: the code is switched off",
		"NOT_STARTED: the code is not valid yet",
		"EXPIRED: the code has expired",
		"NOT_FOR_CUSTOMER: the code belongs to another customer",
		"EXHAUSTED: the code has been used up",
		"CUSTOMER_EXHAUSTED: this customer has used the code up",
		"UNKNOWN: no such code",
	};
	for (size_t i = 0; i < 8; i++) {
		assert_string_equal(r->coupons[i]->code, codes[i]); /* request order */
		assert_false(r->coupons[i]->accepted);
		assert_string_equal(r->coupons[i]->reason, want[i]);
		assert_string_equal(r->coupons[i]->promotion_id, i < 7 ? "CP" : "");
	}
	assert_int_equal(r->total, 1000);
	/* valid codes: one of them unlocks CP once (1.00 off) */
	req_c1(&b);
	req_line(&b, "A", 1);
	req_coupon(&b, "OK");
	req_coupon(&b, "MINE");
	req_coupon(&b, "ROOM");
	r = quote_ok(f, &b);
	for (size_t i = 0; i < 3; i++) {
		assert_true(r->coupons[i]->accepted);
		assert_string_equal(r->coupons[i]->reason, "");
	}
	assert_int_equal(r->total, 900);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_scope_precedence, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_quantity_tiers, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_priority_validity_and_key_order, fx_setup,
		                                fx_teardown),
		cmocka_unit_test_setup_teardown(test_not_found, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_overflow, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_active_policies_required, setup_no_policies,
		                                fx_teardown),
		cmocka_unit_test_setup_teardown(test_data_and_policy_versions, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_candidate_promotions, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_coupon_records, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
