/* dealdesk quote: unpacked store records, cached by their bytes.
 *
 * Unpacking a protobuf record costs more than the rest of reading it (a
 * price entry ~2,000 instructions against ~300 for the LMDB lookup), and a
 * quoter reads the same hot records over and over. The cache is keyed by
 * where LMDB handed the bytes out and checked against a copy of the bytes
 * themselves, so a hit is exactly the record the store holds now: no
 * invalidation to get wrong. Slots are direct-mapped and bounded; a slot
 * used by the running quote is never replaced under it (the record is then
 * unpacked into the run's arena instead). */
#include "quoter.h"

#include <stdlib.h>
#include <string.h>

#define RECORD_SLOTS 2048 /* power of two */

typedef struct qr_slot {
	const ProtobufCMessageDescriptor *desc;
	const void *where;   /* the LMDB address it came from */
	uint8_t *bytes;      /* a copy, to check a hit against */
	size_t len;
	ProtobufCMessage *msg;
	uint64_t used;       /* quoter generation of its last use */
} qr_slot;

struct qr_cache {
	qr_slot slots[RECORD_SLOTS];
};

static size_t slot_of(const void *where, size_t len, const ProtobufCMessageDescriptor *d)
{
	uint64_t h = (uint64_t)(uintptr_t)where ^ ((uint64_t)len << 40) ^ (uint64_t)(uintptr_t)d;
	h ^= h >> 29;
	h *= UINT64_C(0xbf58476d1ce4e5b9);
	h ^= h >> 32;
	return (size_t)(h & (RECORD_SLOTS - 1));
}

static void release(qr_slot *s)
{
	if (s->msg)
		protobuf_c_message_free_unpacked(s->msg, NULL);
	free(s->bytes);
	memset(s, 0, sizeof(*s));
}

const ProtobufCMessage *quote_record(quote_run *r, const ProtobufCMessageDescriptor *d,
                                     dd_val v)
{
	dd_quoter *q = r->q;
	if (q->records == NULL && (q->records = calloc(1, sizeof(*q->records))) == NULL)
		return protobuf_c_message_unpack(d, &r->arena->pb, v.len, v.data);
	qr_slot *s = &q->records->slots[slot_of(v.data, v.len, d)];
	if (s->desc == d && s->len == v.len && memcmp(s->bytes, v.data, v.len) == 0) {
		s->where = v.data;
		s->used = q->generation;
		return s->msg;
	}
	if (s->desc != NULL && s->used == q->generation)
		return protobuf_c_message_unpack(d, &r->arena->pb, v.len, v.data);
	release(s);
	ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, v.len, v.data);
	uint8_t *bytes = m ? malloc(v.len ? v.len : 1) : NULL;
	if (bytes == NULL) {
		if (m)
			protobuf_c_message_free_unpacked(m, NULL);
		return protobuf_c_message_unpack(d, &r->arena->pb, v.len, v.data);
	}
	memcpy(bytes, v.data, v.len);
	*s = (qr_slot){ d, v.data, bytes, v.len, m, q->generation };
	return m;
}

void quote_records_free(dd_quoter *q)
{
	if (q->records == NULL)
		return;
	for (size_t i = 0; i < RECORD_SLOTS; i++)
		release(&q->records->slots[i]);
	free(q->records);
	q->records = NULL;
}
