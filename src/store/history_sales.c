/* dealdesk price history, the transaction prices the order commits keep
 * (include/dealdesk/history.h). */
#include "history_int.h"

#include "dealdesk/v1/orders.pb-c.h"

/* ---- transaction prices ----------------------------------------------------- */

typedef struct sale_scan {
	const dd_price_scope *s;
	size_t plen;
	int64_t to;
	dd_arena *a;
	dd_price_point *p;
	size_t n, cap;
	int last_only;
	int rc;
} sale_scan;

static int read_sale(void *ud, dd_val key, dd_val val)
{
	sale_scan *ss = ud;
	if (key.len < ss->plen + 9)
		return 0;
	int64_t at = history_get_be64((const unsigned char *)key.data + ss->plen);
	if (at >= ss->to)
		return 1;
	Dealdesk__V1__SkuSale *sale = (void *)protobuf_c_message_unpack(
		&dealdesk__v1__sku_sale__descriptor, &ss->a->pb, val.len, val.data);
	if (sale == NULL)
		return ss->rc = DD_ESTORE;
	const char *ch = ss->s->channel ? ss->s->channel : "";
	if (strcmp(sale->currency, ss->s->currency) != 0 || strcmp(sale->channel, ch) != 0)
		return 0;
	if (ss->last_only)
		ss->n = 0;
	if (ss->n == ss->cap) {
		size_t cap = ss->cap ? ss->cap * 2 : 16;
		dd_price_point *np = dd_arena_alloc(ss->a, cap * sizeof(*np));
		if (np == NULL)
			return ss->rc = DD_ENOMEM;
		if (ss->n)
			memcpy(np, ss->p, ss->n * sizeof(*np));
		ss->p = np;
		ss->cap = cap;
	}
	ss->p[ss->n++] = (dd_price_point){ at, at, sale->unit_price, sale->order_id, 1, 0 };
	return 0;
}

static int scan_sales(dd_rtxn *txn, sale_scan *ss, int64_t from)
{
	size_t sl = strlen(ss->s->sku);
	char start[DD_STORE_MAX_KEY + 1];
	if (sl == 0 || sl + 9 > DD_STORE_MAX_KEY || ss->s->currency == NULL)
		return DD_EINVAL;
	memcpy(start, ss->s->sku, sl);
	start[sl] = '\0';
	history_put_be64(start + sl + 1, from < 0 ? 0 : from);
	ss->plen = sl + 1;
	int rc = dd_rtxn_scan(txn, DD_T_SKU_HISTORY, (dd_val){ start, sl + 1 },
	                      (dd_val){ start, sl + 9 }, read_sale, ss);
	if (ss->rc != DD_OK)
		return ss->rc;
	return rc == DD_OK ? DD_OK : DD_ESTORE;
}

int dd_history_sales(dd_rtxn *txn, const dd_price_scope *s, int64_t from, int64_t to,
                     dd_arena *a, dd_price_point **out, size_t *n)
{
	sale_scan ss = { s, 0, to, a, NULL, 0, 0, 0, DD_OK };
	*out = NULL;
	*n = 0;
	if (from >= to)
		return DD_EINVAL;
	int rc = scan_sales(txn, &ss, from);
	if (rc == DD_OK) {
		*out = ss.p;
		*n = ss.n;
	}
	return rc;
}

/* The last sale before `before`: windows of 7, 14, 28 ... days back, so
 * that a SKU sold often is not read from its first sale on. */
int dd_history_last_sale(dd_rtxn *txn, const dd_price_scope *s, int64_t before,
                         dd_arena *a, dd_price_point *out, int *found)
{
	*found = 0;
	int64_t span = 7 * DAY, to = before;
	for (;;) {
		int64_t from = to - span < 0 ? 0 : to - span;
		sale_scan ss = { s, 0, to, a, NULL, 0, 0, 1, DD_OK };
		int rc = scan_sales(txn, &ss, from);
		if (rc != DD_OK)
			return rc;
		if (ss.n == 1) {
			*out = ss.p[0];
			*found = 1;
			return DD_OK;
		}
		if (from == 0)
			return DD_OK;
		to = from;
		span = span > INT64_MAX / 4 ? INT64_MAX / 2 : span * 2;
	}
}

long dd_history_lowest(const dd_price_point *p, size_t n)
{
	long best = -1;
	for (size_t i = 0; i < n; i++)
		if (best < 0 || p[i].price < p[(size_t)best].price)
			best = (long)i;
	return best;
}

