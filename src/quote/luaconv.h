/* dealdesk quote: small helpers to build Lua tables and read policy results
 * with raw access (a result table's metamethods are never run). */
#ifndef DD_QUOTE_LUACONV_H
#define DD_QUOTE_LUACONV_H

#include <stdint.h>

#include <lua.h>

#include "dealdesk/arena.h"

static inline void lc_set_str(lua_State *L, const char *k, const char *v)
{
	lua_pushstring(L, v ? v : "");
	lua_setfield(L, -2, k);
}

static inline void lc_set_int(lua_State *L, const char *k, int64_t v)
{
	lua_pushinteger(L, (lua_Integer)v);
	lua_setfield(L, -2, k);
}

static inline void lc_set_bool(lua_State *L, const char *k, int v)
{
	lua_pushboolean(L, v);
	lua_setfield(L, -2, k);
}

/* Pushes t[k] of the table at idx without metamethods; returns its type. */
static inline int lc_raw(lua_State *L, int idx, const char *k)
{
	idx = lua_absindex(L, idx);
	lua_pushstring(L, k);
	return lua_rawget(L, idx);
}

/* Reads field k of the table at idx as an integer (absent = dflt). Returns
 * 0 when present and not a Lua integer. */
int lc_int_field(lua_State *L, int idx, const char *k, int64_t dflt, int64_t *out);
/* Reads field k as a string copied into arena (absent = dflt), at most max
 * bytes of valid UTF-8. Returns 0 when of another type or invalid. */
int lc_str_field(lua_State *L, int idx, const char *k, const char *dflt,
                 size_t max, dd_arena *arena, const char **out);

/* Pushes a set {[s] = true} of n strings, or nil when n == 0. */
void lc_push_set(lua_State *L, char **items, size_t n);

#endif
