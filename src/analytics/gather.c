/* dealdesk analytics: reading the orders and invoices the reports are
 * computed from, once per report, into plain facts (analytics_int.h). */
#include "analytics_int.h"

#include <string.h>

#include "dealdesk/money.h"

int an_scan(an_src *s, dd_table t, dd_val prefix, dd_scan_fn fn, void *ud)
{
	dd_val none = { NULL, 0 };
	return s->w ? dd_wtxn_scan(s->w, t, prefix, none, fn, ud)
	            : dd_rtxn_scan(s->r, t, prefix, none, fn, ud);
}

int an_get(an_src *s, dd_table t, dd_val key, dd_val *val)
{
	return s->w ? dd_wtxn_get(s->w, t, key, val) : dd_rtxn_get(s->r, t, key, val);
}

int an_begin(dd_store *store, dd_rtxn **t, dd_error *err)
{
	*t = NULL;
	if (dd_rtxn_new(store, t) != DD_OK || dd_rtxn_begin(*t) != DD_OK) {
		if (*t)
			dd_rtxn_free(*t);
		*t = NULL;
		return dd_error_set(err, DD_ESTORE, "store: cannot begin a read");
	}
	return DD_OK;
}

void an_end(dd_rtxn *t)
{
	if (t) {
		dd_rtxn_end(t);
		dd_rtxn_free(t);
	}
}

int an_order_counts(const an_order *o)
{
	return o->state != DEALDESK__V1__ORDER_STATE__ORDER_STATE_CANCELLED &&
	       o->state != DEALDESK__V1__ORDER_STATE__ORDER_STATE_REJECTED &&
	       o->state != DEALDESK__V1__ORDER_STATE__ORDER_STATE_UNSPECIFIED;
}

typedef struct load_ctx {
	dd_arena *out, scratch;
	an_facts *f;
	size_t cap;
	int rc;
	dd_error *err;
} load_ctx;

static char *dup(load_ctx *c, const char *s)
{
	char *d = dd_arena_strdup(c->out, s ? s : "");
	if (d == NULL)
		c->rc = DD_ENOMEM;
	return d;
}

static int grow(load_ctx *c, void **v, size_t n, size_t *cap, size_t elem)
{
	if (n < *cap)
		return DD_OK;
	size_t ncap = *cap ? *cap * 2 : 256;
	void *nv = dd_arena_alloc(c->out, ncap * elem);
	if (nv == NULL)
		return DD_ENOMEM;
	if (n)
		memcpy(nv, *v, n * elem);
	*v = nv;
	*cap = ncap;
	return DD_OK;
}

static int one_order(void *ud, dd_val key, dd_val val)
{
	load_ctx *c = ud;
	(void)key;
	dd_arena_reset(&c->scratch);
	Dealdesk__V1__Order *o = (void *)protobuf_c_message_unpack(
		&dealdesk__v1__order__descriptor, &c->scratch.pb, val.len, val.data);
	if (o == NULL)
		return dd_error_set(c->err, DD_ESTORE, "store: an order is corrupt"), DD_ESTORE;
	if (grow(c, (void **)&c->f->orders, c->f->norders, &c->cap, sizeof(an_order)) != DD_OK)
		return c->rc = DD_ENOMEM;
	an_order *a = &c->f->orders[c->f->norders];
	memset(a, 0, sizeof(*a));
	a->order_id = dup(c, o->order_id);
	a->customer_id = dup(c, o->customer_id);
	a->currency = dup(c, o->currency);
	a->channel = dup(c, o->channel);
	a->region = dup(c, o->region);
	a->invoice_id = dup(c, o->invoice_id);
	a->state = o->state;
	a->created_at = o->created_at;
	a->total = o->total;
	a->cost = o->cost;
	const Dealdesk__V1__QuoteResponse *q = o->quote;
	if (q) {
		a->subtotal = q->subtotal;
		a->discount = q->discount_total;
		a->nexps = q->n_experiments;
		a->exps = dd_arena_calloc(c->out, q->n_experiments + 1, sizeof(*a->exps));
		a->exp_discount = dd_arena_calloc(c->out, q->n_experiments + 1, sizeof(int64_t));
		if (a->exps == NULL || a->exp_discount == NULL)
			return c->rc = DD_ENOMEM;
		for (size_t i = 0; i < q->n_experiments; i++) {
			const Dealdesk__V1__ExperimentAssignment *e = q->experiments[i];
			a->exps[i].experiment_id = dup(c, e->experiment_id);
			a->exps[i].promotion_id = dup(c, e->promotion_id);
			a->exps[i].arm = dup(c, e->arm);
			int64_t sum = 0;
			for (size_t l = 0; l < q->n_lines; l++)
				for (size_t d = 0; d < q->lines[l]->n_discounts; d++)
					if (strcmp(q->lines[l]->discounts[d]->promotion_id,
					           e->promotion_id) == 0 &&
					    dd_money_add(sum, q->lines[l]->discounts[d]->amount, &sum) !=
					            DD_OK)
						return dd_error_set(c->err, DD_EOVERFLOW,
						                    "discounts overflow int64"),
						       DD_EOVERFLOW;
			a->exp_discount[i] = sum;
		}
	}
	c->f->norders++;
	return c->rc;
}

static int one_invoice(void *ud, dd_val key, dd_val val)
{
	load_ctx *c = ud;
	(void)key;
	dd_arena_reset(&c->scratch);
	Dealdesk__V1__Invoice *o = (void *)protobuf_c_message_unpack(
		&dealdesk__v1__invoice__descriptor, &c->scratch.pb, val.len, val.data);
	if (o == NULL)
		return dd_error_set(c->err, DD_ESTORE, "store: an invoice is corrupt"), DD_ESTORE;
	if (grow(c, (void **)&c->f->invoices, c->f->ninvoices, &c->cap, sizeof(an_invoice)) != DD_OK)
		return c->rc = DD_ENOMEM;
	an_invoice *a = &c->f->invoices[c->f->ninvoices];
	memset(a, 0, sizeof(*a));
	a->invoice_id = dup(c, o->invoice_id);
	a->order_id = dup(c, o->order_id);
	a->customer_id = dup(c, o->customer_id);
	a->currency = dup(c, o->currency);
	a->amount = o->amount;
	a->open_amount = o->open_amount;
	a->issued_at = o->issued_at;
	a->due_at = o->due_at;
	a->payments = dd_arena_calloc(c->out, o->n_payments + 1, sizeof(*a->payments));
	if (a->payments == NULL)
		return c->rc = DD_ENOMEM;
	int64_t paid = 0;
	for (size_t i = 0; i < o->n_payments; i++) {
		a->payments[i].amount = o->payments[i]->amount;
		a->payments[i].at = o->payments[i]->at;
		if (dd_money_add(paid, o->payments[i]->amount, &paid) != DD_OK)
			return c->rc = DD_EOVERFLOW;
	}
	a->npayments = o->n_payments;
	/* an ERP load's open amount may be below its amount with no payment
	 * recorded here: that part was paid before, counted at issued_at */
	int64_t before = o->amount - o->open_amount - paid;
	a->paid_before = before > 0 ? before : 0;
	c->f->ninvoices++;
	return c->rc;
}

int an_load(an_src *s, dd_arena *arena, int invoices, an_facts *out, dd_error *err)
{
	memset(out, 0, sizeof(*out));
	load_ctx c = { .out = arena, .f = out, .err = err };
	dd_arena_init(&c.scratch, 65536, 0);
	dd_val all = { NULL, 0 };
	int rc = an_scan(s, DD_T_ORDERS, all, one_order, &c);
	if (rc == DD_OK && invoices) {
		c.cap = 0;
		rc = an_scan(s, DD_T_INVOICES, all, one_invoice, &c);
	}
	dd_arena_free(&c.scratch);
	if (rc != DD_OK && err->code == DD_OK)
		dd_error_set(err, rc, "analytics: cannot read the orders: %s", dd_strerror(rc));
	return rc;
}

const an_order *an_find_order(const an_facts *f, const char *order_id)
{
	size_t lo = 0, hi = f->norders;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(f->orders[mid].order_id, order_id);
		if (c == 0)
			return &f->orders[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

int64_t an_invoice_open_at(const an_invoice *inv, int64_t t)
{
	if (inv->issued_at >= t)
		return 0;
	int64_t open = inv->amount - inv->paid_before;
	for (size_t i = 0; i < inv->npayments; i++)
		if (inv->payments[i].at < t)
			open -= inv->payments[i].amount;
	return open > 0 ? open : 0;
}
