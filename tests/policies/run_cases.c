/* Table-driven cases of the shipped policies: tests/policies/<kind>.json,
 * one file per shipped policy (pricing, promotions, credit, compliance),
 * each an array of cases
 *
 *   { "name": "...", "why": "the hand computation (not read)",
 *     "data": { "prices": [PriceEntry], "customers": [Customer],
 *               "promotions": [Promotion], "checks": [ComplianceCheck],
 *               "signals": [SkuSignals], "coupons": [Coupon],
 *               "usage": [{ "kind": "p"|"c", "id", "customer", "uses", "amount" }],
 *               "policy": { "kind": "promotions", "replace": "...", "with": "..." } },
 *     "request": QuoteRequest,
 *     "expect": { ... } }
 *
 * Records and the request are in the protobuf JSON form of the CLI
 * (dd_pbjson, include/dealdesk/pbjson.h). Any string "T0", "T0-3d",
 * "T0+1h", "T0-14d-1s" in data or request is a time relative to T0 =
 * 1790000000 (units d h m s). A request without request_time is at T0.
 *
 * For each case the runner makes a fresh store, installs the shipped
 * policies (and the optional edited one), puts the data, runs dd_quote
 * and compares `expect`:
 *   "error": "text"                the quote fails with a message holding it
 *   "subtotal", "total", ...       any response field: a subset of the
 *   "lines": [ {...}, ... ]        response as JSON, objects by key, arrays
 *   "order_discounts": {id: n}     by index; enums by name with or without
 *                                  their prefix; an object where the
 *                                  response has a list of discounts means
 *                                  {promotion id: sum of amounts}
 *   "discounts": {id: n}           a promotion's discounts over all lines
 *   "lines_count": n
 *   "credit": {..., "reason": "...", "reason_prefix": "..."} (reasons[0])
 *   "compliance": {check id: "PASS"|"WARN"|"BLOCK"|"NONE"} (worst result)
 *   "notes": {promotion id: code}
 *   "coupons": {code: "ACCEPTED" | reason prefix}
 *   "experiments": {experiment id: arm}
 * Every mismatch of every case is reported before the file fails.
 *
 * The machinery is the policy test library (src/policytest/cases.c,
 * include/dealdesk/policytest.h), which also runs a script's own cases
 * (dealdesk-policy-test, SubmitPolicy). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dealdesk/log.h"
#include "dealdesk/policytest.h"

static void run_file(const char *name, dd_policy_kind kind, size_t at_least)
{
	const char *src = getenv("DD_SOURCE_DIR");
	char path[1024];
	snprintf(path, sizeof(path), "%s/tests/policies/%s", src ? src : ".", name);
	FILE *fp = fopen(path, "rb");
	if (fp == NULL)
		fail_msg("cannot open %s (set DD_SOURCE_DIR)", path);
	static char text[1 << 20];
	size_t len = fread(text, 1, sizeof(text), fp);
	fclose(fp);
	assert_true(len < sizeof(text));
	dd_policytest_result res;
	dd_error err;
	if (dd_policytest_run(text, len, kind, NULL, stderr, &res, &err) != DD_OK)
		fail_msg("%s: %s", path, err.msg);
	if (res.passed != res.run)
		fail_msg("%s: %u of %u cases failed; first: %s", name, res.run - res.passed, res.run,
		         res.first_failure);
	if (res.run < at_least)
		fail_msg("%s: %u cases, at least %zu wanted", name, res.run, at_least);
	printf("%s: %u cases passed\n", name, res.run);
}

static void test_pricing(void **state)
{
	(void)state;
	run_file("pricing.json", DD_POLICY_PRICING, 8);
}

static void test_promotions(void **state)
{
	(void)state;
	run_file("promotions.json", DD_POLICY_PROMOTIONS, 8);
}

static void test_credit(void **state)
{
	(void)state;
	run_file("credit.json", DD_POLICY_CREDIT, 8);
}

static void test_compliance(void **state)
{
	(void)state;
	run_file("compliance.json", DD_POLICY_COMPLIANCE, 8);
}

int main(void)
{
	dd_log_set_level(DD_LOG_OFF);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pricing),
		cmocka_unit_test(test_promotions),
		cmocka_unit_test(test_credit),
		cmocka_unit_test(test_compliance),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
