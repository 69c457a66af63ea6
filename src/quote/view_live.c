/* dealdesk quote: the views of the order state that read the engine's
 * state when a policy asks (src/policy/host.h): ctx.coupons,
 * ctx.coupon_list, ctx.attributes, ctx.coupon_info, ctx.usage, a line's
 * signals and competitors, and the promotions and checks arrays. Each
 * belongs to the evaluation that made it: kept and read later it refuses
 * ("belongs to an evaluation that has ended"). The tables behind ctx,
 * the customer, credit and the lines are in view.c. */
#include "quoter.h"
#include "view.h"

#include <stdlib.h>
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

static const dd_sandbox_view_class competitors_class, competitor_class, coupon_class,
	usage_entry_class;

static int sub(lua_State *L, const dd_sandbox_view_class *cls, void *obj, uint32_t a, uint32_t b)
{
	dd_quoter *q = obj;
	dd_sandbox_push_view(L, cls, obj, a, b, &q->generation);
	return 1;
}

/* pairs() over a record view: its field names in a fixed order */
static int record_entry(lua_State *L, void *obj, uint32_t a, uint32_t b, size_t *at,
                        const char *const *keys,
                        int (*field)(lua_State *, void *, uint32_t, uint32_t, const char *,
                                     size_t))
{
	for (size_t pos = *at;; pos++) {
		if (keys[pos] == NULL)
			return 0;
		lua_pushstring(L, keys[pos]);
		if (field(L, obj, a, b, keys[pos], strlen(keys[pos]))) {
			*at = pos;
			return 1;
		}
		lua_pop(L, 1); /* nil field: not an entry */
	}
}

#define RECORD_ENTRY(name, keys, field)                                                  \
	static int name(lua_State *L, void *obj, uint32_t a, uint32_t b, size_t *pos)     \
	{                                                                                 \
		return record_entry(L, obj, a, b, pos, keys, field);                      \
	}

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

const dd_sandbox_view_class quote_view_signals = { "ctx.lines[i].signals", signals_field, NULL,
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

static const dd_sandbox_view_class competitors_class = { "ctx.lines[i].signals.competitors", NULL,
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

static const dd_sandbox_view_class competitor_class = { "competitor", competitor_field, NULL, NULL,
	                                        competitor_entry };

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

static int strset_entry(lua_State *L, void *obj, uint32_t a, uint32_t b, size_t *at)
{
	const Dealdesk__V1__QuoteRequest *req = req_of(L, obj);
	(void)a, (void)b;
	if (*at >= req->n_coupon_codes)
		return 0;
	lua_pushstring(L, req->coupon_codes[*at]);
	lua_pushboolean(L, 1);
	return 1;
}

const dd_sandbox_view_class quote_view_strset = { "ctx.coupons", strset_field, NULL, NULL,
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

const dd_sandbox_view_class quote_view_strlist = { "ctx.coupon_list", NULL, strlist_item,
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

static int attributes_entry(lua_State *L, void *obj, uint32_t a, uint32_t b, size_t *at)
{
	const Dealdesk__V1__QuoteRequest *req = req_of(L, obj);
	(void)a, (void)b;
	for (size_t pos = *at; pos < req->n_attributes; pos++) {
		const char *key = req->attributes[pos]->key;
		int later = 0;
		for (size_t j = pos + 1; j < req->n_attributes && !later; j++)
			later = strcmp(req->attributes[j]->key, key) == 0;
		if (later)
			continue; /* shown once, with its last value */
		lua_pushstring(L, key);
		push_str(L, req->attributes[pos]->value);
		*at = pos;
		return 1;
	}
	return 0;
}

const dd_sandbox_view_class quote_view_attributes = { "ctx.attributes", attributes_field, NULL, NULL,
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

static int coupon_info_entry(lua_State *L, void *obj, uint32_t a, uint32_t b, size_t *at)
{
	quote_run *r = run_of(L, obj);
	(void)a, (void)b;
	for (size_t pos = *at; pos < r->order.req->n_coupon_codes; pos++)
		if (r->order.coupons[pos].record) {
			*at = pos;
			lua_pushstring(L, r->order.coupons[pos].code);
			return sub(L, &coupon_class, obj, (uint32_t)pos, 0);
		}
	return 0;
}

const dd_sandbox_view_class quote_view_coupon_info = { "ctx.coupon_info", coupon_info_field, NULL,
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

static const dd_sandbox_view_class coupon_class = { "ctx.coupon_info[code]", coupon_field, NULL, NULL,
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

static int usage_entry(lua_State *L, void *obj, uint32_t a, uint32_t b, size_t *at)
{
	quote_run *r = run_of(L, obj);
	dd_quoter *q = obj;
	(void)a, (void)b;
	for (size_t pos = *at; pos < r->order.candidates.n; pos++)
		if (r->order.candidates.v[pos].has_usage) {
			*at = pos;
			lua_pushstring(L, q->promos[r->order.candidates.v[pos].slot].p->id);
			return sub(L, &usage_entry_class, obj, (uint32_t)pos, 0);
		}
	return 0;
}

const dd_sandbox_view_class quote_view_usage = { "ctx.usage", usage_field, NULL, NULL, usage_entry };

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

static const dd_sandbox_view_class usage_entry_class = { "ctx.usage[id]", usage_entry_field, NULL,
	                                         NULL, usage_entry_entry };

/* ---- checks: the frozen tables of the compliance checks ------------------- */

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

const dd_sandbox_view_class quote_view_checks = { "checks", NULL, checks_item, checks_length, NULL };

