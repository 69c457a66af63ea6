/* bench_loadgen: a closed-loop gRPC load generator on the gRPC C core.
 *
 * N channels (each its own TCP connection: every channel gets a local
 * subchannel pool and a distinct channel arg, so gRPC cannot share one
 * subchannel between them) x M unary calls in flight per channel. Channels
 * are dealt round-robin to T threads; each thread owns a completion queue
 * (next, never pluck) and the calls of its channels. A call is one batch of
 * six ops; when it completes its slot immediately starts the next call.
 *
 * Time runs in three phases from the moment every channel is READY:
 * warm-up (calls made, nothing recorded), the measured window (calls that
 * complete inside it are counted and their latency, creation to completion,
 * goes into a log-linear histogram with ~0.1% precision), then drain (no
 * new calls; the ones in flight finish). Every call's status is checked in
 * every phase: any non-OK status, failed batch or missing response message
 * is an error, reported on stderr, and makes the exit status 1.
 *
 * With --rate R the loop is open instead (paced): calls are started on a
 * schedule, R per second over all channels, each thread taking its
 * channels' share and dealing its sends round-robin over them; the N x M
 * slots are then only the most that can be in flight. A send that finds
 * every slot busy waits for the next free one (the schedule catches up), but
 * never by more than MAX_LAG_NS: sends further behind are dropped from the
 * schedule and counted as missed. --check-all decodes and checks every OK
 * response, not only the first (a wrong one counts as an error), and
 * --progress S prints a PROGRESS line every S seconds, for long runs.
 *
 * Output: a human summary (or --csv) and always, last on stdout,
 *   RESULT method=... calls=... errors=... rps=... p50_us=... p99_us=... p999_us=...
 */
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "workload.h"
#include "dealdesk/v1/orders.pb-c.h"

/* ---- options --------------------------------------------------------------- */

enum request_kind { KIND_NONE, KIND_QUOTE, KIND_HEALTH, KIND_COMMIT };
#define BENCH_COMMIT_METHOD "/dealdesk.v1.OrderService/Commit"

typedef struct options {
	const char *target;
	const char *method;
	const char *request_file;
	const char *health_service;
	const char *commit_customer;
	enum request_kind kind;
	int connections;
	int inflight;
	int threads;
	double duration_s;
	double warmup_s;
	int deadline_ms;
	int connect_timeout_ms;
	int csv;
	int quiet;
	double rate;       /* calls/s over all channels; 0 = closed loop */
	int check_all;     /* decode and check every OK response */
	double progress_s; /* PROGRESS line interval; 0 = none */
	const char *token; /* sent as authorization: Bearer <token> */
} options;

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: bench_loadgen [options]\n"
	        "  --target ADDR            server address (127.0.0.1:50051)\n"
	        "  --kind quote|health      built-in request: the standard quote or a health\n"
	        "                           check; also picks the method (quote)\n"
	        "  --method PATH            method path, e.g. /dealdesk.v1.QuoteService/Quote\n"
	        "  --request-file FILE      send FILE's bytes (a serialized request) instead\n"
	        "  --health-service NAME    service asked by --kind health (\"\")\n"
	        "  --kind commit            OrderService/Commit of the standard cart, a new\n"
	        "                           order id per call (<pid>-<thread>-<n>)\n"
	        "  --commit-customer ID     the customer of --kind commit (cashonly)\n"
	        "  --connections N          channels, one TCP connection each (4)\n"
	        "  --inflight M             calls in flight per connection (4)\n"
	        "  --threads T              client threads, one completion queue each (1)\n"
	        "  --duration SECONDS       measured window (10)\n"
	        "  --warmup SECONDS         unrecorded load before it (2)\n"
	        "  --deadline-ms MS         per-call deadline (10000)\n"
	        "  --token TOKEN            bearer token sent with every call ($DEALDESK_TOKEN)\n"
	        "  --connect-timeout-ms MS  time for every channel to become READY (10000)\n"
	        "  --rate RPS               paced (open loop): start RPS calls/s in all, dealt\n"
	        "                           round-robin over the connections; connections x\n"
	        "                           inflight is then the most in flight (0 = closed loop)\n"
	        "  --check-all              decode and check every OK response (a wrong one is\n"
	        "                           an error), not only the first\n"
	        "  --progress SECONDS       print a PROGRESS line every SECONDS (0 = none)\n"
	        "  --csv                    print a CSV header and row instead of the summary\n"
	        "  --quiet                  print only the RESULT line\n"
	        "Exit status: 0 all calls OK, 1 some call failed, 2 usage or setup error.\n");
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = (int)v;
	return 0;
}

static int parse_seconds(const char *s, double *out)
{
	char *end;
	double v = strtod(s, &end);
	if (*s == '\0' || *end != '\0' || !(v >= 0) || v > 86400)
		return -1;
	*out = v;
	return 0;
}

static int parse_options(int argc, char **argv, options *o)
{
	enum { O_TARGET = 1, O_KIND, O_METHOD, O_FILE, O_HSERVICE, O_CONN, O_INFL,
	       O_THREADS, O_DUR, O_WARM, O_DEADLINE, O_CTIMEOUT, O_CSV, O_QUIET, O_HELP,
	       O_RATE, O_CHECK_ALL, O_PROGRESS, O_TOKEN, O_CCUST };
	static const struct option longopts[] = {
		{ "target", required_argument, NULL, O_TARGET },
		{ "kind", required_argument, NULL, O_KIND },
		{ "method", required_argument, NULL, O_METHOD },
		{ "request-file", required_argument, NULL, O_FILE },
		{ "health-service", required_argument, NULL, O_HSERVICE },
		{ "commit-customer", required_argument, NULL, O_CCUST },
		{ "connections", required_argument, NULL, O_CONN },
		{ "inflight", required_argument, NULL, O_INFL },
		{ "threads", required_argument, NULL, O_THREADS },
		{ "duration", required_argument, NULL, O_DUR },
		{ "warmup", required_argument, NULL, O_WARM },
		{ "deadline-ms", required_argument, NULL, O_DEADLINE },
		{ "connect-timeout-ms", required_argument, NULL, O_CTIMEOUT },
		{ "csv", no_argument, NULL, O_CSV },
		{ "quiet", no_argument, NULL, O_QUIET },
		{ "rate", required_argument, NULL, O_RATE },
		{ "check-all", no_argument, NULL, O_CHECK_ALL },
		{ "progress", required_argument, NULL, O_PROGRESS },
		{ "token", required_argument, NULL, O_TOKEN },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	memset(o, 0, sizeof(*o));
	o->target = "127.0.0.1:50051";
	o->health_service = "";
	o->commit_customer = "cashonly";
	o->connections = 4;
	o->inflight = 4;
	o->threads = 1;
	o->duration_s = 10;
	o->warmup_s = 2;
	o->deadline_ms = 10000;
	o->connect_timeout_ms = 10000;
	o->token = getenv("DEALDESK_TOKEN");
	int c, bad = 0;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case O_TARGET: o->target = optarg; break;
		case O_KIND:
			if (!strcmp(optarg, "quote"))
				o->kind = KIND_QUOTE;
			else if (!strcmp(optarg, "health") || !strcmp(optarg, "check"))
				o->kind = KIND_HEALTH;
			else if (!strcmp(optarg, "commit"))
				o->kind = KIND_COMMIT;
			else {
				fprintf(stderr, "bench_loadgen: --kind must be quote, health or commit\n");
				bad = 1;
			}
			break;
		case O_METHOD: o->method = optarg; break;
		case O_FILE: o->request_file = optarg; break;
		case O_HSERVICE: o->health_service = optarg; break;
		case O_CCUST: o->commit_customer = optarg; break;
		case O_CONN: bad |= parse_int(optarg, 1, 1024, &o->connections) != 0; break;
		case O_INFL: bad |= parse_int(optarg, 1, 4096, &o->inflight) != 0; break;
		case O_THREADS: bad |= parse_int(optarg, 1, 256, &o->threads) != 0; break;
		case O_DUR: bad |= parse_seconds(optarg, &o->duration_s) != 0; break;
		case O_WARM: bad |= parse_seconds(optarg, &o->warmup_s) != 0; break;
		case O_DEADLINE: bad |= parse_int(optarg, 1, 3600000, &o->deadline_ms) != 0; break;
		case O_CTIMEOUT:
			bad |= parse_int(optarg, 1, 3600000, &o->connect_timeout_ms) != 0;
			break;
		case O_CSV: o->csv = 1; break;
		case O_TOKEN: o->token = optarg; break;
		case O_QUIET: o->quiet = 1; break;
		case O_RATE: {
			char *end;
			o->rate = strtod(optarg, &end);
			if (*optarg == '\0' || *end != '\0' || !(o->rate >= 0) || o->rate > 1e7)
				bad = 1;
			break;
		}
		case O_CHECK_ALL: o->check_all = 1; break;
		case O_PROGRESS: bad |= parse_seconds(optarg, &o->progress_s) != 0; break;
		case 'h':
		case O_HELP: usage(stdout); exit(0);
		default: bad = 1;
		}
	}
	if (bad || optind != argc) {
		fprintf(stderr, "bench_loadgen: bad arguments\n");
		usage(stderr);
		return -1;
	}
	if (o->kind == KIND_NONE && o->request_file == NULL)
		o->kind = KIND_QUOTE;
	if (o->method == NULL) {
		if (o->kind == KIND_NONE) {
			fprintf(stderr, "bench_loadgen: --request-file needs --method or --kind\n");
			return -1;
		}
		o->method = o->kind == KIND_QUOTE ? BENCH_QUOTE_METHOD
		            : o->kind == KIND_COMMIT ? BENCH_COMMIT_METHOD : BENCH_HEALTH_METHOD;
	}
	if (o->duration_s <= 0) {
		fprintf(stderr, "bench_loadgen: --duration must be > 0\n");
		return -1;
	}
	if (o->threads > o->connections)
		o->threads = o->connections; /* a thread without a channel would idle */
	return 0;
}

static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	size_t cap = 4096, n = 0;
	uint8_t *buf = malloc(cap);
	while (buf != NULL) {
		n += fread(buf + n, 1, cap - n, f);
		if (n < cap)
			break;
		uint8_t *bigger = realloc(buf, cap * 2);
		if (bigger == NULL) {
			free(buf);
			buf = NULL;
			break;
		}
		buf = bigger;
		cap *= 2;
	}
	if (buf != NULL && ferror(f)) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	*len = n;
	return buf;
}

/* ---- latency histogram ------------------------------------------------------- */

/* Log-linear buckets over nanoseconds, HdrHistogram's layout: values below
 * 2048 are exact; above, each power of two is split into 1024 equal
 * sub-buckets, so a value is known to within 1/1024 (~0.1%). Values up to
 * 2^36 ns (68 s) are kept; larger ones are clamped (calls have deadlines). */
#define HIST_SUB_BITS 10
#define HIST_SUB (1u << HIST_SUB_BITS)
#define HIST_MAX_BITS 36
#define HIST_BUCKETS ((HIST_MAX_BITS - HIST_SUB_BITS) * HIST_SUB + HIST_SUB)

typedef struct histogram {
	uint64_t count;
	uint64_t sum_ns;
	uint64_t max_ns;
	uint64_t bucket[HIST_BUCKETS];
} histogram;

static unsigned hist_index(uint64_t v)
{
	if (v >= (UINT64_C(1) << HIST_MAX_BITS))
		v = (UINT64_C(1) << HIST_MAX_BITS) - 1;
	if (v < 2 * HIST_SUB)
		return (unsigned)v;
	unsigned msb = 63u - (unsigned)__builtin_clzll(v);
	unsigned shift = msb - HIST_SUB_BITS;
	return shift * HIST_SUB + (unsigned)(v >> shift);
}

/* The middle of bucket idx's value range. */
static double hist_value(unsigned idx)
{
	if (idx < 2 * HIST_SUB)
		return idx;
	unsigned shift = idx / HIST_SUB - 1;
	uint64_t low = (uint64_t)(idx - shift * HIST_SUB) << shift;
	return (double)low + (double)(UINT64_C(1) << shift) / 2.0;
}

static void hist_record(histogram *h, uint64_t ns)
{
	h->bucket[hist_index(ns)]++;
	h->count++;
	h->sum_ns += ns;
	if (ns > h->max_ns)
		h->max_ns = ns;
}

static void hist_merge(histogram *into, const histogram *h)
{
	for (unsigned i = 0; i < HIST_BUCKETS; i++)
		into->bucket[i] += h->bucket[i];
	into->count += h->count;
	into->sum_ns += h->sum_ns;
	if (h->max_ns > into->max_ns)
		into->max_ns = h->max_ns;
}

/* The value at percentile p (0..100) in microseconds; 0 when empty. */
static double hist_percentile_us(const histogram *h, double p)
{
	if (h->count == 0)
		return 0;
	/* nearest rank, rounded up (no libm: the benches link only the project) */
	double exact = p / 100.0 * (double)h->count;
	uint64_t rank = (uint64_t)exact;
	if ((double)rank < exact)
		rank++;
	if (rank < 1)
		rank = 1;
	uint64_t seen = 0;
	for (unsigned i = 0; i < HIST_BUCKETS; i++) {
		seen += h->bucket[i];
		if (seen >= rank) {
			double v = hist_value(i);
			if (v > (double)h->max_ns)
				v = (double)h->max_ns;
			return v / 1000.0;
		}
	}
	return (double)h->max_ns / 1000.0;
}

/* ---- the load -------------------------------------------------------------------- */

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

#define STATUS_CODES 17 /* OK .. UNAUTHENTICATED */
#define ERR_OTHER STATUS_CODES /* batch failure, missing message, bad response */

static const char *status_name(int s)
{
	static const char *const names[] = {
		"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
		"NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
		"FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
		"INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
		"CLIENT_SIDE_FAILURE",
	};
	return s >= 0 && s <= ERR_OTHER ? names[s] : "?";
}

/* With --rate, how far the schedule may fall behind (every slot busy) before
 * the sends further back are dropped (counted as missed) instead of being
 * sent in a burst once slots free up. */
#define MAX_LAG_NS INT64_C(100000000)

typedef struct run {
	const options *opt;
	grpc_channel **channels;
	void **handles; /* registered call handle per channel */
	int64_t t_measure; /* end of warm-up */
	int64_t t_end;     /* end of the measured window */
} run;

typedef struct worker worker;

/* One call in flight; reused for the next call when it completes. */
typedef struct slot {
	worker *w;
	int channel;
	grpc_call *call;
	int64_t start_ns;
	grpc_byte_buffer *send;
	grpc_metadata_array initial_md;
	grpc_metadata_array trailing_md;
	grpc_byte_buffer *recv;
	grpc_status_code status;
	grpc_slice details;
	const char *error_string;
	int busy; /* a call is in flight */
} slot;

struct worker {
	const run *r;
	pthread_t thread;
	grpc_completion_queue *cq;
	grpc_slice payload; /* this thread's copy of the request bytes */
	grpc_metadata auth_md; /* authorization, when --token; key empty otherwise */
	char *auth_value;
	int index;          /* --kind commit: order ids <pid>-<index>-<seq> */
	uint64_t seq;
	slot *slots;
	size_t nslots;
	size_t outstanding;
	uint64_t calls;  /* OK calls completed in the measured window */
	uint64_t total;  /* calls completed in any phase */
	uint64_t errors; /* failed calls in any phase */
	uint64_t errors_by_code[STATUS_CODES + 1];
	char first_error[512];
	int want_sample;       /* keep the first OK response for verification */
	uint8_t *sample;       /* its bytes (malloc) */
	size_t sample_len;
	histogram hist;
	char why[400];         /* scratch for check_response */
	/* --rate: this thread's share of the schedule */
	double interval_ns;    /* between two sends; 0 = closed loop */
	double next_send_ns;   /* when the next send is due (mono_ns) */
	size_t next_slot;      /* where the search for a free slot starts */
	uint64_t missed;       /* sends dropped from the schedule (MAX_LAG_NS) */
	/* --check-all */
	uint64_t wrong;        /* OK responses that failed the check */
	int have_ref;          /* ref_* hold the first checked quote's figures */
	int64_t ref_subtotal, ref_discount, ref_total;
	size_t ref_lines;
	int ref_credit, ref_compliance;
	/* for --progress, read by the main thread */
	atomic_uint_fast64_t pub_total, pub_ok, pub_errors;
	atomic_int finished;
};

static void note_error(worker *w, int code, const char *what)
{
	w->errors++;
	w->errors_by_code[code <= ERR_OTHER && code >= 0 ? code : ERR_OTHER]++;
	if (w->first_error[0] == '\0')
		snprintf(w->first_error, sizeof(w->first_error), "%s: %s", status_name(code),
		         what);
}

static int start_call(slot *s)
{
	worker *w = s->w;
	const run *r = w->r;
	gpr_timespec deadline = gpr_time_add(
		gpr_now(GPR_CLOCK_MONOTONIC),
		gpr_time_from_millis(r->opt->deadline_ms, GPR_TIMESPAN));
	s->start_ns = mono_ns();
	s->call = grpc_channel_create_registered_call(r->channels[s->channel], NULL,
	                                              GRPC_PROPAGATE_DEFAULTS, w->cq,
	                                              r->handles[s->channel], deadline, NULL);
	if (s->call == NULL) {
		note_error(w, ERR_OTHER, "grpc_channel_create_registered_call returned NULL");
		return -1;
	}
	if (r->opt->kind == KIND_COMMIT) {
		/* a new order id per call: every commit is a new order */
		bench_quote_request q;
		bench_quote_request_init(&q);
		q.req.customer_id = (char *)r->opt->commit_customer;
		char id[64];
		snprintf(id, sizeof(id), "%d-%d-%" PRIu64, (int)getpid(), w->index, w->seq++);
		Dealdesk__V1__CommitRequest c = DEALDESK__V1__COMMIT_REQUEST__INIT;
		c.order_id = id;
		c.request = &q.req;
		uint8_t buf[1024];
		size_t len = dealdesk__v1__commit_request__pack(&c, buf);
		grpc_slice one = grpc_slice_from_copied_buffer((const char *)buf, len);
		s->send = grpc_raw_byte_buffer_create(&one, 1);
		grpc_slice_unref(one);
	} else {
		s->send = grpc_raw_byte_buffer_create(&w->payload, 1);
	}
	s->recv = NULL;
	s->status = GRPC_STATUS_UNKNOWN;
	s->details = grpc_empty_slice();
	s->error_string = NULL;

	grpc_op ops[6];
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	if (w->auth_value != NULL) {
		ops[0].data.send_initial_metadata.count = 1;
		ops[0].data.send_initial_metadata.metadata = &w->auth_md;
	}
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = s->send;
	ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[3].data.recv_initial_metadata.recv_initial_metadata = &s->initial_md;
	ops[4].op = GRPC_OP_RECV_MESSAGE;
	ops[4].data.recv_message.recv_message = &s->recv;
	ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	ops[5].data.recv_status_on_client.trailing_metadata = &s->trailing_md;
	ops[5].data.recv_status_on_client.status = &s->status;
	ops[5].data.recv_status_on_client.status_details = &s->details;
	ops[5].data.recv_status_on_client.error_string = &s->error_string;
	grpc_call_error e = grpc_call_start_batch(s->call, ops, 6, s, NULL);
	if (e != GRPC_CALL_OK) {
		char what[64];
		snprintf(what, sizeof(what), "grpc_call_start_batch failed (%d)", (int)e);
		note_error(w, ERR_OTHER, what);
		grpc_byte_buffer_destroy(s->send);
		grpc_call_unref(s->call);
		s->call = NULL;
		return -1;
	}
	w->outstanding++;
	s->busy = 1;
	return 0;
}

static void keep_sample(worker *w, grpc_byte_buffer *bb)
{
	grpc_byte_buffer_reader reader;
	if (!grpc_byte_buffer_reader_init(&reader, bb))
		return;
	grpc_slice all = grpc_byte_buffer_reader_readall(&reader);
	grpc_byte_buffer_reader_destroy(&reader);
	w->sample_len = GRPC_SLICE_LENGTH(all);
	w->sample = malloc(w->sample_len ? w->sample_len : 1);
	if (w->sample != NULL) {
		memcpy(w->sample, GRPC_SLICE_START_PTR(all), w->sample_len);
		w->want_sample = 0;
	}
	grpc_slice_unref(all);
}

static int verify_sample(const options *o, const uint8_t *buf, size_t len, char *why,
                         size_t whylen);

/* --check-all: the response must pass verify_sample and, for a quote, give
 * the same lines, amounts, credit outcome and compliance status as this
 * thread's first one (the standard request is the same decision every time:
 * a policy that ran out of its time budget shows as a different outcome). */
static int check_response(worker *w, grpc_byte_buffer *bb, char *why, size_t whylen)
{
	const options *o = w->r->opt;
	grpc_byte_buffer_reader reader;
	if (!grpc_byte_buffer_reader_init(&reader, bb)) {
		snprintf(why, whylen, "cannot read the response");
		return -1;
	}
	grpc_slice all = grpc_byte_buffer_reader_readall(&reader);
	grpc_byte_buffer_reader_destroy(&reader);
	const uint8_t *buf = GRPC_SLICE_START_PTR(all);
	size_t len = GRPC_SLICE_LENGTH(all);
	int rc = verify_sample(o, buf, len, why, whylen);
	if (rc == 0 && o->kind == KIND_QUOTE) {
		Dealdesk__V1__QuoteResponse *q = dealdesk__v1__quote_response__unpack(NULL, len, buf);
		if (q == NULL) {
			rc = -1;
		} else {
			int credit = q->credit ? (int)q->credit->outcome : -1;
			int compliance = (int)q->compliance_status;
			if (!w->have_ref) {
				w->have_ref = 1;
				w->ref_lines = q->n_lines;
				w->ref_subtotal = q->subtotal;
				w->ref_discount = q->discount_total;
				w->ref_total = q->total;
				w->ref_credit = credit;
				w->ref_compliance = compliance;
			} else if (q->n_lines != w->ref_lines || q->subtotal != w->ref_subtotal ||
			           q->discount_total != w->ref_discount || q->total != w->ref_total ||
			           credit != w->ref_credit || compliance != w->ref_compliance) {
				snprintf(why, whylen, "quote differs from the first: %zu lines, subtotal %"
				         PRId64 ", discounts %" PRId64 ", total %" PRId64 ", credit %d, "
				         "compliance %d (first: %zu, %" PRId64 ", %" PRId64 ", %" PRId64
				         ", %d, %d)", q->n_lines, q->subtotal, q->discount_total, q->total,
				         credit, compliance, w->ref_lines, w->ref_subtotal, w->ref_discount,
				         w->ref_total, w->ref_credit, w->ref_compliance);
				rc = -1;
			}
		}
		if (q != NULL)
			dealdesk__v1__quote_response__free_unpacked(q, NULL);
	}
	grpc_slice_unref(all);
	return rc;
}

static void finish_call(slot *s, int success, int64_t now)
{
	worker *w = s->w;
	const run *r = w->r;
	w->outstanding--;
	w->total++;
	if (!success) {
		note_error(w, ERR_OTHER, "the call's batch failed");
	} else if (s->status != GRPC_STATUS_OK) {
		char *details = grpc_slice_to_c_string(s->details);
		char what[400];
		/* the details say it; gRPC's own error string only when they are empty */
		snprintf(what, sizeof(what), "%s", details[0] || s->error_string == NULL
		                                           ? details : s->error_string);
		note_error(w, (int)s->status, what);
		gpr_free(details);
	} else if (s->recv == NULL) {
		note_error(w, ERR_OTHER, "status OK but no response message");
	} else if (r->opt->check_all && check_response(w, s->recv, w->why, sizeof(w->why)) != 0) {
		w->wrong++;
		note_error(w, ERR_OTHER, w->why);
	} else {
		atomic_store_explicit(&w->pub_ok, atomic_load_explicit(&w->pub_ok, memory_order_relaxed) + 1,
		                      memory_order_relaxed);
		if (now >= r->t_measure && now < r->t_end) {
			w->calls++;
			hist_record(&w->hist, (uint64_t)(now - s->start_ns));
		}
		if (w->want_sample)
			keep_sample(w, s->recv);
	}
	grpc_byte_buffer_destroy(s->send);
	if (s->recv != NULL)
		grpc_byte_buffer_destroy(s->recv);
	grpc_metadata_array_destroy(&s->initial_md);
	grpc_metadata_array_destroy(&s->trailing_md);
	grpc_metadata_array_init(&s->initial_md);
	grpc_metadata_array_init(&s->trailing_md);
	grpc_slice_unref(s->details);
	gpr_free((void *)s->error_string);
	grpc_call_unref(s->call);
	s->call = NULL;
	s->busy = 0;
	atomic_store_explicit(&w->pub_total, w->total, memory_order_relaxed);
	atomic_store_explicit(&w->pub_errors, w->errors, memory_order_relaxed);
}

/* --rate: the next free slot, searching on from the last one used (slots
 * are laid out so that neighbours are on different channels); NULL when
 * all are busy. */
static slot *free_slot(worker *w)
{
	for (size_t k = 0; k < w->nslots; k++) {
		size_t i = (w->next_slot + k) % w->nslots;
		if (!w->slots[i].busy) {
			w->next_slot = i + 1;
			return &w->slots[i];
		}
	}
	return NULL;
}

/* --rate: starts every send that is due by now. Returns the time of the
 * next one, or 0 when the schedule waits for a free slot (or is over). */
static int64_t paced_sends(worker *w, int64_t now)
{
	if (now >= w->r->t_end)
		return 0;
	if (w->next_send_ns < (double)(now - MAX_LAG_NS)) {
		double behind = (double)(now - MAX_LAG_NS) - w->next_send_ns;
		uint64_t skip = (uint64_t)(behind / w->interval_ns) + 1;
		w->missed += skip;
		w->next_send_ns += (double)skip * w->interval_ns;
	}
	while (w->next_send_ns <= (double)now && w->next_send_ns < (double)w->r->t_end) {
		slot *s = free_slot(w);
		if (s == NULL)
			return 0;
		start_call(s); /* a failure is counted; the slot stays free */
		w->next_send_ns += w->interval_ns;
	}
	return w->next_send_ns < (double)w->r->t_end ? (int64_t)w->next_send_ns : 0;
}

static void *worker_main(void *arg)
{
	worker *w = arg;
	const int64_t idle_ns = 200 * INT64_C(1000000);
	if (w->interval_ns > 0)
		w->next_send_ns = (double)mono_ns();
	else
		for (size_t i = 0; i < w->nslots; i++)
			start_call(&w->slots[i]);
	for (;;) {
		int64_t now = mono_ns();
		int64_t due = 0;
		if (w->interval_ns > 0) {
			due = paced_sends(w, now);
			if (due == 0 && w->outstanding == 0 && now >= w->r->t_end)
				break;
		} else if (w->outstanding == 0) {
			break;
		}
		int64_t wait_ns = due > 0 ? due - now : idle_ns;
		if (wait_ns > idle_ns)
			wait_ns = idle_ns;
		if (wait_ns < 0)
			wait_ns = 0;
		grpc_event ev = grpc_completion_queue_next(
			w->cq,
			gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
			             gpr_time_from_nanos(wait_ns, GPR_TIMESPAN)),
			NULL);
		if (ev.type == GRPC_QUEUE_TIMEOUT)
			continue;
		if (ev.type != GRPC_OP_COMPLETE)
			break; /* cannot happen: the queue is shut down only after */
		slot *s = ev.tag;
		now = mono_ns();
		finish_call(s, ev.success, now);
		if (w->interval_ns == 0 && now < w->r->t_end)
			start_call(s);
	}
	atomic_store(&w->finished, 1);
	return NULL;
}

/* Waits until every channel is READY (connecting them all at once). */
static int connect_channels(const run *r)
{
	const options *o = r->opt;
	grpc_completion_queue *cq = grpc_completion_queue_create_for_next(NULL);
	gpr_timespec deadline = gpr_time_add(
		gpr_now(GPR_CLOCK_MONOTONIC),
		gpr_time_from_millis(o->connect_timeout_ms, GPR_TIMESPAN));
	int ok = 1;
	for (int i = 0; i < o->connections; i++)
		grpc_channel_check_connectivity_state(r->channels[i], 1);
	for (int i = 0; i < o->connections && ok; i++) {
		grpc_connectivity_state st;
		while ((st = grpc_channel_check_connectivity_state(r->channels[i], 1)) !=
		       GRPC_CHANNEL_READY) {
			if (st == GRPC_CHANNEL_SHUTDOWN) {
				ok = 0;
				break;
			}
			grpc_channel_watch_connectivity_state(r->channels[i], st, deadline, cq, NULL);
			grpc_event ev = grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_MONOTONIC),
			                                           NULL);
			if (!ev.success) { /* the deadline passed */
				ok = 0;
				break;
			}
		}
		if (!ok)
			fprintf(stderr, "bench_loadgen: connection %d to %s is not READY after %d ms\n",
			        i, o->target, o->connect_timeout_ms);
	}
	grpc_completion_queue_shutdown(cq);
	while (grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL).type !=
	       GRPC_QUEUE_SHUTDOWN)
		;
	grpc_completion_queue_destroy(cq);
	return ok ? 0 : -1;
}

/* ---- checking a response ----------------------------------------------------------- */

/* The first OK response of a built-in kind must be the expected answer, so a
 * server that answers fast but wrongly does not pass as a fast server. */
static int verify_sample(const options *o, const uint8_t *buf, size_t len, char *why,
                         size_t whylen)
{
	if (o->kind == KIND_QUOTE) {
		Dealdesk__V1__QuoteResponse *q = dealdesk__v1__quote_response__unpack(NULL, len, buf);
		if (q == NULL) {
			snprintf(why, whylen, "the quote response does not decode");
			return -1;
		}
		int ok = q->n_lines == BENCH_QUOTE_LINES && q->total > 0;
		snprintf(why, whylen, "quote: %zu lines, subtotal %" PRId64 ", discounts %" PRId64
		         ", total %" PRId64 " %s, credit outcome %d, compliance status %d",
		         q->n_lines, q->subtotal, q->discount_total, q->total, q->currency,
		         q->credit ? (int)q->credit->outcome : -1, (int)q->compliance_status);
		dealdesk__v1__quote_response__free_unpacked(q, NULL);
		return ok ? 0 : -1;
	}
	if (o->kind == KIND_HEALTH) {
		Grpc__Health__V1__HealthCheckResponse *h =
			grpc__health__v1__health_check_response__unpack(NULL, len, buf);
		if (h == NULL) {
			snprintf(why, whylen, "the health response does not decode");
			return -1;
		}
		int ok = h->status == GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
		snprintf(why, whylen, "health: status %d", (int)h->status);
		grpc__health__v1__health_check_response__free_unpacked(h, NULL);
		return ok ? 0 : -1;
	}
	if (o->kind == KIND_COMMIT) {
		Dealdesk__V1__Order *d = dealdesk__v1__order__unpack(NULL, len, buf);
		if (d == NULL) {
			snprintf(why, whylen, "the order does not decode");
			return -1;
		}
		int ok = d->total > 0 && d->quote && d->quote->n_lines == BENCH_QUOTE_LINES;
		snprintf(why, whylen, "order %s: total %" PRId64 ", state %d", d->order_id, d->total,
		         (int)d->state);
		dealdesk__v1__order__free_unpacked(d, NULL);
		return ok ? 0 : -1;
	}
	snprintf(why, whylen, "not checked (request from a file)");
	return 0;
}

/* ---- progress ---------------------------------------------------------------------------- */

/* --progress: until every worker has finished, every interval a line
 *   PROGRESS t_s=60.0 completed=... ok=... errors=... rps=...
 * t_s since the load started (warm-up included), counts cumulative over all
 * phases, rps = OK calls per second since the previous line. Flushed, for
 * a reader on a pipe. */
static void print_progress(worker *workers, int nthreads, int64_t t0, int64_t interval_ns)
{
	int64_t next = t0 + interval_ns, last_t = t0;
	uint64_t last_ok = 0;
	for (;;) {
		int running = 0;
		for (int t = 0; t < nthreads; t++)
			running += !atomic_load(&workers[t].finished);
		if (!running)
			return;
		int64_t now = mono_ns();
		if (now < next) {
			int64_t d = next - now;
			if (d > 50000000)
				d = 50000000; /* look at `finished` now and then */
			struct timespec ts = { (time_t)(d / 1000000000), (long)(d % 1000000000) };
			nanosleep(&ts, NULL);
			continue;
		}
		uint64_t total = 0, ok = 0, errors = 0;
		for (int t = 0; t < nthreads; t++) {
			total += atomic_load_explicit(&workers[t].pub_total, memory_order_relaxed);
			ok += atomic_load_explicit(&workers[t].pub_ok, memory_order_relaxed);
			errors += atomic_load_explicit(&workers[t].pub_errors, memory_order_relaxed);
		}
		double dt = (double)(now - last_t) / 1e9;
		printf("PROGRESS t_s=%.1f completed=%" PRIu64 " ok=%" PRIu64 " errors=%" PRIu64
		       " rps=%.1f\n", (double)(now - t0) / 1e9, total, ok, errors,
		       dt > 0 ? (double)(ok - last_ok) / dt : 0);
		fflush(stdout);
		last_t = now;
		last_ok = ok;
		while (next <= now)
			next += interval_ns;
	}
}

/* ---- main ------------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
	options o;
	if (parse_options(argc, argv, &o) != 0)
		return 2;

	size_t req_len = 0;
	uint8_t *req;
	if (o.request_file != NULL)
		req = read_file(o.request_file, &req_len);
	else if (o.kind == KIND_QUOTE || o.kind == KIND_COMMIT)
		req = bench_quote_request_pack(&req_len); /* commit builds its own per call */
	else
		req = bench_health_request_pack(o.health_service, &req_len);
	if (req == NULL) {
		fprintf(stderr, "bench_loadgen: cannot %s the request\n",
		        o.request_file ? "read" : "build");
		return 2;
	}

	grpc_init();
	run r;
	memset(&r, 0, sizeof(r));
	r.opt = &o;
	r.channels = calloc((size_t)o.connections, sizeof(*r.channels));
	r.handles = calloc((size_t)o.connections, sizeof(*r.handles));
	worker *workers = calloc((size_t)o.threads, sizeof(*workers));
	histogram *total_hist = calloc(1, sizeof(*total_hist));
	if (!r.channels || !r.handles || !workers || !total_hist) {
		fprintf(stderr, "bench_loadgen: out of memory\n");
		return 2;
	}
	grpc_channel_credentials *creds = grpc_insecure_credentials_create();
	for (int i = 0; i < o.connections; i++) {
		/* A local subchannel pool stops channels with equal args from sharing
		 * a subchannel (one TCP connection); the index makes the args differ
		 * as well. */
		grpc_arg args[2];
		args[0].type = GRPC_ARG_INTEGER;
		args[0].key = (char *)GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL;
		args[0].value.integer = 1;
		args[1].type = GRPC_ARG_INTEGER;
		args[1].key = (char *)"dealdesk.bench.channel_index";
		args[1].value.integer = i;
		grpc_channel_args chargs = { 2, args };
		r.channels[i] = grpc_channel_create(o.target, creds, &chargs);
		r.handles[i] = grpc_channel_register_call(r.channels[i], o.method, NULL, NULL);
	}
	grpc_channel_credentials_release(creds);

	int rc = 0;
	if (connect_channels(&r) != 0) {
		rc = 2;
		goto out;
	}

	for (int t = 0; t < o.threads; t++) {
		worker *w = &workers[t];
		w->r = &r;
		w->cq = grpc_completion_queue_create_for_next(NULL);
		w->payload = grpc_slice_from_copied_buffer((const char *)req, req_len);
		if (o.token != NULL && *o.token != '\0') {
			size_t n = strlen(o.token) + 8;
			w->auth_value = malloc(n);
			snprintf(w->auth_value, n, "Bearer %s", o.token);
			w->auth_md.key = grpc_slice_from_static_string("authorization");
			w->auth_md.value = grpc_slice_from_static_string(w->auth_value);
		}
		w->want_sample = t == 0;
		w->index = t;
		size_t nchan = 0;
		for (int c = t; c < o.connections; c += o.threads)
			nchan++;
		w->nslots = nchan * (size_t)o.inflight;
		w->slots = calloc(w->nslots, sizeof(slot));
		if (w->slots == NULL) {
			fprintf(stderr, "bench_loadgen: out of memory\n");
			return 2;
		}
		/* slot k is on the thread's channel k % nchan: neighbours are on
		 * different channels, which is what deals paced sends round-robin */
		size_t k = 0;
		for (int m = 0; m < o.inflight; m++)
			for (int c = t; c < o.connections; c += o.threads, k++) {
				slot *s = &w->slots[k];
				s->w = w;
				s->channel = c;
				grpc_metadata_array_init(&s->initial_md);
				grpc_metadata_array_init(&s->trailing_md);
			}
		/* this thread's share of the rate: its share of the channels */
		if (o.rate > 0)
			w->interval_ns = 1e9 / (o.rate * (double)nchan / (double)o.connections);
		atomic_init(&w->pub_total, 0);
		atomic_init(&w->pub_ok, 0);
		atomic_init(&w->pub_errors, 0);
		atomic_init(&w->finished, 0);
	}
	int64_t t0 = mono_ns();
	r.t_measure = t0 + (int64_t)(o.warmup_s * 1e9);
	r.t_end = r.t_measure + (int64_t)(o.duration_s * 1e9);
	for (int t = 0; t < o.threads; t++)
		pthread_create(&workers[t].thread, NULL, worker_main, &workers[t]);
	if (o.progress_s > 0)
		print_progress(workers, o.threads, t0, (int64_t)(o.progress_s * 1e9));

	uint64_t calls = 0, total = 0, errors = 0, by_code[STATUS_CODES + 1] = { 0 };
	uint64_t missed = 0, wrong = 0;
	const char *first_error = NULL;
	for (int t = 0; t < o.threads; t++) {
		worker *w = &workers[t];
		pthread_join(w->thread, NULL);
		calls += w->calls;
		total += w->total;
		errors += w->errors;
		missed += w->missed;
		wrong += w->wrong;
		for (int c = 0; c <= STATUS_CODES; c++)
			by_code[c] += w->errors_by_code[c];
		if (first_error == NULL && w->first_error[0])
			first_error = w->first_error;
		hist_merge(total_hist, &w->hist);
	}
	int64_t t_done = mono_ns();
	/* the client's CPU per completed call, gRPC's own threads included: how
	 * much of the shared cores the load generator itself took */
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double client_cpu_us = ((double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec) * 1e6 +
	                       (double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec;
	double client_us_per_call = total ? client_cpu_us / (double)total : 0;

	double rps = (double)calls / o.duration_s;
	double p50 = hist_percentile_us(total_hist, 50);
	double p90 = hist_percentile_us(total_hist, 90);
	double p99 = hist_percentile_us(total_hist, 99);
	double p999 = hist_percentile_us(total_hist, 99.9);
	double mean = total_hist->count ? (double)total_hist->sum_ns / (double)total_hist->count / 1000.0 : 0;
	double max = (double)total_hist->max_ns / 1000.0;

	char why[512] = "no OK response to check";
	int sample_ok = workers[0].sample != NULL &&
	                verify_sample(&o, workers[0].sample, workers[0].sample_len, why,
	                              sizeof(why)) == 0;

	if (o.csv) {
		printf("method,connections,inflight,threads,duration_s,calls,errors,rps,"
		       "p50_us,p90_us,p99_us,p999_us,mean_us,max_us,completed,client_cpu_us_per_call\n");
		printf("%s,%d,%d,%d,%.2f,%" PRIu64 ",%" PRIu64 ",%.1f,%.1f,%.1f,%.1f,%.1f,%.1f,%.1f,"
		       "%" PRIu64 ",%.1f\n",
		       o.method, o.connections, o.inflight, o.threads, o.duration_s, calls, errors,
		       rps, p50, p90, p99, p999, mean, max, total, client_us_per_call);
	} else if (!o.quiet) {
		printf("loadgen: %s on %s: %d connections x %d in flight, %d thread%s, "
		       "warm-up %.1f s, measured %.1f s (drain %.2f s)\n",
		       o.method, o.target, o.connections, o.inflight, o.threads,
		       o.threads == 1 ? "" : "s", o.warmup_s, o.duration_s,
		       (double)(t_done - r.t_end) / 1e9);
		printf("  calls       %" PRIu64 " OK in the window (%" PRIu64 " completed in all)\n",
		       calls, total);
		printf("  errors      %" PRIu64 "\n", errors);
		printf("  throughput  %.1f calls/s\n", rps);
		if (o.rate > 0)
			printf("  paced       target %.1f calls/s, %" PRIu64 " sends missed (schedule"
			       " more than %.0f ms behind)\n", o.rate, missed, (double)MAX_LAG_NS / 1e6);
		if (o.check_all)
			printf("  checked     every OK response: %" PRIu64 " wrong\n", wrong);
		printf("  latency us  p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  mean %.1f  max %.1f\n",
		       p50, p90, p99, p999, mean, max);
		printf("  client CPU  %.1f us per call (%" PRIu64 " calls, warm-up and drain included)\n",
		       client_us_per_call, total);
		printf("  response    %s\n", why);
	}
	if (errors > 0) {
		fprintf(stderr, "\n!!! bench_loadgen: %" PRIu64 " of %" PRIu64 " calls to %s FAILED !!!\n",
		        errors, total, o.method);
		for (int c = 0; c <= STATUS_CODES; c++)
			if (by_code[c])
				fprintf(stderr, "!!!   %-20s %" PRIu64 "\n", status_name(c), by_code[c]);
		fprintf(stderr, "!!!   first: %s\n", first_error ? first_error : "?");
		rc = 1;
	}
	if (!sample_ok && (errors == 0 || workers[0].sample != NULL)) {
		fprintf(stderr, "!!! bench_loadgen: unexpected response from %s: %s\n", o.method, why);
		rc = 1;
	}
	if (calls == 0 && rc == 0) {
		fprintf(stderr, "!!! bench_loadgen: no call completed in the measured window\n");
		rc = 1;
	}
	printf("RESULT method=%s connections=%d inflight=%d threads=%d duration_s=%.2f "
	       "calls=%" PRIu64 " errors=%" PRIu64 " rps=%.1f p50_us=%.1f p90_us=%.1f "
	       "p99_us=%.1f p999_us=%.1f mean_us=%.1f max_us=%.1f completed=%" PRIu64
	       " client_cpu_us_per_call=%.1f",
	       o.method, o.connections, o.inflight, o.threads, o.duration_s, calls, errors, rps,
	       p50, p90, p99, p999, mean, max, total, client_us_per_call);
	/* only with the options that make them mean something, so the default
	 * line stays as it always was */
	if (o.rate > 0)
		printf(" target_rps=%.1f missed=%" PRIu64, o.rate, missed);
	if (o.check_all)
		printf(" wrong=%" PRIu64, wrong);
	printf("\n");

	for (int t = 0; t < o.threads; t++) {
		worker *w = &workers[t];
		grpc_completion_queue_shutdown(w->cq);
		while (grpc_completion_queue_next(w->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL)
		               .type != GRPC_QUEUE_SHUTDOWN)
			;
		grpc_completion_queue_destroy(w->cq);
		for (size_t i = 0; i < w->nslots; i++) {
			grpc_metadata_array_destroy(&w->slots[i].initial_md);
			grpc_metadata_array_destroy(&w->slots[i].trailing_md);
		}
		grpc_slice_unref(w->payload);
		free(w->auth_value);
		free(w->slots);
		free(w->sample);
	}
out:
	for (int i = 0; i < o.connections; i++)
		if (r.channels[i] != NULL)
			grpc_channel_destroy(r.channels[i]);
	grpc_shutdown();
	free(r.channels);
	free(r.handles);
	free(workers);
	free(total_hist);
	free(req);
	return rc;
}
