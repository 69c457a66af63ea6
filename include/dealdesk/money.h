/* dealdesk money: int64 minor units, basis-point rates, explicit rounding.
 *
 * No float ever touches an amount. Every operation that can overflow int64
 * returns DD_EOVERFLOW and leaves *out untouched; nothing wraps.
 */
#ifndef DEALDESK_MONEY_H
#define DEALDESK_MONEY_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

/* Values equal dealdesk.v1.RoundingMode. UNSPECIFIED means HALF_EVEN. */
typedef enum dd_rounding {
	DD_ROUND_DEFAULT = 0,
	DD_ROUND_HALF_UP = 1,   /* half away from zero (EU 1103/97 art. 5) */
	DD_ROUND_HALF_EVEN = 2, /* banker's rounding */
	DD_ROUND_DOWN = 3,      /* toward zero */
	DD_ROUND_UP = 4,        /* away from zero */
} dd_rounding;

#define DD_BPS_ONE 10000 /* 100 % in basis points */

/* ISO 4217 minor-unit exponent of an alphabetic code (0, 2, 3 or 4), or -1
 * when the code is not a known active currency. code must be 3 upper-case
 * letters; anything else is -1. */
int dd_currency_exponent(const char *code);

int dd_money_add(int64_t a, int64_t b, int64_t *out);
int dd_money_sub(int64_t a, int64_t b, int64_t *out);
int dd_money_mul(int64_t a, int64_t b, int64_t *out);

/* *out = round(a * b / d) with the given mode, computed exactly in 128 bits.
 * d must be > 0 (DD_EINVAL otherwise). */
int dd_money_muldiv(int64_t a, int64_t b, int64_t d, dd_rounding mode,
                    int64_t *out);

/* *out = round(amount * bps / 10000). */
int dd_money_bps(int64_t amount, int64_t bps, dd_rounding mode, int64_t *out);

/* Splits total (>= 0) over n weights (each >= 0) by the largest remainder
 * method: out[i] = floor(total * w[i] / sum(w)), then the units left go one by
 * one to the largest fractional remainders, ties to the lower index. The
 * out[i] sum exactly to total. When every weight is 0 the split is by equal
 * weights. If caps is not NULL no out[i] exceeds caps[i] (DD_EINVAL when
 * sum(caps) < total); the excess is re-spread over the uncapped entries.
 * DD_EINVAL for n == 0, negative values; DD_EOVERFLOW if sum(w) overflows. */
int dd_money_allocate(int64_t total, const int64_t *weights,
                      const int64_t *caps, size_t n, int64_t *out);

/* Formats amount as a decimal with `exponent` fraction digits ("-12.05").
 * Returns the length written, or -1 if buf is too small. */
int dd_money_format(int64_t amount, int exponent, char *buf, size_t size);

/* Parses "12", "12.5", "-0.05" into minor units with `exponent` fraction
 * digits. More fraction digits than the exponent, junk or overflow: DD_EINVAL
 * or DD_EOVERFLOW. */
int dd_money_parse(const char *s, int exponent, int64_t *out);

#endif
