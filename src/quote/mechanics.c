/* dealdesk quote: the promotion mechanics, host primitives over the C
 * order state. The promotions policy decides what is in force beyond the
 * data, how promotions stack and in what order; these do the arithmetic of
 * the built-in kinds exactly as README "Promotion kinds" describes it:
 *
 *   dd.promotion_in_force(p)        -> nil | reason, note code
 *       the data conditions (enabled, window, currency, channel, region,
 *       customer group / segment / loyalty tier, first order, dormant
 *       customers, coupon codes, budgets, minimum units and spend)
 *   dd.promotion_effect(p [, amounts]) -> effect | nil, reason
 *       the experiment arm, the kind's amounts on what the cart costs now,
 *       then the promotion's own caps (max_discount, budgets) with notes;
 *       for CUSTOM kinds `amounts` ({[line] = minor units}) is the discount
 *       the policy's function computed
 *   dd.effect_total(e)              -> minor units the effect takes off
 *   dd.promotion_commit(p, e, room) -> minor units taken off: applies the
 *       effect (capped to `room`, the order cap left) to the order
 *   dd.promotion_note(p, code, message)
 *
 * A line's state: free_units / free_value (units and value no bundle or
 * buy-X-get-Y has used yet) and left (what it still costs). Every primitive
 * charges the instruction budget for the lines and items it walks.
 */
#include "quoter.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "readers.h"

typedef struct qm_effect {
	uint32_t slot;
	int order;          /* an order discount (spend threshold) */
	int bundle;
	int64_t total;
	int64_t *lines;     /* line discounts, NULL for order effects */
	int64_t *shares;    /* order effects: the split over the lines */
	int64_t *used;      /* units used per line, NULL = none */
	int64_t times;      /* bundles */
	const char *gift_sku;
	int64_t gift_quantity;
	int32_t multiplier; /* 0 = none */
	int committed;
	char detail[320];   /* explain only */
} qm_effect;

#define DAY 86400

enum { WHY_MAX = 256 };

typedef struct mech {
	lua_State *L;
	quote_run *r;
	dd_quoter *q;
	qo_order *o;
	const Dealdesk__V1__Promotion *p;
	qo_candidate *cand;
	size_t n; /* lines the promotions see: the requested ones */
	char why[WHY_MAX];
} mech;

/* ---- helpers ------------------------------------------------------------------ */

static const char *money(const mech *m, int64_t v, char buf[48])
{
	if (dd_money_format(v, m->o->exponent, buf, 48) < 0)
		snprintf(buf, 48, "%lld", (long long)v);
	return buf;
}

/* A reason: spelt out when someone reads it, else its template. */
static const char *why(mech *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static const char *why(mech *m, const char *fmt, ...)
{
	if (!m->r->verbose)
		return fmt;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m->why, sizeof(m->why), fmt, ap);
	va_end(ap);
	return m->why;
}

static const char *fmt_always(mech *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static const char *fmt_always(mech *m, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m->why, sizeof(m->why), fmt, ap);
	va_end(ap);
	return m->why;
}

static int64_t add(mech *m, int64_t a, int64_t b)
{
	int64_t v;
	if (dd_money_add(a, b, &v) != DD_OK)
		luaL_error(m->L, "promotion %s: amount overflows int64", m->p->id);
	return v;
}

static int64_t mul(mech *m, int64_t a, int64_t b)
{
	int64_t v;
	if (dd_money_mul(a, b, &v) != DD_OK)
		luaL_error(m->L, "promotion %s: amount overflows int64", m->p->id);
	return v;
}

static int64_t bps(mech *m, int64_t amount, int64_t rate, dd_rounding mode)
{
	int64_t v;
	if (dd_money_bps(amount, rate, mode, &v) != DD_OK)
		luaL_error(m->L, "promotion %s: amount overflows int64", m->p->id);
	return v;
}

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* floor division, as Lua's // on integers */
static int64_t floordiv(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

static void allocate(mech *m, int64_t total, const int64_t *w, const int64_t *caps, int64_t *out)
{
	dd_sandbox_charge(m->L, (uint64_t)(m->n * m->n));
	int rc = dd_money_allocate(total, w, caps, m->n, out);
	if (rc != DD_OK)
		luaL_error(m->L, "promotion %s: cannot split %lld: %s", m->p->id, (long long)total,
		           dd_strerror(rc));
}

static int in_list(char *const *items, size_t n, const char *s)
{
	for (size_t k = 0; k < n; k++)
		if (strcmp(items[k], s) == 0)
			return 1;
	return 0;
}

/* Is line i one the promotion targets? (No targets = every line.) */
static int targets(const mech *m, size_t i)
{
	const qo_line *l = &m->o->lines[i];
	const Dealdesk__V1__Promotion *p = m->p;
	if (l->gift)
		return 0;
	if (p->n_skus == 0 && p->n_categories == 0)
		return 1;
	return in_list(p->skus, p->n_skus, l->sku) ||
	       in_list(p->categories, p->n_categories, l->price->category);
}

/* Finds the promotion of the table at arg (its `slot`) among the run's
 * candidates. */
static void begin(mech *m, lua_State *L, int arg)
{
	dd_quoter *q = lua_touserdata(L, lua_upvalueindex(1));
	if (q->run == NULL || q->run->stage != QS_PROMOTE)
		luaL_error(L, "promotion primitives work only in the promotions policy "
		              "(not in another policy or a promotion's condition)");
	memset(m, 0, sizeof(*m));
	m->L = L;
	m->q = q;
	m->r = q->run;
	m->o = &q->run->order;
	m->n = m->o->nrequested;
	luaL_checktype(L, arg, LUA_TTABLE);
	lua_getfield(L, arg, "slot");
	if (!lua_isinteger(L, -1))
		luaL_error(L, "argument #%d must be a promotion", arg);
	lua_Integer slot = lua_tointeger(L, -1);
	lua_pop(L, 1);
	/* candidates are in slot order: binary search */
	size_t lo = 0, hi = m->o->candidates.n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if ((lua_Integer)m->o->candidates.v[mid].slot < slot)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == m->o->candidates.n || (lua_Integer)m->o->candidates.v[lo].slot != slot)
		luaL_error(L, "argument #%d is not a promotion of this quote", arg);
	m->cand = &m->o->candidates.v[lo];
	m->p = q->promos[slot].p;
	dd_sandbox_charge(L, 10 + m->n);
}

/* ---- in force ----------------------------------------------------------------- */

static int has_valid_coupon(const mech *m)
{
	const Dealdesk__V1__QuoteRequest *req = m->o->req;
	for (size_t i = 0; i < req->n_coupon_codes; i++) {
		const qo_coupon *c = &m->o->coupons[i];
		if (c->record && *c->reason == '\0' && strcmp(c->record->promotion_id, m->p->id) == 0)
			return 1;
	}
	return 0;
}

static int amount_kind(int kind)
{
	return kind == DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_FIXED_AMOUNT ||
	       kind == DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_FIXED_PRICE ||
	       kind == DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_BUNDLE ||
	       kind == DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_SPEND_THRESHOLD;
}

/* NULL when in force, else the reason (and *code a note code or NULL) */
static const char *not_in_force(mech *m, const char **code)
{
	const Dealdesk__V1__Promotion *p = m->p;
	const qo_order *o = m->o;
	const Dealdesk__V1__Customer *c = o->customer;
	char b1[48], b2[48];
	*code = NULL;
	if (!p->enabled)
		return "disabled";
	if (p->valid_from != 0 && o->time < p->valid_from)
		return "not started yet";
	if (p->valid_to != 0 && o->time >= p->valid_to)
		return "expired";
	if (*p->currency && strcmp(p->currency, o->req->currency) != 0)
		return why(m, "only for %s orders", p->currency);
	if (!*p->currency && amount_kind(p->kind))
		return "has amounts but no currency";
	if (p->n_channels && !in_list(p->channels, p->n_channels, o->channel))
		return why(m, "not offered in channel '%s'", o->channel);
	if (p->n_regions && !in_list(p->regions, p->n_regions, o->region))
		return why(m, "not offered in region '%s'", o->region);
	if (p->n_customer_groups && !in_list(p->customer_groups, p->n_customer_groups,
	                                     c->customer_group))
		return why(m, "not for customer group '%s'", c->customer_group);
	if (p->n_customer_segments && !in_list(p->customer_segments, p->n_customer_segments,
	                                       c->segment))
		return why(m, "not for customer segment '%s'", c->segment);
	if (p->n_customer_tiers && !in_list(p->customer_tiers, p->n_customer_tiers,
	                                    c->loyalty_tier))
		return why(m, "not for loyalty tier '%s'", c->loyalty_tier);
	if (p->new_customers_only && c->order_count > 0)
		return "only for a customer's first order";
	if (p->dormant_days > 0) {
		if (c->order_count == 0)
			return "only for returning customers";
		int64_t idle = floordiv(o->time - c->last_order_at, DAY);
		if (idle < p->dormant_days)
			return why(m, "customer ordered %lld days ago; needs %d", (long long)idle,
			           p->dormant_days);
	}
	if (*p->coupon_code) {
		int found = 0;
		for (size_t i = 0; i < o->req->n_coupon_codes && !found; i++)
			found = strcmp(o->req->coupon_codes[i], p->coupon_code) == 0;
		if (!found)
			return "needs its coupon code";
	}
	if (p->requires_coupon && !has_valid_coupon(m))
		return "needs one of its coupon codes";
	const qo_candidate *u = m->cand;
	if (u->has_usage) {
		if (p->budget_uses > 0 && u->uses >= p->budget_uses) {
			*code = "BUDGET_EXHAUSTED";
			return fmt_always(m, "budget of %lld uses is exhausted", (long long)p->budget_uses);
		}
		if (p->budget_amount > 0 && u->amount >= p->budget_amount) {
			*code = "BUDGET_EXHAUSTED";
			return fmt_always(m, "budget of %s is exhausted", money(m, p->budget_amount, b1));
		}
		if (p->customer_budget_uses > 0 && u->customer_uses >= p->customer_budget_uses) {
			*code = "CUSTOMER_BUDGET_EXHAUSTED";
			return fmt_always(m, "this customer's %lld uses are exhausted",
			                  (long long)p->customer_budget_uses);
		}
		if (p->customer_budget_amount > 0 && u->customer_amount >= p->customer_budget_amount) {
			*code = "CUSTOMER_BUDGET_EXHAUSTED";
			return "this customer's budget is exhausted";
		}
	}
	if (p->min_quantity > 0 || p->min_amount > 0) {
		int64_t units = 0, spend = 0;
		for (size_t i = 0; i < m->n; i++)
			if (targets(m, i)) {
				units = add(m, units, o->lines[i].quantity);
				spend = add(m, spend, o->lines[i].left);
			}
		if (units < p->min_quantity)
			return why(m, "needs %lld eligible units, cart has %lld",
			           (long long)p->min_quantity, (long long)units);
		if (spend < p->min_amount) {
			if (!m->r->verbose)
				return "needs more eligible spend";
			return fmt_always(m, "needs eligible spend of %s, cart has %s",
			                  money(m, p->min_amount, b1), money(m, spend, b2));
		}
	}
	return NULL;
}

static int lua_in_force(lua_State *L)
{
	mech m;
	begin(&m, L, 1);
	const char *code;
	const char *reason = not_in_force(&m, &code);
	if (reason == NULL)
		return 0;
	lua_pushstring(L, reason);
	if (code == NULL)
		return 1;
	lua_pushstring(L, code);
	return 2;
}

/* ---- effects -------------------------------------------------------------- */

static qm_effect *new_effect(mech *m, int order)
{
	dd_arena *a = m->r->arena;
	qm_effect *e = dd_arena_calloc(a, 1, sizeof(*e));
	qm_effect **slot = e ? QO_PUSH(a, &m->r->effects) : NULL;
	if (slot == NULL || (e->lines = dd_arena_calloc(a, m->n, sizeof(int64_t))) == NULL)
		luaL_error(m->L, "out of memory");
	*slot = e;
	e->slot = m->cand->slot;
	e->order = order;
	return e;
}

static int64_t *line_array(mech *m)
{
	int64_t *v = dd_arena_calloc(m->r->arena, m->n, sizeof(int64_t));
	if (v == NULL)
		luaL_error(m->L, "out of memory");
	return v;
}

static void add_line(qm_effect *e, size_t i, int64_t amount)
{
	if (amount > 0) {
		e->lines[i] += amount; /* <= what the line costs: no overflow */
		e->total += amount;
	}
}

static void detail(mech *m, qm_effect *e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void detail(mech *m, qm_effect *e, const char *fmt, ...)
{
	if (!m->r->explain)
		return;
	size_t used = strlen(e->detail);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->detail + used, sizeof(e->detail) - used, fmt, ap);
	va_end(ap);
}

/* The rate and amount of the customer's experiment arm. */
typedef struct arm_view {
	int64_t percent_bps, amount;
} arm_view;

static const char *experiment_arm(mech *m, arm_view *v)
{
	const Dealdesk__V1__Promotion *p = m->p;
	v->percent_bps = p->percent_bps;
	v->amount = p->amount;
	if (!*p->experiment_id || p->n_arms == 0)
		return NULL;
	if (m->cand->arm < 0) {
		uint64_t total = 0;
		for (size_t i = 0; i < p->n_arms; i++)
			total += p->arms[i]->weight;
		if (total == 0)
			luaL_error(m->L, "promotion %s: experiment arms weigh nothing", p->id);
		/* FNV-1a-64(customer id "\0" experiment id) mod the total weight */
		const char *cid = m->o->customer->id;
		size_t lc = strlen(cid), le = strlen(p->experiment_id);
		char key[2 * 65 + 2];
		if (lc + 1 + le > sizeof(key))
			luaL_error(m->L, "promotion %s: experiment key too long", p->id);
		memcpy(key, cid, lc);
		key[lc] = '\0';
		memcpy(key + lc + 1, p->experiment_id, le);
		uint64_t b = quote_fnv1a64(key, lc + 1 + le) % total;
		size_t arm = p->n_arms - 1;
		for (size_t i = 0; i < p->n_arms; i++) {
			if (b < p->arms[i]->weight) {
				arm = i;
				break;
			}
			b -= p->arms[i]->weight;
		}
		m->cand->arm = (int)arm;
		qo_experiment *x = QO_PUSH(m->r->arena, &m->o->experiments);
		if (x == NULL)
			luaL_error(m->L, "out of memory");
		x->experiment_id = p->experiment_id;
		x->promotion_id = p->id;
		x->arm = p->arms[arm]->name;
	}
	const Dealdesk__V1__ExperimentArm *a = p->arms[m->cand->arm];
	if (a->control)
		return why(m, "experiment %s: control arm %s", p->experiment_id, a->name);
	if (a->percent_bps != 0)
		v->percent_bps = a->percent_bps;
	if (a->amount != 0)
		v->amount = a->amount;
	return NULL;
}

/* percentage, fixed amount, fixed price: each targeted line with free units */
static const char *item_effect(mech *m, const arm_view *v, qm_effect **out)
{
	qm_effect *e = new_effect(m, 0);
	int hits = 0;
	int kind = m->p->kind;
	for (size_t i = 0; i < m->n; i++) {
		const qo_line *l = &m->o->lines[i];
		if (!targets(m, i) || l->free_units <= 0 || l->free_value <= 0)
			continue;
		int64_t off;
		if (kind == DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_PERCENTAGE)
			off = bps(m, l->free_value, v->percent_bps, l->rounding);
		else if (kind == DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_FIXED_AMOUNT)
			off = mul(m, v->amount, l->free_units);
		else /* FIXED_PRICE: down to amount a unit */
			off = l->free_value - mul(m, v->amount, l->free_units);
		off = min64(min64(off, l->free_value), l->left);
		if (off > 0) {
			add_line(e, i, off);
			hits++;
		}
	}
	if (hits == 0)
		return "no eligible units in the cart";
	char b[48];
	detail(m, e, "%s off %d line(s)", money(m, e->total, b), hits);
	*out = e;
	return NULL;
}

static const char *bundle_effect(mech *m, qm_effect **out)
{
	const Dealdesk__V1__Promotion *p = m->p;
	const qo_line *lines = m->o->lines;
	int64_t times = -1;
	dd_sandbox_charge(m->L, (uint64_t)(p->n_bundle_items * m->n));
	for (size_t k = 0; k < p->n_bundle_items; k++) {
		const Dealdesk__V1__BundleItem *item = p->bundle_items[k];
		int64_t free = 0;
		for (size_t i = 0; i < m->n; i++)
			if (!lines[i].gift && strcmp(lines[i].sku, item->sku) == 0)
				free = add(m, free, lines[i].free_units);
		if (item->quantity <= 0)
			luaL_error(m->L, "promotion %s: bundle item quantity must be > 0", p->id);
		int64_t fit = free / item->quantity;
		if (times < 0 || fit < times)
			times = fit;
	}
	if (times <= 0)
		return "the cart holds no complete bundle";
	/* take units from the lines in cart order */
	int64_t *value = line_array(m), *taken = line_array(m), *caps = line_array(m);
	int64_t full = 0;
	for (size_t k = 0; k < p->n_bundle_items; k++) {
		const Dealdesk__V1__BundleItem *item = p->bundle_items[k];
		int64_t need = mul(m, item->quantity, times);
		for (size_t i = 0; i < m->n && need > 0; i++) {
			int64_t free = lines[i].free_units - taken[i];
			if (lines[i].gift || free <= 0 || strcmp(lines[i].sku, item->sku) != 0)
				continue;
			int64_t take = min64(need, free);
			taken[i] += take;
			need -= take;
			int64_t v = mul(m, take, lines[i].unit_price);
			value[i] = add(m, value[i], v);
			full = add(m, full, v);
		}
	}
	int64_t price = mul(m, p->bundle_price, times);
	int64_t saving = full - price;
	if (saving <= 0)
		return "the bundle price is not below the items' price";
	/* the saving is shared over the lines in proportion to the value each
	 * gave to the bundles, never more than a line still costs */
	int64_t room = 0;
	for (size_t i = 0; i < m->n; i++) {
		caps[i] = min64(value[i], lines[i].left);
		room += caps[i];
	}
	qm_effect *e = new_effect(m, 0);
	int64_t *shares = line_array(m);
	allocate(m, min64(saving, room), value, caps, shares);
	for (size_t i = 0; i < m->n; i++)
		add_line(e, i, shares[i]);
	e->used = taken;
	e->times = times;
	e->bundle = 1;
	char b1[48], b2[48], b3[48];
	detail(m, e, "%lld bundle(s): %s for %s, saving %s", (long long)times, money(m, full, b1),
	       money(m, price, b2), money(m, e->total, b3));
	*out = e;
	return NULL;
}

static const qo_line *sort_lines; /* qsort has no context argument */

static int cheaper(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int64_t px = sort_lines[x].unit_price, py = sort_lines[y].unit_price;
	if (px != py)
		return px < py ? -1 : 1;
	return x < y ? -1 : x > y;
}

static const char *buy_x_get_y_effect(mech *m, const arm_view *v, qm_effect **out)
{
	const Dealdesk__V1__Promotion *p = m->p;
	const qo_line *lines = m->o->lines;
	size_t *pool = dd_arena_alloc(m->r->arena, (m->n ? m->n : 1) * sizeof(size_t));
	if (pool == NULL)
		luaL_error(m->L, "out of memory");
	size_t npool = 0;
	int64_t units = 0;
	for (size_t i = 0; i < m->n; i++)
		if (targets(m, i) && lines[i].free_units > 0) {
			pool[npool++] = i;
			units = add(m, units, lines[i].free_units);
		}
	int64_t per = p->buy_quantity + p->get_quantity;
	int64_t groups = per > 0 ? units / per : 0;
	if (groups == 0)
		return why(m, "needs %lld eligible units, cart has %lld", (long long)per,
		           (long long)units);
	/* the cheapest units get the discount (ties: the earlier line) */
	dd_sandbox_charge(m->L, (uint64_t)(npool * 8));
	sort_lines = lines;
	qsort(pool, npool, sizeof(*pool), cheaper);
	qm_effect *e = new_effect(m, 0);
	e->used = line_array(m);
	int64_t left = mul(m, groups, p->get_quantity);
	for (size_t k = 0; k < npool && left > 0; k++) {
		size_t i = pool[k];
		const qo_line *l = &lines[i];
		int64_t n = min64(left, l->free_units);
		int64_t off = bps(m, mul(m, n, l->unit_price), v->percent_bps, l->rounding);
		off = min64(min64(off, l->free_value), l->left);
		add_line(e, i, off);
		e->used[i] = n;
		left -= n;
	}
	if (e->total == 0)
		return "nothing left to discount";
	char b[48];
	detail(m, e, "%lld unit(s) at %lld.%02lld%% off, saving %s",
	       (long long)(groups * p->get_quantity), (long long)(v->percent_bps / 100),
	       (long long)(v->percent_bps % 100), money(m, e->total, b));
	*out = e;
	return NULL;
}

static const char *spend_threshold_effect(mech *m, const arm_view *v, qm_effect **out)
{
	const Dealdesk__V1__Promotion *p = m->p;
	const qo_line *lines = m->o->lines;
	int64_t *weights = line_array(m);
	int64_t spend = 0;
	char b1[48], b2[48];
	for (size_t i = 0; i < m->n; i++)
		if (targets(m, i) && lines[i].left > 0) {
			weights[i] = lines[i].left;
			spend = add(m, spend, lines[i].left);
		}
	int64_t amount = 0;
	if (p->n_tiers > 0) {
		for (size_t k = 0; k < p->n_tiers; k++)
			if (spend >= p->tiers[k]->threshold)
				amount = p->tiers[k]->amount;
		if (amount == 0) {
			if (!m->r->verbose)
				return "eligible spend is below the first tier";
			return fmt_always(m, "eligible spend %s is below the first tier %s",
			                  money(m, spend, b1), money(m, p->tiers[0]->threshold, b2));
		}
	} else if (p->repeating) {
		if (p->threshold <= 0)
			luaL_error(m->L, "promotion %s: a repeating threshold must be > 0", p->id);
		amount = mul(m, spend / p->threshold, v->amount);
		if (amount == 0) {
			if (!m->r->verbose)
				return "eligible spend is below the threshold";
			return fmt_always(m, "eligible spend %s is below %s", money(m, spend, b1),
			                  money(m, p->threshold, b2));
		}
	} else if (spend >= p->threshold) {
		amount = v->amount;
	} else {
		if (!m->r->verbose)
			return "eligible spend is below the threshold";
		return fmt_always(m, "eligible spend %s is below the threshold %s",
		                  money(m, spend, b1), money(m, p->threshold, b2));
	}
	amount = min64(amount, spend);
	if (amount < 0)
		amount = 0;
	qm_effect *e = new_effect(m, 1);
	e->total = amount;
	e->shares = line_array(m);
	allocate(m, amount, weights, weights, e->shares);
	detail(m, e, "eligible spend %s: %s off the order", money(m, spend, b1),
	       money(m, amount, b2));
	*out = e;
	return NULL;
}

/* Gifts and points targeted at SKUs or categories need one in the cart. */
static int cart_has_target(const mech *m)
{
	for (size_t i = 0; i < m->n; i++)
		if (targets(m, i))
			return 1;
	return m->p->n_skus == 0 && m->p->n_categories == 0;
}

/* CUSTOM: {[line] = amount} from the policy's own function, each an
 * integer >= 0, capped (like every kind) by what the line still costs */
static const char *custom_effect(mech *m, int arg, qm_effect **out)
{
	if (lua_type(m->L, arg) != LUA_TTABLE)
		luaL_error(m->L, "promotion %s: a CUSTOM kind needs its amounts {[line] = n}",
		           m->p->id);
	qm_effect *e = new_effect(m, 0);
	int hits = 0;
	for (size_t i = 0; i < m->n; i++) {
		int t = lua_rawgeti(m->L, arg, (lua_Integer)i + 1);
		if (t != LUA_TNIL) {
			if (!lua_isinteger(m->L, -1) || lua_tointeger(m->L, -1) < 0)
				luaL_error(m->L, "promotion %s: amounts[%d] must be an integer >= 0",
				           m->p->id, (int)i + 1);
			int64_t off = min64((int64_t)lua_tointeger(m->L, -1), m->o->lines[i].left);
			if (m->o->lines[i].gift)
				off = 0;
			if (off > 0) {
				add_line(e, i, off);
				hits++;
			}
		}
		lua_pop(m->L, 1);
	}
	if (hits == 0)
		return "no eligible units in the cart";
	char b[48];
	detail(m, e, "%s off %d line(s)", money(m, e->total, b), hits);
	*out = e;
	return NULL;
}

/* Scales an effect's amounts down to cap (largest remainder). */
static int cap_effect(mech *m, qm_effect *e, int64_t cap)
{
	if (e->total <= cap)
		return 0;
	if (cap < 0)
		cap = 0;
	int64_t *scaled = line_array(m);
	if (e->order) {
		allocate(m, cap, e->shares, e->shares, scaled);
		e->shares = scaled;
	} else {
		allocate(m, cap, e->lines, e->lines, scaled);
		e->lines = scaled;
	}
	e->total = cap;
	return 1;
}

static void note(mech *m, const char *code, const char *msg)
{
	const char *text = dd_arena_strdup(m->r->arena, msg);
	if (quote_add_note(m->r, m->p->id, code, text) != DD_OK)
		luaL_error(m->L, "out of memory");
}

static int lua_effect(lua_State *L)
{
	mech m;
	begin(&m, L, 1);
	const Dealdesk__V1__Promotion *p = m.p;
	arm_view v;
	const char *reason = experiment_arm(&m, &v);
	qm_effect *e = NULL;
	if (reason == NULL) {
		switch (p->kind) {
		case DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_PERCENTAGE:
		case DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_FIXED_AMOUNT:
		case DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_FIXED_PRICE:
			reason = item_effect(&m, &v, &e);
			break;
		case DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_BUNDLE:
			reason = bundle_effect(&m, &e);
			break;
		case DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_BUY_X_GET_Y:
			reason = buy_x_get_y_effect(&m, &v, &e);
			break;
		case DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_SPEND_THRESHOLD:
			reason = spend_threshold_effect(&m, &v, &e);
			break;
		case DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_FREE_GIFT:
			if (!cart_has_target(&m)) {
				reason = "no qualifying item in the cart";
				break;
			}
			e = new_effect(&m, 0);
			e->gift_sku = p->gift_sku;
			e->gift_quantity = p->gift_quantity ? p->gift_quantity : 1;
			detail(&m, e, "gift: %lld x %s", (long long)e->gift_quantity, p->gift_sku);
			break;
		case DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_LOYALTY_POINTS:
			if (!cart_has_target(&m)) {
				reason = "no qualifying item in the cart";
				break;
			}
			e = new_effect(&m, 0);
			e->multiplier = p->points_multiplier;
			detail(&m, e, "points x%d", p->points_multiplier);
			break;
		case DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_CUSTOM:
			reason = custom_effect(&m, 2, &e);
			break;
		default:
			reason = fmt_always(&m, "unknown kind %d", p->kind);
		}
	}
	if (reason != NULL) {
		lua_pushnil(L);
		lua_pushstring(L, reason);
		return 2;
	}
	char b[48];
	const qo_candidate *u = m.cand;
	if (p->max_discount > 0 && cap_effect(&m, e, p->max_discount)) {
		detail(&m, e, "; capped at %s", money(&m, p->max_discount, b));
		note(&m, "CAPPED", fmt_always(&m, "capped at %s", money(&m, p->max_discount, b)));
	}
	if (u->has_usage && p->budget_amount > 0 && cap_effect(&m, e, p->budget_amount - u->amount)) {
		detail(&m, e, "; limited to what is left of its budget");
		note(&m, "BUDGET_LIMITED", fmt_always(&m, "limited to the %s left of its budget",
		                                      money(&m, p->budget_amount - u->amount, b)));
	}
	if (u->has_usage && p->customer_budget_amount > 0 &&
	    cap_effect(&m, e, p->customer_budget_amount - u->customer_amount))
		detail(&m, e, "; limited to what is left of this customer's budget");
	lua_pushinteger(L, (lua_Integer)m.r->effects.n);
	return 1;
}

static qm_effect *check_effect(lua_State *L, const mech *m, int arg)
{
	lua_Integer k = luaL_checkinteger(L, arg);
	if (k < 1 || (size_t)k > m->r->effects.n)
		luaL_error(L, "argument #%d is not an effect of this quote", arg);
	return m->r->effects.v[k - 1];
}

static int lua_effect_total(lua_State *L)
{
	dd_quoter *q = lua_touserdata(L, lua_upvalueindex(1));
	if (q->run == NULL || q->run->stage != QS_PROMOTE)
		return luaL_error(L, "promotion primitives work only in the promotions policy "
		                     "(not in another policy or a promotion's condition)");
	mech m = { .L = L, .q = q, .r = q->run, .o = &q->run->order };
	lua_pushinteger(L, (lua_Integer)check_effect(L, &m, 1)->total);
	return 1;
}

/* ---- commit --------------------------------------------------------------------- */

static const char *desc_of(mech *m, const qm_effect *e)
{
	if (e->times > 1) {
		const char *d = dd_arena_printf(m->r->arena, "%s (x%lld)", m->p->name,
		                                (long long)e->times);
		if (d == NULL)
			luaL_error(m->L, "out of memory");
		return d;
	}
	return m->p->name;
}

static int lua_commit(lua_State *L)
{
	mech m;
	begin(&m, L, 1);
	qm_effect *e = check_effect(L, &m, 2);
	int64_t room = luaL_checkinteger(L, 3);
	if (e->slot != m.cand->slot)
		return luaL_error(L, "effect %d belongs to another promotion", (int)lua_tointeger(L, 2));
	if (e->committed)
		return luaL_error(L, "promotion %s: effect committed twice", m.p->id);
	e->committed = 1;
	const Dealdesk__V1__Promotion *p = m.p;
	if (e->total > room) {
		cap_effect(&m, e, room);
		detail(&m, e, "; limited by the order cap");
		note(&m, "ORDER_CAP", "limited by the cap on discounts per order");
	}
	qo_order *o = m.o;
	const char *desc = desc_of(&m, e);
	/* An effect was computed on the order as it was then: if the policy
	 * committed another since, each amount is held to what the line still
	 * costs, so no line goes below zero whatever the policy does. */
	int64_t taken = 0;
	if (e->order) {
		for (size_t i = 0; i < m.n; i++) {
			if (e->shares[i] > o->lines[i].left)
				e->shares[i] = o->lines[i].left;
			taken += e->shares[i] > 0 ? e->shares[i] : 0;
		}
		if (taken > 0) {
			qo_discount *d = QO_PUSH(m.r->arena, &o->order_discounts);
			if (d == NULL)
				return luaL_error(L, "out of memory");
			d->promotion_id = p->id;
			d->kind = p->kind;
			d->amount = taken;
			d->description = p->name;
			for (size_t i = 0; i < m.n; i++)
				if (e->shares[i] > 0) {
					if (quote_add_order_share(m.r, i, p->id, p->kind, e->shares[i], p->name))
						return luaL_error(L, "out of memory");
					o->lines[i].left -= e->shares[i];
				}
		}
	} else {
		for (size_t i = 0; i < m.n; i++) {
			qo_line *l = &o->lines[i];
			int64_t amount = e->lines[i] < l->left ? e->lines[i] : l->left;
			if (amount > 0) {
				if (quote_add_line_discount(m.r, i, p->id, p->kind, amount, desc) != DD_OK)
					return luaL_error(L, "out of memory");
				l->left -= amount;
				l->free_value = l->free_value - amount > 0 ? l->free_value - amount : 0;
				taken += amount;
			}
			int64_t used = e->used ? min64(e->used[i], l->free_units) : 0;
			if (used > 0) {
				l->free_units -= used;
				if (e->bundle) /* item promotions later see only the units
				                  no bundle used */
					l->free_value = min64(l->free_value,
					                      mul(&m, l->free_units, l->unit_price));
			}
		}
	}
	e->total = taken;
	if (e->gift_sku) {
		struct qo_gift *g = QO_PUSH(m.r->arena, &m.r->gifts);
		if (g == NULL)
			return luaL_error(L, "out of memory");
		g->promotion_id = p->id;
		g->sku = e->gift_sku;
		g->quantity = e->gift_quantity;
		g->description = p->name;
	}
	if (e->multiplier > o->points_multiplier)
		o->points_multiplier = e->multiplier;
	if (m.r->explain)
		quote_trace_text(m.r, "promotions", p->id, 1,
		                 quote_text(m.r->arena, e->detail, strlen(e->detail), 1023));
	/* the order's totals follow at once: later promotions and conditions
	 * read them */
	o->discount_total += e->total;
	o->total -= e->total;
	lua_pushinteger(L, (lua_Integer)e->total);
	return 1;
}

static int lua_note(lua_State *L)
{
	mech m;
	begin(&m, L, 1);
	size_t lc, lm;
	const char *code = luaL_checklstring(L, 2, &lc);
	const char *msg = luaL_checklstring(L, 3, &lm);
	dd_sandbox_charge(L, lc + lm);
	const char *c = quote_text(m.r->arena, code, lc, 64);
	const char *t = quote_text(m.r->arena, msg, lm, QO_MAX_TEXT);
	if (c == NULL || t == NULL || quote_add_note(m.r, m.p->id, c, t) != DD_OK)
		return luaL_error(L, "out of memory");
	return 0;
}

void quote_mechanics_register(dd_quoter *q)
{
	dd_sandbox_register(q->sb, "promotion_in_force", lua_in_force, q);
	dd_sandbox_register(q->sb, "promotion_effect", lua_effect, q);
	dd_sandbox_register(q->sb, "effect_total", lua_effect_total, q);
	dd_sandbox_register(q->sb, "promotion_commit", lua_commit, q);
	dd_sandbox_register(q->sb, "promotion_note", lua_note, q);
}
