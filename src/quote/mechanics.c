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
#include "mechanics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "readers.h"

/* Finds the promotion of the table at arg (by its identity) among the run's
 * candidates. */
static void begin(mech *m, lua_State *L, int arg)
{
	dd_quoter *q = lua_touserdata(L, lua_upvalueindex(1));
	if (q->run == NULL || q->run->stage != QS_PROMOTE)
		luaL_error(L, "promotion primitives work only in the promotions policy "
		              "(not in another policy or a promotion's condition)");
	m->why[0] = '\0'; /* written by why() when asked; not cleared whole */
	m->cand = NULL;
	m->p = NULL;
	m->L = L;
	m->q = q;
	m->r = q->run;
	m->o = &q->run->order;
	m->n = m->o->nrequested;
	luaL_checktype(L, arg, LUA_TTABLE);
	ptrdiff_t slot = quote_table_slot(q, 1, L, arg);
	if (slot < 0)
		luaL_error(L, "argument #%d is not a promotion of this quote (one of the "
		              "promotions the policy was given)", arg);
	/* candidates are in slot order: binary search */
	size_t lo = 0, hi = m->o->candidates.n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if ((ptrdiff_t)m->o->candidates.v[mid].slot < slot)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == m->o->candidates.n || (ptrdiff_t)m->o->candidates.v[lo].slot != slot)
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
	if (p->review == DEALDESK__V1__PROMOTION_REVIEW__PROMOTION_REVIEW_PENDING)
		return "awaiting compliance approval (ApprovePromotion)";
	if (p->valid_from != 0 && o->time < p->valid_from)
		return "not started yet";
	if (p->valid_to != 0 && o->time >= p->valid_to)
		return "expired";
	if (*p->currency && strcmp(p->currency, o->req->currency) != 0)
		return why(m, "only for %s orders", p->currency);
	if (!*p->currency && amount_kind(p->kind))
		return "has amounts but no currency";
	if (p->n_channels && !quote_in_list(p->channels, p->n_channels, o->channel))
		return why(m, "not offered in channel '%s'", o->channel);
	if (p->n_regions && !quote_in_list(p->regions, p->n_regions, o->region))
		return why(m, "not offered in region '%s'", o->region);
	if (p->n_customer_groups && !quote_in_list(p->customer_groups, p->n_customer_groups,
	                                     c->customer_group))
		return why(m, "not for customer group '%s'", c->customer_group);
	if (p->n_customer_segments && !quote_in_list(p->customer_segments, p->n_customer_segments,
	                                       c->segment))
		return why(m, "not for customer segment '%s'", c->segment);
	if (p->n_customer_tiers && !quote_in_list(p->customer_tiers, p->n_customer_tiers,
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
	const char *reason = quote_kind_arm(&m, &v);
	qm_effect *e = NULL;
	if (reason == NULL) {
		switch (p->kind) {
		case DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_PERCENTAGE:
		case DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_FIXED_AMOUNT:
		case DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_FIXED_PRICE:
			reason = quote_kind_items(&m, &v, &e);
			break;
		case DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_BUNDLE:
			reason = quote_kind_bundle(&m, &e);
			break;
		case DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_BUY_X_GET_Y:
			reason = quote_kind_buy_x_get_y(&m, &v, &e);
			break;
		case DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_SPEND_THRESHOLD:
			reason = quote_kind_spend_threshold(&m, &v, &e);
			break;
		case DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_FREE_GIFT:
			if (!quote_kind_cart_has_target(&m)) {
				reason = "no qualifying item in the cart";
				break;
			}
			e = new_effect(&m, 0);
			e->gift_sku = p->gift_sku;
			e->gift_quantity = p->gift_quantity ? p->gift_quantity : 1;
			detail(&m, e, "gift: %lld x %s", (long long)e->gift_quantity, p->gift_sku);
			break;
		case DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_LOYALTY_POINTS:
			if (!quote_kind_cart_has_target(&m)) {
				reason = "no qualifying item in the cart";
				break;
			}
			e = new_effect(&m, 0);
			e->multiplier = p->points_multiplier;
			detail(&m, e, "points x%d", p->points_multiplier);
			break;
		case DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_CUSTOM:
			reason = quote_kind_custom(&m, 2, &e);
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
	if (p->review == DEALDESK__V1__PROMOTION_REVIEW__PROMOTION_REVIEW_PENDING) {
		/* not in force whatever the policy decided (README "Reviewed rules") */
		e->total = 0;
		note(&m, "AWAITING_APPROVAL", "awaits compliance approval (ApprovePromotion)");
		lua_pushinteger(L, 0);
		return 1;
	}
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
	if (m.r->order.notes.n >= QO_MAX_NOTES) /* full: nothing to copy */
		return 0;
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
