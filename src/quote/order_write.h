/* dealdesk orders: the write an order change becomes, shared by commit.c
 * (commit, cancel, release, reject) and invoice.c (invoices, payments,
 * receivables). Private to src/quote. */
#ifndef DD_QUOTE_ORDER_WRITE_H
#define DD_QUOTE_ORDER_WRITE_H

#include "quoter.h"

#include "dealdesk/analytics.h"
#include "dealdesk/order.h"

enum { W_COMMIT = 0, W_PAYMENT = 100, W_RECEIVABLES = 101 };

typedef struct counter_op {
	char key[DD_STORE_MAX_KEY + 1];
	int klen;
	int64_t uses, amount;         /* deltas */
	int64_t max_uses, max_amount; /* 0 = no limit */
	int check_rise;               /* fail when amount rose above seen */
	int64_t seen;
	const char *what;             /* for messages: "coupon 'X'" */
} counter_op;

typedef struct sku_sale {
	char key[DD_STORE_MAX_KEY + 1];
	int klen;
	uint8_t *val;
	size_t len;
} sku_sale;

struct dd_order_write {
	int kind; /* W_COMMIT or a dd_order_change */
	dd_arena *arena;
	const char *order_id;
	int needed;
	int has_expected;
	int64_t expected;
	/* commit */
	uint8_t fingerprint[32];
	uint8_t *packed;
	size_t packed_len;
	counter_op *ops;
	size_t nops, capops;
	sku_sale *sales;
	size_t nsales;
	const char *customer_id;
	int64_t time;
	int check_customer;
	int64_t seen_order_count, seen_last_order_at;
	/* the open_orders entry of an order holding exposure (open_klen 0: none) */
	char open_key[DD_STORE_MAX_KEY + 1];
	int open_klen;
	uint8_t open_val[8];
	dd_analytics_sale sale; /* for the analytics hook (analytics.c) */
	/* changes */
	const char *actor, *comment;
	int64_t now;
	/* payments */
	const char *payment_id;
	int64_t pay_amount;
	int invoice_result; /* the result is an Invoice */
	/* receivables */
	Dealdesk__V1__Invoice *const *items;
	size_t nitems;
	/* a commit refused by its decision (compliance BLOCK, credit DECLINE):
	 * the quote that decided it, for the decision log */
	const Dealdesk__V1__QuoteResponse *refused;
	/* the answer: the order as stored */
	const uint8_t *result;
	size_t result_len;
};

/* "kind \0 id [\0 customer]": a Usage counter's key in buf
 * (DD_STORE_MAX_KEY + 1 bytes); its length, or < 0 when too long */
int quote_order_key2(char *buf, const char *kind, const char *id, const char *customer);
/* Drops order o from the open orders by delivery date (when it holds exposure). */
void quote_order_unlist_open(dd_wtxn *txn, const Dealdesk__V1__Order *o);
/* Lists the order w commits in customer_orders (building the index first
 * when the store predates it). */
int quote_order_index_customer(dd_wtxn *txn, dd_order_write *w, dd_error *err);
/* m packed into the arena; NULL when out of memory */
uint8_t *quote_order_pack(dd_arena *a, const ProtobufCMessage *m, size_t *len);
/* Adds (sign 1) or removes (-1) uses and amount on the counter at key. */
int quote_order_move_counter(dd_wtxn *txn, dd_arena *a, const char *key, size_t klen,
                             int sign, int64_t uses, int64_t amount, dd_error *err);
/* The write's answer: m packed, or the stored bytes v copied. */
int quote_order_keep_result(dd_order_write *w, const ProtobufCMessage *m, dd_error *err);
int quote_order_copy_result(dd_order_write *w, dd_val v, dd_error *err);

/* invoice.c */
int quote_order_apply_invoice(dd_wtxn *txn, dd_order_write *w, Dealdesk__V1__Order *o,
                              dd_val okey, dd_error *err);
int quote_order_apply_payment(dd_wtxn *txn, dd_order_write *w, dd_error *err);
int quote_order_apply_receivables(dd_wtxn *txn, dd_order_write *w, dd_error *err);

#endif
