/* src/quote/comply.c: stage 6, compliance. The shipped compliance policy
 * runs the standard checks through the host primitives:
 *   MIN_MARGIN    each line's total >= cost x (1 + bps), the bound rounded
 *                 up; unknown cost (0) is WARN, never PASS
 *   MAX_DISCOUNT  each line's and the order's reduction from list (price
 *                 adjustments and promotions), rounded up, <= bps
 * and records PASS for a check that found nothing. Gift lines are never
 * checked; a failing policy gives BLOCK (policy-error).
 *
 * Catalogue (fixture.h): A 10.00 cost 4.00, B 5.00 cost 2.00, C 3.00 cost
 * 1.00, D 20.00 cost 8.00. Line numbers are 0-based (line_no). */
#include "fixture.h"

#define CHECK(k) DEALDESK__V1__CHECK_KIND__CHECK_KIND_##k

static void fixed_price(fixture *f, const char *sku, int64_t price)
{
	Dealdesk__V1__Promotion p = fx_promo("FP", KIND(FIXED_PRICE));
	char *skus[] = { (char *)sku };
	p.skus = skus;
	p.n_skus = 1;
	p.amount = price;
	p.currency = "USD";
	fx_put_promo(f, &p);
}

static void percent_off(fixture *f, const char *id, const char *sku, int32_t bps)
{
	Dealdesk__V1__Promotion p = fx_promo(id, KIND(PERCENTAGE));
	char *skus[] = { (char *)sku };
	p.skus = skus;
	p.n_skus = sku ? 1 : 0;
	p.percent_bps = bps;
	fx_put_promo(f, &p);
}

static Dealdesk__V1__QuoteResponse *quote_lines(fixture *f, const char *customer,
                                                const char *s1, int64_t q1, const char *s2,
                                                int64_t q2)
{
	static req_buf b;
	req_init(&b, customer, "USD", "web");
	b.r.explain = 1;
	req_line(&b, s1, q1);
	if (s2)
		req_line(&b, s2, q2);
	return quote_ok(f, &b);
}

static void assert_result(const Dealdesk__V1__QuoteResponse *r, const char *check, int32_t line,
                          int status, int64_t value, int64_t limit, const char *message)
{
	const Dealdesk__V1__ComplianceResult *c = result_of(r, check, line);
	if (c == NULL)
		fail_msg("no result of %s for line %d", check, line);
	if ((int)c->status != status || c->computed_value != value || c->limit_value != limit ||
	    (message && strcmp(c->message, message) != 0))
		fail_msg("%s line %d: (%d, %lld, %lld, '%s'), wanted (%d, %lld, %lld, '%s')", check,
		         line, c->status, (long long)c->computed_value, (long long)c->limit_value,
		         c->message, status, (long long)value, (long long)limit,
		         message ? message : "*");
}

static void test_min_margin(void **state)
{
	fixture *f = *state;
	fx_check(f, "mm5", CHECK(MIN_MARGIN), 500, STATUS(BLOCK));
	Dealdesk__V1__QuoteResponse *r = quote_lines(f, "c1", "A", 1, NULL, 0);
	/* 10.00 >= 4.00 x 1.05: one PASS for the check, its description */
	assert_int_equal(r->n_compliance, 1);
	assert_result(r, "mm5", -1, STATUS(PASS), 0, 500, "mm5");
	assert_int_equal(r->compliance_status, STATUS(PASS));
	/* exactly at the bound: 4.20 */
	fixed_price(f, "A", 420);
	r = quote_lines(f, "c1", "A", 1, NULL, 0);
	assert_result(r, "mm5", -1, STATUS(PASS), 0, 500, NULL);
	/* one cent below: the margin, rounded down, is 0.19 / 4.00 = 4.75 % */
	fixed_price(f, "A", 419);
	r = quote_lines(f, "c1", "A", 1, NULL, 0);
	assert_int_equal(results_of(r, "mm5"), 1);
	assert_result(r, "mm5", 0, STATUS(BLOCK), 475, 500,
	              "line 0 A: total 4.19 is below cost 4.00 plus 5.00% (4.20); margin 4.75%");
	assert_int_equal(r->compliance_status, STATUS(BLOCK));
	/* per line, over its quantity, named by its 0-based number */
	r = quote_lines(f, "c1", "D", 1, "A", 3);
	assert_result(r, "mm5", 1, STATUS(BLOCK), 475, 500,
	              "line 1 A: total 12.57 is below cost 12.00 plus 5.00% (12.60); margin 4.75%");
	assert_null(result_of(r, "mm5", 0));
	/* below cost: a negative margin */
	fixed_price(f, "A", 300);
	r = quote_lines(f, "c1", "A", 1, NULL, 0);
	assert_result(r, "mm5", 0, STATUS(BLOCK), -2500, 500,
	              "line 0 A: total 3.00 is below cost 4.00 plus 5.00% (4.20); margin -25.00%");
	/* the bound is rounded up: 3.33 x 1.05 = 3.4965 -> 3.50 */
	fx_price(f, "ODD", "o", 1000, 333);
	fixed_price(f, "ODD", 349);
	r = quote_lines(f, "c1", "ODD", 1, NULL, 0);
	/* 0.16 / 3.33 = 4.8048 % -> 4.80 % */
	assert_result(r, "mm5", 0, STATUS(BLOCK), 480, 500,
	              "line 0 ODD: total 3.49 is below cost 3.33 plus 5.00% (3.50); margin 4.80%");
	fixed_price(f, "ODD", 350);
	r = quote_lines(f, "c1", "ODD", 1, NULL, 0);
	assert_result(r, "mm5", -1, STATUS(PASS), 0, 500, NULL);
	/* on_fail WARN */
	fx_check(f, "mm5", CHECK(MIN_MARGIN), 500, STATUS(WARN));
	fixed_price(f, "ODD", 349);
	r = quote_lines(f, "c1", "ODD", 1, NULL, 0);
	assert_result(r, "mm5", 0, STATUS(WARN), 480, 500, NULL);
	assert_int_equal(r->compliance_status, STATUS(WARN));
}

static void test_unknown_cost_is_a_warning(void **state)
{
	fixture *f = *state;
	fx_check(f, "mm5", CHECK(MIN_MARGIN), 500, STATUS(BLOCK));
	fx_price(f, "NC", "n", 1000, 0);
	Dealdesk__V1__QuoteResponse *r = quote_lines(f, "c1", "A", 1, "NC", 1);
	assert_int_equal(results_of(r, "mm5"), 1); /* a problem: no PASS */
	assert_result(r, "mm5", 1, STATUS(WARN), 0, 500,
	              "line 1 NC: unit cost unknown, margin not checked");
	assert_int_equal(r->compliance_status, STATUS(WARN));
}

static void test_max_discount(void **state)
{
	fixture *f = *state;
	fx_check(f, "md30", CHECK(MAX_DISCOUNT), 3000, STATUS(WARN));
	percent_off(f, "P50", "A", 5000);
	Dealdesk__V1__QuoteResponse *r = quote_lines(f, "c1", "A", 1, "D", 1);
	/* line 0: 50 % off; the order: 5.00 of 30.00 = 16.67 %, within */
	assert_int_equal(results_of(r, "md30"), 1);
	assert_result(r, "md30", 0, STATUS(WARN), 5000, 3000,
	              "line 0 A: discount 50.00% from list 10.00 exceeds 30.00%");
	assert_int_equal(r->compliance_status, STATUS(WARN));
	/* both lines at 50 %: the order too */
	percent_off(f, "P50", NULL, 5000);
	r = quote_lines(f, "c1", "A", 1, "D", 1);
	assert_int_equal(results_of(r, "md30"), 3);
	assert_result(r, "md30", 1, STATUS(WARN), 5000, 3000,
	              "line 1 D: discount 50.00% from list 20.00 exceeds 30.00%");
	assert_result(r, "md30", -1, STATUS(WARN), 5000, 3000, "order discount 50.00% exceeds 30.00%");
	fx_delete_promo(f, "P50");
	/* the boundary, rounded up: 300.00 off 1000.00 is 30.00 %; 300.01 is
	 * 30.001 % -> 30.01 % */
	fx_price(f, "BIG", "b", 100000, 1);
	fixed_price(f, "BIG", 70000);
	r = quote_lines(f, "c1", "BIG", 1, NULL, 0);
	assert_result(r, "md30", -1, STATUS(PASS), 0, 3000, NULL);
	fixed_price(f, "BIG", 69999);
	r = quote_lines(f, "c1", "BIG", 1, NULL, 0);
	assert_result(r, "md30", 0, STATUS(WARN), 3001, 3000,
	              "line 0 BIG: discount 30.01% from list 1000.00 exceeds 30.00%");
	assert_result(r, "md30", -1, STATUS(WARN), 3001, 3000, NULL);
}

/* The reduction from list counts price adjustments and promotions. */
static void test_max_discount_counts_price_adjustments(void **state)
{
	fixture *f = *state;
	fx_check(f, "md30", CHECK(MAX_DISCOUNT), 3000, STATUS(BLOCK));
	fx_customer wh;
	fx_customer_init(&wh, "wh", "USD", "A", 1000000000);
	wh.c.customer_group = "wholesale";
	fx_put_customer(f, &wh);
	percent_off(f, "P25", "A", 2500);
	/* retail: 25 % off list */
	Dealdesk__V1__QuoteResponse *r = quote_lines(f, "c1", "A", 1, NULL, 0);
	assert_result(r, "md30", -1, STATUS(PASS), 0, 3000, NULL);
	/* wholesale: 9.00, then 25 % = 2.25 off: 6.75 is 32.50 % below 10.00 */
	r = quote_lines(f, "wh", "A", 1, NULL, 0);
	assert_int_equal(r->lines[0]->line_total, 675);
	assert_result(r, "md30", 0, STATUS(BLOCK), 3250, 3000,
	              "line 0 A: discount 32.50% from list 10.00 exceeds 30.00%");
	assert_int_equal(r->compliance_status, STATUS(BLOCK));
}

static void test_skus_filter(void **state)
{
	fixture *f = *state;
	Dealdesk__V1__ComplianceCheck c = DEALDESK__V1__COMPLIANCE_CHECK__INIT;
	char *only_b[] = { "B" };
	c.id = "md30-b";
	c.kind = CHECK(MAX_DISCOUNT);
	c.bps = 3000;
	c.on_fail = STATUS(BLOCK);
	c.enabled = 1;
	c.skus = only_b;
	c.n_skus = 1;
	c.description = "B only";
	fx_put(f, DD_ENTITY_CHECK, &c.base);
	percent_off(f, "P50", NULL, 5000);
	/* A at 50 % is not B's business */
	Dealdesk__V1__QuoteResponse *r = quote_lines(f, "c1", "A", 1, NULL, 0);
	assert_int_equal(r->n_compliance, 1);
	assert_result(r, "md30-b", -1, STATUS(PASS), 0, 3000, "B only");
	/* B at 50 %: its line, and the order of B lines */
	r = quote_lines(f, "c1", "A", 1, "B", 1);
	assert_int_equal(results_of(r, "md30-b"), 2);
	assert_result(r, "md30-b", 1, STATUS(BLOCK), 5000, 3000, NULL);
	assert_result(r, "md30-b", -1, STATUS(BLOCK), 5000, 3000, NULL);
	assert_null(result_of(r, "md30-b", 0));
}

/* A gift is free by design: its 100 % discount and its unknown cost are
 * not findings. */
static void test_gift_lines_skipped(void **state)
{
	fixture *f = *state;
	fx_check(f, "mm5", CHECK(MIN_MARGIN), 500, STATUS(BLOCK));
	fx_check(f, "md30", CHECK(MAX_DISCOUNT), 3000, STATUS(BLOCK));
	fx_price(f, "NG", "gift", 700, 0);
	Dealdesk__V1__Promotion p = fx_promo("GIFT", KIND(FREE_GIFT));
	p.gift_sku = "NG";
	fx_put_promo(f, &p);
	Dealdesk__V1__QuoteResponse *r = quote_lines(f, "c1", "D", 1, NULL, 0);
	assert_int_equal(r->n_lines, 2);
	assert_true(r->lines[1]->gift);
	assert_int_equal(r->n_compliance, 2);
	assert_result(r, "mm5", -1, STATUS(PASS), 0, 500, NULL);
	assert_result(r, "md30", -1, STATUS(PASS), 0, 3000, NULL);
	assert_int_equal(r->compliance_status, STATUS(PASS));
}

static void test_disabled_and_absent_checks(void **state)
{
	fixture *f = *state;
	/* no checks at all: PASS, no results */
	Dealdesk__V1__QuoteResponse *r = quote_lines(f, "c1", "A", 1, NULL, 0);
	assert_int_equal(r->n_compliance, 0);
	assert_int_equal(r->compliance_status, STATUS(PASS));
	Dealdesk__V1__ComplianceCheck c = DEALDESK__V1__COMPLIANCE_CHECK__INIT;
	c.id = "off";
	c.kind = CHECK(MAX_DISCOUNT);
	c.bps = 0;
	c.on_fail = STATUS(BLOCK);
	c.enabled = 0;
	fx_put(f, DD_ENTITY_CHECK, &c.base);
	percent_off(f, "P50", NULL, 5000);
	r = quote_lines(f, "c1", "A", 1, NULL, 0);
	assert_int_equal(r->n_compliance, 0);
	assert_int_equal(r->compliance_status, STATUS(PASS));
	const Dealdesk__V1__TraceEntry *t = trace_of(r, "compliance", "off");
	assert_non_null(t);
	assert_false(t->applied);
	assert_string_equal(t->detail, "disabled");
	/* the same check enabled: 50 % > 0 % */
	c.enabled = 1;
	fx_put(f, DD_ENTITY_CHECK, &c.base);
	r = quote_lines(f, "c1", "A", 1, NULL, 0);
	assert_int_equal(r->compliance_status, STATUS(BLOCK));
	t = trace_of(r, "compliance", "off");
	assert_true(t->applied);
	assert_string_equal(t->detail, "found problems");
}

static void test_worst_status(void **state)
{
	fixture *f = *state;
	fx_check(f, "mm5", CHECK(MIN_MARGIN), 500, STATUS(BLOCK));
	fx_check(f, "md30", CHECK(MAX_DISCOUNT), 3000, STATUS(WARN));
	fx_check(f, "md90", CHECK(MAX_DISCOUNT), 9000, STATUS(BLOCK));
	/* 50 % off A: 5.00 >= 4.20 margin, 50 % > 30 % (WARN), < 90 % */
	percent_off(f, "P50", "A", 5000);
	Dealdesk__V1__QuoteResponse *r = quote_lines(f, "c1", "A", 1, NULL, 0);
	assert_result(r, "mm5", -1, STATUS(PASS), 0, 500, NULL);
	assert_result(r, "md30", 0, STATUS(WARN), 5000, 3000, NULL);
	assert_result(r, "md90", -1, STATUS(PASS), 0, 9000, NULL);
	assert_int_equal(r->compliance_status, STATUS(WARN));
	/* 70 % off: 3.00 < 4.20 too: BLOCK wins */
	percent_off(f, "P50", "A", 7000);
	r = quote_lines(f, "c1", "A", 1, NULL, 0);
	assert_result(r, "mm5", 0, STATUS(BLOCK), -2500, 500, NULL);
	assert_int_equal(r->compliance_status, STATUS(BLOCK));
	/* checks in id order, each with its results */
	assert_string_equal(r->compliance[0]->check_id, "md30");
	assert_string_equal(r->compliance[r->n_compliance - 1]->check_id, "mm5");
}

/* A policy may add results of its own to those of the standard checks. */
static void test_custom_results(void **state)
{
	fixture *f = *state;
	fx_check(f, "mm5", CHECK(MIN_MARGIN), 500, STATUS(BLOCK));
	fx_activate(f, DD_POLICY_COMPLIANCE,
	            "function check(ctx, checks)\n"
	            "  if dd.check_min_margin(checks[1]) == false then dd.check_pass(checks[1]) end\n"
	            "  return { { check = 'custom', status = 'WARN', message = 'watch line 1',\n"
	            "             line = 1, value = 5, limit = 7 },\n"
	            "           { check = 'order-level', status = 'PASS' } }\n"
	            "end\n");
	Dealdesk__V1__QuoteResponse *r = quote_lines(f, "c1", "A", 1, "D", 1);
	assert_int_equal(r->n_compliance, 3);
	assert_string_equal(r->compliance[0]->check_id, "mm5"); /* added as it ran */
	assert_result(r, "custom", 1, STATUS(WARN), 5, 7, "watch line 1");
	assert_result(r, "order-level", -1, STATUS(PASS), 0, 0, "");
	assert_int_equal(r->compliance_status, STATUS(WARN));
	/* malformed results: the fail-safe BLOCK, and nothing else is kept */
	static const char *const bad[] = {
		"'fine'",
		"{ { check = 'x', status = 'FAIL' } }",
		"{ { check = 'x', status = 'PASS', line = 2 } }",
		"{ { check = 'x', status = 'PASS', line = -2 } }",
		"{ { status = 'PASS' } }",
		"{ { check = 'x', status = 'PASS', value = 1.5 } }",
		"{ 'x' }",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char src[512];
		snprintf(src, sizeof(src),
		         "function check(ctx, checks) dd.check_min_margin(checks[1]) return %s end",
		         bad[i]);
		uint64_t v = fx_activate(f, DD_POLICY_COMPLIANCE, src);
		r = quote_lines(f, "c1", "A", 1, "D", 1);
		if (r->compliance_status != STATUS(BLOCK) || r->n_compliance != 1)
			fail_msg("'%s': status %d with %zu results", bad[i], r->compliance_status,
			         r->n_compliance);
		char want[256];
		snprintf(want, sizeof(want), "the compliance policy failed: compliance policy v%llu: "
		         "check() must return an array of {check=, status=PASS|WARN|BLOCK, message=, "
		         "line=, value=, limit=, promotion=, evidence=}", (unsigned long long)v);
		assert_result(r, "policy-error", -1, STATUS(BLOCK), 0, 0, want);
	}
}

static void test_fail_safe_block(void **state)
{
	fixture *f = *state;
	fx_check(f, "mm5", CHECK(MIN_MARGIN), 500, STATUS(BLOCK));
	uint64_t v = fx_activate(f, DD_POLICY_COMPLIANCE,
	                         "function check(ctx, checks)\n"
	                         "  dd.check_pass(checks[1])\n"
	                         "  error('boom')\n"
	                         "end\n");
	Dealdesk__V1__QuoteResponse *r = quote_lines(f, "c1", "A", 1, NULL, 0);
	assert_int_equal(r->n_compliance, 1); /* the PASS before the error is dropped */
	char want[256];
	snprintf(want, sizeof(want), "the compliance policy failed: compliance policy v%llu: "
	         "compliance.v%llu:3: boom", (unsigned long long)v, (unsigned long long)v);
	assert_result(r, "policy-error", -1, STATUS(BLOCK), 0, 0, want);
	assert_int_equal(r->compliance_status, STATUS(BLOCK));
	/* the rest of the quote stands */
	assert_int_equal(r->total, 1000);
	assert_int_equal(r->credit->outcome, OUTCOME(APPROVE));
	/* stopped by its budget: instructions, or memory, or both racing (a
	 * recursion that allocates, found by fuzz_policy answering the same
	 * quote twice with different budgets named): the answer is the same
	 * text whichever budget stopped it, every time */
	static const char *const runaway[] = {
		"function check(ctx, checks) while true do end end",
		"function check(ctx, checks) local t = {} while true do t[#t + 1] = {} end end",
		"function check(ctx, checks0) check(c4x, checks) turn {} end",
	};
	for (size_t i = 0; i < sizeof(runaway) / sizeof(runaway[0]); i++) {
		v = fx_activate(f, DD_POLICY_COMPLIANCE, runaway[i]);
		snprintf(want, sizeof(want), "the compliance policy failed: compliance policy v%llu: "
		         "compliance.v%llu: over its budget (instructions, memory or time; the "
		         "server log says which)", (unsigned long long)v, (unsigned long long)v);
		for (int round = 0; round < 3; round++) {
			r = quote_lines(f, "c1", "A", 1, NULL, 0);
			assert_int_equal(r->compliance_status, STATUS(BLOCK));
			assert_result(r, "policy-error", -1, STATUS(BLOCK), 0, 0, want);
		}
	}
	/* a primitive given something that is not a check */
	fx_activate(f, DD_POLICY_COMPLIANCE, "function check(ctx, checks) dd.check_min_margin({}) end");
	r = quote_lines(f, "c1", "A", 1, NULL, 0);
	assert_int_equal(r->compliance_status, STATUS(BLOCK));
	assert_contains(r->compliance[0]->message, "argument #1 must be a compliance check");
	fx_activate(f, DD_POLICY_COMPLIANCE,
	            "function check(ctx, checks) dd.check_max_discount({ slot = 7 }) end");
	r = quote_lines(f, "c1", "A", 1, NULL, 0);
	assert_contains(r->compliance[0]->message, "argument #1 must be a compliance check");
	/* the checks table is read-only */
	fx_activate(f, DD_POLICY_COMPLIANCE, "function check(ctx, checks) checks[1].bps = 0 end");
	r = quote_lines(f, "c1", "A", 1, NULL, 0);
	assert_int_equal(r->compliance_status, STATUS(BLOCK));
	assert_contains(r->compliance[0]->message, "read-only");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_min_margin, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_unknown_cost_is_a_warning, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_max_discount, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_max_discount_counts_price_adjustments, fx_setup,
		                                fx_teardown),
		cmocka_unit_test_setup_teardown(test_skus_filter, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_gift_lines_skipped, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_disabled_and_absent_checks, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_worst_status, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_custom_results, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_fail_safe_block, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
