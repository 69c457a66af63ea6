/* Unit tests for src/client: protobuf-c <-> JSON (pbjson) and the CSV reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dealdesk/csv.h"
#include "dealdesk/error.h"
#include "dealdesk/pbjson.h"
#include "dealdesk/v1/admin.pb-c.h"
#include "dealdesk/v1/quote.pb-c.h"
#include "dealdesk/v1/types.pb-c.h"
#include "grpc/health/v1/health.pb-c.h"

/* ---- helpers ------------------------------------------------------------------ */

static char *format(const ProtobufCMessage *m, unsigned flags)
{
	char *s = NULL;
	assert_int_equal(dd_pbjson_format(m, flags, &s), DD_OK);
	assert_non_null(s);
	return s;
}

static void assert_format(const ProtobufCMessage *m, unsigned flags, const char *want)
{
	char *s = format(m, flags);
	assert_string_equal(s, want);
	free(s);
}

static ProtobufCMessage *parse_ok(const char *text, const ProtobufCMessageDescriptor *d)
{
	ProtobufCMessage *m = NULL;
	dd_error err;
	dd_error_clear(&err);
	int rc = dd_pbjson_parse_message(text, strlen(text), d, &m, &err);
	if (rc != DD_OK)
		fail_msg("parse of %s failed: %s", text, err.msg);
	assert_non_null(m);
	return m;
}

/* Parses text as d and expects DD_EINVAL with exactly the message want. */
static void assert_parse_error(const char *text, const ProtobufCMessageDescriptor *d,
                               const char *want)
{
	ProtobufCMessage *m = (ProtobufCMessage *)1;
	dd_error err;
	dd_error_clear(&err);
	int rc = dd_pbjson_parse_message(text, strlen(text), d, &m, &err);
	assert_int_equal(rc, DD_EINVAL);
	assert_null(m);
	assert_int_equal(err.code, DD_EINVAL);
	assert_string_equal(err.msg, want);
}

/* Parses, formats and expects the same text back (want == NULL: same as in). */
static void assert_round_trip(const char *in, const ProtobufCMessageDescriptor *d,
                              const char *want)
{
	ProtobufCMessage *m = parse_ok(in, d);
	assert_format(m, 0, want ? want : in);
	protobuf_c_message_free_unpacked(m, NULL);
}

static void assert_same_wire(const ProtobufCMessage *a, const ProtobufCMessage *b)
{
	size_t la = protobuf_c_message_get_packed_size(a);
	size_t lb = protobuf_c_message_get_packed_size(b);
	assert_int_equal(la, lb);
	uint8_t *ba = malloc(la + 1), *bb = malloc(lb + 1);
	protobuf_c_message_pack(a, ba);
	protobuf_c_message_pack(b, bb);
	assert_memory_equal(ba, bb, la);
	free(ba);
	free(bb);
}

/* ---- pbjson -------------------------------------------------------------------- */

static const char QUOTE_REQUEST_JSON[] =
	"{\"customer_id\":\"c-1\",\"currency\":\"USD\",\"channel\":\"web\","
	"\"lines\":[{\"sku\":\"A-1\",\"quantity\":2},"
	"{\"sku\":\"B/2\",\"quantity\":9007199254740993}],"
	"\"coupon_codes\":[\"SAVE10\",\"VIP\"],\"request_time\":1700000000,"
	"\"attributes\":{\"segment\":\"smb\",\"note\":\"caf\xC3\xA9 \\\"quoted\\\"\"},"
	"\"explain\":true}";

static void test_quote_request_from_struct(void **state)
{
	(void)state;
	Dealdesk__V1__LineRequest l1 = DEALDESK__V1__LINE_REQUEST__INIT;
	Dealdesk__V1__LineRequest l2 = DEALDESK__V1__LINE_REQUEST__INIT;
	l1.sku = "A-1";
	l1.quantity = 2;
	l2.sku = "B/2";
	l2.quantity = 9007199254740993LL; /* not exact as a double */
	Dealdesk__V1__LineRequest *lines[] = { &l1, &l2 };
	char *coupons[] = { "SAVE10", "VIP" };
	Dealdesk__V1__QuoteRequest__AttributesEntry a1 =
		DEALDESK__V1__QUOTE_REQUEST__ATTRIBUTES_ENTRY__INIT;
	Dealdesk__V1__QuoteRequest__AttributesEntry a2 =
		DEALDESK__V1__QUOTE_REQUEST__ATTRIBUTES_ENTRY__INIT;
	a1.key = "segment";
	a1.value = "smb";
	a2.key = "note";
	a2.value = "caf\xC3\xA9 \"quoted\"";
	Dealdesk__V1__QuoteRequest__AttributesEntry *attrs[] = { &a1, &a2 };
	Dealdesk__V1__QuoteRequest req = DEALDESK__V1__QUOTE_REQUEST__INIT;
	req.customer_id = "c-1";
	req.currency = "USD";
	req.channel = "web";
	req.n_lines = 2;
	req.lines = lines;
	req.n_coupon_codes = 2;
	req.coupon_codes = coupons;
	req.request_time = 1700000000;
	req.n_attributes = 2;
	req.attributes = attrs;
	req.explain = 1;

	assert_format(&req.base, 0, QUOTE_REQUEST_JSON);

	/* and back: the same message on the wire */
	ProtobufCMessage *back = parse_ok(QUOTE_REQUEST_JSON, &dealdesk__v1__quote_request__descriptor);
	assert_same_wire(&req.base, back);
	Dealdesk__V1__QuoteRequest *r = (Dealdesk__V1__QuoteRequest *)back;
	assert_int_equal(r->n_lines, 2);
	assert_true(r->lines[1]->quantity == 9007199254740993LL);
	assert_string_equal(r->attributes[1]->key, "note");
	assert_string_equal(r->attributes[1]->value, "caf\xC3\xA9 \"quoted\"");
	assert_string_equal(r->order_id, ""); /* default kept */
	protobuf_c_message_free_unpacked(back, NULL);
}

static void test_quote_request_input_forms(void **state)
{
	(void)state;
	/* lowerCamelCase names, integers as strings, null = default */
	assert_round_trip(
		"{\"customerId\":\"c-1\",\"currency\":\"JPY\",\"lines\":[{\"sku\":\"A\","
		"\"quantity\":\"12\"}],\"couponCodes\":[],\"requestTime\":\"-5\","
		"\"orderId\":null,\"explain\":false,\"attributes\":{}}",
		&dealdesk__v1__quote_request__descriptor,
		"{\"customer_id\":\"c-1\",\"currency\":\"JPY\",\"lines\":[{\"sku\":\"A\","
		"\"quantity\":12}],\"request_time\":-5}");
	/* empty object: every field default */
	assert_round_trip("{}", &dealdesk__v1__quote_request__descriptor, "{}");
	/* whitespace and a pretty layout are fine */
	assert_round_trip(" \n{ \"currency\" : \"EUR\" }\n\n",
	                  &dealdesk__v1__quote_request__descriptor,
	                  "{\"currency\":\"EUR\"}");
}

static void test_promotion_bundle(void **state)
{
	(void)state;
	Dealdesk__V1__BundleItem b1 = DEALDESK__V1__BUNDLE_ITEM__INIT;
	Dealdesk__V1__BundleItem b2 = DEALDESK__V1__BUNDLE_ITEM__INIT;
	b1.sku = "CAM";
	b1.quantity = 1;
	b2.sku = "SD-64";
	b2.quantity = 2;
	Dealdesk__V1__BundleItem *items[] = { &b1, &b2 };
	char *channels[] = { "web", "store" };
	Dealdesk__V1__Promotion p = DEALDESK__V1__PROMOTION__INIT;
	p.id = "BUNDLE-CAM";
	p.name = "Camera kit";
	p.kind = DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_BUNDLE;
	p.currency = "USD";
	p.n_bundle_items = 2;
	p.bundle_items = items;
	p.bundle_price = 49900;
	p.valid_to = 1893456000;
	p.n_channels = 2;
	p.channels = channels;
	p.priority = -1;
	p.enabled = 1;

	const char *want =
		"{\"id\":\"BUNDLE-CAM\",\"name\":\"Camera kit\",\"kind\":\"PROMOTION_KIND_BUNDLE\","
		"\"currency\":\"USD\",\"bundle_items\":[{\"sku\":\"CAM\",\"quantity\":1},"
		"{\"sku\":\"SD-64\",\"quantity\":2}],\"bundle_price\":49900,"
		"\"valid_to\":1893456000,\"channels\":[\"web\",\"store\"],\"priority\":-1,"
		"\"enabled\":true}";
	assert_format(&p.base, 0, want);
	ProtobufCMessage *back = parse_ok(want, &dealdesk__v1__promotion__descriptor);
	assert_same_wire(&p.base, back);
	protobuf_c_message_free_unpacked(back, NULL);

	/* short enum names in any case, numbers, camelCase */
	const char *forms[] = { "\"bundle\"", "\"Bundle\"", "\"PROMOTION_KIND_BUNDLE\"", "3",
		                "\"3\"", "\"promotion_kind_bundle\"" };
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		char text[200];
		snprintf(text, sizeof(text),
		         "{\"id\":\"P\",\"kind\":%s,\"bundleItems\":[{\"sku\":\"A\",\"quantity\":\"2\"}],"
		         "\"bundlePrice\":\"1999\"}",
		         forms[i]);
		assert_round_trip(text, &dealdesk__v1__promotion__descriptor,
		                  "{\"id\":\"P\",\"kind\":\"PROMOTION_KIND_BUNDLE\",\"bundle_items\":"
		                  "[{\"sku\":\"A\",\"quantity\":2}],\"bundle_price\":1999}");
	}
}

static void test_emit_defaults(void **state)
{
	(void)state;
	Dealdesk__V1__WriteResponse w = DEALDESK__V1__WRITE_RESPONSE__INIT;
	assert_format(&w.base, 0, "{}");
	assert_format(&w.base, DD_PBJSON_EMIT_DEFAULTS, "{\"data_version\":0,\"count\":0,\"warnings\":[]}");

	Dealdesk__V1__ListPriceEntriesRequest l = DEALDESK__V1__LIST_PRICE_ENTRIES_REQUEST__INIT;
	/* an unset sub-message stays omitted */
	assert_format(&l.base, DD_PBJSON_EMIT_DEFAULTS, "{\"sku\":\"\",\"currency\":\"\"}");
	Dealdesk__V1__PageRequest page = DEALDESK__V1__PAGE_REQUEST__INIT;
	l.page = &page;
	assert_format(&l.base, 0, "{\"page\":{}}");
	assert_format(&l.base, DD_PBJSON_EMIT_DEFAULTS,
	              "{\"sku\":\"\",\"currency\":\"\",\"page\":{\"page_size\":0,\"page_token\":\"\"}}");

	Dealdesk__V1__PutPriceEntriesRequest put = DEALDESK__V1__PUT_PRICE_ENTRIES_REQUEST__INIT;
	assert_format(&put.base, DD_PBJSON_EMIT_DEFAULTS, "{\"entries\":[]}");

	Dealdesk__V1__ComplianceCheck c = DEALDESK__V1__COMPLIANCE_CHECK__INIT;
	assert_format(&c.base, DD_PBJSON_EMIT_DEFAULTS,
	              "{\"id\":\"\",\"kind\":\"CHECK_KIND_UNSPECIFIED\",\"bps\":0,"
	              "\"on_fail\":\"COMPLIANCE_STATUS_UNSPECIFIED\",\"skus\":[],"
	              "\"enabled\":false,\"description\":\"\",\"window_days\":0,"
	              "\"share_bps\":0,\"amount\":0,\"regions\":[],\"channels\":[],"
	              "\"customer_tiers\":[],\"on_write\":\"COMPLIANCE_STATUS_UNSPECIFIED\"}");

	Dealdesk__V1__QuoteRequest q = DEALDESK__V1__QUOTE_REQUEST__INIT;
	char *s = format(&q.base, DD_PBJSON_EMIT_DEFAULTS);
	assert_non_null(strstr(s, "\"attributes\":{}"));
	assert_non_null(strstr(s, "\"lines\":[]"));
	free(s);
}

static void test_nested_and_extremes(void **state)
{
	(void)state;
	/* int64 and uint64 limits survive exactly */
	assert_round_trip("{\"data_version\":18446744073709551615,\"count\":4294967295}",
	                  &dealdesk__v1__write_response__descriptor, NULL);
	assert_round_trip("{\"request_time\":-9223372036854775808}",
	                  &dealdesk__v1__quote_request__descriptor, NULL);
	assert_round_trip("{\"request_time\":\"9223372036854775807\"}",
	                  &dealdesk__v1__quote_request__descriptor,
	                  "{\"request_time\":9223372036854775807}");
	/* nested messages two deep, with a repeated message inside */
	assert_round_trip(
		"{\"id\":\"C1\",\"name\":\"Acme GmbH\",\"customer_group\":\"wholesale\","
		"\"credit\":{\"currency\":\"EUR\",\"credit_limit\":5000000,"
		"\"open_receivables\":120000,\"standard_terms_days\":30,\"tier\":\"B\","
		"\"hold\":true}}",
		&dealdesk__v1__customer__descriptor, NULL);
	assert_round_trip(
		"{\"decision_id\":\"d1\",\"currency\":\"KWD\",\"lines\":[{\"sku\":\"A\","
		"\"quantity\":1,\"discounts\":[{\"promotion_id\":\"P\",\"kind\":"
		"\"PROMOTION_KIND_PERCENTAGE\",\"amount\":125}]}],\"credit\":{\"outcome\":"
		"\"CREDIT_OUTCOME_APPROVE_SHORTER_TERMS\",\"reasons\":[\"A: x\",\"B: y\"]},"
		"\"compliance\":[{\"check_id\":\"m\",\"status\":\"COMPLIANCE_STATUS_WARN\","
		"\"line_no\":-1}],\"versions\":{\"data_version\":7},\"currency_exponent\":3}",
		&dealdesk__v1__quote_response__descriptor, NULL);
	/* nested enum without a prefix */
	assert_round_trip("{\"status\":\"serving\"}",
	                  &grpc__health__v1__health_check_response__descriptor,
	                  "{\"status\":\"SERVING\"}");
	assert_round_trip("{\"status\":3}", &grpc__health__v1__health_check_response__descriptor,
	                  "{\"status\":\"SERVICE_UNKNOWN\"}");
}

static void test_output_edge_cases(void **state)
{
	(void)state;
	/* an enum number without a name is written as the number */
	Dealdesk__V1__Promotion p = DEALDESK__V1__PROMOTION__INIT;
	p.kind = 99;
	assert_format(&p.base, 0, "{\"kind\":99}");
	/* invalid UTF-8 in a message becomes U+FFFD */
	Dealdesk__V1__CustomerKey k = DEALDESK__V1__CUSTOMER_KEY__INIT;
	k.id = "a\xFF" "b";
	assert_format(&k.base, 0, "{\"id\":\"a\xEF\xBF\xBD" "b\"}");
	/* control characters are escaped; '/' is not */
	k.id = "x/y\n\t";
	assert_format(&k.base, 0, "{\"id\":\"x/y\\n\\t\"}");
	/* pretty output parses back */
	Dealdesk__V1__PolicyKey pk = DEALDESK__V1__POLICY_KEY__INIT;
	pk.kind = DEALDESK__V1__POLICY_KIND__POLICY_KIND_CREDIT;
	pk.version = 3;
	char *pretty = format(&pk.base, DD_PBJSON_PRETTY);
	assert_non_null(strchr(pretty, '\n'));
	ProtobufCMessage *back = parse_ok(pretty, &dealdesk__v1__policy_key__descriptor);
	assert_same_wire(&pk.base, back);
	protobuf_c_message_free_unpacked(back, NULL);
	free(pretty);
	/* a message that is not one */
	json_object *j = (json_object *)1;
	ProtobufCMessage bogus = { 0 };
	assert_int_equal(dd_pbjson_from_message(&bogus, &j), DD_EINVAL);
	assert_null(j);
}

static void test_errors_integers(void **state)
{
	(void)state;
	const ProtobufCMessageDescriptor *q = &dealdesk__v1__quote_request__descriptor;
	assert_parse_error(
		"{\"customer_id\":\"c\",\"lines\":[{\"sku\":\"A\",\"quantity\":1},"
		"{\"sku\":\"B\",\"quantity\":1.5}]}",
		q, "lines[1].quantity: expected an integer");
	assert_parse_error("{\"lines\":[{\"sku\":\"A\",\"quantity\":2.0}]}", q,
	                   "lines[0].quantity: expected an integer");
	assert_parse_error("{\"lines\":[{\"sku\":\"A\",\"quantity\":1e3}]}", q,
	                   "lines[0].quantity: expected an integer");
	assert_parse_error("{\"lines\":[{\"sku\":\"A\",\"quantity\":\"1.5\"}]}", q,
	                   "lines[0].quantity: expected an integer");
	assert_parse_error("{\"lines\":[{\"sku\":\"A\",\"quantity\":\" 1\"}]}", q,
	                   "lines[0].quantity: expected an integer");
	assert_parse_error("{\"lines\":[{\"sku\":\"A\",\"quantity\":true}]}", q,
	                   "lines[0].quantity: expected an integer");
	assert_parse_error("{\"request_time\":\"\"}", q, "request_time: expected an integer");
	assert_parse_error("{\"request_time\":\"9223372036854775808\"}", q,
	                   "request_time: 9223372036854775808 is out of range for int64");
	assert_parse_error("{\"request_time\":9223372036854775808}", q,
	                   "request_time: 9223372036854775808 is out of range for int64");
	assert_parse_error("{\"request_time\":99999999999999999999}", q,
	                   "line 1: integer 99999999999999999999 is outside the 64-bit range");
	assert_parse_error("{\"request_time\":\"99999999999999999999\"}", q,
	                   "request_time: integer out of range for int64");
	assert_parse_error("{\"percent_bps\":2147483648}", &dealdesk__v1__promotion__descriptor,
	                   "percent_bps: 2147483648 is out of range for int32");
	assert_parse_error("{\"data_version\":-1}", &dealdesk__v1__write_response__descriptor,
	                   "data_version: -1 is out of range for uint64");
	assert_parse_error("{\"count\":4294967296}", &dealdesk__v1__write_response__descriptor,
	                   "count: 4294967296 is out of range for uint32");
	assert_round_trip("{\"percent_bps\":-2147483648}", &dealdesk__v1__promotion__descriptor,
	                  NULL);
}

static void test_errors_fields_and_types(void **state)
{
	(void)state;
	const ProtobufCMessageDescriptor *q = &dealdesk__v1__quote_request__descriptor;
	assert_parse_error("{\"customer_id\":\"c\",\"bogus\":1}", q, "bogus: unknown field");
	assert_parse_error("{\"lines\":[{\"sku\":\"A\",\"qty\":1}]}", q,
	                   "lines[0].qty: unknown field");
	assert_parse_error("{\"Customer_id\":\"c\"}", q, "Customer_id: unknown field");
	assert_parse_error("{\"customer_id\":\"a\",\"customerId\":\"b\"}", q,
	                   "customer_id: given twice (as customer_id and as customerId)");
	assert_parse_error("{\"customer_id\":5}", q, "customer_id: expected a string");
	assert_parse_error("{\"explain\":\"yes\"}", q, "explain: expected true or false");
	assert_parse_error("{\"lines\":{}}", q, "lines: expected a JSON array");
	assert_parse_error("{\"lines\":[null]}", q, "lines[0]: null is not allowed in a list");
	assert_parse_error("{\"lines\":[\"A:1\"]}", q, "lines[0]: expected a JSON object");
	assert_parse_error("{\"attributes\":[]}", q, "attributes: expected a JSON object (map)");
	assert_parse_error("{\"attributes\":{\"a\":\"x\",\"k\":1}}", q,
	                   "attributes[\"k\"]: expected a string");
	assert_parse_error("[]", q, "expected a JSON object");
	assert_parse_error("{\"kind\":\"HALF_PRICE\"}", &dealdesk__v1__promotion__descriptor,
	                   "kind: unknown PromotionKind 'HALF_PRICE' (expected one of "
	                   "UNSPECIFIED, PERCENTAGE, FIXED_AMOUNT, BUNDLE, SPEND_THRESHOLD, FIXED_PRICE, BUY_X_GET_Y, FREE_GIFT, LOYALTY_POINTS, CUSTOM)");
	assert_parse_error("{\"kind\":42}", &dealdesk__v1__promotion__descriptor,
	                   "kind: unknown PromotionKind '42' (expected one of "
	                   "UNSPECIFIED, PERCENTAGE, FIXED_AMOUNT, BUNDLE, SPEND_THRESHOLD, FIXED_PRICE, BUY_X_GET_Y, FREE_GIFT, LOYALTY_POINTS, CUSTOM)");
	assert_parse_error("{\"kind\":{}}", &dealdesk__v1__promotion__descriptor,
	                   "kind: expected a PromotionKind name");
	assert_parse_error("{\"bundle_items\":[{\"sku\":\"A\"},{\"sku\":\"B\",\"quantity\":\"x\"}]}",
	                   &dealdesk__v1__promotion__descriptor,
	                   "bundle_items[1].quantity: expected an integer");
	assert_parse_error("{\"credit\":{\"hold\":1}}", &dealdesk__v1__customer__descriptor,
	                   "credit.hold: expected true or false");
}

static void test_errors_strings(void **state)
{
	(void)state;
	const ProtobufCMessageDescriptor *q = &dealdesk__v1__quote_request__descriptor;
	/* NUL through a JSON escape */
	assert_parse_error("{\"customer_id\":\"a\\u0000b\"}", q,
	                   "customer_id: string contains a NUL character");
	assert_parse_error("{\"lines\":[{\"sku\":\"\\u0000\"}]}", q,
	                   "lines[0].sku: string contains a NUL character");
	/* invalid UTF-8 in text is refused by the parser */
	ProtobufCMessage *m = NULL;
	dd_error err;
	const char bad[] = "{\"customer_id\":\"\xC3\x28\"}";
	assert_int_equal(dd_pbjson_parse_message(bad, sizeof(bad) - 1, q, &m, &err), DD_EINVAL);
	assert_null(m);
	assert_non_null(strstr(err.msg, "line 1"));
	/* and by the converter when the JSON object was built in memory */
	const char *cases[][2] = {
		{ "\xFF", "customer_id: invalid UTF-8 at byte 0" },
		{ "ab\xC0\x80", "customer_id: invalid UTF-8 at byte 2" },       /* overlong NUL */
		{ "\xED\xA0\x80", "customer_id: invalid UTF-8 at byte 0" },     /* surrogate */
		{ "\xF4\x90\x80\x80", "customer_id: invalid UTF-8 at byte 0" }, /* > U+10FFFF */
		{ "\xE2\x82", "customer_id: invalid UTF-8 at byte 0" },         /* truncated */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_object *j = json_object_new_object();
		json_object_object_add(j, "customer_id",
		                       json_object_new_string_len(cases[i][0], (int)strlen(cases[i][0])));
		m = NULL;
		dd_error_clear(&err);
		assert_int_equal(dd_pbjson_to_message(j, q, &m, &err), DD_EINVAL);
		assert_null(m);
		assert_string_equal(err.msg, cases[i][1]);
		json_object_put(j);
	}
	/* a map key gets the same checks */
	json_object *j = json_object_new_object();
	json_object *attrs = json_object_new_object();
	json_object_object_add(attrs, "k\xFF", json_object_new_string("v"));
	json_object_object_add(j, "attributes", attrs);
	assert_int_equal(dd_pbjson_to_message(j, q, &m, &err), DD_EINVAL);
	assert_string_equal(err.msg, "attributes[\"k\xFF\"]: invalid UTF-8 at byte 1");
	json_object_put(j);
	/* 4-byte UTF-8 is fine */
	assert_round_trip("{\"customer_id\":\"\xF0\x9F\x98\x80\"}", q, NULL);
	assert_round_trip("{\"customer_id\":\"\\u00e9\\ud83d\\ude00\"}", q,
	                  "{\"customer_id\":\"\xC3\xA9\xF0\x9F\x98\x80\"}");
}

static void test_errors_text(void **state)
{
	(void)state;
	const ProtobufCMessageDescriptor *q = &dealdesk__v1__quote_request__descriptor;
	ProtobufCMessage *m = NULL;
	dd_error err;
	const char *bad[] = {
		"", "{", "{\"currency\":\"USD\"} x", "{\"currency\":\"USD\",}", "{'a':1}",
		"{\"currency\":\"USD\"}{}", "{\"a\":\n\n}", "nul\0l",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t len = i == 7 ? 5 : strlen(bad[i]);
		dd_error_clear(&err);
		assert_int_equal(dd_pbjson_parse_message(bad[i], len, q, &m, &err), DD_EINVAL);
		assert_null(m);
		if (strncmp(err.msg, "line ", 5) != 0)
			fail_msg("case %zu: %s", i, err.msg);
	}
	dd_error_clear(&err);
	dd_pbjson_parse_message("{\"a\":\n\n}", 8, q, &m, &err);
	assert_true(strncmp(err.msg, "line 3:", 7) == 0);
	/* a bare value parses as JSON but is no message */
	assert_parse_error("17", q, "expected a JSON object");
}

static void test_enum_helpers(void **state)
{
	(void)state;
	int v = -1;
	const ProtobufCEnumDescriptor *k = &dealdesk__v1__policy_kind__descriptor;
	assert_int_equal(dd_pbjson_enum_parse(k, "pricing", &v), DD_OK);
	assert_int_equal(v, 1);
	assert_int_equal(dd_pbjson_enum_parse(k, "POLICY_KIND_COMPLIANCE", &v), DD_OK);
	assert_int_equal(v, 4);
	assert_int_equal(dd_pbjson_enum_parse(k, "2", &v), DD_OK);
	assert_int_equal(v, 2);
	assert_int_equal(dd_pbjson_enum_parse(k, "9", &v), DD_EINVAL);
	assert_int_equal(dd_pbjson_enum_parse(k, "KIND_PRICING", &v), DD_EINVAL);
	assert_int_equal(dd_pbjson_enum_parse(k, "", &v), DD_EINVAL);
	assert_string_equal(dd_pbjson_enum_short_name(k, 3), "CREDIT");
	assert_null(dd_pbjson_enum_short_name(k, 42));
	assert_string_equal(
		dd_pbjson_enum_short_name(&dealdesk__v1__credit_outcome__descriptor, 2),
		"APPROVE_SHORTER_TERMS");
	assert_string_equal(
		dd_pbjson_enum_short_name(&grpc__health__v1__health_check_response__serving_status__descriptor, 1),
		"SERVING");
	assert_string_equal(
		dd_pbjson_enum_short_name(&dealdesk__v1__rounding_mode__descriptor, 1), "HALF_UP");
}

/* ---- a hand-made descriptor for what the dealdesk protos do not use: double,
 * float, bytes, a oneof, a proto2 optional with has_, an int32-keyed map ---- */

typedef struct kitchen_tags_entry {
	ProtobufCMessage base;
	int32_t key;
	char *value;
} kitchen_tags_entry;

typedef struct kitchen {
	ProtobufCMessage base;
	double ratio;
	ProtobufCBinaryData blob;
	uint32_t choice_case;
	union {
		char *text;
		int64_t number;
	};
	protobuf_c_boolean has_opt;
	int32_t opt;
	size_t n_scores;
	float *scores;
	size_t n_tags;
	kitchen_tags_entry **tags;
} kitchen;

static const ProtobufCMessageDescriptor kitchen_descriptor, kitchen_tags_entry_descriptor;

static void kitchen_tags_entry_init(ProtobufCMessage *m)
{
	kitchen_tags_entry *e = (kitchen_tags_entry *)m;
	memset(e, 0, sizeof(*e));
	e->base.descriptor = &kitchen_tags_entry_descriptor;
	e->value = (char *)protobuf_c_empty_string;
}

static void kitchen_init(ProtobufCMessage *m)
{
	memset(m, 0, sizeof(kitchen));
	m->descriptor = &kitchen_descriptor;
}

static const ProtobufCFieldDescriptor kitchen_tags_entry_fields[] = {
	{ "key", 1, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_INT32, 0,
	  offsetof(kitchen_tags_entry, key), NULL, NULL, 0, 0, NULL, NULL },
	{ "value", 2, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_STRING, 0,
	  offsetof(kitchen_tags_entry, value), NULL, &protobuf_c_empty_string, 0, 0, NULL, NULL },
};
static const unsigned kitchen_tags_entry_by_name[] = { 0, 1 };
static const ProtobufCIntRange kitchen_tags_entry_ranges[] = { { 1, 0 }, { 0, 2 } };
static const ProtobufCMessageDescriptor kitchen_tags_entry_descriptor = {
	PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC, "test.Kitchen.TagsEntry", "TagsEntry",
	"Kitchen__TagsEntry", "test", sizeof(kitchen_tags_entry), 2, kitchen_tags_entry_fields,
	kitchen_tags_entry_by_name, 1, kitchen_tags_entry_ranges, kitchen_tags_entry_init,
	NULL, NULL, NULL,
};

static const ProtobufCFieldDescriptor kitchen_fields[] = {
	{ "ratio", 1, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_DOUBLE, 0, offsetof(kitchen, ratio),
	  NULL, NULL, 0, 0, NULL, NULL },
	{ "blob", 2, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_BYTES, 0, offsetof(kitchen, blob),
	  NULL, NULL, 0, 0, NULL, NULL },
	{ "text", 3, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_STRING, offsetof(kitchen, choice_case),
	  offsetof(kitchen, text), NULL, NULL, PROTOBUF_C_FIELD_FLAG_ONEOF, 0, NULL, NULL },
	{ "number", 4, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_INT64,
	  offsetof(kitchen, choice_case), offsetof(kitchen, number), NULL, NULL,
	  PROTOBUF_C_FIELD_FLAG_ONEOF, 0, NULL, NULL },
	{ "opt", 5, PROTOBUF_C_LABEL_OPTIONAL, PROTOBUF_C_TYPE_INT32, offsetof(kitchen, has_opt),
	  offsetof(kitchen, opt), NULL, NULL, 0, 0, NULL, NULL },
	{ "scores", 6, PROTOBUF_C_LABEL_REPEATED, PROTOBUF_C_TYPE_FLOAT, offsetof(kitchen, n_scores),
	  offsetof(kitchen, scores), NULL, NULL, 0, 0, NULL, NULL },
	{ "tags", 7, PROTOBUF_C_LABEL_REPEATED, PROTOBUF_C_TYPE_MESSAGE, offsetof(kitchen, n_tags),
	  offsetof(kitchen, tags), &kitchen_tags_entry_descriptor, NULL, 0, 0, NULL, NULL },
};
static const unsigned kitchen_by_name[] = { 1, 3, 4, 0, 5, 6, 2 };
static const ProtobufCIntRange kitchen_ranges[] = { { 1, 0 }, { 0, 7 } };
static const ProtobufCMessageDescriptor kitchen_descriptor = {
	PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC, "test.Kitchen", "Kitchen", "Kitchen", "test",
	sizeof(kitchen), 7, kitchen_fields, kitchen_by_name, 1, kitchen_ranges, kitchen_init,
	NULL, NULL, NULL,
};

static void test_generic_types(void **state)
{
	(void)state;
	const char *full =
		"{\"ratio\":0.5,\"blob\":\"aGVsbG8=\",\"number\":42,\"opt\":0,"
		"\"scores\":[1.5,-2.25],\"tags\":{\"1\":\"one\",\"-7\":\"minus seven\"}}";
	assert_round_trip(full, &kitchen_descriptor, NULL);
	ProtobufCMessage *m = parse_ok(full, &kitchen_descriptor);
	kitchen *k = (kitchen *)m;
	assert_true(k->ratio == 0.5);
	assert_int_equal(k->blob.len, 5);
	assert_memory_equal(k->blob.data, "hello", 5);
	assert_int_equal(k->choice_case, 4);
	assert_int_equal(k->number, 42);
	assert_true(k->has_opt);
	assert_int_equal(k->n_scores, 2);
	assert_true(k->scores[1] == -2.25f);
	assert_int_equal(k->n_tags, 2);
	assert_int_equal(k->tags[1]->key, -7);
	protobuf_c_message_free_unpacked(m, NULL);

	/* the other oneof member; URL-safe base64 without padding; floats as
	 * strings; an unset optional stays out */
	assert_round_trip("{\"blob\":\"-_8\",\"text\":\"\",\"scores\":[\"1e2\",3]}",
	                  &kitchen_descriptor,
	                  "{\"blob\":\"+/8=\",\"text\":\"\",\"scores\":[100.0,3.0]}");
	assert_round_trip("{\"ratio\":\"NaN\",\"scores\":[\"-Infinity\"]}", &kitchen_descriptor,
	                  "{\"ratio\":\"NaN\",\"scores\":[\"-Infinity\"]}");
	assert_round_trip("{\"ratio\":3}", &kitchen_descriptor, "{\"ratio\":3.0}");

	assert_parse_error("{\"text\":\"a\",\"number\":1}", &kitchen_descriptor,
	                   "number: cannot be set together with text");
	assert_parse_error("{\"blob\":\"a\"}", &kitchen_descriptor, "blob: invalid base64");
	assert_parse_error("{\"blob\":\"ab!c\"}", &kitchen_descriptor, "blob: invalid base64");
	assert_parse_error("{\"tags\":{\"1\":\"a\",\"x\":\"b\"}}", &kitchen_descriptor,
	                   "tags[\"x\"]: map key must be an integer");
	assert_parse_error("{\"tags\":{\"2147483648\":\"b\"}}", &kitchen_descriptor,
	                   "tags[\"2147483648\"]: 2147483648 is out of range for int32");
	assert_parse_error("{\"scores\":[\"fast\"]}", &kitchen_descriptor,
	                   "scores[0]: expected a number");
	assert_parse_error("{\"scores\":[1e39]}", &kitchen_descriptor,
	                   "scores[0]: out of range for float");
	assert_parse_error("{\"ratio\":true}", &kitchen_descriptor, "ratio: expected a number");

	kitchen e;
	kitchen_init(&e.base);
	assert_format(&e.base, 0, "{}");
	assert_format(&e.base, DD_PBJSON_EMIT_DEFAULTS,
	              "{\"ratio\":0.0,\"blob\":\"\",\"scores\":[],\"tags\":{}}");
}

/* ---- CSV ------------------------------------------------------------------------- */

static dd_csv *csv_ok(const char *text, size_t len)
{
	dd_csv *csv = NULL;
	dd_error err;
	dd_error_clear(&err);
	if (dd_csv_parse(text, len, &csv, &err) != DD_OK)
		fail_msg("csv: %s", err.msg);
	return csv;
}

static void test_csv_rfc4180(void **state)
{
	(void)state;
	const char text[] =
		"\xEF\xBB\xBFsku,name,unit_price\r\n"
		"A-1,\"Widget, large\",12.34\r\n"
		"\r\n"
		"B-2,\"He said \"\"hi\"\"\",0.5\n"
		"C-3,\"two\r\nlines\",\n"
		",,\n"
		"\"\",\"\"\"\",x";
	dd_csv *csv = csv_ok(text, sizeof(text) - 1);
	assert_int_equal(csv->n_records, 6);
	const dd_csv_record *r = csv->records;
	assert_int_equal(r[0].line, 1);
	assert_int_equal(r[0].n_fields, 3);
	assert_string_equal(r[0].fields[0], "sku"); /* BOM dropped */
	assert_string_equal(r[1].fields[1], "Widget, large");
	assert_string_equal(r[1].fields[2], "12.34");
	assert_int_equal(r[2].line, 4); /* the blank line is skipped */
	assert_string_equal(r[2].fields[1], "He said \"hi\"");
	assert_int_equal(r[3].line, 5);
	assert_string_equal(r[3].fields[1], "two\r\nlines");
	assert_string_equal(r[3].fields[2], "");
	assert_int_equal(r[4].line, 7);
	assert_int_equal(r[4].n_fields, 3);
	assert_string_equal(r[4].fields[2], "");
	assert_int_equal(r[5].n_fields, 3);
	assert_string_equal(r[5].fields[0], "");
	assert_string_equal(r[5].fields[1], "\"");
	assert_string_equal(r[5].fields[2], "x");
	assert_int_equal(dd_csv_find(&r[0], "UNIT_PRICE"), 2);
	assert_int_equal(dd_csv_find(&r[0], "currency"), -1);
	dd_csv_free(csv);

	csv = csv_ok(" Sku , x\n", 9);
	assert_int_equal(dd_csv_find(&csv->records[0], "sku"), 0);
	assert_int_equal(dd_csv_find(&csv->records[0], "x"), 1);
	assert_string_equal(csv->records[0].fields[0], " Sku "); /* not trimmed */
	dd_csv_free(csv);

	csv = csv_ok("", 0);
	assert_int_equal(csv->n_records, 0);
	dd_csv_free(csv);
	csv = csv_ok("\n\r\n\n", 4);
	assert_int_equal(csv->n_records, 0);
	dd_csv_free(csv);
	csv = csv_ok("a,b\rc,d\r", 8); /* old Mac line ends */
	assert_int_equal(csv->n_records, 2);
	assert_string_equal(csv->records[1].fields[1], "d");
	dd_csv_free(csv);
}

static void assert_csv_error(const char *text, size_t len, const char *want)
{
	dd_csv *csv = (dd_csv *)1;
	dd_error err;
	dd_error_clear(&err);
	assert_int_equal(dd_csv_parse(text, len, &csv, &err), DD_EINVAL);
	assert_null(csv);
	assert_string_equal(err.msg, want);
}

static void test_csv_errors(void **state)
{
	(void)state;
	assert_csv_error("a,b\n\"x,y\n1,2\n", 12, "line 2: quoted field is not closed");
	assert_csv_error("a,b\n\"x\"y,1\n", 11, "line 2: unexpected text after a closing quote");
	assert_csv_error("a,b\n12\" pipe,1\n", 15,
	                 "line 2: quote inside an unquoted field "
	                 "(quote the whole field and double the quote)");
	assert_csv_error("a\n\"multi\nline\" x\n", 17,
	                 "line 3: unexpected text after a closing quote");
	assert_csv_error("a\nb\xFF\n", 5, "line 2: invalid UTF-8");
	assert_csv_error("a\n\nb\0c\n", 7, "line 3: NUL byte");
}

static void test_csv_large(void **state)
{
	(void)state;
	size_t rows = 20000, cap = rows * 40 + 64, len = 0;
	char *text = malloc(cap);
	len += (size_t)snprintf(text + len, cap - len, "sku,unit_price\n");
	for (size_t i = 0; i < rows; i++)
		len += (size_t)snprintf(text + len, cap - len, "\"SKU-%zu\",%zu.%02zu\r\n", i, i,
		                        i % 100);
	dd_csv *csv = csv_ok(text, len);
	assert_int_equal(csv->n_records, rows + 1);
	assert_string_equal(csv->records[rows].fields[0], "SKU-19999");
	assert_string_equal(csv->records[rows].fields[1], "19999.99");
	assert_int_equal(csv->records[rows].line, rows + 1);
	dd_csv_free(csv);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quote_request_from_struct),
		cmocka_unit_test(test_quote_request_input_forms),
		cmocka_unit_test(test_promotion_bundle),
		cmocka_unit_test(test_emit_defaults),
		cmocka_unit_test(test_nested_and_extremes),
		cmocka_unit_test(test_output_edge_cases),
		cmocka_unit_test(test_errors_integers),
		cmocka_unit_test(test_errors_fields_and_types),
		cmocka_unit_test(test_errors_strings),
		cmocka_unit_test(test_errors_text),
		cmocka_unit_test(test_enum_helpers),
		cmocka_unit_test(test_generic_types),
		cmocka_unit_test(test_csv_rfc4180),
		cmocka_unit_test(test_csv_errors),
		cmocka_unit_test(test_csv_large),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
