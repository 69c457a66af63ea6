/* dealdesk orders: the indexes a commit keeps beside the orders, all in
 * the commit's (or the state change's) write transaction:
 *   open_orders      customer \0 delivery \0 order_id -> exposure (8 bytes
 *                    BE): open orders by delivery date, for the tiers'
 *                    horizon (load.c reads past the horizon);
 *   customer_orders  customer \0 created_at \0 order_id -> "": ListOrders
 *                    by customer (orders.c).
 * The open_items of invoices (invoice.c) share the key layout. */
#include "order_write.h"

#include <string.h>

/* "cust \0 t (8 bytes BE) \0 id": open invoices by due date, open orders
 * by delivery date; -1 when it does not fit. */
int quote_order_dated_key(char *key, const char *cust, int64_t due, const char *id)
{
	size_t cl = strlen(cust), il = strlen(id);
	if (cl + 10 + il > DD_STORE_MAX_KEY)
		return -1;
	memcpy(key, cust, cl);
	key[cl] = '\0';
	uint64_t t = (uint64_t)due;
	for (int b = 0; b < 8; b++)
		key[cl + 1 + b] = (char)(t >> (56 - 8 * b));
	key[cl + 9] = '\0';
	memcpy(key + cl + 10, id, il);
	return (int)(cl + 10 + il);
}

void quote_order_unlist_open(dd_wtxn *txn, const Dealdesk__V1__Order *o)
{
	char key[DD_STORE_MAX_KEY + 1];
	int klen = quote_order_dated_key(key, o->customer_id, o->delivery_at, o->order_id);
	/* orders committed before the index have no entry: nothing to drop */
	if (klen > 0)
		dd_wtxn_del(txn, DD_T_OPEN_ORDERS, (dd_val){ key, (size_t)klen });
}

/* customer_orders: "customer \0 created_at \0 order_id" for ListOrders by
 * customer. A store from before the index gets it built by its first
 * commit, in that commit's transaction (DD_META_CUSTOMER_ORDERS says so). */
typedef struct index_build {
	dd_wtxn *txn;
	int rc;
} index_build;

static int index_one(void *ud, dd_val key, dd_val val)
{
	index_build *b = ud;
	(void)key;
	Dealdesk__V1__Order *o = (void *)protobuf_c_message_unpack(&dealdesk__v1__order__descriptor,
	                                                         NULL, val.len, val.data);
	if (o == NULL)
		return DD_ESTORE;
	char k[DD_STORE_MAX_KEY + 1];
	int klen = quote_order_dated_key(k, o->customer_id, o->created_at, o->order_id);
	if (klen > 0)
		b->rc = dd_wtxn_put(b->txn, DD_T_CUSTOMER_ORDERS, (dd_val){ k, (size_t)klen },
		                    (dd_val){ "", 0 });
	protobuf_c_message_free_unpacked(&o->base, NULL);
	return b->rc == DD_OK ? 0 : b->rc;
}

int quote_order_index_customer(dd_wtxn *txn, dd_order_write *w, dd_error *err)
{
	int rc;
	if (dd_wtxn_meta_u64(txn, DD_META_CUSTOMER_ORDERS) == 0) {
		index_build b = { txn, DD_OK };
		rc = dd_wtxn_scan(txn, DD_T_ORDERS, (dd_val){ NULL, 0 }, (dd_val){ NULL, 0 }, index_one,
		                  &b);
		if (rc < 0 || (rc = dd_wtxn_set_meta_u64(txn, DD_META_CUSTOMER_ORDERS, 1)) != DD_OK)
			return dd_error_set(err, DD_ESTORE, "store: cannot index the orders by customer");
	}
	char k[DD_STORE_MAX_KEY + 1];
	int klen = quote_order_dated_key(k, w->customer_id, w->time, w->order_id);
	if (klen < 0)
		return dd_error_set(err, DD_EINVAL, "order_id: too long for the store's keys");
	rc = dd_wtxn_put(txn, DD_T_CUSTOMER_ORDERS, (dd_val){ k, (size_t)klen }, (dd_val){ "", 0 });
	return rc == DD_OK ? DD_OK : dd_error_set(err, rc, "store: %s", dd_strerror(rc));
}

