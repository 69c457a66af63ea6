/* dealdesk price history, the writes (include/dealdesk/history.h): the
 * snapshots of price entries and promotions as written, and their pruning. */
#include "history_int.h"

#include <stdlib.h>

/* ---- writes --------------------------------------------------------------- */

typedef struct prune_scan {
	size_t plen;
	int64_t cut;
	const char *list; /* the entry being written */
	int any_of_list;
	history_old_key *keys;
	size_t n, cap;
	int oom;
} prune_scan;

static int collect_old(void *ud, dd_val key, dd_val val)
{
	prune_scan *p = ud;
	(void)val;
	if (key.len < p->plen + 9)
		return 0;
	const unsigned char *k = key.data;
	int64_t at = history_get_be64(k + p->plen);
	const char *list = (const char *)k + p->plen + 9;
	size_t llen = key.len - p->plen - 9;
	if (strlen(p->list) == llen && memcmp(list, p->list, llen) == 0)
		p->any_of_list = 1;
	if (at >= p->cut)
		return 0;
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 16;
		history_old_key *nk = realloc(p->keys, cap * sizeof(*nk));
		if (nk == NULL) {
			p->oom = 1;
			return 1;
		}
		p->keys = nk;
		p->cap = cap;
	}
	history_old_key *o = &p->keys[p->n++];
	memcpy(o->key, key.data, key.len);
	o->key[key.len] = '\0';
	o->len = key.len;
	o->at = at;
	o->list = o->key + p->plen + 9;
	return 0;
}

/* Snapshots older than the cut go, but the newest of each list before it
 * stays: it is what was in force when the kept window begins. keys are in
 * time order, so a key is superseded when a later one of its list is also
 * before the cut. */
static int prune(dd_wtxn *txn, prune_scan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		int superseded = 0;
		for (size_t j = i + 1; j < p->n && !superseded; j++)
			superseded = strcmp(p->keys[i].list, p->keys[j].list) == 0;
		if (superseded) {
			int rc = dd_wtxn_del(txn, DD_T_PRICE_HISTORY,
			                     (dd_val){ p->keys[i].key, p->keys[i].len });
			if (rc != DD_OK && rc != DD_ENOTFOUND)
				return rc;
		}
	}
	return DD_OK;
}

static int put_snapshot(dd_wtxn *txn, const char *prefix, int plen, int64_t at,
                        const char *list, dd_val val)
{
	char key[DD_STORE_MAX_KEY + 1];
	size_t ll = strlen(list);
	if ((size_t)plen + 9 + ll > DD_STORE_MAX_KEY)
		return DD_EINVAL;
	memcpy(key, prefix, (size_t)plen);
	history_put_be64(key + plen, at);
	key[plen + 8] = '\0';
	memcpy(key + plen + 9, list, ll);
	return dd_wtxn_put(txn, DD_T_PRICE_HISTORY, (dd_val){ key, (size_t)plen + 9 + ll }, val);
}

int dd_history_record_price(dd_wtxn *txn, const Dealdesk__V1__PriceEntry *e, int64_t at,
                            int deleted)
{
	char prefix[DD_STORE_MAX_KEY + 1];
	int plen = history_scope_prefix(prefix, e->sku, e->currency);
	if (plen < 0 || e->price_list_id == NULL || at < 0)
		return DD_EINVAL;
	int64_t days = dd_wtxn_price_history_days(txn);
	prune_scan p = { (size_t)plen, at - days * DAY, e->price_list_id, 0, NULL, 0, 0, 0 };
	int rc = dd_wtxn_scan(txn, DD_T_PRICE_HISTORY, (dd_val){ prefix, (size_t)plen },
	                      (dd_val){ NULL, 0 }, collect_old, &p);
	if (rc == DD_OK && p.oom)
		rc = DD_ENOMEM;
	if (rc == DD_OK)
		rc = prune(txn, &p);
	free(p.keys);
	if (rc != DD_OK)
		return rc;
	if (!p.any_of_list) {
		/* the first snapshot of this entry: keep what was stored before */
		char key[DD_STORE_MAX_KEY + 1];
		size_t ll = strlen(e->price_list_id);
		dd_val old;
		if ((size_t)plen + ll <= DD_STORE_MAX_KEY) {
			memcpy(key, prefix, (size_t)plen);
			memcpy(key + plen, e->price_list_id, ll);
			if (dd_wtxn_get(txn, DD_T_PRICES, (dd_val){ key, (size_t)plen + ll }, &old) ==
			    DD_OK) {
				/* old points into the map until the next write: copy it */
				void *copy = malloc(old.len ? old.len : 1);
				if (copy == NULL)
					return DD_ENOMEM;
				memcpy(copy, old.data, old.len);
				rc = put_snapshot(txn, prefix, plen, 0, e->price_list_id,
				                  (dd_val){ copy, old.len });
				free(copy);
				if (rc != DD_OK)
					return rc;
			}
		}
	}
	if (deleted)
		return put_snapshot(txn, prefix, plen, at, e->price_list_id, (dd_val){ "", 0 });
	size_t len = protobuf_c_message_get_packed_size(&e->base);
	uint8_t *buf = malloc(len ? len : 1);
	if (buf == NULL)
		return DD_ENOMEM;
	protobuf_c_message_pack(&e->base, buf);
	rc = put_snapshot(txn, prefix, plen, at, e->price_list_id, (dd_val){ buf, len });
	free(buf);
	return rc;
}

typedef struct promo_prune {
	size_t plen;
	int64_t cut;
	int any;
	history_old_key *keys;
	size_t n, cap;
	int oom;
} promo_prune;

static int collect_promo(void *ud, dd_val key, dd_val val)
{
	promo_prune *p = ud;
	(void)val;
	if (key.len != p->plen + 8)
		return 0;
	p->any = 1;
	int64_t at = history_get_be64((const unsigned char *)key.data + p->plen);
	if (at >= p->cut)
		return 0;
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 16;
		history_old_key *nk = realloc(p->keys, cap * sizeof(*nk));
		if (nk == NULL) {
			p->oom = 1;
			return 1;
		}
		p->keys = nk;
		p->cap = cap;
	}
	memcpy(p->keys[p->n].key, key.data, key.len);
	p->keys[p->n].len = key.len;
	p->n++;
	return 0;
}

int dd_history_record_promotion(dd_wtxn *txn, const Dealdesk__V1__Promotion *p, int64_t at,
                                int deleted)
{
	char key[DD_STORE_MAX_KEY + 1];
	size_t il = p->id ? strlen(p->id) : 0;
	if (il == 0 || il + 9 > DD_STORE_MAX_KEY || at < 0)
		return DD_EINVAL;
	memcpy(key, p->id, il);
	key[il] = '\0';
	promo_prune pp = { il + 1, at - dd_wtxn_price_history_days(txn) * DAY, 0, NULL, 0, 0, 0 };
	int rc = dd_wtxn_scan(txn, DD_T_PROMO_HISTORY, (dd_val){ key, il + 1 }, (dd_val){ NULL, 0 },
	                      collect_promo, &pp);
	if (rc == DD_OK && pp.oom)
		rc = DD_ENOMEM;
	/* all but the newest before the cut go */
	for (size_t i = 0; rc == DD_OK && i + 1 < pp.n; i++) {
		rc = dd_wtxn_del(txn, DD_T_PROMO_HISTORY, (dd_val){ pp.keys[i].key, pp.keys[i].len });
		if (rc == DD_ENOTFOUND)
			rc = DD_OK;
	}
	free(pp.keys);
	if (rc != DD_OK)
		return rc;
	if (!pp.any) {
		/* the first snapshot: keep what was stored before, from 0 */
		dd_val old;
		if (dd_wtxn_get(txn, DD_T_PROMOTIONS, (dd_val){ p->id, il }, &old) == DD_OK) {
			void *copy = malloc(old.len ? old.len : 1);
			if (copy == NULL)
				return DD_ENOMEM;
			memcpy(copy, old.data, old.len);
			history_put_be64(key + il + 1, 0);
			rc = dd_wtxn_put(txn, DD_T_PROMO_HISTORY, (dd_val){ key, il + 9 },
			                 (dd_val){ copy, old.len });
			free(copy);
			if (rc != DD_OK)
				return rc;
		}
	}
	history_put_be64(key + il + 1, at);
	if (deleted)
		return dd_wtxn_put(txn, DD_T_PROMO_HISTORY, (dd_val){ key, il + 9 }, (dd_val){ "", 0 });
	size_t len = protobuf_c_message_get_packed_size(&p->base);
	uint8_t *buf = malloc(len ? len : 1);
	if (buf == NULL)
		return DD_ENOMEM;
	protobuf_c_message_pack(&p->base, buf);
	rc = dd_wtxn_put(txn, DD_T_PROMO_HISTORY, (dd_val){ key, il + 9 }, (dd_val){ buf, len });
	free(buf);
	return rc;
}

