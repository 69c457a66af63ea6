/* dealdeskd handlers: the journal (handlers_journal.c). Private to
 * src/server. */
#ifndef DD_SERVER_HANDLERS_JOURNAL_H
#define DD_SERVER_HANDLERS_JOURNAL_H

#include "handlers.h"

/* Hooks: hand an answered quote (resp: QuoteResponse) or order change
 * (resp: Order; only a Commit is recorded) to the decision log, and return
 * the message to finish the call with: resp, or one that packs to the very
 * bytes already packed for the log (in the call's arena), so the response
 * is packed once. Never block on the store; a record the log cannot take is
 * counted as dropped. */
const ProtobufCMessage *dd_journal_record_quote(dd_call *call, const ProtobufCMessage *resp);
const ProtobufCMessage *dd_journal_record_order(dd_call *call, const ProtobufCMessage *resp);
/* Sets job->audit to a note (in the call's arena) naming the caller, the
 * method, the key and the SHA-256 of the request: the writer appends it to
 * the audit log in the job's own transaction. Commit is not audited (the
 * decision log holds it). Call before dd_writer_submit. */
void dd_journal_audit(dd_call *call, dd_writer_job *job);
/* A Commit refused by its decision (compliance BLOCK, credit DECLINE): the
 * quote that decided it, logged as a quote decision (the commit's
 * QuoteRequest and the QuoteResponse; found by its order id, replayable). */
void dd_journal_record_refused_commit(dd_call *call, const ProtobufCMessage *quote_req,
                                      const ProtobufCMessage *quote_resp);

/* dealdesk.v1.DecisionLog and dealdesk.v1.AuditLog */
int dd_journal_get_decision(dd_call *call);
int dd_journal_list_decisions(dd_call *call);
int dd_journal_replay_decision(dd_call *call);
int dd_journal_decision_stats(dd_call *call);
int dd_journal_impact(dd_call *call);
int dd_journal_list_audit(dd_call *call);
int dd_journal_verify_audit(dd_call *call);

#endif
