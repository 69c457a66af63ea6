/* dealdesk quote, stage 2: every store read of a quote, in one read
 * transaction: the customer, each line's price entry and market signals,
 * the active policies, the candidate promotions with their usage counters,
 * the coupon codes of the request. Later stages read nothing from the store but gift prices
 * (quote_load_gift, below). */
#include "quoter.h"

#include <string.h>

#include "claims.h"
#include "prices.h"
#include "dealdesk/history.h"
#include "dealdesk/log.h"

static void read_usage(quote_run *r, const char *kind, const char *id,
                       const char *customer, int64_t *uses, int64_t *amount);

/* ---- customer ------------------------------------------------------------- */

typedef struct oldest_due {
	int found;
	int64_t due;
} oldest_due;

/* The first open item of a customer (key customer \0 due(8 BE) \0 id):
 * the oldest due date. */
static int first_due(void *ud, dd_val key, dd_val val)
{
	oldest_due *od = ud;
	const unsigned char *k = key.data;
	(void)val;
	size_t i = 0;
	while (i < key.len && k[i] != 0)
		i++;
	if (i + 9 > key.len)
		return 1;
	uint64_t due = 0;
	for (int b = 0; b < 8; b++)
		due = due << 8 | k[i + 1 + b];
	od->found = 1;
	od->due = (int64_t)due;
	return 1;
}

/* Sums the open orders (key customer \0 delivery \0 id -> exposure, 8
 * bytes BE) from the first key scanned on. */
typedef struct beyond_sum {
	int64_t amount, count;
	int overflow;
} beyond_sum;

static int sum_beyond(void *ud, dd_val key, dd_val val)
{
	beyond_sum *s = ud;
	(void)key;
	if (val.len != 8)
		return DD_ESTORE;
	uint64_t v = 0;
	for (int b = 0; b < 8; b++)
		v = v << 8 | ((const unsigned char *)val.data)[b];
	if (v > INT64_MAX || dd_money_add(s->amount, (int64_t)v, &s->amount) != DD_OK) {
		s->overflow = 1;
		return 1;
	}
	s->count++;
	return 0;
}

/* The tier of the profile (the tier table is current now) and, with a
 * horizon, the open orders to be delivered after it: SAP's dynamic check
 * counts only what falls due within the horizon. */
static int load_tier(quote_run *r)
{
	qo_credit *d = &r->order.credit;
	const Dealdesk__V1__CreditProfile *cp = r->order.customer->credit;
	if (cp == NULL)
		return DD_OK;
	d->tier = quote_credit_tier(r->q, cp, &d->tier_from);
	if (d->tier == NULL || d->tier->horizon_days <= 0 || d->open_order_count == 0)
		return DD_OK;
	int64_t until;
	if (dd_money_add(r->order.time, (int64_t)d->tier->horizon_days * 86400, &until) != DD_OK ||
	    until == INT64_MAX)
		return DD_OK; /* nothing can be later */
	const char *id = r->order.req->customer_id;
	char start[DD_STORE_MAX_KEY + 1];
	int klen = quote_order_dated_key(start, id, until + 1, "");
	if (klen < 0)
		return dd_error_set(r->err, DD_EINVAL, "customer_id: too long");
	beyond_sum s = { 0, 0, 0 };
	int rc = dd_rtxn_scan(r->q->txn, DD_T_OPEN_ORDERS, (dd_val){ start, strlen(id) + 1 },
	                      (dd_val){ start, (size_t)klen }, sum_beyond, &s);
	if (rc < 0)
		return dd_error_set(r->err, DD_ESTORE, "store: cannot read the open orders");
	if (s.overflow || s.amount > d->open_orders) {
		/* the index says more than the counter: count every open order (the
		 * static check, never flattering) rather than trust either */
		dd_log(DD_LOG_WARN, "credit: open orders of customer '%s' by delivery date disagree "
		                    "with their counter; the horizon is not applied", id);
		return DD_OK;
	}
	d->open_orders_beyond = s.amount;
	d->open_order_count_beyond = s.count;
	return DD_OK;
}

static int load_customer(quote_run *r)
{
	const char *id = r->order.req->customer_id;
	dd_val v;
	int rc = dd_rtxn_get(r->q->txn, DD_T_CUSTOMERS, (dd_val){ id, strlen(id) }, &v);
	if (rc == DD_ENOTFOUND)
		return dd_error_set(r->err, rc, "customer_id: customer '%s' not found", id);
	if (rc != DD_OK)
		return dd_error_set(r->err, DD_ESTORE, "store: cannot read customer");
	r->order.customer = (const void *)quote_record(r, &dealdesk__v1__customer__descriptor, v);
	if (r->order.customer == NULL)
		return dd_error_set(r->err, DD_ESTORE, "store: customer '%s' is corrupt", id);
	/* the exposure of committed orders and invoices, kept by the commits
	 * ("x", "r" counters), and the oldest open invoice's due date */
	const Dealdesk__V1__CreditProfile *cp = r->order.customer->credit;
	if (cp != NULL) {
		qo_credit *d = &r->order.credit;
		read_usage(r, "x", id, NULL, &d->open_order_count, &d->open_orders);
		read_usage(r, "r", id, NULL, &d->receivable_count, &d->receivables);
		d->overdue_days = cp->oldest_overdue_days;
		if (d->receivable_count > 0) {
			oldest_due od = { 0, 0 };
			size_t ilen = strlen(id);
			char prefix[DD_MAX_ID + 2];
			if (ilen <= DD_MAX_ID) {
				memcpy(prefix, id, ilen);
				prefix[ilen] = '\0';
				dd_rtxn_scan(r->q->txn, DD_T_OPEN_ITEMS, (dd_val){ prefix, ilen + 1 },
				             (dd_val){ NULL, 0 }, first_due, &od);
			}
			if (od.found && od.due < r->order.time) {
				int64_t days = (r->order.time - od.due) / 86400;
				if (days > d->overdue_days)
					d->overdue_days = days > INT32_MAX ? INT32_MAX : (int32_t)days;
			}
		}
	}
	return DD_OK;
}

/* ---- prices ----------------------------------------------------------------- */

typedef struct price_pick {
	quote_run *r;
	int64_t quantity;
	const Dealdesk__V1__PriceEntry *best;
	int best_score;
	size_t candidates;
	int cached; /* the entries came from the quoter's cache ... */
	const Dealdesk__V1__SkuSignals *signals; /* ... with the SKU's signals */
} price_pick;

static int str_empty(const char *s)
{
	return s == NULL || *s == '\0';
}

static int scope_matches(const char *entry, const char *want)
{
	return str_empty(entry) || strcmp(entry, want) == 0;
}

/* Precedence: most specific scope (customer group 4, channel 2, region 1),
 * then the highest quantity tier the line reaches, then priority, then the
 * newest valid_from, then the first price list id in key order. */
static void pick_entry(price_pick *p, const Dealdesk__V1__PriceEntry *e)
{
	const qo_order *o = &p->r->order;
	p->candidates++;
	if (!scope_matches(e->channel, o->channel) || !scope_matches(e->region, o->region) ||
	    !scope_matches(e->customer_group, o->customer->customer_group))
		return;
	if ((e->valid_from && o->time < e->valid_from) || (e->valid_to && o->time >= e->valid_to))
		return;
	if (e->min_quantity > p->quantity)
		return; /* a quantity tier the line does not reach */
	int score = (!str_empty(e->customer_group) << 2) |
	            (!str_empty(e->channel) << 1) | !str_empty(e->region);
	const Dealdesk__V1__PriceEntry *b = p->best;
	if (b == NULL || score > p->best_score ||
	    (score == p->best_score &&
	     (e->min_quantity > b->min_quantity ||
	      (e->min_quantity == b->min_quantity &&
	       (e->priority > b->priority ||
	        (e->priority == b->priority && e->valid_from > b->valid_from)))))) {
		p->best = e;
		p->best_score = score;
	}
}

static int pick_one(void *ud, dd_val key, dd_val val)
{
	price_pick *p = ud;
	(void)key;
	const Dealdesk__V1__PriceEntry *e =
		(const void *)quote_record(p->r, &dealdesk__v1__price_entry__descriptor, val);
	if (e == NULL)
		return DD_ESTORE;
	pick_entry(p, e);
	return 0;
}

static int any_record(void *ud, dd_val key, dd_val val)
{
	(void)key;
	(void)val;
	*(int *)ud = 1;
	return 1;
}

/* Picks the price entry of sku for quantity units (see pick_one). */
static int find_price(quote_run *r, const char *sku, int64_t quantity, price_pick *p)
{
	char prefix[DD_STORE_MAX_KEY + 1];
	int plen = dd_key_join(prefix, sizeof(prefix) - 1, 2, sku, r->order.req->currency);
	if (plen < 0)
		return DD_EINVAL;
	prefix[plen++] = '\0';
	*p = (price_pick){ r, quantity, NULL, -1, 0, 0, NULL };
	qp_prices pp;
	if (quote_prices(r, prefix, (size_t)plen, sku, &pp) == DD_OK) {
		for (size_t k = 0; k < pp.n; k++)
			pick_entry(p, pp.v[k]);
		p->cached = 1;
		p->signals = pp.signals;
		return DD_OK;
	}
	int rc = dd_rtxn_scan(r->q->txn, DD_T_PRICES, (dd_val){ prefix, (size_t)plen },
	                      (dd_val){ NULL, 0 }, pick_one, p);
	return rc < 0 ? DD_ESTORE : DD_OK;
}

/* Fills line i from its chosen price entry: list price, tier, signals. */
static int fill_line(quote_run *r, size_t i, const char *sku, int64_t quantity,
                     const price_pick *p)
{
	const Dealdesk__V1__PriceEntry *e = p->best;
	qo_line *l = &r->order.lines[i];
	memset(l, 0, sizeof(*l));
	l->sku = sku;
	l->quantity = quantity;
	l->price = e;
	l->rounding = (int)e->rounding == DD_ROUND_DEFAULT ? DD_ROUND_HALF_EVEN
	                                              : (dd_rounding)e->rounding;
	l->unit_price = e->unit_price;
	l->price_reason = "";
	l->price_tier = e->min_quantity > 1 ? e->min_quantity : 1;
	dd_val sv;
	if (p->cached)
		l->signals = p->signals;
	else if (dd_rtxn_get(r->q->txn, DD_T_SIGNALS, (dd_val){ sku, strlen(sku) }, &sv) == DD_OK)
		l->signals = (const void *)quote_record(r, &dealdesk__v1__sku_signals__descriptor, sv);
	if (dd_money_mul(e->unit_price, quantity, &l->list_subtotal) != DD_OK)
		return dd_error_set(r->err, DD_EOVERFLOW,
		                    "lines[%zu].quantity: %lld x %lld overflows int64", i,
		                    (long long)quantity, (long long)e->unit_price);
	l->subtotal = l->list_subtotal;
	return DD_OK;
}

static int load_line(quote_run *r, size_t i)
{
	const Dealdesk__V1__QuoteRequest *req = r->order.req;
	const Dealdesk__V1__LineRequest *l = req->lines[i];
	price_pick p;
	int rc = find_price(r, l->sku, l->quantity, &p);
	if (rc == DD_EINVAL)
		return dd_error_set(r->err, DD_EINVAL, "lines[%zu].sku: too long", i);
	if (rc != DD_OK)
		return dd_error_set(r->err, DD_ESTORE, "store: cannot read prices");
	if (p.best == NULL) {
		if (p.candidates > 0)
			return dd_error_set(r->err, DD_ENOTFOUND,
			                    "lines[%zu].sku: no price for '%s' in %s for channel '%s' at this time",
			                    i, l->sku, req->currency, r->order.channel);
		int any = 0;
		size_t slen = strlen(l->sku) + 1; /* "sku\0" */
		dd_rtxn_scan(r->q->txn, DD_T_PRICES, (dd_val){ l->sku, slen },
		             (dd_val){ NULL, 0 }, any_record, &any);
		if (any)
			return dd_error_set(r->err, DD_ENOTFOUND,
			                    "lines[%zu].sku: no price list has '%s' in currency %s",
			                    i, l->sku, req->currency);
		return dd_error_set(r->err, DD_ENOTFOUND, "lines[%zu].sku: unknown SKU '%s'",
		                    i, l->sku);
	}
	if ((rc = fill_line(r, i, l->sku, l->quantity, &p)) != DD_OK)
		return rc;
	quote_trace(r, "pricing", p.best->price_list_id, 1,
	            "line %zu %s: list price %lld from %s, tier %lld (%zu entries in %s)", i,
	            l->sku, (long long)p.best->unit_price, p.best->price_list_id,
	            (long long)r->order.lines[i].price_tier, p.candidates, req->currency);
	return DD_OK;
}

int quote_load_gift(quote_run *r, const char *sku, int64_t quantity, size_t *line)
{
	qo_order *o = &r->order;
	price_pick p;
	if (o->nlines >= o->nrequested + QO_MAX_GIFTS || find_price(r, sku, quantity, &p) != DD_OK ||
	    p.best == NULL)
		return DD_ENOTFOUND;
	if (o->nlines == o->caplines) {
		size_t cap = o->caplines * 2;
		qo_line *n = dd_arena_alloc(r->arena, cap * sizeof(*n));
		if (n == NULL)
			return dd_error_set(r->err, DD_ENOMEM, "out of memory");
		memcpy(n, o->lines, o->nlines * sizeof(*n));
		o->lines = n;
		o->caplines = cap;
	}
	int rc = fill_line(r, o->nlines, sku, quantity, &p);
	if (rc != DD_OK)
		return rc;
	*line = o->nlines++;
	return DD_OK;
}

/* ---- promotions: candidates, usage, coupons ---------------------------------- */

/* Reads a Usage counter ("c"/"p", id[, customer]); zero when absent. */
static void read_usage(quote_run *r, const char *kind, const char *id,
                       const char *customer, int64_t *uses, int64_t *amount)
{
	char key[DD_STORE_MAX_KEY + 1];
	int klen = customer ? dd_key_join(key, sizeof(key), 3, kind, id, customer)
	                    : dd_key_join(key, sizeof(key), 2, kind, id);
	dd_val v;
	*uses = *amount = 0;
	if (klen < 0 ||
	    dd_rtxn_get(r->q->txn, DD_T_USAGE, (dd_val){ key, (size_t)klen }, &v) != DD_OK)
		return;
	Dealdesk__V1__Usage *u = (void *)protobuf_c_message_unpack(
		&dealdesk__v1__usage__descriptor, &r->arena->pb, v.len, v.data);
	if (u) {
		*uses = u->uses;
		*amount = u->amount;
	}
}

static int load_coupons(quote_run *r, quote_index *ix)
{
	qo_order *o = &r->order;
	const Dealdesk__V1__QuoteRequest *req = o->req;
	o->coupons = dd_arena_calloc(r->arena, req->n_coupon_codes + 1, sizeof(*o->coupons));
	if (o->coupons == NULL)
		return dd_error_set(r->err, DD_ENOMEM, "out of memory");
	for (size_t i = 0; i < req->n_coupon_codes; i++) {
		qo_coupon *c = &o->coupons[i];
		c->code = req->coupon_codes[i];
		c->reason = "";
		if (ix)
			quote_index_add_code(ix, c->code);
		dd_val v;
		if (dd_rtxn_get(r->q->txn, DD_T_COUPONS, (dd_val){ c->code, strlen(c->code) },
		                &v) != DD_OK)
			continue;
		const Dealdesk__V1__Coupon *k =
			(const void *)quote_record(r, &dealdesk__v1__coupon__descriptor, v);
		if (k == NULL)
			return dd_error_set(r->err, DD_ESTORE, "store: coupon '%s' is corrupt", c->code);
		c->record = k;
		int64_t amount, camount;
		read_usage(r, "c", c->code, NULL, &c->uses, &amount);
		read_usage(r, "c", c->code, req->customer_id, &c->customer_uses, &camount);
		if (!k->enabled)
			c->reason = "DISABLED: the code is switched off";
		else if (k->valid_from && o->time < k->valid_from)
			c->reason = "NOT_STARTED: the code is not valid yet";
		else if (k->valid_to && o->time >= k->valid_to)
			c->reason = "EXPIRED: the code has expired";
		else if (*k->customer_id && strcmp(k->customer_id, req->customer_id) != 0)
			c->reason = "NOT_FOR_CUSTOMER: the code belongs to another customer";
		else if (k->max_uses && c->uses >= k->max_uses)
			c->reason = "EXHAUSTED: the code has been used up";
		else if (k->max_uses_per_customer && c->customer_uses >= k->max_uses_per_customer)
			c->reason = "CUSTOMER_EXHAUSTED: this customer has used the code up";
		if (ix)
			quote_index_add_id(ix, k->promotion_id);
	}
	return DD_OK;
}

/* With explain, up to this many promotions are all shown to the policy
 * (and so in the trace with their reasons); above, only the candidates. */
#define EXPLAIN_ALL_PROMOTIONS 1000

/* True when data alone says the promotion cannot be in force for this
 * request: disabled, outside its window, another currency or channel, or
 * a coupon is needed and none was entered. Used only when nobody reads the
 * reasons (no explain, no coupon codes); the policy judges the rest. */
static int surely_out(const qo_order *o, const qp_promo *m)
{
	const Dealdesk__V1__Promotion *p = m->p;
	if (!p->enabled || p->review == DEALDESK__V1__PROMOTION_REVIEW__PROMOTION_REVIEW_PENDING ||
	    (p->valid_from && o->time < p->valid_from) ||
	    (p->valid_to && o->time >= p->valid_to) || m->needs_coupon)
		return 1;
	if (*p->currency && strcmp(p->currency, o->req->currency) != 0)
		return 1;
	return p->n_channels && !quote_in_list(p->channels, p->n_channels, o->channel);
}

static int load_candidates(quote_run *r)
{
	dd_quoter *q = r->q;
	qo_order *o = &r->order;
	quote_index *ix = q->pindex;
	if (ix) {
		quote_index_begin(ix);
		for (size_t i = 0; i < o->nlines; i++) {
			quote_index_add_sku(ix, o->lines[i].sku);
			quote_index_add_category(ix, o->lines[i].price->category);
		}
	}
	int rc = load_coupons(r, ix);
	if (rc != DD_OK)
		return rc;
	size_t n = 0;
	const uint32_t *found = ix ? quote_index_result(ix, &n) : NULL;
	int all = r->explain && q->npromos <= EXPLAIN_ALL_PROMOTIONS;
	size_t cap = all ? q->npromos : n;
	o->candidates.v = dd_arena_alloc(r->arena, (cap ? cap : 1) * sizeof(qo_candidate));
	if (o->candidates.v == NULL)
		return dd_error_set(r->err, DD_ENOMEM, "out of memory");
	o->candidates.cap = cap;
	int prefilter = !r->explain && o->req->n_coupon_codes == 0;
	for (size_t k = 0; k < cap; k++) {
		uint32_t slot = all ? (uint32_t)k : found[k];
		const qp_promo *m = &q->promos[slot];
		if (!all && prefilter && surely_out(o, m))
			continue;
		qo_candidate *c = &o->candidates.v[o->candidates.n++];
		memset(c, 0, sizeof(*c));
		c->slot = slot;
		c->arm = -1;
		if (m->has_budget) {
			c->has_usage = 1;
			read_usage(r, "p", m->p->id, NULL, &c->uses, &c->amount);
			read_usage(r, "p", m->p->id, o->req->customer_id, &c->customer_uses,
			           &c->customer_amount);
		}
	}
	return DD_OK;
}

int quote_load(quote_run *r)
{
	dd_quoter *q = r->q;
	/* the version everything below is read at (the price cache's key) */
	r->order.data_version = dd_rtxn_data_version(q->txn);
	int rc = load_customer(r);
	if (rc != DD_OK)
		return rc;
	int64_t subtotal = 0;
	for (size_t i = 0; i < r->order.nrequested; i++) {
		if ((rc = load_line(r, i)) != DD_OK)
			return rc;
		if (dd_money_add(subtotal, r->order.lines[i].list_subtotal, &subtotal) != DD_OK)
			return dd_error_set(r->err, DD_EOVERFLOW,
			                    "lines[%zu]: the order amount overflows int64", i);
	}
	/* what the pricing policy sees: the order at list prices */
	r->order.subtotal = r->order.total = subtotal;
	/* the active policies and the promotions and checks they judge, each
	 * converted once per version; every write advances the data version,
	 * so an unchanged one means nothing to look at */
	if (!q->current || r->order.data_version != q->current_version) {
		q->current = 0;
		for (dd_policy_kind k = DD_POLICY_PRICING; k <= DD_POLICY_COMPLIANCE; k++)
			if ((rc = quote_policy(q, k, r->err)) != DD_OK)
				return rc;
		if ((rc = quote_refresh_data(q, r->err)) != DD_OK)
			return rc;
		q->current = 1;
		q->current_version = r->order.data_version;
	}
	for (dd_policy_kind k = DD_POLICY_PRICING; k <= DD_POLICY_COMPLIANCE; k++)
		r->order.policy_version[k] = q->policy[k].version;
	if ((rc = load_tier(r)) != DD_OK)
		return rc;
	return load_candidates(r);
}

/* ---- price history, read when a compliance check asks (claims.c) ------------- */

int quote_load_history(quote_run *r, int what, const dd_price_scope *s, const char *exclude,
                       int64_t from, int64_t to, dd_price_point **out, size_t *n)
{
	dd_rtxn *txn = r->q->txn;
	if (what == QH_APPLIED) {
		qc_claims *cs = quote_claims_of(r);
		if (cs == NULL)
			return DD_ENOMEM;
		int rc;
		if (cs->promos == NULL &&
		    (rc = dd_history_load_promotions(txn, r->arena, &cs->promos)) != DD_OK)
			return rc;
		return dd_history_applied(txn, s, from, to, quote_claims_proposal(r), cs->promos,
		                          exclude, r->arena, out, n);
	}
	if (what == QH_LIST)
		return dd_history_list(txn, s, from, to, quote_claims_proposal(r), r->arena, out, n);
	if (what == QH_SALES)
		return dd_history_sales(txn, s, from, to, r->arena, out, n);
	int found = 0;
	dd_price_point *p = dd_arena_alloc(r->arena, sizeof(*p));
	if (p == NULL)
		return DD_ENOMEM;
	int rc = dd_history_last_sale(txn, s, to, r->arena, p, &found);
	*out = found ? p : NULL;
	*n = found ? 1 : 0;
	return rc;
}
