/* dealdesk log: leveled lines on stderr. */
#include "dealdesk/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static volatile int current_level = DD_LOG_INFO;

static const char *const names[] = { "debug", "info", "warn", "error", "off" };

void dd_log_set_level(dd_log_level level)
{
	current_level = level;
}

dd_log_level dd_log_get_level(void)
{
	return (dd_log_level)current_level;
}

int dd_log_parse_level(const char *s)
{
	for (int i = 0; i <= DD_LOG_OFF; i++)
		if (s && strcasecmp(s, names[i]) == 0)
			return i;
	return -1;
}

int dd_log_enabled(dd_log_level level)
{
	return (int)level >= current_level;
}

void dd_log(dd_log_level level, const char *fmt, ...)
{
	if (!dd_log_enabled(level))
		return;
	char line[2048];
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	int n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s ",
	                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	                 tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, names[level]);
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;
	/* one line, no control characters from user input */
	for (size_t i = (size_t)n; i < len; i++)
		if ((unsigned char)line[i] < 0x20)
			line[i] = ' ';
	line[len++] = '\n';
	ssize_t w = write(STDERR_FILENO, line, len);
	(void)w;
}
