/* dealdesk quote: the one builder of the Lua view of the order state.
 *
 * Policies never get a copy of the order: `ctx` and everything under it
 * are read-only views (src/policy/host.h) whose fields are read from the
 * run's C state when a script asks for them, so what a policy sees is
 * always what the engine holds (a line's `total` after the promotions so
 * far, say), nothing is built that nobody reads, and nothing a script does
 * to a view reaches the engine or the next evaluation. Field names are the
 * README's "Policy interface".
 */
#include "quoter.h"

#include <string.h>

#include <lauxlib.h>

#define KEY(s) (len == sizeof(s) - 1 && memcmp(k, s, sizeof(s) - 1) == 0)

static quote_run *run_of(lua_State *L, void *obj)
{
	dd_quoter *q = obj;
	if (q->run == NULL)
		luaL_error(L, "ctx is only readable while a policy runs");
	return q->run;
}

static const char *or_empty(const char *s)
{
	return s ? s : "";
}

static int push_str(lua_State *L, const char *s)
{
	lua_pushstring(L, or_empty(s));
	return 1;
}

static int push_int(lua_State *L, int64_t v)
{
	lua_pushinteger(L, (lua_Integer)v);
	return 1;
}

static int push_bool(lua_State *L, int v)
{
	lua_pushboolean(L, v);
	return 1;
}

static const dd_view_class line_class, lines_class, signals_class, competitors_class,
	competitor_class, customer_class, profile_class, strset_class, strlist_class,
	attributes_class, coupon_info_class, coupon_class, usage_class, usage_entry_class;

static int sub(lua_State *L, const dd_view_class *cls, void *obj, uint32_t a, uint32_t b)
{
	dd_quoter *q = obj;
	dd_view_push(L, cls, obj, a, b, &q->generation);
	return 1;
}

/* ---- ctx ------------------------------------------------------------------- */

static int ctx_field(lua_State *L, void *obj, uint32_t a, uint32_t b, const char *k,
                     size_t len)
{
	quote_run *r = run_of(L, obj);
	const qo_order *o = &r->order;
	(void)a, (void)b;
	if (KEY("lines"))
		return sub(L, &lines_class, obj, 0, 0);
	if (KEY("now"))
		return push_int(L, o->time);
	if (KEY("currency"))
		return push_str(L, o->req->currency);
	if (KEY("exponent"))
		return push_int(L, o->exponent);
	if (KEY("channel"))
		return push_str(L, o->channel);
	if (KEY("region"))
		return push_str(L, o->region);
	if (KEY("customer"))
		return sub(L, &customer_class, obj, 0, 0);
	if (KEY("subtotal"))
		return push_int(L, o->subtotal);
	if (KEY("discount_total"))
		return push_int(L, o->discount_total);
	if (KEY("total"))
		return push_int(L, o->total);
	if (KEY("explain"))
		return push_bool(L, r->explain);
	if (KEY("order_id"))
		return push_str(L, o->req->order_id);
	if (KEY("coupons"))
		return sub(L, &strset_class, obj, 0, 0);
	if (KEY("coupon_list"))
		return sub(L, &strlist_class, obj, 0, 0);
	if (KEY("attributes"))
		return sub(L, &attributes_class, obj, 0, 0);
	if (KEY("coupon_info"))
		return sub(L, &coupon_info_class, obj, 0, 0);
	if (KEY("usage"))
		return sub(L, &usage_class, obj, 0, 0);
	return 0;
}

static const char *const ctx_keys[] = {
	"now", "currency", "exponent", "channel", "region", "order_id", "explain",
	"customer", "coupons", "coupon_list", "attributes", "lines", "subtotal",
	"discount_total", "total", "coupon_info", "usage", NULL,
};

/* pairs() over a record view: its field names in a fixed order */
static int record_entry(lua_State *L, void *obj, uint32_t a, uint32_t b, size_t pos,
                        const char *const *keys,
                        int (*field)(lua_State *, void *, uint32_t, uint32_t, const char *,
                                     size_t))
{
	for (;; pos++) {
		if (keys[pos] == NULL)
			return 0;
		lua_pushstring(L, keys[pos]);
		if (field(L, obj, a, b, keys[pos], strlen(keys[pos])))
			return 1;
		lua_pop(L, 1); /* nil field: not an entry */
	}
}

#define RECORD_ENTRY(name, keys, field)                                                  \
	static int name(lua_State *L, void *obj, uint32_t a, uint32_t b, size_t pos)      \
	{                                                                                 \
		return record_entry(L, obj, a, b, pos, keys, field);                      \
	}

RECORD_ENTRY(ctx_entry, ctx_keys, ctx_field)

static const dd_view_class ctx_class = { "ctx", ctx_field, NULL, NULL, ctx_entry };

/* ---- lines ----------------------------------------------------------------- */

static int lines_item(lua_State *L, void *obj, uint32_t a, uint32_t b, lua_Integer i)
{
	quote_run *r = run_of(L, obj);
	(void)a, (void)b;
	if (i < 1 || (size_t)i > r->order.nlines)
		return 0;
	return sub(L, &line_class, obj, (uint32_t)(i - 1), 0);
}

static lua_Integer lines_length(void *obj, uint32_t a, uint32_t b)
{
	dd_quoter *q = obj;
	(void)a, (void)b;
	return q->run ? (lua_Integer)q->run->order.nlines : 0;
}

static const dd_view_class lines_class = { "ctx.lines", NULL, lines_item, lines_length, NULL };

static const char *rounding_name(dd_rounding mode)
{
	switch (mode) {
	case DD_ROUND_HALF_UP: return "half_up";
	case DD_ROUND_DOWN: return "down";
	case DD_ROUND_UP: return "up";
	default: return "half_even";
	}
}

static int line_field(lua_State *L, void *obj, uint32_t a, uint32_t b, const char *k,
                      size_t len)
{
	quote_run *r = run_of(L, obj);
	const qo_line *l = &r->order.lines[a];
	const Dealdesk__V1__PriceEntry *e = l->price;
	(void)b;
	if (KEY("unit_price"))
		return push_int(L, l->unit_price);
	if (KEY("quantity"))
		return push_int(L, l->quantity);
	if (KEY("sku"))
		return push_str(L, l->sku);
	if (KEY("list_price"))
		return push_int(L, e->unit_price);
	if (KEY("subtotal"))
		return push_int(L, l->subtotal);
	if (KEY("total"))
		return push_int(L, qo_line_total(l));
	if (KEY("discount"))
		return push_int(L, l->discount);
	if (KEY("gift"))
		return push_bool(L, l->gift);
	if (KEY("rounding"))
		return push_str(L, rounding_name(l->rounding));
	if (KEY("category"))
		return push_str(L, e->category);
	if (KEY("unit_cost"))
		return push_int(L, e->unit_cost);
	if (KEY("list_subtotal"))
		return push_int(L, l->list_subtotal);
	if (KEY("no"))
		return push_int(L, a);
	if (KEY("floor"))
		return push_int(L, e->floor_price);
	if (KEY("ceiling"))
		return push_int(L, e->ceiling_price);
	if (KEY("price_list"))
		return push_str(L, e->price_list_id);
	if (KEY("price_tier"))
		return push_int(L, l->price_tier);
	if (KEY("name"))
		return push_str(L, e->name);
	if (KEY("signals"))
		return l->signals ? sub(L, &signals_class, obj, a, 0) : 0;
	return 0;
}

static const char *const line_keys[] = {
	"no", "sku", "name", "quantity", "category", "price_list", "price_tier",
	"list_price", "unit_price", "unit_cost", "floor", "ceiling", "list_subtotal",
	"subtotal", "discount", "total", "rounding", "gift", "signals", NULL,
};
RECORD_ENTRY(line_entry, line_keys, line_field)

static const dd_view_class line_class = { "ctx.lines[i]", line_field, NULL, NULL, line_entry };

/* ---- market signals ------------------------------------------------------- */

static int signals_field(lua_State *L, void *obj, uint32_t a, uint32_t b, const char *k,
                         size_t len)
{
	quote_run *r = run_of(L, obj);
	const Dealdesk__V1__SkuSignals *s = r->order.lines[a].signals;
	(void)b;
	if (KEY("inventory"))
		return push_int(L, s->inventory_on_hand);
	if (KEY("inventory_at"))
		return push_int(L, s->inventory_at);
	if (KEY("demand_per_week"))
		return push_int(L, s->demand_per_week);
	if (KEY("demand_at"))
		return push_int(L, s->demand_at);
	if (KEY("competitors"))
		return sub(L, &competitors_class, obj, a, 0);
	return 0;
}

static const char *const signals_keys[] = {
	"inventory", "inventory_at", "demand_per_week", "demand_at", "competitors", NULL,
};
RECORD_ENTRY(signals_entry, signals_keys, signals_field)

static const dd_view_class signals_class = { "ctx.lines[i].signals", signals_field, NULL,
	                                     NULL, signals_entry };

static int competitors_item(lua_State *L, void *obj, uint32_t a, uint32_t b, lua_Integer i)
{
	quote_run *r = run_of(L, obj);
	(void)b;
	if (i < 1 || (size_t)i > r->order.lines[a].signals->n_competitor_prices)
		return 0;
	return sub(L, &competitor_class, obj, a, (uint32_t)(i - 1));
}

static lua_Integer competitors_length(void *obj, uint32_t a, uint32_t b)
{
	dd_quoter *q = obj;
	(void)b;
	return q->run ? (lua_Integer)q->run->order.lines[a].signals->n_competitor_prices : 0;
}

static const dd_view_class competitors_class = { "ctx.lines[i].signals.competitors", NULL,
	                                         competitors_item, competitors_length, NULL };

static int competitor_field(lua_State *L, void *obj, uint32_t a, uint32_t b, const char *k,
                            size_t len)
{
	quote_run *r = run_of(L, obj);
	const Dealdesk__V1__CompetitorPrice *c = r->order.lines[a].signals->competitor_prices[b];
	if (KEY("price"))
		return push_int(L, c->price);
	if (KEY("currency"))
		return push_str(L, c->currency);
	if (KEY("observed_at"))
		return push_int(L, c->observed_at);
	if (KEY("competitor"))
		return push_str(L, c->competitor);
	return 0;
}

static const char *const competitor_keys[] = { "competitor", "currency", "price",
	                                       "observed_at", NULL };
RECORD_ENTRY(competitor_entry, competitor_keys, competitor_field)

static const dd_view_class competitor_class = { "competitor", competitor_field, NULL, NULL,
	                                        competitor_entry };

/* ---- customer and credit ----------------------------------------------------- */

static int customer_field(lua_State *L, void *obj, uint32_t a, uint32_t b, const char *k,
                          size_t len)
{
	quote_run *r = run_of(L, obj);
	const Dealdesk__V1__Customer *c = r->order.customer;
	(void)a, (void)b;
	if (KEY("id"))
		return push_str(L, c->id);
	if (KEY("group"))
		return push_str(L, c->customer_group);
	if (KEY("segment"))
		return push_str(L, c->segment);
	if (KEY("loyalty_tier"))
		return push_str(L, c->loyalty_tier);
	if (KEY("order_count"))
		return push_int(L, c->order_count);
	if (KEY("last_order_at"))
		return push_int(L, c->last_order_at);
	if (KEY("first_order_at"))
		return push_int(L, c->first_order_at);
	if (KEY("name"))
		return push_str(L, c->name);
	if (KEY("tier"))
		return push_str(L, c->credit ? c->credit->tier : "");
	if (KEY("credit"))
		return sub(L, &profile_class, obj, 0, 0);
	return 0;
}

static const char *const customer_keys[] = {
	"id", "name", "group", "segment", "tier", "loyalty_tier", "order_count",
	"first_order_at", "last_order_at", "credit", NULL,
};
RECORD_ENTRY(customer_entry, customer_keys, customer_field)

static const dd_view_class customer_class = { "ctx.customer", customer_field, NULL, NULL,
	                                      customer_entry };

/* Fields of a credit profile; a = 1 for the credit policy's argument, which
 * adds what the engine computed for this order. */
static int profile_field(lua_State *L, void *obj, uint32_t a, uint32_t b, const char *k,
                         size_t len)
{
	quote_run *r = run_of(L, obj);
	const Dealdesk__V1__CreditProfile *c = r->order.customer->credit;
	const qo_credit *d = &r->order.credit;
	(void)b;
	if (KEY("present"))
		return push_bool(L, c != NULL);
	if (KEY("limit"))
		return push_int(L, c ? c->credit_limit : 0);
	if (KEY("currency"))
		return push_str(L, c ? c->currency : "");
	if (KEY("open_receivables"))
		return push_int(L, c ? c->open_receivables : 0);
	if (KEY("committed_orders"))
		return push_int(L, c ? c->committed_orders : 0);
	if (KEY("terms_days"))
		return push_int(L, c ? c->standard_terms_days : 0);
	if (KEY("overdue_days"))
		return push_int(L, c ? c->oldest_overdue_days : 0);
	if (KEY("tier"))
		return push_str(L, c ? c->tier : "");
	if (KEY("next_review_at"))
		return push_int(L, c ? c->next_review_at : 0);
	if (KEY("hold"))
		return push_bool(L, c ? c->hold : 0);
	if (a == 1) {
		if (KEY("exposure"))
			return push_int(L, d->exposure);
		if (KEY("available"))
			return push_int(L, d->available);
		if (KEY("order_total"))
			return push_int(L, r->order.total);
		if (KEY("same_currency"))
			return push_bool(L, d->same_currency);
	}
	return 0;
}

static const char *const profile_keys[] = {
	"present", "same_currency", "currency", "limit", "open_receivables",
	"committed_orders", "order_total", "exposure", "available", "terms_days",
	"overdue_days", "tier", "next_review_at", "hold", NULL,
};
RECORD_ENTRY(profile_entry, profile_keys, profile_field)

static const dd_view_class profile_class = { "ctx.customer.credit", profile_field, NULL, NULL,
	                                     profile_entry };
static const dd_view_class credit_class = { "credit", profile_field, NULL, NULL,
	                                    profile_entry };

/* ---- coupons and attributes ------------------------------------------------ */

static const Dealdesk__V1__QuoteRequest *req_of(lua_State *L, void *obj)
{
	return run_of(L, obj)->order.req;
}

static int find_code(const Dealdesk__V1__QuoteRequest *req, const char *k, size_t len)
{
	for (size_t i = 0; i < req->n_coupon_codes; i++)
		if (strlen(req->coupon_codes[i]) == len && memcmp(req->coupon_codes[i], k, len) == 0)
			return (int)i;
	return -1;
}

/* ctx.coupons: {[code] = true} */
static int strset_field(lua_State *L, void *obj, uint32_t a, uint32_t b, const char *k,
                        size_t len)
{
	(void)a, (void)b;
	return find_code(req_of(L, obj), k, len) >= 0 ? push_bool(L, 1) : 0;
}

static int strset_entry(lua_State *L, void *obj, uint32_t a, uint32_t b, size_t pos)
{
	const Dealdesk__V1__QuoteRequest *req = req_of(L, obj);
	(void)a, (void)b;
	if (pos >= req->n_coupon_codes)
		return 0;
	lua_pushstring(L, req->coupon_codes[pos]);
	lua_pushboolean(L, 1);
	return 1;
}

static const dd_view_class strset_class = { "ctx.coupons", strset_field, NULL, NULL,
	                                    strset_entry };

/* ctx.coupon_list: the codes in request order */
static int strlist_item(lua_State *L, void *obj, uint32_t a, uint32_t b, lua_Integer i)
{
	const Dealdesk__V1__QuoteRequest *req = req_of(L, obj);
	(void)a, (void)b;
	if (i < 1 || (size_t)i > req->n_coupon_codes)
		return 0;
	return push_str(L, req->coupon_codes[i - 1]);
}

static lua_Integer strlist_length(void *obj, uint32_t a, uint32_t b)
{
	dd_quoter *q = obj;
	(void)a, (void)b;
	return q->run ? (lua_Integer)q->run->order.req->n_coupon_codes : 0;
}

static const dd_view_class strlist_class = { "ctx.coupon_list", NULL, strlist_item,
	                                     strlist_length, NULL };

static int attributes_field(lua_State *L, void *obj, uint32_t a, uint32_t b, const char *k,
                            size_t len)
{
	const Dealdesk__V1__QuoteRequest *req = req_of(L, obj);
	(void)a, (void)b;
	/* the last entry of a key wins, as a table built in order would */
	for (size_t i = req->n_attributes; i-- > 0;) {
		const char *key = req->attributes[i]->key;
		if (strlen(key) == len && memcmp(key, k, len) == 0)
			return push_str(L, req->attributes[i]->value);
	}
	return 0;
}

static int attributes_entry(lua_State *L, void *obj, uint32_t a, uint32_t b, size_t pos)
{
	const Dealdesk__V1__QuoteRequest *req = req_of(L, obj);
	(void)a, (void)b;
	for (; pos < req->n_attributes; pos++) {
		const char *key = req->attributes[pos]->key;
		int later = 0;
		for (size_t j = pos + 1; j < req->n_attributes && !later; j++)
			later = strcmp(req->attributes[j]->key, key) == 0;
		if (later)
			continue; /* shown once, with its last value */
		lua_pushstring(L, key);
		push_str(L, req->attributes[pos]->value);
		return 1;
	}
	return 0;
}

static const dd_view_class attributes_class = { "ctx.attributes", attributes_field, NULL, NULL,
	                                        attributes_entry };

/* ctx.coupon_info[code]: the codes the store keeps as Coupon records */
static int coupon_info_field(lua_State *L, void *obj, uint32_t a, uint32_t b, const char *k,
                             size_t len)
{
	quote_run *r = run_of(L, obj);
	int i = find_code(r->order.req, k, len);
	(void)a, (void)b;
	if (i < 0 || r->order.coupons[i].record == NULL)
		return 0;
	return sub(L, &coupon_class, obj, (uint32_t)i, 0);
}

static int coupon_info_entry(lua_State *L, void *obj, uint32_t a, uint32_t b, size_t pos)
{
	quote_run *r = run_of(L, obj);
	(void)a, (void)b;
	for (; pos < r->order.req->n_coupon_codes; pos++)
		if (r->order.coupons[pos].record) {
			lua_pushstring(L, r->order.coupons[pos].code);
			return sub(L, &coupon_class, obj, (uint32_t)pos, 0);
		}
	return 0;
}

static const dd_view_class coupon_info_class = { "ctx.coupon_info", coupon_info_field, NULL,
	                                         NULL, coupon_info_entry };

static int coupon_field(lua_State *L, void *obj, uint32_t a, uint32_t b, const char *k,
                        size_t len)
{
	const qo_coupon *c = &run_of(L, obj)->order.coupons[a];
	(void)b;
	if (KEY("promotion"))
		return push_str(L, c->record->promotion_id);
	if (KEY("valid"))
		return push_bool(L, *c->reason == '\0');
	if (KEY("reason"))
		return push_str(L, c->reason);
	if (KEY("uses"))
		return push_int(L, c->uses);
	if (KEY("customer_uses"))
		return push_int(L, c->customer_uses);
	return 0;
}

static const char *const coupon_keys[] = { "promotion", "valid", "reason", "uses",
	                                   "customer_uses", NULL };
RECORD_ENTRY(coupon_entry, coupon_keys, coupon_field)

static const dd_view_class coupon_class = { "ctx.coupon_info[code]", coupon_field, NULL, NULL,
	                                    coupon_entry };

/* ctx.usage[promotion id]: budget counters of the candidates that have a
 * budget */
static int usage_field(lua_State *L, void *obj, uint32_t a, uint32_t b, const char *k,
                       size_t len)
{
	quote_run *r = run_of(L, obj);
	dd_quoter *q = obj;
	(void)a, (void)b;
	for (size_t i = 0; i < r->order.candidates.n; i++) {
		const qo_candidate *c = &r->order.candidates.v[i];
		const char *id = q->promos[c->slot].p->id;
		if (c->has_usage && strlen(id) == len && memcmp(id, k, len) == 0)
			return sub(L, &usage_entry_class, obj, (uint32_t)i, 0);
	}
	return 0;
}

static int usage_entry(lua_State *L, void *obj, uint32_t a, uint32_t b, size_t pos)
{
	quote_run *r = run_of(L, obj);
	dd_quoter *q = obj;
	(void)a, (void)b;
	for (; pos < r->order.candidates.n; pos++)
		if (r->order.candidates.v[pos].has_usage) {
			lua_pushstring(L, q->promos[r->order.candidates.v[pos].slot].p->id);
			return sub(L, &usage_entry_class, obj, (uint32_t)pos, 0);
		}
	return 0;
}

static const dd_view_class usage_class = { "ctx.usage", usage_field, NULL, NULL, usage_entry };

static int usage_entry_field(lua_State *L, void *obj, uint32_t a, uint32_t b, const char *k,
                             size_t len)
{
	const qo_candidate *c = &run_of(L, obj)->order.candidates.v[a];
	(void)b;
	if (KEY("uses"))
		return push_int(L, c->uses);
	if (KEY("amount"))
		return push_int(L, c->amount);
	if (KEY("customer_uses"))
		return push_int(L, c->customer_uses);
	if (KEY("customer_amount"))
		return push_int(L, c->customer_amount);
	return 0;
}

static const char *const usage_keys[] = { "uses", "amount", "customer_uses",
	                                  "customer_amount", NULL };
RECORD_ENTRY(usage_entry_entry, usage_keys, usage_entry_field)

static const dd_view_class usage_entry_class = { "ctx.usage[id]", usage_entry_field, NULL,
	                                         NULL, usage_entry_entry };

/* ---- promotions and checks: the frozen tables of the candidates ------------- */

static int promos_item(lua_State *L, void *obj, uint32_t a, uint32_t b, lua_Integer i)
{
	quote_run *r = run_of(L, obj);
	(void)a, (void)b;
	if (i < 1 || (size_t)i > r->order.candidates.n)
		return 0;
	lua_rawgeti(L, LUA_REGISTRYINDEX, r->q->promos_ref);
	lua_rawgeti(L, -1, (lua_Integer)r->order.candidates.v[i - 1].slot + 1);
	lua_remove(L, -2);
	return 1;
}

static lua_Integer promos_length(void *obj, uint32_t a, uint32_t b)
{
	dd_quoter *q = obj;
	(void)a, (void)b;
	return q->run ? (lua_Integer)q->run->order.candidates.n : 0;
}

static const dd_view_class promos_class = { "promotions", NULL, promos_item, promos_length,
	                                    NULL };

static int checks_item(lua_State *L, void *obj, uint32_t a, uint32_t b, lua_Integer i)
{
	quote_run *r = run_of(L, obj);
	(void)a, (void)b;
	if (i < 1 || (size_t)i > r->q->nchecks)
		return 0;
	lua_rawgeti(L, LUA_REGISTRYINDEX, r->q->checks_ref);
	lua_rawgeti(L, -1, i);
	lua_remove(L, -2);
	return 1;
}

static lua_Integer checks_length(void *obj, uint32_t a, uint32_t b)
{
	dd_quoter *q = obj;
	(void)a, (void)b;
	return q->run ? (lua_Integer)q->nchecks : 0;
}

static const dd_view_class checks_class = { "checks", NULL, checks_item, checks_length, NULL };

int quote_views_create(dd_quoter *q)
{
	if (dd_view_ref(q->sb, &ctx_class, q, 0, 0, &q->ctx_view) != DD_OK ||
	    dd_view_ref(q->sb, &credit_class, q, 1, 0, &q->credit_view) != DD_OK ||
	    dd_view_ref(q->sb, &promos_class, q, 0, 0, &q->promos_view) != DD_OK ||
	    dd_view_ref(q->sb, &checks_class, q, 0, 0, &q->checks_view) != DD_OK)
		return DD_ENOMEM;
	return DD_OK;
}

void quote_views_free(dd_quoter *q)
{
	dd_view_unref(q->sb, q->ctx_view);
	dd_view_unref(q->sb, q->credit_view);
	dd_view_unref(q->sb, q->promos_view);
	dd_view_unref(q->sb, q->checks_view);
	q->ctx_view = q->credit_view = q->promos_view = q->checks_view = 0;
}
