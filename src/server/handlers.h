/* dealdeskd handlers: what the handler files share (private to
 * src/server). handlers.c holds the method table; handlers_orders.c the
 * OrderService handlers it names. */
#ifndef DD_SERVER_HANDLERS_H
#define DD_SERVER_HANDLERS_H

#include <time.h>

#include "call.h"
#include "server.h"

static inline int64_t dd_handler_now(void)
{
	return (int64_t)time(NULL);
}

/* Finishes call with resp (only when rc is DD_OK). */
int dd_handler_finish(dd_call *call, int rc, ProtobufCMessage *resp, const dd_error *err);

/* A handler running a synchronous step that fills resp, then finishing the
 * call; storage is `static` or empty. */
#define DD_SYNC_HANDLER(storage, name, step)                                      \
	storage int name(dd_call *call)                                           \
	{                                                                         \
		dd_error err;                                                     \
		dd_error_clear(&err);                                             \
		ProtobufCMessage *resp = NULL;                                    \
		int rc = step;                                                    \
		return dd_handler_finish(call, rc, resp, &err);                   \
	}

/* handlers_orders.c: dealdesk.v1.OrderService */
int dd_orders_commit(dd_call *call);
int dd_orders_cancel(dd_call *call);
int dd_orders_release_order(dd_call *call);
int dd_orders_reject_order(dd_call *call);
int dd_orders_invoice(dd_call *call);
int dd_orders_record_payment(dd_call *call);
int dd_orders_put_receivables(dd_call *call);
int dd_orders_get_invoice(dd_call *call);
int dd_orders_credit_changes(dd_call *call);
int dd_orders_get_order(dd_call *call);
int dd_orders_list_orders(dd_call *call);
int dd_orders_list_held_orders(dd_call *call);
int dd_orders_verify_counters(dd_call *call);
int dd_orders_list_invoices(dd_call *call); /* handlers_invoices.c */

/* handlers_backup.c: dealdesk.v1.BackupAdmin */
int dd_backup_backup(dd_call *call);

/* handlers_policy.c: the reviewed-rules part of dealdesk.v1.PolicyAdmin */
#include "dealdesk/v1/admin.pb-c.h"
int dd_policy_h_submit(dd_call *call);
int dd_policy_h_comment(dd_call *call);
int dd_policy_h_rollback(dd_call *call);
int dd_policy_h_diff(dd_call *call);
int dd_policy_h_approve_promotion(dd_call *call);
int dd_policy_authorize_promotion_review(dd_call *call, dd_error *err);
/* PutPromotions: the server sets each promotion's review fields */
void dd_policy_mark_promotions(dd_call *call, ProtobufCMessage *const *items, size_t n);
/* GetPolicy with a sha256 */
int dd_policy_get_by_hash(dd_call *call, const Dealdesk__V1__PolicyKey *q,
                          Dealdesk__V1__PolicyScript **out, dd_error *err);
/* handlers_analytics.c: dealdesk.v1.AnalyticsService */
int dd_analytics_h_customer_value(dd_call *call);
int dd_analytics_h_segments(dd_call *call);
int dd_analytics_h_recompute(dd_call *call);
int dd_analytics_h_experiments(dd_call *call);
int dd_analytics_h_kpis(dd_call *call);
/* experiment reports: pricing, finance or admin */
int dd_analytics_authorize_report(dd_call *call, dd_error *err);

/* handlers_compliance.c: dealdesk.v1.ComplianceService, and the checks
 * of a promotion or price write (other kinds: DD_OK, no warnings) */
int dd_compliance_get_price_history(dd_call *call);
int dd_compliance_screen_write(dd_call *call, dd_entity_kind kind, ProtobufCMessage *const *items,
                               size_t n, char ***warnings, size_t *nwarnings, dd_error *err);

#endif
