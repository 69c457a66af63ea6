/* dealdesk writer: the thread that owns LMDB write transactions, with
 * group commit (API and guarantees in include/dealdesk/writer.h).
 *
 * The queue is an intrusive FIFO of caller-owned jobs under one mutex; the
 * thread sleeps on a condition variable while it is empty. A batch is taken
 * off the queue whole, so submitters never wait for a transaction, only for
 * the mutex. Signals are blocked in the thread: the server waits for
 * SIGTERM with sigwait on its main thread, and a signal delivered here
 * would take the default action.
 */
#include "dealdesk/writer.h"

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dealdesk/log.h"
#include "store_int.h"
#include "writer_int.h"

struct dd_writer {
	dd_store *store;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;   /* a job was queued, or stop was asked */
	dd_writer_job *head;   /* queued jobs, oldest first */
	dd_writer_job *tail;
	bool stopping;
	dd_writer_stats stats; /* under lock */
	int fail_commits;      /* tests: so many batches taken from now on fail to commit */
	size_t max_batch;      /* most jobs per transaction (1 = no grouping) */
	dd_writer_audit_fn audit; /* appends a job's audit note (set before any job) */
	void *audit_ud;
};

/* ---- one batch ---------------------------------------------------------- */

/* A full store is answered with the cause and the remedy, whatever the job
 * said (RESOURCE_EXHAUSTED: "store map full (map size 1 MiB, ...): raise
 * --map-size ..."). */
static void full_error(dd_store *store, dd_error *err)
{
	char msg[400];
	dd_error_set(err, DD_EFULL, "%s", dd_store_full_message(store, msg, sizeof(msg)));
}

/* Runs one job in a transaction nested in txn; fills job->rc, version, err. */
static void run_job(dd_writer *w, dd_wtxn *txn, dd_writer_job *job)
{
	dd_error_clear(&job->err);
	job->version = 0;
	dd_wtxn *child;
	int rc = dd_wtxn_begin_child(txn, &child);
	if (rc != DD_OK) {
		job->rc = dd_error_set(&job->err, rc, "store: cannot begin a write: %s",
		                       dd_strerror(rc));
		return;
	}
	rc = job->apply(child, job->ud, &job->err);
	/* The audit entry joins the change's own transaction: both or neither. */
	if (rc == DD_OK && job->audit != NULL && w->audit != NULL)
		rc = w->audit(child, job->audit, w->audit_ud, &job->err);
	if (rc == DD_OK) {
		/* A sticky error the job ignored fails it here. */
		rc = dd_wtxn_commit(child, &job->version);
		if (rc != DD_OK)
			dd_error_set(&job->err, rc, "store: %s", dd_strerror(rc));
	} else {
		dd_wtxn_abort(child);
		if (job->err.code == DD_OK || job->err.msg[0] == '\0')
			dd_error_set(&job->err, rc < 0 ? rc : DD_EINTERNAL, "write failed: %s",
			             dd_strerror(rc));
		if (rc > 0)
			rc = DD_EINTERNAL; /* not a dd_err: a bug in the job */
	}
	if (rc == DD_EFULL)
		full_error(w->store, &job->err);
	job->rc = rc;
}

/* Runs the n jobs of batch in one write transaction, commits it, then
 * reports every job's outcome to its done callback. */
static void run_batch(dd_writer *w, dd_writer_job *batch, size_t n, bool fail_commit)
{
	dd_wtxn *txn;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int rc = dd_wtxn_begin(w->store, &txn);
	if (rc != DD_OK) {
		for (dd_writer_job *j = batch; j != NULL; j = j->next) {
			j->rc = dd_error_set(&j->err, rc, "store: cannot begin a write: %s",
			                     dd_strerror(rc));
			j->version = 0;
		}
	} else {
		for (dd_writer_job *j = batch; j != NULL; j = j->next)
			run_job(w, txn, j);
		if (fail_commit) {
			dd_wtxn_abort(txn);
			rc = DD_ESTORE;
		} else {
			rc = dd_wtxn_commit(txn, NULL); /* the one durable commit */
		}
		/* Nothing of the batch is durable, not even what jobs did right. */
		for (dd_writer_job *j = batch; rc != DD_OK && j != NULL; j = j->next)
			if (j->rc == DD_OK) {
				j->rc = dd_error_set(&j->err, rc, "store: commit failed: %s",
				                     dd_strerror(rc));
				if (rc == DD_EFULL)
					full_error(w->store, &j->err);
				j->version = 0;
			}
	}
	if (rc == DD_EFULL) {
		char msg[400];
		dd_log(DD_LOG_ERROR, "writer: a batch of %zu job(s) failed: %s", n,
		       dd_store_full_message(w->store, msg, sizeof(msg)));
	} else if (rc != DD_OK) {
		dd_log(DD_LOG_ERROR, "writer: a batch of %zu job(s) failed: %s", n,
		       dd_strerror(rc));
	}
	uint64_t failed = 0;
	for (dd_writer_job *j = batch; j != NULL; j = j->next)
		failed += j->rc != DD_OK;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	uint64_t us = (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000);
	pthread_mutex_lock(&w->lock);
	w->stats.queued -= n;
	for (int i = 0; i < DD_WRITER_BUCKETS; i++) {
		w->stats.batch_size_le[i] += n <= ((size_t)1 << i);
		w->stats.commit_us_le[i] += us <= ((uint64_t)100 << i);
	}
	w->stats.commit_us_sum += us;
	w->stats.batches++;
	w->stats.jobs += n;
	w->stats.failed_jobs += failed;
	if (rc != DD_OK)
		w->stats.failed_batches++;
	if (n > w->stats.largest_batch)
		w->stats.largest_batch = n;
	pthread_mutex_unlock(&w->lock);
	/* done may free its job: read next first. */
	for (dd_writer_job *j = batch, *next; j != NULL; j = next) {
		next = j->next;
		if (j->done)
			j->done(j->ud, j->rc, j->version, &j->err);
	}
}

static void *writer_main(void *arg)
{
	dd_writer *w = arg;
	for (;;) {
		pthread_mutex_lock(&w->lock);
		while (w->head == NULL && !w->stopping)
			pthread_cond_wait(&w->wake, &w->lock);
		if (w->head == NULL) { /* stopping, and drained */
			pthread_mutex_unlock(&w->lock);
			break;
		}
		dd_writer_job *batch = w->head, *last = batch;
		size_t n = 1;
		while (last->next != NULL && n < w->max_batch) {
			last = last->next;
			n++;
		}
		w->head = last->next;
		if (w->head == NULL)
			w->tail = NULL;
		last->next = NULL;
		bool fail_commit = w->fail_commits > 0;
		if (fail_commit)
			w->fail_commits--;
		pthread_mutex_unlock(&w->lock);
		run_batch(w, batch, n, fail_commit);
	}
	return NULL;
}

/* ---- life ------------------------------------------------------------------ */

int dd_writer_start(dd_writer **out, dd_store *store, dd_error *err)
{
	if (out == NULL || store == NULL)
		return dd_error_set(err, DD_EINVAL, "writer: no store");
	*out = NULL;
	dd_writer *w = calloc(1, sizeof(*w));
	if (w == NULL)
		return dd_error_set(err, DD_ENOMEM, "writer: out of memory");
	w->store = store;
	w->max_batch = DD_WRITER_MAX_BATCH;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->wake, NULL);
	int rc = dd_store__attach_writer(store, w);
	if (rc != DD_OK) {
		dd_error_set(err, rc, "writer: the store has a writer already");
		goto fail;
	}
	/* The thread inherits this mask: every signal blocked. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int e = pthread_create(&w->thread, NULL, writer_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e != 0) {
		dd_store__detach_writer(store, w);
		rc = dd_error_set(err, DD_ENOMEM, "writer: cannot start a thread: %s",
		                  strerror(e));
		goto fail;
	}
	*out = w;
	return DD_OK;
fail:
	pthread_cond_destroy(&w->wake);
	pthread_mutex_destroy(&w->lock);
	free(w);
	return rc;
}

void dd_writer_stop(dd_writer *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	w->stopping = true;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL); /* it drains the queue first */
	dd_store__detach_writer(w->store, w);
	pthread_cond_destroy(&w->wake);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

int dd_writer_submit(dd_writer *w, dd_writer_job *job)
{
	if (w == NULL || job == NULL || job->apply == NULL)
		return DD_EINVAL;
	job->next = NULL;
	job->rc = DD_OK;
	job->version = 0;
	pthread_mutex_lock(&w->lock);
	if (w->stopping) {
		pthread_mutex_unlock(&w->lock);
		return DD_EPRECOND;
	}
	if (w->tail)
		w->tail->next = job;
	else
		w->head = job;
	w->tail = job;
	w->stats.queued++;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	return DD_OK;
}

void dd_writer_set_max_batch(dd_writer *w, unsigned n)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	w->max_batch = n == 0 || n > DD_WRITER_MAX_BATCH ? DD_WRITER_MAX_BATCH : n;
	pthread_mutex_unlock(&w->lock);
}

void dd_writer_get_stats(dd_writer *w, dd_writer_stats *out)
{
	pthread_mutex_lock(&w->lock);
	*out = w->stats;
	pthread_mutex_unlock(&w->lock);
}

void dd_writer_set_audit(dd_writer *w, dd_writer_audit_fn fn, void *ud)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	w->audit = fn;
	w->audit_ud = ud;
	pthread_mutex_unlock(&w->lock);
}

void dd_writer__fail_commits(dd_writer *w, int n)
{
	pthread_mutex_lock(&w->lock);
	w->fail_commits = n;
	pthread_mutex_unlock(&w->lock);
}

/* ---- waiting for a job ------------------------------------------------------- */

typedef struct sync_job {
	dd_writer_job job;
	dd_write_fn apply;
	void *ud;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool finished;
	int rc;
	uint64_t version;
	dd_error *err;
} sync_job;

static int sync_apply(dd_wtxn *txn, void *ud, dd_error *err)
{
	sync_job *s = ud;
	return s->apply(txn, s->ud, err);
}

static void sync_done(void *ud, int rc, uint64_t version, const dd_error *err)
{
	sync_job *s = ud;
	pthread_mutex_lock(&s->lock);
	s->rc = rc;
	s->version = version;
	if (s->err != NULL && rc != DD_OK)
		*s->err = *err;
	s->finished = true;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

int dd_writer_run(dd_writer *w, dd_write_fn apply, void *ud, uint64_t *version,
                  dd_error *err)
{
	if (w == NULL || apply == NULL)
		return dd_error_set(err, DD_EINVAL, "writer: nothing to run");
	if (pthread_equal(pthread_self(), w->thread))
		return dd_error_set(err, DD_EINTERNAL,
		                    "writer: a job cannot wait for another job");
	sync_job s;
	memset(&s, 0, sizeof(s));
	s.job.apply = sync_apply;
	s.job.done = sync_done;
	s.job.ud = &s;
	s.apply = apply;
	s.ud = ud;
	s.err = err;
	pthread_mutex_init(&s.lock, NULL);
	pthread_cond_init(&s.cond, NULL);
	int rc = dd_writer_submit(w, &s.job);
	if (rc == DD_OK) {
		pthread_mutex_lock(&s.lock);
		while (!s.finished)
			pthread_cond_wait(&s.cond, &s.lock);
		pthread_mutex_unlock(&s.lock);
		rc = s.rc;
	} else {
		dd_error_set(err, rc, "writer: stopping, the write was not queued");
	}
	pthread_cond_destroy(&s.cond);
	pthread_mutex_destroy(&s.lock);
	if (rc == DD_OK && version != NULL)
		*version = s.version;
	return rc;
}

int dd_store_write(dd_store *store, dd_write_fn apply, void *ud, uint64_t *version,
                   dd_error *err)
{
	if (store == NULL || apply == NULL)
		return dd_error_set(err, DD_EINVAL, "store: nothing to write");
	dd_writer *w = dd_store__writer(store);
	if (w != NULL)
		return dd_writer_run(w, apply, ud, version, err);
	dd_wtxn *txn;
	int rc = dd_wtxn_begin(store, &txn);
	if (rc != DD_OK)
		return dd_error_set(err, rc, "store: cannot begin a write: %s", dd_strerror(rc));
	dd_error local;
	dd_error_clear(&local);
	dd_error *e = err ? err : &local;
	dd_error_clear(e);
	rc = apply(txn, ud, e);
	if (rc == DD_EFULL)
		full_error(store, e);
	if (rc != DD_OK) {
		dd_wtxn_abort(txn);
		if (e->code == DD_OK)
			dd_error_set(e, rc < 0 ? rc : DD_EINTERNAL, "write failed: %s",
			             dd_strerror(rc));
		return rc < 0 ? rc : DD_EINTERNAL;
	}
	rc = dd_wtxn_commit(txn, version);
	if (rc == DD_EFULL && err != NULL)
		full_error(store, err);
	else if (rc != DD_OK)
		return dd_error_set(err, rc, "store: commit failed: %s", dd_strerror(rc));
	return rc;
}
