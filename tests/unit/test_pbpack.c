/* Unit tests for src/common/pbpack.c: dd_pb_pack gives protobuf-c's own
 * bytes, exactly, for random messages of the service's types (proto3: the
 * API; proto2: descriptor.proto, with required fields, has_ flags and
 * defaults; oneofs: reflection; packed repeated fields: analytics), for a
 * hand-made message of the scalar types no .proto of ours uses (sint,
 * fixed, sfixed, float, a proto2 string default), with unknown fields, and
 * for a message large enough to grow the buffer several times. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dealdesk/arena.h"
#include "dealdesk/pbpack.h"
#include "dealdesk/v1/admin.pb-c.h"
#include "dealdesk/v1/analytics.pb-c.h"
#include "dealdesk/v1/journal.pb-c.h"
#include "dealdesk/v1/orders.pb-c.h"
#include "dealdesk/v1/quote.pb-c.h"
#include "google/protobuf/descriptor.pb-c.h"
#include "grpc/reflection/v1/reflection.pb-c.h"

/* ---- random messages ---------------------------------------------------------- */

static uint64_t rng = 88172645463325252ULL;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static int chance(int pct)
{
	return (int)(next() % 100) < pct;
}

/* integers of every width, with the edges varints care about */
static uint64_t rand_u64(void)
{
	static const uint64_t edge[] = { 0, 1, 127, 128, 16383, 16384, 0x7fffffff, 0x80000000,
		                         0xffffffff, UINT64_MAX, (uint64_t)INT64_MIN, 300 };
	if (chance(40))
		return edge[next() % (sizeof(edge) / sizeof(edge[0]))];
	return next() >> (next() % 64);
}

static char *rand_str(dd_arena *a)
{
	size_t n = chance(20) ? 0 : next() % (chance(10) ? 300 : 12);
	char *s = dd_arena_alloc(a, n + 1);
	for (size_t i = 0; i < n; i++)
		s[i] = (char)('a' + next() % 26);
	s[n] = '\0';
	return s;
}

static size_t elt(ProtobufCType t)
{
	switch (t) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_DOUBLE: return 8;
	case PROTOBUF_C_TYPE_BOOL: return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_MESSAGE: return sizeof(void *);
	case PROTOBUF_C_TYPE_BYTES: return sizeof(ProtobufCBinaryData);
	default: return 4;
	}
}

static void fill(dd_arena *a, const ProtobufCMessageDescriptor *d, ProtobufCMessage *m, int depth);

static void rand_value(dd_arena *a, const ProtobufCFieldDescriptor *f, void *v, int depth)
{
	/* protobuf-c takes no NULL string or message inside an array */
	int in_array = f->label == PROTOBUF_C_LABEL_REPEATED;
	uint64_t u = rand_u64();
	switch (f->type) {
	case PROTOBUF_C_TYPE_BOOL: *(protobuf_c_boolean *)v = (protobuf_c_boolean)(next() % 3); break;
	case PROTOBUF_C_TYPE_FLOAT: *(float *)v = chance(30) ? 0.0f : (float)(int64_t)u / 7.0f; break;
	case PROTOBUF_C_TYPE_DOUBLE: *(double *)v = chance(30) ? 0.0 : (double)(int64_t)u / 3.0; break;
	case PROTOBUF_C_TYPE_STRING:
		*(char **)v = !in_array && chance(10) ? NULL : rand_str(a);
		break;
	case PROTOBUF_C_TYPE_BYTES: {
		ProtobufCBinaryData *b = v;
		b->data = chance(10) ? NULL : (uint8_t *)rand_str(a);
		b->len = b->data ? strlen((char *)b->data) : 0;
		break;
	}
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessageDescriptor *sd = f->descriptor;
		if (!in_array && (depth > 3 || chance(15))) {
			*(void **)v = NULL;
			break;
		}
		ProtobufCMessage *sub = dd_arena_alloc(a, sd->sizeof_message);
		protobuf_c_message_init(sd, sub);
		fill(a, sd, sub, depth + 1);
		*(void **)v = sub;
		break;
	}
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_FIXED64: *(uint64_t *)v = u; break;
	default: *(uint32_t *)v = (uint32_t)u; break; /* negative int32 / enum too */
	}
}

static void fill(dd_arena *a, const ProtobufCMessageDescriptor *d, ProtobufCMessage *m, int depth)
{
	char *base = (char *)m;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		void *v = base + f->offset;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = depth > 3 || chance(40) ? 0 : next() % 4;
			char *arr = n ? dd_arena_calloc(a, n, elt(f->type)) : NULL;
			for (size_t k = 0; k < n; k++)
				rand_value(a, f, arr + k * elt(f->type), depth);
			*(size_t *)(base + f->quantifier_offset) = n;
			*(void **)v = arr;
			continue;
		}
		if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
			if (chance(50)) { /* this member is the case (a later one may win) */
				*(uint32_t *)(base + f->quantifier_offset) = chance(90) ? f->id : 0;
				rand_value(a, f, v, depth);
			}
			continue;
		}
		if (chance(25))
			continue; /* as init left it (defaults included) */
		rand_value(a, f, v, depth);
		if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset)
			*(protobuf_c_boolean *)(base + f->quantifier_offset) = chance(70);
		if (f->default_value && f->type == PROTOBUF_C_TYPE_STRING && chance(20))
			*(const void **)v = f->default_value; /* the default: not written */
	}
	if (chance(10)) { /* unknown fields, verbatim after the known ones */
		ProtobufCMessageUnknownField *u = dd_arena_calloc(a, 2, sizeof(*u));
		u[0] = (ProtobufCMessageUnknownField){ 900, PROTOBUF_C_WIRE_TYPE_VARINT, 1,
			                               (uint8_t *)"\x05" };
		u[1] = (ProtobufCMessageUnknownField){ 1u << 20, PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED,
			                               4, (uint8_t *)"\x03xyz" };
		m->n_unknown_fields = 1 + next() % 2;
		m->unknown_fields = u;
	}
}

/* Both packers give the same bytes; ours read back (when asked: random
 * proto2 messages may lack required fields). */
static void same_as_protobuf_c(dd_pb_buf *buf, const ProtobufCMessage *m, int unpack)
{
	size_t want = protobuf_c_message_get_packed_size(m);
	uint8_t *a = malloc(want + 1);
	assert_non_null(a);
	assert_int_equal(protobuf_c_message_pack(m, a), want);
	const uint8_t *b;
	assert_int_equal(dd_pb_pack(buf, m, &b), want);
	assert_memory_equal(a, b, want);
	if (unpack) {
		ProtobufCMessage *back = protobuf_c_message_unpack(m->descriptor, NULL, want, b);
		assert_non_null(back);
		protobuf_c_message_free_unpacked(back, NULL);
	}
	uint8_t *c;
	size_t clen;
	assert_int_equal(dd_pb_pack_malloc(m, &c, &clen), 0);
	assert_int_equal(clen, want);
	assert_memory_equal(a, c, want);
	free(c);
	free(a);
}

static void random_of(const ProtobufCMessageDescriptor *d, int rounds)
{
	dd_arena a;
	dd_arena_init(&a, 64 * 1024, 0);
	dd_pb_buf buf = { NULL, 0 }; /* reused, as the server does */
	for (int r = 0; r < rounds; r++) {
		ProtobufCMessage *m = dd_arena_alloc(&a, d->sizeof_message);
		protobuf_c_message_init(d, m);
		fill(&a, d, m, 0);
		same_as_protobuf_c(&buf, m, 0);
		dd_arena_reset(&a);
	}
	dd_pb_buf_free(&buf);
	dd_arena_free(&a);
}

static void test_api_messages(void **state)
{
	(void)state;
	const ProtobufCMessageDescriptor *d[] = {
		&dealdesk__v1__quote_request__descriptor,
		&dealdesk__v1__quote_response__descriptor,
		&dealdesk__v1__order__descriptor,
		&dealdesk__v1__decision_record__descriptor,
		&dealdesk__v1__promotion__descriptor,
		&dealdesk__v1__customer__descriptor,
		&dealdesk__v1__credit_tier__descriptor,
		&dealdesk__v1__rfm_options__descriptor, /* packed repeated */
		&dealdesk__v1__customer_value__descriptor,
	};
	for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++)
		random_of(d[i], 400);
}

static void test_proto2_and_oneofs(void **state)
{
	(void)state;
	random_of(&google__protobuf__file_descriptor_set__descriptor, 300);
	random_of(&google__protobuf__uninterpreted_option__descriptor, 300); /* required */
	random_of(&grpc__reflection__v1__server_reflection_request__descriptor, 400);
	random_of(&grpc__reflection__v1__server_reflection_response__descriptor, 400);
}

/* ---- a message of the scalar types our .proto files do not use ------------------ */

typedef struct scalars {
	ProtobufCMessage base;
	int32_t s32;
	int64_t s64;
	uint32_t f32;
	uint64_t f64;
	int32_t sf32;
	int64_t sf64;
	float fl;
	size_t n_ps32;
	int32_t *ps32;
	size_t n_pfl;
	float *pfl;
	size_t n_pf64;
	uint64_t *pf64;
	size_t n_rs64;
	int64_t *rs64;
	protobuf_c_boolean has_o32;
	int32_t o32;
	uint32_t pick_case;
	union {
		int32_t pick_i;
		char *pick_s;
	};
	protobuf_c_boolean has_ob;
	ProtobufCBinaryData ob;
	char *named; /* proto2 optional string with a default */
} scalars;

static char named_default[] = "dflt";

#define F(id, name, label, type, q, member, flags)                                           \
	{ name, id, PROTOBUF_C_LABEL_##label, PROTOBUF_C_TYPE_##type, q, offsetof(scalars, member), \
	  NULL, NULL, flags, 0, NULL, NULL }

static const ProtobufCFieldDescriptor scalars_fields[] = {
	F(1, "s32", NONE, SINT32, 0, s32, 0),
	F(2, "s64", NONE, SINT64, 0, s64, 0),
	F(3, "f32", NONE, FIXED32, 0, f32, 0),
	F(4, "f64", NONE, FIXED64, 0, f64, 0),
	F(5, "sf32", NONE, SFIXED32, 0, sf32, 0),
	F(6, "sf64", NONE, SFIXED64, 0, sf64, 0),
	F(7, "fl", NONE, FLOAT, 0, fl, 0),
	F(8, "ps32", REPEATED, SINT32, offsetof(scalars, n_ps32), ps32, PROTOBUF_C_FIELD_FLAG_PACKED),
	F(9, "pfl", REPEATED, FLOAT, offsetof(scalars, n_pfl), pfl, PROTOBUF_C_FIELD_FLAG_PACKED),
	F(10, "pf64", REPEATED, FIXED64, offsetof(scalars, n_pf64), pf64, PROTOBUF_C_FIELD_FLAG_PACKED),
	F(11, "rs64", REPEATED, SINT64, offsetof(scalars, n_rs64), rs64, 0),
	F(12, "o32", OPTIONAL, SINT32, offsetof(scalars, has_o32), o32, 0),
	F(13, "pick_i", NONE, SFIXED32, offsetof(scalars, pick_case), pick_i,
	  PROTOBUF_C_FIELD_FLAG_ONEOF),
	F(14, "pick_s", NONE, STRING, offsetof(scalars, pick_case), pick_s,
	  PROTOBUF_C_FIELD_FLAG_ONEOF),
	F(2000, "ob", OPTIONAL, BYTES, offsetof(scalars, has_ob), ob, 0),
	{ "named", 2001, PROTOBUF_C_LABEL_OPTIONAL, PROTOBUF_C_TYPE_STRING, 0,
	  offsetof(scalars, named), NULL, named_default, 0, 0, NULL, NULL },
};

static const ProtobufCMessageDescriptor scalars_descriptor;

static void scalars_init(ProtobufCMessage *m)
{
	memset(m, 0, sizeof(scalars));
	m->descriptor = &scalars_descriptor;
	((scalars *)m)->named = named_default;
}

static const ProtobufCMessageDescriptor scalars_descriptor = {
	PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC, "t.Scalars", "Scalars", "T__Scalars", "t",
	sizeof(scalars), sizeof(scalars_fields) / sizeof(scalars_fields[0]), scalars_fields,
	NULL, 0, NULL, scalars_init, NULL, NULL, NULL
};

static void test_other_scalar_types(void **state)
{
	(void)state;
	random_of(&scalars_descriptor, 3000);
	/* hand-checked bytes: sint32 -1 is zigzag 1; fixed32 is little-endian;
	 * the packed sint32s -2, 64 are 3 and 128 */
	scalars s;
	scalars_init(&s.base);
	s.s32 = -1;
	s.f32 = 0x01020304;
	int32_t ps[] = { -2, 64 };
	s.n_ps32 = 2;
	s.ps32 = ps;
	s.pick_case = 14;
	s.pick_s = "hi";
	static const uint8_t want[] = { 0x08, 0x01, 0x1d, 0x04, 0x03, 0x02, 0x01,
		                        0x42, 0x03, 0x03, 0x80, 0x01, 0x72, 0x02, 'h', 'i' };
	dd_pb_buf buf = { NULL, 0 };
	const uint8_t *out;
	assert_int_equal(dd_pb_pack(&buf, &s.base, &out), sizeof(want));
	assert_memory_equal(out, want, sizeof(want));
	/* an empty message: no bytes, a pointer that may be read */
	scalars_init(&s.base);
	assert_int_equal(dd_pb_pack(&buf, &s.base, &out), 0);
	assert_non_null(out);
	dd_pb_buf_free(&buf);
}

/* A response far past the first buffer: it grows and stays exact. */
static void test_large_message(void **state)
{
	(void)state;
	enum { N = 2000 };
	Dealdesk__V1__QuoteResponse r = DEALDESK__V1__QUOTE_RESPONSE__INIT;
	static Dealdesk__V1__QuoteLine lines[N], *lp[N];
	static Dealdesk__V1__AppliedDiscount disc[N], *dp[N];
	for (int i = 0; i < N; i++) {
		dealdesk__v1__quote_line__init(&lines[i]);
		dealdesk__v1__applied_discount__init(&disc[i]);
		lines[i].line_no = i;
		lines[i].sku = "SKU-WITH-A-LONGER-NAME";
		lines[i].line_total = (int64_t)i * 1000;
		disc[i].promotion_id = "P";
		disc[i].amount = i;
		dp[i] = &disc[i];
		lines[i].n_discounts = 1;
		lines[i].discounts = &dp[i];
		lp[i] = &lines[i];
	}
	r.decision_id = "d";
	r.n_lines = N;
	r.lines = lp;
	dd_pb_buf buf = { NULL, 0 };
	same_as_protobuf_c(&buf, &r.base, 1);
	assert_true(buf.cap >= protobuf_c_message_get_packed_size(&r.base));
	dd_pb_buf_free(&buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_api_messages),
		cmocka_unit_test(test_proto2_and_oneofs),
		cmocka_unit_test(test_other_scalar_types),
		cmocka_unit_test(test_large_message),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
