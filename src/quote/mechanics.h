/* dealdesk quote: the promotion mechanics' private parts, shared by
 * mechanics.c (the primitives) and kinds.c (the arithmetic of each kind):
 * an effect, the context of one primitive call, and small helpers. */
#ifndef DD_QUOTE_MECHANICS_H
#define DD_QUOTE_MECHANICS_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "quoter.h"
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

static inline const char *money(const mech *m, int64_t v, char buf[48])
{
	return quote_money(m->o, v, buf);
}

/* A reason: spelt out when someone reads it, else its template. */
static inline const char *why(mech *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline const char *why(mech *m, const char *fmt, ...)
{
	if (!m->r->verbose)
		return fmt;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m->why, sizeof(m->why), fmt, ap);
	va_end(ap);
	return m->why;
}

static inline const char *fmt_always(mech *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline const char *fmt_always(mech *m, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m->why, sizeof(m->why), fmt, ap);
	va_end(ap);
	return m->why;
}

static inline int64_t add(mech *m, int64_t a, int64_t b)
{
	int64_t v;
	if (dd_money_add(a, b, &v) != DD_OK)
		luaL_error(m->L, "promotion %s: amount overflows int64", m->p->id);
	return v;
}

static inline int64_t mul(mech *m, int64_t a, int64_t b)
{
	int64_t v;
	if (dd_money_mul(a, b, &v) != DD_OK)
		luaL_error(m->L, "promotion %s: amount overflows int64", m->p->id);
	return v;
}

static inline int64_t bps(mech *m, int64_t amount, int64_t rate, dd_rounding mode)
{
	int64_t v;
	if (dd_money_bps(amount, rate, mode, &v) != DD_OK)
		luaL_error(m->L, "promotion %s: amount overflows int64", m->p->id);
	return v;
}

static inline int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* floor division, as Lua's // on integers */
static inline int64_t floordiv(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

static inline void allocate(mech *m, int64_t total, const int64_t *w, const int64_t *caps, int64_t *out)
{
	dd_sandbox_charge(m->L, (uint64_t)(m->n * m->n));
	int rc = dd_money_allocate(total, w, caps, m->n, out);
	if (rc != DD_OK)
		luaL_error(m->L, "promotion %s: cannot split %lld: %s", m->p->id, (long long)total,
		           dd_strerror(rc));
}


/* Is line i one the promotion targets? (No targets = every line.) */
static inline int targets(const mech *m, size_t i)
{
	const qo_line *l = &m->o->lines[i];
	const Dealdesk__V1__Promotion *p = m->p;
	if (l->gift)
		return 0;
	if (p->n_skus == 0 && p->n_categories == 0)
		return 1;
	return quote_in_list(p->skus, p->n_skus, l->sku) ||
	       quote_in_list(p->categories, p->n_categories, l->price->category);
}

/* ---- effects -------------------------------------------------------------- */

static inline qm_effect *new_effect(mech *m, int order)
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

static inline int64_t *line_array(mech *m)
{
	int64_t *v = dd_arena_calloc(m->r->arena, m->n, sizeof(int64_t));
	if (v == NULL)
		luaL_error(m->L, "out of memory");
	return v;
}

static inline void add_line(qm_effect *e, size_t i, int64_t amount)
{
	if (amount > 0) {
		e->lines[i] += amount; /* <= what the line costs: no overflow */
		e->total += amount;
	}
}

static inline void detail_(mech *m, qm_effect *e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static inline void detail_(mech *m, qm_effect *e, const char *fmt, ...)
{
	size_t used = strlen(e->detail);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->detail + used, sizeof(e->detail) - used, fmt, ap);
	va_end(ap);
}

/* The explain trace's detail of an effect: its arguments (amounts spelt
 * out) are only worked out when the request asked for the trace. */
#define detail(m, e, ...)                                                 \
	do {                                                              \
		if ((m)->r->explain)                                      \
			detail_((m), (e), __VA_ARGS__);                   \
	} while (0)

/* The rate and amount of the customer's experiment arm. */
typedef struct arm_view {
	int64_t percent_bps, amount;
} arm_view;

/* kinds.c: each returns NULL and sets *out, or the reason it gives nothing */
const char *quote_kind_arm(mech *m, arm_view *v);
const char *quote_kind_items(mech *m, const arm_view *v, qm_effect **out);
const char *quote_kind_bundle(mech *m, qm_effect **out);
const char *quote_kind_buy_x_get_y(mech *m, const arm_view *v, qm_effect **out);
const char *quote_kind_spend_threshold(mech *m, const arm_view *v, qm_effect **out);
const char *quote_kind_custom(mech *m, int arg, qm_effect **out);
int quote_kind_cart_has_target(const mech *m);

#endif
