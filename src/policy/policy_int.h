/* Private to src/policy: the pieces sandbox.c assembles into a state. Its
 * functions carry the policy_ prefix (public ones are dd_sandbox_). */
#ifndef DEALDESK_POLICY_INT_H
#define DEALDESK_POLICY_INT_H

#include <stdint.h>

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

#include <lua.h>

/* Strings a call may create are at most this long: string comparison and
 * equality are single VM instructions that take time in proportion to the
 * length, out of the count hook's sight. */
#define POLICY_MAX_STRING ((size_t)256 * 1024)

/* Library wrappers report the C work they are about to do (about one unit
 * a byte or element); past the call's deadline this raises the budget
 * error. A no-op outside budgeted calls. */
void policy_charge(lua_State *L, uint64_t work);

/* Pushes a new table holding the integer-only money helpers (the real `dd`
 * table; scripts only ever see a read-only proxy of it). */
void policy_push_ddlib(lua_State *L);

/* Replaces the C functions of the library table at idx (named lib) with
 * wrappers that charge their work, and bound those whose worst case is
 * unbounded (string.find/match/gmatch/gsub/rep,
 * table.insert/remove/move/sort). */
void policy_guard_library(lua_State *L, int idx, const char *lib);

/* Replaces global `name` (a C function) in the table at idx with a wrapper
 * that charges its work. */
void policy_guard_function(lua_State *L, int idx, const char *name);

/* Pushes setmetatable wrapped so that scripts cannot create finalizers
 * (__gc) or weak tables (__mode). The original is taken from the global
 * table. */
void policy_push_safe_setmetatable(lua_State *L);

/* watchdog.c: arms the budget hook of calls that run longer than a
 * millisecond (see there). One per sandbox, embedded in it. */
typedef struct policy_watch {
	struct policy_watch *next, *prev;
	pthread_t thread;                /* the thread of the running call */
	_Atomic uint64_t started_ns;     /* CLOCK_MONOTONIC; 0 = no call */
	_Atomic int armed;
	volatile sig_atomic_t running;
	void (*arm)(void *ud);           /* runs in the signal handler */
	void *ud;
} policy_watch;

/* Registers w (starting the watchdog on first use); 0 when no watchdog
 * could be started, and then the caller arms its hook itself. */
int policy_watch_add(policy_watch *w);
void policy_watch_remove(policy_watch *w);
/* Around an outermost budgeted call, on its thread. */
void policy_watch_begin(policy_watch *w);
void policy_watch_end(policy_watch *w);

/* Error text a call reports is cleaned (policy_text_clean) and cut to at
 * most this many bytes, so that with the names and prefixes the host adds
 * it still fits a dd_error (512 bytes) whole. */
#define POLICY_MAX_ERROR_TEXT 384

/* What a script's top level may leave behind (its tables and functions),
 * which lives as long as the script is loaded. */
#define POLICY_MAX_RETAINED ((size_t)8 * 1024 * 1024)

/* text.c: copies s (len bytes) into out (size bytes, NUL-terminated) as
 * valid UTF-8: each byte that does not begin a well-formed sequence, and
 * each NUL, becomes U+FFFD; the copy is cut on a character boundary to fit.
 * Returns the bytes written (without the NUL). */
size_t policy_text_clean(char *out, size_t size, const char *s, size_t len);

/* The number of the outermost budgeted call running (or last run) in the
 * state of L: values a library hands out that keep state of their own
 * (string.gmatch's iterator) work only in the evaluation that made them. */
uint64_t policy_evaluation(lua_State *L);

/* view.c: is the value at idx a read-only table of the host (a proxy from
 * dd_sandbox_push_proxy, a library proxy, a frozen environment)? */
int policy_readonly_table(lua_State *L, int idx);
/* The __newindex of the library proxies and of frozen environments, for
 * policy_readonly_table. */
int policy_readonly_newindex(lua_State *L);
int policy_frozen_env_newindex(lua_State *L);
/* view.c: the __len of proxies (it reads the table behind them, raw). */
int policy_proxy_len(lua_State *L);

/* persist.c: after a script's top level ran, makes everything that outlives
 * the evaluation read-only. Runs protected, with the environment at stack
 * index 1 (not yet frozen): every table reachable from its globals and
 * from the upvalues of its functions is replaced by a read-only proxy, and
 * the script is refused (a Lua error naming the function and the
 * variable) when a function that outlives the top level assigns to one of
 * its upvalues. */
int policy_persist_freeze(lua_State *L);

/* sandbox.c, for scripts.c: the registry key of the safe globals, whether
 * a call is running, the largest script. */
struct dd_sandbox;
const void *policy_safe_key(void);
int policy_sandbox_busy(const struct dd_sandbox *sb);
size_t policy_sandbox_max_source(const struct dd_sandbox *sb);

#endif
