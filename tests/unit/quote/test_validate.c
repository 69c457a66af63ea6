/* src/quote/validate.c: stage 1, the request checked field by field before
 * anything is read from the store. Each message names the field and the
 * reason; the limits are the quoter's (dd_quote_limits). */
#include "fixture.h"

#include "quote/quoter.h"

/* quote_validate alone, and the same request through dd_quote: the same
 * code and message, whatever the store holds. */
static void expect_invalid(fixture *f, req_buf *b, int code, const char *msg)
{
	dd_error err;
	dd_error_clear(&err);
	int rc = quote_validate(f->q, &b->r, &err);
	if (rc != code)
		fail_msg("quote_validate: %d (%s), wanted %d with '%s'", rc, err.msg, code, msg);
	if (strcmp(err.msg, msg) != 0)
		fail_msg("quote_validate said '%s', wanted '%s'", err.msg, msg);
	assert_int_equal(quote_err(f, b, msg), code);
}

static void expect_valid(fixture *f, req_buf *b)
{
	dd_error err;
	if (quote_validate(f->q, &b->r, &err) != DD_OK)
		fail_msg("quote_validate: %s", err.msg);
}

static int setup_limits(void **state)
{
	dd_quote_limits lim = { .max_lines = 3, .max_quantity = 100, .max_coupons = 2,
		                .max_attributes = 2 };
	fixture *f = fx_open(&lim);
	fx_catalog(f);
	*state = f;
	return 0;
}

static void test_customer_and_currency(void **state)
{
	fixture *f = *state;
	req_buf b;
	req_c1(&b);
	req_line(&b, "A", 1);
	expect_valid(f, &b);

	b.r.customer_id = "";
	expect_invalid(f, &b, DD_EINVAL, "customer_id: required");
	b.r.customer_id = NULL;
	expect_invalid(f, &b, DD_EINVAL, "customer_id: required");
	/* 65 bytes: one more than DD_MAX_ID */
	b.r.customer_id = "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc1";
	expect_invalid(f, &b, DD_EINVAL, "customer_id: longer than 64 bytes");
	b.r.customer_id = "caf\xc3";  /* a cut two-byte sequence */
	expect_invalid(f, &b, DD_EINVAL, "customer_id: invalid UTF-8");
	/* validation comes first: an unknown customer with a bad currency is
	 * a bad currency, not NOT_FOUND */
	b.r.customer_id = "nobody";
	b.r.currency = "usd";
	expect_invalid(f, &b, DD_EINVAL, "currency: 'usd' is not an ISO 4217 currency code");
	b.r.customer_id = "c1";
	b.r.currency = "";
	expect_invalid(f, &b, DD_EINVAL, "currency: required");
	b.r.currency = NULL;
	expect_invalid(f, &b, DD_EINVAL, "currency: required");
	b.r.currency = "XYZ";
	expect_invalid(f, &b, DD_EINVAL, "currency: 'XYZ' is not an ISO 4217 currency code");
	b.r.currency = "USDX";
	expect_invalid(f, &b, DD_EINVAL, "currency: 'USDX' is not an ISO 4217 currency code");
	b.r.currency = "USD";
	expect_valid(f, &b);
}

static void test_optional_strings(void **state)
{
	fixture *f = *state;
	req_buf b;
	req_c1(&b);
	req_line(&b, "A", 1);
	b.r.channel = NULL;
	b.r.region = NULL;
	b.r.order_id = NULL;
	expect_valid(f, &b);
	b.r.channel = "web\xff";
	expect_invalid(f, &b, DD_EINVAL, "channel: invalid UTF-8");
	b.r.channel = "web";
	b.r.region = "rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr"; /* 65 */
	expect_invalid(f, &b, DD_EINVAL, "region: longer than 64 bytes");
	b.r.region = "eu";
	char order_id[130];
	memset(order_id, 'o', 128);
	order_id[128] = '\0'; /* 128 bytes: the most an order id may have */
	b.r.order_id = order_id;
	expect_valid(f, &b);
	order_id[128] = 'o';
	order_id[129] = '\0';
	expect_invalid(f, &b, DD_EINVAL, "order_id: longer than 128 bytes");
	b.r.order_id = "";
	b.r.request_time = -1;
	expect_invalid(f, &b, DD_EINVAL, "request_time: must be >= 0");
	b.r.request_time = 0; /* 0 = now */
	expect_valid(f, &b);
}

static void test_lines(void **state)
{
	fixture *f = *state;
	req_buf b;
	req_c1(&b);
	expect_invalid(f, &b, DD_EINVAL, "lines: at least one line is required");
	req_line(&b, "A", 1);
	req_line(&b, "", 2);
	expect_invalid(f, &b, DD_EINVAL, "lines[1].sku: required");
	b.l[1].sku = NULL;
	expect_invalid(f, &b, DD_EINVAL, "lines[1].sku: required");
	b.l[1].sku = "sssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss"; /* 65 */
	expect_invalid(f, &b, DD_EINVAL, "lines[1].sku: longer than 64 bytes");
	b.l[1].sku = "\xc0\xaf"; /* an overlong '/' */
	expect_invalid(f, &b, DD_EINVAL, "lines[1].sku: invalid UTF-8");
	b.l[1].sku = "B";
	b.l[1].quantity = 0;
	expect_invalid(f, &b, DD_EINVAL, "lines[1].quantity: must be > 0, got 0");
	b.l[1].quantity = -3;
	expect_invalid(f, &b, DD_EINVAL, "lines[1].quantity: must be > 0, got -3");
	b.l[1].quantity = INT64_MIN;
	expect_invalid(f, &b, DD_EINVAL,
	               "lines[1].quantity: must be > 0, got -9223372036854775808");
	/* the default limit: 1,000,000 units a line */
	b.l[1].quantity = 1000000;
	expect_valid(f, &b);
	b.l[1].quantity = 1000001;
	expect_invalid(f, &b, DD_EINVAL,
	               "lines[1].quantity: 1000001 exceeds the limit of 1000000");
	/* the first bad line is the one named */
	b.l[0].quantity = 0;
	expect_invalid(f, &b, DD_EINVAL, "lines[0].quantity: must be > 0, got 0");
	/* a valid request with an unknown SKU passes validation: the store
	 * says NOT_FOUND later (load) */
	b.l[0].quantity = 1;
	b.l[1].quantity = 1;
	b.l[1].sku = "NOPE";
	expect_valid(f, &b);
	assert_int_equal(quote_err(f, &b, "lines[1].sku: unknown SKU 'NOPE'"), DD_ENOTFOUND);
}

static void test_default_line_limit(void **state)
{
	fixture *f = *state;
	/* 500 lines pass, 501 do not (the default max_lines) */
	size_t n = 501;
	Dealdesk__V1__LineRequest *l = calloc(n, sizeof(*l));
	Dealdesk__V1__LineRequest **lp = calloc(n, sizeof(*lp));
	for (size_t i = 0; i < n; i++) {
		dealdesk__v1__line_request__init(&l[i]);
		l[i].sku = "A";
		l[i].quantity = 1;
		lp[i] = &l[i];
	}
	req_buf b;
	req_c1(&b);
	b.r.lines = lp;
	b.r.n_lines = 500;
	expect_valid(f, &b);
	b.r.n_lines = 501;
	expect_invalid(f, &b, DD_EINVAL, "lines: 501 lines; at most 500 per order");
	free(lp);
	free(l);
}

static void test_coupons_and_attributes(void **state)
{
	fixture *f = *state;
	req_buf b;
	req_c1(&b);
	req_line(&b, "A", 1);
	for (int i = 0; i < 8; i++)
		req_coupon(&b, "CODE");
	expect_valid(f, &b); /* 8 of the default 20 */
	b.coupons[5] = "";
	expect_invalid(f, &b, DD_EINVAL, "coupon_codes[5]: required");
	b.coupons[5] = "ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"; /* 65 */
	expect_invalid(f, &b, DD_EINVAL, "coupon_codes[5]: longer than 64 bytes");
	b.coupons[5] = "CODE";
	b.r.n_coupon_codes = 0;

	req_attr(&b, "vip", "");   /* an empty value is allowed */
	req_attr(&b, "note", "x");
	expect_valid(f, &b);
	b.a[0].key = "";
	expect_invalid(f, &b, DD_EINVAL, "attributes[0].key: required");
	b.a[0].key = "vip";
	char value[1026];
	memset(value, 'v', 1024);
	value[1024] = '\0';
	b.a[1].value = value; /* 1024 bytes: the most */
	expect_valid(f, &b);
	value[1024] = 'v';
	value[1025] = '\0';
	expect_invalid(f, &b, DD_EINVAL, "attributes[1].value: longer than 1024 bytes");
	b.a[1].value = "\xed\xa0\x80"; /* a UTF-16 surrogate */
	expect_invalid(f, &b, DD_EINVAL, "attributes[1].value: invalid UTF-8");
	b.a[1].value = "x";
	b.ap[1] = NULL;
	expect_invalid(f, &b, DD_EINVAL, "attributes[1]: missing");
}

/* The quoter's own limits (dd_quote_limits) replace the defaults. */
static void test_configured_limits(void **state)
{
	fixture *f = *state;
	req_buf b;
	req_c1(&b);
	req_line(&b, "A", 100);
	req_line(&b, "B", 1);
	req_line(&b, "C", 1);
	expect_valid(f, &b);
	req_line(&b, "D", 1);
	expect_invalid(f, &b, DD_EINVAL, "lines: 4 lines; at most 3 per order");
	b.r.n_lines = 3;
	b.l[0].quantity = 101;
	expect_invalid(f, &b, DD_EINVAL, "lines[0].quantity: 101 exceeds the limit of 100");
	b.l[0].quantity = 100;
	req_coupon(&b, "X");
	req_coupon(&b, "Y");
	expect_valid(f, &b);
	req_coupon(&b, "Z");
	expect_invalid(f, &b, DD_EINVAL, "coupon_codes: at most 2 codes");
	b.r.n_coupon_codes = 0;
	req_attr(&b, "a", "1");
	req_attr(&b, "b", "2");
	expect_valid(f, &b);
	req_attr(&b, "c", "3");
	expect_invalid(f, &b, DD_EINVAL, "attributes: at most 2 entries");
	b.r.n_attributes = 2;
	/* within the limits the quote goes through */
	Dealdesk__V1__QuoteResponse *r = quote_ok(f, &b);
	assert_int_equal(r->n_lines, 3);
	assert_int_equal(r->total, 100 * 1000 + 500 + 300);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_customer_and_currency, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_optional_strings, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_lines, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_default_line_limit, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_coupons_and_attributes, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_configured_limits, setup_limits, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
