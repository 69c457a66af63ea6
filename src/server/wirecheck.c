/* dealdeskd: checks on the wire bytes of a request, before it is decoded.
 *
 * protobuf-c accepts invalid UTF-8 and silently cuts a string at an embedded
 * NUL, so every string field is checked here, on the encoded bytes. The
 * error names the field path ("lines[2].sku").
 *
 * protobuf-c also decodes the whole message before any limit of ours can
 * run: a 2 MB request of a million empty `lines` costs ~100 MB of structs.
 * So the elements of every repeated field (packed ones included) are
 * counted here and the request is refused, naming the limit, as soon as a
 * field passes it: the quote's own limits for QuoteRequest.lines,
 * coupon_codes and attributes, max-repeated for every other field. A
 * singular message field may appear once: protobuf would merge the parts
 * (and join their repeated fields past every limit counted per part). */
#include "server.h"

#include <stdio.h>
#include <string.h>

#include "dealdesk/model.h" /* dd_utf8_valid */
#include "dealdesk/v1/quote.pb-c.h"

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

typedef struct wire_limits {
	const dd_config *cfg; /* NULL: strings only */
} wire_limits;

/* The most elements field f of d may have, and the setting that says so. */
static unsigned field_limit(const wire_limits *wl, const ProtobufCMessageDescriptor *d,
                            const ProtobufCFieldDescriptor *f, const char **setting,
                            const char **what)
{
	const dd_config *c = wl->cfg;
	*what = "elements";
	if (d == &dealdesk__v1__quote_request__descriptor) {
		if (strcmp(f->name, "lines") == 0) {
			*setting = "max-lines";
			*what = "lines; at most %u per order";
			return c->limits.max_lines ? c->limits.max_lines : DD_QUOTE_DEFAULT_MAX_LINES;
		}
		if (strcmp(f->name, "coupon_codes") == 0) {
			*setting = "max-coupons";
			return c->limits.max_coupons;
		}
		if (strcmp(f->name, "attributes") == 0) {
			*setting = "attributes";
			return c->limits.max_attributes ? c->limits.max_attributes
			                                : DD_QUOTE_DEFAULT_MAX_ATTRIBUTES;
		}
	}
	*setting = "max-repeated";
	return c->max_repeated;
}

/* Counts one more element (n of them, for a packed run) of repeated field
 * idx; fails once it passes its limit. */
static int count_elements(const wire_limits *wl, const ProtobufCMessageDescriptor *d,
                          const ProtobufCFieldDescriptor *f, unsigned *count, uint64_t n,
                          const wire_path *wp, int depth, dd_error *err)
{
	if (wl->cfg == NULL || f->label != PROTOBUF_C_LABEL_REPEATED)
		return DD_OK;
	const char *setting, *what;
	unsigned limit = field_limit(wl, d, f, &setting, &what);
	if ((uint64_t)*count + n > limit) {
		char buf[256], whatbuf[64];
		wire_path p = *wp;
		p.field[depth] = f;
		const char *path = path_text(&p, depth, buf, sizeof(buf));
		char *br = strrchr(buf, '[');
		if (br && br > path)
			*br = '\0'; /* the field, not its element */
		snprintf(whatbuf, sizeof(whatbuf), what, limit);
		if (strcmp(what, "elements") == 0)
			return dd_error_set(err, DD_EINVAL, "%s: more than %u elements (%s)", path,
			                    limit, setting);
		return dd_error_set(err, DD_EINVAL, "%s: more than %u %s (%s)", path, limit,
		                    whatbuf, setting);
	}
	*count += (unsigned)n;
	return DD_OK;
}

/* Elements in a packed run of scalars of field f. */
static uint64_t packed_count(const ProtobufCFieldDescriptor *f, const uint8_t *p, uint64_t len)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_DOUBLE:
		return len / 8;
	case PROTOBUF_C_TYPE_FIXED32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_FLOAT:
		return len / 4;
	default: {
		uint64_t n = 0;
		for (uint64_t i = 0; i < len; i++)
			n += !(p[i] & 0x80);
		return n;
	}
	}
}

static int check_msg(const ProtobufCMessageDescriptor *d, const uint8_t *p,
                     const uint8_t *end, wire_path *wp, int depth, const wire_limits *wl,
                     dd_error *err)
{
	unsigned counts[64] = { 0 }; /* occurrences per field index, for [i] */
	unsigned elements[64] = { 0 }; /* elements per repeated field */
	char buf[256];
	if (depth > MAX_DEPTH)
		return dd_error_set(err, DD_EINVAL, "request: nested too deeply");
	while (p < end) {
		uint64_t tag, len;
		if (!read_varint(&p, end, &tag))
			return dd_error_set(err, DD_EINVAL, "request: malformed protobuf");
		unsigned wt = tag & 7;
		uint32_t num = (uint32_t)(tag >> 3);
		const ProtobufCFieldDescriptor *f = NULL;
		size_t idx = 64;
		if (wl->cfg != NULL && (f = protobuf_c_message_descriptor_get_field(d, num)) != NULL)
			idx = (size_t)(f - d->fields);
		if (wt != 2 && idx < 64) {
			int rc = count_elements(wl, d, f, &elements[idx], 1, wp, depth, err);
			if (rc != DD_OK)
				return rc;
		}
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
		if (wl->cfg == NULL)
			f = protobuf_c_message_descriptor_get_field(d, num);
		if (f == NULL)
			continue; /* unknown field: kept, never read */
		idx = (size_t)(f - d->fields);
		if (idx < 64) {
			int packed = f->type != PROTOBUF_C_TYPE_STRING &&
			             f->type != PROTOBUF_C_TYPE_BYTES &&
			             f->type != PROTOBUF_C_TYPE_MESSAGE;
			int rc = count_elements(wl, d, f, &elements[idx],
			                        packed ? packed_count(f, body, len) : 1, wp, depth,
			                        err);
			if (rc != DD_OK)
				return rc;
		}
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
			/* a singular message given twice is merged by the decoder,
			 * its repeated fields joined: each part within a limit, the
			 * whole past it. Protobuf encoders write it once. */
			if (wl->cfg != NULL && f->label != PROTOBUF_C_LABEL_REPEATED && idx < 64 &&
			    counts[idx] > 1)
				return dd_error_set(err, DD_EINVAL,
				                    "%s: given more than once (one message, not parts "
				                    "to merge)",
				                    path_text(wp, depth, buf, sizeof(buf)));
			int rc = check_msg(f->descriptor, body, body + len, wp, depth + 1, wl, err);
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
	wire_limits wl = { NULL };
	return check_msg(d, buf, buf + len, &wp, 0, &wl, err);
}

int dd_wire_check(const ProtobufCMessageDescriptor *d, const uint8_t *buf, size_t len,
                  const dd_config *cfg, dd_error *err)
{
	wire_path wp;
	wire_limits wl = { cfg };
	return check_msg(d, buf, buf + len, &wp, 0, &wl, err);
}
