/* dealdeskd: streaming calls (server, client and bidirectional streaming).
 *
 * A unary call is one batch (call.c). A streaming call keeps several
 * batches, each with its own tag (transport.h, struct dd_tag):
 *   close   RECV_CLOSE_ON_SERVER, started at arrival: completes when the
 *           call is over, and says whether the client cancelled it;
 *   recv    RECV_MESSAGE, one at a time (client-streaming methods): each
 *           message is decoded and handed to the handler, then the next is
 *           asked for; no message means the client half-closed;
 *   send    SEND_MESSAGE, one at a time, from a queue that dd_call_send
 *           fills from any thread (initial metadata with the first);
 *   status  SEND_STATUS_FROM_SERVER, once the queue is empty after
 *           dd_call_finish.
 * gRPC allows one batch of each kind at a time on a call; the lock keeps
 * it so. The call is freed, on its worker, when close has completed and no
 * batch is left. While more than a few replies are queued unsent (the
 * client does not read), no further message is received: a client cannot
 * make the server buffer without bound. */
#include "transport.h"

#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/support/alloc.h>

#include "dealdesk/log.h"
#include "dealdesk/pbpack.h"

struct dd_stream_msg {
	struct dd_stream_msg *next;
	grpc_byte_buffer *buf;
	size_t len;
};

/* replies queued unsent before the stream stops reading requests */
static size_t queued_limit(const dd_call *c)
{
	return c->w->server->config->max_message_bytes * 2;
}

static int start_batch(dd_call *c, const grpc_op *ops, size_t n, struct dd_tag *tag)
{
	grpc_call_error e = grpc_call_start_batch(c->call, ops, n, tag, NULL);
	if (e != GRPC_CALL_OK) {
		dd_log(DD_LOG_ERROR, "%s: start_batch failed: %d", dd_call_method(c), (int)e);
		return -1;
	}
	c->stream->in_flight++;
	return 0;
}

static void start_recv_locked(dd_call *c)
{
	grpc_op op;
	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_RECV_MESSAGE;
	op.data.recv_message.recv_message = &c->stream->recv_buf;
	start_batch(c, &op, 1, &c->stream->recv_tag);
}

static void start_status_locked(dd_call *c)
{
	dd_stream *s = c->stream;
	grpc_op ops[2];
	memset(ops, 0, sizeof(ops));
	size_t n = 0;
	if (!s->md_sent) {
		ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
		s->md_sent = true;
	}
	ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
	ops[n].data.send_status_from_server.status = s->status;
	ops[n].data.send_status_from_server.status_details = &c->status_details;
	if (c->trailer_set) {
		ops[n].data.send_status_from_server.trailing_metadata_count = 1;
		ops[n].data.send_status_from_server.trailing_metadata = &c->trailer;
	}
	n++;
	s->status_started = true;
	start_batch(c, ops, n, &s->status_tag);
}

/* The next queued message, or the status once the queue is empty. */
static void pump_locked(dd_call *c)
{
	dd_stream *s = c->stream;
	if (s->sending || s->closed)
		return;
	struct dd_stream_msg *m = s->head;
	if (m == NULL) {
		if (c->finished && !s->status_started)
			start_status_locked(c);
		return;
	}
	s->head = m->next;
	if (s->head == NULL)
		s->tail = NULL;
	s->queued_bytes -= m->len;
	grpc_op ops[2];
	memset(ops, 0, sizeof(ops));
	size_t n = 0;
	if (!s->md_sent) {
		ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
		s->md_sent = true;
	}
	ops[n].op = GRPC_OP_SEND_MESSAGE;
	ops[n].data.send_message.send_message = m->buf;
	n++;
	s->sending_buf = m->buf;
	free(m);
	s->sending = true;
	if (start_batch(c, ops, n, &s->send_tag) != 0) {
		s->sending = false;
		grpc_byte_buffer_destroy(s->sending_buf);
		s->sending_buf = NULL;
	}
}

static void drop_queue_locked(dd_stream *s)
{
	while (s->head) {
		struct dd_stream_msg *m = s->head;
		s->head = m->next;
		grpc_byte_buffer_destroy(m->buf);
		free(m);
	}
	s->tail = NULL;
	s->queued_bytes = 0;
}

int dd_call_send(dd_call *call, const ProtobufCMessage *msg)
{
	dd_stream *s = call->stream;
	if (s == NULL || msg == NULL)
		return DD_EINVAL;
	const uint8_t *packed;
	size_t len = dd_pb_pack_thread(msg, &packed);
	if (len == SIZE_MAX)
		return DD_ENOMEM;
	if (len > call->w->server->config->max_message_bytes)
		return DD_EFULL;
	struct dd_stream_msg *m = malloc(sizeof(*m));
	if (m == NULL)
		return DD_ENOMEM;
	grpc_slice slice = grpc_slice_malloc(len);
	if (len)
		memcpy(GRPC_SLICE_START_PTR(slice), packed, len);
	m->buf = grpc_raw_byte_buffer_create(&slice, 1);
	grpc_slice_unref(slice);
	m->len = len;
	m->next = NULL;
	pthread_mutex_lock(&s->lock);
	if (call->finished || s->closed) {
		pthread_mutex_unlock(&s->lock);
		grpc_byte_buffer_destroy(m->buf);
		free(m);
		return DD_EPRECOND;
	}
	if (s->tail)
		s->tail->next = m;
	else
		s->head = m;
	s->tail = m;
	s->queued_bytes += len;
	pump_locked(call);
	pthread_mutex_unlock(&s->lock);
	return DD_OK;
}

int dd_call_on_cancel(dd_call *call, void (*fn)(dd_call *call, void *ud), void *ud)
{
	if (call->stream == NULL)
		return 0;
	pthread_mutex_lock(&call->stream->lock);
	int before = !call->stream->closed;
	call->stream->on_cancel = fn;
	call->stream->cancel_ud = ud;
	pthread_mutex_unlock(&call->stream->lock);
	return before;
}

void dd_stream__finish(dd_call *c, grpc_status_code status, const char *message, int code,
                       const ProtobufCMessage *resp)
{
	if (resp != NULL && status == GRPC_STATUS_OK && dd_call_send(c, resp) != DD_OK) {
		status = GRPC_STATUS_INTERNAL;
		message = "the last message could not be sent";
	}
	dd_stream *s = c->stream;
	pthread_mutex_lock(&s->lock);
	if (c->finished) {
		pthread_mutex_unlock(&s->lock);
		return;
	}
	c->finished = true;
	s->status = status;
	c->status_details = grpc_slice_from_copied_string(status == GRPC_STATUS_OK ? "" : message);
	if (status != GRPC_STATUS_OK)
		dd_call__set_details(c, status, message, code);
	dd_call__ended(c, status, message);
	atomic_fetch_sub(&c->w->server->active_calls, 1);
	pump_locked(c);
	/* c may be freed by its worker as soon as the lock is released */
	pthread_mutex_unlock(&s->lock);
}

/* Runs the handler on the current message (request NULL: half-closed). */
static void run_handler(dd_call *c)
{
	int r = dd_methods[c->method].handler(c);
	if (r != DD_CALL_PENDING && !c->finished) {
		dd_error err;
		dd_error_set(&err, DD_EINTERNAL, "the handler did not answer");
		dd_call_finish(c, DD_EINTERNAL, NULL, &err);
	}
}

static void msg_arena_release(dd_stream *s)
{
	if (s->msg_arena_live) {
		dd_arena_free(&s->msg_arena);
		s->msg_arena_live = false;
	}
}

/* Decodes one received message into the message arena and runs the
 * handler on it. */
static void received(dd_call *c, grpc_byte_buffer *bb)
{
	dd_stream *s = c->stream;
	const dd_method *m = &dd_methods[c->method];
	const dd_config *cfg = c->w->server->config;
	dd_arena_init(&s->msg_arena, 16384, cfg->max_message_bytes * 8 + (16u << 20));
	s->msg_arena_live = true;
	dd_error err;
	dd_error_clear(&err);
	grpc_byte_buffer_reader r;
	int rc = DD_OK;
	uint8_t *buf = NULL;
	size_t len = 0;
	if (grpc_byte_buffer_reader_init(&r, bb)) {
		grpc_slice sl = grpc_byte_buffer_reader_readall(&r);
		grpc_byte_buffer_reader_destroy(&r);
		len = GRPC_SLICE_LENGTH(sl);
		buf = dd_arena_alloc(&s->msg_arena, len ? len : 1);
		if (buf)
			memcpy(buf, GRPC_SLICE_START_PTR(sl), len);
		grpc_slice_unref(sl);
	}
	if (buf == NULL)
		rc = dd_error_set(&err, DD_ENOMEM, "request: cannot read the message");
	if (rc == DD_OK)
		c->request = dd_fast_decode(m->request, buf, len, cfg, &s->msg_arena);
	if (rc == DD_OK && c->request == NULL)
		rc = dd_wire_check(m->request, buf, len, cfg, &err);
	if (rc == DD_OK && c->request == NULL) {
		c->request = protobuf_c_message_unpack(m->request, &s->msg_arena.pb, len, buf);
		if (c->request == NULL)
			rc = dd_error_set(&err, DD_EINVAL, "request: malformed protobuf for %s",
			                  m->request->name);
	}
	if (rc != DD_OK)
		dd_call_finish(c, rc, NULL, &err);
	else
		run_handler(c);
	c->request = NULL;
	msg_arena_release(s);
}

void dd_stream__start(dd_call *c)
{
	dd_stream *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		dd_call__reply(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory", DD_ENOMEM);
		return;
	}
	pthread_mutex_init(&s->lock, NULL);
	s->recv_tag = (struct dd_tag){ TAG_RECV, c };
	s->send_tag = (struct dd_tag){ TAG_SEND, c };
	s->status_tag = (struct dd_tag){ TAG_STATUS, c };
	s->close_tag = (struct dd_tag){ TAG_CLOSE, c };
	c->stream = s;
	c->state = CALL_REPLYING; /* its tags, not the call's, come from now on */
	grpc_op op;
	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
	op.data.recv_close_on_server.cancelled = &s->cancelled;
	pthread_mutex_lock(&s->lock);
	int rc = start_batch(c, &op, 1, &s->close_tag);
	pthread_mutex_unlock(&s->lock);
	if (rc != 0) {
		/* nothing is in flight: answer as a unary call would */
		c->stream = NULL;
		pthread_mutex_destroy(&s->lock);
		free(s);
		dd_call__reply(c, GRPC_STATUS_INTERNAL, "cannot start the stream", DD_EINTERNAL);
		return;
	}
	if (dd_methods[c->method].stream & DD_STREAM_CLIENT) {
		pthread_mutex_lock(&s->lock);
		start_recv_locked(c);
		pthread_mutex_unlock(&s->lock);
	} else {
		/* the one request arrived with the call (decoded by the worker) */
		run_handler(c);
		c->request = NULL;
	}
}

static void stream_free(dd_call *c)
{
	dd_stream *s = c->stream;
	drop_queue_locked(s);
	if (s->recv_buf)
		grpc_byte_buffer_destroy(s->recv_buf);
	if (s->sending_buf)
		grpc_byte_buffer_destroy(s->sending_buf);
	msg_arena_release(s);
	pthread_mutex_destroy(&s->lock);
	free(s);
	c->stream = NULL;
	dd_call__free(c);
}

void dd_stream__complete(struct dd_tag *t, int success)
{
	dd_call *c = t->call;
	dd_stream *s = c->stream;
	void (*cancel_hook)(dd_call *, void *) = NULL;
	void *cancel_ud = NULL;
	grpc_byte_buffer *got = NULL;
	bool deliver = false;
	pthread_mutex_lock(&s->lock);
	s->in_flight--;
	switch (t->kind) {
	case TAG_SEND:
		s->sending = false;
		grpc_byte_buffer_destroy(s->sending_buf);
		s->sending_buf = NULL;
		if (!success)
			drop_queue_locked(s); /* the stream is broken; close will say why */
		pump_locked(c);
		if (s->recv_paused && s->queued_bytes <= queued_limit(c) && !c->finished &&
		    !s->closed) {
			s->recv_paused = false;
			start_recv_locked(c);
		}
		break;
	case TAG_RECV:
		got = s->recv_buf;
		s->recv_buf = NULL;
		deliver = success && !c->finished && !s->closed;
		break;
	case TAG_CLOSE:
		s->closed = true;
		drop_queue_locked(s);
		if (!c->finished) {
			cancel_hook = s->on_cancel;
			cancel_ud = s->cancel_ud;
		}
		break;
	case TAG_STATUS:
	default:
		break;
	}
	pthread_mutex_unlock(&s->lock);

	if (t->kind == TAG_RECV) {
		if (deliver && got == NULL) {
			s->half_closed = true;
			c->request = NULL;
			run_handler(c);
		} else if (deliver) {
			received(c, got);
		}
		if (got)
			grpc_byte_buffer_destroy(got);
		pthread_mutex_lock(&s->lock);
		if (deliver && !s->half_closed && !c->finished && !s->closed) {
			if (s->queued_bytes > queued_limit(c)) {
				s->recv_paused = true;
				dd_log(DD_LOG_DEBUG, "%s: %zu bytes of replies unsent: not reading",
				       dd_call_method(c), s->queued_bytes);
			}
			else
				start_recv_locked(c);
		}
		pthread_mutex_unlock(&s->lock);
	}
	if (t->kind == TAG_CLOSE && !c->finished) {
		/* the client went away (or the call was cancelled) before the
		 * handler finished: it is told, then the call ends here */
		if (cancel_hook)
			cancel_hook(c, cancel_ud);
		pthread_mutex_lock(&s->lock);
		if (!c->finished) {
			c->finished = true;
			dd_call__ended(c, GRPC_STATUS_CANCELLED, "cancelled by the client");
			atomic_fetch_sub(&c->w->server->active_calls, 1);
		}
		pthread_mutex_unlock(&s->lock);
	}
	pthread_mutex_lock(&s->lock);
	bool done = s->closed && s->in_flight == 0;
	pthread_mutex_unlock(&s->lock);
	if (done)
		stream_free(c);
}
