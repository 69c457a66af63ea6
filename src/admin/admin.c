/* dealdesk admin: entity writes and reads over the store. Records are kept
 * as their protobuf encoding under the keys documented in store.h. */
#include "admin/admin_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/write.h"

static int parts_key(dd_entity_kind kind, const char *const *parts, int n,
                     char *buf, size_t size)
{
	switch (n) {
	case 0: return 0;
	case 1: return dd_key_join(buf, size, 1, parts[0]);
	case 2: return dd_key_join(buf, size, 2, parts[0], parts[1]);
	case 3: return dd_key_join(buf, size, 3, parts[0], parts[1], parts[2]);
	default: (void)kind; return DD_EINVAL;
	}
}

/* The key of a record: its key fields (dd_entity_def.key_fields) joined. */
static int record_key(dd_entity_kind kind, const ProtobufCMessage *m,
                      char *buf, size_t size)
{
	const dd_entity_def *e = dd_entity(kind);
	const char *parts[3];
	for (int i = 0; i < e->key_parts; i++) {
		const ProtobufCFieldDescriptor *f =
			protobuf_c_message_descriptor_get_field_by_name(e->desc, e->key_fields[i]);
		if (f == NULL || f->type != PROTOBUF_C_TYPE_STRING)
			return DD_EINTERNAL;
		parts[i] = *(char *const *)((const char *)m + f->offset);
	}
	return parts_key(kind, parts, e->key_parts, buf, size);
}


static int bump_counter(dd_wtxn *txn, const char *counter)
{
	if (counter == NULL)
		return DD_OK;
	return dd_wtxn_set_meta_u64(txn, counter, dd_wtxn_meta_u64(txn, counter) + 1);
}

int dd_admin_put_prepare(dd_entity_kind kind, ProtobufCMessage *const *items,
                         size_t n, const char *field, dd_arena *arena,
                         dd_admin_write **out, dd_error *err)
{
	char f[96];
	if (n == 0)
		return dd_error_set(err, DD_EINVAL, "%s: at least one record is required", field);
	if (n > DD_MAX_BATCH)
		return dd_error_set(err, DD_EINVAL, "%s: at most %d records per call",
		                    field, DD_MAX_BATCH);
	for (size_t i = 0; i < n; i++) {
		snprintf(f, sizeof(f), "%s[%zu]", field, i);
		int rc = dd_entity_normalize(kind, items[i], f, err);
		if (rc == DD_OK)
			rc = admin_validate(kind, items[i], f, err);
		if (rc != DD_OK)
			return rc;
	}
	dd_admin_write *w = dd_admin__write_new(arena, WRITE_PUT, err);
	if (w == NULL)
		return DD_ENOMEM;
	w->kind = kind;
	w->items = items;
	w->n = n;
	w->field = field;
	*out = w;
	return DD_OK;
}

static int apply_put(dd_wtxn *txn, const dd_admin_write *w, dd_error *err)
{
	dd_entity_kind kind = w->kind;
	int rc = DD_OK;
	uint8_t stackbuf[4096];
	for (size_t i = 0; i < w->n && rc == DD_OK; i++) {
		char key[DD_STORE_MAX_KEY + 1];
		int klen = record_key(kind, w->items[i], key, sizeof(key));
		if (klen < 0) {
			rc = dd_error_set(err, DD_EINVAL, "%s[%zu]: key too long", w->field, i);
			break;
		}
		if (kind == DD_ENTITY_CUSTOMER &&
		    (rc = dd_admin__customer_audit(txn, (dd_admin_write *)w, w->items[i], key,
		                                   (size_t)klen, 0, err)) != DD_OK)
			break;
		if (kind == DD_ENTITY_CREDIT_TIER &&
		    (rc = dd_admin__tier_audit(txn, (dd_admin_write *)w, w->items[i], key,
		                               (size_t)klen, err)) != DD_OK)
			break;
		if ((kind == DD_ENTITY_PRICE || kind == DD_ENTITY_PROMOTION) &&
		    (rc = dd_admin__price_history(txn, (dd_admin_write *)w, w->items[i], key,
		                                  (size_t)klen, 0, err)) != DD_OK)
			break;
		size_t len = protobuf_c_message_get_packed_size(w->items[i]);
		uint8_t *buf = len <= sizeof(stackbuf) ? stackbuf : malloc(len);
		if (buf == NULL) {
			rc = dd_error_set(err, DD_ENOMEM, "out of memory");
			break;
		}
		protobuf_c_message_pack(w->items[i], buf);
		rc = dd_wtxn_put(txn, dd_entity(kind)->table,
		                 (dd_val){ key, (size_t)klen }, (dd_val){ buf, len });
		if (buf != stackbuf)
			free(buf);
		if (rc != DD_OK)
			dd_error_set(err, rc, "store: %s", dd_strerror(rc));
	}
	if (rc == DD_OK && (rc = bump_counter(txn, dd_entity(kind)->meta_counter)) != DD_OK)
		dd_error_set(err, rc, "store: %s", dd_strerror(rc));
	return rc;
}

int dd_admin_put(dd_store *store, dd_entity_kind kind,
                 ProtobufCMessage *const *items, size_t n, const char *field,
                 uint64_t *version, dd_error *err)
{
	dd_arena arena;
	dd_arena_init(&arena, 1024, 0);
	dd_admin_write *w;
	int rc = dd_admin_put_prepare(kind, items, n, field, &arena, &w, err);
	if (rc == DD_OK)
		rc = dd_admin__write_now(store, w, version, err);
	dd_arena_free(&arena);
	return rc;
}

static int key_error(const char *const *key, int n, dd_error *err)
{
	for (int i = 0; i < n; i++) {
		char f[16];
		snprintf(f, sizeof(f), "key[%d]", i);
		int rc = dd_check_string(key[i], DD_MAX_ID, 0, f, err);
		if (rc != DD_OK)
			return rc;
	}
	return DD_OK;
}

int dd_admin_get(dd_store *store, dd_entity_kind kind, const char *const *key,
                 dd_arena *arena, ProtobufCMessage **out, dd_error *err)
{
	const dd_entity_def *e = dd_entity(kind);
	int rc = key_error(key, e->key_parts, err);
	if (rc != DD_OK)
		return rc;
	char k[DD_STORE_MAX_KEY + 1];
	int klen = parts_key(kind, key, e->key_parts, k, sizeof(k));
	if (klen < 0)
		return dd_error_set(err, DD_EINVAL, "key: too long");
	dd_rtxn *txn;
	if ((rc = dd_rtxn_new(store, &txn)) != DD_OK || (rc = dd_rtxn_begin(txn)) != DD_OK) {
		if (rc != DD_OK && txn)
			dd_rtxn_free(txn);
		return dd_error_set(err, rc, "store: cannot read");
	}
	dd_val v;
	rc = dd_rtxn_get(txn, e->table, (dd_val){ k, (size_t)klen }, &v);
	if (rc == DD_OK) {
		*out = protobuf_c_message_unpack(e->desc, &arena->pb, v.len, v.data);
		if (*out == NULL)
			rc = dd_error_set(err, DD_ESTORE, "store: corrupt %s record", dd_entity(kind)->name);
	} else if (rc == DD_ENOTFOUND) {
		dd_error_set(err, rc, "%s '%s' not found", dd_entity(kind)->name, key[0]);
	} else {
		dd_error_set(err, rc, "store: read failed");
	}
	dd_rtxn_end(txn);
	dd_rtxn_free(txn);
	return rc;
}

int dd_admin_delete_prepare(dd_entity_kind kind, const char *const *key,
                            dd_arena *arena, dd_admin_write **out, dd_error *err)
{
	const dd_entity_def *e = dd_entity(kind);
	int rc = key_error(key, e->key_parts, err);
	if (rc != DD_OK)
		return rc;
	dd_admin_write *w = dd_admin__write_new(arena, WRITE_DELETE, err);
	if (w == NULL)
		return DD_ENOMEM;
	int klen = parts_key(kind, key, e->key_parts, w->key, sizeof(w->key));
	if (klen < 0)
		return dd_error_set(err, DD_EINVAL, "key: too long");
	w->kind = kind;
	w->klen = (size_t)klen;
	w->key0 = key[0];
	*out = w;
	return DD_OK;
}

static int apply_delete(dd_wtxn *txn, const dd_admin_write *w, dd_error *err)
{
	const dd_entity_def *e = dd_entity(w->kind);
	int rc;
	if (w->kind == DD_ENTITY_CUSTOMER &&
	    (rc = dd_admin__customer_audit(txn, (dd_admin_write *)w, NULL, w->key, w->klen, 1,
	                                   err)) != DD_OK)
		return rc;
	if (w->kind == DD_ENTITY_CREDIT_TIER &&
	    (rc = dd_admin__tier_audit(txn, (dd_admin_write *)w, NULL, w->key, w->klen, err)) != DD_OK)
		return rc;
	if ((w->kind == DD_ENTITY_PRICE || w->kind == DD_ENTITY_PROMOTION) &&
	    (rc = dd_admin__price_history(txn, (dd_admin_write *)w, NULL, w->key, w->klen, 1,
	                                  err)) != DD_OK)
		return rc;
	rc = dd_wtxn_del(txn, e->table, (dd_val){ w->key, w->klen });
	if (rc == DD_OK)
		rc = bump_counter(txn, e->meta_counter);
	if (rc == DD_ENOTFOUND)
		return dd_error_set(err, rc, "%s '%s' not found", dd_entity(w->kind)->name, w->key0);
	if (rc != DD_OK)
		return dd_error_set(err, rc, "store: delete failed");
	return DD_OK;
}

int dd_admin__apply_entity(dd_wtxn *txn, dd_admin_write *w, dd_error *err)
{
	return w->op == WRITE_PUT ? apply_put(txn, w, err) : apply_delete(txn, w, err);
}

int dd_admin_delete(dd_store *store, dd_entity_kind kind,
                    const char *const *key, uint64_t *version, dd_error *err)
{
	dd_arena arena;
	dd_arena_init(&arena, 1024, 0);
	dd_admin_write *w;
	int rc = dd_admin_delete_prepare(kind, key, &arena, &w, err);
	if (rc == DD_OK)
		rc = dd_admin__write_now(store, w, version, err);
	dd_arena_free(&arena);
	return rc;
}

/* ---- listing with page tokens (the hex of the next key) -------------------- */

typedef struct list_ctx {
	const ProtobufCMessageDescriptor *desc;
	dd_arena *arena;
	ProtobufCMessage **items;
	size_t n, max;
	char *next_token;
	int rc;
} list_ctx;

static char *hex_encode(dd_arena *a, const void *data, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	char *s = dd_arena_alloc(a, len * 2 + 1);
	if (s == NULL)
		return NULL;
	const unsigned char *p = data;
	for (size_t i = 0; i < len; i++) {
		s[2 * i] = digits[p[i] >> 4];
		s[2 * i + 1] = digits[p[i] & 15];
	}
	s[len * 2] = '\0';
	return s;
}

static int hex_decode(const char *s, unsigned char *out, size_t size)
{
	size_t len = strlen(s);
	if (len % 2 || len / 2 > size)
		return -1;
	for (size_t i = 0; i < len; i += 2) {
		int v = 0;
		for (int k = 0; k < 2; k++) {
			char c = s[i + k];
			int d = c >= '0' && c <= '9' ? c - '0'
			      : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
			if (d < 0)
				return -1;
			v = v * 16 + d;
		}
		out[i / 2] = (unsigned char)v;
	}
	return (int)(len / 2);
}

static int list_one(void *ud, dd_val key, dd_val val)
{
	list_ctx *c = ud;
	if (c->n == c->max) {
		c->next_token = hex_encode(c->arena, key.data, key.len);
		return 1;
	}
	ProtobufCMessage *m = protobuf_c_message_unpack(c->desc, &c->arena->pb,
	                                                val.len, val.data);
	if (m == NULL)
		return DD_ESTORE;
	c->items[c->n++] = m;
	return 0;
}

static int list_table(dd_store *store, dd_table table,
                      const ProtobufCMessageDescriptor *desc, dd_val prefix,
                      uint32_t page_size, const char *page_token,
                      dd_arena *arena, ProtobufCMessage ***items, size_t *n,
                      char **next_token, dd_error *err)
{
	if (page_size == 0)
		page_size = 100;
	if (page_size > 1000)
		page_size = 1000;
	unsigned char start[DD_STORE_MAX_KEY];
	int slen = 0;
	if (page_token && *page_token) {
		slen = hex_decode(page_token, start, sizeof(start));
		if (slen <= 0)
			return dd_error_set(err, DD_EINVAL, "page.page_token: malformed");
	}
	list_ctx c = { desc, arena, NULL, 0, page_size, NULL, 0 };
	c.items = dd_arena_calloc(arena, page_size, sizeof(*c.items));
	if (c.items == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	dd_rtxn *txn;
	int rc = dd_rtxn_new(store, &txn);
	if (rc != DD_OK)
		return dd_error_set(err, rc, "store: cannot read");
	if ((rc = dd_rtxn_begin(txn)) == DD_OK) {
		rc = dd_rtxn_scan(txn, table, prefix, (dd_val){ start, (size_t)slen },
		                  list_one, &c);
		dd_rtxn_end(txn);
	}
	dd_rtxn_free(txn);
	if (rc < 0)
		return dd_error_set(err, rc, "store: list failed: %s", dd_strerror(rc));
	*items = c.items;
	*n = c.n;
	*next_token = c.next_token ? c.next_token : "";
	return DD_OK;
}

int dd_admin_list(dd_store *store, dd_entity_kind kind,
                  const char *const *prefix, int nparts, uint32_t page_size,
                  const char *page_token, dd_arena *arena,
                  ProtobufCMessage ***items, size_t *n, char **next_token,
                  dd_error *err)
{
	char k[DD_STORE_MAX_KEY + 2];
	int klen = parts_key(kind, prefix, nparts, k, sizeof(k) - 1);
	if (klen < 0)
		return dd_error_set(err, DD_EINVAL, "prefix: too long");
	if (nparts > 0)
		k[klen++] = '\0'; /* whole parts only: "A1" must not match "A10" */
	return list_table(store, dd_entity(kind)->table, dd_entity(kind)->desc,
	                  (dd_val){ k, (size_t)klen }, page_size, page_token,
	                  arena, items, n, next_token, err);
}

/* ---- policies --------------------------------------------------------------- */

int admin_list_policies(dd_store *store, int kind, uint32_t page_size,
                        const char *page_token, dd_arena *arena,
                        ProtobufCMessage ***items, size_t *n, char **next_token,
                        dd_error *err)
{
	unsigned char prefix = (unsigned char)kind;
	return list_table(store, DD_T_POLICIES, &dealdesk__v1__policy_script__descriptor,
	                  (dd_val){ &prefix, kind ? 1u : 0u }, page_size, page_token,
	                  arena, items, n, next_token, err);
}
