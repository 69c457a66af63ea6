/* dealdesk journal: reading the decision log back (by decision id, by
 * order id, by time), each read in a short read transaction of its own. */
#include "journal_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct reader {
	dd_rtxn *t;
} reader;

static int reader_begin(dd_store *store, reader *r, dd_error *err)
{
	r->t = NULL;
	if (dd_rtxn_new(store, &r->t) != DD_OK || dd_rtxn_begin(r->t) != DD_OK) {
		if (r->t)
			dd_rtxn_free(r->t);
		return dd_error_set(err, DD_ESTORE, "store: cannot begin a read");
	}
	return DD_OK;
}

static void reader_end(reader *r)
{
	dd_rtxn_end(r->t);
	dd_rtxn_free(r->t);
}

/* The record stored under seq, unpacked into arena (bytes copied). */
static int record_at(dd_rtxn *t, uint64_t seq, dd_arena *arena,
                     Dealdesk__V1__DecisionRecord **out, dd_error *err)
{
	unsigned char key[8];
	journal_be64(key, seq);
	dd_val v;
	int rc = dd_rtxn_get(t, DD_T_DECISIONS, (dd_val){ key, 8 }, &v);
	if (rc == DD_ENOTFOUND)
		return dd_error_set(err, rc, "decision %" PRIu64 ": pruned", seq);
	if (rc != DD_OK)
		return dd_error_set(err, rc, "store: %s", dd_strerror(rc));
	Dealdesk__V1__DecisionRecord *r = (void *)protobuf_c_message_unpack(
		&dealdesk__v1__decision_record__descriptor, &arena->pb, v.len, v.data);
	if (r == NULL)
		return dd_error_set(err, DD_ESTORE, "decision %" PRIu64 " is corrupt", seq);
	r->seq = seq;
	*out = r;
	return DD_OK;
}

typedef struct order_scan {
	uint64_t *seqs;
	size_t n, cap;
	int rc;
} order_scan;

static int order_one(void *ud, dd_val key, dd_val val)
{
	(void)val;
	order_scan *s = ud;
	if (key.len < 8)
		return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		uint64_t *p = realloc(s->seqs, cap * sizeof(*p));
		if (p == NULL) {
			s->rc = DD_ENOMEM;
			return DD_ENOMEM;
		}
		s->seqs = p;
		s->cap = cap;
	}
	s->seqs[s->n++] = journal_load_be64((const unsigned char *)key.data + key.len - 8);
	return 0;
}

/* Every seq recorded for order_id, oldest first (*seqs malloc'd). */
static int order_seqs(dd_rtxn *t, const char *order_id, order_scan *s, dd_error *err)
{
	memset(s, 0, sizeof(*s));
	size_t ol = strlen(order_id);
	if (ol == 0 || ol > DD_MAX_ID)
		return dd_error_set(err, DD_EINVAL, "order_id: must be 1..%d bytes", DD_MAX_ID);
	char prefix[JOURNAL_ORDER_KEY_SIZE];
	size_t pl = journal_order_key(prefix, order_id, ol, NULL);
	int rc = dd_rtxn_scan(t, DD_T_DECISION_INDEX, (dd_val){ prefix, pl },
	                      (dd_val){ NULL, 0 }, order_one, s);
	if (rc != DD_OK || s->rc != DD_OK) {
		free(s->seqs);
		s->seqs = NULL;
		return dd_error_set(err, rc != DD_OK ? rc : s->rc, "decision log: cannot read: %s",
		                    dd_strerror(rc != DD_OK ? rc : s->rc));
	}
	return DD_OK;
}

int dd_decision_get(dd_store *store, const char *decision_id, const char *order_id,
                    dd_arena *arena, Dealdesk__V1__DecisionRecord **out, dd_error *err)
{
	int by_id = decision_id && *decision_id;
	if (!by_id && !(order_id && *order_id))
		return dd_error_set(err, DD_EINVAL, "decision_id: required (or order_id)");
	if (by_id && strlen(decision_id) > JOURNAL_ID_MAX)
		return dd_error_set(err, DD_EINVAL, "decision_id: longer than %d bytes",
		                    JOURNAL_ID_MAX);
	reader r;
	int rc = reader_begin(store, &r, err);
	if (rc != DD_OK)
		return rc;
	uint64_t seq = 0;
	if (by_id) {
		char ik[JOURNAL_ID_KEY_SIZE];
		size_t il = journal_id_key(ik, decision_id, strlen(decision_id));
		dd_val v;
		rc = dd_rtxn_get(r.t, DD_T_DECISION_INDEX, (dd_val){ ik, il }, &v);
		if (rc == DD_OK && v.len == 8)
			seq = journal_load_be64(v.data);
		else if (rc == DD_OK || rc == DD_ENOTFOUND)
			rc = dd_error_set(err, DD_ENOTFOUND,
			                  "decision_id: no decision '%s' is recorded", decision_id);
		else
			rc = dd_error_set(err, rc, "store: %s", dd_strerror(rc));
	} else {
		order_scan s;
		rc = order_seqs(r.t, order_id, &s, err);
		if (rc == DD_OK && s.n == 0)
			rc = dd_error_set(err, DD_ENOTFOUND,
			                  "order_id: no decision of order '%s' is recorded", order_id);
		if (rc == DD_OK)
			seq = s.seqs[s.n - 1];
		free(s.seqs);
	}
	if (rc == DD_OK)
		rc = record_at(r.t, seq, arena, out, err);
	reader_end(&r);
	return rc;
}

typedef struct list_scan {
	const Dealdesk__V1__ListDecisionsRequest *req;
	dd_arena *arena;
	Dealdesk__V1__DecisionRecord **items;
	size_t n, limit;
	uint64_t next;
	int rc;
} list_scan;

static int in_window(const Dealdesk__V1__ListDecisionsRequest *q, int64_t at_ns)
{
	int64_t s = at_ns / 1000000000;
	return (q->from_time == 0 || s >= q->from_time) && (q->to_time == 0 || s < q->to_time);
}

static void summarize(const Dealdesk__V1__ListDecisionsRequest *q, Dealdesk__V1__DecisionRecord *r)
{
	if (q->summary) {
		r->request.len = r->response.len = 0;
		r->request.data = r->response.data = NULL;
	}
}

static int list_one(void *ud, dd_val key, dd_val val)
{
	list_scan *s = ud;
	if (key.len != 8)
		return 0;
	if (s->n == s->limit) {
		s->next = journal_load_be64(key.data);
		return 1;
	}
	Dealdesk__V1__DecisionRecord *r = (void *)protobuf_c_message_unpack(
		&dealdesk__v1__decision_record__descriptor, &s->arena->pb, val.len, val.data);
	if (r == NULL) {
		s->rc = DD_ESTORE;
		return DD_ESTORE;
	}
	if (!in_window(s->req, r->recorded_at))
		return 0;
	r->seq = journal_load_be64(key.data);
	summarize(s->req, r);
	s->items[s->n++] = r;
	return 0;
}

int dd_decision_list(dd_store *store, const Dealdesk__V1__ListDecisionsRequest *req,
                     dd_arena *arena, Dealdesk__V1__ListDecisionsResponse **out,
                     dd_error *err)
{
	size_t limit = req->page && req->page->page_size ? req->page->page_size : DD_PAGE_SIZE_DEFAULT;
	if (limit > DD_PAGE_SIZE_MAX)
		return dd_error_set(err, DD_EINVAL, "page.page_size: at most %d", DD_PAGE_SIZE_MAX);
	uint64_t start = 0;
	const char *token = req->page ? req->page->page_token : NULL;
	if (token && *token) {
		char *end;
		unsigned long long v = strtoull(token, &end, 10);
		if (*end != '\0' || v == 0)
			return dd_error_set(err, DD_EINVAL, "page.page_token: not one this server gave");
		start = v;
	}
	Dealdesk__V1__ListDecisionsResponse *resp = dd_arena_alloc(arena, sizeof(*resp));
	list_scan s = { .req = req, .arena = arena, .limit = limit };
	s.items = dd_arena_calloc(arena, limit ? limit : 1, sizeof(*s.items));
	if (resp == NULL || s.items == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	dealdesk__v1__list_decisions_response__init(resp);
	reader r;
	int rc = reader_begin(store, &r, err);
	if (rc != DD_OK)
		return rc;
	if (req->order_id && *req->order_id) {
		order_scan os;
		rc = order_seqs(r.t, req->order_id, &os, err);
		for (size_t i = 0; rc == DD_OK && i < os.n; i++) {
			if (os.seqs[i] < start)
				continue;
			if (s.n == s.limit) {
				s.next = os.seqs[i];
				break;
			}
			Dealdesk__V1__DecisionRecord *rec;
			rc = record_at(r.t, os.seqs[i], arena, &rec, err);
			if (rc == DD_ENOTFOUND) { /* pruned meanwhile */
				rc = DD_OK;
				continue;
			}
			if (rc == DD_OK && in_window(req, rec->recorded_at)) {
				summarize(req, rec);
				s.items[s.n++] = rec;
			}
		}
		free(os.seqs);
	} else {
		unsigned char sk[8];
		journal_be64(sk, start);
		rc = dd_rtxn_scan(r.t, DD_T_DECISIONS, (dd_val){ NULL, 0 },
		                  (dd_val){ sk, start ? 8 : 0 }, list_one, &s);
		if (rc != DD_OK || s.rc != DD_OK)
			rc = dd_error_set(err, rc != DD_OK ? rc : s.rc, "decision log: cannot read: %s",
			                  dd_strerror(rc != DD_OK ? rc : s.rc));
	}
	reader_end(&r);
	if (rc != DD_OK)
		return rc;
	resp->decisions = s.items;
	resp->n_decisions = s.n;
	resp->next_page_token = s.next ? dd_arena_printf(arena, "%" PRIu64, s.next) : (char *)"";
	if (resp->next_page_token == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	*out = resp;
	return DD_OK;
}
