/* dealdesk csv: an RFC 4180 reader for the admin CLI's bulk loads.
 *
 * Fields are separated by commas and records end with CRLF or LF (a lone CR
 * too). A field that starts with a double quote is quoted: it may hold commas,
 * line breaks and doubled quotes ("" = one "), and must be followed by a
 * comma or the end of the record. A quote inside an unquoted field, text after
 * a closing quote, an unterminated quoted field, a NUL byte or invalid UTF-8
 * are errors naming the line. Blank lines are skipped; a leading UTF-8 BOM is
 * ignored. Nothing is trimmed.
 */
#ifndef DEALDESK_CSV_H
#define DEALDESK_CSV_H

#include <stddef.h>

#include "dealdesk/error.h"

typedef struct dd_csv_record {
	size_t line;     /* 1-based line of the input where the record starts */
	size_t n_fields; /* >= 1 */
	char **fields;   /* NUL-terminated, owned by the dd_csv */
	const unsigned char *quoted; /* n_fields flags: field i was quoted (1) */
} dd_csv_record;

typedef struct dd_csv {
	size_t n_records;
	dd_csv_record *records; /* records[0] is the header row when there is one */
} dd_csv;

/* Parses len bytes into a new table *out (free with dd_csv_free). Returns
 * DD_OK, DD_EINVAL (err says the line and why) or DD_ENOMEM. */
int dd_csv_parse(const char *data, size_t len, dd_csv **out, dd_error *err);

/* Frees the table and every string in it. NULL is fine. */
void dd_csv_free(dd_csv *csv);

/* Index of the field of rec equal to name, ignoring ASCII case and surrounding
 * spaces (for looking up header columns), or -1. */
int dd_csv_find(const dd_csv_record *rec, const char *name);

#endif
