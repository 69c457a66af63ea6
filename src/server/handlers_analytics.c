/* dealdeskd handlers: dealdesk.v1.AnalyticsService. Reports answer at once
 * from a read transaction of their own; RecomputeRfm is a write through
 * the writer, answered once durable. */
#include "handlers.h"
#include "handlers_journal.h"

#include <string.h>

#include "dealdesk/analytics.h"
#include "dealdesk/v1/analytics.pb-c.h"

int dd_analytics_authorize_report(dd_call *call, dd_error *err)
{
	dd_role r = dd_call_role(call);
	if (r == DD_ROLE_ADMIN || r == DD_ROLE_PRICING || r == DD_ROLE_FINANCE)
		return DD_OK;
	return dd_error_set(err, DD_EDENIED,
	                    "/dealdesk.v1.AnalyticsService/GetExperimentReport needs role pricing or "
	                    "finance; the caller (%s) has %s",
	                    dd_call_identity(call), dd_role_name(r));
}

static int customer_value(dd_call *call, ProtobufCMessage **resp, dd_error *err)
{
	Dealdesk__V1__CustomerValue *v;
	int rc = dd_analytics_customer_value(dd_call_store(call), (const void *)dd_call_request(call),
	                                     dd_handler_now(), dd_call_arena(call), &v, err);
	if (rc == DD_OK)
		*resp = &v->base;
	return rc;
}

static int segments(dd_call *call, ProtobufCMessage **resp, dd_error *err)
{
	Dealdesk__V1__ListSegmentsResponse *v;
	int rc = dd_analytics_segments(dd_call_store(call), (const void *)dd_call_request(call),
	                               dd_handler_now(), dd_call_arena(call), &v, err);
	if (rc == DD_OK)
		*resp = &v->base;
	return rc;
}

static int experiments(dd_call *call, ProtobufCMessage **resp, dd_error *err)
{
	Dealdesk__V1__GetExperimentReportResponse *v;
	int rc = dd_analytics_experiments(dd_call_store(call), dd_call_config(call)->tally,
	                                  (const void *)dd_call_request(call), dd_handler_now(),
	                                  dd_call_arena(call), &v, err);
	if (rc == DD_OK)
		*resp = &v->base;
	return rc;
}

static int kpis(dd_call *call, ProtobufCMessage **resp, dd_error *err)
{
	Dealdesk__V1__GetSalesKpisResponse *v;
	int rc = dd_analytics_kpis(dd_call_store(call), (const void *)dd_call_request(call),
	                           dd_handler_now(), dd_call_arena(call), &v, err);
	if (rc == DD_OK)
		*resp = &v->base;
	return rc;
}

DD_SYNC_HANDLER(, dd_analytics_h_customer_value, customer_value(call, &resp, &err))
DD_SYNC_HANDLER(, dd_analytics_h_segments, segments(call, &resp, &err))
DD_SYNC_HANDLER(, dd_analytics_h_experiments, experiments(call, &resp, &err))
DD_SYNC_HANDLER(, dd_analytics_h_kpis, kpis(call, &resp, &err))

/* RecomputeRfm: the writer scores every customer in its transaction. */
typedef struct recompute_call {
	dd_writer_job job;
	dd_call *call;
	int64_t now;
	Dealdesk__V1__RecomputeRfmResponse resp;
} recompute_call;

static int recompute_apply(dd_wtxn *txn, void *ud, dd_error *err)
{
	recompute_call *rc = ud;
	return dd_analytics_rfm_recompute(txn, (const void *)dd_call_request(rc->call), rc->now,
	                                  dd_call_arena(rc->call), &rc->resp, err);
}

static void recompute_done(void *ud, int rc, uint64_t version, const dd_error *err)
{
	recompute_call *c = ud;
	c->resp.data_version = version;
	dd_call_finish(c->call, rc, rc == DD_OK ? &c->resp.base : NULL, err);
}

int dd_analytics_h_recompute(dd_call *call)
{
	const Dealdesk__V1__RecomputeRfmRequest *q = (const void *)dd_call_request(call);
	dd_error err;
	dd_error_clear(&err);
	if (q->at < 0) {
		dd_error_set(&err, DD_EINVAL, "at: must be >= 0");
		return dd_call_finish(call, DD_EINVAL, NULL, &err);
	}
	recompute_call *c = dd_arena_alloc(dd_call_arena(call), sizeof(*c));
	if (c == NULL) {
		dd_error_set(&err, DD_ENOMEM, "out of memory");
		return dd_call_finish(call, DD_ENOMEM, NULL, &err);
	}
	memset(c, 0, sizeof(*c));
	dealdesk__v1__recompute_rfm_response__init(&c->resp);
	c->job.apply = recompute_apply;
	c->job.done = recompute_done;
	c->job.ud = c;
	c->call = call;
	c->now = dd_handler_now();
	dd_journal_audit(call, &c->job);
	dd_writer *writer = dd_call_writer(call);
	if (writer == NULL || dd_writer_submit(writer, &c->job) != DD_OK) {
		dd_error_set(&err, DD_EINTERNAL, "server: the writer is not running");
		return dd_call_finish(call, DD_EINTERNAL, NULL, &err);
	}
	return DD_CALL_PENDING;
}
