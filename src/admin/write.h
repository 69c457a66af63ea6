/* dealdesk admin: the state of a write between its two steps, validation
 * on the caller's thread (*_prepare) and its application inside a write
 * transaction (dd_admin_write_apply, usually on the writer thread). Shared
 * by admin.c (entities), policy.c (policies) and write.c. */
#ifndef DD_ADMIN_WRITE_H
#define DD_ADMIN_WRITE_H

#include "dealdesk/admin.h"

typedef enum write_op {
	WRITE_PUT,
	WRITE_DELETE,
	WRITE_POLICY_UPLOAD,
	WRITE_POLICY_REVIEW,
	WRITE_POLICY_ACTIVATE,
	WRITE_POLICY_INSTALL, /* upload + activate, unless the kind has an active version */
	WRITE_TOKEN_CREATE,
	WRITE_TOKEN_REVOKE,
	WRITE_POLICY_COMMENT,   /* governance.c: a reviewer's comment */
	WRITE_POLICY_ROLLBACK,  /* governance.c: back to the version replaced */
	WRITE_PROMOTION_APPROVE, /* governance.c: compliance approval of a promotion */
} write_op;

struct dd_admin_write {
	write_op op;
	dd_arena *arena; /* where apply puts what it reads */
	/* entities */
	dd_entity_kind kind;
	ProtobufCMessage *const *items;
	size_t n;
	const char *field;
	char key[DD_STORE_MAX_KEY + 1]; /* delete: the record's key */
	size_t klen;
	const char *key0;               /* delete: its first part, for messages */
	/* policies */
	int policy_kind;
	uint64_t version;
	int to;
	const char *actor, *comment;
	int64_t now;
	int require_approval;
	/* upload: the new version, built by prepare (version set by apply);
	 * review, activate: the version as apply stored it */
	Dealdesk__V1__PolicyScript *script;
	/* tokens: the record to store (create), or as revoked (revoke) */
	Dealdesk__V1__ApiToken *token;
	/* governance.c: submit's test results; the promotion to approve (id in
	 * key0) and, after apply, as stored */
	unsigned tests_run, tests_passed;
	Dealdesk__V1__Promotion *promotion;
};

int dd_admin__apply_entity(dd_wtxn *txn, dd_admin_write *w, dd_error *err);
int dd_admin__apply_policy(dd_wtxn *txn, dd_admin_write *w, dd_error *err);
int dd_admin__apply_token(dd_wtxn *txn, dd_admin_write *w, dd_error *err);
int dd_admin__apply_governance(dd_wtxn *txn, dd_admin_write *w, dd_error *err);

/* policy.c, for governance.c: a stored version read (into arena) or
 * written inside txn; a state change appended to p's history (p->status
 * becomes to); the activation of w->version (w->op ROLLBACK keeps its
 * replaced_version). */
Dealdesk__V1__PolicyScript *admin_policy_load(dd_wtxn *txn, int kind, uint64_t version,
                                              dd_arena *arena);
int admin_policy_put(dd_wtxn *txn, const Dealdesk__V1__PolicyScript *p);
int admin_policy_transition(dd_arena *arena, Dealdesk__V1__PolicyScript *p, const char *actor,
                            int64_t at, int to, const char *comment);
int admin_policy_activate(dd_wtxn *txn, dd_admin_write *w, dd_error *err);

/* Allocates a cleared write of op in arena; NULL with err when out of memory. */
dd_admin_write *dd_admin__write_new(dd_arena *arena, write_op op, dd_error *err);
/* Prepare's result applied through dd_store_write: the synchronous forms. */
int dd_admin__write_now(dd_store *store, dd_admin_write *w, uint64_t *version,
                        dd_error *err);

/* customer.c: before a customer record at key is stored (or deleted):
 * keeps the order statistics the commits maintain (item is updated) and
 * records a change of its credit profile in credit_audit. */
int dd_admin__customer_audit(dd_wtxn *txn, dd_admin_write *w, ProtobufCMessage *item,
                             const char *key, size_t klen, int deleting, dd_error *err);
/* Before a credit tier at key is stored (item) or deleted (item NULL):
 * records the change of the row in credit_audit. */
int dd_admin__tier_audit(dd_wtxn *txn, dd_admin_write *w, ProtobufCMessage *item,
                         const char *key, size_t klen, dd_error *err);

/* price_history.c: before a price entry or promotion at key is stored (or
 * deleted): keeps its snapshot in the price history. */
int dd_admin__price_history(dd_wtxn *txn, dd_admin_write *w, ProtobufCMessage *item,
                            const char *key, size_t klen, int deleting, dd_error *err);

#endif
