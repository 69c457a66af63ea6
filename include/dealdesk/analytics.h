/* dealdesk analytics: customer value (RFM and lifecycle), experiment
 * reports and sales KPIs, computed from what the store holds (orders,
 * invoices, payments, promotions) plus a cheap counter of quotes per
 * experiment arm. README "Customer value and sales results" has the
 * formulas; proto/dealdesk/v1/analytics.proto the messages.
 *
 * Reports are computed in one short read transaction of their own, so they
 * are consistent and never block writers. Everything returned is allocated
 * in the arena given (protobuf-c messages included) and valid until it is
 * reset; nothing is to be freed. Statistics are doubles (p-values and
 * intervals); money stays int64 minor units, sums checked for overflow.
 *
 * Store (table analytics):
 *   "a" \0 experiment \0 customer -> arm name (a quote assigned it)
 *   "q" \0 experiment \0 arm      -> Usage (uses = quotes)
 *   "s"                           -> uint64 LE: the last quote batch stored
 *   "r" \0 customer               -> CustomerValue (what ctx.customer.rfm reads)
 *   "rc"                          -> RfmState (the last recompute)
 */
#ifndef DEALDESK_ANALYTICS_H
#define DEALDESK_ANALYTICS_H

#include <stddef.h>
#include <stdint.h>

#include "dealdesk/arena.h"
#include "dealdesk/error.h"
#include "dealdesk/store.h"
#include "dealdesk/writer.h"
#include "dealdesk/v1/analytics.pb-c.h"
#include "dealdesk/v1/quote.pb-c.h"

/* ---- statistics (stats.c) ---------------------------------------------- */

/* Two-proportion z-test of x2/n2 (arm) against x1/n1 (control): diff =
 * p2 - p1, z with the pooled standard error, two-sided p-value, and the
 * 95 % interval of diff with the unpooled one. Returns 0 (and leaves *out
 * zeroed) when a sample is empty or the pooled error is 0. */
typedef struct dd_ztest {
	double p1, p2, diff, z, p_value, ci_low, ci_high;
} dd_ztest;
int dd_stats_ztest(uint64_t x1, uint64_t n1, uint64_t x2, uint64_t n2, dd_ztest *out);

/* P(Z > z) for a standard normal Z. */
double dd_stats_normal_sf(double z);
/* P(X > x) for X chi-square with df degrees of freedom. */
double dd_stats_chi2_sf(double x, double df);
/* Sample-ratio mismatch: chi-square of observed counts against the
 * weights (expected[i] = total x weight[i] / sum of weights, written to
 * expected when not NULL); *chi2 and the p-value returned (1 when the
 * total is 0). */
double dd_stats_srm(const uint64_t *observed, const uint32_t *weights, size_t k, double *chi2,
                    double *expected);
/* Customers per arm to tell conversion p1 from p2 (two-sided alpha 0.05,
 * power 0.80); 0 when p1 == p2 or either is outside (0, 1). */
uint64_t dd_stats_sample_size(double p1, double p2);

/* ---- RFM scoring (rfm.c): pure ------------------------------------------ */

/* One customer's history as of `at` (order_count 0 = a prospect). */
typedef struct dd_rfm_input {
	const char *customer_id;
	int64_t order_count, first_order_at, last_order_at;
	int64_t frequency, monetary; /* in the window */
} dd_rfm_input;

/* Options with the defaults filled in (0 / "" in the request). */
void dd_rfm_options_normalize(const Dealdesk__V1__RfmOptions *in, Dealdesk__V1__RfmOptions *out);

/* Scores in[0..n) into out[0..n) (customer_id etc. copied, strings point
 * at the inputs' and at static names): quintiles by NTILE(5) over the
 * customers with orders, ordered by the value and then by customer id
 * (recency: more days first), segment and lifecycle. breaks (may be NULL)
 * gets the smallest key of quintiles 2..5 of r (negated days), f and m
 * (INT64_MAX for an empty quintile). DD_ENOMEM. */
int dd_rfm_score(const dd_rfm_input *in, size_t n, int64_t at,
                 const Dealdesk__V1__RfmOptions *opts, dd_arena *arena,
                 Dealdesk__V1__CustomerValue *out, int64_t breaks[3][4]);

/* The segment of scores r and f ("lost" when churned and R1/F1). */
const char *dd_rfm_segment(int r, int f, int churned);
/* The lifecycle stage as of at. */
const char *dd_rfm_lifecycle(const dd_rfm_input *c, int64_t at,
                             const Dealdesk__V1__RfmOptions *opts);
/* The segment names, in the report's order (11, NULL-terminated). */
extern const char *const dd_rfm_segments[];
extern const char *const dd_rfm_stages[];

/* ---- KPIs (kpi.c) ------------------------------------------------------------ */

/* Fills the ratios of k from its sums: discount share, collection rate,
 * DSO, Best DSO, average days delinquent, CEI, repurchase rate, promotion
 * ROI (0 where a denominator is 0). */
void dd_kpi_ratios(Dealdesk__V1__SalesKpis *k);

/* ---- reports (rfm_store.c, experiment.c, kpi.c) ------------------------------------ */

int dd_analytics_customer_value(dd_store *store, const Dealdesk__V1__GetCustomerValueRequest *req,
                                int64_t now, dd_arena *arena,
                                Dealdesk__V1__CustomerValue **out, dd_error *err);
int dd_analytics_segments(dd_store *store, const Dealdesk__V1__ListSegmentsRequest *req,
                          int64_t now, dd_arena *arena, Dealdesk__V1__ListSegmentsResponse **out,
                          dd_error *err);
/* RecomputeRfm, in the writer's transaction: scores every customer, writes
 * each record "r" and the state "rc". */
int dd_analytics_rfm_recompute(dd_wtxn *txn, const Dealdesk__V1__RecomputeRfmRequest *req,
                               int64_t now, dd_arena *arena,
                               Dealdesk__V1__RecomputeRfmResponse *out, dd_error *err);
/* What a commit tells analytics (strings owned by the caller). */
typedef struct dd_analytics_sale {
	const char *customer_id, *currency;
	int64_t at, total;
} dd_analytics_sale;
/* A commit's hook, in its write transaction: the committing customer's
 * record "r" gets the new order and is scored against the breakpoints of
 * the last recompute (a get and a put; nothing when no customer id). */
int dd_analytics_on_commit(dd_wtxn *txn, dd_arena *arena, const dd_analytics_sale *sale,
                           dd_error *err);

typedef struct dd_analytics_tally dd_analytics_tally;

/* tally may be NULL (quotes not yet stored are then not counted). */
int dd_analytics_experiments(dd_store *store, dd_analytics_tally *tally,
                             const Dealdesk__V1__GetExperimentReportRequest *req, int64_t now,
                             dd_arena *arena, Dealdesk__V1__GetExperimentReportResponse **out,
                             dd_error *err);
int dd_analytics_kpis(dd_store *store, const Dealdesk__V1__GetSalesKpisRequest *req, int64_t now,
                      dd_arena *arena, Dealdesk__V1__GetSalesKpisResponse **out, dd_error *err);

/* ---- the quote counter (tally.c) ---------------------------------------------- */

/* Quotes per experiment arm, counted off the quote path: a quote adds its
 * assignments to a buffer under a mutex (no store access); a full buffer
 * (256 assignments) or one older than a second is handed to the writer as
 * one job, which adds them to the "q" counters and "a" assignments and
 * stores its batch number ("s"). Reports add what is buffered or in flight
 * and not yet stored (batch number above the stored one), so they count
 * every quote answered, exactly once. What is buffered when the process
 * dies is lost (at most one batch). Thread-safe. */
/* Batches are numbered on from the one stored in store. */
dd_analytics_tally *dd_analytics_tally_new(dd_store *store, dd_writer *writer);
/* Counts resp's experiment assignments for customer_id (a no-op without any). */
void dd_analytics_tally_quote(dd_analytics_tally *t, const char *customer_id,
                              const Dealdesk__V1__QuoteResponse *resp);
/* Hands the buffer to the writer and waits until it and every batch in
 * flight are stored (shutdown, tests). */
void dd_analytics_tally_flush(dd_analytics_tally *t);
/* Flushes, then frees. NULL is a no-op. */
void dd_analytics_tally_free(dd_analytics_tally *t);

/* One assignment counted in memory (reports): seq is its batch's number
 * (UINT64_MAX while still buffered). */
typedef struct dd_tally_event {
	const char *experiment, *arm, *customer;
	uint64_t seq;
} dd_tally_event;
/* Copies into arena the events buffered or in flight. Take it before the
 * report's read transaction begins, then count the events whose seq is
 * above the stored batch number ("s"): each quote is counted once. */
int dd_analytics_tally_snapshot(dd_analytics_tally *t, dd_arena *arena, dd_tally_event **out,
                                size_t *n);

#endif
