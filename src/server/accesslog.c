/* dealdeskd: the access log line of a call, and gRPC core's messages. */
#include "accesslog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/support/log.h>

void dd_access_log(dd_log_level level, const dd_access_entry *e)
{
	if (!dd_log_enabled(level))
		return;
	if (dd_log_get_format() == DD_LOG_FORMAT_JSON) {
		char f[4096], v[6][512];
		dd_log_json_string(v[0], sizeof(v[0]), e->request_id);
		dd_log_json_string(v[1], sizeof(v[1]), e->method);
		dd_log_json_string(v[2], sizeof(v[2]), e->peer);
		dd_log_json_string(v[3], sizeof(v[3]), e->principal);
		if (e->decision_id && *e->decision_id)
			dd_log_json_string(v[4], sizeof(v[4]), e->decision_id);
		else
			snprintf(v[4], sizeof(v[4]), "null");
		if (e->error)
			dd_log_json_string(v[5], sizeof(v[5]), e->error);
		else
			snprintf(v[5], sizeof(v[5]), "null");
		snprintf(f, sizeof(f),
		         "\"request_id\":%s,\"method\":%s,\"status\":\"%s\",\"code\":%d,"
		         "\"duration_us\":%lld,\"peer\":%s,\"principal\":%s,\"decision_id\":%s,"
		         "\"error\":%s",
		         v[0], v[1], e->status, e->status_code, (long long)e->duration_us, v[2], v[3],
		         v[4], v[5]);
		dd_log_fields(level, "rpc", NULL, f);
		return;
	}
	char text[2048];
	snprintf(text, sizeof(text), "rpc %s status=%s us=%lld request_id=%s peer=%s principal=%s%s%s%s%s",
	         e->method ? e->method : "?", e->status, (long long)e->duration_us,
	         e->request_id, e->peer, *e->principal ? e->principal : "-",
	         e->decision_id && *e->decision_id ? " decision_id=" : "",
	         e->decision_id && *e->decision_id ? e->decision_id : "",
	         e->error ? " error=" : "", e->error ? e->error : "");
	dd_log_fields(level, "rpc", text, NULL);
}

static void grpc_log(gpr_log_func_args *args)
{
	dd_log_level level = args->severity == GPR_LOG_SEVERITY_ERROR  ? DD_LOG_ERROR
	                     : args->severity == GPR_LOG_SEVERITY_INFO ? DD_LOG_INFO
	                                                               : DD_LOG_DEBUG;
	if (!dd_log_enabled(level))
		return;
	const char *file = args->file ? strrchr(args->file, '/') : NULL;
	file = file ? file + 1 : args->file ? args->file : "?";
	char text[2048], f[1024], vf[256];
	snprintf(text, sizeof(text), "grpc %s:%d: %s", file, args->line,
	         args->message ? args->message : "");
	dd_log_json_string(vf, sizeof(vf), file);
	snprintf(f, sizeof(f), "\"source\":\"grpc\",\"file\":%s,\"line\":%d", vf, args->line);
	char msg[1536];
	snprintf(msg, sizeof(msg), "%s", args->message ? args->message : "");
	dd_log_fields(level, msg, text, f);
}

void dd_access_log_capture_grpc(void)
{
	gpr_set_log_function(grpc_log);
	/* gRPC filters below its verbosity (errors only by default) before
	 * calling us; --log-level debug lets everything through, unless
	 * GRPC_VERBOSITY says otherwise */
	if (getenv("GRPC_VERBOSITY") == NULL && dd_log_enabled(DD_LOG_DEBUG))
		gpr_set_log_verbosity(GPR_LOG_SEVERITY_DEBUG);
}
