/* src/quote/prices.c: the price entries and signals a quoter keeps per SKU
 * from one quote to the next. What is kept must be exactly what the store
 * holds at the quote's data version: a changed entry, a new entry in
 * scope, changed signals are seen by the next quote on the same quoter; a
 * SKU with more entries than a slot holds, and a cart of more SKUs than
 * there are slots (so that some share one within a quote), price as the
 * store says. */
#include "fixture.h"

#define DAY 86400

static void entry(fixture *f, const char *list, const char *sku, int64_t price,
                  const char *channel)
{
	Dealdesk__V1__PriceEntry e = DEALDESK__V1__PRICE_ENTRY__INIT;
	e.price_list_id = (char *)list;
	e.sku = (char *)sku;
	e.currency = "USD";
	e.category = "s";
	e.unit_price = price;
	e.unit_cost = price / 4;
	e.rounding = HALF_UP;
	e.channel = (char *)channel;
	fx_put(f, DD_ENTITY_PRICE, &e.base);
}

static void stock(fixture *f, const char *sku, int64_t inventory, int64_t demand)
{
	Dealdesk__V1__SkuSignals s = DEALDESK__V1__SKU_SIGNALS__INIT;
	s.sku = (char *)sku;
	s.inventory_on_hand = inventory;
	s.inventory_at = T0 - DAY;
	s.demand_per_week = demand;
	s.demand_at = T0 - DAY;
	fx_put(f, DD_ENTITY_SIGNALS, &s.base);
}

static const Dealdesk__V1__QuoteLine *quote_sku(fixture *f, const char *sku)
{
	static req_buf b;
	req_c1(&b);
	req_line(&b, sku, 1);
	return quote_ok(f, &b)->lines[0];
}

static void test_changes_are_seen(void **state)
{
	fixture *f = *state;
	entry(f, "usd", "S", 1000, "");
	assert_int_equal(quote_sku(f, "S")->unit_list_price, 1000);
	assert_int_equal(quote_sku(f, "S")->unit_list_price, 1000); /* from the cache */
	entry(f, "usd", "S", 1200, ""); /* the same entry, a new price */
	assert_int_equal(quote_sku(f, "S")->unit_list_price, 1200);
	entry(f, "web", "S", 1100, "web"); /* a new entry, more specific */
	const Dealdesk__V1__QuoteLine *l = quote_sku(f, "S");
	assert_string_equal(l->price_list_id, "web");
	assert_int_equal(l->unit_list_price, 1100);
	/* signals: 26 weeks of stock is a 30 % clearance, then sold down */
	stock(f, "S", 260, 10);
	l = quote_sku(f, "S");
	assert_int_equal(l->unit_price, 770);
	assert_string_equal(l->price_reason,
	                    "clearance: stock covers 26+ weeks of demand, 30.00% off");
	stock(f, "S", 20, 10);
	l = quote_sku(f, "S");
	assert_int_equal(l->unit_price, 1100);
	assert_string_equal(l->price_reason, "");
	/* a write elsewhere changes the version: the entries are checked
	 * against the store again, and still the same answer */
	fx_customer other;
	fx_customer_init(&other, "other", "USD", "A", 1000);
	fx_put_customer(f, &other);
	assert_int_equal(quote_sku(f, "S")->unit_price, 1100);
	/* an entry gone: the other one prices the line; the signals gone: no
	 * clearance even with the stock that would give one */
	stock(f, "S", 260, 10);
	assert_int_equal(quote_sku(f, "S")->unit_price, 770);
	dd_error err;
	const char *web[] = { "S", "USD", "web" };
	assert_int_equal(dd_admin_delete(f->store, DD_ENTITY_PRICE, web, NULL, &err), DD_OK);
	l = quote_sku(f, "S");
	assert_string_equal(l->price_list_id, "usd");
	assert_int_equal(l->unit_list_price, 1200);
	assert_int_equal(l->unit_price, 840); /* 30 % off 12.00 */
	const char *sig[] = { "S" };
	assert_int_equal(dd_admin_delete(f->store, DD_ENTITY_SIGNALS, sig, NULL, &err), DD_OK);
	l = quote_sku(f, "S");
	assert_int_equal(l->unit_price, 1200);
	assert_string_equal(l->price_reason, "");
	/* and back */
	entry(f, "web", "S", 1050, "web");
	assert_int_equal(quote_sku(f, "S")->unit_list_price, 1050);
}

/* More entries than a slot keeps (16): read from the store, every time. */
static void test_many_entries(void **state)
{
	fixture *f = *state;
	char lists[20][8];
	for (int i = 0; i < 20; i++) {
		snprintf(lists[i], sizeof(lists[i]), "l%02d", i);
		entry(f, lists[i], "MANY", 1000 + i, i == 17 ? "web" : "");
	}
	for (int round = 0; round < 3; round++) {
		const Dealdesk__V1__QuoteLine *l = quote_sku(f, "MANY");
		assert_string_equal(l->price_list_id, "l17");
		assert_int_equal(l->unit_list_price, 1017);
	}
	entry(f, "l17", "MANY", 999, "web");
	assert_int_equal(quote_sku(f, "MANY")->unit_list_price, 999);
	/* down to 15 entries: kept from now on, and still the right one */
	dd_error err;
	for (int i = 0; i < 5; i++) {
		const char *key[] = { "MANY", "USD", lists[i] };
		assert_int_equal(dd_admin_delete(f->store, DD_ENTITY_PRICE, key, NULL, &err), DD_OK);
	}
	for (int round = 0; round < 3; round++) {
		const Dealdesk__V1__QuoteLine *l = quote_sku(f, "MANY");
		assert_string_equal(l->price_list_id, "l17");
		assert_int_equal(l->unit_list_price, 999);
	}
	const char *key17[] = { "MANY", "USD", "l17" };
	assert_int_equal(dd_admin_delete(f->store, DD_ENTITY_PRICE, key17, NULL, &err), DD_OK);
	const Dealdesk__V1__QuoteLine *l = quote_sku(f, "MANY");
	assert_string_equal(l->price_list_id, "l05"); /* the first list id in key order */
	assert_int_equal(l->unit_list_price, 1005);
}

/* 500 SKUs in one cart, more than half the slots: some share a slot within
 * the quote, and the later one is read from the store. Each line has its
 * own price, twice over (the second quote mostly from the cache). */
static void test_full_cart(void **state)
{
	fixture *f = *state;
	enum { N = 500 };
	static char skus[N][12];
	static Dealdesk__V1__LineRequest lines[N], *lp[N];
	for (int i = 0; i < N; i++) {
		snprintf(skus[i], sizeof(skus[i]), "K%04d", i);
		entry(f, "usd", skus[i], 100 + i, "");
	}
	Dealdesk__V1__QuoteRequest req = DEALDESK__V1__QUOTE_REQUEST__INIT;
	req.customer_id = "c1";
	req.currency = "USD";
	req.channel = "web";
	req.request_time = T0;
	for (int i = 0; i < N; i++) {
		dealdesk__v1__line_request__init(&lines[i]);
		lines[i].sku = skus[i];
		lines[i].quantity = 1;
		lp[i] = &lines[i];
	}
	req.lines = lp;
	req.n_lines = N;
	for (int round = 0; round < 2; round++) {
		Dealdesk__V1__QuoteResponse *r = NULL;
		dd_error err;
		dd_arena_reset(&f->arena);
		assert_int_equal(dd_quote(f->q, &req, T0, &f->arena, &r, &err), DD_OK);
		assert_int_equal(r->n_lines, N);
		for (int i = 0; i < N; i++) {
			if (r->lines[i]->unit_list_price != 100 + i)
				fail_msg("round %d line %d: %lld", round, i,
				         (long long)r->lines[i]->unit_list_price);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_changes_are_seen, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_many_entries, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_full_cart, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
