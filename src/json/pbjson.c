/* dealdesk pbjson: descriptor-driven protobuf-c <-> JSON (see pbjson.h).
 *
 * Messages built from JSON are allocated field by field with malloc, which is
 * what protobuf-c's default allocator uses, so protobuf_c_message_free_unpacked
 * (msg, NULL) frees them. While a message is being filled it is kept in a state
 * that free_unpacked can release at any point: arrays are zeroed before their
 * count is set, a oneof case is set before its member, a sub-message pointer is
 * stored only once the sub-message is complete.
 */
#include "dealdesk/pbjson.h"

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

#define MEMBER(type, msg, off) (*(type *)((char *)(msg) + (off)))
#define CMEMBER(type, msg, off) (*(const type *)((const char *)(msg) + (off)))

#define MAX_DEPTH 64 /* nesting of messages in JSON input */

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

/* ---- UTF-8 ------------------------------------------------------------------- */

/* Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlongs, no
 * surrogates, at most U+10FFFF), or 0 if it is not one. */
static size_t utf8_seq_len(const unsigned char *s, size_t left)
{
	unsigned char c = s[0];
	unsigned char lo = 0x80, hi = 0xBF;
	size_t n;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		n = 2;
	else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;
	} else
		return 0;
	if (left < n)
		return 0;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xBF)
			return 0;
	return n;
}

size_t dd_pbjson_utf8_check(const char *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		size_t n = utf8_seq_len((const unsigned char *)s + i, len - i);
		if (n == 0)
			return i;
		i += n;
	}
	return len;
}

/* A JSON string for s, with invalid sequences replaced by U+FFFD. */
static json_object *json_string_sanitized(const char *s, size_t len)
{
	if (dd_pbjson_utf8_check(s, len) == len)
		return json_object_new_string_len(s, (int)len);

	char *copy = malloc(len * 3 + 1);
	if (copy == NULL)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < len;) {
		size_t n = utf8_seq_len((const unsigned char *)s + i, len - i);
		if (n == 0) {
			memcpy(copy + o, "\xEF\xBF\xBD", 3);
			o += 3;
			i++;
		} else {
			memcpy(copy + o, s + i, n);
			o += n;
			i += n;
		}
	}
	json_object *j = json_object_new_string_len(copy, (int)o);
	free(copy);
	return j;
}

/* ---- base64 (bytes fields) -------------------------------------------------- */

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static json_object *json_base64(const uint8_t *data, size_t len)
{
	char *out = malloc((len + 2) / 3 * 4 + 1);
	if (out == NULL)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)data[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)data[i + 1] << 8;
		if (i + 2 < len)
			v |= data[i + 2];
		out[o++] = b64_alphabet[(v >> 18) & 63];
		out[o++] = b64_alphabet[(v >> 12) & 63];
		out[o++] = i + 1 < len ? b64_alphabet[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < len ? b64_alphabet[v & 63] : '=';
	}
	json_object *j = json_object_new_string_len(out, (int)o);
	free(out);
	return j;
}

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

/* ---- descriptor helpers ------------------------------------------------------ */

static size_t element_size(ProtobufCType type)
{
	switch (type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		return 4;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return 8;
	case PROTOBUF_C_TYPE_FLOAT:
		return sizeof(float);
	case PROTOBUF_C_TYPE_DOUBLE:
		return sizeof(double);
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_ENUM:
		return sizeof(int);
	case PROTOBUF_C_TYPE_STRING:
		return sizeof(char *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(ProtobufCMessage *);
	}
	return 0;
}

/* True when f is a map<K,V>: protoc turns `map<K,V> foo_bar` into a repeated
 * nested message FooBarEntry { K key = 1; V value = 2; }. protobuf-c keeps no
 * map flag, so the shape and the name are what identify it. */
static bool is_map_field(const ProtobufCFieldDescriptor *f)
{
	if (f->label != PROTOBUF_C_LABEL_REPEATED || f->type != PROTOBUF_C_TYPE_MESSAGE)
		return false;
	const ProtobufCMessageDescriptor *d = f->descriptor;
	if (d->n_fields != 2 || d->fields[0].id != 1 || d->fields[1].id != 2 ||
	    strcmp(d->fields[0].name, "key") != 0 ||
	    strcmp(d->fields[1].name, "value") != 0)
		return false;

	char want[128];
	size_t o = 0;
	bool upper = true;
	for (const char *s = f->name; *s && o + 6 < sizeof(want); s++) {
		if (*s == '_') {
			upper = true;
			continue;
		}
		want[o++] = upper ? (char)toupper((unsigned char)*s) : *s;
		upper = isdigit((unsigned char)*s) != 0;
	}
	memcpy(want + o, "Entry", 6);
	return strcmp(d->short_name, want) == 0;
}

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

/* "PromotionKind" -> "PROMOTION_KIND_" */
static void enum_prefix(const ProtobufCEnumDescriptor *d, char *buf, size_t size)
{
	const char *s = d->short_name;
	size_t o = 0;
	for (size_t i = 0; s[i] && o + 3 < size; i++) {
		unsigned char c = (unsigned char)s[i];
		if (i > 0 && isupper(c)) {
			unsigned char prev = (unsigned char)s[i - 1];
			unsigned char next = (unsigned char)s[i + 1];
			if (islower(prev) || isdigit(prev) || (isupper(prev) && islower(next)))
				buf[o++] = '_';
		}
		buf[o++] = (char)toupper(c);
	}
	buf[o++] = '_';
	buf[o] = '\0';
}

const char *dd_pbjson_enum_short_name(const ProtobufCEnumDescriptor *d, int value)
{
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(d, value);
	if (v == NULL)
		return NULL;
	char prefix[128];
	enum_prefix(d, prefix, sizeof(prefix));
	size_t n = strlen(prefix);
	if (strncmp(v->name, prefix, n) == 0 && v->name[n] != '\0')
		return v->name + n;
	return v->name;
}

/* Parses an optional '-' and decimal digits (nothing else) into sign and
 * magnitude. 0 ok, -1 not a decimal integer, -2 beyond 64 bits. */
static int parse_decimal(const char *s, size_t len, bool *neg, uint64_t *mag)
{
	size_t i = 0;
	uint64_t v = 0;
	*neg = false;
	if (i < len && s[i] == '-') {
		*neg = true;
		i++;
	}
	if (i == len)
		return -1;
	for (; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -2;
		v = v * 10 + d;
	}
	*mag = v;
	return 0;
}

int dd_pbjson_enum_parse(const ProtobufCEnumDescriptor *d, const char *s, int *value)
{
	if (d == NULL || s == NULL || *s == '\0')
		return DD_EINVAL;
	for (unsigned i = 0; i < d->n_values; i++) {
		if (strcasecmp(d->values[i].name, s) == 0) {
			*value = d->values[i].value;
			return DD_OK;
		}
	}
	char prefix[128];
	enum_prefix(d, prefix, sizeof(prefix));
	size_t n = strlen(prefix);
	for (unsigned i = 0; i < d->n_values; i++) {
		const char *name = d->values[i].name;
		if (strncmp(name, prefix, n) == 0 && strcasecmp(name + n, s) == 0) {
			*value = d->values[i].value;
			return DD_OK;
		}
	}
	bool neg;
	uint64_t mag;
	if (parse_decimal(s, strlen(s), &neg, &mag) == 0 && mag <= INT32_MAX) {
		int v = neg ? -(int)mag : (int)mag;
		if (protobuf_c_enum_descriptor_get_value(d, v) != NULL) {
			*value = v;
			return DD_OK;
		}
	}
	return DD_EINVAL;
}

/* ---- message -> JSON --------------------------------------------------------- */

static int message_to_json(const ProtobufCMessage *m, unsigned flags,
                           json_object **out);

static json_object *json_from_double(double v)
{
	if (isnan(v))
		return json_object_new_string("NaN");
	if (isinf(v))
		return json_object_new_string(v > 0 ? "Infinity" : "-Infinity");
	return json_object_new_double(v);
}

/* The JSON for one value of field f stored at p. NULL when out of memory. */
static json_object *value_to_json(const ProtobufCFieldDescriptor *f, const void *p,
                                  unsigned flags)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		return json_object_new_int64(*(const int32_t *)p);
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		return json_object_new_int64(*(const uint32_t *)p);
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		return json_object_new_int64(*(const int64_t *)p);
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return json_object_new_uint64(*(const uint64_t *)p);
	case PROTOBUF_C_TYPE_FLOAT:
		return json_from_double(*(const float *)p);
	case PROTOBUF_C_TYPE_DOUBLE:
		return json_from_double(*(const double *)p);
	case PROTOBUF_C_TYPE_BOOL:
		return json_object_new_boolean(*(const protobuf_c_boolean *)p != 0);
	case PROTOBUF_C_TYPE_ENUM: {
		int v = *(const int *)p;
		const ProtobufCEnumValue *ev =
			protobuf_c_enum_descriptor_get_value(f->descriptor, v);
		return ev ? json_object_new_string(ev->name) : json_object_new_int(v);
	}
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)p;
		return s ? json_string_sanitized(s, strlen(s)) : json_object_new_string("");
	}
	case PROTOBUF_C_TYPE_BYTES: {
		const ProtobufCBinaryData *b = p;
		return json_base64(b->data, b->data ? b->len : 0);
	}
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *sm = *(ProtobufCMessage *const *)p;
		json_object *j = NULL;
		if (sm == NULL)
			return json_object_new_object();
		if (message_to_json(sm, flags, &j) != DD_OK)
			return NULL;
		return j;
	}
	}
	return NULL;
}

/* Whether a singular field is written. */
static bool field_present(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f,
                          unsigned flags)
{
	const void *p = (const char *)m + f->offset;

	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
		return CMEMBER(uint32_t, m, f->quantifier_offset) == f->id;
	if (f->type == PROTOBUF_C_TYPE_MESSAGE)
		return *(ProtobufCMessage *const *)p != NULL;
	if (f->label == PROTOBUF_C_LABEL_REQUIRED)
		return true;
	if (f->label == PROTOBUF_C_LABEL_OPTIONAL) {
		if (f->type == PROTOBUF_C_TYPE_STRING)
			return *(char *const *)p != NULL &&
			       *(char *const *)p != f->default_value;
		return CMEMBER(protobuf_c_boolean, m, f->quantifier_offset) != 0;
	}
	if (flags & DD_PBJSON_EMIT_DEFAULTS)
		return true;
	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)p;
		return s != NULL && *s != '\0';
	}
	case PROTOBUF_C_TYPE_BYTES:
		return ((const ProtobufCBinaryData *)p)->len > 0;
	case PROTOBUF_C_TYPE_FLOAT:
		return *(const float *)p != 0;
	case PROTOBUF_C_TYPE_DOUBLE:
		return *(const double *)p != 0;
	default: {
		/* integers, bool, enum: any non-zero byte */
		size_t n = element_size(f->type);
		for (size_t i = 0; i < n; i++)
			if (((const unsigned char *)p)[i] != 0)
				return true;
		return false;
	}
	}
}

static json_object *map_to_json(const ProtobufCFieldDescriptor *f, void *const *entries,
                                 size_t n, unsigned flags)
{
	const ProtobufCMessageDescriptor *ed = f->descriptor;
	const ProtobufCFieldDescriptor *kf = &ed->fields[0], *vf = &ed->fields[1];
	json_object *obj = json_object_new_object();
	if (obj == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		const char *e = entries[i];
		if (e == NULL)
			continue;
		char keybuf[32];
		const char *key = keybuf;
		const void *kp = e + kf->offset;
		switch (kf->type) {
		case PROTOBUF_C_TYPE_STRING:
			key = *(char *const *)kp ? *(char *const *)kp : "";
			break;
		case PROTOBUF_C_TYPE_BOOL:
			key = *(const protobuf_c_boolean *)kp ? "true" : "false";
			break;
		case PROTOBUF_C_TYPE_UINT32:
		case PROTOBUF_C_TYPE_FIXED32:
			snprintf(keybuf, sizeof(keybuf), "%" PRIu32, *(const uint32_t *)kp);
			break;
		case PROTOBUF_C_TYPE_UINT64:
		case PROTOBUF_C_TYPE_FIXED64:
			snprintf(keybuf, sizeof(keybuf), "%" PRIu64, *(const uint64_t *)kp);
			break;
		case PROTOBUF_C_TYPE_INT64:
		case PROTOBUF_C_TYPE_SINT64:
		case PROTOBUF_C_TYPE_SFIXED64:
			snprintf(keybuf, sizeof(keybuf), "%" PRId64, *(const int64_t *)kp);
			break;
		default:
			snprintf(keybuf, sizeof(keybuf), "%" PRId32, *(const int32_t *)kp);
			break;
		}
		json_object *v = value_to_json(vf, e + vf->offset, flags);
		if (v == NULL || json_object_object_add(obj, key, v) != 0) {
			json_object_put(v);
			json_object_put(obj);
			return NULL;
		}
	}
	return obj;
}

static json_object *repeated_to_json(const ProtobufCFieldDescriptor *f, const void *arr,
                                     size_t n, unsigned flags)
{
	if (is_map_field(f))
		return map_to_json(f, arr, n, flags);
	json_object *a = json_object_new_array_ext((int)n);
	if (a == NULL)
		return NULL;
	size_t es = element_size(f->type);
	for (size_t i = 0; i < n; i++) {
		json_object *v = value_to_json(f, (const char *)arr + i * es, flags);
		if (v == NULL || json_object_array_add(a, v) != 0) {
			json_object_put(v);
			json_object_put(a);
			return NULL;
		}
	}
	return a;
}

static int message_to_json(const ProtobufCMessage *m, unsigned flags, json_object **out)
{
	const ProtobufCMessageDescriptor *d = m ? m->descriptor : NULL;
	if (d == NULL || d->magic != PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC)
		return DD_EINVAL;

	json_object *obj = json_object_new_object();
	if (obj == NULL)
		return DD_ENOMEM;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		json_object *v;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = CMEMBER(size_t, m, f->quantifier_offset);
			if (n == 0 && !(flags & DD_PBJSON_EMIT_DEFAULTS))
				continue;
			v = repeated_to_json(f, CMEMBER(void *, m, f->offset), n, flags);
		} else {
			if (!field_present(m, f, flags))
				continue;
			v = value_to_json(f, (const char *)m + f->offset, flags);
		}
		if (v == NULL || json_object_object_add(obj, f->name, v) != 0) {
			json_object_put(v);
			json_object_put(obj);
			return DD_ENOMEM;
		}
	}
	*out = obj;
	return DD_OK;
}

int dd_pbjson_from_message_flags(const ProtobufCMessage *m, unsigned flags,
                                 json_object **out)
{
	*out = NULL;
	return message_to_json(m, flags, out);
}

int dd_pbjson_from_message(const ProtobufCMessage *m, json_object **out)
{
	return dd_pbjson_from_message_flags(m, 0, out);
}

int dd_pbjson_format(const ProtobufCMessage *m, unsigned flags, char **out)
{
	json_object *j;
	*out = NULL;
	int rc = dd_pbjson_from_message_flags(m, flags, &j);
	if (rc != DD_OK)
		return rc;
	int jflags = JSON_C_TO_STRING_NOSLASHESCAPE;
	jflags |= (flags & DD_PBJSON_PRETTY)
		? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED
		: JSON_C_TO_STRING_PLAIN;
	const char *s = json_object_to_json_string_ext(j, jflags);
	*out = s ? strdup(s) : NULL;
	json_object_put(j);
	return *out ? DD_OK : DD_ENOMEM;
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
		int rc = parse_decimal(json_object_get_string(v),
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
	size_t bad = dd_pbjson_utf8_check(s, len);
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
		if (parse_decimal(key, strlen(key), &neg, &mag) != 0)
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
		if (is_map_field(f))
			return map_from_json(m, f, v, p, err, depth);
		if (!json_object_is_type(v, json_type_array))
			return path_fail(err, p, "expected a JSON array");
		size_t n = json_object_array_length(v);
		if (n == 0)
			return DD_OK;
		size_t es = element_size(f->type);
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
	if (depth > MAX_DEPTH)
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

/* ---- strict JSON text parsing ------------------------------------------------ */

static unsigned line_at(const char *text, size_t off)
{
	unsigned line = 1;
	for (size_t i = 0; i < off; i++)
		if (text[i] == '\n')
			line++;
	return line;
}

/* A JSON integer literal (digits with an optional '-') fits int64 or uint64. */
static bool literal_fits(const char *s, size_t len)
{
	const char *limit = "18446744073709551615";
	if (*s == '-') {
		s++;
		len--;
		limit = "9223372036854775808";
	}
	while (len > 1 && *s == '0') {
		s++;
		len--;
	}
	size_t ll = strlen(limit);
	return len < ll || (len == ll && memcmp(s, limit, ll) <= 0);
}

/* Catches what json-c accepts or mangles silently: integer literals beyond 64
 * bits (clamped) and single-quoted strings (accepted even in strict mode).
 * Double-quoted strings are skipped; other malformed text is left to the
 * parser. */
static int prescan_json(const char *t, size_t len, dd_error *err)
{
	size_t i = 0;
	while (i < len) {
		char c = t[i];
		if (c == '"') {
			for (i++; i < len && t[i] != '"'; i++)
				if (t[i] == '\\')
					i++;
			i++;
		} else if (c == '\'') {
			return dd_error_set(err, DD_EINVAL,
			                    "line %u: invalid JSON: strings take double quotes",
			                    line_at(t, i));
		} else if (c == '-' || (c >= '0' && c <= '9')) {
			size_t start = i;
			bool integer = true;
			while (i < len && t[i] != '\0' && strchr("0123456789+-.eE", t[i]) != NULL) {
				if (t[i] == '.' || t[i] == 'e' || t[i] == 'E')
					integer = false;
				i++;
			}
			if (integer && !literal_fits(t + start, i - start))
				return dd_error_set(err, DD_EINVAL,
				                    "line %u: integer %.*s is outside the 64-bit range",
				                    line_at(t, start), (int)(i - start > 40 ? 40 : i - start),
				                    t + start);
		} else {
			i++;
		}
	}
	return DD_OK;
}

int dd_pbjson_parse(const char *text, size_t len, json_object **out, dd_error *err)
{
	*out = NULL;
	if (len > INT32_MAX - 1)
		return dd_error_set(err, DD_EINVAL, "JSON text too large");
	if (memchr(text, '\0', len) != NULL)
		return dd_error_set(err, DD_EINVAL, "line %u: NUL byte in JSON text",
		                    line_at(text, (size_t)((const char *)memchr(text, '\0', len) - text)));
	int rc = prescan_json(text, len, err);
	if (rc != DD_OK)
		return rc;

	json_tokener *tok = json_tokener_new_ex(MAX_DEPTH * 2);
	if (tok == NULL)
		return fail_nomem(err);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	json_object *j = json_tokener_parse_ex(tok, text, (int)len);
	enum json_tokener_error e = json_tokener_get_error(tok);
	size_t end = json_tokener_get_parse_end(tok);
	if (e == json_tokener_continue) {
		/* the end of the input ends a trailing number or reports truncation */
		j = json_tokener_parse_ex(tok, "", 1);
		e = json_tokener_get_error(tok);
		end = len;
	}
	if (e != json_tokener_success) {
		json_tokener_free(tok);
		json_object_put(j);
		if (e == json_tokener_continue || end >= len)
			return dd_error_set(err, DD_EINVAL, "line %u: JSON text ends too early (%s)",
			                    line_at(text, len), json_tokener_error_desc(e));
		return dd_error_set(err, DD_EINVAL, "line %u: invalid JSON: %s",
		                    line_at(text, end), json_tokener_error_desc(e));
	}
	json_tokener_free(tok);
	for (size_t i = end; i < len; i++) {
		if (!isspace((unsigned char)text[i])) {
			json_object_put(j);
			return dd_error_set(err, DD_EINVAL, "line %u: unexpected text after the JSON value",
			                    line_at(text, i));
		}
	}
	*out = j;
	return DD_OK;
}

int dd_pbjson_parse_message(const char *text, size_t len,
                            const ProtobufCMessageDescriptor *d, ProtobufCMessage **out,
                            dd_error *err)
{
	json_object *j;
	*out = NULL;
	int rc = dd_pbjson_parse(text, len, &j, err);
	if (rc != DD_OK)
		return rc;
	rc = dd_pbjson_to_message(j, d, out, err);
	json_object_put(j);
	return rc;
}
