/* dealdeskd transport: gRPC C core server with a pool of worker threads,
 * each with its own completion queue and many calls requested ahead.
 *
 * A call's life: requested (tag = its dd_call) -> arrives on a worker's
 * queue -> the worker re-arms a fresh request for the same method, answers
 * DEADLINE_EXCEEDED at once if the deadline has passed, decodes and checks
 * the request and runs the handler -> the handler, or whoever it handed the
 * call to (the writer thread, for admin writes), finishes it: one batch
 * (initial metadata, message, status, close) -> the batch completes on the
 * worker's queue -> the worker frees the call (call.c). Shutdown: stop
 * accepting, let in-flight calls finish, pending ones included (cancel them
 * after the grace period), then shut the queues down and join the workers. */
#include "transport.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include <systemd/sd-daemon.h>

#include "dealdesk/admin.h"
#include "dealdesk/log.h"
#include "dealdesk/version.h"
#include "accesslog.h"
#include "health.h"
#include "metrics.h"
#include "reflection.h"

#define SHUTDOWN_TAG ((void *)1)

grpc_status_code dd_err_grpc_status(int code)
{
	switch (code) {
	case DD_OK: return GRPC_STATUS_OK;
	case DD_EINVAL:
	case DD_EOVERFLOW: return GRPC_STATUS_INVALID_ARGUMENT;
	case DD_ENOTFOUND: return GRPC_STATUS_NOT_FOUND;
	case DD_EEXIST: return GRPC_STATUS_ALREADY_EXISTS;
	case DD_EPRECOND: return GRPC_STATUS_FAILED_PRECONDITION;
	case DD_ENOMEM:
	case DD_EFULL: return GRPC_STATUS_RESOURCE_EXHAUSTED;
	case DD_EDENIED: return GRPC_STATUS_PERMISSION_DENIED;
	case DD_EUNAUTH: return GRPC_STATUS_UNAUTHENTICATED;
	default: return GRPC_STATUS_INTERNAL;
	}
}

static void arm(worker *w, int method)
{
	dd_server *s = w->server;
	if (atomic_load(&s->shutting_down))
		return;
	dd_call *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		dd_log(DD_LOG_ERROR, "out of memory arming a call");
		return;
	}
	c->tag = (struct dd_tag){ TAG_CALL, c };
	c->w = w;
	c->method = method;
	c->state = CALL_REQUESTED;
	c->deadline = gpr_inf_future(GPR_CLOCK_MONOTONIC);
	grpc_metadata_array_init(&c->md);
	grpc_call_error e;
	if (method >= 0) {
		/* client-streaming methods read their messages themselves */
		grpc_byte_buffer **payload =
			(dd_methods[method].stream & DD_STREAM_CLIENT) ? NULL : &c->payload;
		e = grpc_server_request_registered_call(s->grpc, s->handles[method], &c->call,
		                                        &c->deadline, &c->md, payload,
		                                        w->cq, w->cq, c);
	} else {
		grpc_call_details_init(&c->details);
		e = grpc_server_request_call(s->grpc, &c->call, &c->details, &c->md,
		                             w->cq, w->cq, c);
	}
	if (e != GRPC_CALL_OK) {
		dd_log(DD_LOG_ERROR, "request call failed: %d", (int)e);
		grpc_metadata_array_destroy(&c->md);
		if (method < 0)
			grpc_call_details_destroy(&c->details);
		free(c);
	}
}

/* Reads the payload into one contiguous buffer (in the arena). */
static uint8_t *payload_bytes(dd_arena *a, grpc_byte_buffer *bb, size_t *len)
{
	grpc_byte_buffer_reader r;
	if (!grpc_byte_buffer_reader_init(&r, bb))
		return NULL;
	grpc_slice s = grpc_byte_buffer_reader_readall(&r);
	grpc_byte_buffer_reader_destroy(&r);
	*len = GRPC_SLICE_LENGTH(s);
	uint8_t *out = dd_arena_alloc(a, *len ? *len : 1);
	if (out)
		memcpy(out, GRPC_SLICE_START_PTR(s), *len);
	grpc_slice_unref(s);
	return out;
}

/* The decoded request, its strings checked; or a status with err. */
static grpc_status_code decode_request(dd_call *c, dd_error *err)
{
	const dd_method *m = &dd_methods[c->method];
	if (c->payload == NULL) {
		dd_error_set(err, DD_EINVAL, "request: no message");
		return GRPC_STATUS_INVALID_ARGUMENT;
	}
	size_t len;
	uint8_t *buf = payload_bytes(&c->arena, c->payload, &len);
	if (buf == NULL) {
		dd_error_set(err, DD_ENOMEM, "request: cannot read the message");
		return GRPC_STATUS_RESOURCE_EXHAUSTED;
	}
	const dd_config *cfg = c->w->server->config;
	ProtobufCMessage *req = dd_fast_decode(m->request, buf, len, cfg, &c->arena);
	if (req == NULL) {
		/* strings and repeated-field counts first, on the wire bytes: a
		 * request past a limit is refused before protobuf-c allocates
		 * for it */
		int rc = dd_wire_check(m->request, buf, len, cfg, err);
		if (rc != DD_OK)
			return dd_err_grpc_status(rc);
		req = protobuf_c_message_unpack(m->request, &c->arena.pb, len, buf);
	}
	if (req == NULL) {
		dd_error_set(err, DD_EINVAL, "request: malformed protobuf for %s",
		             m->request->name);
		return GRPC_STATUS_INVALID_ARGUMENT;
	}
	c->request = req;
	c->request_bytes = buf;
	c->request_len = len;
	return GRPC_STATUS_OK;
}

/* ---- who is calling ---------------------------------------------------------- */

/* The principal of a client certificate: its first CN or SAN that the
 * configuration maps to a role. */
static int authenticate_cert(dd_call *c, dd_error *err)
{
	const dd_config *cfg = c->w->server->config;
	grpc_auth_context *ctx = grpc_call_auth_context(c->call);
	if (ctx == NULL)
		return DD_ENOTFOUND;
	int rc = DD_ENOTFOUND;
	if (grpc_auth_context_peer_is_authenticated(ctx)) {
		static const char *const props[] = { GRPC_X509_CN_PROPERTY_NAME,
			                             GRPC_X509_SAN_PROPERTY_NAME };
		char seen[128] = "";
		for (int pi = 0; pi < 2 && rc == DD_ENOTFOUND; pi++) {
			grpc_auth_property_iterator it =
				grpc_auth_context_find_properties_by_name(ctx, props[pi]);
			const grpc_auth_property *p;
			while (rc == DD_ENOTFOUND && (p = grpc_auth_property_iterator_next(&it))) {
				if (seen[0] == '\0')
					snprintf(seen, sizeof(seen), "%.*s", (int)p->value_length, p->value);
				for (unsigned i = 0; i < cfg->n_client_roles; i++) {
					const char *n = cfg->client_roles[i].name;
					if (strlen(n) == p->value_length &&
					    memcmp(n, p->value, p->value_length) == 0) {
						char id[300];
						snprintf(id, sizeof(id), "cert:%s", n);
						rc = dd_call_set_identity(c, id, cfg->client_roles[i].role);
						break;
					}
				}
			}
		}
		if (rc == DD_ENOTFOUND)
			rc = dd_error_set(err, DD_EUNAUTH,
			                  "client certificate '%s' is not mapped to a role "
			                  "(--client-role)", seen);
	}
	grpc_auth_context_release(ctx);
	return rc;
}

/* Fills the call's identity and role from its credentials: a bearer token
 * in the authorization metadata, else a client certificate. */
static int authenticate(dd_call *c, dd_error *err)
{
	worker *w = c->w;
	size_t len = 0;
	const char *auth = dd_call_metadata(c, "authorization", &len);
	if (auth != NULL) {
		if (len < 7 || strncasecmp(auth, "Bearer ", 7) != 0)
			return dd_error_set(err, DD_EUNAUTH, "authorization: expected 'Bearer <token>'");
		char name[DD_MAX_ID + 1], role[16];
		if (dd_rtxn_begin(w->auth_txn) != DD_OK)
			return dd_error_set(err, DD_EINTERNAL, "store: cannot read the tokens");
		int rc = dd_token_lookup(w->auth_txn, auth + 7, len - 7, name, role, err);
		dd_rtxn_end(w->auth_txn);
		if (rc != DD_OK)
			return rc;
		char id[DD_MAX_ID + 8];
		snprintf(id, sizeof(id), "token:%s", name);
		return dd_call_set_identity(c, id, dd_role_from_name(role));
	}
	int rc = authenticate_cert(c, err);
	if (rc == DD_ENOTFOUND)
		return dd_error_set(err, DD_EUNAUTH,
		                    "no credentials: send 'authorization: Bearer <token>' "
		                    "or a client certificate");
	return rc;
}

/* The role check that needs only the method (before decoding). */
static int authorize_method(dd_call *c, const dd_method *m, dd_error *err)
{
	dd_role r = c->role;
	if (m->role == DD_ROLE_PUBLIC || r == m->role || r == DD_ROLE_ADMIN)
		return DD_OK;
	return dd_error_set(err, DD_EDENIED, "%s needs role %s; the caller (%s) has %s",
	                    m->path, dd_role_name(m->role), c->identity, dd_role_name(r));
}

/* ---- the sweeper: calls that take longer than max-call-ms are cancelled -------- */

static void track_call(dd_server *s, dd_call *c)
{
	pthread_mutex_lock(&s->calls_lock);
	c->next = s->calls;
	c->prev = NULL;
	if (s->calls)
		s->calls->prev = c;
	s->calls = c;
	c->tracked = true;
	pthread_mutex_unlock(&s->calls_lock);
}

void dd_call__untrack(dd_call *c)
{
	if (!c->tracked)
		return;
	dd_server *s = c->w->server;
	pthread_mutex_lock(&s->calls_lock);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->calls = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->tracked = false;
	pthread_mutex_unlock(&s->calls_lock);
}

static void sweep_calls(dd_server *s)
{
	int64_t now = dd_call__now_us();
	int64_t limit = (int64_t)s->config->max_call_ms * 1000;
	unsigned n = 0;
	pthread_mutex_lock(&s->calls_lock);
	for (dd_call *c = s->calls; c; c = c->next)
		if (!c->swept && now - c->start_us > limit) {
			c->swept = true;
			grpc_call_cancel_with_status(c->call, GRPC_STATUS_DEADLINE_EXCEEDED,
			                             "the call took longer than max-call-ms", NULL);
			n++;
		}
	pthread_mutex_unlock(&s->calls_lock);
	if (n)
		dd_log(DD_LOG_WARN, "cancelled %u call(s) older than max-call-ms (%u ms)", n,
		       s->config->max_call_ms);
}

static void handle_new_call(worker *w, dd_call *c)
{
	dd_server *s = w->server;
	c->start_us = dd_call__now_us();
	c->state = CALL_RUNNING;
	c->identity = "";
	c->role = DD_ROLE_NONE;
	atomic_fetch_add(&s->active_calls, 1);
	unsigned stream = c->method >= 0 ? dd_methods[c->method].stream : 0;
	if (!(stream & DD_STREAM_LONG))
		track_call(s, c);
	if (s->metrics)
		dd_metrics_started(s->metrics, w->index, c->method);
	/* keep the same number of calls requested */
	arm(w, c->method);
	if (c->method < 0) {
		c->unregistered_path = grpc_slice_to_c_string(c->details.method);
		char msg[512];
		snprintf(msg, sizeof(msg), "method %s is not implemented", c->unregistered_path);
		dd_call__reply(c, GRPC_STATUS_UNIMPLEMENTED, msg, 0);
		return;
	}
	/* A call that waited in the queue past its deadline: the client has
	 * given up, so its work (a write above all) must not happen. */
	if (dd_deadline_passed(c->deadline, gpr_now(GPR_CLOCK_MONOTONIC))) {
		dd_call__reply(c, GRPC_STATUS_DEADLINE_EXCEEDED,
		               "deadline passed before the call was handled", 0);
		return;
	}
	/* the server's own bound on the call: its handler sees the earlier of
	 * the client's deadline and max-call-ms from now (the sweeper cancels
	 * the call itself past it) */
	gpr_timespec cap = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
	                                gpr_time_from_millis(s->config->max_call_ms, GPR_TIMESPAN));
	if (!(stream & DD_STREAM_LONG) &&
	    gpr_time_cmp(gpr_convert_clock_type(c->deadline, GPR_CLOCK_MONOTONIC), cap) > 0)
		c->deadline = cap;
	dd_arena_init(&c->arena, 65536, s->config->max_message_bytes * 8 + (64u << 20));
	dd_arena_take(&c->arena, &w->spare);
	c->arena_live = true;
	dd_error err;
	dd_error_clear(&err);
	const dd_method *m = &dd_methods[c->method];
	/* who is calling, and whether the method alone lets them: before
	 * decoding, so a caller without credentials costs no decoding */
	if (!s->config->no_auth && m->role != DD_ROLE_PUBLIC) {
		int rc = authenticate(c, &err);
		if (rc == DD_OK && m->authorize == NULL)
			rc = authorize_method(c, m, &err);
		if (rc != DD_OK) {
			dd_call__reply(c, dd_err_grpc_status(rc), err.msg, rc);
			return;
		}
	}
	if (stream & DD_STREAM_CLIENT) {
		/* its messages arrive one by one (stream.c) */
		dd_stream__start(c);
		return;
	}
	grpc_status_code status = decode_request(c, &err);
	if (status != GRPC_STATUS_OK) {
		dd_call__reply(c, status, err.msg, err.code);
		return;
	}
	if (!s->config->no_auth && m->authorize != NULL) {
		int rc = m->authorize(c, &err);
		if (rc != DD_OK) {
			dd_call__reply(c, dd_err_grpc_status(rc), err.msg, rc);
			return;
		}
	}
	if (stream) {
		dd_stream__start(c);
		return;
	}
	int r = dd_methods[c->method].handler(c);
	/* A pending call may be finished, even freed, by now: hands off. A
	 * finished one is still ours: its completion comes to this queue. */
	if (r != DD_CALL_PENDING && !c->finished) {
		dd_error_set(&err, DD_EINTERNAL, "the handler did not answer");
		dd_call_finish(c, DD_EINTERNAL, NULL, &err);
	}
}

static void *worker_main(void *arg)
{
	worker *w = arg;
	dd_server *s = w->server;
	w->self = pthread_self();
	for (;;) {
		grpc_event ev = grpc_completion_queue_next(
			w->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
		if (ev.type == GRPC_QUEUE_SHUTDOWN)
			break;
		if (ev.type != GRPC_OP_COMPLETE)
			continue;
		if (ev.tag == SHUTDOWN_TAG) {
			pthread_mutex_lock(&s->lock);
			s->drained = 1;
			pthread_cond_signal(&s->drained_cond);
			pthread_mutex_unlock(&s->lock);
			continue;
		}
		struct dd_tag *t = ev.tag;
		if (t->kind != TAG_CALL) {
			dd_stream__complete(t, ev.success);
			continue;
		}
		dd_call *c = t->call;
		if (c->state == CALL_REQUESTED) {
			if (!ev.success) { /* the server is shutting down */
				dd_call__free(c);
				continue;
			}
			handle_new_call(w, c);
		} else {
			dd_call__free(c); /* its reply batch completed */
		}
	}
	return NULL;
}

static int method_count(void)
{
	int n = 0;
	while (dd_methods[n].path)
		n++;
	return n;
}

static int register_methods(dd_server *s)
{
	size_t n = 0;
	while (dd_methods[n].path)
		n++;
	s->handles = calloc(n, sizeof(void *));
	if (s->handles == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		s->handles[i] = grpc_server_register_method(
			s->grpc, dd_methods[i].path, NULL,
			(dd_methods[i].stream & DD_STREAM_CLIENT)
				? GRPC_SRM_PAYLOAD_NONE
				: GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER,
			0);
		if (s->handles[i] == NULL)
			return -1;
	}
	s->nmethods = (int)n;
	return 0;
}

/* Waits for SIGTERM or SIGINT, sweeping overlong calls twice a second. */
static int wait_signal(dd_server *s)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	for (;;) {
		struct timespec tick = { 0, 500000000L };
		int sig = sigtimedwait(&set, NULL, &tick);
		if (sig > 0)
			return sig;
		sweep_calls(s);
	}
}

static int read_pem(const char *path, char **out)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		dd_log(DD_LOG_ERROR, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	size_t cap = 1 << 16, n = 0;
	char *buf = gpr_malloc(cap + 1);
	n = fread(buf, 1, cap, f);
	fclose(f);
	if (n == 0 || n == cap) {
		dd_log(DD_LOG_ERROR, "%s: empty or larger than 64 KiB", path);
		gpr_free(buf);
		return -1;
	}
	buf[n] = '\0';
	*out = buf;
	return 0;
}

/* TLS from --tls-cert/--tls-key (and --tls-client-ca: client certificates
 * are requested and, when sent, verified; a token needs none); else
 * plaintext. NULL when a file cannot be read. */
static grpc_server_credentials *server_credentials(const dd_config *cfg)
{
	if (cfg->tls_cert[0] == '\0' && cfg->tls_key[0] == '\0')
		return grpc_insecure_server_credentials_create();
	char *cert = NULL, *key = NULL, *ca = NULL;
	grpc_server_credentials *creds = NULL;
	if (read_pem(cfg->tls_cert, &cert) == 0 && read_pem(cfg->tls_key, &key) == 0 &&
	    (cfg->tls_client_ca[0] == '\0' || read_pem(cfg->tls_client_ca, &ca) == 0)) {
		grpc_ssl_pem_key_cert_pair pair = { key, cert };
		creds = grpc_ssl_server_credentials_create_ex(
			ca, &pair, 1,
			ca ? GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY
			   : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE,
			NULL);
	}
	gpr_free(cert);
	gpr_free(key);
	gpr_free(ca);
	return creds;
}

/* Creates the gRPC server, its methods, the workers (queue, quoter,
 * thread) and the listening port. Whatever fails, what was made so far is
 * recorded in s for server_free. */
static int server_setup(dd_server *s)
{
	const dd_config *cfg = s->config;
	/* The transport's limits: streams per connection, keepalive, idle
	 * connections, handshakes, metadata, and a memory quota that every
	 * connection's buffers are charged to. */
	s->quota = grpc_resource_quota_create("dealdeskd");
	grpc_resource_quota_resize(s->quota, cfg->transport_memory);
	struct { const char *key; int value; } ints[] = {
		{ GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, (int)cfg->max_message_bytes },
		{ GRPC_ARG_MAX_SEND_MESSAGE_LENGTH, (int)cfg->max_message_bytes },
		{ GRPC_ARG_ALLOW_REUSEPORT, 0 },
		{ GRPC_ARG_MAX_CONCURRENT_STREAMS, (int)cfg->max_streams },
		{ GRPC_ARG_KEEPALIVE_TIME_MS, (int)cfg->keepalive_ms },
		{ GRPC_ARG_KEEPALIVE_TIMEOUT_MS, (int)cfg->keepalive_timeout_ms },
		{ GRPC_ARG_MAX_CONNECTION_IDLE_MS, (int)cfg->idle_timeout_ms },
		{ GRPC_ARG_MAX_CONNECTION_AGE_MS, (int)cfg->max_connection_age_ms },
		{ GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS, (int)cfg->max_call_ms },
		{ GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS, (int)cfg->handshake_timeout_ms },
		{ GRPC_ARG_MAX_METADATA_SIZE, (int)cfg->max_metadata_bytes },
		{ GRPC_ARG_HTTP2_MAX_PING_STRIKES, 2 },
	};
	enum { NINTS = sizeof(ints) / sizeof(ints[0]) };
	grpc_arg args[NINTS + 1];
	for (int i = 0; i < NINTS; i++) {
		args[i].type = GRPC_ARG_INTEGER;
		args[i].key = (char *)ints[i].key;
		args[i].value.integer = ints[i].value;
	}
	args[NINTS].type = GRPC_ARG_POINTER;
	args[NINTS].key = (char *)GRPC_ARG_RESOURCE_QUOTA;
	args[NINTS].value.pointer.p = s->quota;
	args[NINTS].value.pointer.vtable = grpc_resource_quota_arg_vtable();
	grpc_channel_args chargs = { NINTS + 1, args };
	s->grpc = grpc_server_create(&chargs, NULL);
	if (s->grpc == NULL || register_methods(s) != 0) {
		dd_log(DD_LOG_ERROR, "cannot register methods");
		return -1;
	}
	s->workers = calloc(cfg->threads, sizeof(worker));
	if (s->workers == NULL) {
		dd_log(DD_LOG_ERROR, "out of memory");
		return -1;
	}
	for (unsigned i = 0; i < cfg->threads; i++) {
		worker *w = &s->workers[i];
		w->server = s;
		w->index = i;
		w->cq = grpc_completion_queue_create_for_next(NULL);
		s->nworkers = i + 1;
		grpc_server_register_completion_queue(s->grpc, w->cq, NULL);
		dd_error err;
		if (dd_quoter_new(&w->quoter, s->store, &cfg->limits, &err) != DD_OK) {
			dd_log(DD_LOG_ERROR, "cannot create a quoter: %s", err.msg);
			return -1;
		}
		if (dd_rtxn_new(s->store, &w->auth_txn) != DD_OK) {
			dd_log(DD_LOG_ERROR, "cannot create a read transaction");
			return -1;
		}
	}
	/* The workers wait on their queues from now on; nothing arrives
	 * before grpc_server_start. Signals stay blocked in them (inherited). */
	for (unsigned i = 0; i < s->nworkers; i++) {
		worker *w = &s->workers[i];
		int e = pthread_create(&w->thread, NULL, worker_main, w);
		if (e != 0) {
			dd_log(DD_LOG_ERROR, "cannot start a worker thread: %s", strerror(e));
			return -1;
		}
		w->thread_started = true;
	}
	grpc_server_credentials *creds = server_credentials(cfg);
	if (creds == NULL) {
		dd_log(DD_LOG_ERROR, "cannot set up TLS (--tls-cert, --tls-key, --tls-client-ca)");
		return -1;
	}
	int port = grpc_server_add_http2_port(s->grpc, cfg->listen, creds);
	grpc_server_credentials_release(creds);
	if (port == 0) {
		dd_log(DD_LOG_ERROR, "cannot listen on %s", cfg->listen);
		return -1;
	}
	return 0;
}

/* Stops accepting, waits for the calls in flight (pending ones included:
 * the writer still runs and finishes them), cancelling them after the
 * grace period. */
static void server_drain(dd_server *s)
{
	const dd_config *cfg = s->config;
	atomic_store(&s->shutting_down, 1);
	grpc_server_shutdown_and_notify(s->grpc, s->workers[0].cq, SHUTDOWN_TAG);
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += cfg->shutdown_grace_ms / 1000;
	until.tv_nsec += (long)(cfg->shutdown_grace_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&s->lock);
	while (!s->drained) {
		if (pthread_cond_timedwait(&s->drained_cond, &s->lock, &until) != 0 && !s->drained) {
			dd_log(DD_LOG_WARN, "grace period over: cancelling the calls still running");
			grpc_server_cancel_all_calls(s->grpc);
			while (!s->drained)
				pthread_cond_wait(&s->drained_cond, &s->lock);
		}
	}
	pthread_mutex_unlock(&s->lock);
	/* Every call has been answered before shutdown completes; this only
	 * guards the queues against a reply started after they close. */
	for (int waited_ms = 0; atomic_load(&s->active_calls) > 0; waited_ms++) {
		if (waited_ms == 1000)
			dd_log(DD_LOG_WARN, "%d call(s) not answered after shutdown; waiting",
			       atomic_load(&s->active_calls));
		struct timespec ms = { 0, 1000000 };
		nanosleep(&ms, NULL);
	}
}

/* Releases everything server_setup made, in reverse, however far it got.
 * The gRPC server must be shut down (server_drain) if it was started. */
static void server_free(dd_server *s)
{
	for (unsigned i = 0; i < s->nworkers; i++)
		grpc_completion_queue_shutdown(s->workers[i].cq);
	for (unsigned i = 0; i < s->nworkers; i++) {
		worker *w = &s->workers[i];
		if (w->thread_started) {
			pthread_join(w->thread, NULL); /* it returns at QUEUE_SHUTDOWN */
		} else {
			while (grpc_completion_queue_next(w->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC),
			                                  NULL).type != GRPC_QUEUE_SHUTDOWN)
				;
		}
	}
	if (s->grpc)
		grpc_server_destroy(s->grpc);
	for (unsigned i = 0; i < s->nworkers; i++) {
		grpc_completion_queue_destroy(s->workers[i].cq);
		dd_quoter_free(s->workers[i].quoter);
		dd_rtxn_free(s->workers[i].auth_txn);
		dd_arena_free(&s->workers[i].spare);
	}
	free(s->workers);
	free(s->handles);
	if (s->quota)
		grpc_resource_quota_unref(s->quota);
}

int dd_server_run(const dd_config *cfg, dd_store *store, dd_writer *writer)
{
	if (cfg == NULL || store == NULL || writer == NULL || cfg->threads == 0) {
		dd_log(DD_LOG_ERROR, "dd_server_run: needs a configuration, a store and a writer");
		return 1;
	}
	dd_server s;
	memset(&s, 0, sizeof(s));
	s.config = cfg;
	s.store = store;
	s.writer = writer;
	pthread_mutex_init(&s.lock, NULL);
	pthread_mutex_init(&s.calls_lock, NULL);
	pthread_cond_init(&s.drained_cond, NULL);

	/* signals go to the main thread only, through sigwait */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	dd_access_log_capture_grpc();
	grpc_init();
	int rc = 0;
	s.started_at = (int64_t)time(NULL);
	dd_error err;
	dd_metrics_http *http = NULL;
	if (dd_metrics_new(&s.metrics, (unsigned)method_count(), cfg->threads) != DD_OK ||
	    dd_health_new(&s.health) != DD_OK) {
		dd_log(DD_LOG_ERROR, "out of memory");
		rc = 1;
	} else if (dd_reflection_new(&s.reflection, &err) != DD_OK) {
		dd_log(DD_LOG_ERROR, "%s", err.msg);
		rc = 1;
	} else if (cfg->metrics_listen[0] &&
	           dd_metrics_http_start(&http, cfg->metrics_listen, s.metrics, store, writer,
	                                 &err) != DD_OK) {
		dd_log(DD_LOG_ERROR, "%s", err.msg);
		rc = 1;
	} else if (server_setup(&s) != 0) {
		rc = 1;
	} else {
		grpc_server_start(s.grpc);
		for (unsigned i = 0; i < s.nworkers; i++) {
			worker *w = &s.workers[i];
			for (int m = 0; m < s.nmethods; m++) {
				unsigned ahead = dd_methods[m].hot ? cfg->calls_per_thread : 2;
				for (unsigned k = 0; k < ahead; k++)
					arm(w, m);
			}
			for (int k = 0; k < 2; k++)
				arm(w, -1);
		}
		dd_log(DD_LOG_INFO, "dealdeskd %s (%s) listening on %s (threads=%u, db=%s%s%s)",
		       dd_version(), dd_git_revision(), cfg->listen, cfg->threads, cfg->db,
		       http ? ", metrics on " : "", http ? cfg->metrics_listen : "");
		/* the line scripts wait for; with JSON logs, as a log object */
		if (dd_log_get_format() == DD_LOG_FORMAT_TEXT)
			fprintf(stderr, "dealdeskd ready on %s\n", cfg->listen);
		else
			dd_log(DD_LOG_INFO, "dealdeskd ready on %s", cfg->listen);
		sd_notifyf(0, "READY=1\nSTATUS=serving on %s\nMAINPID=%lu", cfg->listen,
		           (unsigned long)getpid());

		int sig = wait_signal(&s);
		sd_notify(0, "STOPPING=1\nSTATUS=draining");
		dd_log(DD_LOG_INFO, "signal %d: finishing in-flight calls (grace %u ms)", sig,
		       cfg->shutdown_grace_ms);
		/* health watchers see NOT_SERVING and their streams end */
		dd_health_shutdown(s.health);
		server_drain(&s);
	}
	server_free(&s);
	grpc_shutdown();
	dd_metrics_http_stop(http);
	dd_metrics_free(s.metrics);
	dd_health_free(s.health);
	dd_reflection_free(s.reflection);
	pthread_mutex_destroy(&s.lock);
	pthread_mutex_destroy(&s.calls_lock);
	pthread_cond_destroy(&s.drained_cond);
	if (rc == 0) {
		dd_writer_stats st;
		dd_writer_get_stats(writer, &st);
		dd_log(DD_LOG_INFO, "dealdeskd stopped (writer: %llu write(s) in %llu commit(s))",
		       (unsigned long long)st.jobs, (unsigned long long)st.batches);
	}
	return rc;
}
