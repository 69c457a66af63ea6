/* dealdesk quote, stage 4: promotions. The promotions policy's
 * apply(ctx, promotions) decides what applies, and commits each effect
 * through the mechanics (mechanics.c) as it goes. A policy may also return
 * a table in the format of earlier versions (README "Promotions policy
 * results"): its line and order discounts, gifts, notes, coupon results,
 * experiment arms and points multiplier are read here, with every amount
 * checked against what the line still costs. Then the gift lines are
 * added and the order's totals and loyalty points computed. */
#include "quoter.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>

#include "readers.h"

typedef struct promo_read {
	quote_run *r;
	char why[256];
} promo_read;

static int bad(promo_read *pr, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(promo_read *pr, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(pr->why, sizeof(pr->why), fmt, ap);
	va_end(ap);
	return DD_EPOLICY;
}

static const char *const kind_names[] = {
	"UNSPECIFIED", "PERCENTAGE", "FIXED_AMOUNT", "BUNDLE", "SPEND_THRESHOLD",
	"FIXED_PRICE", "BUY_X_GET_Y", "FREE_GIFT", "LOYALTY_POINTS", "CUSTOM", NULL,
};

typedef struct discount_answer {
	const char *promotion, *description;
	int kind;
	int64_t amount;
} discount_answer;

static const quote_field discount_fields[] = {
	{ "promotion", QF_STRING, offsetof(discount_answer, promotion), 1, 0, DD_MAX_ID, 0, NULL, NULL },
	{ "kind", QF_ENUM, offsetof(discount_answer, kind), 0, 0, 0, 0, NULL, kind_names },
	{ "amount", QF_INT, offsetof(discount_answer, amount), 1, 0, INT64_MAX, 0, NULL, NULL },
	{ "description", QF_TEXT, offsetof(discount_answer, description), 0, 0, QO_MAX_TEXT, 0, "", NULL },
};

static int read_discount(promo_read *pr, lua_State *L, discount_answer *d)
{
	char why[160];
	if (!quote_read_record(L, -1, discount_fields, 4, d, pr->r->arena, why, sizeof(why)) ||
	    *d->promotion == '\0')
		return 0;
	return 1;
}

static int read_line_discounts(promo_read *pr, lua_State *L)
{
	quote_run *r = pr->r;
	int t = quote_raw(L, 1, "lines");
	if (t == LUA_TNIL)
		return DD_OK;
	if (t != LUA_TTABLE)
		return bad(pr, "a non-table 'lines'");
	int lines = lua_gettop(L);
	for (size_t i = 0; i < r->order.nrequested; i++) {
		t = lua_rawgeti(L, lines, (lua_Integer)i + 1);
		if (t == LUA_TNIL) {
			lua_pop(L, 1);
			continue;
		}
		if (t != LUA_TTABLE)
			return bad(pr, "a non-table lines[%zu]", i + 1);
		int list = lua_gettop(L);
		for (lua_Integer k = 1; lua_rawgeti(L, list, k) != LUA_TNIL; k++) {
			discount_answer d;
			dd_sandbox_charge(L, 1);
			if (k > 1000 || !read_discount(pr, L, &d))
				return bad(pr, "a malformed discount lines[%zu][%lld]", i + 1, (long long)k);
			lua_pop(L, 1);
			qo_line *l = &r->order.lines[i];
			int64_t total = qo_line_total(l);
			if (d.amount > total) {
				quote_trace(r, "promotions", d.promotion, 1,
				            "line %zu: discount %lld capped at %lld so the line stays >= 0",
				            i, (long long)d.amount, (long long)total);
				d.amount = total;
			}
			if (d.amount == 0)
				continue;
			if (quote_add_line_discount(r, i, d.promotion, d.kind, d.amount, d.description))
				return DD_ENOMEM;
			l->left -= d.amount;
		}
		lua_settop(L, list - 1);
	}
	lua_settop(L, lines - 1);
	return DD_OK;
}

/* An order discount: explicit shares {[line] = n}, or spread by largest
 * remainder over the eligible lines (`lines`, 1-based; all when absent)
 * weighted by what each still costs. */
static int read_order_discount(promo_read *pr, lua_State *L, lua_Integer k, int64_t *weights,
                               int64_t *shares, char *eligible)
{
	quote_run *r = pr->r;
	size_t n = r->order.nrequested;
	discount_answer d;
	if (!read_discount(pr, L, &d))
		return bad(pr, "a malformed order discount [%lld]", (long long)k);
	int have_shares = 0;
	if (quote_raw(L, -1, "shares") == LUA_TTABLE) {
		have_shares = 1;
		int64_t sum = 0;
		for (size_t i = 0; i < n; i++) {
			int t = lua_rawgeti(L, -1, (lua_Integer)i + 1);
			shares[i] = 0;
			if (t != LUA_TNIL && !lua_isinteger(L, -1))
				return bad(pr, "order[%lld].shares[%zu] that is not an integer",
				           (long long)k, i + 1);
			if (t != LUA_TNIL)
				shares[i] = (int64_t)lua_tointeger(L, -1);
			lua_pop(L, 1);
			int64_t total = qo_line_total(&r->order.lines[i]);
			if (shares[i] < 0 || shares[i] > total)
				return bad(pr, "order[%lld].shares[%zu] = %lld outside 0..%lld",
				           (long long)k, i + 1, (long long)shares[i], (long long)total);
			sum += shares[i];
		}
		if (sum != d.amount)
			return bad(pr, "order[%lld].shares summing to %lld, not %lld", (long long)k,
			           (long long)sum, (long long)d.amount);
	}
	lua_pop(L, 1);
	if (!have_shares) {
		int t = quote_raw(L, -1, "lines");
		memset(eligible, t == LUA_TNIL, n);
		if (t == LUA_TTABLE) {
			for (lua_Integer j = 1; lua_rawgeti(L, -1, j) != LUA_TNIL; j++) {
				lua_Integer no = lua_isinteger(L, -1) ? lua_tointeger(L, -1) : 0;
				lua_pop(L, 1);
				if (no < 1 || (size_t)no > n)
					return bad(pr, "order[%lld].lines with a bad line number", (long long)k);
				eligible[no - 1] = 1;
				dd_sandbox_charge(L, 1);
			}
		} else if (t != LUA_TNIL) {
			return bad(pr, "order[%lld].lines that is not a table", (long long)k);
		}
		lua_pop(L, 1);
		int64_t room = 0;
		for (size_t i = 0; i < n; i++) {
			weights[i] = eligible[i] ? qo_line_total(&r->order.lines[i]) : 0;
			room += weights[i]; /* <= subtotal, cannot overflow */
		}
		if (d.amount > room) {
			quote_trace(r, "promotions", d.promotion, 1,
			            "order discount %lld capped at %lld, what the eligible lines cost",
			            (long long)d.amount, (long long)room);
			d.amount = room;
		}
		if (d.amount == 0)
			return DD_OK;
		int rc = dd_money_allocate(d.amount, weights, weights, n, shares);
		if (rc != DD_OK)
			return bad(pr, "order[%lld] that cannot be split: %s", (long long)k, dd_strerror(rc));
	}
	if (d.amount == 0)
		return DD_OK;
	for (size_t i = 0; i < n; i++)
		if (shares[i] > 0) {
			if (quote_add_order_share(r, i, d.promotion, d.kind, shares[i], d.description))
				return DD_ENOMEM;
			r->order.lines[i].left -= shares[i];
		}
	qo_discount *od = QO_PUSH(r->arena, &r->order.order_discounts);
	if (od == NULL)
		return DD_ENOMEM;
	od->promotion_id = d.promotion;
	od->kind = d.kind;
	od->amount = d.amount;
	od->description = d.description;
	return DD_OK;
}

static int read_order_discounts(promo_read *pr, lua_State *L)
{
	quote_run *r = pr->r;
	int t = quote_raw(L, 1, "order");
	if (t == LUA_TNIL)
		return DD_OK;
	if (t != LUA_TTABLE)
		return bad(pr, "a non-table 'order'");
	int order = lua_gettop(L);
	size_t n = r->order.nrequested;
	int64_t *weights = dd_arena_alloc(r->arena, n * sizeof(int64_t));
	int64_t *shares = dd_arena_alloc(r->arena, n * sizeof(int64_t));
	char *eligible = dd_arena_alloc(r->arena, n);
	if (!weights || !shares || !eligible)
		return DD_ENOMEM;
	for (lua_Integer k = 1; lua_rawgeti(L, order, k) != LUA_TNIL; k++) {
		if (k > 1000)
			return bad(pr, "more than 1000 order discounts");
		dd_sandbox_charge(L, n);
		int rc = read_order_discount(pr, L, k, weights, shares, eligible);
		if (rc != DD_OK)
			return rc;
		lua_settop(L, order);
	}
	lua_settop(L, order - 1);
	return DD_OK;
}

typedef struct entry_answer {
	const char *promotion, *sku, *description, *code, *message, *reason, *experiment, *arm;
	int64_t quantity;
	int accepted;
} entry_answer;

#define EA(f) offsetof(entry_answer, f)

static const quote_field gift_fields[] = {
	{ "promotion", QF_STRING, EA(promotion), 1, 0, DD_MAX_ID, 0, NULL, NULL },
	{ "sku", QF_STRING, EA(sku), 1, 0, DD_MAX_ID, 0, NULL, NULL },
	{ "quantity", QF_INT, EA(quantity), 0, 1, 1000, 1, NULL, NULL },
	{ "description", QF_TEXT, EA(description), 0, 0, QO_MAX_TEXT, 0, "", NULL },
};
static const quote_field note_fields[] = {
	{ "promotion", QF_STRING, EA(promotion), 1, 0, DD_MAX_ID, 0, NULL, NULL },
	{ "code", QF_STRING, EA(code), 0, 0, DD_MAX_ID, 0, "", NULL },
	{ "message", QF_TEXT, EA(message), 0, 0, QO_MAX_TEXT, 0, "", NULL },
};
static const quote_field coupon_fields[] = {
	{ "code", QF_STRING, EA(code), 1, 0, DD_MAX_ID, 0, NULL, NULL },
	{ "reason", QF_TEXT, EA(reason), 0, 0, QO_MAX_TEXT, 0, "", NULL },
	{ "promotion", QF_STRING, EA(promotion), 0, 0, DD_MAX_ID, 0, "", NULL },
	{ "accepted", QF_BOOL, EA(accepted), 0, 0, 0, 0, NULL, NULL },
};
static const quote_field experiment_fields[] = {
	{ "experiment", QF_STRING, EA(experiment), 1, 0, DD_MAX_ID, 0, NULL, NULL },
	{ "promotion", QF_STRING, EA(promotion), 0, 0, DD_MAX_ID, 0, "", NULL },
	{ "arm", QF_STRING, EA(arm), 0, 0, DD_MAX_ID, 0, "", NULL },
};

/* Reads array k of the result: each element a record of fields, stored by
 * store(). */
static int read_entries(promo_read *pr, lua_State *L, const char *k, size_t max,
                        const quote_field *fields, size_t nfields,
                        int (*store)(quote_run *r, const entry_answer *a))
{
	int t = quote_raw(L, 1, k);
	if (t == LUA_TNIL) {
		lua_pop(L, 1);
		return DD_OK;
	}
	if (t != LUA_TTABLE)
		return bad(pr, "a non-table '%s'", k);
	int list = lua_gettop(L);
	size_t n = lua_rawlen(L, list);
	if (n > max)
		return bad(pr, "more than %zu '%s'", max, k);
	for (size_t i = 0; i < n; i++) {
		entry_answer a;
		char why[160];
		lua_rawgeti(L, list, (lua_Integer)i + 1);
		if (!quote_read_record(L, -1, fields, nfields, &a, pr->r->arena, why, sizeof(why)))
			return bad(pr, "a malformed %s[%zu] (%s)", k, i + 1, why);
		lua_pop(L, 1);
		int rc = store(pr->r, &a);
		if (rc != DD_OK)
			return rc;
	}
	lua_settop(L, list - 1);
	return DD_OK;
}

static int store_gift(quote_run *r, const entry_answer *a)
{
	if (r->gifts.n >= QO_MAX_GIFTS)
		return DD_OK;
	struct qo_gift *g = QO_PUSH(r->arena, &r->gifts);
	if (g == NULL)
		return DD_ENOMEM;
	g->promotion_id = a->promotion;
	g->sku = a->sku;
	g->quantity = a->quantity;
	g->description = a->description;
	return DD_OK;
}

static int store_note(quote_run *r, const entry_answer *a)
{
	return quote_add_note(r, a->promotion, a->code, a->message);
}

static int store_coupon(quote_run *r, const entry_answer *a)
{
	qo_coupon_result *c = QO_PUSH(r->arena, &r->order.coupon_results);
	if (c == NULL)
		return DD_ENOMEM;
	c->code = a->code;
	c->accepted = a->accepted;
	c->reason = a->reason;
	c->promotion_id = a->promotion;
	return DD_OK;
}

static int store_experiment(quote_run *r, const entry_answer *a)
{
	qo_experiment *x = QO_PUSH(r->arena, &r->order.experiments);
	if (x == NULL)
		return DD_ENOMEM;
	x->experiment_id = a->experiment;
	x->promotion_id = a->promotion;
	x->arm = a->arm;
	return DD_OK;
}

static int read_result(lua_State *L, void *ud)
{
	promo_read *pr = ud;
	quote_run *r = pr->r;
	if (lua_type(L, 1) == LUA_TNIL)
		return DD_OK;
	if (lua_type(L, 1) != LUA_TTABLE)
		return bad(pr, "a %s instead of a table", luaL_typename(L, 1));
	int64_t mult;
	if (!quote_read_int(L, 1, "points_multiplier", 1, &mult) || mult < 1 || mult > 100)
		return bad(pr, "a points_multiplier outside 1..100");
	if (mult > r->order.points_multiplier)
		r->order.points_multiplier = (int32_t)mult;
	int rc;
	if ((rc = read_line_discounts(pr, L)) != DD_OK ||
	    (rc = read_order_discounts(pr, L)) != DD_OK ||
	    (rc = read_entries(pr, L, "notes", QO_MAX_NOTES, note_fields, 3, store_note)) ||
	    (rc = read_entries(pr, L, "coupons", 64, coupon_fields, 4, store_coupon)) ||
	    (rc = read_entries(pr, L, "experiments", 64, experiment_fields, 3, store_experiment)) ||
	    (rc = read_entries(pr, L, "gifts", QO_MAX_GIFTS, gift_fields, 4, store_gift)))
		return rc;
	return DD_OK;
}

/* Appends the gift lines: the gift's list price, discounted in full. */
static int add_gifts(quote_run *r)
{
	for (size_t k = 0; k < r->gifts.n; k++) {
		const struct qo_gift *g = &r->gifts.v[k];
		size_t i;
		int rc = quote_load_gift(r, g->sku, g->quantity, &i);
		if (rc == DD_ENOTFOUND) {
			quote_trace(r, "promotions", g->promotion_id, 0, "gift %s is not available in %s",
			            g->sku, r->order.req->currency);
			const char *msg = dd_arena_printf(r->arena, "gift %s has no price in %s", g->sku,
			                                  r->order.req->currency);
			if ((rc = quote_add_note(r, g->promotion_id, "GIFT_UNAVAILABLE", msg)) != DD_OK)
				return rc;
			continue;
		}
		if (rc != DD_OK)
			return rc;
		qo_line *l = &r->order.lines[i];
		l->gift = 1;
		l->subtotal = l->list_subtotal;
		if (l->list_subtotal > 0 &&
		    quote_add_line_discount(r, i, g->promotion_id,
		                         DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_FREE_GIFT,
		                         l->list_subtotal, g->description) != DD_OK)
			return DD_ENOMEM;
	}
	return DD_OK;
}

static int totals(quote_run *r)
{
	qo_order *o = &r->order;
	int64_t discount = 0, subtotal = 0;
	for (size_t i = 0; i < o->nlines; i++) {
		if (dd_money_add(subtotal, o->lines[i].subtotal, &subtotal) != DD_OK)
			return dd_error_set(r->err, DD_EOVERFLOW, "subtotal with gifts overflows int64");
		discount += o->lines[i].discount; /* each <= its subtotal */
	}
	o->subtotal = subtotal;
	o->discount_total = discount;
	o->total = subtotal - discount;
	/* loyalty: one point per major unit of the total, times the multiplier */
	int64_t unit = 1;
	for (int e = 0; e < o->exponent; e++)
		unit *= 10;
	if (dd_money_mul(o->total / unit, o->points_multiplier, &o->loyalty_points) != DD_OK)
		return dd_error_set(r->err, DD_EOVERFLOW, "loyalty points overflow int64");
	return DD_OK;
}

int quote_promote(quote_run *r)
{
	dd_quoter *q = r->q;
	qo_order *o = &r->order;
	for (size_t i = 0; i < o->nlines; i++) {
		qo_line *l = &o->lines[i];
		l->free_units = l->quantity;
		l->free_value = l->left = l->subtotal;
	}
	int rc = quote_view_sync(r, QV_AMOUNTS | QV_CANDIDATES);
	if (rc != DD_OK)
		return rc;
	lua_rawgeti(q->L, LUA_REGISTRYINDEX, q->ctx_view);
	lua_rawgeti(q->L, LUA_REGISTRYINDEX, q->promos_view);
	rc = quote_call_policy(r, DD_POLICY_PROMOTIONS, 2);
	if (rc != DD_OK)
		return quote_policy_fail(r, DD_POLICY_PROMOTIONS, "failed");
	promo_read pr = { r, "" };
	rc = quote_protected(q->L, read_result, &pr);
	if (rc == DD_EPOLICY) {
		dd_error_set(r->err, DD_EPOLICY, "returned %s", pr.why);
		return quote_policy_fail(r, DD_POLICY_PROMOTIONS, "bad result");
	}
	if (rc != DD_OK)
		return dd_error_set(r->err, rc, "reading the promotions policy's result: %s",
		                    dd_strerror(rc));
	if ((rc = add_gifts(r)) != DD_OK)
		return rc == DD_ENOMEM ? dd_error_set(r->err, rc, "out of memory") : rc;
	return totals(r);
}
