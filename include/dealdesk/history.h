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
} dd_price_point;

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

/* The lowest price of points (the first in time among equals): index, or
 * -1 when n == 0. */
long dd_history_lowest(const dd_price_point *p, size_t n);

#endif
