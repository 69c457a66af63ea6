/* Fuzz target: the CSV reader of the admin CLI's bulk loads
 * (src/client/csv.c, dealdesk/csv.h).
 *
 * Input: the CSV text. Checked besides the sanitizers: a table parsed
 * without error holds records of >= 1 field each, every field valid UTF-8
 * without NUL, lines increasing from 1; written back with every field
 * quoted it parses to the very same fields; dd_csv_find finds the first
 * field of a record equal to a header name. */
#include <string.h>

#include "dealdesk/csv.h"
#include "dealdesk/model.h"
#include "fuzz.h"

/* The table as CSV with every field quoted (quotes doubled), LF ends. */
static char *write_back(const dd_csv *t, size_t *len)
{
	size_t cap = 1;
	for (size_t r = 0; r < t->n_records; r++)
		for (size_t i = 0; i < t->records[r].n_fields; i++)
			cap += 2 * strlen(t->records[r].fields[i]) + 3;
	char *out = malloc(cap);
	FUZZ_CHECK(out != NULL, "out of memory");
	size_t o = 0;
	for (size_t r = 0; r < t->n_records; r++) {
		const dd_csv_record *rec = &t->records[r];
		for (size_t i = 0; i < rec->n_fields; i++) {
			out[o++] = '"';
			for (const char *p = rec->fields[i]; *p; p++) {
				if (*p == '"')
					out[o++] = '"';
				out[o++] = *p;
			}
			out[o++] = '"';
			out[o++] = i + 1 < rec->n_fields ? ',' : '\n';
		}
	}
	*len = o;
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	dd_csv *t = NULL;
	dd_error err;
	dd_error_clear(&err);
	int rc = dd_csv_parse((const char *)data, size, &t, &err);
	if (rc != DD_OK) {
		FUZZ_CHECK(t == NULL, "a table with an error");
		FUZZ_CHECK(rc == DD_EINVAL || rc == DD_ENOMEM, "rc %d", rc);
		FUZZ_CHECK(strncmp(err.msg, "line ", 5) == 0 || rc == DD_ENOMEM,
		           "message '%s' names no line", err.msg);
		return 0;
	}
	FUZZ_CHECK(t != NULL, "no table");
	size_t last = 0;
	for (size_t r = 0; r < t->n_records; r++) {
		const dd_csv_record *rec = &t->records[r];
		FUZZ_CHECK(rec->n_fields >= 1, "record %zu has no field", r);
		FUZZ_CHECK(rec->line > last, "record %zu: line %zu after %zu", r, rec->line, last);
		last = rec->line;
		for (size_t i = 0; i < rec->n_fields; i++) {
			const char *f = rec->fields[i];
			FUZZ_CHECK(dd_utf8_valid(f, strlen(f)), "record %zu field %zu: bad UTF-8", r, i);
			/* a header name is looked up trimmed of spaces and tabs */
			size_t b = strspn(f, " \t"), e = strlen(f);
			while (e > b && (f[e - 1] == ' ' || f[e - 1] == '\t'))
				e--;
			char *name = strndup(f + b, e - b);
			FUZZ_CHECK(name != NULL, "out of memory");
			int at = dd_csv_find(rec, name);
			FUZZ_CHECK(at >= 0 && at <= (int)i, "dd_csv_find: %d for field %zu", at, i);
			free(name);
		}
	}
	size_t len;
	char *text = write_back(t, &len);
	dd_csv *again = NULL;
	rc = dd_csv_parse(text, len, &again, &err);
	FUZZ_CHECK(rc == DD_OK, "the table written back does not parse: %s", err.msg);
	FUZZ_CHECK(again->n_records == t->n_records, "%zu records, then %zu", t->n_records,
	           again->n_records);
	for (size_t r = 0; r < t->n_records; r++) {
		FUZZ_CHECK(again->records[r].n_fields == t->records[r].n_fields,
		           "record %zu: %zu fields, then %zu", r, t->records[r].n_fields,
		           again->records[r].n_fields);
		for (size_t i = 0; i < t->records[r].n_fields; i++)
			FUZZ_CHECK(strcmp(again->records[r].fields[i], t->records[r].fields[i]) == 0,
			           "record %zu field %zu differs", r, i);
	}
	free(text);
	dd_csv_free(again);
	dd_csv_free(t);
	return 0;
}
