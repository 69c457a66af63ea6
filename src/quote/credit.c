/* dealdesk quote, stage 5: the credit decision. The engine computes the
 * exposure this order would bring (open receivables + committed orders +
 * the order, when in the credit currency); the credit policy's
 * decide(ctx, credit) chooses the outcome. A failing or malformed policy
 * gives REVIEW with the reason (fail-safe), never an approval. */
#include "quoter.h"

#include <stdio.h>
#include <string.h>

#include <lauxlib.h>

#include "readers.h"

static const char *const outcome_names[] = {
	"UNSPECIFIED", "APPROVE", "APPROVE_SHORTER_TERMS", "DEPOSIT", "PREPAY", "REVIEW",
	"DECLINE", NULL,
};

static void failsafe(quote_run *r, const char *why)
{
	qo_credit *d = &r->order.credit;
	d->outcome = DEALDESK__V1__CREDIT_OUTCOME__CREDIT_OUTCOME_REVIEW;
	d->terms_days = 0;
	d->deposit = 0;
	d->reasons = dd_arena_alloc(r->arena, sizeof(char *));
	d->nreasons = 0;
	if (d->reasons) {
		d->reasons[0] = dd_arena_printf(r->arena, "POLICY_ERROR: %s", why);
		d->nreasons = d->reasons[0] ? 1 : 0;
	}
	quote_trace(r, "credit", "fail-safe", 1, "REVIEW because the credit policy failed: %s", why);
}

typedef struct credit_answer {
	int outcome;
	int64_t terms_days, deposit;
} credit_answer;

typedef struct credit_read {
	quote_run *r;
} credit_read;

static int read_decision(lua_State *L, void *ud)
{
	quote_run *r = ((credit_read *)ud)->r;
	qo_credit *d = &r->order.credit;
	const quote_field fields[] = {
		{ "outcome", QF_ENUM, offsetof(credit_answer, outcome), 1, 0, 0, 0, NULL,
		  outcome_names },
		{ "terms_days", QF_INT, offsetof(credit_answer, terms_days), 0, 0, 365, 0, NULL,
		  NULL },
		{ "deposit", QF_INT, offsetof(credit_answer, deposit), 0, 0, r->order.total, 0, NULL,
		  NULL },
	};
	credit_answer a;
	char why[160];
	if (!quote_read_record(L, 1, fields, 3, &a, r->arena, why, sizeof(why)))
		return DD_EPOLICY;
	size_t n = 0;
	if (quote_raw(L, 1, "reasons") == LUA_TTABLE) {
		n = lua_rawlen(L, -1);
		if (n > 32)
			n = 32;
		d->reasons = dd_arena_calloc(r->arena, n ? n : 1, sizeof(char *));
		if (d->reasons == NULL)
			return DD_ENOMEM;
		for (size_t i = 0; i < n; i++) {
			size_t len;
			lua_rawgeti(L, -1, (lua_Integer)i + 1);
			const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &len) : NULL;
			if (s == NULL)
				return DD_EPOLICY;
			/* free text: the sandbox's rule (valid UTF-8, cut at QO_MAX_TEXT) */
			if ((d->reasons[i] = quote_text(r->arena, s, len, QO_MAX_TEXT)) == NULL)
				return DD_ENOMEM;
			lua_pop(L, 1);
		}
	}
	d->outcome = a.outcome;
	d->terms_days = (int32_t)a.terms_days;
	d->deposit = a.deposit;
	d->nreasons = n;
	return DD_OK;
}

int quote_credit(quote_run *r)
{
	dd_quoter *q = r->q;
	qo_order *o = &r->order;
	qo_credit *d = &o->credit;
	const Dealdesk__V1__CreditProfile *c = o->customer->credit;
	d->present = c != NULL; /* open_orders was read by load */
	d->same_currency = c != NULL && strcmp(c->currency, o->req->currency) == 0;
	int overflow = 0;
	if (c != NULL) {
		overflow |= dd_money_add(c->open_receivables, c->committed_orders, &d->exposure);
		/* open orders within the tier's horizon (all of them without one) */
		overflow |= dd_money_add(d->exposure, d->open_orders - d->open_orders_beyond,
		                         &d->exposure);
		overflow |= dd_money_add(d->exposure, d->receivables, &d->exposure);
		if (d->same_currency)
			overflow |= dd_money_add(d->exposure, o->total, &d->exposure);
		const Dealdesk__V1__CreditTier *t = d->tier; /* load resolved it */
		d->limit = c->credit_limit;
		/* the tier's limit for a profile without one, in its currency */
		if (d->limit == 0 && t && t->credit_limit > 0 && strcmp(t->currency, c->currency) == 0)
			d->limit = t->credit_limit;
		d->standard_terms_days = c->standard_terms_days ? c->standard_terms_days
		                                                : (t ? t->terms_days : 0);
	}
	if (overflow || dd_money_sub(d->limit, d->exposure, &d->available)) {
		failsafe(r, "exposure overflows int64");
		return DD_OK;
	}
	/* after the promotions: new amounts, maybe gift lines */
	int what = QV_AMOUNTS | QV_CREDIT | (o->nlines > o->nrequested ? QV_LINES : 0);
	int rc = quote_view_sync(r, what);
	if (rc != DD_OK)
		return rc;
	lua_rawgeti(q->L, LUA_REGISTRYINDEX, q->ctx_view);
	lua_rawgeti(q->L, LUA_REGISTRYINDEX, q->credit_view);
	rc = quote_call_policy(r, DD_POLICY_CREDIT, 2);
	if (rc == DD_OK) {
		credit_read cr = { r };
		rc = quote_protected(q->L, read_decision, &cr);
		if (rc == DD_OK)
			return DD_OK;
		dd_error_set(r->err, DD_EPOLICY,
		             "decide() must return {outcome=APPROVE|APPROVE_SHORTER_TERMS|DEPOSIT|"
		             "PREPAY|REVIEW|DECLINE, terms_days=0..365, deposit=0..total, reasons={...}}");
		quote_policy_fail(r, DD_POLICY_CREDIT, "bad result; decision is REVIEW");
	} else {
		quote_policy_fail(r, DD_POLICY_CREDIT, "failed; decision is REVIEW");
	}
	failsafe(r, r->err->msg);
	dd_error_clear(r->err);
	return DD_OK;
}
