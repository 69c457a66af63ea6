/* dealdesk policy: the host side of the sandbox, for the engines that run
 * policies (src/quote). Includes <lua.h>, so it is not a public header.
 *
 * Everything an engine hands to a script goes through here:
 *   - read-only views: userdata whose fields a C class reads from the
 *     engine's own state when the script asks (nothing is copied, nothing
 *     can be written, and a view kept past its evaluation refuses to be
 *     read);
 *   - host functions charging the instruction budget for the work they do
 *     in C;
 *   - the sandbox's state for pushing arguments and reading results (with
 *     raw access only: see the readers in src/quote/readers.c).
 */
#ifndef DD_POLICY_HOST_H
#define DD_POLICY_HOST_H

#include <stddef.h>
#include <stdint.h>

#include <lua.h>

#include "dealdesk/sandbox.h"

/* The state, for pushing arguments and reading results. Owned by sb. */
lua_State *dd_sandbox_lua(dd_sandbox *sb);

/* Adds a host function to the `dd` table visible to every script; the
 * light userdata ud is its first upvalue. Call before loading scripts. */
void dd_sandbox_register(dd_sandbox *sb, const char *name, lua_CFunction fn,
                         void *ud);

/* Reads a money value: must be a Lua integer (not a float, not a string).
 * DD_EINVAL otherwise. */
int dd_sandbox_to_money(lua_State *L, int idx, int64_t *out);

/* Pushes global `fname` of a loaded script. DD_ENOTFOUND (nothing pushed)
 * when it is absent or not a function. */
int dd_sandbox_push_function(dd_sandbox *sb, int ref, const char *fname);

/* Calls the function below nargs arguments on the stack, under the budgets,
 * leaving nresults results. On failure the stack is as before the function
 * was pushed and err holds "name:LINE: message" (DD_EPOLICY) or the budget
 * that tripped (DD_EBUDGET). */
int dd_sandbox_call(dd_sandbox *sb, int nargs, int nresults, dd_error *err);

/* Charges `work` instructions to the running call's budget (a host
 * primitive doing that much in C). Past the budget it raises the budget
 * error, which the script cannot catch. A no-op outside budgeted calls. */
void dd_sandbox_charge(lua_State *L, uint64_t work);

/* The one rule for text that leaves the sandbox (README "Policy sandbox"):
 * copies s (len bytes) into out (size bytes, NUL-terminated) as valid
 * UTF-8, each byte that does not begin a well-formed sequence and each NUL
 * replaced by U+FFFD, cut on a character boundary to fit. Returns the
 * bytes written. */
size_t dd_sandbox_clean_text(char *out, size_t size, const char *s, size_t len);

/* ---- read-only views ----------------------------------------------------- */

/* What a view shows. `obj` is the engine's state, `a` and `b` select the
 * part (a line number, a competitor of that line...). Callbacks run inside
 * the script's protected call: they may raise Lua errors. */
typedef struct dd_sandbox_view_class {
	const char *name; /* in messages: "ctx", "ctx.lines[i]" */
	/* Pushes field `key` and returns 1, or returns 0 for nil. */
	int (*field)(lua_State *L, void *obj, uint32_t a, uint32_t b,
	             const char *key, size_t len);
	/* Arrays: pushes element i (1-based) and returns 1, or 0 for nil. */
	int (*item)(lua_State *L, void *obj, uint32_t a, uint32_t b,
	            lua_Integer i);
	/* Arrays: the length (#view). */
	lua_Integer (*length)(void *obj, uint32_t a, uint32_t b);
	/* Maps: pushes the key and value of the first entry at position >=
	 * *pos (0-based), sets *pos to its position and returns 1, or returns
	 * 0 past the end; used by pairs(view). Arrays iterate with
	 * item/length. */
	int (*entry)(lua_State *L, void *obj, uint32_t a, uint32_t b,
	             size_t *pos);
} dd_sandbox_view_class;

/* Pushes a view of obj (allocates: call it inside a protected call, e.g.
 * from a view callback or a host function). It stays readable while
 * *generation holds the value it has now (the engine bumps it when an
 * evaluation ends); generation NULL = always. */
void dd_sandbox_push_view(lua_State *L, const dd_sandbox_view_class *cls, void *obj,
                  uint32_t a, uint32_t b, const uint64_t *generation);

/* Pushes a read-only proxy of the table at idx: reads go to the table
 * (a table lookup, no C call), writes raise "<name> is read-only", # and
 * pairs() see the table's contents, getmetatable gives false and the
 * metatable cannot be replaced. Scripts have no rawset. The host keeps the
 * table itself out of every script's reach. Allocates: protected calls
 * only. */
void dd_sandbox_push_proxy(lua_State *L, int idx, const char *name);

/* Creates a view that lives as long as the sandbox (generation NULL) and
 * anchors it in the registry: *ref, to push with lua_rawgeti without
 * allocating. Protected; DD_ENOMEM on failure. */
int dd_sandbox_view_ref(dd_sandbox *sb, const dd_sandbox_view_class *cls, void *obj,
                uint32_t a, uint32_t b, int *ref);
void dd_sandbox_view_unref(dd_sandbox *sb, int ref);

#endif
