/* dealdesk arena: a bump allocator for one request.
 *
 * Everything a request builds (unpacked records, the response message) is
 * allocated here and released at once by dd_arena_reset, so a request path
 * has no per-object free and cannot leak. Memory is 16-byte aligned.
 */
#ifndef DEALDESK_ARENA_H
#define DEALDESK_ARENA_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

typedef struct dd_arena_chunk dd_arena_chunk;

typedef struct dd_arena {
	dd_arena_chunk *head;  /* chunk being filled; older chunks follow */
	size_t chunk_size;     /* size of a normal chunk */
	size_t limit;          /* most bytes this arena may hold (0 = none) */
	size_t used;           /* bytes in chunks now */
	ProtobufCAllocator pb; /* allocator for protobuf_c_message_unpack */
} dd_arena;

void dd_arena_init(dd_arena *a, size_t chunk_size, size_t limit);
/* NULL when out of memory or past the limit. */
void *dd_arena_alloc(dd_arena *a, size_t size);
/* Zeroed array of n elements; NULL on overflow or no memory. */
void *dd_arena_calloc(dd_arena *a, size_t n, size_t size);
char *dd_arena_strdup(dd_arena *a, const char *s);
char *dd_arena_strndup(dd_arena *a, const char *s, size_t n);
char *dd_arena_printf(dd_arena *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Frees all but the first chunk; every pointer handed out is invalid. */
void dd_arena_reset(dd_arena *a);
/* Resets src and moves the chunk it keeps into dst (whose own memory is
 * freed first), leaving src empty: a worker hands one chunk from request
 * to request instead of allocating it each time. dst keeps its chunk size
 * and limit. */
void dd_arena_take(dd_arena *dst, dd_arena *src);
void dd_arena_free(dd_arena *a);

#endif
