/* dealdeskd handlers: one entry per RPC. The admin CRUD calls share four
 * generic handlers driven by the message descriptors: a Put request's first
 * field is the repeated records, a key message's string fields are the key
 * parts in order, a List request's leading string fields are the prefix and
 * a List response is (repeated records, next_page_token).
 *
 * Reads (quotes, gets, lists, health) finish their call before returning.
 * Writes are validated here, on the worker, so bad input is answered at
 * once; then they are queued to the writer thread and the call is pending:
 * the writer finishes it (write_done) once the write is durable, and the
 * worker goes on with other calls instead of waiting for the fsync. */
#include "handlers.h"
#include "handlers_journal.h"

#include <string.h>
#include <time.h>

#include "dealdesk/admin.h"
#include "dealdesk/analytics.h"
#include "dealdesk/order.h"
#include "dealdesk/v1/compliance.pb-c.h"
#include "dealdesk/v1/admin.pb-c.h"
#include "dealdesk/v1/backup.pb-c.h"
#include "dealdesk/v1/server.pb-c.h"
#include "dealdesk/v1/journal.pb-c.h"
#include "grpc/health/v1/health.pb-c.h"
#include "grpc/reflection/v1/reflection.pb-c.h"
#include "health.h"
#include "reflection.h"
#include "status.h"


/* Field access by descriptor. */
#define FIELD_PTR(m, f) ((char *)(m) + (f)->offset)
#define FIELD_COUNT(m, f) (*(size_t *)((char *)(m) + (f)->quantifier_offset))

/* ---- Quote --------------------------------------------------------------- */

static int h_quote(dd_call *call)
{
	dd_error err;
	dd_error_clear(&err);
	Dealdesk__V1__QuoteResponse *r = NULL;
	int rc = dd_quote(dd_call_quoter(call), (const void *)dd_call_request(call), dd_handler_now(),
	                  dd_call_arena(call), &r, &err);
	if (rc == DD_OK && r->n_experiments)
		dd_analytics_tally_quote(dd_call_config(call)->tally,
		                         ((const Dealdesk__V1__QuoteRequest *)dd_call_request(call))->customer_id, r);
	return dd_call_finish(call, rc, rc == DD_OK ? dd_journal_record_quote(call, &r->base) : NULL,
	                      &err);
}

/* Finishes call with the result of a synchronous step that filled *resp. */
int dd_handler_finish(dd_call *call, int rc, ProtobufCMessage *resp, const dd_error *err)
{
	return dd_call_finish(call, rc, rc == DD_OK ? resp : NULL, err);
}


/* ---- Health (health.c), reflection (reflection.c), status (status.c) ---- */

/* ---- generic entity CRUD ------------------------------------------------------ */

static Dealdesk__V1__WriteResponse *write_response(dd_arena *a, uint64_t version,
                                                   uint32_t count)
{
	Dealdesk__V1__WriteResponse *r = dd_arena_alloc(a, sizeof(*r));
	if (r) {
		dealdesk__v1__write_response__init(r);
		r->data_version = version;
		r->count = count;
	}
	return r;
}

/* ---- writes: prepared here, applied and answered by the writer -------------- */

typedef struct write_call {
	dd_writer_job job;
	dd_call *call;
	dd_admin_write *w;
	int policy; /* answered with the policy version rather than a WriteResponse */
	char **warnings; /* compliance checks set to WARN at authoring */
	size_t nwarnings;
} write_call;

static int write_apply(dd_wtxn *txn, void *ud, dd_error *err)
{
	write_call *wc = ud;
	return dd_admin_write_apply(txn, wc->w, err);
}

/* On the writer thread, once the batch holding the write is durable (or
 * failed). wc lives in the call's arena: finishing the call releases it. */
static void write_done(void *ud, int rc, uint64_t version, const dd_error *err)
{
	write_call *wc = ud;
	dd_call *call = wc->call;
	ProtobufCMessage *resp = NULL;
	dd_error oom;
	if (rc == DD_OK && wc->policy) {
		resp = &dd_admin_write_policy(wc->w)->base;
	} else if (rc == DD_OK) {
		Dealdesk__V1__WriteResponse *r = write_response(
			dd_call_arena(call), version, (uint32_t)dd_admin_write_count(wc->w));
		if (r != NULL) {
			r->warnings = wc->warnings;
			r->n_warnings = wc->nwarnings;
			resp = &r->base;
		}
		else
			err = &oom, rc = dd_error_set(&oom, DD_ENOMEM, "out of memory");
	}
	dd_call_finish(call, rc, resp, err);
}

/* Finishes call at once when prepare failed (rc, err); else queues w to the
 * writer and leaves the call pending. */
static int submit_write_warned(dd_call *call, int rc, dd_admin_write *w, int policy,
                               char **warnings, size_t nwarnings, dd_error *err);

static int submit_write(dd_call *call, int rc, dd_admin_write *w, int policy,
                        dd_error *err)
{
	return submit_write_warned(call, rc, w, policy, NULL, 0, err);
}

static int submit_write_warned(dd_call *call, int rc, dd_admin_write *w, int policy,
                               char **warnings, size_t nwarnings, dd_error *err)
{
	write_call *wc = NULL;
	if (rc == DD_OK && (wc = dd_arena_alloc(dd_call_arena(call), sizeof(*wc))) == NULL)
		rc = dd_error_set(err, DD_ENOMEM, "out of memory");
	if (rc != DD_OK)
		return dd_call_finish(call, rc, NULL, err);
	memset(wc, 0, sizeof(*wc));
	/* who: recorded with credit changes (a policy write names its own) */
	dd_admin_write_default_actor(w, dd_call_identity(call));
	wc->job.apply = write_apply;
	wc->job.done = write_done;
	wc->job.ud = wc;
	wc->call = call;
	wc->w = w;
	wc->policy = policy;
	dd_journal_audit(call, &wc->job);
	wc->warnings = warnings;
	wc->nwarnings = nwarnings;
	dd_writer *writer = dd_call_writer(call);
	rc = writer ? dd_writer_submit(writer, &wc->job) : DD_EINVAL;
	if (rc != DD_OK) {
		dd_error_set(err, DD_EINTERNAL, "server: the writer is not running");
		return dd_call_finish(call, DD_EINTERNAL, NULL, err);
	}
	return DD_CALL_PENDING;
}

static int h_put(dd_entity_kind kind, dd_call *call)
{
	dd_error err;
	dd_error_clear(&err);
	const ProtobufCMessage *req = dd_call_request(call);
	const ProtobufCFieldDescriptor *f = &req->descriptor->fields[0];
	size_t n = FIELD_COUNT(req, f);
	ProtobufCMessage *const *items = *(ProtobufCMessage *const **)FIELD_PTR(req, f);
	dd_admin_write *w = NULL;
	int rc = dd_admin_put_prepare(kind, items, n, f->name, dd_call_arena(call), &w, &err);
	if (rc == DD_OK && kind == DD_ENTITY_PROMOTION)
		dd_policy_mark_promotions(call, items, n);
	char **warnings = NULL;
	size_t nwarnings = 0;
	if (rc == DD_OK) /* the compliance checks at authoring */
		rc = dd_compliance_screen_write(call, kind, items, n, &warnings, &nwarnings, &err);
	return submit_write_warned(call, rc, w, 0, warnings, nwarnings, &err);
}

/* The key parts of a key message: its string fields, in order. */
static int key_parts(const ProtobufCMessage *req, const char *parts[3])
{
	int n = 0;
	const ProtobufCMessageDescriptor *d = req->descriptor;
	for (unsigned i = 0; i < d->n_fields && n < 3; i++)
		if (d->fields[i].type == PROTOBUF_C_TYPE_STRING)
			parts[n++] = *(const char **)FIELD_PTR(req, &d->fields[i]);
	return n;
}

/* The key parts of a Get/Delete request, each required. */
static int required_key(const ProtobufCMessage *req, const char *parts[3], dd_error *err)
{
	int n = key_parts(req, parts);
	for (int i = 0; i < n; i++)
		if (*parts[i] == '\0')
			return dd_error_set(err, DD_EINVAL, "%s: required",
			                    req->descriptor->fields[i].name);
	return DD_OK;
}

static int do_get(dd_entity_kind kind, dd_call *call, ProtobufCMessage **resp,
                  dd_error *err)
{
	const ProtobufCMessage *req = dd_call_request(call);
	const char *parts[3];
	int rc = required_key(req, parts, err);
	if (rc != DD_OK)
		return rc;
	return dd_admin_get(dd_call_store(call), kind, parts, dd_call_arena(call), resp, err);
}

static int h_delete(dd_entity_kind kind, dd_call *call)
{
	dd_error err;
	dd_error_clear(&err);
	const char *parts[3];
	dd_admin_write *w = NULL;
	int rc = required_key(dd_call_request(call), parts, &err);
	if (rc == DD_OK)
		rc = dd_admin_delete_prepare(kind, parts, dd_call_arena(call), &w, &err);
	return submit_write(call, rc, w, 0, &err);
}

static int do_list(dd_entity_kind kind, const ProtobufCMessageDescriptor *resp_desc,
                   dd_call *call, ProtobufCMessage **resp, dd_error *err)
{
	const ProtobufCMessage *req = dd_call_request(call);
	dd_arena *a = dd_call_arena(call);
	const char *parts[3];
	int n = 0;
	const Dealdesk__V1__PageRequest *page = NULL;
	const ProtobufCMessageDescriptor *d = req->descriptor;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		if (f->type == PROTOBUF_C_TYPE_STRING && n < 3) {
			parts[n] = *(const char **)FIELD_PTR(req, f);
			if (*parts[n] != '\0') {
				if (n < (int)i)
					return dd_error_set(err, DD_EINVAL,
					                    "%s: filtering on it needs %s too", f->name,
					                    d->fields[i - 1].name);
				n++;
			}
		} else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
			page = *(const Dealdesk__V1__PageRequest **)FIELD_PTR(req, f);
		}
	}
	ProtobufCMessage **items;
	size_t count;
	char *next;
	int rc = dd_admin_list(dd_call_store(call), kind, parts, n, page ? page->page_size : 0,
	                       page ? page->page_token : NULL, a, &items, &count, &next, err);
	if (rc != DD_OK)
		return rc;
	ProtobufCMessage *r = dd_arena_alloc(a, resp_desc->sizeof_message);
	if (r == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	protobuf_c_message_init(resp_desc, r);
	FIELD_COUNT(r, &resp_desc->fields[0]) = count;
	*(ProtobufCMessage ***)FIELD_PTR(r, &resp_desc->fields[0]) = items;
	*(char **)FIELD_PTR(r, &resp_desc->fields[1]) = next;
	*resp = r;
	return DD_OK;
}

#define SYNC_HANDLER(name, step) DD_SYNC_HANDLER(static, name, step)

#define ENTITY_HANDLERS(name, kind, list_desc)                                     \
	static int h_put_##name(dd_call *call)                                      \
	{                                                                           \
		return h_put(kind, call);                                           \
	}                                                                           \
	static int h_delete_##name(dd_call *call)                                   \
	{                                                                           \
		return h_delete(kind, call);                                        \
	}                                                                           \
	SYNC_HANDLER(h_get_##name, do_get(kind, call, &resp, &err))                 \
	SYNC_HANDLER(h_list_##name, do_list(kind, list_desc, call, &resp, &err))

ENTITY_HANDLERS(price, DD_ENTITY_PRICE, &dealdesk__v1__list_price_entries_response__descriptor)
ENTITY_HANDLERS(promotion, DD_ENTITY_PROMOTION, &dealdesk__v1__list_promotions_response__descriptor)
ENTITY_HANDLERS(customer, DD_ENTITY_CUSTOMER, &dealdesk__v1__list_customers_response__descriptor)
ENTITY_HANDLERS(check, DD_ENTITY_CHECK, &dealdesk__v1__list_compliance_checks_response__descriptor)
ENTITY_HANDLERS(signals, DD_ENTITY_SIGNALS, &dealdesk__v1__list_sku_signals_response__descriptor)
ENTITY_HANDLERS(coupon, DD_ENTITY_COUPON, &dealdesk__v1__list_coupons_response__descriptor)
ENTITY_HANDLERS(credit_tier, DD_ENTITY_CREDIT_TIER, &dealdesk__v1__list_credit_tiers_response__descriptor)

/* ---- policies ------------------------------------------------------------------ */

/* Who acts on a policy: the authenticated principal; the author and actor
 * strings of the request are ignored, except with --no-auth, where there is
 * no principal and they are all there is. */
static const char *actor(dd_call *call, const char *requested)
{
	if (dd_call_config(call)->no_auth)
		return requested;
	return dd_call_identity(call);
}

/* Compiled here, on the worker; the writer only numbers and stores it. */
static int h_upload_policy(dd_call *call)
{
	const Dealdesk__V1__UploadPolicyRequest *q = (const void *)dd_call_request(call);
	dd_error err;
	dd_error_clear(&err);
	dd_admin_write *w = NULL;
	int rc = dd_policy_upload_prepare((dd_policy_kind)q->kind, q->source, actor(call, q->author), q->comment, dd_handler_now(),
	                                  &dd_call_config(call)->limits.sandbox,
	                                  dd_call_arena(call), &w, &err);
	return submit_write(call, rc, w, 1, &err);
}

static int get_policy(dd_call *call, ProtobufCMessage **resp, dd_error *err)
{
	const Dealdesk__V1__PolicyKey *q = (const void *)dd_call_request(call);
	Dealdesk__V1__PolicyScript *p;
	int rc = q->sha256 && *q->sha256
	                 ? dd_policy_get_by_hash(call, q, &p, err)
	                 : dd_policy_get(dd_call_store(call), (dd_policy_kind)q->kind, q->version,
	                                 dd_call_arena(call), &p, err);
	if (rc == DD_OK)
		*resp = &p->base;
	return rc;
}

static int list_policies(dd_call *call, ProtobufCMessage **resp, dd_error *err)
{
	const Dealdesk__V1__ListPoliciesRequest *q = (const void *)dd_call_request(call);
	dd_arena *a = dd_call_arena(call);
	Dealdesk__V1__ListPoliciesResponse *r = dd_arena_alloc(a, sizeof(*r));
	if (r == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	dealdesk__v1__list_policies_response__init(r);
	int rc = dd_policy_list(dd_call_store(call), (dd_policy_kind)q->kind, q->page ? q->page->page_size : 0,
	                        q->page ? q->page->page_token : NULL, a, &r->policies,
	                        &r->n_policies, &r->next_page_token, err);
	if (rc == DD_OK)
		*resp = &r->base;
	return rc;
}

static int review(dd_call *call, int to)
{
	const Dealdesk__V1__ReviewPolicyRequest *q = (const void *)dd_call_request(call);
	dd_error err;
	dd_error_clear(&err);
	dd_admin_write *w = NULL;
	int rc = dd_policy_review_prepare((dd_policy_kind)q->kind, q->version, to, actor(call, q->actor), q->comment,
	                                  dd_handler_now(), dd_call_arena(call), &w, &err);
	return submit_write(call, rc, w, 1, &err);
}

static int h_approve_policy(dd_call *call)
{
	return review(call, DEALDESK__V1__POLICY_STATUS__POLICY_STATUS_APPROVED);
}

static int h_reject_policy(dd_call *call)
{
	return review(call, DEALDESK__V1__POLICY_STATUS__POLICY_STATUS_REJECTED);
}

static int h_activate_policy(dd_call *call)
{
	const Dealdesk__V1__ActivatePolicyRequest *q = (const void *)dd_call_request(call);
	dd_error err;
	dd_error_clear(&err);
	dd_admin_write *w = NULL;
	const dd_config *cfg = dd_call_config(call);
	int rc = dd_policy_activate_prepare((dd_policy_kind)q->kind, q->version, actor(call, q->actor),
	                                    cfg->require_approval || !cfg->no_auth, dd_handler_now(),
	                                    dd_call_arena(call), &w, &err);
	return submit_write(call, rc, w, 1, &err);
}

SYNC_HANDLER(h_get_policy, get_policy(call, &resp, &err))
SYNC_HANDLER(h_list_policies, list_policies(call, &resp, &err))

/* ---- tokens ---------------------------------------------------------------- */

typedef struct token_call {
	dd_writer_job job;
	dd_call *call;
	dd_admin_write *w;
	char *secret; /* create: shown once, in the response */
} token_call;

static int token_apply(dd_wtxn *txn, void *ud, dd_error *err)
{
	token_call *tc = ud;
	return dd_admin_write_apply(txn, tc->w, err);
}

static void token_done(void *ud, int rc, uint64_t version, const dd_error *err)
{
	(void)version;
	token_call *tc = ud;
	dd_call *call = tc->call;
	dd_arena *a = dd_call_arena(call);
	Dealdesk__V1__ApiToken *t = rc == DD_OK ? dd_admin_write_token(tc->w) : NULL;
	if (t != NULL) {
		t->secret_sha256.len = 0;
		t->secret_sha256.data = NULL;
	}
	if (rc != DD_OK || tc->secret == NULL) {
		dd_call_finish(call, rc, t ? &t->base : NULL, err);
		return;
	}
	Dealdesk__V1__CreateTokenResponse *r = dd_arena_alloc(a, sizeof(*r));
	dd_error oom;
	if (r == NULL) {
		dd_call_finish(call, dd_error_set(&oom, DD_ENOMEM, "out of memory"), NULL, &oom);
		return;
	}
	dealdesk__v1__create_token_response__init(r);
	r->token = t;
	r->secret = tc->secret;
	dd_call_finish(call, DD_OK, &r->base, NULL);
}

static int submit_token(dd_call *call, int rc, dd_admin_write *w, char *secret, dd_error *err)
{
	token_call *tc = NULL;
	if (rc == DD_OK && (tc = dd_arena_alloc(dd_call_arena(call), sizeof(*tc))) == NULL)
		rc = dd_error_set(err, DD_ENOMEM, "out of memory");
	if (rc != DD_OK)
		return dd_call_finish(call, rc, NULL, err);
	memset(tc, 0, sizeof(*tc));
	tc->job.apply = token_apply;
	tc->job.done = token_done;
	tc->job.ud = tc;
	tc->call = call;
	tc->w = w;
	tc->secret = secret;
	dd_journal_audit(call, &tc->job);
	dd_writer *writer = dd_call_writer(call);
	if (writer == NULL || dd_writer_submit(writer, &tc->job) != DD_OK) {
		dd_error_set(err, DD_EINTERNAL, "server: the writer is not running");
		return dd_call_finish(call, DD_EINTERNAL, NULL, err);
	}
	return DD_CALL_PENDING;
}

static int h_create_token(dd_call *call)
{
	const Dealdesk__V1__CreateTokenRequest *q = (const void *)dd_call_request(call);
	dd_error err;
	dd_error_clear(&err);
	dd_admin_write *w = NULL;
	char *secret = NULL;
	const char *by = *dd_call_identity(call) ? dd_call_identity(call) : "anonymous";
	int rc = dd_token_create_prepare(q->name, q->role, by, dd_handler_now(), dd_call_arena(call), &w,
	                                 &secret, &err);
	return submit_token(call, rc, w, secret, &err);
}

static int h_revoke_token(dd_call *call)
{
	const Dealdesk__V1__RevokeTokenRequest *q = (const void *)dd_call_request(call);
	dd_error err;
	dd_error_clear(&err);
	dd_admin_write *w = NULL;
	int rc = dd_token_revoke_prepare(q->name, dd_handler_now(), dd_call_arena(call), &w, &err);
	return submit_token(call, rc, w, NULL, &err);
}

static int list_tokens(dd_call *call, ProtobufCMessage **resp, dd_error *err)
{
	dd_arena *a = dd_call_arena(call);
	Dealdesk__V1__ListTokensResponse *r = dd_arena_alloc(a, sizeof(*r));
	if (r == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	dealdesk__v1__list_tokens_response__init(r);
	int rc = dd_token_list(dd_call_store(call), a, &r->tokens, &r->n_tokens, err);
	if (rc == DD_OK)
		*resp = &r->base;
	return rc;
}

SYNC_HANDLER(h_list_tokens, list_tokens(call, &resp, &err))

/* ---- who may call the policy methods ------------------------------------------ */

/* The role that writes policies of a kind, and the one that approves them:
 * pricing and promotions scripts are written by pricing and approved by
 * compliance, credit scripts written and approved by finance (by another
 * principal), compliance scripts written and approved by compliance. */
static dd_role policy_owner(int kind)
{
	switch (kind) {
	case DD_POLICY_PRICING:
	case DD_POLICY_PROMOTIONS: return DD_ROLE_PRICING;
	case DD_POLICY_CREDIT: return DD_ROLE_FINANCE;
	case DD_POLICY_COMPLIANCE: return DD_ROLE_COMPLIANCE;
	default: return DD_ROLE_NONE;
	}
}

static dd_role policy_approver(int kind)
{
	return kind == DD_POLICY_CREDIT ? DD_ROLE_FINANCE
	       : policy_owner(kind) != DD_ROLE_NONE ? DD_ROLE_COMPLIANCE
	                                            : DD_ROLE_NONE;
}

/* The kind field of a policy request: its first field in every one. */
static int request_kind(dd_call *call)
{
	const ProtobufCMessage *req = dd_call_request(call);
	const ProtobufCFieldDescriptor *f = &req->descriptor->fields[0];
	return *(const int *)FIELD_PTR(req, f);
}

static int denied(dd_call *call, const char *need, int kind, dd_error *err)
{
	const char *method = strrchr(dd_call_method(call), '/');
	return dd_error_set(err, DD_EDENIED, "%s on %s policies needs %s; the caller (%s) has %s",
	                    method ? method + 1 : dd_call_method(call),
	                    dd_policy_kind_name((dd_policy_kind)kind), need,
	                    dd_call_identity(call), dd_role_name(dd_call_role(call)));
}

static int known_kind(int kind, dd_error *err)
{
	if (policy_owner(kind) == DD_ROLE_NONE)
		return dd_error_set(err, DD_EINVAL, "kind: unknown policy kind %d", kind);
	return DD_OK;
}

/* Upload, submit, activate: the kind's owner (or admin). */
static int authorize_policy_write(dd_call *call, dd_error *err)
{
	int kind = request_kind(call);
	if (known_kind(kind, err) != DD_OK)
		return DD_EINVAL;
	dd_role r = dd_call_role(call), owner = policy_owner(kind);
	if (r == owner || r == DD_ROLE_ADMIN)
		return DD_OK;
	return denied(call, dd_role_name(owner), kind, err);
}

/* Approve, reject: the kind's approver; not admin, which is no reviewer. */
static int authorize_policy_review(dd_call *call, dd_error *err)
{
	int kind = request_kind(call);
	if (known_kind(kind, err) != DD_OK)
		return DD_EINVAL;
	dd_role approver = policy_approver(kind);
	if (dd_call_role(call) == approver)
		return DD_OK;
	return denied(call, dd_role_name(approver), kind, err);
}

/* Get, list: whoever writes or approves the kind (or admin); a list of
 * every kind (kind 0) any of them. */
static int authorize_policy_read(dd_call *call, dd_error *err)
{
	int kind = request_kind(call);
	dd_role r = dd_call_role(call);
	if (r == DD_ROLE_ADMIN)
		return DD_OK;
	if (kind == 0 && (r == DD_ROLE_PRICING || r == DD_ROLE_FINANCE || r == DD_ROLE_COMPLIANCE))
		return DD_OK;
	if (kind == 0 || known_kind(kind, err) != DD_OK)
		return kind == 0 ? dd_error_set(err, DD_EDENIED, "role %s may not read policies",
		                                dd_role_name(r))
		                 : DD_EINVAL;
	if (r == policy_owner(kind) || r == policy_approver(kind))
		return DD_OK;
	return denied(call, "the role that writes or approves them", kind, err);
}

/* The role each method needs. admin may call every method but approving
 * and rejecting policies (no reviewer); health is public. Reads of a
 * service need the role that writes it. The policy methods decide from the
 * request's kind (authorize). */
#define M(path, msg, fn, hot, role) { path, &msg##__descriptor, fn, hot, DD_ROLE_##role, NULL, 0 }
#define MP(path, msg, fn, authorize) { path, &msg##__descriptor, fn, 0, DD_ROLE_NONE, authorize, 0 }
#define MS(path, msg, fn, role, stream) { path, &msg##__descriptor, fn, 0, DD_ROLE_##role, NULL, stream }
const dd_method dd_methods[] = {
	M("/dealdesk.v1.QuoteService/Quote", dealdesk__v1__quote_request, h_quote, 1, CHECKOUT),
	M("/grpc.health.v1.Health/Check", grpc__health__v1__health_check_request, dd_health_check, 1, PUBLIC),
	M("/dealdesk.v1.CatalogAdmin/PutPriceEntries", dealdesk__v1__put_price_entries_request, h_put_price, 0, PRICING),
	M("/dealdesk.v1.CatalogAdmin/GetPriceEntry", dealdesk__v1__price_entry_key, h_get_price, 0, PRICING),
	M("/dealdesk.v1.CatalogAdmin/ListPriceEntries", dealdesk__v1__list_price_entries_request, h_list_price, 0, PRICING),
	M("/dealdesk.v1.CatalogAdmin/DeletePriceEntry", dealdesk__v1__price_entry_key, h_delete_price, 0, PRICING),
	M("/dealdesk.v1.CatalogAdmin/PutPromotions", dealdesk__v1__put_promotions_request, h_put_promotion, 0, PRICING),
	M("/dealdesk.v1.CatalogAdmin/GetPromotion", dealdesk__v1__promotion_key, h_get_promotion, 0, PRICING),
	M("/dealdesk.v1.CatalogAdmin/ListPromotions", dealdesk__v1__list_promotions_request, h_list_promotion, 0, PRICING),
	M("/dealdesk.v1.CatalogAdmin/DeletePromotion", dealdesk__v1__promotion_key, h_delete_promotion, 0, PRICING),
	M("/dealdesk.v1.CatalogAdmin/PutSkuSignals", dealdesk__v1__put_sku_signals_request, h_put_signals, 0, PRICING),
	M("/dealdesk.v1.CatalogAdmin/GetSkuSignals", dealdesk__v1__sku_key, h_get_signals, 0, PRICING),
	M("/dealdesk.v1.CatalogAdmin/ListSkuSignals", dealdesk__v1__list_sku_signals_request, h_list_signals, 0, PRICING),
	M("/dealdesk.v1.CatalogAdmin/DeleteSkuSignals", dealdesk__v1__sku_key, h_delete_signals, 0, PRICING),
	M("/dealdesk.v1.CatalogAdmin/PutCoupons", dealdesk__v1__put_coupons_request, h_put_coupon, 0, PRICING),
	M("/dealdesk.v1.CatalogAdmin/GetCoupon", dealdesk__v1__coupon_key, h_get_coupon, 0, PRICING),
	M("/dealdesk.v1.CatalogAdmin/ListCoupons", dealdesk__v1__list_coupons_request, h_list_coupon, 0, PRICING),
	M("/dealdesk.v1.CatalogAdmin/DeleteCoupon", dealdesk__v1__coupon_key, h_delete_coupon, 0, PRICING),
	M("/dealdesk.v1.CustomerAdmin/PutCustomers", dealdesk__v1__put_customers_request, h_put_customer, 0, FINANCE),
	M("/dealdesk.v1.CustomerAdmin/GetCustomer", dealdesk__v1__customer_key, h_get_customer, 0, FINANCE),
	M("/dealdesk.v1.CustomerAdmin/ListCustomers", dealdesk__v1__list_customers_request, h_list_customer, 0, FINANCE),
	M("/dealdesk.v1.CustomerAdmin/DeleteCustomer", dealdesk__v1__customer_key, h_delete_customer, 0, FINANCE),
	M("/dealdesk.v1.CustomerAdmin/PutCreditTiers", dealdesk__v1__put_credit_tiers_request, h_put_credit_tier, 0, FINANCE),
	M("/dealdesk.v1.CustomerAdmin/GetCreditTier", dealdesk__v1__credit_tier_key, h_get_credit_tier, 0, FINANCE),
	M("/dealdesk.v1.CustomerAdmin/ListCreditTiers", dealdesk__v1__list_credit_tiers_request, h_list_credit_tier, 0, FINANCE),
	M("/dealdesk.v1.CustomerAdmin/DeleteCreditTier", dealdesk__v1__credit_tier_key, h_delete_credit_tier, 0, FINANCE),
	M("/dealdesk.v1.ComplianceAdmin/PutComplianceChecks", dealdesk__v1__put_compliance_checks_request, h_put_check, 0, COMPLIANCE),
	M("/dealdesk.v1.ComplianceAdmin/GetComplianceCheck", dealdesk__v1__compliance_check_key, h_get_check, 0, COMPLIANCE),
	M("/dealdesk.v1.ComplianceAdmin/ListComplianceChecks", dealdesk__v1__list_compliance_checks_request, h_list_check, 0, COMPLIANCE),
	M("/dealdesk.v1.ComplianceAdmin/DeleteComplianceCheck", dealdesk__v1__compliance_check_key, h_delete_check, 0, COMPLIANCE),
	MP("/dealdesk.v1.PolicyAdmin/UploadPolicy", dealdesk__v1__upload_policy_request, h_upload_policy, authorize_policy_write),
	MP("/dealdesk.v1.PolicyAdmin/GetPolicy", dealdesk__v1__policy_key, h_get_policy, authorize_policy_read),
	MP("/dealdesk.v1.PolicyAdmin/ListPolicies", dealdesk__v1__list_policies_request, h_list_policies, authorize_policy_read),
	MP("/dealdesk.v1.PolicyAdmin/SubmitPolicy", dealdesk__v1__review_policy_request, dd_policy_h_submit, authorize_policy_write),
	MP("/dealdesk.v1.PolicyAdmin/ApprovePolicy", dealdesk__v1__review_policy_request, h_approve_policy, authorize_policy_review),
	MP("/dealdesk.v1.PolicyAdmin/RejectPolicy", dealdesk__v1__review_policy_request, h_reject_policy, authorize_policy_review),
	MP("/dealdesk.v1.PolicyAdmin/ActivatePolicy", dealdesk__v1__activate_policy_request, h_activate_policy, authorize_policy_write),
	MP("/dealdesk.v1.PolicyAdmin/CommentPolicy", dealdesk__v1__comment_policy_request, dd_policy_h_comment, authorize_policy_read),
	MP("/dealdesk.v1.PolicyAdmin/RollbackPolicy", dealdesk__v1__rollback_policy_request, dd_policy_h_rollback, authorize_policy_write),
	MP("/dealdesk.v1.PolicyAdmin/DiffPolicies", dealdesk__v1__diff_policies_request, dd_policy_h_diff, authorize_policy_read),
	MP("/dealdesk.v1.PolicyAdmin/ApprovePromotion", dealdesk__v1__approve_promotion_request, dd_policy_h_approve_promotion, dd_policy_authorize_promotion_review),
	M("/dealdesk.v1.TokenAdmin/CreateToken", dealdesk__v1__create_token_request, h_create_token, 0, ADMIN),
	M("/dealdesk.v1.TokenAdmin/ListTokens", dealdesk__v1__list_tokens_request, h_list_tokens, 0, ADMIN),
	M("/dealdesk.v1.TokenAdmin/RevokeToken", dealdesk__v1__revoke_token_request, h_revoke_token, 0, ADMIN),
	M("/dealdesk.v1.OrderService/Commit", dealdesk__v1__commit_request, dd_orders_commit, 1, CHECKOUT),
	M("/dealdesk.v1.OrderService/Cancel", dealdesk__v1__order_key, dd_orders_cancel, 0, CHECKOUT),
	M("/dealdesk.v1.OrderService/GetOrder", dealdesk__v1__order_key, dd_orders_get_order, 0, CHECKOUT),
	M("/dealdesk.v1.OrderService/ListOrders", dealdesk__v1__list_orders_request, dd_orders_list_orders, 0, CHECKOUT),
	M("/dealdesk.v1.OrderService/ListHeldOrders", dealdesk__v1__list_orders_request, dd_orders_list_held_orders, 0, FINANCE),
	M("/dealdesk.v1.OrderService/ReleaseOrder", dealdesk__v1__order_decision_request, dd_orders_release_order, 0, FINANCE),
	M("/dealdesk.v1.OrderService/RejectOrder", dealdesk__v1__order_decision_request, dd_orders_reject_order, 0, FINANCE),
	M("/dealdesk.v1.OrderService/VerifyCounters", dealdesk__v1__verify_counters_request, dd_orders_verify_counters, 0, FINANCE),
	M("/dealdesk.v1.OrderService/Invoice", dealdesk__v1__invoice_request, dd_orders_invoice, 0, FINANCE),
	M("/dealdesk.v1.OrderService/RecordPayment", dealdesk__v1__record_payment_request, dd_orders_record_payment, 0, FINANCE),
	M("/dealdesk.v1.OrderService/GetInvoice", dealdesk__v1__invoice_key, dd_orders_get_invoice, 0, FINANCE),
	M("/dealdesk.v1.OrderService/PutReceivables", dealdesk__v1__put_receivables_request, dd_orders_put_receivables, 0, FINANCE),
	M("/dealdesk.v1.OrderService/ListCreditChanges", dealdesk__v1__list_credit_changes_request, dd_orders_credit_changes, 0, FINANCE),
	M("/dealdesk.v1.AnalyticsService/GetCustomerValue", dealdesk__v1__get_customer_value_request, dd_analytics_h_customer_value, 0, FINANCE),
	M("/dealdesk.v1.AnalyticsService/ListSegments", dealdesk__v1__list_segments_request, dd_analytics_h_segments, 0, FINANCE),
	M("/dealdesk.v1.AnalyticsService/RecomputeRfm", dealdesk__v1__recompute_rfm_request, dd_analytics_h_recompute, 0, FINANCE),
	MP("/dealdesk.v1.AnalyticsService/GetExperimentReport", dealdesk__v1__get_experiment_report_request, dd_analytics_h_experiments, dd_analytics_authorize_report),
	M("/dealdesk.v1.AnalyticsService/GetSalesKpis", dealdesk__v1__get_sales_kpis_request, dd_analytics_h_kpis, 0, FINANCE),
	M("/dealdesk.v1.OrderService/ListInvoices", dealdesk__v1__list_invoices_request, dd_orders_list_invoices, 0, FINANCE),
	M("/dealdesk.v1.BackupAdmin/Backup", dealdesk__v1__backup_request, dd_backup_backup, 0, ADMIN),
	MS("/grpc.health.v1.Health/Watch", grpc__health__v1__health_check_request, dd_health_watch, PUBLIC, DD_STREAM_SERVER | DD_STREAM_LONG),
	/* v1alpha has v1's wire format: one decoder for both */
	MS("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", grpc__reflection__v1__server_reflection_request, dd_reflection_info, PUBLIC, DD_STREAM_CLIENT | DD_STREAM_SERVER),
	MS("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", grpc__reflection__v1__server_reflection_request, dd_reflection_info, PUBLIC, DD_STREAM_CLIENT | DD_STREAM_SERVER),
	M("/dealdesk.v1.ServerAdmin/GetStatus", dealdesk__v1__get_status_request, dd_status_get, 0, ADMIN),
	M("/dealdesk.v1.DecisionLog/GetDecision", dealdesk__v1__decision_key, dd_journal_get_decision, 0, COMPLIANCE),
	M("/dealdesk.v1.DecisionLog/ListDecisions", dealdesk__v1__list_decisions_request, dd_journal_list_decisions, 0, COMPLIANCE),
	M("/dealdesk.v1.DecisionLog/ReplayDecision", dealdesk__v1__decision_key, dd_journal_replay_decision, 0, COMPLIANCE),
	M("/dealdesk.v1.DecisionLog/GetDecisionLogStats", dealdesk__v1__decision_log_stats_request, dd_journal_decision_stats, 0, COMPLIANCE),
	M("/dealdesk.v1.DecisionLog/Impact", dealdesk__v1__impact_request, dd_journal_impact, 0, COMPLIANCE),
	M("/dealdesk.v1.AuditLog/ListAudit", dealdesk__v1__list_audit_request, dd_journal_list_audit, 0, COMPLIANCE),
	M("/dealdesk.v1.AuditLog/VerifyAudit", dealdesk__v1__verify_audit_request, dd_journal_verify_audit, 0, COMPLIANCE),
	M("/dealdesk.v1.ComplianceService/GetPriceHistory", dealdesk__v1__price_history_request, dd_compliance_get_price_history, 0, COMPLIANCE),
	{ NULL, NULL, NULL, 0, DD_ROLE_NONE, NULL, 0 },
};
