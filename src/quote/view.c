/* dealdesk quote: the one builder of the Lua view of the order state.
 *
 * Policies never get the engine's state itself, and never a table they
 * could change: what they see is read-only, built from the run's C state
 * (order.h), which stays the truth.
 *
 *   ctx, ctx.customer, ctx.customer.credit, ctx.lines and each line, and
 *   the credit policy's `credit`: tables the quoter keeps from one quote to
 *   the next (nothing is rebuilt per quote), behind read-only proxies, so a
 *   read is a table lookup. quote_view_sync refreshes them from the C state
 *   before each policy runs: what a policy reads is the order as its stage
 *   began (a line's `total` after the promotions, for the credit and
 *   compliance policies).
 *   ctx.coupons, ctx.coupon_list, ctx.attributes, ctx.coupon_info,
 *   ctx.usage, a line's `signals` and the promotions and checks arrays:
 *   userdata views (src/policy/host.h) that read the C state when asked,
 *   for what is read seldom or is of any size.
 *
 * Field names are the README's "Policy interface".
 */
#include "quoter.h"
#include "view.h"
#include "analytics.h"

#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

static const char *or_empty(const char *s)
{
	return s ? s : "";
}

/* ---- the reused tables ------------------------------------------------------ */

enum view_key {
	K__NONE,
	K_AVAILABLE,
	K_CATEGORY,
	K_CEILING,
	K_CHANNEL,
	K_COMMITTED_ORDERS,
	K_CURRENCY,
	K_DISCOUNT,
	K_DISCOUNT_TOTAL,
	K_EXPLAIN,
	K_EXPONENT,
	K_EXPOSURE,
	K_FIRST_ORDER_AT,
	K_FLOOR,
	K_GIFT,
	K_GROUP,
	K_HOLD,
	K_ID,
	K_LAST_ORDER_AT,
	K_LIMIT,
	K_LIST_PRICE,
	K_LIST_SUBTOTAL,
	K_LOYALTY_TIER,
	K_NAME,
	K_NEXT_REVIEW_AT,
	K_NO,
	K_NOW,
	K_OPEN_RECEIVABLES,
	K_ORDER_COUNT,
	K_ORDER_ID,
	K_ORDER_TOTAL,
	K_OVERDUE_DAYS,
	K_PRESENT,
	K_PRICE_LIST,
	K_PRICE_TIER,
	K_QUANTITY,
	K_REGION,
	K_ROUNDING,
	K_SAME_CURRENCY,
	K_SEGMENT,
	K_SKU,
	K_SUBTOTAL,
	K_TERMS_DAYS,
	K_TIER,
	K_TOTAL,
	K_UNIT_COST,
	K_UNIT_PRICE,
	K_SIGNALS,
	K_MAX_ORDER_VALUE,
	K_BLOCKED,
	K_SCORE,
	K_TIER_FROM,
	K_APPROVE_BPS,
	K_SHORTER_BPS,
	K_DEPOSIT_BPS,
	K_BEYOND,
	K_SHORTER_TERMS_DAYS,
	K_REVIEW_OVERDUE_DAYS,
	K_DECLINE_OVERDUE_DAYS,
	K_HORIZON_DAYS,
	K_BEYOND_HORIZON,
	K__COUNT
};

static const char *const key_names[K__COUNT] = {
	NULL,
	"available",
	"category",
	"ceiling",
	"channel",
	"committed_orders",
	"currency",
	"discount",
	"discount_total",
	"explain",
	"exponent",
	"exposure",
	"first_order_at",
	"floor",
	"gift",
	"group",
	"hold",
	"id",
	"last_order_at",
	"limit",
	"list_price",
	"list_subtotal",
	"loyalty_tier",
	"name",
	"next_review_at",
	"no",
	"now",
	"open_receivables",
	"order_count",
	"order_id",
	"order_total",
	"overdue_days",
	"present",
	"price_list",
	"price_tier",
	"quantity",
	"region",
	"rounding",
	"same_currency",
	"segment",
	"sku",
	"subtotal",
	"terms_days",
	"tier",
	"total",
	"unit_cost",
	"unit_price",
	"signals",
	"max_order_value",
	"blocked",
	"score",
	"tier_from",
	"approve_bps",
	"shorter_bps",
	"deposit_bps",
	"beyond",
	"shorter_terms_days",
	"review_overdue_days",
	"decline_overdue_days",
	"horizon_days",
	"open_orders_beyond_horizon",
};

/* Keys are interned once (the quoter's keys table, at stack index KEYS
 * while a sync runs): a set is two raw table operations, no string
 * hashing. And a field is only written when its value changed: a shadow
 * per table remembers what it holds (for strings, the table's own copy,
 * which lives as long as the table keeps it). */
#define KEYS 2

typedef struct qv_shadow {
	uint64_t known[(K__COUNT + 63) / 64];
	int64_t iv[K__COUNT];
	const char *sv[K__COUNT];
} qv_shadow;

struct qv_shadows {
	qv_shadow ctx, customer, profile, credit;
	qv_shadow *lines; /* per line slot, as line_raws */
	size_t nlines;
};

static int known(const qv_shadow *sh, enum view_key k)
{
	return (sh->known[k / 64] >> (k % 64)) & 1;
}

static void set_known(qv_shadow *sh, enum view_key k)
{
	sh->known[k / 64] |= UINT64_C(1) << (k % 64);
}

/* The table a run of sets writes to, pushed on the first set that changes
 * something: a table whose fields all hold already costs no Lua call.
 * Either a reused table of the registry (ref) or line slot `line`. */
typedef struct qv_target {
	lua_State *L;
	dd_quoter *q;
	qv_shadow *sh;
	int ref;     /* registry ref, or LUA_NOREF for a line */
	size_t line;
	int t;       /* its stack index once pushed, else 0 */
} qv_target;

static int push_line(lua_State *L, dd_quoter *q, size_t i);

static int target(qv_target *g)
{
	if (g->t == 0) {
		if (g->ref != LUA_NOREF)
			lua_rawgeti(g->L, LUA_REGISTRYINDEX, g->ref);
		else if (push_line(g->L, g->q, g->line))
			memset(g->sh, 0, sizeof(*g->sh)); /* a new table holds nothing yet */
		g->t = lua_gettop(g->L);
	}
	return g->t;
}

/* Pops the target if it was pushed (it is on top: targets are used one
 * after the other). */
static void target_done(qv_target *g)
{
	if (g->t != 0)
		lua_settop(g->L, g->t - 1);
	g->t = 0;
}

static void set_str(qv_target *g, enum view_key k, const char *v)
{
	qv_shadow *sh = g->sh;
	v = or_empty(v);
	if (known(sh, k) && strcmp(sh->sv[k], v) == 0)
		return;
	lua_State *L = g->L;
	int t = target(g);
	lua_rawgeti(L, KEYS, k);
	sh->sv[k] = lua_pushstring(L, v); /* the table's copy from now on */
	lua_rawset(L, t);
	set_known(sh, k);
}

static void set_int(qv_target *g, enum view_key k, int64_t v)
{
	qv_shadow *sh = g->sh;
	if (known(sh, k) && sh->iv[k] == v && sh->sv[k] == NULL)
		return;
	lua_State *L = g->L;
	int t = target(g);
	lua_rawgeti(L, KEYS, k);
	lua_pushinteger(L, (lua_Integer)v);
	lua_rawset(L, t);
	sh->iv[k] = v;
	sh->sv[k] = NULL;
	set_known(sh, k);
}

static void set_bool(qv_target *g, enum view_key k, int v)
{
	qv_shadow *sh = g->sh;
	v = v != 0;
	if (known(sh, k) && sh->iv[k] == v + 2 && sh->sv[k] == NULL)
		return;
	lua_State *L = g->L;
	int t = target(g);
	lua_rawgeti(L, KEYS, k);
	lua_pushboolean(L, v);
	lua_rawset(L, t);
	sh->iv[k] = v + 2; /* not equal to an integer 0 / 1 held before */
	sh->sv[k] = NULL;
	set_known(sh, k);
}

/* The same for a field that is nil (absent) or a view made now: nil is
 * remembered (iv 1), a view never is (it is made per evaluation). */
static void set_view_or_nil(qv_target *g, enum view_key k, const dd_sandbox_view_class *cls,
                            uint32_t a)
{
	qv_shadow *sh = g->sh;
	if (cls == NULL && known(sh, k) && sh->iv[k] == 1 && sh->sv[k] == NULL)
		return;
	lua_State *L = g->L;
	int t = target(g);
	lua_rawgeti(L, KEYS, k);
	if (cls != NULL)
		dd_sandbox_push_view(L, cls, g->q, a, 0, &g->q->generation);
	else
		lua_pushnil(L);
	lua_rawset(L, t);
	sh->iv[k] = cls != NULL ? 2 : 1;
	sh->sv[k] = NULL;
	set_known(sh, k);
}

static qv_target reg_target(lua_State *L, dd_quoter *q, qv_shadow *sh, int ref)
{
	return (qv_target){ L, q, sh, ref, 0, 0 };
}

/* The shadow of line slot i, growing the array; NULL when out of memory. */
static qv_shadow *line_shadow(lua_State *L, dd_quoter *q, size_t i)
{
	struct qv_shadows *s = q->shadows;
	if (i >= s->nlines) {
		size_t n = s->nlines ? s->nlines : 8;
		while (n <= i)
			n *= 2;
		qv_shadow *v = realloc(s->lines, n * sizeof(*v));
		if (v == NULL)
			luaL_error(L, "out of memory");
		memset(v + s->nlines, 0, (n - s->nlines) * sizeof(*v));
		s->lines = v;
		s->nlines = n;
	}
	return &s->lines[i];
}

/* Pushes registry[ref][i]. */
static void push_ref(lua_State *L, int ref)
{
	lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
}

static const char *rounding_name(dd_rounding mode)
{
	switch (mode) {
	case DD_ROUND_HALF_UP: return "half_up";
	case DD_ROUND_DOWN: return "down";
	case DD_ROUND_UP: return "up";
	default: return "half_even";
	}
}

/* committed_orders and open_receivables: what finance typed in the profile
 * plus the open orders and invoices the commits keep; overdue_days: derived
 * from the open invoices' due dates at the request time (or the profile's) */
static void sync_profile(qv_target *g, const Dealdesk__V1__CreditProfile *c,
                         const qo_credit *d)
{
	int64_t committed = 0, receivables = 0;
	if (c && dd_money_add(c->committed_orders, d->open_orders - d->open_orders_beyond,
	                      &committed) != DD_OK)
		committed = INT64_MAX;
	if (c && dd_money_add(c->open_receivables, d->receivables, &receivables) != DD_OK)
		receivables = INT64_MAX;
	set_bool(g, K_PRESENT, c != NULL);
	set_str(g, K_CURRENCY, c ? c->currency : "");
	set_int(g, K_LIMIT, c ? c->credit_limit : 0);
	set_int(g, K_OPEN_RECEIVABLES, receivables);
	set_int(g, K_COMMITTED_ORDERS, committed);
	set_int(g, K_TERMS_DAYS, c ? c->standard_terms_days : 0);
	set_int(g, K_OVERDUE_DAYS, c ? d->overdue_days : 0);
	set_str(g, K_TIER, c ? c->tier : "");
	set_int(g, K_NEXT_REVIEW_AT, c ? c->next_review_at : 0);
	set_bool(g, K_HOLD, c ? c->hold : 0);
	set_bool(g, K_BLOCKED, c ? c->blocked : 0);
	set_int(g, K_MAX_ORDER_VALUE, c ? c->max_order_value : 0);
	set_int(g, K_SCORE, c ? c->score : 0);
}

static void sync_order(lua_State *L, quote_run *r)
{
	dd_quoter *q = r->q;
	const qo_order *o = &r->order;
	qv_target g = reg_target(L, q, &q->shadows->ctx, q->ctx_raw);
	set_int(&g, K_NOW, o->time);
	set_str(&g, K_CURRENCY, o->req->currency);
	set_int(&g, K_EXPONENT, o->exponent);
	set_str(&g, K_CHANNEL, o->channel);
	set_str(&g, K_REGION, o->region);
	set_str(&g, K_ORDER_ID, o->req->order_id);
	set_bool(&g, K_EXPLAIN, r->explain);
	target_done(&g);
	const Dealdesk__V1__Customer *c = o->customer;
	g = reg_target(L, q, &q->shadows->customer, q->customer_raw);
	set_str(&g, K_ID, c->id);
	set_str(&g, K_NAME, c->name);
	set_str(&g, K_GROUP, c->customer_group);
	set_str(&g, K_SEGMENT, c->segment);
	set_str(&g, K_TIER, c->credit ? c->credit->tier : "");
	set_str(&g, K_LOYALTY_TIER, c->loyalty_tier);
	set_int(&g, K_ORDER_COUNT, c->order_count);
	set_int(&g, K_FIRST_ORDER_AT, c->first_order_at);
	set_int(&g, K_LAST_ORDER_AT, c->last_order_at);
	target_done(&g);
	g = reg_target(L, q, &q->shadows->profile, q->profile_raw);
	sync_profile(&g, c->credit, &o->credit);
	target_done(&g);
}

/* the raw table of line i (created on first use), on top of the stack;
 * 1 when it was created now */
static int push_line(lua_State *L, dd_quoter *q, size_t i)
{
	push_ref(L, q->line_raws);
	if (lua_rawgeti(L, -1, (lua_Integer)i + 1) == LUA_TTABLE) {
		lua_remove(L, -2);
		return 0;
	}
	lua_pop(L, 1);
	lua_createtable(L, 0, 20);
	lua_pushvalue(L, -1);
	lua_rawseti(L, -3, (lua_Integer)i + 1);       /* line_raws[i+1] = raw */
	push_ref(L, q->line_proxies);
	dd_sandbox_push_proxy(L, -2, "ctx.lines[i]");
	lua_rawseti(L, -2, (lua_Integer)i + 1);       /* line_proxies[i+1] = proxy */
	if (i + 1 > q->created_lines)
		q->created_lines = i + 1;
	lua_pop(L, 1);
	lua_remove(L, -2);
	return 1;
}

/* Line i's table: only pushed (or made) when a field of it changes, or
 * when it does not exist yet (ctx.lines lists every line's proxy). */
static void sync_line(lua_State *L, quote_run *r, size_t i, int all)
{
	dd_quoter *q = r->q;
	const qo_line *l = &r->order.lines[i];
	qv_target g = { L, q, line_shadow(L, q, i), LUA_NOREF, i, 0 };
	if (i >= q->created_lines)
		target(&g);
	if (all) {
		const Dealdesk__V1__PriceEntry *e = l->price;
		set_int(&g, K_NO, (int64_t)i);
		set_str(&g, K_SKU, l->sku);
		set_str(&g, K_NAME, e->name);
		set_int(&g, K_QUANTITY, l->quantity);
		set_str(&g, K_CATEGORY, e->category);
		set_str(&g, K_PRICE_LIST, e->price_list_id);
		set_int(&g, K_PRICE_TIER, l->price_tier);
		set_int(&g, K_LIST_PRICE, e->unit_price);
		set_int(&g, K_UNIT_COST, e->unit_cost);
		set_int(&g, K_FLOOR, e->floor_price);
		set_int(&g, K_CEILING, e->ceiling_price);
		set_int(&g, K_LIST_SUBTOTAL, l->list_subtotal);
		set_str(&g, K_ROUNDING, rounding_name(l->rounding));
		set_bool(&g, K_GIFT, l->gift);
		set_view_or_nil(&g, K_SIGNALS, l->signals ? &quote_view_signals : NULL, (uint32_t)i);
	}
	set_int(&g, K_UNIT_PRICE, l->unit_price);
	set_int(&g, K_SUBTOTAL, l->subtotal);
	set_int(&g, K_DISCOUNT, l->discount);
	set_int(&g, K_TOTAL, qo_line_total(l));
	target_done(&g);
}

typedef struct sync_args {
	quote_run *r;
	int what;
} sync_args;

static int sync(lua_State *L)
{
	const sync_args *a = lua_touserdata(L, 1);
	quote_run *r = a->r;
	dd_quoter *q = r->q;
	const qo_order *o = &r->order;
	luaL_checkstack(L, 16, "view");
	lua_settop(L, 1);
	push_ref(L, q->view_keys); /* KEYS */
	if (a->what & QV_ORDER)
		sync_order(L, r);
	if (a->what & (QV_LINES | QV_AMOUNTS)) {
		for (size_t i = 0; i < o->nlines; i++)
			sync_line(L, r, i, (a->what & QV_LINES) != 0);
		/* ctx.lines holds this order's lines: those of an earlier,
		 * longer order go (and a proxy of one that a script kept reads
		 * as ended), those beyond an earlier, shorter one come back */
		push_ref(L, q->lines_raw);
		push_ref(L, q->line_proxies);
		for (size_t i = q->view_lines; i < o->nlines; i++) {
			lua_rawgeti(L, -1, (lua_Integer)i + 1);
			if (i < q->created_lines) { /* alive again: reads its line */
				lua_getmetatable(L, -1);
				lua_pushliteral(L, "__index");
				push_ref(L, q->line_raws);
				lua_rawgeti(L, -1, (lua_Integer)i + 1);
				lua_remove(L, -2);
				lua_rawset(L, -3);
				lua_pop(L, 1);
			}
			lua_rawseti(L, -3, (lua_Integer)i + 1);
		}
		for (size_t i = o->nlines; i < q->view_lines; i++) {
			lua_pushnil(L);
			lua_rawseti(L, -3, (lua_Integer)i + 1);
			lua_rawgeti(L, -1, (lua_Integer)i + 1);
			lua_getmetatable(L, -1);
			lua_pushliteral(L, "__index");
			push_ref(L, q->view_ended);
			lua_rawset(L, -3);
			lua_pop(L, 2);
		}
		lua_pop(L, 2);
		q->view_lines = o->nlines;
		qv_target g = reg_target(L, q, &q->shadows->ctx, q->ctx_raw);
		set_int(&g, K_SUBTOTAL, o->subtotal);
		set_int(&g, K_DISCOUNT_TOTAL, o->discount_total);
		set_int(&g, K_TOTAL, o->total);
		target_done(&g);
	}
	if (a->what & QV_CANDIDATES) {
		/* entries that hold the same promotion as last time stay */
		if (q->cand_version != q->promos_version || !q->cand_loaded) {
			/* other promotion tables now: no entry can be kept (but
			 * those past this order's candidates must still go) */
			for (size_t k = 0; k < q->view_cands; k++)
				q->cand_slots[k] = UINT32_MAX;
			q->cand_loaded = 1;
			q->cand_version = q->promos_version;
		}
		size_t n = o->candidates.n;
		if (n > q->cand_cap) {
			uint32_t *slots = realloc(q->cand_slots, n * sizeof(*slots));
			if (slots == NULL)
				return luaL_error(L, "out of memory");
			q->cand_slots = slots;
			q->cand_cap = n;
		}
		push_ref(L, q->cands_raw);
		if (n > 0)
			push_ref(L, q->promos_ref);
		else
			lua_pushnil(L);
		for (size_t k = 0; k < n; k++) {
			uint32_t slot = o->candidates.v[k].slot;
			if (k < q->view_cands && q->cand_slots[k] == slot)
				continue;
			lua_rawgeti(L, -1, (lua_Integer)slot + 1);
			lua_rawseti(L, -3, (lua_Integer)k + 1);
			q->cand_slots[k] = slot;
		}
		for (size_t k = n; k < q->view_cands; k++) {
			lua_pushnil(L);
			lua_rawseti(L, -3, (lua_Integer)k + 1);
		}
		lua_pop(L, 2);
		q->view_cands = n;
	}
	if (a->what & QV_CREDIT) {
		const qo_credit *d = &o->credit;
		qv_target g = reg_target(L, q, &q->shadows->credit, q->credit_raw);
		sync_profile(&g, o->customer->credit, d);
		set_bool(&g, K_SAME_CURRENCY, d->same_currency);
		set_int(&g, K_ORDER_TOTAL, o->total);
		set_int(&g, K_EXPOSURE, d->exposure);
		set_int(&g, K_AVAILABLE, d->available);
		set_int(&g, K_LIMIT, d->limit);
		/* the tier as the tier table has it (the built-in one when none is
		 * stored); a profile no row applies to has tier "" */
		const Dealdesk__V1__CreditTier *tr = d->tier;
		set_str(&g, K_TIER, tr ? tr->name : "");
		set_str(&g, K_TIER_FROM, d->tier_from ? d->tier_from : "");
		set_int(&g, K_TERMS_DAYS, d->standard_terms_days);
		set_int(&g, K_APPROVE_BPS, tr ? tr->approve_bps : 0);
		set_int(&g, K_SHORTER_BPS, tr ? tr->shorter_bps : 0);
		set_int(&g, K_DEPOSIT_BPS, tr ? tr->deposit_bps : 0);
		set_str(&g, K_BEYOND, tr ? tr->beyond : "");
		set_int(&g, K_SHORTER_TERMS_DAYS, tr ? tr->shorter_terms_days : 0);
		set_int(&g, K_REVIEW_OVERDUE_DAYS, tr ? tr->review_overdue_days : 0);
		set_int(&g, K_DECLINE_OVERDUE_DAYS, tr ? tr->decline_overdue_days : 0);
		set_int(&g, K_HORIZON_DAYS, tr ? tr->horizon_days : 0);
		set_int(&g, K_BEYOND_HORIZON, d->open_orders_beyond);
		target_done(&g);
	}
	return 0;
}

int quote_view_sync(quote_run *r, int what)
{
	lua_State *L = r->q->L;
	sync_args a = { r, what };
	if (!lua_checkstack(L, 3))
		return dd_error_set(r->err, DD_ENOMEM, "out of memory building the policy view");
	lua_pushcfunction(L, sync);
	lua_pushlightuserdata(L, &a);
	if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
		lua_pop(L, 1);
		return dd_error_set(r->err, DD_ENOMEM, "out of memory building the policy view");
	}
	return DD_OK;
}

static int ended_index(lua_State *L)
{
	return luaL_error(L, "ctx.lines[i]: this value belongs to an evaluation that has ended");
}

/* Runs protected: creates the reused tables, their proxies and the
 * userdata views in them. */
static int create(lua_State *L)
{
	dd_quoter *q = lua_touserdata(L, 1);
	luaL_checkstack(L, 16, "view");
#define NEW_RAW(ref)                                                      	do {                                                              		lua_createtable(L, 0, 20);                                		lua_pushvalue(L, -1);                                     		q->ref = luaL_ref(L, LUA_REGISTRYINDEX);                  	} while (0)
	lua_createtable(L, K__COUNT, 0);
	for (int k = 1; k < K__COUNT; k++) {
		lua_pushstring(L, key_names[k]);
		lua_rawseti(L, -2, k);
	}
	q->view_keys = luaL_ref(L, LUA_REGISTRYINDEX);
	NEW_RAW(ctx_raw);
	int ctx = lua_gettop(L);
	NEW_RAW(customer_raw);
	NEW_RAW(profile_raw);
	dd_sandbox_push_proxy(L, -1, "ctx.customer.credit");
	lua_setfield(L, -3, "credit");
	lua_pop(L, 1);
	dd_sandbox_push_view(L, &quote_view_rfm, q, 0, 0, NULL);
	lua_setfield(L, -2, "rfm");
	dd_sandbox_push_proxy(L, -1, "ctx.customer");
	lua_setfield(L, ctx, "customer");
	lua_pop(L, 1);
	NEW_RAW(lines_raw);
	dd_sandbox_push_proxy(L, -1, "ctx.lines");
	lua_setfield(L, ctx, "lines");
	lua_pop(L, 1);
	NEW_RAW(line_raws);
	lua_pop(L, 1);
	NEW_RAW(line_proxies);
	lua_pop(L, 1);
	/* what a kept proxy of a line no longer in the order reads through */
	NEW_RAW(view_ended);
	lua_createtable(L, 0, 2);
	lua_pushcfunction(L, ended_index);
	lua_setfield(L, -2, "__index");
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");
	lua_setmetatable(L, -2);
	lua_pop(L, 1);
	if ((q->shadows = calloc(1, sizeof(*q->shadows))) == NULL)
		return luaL_error(L, "out of memory");
	NEW_RAW(credit_raw);
	dd_sandbox_push_proxy(L, -1, "credit");
	q->credit_view = luaL_ref(L, LUA_REGISTRYINDEX);
	lua_pop(L, 1);
	static const struct {
		const char *name;
		const dd_sandbox_view_class *cls;
	} maps[] = {
		{ "coupons", &quote_view_strset },      { "coupon_list", &quote_view_strlist },
		{ "attributes", &quote_view_attributes }, { "coupon_info", &quote_view_coupon_info },
		{ "usage", &quote_view_usage },
	};
	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		dd_sandbox_push_view(L, maps[i].cls, q, 0, 0, NULL);
		lua_setfield(L, ctx, maps[i].name);
	}
	dd_sandbox_push_proxy(L, ctx, "ctx");
	q->ctx_view = luaL_ref(L, LUA_REGISTRYINDEX);
	/* the candidate promotions: an array of the frozen promotion tables
	 * the quoter keeps, refreshed per quote (QV_CANDIDATES) */
	NEW_RAW(cands_raw);
	dd_sandbox_push_proxy(L, -1, "promotions");
	q->promos_view = luaL_ref(L, LUA_REGISTRYINDEX);
	lua_pop(L, 1);
	dd_sandbox_push_view(L, &quote_view_checks, q, 0, 0, NULL);
	q->checks_view = luaL_ref(L, LUA_REGISTRYINDEX);
	return 0;
#undef NEW_RAW
}

int quote_views_create(dd_quoter *q)
{
	lua_State *L = q->L;
	if (!lua_checkstack(L, 3))
		return DD_ENOMEM;
	lua_pushcfunction(L, create);
	lua_pushlightuserdata(L, q);
	if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
		lua_pop(L, 1);
		return DD_ENOMEM;
	}
	return DD_OK;
}

void quote_views_free(dd_quoter *q)
{
	free(q->cand_slots);
	q->cand_slots = NULL;
	q->cand_cap = q->view_cands = 0;
	if (q->shadows) {
		free(q->shadows->lines);
		free(q->shadows);
		q->shadows = NULL;
	}
	int *refs[] = { &q->ctx_view, &q->credit_view, &q->promos_view, &q->checks_view,
		        &q->ctx_raw, &q->customer_raw, &q->profile_raw, &q->lines_raw,
		        &q->line_raws, &q->line_proxies, &q->credit_raw, &q->view_keys,
		        &q->view_ended, &q->cands_raw };
	for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
		if (*refs[i] > 0)
			luaL_unref(q->L, LUA_REGISTRYINDEX, *refs[i]);
		*refs[i] = LUA_NOREF;
	}
}
