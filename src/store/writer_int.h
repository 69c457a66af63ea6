/* dealdesk writer: hooks for tests only. */
#ifndef DD_STORE_WRITER_INT_H
#define DD_STORE_WRITER_INT_H

#include "dealdesk/writer.h"

/* The commits of the next n batches taken from the queue (not the one being
 * run now) fail with DD_ESTORE: the batch is aborted, as a failed fsync
 * would leave it. */
void dd_writer__fail_commits(dd_writer *w, int n);

#endif
