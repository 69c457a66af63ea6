/* dealdesk quote: the per-thread quoter, its policy cache, and the data it
 * converts once per change (promotions, compliance checks). */
#include "quoter.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "dealdesk/log.h"
#include "luaconv.h"

/* dd.trace(stage, rule, applied, detail): adds an explain entry. A no-op
 * unless the request asked to explain. */
static int lua_trace(lua_State *L)
{
	dd_quoter *q = lua_touserdata(L, lua_upvalueindex(1));
	if (!q->explain)
		return 0;
	const char *stage = luaL_checkstring(L, 1);
	const char *rule = luaL_checkstring(L, 2);
	int applied = lua_toboolean(L, 3);
	const char *detail = luaL_optstring(L, 4, "");
	quote_trace(q, stage, rule, applied, "%s", detail);
	return 0;
}

/* dd.bucket(key, n): a stable bucket in [0, n) for key (FNV-1a 64), the
 * same on every machine, restart and version: experiment assignment. */
static int lua_bucket(lua_State *L)
{
	size_t len;
	const char *s = luaL_checklstring(L, 1, &len);
	lua_Integer n = luaL_checkinteger(L, 2);
	if (n <= 0)
		return luaL_error(L, "dd.bucket: n must be > 0");
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	lua_pushinteger(L, (lua_Integer)(h % (uint64_t)n));
	return 1;
}

int dd_quoter_new(dd_quoter **out, dd_store *store, const dd_quote_limits *limits,
                  dd_error *err)
{
	dd_quoter *q = calloc(1, sizeof(*q));
	if (q == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	q->store = store;
	if (limits)
		q->lim = *limits;
	if (q->lim.max_lines == 0)
		q->lim.max_lines = 500;
	if (q->lim.max_quantity == 0)
		q->lim.max_quantity = 1000000;
	if (q->lim.max_coupons == 0)
		q->lim.max_coupons = 20;
	if (q->lim.max_attributes == 0)
		q->lim.max_attributes = 64;
	q->promos_ref = q->checks_ref = LUA_NOREF;
	for (int k = 0; k < 5; k++)
		q->policy[k].ref = LUA_NOREF;
	int rc = dd_rtxn_new(store, &q->txn);
	if (rc != DD_OK) {
		free(q);
		return dd_error_set(err, rc, "store: cannot create a read transaction");
	}
	rc = dd_sandbox_new(&q->sb, &q->lim.sandbox, err);
	if (rc != DD_OK) {
		dd_rtxn_free(q->txn);
		free(q);
		return rc;
	}
	dd_sandbox_register(q->sb, "trace", lua_trace, q);
	dd_sandbox_register(q->sb, "bucket", lua_bucket, NULL);
	q->L = dd_sandbox_lua(q->sb);
	if (getrandom(q->rng, sizeof(q->rng), 0) != (ssize_t)sizeof(q->rng))
		q->rng[0] = (uint64_t)(uintptr_t)q ^ 0x9E3779B97F4A7C15ull;
	q->rng[1] |= 1;
	*out = q;
	return DD_OK;
}

static void free_promos(dd_quoter *q)
{
	for (size_t i = 0; i < q->ncond; i++)
		dd_sandbox_unload(q->sb, q->cond_refs[i]);
	free(q->cond_refs);
	q->cond_refs = NULL;
	q->ncond = 0;
	for (size_t i = 0; q->pmeta && i < q->npromos; i++) {
		for (size_t k = 0; k < q->pmeta[i].n_channels; k++)
			free(q->pmeta[i].channels[k]);
		free(q->pmeta[i].channels);
		free(q->pmeta[i].id);
	}
	free(q->pmeta);
	q->pmeta = NULL;
	promo_index_free(q->pindex);
	q->pindex = NULL;
	q->npromos = 0;
}

void dd_quoter_free(dd_quoter *q)
{
	if (q == NULL)
		return;
	free_promos(q);
	dd_sandbox_free(q->sb);
	dd_rtxn_free(q->txn);
	free(q);
}

void quote_trace(dd_quoter *q, const char *stage, const char *rule, int applied,
                 const char *fmt, ...)
{
	if (!q->explain)
		return;
	if (q->ntrace == q->captrace) {
		size_t cap = q->captrace ? q->captrace * 2 : 32;
		Dealdesk__V1__TraceEntry **n = dd_arena_alloc(q->arena, cap * sizeof(*n));
		if (n == NULL)
			return;
		if (q->ntrace)
			memcpy(n, q->trace, q->ntrace * sizeof(*n));
		q->trace = n;
		q->captrace = cap;
	}
	Dealdesk__V1__TraceEntry *e = dd_arena_alloc(q->arena, sizeof(*e));
	if (e == NULL)
		return;
	dealdesk__v1__trace_entry__init(e);
	e->stage = dd_arena_strdup(q->arena, stage);
	e->rule = dd_arena_strdup(q->arena, rule);
	e->applied = applied;
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (!dd_utf8_valid(buf, strlen(buf)))
		snprintf(buf, sizeof(buf), "(detail was not valid UTF-8)");
	e->detail = dd_arena_strdup(q->arena, buf);
	if (e->stage && e->rule && e->detail)
		q->trace[q->ntrace++] = e;
}

/* xorshift128+; ids only need to be unique, not secret */
void quote_decision_id(dd_quoter *q, char out[33])
{
	static const char hex[] = "0123456789abcdef";
	for (int w = 0; w < 2; w++) {
		uint64_t s1 = q->rng[0], s0 = q->rng[1];
		q->rng[0] = s0;
		s1 ^= s1 << 23;
		q->rng[1] = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26);
		uint64_t v = q->rng[1] + s0;
		for (int i = 0; i < 16; i++)
			out[w * 16 + i] = hex[(v >> (60 - 4 * i)) & 15];
	}
	out[32] = '\0';
}

/* ---- policies --------------------------------------------------------------- */

int quote_policy(dd_quoter *q, int kind, dd_error *err)
{
	char key[16];
	dd_policy_active_key(kind, key);
	uint64_t version = dd_rtxn_meta_u64(q->txn, key);
	if (version == 0)
		return dd_error_set(err, DD_EPRECOND, "no active %s policy",
		                    dd_policy_kind_name(kind));
	if (version == q->policy[kind].version)
		return DD_OK;
	unsigned char pk[9];
	dd_val v;
	dd_key_policy(pk, kind, version);
	int rc = dd_rtxn_get(q->txn, DD_T_POLICIES, (dd_val){ pk, 9 }, &v);
	if (rc != DD_OK)
		return dd_error_set(err, DD_ESTORE, "active %s policy v%llu is missing",
		                    dd_policy_kind_name(kind), (unsigned long long)version);
	Dealdesk__V1__PolicyScript *p = (void *)protobuf_c_message_unpack(
		&dealdesk__v1__policy_script__descriptor, &q->arena->pb, v.len, v.data);
	if (p == NULL)
		return dd_error_set(err, DD_ESTORE, "active %s policy v%llu is corrupt",
		                    dd_policy_kind_name(kind), (unsigned long long)version);
	char name[48];
	snprintf(name, sizeof(name), "%s.v%llu", dd_policy_kind_name(kind),
	         (unsigned long long)version);
	int ref;
	rc = dd_sandbox_load(q->sb, name, p->source, strlen(p->source), &ref, err);
	if (rc != DD_OK) {
		dd_log(DD_LOG_ERROR, "policy %s failed to load: %s", name, err ? err->msg : "");
		return rc == DD_EINVAL ? DD_EPOLICY : rc;
	}
	if (q->policy[kind].ref != LUA_NOREF)
		dd_sandbox_unload(q->sb, q->policy[kind].ref);
	q->policy[kind].ref = ref;
	q->policy[kind].version = version;
	dd_log(DD_LOG_INFO, "policy %s loaded", name);
	return DD_OK;
}

/* ---- promotions and checks, converted to Lua once per change ----------------- */

static const char *enum_short(const ProtobufCEnumDescriptor *d, int v,
                              const char *prefix)
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
		ProtobufCMessage **n = dd_arena_alloc(c->arena, cap * sizeof(*n));
		if (n == NULL)
			return DD_ENOMEM;
		if (c->n)
			memcpy(n, c->items, c->n * sizeof(*n));
		c->items = n;
		c->cap = cap;
	}
	ProtobufCMessage *m = protobuf_c_message_unpack(c->desc, &c->arena->pb,
	                                                val.len, val.data);
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

static void push_promotion(lua_State *L, const Dealdesk__V1__Promotion *p)
{
	lua_createtable(L, 0, 48);
	lc_set_str(L, "id", p->id);
	lc_set_str(L, "name", p->name);
	lc_set_str(L, "kind", enum_short(&dealdesk__v1__promotion_kind__descriptor,
	                                 p->kind, "PROMOTION_KIND_"));
	lc_set_int(L, "percent_bps", p->percent_bps);
	lc_set_int(L, "amount", p->amount);
	lc_set_str(L, "currency", p->currency);
	lc_set_int(L, "bundle_price", p->bundle_price);
	lc_set_int(L, "threshold", p->threshold);
	lc_set_bool(L, "repeating", p->repeating);
	lc_set_int(L, "valid_from", p->valid_from);
	lc_set_int(L, "valid_to", p->valid_to);
	lc_set_int(L, "priority", p->priority);
	lc_set_bool(L, "enabled", p->enabled);
	if (p->coupon_code && *p->coupon_code)
		lc_set_str(L, "coupon_code", p->coupon_code);
	lc_set_bool(L, "requires_coupon", p->requires_coupon);
	lc_set_int(L, "buy_quantity", p->buy_quantity);
	lc_set_int(L, "get_quantity", p->get_quantity);
	lc_set_str(L, "gift_sku", p->gift_sku);
	lc_set_int(L, "gift_quantity", p->gift_quantity ? p->gift_quantity : 1);
	lc_set_int(L, "points_multiplier", p->points_multiplier);
	lc_set_bool(L, "new_customers_only", p->new_customers_only);
	lc_set_int(L, "dormant_days", p->dormant_days);
	lc_set_int(L, "min_quantity", p->min_quantity);
	lc_set_int(L, "min_amount", p->min_amount);
	lc_set_bool(L, "exclusive", p->exclusive);
	if (p->stacking_group && *p->stacking_group)
		lc_set_str(L, "stacking_group", p->stacking_group);
	lc_set_bool(L, "stop_after", p->stop_after);
	lc_set_int(L, "max_discount", p->max_discount);
	lc_set_int(L, "budget_amount", p->budget_amount);
	lc_set_int(L, "budget_uses", p->budget_uses);
	lc_set_int(L, "customer_budget_uses", p->customer_budget_uses);
	lc_set_int(L, "customer_budget_amount", p->customer_budget_amount);
	if (p->experiment_id && *p->experiment_id)
		lc_set_str(L, "experiment_id", p->experiment_id);
	lc_push_set(L, p->skus, p->n_skus);
	lua_setfield(L, -2, "skus");
	lc_push_set(L, p->categories, p->n_categories);
	lua_setfield(L, -2, "categories");
	lc_push_set(L, p->channels, p->n_channels);
	lua_setfield(L, -2, "channels");
	lc_push_set(L, p->regions, p->n_regions);
	lua_setfield(L, -2, "regions");
	lc_push_set(L, p->customer_groups, p->n_customer_groups);
	lua_setfield(L, -2, "customer_groups");
	lc_push_set(L, p->customer_segments, p->n_customer_segments);
	lua_setfield(L, -2, "customer_segments");
	lc_push_set(L, p->customer_tiers, p->n_customer_tiers);
	lua_setfield(L, -2, "customer_tiers");
	lua_createtable(L, (int)p->n_bundle_items, 0);
	for (size_t i = 0; i < p->n_bundle_items; i++) {
		lua_createtable(L, 0, 2);
		lc_set_str(L, "sku", p->bundle_items[i]->sku);
		lc_set_int(L, "quantity", p->bundle_items[i]->quantity);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	lua_setfield(L, -2, "bundle");
	lua_createtable(L, (int)p->n_tiers, 0);
	for (size_t i = 0; i < p->n_tiers; i++) {
		lua_createtable(L, 0, 2);
		lc_set_int(L, "threshold", p->tiers[i]->threshold);
		lc_set_int(L, "amount", p->tiers[i]->amount);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	lua_setfield(L, -2, "tiers");
	lua_createtable(L, (int)p->n_arms, 0);
	for (size_t i = 0; i < p->n_arms; i++) {
		const Dealdesk__V1__ExperimentArm *a = p->arms[i];
		lua_createtable(L, 0, 5);
		lc_set_str(L, "name", a->name);
		lc_set_int(L, "weight", a->weight);
		lc_set_int(L, "percent_bps", a->percent_bps);
		lc_set_int(L, "amount", a->amount);
		lc_set_bool(L, "control", a->control);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	lua_setfield(L, -2, "arms");
}

static void push_check(lua_State *L, const Dealdesk__V1__ComplianceCheck *c)
{
	lua_createtable(L, 0, 8);
	lc_set_str(L, "id", c->id);
	lc_set_str(L, "kind", enum_short(&dealdesk__v1__check_kind__descriptor,
	                                 c->kind, "CHECK_KIND_"));
	lc_set_int(L, "bps", c->bps);
	lc_set_str(L, "on_fail", enum_short(&dealdesk__v1__compliance_status__descriptor,
	                                    c->on_fail, "COMPLIANCE_STATUS_"));
	lc_set_bool(L, "enabled", c->enabled);
	lc_set_str(L, "description", c->description);
	lc_push_set(L, c->skus, c->n_skus);
	lua_setfield(L, -2, "skus");
}

static int ro_newindex(lua_State *L)
{
	return luaL_error(L, "promotions and checks are read-only");
}

/* next() over the real table held as upvalue, so pairs(proxy) never hands
 * the real table to the script. */
static int ro_next(lua_State *L)
{
	lua_settop(L, 2);
	lua_pushvalue(L, lua_upvalueindex(1)); /* 3: the real table */
	lua_pushvalue(L, 2);                   /* the previous key */
	if (lua_next(L, 3))
		return 2;
	lua_pushnil(L);
	return 1;
}

static int ro_len(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)lua_rawlen(L, lua_upvalueindex(1)));
	return 1;
}

static int ro_pairs(lua_State *L)
{
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_pushcclosure(L, ro_next, 1);
	lua_pushnil(L); /* state: unused */
	lua_pushnil(L);
	return 3;
}

/* Replaces the table on top of the stack, and every table inside it, by a
 * read-only proxy, so a policy cannot change what the next quote sees. */
static void freeze(lua_State *L, int depth)
{
	int t = lua_gettop(L);
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
	lua_createtable(L, 0, 0);          /* proxy */
	lua_createtable(L, 0, 5);          /* its metatable */
	lua_pushvalue(L, t);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, ro_newindex);
	lua_setfield(L, -2, "__newindex");
	lua_pushvalue(L, t);
	lua_pushcclosure(L, ro_len, 1);
	lua_setfield(L, -2, "__len");
	lua_pushvalue(L, t);
	lua_pushcclosure(L, ro_pairs, 1);
	lua_setfield(L, -2, "__pairs");
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");
	lua_setmetatable(L, -2);
	lua_replace(L, t);
}

/* Replaces the promotion index and metadata with those of promos. */
static int index_promotions(dd_quoter *q, Dealdesk__V1__Promotion **promos,
                            size_t n, dd_error *err)
{
	free_promos(q);
	q->pindex = promo_index_build(promos, n);
	q->pmeta = calloc(n ? n : 1, sizeof(*q->pmeta));
	q->cond_refs = calloc(n ? n : 1, sizeof(int));
	if (q->pindex == NULL || q->pmeta == NULL || q->cond_refs == NULL) {
		free(q->pmeta);
		q->pmeta = NULL;
		return dd_error_set(err, DD_ENOMEM, "out of memory indexing promotions");
	}
	q->npromos = n;
	for (size_t i = 0; i < n; i++) {
		const Dealdesk__V1__Promotion *p = promos[i];
		q->pmeta[i].id = strdup(p->id);
		promo_meta *m = &q->pmeta[i];
		m->has_budget = p->budget_amount || p->budget_uses ||
		                p->customer_budget_uses || p->customer_budget_amount;
		m->enabled = p->enabled;
		m->needs_coupon = p->requires_coupon || (p->coupon_code && *p->coupon_code);
		m->valid_from = p->valid_from;
		m->valid_to = p->valid_to;
		snprintf(m->currency, sizeof(m->currency), "%s", p->currency ? p->currency : "");
		if (m->id == NULL)
			return dd_error_set(err, DD_ENOMEM, "out of memory indexing promotions");
		if (p->n_channels > 0) {
			m->channels = calloc(p->n_channels, sizeof(char *));
			if (m->channels == NULL)
				return dd_error_set(err, DD_ENOMEM, "out of memory indexing promotions");
			m->n_channels = p->n_channels;
			for (size_t k = 0; k < p->n_channels; k++)
				if ((m->channels[k] = strdup(p->channels[k])) == NULL)
					return dd_error_set(err, DD_ENOMEM, "out of memory indexing promotions");
		}
	}
	return DD_OK;
}

/* Compiles a promotion's condition and sets it as field "condition" of the
 * promotion table on top of the stack. */
static int push_condition(dd_quoter *q, const Dealdesk__V1__Promotion *p, dd_error *err)
{
	char src[4200], name[80];
	if (dd_condition_source(p->condition, src, sizeof(src)) != DD_OK)
		return dd_error_set(err, DD_EPOLICY, "promotion %s: condition too long", p->id);
	snprintf(name, sizeof(name), "condition:%s", p->id);
	int ref;
	int rc = dd_sandbox_load(q->sb, name, src, strlen(src), &ref, err);
	if (rc != DD_OK)
		return rc;
	q->cond_refs[q->ncond++] = ref;
	if (dd_sandbox_push_function(q->sb, ref, "condition") != DD_OK)
		return dd_error_set(err, DD_EPOLICY, "promotion %s: condition has no function", p->id);
	lua_setfield(q->L, -2, "condition");
	return DD_OK;
}

/* Rebuilds the Lua array of a table's records when its meta counter moved.
 * The conversion uses a scratch arena: only the Lua copy is kept. */
static int refresh(dd_quoter *q, dd_table table, const char *counter,
                   const ProtobufCMessageDescriptor *desc, uint64_t *have,
                   int *loaded, int *ref, dd_error *err)
{
	uint64_t version = dd_rtxn_meta_u64(q->txn, counter);
	if (*loaded && version == *have)
		return DD_OK;
	dd_arena scratch;
	dd_arena_init(&scratch, 65536, 0);
	collect c = { &scratch, desc, NULL, 0, 0 };
	int rc = dd_rtxn_scan(q->txn, table, (dd_val){ NULL, 0 }, (dd_val){ NULL, 0 },
	                      collect_one, &c);
	if (rc < 0) {
		dd_arena_free(&scratch);
		return dd_error_set(err, rc, "store: cannot read %s", desc->short_name);
	}
	lua_State *L = q->L;
	if (!lua_checkstack(L, 8)) {
		dd_arena_free(&scratch);
		return dd_error_set(err, DD_ENOMEM, "Lua stack exhausted");
	}
	if (table == DD_T_PROMOTIONS) {
		if (c.n > 1)
			qsort(c.items, c.n, sizeof(*c.items), promo_cmp);
		rc = index_promotions(q, (Dealdesk__V1__Promotion **)c.items, c.n, err);
		if (rc != DD_OK) {
			dd_arena_free(&scratch);
			return rc;
		}
	}
	lua_createtable(L, (int)c.n, 0);
	for (size_t i = 0; i < c.n; i++) {
		if (table == DD_T_PROMOTIONS) {
			Dealdesk__V1__Promotion *p = (void *)c.items[i];
			push_promotion(L, p);
			if (p->condition && *p->condition &&
			    push_condition(q, p, err) != DD_OK) {
				lua_settop(L, lua_gettop(L) - 2);
				dd_arena_free(&scratch);
				return DD_EPOLICY;
			}
		} else {
			push_check(L, (void *)c.items[i]);
		}
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	dd_arena_free(&scratch);
	freeze(L, 0);
	if (*ref != LUA_NOREF)
		luaL_unref(L, LUA_REGISTRYINDEX, *ref);
	*ref = luaL_ref(L, LUA_REGISTRYINDEX);
	*have = version;
	*loaded = 1;
	return DD_OK;
}

int quote_refresh_data(dd_quoter *q, dd_error *err)
{
	int rc = refresh(q, DD_T_PROMOTIONS, DD_META_PROMOTIONS_VERSION,
	                 &dealdesk__v1__promotion__descriptor, &q->promos_version,
	                 &q->promos_loaded, &q->promos_ref, err);
	if (rc == DD_OK)
		rc = refresh(q, DD_T_CHECKS, DD_META_CHECKS_VERSION,
		             &dealdesk__v1__compliance_check__descriptor, &q->checks_version,
		             &q->checks_loaded, &q->checks_ref, err);
	return rc;
}
