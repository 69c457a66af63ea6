/* dealdesk: one error type for the whole project.
 *
 * Every fallible function returns DD_OK (0) or a negative dd_err code. Where a
 * caller needs words for a person, the function also fills a dd_error whose
 * message names the field and the reason ("lines[2].quantity: must be > 0").
 * LMDB and Lua codes are converted where they enter; gRPC status codes are
 * chosen in one place (dd_err_grpc_status in the server).
 */
#ifndef DEALDESK_ERROR_H
#define DEALDESK_ERROR_H

#include <stddef.h>

typedef enum dd_err {
	DD_OK = 0,
	DD_EINVAL = -1,     /* malformed input               -> INVALID_ARGUMENT */
	DD_ENOTFOUND = -2,  /* no such record                -> NOT_FOUND */
	DD_EEXIST = -3,     /* record exists                 -> ALREADY_EXISTS */
	DD_EPRECOND = -4,   /* state forbids it              -> FAILED_PRECONDITION */
	DD_EOVERFLOW = -5,  /* int64 money overflow          -> INVALID_ARGUMENT */
	DD_ENOMEM = -6,     /* allocation failed             -> RESOURCE_EXHAUSTED */
	DD_ESTORE = -7,     /* LMDB failure                  -> INTERNAL */
	DD_EPOLICY = -8,    /* a policy script failed        -> INTERNAL */
	DD_EBUDGET = -9,    /* a policy exceeded its budget  -> INTERNAL */
	DD_EFULL = -10,     /* store map full                -> RESOURCE_EXHAUSTED */
	DD_EDENIED = -11,   /* caller may not do it          -> PERMISSION_DENIED */
	DD_EINTERNAL = -12, /* a bug                         -> INTERNAL */
	DD_EUNAUTH = -13,   /* no valid credentials          -> UNAUTHENTICATED */
} dd_err;

/* A code and a message for people. msg is always NUL-terminated. */
typedef struct dd_error {
	int code;
	char msg[512];
} dd_error;

/* Static description of a code ("invalid argument"). Never NULL. */
const char *dd_strerror(int code);

/* Sets err (if not NULL) to code and the formatted message; returns code so
 * callers can write `return dd_error_set(err, DD_EINVAL, "...")`. */
int dd_error_set(dd_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Clears err to DD_OK with an empty message. */
void dd_error_clear(dd_error *err);

#endif
