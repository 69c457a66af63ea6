/* dealdesk quote: Lua conversion helpers. */
#include "luaconv.h"

#include <string.h>

#include "dealdesk/admin.h"

int lc_int_field(lua_State *L, int idx, const char *k, int64_t dflt, int64_t *out)
{
	int t = lc_raw(L, idx, k);
	int ok = 1;
	if (t == LUA_TNIL)
		*out = dflt;
	else if (lua_isinteger(L, -1))
		*out = (int64_t)lua_tointeger(L, -1);
	else
		ok = 0;
	lua_pop(L, 1);
	return ok;
}

int lc_str_field(lua_State *L, int idx, const char *k, const char *dflt,
                 size_t max, dd_arena *arena, const char **out)
{
	int t = lc_raw(L, idx, k);
	int ok = 1;
	if (t == LUA_TNIL) {
		*out = dflt;
	} else if (t == LUA_TSTRING) {
		size_t len;
		const char *s = lua_tolstring(L, -1, &len);
		if (len > max || memchr(s, '\0', len) || !dd_utf8_valid(s, len))
			ok = 0;
		else if ((*out = dd_arena_strndup(arena, s, len)) == NULL)
			ok = 0;
	} else {
		ok = 0;
	}
	lua_pop(L, 1);
	return ok;
}

void lc_push_set(lua_State *L, char **items, size_t n)
{
	if (n == 0) {
		lua_pushnil(L);
		return;
	}
	lua_createtable(L, 0, (int)n);
	for (size_t i = 0; i < n; i++) {
		lua_pushboolean(L, 1);
		lua_setfield(L, -2, items[i]);
	}
}
