/* dealdesk CLI: plain-text tables with aligned columns. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

struct cli_table {
	size_t ncols;
	char align[16];
	char **cells; /* rows * ncols, row 0 = headers */
	size_t rows, cap;
};

/* Display width: UTF-8 code points (no East Asian width, no combining marks). */
static size_t text_width(const char *s)
{
	size_t w = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			w++;
	return w;
}

cli_table *cli_table_new(const char *align, const char *const *headers)
{
	cli_table *t = calloc(1, sizeof(*t));
	if (t == NULL)
		abort();
	t->ncols = strlen(align);
	if (t->ncols >= sizeof(t->align))
		abort();
	memcpy(t->align, align, t->ncols);
	cli_table_row(t, headers);
	return t;
}

void cli_table_row(cli_table *t, const char *const *cells)
{
	if (t->rows == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->cells = realloc(t->cells, t->cap * t->ncols * sizeof(char *));
		if (t->cells == NULL)
			abort(); /* a CLI listing: nothing sensible to do */
	}
	for (size_t i = 0; i < t->ncols; i++) {
		char *copy = strdup(cells[i] ? cells[i] : "");
		if (copy == NULL)
			abort();
		/* one line per cell: newlines and tabs would break the layout */
		for (char *p = copy; *p; p++)
			if (*p == '\n' || *p == '\r' || *p == '\t')
				*p = ' ';
		t->cells[t->rows * t->ncols + i] = copy;
	}
	t->rows++;
}

void cli_table_print(const cli_table *t, FILE *f, const char *indent)
{
	size_t width[16] = { 0 };
	for (size_t r = 0; r < t->rows; r++)
		for (size_t i = 0; i < t->ncols; i++) {
			size_t w = text_width(t->cells[r * t->ncols + i]);
			if (w > width[i])
				width[i] = w;
		}
	for (size_t r = 0; r < t->rows; r++) {
		const char *const *row = (const char *const *)&t->cells[r * t->ncols];
		size_t ncols = t->ncols; /* trailing empty cells: no trailing spaces */
		while (ncols > 1 && row[ncols - 1][0] == '\0')
			ncols--;
		fputs(indent, f);
		for (size_t i = 0; i < ncols; i++) {
			size_t pad = width[i] - text_width(row[i]);
			bool last = i + 1 == ncols;
			if (t->align[i] == 'r')
				fprintf(f, "%*s%s", (int)pad, "", row[i]);
			else
				fprintf(f, "%s%*s", row[i], last ? 0 : (int)pad, "");
			if (!last)
				fputs("  ", f);
		}
		fputc('\n', f);
	}
}

void cli_table_free(cli_table *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->rows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}
