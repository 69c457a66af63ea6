/* dealdesk quote: small operations on the order state (order.h). */
#include "quoter.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "readers.h"

void *quote_vec_push(dd_arena *a, void *vec, size_t elem)
{
	struct { char *v; size_t n, cap; } *x = vec;
	if (x->n == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 4;
		char *n = dd_arena_alloc(a, cap * elem);
		if (n == NULL)
			return NULL;
		if (x->n)
			memcpy(n, x->v, x->n * elem);
		x->v = n;
		x->cap = cap;
	}
	char *p = x->v + x->n++ * elem;
	memset(p, 0, elem);
	return p;
}

void quote_trace_text(quote_run *r, const char *stage, const char *rule, int applied,
                      const char *detail)
{
	if (!r->explain || stage == NULL || rule == NULL || detail == NULL)
		return;
	qo_trace *t = QO_PUSH(r->arena, &r->order.trace);
	if (t == NULL)
		return;
	t->stage = stage;
	t->rule = rule;
	t->applied = applied;
	t->detail = detail;
}

void quote_trace(quote_run *r, const char *stage, const char *rule, int applied,
                 const char *fmt, ...)
{
	if (!r->explain)
		return;
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	size_t len = (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1;
	dd_arena *a = r->arena;
	quote_trace_text(r, quote_text(a, stage, strlen(stage), 64),
	                 quote_text(a, rule, strlen(rule), 128), applied, quote_text(a, buf, len, 1023));
}

static int add_discount(quote_run *r, qo_discounts *list, qo_line *l, const char *promo,
                        int kind, int64_t amount, const char *desc)
{
	qo_discount *d = QO_PUSH(r->arena, list);
	if (d == NULL)
		return dd_error_set(r->err, DD_ENOMEM, "out of memory");
	d->promotion_id = promo;
	d->kind = kind;
	d->amount = amount;
	d->description = desc;
	l->discount += amount; /* callers keep it <= the subtotal */
	return DD_OK;
}

int quote_add_line_discount(quote_run *r, size_t i, const char *promo, int kind,
                         int64_t amount, const char *desc)
{
	qo_line *l = &r->order.lines[i];
	return add_discount(r, &l->line_disc, l, promo, kind, amount, desc);
}

int quote_add_order_share(quote_run *r, size_t i, const char *promo, int kind,
                       int64_t amount, const char *desc)
{
	qo_line *l = &r->order.lines[i];
	return add_discount(r, &l->order_disc, l, promo, kind, amount, desc);
}

int quote_add_note(quote_run *r, const char *promo, const char *code, const char *msg)
{
	if (r->order.notes.n >= QO_MAX_NOTES)
		return DD_OK;
	qo_note *n = QO_PUSH(r->arena, &r->order.notes);
	if (n == NULL || msg == NULL)
		return dd_error_set(r->err, DD_ENOMEM, "out of memory");
	n->promotion_id = promo;
	n->code = code;
	n->message = msg;
	return DD_OK;
}

const char *quote_money(const qo_order *o, int64_t amount, char buf[48])
{
	if (dd_money_format(amount, o->exponent, buf, 48) < 0)
		snprintf(buf, 48, "%lld", (long long)amount);
	return buf;
}

int quote_in_list(char *const *items, size_t n, const char *s)
{
	for (size_t k = 0; k < n; k++)
		if (strcmp(items[k], s) == 0)
			return 1;
	return 0;
}
