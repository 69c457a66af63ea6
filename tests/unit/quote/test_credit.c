/* src/quote/credit.c: stage 5, the credit decision. The engine computes
 * the exposure (open receivables + committed orders + this order, when in
 * the credit currency); the shipped credit policy (policies/credit.lua)
 * chooses the outcome by tier, as a share of the limit rounded up in basis
 * points:
 *
 *   tier  approve  shorter (net 15)  deposit  beyond
 *   A     100 %    110 %             130 %    REVIEW
 *   B      90 %    100 %             120 %    REVIEW
 *   C      80 %     90 %             100 %    PREPAY   (also unknown tiers)
 *   D       0 %      0 %              80 %    PREPAY
 *
 * Each boundary is tested exactly at the limit and one minor unit above.
 * The orders are n x D (20.00); limits are 1000.00 unless said. */
#include "fixture.h"

typedef struct credit_case {
	const char *tier;
	int64_t limit, receivables, committed;
	int64_t units; /* of D */
	int outcome;
	int32_t terms;
	int64_t deposit;
	const char *reason; /* the whole first reason, or a prefix ending in ':' */
} credit_case;

static const Dealdesk__V1__QuoteResponse *quote_customer(fixture *f, fx_customer *c,
                                                         const char *sku, int64_t units)
{
	fx_put_customer(f, c);
	req_buf b;
	req_init(&b, c->c.id, "USD", "web");
	req_line(&b, sku, units);
	return quote_ok(f, &b);
}

static const Dealdesk__V1__CreditDecision *decide(fixture *f, const credit_case *k)
{
	fx_customer c;
	fx_customer_init(&c, "cust", "USD", k->tier, k->limit);
	c.cr.open_receivables = k->receivables;
	c.cr.committed_orders = k->committed;
	return quote_customer(f, &c, "D", k->units)->credit;
}

static void run_cases(fixture *f, const credit_case *cs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const credit_case *k = &cs[i];
		const Dealdesk__V1__CreditDecision *d = decide(f, k);
		int64_t exposure = k->receivables + k->committed + 2000 * k->units;
		if ((int)d->outcome != k->outcome || d->payment_terms_days != k->terms ||
		    d->deposit_amount != k->deposit)
			fail_msg("case %zu (tier %s, exposure %lld): outcome %d terms %d deposit %lld; "
			         "wanted %d %d %lld (%s)",
			         i, k->tier, (long long)exposure, d->outcome, d->payment_terms_days,
			         (long long)d->deposit_amount, k->outcome, k->terms,
			         (long long)k->deposit, d->n_reasons ? d->reasons[0] : "");
		assert_int_equal(d->exposure, exposure);
		assert_int_equal(d->credit_limit, k->limit);
		assert_int_equal(d->available_credit, k->limit - exposure);
		/* the tier the decision used: an unknown or empty one is the default C */
		assert_string_equal(d->tier, strcmp(k->tier, "Z") == 0 || !*k->tier ? "C" : k->tier);
		assert_true(d->n_reasons >= 1); /* the reason, then what would approve it, who may override and the checks */
		size_t len = strlen(k->reason);
		if (k->reason[len - 1] == ':')
			assert_prefix(d->reasons[0], k->reason);
		else
			assert_string_equal(d->reasons[0], k->reason);
	}
}

static void test_tier_a_boundaries(void **state)
{
	const credit_case cs[] = {
		/* 980.00 + 20.00 = 1000.00: exactly 100 % */
		{ "A", 100000, 98000, 0, 1, OUTCOME(APPROVE), 30, 0,
		  "EXPOSURE_WITHIN_LIMIT: exposure 1000.00 is 100.00% of the limit 1000.00 (tier A)" },
		/* one cent more: 100.001 % rounds up to 100.01 % */
		{ "A", 100000, 98001, 0, 1, OUTCOME(APPROVE_SHORTER_TERMS), 15, 0,
		  "EXPOSURE_NEAR_LIMIT: exposure 1000.01 is 100.01% of the limit 1000.00 (tier A); "
		  "terms shortened" },
		/* committed orders count as much as receivables */
		{ "A", 100000, 50000, 48000, 1, OUTCOME(APPROVE), 30, 0, "EXPOSURE_WITHIN_LIMIT:" },
		{ "A", 100000, 108000, 0, 1, OUTCOME(APPROVE_SHORTER_TERMS), 15, 0,
		  "EXPOSURE_NEAR_LIMIT: exposure 1100.00 is 110.00% of the limit 1000.00 (tier A); "
		  "terms shortened" },
		/* 1100.01: the deposit covers what is above 1000.00, capped at
		 * the order (20.00) */
		{ "A", 100000, 108001, 0, 1, OUTCOME(DEPOSIT), 30, 2000,
		  "EXPOSURE_OVER_LIMIT: exposure 1100.01 is 110.01% of the limit 1000.00 (tier A); "
		  "deposit 20.00" },
		/* 990.00 + 6 x 20.00 = 1110.00: 110.00 above the line, less
		 * than the order's 120.00 */
		{ "A", 100000, 99000, 0, 6, OUTCOME(DEPOSIT), 30, 11000,
		  "EXPOSURE_OVER_LIMIT: exposure 1110.00 is 111.00% of the limit 1000.00 (tier A); "
		  "deposit 110.00" },
		{ "A", 100000, 128000, 0, 1, OUTCOME(DEPOSIT), 30, 2000, "EXPOSURE_OVER_LIMIT:" },
		{ "A", 100000, 128001, 0, 1, OUTCOME(REVIEW), 0, 0,
		  "EXPOSURE_FAR_OVER_LIMIT: exposure 1300.01 is 130.01% of the limit 1000.00 (tier A)" },
		/* a large limit: one cent over 100 % still counts (rounded up) */
		{ "A", 100000000, 99998000, 0, 1, OUTCOME(APPROVE), 30, 0,
		  "EXPOSURE_WITHIN_LIMIT: exposure 1000000.00 is 100.00% of the limit 1000000.00 "
		  "(tier A)" },
		{ "A", 100000000, 99998001, 0, 1, OUTCOME(APPROVE_SHORTER_TERMS), 15, 0,
		  "EXPOSURE_NEAR_LIMIT: exposure 1000000.01 is 100.01% of the limit 1000000.00 "
		  "(tier A); terms shortened" },
	};
	run_cases(*state, cs, sizeof(cs) / sizeof(cs[0]));
}

static void test_tier_b_boundaries(void **state)
{
	const credit_case cs[] = {
		{ "B", 100000, 88000, 0, 1, OUTCOME(APPROVE), 30, 0,
		  "EXPOSURE_WITHIN_LIMIT: exposure 900.00 is 90.00% of the limit 1000.00 (tier B)" },
		{ "B", 100000, 88001, 0, 1, OUTCOME(APPROVE_SHORTER_TERMS), 15, 0,
		  "EXPOSURE_NEAR_LIMIT:" },
		{ "B", 100000, 98000, 0, 1, OUTCOME(APPROVE_SHORTER_TERMS), 15, 0,
		  "EXPOSURE_NEAR_LIMIT:" },
		/* 1000.01: the deposit line is 90 % (900.00): 100.01 capped at 20.00 */
		{ "B", 100000, 98001, 0, 1, OUTCOME(DEPOSIT), 30, 2000,
		  "EXPOSURE_OVER_LIMIT: exposure 1000.01 is 100.01% of the limit 1000.00 (tier B); "
		  "deposit 20.00" },
		/* 800.00 + 11 x 20.00 = 1020.00: 120.00 above 900.00 */
		{ "B", 100000, 80000, 0, 11, OUTCOME(DEPOSIT), 30, 12000,
		  "EXPOSURE_OVER_LIMIT: exposure 1020.00 is 102.00% of the limit 1000.00 (tier B); "
		  "deposit 120.00" },
		{ "B", 100000, 118000, 0, 1, OUTCOME(DEPOSIT), 30, 2000, "EXPOSURE_OVER_LIMIT:" },
		{ "B", 100000, 118001, 0, 1, OUTCOME(REVIEW), 0, 0,
		  "EXPOSURE_FAR_OVER_LIMIT: exposure 1200.01 is 120.01% of the limit 1000.00 (tier B)" },
	};
	run_cases(*state, cs, sizeof(cs) / sizeof(cs[0]));
}

static void test_tier_c_boundaries(void **state)
{
	const credit_case cs[] = {
		{ "C", 100000, 78000, 0, 1, OUTCOME(APPROVE), 30, 0, "EXPOSURE_WITHIN_LIMIT:" },
		{ "C", 100000, 78001, 0, 1, OUTCOME(APPROVE_SHORTER_TERMS), 15, 0,
		  "EXPOSURE_NEAR_LIMIT: exposure 800.01 is 80.01% of the limit 1000.00 (tier C); "
		  "terms shortened" },
		{ "C", 100000, 88000, 0, 1, OUTCOME(APPROVE_SHORTER_TERMS), 15, 0,
		  "EXPOSURE_NEAR_LIMIT:" },
		/* 900.01: above the 800.00 line by 100.01, capped at 20.00 */
		{ "C", 100000, 88001, 0, 1, OUTCOME(DEPOSIT), 30, 2000, "EXPOSURE_OVER_LIMIT:" },
		{ "C", 100000, 98000, 0, 1, OUTCOME(DEPOSIT), 30, 2000,
		  "EXPOSURE_OVER_LIMIT: exposure 1000.00 is 100.00% of the limit 1000.00 (tier C); "
		  "deposit 20.00" },
		{ "C", 100000, 98001, 0, 1, OUTCOME(PREPAY), 0, 0,
		  "EXPOSURE_FAR_OVER_LIMIT: exposure 1000.01 is 100.01% of the limit 1000.00 (tier C)" },
		/* an unknown or empty tier is treated as C */
		{ "Z", 100000, 78000, 0, 1, OUTCOME(APPROVE), 30, 0,
		  "EXPOSURE_WITHIN_LIMIT: exposure 800.00 is 80.00% of the limit 1000.00 (tier C, the default)" },
		{ "", 100000, 98001, 0, 1, OUTCOME(PREPAY), 0, 0,
		  "EXPOSURE_FAR_OVER_LIMIT: exposure 1000.01 is 100.01% of the limit 1000.00 (tier C, the default)" },
	};
	run_cases(*state, cs, sizeof(cs) / sizeof(cs[0]));
}

static void test_tier_d_boundaries(void **state)
{
	const credit_case cs[] = {
		/* any exposure above 0: a deposit of all of it, capped at the order */
		{ "D", 100000, 0, 0, 1, OUTCOME(DEPOSIT), 30, 2000,
		  "EXPOSURE_OVER_LIMIT: exposure 20.00 is 2.00% of the limit 1000.00 (tier D); "
		  "deposit 20.00" },
		{ "D", 100000, 78000, 0, 1, OUTCOME(DEPOSIT), 30, 2000, "EXPOSURE_OVER_LIMIT:" },
		{ "D", 100000, 78001, 0, 1, OUTCOME(PREPAY), 0, 0,
		  "EXPOSURE_FAR_OVER_LIMIT: exposure 800.01 is 80.01% of the limit 1000.00 (tier D)" },
	};
	fixture *f = *state;
	run_cases(f, cs, sizeof(cs) / sizeof(cs[0]));
	/* nothing owed and a free order: 0 % is within the D approval line */
	fx_price(f, "FREE", "f", 0, 0);
	fx_customer c;
	fx_customer_init(&c, "cust", "USD", "D", 100000);
	const Dealdesk__V1__CreditDecision *d = quote_customer(f, &c, "FREE", 1)->credit;
	assert_int_equal(d->outcome, OUTCOME(APPROVE));
	assert_string_equal(d->reasons[0],
	                    "EXPOSURE_WITHIN_LIMIT: exposure 0.00 is 0.00% of the limit 1000.00 (tier D)");
}

static void test_shorter_terms_never_longer(void **state)
{
	fixture *f = *state;
	fx_customer c;
	fx_customer_init(&c, "cust", "USD", "A", 100000);
	c.cr.open_receivables = 99000; /* + 20.00 = 101 % */
	c.cr.standard_terms_days = 10;
	const Dealdesk__V1__CreditDecision *d = quote_customer(f, &c, "D", 1)->credit;
	assert_int_equal(d->outcome, OUTCOME(APPROVE_SHORTER_TERMS));
	assert_int_equal(d->payment_terms_days, 10); /* already shorter than net 15 */
	c.cr.standard_terms_days = 60;
	d = quote_customer(f, &c, "D", 1)->credit;
	assert_int_equal(d->payment_terms_days, 15);
	c.cr.open_receivables = 0;
	d = quote_customer(f, &c, "D", 1)->credit;
	assert_int_equal(d->outcome, OUTCOME(APPROVE));
	assert_int_equal(d->payment_terms_days, 60);
}

static void test_no_credit_line(void **state)
{
	fixture *f = *state;
	fx_customer c;
	fx_customer_init(&c, "cash", "USD", "A", 0);
	c.c.credit = NULL;
	const Dealdesk__V1__CreditDecision *d = quote_customer(f, &c, "D", 1)->credit;
	assert_int_equal(d->outcome, OUTCOME(PREPAY));
	assert_int_equal(d->payment_terms_days, 0);
	assert_true(d->n_reasons >= 1); /* the reason, then what would approve it, who may override and the checks */
	assert_string_equal(d->reasons[0], "NO_CREDIT_LINE: the customer has no credit limit");
	assert_int_equal(d->exposure, 0);
	assert_int_equal(d->credit_limit, 0);
	assert_int_equal(d->available_credit, 0);
	assert_string_equal(d->tier, "");
	/* a profile with a zero limit: the same, with its exposure shown */
	fx_customer_init(&c, "cash", "USD", "A", 0);
	c.cr.open_receivables = 500;
	d = quote_customer(f, &c, "D", 1)->credit;
	assert_int_equal(d->outcome, OUTCOME(PREPAY));
	assert_string_equal(d->reasons[0], "NO_CREDIT_LINE: the customer has no credit limit");
	assert_int_equal(d->exposure, 2500);
	assert_int_equal(d->available_credit, -2500);
	/* no credit line wins over a hold */
	c.cr.hold = 1;
	d = quote_customer(f, &c, "D", 1)->credit;
	assert_int_equal(d->outcome, OUTCOME(PREPAY));
}

static void test_review_and_decline(void **state)
{
	fixture *f = *state;
	fx_customer c;
	const Dealdesk__V1__CreditDecision *d;

	fx_customer_init(&c, "cust", "USD", "A", 100000);
	c.cr.hold = 1;
	d = quote_customer(f, &c, "D", 1)->credit;
	assert_int_equal(d->outcome, OUTCOME(REVIEW));
	assert_int_equal(d->payment_terms_days, 0);
	assert_string_equal(d->reasons[0], "CREDIT_HOLD: finance put the account on hold");
	c.cr.currency = "EUR"; /* the hold is reported first */
	d = quote_customer(f, &c, "D", 1)->credit;
	assert_prefix(d->reasons[0], "CREDIT_HOLD:");

	/* credit kept in EUR: the USD order is not added to the exposure */
	fx_customer_init(&c, "cust", "EUR", "A", 100000);
	c.cr.open_receivables = 30000;
	c.cr.committed_orders = 5000;
	c.cr.oldest_overdue_days = 120; /* reported after the currency */
	d = quote_customer(f, &c, "D", 1)->credit;
	assert_int_equal(d->outcome, OUTCOME(REVIEW));
	assert_string_equal(d->reasons[0],
	                    "CURRENCY_MISMATCH: credit is kept in EUR, the order is in USD");
	assert_int_equal(d->exposure, 35000);
	assert_int_equal(d->available_credit, 65000);

	/* overdue: review above 60 days, decline above 90 */
	struct {
		int32_t days;
		int outcome;
		const char *reason;
	} od[] = {
		{ 60, OUTCOME(APPROVE), "EXPOSURE_WITHIN_LIMIT:" },
		{ 61, OUTCOME(REVIEW), "OVERDUE: oldest open item 61 days past due (review above 60)" },
		{ 90, OUTCOME(REVIEW), "OVERDUE: oldest open item 90 days past due (review above 60)" },
		{ 91, OUTCOME(DECLINE), "OVERDUE: oldest open item 91 days past due (decline above 90)" },
	};
	for (size_t i = 0; i < 4; i++) {
		fx_customer_init(&c, "cust", "USD", "A", 100000);
		c.cr.oldest_overdue_days = od[i].days;
		c.cr.next_review_at = T0 - DAY; /* the decline comes before the review date */
		if (i == 0)
			c.cr.next_review_at = 0;
		d = quote_customer(f, &c, "D", 1)->credit;
		assert_int_equal(d->outcome, od[i].outcome);
		assert_prefix(d->reasons[0], od[i].reason);
		assert_int_equal(d->deposit_amount, 0);
	}

	/* the review date: due at it, not a second before */
	int64_t dates[] = { T0, T0 - 1, T0 + 1 };
	for (size_t i = 0; i < 3; i++) {
		fx_customer_init(&c, "cust", "USD", "A", 100000);
		c.cr.next_review_at = dates[i];
		d = quote_customer(f, &c, "D", 1)->credit;
		if (i < 2) {
			assert_int_equal(d->outcome, OUTCOME(REVIEW));
			assert_string_equal(d->reasons[0], "REVIEW_DUE: the credit review date has passed");
		} else {
			assert_int_equal(d->outcome, OUTCOME(APPROVE));
		}
	}
}

/* Amounts in the credit currency's own exponent. */
static void test_currency_exponents(void **state)
{
	fixture *f = *state;
	fx_price_full(f, "kwd", "D", "KWD", "z", 2000, 0, 0, 0);
	fx_price_full(f, "jpy", "D", "JPY", "z", 2000, 0, 0, 0);
	fx_customer c;
	fx_customer_init(&c, "kw", "KWD", "A", 10000000);
	c.cr.open_receivables = 2000000;
	fx_put_customer(f, &c);
	req_buf b;
	req_init(&b, "kw", "KWD", "");
	req_line(&b, "D", 1);
	const Dealdesk__V1__CreditDecision *d = quote_ok(f, &b)->credit;
	/* 2000.000 + 2.000 of 10000.000 = 20.02 % */
	assert_string_equal(d->reasons[0], "EXPOSURE_WITHIN_LIMIT: exposure 2002.000 is 20.02% of "
	                                   "the limit 10000.000 (tier A)");
	fx_customer_init(&c, "jp", "JPY", "B", 300000);
	c.cr.open_receivables = 268001;
	fx_put_customer(f, &c);
	req_init(&b, "jp", "JPY", "");
	req_line(&b, "D", 1);
	d = quote_ok(f, &b)->credit;
	/* 270001 of 300000 = 90.0003 % -> 90.01 %: tier B shortens */
	assert_int_equal(d->outcome, OUTCOME(APPROVE_SHORTER_TERMS));
	assert_string_equal(d->reasons[0], "EXPOSURE_NEAR_LIMIT: exposure 270001 is 90.01% of the "
	                                   "limit 300000 (tier B); terms shortened");
}

/* Exposure that overflows int64: REVIEW before any policy runs. */
static void test_exposure_overflow(void **state)
{
	fixture *f = *state;
	fx_customer c;
	fx_customer_init(&c, "big", "USD", "A", INT64_MAX);
	c.cr.open_receivables = INT64_MAX;
	c.cr.committed_orders = 1;
	const Dealdesk__V1__CreditDecision *d = quote_customer(f, &c, "D", 1)->credit;
	assert_int_equal(d->outcome, OUTCOME(REVIEW));
	assert_string_equal(d->reasons[0], "POLICY_ERROR: exposure overflows int64");
	c.cr.committed_orders = 0;
	c.cr.open_receivables = INT64_MAX - 1999; /* + 20.00 overflows by one */
	d = quote_customer(f, &c, "D", 1)->credit;
	assert_string_equal(d->reasons[0], "POLICY_ERROR: exposure overflows int64");
	c.cr.open_receivables = INT64_MAX - 2000; /* exactly INT64_MAX */
	d = quote_customer(f, &c, "D", 1)->credit;
	assert_int_equal(d->outcome, OUTCOME(APPROVE));
	assert_int_equal(d->exposure, INT64_MAX);
	assert_int_equal(d->available_credit, 0);
}

/* Reasons are free text: made valid UTF-8 (U+FFFD) and cut at 512 bytes,
 * the decision stands. */
static void test_reasons_cleaned(void **state)
{
	fixture *f = *state;
	fx_activate(f, DD_POLICY_CREDIT,
	            "function decide(ctx, credit) return { outcome = 'APPROVE', reasons = "
	            "{ ('x'):rep(513), 'a\\0b', '\\255' } } end");
	req_buf b;
	req_c1(&b);
	req_line(&b, "D", 1);
	const Dealdesk__V1__CreditDecision *d = quote_ok(f, &b)->credit;
	assert_int_equal(d->outcome, OUTCOME(APPROVE));
	assert_int_equal(d->n_reasons, 3);
	assert_int_equal(strlen(d->reasons[0]), 512);
	assert_string_equal(d->reasons[1], "a\xEF\xBF\xBD" "b");
	assert_string_equal(d->reasons[2], "\xEF\xBF\xBD");
}

/* A credit policy that fails or answers garbage: REVIEW with the reason,
 * never an approval, and the quote still succeeds. */
static void test_fail_safe_review(void **state)
{
	fixture *f = *state;
	static const char *const bad[] = {
		"return 'APPROVE'",
		"return nil",
		"return {}",
		"return { outcome = 'MAYBE' }",
		"return { outcome = 'approve' }",
		"return { outcome = 1 }",
		"return { outcome = 'APPROVE', terms_days = 366 }",
		"return { outcome = 'APPROVE', terms_days = -1 }",
		"return { outcome = 'APPROVE', terms_days = 30.0 }",
		"return { outcome = 'DEPOSIT', deposit = 2001 }",
		"return { outcome = 'DEPOSIT', deposit = -1 }",
		"return { outcome = 'APPROVE', reasons = { 1 } }",
	};
	req_buf b;
	req_c1(&b);
	req_line(&b, "D", 1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char src[256];
		snprintf(src, sizeof(src), "function decide(ctx, credit) %s end", bad[i]);
		uint64_t v = fx_activate(f, DD_POLICY_CREDIT, src);
		Dealdesk__V1__QuoteResponse *r = quote_ok(f, &b);
		const Dealdesk__V1__CreditDecision *d = r->credit;
		if (d->outcome != OUTCOME(REVIEW))
			fail_msg("'%s': outcome %d", bad[i], d->outcome);
		assert_int_equal(d->payment_terms_days, 0);
		assert_int_equal(d->deposit_amount, 0);
		assert_true(d->n_reasons >= 1); /* the reason, then what would approve it, who may override and the checks */
		char want[128];
		snprintf(want, sizeof(want), "POLICY_ERROR: credit policy v%llu: decide() must return "
		         "{outcome=APPROVE|", (unsigned long long)v);
		assert_prefix(d->reasons[0], want);
		assert_int_equal(d->exposure, 2000);
		assert_int_equal(r->total, 2000);
		assert_int_equal(r->versions->credit_policy, v);
	}
	/* an error names the script and the line */
	uint64_t v = fx_activate(f, DD_POLICY_CREDIT,
	                         "function decide(ctx, credit)\n  return credit.nothing.x\nend\n");
	const Dealdesk__V1__CreditDecision *d = quote_ok(f, &b)->credit;
	assert_int_equal(d->outcome, OUTCOME(REVIEW));
	char want[64];
	snprintf(want, sizeof(want), "POLICY_ERROR: credit policy v%llu: credit.v%llu:2:",
	         (unsigned long long)v, (unsigned long long)v);
	assert_prefix(d->reasons[0], want);
	/* a budget: stopped, REVIEW */
	fx_activate(f, DD_POLICY_CREDIT, "function decide(ctx, credit) while true do end end");
	d = quote_ok(f, &b)->credit;
	assert_int_equal(d->outcome, OUTCOME(REVIEW));
	assert_prefix(d->reasons[0], "POLICY_ERROR: ");
	/* a missing entry function cannot be uploaded; a policy that defines
	 * decide as something else fails safe too */
	fx_activate(f, DD_POLICY_CREDIT,
	            "function decide(ctx, credit) error({ code = 1 }) end");
	d = quote_ok(f, &b)->credit;
	assert_int_equal(d->outcome, OUTCOME(REVIEW));
	assert_prefix(d->reasons[0], "POLICY_ERROR: ");
}

/* A policy's error text reaches the fail-safe reason as valid UTF-8 cut
 * on a character boundary: each byte of an overlong sequence becomes
 * U+FFFD and a long message ends on a whole character (found by
 * tests/fuzz/fuzz_policy; its seed regress-overlong-error-reason). */
static void test_fail_safe_reason_utf8(void **state)
{
	fixture *f = *state;
	uint64_t v = fx_activate(f, DD_POLICY_CREDIT,
	                         "function decide(ctx, credit)\n"
	                         "  error('\\xe0\\x82\\xac' .. string.rep('\\xe2\\x82\\xac', 300))\n"
	                         "end\n");
	req_buf b;
	req_c1(&b);
	req_line(&b, "D", 1);
	const Dealdesk__V1__CreditDecision *d = quote_ok(f, &b)->credit;
	assert_int_equal(d->outcome, OUTCOME(REVIEW));
	char want[96];
	snprintf(want, sizeof(want), "POLICY_ERROR: credit policy v%llu: credit.v%llu:2: "
	         "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xe2\x82\xac",
	         (unsigned long long)v, (unsigned long long)v);
	assert_prefix(d->reasons[0], want);
	size_t len = strlen(d->reasons[0]);
	assert_true(dd_utf8_valid(d->reasons[0], len));
	assert_true(len <= strlen("POLICY_ERROR: ") + 511);
	assert_string_equal(d->reasons[0] + len - 3, "\xe2\x82\xac");
}

/* A well-formed answer is taken as it is. */
static void test_policy_answer_read_back(void **state)
{
	fixture *f = *state;
	fx_activate(f, DD_POLICY_CREDIT,
	            "function decide(ctx, credit)\n"
	            "  local rs = {}\n"
	            "  for i = 1, 40 do rs[i] = 'R' .. i end\n"
	            "  return { outcome = 'DEPOSIT', terms_days = 7, deposit = credit.order_total,\n"
	            "           reasons = rs }\n"
	            "end\n");
	req_buf b;
	req_c1(&b);
	req_line(&b, "D", 2);
	const Dealdesk__V1__CreditDecision *d = quote_ok(f, &b)->credit;
	assert_int_equal(d->outcome, OUTCOME(DEPOSIT));
	assert_int_equal(d->payment_terms_days, 7);
	assert_int_equal(d->deposit_amount, 4000);
	assert_int_equal(d->n_reasons, 32); /* at most 32 are kept */
	assert_string_equal(d->reasons[0], "R1");
	assert_string_equal(d->reasons[31], "R32");
	/* no reasons at all is allowed */
	fx_activate(f, DD_POLICY_CREDIT,
	            "function decide(ctx, credit) return { outcome = 'DECLINE' } end");
	d = quote_ok(f, &b)->credit;
	assert_int_equal(d->outcome, OUTCOME(DECLINE));
	assert_int_equal(d->n_reasons, 0);
	assert_int_equal(d->payment_terms_days, 0);
}

/* The tier table kept as data: a stored table replaces the built-in one as
 * a whole; a scored profile takes the row of its score range, others the
 * row they name, else the default row; a profile without a limit or terms
 * takes the tier's; with no row that applies the decision is REVIEW. */
static Dealdesk__V1__CreditTier tier_row(const char *name, int32_t lo, int32_t hi,
                                         int32_t ap, int32_t sh, int32_t de, const char *beyond)
{
	Dealdesk__V1__CreditTier t = DEALDESK__V1__CREDIT_TIER__INIT;
	t.name = (char *)name;
	t.min_score = lo;
	t.max_score = hi;
	t.approve_bps = ap;
	t.shorter_bps = sh;
	t.deposit_bps = de;
	t.beyond = (char *)beyond;
	t.shorter_terms_days = 10;
	t.review_overdue_days = 30;
	t.decline_overdue_days = 45;
	return t;
}

static void test_stored_tier_table(void **state)
{
	fixture *f = *state;
	Dealdesk__V1__CreditTier gold = tier_row("GOLD", 70, 100, 9500, 10500, 12000, "DECLINE");
	Dealdesk__V1__CreditTier std = tier_row("STD", 0, 0, 5000, 6000, 7000, "REVIEW");
	std.is_default = 1;
	std.credit_limit = 50000;
	std.currency = "USD";
	std.terms_days = 20;
	fx_put(f, DD_ENTITY_CREDIT_TIER, &gold.base);
	fx_put(f, DD_ENTITY_CREDIT_TIER, &std.base);

	/* score 75: GOLD; 950.00 of 1000.00 = 95.00 % is still approved */
	fx_customer c;
	fx_customer_init(&c, "cust", "USD", "", 100000);
	c.cr.score = 75;
	c.cr.open_receivables = 93000;
	const Dealdesk__V1__CreditDecision *d = quote_customer(f, &c, "D", 1)->credit;
	assert_int_equal(d->outcome, OUTCOME(APPROVE));
	assert_string_equal(d->tier, "GOLD");
	assert_string_equal(d->reasons[0], "EXPOSURE_WITHIN_LIMIT: exposure 950.00 is 95.00% of the "
	                                   "limit 1000.00 (tier GOLD from score 75)");
	/* one minor unit over 95 %: GOLD's shorter terms are 10 days */
	c.cr.open_receivables = 93001;
	d = quote_customer(f, &c, "D", 1)->credit;
	assert_int_equal(d->outcome, OUTCOME(APPROVE_SHORTER_TERMS));
	assert_int_equal(d->payment_terms_days, 10);
	/* past 120 %: GOLD's `beyond` is DECLINE */
	c.cr.open_receivables = 118001;
	d = quote_customer(f, &c, "D", 1)->credit;
	assert_int_equal(d->outcome, OUTCOME(DECLINE));
	assert_prefix(d->reasons[0], "EXPOSURE_FAR_OVER_LIMIT: exposure 1200.01 is 120.01% of the "
	                             "limit 1000.00 (tier GOLD from score 75)");
	/* GOLD's overdue thresholds: review above 30 days, decline above 45 */
	c.cr.open_receivables = 0;
	c.cr.oldest_overdue_days = 31;
	d = quote_customer(f, &c, "D", 1)->credit;
	assert_int_equal(d->outcome, OUTCOME(REVIEW));
	assert_string_equal(d->reasons[0], "OVERDUE: oldest open item 31 days past due (review above 30)");
	c.cr.oldest_overdue_days = 46;
	d = quote_customer(f, &c, "D", 1)->credit;
	assert_int_equal(d->outcome, OUTCOME(DECLINE));
	c.cr.oldest_overdue_days = 0;

	/* tier "B" is no longer a row: the default STD, with its limit of
	 * 500.00 and its 20 days for a profile that has neither */
	fx_customer_init(&c, "cust", "USD", "B", 0);
	c.cr.standard_terms_days = 0;
	c.cr.open_receivables = 23000;
	d = quote_customer(f, &c, "D", 1)->credit;
	assert_int_equal(d->outcome, OUTCOME(APPROVE));
	assert_int_equal(d->payment_terms_days, 20);
	assert_int_equal(d->credit_limit, 50000);
	assert_string_equal(d->tier, "STD");
	assert_string_equal(d->reasons[0], "EXPOSURE_WITHIN_LIMIT: exposure 250.00 is 50.00% of the "
	                                   "limit 500.00 (tier STD, the default)");
	/* the tier's limit is in USD: a EUR profile without a limit has none */
	fx_customer_init(&c, "cust", "EUR", "STD", 0);
	d = quote_customer(f, &c, "D", 1)->credit;
	assert_int_equal(d->outcome, OUTCOME(PREPAY));

	/* without a default row, a profile no row applies to goes to review */
	std.is_default = 0;
	fx_put(f, DD_ENTITY_CREDIT_TIER, &std.base);
	fx_customer_init(&c, "cust", "USD", "B", 100000);
	d = quote_customer(f, &c, "D", 1)->credit;
	assert_int_equal(d->outcome, OUTCOME(REVIEW));
	assert_string_equal(d->tier, "B");
	assert_prefix(d->reasons[0], "NO_TIER: ");
	/* a score outside every range falls back to the row the profile names */
	fx_customer_init(&c, "cust", "USD", "STD", 100000);
	c.cr.score = 40;
	c.cr.open_receivables = 58000; /* 60.00 %: STD's shorter terms */
	d = quote_customer(f, &c, "D", 1)->credit;
	assert_int_equal(d->outcome, OUTCOME(APPROVE_SHORTER_TERMS));
	assert_string_equal(d->tier, "STD");

	/* deleting every row brings the built-in table back */
	dd_error err;
	dd_error_clear(&err);
	const char *gk[1] = { "GOLD" }, *sk[1] = { "STD" };
	assert_int_equal(dd_admin_delete(f->store, DD_ENTITY_CREDIT_TIER, gk, NULL, &err), DD_OK);
	assert_int_equal(dd_admin_delete(f->store, DD_ENTITY_CREDIT_TIER, sk, NULL, &err), DD_OK);
	fx_customer_init(&c, "cust", "USD", "B", 100000);
	c.cr.open_receivables = 88000; /* 90.00 %: B approves */
	d = quote_customer(f, &c, "D", 1)->credit;
	assert_int_equal(d->outcome, OUTCOME(APPROVE));
	assert_string_equal(d->tier, "B");
}

/* What finance may write: ranges, thresholds in order, a known outcome. */
static void test_tier_validation(void **state)
{
	fixture *f = *state;
	struct { Dealdesk__V1__CreditTier t; const char *msg; } bad[6];
	bad[0].t = tier_row("X", 50, 40, 0, 0, 0, "REVIEW");
	bad[0].msg = "tiers[0].max_score: 40 is out of range [50, 100]";
	bad[1].t = tier_row("X", 0, 0, 5000, 4000, 6000, "REVIEW");
	bad[1].msg = "tiers[0].shorter_bps: 4000 is out of range [5000, 100000]";
	bad[2].t = tier_row("X", 0, 0, 0, 0, 0, "APPROVE");
	bad[2].msg = "tiers[0].beyond: must be REVIEW, PREPAY or DECLINE";
	bad[3].t = tier_row("X", 10, 0, 0, 0, 0, "REVIEW");
	bad[3].msg = "tiers[0].max_score: 0 is out of range [10, 100]";
	bad[4].t = tier_row("X", 0, 0, 0, 0, 0, "REVIEW");
	bad[4].t.decline_overdue_days = 10;
	bad[4].msg = "tiers[0].decline_overdue_days: 10 is out of range [30, 36500]";
	bad[5].t = tier_row("X", 0, 0, 0, 0, 0, "REVIEW");
	bad[5].t.credit_limit = 100;
	bad[5].msg = "tiers[0].currency: unknown ISO 4217 currency ''";
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		dd_error err;
		dd_error_clear(&err);
		ProtobufCMessage *items[1] = { &bad[i].t.base };
		dd_admin_write *w = NULL;
		dd_arena a;
		dd_arena_init(&a, 4096, 0);
		int rc = dd_admin_put_prepare(DD_ENTITY_CREDIT_TIER, items, 1, "tiers", &a, &w, &err);
		if (rc != DD_EINVAL || strcmp(err.msg, bad[i].msg) != 0)
			fail_msg("case %zu: rc %d '%s', wanted '%s'", i, rc, err.msg, bad[i].msg);
		dd_arena_free(&a);
	}
	(void)f;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reasons_cleaned, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_tier_a_boundaries, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_tier_b_boundaries, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_tier_c_boundaries, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_tier_d_boundaries, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_shorter_terms_never_longer, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_no_credit_line, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_review_and_decline, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_currency_exponents, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_exposure_overflow, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_fail_safe_review, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_policy_answer_read_back, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_stored_tier_table, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_tier_validation, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_fail_safe_reason_utf8, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
