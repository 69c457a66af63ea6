/* dealdesk writer: one thread that owns every LMDB write transaction.
 *
 * Work is queued to it as jobs. The thread takes every job queued (up to
 * DD_WRITER_MAX_BATCH), begins one write transaction, runs each job in a
 * transaction of its own nested in that one, and commits the whole batch
 * durably at once: one commit, one pair of fsyncs, however many jobs. A
 * job that fails is rolled back alone (its nested transaction is aborted)
 * and the others still commit; when the batch's commit fails, every job in
 * it that had succeeded gets that error instead.
 *
 * data_version: each job that wrote something takes data_version one step
 * inside the batch, so every acknowledged write has a version of its own
 * (jobs of one batch get consecutive versions, in queue order) and readers
 * see the batch, and its last version, at once.
 *
 * Threads: dd_writer_submit and dd_writer_run may be called from any thread
 * but the writer's own, except that a done callback may dd_writer_submit
 * (the job joins a later batch; the decision log queues its flush job from
 * a commit's done). apply and done run on the writer thread, in queue
 * order; done runs only after the transaction holding the job has been
 * durably committed, or has failed. Neither may block for long: the whole
 * batch waits for them.
 */
#ifndef DEALDESK_WRITER_H
#define DEALDESK_WRITER_H

#include <stdint.h>

#include "dealdesk/error.h"
#include "dealdesk/store.h"

/* Most jobs in one write transaction. */
#define DD_WRITER_MAX_BATCH 256

typedef struct dd_writer dd_writer;
/* What the audit log says about a job (dealdesk/journal.h); opaque here. */
struct dd_audit_note;

/* Does the work of a job inside txn (a nested transaction that belongs to
 * this job only). Returns DD_OK to keep what it wrote, or a dd_err code
 * (with err set for people; a bare code gets a generic message) to have it
 * rolled back. txn is valid only during the call. */
typedef int (*dd_write_fn)(dd_wtxn *txn, void *ud, dd_error *err);

/* The outcome of a job: rc DD_OK and the data_version its writes took (the
 * version already current when it wrote nothing), or an error with err.
 * err is valid only during the call. May free the job. */
typedef void (*dd_write_done_fn)(void *ud, int rc, uint64_t data_version,
                                 const dd_error *err);

/* A unit of work. The caller owns its memory (typically inside a bigger
 * per-request struct) and keeps it valid and untouched from dd_writer_submit
 * until done is called; done may free it. */
typedef struct dd_writer_job {
	dd_write_fn apply;     /* required */
	dd_write_done_fn done; /* may be NULL */
	void *ud;              /* passed to both */
	/* When not NULL, and an audit hook is set (dd_writer_set_audit), the
	 * hook appends this note to the audit log inside the job's own nested
	 * transaction, after apply succeeded: the change and its audit entry
	 * commit or roll back together. Owned like the job. */
	const struct dd_audit_note *audit;
	/* the writer's own, set by dd_writer_submit */
	struct dd_writer_job *next;
	int rc;
	uint64_t version;
	dd_error err;
} dd_writer_job;

/* Counters since dd_writer_start (read with dd_writer_get_stats). */
typedef struct dd_writer_stats {
	uint64_t batches;        /* write transactions committed or attempted */
	uint64_t jobs;           /* jobs run */
	uint64_t failed_jobs;    /* jobs whose done got an error */
	uint64_t failed_batches; /* batch commits (or begins) that failed */
	uint64_t largest_batch;  /* most jobs in one batch */
	/* for the metrics: jobs queued now; batches by size (bucket i: at
	 * most 2^i jobs, i < DD_WRITER_BUCKETS); commits by latency (bucket
	 * i: at most 2^i * 100 us; the last bucket is every commit), and the
	 * sum of the latencies; queued counts a batch until it is written */
	uint64_t queued;
#define DD_WRITER_BUCKETS 12
	uint64_t batch_size_le[DD_WRITER_BUCKETS];
	uint64_t commit_us_le[DD_WRITER_BUCKETS];
	uint64_t commit_us_sum;
} dd_writer_stats;

/* Starts the writer thread for store and attaches it to store, so that
 * dd_store_write goes through it. One writer per store: DD_EEXIST when
 * store has one already. */
int dd_writer_start(dd_writer **out, dd_store *store, dd_error *err);

/* Refuses new jobs, runs every job already queued (their done callbacks
 * included), joins the thread, detaches it from the store and frees it.
 * NULL is a no-op. Not from the writer thread. */
void dd_writer_stop(dd_writer *w);

/* Queues job; returns at once. DD_OK (done will be called exactly once),
 * DD_EINVAL (no apply), DD_EPRECOND (the writer is stopping: done will not
 * be called). */
int dd_writer_submit(dd_writer *w, dd_writer_job *job);

/* Runs apply through the writer and waits for the durable outcome: for
 * tools, start-up work and tests, never for a gRPC worker. *version (if not
 * NULL) gets the job's data_version. DD_EINTERNAL when called from the
 * writer thread itself (it would wait for itself). */
int dd_writer_run(dd_writer *w, dd_write_fn apply, void *ud, uint64_t *version,
                  dd_error *err);

/* Runs apply in a write transaction of its own and waits: through the writer
 * attached to store when there is one (dd_writer_run), else directly on this
 * thread (dd_wtxn_begin, apply, dd_wtxn_commit). The synchronous admin
 * functions write through this. */
int dd_store_write(dd_store *store, dd_write_fn apply, void *ud, uint64_t *version,
                   dd_error *err);

/* Most jobs per write transaction, 1..DD_WRITER_MAX_BATCH (0 = the most);
 * 1 turns group commit off (benchmarks: dealdeskd --writer-batch 1). */
void dd_writer_set_max_batch(dd_writer *w, unsigned n);

void dd_writer_get_stats(dd_writer *w, dd_writer_stats *out);

/* Appends note to the audit log in txn (the job's nested transaction);
 * DD_OK, or an error that fails (rolls back) the job. Runs on the writer
 * thread. */
typedef int (*dd_writer_audit_fn)(dd_wtxn *txn, const struct dd_audit_note *note,
                                  void *ud, dd_error *err);

/* Sets the hook every job with an audit note goes through (NULL: none).
 * Set it before jobs are submitted (main.c: right after dd_writer_start). */
void dd_writer_set_audit(dd_writer *w, dd_writer_audit_fn fn, void *ud);

#endif
