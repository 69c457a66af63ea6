/* dealdeskd handlers: the journal. The two hooks the other handlers call
 * (a decision answered, an audited write submitted) and the DecisionLog
 * and AuditLog services. */
#include "handlers_journal.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "dealdesk/journal.h"
#include "dealdesk/pbpack.h"
#include "dealdesk/v1/orders.pb-c.h"

#define FIELD_PTR(m, f) ((const char *)(m) + (f)->offset)

/* ---- hooks --------------------------------------------------------------------- */

static const char *principal_of(dd_call *call)
{
	const char *id = dd_call_identity(call);
	return *id ? id : "anonymous";
}

/* The message to finish the call with, standing for bytes (the packing
 * of a message whose first field is field 1, length-delimited, as the
 * decision id of a QuoteResponse and the order id of an Order are): one
 * unknown field of tag 1 whose data is the rest of the bytes, which
 * protobuf-c packs as the tag byte then the data verbatim, that is bytes
 * again. So the response is packed once, for the log and for the wire. */
static const ProtobufCMessage *packed_shell(dd_arena *a, const ProtobufCMessage *resp,
                                            const uint8_t *bytes, size_t len)
{
	if (len < 2 || bytes[0] != ((1u << 3) | PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED))
		return resp;
	ProtobufCMessage *m = dd_arena_alloc(a, resp->descriptor->sizeof_message);
	ProtobufCMessageUnknownField *u = dd_arena_alloc(a, sizeof(*u));
	if (m == NULL || u == NULL)
		return resp;
	protobuf_c_message_init(resp->descriptor, m);
	u->tag = 1;
	u->wire_type = PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED;
	u->len = len - 1;
	u->data = (uint8_t *)bytes + 1;
	m->n_unknown_fields = 1;
	m->unknown_fields = u;
	return m;
}

static const ProtobufCMessage *record(dd_call *call, Dealdesk__V1__DecisionKind kind,
                                      const ProtobufCMessage *resp)
{
	dd_decisions *d = dd_call_config(call)->decisions;
	/* the access log and metrics read the decision before it becomes bytes */
	dd_call_note_decision(call, resp);
	if (d == NULL)
		return resp;
	dd_arena *a = dd_call_arena(call);
	/* the request as it came (kept by the transport), not packed again */
	size_t ql = 0;
	const uint8_t *qb = dd_call_request_bytes(call, &ql);
	const uint8_t *packed;
	size_t len = dd_pb_pack_thread(resp, &packed);
	uint8_t *bytes = len == SIZE_MAX ? NULL : dd_arena_alloc(a, len ? len : 1);
	if (bytes == NULL) { /* the log packs it itself */
		dd_decisions_record(d, kind, dd_call_request(call), qb, ql, resp, NULL, 0,
		                    dd_call_identity(call));
		return resp;
	}
	memcpy(bytes, packed, len);
	dd_decisions_record(d, kind, dd_call_request(call), qb, ql, resp, bytes, len,
	                    dd_call_identity(call));
	return packed_shell(a, resp, bytes, len);
}

const ProtobufCMessage *dd_journal_record_quote(dd_call *call, const ProtobufCMessage *resp)
{
	return record(call, DEALDESK__V1__DECISION_KIND__DECISION_KIND_QUOTE, resp);
}

void dd_journal_record_refused_commit(dd_call *call, const ProtobufCMessage *quote_req,
                                      const ProtobufCMessage *quote_resp)
{
	dd_decisions *d = dd_call_config(call)->decisions;
	dd_call_note_decision(call, quote_resp);
	if (d != NULL)
		dd_decisions_record(d, DEALDESK__V1__DECISION_KIND__DECISION_KIND_QUOTE, quote_req,
		                    NULL, 0, quote_resp, NULL, 0, dd_call_identity(call));
}

const ProtobufCMessage *dd_journal_record_order(dd_call *call, const ProtobufCMessage *resp)
{
	const char *m = strrchr(dd_call_method(call), '/');
	if (resp == NULL || m == NULL || strcmp(m, "/Commit") != 0
	    || resp->descriptor != &dealdesk__v1__order__descriptor)
		return resp;
	return record(call, DEALDESK__V1__DECISION_KIND__DECISION_KIND_COMMIT, resp);
}

/* What a request changes, in words: its leading id-like string fields and
 * kind / version numbers; for a batch, the first record's and how many
 * more. The value itself is in the entry as the request's SHA-256. */
static void describe(const ProtobufCMessage *m, char *buf, size_t size, int depth)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	size_t len = strlen(buf);
	for (unsigned i = 0; i < d->n_fields && i < 3 && len + 1 < size; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *sep = len ? " " : "";
		if (f->label == PROTOBUF_C_LABEL_REPEATED && f->type == PROTOBUF_C_TYPE_MESSAGE
		    && depth == 0) {
			size_t n = *(const size_t *)((const char *)m + f->quantifier_offset);
			ProtobufCMessage *const *items = *(ProtobufCMessage *const **)FIELD_PTR(m, f);
			if (n > 0)
				describe(items[0], buf, size, 1);
			len = strlen(buf);
			if (n > 1)
				snprintf(buf + len, size - len, " (+%zu more)", n - 1);
			return;
		}
		if (f->label == PROTOBUF_C_LABEL_REPEATED)
			continue;
		if (f->type == PROTOBUF_C_TYPE_STRING) {
			/* keys are ids: a script, a comment or an actor is not one */
			const char *s = *(const char *const *)FIELD_PTR(m, f);
			if (s && *s && strlen(s) <= DD_MAX_ID && strcmp(f->name, "source") != 0
			    && strcmp(f->name, "comment") != 0 && strcmp(f->name, "author") != 0
			    && strcmp(f->name, "actor") != 0)
				snprintf(buf + len, size - len, "%s%s", sep, s);
		} else if ((f->type == PROTOBUF_C_TYPE_ENUM || f->type == PROTOBUF_C_TYPE_UINT64)
		           && (!strcmp(f->name, "kind") || !strcmp(f->name, "version"))) {
			unsigned long long v = f->type == PROTOBUF_C_TYPE_ENUM
			                               ? (unsigned long long)*(const int *)FIELD_PTR(m, f)
			                               : (unsigned long long)*(const uint64_t *)FIELD_PTR(m, f);
			snprintf(buf + len, size - len, "%s%s=%llu", sep, f->name, v);
		}
		len = strlen(buf);
	}
}

void dd_journal_audit(dd_call *call, dd_writer_job *job)
{
	const char *m = strrchr(dd_call_method(call), '/');
	if (m != NULL && strcmp(m, "/Commit") == 0)
		return; /* a checkout decision: in the decision log */
	dd_arena *a = dd_call_arena(call);
	dd_audit_note *n = dd_arena_alloc(a, sizeof(*n));
	char *key = dd_arena_alloc(a, 256);
	const ProtobufCMessage *req = dd_call_request(call);
	size_t len = protobuf_c_message_get_packed_size(req);
	uint8_t *bytes = dd_arena_alloc(a, len ? len : 1);
	if (n == NULL || key == NULL || bytes == NULL) {
		/* Never an unaudited change: a job whose note cannot be made
		 * carries one that still names who and what. */
		static const dd_audit_note oom = { "?", "?", "(out of memory)", "", { 0 } };
		job->audit = &oom;
		return;
	}
	protobuf_c_message_pack(req, bytes);
	unsigned int mdlen = 32;
	EVP_Digest(bytes, len, n->value_sha256, &mdlen, EVP_sha256(), NULL);
	key[0] = '\0';
	describe(req, key, 256, 0);
	n->principal = principal_of(call);
	n->role = dd_role_name(dd_call_role(call));
	n->method = dd_call_method(call);
	n->key = key;
	job->audit = n;
}

/* ---- DecisionLog ------------------------------------------------------------------- */

static int get_decision(dd_call *call, ProtobufCMessage **resp, dd_error *err)
{
	const Dealdesk__V1__DecisionKey *q = (const void *)dd_call_request(call);
	Dealdesk__V1__DecisionRecord *r = NULL;
	int rc = dd_decision_get(dd_call_store(call), q->decision_id, q->order_id,
	                         dd_call_arena(call), &r, err);
	if (rc == DD_OK)
		*resp = &r->base;
	return rc;
}

static int list_decisions(dd_call *call, ProtobufCMessage **resp, dd_error *err)
{
	Dealdesk__V1__ListDecisionsResponse *r = NULL;
	int rc = dd_decision_list(dd_call_store(call), (const void *)dd_call_request(call),
	                          dd_call_arena(call), &r, err);
	if (rc == DD_OK)
		*resp = &r->base;
	return rc;
}

static int replay_decision(dd_call *call, ProtobufCMessage **resp, dd_error *err)
{
	const Dealdesk__V1__DecisionKey *q = (const void *)dd_call_request(call);
	Dealdesk__V1__DecisionRecord *rec = NULL;
	int rc = dd_decision_get(dd_call_store(call), q->decision_id, q->order_id,
	                         dd_call_arena(call), &rec, err);
	Dealdesk__V1__ReplayResult *r = NULL;
	if (rc == DD_OK)
		rc = dd_decision_replay(dd_call_quoter(call), dd_call_store(call), rec,
		                        dd_call_arena(call), &r, err);
	if (rc == DD_OK)
		*resp = &r->base;
	return rc;
}

static int decision_stats(dd_call *call, ProtobufCMessage **resp, dd_error *err)
{
	Dealdesk__V1__DecisionLogStats *r = dd_arena_alloc(dd_call_arena(call), sizeof(*r));
	if (r == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	dd_decisions_stats(dd_call_config(call)->decisions, r);
	*resp = &r->base;
	return DD_OK;
}

static int impact(dd_call *call, ProtobufCMessage **resp, dd_error *err)
{
	Dealdesk__V1__ImpactReport *r = NULL;
	int rc = dd_decision_impact(dd_call_quoter(call), dd_call_store(call),
	                            (const void *)dd_call_request(call), dd_call_arena(call), &r, err);
	if (rc == DD_OK)
		*resp = &r->base;
	return rc;
}

/* ---- AuditLog ---------------------------------------------------------------------- */

static int list_audit(dd_call *call, ProtobufCMessage **resp, dd_error *err)
{
	const Dealdesk__V1__ListAuditRequest *q = (const void *)dd_call_request(call);
	dd_arena *a = dd_call_arena(call);
	Dealdesk__V1__ListAuditResponse *r = dd_arena_alloc(a, sizeof(*r));
	if (r == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	dealdesk__v1__list_audit_response__init(r);
	int rc = dd_audit_list(dd_call_store(call), q->after_seq, q->limit, a, &r->entries,
	                       &r->n_entries, &r->next_after_seq, err);
	if (rc == DD_OK)
		*resp = &r->base;
	return rc;
}

static int verify_audit(dd_call *call, ProtobufCMessage **resp, dd_error *err)
{
	Dealdesk__V1__VerifyAuditResponse *r = NULL;
	int rc = dd_audit_verify(dd_call_store(call), dd_call_arena(call), &r, err);
	if (rc == DD_OK)
		*resp = &r->base;
	return rc;
}

DD_SYNC_HANDLER(, dd_journal_get_decision, get_decision(call, &resp, &err))
DD_SYNC_HANDLER(, dd_journal_list_decisions, list_decisions(call, &resp, &err))
DD_SYNC_HANDLER(, dd_journal_replay_decision, replay_decision(call, &resp, &err))
DD_SYNC_HANDLER(, dd_journal_decision_stats, decision_stats(call, &resp, &err))
DD_SYNC_HANDLER(, dd_journal_impact, impact(call, &resp, &err))
DD_SYNC_HANDLER(, dd_journal_list_audit, list_audit(call, &resp, &err))
DD_SYNC_HANDLER(, dd_journal_verify_audit, verify_audit(call, &resp, &err))
