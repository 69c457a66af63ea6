/* dealdesk quote: the order state (the truth of one quote) and the run
 * context that carries it through the stages.
 *
 *   validate -> load -> price -> promote -> credit -> comply -> respond
 *
 * Every stage reads and writes the typed state below; policies see it
 * through read-only views (view.c) and their answers are read back into it
 * (readers.c); the response is built from it once, at the end
 * (respond.c). Everything here lives in the run's arena and is valid until
 * the arena is reset. A commit (orders) re-runs the same stages over the
 * same state and then writes it.
 */
#ifndef DD_QUOTE_ORDER_H
#define DD_QUOTE_ORDER_H

#include <stddef.h>
#include <stdint.h>

#include "dealdesk/arena.h"
#include "dealdesk/error.h"
#include "dealdesk/money.h"
#include "dealdesk/v1/quote.pb-c.h"

#define QO_MAX_GIFTS 16    /* gift lines one order may gain */
#define QO_MAX_TEXT 512    /* reasons, messages, descriptions from policies */
#define QO_MAX_NOTES 256
#define QO_MAX_RESULTS 1000

typedef struct dd_quoter dd_quoter;

typedef struct qo_discount {
	const char *promotion_id;
	int kind; /* Dealdesk__V1__PromotionKind */
	int64_t amount;
	const char *description;
} qo_discount;

/* A growable array in the arena. */
#define QO_VEC(T) struct { T *v; size_t n, cap; }

typedef QO_VEC(qo_discount) qo_discounts;

typedef struct qo_line {
	const char *sku;
	int64_t quantity;
	const Dealdesk__V1__PriceEntry *price;   /* the chosen entry */
	const Dealdesk__V1__SkuSignals *signals; /* NULL when none are kept */
	dd_rounding rounding;                    /* of the price entry */
	int64_t price_tier;
	int64_t unit_price;      /* after pricing */
	const char *price_reason;
	int64_t list_subtotal;   /* list price x quantity */
	int64_t subtotal;        /* unit price x quantity */
	int64_t discount;        /* every discount on the line */
	int gift;
	qo_discounts line_disc;  /* promotions on the line, in commit order */
	qo_discounts order_disc; /* its shares of order discounts */
	/* promotion mechanics: units and value no bundle or buy-X-get-Y has
	 * used yet, and what the line still costs */
	int64_t free_units, free_value, left;
} qo_line;

static inline int64_t qo_line_total(const qo_line *l)
{
	return l->subtotal - l->discount;
}

typedef struct qo_note {
	const char *promotion_id, *code, *message;
} qo_note;

typedef struct qo_coupon_result {
	const char *code, *promotion_id, *reason;
	int accepted;
} qo_coupon_result;

typedef struct qo_experiment {
	const char *experiment_id, *promotion_id, *arm;
} qo_experiment;

/* A coupon code of the request as the store knows it. */
typedef struct qo_coupon {
	const char *code;
	const Dealdesk__V1__Coupon *record; /* NULL when unknown */
	const char *reason;                 /* "" when valid */
	int64_t uses, customer_uses;
} qo_coupon;

/* A candidate promotion and its usage (for those with budgets). */
typedef struct qo_candidate {
	uint32_t slot; /* in the quoter's promotions */
	int has_usage;
	int64_t uses, amount, customer_uses, customer_amount;
	/* experiment arm, once assigned in this run (-1 = not yet) */
	int arm;
} qo_candidate;

typedef struct qo_result {
	const char *check_id;
	int status; /* Dealdesk__V1__ComplianceStatus */
	const char *message;
	int32_t line_no;
	int64_t value, limit;
	/* price claims (claims.c): the promotion, the history window and the
	 * series read there (the evidence) with its hex SHA-256 */
	const char *promotion_id;
	int64_t window_from, window_to;
	const struct dd_price_point *evidence;
	size_t nevidence;
	const char *evidence_sha256;
} qo_result;

typedef struct qo_trace {
	const char *stage, *rule, *detail;
	int applied;
} qo_trace;

typedef struct qo_credit {
	int present, same_currency;
	/* open orders the commits reserved (usage "x" counter), and open
	 * receivables of invoices ("r" counter), as read; days the oldest open
	 * invoice is past due at the request time (the larger of that and the
	 * profile's figure) */
	int64_t open_orders, open_order_count, receivables, receivable_count;
	/* of open_orders, what is to be delivered beyond the tier's horizon
	 * (the dynamic check leaves it out of the exposure) */
	int64_t open_orders_beyond, open_order_count_beyond;
	int32_t overdue_days;
	int64_t limit, exposure, available;
	/* the row of the credit tier table that applies (NULL: none), how it
	 * was found ("score", "profile", "default"), and the standard terms
	 * (the profile's, else the tier's) */
	const Dealdesk__V1__CreditTier *tier;
	const char *tier_from;
	int32_t standard_terms_days;
	int outcome; /* Dealdesk__V1__CreditOutcome */
	int32_t terms_days;
	int64_t deposit;
	const char **reasons;
	size_t nreasons;
} qo_credit;

typedef struct qo_order {
	const Dealdesk__V1__QuoteRequest *req;
	int64_t time;
	int exponent;
	const Dealdesk__V1__Customer *customer;
	const char *channel, *region; /* "" when absent */

	qo_line *lines;
	size_t nlines, nrequested, caplines;

	qo_coupon *coupons; /* parallel to req->coupon_codes */
	QO_VEC(qo_candidate) candidates;

	int64_t subtotal, discount_total, total;
	QO_VEC(qo_discount) order_discounts;
	QO_VEC(qo_note) notes;
	QO_VEC(qo_coupon_result) coupon_results;
	QO_VEC(qo_experiment) experiments;
	int32_t points_multiplier;
	int64_t loyalty_points;

	qo_credit credit;
	QO_VEC(qo_result) compliance;
	int compliance_status;

	uint64_t data_version;
	uint64_t policy_version[5];
	QO_VEC(qo_trace) trace;

	/* ctx.customer.rfm, read on first use (analytics.c) */
	const struct Dealdesk__V1__CustomerValue *rfm;
	int rfm_loaded;
} qo_order;

/* A gift a promotion gives, added as a line after the promotions. */
struct qo_gift {
	const char *promotion_id, *sku, *description;
	int64_t quantity;
};

/* One evaluation of the pipeline: what Redis keeps in scriptRunCtx. Lives
 * on the caller's stack for one dd_quote; the quoter points at it while
 * it runs (host functions and views reach it there). */
/* The stage whose policy runs now: host primitives belong to one. */
typedef enum quote_stage {
	QS_NONE = 0,
	QS_PRICE,
	QS_PROMOTE,
	QS_CONDITION, /* a promotion's Lua condition, inside QS_PROMOTE */
	QS_CREDIT,
	QS_COMPLY,
} quote_stage;

typedef struct quote_run {
	dd_quoter *q;
	quote_stage stage;
	dd_arena *arena;
	dd_error *err;
	int explain;
	int verbose;          /* reasons are read: explain or coupon codes */
	qo_order order;
	/* promotion effects computed in this run (mechanics.c) */
	QO_VEC(struct qm_effect *) effects;
	/* gifts committed, added as lines when the promotions policy is done */
	QO_VEC(struct qo_gift) gifts;
	/* price claims (claims.c): what the compliance checks judge, the
	 * history series they read, and at authoring the entries proposed */
	struct qc_claims *claims;
} quote_run;

/* Appends an element to a QO_VEC in the arena; NULL when out of memory. */
void *quote_vec_push(dd_arena *a, void *vec, size_t elem);
#define QO_PUSH(a, vec) ((__typeof__((vec)->v))quote_vec_push((a), (vec), sizeof(*(vec)->v)))

/* Adds an explain entry (a no-op without explain). */
void quote_trace(quote_run *r, const char *stage, const char *rule, int applied,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* amount in the order's currency ("12.34"), in buf */
const char *quote_money(const qo_order *o, int64_t amount, char buf[48]);
/* Is s one of the n strings? */
int quote_in_list(char *const *items, size_t n, const char *s);

/* Adds an explain entry of texts already checked (quote_text). */
void quote_trace_text(quote_run *r, const char *stage, const char *rule, int applied,
                      const char *detail);

/* Adds a discount to line i (kept in commit order); DD_ENOMEM. */
int quote_add_line_discount(quote_run *r, size_t i, const char *promo, int kind,
                         int64_t amount, const char *desc);
int quote_add_order_share(quote_run *r, size_t i, const char *promo, int kind,
                       int64_t amount, const char *desc);
int quote_add_note(quote_run *r, const char *promo, const char *code, const char *msg);

/* ---- the stages, one file each ------------------------------------------- */

int quote_validate(const dd_quoter *q, const Dealdesk__V1__QuoteRequest *req,
                   dd_error *err);                   /* validate.c */
int quote_load(quote_run *r);                        /* load.c */
int quote_price(quote_run *r);                       /* price.c */
int quote_promote(quote_run *r);                     /* promote.c */
int quote_credit(quote_run *r);                      /* credit.c */
int quote_comply(quote_run *r);                      /* comply.c */
int quote_respond(quote_run *r, Dealdesk__V1__QuoteResponse **out); /* respond.c */

/* load.c: the other store reads, for stages that find late what they need
 * (a gift line's price). */
int quote_load_gift(quote_run *r, const char *sku, int64_t quantity, size_t *line);
/* The price history a compliance check asks for (claims.c): what
 * dd_history_list (QH_LIST), dd_history_sales (QH_SALES) or
 * dd_history_last_sale (QH_LAST, before = to) returns for scope. */
enum { QH_LIST = 1, QH_SALES, QH_LAST, QH_APPLIED /* dd_history_applied, except `exclude` */ };
struct dd_price_scope;
struct dd_price_point;
int quote_load_history(quote_run *r, int what, const struct dd_price_scope *s,
                       const char *exclude, int64_t from, int64_t to,
                       struct dd_price_point **out, size_t *n);

#endif
