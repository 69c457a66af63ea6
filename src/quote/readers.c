/* dealdesk quote: reading policy results (see readers.h). */
#include "readers.h"

#include <stdio.h>
#include <string.h>

#include <lauxlib.h>

#include "dealdesk/error.h"
#include "dealdesk/model.h"
#include "policy/host.h"

char *quote_text(dd_arena *a, const char *s, size_t len, size_t max)
{
	if (len <= max && memchr(s, '\0', len) == NULL && dd_utf8_valid(s, len))
		return dd_arena_strndup(a, s, len);
	/* each bad byte may grow to three (U+FFFD) */
	size_t room = len < max / 3 ? len * 3 : max;
	char *out = dd_arena_alloc(a, room + 1);
	if (out == NULL)
		return NULL;
	dd_sandbox_clean_text(out, room + 1, s, len);
	return out;
}

static int read_string(lua_State *L, size_t max, dd_arena *arena, const char **out)
{
	size_t len;
	const char *s = lua_tolstring(L, -1, &len);
	if (len > max || memchr(s, '\0', len) || !dd_utf8_valid(s, len))
		return 0;
	return (*out = dd_arena_strndup(arena, s, len)) != NULL;
}

int quote_read_record(lua_State *L, int idx, const quote_field *fields, size_t nfields,
            void *out, dd_arena *arena, char *why, size_t whylen)
{
	idx = lua_absindex(L, idx);
	if (lua_type(L, idx) != LUA_TTABLE) {
		snprintf(why, whylen, "a %s instead of a table", luaL_typename(L, idx));
		return 0;
	}
	for (size_t i = 0; i < nfields; i++) {
		const quote_field *f = &fields[i];
		char *dst = (char *)out + f->offset;
		int t = quote_raw(L, idx, f->name);
		int ok = 1;
		const char *expect = "";
		if (t == LUA_TNIL) {
			ok = !f->required;
			expect = "present";
			switch (f->type) {
			case QF_INT: *(int64_t *)dst = f->dflt; break;
			case QF_STRING:
			case QF_TEXT: *(const char **)dst = f->sdflt; break;
			case QF_BOOL:
			case QF_ENUM: *(int *)dst = (int)f->dflt; break;
			}
		} else {
			switch (f->type) {
			case QF_INT:
				expect = "an integer in range";
				ok = lua_isinteger(L, -1) && lua_tointeger(L, -1) >= f->min &&
				     lua_tointeger(L, -1) <= f->max;
				if (ok)
					*(int64_t *)dst = (int64_t)lua_tointeger(L, -1);
				break;
			case QF_STRING:
				expect = "a string of valid UTF-8 within the length limit";
				ok = t == LUA_TSTRING &&
				     read_string(L, (size_t)f->max, arena, (const char **)dst);
				break;
			case QF_TEXT: {
				expect = "a string";
				ok = t == LUA_TSTRING;
				if (ok) {
					size_t len;
					const char *s = lua_tolstring(L, -1, &len);
					*(const char **)dst = quote_text(arena, s, len, (size_t)f->max);
					ok = *(const char **)dst != NULL;
				}
				break;
			}
			case QF_BOOL:
				*(int *)dst = lua_toboolean(L, -1);
				break;
			case QF_ENUM: {
				expect = "one of the names allowed";
				ok = 0;
				if (t == LUA_TSTRING) {
					size_t len;
					const char *s = lua_tolstring(L, -1, &len);
					for (int k = 1; f->names[k]; k++)
						if (strlen(f->names[k]) == len && memcmp(f->names[k], s, len) == 0) {
							*(int *)dst = k;
							ok = 1;
							break;
						}
				}
				break;
			}
			}
		}
		lua_pop(L, 1);
		if (!ok) {
			snprintf(why, whylen, "field '%s' that is not %s", f->name, expect);
			return 0;
		}
	}
	return 1;
}

int quote_read_int(lua_State *L, int idx, const char *k, int64_t dflt, int64_t *out)
{
	int t = quote_raw(L, idx, k);
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

int quote_read_str(lua_State *L, int idx, const char *k, const char *dflt,
                 size_t max, dd_arena *arena, const char **out)
{
	int t = quote_raw(L, idx, k);
	int ok = 1;
	if (t == LUA_TNIL)
		*out = dflt;
	else if (t == LUA_TSTRING)
		ok = read_string(L, max, arena, out);
	else
		ok = 0;
	lua_pop(L, 1);
	return ok;
}

void quote_push_set(lua_State *L, char **items, size_t n)
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

struct protected_call {
	int (*fn)(lua_State *L, void *ud);
	void *ud;
	int rc;
};

static int trampoline(lua_State *L)
{
	struct protected_call *pc = lua_touserdata(L, 1);
	lua_remove(L, 1);
	pc->rc = pc->fn(L, pc->ud);
	return 0;
}

int quote_protected(lua_State *L, int (*fn)(lua_State *L, void *ud), void *ud)
{
	struct protected_call pc = { fn, ud, DD_OK };
	if (!lua_checkstack(L, 4)) {
		lua_pop(L, 1);
		return DD_ENOMEM;
	}
	lua_pushcfunction(L, trampoline);
	lua_insert(L, -2);
	lua_pushlightuserdata(L, &pc);
	lua_insert(L, -2);
	if (lua_pcall(L, 2, 0, 0) != LUA_OK) {
		lua_pop(L, 1);
		return DD_ENOMEM;
	}
	return pc.rc;
}
