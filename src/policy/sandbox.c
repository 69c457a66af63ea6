/* dealdesk policy sandbox: a Lua 5.4 state per worker, budgets per call.
 *
 * Layout of a state (everything below lives in the registry, out of any
 * script's reach):
 *   the real library tables (string, table, math, utf8, dd), some of their
 *     functions replaced by bounded wrappers (guard.c, ddlib.c);
 *   `safe`: the globals a script may read, the libraries as read-only
 *     proxies;
 *   one environment per loaded script, referenced by luaL_ref. While the
 *     top level runs, it is an ordinary table falling back to `safe`; then
 *     it is frozen: emptied into a contents table and given a metatable
 *     whose __index is the contents and whose __newindex raises.
 *
 * Time: the count hook reads the clock every HOOK_STEP instructions; the
 * allocator and the library wrappers (policy_charge) read it too, for
 * C work between hook calls.
 *
 * Every entry point that can allocate runs inside lua_pcall, so a memory
 * error (the budget, the hard cap, or dd_sandbox_fail_alloc_after) comes
 * back as a status and never reaches the panic handler.
 */
#include "dealdesk/sandbox.h"

#include <ctype.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>
#include <lualib.h>

#include "policy/host.h"
#include "policy/policy_int.h"
#include "policy/sandbox_int.h"

#define DEFAULT_MAX_INSTRUCTIONS UINT64_C(10000000)
#define DEFAULT_MAX_MEMORY ((size_t)32 * 1024 * 1024)
#define DEFAULT_MAX_MILLIS 250u
#define DEFAULT_MAX_SOURCE ((size_t)256 * 1024)

/* Instructions between two hook calls, each of which reads the clock.
 * With any count hook set Lua 5.4 traps every instruction (measured: +50%
 * on a tight loop, step 10000 or 100 alike; 100 vs 1000 about +5%). A
 * short step bounds how long instructions that are slow in C (comparing
 * long strings, next() over a large emptied table) run past the deadline
 * before the next check. */
#define HOOK_STEP 100

/* policy_charge reads the clock after this much reported work (about
 * a millisecond of C). */
#define CHARGE_CLOCK_WORK (UINT64_C(1) << 20)

/* After a call that grew the state by more than this, a full collection
 * gives the garbage back at once (normal quotes stay far below it). */
#define COLLECT_AFTER_BYTES ((size_t)4 * 1024 * 1024)

/* Outside calls only this bounds the state (compiling, host pushes). */
#define HARD_CAP_SLACK ((size_t)64 * 1024 * 1024)

#define BUDGET_ERROR "policy budget exceeded"

_Static_assert(sizeof(lua_Integer) == sizeof(int64_t),
               "money crosses as lua_Integer: it must be 64 bits");

/* Registry keys: addresses, so no string is interned to look them up. */
static const char safe_key = 's';
static const char ddlib_key = 'd';
static const char budget_msg_key = 'b';

dd_sandbox *policy_sandbox_of(lua_State *L)
{
	void *ud = NULL;
	lua_getallocf(L, &ud);
	return ud;
}

/* The time budget is the calling thread's CPU time: what the policy
 * itself spends, whatever else the machine runs (a wall clock charged a
 * policy for the time its thread waited for a core, and under a loaded
 * machine failed quotes that had done nothing wrong). Reading it is a
 * system call, so it is read only by the checks below, which run only in
 * calls that last (the hook is armed after a millisecond, the allocator
 * and the library wrappers look after a megabyte or a million units of
 * work); the budget starts at the first check, at most a millisecond or so
 * into the call. */
static uint64_t cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * UINT64_C(1000000000) + (uint64_t)ts.tv_nsec;
}

int policy_time_up(dd_sandbox *sb)
{
	uint64_t now = cpu_ns();
	if (sb->deadline_ns == 0) {
		sb->deadline_ns = now + (uint64_t)sb->lim.max_millis * UINT64_C(1000000);
		return 0;
	}
	return now >= sb->deadline_ns;
}

static size_t sat_add_size(size_t a, size_t b)
{
	size_t r;
	return __builtin_add_overflow(a, b, &r) ? SIZE_MAX : r;
}

static void budget_hook(lua_State *L, lua_Debug *ar);

/* The watchdog's signal handler: this call has run long enough to be
 * watched instruction by instruction. */
static void arm_budget_hook(void *ud)
{
	dd_sandbox *sb = ud;
	lua_sethook(sb->L, budget_hook, LUA_MASKCOUNT,
	            sb->killed == KILL_NONE ? sb->hook_step : 1);
}

/* Marks the running call killed. From now on the hook raises before every
 * instruction, so a pcall in the script that catches the error gains one
 * instruction, and the allocator refuses to grow. lua_sethook may be
 * called at any point, even from inside the allocator. */
void policy_kill_call(dd_sandbox *sb, enum kill_reason why)
{
	sb->killed = why;
	lua_sethook(sb->L, budget_hook, LUA_MASKCOUNT, 1);
}

/* ---- state setup -------------------------------------------------------- */

int policy_readonly_newindex(lua_State *L)
{
	if (lua_type(L, 2) == LUA_TSTRING)
		return luaL_error(L, "attempt to set field '%s' of a read-only "
		                     "table", lua_tostring(L, 2));
	return luaL_error(L, "attempt to modify a read-only table");
}

/* Pushes an empty table that reads through to the table at idx, refuses
 * writes, and hides its metatable. */
static void push_readonly_proxy(lua_State *L, int idx)
{
	idx = lua_absindex(L, idx);
	lua_newtable(L);
	lua_createtable(L, 0, 3);
	lua_pushvalue(L, idx);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, policy_readonly_newindex);
	lua_setfield(L, -2, "__newindex");
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");
	lua_setmetatable(L, -2);
}

static void clear_fields(lua_State *L, int idx, const char *const *names)
{
	for (; *names != NULL; names++) {
		lua_pushnil(L);
		lua_setfield(L, idx, *names);
	}
}

/* Runs protected from dd_sandbox_new. */
static int open_sandbox(lua_State *L)
{
	static const struct {
		const char *name;
		lua_CFunction open;
	} libs[] = {
		{LUA_GNAME, luaopen_base},
		{LUA_STRLIBNAME, luaopen_string},
		{LUA_TABLIBNAME, luaopen_table},
		{LUA_MATHLIBNAME, luaopen_math},
		{LUA_UTF8LIBNAME, luaopen_utf8},
	};
	static const char *const unsafe_globals[] = {
		"dofile", "loadfile", "load", "loadstring", "collectgarbage",
		"print", "rawset", "require", "module", "warn", NULL,
	};
	static const char *const safe_base[] = {
		"assert", "error", "getmetatable", "ipairs", "next", "pairs",
		"pcall", "rawequal", "rawget", "rawlen", "select", "tonumber",
		"tostring", "type", "xpcall", NULL,
	};
	static const char *const proxied_libs[] = {
		LUA_STRLIBNAME, LUA_TABLIBNAME, LUA_MATHLIBNAME,
		LUA_UTF8LIBNAME, NULL,
	};

	for (size_t i = 0; i < sizeof(libs) / sizeof(libs[0]); i++) {
		luaL_requiref(L, libs[i].name, libs[i].open, 1);
		lua_pop(L, 1);
	}
	lua_pushglobaltable(L);
	int g = lua_gettop(L);
	clear_fields(L, g, unsafe_globals);

	lua_getfield(L, g, LUA_STRLIBNAME);
	clear_fields(L, lua_gettop(L), (const char *const[]){"dump", NULL});
	policy_guard_library(L, -1, LUA_STRLIBNAME);
	lua_pop(L, 1);
	lua_getfield(L, g, LUA_TABLIBNAME);
	policy_guard_library(L, -1, LUA_TABLIBNAME);
	lua_pop(L, 1);
	lua_getfield(L, g, LUA_UTF8LIBNAME);
	policy_guard_library(L, -1, LUA_UTF8LIBNAME);
	lua_pop(L, 1);
	lua_getfield(L, g, LUA_MATHLIBNAME); /* O(1) functions: as they are */
	clear_fields(L, lua_gettop(L),
	             (const char *const[]){"random", "randomseed", NULL});
	lua_pop(L, 1);
	policy_guard_function(L, g, "tonumber");
	policy_guard_function(L, g, "rawequal");

	/* getmetatable("") must not hand out the table that every string
	 * method call goes through. */
	lua_pushliteral(L, "");
	if (!lua_getmetatable(L, -1))
		return luaL_error(L, "sandbox: strings have no metatable");
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");
	lua_pop(L, 2);

	policy_push_ddlib(L);
	lua_rawsetp(L, LUA_REGISTRYINDEX, &ddlib_key);

	lua_newtable(L); /* safe */
	int safe = lua_gettop(L);
	for (const char *const *n = safe_base; *n != NULL; n++) {
		lua_getfield(L, g, *n);
		lua_setfield(L, safe, *n);
	}
	policy_push_safe_setmetatable(L);
	lua_setfield(L, safe, "setmetatable");
	for (const char *const *n = proxied_libs; *n != NULL; n++) {
		lua_getfield(L, g, *n);
		push_readonly_proxy(L, -1);
		lua_setfield(L, safe, *n);
		lua_pop(L, 1);
	}
	lua_rawgetp(L, LUA_REGISTRYINDEX, &ddlib_key);
	push_readonly_proxy(L, -1);
	lua_setfield(L, safe, "dd");
	lua_pop(L, 1);
	lua_rawsetp(L, LUA_REGISTRYINDEX, &safe_key);

	/* Interned once and kept, so the hook can raise it without
	 * allocating. */
	lua_pushliteral(L, BUDGET_ERROR);
	lua_rawsetp(L, LUA_REGISTRYINDEX, &budget_msg_key);
	lua_settop(L, 0);
	return 0;
}

int dd_sandbox_new(dd_sandbox **out, const dd_sandbox_limits *limits,
                   dd_error *err)
{
	*out = NULL;
	dd_sandbox *sb = calloc(1, sizeof(*sb));
	if (sb == NULL)
		return dd_error_set(err, DD_ENOMEM, "sandbox: out of memory");
	if (limits != NULL)
		sb->lim = *limits;
	if (sb->lim.max_instructions == 0)
		sb->lim.max_instructions = DEFAULT_MAX_INSTRUCTIONS;
	if (sb->lim.max_memory == 0)
		sb->lim.max_memory = DEFAULT_MAX_MEMORY;
	if (sb->lim.max_millis == 0)
		sb->lim.max_millis = DEFAULT_MAX_MILLIS;
	if (sb->lim.max_source == 0)
		sb->lim.max_source = DEFAULT_MAX_SOURCE;
	size_t four = sb->lim.max_memory > SIZE_MAX / 4 ? SIZE_MAX
	                                                : sb->lim.max_memory * 4;
	sb->hard_cap = sat_add_size(four, HARD_CAP_SLACK);
	sb->fail_after = -1;
	sb->hook_step = sb->lim.max_instructions < HOOK_STEP
	                        ? (int)sb->lim.max_instructions
	                        : HOOK_STEP;

	sb->L = lua_newstate(policy_alloc, sb);
	if (sb->L == NULL) {
		free(sb);
		return dd_error_set(err, DD_ENOMEM, "sandbox: out of memory");
	}
	lua_atpanic(sb->L, policy_panic);
	sb->watch.arm = arm_budget_hook;
	sb->watch.ud = sb;
	sb->watched = policy_watch_add(&sb->watch);
	/* Generational collection: a call's garbage dies young, while scripts
	 * and the converted promotions and checks (tens of thousands of tables
	 * at scale) live long. Incremental cycles kept re-marking the long-lived
	 * part, which showed as a p99 four times the median with 10,000
	 * promotions. */
	lua_gc(sb->L, LUA_GCGEN, 0, 0);
	lua_pushcfunction(sb->L, open_sandbox);
	int status = lua_pcall(sb->L, 0, 0, 0);
	if (status != LUA_OK) {
		int rc = status == LUA_ERRMEM ? DD_ENOMEM : DD_EINTERNAL;
		const char *msg = lua_type(sb->L, -1) == LUA_TSTRING
		                          ? lua_tostring(sb->L, -1)
		                          : "setup failed";
		dd_error_set(err, rc, "sandbox: %s", msg);
		policy_watch_remove(&sb->watch);
		lua_close(sb->L);
		free(sb);
		return rc;
	}
	*out = sb;
	return DD_OK;
}

void dd_sandbox_free(dd_sandbox *sb)
{
	if (sb == NULL)
		return;
	policy_watch_remove(&sb->watch);
	lua_close(sb->L);
	free(sb);
}

lua_State *dd_sandbox_lua(dd_sandbox *sb)
{
	return sb->L;
}

size_t dd_sandbox_memory(const dd_sandbox *sb)
{
	return sb->in_use;
}

void dd_sandbox_fail_alloc_after(dd_sandbox *sb, long n)
{
	sb->fail_after = n < 0 ? -1 : n;
	sb->fail_hit = 0;
}

/* ---- budgeted calls ----------------------------------------------------- */

/* Raises the budget error without allocating (the message is interned
 * and anchored in the registry). */
static int raise_budget_error(lua_State *L)
{
	lua_rawgetp(L, LUA_REGISTRYINDEX, &budget_msg_key);
	return lua_error(L);
}

static void budget_hook(lua_State *L, lua_Debug *ar)
{
	(void)ar;
	dd_sandbox *sb = policy_sandbox_of(L);
	if (sb->killed == KILL_NONE) {
		sb->instructions += (uint64_t)sb->hook_step;
		if (sb->instructions > sb->lim.max_instructions)
			policy_kill_call(sb, KILL_INSTRUCTIONS);
		else if ((++sb->hook_calls & 15) == 0 && policy_time_up(sb)) /* the clock is a syscall */
			policy_kill_call(sb, KILL_TIME);
		else
			return;
	}
	raise_budget_error(L);
}

void policy_charge(lua_State *L, uint64_t work)
{
	dd_sandbox *sb = policy_sandbox_of(L);
	if (!sb->limit_on)
		return;
	if (sb->killed == KILL_NONE) {
		sb->work_since_clock += work;
		if (sb->work_since_clock < CHARGE_CLOCK_WORK)
			return;
		sb->work_since_clock = 0;
		if (!policy_time_up(sb))
			return;
		policy_kill_call(sb, KILL_TIME);
	}
	raise_budget_error(L);
}

void dd_sandbox_charge(lua_State *L, uint64_t work)
{
	dd_sandbox *sb = policy_sandbox_of(L);
	if (!sb->limit_on)
		return;
	if (sb->killed == KILL_NONE) {
		sb->instructions += work;
		if (sb->instructions <= sb->lim.max_instructions)
			return;
		policy_kill_call(sb, KILL_INSTRUCTIONS);
	}
	raise_budget_error(L);
}

/* lua_pcall's message handler. Turns the error object into a string
 * without calling any of its metamethods (__tostring, __name, __index):
 * they are script code that would run outside the budget's reach. */
static int sandbox_msgh(lua_State *L)
{
	dd_sandbox *sb = policy_sandbox_of(L);
	sb->in_msgh = 1;
	int type = lua_type(L, 1);
	if (type == LUA_TNUMBER) {
		lua_tostring(L, 1); /* in place, no metamethod */
	} else if (type != LUA_TSTRING) {
		/* position of the innermost Lua function, as error() adds */
		lua_Debug ar;
		int level = 1, found = 0;
		while (lua_getstack(L, level++, &ar))
			if (lua_getinfo(L, "Sl", &ar) && ar.currentline > 0) {
				found = 1;
				break;
			}
		if (found)
			lua_pushfstring(L, "%s:%d: (error object is a %s value)",
			                ar.short_src, ar.currentline,
			                luaL_typename(L, 1));
		else
			lua_pushfstring(L, "(error object is a %s value)",
			                luaL_typename(L, 1));
	}
	sb->in_msgh = 0;
	return 1;
}

/* Name of the function at idx for budget messages: the script's name for
 * script functions (their source is "=name"). */
static void function_name(lua_State *L, int idx, char *buf, size_t size)
{
	lua_Debug ar;
	if (lua_isfunction(L, idx)) {
		lua_pushvalue(L, idx);
		if (lua_getinfo(L, ">S", &ar)) {
			policy_text_clean(buf, size, ar.short_src, strlen(ar.short_src));
			return;
		}
	}
	snprintf(buf, size, "?");
}

/* A full collection, then the C library's free pages back to the system:
 * the RSS of a server that ran a hostile policy settles where it was. */
static void give_back(dd_sandbox *sb)
{
	lua_gc(sb->L, LUA_GCCOLLECT);
	malloc_trim(0);
}

int dd_sandbox_call(dd_sandbox *sb, int nargs, int nresults, dd_error *err)
{
	lua_State *L = sb->L;
	int fidx = lua_gettop(L) - nargs;
	if (nargs < 0 || fidx < 1)
		return dd_error_set(err, DD_EINVAL, "sandbox: no function to call");
	if (!lua_checkstack(L, 3)) {
		lua_settop(L, fidx - 1);
		return dd_error_set(err, DD_ENOMEM, "sandbox: out of stack");
	}
	/* a copy of the function below it, for its name should the call fail
	 * (working the name out is most of a short call's overhead) */
	lua_pushvalue(L, fidx);
	lua_insert(L, fidx);
	fidx++;

	int nested = sb->depth > 0; /* a host function calling back in:
	                               the outer call's budgets go on */
	if (!nested) {
		sb->instructions = 0;
		sb->killed = KILL_NONE;
		sb->deadline_ns = 0; /* set by the first time check */
		sb->mem_refused = sb->string_refused = 0;
		sb->refusal_pending = 0;
		sb->fail_hit = 0;
		sb->evaluation++;
		sb->alloc_since_clock = 0;
		sb->work_since_clock = 0;
		sb->call_start = sb->in_use;
		sb->call_limit = sat_add_size(sb->in_use, sb->lim.max_memory);
		sb->limit_on = 1;
		if (sb->watched)
			policy_watch_begin(&sb->watch);
		else
			lua_sethook(L, budget_hook, LUA_MASKCOUNT, sb->hook_step);
	}
	sb->depth++;
	lua_pushcfunction(L, sandbox_msgh);
	lua_insert(L, fidx);
	int status = lua_pcall(L, nargs, nresults, fidx);
	sb->depth--;
	sb->in_msgh = 0;
	if (!nested) {
		if (sb->watched)
			policy_watch_end(&sb->watch);
		lua_sethook(L, NULL, 0, 0);
		sb->limit_on = 0;
		if (sb->refusal_pending)
			sb->mem_refused = 1;
		sb->refusal_pending = 0;
	}

	/* A call that had memory refused fails even if the script caught the
	 * error: what it did after that is not what it meant to do, and
	 * catching refusals is how a script would hold on to all it may. */
	if (status == LUA_OK && sb->killed == KILL_NONE &&
	    (nested || !sb->mem_refused)) {
		lua_remove(L, fidx);     /* the message handler */
		lua_remove(L, fidx - 1); /* the copy of the function */
		/* a call that left much garbage gives it back now, so the
		 * state (and the process) does not stay at its high mark */
		if (!nested && sb->in_use > sb->call_start + COLLECT_AFTER_BYTES)
			give_back(sb);
		return DD_OK;
	}
	char name[LUA_IDSIZE];
	function_name(L, fidx - 1, name, sizeof(name));
	/* A killed call fails even if the script caught every error. */
	int rc, collect = 0;
	if (sb->killed == KILL_INSTRUCTIONS) {
		rc = dd_error_set(err, DD_EBUDGET,
		                  "%s: instruction budget exceeded (%llu)", name,
		                  (unsigned long long)sb->lim.max_instructions);
	} else if (sb->killed == KILL_TIME) {
		rc = dd_error_set(err, DD_EBUDGET,
		                  "%s: time budget exceeded (%u ms)", name,
		                  (unsigned)sb->lim.max_millis);
	} else if (sb->fail_hit) {
		rc = dd_error_set(err, DD_ENOMEM, "%s: out of memory", name);
		collect = 1;
	} else if (sb->string_refused) {
		rc = dd_error_set(err, DD_EBUDGET,
		                  "%s: memory budget exceeded (string over %zu "
		                  "bytes)", name, POLICY_MAX_STRING);
		collect = 1;
	} else if (status == LUA_ERRMEM || sb->mem_refused) {
		rc = dd_error_set(err, DD_EBUDGET,
		                  "%s: memory budget exceeded (%zu bytes)", name,
		                  sb->lim.max_memory);
		collect = 1;
	} else if (status == LUA_ERRERR) {
		rc = dd_error_set(err, DD_EPOLICY, "%s: error in error handling",
		                  name);
	} else {
		size_t len = 0;
		const char *raw = lua_type(L, -1) == LUA_TSTRING
		                          ? lua_tolstring(L, -1, &len)
		                          : NULL;
		char msg[POLICY_MAX_ERROR_TEXT + 1];
		if (raw != NULL)
			policy_text_clean(msg, sizeof(msg), raw, len);
		else
			snprintf(msg, sizeof(msg), "(error object is not a string)");
		/* errors raised in C or by error(msg, 0) carry no position:
		 * still say which script */
		size_t nl = strlen(name);
		if (strncmp(msg, name, nl) == 0 && msg[nl] == ':')
			rc = dd_error_set(err, DD_EPOLICY, "%s", msg);
		else
			rc = dd_error_set(err, DD_EPOLICY, "%s: %s", name, msg);
	}
	lua_settop(L, fidx - 2); /* with the copy of the function */
	/* Outside the budget now: give the garbage back. */
	if (!nested && (collect || sb->in_use > sb->call_start + COLLECT_AFTER_BYTES))
		give_back(sb);
	return rc;
}

/* ---- what scripts.c needs of the state -------------------------------- */

uint64_t policy_evaluation(lua_State *L)
{
	return policy_sandbox_of(L)->evaluation;
}

const void *policy_safe_key(void)
{
	return &safe_key;
}

int policy_sandbox_busy(const dd_sandbox *sb)
{
	return sb->depth > 0;
}

size_t policy_sandbox_max_source(const dd_sandbox *sb)
{
	return sb->lim.max_source;
}

/* ---- host functions, money ---------------------------------------------- */

struct register_args {
	const char *name;
	lua_CFunction fn;
	void *ud;
};

static int register_host_function(lua_State *L)
{
	const struct register_args *a = lua_touserdata(L, 1);
	lua_rawgetp(L, LUA_REGISTRYINDEX, &ddlib_key);
	lua_pushlightuserdata(L, a->ud);
	lua_pushcclosure(L, a->fn, 1);
	lua_setfield(L, -2, a->name);
	return 0;
}

void dd_sandbox_register(dd_sandbox *sb, const char *name, lua_CFunction fn,
                         void *ud)
{
	lua_State *L = sb->L;
	struct register_args a = {name, fn, ud};
	if (name == NULL || fn == NULL)
		return;
	if (!lua_checkstack(L, 2)) {
		fprintf(stderr, "dealdesk: sandbox: cannot register dd.%s: out "
		                "of stack\n", name);
		return;
	}
	lua_pushcfunction(L, register_host_function);
	lua_pushlightuserdata(L, &a);
	if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
		fprintf(stderr, "dealdesk: sandbox: cannot register dd.%s: %s\n",
		        name, lua_type(L, -1) == LUA_TSTRING
		                      ? lua_tostring(L, -1) : "error");
		lua_pop(L, 1);
	}
}

int dd_sandbox_to_money(lua_State *L, int idx, int64_t *out)
{
	if (!lua_isinteger(L, idx))
		return DD_EINVAL;
	*out = (int64_t)lua_tointeger(L, idx);
	return DD_OK;
}
