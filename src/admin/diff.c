/* dealdesk admin: a unified diff of two texts by lines (DiffPolicies).
 * The longest common subsequence of the lines between the common prefix
 * and suffix; when that middle is too large for the table (more than
 * DIFF_MAX_CELLS), the whole middle is shown as replaced: still a correct
 * diff, only not the smallest. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dealdesk/governance.h"

#define DIFF_CONTEXT 3
#define DIFF_MAX_CELLS ((size_t)4 << 20)

typedef struct line {
	const char *s;
	size_t len; /* without the newline */
} line;

typedef struct op {
	char kind; /* ' ', '-', '+' */
	size_t a, b; /* line numbers (0-based) in a and b */
} op;

typedef struct buf {
	char *p;
	size_t len, cap;
	int failed;
} buf;

static void put(buf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (p == NULL) {
			b->failed = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void putf(buf *b, const char *fmt, size_t x, size_t y, size_t z, size_t w)
{
	char tmp[96];
	int n = snprintf(tmp, sizeof(tmp), fmt, x, y, z, w);
	put(b, tmp, (size_t)n);
}

static line *split(const char *s, size_t *n)
{
	size_t count = 0, cap = 64;
	line *v = malloc(cap * sizeof(*v));
	while (v && *s) {
		const char *nl = strchr(s, '\n');
		size_t len = nl ? (size_t)(nl - s) : strlen(s);
		if (count == cap) {
			line *w = realloc(v, 2 * cap * sizeof(*v));
			if (w == NULL) {
				free(v);
				return NULL;
			}
			v = w;
			cap *= 2;
		}
		v[count++] = (line){ s, len };
		s += len + (nl ? 1 : 0);
	}
	*n = count;
	return v;
}

static int same(const line *x, const line *y)
{
	return x->len == y->len && memcmp(x->s, y->s, x->len) == 0;
}

/* The edit script of a[0..na) to b[0..nb); NULL when out of memory. */
static op *edit_script(const line *a, size_t na, const line *b, size_t nb, size_t *nops)
{
	op *ops = malloc((na + nb + 1) * sizeof(*ops));
	if (ops == NULL)
		return NULL;
	size_t k = 0, pre = 0, suf = 0;
	while (pre < na && pre < nb && same(&a[pre], &b[pre]))
		pre++;
	while (suf < na - pre && suf < nb - pre && same(&a[na - 1 - suf], &b[nb - 1 - suf]))
		suf++;
	for (size_t i = 0; i < pre; i++)
		ops[k++] = (op){ ' ', i, i };
	size_t n = na - pre - suf, m = nb - pre - suf;
	const line *x = a + pre, *y = b + pre;
	uint16_t *t = NULL;
	if (n && m && (n + 1) * (m + 1) <= DIFF_MAX_CELLS)
		t = calloc((n + 1) * (m + 1), sizeof(*t));
	if (t != NULL) {
		/* t[i][j] = LCS length of x[i..) and y[j..) */
		for (size_t i = n; i-- > 0;)
			for (size_t j = m; j-- > 0;)
				t[i * (m + 1) + j] =
					same(&x[i], &y[j])
						? (uint16_t)(t[(i + 1) * (m + 1) + j + 1] + 1)
						: t[(i + 1) * (m + 1) + j] >= t[i * (m + 1) + j + 1]
							  ? t[(i + 1) * (m + 1) + j]
							  : t[i * (m + 1) + j + 1];
		size_t i = 0, j = 0;
		while (i < n || j < m) {
			if (i < n && j < m && same(&x[i], &y[j])) {
				ops[k++] = (op){ ' ', pre + i++, pre + j++ };
			} else if (j == m ||
			           (i < n && t[(i + 1) * (m + 1) + j] >= t[i * (m + 1) + j + 1])) {
				ops[k++] = (op){ '-', pre + i++, pre + j };
			} else {
				ops[k++] = (op){ '+', pre + i, pre + j++ };
			}
		}
		free(t);
	} else {
		for (size_t i = 0; i < n; i++)
			ops[k++] = (op){ '-', pre + i, pre };
		for (size_t j = 0; j < m; j++)
			ops[k++] = (op){ '+', pre + n, pre + j };
	}
	for (size_t i = 0; i < suf; i++)
		ops[k++] = (op){ ' ', na - suf + i, nb - suf + i };
	*nops = k;
	return ops;
}

/* One hunk: ops[from..to) */
static void hunk(buf *out, const op *ops, size_t from, size_t to, const line *a, const line *b)
{
	size_t na = 0, nb = 0;
	for (size_t i = from; i < to; i++) {
		na += ops[i].kind != '+';
		nb += ops[i].kind != '-';
	}
	/* unified diff numbers lines from 1; an empty range names the line before */
	size_t sa = na ? ops[from].a + 1 : ops[from].a, sb = nb ? ops[from].b + 1 : ops[from].b;
	putf(out, "@@ -%zu,%zu +%zu,%zu @@\n", sa, na, sb, nb);
	for (size_t i = from; i < to; i++) {
		const line *l = ops[i].kind == '+' ? &b[ops[i].b] : &a[ops[i].a];
		put(out, &ops[i].kind, 1);
		put(out, l->s, l->len);
		put(out, "\n", 1);
	}
}

char *dd_text_diff(const char *a_label, const char *a, const char *b_label, const char *b,
                   dd_arena *arena)
{
	size_t na = 0, nb = 0, nops = 0;
	line *la = split(a ? a : "", &na), *lb = split(b ? b : "", &nb);
	op *ops = la && lb ? edit_script(la, na, lb, nb, &nops) : NULL;
	char *result = NULL;
	buf out = { 0 };
	if (ops != NULL) {
		int changed = 0;
		for (size_t i = 0; i < nops && !changed; i++)
			changed = ops[i].kind != ' ';
		if (changed) {
			put(&out, "--- ", 4);
			put(&out, a_label, strlen(a_label));
			put(&out, "\n+++ ", 5);
			put(&out, b_label, strlen(b_label));
			put(&out, "\n", 1);
		}
		size_t i = 0;
		while (changed && i < nops) {
			while (i < nops && ops[i].kind == ' ')
				i++;
			if (i == nops)
				break;
			size_t start = i >= DIFF_CONTEXT ? i - DIFF_CONTEXT : 0;
			/* extend while the next change is within 2 * context */
			size_t end = i;
			for (;;) {
				while (end < nops && ops[end].kind != ' ')
					end++;
				size_t gap = end;
				while (gap < nops && ops[gap].kind == ' ' && gap - end < 2 * DIFF_CONTEXT + 1)
					gap++;
				if (gap < nops && ops[gap].kind != ' ' && gap - end <= 2 * DIFF_CONTEXT) {
					end = gap;
					continue;
				}
				break;
			}
			size_t stop = end + DIFF_CONTEXT < nops ? end + DIFF_CONTEXT : nops;
			hunk(&out, ops, start, stop, la, lb);
			i = stop;
		}
		if (!out.failed)
			result = dd_arena_strdup(arena, out.p ? out.p : "");
	}
	free(out.p);
	free(ops);
	free(la);
	free(lb);
	return result;
}
