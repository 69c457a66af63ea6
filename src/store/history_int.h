/* dealdesk price history: what the files of src/store/history*.c share
 * (include/dealdesk/history.h). Private to src/store. */
#ifndef DD_STORE_HISTORY_INT_H
#define DD_STORE_HISTORY_INT_H

#include <string.h>

#include "dealdesk/history.h"

#define DAY 86400

/* "sku \0 currency \0" into buf: its length, or -1 when too long. */
static inline int history_scope_prefix(char *buf, const char *sku, const char *currency)
{
	size_t sl = strlen(sku), cl = strlen(currency);
	if (sl == 0 || cl == 0 || sl + cl + 2 + 9 + DD_MAX_ID > DD_STORE_MAX_KEY)
		return -1;
	memcpy(buf, sku, sl);
	buf[sl] = '\0';
	memcpy(buf + sl + 1, currency, cl);
	buf[sl + 1 + cl] = '\0';
	return (int)(sl + cl + 2);
}

static inline void history_put_be64(char *p, int64_t v)
{
	uint64_t u = (uint64_t)v;
	for (int b = 0; b < 8; b++)
		p[b] = (char)(u >> (56 - 8 * b));
}

static inline int64_t history_get_be64(const unsigned char *p)
{
	uint64_t u = 0;
	for (int b = 0; b < 8; b++)
		u = u << 8 | p[b];
	return (int64_t)u;
}


static inline int history_empty(const char *s)
{
	return s == NULL || *s == '\0';
}

/* A key kept to be deleted after a scan (deleting during one is not safe). */
typedef struct history_old_key {
	char key[DD_STORE_MAX_KEY + 1];
	size_t len;
	int64_t at;
	const char *list; /* into key (price snapshots) */
} history_old_key;

#endif
