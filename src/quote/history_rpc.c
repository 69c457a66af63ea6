/* dealdesk ComplianceService/GetPriceHistory (include/dealdesk/compliance.h):
 * the price history of one SKU, currency and channel over a window, with
 * the three queries the price-claim checks use. */
#include "claims.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "dealdesk/compliance.h"

#define DAY 86400
#define MAX_WINDOW_DAYS 3660

static Dealdesk__V1__PricePoint **points(dd_arena *a, const dd_price_point *p, size_t n)
{
	Dealdesk__V1__PricePoint **v = dd_arena_calloc(a, n ? n : 1, sizeof(*v));
	if (v == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		Dealdesk__V1__PricePoint *e = dd_arena_alloc(a, sizeof(*e));
		if (e == NULL)
			return NULL;
		dealdesk__v1__price_point__init(e);
		e->from = p[i].from;
		e->to = p[i].to;
		e->price = p[i].price;
		e->source = (char *)dd_price_point_source(&p[i]);
		e->ref = (char *)(p[i].ref ? p[i].ref : "");
		v[i] = e;
	}
	return v;
}

/* The same text per point as the compliance results hash (claims.c). */
static char *series_hash(dd_arena *a, const dd_price_point *l, size_t nl, const dd_price_point *s,
                         size_t ns)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	char *hex = dd_arena_alloc(a, 65);
	if (md == NULL || hex == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(md);
		return NULL;
	}
	for (int part = 0; part < 2; part++) {
		const dd_price_point *p = part ? s : l;
		size_t n = part ? ns : nl;
		for (size_t i = 0; i < n; i++) {
			char line[160];
			int len = snprintf(line, sizeof(line), "%s %lld %lld %lld %s\n",
			                   dd_price_point_source(&p[i]), (long long)p[i].from,
			                   (long long)p[i].to, (long long)p[i].price,
			                   p[i].ref ? p[i].ref : "");
			EVP_DigestUpdate(md, line, len > 0 && (size_t)len < sizeof(line) ? (size_t)len
			                                                                  : sizeof(line) - 1);
		}
	}
	unsigned char h[32];
	unsigned hl = 0;
	int ok = EVP_DigestFinal_ex(md, h, &hl) == 1 && hl == 32;
	EVP_MD_CTX_free(md);
	if (!ok)
		return NULL;
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", h[i]);
	return hex;
}

static int check_request(const Dealdesk__V1__PriceHistoryRequest *req, int64_t now,
                         int64_t *from, int64_t *to, dd_error *err)
{
	int rc = dd_check_string(req->sku, DD_MAX_ID, 0, "sku", err);
	if (rc == DD_OK)
		rc = dd_check_string(req->channel, DD_MAX_ID, 1, "channel", err);
	if (rc == DD_OK)
		rc = dd_check_string(req->region, DD_MAX_ID, 1, "region", err);
	if (rc != DD_OK)
		return rc;
	const char *c = req->currency;
	if (c == NULL || strlen(c) != 3 || !isupper((unsigned char)c[0]) ||
	    !isupper((unsigned char)c[1]) || !isupper((unsigned char)c[2]))
		return dd_error_set(err, DD_EINVAL, "currency: must be an ISO 4217 code such as USD");
	if (req->to_time < 0 || req->from_time < 0)
		return dd_error_set(err, DD_EINVAL, "%s: must be >= 0",
		                    req->to_time < 0 ? "to_time" : "from_time");
	*to = req->to_time ? req->to_time : now;
	*from = req->from_time ? req->from_time : *to - 30 * DAY;
	if (*from < 0)
		*from = 0;
	if (*from >= *to)
		return dd_error_set(err, DD_EINVAL, "from_time: must be before to_time");
	if (*to - *from > (int64_t)MAX_WINDOW_DAYS * DAY)
		return dd_error_set(err, DD_EINVAL, "from_time: the window is at most %d days",
		                    MAX_WINDOW_DAYS);
	return DD_OK;
}

static int fill(dd_rtxn *txn, const Dealdesk__V1__PriceHistoryRequest *req, int64_t from,
                int64_t to, dd_arena *a, Dealdesk__V1__PriceHistoryResponse *r, dd_error *err)
{
	dd_price_scope s = { req->sku, req->currency, req->channel ? req->channel : "",
		             req->region ? req->region : "" };
	dd_price_point *l = NULL, *sales = NULL, *ap = NULL, last;
	size_t nl = 0, ns = 0, nap = 0;
	int found = 0;
	dd_promo_versions *pv = NULL;
	int rc = dd_history_list(txn, &s, from, to, NULL, a, &l, &nl);
	if (rc == DD_OK)
		rc = dd_history_load_promotions(txn, a, &pv);
	if (rc == DD_OK)
		rc = dd_history_applied(txn, &s, from, to, NULL, pv, NULL, a, &ap, &nap);
	if (rc == DD_OK)
		rc = dd_history_sales(txn, &s, from, to, a, &sales, &ns);
	if (rc == DD_OK)
		rc = dd_history_last_sale(txn, &s, to, a, &last, &found);
	if (rc != DD_OK)
		return dd_error_set(err, rc == DD_ENOMEM ? rc : DD_ESTORE,
		                    "store: cannot read the price history: %s", dd_strerror(rc));
	r->sku = (char *)req->sku;
	r->currency = (char *)req->currency;
	r->channel = (char *)s.channel;
	r->from_time = from;
	r->to_time = to;
	if ((r->list_prices = points(a, l, nl)) == NULL || (r->sales = points(a, sales, ns)) == NULL ||
	    (r->sha256 = series_hash(a, l, nl, sales, ns)) == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	r->n_list_prices = nl;
	r->n_sales = ns;
	if ((r->applied_prices = points(a, ap, nap)) == NULL ||
	    (r->applied_sha256 = series_hash(a, ap, nap, NULL, 0)) == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	r->n_applied_prices = nap;
	long lo = dd_history_lowest(l, nl);
	if (lo >= 0) {
		r->has_lowest_list = 1;
		r->lowest_list_price = l[lo].price;
		r->lowest_list_at = l[lo].from;
	}
	if ((lo = dd_history_lowest(ap, nap)) >= 0) {
		r->has_lowest_applied = 1;
		r->lowest_applied_price = ap[lo].price;
		r->lowest_applied_at = ap[lo].from;
	}
	if ((lo = dd_history_lowest(sales, ns)) >= 0) {
		r->has_lowest_sale = 1;
		r->lowest_sale_price = sales[lo].price;
		r->lowest_sale_at = sales[lo].from;
	}
	if (found) {
		r->has_last_sale = 1;
		r->last_sale_price = last.price;
		r->last_sale_at = last.from;
	}
	return DD_OK;
}

int dd_compliance_price_history(dd_quoter *q, const Dealdesk__V1__PriceHistoryRequest *req,
                                int64_t now, dd_arena *arena,
                                Dealdesk__V1__PriceHistoryResponse **out, dd_error *err)
{
	dd_error_clear(err);
	int64_t from = 0, to = 0;
	int rc = check_request(req, now, &from, &to, err);
	if (rc != DD_OK)
		return rc;
	Dealdesk__V1__PriceHistoryResponse *r = dd_arena_alloc(arena, sizeof(*r));
	if (r == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	dealdesk__v1__price_history_response__init(r);
	if (dd_rtxn_begin(q->txn) != DD_OK)
		return dd_error_set(err, DD_ESTORE, "store: cannot begin a read");
	rc = fill(q->txn, req, from, to, arena, r, err);
	dd_rtxn_end(q->txn);
	if (rc == DD_OK)
		*out = r;
	return rc;
}
