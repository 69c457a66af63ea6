/* dealdesk money: checked int64 arithmetic, rounding, largest remainder.
 * See include/dealdesk/money.h and shared/DOMAIN.md section 1. */
#include "dealdesk/money.h"
#include "dealdesk/error.h"

#include <stdlib.h>
#include <string.h>

/* ISO 4217 codes whose exponent is not 2 (DOMAIN.md section 1). */
static const char *const exponent0[] = {
	"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG",
	"RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF",
};
static const char *const exponent3[] = {
	"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND",
};
static const char *const exponent4[] = { "CLF", "UYW" };

/* Active ISO 4217 codes with exponent 2, sorted for bsearch. */
static const char *const exponent2[] = {
	"AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN",
	"BAM", "BBD", "BDT", "BGN", "BMD", "BND", "BOB", "BOV", "BRL", "BSD",
	"BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHE", "CHF", "CHW", "CNY",
	"COP", "COU", "CRC", "CUC", "CUP", "CVE", "CZK", "DKK", "DOP", "DZD",
	"EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP",
	"GMD", "GTQ", "GYD", "HKD", "HNL", "HRK", "HTG", "HUF", "IDR", "ILS",
	"INR", "IRR", "JMD", "KES", "KGS", "KHR", "KPW", "KYD", "KZT", "LAK",
	"LBP", "LKR", "LRD", "LSL", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT",
	"MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MXV", "MYR", "MZN", "NAD",
	"NGN", "NIO", "NOK", "NPR", "NZD", "PAB", "PEN", "PGK", "PHP", "PKR",
	"PLN", "QAR", "RON", "RSD", "RUB", "SAR", "SBD", "SCR", "SDG", "SEK",
	"SGD", "SHP", "SLE", "SLL", "SOS", "SRD", "SSP", "STN", "SVC", "SYP",
	"SZL", "THB", "TJS", "TMT", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH",
	"USD", "USN", "UYU", "UZS", "VED", "VES", "WST", "XCD", "XCG", "YER",
	"ZAR", "ZMW", "ZWG", "ZWL",
};

static int in_list(const char *code, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (memcmp(code, list[i], 3) == 0)
			return 1;
	return 0;
}

static int cmp_code(const void *key, const void *elem)
{
	return memcmp(key, *(const char *const *)elem, 3);
}

int dd_currency_exponent(const char *code)
{
	if (code == NULL || strlen(code) != 3)
		return -1;
	for (int i = 0; i < 3; i++)
		if (code[i] < 'A' || code[i] > 'Z')
			return -1;
#define N(a) (sizeof(a) / sizeof((a)[0]))
	if (in_list(code, exponent0, N(exponent0)))
		return 0;
	if (in_list(code, exponent3, N(exponent3)))
		return 3;
	if (in_list(code, exponent4, N(exponent4)))
		return 4;
	if (bsearch(code, exponent2, N(exponent2), sizeof(exponent2[0]), cmp_code))
		return 2;
#undef N
	return -1;
}

int dd_money_add(int64_t a, int64_t b, int64_t *out)
{
	int64_t r;
	if (__builtin_add_overflow(a, b, &r))
		return DD_EOVERFLOW;
	*out = r;
	return DD_OK;
}

int dd_money_sub(int64_t a, int64_t b, int64_t *out)
{
	int64_t r;
	if (__builtin_sub_overflow(a, b, &r))
		return DD_EOVERFLOW;
	*out = r;
	return DD_OK;
}

int dd_money_mul(int64_t a, int64_t b, int64_t *out)
{
	int64_t r;
	if (__builtin_mul_overflow(a, b, &r))
		return DD_EOVERFLOW;
	*out = r;
	return DD_OK;
}

/* Rounds the exact quotient q + r/d (|r| < d, r has the sign of the
 * numerator) to an integer by mode. */
static __int128 round_quotient(__int128 q, __int128 r, __int128 d,
                               dd_rounding mode)
{
	if (r == 0)
		return q;
	int negative = r < 0;
	__int128 ar = negative ? -r : r;
	int away; /* move one unit away from zero? */
	switch (mode) {
	case DD_ROUND_DOWN:
		away = 0;
		break;
	case DD_ROUND_UP:
		away = 1;
		break;
	case DD_ROUND_HALF_UP:
		away = 2 * ar >= d;
		break;
	case DD_ROUND_HALF_EVEN:
	case DD_ROUND_DEFAULT:
	default:
		if (2 * ar == d)
			away = (q % 2) != 0;
		else
			away = 2 * ar > d;
		break;
	}
	if (!away)
		return q;
	return negative ? q - 1 : q + 1;
}

int dd_money_muldiv(int64_t a, int64_t b, int64_t d, dd_rounding mode,
                    int64_t *out)
{
	if (d <= 0)
		return DD_EINVAL;
	int64_t n64;
	__int128 v;
	if (!__builtin_mul_overflow(a, b, &n64)) {
		/* the usual case (amounts times basis points): one 64-bit
		 * division, a fraction of a 128-bit one; the same result */
		v = round_quotient(n64 / d, n64 % d, d, mode);
	} else {
		__int128 n = (__int128)a * (__int128)b; /* cannot overflow 128 bits */
		__int128 q = n / d, r = n % d;          /* C truncates toward zero */
		v = round_quotient(q, r, d, mode);
	}
	if (v > INT64_MAX || v < INT64_MIN)
		return DD_EOVERFLOW;
	*out = (int64_t)v;
	return DD_OK;
}

int dd_money_bps(int64_t amount, int64_t bps, dd_rounding mode, int64_t *out)
{
	return dd_money_muldiv(amount, bps, DD_BPS_ONE, mode, out);
}

/* One pass of largest remainder over the entries with live[i] set. */
static int allocate_pass(int64_t total, const int64_t *w, const char *live,
                         size_t n, int64_t *out, __int128 *rem)
{
	__int128 sum = 0;
	size_t nlive = 0;
	for (size_t i = 0; i < n; i++)
		if (live[i]) {
			sum += w[i];
			nlive++;
		}
	if (nlive == 0)
		return DD_EINVAL;
	int equal = sum == 0;
	if (equal)
		sum = (__int128)nlive;
	int64_t given = 0;
	for (size_t i = 0; i < n; i++) {
		out[i] = 0;
		rem[i] = -1;
		if (!live[i])
			continue;
		__int128 wi = equal ? 1 : w[i];
		__int128 p = (__int128)total * wi;
		out[i] = (int64_t)(p / sum);
		rem[i] = p % sum;
		given += out[i];
	}
	int64_t left = total - given; /* < nlive */
	while (left > 0) {
		size_t best = n;
		for (size_t i = 0; i < n; i++)
			if (live[i] && rem[i] >= 0 &&
			    (best == n || rem[i] > rem[best]))
				best = i;
		out[best]++;
		rem[best] = -1; /* each entry gets at most one extra unit */
		left--;
	}
	return DD_OK;
}

int dd_money_allocate(int64_t total, const int64_t *weights,
                      const int64_t *caps, size_t n, int64_t *out)
{
	if (n == 0 || total < 0)
		return DD_EINVAL;
	int64_t wsum = 0, capsum = 0;
	for (size_t i = 0; i < n; i++) {
		if (weights[i] < 0 || (caps && caps[i] < 0))
			return DD_EINVAL;
		if (__builtin_add_overflow(wsum, weights[i], &wsum))
			return DD_EOVERFLOW;
		if (caps && __builtin_add_overflow(capsum, caps[i], &capsum))
			return DD_EOVERFLOW;
	}
	if (caps && capsum < total)
		return DD_EINVAL;

	char *live = malloc(n);
	int64_t *part = malloc(n * sizeof(*part));
	__int128 *rem = malloc(n * sizeof(*rem));
	if (!live || !part || !rem) {
		free(live);
		free(part);
		free(rem);
		return DD_ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		out[i] = 0;
		live[i] = caps ? caps[i] > 0 : 1;
	}
	int rc = DD_OK;
	int64_t left = total;
	/* Spread, clamp at the caps, re-spread what the capped entries could
	 * not take over the rest. Each pass caps at least one more entry or
	 * finishes, so this ends within n passes. */
	while (left > 0) {
		rc = allocate_pass(left, weights, live, n, part, rem);
		if (rc != DD_OK)
			break;
		int64_t excess = 0;
		for (size_t i = 0; i < n; i++) {
			if (!live[i])
				continue;
			out[i] += part[i];
			if (caps && out[i] >= caps[i]) {
				excess += out[i] - caps[i];
				out[i] = caps[i];
				live[i] = 0;
			}
		}
		left = excess;
	}
	free(live);
	free(part);
	free(rem);
	return rc;
}

int dd_money_format(int64_t amount, int exponent, char *buf, size_t size)
{
	char digits[32];
	int neg = amount < 0;
	/* Work on the unsigned magnitude so INT64_MIN formats too. */
	uint64_t mag = neg ? (uint64_t)0 - (uint64_t)amount : (uint64_t)amount;
	int len = 0;
	do {
		digits[len++] = (char)('0' + mag % 10);
		mag /= 10;
	} while (mag > 0);
	while (len <= exponent)
		digits[len++] = '0';
	size_t need = (size_t)len + (size_t)neg + (exponent > 0) + 1;
	if (need > size)
		return -1;
	size_t o = 0;
	if (neg)
		buf[o++] = '-';
	for (int i = len - 1; i >= 0; i--) {
		buf[o++] = digits[i];
		if (i == exponent && exponent > 0)
			buf[o++] = '.';
	}
	buf[o] = '\0';
	return (int)o;
}

int dd_money_parse(const char *s, int exponent, int64_t *out)
{
	if (s == NULL || exponent < 0 || exponent > 4)
		return DD_EINVAL;
	int neg = 0;
	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (*s < '0' || *s > '9')
		return DD_EINVAL;
	int64_t v = 0;
	for (; *s >= '0' && *s <= '9'; s++)
		if (__builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, *s - '0', &v))
			return DD_EOVERFLOW;
	int frac = 0;
	if (*s == '.') {
		s++;
		if (*s < '0' || *s > '9')
			return DD_EINVAL;
		for (; *s >= '0' && *s <= '9'; s++) {
			if (++frac > exponent)
				return DD_EINVAL;
			if (__builtin_mul_overflow(v, 10, &v) ||
			    __builtin_add_overflow(v, *s - '0', &v))
				return DD_EOVERFLOW;
		}
	}
	if (*s != '\0')
		return DD_EINVAL;
	for (; frac < exponent; frac++)
		if (__builtin_mul_overflow(v, 10, &v))
			return DD_EOVERFLOW;
	*out = neg ? -v : v;
	return DD_OK;
}
