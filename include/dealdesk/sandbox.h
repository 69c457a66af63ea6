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
 * a CPU-time deadline (the thread's own CPU time) checked in the hook. Pattern functions refuse a
 * subject/pattern combination whose worst case exceeds a step bound, so
 * no time is spent unbounded inside C.
 */
#ifndef DEALDESK_SANDBOX_H
#define DEALDESK_SANDBOX_H

#include <stddef.h>
#include <stdint.h>

#include "dealdesk/error.h"

typedef struct dd_sandbox dd_sandbox;

typedef struct dd_sandbox_limits {
	uint64_t max_instructions; /* per call; 0 = 10,000,000 */
	size_t max_memory;         /* bytes a call may add; 0 = 32 MiB */
	uint32_t max_millis;       /* thread CPU time per call; 0 = 250 ms */
	size_t max_source;         /* script bytes; 0 = 256 KiB */
} dd_sandbox_limits;

/* Creates a state with the safe libraries and the `dd` money helpers. */
int dd_sandbox_new(dd_sandbox **out, const dd_sandbox_limits *limits,
                   dd_error *err);
void dd_sandbox_free(dd_sandbox *sb);

/* The Lua state itself, host functions, views and money readers are for
 * the engines that run policies: src/policy/host.h (it includes <lua.h>,
 * which no public header does). */

/* Compiles src as a text chunk named `name` (errors read "name:LINE: ..."),
 * runs its top level under the budgets in a fresh environment, then makes
 * that environment read-only. *ref identifies the loaded script. DD_EINVAL
 * for a syntax error or binary chunk, DD_EPOLICY / DD_EBUDGET when the top
 * level fails. */
int dd_sandbox_load(dd_sandbox *sb, const char *name, const char *src,
                    size_t len, int *ref, dd_error *err);
void dd_sandbox_unload(dd_sandbox *sb, int ref);

/* Does loaded script ref define function `fname`? */
int dd_sandbox_has_function(dd_sandbox *sb, int ref, const char *fname);

/* Bytes the state holds now; how many budget trips since creation. */
size_t dd_sandbox_memory(const dd_sandbox *sb);

/* For tests (Lua's ltests.c idea): after `n` more allocations, fail them. -1
 * turns this off. */
void dd_sandbox_fail_alloc_after(dd_sandbox *sb, long n);

#endif
