/* dealdesk pbpack: compiled descriptors, written back to front
 * (include/dealdesk/pbpack.h).
 *
 * A message type's program is built once, on first use, and kept for the
 * life of the process in a small table that readers search without a lock
 * (a program is complete before it is published; building takes a mutex).
 * Writing goes from the end of the buffer towards its start: a message's
 * fields in reverse order, each value before its tag, each sub-message
 * before its length, so the bytes come out in protobuf-c's forward order. */
#include "dealdesk/pbpack.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum { K_INT32, K_SINT32, K_UINT32, K_SINT64, K_VARINT64, K_BOOL, K_FIXED32, K_FLOAT,
       K_FIXED64, K_DOUBLE, K_STRING, K_BYTES, K_MESSAGE };
enum { L_NONE, L_OPTIONAL, L_REQUIRED, L_REPEATED, L_ONEOF };

typedef struct pb_prog pb_prog;

/* What put_msg does with an op, decided when the program is built: the
 * common proto3 cases in one dispatch, the rest (F_OTHER) by label and
 * kind. */
enum { F_OTHER, F_VARINT64, F_INT32, F_BOOL, F_STRING, F_REPEATED };

typedef struct pb_op {
	uint32_t offset, qoffset, id;
	uint8_t fast, kind, label, packed;
	uint8_t tag_len, ptag_len;
	uint8_t tag[5];  /* the field's tag with its wire type */
	uint8_t ptag[5]; /* with LENGTH_PREFIXED, for a packed array */
	size_t elt;      /* bytes per element of an array */
	const void *default_value;
	const ProtobufCMessageDescriptor *sub_desc;
	const pb_prog *sub; /* resolved on first use (atomic) */
} pb_op;

struct pb_prog {
	const ProtobufCMessageDescriptor *desc;
	size_t n;
	pb_op ops[];
};

/* ---- programs ----------------------------------------------------------------- */

#define PROGS 1024 /* message types; the service has a few hundred */

static struct {
	const ProtobufCMessageDescriptor *desc;
	pb_prog *prog; /* published last (release) */
} progs[PROGS];
static pthread_mutex_t progs_lock = PTHREAD_MUTEX_INITIALIZER;

static size_t slot_of(const ProtobufCMessageDescriptor *d)
{
	uintptr_t h = (uintptr_t)d;
	h ^= h >> 17;
	h *= 0x9e3779b97f4a7c15ull;
	return (size_t)(h >> 40) % PROGS;
}

static size_t varint_put_fwd(uint8_t *out, uint64_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		out[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	out[n++] = (uint8_t)v;
	return n;
}

static void op_kind(pb_op *op, ProtobufCType t)
{
	unsigned wire = PROTOBUF_C_WIRE_TYPE_VARINT;
	op->elt = 4;
	switch (t) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_ENUM: op->kind = K_INT32; break;
	case PROTOBUF_C_TYPE_SINT32: op->kind = K_SINT32; break;
	case PROTOBUF_C_TYPE_UINT32: op->kind = K_UINT32; break;
	case PROTOBUF_C_TYPE_SINT64: op->kind = K_SINT64, op->elt = 8; break;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_UINT64: op->kind = K_VARINT64, op->elt = 8; break;
	case PROTOBUF_C_TYPE_BOOL: op->kind = K_BOOL, op->elt = sizeof(protobuf_c_boolean); break;
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_FIXED32: op->kind = K_FIXED32, wire = PROTOBUF_C_WIRE_TYPE_32BIT; break;
	case PROTOBUF_C_TYPE_FLOAT: op->kind = K_FLOAT, wire = PROTOBUF_C_WIRE_TYPE_32BIT; break;
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_FIXED64:
		op->kind = K_FIXED64, op->elt = 8, wire = PROTOBUF_C_WIRE_TYPE_64BIT;
		break;
	case PROTOBUF_C_TYPE_DOUBLE:
		op->kind = K_DOUBLE, op->elt = 8, wire = PROTOBUF_C_WIRE_TYPE_64BIT;
		break;
	case PROTOBUF_C_TYPE_STRING:
		op->kind = K_STRING, op->elt = sizeof(char *);
		wire = PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED;
		break;
	case PROTOBUF_C_TYPE_BYTES:
		op->kind = K_BYTES, op->elt = sizeof(ProtobufCBinaryData);
		wire = PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED;
		break;
	default:
		op->kind = K_MESSAGE, op->elt = sizeof(void *);
		wire = PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED;
		break;
	}
	op->tag_len = (uint8_t)varint_put_fwd(op->tag, ((uint64_t)op->id << 3) | wire);
	op->ptag_len = (uint8_t)varint_put_fwd(
		op->ptag, ((uint64_t)op->id << 3) | PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED);
}

static pb_prog *compile(const ProtobufCMessageDescriptor *d)
{
	pb_prog *p = calloc(1, sizeof(*p) + d->n_fields * sizeof(pb_op));
	if (p == NULL)
		return NULL;
	p->desc = d;
	p->n = d->n_fields;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		pb_op *op = &p->ops[i];
		op->offset = f->offset;
		op->qoffset = f->quantifier_offset;
		op->id = f->id;
		op->default_value = f->default_value;
		op->packed = (f->flags & PROTOBUF_C_FIELD_FLAG_PACKED) != 0;
		if (f->label == PROTOBUF_C_LABEL_REPEATED)
			op->label = L_REPEATED;
		else if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
			op->label = L_ONEOF;
		else if (f->label == PROTOBUF_C_LABEL_REQUIRED)
			op->label = L_REQUIRED;
		else
			op->label = f->label == PROTOBUF_C_LABEL_OPTIONAL ? L_OPTIONAL : L_NONE;
		op_kind(op, f->type);
		if (op->kind == K_MESSAGE)
			op->sub_desc = f->descriptor;
		op->fast = F_OTHER;
		if (op->label == L_REPEATED)
			op->fast = F_REPEATED;
		else if (op->label == L_NONE && op->kind == K_VARINT64)
			op->fast = F_VARINT64;
		else if (op->label == L_NONE && op->kind == K_INT32)
			op->fast = F_INT32;
		else if (op->label == L_NONE && op->kind == K_BOOL)
			op->fast = F_BOOL;
		else if (op->label == L_NONE && op->kind == K_STRING)
			op->fast = F_STRING;
	}
	return p;
}

/* The program of d, built on first use; NULL when out of memory. */
static const pb_prog *prog_of(const ProtobufCMessageDescriptor *d)
{
	size_t s = slot_of(d);
	for (size_t k = 0; k < PROGS; k++, s = (s + 1) % PROGS) {
		pb_prog *p = __atomic_load_n(&progs[s].prog, __ATOMIC_ACQUIRE);
		if (p == NULL)
			break;
		if (p->desc == d)
			return p;
	}
	pthread_mutex_lock(&progs_lock);
	const pb_prog *found = NULL;
	s = slot_of(d);
	for (size_t k = 0; k < PROGS; k++, s = (s + 1) % PROGS) {
		pb_prog *p = progs[s].prog;
		if (p == NULL) {
			pb_prog *n = compile(d);
			if (n != NULL) {
				progs[s].desc = d;
				__atomic_store_n(&progs[s].prog, n, __ATOMIC_RELEASE);
			}
			found = n;
			break;
		}
		if (p->desc == d) {
			found = p;
			break;
		}
	}
	pthread_mutex_unlock(&progs_lock);
	return found; /* NULL too when the table is full: protobuf-c packs it */
}

static const pb_prog *sub_prog(const pb_op *op)
{
	const pb_prog *p = __atomic_load_n(&op->sub, __ATOMIC_ACQUIRE);
	if (p == NULL) {
		p = prog_of(op->sub_desc);
		if (p != NULL)
			__atomic_store_n(&((pb_op *)op)->sub, p, __ATOMIC_RELEASE);
	}
	return p;
}

/* ---- writing back to front ------------------------------------------------------ */

typedef struct wr {
	dd_pb_buf *b;
	uint8_t *p; /* the bytes written so far are [p, b->base + b->cap) */
	int failed;
	int nested; /* a program missing: the caller falls back to protobuf-c */
} wr;

static size_t written(const wr *w)
{
	return (size_t)(w->b->base + w->b->cap - w->p);
}

static int grow(wr *w, size_t n)
{
	size_t used = written(w);
	size_t cap = w->b->cap * 2;
	while (cap < used + n)
		cap *= 2;
	uint8_t *nb = malloc(cap);
	if (nb == NULL) {
		w->failed = 1;
		return 0;
	}
	if (used)
		memcpy(nb + cap - used, w->p, used);
	free(w->b->base);
	w->b->base = nb;
	w->b->cap = cap;
	w->p = nb + cap - used;
	return 1;
}

static inline int room(wr *w, size_t n)
{
	return (size_t)(w->p - w->b->base) >= n || grow(w, n);
}

static inline size_t varint_size(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

/* The unchecked writers below go after a room() that covered them. */
static inline void u_varint(wr *w, uint64_t v)
{
	if (v < 0x80) {
		*--w->p = (uint8_t)v;
		return;
	}
	size_t n = varint_size(v);
	w->p -= n;
	varint_put_fwd(w->p, v);
}

static inline void u_tag(wr *w, const uint8_t *tag, uint8_t len)
{
	if (len == 1) {
		*--w->p = tag[0];
		return;
	}
	w->p -= len;
	memcpy(w->p, tag, len);
}

static inline void u_fixed(wr *w, uint64_t v, size_t n)
{
	w->p -= n;
	for (size_t i = 0; i < n; i++)
		w->p[i] = (uint8_t)(v >> (8 * i));
}

/* a value of a scalar kind (room for 10 bytes made) */
static inline void u_scalar(wr *w, const pb_op *op, const void *v)
{
	switch (op->kind) {
	case K_INT32: u_varint(w, (uint64_t)(int64_t) * (const int32_t *)v); break;
	case K_SINT32: {
		uint32_t x = *(const uint32_t *)v;
		u_varint(w, (x << 1) ^ (uint32_t) - (int32_t)(x >> 31));
		break;
	}
	case K_UINT32: u_varint(w, *(const uint32_t *)v); break;
	case K_SINT64: {
		uint64_t x = *(const uint64_t *)v;
		u_varint(w, (x << 1) ^ (uint64_t) - (int64_t)(x >> 63));
		break;
	}
	case K_VARINT64: u_varint(w, *(const uint64_t *)v); break;
	case K_BOOL: *--w->p = *(const protobuf_c_boolean *)v ? 1 : 0; break;
	case K_FIXED32:
	case K_FLOAT: u_fixed(w, *(const uint32_t *)v, 4); break;
	default: u_fixed(w, *(const uint64_t *)v, 8); break; /* FIXED64, DOUBLE */
	}
}

static void put_msg(wr *w, const pb_prog *prog, const ProtobufCMessage *m);

/* the bytes, their length and the tag */
static inline void put_len_field(wr *w, const pb_op *op, const void *data, size_t n)
{
	if (!room(w, n + 15))
		return;
	w->p -= n;
	if (n)
		memcpy(w->p, data, n);
	u_varint(w, n);
	u_tag(w, op->tag, op->tag_len);
}

/* one value of op at v, then its tag */
static void put_field(wr *w, const pb_op *op, const void *v)
{
	switch (op->kind) {
	case K_STRING: {
		const char *s = *(const char *const *)v;
		put_len_field(w, op, s, s ? strlen(s) : 0);
		return;
	}
	case K_BYTES: {
		const ProtobufCBinaryData *b = v;
		put_len_field(w, op, b->data, b->len);
		return;
	}
	case K_MESSAGE: {
		const ProtobufCMessage *sub = *(const ProtobufCMessage *const *)v;
		size_t before = written(w);
		if (sub != NULL) {
			const pb_prog *sp = sub_prog(op);
			if (sp == NULL) {
				w->nested = 1;
				return;
			}
			put_msg(w, sp, sub);
		}
		if (!room(w, 15))
			return;
		u_varint(w, written(w) - before);
		u_tag(w, op->tag, op->tag_len);
		return;
	}
	default:
		if (!room(w, 15))
			return;
		u_scalar(w, op, v);
		u_tag(w, op->tag, op->tag_len);
		return;
	}
}

static inline int zeroish(const pb_op *op, const void *v)
{
	switch (op->kind) {
	case K_BOOL: return *(const protobuf_c_boolean *)v == 0;
	case K_FLOAT: return *(const float *)v == 0;
	case K_DOUBLE: return *(const double *)v == 0;
	case K_STRING: {
		const char *s = *(const char *const *)v;
		return s == NULL || *s == '\0';
	}
	case K_BYTES: {
		const ProtobufCBinaryData *b = v;
		return b->data == NULL || b->len == 0;
	}
	case K_MESSAGE: return *(const void *const *)v == NULL;
	default: return op->elt == 8 ? *(const uint64_t *)v == 0 : *(const uint32_t *)v == 0;
	}
}

static inline int pointer_kind(const pb_op *op)
{
	return op->kind == K_STRING || op->kind == K_MESSAGE;
}

static void put_array(wr *w, const pb_op *op, const char *arr, size_t count)
{
	if (!op->packed) {
		for (size_t k = count; k-- > 0 && !w->failed;)
			put_field(w, op, arr + k * op->elt);
		return;
	}
	size_t before = written(w);
	for (size_t k = count; k-- > 0;) {
		if (!room(w, 10))
			return;
		u_scalar(w, op, arr + k * op->elt);
	}
	if (!room(w, 15))
		return;
	u_varint(w, written(w) - before);
	u_tag(w, op->ptag, op->ptag_len);
}

/* An op that is not one of the common cases: whether it is present (by
 * its label), then put_field. */
static void put_other(wr *w, const pb_op *op, const char *base, const void *v)
{
	switch (op->label) {
	case L_NONE: /* proto3, a kind not handled in put_msg */
		if (zeroish(op, v))
			return;
		break;
	case L_ONEOF:
		if (*(const uint32_t *)(base + op->qoffset) != op->id)
			return;
		/* pointers as optional ones */
		__attribute__((fallthrough));
	case L_OPTIONAL:
		if (pointer_kind(op)) {
			const void *ptr = *(const void *const *)v;
			if (ptr == NULL || ptr == op->default_value)
				return;
		} else if (op->label == L_OPTIONAL &&
		           !*(const protobuf_c_boolean *)(base + op->qoffset)) {
			return;
		}
		break;
	default: /* L_REQUIRED */
		break;
	}
	put_field(w, op, v);
}

/* The fields last to first. A write that finds no memory sets w->failed
 * and the caller throws the bytes away, so the loop need not stop for it. */
static void put_msg(wr *w, const pb_prog *prog, const ProtobufCMessage *m)
{
	const char *base = (const char *)m;
	for (size_t i = m->n_unknown_fields; i-- > 0;) {
		const ProtobufCMessageUnknownField *u = &m->unknown_fields[i];
		if (!room(w, u->len + 15))
			return;
		w->p -= u->len;
		if (u->len)
			memcpy(w->p, u->data, u->len);
		u_varint(w, ((uint64_t)u->tag << 3) | u->wire_type);
	}
	for (size_t i = prog->n; i-- > 0;) {
		const pb_op *op = &prog->ops[i];
		const void *v = base + op->offset;
		switch (op->fast) {
		case F_VARINT64: {
			uint64_t x = *(const uint64_t *)v;
			if (x == 0 || !room(w, 15))
				continue;
			u_varint(w, x);
			u_tag(w, op->tag, op->tag_len);
			continue;
		}
		case F_INT32: {
			int32_t x = *(const int32_t *)v;
			if (x == 0 || !room(w, 15))
				continue;
			u_varint(w, (uint64_t)(int64_t)x);
			u_tag(w, op->tag, op->tag_len);
			continue;
		}
		case F_BOOL:
			if (*(const protobuf_c_boolean *)v == 0 || !room(w, 6))
				continue;
			*--w->p = 1;
			u_tag(w, op->tag, op->tag_len);
			continue;
		case F_STRING: {
			const char *str = *(const char *const *)v;
			if (str != NULL && *str != '\0')
				put_len_field(w, op, str, strlen(str));
			continue;
		}
		case F_REPEATED: {
			size_t count = *(const size_t *)(base + op->qoffset);
			if (count > 0)
				put_array(w, op, *(const char *const *)v, count);
			continue;
		}
		default:
			put_other(w, op, base, v);
			continue;
		}
	}
}

size_t dd_pb_pack(dd_pb_buf *b, const ProtobufCMessage *m, const uint8_t **out)
{
	const pb_prog *prog = prog_of(m->descriptor);
	if (b->base == NULL) { /* no pointer arithmetic on NULL, even by 0 */
		if ((b->base = malloc(1024)) == NULL)
			return SIZE_MAX;
		b->cap = 1024;
	}
	wr w = { b, b->base + b->cap, 0, 0 };
	if (prog != NULL)
		put_msg(&w, prog, m);
	if (w.failed)
		return SIZE_MAX;
	if (prog == NULL || w.nested) { /* no room for a program: protobuf-c's way */
		size_t n = protobuf_c_message_get_packed_size(m);
		if (b->cap < n) {
			free(b->base);
			b->cap = 0;
			b->base = malloc(n ? n : 1);
			if (b->base == NULL)
				return SIZE_MAX;
			b->cap = n ? n : 1;
		}
		*out = b->base;
		return protobuf_c_message_pack(m, b->base);
	}
	static const uint8_t none[1];
	*out = written(&w) ? w.p : none;
	return written(&w);
}

static pthread_key_t buf_key;
static pthread_once_t buf_once = PTHREAD_ONCE_INIT;
static int buf_key_ok;

static void buf_destroy(void *p)
{
	dd_pb_buf_free(p);
	free(p);
}

static void buf_key_init(void)
{
	buf_key_ok = pthread_key_create(&buf_key, buf_destroy) == 0;
}

#define THREAD_BUF_KEEP (1u << 20)

size_t dd_pb_pack_thread(const ProtobufCMessage *m, const uint8_t **out)
{
	pthread_once(&buf_once, buf_key_init);
	dd_pb_buf *b = buf_key_ok ? pthread_getspecific(buf_key) : NULL;
	if (b == NULL) {
		if (!buf_key_ok || (b = calloc(1, sizeof(*b))) == NULL)
			return SIZE_MAX;
		if (pthread_setspecific(buf_key, b) != 0) {
			free(b);
			return SIZE_MAX;
		}
	}
	if (b->cap > THREAD_BUF_KEEP) /* a huge message before: not kept */
		dd_pb_buf_free(b);
	return dd_pb_pack(b, m, out);
}

void dd_pb_buf_free(dd_pb_buf *b)
{
	free(b->base);
	b->base = NULL;
	b->cap = 0;
}

int dd_pb_pack_malloc(const ProtobufCMessage *m, uint8_t **out, size_t *len)
{
	dd_pb_buf b = { NULL, 0 };
	const uint8_t *bytes;
	size_t n = dd_pb_pack(&b, m, &bytes);
	if (n == SIZE_MAX) {
		dd_pb_buf_free(&b);
		return -1;
	}
	if (n > 0 && bytes != b.base) /* the bytes to the front of the buffer */
		memmove(b.base, bytes, n);
	if (b.base == NULL && (b.base = malloc(1)) == NULL) /* an empty message */
		return -1;
	*out = b.base;
	*len = n;
	return 0;
}
