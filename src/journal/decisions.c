/* dealdesk journal: the decision log's queue and its writes
 * (include/dealdesk/journal.h).
 *
 * A worker that answered a quote or a commit packs the request and the
 * response into one allocation and links it into a bounded FIFO under a
 * mutex: that is all the quote path pays. The first record queued while no
 * flush job is outstanding queues one to the writer; the job takes every
 * record queued when it runs, so under load one job (one nested transaction
 * in the writer's group commit) carries many records. When the queue is
 * full the record is dropped and counted, and the count is logged (at each
 * power of two, so a flood does not flood the log) and served by
 * GetDecisionLogStats.
 *
 * Redaction (--decision-redact) happens on the writer thread, before the
 * record is stored: the request is unpacked, the named fields blanked and
 * the request packed again. Retention (--decision-retention-days) is applied
 * by the flush job too, at most once a minute and a bounded number of
 * records at a time.
 */
#include "journal_int.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dealdesk/log.h"
#include "dealdesk/pbpack.h"
#include "dealdesk/v1/orders.pb-c.h"

#define DECISIONS_QUEUE_DEFAULT 4096
#define PRUNE_EVERY_NS (60LL * 1000000000)

enum {
	REDACT_CUSTOMER = 1,
	REDACT_ATTRIBUTES = 2,
	REDACT_COUPONS = 4,
	REDACT_REGION = 8,
	REDACT_CHANNEL = 16,
};

static const struct {
	const char *name;
	unsigned bit;
} redact_fields[] = {
	{ "customer_id", REDACT_CUSTOMER }, { "attributes", REDACT_ATTRIBUTES },
	{ "coupon_codes", REDACT_COUPONS }, { "region", REDACT_REGION },
	{ "channel", REDACT_CHANNEL },
};
#define N_REDACT (sizeof(redact_fields) / sizeof(redact_fields[0]))

struct dd_decisions;

/* A flush: the records it took off the queue, and how many. */
typedef struct flush_job {
	dd_writer_job job;
	struct dd_decisions *d;
	struct pending *batch;
	size_t n;
} flush_job;

typedef struct pending {
	struct pending *next;
	Dealdesk__V1__DecisionKind kind;
	int64_t at;
	char id[JOURNAL_ID_MAX + 1];
	char order_id[DD_MAX_ID + 1];
	char currency[8];
	char principal[256];
	Dealdesk__V1__Versions versions;
	int64_t total;
	int outcome, compliance;
	size_t req_len, resp_len;
	uint8_t bytes[]; /* request then response */
} pending;

struct dd_decisions {
	dd_writer *writer;
	unsigned redact;
	uint32_t retention_days;
	uint64_t max_bytes;
	size_t cap;
	pthread_mutex_t lock;
	pending *head, *tail;
	size_t queued;
	/* The one flush job: queued to the writer from the first record while
	 * none is outstanding, until its done; done queues it again when
	 * records came meanwhile. So under load the worker only links records
	 * in (no wake-up of the writer per record) and each write transaction
	 * takes everything that arrived during the previous one's fsync. */
	flush_job flush;
	bool job_pending;
	pthread_cond_t idle; /* job_pending went false */
	/* The pacer: records wait at most FLUSH_MS for their flush, or until
	 * FLUSH_AT of them are queued. One write transaction (and fsync) per
	 * flush, so a flush per FLUSH_MS instead of one per fsync under load:
	 * measured, the log's cost per quote fell from about 25 us of server
	 * CPU to a few. */
	pthread_t pacer;
	pthread_cond_t wake;
	bool pacer_started, stopping;
	int64_t last_prune;   /* writer thread only */
	/* counters, under lock */
	uint64_t recorded, written, dropped, pruned;
	char *redact_names[8]; /* the names of the redacted fields, static strings */
	size_t n_redact_names;
};

int journal_redact_parse(const char *list, unsigned *out, dd_error *err)
{
	*out = 0;
	if (list == NULL)
		return DD_OK;
	const char *s = list;
	while (*s) {
		size_t n = strcspn(s, ",");
		while (n > 0 && s[0] == ' ')
			s++, n--;
		size_t m = n;
		while (m > 0 && s[m - 1] == ' ')
			m--;
		if (m > 0) {
			unsigned bit = 0;
			for (size_t i = 0; i < N_REDACT; i++)
				if (strlen(redact_fields[i].name) == m
				    && strncmp(redact_fields[i].name, s, m) == 0)
					bit = redact_fields[i].bit;
			if (bit == 0)
				return dd_error_set(err, DD_EINVAL,
				                    "decision-redact: unknown field '%.*s' (known: "
				                    "customer_id, attributes, coupon_codes, region, channel)",
				                    (int)m, s);
			*out |= bit;
		}
		s += n;
		if (*s == ',')
			s++;
	}
	return DD_OK;
}

static int flush_apply(dd_wtxn *txn, void *ud, dd_error *err);
static void flush_done(void *ud, int rc, uint64_t version, const dd_error *err);
static void submit_flush(dd_decisions *d);

#define FLUSH_MS 10
#define FLUSH_AT 512

static void *pacer_main(void *arg)
{
	dd_decisions *d = arg;
	pthread_mutex_lock(&d->lock);
	while (!d->stopping) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += FLUSH_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&d->wake, &d->lock, &ts);
		if (d->stopping || d->queued == 0 || d->job_pending)
			continue;
		d->job_pending = true;
		pthread_mutex_unlock(&d->lock);
		submit_flush(d);
		pthread_mutex_lock(&d->lock);
	}
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

int dd_decisions_new(dd_decisions **out, dd_writer *writer, const dd_decisions_opts *opts,
                     dd_error *err)
{
	unsigned redact = 0;
	int rc = journal_redact_parse(opts ? opts->redact : NULL, &redact, err);
	if (rc != DD_OK)
		return rc;
	dd_decisions *d = calloc(1, sizeof(*d));
	if (d == NULL)
		return dd_error_set(err, DD_ENOMEM, "decision log: out of memory");
	d->writer = writer;
	d->redact = redact;
	d->retention_days = opts ? opts->retention_days : 0;
	d->max_bytes = opts ? opts->max_bytes : 0;
	d->cap = opts && opts->queue ? opts->queue : DECISIONS_QUEUE_DEFAULT;
	for (size_t i = 0; i < N_REDACT; i++)
		if (redact & redact_fields[i].bit)
			d->redact_names[d->n_redact_names++] = (char *)redact_fields[i].name;
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->idle, NULL);
	pthread_cond_init(&d->wake, NULL);
	d->flush.job.apply = flush_apply;
	d->flush.job.done = flush_done;
	d->flush.job.ud = &d->flush;
	d->flush.d = d;
	if (writer != NULL) {
		if (pthread_create(&d->pacer, NULL, pacer_main, d) != 0) {
			pthread_cond_destroy(&d->wake);
			pthread_cond_destroy(&d->idle);
			pthread_mutex_destroy(&d->lock);
			free(d);
			return dd_error_set(err, DD_ENOMEM, "decision log: cannot start its thread");
		}
		d->pacer_started = true;
	}
	*out = d;
	return DD_OK;
}

static void free_list(pending *p)
{
	while (p) {
		pending *next = p->next;
		free(p);
		p = next;
	}
}

/* ---- the worker's side ------------------------------------------------------- */

static void copy_str(char *dst, size_t size, const char *s)
{
	/* what snprintf("%s") does, at a fraction of its cost on this path */
	size_t n = s ? strnlen(s, size - 1) : 0;
	if (n)
		memcpy(dst, s, n);
	dst[n] = '\0';
}

/* Called with d->lock held; logs at 1, 2, 4, 8 ... drops. */
static void count_drops(dd_decisions *d, uint64_t n)
{
	uint64_t before = d->dropped;
	d->dropped += n;
	for (uint64_t p = 1; p != 0; p <<= 1)
		if (before < p && d->dropped >= p) {
			dd_log(DD_LOG_WARN,
			       "decision log: %llu record(s) dropped so far (the log cannot keep up)",
			       (unsigned long long)d->dropped);
			break;
		}
}

/* Queues d->flush (job_pending was set by the caller). When the writer
 * refuses it (stopping), what waits is dropped and counted, not left. */
static void submit_flush(dd_decisions *d)
{
	if (dd_writer_submit(d->writer, &d->flush.job) == DD_OK)
		return;
	pthread_mutex_lock(&d->lock);
	pending *all = d->head;
	count_drops(d, d->queued);
	d->head = d->tail = NULL;
	d->queued = 0;
	d->job_pending = false;
	pthread_cond_broadcast(&d->idle);
	pthread_mutex_unlock(&d->lock);
	free_list(all);
}

void dd_decisions_record(dd_decisions *d, Dealdesk__V1__DecisionKind kind,
                         const ProtobufCMessage *req, const uint8_t *req_bytes, size_t req_len,
                         const ProtobufCMessage *resp, const uint8_t *resp_bytes,
                         size_t resp_len, const char *principal)
{
	if (d == NULL || req == NULL || resp == NULL)
		return;
	const Dealdesk__V1__QuoteResponse *q = NULL;
	const char *order_id = "";
	if (kind == DEALDESK__V1__DECISION_KIND__DECISION_KIND_QUOTE) {
		q = (const void *)resp;
		order_id = q->order_id;
	} else {
		const Dealdesk__V1__Order *o = (const void *)resp;
		q = o->quote;
		order_id = o->order_id;
	}
	size_t rl = req_bytes ? req_len : protobuf_c_message_get_packed_size(req);
	size_t sl = resp_bytes ? resp_len : protobuf_c_message_get_packed_size(resp);
	pending *p = malloc(sizeof(*p) + rl + sl);
	if (p == NULL) {
		pthread_mutex_lock(&d->lock);
		d->recorded++;
		count_drops(d, 1);
		pthread_mutex_unlock(&d->lock);
		return;
	}
	p->next = NULL;
	p->kind = kind;
	p->at = journal_now_ns();
	copy_str(p->id, sizeof(p->id), q ? q->decision_id : "");
	copy_str(p->order_id, sizeof(p->order_id), order_id);
	copy_str(p->currency, sizeof(p->currency), q ? q->currency : "");
	copy_str(p->principal, sizeof(p->principal), principal);
	dealdesk__v1__versions__init(&p->versions);
	if (q && q->versions) {
		p->versions.data_version = q->versions->data_version;
		p->versions.pricing_policy = q->versions->pricing_policy;
		p->versions.promotions_policy = q->versions->promotions_policy;
		p->versions.credit_policy = q->versions->credit_policy;
		p->versions.compliance_policy = q->versions->compliance_policy;
	}
	p->total = q ? q->total : 0;
	p->outcome = q && q->credit ? (int)q->credit->outcome : 0;
	p->compliance = q ? (int)q->compliance_status : 0;
	if (req_bytes)
		memcpy(p->bytes, req_bytes, rl), p->req_len = rl;
	else
		p->req_len = protobuf_c_message_pack(req, p->bytes);
	if (resp_bytes)
		memcpy(p->bytes + rl, resp_bytes, sl), p->resp_len = sl;
	else
		p->resp_len = protobuf_c_message_pack(resp, p->bytes + rl);
	bool submit = false;
	pthread_mutex_lock(&d->lock);
	d->recorded++;
	if (d->queued >= d->cap || d->writer == NULL) {
		count_drops(d, 1);
		pthread_mutex_unlock(&d->lock);
		free(p);
		return;
	}
	if (d->tail)
		d->tail->next = p;
	else
		d->head = p;
	d->tail = p;
	d->queued++;
	/* the pacer flushes within FLUSH_MS; a full batch goes at once */
	if (!d->job_pending && d->queued >= FLUSH_AT)
		d->job_pending = submit = true;
	pthread_mutex_unlock(&d->lock);
	if (!submit)
		return;
	submit_flush(d);
}

/* ---- the writer's side --------------------------------------------------------- */

/* The request bytes of p with the redacted fields blanked, packed in a
 * malloc'd buffer (*out, *len); names appended to names. DD_OK with
 * *out NULL when nothing was redacted. */
static int redact_request(unsigned redact, const pending *p, uint8_t **out, size_t *len)
{
	*out = NULL;
	if (redact == 0)
		return DD_OK;
	ProtobufCMessage *m;
	Dealdesk__V1__QuoteRequest *q;
	if (p->kind == DEALDESK__V1__DECISION_KIND__DECISION_KIND_QUOTE) {
		m = protobuf_c_message_unpack(&dealdesk__v1__quote_request__descriptor, NULL,
		                              p->req_len, p->bytes);
		q = (void *)m;
	} else {
		m = protobuf_c_message_unpack(&dealdesk__v1__commit_request__descriptor, NULL,
		                              p->req_len, p->bytes);
		q = m ? ((Dealdesk__V1__CommitRequest *)m)->request : NULL;
	}
	if (m == NULL)
		return DD_ESTORE;
	/* Blanked fields point at static "" or are emptied; the originals stay
	 * owned by m and are freed with it (free_unpacked frees by count, so the
	 * counts are restored first). */
	char *saved_customer = NULL, *saved_region = NULL, *saved_channel = NULL;
	size_t saved_attrs = 0, saved_coupons = 0;
	if (q) {
		if (redact & REDACT_CUSTOMER)
			saved_customer = q->customer_id, q->customer_id = (char *)"";
		if (redact & REDACT_REGION)
			saved_region = q->region, q->region = (char *)"";
		if (redact & REDACT_CHANNEL)
			saved_channel = q->channel, q->channel = (char *)"";
		if (redact & REDACT_ATTRIBUTES)
			saved_attrs = q->n_attributes, q->n_attributes = 0;
		if (redact & REDACT_COUPONS)
			saved_coupons = q->n_coupon_codes, q->n_coupon_codes = 0;
	}
	*len = protobuf_c_message_get_packed_size(m);
	*out = malloc(*len ? *len : 1);
	if (*out)
		protobuf_c_message_pack(m, *out);
	if (q) {
		if (saved_customer)
			q->customer_id = saved_customer;
		if (saved_region)
			q->region = saved_region;
		if (saved_channel)
			q->channel = saved_channel;
		if (redact & REDACT_ATTRIBUTES)
			q->n_attributes = saved_attrs;
		if (redact & REDACT_COUPONS)
			q->n_coupon_codes = saved_coupons;
	}
	protobuf_c_message_free_unpacked(m, NULL);
	return *out ? DD_OK : DD_ENOMEM;
}

/* The response of a commit names the customer too (Order.customer_id). */
static int redact_response(unsigned redact, const pending *p, uint8_t **out, size_t *len)
{
	*out = NULL;
	if (!(redact & REDACT_CUSTOMER) || p->kind != DEALDESK__V1__DECISION_KIND__DECISION_KIND_COMMIT)
		return DD_OK;
	Dealdesk__V1__Order *o = (void *)protobuf_c_message_unpack(
		&dealdesk__v1__order__descriptor, NULL, p->resp_len, p->bytes + p->req_len);
	if (o == NULL)
		return DD_ESTORE;
	char *saved = o->customer_id;
	o->customer_id = (char *)"";
	*len = protobuf_c_message_get_packed_size(&o->base);
	*out = malloc(*len ? *len : 1);
	if (*out)
		protobuf_c_message_pack(&o->base, *out);
	o->customer_id = saved;
	protobuf_c_message_free_unpacked(&o->base, NULL);
	return *out ? DD_OK : DD_ENOMEM;
}

static int store_one(dd_wtxn *txn, dd_decisions *d, const pending *p, uint64_t seq)
{
	Dealdesk__V1__DecisionRecord r = DEALDESK__V1__DECISION_RECORD__INIT;
	r.decision_id = (char *)p->id;
	r.kind = p->kind;
	r.order_id = (char *)p->order_id;
	r.recorded_at = p->at;
	r.principal = (char *)p->principal;
	Dealdesk__V1__Versions v = p->versions;
	r.versions = &v;
	r.currency = (char *)p->currency;
	r.total = p->total;
	r.credit_outcome = p->outcome;
	r.compliance_status = p->compliance;
	uint8_t *req = NULL, *resp = NULL;
	size_t req_len = 0, resp_len = 0;
	int rc = redact_request(d->redact, p, &req, &req_len);
	if (rc == DD_OK)
		rc = redact_response(d->redact, p, &resp, &resp_len);
	r.redacted = d->redact_names;
	r.n_redacted = d->n_redact_names;
	r.request.data = req ? req : (uint8_t *)p->bytes;
	r.request.len = req ? req_len : p->req_len;
	r.response.data = resp ? resp : (uint8_t *)p->bytes + p->req_len;
	r.response.len = resp ? resp_len : p->resp_len;
	const uint8_t *buf = NULL;
	if (rc == DD_OK) {
		size_t len = dd_pb_pack_thread(&r.base, &buf);
		if (len == SIZE_MAX)
			rc = DD_ENOMEM;
		else {
			unsigned char key[8];
			journal_be64(key, seq);
			rc = dd_wtxn_append(txn, DD_T_DECISIONS, (dd_val){ key, 8 }, (dd_val){ buf, len });
			char ik[JOURNAL_ID_KEY_SIZE], ok[JOURNAL_ORDER_KEY_SIZE];
			size_t il = strlen(p->id), ol = strlen(p->order_id);
			if (rc == DD_OK && il > 0)
				rc = dd_wtxn_put(txn, DD_T_DECISION_INDEX,
				                 (dd_val){ ik, journal_id_key(ik, p->id, il) },
				                 (dd_val){ key, 8 });
			if (rc == DD_OK && ol > 0)
				rc = dd_wtxn_put(txn, DD_T_DECISION_INDEX,
				                 (dd_val){ ok, journal_order_key(ok, p->order_id, ol, key) },
				                 (dd_val){ "", 0 });
		}
	}
	free(req);
	free(resp);
	return rc;
}

/* ---- retention ------------------------------------------------------------------- */

size_t journal_id_key(char out[JOURNAL_ID_KEY_SIZE], const char *id, size_t len)
{
	out[0] = 'd';
	memcpy(out + 1, id, len);
	return 1 + len;
}

size_t journal_order_key(char out[JOURNAL_ORDER_KEY_SIZE], const char *order_id, size_t len,
                         const unsigned char *seq)
{
	out[0] = 'o';
	out[1] = '\0';
	memcpy(out + 2, order_id, len);
	out[2 + len] = '\0';
	if (seq == NULL)
		return 3 + len;
	memcpy(out + 3 + len, seq, 8);
	return 3 + len + 8;
}

/* What pruning needs of a stored record, read off its bytes, no unpacking:
 * decision_id (1), order_id (3) and recorded_at (4) lead the record, as
 * protobuf-c writes fields in number order. */
typedef struct record_head {
	dd_val id, order_id;
	int64_t at;
} record_head;

static int read_varint(const uint8_t *b, size_t len, size_t *pos, uint64_t *v)
{
	*v = 0;
	for (unsigned shift = 0; shift < 64 && *pos < len; shift += 7) {
		uint8_t c = b[(*pos)++];
		*v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return 1;
	}
	return 0;
}

/* 1 and *h when the bytes parse as far as field 4, else 0 */
static int read_head(dd_val v, record_head *h)
{
	const uint8_t *b = v.data;
	size_t pos = 0;
	*h = (record_head){ { "", 0 }, { "", 0 }, 0 };
	while (pos < v.len) {
		uint64_t tag, x;
		if (!read_varint(b, v.len, &pos, &tag))
			return 0;
		uint64_t field = tag >> 3;
		if (field > 4)
			return 1;
		switch (tag & 7) {
		case PROTOBUF_C_WIRE_TYPE_VARINT:
			if (!read_varint(b, v.len, &pos, &x))
				return 0;
			if (field == 4)
				h->at = (int64_t)x;
			break;
		case PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED:
			if (!read_varint(b, v.len, &pos, &x) || x > v.len - pos)
				return 0;
			if (field == 1)
				h->id = (dd_val){ b + pos, (size_t)x };
			else if (field == 3)
				h->order_id = (dd_val){ b + pos, (size_t)x };
			pos += (size_t)x;
			break;
		default:
			return 0;
		}
	}
	return 1;
}

typedef struct prune_ctx {
	dd_wtxn *txn;
	int64_t cutoff;
	size_t unreadable;
} prune_ctx;

/* Drops the index entries of the record about to go (seq key, bytes val);
 * 1 (it stays) when it is not older than the cutoff. A record that does not
 * read goes too, counted: left at the front, it would stop pruning. */
static int prune_one(void *ud, dd_val key, dd_val val)
{
	prune_ctx *c = ud;
	record_head h;
	if (key.len != 8 || !read_head(val, &h)) {
		c->unreadable++;
		return 0;
	}
	if (h.at >= c->cutoff)
		return 1;
	int rc = DD_OK;
	char ik[JOURNAL_ID_KEY_SIZE], ok[JOURNAL_ORDER_KEY_SIZE];
	if (h.id.len > 0 && h.id.len <= JOURNAL_ID_MAX)
		rc = dd_wtxn_del(c->txn, DD_T_DECISION_INDEX,
		                 (dd_val){ ik, journal_id_key(ik, h.id.data, h.id.len) });
	if ((rc == DD_OK || rc == DD_ENOTFOUND) && h.order_id.len > 0 &&
	    h.order_id.len <= DD_MAX_ID)
		rc = dd_wtxn_del(c->txn, DD_T_DECISION_INDEX,
		                 (dd_val){ ok, journal_order_key(ok, h.order_id.data, h.order_id.len,
		                                                 key.data) });
	return rc == DD_OK || rc == DD_ENOTFOUND ? 0 : rc;
}

int journal_decisions_prune(dd_wtxn *txn, int64_t cutoff_ns, size_t max, uint64_t *pruned)
{
	prune_ctx c = { txn, cutoff_ns, 0 };
	size_t taken = 0;
	int rc = dd_wtxn_take_first(txn, DD_T_DECISIONS, max, prune_one, &c, &taken);
	*pruned = taken;
	if (c.unreadable > 0)
		dd_log(DD_LOG_WARN, "decision log: %zu record(s) that do not read pruned",
		       c.unreadable);
	return rc;
}

/* ---- the flush job ---------------------------------------------------------------- */

static int flush_apply(dd_wtxn *txn, void *ud, dd_error *err)
{
	flush_job *fj = ud;
	dd_decisions *d = fj->d;
	pthread_mutex_lock(&d->lock);
	fj->batch = d->head;
	fj->n = d->queued;
	d->head = d->tail = NULL;
	d->queued = 0;
	pthread_mutex_unlock(&d->lock);
	if (fj->batch == NULL)
		return DD_OK;
	static const dd_val seq_key = { JOURNAL_DECISION_SEQ_KEY,
		                        sizeof(JOURNAL_DECISION_SEQ_KEY) - 1 };
	uint64_t seq = 0;
	dd_val v;
	int rc = dd_wtxn_get(txn, DD_T_JOURNAL, seq_key, &v);
	if (rc == DD_OK && v.len == 8)
		seq = journal_load_be64(v.data);
	else if (rc != DD_ENOTFOUND && rc != DD_OK)
		return dd_error_set(err, rc, "decision log: cannot read its sequence");
	rc = DD_OK;
	for (pending *p = fj->batch; p && rc == DD_OK; p = p->next)
		rc = store_one(txn, d, p, ++seq);
	unsigned char b[8];
	journal_be64(b, seq);
	if (rc == DD_OK)
		rc = dd_wtxn_put(txn, DD_T_JOURNAL, seq_key, (dd_val){ b, 8 });
	int64_t now = journal_now_ns();
	if (rc == DD_OK && d->retention_days > 0 && now - d->last_prune >= PRUNE_EVERY_NS) {
		d->last_prune = now;
		uint64_t pruned = 0;
		int64_t cutoff = now - (int64_t)d->retention_days * 86400 * 1000000000LL;
		rc = journal_decisions_prune(txn, cutoff, 10000, &pruned);
		if (rc == DD_OK && pruned > 0) {
			pthread_mutex_lock(&d->lock);
			d->pruned += pruned;
			pthread_mutex_unlock(&d->lock);
			dd_log(DD_LOG_INFO, "decision log: %llu record(s) past retention pruned",
			       (unsigned long long)pruned);
		}
	}
	/* the size cap: the log never takes the store's space from orders and
	 * admin data; past it the oldest records go (counted as pruned) */
	uint64_t rb = 0, re = 0, ib = 0, ie = 0;
	if (rc == DD_OK && d->max_bytes > 0 &&
	    dd_wtxn_table_stat(txn, DD_T_DECISIONS, &rb, &re) == DD_OK &&
	    dd_wtxn_table_stat(txn, DD_T_DECISION_INDEX, &ib, &ie) == DD_OK &&
	    rb + ib > d->max_bytes && re > 0) {
		/* down to 90 % of the cap, at most 20,000 records per flush */
		uint64_t per = (rb + ib) / re + 1;
		uint64_t over = rb + ib - d->max_bytes / 10 * 9;
		uint64_t n = over / per + 1;
		if (n > 20000)
			n = 20000;
		uint64_t pruned = 0;
		rc = journal_decisions_prune(txn, INT64_MAX, (size_t)n, &pruned);
		if (rc == DD_OK && pruned > 0) {
			pthread_mutex_lock(&d->lock);
			uint64_t before = d->pruned;
			d->pruned += pruned;
			pthread_mutex_unlock(&d->lock);
			if (before == 0)
				dd_log(DD_LOG_WARN,
				       "decision log: at its cap of %llu MiB (--decision-max-mb): the oldest "
				       "records are pruned from now on (GetDecisionLogStats counts them)",
				       (unsigned long long)(d->max_bytes >> 20));
		}
	}
	if (rc != DD_OK)
		return dd_error_set(err, rc, "decision log: cannot store %zu record(s): %s", fj->n,
		                    dd_strerror(rc));
	return DD_OK;
}

static void flush_done(void *ud, int rc, uint64_t version, const dd_error *err)
{
	(void)version;
	flush_job *fj = ud;
	dd_decisions *d = fj->d;
	pending *batch = fj->batch;
	size_t n = fj->n;
	fj->batch = NULL;
	fj->n = 0;
	pthread_mutex_lock(&d->lock);
	if (rc == DD_OK)
		d->written += n;
	else
		count_drops(d, n);
	/* what came meanwhile waits for the pacer, unless a batch is full */
	int again = d->queued >= FLUSH_AT;
	if (!again) {
		d->job_pending = false;
		pthread_cond_broadcast(&d->idle);
	}
	pthread_mutex_unlock(&d->lock);
	if (rc != DD_OK)
		dd_log(DD_LOG_ERROR, "decision log: %zu record(s) lost: %s", n,
		       err ? err->msg : "");
	free_list(batch);
	if (again)
		submit_flush(d); /* from done: joins the next batch (writer.h) */
}

/* For dd_decisions_flush: a flush job run synchronously. */
static int sync_flush_apply(dd_wtxn *txn, void *ud, dd_error *err)
{
	flush_job *fj = ud;
	return flush_apply(txn, fj, err);
}

void dd_decisions_flush(dd_decisions *d)
{
	if (d == NULL || d->writer == NULL)
		return;
	flush_job fj;
	memset(&fj, 0, sizeof(fj));
	fj.d = d;
	dd_error err;
	dd_error_clear(&err);
	/* Runs after every flush job queued before it (the writer is FIFO). */
	int rc = dd_writer_run(d->writer, sync_flush_apply, &fj, NULL, &err);
	pthread_mutex_lock(&d->lock);
	if (rc == DD_OK)
		d->written += fj.n;
	else
		count_drops(d, fj.n);
	pthread_mutex_unlock(&d->lock);
	free_list(fj.batch);
}

void dd_decisions_free(dd_decisions *d)
{
	if (d == NULL)
		return;
	if (d->pacer_started) {
		pthread_mutex_lock(&d->lock);
		d->stopping = true;
		pthread_cond_signal(&d->wake);
		pthread_mutex_unlock(&d->lock);
		pthread_join(d->pacer, NULL);
	}
	dd_decisions_flush(d);
	pthread_mutex_lock(&d->lock);
	/* the flush job must be out of the writer before d goes */
	while (d->job_pending)
		pthread_cond_wait(&d->idle, &d->lock);
	uint64_t dropped = d->dropped, written = d->written;
	count_drops(d, d->queued);
	free_list(d->head);
	d->head = d->tail = NULL;
	pthread_mutex_unlock(&d->lock);
	dd_log(DD_LOG_INFO, "decision log: %llu record(s) written, %llu dropped",
	       (unsigned long long)written, (unsigned long long)dropped);
	pthread_cond_destroy(&d->idle);
	pthread_cond_destroy(&d->wake);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

void dd_decisions_stats(dd_decisions *d, Dealdesk__V1__DecisionLogStats *out)
{
	dealdesk__v1__decision_log_stats__init(out);
	if (d == NULL)
		return;
	pthread_mutex_lock(&d->lock);
	out->recorded = d->recorded;
	out->written = d->written;
	out->dropped = d->dropped;
	out->queued = d->queued;
	out->capacity = d->cap;
	out->pruned = d->pruned;
	pthread_mutex_unlock(&d->lock);
	out->retention_days = d->retention_days;
	out->redact_fields = d->redact_names;
	out->n_redact_fields = d->n_redact_names;
}
