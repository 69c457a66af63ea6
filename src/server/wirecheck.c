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

static int check_msg(const ProtobufCMessageDescriptor *d, const uint8_t *p,
                     const uint8_t *end, char *path, size_t plen, size_t cap,
                     int depth, dd_error *err)
{
	unsigned counts[64] = { 0 }; /* occurrences per field index, for [i] */
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
		unsigned occ = idx < 64 ? counts[idx]++ : 0;
		int n;
		if (f->label == PROTOBUF_C_LABEL_REPEATED)
			n = snprintf(path + plen, cap - plen, "%s%s[%u]", plen ? "." : "", f->name, occ);
		else
			n = snprintf(path + plen, cap - plen, "%s%s", plen ? "." : "", f->name);
		if (n < 0 || (size_t)n >= cap - plen)
			n = 0;
		if (f->type == PROTOBUF_C_TYPE_STRING) {
			if (memchr(body, '\0', len))
				return dd_error_set(err, DD_EINVAL, "%s: contains a NUL byte", path);
			if (!dd_utf8_valid((const char *)body, len))
				return dd_error_set(err, DD_EINVAL, "%s: invalid UTF-8", path);
		} else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
			int rc = check_msg(f->descriptor, body, body + len, path,
			                   plen + (size_t)n, cap, depth + 1, err);
			if (rc != DD_OK)
				return rc;
		}
		path[plen] = '\0';
	}
	return DD_OK;
}

int dd_wire_check_strings(const ProtobufCMessageDescriptor *d, const uint8_t *buf,
                          size_t len, dd_error *err)
{
	char path[256] = "";
	return check_msg(d, buf, buf + len, path, 0, sizeof(path), 0, err);
}
