/* Unit tests for src/quote: the whole pipeline in-process over a store with
 * the demo dataset and the shipped policies. Every amount is worked out by
 * hand in the comments from the rules in policies/ and README. */
#include "quote/fixture.h" /* the store, requests and assertions of tests/unit/quote */

/* USD: a bundle that fits twice with leftovers, a percentage, a fixed amount,
 * and a spend threshold that the discounts push the cart below. */
static void test_usd_bundle_percentage_fixed(void **state)
{
	fixture *f = *state;
	req_buf b;
	req_init(&b, "acme", "USD", "web");
	req_line(&b, "WIDGET-1", 3); /* 3 x 19.99 = 59.97 */
	req_line(&b, "CABLE-3", 5);  /* 5 x 8.99 = 44.95 */
	req_line(&b, "GADGET-2", 4); /* 4 x 49.99 = 199.96 */
	Dealdesk__V1__QuoteResponse *r = quote_ok(f, &b);
	assert_sums(r);
	assert_int_equal(r->currency_exponent, 2);
	assert_int_equal(r->subtotal, 30488);
	/* DESK-BUNDLE fits twice: 2 widgets (39.98) + 4 cables (35.96) = 75.94
	 * for 2 x 29.99 = 59.98: saving 15.96 shared 3998:3596 by largest
	 * remainder -> 840.24 / 755.76 -> 840 and 756. */
	assert_int_equal(discount_of(r->lines[0], "DESK-BUNDLE"), 840);
	assert_int_equal(discount_of(r->lines[1], "DESK-BUNDLE"), 756);
	/* CABLES-10 on the one free cable: 10 % of 8.99 = 0.899, half up 0.90 */
	assert_int_equal(discount_of(r->lines[1], "CABLES-10"), 90);
	/* WIDGET-2OFF: 2.00 off the one widget no bundle took */
	assert_int_equal(discount_of(r->lines[0], "WIDGET-2OFF"), 200);
	assert_int_equal(discount_of(r->lines[2], "DESK-BUNDLE"), 0);
	assert_int_equal(r->lines[0]->line_total, 4957);
	assert_int_equal(r->lines[1]->line_total, 3649);
	assert_int_equal(r->lines[2]->line_total, 19996);
	/* SPEND-300: 286.02 after line discounts is below 300.00: not applied */
	assert_int_equal(r->n_order_discounts, 0);
	assert_int_equal(r->discount_total, 1886);
	assert_int_equal(r->total, 28602);
	/* credit: 200000.00 + 50000.00 + 286.02 of 1000000.00 = 25.03 % (up) */
	assert_int_equal(r->credit->outcome, DEALDESK__V1__CREDIT_OUTCOME__CREDIT_OUTCOME_APPROVE);
	assert_int_equal(r->credit->payment_terms_days, 30);
	assert_int_equal(r->credit->exposure, 25028602);
	assert_int_equal(r->credit->available_credit, 100000000 - 25028602);
	assert_int_equal(r->credit->n_reasons, 1);
	assert_string_equal(r->credit->reasons[0],
	                    "EXPOSURE_WITHIN_LIMIT: exposure 250286.02 is 25.03% of the limit "
	                    "1000000.00 (tier A)");
	assert_int_equal(r->compliance_status, DEALDESK__V1__COMPLIANCE_STATUS__COMPLIANCE_STATUS_PASS);
	assert_int_equal(r->n_compliance, 3);
	assert_int_equal(r->versions->pricing_policy, 1);
	assert_int_equal(strlen(r->decision_id), 32);
}

/* JPY (exponent 0): a spend threshold spread by largest remainder. */
static void test_jpy_threshold_allocation(void **state)
{
	fixture *f = *state;
	req_buf b;
	req_init(&b, "tokyo", "JPY", "");
	req_line(&b, "WIDGET-1", 3); /* 8940 */
	req_line(&b, "CABLE-3", 4);  /* 5120 */
	req_line(&b, "MANUAL-4", 2); /* 7000 */
	Dealdesk__V1__QuoteResponse *r = quote_ok(f, &b);
	assert_sums(r);
	assert_int_equal(r->currency_exponent, 0);
	assert_int_equal(r->subtotal, 21060);
	/* CABLES-10: 512 yen; then 20548 >= 20000 so SPEND-JPY takes 1000
	 * spread 8940:4608:7000 -> 435.08 224.26 340.67 -> 435 224 341 */
	assert_int_equal(discount_of(r->lines[1], "CABLES-10"), 512);
	assert_int_equal(r->n_order_discounts, 1);
	assert_string_equal(r->order_discounts[0]->promotion_id, "SPEND-JPY");
	assert_int_equal(r->order_discounts[0]->amount, 1000);
	assert_int_equal(r->order_discounts[0]->kind,
	                 DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_SPEND_THRESHOLD);
	assert_int_equal(discount_of(r->lines[0], "SPEND-JPY"), 435);
	assert_int_equal(discount_of(r->lines[1], "SPEND-JPY"), 224);
	assert_int_equal(discount_of(r->lines[2], "SPEND-JPY"), 341);
	assert_int_equal(r->total, 19548);
	assert_int_equal(r->discount_total, 1512);
	assert_int_equal(r->credit->exposure, 1019548);
	assert_string_equal(r->credit->reasons[0],
	                    "EXPOSURE_WITHIN_LIMIT: exposure 1019548 is 20.40% of the limit "
	                    "5000000 (tier A)");
}

/* KWD (exponent 3): stacked percentages with a coupon, half-up rounding. */
static void test_kwd_coupon_stacking(void **state)
{
	fixture *f = *state;
	req_buf b;
	req_init(&b, "kuwait", "KWD", "web");
	req_line(&b, "WIDGET-1", 2); /* 12.300 */
	req_line(&b, "CABLE-3", 3);  /* 8.250 */
	b.coupons[0] = "WELCOME10";
	b.r.n_coupon_codes = 1;
	Dealdesk__V1__QuoteResponse *r = quote_ok(f, &b);
	assert_sums(r);
	assert_int_equal(r->currency_exponent, 3);
	/* CABLES-10 first (priority 10): 0.825; WELCOME10 then takes 10 % of
	 * what is left: widgets 1.230, cables 10 % of 7.425 = 0.7425 -> 0.743 */
	assert_int_equal(discount_of(r->lines[1], "CABLES-10"), 825);
	assert_int_equal(discount_of(r->lines[0], "WELCOME10"), 1230);
	assert_int_equal(discount_of(r->lines[1], "WELCOME10"), 743);
	assert_int_equal(r->total, 17752);
	assert_int_equal(r->credit->outcome, DEALDESK__V1__CREDIT_OUTCOME__CREDIT_OUTCOME_APPROVE);
	assert_string_equal(r->credit->reasons[0],
	                    "EXPOSURE_WITHIN_LIMIT: exposure 2017.752 is 20.18% of the limit "
	                    "10000.000 (tier B)");
}

static void test_member_price(void **state)
{
	fixture *f = *state;
	req_buf b;
	req_init(&b, "wholesale", "EUR", "");
	req_line(&b, "WIDGET-1", 1);
	Dealdesk__V1__QuoteResponse *r = quote_ok(f, &b);
	/* 10 % of 18.49 = 1.849 -> 1.85 (half up) -> 16.64 */
	assert_int_equal(r->lines[0]->unit_list_price, 1849);
	assert_int_equal(r->lines[0]->unit_price, 1664);
	assert_string_equal(r->lines[0]->price_reason,
	                    "member price for group wholesale: 10.00% below list");
	assert_int_equal(r->total, 1664);
	assert_int_equal(r->credit->payment_terms_days, 45);
}

static void test_channel_price_list(void **state)
{
	fixture *f = *state;
	req_buf b;
	req_init(&b, "acme", "USD", "store");
	req_line(&b, "WIDGET-1", 1);
	Dealdesk__V1__QuoteResponse *r = quote_ok(f, &b);
	assert_string_equal(r->lines[0]->price_list_id, "store-usd");
	assert_int_equal(r->lines[0]->unit_list_price, 2099);
	/* WIDGET-2OFF is for the web channel only */
	assert_int_equal(r->total, 2099);
}

static void test_credit_outcomes(void **state)
{
	fixture *f = *state;
	req_buf b;
	Dealdesk__V1__QuoteResponse *r;

	/* bolt: 4500.00 used of 5000.00, + 17.99 -> 90.36 %: tier B shortens terms */
	req_init(&b, "bolt", "USD", "web");
	req_line(&b, "WIDGET-1", 1);
	r = quote_ok(f, &b);
	assert_int_equal(r->total, 1799);
	assert_int_equal(r->credit->outcome,
	                 DEALDESK__V1__CREDIT_OUTCOME__CREDIT_OUTCOME_APPROVE_SHORTER_TERMS);
	assert_int_equal(r->credit->payment_terms_days, 15);

	/* bolt, 12 gadgets: 599.88 - 25.00 = 574.88 -> 101.50 %: deposit of what
	 * exceeds 90 % of the limit (4500.00), capped at the order */
	req_init(&b, "bolt", "USD", "web");
	req_line(&b, "GADGET-2", 12);
	r = quote_ok(f, &b);
	assert_int_equal(r->total, 57488);
	assert_int_equal(r->credit->outcome, DEALDESK__V1__CREDIT_OUTCOME__CREDIT_OUTCOME_DEPOSIT);
	assert_int_equal(r->credit->deposit_amount, 57488);

	req_init(&b, "cashonly", "USD", "web");
	req_line(&b, "CABLE-3", 1);
	r = quote_ok(f, &b);
	assert_int_equal(r->credit->outcome, DEALDESK__V1__CREDIT_OUTCOME__CREDIT_OUTCOME_PREPAY);
	assert_string_equal(r->credit->reasons[0], "NO_CREDIT_LINE: the customer has no credit limit");

	req_init(&b, "latepay", "USD", "web");
	req_line(&b, "CABLE-3", 1);
	r = quote_ok(f, &b);
	assert_int_equal(r->credit->outcome, DEALDESK__V1__CREDIT_OUTCOME__CREDIT_OUTCOME_REVIEW);

	req_init(&b, "defaulter", "USD", "web");
	req_line(&b, "CABLE-3", 1);
	r = quote_ok(f, &b);
	assert_int_equal(r->credit->outcome, DEALDESK__V1__CREDIT_OUTCOME__CREDIT_OUTCOME_DECLINE);

	/* acme keeps its credit in USD: a EUR order goes to review */
	req_init(&b, "acme", "EUR", "");
	req_line(&b, "CABLE-3", 1);
	r = quote_ok(f, &b);
	assert_int_equal(r->credit->outcome, DEALDESK__V1__CREDIT_OUTCOME__CREDIT_OUTCOME_REVIEW);
	assert_int_equal(r->credit->exposure, 25000000);
}

static void test_bad_input(void **state)
{
	fixture *f = *state;
	req_buf b;
	req_init(&b, "acme", "USD", "web");
	assert_int_equal(quote_err(f, &b, "lines: at least one line"), DD_EINVAL);
	req_line(&b, "WIDGET-1", 0);
	assert_int_equal(quote_err(f, &b, "lines[0].quantity: must be > 0"), DD_EINVAL);
	b.l[0].quantity = 1000001;
	assert_int_equal(quote_err(f, &b, "lines[0].quantity"), DD_EINVAL);
	b.l[0].quantity = 1;
	b.l[0].sku = "NOPE";
	assert_int_equal(quote_err(f, &b, "lines[0].sku: unknown SKU 'NOPE'"), DD_ENOTFOUND);
	b.l[0].sku = "SUPPORT-5"; /* has USD only */
	b.r.currency = "JPY";
	assert_int_equal(quote_err(f, &b, "lines[0].sku: no price list has 'SUPPORT-5' in currency JPY"),
	                 DD_ENOTFOUND);
	b.r.currency = "XYZ";
	assert_int_equal(quote_err(f, &b, "currency: 'XYZ' is not an ISO 4217"), DD_EINVAL);
	b.r.currency = "USD";
	b.r.customer_id = "nobody";
	assert_int_equal(quote_err(f, &b, "customer_id: customer 'nobody' not found"), DD_ENOTFOUND);
	b.r.customer_id = "bad\xff";
	assert_int_equal(quote_err(f, &b, "customer_id: invalid UTF-8"), DD_EINVAL);
	b.r.customer_id = "acme";
	b.l[0].quantity = -5;
	assert_int_equal(quote_err(f, &b, "lines[0].quantity"), DD_EINVAL);
}

static void test_overflow_detected(void **state)
{
	fixture *f = *state;
	dd_error err;
	Dealdesk__V1__PriceEntry e = DEALDESK__V1__PRICE_ENTRY__INIT;
	e.price_list_id = "huge";
	e.sku = "YACHT";
	e.currency = "USD";
	e.unit_price = INT64_MAX / 2;
	ProtobufCMessage *items[] = { &e.base };
	assert_int_equal(dd_admin_put(f->store, DD_ENTITY_PRICE, items, 1, "entries", NULL, &err), DD_OK);
	req_buf b;
	req_init(&b, "acme", "USD", "web");
	req_line(&b, "YACHT", 3);
	assert_int_equal(quote_err(f, &b, "overflows int64"), DD_EOVERFLOW);
	b.l[0].quantity = 1;
	req_line(&b, "YACHT", 2);
	assert_int_equal(quote_err(f, &b, "overflows int64"), DD_EOVERFLOW);
}

static void test_policy_failures(void **state)
{
	fixture *f = *state;
	req_buf b;
	req_init(&b, "acme", "USD", "web");
	req_line(&b, "CABLE-3", 1);

	/* a credit policy that errors: fail-safe REVIEW naming script and line */
	fx_activate(f, DD_POLICY_CREDIT, "function decide(ctx, c)\n  local x = nil\n  return x.y\nend\n");
	Dealdesk__V1__QuoteResponse *r = quote_ok(f, &b);
	assert_int_equal(r->credit->outcome, DEALDESK__V1__CREDIT_OUTCOME__CREDIT_OUTCOME_REVIEW);
	assert_non_null(strstr(r->credit->reasons[0], "POLICY_ERROR"));
	assert_non_null(strstr(r->credit->reasons[0], "credit.v2:3:"));
	assert_int_equal(r->versions->credit_policy, 2);

	/* a compliance policy that loops forever: stopped, fail-safe BLOCK */
	fx_activate(f, DD_POLICY_COMPLIANCE, "function check(ctx, checks) while true do end end");
	r = quote_ok(f, &b);
	assert_int_equal(r->compliance_status, DEALDESK__V1__COMPLIANCE_STATUS__COMPLIANCE_STATUS_BLOCK);
	assert_string_equal(r->compliance[0]->check_id, "policy-error");

	/* a pricing policy that returns a float price: the quote fails clearly */
	fx_activate(f, DD_POLICY_PRICING, "function price(ctx) return { { unit_price = 1.5 } } end");
	assert_int_equal(quote_err(f, &b, "pricing policy v2"), DD_EPOLICY);

	fx_activate(f, DD_POLICY_PRICING, "function price(ctx) return {} end");
	/* a promotions policy that eats memory: stopped */
	fx_activate(f, DD_POLICY_PROMOTIONS, "function apply(ctx, p) local t = {} for i = 1, 1e9 do t[i] = ('x'):rep(1000) .. i end end");
	int rc = quote_err(f, &b, "promotions policy v2");
	assert_true(rc == DD_EBUDGET || rc == DD_EPOLICY);

	/* a promotions policy that tries to discount below zero is capped */
	fx_activate(f, DD_POLICY_PROMOTIONS, "function apply(ctx, p) return { lines = { { { promotion = 'X', "
	               "kind = 'FIXED_AMOUNT', amount = 999999 } } }, order = { { promotion = 'Y', "
	               "kind = 'SPEND_THRESHOLD', amount = 5 } } } end");
	r = quote_ok(f, &b);
	assert_int_equal(r->lines[0]->line_total, 0);
	assert_int_equal(r->lines[0]->discount_total, 899);
	assert_int_equal(r->total, 0);
	assert_int_equal(r->n_order_discounts, 0); /* nothing left to take 5 off */
}

static void test_explain_trace(void **state)
{
	fixture *f = *state;
	req_buf b;
	req_init(&b, "acme", "USD", "web");
	req_line(&b, "WIDGET-1", 1);
	Dealdesk__V1__QuoteResponse *r = quote_ok(f, &b);
	assert_int_equal(r->n_trace, 0);
	b.r.explain = 1;
	r = quote_ok(f, &b);
	int saw_applied = 0, saw_coupon = 0, saw_currency = 0;
	for (size_t i = 0; i < r->n_trace; i++) {
		const Dealdesk__V1__TraceEntry *t = r->trace[i];
		if (!strcmp(t->rule, "WIDGET-2OFF") && t->applied)
			saw_applied = 1;
		if (!strcmp(t->rule, "WELCOME10") && !t->applied &&
		    !strcmp(t->detail, "needs its coupon code"))
			saw_coupon = 1;
		if (!strcmp(t->rule, "SPEND-JPY") && !t->applied &&
		    !strcmp(t->detail, "only for JPY orders"))
			saw_currency = 1;
	}
	assert_true(saw_applied);
	assert_true(saw_currency);
	/* with explain every promotion is shown, with the reason it did not apply */
	assert_true(saw_coupon);
}

static void test_deterministic(void **state)
{
	fixture *f = *state;
	req_buf b;
	req_init(&b, "acme", "USD", "web");
	req_line(&b, "WIDGET-1", 3);
	req_line(&b, "CABLE-3", 5);
	b.r.explain = 1;
	uint8_t first[8192], again[8192];
	Dealdesk__V1__QuoteResponse *r = quote_ok(f, &b);
	char id1[33];
	snprintf(id1, sizeof(id1), "%s", r->decision_id);
	r->decision_id = "";
	size_t n1 = protobuf_c_message_pack(&r->base, first);
	r = quote_ok(f, &b);
	assert_string_not_equal(id1, r->decision_id);
	/* ids start with their time in ms (hex): they never go back */
	assert_true(strncmp(id1, r->decision_id, 12) <= 0);
	r->decision_id = "";
	size_t n2 = protobuf_c_message_pack(&r->base, again);
	assert_int_equal(n1, n2);
	assert_memory_equal(first, again, n1);
}

static void test_budgets(void **state)
{
	fixture *f = *state;
	static char *manual[] = { "MANUAL-4" };
	Dealdesk__V1__Promotion p = DEALDESK__V1__PROMOTION__INIT;
	p.id = "BUD";
	p.kind = DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_PERCENTAGE;
	p.skus = manual;
	p.n_skus = 1;
	p.percent_bps = 1000;
	p.enabled = 1;
	p.budget_uses = 5;
	fx_put_promo(f, &p);
	req_buf b;
	req_init(&b, "acme", "USD", "web");
	req_line(&b, "MANUAL-4", 1); /* 25.00 */
	Dealdesk__V1__QuoteResponse *r = quote_ok(f, &b);
	assert_int_equal(r->total, 2250);
	fx_put_usage(f, "p", "BUD", NULL, 5, 1250);
	r = quote_ok(f, &b);
	assert_int_equal(r->total, 2500);
	assert_string_equal(note_code(r, "BUD"), "BUDGET_EXHAUSTED");

	/* an amount budget with 8.00 of 10.00 used caps 20 % (5.00) at 2.00 */
	p.budget_uses = 0;
	p.percent_bps = 2000;
	p.budget_amount = 1000;
	fx_put_promo(f, &p);
	fx_put_usage(f, "p", "BUD", NULL, 9, 800);
	r = quote_ok(f, &b);
	assert_int_equal(r->total, 2300);
	assert_string_equal(note_code(r, "BUD"), "BUDGET_LIMITED");

	/* per customer: acme used its one use; bolt did not */
	p.budget_amount = 0;
	p.customer_budget_uses = 1;
	fx_put_promo(f, &p);
	fx_put_usage(f, "p", "BUD", "acme", 1, 500);
	r = quote_ok(f, &b);
	assert_int_equal(r->total, 2500);
	assert_string_equal(note_code(r, "BUD"), "CUSTOMER_BUDGET_EXHAUSTED");
	b.r.customer_id = "bolt";
	r = quote_ok(f, &b);
	assert_int_equal(r->total, 2000);
}

static void test_coupon_usage_limits(void **state)
{
	fixture *f = *state;
	static char *manual[] = { "MANUAL-4" };
	Dealdesk__V1__Promotion p = DEALDESK__V1__PROMOTION__INIT;
	p.id = "CPN";
	p.kind = DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_FIXED_AMOUNT;
	p.skus = manual;
	p.n_skus = 1;
	p.amount = 500;
	p.currency = "USD";
	p.enabled = 1;
	p.requires_coupon = 1;
	fx_put_promo(f, &p);
	Dealdesk__V1__Coupon c1 = DEALDESK__V1__COUPON__INIT, c2 = DEALDESK__V1__COUPON__INIT;
	c1.code = "LIMITED";
	c1.promotion_id = "CPN";
	c1.enabled = 1;
	c1.max_uses = 3;
	c2.code = "ONCE";
	c2.promotion_id = "CPN";
	c2.enabled = 1;
	c2.max_uses_per_customer = 1;
	ProtobufCMessage *items[] = { &c1.base, &c2.base };
	dd_error err;
	assert_int_equal(dd_admin_put(f->store, DD_ENTITY_COUPON, items, 2, "coupons", NULL, &err), DD_OK);
	req_buf b;
	req_init(&b, "acme", "USD", "web");
	req_line(&b, "MANUAL-4", 1);
	b.coupons[0] = "LIMITED";
	b.r.n_coupon_codes = 1;
	Dealdesk__V1__QuoteResponse *r = quote_ok(f, &b);
	assert_int_equal(r->total, 2000);
	assert_int_equal(r->n_coupons, 1);
	assert_true(r->coupons[0]->accepted);
	fx_put_usage(f, "c", "LIMITED", NULL, 3, 0);
	r = quote_ok(f, &b);
	assert_int_equal(r->total, 2500);
	assert_false(r->coupons[0]->accepted);
	assert_string_equal(r->coupons[0]->reason, "EXHAUSTED: the code has been used up");
	b.coupons[0] = "ONCE";
	fx_put_usage(f, "c", "ONCE", "acme", 1, 0);
	r = quote_ok(f, &b);
	assert_string_equal(r->coupons[0]->reason,
	                    "CUSTOMER_EXHAUSTED: this customer has used the code up");
	b.r.customer_id = "bolt";
	r = quote_ok(f, &b);
	assert_true(r->coupons[0]->accepted);
	assert_int_equal(r->total, 2000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_usd_bundle_percentage_fixed, fx_setup_demo, fx_teardown),
		cmocka_unit_test_setup_teardown(test_jpy_threshold_allocation, fx_setup_demo, fx_teardown),
		cmocka_unit_test_setup_teardown(test_kwd_coupon_stacking, fx_setup_demo, fx_teardown),
		cmocka_unit_test_setup_teardown(test_member_price, fx_setup_demo, fx_teardown),
		cmocka_unit_test_setup_teardown(test_channel_price_list, fx_setup_demo, fx_teardown),
		cmocka_unit_test_setup_teardown(test_credit_outcomes, fx_setup_demo, fx_teardown),
		cmocka_unit_test_setup_teardown(test_bad_input, fx_setup_demo, fx_teardown),
		cmocka_unit_test_setup_teardown(test_overflow_detected, fx_setup_demo, fx_teardown),
		cmocka_unit_test_setup_teardown(test_policy_failures, fx_setup_demo, fx_teardown),
		cmocka_unit_test_setup_teardown(test_explain_trace, fx_setup_demo, fx_teardown),
		cmocka_unit_test_setup_teardown(test_deterministic, fx_setup_demo, fx_teardown),
		cmocka_unit_test_setup_teardown(test_budgets, fx_setup_demo, fx_teardown),
		cmocka_unit_test_setup_teardown(test_coupon_usage_limits, fx_setup_demo, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
