/* dealdesk admin: what the admin files share. Private to src/admin (and its
 * unit tests); the public API is include/dealdesk/admin.h. */
#ifndef DD_ADMIN_ADMIN_INT_H
#define DD_ADMIN_ADMIN_INT_H

#include "dealdesk/admin.h"

/* Validates one record as a write does: the model's field checks
 * (dd_entity_validate), then, for a promotion, compiling its condition. */
int admin_validate(dd_entity_kind kind, const ProtobufCMessage *m, const char *field,
                   dd_error *err);

#endif
