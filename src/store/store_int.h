/* dealdesk store: what the writer (writer.c) needs from store.c and nobody
 * else does. */
#ifndef DD_STORE_STORE_INT_H
#define DD_STORE_STORE_INT_H

#include "dealdesk/store.h"

struct dd_writer;

/* Attaches w as the store's writer: DD_OK, or DD_EEXIST when another one is
 * attached. Detaching clears the slot only when w is the one attached. */
int dd_store__attach_writer(dd_store *store, struct dd_writer *w);
void dd_store__detach_writer(dd_store *store, struct dd_writer *w);
/* The attached writer, or NULL. */
struct dd_writer *dd_store__writer(dd_store *store);

#endif
