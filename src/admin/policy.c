/* dealdesk admin: policy scripts, their versions and lifecycle.
 * Each kind has one ACTIVE version (meta "active/<kind>"); versions are
 * numbered per kind from 1 (meta "next/<kind>" holds the last one). A
 * version's source never changes after upload; its content name is the
 * SHA-256 of the source. Every state change is appended to the version's
 * own history (who, when, from, to, comment).
 *   DRAFT -> PENDING_REVIEW (submit: its test cases pass, see
 *   handlers_policy.c) -> APPROVED | REJECTED (another principal) ->
 *   ACTIVE -> RETIRED. */
#include "admin/admin_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "admin/write.h"

#define KIND_OK(k) (dd_policy_kind_name(k) != NULL)

const char *dd_policy_shipped_source(dd_policy_kind kind, size_t *len)
{
	if (!KIND_OK(kind))
		return NULL;
	for (const struct dd_embedded_file *f = dd_embedded_policies; f->name; f++)
		if (strcmp(f->name, dd_policy_kind_name(kind)) == 0) {
			if (len)
				*len = f->len;
			return f->data;
		}
	return NULL;
}

static void sha256_hex(const char *data, size_t len, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
	for (unsigned i = 0; i < mdlen && i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	out[64] = '\0';
}

/* Compiles source in a scratch sandbox and checks the entry function. */
static int compile_check(int kind, const char *source, size_t len,
                         const dd_sandbox_limits *limits, dd_error *err)
{
	dd_sandbox *sb;
	int rc = dd_sandbox_new(&sb, limits, err);
	if (rc != DD_OK)
		return rc;
	int ref;
	rc = dd_sandbox_load(sb, dd_policy_kind_name(kind), source, len, &ref, err);
	if (rc == DD_OK) {
		if (!dd_sandbox_has_function(sb, ref, dd_policy_entry(kind))) {
			rc = dd_error_set(err, DD_EINVAL,
			                  "source: a %s policy must define function %s()",
			                  dd_policy_kind_name(kind), dd_policy_entry(kind));
		}
	} else {
		char msg[sizeof(err->msg)];
		snprintf(msg, sizeof(msg), "%s", err->msg);
		rc = dd_error_set(err, DD_EINVAL, "source: %s", msg);
	}
	dd_sandbox_free(sb);
	return rc;
}

int admin_policy_transition(dd_arena *arena, Dealdesk__V1__PolicyScript *p, const char *actor,
                            int64_t at, int to, const char *comment)
{
	Dealdesk__V1__PolicyTransition *t = dd_arena_alloc(arena, sizeof(*t));
	Dealdesk__V1__PolicyTransition **h =
		dd_arena_alloc(arena, (p->n_history + 1) * sizeof(*h));
	if (t == NULL || h == NULL)
		return DD_ENOMEM;
	dealdesk__v1__policy_transition__init(t);
	t->actor = (char *)(actor ? actor : "");
	t->at = at;
	t->from = p->status;
	t->to = (Dealdesk__V1__PolicyStatus)to;
	t->comment = (char *)(comment ? comment : "");
	if (p->n_history)
		memcpy(h, p->history, p->n_history * sizeof(*h));
	h[p->n_history++] = t;
	p->history = h;
	p->status = (Dealdesk__V1__PolicyStatus)to;
	p->updated_at = at;
	return DD_OK;
}

int admin_policy_put(dd_wtxn *txn, const Dealdesk__V1__PolicyScript *p)
{
	unsigned char key[9];
	dd_key_policy(key, (int)p->kind, p->version);
	size_t len = protobuf_c_message_get_packed_size(&p->base);
	uint8_t *buf = malloc(len ? len : 1);
	if (buf == NULL)
		return DD_ENOMEM;
	protobuf_c_message_pack(&p->base, buf);
	int rc = dd_wtxn_put(txn, DD_T_POLICIES, (dd_val){ key, 9 }, (dd_val){ buf, len });
	free(buf);
	return rc;
}

Dealdesk__V1__PolicyScript *admin_policy_load(dd_wtxn *txn, int kind, uint64_t version,
                                              dd_arena *arena)
{
	unsigned char key[9];
	dd_val v;
	dd_key_policy(key, kind, version);
	if (dd_wtxn_get(txn, DD_T_POLICIES, (dd_val){ key, 9 }, &v) != DD_OK)
		return NULL;
	return (void *)protobuf_c_message_unpack(&dealdesk__v1__policy_script__descriptor,
	                                         &arena->pb, v.len, v.data);
}

static int check_kind(int kind, dd_error *err)
{
	if (!KIND_OK(kind))
		return dd_error_set(err, DD_EINVAL,
		                    "kind: must be PRICING, PROMOTIONS, CREDIT or COMPLIANCE");
	return DD_OK;
}

int dd_policy_upload_prepare(dd_policy_kind kind, const char *source, const char *author,
                             const char *comment, int64_t now,
                             const dd_sandbox_limits *limits, dd_arena *arena,
                             dd_admin_write **out, dd_error *err)
{
	int rc = check_kind(kind, err);
	if (rc != DD_OK)
		return rc;
	size_t len = source ? strlen(source) : 0;
	if (len == 0)
		return dd_error_set(err, DD_EINVAL, "source: required");
	if (len > DD_MAX_POLICY_SOURCE)
		return dd_error_set(err, DD_EINVAL, "source: larger than %d bytes",
		                    DD_MAX_POLICY_SOURCE);
	if (!dd_utf8_valid(source, len))
		return dd_error_set(err, DD_EINVAL, "source: invalid UTF-8");
	if ((rc = dd_check_string(author, DD_MAX_ID, 1, "author", err)) != DD_OK ||
	    (rc = dd_check_string(comment, DD_MAX_COMMENT, 1, "comment", err)) != DD_OK)
		return rc;
	if ((rc = compile_check(kind, source, len, limits, err)) != DD_OK)
		return rc;

	Dealdesk__V1__PolicyScript *p = dd_arena_alloc(arena, sizeof(*p));
	char *sha = dd_arena_alloc(arena, 65);
	dd_admin_write *w = dd_admin__write_new(arena, WRITE_POLICY_UPLOAD, err);
	if (p == NULL || sha == NULL || w == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	dealdesk__v1__policy_script__init(p);
	sha256_hex(source, len, sha);
	p->kind = (Dealdesk__V1__PolicyKind)kind;
	p->source = (char *)source;
	p->sha256 = sha;
	p->status = DEALDESK__V1__POLICY_STATUS__POLICY_STATUS_UNSPECIFIED;
	if (admin_policy_transition(arena, p, author, now,
	                            DEALDESK__V1__POLICY_STATUS__POLICY_STATUS_DRAFT,
	                            comment) != DD_OK)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	p->author = (char *)(author ? author : "");
	p->comment = (char *)(comment ? comment : "");
	p->created_at = p->updated_at = now;
	w->policy_kind = kind;
	w->script = p;
	*out = w;
	return DD_OK;
}

/* Numbers the new version and stores it. */
static int apply_upload(dd_wtxn *txn, dd_admin_write *w, dd_error *err)
{
	Dealdesk__V1__PolicyScript *p = w->script;
	char nk[16];
	dd_policy_next_key(w->policy_kind, nk);
	p->version = dd_wtxn_meta_u64(txn, nk) + 1;
	int rc = dd_wtxn_set_meta_u64(txn, nk, p->version);
	if (rc == DD_OK)
		rc = admin_policy_put(txn, p);
	if (rc != DD_OK)
		return dd_error_set(err, rc, "store: %s", dd_strerror(rc));
	return DD_OK;
}

/* The synchronous forms: prepare, write through dd_store_write, and hand
 * back the version stored. */
static int policy_write_now(dd_store *store, int rc, dd_admin_write *w,
                            Dealdesk__V1__PolicyScript **out, dd_error *err)
{
	if (rc == DD_OK)
		rc = dd_admin__write_now(store, w, NULL, err);
	if (rc == DD_OK)
		*out = w->script;
	return rc;
}

int dd_policy_upload(dd_store *store, dd_policy_kind kind, const char *source,
                     const char *author, const char *comment, int64_t now,
                     const dd_sandbox_limits *limits, dd_arena *arena,
                     Dealdesk__V1__PolicyScript **out, dd_error *err)
{
	dd_admin_write *w = NULL;
	int rc = dd_policy_upload_prepare(kind, source, author, comment, now, limits, arena,
	                                  &w, err);
	return policy_write_now(store, rc, w, out, err);
}

int dd_policy_get(dd_store *store, dd_policy_kind kind, uint64_t version, dd_arena *arena,
                  Dealdesk__V1__PolicyScript **out, dd_error *err)
{
	int rc = check_kind(kind, err);
	if (rc != DD_OK)
		return rc;
	dd_rtxn *r;
	if ((rc = dd_rtxn_new(store, &r)) != DD_OK)
		return dd_error_set(err, rc, "store: cannot read");
	if ((rc = dd_rtxn_begin(r)) != DD_OK) {
		dd_rtxn_free(r);
		return dd_error_set(err, rc, "store: cannot read");
	}
	if (version == 0) {
		char ak[16];
		dd_policy_active_key(kind, ak);
		version = dd_rtxn_meta_u64(r, ak);
	}
	unsigned char key[9];
	dd_val v;
	dd_key_policy(key, kind, version);
	rc = version ? dd_rtxn_get(r, DD_T_POLICIES, (dd_val){ key, 9 }, &v) : DD_ENOTFOUND;
	if (rc == DD_OK) {
		*out = (void *)protobuf_c_message_unpack(&dealdesk__v1__policy_script__descriptor,
		                                         &arena->pb, v.len, v.data);
		if (*out == NULL)
			rc = dd_error_set(err, DD_ESTORE, "store: corrupt policy record");
	} else if (rc == DD_ENOTFOUND) {
		dd_error_set(err, rc, "%s policy version %llu not found", dd_policy_kind_name(kind),
		             (unsigned long long)version);
	}
	dd_rtxn_end(r);
	dd_rtxn_free(r);
	return rc;
}

int dd_policy_list(dd_store *store, dd_policy_kind kind, uint32_t page_size,
                   const char *page_token, dd_arena *arena,
                   Dealdesk__V1__PolicyScript ***items, size_t *n,
                   char **next_token, dd_error *err)
{
	if (kind != 0 && !KIND_OK(kind))
		return check_kind(kind, err);
	int rc = admin_list_policies(store, kind, page_size, page_token, arena,
	                                 (ProtobufCMessage ***)items, n, next_token, err);
	if (rc == DD_OK)
		for (size_t i = 0; i < *n; i++)
			(*items)[i]->source = ""; /* listings omit sources */
	return rc;
}

static const char *status_name(int s)
{
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
		&dealdesk__v1__policy_status__descriptor, s);
	return v ? v->name : "?";
}

/* Loads a version for a status change inside txn. */
static int load_for_change(dd_wtxn *txn, int kind, uint64_t version,
                           dd_arena *arena, Dealdesk__V1__PolicyScript **p,
                           dd_error *err)
{
	*p = admin_policy_load(txn, kind, version, arena);
	if (*p == NULL)
		return dd_error_set(err, DD_ENOTFOUND, "%s policy version %llu not found",
		                    dd_policy_kind_name(kind), (unsigned long long)version);
	return DD_OK;
}

int dd_policy_review_prepare(dd_policy_kind kind, uint64_t version, int to, const char *actor,
                             const char *comment, int64_t now, dd_arena *arena,
                             dd_admin_write **out, dd_error *err)
{
	int rc = check_kind(kind, err);
	if (rc != DD_OK)
		return rc;
	if ((rc = dd_check_string(actor, DD_MAX_ID, 0, "actor", err)) != DD_OK ||
	    (rc = dd_check_string(comment, DD_MAX_COMMENT, 1, "comment", err)) != DD_OK)
		return rc;
	dd_admin_write *w = dd_admin__write_new(arena, WRITE_POLICY_REVIEW, err);
	if (w == NULL)
		return DD_ENOMEM;
	w->policy_kind = kind;
	w->version = version;
	w->to = to;
	w->actor = actor;
	w->comment = comment;
	w->now = now;
	*out = w;
	return DD_OK;
}

static int apply_review(dd_wtxn *txn, dd_admin_write *w, dd_error *err)
{
	int kind = w->policy_kind, to = w->to;
	uint64_t version = w->version;
	Dealdesk__V1__PolicyScript *p;
	int rc = load_for_change(txn, kind, version, w->arena, &p, err);
	if (rc != DD_OK)
		return rc;
	int from_ok;
	if (to == DEALDESK__V1__POLICY_STATUS__POLICY_STATUS_PENDING_REVIEW)
		from_ok = p->status == DEALDESK__V1__POLICY_STATUS__POLICY_STATUS_DRAFT;
	else
		from_ok = p->status == DEALDESK__V1__POLICY_STATUS__POLICY_STATUS_PENDING_REVIEW;
	if (!from_ok)
		return dd_error_set(err, DD_EPRECOND, "version %llu is %s; cannot move to %s",
		                    (unsigned long long)version, status_name(p->status),
		                    status_name(to));
	if (to != DEALDESK__V1__POLICY_STATUS__POLICY_STATUS_PENDING_REVIEW &&
	    strcmp(w->actor, p->author) == 0)
		return dd_error_set(err, DD_EDENIED,
		                    "actor: %s wrote %s policy version %llu and cannot review it "
		                    "(%s); four eyes: another principal with the approving role must",
		                    w->actor, dd_policy_kind_name(kind),
		                    (unsigned long long)version,
		                    to == DEALDESK__V1__POLICY_STATUS__POLICY_STATUS_APPROVED
		                            ? "approve"
		                            : "reject");
	if (admin_policy_transition(w->arena, p, w->actor, w->now, to, w->comment) != DD_OK)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	if (to == DEALDESK__V1__POLICY_STATUS__POLICY_STATUS_PENDING_REVIEW) {
		p->tests_run = w->tests_run;
		p->tests_passed = w->tests_passed;
	} else {
		p->reviewer = (char *)w->actor;
		p->review_comment = (char *)(w->comment ? w->comment : "");
	}
	rc = admin_policy_put(txn, p);
	if (rc != DD_OK)
		return dd_error_set(err, rc, "store: %s", dd_strerror(rc));
	w->script = p;
	return DD_OK;
}

int dd_policy_review(dd_store *store, dd_policy_kind kind, uint64_t version, int to,
                     const char *actor, const char *comment, int64_t now,
                     dd_arena *arena, Dealdesk__V1__PolicyScript **out,
                     dd_error *err)
{
	dd_admin_write *w = NULL;
	int rc = dd_policy_review_prepare(kind, version, to, actor, comment, now, arena, &w, err);
	return policy_write_now(store, rc, w, out, err);
}

int dd_policy_activate_prepare(dd_policy_kind kind, uint64_t version, const char *actor,
                               int require_approval, int64_t now, dd_arena *arena,
                               dd_admin_write **out, dd_error *err)
{
	int rc = check_kind(kind, err);
	if (rc != DD_OK)
		return rc;
	if ((rc = dd_check_string(actor, DD_MAX_ID, 1, "actor", err)) != DD_OK)
		return rc;
	dd_admin_write *w = dd_admin__write_new(arena, WRITE_POLICY_ACTIVATE, err);
	if (w == NULL)
		return DD_ENOMEM;
	w->policy_kind = kind;
	w->version = version;
	w->actor = actor;
	w->require_approval = require_approval;
	w->now = now;
	*out = w;
	return DD_OK;
}

int admin_policy_activate(dd_wtxn *txn, dd_admin_write *w, dd_error *err)
{
	int kind = w->policy_kind;
	uint64_t version = w->version;
	Dealdesk__V1__PolicyScript *p;
	int rc = load_for_change(txn, kind, version, w->arena, &p, err);
	if (rc != DD_OK)
		return rc;
	if (p->status == DEALDESK__V1__POLICY_STATUS__POLICY_STATUS_REJECTED)
		return dd_error_set(err, DD_EPRECOND,
		                    "version %llu was rejected and cannot be activated",
		                    (unsigned long long)version);
	if (w->require_approval &&
	    p->status != DEALDESK__V1__POLICY_STATUS__POLICY_STATUS_APPROVED &&
	    p->status != DEALDESK__V1__POLICY_STATUS__POLICY_STATUS_RETIRED &&
	    p->status != DEALDESK__V1__POLICY_STATUS__POLICY_STATUS_ACTIVE)
		return dd_error_set(err, DD_EPRECOND,
		                    "version %llu is %s; approval is required before activation",
		                    (unsigned long long)version, status_name(p->status));
	char ak[16];
	dd_policy_active_key(kind, ak);
	uint64_t prev = dd_wtxn_meta_u64(txn, ak);
	if (prev != 0 && prev != version) {
		Dealdesk__V1__PolicyScript *old = admin_policy_load(txn, kind, prev, w->arena);
		if (old != NULL) {
			char why[64];
			snprintf(why, sizeof(why), "replaced by version %llu",
			         (unsigned long long)version);
			char *c = dd_arena_strdup(w->arena, why);
			rc = c == NULL ? DD_ENOMEM
			               : admin_policy_transition(
					      w->arena, old, w->actor, w->now,
					      DEALDESK__V1__POLICY_STATUS__POLICY_STATUS_RETIRED, c);
			if (rc == DD_OK)
				rc = admin_policy_put(txn, old);
		}
	}
	if (rc == DD_OK && p->status != DEALDESK__V1__POLICY_STATUS__POLICY_STATUS_ACTIVE) {
		/* a rollback keeps the version's own replaced_version, so a second
		 * rollback goes further back */
		if (w->op != WRITE_POLICY_ROLLBACK)
			p->replaced_version = prev;
		rc = admin_policy_transition(w->arena, p, w->actor, w->now,
		                             DEALDESK__V1__POLICY_STATUS__POLICY_STATUS_ACTIVE,
		                             w->comment);
		if (rc == DD_OK)
			rc = admin_policy_put(txn, p);
	}
	if (rc == DD_OK)
		rc = dd_wtxn_set_meta_u64(txn, ak, version);
	if (rc != DD_OK)
		return dd_error_set(err, rc, "store: %s", dd_strerror(rc));
	w->script = p;
	return DD_OK;
}

int dd_policy_activate(dd_store *store, dd_policy_kind kind, uint64_t version,
                       const char *actor, int require_approval, int64_t now,
                       dd_arena *arena, Dealdesk__V1__PolicyScript **out,
                       dd_error *err)
{
	dd_admin_write *w = NULL;
	int rc = dd_policy_activate_prepare(kind, version, actor, require_approval, now, arena,
	                                    &w, err);
	return policy_write_now(store, rc, w, out, err);
}

/* A shipped version uploaded and activated in one transaction, unless the
 * kind got an active version meanwhile. */
static int apply_install(dd_wtxn *txn, dd_admin_write *w, dd_error *err)
{
	char ak[16];
	dd_policy_active_key(w->policy_kind, ak);
	if (dd_wtxn_meta_u64(txn, ak) != 0)
		return DD_OK;
	int rc = apply_upload(txn, w, err);
	if (rc != DD_OK)
		return rc;
	w->version = w->script->version;
	w->actor = "dealdesk";
	w->require_approval = 0;
	w->now = w->script->created_at;
	return admin_policy_activate(txn, w, err);
}

int dd_admin__apply_policy(dd_wtxn *txn, dd_admin_write *w, dd_error *err)
{
	switch (w->op) {
	case WRITE_POLICY_UPLOAD: return apply_upload(txn, w, err);
	case WRITE_POLICY_REVIEW: return apply_review(txn, w, err);
	case WRITE_POLICY_ACTIVATE: return admin_policy_activate(txn, w, err);
	case WRITE_POLICY_INSTALL: return apply_install(txn, w, err);
	case WRITE_POLICY_COMMENT:
	case WRITE_POLICY_ROLLBACK:
	case WRITE_PROMOTION_APPROVE: return dd_admin__apply_governance(txn, w, err);
	default: return dd_error_set(err, DD_EINTERNAL, "admin: not a policy write");
	}
}

int dd_policy_install_shipped(dd_store *store, const dd_sandbox_limits *limits,
                              int64_t now, dd_error *err)
{
	for (int kind = DD_POLICY_PRICING; kind < DD_POLICY_KIND_COUNT; kind++) {
		dd_arena arena;
		dd_arena_init(&arena, 0, 0);
		Dealdesk__V1__PolicyScript *p;
		int rc = dd_policy_get(store, kind, 0, &arena, &p, NULL);
		if (rc == DD_ENOTFOUND) {
			size_t len;
			const char *src = dd_policy_shipped_source(kind, &len);
			dd_admin_write *w = NULL;
			if (src == NULL)
				rc = dd_error_set(err, DD_EINTERNAL, "no shipped %s policy",
				                  dd_policy_kind_name(kind));
			else
				rc = dd_policy_upload_prepare(kind, src, "dealdesk", "shipped policy",
				                              now, limits, &arena, &w, err);
			if (rc == DD_OK) {
				w->op = WRITE_POLICY_INSTALL;
				rc = dd_admin__write_now(store, w, NULL, err);
			}
		} else if (rc != DD_OK) {
			dd_error_set(err, rc, "cannot read the active %s policy", dd_policy_kind_name(kind));
		}
		dd_arena_free(&arena);
		if (rc != DD_OK)
			return rc;
	}
	return DD_OK;
}
