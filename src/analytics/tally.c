/* dealdesk analytics: the quote counter per experiment arm
 * (include/dealdesk/analytics.h). A quote appends its assignments to a
 * buffer under a mutex: no store access and no write transaction on the
 * worker. A full or old buffer becomes a batch with the next number and is
 * queued to the writer while the mutex is held, so batches reach the
 * writer in number order; its job adds the counts and stores the number. */
#include "dealdesk/analytics.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TALLY_BATCH 256
#define TALLY_AGE_MS 1000

typedef struct tally_batch {
	dd_writer_job job;
	struct dd_analytics_tally *t;
	uint64_t seq;
	int64_t started_ms;
	dd_tally_event *ev;
	size_t n, cap;
	struct tally_batch *next;
} tally_batch;

struct dd_analytics_tally {
	pthread_mutex_t mu;
	pthread_cond_t idle;
	dd_writer *writer;
	tally_batch *pending;  /* being filled */
	tally_batch *inflight; /* queued to the writer, not yet done */
	uint64_t next_seq;
};

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void batch_free(tally_batch *b)
{
	if (b == NULL)
		return;
	for (size_t i = 0; i < b->n; i++) {
		free((char *)b->ev[i].experiment);
		free((char *)b->ev[i].arm);
		free((char *)b->ev[i].customer);
	}
	free(b->ev);
	free(b);
}

dd_analytics_tally *dd_analytics_tally_new(dd_store *store, dd_writer *writer)
{
	dd_analytics_tally *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	/* a restarted server numbers on from what the last one stored, so
	 * that "above the stored number" still means "not stored yet" */
	dd_rtxn *r = NULL;
	dd_val v;
	if (dd_rtxn_new(store, &r) == DD_OK && dd_rtxn_begin(r) == DD_OK) {
		if (dd_rtxn_get(r, DD_T_ANALYTICS, (dd_val){ "s", 1 }, &v) == DD_OK && v.len == 8)
			for (int i = 0; i < 8; i++)
				t->next_seq |= (uint64_t)((const uint8_t *)v.data)[i] << (8 * i);
		dd_rtxn_end(r);
	}
	if (r)
		dd_rtxn_free(r);
	pthread_mutex_init(&t->mu, NULL);
	pthread_cond_init(&t->idle, NULL);
	t->writer = writer;
	return t;
}

static int add_count(dd_wtxn *txn, const char *key, size_t klen)
{
	dd_val v;
	Dealdesk__V1__Usage u;
	dealdesk__v1__usage__init(&u);
	if (dd_wtxn_get(txn, DD_T_ANALYTICS, (dd_val){ key, klen }, &v) == DD_OK) {
		Dealdesk__V1__Usage *old = (void *)protobuf_c_message_unpack(
			&dealdesk__v1__usage__descriptor, NULL, v.len, v.data);
		if (old) {
			u.uses = old->uses;
			protobuf_c_message_free_unpacked(&old->base, NULL);
		}
	}
	u.uses++;
	uint8_t buf[32];
	size_t len = protobuf_c_message_pack(&u.base, buf);
	return dd_wtxn_put(txn, DD_T_ANALYTICS, (dd_val){ key, klen }, (dd_val){ buf, len });
}

static int batch_apply(dd_wtxn *txn, void *ud, dd_error *err)
{
	tally_batch *b = ud;
	char key[DD_STORE_MAX_KEY + 1];
	int rc = DD_OK;
	for (size_t i = 0; i < b->n && rc == DD_OK; i++) {
		const dd_tally_event *e = &b->ev[i];
		int klen = dd_key_join(key, sizeof(key), 3, "q", e->experiment, e->arm);
		if (klen >= 0)
			rc = add_count(txn, key, (size_t)klen);
		klen = dd_key_join(key, sizeof(key), 3, "a", e->experiment, e->customer);
		dd_val v;
		if (rc == DD_OK && klen >= 0 &&
		    dd_wtxn_get(txn, DD_T_ANALYTICS, (dd_val){ key, (size_t)klen }, &v) == DD_ENOTFOUND)
			rc = dd_wtxn_put(txn, DD_T_ANALYTICS, (dd_val){ key, (size_t)klen },
			                 (dd_val){ e->arm, strlen(e->arm) });
	}
	uint8_t seq[8];
	for (int i = 0; i < 8; i++)
		seq[i] = (uint8_t)(b->seq >> (8 * i));
	if (rc == DD_OK)
		rc = dd_wtxn_put(txn, DD_T_ANALYTICS, (dd_val){ "s", 1 }, (dd_val){ seq, 8 });
	return rc == DD_OK ? DD_OK : dd_error_set(err, rc, "store: cannot count quotes");
}

static void batch_done(void *ud, int rc, uint64_t version, const dd_error *err)
{
	tally_batch *b = ud;
	dd_analytics_tally *t = b->t;
	(void)rc, (void)version, (void)err;
	pthread_mutex_lock(&t->mu);
	for (tally_batch **p = &t->inflight; *p; p = &(*p)->next)
		if (*p == b) {
			*p = b->next;
			break;
		}
	pthread_cond_broadcast(&t->idle);
	pthread_mutex_unlock(&t->mu);
	batch_free(b);
}

/* With t->mu held: queues the pending batch to the writer. */
static void submit_locked(dd_analytics_tally *t)
{
	tally_batch *b = t->pending;
	if (b == NULL)
		return;
	t->pending = NULL;
	b->seq = ++t->next_seq;
	b->t = t;
	b->job.apply = batch_apply;
	b->job.done = batch_done;
	b->job.ud = b;
	b->next = t->inflight;
	t->inflight = b;
	if (t->writer == NULL || dd_writer_submit(t->writer, &b->job) != DD_OK) {
		t->inflight = b->next; /* the writer is stopping: these counts are lost */
		batch_free(b);
	}
}

static char *dup_or_null(const char *s)
{
	return strdup(s ? s : "");
}

void dd_analytics_tally_quote(dd_analytics_tally *t, const char *customer_id,
                              const Dealdesk__V1__QuoteResponse *resp)
{
	if (t == NULL || resp == NULL || resp->n_experiments == 0)
		return;
	int64_t now = mono_ms();
	pthread_mutex_lock(&t->mu);
	tally_batch *b = t->pending;
	if (b == NULL && (b = t->pending = calloc(1, sizeof(*b))) != NULL)
		b->started_ms = now;
	for (size_t i = 0; b && i < resp->n_experiments; i++) {
		if (b->n == b->cap) {
			size_t cap = b->cap ? b->cap * 2 : 64;
			dd_tally_event *nv = realloc(b->ev, cap * sizeof(*nv));
			if (nv == NULL)
				break;
			b->ev = nv;
			b->cap = cap;
		}
		dd_tally_event *e = &b->ev[b->n];
		e->experiment = dup_or_null(resp->experiments[i]->experiment_id);
		e->arm = dup_or_null(resp->experiments[i]->arm);
		e->customer = dup_or_null(customer_id);
		e->seq = 0;
		if (e->experiment == NULL || e->arm == NULL || e->customer == NULL) {
			free((char *)e->experiment);
			free((char *)e->arm);
			free((char *)e->customer);
			break;
		}
		b->n++;
	}
	if (b && (b->n >= TALLY_BATCH || now - b->started_ms >= TALLY_AGE_MS))
		submit_locked(t);
	pthread_mutex_unlock(&t->mu);
}

void dd_analytics_tally_flush(dd_analytics_tally *t)
{
	if (t == NULL)
		return;
	pthread_mutex_lock(&t->mu);
	submit_locked(t);
	while (t->inflight)
		pthread_cond_wait(&t->idle, &t->mu);
	pthread_mutex_unlock(&t->mu);
}

void dd_analytics_tally_free(dd_analytics_tally *t)
{
	if (t == NULL)
		return;
	dd_analytics_tally_flush(t);
	pthread_mutex_destroy(&t->mu);
	pthread_cond_destroy(&t->idle);
	free(t);
}

static int copy_events(const tally_batch *b, uint64_t seq, dd_arena *a, dd_tally_event *out,
                       size_t *n)
{
	for (size_t i = 0; i < b->n; i++) {
		dd_tally_event *e = &out[(*n)++];
		e->experiment = dd_arena_strdup(a, b->ev[i].experiment);
		e->arm = dd_arena_strdup(a, b->ev[i].arm);
		e->customer = dd_arena_strdup(a, b->ev[i].customer);
		e->seq = seq;
		if (!e->experiment || !e->arm || !e->customer)
			return DD_ENOMEM;
	}
	return DD_OK;
}

int dd_analytics_tally_snapshot(dd_analytics_tally *t, dd_arena *arena, dd_tally_event **out,
                                size_t *n)
{
	*out = NULL;
	*n = 0;
	if (t == NULL)
		return DD_OK;
	pthread_mutex_lock(&t->mu);
	size_t total = t->pending ? t->pending->n : 0;
	for (const tally_batch *b = t->inflight; b; b = b->next)
		total += b->n;
	int rc = DD_OK;
	dd_tally_event *ev = dd_arena_calloc(arena, total + 1, sizeof(*ev));
	if (ev == NULL)
		rc = DD_ENOMEM;
	for (const tally_batch *b = t->inflight; b && rc == DD_OK; b = b->next)
		rc = copy_events(b, b->seq, arena, ev, n);
	if (rc == DD_OK && t->pending)
		rc = copy_events(t->pending, UINT64_MAX, arena, ev, n);
	pthread_mutex_unlock(&t->mu);
	*out = ev;
	return rc;
}
