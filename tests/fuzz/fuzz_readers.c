/* Fuzz target: the readers of policy results (src/quote/readers.c), on
 * values a policy could return, in the sandbox's own Lua state.
 *
 * Input: byte 0 arms injected allocation failures (dd_sandbox_fail_alloc_
 * after) for the reading when it is below 64; the rest is a small program
 * that builds one Lua value (build() below: nil, booleans, integers,
 * floats, strings short and long, the field names the stages read, tables
 * by array or by pairs, tables and userdata whose every metamethod is a
 * trap). The value is then read inside quote_protected the way the stages
 * do: quote_read_record with the field tables of price.c, credit.c,
 * promote.c and comply.c, on the value and on its array entries,
 * quote_read_int / quote_read_str on every field name, quote_text on every
 * string in it.
 * Checked besides the sanitizers: no metamethod ever runs (reading is raw);
 * no Lua error escapes (the state's panic handler aborts); a field read
 * without error is within its bounds, a string valid UTF-8 without NUL of
 * at most its length limit; quote_text keeps a valid string that fits and
 * otherwise cuts on a character boundary; the stack is as it was. */
#include <string.h>

#include <lauxlib.h>

#include "dealdesk/model.h"
#include "fuzz.h"
#include "policy/host.h"
#include "quote/readers.h"

static const char *const NAMES[] = {
	"unit_price", "reason", "outcome", "terms_days", "deposit", "reasons", "promotion",
	"kind", "amount", "description", "sku", "quantity", "code", "message", "accepted",
	"experiment", "arm", "check", "status", "line", "value", "limit", "discounts",
	"points_multiplier", "gifts", "notes", "coupons", "experiments", "results", "",
};
#define NNAMES (sizeof(NAMES) / sizeof(NAMES[0]))

static const char *const outcome_names[] = { "UNSPECIFIED", "APPROVE", "APPROVE_SHORTER_TERMS",
	                                     "DEPOSIT", "PREPAY", "REVIEW", "DECLINE", NULL };
static const char *const kind_names[] = { "UNSPECIFIED", "PERCENTAGE", "FIXED_AMOUNT", "BUNDLE",
	                                  "SPEND_THRESHOLD", "FIXED_PRICE", "BUY_X_GET_Y",
	                                  "FREE_GIFT", "LOYALTY_POINTS", "CUSTOM", NULL };
static const char *const status_names[] = { "UNSPECIFIED", "PASS", "WARN", "BLOCK", NULL };

typedef struct answer {
	int64_t i[4];
	const char *s[4];
	int e[4];
} answer;

#define AI(n) offsetof(answer, i) + (n) * sizeof(int64_t)
#define AS(n) offsetof(answer, s) + (n) * sizeof(const char *)
#define AE(n) offsetof(answer, e) + (n) * sizeof(int)

/* The field tables of the stages (bounds as there, or representative). */
static const quote_field price_fields[] = {
	{ "unit_price", QF_INT, AI(0), 0, INT64_MIN, INT64_MAX, 100, NULL, NULL },
	{ "reason", QF_TEXT, AS(0), 0, 0, 512, 0, "", NULL },
};
static const quote_field credit_fields[] = {
	{ "outcome", QF_ENUM, AE(0), 1, 0, 0, 0, NULL, outcome_names },
	{ "terms_days", QF_INT, AI(0), 0, 0, 365, 0, NULL, NULL },
	{ "deposit", QF_INT, AI(1), 0, 0, 100000, 0, NULL, NULL },
};
static const quote_field discount_fields[] = {
	{ "promotion", QF_STRING, AS(0), 1, 0, DD_MAX_ID, 0, NULL, NULL },
	{ "kind", QF_ENUM, AE(0), 0, 0, 0, 0, NULL, kind_names },
	{ "amount", QF_INT, AI(0), 1, 0, INT64_MAX, 0, NULL, NULL },
	{ "description", QF_TEXT, AS(1), 0, 0, 512, 0, "", NULL },
};
static const quote_field coupon_fields[] = {
	{ "code", QF_STRING, AS(0), 1, 0, DD_MAX_ID, 0, NULL, NULL },
	{ "reason", QF_TEXT, AS(1), 0, 0, 512, 0, "", NULL },
	{ "promotion", QF_STRING, AS(2), 0, 0, DD_MAX_ID, 0, "", NULL },
	{ "accepted", QF_BOOL, AE(0), 0, 0, 0, 0, NULL, NULL },
};
static const quote_field result_fields[] = {
	{ "check", QF_STRING, AS(0), 1, 0, DD_MAX_ID, 0, NULL, NULL },
	{ "status", QF_ENUM, AE(0), 1, 0, 0, 0, NULL, status_names },
	{ "message", QF_TEXT, AS(1), 0, 0, 512, 0, "", NULL },
	{ "line", QF_INT, AI(0), 0, -1, 3, -1, NULL, NULL },
	{ "value", QF_INT, AI(1), 0, INT64_MIN, INT64_MAX, 0, NULL, NULL },
	{ "limit", QF_INT, AI(2), 0, INT64_MIN, INT64_MAX, 0, NULL, NULL },
};
static const struct {
	const quote_field *f;
	size_t n;
} TABLES[] = {
	{ price_fields, 2 }, { credit_fields, 3 }, { discount_fields, 4 },
	{ coupon_fields, 4 }, { result_fields, 6 },
};
#define NTABLES (sizeof(TABLES) / sizeof(TABLES[0]))

static dd_sandbox *sb;
static int trapped; /* a metamethod ran */
static int trap_ref; /* the registry's metatable of traps */

static int trap(lua_State *L)
{
	trapped = 1;
	return 0;
}

typedef struct reader {
	const uint8_t *p, *end;
	int nodes;
} reader;

static unsigned next(reader *r)
{
	return r->p < r->end ? *r->p++ : 0;
}

/* Pushes one value built from the program at r (see the top). */
static void build(lua_State *L, reader *r, int depth)
{
	luaL_checkstack(L, 4, "fuzz: build");
	unsigned op = next(r) % 13;
	if (++r->nodes > 400 || depth > 8)
		op = 0;
	switch (op) {
	case 0: lua_pushnil(L); break;
	case 1: lua_pushboolean(L, 1); break;
	case 2: lua_pushboolean(L, 0); break;
	case 3: {
		uint64_t v = 0;
		for (int i = 0; i < 8; i++)
			v |= (uint64_t)next(r) << (8 * i);
		lua_pushinteger(L, (lua_Integer)v);
		break;
	}
	case 4: lua_pushinteger(L, (lua_Integer)(int8_t)next(r)); break;
	case 5: {
		uint64_t v = 0;
		double d;
		for (int i = 0; i < 8; i++)
			v |= (uint64_t)next(r) << (8 * i);
		memcpy(&d, &v, sizeof(d));
		lua_pushnumber(L, d);
		break;
	}
	case 6: {
		size_t n = next(r);
		if (n > (size_t)(r->end - r->p))
			n = (size_t)(r->end - r->p);
		lua_pushlstring(L, (const char *)r->p, n);
		r->p += n;
		break;
	}
	case 7: lua_pushstring(L, NAMES[next(r) % NNAMES]); break;
	case 8:
	case 9:
	case 10: {
		unsigned n = next(r) % 16;
		lua_createtable(L, 0, 0);
		for (unsigned i = 1; i <= n; i++) {
			if (op == 8) {
				build(L, r, depth + 1);
				lua_rawseti(L, -2, (lua_Integer)i);
				continue;
			}
			build(L, r, depth + 1);
			build(L, r, depth + 1);
			/* a nil or NaN key cannot be set */
			if (lua_isnil(L, -2) || (lua_type(L, -2) == LUA_TNUMBER &&
			                         lua_tonumber(L, -2) != lua_tonumber(L, -2)))
				lua_pop(L, 2);
			else
				lua_rawset(L, -3);
		}
		if (op == 10) {
			lua_rawgeti(L, LUA_REGISTRYINDEX, trap_ref);
			lua_setmetatable(L, -2);
		}
		break;
	}
	case 11: {
		/* long: past every length limit (up to 2295 bytes), a pattern of
		 * the next 3 bytes */
		size_t n = (size_t)next(r) * 8 + next(r);
		unsigned char pat[3] = { (unsigned char)next(r), (unsigned char)next(r),
			                 (unsigned char)next(r) };
		luaL_Buffer b;
		char *s = luaL_buffinitsize(L, &b, n);
		for (size_t i = 0; i < n; i++)
			s[i] = (char)pat[i % 3];
		luaL_pushresultsize(&b, n);
		break;
	}
	case 12:
		lua_newuserdatauv(L, 8, 0);
		lua_rawgeti(L, LUA_REGISTRYINDEX, trap_ref);
		lua_setmetatable(L, -2);
		break;
	}
}

static int build_value(lua_State *L)
{
	reader *r = lua_touserdata(L, 1);
	lua_pop(L, 1);
	build(L, r, 0);
	return 1;
}

/* quote_text's promises for s (len bytes) cut to max. */
static void check_text(dd_arena *a, const char *s, size_t len, size_t max)
{
	char *t = quote_text(a, s, len, max);
	if (t == NULL)
		return; /* out of memory */
	size_t tl = strlen(t);
	FUZZ_CHECK(tl <= max, "quote_text: %zu bytes past %zu", tl, max);
	FUZZ_CHECK(dd_utf8_valid(t, tl), "quote_text: invalid UTF-8");
	if (len <= max && memchr(s, '\0', len) == NULL && dd_utf8_valid(s, len))
		FUZZ_CHECK(tl == len && memcmp(s, t, len) == 0, "quote_text changed a valid string");
	else if (dd_utf8_valid(s, len) && memchr(s, '\0', len) == NULL)
		FUZZ_CHECK(memcmp(s, t, tl) == 0 && (tl == len || dd_utf8_seq_len(s + tl, len - tl) > 0),
		           "quote_text cut a valid string off a character boundary");
}

typedef struct read_ctx {
	dd_arena *arena;
} read_ctx;

static void check_record(lua_State *L, int idx, dd_arena *arena)
{
	for (size_t t = 0; t < NTABLES; t++) {
		answer a;
		char why[160];
		memset(&a, 0, sizeof(a));
		int top = lua_gettop(L);
		int ok = quote_read_record(L, idx, TABLES[t].f, TABLES[t].n, &a, arena, why,
		                           sizeof(why));
		FUZZ_CHECK(lua_gettop(L) == top, "quote_read_record left the stack at %d, not %d",
		           lua_gettop(L), top);
		if (!ok) {
			FUZZ_CHECK(why[0] != '\0', "quote_read_record failed without a reason");
			continue;
		}
		for (size_t k = 0; k < TABLES[t].n; k++) {
			const quote_field *f = &TABLES[t].f[k];
			const char *at = (const char *)&a + f->offset;
			switch (f->type) {
			case QF_INT: {
				int64_t v = *(const int64_t *)at;
				FUZZ_CHECK((v >= f->min && v <= f->max) || v == f->dflt,
				           "%s: %lld out of bounds", f->name, (long long)v);
				break;
			}
			case QF_STRING:
			case QF_TEXT: {
				const char *s = *(const char *const *)at;
				FUZZ_CHECK(s != NULL, "%s: NULL", f->name);
				FUZZ_CHECK(strlen(s) <= (size_t)f->max && dd_utf8_valid(s, strlen(s)),
				           "%s: a string past its limit or invalid", f->name);
				break;
			}
			case QF_ENUM: {
				int v = *(const int *)at;
				int n = 0;
				while (f->names[n])
					n++;
				FUZZ_CHECK((v >= 1 && v < n) || v == f->dflt, "%s: enum %d", f->name, v);
				break;
			}
			case QF_BOOL:
				break;
			}
		}
	}
}

static int read_all(lua_State *L, void *ud)
{
	dd_arena *arena = ((read_ctx *)ud)->arena;
	check_record(L, 1, arena);
	if (lua_type(L, 1) == LUA_TTABLE) {
		lua_Integer n = (lua_Integer)lua_rawlen(L, 1);
		for (lua_Integer i = 1; i <= n && i <= 8; i++) {
			lua_rawgeti(L, 1, i);
			check_record(L, -1, arena);
			lua_pop(L, 1);
		}
		for (size_t k = 0; k < NNAMES; k++) {
			int64_t v;
			const char *s;
			quote_read_int(L, 1, NAMES[k], 7, &v);
			if (quote_read_str(L, 1, NAMES[k], "dflt", 64, arena, &s) && s != NULL)
				FUZZ_CHECK(strlen(s) <= 64 && dd_utf8_valid(s, strlen(s)),
				           "quote_read_str: past its limit or invalid");
		}
		/* every string key and value, raw */
		lua_pushnil(L);
		while (lua_next(L, 1)) {
			for (int j = -2; j <= -1; j++)
				if (lua_type(L, j) == LUA_TSTRING) {
					size_t len;
					const char *s = lua_tolstring(L, j, &len);
					check_text(arena, s, len, 0);
					check_text(arena, s, len, 3);
					check_text(arena, s, len, 64);
					check_text(arena, s, len, 512);
				}
			lua_pop(L, 1);
		}
	} else if (lua_type(L, 1) == LUA_TSTRING) {
		size_t len;
		const char *s = lua_tolstring(L, 1, &len);
		for (size_t max = 0; max < 8; max++)
			check_text(arena, s, len, max);
		check_text(arena, s, len, 512);
	}
	FUZZ_CHECK(lua_gettop(L) == 1, "the readers left %d values", lua_gettop(L));
	return DD_OK;
}

static void setup(lua_State **Lp)
{
	if (sb == NULL) {
		dd_error err;
		FUZZ_CHECK(dd_sandbox_new(&sb, NULL, &err) == DD_OK, "dd_sandbox_new: %s", err.msg);
		lua_State *L = dd_sandbox_lua(sb);
		static const char *const events[] = { "__index", "__newindex", "__len", "__pairs",
			                              "__eq", "__lt", "__le", "__concat",
			                              "__call", "__tostring", "__name", "__close" };
		lua_createtable(L, 0, 12);
		for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
			lua_pushcfunction(L, trap);
			lua_setfield(L, -2, events[i]);
		}
		trap_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	}
	*Lp = dd_sandbox_lua(sb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	lua_State *L;
	setup(&L);
	if (size < 1)
		return 0;
	reader r = { data + 1, data + size, 0 };
	lua_settop(L, 0);
	lua_pushcfunction(L, build_value);
	lua_pushlightuserdata(L, &r);
	if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
		lua_settop(L, 0);
		return 0;
	}
	dd_arena arena;
	dd_arena_init(&arena, 4096, 1u << 20);
	read_ctx ctx = { &arena };
	trapped = 0;
	if (data[0] < 64)
		dd_sandbox_fail_alloc_after(sb, data[0]);
	int rc = quote_protected(L, read_all, &ctx);
	dd_sandbox_fail_alloc_after(sb, -1);
	FUZZ_CHECK(!trapped, "a metamethod ran while reading a result");
	FUZZ_CHECK(rc == DD_OK || (rc == DD_ENOMEM && data[0] < 64), "quote_protected: %d", rc);
	FUZZ_CHECK(lua_gettop(L) == 0, "%d values left on the stack", lua_gettop(L));
	dd_arena_free(&arena);
	lua_gc(L, LUA_GCCOLLECT);
	return 0;
}
