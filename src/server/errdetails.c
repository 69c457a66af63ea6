/* dealdeskd: the google.rpc.Status a failed call carries in its
 * grpc-status-details-bin trailer (README "Error details").
 *
 * Every failure gets an ErrorInfo (domain "dealdesk", a stable reason,
 * the method and the field in metadata); INVALID_ARGUMENT adds a
 * BadRequest naming the field; FAILED_PRECONDITION a PreconditionFailure:
 * one violation per blocking compliance check, per credit reason, or the
 * state that refused the call. The details are read from the error
 * message, whose form the project keeps ("field: reason", "credit DECLINE:
 * r1; r2;", "compliance BLOCK: id: message;"). */
#include "transport.h"

#include <stdio.h>
#include <string.h>

#include "dealdesk/v1/orders.pb-c.h"
#include "dealdesk/v1/quote.pb-c.h"
#include "google/rpc/error_details.pb-c.h"
#include "google/rpc/status.pb-c.h"

#define DETAILS_DOMAIN "dealdesk"
#define MAX_VIOLATIONS 16

/* The field a message names ("lines[2].quantity: must be > 0"): its length,
 * 0 when it names none. */
static size_t field_prefix(const char *msg)
{
	size_t n = 0;
	while (msg[n] && (msg[n] == '_' || msg[n] == '.' || msg[n] == '[' || msg[n] == ']' ||
	                  (msg[n] >= 'a' && msg[n] <= 'z') || (msg[n] >= 'A' && msg[n] <= 'Z') ||
	                  (msg[n] >= '0' && msg[n] <= '9')))
		n++;
	if (n == 0 || msg[n] != ':' || msg[n + 1] != ' ')
		return 0;
	if (n == 7 && strncmp(msg, "request", 7) == 0)
		return 0; /* the whole request, not a field */
	return n;
}

/* A stable reason for ErrorInfo: from the dd_err behind the failure, else
 * from the gRPC status. */
static const char *reason_of(grpc_status_code status, int code, const char *msg)
{
	switch (code) {
	case DD_EINVAL: return "INVALID_FIELD";
	case DD_EOVERFLOW: return "AMOUNT_OVERFLOW";
	case DD_ENOTFOUND: return "NOT_FOUND";
	case DD_EEXIST: return "ALREADY_EXISTS";
	case DD_EPRECOND:
		if (strncmp(msg, "credit DECLINE:", 15) == 0)
			return "CREDIT_DECLINED";
		if (strncmp(msg, "compliance BLOCK:", 17) == 0)
			return "COMPLIANCE_BLOCKED";
		if (strncmp(msg, "no active ", 10) == 0)
			return "NO_ACTIVE_POLICY";
		if (strncmp(msg, "expected_total:", 15) == 0)
			return "TOTAL_MISMATCH";
		if (strstr(msg, "; retry") != NULL)
			return "CHANGED_SINCE_QUOTE";
		return "PRECONDITION_FAILED";
	case DD_ENOMEM: return "OUT_OF_MEMORY";
	case DD_EFULL:
		return strncmp(msg, "response:", 9) == 0 ? "RESPONSE_TOO_LARGE"
		       : strncmp(msg, "server:", 7) == 0 ? "SERVER_BUSY"
		                                         : "STORE_FULL";
	case DD_ESTORE: return "STORE_ERROR";
	case DD_EPOLICY: return "POLICY_ERROR";
	case DD_EBUDGET: return "POLICY_BUDGET_EXCEEDED";
	case DD_EDENIED: return "PERMISSION_DENIED";
	case DD_EUNAUTH: return "UNAUTHENTICATED";
	case DD_EINTERNAL: return "INTERNAL";
	default: break;
	}
	switch (status) {
	case GRPC_STATUS_DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
	case GRPC_STATUS_UNIMPLEMENTED: return "UNIMPLEMENTED";
	case GRPC_STATUS_CANCELLED: return "CANCELLED";
	case GRPC_STATUS_RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
	case GRPC_STATUS_INVALID_ARGUMENT: return "INVALID_FIELD";
	default: return "INTERNAL";
	}
}

/* The customer a Quote or Commit request is for ("" otherwise). */
static const char *request_customer(const dd_call *c)
{
	const ProtobufCMessage *r = c->request;
	if (r == NULL)
		return "";
	if (r->descriptor == &dealdesk__v1__quote_request__descriptor)
		return ((const Dealdesk__V1__QuoteRequest *)r)->customer_id;
	if (r->descriptor == &dealdesk__v1__commit_request__descriptor) {
		const Dealdesk__V1__CommitRequest *q = (const void *)r;
		return q->request ? q->request->customer_id : "";
	}
	return "";
}

typedef struct details_buf {
	char text[4096]; /* copies of the pieces of the message */
	size_t used;
} details_buf;

static char *piece(details_buf *b, const char *s, size_t n)
{
	while (n > 0 && (*s == ' '))
		s++, n--;
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == ';'))
		n--;
	if (b->used + n + 1 > sizeof(b->text))
		n = b->used + 1 < sizeof(b->text) ? sizeof(b->text) - b->used - 1 : 0;
	char *out = b->text + b->used;
	memcpy(out, s, n);
	out[n] = '\0';
	b->used += n + 1;
	return out;
}

/* 1 when p starts "ID: " with ID a record id (no spaces): the start of a
 * compliance check's entry; *idlen gets the id's length. */
static int entry_start(const char *p, size_t len, size_t *idlen)
{
	while (len > 0 && *p == ' ')
		p++, len--;
	size_t n = 0;
	while (n < len && (p[n] == '-' || p[n] == '_' || p[n] == '.' || p[n] == ':' ||
	                   (p[n] >= 'a' && p[n] <= 'z') || (p[n] >= 'A' && p[n] <= 'Z') ||
	                   (p[n] >= '0' && p[n] <= '9')) &&
	       !(p[n] == ':' && n + 1 < len && p[n + 1] == ' '))
		n++;
	*idlen = n;
	return n > 0 && n + 1 < len && p[n] == ':' && p[n + 1] == ' ';
}

/* "credit DECLINE: r1; r2;" -> one violation per reason; "compliance
 * BLOCK: id: message; id2: message;" -> one per check (a piece that does
 * not start "id: " belongs to the message before it: messages may hold
 * "; "); else one for the whole state. */
static size_t precondition_violations(const dd_call *c, const char *msg, details_buf *b,
                                      Google__Rpc__PreconditionFailure__Violation *v)
{
	size_t n = 0;
	const char *type = "STATE", *p = NULL;
	int credit = 0;
	if (strncmp(msg, "credit DECLINE:", 15) == 0)
		type = "CREDIT", p = msg + 15, credit = 1;
	else if (strncmp(msg, "compliance BLOCK:", 17) == 0)
		type = "COMPLIANCE", p = msg + 17;
	char subject[160];
	snprintf(subject, sizeof(subject), "customer/%s", request_customer(c));
	while (p != NULL && *p) {
		const char *semi = strchr(p, ';');
		size_t len = semi ? (size_t)(semi - p) : strlen(p), idlen = 0;
		if (credit) {
			if (n == MAX_VIOLATIONS)
				break;
			google__rpc__precondition_failure__violation__init(&v[n]);
			v[n].type = (char *)type;
			v[n].subject = piece(b, subject, strlen(subject));
			v[n].description = piece(b, p, len);
			if (v[n].description[0] != '\0')
				n++;
		} else if (entry_start(p, len, &idlen) && n < MAX_VIOLATIONS) {
			while (*p == ' ')
				p++, len--;
			char sub[160];
			snprintf(sub, sizeof(sub), "compliance_check/%.*s", (int)idlen, p);
			google__rpc__precondition_failure__violation__init(&v[n]);
			v[n].type = (char *)type;
			v[n].subject = piece(b, sub, strlen(sub));
			v[n].description = piece(b, p + idlen + 2, len - idlen - 2);
			n++;
		} else if (n > 0 && len > 0) {
			/* the rest of the previous check's message */
			char *prev = v[n - 1].description;
			char joined[512];
			snprintf(joined, sizeof(joined), "%s;%.*s", prev, (int)len, p);
			v[n - 1].description = piece(b, joined, strlen(joined));
		}
		if (semi == NULL)
			break;
		p = semi + 1;
	}
	if (n == 0) {
		google__rpc__precondition_failure__violation__init(&v[0]);
		size_t f = field_prefix(msg);
		v[0].type = (char *)type;
		v[0].subject = f ? piece(b, msg, f) : (char *)dd_call_method((dd_call *)c);
		v[0].description = (char *)(f ? msg + f + 2 : msg);
		n = 1;
	}
	return n;
}

/* Packs m as an Any into any (its value in buf). */
static int pack_any(const ProtobufCMessage *m, const char *type, uint8_t *buf, size_t cap,
                    Google__Protobuf__Any *any)
{
	size_t len = protobuf_c_message_get_packed_size(m);
	if (len > cap)
		return -1;
	protobuf_c_message_pack(m, buf);
	google__protobuf__any__init(any);
	any->type_url = (char *)type;
	any->value.data = buf;
	any->value.len = len;
	return 0;
}

void dd_call__set_details(dd_call *c, grpc_status_code status, const char *message, int code)
{
	if (c->trailer_set || status == GRPC_STATUS_OK)
		return;
	if (message == NULL)
		message = "";
	details_buf b = { .used = 0 };
	uint8_t info_buf[1024], extra_buf[4096];
	Google__Protobuf__Any anys[2];
	Google__Protobuf__Any *any_ptrs[2] = { &anys[0], &anys[1] };
	size_t nany = 0;

	size_t f = field_prefix(message);
	char *field = f ? piece(&b, message, f) : NULL;
	Google__Rpc__ErrorInfo__MetadataEntry md[2];
	Google__Rpc__ErrorInfo__MetadataEntry *mdp[2] = { &md[0], &md[1] };
	Google__Rpc__ErrorInfo info = GOOGLE__RPC__ERROR_INFO__INIT;
	info.reason = (char *)reason_of(status, code, message);
	info.domain = DETAILS_DOMAIN;
	google__rpc__error_info__metadata_entry__init(&md[0]);
	md[0].key = "method";
	md[0].value = (char *)(dd_call_method(c) ? dd_call_method(c) : "");
	info.n_metadata = 1;
	if (field) {
		google__rpc__error_info__metadata_entry__init(&md[1]);
		md[1].key = "field";
		md[1].value = field;
		info.n_metadata = 2;
	}
	info.metadata = mdp;
	if (pack_any(&info.base, "type.googleapis.com/google.rpc.ErrorInfo", info_buf,
	             sizeof(info_buf), &anys[nany]) == 0)
		nany++;

	if (status == GRPC_STATUS_INVALID_ARGUMENT) {
		Google__Rpc__BadRequest__FieldViolation fv = GOOGLE__RPC__BAD_REQUEST__FIELD_VIOLATION__INIT;
		Google__Rpc__BadRequest__FieldViolation *fvp = &fv;
		fv.field = field ? field : "";
		fv.description = (char *)(f ? message + f + 2 : message);
		Google__Rpc__BadRequest br = GOOGLE__RPC__BAD_REQUEST__INIT;
		br.n_field_violations = 1;
		br.field_violations = &fvp;
		if (pack_any(&br.base, "type.googleapis.com/google.rpc.BadRequest", extra_buf,
		             sizeof(extra_buf), &anys[nany]) == 0)
			nany++;
	} else if (status == GRPC_STATUS_FAILED_PRECONDITION) {
		Google__Rpc__PreconditionFailure__Violation v[MAX_VIOLATIONS];
		Google__Rpc__PreconditionFailure__Violation *vp[MAX_VIOLATIONS];
		size_t n = precondition_violations(c, message, &b, v);
		for (size_t i = 0; i < n; i++)
			vp[i] = &v[i];
		Google__Rpc__PreconditionFailure pf = GOOGLE__RPC__PRECONDITION_FAILURE__INIT;
		pf.n_violations = n;
		pf.violations = vp;
		if (pack_any(&pf.base, "type.googleapis.com/google.rpc.PreconditionFailure",
		             extra_buf, sizeof(extra_buf), &anys[nany]) == 0)
			nany++;
	}

	Google__Rpc__Status st = GOOGLE__RPC__STATUS__INIT;
	st.code = (int32_t)status;
	st.message = (char *)message;
	st.n_details = nany;
	st.details = any_ptrs;
	size_t len = protobuf_c_message_get_packed_size(&st.base);
	grpc_slice value = grpc_slice_malloc(len);
	protobuf_c_message_pack(&st.base, GRPC_SLICE_START_PTR(value));
	c->trailer.key = grpc_slice_from_static_string("grpc-status-details-bin");
	c->trailer.value = value;
	c->trailer_set = 1;
}
