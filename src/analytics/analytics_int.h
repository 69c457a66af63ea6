/* dealdesk analytics: what the files of src/analytics share (private).
 * The facts of orders and invoices the reports are computed from, read in
 * one transaction (a read one for reports, the writer's for a recompute). */
#ifndef DD_ANALYTICS_INT_H
#define DD_ANALYTICS_INT_H

#include "dealdesk/analytics.h"
#include "dealdesk/v1/orders.pb-c.h"

#define AN_DAY 86400

/* Either transaction. */
typedef struct an_src {
	dd_rtxn *r;
	dd_wtxn *w;
} an_src;

int an_scan(an_src *s, dd_table t, dd_val prefix, dd_scan_fn fn, void *ud);
int an_get(an_src *s, dd_table t, dd_val key, dd_val *val);

/* A read transaction of its own for one report. */
int an_begin(dd_store *store, dd_rtxn **t, dd_error *err);
void an_end(dd_rtxn *t);

typedef struct an_exp {
	const char *experiment_id, *promotion_id, *arm;
} an_exp;

/* One committed order, as the reports need it. */
typedef struct an_order {
	const char *order_id, *customer_id, *currency, *channel, *region, *invoice_id;
	int state; /* Dealdesk__V1__OrderState */
	int64_t created_at, total, subtotal, discount, cost;
	an_exp *exps;
	int64_t *exp_discount; /* the experiment promotion's discounts, per exps[i] */
	size_t nexps;
} an_order;

typedef struct an_payment {
	int64_t amount, at;
} an_payment;

typedef struct an_invoice {
	const char *invoice_id, *order_id, *customer_id, *currency;
	int64_t amount, open_amount, issued_at, due_at;
	int64_t paid_before; /* paid before it was stored (ERP loads): at issued_at */
	an_payment *payments;
	size_t npayments;
} an_invoice;

typedef struct an_facts {
	an_order *orders;
	size_t norders;
	an_invoice *invoices;
	size_t ninvoices;
} an_facts;

/* Committed orders that still count (not cancelled or rejected). */
int an_order_counts(const an_order *o);

/* Reads every order (and, with invoices, every invoice) into arena. */
int an_load(an_src *s, dd_arena *arena, int invoices, an_facts *out, dd_error *err);
/* The order with this id (orders are in id order), or NULL. */
const an_order *an_find_order(const an_facts *f, const char *order_id);

/* Invoice open amount as of t (issued before t, less what was paid before t). */
int64_t an_invoice_open_at(const an_invoice *inv, int64_t t);

/* RFM over facts (rfm_store.c): every customer of the customers table and
 * of the orders, in id order. */
int an_rfm_compute(an_src *s, const an_facts *f, int64_t at,
                   const Dealdesk__V1__RfmOptions *opts, dd_arena *arena,
                   Dealdesk__V1__CustomerValue **out, size_t *n, int64_t breaks[3][4],
                   dd_error *err);

#endif
