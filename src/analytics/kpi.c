/* dealdesk analytics: sales KPIs per period, channel and region
 * (include/dealdesk/analytics.h). Sums in int64 minor units of one
 * currency, checked; the ratios from them (dd_kpi_ratios) with the
 * formulas of shared/DOMAIN.md section 3. */
#include "analytics_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dealdesk/money.h"

#define MAX_PERIODS 1000

void dd_kpi_ratios(Dealdesk__V1__SalesKpis *k)
{
	k->days = (double)(k->period_end - k->period_start) / AN_DAY;
	k->margin = k->revenue - k->cost;
	k->discount_share = k->subtotal ? 100.0 * (double)k->discount / (double)k->subtotal : 0;
	double base = (double)k->opening_ar + (double)k->credit_sales;
	k->collection_rate = base > 0 ? 100.0 * (double)k->collected / base : 0;
	if (k->credit_sales > 0) {
		k->dso = (double)k->closing_ar / (double)k->credit_sales * k->days;
		k->best_dso = (double)k->closing_current_ar / (double)k->credit_sales * k->days;
	} else {
		k->dso = k->best_dso = 0;
	}
	k->avg_days_delinquent = k->dso - k->best_dso;
	double denom = base - (double)k->closing_current_ar;
	k->cei = denom != 0 ? 100.0 * (base - (double)k->closing_ar) / denom : 0;
	k->repurchase_rate =
		k->customers ? 100.0 * (double)k->repeat_customers / (double)k->customers : 0;
	k->promotion_roi = k->promo_discount ? (double)k->promo_margin / (double)k->promo_discount : 0;
}

/* the start of the next period after t */
static int64_t next_start(const char *period, int64_t t)
{
	if (strcmp(period, "day") == 0)
		return t + AN_DAY;
	if (strcmp(period, "week") == 0)
		return t + 7 * AN_DAY;
	if (strcmp(period, "month") == 0) {
		time_t tt = (time_t)t;
		struct tm tm;
		gmtime_r(&tt, &tm);
		tm.tm_mday = 1;
		tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
		tm.tm_mon++;
		return (int64_t)timegm(&tm);
	}
	return INT64_MAX;
}

typedef struct rows {
	dd_arena *a;
	Dealdesk__V1__SalesKpis **v;
	size_t n, cap;
	size_t first; /* of the current period */
} rows;

static Dealdesk__V1__SalesKpis *row_for(rows *r, const Dealdesk__V1__GetSalesKpisRequest *req,
                                        int64_t s, int64_t e, const char *ch, const char *rg)
{
	const char *c = req->by_channel ? ch : "*", *g = req->by_region ? rg : "*";
	for (size_t i = r->first; i < r->n; i++)
		if (strcmp(r->v[i]->channel, c) == 0 && strcmp(r->v[i]->region, g) == 0)
			return r->v[i];
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		Dealdesk__V1__SalesKpis **nv = dd_arena_alloc(r->a, cap * sizeof(*nv));
		if (nv == NULL)
			return NULL;
		if (r->n)
			memcpy(nv, r->v, r->n * sizeof(*nv));
		r->v = nv;
		r->cap = cap;
	}
	Dealdesk__V1__SalesKpis *k = dd_arena_alloc(r->a, sizeof(*k));
	if (k == NULL)
		return NULL;
	dealdesk__v1__sales_kpis__init(k);
	k->period_start = s;
	k->period_end = e;
	k->channel = (char *)c;
	k->region = (char *)g;
	r->v[r->n++] = k;
	return k;
}

typedef struct cust_time {
	const char *id;
	int64_t at;
} cust_time;

typedef struct row_customer {
	const char *id;
	Dealdesk__V1__SalesKpis *row;
} row_customer;

static int cmp_rc(const void *a, const void *b)
{
	const row_customer *x = a, *y = b;
	uintptr_t p = (uintptr_t)x->row, q = (uintptr_t)y->row;
	return p != q ? (p < q ? -1 : 1) : strcmp(x->id, y->id);
}

static int cmp_ct(const void *a, const void *b)
{
	const cust_time *x = a, *y = b;
	int c = strcmp(x->id, y->id);
	return c ? c : (x->at < y->at ? -1 : x->at > y->at);
}

/* counted orders of a customer created before t */
static size_t orders_before(const cust_time *all, size_t n, const char *id, int64_t t)
{
	size_t lo = 0, hi = n;
	while (lo < hi) { /* first entry of id */
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(all[mid].id, id) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	size_t c = 0;
	for (size_t i = lo; i < n && strcmp(all[i].id, id) == 0 && all[i].at < t; i++)
		c++;
	return c;
}

#define ADD(field, v)                                                              \
	do {                                                                       \
		if (dd_money_add(k->field, (v), &k->field) != DD_OK)               \
			return dd_error_set(err, DD_EOVERFLOW, #field " overflows int64"); \
	} while (0)

static int one_period(const an_facts *f, const cust_time *hist, size_t nhist,
                      const Dealdesk__V1__GetSalesKpisRequest *req, int64_t s, int64_t e,
                      rows *r, row_customer *seen, dd_arena *a, dd_error *err)
{
	r->first = r->n;
	if (!req->by_channel && !req->by_region && row_for(r, req, s, e, "", "") == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	/* orders in the period: (row, customer) pairs for the distinct counts */
	size_t nseen = 0;
	for (size_t i = 0; i < f->norders; i++) {
		const an_order *o = &f->orders[i];
		if (!an_order_counts(o) || o->created_at < s || o->created_at >= e ||
		    strcmp(o->currency, req->currency) != 0)
			continue;
		Dealdesk__V1__SalesKpis *k = row_for(r, req, s, e, o->channel, o->region);
		if (k == NULL)
			return dd_error_set(err, DD_ENOMEM, "out of memory");
		k->orders++;
		ADD(subtotal, o->subtotal);
		ADD(discount, o->discount);
		ADD(revenue, o->total);
		ADD(cost, o->cost);
		if (o->discount > 0) {
			ADD(promo_discount, o->discount);
			ADD(promo_margin, o->total - o->cost);
		}
		seen[nseen].id = o->customer_id;
		seen[nseen++].row = k;
	}
	/* distinct customers per row, and those with two orders or more by e */
	qsort(seen, nseen, sizeof(*seen), cmp_rc);
	for (size_t i = 0; i < nseen; i++) {
		if (i > 0 && seen[i - 1].row == seen[i].row && strcmp(seen[i - 1].id, seen[i].id) == 0)
			continue;
		Dealdesk__V1__SalesKpis *k = seen[i].row;
		k->customers++;
		k->repeat_customers += orders_before(hist, nhist, seen[i].id, e) >= 2;
	}
	/* receivables */
	for (size_t i = 0; i < f->ninvoices; i++) {
		const an_invoice *inv = &f->invoices[i];
		if (strcmp(inv->currency, req->currency) != 0)
			continue;
		int64_t open_s = an_invoice_open_at(inv, s), open_e = an_invoice_open_at(inv, e);
		int64_t sales = inv->issued_at >= s && inv->issued_at < e ? inv->amount : 0;
		int64_t paid = inv->issued_at >= s && inv->issued_at < e ? inv->paid_before : 0;
		for (size_t p = 0; p < inv->npayments; p++)
			if (inv->payments[p].at >= s && inv->payments[p].at < e)
				paid += inv->payments[p].amount;
		if (open_s == 0 && open_e == 0 && sales == 0 && paid == 0)
			continue;
		const an_order *o = *inv->order_id ? an_find_order(f, inv->order_id) : NULL;
		Dealdesk__V1__SalesKpis *k =
			row_for(r, req, s, e, o ? o->channel : "", o ? o->region : "");
		if (k == NULL)
			return dd_error_set(err, DD_ENOMEM, "out of memory");
		ADD(opening_ar, open_s);
		ADD(closing_ar, open_e);
		if (inv->due_at >= e)
			ADD(closing_current_ar, open_e);
		ADD(credit_sales, sales);
		ADD(collected, paid);
	}
	for (size_t i = r->first; i < r->n; i++) {
		Dealdesk__V1__SalesKpis *k = r->v[i];
		k->channel = dd_arena_strdup(a, k->channel);
		k->region = dd_arena_strdup(a, k->region);
		if (k->channel == NULL || k->region == NULL)
			return dd_error_set(err, DD_ENOMEM, "out of memory");
		dd_kpi_ratios(k);
	}
	return DD_OK;
}

static int kpis_from(const an_facts *fp, const Dealdesk__V1__GetSalesKpisRequest *req,
                     const char *period, int64_t from, int64_t to, dd_arena *work,
                     dd_arena *arena, Dealdesk__V1__GetSalesKpisResponse **out, dd_error *err);

int dd_analytics_kpis(dd_store *store, const Dealdesk__V1__GetSalesKpisRequest *req, int64_t now,
                      dd_arena *arena, Dealdesk__V1__GetSalesKpisResponse **out, dd_error *err)
{
	dd_error_clear(err);
	if (!*req->currency)
		return dd_error_set(err, DD_EINVAL, "currency: required");
	if (dd_currency_exponent(req->currency) < 0)
		return dd_error_set(err, DD_EINVAL, "currency: '%s' is not an ISO 4217 currency code",
		                    req->currency);
	const char *period = req->period;
	if (*period && strcmp(period, "day") && strcmp(period, "week") && strcmp(period, "month"))
		return dd_error_set(err, DD_EINVAL,
		                    "period: '%s' is not day, week, month or empty", period);
	if (req->from_time < 0 || req->to_time < 0)
		return dd_error_set(err, DD_EINVAL, "from_time: times must be >= 0");
	int64_t to = req->to_time ? req->to_time : now;
	int64_t from = req->from_time ? req->from_time : to - 30 * AN_DAY;
	if (from >= to)
		return dd_error_set(err, DD_EINVAL, "from_time: must be before to_time");
	size_t nper = 0;
	for (int64_t t = from; t < to && nper <= MAX_PERIODS; t = next_start(period, t))
		nper++;
	if (nper > MAX_PERIODS)
		return dd_error_set(err, DD_EINVAL, "period: more than %d periods; choose a longer one",
		                    MAX_PERIODS);
	dd_rtxn *t;
	int rc = an_begin(store, &t, err);
	if (rc != DD_OK)
		return rc;
	an_src s = { t, NULL };
	an_facts f;
	/* the facts live in a work arena of their own (no request's limit),
	 * the response in the call's */
	dd_arena work;
	dd_arena_init(&work, 1u << 20, 0);
	rc = an_load(&s, &work, 1, &f, err);
	an_end(t);
	if (rc == DD_OK)
		rc = kpis_from(&f, req, period, from, to, &work, arena, out, err);
	dd_arena_free(&work);
	return rc;
}

static int kpis_from(const an_facts *fp, const Dealdesk__V1__GetSalesKpisRequest *req,
                     const char *period, int64_t from, int64_t to, dd_arena *work,
                     dd_arena *arena, Dealdesk__V1__GetSalesKpisResponse **out, dd_error *err)
{
	const an_facts f = *fp;
	int rc;
	cust_time *hist = dd_arena_calloc(work, f.norders + 1, sizeof(*hist));
	if (hist == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	size_t nhist = 0;
	for (size_t i = 0; i < f.norders; i++)
		if (an_order_counts(&f.orders[i])) {
			hist[nhist].id = f.orders[i].customer_id;
			hist[nhist++].at = f.orders[i].created_at;
		}
	qsort(hist, nhist, sizeof(*hist), cmp_ct);
	/* (row, customer) of a period's orders, reused period after period */
	row_customer *seen = dd_arena_calloc(work, f.norders + 1, sizeof(*seen));
	if (seen == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	rows r = { .a = arena };
	for (int64_t ps = from; ps < to; ps = next_start(period, ps)) {
		int64_t pe = next_start(period, ps);
		if (pe > to)
			pe = to;
		if ((rc = one_period(&f, hist, nhist, req, ps, pe, &r, seen, arena, err)) != DD_OK)
			return rc;
	}
	Dealdesk__V1__GetSalesKpisResponse *resp = dd_arena_alloc(arena, sizeof(*resp));
	if (resp == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	dealdesk__v1__get_sales_kpis_response__init(resp);
	resp->currency = req->currency;
	resp->rows = r.v;
	resp->n_rows = r.n;
	*out = resp;
	return DD_OK;
}
