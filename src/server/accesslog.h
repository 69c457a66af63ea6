/* dealdeskd: the line each call leaves in the log when it ends, in the
 * text or the JSON format (--log-format). Private to src/server. */
#ifndef DD_SERVER_ACCESSLOG_H
#define DD_SERVER_ACCESSLOG_H

#include <stdint.h>

#include "dealdesk/log.h"

typedef struct dd_access_entry {
	const char *request_id;
	const char *method;
	const char *status;      /* "OK", "INVALID_ARGUMENT", ... */
	int status_code;
	int64_t duration_us;
	const char *peer;
	const char *principal;   /* "" when not authenticated */
	const char *decision_id; /* NULL when the call made no decision */
	const char *error;       /* the status message of a failure, or NULL */
} dd_access_entry;

void dd_access_log(dd_log_level level, const dd_access_entry *e);

/* gRPC core's own messages (gpr_log) go through dd_log from now on. */
void dd_access_log_capture_grpc(void);

#endif
