/* dealdesk admin: reviewed rules (include/dealdesk/governance.h): submit
 * with test results, reviewers' comments, rollback, content names, diffs,
 * and the compliance review of promotions. The rest of the lifecycle is
 * policy.c. */
#include "admin/admin_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/write.h"
#include "dealdesk/governance.h"

#define KIND_OK(k) (dd_policy_kind_name(k) != NULL)

static int check_kind(int kind, dd_error *err)
{
	if (!KIND_OK(kind))
		return dd_error_set(err, DD_EINVAL,
		                    "kind: must be PRICING, PROMOTIONS, CREDIT or COMPLIANCE");
	return DD_OK;
}

int dd_policy_submit_prepare(dd_policy_kind kind, uint64_t version, const char *actor,
                             const char *comment, unsigned tests_run, unsigned tests_passed,
                             int64_t now, dd_arena *arena, dd_admin_write **out,
                             dd_error *err)
{
	int rc = dd_policy_review_prepare(kind, version,
	                                  DEALDESK__V1__POLICY_STATUS__POLICY_STATUS_PENDING_REVIEW,
	                                  actor, comment, now, arena, out, err);
	if (rc == DD_OK) {
		(*out)->tests_run = tests_run;
		(*out)->tests_passed = tests_passed;
	}
	return rc;
}

int dd_policy_comment_prepare(dd_policy_kind kind, uint64_t version, const char *actor,
                              const char *text, int64_t now, dd_arena *arena,
                              dd_admin_write **out, dd_error *err)
{
	int rc = check_kind(kind, err);
	if (rc == DD_OK)
		rc = dd_check_string(actor, DD_MAX_ID, 0, "actor", err);
	if (rc == DD_OK)
		rc = dd_check_string(text, DD_MAX_COMMENT, 0, "text", err);
	if (rc != DD_OK)
		return rc;
	if (version == 0)
		return dd_error_set(err, DD_EINVAL, "version: required");
	dd_admin_write *w = dd_admin__write_new(arena, WRITE_POLICY_COMMENT, err);
	if (w == NULL)
		return DD_ENOMEM;
	w->policy_kind = kind;
	w->version = version;
	w->actor = actor;
	w->comment = text;
	w->now = now;
	*out = w;
	return DD_OK;
}

int dd_policy_rollback_prepare(dd_policy_kind kind, const char *actor, const char *comment,
                               int64_t now, dd_arena *arena, dd_admin_write **out,
                               dd_error *err)
{
	int rc = check_kind(kind, err);
	if (rc == DD_OK)
		rc = dd_check_string(actor, DD_MAX_ID, 1, "actor", err);
	if (rc == DD_OK)
		rc = dd_check_string(comment, DD_MAX_COMMENT, 1, "comment", err);
	if (rc != DD_OK)
		return rc;
	dd_admin_write *w = dd_admin__write_new(arena, WRITE_POLICY_ROLLBACK, err);
	if (w == NULL)
		return DD_ENOMEM;
	w->policy_kind = kind;
	w->actor = actor ? actor : "";
	w->comment = comment && *comment ? comment : "rollback";
	w->now = now;
	*out = w;
	return DD_OK;
}

static int not_found(int kind, uint64_t version, dd_error *err)
{
	return dd_error_set(err, DD_ENOTFOUND, "%s policy version %llu not found",
	                    dd_policy_kind_name(kind), (unsigned long long)version);
}

static int apply_comment(dd_wtxn *txn, dd_admin_write *w, dd_error *err)
{
	Dealdesk__V1__PolicyScript *p = admin_policy_load(txn, w->policy_kind, w->version, w->arena);
	if (p == NULL)
		return not_found(w->policy_kind, w->version, err);
	Dealdesk__V1__PolicyComment *c = dd_arena_alloc(w->arena, sizeof(*c));
	Dealdesk__V1__PolicyComment **list =
		dd_arena_alloc(w->arena, (p->n_comments + 1) * sizeof(*list));
	if (c == NULL || list == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	dealdesk__v1__policy_comment__init(c);
	c->actor = (char *)w->actor;
	c->at = w->now;
	c->text = (char *)w->comment;
	if (p->n_comments)
		memcpy(list, p->comments, p->n_comments * sizeof(*list));
	list[p->n_comments++] = c;
	p->comments = list;
	int rc = admin_policy_put(txn, p);
	if (rc != DD_OK)
		return dd_error_set(err, rc, "store: %s", dd_strerror(rc));
	w->script = p;
	return DD_OK;
}

static int apply_rollback(dd_wtxn *txn, dd_admin_write *w, dd_error *err)
{
	int kind = w->policy_kind;
	char ak[16];
	dd_policy_active_key(kind, ak);
	uint64_t cur = dd_wtxn_meta_u64(txn, ak);
	Dealdesk__V1__PolicyScript *p = cur ? admin_policy_load(txn, kind, cur, w->arena) : NULL;
	if (p == NULL)
		return dd_error_set(err, DD_EPRECOND, "no active %s policy to roll back",
		                    dd_policy_kind_name(kind));
	if (p->replaced_version == 0)
		return dd_error_set(err, DD_EPRECOND,
		                    "%s policy version %llu replaced no earlier version; nothing "
		                    "to roll back to",
		                    dd_policy_kind_name(kind), (unsigned long long)cur);
	w->version = p->replaced_version;
	w->require_approval = 0; /* it was in force before */
	return admin_policy_activate(txn, w, err);
}

/* ---- promotions ------------------------------------------------------------------- */

void dd_promotion_review_mark(ProtobufCMessage *const *items, size_t n, const char *principal,
                              int32_t review_bps)
{
	for (size_t i = 0; i < n; i++) {
		Dealdesk__V1__Promotion *p = (void *)items[i];
		int needs = review_bps >= 0 && ((p->condition && *p->condition) ||
		                                (review_bps > 0 && p->percent_bps > review_bps));
		p->review = needs ? DEALDESK__V1__PROMOTION_REVIEW__PROMOTION_REVIEW_PENDING
		                  : DEALDESK__V1__PROMOTION_REVIEW__PROMOTION_REVIEW_NOT_REQUIRED;
		p->written_by = (char *)(principal ? principal : "");
		p->approved_by = (char *)"";
		p->approved_at = 0;
		p->approval_comment = (char *)"";
	}
}

int dd_promotion_approve_prepare(const char *id, const char *actor, const char *comment,
                                 int64_t now, dd_arena *arena, dd_admin_write **out,
                                 dd_error *err)
{
	int rc = dd_check_string(id, DD_MAX_ID, 0, "id", err);
	if (rc == DD_OK)
		rc = dd_check_string(actor, DD_MAX_ID, 0, "actor", err);
	if (rc == DD_OK)
		rc = dd_check_string(comment, DD_MAX_COMMENT, 1, "comment", err);
	if (rc != DD_OK)
		return rc;
	dd_admin_write *w = dd_admin__write_new(arena, WRITE_PROMOTION_APPROVE, err);
	if (w == NULL)
		return DD_ENOMEM;
	w->key0 = id;
	w->actor = actor;
	w->comment = comment ? comment : "";
	w->now = now;
	*out = w;
	return DD_OK;
}

Dealdesk__V1__Promotion *dd_promotion_write_result(const dd_admin_write *w)
{
	return w->op == WRITE_PROMOTION_APPROVE ? w->promotion : NULL;
}

static int apply_promotion_approve(dd_wtxn *txn, dd_admin_write *w, dd_error *err)
{
	const dd_entity_def *e = dd_entity(DD_ENTITY_PROMOTION);
	char key[DD_STORE_MAX_KEY + 1];
	int klen = dd_key_join(key, sizeof(key), 1, w->key0);
	dd_val v;
	if (klen < 0 || dd_wtxn_get(txn, e->table, (dd_val){ key, (size_t)klen }, &v) != DD_OK)
		return dd_error_set(err, DD_ENOTFOUND, "promotion '%s' not found", w->key0);
	Dealdesk__V1__Promotion *p = (void *)protobuf_c_message_unpack(
		&dealdesk__v1__promotion__descriptor, &w->arena->pb, v.len, v.data);
	if (p == NULL)
		return dd_error_set(err, DD_ESTORE, "store: corrupt promotion record");
	if (p->review != DEALDESK__V1__PROMOTION_REVIEW__PROMOTION_REVIEW_PENDING)
		return dd_error_set(err, DD_EPRECOND, "promotion '%s' %s", w->key0,
		                    p->review == DEALDESK__V1__PROMOTION_REVIEW__PROMOTION_REVIEW_APPROVED
		                            ? "is already approved"
		                            : "needs no compliance approval");
	if (strcmp(p->written_by, w->actor) == 0)
		return dd_error_set(err, DD_EDENIED,
		                    "actor: %s wrote promotion '%s' and cannot approve it; four "
		                    "eyes: another principal with the compliance role must",
		                    w->actor, w->key0);
	p->review = DEALDESK__V1__PROMOTION_REVIEW__PROMOTION_REVIEW_APPROVED;
	p->approved_by = (char *)w->actor;
	p->approved_at = w->now;
	p->approval_comment = (char *)w->comment;
	size_t len = protobuf_c_message_get_packed_size(&p->base);
	uint8_t *buf = malloc(len ? len : 1);
	if (buf == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	protobuf_c_message_pack(&p->base, buf);
	int rc = dd_wtxn_put(txn, e->table, (dd_val){ key, (size_t)klen }, (dd_val){ buf, len });
	free(buf);
	/* the quoter reloads its promotions when their counter moves */
	if (rc == DD_OK && e->meta_counter)
		rc = dd_wtxn_set_meta_u64(txn, e->meta_counter,
		                          dd_wtxn_meta_u64(txn, e->meta_counter) + 1);
	if (rc != DD_OK)
		return dd_error_set(err, rc, "store: %s", dd_strerror(rc));
	w->promotion = p;
	return DD_OK;
}

int dd_admin__apply_governance(dd_wtxn *txn, dd_admin_write *w, dd_error *err)
{
	switch (w->op) {
	case WRITE_POLICY_COMMENT: return apply_comment(txn, w, err);
	case WRITE_POLICY_ROLLBACK: return apply_rollback(txn, w, err);
	case WRITE_PROMOTION_APPROVE: return apply_promotion_approve(txn, w, err);
	default: return dd_error_set(err, DD_EINTERNAL, "admin: not a governance write");
	}
}

/* ---- reads ------------------------------------------------------------------------ */

int dd_policy_get_by_sha256(dd_store *store, dd_policy_kind kind, const char *sha256,
                            dd_arena *arena, Dealdesk__V1__PolicyScript **out, dd_error *err)
{
	int rc = check_kind(kind, err);
	if (rc != DD_OK)
		return rc;
	if (sha256 == NULL || strlen(sha256) != 64 || strspn(sha256, "0123456789abcdef") != 64)
		return dd_error_set(err, DD_EINVAL, "sha256: expected 64 lowercase hex digits");
	*out = NULL;
	char *token = NULL;
	do {
		Dealdesk__V1__PolicyScript **items;
		size_t n;
		rc = admin_list_policies(store, kind, 1000, token, arena,
		                         (ProtobufCMessage ***)&items, &n, &token, err);
		if (rc != DD_OK)
			return rc;
		for (size_t i = 0; i < n; i++)
			if (strcmp(items[i]->sha256, sha256) == 0 &&
			    (*out == NULL || items[i]->version > (*out)->version))
				*out = items[i];
	} while (token && *token);
	if (*out == NULL)
		return dd_error_set(err, DD_ENOTFOUND, "no %s policy version has sha256 %s",
		                    dd_policy_kind_name(kind), sha256);
	return DD_OK;
}

int dd_policy_diff(dd_store *store, dd_policy_kind kind, uint64_t from, uint64_t to,
                   dd_arena *arena, char **diff, char **from_sha, char **to_sha,
                   dd_error *err)
{
	if (from == 0)
		return dd_error_set(err, DD_EINVAL, "from: a version >= 1 is required");
	if (to == 0)
		return dd_error_set(err, DD_EINVAL, "to: a version >= 1 is required");
	Dealdesk__V1__PolicyScript *a, *b;
	int rc = dd_policy_get(store, kind, from, arena, &a, err);
	if (rc == DD_OK)
		rc = dd_policy_get(store, kind, to, arena, &b, err);
	if (rc != DD_OK)
		return rc;
	char la[128], lb[128];
	snprintf(la, sizeof(la), "%s v%llu %s", dd_policy_kind_name(kind),
	         (unsigned long long)from, a->sha256);
	snprintf(lb, sizeof(lb), "%s v%llu %s", dd_policy_kind_name(kind),
	         (unsigned long long)to, b->sha256);
	*diff = dd_text_diff(la, a->source, lb, b->source, arena);
	if (*diff == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	*from_sha = a->sha256;
	*to_sha = b->sha256;
	return DD_OK;
}
