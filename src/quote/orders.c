/* dealdesk orders: reads and the counter check (include/dealdesk/order.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dealdesk/money.h"
#include "dealdesk/order.h"
#include "quoter.h"

static int begin(dd_store *store, dd_rtxn **t, dd_error *err)
{
	if (dd_rtxn_new(store, t) != DD_OK || dd_rtxn_begin(*t) != DD_OK) {
		if (*t)
			dd_rtxn_free(*t);
		*t = NULL;
		return dd_error_set(err, DD_ESTORE, "store: cannot begin a read");
	}
	return DD_OK;
}

static void end(dd_rtxn *t)
{
	dd_rtxn_end(t);
	dd_rtxn_free(t);
}

int dd_order_get(dd_store *store, const char *order_id, dd_arena *arena,
                 Dealdesk__V1__Order **out, dd_error *err)
{
	int rc = dd_check_string(order_id, DD_MAX_ID, 0, "order_id", err);
	if (rc != DD_OK)
		return rc;
	dd_rtxn *t = NULL;
	if ((rc = begin(store, &t, err)) != DD_OK)
		return rc;
	dd_val v;
	rc = dd_rtxn_get(t, DD_T_ORDERS, (dd_val){ order_id, strlen(order_id) }, &v);
	if (rc == DD_OK) {
		*out = (void *)protobuf_c_message_unpack(&dealdesk__v1__order__descriptor, &arena->pb,
		                                         v.len, v.data);
		rc = *out ? DD_OK : dd_error_set(err, DD_ESTORE, "store: order '%s' is corrupt", order_id);
	} else if (rc == DD_ENOTFOUND) {
		dd_error_set(err, rc, "order_id: no order '%s'", order_id);
	} else {
		rc = dd_error_set(err, DD_ESTORE, "store: cannot read orders");
	}
	end(t);
	return rc;
}

/* ---- list ---------------------------------------------------------------------- */

typedef struct list_scan {
	const Dealdesk__V1__ListOrdersRequest *req;
	int state;
	const char *after;
	dd_arena *a;
	Dealdesk__V1__Order **items;
	size_t n, max;
	char *next;
	int rc;
} list_scan;

static int list_one(void *ud, dd_val key, dd_val val)
{
	list_scan *s = ud;
	if (s->after && key.len == strlen(s->after) && memcmp(key.data, s->after, key.len) == 0)
		return 0;
	/* judged on a malloc'd copy: only the orders returned go to the arena */
	Dealdesk__V1__Order *o = (void *)protobuf_c_message_unpack(&dealdesk__v1__order__descriptor,
	                                                         NULL, val.len, val.data);
	if (o == NULL)
		return DD_ESTORE;
	const Dealdesk__V1__ListOrdersRequest *q = s->req;
	int skip = (*q->customer_id && strcmp(q->customer_id, o->customer_id) != 0) ||
	           (s->state && (int)o->state != s->state) ||
	           (q->from_time && o->created_at < q->from_time) ||
	           (q->to_time && o->created_at >= q->to_time);
	protobuf_c_message_free_unpacked(&o->base, NULL);
	if (skip)
		return 0;
	if (s->n == s->max) {
		s->next = dd_arena_strdup(s->a, s->items[s->n - 1]->order_id);
		return 1;
	}
	o = (void *)protobuf_c_message_unpack(&dealdesk__v1__order__descriptor, &s->a->pb, val.len,
	                                      val.data);
	if (o == NULL)
		return DD_ENOMEM;
	s->items[s->n++] = o;
	return 0;
}

/* By customer: the index customer \0 created_at \0 order_id, in time order,
 * each order read by its id. */
typedef struct index_scan {
	list_scan *s;
	dd_rtxn *t;
	size_t plen; /* customer \0 */
} index_scan;

static int index_one(void *ud, dd_val key, dd_val val)
{
	index_scan *x = ud;
	(void)val;
	if (key.len < x->plen + 9)
		return DD_ESTORE;
	const unsigned char *k = key.data;
	uint64_t at = 0;
	for (int b = 0; b < 8; b++)
		at = at << 8 | k[x->plen + b];
	const Dealdesk__V1__ListOrdersRequest *q = x->s->req;
	if (q->to_time && (int64_t)at >= q->to_time)
		return 1; /* in time order: nothing later qualifies */
	dd_val id = { (const char *)key.data + x->plen + 9, key.len - x->plen - 9 }, v;
	int rc = dd_rtxn_get(x->t, DD_T_ORDERS, id, &v);
	if (rc == DD_ENOTFOUND)
		return 0;
	if (rc != DD_OK)
		return DD_ESTORE;
	return list_one(x->s, id, v);
}

static int list_by_customer(dd_rtxn *t, list_scan *s, dd_error *err)
{
	const Dealdesk__V1__ListOrdersRequest *q = s->req;
	char start[DD_STORE_MAX_KEY + 1];
	int64_t from = q->from_time > 0 ? q->from_time : 0;
	const char *after_id = "";
	if (s->after) {
		/* resume at the order the last page ended with */
		dd_val v;
		if (dd_rtxn_get(t, DD_T_ORDERS, (dd_val){ s->after, strlen(s->after) }, &v) != DD_OK)
			return dd_error_set(err, DD_EINVAL, "page.page_token: no such order");
		Dealdesk__V1__Order *o = (void *)protobuf_c_message_unpack(
			&dealdesk__v1__order__descriptor, NULL, v.len, v.data);
		if (o == NULL)
			return dd_error_set(err, DD_ESTORE, "store: an order is corrupt");
		from = o->created_at;
		protobuf_c_message_free_unpacked(&o->base, NULL);
		after_id = s->after;
	}
	int klen = quote_order_dated_key(start, q->customer_id, from, after_id);
	if (klen < 0)
		return dd_error_set(err, DD_EINVAL, "customer_id: too long");
	index_scan x = { s, t, strlen(q->customer_id) + 1 };
	int rc = dd_rtxn_scan(t, DD_T_CUSTOMER_ORDERS, (dd_val){ start, x.plen },
	                      (dd_val){ start, (size_t)klen }, index_one, &x);
	return rc < 0 ? dd_error_set(err, DD_ESTORE, "store: cannot list orders") : DD_OK;
}

int dd_order_list(dd_store *store, const Dealdesk__V1__ListOrdersRequest *req, int held,
                  dd_arena *arena, Dealdesk__V1__ListOrdersResponse **out, dd_error *err)
{
	size_t max = req->page && req->page->page_size ? req->page->page_size : DD_PAGE_SIZE_DEFAULT;
	if (max > DD_PAGE_SIZE_MAX)
		max = DD_PAGE_SIZE_MAX;
	const char *token = req->page && *req->page->page_token ? req->page->page_token : NULL;
	list_scan s = { req, held ? DEALDESK__V1__ORDER_STATE__ORDER_STATE_CREDIT_HOLD : (int)req->state,
	                token, arena, NULL, 0, max, "", 0 };
	s.items = dd_arena_calloc(arena, max + 1, sizeof(*s.items));
	Dealdesk__V1__ListOrdersResponse *r = dd_arena_alloc(arena, sizeof(*r));
	if (s.items == NULL || r == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	dd_rtxn *t = NULL;
	int rc = begin(store, &t, err);
	if (rc != DD_OK)
		return rc;
	if (*req->customer_id && dd_rtxn_meta_u64(t, DD_META_CUSTOMER_ORDERS)) {
		rc = list_by_customer(t, &s, err);
		end(t);
		if (rc != DD_OK)
			return rc;
	} else {
		rc = dd_rtxn_scan(t, DD_T_ORDERS, (dd_val){ NULL, 0 },
		                  (dd_val){ token, token ? strlen(token) : 0 }, list_one, &s);
		end(t);
		if (rc < 0)
			return dd_error_set(err, DD_ESTORE, "store: cannot list orders");
	}
	dealdesk__v1__list_orders_response__init(r);
	r->orders = s.items;
	r->n_orders = s.n;
	r->next_page_token = s.next ? s.next : "";
	*out = r;
	return DD_OK;
}

/* ---- verify ---------------------------------------------------------------------- */

typedef struct expect {
	char *key;
	size_t klen;
	int64_t uses, amount;
} expect;

typedef struct expect_list {
	expect *v;
	size_t n, cap;
} expect_list;

/* What the orders imply: the usage counters ("c", "p", "x", "r" keys) and the entries of the two order indexes, open_orders (an
 * OPEN or CREDIT_HOLD order with exposure: its exposure) and
 * customer_orders (every order). */
typedef struct verify_scan {
	dd_arena *a;
	expect_list counters, open, cust;
	int check_cust; /* the customer_orders index is built (meta) */
	uint64_t orders;
	int overflow, nomem;
} verify_scan;

static void expect_push(verify_scan *s, expect_list *l, const char *key, size_t klen,
                        int64_t uses, int64_t amount)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		expect *n = realloc(l->v, cap * sizeof(*n));
		if (n == NULL) {
			s->nomem = 1;
			return;
		}
		l->v = n;
		l->cap = cap;
	}
	expect *e = &l->v[l->n];
	if ((e->key = dd_arena_alloc(s->a, klen ? klen : 1)) == NULL) {
		s->nomem = 1;
		return;
	}
	memcpy(e->key, key, klen);
	e->klen = klen;
	e->uses = uses;
	e->amount = amount;
	l->n++;
}

static void expect_add(verify_scan *s, const char *kind, const char *id, const char *cust,
                       int64_t uses, int64_t amount)
{
	char key[DD_STORE_MAX_KEY + 1];
	int klen = cust ? dd_key_join(key, sizeof(key), 3, kind, id, cust)
	                : dd_key_join(key, sizeof(key), 2, kind, id);
	if (klen < 0)
		return;
	expect_push(s, &s->counters, key, (size_t)klen, uses, amount);
}

/* an entry of open_orders or customer_orders: "customer \0 t \0 id" */
static void expect_dated(verify_scan *s, expect_list *l, const char *cust, int64_t t,
                         const char *id, int64_t amount)
{
	char key[DD_STORE_MAX_KEY + 1];
	int klen = quote_order_dated_key(key, cust, t, id);
	if (klen > 0)
		expect_push(s, l, key, (size_t)klen, 1, amount);
}

static int keycmp(const void *k1, size_t l1, const void *k2, size_t l2)
{
	int c = memcmp(k1, k2, l1 < l2 ? l1 : l2);
	return c ? c : (l1 < l2 ? -1 : l1 > l2);
}

static int expect_cmp(const void *x, const void *y)
{
	const expect *a = x, *b = y;
	return keycmp(a->key, a->klen, b->key, b->klen);
}

static int verify_order(void *ud, dd_val key, dd_val val)
{
	verify_scan *s = ud;
	(void)key;
	/* unpacked with the system allocator: orders are many, the arena is one call's */
	Dealdesk__V1__Order *o = (void *)protobuf_c_message_unpack(&dealdesk__v1__order__descriptor,
	                                                         NULL, val.len, val.data);
	if (o == NULL)
		return DD_ESTORE;
	s->orders++;
	int holds = o->state == DEALDESK__V1__ORDER_STATE__ORDER_STATE_OPEN ||
	            o->state == DEALDESK__V1__ORDER_STATE__ORDER_STATE_CREDIT_HOLD;
	if (holds || o->state == DEALDESK__V1__ORDER_STATE__ORDER_STATE_INVOICED) {
		for (size_t i = 0; i < o->n_coupons; i++) {
			expect_add(s, "c", o->coupons[i], NULL, 1, 0);
			expect_add(s, "c", o->coupons[i], o->customer_id, 1, 0);
		}
		for (size_t i = 0; i < o->n_budgets; i++) {
			expect_add(s, "p", o->budgets[i]->promotion_id, NULL, 1, o->budgets[i]->amount);
			expect_add(s, "p", o->budgets[i]->promotion_id, o->customer_id, 1,
			           o->budgets[i]->amount);
		}
		if (holds && o->exposure > 0)
			expect_add(s, "x", o->customer_id, NULL, 1, o->exposure);
	}
	if (holds && o->exposure > 0)
		expect_dated(s, &s->open, o->customer_id, o->delivery_at, o->order_id, o->exposure);
	if (s->check_cust)
		expect_dated(s, &s->cust, o->customer_id, o->created_at, o->order_id, 0);
	protobuf_c_message_free_unpacked(&o->base, NULL);
	return s->nomem ? DD_ENOMEM : 0;
}

/* An open invoice: one use of the customer's "r" counter and, when it is
 * counted (credit currency), its open amount. */
static int verify_invoice(void *ud, dd_val key, dd_val val)
{
	verify_scan *s = ud;
	(void)key;
	Dealdesk__V1__Invoice *inv = (void *)protobuf_c_message_unpack(
		&dealdesk__v1__invoice__descriptor, NULL, val.len, val.data);
	if (inv == NULL)
		return DD_ESTORE;
	if (inv->open_amount > 0)
		expect_add(s, "r", inv->customer_id, NULL, 1, inv->counted ? inv->open_amount : 0);
	protobuf_c_message_free_unpacked(&inv->base, NULL);
	return s->nomem ? DD_ENOMEM : 0;
}

typedef struct diff_scan {
	verify_scan *s;
	size_t i; /* next expected not yet matched */
	dd_arena *a;
	Dealdesk__V1__CounterDifference **d;
	size_t nd, capd;
	uint64_t counters;
	int nomem;
} diff_scan;

static void name_counter(char *out, size_t size, const char *key, size_t klen)
{
	/* "c\0code[\0cust]" -> "coupon code [customer cust]" */
	const char *kind = key[0] == 'c'   ? "coupon"
	                   : key[0] == 'p' ? "promotion"
	                   : key[0] == 'r' ? "receivables"
	                                   : "exposure";
	const char *id = klen > 2 ? key + 2 : "";
	size_t idlen = strnlen(id, klen > 2 ? klen - 2 : 0);
	const char *cust = NULL;
	size_t clen = 0;
	if (2 + idlen + 1 < klen) {
		cust = id + idlen + 1;
		clen = klen - (2 + idlen + 1);
	}
	if (cust)
		snprintf(out, size, "%s %.*s customer %.*s", kind, (int)idlen, id, (int)clen, cust);
	else
		snprintf(out, size, "%s %.*s", kind, (int)idlen, id);
}

static void add_named_diff(diff_scan *d, const char *name, int64_t eu, int64_t ea, int64_t su,
                           int64_t sa);

static void add_diff(diff_scan *d, const char *key, size_t klen, int64_t eu, int64_t ea,
                     int64_t su, int64_t sa)
{
	if (eu == su && ea == sa)
		return;
	char name[DD_STORE_MAX_KEY + 32];
	name_counter(name, sizeof(name), key, klen);
	add_named_diff(d, name, eu, ea, su, sa);
}

static void add_named_diff(diff_scan *d, const char *name, int64_t eu, int64_t ea, int64_t su,
                           int64_t sa)
{
	if (d->nd == d->capd) {
		size_t cap = d->capd ? d->capd * 2 : 16;
		Dealdesk__V1__CounterDifference **n = dd_arena_alloc(d->a, cap * sizeof(*n));
		if (n == NULL) {
			d->nomem = 1;
			return;
		}
		if (d->nd)
			memcpy(n, d->d, d->nd * sizeof(*n));
		d->d = n;
		d->capd = cap;
	}
	Dealdesk__V1__CounterDifference *c = dd_arena_alloc(d->a, sizeof(*c));
	if (c == NULL || (c->counter = dd_arena_strdup(d->a, name)) == NULL) {
		d->nomem = 1;
		return;
	}
	char *nm = c->counter;
	dealdesk__v1__counter_difference__init(c);
	c->counter = nm;
	c->expected_uses = eu;
	c->expected_amount = ea;
	c->stored_uses = su;
	c->stored_amount = sa;
	d->d[d->nd++] = c;
}

static int diff_one(void *ud, dd_val key, dd_val val)
{
	diff_scan *d = ud;
	const char *k = key.data;
	if (key.len < 2 || k[1] != '\0' || (k[0] != 'c' && k[0] != 'p' && k[0] != 'x' && k[0] != 'r'))
		return 0;
	d->counters++;
	Dealdesk__V1__Usage *u = (void *)protobuf_c_message_unpack(&dealdesk__v1__usage__descriptor,
	                                                         &d->a->pb, val.len, val.data);
	int64_t su = u ? u->uses : -1, sa = u ? u->amount : -1;
	const expect_list *e = &d->s->counters;
	while (d->i < e->n && keycmp(e->v[d->i].key, e->v[d->i].klen, key.data, key.len) < 0) {
		add_diff(d, e->v[d->i].key, e->v[d->i].klen, e->v[d->i].uses, e->v[d->i].amount, 0, 0);
		d->i++;
	}
	if (d->i < e->n && keycmp(e->v[d->i].key, e->v[d->i].klen, key.data, key.len) == 0) {
		add_diff(d, key.data, key.len, e->v[d->i].uses, e->v[d->i].amount, su, sa);
		d->i++;
	} else {
		add_diff(d, key.data, key.len, 0, 0, su, sa);
	}
	return d->nomem ? DD_ENOMEM : 0;
}

/* ---- the order indexes: open_orders, customer_orders ---------------------------- */

typedef struct ixv_scan {
	diff_scan *d;
	const expect_list *e;
	size_t i;
	const char *what; /* "open order", "customer order" */
	int valued;       /* open_orders: the value is the exposure, 8 bytes BE */
	uint64_t entries;
} ixv_scan;

/* "open order ID customer CUST" from "cust \0 t \0 id" */
static void ixv_diff(ixv_scan *x, const char *key, size_t klen, int64_t eu, int64_t ea,
                       int64_t su, int64_t sa)
{
	if (eu == su && ea == sa)
		return;
	size_t cl = strnlen(key, klen);
	const char *id = cl + 10 <= klen ? key + cl + 10 : "";
	size_t il = cl + 10 <= klen ? klen - cl - 10 : 0;
	char name[2 * DD_STORE_MAX_KEY + 64];
	snprintf(name, sizeof(name), "%s %.*s customer %.*s", x->what, (int)il, id, (int)cl, key);
	add_named_diff(x->d, name, eu, ea, su, sa);
}

static int ixv_one(void *ud, dd_val key, dd_val val)
{
	ixv_scan *x = ud;
	x->entries++;
	int64_t sa = 0;
	if (x->valued) {
		uint64_t v = 0;
		const uint8_t *b = val.data;
		for (size_t k = 0; k < 8 && val.len == 8; k++)
			v = (v << 8) | b[k];
		sa = val.len == 8 ? (int64_t)v : -1; /* -1: not an amount */
	}
	const expect_list *e = x->e;
	while (x->i < e->n && keycmp(e->v[x->i].key, e->v[x->i].klen, key.data, key.len) < 0) {
		ixv_diff(x, e->v[x->i].key, e->v[x->i].klen, 1, e->v[x->i].amount, 0, 0);
		x->i++;
	}
	if (x->i < e->n && keycmp(e->v[x->i].key, e->v[x->i].klen, key.data, key.len) == 0) {
		ixv_diff(x, key.data, key.len, 1, e->v[x->i].amount, 1, sa);
		x->i++;
	} else {
		ixv_diff(x, key.data, key.len, 0, 0, 1, sa);
	}
	return x->d->nomem ? DD_ENOMEM : 0;
}

/* Compares one index with what the orders imply; every entry missing,
 * stray or (open_orders) holding another exposure is a difference. */
static int verify_index(dd_rtxn *t, dd_table table, diff_scan *d, expect_list *e,
                        const char *what, int valued, uint64_t *entries)
{
	if (e->n > 1)
		qsort(e->v, e->n, sizeof(*e->v), expect_cmp);
	ixv_scan x = { d, e, 0, what, valued, 0 };
	int rc = dd_rtxn_scan(t, table, (dd_val){ NULL, 0 }, (dd_val){ NULL, 0 }, ixv_one, &x);
	for (; rc >= 0 && x.i < e->n; x.i++)
		ixv_diff(&x, e->v[x.i].key, e->v[x.i].klen, 1, e->v[x.i].amount, 0, 0);
	*entries += x.entries;
	return rc;
}

int dd_order_verify(dd_store *store, dd_arena *arena, Dealdesk__V1__VerifyCountersResponse **out,
                    dd_error *err)
{
	Dealdesk__V1__VerifyCountersResponse *r = dd_arena_alloc(arena, sizeof(*r));
	if (r == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	dd_rtxn *t = NULL;
	int rc = begin(store, &t, err);
	if (rc != DD_OK)
		return rc;
	verify_scan s = { .a = arena };
	/* a store from before customer_orders gets it built by its next
	 * commit: until then there is nothing to compare */
	s.check_cust = dd_rtxn_meta_u64(t, DD_META_CUSTOMER_ORDERS) != 0;
	rc = dd_rtxn_scan(t, DD_T_ORDERS, (dd_val){ NULL, 0 }, (dd_val){ NULL, 0 }, verify_order, &s);
	if (rc >= 0)
		rc = dd_rtxn_scan(t, DD_T_INVOICES, (dd_val){ NULL, 0 }, (dd_val){ NULL, 0 },
		                  verify_invoice, &s);
	diff_scan d = { &s, 0, arena, NULL, 0, 0, 0, 0 };
	if (rc >= 0) {
		/* merge duplicates: sort, then sum equal keys */
		expect_list *c = &s.counters;
		if (c->n > 1)
			qsort(c->v, c->n, sizeof(*c->v), expect_cmp);
		size_t m = 0;
		for (size_t i = 0; i < c->n; i++) {
			if (m > 0 && expect_cmp(&c->v[m - 1], &c->v[i]) == 0) {
				if (dd_money_add(c->v[m - 1].uses, c->v[i].uses, &c->v[m - 1].uses) != DD_OK ||
				    dd_money_add(c->v[m - 1].amount, c->v[i].amount, &c->v[m - 1].amount) != DD_OK)
					s.overflow = 1;
			} else {
				c->v[m++] = c->v[i];
			}
		}
		c->n = m;
		rc = dd_rtxn_scan(t, DD_T_USAGE, (dd_val){ NULL, 0 }, (dd_val){ NULL, 0 }, diff_one, &d);
		for (; rc >= 0 && d.i < c->n; d.i++)
			add_diff(&d, c->v[d.i].key, c->v[d.i].klen, c->v[d.i].uses, c->v[d.i].amount, 0, 0);
	}
	uint64_t entries = 0;
	if (rc >= 0 && !s.nomem)
		rc = verify_index(t, DD_T_OPEN_ORDERS, &d, &s.open, "open order", 1, &entries);
	if (rc >= 0 && !s.nomem && s.check_cust)
		rc = verify_index(t, DD_T_CUSTOMER_ORDERS, &d, &s.cust, "customer order", 0, &entries);
	uint64_t version = dd_rtxn_data_version(t);
	end(t);
	free(s.counters.v);
	free(s.open.v);
	free(s.cust.v);
	if (rc < 0 || d.nomem || s.nomem)
		return dd_error_set(err, rc == DD_ENOMEM || d.nomem || s.nomem ? DD_ENOMEM : DD_ESTORE,
		                    "verify: cannot read the orders and counters");
	if (s.overflow)
		return dd_error_set(err, DD_EOVERFLOW, "verify: counters overflow int64");
	dealdesk__v1__verify_counters_response__init(r);
	r->orders = s.orders;
	r->counters = d.counters;
	r->differences = d.d;
	r->n_differences = d.nd;
	r->data_version = version;
	r->index_entries = entries;
	*out = r;
	return DD_OK;
}

int dd_invoice_get(dd_store *store, const char *invoice_id, int64_t at, dd_arena *arena,
                   Dealdesk__V1__Invoice **out, dd_error *err)
{
	int rc = dd_check_string(invoice_id, DD_MAX_ID, 0, "invoice_id", err);
	if (rc != DD_OK)
		return rc;
	dd_rtxn *t = NULL;
	if ((rc = begin(store, &t, err)) != DD_OK)
		return rc;
	dd_val v;
	rc = dd_rtxn_get(t, DD_T_INVOICES, (dd_val){ invoice_id, strlen(invoice_id) }, &v);
	if (rc == DD_OK) {
		*out = (void *)protobuf_c_message_unpack(&dealdesk__v1__invoice__descriptor,
		                                         &arena->pb, v.len, v.data);
		rc = *out ? DD_OK
		          : dd_error_set(err, DD_ESTORE, "store: invoice '%s' is corrupt", invoice_id);
	} else if (rc == DD_ENOTFOUND) {
		dd_error_set(err, rc, "invoice_id: no invoice '%s'", invoice_id);
	} else {
		rc = dd_error_set(err, DD_ESTORE, "store: cannot read invoices");
	}
	end(t);
	if (rc == DD_OK) {
		Dealdesk__V1__Invoice *inv = *out;
		inv->overdue_days = 0;
		if (inv->open_amount > 0 && inv->due_at < at) {
			int64_t days = (at - inv->due_at) / 86400;
			inv->overdue_days = days > INT32_MAX ? INT32_MAX : (int32_t)days;
		}
	}
	return rc;
}

/* ---- credit profile changes ------------------------------------------------------ */

typedef struct audit_scan {
	dd_arena *a;
	size_t skip, max;
	Dealdesk__V1__CreditChange **items;
	size_t n;
	int more;
} audit_scan;

static int audit_one(void *ud, dd_val key, dd_val val)
{
	audit_scan *s = ud;
	(void)key;
	if (s->skip > 0) {
		s->skip--;
		return 0;
	}
	if (s->n == s->max) {
		s->more = 1;
		return 1;
	}
	Dealdesk__V1__CreditChange *c = (void *)protobuf_c_message_unpack(
		&dealdesk__v1__credit_change__descriptor, &s->a->pb, val.len, val.data);
	if (c == NULL)
		return DD_ESTORE;
	s->items[s->n++] = c;
	return 0;
}

int dd_order_credit_changes(dd_store *store, const Dealdesk__V1__ListCreditChangesRequest *req,
                            dd_arena *arena, Dealdesk__V1__ListCreditChangesResponse **out,
                            dd_error *err)
{
	int rc = req->tiers ? DD_OK : dd_check_string(req->customer_id, DD_MAX_ID, 0, "customer_id", err);
	if (rc != DD_OK)
		return rc;
	if (req->tiers && *req->customer_id)
		return dd_error_set(err, DD_EINVAL, "customer_id: must be empty with tiers");
	size_t max = req->page && req->page->page_size ? req->page->page_size : DD_PAGE_SIZE_DEFAULT;
	if (max > DD_PAGE_SIZE_MAX)
		max = DD_PAGE_SIZE_MAX;
	uint64_t skip = 0;
	if (req->page && *req->page->page_token) {
		char *end;
		skip = strtoull(req->page->page_token, &end, 10);
		if (*end != '\0')
			return dd_error_set(err, DD_EINVAL, "page.page_token: malformed");
	}
	audit_scan s = { arena, (size_t)skip, max, NULL, 0, 0 };
	s.items = dd_arena_calloc(arena, max + 1, sizeof(*s.items));
	Dealdesk__V1__ListCreditChangesResponse *r = dd_arena_alloc(arena, sizeof(*r));
	if (s.items == NULL || r == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	/* a customer's changes under "id \0", the tier table's under "\0" */
	char prefix[DD_MAX_ID + 2];
	size_t plen = strlen(req->customer_id);
	memcpy(prefix, req->customer_id, plen);
	prefix[plen++] = '\0';
	dd_rtxn *t = NULL;
	if ((rc = begin(store, &t, err)) != DD_OK)
		return rc;
	rc = dd_rtxn_scan(t, DD_T_CREDIT_AUDIT, (dd_val){ prefix, plen }, (dd_val){ NULL, 0 },
	                  audit_one, &s);
	end(t);
	if (rc < 0)
		return dd_error_set(err, DD_ESTORE, "store: cannot read the credit audit");
	dealdesk__v1__list_credit_changes_response__init(r);
	r->changes = s.items;
	r->n_changes = s.n;
	r->next_page_token = s.more ? dd_arena_printf(arena, "%llu", (unsigned long long)(skip + s.n))
	                            : "";
	*out = r;
	return DD_OK;
}
