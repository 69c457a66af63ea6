/* dealdeskd handlers: dealdesk.v1.BackupAdmin (proto/dealdesk/v1/backup.proto).
 *
 * Backup runs on the worker that received it: mdb_env_copy2 holds one read
 * transaction for the length of the copy (writers go on; quotes go to the
 * other workers) and the call is answered when the copy is complete and
 * read back. */
#include "handlers.h"

#include <string.h>
#include <time.h>

#include "dealdesk/log.h"
#include "dealdesk/store.h"
#include "dealdesk/v1/backup.pb-c.h"

static uint64_t elapsed_ms(const struct timespec *a, const struct timespec *b)
{
	int64_t ms = (b->tv_sec - a->tv_sec) * 1000 + (b->tv_nsec - a->tv_nsec) / 1000000;
	return ms > 0 ? (uint64_t)ms : 0;
}

static int backup(dd_call *call, ProtobufCMessage **resp, dd_error *err)
{
	const Dealdesk__V1__BackupRequest *q = (const void *)dd_call_request(call);
	dd_arena *a = dd_call_arena(call);
	const char *dir = q->directory;
	if (dir == NULL || dir[0] == '\0')
		return dd_error_set(err, DD_EINVAL, "directory: required (an absolute path on the "
		                    "server host)");
	if (dir[0] != '/')
		return dd_error_set(err, DD_EINVAL, "directory: '%s' is not an absolute path (it is "
		                    "a path on the server host)", dir);
	if (strlen(dir) > 400)
		return dd_error_set(err, DD_EINVAL, "directory: longer than 400 bytes");

	dd_backup_info *info = dd_arena_alloc(a, sizeof(*info));
	Dealdesk__V1__BackupResponse *r = dd_arena_alloc(a, sizeof(*r));
	Dealdesk__V1__BackupTable *tables = dd_arena_calloc(a, DD_T__COUNT, sizeof(*tables));
	Dealdesk__V1__BackupTable **ptrs = dd_arena_calloc(a, DD_T__COUNT, sizeof(*ptrs));
	if (info == NULL || r == NULL || tables == NULL || ptrs == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int64_t started = (int64_t)time(NULL);
	int rc = dd_store_backup_info(dd_call_store(call), dir, info, err);
	if (rc == DD_EEXIST)
		return dd_error_set(err, DD_EEXIST, "directory: %s is not empty: a backup goes into "
		                    "a new or empty directory", dir);
	if (rc == DD_EINVAL)
		return dd_error_set(err, DD_EINVAL, "directory: %s", err->msg);
	if (rc != DD_OK)
		return rc;
	clock_gettime(CLOCK_MONOTONIC, &t1);

	dealdesk__v1__backup_response__init(r);
	r->directory = dd_arena_strdup(a, dir);
	r->file = dd_arena_strdup(a, info->file);
	if (r->directory == NULL || r->file == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	r->bytes = info->bytes;
	r->data_version = info->data_version;
	r->started_at = started;
	r->duration_ms = elapsed_ms(&t0, &t1);
	for (int t = 0; t < DD_T__COUNT; t++) {
		dealdesk__v1__backup_table__init(&tables[t]);
		tables[t].name = (char *)dd_store_table_name((dd_table)t);
		tables[t].records = info->records[t];
		ptrs[t] = &tables[t];
	}
	r->n_tables = DD_T__COUNT;
	r->tables = ptrs;
	dd_log(DD_LOG_INFO, "backup: %s (%llu bytes, data version %llu) in %llu ms by %s",
	       r->file, (unsigned long long)r->bytes, (unsigned long long)r->data_version,
	       (unsigned long long)r->duration_ms,
	       dd_call_identity(call)[0] ? dd_call_identity(call) : "(no auth)");
	*resp = &r->base;
	return DD_OK;
}

DD_SYNC_HANDLER(, dd_backup_backup, backup(call, &resp, &err))
