/* dealdesk quote: reading what policies return, with raw access only (a
 * result's metamethods never run), and the table-driven record reader. */
#ifndef DD_QUOTE_READERS_H
#define DD_QUOTE_READERS_H

#include <stddef.h>
#include <stdint.h>

#include <lua.h>

#include "dealdesk/arena.h"

/* Setters for tables the host builds itself (no metatables), inside a
 * protected call. */
static inline void quote_set_str(lua_State *L, const char *k, const char *v)
{
	lua_pushstring(L, v ? v : "");
	lua_setfield(L, -2, k);
}

static inline void quote_set_int(lua_State *L, const char *k, int64_t v)
{
	lua_pushinteger(L, (lua_Integer)v);
	lua_setfield(L, -2, k);
}

static inline void quote_set_bool(lua_State *L, const char *k, int v)
{
	lua_pushboolean(L, v);
	lua_setfield(L, -2, k);
}

/* Pushes t[k] of the table at idx without metamethods; returns its type. */
static inline int quote_raw(lua_State *L, int idx, const char *k)
{
	idx = lua_absindex(L, idx);
	lua_pushstring(L, k);
	return lua_rawget(L, idx);
}

/* A copy of s (len bytes) in arena by the sandbox's one rule for text
 * (dd_sandbox_clean_text): valid UTF-8 without NUL, at most max bytes, cut
 * at a character boundary; invalid bytes and NULs become U+FFFD. NULL only
 * when out of memory. */
char *quote_text(dd_arena *a, const char *s, size_t len, size_t max);

/* One field of a record a policy returns. */
typedef enum quote_field_type {
	QF_INT,    /* lua integer in [min, max] -> int64_t */
	QF_STRING, /* identifier: string of at most max bytes, valid UTF-8, or
	              the record is malformed -> const char * */
	QF_TEXT,   /* free text: any string, made valid and cut to max bytes by
	              quote_text -> const char * */
	QF_BOOL,   /* any value, Lua truthiness -> int */
	QF_ENUM,   /* string naming a value of `names` (index >= 1) -> int */
} quote_field_type;

typedef struct quote_field {
	const char *name;
	quote_field_type type;
	size_t offset;      /* in the output struct */
	int required;
	int64_t min, max;   /* QF_INT bounds; QF_STRING: max bytes */
	int64_t dflt;       /* QF_INT / QF_BOOL / QF_ENUM when absent */
	const char *sdflt;  /* QF_STRING when absent */
	const char *const *names; /* QF_ENUM: NULL-terminated, [0] unused */
} quote_field;

/* Reads the table at idx into out by the field table. On failure returns
 * 0 and names the field and the reason in why. Raw access only. */
int quote_read_record(lua_State *L, int idx, const quote_field *fields, size_t nfields,
            void *out, dd_arena *arena, char *why, size_t whylen);

/* Reads field k of the table at idx as an integer (absent = dflt). Returns
 * 0 when present and not a Lua integer. */
int quote_read_int(lua_State *L, int idx, const char *k, int64_t dflt, int64_t *out);
/* Reads field k as a string copied into arena (absent = dflt), at most max
 * bytes of valid UTF-8. Returns 0 when of another type or invalid. */
int quote_read_str(lua_State *L, int idx, const char *k, const char *dflt,
                 size_t max, dd_arena *arena, const char **out);

/* Runs fn(L, ud) inside a protected call with the value on top of the
 * stack (popped) as stack index 1: reading a result pushes strings and so
 * may raise a memory error, which must not reach the panic handler. Returns
 * what fn returns, or DD_ENOMEM when the call itself failed. */
int quote_protected(lua_State *L, int (*fn)(lua_State *L, void *ud), void *ud);

/* Pushes a set {[s] = true} of n strings, or nil when n == 0. */
void quote_push_set(lua_State *L, char **items, size_t n);

#endif
