/* dealdesk log: leveled lines on stderr. */
#include "dealdesk/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static volatile int current_level = DD_LOG_INFO;
static volatile int current_format = DD_LOG_FORMAT_TEXT;

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

void dd_log_set_format(dd_log_format format)
{
	current_format = format;
}

dd_log_format dd_log_get_format(void)
{
	return (dd_log_format)current_format;
}

int dd_log_parse_format(const char *s)
{
	if (s && strcasecmp(s, "text") == 0)
		return DD_LOG_FORMAT_TEXT;
	if (s && strcasecmp(s, "json") == 0)
		return DD_LOG_FORMAT_JSON;
	return -1;
}

size_t dd_log_json_string(char *buf, size_t cap, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;
	if (cap < 3) {
		if (cap)
			buf[0] = '\0';
		return 0;
	}
	buf[n++] = '"';
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
		char esc[7];
		size_t k = 0;
		if (*p == '"' || *p == '\\') {
			esc[k++] = '\\';
			esc[k++] = (char)*p;
		} else if (*p < 0x20) {
			esc[k++] = '\\';
			esc[k++] = 'u';
			esc[k++] = '0';
			esc[k++] = '0';
			esc[k++] = hex[*p >> 4];
			esc[k++] = hex[*p & 15];
		} else {
			esc[k++] = (char)*p;
		}
		if (n + k + 2 > cap)
			break;
		memcpy(buf + n, esc, k);
		n += k;
	}
	/* a UTF-8 sequence cut by the end of the buffer is left out */
	size_t back = n;
	while (back > 1 && ((unsigned char)buf[back - 1] & 0xC0) == 0x80)
		back--;
	if (back > 1 && (unsigned char)buf[back - 1] >= 0xC0) {
		size_t need = (unsigned char)buf[back - 1] >= 0xF0 ? 4
		              : (unsigned char)buf[back - 1] >= 0xE0 ? 3 : 2;
		if (n - (back - 1) < need)
			n = back - 1;
	}
	buf[n++] = '"';
	buf[n] = '\0';
	return n;
}

static int stamp(char *line, size_t cap, dd_log_level level)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	if (current_format == DD_LOG_FORMAT_JSON)
		return snprintf(line, cap,
		                "{\"ts\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\",\"level\":\"%s\",\"msg\":",
		                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		                tm.tm_sec, ts.tv_nsec / 1000000, names[level]);
	return snprintf(line, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s ", tm.tm_year + 1900,
	                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	                ts.tv_nsec / 1000000, names[level]);
}

void dd_log_fields(dd_log_level level, const char *msg, const char *text,
                   const char *json_fields)
{
	if (!dd_log_enabled(level))
		return;
	char line[4096];
	int n = stamp(line, sizeof(line), level);
	size_t len = (size_t)n;
	if (current_format == DD_LOG_FORMAT_JSON) {
		len += dd_log_json_string(line + len, sizeof(line) - len - 2, msg);
		if (json_fields && *json_fields && len + strlen(json_fields) + 3 < sizeof(line)) {
			line[len++] = ',';
			memcpy(line + len, json_fields, strlen(json_fields));
			len += strlen(json_fields);
		}
		line[len++] = '}';
	} else {
		int m = snprintf(line + len, sizeof(line) - len - 1, "%s", text ? text : msg);
		len += m < 0 ? 0 : (size_t)m;
		if (len > sizeof(line) - 2)
			len = sizeof(line) - 2;
		for (size_t i = (size_t)n; i < len; i++)
			if ((unsigned char)line[i] < 0x20)
				line[i] = ' ';
	}
	line[len++] = '\n';
	ssize_t w = write(STDERR_FILENO, line, len);
	(void)w;
}

void dd_log(dd_log_level level, const char *fmt, ...)
{
	if (!dd_log_enabled(level))
		return;
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (m < 0)
		msg[0] = '\0';
	dd_log_fields(level, msg, NULL, NULL);
}
