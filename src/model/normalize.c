/* dealdesk model: what is completed in a record before it is validated and
 * stored: local validity times in a named zone become Unix seconds. */
#include "dealdesk/model.h"
#include "dealdesk/v1/types.pb-c.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* localtime rules come from TZ, process-wide: writes are rare and
 * serialised here; nothing on the quote path reads local time. */
static pthread_mutex_t tz_lock = PTHREAD_MUTEX_INITIALIZER;

static int zone_name_ok(const char *tz)
{
	size_t n = strlen(tz);
	if (n == 0 || n > 64 || tz[0] == '/' || strstr(tz, ".."))
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = tz[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '/' || c == '_' || c == '-' || c == '+'))
			return 0;
	}
	char path[128];
	snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", tz);
	return access(path, R_OK) == 0;
}

int dd_local_to_unix(const char *local, const char *tz, int64_t *out)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	int sec = 0, n = 0;
	if (sscanf(local, "%4d-%2d-%2dT%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
	           &tm.tm_hour, &tm.tm_min, &n) != 5)
		return DD_EINVAL;
	if (local[n] == ':') {
		int m = 0;
		if (sscanf(local + n, ":%2d%n", &sec, &m) != 1)
			return DD_EINVAL;
		n += m;
	}
	if (local[n] != '\0' || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
	    tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || sec > 59 ||
	    tm.tm_year < 1970 || tm.tm_year > 9999)
		return DD_EINVAL;
	if (!zone_name_ok(tz))
		return DD_ENOTFOUND;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	tm.tm_sec = sec;
	tm.tm_isdst = -1;
	int mday = tm.tm_mday;
	pthread_mutex_lock(&tz_lock);
	char *old = getenv("TZ");
	char *saved = old ? strdup(old) : NULL;
	setenv("TZ", tz, 1);
	tzset();
	time_t t = mktime(&tm);
	if (saved) {
		setenv("TZ", saved, 1);
		free(saved);
	} else {
		unsetenv("TZ");
	}
	tzset();
	pthread_mutex_unlock(&tz_lock);
	if (t == (time_t)-1 || tm.tm_mday != mday) /* e.g. February 30 */
		return DD_EINVAL;
	*out = (int64_t)t;
	return DD_OK;
}

int dd_entity_normalize(dd_entity_kind kind, ProtobufCMessage *m, const char *field,
                        dd_error *err)
{
	if (kind != DD_ENTITY_PROMOTION || m == NULL)
		return DD_OK;
	Dealdesk__V1__Promotion *p = (void *)m;
	int has_local = (p->valid_from_local && *p->valid_from_local) ||
	                (p->valid_to_local && *p->valid_to_local);
	if (p->time_zone == NULL || *p->time_zone == '\0') {
		if (has_local)
			return dd_error_set(err, DD_EINVAL,
			                    "%s.time_zone: required with local validity times", field);
		return DD_OK;
	}
	struct {
		const char *local;
		int64_t *out;
		const char *name;
	} ends[] = {
		{ p->valid_from_local, &p->valid_from, "valid_from_local" },
		{ p->valid_to_local, &p->valid_to, "valid_to_local" },
	};
	for (int i = 0; i < 2; i++) {
		if (ends[i].local == NULL || *ends[i].local == '\0')
			continue;
		int rc = dd_local_to_unix(ends[i].local, p->time_zone, ends[i].out);
		if (rc == DD_ENOTFOUND)
			return dd_error_set(err, DD_EINVAL, "%s.time_zone: unknown time zone '%.64s'",
			                    field, p->time_zone);
		if (rc != DD_OK)
			return dd_error_set(err, DD_EINVAL,
			                    "%s.%s: expected YYYY-MM-DDTHH:MM[:SS], got '%.32s'",
			                    field, ends[i].name, ends[i].local);
	}
	return DD_OK;
}
