/* dealdesk quote: the credit tier table finance keeps (CustomerAdmin/
 * PutCreditTiers), read once per change of its meta counter, and the tier
 * of a credit profile: by score range, else by the profile's tier name,
 * else the default row. Without any stored row, the built-in table below
 * applies (the README's "Credit tiers"). */
#include "quoter.h"

#include <stdlib.h>
#include <string.h>

#define BUILTIN(n, lo, hi, ap, sh, de, by, def)                                         \
	{ .base = PROTOBUF_C_MESSAGE_INIT(&dealdesk__v1__credit_tier__descriptor),             \
	  .name = (char *)n, .min_score = lo, .max_score = hi, .currency = (char *)"",         \
	  .shorter_terms_days = 15, .approve_bps = ap, .shorter_bps = sh, .deposit_bps = de,   \
	  .beyond = (char *)by, .review_overdue_days = 60, .decline_overdue_days = 90,         \
	  .is_default = def, .description = (char *)"built-in" }

static const Dealdesk__V1__CreditTier builtin[] = {
	BUILTIN("A", 80, 100, 10000, 11000, 13000, "REVIEW", 0),
	BUILTIN("B", 60, 79, 9000, 10000, 12000, "REVIEW", 0),
	BUILTIN("C", 30, 59, 8000, 9000, 10000, "PREPAY", 1),
	BUILTIN("D", 1, 29, 0, 0, 8000, "PREPAY", 0),
};

/* higher score ranges first, then by name: the first match wins */
static int tier_cmp(const void *a, const void *b)
{
	const Dealdesk__V1__CreditTier *x = *(const Dealdesk__V1__CreditTier *const *)a;
	const Dealdesk__V1__CreditTier *y = *(const Dealdesk__V1__CreditTier *const *)b;
	if (x->min_score != y->min_score)
		return x->min_score > y->min_score ? -1 : 1;
	return strcmp(x->name, y->name);
}

typedef struct tier_collect {
	dd_arena *arena;
	const Dealdesk__V1__CreditTier **items;
	size_t n, cap;
} tier_collect;

static int collect_tier(void *ud, dd_val key, dd_val val)
{
	tier_collect *c = ud;
	(void)key;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		const Dealdesk__V1__CreditTier **n = realloc(c->items, cap * sizeof(*n));
		if (n == NULL)
			return DD_ENOMEM;
		c->items = n;
		c->cap = cap;
	}
	const Dealdesk__V1__CreditTier *t = (const void *)protobuf_c_message_unpack(
		&dealdesk__v1__credit_tier__descriptor, &c->arena->pb, val.len, val.data);
	if (t == NULL)
		return DD_ESTORE;
	c->items[c->n++] = t;
	return 0;
}

void quote_tiers_free(dd_quoter *q)
{
	free(q->tiers);
	q->tiers = NULL;
	q->ntiers = 0;
	dd_arena_free(&q->tier_arena);
	q->tiers_loaded = 0;
}

int quote_refresh_tiers(dd_quoter *q, dd_error *err)
{
	uint64_t version = dd_rtxn_meta_u64(q->txn, DD_META_CREDIT_TIERS_VERSION);
	if (q->tiers_loaded && version == q->tiers_version)
		return DD_OK;
	quote_tiers_free(q);
	dd_arena_init(&q->tier_arena, 4096, 0);
	tier_collect c = { &q->tier_arena, NULL, 0, 0 };
	int rc = dd_rtxn_scan(q->txn, DD_T_CREDIT_TIERS, (dd_val){ NULL, 0 }, (dd_val){ NULL, 0 },
	                      collect_tier, &c);
	if (rc < 0) {
		free(c.items);
		dd_arena_free(&q->tier_arena);
		return dd_error_set(err, rc, "store: cannot read the credit tiers");
	}
	if (c.n > 1)
		qsort(c.items, c.n, sizeof(*c.items), tier_cmp);
	q->tiers = c.items;
	q->ntiers = c.n;
	q->tiers_version = version;
	q->tiers_loaded = 1;
	return DD_OK;
}

const Dealdesk__V1__CreditTier *quote_credit_tier(const dd_quoter *q,
                                                  const Dealdesk__V1__CreditProfile *c,
                                                  const char **from)
{
	static const Dealdesk__V1__CreditTier *const builtin_sorted[] = {
		&builtin[0], &builtin[1], &builtin[2], &builtin[3],
	};
	const Dealdesk__V1__CreditTier *const *t = q->ntiers ? q->tiers : builtin_sorted;
	size_t n = q->ntiers ? q->ntiers : sizeof(builtin_sorted) / sizeof(builtin_sorted[0]);
	*from = "";
	if (c == NULL)
		return NULL;
	if (c->score > 0)
		for (size_t i = 0; i < n; i++)
			if (t[i]->min_score > 0 && c->score >= t[i]->min_score &&
			    c->score <= t[i]->max_score) {
				*from = "score";
				return t[i];
			}
	if (c->tier && *c->tier)
		for (size_t i = 0; i < n; i++)
			if (strcmp(t[i]->name, c->tier) == 0) {
				*from = "profile";
				return t[i];
			}
	const Dealdesk__V1__CreditTier *def = NULL;
	for (size_t i = 0; i < n; i++)
		if (t[i]->is_default && (def == NULL || strcmp(t[i]->name, def->name) < 0))
			def = t[i];
	if (def)
		*from = "default";
	return def;
}
