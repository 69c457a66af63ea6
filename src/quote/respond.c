/* dealdesk quote, stage 7: the response, built once from the order state.
 * Every string in it was checked (UTF-8, length) where it entered the
 * state; everything lives in the run's arena. */
#include "quoter.h"

#include <string.h>

#include "dealdesk/history.h"

#define NEW(r, T, init)                                                \
	({                                                             \
		T *x_ = dd_arena_alloc((r)->arena, sizeof(T));        \
		if (x_)                                                \
			init(x_);                                      \
		x_;                                                    \
	})

static void *array(quote_run *r, size_t n, size_t elem)
{
	return dd_arena_alloc(r->arena, (n ? n : 1) * elem);
}

static Dealdesk__V1__AppliedDiscount *discount(quote_run *r, const qo_discount *d)
{
	Dealdesk__V1__AppliedDiscount *o =
		NEW(r, Dealdesk__V1__AppliedDiscount, dealdesk__v1__applied_discount__init);
	if (o) {
		o->promotion_id = (char *)d->promotion_id;
		o->kind = d->kind;
		o->amount = d->amount;
		o->description = (char *)(d->description ? d->description : "");
	}
	return o;
}

static int line(quote_run *r, size_t i, Dealdesk__V1__QuoteLine *o)
{
	const qo_line *l = &r->order.lines[i];
	dealdesk__v1__quote_line__init(o);
	o->line_no = (int32_t)i;
	o->sku = (char *)l->sku;
	o->quantity = l->quantity;
	o->price_list_id = l->price->price_list_id;
	o->unit_list_price = l->price->unit_price;
	o->unit_price = l->unit_price;
	o->price_reason = (char *)l->price_reason;
	o->price_tier = l->price_tier;
	o->line_subtotal = l->subtotal;
	o->discount_total = l->discount;
	o->line_total = qo_line_total(l);
	o->gift = l->gift;
	size_t n = l->line_disc.n + l->order_disc.n;
	o->discounts = array(r, n, sizeof(*o->discounts));
	if (o->discounts == NULL)
		return DD_ENOMEM;
	for (size_t k = 0; k < l->line_disc.n; k++)
		if ((o->discounts[o->n_discounts++] = discount(r, &l->line_disc.v[k])) == NULL)
			return DD_ENOMEM;
	for (size_t k = 0; k < l->order_disc.n; k++)
		if ((o->discounts[o->n_discounts++] = discount(r, &l->order_disc.v[k])) == NULL)
			return DD_ENOMEM;
	return DD_OK;
}

static int credit(quote_run *r, Dealdesk__V1__QuoteResponse *resp)
{
	const qo_credit *c = &r->order.credit;
	Dealdesk__V1__CreditDecision *d =
		NEW(r, Dealdesk__V1__CreditDecision, dealdesk__v1__credit_decision__init);
	if (d == NULL)
		return DD_ENOMEM;
	const Dealdesk__V1__CreditProfile *p = r->order.customer->credit;
	d->outcome = c->outcome;
	d->payment_terms_days = c->terms_days;
	d->deposit_amount = c->deposit;
	d->credit_limit = c->limit;
	d->exposure = c->exposure;
	d->available_credit = c->available;
	/* the row of the tier table the decision used (the profile's own tier
	 * when none applied) */
	d->tier = c->tier ? c->tier->name : p ? p->tier : (char *)"";
	d->reasons = (char **)c->reasons;
	d->n_reasons = c->nreasons;
	resp->credit = d;
	return DD_OK;
}

/* A price claim's evidence: the history series and its hash (claims.c). */
static int evidence(quote_run *r, const qo_result *s, Dealdesk__V1__ComplianceResult *c)
{
	c->promotion_id = (char *)(s->promotion_id ? s->promotion_id : "");
	c->window_from = s->window_from;
	c->window_to = s->window_to;
	c->evidence_sha256 = (char *)s->evidence_sha256;
	c->evidence = array(r, s->nevidence, sizeof(*c->evidence));
	if (c->evidence == NULL && s->nevidence > 0)
		return DD_ENOMEM;
	for (size_t i = 0; i < s->nevidence; i++) {
		const dd_price_point *p = &s->evidence[i];
		Dealdesk__V1__PricePoint *e =
			NEW(r, Dealdesk__V1__PricePoint, dealdesk__v1__price_point__init);
		if (e == NULL)
			return DD_ENOMEM;
		e->from = p->from;
		e->to = p->to;
		e->price = p->price;
		e->source = (char *)dd_price_point_source(p);
		e->ref = (char *)(p->ref ? p->ref : "");
		c->evidence[c->n_evidence++] = e;
	}
	return DD_OK;
}

static int compliance(quote_run *r, Dealdesk__V1__QuoteResponse *resp)
{
	size_t n = r->order.compliance.n;
	resp->compliance = array(r, n, sizeof(*resp->compliance));
	if (resp->compliance == NULL)
		return DD_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const qo_result *s = &r->order.compliance.v[i];
		Dealdesk__V1__ComplianceResult *c =
			NEW(r, Dealdesk__V1__ComplianceResult, dealdesk__v1__compliance_result__init);
		if (c == NULL)
			return DD_ENOMEM;
		c->check_id = (char *)s->check_id;
		c->status = s->status;
		c->message = (char *)s->message;
		c->line_no = s->line_no;
		c->computed_value = s->value;
		c->limit_value = s->limit;
		if (s->promotion_id != NULL)
			c->promotion_id = (char *)s->promotion_id;
		if (s->evidence_sha256 != NULL && evidence(r, s, c) != DD_OK)
			return DD_ENOMEM;
		resp->compliance[resp->n_compliance++] = c;
	}
	resp->compliance_status = r->order.compliance_status;
	return DD_OK;
}

static int extras(quote_run *r, Dealdesk__V1__QuoteResponse *resp)
{
	const qo_order *o = &r->order;
	resp->order_discounts = array(r, o->order_discounts.n, sizeof(*resp->order_discounts));
	resp->promotion_notes = array(r, o->notes.n, sizeof(*resp->promotion_notes));
	resp->coupons = array(r, o->coupon_results.n, sizeof(*resp->coupons));
	resp->experiments = array(r, o->experiments.n, sizeof(*resp->experiments));
	if (!resp->order_discounts || !resp->promotion_notes || !resp->coupons || !resp->experiments)
		return DD_ENOMEM;
	for (size_t i = 0; i < o->order_discounts.n; i++)
		if ((resp->order_discounts[resp->n_order_discounts++] =
		             discount(r, &o->order_discounts.v[i])) == NULL)
			return DD_ENOMEM;
	for (size_t i = 0; i < o->notes.n; i++) {
		Dealdesk__V1__PromotionNote *n =
			NEW(r, Dealdesk__V1__PromotionNote, dealdesk__v1__promotion_note__init);
		if (n == NULL)
			return DD_ENOMEM;
		n->promotion_id = (char *)o->notes.v[i].promotion_id;
		n->code = (char *)o->notes.v[i].code;
		n->message = (char *)o->notes.v[i].message;
		resp->promotion_notes[resp->n_promotion_notes++] = n;
	}
	for (size_t i = 0; i < o->coupon_results.n; i++) {
		const qo_coupon_result *s = &o->coupon_results.v[i];
		Dealdesk__V1__CouponResult *c =
			NEW(r, Dealdesk__V1__CouponResult, dealdesk__v1__coupon_result__init);
		if (c == NULL)
			return DD_ENOMEM;
		c->code = (char *)s->code;
		c->accepted = s->accepted;
		c->reason = (char *)s->reason;
		c->promotion_id = (char *)s->promotion_id;
		resp->coupons[resp->n_coupons++] = c;
	}
	for (size_t i = 0; i < o->experiments.n; i++) {
		const qo_experiment *s = &o->experiments.v[i];
		Dealdesk__V1__ExperimentAssignment *a = NEW(r, Dealdesk__V1__ExperimentAssignment,
		                                            dealdesk__v1__experiment_assignment__init);
		if (a == NULL)
			return DD_ENOMEM;
		a->experiment_id = (char *)s->experiment_id;
		a->promotion_id = (char *)s->promotion_id;
		a->arm = (char *)s->arm;
		resp->experiments[resp->n_experiments++] = a;
	}
	return DD_OK;
}

static int trace(quote_run *r, Dealdesk__V1__QuoteResponse *resp)
{
	size_t n = r->order.trace.n;
	if (n == 0)
		return DD_OK;
	Dealdesk__V1__TraceEntry *e = array(r, n, sizeof(*e));
	resp->trace = array(r, n, sizeof(*resp->trace));
	if (e == NULL || resp->trace == NULL)
		return DD_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const qo_trace *t = &r->order.trace.v[i];
		dealdesk__v1__trace_entry__init(&e[i]);
		e[i].stage = (char *)t->stage;
		e[i].rule = (char *)t->rule;
		e[i].applied = t->applied;
		e[i].detail = (char *)t->detail;
		resp->trace[i] = &e[i];
	}
	resp->n_trace = n;
	return DD_OK;
}

int quote_respond(quote_run *r, Dealdesk__V1__QuoteResponse **out)
{
	const qo_order *o = &r->order;
	Dealdesk__V1__QuoteResponse *resp =
		NEW(r, Dealdesk__V1__QuoteResponse, dealdesk__v1__quote_response__init);
	Dealdesk__V1__Versions *v = NEW(r, Dealdesk__V1__Versions, dealdesk__v1__versions__init);
	Dealdesk__V1__QuoteLine *lines = array(r, o->nlines, sizeof(*lines));
	char *id = dd_arena_alloc(r->arena, 33);
	if (!resp || !v || !lines || !id)
		return DD_ENOMEM;
	resp->order_id = (char *)(o->req->order_id ? o->req->order_id : "");
	resp->currency = o->req->currency;
	resp->currency_exponent = o->exponent;
	resp->request_time = o->time;
	resp->lines = array(r, o->nlines, sizeof(*resp->lines));
	if (resp->lines == NULL)
		return DD_ENOMEM;
	for (size_t i = 0; i < o->nlines; i++) {
		if (line(r, i, &lines[i]) != DD_OK)
			return DD_ENOMEM;
		resp->lines[i] = &lines[i];
	}
	resp->n_lines = o->nlines;
	resp->subtotal = o->subtotal;
	resp->discount_total = o->discount_total;
	resp->total = o->total;
	resp->loyalty_points = o->loyalty_points;
	resp->loyalty_multiplier = o->points_multiplier;
	v->data_version = o->data_version;
	v->pricing_policy = o->policy_version[DD_POLICY_PRICING];
	v->promotions_policy = o->policy_version[DD_POLICY_PROMOTIONS];
	v->credit_policy = o->policy_version[DD_POLICY_CREDIT];
	v->compliance_policy = o->policy_version[DD_POLICY_COMPLIANCE];
	resp->versions = v;
	int rc;
	if ((rc = credit(r, resp)) != DD_OK || (rc = compliance(r, resp)) != DD_OK ||
	    (rc = extras(r, resp)) != DD_OK || (rc = trace(r, resp)) != DD_OK)
		return rc;
	quote_decision_id(r->q, id);
	resp->decision_id = id;
	*out = resp;
	return DD_OK;
}
