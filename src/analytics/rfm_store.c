/* dealdesk analytics: customer value from the store. Reports compute RFM
 * from the order history as of the time asked (always exact); a recompute
 * stores every customer's value for the policies (ctx.customer.rfm), and
 * each commit keeps the committing customer's stored value current,
 * scored against the breakpoints of the last recompute. */
#include "analytics_int.h"

#include <stdlib.h>
#include <string.h>

#include "dealdesk/money.h"

typedef struct cust_hit {
	const char *id;
	int64_t at, total;
	int in_currency;
} cust_hit;

static int cmp_hit(const void *a, const void *b)
{
	const cust_hit *x = a, *y = b;
	int c = strcmp(x->id, y->id);
	if (c)
		return c;
	return x->at < y->at ? -1 : x->at > y->at;
}

typedef struct id_list {
	dd_arena *a;
	const char **v;
	size_t n, cap;
	int rc;
} id_list;

static int one_customer(void *ud, dd_val key, dd_val val)
{
	id_list *l = ud;
	(void)val;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		const char **nv = dd_arena_alloc(l->a, cap * sizeof(*nv));
		if (nv == NULL)
			return l->rc = DD_ENOMEM;
		if (l->n)
			memcpy(nv, l->v, l->n * sizeof(*nv));
		l->v = nv;
		l->cap = cap;
	}
	if ((l->v[l->n] = dd_arena_strndup(l->a, key.data, key.len)) == NULL)
		return l->rc = DD_ENOMEM;
	l->n++;
	return 0;
}

int an_rfm_compute(an_src *s, const an_facts *f, int64_t at,
                   const Dealdesk__V1__RfmOptions *opts, dd_arena *arena,
                   Dealdesk__V1__CustomerValue **out, size_t *n, int64_t breaks[3][4],
                   dd_error *err)
{
	cust_hit *hits = dd_arena_calloc(arena, f->norders + 1, sizeof(*hits));
	if (hits == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	size_t nh = 0;
	for (size_t i = 0; i < f->norders; i++) {
		const an_order *o = &f->orders[i];
		if (!an_order_counts(o) || o->created_at > at)
			continue;
		hits[nh].id = o->customer_id;
		hits[nh].at = o->created_at;
		hits[nh].total = o->total;
		hits[nh].in_currency = !*opts->currency || strcmp(opts->currency, o->currency) == 0;
		nh++;
	}
	qsort(hits, nh, sizeof(*hits), cmp_hit);
	id_list ids = { .a = arena };
	int rc = an_scan(s, DD_T_CUSTOMERS, (dd_val){ NULL, 0 }, one_customer, &ids);
	if (rc != DD_OK || ids.rc != DD_OK)
		return dd_error_set(err, rc ? rc : ids.rc, "analytics: cannot read the customers");
	dd_rfm_input *in = dd_arena_calloc(arena, ids.n + nh + 1, sizeof(*in));
	if (in == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	int64_t from = at - (int64_t)opts->window_days * AN_DAY;
	size_t m = 0, i = 0, j = 0;
	while (i < ids.n || j < nh) {
		int c = i == ids.n ? 1 : j == nh ? -1 : strcmp(ids.v[i], hits[j].id);
		dd_rfm_input *x = &in[m++];
		x->customer_id = c <= 0 ? ids.v[i] : hits[j].id;
		if (c <= 0)
			i++;
		if (c < 0)
			continue;
		const char *id = hits[j].id;
		x->first_order_at = hits[j].at;
		for (; j < nh && strcmp(hits[j].id, id) == 0; j++) {
			x->order_count++;
			x->last_order_at = hits[j].at;
			if (hits[j].at > from) {
				x->frequency++;
				if (hits[j].in_currency &&
				    dd_money_add(x->monetary, hits[j].total, &x->monetary) != DD_OK)
					return dd_error_set(err, DD_EOVERFLOW,
					                    "monetary of customer '%s' overflows int64", id);
			}
		}
	}
	Dealdesk__V1__CustomerValue *v = dd_arena_calloc(arena, m + 1, sizeof(*v));
	if (v == NULL || dd_rfm_score(in, m, at, opts, arena, v, breaks) != DD_OK)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	*out = v;
	*n = m;
	return DD_OK;
}

/* The RFM of every customer, in a read transaction of its own. */
static int compute_all(dd_store *store, int64_t at, const Dealdesk__V1__RfmOptions *in_opts,
                       dd_arena *arena, Dealdesk__V1__CustomerValue **out, size_t *n,
                       uint64_t *version, dd_error *err)
{
	Dealdesk__V1__RfmOptions *opts = dd_arena_alloc(arena, sizeof(*opts));
	if (opts == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	dd_rfm_options_normalize(in_opts, opts);
	dd_rtxn *t;
	int rc = an_begin(store, &t, err);
	if (rc != DD_OK)
		return rc;
	an_src s = { t, NULL };
	an_facts f;
	rc = an_load(&s, arena, 0, &f, err);
	if (rc == DD_OK)
		rc = an_rfm_compute(&s, &f, at, opts, arena, out, n, NULL, err);
	if (version)
		*version = dd_rtxn_data_version(t);
	an_end(t);
	return rc;
}

static int check_at(int64_t at, dd_error *err)
{
	return at < 0 ? dd_error_set(err, DD_EINVAL, "at: must be >= 0") : DD_OK;
}

int dd_analytics_customer_value(dd_store *store, const Dealdesk__V1__GetCustomerValueRequest *req,
                                int64_t now, dd_arena *arena,
                                Dealdesk__V1__CustomerValue **out, dd_error *err)
{
	dd_error_clear(err);
	int rc = dd_check_string(req->customer_id, DD_MAX_ID, 0, "customer_id", err);
	if (rc == DD_OK)
		rc = check_at(req->at, err);
	if (rc != DD_OK)
		return rc;
	Dealdesk__V1__CustomerValue *v;
	size_t n;
	if ((rc = compute_all(store, req->at ? req->at : now, req->options, arena, &v, &n, NULL,
	                      err)) != DD_OK)
		return rc;
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].customer_id, req->customer_id) == 0) {
			*out = &v[i];
			return DD_OK;
		}
	return dd_error_set(err, DD_ENOTFOUND, "customer_id: customer '%s' not found",
	                    req->customer_id);
}

int dd_analytics_segments(dd_store *store, const Dealdesk__V1__ListSegmentsRequest *req,
                          int64_t now, dd_arena *arena, Dealdesk__V1__ListSegmentsResponse **out,
                          dd_error *err)
{
	dd_error_clear(err);
	int rc = check_at(req->at, err);
	if (rc != DD_OK)
		return rc;
	int64_t at = req->at ? req->at : now;
	Dealdesk__V1__CustomerValue *v;
	size_t n;
	uint64_t version = 0;
	if ((rc = compute_all(store, at, req->options, arena, &v, &n, &version, err)) != DD_OK)
		return rc;
	Dealdesk__V1__ListSegmentsResponse *r = dd_arena_alloc(arena, sizeof(*r));
	if (r == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	dealdesk__v1__list_segments_response__init(r);
	r->at = at;
	r->data_version = version;
	size_t nseg = 0, nst = 0;
	while (dd_rfm_segments[nseg])
		nseg++;
	while (dd_rfm_stages[nst])
		nst++;
	r->segments = dd_arena_calloc(arena, nseg, sizeof(*r->segments));
	r->lifecycle = dd_arena_calloc(arena, nst, sizeof(*r->lifecycle));
	r->customers = dd_arena_calloc(arena, n + 1, sizeof(*r->customers));
	if (r->segments == NULL || r->lifecycle == NULL || r->customers == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	for (size_t k = 0; k < nseg; k++) {
		Dealdesk__V1__SegmentSize *s = dd_arena_alloc(arena, sizeof(*s));
		if (s == NULL)
			return dd_error_set(err, DD_ENOMEM, "out of memory");
		dealdesk__v1__segment_size__init(s);
		s->segment = (char *)dd_rfm_segments[k];
		for (size_t i = 0; i < n; i++)
			if (strcmp(v[i].segment, s->segment) == 0) {
				s->customers++;
				if (dd_money_add(s->monetary, v[i].monetary, &s->monetary) != DD_OK)
					return dd_error_set(err, DD_EOVERFLOW, "monetary overflows int64");
			}
		r->segments[r->n_segments++] = s;
	}
	for (size_t k = 0; k < nst; k++) {
		Dealdesk__V1__LifecycleCount *s = dd_arena_alloc(arena, sizeof(*s));
		if (s == NULL)
			return dd_error_set(err, DD_ENOMEM, "out of memory");
		dealdesk__v1__lifecycle_count__init(s);
		s->stage = (char *)dd_rfm_stages[k];
		for (size_t i = 0; i < n; i++)
			s->customers += strcmp(v[i].lifecycle, s->stage) == 0;
		r->lifecycle[r->n_lifecycle++] = s;
	}
	if (req->customers)
		for (size_t i = 0; i < n; i++)
			r->customers[r->n_customers++] = &v[i];
	*out = r;
	return DD_OK;
}

/* ---- stored values: recompute, commit hook ----------------------------------- */

static int put_msg(dd_wtxn *txn, dd_arena *a, const char *key, size_t klen,
                   const ProtobufCMessage *m)
{
	size_t len = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = dd_arena_alloc(a, len ? len : 1);
	if (buf == NULL)
		return DD_ENOMEM;
	protobuf_c_message_pack(m, buf);
	return dd_wtxn_put(txn, DD_T_ANALYTICS, (dd_val){ key, klen }, (dd_val){ buf, len });
}

static int value_key(char *buf, const char *customer)
{
	return dd_key_join(buf, DD_STORE_MAX_KEY + 1, 2, "r", customer);
}

int dd_analytics_rfm_recompute(dd_wtxn *txn, const Dealdesk__V1__RecomputeRfmRequest *req,
                               int64_t now, dd_arena *arena,
                               Dealdesk__V1__RecomputeRfmResponse *out, dd_error *err)
{
	dd_error_clear(err);
	int rc = check_at(req->at, err);
	if (rc != DD_OK)
		return rc;
	int64_t at = req->at ? req->at : now;
	Dealdesk__V1__RfmOptions opts;
	dd_rfm_options_normalize(req->options, &opts);
	an_src s = { NULL, txn };
	an_facts f;
	Dealdesk__V1__CustomerValue *v;
	size_t n;
	int64_t breaks[3][4];
	if ((rc = an_load(&s, arena, 0, &f, err)) != DD_OK ||
	    (rc = an_rfm_compute(&s, &f, at, &opts, arena, &v, &n, breaks, err)) != DD_OK)
		return rc;
	char key[DD_STORE_MAX_KEY + 1];
	uint64_t scored = 0;
	for (size_t i = 0; i < n; i++) {
		int klen = value_key(key, v[i].customer_id);
		if (klen < 0)
			continue;
		if ((rc = put_msg(txn, arena, key, (size_t)klen, &v[i].base)) != DD_OK)
			return dd_error_set(err, rc, "store: cannot write customer values");
		scored += v[i].order_count > 0;
	}
	Dealdesk__V1__RfmState st;
	dealdesk__v1__rfm_state__init(&st);
	st.options = &opts;
	st.at = at;
	st.r_breaks = breaks[0];
	st.f_breaks = breaks[1];
	st.m_breaks = breaks[2];
	st.n_r_breaks = st.n_f_breaks = st.n_m_breaks = 4;
	if ((rc = put_msg(txn, arena, "rc", 2, &st.base)) != DD_OK)
		return dd_error_set(err, rc, "store: cannot write the RFM state");
	out->customers = scored;
	out->at = at;
	return DD_OK;
}

static int score_against(int64_t key, const int64_t *breaks, size_t n)
{
	int s = 1;
	for (size_t k = 0; k < n && k < 4; k++)
		s += key >= breaks[k];
	return s;
}

int dd_analytics_on_commit(dd_wtxn *txn, dd_arena *arena, const dd_analytics_sale *o,
                           dd_error *err)
{
	if (o->customer_id == NULL)
		return DD_OK;
	char key[DD_STORE_MAX_KEY + 1];
	int klen = value_key(key, o->customer_id);
	if (klen < 0)
		return DD_OK;
	Dealdesk__V1__RfmState *st = NULL;
	dd_val v;
	if (dd_wtxn_get(txn, DD_T_ANALYTICS, (dd_val){ "rc", 2 }, &v) == DD_OK)
		st = (void *)protobuf_c_message_unpack(&dealdesk__v1__rfm_state__descriptor,
		                                       &arena->pb, v.len, v.data);
	Dealdesk__V1__RfmOptions opts;
	dd_rfm_options_normalize(st ? st->options : NULL, &opts);
	Dealdesk__V1__CustomerValue *cv = NULL;
	if (dd_wtxn_get(txn, DD_T_ANALYTICS, (dd_val){ key, (size_t)klen }, &v) == DD_OK)
		cv = (void *)protobuf_c_message_unpack(&dealdesk__v1__customer_value__descriptor,
		                                       &arena->pb, v.len, v.data);
	if (cv == NULL) {
		if ((cv = dd_arena_alloc(arena, sizeof(*cv))) == NULL)
			return dd_error_set(err, DD_ENOMEM, "out of memory");
		dealdesk__v1__customer_value__init(cv);
		cv->customer_id = (char *)o->customer_id;
	}
	dd_rfm_input in = { o->customer_id, cv->order_count + 1, cv->first_order_at,
		            cv->last_order_at, cv->frequency + 1, cv->monetary };
	if (in.first_order_at == 0 || o->at < in.first_order_at)
		in.first_order_at = o->at;
	if (o->at > in.last_order_at)
		in.last_order_at = o->at;
	if ((!*opts.currency || strcmp(opts.currency, o->currency) == 0) &&
	    dd_money_add(in.monetary, o->total, &in.monetary) != DD_OK)
		in.monetary = INT64_MAX;
	cv->order_count = in.order_count;
	cv->first_order_at = in.first_order_at;
	cv->last_order_at = in.last_order_at;
	cv->frequency = in.frequency;
	cv->monetary = in.monetary;
	cv->at = o->at;
	cv->recency_days = 0;
	cv->lifecycle = (char *)dd_rfm_lifecycle(&in, o->at, &opts);
	if (st) {
		cv->r = score_against(0, st->r_breaks, st->n_r_breaks);
		cv->f = score_against(cv->frequency, st->f_breaks, st->n_f_breaks);
		cv->m = score_against(cv->monetary, st->m_breaks, st->n_m_breaks);
		cv->segment = (char *)dd_rfm_segment(cv->r, cv->f, 0);
	}
	int rc = put_msg(txn, arena, key, (size_t)klen, &cv->base);
	return rc == DD_OK ? DD_OK : dd_error_set(err, rc, "store: cannot write the customer value");
}
