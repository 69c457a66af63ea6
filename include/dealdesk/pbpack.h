/* dealdesk pbpack: protobuf-c messages packed in one pass.
 *
 * protobuf_c_message_pack sizes the whole message first, then, for every
 * sub-message it writes, sizes that sub-message again for its length
 * prefix, and it interprets the field descriptors anew on each pass: about
 * 25,000 instructions for a quote's response of ~800 bytes. Here each
 * message type's descriptor is compiled once into a table of encoding
 * steps (tags pre-encoded), and the message is written back to front into
 * a growing buffer, so a sub-message's length is known when it is written
 * and nothing is sized twice.
 *
 * The bytes are protobuf-c's own, exactly: fields in descriptor order,
 * proto3 fields at their zero value left out, proto2 optional fields by
 * their has_ flag or default, oneofs by their case, packed repeated
 * scalars, unknown fields last and verbatim (tests/unit/test_pbpack.c
 * compares the two on random messages of every type, and on the scalar
 * types our .proto files do not use). Any thread.
 */
#ifndef DEALDESK_PBPACK_H
#define DEALDESK_PBPACK_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

/* A buffer that messages are packed into: reused from one message to the
 * next (one per thread or per caller), its bytes valid until the next pack
 * into it. */
typedef struct dd_pb_buf {
	uint8_t *base;
	size_t cap;
} dd_pb_buf;

void dd_pb_buf_free(dd_pb_buf *b);

/* Packs m into b; *out points at the bytes inside b, their count is
 * returned. SIZE_MAX when out of memory. */
size_t dd_pb_pack(dd_pb_buf *b, const ProtobufCMessage *m, const uint8_t **out);

/* Packs m into the calling thread's own buffer (kept for its next
 * message, freed when the thread ends; one that grew past 1 MiB is let go
 * at the thread's next pack): *out is valid until this thread packs again.
 * SIZE_MAX when out of memory. */
size_t dd_pb_pack_thread(const ProtobufCMessage *m, const uint8_t **out);

/* The same into a new malloc'd buffer (*out, free()). -1 when out of memory,
 * else 0. */
int dd_pb_pack_malloc(const ProtobufCMessage *m, uint8_t **out, size_t *len);

#endif
