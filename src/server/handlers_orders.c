/* dealdeskd handlers: dealdesk.v1.OrderService. Commits and order changes
 * are prepared on the worker and applied by the writer; reads answer at
 * once. */
#include "handlers.h"
#include "handlers_journal.h"

#include <string.h>

#include "dealdesk/order.h"
#include "dealdesk/v1/orders.pb-c.h"


/* A commit or a state change: prepared on the worker, applied by the writer
 * in its nested transaction, answered once durable. */
typedef struct order_call {
	dd_writer_job job;
	dd_call *call;
	dd_order_write *w;
} order_call;

static int order_apply(dd_wtxn *txn, void *ud, dd_error *err)
{
	return dd_order_write_apply(txn, ((order_call *)ud)->w, err);
}

static int order_answer(dd_call *call, const dd_order_write *w)
{
	dd_error err;
	dd_error_clear(&err);
	ProtobufCMessage *m = NULL;
	int rc = dd_order_write_message(w, dd_call_arena(call), &m, &err);
	return dd_call_finish(call, rc, rc == DD_OK ? dd_journal_record_order(call, m) : NULL, &err);
}

static void order_done(void *ud, int rc, uint64_t version, const dd_error *err)
{
	order_call *oc = ud;
	(void)version;
	if (rc != DD_OK)
		dd_call_finish(oc->call, rc, NULL, err);
	else
		order_answer(oc->call, oc->w);
}

static int submit_order(dd_call *call, int rc, dd_order_write *w, dd_error *err)
{
	if (rc != DD_OK)
		return dd_call_finish(call, rc, NULL, err);
	if (!dd_order_write_needed(w))
		return order_answer(call, w);
	order_call *oc = dd_arena_alloc(dd_call_arena(call), sizeof(*oc));
	if (oc == NULL) {
		dd_error_set(err, DD_ENOMEM, "out of memory");
		return dd_call_finish(call, DD_ENOMEM, NULL, err);
	}
	memset(oc, 0, sizeof(*oc));
	oc->job.apply = order_apply;
	oc->job.done = order_done;
	oc->job.ud = oc;
	oc->call = call;
	oc->w = w;
	dd_journal_audit(call, &oc->job);
	dd_writer *writer = dd_call_writer(call);
	if (writer == NULL || dd_writer_submit(writer, &oc->job) != DD_OK) {
		dd_error_set(err, DD_EINTERNAL, "server: the writer is not running");
		return dd_call_finish(call, DD_EINTERNAL, NULL, err);
	}
	return DD_CALL_PENDING;
}

int dd_orders_commit(dd_call *call)
{
	dd_error err;
	dd_error_clear(&err);
	dd_order_write *w = NULL;
	const Dealdesk__V1__CommitRequest *req = (const void *)dd_call_request(call);
	int rc = dd_order_commit_prepare(dd_call_quoter(call), req, dd_handler_now(),
	                                 dd_call_arena(call), &w, &err);
	/* a refusal is a decision too: logged as the quote that made it */
	const Dealdesk__V1__QuoteResponse *refused = rc == DD_EPRECOND ? dd_order_refused_quote(w) : NULL;
	if (refused != NULL) {
		/* the quote as the commit ran it: with the order's id */
		Dealdesk__V1__QuoteRequest qr = *req->request;
		qr.order_id = req->order_id;
		dd_journal_record_refused_commit(call, &qr.base, &refused->base);
	}
	return submit_order(call, rc, w, &err);
}

int dd_orders_cancel(dd_call *call)
{
	const Dealdesk__V1__OrderKey *q = (const void *)dd_call_request(call);
	dd_error err;
	dd_error_clear(&err);
	dd_order_write *w = NULL;
	int rc = dd_order_change_prepare(DD_ORDER_CANCEL, q->order_id, dd_call_identity(call), "",
	                                 dd_handler_now(), dd_call_arena(call), &w, &err);
	return submit_order(call, rc, w, &err);
}

static int order_decision(dd_call *call, dd_order_change change)
{
	const Dealdesk__V1__OrderDecisionRequest *q = (const void *)dd_call_request(call);
	dd_error err;
	dd_error_clear(&err);
	dd_order_write *w = NULL;
	const char *actor = *q->actor ? q->actor : dd_call_identity(call);
	int rc = dd_order_change_prepare(change, q->order_id, actor, q->comment, dd_handler_now(),
	                                 dd_call_arena(call), &w, &err);
	return submit_order(call, rc, w, &err);
}

int dd_orders_release_order(dd_call *call)
{
	return order_decision(call, DD_ORDER_RELEASE);
}

int dd_orders_reject_order(dd_call *call)
{
	return order_decision(call, DD_ORDER_REJECT);
}

int dd_orders_invoice(dd_call *call)
{
	const Dealdesk__V1__InvoiceRequest *q = (const void *)dd_call_request(call);
	dd_error err;
	dd_error_clear(&err);
	dd_order_write *w = NULL;
	int rc = q->invoice_time < 0
	                 ? dd_error_set(&err, DD_EINVAL, "invoice_time: must be >= 0")
	                 : dd_order_change_prepare(DD_ORDER_INVOICE, q->order_id, dd_call_identity(call),
	                                           "", q->invoice_time ? q->invoice_time : dd_handler_now(),
	                                           dd_call_arena(call), &w, &err);
	return submit_order(call, rc, w, &err);
}

int dd_orders_record_payment(dd_call *call)
{
	const Dealdesk__V1__RecordPaymentRequest *q = (const void *)dd_call_request(call);
	dd_error err;
	dd_error_clear(&err);
	dd_order_write *w = NULL;
	int rc = dd_order_payment_prepare(q->invoice_id, q->amount, q->time, q->payment_id,
	                                  dd_handler_now(), dd_call_arena(call), &w, &err);
	return submit_order(call, rc, w, &err);
}

int dd_orders_put_receivables(dd_call *call)
{
	const Dealdesk__V1__PutReceivablesRequest *q = (const void *)dd_call_request(call);
	dd_error err;
	dd_error_clear(&err);
	dd_order_write *w = NULL;
	int rc = dd_order_receivables_prepare(q->invoices, q->n_invoices, dd_handler_now(),
	                                      dd_call_arena(call), &w, &err);
	return submit_order(call, rc, w, &err);
}

static int get_invoice(dd_call *call, ProtobufCMessage **resp, dd_error *err)
{
	const Dealdesk__V1__InvoiceKey *q = (const void *)dd_call_request(call);
	Dealdesk__V1__Invoice *inv;
	int rc = dd_invoice_get(dd_call_store(call), q->invoice_id, q->at ? q->at : dd_handler_now(),
	                        dd_call_arena(call), &inv, err);
	if (rc == DD_OK)
		*resp = &inv->base;
	return rc;
}

DD_SYNC_HANDLER(, dd_orders_get_invoice, get_invoice(call, &resp, &err))

static int credit_changes(dd_call *call, ProtobufCMessage **resp, dd_error *err)
{
	Dealdesk__V1__ListCreditChangesResponse *r;
	int rc = dd_order_credit_changes(dd_call_store(call), (const void *)dd_call_request(call),
	                                 dd_call_arena(call), &r, err);
	if (rc == DD_OK)
		*resp = &r->base;
	return rc;
}

DD_SYNC_HANDLER(, dd_orders_credit_changes, credit_changes(call, &resp, &err))

static int get_order(dd_call *call, ProtobufCMessage **resp, dd_error *err)
{
	const Dealdesk__V1__OrderKey *q = (const void *)dd_call_request(call);
	Dealdesk__V1__Order *o;
	int rc = dd_order_get(dd_call_store(call), q->order_id, dd_call_arena(call), &o, err);
	if (rc == DD_OK)
		*resp = &o->base;
	return rc;
}

static int list_orders(dd_call *call, int held, ProtobufCMessage **resp, dd_error *err)
{
	Dealdesk__V1__ListOrdersResponse *r;
	int rc = dd_order_list(dd_call_store(call), (const void *)dd_call_request(call), held,
	                       dd_call_arena(call), &r, err);
	if (rc == DD_OK)
		*resp = &r->base;
	return rc;
}

static int verify_counters(dd_call *call, ProtobufCMessage **resp, dd_error *err)
{
	Dealdesk__V1__VerifyCountersResponse *r;
	int rc = dd_order_verify(dd_call_store(call), dd_call_arena(call), &r, err);
	if (rc == DD_OK)
		*resp = &r->base;
	return rc;
}

DD_SYNC_HANDLER(, dd_orders_get_order, get_order(call, &resp, &err))
DD_SYNC_HANDLER(, dd_orders_list_orders, list_orders(call, 0, &resp, &err))
DD_SYNC_HANDLER(, dd_orders_list_held_orders, list_orders(call, 1, &resp, &err))
DD_SYNC_HANDLER(, dd_orders_verify_counters, verify_counters(call, &resp, &err))

