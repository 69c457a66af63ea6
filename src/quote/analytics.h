/* dealdesk quote: what the quote pipeline gives to and takes from
 * analytics (private to src/quote): ctx.customer.rfm, and the figures a
 * committed order keeps for the sales KPIs. */
#ifndef DD_QUOTE_ANALYTICS_H
#define DD_QUOTE_ANALYTICS_H

#include "order.h"
#include "view.h"

#include "dealdesk/analytics.h"
#include "dealdesk/v1/orders.pb-c.h"

/* ctx.customer.rfm: the customer's stored value (analytics table "r"),
 * read on first use in a run: r, f, m, score (r*100 + f*10 + m),
 * segment, lifecycle, recency_days (as of the request time), frequency,
 * monetary, order_count, last_order_at. All 0 / "" when none is stored. */
extern const dd_sandbox_view_class quote_view_rfm;

/* Sets the order's channel, region and cost of goods (unit cost x quantity
 * over the lines) and what the commit hook tells analytics. DD_EOVERFLOW. */
int quote_order_analytics(const quote_run *r, Dealdesk__V1__Order *ord, dd_analytics_sale *sale,
                          dd_error *err);

#endif
