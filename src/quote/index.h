/* dealdesk quote: the promotion index. Promotions are matched by SKU and
 * category, not scanned: a promotion targeted at SKUs or categories (or a
 * bundle, at its items' SKUs) is listed under each of them; one behind a
 * coupon under its code (and id, for Coupon records); the others are
 * "global" and always candidates. Built once per promotions version. */
#ifndef DD_QUOTE_INDEX_H
#define DD_QUOTE_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "dealdesk/v1/types.pb-c.h"

typedef struct quote_index quote_index;

/* promos must stay valid while the index lives only for the build; the
 * index copies the keys it needs. */
quote_index *quote_index_build(Dealdesk__V1__Promotion *const *promos, size_t n);
void quote_index_free(quote_index *ix);

/* Starts a new candidate set. */
void quote_index_begin(quote_index *ix);
/* Adds the promotions listed under a SKU / category / promotion id. */
void quote_index_add_sku(quote_index *ix, const char *sku);
void quote_index_add_category(quote_index *ix, const char *category);
void quote_index_add_id(quote_index *ix, const char *id);
/* Adds the promotions whose own coupon_code is code. */
void quote_index_add_code(quote_index *ix, const char *code);
/* The candidates so far (global ones included), ascending = priority order.
 * Valid until the next begin. */
const uint32_t *quote_index_result(quote_index *ix, size_t *n);
size_t quote_index_size(const quote_index *ix);

#endif
