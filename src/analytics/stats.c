/* dealdesk analytics: the statistics of experiment reports
 * (include/dealdesk/analytics.h): two-proportion z-test, chi-square tail,
 * sample-ratio mismatch, planned sample size. Doubles, libm only. */
#include "dealdesk/analytics.h"

#include <math.h>
#include <string.h>

#define Z_975 1.959963984540054 /* two-sided 95 % */
#define Z_80 0.8416212335729143 /* power 80 % */

double dd_stats_normal_sf(double z)
{
	return 0.5 * erfc(z / sqrt(2.0));
}

int dd_stats_ztest(uint64_t x1, uint64_t n1, uint64_t x2, uint64_t n2, dd_ztest *out)
{
	memset(out, 0, sizeof(*out));
	if (n1 == 0 || n2 == 0 || x1 > n1 || x2 > n2)
		return 0;
	double p1 = (double)x1 / (double)n1, p2 = (double)x2 / (double)n2;
	double p = (double)(x1 + x2) / (double)(n1 + n2);
	double se = sqrt(p * (1 - p) * (1.0 / (double)n1 + 1.0 / (double)n2));
	if (!(se > 0))
		return 0;
	double seu = sqrt(p1 * (1 - p1) / (double)n1 + p2 * (1 - p2) / (double)n2);
	out->p1 = p1;
	out->p2 = p2;
	out->diff = p2 - p1;
	out->z = out->diff / se;
	out->p_value = erfc(fabs(out->z) / sqrt(2.0));
	out->ci_low = out->diff - Z_975 * seu;
	out->ci_high = out->diff + Z_975 * seu;
	return 1;
}

/* Regularized lower incomplete gamma P(a, x) by its series (x < a + 1). */
static double gamma_p_series(double a, double x)
{
	double sum = 1.0 / a, term = sum;
	for (int n = 1; n < 1000; n++) {
		term *= x / (a + n);
		sum += term;
		if (fabs(term) < fabs(sum) * 1e-15)
			break;
	}
	return sum * exp(-x + a * log(x) - lgamma(a));
}

/* Regularized upper incomplete gamma Q(a, x) by Lentz's continued
 * fraction (x >= a + 1). */
static double gamma_q_cf(double a, double x)
{
	const double tiny = 1e-300;
	double b = x + 1 - a, c = 1 / tiny, d = 1 / b, h = d;
	for (int i = 1; i < 1000; i++) {
		double an = -i * (i - a);
		b += 2;
		d = an * d + b;
		if (fabs(d) < tiny)
			d = tiny;
		c = b + an / c;
		if (fabs(c) < tiny)
			c = tiny;
		d = 1 / d;
		double del = d * c;
		h *= del;
		if (fabs(del - 1) < 1e-15)
			break;
	}
	return exp(-x + a * log(x) - lgamma(a)) * h;
}

double dd_stats_chi2_sf(double x, double df)
{
	if (!(df > 0))
		return NAN;
	if (!(x > 0))
		return 1.0;
	double a = df / 2, h = x / 2;
	return h < a + 1 ? 1.0 - gamma_p_series(a, h) : gamma_q_cf(a, h);
}

double dd_stats_srm(const uint64_t *observed, const uint32_t *weights, size_t k, double *chi2,
                    double *expected)
{
	double total = 0, wsum = 0, x = 0;
	for (size_t i = 0; i < k; i++) {
		total += (double)observed[i];
		wsum += weights[i];
	}
	for (size_t i = 0; i < k; i++) {
		double e = wsum > 0 ? total * weights[i] / wsum : 0;
		if (expected)
			expected[i] = e;
		if (e > 0)
			x += ((double)observed[i] - e) * ((double)observed[i] - e) / e;
	}
	*chi2 = x;
	if (total == 0 || k < 2)
		return 1.0;
	return dd_stats_chi2_sf(x, (double)(k - 1));
}

uint64_t dd_stats_sample_size(double p1, double p2)
{
	if (!(p1 > 0 && p1 < 1 && p2 > 0 && p2 < 1) || p1 == p2)
		return 0;
	double pbar = (p1 + p2) / 2, d = p2 - p1;
	double a = Z_975 * sqrt(2 * pbar * (1 - pbar)) + Z_80 * sqrt(p1 * (1 - p1) + p2 * (1 - p2));
	return (uint64_t)ceil(a * a / (d * d));
}
