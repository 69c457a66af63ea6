/* src/quote/price.c: stage 3, unit prices. The shipped pricing policy
 * (policies/pricing.lua) takes the lowest of the list price, the member
 * price, a clearance markdown (both the stock count and the demand
 * estimate fresh: 14 days) and a recent competitor price in the order's
 * currency (7 days); the entry's floor and ceiling then hold the result,
 * and dealdesk holds whatever any policy returns within them. */
#include "fixture.h"

typedef struct comp {
	const char *who, *currency;
	int64_t price, at;
} comp;

static void signals(fixture *f, const char *sku, int64_t inventory, int64_t inventory_at,
                    int64_t demand, int64_t demand_at, const comp *cs, size_t n)
{
	Dealdesk__V1__SkuSignals s = DEALDESK__V1__SKU_SIGNALS__INIT;
	Dealdesk__V1__CompetitorPrice c[8], *cp[8];
	assert_true(n <= 8);
	s.sku = (char *)sku;
	s.inventory_on_hand = inventory;
	s.inventory_at = inventory_at;
	s.demand_per_week = demand;
	s.demand_at = demand_at;
	for (size_t i = 0; i < n; i++) {
		dealdesk__v1__competitor_price__init(&c[i]);
		c[i].competitor = (char *)cs[i].who;
		c[i].currency = (char *)cs[i].currency;
		c[i].price = cs[i].price;
		c[i].observed_at = cs[i].at;
		cp[i] = &c[i];
	}
	s.competitor_prices = cp;
	s.n_competitor_prices = n;
	fx_put(f, DD_ENTITY_SIGNALS, &s.base);
}

static void price_entry(fixture *f, const char *sku, int64_t price, int rounding)
{
	Dealdesk__V1__PriceEntry e = DEALDESK__V1__PRICE_ENTRY__INIT;
	e.price_list_id = "usd";
	e.sku = (char *)sku;
	e.currency = "USD";
	e.category = "s";
	e.unit_price = price;
	e.unit_cost = price / 4;
	e.rounding = rounding;
	fx_put(f, DD_ENTITY_PRICE, &e.base);
}

static void add_wholesale(fixture *f)
{
	fx_customer wh;
	fx_customer_init(&wh, "wh", "USD", "A", 1000000000);
	wh.c.customer_group = "wholesale";
	fx_put_customer(f, &wh);
}

/* Quotes one unit of each sku for customer; returns the response. */
static Dealdesk__V1__QuoteResponse *quote_skus(fixture *f, const char *customer,
                                               const char *const *skus, size_t n)
{
	static req_buf b;
	req_init(&b, customer, "USD", "");
	for (size_t i = 0; i < n; i++)
		req_line(&b, skus[i], 1);
	return quote_ok(f, &b);
}

#define assert_price(l, price, reason)                           \
	do {                                                     \
		assert_int_equal((l)->unit_price, (price));      \
		assert_string_equal((l)->price_reason, (reason)); \
	} while (0)

static const char *const member = "member price for group wholesale: 10.00% below list";
static const char *const clear30 = "clearance: stock covers 26+ weeks of demand, 30.00% off";
static const char *const clear15 = "clearance: stock covers 12+ weeks of demand, 15.00% off";

static void test_list_price_without_reasons(void **state)
{
	fixture *f = *state;
	req_buf b;
	req_c1(&b);
	req_line(&b, "A", 3);
	Dealdesk__V1__QuoteResponse *r = quote_ok(f, &b);
	assert_price(r->lines[0], 1000, "");
	assert_int_equal(r->lines[0]->unit_list_price, 1000);
	assert_int_equal(r->lines[0]->line_subtotal, 3000);
	assert_int_equal(r->subtotal, 3000);
}

/* 10 % below list in the entry's own rounding. */
static void test_member_price_rounding(void **state)
{
	fixture *f = *state;
	add_wholesale(f);
	price_entry(f, "HU", 1005, DEALDESK__V1__ROUNDING_MODE__ROUNDING_MODE_HALF_UP);
	price_entry(f, "HE", 1005, DEALDESK__V1__ROUNDING_MODE__ROUNDING_MODE_HALF_EVEN);
	price_entry(f, "DF", 1005, DEALDESK__V1__ROUNDING_MODE__ROUNDING_MODE_UNSPECIFIED);
	price_entry(f, "DN", 1009, DEALDESK__V1__ROUNDING_MODE__ROUNDING_MODE_DOWN);
	price_entry(f, "UP", 1001, DEALDESK__V1__ROUNDING_MODE__ROUNDING_MODE_UP);
	const char *skus[] = { "HU", "HE", "DF", "DN", "UP" };
	Dealdesk__V1__QuoteResponse *r = quote_skus(f, "wh", skus, 5);
	assert_price(r->lines[0], 904, member); /* 100.5 half up 101: 10.05 - 1.01 */
	assert_price(r->lines[1], 905, member); /* 100.5 half even 100 */
	assert_price(r->lines[2], 905, member); /* unspecified = half even */
	assert_price(r->lines[3], 909, member); /* 100.9 down 100 */
	assert_price(r->lines[4], 900, member); /* 100.1 up 101 */
	/* a retail customer pays list */
	r = quote_skus(f, "c1", skus, 1);
	assert_price(r->lines[0], 1005, "");
	/* the quantity multiplies the unit price: 3 x 9.04 = 27.12 */
	req_buf b;
	req_init(&b, "wh", "USD", "");
	req_line(&b, "HU", 3);
	r = quote_ok(f, &b);
	assert_int_equal(r->lines[0]->line_subtotal, 2712);
	/* JPY, exponent 0: 10 % of 2980 = 298 -> 2682 */
	fx_price_full(f, "jpy", "HU", "JPY", "s", 2980, 0, 0, 0);
	req_init(&b, "wh", "JPY", "");
	req_line(&b, "HU", 1);
	assert_price(quote_ok(f, &b)->lines[0], 2682, member);
}

/* Weeks of cover = stock / weekly demand, both fresh (one day old). */
static void test_clearance_by_weeks_of_cover(void **state)
{
	fixture *f = *state;
	const int64_t at = T0 - DAY;
	struct {
		const char *sku;
		int64_t inventory, demand, price;
		const char *reason;
	} cs[] = {
		{ "W26", 260, 10, 700, clear30 },  /* exactly 26 weeks: 30 % off */
		{ "W25", 259, 10, 850, clear15 },  /* 25.9 weeks: 15 % */
		{ "W12", 120, 10, 850, clear15 },  /* exactly 12 weeks */
		{ "W11", 119, 10, 1000, "" },      /* 11.9 weeks: none */
		{ "NODEMAND", 5, 0, 700, clear30 }, /* no demand: unlimited cover */
		{ "NOSTOCK", 0, 0, 1000, "" },     /* nothing on hand */
	};
	const char *skus[6];
	for (size_t i = 0; i < 6; i++) {
		price_entry(f, cs[i].sku, 1000, HALF_UP);
		signals(f, cs[i].sku, cs[i].inventory, at, cs[i].demand, at, NULL, 0);
		skus[i] = cs[i].sku;
	}
	Dealdesk__V1__QuoteResponse *r = quote_skus(f, "c1", skus, 6);
	for (size_t i = 0; i < 6; i++) {
		if (r->lines[i]->unit_price != cs[i].price)
			fail_msg("%s: %lld, wanted %lld", cs[i].sku, (long long)r->lines[i]->unit_price,
			         (long long)cs[i].price);
		assert_string_equal(r->lines[i]->price_reason, cs[i].reason);
	}
	/* clearance in the entry's rounding: 15 % of 10.05 = 1.5075 -> 1.51 */
	price_entry(f, "ODD", 1005, HALF_UP);
	signals(f, "ODD", 120, at, 10, at, NULL, 0);
	const char *odd[] = { "ODD" };
	assert_price(quote_skus(f, "c1", odd, 1)->lines[0], 854, clear15);
}

/* No markdown unless both the stock count and the demand estimate are at
 * most 14 days old (and not from the future). 26+ weeks of cover in every
 * case below. */
static void test_clearance_needs_fresh_signals(void **state)
{
	fixture *f = *state;
	const int64_t ok = T0 - DAY, limit = T0 - 14 * DAY;
	struct {
		const char *sku;
		int64_t inventory_at, demand, demand_at, price;
	} cs[] = {
		{ "FRESH14", limit, 10, limit, 700 },      /* exactly 14 days: fresh */
		{ "OLDSTOCK", limit - 1, 10, ok, 1000 },   /* stock count 14 days + 1 s */
		{ "OLDDEMAND", ok, 10, limit - 1, 1000 },  /* demand estimate too old */
		{ "NOESTIMATE", ok, 0, 0, 1000 },          /* no demand estimate at all */
		{ "UNDATED", ok, 10, 0, 1000 },            /* a figure without a date */
		{ "FUTURE", T0 + 1, 10, ok, 1000 },        /* counted after the quote */
		{ "FUTUREDEM", ok, 10, T0 + 1, 1000 },
		{ "NOW", T0, 0, T0, 700 },                 /* both this second */
	};
	const char *skus[8];
	for (size_t i = 0; i < 8; i++) {
		price_entry(f, cs[i].sku, 1000, HALF_UP);
		signals(f, cs[i].sku, 300, cs[i].inventory_at, cs[i].demand, cs[i].demand_at, NULL, 0);
		skus[i] = cs[i].sku;
	}
	Dealdesk__V1__QuoteResponse *r = quote_skus(f, "c1", skus, 8);
	for (size_t i = 0; i < 8; i++) {
		if (r->lines[i]->unit_price != cs[i].price)
			fail_msg("%s: %lld, wanted %lld", cs[i].sku, (long long)r->lines[i]->unit_price,
			         (long long)cs[i].price);
		assert_string_equal(r->lines[i]->price_reason, cs[i].price == 700 ? clear30 : "");
	}
}

static void test_competitor_match(void **state)
{
	fixture *f = *state;
	comp cs[] = {
		{ "zeta", "USD", 900, T0 - 7 * DAY },     /* exactly 7 days: counts */
		{ "alpha", "USD", 900, T0 - DAY },        /* the same price: the lower name */
		{ "stale", "USD", 500, T0 - 7 * DAY - 1 }, /* too old */
		{ "eu-shop", "EUR", 100, T0 },            /* another currency */
		{ "later", "USD", 400, T0 + 1 },          /* observed after the quote */
	};
	price_entry(f, "K", 1000, HALF_UP);
	signals(f, "K", 0, 0, 0, 0, cs, 5);
	/* a competitor above list changes nothing */
	comp high[] = { { "dear", "USD", 1100, T0 } };
	price_entry(f, "H", 1000, HALF_UP);
	signals(f, "H", 0, 0, 0, 0, high, 1);
	const char *skus[] = { "K", "H" };
	Dealdesk__V1__QuoteResponse *r = quote_skus(f, "c1", skus, 2);
	assert_price(r->lines[0], 900, "competitor match: alpha sells at 9.00");
	assert_price(r->lines[1], 1000, "");
	/* the lowest of everything wins: member 9.00 against a competitor */
	add_wholesale(f);
	comp c880[] = { { "shop", "USD", 880, T0 } }, c950[] = { { "shop", "USD", 950, T0 } };
	price_entry(f, "M1", 1000, HALF_UP);
	signals(f, "M1", 0, 0, 0, 0, c880, 1);
	price_entry(f, "M2", 1000, HALF_UP);
	signals(f, "M2", 0, 0, 0, 0, c950, 1);
	/* clearance (7.00) against competitors at 8.00 and 6.50 */
	comp c800[] = { { "shop", "USD", 800, T0 } }, c650[] = { { "shop", "USD", 650, T0 } };
	price_entry(f, "CL1", 1000, HALF_UP);
	signals(f, "CL1", 300, T0 - DAY, 10, T0 - DAY, c800, 1);
	price_entry(f, "CL2", 1000, HALF_UP);
	signals(f, "CL2", 300, T0 - DAY, 10, T0 - DAY, c650, 1);
	/* stale stock signals do not hide a fresh competitor price */
	price_entry(f, "CL3", 1000, HALF_UP);
	signals(f, "CL3", 300, T0 - 30 * DAY, 10, T0 - 30 * DAY, c800, 1);
	const char *more[] = { "M1", "M2", "CL1", "CL2", "CL3" };
	r = quote_skus(f, "wh", more, 5);
	assert_price(r->lines[0], 880, "competitor match: shop sells at 8.80");
	assert_price(r->lines[1], 900, member);
	assert_price(r->lines[2], 700, clear30);
	assert_price(r->lines[3], 650, "competitor match: shop sells at 6.50");
	assert_price(r->lines[4], 800, "competitor match: shop sells at 8.00");
}

static void test_floor_and_ceiling_in_the_policy(void **state)
{
	fixture *f = *state;
	/* clearance 30 % of 20.00 = 14.00, below the floor 15.00 */
	fx_price_full(f, "usd", "FL", "USD", "s", 2000, 800, 1500, 0);
	signals(f, "FL", 300, T0 - DAY, 10, T0 - DAY, NULL, 0);
	/* a list price above its own ceiling */
	fx_price_full(f, "usd", "CE", "USD", "s", 1000, 400, 0, 900);
	/* within both: untouched */
	fx_price_full(f, "usd", "IN", "USD", "s", 1000, 400, 500, 1500);
	const char *skus[] = { "FL", "CE", "IN" };
	req_buf b;
	req_init(&b, "c1", "USD", "");
	b.r.explain = 1;
	for (size_t i = 0; i < 3; i++)
		req_line(&b, skus[i], 1);
	Dealdesk__V1__QuoteResponse *r = quote_ok(f, &b);
	assert_price(r->lines[0], 1500,
	             "clearance: stock covers 26+ weeks of demand, 30.00% off; held at the floor 15.00");
	assert_price(r->lines[1], 900, "held at the ceiling 9.00");
	assert_price(r->lines[2], 1000, "");
	const Dealdesk__V1__TraceEntry *t = trace_of(r, "pricing", "FL");
	assert_non_null(t);
	assert_string_equal(t->detail, "line 0: 2000 -> 1500: clearance: stock covers 26+ weeks of "
	                               "demand, 30.00% off; held at the floor 15.00");
}

/* Whatever a pricing policy returns, the entry's bounds hold. */
static void test_bounds_enforced_whatever_the_policy(void **state)
{
	fixture *f = *state;
	fx_price_full(f, "usd", "LO", "USD", "s", 1000, 0, 800, 0);
	fx_price_full(f, "usd", "HI", "USD", "s", 1000, 0, 0, 1200);
	fx_price_full(f, "usd", "NR", "USD", "s", 1000, 0, 600, 0);
	fx_price_full(f, "usd", "FREE", "USD", "s", 1000, 0, 0, 0);
	fx_activate(f, DD_POLICY_PRICING,
	            "function price(ctx)\n"
	            "  return { { unit_price = 1, reason = 'dump' },\n"
	            "           { unit_price = 99999, reason = 'surge' },\n"
	            "           { unit_price = 500 },\n"
	            "           { unit_price = 0, reason = 'free' },\n"
	            "           nil,\n"
	            "           [9] = { unit_price = 1 } }\n"
	            "end\n");
	const char *skus[] = { "LO", "HI", "NR", "FREE", "A" };
	req_buf b;
	req_init(&b, "c1", "USD", "");
	b.r.explain = 1;
	for (size_t i = 0; i < 5; i++)
		req_line(&b, skus[i], 2);
	Dealdesk__V1__QuoteResponse *r = quote_ok(f, &b);
	assert_price(r->lines[0], 800, "dump; held at the floor price");
	assert_price(r->lines[1], 1200, "surge; held at the ceiling price");
	assert_price(r->lines[2], 600, "held at the floor price");
	assert_price(r->lines[3], 0, "free"); /* no floor: 0 is a price */
	assert_price(r->lines[4], 1000, "");   /* no entry: list price */
	assert_int_equal(r->subtotal, 2 * (800 + 1200 + 600 + 0 + 1000));
	const Dealdesk__V1__TraceEntry *t = trace_of(r, "pricing", "floor");
	assert_non_null(t);
	assert_string_equal(t->detail, "line 0 LO: 1 held at the floor 800");
	t = trace_of(r, "pricing", "ceiling");
	assert_non_null(t);
	assert_string_equal(t->detail, "line 1 HI: 99999 held at the ceiling 1200");
}

static void expect_bad_policy(fixture *f, const char *src, const char *msg)
{
	uint64_t v = fx_activate(f, DD_POLICY_PRICING, src);
	req_buf b;
	req_c1(&b);
	req_line(&b, "A", 1);
	char want[600];
	snprintf(want, sizeof(want), "pricing policy v%llu: %s", (unsigned long long)v, msg);
	Dealdesk__V1__QuoteResponse *r = NULL;
	dd_error err;
	dd_arena_reset(&f->arena);
	int rc = dd_quote(f->q, &b.r, T0, &f->arena, &r, &err);
	assert_int_equal(rc, DD_EPOLICY);
	assert_string_equal(err.msg, want);
}

static void test_bad_results_fail_the_quote(void **state)
{
	fixture *f = *state;
	expect_bad_policy(f, "function price(ctx) return 'cheap' end",
	                  "returned a string instead of a table");
	expect_bad_policy(f, "function price(ctx) return { { unit_price = -1 } } end",
	                  "returned a negative unit price for line 0");
	expect_bad_policy(f, "function price(ctx) return { { unit_price = 1.5 } } end",
	                  "returned a malformed entry for line 0 (field 'unit_price' that is not "
	                  "an integer in range)");
	expect_bad_policy(f, "function price(ctx) return { { unit_price = 2.0 } } end",
	                  "returned a malformed entry for line 0 (field 'unit_price' that is not "
	                  "an integer in range)");
	expect_bad_policy(f, "function price(ctx) return { { unit_price = '900' } } end",
	                  "returned a malformed entry for line 0 (field 'unit_price' that is not "
	                  "an integer in range)");
	expect_bad_policy(f, "function price(ctx) return { { reason = 5 } } end",
	                  "returned a malformed entry for line 0 (field 'reason' that is not a "
	                  "string)");
	expect_bad_policy(f, "function price(ctx) return { 900 } end",
	                  "returned a malformed entry for line 0 (a number instead of a table)");
	uint64_t v = fx_activate(f, DD_POLICY_PRICING, "function price(ctx)\n  error('boom')\nend\n");
	req_buf b;
	req_c1(&b);
	req_line(&b, "A", 1);
	char want[64];
	snprintf(want, sizeof(want), "pricing policy v%llu: pricing.v%llu:2: boom",
	         (unsigned long long)v, (unsigned long long)v);
	assert_int_equal(quote_err(f, &b, want), DD_EPOLICY);
	/* nil means "list prices", and a reason alone keeps the price */
	fx_activate(f, DD_POLICY_PRICING, "function price(ctx) return nil end");
	assert_price(quote_ok(f, &b)->lines[0], 1000, "");
	fx_activate(f, DD_POLICY_PRICING, "function price(ctx) return { { reason = 'why' } } end");
	assert_price(quote_ok(f, &b)->lines[0], 1000, "why");
	/* a reason is free text: made valid UTF-8 and cut at 512 bytes */
	fx_activate(f, DD_POLICY_PRICING,
	            "function price(ctx) return { { reason = 'w\\255' .. ('x'):rep(600) } } end");
	const char *why = quote_ok(f, &b)->lines[0]->price_reason;
	assert_int_equal(strlen(why), 512);
	assert_memory_equal(why, "w\xEF\xBF\xBDxxx", 7);
}

static void test_price_overflow(void **state)
{
	fixture *f = *state;
	fx_activate(f, DD_POLICY_PRICING,
	            "function price(ctx) return { { unit_price = math.maxinteger // 2 } } end");
	req_buf b;
	req_c1(&b);
	req_line(&b, "A", 3);
	assert_int_equal(quote_err(f, &b, "lines[0]: the order amount overflows int64"),
	                 DD_EOVERFLOW);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_list_price_without_reasons, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_member_price_rounding, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_clearance_by_weeks_of_cover, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_clearance_needs_fresh_signals, fx_setup,
		                                fx_teardown),
		cmocka_unit_test_setup_teardown(test_competitor_match, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_floor_and_ceiling_in_the_policy, fx_setup,
		                                fx_teardown),
		cmocka_unit_test_setup_teardown(test_bounds_enforced_whatever_the_policy, fx_setup,
		                                fx_teardown),
		cmocka_unit_test_setup_teardown(test_bad_results_fail_the_quote, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_price_overflow, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
