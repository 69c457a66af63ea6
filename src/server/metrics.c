/* dealdeskd metrics: the counters and their Prometheus text (metrics.h). */
#include "metrics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dealdesk/model.h"
#include "dealdesk/v1/quote.pb-c.h"
#include "server.h"

#define NCODES 17
/* grpc_server_handling_seconds buckets, in microseconds */
static const int64_t bucket_us[] = { 100, 250, 500, 1000, 2500, 5000, 10000, 25000,
	                             50000, 100000, 250000, 500000, 1000000, 5000000 };
#define NBUCKETS (sizeof(bucket_us) / sizeof(bucket_us[0]))
#define NOUTCOMES 16
#define NSCRIPTS 64

typedef struct method_counters {
	atomic_uint_fast64_t started;
	atomic_uint_fast64_t handled[NCODES];
	atomic_uint_fast64_t bucket[NBUCKETS]; /* not cumulative: one per call */
	atomic_uint_fast64_t sum_us;
} method_counters;

typedef struct shard {
	method_counters *methods; /* nmethods + 1: the last is unregistered calls */
	atomic_uint_fast64_t credit[NOUTCOMES];
	atomic_uint_fast64_t compliance[NOUTCOMES];
	char pad[64];
} shard;

typedef struct script_failures {
	char script[48]; /* "pricing.v3" */
	uint64_t errors, budget;
} script_failures;

struct dd_metrics {
	unsigned nmethods, nshards;
	shard *shards;
	pthread_mutex_t lock; /* scripts */
	script_failures scripts[NSCRIPTS];
	unsigned nscripts;
};

int dd_metrics_new(dd_metrics **out, unsigned nmethods, unsigned nshards)
{
	dd_metrics *m = calloc(1, sizeof(*m));
	if (m == NULL)
		return DD_ENOMEM;
	m->nmethods = nmethods;
	m->nshards = nshards ? nshards : 1;
	m->shards = calloc(m->nshards, sizeof(shard));
	if (m->shards == NULL) {
		free(m);
		return DD_ENOMEM;
	}
	for (unsigned i = 0; i < m->nshards; i++) {
		m->shards[i].methods = calloc(nmethods + 1, sizeof(method_counters));
		if (m->shards[i].methods == NULL) {
			dd_metrics_free(m);
			return DD_ENOMEM;
		}
	}
	pthread_mutex_init(&m->lock, NULL);
	*out = m;
	return DD_OK;
}

void dd_metrics_free(dd_metrics *m)
{
	if (m == NULL)
		return;
	for (unsigned i = 0; i < m->nshards; i++)
		free(m->shards[i].methods);
	free(m->shards);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

static method_counters *counters(dd_metrics *m, unsigned shard_i, int method)
{
	shard *s = &m->shards[shard_i % m->nshards];
	unsigned i = method < 0 || (unsigned)method >= m->nmethods ? m->nmethods : (unsigned)method;
	return &s->methods[i];
}

#define BUMP(x, n) atomic_fetch_add_explicit(&(x), (n), memory_order_relaxed)

void dd_metrics_started(dd_metrics *m, unsigned shard_i, int method)
{
	BUMP(counters(m, shard_i, method)->started, 1);
}

void dd_metrics_handled(dd_metrics *m, unsigned shard_i, int method, grpc_status_code code,
                        int64_t us)
{
	method_counters *c = counters(m, shard_i, method);
	BUMP(c->handled[(unsigned)code < NCODES ? (unsigned)code : GRPC_STATUS_UNKNOWN], 1);
	size_t b = 0;
	while (b < NBUCKETS && us > bucket_us[b])
		b++;
	if (b < NBUCKETS)
		BUMP(c->bucket[b], 1);
	BUMP(c->sum_us, us > 0 ? (uint64_t)us : 0);
}

void dd_metrics_decision(dd_metrics *m, unsigned shard_i, int credit, int compliance)
{
	shard *s = &m->shards[shard_i % m->nshards];
	BUMP(s->credit[(unsigned)credit < NOUTCOMES ? (unsigned)credit : 0], 1);
	BUMP(s->compliance[(unsigned)compliance < NOUTCOMES ? (unsigned)compliance : 0], 1);
}

/* "pricing policy v3: ..." -> "pricing.v3"; "unknown" otherwise. */
static void script_of(const char *msg, char *out, size_t cap)
{
	const char *p = strstr(msg, " policy v");
	snprintf(out, cap, "unknown");
	if (p == NULL)
		return;
	const char *k = p;
	while (k > msg && k[-1] >= 'a' && k[-1] <= 'z')
		k--;
	const char *v = p + 9, *e = v;
	while (*e >= '0' && *e <= '9')
		e++;
	if (k == p || e == v || (size_t)(p - k) + (size_t)(e - v) + 3 > cap)
		return;
	snprintf(out, cap, "%.*s.v%.*s", (int)(p - k), k, (int)(e - v), v);
}

void dd_metrics_policy_failure(dd_metrics *m, int budget, const char *message)
{
	char script[48];
	script_of(message ? message : "", script, sizeof(script));
	pthread_mutex_lock(&m->lock);
	unsigned i = 0;
	while (i < m->nscripts && strcmp(m->scripts[i].script, script) != 0)
		i++;
	if (i == m->nscripts) {
		if (m->nscripts == NSCRIPTS) /* every later script counts in the last */
			i = NSCRIPTS - 1;
		else
			snprintf(m->scripts[m->nscripts++].script, sizeof(m->scripts[0].script), "%s",
			         script);
	}
	if (budget)
		m->scripts[i].budget++;
	else
		m->scripts[i].errors++;
	pthread_mutex_unlock(&m->lock);
}

/* ---- rendering ------------------------------------------------------------- */

typedef struct out_buf {
	char *data;
	size_t len, cap;
	int failed;
} out_buf;

__attribute__((format(printf, 2, 3))) static void put(out_buf *b, const char *fmt, ...)
{
	if (b->failed)
		return;
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = 1;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = b->cap * 2 + (size_t)n;
		char *d = realloc(b->data, cap);
		if (d == NULL) {
			b->failed = 1;
			return;
		}
		b->data = d;
		b->cap = cap;
	}
}

static const char *const code_names[NCODES] = {
	"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
	"ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
	"ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
	"UNAUTHENTICATED",
};

static uint64_t load(atomic_uint_fast64_t *x)
{
	return atomic_load_explicit(x, memory_order_relaxed);
}

/* grpc_service and grpc_method labels of method i ("unknown" for the
 * unregistered slot). */
static void method_labels(const dd_metrics *m, unsigned i, char *svc, size_t scap, char *meth,
                          size_t mcap)
{
	snprintf(svc, scap, "unknown");
	snprintf(meth, mcap, "unknown");
	if (i >= m->nmethods)
		return;
	const char *p = dd_methods[i].path + 1, *slash = strchr(p, '/');
	if (slash == NULL)
		return;
	snprintf(svc, scap, "%.*s", (int)(slash - p), p);
	snprintf(meth, mcap, "%s", slash + 1);
}

static const char *method_type(unsigned i, unsigned n)
{
	if (i >= n)
		return "unary";
	unsigned st = dd_methods[i].stream;
	return (st & DD_STREAM_CLIENT) && (st & DD_STREAM_SERVER) ? "bidi_stream"
	       : (st & DD_STREAM_CLIENT)                           ? "client_stream"
	       : (st & DD_STREAM_SERVER)                           ? "server_stream"
	                                                           : "unary";
}

static void render_grpc(dd_metrics *m, out_buf *b)
{
	unsigned n = m->nmethods + 1;
	char svc[128], meth[128];
	put(b, "# HELP grpc_server_started_total Total number of RPCs started on the server.\n"
	       "# TYPE grpc_server_started_total counter\n");
	for (unsigned i = 0; i < n; i++) {
		uint64_t v = 0;
		for (unsigned s = 0; s < m->nshards; s++)
			v += load(&m->shards[s].methods[i].started);
		method_labels(m, i, svc, sizeof(svc), meth, sizeof(meth));
		put(b, "grpc_server_started_total{grpc_type=\"%s\",grpc_service=\"%s\",grpc_method=\"%s\"} %llu\n",
		    method_type(i, m->nmethods), svc, meth, (unsigned long long)v);
	}
	put(b, "# HELP grpc_server_handled_total Total number of RPCs completed on the server, "
	       "regardless of success or failure.\n"
	       "# TYPE grpc_server_handled_total counter\n");
	for (unsigned i = 0; i < n; i++) {
		method_labels(m, i, svc, sizeof(svc), meth, sizeof(meth));
		for (unsigned c = 0; c < NCODES; c++) {
			uint64_t v = 0;
			for (unsigned s = 0; s < m->nshards; s++)
				v += load(&m->shards[s].methods[i].handled[c]);
			/* every method with OK, others when they happened */
			if (v == 0 && c != 0)
				continue;
			put(b, "grpc_server_handled_total{grpc_type=\"%s\",grpc_service=\"%s\",grpc_method=\"%s\",grpc_code=\"%s\"} %llu\n",
			    method_type(i, m->nmethods), svc, meth, code_names[c], (unsigned long long)v);
		}
	}
	put(b, "# HELP grpc_server_handling_seconds Histogram of response latency (seconds) of "
	       "gRPC that had been application-level handled by the server.\n"
	       "# TYPE grpc_server_handling_seconds histogram\n");
	for (unsigned i = 0; i < n; i++) {
		method_labels(m, i, svc, sizeof(svc), meth, sizeof(meth));
		uint64_t cum = 0, total = 0, sum = 0;
		for (unsigned c = 0; c < NCODES; c++)
			for (unsigned s = 0; s < m->nshards; s++)
				total += load(&m->shards[s].methods[i].handled[c]);
		for (unsigned s = 0; s < m->nshards; s++)
			sum += load(&m->shards[s].methods[i].sum_us);
		for (size_t k = 0; k < NBUCKETS; k++) {
			for (unsigned s = 0; s < m->nshards; s++)
				cum += load(&m->shards[s].methods[i].bucket[k]);
			put(b, "grpc_server_handling_seconds_bucket{grpc_type=\"%s\",grpc_service=\"%s\",grpc_method=\"%s\",le=\"%g\"} %llu\n",
			    method_type(i, m->nmethods), svc, meth, (double)bucket_us[k] / 1e6,
			    (unsigned long long)(cum < total ? cum : total));
		}
		put(b, "grpc_server_handling_seconds_bucket{grpc_type=\"%s\",grpc_service=\"%s\",grpc_method=\"%s\",le=\"+Inf\"} %llu\n",
		    method_type(i, m->nmethods), svc, meth, (unsigned long long)total);
		put(b, "grpc_server_handling_seconds_sum{grpc_type=\"%s\",grpc_service=\"%s\",grpc_method=\"%s\"} %.6f\n",
		    method_type(i, m->nmethods), svc, meth, (double)sum / 1e6);
		put(b, "grpc_server_handling_seconds_count{grpc_type=\"%s\",grpc_service=\"%s\",grpc_method=\"%s\"} %llu\n",
		    method_type(i, m->nmethods), svc, meth, (unsigned long long)total);
	}
}

static void render_decisions(dd_metrics *m, out_buf *b)
{
	put(b, "# HELP dealdesk_decisions_total Decisions sent (Quote and Commit), by credit "
	       "outcome and by compliance status.\n"
	       "# TYPE dealdesk_decisions_total counter\n");
	for (unsigned o = 0; o < NOUTCOMES; o++) {
		const ProtobufCEnumValue *ev =
			protobuf_c_enum_descriptor_get_value(&dealdesk__v1__credit_outcome__descriptor, (int)o);
		uint64_t v = 0;
		for (unsigned s = 0; s < m->nshards; s++)
			v += load(&m->shards[s].credit[o]);
		if (ev != NULL)
			put(b, "dealdesk_decisions_total{kind=\"credit\",outcome=\"%s\"} %llu\n", ev->name,
			    (unsigned long long)v);
	}
	for (unsigned o = 0; o < NOUTCOMES; o++) {
		const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(
			&dealdesk__v1__compliance_status__descriptor, (int)o);
		uint64_t v = 0;
		for (unsigned s = 0; s < m->nshards; s++)
			v += load(&m->shards[s].compliance[o]);
		if (ev != NULL)
			put(b, "dealdesk_decisions_total{kind=\"compliance\",outcome=\"%s\"} %llu\n",
			    ev->name, (unsigned long long)v);
	}
	pthread_mutex_lock(&m->lock);
	put(b, "# HELP dealdesk_policy_errors_total Policy scripts that failed (errors), by script version.\n"
	       "# TYPE dealdesk_policy_errors_total counter\n");
	for (unsigned i = 0; i < m->nscripts; i++)
		put(b, "dealdesk_policy_errors_total{script=\"%s\"} %llu\n", m->scripts[i].script,
		    (unsigned long long)m->scripts[i].errors);
	put(b, "# HELP dealdesk_policy_budget_trips_total Policy calls stopped by their budget "
	       "(instructions, memory, time), by script version.\n"
	       "# TYPE dealdesk_policy_budget_trips_total counter\n");
	for (unsigned i = 0; i < m->nscripts; i++)
		put(b, "dealdesk_policy_budget_trips_total{script=\"%s\"} %llu\n", m->scripts[i].script,
		    (unsigned long long)m->scripts[i].budget);
	pthread_mutex_unlock(&m->lock);
}

static void render_writer(dd_writer *w, out_buf *b)
{
	dd_writer_stats st;
	dd_writer_get_stats(w, &st);
	put(b, "# HELP dealdesk_writer_queue_depth Writes queued for the writer thread or being written.\n"
	       "# TYPE dealdesk_writer_queue_depth gauge\n"
	       "dealdesk_writer_queue_depth %llu\n",
	    (unsigned long long)st.queued);
	put(b, "# HELP dealdesk_writer_batch_size Writes per write transaction (group commit).\n"
	       "# TYPE dealdesk_writer_batch_size histogram\n");
	for (int i = 0; i < DD_WRITER_BUCKETS; i++)
		put(b, "dealdesk_writer_batch_size_bucket{le=\"%llu\"} %llu\n",
		    (unsigned long long)1 << i, (unsigned long long)st.batch_size_le[i]);
	put(b, "dealdesk_writer_batch_size_bucket{le=\"+Inf\"} %llu\n"
	       "dealdesk_writer_batch_size_sum %llu\n"
	       "dealdesk_writer_batch_size_count %llu\n",
	    (unsigned long long)st.batches, (unsigned long long)st.jobs,
	    (unsigned long long)st.batches);
	put(b, "# HELP dealdesk_writer_commit_seconds Time of a write transaction, begin to durable commit.\n"
	       "# TYPE dealdesk_writer_commit_seconds histogram\n");
	for (int i = 0; i < DD_WRITER_BUCKETS; i++)
		put(b, "dealdesk_writer_commit_seconds_bucket{le=\"%g\"} %llu\n",
		    (double)((uint64_t)100 << i) / 1e6, (unsigned long long)st.commit_us_le[i]);
	put(b, "dealdesk_writer_commit_seconds_bucket{le=\"+Inf\"} %llu\n"
	       "dealdesk_writer_commit_seconds_sum %.6f\n"
	       "dealdesk_writer_commit_seconds_count %llu\n",
	    (unsigned long long)st.batches, (double)st.commit_us_sum / 1e6,
	    (unsigned long long)st.batches);
	put(b, "# HELP dealdesk_writer_failed_batches_total Write transactions that failed to commit.\n"
	       "# TYPE dealdesk_writer_failed_batches_total counter\n"
	       "dealdesk_writer_failed_batches_total %llu\n",
	    (unsigned long long)st.failed_batches);
}

static void render_store(dd_store *store, out_buf *b)
{
	uint64_t used = 0, size = 0;
	dd_store_map_use(store, &used, &size);
	put(b, "# HELP dealdesk_lmdb_map_size_bytes The LMDB map size (--map-size).\n"
	       "# TYPE dealdesk_lmdb_map_size_bytes gauge\n"
	       "dealdesk_lmdb_map_size_bytes %llu\n"
	       "# HELP dealdesk_lmdb_map_used_bytes Bytes of the LMDB map in use.\n"
	       "# TYPE dealdesk_lmdb_map_used_bytes gauge\n"
	       "dealdesk_lmdb_map_used_bytes %llu\n",
	    (unsigned long long)size, (unsigned long long)used);
	dd_rtxn *txn = NULL;
	uint64_t data_version = 0, active[DD_POLICY_KIND_COUNT] = { 0 };
	if (dd_rtxn_new(store, &txn) == DD_OK && dd_rtxn_begin(txn) == DD_OK) {
		data_version = dd_rtxn_data_version(txn);
		for (int k = 1; k < DD_POLICY_KIND_COUNT; k++) {
			char key[16];
			dd_policy_active_key((dd_policy_kind)k, key);
			active[k] = dd_rtxn_meta_u64(txn, key);
		}
		dd_rtxn_end(txn);
	}
	dd_rtxn_free(txn);
	put(b, "# HELP dealdesk_data_version The store's data version (advances on every admin write).\n"
	       "# TYPE dealdesk_data_version gauge\n"
	       "dealdesk_data_version %llu\n"
	       "# HELP dealdesk_policy_active_version The active version of each policy kind (0: none).\n"
	       "# TYPE dealdesk_policy_active_version gauge\n",
	    (unsigned long long)data_version);
	for (int k = 1; k < DD_POLICY_KIND_COUNT; k++)
		put(b, "dealdesk_policy_active_version{kind=\"%s\"} %llu\n",
		    dd_policy_kind_name((dd_policy_kind)k), (unsigned long long)active[k]);
}

char *dd_metrics_render(dd_metrics *m, dd_store *store, dd_writer *writer, size_t *len)
{
	out_buf b = { malloc(65536), 0, 65536, 0 };
	if (b.data == NULL)
		return NULL;
	render_grpc(m, &b);
	render_decisions(m, &b);
	if (writer)
		render_writer(writer, &b);
	if (store)
		render_store(store, &b);
	if (b.failed) {
		free(b.data);
		return NULL;
	}
	*len = b.len;
	return b.data;
}
