/* dealdesk pbjson: JSON -> protobuf-c message (see pbjson.h).
 *
 * Messages built from JSON are allocated field by field with malloc, which is
 * what protobuf-c's default allocator uses, so protobuf_c_message_free_unpacked
 * (msg, NULL) frees them. While a message is being filled it is kept in a state
 * that free_unpacked can release at any point: arrays are zeroed before their
 * count is set, a oneof case is set before its member, a sub-message pointer is
 * stored only once the sub-message is complete.
 */
#include "dealdesk/pbjson.h"
#include "dealdesk/model.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client/pbjson_int.h"

/* ---- field paths for error messages ------------------------------------------ */

typedef struct field_path {
	char buf[200];
	size_t len;
} field_path;

static size_t path_append(field_path *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Appends to the path and returns the previous length for path_pop. A path
 * that does not fit is cut (the message stays readable). */
static size_t path_append(field_path *p, const char *fmt, ...)
{
	size_t old = p->len;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(p->buf + p->len, sizeof(p->buf) - p->len, fmt, ap);
	va_end(ap);
	if (n > 0) {
		p->len += (size_t)n;
		if (p->len >= sizeof(p->buf))
			p->len = sizeof(p->buf) - 1;
	}
	return old;
}

static size_t path_push_field(field_path *p, const char *name)
{
	return path_append(p, "%s%s", p->len ? "." : "", name);
}

static size_t path_push_index(field_path *p, size_t i)
{
	return path_append(p, "[%zu]", i);
}

static size_t path_push_key(field_path *p, const char *key)
{
	return path_append(p, "[\"%.40s\"]", key);
}

static void path_pop(field_path *p, size_t old)
{
	p->len = old;
	p->buf[old] = '\0';
}

static int path_fail(dd_error *err, const field_path *p, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int path_fail(dd_error *err, const field_path *p, const char *fmt, ...)
{
	char what[300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (p->len == 0)
		return dd_error_set(err, DD_EINVAL, "%s", what);
	return dd_error_set(err, DD_EINVAL, "%s: %s", p->buf, what);
}

static int fail_nomem(dd_error *err)
{
	return dd_error_set(err, DD_ENOMEM, "out of memory");
}

/* ---- base64 (bytes fields) -------------------------------------------------- */

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

/* Decodes standard or URL-safe base64, padding optional. -1 if malformed. */
static int base64_decode(const char *s, size_t len, uint8_t **out, size_t *out_len)
{
	while (len > 0 && s[len - 1] == '=')
		len--;
	if (len % 4 == 1)
		return -1;
	uint8_t *buf = malloc(len / 4 * 3 + 3);
	if (buf == NULL)
		return -2;
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < len; i++) {
		int v = b64_value(s[i]);
		if (v < 0) {
			free(buf);
			return -1;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[o++] = (uint8_t)(acc >> bits);
		}
	}
	*out = buf;
	*out_len = o;
	return 0;
}

/* ---- field lookup ------------------------------------------------------------ */

/* key equals the lowerCamelCase form of snake ("customer_id" -> "customerId"). */
static bool camel_equals(const char *snake, const char *key)
{
	bool upper = false;
	for (; *snake; snake++) {
		if (*snake == '_') {
			upper = true;
			continue;
		}
		char c = upper ? (char)toupper((unsigned char)*snake) : *snake;
		upper = false;
		if (*key++ != c)
			return false;
	}
	return *key == '\0';
}

static const ProtobufCFieldDescriptor *
find_field(const ProtobufCMessageDescriptor *d, const char *key)
{
	const ProtobufCFieldDescriptor *f =
		protobuf_c_message_descriptor_get_field_by_name(d, key);
	if (f != NULL)
		return f;
	for (unsigned i = 0; i < d->n_fields; i++)
		if (camel_equals(d->fields[i].name, key))
			return &d->fields[i];
	return NULL;
}

/* ---- JSON -> message --------------------------------------------------------- */

static int message_from_json(json_object *j, const ProtobufCMessageDescriptor *d,
                             ProtobufCMessage **out, field_path *p, dd_error *err,
                             int depth);

static const char *type_name(ProtobufCType t)
{
	switch (t) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		return "int32";
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		return "uint32";
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		return "int64";
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return "uint64";
	default:
		return "integer";
	}
}

/* Stores the integer (neg, mag) into an integer field's storage at dst. */
static int store_integer(const ProtobufCFieldDescriptor *f, void *dst, bool neg,
                         uint64_t mag, field_path *p, dd_error *err)
{
	bool ok;
	if (neg && mag == 0)
		neg = false; /* "-0" */
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		ok = neg ? mag <= (uint64_t)INT32_MAX + 1 : mag <= INT32_MAX;
		if (ok)
			*(int32_t *)dst = neg ? (int32_t)(-(int64_t)mag) : (int32_t)mag;
		break;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		ok = !neg && mag <= UINT32_MAX;
		if (ok)
			*(uint32_t *)dst = (uint32_t)mag;
		break;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		ok = neg ? mag <= (uint64_t)INT64_MAX + 1 : mag <= INT64_MAX;
		if (ok)
			*(int64_t *)dst = neg ? (int64_t)(0 - mag) : (int64_t)mag;
		break;
	default: /* UINT64, FIXED64 */
		ok = !neg;
		if (ok)
			*(uint64_t *)dst = mag;
		break;
	}
	if (!ok)
		return path_fail(err, p, "%s%" PRIu64 " is out of range for %s",
		                 neg ? "-" : "", mag, type_name(f->type));
	return DD_OK;
}

static int integer_from_json(const ProtobufCFieldDescriptor *f, void *dst, json_object *v,
                             field_path *p, dd_error *err)
{
	bool neg = false;
	uint64_t mag = 0;

	switch (json_object_get_type(v)) {
	case json_type_int: {
		/* json-c keeps values above INT64_MAX as uint64; get_int64 clamps those
		 * to INT64_MAX and get_uint64 clamps negatives to 0. */
		int64_t s = json_object_get_int64(v);
		if (s < 0) {
			neg = true;
			mag = (uint64_t)(-(s + 1)) + 1;
		} else {
			mag = json_object_get_uint64(v);
		}
		break;
	}
	case json_type_string: {
		int rc = pbj_parse_decimal(json_object_get_string(v),
		                       (size_t)json_object_get_string_len(v), &neg, &mag);
		if (rc == -2)
			return path_fail(err, p, "integer out of range for %s",
			                 type_name(f->type));
		if (rc != 0)
			return path_fail(err, p, "expected an integer");
		break;
	}
	default:
		return path_fail(err, p, "expected an integer");
	}
	return store_integer(f, dst, neg, mag, p, err);
}

static int float_from_json(const ProtobufCFieldDescriptor *f, void *dst, json_object *v,
                           field_path *p, dd_error *err)
{
	double d;
	switch (json_object_get_type(v)) {
	case json_type_int:
	case json_type_double:
		d = json_object_get_double(v);
		break;
	case json_type_string: {
		const char *s = json_object_get_string(v);
		char *end;
		if (strcmp(s, "NaN") == 0)
			d = NAN;
		else if (strcmp(s, "Infinity") == 0)
			d = INFINITY;
		else if (strcmp(s, "-Infinity") == 0)
			d = -INFINITY;
		else {
			d = strtod(s, &end);
			if (end == s || *end != '\0' || !isfinite(d))
				return path_fail(err, p, "expected a number");
		}
		break;
	}
	default:
		return path_fail(err, p, "expected a number");
	}
	if (f->type == PROTOBUF_C_TYPE_FLOAT) {
		if (isfinite(d) && fabs(d) > 3.4028234663852886e38)
			return path_fail(err, p, "out of range for float");
		*(float *)dst = (float)d;
	} else {
		*(double *)dst = d;
	}
	return DD_OK;
}

static int enum_from_json(const ProtobufCFieldDescriptor *f, void *dst, json_object *v,
                          field_path *p, dd_error *err)
{
	const ProtobufCEnumDescriptor *ed = f->descriptor;
	int value;

	if (json_object_is_type(v, json_type_int)) {
		int64_t n = json_object_get_int64(v);
		if (n >= INT32_MIN && n <= INT32_MAX &&
		    protobuf_c_enum_descriptor_get_value(ed, (int)n) != NULL) {
			*(int *)dst = (int)n;
			return DD_OK;
		}
	} else if (json_object_is_type(v, json_type_string)) {
		if (dd_pbjson_enum_parse(ed, json_object_get_string(v), &value) == DD_OK) {
			*(int *)dst = value;
			return DD_OK;
		}
	} else {
		return path_fail(err, p, "expected a %s name", ed->short_name);
	}

	char list[240];
	size_t o = 0;
	list[0] = '\0';
	for (unsigned i = 0; i < ed->n_values && o < sizeof(list); i++) {
		int n = snprintf(list + o, sizeof(list) - o, "%s%s", i ? ", " : "",
		                 dd_pbjson_enum_short_name(ed, ed->values[i].value));
		if (n > 0)
			o += (size_t)n;
	}
	return path_fail(err, p, "unknown %s '%.60s' (expected one of %s)", ed->short_name,
	                 json_object_get_string(v), list);
}

/* Copies a JSON string after checking it is UTF-8 without NUL. */
static int string_copy(const char *s, size_t len, char **dst, field_path *p,
                       dd_error *err)
{
	if (memchr(s, '\0', len) != NULL)
		return path_fail(err, p, "string contains a NUL character");
	size_t bad = dd_utf8_check(s, len);
	if (bad != len)
		return path_fail(err, p, "invalid UTF-8 at byte %zu", bad);
	char *copy = malloc(len + 1);
	if (copy == NULL)
		return fail_nomem(err);
	memcpy(copy, s, len);
	copy[len] = '\0';
	*dst = copy;
	return DD_OK;
}

/* Sets one value of field f (storage at dst) from v, which is not null. */
static int value_from_json(const ProtobufCFieldDescriptor *f, void *dst, json_object *v,
                           field_path *p, dd_error *err, int depth)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return integer_from_json(f, dst, v, p, err);
	case PROTOBUF_C_TYPE_FLOAT:
	case PROTOBUF_C_TYPE_DOUBLE:
		return float_from_json(f, dst, v, p, err);
	case PROTOBUF_C_TYPE_BOOL:
		if (!json_object_is_type(v, json_type_boolean))
			return path_fail(err, p, "expected true or false");
		*(protobuf_c_boolean *)dst = json_object_get_boolean(v) ? 1 : 0;
		return DD_OK;
	case PROTOBUF_C_TYPE_ENUM:
		return enum_from_json(f, dst, v, p, err);
	case PROTOBUF_C_TYPE_STRING:
		if (!json_object_is_type(v, json_type_string))
			return path_fail(err, p, "expected a string");
		return string_copy(json_object_get_string(v),
		                   (size_t)json_object_get_string_len(v), (char **)dst, p, err);
	case PROTOBUF_C_TYPE_BYTES: {
		ProtobufCBinaryData *b = dst;
		if (!json_object_is_type(v, json_type_string))
			return path_fail(err, p, "expected a base64 string");
		int rc = base64_decode(json_object_get_string(v),
		                       (size_t)json_object_get_string_len(v), &b->data, &b->len);
		if (rc == -2)
			return fail_nomem(err);
		if (rc != 0)
			return path_fail(err, p, "invalid base64");
		return DD_OK;
	}
	case PROTOBUF_C_TYPE_MESSAGE: {
		ProtobufCMessage *sm;
		int rc = message_from_json(v, f->descriptor, &sm, p, err, depth + 1);
		if (rc == DD_OK)
			*(ProtobufCMessage **)dst = sm;
		return rc;
	}
	}
	return path_fail(err, p, "unsupported field type");
}

/* A map key (always a JSON string) into the key field's storage. */
static int map_key_from_json(const ProtobufCFieldDescriptor *kf, void *dst, const char *key,
                             field_path *p, dd_error *err)
{
	bool neg;
	uint64_t mag;

	switch (kf->type) {
	case PROTOBUF_C_TYPE_STRING:
		return string_copy(key, strlen(key), (char **)dst, p, err);
	case PROTOBUF_C_TYPE_BOOL:
		if (strcmp(key, "true") == 0 || strcmp(key, "false") == 0) {
			*(protobuf_c_boolean *)dst = key[0] == 't';
			return DD_OK;
		}
		return path_fail(err, p, "map key must be \"true\" or \"false\"");
	default:
		if (pbj_parse_decimal(key, strlen(key), &neg, &mag) != 0)
			return path_fail(err, p, "map key must be an integer");
		return store_integer(kf, dst, neg, mag, p, err);
	}
}

static int map_from_json(ProtobufCMessage *m, const ProtobufCFieldDescriptor *f,
                         json_object *v, field_path *p, dd_error *err, int depth)
{
	const ProtobufCMessageDescriptor *ed = f->descriptor;
	const ProtobufCFieldDescriptor *kf = &ed->fields[0], *vf = &ed->fields[1];

	if (!json_object_is_type(v, json_type_object))
		return path_fail(err, p, "expected a JSON object (map)");
	size_t n = (size_t)json_object_object_length(v);
	if (n == 0)
		return DD_OK;
	ProtobufCMessage **entries = calloc(n, sizeof(*entries));
	if (entries == NULL)
		return fail_nomem(err);
	MEMBER(ProtobufCMessage **, m, f->offset) = entries;
	MEMBER(size_t, m, f->quantifier_offset) = n;

	size_t i = 0;
	json_object_object_foreach(v, key, val) {
		ProtobufCMessage *e = malloc(ed->sizeof_message);
		if (e == NULL)
			return fail_nomem(err);
		protobuf_c_message_init(ed, e);
		entries[i++] = e;

		size_t old = path_push_key(p, key);
		int rc = map_key_from_json(kf, (char *)e + kf->offset, key, p, err);
		if (rc == DD_OK && !json_object_is_type(val, json_type_null))
			rc = value_from_json(vf, (char *)e + vf->offset, val, p, err, depth);
		path_pop(p, old);
		if (rc != DD_OK)
			return rc;
	}
	return DD_OK;
}

static int field_from_json(ProtobufCMessage *m, const ProtobufCFieldDescriptor *f,
                           json_object *v, field_path *p, dd_error *err, int depth)
{
	if (f->label == PROTOBUF_C_LABEL_REPEATED) {
		if (pbj_is_map_field(f))
			return map_from_json(m, f, v, p, err, depth);
		if (!json_object_is_type(v, json_type_array))
			return path_fail(err, p, "expected a JSON array");
		size_t n = json_object_array_length(v);
		if (n == 0)
			return DD_OK;
		size_t es = pbj_element_size(f->type);
		char *arr = calloc(n, es);
		if (arr == NULL)
			return fail_nomem(err);
		MEMBER(void *, m, f->offset) = arr;
		MEMBER(size_t, m, f->quantifier_offset) = n;
		for (size_t i = 0; i < n; i++) {
			json_object *ev = json_object_array_get_idx(v, i);
			size_t old = path_push_index(p, i);
			int rc = ev == NULL || json_object_is_type(ev, json_type_null)
				? path_fail(err, p, "null is not allowed in a list")
				: value_from_json(f, arr + i * es, ev, p, err, depth);
			path_pop(p, old);
			if (rc != DD_OK)
				return rc;
		}
		return DD_OK;
	}

	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
		uint32_t *which = &MEMBER(uint32_t, m, f->quantifier_offset);
		if (*which != 0 && *which != f->id) {
			const ProtobufCFieldDescriptor *other =
				protobuf_c_message_descriptor_get_field(m->descriptor, *which);
			return path_fail(err, p, "cannot be set together with %s",
			                 other ? other->name : "another field of its oneof");
		}
		*which = f->id;
	}
	int rc = value_from_json(f, (char *)m + f->offset, v, p, err, depth);
	if (rc == DD_OK && f->label == PROTOBUF_C_LABEL_OPTIONAL &&
	    f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE &&
	    !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
		MEMBER(protobuf_c_boolean, m, f->quantifier_offset) = 1;
	return rc;
}

static int fill_message(json_object *j, ProtobufCMessage *m, field_path *p, dd_error *err,
                        int depth)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	unsigned char *seen = calloc(d->n_fields + 1, 1);
	if (seen == NULL)
		return fail_nomem(err);

	int rc = DD_OK;
	json_object_object_foreach(j, key, val) {
		const ProtobufCFieldDescriptor *f = find_field(d, key);
		size_t old = path_push_field(p, f ? f->name : key);
		if (f == NULL) {
			rc = path_fail(err, p, "unknown field");
		} else if (seen[f - d->fields]) {
			rc = path_fail(err, p, "given twice (as %s and as %s)", f->name, key);
		} else {
			seen[f - d->fields] = 1;
			if (!json_object_is_type(val, json_type_null))
				rc = field_from_json(m, f, val, p, err, depth);
		}
		path_pop(p, old);
		if (rc != DD_OK)
			break;
	}
	free(seen);
	return rc;
}

static int message_from_json(json_object *j, const ProtobufCMessageDescriptor *d,
                             ProtobufCMessage **out, field_path *p, dd_error *err,
                             int depth)
{
	*out = NULL;
	if (depth > PBJ_MAX_DEPTH)
		return path_fail(err, p, "messages nested too deeply");
	if (!json_object_is_type(j, json_type_object))
		return path_fail(err, p, "expected a JSON object");
	ProtobufCMessage *m = malloc(d->sizeof_message);
	if (m == NULL)
		return fail_nomem(err);
	protobuf_c_message_init(d, m);
	int rc = fill_message(j, m, p, err, depth);
	if (rc != DD_OK) {
		protobuf_c_message_free_unpacked(m, NULL);
		return rc;
	}
	*out = m;
	return DD_OK;
}

int dd_pbjson_to_message(json_object *j, const ProtobufCMessageDescriptor *d,
                         ProtobufCMessage **out, dd_error *err)
{
	field_path p = { .len = 0 };
	p.buf[0] = '\0';
	*out = NULL;
	if (d == NULL || d->magic != PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC)
		return dd_error_set(err, DD_EINVAL, "not a message descriptor");
	return message_from_json(j, d, out, &p, err, 0);
}

