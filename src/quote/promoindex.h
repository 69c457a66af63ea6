/* dealdesk quote: the promotion index. Promotions are matched by SKU and
 * category, not scanned: a promotion targeted at SKUs or categories (or a
 * bundle, at its items' SKUs) is listed under each of them; one behind a
 * coupon under its code (and id, for Coupon records); the others are
 * "global" and always candidates. Built once per promotions version. */
#ifndef DD_QUOTE_PROMOINDEX_H
#define DD_QUOTE_PROMOINDEX_H

#include <stddef.h>
#include <stdint.h>

#include "dealdesk/v1/types.pb-c.h"

typedef struct promo_index promo_index;

/* promos must stay valid while the index lives only for the build; the
 * index copies the keys it needs. */
promo_index *promo_index_build(Dealdesk__V1__Promotion *const *promos, size_t n);
void promo_index_free(promo_index *ix);

/* Starts a new candidate set. */
void promo_index_begin(promo_index *ix);
/* Adds the promotions listed under a SKU / category / promotion id. */
void promo_index_add_sku(promo_index *ix, const char *sku);
void promo_index_add_category(promo_index *ix, const char *category);
void promo_index_add_id(promo_index *ix, const char *id);
/* Adds the promotions whose own coupon_code is code. */
void promo_index_add_code(promo_index *ix, const char *code);
/* The candidates so far (global ones included), ascending = priority order.
 * Valid until the next begin. */
const uint32_t *promo_index_result(promo_index *ix, size_t *n);
size_t promo_index_size(const promo_index *ix);

#endif
