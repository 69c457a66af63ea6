/* Unit tests for src/model: UTF-8, string checks, policy kinds and their
 * meta keys. Links ddmodel alone: no Lua, no LMDB. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dealdesk/model.h"

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
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
