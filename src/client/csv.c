/* dealdesk csv: RFC 4180 reader (see csv.h).
 *
 * One pass over the input. Each record's unquoted text is collected in a
 * scratch buffer, then copied into one allocation holding the field pointer
 * array followed by the field strings, so a record costs one malloc.
 */
#include "dealdesk/csv.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dealdesk/model.h"

typedef struct scratch {
	char *text;
	size_t len, cap;
	size_t *starts; /* offset of each field in text */
	unsigned char *quoted; /* whether each field was quoted */
	size_t n, ncap;
} scratch;

static bool scratch_putc(scratch *s, char c)
{
	if (s->len == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		char *t = realloc(s->text, cap);
		if (t == NULL)
			return false;
		s->text = t;
		s->cap = cap;
	}
	s->text[s->len++] = c;
	return true;
}

static bool scratch_field_start(scratch *s)
{
	if (s->n == s->ncap) {
		size_t cap = s->ncap ? s->ncap * 2 : 16;
		size_t *t = realloc(s->starts, cap * sizeof(*t));
		if (t == NULL)
			return false;
		s->starts = t;
		unsigned char *q = realloc(s->quoted, cap);
		if (q == NULL)
			return false;
		s->quoted = q;
		s->ncap = cap;
	}
	s->quoted[s->n] = 0;
	s->starts[s->n++] = s->len;
	return true;
}

static bool table_add(dd_csv *csv, size_t *cap, const scratch *s, size_t line)
{
	if (csv->n_records == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		dd_csv_record *r = realloc(csv->records, ncap * sizeof(*r));
		if (r == NULL)
			return false;
		csv->records = r;
		*cap = ncap;
	}
	char **block = malloc(s->n * sizeof(char *) + s->n + s->len);
	if (block == NULL)
		return false;
	unsigned char *quoted = (unsigned char *)(block + s->n);
	char *text = (char *)(quoted + s->n);
	memcpy(quoted, s->quoted, s->n);
	memcpy(text, s->text, s->len);
	for (size_t i = 0; i < s->n; i++)
		block[i] = text + s->starts[i];
	csv->records[csv->n_records++] = (dd_csv_record){
		.line = line, .n_fields = s->n, .fields = block, .quoted = quoted,
	};
	return true;
}

/* Parses one field starting at *pos; leaves *pos at the delimiter after it
 * (',' '\r' '\n') or at len. */
static int parse_field(const char *d, size_t len, size_t *pos, size_t *line, scratch *s,
                       dd_error *err)
{
	size_t i = *pos;
	if (!scratch_field_start(s))
		return dd_error_set(err, DD_ENOMEM, "out of memory");

	if (i < len && d[i] == '"') {
		size_t start_line = *line;
		s->quoted[s->n - 1] = 1;
		for (i++;; i++) {
			if (i >= len)
				return dd_error_set(err, DD_EINVAL,
				                    "line %zu: quoted field is not closed", start_line);
			if (d[i] == '"') {
				if (i + 1 < len && d[i + 1] == '"') {
					i++;
				} else {
					i++;
					break;
				}
			} else if (d[i] == '\n') {
				(*line)++;
			}
			if (!scratch_putc(s, d[i]))
				return dd_error_set(err, DD_ENOMEM, "out of memory");
		}
		if (i < len && d[i] != ',' && d[i] != '\r' && d[i] != '\n')
			return dd_error_set(err, DD_EINVAL,
			                    "line %zu: unexpected text after a closing quote", *line);
	} else {
		for (; i < len && d[i] != ',' && d[i] != '\r' && d[i] != '\n'; i++) {
			if (d[i] == '"')
				return dd_error_set(err, DD_EINVAL,
				                    "line %zu: quote inside an unquoted field "
				                    "(quote the whole field and double the quote)",
				                    *line);
			if (!scratch_putc(s, d[i]))
				return dd_error_set(err, DD_ENOMEM, "out of memory");
		}
	}
	if (!scratch_putc(s, '\0'))
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	*pos = i;
	return DD_OK;
}

static int parse_all(const char *d, size_t len, dd_csv *csv, dd_error *err)
{
	scratch s = { 0 };
	size_t cap = 0, pos = 0, line = 1;
	int rc = DD_OK;

	if (len >= 3 && memcmp(d, "\xEF\xBB\xBF", 3) == 0)
		pos = 3;
	while (pos < len && rc == DD_OK) {
		if (d[pos] == '\n' || d[pos] == '\r') { /* blank line */
			if (d[pos] == '\r' && pos + 1 < len && d[pos + 1] == '\n')
				pos++;
			pos++;
			line++;
			continue;
		}
		size_t record_line = line;
		s.len = 0;
		s.n = 0;
		for (;;) {
			rc = parse_field(d, len, &pos, &line, &s, err);
			if (rc != DD_OK || pos >= len || d[pos] != ',')
				break;
			pos++; /* the comma; a record may end with an empty field */
		}
		if (rc != DD_OK)
			break;
		if (pos < len) { /* the line end */
			if (d[pos] == '\r' && pos + 1 < len && d[pos + 1] == '\n')
				pos++;
			pos++;
			line++;
		}
		if (!table_add(csv, &cap, &s, record_line))
			rc = dd_error_set(err, DD_ENOMEM, "out of memory");
	}
	free(s.text);
	free(s.starts);
	free(s.quoted);
	return rc;
}

static size_t line_of(const char *d, size_t off)
{
	size_t line = 1;
	for (size_t i = 0; i < off; i++)
		if (d[i] == '\n')
			line++;
	return line;
}

int dd_csv_parse(const char *data, size_t len, dd_csv **out, dd_error *err)
{
	*out = NULL;
	const char *nul = memchr(data, '\0', len);
	if (nul != NULL)
		return dd_error_set(err, DD_EINVAL, "line %zu: NUL byte",
		                    line_of(data, (size_t)(nul - data)));
	size_t bad = dd_utf8_check(data, len);
	if (bad != len)
		return dd_error_set(err, DD_EINVAL, "line %zu: invalid UTF-8",
		                    line_of(data, bad));

	dd_csv *csv = calloc(1, sizeof(*csv));
	if (csv == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	int rc = parse_all(data, len, csv, err);
	if (rc != DD_OK) {
		dd_csv_free(csv);
		return rc;
	}
	*out = csv;
	return DD_OK;
}

void dd_csv_free(dd_csv *csv)
{
	if (csv == NULL)
		return;
	for (size_t i = 0; i < csv->n_records; i++)
		free(csv->records[i].fields);
	free(csv->records);
	free(csv);
}

int dd_csv_find(const dd_csv_record *rec, const char *name)
{
	size_t nlen = strlen(name);
	for (size_t i = 0; i < rec->n_fields; i++) {
		const char *f = rec->fields[i];
		while (*f == ' ' || *f == '\t')
			f++;
		size_t flen = strlen(f);
		while (flen > 0 && (f[flen - 1] == ' ' || f[flen - 1] == '\t'))
			flen--;
		if (flen == nlen && strncasecmp(f, name, nlen) == 0)
			return (int)i;
	}
	return -1;
}
