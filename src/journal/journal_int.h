/* dealdesk journal: what its files share. Private to src/journal. */
#ifndef DD_JOURNAL_INT_H
#define DD_JOURNAL_INT_H

#include <stddef.h>
#include <stdint.h>

#include "dealdesk/journal.h"
#include "dealdesk/model.h" /* DD_MAX_ID */

void journal_sha256(const void *data, size_t len, unsigned char out[32]);
void journal_be64(unsigned char b[8], uint64_t v);
uint64_t journal_load_be64(const unsigned char b[8]);
int64_t journal_now_ns(void);

#define JOURNAL_DECISION_SEQ_KEY "decision_seq"

/* The decision index's keys (decisions.c): 'd' id, whose value is the
 * record's seq, and 'o' \0 order_id \0 seq (8 bytes), empty; without seq
 * (NULL) the latter is the prefix of an order's keys. The length is
 * returned; ids are at most JOURNAL_ID_MAX bytes, order ids DD_MAX_ID (the
 * caller checks). */
#define JOURNAL_ID_MAX 39
#define JOURNAL_ID_KEY_SIZE (1 + JOURNAL_ID_MAX)
#define JOURNAL_ORDER_KEY_SIZE (3 + DD_MAX_ID + 8)
size_t journal_id_key(char out[JOURNAL_ID_KEY_SIZE], const char *id, size_t len);
size_t journal_order_key(char out[JOURNAL_ORDER_KEY_SIZE], const char *order_id, size_t len,
                         const unsigned char *seq);

/* "customer_id,region" -> the redaction bits; DD_EINVAL names an unknown one. */
int journal_redact_parse(const char *list, unsigned *out, dd_error *err);
/* Deletes decisions recorded before cutoff_ns (oldest first, at most max)
 * with their index keys; *pruned gets how many. */
int journal_decisions_prune(dd_wtxn *txn, int64_t cutoff_ns, size_t max, uint64_t *pruned);

#endif
