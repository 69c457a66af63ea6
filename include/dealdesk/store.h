/* dealdesk store: LMDB with one named database per entity.
 *
 * Key layout (documented in README "Store layout"):
 *   prices      sku \0 currency \0 price_list_id  -> PriceEntry (protobuf)
 *   promotions  id                                -> Promotion
 *   customers   id                                -> Customer
 *   checks      id                                -> ComplianceCheck
 *   policies    kind(1 byte) version(8 bytes BE)  -> PolicyScript
 *   signals     sku                               -> SkuSignals
 *   coupons     code                              -> Coupon
 *   usage       "c" \0 code [\0 customer]          -> Usage (coupon uses)
 *               "p" \0 promotion [\0 customer]     -> Usage (promotion budget)
 *   tokens      SHA-256 of the secret (32 bytes)  -> ApiToken
 *   meta        "data_version"                    -> uint64 LE
 *               "active/<kind digit>"             -> uint64 LE active version
 *               "next/<kind digit>"               -> uint64 LE last version
 *               "schema"                          -> uint64 LE layout version
 *   journal tables (decisions, decision_index, audit, journal; README "Store
 *   layout"): written by src/journal; a write to them does not advance
 *   data_version (it is not data a quote reads) but is committed.
 *
 * Values are the protobuf encoding of the dealdesk.v1 message. Readers use
 * short read transactions (one per request) and take no locks; writes go
 * through one writer thread (dealdesk/writer.h) where one runs, else they are
 * serialised by LMDB's single writer. Every committed write transaction that
 * changed something advances data_version by one, and so does every nested
 * transaction that changed something and was committed into its parent.
 */
#ifndef DEALDESK_STORE_H
#define DEALDESK_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "dealdesk/error.h"
#include "dealdesk/model.h"

typedef struct dd_store dd_store;
typedef struct dd_rtxn dd_rtxn;
typedef struct dd_wtxn dd_wtxn;

/* dd_table, the named databases above, is in model.h. */

/* A byte range. Data returned by the store points into the LMDB map and is
 * valid only until the transaction that produced it ends (or, for a write
 * transaction, until its next write). */
typedef struct dd_val {
	const void *data;
	size_t len;
} dd_val;

typedef struct dd_store_opts {
	const char *path;        /* directory; created if missing */
	size_t map_size;         /* bytes; 0 = 1 GiB */
	unsigned max_readers;    /* 0 = 126 */
	int no_sync;             /* tests only: MDB_NOSYNC */
	int64_t price_history_days; /* list-price history kept (days); 0 = 90 */
} dd_store_opts;

#define DD_PRICE_HISTORY_DEFAULT_DAYS 90

#define DD_STORE_MAX_KEY 511

/* Opens (creating if needed) the environment and its databases. */
int dd_store_open(dd_store **out, const dd_store_opts *opts, dd_error *err);
void dd_store_close(dd_store *store);

/* ---- reads ---------------------------------------------------------------- */

/* A read transaction handle owned by one thread and reused across requests:
 * dd_rtxn_new once, then dd_rtxn_begin/dd_rtxn_end around every request
 * (mdb_txn_renew/mdb_txn_reset underneath; MDB_NOTLS). */
int dd_rtxn_new(dd_store *store, dd_rtxn **out);
void dd_rtxn_free(dd_rtxn *txn);
int dd_rtxn_begin(dd_rtxn *txn);
void dd_rtxn_end(dd_rtxn *txn);

/* DD_OK and *val, DD_ENOTFOUND, or DD_ESTORE. */
int dd_rtxn_get(dd_rtxn *txn, dd_table t, dd_val key, dd_val *val);

/* Calls fn for each record whose key starts with prefix (all records when
 * prefix.len == 0) in key order, starting at the first key >= start when
 * start.len > 0. fn returns 0 to go on, 1 to stop, or a negative dd_err that
 * dd_rtxn_scan returns. */
typedef int (*dd_scan_fn)(void *ud, dd_val key, dd_val val);
int dd_rtxn_scan(dd_rtxn *txn, dd_table t, dd_val prefix, dd_val start,
                 dd_scan_fn fn, void *ud);

/* The map: its size and the bytes of it in use (the pages up to the last
 * one written). Any thread; DD_OK or DD_ESTORE. */
int dd_store_map_use(dd_store *store, uint64_t *used, uint64_t *size);

/* The data version this read transaction sees (0 for a new store). */
uint64_t dd_rtxn_data_version(dd_rtxn *txn);
/* A uint64 kept in meta under key; 0 when absent. */
uint64_t dd_rtxn_meta_u64(dd_rtxn *txn, const char *key);

/* ---- writes --------------------------------------------------------------- */

/* A write transaction with a sticky error: after the first failure every
 * call returns that error and dd_wtxn_commit aborts (Knot's knot_lmdb_txn). */
int dd_wtxn_begin(dd_store *store, dd_wtxn **out);
int dd_wtxn_put(dd_wtxn *txn, dd_table t, dd_val key, dd_val val);
/* dd_wtxn_put of a key after every key of t (a sequence number): LMDB
 * appends it without searching the tree, and a full last page splits
 * without moving half of it. A key that is not after the last one is put
 * the ordinary way. */
int dd_wtxn_append(dd_wtxn *txn, dd_table t, dd_val key, dd_val val);
/* DD_ENOTFOUND (not sticky) when the key is absent. */
int dd_wtxn_del(dd_wtxn *txn, dd_table t, dd_val key);
int dd_wtxn_get(dd_wtxn *txn, dd_table t, dd_val key, dd_val *val);
/* Takes the oldest records of t off its front: calls fn on the first
 * record, deletes it, and again, up to max records, while fn returns 0. fn
 * returning 1 stops (that record stays); a negative dd_err stops and is
 * returned (not sticky). key and val are valid inside fn only. *taken counts
 * the records deleted. A cursor walk, no key search per record (the decision
 * log's retention and size cap). */
int dd_wtxn_take_first(dd_wtxn *txn, dd_table t, size_t max, dd_scan_fn fn, void *ud,
                       size_t *taken);
int dd_wtxn_scan(dd_wtxn *txn, dd_table t, dd_val prefix, dd_val start,
                 dd_scan_fn fn, void *ud);
uint64_t dd_wtxn_meta_u64(dd_wtxn *txn, const char *key);
/* The pages table t holds (as bytes) and its records, as txn sees them. */
int dd_wtxn_table_stat(dd_wtxn *txn, dd_table t, uint64_t *bytes, uint64_t *entries);
int dd_wtxn_set_meta_u64(dd_wtxn *txn, const char *key, uint64_t v);
/* Commits durably; advances data_version when anything was written and
 * stores the new version in *version (if not NULL). Frees txn either way.
 *
 * For a nested transaction (below) "commits" means merges into the parent:
 * no fsync, nothing visible to readers until the outermost commit, but the
 * child's own writes take data_version one step (in *version) there and then,
 * so that each child committed into one parent gets a distinct version. The
 * parent's commit then adds a step only for writes it made itself. A child
 * still open when its parent commits is aborted and the commit fails with
 * DD_EINVAL. */
int dd_wtxn_commit(dd_wtxn *txn, uint64_t *version);
/* Aborts txn and any child still open in it; frees them. */
void dd_wtxn_abort(dd_wtxn *txn);

/* Begins a transaction nested in parent (mdb_txn_begin with a parent): its
 * writes join the parent when it commits and vanish when it aborts, leaving
 * the parent as it was. It has its own sticky error, so one failed piece of
 * work can be rolled back without the rest of the parent. While it is open
 * the parent is unusable (calls on it return DD_EINVAL); end it (commit or
 * abort) on the parent's thread before the parent. Fails with the parent's
 * sticky error, DD_EINVAL when the parent already has an open child. */
int dd_wtxn_begin_child(dd_wtxn *parent, dd_wtxn **out);

/* The store's dd_store_opts.price_history_days (the default when 0). */
int64_t dd_wtxn_price_history_days(const dd_wtxn *txn);

/* A scratch copy of src's data (every table but the journal's) in a new
 * store at dir (no fsync): what-if analyses write to it, never to src. */
int dd_store_clone_data(dd_store *src, const char *dir, dd_store **out, dd_error *err);

/* Online consistent copy to an empty directory (mdb_env_copy2, compacting). */
int dd_store_backup(dd_store *store, const char *dir, dd_error *err);

/* What a backup holds, read back from the copy. */
typedef struct dd_backup_info {
	char file[600];               /* dir/data.mdb */
	uint64_t bytes;               /* its size */
	uint64_t data_version;        /* the version the copy holds */
	uint64_t records[DD_T__COUNT]; /* entries per table (dd_store_table_name) */
} dd_backup_info;

/* dd_store_backup, then (info not NULL) opens the copy read-only, without a
 * lock file, and fills info. DD_EEXIST: dir holds files; DD_EFULL: the disk
 * of dir filled up (err says so). */
int dd_store_backup_info(dd_store *store, const char *dir, dd_backup_info *info,
                         dd_error *err);

/* The on-disk name of table t ("orders"). */
const char *dd_store_table_name(dd_table t);

/* Why a write failed with DD_EFULL and what to do, in buf: "store map full
 * (map size N MiB, ...): raise --map-size and restart dealdeskd" or "disk
 * full: the store DIR could not be written (No space left on device); free
 * space ...". Returns buf. */
const char *dd_store_full_message(dd_store *store, char *buf, size_t size);

/* ---- keys ----------------------------------------------------------------- */

/* Builds "a \0 b \0 c" (nparts strings) into buf; returns the length or
 * DD_EINVAL when it would exceed size or DD_STORE_MAX_KEY. */
int dd_key_join(char *buf, size_t size, int nparts, ...);
/* Policy key: kind byte then version as 8 bytes big-endian (9 bytes). */
void dd_key_policy(unsigned char out[9], int kind, uint64_t version);

#endif
