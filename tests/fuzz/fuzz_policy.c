/* Fuzz target: a fuzzed policy in the real quote pipeline, where the
 * policy result readers (src/quote/readers.c), the Lua view of the order
 * and the `dd` API meet what a script returns or leaves behind.
 *
 * Input: byte 0 picks the policy kind (pricing, promotions, credit,
 * compliance: byte % 4 + 1), the rest is its source. The source is
 * uploaded and activated in a temporary store (tests/unit/quote/fixture.h:
 * the stage tests' catalogue, a promotion with a coupon and a margin
 * check), the same request is quoted twice, and the shipped policy of that
 * kind is activated again, so that every input starts from the same state.
 * The budgets are cut down (200,000 instructions, 8 MiB); the CPU-time
 * budget is 2 s, so that only the instruction budget stops a script and
 * the two quotes meet the same budgets.
 * Checked besides the sanitizers: dealdesk never aborts (an unprotected Lua
 * error would); a quote answers with a documented code and a message of
 * valid UTF-8; a response passes the server's own wire check (strings of
 * valid UTF-8 without NUL); both quotes fail or succeed, and the second
 * response is byte for byte the first's, apart from the decision id
 * (nothing survives an evaluation: issue 9, item 3). */
#include "../unit/quote/fixture.h"

#include "dealdesk/v1/quote.pb-c.h"
#include "fuzz.h"
#include "server/server.h"

/* Quotes in one store before it is made afresh (each input adds a
 * version of a policy). */
#define STORE_INPUTS 400

static fixture *fx;
static unsigned inputs;
static const dd_sandbox_limits budgets = { .max_instructions = 200000,
	                                   .max_memory = 8u << 20,
	                                   .max_millis = 2000 };

static void close_store(void)
{
	if (fx != NULL)
		fx_close(fx);
	fx = NULL;
}

static void open_store(void)
{
	dd_quote_limits lim = { .sandbox = budgets };
	fx = fx_open(&lim);
	fx_catalog(fx);
	Dealdesk__V1__Promotion p = fx_promo("P1", KIND(PERCENTAGE));
	char *skus[] = { "A" };
	p.skus = skus;
	p.n_skus = 1;
	p.percent_bps = 1000;
	p.coupon_code = "SAVE";
	p.requires_coupon = 1;
	fx_put_promo(fx, &p);
	fx_coupon(fx, "SAVE", "P1");
	fx_check(fx, "margin", DEALDESK__V1__CHECK_KIND__CHECK_KIND_MIN_MARGIN, 1000,
	         STATUS(WARN));
	static int registered;
	if (!registered) {
		registered = 1;
		atexit(close_store);
	}
}

/* The response packed, its decision id left out. */
static uint8_t *packed(Dealdesk__V1__QuoteResponse *r, size_t *len)
{
	char *id = r->decision_id;
	r->decision_id = "";
	*len = protobuf_c_message_get_packed_size(&r->base);
	uint8_t *buf = malloc(*len ? *len : 1);
	FUZZ_CHECK(buf != NULL, "out of memory");
	protobuf_c_message_pack(&r->base, buf);
	r->decision_id = id;
	return buf;
}

static int code_ok(int rc)
{
	return rc == DD_OK || rc == DD_EPOLICY || rc == DD_EBUDGET || rc == DD_EPRECOND ||
	       rc == DD_EOVERFLOW || rc == DD_ENOMEM || rc == DD_EINVAL || rc == DD_ENOTFOUND;
}

/* One quote of the fixed request: its packed response (NULL on an error). */
static uint8_t *quote_once(req_buf *b, size_t *len)
{
	Dealdesk__V1__QuoteResponse *r = NULL;
	dd_error err;
	dd_error_clear(&err);
	dd_arena_reset(&fx->arena);
	int rc = dd_quote(fx->q, &b->r, T0, &fx->arena, &r, &err);
	if (getenv("DD_FUZZ_VERBOSE") != NULL)
		fprintf(stderr, "dd_quote: %d %s\n", rc, rc == DD_OK ? "" : err.msg);
	FUZZ_CHECK(code_ok(rc), "dd_quote: %d (%s)", rc, err.msg);
	FUZZ_CHECK(dd_utf8_valid(err.msg, strlen(err.msg)), "dd_quote: message of invalid UTF-8");
	if (rc != DD_OK) {
		FUZZ_CHECK(err.msg[0] != '\0', "dd_quote: %d without a message", rc);
		return NULL;
	}
	uint8_t *buf = packed(r, len);
	rc = dd_wire_check_strings(&dealdesk__v1__quote_response__descriptor, buf, *len, &err);
	FUZZ_CHECK(rc == DD_OK, "the response fails the wire check: %s", err.msg);
	return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (fx == NULL || inputs++ % STORE_INPUTS == 0) {
		close_store();
		open_store();
	}
	int kind = data[0] % 4 + 1;
	char *src = malloc(size);
	FUZZ_CHECK(src != NULL, "out of memory");
	memcpy(src, data + 1, size - 1);
	src[size - 1] = '\0';
	dd_error err;
	dd_arena a;
	dd_arena_init(&a, 0, 0);
	Dealdesk__V1__PolicyScript *p;
	int rc = dd_policy_upload(fx->store, kind, src, "fuzz", "", T0, &budgets, &a, &p, &err);
	if (rc == DD_OK &&
	    dd_policy_activate(fx->store, kind, p->version, "fuzz", 0, T0, &a, &p, &err) == DD_OK) {
		req_buf b;
		req_c1(&b);
		req_line(&b, "A", 2);
		req_line(&b, "B", 1);
		req_line(&b, "C", 3);
		req_coupon(&b, "SAVE");
		req_attr(&b, "k", "v");
		b.r.explain = 1;
		size_t l1 = 0, l2 = 0;
		uint8_t *r1 = quote_once(&b, &l1);
		uint8_t *r2 = quote_once(&b, &l2);
		FUZZ_CHECK((r1 == NULL) == (r2 == NULL), "the same quote failed once of twice");
		if (r1 != NULL)
			FUZZ_CHECK(l1 == l2 && memcmp(r1, r2, l1) == 0,
			           "the same quote answered differently the second time");
		free(r1);
		free(r2);
		/* back to the shipped policy (version 1) */
		rc = dd_policy_activate(fx->store, kind, 1, "fuzz", 0, T0, &a, &p, &err);
		FUZZ_CHECK(rc == DD_OK, "activating the shipped policy again: %s", err.msg);
	} else {
		if (getenv("DD_FUZZ_VERBOSE") != NULL)
			fprintf(stderr, "upload: %d %s\n", rc, err.msg);
		FUZZ_CHECK(rc == DD_OK || err.msg[0] != '\0', "upload: %d without a message", rc);
	}
	dd_arena_free(&a);
	free(src);
	return 0;
}
