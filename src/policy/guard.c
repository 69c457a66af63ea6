/* Wrappers for library functions, for the time they spend in C where no
 * count hook fires.
 *
 * Every C function of string, table and utf8 (and tonumber, rawequal) is
 * wrapped: before running, it charges its work to the call's budget
 * (policy_charge, about a unit a byte or element of its arguments), so
 * the deadline is checked between library calls however few VM
 * instructions separate them. Functions whose single call could run for
 * long are also bounded: patterns by a worst-case model, string.rep by
 * building its result in O(log n) copies, table.insert/remove/move/sort by
 * refusing lying __len and oversized ranges.
 *
 * A wrapper calls the original C function (upvalue 1) on its own stack
 * frame, so argument errors and positions read exactly as Lua's own.
 */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "policy/policy_int.h"

/* Subjects longer than this are refused for patterns with special
 * characters. */
#define PATTERN_MAX_SUBJECT ((size_t)64 * 1024)

/* Bound on the matcher's worst case in model steps (see pattern_cost).
 * Measured on this kind of machine: 0.6 to 10 ns per model step, the top
 * of that for gsub building its result, so a call stays under ~40 ms in
 * C; typical policy patterns on short strings are far below it. */
#define PATTERN_MAX_STEPS (UINT64_C(1) << 22)

/* A plain search (memchr + memcmp) costs about subject * (pattern + this)
 * byte steps in the worst case: ~9 ns a position even for two bytes. */
#define PLAIN_STEP_OVERHEAD 16
#define PLAIN_MAX_STEPS (UINT64_C(1) << 26)

/* table.move: the most elements one call may copy. */
#define TABLE_MAX_SHIFT ((lua_Unsigned)1 << 22)

static uint64_t sat_mul(uint64_t a, uint64_t b)
{
	uint64_t r;
	return __builtin_mul_overflow(a, b, &r) ? UINT64_MAX : r;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	uint64_t r;
	return __builtin_add_overflow(a, b, &r) ? UINT64_MAX : r;
}

/* table.sort without a Lua comparison function: at most this many
 * elements (2^17 sort in ~35 ms; 2^21 took 0.8 s). */
#define SORT_MAX_PLAIN ((lua_Unsigned)1 << 17)

/* One number argument counts for at most this much work. */
#define CHARGE_MAX_INT ((uint64_t)1 << 24)

static int call_original(lua_State *L)
{
	lua_CFunction orig = lua_tocfunction(L, lua_upvalueindex(1));
	return orig(L);
}

/* Work a library call may do, from its arguments: string lengths, table
 * lengths (raw: no metamethod runs), and integers, which are counts or
 * positions (table.unpack(t, 1, 1e6) pushes a million values). */
static uint64_t argument_work(lua_State *L)
{
	int top = lua_gettop(L);
	uint64_t work = (uint64_t)top + 1;
	for (int i = 1; i <= top; i++) {
		switch (lua_type(L, i)) {
		case LUA_TSTRING:
		case LUA_TTABLE:
			work += lua_rawlen(L, i);
			break;
		case LUA_TNUMBER: { /* floats too: unpack(t, 1, 5e5) */
			lua_Number v = lua_tonumber(L, i);
			if (v < 0)
				v = -v;
			work += v < (lua_Number)CHARGE_MAX_INT ? (uint64_t)v
			                                       : CHARGE_MAX_INT;
			break;
		}
		default:
			break;
		}
	}
	return work;
}

static int charged_call(lua_State *L)
{
	policy_charge(L, argument_work(L));
	return call_original(L);
}

/* ---- patterns ----------------------------------------------------------- */

/* What makes a pattern expensive: each unbounded item may try every
 * position of the subject, each optional item doubles the attempts. */
typedef struct pattern_shape {
	unsigned unbounded; /* x* x+ x- %bxy %1..%9 */
	unsigned optional;  /* x? */
	int anchored;       /* leading ^ where the function honours it */
} pattern_shape;

/* The same characters Lua's nospecials() looks for. */
static int pattern_is_plain(const char *p, size_t m)
{
	for (size_t i = 0; i < m; i++)
		if (p[i] != '\0' && strchr("^$*+?.([%-", p[i]) != NULL)
			return 0;
	return 1;
}

/* p points just past '['; returns just past the closing ']'. Mirrors
 * lstrlib's classEnd: the first character of a set, even ']', is literal. */
static const char *set_end(lua_State *L, const char *p, const char *end)
{
	if (p < end && *p == '^')
		p++;
	do {
		if (p >= end)
			luaL_error(L, "malformed pattern (missing ']')");
		if (*(p++) == '%' && p < end)
			p++;
	} while (p >= end || *p != ']');
	return p + 1;
}

/* Walks the pattern the way lstrlib's match() reads it, counting the
 * quantifiers that apply to single-character items (a '*' right after
 * '(' or %b is a literal, as in Lua). Malformed patterns raise the errors
 * Lua would. */
static void pattern_scan(lua_State *L, const char *p, size_t m,
                         int can_anchor, pattern_shape *sh)
{
	const char *end = p + m;
	memset(sh, 0, sizeof(*sh));
	if (can_anchor && p < end && *p == '^') {
		sh->anchored = 1;
		p++;
	}
	while (p < end) {
		const char *ep; /* end of a single-character item */
		switch (*p) {
		case '(':
		case ')':
			p++;
			continue;
		case '$':
			if (p + 1 == end) {
				p++;
				continue;
			}
			ep = p + 1;
			break;
		case '%':
			if (p + 1 >= end)
				luaL_error(L, "malformed pattern (ends with '%%')");
			if (p[1] == 'b') {
				if (p + 4 > end)
					luaL_error(L, "malformed pattern (missing "
					              "arguments to '%%b')");
				sh->unbounded++;
				p += 4;
				continue;
			}
			if (p[1] == 'f') {
				p += 2;
				if (p >= end || *p != '[')
					luaL_error(L, "missing '[' after '%%f' in "
					              "pattern");
				p = set_end(L, p + 1, end);
				continue;
			}
			if (p[1] >= '0' && p[1] <= '9') {
				/* a back-reference compares a whole capture */
				sh->unbounded++;
				p += 2;
				continue;
			}
			ep = p + 2;
			break;
		case '[':
			ep = set_end(L, p + 1, end);
			break;
		default:
			ep = p + 1;
			break;
		}
		if (ep < end) {
			if (*ep == '*' || *ep == '+' || *ep == '-') {
				sh->unbounded++;
				ep++;
			} else if (*ep == '?') {
				sh->optional++;
				ep++;
			}
		}
		p = ep;
	}
}

/* C(n, r), saturated just past `limit` (the caller only compares). */
static uint64_t binomial_capped(uint64_t n, uint64_t r, uint64_t limit)
{
	uint64_t c = 1;
	if (r > n)
		return 0;
	/* C(n-r+i, i) = C(n-r+i-1, i-1) * (n-r+i) / i: exact, and growing
	 * with i, so stopping early is safe. */
	for (uint64_t i = 1; i <= r && c <= limit; i++) {
		uint64_t t = sat_mul(c, n - r + i);
		if (t == UINT64_MAX)
			return UINT64_MAX;
		c = t / i;
	}
	return c;
}

/* Upper bound on lstrlib's work for a subject of n bytes. Quantifiers
 * cannot nest in Lua patterns, so one attempt is fixed by where each of
 * the k unbounded items stops: positions e1 <= ... <= ek in [0, n]; an
 * unanchored search adds the start position in front. That is at most
 * C(n + j, j) attempts, j = k (+ 1 when unanchored); every optional item
 * doubles them, and one attempt walks at most the whole pattern (m + 1).
 * Saturates instead of wrapping. */
static uint64_t pattern_cost(const pattern_shape *sh, size_t n, size_t m)
{
	uint64_t j = (uint64_t)sh->unbounded + (sh->anchored ? 0 : 1);
	uint64_t cost = binomial_capped(sat_add((uint64_t)n, j), j,
	                                PATTERN_MAX_STEPS);
	for (unsigned i = 0; i < sh->optional && cost <= PATTERN_MAX_STEPS;
	     i++)
		cost = sat_mul(cost, 2);
	return sat_mul(cost, sat_add((uint64_t)m, 1));
}

/* Raises a Lua error when string.<fname>(s, p, ...) could run too long in
 * C; returns the work to charge. For find, a plain search (plain = true,
 * or a pattern without special characters) uses memchr/memcmp rather than
 * the matcher. */
static uint64_t pattern_check(lua_State *L, const char *fname,
                              int can_anchor, int is_find)
{
	size_t n, m;
	luaL_checklstring(L, 1, &n);
	const char *p = luaL_checklstring(L, 2, &m);
	int plain = pattern_is_plain(p, m);
	if (is_find && (plain || lua_toboolean(L, 4))) {
		uint64_t steps = sat_mul((uint64_t)n,
		                         sat_add((uint64_t)m,
		                                 PLAIN_STEP_OVERHEAD));
		if (m > 1 && steps > PLAIN_MAX_STEPS)
			luaL_error(L, "string.%s: plain pattern too long for "
			              "subject length", fname);
		return m > 1 ? steps : (uint64_t)n;
	}
	if (!plain && n > PATTERN_MAX_SUBJECT)
		luaL_error(L, "string.%s: subject too long for a pattern "
		              "(%d bytes max)", fname, (int)PATTERN_MAX_SUBJECT);
	pattern_shape sh;
	pattern_scan(L, p, m, can_anchor, &sh);
	uint64_t cost = pattern_cost(&sh, n, m);
	if (cost > PATTERN_MAX_STEPS)
		luaL_error(L, "string.%s: pattern too complex for subject "
		              "length", fname);
	return cost;
}

static int guarded_find(lua_State *L)
{
	policy_charge(L, pattern_check(L, "find", 1, 1));
	return call_original(L);
}

static int guarded_match(lua_State *L)
{
	policy_charge(L, pattern_check(L, "match", 1, 0));
	return call_original(L);
}

/* The iterator gmatch returns keeps its position in itself: one kept from
 * the top level of a script (or from an earlier evaluation) would carry
 * state from one evaluation to the next. It works only in the evaluation
 * that made it. Upvalues: the original iterator, that evaluation. */
static int gmatch_iterator(lua_State *L)
{
	if ((uint64_t)lua_tointeger(L, lua_upvalueindex(2)) != policy_evaluation(L))
		return luaL_error(L, "string.gmatch: this iterator belongs to an "
		                     "evaluation that has ended");
	int base = lua_gettop(L);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_call(L, 0, LUA_MULTRET);
	return lua_gettop(L) - base;
}

/* gmatch ignores a leading '^' (it is a literal there), so no anchor. The
 * iterator's calls together scan the subject once: charged here. */
static int guarded_gmatch(lua_State *L)
{
	policy_charge(L, pattern_check(L, "gmatch", 0, 0));
	int n = call_original(L);
	if (n != 1 || !lua_isfunction(L, -1))
		return n;
	lua_pushinteger(L, (lua_Integer)policy_evaluation(L));
	lua_pushcclosure(L, gmatch_iterator, 2);
	return 1;
}

/* gsub's replacements allocate its result: the allocator charges that. */
static int guarded_gsub(lua_State *L)
{
	policy_charge(L, pattern_check(L, "gsub", 1, 0));
	return call_original(L);
}

/* string.rep, same results and errors as Lua's. Lua's own loop runs n
 * times: 2^63 times doing nothing for an empty string, and one memcpy a
 * byte for ("x"):rep(3e7) (~100 ms in C). This fills the result by
 * doubling what is already written. */
static int guarded_rep(lua_State *L)
{
	size_t l, lsep;
	const char *s = luaL_checklstring(L, 1, &l);
	lua_Integer n = luaL_checkinteger(L, 2);
	const char *sep = luaL_optlstring(L, 3, "", &lsep);
	const size_t max = (size_t)INT_MAX; /* lstrlib's MAXSIZE */
	if (n <= 0 || l + lsep == 0) {
		lua_pushliteral(L, "");
		return 1;
	}
	if (l + lsep < l || l + lsep > max / (lua_Unsigned)n)
		return luaL_error(L, "resulting string too large");
	size_t total = (size_t)n * l + (size_t)(n - 1) * lsep;
	policy_charge(L, total);
	luaL_Buffer b;
	char *p = luaL_buffinitsize(L, &b, total);
	memcpy(p, s, l);
	size_t len = l;
	if (n > 1) { /* p[l, len) holds whole copies of sep .. s */
		memcpy(p + len, sep, lsep);
		memcpy(p + len + lsep, s, l);
		len += lsep + l;
	}
	while (len < total) {
		size_t chunk = len - l;
		if (chunk > total - len)
			chunk = total - len;
		memcpy(p + len, p + l, chunk);
		len += chunk;
	}
	luaL_pushresultsize(&b, total);
	return 1;
}

/* ---- table library ------------------------------------------------------ */

/* The length a table function will use: a proxy's (policy_proxy_len reads
 * the table behind it, raw), or the raw length; a __len of the script's own
 * is refused (it could answer anything, and differently each time). */
static lua_Unsigned table_length(lua_State *L, const char *fname)
{
	if (lua_getmetatable(L, 1)) {
		lua_pushliteral(L, "__len");
		lua_CFunction f = lua_rawget(L, -2) != LUA_TNIL ? lua_tocfunction(L, -1) : NULL;
		int has_len = !lua_isnil(L, -1);
		lua_pop(L, 2);
		if (has_len && f != policy_proxy_len)
			luaL_error(L, "table.%s: tables with a __len metamethod are "
			              "not supported", fname);
		if (has_len) {
			lua_len(L, 1);
			lua_Integer n = lua_tointeger(L, -1);
			lua_pop(L, 1);
			return n > 0 ? (lua_Unsigned)n : 0;
		}
	}
	return (lua_Unsigned)lua_rawlen(L, 1);
}

/* table.concat(t, sep, i, j) and table.unpack(t, i, j) read every index
 * from i to j, each through __index when the table lacks it (a C function
 * there runs with no hook): the span is bounded and charged per element
 * (and concat's separator per byte) before they start. */
#define TABLE_MAX_SPAN ((lua_Unsigned)1 << 18)

static int guarded_span(lua_State *L, const char *fname, int first)
{
	if (lua_type(L, 1) != LUA_TTABLE)
		return charged_call(L); /* the original reports the wrong type */
	lua_Unsigned len = table_length(L, fname);
	int oki = 1, okj = 1;
	lua_Integer i = lua_isnoneornil(L, first) ? 1 : lua_tointegerx(L, first, &oki);
	lua_Integer j = lua_isnoneornil(L, first + 1) ? (lua_Integer)len
	                                              : lua_tointegerx(L, first + 1, &okj);
	if (oki && okj && i <= j) {
		lua_Unsigned span = (lua_Unsigned)j - (lua_Unsigned)i;
		if (span >= TABLE_MAX_SPAN)
			luaL_error(L, "table.%s: too many elements (%d at most)", fname,
			           (int)TABLE_MAX_SPAN);
		size_t seplen = 0;
		if (first == 3 && lua_type(L, 2) == LUA_TSTRING)
			seplen = lua_rawlen(L, 2);
		policy_charge(L, (uint64_t)(span + 1) * (8 + seplen));
	}
	return charged_call(L);
}

static int guarded_concat(lua_State *L)
{
	return guarded_span(L, "concat", 3);
}

static int guarded_unpack(lua_State *L)
{
	return guarded_span(L, "unpack", 2);
}

/* table.insert and table.remove shift every element between the position
 * and #t, where #t comes from __len: a lying __len makes them loop up to
 * 2^63 times in C. Evaluating __len here and again in the original could
 * give two different answers, so tables with __len are refused; without
 * it the length is the real border, bounded by memory. */
static void refuse_len_metamethod(lua_State *L, const char *fname)
{
	if (lua_type(L, 1) != LUA_TTABLE || !lua_getmetatable(L, 1))
		return; /* the original reports the wrong type */
	lua_pushliteral(L, "__len");
	int has_len = lua_rawget(L, -2) != LUA_TNIL && /* raw, as luaL_len */
	              lua_tocfunction(L, -1) != policy_proxy_len;
	lua_pop(L, 2);
	if (has_len)
		luaL_error(L, "table.%s: tables with a __len metamethod are "
		              "not supported", fname);
}

static int guarded_insert(lua_State *L)
{
	refuse_len_metamethod(L, "insert");
	return charged_call(L);
}

static int guarded_remove(lua_State *L)
{
	refuse_len_metamethod(L, "remove");
	return charged_call(L);
}

/* table.move(a1, f, e, t): e - f + 1 iterations, whatever the tables
 * hold. */
static int guarded_move(lua_State *L)
{
	int okf, oke;
	lua_Integer f = lua_tointegerx(L, 2, &okf);
	lua_Integer e = lua_tointegerx(L, 3, &oke);
	if (okf && oke && e >= f) {
		lua_Unsigned span = (lua_Unsigned)e - (lua_Unsigned)f;
		if (span >= TABLE_MAX_SHIFT)
			luaL_error(L, "table.move: too many elements to move "
			              "(%d max)", (int)TABLE_MAX_SHIFT);
		policy_charge(L, span + 1);
	}
	return charged_call(L);
}

/* table.sort compares in C unless given a Lua function, where the hook
 * fires. n log n comparisons, each of two strings costing their length: a
 * plain (or C-compared) sort is refused past SORT_MAX_PLAIN elements or
 * SORT_MAX_BYTES of comparing, and charged for what it may compare. */
#define SORT_MAX_BYTES (UINT64_C(1) << 27)

static int guarded_sort(lua_State *L)
{
	if (lua_type(L, 1) == LUA_TTABLE &&
	    (lua_type(L, 2) != LUA_TFUNCTION || lua_iscfunction(L, 2))) {
		refuse_len_metamethod(L, "sort");
		lua_Unsigned n = lua_rawlen(L, 1);
		if (n > SORT_MAX_PLAIN)
			luaL_error(L, "table.sort: at most %d elements without "
			              "a Lua comparison function", (int)SORT_MAX_PLAIN);
		/* the longest string decides what one comparison may cost */
		size_t longest = 0;
		for (lua_Unsigned i = 1; i <= n; i++) {
			if (lua_rawgeti(L, 1, (lua_Integer)i) == LUA_TSTRING &&
			    lua_rawlen(L, -1) > longest)
				longest = lua_rawlen(L, -1);
			lua_pop(L, 1);
		}
		uint64_t log2n = 1;
		while (((uint64_t)1 << log2n) < n)
			log2n++;
		uint64_t compares = sat_mul(sat_mul((uint64_t)n, log2n), 2);
		uint64_t bytes = sat_mul(compares, (uint64_t)longest + 16);
		if (bytes > SORT_MAX_BYTES)
			luaL_error(L, "table.sort: %d strings of up to %d bytes are too "
			              "much to compare", (int)n, (int)longest);
		policy_charge(L, (uint64_t)n + bytes / 8);
	}
	return charged_call(L);
}

/* ---- installing --------------------------------------------------------- */

static const struct special {
	const char *lib;
	const char *name;
	lua_CFunction wrapper;
	int replaces; /* the wrapper is a full replacement: no original */
} specials[] = {
	{LUA_STRLIBNAME, "find", guarded_find, 0},
	{LUA_STRLIBNAME, "match", guarded_match, 0},
	{LUA_STRLIBNAME, "gmatch", guarded_gmatch, 0},
	{LUA_STRLIBNAME, "gsub", guarded_gsub, 0},
	{LUA_STRLIBNAME, "rep", guarded_rep, 1},
	{LUA_TABLIBNAME, "insert", guarded_insert, 0},
	{LUA_TABLIBNAME, "remove", guarded_remove, 0},
	{LUA_TABLIBNAME, "move", guarded_move, 0},
	{LUA_TABLIBNAME, "sort", guarded_sort, 0},
	{LUA_TABLIBNAME, "concat", guarded_concat, 0},
	{LUA_TABLIBNAME, "unpack", guarded_unpack, 0},
};

/* Pushes the wrapper for lib.name whose original is on the stack top
 * (replacing it). */
static void push_wrapper(lua_State *L, const char *lib, const char *name)
{
	for (size_t i = 0; i < sizeof(specials) / sizeof(specials[0]); i++) {
		if (strcmp(specials[i].lib, lib) != 0 ||
		    strcmp(specials[i].name, name) != 0)
			continue;
		if (specials[i].replaces) {
			lua_pop(L, 1);
			lua_pushcfunction(L, specials[i].wrapper);
		} else {
			lua_pushcclosure(L, specials[i].wrapper, 1);
		}
		return;
	}
	lua_pushcclosure(L, charged_call, 1);
}

void policy_guard_library(lua_State *L, int idx, const char *lib)
{
	idx = lua_absindex(L, idx);
	/* Names first, then replace: simpler than reasoning about changing
	 * a table while lua_next walks it. */
	lua_newtable(L);
	int names = lua_gettop(L);
	lua_Integer count = 0;
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		lua_pop(L, 1);
		if (lua_type(L, -1) == LUA_TSTRING) {
			lua_pushvalue(L, -1);
			lua_rawseti(L, names, ++count);
		}
	}
	for (lua_Integer i = 1; i <= count; i++) {
		lua_rawgeti(L, names, i);
		const char *name = lua_tostring(L, -1);
		lua_pushvalue(L, -1);
		lua_rawget(L, idx);
		if (lua_tocfunction(L, -1) != NULL) {
			push_wrapper(L, lib, name);
			lua_rawset(L, idx);
		} else {
			lua_pop(L, 2);
		}
	}
	lua_pop(L, 1);
}

void policy_guard_function(lua_State *L, int idx, const char *name)
{
	idx = lua_absindex(L, idx);
	lua_getfield(L, idx, name);
	if (lua_tocfunction(L, -1) == NULL)
		luaL_error(L, "sandbox: %s is not a C function", name);
	lua_pushcclosure(L, charged_call, 1);
	lua_setfield(L, idx, name);
}

/* ---- setmetatable ------------------------------------------------------- */

/* A __gc finalizer would run whenever the collector gets to it: in another
 * script's call, outside any budget, or in lua_close, where an endless
 * loop could never be stopped. Weak tables (__mode) make results depend on
 * when the collector ran. Lua only marks an object for finalization if its
 * metatable has __gc when setmetatable runs, so checking here suffices. */
static int guarded_setmetatable(lua_State *L)
{
	if (lua_type(L, 2) == LUA_TTABLE && policy_readonly_table(L, 2)) {
		/* a read-only proxy as a metatable (a class table the top level
		 * made, now frozen) would have no metamethods: the VM reads
		 * metatables raw. It gets a copy of what the proxy shows, made for
		 * this call, so changing it changes nothing that outlives the
		 * evaluation. */
		lua_getmetatable(L, 2);
		lua_pushliteral(L, "__index");
		lua_rawget(L, -2);
		lua_remove(L, -2);
		if (lua_type(L, -1) == LUA_TTABLE) {
			int real = lua_gettop(L);
			lua_newtable(L);
			lua_pushnil(L);
			while (lua_next(L, real)) {
				policy_charge(L, 1);
				lua_pushvalue(L, -2);
				lua_insert(L, -2);
				lua_rawset(L, -4);
			}
			lua_replace(L, 2);
		}
		lua_settop(L, 2);
	}
	if (lua_type(L, 2) == LUA_TTABLE) {
		lua_pushliteral(L, "__gc");
		int has_gc = lua_rawget(L, 2) != LUA_TNIL;
		lua_pushliteral(L, "__mode");
		int has_mode = lua_rawget(L, 2) != LUA_TNIL;
		lua_pop(L, 2);
		if (has_gc)
			luaL_error(L, "setmetatable: __gc is not allowed in "
			              "policies");
		if (has_mode)
			luaL_error(L, "setmetatable: __mode is not allowed in "
			              "policies");
	}
	return call_original(L);
}

void policy_push_safe_setmetatable(lua_State *L)
{
	lua_getglobal(L, "setmetatable");
	if (lua_tocfunction(L, -1) == NULL)
		luaL_error(L, "sandbox: setmetatable is not a C function");
	lua_pushcclosure(L, guarded_setmetatable, 1);
}
