/* dealdesk pbjson: strict JSON text parsing on top of json-c (see pbjson.h). */
#include "dealdesk/pbjson.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client/pbjson_int.h"

/* ---- strict JSON text parsing ------------------------------------------------ */

static unsigned line_at(const char *text, size_t off)
{
	unsigned line = 1;
	for (size_t i = 0; i < off; i++)
		if (text[i] == '\n')
			line++;
	return line;
}

/* A JSON integer literal (digits with an optional '-') fits int64 or uint64. */
static bool literal_fits(const char *s, size_t len)
{
	const char *limit = "18446744073709551615";
	if (*s == '-') {
		s++;
		len--;
		limit = "9223372036854775808";
	}
	while (len > 1 && *s == '0') {
		s++;
		len--;
	}
	size_t ll = strlen(limit);
	return len < ll || (len == ll && memcmp(s, limit, ll) <= 0);
}

/* Catches what json-c accepts or mangles silently: integer literals beyond 64
 * bits (clamped) and single-quoted strings (accepted even in strict mode).
 * Double-quoted strings are skipped; other malformed text is left to the
 * parser. */
static int prescan_json(const char *t, size_t len, dd_error *err)
{
	size_t i = 0;
	while (i < len) {
		char c = t[i];
		if (c == '"') {
			for (i++; i < len && t[i] != '"'; i++)
				if (t[i] == '\\')
					i++;
			i++;
		} else if (c == '\'') {
			return dd_error_set(err, DD_EINVAL,
			                    "line %u: invalid JSON: strings take double quotes",
			                    line_at(t, i));
		} else if (c == '-' || (c >= '0' && c <= '9')) {
			size_t start = i;
			bool integer = true;
			while (i < len && t[i] != '\0' && strchr("0123456789+-.eE", t[i]) != NULL) {
				if (t[i] == '.' || t[i] == 'e' || t[i] == 'E')
					integer = false;
				i++;
			}
			if (integer && !literal_fits(t + start, i - start))
				return dd_error_set(err, DD_EINVAL,
				                    "line %u: integer %.*s is outside the 64-bit range",
				                    line_at(t, start), (int)(i - start > 40 ? 40 : i - start),
				                    t + start);
		} else {
			i++;
		}
	}
	return DD_OK;
}

int dd_pbjson_parse(const char *text, size_t len, json_object **out, dd_error *err)
{
	*out = NULL;
	if (len > INT32_MAX - 1)
		return dd_error_set(err, DD_EINVAL, "JSON text too large");
	if (memchr(text, '\0', len) != NULL)
		return dd_error_set(err, DD_EINVAL, "line %u: NUL byte in JSON text",
		                    line_at(text, (size_t)((const char *)memchr(text, '\0', len) - text)));
	int rc = prescan_json(text, len, err);
	if (rc != DD_OK)
		return rc;

	json_tokener *tok = json_tokener_new_ex(PBJ_MAX_DEPTH * 2);
	if (tok == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	json_object *j = json_tokener_parse_ex(tok, text, (int)len);
	enum json_tokener_error e = json_tokener_get_error(tok);
	size_t end = json_tokener_get_parse_end(tok);
	if (e == json_tokener_continue) {
		/* the end of the input ends a trailing number or reports truncation */
		j = json_tokener_parse_ex(tok, "", 1);
		e = json_tokener_get_error(tok);
		end = len;
	}
	if (e != json_tokener_success) {
		json_tokener_free(tok);
		json_object_put(j);
		if (e == json_tokener_continue || end >= len)
			return dd_error_set(err, DD_EINVAL, "line %u: JSON text ends too early (%s)",
			                    line_at(text, len), json_tokener_error_desc(e));
		return dd_error_set(err, DD_EINVAL, "line %u: invalid JSON: %s",
		                    line_at(text, end), json_tokener_error_desc(e));
	}
	json_tokener_free(tok);
	for (size_t i = end; i < len; i++) {
		if (!isspace((unsigned char)text[i])) {
			json_object_put(j);
			return dd_error_set(err, DD_EINVAL, "line %u: unexpected text after the JSON value",
			                    line_at(text, i));
		}
	}
	*out = j;
	return DD_OK;
}

int dd_pbjson_parse_message(const char *text, size_t len,
                            const ProtobufCMessageDescriptor *d, ProtobufCMessage **out,
                            dd_error *err)
{
	json_object *j;
	*out = NULL;
	int rc = dd_pbjson_parse(text, len, &j, err);
	if (rc != DD_OK)
		return rc;
	rc = dd_pbjson_to_message(j, d, out, err);
	json_object_put(j);
	return rc;
}
