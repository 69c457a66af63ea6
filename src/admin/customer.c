/* dealdesk admin: what a customer write does besides storing the record.
 *
 * Order statistics (order_count, first_order_at, last_order_at) are kept by
 * the order commits; a finance write of the customer keeps whichever says
 * more (the larger count, the earlier first and the later last order), so
 * that updating a profile never forgets orders. Every change of the credit
 * profile, and of a row of the credit tier table, is recorded in
 * credit_audit with who, when, before and after. */
#include "admin/admin_int.h"

#include <string.h>
#include <time.h>

#include "admin/write.h"
#include "dealdesk/v1/orders.pb-c.h"

static int same_message(const ProtobufCMessage *a, const ProtobufCMessage *b, dd_arena *arena)
{
	if (a == NULL || b == NULL)
		return a == b;
	size_t la = protobuf_c_message_get_packed_size(a);
	size_t lb = protobuf_c_message_get_packed_size(b);
	if (la != lb)
		return 0;
	uint8_t *x = dd_arena_alloc(arena, la + 1), *y = dd_arena_alloc(arena, lb + 1);
	if (x == NULL || y == NULL)
		return 0;
	protobuf_c_message_pack(a, x);
	protobuf_c_message_pack(b, y);
	return memcmp(x, y, la) == 0;
}

/* Appends change c (at = now, actor = the writer's) under prefix \0 time ns. */
static int append_change(dd_wtxn *txn, dd_admin_write *w, Dealdesk__V1__CreditChange *c,
                         const char *prefix, size_t plen, dd_error *err)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	c->at = (int64_t)ts.tv_sec;
	c->actor = (char *)(w->actor ? w->actor : "");
	size_t len = protobuf_c_message_get_packed_size(&c->base);
	uint8_t *buf = dd_arena_alloc(w->arena, len + 1);
	if (buf == NULL || plen > DD_STORE_MAX_KEY - 9)
		return dd_error_set(err, buf ? DD_EINVAL : DD_ENOMEM, "credit audit: cannot record");
	protobuf_c_message_pack(&c->base, buf);
	char akey[DD_STORE_MAX_KEY + 1];
	memcpy(akey, prefix, plen);
	akey[plen] = '\0';
	uint64_t ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	dd_val v;
	/* a later write in the same nanosecond (same batch) still sorts after */
	for (;;) {
		for (int b = 0; b < 8; b++)
			akey[plen + 1 + b] = (char)(ns >> (56 - 8 * b));
		if (dd_wtxn_get(txn, DD_T_CREDIT_AUDIT, (dd_val){ akey, plen + 9 }, &v) != DD_OK)
			break;
		ns++;
	}
	int rc = dd_wtxn_put(txn, DD_T_CREDIT_AUDIT, (dd_val){ akey, plen + 9 }, (dd_val){ buf, len });
	return rc == DD_OK ? DD_OK : dd_error_set(err, rc, "store: %s", dd_strerror(rc));
}

int dd_admin__customer_audit(dd_wtxn *txn, dd_admin_write *w, ProtobufCMessage *item,
                             const char *key, size_t klen, int deleting, dd_error *err)
{
	Dealdesk__V1__Customer *now = deleting ? NULL : (Dealdesk__V1__Customer *)item;
	const Dealdesk__V1__Customer *old = NULL;
	dd_val v;
	if (dd_wtxn_get(txn, DD_T_CUSTOMERS, (dd_val){ key, klen }, &v) == DD_OK)
		old = (const void *)protobuf_c_message_unpack(&dealdesk__v1__customer__descriptor,
		                                              &w->arena->pb, v.len, v.data);
	if (old && now) {
		if (old->order_count > now->order_count)
			now->order_count = old->order_count;
		if (old->first_order_at && (now->first_order_at == 0 ||
		                            old->first_order_at < now->first_order_at))
			now->first_order_at = old->first_order_at;
		if (old->last_order_at > now->last_order_at)
			now->last_order_at = old->last_order_at;
	}
	const Dealdesk__V1__CreditProfile *before = old ? old->credit : NULL;
	const Dealdesk__V1__CreditProfile *after = now ? now->credit : NULL;
	if (same_message(before ? &before->base : NULL, after ? &after->base : NULL, w->arena))
		return DD_OK;
	Dealdesk__V1__CreditChange c = DEALDESK__V1__CREDIT_CHANGE__INIT;
	char id[DD_STORE_MAX_KEY + 1];
	memcpy(id, key, klen);
	id[klen] = '\0';
	c.customer_id = id;
	c.before = (Dealdesk__V1__CreditProfile *)before;
	c.after = (Dealdesk__V1__CreditProfile *)after;
	return append_change(txn, w, &c, key, klen, err);
}

int dd_admin__tier_audit(dd_wtxn *txn, dd_admin_write *w, ProtobufCMessage *item,
                         const char *key, size_t klen, dd_error *err)
{
	const Dealdesk__V1__CreditTier *old = NULL;
	dd_val v;
	if (dd_wtxn_get(txn, DD_T_CREDIT_TIERS, (dd_val){ key, klen }, &v) == DD_OK)
		old = (const void *)protobuf_c_message_unpack(&dealdesk__v1__credit_tier__descriptor,
		                                              &w->arena->pb, v.len, v.data);
	if (same_message(old ? &old->base : NULL, item, w->arena))
		return DD_OK;
	if (klen + 1 > DD_STORE_MAX_KEY)
		return dd_error_set(err, DD_EINVAL, "credit audit: tier name too long");
	Dealdesk__V1__CreditChange c = DEALDESK__V1__CREDIT_CHANGE__INIT;
	char name[DD_STORE_MAX_KEY + 1], akey[DD_STORE_MAX_KEY + 1];
	memcpy(name, key, klen);
	name[klen] = '\0';
	c.tier = name;
	c.tier_before = (Dealdesk__V1__CreditTier *)old;
	c.tier_after = (Dealdesk__V1__CreditTier *)item;
	/* under the empty customer id, which no customer has */
	akey[0] = '\0';
	memcpy(akey + 1, key, klen);
	return append_change(txn, w, &c, akey, klen + 1, err);
}
