/* dealdesk analytics: experiment reports (include/dealdesk/analytics.h).
 * Per promotion experiment and arm: customers assigned (quoted or
 * committed), quotes, commits, conversion, revenue, discount cost, margin,
 * ROI against control, the z-test and interval, the sample-ratio check,
 * the planned sample size and the arm's receivables. */
#include "analytics_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dealdesk/money.h"

typedef struct pair {
	const char *customer;
	size_t arm;
} pair;

static int cmp_pair(const void *a, const void *b)
{
	const pair *x = a, *y = b;
	if (x->arm != y->arm)
		return x->arm < y->arm ? -1 : 1;
	return strcmp(x->customer, y->customer);
}

typedef struct pairs {
	dd_arena *a;
	pair *v;
	size_t n, cap;
} pairs;

static int pairs_add(pairs *p, const char *customer, size_t arm)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 256;
		pair *nv = dd_arena_alloc(p->a, cap * sizeof(*nv));
		if (nv == NULL)
			return DD_ENOMEM;
		if (p->n)
			memcpy(nv, p->v, p->n * sizeof(*nv));
		p->v = nv;
		p->cap = cap;
	}
	p->v[p->n].customer = customer;
	p->v[p->n++].arm = arm;
	return DD_OK;
}

/* distinct customers per arm into counts[] */
static void pairs_count(pairs *p, uint64_t *counts)
{
	qsort(p->v, p->n, sizeof(*p->v), cmp_pair);
	for (size_t i = 0; i < p->n; i++)
		if (i == 0 || p->v[i].arm != p->v[i - 1].arm ||
		    strcmp(p->v[i].customer, p->v[i - 1].customer) != 0)
			counts[p->v[i].arm]++;
}

typedef struct promo_list {
	dd_arena *a;
	const Dealdesk__V1__Promotion **v;
	size_t n, cap;
	const char *filter;
	int rc;
} promo_list;

static int one_promo(void *ud, dd_val key, dd_val val)
{
	promo_list *l = ud;
	(void)key;
	Dealdesk__V1__Promotion *p = (void *)protobuf_c_message_unpack(
		&dealdesk__v1__promotion__descriptor, &l->a->pb, val.len, val.data);
	if (p == NULL)
		return l->rc = DD_ESTORE;
	if (!*p->experiment_id || p->n_arms == 0 ||
	    (*l->filter && strcmp(l->filter, p->experiment_id) != 0))
		return 0;
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i]->experiment_id, p->experiment_id) == 0)
			return 0; /* the first promotion (by id) of an experiment reports it */
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		const Dealdesk__V1__Promotion **nv = dd_arena_alloc(l->a, cap * sizeof(*nv));
		if (nv == NULL)
			return l->rc = DD_ENOMEM;
		if (l->n)
			memcpy(nv, l->v, l->n * sizeof(*nv));
		l->v = nv;
		l->cap = cap;
	}
	l->v[l->n++] = p;
	return 0;
}

static long find_arm(const Dealdesk__V1__Promotion *p, const char *name, size_t len)
{
	for (size_t i = 0; i < p->n_arms; i++)
		if (strlen(p->arms[i]->name) == len && memcmp(p->arms[i]->name, name, len) == 0)
			return (long)i;
	return -1;
}

typedef struct stored_ctx {
	dd_arena *a;
	const Dealdesk__V1__Promotion *p;
	size_t plen; /* prefix length */
	uint64_t *quotes;
	pairs *assigned;
	int rc;
} stored_ctx;

static int one_quote_count(void *ud, dd_val key, dd_val val)
{
	stored_ctx *c = ud;
	long arm = find_arm(c->p, (const char *)key.data + c->plen, key.len - c->plen);
	if (arm < 0)
		return 0;
	Dealdesk__V1__Usage *u = (void *)protobuf_c_message_unpack(&dealdesk__v1__usage__descriptor,
	                                                           &c->a->pb, val.len, val.data);
	if (u)
		c->quotes[arm] += (uint64_t)(u->uses > 0 ? u->uses : 0);
	return 0;
}

static int one_assignment(void *ud, dd_val key, dd_val val)
{
	stored_ctx *c = ud;
	long arm = find_arm(c->p, val.data, val.len);
	if (arm < 0)
		return 0;
	char *cust = dd_arena_strndup(c->a, (const char *)key.data + c->plen, key.len - c->plen);
	if (cust == NULL || pairs_add(c->assigned, cust, (size_t)arm) != DD_OK)
		return c->rc = DD_ENOMEM;
	return 0;
}

static const an_invoice *find_invoice(const an_facts *f, const char *id)
{
	size_t lo = 0, hi = f->ninvoices;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(f->invoices[mid].invoice_id, id);
		if (c == 0)
			return &f->invoices[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int warn(dd_arena *a, Dealdesk__V1__ExperimentReport *r, const char *msg)
{
	char *s = dd_arena_strdup(a, msg);
	if (s == NULL)
		return DD_ENOMEM;
	r->warnings[r->n_warnings++] = s;
	return DD_OK;
}

#define OOM() dd_error_set(err, DD_ENOMEM, "out of memory")

static int one_report(an_src *s, const an_facts *f, const Dealdesk__V1__Promotion *p,
                      const dd_tally_event *ev, size_t nev, uint64_t stored_seq,
                      const Dealdesk__V1__GetExperimentReportRequest *req, int64_t at,
                      dd_arena *a, Dealdesk__V1__ExperimentReport **out, dd_error *err)
{
	size_t k = p->n_arms;
	Dealdesk__V1__ExperimentReport *r = dd_arena_alloc(a, sizeof(*r));
	Dealdesk__V1__ArmReport *arms = dd_arena_calloc(a, k, sizeof(*arms));
	uint64_t *quotes = dd_arena_calloc(a, k, sizeof(uint64_t));
	uint64_t *assigned = dd_arena_calloc(a, k, sizeof(uint64_t));
	uint64_t *converted = dd_arena_calloc(a, k, sizeof(uint64_t));
	uint32_t *weights = dd_arena_calloc(a, k, sizeof(uint32_t));
	double *expected = dd_arena_calloc(a, k, sizeof(double));
	if (!r || !arms || !quotes || !assigned || !converted || !weights || !expected)
		return OOM();
	dealdesk__v1__experiment_report__init(r);
	r->experiment_id = p->experiment_id;
	r->promotion_id = p->id;
	r->currency = *req->currency ? req->currency : p->currency;
	if ((r->arms = dd_arena_calloc(a, k, sizeof(*r->arms))) == NULL ||
	    (r->warnings = dd_arena_calloc(a, k + 4, sizeof(char *))) == NULL)
		return OOM();
	/* quotes and assignments stored, then those still in memory */
	pairs who = { .a = a }, buyers = { .a = a };
	stored_ctx c = { .a = a, .p = p, .quotes = quotes, .assigned = &who };
	char prefix[DD_STORE_MAX_KEY + 1];
	int plen = dd_key_join(prefix, sizeof(prefix), 3, "q", p->experiment_id, "");
	if (plen < 0)
		return dd_error_set(err, DD_EINVAL, "experiment_id: too long");
	c.plen = (size_t)plen;
	int rc = an_scan(s, DD_T_ANALYTICS, (dd_val){ prefix, (size_t)plen }, one_quote_count, &c);
	prefix[0] = 'a';
	if (rc == DD_OK)
		rc = an_scan(s, DD_T_ANALYTICS, (dd_val){ prefix, (size_t)plen }, one_assignment, &c);
	if (rc != DD_OK || c.rc != DD_OK)
		return dd_error_set(err, rc ? rc : c.rc, "analytics: cannot read the quote counts");
	for (size_t i = 0; i < nev; i++) {
		if (ev[i].seq <= stored_seq || strcmp(ev[i].experiment, p->experiment_id) != 0)
			continue;
		long arm = find_arm(p, ev[i].arm, strlen(ev[i].arm));
		if (arm < 0)
			continue;
		quotes[arm]++;
		if (pairs_add(&who, ev[i].customer, (size_t)arm) != DD_OK)
			return OOM();
	}
	/* the orders of the experiment */
	for (size_t i = 0; i < k; i++) {
		Dealdesk__V1__ArmReport *ar = &arms[i];
		dealdesk__v1__arm_report__init(ar);
		ar->arm = p->arms[i]->name;
		ar->control = p->arms[i]->control;
		ar->weight = weights[i] = p->arms[i]->weight;
		r->arms[r->n_arms++] = ar;
	}
	for (size_t i = 0; i < f->norders; i++) {
		const an_order *o = &f->orders[i];
		if (!an_order_counts(o) || o->created_at > at ||
		    (*r->currency && strcmp(r->currency, o->currency) != 0))
			continue;
		for (size_t e = 0; e < o->nexps; e++) {
			if (strcmp(o->exps[e].experiment_id, p->experiment_id) != 0)
				continue;
			long arm = find_arm(p, o->exps[e].arm, strlen(o->exps[e].arm));
			if (arm < 0)
				continue;
			Dealdesk__V1__ArmReport *ar = &arms[arm];
			ar->commits++;
			if (pairs_add(&who, o->customer_id, (size_t)arm) != DD_OK ||
			    pairs_add(&buyers, o->customer_id, (size_t)arm) != DD_OK)
				return OOM();
			if (dd_money_add(ar->revenue, o->total, &ar->revenue) != DD_OK ||
			    dd_money_add(ar->discount_cost, o->exp_discount[e], &ar->discount_cost) != DD_OK ||
			    dd_money_add(ar->cost, o->cost, &ar->cost) != DD_OK)
				return dd_error_set(err, DD_EOVERFLOW, "arm '%s': sums overflow int64",
				                    ar->arm);
			const an_invoice *inv = *o->invoice_id ? find_invoice(f, o->invoice_id) : NULL;
			int64_t open = inv ? an_invoice_open_at(inv, at + 1) : 0;
			if (open > 0) {
				ar->unpaid += open;
				if (inv->due_at < at)
					ar->overdue += open;
			}
			break;
		}
	}
	pairs_count(&who, assigned);
	pairs_count(&buyers, converted);
	long ctrl = -1;
	for (size_t i = 0; i < k; i++) {
		Dealdesk__V1__ArmReport *ar = &arms[i];
		ar->customers = assigned[i];
		ar->quotes = quotes[i];
		ar->converted = converted[i];
		ar->conversion = ar->customers ? (double)ar->converted / (double)ar->customers : 0;
		ar->margin = ar->revenue - ar->cost;
		r->customers += ar->customers;
		if (ar->control && ctrl < 0)
			ctrl = (long)i;
	}
	for (size_t i = 0; ctrl >= 0 && i < k; i++) {
		Dealdesk__V1__ArmReport *ar = &arms[i], *cr = &arms[ctrl];
		if ((long)i == ctrl)
			continue;
		dd_ztest zt;
		if ((ar->has_test = dd_stats_ztest(cr->converted, cr->customers, ar->converted,
		                                   ar->customers, &zt))) {
			ar->diff = zt.diff;
			ar->z = zt.z;
			ar->p_value = zt.p_value;
			ar->ci_low = zt.ci_low;
			ar->ci_high = zt.ci_high;
		}
		if (cr->customers == 0)
			continue;
		double scale = (double)ar->customers / (double)cr->customers;
		double incr = (double)(ar->margin + ar->discount_cost) -
		              (double)(cr->margin + cr->discount_cost) * scale;
		ar->incremental_margin = llround(incr);
		if (ar->discount_cost > 0) {
			double dc = (double)ar->discount_cost;
			ar->has_roi = 1;
			ar->roi = (incr - dc) / dc;
			ar->roi_net_overdue =
				(incr - ((double)ar->overdue - (double)cr->overdue * scale) - dc) / dc;
			ar->roi_net_unpaid =
				(incr - ((double)ar->unpaid - (double)cr->unpaid * scale) - dc) / dc;
		}
	}
	/* sample-ratio mismatch and the plan */
	double chi2;
	double pv = dd_stats_srm(assigned, weights, k, &chi2, expected);
	for (size_t i = 0; i < k; i++)
		arms[i].expected_customers = expected[i];
	if (r->customers > 0 && k >= 2) {
		r->srm_chi_square = chi2;
		r->srm_df = (uint32_t)(k - 1);
		r->srm_p_value = pv;
		r->srm_status = pv < 0.001 ? "ALERT" : pv < 0.01 ? "WARN" : "OK";
		if (pv < 0.01 &&
		    warn(a, r, pv < 0.001 ? "sample ratio mismatch (p < 0.001): the split is broken; "
		                            "do not trust the results"
		                          : "sample ratio mismatch (p < 0.01): check the assignment") != DD_OK)
			return OOM();
	} else {
		r->srm_status = "";
	}
	r->planned_sample_size = req->planned_sample_size;
	if (r->planned_sample_size == 0 && req->baseline_bps > 0 && req->min_effect_bps != 0)
		r->planned_sample_size = dd_stats_sample_size(
			req->baseline_bps / 10000.0, (req->baseline_bps + req->min_effect_bps) / 10000.0);
	if (r->planned_sample_size > 0) {
		r->sample_reached = 1;
		for (size_t i = 0; i < k; i++)
			if (arms[i].customers < r->planned_sample_size) {
				r->sample_reached = 0;
				char *m = dd_arena_printf(
					a, "sample size not reached: arm '%s' has %llu of %llu planned customers; "
					   "results read now are not final (peeking inflates false positives)",
					arms[i].arm, (unsigned long long)arms[i].customers,
					(unsigned long long)r->planned_sample_size);
				if (m == NULL || warn(a, r, m) != DD_OK)
					return OOM();
				break;
			}
	} else if (warn(a, r, "no planned sample size: fix one before reading the results "
	                      "(planned_sample_size, or baseline_bps and min_effect_bps)") != DD_OK) {
		return OOM();
	}
	if (ctrl < 0 && warn(a, r, "no control arm: no ROI and no test against control") != DD_OK)
		return OOM();
	*out = r;
	return DD_OK;
}

int dd_analytics_experiments(dd_store *store, dd_analytics_tally *tally,
                             const Dealdesk__V1__GetExperimentReportRequest *req, int64_t now,
                             dd_arena *arena, Dealdesk__V1__GetExperimentReportResponse **out,
                             dd_error *err)
{
	dd_error_clear(err);
	int rc = dd_check_string(req->experiment_id, DD_MAX_ID, 1, "experiment_id", err);
	if (rc != DD_OK)
		return rc;
	if (req->at < 0)
		return dd_error_set(err, DD_EINVAL, "at: must be >= 0");
	if (*req->currency && dd_currency_exponent(req->currency) < 0)
		return dd_error_set(err, DD_EINVAL, "currency: '%s' is not an ISO 4217 currency code",
		                    req->currency);
	if (req->baseline_bps < 0 || req->baseline_bps >= 10000)
		return dd_error_set(err, DD_EINVAL, "baseline_bps: must be 0..9999, got %d",
		                    req->baseline_bps);
	if (req->baseline_bps + (int64_t)req->min_effect_bps <= 0 && req->min_effect_bps != 0)
		return dd_error_set(err, DD_EINVAL, "min_effect_bps: baseline + effect must be > 0");
	if (req->baseline_bps + (int64_t)req->min_effect_bps >= 10000)
		return dd_error_set(err, DD_EINVAL, "min_effect_bps: baseline + effect must be < 10000");
	int64_t at = req->at ? req->at : now;
	dd_tally_event *ev;
	size_t nev;
	/* the snapshot before the read: a batch stored meanwhile is then either
	 * in the read (its number <= the stored one) or counted from memory */
	if (dd_analytics_tally_snapshot(tally, arena, &ev, &nev) != DD_OK)
		return OOM();
	dd_rtxn *t;
	if ((rc = an_begin(store, &t, err)) != DD_OK)
		return rc;
	an_src s = { t, NULL };
	uint64_t stored_seq = 0;
	dd_val v;
	if (dd_rtxn_get(t, DD_T_ANALYTICS, (dd_val){ "s", 1 }, &v) == DD_OK && v.len == 8)
		for (int i = 0; i < 8; i++)
			stored_seq |= (uint64_t)((const uint8_t *)v.data)[i] << (8 * i);
	promo_list pl = { .a = arena, .filter = req->experiment_id };
	an_facts f;
	dd_arena work; /* the facts: no request's limit */
	dd_arena_init(&work, 1u << 20, 0);
	rc = an_scan(&s, DD_T_PROMOTIONS, (dd_val){ NULL, 0 }, one_promo, &pl);
	if (rc != DD_OK || pl.rc != DD_OK)
		rc = dd_error_set(err, rc ? rc : pl.rc, "analytics: cannot read the promotions");
	else if (*req->experiment_id && pl.n == 0)
		rc = dd_error_set(err, DD_ENOTFOUND,
		                  "experiment_id: no promotion has experiment '%s'", req->experiment_id);
	else
		rc = an_load(&s, &work, 1, &f, err);
	Dealdesk__V1__GetExperimentReportResponse *r = NULL;
	if (rc == DD_OK && ((r = dd_arena_alloc(arena, sizeof(*r))) == NULL ||
	                    (dealdesk__v1__get_experiment_report_response__init(r),
	                     r->experiments = dd_arena_calloc(arena, pl.n + 1, sizeof(void *))) == NULL))
		rc = OOM();
	for (size_t i = 0; rc == DD_OK && i < pl.n; i++) {
		rc = one_report(&s, &f, pl.v[i], ev, nev, stored_seq, req, at, arena,
		                &r->experiments[i], err);
		r->n_experiments += rc == DD_OK;
	}
	an_end(t);
	dd_arena_free(&work);
	if (rc != DD_OK)
		return rc;
	r->at = at;
	*out = r;
	return DD_OK;
}
