/* dealdesk quote: a SKU's price entries and signals kept by the quoter
 * (prices.c). */
#ifndef DD_QUOTE_PRICES_H
#define DD_QUOTE_PRICES_H

#include "quoter.h"

typedef struct qp_prices {
	size_t n;                                  /* entries, in key order */
	const Dealdesk__V1__PriceEntry *const *v;
	const Dealdesk__V1__SkuSignals *signals;   /* NULL: the SKU has none */
} qp_prices;

/* The entries under key (sku \0 currency \0, klen bytes) and sku's signals
 * as of the run's data version, valid until the run ends: DD_OK and *out,
 * or 1 when the cache cannot serve them (a SKU with very many entries, a
 * slot this quote holds, out of memory, a record that does not read): then
 * the caller reads the store itself. */
int quote_prices(quote_run *r, const char *key, size_t klen, const char *sku, qp_prices *out);

#endif
