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

/* sandbox.c, for scripts.c: the registry key of the safe globals, whether
 * a call is running, the largest script. */
struct dd_sandbox;
const void *policy_safe_key(void);
int policy_sandbox_busy(const struct dd_sandbox *sb);
size_t policy_sandbox_max_source(const struct dd_sandbox *sb);

#endif
