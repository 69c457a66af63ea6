/* dealdesk quote: the per-thread quoter, its policy cache, the promotions
 * and compliance checks it converts once per change, and the host
 * functions every policy sees (dd.trace, dd.bucket). */
#include "quoter.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <lauxlib.h>

#include "dealdesk/log.h"
#include "readers.h"

/* ---- host functions ------------------------------------------------------- */

/* dd.trace adds entries only while the trace holds fewer than this. */
#define QUOTE_MAX_POLICY_TRACE 4096

/* dd.trace(stage, rule, applied, detail): adds an explain entry. A no-op
 * unless the request asked to explain. */
static int lua_trace(lua_State *L)
{
	dd_quoter *q = lua_touserdata(L, lua_upvalueindex(1));
	if (q->run == NULL || !q->run->explain)
		return 0;
	size_t ls, lr, ld = 0;
	const char *stage = luaL_checklstring(L, 1, &ls);
	const char *rule = luaL_checklstring(L, 2, &lr);
	int applied = lua_toboolean(L, 3);
	const char *detail = luaL_optlstring(L, 4, "", &ld);
	dd_sandbox_charge(L, ls + lr + ld);
	/* a policy's entries are bounded: a loop of dd.trace calls would
	 * otherwise fill the arena (outside the memory budget) until the
	 * instruction budget stops it */
	if (q->run->order.trace.n >= QUOTE_MAX_POLICY_TRACE)
		return 0;
	dd_arena *a = q->run->arena;
	quote_trace_text(q->run, quote_text(a, stage, ls, 64), quote_text(a, rule, lr, 128), applied,
	                 quote_text(a, detail, ld, 1023));
	return 0;
}

/* FNV-1a, 64 bits (offset basis 14695981039346656037, prime 1099511628211:
 * the published parameters, so any system computes the same buckets). */
uint64_t quote_fnv1a64(const void *data, size_t len)
{
	const unsigned char *s = data;
	uint64_t h = UINT64_C(14695981039346656037);
	for (size_t i = 0; i < len; i++)
		h = (h ^ s[i]) * UINT64_C(1099511628211);
	return h;
}

/* dd.bucket(key, n): a stable bucket in [0, n) for key, FNV-1a-64(key) mod
 * n, the same on every machine, restart and version: experiment
 * assignment. */
static int lua_bucket(lua_State *L)
{
	size_t len;
	const char *s = luaL_checklstring(L, 1, &len);
	lua_Integer n = luaL_checkinteger(L, 2);
	if (n <= 0)
		return luaL_error(L, "dd.bucket: n must be > 0");
	dd_sandbox_charge(L, len);
	lua_pushinteger(L, (lua_Integer)(quote_fnv1a64(s, len) % (uint64_t)n));
	return 1;
}

/* ---- lifecycle ------------------------------------------------------------ */

void quote_free_promotions(dd_quoter *q)
{
	for (size_t i = 0; i < q->ncond; i++)
		dd_sandbox_unload(q->sb, q->cond_refs[i]);
	free(q->cond_refs);
	q->cond_refs = NULL;
	q->ncond = 0;
	free(q->promos);
	q->promos = NULL;
	q->npromos = 0;
	free(q->promo_tables);
	q->promo_tables = NULL;
	q->last_table[1] = NULL;
	quote_index_free(q->pindex);
	q->pindex = NULL;
	dd_arena_free(&q->promo_arena);
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
	q->ctx_view = q->credit_view = q->promos_view = q->checks_view = LUA_NOREF;
	q->ctx_raw = q->customer_raw = q->profile_raw = LUA_NOREF;
	q->lines_raw = q->line_raws = q->line_proxies = q->credit_raw = q->view_keys = LUA_NOREF;
	q->view_ended = q->cands_raw = LUA_NOREF;
	for (int k = 0; k < DD_POLICY_KIND_COUNT; k++)
		q->policy[k].script = q->policy[k].entry = LUA_NOREF;
	dd_arena_init(&q->promo_arena, 65536, 0);
	dd_arena_init(&q->check_arena, 4096, 0);
	int rc = dd_rtxn_new(store, &q->txn);
	if (rc != DD_OK) {
		dd_quoter_free(q);
		return dd_error_set(err, rc, "store: cannot create a read transaction");
	}
	if ((rc = dd_sandbox_new(&q->sb, &q->lim.sandbox, err)) != DD_OK) {
		dd_quoter_free(q);
		return rc;
	}
	q->L = dd_sandbox_lua(q->sb);
	dd_sandbox_register(q->sb, "trace", lua_trace, q);
	dd_sandbox_register(q->sb, "bucket", lua_bucket, NULL);
	quote_mechanics_register(q);
	quote_checks_register(q);
	if (quote_views_create(q) != DD_OK) {
		dd_quoter_free(q);
		return dd_error_set(err, DD_ENOMEM, "out of memory creating policy views");
	}
	if (getrandom(q->rng, sizeof(q->rng), 0) != (ssize_t)sizeof(q->rng))
		q->rng[0] = (uint64_t)(uintptr_t)q ^ 0x9E3779B97F4A7C15ull;
	q->rng[1] |= 1;
	*out = q;
	return DD_OK;
}

void dd_quoter_free(dd_quoter *q)
{
	if (q == NULL)
		return;
	if (q->sb) {
		quote_free_promotions(q);
		quote_views_free(q);
		dd_sandbox_free(q->sb);
	}
	dd_arena_free(&q->promo_arena);
	dd_arena_free(&q->check_arena);
	free(q->checks);
	free(q->check_tables);
	quote_tiers_free(q);
	quote_records_free(q);
	quote_prices_free(q);
	dd_rtxn_free(q->txn);
	free(q);
}

/* 12 hex digits of Unix milliseconds, then 80 bits of xorshift128+: ids
 * only need to be unique, not secret, and ids that grow with time keep the
 * decision log's index (journal) appending at its end instead of touching a
 * random page of it per decision. */
void quote_decision_id(dd_quoter *q, char out[33])
{
	static const char hex[] = "0123456789abcdef";
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	for (int w = 0; w < 2; w++) {
		uint64_t s1 = q->rng[0], s0 = q->rng[1];
		q->rng[0] = s0;
		s1 ^= s1 << 23;
		q->rng[1] = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26);
		uint64_t v = q->rng[1] + s0;
		for (int i = 0; i < 16; i++)
			out[w * 16 + i] = hex[(v >> (60 - 4 * i)) & 15];
	}
	for (int i = 0; i < 12; i++)
		out[i] = hex[(ms >> (44 - 4 * i)) & 15];
	out[32] = '\0';
}

/* ---- policies --------------------------------------------------------------- */

static int lookup_entry(lua_State *L)
{
	/* 1: the entry function (pushed by the caller) */
	lua_pushinteger(L, luaL_ref(L, LUA_REGISTRYINDEX));
	return 1;
}

int quote_policy(dd_quoter *q, dd_policy_kind kind, dd_error *err)
{
	char key[16];
	dd_policy_active_key(kind, key);
	uint64_t version = q->pin[kind] ? q->pin[kind] : dd_rtxn_meta_u64(q->txn, key);
	const char *kname = dd_policy_kind_name(kind);
	if (version == 0)
		return dd_error_set(err, DD_EPRECOND, "no active %s policy", kname);
	if (version == q->policy[kind].version)
		return DD_OK;
	unsigned char pk[9];
	dd_val v;
	dd_key_policy(pk, kind, version);
	int rc = dd_rtxn_get(q->txn, DD_T_POLICIES, (dd_val){ pk, 9 }, &v);
	if (rc != DD_OK)
		return q->pin[kind]
		       ? dd_error_set(err, DD_ENOTFOUND, "%s policy v%llu is not stored", kname,
		                      (unsigned long long)version)
		       : dd_error_set(err, DD_ESTORE, "active %s policy v%llu is missing", kname,
		                      (unsigned long long)version);
	dd_arena scratch;
	dd_arena_init(&scratch, 0, 0);
	Dealdesk__V1__PolicyScript *p = (void *)protobuf_c_message_unpack(
		&dealdesk__v1__policy_script__descriptor, &scratch.pb, v.len, v.data);
	if (p == NULL) {
		dd_arena_free(&scratch);
		return dd_error_set(err, DD_ESTORE, "active %s policy v%llu is corrupt", kname,
		                    (unsigned long long)version);
	}
	char name[48];
	snprintf(name, sizeof(name), "%s.v%llu", kname, (unsigned long long)version);
	int script;
	rc = dd_sandbox_load(q->sb, name, p->source, strlen(p->source), &script, err);
	dd_arena_free(&scratch);
	if (rc != DD_OK) {
		dd_log(DD_LOG_ERROR, "policy %s failed to load: %s", name, err ? err->msg : "");
		return rc == DD_EINVAL ? DD_EPOLICY : rc;
	}
	/* the entry function, referenced once: a call pushes it with one
	 * registry read */
	int entry = LUA_NOREF;
	if (dd_sandbox_push_function(q->sb, script, dd_policy_entry(kind)) == DD_OK) {
		lua_pushcfunction(q->L, lookup_entry);
		lua_insert(q->L, -2);
		if (lua_pcall(q->L, 1, 1, 0) == LUA_OK)
			entry = (int)lua_tointeger(q->L, -1);
		lua_pop(q->L, 1);
	}
	qp_policy *pol = &q->policy[kind];
	if (pol->script != LUA_NOREF)
		dd_sandbox_unload(q->sb, pol->script);
	if (pol->entry != LUA_NOREF)
		luaL_unref(q->L, LUA_REGISTRYINDEX, pol->entry);
	pol->script = script;
	pol->entry = entry;
	pol->version = version;
	dd_log(DD_LOG_INFO, "policy %s loaded", name);
	return DD_OK;
}

int quote_call_policy(quote_run *r, dd_policy_kind kind, int nargs)
{
	dd_quoter *q = r->q;
	const qp_policy *pol = &q->policy[kind];
	if (pol->entry == LUA_NOREF) {
		lua_pop(q->L, nargs);
		return dd_error_set(r->err, DD_EPOLICY, "%s policy v%llu has no function %s",
		                    dd_policy_kind_name(kind), (unsigned long long)pol->version,
		                    dd_policy_entry(kind));
	}
	static const quote_stage stage_of[DD_POLICY_KIND_COUNT] = {
		[DD_POLICY_PRICING] = QS_PRICE, [DD_POLICY_PROMOTIONS] = QS_PROMOTE,
		[DD_POLICY_CREDIT] = QS_CREDIT, [DD_POLICY_COMPLIANCE] = QS_COMPLY,
	};
	lua_rawgeti(q->L, LUA_REGISTRYINDEX, pol->entry);
	lua_insert(q->L, -(nargs + 1));
	r->stage = stage_of[kind];
	int rc = dd_sandbox_call(q->sb, nargs, 1, r->err);
	r->stage = QS_NONE;
	return rc;
}

int quote_policy_fail(quote_run *r, dd_policy_kind kind, const char *what)
{
	char msg[sizeof(r->err->msg)];
	snprintf(msg, sizeof(msg), "%s", r->err->msg);
	unsigned long long v = (unsigned long long)r->q->policy[kind].version;
	dd_log(DD_LOG_ERROR, "%s policy v%llu: %s: %s", dd_policy_kind_name(kind), v, what, msg);
	if (r->err->code == DD_EBUDGET) {
		/* Which budget a runaway script meets first is not the same from
		 * one run to the next (the instruction count starts when the
		 * watchdog arms the hook, the memory a call may add depends on
		 * what the collector has freed, time is time): the answer says
		 * only that a budget stopped it, the same every time, and the
		 * log line above says which. */
		const char *colon = strstr(msg, ": ");
		int name_len = colon ? (int)(colon - msg) : 0;
		return dd_error_set(r->err, DD_EBUDGET,
		                    "%s policy v%llu: %.*s%sover its budget (instructions, memory or "
		                    "time; the server log says which)",
		                    dd_policy_kind_name(kind), v, name_len, msg, colon ? ": " : "");
	}
	return dd_error_set(r->err, r->err->code == DD_OK ? DD_EPOLICY : r->err->code,
	                    "%s policy v%llu: %s", dd_policy_kind_name(kind), v, msg);
}
