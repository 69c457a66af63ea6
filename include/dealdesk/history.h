/* dealdesk price history: list prices over time and transaction prices.
 *
 * List prices are derived, never sampled: every write of a price entry
 * (put or delete) keeps a snapshot of the entry as written, in the
 * price_history table (key sku \0 currency \0 at(8 BE) \0 price_list_id;
 * an empty value is a deletion). The effective list price at a time t is
 * the one a quote of one unit at t would pick among the entries as they
 * were stored at t (channel and region as asked, customer group "" ,
 * tier 1, valid_from <= t < valid_to; then the more specific scope, the
 * higher priority, the newer valid_from, the first price list id). So a
 * scheduled entry becoming effective is a change in the history with no
 * write at that moment. An entry stored before history was kept (no
 * snapshot) counts as stored since time 0; the first write of such an
 * entry first keeps its old value as a snapshot at time 0.
 *
 * Transaction prices are the SkuSale records the order commits append
 * (sku_history: sku \0 at(8 BE) \0 order_id), per currency and channel.
 *
 * Retention: a write prunes the snapshots of its SKU and currency older
 * than the store's price_history_days (dd_store_opts, default 90), keeping
 * for each price list the newest one before that cut (what was in force
 * when the kept window begins).
 *
 * Everything returned lives in the caller's arena.
 */
#ifndef DEALDESK_HISTORY_H
#define DEALDESK_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include "dealdesk/arena.h"
#include "dealdesk/store.h"
#include "dealdesk/v1/types.pb-c.h"

/* One piece of history: a list price in force over [from, to), or a
 * transaction (sale) at from == to. ref: the price list id or order id. */
typedef struct dd_price_point {
	int64_t from, to;
	int64_t price;
	const char *ref;
	int sale;
	int promo; /* applied prices: a public promotion's price (ref = its id) */
} dd_price_point;

/* "sale", "promotion" or "list": how a point is named in responses and in
 * the text its hash is computed over ("<source> <from> <to> <price> <ref>\n"
 * per point). Static. */
const char *dd_price_point_source(const dd_price_point *p);

/* What a series is of: sku and currency required; channel and region ""
 * for "any" (entries with an empty channel/region still apply to a named
 * one, as in a quote). */
typedef struct dd_price_scope {
	const char *sku, *currency, *channel, *region;
} dd_price_scope;

/* Keeps the snapshot of e as written at `at` (deleted: e is being removed;
 * only its key fields are read). Call before the entry itself is written:
 * the first snapshot of an entry keeps its old stored value at time 0.
 * Prunes as above. */
int dd_history_record_price(dd_wtxn *txn, const Dealdesk__V1__PriceEntry *e, int64_t at,
                            int deleted);

/* Entries proposed but not yet written (authoring checks): counted as if
 * written at `at`. */
typedef struct dd_history_proposal {
	const Dealdesk__V1__PriceEntry *const *entries;
	size_t n;
	int64_t at;
} dd_history_proposal;

/* The effective list price of scope over [from, to): points in time order,
 * adjacent equal prices of one list merged, clipped to the window; times
 * with no price at all are left out. prop may be NULL. DD_OK, DD_EINVAL
 * (bad scope or window), DD_ENOMEM, DD_ESTORE. */
int dd_history_list(dd_rtxn *txn, const dd_price_scope *s, int64_t from, int64_t to,
                    const dd_history_proposal *prop, dd_arena *a, dd_price_point **out,
                    size_t *n);

/* The transaction prices of scope's sku, currency and channel in
 * [from, to), in time order (price = net unit price). */
int dd_history_sales(dd_rtxn *txn, const dd_price_scope *s, int64_t from, int64_t to,
                     dd_arena *a, dd_price_point **out, size_t *n);

/* The last transaction price strictly before `before`: *found 0 when none. */
int dd_history_last_sale(dd_rtxn *txn, const dd_price_scope *s, int64_t before,
                         dd_arena *a, dd_price_point *out, int *found);

/* ---- promotions: the prices applied to everyone ------------------------------

 * Every write of a promotion keeps its snapshot too (promotion_history: id
 * \0 at(8 BE) -> Promotion as written, empty = deleted; pruned as price
 * snapshots are). A promotion stored before that counts since time 0. */
int dd_history_record_promotion(dd_wtxn *txn, const Dealdesk__V1__Promotion *p, int64_t at,
                                int deleted);

/* A public promotion: enabled, for everyone (no coupon, customer
 * targeting, condition, minimum or experiment), of a kind that sets a unit
 * price (PERCENTAGE, FIXED_AMOUNT, FIXED_PRICE). */
int dd_history_promotion_public(const Dealdesk__V1__Promotion *p);
/* The unit price p gives on list (PERCENTAGE rounded half-even; other
 * kinds: list). */
int64_t dd_history_promotion_price(const Dealdesk__V1__Promotion *p, int64_t list);

/* Every stored state of every promotion, loaded once (e.g. per quote) and
 * passed to dd_history_applied. */
typedef struct dd_promo_versions dd_promo_versions;
int dd_history_load_promotions(dd_rtxn *txn, dd_arena *a, dd_promo_versions **out);

/* The lowest price applied to everyone over [from, to): the effective list
 * price lowered by the public promotions in force then (as stored then) on
 * scope's SKU (by sku, by the entry's category, or for every SKU), in its
 * currency, channel and region, except the promotion `exclude` (NULL =
 * none). Points as dd_history_list's; a promotion's have promo = 1 and
 * ref = its id. */
int dd_history_applied(dd_rtxn *txn, const dd_price_scope *s, int64_t from, int64_t to,
                       const dd_history_proposal *prop, const dd_promo_versions *pv,
                       const char *exclude, dd_arena *a, dd_price_point **out, size_t *n);

/* The lowest price of points (the first in time among equals): index, or
 * -1 when n == 0. */
long dd_history_lowest(const dd_price_point *p, size_t n);

#endif
