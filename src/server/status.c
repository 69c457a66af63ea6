/* dealdeskd: dealdesk.v1.ServerAdmin/GetStatus, what the running server is:
 * version, uptime, effective configuration, map use, active policies and
 * data version (README "Versions and status"). */
#include "status.h"

#include <string.h>
#include <time.h>

#include "dealdesk/model.h"
#include "dealdesk/version.h"
#include "dealdesk/v1/server.pb-c.h"
#include "transport.h"

typedef struct config_list {
	dd_arena *a;
	Dealdesk__V1__ConfigEntry **v;
	size_t n, cap;
	int failed;
} config_list;

static void add_entry(void *ud, const char *key, const char *value)
{
	config_list *l = ud;
	if (l->failed || l->n == l->cap) {
		l->failed = 1;
		return;
	}
	Dealdesk__V1__ConfigEntry *e = dd_arena_alloc(l->a, sizeof(*e));
	char *k = dd_arena_strdup(l->a, key), *v = dd_arena_strdup(l->a, value);
	if (e == NULL || k == NULL || v == NULL) {
		l->failed = 1;
		return;
	}
	dealdesk__v1__config_entry__init(e);
	e->key = k;
	e->value = v;
	l->v[l->n++] = e;
}

int dd_status_get(dd_call *call)
{
	dd_server *s = call->w->server;
	dd_arena *a = dd_call_arena(call);
	dd_error err;
	Dealdesk__V1__ServerStatus *r = dd_arena_alloc(a, sizeof(*r));
	config_list l = { a, dd_arena_calloc(a, 128, sizeof(*l.v)), 0, 128, 0 };
	Dealdesk__V1__ActivePolicy **pol = dd_arena_calloc(a, DD_POLICY_KIND_COUNT, sizeof(*pol));
	if (r == NULL || l.v == NULL || pol == NULL)
		goto oom;
	dealdesk__v1__server_status__init(r);
	r->version = (char *)dd_version();
	r->git_revision = (char *)dd_git_revision();
	r->started_at = s->started_at;
	r->uptime_seconds = (int64_t)time(NULL) - s->started_at;
	dd_config_entries(s->config, add_entry, &l);
	if (l.failed)
		goto oom;
	r->config = l.v;
	r->n_config = l.n;
	uint64_t used = 0, size = 0;
	if (dd_store_map_use(s->store, &used, &size) != DD_OK) {
		dd_error_set(&err, DD_ESTORE, "store: cannot read the map use");
		return dd_call_finish(call, DD_ESTORE, NULL, &err);
	}
	r->map_used_bytes = used;
	r->map_size_bytes = size;
	dd_rtxn *txn = call->w->auth_txn; /* the worker's, free between calls */
	if (dd_rtxn_begin(txn) != DD_OK) {
		dd_error_set(&err, DD_ESTORE, "store: cannot begin a read");
		return dd_call_finish(call, DD_ESTORE, NULL, &err);
	}
	r->data_version = dd_rtxn_data_version(txn);
	for (int k = 1; k < DD_POLICY_KIND_COUNT; k++) {
		Dealdesk__V1__ActivePolicy *p = dd_arena_alloc(a, sizeof(*p));
		if (p == NULL) {
			dd_rtxn_end(txn);
			goto oom;
		}
		dealdesk__v1__active_policy__init(p);
		char key[16];
		dd_policy_active_key((dd_policy_kind)k, key);
		p->kind = (char *)dd_policy_kind_name((dd_policy_kind)k);
		p->version = dd_rtxn_meta_u64(txn, key);
		pol[r->n_active_policies++] = p;
	}
	dd_rtxn_end(txn);
	r->active_policies = pol;
	return dd_call_finish(call, DD_OK, &r->base, NULL);
oom:
	dd_error_set(&err, DD_ENOMEM, "out of memory");
	return dd_call_finish(call, DD_ENOMEM, NULL, &err);
}
