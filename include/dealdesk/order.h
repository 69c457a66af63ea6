/* dealdesk orders: a quote is a question, an order is a commitment.
 *
 * Commit re-runs the quote stages on the worker's quoter (one read
 * transaction) and builds a write: the order record, the counters it moves
 * (coupon uses, promotion budgets, open-order exposure), the customer's
 * order statistics and the per-SKU history. The write is applied by the
 * writer thread inside its nested transaction, where every counter the
 * quote's outcome depended on is read again: a coupon or budget limit
 * reached, or an exposure that rose, since the read fails the job with
 * DD_EPRECOND naming it (the client retries; the retry re-quotes), so
 * limits hold exactly under any concurrency.
 *
 * Idempotency: the order keeps a SHA-256 fingerprint of its request (the
 * packed QuoteRequest with the order id and explain off). The same id with
 * the same fingerprint returns the stored order and writes nothing; with
 * another fingerprint DD_EEXIST. Both are checked on the worker (so a retry
 * is answered from the store even when a re-quote would now differ) and
 * again in the write (concurrent duplicates commit once).
 *
 * Counters (table usage, Usage values): "c\0code" and "c\0code\0customer"
 * (coupon uses), "p\0promotion" and "p\0promotion\0customer" (budget uses
 * and amounts), "x\0customer" (open orders: count and amount in the credit
 * currency). OPEN and CREDIT_HOLD orders hold them; CANCELLED and REJECTED
 * orders released them. dd_order_verify recomputes them from the orders.
 *
 * Everything is allocated in the arena given; nothing is to be freed.
 */
#ifndef DEALDESK_ORDER_H
#define DEALDESK_ORDER_H

#include <stdint.h>

#include "dealdesk/arena.h"
#include "dealdesk/error.h"
#include "dealdesk/quote.h"
#include "dealdesk/store.h"
#include "dealdesk/v1/orders.pb-c.h"

typedef struct dd_order_write dd_order_write;

/* What a state change does (dd_order_change_prepare). */
typedef enum dd_order_change {
	DD_ORDER_CANCEL = 1,  /* OPEN or CREDIT_HOLD -> CANCELLED, releases */
	DD_ORDER_RELEASE = 2, /* CREDIT_HOLD -> OPEN */
	DD_ORDER_REJECT = 3,  /* CREDIT_HOLD -> REJECTED, releases */
	DD_ORDER_INVOICE = 4  /* OPEN -> INVOICED at `now`: open orders -> open receivables */
} dd_order_change;

/* Commit, step 1, on the worker that owns q. now is used when the request
 * time is 0. DD_OK and *out: either an answer already (dd_order_write_needed
 * 0: the same order exists) or a write to apply. Errors: those of dd_quote,
 * DD_EEXIST (the id holds another request), DD_EPRECOND (compliance BLOCK,
 * credit DECLINE, expected_total differs; the message says why). */
int dd_order_commit_prepare(dd_quoter *q, const Dealdesk__V1__CommitRequest *req, int64_t now,
                            dd_arena *arena, dd_order_write **out, dd_error *err);

/* Cancel / release / reject, step 1 (checks the arguments only). */
int dd_order_change_prepare(dd_order_change change, const char *order_id, const char *actor,
                            const char *comment, int64_t now, dd_arena *arena,
                            dd_order_write **out, dd_error *err);

/* RecordPayment, step 1: amount > 0, payment_id required; time 0 = now. */
int dd_order_payment_prepare(const char *invoice_id, int64_t amount, int64_t time,
                             const char *payment_id, int64_t now, dd_arena *arena,
                             dd_order_write **out, dd_error *err);

/* PutReceivables, step 1: checks every invoice (ids, currency, amounts). */
int dd_order_receivables_prepare(Dealdesk__V1__Invoice *const *items, size_t n, int64_t now,
                                 dd_arena *arena, dd_order_write **out, dd_error *err);

/* After a commit prepare refused with DD_EPRECOND by its decision (a
 * compliance BLOCK or a credit DECLINE; *out is then set to the write):
 * the quote that decided it (in the prepare's arena); NULL otherwise. */
const Dealdesk__V1__QuoteResponse *dd_order_refused_quote(const dd_order_write *w);

/* 0 when the write already has its answer (nothing to apply). */
int dd_order_write_needed(const dd_order_write *w);

/* Step 2, in the writer's (nested) transaction: checks and writes. The
 * arena given to prepare is used, from this thread only, meanwhile. */
int dd_order_write_apply(dd_wtxn *txn, dd_order_write *w, dd_error *err);

/* The order as stored (after apply, or when no write was needed),
 * unpacked into arena. */
int dd_order_write_result(const dd_order_write *w, dd_arena *arena, Dealdesk__V1__Order **out,
                          dd_error *err);

/* The result of any write as a message: an Order (commit, cancel, release,
 * reject) or an Invoice (invoice, payment, with overdue_days as of the
 * write's time). */
int dd_order_write_message(const dd_order_write *w, dd_arena *arena, ProtobufCMessage **out,
                           dd_error *err);

/* Reads. */
/* The invoice with overdue_days as of `at`. */
int dd_invoice_get(dd_store *store, const char *invoice_id, int64_t at, dd_arena *arena,
                   Dealdesk__V1__Invoice **out, dd_error *err);
int dd_order_get(dd_store *store, const char *order_id, dd_arena *arena,
                 Dealdesk__V1__Order **out, dd_error *err);
/* held: CREDIT_HOLD only (whatever req->state says). */
int dd_order_list(dd_store *store, const Dealdesk__V1__ListOrdersRequest *req, int held,
                  dd_arena *arena, Dealdesk__V1__ListOrdersResponse **out, dd_error *err);
/* The changes of a customer's credit profile, oldest first (the page token
 * is the number of changes already returned). */
int dd_order_credit_changes(dd_store *store, const Dealdesk__V1__ListCreditChangesRequest *req,
                            dd_arena *arena, Dealdesk__V1__ListCreditChangesResponse **out,
                            dd_error *err);
/* Invoices in invoice id order, filtered by req (invoice_list.c). */
int dd_invoice_list(dd_store *store, const Dealdesk__V1__ListInvoicesRequest *req,
                    dd_arena *arena, Dealdesk__V1__ListInvoicesResponse **out, dd_error *err);
/* Recomputes every order counter from the orders, in one read transaction,
 * and lists those that differ from the stored ones. */
int dd_order_verify(dd_store *store, dd_arena *arena, Dealdesk__V1__VerifyCountersResponse **out,
                    dd_error *err);

#endif
