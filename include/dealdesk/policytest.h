/* dealdesk policy tests: a policy script's own test cases, run without a
 * server (`dealdesk-policy-test`, `dealdesk policy test`) and by
 * SubmitPolicy.
 *
 * The cases travel in the script, in one Lua long comment (so they are part
 * of its source and of its content hash, and the script still compiles):
 *
 *   --[=[dealdesk:tests
 *   [ { "name": "...", "data": {...}, "request": QuoteRequest, "expect": {...} } ]
 *   ]=]
 *
 * The JSON is an array of cases (or {"cases": [...]}) in the format of
 * tests/policies/<kind>.json (documented in tests/policies/run_cases.c and
 * README "Policy tests"): each case runs in a fresh store holding the
 * shipped policies, the script under test as the active version of its
 * kind, and the case's data; the quote's response is compared with expect.
 *
 * Engine side: links the quote engine, the store and Lua. The CLI never
 * links this; it execs dealdesk-policy-test. */
#ifndef DEALDESK_POLICYTEST_H
#define DEALDESK_POLICYTEST_H

#include <stddef.h>
#include <stdio.h>

#include "dealdesk/error.h"
#include "dealdesk/model.h"

typedef struct dd_policytest_result {
	unsigned run, passed;
	/* "case 'NAME': what differed" of the first failing case, or "" */
	char first_failure[480];
} dd_policytest_result;

/* The tests block of source: *json, *len point into source. DD_ENOTFOUND
 * when there is none, DD_EINVAL when it is not closed. */
int dd_policytest_extract(const char *source, const char **json, size_t *len);

/* Runs the cases of json (len bytes) with source (NULL = the shipped one)
 * as the active policy of kind. With report, each case is printed as
 * "  PASS  name" or "  FAIL  name" followed by its mismatches ("path: got,
 * want expected"). DD_OK when the cases could be read, whatever their
 * outcome (res says); DD_EINVAL with err when the JSON is not cases. */
int dd_policytest_run(const char *json, size_t len, dd_policy_kind kind, const char *source,
                      FILE *report, dd_policytest_result *res, dd_error *err);

#endif
