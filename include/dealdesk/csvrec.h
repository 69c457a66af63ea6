/* dealdesk csvrec: records of one protobuf message type as CSV rows, both
 * ways, for the spreadsheet round trips of the admin CLI.
 *
 * The columns are the message's fields by proto name, a sub-message's
 * fields as "parent.field" ("credit.credit_limit"). A header row names the
 * columns a file has, in any order (ASCII case and surrounding spaces
 * ignored); a column the message does not have is an error. Unquoted cells
 * are trimmed (a quoted one is kept as it is, spaces included); an empty
 * cell leaves the field at its default, and a sub-message
 * whose cells are all empty stays unset.
 *
 * Values: strings as they are (UTF-8, checked by the CSV reader); integers in
 * decimal; bools true/false (also yes/no, 1/0); enums by name
 * ("PERCENTAGE" or "PROMOTION_KIND_PERCENTAGE"); money columns (the spec
 * names them with the column of their currency) in major units converted
 * exactly with the currency's ISO 4217 exponent ("12.34" USD = 1234, "1234"
 * JPY = 1234, "1.234" KWD = 1234): more decimals than the currency has is an
 * error, never rounded. Repeated fields: strings separated by ';'
 * ("WIDGET-1;CABLE-3"), or a JSON array in proto JSON (the only form for
 * repeated sub-messages, whose amounts stay minor units).
 *
 * Reading checks every row and collects every problem (line, column and
 * reason) instead of stopping at the first; two rows with the same key are
 * a problem naming both lines. Writing produces exactly what reading turns
 * back into the same messages.
 */
#ifndef DEALDESK_CSVREC_H
#define DEALDESK_CSVREC_H

#include <stddef.h>
#include <stdio.h>

#include <protobuf-c/protobuf-c.h>

#include "dealdesk/error.h"

typedef struct dd_csvrec_money {
	const char *column;   /* "credit.credit_limit" */
	const char *currency; /* the column holding its currency: "credit.currency" */
} dd_csvrec_money;

typedef struct dd_csvrec_spec {
	const ProtobufCMessageDescriptor *desc; /* the record type */
	const char *noun;                 /* "price entry", for messages */
	const char *const *key;           /* NULL-terminated: the columns of the key */
	const char *const *required;      /* NULL-terminated: in the header and never empty */
	const char *const *omit;          /* NULL-terminated or NULL: fields not in the CSV */
	const dd_csvrec_money *money;     /* ends with { NULL, NULL } */
	/* Optional, ends with { NULL, NULL }: a top-level column left empty (or
	 * absent) takes the value of another ({ "open_amount", "amount" }). */
	const struct dd_csvrec_default {
		const char *column, *from;
	} *defaults;
	/* Optional: more checks of one converted record (the model's
	 * validation); fills err with "field: reason". */
	int (*validate)(const ProtobufCMessage *m, dd_error *err);
} dd_csvrec_spec;

typedef struct dd_csvrec_result {
	ProtobufCMessage **records; /* n, in row order (protobuf_c_message_free_unpacked each) */
	size_t n;
	char **problems;            /* n_problems lines "line 3, column unit_price: ..." */
	size_t n_problems;          /* at most 10001: the last then says there were more */
	size_t total_problems;      /* all of them */
	size_t rows;                /* data rows in the file */
} dd_csvrec_result;

/* Reads len bytes of CSV with a header row into out. Returns DD_OK when the
 * file could be read at all (then out->n_problems says whether its rows are
 * good: with any problem, use none of the records), DD_EINVAL when it is no
 * CSV of this kind (malformed CSV, empty, unknown or missing columns; err
 * says why), DD_ENOMEM. Free out with dd_csvrec_result_free either way. */
int dd_csvrec_read(const dd_csvrec_spec *spec, const char *data, size_t len,
                   dd_csvrec_result *out, dd_error *err);
void dd_csvrec_result_free(dd_csvrec_result *r);

/* Writes the header row then one row per record (RFC 4180 quoting, CRLF
 * line ends). DD_OK, DD_EINVAL (a record of another type), or DD_ESTORE
 * when the stream fails. */
int dd_csvrec_write(const dd_csvrec_spec *spec, ProtobufCMessage *const *records, size_t n,
                    FILE *out, dd_error *err);

/* Writes one field, quoted when it holds a comma, quote, CR or LF or
 * starts or ends with a space. */
void dd_csv_write_field(FILE *out, const char *s);

#endif
