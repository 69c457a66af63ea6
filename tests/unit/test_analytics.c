/* tests for src/analytics: the statistics against textbook figures, RFM
 * scores and segments for a known history (ties included), the KPI
 * formulas for known receivables. Every expected figure is worked out by
 * hand in the comments. */
#define _XOPEN_SOURCE 700 /* mkdtemp, nftw */
#include <ftw.h>
#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dealdesk/analytics.h"

#define NEAR(a, b, tol) assert_true(fabs((a) - (b)) <= (tol))

/* 200/1000 (control) vs 250/1000: pooled p = 0.225, SE = sqrt(0.225 x
 * 0.775 x 0.002) = 0.0186749, z = 0.05 / 0.0186749 = 2.6774, two-sided
 * p = 0.00742; unpooled SE = sqrt(0.16/1000 + 0.1875/1000) = 0.0186414,
 * 95 % CI = 0.05 -/+ 1.95996 x 0.0186414 = [0.01346, 0.08654]. */
static void test_ztest_textbook(void **state)
{
	(void)state;
	dd_ztest z;
	assert_int_equal(dd_stats_ztest(200, 1000, 250, 1000, &z), 1);
	NEAR(z.p1, 0.20, 1e-12);
	NEAR(z.p2, 0.25, 1e-12);
	NEAR(z.diff, 0.05, 1e-12);
	NEAR(z.z, 2.6774, 1e-4);
	NEAR(z.p_value, 0.007420, 1e-6);
	NEAR(z.ci_low, 0.013464, 1e-6);
	NEAR(z.ci_high, 0.086536, 1e-6);
	/* the other way round: the sign flips, p stays */
	assert_int_equal(dd_stats_ztest(250, 1000, 200, 1000, &z), 1);
	NEAR(z.z, -2.6774, 1e-4);
	NEAR(z.p_value, 0.007420, 1e-6);
	/* no test without a sample, or with nothing converting anywhere */
	assert_int_equal(dd_stats_ztest(0, 0, 5, 10, &z), 0);
	assert_int_equal(dd_stats_ztest(0, 10, 0, 10, &z), 0);
}

static void test_normal_and_chi2(void **state)
{
	(void)state;
	NEAR(dd_stats_normal_sf(1.959963984540054), 0.025, 1e-9);
	NEAR(dd_stats_normal_sf(0), 0.5, 1e-12);
	/* chi-square, df 1: P(X > 3.841459) = 0.05; df 2: exp(-x/2) */
	NEAR(dd_stats_chi2_sf(3.841458820694124, 1), 0.05, 1e-9);
	NEAR(dd_stats_chi2_sf(5.0, 2), exp(-2.5), 1e-12);
	/* df 4 at 9.487729 is the 5 % point; df 10 at 18.307038 too */
	NEAR(dd_stats_chi2_sf(9.487729036781154, 4), 0.05, 1e-9);
	NEAR(dd_stats_chi2_sf(18.307038053275146, 10), 0.05, 1e-9);
	NEAR(dd_stats_chi2_sf(0, 3), 1.0, 0);
}

/* SRM: 520 / 480 against 1:1, expected 500 each: chi2 = 2 x 400/500 =
 * 1.6, p = 0.2059 (OK). 600 / 400: chi2 = 40, p = 2.54e-10 (broken).
 * Three arms 100 / 100 / 130 at 1:1:1, expected 110: chi2 = (100 + 100 +
 * 400) / 110 = 5.4545, df 2, p = exp(-2.72727) = 0.06540. Weights 1:3 and
 * 250 / 750: exactly as expected, chi2 0, p 1. */
static void test_srm(void **state)
{
	(void)state;
	double chi2, e[3];
	uint64_t a[] = { 520, 480 };
	uint32_t w[] = { 1, 1 };
	NEAR(dd_stats_srm(a, w, 2, &chi2, e), 0.205903, 1e-6);
	NEAR(chi2, 1.6, 1e-12);
	NEAR(e[0], 500, 1e-12);
	uint64_t b[] = { 600, 400 };
	NEAR(dd_stats_srm(b, w, 2, &chi2, NULL), 2.5396e-10, 1e-13);
	NEAR(chi2, 40, 1e-12);
	uint64_t c[] = { 100, 100, 130 };
	uint32_t w3[] = { 1, 1, 1 };
	NEAR(dd_stats_srm(c, w3, 3, &chi2, e), 0.065397, 1e-6);
	NEAR(chi2, 5.454545, 1e-6);
	NEAR(e[2], 110, 1e-12);
	uint64_t d[] = { 250, 750 };
	uint32_t w13[] = { 1, 3 };
	NEAR(dd_stats_srm(d, w13, 2, &chi2, NULL), 1.0, 1e-12);
	NEAR(chi2, 0, 1e-12);
}

/* 10 % -> 12 %: (1.95996 sqrt(2 x 0.11 x 0.89) + 0.84162 sqrt(0.09 +
 * 0.1056))^2 / 0.02^2 = 3840.85 -> 3841 per arm. */
static void test_sample_size(void **state)
{
	(void)state;
	assert_int_equal(dd_stats_sample_size(0.10, 0.12), 3841);
	assert_int_equal(dd_stats_sample_size(0.10, 0.10), 0);
	assert_int_equal(dd_stats_sample_size(0, 0.1), 0);
}

static void test_segments(void **state)
{
	(void)state;
	assert_string_equal(dd_rfm_segment(5, 5, 0), "champions");
	assert_string_equal(dd_rfm_segment(5, 4, 0), "champions");
	assert_string_equal(dd_rfm_segment(4, 5, 0), "loyal");
	assert_string_equal(dd_rfm_segment(3, 4, 0), "loyal");
	assert_string_equal(dd_rfm_segment(4, 2, 0), "potential loyalist");
	assert_string_equal(dd_rfm_segment(5, 3, 0), "potential loyalist");
	assert_string_equal(dd_rfm_segment(5, 1, 0), "new");
	assert_string_equal(dd_rfm_segment(4, 1, 0), "promising");
	assert_string_equal(dd_rfm_segment(3, 3, 0), "need attention");
	assert_string_equal(dd_rfm_segment(3, 1, 0), "about to sleep");
	assert_string_equal(dd_rfm_segment(3, 2, 0), "about to sleep");
	assert_string_equal(dd_rfm_segment(1, 3, 0), "at risk");
	assert_string_equal(dd_rfm_segment(2, 4, 0), "at risk");
	assert_string_equal(dd_rfm_segment(2, 5, 0), "cannot lose");
	assert_string_equal(dd_rfm_segment(1, 5, 0), "cannot lose");
	assert_string_equal(dd_rfm_segment(2, 2, 0), "hibernating");
	assert_string_equal(dd_rfm_segment(1, 1, 0), "hibernating");
	assert_string_equal(dd_rfm_segment(1, 1, 1), "lost");
	assert_string_equal(dd_rfm_segment(2, 1, 1), "hibernating");
	/* every R x F has a segment */
	for (int r = 1; r <= 5; r++)
		for (int f = 1; f <= 5; f++)
			assert_true(*dd_rfm_segment(r, f, 0) != '\0');
}

#define T 1800000000LL
#define D 86400LL

/* Ten customers with orders (two per quintile) and a prospect.
 *
 *   id   days since last  first order  freq  monetary
 *   c01        1           5 days ago    10     1000
 *   c02        2           1 year        8      800
 *   c03        2 (tie)     1 year        8 (tie) 500
 *   c04       10           1 year        5      500 (tie)
 *   c05       30           1 year        3      300
 *   c06       60           1 year        2      200
 *   c07      100           1 year        1      100
 *   c08      200           1 year        1       50
 *   c09      400           2 years       0        0
 *   c10      500           2 years       0        0
 *   c11     (no order)
 *
 * R, most days first, ties by id: c10 c09 | c08 c07 | c06 c05 | c04 c02 |
 * c03 c01: c02 gets 4 and c03 5 (the tie split by id).
 * F ascending: c09 c10 | c07 c08 | c06 c05 | c04 c02 | c03 c01.
 * M ascending: c09 c10 | c08 c07 | c06 c05 | c03 c04 | c02 c01 (the 500
 * tie: c03 before c04, both 4).
 * Segments: c01 R5F5 and c03 R5F5 champions; c02, c04 R4F4 loyal; c05,
 * c06 R3F3 need attention; c07, c08 R2F2 hibernating; c09, c10 R1F1 idle
 * more than 365 days: lost. Lifecycle: c01 new (first order 5 < 30 days),
 * c02..c06 active, c07, c08 dormant (>= 90 days), c09, c10 churned
 * (>= 365), c11 prospect. */
static void test_rfm_scores(void **state)
{
	(void)state;
	static const struct {
		const char *id;
		int64_t days, first_days, freq, money;
		int r, f, m;
		const char *segment, *stage;
	} c[] = {
		{ "c01", 1, 5, 10, 1000, 5, 5, 5, "champions", "new" },
		{ "c02", 2, 365, 8, 800, 4, 4, 5, "loyal", "active" },
		{ "c03", 2, 365, 8, 500, 5, 5, 4, "champions", "active" },
		{ "c04", 10, 365, 5, 500, 4, 4, 4, "loyal", "active" },
		{ "c05", 30, 365, 3, 300, 3, 3, 3, "need attention", "active" },
		{ "c06", 60, 365, 2, 200, 3, 3, 3, "need attention", "active" },
		{ "c07", 100, 365, 1, 100, 2, 2, 2, "hibernating", "dormant" },
		{ "c08", 200, 365, 1, 50, 2, 2, 2, "hibernating", "dormant" },
		{ "c09", 400, 730, 0, 0, 1, 1, 1, "lost", "churned" },
		{ "c10", 500, 730, 0, 0, 1, 1, 1, "lost", "churned" },
	};
	dd_rfm_input in[11];
	memset(in, 0, sizeof(in));
	for (size_t i = 0; i < 10; i++) {
		in[i].customer_id = c[i].id;
		in[i].order_count = c[i].freq ? c[i].freq : 1;
		in[i].first_order_at = T - c[i].first_days * D;
		in[i].last_order_at = T - c[i].days * D - 3600; /* within the day */
		in[i].frequency = c[i].freq;
		in[i].monetary = c[i].money;
	}
	in[10].customer_id = "c11";
	Dealdesk__V1__RfmOptions opts;
	dd_rfm_options_normalize(NULL, &opts);
	assert_int_equal(opts.window_days, 365);
	assert_int_equal(opts.churn_days, 365);
	dd_arena a;
	dd_arena_init(&a, 4096, 0);
	Dealdesk__V1__CustomerValue out[11];
	int64_t breaks[3][4];
	assert_int_equal(dd_rfm_score(in, 11, T, &opts, &a, out, breaks), DD_OK);
	for (size_t i = 0; i < 10; i++) {
		assert_string_equal(out[i].customer_id, c[i].id);
		assert_int_equal(out[i].recency_days, c[i].days);
		assert_int_equal(out[i].r, c[i].r);
		assert_int_equal(out[i].f, c[i].f);
		assert_int_equal(out[i].m, c[i].m);
		assert_string_equal(out[i].segment, c[i].segment);
		assert_string_equal(out[i].lifecycle, c[i].stage);
	}
	assert_int_equal(out[10].r, 0);
	assert_string_equal(out[10].segment, "");
	assert_string_equal(out[10].lifecycle, "prospect");
	/* breakpoints: the first key of quintiles 2..5 */
	assert_int_equal(breaks[0][0], -200); /* c08 */
	assert_int_equal(breaks[0][3], -2);   /* c03 */
	assert_int_equal(breaks[1][0], 1);
	assert_int_equal(breaks[1][3], 8);
	assert_int_equal(breaks[2][2], 500);
	assert_int_equal(breaks[2][3], 800);
	dd_arena_free(&a);
}

/* NTILE(5) of 7: sizes 2 2 1 1 1 (the larger buckets first). */
static void test_rfm_ntile_uneven(void **state)
{
	(void)state;
	dd_rfm_input in[7];
	const char *ids[] = { "a", "b", "c", "d", "e", "f", "g" };
	memset(in, 0, sizeof(in));
	for (int i = 0; i < 7; i++) {
		in[i].customer_id = ids[i];
		in[i].order_count = 1;
		in[i].first_order_at = in[i].last_order_at = T - 10 * D;
		in[i].frequency = 1;
		in[i].monetary = 100 * (i + 1);
	}
	Dealdesk__V1__RfmOptions opts;
	dd_rfm_options_normalize(NULL, &opts);
	dd_arena a;
	dd_arena_init(&a, 4096, 0);
	Dealdesk__V1__CustomerValue out[7];
	assert_int_equal(dd_rfm_score(in, 7, T, &opts, &a, out, NULL), DD_OK);
	int m[] = { 1, 1, 2, 2, 3, 4, 5 };
	for (int i = 0; i < 7; i++) {
		assert_int_equal(out[i].m, m[i]);
		/* all tie on recency and frequency: split by id alone */
		assert_int_equal(out[i].r, m[i]);
		assert_int_equal(out[i].f, m[i]);
	}
	dd_arena_free(&a);
}

/* Opening AR 1000, credit sales 5000, collected 3000: closing AR 3000, of
 * which 2000 not yet due, over 30 days. Collection rate = 3000 / 6000 =
 * 50 %; DSO = 3000 / 5000 x 30 = 18; Best DSO = 2000 / 5000 x 30 = 12;
 * average days delinquent = 6; CEI = (1000 + 5000 - 3000) / (1000 + 5000
 * - 2000) = 75 %. Discount 150 of 1500 = 10 %; 3 of 4 customers repeat. */
static void test_kpi_ratios(void **state)
{
	(void)state;
	Dealdesk__V1__SalesKpis k;
	dealdesk__v1__sales_kpis__init(&k);
	k.period_start = T;
	k.period_end = T + 30 * D;
	k.opening_ar = 1000;
	k.credit_sales = 5000;
	k.collected = 3000;
	k.closing_ar = 3000;
	k.closing_current_ar = 2000;
	k.subtotal = 1500;
	k.discount = 150;
	k.revenue = 1350;
	k.cost = 1000;
	k.customers = 4;
	k.repeat_customers = 3;
	k.promo_discount = 150;
	k.promo_margin = 300;
	dd_kpi_ratios(&k);
	NEAR(k.days, 30, 1e-12);
	NEAR(k.collection_rate, 50, 1e-12);
	NEAR(k.dso, 18, 1e-12);
	NEAR(k.best_dso, 12, 1e-12);
	NEAR(k.avg_days_delinquent, 6, 1e-12);
	NEAR(k.cei, 75, 1e-12);
	NEAR(k.discount_share, 10, 1e-12);
	NEAR(k.repurchase_rate, 75, 1e-12);
	NEAR(k.promotion_roi, 2, 1e-12);
	assert_int_equal(k.margin, 350);
	/* nothing sold: the ratios are 0, not NaN */
	dealdesk__v1__sales_kpis__init(&k);
	k.period_end = 86400;
	dd_kpi_ratios(&k);
	NEAR(k.dso, 0, 0);
	NEAR(k.cei, 0, 0);
	NEAR(k.collection_rate, 0, 0);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(path);
}

static uint64_t stored_uses(dd_store *store, const char *key, size_t klen)
{
	dd_rtxn *t;
	assert_int_equal(dd_rtxn_new(store, &t), DD_OK);
	assert_int_equal(dd_rtxn_begin(t), DD_OK);
	dd_val v;
	uint64_t n = 0;
	if (dd_rtxn_get(t, DD_T_ANALYTICS, (dd_val){ key, klen }, &v) == DD_OK) {
		if (klen == 1) { /* "s": the batch number, uint64 LE */
			for (int i = 0; i < 8; i++)
				n |= (uint64_t)((const uint8_t *)v.data)[i] << (8 * i);
		} else {
			Dealdesk__V1__Usage *u = (void *)protobuf_c_message_unpack(
				&dealdesk__v1__usage__descriptor, NULL, v.len, v.data);
			assert_non_null(u);
			n = (uint64_t)u->uses;
			protobuf_c_message_free_unpacked(&u->base, NULL);
		}
	}
	dd_rtxn_end(t);
	dd_rtxn_free(t);
	return n;
}

/* 300 quotes of one arm: a batch of 256 goes to the writer when full, 44
 * stay buffered; a snapshot sees all 300 (in flight or buffered) until
 * they are stored; flushed, the counter says 300, the batch number 2, and
 * nothing is left in memory. A new tally on the same store numbers on
 * from 2. */
static void test_tally(void **state)
{
	(void)state;
	char dir[] = "/tmp/dd-tally-XXXXXX";
	assert_non_null(mkdtemp(dir));
	dd_store_opts opts = { .path = dir, .map_size = 64u << 20, .no_sync = 1 };
	dd_store *store;
	dd_writer *writer;
	dd_error err;
	assert_int_equal(dd_store_open(&store, &opts, &err), DD_OK);
	assert_int_equal(dd_writer_start(&writer, store, &err), DD_OK);
	dd_analytics_tally *t = dd_analytics_tally_new(store, writer);
	assert_non_null(t);
	Dealdesk__V1__ExperimentAssignment as;
	Dealdesk__V1__ExperimentAssignment *asp = &as;
	dealdesk__v1__experiment_assignment__init(&as);
	as.experiment_id = "exp";
	as.promotion_id = "P";
	as.arm = "b";
	Dealdesk__V1__QuoteResponse resp;
	dealdesk__v1__quote_response__init(&resp);
	dd_analytics_tally_quote(t, "c", &resp); /* no experiment: nothing */
	resp.experiments = &asp;
	resp.n_experiments = 1;
	char id[16];
	for (int i = 0; i < 300; i++) {
		snprintf(id, sizeof(id), "c%03d", i);
		dd_analytics_tally_quote(t, id, &resp);
	}
	dd_arena a;
	dd_arena_init(&a, 4096, 0);
	dd_tally_event *ev;
	size_t n;
	assert_int_equal(dd_analytics_tally_snapshot(t, &a, &ev, &n), DD_OK);
	uint64_t stored = stored_uses(store, "s", 1), counted = 0;
	for (size_t i = 0; i < n; i++)
		counted += ev[i].seq > stored;
	/* what the store holds plus what is newer in memory: every quote once */
	assert_int_equal(counted + stored_uses(store, "q\0exp\0b", 7), 300);
	dd_analytics_tally_flush(t);
	assert_int_equal(stored_uses(store, "q\0exp\0b", 7), 300);
	assert_int_equal(stored_uses(store, "s", 1), 2);
	assert_int_equal(dd_analytics_tally_snapshot(t, &a, &ev, &n), DD_OK);
	assert_int_equal(n, 0);
	dd_analytics_tally_free(t);
	/* numbering goes on after a restart */
	t = dd_analytics_tally_new(store, writer);
	dd_analytics_tally_quote(t, "c000", &resp);
	assert_int_equal(dd_analytics_tally_snapshot(t, &a, &ev, &n), DD_OK);
	assert_int_equal(n, 1);
	assert_true(ev[0].seq > 2);
	dd_analytics_tally_free(t);
	assert_int_equal(stored_uses(store, "q\0exp\0b", 7), 301);
	assert_int_equal(stored_uses(store, "s", 1), 3);
	dd_arena_free(&a);
	dd_writer_stop(writer);
	dd_store_close(store);
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ztest_textbook), cmocka_unit_test(test_normal_and_chi2),
		cmocka_unit_test(test_srm),            cmocka_unit_test(test_sample_size),
		cmocka_unit_test(test_segments),       cmocka_unit_test(test_rfm_scores),
		cmocka_unit_test(test_rfm_ntile_uneven), cmocka_unit_test(test_kpi_ratios),
		cmocka_unit_test(test_tally),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
