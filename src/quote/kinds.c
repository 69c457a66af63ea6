/* dealdesk quote: the arithmetic of the built-in promotion kinds over the
 * order state, as README "Promotion kinds" describes it (the primitives
 * that call it are in mechanics.c). */
#include "mechanics.h"

const char *quote_kind_arm(mech *m, arm_view *v)
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
const char *quote_kind_items(mech *m, const arm_view *v, qm_effect **out)
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

const char *quote_kind_bundle(mech *m, qm_effect **out)
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

/* qsort has no context argument: the lines being sorted, per thread */
static __thread const qo_line *sort_lines;

static int cheaper(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int64_t px = sort_lines[x].unit_price, py = sort_lines[y].unit_price;
	if (px != py)
		return px < py ? -1 : 1;
	return x < y ? -1 : x > y;
}

const char *quote_kind_buy_x_get_y(mech *m, const arm_view *v, qm_effect **out)
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

const char *quote_kind_spend_threshold(mech *m, const arm_view *v, qm_effect **out)
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
int quote_kind_cart_has_target(const mech *m)
{
	for (size_t i = 0; i < m->n; i++)
		if (targets(m, i))
			return 1;
	return m->p->n_skus == 0 && m->p->n_categories == 0;
}

/* CUSTOM: {[line] = amount} from the policy's own function, each an
 * integer >= 0, capped (like every kind) by what the line still costs */
const char *quote_kind_custom(mech *m, int arg, qm_effect **out)
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
