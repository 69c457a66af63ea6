/* dealdesk pbjson: protobuf-c message -> JSON (see pbjson.h). */
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

/* ---- strings and bytes ------------------------------------------------------- */

/* A JSON string for s, with invalid sequences replaced by U+FFFD. */
static json_object *json_string_sanitized(const char *s, size_t len)
{
	if (dd_utf8_valid(s, len))
		return json_object_new_string_len(s, (int)len);

	char *copy = malloc(len * 3 + 1);
	if (copy == NULL)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < len;) {
		size_t n = dd_utf8_seq_len(s + i, len - i);
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
		size_t n = pbj_element_size(f->type);
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
	if (pbj_is_map_field(f))
		return map_to_json(f, arr, n, flags);
	json_object *a = json_object_new_array_ext((int)n);
	if (a == NULL)
		return NULL;
	size_t es = pbj_element_size(f->type);
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

