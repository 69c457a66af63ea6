/* dealdesk arena: bump allocation, released per request. */
#include "dealdesk/arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct dd_arena_chunk {
	dd_arena_chunk *next;
	size_t size; /* usable bytes in data */
	size_t off;
	_Alignas(16) unsigned char data[];
};

static void *pb_alloc(void *ud, size_t size)
{
	return dd_arena_alloc(ud, size);
}

static void pb_free(void *ud, void *p)
{
	(void)ud;
	(void)p; /* released with the arena */
}

void dd_arena_init(dd_arena *a, size_t chunk_size, size_t limit)
{
	memset(a, 0, sizeof(*a));
	a->chunk_size = chunk_size ? chunk_size : 16384;
	a->limit = limit;
	a->pb.alloc = pb_alloc;
	a->pb.free = pb_free;
	a->pb.allocator_data = a;
}

static dd_arena_chunk *chunk_new(dd_arena *a, size_t need)
{
	size_t size = need > a->chunk_size ? need : a->chunk_size;
	if (a->limit && a->used + size > a->limit)
		return NULL;
	dd_arena_chunk *c = malloc(sizeof(*c) + size);
	if (c == NULL)
		return NULL;
	c->size = size;
	c->off = 0;
	a->used += size;
	return c;
}

void *dd_arena_alloc(dd_arena *a, size_t size)
{
	size = (size + 15) & ~(size_t)15;
	if (size == 0)
		size = 16;
	dd_arena_chunk *c = a->head;
	if (c == NULL || c->size - c->off < size) {
		dd_arena_chunk *n = chunk_new(a, size);
		if (n == NULL)
			return NULL;
		if (c != NULL && size > a->chunk_size) {
			/* keep filling the current chunk after an outsize one */
			n->next = c->next;
			c->next = n;
			n->off = size;
			return n->data;
		}
		n->next = c;
		a->head = c = n;
	}
	void *p = c->data + c->off;
	c->off += size;
	return p;
}

void *dd_arena_calloc(dd_arena *a, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		return NULL;
	void *p = dd_arena_alloc(a, n * size);
	if (p != NULL)
		memset(p, 0, n * size);
	return p;
}

char *dd_arena_strndup(dd_arena *a, const char *s, size_t n)
{
	char *p = dd_arena_alloc(a, n + 1);
	if (p != NULL) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

char *dd_arena_strdup(dd_arena *a, const char *s)
{
	return dd_arena_strndup(a, s, strlen(s));
}

char *dd_arena_printf(dd_arena *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	char *p = dd_arena_alloc(a, (size_t)n + 1);
	if (p == NULL)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

void dd_arena_reset(dd_arena *a)
{
	dd_arena_chunk *c = a->head;
	if (c == NULL)
		return;
	/* keep the last (first allocated, normal-sized) chunk */
	while (c->next != NULL) {
		dd_arena_chunk *next = c->next;
		a->used -= c->size;
		free(c);
		c = next;
	}
	c->off = 0;
	a->head = c;
}

void dd_arena_take(dd_arena *dst, dd_arena *src)
{
	if (dst == src)
		return;
	dd_arena_free(dst);
	dd_arena_reset(src);
	dst->head = src->head;
	dst->used = src->used;
	src->head = NULL;
	src->used = 0;
}

void dd_arena_free(dd_arena *a)
{
	dd_arena_chunk *c = a->head;
	while (c != NULL) {
		dd_arena_chunk *next = c->next;
		free(c);
		c = next;
	}
	a->head = NULL;
	a->used = 0;
}
