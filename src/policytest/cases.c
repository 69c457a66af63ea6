/* dealdesk policy tests: table-driven cases run against a policy, each in a
 * fresh store (see include/dealdesk/policytest.h for the format). The
 * machinery of tests/policies/run_cases.c, made a library so that the
 * shipped policies' cases, `dealdesk-policy-test` and SubmitPolicy run the
 * same code. */
#include "dealdesk/policytest.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dealdesk/admin.h"
#include "dealdesk/compliance.h"
#include "dealdesk/history.h"
#include "dealdesk/pbjson.h"
#include "dealdesk/quote.h"
#include "dealdesk/store.h"
#include "dealdesk/v1/orders.pb-c.h"

#include "policytest_int.h"

void policytest_mismatch(run *r, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (r->failures == 0)
		snprintf(r->first, sizeof(r->first), "%.299s", msg);
	if (r->report) {
		if (r->failures == 0)
			fprintf(r->report, "  FAIL  %s\n", r->name);
		fprintf(r->report, "        %s\n", msg);
	}
	r->failures++;
}

/* ---- times relative to T0 -------------------------------------------------------- */

static int parse_time(const char *s, int64_t *out)
{
	if (strncmp(s, "T0", 2) != 0)
		return 0;
	int64_t t = T0;
	const char *p = s + 2;
	while (*p) {
		int sign = *p == '+' ? 1 : *p == '-' ? -1 : 0;
		if (sign == 0 || !isdigit((unsigned char)p[1]))
			return 0;
		char *end;
		long long n = strtoll(p + 1, &end, 10);
		int64_t unit = 1;
		switch (*end) {
		case 'd': unit = 86400; end++; break;
		case 'h': unit = 3600; end++; break;
		case 'm': unit = 60; end++; break;
		case 's': end++; break;
		default: break;
		}
		t += sign * n * unit;
		p = end;
	}
	*out = t;
	return 1;
}

/* Replaces every "T0..." string under j by its time. */
static void resolve_times(json_object *j)
{
	if (json_object_is_type(j, json_type_object)) {
		json_object_object_foreach(j, key, val)
		{
			int64_t t;
			if (json_object_is_type(val, json_type_string) &&
			    parse_time(json_object_get_string(val), &t))
				json_object_object_add(j, key, json_object_new_int64(t));
			else
				resolve_times(val);
		}
	} else if (json_object_is_type(j, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(j); i++) {
			json_object *val = json_object_array_get_idx(j, i);
			int64_t t;
			if (json_object_is_type(val, json_type_string) &&
			    parse_time(json_object_get_string(val), &t))
				json_object_array_put_idx(j, i, json_object_new_int64(t));
			else
				resolve_times(val);
		}
	}
}

/* ---- comparing ------------------------------------------------------------------------ */

/* An enum name given with or without its prefix. */
static int enum_matches(const char *want, const char *got)
{
	size_t lw = strlen(want), lg = strlen(got);
	if (lw == lg)
		return strcmp(want, got) == 0;
	return lg > lw && got[lg - lw - 1] == '_' && strcmp(got + lg - lw, want) == 0;
}

static const char *json_text(json_object *j)
{
	return j ? json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN) : "(absent)";
}

/* {promotion id: sum of amounts} of an array of AppliedDiscount */
static int64_t sum_by_promotion(json_object *list, const char *promo)
{
	int64_t sum = 0;
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		json_object *d = json_object_array_get_idx(list, i);
		if (!strcmp(policytest_str_of(d, "promotion_id", ""), promo))
			sum += policytest_int_of(d, "amount");
	}
	return sum;
}

static void match(run *r, const char *path, json_object *want, json_object *got)
{
	char sub[256];
	if (json_object_is_type(want, json_type_object) && json_object_is_type(got, json_type_array)) {
		json_object_object_foreach(want, promo, amount)
		{
			int64_t sum = sum_by_promotion(got, promo);
			if (sum != json_object_get_int64(amount))
				policytest_mismatch(r, "%s[%s]: %" PRId64 ", want %" PRId64, path, promo, sum,
				         json_object_get_int64(amount));
		}
		return;
	}
	if (json_object_is_type(want, json_type_object)) {
		if (!json_object_is_type(got, json_type_object)) {
			policytest_mismatch(r, "%s: %s, want an object", path, json_text(got));
			return;
		}
		json_object_object_foreach(want, key, val)
		{
			json_object *g = NULL;
			snprintf(sub, sizeof(sub), "%s.%s", path, key);
			if (!json_object_object_get_ex(got, key, &g)) {
				policytest_mismatch(r, "%s: absent, want %s", sub, json_text(val));
				continue;
			}
			match(r, sub, val, g);
		}
		return;
	}
	if (json_object_is_type(want, json_type_array)) {
		if (!json_object_is_type(got, json_type_array) ||
		    json_object_array_length(got) < json_object_array_length(want)) {
			policytest_mismatch(r, "%s: %s, want %s", path, json_text(got), json_text(want));
			return;
		}
		for (size_t i = 0; i < json_object_array_length(want); i++) {
			snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
			match(r, sub, json_object_array_get_idx(want, i), json_object_array_get_idx(got, i));
		}
		return;
	}
	if (json_object_is_type(want, json_type_string)) {
		if (!json_object_is_type(got, json_type_string) ||
		    !enum_matches(json_object_get_string(want), json_object_get_string(got)))
			policytest_mismatch(r, "%s: %s, want %s", path, json_text(got), json_text(want));
		return;
	}
	if (json_object_is_type(want, json_type_boolean)) {
		if (json_object_get_boolean(want) != json_object_get_boolean(got))
			policytest_mismatch(r, "%s: %s, want %s", path, json_text(got), json_text(want));
		return;
	}
	if (json_object_is_type(want, json_type_int)) {
		if (!json_object_is_type(got, json_type_int) ||
		    json_object_get_int64(want) != json_object_get_int64(got))
			policytest_mismatch(r, "%s: %s, want %s", path, json_text(got), json_text(want));
		return;
	}
	policytest_mismatch(r, "%s: cannot compare %s", path, json_text(want));
}

static json_object *field(json_object *o, const char *key)
{
	json_object *v = NULL;
	return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static const char *status_name(int s)
{
	static const char *const names[] = { "NONE", "PASS", "WARN", "BLOCK" };
	return s >= 0 && s <= 3 ? names[s] : "?";
}

static void check_expect(run *r, json_object *want, const Dealdesk__V1__QuoteResponse *resp)
{
	json_object *got = NULL;
	if (dd_pbjson_from_message_flags(&resp->base, DD_PBJSON_EMIT_DEFAULTS, &got) != DD_OK) {
		policytest_mismatch(r, "the response does not convert to JSON");
		return;
	}
	json_object_object_foreach(want, key, val)
	{
		if (!strcmp(key, "error")) {
			policytest_mismatch(r, "the quote succeeded, want an error with '%s'",
			         json_object_get_string(val));
		} else if (!strcmp(key, "lines_count")) {
			if ((int64_t)resp->n_lines != json_object_get_int64(val))
				policytest_mismatch(r, "lines_count: %zu, want %" PRId64, resp->n_lines,
				         json_object_get_int64(val));
		} else if (!strcmp(key, "discounts")) {
			json_object_object_foreach(val, promo, amount)
			{
				int64_t sum = 0;
				for (size_t i = 0; i < resp->n_lines; i++)
					for (size_t k = 0; k < resp->lines[i]->n_discounts; k++)
						if (!strcmp(resp->lines[i]->discounts[k]->promotion_id, promo))
							sum += resp->lines[i]->discounts[k]->amount;
				if (sum != json_object_get_int64(amount))
					policytest_mismatch(r, "discounts[%s]: %" PRId64 ", want %" PRId64, promo, sum,
					         json_object_get_int64(amount));
			}
		} else if (!strcmp(key, "credit")) {
			const Dealdesk__V1__CreditDecision *c = resp->credit;
			const char *first = c->n_reasons ? c->reasons[0] : "";
			json_object *rest = json_object_new_object();
			json_object_object_foreach(val, k, v)
			{
				if (!strcmp(k, "reason")) {
					if (strcmp(first, json_object_get_string(v)) != 0)
						policytest_mismatch(r, "credit.reason: '%s', want '%s'", first,
						         json_object_get_string(v));
				} else if (!strcmp(k, "reason_prefix")) {
					const char *p = json_object_get_string(v);
					if (strncmp(first, p, strlen(p)) != 0)
						policytest_mismatch(r, "credit.reason: '%s', want it to start with '%s'", first, p);
				} else {
					json_object_object_add(rest, k, json_object_get(v));
				}
			}
			match(r, "credit", rest, field(got, "credit"));
			json_object_put(rest);
		} else if (!strcmp(key, "write")) {
			/* checked in run_case */
		} else if (!strcmp(key, "claims")) {
			json_object_object_foreach(val, check, spec)
			{
				const Dealdesk__V1__ComplianceResult *c = NULL;
				for (size_t i = 0; i < resp->n_compliance; i++)
					if (!strcmp(resp->compliance[i]->check_id, check) &&
					    (c == NULL || resp->compliance[i]->status > c->status))
						c = resp->compliance[i];
				if (c == NULL) {
					policytest_mismatch(r, "claims[%s]: no result", check);
					continue;
				}
				json_object_object_foreach(spec, k, v)
				{
					int64_t got_i = 0, want_i = json_object_get_int64(v);
					if (!strcmp(k, "status")) {
						if (strcmp(status_name(c->status), json_object_get_string(v)))
							policytest_mismatch(r, "claims[%s].status: %s, want %s (%s)", check,
							         status_name(c->status), json_object_get_string(v),
							         c->message);
						continue;
					}
					if (!strcmp(k, "message")) {
						if (strstr(c->message, json_object_get_string(v)) == NULL)
							policytest_mismatch(r, "claims[%s].message: '%s', want it to hold '%s'",
							         check, c->message, json_object_get_string(v));
						continue;
					}
					if (!strcmp(k, "value"))
						got_i = c->computed_value;
					else if (!strcmp(k, "limit"))
						got_i = c->limit_value;
					else if (!strcmp(k, "window_from"))
						got_i = c->window_from;
					else if (!strcmp(k, "window_to"))
						got_i = c->window_to;
					else if (!strcmp(k, "points"))
						got_i = (int64_t)c->n_evidence;
					else {
						policytest_mismatch(r, "claims[%s]: unknown key %s", check, k);
						continue;
					}
					if (got_i != want_i)
						policytest_mismatch(r, "claims[%s].%s: %" PRId64 ", want %" PRId64 " (%s)", check,
						         k, got_i, want_i, c->message);
				}
				if (c->n_evidence > 0 && strlen(c->evidence_sha256) != 64)
					policytest_mismatch(r, "claims[%s]: evidence without its hash", check);
			}
		} else if (!strcmp(key, "compliance")) {
			json_object_object_foreach(val, check, status)
			{
				int worst = 0;
				for (size_t i = 0; i < resp->n_compliance; i++)
					if (!strcmp(resp->compliance[i]->check_id, check) &&
					    (int)resp->compliance[i]->status > worst)
						worst = resp->compliance[i]->status;
				if (strcmp(status_name(worst), json_object_get_string(status)) != 0)
					policytest_mismatch(r, "compliance[%s]: %s, want %s", check, status_name(worst),
					         json_object_get_string(status));
			}
		} else if (!strcmp(key, "notes")) {
			json_object_object_foreach(val, promo, code)
			{
				int found = 0;
				for (size_t i = 0; i < resp->n_promotion_notes && !found; i++)
					found = !strcmp(resp->promotion_notes[i]->promotion_id, promo) &&
					        !strcmp(resp->promotion_notes[i]->code, json_object_get_string(code));
				if (!found)
					policytest_mismatch(r, "notes: no %s note for %s", json_object_get_string(code), promo);
			}
		} else if (!strcmp(key, "coupons")) {
			json_object_object_foreach(val, code, what)
			{
				const Dealdesk__V1__CouponResult *c = NULL;
				for (size_t i = 0; i < resp->n_coupons; i++)
					if (!strcmp(resp->coupons[i]->code, code))
						c = resp->coupons[i];
				const char *w = json_object_get_string(what);
				if (c == NULL)
					policytest_mismatch(r, "coupons[%s]: no result", code);
				else if (!strcmp(w, "ACCEPTED") ? !c->accepted
				                                : c->accepted || strncmp(c->reason, w, strlen(w)))
					policytest_mismatch(r, "coupons[%s]: %s '%s', want %s", code,
					         c->accepted ? "accepted" : "refused", c->reason, w);
			}
		} else if (!strcmp(key, "experiments")) {
			json_object_object_foreach(val, exp, arm)
			{
				const char *a = NULL;
				for (size_t i = 0; i < resp->n_experiments; i++)
					if (!strcmp(resp->experiments[i]->experiment_id, exp))
						a = resp->experiments[i]->arm;
				if (a == NULL || strcmp(a, json_object_get_string(arm)) != 0)
					policytest_mismatch(r, "experiments[%s]: %s, want %s", exp, a ? a : "(none)",
					         json_object_get_string(arm));
			}
		} else {
			json_object *g = field(got, key);
			if (g == NULL)
				policytest_mismatch(r, "%s: not in the response", key);
			else
				match(r, key, val, g);
		}
	}
	json_object_put(got);
}

/* The checks at authoring of case.write's records, against expect.write. */
static void check_write(run *r, dd_quoter *q, json_object *write, json_object *want)
{
	if (want == NULL) {
		policytest_mismatch(r, "write needs expect.write");
		return;
	}
	json_object_object_foreach(write, key, list)
	{
		dd_entity_kind kind = !strcmp(key, "prices") ? DD_ENTITY_PRICE : DD_ENTITY_PROMOTION;
		const ProtobufCMessageDescriptor *d = kind == DD_ENTITY_PRICE
		                                              ? &dealdesk__v1__price_entry__descriptor
		                                              : &dealdesk__v1__promotion__descriptor;
		size_t n = json_object_array_length(list);
		ProtobufCMessage **items = calloc(n ? n : 1, sizeof(*items));
		dd_error err;
		dd_arena a;
		dd_arena_init(&a, 0, 0);
		int ok = 1;
		for (size_t i = 0; ok && i < n; i++)
			ok = dd_pbjson_to_message(json_object_array_get_idx(list, i), d, &items[i], &err) ==
			     DD_OK;
		char **warnings = NULL;
		size_t nw = 0;
		int rc = ok ? dd_compliance_screen(q, kind, items, n, T0, &a, &warnings, &nw, &err)
		            : DD_EINVAL;
		const char *want_error = policytest_str_of(want, "error", NULL);
		if (!ok) {
			policytest_mismatch(r, "write.%s: %s", key, err.msg);
		} else if (want_error) {
			if (rc == DD_OK)
				policytest_mismatch(r, "write: accepted (%zu warnings), want an error with '%s'", nw,
				         want_error);
			else if (rc != DD_EPRECOND || strstr(err.msg, want_error) == NULL)
				policytest_mismatch(r, "write: error '%s', want FAILED_PRECONDITION with '%s'", err.msg,
				         want_error);
		} else if (rc != DD_OK) {
			policytest_mismatch(r, "write: refused: %s", err.msg);
		} else {
			if ((int64_t)nw != policytest_int_of(want, "warnings"))
				policytest_mismatch(r, "write: %zu warnings, want %" PRId64 " (%s)", nw,
				         policytest_int_of(want, "warnings"), nw ? warnings[0] : "");
			const char *w = policytest_str_of(want, "warning", NULL);
			int found = w == NULL;
			for (size_t i = 0; w && i < nw; i++)
				found |= strstr(warnings[i], w) != NULL;
			if (!found)
				policytest_mismatch(r, "write: no warning holds '%s'", w);
		}
		for (size_t i = 0; i < n; i++)
			if (items[i])
				protobuf_c_message_free_unpacked(items[i], NULL);
		free(items);
		dd_arena_free(&a);
	}
}

static void run_case(run *r, json_object *c)
{
	json_object *data = field(c, "data"), *request = field(c, "request"),
		    *want = field(c, "expect");
	if (request == NULL || want == NULL) {
		policytest_mismatch(r, "needs a request and an expect");
		return;
	}
	if (data)
		resolve_times(data);
	resolve_times(request);
	if (field(c, "write"))
		resolve_times(field(c, "write"));
	resolve_times(want);
	store s = { "", NULL };
	dd_quoter *q = NULL;
	ProtobufCMessage *req = NULL;
	dd_arena arena;
	dd_arena_init(&arena, 0, 0);
	dd_error err;
	if (!policytest_open_store(r, &s) || !policytest_put_data(r, &s, data))
		goto out;
	if (dd_pbjson_to_message(request, &dealdesk__v1__quote_request__descriptor, &req, &err) !=
	    DD_OK) {
		policytest_mismatch(r, "request: %s", err.msg);
		goto out;
	}
	Dealdesk__V1__QuoteRequest *qr = (void *)req;
	if (qr->request_time == 0)
		qr->request_time = T0;
	if (dd_quoter_new(&q, s.st, NULL, &err) != DD_OK) {
		policytest_mismatch(r, "quoter: %s", err.msg);
		goto out;
	}
	json_object *write = field(c, "write");
	if (write != NULL)
		check_write(r, q, write, field(want, "write"));
	Dealdesk__V1__QuoteResponse *resp = NULL;
	int rc = dd_quote(q, qr, T0, &arena, &resp, &err);
	const char *want_error = policytest_str_of(want, "error", NULL);
	if (want_error) {
		if (rc == DD_OK)
			policytest_mismatch(r, "the quote succeeded, want an error with '%s'", want_error);
		else if (strstr(err.msg, want_error) == NULL)
			policytest_mismatch(r, "error '%s', want one with '%s'", err.msg, want_error);
	} else if (rc != DD_OK) {
		policytest_mismatch(r, "the quote failed: %s", err.msg);
	} else {
		check_expect(r, want, resp);
	}
out:
	dd_quoter_free(q);
	if (req)
		protobuf_c_message_free_unpacked(req, NULL);
	dd_arena_free(&arena);
	policytest_close_store(&s);
}


#define TESTS_OPEN "--[=[dealdesk:tests"
#define TESTS_CLOSE "]=]"

int dd_policytest_extract(const char *source, const char **json, size_t *len)
{
	const char *at = source ? strstr(source, TESTS_OPEN) : NULL;
	if (at == NULL)
		return DD_ENOTFOUND;
	at += strlen(TESTS_OPEN);
	const char *end = strstr(at, TESTS_CLOSE);
	if (end == NULL)
		return DD_EINVAL;
	*json = at;
	*len = (size_t)(end - at);
	return DD_OK;
}

int dd_policytest_run(const char *json, size_t len, dd_policy_kind kind, const char *source,
                      FILE *report, dd_policytest_result *res, dd_error *err)
{
	memset(res, 0, sizeof(*res));
	json_object *doc, *cases;
	int rc = dd_pbjson_parse(json, len, &doc, err);
	if (rc != DD_OK)
		return dd_error_set(err, DD_EINVAL, "tests: %s", err->msg);
	cases = doc;
	if (json_object_is_type(doc, json_type_object))
		cases = field(doc, "cases");
	if (cases == NULL || !json_object_is_type(cases, json_type_array)) {
		json_object_put(doc);
		return dd_error_set(err, DD_EINVAL,
		                    "tests: expected an array of cases (or {\"cases\": [...]})");
	}
	size_t n = json_object_array_length(cases);
	for (size_t i = 0; i < n; i++) {
		json_object *c = json_object_array_get_idx(cases, i);
		char name[96];
		snprintf(name, sizeof(name), "%s", json_object_is_type(c, json_type_object)
		                                           ? policytest_str_of(c, "name", "(unnamed)")
		                                           : "(not an object)");
		run r = { .name = name, .report = report, .kind = kind, .source = source };
		if (json_object_is_type(c, json_type_object))
			run_case(&r, c);
		else
			policytest_mismatch(&r, "a case must be an object");
		res->run++;
		if (r.failures == 0) {
			res->passed++;
			if (report)
				fprintf(report, "  PASS  %s\n", name);
		} else if (res->run - res->passed == 1) {
			snprintf(res->first_failure, sizeof(res->first_failure), "case '%s': %.300s", name,
			         r.first);
		}
	}
	json_object_put(doc);
	return DD_OK;
}
