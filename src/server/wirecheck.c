/* dealdeskd: string checks on the wire bytes of a request.
 *
 * protobuf-c accepts invalid UTF-8 and silently cuts a string at an embedded
 * NUL, so every string field is checked here, on the encoded bytes, before
 * the message is used. The error names the field path ("lines[2].sku"). */
#include "server.h"

#include <stdio.h>
#include <string.h>

#include "dealdesk/model.h" /* dd_utf8_valid */

#define MAX_DEPTH 16

static int read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	uint64_t r = 0;
	for (int shift = 0; shift < 64 && *p < end; shift += 7) {
		uint8_t b = *(*p)++;
		r |= (uint64_t)(b & 0x7F) << shift;
		if (!(b & 0x80)) {
			*v = r;
			return 1;
		}
	}
	return 0;
}

/* The path to the field being checked: descriptors and occurrences per
 * level, spelt out ("lines[2].sku") only when there is an error to name. */
typedef struct wire_path {
	const ProtobufCFieldDescriptor *field[MAX_DEPTH + 1];
	unsigned occurrence[MAX_DEPTH + 1];
} wire_path;

static const char *path_text(const wire_path *wp, int depth, char *buf, size_t cap)
{
	size_t len = 0;
	buf[0] = '\0';
	for (int i = 0; i <= depth && len < cap; i++) {
		const ProtobufCFieldDescriptor *f = wp->field[i];
		int n = f->label == PROTOBUF_C_LABEL_REPEATED
		                ? snprintf(buf + len, cap - len, "%s%s[%u]", i ? "." : "", f->name,
		                           wp->occurrence[i])
		                : snprintf(buf + len, cap - len, "%s%s", i ? "." : "", f->name);
		if (n < 0 || (size_t)n >= cap - len)
			break;
		len += (size_t)n;
	}
	return buf;
}

static int check_msg(const ProtobufCMessageDescriptor *d, const uint8_t *p,
                     const uint8_t *end, wire_path *wp, int depth, dd_error *err)
{
	unsigned counts[64] = { 0 }; /* occurrences per field index, for [i] */
	char buf[256];
	if (depth > MAX_DEPTH)
		return dd_error_set(err, DD_EINVAL, "request: nested too deeply");
	while (p < end) {
		uint64_t tag, len;
		if (!read_varint(&p, end, &tag))
			return dd_error_set(err, DD_EINVAL, "request: malformed protobuf");
		unsigned wt = tag & 7;
		uint32_t num = (uint32_t)(tag >> 3);
		switch (wt) {
		case 0:
			if (!read_varint(&p, end, &len))
				return dd_error_set(err, DD_EINVAL, "request: malformed protobuf");
			continue;
		case 1:
			if (end - p < 8)
				return dd_error_set(err, DD_EINVAL, "request: malformed protobuf");
			p += 8;
			continue;
		case 5:
			if (end - p < 4)
				return dd_error_set(err, DD_EINVAL, "request: malformed protobuf");
			p += 4;
			continue;
		case 2:
			break;
		default:
			return dd_error_set(err, DD_EINVAL, "request: malformed protobuf");
		}
		if (!read_varint(&p, end, &len) || len > (uint64_t)(end - p))
			return dd_error_set(err, DD_EINVAL, "request: malformed protobuf");
		const uint8_t *body = p;
		p += len;
		const ProtobufCFieldDescriptor *f =
			protobuf_c_message_descriptor_get_field(d, num);
		if (f == NULL)
			continue; /* unknown field: kept, never read */
		size_t idx = (size_t)(f - d->fields);
		wp->field[depth] = f;
		wp->occurrence[depth] = idx < 64 ? counts[idx]++ : 0;
		if (f->type == PROTOBUF_C_TYPE_STRING) {
			if (memchr(body, '\0', len))
				return dd_error_set(err, DD_EINVAL, "%s: contains a NUL byte",
				                    path_text(wp, depth, buf, sizeof(buf)));
			if (!dd_utf8_valid((const char *)body, len))
				return dd_error_set(err, DD_EINVAL, "%s: invalid UTF-8",
				                    path_text(wp, depth, buf, sizeof(buf)));
		} else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
			int rc = check_msg(f->descriptor, body, body + len, wp, depth + 1, err);
			if (rc != DD_OK)
				return rc;
		}
	}
	return DD_OK;
}

int dd_wire_check_strings(const ProtobufCMessageDescriptor *d, const uint8_t *buf,
                          size_t len, dd_error *err)
{
	wire_path wp;
	return check_msg(d, buf, buf + len, &wp, 0, err);
}
