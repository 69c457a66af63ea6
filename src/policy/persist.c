/* dealdesk policy: nothing survives an evaluation.
 *
 * What a script's top level leaves behind lives as long as the script is
 * loaded: its globals (the environment, which scripts.c freezes), and
 * every table and function they reach, through fields, metatables and the
 * upvalues of functions (top-level locals captured by the script's
 * functions, and the locals of functions that made closures at the top
 * level). Once, right after the top level ran (so at upload, and when a
 * worker loads a version), before any evaluation:
 *
 *   - every table reachable from there is replaced, wherever it is
 *     reached (global, field, key, upvalue), by one read-only proxy of it
 *     (dd_sandbox_push_proxy): reads, #, pairs and ipairs work, writes
 *     raise "... is read-only"; metatables themselves stay as they are (the
 *     VM reads them raw), with their table-valued fields replaced too, and
 *     a proxy hides its table's metatable;
 *   - every Lua function reachable is inspected in its bytecode
 *     (lua_dump, parsed here): if it, or any function nested in it,
 *     assigns to one of the upvalues it shares with the top level
 *     (SETUPVAL) or to a field of one (SETTABUP, other than _ENV, whose
 *     fields are the frozen globals), the script is refused, naming the
 *     function's line and the variable.
 *
 * So the only values one evaluation can change are those it created
 * itself. Nothing of this runs during an evaluation: its cost is paid at
 * load (see README "Policy sandbox").
 */
#include <stdint.h>
#include <string.h>

#include <lauxlib.h>

#include "policy/host.h"
#include "policy/policy_int.h"

/* Tables a script may keep past its top level. Each gets a proxy (a few
 * hundred bytes): bounded so the proxies stay small next to the script. */
#define PERSIST_MAX_TABLES 20000

/* Bytecode read for one script, all its functions together: closures of
 * one big function made in a loop are each read whole, and this runs
 * outside any budget (at most some tens of ms). */
#define PERSIST_MAX_DUMP ((size_t)4 * 1024 * 1024)

/* Lua 5.4 opcodes (lopcodes.h) this file looks for, and the instruction
 * fields they use. */
#define OP_SETUPVAL 10 /* UpValue[B] := R[A] */
#define OP_SETTABUP 15 /* UpValue[A][K[B]] := RK(C) */
#define INSN_OP(i) ((i) & 0x7Fu)
#define INSN_A(i) (((i) >> 7) & 0xFFu)
#define INSN_B(i) (((i) >> 16) & 0xFFu)

/* ---- reading a dump (ldump.c's format, Lua 5.4) ---------------------------- */

typedef struct bc {
	const unsigned char *p, *end;
	int bad;
} bc;

static int bc_byte(bc *b)
{
	if (b->p >= b->end) {
		b->bad = 1;
		return 0;
	}
	return *b->p++;
}

/* dumpSize: 7 bits a byte, most significant first, the last byte has 0x80 */
static size_t bc_size(bc *b)
{
	size_t x = 0;
	int c;
	do {
		c = bc_byte(b);
		if (b->bad || x > (SIZE_MAX >> 7)) {
			b->bad = 1;
			return 0;
		}
		x = (x << 7) | (size_t)(c & 0x7f);
	} while (!(c & 0x80));
	return x;
}

static const unsigned char *bc_skip(bc *b, size_t n)
{
	const unsigned char *at = b->p;
	if ((size_t)(b->end - b->p) < n) {
		b->bad = 1;
		b->p = b->end;
		return at;
	}
	b->p += n;
	return at;
}

/* dumpString: size + 1 then the bytes; 0 for NULL */
static const unsigned char *bc_string(bc *b, size_t *len)
{
	size_t n = bc_size(b);
	*len = n ? n - 1 : 0;
	return n ? bc_skip(b, n - 1) : NULL;
}

/* One function prototype of the dump. */
typedef struct proto {
	size_t parent;                 /* index of the enclosing one; SIZE_MAX: root */
	int line;                      /* linedefined */
	const unsigned char *code;     /* ncode instructions, native order */
	size_t ncode;
	const unsigned char *upvals;   /* nupvals x (instack, idx, kind) */
	size_t nupvals;
	const unsigned char *upnames;  /* the debug section's upvalue names */
	size_t nupnames;
	const unsigned char *end;      /* of the dump */
	size_t flags;                  /* offset of its flags in the flag array */
} proto;

typedef struct dump {
	luaL_Buffer *buf;
	int started;
	proto *protos;
	size_t nprotos, cap;
	size_t nflags;
} dump;

static void parse_function(bc *b, dump *d, size_t parent, int depth)
{
	if (depth > 250 || d->nprotos >= d->cap) {
		b->bad = 1;
		return;
	}
	size_t me = d->nprotos++;
	proto *f = &d->protos[me];
	size_t len;
	memset(f, 0, sizeof(*f));
	f->parent = parent;
	bc_string(b, &len);                /* source */
	f->line = (int)bc_size(b);          /* linedefined */
	bc_size(b);                         /* lastlinedefined */
	bc_skip(b, 3);                      /* numparams, is_vararg, maxstacksize */
	f->ncode = bc_size(b);
	if (f->ncode > SIZE_MAX / 4) {
		b->bad = 1;
		return;
	}
	f->code = bc_skip(b, f->ncode * 4);
	size_t nk = bc_size(b);
	for (size_t i = 0; i < nk && !b->bad; i++) {
		switch (bc_byte(b)) {
		case 0: case 1: case 17:        /* nil, false, true */
			break;
		case 3: case 19:                /* integer, float */
			bc_skip(b, 8);
			break;
		case 4: case 20:                /* short, long string */
			bc_string(b, &len);
			break;
		default:
			b->bad = 1;
		}
	}
	f->nupvals = bc_size(b);
	if (f->nupvals > 255) {
		b->bad = 1;
		return;
	}
	f->upvals = bc_skip(b, f->nupvals * 3);
	f->flags = d->nflags;
	d->nflags += f->nupvals;
	size_t np = bc_size(b);
	for (size_t i = 0; i < np && !b->bad; i++)
		parse_function(b, d, me, depth + 1);
	if (b->bad)
		return;
	f = &d->protos[me];
	size_t nline = bc_size(b);          /* lineinfo */
	bc_skip(b, nline);
	size_t nabs = bc_size(b);           /* abslineinfo: pc, line */
	for (size_t i = 0; i < nabs && !b->bad; i++) {
		bc_size(b);
		bc_size(b);
	}
	size_t nloc = bc_size(b);           /* locvars: name, startpc, endpc */
	for (size_t i = 0; i < nloc && !b->bad; i++) {
		bc_string(b, &len);
		bc_size(b);
		bc_size(b);
	}
	f->nupnames = bc_size(b);
	f->upnames = b->p;
	f->end = b->end;
	for (size_t i = 0; i < f->nupnames && !b->bad; i++)
		bc_string(b, &len);
}

/* Name of upvalue k of f, or NULL. */
static const char *upvalue_name(const proto *f, size_t k, size_t *len)
{
	if (k >= f->nupnames)
		return NULL;
	bc b = { f->upnames, f->end, 0 };
	const unsigned char *s = NULL;
	for (size_t i = 0; i <= k; i++)
		s = bc_string(&b, len);
	return (const char *)s;
}

static int is_env(const proto *f, size_t k)
{
	size_t len;
	const char *n = upvalue_name(f, k, &len);
	return n != NULL && len == 4 && memcmp(n, "_ENV", 4) == 0;
}

/* As lstrlib's str_dump: the buffer starts at the first write, above the
 * function being dumped, so it is always on top of the stack. */
static int dump_writer(lua_State *L, const void *p, size_t sz, void *ud)
{
	dump *d = ud;
	if (!d->started) {
		d->started = 1;
		luaL_buffinit(L, d->buf);
	}
	luaL_addlstring(d->buf, p, sz);
	return 0;
}

/* Raises an error when the Lua function at idx, made at the top level
 * (so its upvalues outlive every evaluation), or a function nested in it,
 * assigns to one of them. */
static void check_function(lua_State *L, int idx, size_t *dumped)
{
	idx = lua_absindex(L, idx);
	luaL_Buffer buf;
	dump d = { &buf, 0, NULL, 0, 0, 0 };
	lua_pushvalue(L, idx);
	int rc = lua_dump(L, dump_writer, &d, 0);
	if (!d.started)
		lua_pushliteral(L, "");
	else
		luaL_pushresult(&buf);
	lua_remove(L, -2); /* the function */
	size_t len;
	const unsigned char *s = (const unsigned char *)lua_tolstring(L, -1, &len);
	if (rc != 0)
		luaL_error(L, "cannot inspect a function of the script");
	if (len > PERSIST_MAX_DUMP - *dumped)
		luaL_error(L, "its top level keeps more functions than can be inspected "
		              "(%d MiB of bytecode)", (int)(PERSIST_MAX_DUMP >> 20));
	*dumped += len;
	/* header: signature, version 5.4, format 0, LUAC_DATA, the sizes of
	 * Instruction, lua_Integer, lua_Number, then the two check values and
	 * the main function's upvalue count */
	static const unsigned char header[] = "\x1bLua\x54\x00\x19\x93\r\n\x1a\n\x04\x08\x08";
	const size_t hlen = sizeof(header) - 1;
	if (len < hlen + 17 || memcmp(s, header, hlen) != 0)
		luaL_error(L, "cannot inspect a function of the script (not Lua 5.4 bytecode)");
	bc b = { s + hlen + 16 + 1, s + len, 0 };
	/* each prototype takes at least 8 bytes of the dump */
	d.cap = len / 8 + 1;
	d.protos = lua_newuserdatauv(L, d.cap * sizeof(proto), 0);
	parse_function(&b, &d, SIZE_MAX, 0);
	if (b.bad || d.nprotos == 0)
		luaL_error(L, "cannot inspect a function of the script (malformed dump)");
	unsigned char *flags = lua_newuserdatauv(L, d.nflags ? d.nflags : 1, 0);
	/* which upvalues of each prototype are shared with what outlives the
	 * evaluation: all of the root's; of a nested one, those that are its
	 * parent's such upvalues (instack 0) rather than the parent's locals */
	for (size_t i = 0; i < d.nprotos; i++) {
		const proto *f = &d.protos[i];
		for (size_t k = 0; k < f->nupvals; k++) {
			unsigned instack = f->upvals[3 * k], at = f->upvals[3 * k + 1];
			int shared = 1;
			if (f->parent != SIZE_MAX) {
				const proto *pf = &d.protos[f->parent];
				shared = !instack && at < pf->nupvals && flags[pf->flags + at];
			}
			flags[f->flags + k] = (unsigned char)shared;
		}
		for (size_t pc = 0; pc < f->ncode; pc++) {
			uint32_t insn;
			memcpy(&insn, f->code + 4 * pc, 4);
			unsigned op = INSN_OP(insn), k;
			if (op == OP_SETUPVAL)
				k = INSN_B(insn);
			else if (op == OP_SETTABUP)
				k = INSN_A(insn);
			else
				continue;
			if (k >= f->nupvals || !flags[f->flags + k] || is_env(f, k))
				continue;
			size_t nlen;
			const char *name = upvalue_name(f, k, &nlen);
			char shown[64];
			policy_text_clean(shown, sizeof(shown), name ? name : "?", name ? nlen : 1);
			luaL_error(L, "the function at line %d %s '%s', which outlives the "
			              "evaluation (a local of the top level, or of the function that "
			              "made it there): nothing may carry over from one evaluation to "
			              "the next",
			           f->line, op == OP_SETUPVAL ? "assigns to" : "assigns to a field of",
			           shown);
		}
	}
	lua_pop(L, 3);
}

/* ---- freezing what is reachable ------------------------------------------- */

/* Stack of policy_persist_freeze: */
#define ENV 1   /* the environment */
#define MEMO 2  /* table -> its proxy; Lua function -> true */
#define QUEUE 3 /* what was found and not yet gone through, in order */

typedef struct walk {
	lua_Integer queued;
	size_t tables;
	size_t dumped; /* bytes of bytecode read */
} walk;

/* Notes the value at idx: a table (not the host's, not seen yet) gets its
 * proxy and is queued; so is a Lua function not seen yet. */
static void discover(lua_State *L, walk *w, int idx)
{
	idx = lua_absindex(L, idx);
	int t = lua_type(L, idx);
	if (t == LUA_TTABLE) {
		if (lua_rawequal(L, idx, ENV) || policy_readonly_table(L, idx))
			return;
	} else if (t != LUA_TFUNCTION || lua_iscfunction(L, idx)) {
		return; /* C functions hold host values; userdata are views */
	}
	lua_pushvalue(L, idx);
	if (lua_rawget(L, MEMO) != LUA_TNIL) {
		lua_pop(L, 1);
		return;
	}
	lua_pop(L, 1);
	lua_pushvalue(L, idx);
	if (t == LUA_TTABLE) {
		if (++w->tables > PERSIST_MAX_TABLES)
			luaL_error(L, "its top level keeps more than %d tables",
			           PERSIST_MAX_TABLES);
		dd_sandbox_push_proxy(L, idx, "a table the top level made");
	} else {
		lua_pushboolean(L, 1);
	}
	lua_rawset(L, MEMO);
	lua_pushvalue(L, idx);
	lua_rawseti(L, QUEUE, ++w->queued);
}

/* Replaces the value on top by its proxy, if it has one. */
static void frozen(lua_State *L)
{
	if (lua_type(L, -1) != LUA_TTABLE)
		return;
	lua_pushvalue(L, -1);
	if (lua_rawget(L, MEMO) == LUA_TTABLE)
		lua_replace(L, -2);
	else
		lua_pop(L, 1);
}

/* Finds what the table at idx holds; then writes back each table value as
 * its proxy (an existing key: allowed while lua_next walks) and moves
 * table keys to their proxies afterwards. */
static void go_through_table(lua_State *L, walk *w, int idx)
{
	idx = lua_absindex(L, idx);
	lua_newtable(L);
	int moves = lua_gettop(L);
	lua_Integer nmoves = 0;
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		discover(L, w, -2);
		discover(L, w, -1);
		frozen(L);
		lua_pushvalue(L, -2);
		lua_insert(L, -2);
		lua_rawset(L, idx); /* t[k] = frozen(v) */
		if (lua_type(L, -1) == LUA_TTABLE) {
			lua_pushvalue(L, -1);
			lua_rawseti(L, moves, ++nmoves);
		}
	}
	for (lua_Integer i = 1; i <= nmoves; i++) {
		lua_rawgeti(L, moves, i);        /* k */
		lua_pushvalue(L, -1);
		lua_rawget(L, idx);              /* k v */
		lua_pushvalue(L, -2);
		lua_pushnil(L);
		lua_rawset(L, idx);              /* t[k] = nil */
		lua_pushvalue(L, -2);
		frozen(L);                       /* k v k' */
		lua_insert(L, -2);
		lua_rawset(L, idx);              /* t[k'] = v */
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	if (lua_getmetatable(L, idx)) {
		/* the metatable stays itself (the VM reads it raw), its fields
		 * are gone through like any table's */
		discover(L, w, -1);
		lua_pop(L, 1);
	}
}

static void go_through_function(lua_State *L, walk *w, int idx)
{
	idx = lua_absindex(L, idx);
	check_function(L, idx, &w->dumped);
	for (int i = 1; lua_getupvalue(L, idx, i) != NULL; i++) {
		discover(L, w, -1);
		if (lua_type(L, -1) == LUA_TTABLE && !lua_rawequal(L, -1, ENV)) {
			frozen(L);
			lua_setupvalue(L, idx, i);
		} else {
			lua_pop(L, 1);
		}
	}
}

int policy_persist_freeze(lua_State *L)
{
	walk w = { 0, 0, 0 };
	luaL_checkstack(L, 16, "freezing");
	lua_settop(L, ENV);
	lua_newtable(L); /* MEMO */
	lua_newtable(L); /* QUEUE */
	/* the globals: discovered first, then written back as proxies */
	lua_pushnil(L);
	while (lua_next(L, ENV)) {
		discover(L, &w, -1);
		frozen(L);
		lua_pushvalue(L, -2);
		lua_insert(L, -2);
		lua_rawset(L, ENV);
	}
	for (lua_Integer i = 1; i <= w.queued; i++) {
		lua_rawgeti(L, QUEUE, i);
		if (lua_type(L, -1) == LUA_TTABLE)
			go_through_table(L, &w, -1);
		else
			go_through_function(L, &w, -1);
		lua_pop(L, 1);
		lua_pushnil(L);
		lua_rawseti(L, QUEUE, i);
	}
	return 0;
}
