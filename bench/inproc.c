/* bench_inproc: the quote pipeline in-process, no network, one thread.
 *
 * Builds what dealdeskd builds at start (a store in a fresh temporary
 * directory, the shipped policies, the demo dataset) and one dd_quoter, then
 * calls dd_quote on the standard request (bench/workload.h) over and over:
 * a warm-up, then the measured iterations. Each dd_quote is timed alone
 * with CLOCK_MONOTONIC (the arena is reset after each, outside the timing);
 * quotes/s is iterations over the wall time of the whole measured loop, so
 * it includes the resets and the clock reads.
 *
 * The first response must be sane (5 lines, total > 0) and every quote must
 * succeed, or the exit status is 1.
 *
 * Output: a human summary (or --quiet) and always, last on stdout,
 *   RESULT inproc iterations=... errors=... qps=... median_us=... p99_us=...
 */
#include <dirent.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dealdesk/admin.h"
#include "dealdesk/arena.h"
#include "dealdesk/error.h"
#include "dealdesk/log.h"
#include "dealdesk/quote.h"
#include "dealdesk/store.h"
#include "benchutil.h"
#include "workload.h"



static void usage(FILE *f)
{
	fprintf(f, "usage: bench_inproc [--iterations N (20000)] [--warmup N (2000)] [--quiet]\n");
}

static int describe_first(const Dealdesk__V1__QuoteResponse *r, int quiet)
{
	int ok = r->n_lines == BENCH_QUOTE_LINES && r->total > 0;
	if (!quiet || !ok)
		printf("first quote: %zu lines, subtotal %" PRId64 ", discounts %" PRId64
		       ", total %" PRId64 " %s, credit outcome %d, %zu compliance results "
		       "(status %d)\n",
		       r->n_lines, r->subtotal, r->discount_total, r->total, r->currency,
		       r->credit ? (int)r->credit->outcome : -1, r->n_compliance,
		       (int)r->compliance_status);
	if (!ok)
		fprintf(stderr, "!!! bench_inproc: the first quote is not sane "
		                "(want 5 lines and total > 0)\n");
	return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
	long iterations = 20000, warmup = 2000;
	int quiet = 0;
	static const struct option longopts[] = {
		{ "iterations", required_argument, NULL, 'n' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "n:w:qh", longopts, NULL)) != -1) {
		char *end;
		switch (c) {
		case 'n':
			iterations = strtol(optarg, &end, 10);
			if (*end || iterations < 1 || iterations > 100000000) {
				usage(stderr);
				return 2;
			}
			break;
		case 'w':
			warmup = strtol(optarg, &end, 10);
			if (*end || warmup < 0 || warmup > 100000000) {
				usage(stderr);
				return 2;
			}
			break;
		case 'q': quiet = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}

	dd_log_set_level(DD_LOG_WARN); /* as the server runs in the bench */

	const char *tmp = getenv("TMPDIR");
	char dir[1024];
	snprintf(dir, sizeof(dir), "%s/dd-bench-inproc-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror("bench_inproc: mkdtemp");
		return 2;
	}

	int rc = 2;
	dd_error err;
	dd_error_clear(&err);
	dd_store *store = NULL;
	dd_quoter *quoter = NULL;
	dd_arena arena;
	dd_arena_init(&arena, 65536, 0);
	int64_t *lat = malloc((size_t)iterations * sizeof(*lat));
	dd_quote_limits limits;
	memset(&limits, 0, sizeof(limits));
	dd_store_opts sopts = { .path = dir };
	bench_quote_request q;
	bench_quote_request_init(&q);

	if (lat == NULL) {
		fprintf(stderr, "bench_inproc: out of memory\n");
		goto out;
	}
	if (dd_store_open(&store, &sopts, &err) != DD_OK) {
		fprintf(stderr, "bench_inproc: dd_store_open: %s\n", err.msg);
		goto out;
	}
	/* the order dealdeskd uses: policies, then the demo data */
	if (dd_policy_install_shipped(store, &limits.sandbox, (int64_t)time(NULL), &err) != DD_OK) {
		fprintf(stderr, "bench_inproc: dd_policy_install_shipped: %s\n", err.msg);
		goto out;
	}
	if (dd_demo_seed(store, &err) != DD_OK) {
		fprintf(stderr, "bench_inproc: dd_demo_seed: %s\n", err.msg);
		goto out;
	}
	if (dd_quoter_new(&quoter, store, &limits, &err) != DD_OK) {
		fprintf(stderr, "bench_inproc: dd_quoter_new: %s\n", err.msg);
		goto out;
	}

	rc = 1;
	int64_t now = (int64_t)time(NULL);
	Dealdesk__V1__QuoteResponse *resp = NULL;
	if (dd_quote(quoter, &q.req, now, &arena, &resp, &err) != DD_OK) {
		fprintf(stderr, "!!! bench_inproc: the first quote failed: %s (%s)\n", err.msg,
		        dd_strerror(err.code));
		goto out;
	}
	if (describe_first(resp, quiet) != 0)
		goto out;
	dd_arena_reset(&arena);

	long errors = 0;
	for (long i = 0; i < warmup; i++) {
		if (dd_quote(quoter, &q.req, now, &arena, &resp, &err) != DD_OK && errors++ == 0)
			fprintf(stderr, "!!! bench_inproc: quote failed: %s\n", err.msg);
		dd_arena_reset(&arena);
	}
	int64_t loop_start = mono_ns();
	for (long i = 0; i < iterations; i++) {
		int64_t t0 = mono_ns();
		int qrc = dd_quote(quoter, &q.req, now, &arena, &resp, &err);
		lat[i] = mono_ns() - t0;
		if (qrc != DD_OK && errors++ == 0)
			fprintf(stderr, "!!! bench_inproc: quote failed: %s\n", err.msg);
		dd_arena_reset(&arena);
	}
	int64_t loop_ns = mono_ns() - loop_start;

	qsort(lat, (size_t)iterations, sizeof(*lat), cmp_i64);
	double median = percentile_us(lat, (size_t)iterations, 50);
	double p99 = percentile_us(lat, (size_t)iterations, 99);
	double p999 = percentile_us(lat, (size_t)iterations, 99.9);
	double mean = 0;
	for (long i = 0; i < iterations; i++)
		mean += (double)lat[i];
	mean /= (double)iterations * 1000.0;
	double qps = (double)iterations / ((double)loop_ns / 1e9);
	if (!quiet) {
		printf("inproc: %ld quotes after %ld warm-up, one thread\n", iterations, warmup);
		printf("  per quote us  median %.1f  p99 %.1f  p99.9 %.1f  mean %.1f  min %.1f  "
		       "max %.1f\n",
		       median, p99, p999, mean, (double)lat[0] / 1000.0,
		       (double)lat[iterations - 1] / 1000.0);
		printf("  throughput    %.0f quotes/s\n", qps);
	}
	if (errors > 0)
		fprintf(stderr, "!!! bench_inproc: %ld quotes FAILED !!!\n", errors);
	else
		rc = 0;
	printf("RESULT inproc iterations=%ld errors=%ld qps=%.1f median_us=%.1f p99_us=%.1f "
	       "p999_us=%.1f mean_us=%.1f\n",
	       iterations, errors, qps, median, p99, p999, mean);

out:
	dd_quoter_free(quoter);
	dd_arena_free(&arena);
	if (store != NULL)
		dd_store_close(store);
	remove_dir(dir);
	free(lat);
	return rc;
}
