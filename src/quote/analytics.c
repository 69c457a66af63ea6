/* dealdesk quote: ctx.customer.rfm and the order's figures for the sales
 * KPIs (analytics.h). */
#include "analytics.h"
#include "quoter.h"

#include <string.h>

#include <lauxlib.h>

#include "dealdesk/v1/analytics.pb-c.h"

#define KEY(s) (len == sizeof(s) - 1 && memcmp(k, s, sizeof(s) - 1) == 0)

int quote_order_analytics(const quote_run *r, Dealdesk__V1__Order *ord, dd_analytics_sale *sale,
                          dd_error *err)
{
	const qo_order *o = &r->order;
	sale->customer_id = ord->customer_id;
	sale->currency = ord->currency;
	sale->at = ord->created_at;
	sale->total = ord->total;
	ord->channel = (char *)(o->channel ? o->channel : "");
	ord->region = (char *)(o->region ? o->region : "");
	int64_t cost = 0;
	for (size_t i = 0; i < o->nlines; i++) {
		const qo_line *l = &o->lines[i];
		int64_t c;
		if (l->price == NULL)
			continue;
		if (dd_money_mul(l->price->unit_cost, l->quantity, &c) != DD_OK ||
		    dd_money_add(cost, c, &cost) != DD_OK)
			return dd_error_set(err, DD_EOVERFLOW, "lines[%zu]: the order's cost overflows int64",
			                    i);
	}
	ord->cost = cost;
	return DD_OK;
}

static const Dealdesk__V1__CustomerValue *rfm_of(quote_run *r)
{
	qo_order *o = &r->order;
	if (!o->rfm_loaded) {
		o->rfm_loaded = 1;
		char key[DD_STORE_MAX_KEY + 1];
		int klen = dd_key_join(key, sizeof(key), 2, "r", o->req->customer_id);
		dd_val v;
		if (klen >= 0 &&
		    dd_rtxn_get(r->q->txn, DD_T_ANALYTICS, (dd_val){ key, (size_t)klen }, &v) == DD_OK)
			o->rfm = (void *)protobuf_c_message_unpack(
				&dealdesk__v1__customer_value__descriptor, &r->arena->pb, v.len, v.data);
	}
	return o->rfm;
}

static int push_int(lua_State *L, int64_t v)
{
	lua_pushinteger(L, (lua_Integer)v);
	return 1;
}

static int rfm_field(lua_State *L, void *obj, uint32_t a, uint32_t b, const char *k, size_t len)
{
	dd_quoter *q = obj;
	(void)a, (void)b;
	if (q->run == NULL)
		return luaL_error(L, "ctx is only readable while a policy runs");
	const Dealdesk__V1__CustomerValue *v = rfm_of(q->run);
	Dealdesk__V1__CustomerValue none;
	if (v == NULL) {
		dealdesk__v1__customer_value__init(&none);
		none.segment = "";
		none.lifecycle = q->run->order.customer && q->run->order.customer->order_count == 0
		                         ? "prospect"
		                         : "";
		v = &none;
	}
	if (KEY("r"))
		return push_int(L, v->r);
	if (KEY("f"))
		return push_int(L, v->f);
	if (KEY("m"))
		return push_int(L, v->m);
	if (KEY("score"))
		return push_int(L, v->r * 100 + v->f * 10 + v->m);
	if (KEY("segment")) {
		lua_pushstring(L, v->segment ? v->segment : "");
		return 1;
	}
	if (KEY("lifecycle")) {
		lua_pushstring(L, v->lifecycle ? v->lifecycle : "");
		return 1;
	}
	if (KEY("recency_days")) {
		int64_t t = q->run->order.time;
		return push_int(L, v->last_order_at && t > v->last_order_at
		                           ? (t - v->last_order_at) / 86400
		                           : 0);
	}
	if (KEY("frequency"))
		return push_int(L, v->frequency);
	if (KEY("monetary"))
		return push_int(L, v->monetary);
	if (KEY("order_count"))
		return push_int(L, v->order_count);
	if (KEY("last_order_at"))
		return push_int(L, v->last_order_at);
	return 0;
}

static const char *const rfm_keys[] = { "r", "f", "m", "score", "segment", "lifecycle",
	                                "recency_days", "frequency", "monetary", "order_count",
	                                "last_order_at", NULL };

static int rfm_entry(lua_State *L, void *obj, uint32_t a, uint32_t b, size_t *pos)
{
	for (size_t p = *pos; rfm_keys[p]; p++) {
		lua_pushstring(L, rfm_keys[p]);
		if (rfm_field(L, obj, a, b, rfm_keys[p], strlen(rfm_keys[p]))) {
			*pos = p;
			return 1;
		}
		lua_pop(L, 1);
	}
	return 0;
}

const dd_sandbox_view_class quote_view_rfm = { "ctx.customer.rfm", rfm_field, NULL, NULL,
	                                       rfm_entry };
