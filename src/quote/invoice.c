/* dealdesk orders: invoices, payments and receivables loaded from an ERP
 * (include/dealdesk/order.h). Like commits, each is prepared on the worker
 * and applied by the writer in its nested transaction. */
#include "order_write.h"

#include <stdio.h>
#include <string.h>




/* OPEN -> INVOICED: the order's exposure leaves open orders ("x") and its
 * amount joins open receivables ("r"; every open invoice counts one use,
 * its open amount when it is in the credit currency). */
int quote_order_apply_invoice(dd_wtxn *txn, dd_order_write *w, Dealdesk__V1__Order *o,
                         dd_val okey, dd_error *err)
{
	int rc;
	dd_val iv, ikey = { w->order_id, strlen(w->order_id) };
	if (o->state == DEALDESK__V1__ORDER_STATE__ORDER_STATE_INVOICED) {
		if (dd_wtxn_get(txn, DD_T_INVOICES, ikey, &iv) != DD_OK)
			return dd_error_set(err, DD_ESTORE, "store: the invoice of '%s' is missing",
			                    w->order_id);
		return quote_order_copy_result(w, iv, err); /* invoiced before: idempotent */
	}
	if (o->state != DEALDESK__V1__ORDER_STATE__ORDER_STATE_OPEN)
		return dd_error_set(err, DD_EPRECOND, "order '%s' is not OPEN (release it first?)",
		                    w->order_id);
	Dealdesk__V1__Invoice inv;
	dealdesk__v1__invoice__init(&inv);
	inv.invoice_id = (char *)w->order_id;
	inv.order_id = (char *)w->order_id;
	inv.customer_id = o->customer_id;
	inv.currency = o->currency;
	inv.amount = o->total;
	inv.open_amount = o->total;
	inv.issued_at = w->now;
	int64_t terms = (int64_t)o->terms_days * 86400;
	if (dd_money_add(w->now, terms, &inv.due_at) != DD_OK)
		return dd_error_set(err, DD_EOVERFLOW, "invoice_time: due date overflows");
	inv.counted = o->exposure > 0;
	char key[DD_STORE_MAX_KEY + 1];
	int klen;
	if (o->exposure > 0) {
		if ((klen = quote_order_key2(key, "x", o->customer_id, NULL)) < 0 ||
		    (rc = quote_order_move_counter(txn, w->arena, key, (size_t)klen, -1, 1, o->exposure, err)) != DD_OK)
			return klen < 0 ? dd_error_set(err, DD_EINVAL, "key too long") : rc;
		quote_order_unlist_open(txn, o);
	}
	if (inv.open_amount > 0) {
		if ((klen = quote_order_key2(key, "r", o->customer_id, NULL)) < 0 ||
		    (rc = quote_order_move_counter(txn, w->arena, key, (size_t)klen, 1, 1,
		                       inv.counted ? inv.open_amount : 0, err)) != DD_OK)
			return klen < 0 ? dd_error_set(err, DD_EINVAL, "key too long") : rc;
		if ((klen = quote_order_dated_key(key, o->customer_id, inv.due_at, w->order_id)) < 0)
			return dd_error_set(err, DD_EINVAL, "key too long");
		dd_wtxn_put(txn, DD_T_OPEN_ITEMS, (dd_val){ key, (size_t)klen }, (dd_val){ "", 0 });
	}
	o->state = DEALDESK__V1__ORDER_STATE__ORDER_STATE_INVOICED;
	o->invoice_id = (char *)w->order_id;
	o->updated_at = w->now;
	size_t len;
	uint8_t *buf = quote_order_pack(w->arena, &o->base, &len);
	if (buf == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	if ((rc = dd_wtxn_put(txn, DD_T_ORDERS, okey, (dd_val){ buf, len })) != DD_OK)
		return dd_error_set(err, rc, "store: cannot write the order");
	if ((rc = quote_order_keep_result(w, &inv.base, err)) != DD_OK)
		return rc;
	if ((rc = dd_wtxn_put(txn, DD_T_INVOICES, ikey, (dd_val){ w->result, w->result_len })) != DD_OK)
		return dd_error_set(err, rc, "store: cannot write the invoice");
	return DD_OK;
}

int quote_order_apply_payment(dd_wtxn *txn, dd_order_write *w, dd_error *err)
{
	dd_val v, ikey = { w->order_id, strlen(w->order_id) };
	int rc = dd_wtxn_get(txn, DD_T_INVOICES, ikey, &v);
	if (rc == DD_ENOTFOUND)
		return dd_error_set(err, DD_ENOTFOUND, "invoice_id: no invoice '%s'", w->order_id);
	if (rc != DD_OK)
		return dd_error_set(err, DD_ESTORE, "store: cannot read invoices");
	Dealdesk__V1__Invoice *inv = (void *)protobuf_c_message_unpack(
		&dealdesk__v1__invoice__descriptor, &w->arena->pb, v.len, v.data);
	if (inv == NULL)
		return dd_error_set(err, DD_ESTORE, "store: invoice '%s' is corrupt", w->order_id);
	for (size_t i = 0; i < inv->n_payments; i++)
		if (strcmp(inv->payments[i]->payment_id, w->payment_id) == 0) {
			if (inv->payments[i]->amount != w->pay_amount)
				return dd_error_set(err, DD_EEXIST,
				                    "payment_id: payment '%s' was recorded with %lld, not %lld",
				                    w->payment_id, (long long)inv->payments[i]->amount,
				                    (long long)w->pay_amount);
			return quote_order_copy_result(w, v, err); /* the same payment again */
		}
	if (w->pay_amount > inv->open_amount)
		return dd_error_set(err, DD_EPRECOND,
		                    "amount: %lld is more than the %lld open on invoice '%s'",
		                    (long long)w->pay_amount, (long long)inv->open_amount, w->order_id);
	Dealdesk__V1__Payment **ps = dd_arena_alloc(w->arena, (inv->n_payments + 1) * sizeof(*ps));
	Dealdesk__V1__Payment *p = dd_arena_alloc(w->arena, sizeof(*p));
	if (ps == NULL || p == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	if (inv->n_payments)
		memcpy(ps, inv->payments, inv->n_payments * sizeof(*ps));
	dealdesk__v1__payment__init(p);
	p->payment_id = (char *)w->payment_id;
	p->amount = w->pay_amount;
	p->at = w->now;
	ps[inv->n_payments++] = p;
	inv->payments = ps;
	inv->open_amount -= w->pay_amount;
	char key[DD_STORE_MAX_KEY + 1];
	int klen = quote_order_key2(key, "r", inv->customer_id, NULL);
	if (klen < 0)
		return dd_error_set(err, DD_EINVAL, "key too long");
	if ((rc = quote_order_move_counter(txn, w->arena, key, (size_t)klen, -1, inv->open_amount == 0,
	                       inv->counted ? w->pay_amount : 0, err)) != DD_OK)
		return rc;
	if (inv->open_amount == 0) {
		if ((klen = quote_order_dated_key(key, inv->customer_id, inv->due_at, inv->invoice_id)) < 0)
			return dd_error_set(err, DD_EINVAL, "key too long");
		dd_wtxn_del(txn, DD_T_OPEN_ITEMS, (dd_val){ key, (size_t)klen });
	}
	inv->overdue_days = 0;
	if ((rc = quote_order_keep_result(w, &inv->base, err)) != DD_OK)
		return rc;
	if ((rc = dd_wtxn_put(txn, DD_T_INVOICES, ikey, (dd_val){ w->result, w->result_len })) != DD_OK)
		return dd_error_set(err, rc, "store: cannot write the invoice");
	return DD_OK;
}

int dd_order_receivables_prepare(Dealdesk__V1__Invoice *const *items, size_t n, int64_t now,
                                 dd_arena *arena, dd_order_write **out, dd_error *err)
{
	dd_error_clear(err);
	if (n == 0 || n > DD_MAX_BATCH)
		return dd_error_set(err, DD_EINVAL, "invoices: 1..%d per call, got %zu", DD_MAX_BATCH, n);
	for (size_t i = 0; i < n; i++) {
		const Dealdesk__V1__Invoice *v = items[i];
		char f[64];
		int rc;
		snprintf(f, sizeof(f), "invoices[%zu].invoice_id", i);
		if ((rc = dd_check_string(v->invoice_id, DD_MAX_ID, 0, f, err)) != DD_OK)
			return rc;
		snprintf(f, sizeof(f), "invoices[%zu].customer_id", i);
		if ((rc = dd_check_string(v->customer_id, DD_MAX_ID, 0, f, err)) != DD_OK)
			return rc;
		if (dd_currency_exponent(v->currency) < 0)
			return dd_error_set(err, DD_EINVAL,
			                    "invoices[%zu].currency: '%s' is not an ISO 4217 currency code",
			                    i, v->currency);
		if (*v->order_id || v->n_payments)
			return dd_error_set(err, DD_EINVAL,
			                    "invoices[%zu]: order_id and payments are not loaded", i);
		if (v->amount < 0 || v->open_amount < 0 || v->open_amount > v->amount)
			return dd_error_set(err, DD_EINVAL,
			                    "invoices[%zu].open_amount: must be in [0, amount %lld], got %lld",
			                    i, (long long)v->amount, (long long)v->open_amount);
		if (v->issued_at < 0 || v->due_at < 0)
			return dd_error_set(err, DD_EINVAL, "invoices[%zu]: times must be >= 0", i);
	}
	dd_order_write *w = dd_arena_calloc(arena, 1, sizeof(*w));
	if (w == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	w->kind = W_RECEIVABLES;
	w->arena = arena;
	w->order_id = "";
	w->items = items;
	w->nitems = n;
	w->now = now;
	w->needed = 1;
	*out = w;
	return DD_OK;
}

/* Adds (sign 1) or removes (-1) an open invoice from the customer's "r"
 * counter and open items. */
static int count_invoice(dd_wtxn *txn, dd_order_write *w, const Dealdesk__V1__Invoice *inv,
                         int sign, dd_error *err)
{
	if (inv->open_amount <= 0)
		return DD_OK;
	char key[DD_STORE_MAX_KEY + 1];
	int klen = quote_order_key2(key, "r", inv->customer_id, NULL), rc;
	if (klen < 0)
		return dd_error_set(err, DD_EINVAL, "key too long");
	if ((rc = quote_order_move_counter(txn, w->arena, key, (size_t)klen, sign, 1,
	                       inv->counted ? inv->open_amount : 0, err)) != DD_OK)
		return rc;
	if ((klen = quote_order_dated_key(key, inv->customer_id, inv->due_at, inv->invoice_id)) < 0)
		return dd_error_set(err, DD_EINVAL, "key too long");
	if (sign > 0)
		return dd_wtxn_put(txn, DD_T_OPEN_ITEMS, (dd_val){ key, (size_t)klen }, (dd_val){ "", 0 });
	dd_wtxn_del(txn, DD_T_OPEN_ITEMS, (dd_val){ key, (size_t)klen });
	return DD_OK;
}

int quote_order_apply_receivables(dd_wtxn *txn, dd_order_write *w, dd_error *err)
{
	for (size_t i = 0; i < w->nitems; i++) {
		Dealdesk__V1__Invoice *inv = w->items[i];
		dd_val v, ikey = { inv->invoice_id, strlen(inv->invoice_id) };
		const char *cid = inv->customer_id;
		if (dd_wtxn_get(txn, DD_T_CUSTOMERS, (dd_val){ cid, strlen(cid) }, &v) != DD_OK)
			return dd_error_set(err, DD_ENOTFOUND, "invoices[%zu].customer_id: no customer '%s'",
			                    i, cid);
		Dealdesk__V1__Customer *c = (void *)protobuf_c_message_unpack(
			&dealdesk__v1__customer__descriptor, &w->arena->pb, v.len, v.data);
		if (c == NULL)
			return dd_error_set(err, DD_ESTORE, "store: customer '%s' is corrupt", cid);
		inv->counted = c->credit && strcmp(c->credit->currency, inv->currency) == 0;
		inv->overdue_days = 0;
		int rc;
		if (dd_wtxn_get(txn, DD_T_INVOICES, ikey, &v) == DD_OK) {
			Dealdesk__V1__Invoice *old = (void *)protobuf_c_message_unpack(
				&dealdesk__v1__invoice__descriptor, &w->arena->pb, v.len, v.data);
			if (old == NULL)
				return dd_error_set(err, DD_ESTORE, "store: invoice is corrupt");
			if (*old->order_id)
				return dd_error_set(err, DD_EPRECOND,
				                    "invoices[%zu]: invoice '%s' belongs to order '%s'", i,
				                    old->invoice_id, old->order_id);
			if ((rc = count_invoice(txn, w, old, -1, err)) != DD_OK)
				return rc;
		}
		if ((rc = count_invoice(txn, w, inv, 1, err)) != DD_OK)
			return rc;
		size_t len;
		uint8_t *buf = quote_order_pack(w->arena, &inv->base, &len);
		if (buf == NULL)
			return dd_error_set(err, DD_ENOMEM, "out of memory");
		if ((rc = dd_wtxn_put(txn, DD_T_INVOICES, ikey, (dd_val){ buf, len })) != DD_OK)
			return dd_error_set(err, rc, "store: cannot write the invoice");
	}
	Dealdesk__V1__PutReceivablesResponse r = DEALDESK__V1__PUT_RECEIVABLES_RESPONSE__INIT;
	r.count = (uint32_t)w->nitems;
	return quote_order_keep_result(w, &r.base, err);
}
