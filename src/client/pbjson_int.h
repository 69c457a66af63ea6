/* dealdesk pbjson: what the pbjson files share. Private to src/client. */
#ifndef DEALDESK_PBJSON_INT_H
#define DEALDESK_PBJSON_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#define MEMBER(type, msg, off) (*(type *)((char *)(msg) + (off)))
#define CMEMBER(type, msg, off) (*(const type *)((const char *)(msg) + (off)))

/* Nesting of messages accepted in JSON input. */
#define PBJ_MAX_DEPTH 64

/* Bytes one value of a field of this type takes in a message or an array. */
size_t pbj_element_size(ProtobufCType type);

/* True when f is a map<K,V> field (see pbjson_common.c). */
bool pbj_is_map_field(const ProtobufCFieldDescriptor *f);

/* Parses an optional '-' and decimal digits (nothing else) into sign and
 * magnitude. 0 ok, -1 not a decimal integer, -2 beyond 64 bits. */
int pbj_parse_decimal(const char *s, size_t len, bool *neg, uint64_t *mag);

#endif
