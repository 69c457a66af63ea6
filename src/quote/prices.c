/* dealdesk quote: the price entries of a SKU in a currency, and the SKU's
 * market signals, kept by the quoter from one quote to the next.
 *
 * Pricing a line reads every entry of its SKU in the order's currency (a
 * prefix scan) and the SKU's signals: about 2,000 instructions a line even
 * when the unpacked records come from the record cache. A quoter quotes the
 * same hot SKUs over and over, so the entries are kept here, unpacked, in
 * key order, with the data version they were read at: every write to the
 * store advances that version (store.c), so an entry of the running
 * quote's version is exactly what the scan would find. Slots are
 * direct-mapped and bounded; a slot the running quote uses is never
 * replaced under it, and a SKU with more entries than a slot holds is read
 * from the store each time. */
#include "prices.h"

#include <stdlib.h>
#include <string.h>

#define PRICE_SLOTS 1024 /* power of two */
#define PRICE_MAX_ENTRIES 16

typedef struct qpc_slot {
	char *key; /* sku \0 currency \0 */
	size_t klen;
	uint64_t version;   /* the data version it was read at */
	uint64_t used;      /* quoter generation of its last use */
	size_t n;
	Dealdesk__V1__PriceEntry *v[PRICE_MAX_ENTRIES];
	Dealdesk__V1__SkuSignals *signals;
} qpc_slot;

struct qp_cache {
	qpc_slot slots[PRICE_SLOTS];
};

static void release(qpc_slot *s)
{
	for (size_t i = 0; i < s->n; i++)
		protobuf_c_message_free_unpacked(&s->v[i]->base, NULL);
	if (s->signals)
		protobuf_c_message_free_unpacked(&s->signals->base, NULL);
	free(s->key);
	memset(s, 0, sizeof(*s));
}

void quote_prices_free(dd_quoter *q)
{
	if (q->prices == NULL)
		return;
	for (size_t i = 0; i < PRICE_SLOTS; i++)
		release(&q->prices->slots[i]);
	free(q->prices);
	q->prices = NULL;
}

typedef struct fill_ctx {
	qpc_slot *s;
	int rc;
} fill_ctx;

static int fill_one(void *ud, dd_val key, dd_val val)
{
	fill_ctx *c = ud;
	(void)key;
	if (c->s->n == PRICE_MAX_ENTRIES) {
		c->rc = DD_EFULL;
		return 1;
	}
	ProtobufCMessage *m =
		protobuf_c_message_unpack(&dealdesk__v1__price_entry__descriptor, NULL, val.len, val.data);
	if (m == NULL) {
		c->rc = DD_ESTORE;
		return 1;
	}
	c->s->v[c->s->n++] = (Dealdesk__V1__PriceEntry *)m;
	return 0;
}

int quote_prices(quote_run *r, const char *key, size_t klen, const char *sku, qp_prices *out)
{
	dd_quoter *q = r->q;
	if (q->prices == NULL && (q->prices = calloc(1, sizeof(*q->prices))) == NULL)
		return 1;
	uint64_t h = quote_fnv1a64(key, klen);
	qpc_slot *s = &q->prices->slots[h & (PRICE_SLOTS - 1)];
	uint64_t version = r->order.data_version;
	if (s->key != NULL && s->klen == klen && s->version == version &&
	    memcmp(s->key, key, klen) == 0) {
		s->used = q->generation;
		*out = (qp_prices){ s->n, (const Dealdesk__V1__PriceEntry *const *)s->v, s->signals };
		return DD_OK;
	}
	if (s->key != NULL && s->used == q->generation)
		return 1; /* this quote holds it: the caller reads the store */
	release(s);
	if ((s->key = malloc(klen)) == NULL)
		return 1;
	memcpy(s->key, key, klen);
	s->klen = klen;
	fill_ctx c = { s, DD_OK };
	int rc = dd_rtxn_scan(q->txn, DD_T_PRICES, (dd_val){ key, klen }, (dd_val){ NULL, 0 },
	                      fill_one, &c);
	if (rc == DD_OK)
		rc = c.rc;
	dd_val sv;
	if (rc == DD_OK && dd_rtxn_get(q->txn, DD_T_SIGNALS, (dd_val){ sku, strlen(sku) }, &sv) == DD_OK) {
		s->signals = (Dealdesk__V1__SkuSignals *)protobuf_c_message_unpack(
			&dealdesk__v1__sku_signals__descriptor, NULL, sv.len, sv.data);
		if (s->signals == NULL)
			rc = DD_ESTORE;
	}
	if (rc != DD_OK) {
		release(s); /* too many entries, or unreadable: the store each time */
		return 1;
	}
	s->version = version;
	s->used = q->generation;
	*out = (qp_prices){ s->n, (const Dealdesk__V1__PriceEntry *const *)s->v, s->signals };
	return DD_OK;
}
