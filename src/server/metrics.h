/* dealdeskd metrics: counters the call path bumps, and their Prometheus
 * text rendering (README "Metrics and logs"). Private to src/server.
 *
 * The call path's counters are sharded by worker and bumped with relaxed
 * atomics (a call finished by the writer thread counts in its worker's
 * shard): no lock and no shared cache line between workers on a quote.
 * Policy failures, rare, are counted under a lock. */
#ifndef DD_SERVER_METRICS_H
#define DD_SERVER_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include <grpc/status.h>

#include "dealdesk/store.h"
#include "dealdesk/writer.h"

typedef struct dd_metrics dd_metrics;

/* nmethods: the method table's size (method -1, unregistered, counts
 * apart); nshards: the workers. */
int dd_metrics_new(dd_metrics **out, unsigned nmethods, unsigned nshards);
void dd_metrics_free(dd_metrics *m);

void dd_metrics_started(dd_metrics *m, unsigned shard, int method);
void dd_metrics_handled(dd_metrics *m, unsigned shard, int method, grpc_status_code code,
                        int64_t duration_us);
/* A decision sent (Quote, Commit): the credit outcome and the compliance
 * status (their enum values). */
void dd_metrics_decision(dd_metrics *m, unsigned shard, int credit_outcome,
                         int compliance_status);
/* A policy error (budget 0) or budget trip (1); message names the script
 * ("pricing policy v3: ..."), else it counts as "unknown". */
void dd_metrics_policy_failure(dd_metrics *m, int budget, const char *message);

/* The whole exposition, text format 0.0.4, in a malloc'd string (*len
 * bytes); store and writer give the gauges read at scrape time. NULL when
 * out of memory. */
char *dd_metrics_render(dd_metrics *m, dd_store *store, dd_writer *writer, size_t *len);

typedef struct dd_metrics_http dd_metrics_http;
/* Serves GET /metrics on addr ("127.0.0.1:9464", "[::1]:9464",
 * ":9464" = every address) with libmicrohttpd's own thread. */
int dd_metrics_http_start(dd_metrics_http **out, const char *addr, dd_metrics *m,
                          dd_store *store, dd_writer *writer, dd_error *err);
void dd_metrics_http_stop(dd_metrics_http *h);

#endif
