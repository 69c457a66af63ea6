/* dealdesk benchmarks: the standard workloads, shared by bench_loadgen and
 * bench_inproc so both measure the very same request.
 *
 * The standard quote: customer "acme", USD, channel "web", request_time
 * 1790000000 (fixed, so every quote is the same decision), five lines that
 * hit the demo dataset's promotions and compliance checks; credit is decided
 * for every quote. The standard health check asks for the server as a whole
 * (service ""), the way load balancers do.
 *
 * Header-only (static inline) because every bench source file is its own
 * program.
 */
#ifndef DD_BENCH_WORKLOAD_H
#define DD_BENCH_WORKLOAD_H

#include <stdint.h>
#include <stdlib.h>

#include "dealdesk/v1/quote.pb-c.h"
#include "grpc/health/v1/health.pb-c.h"

#define BENCH_QUOTE_METHOD "/dealdesk.v1.QuoteService/Quote"
#define BENCH_HEALTH_METHOD "/grpc.health.v1.Health/Check"
#define BENCH_QUOTE_LINES 5

/* The request and the storage it points into; nothing is heap-allocated. */
typedef struct bench_quote_request {
	Dealdesk__V1__QuoteRequest req;
	Dealdesk__V1__LineRequest line[BENCH_QUOTE_LINES];
	Dealdesk__V1__LineRequest *line_ptr[BENCH_QUOTE_LINES];
} bench_quote_request;

static inline void bench_quote_request_init(bench_quote_request *q)
{
	static const struct {
		const char *sku;
		int64_t quantity;
	} lines[BENCH_QUOTE_LINES] = {
		{ "WIDGET-1", 2 }, { "CABLE-3", 3 }, { "GADGET-2", 1 },
		{ "MANUAL-4", 2 }, { "SUPPORT-5", 1 },
	};
	dealdesk__v1__quote_request__init(&q->req);
	q->req.customer_id = (char *)"acme";
	q->req.currency = (char *)"USD";
	q->req.channel = (char *)"web";
	q->req.request_time = 1790000000;
	for (int i = 0; i < BENCH_QUOTE_LINES; i++) {
		dealdesk__v1__line_request__init(&q->line[i]);
		q->line[i].sku = (char *)lines[i].sku;
		q->line[i].quantity = lines[i].quantity;
		q->line_ptr[i] = &q->line[i];
	}
	q->req.n_lines = BENCH_QUOTE_LINES;
	q->req.lines = q->line_ptr;
}

/* Serializes the standard quote request into a new malloc'd buffer (free()).
 * NULL when out of memory. */
static inline uint8_t *bench_quote_request_pack(size_t *len)
{
	bench_quote_request q;
	bench_quote_request_init(&q);
	*len = dealdesk__v1__quote_request__get_packed_size(&q.req);
	uint8_t *buf = malloc(*len ? *len : 1);
	if (buf != NULL)
		dealdesk__v1__quote_request__pack(&q.req, buf);
	return buf;
}

/* Serializes a health check request for `service` (malloc'd; may be 0 bytes). */
static inline uint8_t *bench_health_request_pack(const char *service, size_t *len)
{
	Grpc__Health__V1__HealthCheckRequest req;
	grpc__health__v1__health_check_request__init(&req);
	req.service = (char *)service;
	*len = grpc__health__v1__health_check_request__get_packed_size(&req);
	uint8_t *buf = malloc(*len ? *len : 1);
	if (buf != NULL)
		grpc__health__v1__health_check_request__pack(&req, buf);
	return buf;
}

#endif
