/* dealdesk demo dataset: enough data for a first quote in four currencies
 * (USD and EUR with 2 decimals, JPY with 0, KWD with 3), every promotion
 * kind, customers across the credit outcomes, and compliance checks.
 * README "Demo data" lists it. */
#include "dealdesk/admin.h"

#include <stdio.h>
#include <string.h>

typedef struct demo_price {
	const char *list, *sku, *currency, *channel, *category, *name;
	int64_t price, cost;
} demo_price;

static const demo_price prices[] = {
	{ "retail-usd", "WIDGET-1", "USD", "", "hardware", "Widget", 1999, 1200 },
	{ "retail-usd", "GADGET-2", "USD", "", "hardware", "Gadget", 4999, 3000 },
	{ "retail-usd", "CABLE-3", "USD", "", "accessories", "Cable", 899, 200 },
	{ "retail-usd", "MANUAL-4", "USD", "", "books", "Manual", 2500, 900 },
	{ "retail-usd", "SUPPORT-5", "USD", "", "services", "Support plan", 12000, 6000 },
	{ "store-usd", "WIDGET-1", "USD", "store", "hardware", "Widget (store)", 2099, 1200 },
	{ "retail-eur", "WIDGET-1", "EUR", "", "hardware", "Widget", 1849, 1100 },
	{ "retail-eur", "GADGET-2", "EUR", "", "hardware", "Gadget", 4599, 2800 },
	{ "retail-eur", "CABLE-3", "EUR", "", "accessories", "Cable", 799, 180 },
	{ "retail-eur", "MANUAL-4", "EUR", "", "books", "Manual", 2300, 850 },
	{ "retail-jpy", "WIDGET-1", "JPY", "", "hardware", "Widget", 2980, 1800 },
	{ "retail-jpy", "GADGET-2", "JPY", "", "hardware", "Gadget", 7480, 4500 },
	{ "retail-jpy", "CABLE-3", "JPY", "", "accessories", "Cable", 1280, 300 },
	{ "retail-jpy", "MANUAL-4", "JPY", "", "books", "Manual", 3500, 1300 },
	{ "retail-kwd", "WIDGET-1", "KWD", "", "hardware", "Widget", 6150, 3700 },
	{ "retail-kwd", "GADGET-2", "KWD", "", "hardware", "Gadget", 15400, 9200 },
	{ "retail-kwd", "CABLE-3", "KWD", "", "accessories", "Cable", 2750, 600 },
	{ "retail-kwd", "MANUAL-4", "KWD", "", "books", "Manual", 7700, 2800 },
};

typedef struct demo_customer {
	const char *id, *name, *group, *segment, *currency, *tier;
	int64_t limit, receivables, committed;
	int terms, overdue;
} demo_customer;

static const demo_customer customers[] = {
	{ "acme", "Acme Corp", "retail", "loyal", "USD", "A", 100000000, 20000000, 5000000, 30, 0 },
	{ "bolt", "Bolt Ltd", "retail", "new", "USD", "B", 500000, 400000, 50000, 30, 0 },
	{ "cashonly", "Cash Only Inc", "retail", "new", "USD", "C", 0, 0, 0, 0, 0 },
	{ "latepay", "Late Payers LLC", "retail", "at-risk", "USD", "C", 1000000, 300000, 0, 30, 75 },
	{ "defaulter", "Default & Sons", "retail", "at-risk", "USD", "D", 1000000, 900000, 0, 30, 120 },
	{ "wholesale", "Bulk Buyers GmbH", "wholesale", "loyal", "EUR", "A", 5000000, 1000000, 0, 45, 0 },
	{ "tokyo", "Tokyo KK", "retail", "loyal", "JPY", "A", 5000000, 1000000, 0, 30, 0 },
	{ "kuwait", "Kuwait Trading", "retail", "loyal", "KWD", "B", 10000000, 2000000, 0, 30, 0 },
};

static int put_prices(dd_store *store, dd_error *err)
{
	size_t n = sizeof(prices) / sizeof(prices[0]);
	Dealdesk__V1__PriceEntry e[sizeof(prices) / sizeof(prices[0])];
	ProtobufCMessage *items[sizeof(prices) / sizeof(prices[0])];
	for (size_t i = 0; i < n; i++) {
		dealdesk__v1__price_entry__init(&e[i]);
		e[i].price_list_id = (char *)prices[i].list;
		e[i].sku = (char *)prices[i].sku;
		e[i].currency = (char *)prices[i].currency;
		e[i].channel = (char *)prices[i].channel;
		e[i].category = (char *)prices[i].category;
		e[i].name = (char *)prices[i].name;
		e[i].unit_price = prices[i].price;
		e[i].unit_cost = prices[i].cost;
		e[i].rounding = DEALDESK__V1__ROUNDING_MODE__ROUNDING_MODE_HALF_UP;
		items[i] = &e[i].base;
	}
	return dd_admin_put(store, DD_ENTITY_PRICE, items, n, "demo.prices", NULL, err);
}

static int put_customers(dd_store *store, dd_error *err)
{
	size_t n = sizeof(customers) / sizeof(customers[0]);
	Dealdesk__V1__Customer c[sizeof(customers) / sizeof(customers[0])];
	Dealdesk__V1__CreditProfile cr[sizeof(customers) / sizeof(customers[0])];
	ProtobufCMessage *items[sizeof(customers) / sizeof(customers[0])];
	for (size_t i = 0; i < n; i++) {
		const demo_customer *d = &customers[i];
		dealdesk__v1__customer__init(&c[i]);
		dealdesk__v1__credit_profile__init(&cr[i]);
		c[i].id = (char *)d->id;
		c[i].name = (char *)d->name;
		c[i].customer_group = (char *)d->group;
		c[i].segment = (char *)d->segment;
		cr[i].currency = (char *)d->currency;
		cr[i].tier = (char *)d->tier;
		cr[i].credit_limit = d->limit;
		cr[i].open_receivables = d->receivables;
		cr[i].committed_orders = d->committed;
		cr[i].standard_terms_days = d->terms;
		cr[i].oldest_overdue_days = d->overdue;
		c[i].credit = &cr[i];
		items[i] = &c[i].base;
	}
	return dd_admin_put(store, DD_ENTITY_CUSTOMER, items, n, "demo.customers", NULL, err);
}

static int put_promotions(dd_store *store, dd_error *err)
{
	static char *accessories[] = { "accessories" };
	static char *widget[] = { "WIDGET-1" };
	static char *web[] = { "web" };
	Dealdesk__V1__BundleItem b1, b2;
	Dealdesk__V1__BundleItem *bundle[] = { &b1, &b2 };
	static char *gadget[] = { "GADGET-2" };
	Dealdesk__V1__Promotion p[7];
	ProtobufCMessage *items[7];
	for (int i = 0; i < 7; i++) {
		dealdesk__v1__promotion__init(&p[i]);
		p[i].enabled = 1;
		items[i] = &p[i].base;
	}
	dealdesk__v1__bundle_item__init(&b1);
	dealdesk__v1__bundle_item__init(&b2);
	b1.sku = "WIDGET-1";
	b1.quantity = 1;
	b2.sku = "CABLE-3";
	b2.quantity = 2;

	p[0].id = "CABLES-10";
	p[0].name = "10% off accessories";
	p[0].kind = DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_PERCENTAGE;
	p[0].categories = accessories;
	p[0].n_categories = 1;
	p[0].percent_bps = 1000;
	p[0].priority = 10;

	p[1].id = "WIDGET-2OFF";
	p[1].name = "2.00 off every widget on the web";
	p[1].kind = DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_FIXED_AMOUNT;
	p[1].skus = widget;
	p[1].n_skus = 1;
	p[1].amount = 200;
	p[1].currency = "USD";
	p[1].channels = web;
	p[1].n_channels = 1;
	p[1].priority = 20;

	p[2].id = "DESK-BUNDLE";
	p[2].name = "Widget + 2 cables for 29.99";
	p[2].kind = DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_BUNDLE;
	p[2].bundle_items = bundle;
	p[2].n_bundle_items = 2;
	p[2].bundle_price = 2999;
	p[2].currency = "USD";
	p[2].priority = 5;

	p[3].id = "SPEND-300";
	p[3].name = "25.00 off orders of 300.00 or more";
	p[3].kind = DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_SPEND_THRESHOLD;
	p[3].threshold = 30000;
	p[3].amount = 2500;
	p[3].currency = "USD";
	p[3].priority = 100;

	p[4].id = "SPEND-JPY";
	p[4].name = "1000 yen off orders of 20000 yen or more";
	p[4].kind = DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_SPEND_THRESHOLD;
	p[4].threshold = 20000;
	p[4].amount = 1000;
	p[4].currency = "JPY";
	p[4].priority = 100;

	p[5].id = "WELCOME10";
	p[5].name = "10% off with coupon WELCOME10";
	p[5].kind = DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_PERCENTAGE;
	p[5].percent_bps = 1000;
	p[5].coupon_code = "WELCOME10";
	p[5].priority = 50;

	p[6].id = "VIP-GADGET";
	p[6].name = "20% off gadgets with a VIP coupon";
	p[6].kind = DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_PERCENTAGE;
	p[6].skus = gadget;
	p[6].n_skus = 1;
	p[6].percent_bps = 2000;
	p[6].requires_coupon = 1;
	p[6].priority = 30;
	int rc = dd_admin_put(store, DD_ENTITY_PROMOTION, items, 7, "demo.promotions", NULL, err);
	if (rc != DD_OK)
		return rc;
	Dealdesk__V1__Coupon c = DEALDESK__V1__COUPON__INIT;
	c.code = "VIP20";
	c.promotion_id = "VIP-GADGET";
	c.enabled = 1;
	c.max_uses = 1000;
	c.max_uses_per_customer = 1;
	ProtobufCMessage *coupons[] = { &c.base };
	return dd_admin_put(store, DD_ENTITY_COUPON, coupons, 1, "demo.coupons", NULL, err);
}

static int put_checks(dd_store *store, dd_error *err)
{
	Dealdesk__V1__ComplianceCheck c[3];
	ProtobufCMessage *items[3];
	for (int i = 0; i < 3; i++) {
		dealdesk__v1__compliance_check__init(&c[i]);
		c[i].enabled = 1;
		items[i] = &c[i].base;
	}
	c[0].id = "min-margin-5";
	c[0].kind = DEALDESK__V1__CHECK_KIND__CHECK_KIND_MIN_MARGIN;
	c[0].bps = 500;
	c[0].on_fail = DEALDESK__V1__COMPLIANCE_STATUS__COMPLIANCE_STATUS_BLOCK;
	c[0].description = "No line below cost plus 5%";
	c[1].id = "max-discount-30";
	c[1].kind = DEALDESK__V1__CHECK_KIND__CHECK_KIND_MAX_DISCOUNT;
	c[1].bps = 3000;
	c[1].on_fail = DEALDESK__V1__COMPLIANCE_STATUS__COMPLIANCE_STATUS_WARN;
	c[1].description = "Discounts above 30% need a second look";
	c[2].id = "max-discount-50";
	c[2].kind = DEALDESK__V1__CHECK_KIND__CHECK_KIND_MAX_DISCOUNT;
	c[2].bps = 5000;
	c[2].on_fail = DEALDESK__V1__COMPLIANCE_STATUS__COMPLIANCE_STATUS_BLOCK;
	c[2].description = "No discount above 50%";
	return dd_admin_put(store, DD_ENTITY_CHECK, items, 3, "demo.checks", NULL, err);
}

/* The tier table finance keeps, with the figures of the built-in one, so
 * that `dealdesk credit-tiers list` shows what the credit policy applies. */
static int put_tiers(dd_store *store, dd_error *err)
{
	static const struct {
		const char *name, *beyond, *description;
		int32_t lo, hi, ap, sh, de;
		int def;
	} rows[] = {
		{ "A", "REVIEW", "best risk: approve to 100 % of the limit", 80, 100, 10000, 11000, 13000, 0 },
		{ "B", "REVIEW", "good risk", 60, 79, 9000, 10000, 12000, 0 },
		{ "C", "PREPAY", "standard risk, and unscored customers", 30, 59, 8000, 9000, 10000, 1 },
		{ "D", "PREPAY", "high risk: deposit from the first unit", 1, 29, 0, 0, 8000, 0 },
	};
	Dealdesk__V1__CreditTier t[4];
	ProtobufCMessage *items[4];
	for (size_t i = 0; i < 4; i++) {
		dealdesk__v1__credit_tier__init(&t[i]);
		t[i].name = (char *)rows[i].name;
		t[i].beyond = (char *)rows[i].beyond;
		t[i].description = (char *)rows[i].description;
		t[i].min_score = rows[i].lo;
		t[i].max_score = rows[i].hi;
		t[i].approve_bps = rows[i].ap;
		t[i].shorter_bps = rows[i].sh;
		t[i].deposit_bps = rows[i].de;
		t[i].is_default = rows[i].def;
		t[i].shorter_terms_days = 15;
		t[i].review_overdue_days = 60;
		t[i].decline_overdue_days = 90;
		items[i] = &t[i].base;
	}
	return dd_admin_put(store, DD_ENTITY_CREDIT_TIER, items, 4, "demo.tiers", NULL, err);
}

int dd_demo_seed(dd_store *store, dd_error *err)
{
	dd_arena arena;
	dd_arena_init(&arena, 0, 0);
	ProtobufCMessage **items;
	size_t n = 0;
	char *next;
	int rc = dd_admin_list(store, DD_ENTITY_CUSTOMER, NULL, 0, 1, NULL, &arena,
	                       &items, &n, &next, err);
	dd_arena_free(&arena);
	if (rc != DD_OK)
		return rc;
	if (n > 0)
		return dd_error_set(err, DD_EEXIST, "the store already has data; demo not loaded");
	if ((rc = put_prices(store, err)) != DD_OK ||
	    (rc = put_customers(store, err)) != DD_OK ||
	    (rc = put_promotions(store, err)) != DD_OK ||
	    (rc = put_checks(store, err)) != DD_OK ||
	    (rc = put_tiers(store, err)) != DD_OK)
		return rc;
	return DD_OK;
}
