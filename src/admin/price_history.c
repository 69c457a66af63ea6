/* dealdesk admin: every write of a price entry or a promotion keeps its
 * snapshot in the price history, in the same transaction
 * (include/dealdesk/history.h). */
#include "admin/write.h"

#include <string.h>
#include <time.h>

#include "dealdesk/history.h"

int dd_admin__price_history(dd_wtxn *txn, dd_admin_write *w, ProtobufCMessage *item,
                            const char *key, size_t klen, int deleting, dd_error *err)
{
	int64_t at = w->now > 0 ? w->now : (int64_t)time(NULL);
	char copy[DD_STORE_MAX_KEY + 1]; /* the key, NUL-terminated */
	if (klen > DD_STORE_MAX_KEY)
		return dd_error_set(err, DD_EINVAL, "key: too long");
	memcpy(copy, key, klen);
	copy[klen] = '\0';
	key = copy;
	if (w->kind == DD_ENTITY_PROMOTION) {
		Dealdesk__V1__Promotion del;
		const Dealdesk__V1__Promotion *p = (const void *)item;
		if (deleting) {
			dealdesk__v1__promotion__init(&del);
			del.id = (char *)key; /* key: id */
			p = &del;
		}
		int rc = dd_history_record_promotion(txn, p, at, deleting);
		if (rc != DD_OK)
			return dd_error_set(err, rc, "store: cannot keep the promotion history: %s",
			                    dd_strerror(rc));
		return DD_OK;
	}
	Dealdesk__V1__PriceEntry del;
	const Dealdesk__V1__PriceEntry *e = (const void *)item;
	if (deleting) {
		/* key: sku \0 currency \0 price_list_id */
		const char *parts[3];
		size_t n = 0, i = 0;
		while (n < 3 && i < klen) {
			parts[n++] = key + i;
			i += strlen(key + i) + 1;
		}
		if (n != 3)
			return DD_OK; /* not a price key: nothing to keep */
		dealdesk__v1__price_entry__init(&del);
		del.sku = (char *)parts[0];
		del.currency = (char *)parts[1];
		del.price_list_id = (char *)parts[2];
		e = &del;
	}
	int rc = dd_history_record_price(txn, e, at, deleting);
	if (rc != DD_OK)
		return dd_error_set(err, rc, "store: cannot keep the price history: %s",
		                    dd_strerror(rc));
	return DD_OK;
}
