/* dealdesk compliance over the price history (README "Price history and
 * price claims"): the checks run when a promotion or a price is written,
 * and the price history as the ComplianceService returns it. Both run on a
 * dd_quoter (one per thread, dealdesk/quote.h) over one short read
 * transaction of their own. */
#ifndef DEALDESK_COMPLIANCE_H
#define DEALDESK_COMPLIANCE_H

#include <stddef.h>
#include <stdint.h>

#include "dealdesk/arena.h"
#include "dealdesk/error.h"
#include "dealdesk/model.h"
#include "dealdesk/quote.h"
#include "dealdesk/v1/compliance.pb-c.h"

/* Runs the active compliance policy's checks on the n records of kind
 * (DD_ENTITY_PROMOTION or DD_ENTITY_PRICE; other kinds: DD_OK, nothing)
 * about to be written, as they would apply from `now` on: the promotions'
 * offers, or the prices and the promotions on their SKUs with the new
 * prices in the history. A check whose on_write is BLOCK and that fails
 * refuses the write: DD_EPRECOND, the message naming every such check and
 * what it found. One set to WARN or unset adds "<check>: <message>"
 * to *warnings (arena, *nwarnings of them). A failing policy refuses too
 * (fail-safe). No active compliance policy: DD_OK, nothing checked. */
int dd_compliance_screen(dd_quoter *q, dd_entity_kind kind, ProtobufCMessage *const *items,
                         size_t n, int64_t now, dd_arena *arena, char ***warnings,
                         size_t *nwarnings, dd_error *err);

/* GetPriceHistory (proto/dealdesk/v1/compliance.proto): *out in arena.
 * DD_EINVAL naming the field. */
int dd_compliance_price_history(dd_quoter *q, const Dealdesk__V1__PriceHistoryRequest *req,
                                int64_t now, dd_arena *arena,
                                Dealdesk__V1__PriceHistoryResponse **out, dd_error *err);

#endif
