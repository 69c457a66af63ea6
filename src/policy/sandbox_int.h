/* dealdesk policy: the sandbox's state, shared by its call machinery
 * (sandbox.c) and its allocator (alloc.c). Private to src/policy. */
#ifndef DD_POLICY_SANDBOX_INT_H
#define DD_POLICY_SANDBOX_INT_H

#include <stddef.h>
#include <stdint.h>

#include <lua.h>

#include "dealdesk/sandbox.h"
#include "policy/policy_int.h" /* policy_watch */

/* During a call the clock is also read after this many bytes allocated:
 * building big strings and tables is C work the hook cannot see. */
#define ALLOC_CLOCK_BYTES ((size_t)1024 * 1024)

enum kill_reason { KILL_NONE, KILL_INSTRUCTIONS, KILL_TIME };

struct dd_sandbox {
	lua_State *L;
	dd_sandbox_limits lim;

	/* allocator */
	size_t in_use;      /* bytes held by the state now */
	size_t hard_cap;    /* never more than this */
	size_t call_limit;  /* during a call: in_use at its start + max_memory */
	size_t call_start;  /* in_use when the outermost call began */
	long fail_after;    /* growing allocations left before injected
	                       failures; -1 off */
	int limit_on;       /* a budgeted call is running: call_limit applies */
	int in_msgh;        /* the message handler may pass call_limit */
	int mem_refused;    /* this call had an allocation refused for good */
	/* the last refusal, which Lua retries once after an emergency
	 * collection: it counts only if the retry fails too */
	int refusal_pending;
	const void *refused_ptr;
	size_t refused_osize, refused_nsize;
	int string_refused; /* ... because a string was too long */
	int fail_hit;       /* an injected failure happened */
	size_t alloc_since_clock; /* bytes allocated since the clock was read */
	uint64_t work_since_clock; /* policy_charge work since then */

	/* per-call budget */
	uint64_t evaluation; /* outermost calls made so far */
	int depth;          /* dd_sandbox_call nesting (host -> script) */
	int hook_step;
	uint64_t instructions;
	uint64_t deadline_ns;  /* thread CPU time; 0 = not read yet */
	unsigned hook_calls;
	enum kill_reason killed;

	/* the hook is armed late, by the watchdog (watchdog.c) */
	policy_watch watch;
	int watched;        /* registered with a running watchdog */
};

/* The sandbox of a state (its allocator's userdata). */
dd_sandbox *policy_sandbox_of(lua_State *L);
/* 1 when the running call's CPU time budget is spent (the first check
 * starts the clock). */
int policy_time_up(dd_sandbox *sb);
/* Marks the running call killed: the hook raises before every instruction
 * from now on and the allocator refuses to grow. */
void policy_kill_call(dd_sandbox *sb, enum kill_reason why);
/* lua_Alloc of every sandbox state (ud: the dd_sandbox), and its panic. */
void *policy_alloc(void *ud, void *ptr, size_t osize, size_t nsize);
int policy_panic(lua_State *L);

#endif
