/* dealdeskd transport internals: shared by server.c (queues, workers, life
 * of the server) and call.c (what a call carries, and its reply). Nothing
 * else includes this; handlers see only call.h. */
#ifndef DD_SERVER_TRANSPORT_H
#define DD_SERVER_TRANSPORT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include <grpc/grpc.h>

#include "server.h"

enum call_state {
	CALL_REQUESTED, /* armed: waiting for a client */
	CALL_RUNNING,   /* arrived: decoding, in the handler, or pending */
	CALL_REPLYING,  /* the reply batch is started; its completion frees it */
};

typedef struct worker worker;
typedef struct dd_stream dd_stream;

/* What a completion queue tag points at: a call (its arrival, or its one
 * reply batch for a unary call) or one of a streaming call's operations. */
enum tag_kind { TAG_CALL, TAG_RECV, TAG_SEND, TAG_STATUS, TAG_CLOSE };
struct dd_tag {
	enum tag_kind kind;
	dd_call *call;
};

/* A streaming call's state (stream.c); NULL for unary calls, whose path
 * stays the one batch of dd_call__reply. Guarded by lock: dd_call_send may
 * run on any thread, completions arrive on the worker. */
struct dd_stream {
	pthread_mutex_t lock;
	struct dd_tag recv_tag, send_tag, status_tag, close_tag;
	int in_flight;               /* batches started and not completed */
	grpc_byte_buffer *recv_buf;  /* the RECV_MESSAGE target */
	struct dd_stream_msg *head, *tail; /* messages queued to send */
	size_t queued_bytes;
	grpc_byte_buffer *sending_buf; /* the SEND_MESSAGE in flight */
	bool sending, md_sent, status_started, closed, recv_paused, half_closed;
	int cancelled;               /* from RECV_CLOSE_ON_SERVER */
	grpc_status_code status;
	dd_arena msg_arena;          /* the current request message's */
	bool msg_arena_live;
	void (*on_cancel)(dd_call *call, void *ud);
	void *cancel_ud;
};

struct dd_call {
	struct dd_tag tag;  /* first: the tag of the call itself */
	worker *w;          /* the worker whose queue the call is on */
	int method;         /* index in dd_methods, -1 = unregistered */
	enum call_state state;
	grpc_call *call;
	gpr_timespec deadline;
	grpc_metadata_array md;
	grpc_call_details details; /* unregistered calls only */
	char *unregistered_path;   /* gpr_malloc'd, unregistered calls only */
	grpc_byte_buffer *payload;
	grpc_byte_buffer *reply;
	grpc_slice status_details;
	int cancelled;
	dd_arena arena;     /* request, response, metadata copies */
	bool arena_live;    /* not yet released */
	const ProtobufCMessage *request;
	const uint8_t *request_bytes; /* as received (in the arena), for the decision log */
	size_t request_len;
	char *peer;         /* gpr_malloc'd on first dd_call_peer */
	const char *identity;
	dd_role role;
	int64_t start_us;   /* arrival, CLOCK_MONOTONIC */
	bool finished;
	/* the server's list of calls from arrival to free (the sweeper) */
	dd_call *next, *prev;
	bool tracked, swept;
	size_t reply_len;   /* counted in the server's pending_reply_bytes */
	dd_stream *stream;  /* streaming methods only */
	grpc_metadata trailer; /* grpc-status-details-bin of a failed call */
	int trailer_set;
	const char *decision_id; /* of the response, for the access log */
	int decision_noted;      /* dd_call_note_decision ran: finish need not look */
	char request_id[40];
};

struct worker {
	dd_server *server;
	pthread_t thread;
	bool thread_started;
	grpc_completion_queue *cq;
	dd_quoter *quoter;
	unsigned index;
	pthread_t self;     /* set by the worker itself when it starts */
	dd_arena spare;     /* a chunk kept from one call's arena to the next */
	dd_rtxn *auth_txn;  /* token lookups */
};

struct dd_server {
	const dd_config *config;
	dd_store *store;
	dd_writer *writer;
	grpc_server *grpc;
	void **handles;          /* registered method handles, parallel to dd_methods */
	int nmethods;
	worker *workers;
	unsigned nworkers;       /* workers with a queue (and maybe a quoter) */
	atomic_int shutting_down;
	atomic_int active_calls; /* arrived and not yet replied to */
	pthread_mutex_t lock;
	pthread_cond_t drained_cond;
	int drained;
	grpc_resource_quota *quota;
	pthread_mutex_t calls_lock; /* guards calls and each call's next, prev */
	dd_call *calls;             /* arrived and not yet freed */
	atomic_size_t pending_reply_bytes; /* replies started and not yet freed */
	struct dd_metrics *metrics;  /* metrics.h */
	struct dd_health *health;    /* health.c: status and Watch streams */
	struct dd_reflection *reflection; /* reflection.c */
	int64_t started_at;          /* unix seconds */
	atomic_ullong next_request_id;
};

/* Starts the reply batch with status and message (may be NULL); frees what
 * it can first. code, the dd_err behind a failure (0 when none), chooses
 * the error details sent with it. The call must not be touched afterwards. */
void dd_call__reply(dd_call *c, grpc_status_code status, const char *message, int code);
/* The end of a call, whatever its kind: metrics and the access log line. */
void dd_call__ended(dd_call *c, grpc_status_code status, const char *message);
/* Fills c->trailer with grpc-status-details-bin for a failure. */
void dd_call__set_details(dd_call *c, grpc_status_code status, const char *message, int code);
/* The x-request-id the client sent (printable, at most 39 bytes), else one
 * made up here; kept in the call. */
const char *dd_call__request_id(dd_call *c);

/* stream.c: a streaming call from its arrival (after authentication) to
 * its end; and its completions, dispatched by the worker. */
void dd_stream__start(dd_call *c);
void dd_stream__complete(struct dd_tag *t, int success);
void dd_stream__finish(dd_call *c, grpc_status_code status, const char *message, int code,
                       const ProtobufCMessage *resp);
/* Releases everything a call holds (after its reply batch completed, or
 * when it never arrived). */
void dd_call__free(dd_call *c);
/* Takes c off the server's list of calls (the sweeper's). */
void dd_call__untrack(dd_call *c);
int64_t dd_call__now_us(void);

#endif
