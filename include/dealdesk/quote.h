/* dealdesk quote pipeline: validate, price, discount, decide credit, check
 * compliance, in that order, over one short read transaction.
 *
 *   1. validate the request (limits below; messages name the field)
 *   2. customer and, per line, the price entry (see store.h for precedence)
 *   3. pricing policy   price(ctx)             -> unit prices
 *   4. promotions policy apply(ctx, promotions) -> line and order discounts;
 *      order discounts are spread by largest remainder, no line below zero
 *   5. credit policy    decide(ctx, credit)    -> outcome (fail-safe REVIEW)
 *   6. compliance policy check(ctx, checks)    -> results (fail-safe BLOCK)
 *
 * A dd_quoter belongs to one thread: it owns a Lua sandbox with the active
 * policies compiled once per version, the promotions and checks converted
 * once per change, and a reusable read transaction.
 */
#ifndef DEALDESK_QUOTE_H
#define DEALDESK_QUOTE_H

#include <stdint.h>

#include "dealdesk/arena.h"
#include "dealdesk/error.h"
#include "dealdesk/sandbox.h"
#include "dealdesk/store.h"
#include "dealdesk/v1/quote.pb-c.h"

typedef struct dd_quote_limits {
	uint32_t max_lines;      /* 0 = 500 */
	int64_t max_quantity;    /* 0 = 1,000,000 */
	uint32_t max_coupons;    /* 0 = 20 */
	uint32_t max_attributes; /* 0 = 64 */
	dd_sandbox_limits sandbox;
} dd_quote_limits;

typedef struct dd_quoter dd_quoter;

int dd_quoter_new(dd_quoter **out, dd_store *store, const dd_quote_limits *limits,
                  dd_error *err);
void dd_quoter_free(dd_quoter *q);

/* Prices req. now (Unix seconds) is used when req->request_time is 0. On
 * success *out is allocated in arena and valid until it is reset. Errors:
 * DD_EINVAL / DD_EOVERFLOW (bad field), DD_ENOTFOUND (customer, SKU or
 * price), DD_EPRECOND (no active policy), DD_EPOLICY / DD_EBUDGET (pricing
 * or promotions policy failed), DD_ESTORE. */
int dd_quote(dd_quoter *q, const Dealdesk__V1__QuoteRequest *req, int64_t now,
             dd_arena *arena, Dealdesk__V1__QuoteResponse **out, dd_error *err);

/* dd_quote with the policy of each kind pinned to pin[kind] (0 = the
 * active one), for replay and impact: the versions need not be active, only
 * stored (DD_ENOTFOUND names the one that is not). The quoter's caches are
 * dropped before and after, so the next dd_quote sees the active policies
 * again. pin is indexed by dd_policy_kind. */
int dd_quote_pinned(dd_quoter *q, const uint64_t pin[DD_POLICY_KIND_COUNT],
                    const Dealdesk__V1__QuoteRequest *req, int64_t now, dd_arena *arena,
                    Dealdesk__V1__QuoteResponse **out, dd_error *err);

#endif
