/* dealdesk pbjson: descriptor and enum helpers shared by the reader
 * (pbjson_read.c) and the writer (pbjson_write.c). See pbjson.h. UTF-8 is
 * the model's (dd_utf8_check). */
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

#include "client/pbjson_int.h"

/* ---- descriptor helpers ------------------------------------------------------ */

size_t pbj_element_size(ProtobufCType type)
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
bool pbj_is_map_field(const ProtobufCFieldDescriptor *f)
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
int pbj_parse_decimal(const char *s, size_t len, bool *neg, uint64_t *mag)
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
	if (pbj_parse_decimal(s, strlen(s), &neg, &mag) == 0 && mag <= INT32_MAX) {
		int v = neg ? -(int)mag : (int)mag;
		if (protobuf_c_enum_descriptor_get_value(d, v) != NULL) {
			*value = v;
			return DD_OK;
		}
	}
	return DD_EINVAL;
}

