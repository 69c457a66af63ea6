/* dealdesk policy sandbox: Lua 5.4 states in which policy scripts run.
 *
 * One dd_sandbox per worker thread, never shared. A script is compiled once
 * (text only, never bytecode) and its top level runs once in an environment
 * of its own whose globals fall back, read-only, to the safe library set:
 *   base: assert error ipairs next pairs pcall rawequal rawget rawlen select
 *         setmetatable getmetatable tonumber tostring type xpcall
 *   string (minus dump; find/match/gmatch/gsub bounded), table, math (minus
 *   random/randomseed), utf8, and `dd` (host API, see README).
 * Absent: io, os, package, require, debug, coroutine, load, loadfile,
 * dofile, loadstring, string.dump, collectgarbage, print, rawset.
 *
 * Every call into a script runs under three budgets: instructions (count
 * hook that re-arms itself, so a script's own pcall cannot swallow the
 * kill), memory (the state's allocator refuses past baseline + limit), and
 * a wall-clock deadline checked in the hook. Pattern functions refuse a
 * subject/pattern combination whose worst case exceeds a step bound, so
 * no time is spent unbounded inside C.
 */
#ifndef DEALDESK_SANDBOX_H
#define DEALDESK_SANDBOX_H

#include <stddef.h>
#include <stdint.h>

#include "dealdesk/error.h"

/* Lua's state, declared, not defined: this header does not include <lua.h>,
 * so what includes it does not get Lua's API. Code that works on the state
 * (pushing arguments, reading results) includes <lua.h> itself. */
struct lua_State;

typedef struct dd_sandbox dd_sandbox;

typedef struct dd_sandbox_limits {
	uint64_t max_instructions; /* per call; 0 = 10,000,000 */
	size_t max_memory;         /* bytes a call may add; 0 = 32 MiB */
	uint32_t max_millis;       /* wall clock per call; 0 = 250 ms */
	size_t max_source;         /* script bytes; 0 = 256 KiB */
} dd_sandbox_limits;

/* Creates a state with the safe libraries and the `dd` money helpers. */
int dd_sandbox_new(dd_sandbox **out, const dd_sandbox_limits *limits,
                   dd_error *err);
void dd_sandbox_free(dd_sandbox *sb);

/* The state, for pushing arguments and reading results. Owned by sb. */
struct lua_State *dd_sandbox_lua(dd_sandbox *sb);

/* Compiles src as a text chunk named `name` (errors read "name:LINE: ..."),
 * runs its top level under the budgets in a fresh environment, then makes
 * that environment read-only. *ref identifies the loaded script. DD_EINVAL
 * for a syntax error or binary chunk, DD_EPOLICY / DD_EBUDGET when the top
 * level fails. */
int dd_sandbox_load(dd_sandbox *sb, const char *name, const char *src,
                    size_t len, int *ref, dd_error *err);
void dd_sandbox_unload(dd_sandbox *sb, int ref);

/* Pushes global `fname` of a loaded script. DD_ENOTFOUND (nothing pushed)
 * when it is absent or not a function. */
int dd_sandbox_push_function(dd_sandbox *sb, int ref, const char *fname);

/* Calls the function below nargs arguments on the stack, under the budgets,
 * leaving nresults results. On failure the stack is as before the function
 * was pushed and err holds "name:LINE: message" (DD_EPOLICY) or the budget
 * that tripped (DD_EBUDGET). */
int dd_sandbox_call(dd_sandbox *sb, int nargs, int nresults, dd_error *err);

/* Adds a host function (a lua_CFunction) to the `dd` table visible to every
 * script; the light userdata ud is its first upvalue. Call before loading
 * scripts. */
void dd_sandbox_register(dd_sandbox *sb, const char *name, int (*fn)(struct lua_State *L),
                         void *ud);

/* Reads a money value: must be a Lua integer (not a float, not a string).
 * DD_EINVAL otherwise. */
int dd_sandbox_to_money(struct lua_State *L, int idx, int64_t *out);

/* Bytes the state holds now; how many budget trips since creation. */
size_t dd_sandbox_memory(const dd_sandbox *sb);

/* For tests (Lua's ltests.c idea): after `n` more allocations, fail them. -1
 * turns this off. */
void dd_sandbox_fail_alloc_after(dd_sandbox *sb, long n);

#endif
