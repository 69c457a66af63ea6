/* dealdesk client: synchronous unary gRPC calls on the gRPC C core.
 *
 * A dd_client owns one insecure channel and one pluck completion queue. Calls
 * on one client are serialized by the caller: a dd_client is not thread-safe
 * (use one per thread). grpc_init is called by dd_client_open and balanced by
 * dd_client_close (gRPC counts the calls itself, so clients can coexist with
 * a server or other gRPC users in the same process).
 */
#ifndef DEALDESK_CLIENT_H
#define DEALDESK_CLIENT_H

#include <stddef.h>

#include <grpc/grpc.h>
#include <protobuf-c/protobuf-c.h>

typedef struct dd_client dd_client;

/* Opens a channel to target ("127.0.0.1:50051", "dns:///host:port",
 * "unix:/path"). The connection is made lazily by the first call. NULL only
 * when out of memory or target is NULL. */
dd_client *dd_client_open(const char *target);

/* Credentials of a client (every field may be NULL or ""). */
typedef struct dd_client_opts {
	const char *token;      /* sent as "authorization: Bearer <token>" on every call */
	const char *tls_ca;     /* PEM file of the CA that signed the server: TLS */
	const char *tls_cert;   /* PEM files of a client certificate and key (mTLS) */
	const char *tls_key;
	const char *tls_server_name; /* name to verify the server's certificate against */
} dd_client_opts;

/* As dd_client_open, with credentials. TLS when tls_ca (or tls_cert) is
 * set. NULL when a file cannot be read (*err_msg, when err_msg is given,
 * says which; static or in a buffer of the client library) or out of memory. */
dd_client *dd_client_open_opts(const char *target, const dd_client_opts *opts,
                               const char **err_msg);

/* Closes the channel and frees the client. NULL is fine. */
void dd_client_close(dd_client *c);

/* Calls a unary method ("/dealdesk.v1.QuoteService/Quote") with req and waits
 * for the answer, at most timeout_ms milliseconds (<= 0: no deadline).
 *
 * *status (if status is not NULL) is always set, and so is *details (if
 * details is not NULL): a new NUL-terminated string the caller frees with
 * free(), possibly "" (NULL only when even that allocation failed).
 * Failures on this side are reported as statuses too: a response that does
 * not decode as resp_desc is GRPC_STATUS_INTERNAL "cannot decode response".
 *
 * On GRPC_STATUS_OK *resp is the decoded response (free with
 * protobuf_c_message_free_unpacked(*resp, NULL)) and the result is DD_OK.
 * Otherwise *resp is NULL and the result is the dd_err matching the status
 * (dd_err_from_grpc_status). */
int dd_client_call(dd_client *c, const char *method, const ProtobufCMessage *req,
                   const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp,
                   grpc_status_code *status, char **details, int timeout_ms);

/* As dd_client_call with bytes in and out, sent as they are (for testing the
 * server with malformed messages). On GRPC_STATUS_OK *resp_bytes is a new
 * buffer of *resp_len bytes (free(); not NUL-terminated; may be NULL when
 * the response is empty); otherwise *resp_bytes is NULL and *resp_len 0. */
int dd_client_call_raw(dd_client *c, const char *method, const void *req_bytes,
                       size_t len, void **resp_bytes, size_t *resp_len,
                       grpc_status_code *status, char **details, int timeout_ms);

/* "OK", "INVALID_ARGUMENT", ... ; "UNKNOWN_STATUS" for other values. */
const char *dd_grpc_status_name(grpc_status_code status);

/* The dd_err for a status: OK -> DD_OK, INVALID_ARGUMENT -> DD_EINVAL,
 * NOT_FOUND -> DD_ENOTFOUND, ALREADY_EXISTS -> DD_EEXIST, FAILED_PRECONDITION
 * -> DD_EPRECOND, RESOURCE_EXHAUSTED -> DD_EFULL, PERMISSION_DENIED and
 * UNAUTHENTICATED -> DD_EDENIED, anything else -> DD_EINTERNAL. */
int dd_err_from_grpc_status(grpc_status_code status);

#endif
