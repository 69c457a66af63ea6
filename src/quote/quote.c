/* dealdesk quote: the pipeline (see include/dealdesk/quote.h). */
#include "quoter.h"

#include <string.h>

#include "dealdesk/log.h"
#include "dealdesk/money.h"
#include "luaconv.h"

#define MAX_TEXT 512 /* reasons, messages, descriptions from policies */

/* Work state of one line. */
typedef struct line_work {
	Dealdesk__V1__QuoteLine *out;
	const Dealdesk__V1__PriceEntry *price;
	const Dealdesk__V1__SkuSignals *signals; /* NULL when none are kept */
	int64_t list_subtotal;
	Dealdesk__V1__AppliedDiscount **disc;
	size_t ndisc, capdisc;
} line_work;

typedef struct quote_run {
	dd_quoter *q;
	const Dealdesk__V1__QuoteRequest *req;
	dd_arena *arena;
	dd_error *err;
	int64_t time;
	int exponent;
	Dealdesk__V1__Customer *customer;
	line_work *lines;
	size_t nlines;
	Dealdesk__V1__QuoteResponse *resp;
	int ctx; /* stack index of ctx */
	size_t nrequested; /* lines in the request; gift lines follow */
	int32_t multiplier; /* loyalty points multiplier from promotions */
} quote_run;

/* ---- 1. validation ------------------------------------------------------- */

static int validate(dd_quoter *q, const Dealdesk__V1__QuoteRequest *req, dd_error *err)
{
	int rc;
	char f[64];
	if ((rc = dd_check_string(req->customer_id, DD_MAX_ID, 0, "customer_id", err)))
		return rc;
	if (req->currency == NULL || *req->currency == '\0')
		return dd_error_set(err, DD_EINVAL, "currency: required");
	if (dd_currency_exponent(req->currency) < 0)
		return dd_error_set(err, DD_EINVAL,
		                    "currency: '%.16s' is not an ISO 4217 currency code",
		                    req->currency);
	if ((rc = dd_check_string(req->channel, DD_MAX_ID, 1, "channel", err)) ||
	    (rc = dd_check_string(req->region, DD_MAX_ID, 1, "region", err)) ||
	    (rc = dd_check_string(req->order_id, 128, 1, "order_id", err)))
		return rc;
	if (req->n_lines == 0)
		return dd_error_set(err, DD_EINVAL, "lines: at least one line is required");
	if (req->n_lines > q->lim.max_lines)
		return dd_error_set(err, DD_EINVAL, "lines: %zu lines; at most %u per order",
		                    req->n_lines, q->lim.max_lines);
	for (size_t i = 0; i < req->n_lines; i++) {
		const Dealdesk__V1__LineRequest *l = req->lines[i];
		if (dd_check_string(l->sku, DD_MAX_ID, 0, "", NULL) != DD_OK) {
			snprintf(f, sizeof(f), "lines[%zu].sku", i);
			return dd_check_string(l->sku, DD_MAX_ID, 0, f, err);
		}
		if (l->quantity <= 0)
			return dd_error_set(err, DD_EINVAL, "lines[%zu].quantity: must be > 0, got %lld",
			                    i, (long long)l->quantity);
		if (l->quantity > q->lim.max_quantity)
			return dd_error_set(err, DD_EINVAL,
			                    "lines[%zu].quantity: %lld exceeds the limit of %lld",
			                    i, (long long)l->quantity, (long long)q->lim.max_quantity);
	}
	if (req->n_coupon_codes > q->lim.max_coupons)
		return dd_error_set(err, DD_EINVAL, "coupon_codes: at most %u codes",
		                    q->lim.max_coupons);
	for (size_t i = 0; i < req->n_coupon_codes; i++) {
		if (dd_check_string(req->coupon_codes[i], DD_MAX_ID, 0, "", NULL) != DD_OK) {
			snprintf(f, sizeof(f), "coupon_codes[%zu]", i);
			return dd_check_string(req->coupon_codes[i], DD_MAX_ID, 0, f, err);
		}
	}
	if (req->n_attributes > q->lim.max_attributes)
		return dd_error_set(err, DD_EINVAL, "attributes: at most %u entries",
		                    q->lim.max_attributes);
	for (size_t i = 0; i < req->n_attributes; i++) {
		snprintf(f, sizeof(f), "attributes[%zu].key", i);
		if ((rc = dd_check_string(req->attributes[i]->key, DD_MAX_ID, 0, f, err)))
			return rc;
		snprintf(f, sizeof(f), "attributes[%zu].value", i);
		if ((rc = dd_check_string(req->attributes[i]->value, 1024, 1, f, err)))
			return rc;
	}
	if (req->request_time < 0)
		return dd_error_set(err, DD_EINVAL, "request_time: must be >= 0");
	return DD_OK;
}

/* ---- 2. data ---------------------------------------------------------------- */

static int load_customer(quote_run *r)
{
	const char *id = r->req->customer_id;
	dd_val v;
	int rc = dd_rtxn_get(r->q->txn, DD_T_CUSTOMERS, (dd_val){ id, strlen(id) }, &v);
	if (rc == DD_ENOTFOUND)
		return dd_error_set(r->err, rc, "customer_id: customer '%s' not found", id);
	if (rc != DD_OK)
		return dd_error_set(r->err, DD_ESTORE, "store: cannot read customer");
	r->customer = (void *)protobuf_c_message_unpack(&dealdesk__v1__customer__descriptor,
	                                                &r->arena->pb, v.len, v.data);
	if (r->customer == NULL)
		return dd_error_set(r->err, DD_ESTORE, "store: customer '%s' is corrupt", id);
	return DD_OK;
}

typedef struct price_pick {
	quote_run *r;
	int64_t quantity;
	const Dealdesk__V1__PriceEntry *best;
	int best_score;
	size_t candidates;
	int rc;
} price_pick;

static int str_empty(const char *s)
{
	return s == NULL || *s == '\0';
}

static int scope_matches(const char *entry, const char *want)
{
	return str_empty(entry) || (want && strcmp(entry, want) == 0);
}

/* Precedence: most specific scope (customer group 4, channel 2, region 1),
 * then the highest quantity tier the line reaches, then priority, then the
 * newest valid_from, then the first price list id in key order. */
static int pick_one(void *ud, dd_val key, dd_val val)
{
	price_pick *p = ud;
	quote_run *r = p->r;
	(void)key;
	p->candidates++;
	Dealdesk__V1__PriceEntry *e = (void *)protobuf_c_message_unpack(
		&dealdesk__v1__price_entry__descriptor, &r->arena->pb, val.len, val.data);
	if (e == NULL)
		return DD_ESTORE;
	const char *group = r->customer->customer_group;
	if (!scope_matches(e->channel, r->req->channel) ||
	    !scope_matches(e->region, r->req->region) ||
	    !scope_matches(e->customer_group, group))
		return 0;
	if ((e->valid_from && r->time < e->valid_from) ||
	    (e->valid_to && r->time >= e->valid_to))
		return 0;
	if (e->min_quantity > p->quantity)
		return 0; /* a quantity tier the line does not reach */
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
	int plen = dd_key_join(prefix, sizeof(prefix) - 1, 2, sku, r->req->currency);
	if (plen < 0)
		return DD_EINVAL;
	prefix[plen++] = '\0';
	*p = (price_pick){ r, quantity, NULL, -1, 0, 0 };
	int rc = dd_rtxn_scan(r->q->txn, DD_T_PRICES, (dd_val){ prefix, (size_t)plen },
	                      (dd_val){ NULL, 0 }, pick_one, p);
	return rc < 0 ? DD_ESTORE : DD_OK;
}

/* Fills line i's output from its chosen price entry. */
static int fill_line(quote_run *r, size_t i, const char *sku, int64_t quantity,
                     const Dealdesk__V1__PriceEntry *e)
{
	line_work *w = &r->lines[i];
	w->price = e;
	Dealdesk__V1__QuoteLine *o = w->out;
	o->line_no = (int32_t)i;
	o->sku = (char *)sku;
	o->quantity = quantity;
	o->price_list_id = e->price_list_id;
	o->unit_list_price = o->unit_price = e->unit_price;
	o->price_reason = "";
	o->price_tier = e->min_quantity > 1 ? e->min_quantity : 1;
	dd_val sv;
	if (dd_rtxn_get(r->q->txn, DD_T_SIGNALS, (dd_val){ sku, strlen(sku) }, &sv) == DD_OK)
		w->signals = (void *)protobuf_c_message_unpack(
			&dealdesk__v1__sku_signals__descriptor, &r->arena->pb, sv.len, sv.data);
	if (dd_money_mul(o->unit_list_price, o->quantity, &w->list_subtotal) != DD_OK)
		return dd_error_set(r->err, DD_EOVERFLOW,
		                    "lines[%zu].quantity: %lld x %lld overflows int64", i,
		                    (long long)o->quantity, (long long)o->unit_list_price);
	return DD_OK;
}

static int price_line(quote_run *r, size_t i)
{
	const Dealdesk__V1__LineRequest *l = r->req->lines[i];
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
			                    i, l->sku, r->req->currency, r->req->channel ? r->req->channel : "");
		int any = 0;
		size_t slen = strlen(l->sku) + 1; /* "sku\0" */
		dd_rtxn_scan(r->q->txn, DD_T_PRICES, (dd_val){ l->sku, slen },
		             (dd_val){ NULL, 0 }, any_record, &any);
		if (any)
			return dd_error_set(r->err, DD_ENOTFOUND,
			                    "lines[%zu].sku: no price list has '%s' in currency %s",
			                    i, l->sku, r->req->currency);
		return dd_error_set(r->err, DD_ENOTFOUND, "lines[%zu].sku: unknown SKU '%s'",
		                    i, l->sku);
	}
	if ((rc = fill_line(r, i, l->sku, l->quantity, p.best)) != DD_OK)
		return rc;
	const Dealdesk__V1__QuoteLine *o = r->lines[i].out;
	quote_trace(r->q, "pricing", p.best->price_list_id, 1,
	            "line %zu %s: list price %lld from %s, tier %lld (%zu entries in %s)", i,
	            l->sku, (long long)p.best->unit_price, p.best->price_list_id,
	            (long long)o->price_tier, p.candidates, r->req->currency);
	return DD_OK;
}

/* ---- the Lua context ---------------------------------------------------------- */

static const char *rounding_name(int mode)
{
	switch (mode) {
	case DD_ROUND_HALF_UP: return "half_up";
	case DD_ROUND_DOWN: return "down";
	case DD_ROUND_UP: return "up";
	default: return "half_even";
	}
}

static void push_credit_profile(lua_State *L, const Dealdesk__V1__CreditProfile *c)
{
	lua_createtable(L, 0, 10);
	lc_set_bool(L, "present", c != NULL);
	lc_set_str(L, "currency", c ? c->currency : "");
	lc_set_int(L, "limit", c ? c->credit_limit : 0);
	lc_set_int(L, "open_receivables", c ? c->open_receivables : 0);
	lc_set_int(L, "committed_orders", c ? c->committed_orders : 0);
	lc_set_int(L, "terms_days", c ? c->standard_terms_days : 0);
	lc_set_int(L, "overdue_days", c ? c->oldest_overdue_days : 0);
	lc_set_str(L, "tier", c ? c->tier : "");
	lc_set_int(L, "next_review_at", c ? c->next_review_at : 0);
	lc_set_bool(L, "hold", c ? c->hold : 0);
}

static void push_signals(lua_State *L, const Dealdesk__V1__SkuSignals *sg)
{
	lua_createtable(L, 0, 5);
	lc_set_int(L, "inventory", sg->inventory_on_hand);
	lc_set_int(L, "inventory_at", sg->inventory_at);
	lc_set_int(L, "demand_per_week", sg->demand_per_week);
	lc_set_int(L, "demand_at", sg->demand_at);
	lua_createtable(L, (int)sg->n_competitor_prices, 0);
	for (size_t i = 0; i < sg->n_competitor_prices; i++) {
		const Dealdesk__V1__CompetitorPrice *c = sg->competitor_prices[i];
		lua_createtable(L, 0, 4);
		lc_set_str(L, "competitor", c->competitor);
		lc_set_str(L, "currency", c->currency);
		lc_set_int(L, "price", c->price);
		lc_set_int(L, "observed_at", c->observed_at);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	lua_setfield(L, -2, "competitors");
}

/* Pushes the Lua view of line i. */
static void push_line(lua_State *L, const line_work *w, size_t i)
{
	lua_createtable(L, 0, 20);
	lc_set_int(L, "no", (int64_t)i);
	lc_set_str(L, "sku", w->out->sku);
	lc_set_int(L, "quantity", w->out->quantity);
	lc_set_str(L, "category", w->price->category);
	lc_set_str(L, "price_list", w->price->price_list_id);
	lc_set_int(L, "price_tier", w->out->price_tier);
	lc_set_int(L, "list_price", w->price->unit_price);
	lc_set_int(L, "unit_price", w->out->unit_price);
	lc_set_int(L, "unit_cost", w->price->unit_cost);
	lc_set_int(L, "floor", w->price->floor_price);
	lc_set_int(L, "ceiling", w->price->ceiling_price);
	lc_set_int(L, "list_subtotal", w->list_subtotal);
	lc_set_int(L, "subtotal", w->out->gift ? w->out->line_subtotal : w->list_subtotal);
	lc_set_str(L, "rounding", rounding_name(w->price->rounding));
	lc_set_bool(L, "gift", w->out->gift);
	if (w->out->gift) {
		lc_set_int(L, "discount", w->out->discount_total);
		lc_set_int(L, "total", w->out->line_total);
	}
	if (w->signals) {
		push_signals(L, w->signals);
		lua_setfield(L, -2, "signals");
	}
}

static int push_ctx(quote_run *r)
{
	lua_State *L = r->q->L;
	const Dealdesk__V1__QuoteRequest *req = r->req;
	if (!lua_checkstack(L, 16))
		return dd_error_set(r->err, DD_ENOMEM, "Lua stack exhausted");
	lua_createtable(L, 0, 16);
	lc_set_int(L, "now", r->time);
	lc_set_str(L, "currency", req->currency);
	lc_set_int(L, "exponent", r->exponent);
	lc_set_str(L, "channel", req->channel);
	lc_set_str(L, "region", req->region);
	lc_set_str(L, "order_id", req->order_id);
	lc_set_bool(L, "explain", req->explain);

	const Dealdesk__V1__Customer *c = r->customer;
	lua_createtable(L, 0, 6);
	lc_set_str(L, "id", c->id);
	lc_set_str(L, "name", c->name);
	lc_set_str(L, "group", c->customer_group);
	lc_set_str(L, "segment", c->segment);
	lc_set_str(L, "tier", c->credit ? c->credit->tier : "");
	lc_set_str(L, "loyalty_tier", c->loyalty_tier);
	lc_set_int(L, "order_count", c->order_count);
	lc_set_int(L, "first_order_at", c->first_order_at);
	lc_set_int(L, "last_order_at", c->last_order_at);
	push_credit_profile(L, c->credit);
	lua_setfield(L, -2, "credit");
	lua_setfield(L, -2, "customer");

	lua_createtable(L, 0, (int)req->n_coupon_codes);
	for (size_t i = 0; i < req->n_coupon_codes; i++) {
		lua_pushboolean(L, 1);
		lua_setfield(L, -2, req->coupon_codes[i]);
	}
	lua_setfield(L, -2, "coupons");
	lua_createtable(L, (int)req->n_coupon_codes, 0);
	for (size_t i = 0; i < req->n_coupon_codes; i++) {
		lua_pushstring(L, req->coupon_codes[i]);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	lua_setfield(L, -2, "coupon_list");

	lua_createtable(L, 0, (int)req->n_attributes);
	for (size_t i = 0; i < req->n_attributes; i++) {
		lua_pushstring(L, req->attributes[i]->value ? req->attributes[i]->value : "");
		lua_setfield(L, -2, req->attributes[i]->key);
	}
	lua_setfield(L, -2, "attributes");

	lua_createtable(L, (int)r->nlines, 0);
	for (size_t i = 0; i < r->nlines; i++) {
		push_line(L, &r->lines[i], i);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	lua_setfield(L, -2, "lines");
	r->ctx = lua_gettop(L);
	return DD_OK;
}

/* Sets ctx.lines[i+1][k] = v. */
static void ctx_line_set(quote_run *r, size_t i, const char *k, int64_t v)
{
	lua_State *L = r->q->L;
	lc_raw(L, r->ctx, "lines");
	lua_rawgeti(L, -1, (lua_Integer)i + 1);
	lc_set_int(L, k, v);
	lua_pop(L, 2);
}

static void ctx_set(quote_run *r, const char *k, int64_t v)
{
	lua_State *L = r->q->L;
	lua_pushvalue(L, r->ctx);
	lc_set_int(L, k, v);
	lua_pop(L, 1);
}

/* Calls entry(ctx, extra) of the active policy of kind; leaves 1 result.
 * extra is a registry ref (is_ref), a stack index, or 0 for nil. */
static int call_policy(quote_run *r, int kind, int extra_ref_or_idx, int is_ref)
{
	dd_quoter *q = r->q;
	int rc = quote_policy(q, kind, r->err);
	if (rc != DD_OK)
		return rc;
	rc = dd_sandbox_push_function(q->sb, q->policy[kind].ref, dd_policy_entry(kind));
	if (rc != DD_OK)
		return dd_error_set(r->err, DD_EPOLICY, "%s policy v%llu has no function %s",
		                    dd_policy_kind_name(kind),
		                    (unsigned long long)q->policy[kind].version,
		                    dd_policy_entry(kind));
	lua_pushvalue(q->L, r->ctx);
	if (is_ref)
		lua_rawgeti(q->L, LUA_REGISTRYINDEX, extra_ref_or_idx);
	else if (extra_ref_or_idx > 0)
		lua_pushvalue(q->L, extra_ref_or_idx);
	else
		lua_pushnil(q->L);
	return dd_sandbox_call(q->sb, 2, 1, r->err);
}

static int policy_fail(quote_run *r, int kind, const char *what)
{
	char msg[sizeof(r->err->msg)];
	snprintf(msg, sizeof(msg), "%s", r->err->msg);
	dd_log(DD_LOG_ERROR, "%s policy v%llu: %s: %s", dd_policy_kind_name(kind),
	       (unsigned long long)r->q->policy[kind].version, what, msg);
	return dd_error_set(r->err, r->err->code == DD_OK ? DD_EPOLICY : r->err->code,
	                    "%s policy v%llu: %s", dd_policy_kind_name(kind),
	                    (unsigned long long)r->q->policy[kind].version, msg);
}

static int bad_result(quote_run *r, int kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int bad_result(quote_run *r, int kind, const char *fmt, ...)
{
	char what[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	dd_error_set(r->err, DD_EPOLICY, "returned %s", what);
	return policy_fail(r, kind, "bad result");
}

/* ---- 3. pricing ------------------------------------------------------------------ */

static int run_pricing(quote_run *r)
{
	lua_State *L = r->q->L;
	int rc = call_policy(r, 1, 0, 0);
	if (rc != DD_OK)
		return policy_fail(r, 1, "failed");
	int res = lua_gettop(L);
	if (lua_type(L, res) != LUA_TTABLE && lua_type(L, res) != LUA_TNIL) {
		lua_settop(L, res - 1);
		return bad_result(r, 1, "a %s instead of a table", luaL_typename(L, res));
	}
	for (size_t i = 0; i < r->nlines && lua_type(L, res) == LUA_TTABLE; i++) {
		line_work *w = &r->lines[i];
		if (lua_rawgeti(L, res, (lua_Integer)i + 1) == LUA_TNIL) {
			lua_pop(L, 1);
			continue;
		}
		int64_t price;
		const char *reason;
		if (lua_type(L, -1) != LUA_TTABLE ||
		    !lc_int_field(L, -1, "unit_price", w->out->unit_list_price, &price) ||
		    !lc_str_field(L, -1, "reason", "", MAX_TEXT, r->arena, &reason)) {
			lua_settop(L, res - 1);
			return bad_result(r, 1, "a malformed entry for line %zu", i);
		}
		lua_pop(L, 1);
		if (price < 0) {
			lua_settop(L, res - 1);
			return bad_result(r, 1, "a negative unit price for line %zu", i);
		}
		w->out->unit_price = price;
		w->out->price_reason = (char *)reason;
	}
	lua_settop(L, res - 1);
	/* the per-SKU bounds hold whatever the policy says */
	for (size_t i = 0; i < r->nlines; i++) {
		Dealdesk__V1__QuoteLine *o = r->lines[i].out;
		const Dealdesk__V1__PriceEntry *e = r->lines[i].price;
		int64_t bound = 0;
		const char *which = NULL;
		if (e->floor_price && o->unit_price < e->floor_price) {
			bound = e->floor_price;
			which = "floor";
		} else if (e->ceiling_price && o->unit_price > e->ceiling_price) {
			bound = e->ceiling_price;
			which = "ceiling";
		}
		if (which) {
			quote_trace(r->q, "pricing", which, 1, "line %zu %s: %lld held at the %s %lld",
			            i, o->sku, (long long)o->unit_price, which, (long long)bound);
			o->unit_price = bound;
			o->price_reason = dd_arena_printf(r->arena, "%s%sheld at the %s price",
			                                  o->price_reason, *o->price_reason ? "; " : "",
			                                  which);
			if (o->price_reason == NULL)
				return dd_error_set(r->err, DD_ENOMEM, "out of memory");
		}
	}
	int64_t subtotal = 0;
	for (size_t i = 0; i < r->nlines; i++) {
		Dealdesk__V1__QuoteLine *o = r->lines[i].out;
		if (dd_money_mul(o->unit_price, o->quantity, &o->line_subtotal) != DD_OK ||
		    dd_money_add(subtotal, o->line_subtotal, &subtotal) != DD_OK)
			return dd_error_set(r->err, DD_EOVERFLOW,
			                    "lines[%zu]: the order amount overflows int64", i);
		o->line_total = o->line_subtotal;
		ctx_line_set(r, i, "unit_price", o->unit_price);
		ctx_line_set(r, i, "subtotal", o->line_subtotal);
		if (o->unit_price != o->unit_list_price)
			quote_trace(r->q, "pricing", o->sku, 1, "line %zu: unit price %lld (%s)",
			            i, (long long)o->unit_price, o->price_reason);
	}
	r->resp->subtotal = subtotal;
	ctx_set(r, "subtotal", subtotal);
	return DD_OK;
}

/* ---- 4. promotions ------------------------------------------------------------- */

/* The enum value whose name is prefix + short (e.g. "PROMOTION_KIND_" +
 * "BUNDLE"), or NULL. Enums here have a handful of values: a scan. */
static const ProtobufCEnumValue *enum_by_short(const ProtobufCEnumDescriptor *d,
                                              const char *prefix, const char *short_name)
{
	size_t plen = strlen(prefix);
	if (short_name == NULL)
		return NULL;
	for (unsigned i = 0; i < d->n_values; i++) {
		const char *name = d->values[i].name;
		if (strncmp(name, prefix, plen) == 0 && strcmp(name + plen, short_name) == 0)
			return &d->values[i];
	}
	return NULL;
}

static int kind_from_name(const char *s)
{
	const ProtobufCEnumValue *v = enum_by_short(&dealdesk__v1__promotion_kind__descriptor,
	                                            "PROMOTION_KIND_", s);
	return v ? v->value : 0;
}

static int add_discount(quote_run *r, line_work *w, const char *promo, int kind,
                        int64_t amount, const char *desc)
{
	if (w->ndisc == w->capdisc) {
		size_t cap = w->capdisc ? w->capdisc * 2 : 4;
		Dealdesk__V1__AppliedDiscount **n = dd_arena_alloc(r->arena, cap * sizeof(*n));
		if (n == NULL)
			return DD_ENOMEM;
		if (w->ndisc)
			memcpy(n, w->disc, w->ndisc * sizeof(*n));
		w->disc = n;
		w->capdisc = cap;
	}
	Dealdesk__V1__AppliedDiscount *d = dd_arena_alloc(r->arena, sizeof(*d));
	if (d == NULL)
		return DD_ENOMEM;
	dealdesk__v1__applied_discount__init(d);
	d->promotion_id = (char *)promo;
	d->kind = kind;
	d->amount = amount;
	d->description = (char *)desc;
	w->disc[w->ndisc++] = d;
	w->out->discount_total += amount;
	w->out->line_total -= amount;
	return DD_OK;
}

/* Reads {promotion=, kind=, amount=, description=} at the top of the stack. */
static int read_discount(quote_run *r, const char **promo, int *kind,
                         int64_t *amount, const char **desc)
{
	lua_State *L = r->q->L;
	const char *kname;
	if (lua_type(L, -1) != LUA_TTABLE ||
	    !lc_str_field(L, -1, "promotion", NULL, DD_MAX_ID, r->arena, promo) || !*promo ||
	    !lc_str_field(L, -1, "kind", "", 32, r->arena, &kname) ||
	    !lc_int_field(L, -1, "amount", -1, amount) || *amount < 0 ||
	    !lc_str_field(L, -1, "description", "", MAX_TEXT, r->arena, desc))
		return 0;
	*kind = kind_from_name(kname);
	return 1;
}

static int apply_line_discounts(quote_run *r, int res)
{
	lua_State *L = r->q->L;
	if (lc_raw(L, res, "lines") != LUA_TTABLE) {
		int none = lua_isnil(L, -1);
		lua_pop(L, 1);
		return none ? DD_OK : bad_result(r, 2, "a non-table 'lines'");
	}
	int lines = lua_gettop(L);
	for (size_t i = 0; i < r->nlines; i++) {
		line_work *w = &r->lines[i];
		if (lua_rawgeti(L, lines, (lua_Integer)i + 1) != LUA_TTABLE) {
			int none = lua_isnil(L, -1);
			lua_pop(L, 1);
			if (none)
				continue;
			return bad_result(r, 2, "a non-table lines[%zu]", i + 1);
		}
		int list = lua_gettop(L);
		for (lua_Integer k = 1; lua_rawgeti(L, list, k) != LUA_TNIL; k++) {
			const char *promo, *desc;
			int kind;
			int64_t amount;
			if (!read_discount(r, &promo, &kind, &amount, &desc))
				return bad_result(r, 2, "a malformed discount lines[%zu][%lld]",
				                  i + 1, (long long)k);
			lua_pop(L, 1);
			if (amount == 0)
				continue;
			if (amount > w->out->line_total) {
				quote_trace(r->q, "promotions", promo, 1,
				            "line %zu: discount %lld capped at %lld so the line stays >= 0",
				            i, (long long)amount, (long long)w->out->line_total);
				amount = w->out->line_total;
				if (amount == 0)
					continue;
			}
			if (add_discount(r, w, promo, kind, amount, desc) != DD_OK)
				return dd_error_set(r->err, DD_ENOMEM, "out of memory");
		}
		lua_settop(L, list - 1);
	}
	lua_settop(L, lines - 1);
	return DD_OK;
}

static int add_order_discount(quote_run *r, const char *promo, int kind,
                              int64_t amount, const char *desc)
{
	Dealdesk__V1__QuoteResponse *resp = r->resp;
	Dealdesk__V1__AppliedDiscount *d = dd_arena_alloc(r->arena, sizeof(*d));
	Dealdesk__V1__AppliedDiscount **n = dd_arena_alloc(
		r->arena, (resp->n_order_discounts + 1) * sizeof(*n));
	if (d == NULL || n == NULL)
		return DD_ENOMEM;
	dealdesk__v1__applied_discount__init(d);
	d->promotion_id = (char *)promo;
	d->kind = kind;
	d->amount = amount;
	d->description = (char *)desc;
	if (resp->n_order_discounts)
		memcpy(n, resp->order_discounts, resp->n_order_discounts * sizeof(*n));
	n[resp->n_order_discounts++] = d;
	resp->order_discounts = n;
	return DD_OK;
}

/* Spreads an order discount over the eligible lines by largest remainder,
 * weighted by what each line still costs, never below zero. */
static int apply_order_discounts(quote_run *r, int res)
{
	lua_State *L = r->q->L;
	if (lc_raw(L, res, "order") != LUA_TTABLE) {
		int none = lua_isnil(L, -1);
		lua_pop(L, 1);
		return none ? DD_OK : bad_result(r, 2, "a non-table 'order'");
	}
	int order = lua_gettop(L);
	int64_t *weights = dd_arena_alloc(r->arena, r->nlines * sizeof(int64_t));
	int64_t *shares = dd_arena_alloc(r->arena, r->nlines * sizeof(int64_t));
	char *eligible = dd_arena_alloc(r->arena, r->nlines);
	if (!weights || !shares || !eligible)
		return dd_error_set(r->err, DD_ENOMEM, "out of memory");
	for (lua_Integer k = 1; lua_rawgeti(L, order, k) != LUA_TNIL; k++) {
		const char *promo, *desc;
		int kind;
		int64_t amount;
		if (!read_discount(r, &promo, &kind, &amount, &desc))
			return bad_result(r, 2, "a malformed order discount [%lld]", (long long)k);
		/* optional explicit shares {[line] = n}, else the eligible lines
		 * (1-based) over which dealdesk spreads the amount */
		int have_shares = 0;
		if (lc_raw(L, -1, "shares") == LUA_TTABLE) {
			have_shares = 1;
			int64_t sum = 0;
			for (size_t i = 0; i < r->nlines; i++) {
				int t2 = lua_rawgeti(L, -1, (lua_Integer)i + 1);
				shares[i] = 0;
				if (t2 != LUA_TNIL && !lua_isinteger(L, -1))
					return bad_result(r, 2, "order[%lld].shares[%zu] that is not an integer",
					                  (long long)k, i + 1);
				if (t2 != LUA_TNIL)
					shares[i] = (int64_t)lua_tointeger(L, -1);
				lua_pop(L, 1);
				if (shares[i] < 0 || shares[i] > r->lines[i].out->line_total)
					return bad_result(r, 2, "order[%lld].shares[%zu] = %lld outside 0..%lld",
					                  (long long)k, i + 1, (long long)shares[i],
					                  (long long)r->lines[i].out->line_total);
				sum += shares[i];
			}
			if (sum != amount)
				return bad_result(r, 2, "order[%lld].shares summing to %lld, not %lld",
				                  (long long)k, (long long)sum, (long long)amount);
			lua_pop(L, 1);
		} else {
			lua_pop(L, 1);
		}
		int t = have_shares ? LUA_TNIL : lc_raw(L, -1, "lines");
		if (have_shares)
			lua_pushnil(L);
		memset(eligible, t == LUA_TNIL, r->nlines);
		if (t == LUA_TTABLE) {
			for (lua_Integer j = 1; lua_rawgeti(L, -1, j) != LUA_TNIL; j++) {
				lua_Integer no = lua_isinteger(L, -1) ? lua_tointeger(L, -1) : 0;
				lua_pop(L, 1);
				if (no < 1 || (size_t)no > r->nlines)
					return bad_result(r, 2, "order[%lld].lines with a bad line number",
					                  (long long)k);
				eligible[no - 1] = 1;
			}
		} else if (t != LUA_TNIL) {
			return bad_result(r, 2, "order[%lld].lines that is not a table", (long long)k);
		}
		lua_pop(L, 2); /* lines, the discount */
		if (!have_shares) {
			int64_t room = 0;
			for (size_t i = 0; i < r->nlines; i++) {
				weights[i] = eligible[i] ? r->lines[i].out->line_total : 0;
				room += weights[i]; /* <= subtotal, cannot overflow */
			}
			if (amount > room) {
				quote_trace(r->q, "promotions", promo, 1,
				            "order discount %lld capped at %lld, what the eligible lines cost",
				            (long long)amount, (long long)room);
				amount = room;
			}
			if (amount == 0)
				continue;
			int rc = dd_money_allocate(amount, weights, weights, r->nlines, shares);
			if (rc != DD_OK)
				return dd_error_set(r->err, rc, "allocating order discount: %s",
				                    dd_strerror(rc));
		}
		if (amount == 0)
			continue;
		for (size_t i = 0; i < r->nlines; i++)
			if (shares[i] > 0 &&
			    add_discount(r, &r->lines[i], promo, kind, shares[i], desc) != DD_OK)
				return dd_error_set(r->err, DD_ENOMEM, "out of memory");
		if (add_order_discount(r, promo, kind, amount, desc) != DD_OK)
			return dd_error_set(r->err, DD_ENOMEM, "out of memory");
	}
	lua_settop(L, order - 1);
	return DD_OK;
}

/* Reads a Usage counter ("c"/"p", id[, customer]); zero when absent. */
static void read_usage(quote_run *r, const char *kind, const char *id,
                       const char *customer, int64_t *uses, int64_t *amount)
{
	char key[DD_STORE_MAX_KEY + 1];
	int klen = customer ? dd_key_join(key, sizeof(key), 3, kind, id, customer)
	                    : dd_key_join(key, sizeof(key), 2, kind, id);
	dd_val v;
	*uses = *amount = 0;
	if (klen < 0 || dd_rtxn_get(r->q->txn, DD_T_USAGE, (dd_val){ key, (size_t)klen }, &v) != DD_OK)
		return;
	Dealdesk__V1__Usage *u = (void *)protobuf_c_message_unpack(
		&dealdesk__v1__usage__descriptor, &r->arena->pb, v.len, v.data);
	if (u) {
		*uses = u->uses;
		*amount = u->amount;
	}
}

/* ctx.coupon_info[code] = { promotion =, valid =, reason = } for every code
 * of the request kept as a Coupon; adds their promotions to the candidates. */
static int load_coupons(quote_run *r, promo_index *ix)
{
	lua_State *L = r->q->L;
	const Dealdesk__V1__QuoteRequest *req = r->req;
	lua_createtable(L, 0, (int)req->n_coupon_codes);
	for (size_t i = 0; i < req->n_coupon_codes; i++) {
		const char *code = req->coupon_codes[i];
		if (ix)
			promo_index_add_code(ix, code);
		dd_val v;
		if (dd_rtxn_get(r->q->txn, DD_T_COUPONS, (dd_val){ code, strlen(code) }, &v) != DD_OK)
			continue;
		Dealdesk__V1__Coupon *c = (void *)protobuf_c_message_unpack(
			&dealdesk__v1__coupon__descriptor, &r->arena->pb, v.len, v.data);
		if (c == NULL)
			return dd_error_set(r->err, DD_ESTORE, "store: coupon '%s' is corrupt", code);
		int64_t uses, amount, cuses, camount;
		read_usage(r, "c", code, NULL, &uses, &amount);
		read_usage(r, "c", code, req->customer_id, &cuses, &camount);
		const char *reason = "";
		if (!c->enabled)
			reason = "DISABLED: the code is switched off";
		else if (c->valid_from && r->time < c->valid_from)
			reason = "NOT_STARTED: the code is not valid yet";
		else if (c->valid_to && r->time >= c->valid_to)
			reason = "EXPIRED: the code has expired";
		else if (*c->customer_id && strcmp(c->customer_id, req->customer_id) != 0)
			reason = "NOT_FOR_CUSTOMER: the code belongs to another customer";
		else if (c->max_uses && uses >= c->max_uses)
			reason = "EXHAUSTED: the code has been used up";
		else if (c->max_uses_per_customer && cuses >= c->max_uses_per_customer)
			reason = "CUSTOMER_EXHAUSTED: this customer has used the code up";
		lua_createtable(L, 0, 5);
		lc_set_str(L, "promotion", c->promotion_id);
		lc_set_bool(L, "valid", *reason == '\0');
		lc_set_str(L, "reason", reason);
		lc_set_int(L, "uses", uses);
		lc_set_int(L, "customer_uses", cuses);
		lua_setfield(L, -2, code);
		if (ix)
			promo_index_add_id(ix, c->promotion_id);
	}
	lua_pushvalue(L, r->ctx);
	lua_insert(L, -2);
	lua_setfield(L, -2, "coupon_info");
	lua_pop(L, 1);
	return DD_OK;
}

/* With explain, up to this many promotions are all shown to the policy
 * (and so in the trace with their reasons); above, only the candidates. */
#define EXPLAIN_ALL_PROMOTIONS 1000

/* True when data alone says the promotion cannot be in force for this
 * request: disabled, outside its window, another currency or channel, or
 * a coupon is needed and none was entered. Used only when nobody reads the
 * reasons (no explain, no coupon codes); the policy judges the rest. */
static int surely_out(const quote_run *r, const promo_meta *m)
{
	if (!m->enabled || (m->valid_from && r->time < m->valid_from) ||
	    (m->valid_to && r->time >= m->valid_to) || m->needs_coupon)
		return 1;
	if (m->currency[0] && strcmp(m->currency, r->req->currency) != 0)
		return 1;
	if (m->n_channels) {
		const char *ch = r->req->channel ? r->req->channel : "";
		for (size_t k = 0; k < m->n_channels; k++)
			if (strcmp(m->channels[k], ch) == 0)
				return 0;
		return 1;
	}
	return 0;
}

/* Pushes the array of candidate promotions (in priority order) and sets
 * ctx.usage for those with budgets. */
static int push_candidates(quote_run *r)
{
	dd_quoter *q = r->q;
	lua_State *L = q->L;
	promo_index *ix = q->pindex;
	if (ix) {
		promo_index_begin(ix);
		for (size_t i = 0; i < r->nlines; i++) {
			promo_index_add_sku(ix, r->lines[i].out->sku);
			promo_index_add_category(ix, r->lines[i].price->category);
		}
	}
	int rc = load_coupons(r, ix);
	if (rc != DD_OK)
		return rc;
	size_t n = 0;
	const uint32_t *found = ix ? promo_index_result(ix, &n) : NULL;
	uint32_t *cand = n ? dd_arena_alloc(r->arena, n * sizeof(uint32_t)) : NULL;
	if (n && cand == NULL)
		return dd_error_set(r->err, DD_ENOMEM, "out of memory");
	size_t kept = 0;
	if (r->req->explain && q->npromos <= EXPLAIN_ALL_PROMOTIONS) {
		/* explain every promotion, not only those the cart selects */
		cand = dd_arena_alloc(r->arena, (q->npromos ? q->npromos : 1) * sizeof(uint32_t));
		if (cand == NULL)
			return dd_error_set(r->err, DD_ENOMEM, "out of memory");
		for (size_t k = 0; k < q->npromos; k++)
			cand[kept++] = (uint32_t)k;
	} else {
		int prefilter = !r->req->explain && r->req->n_coupon_codes == 0;
		for (size_t k = 0; k < n; k++)
			if (!prefilter || !surely_out(r, &q->pmeta[found[k]]))
				cand[kept++] = found[k];
	}
	n = kept;
	lua_createtable(L, 0, 4); /* ctx.usage */
	for (size_t k = 0; k < n; k++) {
		const promo_meta *m = &q->pmeta[cand[k]];
		if (!m->has_budget)
			continue;
		int64_t uses, amount, cuses, camount;
		read_usage(r, "p", m->id, NULL, &uses, &amount);
		read_usage(r, "p", m->id, r->req->customer_id, &cuses, &camount);
		lua_createtable(L, 0, 4);
		lc_set_int(L, "uses", uses);
		lc_set_int(L, "amount", amount);
		lc_set_int(L, "customer_uses", cuses);
		lc_set_int(L, "customer_amount", camount);
		lua_setfield(L, -2, m->id);
	}
	lua_pushvalue(L, r->ctx);
	lua_insert(L, -2);
	lua_setfield(L, -2, "usage");
	lua_pop(L, 1);

	lua_rawgeti(L, LUA_REGISTRYINDEX, q->promos_ref);
	int all = lua_gettop(L);
	lua_createtable(L, (int)n, 0);
	for (size_t k = 0; k < n; k++) {
		lua_geti(L, all, (lua_Integer)cand[k] + 1);
		lua_rawseti(L, -2, (lua_Integer)k + 1);
	}
	lua_remove(L, all);
	return DD_OK;
}

#define MAX_GIFTS 16

/* Appends a gift line: the gift's list price, discounted in full. */
static int add_gift(quote_run *r, const char *promo, const char *sku, int64_t qty,
                    const char *desc)
{
	price_pick p;
	if (r->nlines >= r->nrequested + MAX_GIFTS || find_price(r, sku, qty, &p) != DD_OK ||
	    p.best == NULL) {
		quote_trace(r->q, "promotions", promo, 0, "gift %s is not available in %s",
		            sku, r->req->currency);
		return DD_ENOTFOUND;
	}
	size_t i = r->nlines;
	int rc = fill_line(r, i, sku, qty, p.best);
	if (rc != DD_OK)
		return rc;
	line_work *w = &r->lines[i];
	w->out->gift = 1;
	w->out->line_subtotal = w->out->line_total = w->list_subtotal;
	if (w->list_subtotal > 0 &&
	    add_discount(r, w, promo, DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_FREE_GIFT,
	                 w->list_subtotal, desc) != DD_OK)
		return dd_error_set(r->err, DD_ENOMEM, "out of memory");
	r->nlines++;
	/* the credit and compliance policies see the gift line too */
	lua_State *L = r->q->L;
	lc_raw(L, r->ctx, "lines");
	push_line(L, w, i);
	lua_rawseti(L, -2, (lua_Integer)i + 1);
	lua_pop(L, 1);
	return DD_OK;
}

static int add_note(quote_run *r, const char *promo, const char *code, const char *msg)
{
	Dealdesk__V1__QuoteResponse *resp = r->resp;
	Dealdesk__V1__PromotionNote *n = dd_arena_alloc(r->arena, sizeof(*n));
	Dealdesk__V1__PromotionNote **list = dd_arena_alloc(
		r->arena, (resp->n_promotion_notes + 1) * sizeof(*list));
	if (n == NULL || list == NULL)
		return dd_error_set(r->err, DD_ENOMEM, "out of memory");
	dealdesk__v1__promotion_note__init(n);
	n->promotion_id = (char *)promo;
	n->code = (char *)code;
	n->message = (char *)msg;
	if (resp->n_promotion_notes)
		memcpy(list, resp->promotion_notes, resp->n_promotion_notes * sizeof(*list));
	list[resp->n_promotion_notes++] = n;
	resp->promotion_notes = list;
	return DD_OK;
}

/* Iterates array field k of the result table at res, calling fn with each
 * element (a table) on top of the stack. */
static int each_entry(quote_run *r, int res, const char *k, size_t max,
                      int (*fn)(quote_run *r, size_t i))
{
	lua_State *L = r->q->L;
	int t = lc_raw(L, res, k);
	if (t == LUA_TNIL) {
		lua_pop(L, 1);
		return DD_OK;
	}
	if (t != LUA_TTABLE) {
		lua_pop(L, 1);
		return bad_result(r, 2, "a non-table '%s'", k);
	}
	int list = lua_gettop(L);
	size_t n = lua_rawlen(L, list);
	if (n > max) {
		lua_pop(L, 1);
		return bad_result(r, 2, "more than %zu '%s'", max, k);
	}
	for (size_t i = 0; i < n; i++) {
		if (lua_rawgeti(L, list, (lua_Integer)i + 1) != LUA_TTABLE) {
			lua_settop(L, list - 1);
			return bad_result(r, 2, "%s[%zu] that is not a table", k, i + 1);
		}
		int rc = fn(r, i);
		lua_settop(L, list);
		if (rc != DD_OK) {
			lua_settop(L, list - 1);
			return rc;
		}
	}
	lua_settop(L, list - 1);
	return DD_OK;
}

static int read_gift(quote_run *r, size_t i)
{
	const char *promo, *sku, *desc;
	int64_t qty;
	lua_State *L = r->q->L;
	if (!lc_str_field(L, -1, "promotion", NULL, DD_MAX_ID, r->arena, &promo) || !promo ||
	    !lc_str_field(L, -1, "sku", NULL, DD_MAX_ID, r->arena, &sku) || !sku ||
	    !lc_int_field(L, -1, "quantity", 1, &qty) || qty < 1 || qty > 1000 ||
	    !lc_str_field(L, -1, "description", "", MAX_TEXT, r->arena, &desc))
		return bad_result(r, 2, "a malformed gifts[%zu]", i + 1);
	int rc = add_gift(r, promo, sku, qty, desc);
	if (rc == DD_ENOTFOUND)
		return add_note(r, promo, "GIFT_UNAVAILABLE",
		                dd_arena_printf(r->arena, "gift %s has no price in %s", sku,
		                                r->req->currency));
	return rc;
}

static int read_note(quote_run *r, size_t i)
{
	const char *promo, *code, *msg;
	lua_State *L = r->q->L;
	if (!lc_str_field(L, -1, "promotion", NULL, DD_MAX_ID, r->arena, &promo) || !promo ||
	    !lc_str_field(L, -1, "code", "", DD_MAX_ID, r->arena, &code) ||
	    !lc_str_field(L, -1, "message", "", MAX_TEXT, r->arena, &msg))
		return bad_result(r, 2, "a malformed notes[%zu]", i + 1);
	return add_note(r, promo, code, msg);
}

static int read_coupon(quote_run *r, size_t i)
{
	const char *code, *reason, *promo;
	lua_State *L = r->q->L;
	if (!lc_str_field(L, -1, "code", NULL, DD_MAX_ID, r->arena, &code) || !code ||
	    !lc_str_field(L, -1, "reason", "", MAX_TEXT, r->arena, &reason) ||
	    !lc_str_field(L, -1, "promotion", "", DD_MAX_ID, r->arena, &promo))
		return bad_result(r, 2, "a malformed coupons[%zu]", i + 1);
	lc_raw(L, -1, "accepted");
	int accepted = lua_toboolean(L, -1);
	lua_pop(L, 1);
	Dealdesk__V1__CouponResult *c = dd_arena_alloc(r->arena, sizeof(*c));
	if (c == NULL)
		return dd_error_set(r->err, DD_ENOMEM, "out of memory");
	dealdesk__v1__coupon_result__init(c);
	c->code = (char *)code;
	c->accepted = accepted;
	c->reason = (char *)reason;
	c->promotion_id = (char *)promo;
	r->resp->coupons[r->resp->n_coupons++] = c;
	return DD_OK;
}

static int read_experiment(quote_run *r, size_t i)
{
	const char *exp, *promo, *arm;
	lua_State *L = r->q->L;
	if (!lc_str_field(L, -1, "experiment", NULL, DD_MAX_ID, r->arena, &exp) || !exp ||
	    !lc_str_field(L, -1, "promotion", "", DD_MAX_ID, r->arena, &promo) ||
	    !lc_str_field(L, -1, "arm", "", DD_MAX_ID, r->arena, &arm))
		return bad_result(r, 2, "a malformed experiments[%zu]", i + 1);
	Dealdesk__V1__ExperimentAssignment *a = dd_arena_alloc(r->arena, sizeof(*a));
	if (a == NULL)
		return dd_error_set(r->err, DD_ENOMEM, "out of memory");
	dealdesk__v1__experiment_assignment__init(a);
	a->experiment_id = (char *)exp;
	a->promotion_id = (char *)promo;
	a->arm = (char *)arm;
	r->resp->experiments[r->resp->n_experiments++] = a;
	return DD_OK;
}

/* Gifts, loyalty multiplier, notes, coupon results, experiment arms. */
static int apply_extras(quote_run *r, int res)
{
	lua_State *L = r->q->L;
	int64_t mult;
	if (!lc_int_field(L, res, "points_multiplier", 1, &mult) || mult < 1 || mult > 100)
		return bad_result(r, 2, "a points_multiplier outside 1..100");
	r->multiplier = (int32_t)mult;
	r->resp->coupons = dd_arena_calloc(r->arena, 64, sizeof(*r->resp->coupons));
	r->resp->experiments = dd_arena_calloc(r->arena, 64, sizeof(*r->resp->experiments));
	if (!r->resp->coupons || !r->resp->experiments)
		return dd_error_set(r->err, DD_ENOMEM, "out of memory");
	int rc;
	if ((rc = each_entry(r, res, "notes", 256, read_note)) != DD_OK ||
	    (rc = each_entry(r, res, "coupons", 64, read_coupon)) != DD_OK ||
	    (rc = each_entry(r, res, "experiments", 64, read_experiment)) != DD_OK ||
	    (rc = each_entry(r, res, "gifts", MAX_GIFTS, read_gift)) != DD_OK)
		return rc;
	return DD_OK;
}

static int run_promotions(quote_run *r)
{
	lua_State *L = r->q->L;
	int rc = push_candidates(r);
	if (rc != DD_OK)
		return rc;
	int cands = lua_gettop(L);
	rc = call_policy(r, 2, cands, 0);
	lua_remove(L, cands);
	if (rc != DD_OK)
		return policy_fail(r, 2, "failed");
	int res = lua_gettop(L);
	if (lua_type(L, res) == LUA_TTABLE) {
		rc = apply_line_discounts(r, res);
		if (rc == DD_OK)
			rc = apply_order_discounts(r, res);
		if (rc == DD_OK)
			rc = apply_extras(r, res);
	} else if (lua_type(L, res) != LUA_TNIL) {
		rc = bad_result(r, 2, "a %s instead of a table", luaL_typename(L, res));
	}
	lua_settop(L, res - 1);
	if (rc != DD_OK)
		return rc;
	int64_t discount = 0, subtotal = 0;
	for (size_t i = 0; i < r->nlines; i++) {
		line_work *w = &r->lines[i];
		w->out->discounts = w->disc;
		w->out->n_discounts = w->ndisc;
		if (dd_money_add(subtotal, w->out->line_subtotal, &subtotal) != DD_OK)
			return dd_error_set(r->err, DD_EOVERFLOW, "subtotal with gifts overflows int64");
		discount += w->out->discount_total; /* each <= its subtotal */
		if (i < r->nrequested) {
			ctx_line_set(r, i, "discount", w->out->discount_total);
			ctx_line_set(r, i, "total", w->out->line_total);
		}
	}
	r->resp->subtotal = subtotal;
	r->resp->discount_total = discount;
	r->resp->total = subtotal - discount;
	ctx_set(r, "subtotal", subtotal);
	ctx_set(r, "discount_total", discount);
	ctx_set(r, "total", r->resp->total);
	/* loyalty: one point per major unit of the total, times the multiplier */
	int64_t unit = 1;
	for (int e = 0; e < r->exponent; e++)
		unit *= 10;
	if (dd_money_mul(r->resp->total / unit, r->multiplier, &r->resp->loyalty_points) != DD_OK)
		return dd_error_set(r->err, DD_EOVERFLOW, "loyalty points overflow int64");
	r->resp->loyalty_multiplier = r->multiplier;
	return DD_OK;
}

/* ---- 5. credit -------------------------------------------------------------------- */

static const char *credit_outcome_prefix = "CREDIT_OUTCOME_";

static void credit_failsafe(quote_run *r, Dealdesk__V1__CreditDecision *d, const char *why)
{
	d->outcome = DEALDESK__V1__CREDIT_OUTCOME__CREDIT_OUTCOME_REVIEW;
	d->payment_terms_days = 0;
	d->deposit_amount = 0;
	d->reasons = dd_arena_alloc(r->arena, sizeof(char *));
	if (d->reasons) {
		d->reasons[0] = dd_arena_printf(r->arena, "POLICY_ERROR: %s", why);
		d->n_reasons = d->reasons[0] ? 1 : 0;
	}
	quote_trace(r->q, "credit", "fail-safe", 1, "REVIEW because the credit policy failed: %s", why);
}

static int run_credit(quote_run *r)
{
	lua_State *L = r->q->L;
	Dealdesk__V1__CreditDecision *d = dd_arena_alloc(r->arena, sizeof(*d));
	if (d == NULL)
		return dd_error_set(r->err, DD_ENOMEM, "out of memory");
	dealdesk__v1__credit_decision__init(d);
	r->resp->credit = d;
	const Dealdesk__V1__CreditProfile *c = r->customer->credit;
	int same = c != NULL && strcmp(c->currency, r->req->currency) == 0;
	int64_t exposure = 0;
	int overflow = 0;
	if (c != NULL) {
		overflow |= dd_money_add(c->open_receivables, c->committed_orders, &exposure);
		if (same)
			overflow |= dd_money_add(exposure, r->resp->total, &exposure);
		d->credit_limit = c->credit_limit;
		d->tier = c->tier;
	}
	d->exposure = exposure;
	if (overflow || dd_money_sub(d->credit_limit, exposure, &d->available_credit)) {
		credit_failsafe(r, d, "exposure overflows int64");
		return DD_OK;
	}

	lua_createtable(L, 0, 10);
	lc_set_bool(L, "present", c != NULL);
	lc_set_bool(L, "same_currency", same);
	lc_set_str(L, "currency", c ? c->currency : "");
	lc_set_int(L, "limit", d->credit_limit);
	lc_set_int(L, "open_receivables", c ? c->open_receivables : 0);
	lc_set_int(L, "committed_orders", c ? c->committed_orders : 0);
	lc_set_int(L, "order_total", r->resp->total);
	lc_set_int(L, "exposure", exposure);
	lc_set_int(L, "available", d->available_credit);
	lc_set_int(L, "terms_days", c ? c->standard_terms_days : 0);
	lc_set_int(L, "overdue_days", c ? c->oldest_overdue_days : 0);
	lc_set_str(L, "tier", c ? c->tier : "");
	lc_set_int(L, "next_review_at", c ? c->next_review_at : 0);
	lc_set_bool(L, "hold", c ? c->hold : 0);
	int arg = lua_gettop(L);
	int rc = call_policy(r, 3, arg, 0);
	if (rc == DD_EPRECOND) {
		lua_settop(L, arg - 1);
		return rc;
	}
	if (rc != DD_OK) {
		policy_fail(r, 3, "failed; decision is REVIEW");
		credit_failsafe(r, d, r->err->msg);
		dd_error_clear(r->err);
		lua_settop(L, arg - 1);
		return DD_OK;
	}
	int res = lua_gettop(L);
	const char *outcome;
	int64_t terms, deposit;
	const ProtobufCEnumValue *ev = NULL;
	int ok = lua_type(L, res) == LUA_TTABLE &&
	         lc_str_field(L, res, "outcome", "", 32, r->arena, &outcome) &&
	         lc_int_field(L, res, "terms_days", 0, &terms) &&
	         lc_int_field(L, res, "deposit", 0, &deposit);
	if (ok) {
		ev = enum_by_short(&dealdesk__v1__credit_outcome__descriptor,
		                   credit_outcome_prefix, outcome);
		ok = ev != NULL && ev->value != 0 && terms >= 0 && terms <= 365 &&
		     deposit >= 0 && deposit <= r->resp->total;
	}
	size_t nreasons = 0;
	if (ok && lc_raw(L, res, "reasons") == LUA_TTABLE) {
		nreasons = lua_rawlen(L, -1);
		if (nreasons > 32)
			nreasons = 32;
		d->reasons = dd_arena_calloc(r->arena, nreasons ? nreasons : 1, sizeof(char *));
		for (size_t i = 0; ok && d->reasons && i < nreasons; i++) {
			size_t len;
			lua_rawgeti(L, -1, (lua_Integer)i + 1);
			const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &len) : NULL;
			if (s == NULL || len > MAX_TEXT || !dd_utf8_valid(s, len) || memchr(s, 0, len))
				ok = 0;
			else
				d->reasons[i] = dd_arena_strndup(r->arena, s, len);
			lua_pop(L, 1);
		}
		lua_pop(L, 1);
	} else if (ok) {
		lua_pop(L, 1);
	}
	lua_settop(L, arg - 1);
	if (!ok) {
		dd_error_set(r->err, DD_EPOLICY,
		             "decide() must return {outcome=APPROVE|APPROVE_SHORTER_TERMS|DEPOSIT|"
		             "PREPAY|REVIEW|DECLINE, terms_days=0..365, deposit=0..total, reasons={...}}");
		policy_fail(r, 3, "bad result; decision is REVIEW");
		credit_failsafe(r, d, r->err->msg);
		dd_error_clear(r->err);
		return DD_OK;
	}
	d->outcome = ev->value;
	d->payment_terms_days = (int32_t)terms;
	d->deposit_amount = deposit;
	d->n_reasons = nreasons;
	return DD_OK;
}

/* ---- 6. compliance ------------------------------------------------------------------ */

static int compliance_failsafe(quote_run *r, const char *why)
{
	Dealdesk__V1__ComplianceResult *c = dd_arena_alloc(r->arena, sizeof(*c));
	Dealdesk__V1__ComplianceResult **list = dd_arena_alloc(r->arena, sizeof(*list));
	if (!c || !list)
		return dd_error_set(r->err, DD_ENOMEM, "out of memory");
	dealdesk__v1__compliance_result__init(c);
	c->check_id = "policy-error";
	c->status = DEALDESK__V1__COMPLIANCE_STATUS__COMPLIANCE_STATUS_BLOCK;
	c->message = dd_arena_printf(r->arena, "the compliance policy failed: %s", why);
	c->line_no = -1;
	list[0] = c;
	r->resp->compliance = list;
	r->resp->n_compliance = 1;
	r->resp->compliance_status = c->status;
	quote_trace(r->q, "compliance", "fail-safe", 1, "BLOCK because the compliance policy failed");
	return DD_OK;
}

static int run_compliance(quote_run *r)
{
	lua_State *L = r->q->L;
	int rc = call_policy(r, 4, r->q->checks_ref, 1);
	if (rc == DD_EPRECOND)
		return rc;
	if (rc != DD_OK) {
		policy_fail(r, 4, "failed; result is BLOCK");
		rc = compliance_failsafe(r, r->err->msg);
		dd_error_clear(r->err);
		return rc;
	}
	int res = lua_gettop(L);
	int ok = lua_type(L, res) == LUA_TTABLE;
	size_t n = ok ? lua_rawlen(L, res) : 0;
	if (n > 1000)
		ok = 0;
	Dealdesk__V1__ComplianceResult **list = dd_arena_calloc(r->arena, n ? n : 1, sizeof(*list));
	int worst = (int)DEALDESK__V1__COMPLIANCE_STATUS__COMPLIANCE_STATUS_PASS;
	for (size_t i = 0; ok && list && i < n; i++) {
		Dealdesk__V1__ComplianceResult *c = dd_arena_alloc(r->arena, sizeof(*c));
		if (c == NULL)
			return dd_error_set(r->err, DD_ENOMEM, "out of memory");
		dealdesk__v1__compliance_result__init(c);
		lua_rawgeti(L, res, (lua_Integer)i + 1);
		const char *id, *status, *msg;
		int64_t line, value, limit;
		ok = lua_type(L, -1) == LUA_TTABLE &&
		     lc_str_field(L, -1, "check", NULL, DD_MAX_ID, r->arena, &id) && id &&
		     lc_str_field(L, -1, "status", "", 16, r->arena, &status) &&
		     lc_str_field(L, -1, "message", "", MAX_TEXT, r->arena, &msg) &&
		     lc_int_field(L, -1, "line", -1, &line) &&
		     lc_int_field(L, -1, "value", 0, &value) &&
		     lc_int_field(L, -1, "limit", 0, &limit) &&
		     line >= -1 && line < (int64_t)r->nlines;
		lua_pop(L, 1);
		if (!ok)
			break;
		const ProtobufCEnumValue *ev = enum_by_short(
			&dealdesk__v1__compliance_status__descriptor, "COMPLIANCE_STATUS_", status);
		if (ev == NULL || ev->value == 0) {
			ok = 0;
			break;
		}
		c->check_id = (char *)id;
		c->status = ev->value;
		c->message = (char *)msg;
		c->line_no = (int32_t)line;
		c->computed_value = value;
		c->limit_value = limit;
		if ((int)c->status > worst)
			worst = c->status;
		list[i] = c;
	}
	lua_settop(L, res - 1);
	if (!ok || list == NULL) {
		dd_error_set(r->err, DD_EPOLICY,
		             "check() must return an array of {check=, status=PASS|WARN|BLOCK, "
		             "message=, line=, value=, limit=}");
		policy_fail(r, 4, "bad result; result is BLOCK");
		rc = compliance_failsafe(r, r->err->msg);
		dd_error_clear(r->err);
		return rc;
	}
	r->resp->compliance = list;
	r->resp->n_compliance = n;
	r->resp->compliance_status = worst;
	return DD_OK;
}

/* ---- the pipeline --------------------------------------------------------------------- */

static int quote_in_txn(quote_run *r)
{
	dd_quoter *q = r->q;
	int rc;
	if ((rc = load_customer(r)) != DD_OK)
		return rc;
	for (size_t i = 0; i < r->nlines; i++)
		if ((rc = price_line(r, i)) != DD_OK)
			return rc;
	for (int kind = 1; kind <= 4; kind++)
		if ((rc = quote_policy(q, kind, r->err)) != DD_OK)
			return rc;
	if ((rc = quote_refresh_data(q, r->err)) != DD_OK)
		return rc;
	Dealdesk__V1__Versions *v = dd_arena_alloc(r->arena, sizeof(*v));
	if (v == NULL)
		return dd_error_set(r->err, DD_ENOMEM, "out of memory");
	dealdesk__v1__versions__init(v);
	v->data_version = dd_rtxn_data_version(q->txn);
	v->pricing_policy = q->policy[1].version;
	v->promotions_policy = q->policy[2].version;
	v->credit_policy = q->policy[3].version;
	v->compliance_policy = q->policy[4].version;
	r->resp->versions = v;

	if ((rc = push_ctx(r)) != DD_OK)
		return rc;
	if ((rc = run_pricing(r)) != DD_OK || (rc = run_promotions(r)) != DD_OK ||
	    (rc = run_credit(r)) != DD_OK || (rc = run_compliance(r)) != DD_OK)
		return rc;
	return DD_OK;
}

int dd_quote(dd_quoter *q, const Dealdesk__V1__QuoteRequest *req, int64_t now,
             dd_arena *arena, Dealdesk__V1__QuoteResponse **out, dd_error *err)
{
	dd_error_clear(err);
	q->arena = arena;
	q->explain = req->explain;
	q->trace = NULL;
	q->ntrace = q->captrace = 0;
	int rc = validate(q, req, err);
	if (rc != DD_OK)
		return rc;

	quote_run r = { .q = q, .req = req, .arena = arena, .err = err };
	r.time = req->request_time ? req->request_time : now;
	r.exponent = dd_currency_exponent(req->currency);
	r.nlines = req->n_lines;
	size_t cap = r.nlines + MAX_GIFTS;
	r.nrequested = r.nlines;
	r.multiplier = 1;
	r.lines = dd_arena_calloc(arena, cap, sizeof(*r.lines));
	r.resp = dd_arena_alloc(arena, sizeof(*r.resp));
	Dealdesk__V1__QuoteLine *lines = dd_arena_calloc(arena, cap, sizeof(*lines));
	Dealdesk__V1__QuoteLine **lp = dd_arena_calloc(arena, cap, sizeof(*lp));
	char *id = dd_arena_alloc(arena, 33);
	if (!r.lines || !r.resp || !lines || !lp || !id)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	dealdesk__v1__quote_response__init(r.resp);
	for (size_t i = 0; i < cap; i++) {
		dealdesk__v1__quote_line__init(&lines[i]);
		r.lines[i].out = lp[i] = &lines[i];
	}
	r.resp->lines = lp;
	r.resp->n_lines = r.nlines;
	r.resp->currency = req->currency;
	r.resp->currency_exponent = r.exponent;
	r.resp->request_time = r.time;
	r.resp->order_id = req->order_id;

	lua_State *L = q->L;
	int top = lua_gettop(L);
	if ((rc = dd_rtxn_begin(q->txn)) != DD_OK)
		return dd_error_set(err, DD_ESTORE, "store: cannot begin a read");
	rc = quote_in_txn(&r);
	dd_rtxn_end(q->txn);
	lua_settop(L, top);
	if (rc != DD_OK) {
		if (err && err->code == DD_OK)
			dd_error_set(err, rc, "%s", dd_strerror(rc));
		return rc;
	}
	r.resp->n_lines = r.nlines; /* with gift lines */
	quote_decision_id(q, id);
	r.resp->decision_id = id;
	r.resp->trace = q->trace;
	r.resp->n_trace = q->ntrace;
	*out = r.resp;
	return DD_OK;
}
