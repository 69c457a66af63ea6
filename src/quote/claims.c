/* dealdesk quote: price claims and the price history the compliance checks
 * read (claims.h). The host primitives, for the compliance policy only:
 *
 *   dd.claims()                  -> array of claims (fields: README "Price
 *                                   history and price claims")
 *   dd.list_prices(c, from, to)  -> { evidence, from, to, points, low,
 *                                     low_from, low_to }   (low nil: none)
 *   dd.applied_prices(c, from, to) -> the same of the lowest price applied
 *                                   to everyone: list prices lowered by the
 *                                   public promotions then in force (but
 *                                   the claim's own); a point of one has
 *                                   promotion = its id
 *   dd.sales(c, from, to)        -> { evidence, from, to, points, low, low_at }
 *   dd.last_sale(c, before)      -> { evidence, found, price, at, ref }
 *
 * Each history read is kept as evidence; a result naming its evidence id
 * (evidence = id or { id, ... }) carries that series and its SHA-256. */
#include "claims.h"

#include <stdio.h>
#include <string.h>

#include <lauxlib.h>
#include <openssl/evp.h>

#include "readers.h"

qc_claims *quote_claims_of(quote_run *r)
{
	if (r->claims == NULL)
		r->claims = dd_arena_calloc(r->arena, 1, sizeof(*r->claims));
	return r->claims;
}

int quote_claims_add(quote_run *r, const qc_claim *c)
{
	qc_claims *cs = quote_claims_of(r);
	if (cs == NULL)
		return DD_ENOMEM;
	if (cs->n >= QC_MAX_CLAIMS)
		return DD_OK;
	if (cs->n == cs->cap) {
		size_t cap = cs->cap ? cs->cap * 2 : 16;
		qc_claim *v = dd_arena_alloc(r->arena, cap * sizeof(*v));
		if (v == NULL)
			return DD_ENOMEM;
		if (cs->n)
			memcpy(v, cs->v, cs->n * sizeof(*v));
		cs->v = v;
		cs->cap = cap;
	}
	cs->v[cs->n++] = *c;
	return DD_OK;
}

const dd_history_proposal *quote_claims_proposal(const quote_run *r)
{
	return r->claims && r->claims->has_proposal ? &r->claims->proposal : NULL;
}

int64_t quote_claim_offer(const Dealdesk__V1__Promotion *p, int64_t list)
{
	return dd_history_promotion_price(p, list);
}

int32_t quote_claim_announced(const Dealdesk__V1__Promotion *p)
{
	if (p->announced_percent_bps > 0)
		return p->announced_percent_bps;
	return p->kind == DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_PERCENTAGE ? p->percent_bps
	                                                                          : 0;
}

/* ---- claims of a quote: each line, once per promotion that reduced it ------ */

static const Dealdesk__V1__Promotion *find_promotion(const quote_run *r, const char *id)
{
	const qo_order *o = &r->order;
	for (size_t i = 0; i < o->candidates.n; i++) {
		const Dealdesk__V1__Promotion *p = r->q->promos[o->candidates.v[i].slot].p;
		if (strcmp(p->id, id) == 0)
			return p;
	}
	return NULL;
}

static int build_quote_claims(quote_run *r)
{
	qc_claims *cs = quote_claims_of(r);
	if (cs == NULL)
		return DD_ENOMEM;
	if (cs->built || cs->authoring)
		return DD_OK;
	cs->built = 1;
	const qo_order *o = &r->order;
	for (size_t i = 0; i < o->nlines; i++) {
		const qo_line *l = &o->lines[i];
		if (l->gift || l->quantity <= 0)
			continue;
		qc_claim c = { NULL, l->sku, o->req->currency, o->channel, o->region, (int32_t)i,
			       o->time, o->time, o->time, 1, l->price->unit_price, l->unit_price,
			       l->price->unit_cost, 0, 0, o->exponent };
		size_t made = 0;
		for (size_t d = 0; d < l->line_disc.n; d++) {
			const qo_discount *disc = &l->line_disc.v[d];
			const Dealdesk__V1__Promotion *p = find_promotion(r, disc->promotion_id);
			if (p == NULL)
				continue;
			qc_claim pc = c;
			pc.promo = p;
			pc.offer_price = (l->subtotal - disc->amount) / l->quantity;
			pc.start = p->valid_from ? p->valid_from : o->time;
			pc.first_start = p->reduction_started_at && p->reduction_started_at < pc.start
			                         ? p->reduction_started_at
			                         : pc.start;
			pc.reference_price = p->reference_price;
			pc.announced_bps = quote_claim_announced(p);
			if (quote_claims_add(r, &pc) != DD_OK)
				return DD_ENOMEM;
			made++;
		}
		if (made == 0 && quote_claims_add(r, &c) != DD_OK)
			return DD_ENOMEM;
	}
	return DD_OK;
}

/* ---- the primitives --------------------------------------------------------- */

static quote_run *comply_run(lua_State *L)
{
	dd_quoter *q = lua_touserdata(L, lua_upvalueindex(1));
	if (q->run == NULL || q->run->stage != QS_COMPLY)
		luaL_error(L, "price history primitives work only in the compliance policy");
	return q->run;
}

static const char *kind_name(int kind)
{
	const ProtobufCEnumValue *v =
		protobuf_c_enum_descriptor_get_value(&dealdesk__v1__promotion_kind__descriptor, kind);
	const char *n = v ? v->name : "PROMOTION_KIND_UNSPECIFIED";
	return strncmp(n, "PROMOTION_KIND_", 15) == 0 ? n + 15 : n;
}

static void push_claim(lua_State *L, const qc_claim *c, size_t index)
{
	const Dealdesk__V1__Promotion *p = c->promo;
	lua_createtable(L, 0, 30);
	quote_set_int(L, "index", (int64_t)index + 1);
	quote_set_str(L, "promotion", p ? p->id : "");
	quote_set_str(L, "kind", p ? kind_name(p->kind) : "PRICE");
	quote_set_str(L, "sku", c->sku);
	quote_set_str(L, "currency", c->currency);
	quote_set_str(L, "channel", c->channel);
	quote_set_str(L, "region", c->region);
	quote_set_int(L, "line", c->line);
	quote_set_int(L, "at", c->at);
	quote_set_int(L, "start", c->start);
	quote_set_int(L, "first_start", c->first_start);
	quote_set_bool(L, "has_list", c->has_list);
	quote_set_int(L, "list_price", c->list_price);
	quote_set_int(L, "offer_price", c->offer_price);
	quote_set_int(L, "unit_cost", c->unit_cost);
	quote_set_int(L, "reference_price", c->reference_price);
	quote_set_int(L, "announced_bps", c->announced_bps);
	quote_set_int(L, "exponent", c->exponent);
	quote_set_bool(L, "authoring", c->line < 0);
	if (p) {
		quote_set_str(L, "terms", p->terms);
		quote_set_bool(L, "perishable", p->perishable);
		quote_set_int(L, "valid_from", p->valid_from);
		quote_set_int(L, "valid_to", p->valid_to);
		quote_set_bool(L, "advertised", !(p->requires_coupon || (p->coupon_code && *p->coupon_code)));
		quote_set_bool(L, "conditional",
		               p->min_amount > 0 || p->min_quantity > 0 || p->n_customer_groups > 0 ||
		                       p->n_customer_segments > 0 || p->n_customer_tiers > 0 ||
		                       p->new_customers_only || p->dormant_days > 0 ||
		                       p->requires_coupon || (p->coupon_code && *p->coupon_code) ||
		                       (p->condition && *p->condition) || p->threshold > 0);
		quote_set_int(L, "percent_bps", p->percent_bps);
		lua_createtable(L, (int)p->n_customer_tiers, 0);
		for (size_t i = 0; i < p->n_customer_tiers; i++) {
			lua_pushstring(L, p->customer_tiers[i]);
			lua_rawseti(L, -2, (lua_Integer)i + 1);
		}
		lua_setfield(L, -2, "customer_tiers");
	}
}

static int lua_claims(lua_State *L)
{
	quote_run *r = comply_run(L);
	if (build_quote_claims(r) != DD_OK)
		return luaL_error(L, "out of memory");
	const qc_claims *cs = r->claims;
	dd_sandbox_charge(L, 10 + 30 * cs->n);
	lua_createtable(L, (int)cs->n, 0);
	for (size_t i = 0; i < cs->n; i++) {
		push_claim(L, &cs->v[i], i);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	return 1;
}

static const qc_claim *arg_claim(lua_State *L, quote_run *r)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	lua_pushstring(L, "index");
	lua_rawget(L, 1);
	lua_Integer i = lua_isinteger(L, -1) ? lua_tointeger(L, -1) : 0;
	lua_pop(L, 1);
	if (r->claims == NULL || i < 1 || (size_t)i > r->claims->n)
		luaL_error(L, "argument #1 must be a claim of dd.claims()");
	return &r->claims->v[i - 1];
}

static int64_t arg_time(lua_State *L, int idx)
{
	if (!lua_isinteger(L, idx))
		luaL_error(L, "argument #%d must be an integer time (Unix seconds)", idx);
	return (int64_t)lua_tointeger(L, idx);
}

/* Reads what, keeps it as evidence and pushes the answer table. */
static int history(lua_State *L, int what)
{
	quote_run *r = comply_run(L);
	const qc_claim *c = arg_claim(L, r);
	int64_t from = what == QH_LAST ? 0 : arg_time(L, 2);
	const char *exclude = c->promo ? c->promo->id : NULL;
	int64_t to = arg_time(L, what == QH_LAST ? 2 : 3);
	if (what != QH_LAST && from >= to)
		return luaL_error(L, "the window must have from < to");
	qc_claims *cs = r->claims;
	if (cs->nev >= QC_MAX_EVIDENCE)
		return luaL_error(L, "at most %d price history reads per evaluation", QC_MAX_EVIDENCE);
	dd_price_scope s = { c->sku, c->currency, c->channel, c->region };
	dd_price_point *p = NULL;
	size_t n = 0;
	int rc = quote_load_history(r, what, &s, exclude, from, to, &p, &n);
	if (rc != DD_OK)
		return luaL_error(L, "cannot read the price history of %s: %s", c->sku,
		                  dd_strerror(rc));
	dd_sandbox_charge(L, 20 + 10 * n);
	qc_evidence *ev = &cs->ev[cs->nev++];
	*ev = (qc_evidence){ what == QH_LAST ? (n ? p->from : 0) : from, to, p, n };
	lua_createtable(L, 0, 8);
	quote_set_int(L, "evidence", (int64_t)cs->nev);
	quote_set_int(L, "from", ev->from);
	quote_set_int(L, "to", to);
	if (what == QH_LAST) {
		quote_set_bool(L, "found", n == 1);
		if (n == 1) {
			quote_set_int(L, "price", p->price);
			quote_set_int(L, "at", p->from);
			quote_set_str(L, "ref", p->ref);
		}
		return 1;
	}
	quote_set_int(L, "n", (int64_t)n);
	lua_createtable(L, (int)n, 0);
	for (size_t i = 0; i < n; i++) {
		lua_createtable(L, 0, 4);
		quote_set_int(L, "from", p[i].from);
		quote_set_int(L, "to", p[i].to);
		quote_set_int(L, "price", p[i].price);
		quote_set_str(L, "ref", p[i].ref);
		if (p[i].promo)
			quote_set_str(L, "promotion", p[i].ref);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	lua_setfield(L, -2, "points");
	long lo = dd_history_lowest(p, n);
	if (lo >= 0) {
		quote_set_int(L, "low", p[lo].price);
		if (what != QH_SALES) {
			quote_set_int(L, "low_from", p[lo].from);
			quote_set_int(L, "low_to", p[lo].to);
		} else {
			quote_set_int(L, "low_at", p[lo].from);
		}
	}
	return 1;
}

static int lua_list_prices(lua_State *L)
{
	return history(L, QH_LIST);
}

static int lua_applied_prices(lua_State *L)
{
	return history(L, QH_APPLIED);
}

static int lua_sales(lua_State *L)
{
	return history(L, QH_SALES);
}

static int lua_last_sale(lua_State *L)
{
	return history(L, QH_LAST);
}

void quote_claims_register(dd_quoter *q)
{
	dd_sandbox_register(q->sb, "claims", lua_claims, q);
	dd_sandbox_register(q->sb, "list_prices", lua_list_prices, q);
	dd_sandbox_register(q->sb, "applied_prices", lua_applied_prices, q);
	dd_sandbox_register(q->sb, "sales", lua_sales, q);
	dd_sandbox_register(q->sb, "last_sale", lua_last_sale, q);
}

/* ---- evidence on a result ------------------------------------------------------ */

int quote_claims_attach(quote_run *r, const int64_t *ids, size_t n, qo_result *res)
{
	qc_claims *cs = r->claims;
	size_t total = 0;
	for (size_t i = 0; i < n; i++) {
		if (cs == NULL || ids[i] < 1 || (uint64_t)ids[i] > cs->nev)
			return DD_EINVAL;
		total += cs->ev[ids[i] - 1].n;
	}
	dd_price_point *p = dd_arena_alloc(r->arena, (total ? total : 1) * sizeof(*p));
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	if (p == NULL || md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(md);
		return DD_ENOMEM;
	}
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		const qc_evidence *ev = &cs->ev[ids[i] - 1];
		if (i == 0 || ev->from < res->window_from)
			res->window_from = ev->from;
		if (i == 0 || ev->to > res->window_to)
			res->window_to = ev->to;
		for (size_t j = 0; j < ev->n; j++) {
			char line[160];
			const dd_price_point *q = &ev->p[j];
			int len = snprintf(line, sizeof(line), "%s %lld %lld %lld %s\n",
			                   dd_price_point_source(q), (long long)q->from,
			                   (long long)q->to, (long long)q->price, q->ref ? q->ref : "");
			EVP_DigestUpdate(md, line, len > 0 && (size_t)len < sizeof(line) ? (size_t)len
			                                                                  : sizeof(line) - 1);
			p[k++] = *q;
		}
	}
	unsigned char h[32];
	unsigned hl = 0;
	int ok = EVP_DigestFinal_ex(md, h, &hl) == 1 && hl == 32;
	EVP_MD_CTX_free(md);
	char *hex = dd_arena_alloc(r->arena, 65);
	if (!ok || hex == NULL)
		return DD_ENOMEM;
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", h[i]);
	res->evidence = p;
	res->nevidence = k;
	res->evidence_sha256 = hex;
	return DD_OK;
}
