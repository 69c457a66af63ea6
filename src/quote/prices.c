/* dealdesk quote: the price entries of a SKU in a currency, and the SKU's
 * market signals, kept by the quoter from one quote to the next.
 *
 * Pricing a line reads every entry of its SKU in the order's currency (a
 * prefix scan) and the SKU's signals: about 2,000 instructions a line even
 * when the unpacked records come from the record cache. A quoter quotes the
 * same hot SKUs over and over, so the entries are kept here, unpacked, in
 * key order, with the data version they were read at: every write to the
 * store advances that version (store.c), so at the same version they are
 * exactly what the scan would find, and nothing is read. At another version
 * (an order was committed, say) the scan runs again and its bytes are
 * compared with copies kept of them: unchanged records are not unpacked
 * again, so a commit-heavy load costs what it did without this cache.
 * Slots are direct-mapped and bounded; a slot the running quote uses is
 * never replaced under it, and a SKU with more entries than a slot holds is
 * read from the store each time. */
#include "prices.h"

#include <stdlib.h>
#include <string.h>

#define PRICE_SLOTS 1024 /* power of two */
#define PRICE_MAX_ENTRIES 16

typedef struct qpc_rec {
	ProtobufCMessage *msg;
	uint8_t *bytes; /* a copy, to tell a record that changed */
	size_t len;
} qpc_rec;

typedef struct qpc_slot {
	char *key; /* sku \0 currency \0 */
	size_t klen;
	uint64_t version;   /* the data version it was last read or checked at */
	uint64_t used;      /* quoter generation of its last use */
	int overflow;       /* the SKU has more entries than a slot holds */
	size_t n;
	qpc_rec v[PRICE_MAX_ENTRIES];
	qpc_rec signals;    /* msg NULL: the SKU has none */
	const Dealdesk__V1__PriceEntry *entries[PRICE_MAX_ENTRIES];
} qpc_slot;

struct qp_cache {
	qpc_slot slots[PRICE_SLOTS];
};

static void rec_free(qpc_rec *r)
{
	if (r->msg)
		protobuf_c_message_free_unpacked(r->msg, NULL);
	free(r->bytes);
	memset(r, 0, sizeof(*r));
}

static void release(qpc_slot *s)
{
	for (size_t i = 0; i < s->n; i++)
		rec_free(&s->v[i]);
	rec_free(&s->signals);
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

static int rec_same(const qpc_rec *r, dd_val v)
{
	return r->len == v.len && memcmp(r->bytes, v.data, v.len) == 0;
}

/* r holds v from now on (r empty, or holding other bytes); 0 when out of
 * memory or v does not read */
static int rec_set(qpc_rec *r, const ProtobufCMessageDescriptor *d, dd_val v)
{
	if (r->msg && rec_same(r, v))
		return 1;
	rec_free(r);
	r->msg = protobuf_c_message_unpack(d, NULL, v.len, v.data);
	r->bytes = malloc(v.len ? v.len : 1);
	if (r->msg == NULL || r->bytes == NULL) {
		rec_free(r);
		return 0;
	}
	memcpy(r->bytes, v.data, v.len);
	r->len = v.len;
	return 1;
}

typedef struct fill_ctx {
	qpc_slot *s;
	size_t n;
	int rc;
} fill_ctx;

static int fill_one(void *ud, dd_val key, dd_val val)
{
	fill_ctx *c = ud;
	(void)key;
	if (c->n == PRICE_MAX_ENTRIES) {
		c->rc = DD_EFULL;
		return 1;
	}
	qpc_rec *r = &c->s->v[c->n];
	if (c->n >= c->s->n)
		memset(r, 0, sizeof(*r)); /* past what the slot held */
	if (!rec_set(r, &dealdesk__v1__price_entry__descriptor, val)) {
		c->rc = DD_ESTORE;
		return 1;
	}
	c->n++;
	if (c->n > c->s->n)
		c->s->n = c->n;
	return 0;
}

static int count_one(void *ud, dd_val key, dd_val val)
{
	(void)key;
	(void)val;
	return ++*(size_t *)ud > PRICE_MAX_ENTRIES;
}

/* 1 when the slot's SKU still has more entries than a slot holds (at the
 * run's version, which the slot then remembers) */
static int count_over(quote_run *r, qpc_slot *s)
{
	size_t n = 0;
	if (dd_rtxn_scan(r->q->txn, DD_T_PRICES, (dd_val){ s->key, s->klen }, (dd_val){ NULL, 0 },
	                 count_one, &n) != DD_OK)
		return 1;
	s->version = r->order.data_version;
	return n > PRICE_MAX_ENTRIES;
}

/* Reads (or checks) the slot's records at the run's version: DD_OK; or
 * DD_EFULL, the slot kept empty with its overflow marked; or else the slot
 * is released. */
static int fill(quote_run *r, qpc_slot *s, const char *sku)
{
	dd_quoter *q = r->q;
	fill_ctx c = { s, 0, DD_OK };
	int rc = dd_rtxn_scan(q->txn, DD_T_PRICES, (dd_val){ s->key, s->klen },
	                      (dd_val){ NULL, 0 }, fill_one, &c);
	if (rc == DD_OK)
		rc = c.rc;
	if (rc == DD_OK) {
		/* fewer entries than before: the rest go */
		for (size_t i = c.n; i < s->n; i++)
			rec_free(&s->v[i]);
		s->n = c.n;
		dd_val sv;
		int got = dd_rtxn_get(q->txn, DD_T_SIGNALS, (dd_val){ sku, strlen(sku) }, &sv);
		if (got == DD_OK) {
			if (!rec_set(&s->signals, &dealdesk__v1__sku_signals__descriptor, sv))
				rc = DD_ESTORE;
		} else if (got == DD_ENOTFOUND) {
			rec_free(&s->signals);
		} else {
			rc = DD_ESTORE;
		}
	}
	if (rc == DD_EFULL) {
		/* too many: remembered (no records kept), so that the next quotes
		 * of this SKU go to the store without unpacking 16 entries first */
		for (size_t i = 0; i < s->n; i++)
			rec_free(&s->v[i]);
		rec_free(&s->signals);
		s->n = 0;
		s->overflow = 1;
		s->version = r->order.data_version;
		return rc;
	}
	if (rc != DD_OK) {
		release(s);
		return rc;
	}
	for (size_t i = 0; i < s->n; i++)
		s->entries[i] = (const Dealdesk__V1__PriceEntry *)s->v[i].msg;
	s->version = r->order.data_version;
	return DD_OK;
}

int quote_prices(quote_run *r, const char *key, size_t klen, const char *sku, qp_prices *out)
{
	dd_quoter *q = r->q;
	if (q->prices == NULL && (q->prices = calloc(1, sizeof(*q->prices))) == NULL)
		return 1;
	uint64_t h = quote_fnv1a64(key, klen);
	qpc_slot *s = &q->prices->slots[h & (PRICE_SLOTS - 1)];
	int mine = s->key != NULL && s->klen == klen && memcmp(s->key, key, klen) == 0;
	uint64_t version = r->order.data_version;
	if (s->key != NULL && s->used == q->generation && (!mine || s->version != version))
		return 1; /* this quote holds it: the caller reads the store */
	int need_fill = !mine || s->version != version;
	if (mine && s->overflow) {
		if (s->version == version || count_over(r, s))
			return 1;
		s->overflow = 0; /* entries went: kept from now on */
		need_fill = 1;
	}
	if (!mine) {
		release(s);
		if ((s->key = malloc(klen)) == NULL)
			return 1;
		memcpy(s->key, key, klen);
		s->klen = klen;
	}
	if (need_fill && fill(r, s, sku) != DD_OK)
		return 1; /* too many entries, or unreadable: the store each time */
	s->used = q->generation;
	*out = (qp_prices){ s->n, s->entries, (const Dealdesk__V1__SkuSignals *)s->signals.msg };
	return DD_OK;
}
