/* dealdesk client: synchronous unary calls on the gRPC C core (see client.h).
 *
 * One batch per call: SEND_INITIAL_METADATA, SEND_MESSAGE,
 * SEND_CLOSE_FROM_CLIENT, RECV_INITIAL_METADATA, RECV_MESSAGE and
 * RECV_STATUS_ON_CLIENT, plucked from the client's own queue by its tag.
 */
#include "dealdesk/client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "dealdesk/error.h"

/* Responses (price lists, policy listings) can exceed gRPC's 4 MiB default. */
#define DD_CLIENT_MAX_RECEIVE (64 * 1024 * 1024)

struct dd_client {
	grpc_channel *channel;
	grpc_completion_queue *cq;
	char *auth;         /* "Bearer <token>", or NULL */
};

static char *read_pem(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	size_t cap = 1 << 16;
	char *buf = malloc(cap + 1);
	size_t n = buf ? fread(buf, 1, cap, f) : 0;
	fclose(f);
	if (n == 0 || n == cap) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

static const char *set_err(const char **err_msg, const char *msg)
{
	if (err_msg)
		*err_msg = msg;
	return NULL;
}

static dd_client *client_open(const char *target, const dd_client_opts *o, const char **err_msg);

dd_client *dd_client_open(const char *target)
{
	return client_open(target, NULL, NULL);
}

dd_client *dd_client_open_opts(const char *target, const dd_client_opts *opts,
                               const char **err_msg)
{
	return client_open(target, opts, err_msg);
}

#define SET(s) ((s) != NULL && (s)[0] != '\0')

static dd_client *client_open(const char *target, const dd_client_opts *o, const char **err_msg)
{
	if (target == NULL)
		return NULL;
	char *ca = NULL, *cert = NULL, *key = NULL;
	if (o && SET(o->tls_ca) && (ca = read_pem(o->tls_ca)) == NULL)
		return (void *)set_err(err_msg, "cannot read the --tls-ca file");
	if (o && SET(o->tls_cert) != SET(o->tls_key)) {
		free(ca);
		return (void *)set_err(err_msg, "--tls-cert and --tls-key go together");
	}
	if (o && SET(o->tls_cert) &&
	    ((cert = read_pem(o->tls_cert)) == NULL || (key = read_pem(o->tls_key)) == NULL)) {
		free(ca);
		free(cert);
		return (void *)set_err(err_msg, "cannot read the --tls-cert or --tls-key file");
	}
	dd_client *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		free(ca);
		free(cert);
		free(key);
		return NULL;
	}
	if (o && SET(o->token)) {
		size_t n = strlen(o->token) + 8;
		c->auth = malloc(n);
		if (c->auth)
			snprintf(c->auth, n, "Bearer %s", o->token);
	}
	grpc_init();

	grpc_arg arg = {
		.type = GRPC_ARG_INTEGER,
		.key = (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
		.value.integer = DD_CLIENT_MAX_RECEIVE,
	};
	grpc_arg argv[2] = { arg };
	grpc_channel_args args = { .num_args = 1, .args = argv };
	if (o && SET(o->tls_server_name)) {
		argv[1].type = GRPC_ARG_STRING;
		argv[1].key = (char *)GRPC_SSL_TARGET_NAME_OVERRIDE_ARG;
		argv[1].value.string = (char *)o->tls_server_name;
		args.num_args = 2;
	}
	grpc_channel_credentials *creds;
	if (ca || cert) {
		grpc_ssl_pem_key_cert_pair pair = { key, cert };
		creds = grpc_ssl_credentials_create(ca, cert ? &pair : NULL, NULL, NULL);
	} else {
		creds = grpc_insecure_credentials_create();
	}
	free(ca);
	free(cert);
	free(key);
	c->channel = creds ? grpc_channel_create(target, creds, &args) : NULL;
	if (creds)
		grpc_channel_credentials_release(creds);
	c->cq = grpc_completion_queue_create_for_pluck(NULL);
	if (c->channel == NULL || c->cq == NULL) {
		dd_client_close(c);
		return NULL;
	}
	return c;
}

void dd_client_close(dd_client *c)
{
	if (c == NULL)
		return;
	if (c->channel != NULL)
		grpc_channel_destroy(c->channel);
	if (c->cq != NULL) {
		/* Every call plucked its own tag, so the queue is empty: shutdown
		 * completes at once and the pluck returns GRPC_QUEUE_SHUTDOWN. */
		grpc_completion_queue_shutdown(c->cq);
		while (grpc_completion_queue_pluck(c->cq, NULL,
		                                   gpr_inf_future(GPR_CLOCK_REALTIME), NULL)
		               .type != GRPC_QUEUE_SHUTDOWN) {
		}
		grpc_completion_queue_destroy(c->cq);
	}
	free(c->auth);
	free(c);
	grpc_shutdown();
}

const char *dd_grpc_status_name(grpc_status_code status)
{
	switch (status) {
	case GRPC_STATUS_OK: return "OK";
	case GRPC_STATUS_CANCELLED: return "CANCELLED";
	case GRPC_STATUS_UNKNOWN: return "UNKNOWN";
	case GRPC_STATUS_INVALID_ARGUMENT: return "INVALID_ARGUMENT";
	case GRPC_STATUS_DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
	case GRPC_STATUS_NOT_FOUND: return "NOT_FOUND";
	case GRPC_STATUS_ALREADY_EXISTS: return "ALREADY_EXISTS";
	case GRPC_STATUS_PERMISSION_DENIED: return "PERMISSION_DENIED";
	case GRPC_STATUS_RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
	case GRPC_STATUS_FAILED_PRECONDITION: return "FAILED_PRECONDITION";
	case GRPC_STATUS_ABORTED: return "ABORTED";
	case GRPC_STATUS_OUT_OF_RANGE: return "OUT_OF_RANGE";
	case GRPC_STATUS_UNIMPLEMENTED: return "UNIMPLEMENTED";
	case GRPC_STATUS_INTERNAL: return "INTERNAL";
	case GRPC_STATUS_UNAVAILABLE: return "UNAVAILABLE";
	case GRPC_STATUS_DATA_LOSS: return "DATA_LOSS";
	case GRPC_STATUS_UNAUTHENTICATED: return "UNAUTHENTICATED";
	default: return "UNKNOWN_STATUS";
	}
}

int dd_err_from_grpc_status(grpc_status_code status)
{
	switch (status) {
	case GRPC_STATUS_OK: return DD_OK;
	case GRPC_STATUS_INVALID_ARGUMENT:
	case GRPC_STATUS_OUT_OF_RANGE: return DD_EINVAL;
	case GRPC_STATUS_NOT_FOUND: return DD_ENOTFOUND;
	case GRPC_STATUS_ALREADY_EXISTS: return DD_EEXIST;
	case GRPC_STATUS_FAILED_PRECONDITION: return DD_EPRECOND;
	case GRPC_STATUS_RESOURCE_EXHAUSTED: return DD_EFULL;
	case GRPC_STATUS_PERMISSION_DENIED:
	case GRPC_STATUS_UNAUTHENTICATED: return DD_EDENIED;
	default: return DD_EINTERNAL;
	}
}

/* Sets the out-parameters for a status produced on this side. */
static int local_status(grpc_status_code code, const char *msg, grpc_status_code *status,
                        char **details)
{
	*status = code;
	if (details != NULL)
		*details = strdup(msg);
	return dd_err_from_grpc_status(code);
}

/* Copies a received message out of its byte buffer into malloc'd memory. */
static int read_byte_buffer(grpc_byte_buffer *bb, void **out, size_t *out_len)
{
	grpc_byte_buffer_reader reader;
	*out = NULL;
	*out_len = 0;
	if (!grpc_byte_buffer_reader_init(&reader, bb))
		return DD_EINTERNAL;
	grpc_slice all = grpc_byte_buffer_reader_readall(&reader);
	grpc_byte_buffer_reader_destroy(&reader);
	size_t len = GRPC_SLICE_LENGTH(all);
	int rc = DD_OK;
	if (len > 0) {
		*out = malloc(len);
		if (*out == NULL)
			rc = DD_ENOMEM;
		else {
			memcpy(*out, GRPC_SLICE_START_PTR(all), len);
			*out_len = len;
		}
	}
	grpc_slice_unref(all);
	return rc;
}

int dd_client_call_raw(dd_client *c, const char *method, const void *req_bytes,
                       size_t len, void **resp_bytes, size_t *resp_len,
                       grpc_status_code *status, char **details, int timeout_ms)
{
	grpc_status_code ignored;
	if (status == NULL)
		status = &ignored;
	*resp_bytes = NULL;
	*resp_len = 0;
	if (details != NULL)
		*details = NULL;
	if (c == NULL || method == NULL || (req_bytes == NULL && len > 0))
		return local_status(GRPC_STATUS_INVALID_ARGUMENT, "bad client call arguments",
		                    status, details);

	gpr_timespec deadline = gpr_inf_future(GPR_CLOCK_REALTIME);
	if (timeout_ms > 0)
		deadline = gpr_time_add(gpr_now(GPR_CLOCK_REALTIME),
		                        gpr_time_from_millis(timeout_ms, GPR_TIMESPAN));
	grpc_call *call = grpc_channel_create_call(c->channel, NULL, GRPC_PROPAGATE_DEFAULTS,
	                                           c->cq, grpc_slice_from_static_string(method),
	                                           NULL, deadline, NULL);
	if (call == NULL)
		return local_status(GRPC_STATUS_INTERNAL, "cannot create call", status, details);

	grpc_slice req_slice = grpc_slice_from_copied_buffer(req_bytes ? req_bytes : "", len);
	grpc_byte_buffer *send_buf = grpc_raw_byte_buffer_create(&req_slice, 1);
	grpc_slice_unref(req_slice); /* the buffer holds its own reference */

	grpc_metadata_array initial_md, trailing_md;
	grpc_metadata_array_init(&initial_md);
	grpc_metadata_array_init(&trailing_md);
	grpc_byte_buffer *recv_buf = NULL;
	grpc_status_code st = GRPC_STATUS_UNKNOWN;
	grpc_slice st_details = grpc_empty_slice();
	const char *error_string = NULL;

	grpc_op ops[6];
	memset(ops, 0, sizeof(ops));
	grpc_metadata md;
	memset(&md, 0, sizeof(md));
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[0].data.send_initial_metadata.count = 0;
	if (c->auth != NULL) {
		md.key = grpc_slice_from_static_string("authorization");
		md.value = grpc_slice_from_static_string(c->auth);
		ops[0].data.send_initial_metadata.count = 1;
		ops[0].data.send_initial_metadata.metadata = &md;
	}
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = send_buf;
	ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[3].data.recv_initial_metadata.recv_initial_metadata = &initial_md;
	ops[4].op = GRPC_OP_RECV_MESSAGE;
	ops[4].data.recv_message.recv_message = &recv_buf;
	ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	ops[5].data.recv_status_on_client.trailing_metadata = &trailing_md;
	ops[5].data.recv_status_on_client.status = &st;
	ops[5].data.recv_status_on_client.status_details = &st_details;
	ops[5].data.recv_status_on_client.error_string = &error_string;

	int rc;
	void *tag = &ops; /* unique while this call runs */
	grpc_call_error ce = grpc_call_start_batch(call, ops, 6, tag, NULL);
	if (ce != GRPC_CALL_OK) {
		rc = local_status(GRPC_STATUS_INTERNAL, "cannot start call", status, details);
	} else {
		grpc_event ev = grpc_completion_queue_pluck(c->cq, tag,
		                                            gpr_inf_future(GPR_CLOCK_REALTIME),
		                                            NULL);
		if (ev.type != GRPC_OP_COMPLETE) {
			/* cannot happen with an infinite pluck deadline on a live queue */
			rc = local_status(GRPC_STATUS_INTERNAL, "completion queue failed", status,
			                  details);
		} else {
			*status = st;
			if (details != NULL) {
				size_t n = GRPC_SLICE_LENGTH(st_details);
				*details = malloc(n + 1);
				if (*details != NULL) {
					memcpy(*details, GRPC_SLICE_START_PTR(st_details), n);
					(*details)[n] = '\0';
				}
			}
			rc = dd_err_from_grpc_status(st);
			if (st == GRPC_STATUS_OK) {
				if (recv_buf == NULL) {
					free(details ? *details : NULL);
					rc = local_status(GRPC_STATUS_INTERNAL, "no response message",
					                  status, details);
				} else if ((rc = read_byte_buffer(recv_buf, resp_bytes, resp_len)) !=
				           DD_OK) {
					free(details ? *details : NULL);
					rc = rc == DD_ENOMEM
						? local_status(GRPC_STATUS_RESOURCE_EXHAUSTED,
						               "out of memory", status, details)
						: local_status(GRPC_STATUS_INTERNAL,
						               "cannot read the response", status, details);
				}
			}
		}
	}

	if (recv_buf != NULL)
		grpc_byte_buffer_destroy(recv_buf);
	grpc_byte_buffer_destroy(send_buf);
	grpc_metadata_array_destroy(&initial_md);
	grpc_metadata_array_destroy(&trailing_md);
	grpc_slice_unref(st_details);
	gpr_free((void *)error_string);
	grpc_call_unref(call);
	return rc;
}

int dd_client_call(dd_client *c, const char *method, const ProtobufCMessage *req,
                   const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp,
                   grpc_status_code *status, char **details, int timeout_ms)
{
	grpc_status_code ignored;
	if (status == NULL)
		status = &ignored;
	*resp = NULL;
	if (details != NULL)
		*details = NULL;
	if (req == NULL || resp_desc == NULL)
		return local_status(GRPC_STATUS_INVALID_ARGUMENT, "bad client call arguments",
		                    status, details);

	size_t len = protobuf_c_message_get_packed_size(req);
	uint8_t *buf = malloc(len ? len : 1);
	if (buf == NULL)
		return local_status(GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory", status,
		                    details);
	protobuf_c_message_pack(req, buf);

	void *out = NULL;
	size_t out_len = 0;
	int rc = dd_client_call_raw(c, method, buf, len, &out, &out_len, status, details,
	                            timeout_ms);
	free(buf);
	if (rc != DD_OK)
		return rc;

	*resp = protobuf_c_message_unpack(resp_desc, NULL, out_len,
	                                  (const uint8_t *)(out ? out : ""));
	free(out);
	if (*resp == NULL) {
		if (details != NULL)
			free(*details);
		return local_status(GRPC_STATUS_INTERNAL, "cannot decode response", status,
		                    details);
	}
	return DD_OK;
}
