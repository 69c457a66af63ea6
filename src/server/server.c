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

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "dealdesk/log.h"

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
	c->w = w;
	c->method = method;
	c->state = CALL_REQUESTED;
	c->deadline = gpr_inf_future(GPR_CLOCK_MONOTONIC);
	grpc_metadata_array_init(&c->md);
	grpc_call_error e;
	if (method >= 0) {
		e = grpc_server_request_registered_call(s->grpc, s->handles[method], &c->call,
		                                        &c->deadline, &c->md, &c->payload,
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
	ProtobufCMessage *req = protobuf_c_message_unpack(m->request, &c->arena.pb, len, buf);
	if (req == NULL) {
		dd_error_set(err, DD_EINVAL, "request: malformed protobuf for %s",
		             m->request->name);
		return GRPC_STATUS_INVALID_ARGUMENT;
	}
	int rc = dd_wire_check_strings(m->request, buf, len, err);
	if (rc != DD_OK)
		return dd_err_grpc_status(rc);
	c->request = req;
	return GRPC_STATUS_OK;
}

static void handle_new_call(worker *w, dd_call *c)
{
	dd_server *s = w->server;
	c->start_us = dd_call__now_us();
	c->state = CALL_RUNNING;
	c->identity = "";
	c->role = DD_ROLE_NONE;
	atomic_fetch_add(&s->active_calls, 1);
	/* keep the same number of calls requested */
	arm(w, c->method);
	if (c->method < 0) {
		c->unregistered_path = grpc_slice_to_c_string(c->details.method);
		char msg[512];
		snprintf(msg, sizeof(msg), "method %s is not implemented", c->unregistered_path);
		dd_call__reply(c, GRPC_STATUS_UNIMPLEMENTED, msg);
		return;
	}
	/* A call that waited in the queue past its deadline: the client has
	 * given up, so its work (a write above all) must not happen. */
	if (dd_deadline_passed(c->deadline, gpr_now(GPR_CLOCK_MONOTONIC))) {
		dd_call__reply(c, GRPC_STATUS_DEADLINE_EXCEEDED,
		               "deadline passed before the call was handled");
		return;
	}
	dd_arena_init(&c->arena, 65536, s->config->max_message_bytes * 8 + (64u << 20));
	dd_arena_take(&c->arena, &w->spare);
	c->arena_live = true;
	dd_error err;
	dd_error_clear(&err);
	grpc_status_code status = decode_request(c, &err);
	if (status != GRPC_STATUS_OK) {
		dd_call__reply(c, status, err.msg);
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
		dd_call *c = ev.tag;
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
			GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER, 0);
		if (s->handles[i] == NULL)
			return -1;
	}
	s->nmethods = (int)n;
	return 0;
}

static int wait_signal(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	int sig = 0;
	sigwait(&set, &sig);
	return sig;
}

/* Creates the gRPC server, its methods, the workers (queue, quoter,
 * thread) and the listening port. Whatever fails, what was made so far is
 * recorded in s for server_free. */
static int server_setup(dd_server *s)
{
	const dd_config *cfg = s->config;
	grpc_arg args[3];
	args[0].type = GRPC_ARG_INTEGER;
	args[0].key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
	args[0].value.integer = (int)cfg->max_message_bytes;
	args[1].type = GRPC_ARG_INTEGER;
	args[1].key = GRPC_ARG_MAX_SEND_MESSAGE_LENGTH;
	args[1].value.integer = (int)cfg->max_message_bytes;
	args[2].type = GRPC_ARG_INTEGER;
	args[2].key = GRPC_ARG_ALLOW_REUSEPORT;
	args[2].value.integer = 0;
	grpc_channel_args chargs = { 3, args };
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
	grpc_server_credentials *creds = grpc_insecure_server_credentials_create();
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
		dd_arena_free(&s->workers[i].spare);
	}
	free(s->workers);
	free(s->handles);
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
	pthread_cond_init(&s.drained_cond, NULL);

	/* signals go to the main thread only, through sigwait */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	grpc_init();
	int rc = 0;
	if (server_setup(&s) != 0) {
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
		dd_log(DD_LOG_INFO, "dealdeskd listening on %s (threads=%u, db=%s)", cfg->listen,
		       cfg->threads, cfg->db);
		fprintf(stderr, "dealdeskd ready on %s\n", cfg->listen);

		int sig = wait_signal();
		dd_log(DD_LOG_INFO, "signal %d: finishing in-flight calls (grace %u ms)", sig,
		       cfg->shutdown_grace_ms);
		server_drain(&s);
	}
	server_free(&s);
	grpc_shutdown();
	pthread_mutex_destroy(&s.lock);
	pthread_cond_destroy(&s.drained_cond);
	if (rc == 0) {
		dd_writer_stats st;
		dd_writer_get_stats(writer, &st);
		dd_log(DD_LOG_INFO, "dealdeskd stopped (writer: %llu write(s) in %llu commit(s))",
		       (unsigned long long)st.jobs, (unsigned long long)st.batches);
	}
	return rc;
}
