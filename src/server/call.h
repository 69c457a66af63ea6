/* dealdeskd: the call a handler gets, and how it answers it.
 *
 * A dd_call is one RPC between its arrival on a worker and its reply. It
 * carries what the transport knows about the caller (peer, deadline,
 * request metadata, and the identity and role that authentication filled
 * in), the decoded request, an arena for the response, and the
 * resources of the worker that received it (quoter, store, writer).
 *
 * A handler either finishes the call before it returns (dd_call_finish,
 * then return its result, DD_CALL_DONE) or returns DD_CALL_PENDING after
 * handing the call to someone who will finish it later, possibly on another
 * thread: the writer thread finishes admin writes once they are durable.
 * Exactly one dd_call_finish per call; after it the call is gone.
 *
 * Threads: a call belongs to one thread at a time (the worker while the
 * handler runs, then whoever it was handed to); nothing here locks. The
 * worker's resources are the worker's: dd_call_quoter only from inside the
 * handler, on the worker's thread; store and writer are shared and may be
 * used from anywhere.
 */
#ifndef DD_SERVER_CALL_H
#define DD_SERVER_CALL_H

#include <stddef.h>
#include <stdint.h>

#include <grpc/support/time.h>
#include <protobuf-c/protobuf-c.h>

#include "dealdesk/arena.h"
#include "dealdesk/error.h"
#include "dealdesk/quote.h"
#include "dealdesk/store.h"
#include "dealdesk/writer.h"

/* Who may call what. A caller has one role; a method (dd_methods) names the
 * role it needs, and the transport checks it before the handler runs (README
 * "Roles"). Authentication fills identity ("token:NAME", "cert:NAME") and
 * role from a bearer token or a client certificate; health callers and
 * every caller of a --no-auth server stay identity "" with DD_ROLE_NONE. */
typedef enum dd_role {
	DD_ROLE_NONE = 0,   /* caller: not authenticated; method: not declared (a bug) */
	DD_ROLE_PUBLIC,     /* anyone, even unauthenticated (health) */
	DD_ROLE_CHECKOUT,   /* storefronts and checkout: quotes */
	DD_ROLE_FINANCE,    /* customers and their credit */
	DD_ROLE_PRICING,    /* the catalogue: prices, promotions, coupons, signals */
	DD_ROLE_COMPLIANCE, /* compliance checks */
	DD_ROLE_ADMIN,      /* everything but approving policies; tokens */
	DD_ROLE__COUNT
} dd_role;

/* "public", "checkout", ...; "none" for DD_ROLE_NONE; "?" out of range. */
const char *dd_role_name(dd_role role);

typedef struct dd_call dd_call;
struct dd_config;

/* What a handler returns: the call is finished, or someone will finish it. */
#define DD_CALL_DONE 0
#define DD_CALL_PENDING 1

/* ---- what the call carries -------------------------------------------------- */

/* The decoded request (strings already checked: UTF-8, no NUL), in the
 * call's arena: valid until the call is finished. */
const ProtobufCMessage *dd_call_request(const dd_call *call);
/* The call's own arena: the response and anything it points to go here.
 * Released when the call is finished. */
dd_arena *dd_call_arena(dd_call *call);
/* "/dealdesk.v1.QuoteService/Quote" (static). */
const char *dd_call_method(const dd_call *call);
/* The peer as gRPC names it ("ipv4:127.0.0.1:50312"); owned by the call. */
const char *dd_call_peer(dd_call *call);
/* The deadline the client set (GPR_CLOCK_MONOTONIC; gpr_inf_future when
 * none), and the milliseconds left before it (INT64_MAX when none, <= 0
 * once it has passed). */
gpr_timespec dd_call_deadline(const dd_call *call);
int64_t dd_call_time_left_ms(const dd_call *call);
/* The value of the first request metadata entry named key (gRPC keys are
 * lowercase; compared without case), copied into the call's arena with a
 * NUL after it; NULL when absent or out of memory. *len, when len is given,
 * gets its length: binary ("-bin") values may hold NUL bytes, so a caller
 * that passes len NULL (wants a C string) gets NULL for a value that holds
 * one rather than a string cut short. */
const char *dd_call_metadata(dd_call *call, const char *key, size_t *len);
/* Who is calling and in which role: "" and DD_ROLE_NONE until the
 * authentication step calls dd_call_set_identity (it copies identity). */
const char *dd_call_identity(const dd_call *call);
dd_role dd_call_role(const dd_call *call);
int dd_call_set_identity(dd_call *call, const char *identity, dd_role role);

/* The worker's resources (see Threads above). */
dd_quoter *dd_call_quoter(const dd_call *call);
dd_store *dd_call_store(const dd_call *call);
dd_writer *dd_call_writer(const dd_call *call);
const struct dd_config *dd_call_config(const dd_call *call);

/* ---- answering ------------------------------------------------------------ */

/* Sends the reply and ends the call; any thread. rc DD_OK sends resp (which
 * must not be NULL, except on a streaming call, where it is optional; it is packed before this returns, so it may live in the
 * call's arena); otherwise the status dd_err_grpc_status(rc) with err's
 * message. Returns DD_CALL_DONE, so a handler can end with
 * `return dd_call_finish(...)`. The call must not be touched afterwards. */
/* Notes the decision resp carries (its id for the access log, its outcome
 * for the metrics) before a handler turns resp into something else (the
 * journal's packed shell); dd_call_finish then looks no further. */
void dd_call_note_decision(dd_call *call, const ProtobufCMessage *resp);
/* The request as received (unary calls; NULL otherwise), valid for the call. */
const uint8_t *dd_call_request_bytes(const dd_call *call, size_t *len);
int dd_call_finish(dd_call *call, int rc, const ProtobufCMessage *resp,
                   const dd_error *err);

/* ---- streaming -------------------------------------------------------------- */

/* A method's dd_method.stream: the client sends a stream of requests
 * (the handler runs once per message, then once more with
 * dd_call_request NULL when the client half-closes), the server answers
 * with a stream (dd_call_send, any number of times, then dd_call_finish),
 * and LONG: the call may outlive max-call-ms (Health/Watch). */
#define DD_STREAM_CLIENT 1u
#define DD_STREAM_SERVER 2u
#define DD_STREAM_LONG 4u

/* Queues msg (packed before this returns) to be sent on a streaming call,
 * in order; any thread, until the call is finished. DD_OK; DD_EPRECOND
 * when the call is finished or the client has gone; DD_EFULL past
 * max-message-bytes; DD_EINVAL on a unary call. dd_call_finish with a resp
 * sends it last, then the status. On a client-streaming call the arena of
 * dd_call_arena is the current message's and goes with it. */
int dd_call_send(dd_call *call, const ProtobufCMessage *msg);
/* fn(call, ud) runs on the call's worker when the client cancels (or goes
 * away) before the call is finished; the call is then finished for it and
 * freed after fn returns. A handler that handed the call to another thread
 * uses it to take it back. Returns 1 when set before the client went
 * away; 0 when too late: a hook set earlier has run or will run (fn NULL
 * tells which one can no longer be stopped). */
int dd_call_on_cancel(dd_call *call, void (*fn)(dd_call *call, void *ud), void *ud);

/* 1 when a call with this deadline, seen at now, is already too late to be
 * worth running: the transport then answers DEADLINE_EXCEEDED without
 * calling the handler. Either clock; infinite deadlines never pass. */
int dd_deadline_passed(gpr_timespec deadline, gpr_timespec now);

#endif
