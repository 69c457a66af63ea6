/* dealdeskd handlers: the reviewed-rules part of dealdesk.v1.PolicyAdmin
 * (issue 10): SubmitPolicy running the script's own test cases,
 * CommentPolicy, RollbackPolicy, DiffPolicies, ApprovePromotion, GetPolicy
 * by content hash, and the compliance review marks of PutPromotions. The
 * method table in handlers.c names them. */
#include "handlers.h"
#include "handlers_journal.h"

#include <string.h>

#include "dealdesk/governance.h"
#include "dealdesk/policytest.h"
#include "dealdesk/v1/admin.pb-c.h"

/* Who acts: the authenticated principal, or with --no-auth the name the
 * request gives (there is no principal then). */
static const char *actor_of(dd_call *call, const char *requested)
{
	return dd_call_config(call)->no_auth ? requested : dd_call_identity(call);
}

/* ---- writes answered by the writer ------------------------------------------------ */

typedef struct gov_call {
	dd_writer_job job;
	dd_call *call;
	dd_admin_write *w;
} gov_call;

static int gov_apply(dd_wtxn *txn, void *ud, dd_error *err)
{
	gov_call *gc = ud;
	return dd_admin_write_apply(txn, gc->w, err);
}

static void gov_done(void *ud, int rc, uint64_t version, const dd_error *err)
{
	(void)version;
	gov_call *gc = ud;
	ProtobufCMessage *resp = NULL;
	if (rc == DD_OK) {
		Dealdesk__V1__Promotion *p = dd_promotion_write_result(gc->w);
		resp = p ? &p->base : &dd_admin_write_policy(gc->w)->base;
	}
	dd_call_finish(gc->call, rc, resp, err);
}

static int gov_submit(dd_call *call, int rc, dd_admin_write *w, dd_error *err)
{
	gov_call *gc = NULL;
	if (rc == DD_OK && (gc = dd_arena_alloc(dd_call_arena(call), sizeof(*gc))) == NULL)
		rc = dd_error_set(err, DD_ENOMEM, "out of memory");
	if (rc != DD_OK)
		return dd_call_finish(call, rc, NULL, err);
	memset(gc, 0, sizeof(*gc));
	dd_admin_write_default_actor(w, dd_call_identity(call));
	gc->job.apply = gov_apply;
	gc->job.done = gov_done;
	gc->job.ud = gc;
	gc->call = call;
	gc->w = w;
	dd_journal_audit(call, &gc->job);
	dd_writer *writer = dd_call_writer(call);
	if (writer == NULL || dd_writer_submit(writer, &gc->job) != DD_OK) {
		dd_error_set(err, DD_EINTERNAL, "server: the writer is not running");
		return dd_call_finish(call, DD_EINTERNAL, NULL, err);
	}
	return DD_CALL_PENDING;
}

/* ---- submit: the script's own cases first ----------------------------------------- */

/* Runs the test cases of a DRAFT version, on this worker: each case in a
 * scratch store, so the live store and the writer are not involved.
 * DD_EPRECOND naming the failing case. A version in another state is left
 * to the writer to refuse. */
static int run_tests(dd_call *call, int kind, uint64_t version, unsigned *run,
                     unsigned *passed, dd_error *err)
{
	*run = *passed = 0;
	if (version == 0)
		return dd_error_set(err, DD_EINVAL, "version: required");
	Dealdesk__V1__PolicyScript *p;
	int rc = dd_policy_get(dd_call_store(call), (dd_policy_kind)kind, version,
	                       dd_call_arena(call), &p, err);
	if (rc != DD_OK || p->status != DEALDESK__V1__POLICY_STATUS__POLICY_STATUS_DRAFT)
		return rc;
	unsigned need = dd_call_config(call)->min_policy_tests;
	const char *name = dd_policy_kind_name((dd_policy_kind)kind);
	const char *json;
	size_t len;
	rc = dd_policytest_extract(p->source, &json, &len);
	if (rc == DD_EINVAL)
		return dd_error_set(err, DD_EPRECOND,
		                    "tests: the --[=[dealdesk:tests block of %s policy version %llu "
		                    "is not closed by ]=]", name, (unsigned long long)version);
	dd_policytest_result res = { 0, 0, "" };
	if (rc == DD_OK) {
		dd_error terr;
		dd_error_clear(&terr);
		if (dd_policytest_run(json, len, (dd_policy_kind)kind, p->source, NULL, &res, &terr) !=
		    DD_OK)
			return dd_error_set(err, DD_EPRECOND, "%s policy version %llu: %s", name,
			                    (unsigned long long)version, terr.msg);
	}
	if (res.passed != res.run)
		return dd_error_set(err, DD_EPRECOND,
		                    "tests: %u of %u cases of %s policy version %llu failed; first "
		                    "failing %.400s",
		                    res.run - res.passed, res.run, name, (unsigned long long)version,
		                    res.first_failure);
	if (res.run < need)
		return dd_error_set(err, DD_EPRECOND,
		                    "tests: %s policy version %llu has %u test cases; the server "
		                    "requires at least %u (--min-policy-tests)",
		                    name, (unsigned long long)version, res.run, need);
	*run = res.run;
	*passed = res.passed;
	return DD_OK;
}

int dd_policy_h_submit(dd_call *call)
{
	const Dealdesk__V1__ReviewPolicyRequest *q = (const void *)dd_call_request(call);
	dd_error err;
	dd_error_clear(&err);
	dd_admin_write *w = NULL;
	unsigned run, passed;
	int rc = run_tests(call, q->kind, q->version, &run, &passed, &err);
	if (rc == DD_OK)
		rc = dd_policy_submit_prepare((dd_policy_kind)q->kind, q->version,
		                              actor_of(call, q->actor), q->comment, run, passed,
		                              dd_handler_now(), dd_call_arena(call), &w, &err);
	return gov_submit(call, rc, w, &err);
}

int dd_policy_h_comment(dd_call *call)
{
	const Dealdesk__V1__CommentPolicyRequest *q = (const void *)dd_call_request(call);
	dd_error err;
	dd_error_clear(&err);
	dd_admin_write *w = NULL;
	int rc = dd_policy_comment_prepare((dd_policy_kind)q->kind, q->version,
	                                   actor_of(call, q->actor), q->text, dd_handler_now(),
	                                   dd_call_arena(call), &w, &err);
	return gov_submit(call, rc, w, &err);
}

int dd_policy_h_rollback(dd_call *call)
{
	const Dealdesk__V1__RollbackPolicyRequest *q = (const void *)dd_call_request(call);
	dd_error err;
	dd_error_clear(&err);
	dd_admin_write *w = NULL;
	int rc = dd_policy_rollback_prepare((dd_policy_kind)q->kind, actor_of(call, q->actor),
	                                    q->comment, dd_handler_now(), dd_call_arena(call), &w,
	                                    &err);
	return gov_submit(call, rc, w, &err);
}

int dd_policy_h_approve_promotion(dd_call *call)
{
	const Dealdesk__V1__ApprovePromotionRequest *q = (const void *)dd_call_request(call);
	dd_error err;
	dd_error_clear(&err);
	dd_admin_write *w = NULL;
	int rc = dd_promotion_approve_prepare(q->id, actor_of(call, q->actor), q->comment,
	                                      dd_handler_now(), dd_call_arena(call), &w, &err);
	return gov_submit(call, rc, w, &err);
}

/* ---- reads ---------------------------------------------------------------------------- */

static int diff(dd_call *call, ProtobufCMessage **resp, dd_error *err)
{
	const Dealdesk__V1__DiffPoliciesRequest *q = (const void *)dd_call_request(call);
	dd_arena *a = dd_call_arena(call);
	Dealdesk__V1__DiffPoliciesResponse *r = dd_arena_alloc(a, sizeof(*r));
	if (r == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	dealdesk__v1__diff_policies_response__init(r);
	int rc = dd_policy_diff(dd_call_store(call), (dd_policy_kind)q->kind, q->from, q->to, a,
	                        &r->diff, &r->from_sha256, &r->to_sha256, err);
	if (rc == DD_OK)
		*resp = &r->base;
	return rc;
}

DD_SYNC_HANDLER(, dd_policy_h_diff, diff(call, &resp, &err))

/* ApprovePromotion: compliance only; admin is no reviewer. */
int dd_policy_authorize_promotion_review(dd_call *call, dd_error *err)
{
	if (dd_call_role(call) == DD_ROLE_COMPLIANCE)
		return DD_OK;
	return dd_error_set(err, DD_EDENIED,
	                    "ApprovePromotion needs compliance; the caller (%s) has %s",
	                    dd_call_identity(call), dd_role_name(dd_call_role(call)));
}

/* ---- hooks in the generic handlers ------------------------------------------------ */

/* As for policy approval: always outside --no-auth (where principals
 * exist), with --no-auth only under --require-approval. */
void dd_policy_mark_promotions(dd_call *call, ProtobufCMessage *const *items, size_t n)
{
	const dd_config *cfg = dd_call_config(call);
	int review = !cfg->no_auth || cfg->require_approval;
	dd_promotion_review_mark(items, n, cfg->no_auth ? "" : dd_call_identity(call),
	                         review ? (int32_t)cfg->promotion_review_bps : -1);
}

int dd_policy_get_by_hash(dd_call *call, const Dealdesk__V1__PolicyKey *q,
                          Dealdesk__V1__PolicyScript **out, dd_error *err)
{
	int rc = dd_policy_get_by_sha256(dd_call_store(call), (dd_policy_kind)q->kind, q->sha256,
	                                 dd_call_arena(call), out, err);
	if (rc == DD_OK && q->version != 0 && (*out)->version != q->version)
		return dd_error_set(err, DD_EINVAL, "sha256: names version %llu, not version %llu",
		                    (unsigned long long)(*out)->version,
		                    (unsigned long long)q->version);
	if (rc == DD_OK) /* listings omit sources: read the version itself */
		rc = dd_policy_get(dd_call_store(call), (dd_policy_kind)q->kind, (*out)->version,
		                   dd_call_arena(call), out, err);
	return rc;
}
