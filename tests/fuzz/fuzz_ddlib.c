/* Fuzz target: the `dd` host API and the sandbox boundary
 * (src/policy/ddlib.c, view.c, sandbox.c, scripts.c), with fuzzed scripts.
 *
 * Input: a Lua script. It is loaded as a policy is (dd_sandbox_load: text
 * only, top level under the budgets, environment frozen); when it defines
 * f, f(ctx, data) is called under the budgets, ctx a read-only view of a
 * small order (total, currency, lines[i].sku / quantity, customer) and
 * data a read-only proxy of a host table; f's result is read back as the
 * engines do (quote_protected + quote_read_record, raw access only). The
 * budgets are cut down (100,000 instructions, 4 MiB, 20 ms) so that a
 * script that loops costs milliseconds.
 * Checked besides the sanitizers: no Lua error reaches the panic handler
 * (it aborts); every call returns one of the documented codes with a
 * message; the stack is as it was; the state's memory, collected, stays
 * within one call's budget of where it started, input after input. */
#include <string.h>

#include <lauxlib.h>

#include "dealdesk/model.h"
#include "fuzz.h"
#include "policy/host.h"
#include "quote/readers.h"

typedef struct fuzz_line {
	const char *sku;
	int64_t quantity;
} fuzz_line;

static const fuzz_line LINES[] = { { "SKU-1", 2 }, { "SKU-\xc3\xa9", 1 }, { "", 1000000 } };
#define NLINES 3

static int line_field(lua_State *L, void *obj, uint32_t a, uint32_t b, const char *key,
                      size_t len)
{
	if (a >= NLINES)
		return 0;
	if (strcmp(key, "sku") == 0) {
		lua_pushstring(L, LINES[a].sku);
		return 1;
	}
	if (strcmp(key, "quantity") == 0) {
		lua_pushinteger(L, LINES[a].quantity);
		return 1;
	}
	return 0;
}

static const dd_sandbox_view_class line_class = { "ctx.lines[i]", line_field, NULL, NULL, NULL };

static uint64_t generation = 1; /* bumped after each evaluation */

static int lines_item(lua_State *L, void *obj, uint32_t a, uint32_t b, lua_Integer i)
{
	if (i < 1 || i > NLINES)
		return 0;
	dd_sandbox_push_view(L, &line_class, obj, (uint32_t)(i - 1), 0, &generation);
	return 1;
}

static lua_Integer lines_length(void *obj, uint32_t a, uint32_t b)
{
	return NLINES;
}

static const dd_sandbox_view_class lines_class = { "ctx.lines", NULL, lines_item, lines_length,
	                                           NULL };

static int ctx_field(lua_State *L, void *obj, uint32_t a, uint32_t b, const char *key,
                     size_t len)
{
	if (strcmp(key, "total") == 0) {
		lua_pushinteger(L, INT64_MAX - 5);
		return 1;
	}
	if (strcmp(key, "currency") == 0) {
		lua_pushliteral(L, "EUR");
		return 1;
	}
	if (strcmp(key, "lines") == 0) {
		dd_sandbox_push_view(L, &lines_class, obj, 0, 0, &generation);
		return 1;
	}
	if (strcmp(key, "customer") == 0) {
		lua_pushliteral(L, "C-\xe2\x82\xac");
		return 1;
	}
	return 0;
}

static const dd_sandbox_view_class ctx_class = { "ctx", ctx_field, NULL, NULL, NULL };

#define FUZZ_MAX_MEMORY ((size_t)4 << 20)

static dd_sandbox *sb;
static int ctx_ref, data_ref;
static size_t baseline;

static int make_data(lua_State *L)
{
	lua_createtable(L, 3, 3);
	for (int i = 1; i <= 3; i++) {
		lua_pushinteger(L, i * 100);
		lua_rawseti(L, -2, i);
	}
	lua_pushliteral(L, "half_even");
	lua_setfield(L, -2, "mode");
	lua_pushinteger(L, INT64_MIN);
	lua_setfield(L, -2, "min");
	lua_createtable(L, 2, 0);
	lua_pushinteger(L, 1);
	lua_rawseti(L, -2, 1);
	lua_pushinteger(L, 3);
	lua_rawseti(L, -2, 2);
	lua_setfield(L, -2, "weights");
	int t = lua_gettop(L);
	dd_sandbox_push_proxy(L, t, "data");
	lua_pushinteger(L, luaL_ref(L, LUA_REGISTRYINDEX));
	lua_pushinteger(L, luaL_ref(L, LUA_REGISTRYINDEX)); /* the table, kept */
	lua_pop(L, 1);
	return 1;
}

static void setup(void)
{
	if (sb != NULL)
		return;
	dd_sandbox_limits lim = { .max_instructions = 100000, .max_memory = FUZZ_MAX_MEMORY,
		                  .max_millis = 20, .max_source = 64 * 1024 };
	dd_error err;
	FUZZ_CHECK(dd_sandbox_new(&sb, &lim, &err) == DD_OK, "dd_sandbox_new: %s", err.msg);
	FUZZ_CHECK(dd_sandbox_view_ref(sb, &ctx_class, NULL, 0, 0, &ctx_ref) == DD_OK, "ctx view");
	lua_State *L = dd_sandbox_lua(sb);
	lua_pushcfunction(L, make_data);
	FUZZ_CHECK(lua_pcall(L, 0, 1, 0) == LUA_OK, "data proxy");
	data_ref = (int)lua_tointeger(L, -1);
	lua_pop(L, 1);
	lua_gc(L, LUA_GCCOLLECT);
	baseline = dd_sandbox_memory(sb);
}

static int code_ok(int rc)
{
	return rc == DD_OK || rc == DD_EINVAL || rc == DD_EPOLICY || rc == DD_EBUDGET ||
	       rc == DD_ENOMEM;
}

typedef struct result_read {
	dd_arena *arena;
} result_read;

static int read_result(lua_State *L, void *ud)
{
	static const quote_field fields[] = {
		{ "unit_price", QF_INT, 0, 0, INT64_MIN, INT64_MAX, 0, NULL, NULL },
		{ "reason", QF_TEXT, sizeof(int64_t), 0, 0, 512, 0, "", NULL },
	};
	struct {
		int64_t unit_price;
		const char *reason;
	} a;
	char why[160];
	dd_arena *arena = ((result_read *)ud)->arena;
	quote_read_record(L, 1, fields, 2, &a, arena, why, sizeof(why));
	if (lua_type(L, 1) == LUA_TTABLE) {
		lua_Integer n = (lua_Integer)lua_rawlen(L, 1);
		for (lua_Integer i = 1; i <= n && i <= 4; i++) {
			lua_rawgeti(L, 1, i);
			quote_read_record(L, -1, fields, 2, &a, arena, why, sizeof(why));
			lua_pop(L, 1);
		}
	} else if (lua_type(L, 1) == LUA_TSTRING) {
		size_t len;
		const char *s = lua_tolstring(L, 1, &len);
		const char *t = quote_text(arena, s, len, 512);
		FUZZ_CHECK(t == NULL || dd_utf8_valid(t, strlen(t)), "quote_text: invalid UTF-8");
	}
	return DD_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	setup();
	lua_State *L = dd_sandbox_lua(sb);
	int top = lua_gettop(L);
	dd_error err;
	dd_error_clear(&err);
	int ref = 0;
	int rc = dd_sandbox_load(sb, "fuzz", (const char *)data, size, &ref, &err);
	FUZZ_CHECK(code_ok(rc), "dd_sandbox_load: %d (%s)", rc, err.msg);
	FUZZ_CHECK(rc == DD_OK || err.msg[0] != '\0', "dd_sandbox_load: %d without a message", rc);
	FUZZ_CHECK(lua_gettop(L) == top, "dd_sandbox_load left the stack at %d", lua_gettop(L));
	if (rc != DD_OK)
		goto collect;
	if (dd_sandbox_push_function(sb, ref, "f") == DD_OK) {
		FUZZ_CHECK(lua_checkstack(L, 4), "stack");
		lua_rawgeti(L, LUA_REGISTRYINDEX, ctx_ref);
		lua_rawgeti(L, LUA_REGISTRYINDEX, data_ref);
		dd_error_clear(&err);
		rc = dd_sandbox_call(sb, 2, 1, &err);
		FUZZ_CHECK(code_ok(rc), "dd_sandbox_call: %d (%s)", rc, err.msg);
		FUZZ_CHECK(rc == DD_OK || err.msg[0] != '\0', "dd_sandbox_call: %d without a message",
		           rc);
		if (rc == DD_OK) {
			dd_arena arena;
			dd_arena_init(&arena, 4096, 1u << 20);
			result_read rr = { &arena };
			rc = quote_protected(L, read_result, &rr);
			FUZZ_CHECK(rc == DD_OK || rc == DD_ENOMEM, "quote_protected: %d", rc);
			dd_arena_free(&arena);
		}
		FUZZ_CHECK(lua_gettop(L) == top, "the call left the stack at %d", lua_gettop(L));
	}
	generation++;
	dd_sandbox_unload(sb, ref);
collect:
	lua_gc(L, LUA_GCCOLLECT);
	/* Lua frees the CallInfo list of a deep recursion half per collection:
	 * what a call leaves settles below one call's budget, never above */
	FUZZ_CHECK(dd_sandbox_memory(sb) < baseline + FUZZ_MAX_MEMORY + (1u << 20),
	           "the state holds %zu bytes after the script, %zu before any",
	           dd_sandbox_memory(sb), baseline);
	return 0;
}
