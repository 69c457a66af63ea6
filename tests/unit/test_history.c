/* Unit tests for src/store/history.c (include/dealdesk/history.h): the
 * effective list price derived from price-entry snapshots (scheduled
 * entries, priorities, channels, deletions, entries stored before history
 * was kept, entries proposed at authoring), retention, and the transaction
 * prices the commits keep. Every series is worked out by hand in the
 * comment above its assertions. */
#define _XOPEN_SOURCE 700 /* mkdtemp, nftw */
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "dealdesk/admin.h"
#include "dealdesk/history.h"
#include "dealdesk/store.h"
#include "dealdesk/v1/orders.pb-c.h"

#define DAY 86400

typedef struct fixture {
	char dir[64];
	dd_store *store;
	dd_rtxn *rtxn;
	dd_arena arena;
} fixture;

static int rm_entry(const char *p, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb, (void)type, (void)ftw;
	return remove(p);
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/dd-history-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	dd_store_opts o = { .path = f->dir, .no_sync = 1, .price_history_days = 90 };
	dd_error err;
	assert_int_equal(dd_store_open(&f->store, &o, &err), DD_OK);
	assert_int_equal(dd_rtxn_new(f->store, &f->rtxn), DD_OK);
	dd_arena_init(&f->arena, 0, 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	dd_arena_free(&f->arena);
	dd_rtxn_free(f->rtxn);
	dd_store_close(f->store);
	nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static Dealdesk__V1__PriceEntry entry(const char *list, int64_t price)
{
	Dealdesk__V1__PriceEntry e = DEALDESK__V1__PRICE_ENTRY__INIT;
	e.price_list_id = (char *)list;
	e.sku = "TV";
	e.currency = "USD";
	e.unit_price = price;
	return e;
}

static void record(fixture *f, const Dealdesk__V1__PriceEntry *e, int64_t at, int deleted)
{
	dd_wtxn *t;
	assert_int_equal(dd_wtxn_begin(f->store, &t), DD_OK);
	assert_int_equal(dd_history_record_price(t, e, at, deleted), DD_OK);
	assert_int_equal(dd_wtxn_commit(t, NULL), DD_OK);
}

static size_t list(fixture *f, const char *channel, int64_t from, int64_t to,
                   const dd_history_proposal *prop, dd_price_point **p)
{
	dd_price_scope s = { "TV", "USD", channel, "" };
	size_t n;
	assert_int_equal(dd_rtxn_begin(f->rtxn), DD_OK);
	assert_int_equal(dd_history_list(f->rtxn, &s, from, to, prop, &f->arena, p, &n), DD_OK);
	dd_rtxn_end(f->rtxn);
	return n;
}

static void assert_point(const dd_price_point *p, int64_t from, int64_t to, int64_t price,
                         const char *ref)
{
	assert_int_equal(p->from, from);
	assert_int_equal(p->to, to);
	assert_int_equal(p->price, price);
	assert_string_equal(p->ref, ref);
}

/* A written at 1000 (100), B written at 1000 for [5000, 7000) at 80 with
 * a higher priority (scheduled), A rewritten at 6000 (120). Over
 * [0, 10000): nothing before 1000; A 100 [1000, 5000); B 80 [5000, 7000)
 * (B wins over A's rewrite by priority); A 120 [7000, 10000). B becomes
 * effective at 5000 with no write then. */
static void test_scheduled_entry_is_a_change(void **state)
{
	fixture *f = *state;
	Dealdesk__V1__PriceEntry a = entry("a", 100), b = entry("b", 80), a2 = entry("a", 120);
	b.valid_from = 5000;
	b.valid_to = 7000;
	b.priority = 1;
	record(f, &a, 1000, 0);
	record(f, &b, 1000, 0);
	record(f, &a2, 6000, 0);
	dd_price_point *p;
	assert_int_equal(list(f, "", 0, 10000, NULL, &p), 3);
	assert_point(&p[0], 1000, 5000, 100, "a");
	assert_point(&p[1], 5000, 7000, 80, "b");
	assert_point(&p[2], 7000, 10000, 120, "a");
	assert_int_equal(dd_history_lowest(p, 3), 1);
	/* a window inside: clipped */
	assert_int_equal(list(f, "", 5500, 6500, NULL, &p), 1);
	assert_point(&p[0], 5500, 6500, 80, "b");
	/* B deleted at 5500: A (100, then 120 from 6000) takes over */
	record(f, &b, 5500, 1);
	assert_int_equal(list(f, "", 0, 10000, NULL, &p), 4);
	assert_point(&p[0], 1000, 5000, 100, "a");
	assert_point(&p[1], 5000, 5500, 80, "b");
	assert_point(&p[2], 5500, 6000, 100, "a");
	assert_point(&p[3], 6000, 10000, 120, "a");
}

/* 100 writes of one list at 100, 200, ... 10000, price 1000 - (i % 7) x 10:
 * 100 points (no two neighbours equal), the lowest 940 first at i = 6. */
static void test_many_writes(void **state)
{
	fixture *f = *state;
	for (int i = 1; i <= 100; i++) {
		Dealdesk__V1__PriceEntry e = entry("a", 1000 - (i % 7) * 10);
		record(f, &e, i * 100, 0);
	}
	dd_price_point *p;
	size_t n = list(f, "", 0, 20000, NULL, &p);
	assert_int_equal(n, 100);
	assert_point(&p[0], 100, 200, 990, "a");
	assert_point(&p[99], 10000, 20000, 1000 - (100 % 7) * 10, "a");
	long lo = dd_history_lowest(p, n);
	assert_int_equal(p[lo].price, 940);
	assert_int_equal(p[lo].from, 600);
}

/* A channel entry (web, 90) beats the any-channel one (100) for web; for
 * no channel it does not apply. */
static void test_channel_scope(void **state)
{
	fixture *f = *state;
	Dealdesk__V1__PriceEntry any = entry("any", 100), web = entry("web", 90);
	web.channel = "web";
	record(f, &any, 1000, 0);
	record(f, &web, 2000, 0);
	dd_price_point *p;
	assert_int_equal(list(f, "web", 0, 3000, NULL, &p), 2);
	assert_point(&p[0], 1000, 2000, 100, "any");
	assert_point(&p[1], 2000, 3000, 90, "web");
	assert_int_equal(list(f, "", 0, 3000, NULL, &p), 1);
	assert_point(&p[0], 1000, 3000, 100, "any");
	assert_int_equal(list(f, "store", 0, 3000, NULL, &p), 1);
}

/* An entry stored before history was kept counts since time 0; its first
 * write keeps that old value at 0; a proposal counts from its time. */
static void test_old_entry_and_proposal(void **state)
{
	fixture *f = *state;
	Dealdesk__V1__PriceEntry old = entry("a", 100);
	uint8_t buf[128];
	size_t len = protobuf_c_message_pack(&old.base, buf);
	char key[64];
	int klen = dd_key_join(key, sizeof(key), 3, "TV", "USD", "a");
	dd_wtxn *t;
	assert_int_equal(dd_wtxn_begin(f->store, &t), DD_OK);
	assert_int_equal(dd_wtxn_put(t, DD_T_PRICES, (dd_val){ key, (size_t)klen },
	                             (dd_val){ buf, len }), DD_OK);
	assert_int_equal(dd_wtxn_commit(t, NULL), DD_OK);
	dd_price_point *p;
	assert_int_equal(list(f, "", 10, 5000, NULL, &p), 1);
	assert_point(&p[0], 10, 5000, 100, "a");
	/* proposed at 3000: 70 */
	Dealdesk__V1__PriceEntry nw = entry("a", 70);
	const Dealdesk__V1__PriceEntry *props[] = { &nw };
	dd_history_proposal prop = { props, 1, 3000 };
	assert_int_equal(list(f, "", 10, 5000, &prop, &p), 2);
	assert_point(&p[0], 10, 3000, 100, "a");
	assert_point(&p[1], 3000, 5000, 70, "a");
	/* written at 4000: the old value is kept from 0 */
	record(f, &nw, 4000, 0);
	assert_int_equal(list(f, "", 10, 5000, NULL, &p), 2);
	assert_point(&p[0], 10, 4000, 100, "a");
	assert_point(&p[1], 4000, 5000, 70, "a");
}

/* 90 days kept: snapshots at day 1 (100) and day 10 (90); a write at day
 * 200 cuts at day 110: day 1 goes (superseded by day 10 before the cut),
 * day 10 stays (in force when the kept window begins). */
static void test_retention(void **state)
{
	fixture *f = *state;
	Dealdesk__V1__PriceEntry a = entry("a", 100), b = entry("a", 90), c = entry("a", 80);
	record(f, &a, 1 * DAY, 0);
	record(f, &b, 10 * DAY, 0);
	record(f, &c, 200 * DAY, 0);
	dd_price_point *p;
	assert_int_equal(list(f, "", 0, 300 * DAY, NULL, &p), 2);
	assert_point(&p[0], 10 * DAY, 200 * DAY, 90, "a");
	assert_point(&p[1], 200 * DAY, 300 * DAY, 80, "a");
}

static void sale(fixture *f, const char *order, int64_t at, const char *cur, const char *chan,
                 int64_t unit)
{
	Dealdesk__V1__SkuSale s = DEALDESK__V1__SKU_SALE__INIT;
	s.order_id = (char *)order;
	s.currency = (char *)cur;
	s.channel = (char *)chan;
	s.quantity = 1;
	s.unit_price = s.line_total = unit;
	s.at = at;
	uint8_t buf[128];
	size_t len = protobuf_c_message_pack(&s.base, buf);
	char key[64];
	memcpy(key, "TV", 3);
	for (int b = 0; b < 8; b++)
		key[3 + b] = (char)((uint64_t)at >> (56 - 8 * b));
	key[11] = '\0';
	size_t ol = strlen(order);
	memcpy(key + 12, order, ol);
	dd_wtxn *t;
	assert_int_equal(dd_wtxn_begin(f->store, &t), DD_OK);
	assert_int_equal(dd_wtxn_put(t, DD_T_SKU_HISTORY, (dd_val){ key, 12 + ol },
	                             (dd_val){ buf, len }), DD_OK);
	assert_int_equal(dd_wtxn_commit(t, NULL), DD_OK);
}

/* Sales: web USD 95 at 100, 85 at 300, 90 at 500; store USD 70 at 400;
 * web EUR 60 at 450. Web USD over [200, 600): 85, 90 (lowest 85 at 300);
 * the last before 250: 95 at 100; before 100: none. */
static void test_sales(void **state)
{
	fixture *f = *state;
	sale(f, "o1", 100, "USD", "web", 95);
	sale(f, "o2", 300, "USD", "web", 85);
	sale(f, "o3", 400, "USD", "store", 70);
	sale(f, "o4", 450, "EUR", "web", 60);
	sale(f, "o5", 500, "USD", "web", 90);
	dd_price_scope s = { "TV", "USD", "web", "" };
	dd_price_point *p, last;
	size_t n;
	int found;
	assert_int_equal(dd_rtxn_begin(f->rtxn), DD_OK);
	assert_int_equal(dd_history_sales(f->rtxn, &s, 200, 600, &f->arena, &p, &n), DD_OK);
	assert_int_equal(n, 2);
	assert_int_equal(p[0].price, 85);
	assert_int_equal(p[0].from, 300);
	assert_string_equal(p[0].ref, "o2");
	assert_int_equal(p[1].price, 90);
	assert_int_equal(dd_history_lowest(p, n), 0);
	assert_int_equal(dd_history_last_sale(f->rtxn, &s, 250, &f->arena, &last, &found), DD_OK);
	assert_true(found);
	assert_int_equal(last.price, 95);
	assert_int_equal(last.from, 100);
	assert_int_equal(dd_history_last_sale(f->rtxn, &s, 100, &f->arena, &last, &found), DD_OK);
	assert_false(found);
	s.channel = "store";
	assert_int_equal(dd_history_sales(f->rtxn, &s, 0, 1000, &f->arena, &p, &n), DD_OK);
	assert_int_equal(n, 1);
	assert_int_equal(p[0].price, 70);
	assert_int_equal(dd_history_sales(f->rtxn, &s, 500, 500, &f->arena, &p, &n), DD_EINVAL);
	dd_rtxn_end(f->rtxn);
}

/* The last sale long before: sold at 200 days, 50 days and (in EUR) at 290
 * days; before day 300 the last USD web sale is day 50's (found in the
 * fourth widening window, 7 + 14 + 28 + 56 days back covers day 195 on). */
static void test_last_sale_far_back(void **state)
{
	fixture *f = *state;
	sale(f, "old", 50 * DAY, "USD", "web", 80);
	sale(f, "older", 20 * DAY, "USD", "web", 70);
	sale(f, "eur", 290 * DAY, "EUR", "web", 60);
	dd_price_scope s = { "TV", "USD", "web", "" };
	dd_price_point last;
	int found;
	assert_int_equal(dd_rtxn_begin(f->rtxn), DD_OK);
	assert_int_equal(dd_history_last_sale(f->rtxn, &s, 300 * DAY, &f->arena, &last, &found),
	                 DD_OK);
	assert_true(found);
	assert_int_equal(last.price, 80);
	assert_int_equal(last.from, 50 * DAY);
	assert_int_equal(dd_history_last_sale(f->rtxn, &s, 50 * DAY, &f->arena, &last, &found),
	                 DD_OK);
	assert_true(found);
	assert_int_equal(last.price, 70);
	assert_int_equal(dd_history_last_sale(f->rtxn, &s, 20 * DAY, &f->arena, &last, &found),
	                 DD_OK);
	assert_false(found);
	dd_rtxn_end(f->rtxn);
}

static void record_promo(fixture *f, const Dealdesk__V1__Promotion *p, int64_t at, int deleted)
{
	dd_wtxn *t;
	assert_int_equal(dd_wtxn_begin(f->store, &t), DD_OK);
	assert_int_equal(dd_history_record_promotion(t, p, at, deleted), DD_OK);
	assert_int_equal(dd_wtxn_commit(t, NULL), DD_OK);
}

/* List 100 from 1000. OFF (20 % off, public) written at 2000 for
 * [3000, 5000); deleted at 4000. FIX (fixed price 90, for web only) for
 * [2500, 6000). Applied, no channel, [0, 8000): 100 [1000, 3000), 80
 * (OFF) [3000, 4000), 100 [4000, 8000). On web: 100 [1000, 2500), 90
 * (FIX) [2500, 3000), 80 (OFF) [3000, 4000), 90 (FIX) [4000, 6000), 100
 * [6000, 8000). Excluding OFF on web: 100, then 90 [2500, 6000), 100. */
static void test_applied_prices(void **state)
{
	fixture *f = *state;
	Dealdesk__V1__PriceEntry a = entry("a", 100);
	record(f, &a, 1000, 0);
	char *skus[] = { "TV" }, *web[] = { "web" };
	Dealdesk__V1__Promotion off = DEALDESK__V1__PROMOTION__INIT, fix = DEALDESK__V1__PROMOTION__INIT;
	off.id = "OFF";
	off.enabled = 1;
	off.kind = DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_PERCENTAGE;
	off.percent_bps = 2000;
	off.n_skus = 1;
	off.skus = skus;
	off.valid_from = 3000;
	off.valid_to = 5000;
	fix = off;
	fix.id = "FIX";
	fix.kind = DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_FIXED_PRICE;
	fix.amount = 90;
	fix.currency = "USD";
	fix.n_channels = 1;
	fix.channels = web;
	fix.valid_from = 2500;
	fix.valid_to = 6000;
	record_promo(f, &off, 2000, 0);
	record_promo(f, &off, 4000, 1);
	record_promo(f, &fix, 2000, 0);
	dd_promo_versions *pv;
	dd_price_point *p;
	size_t n;
	dd_price_scope any = { "TV", "USD", "", "" }, onweb = { "TV", "USD", "web", "" };
	assert_int_equal(dd_rtxn_begin(f->rtxn), DD_OK);
	assert_int_equal(dd_history_load_promotions(f->rtxn, &f->arena, &pv), DD_OK);
	assert_int_equal(dd_history_applied(f->rtxn, &any, 0, 8000, NULL, pv, NULL, &f->arena, &p, &n),
	                 DD_OK);
	assert_int_equal(n, 3);
	assert_point(&p[0], 1000, 3000, 100, "a");
	assert_point(&p[1], 3000, 4000, 80, "OFF");
	assert_true(p[1].promo);
	assert_string_equal(dd_price_point_source(&p[1]), "promotion");
	assert_point(&p[2], 4000, 8000, 100, "a");
	assert_int_equal(dd_history_applied(f->rtxn, &onweb, 0, 8000, NULL, pv, NULL, &f->arena, &p,
	                                    &n), DD_OK);
	assert_int_equal(n, 5);
	assert_point(&p[0], 1000, 2500, 100, "a");
	assert_point(&p[1], 2500, 3000, 90, "FIX");
	assert_point(&p[2], 3000, 4000, 80, "OFF");
	assert_point(&p[3], 4000, 6000, 90, "FIX");
	assert_point(&p[4], 6000, 8000, 100, "a");
	assert_int_equal(dd_history_applied(f->rtxn, &onweb, 0, 8000, NULL, pv, "OFF", &f->arena, &p,
	                                    &n), DD_OK);
	assert_int_equal(n, 3);
	assert_point(&p[1], 2500, 6000, 90, "FIX");
	/* the list alone knows nothing of them */
	assert_int_equal(dd_history_list(f->rtxn, &onweb, 0, 8000, NULL, &f->arena, &p, &n), DD_OK);
	assert_int_equal(n, 1);
	dd_rtxn_end(f->rtxn);
}

/* The admin writes keep snapshots, one per entry and second: a put, then
 * a delete within the same second leave the deletion (an empty value); a
 * price that stood for less than a second never applied. */
static int count_one(void *ud, dd_val k, dd_val v)
{
	(void)k;
	int *n = ud;
	n[0]++;
	n[1] += v.len == 0;
	return 0;
}

static void test_admin_writes_keep_history(void **state)
{
	fixture *f = *state;
	Dealdesk__V1__PriceEntry e = entry("a", 100);
	ProtobufCMessage *items[] = { &e.base };
	dd_error err;
	assert_int_equal(dd_admin_put(f->store, DD_ENTITY_PRICE, items, 1, "entries", NULL, &err),
	                 DD_OK);
	const char *key[] = { "TV", "USD", "a" };
	assert_int_equal(dd_admin_delete(f->store, DD_ENTITY_PRICE, key, NULL, &err), DD_OK);
	int n[2] = { 0, 0 };
	assert_int_equal(dd_rtxn_begin(f->rtxn), DD_OK);
	assert_int_equal(dd_rtxn_scan(f->rtxn, DD_T_PRICE_HISTORY, (dd_val){ NULL, 0 },
	                              (dd_val){ NULL, 0 }, count_one, n), DD_OK);
	dd_rtxn_end(f->rtxn);
	/* put then delete: one or two seconds apart at most */
	assert_true(n[0] == 1 || n[0] == 2);
	assert_int_equal(n[1], 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_scheduled_entry_is_a_change, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_writes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_channel_scope, setup, teardown),
		cmocka_unit_test_setup_teardown(test_old_entry_and_proposal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retention, setup, teardown),
		cmocka_unit_test_setup_teardown(test_applied_prices, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sales, setup, teardown),
		cmocka_unit_test_setup_teardown(test_last_sale_far_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_admin_writes_keep_history, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
