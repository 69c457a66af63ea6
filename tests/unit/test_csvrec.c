/* Unit tests for src/client/csvrec.c: protobuf records <-> CSV rows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dealdesk/csvrec.h"
#include "dealdesk/error.h"
#include "dealdesk/v1/orders.pb-c.h"
#include "dealdesk/v1/types.pb-c.h"

static const char *const price_key[] = { "sku", "currency", "price_list_id", NULL };
static const char *const price_required[] = { "unit_price", NULL };
static const dd_csvrec_money price_money[] = {
	{ "unit_price", "currency" }, { "unit_cost", "currency" }, { NULL, NULL },
};
static const dd_csvrec_spec prices = {
	.desc = &dealdesk__v1__price_entry__descriptor, .noun = "price entry",
	.key = price_key, .required = price_required, .money = price_money,
};

static const char *const id_key[] = { "id", NULL };
static const char *const enabled[] = { "enabled", NULL };
static const dd_csvrec_money promotion_money[] = { { "amount", "currency" }, { NULL, NULL } };
static const dd_csvrec_spec promotions = {
	.desc = &dealdesk__v1__promotion__descriptor, .noun = "promotion",
	.key = id_key, .required = enabled, .money = promotion_money,
};

static const dd_csvrec_money customer_money[] = {
	{ "credit.credit_limit", "credit.currency" }, { NULL, NULL },
};
static const dd_csvrec_spec customers = {
	.desc = &dealdesk__v1__customer__descriptor, .noun = "customer",
	.key = id_key, .money = customer_money,
};

static void read_ok(const dd_csvrec_spec *spec, const char *text, dd_csvrec_result *r)
{
	dd_error err;
	dd_error_clear(&err);
	int rc = dd_csvrec_read(spec, text, strlen(text), r, &err);
	if (rc != DD_OK)
		fprintf(stderr, "%s\n", err.msg);
	assert_int_equal(rc, DD_OK);
}

static void test_amounts_exact(void **state)
{
	(void)state;
	dd_csvrec_result r;
	read_ok(&prices, "price_list_id,sku,currency,unit_price,unit_cost\r\n"
	                 "l,A,USD,12.34,0.5\r\nl,A,JPY,1234,\r\nl,A,KWD, 1.234 ,0.001\r\n", &r);
	assert_int_equal(r.n_problems, 0);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.rows, 3);
	const Dealdesk__V1__PriceEntry *e0 = (const void *)r.records[0];
	const Dealdesk__V1__PriceEntry *e1 = (const void *)r.records[1];
	const Dealdesk__V1__PriceEntry *e2 = (const void *)r.records[2];
	assert_int_equal(e0->unit_price, 1234);
	assert_int_equal(e0->unit_cost, 50);
	assert_int_equal(e1->unit_price, 1234);
	assert_int_equal(e1->unit_cost, 0);
	assert_int_equal(e2->unit_price, 1234);
	assert_int_equal(e2->unit_cost, 1);
	assert_string_equal(e2->currency, "KWD");
	dd_csvrec_result_free(&r);
}

static void test_every_problem(void **state)
{
	(void)state;
	dd_csvrec_result r;
	read_ok(&prices, "price_list_id,sku,currency,unit_price,priority,rounding\n"
	                 "l,A,USD,1.234,1,UP\n"    /* 2 */
	                 "l,B,USD,1.00,x,UP\n"     /* 3 */
	                 "l,C,USD,1.00,1,SIDEWAYS\n" /* 4 */
	                 "l,D,USD\n"               /* 5 */
	                 "l,A,USD,2.00,1,UP\n"     /* 6: duplicate of 2 */
	                 ",E,USD,1,1,UP\n"         /* 7 */
	                 "l,F,ABC,1,1,UP\n"        /* 8 */
	                 "l,G,JPY,99999999999999999999,1,UP\n" /* 9 */
	                 "l,H,USD,1.00,99999999999,UP\n" /* 10 */
	                 "l,OK,USD,1.00,1,HALF_UP\n", &r);
	const char *want[] = {
		"line 2, column unit_price: '1.234' is not an amount in USD (at most 2 decimal places)",
		"line 3, column priority: 'x' is not an integer (32 bits)",
		"line 4, column rounding: 'SIDEWAYS' is not one of HALF_UP HALF_EVEN DOWN UP",
		"line 5: 3 fields, the header has 6",
		"line 7, column price_list_id: empty (required)",
		"line 8, column currency: 'ABC' is not an ISO 4217 currency code (needed for unit_price)",
		"line 9, column unit_price: '99999999999999999999' is too large",
		"line 10, column priority: '99999999999' is not an integer (32 bits)",
		"line 6: duplicate key (sku A, currency USD, price_list_id l): the same price entry "
		"as line 2",
	};
	assert_int_equal(r.n_problems, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < r.n_problems; i++)
		assert_string_equal(r.problems[i], want[i]);
	assert_int_equal(r.rows, 10);
	dd_csvrec_result_free(&r);
}

static void test_bad_headers(void **state)
{
	(void)state;
	const struct { const char *text, *msg; } cases[] = {
		{ "price_list_id,sku,currency,unit_price,colour\n",
		  "line 1, column 5: unknown column 'colour'" },
		{ "price_list_id,sku,currency,unit_price,SKU\n",
		  "line 1, column 5: column sku appears twice" },
		{ "price_list_id,sku,unit_price\n", "the header has no currency column (required for "
		  "every price entry)" },
		{ "price_list_id,sku,currency\n", "the header has no unit_price column (required for "
		  "every price entry)" },
		{ "", "empty file (expected a header row)" },
		{ "sku,\"open\n", "line 1: quoted field is not closed" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		dd_csvrec_result r;
		dd_error err;
		assert_int_equal(dd_csvrec_read(&prices, cases[i].text, strlen(cases[i].text), &r, &err),
		                 DD_EINVAL);
		assert_string_equal(err.msg, cases[i].msg);
		dd_csvrec_result_free(&r);
	}
	dd_csvrec_result r;
	dd_error err;
	const char *t = "id,kind\nP,PERCENTAGE\n";
	assert_int_equal(dd_csvrec_read(&promotions, t, strlen(t), &r, &err), DD_EINVAL);
	assert_non_null(strstr(err.msg, "the header has no enabled column (required for every "
	                                "promotion: say true or false"));
	dd_csvrec_result_free(&r);
	t = "id,credit.credit_limit\nc,1\n";
	assert_int_equal(dd_csvrec_read(&customers, t, strlen(t), &r, &err), DD_EINVAL);
	assert_string_equal(err.msg, "the header has credit.credit_limit but no credit.currency "
	                             "column (its currency)");
	dd_csvrec_result_free(&r);
}

/* Writes n records, reads them back, and checks the messages pack to the
 * same bytes; returns the CSV text (free). */
static char *round_trip(const dd_csvrec_spec *spec, ProtobufCMessage **recs, size_t n)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	assert_non_null(f);
	dd_error err;
	assert_int_equal(dd_csvrec_write(spec, recs, n, f, &err), DD_OK);
	fclose(f);
	dd_csvrec_result r;
	read_ok(spec, text, &r);
	assert_int_equal(r.n_problems, 0);
	assert_int_equal(r.n, n);
	for (size_t i = 0; i < n; i++) {
		size_t a = protobuf_c_message_get_packed_size(recs[i]);
		size_t b = protobuf_c_message_get_packed_size(r.records[i]);
		assert_int_equal(a, b);
		uint8_t *pa = malloc(a + 1), *pb = malloc(b + 1);
		protobuf_c_message_pack(recs[i], pa);
		protobuf_c_message_pack(r.records[i], pb);
		assert_memory_equal(pa, pb, a);
		free(pa);
		free(pb);
	}
	dd_csvrec_result_free(&r);
	return text;
}

static void test_round_trip(void **state)
{
	(void)state;
	Dealdesk__V1__ThresholdTier t1 = DEALDESK__V1__THRESHOLD_TIER__INIT, *tiers[] = { &t1 };
	t1.threshold = 20000;
	t1.amount = 1500;
	char *skus[] = { "A", "B;C" }, *channels[] = { "web", "store" };
	Dealdesk__V1__Promotion p = DEALDESK__V1__PROMOTION__INIT;
	p.id = "P1";
	p.name = " Zwölf, \"quoted\"\nline ";
	p.kind = DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_SPEND_THRESHOLD;
	p.currency = "KWD";
	p.amount = 1234;
	p.n_tiers = 1;
	p.tiers = tiers;
	p.n_skus = 2;
	p.skus = skus; /* one has a ';': written as a JSON array */
	p.n_channels = 2;
	p.channels = channels;
	p.enabled = 1;
	p.condition = "return ctx.total > 0";
	Dealdesk__V1__Promotion q = DEALDESK__V1__PROMOTION__INIT;
	q.id = "P2";
	q.kind = DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_PERCENTAGE;
	q.percent_bps = 1000;
	q.n_channels = 2;
	q.channels = channels;
	ProtobufCMessage *recs[] = { &p.base, &q.base };
	char *text = round_trip(&promotions, recs, 2);
	assert_non_null(strstr(text, "\"[\"\"A\"\",\"\"B;C\"\"]\""));
	assert_non_null(strstr(text, ",web;store,"));
	assert_non_null(strstr(text, ",0,1.234,KWD,"));
	assert_non_null(strstr(text, "\"[{\"\"threshold\"\":20000,\"\"amount\"\":1500}]\""));
	assert_non_null(strstr(text, "\" Zwölf, \"\"quoted\"\"\nline \""));
	free(text);

	Dealdesk__V1__CreditProfile cp = DEALDESK__V1__CREDIT_PROFILE__INIT;
	cp.currency = "JPY";
	cp.credit_limit = 123456;
	cp.hold = 1;
	Dealdesk__V1__Customer c1 = DEALDESK__V1__CUSTOMER__INIT, c2 = DEALDESK__V1__CUSTOMER__INIT;
	c1.id = "c1";
	c1.credit = &cp;
	c1.order_count = 7;
	c2.id = "c2"; /* no credit profile: its cells stay empty and it stays unset */
	ProtobufCMessage *crecs[] = { &c1.base, &c2.base };
	text = round_trip(&customers, crecs, 2);
	assert_non_null(strstr(text, "c1,,,,JPY,123456,0,0,0,0,,0,true,0,false,0,7,0,0,\r\n"));
	assert_non_null(strstr(text, "c2,,,,,,,,,,,,,,,,0,0,0,\r\n"));
	free(text);
}

static void test_write_field(void **state)
{
	(void)state;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	const char *in[] = { "plain", "a,b", "say \"hi\"", "two\nlines", " pad", "", "ü" };
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		dd_csv_write_field(f, in[i]);
		fputc('|', f);
	}
	fclose(f);
	assert_string_equal(text, "plain|\"a,b\"|\"say \"\"hi\"\"\"|\"two\nlines\"|\" pad\"||ü|");
	free(text);
}

static void test_receivable_layout(void **state)
{
	(void)state;
	static const char *const omit[] = { "order_id", "payments", "overdue_days", "counted", NULL };
	static const char *const key[] = { "invoice_id", NULL };
	static const dd_csvrec_money money[] = { { "amount", "currency" }, { NULL, NULL } };
	const dd_csvrec_spec inv = { .desc = &dealdesk__v1__invoice__descriptor, .noun = "open item",
		                     .key = key, .omit = omit, .money = money };
	dd_csvrec_result r;
	dd_error err;
	const char *t = "invoice_id,payments\nI,[]\n";
	assert_int_equal(dd_csvrec_read(&inv, t, strlen(t), &r, &err), DD_EINVAL);
	assert_string_equal(err.msg, "line 1, column 2: unknown column 'payments'");
	dd_csvrec_result_free(&r);
	read_ok(&inv, "invoice_id,customer_id,currency,amount,due_at\nI1,c,KWD,1.5,-3\n", &r);
	assert_int_equal(r.n_problems, 0);
	const Dealdesk__V1__Invoice *i = (const void *)r.records[0];
	assert_int_equal(i->amount, 1500);
	assert_int_equal(i->due_at, -3);
	dd_csvrec_result_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_amounts_exact),
		cmocka_unit_test(test_every_problem),
		cmocka_unit_test(test_bad_headers),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_write_field),
		cmocka_unit_test(test_receivable_layout),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
