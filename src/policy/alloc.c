/* dealdesk policy: the allocator of a sandbox's Lua state, which counts
 * every byte and enforces the memory budgets, and its panic handler
 * (src/policy/sandbox_int.h). */
#define _GNU_SOURCE /* mremap */
#include "policy/sandbox_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "policy/policy_int.h"

/* A refused growth during a call. Lua answers it with one emergency
 * collection and the same request again: if that succeeds the call goes
 * on as if nothing happened; otherwise (a different request comes next, or
 * the call ends) the call had memory refused, and fails with the memory
 * budget however the script handled the error. */
static void *refuse(dd_sandbox *sb, const void *ptr, size_t osize, size_t nsize)
{
	if (!sb->limit_on)
		return NULL;
	if (sb->refusal_pending)
		sb->mem_refused = 1; /* the retry failed as well */
	sb->refusal_pending = 1;
	sb->refused_ptr = ptr;
	sb->refused_osize = osize;
	sb->refused_nsize = nsize;
	return NULL;
}

/* Blocks of at least BIG_BLOCK bytes (a hostile script's string buffers
 * and huge tables) are mapped pages of their own, so freeing one gives it
 * back to the system at once: with malloc they stayed in the C library's
 * heaps, and a server that had run a memory bomb kept its high mark. */
#define BIG_BLOCK ((size_t)256 * 1024)

static size_t page_round(size_t n)
{
	return (n + 4095) & ~(size_t)4095;
}

static void block_free(void *p, size_t size)
{
	if (size >= BIG_BLOCK)
		munmap(p, page_round(size));
	else
		free(p);
}

/* realloc for the two kinds of blocks; osize 0 when p is NULL */
static void *block_realloc(void *p, size_t osize, size_t nsize)
{
	if (osize < BIG_BLOCK && nsize < BIG_BLOCK)
		return p != NULL ? realloc(p, nsize) : malloc(nsize); /* most are new objects */
	if (osize >= BIG_BLOCK && nsize >= BIG_BLOCK) {
		if (page_round(osize) == page_round(nsize))
			return p;
		void *q = mremap(p, page_round(osize), page_round(nsize), MREMAP_MAYMOVE);
		return q == MAP_FAILED ? NULL : q;
	}
	void *q;
	if (nsize >= BIG_BLOCK) {
		q = mmap(NULL, page_round(nsize), PROT_READ | PROT_WRITE,
		         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (q == MAP_FAILED)
			return NULL;
	} else if ((q = malloc(nsize)) == NULL) {
		return NULL;
	}
	if (p != NULL) {
		memcpy(q, p, osize < nsize ? osize : nsize);
		block_free(p, osize);
	}
	return q;
}

/* Counts every byte the state holds. Growth is refused (NULL, which Lua
 * turns into LUA_ERRMEM after one emergency collection) past the hard cap,
 * or when a test asked for failures; and during a call past its memory
 * budget, for a string longer than POLICY_MAX_STRING, once the call is
 * killed, or when the deadline has passed (checked every
 * ALLOC_CLOCK_BYTES). Shrinking and freeing never fail. */
void *policy_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	dd_sandbox *sb = ud;
	size_t old = ptr != NULL ? osize : 0; /* osize is a type tag if !ptr */

	if (nsize == 0) {
		if (ptr != NULL)
			block_free(ptr, old);
		sb->in_use -= old;
		return NULL;
	}
	if (nsize > old) {
		size_t grow = nsize - old;
		if (sb->refusal_pending) {
			/* the retry of the refused request, or something else: then
			 * the refusal raised its error (which the script may have
			 * caught) */
			if (ptr != sb->refused_ptr || osize != sb->refused_osize ||
			    nsize != sb->refused_nsize)
				sb->mem_refused = 1;
			sb->refusal_pending = 0;
		}
		if (sb->fail_after == 0) {
			sb->fail_hit = 1;
			return NULL;
		}
		if (sb->fail_after > 0)
			sb->fail_after--;
		if (sb->in_use > sb->hard_cap ||
		    grow > sb->hard_cap - sb->in_use)
			return refuse(sb, ptr, osize, nsize);
		if (sb->limit_on && !sb->in_msgh) {
			if (sb->killed != KILL_NONE)
				return NULL;
			if (sb->in_use > sb->call_limit ||
			    grow > sb->call_limit - sb->in_use)
				return refuse(sb, ptr, osize, nsize);
			/* new string object: osize is its type tag */
			if (ptr == NULL && osize == LUA_TSTRING &&
			    nsize > POLICY_MAX_STRING + 64) {
				sb->mem_refused = sb->string_refused = 1;
				return NULL;
			}
			sb->alloc_since_clock += grow;
			if (sb->alloc_since_clock >= ALLOC_CLOCK_BYTES) {
				sb->alloc_since_clock = 0;
				if (policy_time_up(sb)) {
					policy_kill_call(sb, KILL_TIME);
					return NULL;
				}
			}
		}
	}
	void *p = block_realloc(ptr, old, nsize);
	if (p == NULL)
		return NULL;
	sb->in_use = sb->in_use - old + nsize;
	return p;
}

/* Everything runs in protected mode, so this means a bug: say so loudly
 * before Lua aborts. */
int policy_panic(lua_State *L)
{
	const char *msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1)
	                                                   : "(not a string)";
	fprintf(stderr, "dealdesk: unprotected Lua error, aborting: %s\n", msg);
	fflush(stderr);
	return 0; /* Lua calls abort() */
}
