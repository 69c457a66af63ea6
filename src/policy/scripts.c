/* dealdesk policy sandbox: loading scripts (see dealdesk/sandbox.h). Each
 * script is compiled as text only and runs its top level under the call
 * budgets in an environment of its own, which is then frozen: emptied into
 * a contents table behind a read-only metatable. */
#include "dealdesk/sandbox.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>

#include "policy/host.h"
#include "policy/policy_int.h"

int policy_frozen_env_newindex(lua_State *L)
{
	if (lua_type(L, 2) == LUA_TSTRING)
		return luaL_error(L, "policy globals are read-only (assignment "
		                     "to '%s')", lua_tostring(L, 2));
	return luaL_error(L, "policy globals are read-only");
}


/* Runs protected: sets a fresh environment as _ENV of the chunk at 1 and
 * returns it. */
static int make_env(lua_State *L)
{
	lua_newtable(L); /* env */
	lua_createtable(L, 0, 2);
	lua_rawgetp(L, LUA_REGISTRYINDEX, policy_safe_key());
	lua_setfield(L, -2, "__index");
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");
	lua_setmetatable(L, -2);
	lua_pushvalue(L, -1);
	if (lua_setupvalue(L, 1, 1) == NULL)
		return luaL_error(L, "sandbox: chunk has no _ENV upvalue");
	return 1;
}

/* Runs protected: freezes the environment at 1 and returns its registry
 * reference. Moving the globals out of the table itself (rather than only
 * adding __newindex) is what stops assignments to names that exist. */
static int freeze_env(lua_State *L)
{
	lua_newtable(L); /* 2: contents */
	lua_pushnil(L);
	while (lua_next(L, 1)) {
		lua_pushvalue(L, -2);
		lua_insert(L, -2);
		lua_rawset(L, 2);
	}
	lua_pushnil(L);
	while (lua_next(L, 2)) {
		lua_pop(L, 1);
		lua_pushvalue(L, -1);
		lua_pushnil(L);
		lua_rawset(L, 1);
	}
	lua_createtable(L, 0, 2); /* contents fall back to the safe globals */
	lua_rawgetp(L, LUA_REGISTRYINDEX, policy_safe_key());
	lua_setfield(L, -2, "__index");
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");
	lua_setmetatable(L, 2);

	lua_createtable(L, 0, 3);
	lua_pushvalue(L, 2);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, policy_frozen_env_newindex);
	lua_setfield(L, -2, "__newindex");
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");
	lua_setmetatable(L, 1);

	lua_pushvalue(L, 1);
	lua_pushinteger(L, luaL_ref(L, LUA_REGISTRYINDEX));
	return 1;
}

/* Pushes the contents table of the frozen environment `ref`, or nil when
 * ref is not one (already unloaded, or never ours). Raw access only. */
static void push_env_contents(lua_State *L, lua_Integer ref)
{
	if (ref <= 0 || lua_rawgeti(L, LUA_REGISTRYINDEX, ref) != LUA_TTABLE ||
	    !lua_getmetatable(L, -1)) {
		lua_pushnil(L);
		return;
	}
	lua_pushliteral(L, "__newindex");
	lua_rawget(L, -2);
	int frozen = lua_tocfunction(L, -1) == policy_frozen_env_newindex;
	lua_pop(L, 1);
	if (!frozen) {
		lua_pushnil(L);
		return;
	}
	lua_pushliteral(L, "__index");
	lua_rawget(L, -2);
}

/* A chunk that assigns _ENV could swap its environment for an unfrozen
 * table (at load or at call time). Any use of the name is refused; this
 * also catches it inside strings and comments, which is harmless. */
static int mentions_env(const char *src, size_t len)
{
	for (size_t i = 0; i + 4 <= len; i++) {
		if (memcmp(src + i, "_ENV", 4) != 0)
			continue;
		if (i > 0 && (isalnum((unsigned char)src[i - 1]) ||
		              src[i - 1] == '_'))
			continue;
		if (i + 4 < len && (isalnum((unsigned char)src[i + 4]) ||
		                    src[i + 4] == '_'))
			continue;
		return 1;
	}
	return 0;
}

int dd_sandbox_load(dd_sandbox *sb, const char *name, const char *src,
                    size_t len, int *ref, dd_error *err)
{
	lua_State *L = dd_sandbox_lua(sb);
	if (name == NULL || (src == NULL && len > 0) || ref == NULL)
		return dd_error_set(err, DD_EINVAL, "sandbox: bad arguments");
	if (src == NULL)
		src = "";
	if (policy_sandbox_busy(sb))
		return dd_error_set(err, DD_EPRECOND,
		                    "%s: cannot load a script during a call", name);
	if (len > policy_sandbox_max_source(sb))
		return dd_error_set(err, DD_EINVAL,
		                    "%s: script is %zu bytes, the limit is %zu",
		                    name, len, policy_sandbox_max_source(sb));
	int top = lua_gettop(L);
	if (!lua_checkstack(L, 4))
		return dd_error_set(err, DD_ENOMEM, "%s: out of stack", name);

	char chunkname[LUA_IDSIZE + 2];
	snprintf(chunkname, sizeof(chunkname), "=%s", name);
	/* Mode "t": binary chunks are refused by the loader itself. */
	int status = luaL_loadbufferx(L, src, len, chunkname, "t");
	if (status != LUA_OK) {
		int rc = status == LUA_ERRMEM ? DD_ENOMEM : DD_EINVAL;
		size_t mlen = 0;
		const char *raw = lua_type(L, -1) == LUA_TSTRING
		                          ? lua_tolstring(L, -1, &mlen)
		                          : "cannot compile";
		char msg[POLICY_MAX_ERROR_TEXT + 1];
		policy_text_clean(msg, sizeof(msg), raw, mlen ? mlen : strlen(raw));
		dd_error_set(err, rc, "%s", msg);
		lua_settop(L, top);
		return rc;
	}
	if (mentions_env(src, len)) { /* text only, past the loader */
		lua_settop(L, top);
		return dd_error_set(err, DD_EINVAL,
		                    "%s: policies may not use _ENV", name);
	}
	lua_pushcfunction(L, make_env);
	lua_pushvalue(L, -2);
	status = lua_pcall(L, 1, 1, 0);
	if (status != LUA_OK) {
		lua_settop(L, top);
		return dd_error_set(err, DD_ENOMEM, "%s: out of memory", name);
	}
	lua_insert(L, -2); /* env, chunk */
	size_t before = dd_sandbox_memory(sb);
	int rc = dd_sandbox_call(sb, 0, 0, err);
	if (rc != DD_OK) {
		lua_settop(L, top);
		return rc;
	}
	/* what the top level keeps lives as long as the script: bounded */
	size_t now = dd_sandbox_memory(sb);
	size_t kept = now > before ? now - before : 0;
	if (kept > POLICY_MAX_RETAINED) {
		lua_gc(L, LUA_GCCOLLECT);
		kept = dd_sandbox_memory(sb) > before ? dd_sandbox_memory(sb) - before : 0;
		if (kept > POLICY_MAX_RETAINED) {
			lua_settop(L, top);
			lua_gc(L, LUA_GCCOLLECT);
			return dd_error_set(err, DD_EBUDGET,
			                    "%s: its top level keeps %zu bytes; the memory "
			                    "budget of what a script keeps is %zu bytes",
			                    name, kept, POLICY_MAX_RETAINED);
		}
	}
	/* nothing that outlives this call may change from now on */
	lua_pushcfunction(L, policy_persist_freeze);
	lua_pushvalue(L, -2);
	status = lua_pcall(L, 1, 0, 0);
	if (status != LUA_OK) {
		size_t mlen = 0;
		const char *raw = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &mlen)
		                                                 : NULL;
		char msg[POLICY_MAX_ERROR_TEXT + 1];
		policy_text_clean(msg, sizeof(msg), raw ? raw : "out of memory", raw ? mlen : 13);
		lua_settop(L, top);
		return dd_error_set(err, status == LUA_ERRMEM ? DD_ENOMEM : DD_EINVAL,
		                    "%s: %s", name, msg);
	}
	lua_pushcfunction(L, freeze_env);
	lua_insert(L, -2);
	status = lua_pcall(L, 1, 1, 0);
	if (status != LUA_OK) {
		lua_settop(L, top);
		return dd_error_set(err, DD_ENOMEM, "%s: out of memory", name);
	}
	*ref = (int)lua_tointeger(L, -1);
	lua_settop(L, top);
	return DD_OK;
}

static int unload_env(lua_State *L)
{
	lua_Integer ref = lua_tointeger(L, 1);
	push_env_contents(L, ref);
	if (!lua_isnil(L, -1))
		luaL_unref(L, LUA_REGISTRYINDEX, (int)ref);
	return 0;
}

void dd_sandbox_unload(dd_sandbox *sb, int ref)
{
	lua_State *L = dd_sandbox_lua(sb);
	if (ref <= 0 || !lua_checkstack(L, 2))
		return;
	lua_pushcfunction(L, unload_env);
	lua_pushinteger(L, ref);
	if (lua_pcall(L, 1, 0, 0) != LUA_OK)
		lua_pop(L, 1);
}

static int lookup_function(lua_State *L)
{
	push_env_contents(L, lua_tointeger(L, 1));
	if (lua_isnil(L, -1))
		return 1;
	lua_pushstring(L, lua_touserdata(L, 2));
	lua_rawget(L, -2);
	if (!lua_isfunction(L, -1))
		lua_pushnil(L);
	return 1;
}

int dd_sandbox_push_function(dd_sandbox *sb, int ref, const char *fname)
{
	lua_State *L = dd_sandbox_lua(sb);
	if (fname == NULL || !lua_checkstack(L, 3))
		return DD_ENOTFOUND;
	lua_pushcfunction(L, lookup_function);
	lua_pushinteger(L, ref);
	lua_pushlightuserdata(L, (void *)fname);
	int status = lua_pcall(L, 2, 1, 0);
	if (status != LUA_OK) {
		lua_pop(L, 1);
		return DD_ENOMEM;
	}
	if (lua_isnil(L, -1)) {
		lua_pop(L, 1);
		return DD_ENOTFOUND;
	}
	return DD_OK;
}

int dd_sandbox_has_function(dd_sandbox *sb, int ref, const char *fname)
{
	if (dd_sandbox_push_function(sb, ref, fname) != DD_OK)
		return 0;
	lua_pop(dd_sandbox_lua(sb), 1);
	return 1;
}

