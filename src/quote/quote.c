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
		snprintf(f, sizeof(f), "lines[%zu].sku", i);
		if ((rc = dd_check_string(l->sku, DD_MAX_ID, 0, f, err)))
			return rc;
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
		snprintf(f, sizeof(f), "coupon_codes[%zu]", i);
		if ((rc = dd_check_string(req->coupon_codes[i], DD_MAX_ID, 0, f, err)))
			return rc;
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
 * then priority, then the newest valid_from, then the first price list id
 * in key order. */
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
	int score = (!str_empty(e->customer_group) << 2) |
	            (!str_empty(e->channel) << 1) | !str_empty(e->region);
	const Dealdesk__V1__PriceEntry *b = p->best;
	if (b == NULL || score > p->best_score ||
	    (score == p->best_score &&
	     (e->priority > b->priority ||
	      (e->priority == b->priority && e->valid_from > b->valid_from)))) {
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

static int price_line(quote_run *r, size_t i)
{
	const Dealdesk__V1__LineRequest *l = r->req->lines[i];
	char prefix[DD_STORE_MAX_KEY + 1];
	int plen = dd_key_join(prefix, sizeof(prefix) - 1, 2, l->sku, r->req->currency);
	if (plen < 0)
		return dd_error_set(r->err, DD_EINVAL, "lines[%zu].sku: too long", i);
	prefix[plen++] = '\0';
	price_pick p = { r, NULL, -1, 0, 0 };
	int rc = dd_rtxn_scan(r->q->txn, DD_T_PRICES, (dd_val){ prefix, (size_t)plen },
	                      (dd_val){ NULL, 0 }, pick_one, &p);
	if (rc < 0)
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
	line_work *w = &r->lines[i];
	w->price = p.best;
	Dealdesk__V1__QuoteLine *o = w->out;
	o->line_no = (int32_t)i;
	o->sku = l->sku;
	o->quantity = l->quantity;
	o->price_list_id = p.best->price_list_id;
	o->unit_list_price = o->unit_price = p.best->unit_price;
	o->price_reason = "";
	if (dd_money_mul(o->unit_list_price, o->quantity, &w->list_subtotal) != DD_OK)
		return dd_error_set(r->err, DD_EOVERFLOW,
		                    "lines[%zu].quantity: %lld x %lld overflows int64", i,
		                    (long long)o->quantity, (long long)o->unit_list_price);
	quote_trace(r->q, "pricing", p.best->price_list_id, 1,
	            "line %zu %s: list price %lld from %s (%zu entries in %s)", i, l->sku,
	            (long long)p.best->unit_price, p.best->price_list_id, p.candidates,
	            r->req->currency);
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

	const Dealdesk__V1__Customer *c = r->customer;
	lua_createtable(L, 0, 6);
	lc_set_str(L, "id", c->id);
	lc_set_str(L, "name", c->name);
	lc_set_str(L, "group", c->customer_group);
	lc_set_str(L, "segment", c->segment);
	lc_set_str(L, "tier", c->credit ? c->credit->tier : "");
	push_credit_profile(L, c->credit);
	lua_setfield(L, -2, "credit");
	lua_setfield(L, -2, "customer");

	lua_createtable(L, 0, (int)req->n_coupon_codes);
	for (size_t i = 0; i < req->n_coupon_codes; i++) {
		lua_pushboolean(L, 1);
		lua_setfield(L, -2, req->coupon_codes[i]);
	}
	lua_setfield(L, -2, "coupons");

	lua_createtable(L, 0, (int)req->n_attributes);
	for (size_t i = 0; i < req->n_attributes; i++) {
		lua_pushstring(L, req->attributes[i]->value ? req->attributes[i]->value : "");
		lua_setfield(L, -2, req->attributes[i]->key);
	}
	lua_setfield(L, -2, "attributes");

	lua_createtable(L, (int)r->nlines, 0);
	for (size_t i = 0; i < r->nlines; i++) {
		const line_work *w = &r->lines[i];
		lua_createtable(L, 0, 14);
		lc_set_int(L, "no", (int64_t)i);
		lc_set_str(L, "sku", w->out->sku);
		lc_set_int(L, "quantity", w->out->quantity);
		lc_set_str(L, "category", w->price->category);
		lc_set_str(L, "price_list", w->price->price_list_id);
		lc_set_int(L, "list_price", w->price->unit_price);
		lc_set_int(L, "unit_price", w->price->unit_price);
		lc_set_int(L, "unit_cost", w->price->unit_cost);
		lc_set_int(L, "list_subtotal", w->list_subtotal);
		lc_set_int(L, "subtotal", w->list_subtotal);
		lc_set_str(L, "rounding", rounding_name(w->price->rounding));
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

static int kind_from_name(const char *s)
{
	const ProtobufCEnumValue *v;
	char full[64];
	snprintf(full, sizeof(full), "PROMOTION_KIND_%s", s ? s : "");
	v = protobuf_c_enum_descriptor_get_value_by_name(
		&dealdesk__v1__promotion_kind__descriptor, full);
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
		/* optional list of eligible line numbers (1-based) */
		int t = lc_raw(L, -1, "lines");
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

static int run_promotions(quote_run *r)
{
	lua_State *L = r->q->L;
	int rc = call_policy(r, 2, r->q->promos_ref, 1);
	if (rc != DD_OK)
		return policy_fail(r, 2, "failed");
	int res = lua_gettop(L);
	if (lua_type(L, res) == LUA_TTABLE) {
		rc = apply_line_discounts(r, res);
		if (rc == DD_OK)
			rc = apply_order_discounts(r, res);
	} else if (lua_type(L, res) != LUA_TNIL) {
		rc = bad_result(r, 2, "a %s instead of a table", luaL_typename(L, res));
	}
	lua_settop(L, res - 1);
	if (rc != DD_OK)
		return rc;
	int64_t discount = 0;
	for (size_t i = 0; i < r->nlines; i++) {
		line_work *w = &r->lines[i];
		w->out->discounts = w->disc;
		w->out->n_discounts = w->ndisc;
		discount += w->out->discount_total; /* each <= its subtotal */
		ctx_line_set(r, i, "discount", w->out->discount_total);
		ctx_line_set(r, i, "total", w->out->line_total);
	}
	r->resp->discount_total = discount;
	r->resp->total = r->resp->subtotal - discount;
	ctx_set(r, "discount_total", discount);
	ctx_set(r, "total", r->resp->total);
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
	char full[64];
	const ProtobufCEnumValue *ev = NULL;
	int ok = lua_type(L, res) == LUA_TTABLE &&
	         lc_str_field(L, res, "outcome", "", 32, r->arena, &outcome) &&
	         lc_int_field(L, res, "terms_days", 0, &terms) &&
	         lc_int_field(L, res, "deposit", 0, &deposit);
	if (ok) {
		snprintf(full, sizeof(full), "%s%s", credit_outcome_prefix, outcome);
		ev = protobuf_c_enum_descriptor_get_value_by_name(
			&dealdesk__v1__credit_outcome__descriptor, full);
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
		char full[48];
		snprintf(full, sizeof(full), "COMPLIANCE_STATUS_%s", status);
		const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value_by_name(
			&dealdesk__v1__compliance_status__descriptor, full);
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
	r.lines = dd_arena_calloc(arena, r.nlines, sizeof(*r.lines));
	r.resp = dd_arena_alloc(arena, sizeof(*r.resp));
	Dealdesk__V1__QuoteLine *lines = dd_arena_calloc(arena, r.nlines, sizeof(*lines));
	Dealdesk__V1__QuoteLine **lp = dd_arena_calloc(arena, r.nlines, sizeof(*lp));
	char *id = dd_arena_alloc(arena, 33);
	if (!r.lines || !r.resp || !lines || !lp || !id)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	dealdesk__v1__quote_response__init(r.resp);
	for (size_t i = 0; i < r.nlines; i++) {
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
	quote_decision_id(q, id);
	r.resp->decision_id = id;
	r.resp->trace = q->trace;
	r.resp->n_trace = q->ntrace;
	*out = r.resp;
	return DD_OK;
}
