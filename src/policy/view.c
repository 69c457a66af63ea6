/* dealdesk policy: read-only views (see host.h).
 *
 * A view is a full userdata holding its class, the engine object, two
 * selectors and the generation it was made in. Every view shares one
 * metatable, kept in the registry:
 *   __index     reads a field (string key) or an element (integer key);
 *   __newindex  refuses ("ctx is read-only");
 *   __len       the length of an array view;
 *   __pairs     iterates a map view's entries or an array view's elements;
 *   __metatable hides the metatable (getmetatable returns false and
 *               setmetatable cannot replace it).
 * A userdata has no raw fields, so rawset, rawget and next cannot reach
 * the engine's state behind the class's back, and nothing a script does to
 * a view can reach the next evaluation.
 */
#include <string.h>

#include <lauxlib.h>

#include "policy/host.h"
#include "dealdesk/error.h"
#include "policy/policy_int.h"

typedef struct view {
	const dd_sandbox_view_class *cls;
	void *obj;
	uint32_t a, b;
	uint64_t generation;
	const uint64_t *current;
} view;

static const char view_meta_key = 'v';

static view *check_view(lua_State *L, int idx)
{
	view *v = lua_touserdata(L, idx);
	if (v == NULL || lua_rawlen(L, idx) != sizeof(view))
		luaL_error(L, "not a dealdesk view");
	if (v->current && *v->current != v->generation)
		luaL_error(L, "%s: this value belongs to an evaluation that has "
		              "ended", v->cls->name);
	return v;
}

static int view_index(lua_State *L)
{
	view *v = check_view(L, 1);
	int t = lua_type(L, 2);
	if (t == LUA_TSTRING && v->cls->field) {
		size_t len;
		const char *k = lua_tolstring(L, 2, &len);
		if (v->cls->field(L, v->obj, v->a, v->b, k, len))
			return 1;
	} else if (t == LUA_TNUMBER && lua_isinteger(L, 2) && v->cls->item) {
		if (v->cls->item(L, v->obj, v->a, v->b, lua_tointeger(L, 2)))
			return 1;
	}
	lua_pushnil(L);
	return 1;
}

static int view_newindex(lua_State *L)
{
	view *v = lua_touserdata(L, 1);
	return luaL_error(L, "%s is read-only", v ? v->cls->name : "view");
}

static int view_len(lua_State *L)
{
	view *v = check_view(L, 1);
	lua_Integer n = v->cls->length ? v->cls->length(v->obj, v->a, v->b) : 0;
	lua_pushinteger(L, n);
	return 1;
}

/* The iterator of pairs(view): the control variable is the position of
 * the next entry, kept as the integer upvalue; keys are what the class
 * says (names for maps, 1..n for arrays). */
static int view_next(lua_State *L)
{
	view *v = check_view(L, 1);
	lua_Integer pos = lua_tointeger(L, lua_upvalueindex(1));
	lua_pushinteger(L, pos + 1);
	lua_replace(L, lua_upvalueindex(1));
	dd_sandbox_charge(L, 1);
	if (v->cls->entry) {
		size_t at = (size_t)pos;
		if (v->cls->entry(L, v->obj, v->a, v->b, &at)) {
			lua_pushinteger(L, (lua_Integer)at + 1);
			lua_replace(L, lua_upvalueindex(1));
			return 2;
		}
	} else if (v->cls->item && v->cls->length &&
	           pos < v->cls->length(v->obj, v->a, v->b)) {
		lua_pushinteger(L, pos + 1);
		if (!v->cls->item(L, v->obj, v->a, v->b, pos + 1))
			lua_pushnil(L);
		return 2;
	}
	lua_pushnil(L);
	return 1;
}

static int view_pairs(lua_State *L)
{
	check_view(L, 1);
	lua_pushinteger(L, 0);
	lua_pushcclosure(L, view_next, 1);
	lua_pushvalue(L, 1);
	lua_pushnil(L);
	return 3;
}

static void push_metatable(lua_State *L)
{
	if (lua_rawgetp(L, LUA_REGISTRYINDEX, &view_meta_key) == LUA_TTABLE)
		return;
	lua_pop(L, 1);
	static const luaL_Reg meta[] = {
		{ "__index", view_index },
		{ "__newindex", view_newindex },
		{ "__len", view_len },
		{ "__pairs", view_pairs },
		{ NULL, NULL },
	};
	lua_createtable(L, 0, 5);
	luaL_setfuncs(L, meta, 0);
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");
	lua_pushvalue(L, -1);
	lua_rawsetp(L, LUA_REGISTRYINDEX, &view_meta_key);
}

void dd_sandbox_push_view(lua_State *L, const dd_sandbox_view_class *cls, void *obj,
                  uint32_t a, uint32_t b, const uint64_t *generation)
{
	view *v = lua_newuserdatauv(L, sizeof(view), 0);
	v->cls = cls;
	v->obj = obj;
	v->a = a;
	v->b = b;
	v->generation = generation ? *generation : 0;
	v->current = generation;
	push_metatable(L);
	lua_setmetatable(L, -2);
}

struct view_args {
	const dd_sandbox_view_class *cls;
	void *obj;
	uint32_t a, b;
};

static int make_view_ref(lua_State *L)
{
	const struct view_args *va = lua_touserdata(L, 1);
	dd_sandbox_push_view(L, va->cls, va->obj, va->a, va->b, NULL);
	lua_pushinteger(L, luaL_ref(L, LUA_REGISTRYINDEX));
	return 1;
}

int dd_sandbox_view_ref(dd_sandbox *sb, const dd_sandbox_view_class *cls, void *obj,
                uint32_t a, uint32_t b, int *ref)
{
	lua_State *L = dd_sandbox_lua(sb);
	struct view_args va = { cls, obj, a, b };
	if (!lua_checkstack(L, 4))
		return DD_ENOMEM;
	lua_pushcfunction(L, make_view_ref);
	lua_pushlightuserdata(L, &va);
	if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
		lua_pop(L, 1);
		return DD_ENOMEM;
	}
	*ref = (int)lua_tointeger(L, -1);
	lua_pop(L, 1);
	return DD_OK;
}

void dd_sandbox_view_unref(dd_sandbox *sb, int ref)
{
	if (ref > 0)
		luaL_unref(dd_sandbox_lua(sb), LUA_REGISTRYINDEX, ref);
}

/* ---- read-only proxies of tables the host owns ------------------------------ */

static int proxy_newindex(lua_State *L)
{
	return luaL_error(L, "%s is read-only",
	                  lua_isstring(L, lua_upvalueindex(1)) ? lua_tostring(L, lua_upvalueindex(1))
	                                                       : "this table");
}

/* next() over the real table held as upvalue, so pairs(proxy) never hands
 * the real table to the script. */
static int proxy_next(lua_State *L)
{
	lua_settop(L, 2);
	lua_pushvalue(L, lua_upvalueindex(1)); /* 3: the real table */
	lua_pushvalue(L, 2);                   /* the previous key */
	dd_sandbox_charge(L, 1);
	if (lua_next(L, 3))
		return 2;
	lua_pushnil(L);
	return 1;
}

int policy_proxy_len(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)lua_rawlen(L, lua_upvalueindex(1)));
	return 1;
}

static int proxy_pairs(lua_State *L)
{
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_pushcclosure(L, proxy_next, 1);
	lua_pushnil(L); /* state: unused */
	lua_pushnil(L);
	return 3;
}

void dd_sandbox_push_proxy(lua_State *L, int idx, const char *name)
{
	idx = lua_absindex(L, idx);
	luaL_checkstack(L, 4, "proxy");
	lua_createtable(L, 0, 0);          /* proxy */
	lua_createtable(L, 0, 5);          /* its metatable */
	lua_pushvalue(L, idx);
	lua_setfield(L, -2, "__index");
	lua_pushstring(L, name ? name : "this table");
	lua_pushcclosure(L, proxy_newindex, 1);
	lua_setfield(L, -2, "__newindex");
	lua_pushvalue(L, idx);
	lua_pushcclosure(L, policy_proxy_len, 1);
	lua_setfield(L, -2, "__len");
	lua_pushvalue(L, idx);
	lua_pushcclosure(L, proxy_pairs, 1);
	lua_setfield(L, -2, "__pairs");
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");
	lua_setmetatable(L, -2);
}

int policy_readonly_table(lua_State *L, int idx)
{
	idx = lua_absindex(L, idx);
	if (lua_type(L, idx) != LUA_TTABLE || !lua_getmetatable(L, idx))
		return 0;
	lua_pushliteral(L, "__newindex");
	lua_rawget(L, -2);
	lua_CFunction f = lua_tocfunction(L, -1);
	lua_pop(L, 2);
	if (f != proxy_newindex && f != policy_readonly_newindex &&
	    f != policy_frozen_env_newindex)
		return 0;
	/* the host's read-only tables hold nothing themselves (a frozen
	 * environment holds nothing once frozen) */
	lua_pushnil(L);
	if (lua_next(L, idx)) {
		lua_pop(L, 2);
		return 0;
	}
	return 1;
}
