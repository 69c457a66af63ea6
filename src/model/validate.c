/* dealdesk model: validation of the records finance and compliance write.
 * Messages name the field ("entries[2].currency: unknown currency 'XYZ'").
 * The CLI runs these checks before sending, the server again on write. */
#include "dealdesk/model.h"
#include "dealdesk/money.h"
#include "dealdesk/v1/types.pb-c.h"

#include <stdio.h>
#include <string.h>

#define CHECK(expr)                                                            \
	do {                                                                   \
		int rc_ = (expr);                                              \
		if (rc_ != DD_OK)                                              \
			return rc_;                                            \
	} while (0)

/* field + "." + name into buf, for messages. */
static const char *sub(char *buf, size_t n, const char *field,
                       const char *name)
{
	snprintf(buf, n, "%s%s%s", field, *field ? "." : "", name);
	return buf;
}

static int check_currency(const char *code, int optional, const char *field,
                          dd_error *err)
{
	if ((code == NULL || *code == '\0') && optional)
		return DD_OK;
	if (dd_currency_exponent(code) < 0)
		return dd_error_set(err, DD_EINVAL,
		                    "%s: unknown ISO 4217 currency '%.8s'", field,
		                    code ? code : "");
	return DD_OK;
}

static int check_range(int64_t v, int64_t lo, int64_t hi, const char *field,
                       dd_error *err)
{
	if (v < lo || v > hi)
		return dd_error_set(err, DD_EINVAL,
		                    "%s: %lld is out of range [%lld, %lld]", field,
		                    (long long)v, (long long)lo, (long long)hi);
	return DD_OK;
}

static int check_window(int64_t from, int64_t to, const char *field,
                        dd_error *err)
{
	char b[160];
	CHECK(check_range(from, 0, INT64_MAX, sub(b, sizeof(b), field, "valid_from"), err));
	CHECK(check_range(to, 0, INT64_MAX, sub(b, sizeof(b), field, "valid_to"), err));
	if (to != 0 && to <= from)
		return dd_error_set(err, DD_EINVAL,
		                    "%s.valid_to: must be after valid_from", field);
	return DD_OK;
}

static int check_id_list(char **ids, size_t n, const char *field,
                         const char *name, dd_error *err)
{
	char b[200];
	if (n > 10000)
		return dd_error_set(err, DD_EINVAL, "%s.%s: more than 10000 entries",
		                    field, name);
	for (size_t i = 0; i < n; i++) {
		snprintf(b, sizeof(b), "%s.%s[%zu]", field, name, i);
		CHECK(dd_check_string(ids[i], DD_MAX_ID, 0, b, err));
	}
	return DD_OK;
}

static int validate_price(const Dealdesk__V1__PriceEntry *p, const char *f,
                          dd_error *err)
{
	char b[160];
	CHECK(dd_check_string(p->price_list_id, DD_MAX_ID, 0, sub(b, sizeof(b), f, "price_list_id"), err));
	CHECK(dd_check_string(p->sku, DD_MAX_ID, 0, sub(b, sizeof(b), f, "sku"), err));
	CHECK(check_currency(p->currency, 0, sub(b, sizeof(b), f, "currency"), err));
	CHECK(dd_check_string(p->channel, DD_MAX_ID, 1, sub(b, sizeof(b), f, "channel"), err));
	CHECK(check_range(p->unit_price, 0, INT64_MAX, sub(b, sizeof(b), f, "unit_price"), err));
	CHECK(check_range(p->unit_cost, 0, INT64_MAX, sub(b, sizeof(b), f, "unit_cost"), err));
	CHECK(dd_check_string(p->category, DD_MAX_ID, 1, sub(b, sizeof(b), f, "category"), err));
	CHECK(check_range(p->rounding, 0, 4, sub(b, sizeof(b), f, "rounding"), err));
	CHECK(dd_check_string(p->region, DD_MAX_ID, 1, sub(b, sizeof(b), f, "region"), err));
	CHECK(dd_check_string(p->customer_group, DD_MAX_ID, 1, sub(b, sizeof(b), f, "customer_group"), err));
	CHECK(dd_check_string(p->name, 256, 1, sub(b, sizeof(b), f, "name"), err));
	CHECK(check_range(p->min_quantity, 0, INT64_MAX, sub(b, sizeof(b), f, "min_quantity"), err));
	CHECK(check_range(p->floor_price, 0, INT64_MAX, sub(b, sizeof(b), f, "floor_price"), err));
	CHECK(check_range(p->ceiling_price, 0, INT64_MAX, sub(b, sizeof(b), f, "ceiling_price"), err));
	if (p->ceiling_price && p->floor_price > p->ceiling_price)
		return dd_error_set(err, DD_EINVAL, "%s.floor_price: above ceiling_price", f);
	return check_window(p->valid_from, p->valid_to, f, err);
}

static int validate_promotion(const Dealdesk__V1__Promotion *p, const char *f,
                              dd_error *err)
{
	char b[160];
	CHECK(dd_check_string(p->id, DD_MAX_ID, 0, sub(b, sizeof(b), f, "id"), err));
	CHECK(dd_check_string(p->name, 256, 1, sub(b, sizeof(b), f, "name"), err));
	CHECK(check_id_list(p->skus, p->n_skus, f, "skus", err));
	CHECK(check_id_list(p->categories, p->n_categories, f, "categories", err));
	CHECK(check_id_list(p->channels, p->n_channels, f, "channels", err));
	CHECK(check_id_list(p->customer_groups, p->n_customer_groups, f, "customer_groups", err));
	CHECK(dd_check_string(p->coupon_code, DD_MAX_ID, 1, sub(b, sizeof(b), f, "coupon_code"), err));
	CHECK(dd_check_string(p->custom_kind, DD_MAX_ID, 1, sub(b, sizeof(b), f, "custom_kind"), err));
	CHECK(check_currency(p->currency, 1, sub(b, sizeof(b), f, "currency"), err));
	CHECK(check_range(p->amount, 0, INT64_MAX, sub(b, sizeof(b), f, "amount"), err));
	CHECK(check_range(p->threshold, 0, INT64_MAX, sub(b, sizeof(b), f, "threshold"), err));
	CHECK(check_range(p->bundle_price, 0, INT64_MAX, sub(b, sizeof(b), f, "bundle_price"), err));
	CHECK(check_range(p->percent_bps, 0, DD_BPS_ONE, sub(b, sizeof(b), f, "percent_bps"), err));
	CHECK(check_window(p->valid_from, p->valid_to, f, err));
	/* price claims */
	CHECK(check_range(p->reference_price, 0, INT64_MAX, sub(b, sizeof(b), f, "reference_price"), err));
	CHECK(check_range(p->announced_percent_bps, 0, DD_BPS_ONE,
	                  sub(b, sizeof(b), f, "announced_percent_bps"), err));
	CHECK(check_range(p->reduction_started_at, 0, INT64_MAX,
	                  sub(b, sizeof(b), f, "reduction_started_at"), err));
	CHECK(dd_check_string(p->terms, 2048, 1, sub(b, sizeof(b), f, "terms"), err));
	if (p->reference_price > 0 && (p->currency == NULL || *p->currency == '\0'))
		return dd_error_set(err, DD_EINVAL,
		                    "%s%scurrency: required with reference_price (its currency)", f,
		                    *f ? "." : "");
	if (p->reduction_started_at > 0 && p->valid_from > 0 &&
	    p->reduction_started_at > p->valid_from)
		return dd_error_set(err, DD_EINVAL,
		                    "%s%sreduction_started_at: after valid_from (the first reduction "
		                    "of a progressive sequence starts before this one)", f,
		                    *f ? "." : "");
	int needs_currency = 1;
	switch (p->kind) {
	case DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_PERCENTAGE:
		needs_currency = 0;
		if (p->percent_bps <= 0)
			return dd_error_set(err, DD_EINVAL,
			                    "%s.percent_bps: a PERCENTAGE promotion needs 1..10000", f);
		break;
	case DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_FIXED_AMOUNT:
		if (p->amount <= 0)
			return dd_error_set(err, DD_EINVAL,
			                    "%s.amount: a FIXED_AMOUNT promotion needs an amount > 0", f);
		break;
	case DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_BUNDLE:
		if (p->n_bundle_items == 0)
			return dd_error_set(err, DD_EINVAL,
			                    "%s.bundle_items: a BUNDLE promotion needs at least one item", f);
		for (size_t i = 0; i < p->n_bundle_items; i++) {
			const Dealdesk__V1__BundleItem *it = p->bundle_items[i];
			snprintf(b, sizeof(b), "%s.bundle_items[%zu].sku", f, i);
			CHECK(dd_check_string(it->sku, DD_MAX_ID, 0, b, err));
			snprintf(b, sizeof(b), "%s.bundle_items[%zu].quantity", f, i);
			CHECK(check_range(it->quantity, 1, 1000000, b, err));
		}
		break;
	case DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_SPEND_THRESHOLD:
		if (p->n_tiers == 0 && p->amount <= 0)
			return dd_error_set(err, DD_EINVAL,
			                    "%s.amount: a SPEND_THRESHOLD promotion needs an amount > 0 or tiers", f);
		if (p->n_tiers > 0 && p->repeating)
			return dd_error_set(err, DD_EINVAL, "%s.repeating: not with tiers", f);
		if (p->repeating && p->threshold <= 0)
			return dd_error_set(err, DD_EINVAL, "%s.threshold: a repeating threshold must be > 0", f);
		for (size_t i = 0; i < p->n_tiers; i++) {
			const Dealdesk__V1__ThresholdTier *t = p->tiers[i];
			if (t->amount <= 0 || t->threshold < 0 ||
			    (i > 0 && t->threshold <= p->tiers[i - 1]->threshold))
				return dd_error_set(err, DD_EINVAL,
				                    "%s.tiers[%zu]: thresholds must ascend and amounts be > 0", f, i);
		}
		break;
	case DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_FIXED_PRICE:
		break;
	case DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_BUY_X_GET_Y:
		needs_currency = 0;
		CHECK(check_range(p->buy_quantity, 1, 1000000, sub(b, sizeof(b), f, "buy_quantity"), err));
		CHECK(check_range(p->get_quantity, 1, 1000000, sub(b, sizeof(b), f, "get_quantity"), err));
		if (p->percent_bps <= 0)
			return dd_error_set(err, DD_EINVAL,
			                    "%s.percent_bps: BUY_X_GET_Y needs 1..10000 (10000 = free)", f);
		break;
	case DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_FREE_GIFT:
		needs_currency = 0;
		CHECK(dd_check_string(p->gift_sku, DD_MAX_ID, 0, sub(b, sizeof(b), f, "gift_sku"), err));
		CHECK(check_range(p->gift_quantity, 0, 1000, sub(b, sizeof(b), f, "gift_quantity"), err));
		break;
	case DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_LOYALTY_POINTS:
		needs_currency = 0;
		CHECK(check_range(p->points_multiplier, 1, 100, sub(b, sizeof(b), f, "points_multiplier"), err));
		break;
	case DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_CUSTOM:
		/* the policy's function decides the amounts; a currency only when
		 * the promotion says so */
		needs_currency = 0;
		CHECK(dd_check_string(p->custom_kind, DD_MAX_ID, 0, sub(b, sizeof(b), f, "custom_kind"), err));
		CHECK(check_range(p->percent_bps, 0, 10000, sub(b, sizeof(b), f, "percent_bps"), err));
		break;
	default:
		return dd_error_set(err, DD_EINVAL, "%s.kind: unknown promotion kind %d",
		                    f, (int)p->kind);
	}
	if (needs_currency && (p->currency == NULL || *p->currency == '\0'))
		return dd_error_set(err, DD_EINVAL,
		                    "%s.currency: required for amounts of this kind", f);
	CHECK(check_id_list(p->customer_segments, p->n_customer_segments, f, "customer_segments", err));
	CHECK(check_id_list(p->customer_tiers, p->n_customer_tiers, f, "customer_tiers", err));
	CHECK(check_id_list(p->regions, p->n_regions, f, "regions", err));
	CHECK(check_range(p->dormant_days, 0, 36500, sub(b, sizeof(b), f, "dormant_days"), err));
	CHECK(check_range(p->min_quantity, 0, INT64_MAX, sub(b, sizeof(b), f, "min_quantity"), err));
	CHECK(check_range(p->min_amount, 0, INT64_MAX, sub(b, sizeof(b), f, "min_amount"), err));
	CHECK(check_range(p->max_discount, 0, INT64_MAX, sub(b, sizeof(b), f, "max_discount"), err));
	CHECK(check_range(p->budget_amount, 0, INT64_MAX, sub(b, sizeof(b), f, "budget_amount"), err));
	CHECK(check_range(p->budget_uses, 0, INT64_MAX, sub(b, sizeof(b), f, "budget_uses"), err));
	CHECK(check_range(p->customer_budget_uses, 0, INT64_MAX, sub(b, sizeof(b), f, "customer_budget_uses"), err));
	CHECK(check_range(p->customer_budget_amount, 0, INT64_MAX, sub(b, sizeof(b), f, "customer_budget_amount"), err));
	CHECK(dd_check_string(p->stacking_group, DD_MAX_ID, 1, sub(b, sizeof(b), f, "stacking_group"), err));
	CHECK(dd_check_string(p->experiment_id, DD_MAX_ID, 1, sub(b, sizeof(b), f, "experiment_id"), err));
	if (p->n_arms > 0 && (p->experiment_id == NULL || *p->experiment_id == '\0'))
		return dd_error_set(err, DD_EINVAL, "%s.experiment_id: required with arms", f);
	if (p->n_arms > 64)
		return dd_error_set(err, DD_EINVAL, "%s.arms: at most 64", f);
	for (size_t i = 0; i < p->n_arms; i++) {
		const Dealdesk__V1__ExperimentArm *a = p->arms[i];
		snprintf(b, sizeof(b), "%s.arms[%zu].name", f, i);
		CHECK(dd_check_string(a->name, DD_MAX_ID, 0, b, err));
		snprintf(b, sizeof(b), "%s.arms[%zu].weight", f, i);
		CHECK(check_range(a->weight, 1, 1000000, b, err));
		snprintf(b, sizeof(b), "%s.arms[%zu].percent_bps", f, i);
		CHECK(check_range(a->percent_bps, 0, DD_BPS_ONE, b, err));
		snprintf(b, sizeof(b), "%s.arms[%zu].amount", f, i);
		CHECK(check_range(a->amount, 0, INT64_MAX, b, err));
	}
	/* compiled by the admin layer after these checks */
	if (p->condition && strlen(p->condition) > DD_MAX_CONDITION)
		return dd_error_set(err, DD_EINVAL, "%s: longer than %d bytes",
		                    sub(b, sizeof(b), f, "condition"), DD_MAX_CONDITION);
	return DD_OK;
}

static int validate_customer(const Dealdesk__V1__Customer *c, const char *f,
                             dd_error *err)
{
	char b[160];
	CHECK(dd_check_string(c->id, DD_MAX_ID, 0, sub(b, sizeof(b), f, "id"), err));
	CHECK(dd_check_string(c->name, 256, 1, sub(b, sizeof(b), f, "name"), err));
	CHECK(dd_check_string(c->customer_group, DD_MAX_ID, 1, sub(b, sizeof(b), f, "customer_group"), err));
	CHECK(dd_check_string(c->segment, DD_MAX_ID, 1, sub(b, sizeof(b), f, "segment"), err));
	CHECK(dd_check_string(c->loyalty_tier, DD_MAX_ID, 1, sub(b, sizeof(b), f, "loyalty_tier"), err));
	CHECK(check_range(c->order_count, 0, INT64_MAX, sub(b, sizeof(b), f, "order_count"), err));
	CHECK(check_range(c->first_order_at, 0, INT64_MAX, sub(b, sizeof(b), f, "first_order_at"), err));
	CHECK(check_range(c->last_order_at, 0, INT64_MAX, sub(b, sizeof(b), f, "last_order_at"), err));
	const Dealdesk__V1__CreditProfile *cr = c->credit;
	if (cr == NULL)
		return DD_OK; /* no credit line: every order is prepaid */
	snprintf(b, sizeof(b), "%s%scredit.currency", f, *f ? "." : "");
	CHECK(check_currency(cr->currency, 0, b, err));
	snprintf(b, sizeof(b), "%s%scredit.credit_limit", f, *f ? "." : "");
	CHECK(check_range(cr->credit_limit, 0, INT64_MAX, b, err));
	snprintf(b, sizeof(b), "%s%scredit.open_receivables", f, *f ? "." : "");
	CHECK(check_range(cr->open_receivables, 0, INT64_MAX, b, err));
	snprintf(b, sizeof(b), "%s%scredit.committed_orders", f, *f ? "." : "");
	CHECK(check_range(cr->committed_orders, 0, INT64_MAX, b, err));
	snprintf(b, sizeof(b), "%s%scredit.standard_terms_days", f, *f ? "." : "");
	CHECK(check_range(cr->standard_terms_days, 0, 365, b, err));
	snprintf(b, sizeof(b), "%s%scredit.oldest_overdue_days", f, *f ? "." : "");
	CHECK(check_range(cr->oldest_overdue_days, 0, 36500, b, err));
	snprintf(b, sizeof(b), "%s%scredit.tier", f, *f ? "." : "");
	CHECK(dd_check_string(cr->tier, 16, 1, b, err));
	snprintf(b, sizeof(b), "%s%scredit.score", f, *f ? "." : "");
	CHECK(check_range(cr->score, 0, 100, b, err));
	snprintf(b, sizeof(b), "%s%scredit.max_order_value", f, *f ? "." : "");
	CHECK(check_range(cr->max_order_value, 0, INT64_MAX, b, err));
	snprintf(b, sizeof(b), "%s%scredit.next_review_at", f, *f ? "." : "");
	return check_range(cr->next_review_at, 0, INT64_MAX, b, err);
}

static int validate_check(const Dealdesk__V1__ComplianceCheck *c, const char *f,
                          dd_error *err)
{
	char b[160];
	CHECK(dd_check_string(c->id, DD_MAX_ID, 0, sub(b, sizeof(b), f, "id"), err));
	CHECK(dd_check_string(c->description, 512, 1, sub(b, sizeof(b), f, "description"), err));
	CHECK(check_id_list(c->skus, c->n_skus, f, "skus", err));
	if (c->kind < DEALDESK__V1__CHECK_KIND__CHECK_KIND_MIN_MARGIN ||
	    c->kind > DEALDESK__V1__CHECK_KIND__CHECK_KIND_DISCLOSURE)
		return dd_error_set(err, DD_EINVAL, "%s%skind: unknown check kind %d",
		                    f, *f ? "." : "", (int)c->kind);
	CHECK(check_range(c->bps, 0, 1000000, sub(b, sizeof(b), f, "bps"), err));
	if (c->on_fail != DEALDESK__V1__COMPLIANCE_STATUS__COMPLIANCE_STATUS_WARN &&
	    c->on_fail != DEALDESK__V1__COMPLIANCE_STATUS__COMPLIANCE_STATUS_BLOCK)
		return dd_error_set(err, DD_EINVAL,
		                    "%s%son_fail: must be WARN or BLOCK", f, *f ? "." : "");
	CHECK(check_range(c->window_days, 0, 3650, sub(b, sizeof(b), f, "window_days"), err));
	CHECK(check_range(c->share_bps, 0, DD_BPS_ONE, sub(b, sizeof(b), f, "share_bps"), err));
	CHECK(check_range(c->amount, 0, INT64_MAX, sub(b, sizeof(b), f, "amount"), err));
	CHECK(check_id_list(c->regions, c->n_regions, f, "regions", err));
	CHECK(check_id_list(c->channels, c->n_channels, f, "channels", err));
	CHECK(check_id_list(c->customer_tiers, c->n_customer_tiers, f, "customer_tiers", err));
	if (c->on_write != DEALDESK__V1__COMPLIANCE_STATUS__COMPLIANCE_STATUS_UNSPECIFIED &&
	    c->on_write != DEALDESK__V1__COMPLIANCE_STATUS__COMPLIANCE_STATUS_PASS &&
	    c->on_write != DEALDESK__V1__COMPLIANCE_STATUS__COMPLIANCE_STATUS_WARN &&
	    c->on_write != DEALDESK__V1__COMPLIANCE_STATUS__COMPLIANCE_STATUS_BLOCK)
		return dd_error_set(err, DD_EINVAL,
		                    "%s%son_write: must be PASS, WARN or BLOCK", f, *f ? "." : "");
	if (c->kind == DEALDESK__V1__CHECK_KIND__CHECK_KIND_RESTRICTED_SKU && c->n_skus == 0)
		return dd_error_set(err, DD_EINVAL, "%s%sskus: a RESTRICTED_SKU check names its SKUs",
		                    f, *f ? "." : "");
	return DD_OK;
}

static int validate_signals(const Dealdesk__V1__SkuSignals *s, const char *f,
                            dd_error *err)
{
	char b[160];
	CHECK(dd_check_string(s->sku, DD_MAX_ID, 0, sub(b, sizeof(b), f, "sku"), err));
	CHECK(check_range(s->inventory_on_hand, 0, INT64_MAX, sub(b, sizeof(b), f, "inventory_on_hand"), err));
	CHECK(check_range(s->inventory_at, 0, INT64_MAX, sub(b, sizeof(b), f, "inventory_at"), err));
	CHECK(check_range(s->demand_per_week, 0, INT64_MAX, sub(b, sizeof(b), f, "demand_per_week"), err));
	CHECK(check_range(s->demand_at, 0, INT64_MAX, sub(b, sizeof(b), f, "demand_at"), err));
	if (s->n_competitor_prices > 100)
		return dd_error_set(err, DD_EINVAL, "%s.competitor_prices: at most 100", f);
	for (size_t i = 0; i < s->n_competitor_prices; i++) {
		const Dealdesk__V1__CompetitorPrice *c = s->competitor_prices[i];
		snprintf(b, sizeof(b), "%s.competitor_prices[%zu].competitor", f, i);
		CHECK(dd_check_string(c->competitor, DD_MAX_ID, 0, b, err));
		snprintf(b, sizeof(b), "%s.competitor_prices[%zu].currency", f, i);
		CHECK(check_currency(c->currency, 0, b, err));
		snprintf(b, sizeof(b), "%s.competitor_prices[%zu].price", f, i);
		CHECK(check_range(c->price, 1, INT64_MAX, b, err));
		snprintf(b, sizeof(b), "%s.competitor_prices[%zu].observed_at", f, i);
		CHECK(check_range(c->observed_at, 0, INT64_MAX, b, err));
	}
	return DD_OK;
}

static int validate_coupon(const Dealdesk__V1__Coupon *c, const char *f, dd_error *err)
{
	char b[160];
	CHECK(dd_check_string(c->code, DD_MAX_ID, 0, sub(b, sizeof(b), f, "code"), err));
	CHECK(dd_check_string(c->promotion_id, DD_MAX_ID, 0, sub(b, sizeof(b), f, "promotion_id"), err));
	CHECK(dd_check_string(c->customer_id, DD_MAX_ID, 1, sub(b, sizeof(b), f, "customer_id"), err));
	CHECK(check_range(c->max_uses, 0, INT64_MAX, sub(b, sizeof(b), f, "max_uses"), err));
	CHECK(check_range(c->max_uses_per_customer, 0, INT64_MAX, sub(b, sizeof(b), f, "max_uses_per_customer"), err));
	return check_window(c->valid_from, c->valid_to, f, err);
}

static int validate_credit_tier(const Dealdesk__V1__CreditTier *t, const char *f,
                                dd_error *err)
{
	char b[160];
	CHECK(dd_check_string(t->name, 16, 0, sub(b, sizeof(b), f, "name"), err));
	CHECK(dd_check_string(t->description, 256, 1, sub(b, sizeof(b), f, "description"), err));
	CHECK(check_range(t->min_score, 0, 100, sub(b, sizeof(b), f, "min_score"), err));
	CHECK(check_range(t->max_score, t->min_score ? t->min_score : 0, 100,
	                  sub(b, sizeof(b), f, "max_score"), err));
	if ((t->min_score == 0) != (t->max_score == 0))
		return dd_error_set(err, DD_EINVAL,
		                    "%s%smin_score: a score range needs both min_score and max_score "
		                    "(1..100), or neither", f, *f ? "." : "");
	CHECK(check_range(t->credit_limit, 0, INT64_MAX, sub(b, sizeof(b), f, "credit_limit"), err));
	CHECK(check_currency(t->currency, t->credit_limit == 0, sub(b, sizeof(b), f, "currency"), err));
	CHECK(check_range(t->terms_days, 0, 365, sub(b, sizeof(b), f, "terms_days"), err));
	CHECK(check_range(t->shorter_terms_days, 0, 365, sub(b, sizeof(b), f, "shorter_terms_days"), err));
	CHECK(check_range(t->approve_bps, 0, 100000, sub(b, sizeof(b), f, "approve_bps"), err));
	CHECK(check_range(t->shorter_bps, t->approve_bps, 100000, sub(b, sizeof(b), f, "shorter_bps"), err));
	CHECK(check_range(t->deposit_bps, t->shorter_bps, 100000, sub(b, sizeof(b), f, "deposit_bps"), err));
	if (t->beyond == NULL || (strcmp(t->beyond, "REVIEW") != 0 && strcmp(t->beyond, "PREPAY") != 0 &&
	                          strcmp(t->beyond, "DECLINE") != 0))
		return dd_error_set(err, DD_EINVAL, "%s%sbeyond: must be REVIEW, PREPAY or DECLINE",
		                    f, *f ? "." : "");
	CHECK(check_range(t->review_overdue_days, 1, 36500, sub(b, sizeof(b), f, "review_overdue_days"), err));
	CHECK(check_range(t->decline_overdue_days, t->review_overdue_days, 36500,
	                  sub(b, sizeof(b), f, "decline_overdue_days"), err));
	CHECK(check_range(t->horizon_days, 0, 3650, sub(b, sizeof(b), f, "horizon_days"), err));
	return DD_OK;
}

int dd_entity_validate(dd_entity_kind kind, const ProtobufCMessage *m,
                       const char *field, dd_error *err)
{
	if (m == NULL)
		return dd_error_set(err, DD_EINVAL, "%s: missing", field);
	switch (kind) {
	case DD_ENTITY_PRICE:
		return validate_price((const void *)m, field, err);
	case DD_ENTITY_PROMOTION:
		return validate_promotion((const void *)m, field, err);
	case DD_ENTITY_CUSTOMER:
		return validate_customer((const void *)m, field, err);
	case DD_ENTITY_CHECK:
		return validate_check((const void *)m, field, err);
	case DD_ENTITY_SIGNALS:
		return validate_signals((const void *)m, field, err);
	case DD_ENTITY_COUPON:
		return validate_coupon((const void *)m, field, err);
	case DD_ENTITY_CREDIT_TIER:
		return validate_credit_tier((const void *)m, field, err);
	default:
		return dd_error_set(err, DD_EINTERNAL, "unknown entity kind");
	}
}
