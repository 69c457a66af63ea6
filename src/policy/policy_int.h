/* Private to src/policy: the pieces sandbox.c assembles into a state. */
#ifndef DEALDESK_POLICY_INT_H
#define DEALDESK_POLICY_INT_H

#include <lua.h>

/* Pushes a new table holding the integer-only money helpers (the real `dd`
 * table; scripts only ever see a read-only proxy of it). */
void dd_policy_push_ddlib(lua_State *L);

/* Replaces string.find/match/gmatch/gsub/rep in the real string table at idx
 * with bounded wrappers around the originals. */
void dd_policy_guard_string(lua_State *L, int idx);

/* Replaces table.insert/remove/move in the real table library at idx with
 * wrappers that refuse unbounded C loops. */
void dd_policy_guard_table(lua_State *L, int idx);

/* Pushes setmetatable wrapped so that scripts cannot create finalizers
 * (__gc) or weak tables (__mode). The original is taken from the global
 * table. */
void dd_policy_push_safe_setmetatable(lua_State *L);

#endif
