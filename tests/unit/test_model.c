/* Unit tests for src/model: UTF-8, string checks, policy kinds and their
 * meta keys, the entity table, validation messages, local times in a zone.
 * Links ddmodel alone: no Lua, no LMDB. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dealdesk/model.h"
#include "dealdesk/v1/types.pb-c.h"

static void test_utf8(void **state)
{
	(void)state;
	assert_true(dd_utf8_valid("plain", 5));
	assert_true(dd_utf8_valid("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9)); /* é € 😀 */
	assert_false(dd_utf8_valid("\xff", 1));
	assert_false(dd_utf8_valid("\xc3", 1));           /* truncated */
	assert_false(dd_utf8_valid("\xc0\xaf", 2));       /* overlong */
	assert_false(dd_utf8_valid("\xe0\x9f\xbf", 3));   /* overlong, 3 bytes */
	assert_false(dd_utf8_valid("\xed\xa0\x80", 3));   /* surrogate */
	assert_false(dd_utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
	assert_true(dd_utf8_valid("a\0b", 3));            /* NUL is the caller's business */
	assert_true(dd_utf8_valid("", 0));
}

static void test_utf8_check_offsets(void **state)
{
	(void)state;
	assert_int_equal(dd_utf8_check("abc", 3), 3);
	assert_int_equal(dd_utf8_check("ab\xff", 3), 2);
	assert_int_equal(dd_utf8_check("\xc3\xa9\xe2\x82", 4), 2); /* truncated euro sign */
	assert_int_equal(dd_utf8_seq_len("\xf0\x9f\x98\x80", 4), 4);
	assert_int_equal(dd_utf8_seq_len("\xf0\x9f\x98\x80", 3), 0);
	assert_int_equal(dd_utf8_seq_len("\x80", 1), 0);
	assert_int_equal(dd_utf8_seq_len("x", 0), 0);
}

/* The validator against a decoder written differently (code points). */
static int reference_valid(const unsigned char *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		unsigned c = s[i], cp, n;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
			n = 1, cp = c & 0x1F;
		else if (c >= 0xE0 && c <= 0xEF)
			n = 2, cp = c & 0x0F;
		else if (c >= 0xF0 && c <= 0xF4)
			n = 3, cp = c & 0x07;
		else
			return 0;
		if (len - i <= n)
			return 0;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
		    (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		i += n + 1;
	}
	return 1;
}

static void test_utf8_every_short_sequence(void **state)
{
	(void)state;
	unsigned char b[4];
	/* every 1- and 2-byte string, every 3-byte string starting at 0xE0..0xF4 */
	for (unsigned x = 0; x < 0x10000; x++) {
		b[0] = (unsigned char)(x >> 8);
		b[1] = (unsigned char)x;
		assert_int_equal(dd_utf8_valid((char *)b, 1), reference_valid(b, 1));
		assert_int_equal(dd_utf8_valid((char *)b, 2), reference_valid(b, 2));
	}
	for (unsigned c = 0xE0; c <= 0xF4; c++)
		for (unsigned x = 0; x < 0x10000; x++) {
			b[0] = (unsigned char)c;
			b[1] = (unsigned char)(x >> 8);
			b[2] = (unsigned char)x;
			b[3] = 0x80;
			assert_int_equal(dd_utf8_valid((char *)b, 3), reference_valid(b, 3));
			assert_int_equal(dd_utf8_valid((char *)b, 4), reference_valid(b, 4));
		}
}

static void test_check_string(void **state)
{
	(void)state;
	dd_error err;
	assert_int_equal(dd_check_string("abc", 3, 0, "f", &err), DD_OK);
	assert_int_equal(dd_check_string(NULL, 3, 1, "f", &err), DD_OK);
	assert_int_equal(dd_check_string("", 3, 0, "f", &err), DD_EINVAL);
	assert_string_equal(err.msg, "f: required");
	assert_int_equal(dd_check_string("abcd", 3, 0, "f", &err), DD_EINVAL);
	assert_string_equal(err.msg, "f: longer than 3 bytes");
	assert_int_equal(dd_check_string("a\xff", 3, 0, "f", &err), DD_EINVAL);
	assert_string_equal(err.msg, "f: invalid UTF-8");
}

static void expect_invalid(dd_entity_kind kind, ProtobufCMessage *m, const char *msg)
{
	dd_error err;
	int rc = dd_entity_normalize(kind, m, "x", &err);
	if (rc == DD_OK)
		rc = dd_entity_validate(kind, m, "x", &err);
	assert_int_equal(rc, DD_EINVAL);
	if (strcmp(err.msg, msg) != 0)
		fail_msg("got '%s', want '%s'", err.msg, msg);
}

static void test_price_validation(void **state)
{
	(void)state;
	Dealdesk__V1__PriceEntry p = DEALDESK__V1__PRICE_ENTRY__INIT;
	expect_invalid(DD_ENTITY_PRICE, &p.base, "x.price_list_id: required");
	p.price_list_id = "l";
	p.sku = "S";
	p.currency = "usd";
	expect_invalid(DD_ENTITY_PRICE, &p.base, "x.currency: unknown ISO 4217 currency 'usd'");
	p.currency = "USD";
	p.unit_price = -1;
	expect_invalid(DD_ENTITY_PRICE, &p.base,
	               "x.unit_price: -1 is out of range [0, 9223372036854775807]");
	p.unit_price = 100;
	p.floor_price = 50;
	p.ceiling_price = 40;
	expect_invalid(DD_ENTITY_PRICE, &p.base, "x.floor_price: above ceiling_price");
	p.ceiling_price = 0;
	p.valid_from = 10;
	p.valid_to = 10;
	expect_invalid(DD_ENTITY_PRICE, &p.base, "x.valid_to: must be after valid_from");
	p.valid_to = 11;
	dd_error err;
	assert_int_equal(dd_entity_validate(DD_ENTITY_PRICE, &p.base, "x", &err), DD_OK);
}

static void test_promotion_validation(void **state)
{
	(void)state;
	Dealdesk__V1__Promotion p = DEALDESK__V1__PROMOTION__INIT;
	p.id = "P";
	expect_invalid(DD_ENTITY_PROMOTION, &p.base, "x.kind: unknown promotion kind 0");
	p.kind = DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_PERCENTAGE;
	expect_invalid(DD_ENTITY_PROMOTION, &p.base,
	               "x.percent_bps: a PERCENTAGE promotion needs 1..10000");
	p.kind = DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_BUY_X_GET_Y;
	expect_invalid(DD_ENTITY_PROMOTION, &p.base,
	               "x.buy_quantity: 0 is out of range [1, 1000000]");
	p.kind = DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_SPEND_THRESHOLD;
	p.currency = "USD";
	Dealdesk__V1__ThresholdTier t1 = DEALDESK__V1__THRESHOLD_TIER__INIT, t2 = t1;
	t1.threshold = 500;
	t1.amount = 60;
	t2.threshold = 200;
	t2.amount = 20;
	Dealdesk__V1__ThresholdTier *tiers[] = { &t1, &t2 };
	p.tiers = tiers;
	p.n_tiers = 2;
	expect_invalid(DD_ENTITY_PROMOTION, &p.base,
	               "x.tiers[1]: thresholds must ascend and amounts be > 0");
	t1.threshold = 100;
	/* a condition is only compiled on write (admin); here just its length */
	p.condition = "return (";
	dd_error err;
	assert_int_equal(dd_entity_validate(DD_ENTITY_PROMOTION, &p.base, "x", &err), DD_OK);
	char big[DD_MAX_CONDITION + 2];
	memset(big, ' ', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	p.condition = big;
	expect_invalid(DD_ENTITY_PROMOTION, &p.base, "x.condition: longer than 4096 bytes");
	p.condition = "return ctx.total > 0";
	assert_int_equal(dd_entity_validate(DD_ENTITY_PROMOTION, &p.base, "x", &err), DD_OK);
	Dealdesk__V1__ExperimentArm arm = DEALDESK__V1__EXPERIMENT_ARM__INIT;
	Dealdesk__V1__ExperimentArm *arms[] = { &arm };
	p.arms = arms;
	p.n_arms = 1;
	expect_invalid(DD_ENTITY_PROMOTION, &p.base, "x.experiment_id: required with arms");
}

static void test_local_time_zone(void **state)
{
	(void)state;
	int64_t t;
	/* Berlin is UTC+1 in winter, UTC+2 in summer */
	assert_int_equal(dd_local_to_unix("2026-12-01T00:00", "Europe/Berlin", &t), DD_OK);
	assert_int_equal(t, 1796079600);
	assert_int_equal(dd_local_to_unix("2026-07-01T12:30:00", "Europe/Berlin", &t), DD_OK);
	assert_int_equal(t, 1782901800);
	assert_int_equal(dd_local_to_unix("2026-12-01T00:00", "UTC", &t), DD_OK);
	assert_int_equal(t, 1796083200);
	assert_int_equal(dd_local_to_unix("2026-02-30T00:00", "UTC", &t), DD_EINVAL);
	assert_int_equal(dd_local_to_unix("2026-12-01 00:00", "UTC", &t), DD_EINVAL);
	assert_int_equal(dd_local_to_unix("2026-12-01T00:00", "../../etc/passwd", &t), DD_ENOTFOUND);
	assert_int_equal(dd_local_to_unix("2026-12-01T00:00", "Mars/Olympus", &t), DD_ENOTFOUND);

	Dealdesk__V1__Promotion p = DEALDESK__V1__PROMOTION__INIT;
	p.valid_from_local = "2026-12-01T00:00";
	dd_error err;
	assert_int_equal(dd_entity_normalize(DD_ENTITY_PROMOTION, &p.base, "x", &err), DD_EINVAL);
	assert_string_equal(err.msg, "x.time_zone: required with local validity times");
	p.time_zone = "Asia/Tokyo";
	assert_int_equal(dd_entity_normalize(DD_ENTITY_PROMOTION, &p.base, "x", &err), DD_OK);
	assert_int_equal(p.valid_from, 1796083200 - 9 * 3600);
}

static void test_entity_table(void **state)
{
	(void)state;
	for (int k = 0; k < DD_ENTITY__COUNT; k++) {
		const dd_entity_def *e = dd_entity((dd_entity_kind)k);
		assert_non_null(e);
		assert_non_null(e->name);
		assert_non_null(e->desc);
		assert_true(e->table < DD_T__COUNT);
		assert_true(e->key_parts >= 1 && e->key_parts <= 3);
		for (int i = 0; i < e->key_parts; i++) {
			const ProtobufCFieldDescriptor *f =
				protobuf_c_message_descriptor_get_field_by_name(e->desc, e->key_fields[i]);
			assert_non_null(f);
			assert_int_equal(f->type, PROTOBUF_C_TYPE_STRING);
			assert_int_equal(f->label, PROTOBUF_C_LABEL_NONE);
		}
	}
	assert_null(dd_entity(DD_ENTITY__COUNT));
	assert_int_equal(dd_entity(DD_ENTITY_PRICE)->table, DD_T_PRICES);
	assert_string_equal(dd_entity(DD_ENTITY_PRICE)->key_fields[2], "price_list_id");
	assert_string_equal(dd_entity(DD_ENTITY_PROMOTION)->meta_counter, DD_META_PROMOTIONS_VERSION);
	assert_string_equal(dd_entity(DD_ENTITY_CHECK)->meta_counter, DD_META_CHECKS_VERSION);
	assert_null(dd_entity(DD_ENTITY_CUSTOMER)->meta_counter);
	assert_string_equal(dd_entity(DD_ENTITY_SIGNALS)->name, "signals of SKU");

	char src[64];
	assert_int_equal(dd_condition_source("return true", src, sizeof(src)), DD_OK);
	assert_string_equal(src, "function condition(ctx, promotion)\nreturn true\nend\n");
	assert_int_equal(dd_condition_source("return true", src, 20), DD_EINVAL);
}

static void test_policy_kinds(void **state)
{
	(void)state;
	assert_int_equal(dd_policy_kind_parse("Compliance"), DD_POLICY_COMPLIANCE);
	assert_int_equal(dd_policy_kind_parse("POLICY_KIND_PRICING"), DD_POLICY_PRICING);
	assert_int_equal(dd_policy_kind_parse("policy_kind_credit"), DD_POLICY_CREDIT);
	assert_int_equal(dd_policy_kind_parse("2"), DD_POLICY_PROMOTIONS);
	assert_int_equal(dd_policy_kind_parse("5"), 0);
	assert_int_equal(dd_policy_kind_parse("0"), 0);
	assert_int_equal(dd_policy_kind_parse("other"), 0);
	assert_int_equal(dd_policy_kind_parse(NULL), 0);
	assert_string_equal(dd_policy_kind_name(DD_POLICY_PRICING), "pricing");
	assert_string_equal(dd_policy_entry(DD_POLICY_PROMOTIONS), "apply");
	assert_string_equal(dd_policy_entry(DD_POLICY_CREDIT), "decide");
	assert_string_equal(dd_policy_entry(DD_POLICY_COMPLIANCE), "check");
	assert_null(dd_policy_kind_name(0));
	assert_null(dd_policy_entry(DD_POLICY_KIND_COUNT));
	for (int k = DD_POLICY_PRICING; k < DD_POLICY_KIND_COUNT; k++)
		assert_int_equal(dd_policy_kind_parse(dd_policy_kind_name(k)), k);

	char key[16];
	dd_policy_active_key(DD_POLICY_PRICING, key);
	assert_string_equal(key, "active/1");
	dd_policy_active_key(DD_POLICY_COMPLIANCE, key);
	assert_string_equal(key, DD_META_ACTIVE_PREFIX "4");
	dd_policy_next_key(DD_POLICY_CREDIT, key);
	assert_string_equal(key, "next/3");
	dd_policy_active_key(9, key);
	assert_string_equal(key, "active/0");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_utf8_check_offsets),
		cmocka_unit_test(test_utf8_every_short_sequence),
		cmocka_unit_test(test_check_string),
		cmocka_unit_test(test_policy_kinds),
		cmocka_unit_test(test_price_validation),
		cmocka_unit_test(test_promotion_validation),
		cmocka_unit_test(test_local_time_zone),
		cmocka_unit_test(test_entity_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
