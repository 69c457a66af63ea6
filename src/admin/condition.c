/* dealdesk admin: the checks of a write that need Lua. The model validates
 * the fields (dd_entity_validate); a promotion's condition is then compiled
 * in a scratch sandbox to prove it is valid Lua. */
#include "admin/admin_int.h"

#include <stdio.h>
#include <string.h>

#include <lauxlib.h>

#include "policy/host.h"

/* Compiles a promotion condition (the body of function(ctx, promotion));
 * DD_EINVAL with the Lua message when it does not compile. */
static int condition_check(const char *body, const char *field, dd_error *err)
{
	char src[DD_MAX_CONDITION + 104];
	if (strlen(body) > DD_MAX_CONDITION ||
	    dd_condition_source(body, src, sizeof(src)) != DD_OK)
		return dd_error_set(err, DD_EINVAL, "%s: longer than %d bytes", field,
		                    DD_MAX_CONDITION);
	dd_sandbox *sb;
	dd_error e;
	if (dd_sandbox_new(&sb, NULL, &e) != DD_OK)
		return dd_error_set(err, e.code, "%s", e.msg);
	/* The body must be a block of its own: compiled (not run) as a chunk
	 * with ctx and promotion as its locals. A body that closes the wrapping
	 * function early ("end ... function x()") to run code at load time
	 * does not compile so, and is refused here. Only when it fails is the
	 * wrapper compiled too, to tell a plain syntax error (reported as Lua
	 * words it in the wrapper) from such a body. */
	char solo[DD_MAX_CONDITION + 64];
	int n = snprintf(solo, sizeof(solo), "local ctx, promotion = ...\n%s\n", body);
	lua_State *L = dd_sandbox_lua(sb);
	if (n < 0 || (size_t)n >= sizeof(solo) ||
	    luaL_loadbufferx(L, solo, (size_t)n, "=condition", "t") != LUA_OK) {
		if (n >= 0 && (size_t)n < sizeof(solo))
			lua_pop(L, 1);
		if (luaL_loadbufferx(L, src, strlen(src), "=condition", "t") != LUA_OK) {
			const char *why = lua_tostring(L, -1);
			dd_error_set(err, DD_EINVAL, "%s: %s", field, why ? why : "?");
		} else {
			dd_error_set(err, DD_EINVAL,
			             "%s: not a function body of its own: an 'end' closes the "
			             "condition before its text ends", field);
		}
		dd_sandbox_free(sb);
		return DD_EINVAL;
	}
	lua_pop(L, 1);
	int ref;
	int rc = dd_sandbox_load(sb, "condition", src, strlen(src), &ref, &e);
	dd_sandbox_free(sb);
	if (rc != DD_OK)
		return dd_error_set(err, DD_EINVAL, "%s: %s", field, e.msg);
	return DD_OK;
}

int admin_validate(dd_entity_kind kind, const ProtobufCMessage *m, const char *field,
                   dd_error *err)
{
	int rc = dd_entity_validate(kind, m, field, err);
	if (rc != DD_OK || kind != DD_ENTITY_PROMOTION)
		return rc;
	const Dealdesk__V1__Promotion *p = (const void *)m;
	if (p->condition == NULL || *p->condition == '\0')
		return DD_OK;
	char f[160];
	snprintf(f, sizeof(f), "%s%scondition", field, *field ? "." : "");
	return condition_check(p->condition, f, err);
}
