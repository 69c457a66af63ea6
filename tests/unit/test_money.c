/* Unit tests for src/money: currencies, checked arithmetic, rounding modes,
 * largest-remainder allocation, formatting and parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "dealdesk/error.h"
#include "dealdesk/money.h"

static void test_currency_exponents(void **state)
{
	(void)state;
	assert_int_equal(dd_currency_exponent("USD"), 2);
	assert_int_equal(dd_currency_exponent("EUR"), 2);
	assert_int_equal(dd_currency_exponent("JPY"), 0);
	assert_int_equal(dd_currency_exponent("KRW"), 0);
	assert_int_equal(dd_currency_exponent("KWD"), 3);
	assert_int_equal(dd_currency_exponent("BHD"), 3);
	assert_int_equal(dd_currency_exponent("CLF"), 4);
	assert_int_equal(dd_currency_exponent("XXX"), -1);
	assert_int_equal(dd_currency_exponent("usd"), -1);
	assert_int_equal(dd_currency_exponent("US"), -1);
	assert_int_equal(dd_currency_exponent("USDX"), -1);
	assert_int_equal(dd_currency_exponent(""), -1);
	assert_int_equal(dd_currency_exponent(NULL), -1);
}

static void test_checked_arithmetic(void **state)
{
	(void)state;
	int64_t r = 7;
	assert_int_equal(dd_money_add(INT64_MAX, 1, &r), DD_EOVERFLOW);
	assert_int_equal(r, 7); /* untouched on overflow */
	assert_int_equal(dd_money_sub(INT64_MIN, 1, &r), DD_EOVERFLOW);
	assert_int_equal(dd_money_mul(INT64_MAX / 2 + 1, 2, &r), DD_EOVERFLOW);
	assert_int_equal(dd_money_mul(-3, 4, &r), DD_OK);
	assert_int_equal(r, -12);
	assert_int_equal(dd_money_add(INT64_MAX - 1, 1, &r), DD_OK);
	assert_true(r == INT64_MAX);
}

static void test_rounding_modes(void **state)
{
	(void)state;
	int64_t r;
	/* 250 * 1000 bps = 25.0 exactly */
	assert_int_equal(dd_money_bps(250, 1000, DD_ROUND_HALF_EVEN, &r), DD_OK);
	assert_int_equal(r, 25);
	/* 125 * 10% = 12.5 */
	dd_money_bps(125, 1000, DD_ROUND_HALF_EVEN, &r);
	assert_int_equal(r, 12);
	dd_money_bps(135, 1000, DD_ROUND_HALF_EVEN, &r);
	assert_int_equal(r, 14);
	dd_money_bps(125, 1000, DD_ROUND_HALF_UP, &r);
	assert_int_equal(r, 13);
	dd_money_bps(125, 1000, DD_ROUND_DOWN, &r);
	assert_int_equal(r, 12);
	dd_money_bps(121, 1000, DD_ROUND_UP, &r);
	assert_int_equal(r, 13);
	dd_money_bps(125, 1000, DD_ROUND_DEFAULT, &r);
	assert_int_equal(r, 12);
	/* negatives round symmetrically */
	dd_money_bps(-125, 1000, DD_ROUND_HALF_UP, &r);
	assert_int_equal(r, -13);
	dd_money_bps(-125, 1000, DD_ROUND_HALF_EVEN, &r);
	assert_int_equal(r, -12);
	dd_money_bps(-121, 1000, DD_ROUND_DOWN, &r);
	assert_int_equal(r, -12);
	dd_money_bps(-121, 1000, DD_ROUND_UP, &r);
	assert_int_equal(r, -13);
	/* 128-bit intermediate: no overflow on the product */
	assert_int_equal(dd_money_muldiv(INT64_MAX, 10000, 10000,
	                                 DD_ROUND_HALF_EVEN, &r), DD_OK);
	assert_true(r == INT64_MAX);
	assert_int_equal(dd_money_muldiv(INT64_MAX, 3, 2, DD_ROUND_DOWN, &r),
	                 DD_EOVERFLOW);
	assert_int_equal(dd_money_muldiv(1, 1, 0, DD_ROUND_DOWN, &r), DD_EINVAL);
}

/* An independent rounding of a*b/d (d > 0) in 128 bits, for every mode. */
static __int128 ref_muldiv(int64_t a, int64_t b, int64_t d, dd_rounding mode)
{
	__int128 n = (__int128)a * b, fl = n / d, rem = n % d;
	if (rem < 0) { /* to floor division: 0 <= rem < d */
		fl -= 1;
		rem += d;
	}
	if (rem == 0)
		return fl;
	int neg = n < 0;
	switch (mode) {
	case DD_ROUND_DOWN: return neg ? fl + 1 : fl;    /* toward zero */
	case DD_ROUND_UP: return neg ? fl : fl + 1;      /* away from zero */
	case DD_ROUND_HALF_UP:
		if (2 * rem == d)
			return neg ? fl : fl + 1;        /* a half: away from zero */
		return 2 * rem > d ? fl + 1 : fl;
	default:                                         /* half even */
		if (2 * rem == d)
			return (fl % 2 == 0) ? fl : fl + 1;
		return 2 * rem > d ? fl + 1 : fl;
	}
}

/* The 64-bit path (a product that fits) and the 128-bit one (one that does
 * not) give the same as the reference, on both sides of the boundary. */
static void test_muldiv_both_paths(void **state)
{
	(void)state;
	const int64_t as[] = { 0, 1, -1, 7, -7, 125, -125, 999999937, -999999937,
		               INT64_MAX / 10000, INT64_MAX / 10000 + 1, -(INT64_MAX / 10000) - 1,
		               INT64_MAX / 3, INT64_MIN / 3, INT64_MAX, INT64_MIN + 1 };
	const int64_t bs[] = { 0, 1, -1, 3, 2500, 10000, -10000, 9999, 3037000499, 3037000500 };
	const int64_t ds[] = { 1, 2, 3, 7, 10000, 10001, 3037000499, INT64_MAX };
	const dd_rounding modes[] = { DD_ROUND_DOWN, DD_ROUND_UP, DD_ROUND_HALF_UP,
		                      DD_ROUND_HALF_EVEN };
	size_t checked = 0;
	for (size_t i = 0; i < sizeof(as) / sizeof(as[0]); i++)
		for (size_t j = 0; j < sizeof(bs) / sizeof(bs[0]); j++)
			for (size_t k = 0; k < sizeof(ds) / sizeof(ds[0]); k++)
				for (size_t m = 0; m < 4; m++) {
					__int128 want = ref_muldiv(as[i], bs[j], ds[k], modes[m]);
					int64_t got = 0;
					int rc = dd_money_muldiv(as[i], bs[j], ds[k], modes[m], &got);
					if (want > INT64_MAX || want < INT64_MIN) {
						assert_int_equal(rc, DD_EOVERFLOW);
						continue;
					}
					if (rc != DD_OK || got != (int64_t)want)
						fail_msg("%lld * %lld / %lld (mode %d): %lld, want %lld",
						         (long long)as[i], (long long)bs[j],
						         (long long)ds[k], (int)modes[m], (long long)got,
						         (long long)want);
					checked++;
				}
	assert_true(checked > 2000);
}

static void test_allocate_largest_remainder(void **state)
{
	(void)state;
	int64_t out[4];
	/* 100 over 1:1:1 -> 34 33 33 (tie to the lower index) */
	int64_t w3[] = { 1, 1, 1 };
	assert_int_equal(dd_money_allocate(100, w3, NULL, 3, out), DD_OK);
	assert_int_equal(out[0], 34);
	assert_int_equal(out[1], 33);
	assert_int_equal(out[2], 33);
	/* 10 over 333:333:334 -> exact shares 3.33 3.33 3.34 -> 3 3 4 */
	int64_t w[] = { 333, 333, 334 };
	dd_money_allocate(10, w, NULL, 3, out);
	assert_int_equal(out[0], 3);
	assert_int_equal(out[1], 3);
	assert_int_equal(out[2], 4);
	/* 500 over 1999, 2999, 5002 -> 99.95 149.95 250.1 -> 100 150 250 */
	int64_t w2[] = { 1999, 2999, 5002 };
	dd_money_allocate(500, w2, NULL, 3, out);
	assert_int_equal(out[0], 100);
	assert_int_equal(out[1], 150);
	assert_int_equal(out[2], 250);
	/* all-zero weights: equal split */
	int64_t z[] = { 0, 0, 0, 0 };
	dd_money_allocate(7, z, NULL, 4, out);
	assert_int_equal(out[0] + out[1] + out[2] + out[3], 7);
	assert_int_equal(out[0], 2);
	assert_int_equal(out[3], 1);
	/* caps: the excess moves to the uncapped lines */
	int64_t wc[] = { 1000, 10, 10 };
	int64_t caps[] = { 100, 1000, 1000 };
	dd_money_allocate(300, wc, caps, 3, out);
	assert_int_equal(out[0], 100);
	assert_int_equal(out[1], 100);
	assert_int_equal(out[2], 100);
	int64_t small[] = { 10, 10, 10 };
	assert_int_equal(dd_money_allocate(31, w3, small, 3, out), DD_EINVAL);
	int64_t neg[] = { 1, -1 };
	assert_int_equal(dd_money_allocate(1, neg, NULL, 2, out), DD_EINVAL);
	int64_t big[] = { INT64_MAX, 1 };
	assert_int_equal(dd_money_allocate(1, big, NULL, 2, out), DD_EOVERFLOW);
	assert_int_equal(dd_money_allocate(1, w3, NULL, 0, out), DD_EINVAL);
}

static void test_allocate_huge_values(void **state)
{
	(void)state;
	int64_t out[2];
	int64_t w[] = { INT64_MAX / 2, INT64_MAX / 2 };
	assert_int_equal(dd_money_allocate(INT64_MAX, w, NULL, 2, out), DD_OK);
	assert_true(out[0] + (out[1] - INT64_MAX) == 0); /* sum == INT64_MAX */
}

static void test_format_parse(void **state)
{
	(void)state;
	char buf[40];
	dd_money_format(1234, 2, buf, sizeof(buf));
	assert_string_equal(buf, "12.34");
	dd_money_format(5, 2, buf, sizeof(buf));
	assert_string_equal(buf, "0.05");
	dd_money_format(-5, 3, buf, sizeof(buf));
	assert_string_equal(buf, "-0.005");
	dd_money_format(1500, 0, buf, sizeof(buf));
	assert_string_equal(buf, "1500");
	dd_money_format(INT64_MIN, 2, buf, sizeof(buf));
	assert_string_equal(buf, "-92233720368547758.08");
	assert_int_equal(dd_money_format(1234, 2, buf, 5), -1);

	int64_t v;
	assert_int_equal(dd_money_parse("12.34", 2, &v), DD_OK);
	assert_int_equal(v, 1234);
	assert_int_equal(dd_money_parse("12.5", 3, &v), DD_OK);
	assert_int_equal(v, 12500);
	assert_int_equal(dd_money_parse("-0.05", 2, &v), DD_OK);
	assert_int_equal(v, -5);
	assert_int_equal(dd_money_parse("7", 0, &v), DD_OK);
	assert_int_equal(v, 7);
	assert_int_equal(dd_money_parse("1.234", 2, &v), DD_EINVAL);
	assert_int_equal(dd_money_parse("1.", 2, &v), DD_EINVAL);
	assert_int_equal(dd_money_parse("abc", 2, &v), DD_EINVAL);
	assert_int_equal(dd_money_parse("1e3", 2, &v), DD_EINVAL);
	assert_int_equal(dd_money_parse("", 2, &v), DD_EINVAL);
	assert_int_equal(dd_money_parse("99999999999999999999", 0, &v),
	                 DD_EOVERFLOW);
	assert_int_equal(dd_money_parse("92233720368547758.08", 2, &v),
	                 DD_EOVERFLOW);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_currency_exponents),
		cmocka_unit_test(test_checked_arithmetic),
		cmocka_unit_test(test_rounding_modes),
		cmocka_unit_test(test_muldiv_both_paths),
		cmocka_unit_test(test_allocate_largest_remainder),
		cmocka_unit_test(test_allocate_huge_values),
		cmocka_unit_test(test_format_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
