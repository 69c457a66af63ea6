/* Unit tests for src/policy: the Lua sandbox (libraries, read-only
 * globals, budgets, bounded patterns, error objects, allocation failures)
 * and the `dd` money helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <lauxlib.h>
#include <lua.h>

#include "policy/host.h"
#include <lualib.h>

#include "dealdesk/error.h"
#include "dealdesk/sandbox.h"

/* policy_int.h's POLICY_MAX_ERROR_TEXT plus the name and ": " */
#define POLICY_TEST_MAX_ERROR (384 + 64)

#define assert_msg_contains(err, needle)                                     \
	do {                                                                 \
		if (strstr((err).msg, (needle)) == NULL)                     \
			fail_msg("message \"%s\" lacks \"%s\"", (err).msg,    \
			         (needle));                                   \
	} while (0)

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Budgets that must trip by instructions or memory get a wall clock so
 * long that a loaded machine (ASan, parallel tests) cannot trip it first. */
static const dd_sandbox_limits slow_clock = {.max_millis = 60000};

static dd_sandbox *new_sandbox(const dd_sandbox_limits *lim)
{
	dd_sandbox *sb = NULL;
	dd_error err;
	int rc = dd_sandbox_new(&sb, lim, &err);
	if (rc != DD_OK)
		fail_msg("dd_sandbox_new: %s", err.msg);
	return sb;
}

static int load(dd_sandbox *sb, const char *name, const char *src, int *ref,
                dd_error *err)
{
	dd_error_clear(err);
	return dd_sandbox_load(sb, name, src, strlen(src), ref, err);
}

static int load_ok(dd_sandbox *sb, const char *src)
{
	int ref = 0;
	dd_error err;
	if (load(sb, "pol", src, &ref, &err) != DD_OK)
		fail_msg("load failed: %s", err.msg);
	return ref;
}

/* Calls global fname of script ref with no arguments. */
static int call(dd_sandbox *sb, int ref, const char *fname, int nresults,
                dd_error *err)
{
	dd_error_clear(err);
	assert_int_equal(dd_sandbox_push_function(sb, ref, fname), DD_OK);
	return dd_sandbox_call(sb, 0, nresults, err);
}

/* Loads "function f() <body> end" and calls f for one result. */
static int run(dd_sandbox *sb, const char *body, dd_error *err)
{
	char src[4096];
	snprintf(src, sizeof(src), "function f()\n%s\nend\n", body);
	int ref = load_ok(sb, src);
	int rc = call(sb, ref, "f", 1, err);
	dd_sandbox_unload(sb, ref);
	return rc;
}

static void expect_true(dd_sandbox *sb, const char *expr)
{
	char body[2048];
	dd_error err;
	lua_State *L = dd_sandbox_lua(sb);
	int top = lua_gettop(L);
	snprintf(body, sizeof(body), "return %s", expr);
	if (run(sb, body, &err) != DD_OK)
		fail_msg("%s: %s", expr, err.msg);
	if (lua_type(L, -1) != LUA_TBOOLEAN || !lua_toboolean(L, -1))
		fail_msg("%s: not true", expr);
	lua_pop(L, 1);
	assert_int_equal(lua_gettop(L), top);
}

static void expect_error(dd_sandbox *sb, const char *body, int code,
                         const char *needle)
{
	dd_error err;
	lua_State *L = dd_sandbox_lua(sb);
	int top = lua_gettop(L);
	int rc = run(sb, body, &err);
	if (rc != code)
		fail_msg("%s: rc %d, wanted %d (%s)", body, rc, code, err.msg);
	assert_msg_contains(err, needle);
	assert_int_equal(lua_gettop(L), top); /* stack restored */
}

/* ---- issue 9: nothing survives an evaluation ------------------------------- */

/* Loads src; the load must fail with code and a message holding needle. */
static void expect_refused(const char *src, int code, const char *needle)
{
	dd_sandbox *sb = new_sandbox(&slow_clock);
	int ref = 0;
	dd_error err;
	int rc = load(sb, "pol", src, &ref, &err);
	if (rc != code)
		fail_msg("%s: rc %d, wanted %d (%s)", src, rc, code, err.msg);
	assert_msg_contains(err, needle);
	dd_sandbox_free(sb);
}

/* Loads src and calls f twice: both calls must give the integer want. */
static void expect_twice(const char *src, lua_Integer want)
{
	dd_sandbox *sb = new_sandbox(&slow_clock);
	lua_State *L = dd_sandbox_lua(sb);
	int ref = load_ok(sb, src);
	for (int i = 0; i < 2; i++) {
		dd_error err;
		if (call(sb, ref, "f", 1, &err) != DD_OK)
			fail_msg("%s: call %d: %s", src, i, err.msg);
		if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) != want)
			fail_msg("%s: call %d gave %s", src, i, luaL_typename(L, -1));
		lua_pop(L, 1);
	}
	dd_sandbox_free(sb);
}

static void test_upvalue_assignments_refused(void **state)
{
	(void)state;
	expect_refused("local n = 0\nfunction f() n = n + 1 return n end\n", DD_EINVAL,
	               "pol: the function at line 2 assigns to 'n', which outlives the evaluation");
	expect_refused("local t = {n = 0}\nfunction f() t.n = t.n + 1 end\n", DD_EINVAL,
	               "line 2 assigns to a field of 't'");
	/* a closure made at the top level keeps its maker's locals */
	expect_refused("local function mk() local n = 0 return function() n = n + 1 return n end end\n"
	               "local counter = mk()\nfunction f() return counter() end\n",
	               DD_EINVAL, "line 1 assigns to 'n'");
	/* a function nested in one that outlives the top level */
	expect_refused("local n = 0\nfunction f()\n  local function g() n = 1 end\n  g()\nend\n",
	               DD_EINVAL, "line 3 assigns to 'n'");
	/* in a table, or a metatable */
	expect_refused("local n = 0\nlocal M = {bump = function() n = n + 1 end}\n"
	               "function f() M.bump() end\n", DD_EINVAL, "assigns to 'n'");
	expect_refused("local n = 0\nlocal o = setmetatable({}, {__index = function() n = n + 1 end})\n"
	               "function f() return o.x end\n", DD_EINVAL, "assigns to 'n'");
	/* what an evaluation makes for itself may change */
	expect_twice("function f()\n  local n = 0\n  local function g() n = n + 1 end\n"
	             "  g() g()\n  return n\nend\n", 2);
	expect_twice("local n = 0\nn = n + 5\nfunction f() return n end\n", 5);
	expect_twice("local function fact(n) if n <= 1 then return 1 end return n * fact(n - 1) end\n"
	             "function f() return fact(5) end\n", 120);
	/* assigning a global is a write to the frozen environment */
	dd_sandbox *sb = new_sandbox(&slow_clock);
	int ref = load_ok(sb, "function f() counter = 1 end\n");
	dd_error err;
	assert_int_equal(call(sb, ref, "f", 0, &err), DD_EPOLICY);
	assert_msg_contains(err, "policy globals are read-only");
	dd_sandbox_free(sb);
}

static void test_top_level_tables_frozen(void **state)
{
	(void)state;
	dd_sandbox *sb = new_sandbox(&slow_clock);
	/* reads, #, pairs, ipairs, concat and identity still work */
	expect_twice("local t = {1, 2, 3, x = {y = 4}}\n"
	             "function f()\n"
	             "  local n = 0 for k, v in pairs(t) do n = n + 1 end\n"
	             "  local s = 0 for i, v in ipairs(t) do s = s + v end\n"
	             "  return #t * 1000 + n * 100 + s * 10 + t.x.y\nend\n", 3464);
	expect_twice("local l = {'a', 'b'}\n"
	             "function f() return table.concat(l, ',') == 'a,b' and #table.pack(table.unpack(l)) or 0 end\n",
	             2);
	expect_twice("local a = {}\nlocal b = {a, [a] = 7}\nfunction f() return b[1] == a and b[a] or 0 end\n", 7);
	expect_twice("local mt = {__index = function(t, k) return #k end}\n"
	             "local o = setmetatable({}, mt)\nfunction f() return o.four end\n", 4);
	expect_twice("cfg = {a = 1}\nfunction f() return cfg.a end\n", 1);
	/* a class table of the top level still works as a metatable (a copy
	 * of it, per setmetatable), and changing that copy changes nothing
	 * the next evaluation sees */
	expect_twice("local Class = {}\nClass.__index = Class\n"
	             "function Class.get(o) return o.v end\n"
	             "function f()\n  local o = setmetatable({v = 6}, Class)\n"
	             "  local mt = getmetatable(o) local before = mt.extra or 0 mt.extra = 1\n"
	             "  return o:get() + before\nend\n", 6);
	static const char *const writes[] = {
		"local t = {}\nfunction f() t[1] = 1 end\n",
		"local t = {x = {}}\nfunction f() t.x.y = 1 end\n",
		"cfg = {a = 1}\nfunction f() cfg.a = 2 end\n",
		"local t = {}\nfunction f() table.insert(t, 1) end\n",
		"local t = {3, 1, 2}\nfunction f() table.sort(t) end\n",
		"local mt = {}\nlocal o = setmetatable({}, mt)\nfunction f() getmetatable(o).x = 1 end\n",
		"local t = {}\nfunction f() setmetatable(t, {}) end\n",
		NULL,
	};
	for (const char *const *w = writes; *w != NULL; w++) {
		int ref = load_ok(sb, *w);
		dd_error err;
		if (call(sb, ref, "f", 0, &err) != DD_EPOLICY ||
		    (strstr(err.msg, "read-only") == NULL &&
		     strstr(err.msg, "protected metatable") == NULL &&
		     strstr(err.msg, "a boolean value") == NULL))
			fail_msg("%s: %s", *w, err.msg);
		dd_sandbox_unload(sb, ref);
	}
	/* a string.gmatch iterator keeps its position: only the evaluation
	 * that made it may use it */
	int ref = load_ok(sb, "local it = ('a b'):gmatch('%a')\nfunction f() return it() end\n");
	dd_error err;
	assert_int_equal(call(sb, ref, "f", 1, &err), DD_EPOLICY);
	assert_msg_contains(err, "string.gmatch: this iterator belongs to an evaluation that has ended");
	expect_true(sb, "(function() local n = 0 for w in ('a b c'):gmatch('%a') do n = n + 1 end "
	                "return n == 3 end)()");
	dd_sandbox_free(sb);
	/* what a top level may keep is bounded */
	expect_refused("local big = {}\nfor i = 1, 2e5 do big[i] = ('x'):rep(40) .. i end\n"
	               "function f() return big[1] end\n", DD_EBUDGET, "its top level keeps");
	expect_refused("local t = {}\nfor i = 1, 30000 do t[i] = {} end\nfunction f() return t end\n",
	               DD_EINVAL, "keeps more than 20000 tables");
	/* what it does not keep is garbage, not refused */
	expect_twice("local big = {}\nfor i = 1, 2e5 do big[i] = ('x'):rep(40) .. i end\n"
	             "function f() return 1 end\n", 1);
}

/* A call that had memory refused fails, even when the script caught the
 * error and returned normally. */
static void test_caught_memory_refusal_fails(void **state)
{
	(void)state;
	dd_sandbox_limits lim = slow_clock;
	lim.max_memory = 1024 * 1024;
	dd_sandbox *sb = new_sandbox(&lim);
	expect_error(sb, "pcall(function() local t = {} while true do t[#t + 1] = ('x'):rep(1000) .. #t end end)\n"
	                 "return 1", DD_EBUDGET, "memory budget exceeded");
	/* garbage the emergency collection frees is not a refusal */
	expect_true(sb, "(function() for i = 1, 2000 do local s = ('y'):rep(2000) .. i end return true end)()");
	dd_sandbox_free(sb);
}

/* Error text is valid UTF-8 of bounded length: bad bytes and NULs become
 * U+FFFD, a long message is cut on a character boundary. */
static void test_error_text_utf8(void **state)
{
	(void)state;
	dd_sandbox *sb = new_sandbox(&slow_clock);
	expect_error(sb, "error('bad \\255\\254 x', 0)", DD_EPOLICY,
	             "pol: bad \xEF\xBF\xBD\xEF\xBF\xBD x");
	expect_error(sb, "error('a\\0b', 0)", DD_EPOLICY, "pol: a\xEF\xBF\xBD" "b");
	expect_error(sb, "error(('x'):rep(5) .. '\\xe2\\x82', 0)", DD_EPOLICY,
	             "pol: xxxxx\xEF\xBF\xBD\xEF\xBF\xBD");
	dd_error err;
	assert_int_equal(run(sb, "error(('\\u{20AC}'):rep(300))", &err), DD_EPOLICY);
	size_t n = strlen(err.msg);
	assert_true(n <= POLICY_TEST_MAX_ERROR);
	/* ends on a whole euro sign */
	assert_memory_equal(err.msg + n - 3, "\xE2\x82\xAC", 3);
	/* compile errors too */
	int ref;
	assert_int_equal(load(sb, "pol", "x = '\xff\nreturn", &ref, &err), DD_EINVAL);
	assert_null(strstr(err.msg, "\xff"));
	assert_msg_contains(err, "\xEF\xBF\xBD");
	dd_sandbox_free(sb);
	char out[8];
	assert_int_equal(dd_sandbox_clean_text(out, sizeof(out), "ab\xE2\x82\xAC\xE2\x82\xAC", 8), 5);
	assert_string_equal(out, "ab\xE2\x82\xAC");
	assert_int_equal(dd_sandbox_clean_text(out, sizeof(out), "\xC0\xAF", 2), 6);
	assert_string_equal(out, "\xEF\xBF\xBD\xEF\xBF\xBD");
}

/* Library loops that run in C without the hook: bounded up front. */
static void test_library_spans(void **state)
{
	(void)state;
	dd_sandbox *sb = new_sandbox(&slow_clock);
	expect_error(sb, "return table.concat(setmetatable({}, {__index = tostring}), '', 1, 2^40)",
	             DD_EPOLICY, "table.concat: too many elements (262144 at most)");
	expect_error(sb, "return table.concat({}, '', 1, math.maxinteger)", DD_EPOLICY,
	             "table.concat: too many elements");
	expect_error(sb, "return table.concat(setmetatable({}, {__len = function() return 2^62 end}))",
	             DD_EPOLICY, "table.concat: tables with a __len metamethod are not supported");
	expect_error(sb, "return table.unpack({}, 1, 1e7)", DD_EPOLICY,
	             "table.unpack: too many elements");
	expect_error(sb, "local s = ('x'):rep(200000) local t = {} for i = 1, 1000 do t[i] = s end "
	                 "table.sort(t)", DD_EPOLICY, "table.sort: 1000 strings of up to 200000 bytes");
	expect_true(sb, "table.concat({1, 2, 3}, '-') == '1-2-3'");
	expect_true(sb, "(function() local t = {} for i = 1, 1000 do t[i] = ('x'):rep(i % 50) end "
	                "table.sort(t) return #t[1000] == 49 end)()");
	dd_sandbox_free(sb);
}

static void test_load_and_call(void **state)
{
	(void)state;
	dd_sandbox *sb = new_sandbox(NULL);
	lua_State *L = dd_sandbox_lua(sb);
	int ref = load_ok(sb, "local k = 2\n"
	                      "function price(a, b) return a * k + b, 'ok' end\n");
	int top = lua_gettop(L);
	assert_int_equal(dd_sandbox_push_function(sb, ref, "price"), DD_OK);
	lua_pushinteger(L, 5);
	lua_pushinteger(L, 7);
	dd_error err;
	assert_int_equal(dd_sandbox_call(sb, 2, 2, &err), DD_OK);
	assert_int_equal(lua_gettop(L), top + 2);
	int64_t v = 0;
	assert_int_equal(dd_sandbox_to_money(L, -2, &v), DD_OK);
	assert_int_equal(v, 17);
	assert_string_equal(lua_tostring(L, -1), "ok");
	lua_pop(L, 2);
	assert_null(lua_gethook(L)); /* hook removed after the call */

	/* absent, not a function, and a library name: not found, nothing
	 * pushed */
	assert_int_equal(dd_sandbox_push_function(sb, ref, "nope"),
	                 DD_ENOTFOUND);
	int ref2 = load_ok(sb, "value = 3\n");
	assert_int_equal(dd_sandbox_push_function(sb, ref2, "value"),
	                 DD_ENOTFOUND);
	assert_int_equal(dd_sandbox_push_function(sb, ref2, "tostring"),
	                 DD_ENOTFOUND);
	dd_sandbox_unload(sb, ref2);
	assert_int_equal(dd_sandbox_push_function(sb, ref2, "value"),
	                 DD_ENOTFOUND);
	dd_sandbox_unload(sb, ref2); /* twice is harmless */
	assert_int_equal(lua_gettop(L), top);

	/* ref still works after another script came and went */
	assert_int_equal(dd_sandbox_push_function(sb, ref, "price"), DD_OK);
	lua_pushinteger(L, 1);
	lua_pushinteger(L, 1);
	assert_int_equal(dd_sandbox_call(sb, 2, 1, &err), DD_OK);
	assert_int_equal(lua_tointeger(L, -1), 3);
	lua_pop(L, 1);
	dd_sandbox_free(sb);
}

static void test_compile_errors(void **state)
{
	(void)state;
	dd_sandbox *sb = new_sandbox(NULL);
	lua_State *L = dd_sandbox_lua(sb);
	int top = lua_gettop(L), ref = -7;
	dd_error err;
	assert_int_equal(load(sb, "pricing", "local x = 1\nlocal y = = 2\n",
	                      &ref, &err), DD_EINVAL);
	assert_msg_contains(err, "pricing:2:");
	assert_int_equal(ref, -7);
	assert_int_equal(lua_gettop(L), top);

	/* _ENV could swap the frozen environment for a fresh table */
	assert_int_equal(load(sb, "p", "function f() _ENV = {} end", &ref,
	                      &err), DD_EINVAL);
	assert_msg_contains(err, "_ENV");

	/* source size limit */
	dd_sandbox_limits lim = {.max_source = 16};
	dd_sandbox *small = new_sandbox(&lim);
	assert_int_equal(load(small, "p", "return 1 + 1 + 1 + 1 + 1 + 1", &ref,
	                      &err), DD_EINVAL);
	assert_int_equal(load(small, "p", "x = 1", &ref, &err), DD_OK);
	dd_sandbox_free(small);

	/* a failing top level: runtime error with its line */
	assert_int_equal(load(sb, "pol", "x = 1\nerror('boom')\n", &ref, &err),
	                 DD_EPOLICY);
	assert_string_equal(err.msg, "pol:2: boom");
	assert_int_equal(lua_gettop(L), top);
	dd_sandbox_free(sb);
}

struct dump_buf {
	char data[4096];
	size_t len;
};

static int dump_writer(lua_State *L, const void *p, size_t sz, void *ud)
{
	(void)L;
	struct dump_buf *b = ud;
	if (sz > sizeof(b->data) - b->len)
		return 1;
	memcpy(b->data + b->len, p, sz);
	b->len += sz;
	return 0;
}

static void test_binary_chunk_rejected(void **state)
{
	(void)state;
	/* string.dump is gone from the sandbox: compile on a plain state */
	lua_State *plain = luaL_newstate();
	assert_int_equal(luaL_loadstring(plain, "function f() return 1 end"),
	                 LUA_OK);
	static struct dump_buf b;
	assert_int_equal(lua_dump(plain, dump_writer, &b, 0), 0);
	size_t len = b.len;
	const char *bytecode = b.data;
	assert_true(len > 4 && bytecode[0] == '\x1b');

	dd_sandbox *sb = new_sandbox(NULL);
	int ref = -1;
	dd_error err;
	assert_int_equal(dd_sandbox_load(sb, "bin", bytecode, len, &ref, &err),
	                 DD_EINVAL);
	assert_msg_contains(err, "binary");
	assert_int_equal(ref, -1);
	dd_sandbox_free(sb);
	lua_close(plain);
}

static void test_absent_globals(void **state)
{
	(void)state;
	static const char *const absent[] = {
		"os", "io", "require", "package", "debug", "load",
		"loadfile", "dofile", "loadstring", "module", "string.dump",
		"('').dump", "collectgarbage", "coroutine", "rawset",
		"print", "warn", "math.random", "math.randomseed", "_G",
		"unpack", "setfenv", "getfenv", "newproxy", "gcinfo",
		NULL,
	};
	static const char *const present[] = {
		"assert", "error", "getmetatable", "ipairs", "next", "pairs",
		"pcall", "rawequal", "rawget", "rawlen", "select",
		"setmetatable", "tonumber", "tostring", "type", "xpcall",
		"string.find", "string.format", "table.concat", "table.sort",
		"math.floor", "math.maxinteger", "utf8.char", "dd.add",
		"dd.allocate", NULL,
	};
	dd_sandbox *sb = new_sandbox(NULL);
	char expr[128];
	for (const char *const *n = absent; *n != NULL; n++) {
		snprintf(expr, sizeof(expr), "%s == nil", *n);
		expect_true(sb, expr);
	}
	for (const char *const *n = present; *n != NULL; n++) {
		snprintf(expr, sizeof(expr), "%s ~= nil", *n);
		expect_true(sb, expr);
	}
	/* os.execute / io.open: there is nothing to index */
	expect_error(sb, "return os.execute('true')", DD_EPOLICY,
	             "attempt to index a nil value (global 'os')");
	expect_error(sb, "return io.open('/etc/passwd')", DD_EPOLICY,
	             "attempt to index a nil value (global 'io')");
	expect_error(sb, "return require('os')", DD_EPOLICY,
	             "attempt to call a nil value (global 'require')");
	dd_sandbox_free(sb);
}

static void test_libraries_read_only(void **state)
{
	(void)state;
	dd_sandbox *sb = new_sandbox(NULL);
	expect_error(sb, "string.find = function() return 99 end", DD_EPOLICY,
	             "read-only");
	expect_error(sb, "string.evil = 1", DD_EPOLICY, "read-only");
	expect_error(sb, "dd.add = nil", DD_EPOLICY, "read-only");
	expect_error(sb, "math.pi = 3", DD_EPOLICY, "read-only");
	expect_error(sb, "table.insert = print", DD_EPOLICY, "read-only");
	expect_error(sb, "setmetatable(string, nil)", DD_EPOLICY,
	             "protected metatable");
	expect_error(sb, "getmetatable('').__index = {}", DD_EPOLICY,
	             "attempt to index a boolean value");
	expect_true(sb, "getmetatable(string) == false");
	expect_true(sb, "getmetatable(dd) == false");
	expect_true(sb, "next(string) == nil and rawget(string, 'find') == nil");

	/* a top level that tries it fails to load... */
	int ref;
	dd_error err;
	assert_int_equal(load(sb, "evil", "string.find = function() return 99 "
	                                  "end\n", &ref, &err), DD_EPOLICY);
	assert_msg_contains(err, "evil:1:");
	assert_msg_contains(err, "read-only");
	/* ...and a second script sees the real functions */
	expect_true(sb, "('abc'):find('b') == 2 and string.find('abc', 'c') "
	                "== 3");
	expect_true(sb, "dd.add(1, 2) == 3");
	dd_sandbox_free(sb);
}

static void test_string_metatable_hidden(void **state)
{
	(void)state;
	dd_sandbox *sb = new_sandbox(NULL);
	expect_true(sb, "getmetatable('') == false");
	expect_true(sb, "type(getmetatable('abc')) ~= 'table'");
	/* methods still work through the real metatable */
	expect_true(sb, "('x'):rep(3) == 'xxx' and ('%d'):format(7) == '7'");
	dd_sandbox_free(sb);
}

static void test_globals_frozen(void **state)
{
	(void)state;
	dd_sandbox *sb = new_sandbox(NULL);
	int ref = load_ok(sb, "counter = 0\n"
	                      "function bump() counter = counter + 1 "
	                      "return counter end\n"
	                      "function fresh() brand_new = 1 end\n"
	                      "function get() return counter end\n"
	                      "function redefine() get = nil end\n"
	                      "function peek() return other end\n");
	dd_error err;
	lua_State *L = dd_sandbox_lua(sb);
	assert_int_equal(call(sb, ref, "bump", 1, &err), DD_EPOLICY);
	assert_msg_contains(err, "policy globals are read-only");
	assert_msg_contains(err, "pol:2:");
	assert_int_equal(call(sb, ref, "fresh", 0, &err), DD_EPOLICY);
	assert_msg_contains(err, "policy globals are read-only");
	assert_int_equal(call(sb, ref, "redefine", 0, &err), DD_EPOLICY);
	assert_int_equal(call(sb, ref, "get", 1, &err), DD_OK);
	assert_int_equal(lua_tointeger(L, -1), 0);
	lua_pop(L, 1);

	/* scripts do not see each other's globals */
	int ref2 = load_ok(sb, "other = 5\n");
	assert_int_equal(call(sb, ref, "peek", 1, &err), DD_OK);
	assert_true(lua_isnil(L, -1));
	lua_pop(L, 1);
	dd_sandbox_unload(sb, ref2);

	dd_sandbox_free(sb);
}

static void test_instruction_budget(void **state)
{
	(void)state;
	dd_sandbox *sb = new_sandbox(&slow_clock);
	lua_State *L = dd_sandbox_lua(sb);
	int ref = load_ok(sb, "function spin() while true do end end\n"
	                      "function ok(n) return n + 1 end\n");
	int top = lua_gettop(L);
	dd_error err;
	assert_int_equal(call(sb, ref, "spin", 0, &err), DD_EBUDGET);
	assert_string_equal(err.msg,
	                    "pol: instruction budget exceeded (10000000)");
	assert_int_equal(lua_gettop(L), top);
	assert_null(lua_gethook(L));

	/* usable afterwards */
	assert_int_equal(dd_sandbox_push_function(sb, ref, "ok"), DD_OK);
	lua_pushinteger(L, 41);
	assert_int_equal(dd_sandbox_call(sb, 1, 1, &err), DD_OK);
	assert_int_equal(lua_tointeger(L, -1), 42);
	lua_pop(L, 1);

	/* the top level runs under the budget too */
	assert_int_equal(load(sb, "loop", "while true do end", &ref, &err),
	                 DD_EBUDGET);
	assert_msg_contains(err, "loop: instruction budget exceeded");
	dd_sandbox_free(sb);
}

static void test_pcall_cannot_swallow_kill(void **state)
{
	(void)state;
	static const char *const bodies[] = {
		"while true do pcall(function() while true do end end) end",
		"while true do xpcall(function() while true do end end, "
		"function(e) return e end) end",
		"local ok = pcall(function() while true do end end)\n"
		"return 'survived'",
		"for i = 1, 10 do pcall(pcall, pcall, function() "
		"while true do end end) end return 'survived'",
		"local t = setmetatable({}, {__index = function(t, k) "
		"while true do end end})\nwhile true do pcall(function() "
		"return t.x end) end",
		NULL,
	};
	dd_sandbox *sb = new_sandbox(&slow_clock);
	for (const char *const *b = bodies; *b != NULL; b++) {
		expect_error(sb, *b, DD_EBUDGET, "instruction budget exceeded");
		}
	expect_true(sb, "1 + 1 == 2");
	dd_sandbox_free(sb);
}

static void test_memory_budget(void **state)
{
	(void)state;
	static const char *const bombs[] = {
		"local t = {} for i = 1, 1e9 do t[i] = string.rep('x', 1024) end",
		"local t = {} for i = 1, 1e9 do t[i] = {i} end",
		"local t = {} for i = 1, 1e9 do t[i] = ('x'):rep(200000) .. i end",
		/* single strings are capped well below the budget */
		"return string.rep('x', 2^31 - 1)",
		"return string.rep('x', 2^29, 'y')",
		"local s = 'x' while true do s = s .. s end",
		NULL,
	};
	dd_sandbox *sb = new_sandbox(&slow_clock);
	int ref = load_ok(sb, "function noop() end");
	dd_error err;
	assert_int_equal(call(sb, ref, "noop", 0, &err), DD_OK);
	size_t baseline = dd_sandbox_memory(sb);
	assert_true(baseline > 0);
	for (const char *const *b = bombs; *b != NULL; b++) {
		int rc = run(sb, *b, &err);
		if (!(rc == DD_EBUDGET &&
		      strstr(err.msg, "pol: memory budget exceeded (")) &&
		    !(rc == DD_EPOLICY && strstr(err.msg, "not enough memory")))
			fail_msg("%s: rc %d: %s", *b, rc, err.msg);
		if (b - bombs < 3)
			assert_string_equal(err.msg, "pol: memory budget "
			                    "exceeded (33554432 bytes)");
			/* garbage collected outside the budget */
		assert_true(dd_sandbox_memory(sb) < baseline + 256 * 1024);
	}
	expect_error(sb, "local s = 'x' while true do s = s .. s end",
	             DD_EBUDGET, "memory budget exceeded (string over 262144 "
	                         "bytes)");
	/* Lua caps string.rep at INT_MAX bytes before allocating */
	expect_error(sb, "return string.rep('x', 2^31)", DD_EPOLICY,
	             "resulting string too large");
	/* usable afterwards */
	expect_true(sb, "#string.rep('z', 1000) == 1000");
	expect_true(sb, "#string.rep('ab', 3, ',') == 8 and "
	                "string.rep('ab', 3, ',') == 'ab,ab,ab' and "
	                "string.rep('a', 0) == '' and string.rep('', 1, 'x') "
	                "== ''");
	expect_true(sb, "#('xyz'):rep(60000, '-') == 60000 * 4 - 1");
	/* a script may catch a refused allocation and go on */
	expect_true(sb, "not pcall(string.rep, 'x', 2^31)");

	/* a smaller budget is honoured */
	dd_sandbox_limits lim = {.max_memory = 1024 * 1024};
	dd_sandbox *small = new_sandbox(&lim);
	assert_int_equal(run(small, "local t = {} for i = 1, 1e9 do t[i] = i "
	                            "end", &err), DD_EBUDGET);
	assert_string_equal(err.msg,
	                    "pol: memory budget exceeded (1048576 bytes)");
	dd_sandbox_free(small);
	dd_sandbox_free(sb);
}

/* C work between two hook calls still meets the deadline: each of these
 * loops runs expensive library calls or instructions back to back. */
static void test_deadline_in_c_work(void **state)
{
	(void)state;
	static const char *const loops[] = {
		"local s = ('x'):rep(250000) while true do utf8.len(s) end",
		"local s = ('1'):rep(250000) while true do tonumber(s) end",
		"local s = ('a'):rep(1400) while true do s:find('.-b') end",
		"local s = ('a'):rep(250000) while true do s:upper() end",
		"local a, b = ('x'):rep(250000), ('x'):rep(250000) .. '' "
		"while true do local c = a == b or a < b end",
		"local t = {} for i = 1, 1e5 do t[i] = 1e5 - i end "
		"while true do table.sort(t) end",
		"while true do select('#', table.unpack({}, 1, 2e5)) end",
		NULL,
	};
	dd_sandbox_limits lim = {.max_instructions = UINT64_MAX / 2,
	                         .max_millis = 50};
	dd_sandbox *sb = new_sandbox(&lim);
	for (const char *const *l = loops; *l != NULL; l++) {
		dd_error err;
		double t0 = now_ms();
		int rc = run(sb, *l, &err);
		double elapsed = now_ms() - t0;
		if (rc != DD_EBUDGET || strstr(err.msg, "time budget") == NULL)
			fail_msg("%s: rc %d: %s", *l, rc, err.msg);
		/* a bound on liveness, not on speed: the kill must come */
		if (elapsed > 30000)
			fail_msg("%s: killed after %.0f ms", *l, elapsed);
	}
	dd_sandbox_free(sb);
}

static void test_wall_clock_budget(void **state)
{
	(void)state;
	dd_sandbox_limits lim = {.max_instructions = UINT64_MAX / 2,
	                         .max_millis = 50};
	dd_sandbox *sb = new_sandbox(&lim);
	dd_error err;
	double t0 = now_ms();
	int rc = run(sb, "local x = 0 while true do x = x + 1 end", &err);
	double elapsed = now_ms() - t0;
	assert_int_equal(rc, DD_EBUDGET);
	assert_string_equal(err.msg, "pol: time budget exceeded (50 ms)");
	assert_true(elapsed >= 45 && elapsed < 30000);
	expect_true(sb, "true");
	dd_sandbox_free(sb);
}

static void test_pattern_guard(void **state)
{
	(void)state;
	dd_sandbox *sb = new_sandbox(NULL);
	expect_error(sb, "return ('a'):rep(300):find('.-.-.-b')", DD_EPOLICY,
	             "pattern too complex");
	expect_error(sb, "return string.match(('a'):rep(300), '.-.-.-b')",
	             DD_EPOLICY, "pattern too complex");
	expect_error(sb, "return ('a'):rep(300):gsub('.-.-.-b', '')",
	             DD_EPOLICY, "pattern too complex");
	expect_error(sb, "for x in ('a'):rep(300):gmatch('.-.-.-b') do end",
	             DD_EPOLICY, "pattern too complex");
	/* unanchored: one quantifier times every start position */
	expect_error(sb, "return ('a'):rep(60000):find('.-b')", DD_EPOLICY,
	             "pattern too complex");
	/* optional items double the work each */
	expect_error(sb, "return ('a'):rep(30):match('^' .. ('a?'):rep(30) "
	                 ".. ('a'):rep(30))", DD_EPOLICY,
	             "pattern too complex");
	/* balance and back-references scan like quantifiers */
	expect_error(sb, "return ('('):rep(3000):find('%b()%b()')", DD_EPOLICY,
	             "pattern too complex");
	expect_error(sb, "return ('a'):rep(70000):find('a.')", DD_EPOLICY,
	             "subject too long");
	expect_error(sb, "return ('x'):find('[a')", DD_EPOLICY,
	             "malformed pattern");
	expect_error(sb, "return ('x'):find('%')", DD_EPOLICY,
	             "malformed pattern");

	expect_true(sb, "select('#', ('abc'):find('b')) == 2 and "
	                "('abc'):find('b') == 2");
	expect_true(sb, "select(2, ('key=val'):match('(%w+)=(%w+)')) == "
	                "'val' and ('key=val'):match('(%w+)=') == 'key'");
	expect_true(sb, "('hello world'):gsub('o', '0') == 'hell0 w0rld'");
	expect_true(sb, "select(2, ('a,b,c'):gsub(',', ';')) == 2");
	expect_true(sb, "('a  b   c'):gsub('%s+', ' ') == 'a b c'");
	expect_true(sb, "('  trim me  '):match('^%s*(.-)%s*$') == 'trim me'");
	expect_true(sb, "('[x]'):find('[]]') == 3 and ('a.b'):find('.', 1, "
	                "true) == 2 and ('a%b'):find('%%') == 2");
	expect_true(sb, "(function() local n = 0 for w in ('one two three')"
	                ":gmatch('%a+') do n = n + 1 end return n end)() == 3");
	expect_true(sb, "('SKU-123'):match('^SKU%-(%d+)$') == '123'");
	/* plain search over a large subject is fine */
	expect_true(sb, "('a'):rep(100000):find('b', 1, true) == nil and "
	                "(('a'):rep(100000) .. 'xyz'):find('xyz') == 100001");
	/* string.rep with nothing to repeat must not loop 2^63 times */
	expect_true(sb, "string.rep('', math.maxinteger) == '' and "
	                "string.rep('', 1e15, '') == ''");
	dd_sandbox_free(sb);
}

static void test_table_guard(void **state)
{
	(void)state;
	dd_sandbox *sb = new_sandbox(NULL);
	expect_error(sb, "return table.move({}, 1, math.maxinteger - 1, 2)",
	             DD_EPOLICY, "too many elements to move");
	expect_error(sb, "local t = setmetatable({}, {__len = function() "
	                 "return math.maxinteger - 1 end}) table.insert(t, 1, 1)",
	             DD_EPOLICY, "__len");
	expect_error(sb, "local t = setmetatable({}, {__len = function() "
	                 "return math.maxinteger - 1 end}) table.remove(t, 1)",
	             DD_EPOLICY, "__len");
	expect_true(sb, "(function() local t = {1, 2, 3} table.insert(t, 1, 0) "
	                "table.remove(t) return table.concat(t, ',') end)() == "
	                "'0,1,2'");
	expect_true(sb, "table.concat(table.move({1, 2, 3}, 1, 3, 2), ',') == "
	                "'1,1,2,3'");
	/* finalizers and weak tables are refused */
	expect_error(sb, "setmetatable({}, {__gc = function() end})",
	             DD_EPOLICY, "__gc is not allowed");
	expect_error(sb, "setmetatable({}, {__mode = 'k'})", DD_EPOLICY,
	             "__mode is not allowed");
	expect_error(sb, "local t = {} for i = 1, 2^17 + 1 do t[i] = i end "
	                 "table.sort(t)", DD_EPOLICY, "table.sort: at most");
	expect_true(sb, "(function() local t = {3, 1, 2} table.sort(t) "
	                "table.sort(t, function(a, b) return a > b end) "
	                "return table.concat(t, ',') end)() == '3,2,1'");
	expect_true(sb, "select('#', table.unpack({1, 2, 3})) == 3 and "
	                "utf8.len('h\\u{E9}') == 2 and tonumber('0x10') == 16 "
	                "and rawequal('a', 'a')");
	expect_true(sb, "getmetatable(setmetatable({}, {__index = {a = 1}}))"
	                ".__index.a == 1");
	dd_sandbox_free(sb);
}

static int mark_calls;

static int host_mark(lua_State *L)
{
	int *counter = lua_touserdata(L, lua_upvalueindex(1));
	(*counter)++;
	lua_pushliteral(L, "marked");
	return 1;
}

static int host_rate(lua_State *L)
{
	const int64_t *rate = lua_touserdata(L, lua_upvalueindex(1));
	lua_pushinteger(L, (lua_Integer)*rate);
	return 1;
}

static void test_error_objects(void **state)
{
	(void)state;
	dd_sandbox *sb = new_sandbox(NULL);
	mark_calls = 0;
	dd_sandbox_register(sb, "mark", host_mark, &mark_calls);
	/* __tostring, __name, __index, __concat would all run script code */
	expect_error(sb,
	             "error(setmetatable({}, {\n"
	             "  __tostring = function() dd.mark() while true do end end,\n"
	             "  __name = 'x', __index = function() dd.mark() end,\n"
	             "  __concat = function() dd.mark() end}))",
	             DD_EPOLICY, "pol:2: (error object is a table value)");
	assert_int_equal(mark_calls, 0);
	expect_error(sb, "error(nil)", DD_EPOLICY,
	             "(error object is a nil value)");
	expect_error(sb, "error(42)", DD_EPOLICY, "42");
	expect_error(sb, "error('plain', 0)", DD_EPOLICY, "pol: plain");
	expect_error(sb, "local function g(s) return (s:gsub('.', g)) end "
	                 "return g('ab')", DD_EPOLICY, "pol: C stack overflow");
	expect_error(sb, "local x = nil\nreturn x.y", DD_EPOLICY,
	             "pol:3: attempt to index a nil value (local 'x')");
	expect_error(sb, "return nosuch()", DD_EPOLICY,
	             "attempt to call a nil value (global 'nosuch')");
	/* the host function is callable from scripts */
	expect_true(sb, "dd.mark() == 'marked'");
	assert_int_equal(mark_calls, 1);
	dd_sandbox_free(sb);
}

static void test_register(void **state)
{
	(void)state;
	dd_sandbox *sb = new_sandbox(NULL);
	int64_t rate = 1250;
	dd_sandbox_register(sb, "rate", host_rate, &rate);
	int ref = load_ok(sb, "function fee(amount) return dd.bps(amount, "
	                      "dd.rate()) end\n");
	lua_State *L = dd_sandbox_lua(sb);
	dd_error err;
	assert_int_equal(dd_sandbox_push_function(sb, ref, "fee"), DD_OK);
	lua_pushinteger(L, 10000);
	assert_int_equal(dd_sandbox_call(sb, 1, 1, &err), DD_OK);
	int64_t v = 0;
	assert_int_equal(dd_sandbox_to_money(L, -1, &v), DD_OK);
	assert_int_equal(v, 1250);
	lua_pop(L, 1);
	rate = 100; /* read through the pointer at call time */
	expect_true(sb, "dd.rate() == 100");
	expect_error(sb, "dd.rate = nil", DD_EPOLICY, "read-only");
	dd_sandbox_free(sb);
}

static void test_dd_helpers(void **state)
{
	(void)state;
	dd_sandbox *sb = new_sandbox(NULL);
	lua_State *L = dd_sandbox_lua(sb);
	expect_true(sb, "dd.bps(125, 1000) == 12");
	expect_true(sb, "dd.bps(125, 1000, 'half_up') == 13");
	expect_true(sb, "dd.bps(125, 1000, 'half_even') == 12");
	expect_true(sb, "dd.bps(121, 1000, 'up') == 13");
	expect_true(sb, "dd.bps(-125, 1000, 'down') == -12");
	expect_true(sb, "dd.add(2, 3) == 5 and dd.sub(2, 3) == -1 and "
	                "dd.mul(-4, 3) == -12");
	expect_true(sb, "math.type(dd.add(2, 3)) == 'integer'");
	expect_true(sb, "dd.muldiv(10, 1, 3) == 3 and dd.muldiv(10, 1, 3, "
	                "'up') == 4");
	expect_true(sb, "dd.muldiv(math.maxinteger, 10000, 10000) == "
	                "math.maxinteger");
	expect_true(sb, "dd.format(-1205, 2) == '-12.05' and dd.format(7, 0) "
	                "== '7'");
	expect_true(sb, "dd.format_bps(2503) == '25.03%' and dd.format_bps(5) == '0.05%' "
	                "and dd.format_bps(0) == '0.00%' and dd.format_bps(10000) == '100.00%' "
	                "and dd.format_bps(-1) == '-0.01%' and dd.format_bps(-123456) == '-1234.56%'");
	expect_true(sb, "dd.format_bps(math.mininteger) == '-92233720368547758.08%' and "
	                "dd.format_bps(math.maxinteger) == '92233720368547758.07%'");
	expect_error(sb, "return dd.format_bps(1.5)", DD_EPOLICY, "format_bps");
	expect_error(sb, "return dd.format_bps('12')", DD_EPOLICY, "format_bps");
	expect_true(sb, "dd.exponent('JPY') == 0 and dd.exponent('USD') == 2 "
	                "and dd.exponent('XXX') == nil and "
	                "dd.exponent('usd') == nil and dd.exponent('USD\\0') "
	                "== nil");

	dd_error err;
	assert_int_equal(run(sb, "return dd.allocate(100, {1, 1, 1})", &err),
	                 DD_OK);
	assert_int_equal(lua_rawlen(L, -1), 3);
	static const int64_t want[] = {34, 33, 33};
	for (int i = 0; i < 3; i++) {
		lua_rawgeti(L, -1, i + 1);
		assert_true(lua_isinteger(L, -1));
		assert_int_equal(lua_tointeger(L, -1), want[i]);
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	expect_true(sb, "table.concat(dd.allocate(10, {1, 1}, {3, 10}), ',') "
	                "== '3,7'");
	expect_true(sb, "table.concat(dd.allocate(5, {0, 0}), ',') == '3,2'");

	expect_error(sb, "return dd.add(math.maxinteger, 1)", DD_EPOLICY,
	             "dd.add: amount overflows int64");
	expect_error(sb, "return dd.sub(math.mininteger, 1)", DD_EPOLICY,
	             "dd.sub: amount overflows int64");
	expect_error(sb, "return dd.mul(math.maxinteger, 2)", DD_EPOLICY,
	             "dd.mul: amount overflows int64");
	expect_error(sb, "return dd.muldiv(math.maxinteger, 3, 2)", DD_EPOLICY,
	             "dd.muldiv: amount overflows int64");
	expect_error(sb, "return dd.mul(2.0, 3)", DD_EPOLICY,
	             "dd.mul: argument #1 must be an integer");
	expect_error(sb, "return dd.add(1, '2')", DD_EPOLICY,
	             "dd.add: argument #2 must be an integer");
	expect_error(sb, "return dd.add(1)", DD_EPOLICY,
	             "dd.add: argument #2 must be an integer");
	expect_error(sb, "return dd.bps(10 / 2, 3)", DD_EPOLICY,
	             "dd.bps: argument #1 must be an integer");
	expect_error(sb, "return dd.bps(1, 1, 'sideways')", DD_EPOLICY,
	             "dd.bps: argument #3 must be a rounding mode");
	expect_error(sb, "return dd.muldiv(1, 1, 0)", DD_EPOLICY,
	             "dd.muldiv: divisor must be > 0");
	expect_error(sb, "return dd.allocate(10, {1, 1}, {3, 3})", DD_EPOLICY,
	             "caps sum to less than total");
	expect_error(sb, "return dd.allocate(-1, {1})", DD_EPOLICY,
	             "total must be >= 0");
	expect_error(sb, "return dd.allocate(1, {})", DD_EPOLICY,
	             "must not be empty");
	expect_error(sb, "return dd.allocate(1, {1.5})", DD_EPOLICY,
	             "dd.allocate: weights[1] must be an integer");
	expect_error(sb, "return dd.allocate(1, {1, -1})", DD_EPOLICY,
	             "weights[2] must be >= 0");
	expect_error(sb, "return dd.allocate(1, {1, 1}, {1})", DD_EPOLICY,
	             "as many entries");
	expect_error(sb, "return dd.allocate(1, {math.maxinteger, 1})",
	             DD_EPOLICY, "dd.allocate: amount overflows int64");
	expect_error(sb, "local w = {} for i = 1, 1001 do w[i] = 1 end "
	                 "return dd.allocate(1, w)", DD_EPOLICY, "at most");
	expect_error(sb, "return dd.format(1, 19)", DD_EPOLICY, "exponent");
	expect_error(sb, "return dd.exponent(840)", DD_EPOLICY,
	             "dd.exponent: argument #1 must be a string");
	dd_sandbox_free(sb);
}

static void test_to_money(void **state)
{
	(void)state;
	dd_sandbox *sb = new_sandbox(NULL);
	lua_State *L = dd_sandbox_lua(sb);
	int64_t v = -1;
	lua_pushinteger(L, 5);
	assert_int_equal(dd_sandbox_to_money(L, -1, &v), DD_OK);
	assert_int_equal(v, 5);
	lua_pushinteger(L, INT64_MIN);
	assert_int_equal(dd_sandbox_to_money(L, -1, &v), DD_OK);
	assert_true(v == INT64_MIN);
	v = -1;
	lua_pushnumber(L, 5.0);
	assert_int_equal(dd_sandbox_to_money(L, -1, &v), DD_EINVAL);
	lua_pushstring(L, "5");
	assert_int_equal(dd_sandbox_to_money(L, -1, &v), DD_EINVAL);
	lua_pushnil(L);
	assert_int_equal(dd_sandbox_to_money(L, -1, &v), DD_EINVAL);
	assert_int_equal(v, -1);
	lua_pop(L, 5);
	dd_sandbox_free(sb);
}

/* Every allocation point of load, lookup and call, failed one at a time:
 * each must come back as an error code, never a crash or a leak (ASan). */
static void test_fail_alloc(void **state)
{
	(void)state;
	static const char src[] =
		"local fmt = string.format\n"
		"function f(n)\n"
		"  local t = {}\n"
		"  for i = 1, n do t[i] = fmt('%d-%s', i, 'x') end\n"
		"  if n < 0 then error({}) end\n"
		"  return #t, table.concat(t, ',')\n"
		"end\n";
	dd_sandbox *sb = new_sandbox(NULL);
	lua_State *L = dd_sandbox_lua(sb);
	int top = lua_gettop(L);
	int completed = 0;
	for (long n = 0; n < 2000 && !completed; n++) {
		for (int argument = 20; argument >= -1; argument -= 21) {
			dd_error err;
			int ref = 0;
			dd_sandbox_fail_alloc_after(sb, n);
			int rc = dd_sandbox_load(sb, "pol", src, strlen(src),
			                         &ref, &err);
			if (rc != DD_OK) {
				assert_int_equal(rc, DD_ENOMEM);
				assert_int_equal(lua_gettop(L), top);
				continue;
			}
			rc = dd_sandbox_push_function(sb, ref, "f");
			if (rc == DD_OK) {
				lua_pushinteger(L, argument); /* no allocation */
				rc = dd_sandbox_call(sb, 1, 2, &err);
				if (rc == DD_OK) {
					lua_pop(L, 2);
					if (argument > 0)
						completed = 1;
				} else if (rc != DD_ENOMEM) {
					/* the script's own error(), reached */
					assert_int_equal(argument, -1);
					assert_int_equal(rc, DD_EPOLICY);
				}
			} else {
				assert_int_equal(rc, DD_ENOMEM);
			}
			assert_int_equal(lua_gettop(L), top);
			dd_sandbox_fail_alloc_after(sb, -1);
			dd_sandbox_unload(sb, ref);
		}
	}
	assert_true(completed);
	dd_sandbox_fail_alloc_after(sb, -1);
	expect_true(sb, "#string.rep('q', 100) == 100");
	dd_sandbox_free(sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_and_call),
		cmocka_unit_test(test_compile_errors),
		cmocka_unit_test(test_binary_chunk_rejected),
		cmocka_unit_test(test_absent_globals),
		cmocka_unit_test(test_libraries_read_only),
		cmocka_unit_test(test_string_metatable_hidden),
		cmocka_unit_test(test_globals_frozen),
		cmocka_unit_test(test_instruction_budget),
		cmocka_unit_test(test_pcall_cannot_swallow_kill),
		cmocka_unit_test(test_memory_budget),
		cmocka_unit_test(test_wall_clock_budget),
		cmocka_unit_test(test_deadline_in_c_work),
		cmocka_unit_test(test_pattern_guard),
		cmocka_unit_test(test_table_guard),
		cmocka_unit_test(test_error_objects),
		cmocka_unit_test(test_register),
		cmocka_unit_test(test_dd_helpers),
		cmocka_unit_test(test_to_money),
		cmocka_unit_test(test_fail_alloc),
		cmocka_unit_test(test_upvalue_assignments_refused),
		cmocka_unit_test(test_top_level_tables_frozen),
		cmocka_unit_test(test_caught_memory_refusal_fails),
		cmocka_unit_test(test_error_text_utf8),
		cmocka_unit_test(test_library_spans),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
