/* dealdesk csvrec: protobuf records <-> CSV rows (see csvrec.h).
 *
 * A row is turned into a JSON object cell by cell (every cell checked here,
 * so each problem names its line and column), then into the message by
 * dd_pbjson_to_message. Writing walks the same columns over the message.
 */
#include "dealdesk/csvrec.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dealdesk/csv.h"
#include "dealdesk/money.h"
#include "dealdesk/pbjson.h"

#define MAX_DEPTH 3
#define MAX_COLUMNS 128
#define MAX_PROBLEMS 10000

typedef struct column {
	char name[96];
	const ProtobufCFieldDescriptor *path[MAX_DEPTH];
	int depth;
	int money_currency; /* index of the currency column, or -1; -2 not money */
	bool required, key;
} column;

typedef struct columns {
	column c[MAX_COLUMNS];
	int n;
} columns;

static bool in_list(const char *const *list, const char *name)
{
	for (; list != NULL && *list != NULL; list++)
		if (strcmp(*list, name) == 0)
			return true;
	return false;
}

static void add_columns(columns *cs, const dd_csvrec_spec *spec,
                        const ProtobufCMessageDescriptor *d, const char *prefix,
                        const ProtobufCFieldDescriptor **path, int depth)
{
	for (unsigned i = 0; i < d->n_fields && cs->n < MAX_COLUMNS; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		char name[96];
		snprintf(name, sizeof(name), "%s%s%s", prefix, *prefix ? "." : "", f->name);
		if (in_list(spec->omit, name))
			continue;
		path[depth] = f;
		if (f->type == PROTOBUF_C_TYPE_MESSAGE && f->label != PROTOBUF_C_LABEL_REPEATED &&
		    depth + 1 < MAX_DEPTH) {
			add_columns(cs, spec, f->descriptor, name, path, depth + 1);
			continue;
		}
		column *c = &cs->c[cs->n++];
		memset(c, 0, sizeof(*c));
		snprintf(c->name, sizeof(c->name), "%s", name);
		memcpy(c->path, path, sizeof(*path) * (size_t)(depth + 1));
		c->depth = depth + 1;
		c->money_currency = -2;
		c->required = in_list(spec->required, name);
		c->key = in_list(spec->key, name);
	}
}

static int find_column(const columns *cs, const char *name)
{
	for (int i = 0; i < cs->n; i++)
		if (strcasecmp(cs->c[i].name, name) == 0)
			return i;
	return -1;
}

static void build_columns(const dd_csvrec_spec *spec, columns *cs)
{
	const ProtobufCFieldDescriptor *path[MAX_DEPTH];
	cs->n = 0;
	add_columns(cs, spec, spec->desc, "", path, 0);
	for (const dd_csvrec_money *m = spec->money; m != NULL && m->column != NULL; m++) {
		int c = find_column(cs, m->column), cur = find_column(cs, m->currency);
		if (c >= 0 && cur >= 0)
			cs->c[c].money_currency = cur;
	}
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

/* ---- problems --------------------------------------------------------------- */

static int problem(dd_csvrec_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int problem(dd_csvrec_result *r, const char *fmt, ...)
{
	r->total_problems++;
	if (r->n_problems > MAX_PROBLEMS)
		return DD_OK; /* enough to read; the last line says there were more */
	if (r->n_problems % 64 == 0) {
		char **p = realloc(r->problems, (r->n_problems + 64) * sizeof(*p));
		if (p == NULL)
			return DD_ENOMEM;
		r->problems = p;
	}
	char buf[700];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (r->n_problems == MAX_PROBLEMS)
		snprintf(buf, sizeof(buf), "more than %d problems; the rest are not shown",
		         MAX_PROBLEMS);
	char *s = strdup(buf);
	if (s == NULL)
		return DD_ENOMEM;
	r->problems[r->n_problems++] = s;
	return DD_OK;
}

/* ---- reading one cell ----------------------------------------------------------- */

static bool parse_int(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
	if (*s == '\0' || !(*s == '-' || *s == '+' || isdigit((unsigned char)*s)))
		return false;
	errno = 0;
	char *end;
	long long v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

static bool parse_uint(const char *s, uint64_t hi, uint64_t *out)
{
	if (!isdigit((unsigned char)*s))
		return false;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > hi)
		return false;
	*out = v;
	return true;
}

static const char *type_words(const ProtobufCFieldDescriptor *f)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_SFIXED32:
		return "an integer (32 bits)";
	case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32:
		return "an integer >= 0 (32 bits)";
	case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
		return "an integer >= 0";
	default:
		return "an integer";
	}
}

/* One scalar (not repeated) cell to a JSON value, or NULL with *why. */
static json_object *scalar_value(const ProtobufCFieldDescriptor *f, const char *v, char *why,
                                 size_t wsize)
{
	int64_t i;
	uint64_t u;
	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING:
		return json_object_new_string(v);
	case PROTOBUF_C_TYPE_BOOL:
		if (!strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcmp(v, "1"))
			return json_object_new_boolean(1);
		if (!strcasecmp(v, "false") || !strcasecmp(v, "no") || !strcmp(v, "0"))
			return json_object_new_boolean(0);
		snprintf(why, wsize, "'%s' is not true or false", v);
		return NULL;
	case PROTOBUF_C_TYPE_ENUM: {
		int e;
		if (dd_pbjson_enum_parse(f->descriptor, v, &e) == DD_OK)
			return json_object_new_int(e);
		const ProtobufCEnumDescriptor *d = f->descriptor;
		size_t o = (size_t)snprintf(why, wsize, "'%s' is not one of", v);
		for (unsigned k = 0; k < d->n_values && o < wsize; k++) {
			if (d->values[k].value == 0)
				continue;
			o += (size_t)snprintf(why + o, wsize - o, " %s",
			                      dd_pbjson_enum_short_name(d, d->values[k].value));
		}
		return NULL;
	}
	case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_SFIXED32:
		if (parse_int(v, INT32_MIN, INT32_MAX, &i))
			return json_object_new_int64(i);
		break;
	case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
		if (parse_int(v, INT64_MIN, INT64_MAX, &i))
			return json_object_new_int64(i);
		break;
	case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32:
		if (parse_uint(v, UINT32_MAX, &u))
			return json_object_new_int64((int64_t)u);
		break;
	case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
		if (parse_uint(v, UINT64_MAX, &u)) {
			char b[32];
			snprintf(b, sizeof(b), "%" PRIu64, u);
			return json_object_new_string(b); /* pbjson takes 64-bit integers as strings */
		}
		break;
	default:
		snprintf(why, wsize, "this field cannot be given in CSV");
		return NULL;
	}
	snprintf(why, wsize, "'%s' is not %s", v, type_words(f));
	return NULL;
}

static json_object *repeated_value(const ProtobufCFieldDescriptor *f, char *v, char *why,
                                   size_t wsize)
{
	if (v[0] == '[') {
		json_object *j;
		dd_error e;
		if (dd_pbjson_parse(v, strlen(v), &j, &e) != DD_OK) {
			snprintf(why, wsize, "not a JSON array: %.300s", e.msg);
			return NULL;
		}
		if (!json_object_is_type(j, json_type_array)) {
			json_object_put(j);
			snprintf(why, wsize, "not a JSON array");
			return NULL;
		}
		return j;
	}
	if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
		snprintf(why, wsize, "expected a JSON array of %s objects",
		         ((const ProtobufCMessageDescriptor *)f->descriptor)->short_name);
		return NULL;
	}
	json_object *a = json_object_new_array();
	for (char *save = NULL, *tok = strtok_r(v, ";", &save); tok != NULL;
	     tok = strtok_r(NULL, ";", &save)) {
		tok = trim(tok);
		if (*tok == '\0')
			continue;
		json_object *e = scalar_value(f, tok, why, wsize);
		if (e == NULL) {
			json_object_put(a);
			return NULL;
		}
		json_object_array_add(a, e);
	}
	return a;
}

/* Sets obj[path...] = value, creating the objects on the way. */
static void json_set_path(json_object *obj, const column *c, json_object *value)
{
	for (int d = 0; d + 1 < c->depth; d++) {
		json_object *sub;
		if (!json_object_object_get_ex(obj, c->path[d]->name, &sub)) {
			sub = json_object_new_object();
			json_object_object_add(obj, c->path[d]->name, sub);
		}
		obj = sub;
	}
	json_object_object_add(obj, c->path[c->depth - 1]->name, value);
}

/* ---- reading ------------------------------------------------------------------- */

typedef struct keyed {
	char *key;
	size_t line;
} keyed;

static int keyed_cmp(const void *a, const void *b)
{
	const keyed *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	return c ? c : (x->line > y->line) - (x->line < y->line);
}

static int map_header(const columns *cs, const dd_csvrec_spec *spec, const dd_csv_record *h,
                      int *where, dd_error *err)
{
	bool seen[MAX_COLUMNS] = { false };
	for (size_t i = 0; i < h->n_fields; i++) {
		char *name = trim(h->fields[i]);
		int c = find_column(cs, name);
		if (c < 0)
			return dd_error_set(err, DD_EINVAL, "line %zu, column %zu: unknown column '%s'",
			                    h->line, i + 1, name);
		if (seen[c])
			return dd_error_set(err, DD_EINVAL, "line %zu, column %zu: column %s appears twice",
			                    h->line, i + 1, cs->c[c].name);
		seen[c] = true;
		where[i] = c;
	}
	for (int c = 0; c < cs->n; c++)
		if ((cs->c[c].required || cs->c[c].key) && !seen[c])
			return dd_error_set(err, DD_EINVAL,
			                    "the header has no %s column (required for every %s%s)",
			                    cs->c[c].name, spec->noun,
			                    cs->c[c].path[cs->c[c].depth - 1]->type == PROTOBUF_C_TYPE_BOOL
			                            ? ": say true or false on every row; a file "
			                              "without it is refused, not loaded with a default"
			                            : "");
	for (int c = 0; c < cs->n; c++)
		if (seen[c] && cs->c[c].money_currency >= 0 && !seen[cs->c[c].money_currency])
			return dd_error_set(err, DD_EINVAL,
			                    "the header has %s but no %s column (its currency)",
			                    cs->c[c].name, cs->c[cs->c[c].money_currency].name);
	return DD_OK;
}

/* Converts one row; problems go to out. *rec is the record when the row
 * is good. */
static int read_row(const columns *cs, const dd_csvrec_spec *spec, const dd_csv_record *r,
                    const int *where, size_t n_header, dd_csvrec_result *out,
                    ProtobufCMessage **rec)
{
	*rec = NULL;
	if (r->n_fields != n_header)
		return problem(out, "line %zu: %zu fields, the header has %zu", r->line, r->n_fields,
		               n_header);
	int cell_of[MAX_COLUMNS];
	for (int c = 0; c < cs->n; c++)
		cell_of[c] = -1;
	for (size_t i = 0; i < n_header; i++)
		cell_of[where[i]] = (int)i;

	json_object *obj = json_object_new_object();
	size_t before = out->n_problems;
	int rc = DD_OK;
	bool currency_said = false;
	for (size_t i = 0; i < n_header && rc == DD_OK; i++) {
		const column *c = &cs->c[where[i]];
		/* a quoted cell is taken as it is: that is how spaces are kept */
		char *v = r->quoted[i] ? r->fields[i] : trim(r->fields[i]);
		char why[400];
		json_object *j = NULL;
		if (*v == '\0') {
			if (c->required || c->key)
				rc = problem(out, "line %zu, column %s: empty (required%s)", r->line,
				             c->name,
				             c->path[c->depth - 1]->type == PROTOBUF_C_TYPE_BOOL
				                     ? ": write true or false" : "");
			continue;
		}
		const ProtobufCFieldDescriptor *f = c->path[c->depth - 1];
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			j = repeated_value(f, v, why, sizeof(why));
		} else if (c->money_currency >= 0) {
			const char *cur = trim(r->fields[cell_of[c->money_currency]]);
			int exp = dd_currency_exponent(cur);
			int64_t amount;
			int mrc;
			if (exp < 0) {
				/* said once, on the currency column */
				if (!currency_said)
					rc = problem(out, "line %zu, column %s: '%s' is not an ISO 4217 "
					             "currency code (needed for %s)", r->line,
					             cs->c[c->money_currency].name, cur, c->name);
				currency_said = true;
				continue;
			} else if ((mrc = dd_money_parse(v, exp, &amount)) == DD_EOVERFLOW) {
				snprintf(why, sizeof(why), "'%s' is too large", v);
			} else if (mrc != DD_OK) {
				snprintf(why, sizeof(why),
				         "'%s' is not an amount in %s (at most %d decimal place%s)", v, cur,
				         exp, exp == 1 ? "" : "s");
			} else {
				j = json_object_new_int64(amount);
			}
		} else {
			j = scalar_value(f, v, why, sizeof(why));
		}
		if (j == NULL)
			rc = problem(out, "line %zu, column %s: %s", r->line, c->name, why);
		else
			json_set_path(obj, c, j);
	}
	for (const struct dd_csvrec_default *d = spec->defaults; d != NULL && d->column != NULL;
	     d++) {
		json_object *from;
		if (!json_object_object_get_ex(obj, d->column, NULL) &&
		    json_object_object_get_ex(obj, d->from, &from))
			json_object_object_add(obj, d->column, json_object_get(from));
	}
	if (rc == DD_OK && out->n_problems == before) {
		dd_error e;
		if (dd_pbjson_to_message(obj, spec->desc, rec, &e) != DD_OK) {
			rc = e.code == DD_ENOMEM ? DD_ENOMEM : problem(out, "line %zu: %s", r->line, e.msg);
		} else if (spec->validate != NULL && spec->validate(*rec, &e) != DD_OK) {
			rc = problem(out, "line %zu: %s", r->line, e.msg);
			protobuf_c_message_free_unpacked(*rec, NULL);
			*rec = NULL;
		}
	}
	json_object_put(obj);
	return rc;
}

static int check_duplicates(const columns *cs, const dd_csv *csv, const int *where,
                            size_t n_header, const dd_csvrec_spec *spec, dd_csvrec_result *out)
{
	size_t n = csv->n_records - 1;
	keyed *k = calloc(n + 1, sizeof(*k));
	if (k == NULL)
		return DD_ENOMEM;
	size_t m = 0;
	int rc = DD_OK;
	for (size_t i = 0; i < n && rc == DD_OK; i++) {
		const dd_csv_record *r = &csv->records[i + 1];
		if (r->n_fields != n_header)
			continue;
		size_t len = 0;
		for (size_t f = 0; f < n_header; f++)
			if (cs->c[where[f]].key)
				len += strlen(r->fields[f]) + strlen(cs->c[where[f]].name) + 4;
		char *key = malloc(len + 1), *p = key;
		if (key == NULL) {
			rc = DD_ENOMEM;
			break;
		}
		/* in the order of the spec's key, so the message reads naturally */
		for (const char *const *kn = spec->key; *kn != NULL; kn++)
			for (size_t f = 0; f < n_header; f++)
				if (strcmp(cs->c[where[f]].name, *kn) == 0)
					p += sprintf(p, "%s%s %s", p == key ? "" : ", ", *kn,
					             r->quoted[f] ? r->fields[f] : trim(r->fields[f]));
		*p = '\0';
		k[m++] = (keyed){ .key = key, .line = r->line };
	}
	if (rc == DD_OK) {
		qsort(k, m, sizeof(*k), keyed_cmp);
		for (size_t i = 1; i < m && rc == DD_OK; i++)
			if (strcmp(k[i].key, k[i - 1].key) == 0) {
				size_t first = i - 1;
				while (first > 0 && strcmp(k[first - 1].key, k[i].key) == 0)
					first--;
				rc = problem(out, "line %zu: duplicate key (%s): the same %s as line %zu",
				             k[i].line, k[i].key, spec->noun, k[first].line);
			}
	}
	for (size_t i = 0; i < m; i++)
		free(k[i].key);
	free(k);
	return rc;
}

int dd_csvrec_read(const dd_csvrec_spec *spec, const char *data, size_t len,
                   dd_csvrec_result *out, dd_error *err)
{
	memset(out, 0, sizeof(*out));
	columns *cs = malloc(sizeof(*cs));
	if (cs == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	build_columns(spec, cs);
	dd_csv *csv = NULL;
	int rc = dd_csv_parse(data, len, &csv, err);
	int *where = NULL;
	if (rc != DD_OK)
		goto done;
	if (csv->n_records == 0) {
		rc = dd_error_set(err, DD_EINVAL, "empty file (expected a header row)");
		goto done;
	}
	const dd_csv_record *h = &csv->records[0];
	where = calloc(h->n_fields, sizeof(*where));
	if (where == NULL) {
		rc = dd_error_set(err, DD_ENOMEM, "out of memory");
		goto done;
	}
	if ((rc = map_header(cs, spec, h, where, err)) != DD_OK)
		goto done;
	size_t n = csv->n_records - 1;
	out->rows = n;
	out->records = calloc(n + 1, sizeof(*out->records));
	if (out->records == NULL) {
		rc = dd_error_set(err, DD_ENOMEM, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < n && rc == DD_OK; i++) {
		ProtobufCMessage *m;
		rc = read_row(cs, spec, &csv->records[i + 1], where, h->n_fields, out, &m);
		if (m != NULL)
			out->records[out->n++] = m;
	}
	if (rc == DD_OK)
		rc = check_duplicates(cs, csv, where, h->n_fields, spec, out);
	if (rc == DD_ENOMEM)
		dd_error_set(err, DD_ENOMEM, "out of memory");
done:
	free(where);
	dd_csv_free(csv);
	free(cs);
	return rc;
}

void dd_csvrec_result_free(dd_csvrec_result *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n; i++)
		protobuf_c_message_free_unpacked(r->records[i], NULL);
	for (size_t i = 0; i < r->n_problems; i++)
		free(r->problems[i]);
	free(r->records);
	free(r->problems);
	memset(r, 0, sizeof(*r));
}

/* ---- writing --------------------------------------------------------------------- */

void dd_csv_write_field(FILE *out, const char *s)
{
	size_t n = strlen(s);
	bool quote = n > 0 && (strpbrk(s, ",\"\r\n") != NULL || s[0] == ' ' || s[0] == '\t' ||
	                       s[n - 1] == ' ' || s[n - 1] == '\t');
	if (!quote) {
		fputs(s, out);
		return;
	}
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', out);
		fputc(*s, out);
	}
	fputc('"', out);
}

/* The member of field f in message m. */
#define MEMBER(type, m, f) (*(type *)((const char *)(m) + (f)->offset))

/* The message holding the column's last field, or NULL when a sub-message
 * on the way is unset. */
static const ProtobufCMessage *holder(const ProtobufCMessage *m, const column *c)
{
	for (int d = 0; d + 1 < c->depth && m != NULL; d++)
		m = MEMBER(const ProtobufCMessage *, m, c->path[d]);
	return m;
}

static void write_cell(FILE *out, const columns *cs, const column *c, const ProtobufCMessage *top,
                       json_object *json)
{
	const ProtobufCMessage *m = holder(top, c);
	if (m == NULL)
		return;
	const ProtobufCFieldDescriptor *f = c->path[c->depth - 1];
	char buf[64];
	if (f->label == PROTOBUF_C_LABEL_REPEATED) {
		size_t n = *(const size_t *)((const char *)m + f->quantifier_offset);
		if (n == 0)
			return;
		char *const *strs = MEMBER(char *const *, m, f);
		bool list = f->type == PROTOBUF_C_TYPE_STRING;
		for (size_t i = 0; list && i < n; i++)
			if (strs[i][0] == '\0' || strchr(strs[i], ';') != NULL || strs[i][0] == '[' ||
			    strs[i][0] == ' ' || strs[i][strlen(strs[i]) - 1] == ' ')
				list = false;
		if (list) {
			size_t len = 1;
			for (size_t i = 0; i < n; i++)
				len += strlen(strs[i]) + 1;
			char *joined = malloc(len), *p = joined;
			if (joined == NULL)
				return;
			for (size_t i = 0; i < n; i++)
				p += sprintf(p, "%s%s", i ? ";" : "", strs[i]);
			dd_csv_write_field(out, joined);
			free(joined);
			return;
		}
		/* the JSON of the whole record has the array at the same path */
		json_object *j = json;
		for (int d = 0; d < c->depth && j != NULL; d++)
			if (!json_object_object_get_ex(j, c->path[d]->name, &j))
				j = NULL;
		if (j != NULL)
			dd_csv_write_field(out, json_object_to_json_string_ext(
				j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		return;
	}
	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING:
		dd_csv_write_field(out, MEMBER(const char *, m, f) ? MEMBER(const char *, m, f) : "");
		return;
	case PROTOBUF_C_TYPE_BOOL:
		fputs(MEMBER(protobuf_c_boolean, m, f) ? "true" : "false", out);
		return;
	case PROTOBUF_C_TYPE_ENUM: {
		int v = MEMBER(int, m, f);
		const char *name = dd_pbjson_enum_short_name(f->descriptor, v);
		if (v != 0 && name != NULL)
			fputs(name, out);
		else if (v != 0)
			fprintf(out, "%d", v);
		return;
	}
	case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_SFIXED32:
		fprintf(out, "%" PRId32, MEMBER(int32_t, m, f));
		return;
	case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32:
		fprintf(out, "%" PRIu32, MEMBER(uint32_t, m, f));
		return;
	case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
		fprintf(out, "%" PRIu64, MEMBER(uint64_t, m, f));
		return;
	case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64: {
		int64_t v = MEMBER(int64_t, m, f);
		if (c->money_currency >= 0) {
			const column *cc = &cs->c[c->money_currency];
			const ProtobufCMessage *cm = holder(top, cc);
			const char *cur = cm ? MEMBER(const char *, cm, cc->path[cc->depth - 1]) : NULL;
			int exp = cur ? dd_currency_exponent(cur) : -1;
			if (exp >= 0 && dd_money_format(v, exp, buf, sizeof(buf)) >= 0)
				fputs(buf, out);
			else if (v != 0)
				fprintf(out, "%" PRId64, v); /* no currency: refused on import */
			return;
		}
		fprintf(out, "%" PRId64, v);
		return;
	}
	default:
		return;
	}
}

int dd_csvrec_write(const dd_csvrec_spec *spec, ProtobufCMessage *const *records, size_t n,
                    FILE *out, dd_error *err)
{
	columns *cs = malloc(sizeof(*cs));
	if (cs == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	build_columns(spec, cs);
	for (int c = 0; c < cs->n; c++) {
		if (c)
			fputc(',', out);
		fputs(cs->c[c].name, out);
	}
	fputs("\r\n", out);
	int rc = DD_OK;
	for (size_t i = 0; i < n && rc == DD_OK; i++) {
		if (records[i]->descriptor != spec->desc) {
			rc = dd_error_set(err, DD_EINVAL, "csv: record %zu is a %s, not a %s", i,
			                  records[i]->descriptor->short_name, spec->desc->short_name);
			break;
		}
		json_object *json = NULL;
		if (dd_pbjson_from_message(records[i], &json) != DD_OK) {
			rc = dd_error_set(err, DD_ENOMEM, "out of memory");
			break;
		}
		for (int c = 0; c < cs->n; c++) {
			if (c)
				fputc(',', out);
			write_cell(out, cs, &cs->c[c], records[i], json);
		}
		fputs("\r\n", out);
		json_object_put(json);
	}
	free(cs);
	if (rc == DD_OK && (fflush(out) != 0 || ferror(out)))
		rc = dd_error_set(err, DD_ESTORE, "csv: write failed: %s", strerror(errno));
	return rc;
}
