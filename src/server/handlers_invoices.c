/* dealdeskd handlers: OrderService/ListInvoices (the receivables export). */
#include "handlers.h"

#include "dealdesk/order.h"

static int list_invoices(dd_call *call, ProtobufCMessage **resp, dd_error *err)
{
	Dealdesk__V1__ListInvoicesResponse *r;
	int rc = dd_invoice_list(dd_call_store(call), (const void *)dd_call_request(call),
	                         dd_call_arena(call), &r, err);
	if (rc == DD_OK)
		*resp = &r->base;
	return rc;
}

DD_SYNC_HANDLER(, dd_orders_list_invoices, list_invoices(call, &resp, &err))
