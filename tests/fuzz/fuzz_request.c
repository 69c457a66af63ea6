/* Fuzz target: request decoding with validation, as dealdeskd does it
 * (src/server/server.c decode_request, then the handler's checks).
 *
 * Input: byte 0 picks the RPC's request type (TYPES below, modulo), the
 * rest is the request's wire bytes. They go through dd_wire_check
 * (src/server/wirecheck.c) with the default configuration, then
 * protobuf_c_message_unpack into an arena as the server's, then the checks
 * the handler runs before it reads the store or queues a write: the quote's
 * (quote_validate), commit's, and the admin writes' *_prepare
 * (normalization and src/model/validate.c, policy compilation, tokens,
 * orders, receivables).
 * Checked besides the sanitizers: what passed the wire check and decoded
 * holds only valid UTF-8 without NUL and no repeated field longer than its
 * limit; it packs (dd_pb_pack) to protobuf-c's very bytes; an error names a
 * field (its message is "field...: reason"); what the one-pass decoder
 * (dd_fast_decode) accepts, the general path accepts as the same message. */
#include <stdlib.h>
#include <string.h>

#include "dealdesk/admin.h"
#include "dealdesk/model.h"
#include "dealdesk/pbpack.h"
#include "dealdesk/order.h"
#include "dealdesk/v1/admin.pb-c.h"
#include "dealdesk/v1/orders.pb-c.h"
#include "dealdesk/v1/quote.pb-c.h"
#include "fuzz.h"
#include "grpc/health/v1/health.pb-c.h"
#include "quote/quoter.h"
#include "server/server.h"

/* A fixed clock: the same input always takes the same path. */
#define FUZZ_NOW INT64_C(1767225600) /* 2026-01-01T00:00:00Z */

typedef int (*check_fn)(ProtobufCMessage *m, dd_arena *a, dd_error *err);

static dd_config config;
static dd_quoter quoter; /* quote_validate reads only its limits */
static dd_sandbox_limits policy_limits;

#define FIELD_COUNT(m, f) (*(size_t *)((char *)(m) + (f)->quantifier_offset))
#define FIELD_PTR(m, f) ((char *)(m) + (f)->offset)

static int check_quote(ProtobufCMessage *m, dd_arena *a, dd_error *err)
{
	return quote_validate(&quoter, (const void *)m, err);
}

/* dd_order_commit_prepare up to where it reads the store */
static int check_commit(ProtobufCMessage *m, dd_arena *a, dd_error *err)
{
	const Dealdesk__V1__CommitRequest *req = (const void *)m;
	int rc = dd_check_string(req->order_id, DD_MAX_ID, 0, "order_id", err);
	if (rc != DD_OK)
		return rc;
	if (req->request == NULL)
		return dd_error_set(err, DD_EINVAL, "request: required");
	if (*req->request->order_id && strcmp(req->request->order_id, req->order_id) != 0)
		return dd_error_set(err, DD_EINVAL, "request.order_id: differs from order_id");
	Dealdesk__V1__QuoteRequest qr = *req->request;
	qr.order_id = req->order_id;
	return quote_validate(&quoter, &qr, err);
}

static int put(dd_entity_kind kind, ProtobufCMessage *m, dd_arena *a, dd_error *err)
{
	const ProtobufCFieldDescriptor *f = &m->descriptor->fields[0];
	dd_admin_write *w = NULL;
	return dd_admin_put_prepare(kind, *(ProtobufCMessage *const **)FIELD_PTR(m, f),
	                            FIELD_COUNT(m, f), f->name, a, &w, err);
}

#define PUT(name, kind)                                                              \
	static int check_put_##name(ProtobufCMessage *m, dd_arena *a, dd_error *err) \
	{                                                                            \
		return put(kind, m, a, err);                                         \
	}
PUT(price, DD_ENTITY_PRICE)
PUT(promotion, DD_ENTITY_PROMOTION)
PUT(customer, DD_ENTITY_CUSTOMER)
PUT(check, DD_ENTITY_CHECK)
PUT(signals, DD_ENTITY_SIGNALS)
PUT(coupon, DD_ENTITY_COUPON)

/* Get and Delete: the key's string fields, each required (handlers.c). */
static int check_delete_price(ProtobufCMessage *m, dd_arena *a, dd_error *err)
{
	const Dealdesk__V1__PriceEntryKey *k = (const void *)m;
	const char *parts[3] = { k->sku, k->currency, k->price_list_id };
	static const char *const names[3] = { "sku", "currency", "price_list_id" };
	for (int i = 0; i < 3; i++)
		if (*parts[i] == '\0')
			return dd_error_set(err, DD_EINVAL, "%s: required", names[i]);
	dd_admin_write *w = NULL;
	return dd_admin_delete_prepare(DD_ENTITY_PRICE, parts, a, &w, err);
}

static int check_upload(ProtobufCMessage *m, dd_arena *a, dd_error *err)
{
	const Dealdesk__V1__UploadPolicyRequest *q = (const void *)m;
	dd_admin_write *w = NULL;
	return dd_policy_upload_prepare((dd_policy_kind)q->kind, q->source, q->author, q->comment,
	                                FUZZ_NOW, &policy_limits, a, &w, err);
}

static int check_review(ProtobufCMessage *m, dd_arena *a, dd_error *err)
{
	const Dealdesk__V1__ReviewPolicyRequest *q = (const void *)m;
	dd_admin_write *w = NULL;
	return dd_policy_review_prepare((dd_policy_kind)q->kind, q->version,
	                                DEALDESK__V1__POLICY_STATUS__POLICY_STATUS_APPROVED,
	                                q->actor, q->comment, FUZZ_NOW, a, &w, err);
}

static int check_activate(ProtobufCMessage *m, dd_arena *a, dd_error *err)
{
	const Dealdesk__V1__ActivatePolicyRequest *q = (const void *)m;
	dd_admin_write *w = NULL;
	return dd_policy_activate_prepare((dd_policy_kind)q->kind, q->version, q->actor, 1,
	                                  FUZZ_NOW, a, &w, err);
}

static int check_create_token(ProtobufCMessage *m, dd_arena *a, dd_error *err)
{
	const Dealdesk__V1__CreateTokenRequest *q = (const void *)m;
	dd_admin_write *w = NULL;
	char *secret = NULL;
	return dd_token_create_prepare(q->name, q->role, "token:fuzz", FUZZ_NOW, a, &w, &secret,
	                               err);
}

static int check_revoke_token(ProtobufCMessage *m, dd_arena *a, dd_error *err)
{
	const Dealdesk__V1__RevokeTokenRequest *q = (const void *)m;
	dd_admin_write *w = NULL;
	return dd_token_revoke_prepare(q->name, FUZZ_NOW, a, &w, err);
}

static int check_order_decision(ProtobufCMessage *m, dd_arena *a, dd_error *err)
{
	const Dealdesk__V1__OrderDecisionRequest *q = (const void *)m;
	dd_order_write *w = NULL;
	return dd_order_change_prepare(DD_ORDER_RELEASE, q->order_id, q->actor, q->comment,
	                               FUZZ_NOW, a, &w, err);
}

static int check_payment(ProtobufCMessage *m, dd_arena *a, dd_error *err)
{
	const Dealdesk__V1__RecordPaymentRequest *q = (const void *)m;
	dd_order_write *w = NULL;
	return dd_order_payment_prepare(q->invoice_id, q->amount, q->time, q->payment_id,
	                                FUZZ_NOW, a, &w, err);
}

static int check_receivables(ProtobufCMessage *m, dd_arena *a, dd_error *err)
{
	const Dealdesk__V1__PutReceivablesRequest *q = (const void *)m;
	dd_order_write *w = NULL;
	return dd_order_receivables_prepare(q->invoices, q->n_invoices, FUZZ_NOW, a, &w, err);
}

static const struct {
	const ProtobufCMessageDescriptor *desc;
	check_fn check; /* NULL: decoding only (reads, whose checks need the store) */
} TYPES[] = {
	{ &dealdesk__v1__quote_request__descriptor, check_quote },
	{ &dealdesk__v1__commit_request__descriptor, check_commit },
	{ &dealdesk__v1__put_price_entries_request__descriptor, check_put_price },
	{ &dealdesk__v1__put_promotions_request__descriptor, check_put_promotion },
	{ &dealdesk__v1__put_customers_request__descriptor, check_put_customer },
	{ &dealdesk__v1__put_compliance_checks_request__descriptor, check_put_check },
	{ &dealdesk__v1__put_sku_signals_request__descriptor, check_put_signals },
	{ &dealdesk__v1__put_coupons_request__descriptor, check_put_coupon },
	{ &dealdesk__v1__price_entry_key__descriptor, check_delete_price },
	{ &dealdesk__v1__upload_policy_request__descriptor, check_upload },
	{ &dealdesk__v1__review_policy_request__descriptor, check_review },
	{ &dealdesk__v1__activate_policy_request__descriptor, check_activate },
	{ &dealdesk__v1__create_token_request__descriptor, check_create_token },
	{ &dealdesk__v1__revoke_token_request__descriptor, check_revoke_token },
	{ &dealdesk__v1__order_decision_request__descriptor, check_order_decision },
	{ &dealdesk__v1__record_payment_request__descriptor, check_payment },
	{ &dealdesk__v1__put_receivables_request__descriptor, check_receivables },
	{ &dealdesk__v1__list_price_entries_request__descriptor, NULL },
	{ &dealdesk__v1__list_orders_request__descriptor, NULL },
	{ &grpc__health__v1__health_check_request__descriptor, NULL },
};
#define NTYPES (sizeof(TYPES) / sizeof(TYPES[0]))

/* Every string of m (and of its sub-messages) valid UTF-8, every repeated
 * field within max-repeated. */
static void check_decoded(const ProtobufCMessage *m, int depth)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	FUZZ_CHECK(depth <= 17, "%s: nested %d deep", d->name, depth);
	if (d == &dealdesk__v1__quote_request__descriptor) {
		/* the quote's own limits, checked on the wire already */
		const Dealdesk__V1__QuoteRequest *q = (const void *)m;
		FUZZ_CHECK(q->n_lines <= config.limits.max_lines, "%zu lines", q->n_lines);
		FUZZ_CHECK(q->n_coupon_codes <= config.limits.max_coupons, "%zu coupons",
		           q->n_coupon_codes);
		FUZZ_CHECK(q->n_attributes <= config.limits.max_attributes, "%zu attributes",
		           q->n_attributes);
	}
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		size_t n = 1;
		void *at = FIELD_PTR(m, f);
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			n = FIELD_COUNT(m, f);
			FUZZ_CHECK(n <= config.max_repeated, "%s.%s: %zu elements", d->name, f->name, n);
			at = *(void **)at;
		}
		if (f->type == PROTOBUF_C_TYPE_STRING) {
			char **s = at;
			for (size_t k = 0; k < n; k++)
				FUZZ_CHECK(s[k] == NULL || dd_utf8_valid(s[k], strlen(s[k])),
				           "%s.%s: invalid UTF-8 passed the wire check", d->name, f->name);
		} else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
			ProtobufCMessage **sub = at;
			for (size_t k = 0; k < n; k++)
				if (sub[k] != NULL)
					check_decoded(sub[k], depth + 1);
		}
	}
}

static void setup(void)
{
	static int done;
	if (done)
		return;
	done = 1;
	dd_config_defaults(&config);
	quoter.lim = config.limits;
	/* the server's budgets cut down: a fuzzed policy that loops stops in
	 * milliseconds, not 250 */
	policy_limits = config.limits.sandbox;
	policy_limits.max_instructions = 200000;
	policy_limits.max_millis = 50;
	policy_limits.max_memory = 8u << 20;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	setup();
	if (size < 1)
		return 0;
	unsigned t = data[0] % NTYPES;
	const uint8_t *buf = data + 1;
	size_t len = size - 1;
	dd_error err;
	dd_error_clear(&err);
	/* the one-pass decoder (src/server/fastdecode.c), which dealdeskd
	 * tries first: whatever it accepts, the general path below must accept
	 * too, giving the same message */
	dd_arena fast_arena;
	dd_arena_init(&fast_arena, 65536, config.max_message_bytes * 8 + (64u << 20));
	const ProtobufCMessage *fast = dd_fast_decode(TYPES[t].desc, buf, len, &config, &fast_arena);
	int rc = dd_wire_check(TYPES[t].desc, buf, len, &config, &err);
	if (rc != DD_OK) {
		FUZZ_CHECK(fast == NULL, "%s: the fast decoder accepts what the wire check refuses (%s)",
		           TYPES[t].desc->name, err.msg);
		FUZZ_CHECK(rc == DD_EINVAL, "wire check: %d (%s)", rc, err.msg);
		FUZZ_CHECK(err.msg[0] != '\0', "wire check: no message");
		dd_arena_free(&fast_arena);
		return 0;
	}
	dd_arena arena;
	dd_arena_init(&arena, 65536, config.max_message_bytes * 8 + (64u << 20));
	ProtobufCMessage *m = protobuf_c_message_unpack(TYPES[t].desc, &arena.pb, len, buf);
	FUZZ_CHECK(fast == NULL || m != NULL, "%s: the fast decoder accepts what protobuf-c refuses",
	           TYPES[t].desc->name);
	if (fast != NULL) {
		check_decoded(fast, 0);
		size_t fl = protobuf_c_message_get_packed_size(fast);
		size_t ml = protobuf_c_message_get_packed_size(m);
		uint8_t *fb = malloc(fl ? fl : 1), *mb = malloc(ml ? ml : 1);
		FUZZ_CHECK(fb != NULL && mb != NULL, "out of memory");
		protobuf_c_message_pack(fast, fb);
		protobuf_c_message_pack(m, mb);
		FUZZ_CHECK(fl == ml && memcmp(fb, mb, fl) == 0,
		           "%s: the fast decoder's message differs from protobuf-c's",
		           TYPES[t].desc->name);
		FUZZ_CHECK(m->n_unknown_fields == 0 && fast->n_unknown_fields == 0,
		           "%s: the fast decoder took a message with unknown fields",
		           TYPES[t].desc->name);
		free(fb);
		free(mb);
	}
	dd_arena_free(&fast_arena);
	if (m != NULL) {
		check_decoded(m, 0);
		/* dealdeskd packs what it sends with dd_pb_pack: protobuf-c's
		 * bytes for whatever decodes, unknown fields included */
		size_t want = protobuf_c_message_get_packed_size(m);
		uint8_t *pc = malloc(want ? want : 1);
		FUZZ_CHECK(pc != NULL, "out of memory");
		FUZZ_CHECK(protobuf_c_message_pack(m, pc) == want, "protobuf-c: size");
		const uint8_t *ours;
		size_t got = dd_pb_pack_thread(m, &ours);
		FUZZ_CHECK(got == want && memcmp(pc, ours, want) == 0,
		           "%s: dd_pb_pack gives %zu bytes unlike protobuf-c's %zu",
		           TYPES[t].desc->name, got, want);
		free(pc);
		if (TYPES[t].check != NULL) {
			dd_error_clear(&err);
			rc = TYPES[t].check(m, &arena, &err);
			if (rc != DD_OK)
				FUZZ_CHECK(err.msg[0] != '\0' && strchr(err.msg, ':') != NULL,
				           "%s: error %d without a field: '%s'", TYPES[t].desc->name, rc,
				           err.msg);
		}
	}
	dd_arena_free(&arena);
	return 0;
}
