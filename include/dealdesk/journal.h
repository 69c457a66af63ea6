/* dealdesk journal: what happened, kept apart from the data it happened to.
 *
 * Two logs, both in journal tables of the store (store.h: writing them does
 * not advance data_version):
 *
 *   the audit log   every admin change and lifecycle transition, appended by
 *                   the writer in the same nested transaction as the change
 *                   (dd_writer_job.audit), chained by SHA-256: entry n holds
 *                   the hash of entry n-1, and the journal table keeps the
 *                   head (last seq and hash), so an edited, removed or
 *                   reordered entry is found by dd_audit_verify.
 *   the decision log every quote and commit answered: request and response
 *                   bytes and versions. The worker only copies them into a
 *                   bounded queue (dd_decisions_record never waits for the
 *                   store); a writer job drains the queue in batches. A full
 *                   queue drops the record and counts it.
 *
 * Replay and impact (dd_decision_replay, dd_decision_impact) re-run recorded
 * requests through a quoter with pinned policy versions.
 *
 * Threads: a dd_decisions is shared by every worker (its queue is locked);
 * the read functions take the store and use their own read transaction.
 * Returned messages live in the arena passed in.
 */
#ifndef DEALDESK_JOURNAL_H
#define DEALDESK_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "dealdesk/arena.h"
#include "dealdesk/error.h"
#include "dealdesk/quote.h"
#include "dealdesk/store.h"
#include "dealdesk/writer.h"
#include "dealdesk/v1/journal.pb-c.h"

/* ---- audit log ----------------------------------------------------------- */

/* Who did what: filled by the caller (the server, from the call), owned by
 * the job it rides on. Strings are copied into the entry. */
typedef struct dd_audit_note {
	const char *principal; /* "token:ops" ("anonymous" with --no-auth) */
	const char *role;      /* "admin" */
	const char *method;    /* "/dealdesk.v1.CatalogAdmin/PutPriceEntries" */
	const char *key;       /* what it changed: "sku-1 (+2 more)" */
	unsigned char value_sha256[32]; /* of the request message */
} dd_audit_note;

/* The writer hook (dd_writer_set_audit): appends note as the next entry. */
int dd_audit_append(dd_wtxn *txn, const dd_audit_note *note, void *ud, dd_error *err);

/* Entries with seq > after_seq, at most limit (0 = 100, at most 1000), in
 * arena; *next is the seq to continue after, 0 at the end. */
int dd_audit_list(dd_store *store, uint64_t after_seq, uint32_t limit, dd_arena *arena,
                  Dealdesk__V1__AuditEntry ***out, size_t *n, uint64_t *next,
                  dd_error *err);

/* Walks the whole chain; *out (in arena) names every problem. */
int dd_audit_verify(dd_store *store, dd_arena *arena, Dealdesk__V1__VerifyAuditResponse **out,
                    dd_error *err);

/* ---- decision log ---------------------------------------------------------- */

typedef struct dd_decisions dd_decisions;

typedef struct dd_decisions_opts {
	size_t queue;            /* records waiting at most; 0 = 4096 */
	uint32_t retention_days; /* 0 = keep forever */
	const char *redact;      /* "customer_id,attributes": request fields blanked */
	uint64_t max_bytes;      /* the log's pages (records and index) at most; past
	                          * it the oldest records are pruned; 0 = no cap */
} dd_decisions_opts;

/* Creates the log over the writer (NULL: nothing is ever written, every
 * record is dropped and counted). DD_EINVAL for an unknown redact field. */
int dd_decisions_new(dd_decisions **out, dd_writer *writer, const dd_decisions_opts *opts,
                     dd_error *err);
/* Writes what is queued (waits for it), then frees. Before dd_writer_stop. */
void dd_decisions_free(dd_decisions *d);

/* Hands one answered decision to the log: kind quote or commit; req and
 * resp the messages answered; resp_bytes (resp_len), when not NULL, resp
 * already packed (the caller packs once for the log and the wire). Copies
 * what it needs; never blocks on the store. A record that cannot be queued
 * is counted as dropped. */
/* req_bytes / resp_bytes: the messages as received / as sent, when the
 * caller has them (NULL: packed here). */
void dd_decisions_record(dd_decisions *d, Dealdesk__V1__DecisionKind kind,
                         const ProtobufCMessage *req, const uint8_t *req_bytes, size_t req_len,
                         const ProtobufCMessage *resp, const uint8_t *resp_bytes,
                         size_t resp_len, const char *principal);

void dd_decisions_stats(dd_decisions *d, Dealdesk__V1__DecisionLogStats *out);
/* Writes everything queued now and waits (tests, shutdown). */
void dd_decisions_flush(dd_decisions *d);

/* A record by decision id, or the latest of an order id. DD_ENOTFOUND. */
int dd_decision_get(dd_store *store, const char *decision_id, const char *order_id,
                    dd_arena *arena, Dealdesk__V1__DecisionRecord **out, dd_error *err);
int dd_decision_list(dd_store *store, const Dealdesk__V1__ListDecisionsRequest *req,
                     dd_arena *arena, Dealdesk__V1__ListDecisionsResponse **out,
                     dd_error *err);

/* Replays rec with q (the caller's quoter, on its thread). */
int dd_decision_replay(dd_quoter *q, dd_store *store, const Dealdesk__V1__DecisionRecord *rec,
                       dd_arena *arena, Dealdesk__V1__ReplayResult **out, dd_error *err);
int dd_decision_impact(dd_quoter *q, dd_store *store, const Dealdesk__V1__ImpactRequest *req,
                       dd_arena *arena, Dealdesk__V1__ImpactReport **out, dd_error *err);

#endif
