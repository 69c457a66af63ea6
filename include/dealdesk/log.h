/* dealdesk log: one line per event on stderr, "2026-11-26T22:01:02.123Z
 * LEVEL message". Thread-safe (each line is one write). */
#ifndef DEALDESK_LOG_H
#define DEALDESK_LOG_H

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

#endif
