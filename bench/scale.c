/* bench_scale: the standard quote against large datasets, in-process, one
 * thread, no network.
 *
 * Promotion matching is indexed by SKU, category and scope: a quote looks at
 * the promotions its lines, codes and the untargeted ones select, so its cost
 * should not grow with the number of promotions, nor with the size of the
 * catalogue. This program measures that. Every scenario is a store of its own
 * in a fresh temporary directory with
 *
 *   - the shipped policies and the demo dataset (dd_demo_seed: the five SKUs
 *     of the standard cart, customer acme, the 6 demo promotions, the checks);
 *   - a catalogue of S generated SKUs ("SKU-0000001" ...) in price list
 *     retail-usd, each in one of 100 categories ("cat-000" .. "cat-099"),
 *     unit cost below price;
 *   - P - 6 generated promotions (P = all active promotions, the demo's 6
 *     included): PERCENTAGE, FIXED_AMOUNT and BUY_X_GET_Y, each targeted at
 *     1-3 catalogue SKUs or at one generated category, some with a coupon
 *     code, a channel, a customer group, a stacking group, a cap, a budget
 *     or a validity window. None targets a SKU or category of the standard
 *     cart, so every scenario must give the very same quote (checked).
 *
 * Data is pseudo-random from a fixed seed (the catalogue depends only on S,
 * the promotions on P and S), loaded with dd_admin_put in batches of
 * DD_MAX_BATCH records, one no-sync transaction each.
 *
 * Default scenarios: promotions 10 / 1000 / 10000 on a 100k catalogue and
 * catalogues 1k / 100k / 1M with 10 promotions (p10-s100k is in both
 * sweeps). All stores are built first, each with its own dd_quoter; then the
 * scenarios are measured in interleaved rounds (a per-round warm-up, then
 * timed quotes, scenario order rotated every round), so a disturbance of the
 * machine hits every scenario alike. Each dd_quote is timed alone with
 * CLOCK_MONOTONIC, as in bench_inproc.
 *
 * The last line on stdout is
 *   scale ratios: promotions 10000/10 = R, skus 1M/1k = S
 * R = median(p10000-s100k) / median(p10-s100k), S = median(p10-s1M) /
 * median(p10-s1k) ("n/a" when a scenario was not run). Exit status 1 when a
 * quote failed or the scenarios' quotes differ (then a "!!!" line follows),
 * 2 for bad options or a setup failure.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

#define MAX_SCENARIOS 16
#define DEMO_PROMOTIONS 6 /* what dd_demo_seed loads */
#define NCATEGORIES 100
#define MAX_SKUS 9999999L /* SKU-%07d */
#define MAX_PROMOTIONS 1000000L
#define SEED 0x5ca1ab1eULL

static const char *const default_scenarios[] = {
	"p10-s1k", "p10-s100k", "p1000-s100k", "p10000-s100k", "p10-s1M",
};

/* What every scenario's quote must agree on. */
typedef struct quote_shape {
	size_t n_lines;
	int64_t line_total[BENCH_QUOTE_LINES];
	int64_t subtotal, discount_total, total;
	size_t n_order_discounts, n_promotion_notes;
	int credit_outcome, compliance_status;
	char currency[8];
} quote_shape;

typedef struct scenario {
	char name[32];
	long promotions; /* active promotions, the demo's 6 included */
	long skus;       /* generated catalogue SKUs (the cart's 5 come on top) */
	char dir[1024];
	dd_store *store;
	dd_quoter *quoter;
	double load_s;   /* store, policies, demo data, catalogue, promotions */
	double first_ms; /* dd_quoter_new + the first quote */
	double store_mb;
	quote_shape first;
	int64_t *lat;
	size_t nlat;
	long errors, mismatches;
	double median_us, p99_us, mean_us;
} scenario;

static scenario sc[MAX_SCENARIOS];
static int nsc;


/* splitmix64: small, fast, and the same sequence everywhere. */
static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t rng_below(uint64_t *s, uint64_t n)
{
	return rng_next(s) % n;
}

/* ---- temporary directories ----------------------------------------------------- */


/* On SIGINT / SIGTERM: remove the stores (the 1M one is large) and leave.
 * Only async-signal-safe calls; the paths are built before the signal. */
static char cleanup_path[MAX_SCENARIOS][3][1100];

static void on_signal(int sig)
{
	for (int i = 0; i < MAX_SCENARIOS; i++) {
		if (cleanup_path[i][2][0] == '\0')
			continue;
		unlink(cleanup_path[i][0]);
		unlink(cleanup_path[i][1]);
		rmdir(cleanup_path[i][2]);
	}
	_exit(128 + sig);
}

static double dir_megabytes(const char *dir)
{
	char path[1100];
	struct stat st;
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	if (stat(path, &st) != 0)
		return 0;
	return (double)st.st_blocks * 512.0 / (1024.0 * 1024.0);
}

/* ---- scenario names ------------------------------------------------------------ */

/* "10", "1000", "1k", "100k", "1M" -> value; -1 when malformed. */
static long parse_count(const char *s, const char **end)
{
	char *e;
	errno = 0;
	long v = strtol(s, &e, 10);
	if (e == s || errno || v < 0)
		return -1;
	if (*e == 'k') {
		v *= 1000;
		e++;
	} else if (*e == 'M') {
		v *= 1000000;
		e++;
	}
	*end = e;
	return v;
}

/* "p<promotions>-s<skus>", e.g. p10000-s100k. */
static int add_scenario(const char *name)
{
	const char *e;
	if (nsc >= MAX_SCENARIOS) {
		fprintf(stderr, "bench_scale: at most %d scenarios\n", MAX_SCENARIOS);
		return -1;
	}
	if (strlen(name) >= sizeof(sc[0].name) || name[0] != 'p')
		goto bad;
	long p = parse_count(name + 1, &e);
	if (p < 0 || e[0] != '-' || e[1] != 's')
		goto bad;
	long s = parse_count(e + 2, &e);
	if (s < 0 || *e != '\0')
		goto bad;
	if (p < DEMO_PROMOTIONS || p > MAX_PROMOTIONS || s < 1 || s > MAX_SKUS) {
		fprintf(stderr, "bench_scale: scenario '%s': promotions must be %d..%ld "
		                "(the demo's %d included), SKUs 1..%ld\n",
		        name, DEMO_PROMOTIONS, MAX_PROMOTIONS, DEMO_PROMOTIONS, MAX_SKUS);
		return -1;
	}
	scenario *x = &sc[nsc++];
	memset(x, 0, sizeof(*x));
	snprintf(x->name, sizeof(x->name), "%s", name);
	x->promotions = p;
	x->skus = s;
	return 0;
bad:
	fprintf(stderr, "bench_scale: bad scenario '%s' (want p<promotions>-s<skus>, "
	                "counts with an optional k or M, e.g. p10000-s100k)\n", name);
	return -1;
}

static scenario *find_scenario(long promotions, long skus)
{
	for (int i = 0; i < nsc; i++)
		if (sc[i].promotions == promotions && sc[i].skus == skus)
			return &sc[i];
	return NULL;
}

/* ---- data ------------------------------------------------------------------------ */

static char categories[NCATEGORIES][8];

static void sku_name(char *buf, size_t size, long i)
{
	snprintf(buf, size, "SKU-%07ld", i);
}

typedef struct price_batch {
	Dealdesk__V1__PriceEntry e[DD_MAX_BATCH];
	ProtobufCMessage *items[DD_MAX_BATCH];
	char sku[DD_MAX_BATCH][32];
	char name[DD_MAX_BATCH][32];
} price_batch;

/* SKU-0000001 .. SKU-<skus>: USD price 1.00 .. 999.99, cost 40-80 % of it. */
static int load_catalogue(dd_store *store, long skus, price_batch *b, dd_error *err)
{
	uint64_t rng = SEED ^ ((uint64_t)skus * 0x100000001b3ULL);
	for (long first = 1; first <= skus; first += DD_MAX_BATCH) {
		size_t n = 0;
		for (long i = first; i <= skus && n < DD_MAX_BATCH; i++, n++) {
			Dealdesk__V1__PriceEntry *e = &b->e[n];
			dealdesk__v1__price_entry__init(e);
			sku_name(b->sku[n], sizeof(b->sku[n]), i);
			snprintf(b->name[n], sizeof(b->name[n]), "Item %07ld", i);
			e->price_list_id = "retail-usd";
			e->sku = b->sku[n];
			e->currency = "USD";
			e->category = categories[rng_below(&rng, NCATEGORIES)];
			e->name = b->name[n];
			e->unit_price = 100 + (int64_t)rng_below(&rng, 99900);
			e->unit_cost = e->unit_price * (40 + (int64_t)rng_below(&rng, 41)) / 100;
			e->rounding = DEALDESK__V1__ROUNDING_MODE__ROUNDING_MODE_HALF_UP;
			b->items[n] = &e->base;
		}
		int rc = dd_admin_put(store, DD_ENTITY_PRICE, b->items, n, "catalogue", NULL, err);
		if (rc != DD_OK)
			return rc;
	}
	return DD_OK;
}

typedef struct gen_promo {
	Dealdesk__V1__Promotion p;
	char id[32], name[96], coupon[32], group[16];
	char sku[3][32];
	char *skus[3];
	char *categories[1];
	char *channels[1];
	char *groups[1];
} gen_promo;

typedef struct promo_batch {
	gen_promo g[DD_MAX_BATCH];
	ProtobufCMessage *items[DD_MAX_BATCH];
} promo_batch;

static char *channel_names[] = { "web", "store" };
static char *group_names[] = { "wholesale", "retail" };

/* One generated promotion, number i (1-based), targeted at catalogue SKUs
 * or a generated category, never at the standard cart. */
static void gen_promotion(gen_promo *g, long i, long skus, uint64_t *rng)
{
	Dealdesk__V1__Promotion *p = &g->p;
	dealdesk__v1__promotion__init(p);
	snprintf(g->id, sizeof(g->id), "GEN-%06ld", i);
	p->id = g->id;
	p->enabled = 1;
	p->priority = 1 + (int32_t)rng_below(rng, 500);

	const char *what;
	uint64_t k = rng_below(rng, 100);
	if (k < 50) {
		p->kind = DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_PERCENTAGE;
		p->percent_bps = 500 + 250 * (int32_t)rng_below(rng, 11); /* 5 .. 30 % */
		what = "% off";
	} else if (k < 80) {
		p->kind = DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_FIXED_AMOUNT;
		p->amount = 50 + 50 * (int64_t)rng_below(rng, 20); /* 0.50 .. 10.00 */
		p->currency = "USD";
		what = "USD off each";
	} else {
		p->kind = DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_BUY_X_GET_Y;
		p->buy_quantity = 1 + (int64_t)rng_below(rng, 3);
		p->get_quantity = 1;
		p->percent_bps = rng_below(rng, 2) ? 10000 : 5000;
		what = "buy X get Y";
	}

	if (rng_below(rng, 8) == 0) { /* one generated category */
		g->categories[0] = categories[rng_below(rng, NCATEGORIES)];
		p->categories = g->categories;
		p->n_categories = 1;
		snprintf(g->name, sizeof(g->name), "%s on %s", what, g->categories[0]);
	} else { /* 1-3 catalogue SKUs */
		size_t n = 1 + (size_t)rng_below(rng, 3);
		for (size_t j = 0; j < n; j++) {
			sku_name(g->sku[j], sizeof(g->sku[j]), 1 + (long)rng_below(rng, (uint64_t)skus));
			g->skus[j] = g->sku[j];
		}
		p->skus = g->skus;
		p->n_skus = n;
		snprintf(g->name, sizeof(g->name), "%s on %s%s", what, g->sku[0],
		         n > 1 ? " and more" : "");
	}
	p->name = g->name;

	/* scopes and conditions real promotion sets carry */
	if (rng_below(rng, 20) == 0) {
		snprintf(g->coupon, sizeof(g->coupon), "SCALE%06ld", i);
		p->coupon_code = g->coupon;
	}
	if (rng_below(rng, 4) == 0) {
		g->channels[0] = channel_names[rng_below(rng, 2)];
		p->channels = g->channels;
		p->n_channels = 1;
	}
	if (rng_below(rng, 10) == 0) {
		g->groups[0] = group_names[rng_below(rng, 2)];
		p->customer_groups = g->groups;
		p->n_customer_groups = 1;
	}
	if (rng_below(rng, 10) == 0) {
		snprintf(g->group, sizeof(g->group), "grp-%02d", (int)rng_below(rng, 50));
		p->stacking_group = g->group;
	}
	if (rng_below(rng, 5) == 0)
		p->max_discount = 5000;
	if (rng_below(rng, 10) == 0)
		p->budget_uses = 1000;
	if (rng_below(rng, 7) == 0)
		p->min_quantity = 2;
	switch (rng_below(rng, 8)) {
	case 0: /* in force at the standard request_time (1790000000) */
		p->valid_from = 1780000000;
		p->valid_to = 1800000000;
		break;
	case 1: /* over */
		p->valid_from = 1600000000;
		p->valid_to = 1700000000;
		break;
	default: break;
	}
}

static int load_promotions(dd_store *store, long count, long skus, promo_batch *b,
                           dd_error *err)
{
	uint64_t rng = SEED ^ ((uint64_t)count * 0x9e3779b97f4a7c15ULL) ^
	               ((uint64_t)skus * 0x100000001b3ULL);
	for (long first = 1; first <= count; first += DD_MAX_BATCH) {
		size_t n = 0;
		for (long i = first; i <= count && n < DD_MAX_BATCH; i++, n++) {
			gen_promotion(&b->g[n], i, skus, &rng);
			b->items[n] = &b->g[n].p.base;
		}
		int rc = dd_admin_put(store, DD_ENTITY_PROMOTION, b->items, n, "promotions",
		                      NULL, err);
		if (rc != DD_OK)
			return rc;
	}
	return DD_OK;
}

/* ---- one scenario ----------------------------------------------------------------- */

static void shape_of(const Dealdesk__V1__QuoteResponse *r, quote_shape *s)
{
	memset(s, 0, sizeof(*s));
	s->n_lines = r->n_lines;
	for (size_t i = 0; i < r->n_lines && i < BENCH_QUOTE_LINES; i++)
		s->line_total[i] = r->lines[i]->line_total;
	s->subtotal = r->subtotal;
	s->discount_total = r->discount_total;
	s->total = r->total;
	s->n_order_discounts = r->n_order_discounts;
	s->n_promotion_notes = r->n_promotion_notes;
	s->credit_outcome = r->credit ? (int)r->credit->outcome : -1;
	s->compliance_status = (int)r->compliance_status;
	snprintf(s->currency, sizeof(s->currency), "%s", r->currency ? r->currency : "");
}

static int same_shape(const quote_shape *a, const quote_shape *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

static const char *tmp_root(void)
{
	const char *tmp = getenv("TMPDIR");
	return tmp && *tmp ? tmp : "/tmp";
}

/* Creates and fills the store, makes the quoter and runs the first quote.
 * 0, 2 for a setup failure, 1 when the first quote fails or is not sane. */
static int build_scenario(int idx, price_batch *pb, promo_batch *gb,
                          const dd_quote_limits *limits, dd_arena *arena)
{
	scenario *s = &sc[idx];
	dd_error err;
	dd_error_clear(&err);
	snprintf(s->dir, sizeof(s->dir), "%s/dd-bench-scale-XXXXXX", tmp_root());
	if (mkdtemp(s->dir) == NULL) {
		fprintf(stderr, "bench_scale: mkdtemp %s: %s\n", s->dir, strerror(errno));
		s->dir[0] = '\0';
		return 2;
	}
	snprintf(cleanup_path[idx][0], sizeof(cleanup_path[idx][0]), "%s/data.mdb", s->dir);
	snprintf(cleanup_path[idx][1], sizeof(cleanup_path[idx][1]), "%s/lock.mdb", s->dir);
	snprintf(cleanup_path[idx][2], sizeof(cleanup_path[idx][2]), "%s", s->dir);

	/* map space, not disk: ~4 KiB of address space per SKU, at least 1 GiB */
	size_t map = (size_t)s->skus * 4096;
	if (map < ((size_t)1 << 30))
		map = (size_t)1 << 30;
	dd_store_opts opts = { .path = s->dir, .map_size = map, .no_sync = 1 };
	const char *step = "";
	int64_t t0 = mono_ns();
	int rc;
	if ((rc = dd_store_open(&s->store, &opts, &err)) != DD_OK)
		step = "dd_store_open";
	/* the order dealdeskd uses: policies, then the demo data; then the bulk */
	else if ((rc = dd_policy_install_shipped(s->store, &limits->sandbox, (int64_t)time(NULL),
	                                         &err)) != DD_OK)
		step = "dd_policy_install_shipped";
	else if ((rc = dd_demo_seed(s->store, &err)) != DD_OK)
		step = "dd_demo_seed";
	else if ((rc = load_catalogue(s->store, s->skus, pb, &err)) != DD_OK)
		step = "catalogue";
	else if (s->promotions > DEMO_PROMOTIONS &&
	         (rc = load_promotions(s->store, s->promotions - DEMO_PROMOTIONS, s->skus, gb,
	                               &err)) != DD_OK)
		step = "promotions";
	if (rc != DD_OK) {
		fprintf(stderr, "bench_scale: %s: %s: %s\n", s->name, step, err.msg);
		return 2;
	}
	int64_t t1 = mono_ns();
	s->load_s = (double)(t1 - t0) / 1e9;
	s->store_mb = dir_megabytes(s->dir);

	if (dd_quoter_new(&s->quoter, s->store, limits, &err) != DD_OK) {
		fprintf(stderr, "bench_scale: %s: dd_quoter_new: %s\n", s->name, err.msg);
		return 2;
	}
	bench_quote_request q;
	bench_quote_request_init(&q);
	Dealdesk__V1__QuoteResponse *resp = NULL;
	rc = dd_quote(s->quoter, &q.req, (int64_t)time(NULL), arena, &resp, &err);
	s->first_ms = (double)(mono_ns() - t1) / 1e6;
	if (rc != DD_OK) {
		fprintf(stderr, "!!! bench_scale: %s: the first quote failed: %s (%s)\n", s->name,
		        err.msg, dd_strerror(err.code));
		dd_arena_reset(arena);
		return 1;
	}
	shape_of(resp, &s->first);
	dd_arena_reset(arena);
	if (s->first.n_lines != BENCH_QUOTE_LINES || s->first.total <= 0) {
		fprintf(stderr, "!!! bench_scale: %s: the first quote is not sane (%zu lines, "
		                "total %" PRId64 "; want 5 lines and total > 0)\n",
		        s->name, s->first.n_lines, s->first.total);
		return 1;
	}
	printf("== %-13s %6ld promotions %8ld SKUs: loaded in %6.2f s (data.mdb %.1f MB); "
	       "quoter + first quote %.1f ms\n",
	       s->name, s->promotions, s->skus, s->load_s, s->store_mb, s->first_ms);
	fflush(stdout);
	return 0;
}

static void close_scenario(int idx)
{
	scenario *s = &sc[idx];
	dd_quoter_free(s->quoter);
	s->quoter = NULL;
	if (s->store != NULL)
		dd_store_close(s->store);
	s->store = NULL;
	if (s->dir[0] != '\0')
		remove_dir(s->dir);
	s->dir[0] = '\0';
	cleanup_path[idx][2][0] = '\0';
}

/* warmup untimed then iterations timed quotes of the standard request;
 * every response is checked against the scenario's first. */
static void measure(scenario *s, const bench_quote_request *q, long warmup, long iterations,
                    dd_arena *arena)
{
	dd_error err;
	Dealdesk__V1__QuoteResponse *resp = NULL;
	int64_t now = (int64_t)time(NULL);
	for (long i = 0; i < warmup; i++) {
		if (dd_quote(s->quoter, &q->req, now, arena, &resp, &err) != DD_OK &&
		    s->errors++ == 0)
			fprintf(stderr, "!!! bench_scale: %s: quote failed: %s\n", s->name, err.msg);
		dd_arena_reset(arena);
	}
	for (long i = 0; i < iterations; i++) {
		int64_t t0 = mono_ns();
		int rc = dd_quote(s->quoter, &q->req, now, arena, &resp, &err);
		s->lat[s->nlat++] = mono_ns() - t0;
		if (rc != DD_OK) {
			if (s->errors++ == 0)
				fprintf(stderr, "!!! bench_scale: %s: quote failed: %s\n", s->name,
				        err.msg);
		} else if (resp->total != s->first.total || resp->n_lines != s->first.n_lines) {
			if (s->mismatches++ == 0)
				fprintf(stderr, "!!! bench_scale: %s: a quote's total %" PRId64
				                " differs from the first's %" PRId64 "\n",
				        s->name, resp->total, s->first.total);
		}
		dd_arena_reset(arena);
	}
}

static void format_ratio(char *buf, size_t size, const scenario *num, const scenario *den)
{
	if (num == NULL || den == NULL || den->median_us <= 0 || num->nlat == 0 || den->nlat == 0)
		snprintf(buf, size, "n/a");
	else
		snprintf(buf, size, "%.2f", num->median_us / den->median_us);
}

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: bench_scale [--quick] [--rounds N (40; quick 12)] [--iterations N (1000; quick 750)]\n"
	        "                   [--warmup N (50)] [--scenarios LIST]\n"
	        "  Times the standard quote in-process against large datasets.\n"
	        "  --iterations / --warmup are per scenario and round (rounds interleave the scenarios).\n"
	        "  LIST: comma-separated p<promotions>-s<skus> (counts may end in k or M; promotions\n"
	        "  include the demo's 6), default p10-s1k,p10-s100k,p1000-s100k,p10000-s100k,p10-s1M.\n"
	        "  Last line: scale ratios: promotions 10000/10 = R, skus 1M/1k = S\n");
}

static long parse_long(const char *s, long lo, long hi)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	return v;
}

int main(int argc, char **argv)
{
	long rounds = -1, iterations = -1, warmup = -1;
	int quick = 0;
	const char *list = NULL;
	static const struct option longopts[] = {
		{ "quick", no_argument, NULL, 'Q' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "iterations", required_argument, NULL, 'n' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "scenarios", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "Qr:n:w:s:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'Q': quick = 1; break;
		case 'r':
			if ((rounds = parse_long(optarg, 1, 10000)) < 0) {
				usage(stderr);
				return 2;
			}
			break;
		case 'n':
			if ((iterations = parse_long(optarg, 1, 10000000)) < 0) {
				usage(stderr);
				return 2;
			}
			break;
		case 'w':
			if ((warmup = parse_long(optarg, 0, 10000000)) < 0) {
				usage(stderr);
				return 2;
			}
			break;
		case 's': list = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (rounds < 0)
		rounds = quick ? 12 : 40;
	if (iterations < 0)
		iterations = quick ? 750 : 1000;
	if (warmup < 0)
		warmup = 50;
	if (list != NULL) {
		char buf[1024];
		snprintf(buf, sizeof(buf), "%s", list);
		for (char *save = NULL, *t = strtok_r(buf, ",", &save); t != NULL;
		     t = strtok_r(NULL, ",", &save))
			if (add_scenario(t) != 0)
				return 2;
		if (nsc == 0) {
			usage(stderr);
			return 2;
		}
	} else {
		for (size_t i = 0; i < sizeof(default_scenarios) / sizeof(default_scenarios[0]); i++)
			if (add_scenario(default_scenarios[i]) != 0)
				return 2;
	}
	if ((double)rounds * (double)iterations > 1e8) {
		fprintf(stderr, "bench_scale: rounds x iterations too large\n");
		return 2;
	}

	dd_log_set_level(DD_LOG_WARN); /* as the server runs in the bench */
	for (int i = 0; i < NCATEGORIES; i++)
		snprintf(categories[i], sizeof(categories[i]), "cat-%03d", i);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	int rc = 2;
	dd_quote_limits limits;
	memset(&limits, 0, sizeof(limits));
	dd_arena arena;
	dd_arena_init(&arena, 65536, 0);
	price_batch *pb = malloc(sizeof(*pb));
	promo_batch *gb = malloc(sizeof(*gb));
	bench_quote_request q;
	bench_quote_request_init(&q);
	if (pb == NULL || gb == NULL) {
		fprintf(stderr, "bench_scale: out of memory\n");
		goto out;
	}
	for (int i = 0; i < nsc; i++) {
		sc[i].lat = malloc((size_t)(rounds * iterations) * sizeof(int64_t));
		if (sc[i].lat == NULL) {
			fprintf(stderr, "bench_scale: out of memory\n");
			goto out;
		}
	}

	printf("== bench_scale: %d scenario(s); standard quote (acme, 5 lines, USD) in-process on "
	       "one thread\n", nsc);
	fflush(stdout);
	int64_t build_start = mono_ns();
	for (int i = 0; i < nsc; i++)
		if ((rc = build_scenario(i, pb, gb, &limits, &arena)) != 0)
			goto out;
	rc = 2;
	free(pb);
	free(gb);
	pb = NULL;
	gb = NULL;

	/* every scenario must give the very same quote */
	int differ = 0;
	for (int i = 1; i < nsc; i++)
		if (!same_shape(&sc[i].first, &sc[0].first))
			differ = 1;
	if (differ) {
		fprintf(stderr, "!!! bench_scale: the scenarios' quotes DIFFER:\n");
		for (int i = 0; i < nsc; i++)
			fprintf(stderr, "!!!   %-13s subtotal %" PRId64 " discounts %" PRId64
			                " total %" PRId64 " %s, %zu order discount(s), %zu note(s), "
			                "credit %d, compliance %d\n",
			        sc[i].name, sc[i].first.subtotal, sc[i].first.discount_total,
			        sc[i].first.total, sc[i].first.currency, sc[i].first.n_order_discounts,
			        sc[i].first.n_promotion_notes, sc[i].first.credit_outcome,
			        sc[i].first.compliance_status);
	} else {
		printf("== standard quote in every scenario: %zu lines, subtotal %" PRId64
		       ", discounts %" PRId64 ", total %" PRId64 " %s\n",
		       sc[0].first.n_lines, sc[0].first.subtotal, sc[0].first.discount_total,
		       sc[0].first.total, sc[0].first.currency);
	}
	printf("== built in %.1f s; measuring: %ld rounds x %d scenarios, each %ld warm-up + %ld "
	       "timed quotes, scenario order rotated every round\n",
	       (double)(mono_ns() - build_start) / 1e9, rounds, nsc, warmup, iterations);
	fflush(stdout);

	/* interleaved rounds; one progress line per group of rounds (about ten
	 * lines in all), with each scenario's median over that group */
	long group = (rounds + 9) / 10, group_start = 0;
	for (long r = 0; r < rounds; r++) {
		for (int k = 0; k < nsc; k++)
			measure(&sc[(k + r) % nsc], &q, warmup, iterations, &arena);
		if ((r + 1) % group != 0 && r + 1 != rounds)
			continue;
		if (group_start == r)
			printf("   round %3ld     median us:", r + 1);
		else
			printf("   rounds %3ld-%-3ld median us:", group_start + 1, r + 1);
		for (int i = 0; i < nsc; i++) {
			size_t from = (size_t)(group_start * iterations);
			size_t n = sc[i].nlat - from;
			int64_t *tmp = malloc(n * sizeof(*tmp));
			double med = 0;
			if (tmp != NULL) {
				memcpy(tmp, sc[i].lat + from, n * sizeof(*tmp));
				qsort(tmp, n, sizeof(*tmp), cmp_i64);
				med = percentile_us(tmp, n, 50);
				free(tmp);
			}
			printf("  %s %.1f", sc[i].name, med);
		}
		printf("\n");
		fflush(stdout);
		group_start = r + 1;
	}

	long errors = 0, mismatches = 0;
	for (int i = 0; i < nsc; i++) {
		scenario *s = &sc[i];
		qsort(s->lat, s->nlat, sizeof(*s->lat), cmp_i64);
		s->median_us = percentile_us(s->lat, s->nlat, 50);
		s->p99_us = percentile_us(s->lat, s->nlat, 99);
		double sum = 0;
		for (size_t k = 0; k < s->nlat; k++)
			sum += (double)s->lat[k];
		s->mean_us = s->nlat ? sum / (double)s->nlat / 1000.0 : 0;
		errors += s->errors;
		mismatches += s->mismatches;
	}

	printf("\n");
	printf("dealdesk scale bench: standard quote, in-process dd_quote on one thread; "
	       "%ld quotes per scenario (%ld rounds x %ld)\n",
	       rounds * iterations, rounds, iterations);
	printf("%-14s %10s %9s %8s %10s %9s %9s %9s %7s\n", "scenario", "promotions", "skus",
	       "load_s", "median_us", "p99_us", "mean_us", "first_ms", "errors");
	for (int i = 0; i < nsc; i++) {
		scenario *s = &sc[i];
		printf("%-14s %10ld %9ld %8.2f %10.1f %9.1f %9.1f %9.1f %7ld\n", s->name,
		       s->promotions, s->skus, s->load_s, s->median_us, s->p99_us, s->mean_us,
		       s->first_ms, s->errors + s->mismatches);
	}
	printf("(promotions: active ones, the demo's 6 included; skus: generated catalogue, the "
	       "cart's 5 on top;\n"
	       " load_s: store + policies + demo + catalogue + promotions; first_ms: dd_quoter_new "
	       "+ first quote,\n"
	       " which converts and indexes the promotions)\n");
	printf("\n");

	char r_promos[32], r_skus[32];
	format_ratio(r_promos, sizeof(r_promos), find_scenario(10000, 100000),
	             find_scenario(10, 100000));
	format_ratio(r_skus, sizeof(r_skus), find_scenario(10, 1000000), find_scenario(10, 1000));
	printf("scale ratios: promotions 10000/10 = %s, skus 1M/1k = %s\n", r_promos, r_skus);
	if (differ || errors > 0 || mismatches > 0) {
		printf("!!! bench_scale FAILED: %ld quote error(s), %ld differing quote(s)%s !!!\n",
		       errors, mismatches, differ ? ", the scenarios' quotes differ" : "");
		rc = 1;
	} else {
		rc = 0;
	}

out:
	for (int i = 0; i < nsc; i++) {
		close_scenario(i);
		free(sc[i].lat);
	}
	dd_arena_free(&arena);
	free(pb);
	free(gb);
	return rc;
}
