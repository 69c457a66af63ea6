/* dealdesk quote, stage 1: validate the request. Every message names the
 * field and the reason; nothing is read from the store yet. */
#include "quoter.h"

#include <stdio.h>

static int check_indexed(const char *s, size_t max, int optional, const char *what,
                         size_t i, dd_error *err)
{
	char f[64];
	if (dd_check_string(s, max, optional, "", NULL) == DD_OK)
		return DD_OK;
	snprintf(f, sizeof(f), what, i);
	return dd_check_string(s, max, optional, f, err);
}

int quote_validate(const dd_quoter *q, const Dealdesk__V1__QuoteRequest *req,
                   dd_error *err)
{
	int rc;
	if ((rc = dd_check_string(req->customer_id, DD_MAX_ID, 0, "customer_id", err)))
		return rc;
	if (req->currency == NULL || *req->currency == '\0')
		return dd_error_set(err, DD_EINVAL, "currency: required");
	if (dd_currency_exponent(req->currency) < 0)
		return dd_error_set(err, DD_EINVAL,
		                    "currency: '%.16s' is not an ISO 4217 currency code",
		                    req->currency);
	if ((rc = dd_check_string(req->channel, DD_MAX_ID, 1, "channel", err)) ||
	    (rc = dd_check_string(req->region, DD_MAX_ID, 1, "region", err)) ||
	    (rc = dd_check_string(req->order_id, 128, 1, "order_id", err)))
		return rc;
	if (req->n_lines == 0)
		return dd_error_set(err, DD_EINVAL, "lines: at least one line is required");
	if (req->n_lines > q->lim.max_lines)
		return dd_error_set(err, DD_EINVAL, "lines: %zu lines; at most %u per order",
		                    req->n_lines, q->lim.max_lines);
	for (size_t i = 0; i < req->n_lines; i++) {
		const Dealdesk__V1__LineRequest *l = req->lines[i];
		if ((rc = check_indexed(l->sku, DD_MAX_ID, 0, "lines[%zu].sku", i, err)))
			return rc;
		if (l->quantity <= 0)
			return dd_error_set(err, DD_EINVAL, "lines[%zu].quantity: must be > 0, got %lld",
			                    i, (long long)l->quantity);
		if (l->quantity > q->lim.max_quantity)
			return dd_error_set(err, DD_EINVAL,
			                    "lines[%zu].quantity: %lld exceeds the limit of %lld",
			                    i, (long long)l->quantity, (long long)q->lim.max_quantity);
	}
	if (req->n_coupon_codes > q->lim.max_coupons)
		return dd_error_set(err, DD_EINVAL, "coupon_codes: at most %u codes",
		                    q->lim.max_coupons);
	for (size_t i = 0; i < req->n_coupon_codes; i++)
		if ((rc = check_indexed(req->coupon_codes[i], DD_MAX_ID, 0, "coupon_codes[%zu]",
		                        i, err)))
			return rc;
	if (req->n_attributes > q->lim.max_attributes)
		return dd_error_set(err, DD_EINVAL, "attributes: at most %u entries",
		                    q->lim.max_attributes);
	for (size_t i = 0; i < req->n_attributes; i++) {
		if (req->attributes[i] == NULL)
			return dd_error_set(err, DD_EINVAL, "attributes[%zu]: missing", i);
		if ((rc = check_indexed(req->attributes[i]->key, DD_MAX_ID, 0,
		                        "attributes[%zu].key", i, err)) ||
		    (rc = check_indexed(req->attributes[i]->value, 1024, 1,
		                        "attributes[%zu].value", i, err)))
			return rc;
	}
	if (req->request_time < 0)
		return dd_error_set(err, DD_EINVAL, "request_time: must be >= 0");
	if (req->delivery_at < 0)
		return dd_error_set(err, DD_EINVAL, "delivery_at: must be >= 0");
	return DD_OK;
}
