/* dealdesk compliance at authoring (include/dealdesk/compliance.h): the
 * claims a promotion or price write would make, judged by the active
 * compliance policy before the write is queued, so a violation is caught
 * before any checkout sees it. */
#include "claims.h"

#include <stdio.h>
#include <string.h>

#include "dealdesk/compliance.h"

#define SCREEN_MAX_SCOPES 64 /* (currency, channel) pairs per SKU */
#define SCREEN_MAX_SKUS 500  /* SKUs of one promotion without a list of them */
#define SCREEN_MAX_WARNINGS 100

typedef struct screen {
	quote_run *r;
	int64_t now;
	const char *capped; /* a promotion with more SKUs than were checked */
} screen;

/* The SKUs a promotion without `skus` reaches: those with a price entry in
 * one of its categories (every SKU without categories), in key order. */
typedef struct sku_scan {
	quote_run *r;
	const Dealdesk__V1__Promotion *p;
	const char **skus;
	size_t n;
	int more;
} sku_scan;

static int one_sku(void *ud, dd_val key, dd_val val)
{
	sku_scan *ss = ud;
	const Dealdesk__V1__PriceEntry *e =
		(const void *)quote_record(ss->r, &dealdesk__v1__price_entry__descriptor, val);
	(void)key;
	if (e == NULL || (ss->n > 0 && strcmp(ss->skus[ss->n - 1], e->sku) == 0))
		return 0;
	if (ss->p->n_categories > 0 &&
	    (e->category == NULL || !quote_in_list(ss->p->categories, ss->p->n_categories, e->category)))
		return 0;
	if (ss->n == SCREEN_MAX_SKUS) {
		ss->more = 1;
		return 1;
	}
	ss->skus[ss->n++] = e->sku;
	return 0;
}

/* The effective list price of scope at t (with the proposal), and the
 * entry it comes from (for its cost). */
static int list_at(quote_run *r, const dd_price_scope *s, int64_t t, int64_t *price,
                   int64_t *cost)
{
	dd_price_point *p;
	size_t n;
	*price = *cost = 0;
	int rc = quote_load_history(r, QH_LIST, s, NULL, t, t + 1, &p, &n);
	if (rc != DD_OK || n == 0)
		return 0;
	*price = p[0].price;
	const dd_history_proposal *prop = quote_claims_proposal(r);
	for (size_t i = 0; prop && i < prop->n; i++) {
		const Dealdesk__V1__PriceEntry *e = prop->entries[i];
		if (!strcmp(e->sku, s->sku) && !strcmp(e->currency, s->currency) &&
		    !strcmp(e->price_list_id, p[0].ref)) {
			*cost = e->unit_cost;
			return 1;
		}
	}
	char key[DD_STORE_MAX_KEY + 1];
	int klen = dd_key_join(key, sizeof(key), 3, s->sku, s->currency, p[0].ref);
	dd_val v;
	if (klen > 0 &&
	    dd_rtxn_get(r->q->txn, DD_T_PRICES, (dd_val){ key, (size_t)klen }, &v) == DD_OK) {
		const Dealdesk__V1__PriceEntry *e =
			(const void *)quote_record(r, &dealdesk__v1__price_entry__descriptor, v);
		if (e != NULL)
			*cost = e->unit_cost;
	}
	return 1;
}

static int add_claim(screen *sc, const Dealdesk__V1__Promotion *p, const char *sku,
                     const char *currency, const char *channel, const char *region, int64_t at)
{
	quote_run *r = sc->r;
	dd_price_scope s = { sku, currency, channel, region };
	qc_claim c;
	memset(&c, 0, sizeof(c));
	c.promo = p;
	c.sku = sku;
	c.currency = currency;
	c.channel = channel;
	c.region = region;
	c.line = -1;
	c.at = at;
	c.start = c.first_start = at;
	c.exponent = dd_currency_exponent(currency);
	c.has_list = list_at(r, &s, at, &c.list_price, &c.unit_cost);
	c.offer_price = c.list_price;
	if (p != NULL) {
		c.start = p->valid_from ? p->valid_from : at;
		c.first_start = p->reduction_started_at && p->reduction_started_at < c.start
		                        ? p->reduction_started_at
		                        : c.start;
		if (c.has_list)
			c.offer_price = quote_claim_offer(p, c.list_price);
		c.reference_price = p->reference_price;
		c.announced_bps = quote_claim_announced(p);
	}
	return quote_claims_add(r, &c);
}

/* The (currency, channel) pairs sku has prices in. */
typedef struct scopes {
	quote_run *r;
	const char *currency; /* only this one, or NULL */
	const char *cur[SCREEN_MAX_SCOPES], *chan[SCREEN_MAX_SCOPES];
	size_t n;
} scopes;

static int one_scope(void *ud, dd_val key, dd_val val)
{
	scopes *sc = ud;
	(void)key;
	const Dealdesk__V1__PriceEntry *e =
		(const void *)quote_record(sc->r, &dealdesk__v1__price_entry__descriptor, val);
	if (e == NULL)
		return 0;
	if (sc->currency && strcmp(e->currency, sc->currency) != 0)
		return 0;
	for (size_t i = 0; i < sc->n; i++)
		if (!strcmp(sc->cur[i], e->currency) && !strcmp(sc->chan[i], e->channel))
			return 0;
	if (sc->n == SCREEN_MAX_SCOPES)
		return 1;
	sc->cur[sc->n] = e->currency;
	sc->chan[sc->n++] = e->channel;
	return 0;
}

static int promotion_claims(screen *sc, const Dealdesk__V1__Promotion *p)
{
	quote_run *r = sc->r;
	int64_t at = p->valid_from > sc->now ? p->valid_from : sc->now;
	static const char *const any[1] = { "" };
	const char *const *regions = p->n_regions ? (const char *const *)p->regions : any;
	size_t nregions = p->n_regions ? p->n_regions : 1;
	const char *const *skus = (const char *const *)p->skus;
	size_t nskus = p->n_skus;
	if (nskus == 0) { /* its categories' SKUs, or every SKU */
		sku_scan ss = { r, p, dd_arena_alloc(r->arena, SCREEN_MAX_SKUS * sizeof(char *)), 0, 0 };
		if (ss.skus == NULL)
			return DD_ENOMEM;
		if (dd_rtxn_scan(r->q->txn, DD_T_PRICES, (dd_val){ NULL, 0 }, (dd_val){ NULL, 0 },
		                 one_sku, &ss) < 0)
			return dd_error_set(r->err, DD_ESTORE, "store: cannot read prices");
		if (ss.more)
			sc->capped = p->id;
		skus = ss.skus;
		nskus = ss.n;
	}
	if (nskus == 0) /* no SKU it reaches: the promotion itself */
		return add_claim(sc, p, "", p->currency && *p->currency ? p->currency : "XXX", "", "",
		                 at);
	for (size_t k = 0; k < nskus; k++) {
		const char *sku = skus[k];
		scopes ss;
		memset(&ss, 0, sizeof(ss));
		ss.r = r;
		ss.currency = p->currency && *p->currency ? p->currency : NULL;
		char prefix[DD_STORE_MAX_KEY + 1];
		size_t sl = strlen(sku);
		if (sl == 0 || sl + 1 > DD_STORE_MAX_KEY)
			continue;
		memcpy(prefix, sku, sl);
		prefix[sl] = '\0';
		if (dd_rtxn_scan(r->q->txn, DD_T_PRICES, (dd_val){ prefix, sl + 1 },
		                 (dd_val){ NULL, 0 }, one_scope, &ss) < 0)
			return dd_error_set(r->err, DD_ESTORE, "store: cannot read prices");
		for (size_t i = 0; i < ss.n; i++) {
			const char *chan = ss.chan[i];
			if (p->n_channels && *chan && !quote_in_list(p->channels, p->n_channels, chan))
				continue;
			for (size_t g = 0; g < nregions; g++) {
				if (p->n_channels && !*chan) {
					for (size_t h = 0; h < p->n_channels; h++) {
						int rc = add_claim(sc, p, sku, ss.cur[i], p->channels[h],
						                   regions[g], at);
						if (rc != DD_OK)
							return rc;
					}
				} else {
					int rc = add_claim(sc, p, sku, ss.cur[i], chan, regions[g], at);
					if (rc != DD_OK)
						return rc;
				}
			}
		}
	}
	return DD_OK;
}

static int targets(const Dealdesk__V1__Promotion *p, const Dealdesk__V1__PriceEntry *e)
{
	if (p->n_skus == 0 && p->n_categories == 0)
		return 1;
	return quote_in_list(p->skus, p->n_skus, e->sku) ||
	       (e->category && *e->category &&
	        quote_in_list(p->categories, p->n_categories, e->category));
}

static int price_claims(screen *sc, ProtobufCMessage *const *items, size_t n)
{
	quote_run *r = sc->r;
	qc_claims *cs = quote_claims_of(r);
	if (cs == NULL)
		return DD_ENOMEM;
	cs->proposal = (dd_history_proposal){ (const Dealdesk__V1__PriceEntry *const *)items, n,
		                              sc->now };
	cs->has_proposal = 1;
	for (size_t i = 0; i < n; i++) {
		const Dealdesk__V1__PriceEntry *e = (const void *)items[i];
		int64_t at = e->valid_from > sc->now ? e->valid_from : sc->now;
		int rc = add_claim(sc, NULL, e->sku, e->currency, e->channel, e->region, at);
		if (rc != DD_OK)
			return rc;
		/* the promotions on this SKU, judged again with the new price */
		for (size_t k = 0; k < r->q->npromos; k++) {
			const Dealdesk__V1__Promotion *p = r->q->promos[k].p;
			if (!p->enabled || (p->valid_to && p->valid_to <= sc->now) || !targets(p, e) ||
			    (p->currency && *p->currency && strcmp(p->currency, e->currency) != 0))
				continue;
			int64_t pat = p->valid_from > sc->now ? p->valid_from : sc->now;
			const char *chan = e->channel;
			if (p->n_channels && *chan && !quote_in_list(p->channels, p->n_channels, chan))
				continue;
			if (p->n_channels && !*chan)
				chan = p->channels[0];
			if ((rc = add_claim(sc, p, e->sku, e->currency, chan,
			                    p->n_regions ? p->regions[0] : e->region, pat)) != DD_OK)
				return rc;
		}
	}
	return DD_OK;
}

/* What the results say: refuse (BLOCK at authoring) or warn. */
static int judge(quote_run *r, dd_arena *a, char ***warnings, size_t *nwarnings, dd_error *err)
{
	const qo_order *o = &r->order;
	char buf[sizeof(err->msg)];
	size_t used = 0, nblock = 0, more = 0;
	/* room for the results, a line on the rest, and one on capped SKUs */
	char **w = dd_arena_calloc(a, o->compliance.n + 2, sizeof(*w));
	if (w == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	*warnings = w;
	*nwarnings = 0;
	for (size_t i = 0; i < o->compliance.n; i++) {
		const qo_result *res = &o->compliance.v[i];
		if (res->status != DEALDESK__V1__COMPLIANCE_STATUS__COMPLIANCE_STATUS_WARN &&
		    res->status != DEALDESK__V1__COMPLIANCE_STATUS__COMPLIANCE_STATUS_BLOCK)
			continue;
		/* a check's on_write decides; unset, a finding is a warning (a
		 * failing policy, no check's result, refuses) */
		int mode = strcmp(res->check_id, "policy-error") == 0
		                   ? DEALDESK__V1__COMPLIANCE_STATUS__COMPLIANCE_STATUS_BLOCK
		                   : DEALDESK__V1__COMPLIANCE_STATUS__COMPLIANCE_STATUS_WARN;
		for (size_t k = 0; k < r->q->nchecks; k++) {
			const Dealdesk__V1__ComplianceCheck *c = r->q->checks[k];
			if (strcmp(c->id, res->check_id) == 0 &&
			    c->on_write != DEALDESK__V1__COMPLIANCE_STATUS__COMPLIANCE_STATUS_UNSPECIFIED)
				mode = c->on_write;
		}
		if (mode == DEALDESK__V1__COMPLIANCE_STATUS__COMPLIANCE_STATUS_BLOCK) {
			if (nblock++ == 0)
				used = (size_t)snprintf(buf, sizeof(buf), "compliance BLOCK:");
			if (used < sizeof(buf))
				used += (size_t)snprintf(buf + used, sizeof(buf) - used, " %s: %s;",
				                         res->check_id, res->message);
		} else if (mode == DEALDESK__V1__COMPLIANCE_STATUS__COMPLIANCE_STATUS_WARN &&
		           *nwarnings >= SCREEN_MAX_WARNINGS) {
			more++;
		} else if (mode == DEALDESK__V1__COMPLIANCE_STATUS__COMPLIANCE_STATUS_WARN) {
			w[*nwarnings] = dd_arena_printf(a, "%s: %s", res->check_id, res->message);
			if (w[*nwarnings] == NULL)
				return dd_error_set(err, DD_ENOMEM, "out of memory");
			(*nwarnings)++;
		}
	}
	if (nblock > 0)
		return dd_error_set(err, DD_EPRECOND, "%s", buf);
	if (more > 0) {
		w[*nwarnings] = dd_arena_printf(a, "screen: %zu more warnings not shown", more);
		if (w[*nwarnings] == NULL)
			return dd_error_set(err, DD_ENOMEM, "out of memory");
		(*nwarnings)++;
	}
	return DD_OK;
}

static int any_check(const dd_quoter *q)
{
	for (size_t k = 0; k < q->nchecks; k++)
		if (q->checks[k]->enabled &&
		    q->checks[k]->on_write != DEALDESK__V1__COMPLIANCE_STATUS__COMPLIANCE_STATUS_PASS)
			return 1;
	return 0;
}

static int screen_run(quote_run *r, dd_entity_kind kind, ProtobufCMessage *const *items,
                      size_t n, int64_t now, const char **capped)
{
	dd_quoter *q = r->q;
	char key[16];
	dd_policy_active_key(DD_POLICY_COMPLIANCE, key);
	if (dd_rtxn_meta_u64(q->txn, key) == 0)
		return DD_OK; /* no policy: no quote runs either */
	int rc = quote_policy(q, DD_POLICY_COMPLIANCE, r->err);
	if (rc == DD_OK)
		rc = quote_refresh_data(q, r->err);
	if (rc != DD_OK || !any_check(q))
		return rc;
	qc_claims *cs = quote_claims_of(r);
	if (cs == NULL)
		return dd_error_set(r->err, DD_ENOMEM, "out of memory");
	cs->authoring = 1;
	screen sc = { r, now, NULL };
	if (kind == DD_ENTITY_PROMOTION) {
		for (size_t i = 0; i < n && rc == DD_OK; i++) {
			const Dealdesk__V1__Promotion *p = (const void *)items[i];
			if (p->enabled)
				rc = promotion_claims(&sc, p);
		}
	} else {
		rc = price_claims(&sc, items, n);
	}
	*capped = sc.capped;
	if (rc != DD_OK)
		return rc == DD_ENOMEM ? dd_error_set(r->err, rc, "out of memory") : rc;
	if (cs->n == 0)
		return DD_OK;
	return quote_comply_authoring(r);
}

int dd_compliance_screen(dd_quoter *q, dd_entity_kind kind, ProtobufCMessage *const *items,
                         size_t n, int64_t now, dd_arena *arena, char ***warnings,
                         size_t *nwarnings, dd_error *err)
{
	dd_error_clear(err);
	*warnings = NULL;
	*nwarnings = 0;
	if ((kind != DD_ENTITY_PROMOTION && kind != DD_ENTITY_PRICE) || n == 0)
		return DD_OK;
	Dealdesk__V1__QuoteRequest *req = dd_arena_alloc(arena, sizeof(*req));
	if (req == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	dealdesk__v1__quote_request__init(req);
	const char *cur = kind == DD_ENTITY_PRICE ? ((const Dealdesk__V1__PriceEntry *)(const void *)items[0])->currency
	                                          : ((const Dealdesk__V1__Promotion *)(const void *)items[0])->currency;
	req->currency = (char *)(cur && *cur ? cur : "XXX");
	req->request_time = now;
	quote_run r;
	memset(&r, 0, sizeof(r));
	r.q = q;
	r.arena = arena;
	r.err = err;
	r.order.req = req;
	r.order.time = now;
	r.order.exponent = dd_currency_exponent(req->currency);
	r.order.channel = r.order.region = "";
	int top = lua_gettop(q->L);
	if (dd_rtxn_begin(q->txn) != DD_OK)
		return dd_error_set(err, DD_ESTORE, "store: cannot begin a read");
	/* data and policies may change under the quoter's feet: the next
	 * quote checks them again */
	q->current = 0;
	q->run = &r;
	const char *capped = NULL;
	int rc = screen_run(&r, kind, items, n, now, &capped);
	q->run = NULL;
	q->generation++;
	dd_rtxn_end(q->txn);
	lua_settop(q->L, top);
	if (rc != DD_OK)
		return rc;
	rc = judge(&r, arena, warnings, nwarnings, err);
	if (rc == DD_OK && capped != NULL) {
		/* judge left room for it */
		(*warnings)[*nwarnings] = dd_arena_printf(
			arena, "screen: promotion %s reaches more than %d SKUs; the first %d in key order "
			       "were checked",
			capped, SCREEN_MAX_SKUS, SCREEN_MAX_SKUS);
		if ((*warnings)[*nwarnings] == NULL)
			return dd_error_set(err, DD_ENOMEM, "out of memory");
		(*nwarnings)++;
	}
	return rc;
}
