/* dealdesk admin: a prepared write applied in a write transaction (see
 * write.h and "writes in two steps" in include/dealdesk/admin.h). */
#include "write.h"

#include <string.h>

#include "dealdesk/writer.h"

dd_admin_write *dd_admin__write_new(dd_arena *arena, write_op op, dd_error *err)
{
	dd_admin_write *w = dd_arena_alloc(arena, sizeof(*w));
	if (w == NULL) {
		dd_error_set(err, DD_ENOMEM, "out of memory");
		return NULL;
	}
	memset(w, 0, sizeof(*w));
	w->op = op;
	w->arena = arena;
	return w;
}

int dd_admin_write_apply(dd_wtxn *txn, void *write, dd_error *err)
{
	dd_admin_write *w = write;
	switch (w->op) {
	case WRITE_PUT:
	case WRITE_DELETE:
		return dd_admin__apply_entity(txn, w, err);
	case WRITE_TOKEN_CREATE:
	case WRITE_TOKEN_REVOKE:
		return dd_admin__apply_token(txn, w, err);
	default:
		return dd_admin__apply_policy(txn, w, err);
	}
}

Dealdesk__V1__PolicyScript *dd_admin_write_policy(const dd_admin_write *w)
{
	return w->op == WRITE_PUT || w->op == WRITE_DELETE || w->op == WRITE_TOKEN_CREATE
	               || w->op == WRITE_TOKEN_REVOKE
	       ? NULL
	       : w->script;
}

void dd_admin_write_default_actor(dd_admin_write *w, const char *actor)
{
	if (w != NULL && w->actor == NULL)
		w->actor = actor;
}

size_t dd_admin_write_count(const dd_admin_write *w)
{
	return w->op == WRITE_PUT ? w->n : 1;
}

int dd_admin__write_now(dd_store *store, dd_admin_write *w, uint64_t *version,
                        dd_error *err)
{
	return dd_store_write(store, dd_admin_write_apply, w, version, err);
}
