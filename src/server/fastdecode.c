/* dealdeskd: a QuoteRequest decoded in one pass over its wire bytes.
 *
 * The general path, dd_wire_check (wirecheck.c) and then
 * protobuf_c_message_unpack, walks the bytes twice through descriptors:
 * ~9.5k instructions for the standard five-line quote, 5 % of the quote's
 * whole server cost, and the quote is the call checkouts make most.
 * This decoder reads the usual shape of a QuoteRequest straight into the
 * same protobuf-c structs, in the call's arena, applying the wire check's
 * rules on the way (strings valid UTF-8 without NUL, the quote's limits on
 * lines, coupon codes and attributes).
 *
 * It takes only what it is sure of. Anything else (an unknown field, a
 * singular field given twice, an unexpected wire type, a tag or length
 * in more bytes than it needs, a multi-byte bool, a limit passed, a string
 * that is not clean UTF-8, no memory) gives NULL, and the request takes
 * the general path, which decides and names the error. So whatever it
 * returns is what the general path returns for the same bytes, field for
 * field: tests/fuzz/fuzz_request.c checks that on every input it is given.
 */
#include "server.h"

#include <string.h>

#include "dealdesk/model.h" /* dd_utf8_valid, the quote's default limits */
#include "dealdesk/v1/quote.pb-c.h"

/* More than this many lines, codes or attributes: the general path. */
#define FAST_LINES 256
#define FAST_CODES 64
#define FAST_ATTRS 64

enum { WT_VARINT = 0, WT_LEN = 2 };

typedef struct rd {
	const uint8_t *p, *end;
} rd;

/* A varint as protobuf-c reads one: at most 10 bytes, the bits past 64
 * dropped. *nbytes says how many it took. */
static inline int read_varint(rd *r, uint64_t *v, unsigned *nbytes)
{
	const uint8_t *p = r->p;
	uint64_t x = 0;
	for (unsigned i = 0; i < 10 && p < r->end; i++) {
		uint8_t b = *p++;
		x |= (uint64_t)(b & 0x7F) << (7 * i);
		if (!(b & 0x80)) {
			*nbytes = i + 1;
			r->p = p;
			*v = x;
			return 1;
		}
	}
	return 0;
}

/* A one-byte tag: its field number and wire type. Longer tags (fields
 * past 15, or a number spelt in more bytes than it needs) are not ours. */
static inline int read_tag(rd *r, unsigned *field, unsigned *wt)
{
	if (r->p >= r->end || (*r->p & 0x80))
		return 0;
	uint8_t b = *r->p++;
	*field = b >> 3;
	*wt = b & 7;
	return 1;
}

/* A length-delimited body: its bytes within the message. */
static inline int read_body(rd *r, rd *body)
{
	uint64_t len;
	unsigned n;
	if (!read_varint(r, &len, &n) || n > 3 || len > (uint64_t)(r->end - r->p))
		return 0;
	body->p = r->p;
	body->end = r->p + len;
	r->p += len;
	return 1;
}

/* Valid UTF-8 without NUL: the wire check's rule for every string. */
static inline int text_ok(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((uint8_t)(p[i] - 1) >= 0x7F) /* NUL or not ASCII */
			return memchr(p, '\0', n) == NULL && dd_utf8_valid((const char *)p, n);
	return 1;
}

/* The body as a NUL-terminated string in the arena (protobuf-c's form). */
static char *text(dd_arena *a, const rd *body)
{
	size_t n = (size_t)(body->end - body->p);
	if (!text_ok(body->p, n))
		return NULL;
	char *s = dd_arena_alloc(a, n + 1);
	if (s == NULL)
		return NULL;
	memcpy(s, body->p, n);
	s[n] = '\0';
	return s;
}

/* A field number's bit, to refuse a singular field given twice. */
#define SEEN(set, f) (((set) >> (f)) & 1u)

static Dealdesk__V1__LineRequest *line_of(dd_arena *a, rd r)
{
	Dealdesk__V1__LineRequest *l = dd_arena_alloc(a, sizeof(*l));
	if (l == NULL)
		return NULL;
	*l = (Dealdesk__V1__LineRequest)DEALDESK__V1__LINE_REQUEST__INIT;
	unsigned seen = 0, f, wt, n;
	while (r.p < r.end) {
		if (!read_tag(&r, &f, &wt) || f > 2 || f == 0 || SEEN(seen, f))
			return NULL;
		seen |= 1u << f;
		if (f == 1) { /* sku */
			rd body;
			if (wt != WT_LEN || !read_body(&r, &body) || (l->sku = text(a, &body)) == NULL)
				return NULL;
		} else { /* quantity */
			uint64_t v;
			if (wt != WT_VARINT || !read_varint(&r, &v, &n))
				return NULL;
			l->quantity = (int64_t)v;
		}
	}
	return l;
}

static Dealdesk__V1__QuoteRequest__AttributesEntry *attribute_of(dd_arena *a, rd r)
{
	Dealdesk__V1__QuoteRequest__AttributesEntry *e = dd_arena_alloc(a, sizeof(*e));
	if (e == NULL)
		return NULL;
	*e = (Dealdesk__V1__QuoteRequest__AttributesEntry)
		DEALDESK__V1__QUOTE_REQUEST__ATTRIBUTES_ENTRY__INIT;
	unsigned seen = 0, f, wt;
	while (r.p < r.end) {
		rd body;
		if (!read_tag(&r, &f, &wt) || f > 2 || f == 0 || SEEN(seen, f) || wt != WT_LEN ||
		    !read_body(&r, &body))
			return NULL;
		seen |= 1u << f;
		char *s = text(a, &body);
		if (s == NULL)
			return NULL;
		if (f == 1)
			e->key = s;
		else
			e->value = s;
	}
	return e;
}

/* A copy of n pointers in the arena; NULL for none (protobuf-c's form). */
static int keep(dd_arena *a, void *const *v, size_t n, void *out)
{
	void **copy = NULL;
	if (n > 0) {
		if ((copy = dd_arena_alloc(a, n * sizeof(*copy))) == NULL)
			return 0;
		memcpy(copy, v, n * sizeof(*copy));
	}
	memcpy(out, &copy, sizeof(copy));
	return 1;
}

static ProtobufCMessage *quote_request(const uint8_t *buf, size_t len, const dd_config *cfg,
                                       dd_arena *a)
{
	const size_t max_lines = cfg->limits.max_lines ? cfg->limits.max_lines
	                                               : DD_QUOTE_DEFAULT_MAX_LINES;
	const size_t max_codes = cfg->limits.max_coupons;
	const size_t max_attrs = cfg->limits.max_attributes ? cfg->limits.max_attributes
	                                                    : DD_QUOTE_DEFAULT_MAX_ATTRIBUTES;
	Dealdesk__V1__LineRequest *lines[FAST_LINES];
	char *codes[FAST_CODES];
	Dealdesk__V1__QuoteRequest__AttributesEntry *attrs[FAST_ATTRS];
	size_t nlines = 0, ncodes = 0, nattrs = 0;
	Dealdesk__V1__QuoteRequest *q = dd_arena_alloc(a, sizeof(*q));
	if (q == NULL)
		return NULL;
	*q = (Dealdesk__V1__QuoteRequest)DEALDESK__V1__QUOTE_REQUEST__INIT;
	rd r = { buf, buf + len };
	unsigned seen = 0, f, wt, n;
	while (r.p < r.end) {
		if (!read_tag(&r, &f, &wt) || f == 0 || f > 11)
			return NULL;
		if (f != 5 && f != 6 && f != 8) { /* singular */
			if (SEEN(seen, f))
				return NULL;
			seen |= 1u << f;
		}
		if (f == 7 || f == 10 || f == 11) {
			uint64_t v;
			if (wt != WT_VARINT || !read_varint(&r, &v, &n))
				return NULL;
			if (f == 7)
				q->request_time = (int64_t)v;
			else if (f == 11)
				q->delivery_at = (int64_t)v;
			else if (n == 1) /* explain */
				q->explain = v != 0;
			else
				return NULL; /* a bool in more bytes: the general path */
			continue;
		}
		rd body;
		if (wt != WT_LEN || !read_body(&r, &body))
			return NULL;
		switch (f) {
		case 5:
			if (nlines == FAST_LINES || nlines == max_lines ||
			    (lines[nlines] = line_of(a, body)) == NULL)
				return NULL;
			nlines++;
			break;
		case 6:
			if (ncodes == FAST_CODES || ncodes == max_codes ||
			    (codes[ncodes] = text(a, &body)) == NULL)
				return NULL;
			ncodes++;
			break;
		case 8:
			if (nattrs == FAST_ATTRS || nattrs == max_attrs ||
			    (attrs[nattrs] = attribute_of(a, body)) == NULL)
				return NULL;
			nattrs++;
			break;
		default: {
			char *s = text(a, &body);
			if (s == NULL)
				return NULL;
			switch (f) {
			case 1: q->customer_id = s; break;
			case 2: q->currency = s; break;
			case 3: q->channel = s; break;
			case 4: q->region = s; break;
			default: q->order_id = s; break; /* 9 */
			}
		}
		}
	}
	if (!keep(a, (void *const *)lines, nlines, &q->lines) ||
	    !keep(a, (void *const *)codes, ncodes, &q->coupon_codes) ||
	    !keep(a, (void *const *)attrs, nattrs, &q->attributes))
		return NULL;
	q->n_lines = nlines;
	q->n_coupon_codes = ncodes;
	q->n_attributes = nattrs;
	return &q->base;
}

ProtobufCMessage *dd_fast_decode(const ProtobufCMessageDescriptor *d, const uint8_t *buf,
                                 size_t len, const dd_config *cfg, dd_arena *a)
{
	if (d == &dealdesk__v1__quote_request__descriptor)
		return quote_request(buf, len, cfg, a);
	return NULL;
}
