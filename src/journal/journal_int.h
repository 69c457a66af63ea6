/* dealdesk journal: what its files share. Private to src/journal. */
#ifndef DD_JOURNAL_INT_H
#define DD_JOURNAL_INT_H

#include <stddef.h>
#include <stdint.h>

#include "dealdesk/journal.h"

void journal_sha256(const void *data, size_t len, unsigned char out[32]);
void journal_be64(unsigned char b[8], uint64_t v);
uint64_t journal_load_be64(const unsigned char b[8]);
int64_t journal_now_ns(void);

/* Decision index keys (decisions.c): "d" id, "o" \0 order \0 seq(8). */
#define JOURNAL_DECISION_SEQ_KEY "decision_seq"

/* "customer_id,region" -> the redaction bits; DD_EINVAL names an unknown one. */
int journal_redact_parse(const char *list, unsigned *out, dd_error *err);
/* Deletes decisions recorded before cutoff_ns (oldest first, at most max)
 * with their index keys; *pruned gets how many. */
int journal_decisions_prune(dd_wtxn *txn, int64_t cutoff_ns, size_t max, uint64_t *pruned);

#endif
