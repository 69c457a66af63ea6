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
	uint64_t price_history_days; /* list-price history kept (store.h) */
	unsigned threads;
	unsigned calls_per_thread;  /* Quote calls requested ahead per thread */
	size_t max_message_bytes;
	int log_level;
	int demo;
	int require_approval;
	unsigned min_policy_tests;    /* SubmitPolicy refuses a script with fewer cases */
	unsigned promotion_review_bps; /* percent_bps above it needs compliance approval */
	unsigned shutdown_grace_ms;
	unsigned writer_batch;       /* most writes per transaction; 1 = no group commit */
	dd_quote_limits limits;
	/* who may call (README "Authentication and roles") */
	int no_auth;                /* --no-auth: no credentials, no roles (loopback only) */
	char tls_cert[1024];        /* PEM files; TLS when cert and key are set */
	char tls_key[1024];
	char tls_client_ca[1024];   /* verify client certificates against it (mTLS) */
	struct dd_client_role {     /* --client-role NAME=ROLE: a certificate CN or SAN */
		char name[256];
		dd_role role;
	} client_roles[32];
	unsigned n_client_roles;
	/* transport limits (README "Transport limits") */
	unsigned max_streams;       /* concurrent streams per connection */
	size_t transport_memory;    /* grpc_resource_quota for the transport */
	unsigned keepalive_ms;      /* server pings an idle connection this often */
	unsigned keepalive_timeout_ms;
	unsigned idle_timeout_ms;   /* a connection with no calls is closed after it */
	unsigned max_connection_age_ms; /* then GOAWAY, closed max-call-ms later */
	unsigned handshake_timeout_ms;
	unsigned max_call_ms;       /* longest a call may take on the server, reply included */
	size_t max_pending_replies; /* bytes of replies sent but not yet read by their clients */
	size_t max_metadata_bytes;
	unsigned max_repeated;      /* elements of one repeated field in a request */
	/* quotes per experiment arm, counted off the quote path (analytics.h);
	 * NULL = not counted */
	struct dd_analytics_tally *tally;
	/* operations (README "Metrics and logs") */
	char metrics_listen[256];   /* --metrics-listen host:port; "" = no metrics */
	int log_json;               /* --log-format json */
	char config_file[1024];     /* --config, for the status */
	/* the decision log (README "Decision log"); decisions is made by main.c */
	unsigned decision_retention_days; /* 0 = kept forever */
	unsigned decision_queue;          /* records waiting at most; then dropped and counted */
	unsigned decision_max_mb;         /* the log's size cap; 0 = a quarter of map_size */
	char decision_redact[256];        /* request fields blanked before storing */
	struct dd_decisions *decisions;
} dd_config;

/* 1 when listen is a loopback (or unix socket) address. */
int dd_listen_is_loopback(const char *listen);
/* "checkout" -> DD_ROLE_CHECKOUT ...; DD_ROLE_NONE for other names. */
dd_role dd_role_from_name(const char *name);

void dd_config_defaults(dd_config *c);
/* Applies a "key = value" file; err names file and line. */
int dd_config_load_file(dd_config *c, const char *path, dd_error *err);
/* Applies one setting by name (flag name without "--"). */
int dd_config_set(dd_config *c, const char *key, const char *value, dd_error *err);
/* The keys of dd_config_set, NULL-terminated; a switch (--demo) takes no
 * value on the command line, or one (--demo=false). */
typedef struct dd_config_key {
	const char *name;
	int is_switch;
} dd_config_key;
extern const dd_config_key dd_config_keys[];

/* Calls fn with every setting, its key as dd_config_set names it and its
 * value as text ("" when unset; numbers in bytes or units, not K/M/G). */
typedef void (*dd_config_entry_fn)(void *ud, const char *key, const char *value);
void dd_config_entries(const dd_config *c, dd_config_entry_fn fn, void *ud);

typedef struct dd_server dd_server;

/* Answers call: finishes it and returns DD_CALL_DONE, or returns
 * DD_CALL_PENDING and has it finished later (call.h). */
typedef int (*dd_handler_fn)(dd_call *call);

typedef struct dd_method {
	const char *path; /* "/dealdesk.v1.QuoteService/Quote" */
	const ProtobufCMessageDescriptor *request;
	dd_handler_fn handler;
	int hot;          /* request many calls ahead (Quote, Health) */
	dd_role role;     /* the role a caller needs; admin may call anything */
	/* Optional: when the role depends on the request (policies: the kind),
	 * decides after decoding instead of role: DD_OK, or DD_EDENIED /
	 * DD_EINVAL with err. NULL: role alone, checked before decoding. */
	int (*authorize)(dd_call *call, dd_error *err);
	/* 0: unary. Else DD_STREAM_* flags (call.h "Streaming"). */
	unsigned stream;
} dd_method;

/* The method table, terminated by a NULL path. */
extern const dd_method dd_methods[];

/* Serves until SIGTERM or SIGINT; 0 after a clean stop, 1 when it could not
 * start (everything it created is released either way). Admin writes go to
 * writer, which the caller starts before and stops after. */
int dd_server_run(const dd_config *config, dd_store *store, dd_writer *writer);

/* grpc status for a dd_err code. */
grpc_status_code dd_err_grpc_status(int code);

/* Checks the wire bytes of a request before it is decoded: strings (valid
 * UTF-8, no NUL) and the number of elements of every repeated field
 * (max_repeated; QuoteRequest.lines and coupon_codes against the quote
 * limits), so that a request is refused before protobuf-c allocates for it. */
int dd_wire_check(const ProtobufCMessageDescriptor *d, const uint8_t *buf, size_t len,
                  const dd_config *cfg, dd_error *err);
int dd_wire_check_strings(const ProtobufCMessageDescriptor *d, const uint8_t *buf,
                          size_t len, dd_error *err);

/* The request decoded in one pass, into arena a, for the request types it
 * knows (QuoteRequest), with dd_wire_check's rules applied on the way.
 * NULL when it does not know the type or is not sure of the bytes (an
 * unknown field, a field twice, a limit passed, bad UTF-8...): the request
 * then takes dd_wire_check and protobuf_c_message_unpack, which decide.
 * What it returns equals what that general path returns (fastdecode.c). */
ProtobufCMessage *dd_fast_decode(const ProtobufCMessageDescriptor *d, const uint8_t *buf,
                                 size_t len, const dd_config *cfg, dd_arena *a);

#endif
