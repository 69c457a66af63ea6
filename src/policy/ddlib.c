/* The `dd` host table: the money helpers of dealdesk/money.h for policies.
 *
 * Integers only. A float (even 2.0), a string or anything else where an
 * amount is expected raises "dd.<fn>: argument #N must be an integer", and
 * every result that would leave int64 raises "dd.<fn>: amount overflows
 * int64": Lua's own integer arithmetic wraps silently, these never do.
 * Tables passed in are read with raw access, so metamethods never run.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "dealdesk/error.h"
#include "dealdesk/money.h"
#include "policy/policy_int.h"

/* dd.allocate: most entries. Largest remainder with caps is up to n
 * passes of O(n^2) in C, where no hook can stop it. */
#define DD_ALLOCATE_MAX 1000

static lua_Integer check_int(lua_State *L, int arg, const char *fn)
{
	if (!lua_isinteger(L, arg))
		luaL_error(L, "dd.%s: argument #%d must be an integer", fn,
		           arg);
	return lua_tointeger(L, arg);
}

static int overflow_error(lua_State *L, const char *fn)
{
	return luaL_error(L, "dd.%s: amount overflows int64", fn);
}

static dd_rounding check_mode(lua_State *L, int arg, const char *fn)
{
	static const struct {
		const char *name;
		dd_rounding mode;
	} modes[] = {
		{"half_up", DD_ROUND_HALF_UP},
		{"half_even", DD_ROUND_HALF_EVEN},
		{"down", DD_ROUND_DOWN},
		{"up", DD_ROUND_UP},
	};
	if (lua_isnoneornil(L, arg))
		return DD_ROUND_HALF_EVEN;
	if (lua_type(L, arg) == LUA_TSTRING) {
		size_t len;
		const char *s = lua_tolstring(L, arg, &len);
		for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
			if (len == strlen(modes[i].name) &&
			    memcmp(s, modes[i].name, len) == 0)
				return modes[i].mode;
	}
	luaL_error(L, "dd.%s: argument #%d must be a rounding mode (\"half_up\", "
	              "\"half_even\", \"down\" or \"up\")", fn, arg);
	return DD_ROUND_HALF_EVEN; /* not reached */
}

/* Pushes *v, the result of a money call that returned rc. */
static int push_amount(lua_State *L, int rc, const int64_t *v, const char *fn)
{
	if (rc == DD_EOVERFLOW)
		return overflow_error(L, fn);
	if (rc != DD_OK)
		return luaL_error(L, "dd.%s: %s", fn, dd_strerror(rc));
	lua_pushinteger(L, (lua_Integer)*v);
	return 1;
}

/* dd.add(a, b) -> a + b */
static int dd_lua_add(lua_State *L)
{
	int64_t a = check_int(L, 1, "add"), b = check_int(L, 2, "add"), r = 0;
	return push_amount(L, dd_money_add(a, b, &r), &r, "add");
}

/* dd.sub(a, b) -> a - b */
static int dd_lua_sub(lua_State *L)
{
	int64_t a = check_int(L, 1, "sub"), b = check_int(L, 2, "sub"), r = 0;
	return push_amount(L, dd_money_sub(a, b, &r), &r, "sub");
}

/* dd.mul(a, b) -> a * b */
static int dd_lua_mul(lua_State *L)
{
	int64_t a = check_int(L, 1, "mul"), b = check_int(L, 2, "mul"), r = 0;
	return push_amount(L, dd_money_mul(a, b, &r), &r, "mul");
}

/* dd.muldiv(a, b, d [, mode]) -> round(a * b / d), exact in 128 bits */
static int dd_lua_muldiv(lua_State *L)
{
	int64_t a = check_int(L, 1, "muldiv");
	int64_t b = check_int(L, 2, "muldiv");
	int64_t d = check_int(L, 3, "muldiv");
	dd_rounding mode = check_mode(L, 4, "muldiv");
	if (d <= 0)
		return luaL_error(L, "dd.muldiv: divisor must be > 0");
	int64_t r = 0;
	return push_amount(L, dd_money_muldiv(a, b, d, mode, &r), &r, "muldiv");
}

/* dd.bps(amount, bps [, mode]) -> round(amount * bps / 10000) */
static int dd_lua_bps(lua_State *L)
{
	int64_t amount = check_int(L, 1, "bps");
	int64_t bps = check_int(L, 2, "bps");
	dd_rounding mode = check_mode(L, 3, "bps");
	int64_t r = 0;
	return push_amount(L, dd_money_bps(amount, bps, mode, &r), &r, "bps");
}

/* Reads array `arg` (raw access) of n integers >= 0 into out. */
static void read_int_array(lua_State *L, int arg, const char *what,
                           lua_Integer n, int64_t *out)
{
	for (lua_Integer i = 1; i <= n; i++) {
		lua_rawgeti(L, arg, i);
		if (!lua_isinteger(L, -1))
			luaL_error(L, "dd.allocate: %s[%d] must be an integer",
			           what, (int)i);
		out[i - 1] = lua_tointeger(L, -1);
		lua_pop(L, 1);
		if (out[i - 1] < 0)
			luaL_error(L, "dd.allocate: %s[%d] must be >= 0", what,
			           (int)i);
	}
}

/* dd.allocate(total, weights [, caps]) -> new array summing to total,
 * split by largest remainder (ties to the lower index). */
static int dd_lua_allocate(lua_State *L)
{
	int64_t total = check_int(L, 1, "allocate");
	if (lua_type(L, 2) != LUA_TTABLE)
		return luaL_error(L, "dd.allocate: argument #2 must be an "
		                     "array of integers");
	int has_caps = !lua_isnoneornil(L, 3);
	if (has_caps && lua_type(L, 3) != LUA_TTABLE)
		return luaL_error(L, "dd.allocate: argument #3 must be an "
		                     "array of integers");
	lua_Integer n = (lua_Integer)lua_rawlen(L, 2);
	if (n == 0)
		return luaL_error(L, "dd.allocate: weights must not be empty");
	if (n > DD_ALLOCATE_MAX)
		return luaL_error(L, "dd.allocate: at most %d entries",
		                  DD_ALLOCATE_MAX);
	if (has_caps && (lua_Integer)lua_rawlen(L, 3) != n)
		return luaL_error(L, "dd.allocate: caps must have as many "
		                     "entries as weights");
	if (total < 0)
		return luaL_error(L, "dd.allocate: total must be >= 0");

	/* Scratch space from the state's allocator: counted against the
	 * memory budget and collected even if an error jumps past us. */
	size_t nz = (size_t)n;
	int64_t *weights = lua_newuserdatauv(L, nz * 3 * sizeof(int64_t), 0);
	int64_t *caps = has_caps ? weights + nz : NULL;
	int64_t *out = weights + 2 * nz;
	read_int_array(L, 2, "weights", n, weights);
	if (has_caps)
		read_int_array(L, 3, "caps", n, caps);

	/* up to ~10 ms in C at the largest n (measured with caps) */
	policy_charge(L, (uint64_t)nz * nz);
	int rc = dd_money_allocate(total, weights, caps, nz, out);
	if (rc == DD_EOVERFLOW)
		return overflow_error(L, "allocate");
	if (rc == DD_EINVAL) /* arguments were checked: only caps remain */
		return luaL_error(L, "dd.allocate: caps sum to less than total");
	if (rc != DD_OK)
		return luaL_error(L, "dd.allocate: %s", dd_strerror(rc));
	lua_createtable(L, (int)n, 0);
	for (lua_Integer i = 1; i <= n; i++) {
		lua_pushinteger(L, (lua_Integer)out[i - 1]);
		lua_rawseti(L, -2, i);
	}
	return 1;
}

/* dd.format(amount, exponent) -> "-12.05" */
static int dd_lua_format(lua_State *L)
{
	int64_t amount = check_int(L, 1, "format");
	int64_t exponent = check_int(L, 2, "format");
	if (exponent < 0 || exponent > 18)
		return luaL_error(L, "dd.format: exponent must be 0..18");
	char buf[48];
	int len = dd_money_format(amount, (int)exponent, buf, sizeof(buf));
	if (len < 0)
		return luaL_error(L, "dd.format: %s", dd_strerror(DD_EINTERNAL));
	lua_pushlstring(L, buf, (size_t)len);
	return 1;
}

/* dd.format_bps(bps) -> "12.34%" (basis points as a percentage, two
 * decimals, "-" below zero): what every policy's reasons spell rates as */
static int dd_lua_format_bps(lua_State *L)
{
	int64_t bps = check_int(L, 1, "format_bps");
	char buf[48];
	int len = dd_money_format(bps, 2, buf, sizeof(buf) - 1);
	if (len < 0)
		return luaL_error(L, "dd.format_bps: %s", dd_strerror(DD_EINTERNAL));
	buf[len++] = '%';
	lua_pushlstring(L, buf, (size_t)len);
	return 1;
}

/* dd.exponent(currency) -> ISO 4217 minor-unit exponent, or nil */
static int dd_lua_exponent(lua_State *L)
{
	if (lua_type(L, 1) != LUA_TSTRING)
		return luaL_error(L, "dd.exponent: argument #1 must be a string");
	size_t len;
	const char *code = lua_tolstring(L, 1, &len);
	int e = len == 3 ? dd_currency_exponent(code) : -1;
	if (e < 0)
		lua_pushnil(L);
	else
		lua_pushinteger(L, e);
	return 1;
}

void policy_push_ddlib(lua_State *L)
{
	static const luaL_Reg funcs[] = {
		{"add", dd_lua_add},
		{"sub", dd_lua_sub},
		{"mul", dd_lua_mul},
		{"muldiv", dd_lua_muldiv},
		{"bps", dd_lua_bps},
		{"allocate", dd_lua_allocate},
		{"format", dd_lua_format},
		{"format_bps", dd_lua_format_bps},
		{"exponent", dd_lua_exponent},
		{NULL, NULL},
	};
	luaL_newlib(L, funcs);
}
