/* dealdesk admin: validated writes and reads of the entities finance and
 * compliance manage, and the policy lifecycle.
 *
 * Entity kinds, limits and field validation are the model's (model.h).
 * Every write validates all records first (naming the offending field as
 * "entries[3].unit_price: must be >= 0"; a promotion's condition is also
 * compiled, which needs Lua and so happens here) and then commits them in one
 * durable LMDB transaction: all or nothing. Messages returned by get/list
 * are allocated in the caller's arena and live as long as it.
 *
 * Writes come in two steps (below, "writes in two steps"): validate on the
 * caller's thread, apply later inside a write transaction, typically as a
 * job of the writer thread (dealdesk/writer.h). The one-call forms
 * (dd_admin_put, dd_policy_upload, ...) do both and wait, through the
 * store's writer when one runs (dd_store_write).
 */
#ifndef DEALDESK_ADMIN_H
#define DEALDESK_ADMIN_H

#include <stddef.h>
#include <stdint.h>

#include "dealdesk/arena.h"
#include "dealdesk/error.h"
#include "dealdesk/model.h"
#include "dealdesk/sandbox.h"
#include "dealdesk/store.h"
#include "dealdesk/v1/admin.pb-c.h"
#include "dealdesk/v1/types.pb-c.h"

/* ---- writes in two steps ---------------------------------------------------
 *
 * A *_prepare function validates a write (a policy upload is also compiled)
 * on the caller's thread, so bad input is refused at once, and returns it
 * as a dd_admin_write allocated in arena. dd_admin_write_apply, a
 * dd_write_fn, then applies it inside a write transaction: the checks that
 * need the stored state (a policy's status, a record to delete) happen
 * there and fail that write alone. The write points at the caller's records
 * and strings, and apply allocates what it reads in the same arena: keep
 * both alive and untouched until the write has been applied and its result
 * read. */
typedef struct dd_admin_write dd_admin_write;

int dd_admin_put_prepare(dd_entity_kind kind, ProtobufCMessage *const *items,
                         size_t n, const char *field, dd_arena *arena,
                         dd_admin_write **out, dd_error *err);
int dd_admin_delete_prepare(dd_entity_kind kind, const char *const *key,
                            dd_arena *arena, dd_admin_write **out, dd_error *err);
int dd_policy_upload_prepare(dd_policy_kind kind, const char *source, const char *author,
                             const char *comment, int64_t now,
                             const dd_sandbox_limits *limits, dd_arena *arena,
                             dd_admin_write **out, dd_error *err);
int dd_policy_review_prepare(dd_policy_kind kind, uint64_t version, int to, const char *actor,
                             const char *comment, int64_t now, dd_arena *arena,
                             dd_admin_write **out, dd_error *err);
int dd_policy_activate_prepare(dd_policy_kind kind, uint64_t version, const char *actor,
                               int require_approval, int64_t now, dd_arena *arena,
                               dd_admin_write **out, dd_error *err);
/* The principal a write is recorded as having (credit changes), unless the
 * write names its own (policy reviews). actor must outlive the write. */
void dd_admin_write_default_actor(dd_admin_write *w, const char *actor);
/* Applies write (a dd_admin_write *) in txn; DD_OK, or an error with err. */
int dd_admin_write_apply(dd_wtxn *txn, void *write, dd_error *err);
/* After a successful apply of a policy write: the version as stored (in
 * the write's arena). NULL for entity writes. */
Dealdesk__V1__PolicyScript *dd_admin_write_policy(const dd_admin_write *w);
/* Records an entity write covers (a delete: 1). */
size_t dd_admin_write_count(const dd_admin_write *w);

/* ---- one-call writes ------------------------------------------------------- */

/* Writes n records (normalized and validated first); *version gets the new
 * data version. */
int dd_admin_put(dd_store *store, dd_entity_kind kind,
                 ProtobufCMessage *const *items, size_t n, const char *field,
                 uint64_t *version, dd_error *err);
/* key parts: the entity's key fields (dd_entity(kind)->key_fields): PRICE
 * (sku, currency, price_list_id); others one (id, sku or code). */
int dd_admin_get(dd_store *store, dd_entity_kind kind, const char *const *key,
                 dd_arena *arena, ProtobufCMessage **out, dd_error *err);
int dd_admin_delete(dd_store *store, dd_entity_kind kind,
                    const char *const *key, uint64_t *version, dd_error *err);
/* Lists records whose key starts with the given parts (nparts may be 0),
 * page_size (0 = DD_PAGE_SIZE_DEFAULT, at most DD_PAGE_SIZE_MAX) at a time
 * from page_token (""/NULL = start).
 * *next_token is "" at the end. */
int dd_admin_list(dd_store *store, dd_entity_kind kind,
                  const char *const *prefix, int nparts, uint32_t page_size,
                  const char *page_token, dd_arena *arena,
                  ProtobufCMessage ***items, size_t *n, char **next_token,
                  dd_error *err);

/* ---- policies ------------------------------------------------------------ */

/* Stores a new DRAFT version after compiling it in a scratch sandbox with
 * `limits` and checking its entry function. */
int dd_policy_upload(dd_store *store, dd_policy_kind kind, const char *source,
                     const char *author, const char *comment, int64_t now,
                     const dd_sandbox_limits *limits, dd_arena *arena,
                     Dealdesk__V1__PolicyScript **out, dd_error *err);
/* version 0 = the active one. */
int dd_policy_get(dd_store *store, dd_policy_kind kind, uint64_t version, dd_arena *arena,
                  Dealdesk__V1__PolicyScript **out, dd_error *err);
int dd_policy_list(dd_store *store, dd_policy_kind kind, uint32_t page_size,
                   const char *page_token, dd_arena *arena,
                   Dealdesk__V1__PolicyScript ***items, size_t *n,
                   char **next_token, dd_error *err);
/* Review steps: to is PENDING_REVIEW (from DRAFT), APPROVED or REJECTED
 * (from PENDING_REVIEW; actor must differ from the author). */
int dd_policy_review(dd_store *store, dd_policy_kind kind, uint64_t version, int to,
                     const char *actor, const char *comment, int64_t now,
                     dd_arena *arena, Dealdesk__V1__PolicyScript **out,
                     dd_error *err);
/* Makes version active; the previous active version becomes RETIRED. With
 * require_approval only APPROVED versions qualify; REJECTED never does. */
int dd_policy_activate(dd_store *store, dd_policy_kind kind, uint64_t version,
                       const char *actor, int require_approval, int64_t now,
                       dd_arena *arena, Dealdesk__V1__PolicyScript **out,
                       dd_error *err);

/* Installs the shipped policies (policies/NAME.lua, embedded at build time) as
 * the active version of every kind that has none. */
int dd_policy_install_shipped(dd_store *store, const dd_sandbox_limits *limits,
                              int64_t now, dd_error *err);
/* The embedded source of a shipped policy kind, or NULL. */
const char *dd_policy_shipped_source(dd_policy_kind kind, size_t *len);

/* ---- API tokens ------------------------------------------------------------
 *
 * A token is a random secret ("ddt_" + 43 base64url characters, 256 bits
 * from getrandom) given to its holder once; the store keeps only its SHA-256
 * (the key of the tokens table) with the name, role, creator and times.
 * Roles are the names "checkout", "finance", "pricing", "compliance" and
 * "admin" (dd_token_role_valid). */
#define DD_TOKEN_SECRET_MAX 64
/* A token's principal is "token:NAME" and must fit where policies keep
 * their author and reviewer (DD_MAX_ID). */
#define DD_TOKEN_NAME_MAX (DD_MAX_ID - 6)
int dd_token_role_valid(const char *role);
/* Validates name (1-DD_TOKEN_NAME_MAX of [A-Za-z0-9._@-]) and role, makes the secret (in
 * *secret, arena) and the record; apply refuses a name in use (DD_EEXIST). */
int dd_token_create_prepare(const char *name, const char *role, const char *created_by,
                            int64_t now, dd_arena *arena, dd_admin_write **out,
                            char **secret, dd_error *err);
/* Marks the token called name revoked (DD_ENOTFOUND when there is none). */
int dd_token_revoke_prepare(const char *name, int64_t now, dd_arena *arena,
                            dd_admin_write **out, dd_error *err);
/* After a successful token write: the record as stored, without its hash. */
Dealdesk__V1__ApiToken *dd_admin_write_token(const dd_admin_write *w);
/* One call: prepare and apply (through the writer when one runs). */
int dd_token_create(dd_store *store, const char *name, const char *role,
                    const char *created_by, int64_t now, dd_arena *arena, char **secret,
                    dd_error *err);
/* Every token, by name order of nothing in particular (the hash), without
 * hashes; at most DD_PAGE_SIZE_MAX. */
int dd_token_list(dd_store *store, dd_arena *arena, Dealdesk__V1__ApiToken ***items,
                  size_t *n, dd_error *err);
/* The token whose secret is (secret, len), in an open read transaction:
 * DD_OK with its name and role copied out, DD_EUNAUTH when it is unknown or
 * revoked (err says which). The stored hash is compared in constant time. */
int dd_token_lookup(dd_rtxn *txn, const char *secret, size_t len, char name[DD_MAX_ID + 1],
                    char role[16], dd_error *err);
/* 1 when the store holds at least one token that is not revoked. */
int dd_token_any(dd_store *store);

/* Loads the demo dataset (prices in USD, EUR, JPY, KWD; promotions of each
 * kind; customers across credit tiers; compliance checks) into an empty
 * store. DD_EEXIST when the store already has customers. */
int dd_demo_seed(dd_store *store, dd_error *err);

#endif
