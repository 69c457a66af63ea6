/* dealdeskd: the gRPC server (transport), its configuration and handlers. */
#ifndef DD_SERVER_SERVER_H
#define DD_SERVER_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include <grpc/grpc.h>
#include <protobuf-c/protobuf-c.h>

#include "dealdesk/arena.h"
#include "dealdesk/error.h"
#include "dealdesk/quote.h"
#include "dealdesk/store.h"
#include "dealdesk/writer.h"
#include "call.h"

typedef struct dd_config {
	char listen[256];
	char db[1024];
	size_t map_size;
	unsigned threads;
	unsigned calls_per_thread;  /* Quote calls requested ahead per thread */
	size_t max_message_bytes;
	int log_level;
	int demo;
	int require_approval;
	unsigned shutdown_grace_ms;
	unsigned writer_batch;       /* most writes per transaction; 1 = no group commit */
	dd_quote_limits limits;
} dd_config;

void dd_config_defaults(dd_config *c);
/* Applies a "key = value" file; err names file and line. */
int dd_config_load_file(dd_config *c, const char *path, dd_error *err);
/* Applies one setting by name (flag name without "--"). */
int dd_config_set(dd_config *c, const char *key, const char *value, dd_error *err);

typedef struct dd_server dd_server;

/* Answers call: finishes it and returns DD_CALL_DONE, or returns
 * DD_CALL_PENDING and has it finished later (call.h). */
typedef int (*dd_handler_fn)(dd_call *call);

typedef struct dd_method {
	const char *path; /* "/dealdesk.v1.QuoteService/Quote" */
	const ProtobufCMessageDescriptor *request;
	dd_handler_fn handler;
	int hot;          /* request many calls ahead (Quote, Health) */
	dd_role role;     /* the role a caller needs (not enforced yet) */
} dd_method;

/* The method table, terminated by a NULL path. */
extern const dd_method dd_methods[];

/* Serves until SIGTERM or SIGINT; 0 after a clean stop, 1 when it could not
 * start (everything it created is released either way). Admin writes go to
 * writer, which the caller starts before and stops after. */
int dd_server_run(const dd_config *config, dd_store *store, dd_writer *writer);

/* grpc status for a dd_err code. */
grpc_status_code dd_err_grpc_status(int code);

int dd_wire_check_strings(const ProtobufCMessageDescriptor *d, const uint8_t *buf,
                          size_t len, dd_error *err);

#endif
