/* dealdesk orders: commit, cancel, release, reject (include/dealdesk/order.h).
 *
 * prepare runs on the worker: the quote stages over one read transaction,
 * then the write is built from the order state as plain bytes (the packed
 * Order, the counter deltas with the limits and readings the outcome
 * depended on, the SKU history records), so that nothing the writer thread
 * uses points into the quoter or the read transaction. apply runs on the
 * writer thread in the job's nested transaction and re-checks every
 * counter before it moves it. */
#include "order_write.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "analytics.h"
#include "dealdesk/order.h"

int dd_order_write_needed(const dd_order_write *w)
{
	return w->needed;
}

int quote_order_key2(char *buf, const char *kind, const char *id, const char *customer)
{
	return customer ? dd_key_join(buf, DD_STORE_MAX_KEY + 1, 3, kind, id, customer)
	                : dd_key_join(buf, DD_STORE_MAX_KEY + 1, 2, kind, id);
}

static counter_op *add_op(dd_order_write *w, const char *kind, const char *id,
                          const char *customer, dd_error *err)
{
	if (w->nops == w->capops) {
		size_t cap = w->capops ? w->capops * 2 : 8;
		counter_op *n = dd_arena_alloc(w->arena, cap * sizeof(*n));
		if (n == NULL)
			return dd_error_set(err, DD_ENOMEM, "out of memory"), NULL;
		if (w->nops)
			memcpy(n, w->ops, w->nops * sizeof(*n));
		w->ops = n;
		w->capops = cap;
	}
	counter_op *op = &w->ops[w->nops];
	memset(op, 0, sizeof(*op));
	op->klen = quote_order_key2(op->key, kind, id, customer);
	if (op->klen < 0)
		return dd_error_set(err, DD_EINVAL, "counter key too long for '%s'", id), NULL;
	w->nops++;
	return op;
}

/* SHA-256 of the request as packed (explain aside): what makes a retry
 * of an order id "the same request". A fingerprint that could not be
 * computed must not stand for one, so failure is an error. */
static int fingerprint(const Dealdesk__V1__QuoteRequest *req, dd_arena *a, uint8_t out[32],
                       dd_error *err)
{
	Dealdesk__V1__QuoteRequest fp = *req;
	fp.explain = 0;
	size_t len;
	uint8_t *buf = quote_order_pack(a, &fp.base, &len);
	unsigned mdlen = 32;
	if (buf == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	if (EVP_Digest(buf, len, out, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
		return dd_error_set(err, DD_EINTERNAL, "order_id: cannot fingerprint the request");
	return DD_OK;
}

uint8_t *quote_order_pack(dd_arena *a, const ProtobufCMessage *m, size_t *len)
{
	*len = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = dd_arena_alloc(a, *len ? *len : 1);
	if (buf)
		protobuf_c_message_pack(m, buf);
	return buf;
}

/* An existing order for this id: the same request -> answered; another -> EEXIST. */
static int existing(dd_order_write *w, dd_val v, dd_error *err)
{
	Dealdesk__V1__Order *o = (void *)protobuf_c_message_unpack(
		&dealdesk__v1__order__descriptor, &w->arena->pb, v.len, v.data);
	if (o == NULL)
		return dd_error_set(err, DD_ESTORE, "store: order '%s' is corrupt", w->order_id);
	if (o->fingerprint.len != 32 || memcmp(o->fingerprint.data, w->fingerprint, 32) != 0)
		return dd_error_set(err, DD_EEXIST,
		                    "order_id: order '%s' exists with a different request",
		                    w->order_id);
	if (w->has_expected && w->expected != o->total)
		return dd_error_set(err, DD_EPRECOND,
		                    "expected_total: order '%s' was committed with the total %lld, not %lld",
		                    w->order_id, (long long)o->total, (long long)w->expected);
	return quote_order_copy_result(w, v, err);
}

/* ---- commit: prepare ---------------------------------------------------------- */

typedef struct promo_use {
	const char *id;
	int64_t amount;
} promo_use;

static int add_use(promo_use *u, size_t *n, size_t cap, const char *id, int64_t amount)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp(u[i].id, id) == 0)
			return dd_money_add(u[i].amount, amount, &u[i].amount);
	if (*n == cap)
		return DD_ENOMEM;
	u[*n].id = id;
	u[(*n)++].amount = amount;
	return DD_OK;
}

static const qp_promo *find_promo(const quote_run *r, const char *id)
{
	const qo_order *o = &r->order;
	for (size_t i = 0; i < o->candidates.n; i++) {
		const qp_promo *m = &r->q->promos[o->candidates.v[i].slot];
		if (strcmp(m->p->id, id) == 0)
			return m;
	}
	return NULL;
}

static int refusal(quote_run *r, dd_error *err)
{
	const qo_order *o = &r->order;
	char buf[sizeof(err->msg)];
	size_t n = 0;
	if (o->compliance_status == DEALDESK__V1__COMPLIANCE_STATUS__COMPLIANCE_STATUS_BLOCK) {
		n += (size_t)snprintf(buf, sizeof(buf), "compliance BLOCK:");
		for (size_t i = 0; i < o->compliance.n && n < sizeof(buf); i++)
			if (o->compliance.v[i].status ==
			    DEALDESK__V1__COMPLIANCE_STATUS__COMPLIANCE_STATUS_BLOCK)
				n += (size_t)snprintf(buf + n, sizeof(buf) - n, " %s: %s;",
				                      o->compliance.v[i].check_id,
				                      o->compliance.v[i].message);
		return dd_error_set(err, DD_EPRECOND, "%s", buf);
	}
	if (o->credit.outcome == DEALDESK__V1__CREDIT_OUTCOME__CREDIT_OUTCOME_DECLINE) {
		n += (size_t)snprintf(buf, sizeof(buf), "credit DECLINE:");
		for (size_t i = 0; i < o->credit.nreasons && n < sizeof(buf); i++)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, " %s;", o->credit.reasons[i]);
		return dd_error_set(err, DD_EPRECOND, "%s", buf);
	}
	return DD_OK;
}

static int build_commit(quote_run *r, const Dealdesk__V1__CommitRequest *req,
                        Dealdesk__V1__QuoteResponse *resp, dd_order_write *w, dd_error *err)
{
	const qo_order *o = &r->order;
	dd_arena *a = w->arena;
	int rc = refusal(r, err);
	if (rc != DD_OK) {
		w->refused = resp;
		return rc;
	}
	if (req->has_expected_total && req->expected_total != o->total)
		return dd_error_set(err, DD_EPRECOND,
		                    "expected_total: the order's total is %lld, not %lld; nothing was committed",
		                    (long long)o->total, (long long)req->expected_total);
	const char *cust = o->req->customer_id;
	Dealdesk__V1__Order ord;
	dealdesk__v1__order__init(&ord);
	ord.order_id = (char *)w->order_id;
	ord.customer_id = (char *)cust;
	ord.currency = (char *)o->req->currency;
	ord.total = o->total;
	ord.created_at = o->time;
	ord.updated_at = o->time;
	ord.delivery_at = o->req->delivery_at ? o->req->delivery_at : o->time;
	ord.quote = resp;
	ord.fingerprint.data = w->fingerprint;
	ord.fingerprint.len = 32;
	ord.credit_outcome = o->credit.outcome;
	ord.terms_days = o->credit.terms_days;
	ord.state = o->credit.outcome == DEALDESK__V1__CREDIT_OUTCOME__CREDIT_OUTCOME_REVIEW
	                    ? DEALDESK__V1__ORDER_STATE__ORDER_STATE_CREDIT_HOLD
	                    : DEALDESK__V1__ORDER_STATE__ORDER_STATE_OPEN;
	if (o->credit.outcome == DEALDESK__V1__CREDIT_OUTCOME__CREDIT_OUTCOME_PREPAY)
		ord.amount_due_upfront = o->total;
	else if (o->credit.outcome == DEALDESK__V1__CREDIT_OUTCOME__CREDIT_OUTCOME_DEPOSIT)
		ord.amount_due_upfront = o->credit.deposit;

	/* coupons: one use of each accepted code, for the code and the customer */
	size_t ncodes = o->req->n_coupon_codes;
	ord.coupons = dd_arena_calloc(a, ncodes + 1, sizeof(char *));
	if (ord.coupons == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	for (size_t i = 0; i < o->coupon_results.n; i++) {
		const qo_coupon_result *cr = &o->coupon_results.v[i];
		if (!cr->accepted)
			continue;
		const Dealdesk__V1__Coupon *k = NULL;
		for (size_t j = 0; j < ncodes && k == NULL; j++)
			if (o->coupons[j].record && strcmp(o->coupons[j].code, cr->code) == 0)
				k = o->coupons[j].record;
		int dup = 0;
		for (size_t j = 0; j < ord.n_coupons; j++)
			dup |= strcmp(ord.coupons[j], cr->code) == 0;
		if (k == NULL || dup || ord.n_coupons == ncodes)
			continue;
		ord.coupons[ord.n_coupons++] = (char *)cr->code;
		const char *what = dd_arena_printf(a, "coupon '%s'", cr->code);
		counter_op *op = add_op(w, "c", cr->code, NULL, err);
		if (op == NULL)
			return err->code;
		op->uses = 1;
		op->max_uses = k->max_uses;
		op->what = what;
		if ((op = add_op(w, "c", cr->code, cust, err)) == NULL)
			return err->code;
		op->uses = 1;
		op->max_uses = k->max_uses_per_customer;
		op->what = dd_arena_printf(a, "coupon '%s' for customer '%s'", cr->code, cust);
	}

	/* budgets: what each promotion with a budget took off */
	size_t cap = 64, nuse = 0;
	promo_use *uses = dd_arena_alloc(a, cap * sizeof(*uses));
	if (uses == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	for (size_t i = 0; i < o->nlines; i++) {
		const qo_line *l = &o->lines[i];
		for (size_t k = 0; k < l->line_disc.n; k++)
			if (add_use(uses, &nuse, cap, l->line_disc.v[k].promotion_id,
			            l->line_disc.v[k].amount) != DD_OK)
				return dd_error_set(err, DD_EOVERFLOW, "discounts overflow int64");
		for (size_t k = 0; k < l->order_disc.n; k++)
			if (add_use(uses, &nuse, cap, l->order_disc.v[k].promotion_id,
			            l->order_disc.v[k].amount) != DD_OK)
				return dd_error_set(err, DD_EOVERFLOW, "discounts overflow int64");
	}
	ord.budgets = dd_arena_calloc(a, nuse + 1, sizeof(*ord.budgets));
	if (ord.budgets == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	for (size_t i = 0; i < nuse; i++) {
		const qp_promo *m = find_promo(r, uses[i].id);
		if (m == NULL)
			continue;
		const Dealdesk__V1__Promotion *p = m->p;
		if (p->new_customers_only || p->dormant_days > 0) {
			w->check_customer = 1;
			w->seen_order_count = o->customer->order_count;
			w->seen_last_order_at = o->customer->last_order_at;
		}
		if (!m->has_budget)
			continue;
		Dealdesk__V1__OrderBudget *b = dd_arena_alloc(a, sizeof(*b));
		if (b == NULL)
			return dd_error_set(err, DD_ENOMEM, "out of memory");
		dealdesk__v1__order_budget__init(b);
		b->promotion_id = (char *)uses[i].id;
		b->amount = uses[i].amount;
		ord.budgets[ord.n_budgets++] = b;
		counter_op *op = add_op(w, "p", uses[i].id, NULL, err);
		if (op == NULL)
			return err->code;
		op->uses = 1;
		op->amount = uses[i].amount;
		op->max_uses = p->budget_uses;
		op->max_amount = p->budget_amount;
		op->what = dd_arena_printf(a, "budget of promotion '%s'", uses[i].id);
		if ((op = add_op(w, "p", uses[i].id, cust, err)) == NULL)
			return err->code;
		op->uses = 1;
		op->amount = uses[i].amount;
		op->max_uses = p->customer_budget_uses;
		op->max_amount = p->customer_budget_amount;
		op->what = dd_arena_printf(a, "budget of promotion '%s' for customer '%s'",
		                           uses[i].id, cust);
	}

	/* exposure: the order's amount in the credit currency, unless it is
	 * paid up front (PREPAY extends no credit) */
	if (o->credit.present && o->credit.same_currency && o->total > 0 &&
	    o->credit.outcome != DEALDESK__V1__CREDIT_OUTCOME__CREDIT_OUTCOME_PREPAY) {
		ord.exposure = o->total;
		/* dated by delivery, for the tiers' horizon (the dynamic check) */
		if ((w->open_klen = quote_order_dated_key(w->open_key, cust, ord.delivery_at,
		                                          w->order_id)) < 0)
			return dd_error_set(err, DD_EINVAL, "order_id: too long for the store's keys");
		for (int b = 0; b < 8; b++)
			w->open_val[b] = (uint8_t)((uint64_t)o->total >> (56 - 8 * b));
		counter_op *op = add_op(w, "x", cust, NULL, err);
		if (op == NULL)
			return err->code;
		op->uses = 1;
		op->amount = o->total;
		op->check_rise = o->credit.limit > 0;
		op->seen = o->credit.open_orders;
		op->what = dd_arena_printf(a, "credit exposure of customer '%s'", cust);
		if (o->credit.limit > 0) {
			/* receivables count too (an ERP load): watched, not moved */
			if ((op = add_op(w, "r", cust, NULL, err)) == NULL)
				return err->code;
			op->check_rise = 1;
			op->seen = o->credit.receivables;
			op->what = dd_arena_printf(a, "open receivables of customer '%s'", cust);
		}
	}

	/* the per-SKU history of transaction prices */
	w->sales = dd_arena_calloc(a, o->nlines + 1, sizeof(*w->sales));
	if (w->sales == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	for (size_t i = 0; i < o->nlines; i++) {
		const qo_line *l = &o->lines[i];
		sku_sale *s = &w->sales[w->nsales];
		size_t sl = strlen(l->sku), il = strlen(w->order_id);
		if (sl + 1 + 8 + 1 + il > DD_STORE_MAX_KEY || l->quantity <= 0)
			continue;
		memcpy(s->key, l->sku, sl);
		s->key[sl] = '\0';
		uint64_t t = (uint64_t)o->time;
		for (int b = 0; b < 8; b++)
			s->key[sl + 1 + b] = (char)(t >> (56 - 8 * b));
		s->key[sl + 9] = '\0';
		memcpy(s->key + sl + 10, w->order_id, il);
		s->klen = (int)(sl + 10 + il);
		Dealdesk__V1__SkuSale sale;
		dealdesk__v1__sku_sale__init(&sale);
		sale.order_id = (char *)w->order_id;
		sale.currency = (char *)o->req->currency;
		sale.channel = (char *)o->channel;
		sale.region = (char *)o->region;
		sale.quantity = l->quantity;
		sale.line_total = qo_line_total(l);
		sale.unit_price = sale.line_total / l->quantity;
		sale.at = o->time;
		if ((s->val = quote_order_pack(a, &sale.base, &s->len)) == NULL)
			return dd_error_set(err, DD_ENOMEM, "out of memory");
		w->nsales++;
	}
	w->customer_id = cust;
	w->time = o->time;
	if ((rc = quote_order_analytics(r, &ord, &w->sale, err)) != DD_OK)
		return rc;
	if ((w->packed = quote_order_pack(a, &ord.base, &w->packed_len)) == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	return DD_OK;
}

int dd_order_commit_prepare(dd_quoter *q, const Dealdesk__V1__CommitRequest *req, int64_t now,
                            dd_arena *arena, dd_order_write **out, dd_error *err)
{
	dd_error_clear(err);
	int rc = dd_check_string(req->order_id, DD_MAX_ID, 0, "order_id", err);
	if (rc != DD_OK)
		return rc;
	if (req->request == NULL)
		return dd_error_set(err, DD_EINVAL, "request: required");
	if (*req->request->order_id && strcmp(req->request->order_id, req->order_id) != 0)
		return dd_error_set(err, DD_EINVAL, "request.order_id: '%s' differs from order_id '%s'",
		                    req->request->order_id, req->order_id);
	dd_order_write *w = dd_arena_calloc(arena, 1, sizeof(*w));
	Dealdesk__V1__QuoteRequest *qr = dd_arena_alloc(arena, sizeof(*qr));
	if (w == NULL || qr == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	*qr = *req->request;
	qr->order_id = req->order_id;
	w->kind = W_COMMIT;
	w->arena = arena;
	w->order_id = req->order_id;
	w->needed = 1;
	w->has_expected = req->has_expected_total;
	w->expected = req->expected_total;
	if ((rc = fingerprint(qr, arena, w->fingerprint, err)) != DD_OK)
		return rc;
	if ((rc = quote_validate(q, qr, err)) != DD_OK)
		return rc;
	quote_run r;
	if ((rc = quote_init_run(&r, q, qr, now, arena, err)) != DD_OK)
		return rc;
	int top = lua_gettop(q->L);
	if (dd_rtxn_begin(q->txn) != DD_OK)
		return dd_error_set(err, DD_ESTORE, "store: cannot begin a read");
	dd_val v;
	rc = dd_rtxn_get(q->txn, DD_T_ORDERS, (dd_val){ w->order_id, strlen(w->order_id) }, &v);
	if (rc == DD_OK) {
		rc = existing(w, v, err);
		w->needed = 0;
		dd_rtxn_end(q->txn);
		*out = w;
		return rc;
	}
	q->run = &r;
	Dealdesk__V1__QuoteResponse *resp = NULL;
	rc = quote_run_stages(&r, &resp);
	if (rc == DD_OK)
		rc = build_commit(&r, req, resp, w, err);
	q->run = NULL;
	q->generation++;
	dd_rtxn_end(q->txn);
	lua_settop(q->L, top);
	if (rc != DD_OK && err->code == DD_OK)
		dd_error_set(err, rc, "%s", dd_strerror(rc));
	if (rc == DD_OK || w->refused != NULL)
		*out = w;
	return rc;
}

const Dealdesk__V1__QuoteResponse *dd_order_refused_quote(const dd_order_write *w)
{
	return w ? w->refused : NULL;
}

int dd_order_change_prepare(dd_order_change change, const char *order_id, const char *actor,
                            const char *comment, int64_t now, dd_arena *arena,
                            dd_order_write **out, dd_error *err)
{
	dd_error_clear(err);
	int rc = dd_check_string(order_id, DD_MAX_ID, 0, "order_id", err);
	if (rc == DD_OK)
		rc = dd_check_string(actor, DD_MAX_ID, 1, "actor", err);
	if (rc == DD_OK)
		rc = dd_check_string(comment, 1024, 1, "comment", err);
	if (rc != DD_OK)
		return rc;
	dd_order_write *w = dd_arena_calloc(arena, 1, sizeof(*w));
	if (w == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	w->kind = (int)change;
	w->arena = arena;
	w->order_id = order_id;
	w->actor = actor ? actor : "";
	w->comment = comment ? comment : "";
	w->now = now;
	w->needed = 1;
	w->invoice_result = change == DD_ORDER_INVOICE;
	*out = w;
	return DD_OK;
}

int dd_order_payment_prepare(const char *invoice_id, int64_t amount, int64_t time,
                             const char *payment_id, int64_t now, dd_arena *arena,
                             dd_order_write **out, dd_error *err)
{
	dd_error_clear(err);
	int rc = dd_check_string(invoice_id, DD_MAX_ID, 0, "invoice_id", err);
	if (rc == DD_OK)
		rc = dd_check_string(payment_id, DD_MAX_ID, 0, "payment_id", err);
	if (rc != DD_OK)
		return rc;
	if (amount <= 0)
		return dd_error_set(err, DD_EINVAL, "amount: must be > 0, got %lld", (long long)amount);
	if (time < 0)
		return dd_error_set(err, DD_EINVAL, "time: must be >= 0");
	dd_order_write *w = dd_arena_calloc(arena, 1, sizeof(*w));
	if (w == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	w->kind = W_PAYMENT;
	w->arena = arena;
	w->order_id = invoice_id;
	w->payment_id = payment_id;
	w->pay_amount = amount;
	w->now = time ? time : now;
	w->needed = 1;
	w->invoice_result = 1;
	*out = w;
	return DD_OK;
}

int quote_order_keep_result(dd_order_write *w, const ProtobufCMessage *m, dd_error *err)
{
	size_t len;
	uint8_t *buf = quote_order_pack(w->arena, m, &len);
	if (buf == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	w->result = buf;
	w->result_len = len;
	return DD_OK;
}

int quote_order_copy_result(dd_order_write *w, dd_val v, dd_error *err)
{
	uint8_t *copy = dd_arena_alloc(w->arena, v.len ? v.len : 1);
	if (copy == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	memcpy(copy, v.data, v.len);
	w->result = copy;
	w->result_len = v.len;
	return DD_OK;
}

/* ---- apply ------------------------------------------------------------------- */

static int read_counter(dd_wtxn *txn, dd_arena *a, const char *key, size_t klen,
                        int64_t *uses, int64_t *amount)
{
	dd_val v;
	*uses = *amount = 0;
	int rc = dd_wtxn_get(txn, DD_T_USAGE, (dd_val){ key, klen }, &v);
	if (rc == DD_ENOTFOUND)
		return DD_OK;
	if (rc != DD_OK)
		return rc;
	Dealdesk__V1__Usage *u = (void *)protobuf_c_message_unpack(&dealdesk__v1__usage__descriptor,
	                                                           &a->pb, v.len, v.data);
	if (u == NULL)
		return DD_ESTORE;
	*uses = u->uses;
	*amount = u->amount;
	return DD_OK;
}

static int write_counter(dd_wtxn *txn, const char *key, size_t klen, int64_t uses,
                         int64_t amount)
{
	Dealdesk__V1__Usage u;
	dealdesk__v1__usage__init(&u);
	u.uses = uses;
	u.amount = amount;
	uint8_t buf[32];
	size_t len = protobuf_c_message_pack(&u.base, buf);
	return dd_wtxn_put(txn, DD_T_USAGE, (dd_val){ key, klen }, (dd_val){ buf, len });
}

/* Adds (sign 1) or removes (-1) uses/amount on one counter. */
int quote_order_move_counter(dd_wtxn *txn, dd_arena *a, const char *key, size_t klen, int sign,
                        int64_t uses, int64_t amount, dd_error *err)
{
	int64_t cu, ca;
	int rc = read_counter(txn, a, key, klen, &cu, &ca);
	if (rc != DD_OK)
		return dd_error_set(err, DD_ESTORE, "store: cannot read a counter");
	if (sign < 0) {
		uses = -uses;
		amount = -amount;
	}
	if (dd_money_add(cu, uses, &cu) != DD_OK || dd_money_add(ca, amount, &ca) != DD_OK)
		return dd_error_set(err, DD_EOVERFLOW, "a counter overflows int64");
	return write_counter(txn, key, klen, cu, ca);
}

static int update_customer(dd_wtxn *txn, dd_order_write *w, dd_error *err)
{
	dd_val v;
	const char *id = w->customer_id;
	int rc = dd_wtxn_get(txn, DD_T_CUSTOMERS, (dd_val){ id, strlen(id) }, &v);
	if (rc != DD_OK)
		return dd_error_set(err, rc == DD_ENOTFOUND ? DD_EPRECOND : DD_ESTORE,
		                    "customer '%s' is gone since the quote", id);
	Dealdesk__V1__Customer *c = (void *)protobuf_c_message_unpack(
		&dealdesk__v1__customer__descriptor, &w->arena->pb, v.len, v.data);
	if (c == NULL)
		return dd_error_set(err, DD_ESTORE, "store: customer '%s' is corrupt", id);
	if (w->check_customer && (c->order_count != w->seen_order_count ||
	                          c->last_order_at != w->seen_last_order_at))
		return dd_error_set(err, DD_EPRECOND,
		                    "order history of customer '%s' changed since the quote "
		                    "(a first-order or dormant-customer promotion applied); retry", id);
	c->order_count++;
	if (c->first_order_at == 0 || w->time < c->first_order_at)
		c->first_order_at = w->time;
	if (w->time > c->last_order_at)
		c->last_order_at = w->time;
	size_t len;
	uint8_t *buf = quote_order_pack(w->arena, &c->base, &len);
	if (buf == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	return dd_wtxn_put(txn, DD_T_CUSTOMERS, (dd_val){ id, strlen(id) }, (dd_val){ buf, len });
}

static int apply_commit(dd_wtxn *txn, dd_order_write *w, dd_error *err)
{
	dd_val okey = { w->order_id, strlen(w->order_id) }, v;
	int rc = dd_wtxn_get(txn, DD_T_ORDERS, okey, &v);
	if (rc == DD_OK)
		return existing(w, v, err); /* a concurrent duplicate won */
	if (rc != DD_ENOTFOUND)
		return dd_error_set(err, DD_ESTORE, "store: cannot read orders");
	for (size_t i = 0; i < w->nops; i++) {
		counter_op *op = &w->ops[i];
		int64_t cu, ca, nu, na;
		if (read_counter(txn, w->arena, op->key, (size_t)op->klen, &cu, &ca) != DD_OK)
			return dd_error_set(err, DD_ESTORE, "store: cannot read a counter");
		if (op->check_rise && ca > op->seen)
			return dd_error_set(err, DD_EPRECOND,
			                    "%s rose from %lld to %lld since the quote; retry",
			                    op->what, (long long)op->seen, (long long)ca);
		if (dd_money_add(cu, op->uses, &nu) != DD_OK || dd_money_add(ca, op->amount, &na) != DD_OK)
			return dd_error_set(err, DD_EOVERFLOW, "%s overflows int64", op->what);
		if (op->max_uses > 0 && nu > op->max_uses)
			return dd_error_set(err, DD_EPRECOND,
			                    "%s: all %lld uses are taken (since the quote); retry",
			                    op->what, (long long)op->max_uses);
		if (op->max_amount > 0 && na > op->max_amount)
			return dd_error_set(err, DD_EPRECOND,
			                    "%s: %lld of %lld is used, %lld more does not fit (since the quote); retry",
			                    op->what, (long long)ca, (long long)op->max_amount,
			                    (long long)op->amount);
		if (op->uses == 0 && op->amount == 0)
			continue; /* only watched */
		if ((rc = write_counter(txn, op->key, (size_t)op->klen, nu, na)) != DD_OK)
			return dd_error_set(err, rc, "store: cannot write a counter");
	}
	if ((rc = update_customer(txn, w, err)) != DD_OK)
		return rc;
	if ((rc = quote_order_index_customer(txn, w, err)) != DD_OK)
		return rc;
	if (w->open_klen > 0 &&
	    (rc = dd_wtxn_put(txn, DD_T_OPEN_ORDERS, (dd_val){ w->open_key, (size_t)w->open_klen },
	                      (dd_val){ w->open_val, 8 })) != DD_OK)
		return dd_error_set(err, rc, "store: cannot list the open order: %s", dd_strerror(rc));
	if ((rc = dd_analytics_on_commit(txn, w->arena, &w->sale, err)) != DD_OK)
		return rc;
	for (size_t i = 0; i < w->nsales; i++)
		dd_wtxn_put(txn, DD_T_SKU_HISTORY, (dd_val){ w->sales[i].key, (size_t)w->sales[i].klen },
		            (dd_val){ w->sales[i].val, w->sales[i].len });
	rc = dd_wtxn_put(txn, DD_T_ORDERS, okey, (dd_val){ w->packed, w->packed_len });
	if (rc != DD_OK)
		return dd_error_set(err, rc, "store: cannot write the order: %s", dd_strerror(rc));
	w->result = w->packed;
	w->result_len = w->packed_len;
	return DD_OK;
}

/* Gives back what an order holds. */
static int release(dd_wtxn *txn, dd_order_write *w, const Dealdesk__V1__Order *o, dd_error *err)
{
	char key[DD_STORE_MAX_KEY + 1];
	int klen, rc;
#define MOVE(k, id, cust, u, amt)                                                          \
	do {                                                                                \
		if ((klen = quote_order_key2(key, k, id, cust)) < 0)                                    \
			return dd_error_set(err, DD_EINVAL, "counter key too long");        \
		if ((rc = quote_order_move_counter(txn, w->arena, key, (size_t)klen, -1, u, amt, err)) != DD_OK) \
			return rc;                                                          \
	} while (0)
	for (size_t i = 0; i < o->n_coupons; i++) {
		MOVE("c", o->coupons[i], NULL, 1, 0);
		MOVE("c", o->coupons[i], o->customer_id, 1, 0);
	}
	for (size_t i = 0; i < o->n_budgets; i++) {
		MOVE("p", o->budgets[i]->promotion_id, NULL, 1, o->budgets[i]->amount);
		MOVE("p", o->budgets[i]->promotion_id, o->customer_id, 1, o->budgets[i]->amount);
	}
	if (o->exposure > 0) {
		MOVE("x", o->customer_id, NULL, 1, o->exposure);
		quote_order_unlist_open(txn, o);
	}
#undef MOVE
	return DD_OK;
}

static int apply_change(dd_wtxn *txn, dd_order_write *w, dd_error *err)
{
	dd_val okey = { w->order_id, strlen(w->order_id) }, v;
	int rc = dd_wtxn_get(txn, DD_T_ORDERS, okey, &v);
	if (rc == DD_ENOTFOUND)
		return dd_error_set(err, DD_ENOTFOUND, "order_id: no order '%s'", w->order_id);
	if (rc != DD_OK)
		return dd_error_set(err, DD_ESTORE, "store: cannot read orders");
	Dealdesk__V1__Order *o = (void *)protobuf_c_message_unpack(
		&dealdesk__v1__order__descriptor, &w->arena->pb, v.len, v.data);
	if (o == NULL)
		return dd_error_set(err, DD_ESTORE, "store: order '%s' is corrupt", w->order_id);
	int from = o->state, to = from, frees = 0;
	const int OPEN = DEALDESK__V1__ORDER_STATE__ORDER_STATE_OPEN,
	          HOLD = DEALDESK__V1__ORDER_STATE__ORDER_STATE_CREDIT_HOLD,
	          CANCELLED = DEALDESK__V1__ORDER_STATE__ORDER_STATE_CANCELLED,
	          REJECTED = DEALDESK__V1__ORDER_STATE__ORDER_STATE_REJECTED;
	if (w->kind == DD_ORDER_INVOICE)
		return quote_order_apply_invoice(txn, w, o, okey, err);
	switch (w->kind) {
	case DD_ORDER_CANCEL:
		if (from == OPEN || from == HOLD)
			to = CANCELLED, frees = 1;
		else if (from != CANCELLED && from != REJECTED)
			return dd_error_set(err, DD_EPRECOND, "order '%s' can no longer be cancelled",
			                    w->order_id);
		break;
	case DD_ORDER_RELEASE:
		if (from == HOLD)
			to = OPEN;
		else if (from != OPEN)
			return dd_error_set(err, DD_EPRECOND, "order '%s' is not in CREDIT_HOLD",
			                    w->order_id);
		break;
	case DD_ORDER_REJECT:
		if (from == HOLD)
			to = REJECTED, frees = 1;
		else if (from != REJECTED)
			return dd_error_set(err, DD_EPRECOND, "order '%s' is not in CREDIT_HOLD",
			                    w->order_id);
		break;
	default:
		return dd_error_set(err, DD_EINTERNAL, "unknown order change");
	}
	if (to == from) { /* done before: idempotent */
		uint8_t *copy = dd_arena_alloc(w->arena, v.len ? v.len : 1);
		if (copy == NULL)
			return dd_error_set(err, DD_ENOMEM, "out of memory");
		memcpy(copy, v.data, v.len);
		w->result = copy;
		w->result_len = v.len;
		return DD_OK;
	}
	if (frees && (rc = release(txn, w, o, err)) != DD_OK)
		return rc;
	o->state = to;
	o->updated_at = w->now;
	o->actor = (char *)w->actor;
	o->comment = (char *)w->comment;
	size_t len;
	uint8_t *buf = quote_order_pack(w->arena, &o->base, &len);
	if (buf == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	if ((rc = dd_wtxn_put(txn, DD_T_ORDERS, okey, (dd_val){ buf, len })) != DD_OK)
		return dd_error_set(err, rc, "store: cannot write the order");
	w->result = buf;
	w->result_len = len;
	return DD_OK;
}

int dd_order_write_apply(dd_wtxn *txn, dd_order_write *w, dd_error *err)
{
	if (w->kind == W_COMMIT)
		return apply_commit(txn, w, err);
	if (w->kind == W_RECEIVABLES)
		return quote_order_apply_receivables(txn, w, err);
	return w->kind == W_PAYMENT ? quote_order_apply_payment(txn, w, err) : apply_change(txn, w, err);
}

int dd_order_write_message(const dd_order_write *w, dd_arena *arena, ProtobufCMessage **out,
                           dd_error *err)
{
	if (w->result == NULL)
		return dd_error_set(err, DD_EINTERNAL, "order: no result");
	const ProtobufCMessageDescriptor *d =
		w->kind == W_RECEIVABLES ? &dealdesk__v1__put_receivables_response__descriptor
		: w->invoice_result      ? &dealdesk__v1__invoice__descriptor
		                         : &dealdesk__v1__order__descriptor;
	*out = protobuf_c_message_unpack(d, &arena->pb, w->result_len, w->result);
	if (*out == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	if (w->invoice_result) {
		Dealdesk__V1__Invoice *inv = (void *)*out;
		if (inv->open_amount > 0 && inv->due_at < w->now) {
			int64_t days = (w->now - inv->due_at) / 86400;
			inv->overdue_days = days > INT32_MAX ? INT32_MAX : (int32_t)days;
		}
	}
	return DD_OK;
}

int dd_order_write_result(const dd_order_write *w, dd_arena *arena, Dealdesk__V1__Order **out,
                          dd_error *err)
{
	if (w->result == NULL)
		return dd_error_set(err, DD_EINTERNAL, "order: no result");
	*out = (void *)protobuf_c_message_unpack(&dealdesk__v1__order__descriptor, &arena->pb,
	                                         w->result_len, w->result);
	if (*out == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	return DD_OK;
}
