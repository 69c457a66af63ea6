/* dealdesk journal: the hash-chained audit log (include/dealdesk/journal.h).
 *
 * Stored as
 *   audit    seq (8 bytes BE) -> SHA-256(body) (32 bytes) + body
 *   journal  "audit_head"      -> seq (8 bytes BE) + SHA-256 of that entry
 * where body is the packed AuditEntry without its hash field; body holds
 * prev_hash, the stored hash of entry seq-1 (zeros for the first). The hash
 * is taken over the stored bytes, never over a re-packing, so verify checks
 * exactly what is on disk.
 *
 * What verify finds: an entry whose bytes were edited (its hash no longer
 * matches its body), one edited with its hash recomputed (the next entry's
 * prev_hash, or the head, no longer matches), a removed entry (a gap in the
 * sequence, or a head past the last entry), and an entry moved to another
 * key. What it cannot find is a rewrite of the whole chain from some entry
 * on together with the head: for that, keep head_hash (printed by
 * `dealdesk audit verify`) outside the store and compare.
 */
#include "journal_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#define AUDIT_HEAD_KEY "audit_head"
#define AUDIT_LIST_DEFAULT 100
#define AUDIT_LIST_MAX 1000
/* Problems reported by one verify at most (the count is still exact). */
#define AUDIT_MAX_PROBLEMS 1000

void journal_sha256(const void *data, size_t len, unsigned char out[32])
{
	unsigned int n = 32;
	EVP_Digest(data, len, out, &n, EVP_sha256(), NULL);
}

void journal_be64(unsigned char b[8], uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		b[i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
}

uint64_t journal_load_be64(const unsigned char b[8])
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | b[i];
	return v;
}

int64_t journal_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static const dd_val head_key = { AUDIT_HEAD_KEY, sizeof(AUDIT_HEAD_KEY) - 1 };

/* ---- append (writer thread) ------------------------------------------------- */

int dd_audit_append(dd_wtxn *txn, const dd_audit_note *note, void *ud, dd_error *err)
{
	(void)ud;
	uint64_t seq = 0;
	unsigned char prev[32] = { 0 };
	dd_val v;
	int rc = dd_wtxn_get(txn, DD_T_JOURNAL, head_key, &v);
	if (rc == DD_OK && v.len == 40) {
		seq = journal_load_be64(v.data);
		memcpy(prev, (const unsigned char *)v.data + 8, 32);
	} else if (rc == DD_OK || rc != DD_ENOTFOUND) {
		return dd_error_set(err, DD_ESTORE, "audit: the head of the log is unreadable");
	}
	seq++;
	Dealdesk__V1__AuditEntry e = DEALDESK__V1__AUDIT_ENTRY__INIT;
	e.seq = seq;
	e.time = journal_now_ns();
	e.principal = (char *)(note->principal ? note->principal : "");
	e.role = (char *)(note->role ? note->role : "");
	e.method = (char *)(note->method ? note->method : "");
	e.key = (char *)(note->key ? note->key : "");
	e.value_sha256.data = (uint8_t *)note->value_sha256;
	e.value_sha256.len = 32;
	e.prev_hash.data = prev;
	e.prev_hash.len = 32;
	size_t len = protobuf_c_message_get_packed_size(&e.base);
	unsigned char stack[1024];
	unsigned char *buf = len + 32 <= sizeof(stack) ? stack : malloc(len + 32);
	if (buf == NULL)
		return dd_error_set(err, DD_ENOMEM, "audit: out of memory");
	protobuf_c_message_pack(&e.base, buf + 32);
	journal_sha256(buf + 32, len, buf);
	unsigned char key[8], head[40];
	journal_be64(key, seq);
	memcpy(head, key, 8);
	memcpy(head + 8, buf, 32);
	rc = dd_wtxn_put(txn, DD_T_AUDIT, (dd_val){ key, 8 }, (dd_val){ buf, len + 32 });
	if (rc == DD_OK)
		rc = dd_wtxn_put(txn, DD_T_JOURNAL, head_key, (dd_val){ head, 40 });
	if (buf != stack)
		free(buf);
	if (rc != DD_OK)
		return dd_error_set(err, rc, "audit: cannot append entry %llu: %s",
		                    (unsigned long long)seq, dd_strerror(rc));
	return DD_OK;
}

/* ---- list ------------------------------------------------------------------ */

typedef struct list_ctx {
	dd_arena *arena;
	Dealdesk__V1__AuditEntry **items;
	size_t n, limit;
	uint64_t last;
	int more;
	int rc;
} list_ctx;

/* Unpacks a stored entry into arena (hash set from the stored bytes); NULL
 * when the bytes are not one. */
static Dealdesk__V1__AuditEntry *unpack_entry(dd_arena *a, dd_val v)
{
	if (v.len < 32)
		return NULL;
	Dealdesk__V1__AuditEntry *e = (void *)protobuf_c_message_unpack(
		&dealdesk__v1__audit_entry__descriptor, &a->pb, v.len - 32,
		(const uint8_t *)v.data + 32);
	if (e == NULL)
		return NULL;
	uint8_t *h = dd_arena_alloc(a, 32);
	if (h == NULL)
		return NULL;
	memcpy(h, v.data, 32);
	e->hash.data = h;
	e->hash.len = 32;
	return e;
}

static int list_one(void *ud, dd_val key, dd_val val)
{
	list_ctx *c = ud;
	if (c->n == c->limit) {
		c->more = 1;
		return 1;
	}
	Dealdesk__V1__AuditEntry *e = unpack_entry(c->arena, val);
	if (e == NULL) {
		/* shown as it is: verify says what is wrong with it */
		e = dd_arena_alloc(c->arena, sizeof(*e));
		if (e == NULL) {
			c->rc = DD_ENOMEM;
			return DD_ENOMEM;
		}
		dealdesk__v1__audit_entry__init(e);
		e->seq = key.len == 8 ? journal_load_be64(key.data) : 0;
		e->method = (char *)"(undecodable)";
	}
	c->items[c->n++] = e;
	c->last = key.len == 8 ? journal_load_be64(key.data) : c->last;
	return 0;
}

int dd_audit_list(dd_store *store, uint64_t after_seq, uint32_t limit, dd_arena *arena,
                  Dealdesk__V1__AuditEntry ***out, size_t *n, uint64_t *next,
                  dd_error *err)
{
	list_ctx c = { .arena = arena, .limit = limit == 0 ? AUDIT_LIST_DEFAULT : limit };
	if (c.limit > AUDIT_LIST_MAX)
		return dd_error_set(err, DD_EINVAL, "limit: %u is above the most, %d", limit,
		                    AUDIT_LIST_MAX);
	c.items = dd_arena_calloc(arena, c.limit, sizeof(*c.items));
	if (c.items == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	if (after_seq == UINT64_MAX) { /* nothing comes after it */
		*out = c.items;
		*n = 0;
		*next = 0;
		return DD_OK;
	}
	unsigned char start[8];
	journal_be64(start, after_seq + 1);
	dd_rtxn *t = NULL;
	if (dd_rtxn_new(store, &t) != DD_OK || dd_rtxn_begin(t) != DD_OK) {
		if (t)
			dd_rtxn_free(t);
		return dd_error_set(err, DD_ESTORE, "store: cannot begin a read");
	}
	int rc = dd_rtxn_scan(t, DD_T_AUDIT, (dd_val){ NULL, 0 }, (dd_val){ start, 8 }, list_one, &c);
	dd_rtxn_end(t);
	dd_rtxn_free(t);
	if (rc != DD_OK || c.rc != DD_OK)
		return dd_error_set(err, rc != DD_OK ? rc : c.rc, "audit: cannot list: %s",
		                    dd_strerror(rc != DD_OK ? rc : c.rc));
	*out = c.items;
	*n = c.n;
	*next = c.more ? c.last : 0;
	return DD_OK;
}

/* ---- verify ------------------------------------------------------------------ */

typedef struct verify_ctx {
	dd_arena *arena;
	Dealdesk__V1__VerifyAuditResponse *r;
	size_t cap;
	uint64_t expect;         /* the next seq */
	unsigned char prev[32];  /* stored hash of the last entry read */
	int prev_flagged;        /* the last entry read is already named */
	uint64_t prev_seq;
	uint64_t entries;
	int rc;
} verify_ctx;

static void problem(verify_ctx *c, uint64_t seq, const char *what, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void problem(verify_ctx *c, uint64_t seq, const char *what, const char *fmt, ...)
{
	c->r->ok = 0;
	if (c->r->n_problems >= c->cap)
		return;
	Dealdesk__V1__AuditProblem *p = dd_arena_alloc(c->arena, sizeof(*p));
	char detail[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	char *d = dd_arena_strdup(c->arena, detail);
	if (p == NULL || d == NULL) {
		c->rc = DD_ENOMEM;
		return;
	}
	dealdesk__v1__audit_problem__init(p);
	p->seq = seq;
	p->problem = (char *)what;
	p->detail = d;
	c->r->problems[c->r->n_problems++] = p;
}

static void missing(verify_ctx *c, uint64_t from, uint64_t to, const char *why)
{
	for (uint64_t s = from; s < to && c->r->n_problems < c->cap; s++)
		problem(c, s, "removed", "entry %llu is missing: %s", (unsigned long long)s, why);
	if (to > from)
		c->r->ok = 0;
}

static int verify_one(void *ud, dd_val key, dd_val val)
{
	verify_ctx *c = ud;
	c->entries++;
	if (key.len != 8) {
		problem(c, 0, "foreign", "a key of %zu bytes is not an entry", key.len);
		return 0;
	}
	uint64_t seq = journal_load_be64(key.data);
	if (seq > c->expect)
		missing(c, c->expect, seq, "the sequence jumps over it");
	int gap = seq != c->expect;
	unsigned char h[32];
	int flagged = 0;
	Dealdesk__V1__AuditEntry *e = NULL;
	if (val.len < 32) {
		problem(c, seq, "altered", "entry %llu is %zu bytes, shorter than its hash",
		        (unsigned long long)seq, val.len);
		flagged = 1;
	} else {
		journal_sha256((const unsigned char *)val.data + 32, val.len - 32, h);
		if (memcmp(h, val.data, 32) != 0) {
			problem(c, seq, "altered",
			        "entry %llu: its content no longer matches its hash",
			        (unsigned long long)seq);
			flagged = 1;
		}
		e = unpack_entry(c->arena, val);
		if (e == NULL && !flagged) {
			problem(c, seq, "undecodable", "entry %llu cannot be decoded",
			        (unsigned long long)seq);
			flagged = 1;
		}
	}
	if (e != NULL && !flagged && e->seq != seq) {
		problem(c, seq, "moved", "entry stored under %llu says it is entry %llu",
		        (unsigned long long)seq, (unsigned long long)e->seq);
		flagged = 1;
	}
	/* The link to the entry before: when it does not hold and this entry is
	 * intact, the one before was changed (and its hash recomputed). */
	if (e != NULL && !gap && (e->prev_hash.len != 32 || memcmp(e->prev_hash.data, c->prev, 32) != 0)
	    && !flagged) {
		if (c->prev_seq > 0 && !c->prev_flagged)
			problem(c, c->prev_seq, "altered",
			        "entry %llu was rewritten: entry %llu recorded another hash for it",
			        (unsigned long long)c->prev_seq, (unsigned long long)seq);
		else if (c->prev_seq == 0)
			problem(c, seq, "altered", "entry %llu: the first entry must follow no other",
			        (unsigned long long)seq);
	}
	if (val.len >= 32)
		memcpy(c->prev, val.data, 32);
	c->prev_flagged = flagged;
	c->prev_seq = seq;
	c->expect = seq + 1;
	return c->rc == DD_OK ? 0 : c->rc;
}

int dd_audit_verify(dd_store *store, dd_arena *arena, Dealdesk__V1__VerifyAuditResponse **out,
                    dd_error *err)
{
	Dealdesk__V1__VerifyAuditResponse *r = dd_arena_alloc(arena, sizeof(*r));
	verify_ctx c = { .arena = arena, .r = r, .cap = AUDIT_MAX_PROBLEMS, .expect = 1 };
	if (r == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	dealdesk__v1__verify_audit_response__init(r);
	r->ok = 1;
	r->problems = dd_arena_calloc(arena, c.cap, sizeof(*r->problems));
	if (r->problems == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	dd_rtxn *t = NULL;
	if (dd_rtxn_new(store, &t) != DD_OK || dd_rtxn_begin(t) != DD_OK) {
		if (t)
			dd_rtxn_free(t);
		return dd_error_set(err, DD_ESTORE, "store: cannot begin a read");
	}
	uint64_t head_seq = 0;
	unsigned char head_hash[32] = { 0 };
	dd_val hv;
	int have_head = dd_rtxn_get(t, DD_T_JOURNAL, head_key, &hv) == DD_OK;
	if (have_head && hv.len == 40) {
		head_seq = journal_load_be64(hv.data);
		memcpy(head_hash, (const unsigned char *)hv.data + 8, 32);
	} else if (have_head) {
		problem(&c, 0, "head", "the stored head is %zu bytes, not 40", hv.len);
		have_head = 0;
	}
	int rc = dd_rtxn_scan(t, DD_T_AUDIT, (dd_val){ NULL, 0 }, (dd_val){ NULL, 0 }, verify_one, &c);
	dd_rtxn_end(t);
	dd_rtxn_free(t);
	if (rc != DD_OK)
		return dd_error_set(err, rc, "audit: cannot read the log: %s", dd_strerror(rc));
	uint64_t last = c.prev_seq;
	if (!have_head && c.entries > 0)
		problem(&c, 0, "head", "the log has entries but no stored head");
	if (have_head && head_seq > last)
		missing(&c, last + 1, head_seq + 1, "the head names a later entry");
	else if (have_head && head_seq < last)
		problem(&c, last, "appended", "entries after %llu are not in the head",
		        (unsigned long long)head_seq);
	else if (have_head && last > 0 && memcmp(head_hash, c.prev, 32) != 0 && !c.prev_flagged)
		problem(&c, last, "altered", "entry %llu was rewritten: the head records another hash",
		        (unsigned long long)last);
	if (c.rc != DD_OK)
		return dd_error_set(err, c.rc, "out of memory");
	r->entries = c.entries;
	r->head_seq = head_seq;
	uint8_t *hh = dd_arena_alloc(arena, 32);
	if (hh == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	memcpy(hh, head_hash, 32);
	r->head_hash.data = hh;
	r->head_hash.len = have_head ? 32 : 0;
	*out = r;
	return DD_OK;
}
