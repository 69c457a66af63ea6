/* dealdesk quote, stage 3: unit prices. The pricing policy's price(ctx)
 * may change each line's unit price (member prices, clearance, competitor
 * matches); the SKU's floor and ceiling then hold whatever it said. */
#include "quoter.h"

#include <stdio.h>
#include <string.h>

#include <lauxlib.h>

#include "readers.h"

typedef struct price_answer {
	int64_t unit_price;
	const char *reason;
} price_answer;

typedef struct price_read {
	quote_run *r;
	char why[256];
} price_read;

/* Reads price()'s answer: nil, or a table indexed by line position whose
 * entries are nil or { unit_price = n >= 0, reason = "..." }. */
static int read_prices(lua_State *L, void *ud)
{
	price_read *pr = ud;
	quote_run *r = pr->r;
	if (lua_type(L, 1) == LUA_TNIL)
		return DD_OK;
	if (lua_type(L, 1) != LUA_TTABLE) {
		snprintf(pr->why, sizeof(pr->why), "a %s instead of a table", luaL_typename(L, 1));
		return DD_EPOLICY;
	}
	for (size_t i = 0; i < r->order.nlines; i++) {
		qo_line *l = &r->order.lines[i];
		if (lua_rawgeti(L, 1, (lua_Integer)i + 1) == LUA_TNIL) {
			lua_pop(L, 1);
			continue;
		}
		const quote_field fields[] = {
			{ "unit_price", QF_INT, offsetof(price_answer, unit_price), 0, INT64_MIN,
			  INT64_MAX, l->price->unit_price, NULL, NULL },
			{ "reason", QF_TEXT, offsetof(price_answer, reason), 0, 0, QO_MAX_TEXT, 0, "",
			  NULL },
		};
		price_answer a;
		char why[160];
		if (!quote_read_record(L, -1, fields, 2, &a, r->arena, why, sizeof(why))) {
			snprintf(pr->why, sizeof(pr->why), "a malformed entry for line %zu (%s)", i, why);
			return DD_EPOLICY;
		}
		lua_pop(L, 1);
		if (a.unit_price < 0) {
			snprintf(pr->why, sizeof(pr->why), "a negative unit price for line %zu", i);
			return DD_EPOLICY;
		}
		l->unit_price = a.unit_price;
		l->price_reason = a.reason;
	}
	return DD_OK;
}

/* The per-SKU bounds hold whatever the policy says. */
static int hold_bounds(quote_run *r, size_t i)
{
	qo_line *l = &r->order.lines[i];
	const Dealdesk__V1__PriceEntry *e = l->price;
	int64_t bound = 0;
	const char *which = NULL;
	if (e->floor_price && l->unit_price < e->floor_price) {
		bound = e->floor_price;
		which = "floor";
	} else if (e->ceiling_price && l->unit_price > e->ceiling_price) {
		bound = e->ceiling_price;
		which = "ceiling";
	}
	if (which == NULL)
		return DD_OK;
	quote_trace(r, "pricing", which, 1, "line %zu %s: %lld held at the %s %lld", i, l->sku,
	            (long long)l->unit_price, which, (long long)bound);
	l->unit_price = bound;
	l->price_reason = dd_arena_printf(r->arena, "%s%sheld at the %s price", l->price_reason,
	                                  *l->price_reason ? "; " : "", which);
	return l->price_reason ? DD_OK : dd_error_set(r->err, DD_ENOMEM, "out of memory");
}

int quote_price(quote_run *r)
{
	dd_quoter *q = r->q;
	qo_order *o = &r->order;
	int rc = quote_view_sync(r, QV_ORDER | QV_LINES | QV_AMOUNTS);
	if (rc != DD_OK)
		return rc;
	lua_rawgeti(q->L, LUA_REGISTRYINDEX, q->ctx_view);
	rc = quote_call_policy(r, DD_POLICY_PRICING, 1);
	if (rc != DD_OK)
		return quote_policy_fail(r, DD_POLICY_PRICING, "failed");
	price_read pr = { r, "" };
	rc = quote_protected(q->L, read_prices, &pr);
	if (rc == DD_EPOLICY) {
		dd_error_set(r->err, DD_EPOLICY, "returned %s", pr.why);
		return quote_policy_fail(r, DD_POLICY_PRICING, "bad result");
	}
	if (rc != DD_OK)
		return dd_error_set(r->err, rc, "reading the pricing policy's result: %s",
		                    dd_strerror(rc));
	int64_t subtotal = 0;
	for (size_t i = 0; i < o->nlines; i++) {
		qo_line *l = &o->lines[i];
		if ((rc = hold_bounds(r, i)) != DD_OK)
			return rc;
		if (dd_money_mul(l->unit_price, l->quantity, &l->subtotal) != DD_OK ||
		    dd_money_add(subtotal, l->subtotal, &subtotal) != DD_OK)
			return dd_error_set(r->err, DD_EOVERFLOW,
			                    "lines[%zu]: the order amount overflows int64", i);
		if (l->unit_price != l->price->unit_price)
			quote_trace(r, "pricing", l->sku, 1, "line %zu: unit price %lld (%s)", i,
			            (long long)l->unit_price, l->price_reason);
	}
	o->subtotal = o->total = subtotal;
	return DD_OK;
}
