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

struct dd_call {
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
	char *peer;         /* gpr_malloc'd on first dd_call_peer */
	const char *identity;
	dd_role role;
	int64_t start_us;   /* arrival, CLOCK_MONOTONIC */
	bool finished;
	/* the server's list of calls from arrival to free (the sweeper) */
	dd_call *next, *prev;
	bool tracked, swept;
	size_t reply_len;   /* counted in the server's pending_reply_bytes */
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
};

/* Starts the reply batch with status and message (may be NULL); frees what
 * it can first. The call must not be touched afterwards. */
void dd_call__reply(dd_call *c, grpc_status_code status, const char *message);
/* Releases everything a call holds (after its reply batch completed, or
 * when it never arrived). */
void dd_call__free(dd_call *c);
/* Takes c off the server's list of calls (the sweeper's). */
void dd_call__untrack(dd_call *c);
int64_t dd_call__now_us(void);

#endif
