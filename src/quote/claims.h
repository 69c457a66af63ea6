/* dealdesk quote: price claims, what the compliance checks of price
 * history judge (claims.c), private to src/quote.
 *
 * A claim is one SKU offered at one price in one currency, channel and
 * region at one time: a line a promotion reduced (or a line at its price)
 * in a quote, or, at authoring, a promotion or price entry being written
 * as it would apply. The compliance policy reads them with dd.claims() and
 * asks for the price history of a claim's scope with dd.list_prices,
 * dd.sales and dd.last_sale; every series it reads is kept (qc_evidence)
 * so that a result citing it carries the series and its hash. */
#ifndef DD_QUOTE_CLAIMS_H
#define DD_QUOTE_CLAIMS_H

#include "dealdesk/history.h"
#include "quoter.h"

#define QC_MAX_EVIDENCE 256 /* history reads per evaluation */
#define QC_MAX_CLAIMS 2000

typedef struct qc_claim {
	const Dealdesk__V1__Promotion *promo; /* NULL: a price, no promotion */
	const char *sku, *currency, *channel, *region;
	int32_t line;           /* the quote line, -1 at authoring */
	int64_t at;             /* when the offer is made */
	int64_t start;          /* when this reduction starts */
	int64_t first_start;    /* when the first of progressive reductions started */
	int has_list;           /* a list price was found at `at` */
	int64_t list_price;     /* the regular unit price at `at` */
	int64_t offer_price;    /* the unit price offered (after this promotion) */
	int64_t unit_cost;      /* 0 = unknown */
	int64_t reference_price;
	int32_t announced_bps;  /* stated, or a PERCENTAGE promotion's rate */
	int exponent;
} qc_claim;

typedef struct qc_evidence {
	int64_t from, to;
	dd_price_point *p;
	size_t n;
} qc_evidence;

typedef struct qc_claims {
	qc_claim *v;
	size_t n, cap;
	int built;     /* quote: claims made from the lines */
	int authoring; /* made by screen.c from the records being written */
	dd_history_proposal proposal;
	int has_proposal;
	qc_evidence ev[QC_MAX_EVIDENCE];
	size_t nev;
	dd_promo_versions *promos; /* loaded by the first dd.applied_prices */
} qc_claims;

/* The run's claims, allocated on first use; NULL when out of memory. */
qc_claims *quote_claims_of(quote_run *r);
int quote_claims_add(quote_run *r, const qc_claim *c);
/* At authoring: the entries being written, counted in list prices. */
const dd_history_proposal *quote_claims_proposal(const quote_run *r);
/* The unit price promotion p offers on list (kinds that reduce a unit
 * price: PERCENTAGE, FIXED_AMOUNT, FIXED_PRICE; others leave list). */
int64_t quote_claim_offer(const Dealdesk__V1__Promotion *p, int64_t list);
/* The rate a promotion announces: announced_percent_bps, else a
 * PERCENTAGE promotion's percent_bps. */
int32_t quote_claim_announced(const Dealdesk__V1__Promotion *p);
/* Gives res the series of evidence ids[0..n) (1-based, as dd.* return
 * them), its window and its SHA-256. DD_EINVAL for an unknown id. */
int quote_claims_attach(quote_run *r, const int64_t *ids, size_t n, qo_result *res);

/* comply.c: the compliance policy at authoring (results in r->order) */
int quote_comply_authoring(quote_run *r);

/* registered by quote_checks_register (comply.c) */
void quote_claims_register(dd_quoter *q);

#endif
