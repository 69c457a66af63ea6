/* dealdesk quote: promotions and compliance checks, converted once per
 * change (their meta counters) into the quoter: C records for the engine
 * and the promotion index, and frozen Lua tables for the policies. Each
 * Lua table has `slot`, its position here, by which the host primitives
 * find the C record. */
#include "quoter.h"

#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "readers.h"

static const char *enum_short(const ProtobufCEnumDescriptor *d, int v, const char *prefix)
{
	const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(d, v);
	if (ev == NULL)
		return "UNSPECIFIED";
	size_t n = strlen(prefix);
	return strncmp(ev->name, prefix, n) == 0 ? ev->name + n : ev->name;
}

typedef struct collect {
	dd_arena *arena;
	const ProtobufCMessageDescriptor *desc;
	ProtobufCMessage **items;
	size_t n, cap;
} collect;

static int collect_one(void *ud, dd_val key, dd_val val)
{
	collect *c = ud;
	(void)key;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		ProtobufCMessage **n = realloc(c->items, cap * sizeof(*n));
		if (n == NULL)
			return DD_ENOMEM;
		c->items = n;
		c->cap = cap;
	}
	ProtobufCMessage *m = protobuf_c_message_unpack(c->desc, &c->arena->pb, val.len, val.data);
	if (m == NULL)
		return DD_ESTORE;
	c->items[c->n++] = m;
	return 0;
}

static int promo_cmp(const void *a, const void *b)
{
	const Dealdesk__V1__Promotion *x = *(const Dealdesk__V1__Promotion *const *)a;
	const Dealdesk__V1__Promotion *y = *(const Dealdesk__V1__Promotion *const *)b;
	if (x->priority != y->priority)
		return x->priority < y->priority ? -1 : 1;
	return strcmp(x->id, y->id);
}

static void push_promotion(lua_State *L, const Dealdesk__V1__Promotion *p, size_t slot)
{
	lua_createtable(L, 0, 50);
	quote_set_int(L, "slot", (int64_t)slot);
	quote_set_str(L, "id", p->id);
	quote_set_str(L, "name", p->name);
	quote_set_str(L, "kind", enum_short(&dealdesk__v1__promotion_kind__descriptor, p->kind,
	                                 "PROMOTION_KIND_"));
	quote_set_int(L, "percent_bps", p->percent_bps);
	quote_set_int(L, "amount", p->amount);
	quote_set_str(L, "currency", p->currency);
	quote_set_int(L, "bundle_price", p->bundle_price);
	quote_set_int(L, "threshold", p->threshold);
	quote_set_bool(L, "repeating", p->repeating);
	quote_set_int(L, "valid_from", p->valid_from);
	quote_set_int(L, "valid_to", p->valid_to);
	quote_set_int(L, "priority", p->priority);
	quote_set_bool(L, "enabled", p->enabled);
	if (p->coupon_code && *p->coupon_code)
		quote_set_str(L, "coupon_code", p->coupon_code);
	quote_set_bool(L, "requires_coupon", p->requires_coupon);
	quote_set_int(L, "buy_quantity", p->buy_quantity);
	quote_set_int(L, "get_quantity", p->get_quantity);
	quote_set_str(L, "gift_sku", p->gift_sku);
	quote_set_int(L, "gift_quantity", p->gift_quantity ? p->gift_quantity : 1);
	quote_set_int(L, "points_multiplier", p->points_multiplier);
	quote_set_bool(L, "new_customers_only", p->new_customers_only);
	quote_set_int(L, "dormant_days", p->dormant_days);
	quote_set_int(L, "min_quantity", p->min_quantity);
	quote_set_int(L, "min_amount", p->min_amount);
	quote_set_bool(L, "exclusive", p->exclusive);
	if (p->stacking_group && *p->stacking_group)
		quote_set_str(L, "stacking_group", p->stacking_group);
	quote_set_bool(L, "stop_after", p->stop_after);
	quote_set_int(L, "max_discount", p->max_discount);
	quote_set_int(L, "budget_amount", p->budget_amount);
	quote_set_int(L, "budget_uses", p->budget_uses);
	quote_set_int(L, "customer_budget_uses", p->customer_budget_uses);
	quote_set_int(L, "customer_budget_amount", p->customer_budget_amount);
	if (p->experiment_id && *p->experiment_id)
		quote_set_str(L, "experiment_id", p->experiment_id);
	if (p->custom_kind && *p->custom_kind)
		quote_set_str(L, "custom_kind", p->custom_kind);
	quote_push_set(L, p->skus, p->n_skus);
	lua_setfield(L, -2, "skus");
	quote_push_set(L, p->categories, p->n_categories);
	lua_setfield(L, -2, "categories");
	quote_push_set(L, p->channels, p->n_channels);
	lua_setfield(L, -2, "channels");
	quote_push_set(L, p->regions, p->n_regions);
	lua_setfield(L, -2, "regions");
	quote_push_set(L, p->customer_groups, p->n_customer_groups);
	lua_setfield(L, -2, "customer_groups");
	quote_push_set(L, p->customer_segments, p->n_customer_segments);
	lua_setfield(L, -2, "customer_segments");
	quote_push_set(L, p->customer_tiers, p->n_customer_tiers);
	lua_setfield(L, -2, "customer_tiers");
	lua_createtable(L, (int)p->n_bundle_items, 0);
	for (size_t i = 0; i < p->n_bundle_items; i++) {
		lua_createtable(L, 0, 2);
		quote_set_str(L, "sku", p->bundle_items[i]->sku);
		quote_set_int(L, "quantity", p->bundle_items[i]->quantity);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	lua_setfield(L, -2, "bundle");
	lua_createtable(L, (int)p->n_tiers, 0);
	for (size_t i = 0; i < p->n_tiers; i++) {
		lua_createtable(L, 0, 2);
		quote_set_int(L, "threshold", p->tiers[i]->threshold);
		quote_set_int(L, "amount", p->tiers[i]->amount);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	lua_setfield(L, -2, "tiers");
	lua_createtable(L, (int)p->n_arms, 0);
	for (size_t i = 0; i < p->n_arms; i++) {
		const Dealdesk__V1__ExperimentArm *a = p->arms[i];
		lua_createtable(L, 0, 5);
		quote_set_str(L, "name", a->name);
		quote_set_int(L, "weight", a->weight);
		quote_set_int(L, "percent_bps", a->percent_bps);
		quote_set_int(L, "amount", a->amount);
		quote_set_bool(L, "control", a->control);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	lua_setfield(L, -2, "arms");
}

static void push_check(lua_State *L, const Dealdesk__V1__ComplianceCheck *c, size_t slot)
{
	lua_createtable(L, 0, 17);
	quote_set_int(L, "slot", (int64_t)slot);
	quote_set_str(L, "id", c->id);
	quote_set_str(L, "kind", enum_short(&dealdesk__v1__check_kind__descriptor, c->kind,
	                                 "CHECK_KIND_"));
	quote_set_int(L, "bps", c->bps);
	quote_set_str(L, "on_fail", enum_short(&dealdesk__v1__compliance_status__descriptor,
	                                    c->on_fail, "COMPLIANCE_STATUS_"));
	quote_set_bool(L, "enabled", c->enabled);
	quote_set_str(L, "description", c->description);
	quote_push_set(L, c->skus, c->n_skus);
	lua_setfield(L, -2, "skus");
	/* price claims (README "Price history and price claims") */
	quote_set_int(L, "window_days", c->window_days);
	quote_set_int(L, "share_bps", c->share_bps);
	quote_set_int(L, "amount", c->amount);
	quote_set_str(L, "on_write", enum_short(&dealdesk__v1__compliance_status__descriptor,
	                                     c->on_write, "COMPLIANCE_STATUS_"));
	quote_push_set(L, c->regions, c->n_regions);
	lua_setfield(L, -2, "regions");
	quote_push_set(L, c->channels, c->n_channels);
	lua_setfield(L, -2, "channels");
	quote_push_set(L, c->customer_tiers, c->n_customer_tiers);
	lua_setfield(L, -2, "customer_tiers");
}

/* Replaces the table on top of the stack, and every table inside it, by a
 * read-only proxy, so a policy cannot change what the next quote sees. */
static void freeze(lua_State *L, int depth)
{
	int t = lua_gettop(L);
	luaL_checkstack(L, 8, "freezing");
	if (depth < 4) {
		lua_pushnil(L);
		while (lua_next(L, t) != 0) {
			if (lua_type(L, -1) == LUA_TTABLE) {
				freeze(L, depth + 1);
				lua_pushvalue(L, -2);
				lua_insert(L, -2);
				lua_rawset(L, t);
			} else {
				lua_pop(L, 1);
			}
		}
	}
	dd_sandbox_push_proxy(L, t, "promotions and checks");
	lua_replace(L, t);
}

typedef struct build {
	dd_quoter *q;
	ProtobufCMessage **items;
	size_t n;
	int promotions;
	dd_error *err;
	int rc;
} build;

/* p.condition as a policy calls it: the compiled condition, run with the
 * run's stage set to QS_CONDITION so it cannot commit effects or add notes
 * (the host primitives refuse), and the stage put back however it ends. */
static int run_condition(lua_State *L)
{
	dd_quoter *q = lua_touserdata(L, lua_upvalueindex(2));
	int n = lua_gettop(L);
	quote_stage saved = q->run ? q->run->stage : QS_NONE;
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	if (q->run)
		q->run->stage = QS_CONDITION;
	int status = lua_pcall(L, n, 1, 0);
	if (q->run)
		q->run->stage = saved;
	if (status != LUA_OK)
		return lua_error(L); /* the same error, on to the policy */
	return 1;
}

/* Compiles a promotion's condition and sets it as field "condition" of the
 * promotion table on top of the stack. */
static int push_condition(build *b, const Dealdesk__V1__Promotion *p)
{
	dd_quoter *q = b->q;
	char src[4200], name[80];
	if (dd_condition_source(p->condition, src, sizeof(src)) != DD_OK)
		return dd_error_set(b->err, DD_EPOLICY, "promotion %s: condition too long", p->id);
	snprintf(name, sizeof(name), "condition:%s", p->id);
	int ref;
	int rc = dd_sandbox_load(q->sb, name, src, strlen(src), &ref, b->err);
	if (rc != DD_OK)
		return rc;
	q->cond_refs[q->ncond++] = ref;
	if (dd_sandbox_push_function(q->sb, ref, "condition") != DD_OK)
		return dd_error_set(b->err, DD_EPOLICY, "promotion %s: condition has no function",
		                    p->id);
	lua_pushlightuserdata(q->L, q);
	lua_pushcclosure(q->L, run_condition, 2);
	lua_setfield(q->L, -2, "condition");
	return DD_OK;
}

static int table_slot_cmp(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)((const qp_table_slot *)a)->table;
	uintptr_t y = (uintptr_t)((const qp_table_slot *)b)->table;
	return x < y ? -1 : x > y;
}

ptrdiff_t quote_table_slot(dd_quoter *q, int promotions, lua_State *L, int idx)
{
	const qp_table_slot *v = promotions ? q->promo_tables : q->check_tables;
	size_t lo = 0, hi = promotions ? q->npromos : q->nchecks;
	const void *p = lua_topointer(L, idx);
	uintptr_t t = (uintptr_t)p;
	if (v == NULL || p == NULL || lua_type(L, idx) != LUA_TTABLE)
		return -1;
	int kind = promotions != 0;
	if (q->last_table[kind] == p)
		return q->last_slot[kind];
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uintptr_t m = (uintptr_t)v[mid].table;
		if (m == t) {
			q->last_table[kind] = p;
			q->last_slot[kind] = (ptrdiff_t)v[mid].slot;
			return (ptrdiff_t)v[mid].slot;
		}
		if (m < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* Runs protected: builds the frozen Lua array of b's records, and the
 * index of its tables by address (the quoter's array holds them, so no
 * address is reused while the index stands). */
static int build_lua(lua_State *L)
{
	build *b = lua_touserdata(L, 1);
	qp_table_slot *index = calloc(b->n ? b->n : 1, sizeof(*index));
	if (index == NULL)
		return luaL_error(L, "out of memory");
	qp_table_slot **slot = b->promotions ? &b->q->promo_tables : &b->q->check_tables;
	free(*slot);
	*slot = index;
	b->q->last_table[b->promotions != 0] = NULL;
	lua_createtable(L, (int)b->n, 0);
	for (size_t i = 0; i < b->n; i++) {
		if (b->promotions) {
			const Dealdesk__V1__Promotion *p = (void *)b->items[i];
			push_promotion(L, p, i);
			if (p->condition && *p->condition && (b->rc = push_condition(b, p)) != DD_OK)
				return 0;
		} else {
			push_check(L, (void *)b->items[i], i);
		}
		freeze(L, 1);
		index[i].table = lua_topointer(L, -1);
		index[i].slot = i;
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	if (b->n > 1)
		qsort(index, b->n, sizeof(*index), table_slot_cmp);
	/* the array itself is never handed to a script: the views give out
	 * its (frozen) elements */
	lua_pushinteger(L, luaL_ref(L, LUA_REGISTRYINDEX));
	return 1;
}

static int index_promotions(dd_quoter *q, Dealdesk__V1__Promotion **promos, size_t n,
                            dd_error *err)
{
	q->pindex = quote_index_build(promos, n);
	q->promos = calloc(n ? n : 1, sizeof(*q->promos));
	q->cond_refs = calloc(n ? n : 1, sizeof(int));
	if (q->pindex == NULL || q->promos == NULL || q->cond_refs == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory indexing promotions");
	q->npromos = n;
	for (size_t i = 0; i < n; i++) {
		const Dealdesk__V1__Promotion *p = promos[i];
		qp_promo *m = &q->promos[i];
		m->p = p;
		m->has_budget = p->budget_amount || p->budget_uses || p->customer_budget_uses ||
		                p->customer_budget_amount;
		m->needs_coupon = p->requires_coupon || (p->coupon_code && *p->coupon_code);
	}
	return DD_OK;
}

/* Rebuilds one table's records when its meta counter moved. */
static int refresh(dd_quoter *q, int promotions, dd_error *err)
{
	const char *counter = promotions ? DD_META_PROMOTIONS_VERSION : DD_META_CHECKS_VERSION;
	uint64_t version = dd_rtxn_meta_u64(q->txn, counter);
	uint64_t *have = promotions ? &q->promos_version : &q->checks_version;
	int *loaded = promotions ? &q->promos_loaded : &q->checks_loaded;
	if (*loaded && version == *have)
		return DD_OK;
	const ProtobufCMessageDescriptor *desc =
		promotions ? &dealdesk__v1__promotion__descriptor
		           : &dealdesk__v1__compliance_check__descriptor;
	dd_arena *arena = promotions ? &q->promo_arena : &q->check_arena;
	int *ref = promotions ? &q->promos_ref : &q->checks_ref;
	if (promotions) {
		quote_free_promotions(q);
	} else {
		free(q->checks);
		q->checks = NULL;
		q->nchecks = 0;
		free(q->check_tables);
		q->check_tables = NULL;
		q->last_table[0] = NULL;
		dd_arena_free(arena);
	}
	dd_arena_init(arena, 65536, 0);
	*loaded = 0;
	if (*ref != LUA_NOREF) {
		luaL_unref(q->L, LUA_REGISTRYINDEX, *ref);
		*ref = LUA_NOREF;
	}
	collect c = { arena, desc, NULL, 0, 0 };
	int rc = dd_rtxn_scan(q->txn, promotions ? DD_T_PROMOTIONS : DD_T_CHECKS,
	                      (dd_val){ NULL, 0 }, (dd_val){ NULL, 0 }, collect_one, &c);
	if (rc < 0) {
		free(c.items);
		return dd_error_set(err, rc, "store: cannot read %s", desc->short_name);
	}
	if (promotions) {
		if (c.n > 1)
			qsort(c.items, c.n, sizeof(*c.items), promo_cmp);
		rc = index_promotions(q, (Dealdesk__V1__Promotion **)c.items, c.n, err);
	} else {
		q->checks = (const Dealdesk__V1__ComplianceCheck **)c.items;
		q->nchecks = c.n;
		c.items = NULL;
	}
	build b = { q, promotions ? c.items : (ProtobufCMessage **)q->checks, c.n, promotions,
	            err, DD_OK };
	if (rc == DD_OK) {
		lua_pushcfunction(q->L, build_lua);
		lua_pushlightuserdata(q->L, &b);
		if (lua_pcall(q->L, 1, 1, 0) != LUA_OK) {
			rc = b.rc != DD_OK ? b.rc
			                   : dd_error_set(err, DD_ENOMEM, "out of memory converting %s",
			                                  desc->short_name);
		} else if (b.rc != DD_OK) {
			rc = b.rc;
		} else {
			*ref = (int)lua_tointeger(q->L, -1);
		}
		lua_pop(q->L, 1);
	}
	free(c.items);
	if (rc != DD_OK) {
		if (promotions)
			quote_free_promotions(q);
		return rc == DD_EINVAL ? DD_EPOLICY : rc;
	}
	*have = version;
	*loaded = 1;
	return DD_OK;
}

int quote_refresh_data(dd_quoter *q, dd_error *err)
{
	int rc = refresh(q, 1, err);
	if (rc == DD_OK)
		rc = refresh(q, 0, err);
	return rc == DD_OK ? quote_refresh_tiers(q, err) : rc;
}
