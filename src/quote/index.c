/* dealdesk quote: the promotion index (see index.h). An open-addressing
 * hash table from "s:<sku>", "c:<category>" and "i:<id>" to lists of
 * promotion positions, plus the list of global promotions. */
#include "index.h"
#include "quoter.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

typedef struct posting {
	char *key;       /* NULL = empty slot */
	uint32_t *items;
	uint32_t n, cap;
} posting;

struct quote_index {
	posting *slots;
	size_t nslots;   /* power of two */
	uint32_t *global;
	size_t nglobal;
	size_t npromos;
	uint32_t *mark;  /* generation a promotion was last added in */
	uint32_t generation;
	uint32_t *out;   /* the candidate set */
	size_t nout;
	int sorted;
};

static posting *find(quote_index *ix, const char *key, int create)
{
	size_t mask = ix->nslots - 1;
	for (size_t i = quote_fnv1a64(key, strlen(key)) & mask;; i = (i + 1) & mask) {
		posting *p = &ix->slots[i];
		if (p->key == NULL) {
			if (!create)
				return NULL;
			p->key = strdup(key);
			return p->key ? p : NULL;
		}
		if (strcmp(p->key, key) == 0)
			return p;
	}
}

static int push(uint32_t **items, uint32_t *n, uint32_t *cap, uint32_t v)
{
	if (*n > 0 && (*items)[*n - 1] == v)
		return 0; /* listed twice under one key */
	if (*n == *cap) {
		uint32_t c = *cap ? *cap * 2 : 4;
		uint32_t *p = realloc(*items, c * sizeof(*p));
		if (p == NULL)
			return -1;
		*items = p;
		*cap = c;
	}
	(*items)[(*n)++] = v;
	return 0;
}

/* key = prefix (2 chars) + name, cut at 64 bytes of name (ids are <= 64) */
static void make_key(char key[80], const char *prefix, const char *name)
{
	size_t n = strlen(name);
	if (n > 64)
		n = 64;
	key[0] = prefix[0];
	key[1] = prefix[1];
	memcpy(key + 2, name, n);
	key[2 + n] = '\0';
}

static int post(quote_index *ix, const char *prefix, const char *name, uint32_t v)
{
	char key[80];
	make_key(key, prefix, name);
	posting *p = find(ix, key, 1);
	return p ? push(&p->items, &p->n, &p->cap, v) : -1;
}

quote_index *quote_index_build(Dealdesk__V1__Promotion *const *promos, size_t n)
{
	quote_index *ix = calloc(1, sizeof(*ix));
	if (ix == NULL)
		return NULL;
	size_t keys = 16;
	for (size_t i = 0; i < n; i++)
		keys += 1 + promos[i]->n_skus + promos[i]->n_categories + promos[i]->n_bundle_items;
	ix->nslots = 32;
	while (ix->nslots < keys * 2)
		ix->nslots *= 2;
	ix->slots = calloc(ix->nslots, sizeof(posting));
	ix->mark = calloc(n ? n : 1, sizeof(uint32_t));
	ix->out = calloc(n ? n : 1, sizeof(uint32_t));
	ix->global = calloc(n ? n : 1, sizeof(uint32_t));
	ix->npromos = n;
	if (!ix->slots || !ix->mark || !ix->out || !ix->global)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		const Dealdesk__V1__Promotion *p = promos[i];
		uint32_t v = (uint32_t)i;
		int targeted = 0, rc = post(ix, "i:", p->id, v);
		if (rc == 0 && p->coupon_code && *p->coupon_code)
			rc = post(ix, "k:", p->coupon_code, v);
		for (size_t k = 0; rc == 0 && k < p->n_skus; k++, targeted = 1)
			rc = post(ix, "s:", p->skus[k], v);
		for (size_t k = 0; rc == 0 && k < p->n_categories; k++, targeted = 1)
			rc = post(ix, "c:", p->categories[k], v);
		if (p->kind == DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_BUNDLE)
			for (size_t k = 0; rc == 0 && k < p->n_bundle_items; k++, targeted = 1)
				rc = post(ix, "s:", p->bundle_items[k]->sku, v);
		if (rc != 0)
			goto fail;
		/* a promotion behind a coupon is reached through its code (or
		 * its Coupon records' promotion id), never for every quote */
		int behind_coupon = p->requires_coupon || (p->coupon_code && *p->coupon_code);
		if (!targeted && !behind_coupon)
			ix->global[ix->nglobal++] = v;
	}
	return ix;
fail:
	quote_index_free(ix);
	return NULL;
}

void quote_index_free(quote_index *ix)
{
	if (ix == NULL)
		return;
	for (size_t i = 0; ix->slots && i < ix->nslots; i++) {
		free(ix->slots[i].key);
		free(ix->slots[i].items);
	}
	free(ix->slots);
	free(ix->mark);
	free(ix->out);
	free(ix->global);
	free(ix);
}

static void add(quote_index *ix, uint32_t v)
{
	if (ix->mark[v] == ix->generation)
		return;
	ix->mark[v] = ix->generation;
	ix->out[ix->nout++] = v;
	ix->sorted = 0;
}

void quote_index_begin(quote_index *ix)
{
	if (++ix->generation == 0) { /* wrapped: forget every old mark */
		memset(ix->mark, 0, ix->npromos * sizeof(uint32_t));
		ix->generation = 1;
	}
	ix->nout = 0;
	for (size_t i = 0; i < ix->nglobal; i++)
		add(ix, ix->global[i]);
}

static void add_key(quote_index *ix, const char *prefix, const char *name)
{
	char key[80];
	make_key(key, prefix, name);
	posting *p = find(ix, key, 0);
	for (uint32_t i = 0; p && i < p->n; i++)
		add(ix, p->items[i]);
}

void quote_index_add_sku(quote_index *ix, const char *sku)
{
	add_key(ix, "s:", sku);
}

void quote_index_add_category(quote_index *ix, const char *category)
{
	if (category && *category)
		add_key(ix, "c:", category);
}

void quote_index_add_id(quote_index *ix, const char *id)
{
	add_key(ix, "i:", id);
}

void quote_index_add_code(quote_index *ix, const char *code)
{
	add_key(ix, "k:", code);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

const uint32_t *quote_index_result(quote_index *ix, size_t *n)
{
	if (!ix->sorted) {
		qsort(ix->out, ix->nout, sizeof(uint32_t), cmp_u32);
		ix->sorted = 1;
	}
	*n = ix->nout;
	return ix->out;
}

size_t quote_index_size(const quote_index *ix)
{
	return ix->npromos;
}
