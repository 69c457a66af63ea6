/* dealdesk model: the entity table, and what a promotion condition is. */
#include "dealdesk/model.h"

#include <stdio.h>

#include "dealdesk/v1/types.pb-c.h"

static const dd_entity_def entities[DD_ENTITY__COUNT] = {
	[DD_ENTITY_PRICE] = { "price entry", DD_T_PRICES,
	                      &dealdesk__v1__price_entry__descriptor,
	                      3, { "sku", "currency", "price_list_id" }, NULL },
	[DD_ENTITY_PROMOTION] = { "promotion", DD_T_PROMOTIONS,
	                          &dealdesk__v1__promotion__descriptor,
	                          1, { "id" }, DD_META_PROMOTIONS_VERSION },
	[DD_ENTITY_CUSTOMER] = { "customer", DD_T_CUSTOMERS,
	                         &dealdesk__v1__customer__descriptor,
	                         1, { "id" }, NULL },
	[DD_ENTITY_CHECK] = { "compliance check", DD_T_CHECKS,
	                      &dealdesk__v1__compliance_check__descriptor,
	                      1, { "id" }, DD_META_CHECKS_VERSION },
	[DD_ENTITY_SIGNALS] = { "signals of SKU", DD_T_SIGNALS,
	                        &dealdesk__v1__sku_signals__descriptor,
	                        1, { "sku" }, NULL },
	[DD_ENTITY_COUPON] = { "coupon", DD_T_COUPONS,
	                       &dealdesk__v1__coupon__descriptor,
	                       1, { "code" }, NULL },
	[DD_ENTITY_CREDIT_TIER] = { "credit tier", DD_T_CREDIT_TIERS,
	                            &dealdesk__v1__credit_tier__descriptor,
	                            1, { "name" }, DD_META_CREDIT_TIERS_VERSION },
};

const dd_entity_def *dd_entity(dd_entity_kind kind)
{
	if ((int)kind < 0 || kind >= DD_ENTITY__COUNT)
		return NULL;
	return &entities[kind];
}

int dd_condition_source(const char *body, char *buf, size_t size)
{
	int n = snprintf(buf, size, "function condition(ctx, promotion)\n%s\nend\n", body);
	return n < 0 || (size_t)n >= size ? DD_EINVAL : DD_OK;
}
