/* dealdesk price history, the effective price (include/dealdesk/history.h):
 * the list price derived from the price-entry snapshots, and the price
 * applied to everyone, lowered by the public promotions of their time. */
#include "history_int.h"

#include <stdlib.h>

#include "dealdesk/money.h"

/* ---- the effective list price ---------------------------------------------- */

/* One stored state of one price list's entry, from `at` on (e NULL: deleted). */
typedef struct version {
	const char *list;
	int64_t at;
	const Dealdesk__V1__PriceEntry *e;
	size_t seq; /* load order: of two states at one time, the later wins */
} version;

typedef struct versions {
	dd_arena *a;
	size_t plen;
	version *v;
	size_t n, cap;
	int rc;
} versions;

static int push_version(versions *vs, const char *list, int64_t at,
                        const Dealdesk__V1__PriceEntry *e)
{
	if (vs->n == vs->cap) {
		size_t cap = vs->cap ? vs->cap * 2 : 16;
		version *nv = dd_arena_alloc(vs->a, cap * sizeof(*nv));
		if (nv == NULL)
			return DD_ENOMEM;
		if (vs->n)
			memcpy(nv, vs->v, vs->n * sizeof(*nv));
		vs->v = nv;
		vs->cap = cap;
	}
	vs->v[vs->n] = (version){ list, at, e, vs->n };
	vs->n++;
	return DD_OK;
}

static const Dealdesk__V1__PriceEntry *unpack_entry(dd_arena *a, dd_val v)
{
	return (const void *)protobuf_c_message_unpack(&dealdesk__v1__price_entry__descriptor,
	                                               &a->pb, v.len, v.data);
}

static int read_snapshot(void *ud, dd_val key, dd_val val)
{
	versions *vs = ud;
	if (key.len < vs->plen + 9)
		return 0;
	const unsigned char *k = key.data;
	const char *list = dd_arena_strndup(vs->a, (const char *)k + vs->plen + 9,
	                                    key.len - vs->plen - 9);
	const Dealdesk__V1__PriceEntry *e = NULL;
	if (list == NULL)
		return vs->rc = DD_ENOMEM;
	if (val.len > 0 && (e = unpack_entry(vs->a, val)) == NULL)
		return vs->rc = DD_ESTORE;
	if (push_version(vs, list, history_get_be64(k + vs->plen), e) != DD_OK)
		return vs->rc = DD_ENOMEM;
	return 0;
}

static int has_list(const versions *vs, size_t upto, const char *list)
{
	for (size_t i = 0; i < upto; i++)
		if (strcmp(vs->v[i].list, list) == 0)
			return 1;
	return 0;
}

typedef struct current_scan {
	versions *vs;
	size_t snapshots; /* versions[0..snapshots) came from the history */
} current_scan;

/* An entry stored with no snapshot counts as stored since time 0. */
static int read_current(void *ud, dd_val key, dd_val val)
{
	current_scan *c = ud;
	(void)key;
	const Dealdesk__V1__PriceEntry *e = unpack_entry(c->vs->a, val);
	if (e == NULL)
		return c->vs->rc = DD_ESTORE;
	if (has_list(c->vs, c->snapshots, e->price_list_id))
		return 0;
	if (push_version(c->vs, e->price_list_id, 0, e) != DD_OK)
		return c->vs->rc = DD_ENOMEM;
	return 0;
}

static int scope_ok(const char *entry, const char *want)
{
	return history_empty(entry) || (want != NULL && strcmp(entry, want) == 0);
}

static int entry_applies(const Dealdesk__V1__PriceEntry *e, const dd_price_scope *s, int64_t t)
{
	return scope_ok(e->channel, s->channel) && scope_ok(e->region, s->region) &&
	       history_empty(e->customer_group) && e->min_quantity <= 1 &&
	       (e->valid_from == 0 || t >= e->valid_from) && (e->valid_to == 0 || t < e->valid_to);
}

/* Versions by price list, then time, then load order. */
static int cmp_version(const void *a, const void *b)
{
	const version *x = a, *y = b;
	int c = strcmp(x->list, y->list);
	if (c != 0)
		return c;
	if (x->at != y->at)
		return (x->at > y->at) - (x->at < y->at);
	return (x->seq > y->seq) - (x->seq < y->seq);
}

/* One price list's versions, vs[first .. first + n), and the one in force
 * at the time the sweep has reached (cur, -1 before the first). */
typedef struct list_cursor {
	size_t first, n;
	long cur;
} list_cursor;

/* The entry a one-unit quote at t picks (see history.h) among the lists'
 * current versions, or NULL. */
static const Dealdesk__V1__PriceEntry *effective_at(const versions *vs, const list_cursor *lc,
                                                    size_t nlists, const dd_price_scope *s,
                                                    int64_t t)
{
	const Dealdesk__V1__PriceEntry *best = NULL;
	int best_score = -1;
	for (size_t l = 0; l < nlists; l++) {
		if (lc[l].cur < 0)
			continue;
		const Dealdesk__V1__PriceEntry *e = vs->v[lc[l].first + (size_t)lc[l].cur].e;
		if (e == NULL || !entry_applies(e, s, t))
			continue;
		int score = (!history_empty(e->channel) << 1) | !history_empty(e->region);
		if (best == NULL || score > best_score ||
		    (score == best_score &&
		     (e->priority > best->priority ||
		      (e->priority == best->priority &&
		       (e->valid_from > best->valid_from ||
		        (e->valid_from == best->valid_from &&
		         strcmp(e->price_list_id, best->price_list_id) < 0)))))) {
			best = e;
			best_score = score;
		}
	}
	return best;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static int load_versions(dd_rtxn *txn, const dd_price_scope *s, const dd_history_proposal *prop,
                         dd_arena *a, versions *vs)
{
	char prefix[DD_STORE_MAX_KEY + 1];
	int plen = history_scope_prefix(prefix, s->sku, s->currency);
	if (plen < 0)
		return DD_EINVAL;
	*vs = (versions){ a, (size_t)plen, NULL, 0, 0, DD_OK };
	int rc = dd_rtxn_scan(txn, DD_T_PRICE_HISTORY, (dd_val){ prefix, (size_t)plen },
	                      (dd_val){ NULL, 0 }, read_snapshot, vs);
	if (rc == DD_OK && vs->rc == DD_OK) {
		current_scan c = { vs, vs->n };
		rc = dd_rtxn_scan(txn, DD_T_PRICES, (dd_val){ prefix, (size_t)plen },
		                  (dd_val){ NULL, 0 }, read_current, &c);
	}
	if (vs->rc != DD_OK)
		return vs->rc;
	if (rc != DD_OK)
		return DD_ESTORE;
	for (size_t i = 0; prop && i < prop->n; i++) {
		const Dealdesk__V1__PriceEntry *e = prop->entries[i];
		if (strcmp(e->sku, s->sku) == 0 && strcmp(e->currency, s->currency) == 0 &&
		    push_version(vs, e->price_list_id, prop->at, e) != DD_OK)
			return DD_ENOMEM;
	}
	return DD_OK;
}

/* ---- promotions ---------------------------------------------------------------- */

struct dd_promo_versions {
	/* by id, then time, then load order (cmp_pversion) */
	struct pversion {
		const char *id;
		int64_t at;
		const Dealdesk__V1__Promotion *p; /* NULL: deleted */
		size_t seq;
	} *v;
	size_t n, cap;
	dd_arena *a;
	int rc;
};

int dd_history_promotion_public(const Dealdesk__V1__Promotion *p)
{
	if (!p->enabled || p->requires_coupon || !history_empty(p->coupon_code) ||
	    p->n_customer_groups || p->n_customer_segments || p->n_customer_tiers ||
	    p->new_customers_only || p->dormant_days || !history_empty(p->condition) || p->min_amount ||
	    p->min_quantity || !history_empty(p->experiment_id))
		return 0;
	return p->kind == DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_PERCENTAGE ||
	       p->kind == DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_FIXED_AMOUNT ||
	       p->kind == DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_FIXED_PRICE;
}

int64_t dd_history_promotion_price(const Dealdesk__V1__Promotion *p, int64_t list)
{
	int64_t off = 0;
	switch (p->kind) {
	case DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_PERCENTAGE:
		if (dd_money_muldiv(list, p->percent_bps, 10000, DD_ROUND_HALF_EVEN, &off) != DD_OK)
			return list;
		return list - off;
	case DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_FIXED_AMOUNT:
		return p->amount >= list ? 0 : list - p->amount;
	case DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_FIXED_PRICE:
		return p->amount < list ? p->amount : list;
	default:
		return list;
	}
}

static int push_pversion(dd_promo_versions *pv, const char *id, int64_t at,
                         const Dealdesk__V1__Promotion *p)
{
	if (pv->n == pv->cap) {
		size_t cap = pv->cap ? pv->cap * 2 : 32;
		struct pversion *nv = dd_arena_alloc(pv->a, cap * sizeof(*nv));
		if (nv == NULL)
			return DD_ENOMEM;
		if (pv->n)
			memcpy(nv, pv->v, pv->n * sizeof(*nv));
		pv->v = nv;
		pv->cap = cap;
	}
	pv->v[pv->n] = (struct pversion){ id, at, p, pv->n };
	pv->n++;
	return DD_OK;
}

static int read_promo_snapshot(void *ud, dd_val key, dd_val val)
{
	dd_promo_versions *pv = ud;
	const char *k = key.data;
	size_t il = strnlen(k, key.len);
	if (key.len != il + 9)
		return 0;
	const Dealdesk__V1__Promotion *p = NULL;
	if (val.len > 0 &&
	    (p = (const void *)protobuf_c_message_unpack(&dealdesk__v1__promotion__descriptor,
	                                                 &pv->a->pb, val.len, val.data)) == NULL)
		return pv->rc = DD_ESTORE;
	const char *id = dd_arena_strndup(pv->a, k, il);
	if (id == NULL || push_pversion(pv, id, history_get_be64((const unsigned char *)k + il + 1), p))
		return pv->rc = DD_ENOMEM;
	return 0;
}

typedef struct promo_current {
	dd_promo_versions *pv;
	size_t snapshots;
} promo_current;

static int read_promo_current(void *ud, dd_val key, dd_val val)
{
	promo_current *c = ud;
	dd_promo_versions *pv = c->pv;
	(void)key;
	const Dealdesk__V1__Promotion *p = (const void *)protobuf_c_message_unpack(
		&dealdesk__v1__promotion__descriptor, &pv->a->pb, val.len, val.data);
	if (p == NULL)
		return pv->rc = DD_ESTORE;
	for (size_t i = 0; i < c->snapshots; i++)
		if (strcmp(pv->v[i].id, p->id) == 0)
			return 0;
	if (push_pversion(pv, p->id, 0, p) != DD_OK)
		return pv->rc = DD_ENOMEM;
	return 0;
}

static int cmp_pversion(const void *a, const void *b)
{
	const struct pversion *x = a, *y = b;
	int c = strcmp(x->id, y->id);
	if (c != 0)
		return c;
	if (x->at != y->at)
		return (x->at > y->at) - (x->at < y->at);
	return (x->seq > y->seq) - (x->seq < y->seq);
}

int dd_history_load_promotions(dd_rtxn *txn, dd_arena *a, dd_promo_versions **out)
{
	dd_promo_versions *pv = dd_arena_calloc(a, 1, sizeof(*pv));
	if (pv == NULL)
		return DD_ENOMEM;
	pv->a = a;
	int rc = dd_rtxn_scan(txn, DD_T_PROMO_HISTORY, (dd_val){ NULL, 0 }, (dd_val){ NULL, 0 },
	                      read_promo_snapshot, pv);
	if (rc == DD_OK && pv->rc == DD_OK) {
		promo_current c = { pv, pv->n };
		rc = dd_rtxn_scan(txn, DD_T_PROMOTIONS, (dd_val){ NULL, 0 }, (dd_val){ NULL, 0 },
		                  read_promo_current, &c);
	}
	if (pv->rc != DD_OK)
		return pv->rc;
	if (rc != DD_OK)
		return DD_ESTORE;
	if (pv->n > 1)
		qsort(pv->v, pv->n, sizeof(*pv->v), cmp_pversion);
	*out = pv;
	return DD_OK;
}

static int in_list(char *const *items, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(items[i], s) == 0)
			return 1;
	return 0;
}

/* Does promotion p, in force at t, set a price for scope's entry e? */
static int promo_applies(const Dealdesk__V1__Promotion *p, const Dealdesk__V1__PriceEntry *e,
                         const dd_price_scope *s, int64_t t)
{
	if (!dd_history_promotion_public(p) || (p->valid_from && t < p->valid_from) ||
	    (p->valid_to && t >= p->valid_to))
		return 0;
	if (!history_empty(p->currency) && strcmp(p->currency, s->currency) != 0)
		return 0;
	if (p->n_skus > 0 ? !in_list(p->skus, p->n_skus, s->sku)
	                  : p->n_categories > 0 &&
	                            (history_empty(e->category) ||
	                             !in_list(p->categories, p->n_categories, e->category)))
		return 0;
	if (p->n_channels > 0 && (history_empty(s->channel) || !in_list(p->channels, p->n_channels, s->channel)))
		return 0;
	if (p->n_regions > 0 && (history_empty(s->region) || !in_list(p->regions, p->n_regions, s->region)))
		return 0;
	return 1;
}

/* One promotion's versions pv[first .. first + n) and the one in force. */
typedef struct promo_cursor {
	size_t first, n;
	long cur;
} promo_cursor;

static int series(dd_rtxn *txn, const dd_price_scope *s, int64_t from, int64_t to,
                  const dd_history_proposal *prop, const dd_promo_versions *pv,
                  const char *exclude, dd_arena *a, dd_price_point **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (s->sku == NULL || s->currency == NULL || from >= to)
		return DD_EINVAL;
	versions vs;
	int rc = load_versions(txn, s, prop, a, &vs);
	if (rc != DD_OK)
		return rc;
	size_t npv = pv ? pv->n : 0;
	/* every moment the answer may change: a write, a validity bound */
	size_t nb = 0;
	int64_t *b = dd_arena_alloc(a, (3 * (vs.n + npv) + 1) * sizeof(*b));
	if (b == NULL)
		return DD_ENOMEM;
	b[nb++] = from;
	for (size_t i = 0; i < vs.n + npv; i++) {
		int64_t t[3];
		if (i < vs.n) {
			const Dealdesk__V1__PriceEntry *e = vs.v[i].e;
			t[0] = vs.v[i].at, t[1] = e ? e->valid_from : 0, t[2] = e ? e->valid_to : 0;
		} else {
			const struct pversion *v = &pv->v[i - vs.n];
			t[0] = v->at, t[1] = v->p ? v->p->valid_from : 0, t[2] = v->p ? v->p->valid_to : 0;
		}
		for (int k = 0; k < 3; k++)
			if (t[k] > from && t[k] < to)
				b[nb++] = t[k];
	}
	qsort(b, nb, sizeof(*b), cmp_i64);
	size_t nu = 0;
	for (size_t i = 0; i < nb; i++)
		if (nu == 0 || b[i] != b[nu - 1])
			b[nu++] = b[i];
	/* one cursor per price list and per promotion, swept forward */
	if (vs.n > 1)
		qsort(vs.v, vs.n, sizeof(*vs.v), cmp_version);
	list_cursor *lc = dd_arena_alloc(a, (vs.n ? vs.n : 1) * sizeof(*lc));
	promo_cursor *pc = dd_arena_alloc(a, (npv ? npv : 1) * sizeof(*pc));
	dd_price_point *p = dd_arena_alloc(a, nu * sizeof(*p));
	if (lc == NULL || pc == NULL || p == NULL)
		return DD_ENOMEM;
	size_t nlists = 0, npromos = 0;
	for (size_t i = 0; i < vs.n; i++) {
		if (nlists == 0 || strcmp(vs.v[i].list, vs.v[lc[nlists - 1].first].list) != 0)
			lc[nlists++] = (list_cursor){ i, 0, -1 };
		lc[nlists - 1].n++;
	}
	for (size_t i = 0; i < npv; i++) {
		if (exclude && strcmp(pv->v[i].id, exclude) == 0)
			continue;
		if (npromos == 0 || strcmp(pv->v[i].id, pv->v[pc[npromos - 1].first].id) != 0)
			pc[npromos++] = (promo_cursor){ i, 0, -1 };
		pc[npromos - 1].n++;
	}
	size_t np = 0;
	for (size_t i = 0; i < nu; i++) {
		int64_t t = b[i], end = i + 1 < nu ? b[i + 1] : to;
		for (size_t l = 0; l < nlists; l++)
			while ((size_t)(lc[l].cur + 1) < lc[l].n &&
			       vs.v[lc[l].first + (size_t)(lc[l].cur + 1)].at <= t)
				lc[l].cur++;
		const Dealdesk__V1__PriceEntry *e = effective_at(&vs, lc, nlists, s, t);
		if (e == NULL)
			continue;
		int64_t price = e->unit_price;
		const char *ref = e->price_list_id;
		int promo = 0;
		for (size_t k = 0; k < npromos; k++) {
			while ((size_t)(pc[k].cur + 1) < pc[k].n &&
			       pv->v[pc[k].first + (size_t)(pc[k].cur + 1)].at <= t)
				pc[k].cur++;
			if (pc[k].cur < 0)
				continue;
			const Dealdesk__V1__Promotion *pr = pv->v[pc[k].first + (size_t)pc[k].cur].p;
			if (pr == NULL || !promo_applies(pr, e, s, t))
				continue;
			int64_t o = dd_history_promotion_price(pr, e->unit_price);
			if (o < price) {
				price = o;
				ref = pr->id;
				promo = 1;
			}
		}
		if (np > 0 && p[np - 1].to == t && p[np - 1].price == price &&
		    p[np - 1].promo == promo && strcmp(p[np - 1].ref, ref) == 0) {
			p[np - 1].to = end;
			continue;
		}
		p[np++] = (dd_price_point){ t, end, price, ref, 0, promo };
	}
	*out = p;
	*n = np;
	return DD_OK;
}

int dd_history_list(dd_rtxn *txn, const dd_price_scope *s, int64_t from, int64_t to,
                    const dd_history_proposal *prop, dd_arena *a, dd_price_point **out,
                    size_t *n)
{
	return series(txn, s, from, to, prop, NULL, NULL, a, out, n);
}

int dd_history_applied(dd_rtxn *txn, const dd_price_scope *s, int64_t from, int64_t to,
                       const dd_history_proposal *prop, const dd_promo_versions *pv,
                       const char *exclude, dd_arena *a, dd_price_point **out, size_t *n)
{
	return series(txn, s, from, to, prop, pv, exclude, a, out, n);
}

const char *dd_price_point_source(const dd_price_point *p)
{
	return p->sale ? "sale" : p->promo ? "promotion" : "list";
}

