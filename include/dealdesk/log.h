/* dealdesk log: one line per event on stderr, "2026-11-26T22:01:02.123Z
 * LEVEL message", or with the JSON format one object per line,
 * {"ts":"2026-11-26T22:01:02.123Z","level":"info","msg":"..."} plus the
 * fields of dd_log_fields. Thread-safe (each line is one write). */
#ifndef DEALDESK_LOG_H
#define DEALDESK_LOG_H

#include <stddef.h>

typedef enum dd_log_level {
	DD_LOG_DEBUG = 0,
	DD_LOG_INFO = 1,
	DD_LOG_WARN = 2,
	DD_LOG_ERROR = 3,
	DD_LOG_OFF = 4,
} dd_log_level;

void dd_log_set_level(dd_log_level level);
dd_log_level dd_log_get_level(void);
/* "debug" | "info" | "warn" | "error" | "off"; -1 if unknown. */
int dd_log_parse_level(const char *s);
int dd_log_enabled(dd_log_level level);
void dd_log(dd_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

typedef enum dd_log_format {
	DD_LOG_FORMAT_TEXT = 0,
	DD_LOG_FORMAT_JSON = 1,
} dd_log_format;
void dd_log_set_format(dd_log_format format);
dd_log_format dd_log_get_format(void);
/* "text" | "json"; -1 if unknown. */
int dd_log_parse_format(const char *s);
/* One event with fields: in text "TS LEVEL text"; in JSON the object
 * {"ts":...,"level":...,"msg":msg, then json_fields} where json_fields is
 * `"key":value,...` already encoded (dd_log_json_string), or NULL. */
void dd_log_fields(dd_log_level level, const char *msg, const char *text,
                   const char *json_fields);
/* Writes s as a JSON string, quotes included, into buf (cap bytes, always
 * NUL-terminated; cut short, still valid, when it does not fit); returns
 * the length written. */
size_t dd_log_json_string(char *buf, size_t cap, const char *s);

#endif
