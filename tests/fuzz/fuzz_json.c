/* Fuzz target: the JSON importer of the CLI and client (src/client/pbjson_*.c,
 * dealdesk/pbjson.h), as `dealdesk quote --file`, `dealdesk commit` and
 * `dealdesk <records> load FILE.json` use it.
 *
 * Input: byte 0 picks the message type (TYPES below, modulo), the rest is
 * the JSON text. The text is parsed strictly (dd_pbjson_parse) and, when it
 * is JSON, converted to the message (dd_pbjson_to_message); the records of
 * a Put request are then validated as the CLI does (dd_entity_validate).
 * Checked besides the sanitizers: a message converted without error formats
 * back to JSON (compact, and with defaults and indentation), and that text
 * reads back to a message with the very same protobuf encoding. */
#include <string.h>

#include "dealdesk/model.h"
#include "dealdesk/pbjson.h"
#include "dealdesk/v1/admin.pb-c.h"
#include "dealdesk/v1/orders.pb-c.h"
#include "dealdesk/v1/quote.pb-c.h"
#include "fuzz.h"

static const struct {
	const ProtobufCMessageDescriptor *desc;
	int entity; /* a dd_entity_kind: the request's records are validated; -1 none */
} TYPES[] = {
	{ &dealdesk__v1__quote_request__descriptor, -1 },
	{ &dealdesk__v1__commit_request__descriptor, -1 },
	{ &dealdesk__v1__put_price_entries_request__descriptor, DD_ENTITY_PRICE },
	{ &dealdesk__v1__put_promotions_request__descriptor, DD_ENTITY_PROMOTION },
	{ &dealdesk__v1__put_customers_request__descriptor, DD_ENTITY_CUSTOMER },
	{ &dealdesk__v1__put_compliance_checks_request__descriptor, DD_ENTITY_CHECK },
	{ &dealdesk__v1__put_sku_signals_request__descriptor, DD_ENTITY_SIGNALS },
	{ &dealdesk__v1__put_coupons_request__descriptor, DD_ENTITY_COUPON },
	{ &dealdesk__v1__put_receivables_request__descriptor, -1 },
	{ &dealdesk__v1__upload_policy_request__descriptor, -1 },
	{ &dealdesk__v1__quote_response__descriptor, -1 },
};
#define NTYPES (sizeof(TYPES) / sizeof(TYPES[0]))

static uint8_t *packed(const ProtobufCMessage *m, size_t *len)
{
	*len = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = malloc(*len ? *len : 1);
	FUZZ_CHECK(buf != NULL, "out of memory");
	FUZZ_CHECK(protobuf_c_message_pack(m, buf) == *len, "pack size");
	return buf;
}

/* m formatted with flags reads back to the same message. */
static void round_trip(const ProtobufCMessage *m, unsigned flags)
{
	char *text = NULL;
	int rc = dd_pbjson_format(m, flags, &text);
	FUZZ_CHECK(rc == DD_OK, "dd_pbjson_format(flags %u): %d", flags, rc);
	ProtobufCMessage *again = NULL;
	dd_error err;
	dd_error_clear(&err);
	rc = dd_pbjson_parse_message(text, strlen(text), m->descriptor, &again, &err);
	FUZZ_CHECK(rc == DD_OK, "the formatted message does not read back: %s\n%s", err.msg,
	           text);
	size_t la, lb;
	uint8_t *a = packed(m, &la), *b = packed(again, &lb);
	FUZZ_CHECK(la == lb && memcmp(a, b, la) == 0, "read back differs:\n%s", text);
	free(a);
	free(b);
	free(text);
	protobuf_c_message_free_unpacked(again, NULL);
}

/* The records of a Put request (its first field), checked as the CLI does
 * before it sends them. */
static void validate_records(const ProtobufCMessage *m, int entity)
{
	const ProtobufCFieldDescriptor *f = &m->descriptor->fields[0];
	size_t n = *(const size_t *)((const char *)m + f->quantifier_offset);
	ProtobufCMessage *const *items = *(ProtobufCMessage *const **)((const char *)m + f->offset);
	for (size_t i = 0; i < n; i++) {
		char where[64];
		dd_error err;
		dd_error_clear(&err);
		snprintf(where, sizeof(where), "%s[%zu]", f->name, i);
		if (dd_entity_validate((dd_entity_kind)entity, items[i], where, &err) != DD_OK)
			FUZZ_CHECK(strncmp(err.msg, where, strlen(where)) == 0,
			           "'%s' does not name %s", err.msg, where);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	unsigned t = data[0] % NTYPES;
	const char *text = (const char *)data + 1;
	size_t len = size - 1;
	dd_error err;
	dd_error_clear(&err);
	json_object *j = NULL;
	int rc = dd_pbjson_parse(text, len, &j, &err);
	if (rc != DD_OK) {
		FUZZ_CHECK(j == NULL, "a value with an error");
		FUZZ_CHECK(err.msg[0] != '\0', "an error without a message");
		return 0;
	}
	ProtobufCMessage *m = NULL;
	rc = dd_pbjson_to_message(j, TYPES[t].desc, &m, &err);
	json_object_put(j);
	if (rc != DD_OK) {
		FUZZ_CHECK(m == NULL, "a message with an error");
		FUZZ_CHECK(rc == DD_EINVAL || rc == DD_ENOMEM, "rc %d", rc);
		FUZZ_CHECK(err.msg[0] != '\0', "an error without a message");
		return 0;
	}
	if (TYPES[t].entity >= 0)
		validate_records(m, TYPES[t].entity);
	round_trip(m, 0);
	round_trip(m, DD_PBJSON_EMIT_DEFAULTS | DD_PBJSON_PRETTY);
	protobuf_c_message_free_unpacked(m, NULL);
	return 0;
}
