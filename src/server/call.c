/* dealdeskd: a call's accessors and its reply (API in call.h).
 *
 * The reply is one batch (initial metadata, message, status, close) started
 * by whichever thread finishes the call; its completion arrives on the
 * worker's queue, where the worker frees the call. That is the only batch a
 * call ever has, so batches never run concurrently on one call. */
#include "transport.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <grpc/support/alloc.h>

#include "dealdesk/log.h"
#include "dealdesk/pbpack.h"
#include "dealdesk/v1/orders.pb-c.h"
#include "dealdesk/v1/quote.pb-c.h"
#include "accesslog.h"
#include "metrics.h"

static const char *const role_names[DD_ROLE__COUNT] = {
	[DD_ROLE_NONE] = "none",
	[DD_ROLE_PUBLIC] = "public",
	[DD_ROLE_CHECKOUT] = "checkout",
	[DD_ROLE_FINANCE] = "finance",
	[DD_ROLE_PRICING] = "pricing",
	[DD_ROLE_COMPLIANCE] = "compliance",
	[DD_ROLE_ADMIN] = "admin",
};

const char *dd_role_name(dd_role role)
{
	return (unsigned)role < DD_ROLE__COUNT ? role_names[role] : "?";
}

dd_role dd_role_from_name(const char *name)
{
	for (int r = DD_ROLE_CHECKOUT; r < DD_ROLE__COUNT; r++)
		if (name && strcmp(name, role_names[r]) == 0)
			return (dd_role)r;
	return DD_ROLE_NONE;
}

int64_t dd_call__now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int dd_deadline_passed(gpr_timespec deadline, gpr_timespec now)
{
	deadline = gpr_convert_clock_type(deadline, GPR_CLOCK_MONOTONIC);
	now = gpr_convert_clock_type(now, GPR_CLOCK_MONOTONIC);
	return gpr_time_cmp(deadline, now) <= 0;
}

/* ---- accessors -------------------------------------------------------------- */

const ProtobufCMessage *dd_call_request(const dd_call *call)
{
	return call->request;
}

dd_arena *dd_call_arena(dd_call *call)
{
	/* a streaming call's message has its own, released after it */
	if (call->stream != NULL && call->stream->msg_arena_live)
		return &call->stream->msg_arena;
	return &call->arena;
}

const char *dd_call_method(const dd_call *call)
{
	return call->method >= 0 ? dd_methods[call->method].path : call->unregistered_path;
}

const char *dd_call_peer(dd_call *call)
{
	if (call->peer == NULL)
		call->peer = grpc_call_get_peer(call->call);
	return call->peer ? call->peer : "";
}

gpr_timespec dd_call_deadline(const dd_call *call)
{
	return call->deadline;
}

int64_t dd_call_time_left_ms(const dd_call *call)
{
	gpr_timespec d = gpr_convert_clock_type(call->deadline, GPR_CLOCK_MONOTONIC);
	if (gpr_time_cmp(d, gpr_inf_future(GPR_CLOCK_MONOTONIC)) == 0)
		return INT64_MAX;
	return gpr_time_to_millis(gpr_time_sub(d, gpr_now(GPR_CLOCK_MONOTONIC)));
}

const char *dd_call_metadata(dd_call *call, const char *key, size_t *len)
{
	size_t klen = strlen(key);
	for (size_t i = 0; i < call->md.count; i++) {
		const grpc_metadata *m = &call->md.metadata[i];
		if (GRPC_SLICE_LENGTH(m->key) != klen
		    || strncasecmp((const char *)GRPC_SLICE_START_PTR(m->key), key, klen) != 0)
			continue;
		const char *v = (const char *)GRPC_SLICE_START_PTR(m->value);
		size_t vlen = GRPC_SLICE_LENGTH(m->value);
		if (len == NULL && memchr(v, '\0', vlen) != NULL)
			return NULL; /* a C string would cut it short */
		char *copy = dd_arena_strndup(&call->arena, v, vlen);
		if (copy != NULL && len != NULL)
			*len = vlen;
		return copy;
	}
	return NULL;
}

const char *dd_call_identity(const dd_call *call)
{
	return call->identity ? call->identity : "";
}

dd_role dd_call_role(const dd_call *call)
{
	return call->role;
}

int dd_call_set_identity(dd_call *call, const char *identity, dd_role role)
{
	if ((unsigned)role >= DD_ROLE__COUNT)
		return DD_EINVAL;
	char *copy = dd_arena_strdup(&call->arena, identity ? identity : "");
	if (copy == NULL)
		return DD_ENOMEM;
	call->identity = copy;
	call->role = role;
	return DD_OK;
}

dd_quoter *dd_call_quoter(const dd_call *call)
{
	return call->w->quoter;
}

dd_store *dd_call_store(const dd_call *call)
{
	return call->w->server->store;
}

dd_writer *dd_call_writer(const dd_call *call)
{
	return call->w->server->writer;
}

const struct dd_config *dd_call_config(const dd_call *call)
{
	return call->w->server->config;
}

/* ---- the reply ---------------------------------------------------------------- */

static const char *status_name(grpc_status_code s)
{
	static const char *const names[] = {
		"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
		"NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
		"FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
		"INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
	};
	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

static void release_arena(dd_call *c)
{
	if (c->arena_live) {
		/* on its worker's thread the memory goes back to the worker for
		 * the next call; on another (the writer's) it is freed */
		if (pthread_equal(pthread_self(), c->w->self))
			dd_arena_take(&c->w->spare, &c->arena);
		dd_arena_free(&c->arena);
		c->arena_live = false;
	}
}

void dd_call__free(dd_call *c)
{
	dd_call__untrack(c);
	if (c->reply_len)
		atomic_fetch_sub(&c->w->server->pending_reply_bytes, c->reply_len);
	if (c->payload)
		grpc_byte_buffer_destroy(c->payload);
	if (c->reply)
		grpc_byte_buffer_destroy(c->reply);
	grpc_slice_unref(c->status_details);
	if (c->trailer_set) {
		grpc_slice_unref(c->trailer.key);
		grpc_slice_unref(c->trailer.value);
	}
	grpc_metadata_array_destroy(&c->md);
	if (c->method < 0)
		grpc_call_details_destroy(&c->details);
	if (c->unregistered_path)
		gpr_free(c->unregistered_path);
	if (c->peer)
		gpr_free(c->peer);
	release_arena(c);
	if (c->call)
		grpc_call_unref(c->call);
	free(c);
}

void dd_call__ended(dd_call *c, grpc_status_code status, const char *message)
{
	dd_server *s = c->w->server;
	int64_t us = dd_call__now_us() - c->start_us;
	if (s->metrics)
		dd_metrics_handled(s->metrics, c->w->index, c->method, status, us);
	if (dd_log_enabled(DD_LOG_INFO) || (status != GRPC_STATUS_OK && dd_log_enabled(DD_LOG_WARN))) {
		dd_access_entry e = {
			.request_id = dd_call__request_id(c),
			.method = dd_call_method(c),
			.status = status_name(status),
			.status_code = (int)status,
			.duration_us = us,
			.peer = dd_call_peer(c),
			.principal = dd_call_identity(c),
			.decision_id = c->decision_id,
			.error = status == GRPC_STATUS_OK ? NULL : message,
		};
		dd_access_log(status == GRPC_STATUS_OK ? DD_LOG_INFO : DD_LOG_WARN, &e);
	}
}

const char *dd_call__request_id(dd_call *c)
{
	if (c->request_id[0] == '\0') {
		size_t len = 0;
		const char *v = c->arena_live ? dd_call_metadata(c, "x-request-id", &len) : NULL;
		size_t n = 0;
		/* the client's, when it sent a printable one; else ours */
		for (size_t i = 0; v && i < len && n < sizeof(c->request_id) - 1; i++)
			if (v[i] > 0x20 && v[i] < 0x7f && v[i] != '"' && v[i] != '\\')
				c->request_id[n++] = v[i];
		c->request_id[n] = '\0';
		if (n == 0)
			snprintf(c->request_id, sizeof(c->request_id), "%llx-%llx",
			         (unsigned long long)c->w->server->started_at,
			         (unsigned long long)atomic_fetch_add_explicit(
			                 &c->w->server->next_request_id, 1, memory_order_relaxed));
	}
	return c->request_id;
}

void dd_call__reply(dd_call *c, grpc_status_code status, const char *message, int code)
{
	dd_server *s = c->w->server;
	if (message == NULL)
		message = "";
	if (c->stream != NULL) {
		dd_stream__finish(c, status, message, code, NULL);
		return;
	}
	c->finished = true;
	c->status_details = grpc_slice_from_copied_string(status == GRPC_STATUS_OK ? "" : message);
	if (status != GRPC_STATUS_OK)
		dd_call__set_details(c, status, message, code);
	dd_call__ended(c, status, message);
	/* Everything the reply needs is copied: the arena can go now rather
	 * than when the client has read the reply. */
	release_arena(c);

	grpc_op ops[4];
	memset(ops, 0, sizeof(ops));
	size_t n = 0;
	ops[n].op = GRPC_OP_SEND_INITIAL_METADATA;
	n++;
	if (status == GRPC_STATUS_OK && c->reply != NULL) {
		ops[n].op = GRPC_OP_SEND_MESSAGE;
		ops[n].data.send_message.send_message = c->reply;
		n++;
	}
	ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
	ops[n].data.send_status_from_server.status = status;
	ops[n].data.send_status_from_server.status_details = &c->status_details;
	if (c->trailer_set) {
		ops[n].data.send_status_from_server.trailing_metadata_count = 1;
		ops[n].data.send_status_from_server.trailing_metadata = &c->trailer;
	}
	n++;
	ops[n].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
	ops[n].data.recv_close_on_server.cancelled = &c->cancelled;
	n++;
	c->state = CALL_REPLYING;
	/* From here on the worker may free c at any moment. */
	grpc_call_error e = grpc_call_start_batch(c->call, ops, n, c, NULL);
	if (e != GRPC_CALL_OK) {
		dd_log(DD_LOG_ERROR, "start_batch failed: %d", (int)e);
		dd_call__free(c);
	}
	atomic_fetch_sub(&s->active_calls, 1);
}

/* What a response says about the decision: its id for the log, and its
 * outcome for the metrics (Quote, Commit). */
static void note_decision(dd_call *call, const ProtobufCMessage *resp)
{
	if (call->decision_noted)
		return;
	call->decision_noted = 1;
	const Dealdesk__V1__QuoteResponse *q = NULL;
	const ProtobufCMessageDescriptor *req = call->method >= 0 ? dd_methods[call->method].request : NULL;
	if (req != &dealdesk__v1__quote_request__descriptor &&
	    req != &dealdesk__v1__commit_request__descriptor)
		return;
	if (resp->descriptor == &dealdesk__v1__quote_response__descriptor) {
		q = (const void *)resp;
	} else if (resp->descriptor == &dealdesk__v1__order__descriptor) {
		const Dealdesk__V1__Order *o = (const void *)resp;
		q = o->quote;
	}
	if (q == NULL)
		return;
	call->decision_id = q->decision_id;
	dd_metrics *m = call->w->server->metrics;
	if (m)
		dd_metrics_decision(m, call->w->index, q->credit ? (int)q->credit->outcome : 0,
		                    (int)q->compliance_status);
}

const uint8_t *dd_call_request_bytes(const dd_call *call, size_t *len)
{
	*len = call->request_len;
	return call->request_bytes;
}

void dd_call_note_decision(dd_call *call, const ProtobufCMessage *resp)
{
	if (resp != NULL)
		note_decision(call, resp);
}

int dd_call_finish(dd_call *call, int rc, const ProtobufCMessage *resp,
                   const dd_error *err)
{
	if (call->finished) {
		dd_log(DD_LOG_ERROR, "%s: finished twice", dd_call_method(call));
		return DD_CALL_DONE;
	}
	if (rc == DD_OK && resp == NULL && call->stream != NULL) {
		dd_stream__finish(call, GRPC_STATUS_OK, NULL, DD_OK, NULL);
		return DD_CALL_DONE;
	}
	if (rc == DD_OK && resp == NULL) {
		rc = DD_EINTERNAL;
		err = NULL;
	}
	if (rc != DD_OK) {
		char msg[sizeof(err->msg)];
		snprintf(msg, sizeof(msg), "%s",
		         err && err->msg[0] ? err->msg : dd_strerror(rc));
		grpc_status_code status = dd_err_grpc_status(rc);
		if (status == GRPC_STATUS_INTERNAL && rc != DD_EPOLICY && rc != DD_EBUDGET)
			dd_log(DD_LOG_ERROR, "%s: %s", dd_call_method(call), msg);
		if ((rc == DD_EPOLICY || rc == DD_EBUDGET) && call->w->server->metrics)
			dd_metrics_policy_failure(call->w->server->metrics, rc == DD_EBUDGET, msg);
		dd_call__reply(call, status, msg, rc);
		return DD_CALL_DONE;
	}
	note_decision(call, resp);
	if (call->stream != NULL) {
		dd_stream__finish(call, GRPC_STATUS_OK, NULL, DD_OK, resp);
		return DD_CALL_DONE;
	}
	const uint8_t *packed;
	size_t len = dd_pb_pack_thread(resp, &packed);
	size_t max = call->w->server->config->max_message_bytes;
	if (len == SIZE_MAX) {
		dd_call__reply(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "server: out of memory",
		               DD_ENOMEM);
		return DD_CALL_DONE;
	}
	if (len > max) {
		char msg[256];
		snprintf(msg, sizeof(msg),
		         "response: %zu bytes, more than max-message-bytes (%zu); ask for less "
		         "(a smaller page_size)",
		         len, max);
		dd_log(DD_LOG_WARN, "%s: %s", dd_call_method(call), msg);
		dd_call__reply(call, GRPC_STATUS_RESOURCE_EXHAUSTED, msg, DD_EFULL);
		return DD_CALL_DONE;
	}
	/* Replies that clients do not read stay in memory until their call
	 * ends (max-call-ms at most): their total is bounded. */
	dd_server *s = call->w->server;
	size_t held = atomic_fetch_add(&s->pending_reply_bytes, len) + len;
	call->reply_len = len;
	if (held > s->config->max_pending_replies) {
		atomic_fetch_sub(&s->pending_reply_bytes, len);
		call->reply_len = 0;
		char msg[256];
		snprintf(msg, sizeof(msg),
		         "server: %zu bytes of replies are waiting for clients to read them "
		         "(max-pending-replies %zu); try again later",
		         held - len, s->config->max_pending_replies);
		dd_log(DD_LOG_WARN, "%s: %s", dd_call_method(call), msg);
		dd_call__reply(call, GRPC_STATUS_RESOURCE_EXHAUSTED, msg, DD_EFULL);
		return DD_CALL_DONE;
	}
	grpc_slice slice = grpc_slice_malloc(len);
	if (len)
		memcpy(GRPC_SLICE_START_PTR(slice), packed, len);
	call->reply = grpc_raw_byte_buffer_create(&slice, 1);
	grpc_slice_unref(slice);
	dd_call__reply(call, GRPC_STATUS_OK, NULL, DD_OK);
	return DD_CALL_DONE;
}
