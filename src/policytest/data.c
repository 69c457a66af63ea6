/* dealdesk policy tests: the scratch store of one case and the data a case
 * puts in it (see include/dealdesk/policytest.h for the format). */
#include "policytest_int.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dealdesk/admin.h"
#include "dealdesk/history.h"
#include "dealdesk/pbjson.h"
#include "dealdesk/v1/orders.pb-c.h"

/* ---- the store of one case --------------------------------------------------------- */

/* Uploads source as the active version of kind. */
static int install(run *r, dd_store *st, dd_policy_kind kind, const char *source)
{
	dd_arena a;
	dd_arena_init(&a, 0, 0);
	Dealdesk__V1__PolicyScript *ps;
	dd_error err;
	int ok = dd_policy_upload(st, kind, source, "cases", "", T0, NULL, &a, &ps, &err) == DD_OK &&
	         dd_policy_activate(st, kind, ps->version, "cases", 0, T0, &a, &ps, &err) == DD_OK;
	if (!ok)
		policytest_mismatch(r, "the %s policy under test: %s", dd_policy_kind_name(kind), err.msg);
	dd_arena_free(&a);
	return ok;
}

int policytest_open_store(run *r, store *s)
{
	snprintf(s->dir, sizeof(s->dir), "/tmp/dd-policy-case-XXXXXX");
	if (mkdtemp(s->dir) == NULL) {
		policytest_mismatch(r, "mkdtemp failed");
		return 0;
	}
	dd_store_opts o = { .path = s->dir, .map_size = 32u << 20, .no_sync = 1 };
	dd_error err;
	if (dd_store_open(&s->st, &o, &err) != DD_OK ||
	    dd_policy_install_shipped(s->st, NULL, T0, &err) != DD_OK) {
		policytest_mismatch(r, "store: %s", err.msg);
		return 0;
	}
	return r->source == NULL || install(r, s->st, r->kind, r->source);
}

/* The scratch store's files and folder removed without a shell: the
 * server runs cases on its worker threads, where fork is best avoided. */
void policytest_close_store(store *s)
{
	if (s->st)
		dd_store_close(s->st);
	if (s->dir[0] == '\0')
		return;
	DIR *d = opendir(s->dir);
	struct dirent *e;
	char path[sizeof(s->dir) + 256];
	while (d && (e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", s->dir, e->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(s->dir);
}

static const struct {
	const char *key;
	dd_entity_kind kind;
	const ProtobufCMessageDescriptor *desc;
} record_kinds[] = {
	{ "prices", DD_ENTITY_PRICE, &dealdesk__v1__price_entry__descriptor },
	{ "customers", DD_ENTITY_CUSTOMER, &dealdesk__v1__customer__descriptor },
	{ "promotions", DD_ENTITY_PROMOTION, &dealdesk__v1__promotion__descriptor },
	{ "checks", DD_ENTITY_CHECK, &dealdesk__v1__compliance_check__descriptor },
	{ "signals", DD_ENTITY_SIGNALS, &dealdesk__v1__sku_signals__descriptor },
	{ "coupons", DD_ENTITY_COUPON, &dealdesk__v1__coupon__descriptor },
};

static int put_records(run *r, store *s, const char *key, json_object *list)
{
	size_t k = 0;
	while (k < sizeof(record_kinds) / sizeof(record_kinds[0]) && strcmp(record_kinds[k].key, key))
		k++;
	if (k == sizeof(record_kinds) / sizeof(record_kinds[0])) {
		policytest_mismatch(r, "data: unknown kind '%s'", key);
		return 0;
	}
	if (!json_object_is_type(list, json_type_array)) {
		policytest_mismatch(r, "data.%s: not an array", key);
		return 0;
	}
	size_t n = json_object_array_length(list);
	ProtobufCMessage **items = calloc(n ? n : 1, sizeof(*items));
	int ok = items != NULL;
	dd_error err;
	for (size_t i = 0; ok && i < n; i++)
		if (dd_pbjson_to_message(json_object_array_get_idx(list, i), record_kinds[k].desc,
		                         &items[i], &err) != DD_OK) {
			policytest_mismatch(r, "data.%s[%zu]: %s", key, i, err.msg);
			ok = 0;
		}
	if (ok && n > 0 &&
	    dd_admin_put(s->st, record_kinds[k].kind, items, n, key, NULL, &err) != DD_OK) {
		policytest_mismatch(r, "put %s: %s", key, err.msg);
		ok = 0;
	}
	for (size_t i = 0; items && i < n; i++)
		if (items[i])
			protobuf_c_message_free_unpacked(items[i], NULL);
	free(items);
	return ok;
}

const char *policytest_str_of(json_object *o, const char *key, const char *dflt)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
	               ? json_object_get_string(v)
	               : dflt;
}

int64_t policytest_int_of(json_object *o, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : 0;
}

static int put_usage(run *r, store *s, json_object *list)
{
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		json_object *u = json_object_array_get_idx(list, i);
		Dealdesk__V1__Usage m = DEALDESK__V1__USAGE__INIT;
		m.uses = policytest_int_of(u, "uses");
		m.amount = policytest_int_of(u, "amount");
		uint8_t buf[64];
		size_t len = protobuf_c_message_pack(&m.base, buf);
		const char *customer = policytest_str_of(u, "customer", NULL);
		char key[256];
		int klen = customer ? dd_key_join(key, sizeof(key), 3, policytest_str_of(u, "kind", "p"),
		                                  policytest_str_of(u, "id", ""), customer)
		                    : dd_key_join(key, sizeof(key), 2, policytest_str_of(u, "kind", "p"),
		                                  policytest_str_of(u, "id", ""));
		dd_wtxn *txn;
		if (klen < 0 || dd_wtxn_begin(s->st, &txn) != DD_OK) {
			policytest_mismatch(r, "usage[%zu]: bad key", i);
			return 0;
		}
		if (dd_wtxn_put(txn, DD_T_USAGE, (dd_val){ key, (size_t)klen }, (dd_val){ buf, len }) !=
		            DD_OK ||
		    dd_wtxn_commit(txn, NULL) != DD_OK) {
			policytest_mismatch(r, "usage[%zu]: write failed", i);
			return 0;
		}
	}
	return 1;
}

/* The snapshots of price_history (field "entry") or promotion_history
 * ("promotion"), recorded as the store's writers record them. */
typedef struct snapshot_kind {
	const char *list, *field;
	const ProtobufCMessageDescriptor *desc;
	int (*record)(dd_wtxn *txn, const ProtobufCMessage *m, int64_t at, int deleted);
} snapshot_kind;

static int record_price(dd_wtxn *txn, const ProtobufCMessage *m, int64_t at, int deleted)
{
	return dd_history_record_price(txn, (const void *)m, at, deleted);
}

static int record_promotion(dd_wtxn *txn, const ProtobufCMessage *m, int64_t at, int deleted)
{
	return dd_history_record_promotion(txn, (const void *)m, at, deleted);
}

static const snapshot_kind price_snapshots = { "price_history", "entry",
	                                       &dealdesk__v1__price_entry__descriptor,
	                                       record_price };
static const snapshot_kind promotion_snapshots = { "promotion_history", "promotion",
	                                           &dealdesk__v1__promotion__descriptor,
	                                           record_promotion };

static int put_snapshots(run *r, store *s, const snapshot_kind *k, json_object *list)
{
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		json_object *h = json_object_array_get_idx(list, i), *e = NULL, *d = NULL;
		ProtobufCMessage *m = NULL;
		dd_error err;
		if (!json_object_object_get_ex(h, k->field, &e) ||
		    dd_pbjson_to_message(e, k->desc, &m, &err) != DD_OK) {
			policytest_mismatch(r, "%s[%zu]: needs a%s %s", k->list, i,
			         strchr("aeiou", k->field[0]) ? "n" : "", k->field);
			return 0;
		}
		int deleted = json_object_object_get_ex(h, "deleted", &d) && json_object_get_boolean(d);
		dd_wtxn *txn;
		int ok = dd_wtxn_begin(s->st, &txn) == DD_OK;
		if (ok && k->record(txn, m, policytest_int_of(h, "at"), deleted) != DD_OK) {
			dd_wtxn_abort(txn);
			ok = 0;
		} else if (ok) {
			ok = dd_wtxn_commit(txn, NULL) == DD_OK;
		}
		protobuf_c_message_free_unpacked(m, NULL);
		if (!ok) {
			policytest_mismatch(r, "%s[%zu]: write failed", k->list, i);
			return 0;
		}
	}
	return 1;
}

static int put_sales(run *r, store *s, json_object *list)
{
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		json_object *o = json_object_array_get_idx(list, i);
		Dealdesk__V1__SkuSale m = DEALDESK__V1__SKU_SALE__INIT;
		m.order_id = (char *)policytest_str_of(o, "order_id", "o");
		m.currency = (char *)policytest_str_of(o, "currency", "USD");
		m.channel = (char *)policytest_str_of(o, "channel", "");
		m.quantity = policytest_int_of(o, "quantity") ? policytest_int_of(o, "quantity") : 1;
		m.unit_price = policytest_int_of(o, "unit_price");
		m.line_total = m.unit_price * m.quantity;
		m.at = policytest_int_of(o, "at");
		uint8_t buf[256];
		size_t len = protobuf_c_message_pack(&m.base, buf);
		const char *sku = policytest_str_of(o, "sku", "");
		char key[256];
		size_t sl = strlen(sku), ol = strlen(m.order_id);
		memcpy(key, sku, sl);
		key[sl] = '\0';
		for (int b = 0; b < 8; b++)
			key[sl + 1 + b] = (char)((uint64_t)m.at >> (56 - 8 * b));
		key[sl + 9] = '\0';
		memcpy(key + sl + 10, m.order_id, ol);
		dd_wtxn *txn;
		if (dd_wtxn_begin(s->st, &txn) != DD_OK ||
		    dd_wtxn_put(txn, DD_T_SKU_HISTORY, (dd_val){ key, sl + 10 + ol },
		                (dd_val){ buf, len }) != DD_OK ||
		    dd_wtxn_commit(txn, NULL) != DD_OK) {
			policytest_mismatch(r, "sales[%zu]: write failed", i);
			return 0;
		}
	}
	return 1;
}

/* data.policy: the shipped source of a kind with one text replaced. */
static int edit_policy(run *r, store *s, json_object *p)
{
	const char *kind_name = policytest_str_of(p, "kind", "");
	int kind = 0;
	for (int k = DD_POLICY_PRICING; k <= DD_POLICY_COMPLIANCE; k++)
		if (!strcmp(dd_policy_kind_name(k), kind_name))
			kind = k;
	const char *from = policytest_str_of(p, "replace", NULL), *to = policytest_str_of(p, "with", "");
	size_t len;
	const char *src = kind ? dd_policy_shipped_source(kind, &len) : NULL;
	const char *at = src && from ? strstr(src, from) : NULL;
	if (at == NULL) {
		policytest_mismatch(r, "data.policy: no '%s' in the shipped %s policy", from ? from : "",
		         kind_name);
		return 0;
	}
	size_t n = strlen(src) - strlen(from) + strlen(to) + 1;
	char *edited = malloc(n);
	int ok = edited != NULL;
	if (ok) {
		snprintf(edited, n, "%.*s%s%s", (int)(at - src), src, to, at + strlen(from));
		ok = install(r, s->st, kind, edited);
	}
	free(edited);
	return ok;
}

int policytest_put_data(run *r, store *s, json_object *data)
{
	if (data == NULL)
		return 1;
	json_object_object_foreach(data, key, val)
	{
		int ok;
		if (!strcmp(key, "usage"))
			ok = put_usage(r, s, val);
		else if (!strcmp(key, "price_history"))
			ok = put_snapshots(r, s, &price_snapshots, val);
		else if (!strcmp(key, "sales"))
			ok = put_sales(r, s, val);
		else if (!strcmp(key, "promotion_history"))
			ok = put_snapshots(r, s, &promotion_snapshots, val);
		else if (!strcmp(key, "policy"))
			ok = edit_policy(r, s, val);
		else
			ok = put_records(r, s, key, val);
		if (!ok)
			return 0;
	}
	return 1;
}
