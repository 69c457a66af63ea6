/* dealdesk analytics: RFM scores, segments and lifecycle stages from the
 * customers' histories (pure; include/dealdesk/analytics.h).
 *
 * Quintiles are SQL's NTILE(5): the customers with orders are ordered by
 * the value, ties by customer id (the id that sorts first gets the lower
 * score), and cut into five buckets whose sizes differ by at most one, the
 * larger ones first. Recency is ordered by days since the last order,
 * most days first, so 5 = most recent. Segments from R and F follow the
 * common mapping of shared/DOMAIN.md section 4. */
#include "dealdesk/analytics.h"

#include <stdlib.h>
#include <string.h>

#define DAY 86400

const char *const dd_rfm_segments[] = {
	"champions", "loyal", "potential loyalist", "new", "promising", "need attention",
	"about to sleep", "at risk", "cannot lose", "hibernating", "lost", NULL,
};

const char *const dd_rfm_stages[] = { "prospect", "new", "active", "dormant", "churned", NULL };

void dd_rfm_options_normalize(const Dealdesk__V1__RfmOptions *in, Dealdesk__V1__RfmOptions *out)
{
	dealdesk__v1__rfm_options__init(out);
	if (in)
		*out = *in;
	if (out->window_days <= 0)
		out->window_days = 365;
	if (out->new_days <= 0)
		out->new_days = 30;
	if (out->dormant_days <= 0)
		out->dormant_days = 90;
	if (out->churn_days <= 0)
		out->churn_days = 365;
	if (out->currency == NULL)
		out->currency = "";
}

const char *dd_rfm_segment(int r, int f, int churned)
{
	if (r < 1 || f < 1)
		return "";
	if (r <= 2) {
		if (f <= 2)
			return r == 1 && f == 1 && churned ? "lost" : "hibernating";
		return f <= 4 ? "at risk" : "cannot lose";
	}
	if (r == 3)
		return f <= 2 ? "about to sleep" : f == 3 ? "need attention" : "loyal";
	if (f >= 4)
		return r == 4 ? "loyal" : "champions";
	if (f >= 2)
		return "potential loyalist";
	return r == 4 ? "promising" : "new";
}

static int64_t days_since(int64_t at, int64_t t)
{
	return at > t ? (at - t) / DAY : 0;
}

const char *dd_rfm_lifecycle(const dd_rfm_input *c, int64_t at,
                             const Dealdesk__V1__RfmOptions *o)
{
	if (c->order_count <= 0)
		return "prospect";
	int64_t idle = days_since(at, c->last_order_at);
	if (idle >= o->churn_days)
		return "churned";
	if (idle >= o->dormant_days)
		return "dormant";
	if (days_since(at, c->first_order_at) < o->new_days)
		return "new";
	return "active";
}

typedef struct rank_item {
	int64_t key;
	const char *id;
	size_t idx;
} rank_item;

static int cmp_rank(const void *a, const void *b)
{
	const rank_item *x = a, *y = b;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return strcmp(x->id, y->id);
}

/* NTILE(5) of position i among n: 1..5. */
static int ntile5(size_t i, size_t n)
{
	size_t q = n / 5, rem = n % 5;
	if (i < rem * (q + 1))
		return (int)(i / (q + 1)) + 1;
	return (int)(rem + (i - rem * (q + 1)) / q) + 1;
}

/* Scores one dimension: score[idx] for each scored customer. */
static void score_dim(rank_item *items, size_t n, int *score, int64_t breaks[4])
{
	qsort(items, n, sizeof(*items), cmp_rank);
	for (int k = 0; k < 4; k++)
		breaks[k] = INT64_MAX;
	int prev = 0;
	for (size_t i = 0; i < n; i++) {
		int s = ntile5(i, n);
		score[items[i].idx] = s;
		if (s != prev && s >= 2)
			breaks[s - 2] = items[i].key;
		prev = s;
	}
}

int dd_rfm_score(const dd_rfm_input *in, size_t n, int64_t at,
                 const Dealdesk__V1__RfmOptions *opts, dd_arena *arena,
                 Dealdesk__V1__CustomerValue *out, int64_t breaks[3][4])
{
	int64_t local[3][4];
	if (breaks == NULL)
		breaks = local;
	rank_item *items = dd_arena_calloc(arena, n + 1, sizeof(*items));
	int *sc = dd_arena_calloc(arena, 3 * (n + 1), sizeof(int));
	if (items == NULL || sc == NULL)
		return DD_ENOMEM;
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		const dd_rfm_input *c = &in[i];
		Dealdesk__V1__CustomerValue *v = &out[i];
		dealdesk__v1__customer_value__init(v);
		v->customer_id = (char *)c->customer_id;
		v->order_count = c->order_count;
		v->first_order_at = c->first_order_at;
		v->last_order_at = c->last_order_at;
		v->frequency = c->frequency;
		v->monetary = c->monetary;
		v->at = at;
		v->lifecycle = (char *)dd_rfm_lifecycle(c, at, opts);
		v->segment = "";
		if (c->order_count > 0) {
			int64_t d = days_since(at, c->last_order_at);
			v->recency_days = d > INT32_MAX ? INT32_MAX : (int32_t)d;
			m++;
		}
	}
	for (int dim = 0; dim < 3; dim++) {
		size_t k = 0;
		for (size_t i = 0; i < n; i++) {
			if (in[i].order_count <= 0)
				continue;
			items[k].id = in[i].customer_id;
			items[k].idx = i;
			items[k].key = dim == 0   ? -(int64_t)out[i].recency_days
			               : dim == 1 ? in[i].frequency
			                          : in[i].monetary;
			k++;
		}
		score_dim(items, m, sc + (size_t)dim * (n + 1), breaks[dim]);
	}
	for (size_t i = 0; i < n; i++) {
		if (in[i].order_count <= 0)
			continue;
		Dealdesk__V1__CustomerValue *v = &out[i];
		v->r = sc[i];
		v->f = sc[(n + 1) + i];
		v->m = sc[2 * (n + 1) + i];
		v->segment = (char *)dd_rfm_segment(v->r, v->f, v->recency_days >= opts->churn_days);
	}
	return DD_OK;
}
