/* dealdesk governance: the reviewed-rules part of the policy lifecycle
 * (issue 10) beside dealdesk/admin.h: reviewers' comments, rollback, diffs
 * of two versions, the content name of a version, and the compliance
 * review of promotions.
 *
 * Writes come in the two steps of admin.h (*_prepare on the caller's
 * thread, dd_admin_write_apply in a write transaction). Strings given to a
 * prepare must outlive the write; results live in the arena. */
#ifndef DEALDESK_GOVERNANCE_H
#define DEALDESK_GOVERNANCE_H

#include "dealdesk/admin.h"

/* Submit (DRAFT -> PENDING_REVIEW) recording how many of the version's
 * own test cases ran and passed (the caller ran them: handlers_policy.c). */
int dd_policy_submit_prepare(dd_policy_kind kind, uint64_t version, const char *actor,
                             const char *comment, unsigned tests_run, unsigned tests_passed,
                             int64_t now, dd_arena *arena, dd_admin_write **out,
                             dd_error *err);

/* A reviewer's comment on a version, in any state: appended to its
 * comments. After apply dd_admin_write_policy gives the version. */
int dd_policy_comment_prepare(dd_policy_kind kind, uint64_t version, const char *actor,
                              const char *text, int64_t now, dd_arena *arena,
                              dd_admin_write **out, dd_error *err);

/* The active version of kind RETIRED and the version it replaced ACTIVE
 * again, in one transaction. FAILED_PRECONDITION when there is none. */
int dd_policy_rollback_prepare(dd_policy_kind kind, const char *actor, const char *comment,
                               int64_t now, dd_arena *arena, dd_admin_write **out,
                               dd_error *err);

/* The newest version of kind whose source has SHA-256 sha256 (64 hex). */
int dd_policy_get_by_sha256(dd_store *store, dd_policy_kind kind, const char *sha256,
                            dd_arena *arena, Dealdesk__V1__PolicyScript **out, dd_error *err);

/* A unified diff (3 lines of context) from version `from` to version `to`
 * of kind, as "--- KIND vFROM SHA\n+++ KIND vTO SHA\n@@ ... @@\n..."; ""
 * when the sources are equal. *diff and the hashes live in arena. */
int dd_policy_diff(dd_store *store, dd_policy_kind kind, uint64_t from, uint64_t to,
                   dd_arena *arena, char **diff, char **from_sha, char **to_sha,
                   dd_error *err);

/* The unified diff of two texts labelled a and b (the part after "--- " and
 * "+++ "), in arena; "" when equal. */
char *dd_text_diff(const char *a_label, const char *a, const char *b_label, const char *b,
                   dd_arena *arena);

/* Before promotions are stored by a principal: each one's review fields
 * are set by the server, whatever the client sent: PENDING when it has a
 * Lua condition or a percent_bps above review_bps (0 = no percentage
 * needs review; < 0 = nothing does), else NOT_REQUIRED; written_by =
 * principal; the approval cleared. */
void dd_promotion_review_mark(ProtobufCMessage *const *items, size_t n, const char *principal,
                              int32_t review_bps);

/* Compliance approval of the PENDING promotion id by actor, who must not
 * be the principal that wrote it (PERMISSION_DENIED). After apply
 * dd_promotion_write_result gives the promotion as stored. */
int dd_promotion_approve_prepare(const char *id, const char *actor, const char *comment,
                                 int64_t now, dd_arena *arena, dd_admin_write **out,
                                 dd_error *err);
Dealdesk__V1__Promotion *dd_promotion_write_result(const dd_admin_write *w);

#endif
