/* dealdesk: error codes and messages. */
#include "dealdesk/error.h"

#include <stdarg.h>
#include <stdio.h>

const char *dd_strerror(int code)
{
	switch (code) {
	case DD_OK: return "ok";
	case DD_EINVAL: return "invalid argument";
	case DD_ENOTFOUND: return "not found";
	case DD_EEXIST: return "already exists";
	case DD_EPRECOND: return "failed precondition";
	case DD_EOVERFLOW: return "amount overflows int64";
	case DD_ENOMEM: return "out of memory";
	case DD_ESTORE: return "store error";
	case DD_EPOLICY: return "policy error";
	case DD_EBUDGET: return "policy budget exceeded";
	case DD_EFULL: return "store is full";
	case DD_EDENIED: return "permission denied";
	case DD_EINTERNAL: return "internal error";
	case DD_EUNAUTH: return "unauthenticated";
	default: return "unknown error";
	}
}

int dd_error_set(dd_error *err, int code, const char *fmt, ...)
{
	if (err != NULL) {
		va_list ap;
		va_start(ap, fmt);
		err->code = code;
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return code;
}

void dd_error_clear(dd_error *err)
{
	if (err != NULL) {
		err->code = DD_OK;
		err->msg[0] = '\0';
	}
}
