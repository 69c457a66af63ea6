/* dealdesk admin: what the admin files share. Private to src/admin (and its
 * unit tests); the public API is include/dealdesk/admin.h. */
#ifndef DD_ADMIN_ADMIN_INT_H
#define DD_ADMIN_ADMIN_INT_H

#include "dealdesk/admin.h"

/* Lists the stored versions of a policy kind (every kind when kind is 0),
 * as dd_admin_list does for entities. */
int admin_list_policies(dd_store *store, int kind, uint32_t page_size,
                        const char *page_token, dd_arena *arena,
                        ProtobufCMessage ***items, size_t *n, char **next_token,
                        dd_error *err);

/* The shipped policies, policies/NAME.lua, embedded at build time by
 * cmake/embed.cmake (which writes the same struct); ends with a NULL name. */
struct dd_embedded_file {
	const char *name;
	const char *data;
	size_t len;
};
extern const struct dd_embedded_file dd_embedded_policies[];

/* Validates one record as a write does: the model's field checks
 * (dd_entity_validate), then, for a promotion, compiling its condition. */
int admin_validate(dd_entity_kind kind, const ProtobufCMessage *m, const char *field,
                   dd_error *err);

#endif
