/* dealdesk quote: the quoter (one per thread, long-lived), private to
 * src/quote. Per-request state never lives here: it is in the quote_run of
 * order.h, which the quoter points at only while an evaluation runs. */
#ifndef DD_QUOTE_QUOTER_H
#define DD_QUOTE_QUOTER_H

#include <lua.h>

#include "dealdesk/model.h"
#include "dealdesk/quote.h"
#include "order.h"
#include "policy/host.h"
#include "index.h"

/* A frozen promotion or check table's address and its slot. */
typedef struct qp_table_slot {
	const void *table;
	size_t slot;
} qp_table_slot;

/* A promotion as the engine keeps it between quotes: the record (in the
 * quoter's data arena) and what the quote path needs of it at once. */
typedef struct qp_promo {
	const Dealdesk__V1__Promotion *p;
	int has_budget;
	int needs_coupon;
} qp_promo;

/* The active policy of one kind, compiled. */
typedef struct qp_policy {
	uint64_t version; /* 0 = none loaded */
	int script;       /* the sandbox script */
	int entry;        /* registry ref of its entry function */
} qp_policy;

struct dd_quoter {
	dd_store *store;
	dd_rtxn *txn;
	dd_sandbox *sb;
	lua_State *L;
	dd_quote_limits lim;
	qp_policy policy[DD_POLICY_KIND_COUNT];
	uint64_t pin[DD_POLICY_KIND_COUNT]; /* replay: this version, not the active one (pinned.c) */

	/* promotions and checks, converted once per change */
	uint64_t promos_version, checks_version;
	int promos_loaded, checks_loaded;
	dd_arena promo_arena, check_arena;
	qp_promo *promos;
	size_t npromos;
	int promos_ref;       /* Lua array of frozen promotion tables */
	int *cond_refs;       /* sandbox scripts of promotion conditions */
	size_t ncond;
	quote_index *pindex;  /* candidates by SKU, category, id, code */
	const Dealdesk__V1__ComplianceCheck **checks;
	size_t nchecks;
	int checks_ref;
	/* the frozen tables by address, sorted: how a primitive finds the
	 * record of the table it was given (quote_table_slot) */
	struct qp_table_slot *promo_tables, *check_tables;
	/* the last table found, per kind: a policy hands the same promotion
	 * to in_force, effect and commit in a row */
	const void *last_table[2];
	ptrdiff_t last_slot[2];
	/* the credit tier table (tiers.c), sorted for matching */
	uint64_t tiers_version;
	int tiers_loaded;
	dd_arena tier_arena;
	const Dealdesk__V1__CreditTier **tiers;
	size_t ntiers;

	/* the Lua view (view.c): proxies passed to policies, the tables
	 * behind them, reused from quote to quote */
	int ctx_view, credit_view, promos_view, checks_view;
	int ctx_raw, customer_raw, profile_raw, lines_raw, line_raws, line_proxies, credit_raw;
	int view_keys, view_ended, cands_raw;
	uint32_t *cand_slots;   /* the slot each entry of cands_raw holds */
	size_t cand_cap, view_cands;
	uint64_t cand_version;  /* the promotions those slots belong to */
	int cand_loaded;
	size_t created_lines; /* line tables made so far */
	struct qv_shadows *shadows; /* what the tables hold (view.c) */
	size_t view_lines; /* lines the view holds now */

	int current;               /* policies and data are those of ... */
	uint64_t current_version;  /* ... this data version */
	struct qr_cache *records; /* unpacked records by their bytes (records.c) */
	struct qp_cache *prices;  /* a SKU's price entries and signals (prices.c) */
	quote_run *run;       /* the evaluation running now, or NULL */
	uint64_t generation;  /* bumped after every evaluation */
	uint64_t rng[2];
};

/* pipeline.c: a run over req (stages load..respond, inside a read
 * transaction the caller began); the commit path shares them. */
int quote_init_run(quote_run *r, dd_quoter *q, const Dealdesk__V1__QuoteRequest *req,
                   int64_t now, dd_arena *arena, dd_error *err);
int quote_run_stages(quote_run *r, Dealdesk__V1__QuoteResponse **out);

void quote_decision_id(dd_quoter *q, char out[33]);
/* FNV-1a 64 with the published offset basis and prime (dd.bucket and
 * experiment arms). */
uint64_t quote_fnv1a64(const void *data, size_t len);
/* Makes sure the active version of kind is compiled in the sandbox. */
int quote_policy(dd_quoter *q, dd_policy_kind kind, dd_error *err);
/* Drops the promotions (their conditions, index and records). */
void quote_free_promotions(dd_quoter *q);
/* The slot of the frozen promotion (promotions != 0) or check table at
 * stack index idx, found by the table's identity: a table a script made
 * is none, whatever it holds. -1 when it is none. */
ptrdiff_t quote_table_slot(dd_quoter *q, int promotions, lua_State *L, int idx);
/* Makes sure promotions and checks are current. */
int quote_refresh_data(dd_quoter *q, dd_error *err);
/* Calls the entry function of the policy of kind with the views on the
 * stack (nargs of them, pushed by the caller), leaving 1 result. */
int quote_call_policy(quote_run *r, dd_policy_kind kind, int nargs);
/* Logs a policy failure and rewrites r->err to name the policy version. */
int quote_policy_fail(quote_run *r, dd_policy_kind kind, const char *what);

/* records.c: the record LMDB returned as v, unpacked; owned by the cache
 * (or the run's arena) and valid until the run ends. NULL if corrupt. */
const ProtobufCMessage *quote_record(quote_run *r, const ProtobufCMessageDescriptor *d,
                                     dd_val v);
void quote_records_free(dd_quoter *q);
/* prices.c: the price entries and signals kept per SKU (prices.h) */
void quote_prices_free(dd_quoter *q);

/* view.c: the Lua view of the order state */
int quote_views_create(dd_quoter *q);
/* Refreshes the view from the run's state: QV_ORDER the request, customer
 * and profile; QV_LINES every field of every line; QV_AMOUNTS the amounts
 * of lines and order; QV_CREDIT the credit policy's argument. */
enum { QV_ORDER = 1, QV_LINES = 2, QV_AMOUNTS = 4, QV_CREDIT = 8, QV_CANDIDATES = 16 };
int quote_view_sync(quote_run *r, int what);
void quote_views_free(dd_quoter *q);

/* commit.c: "cust \0 t (8 bytes BE) \0 id", the keys of open_items (by due
 * date) and open_orders (by delivery date); -1 when it does not fit. */
int quote_order_dated_key(char *key, const char *cust, int64_t t, const char *id);

/* tiers.c: the credit tier table, current as of the read transaction */
int quote_refresh_tiers(dd_quoter *q, dd_error *err);
void quote_tiers_free(dd_quoter *q);
/* The tier of profile c (NULL when none applies); *from says how it was
 * found: "score", "profile" or "default". The built-in table applies when
 * none is stored. */
const Dealdesk__V1__CreditTier *quote_credit_tier(const dd_quoter *q,
                                                  const Dealdesk__V1__CreditProfile *c,
                                                  const char **from);

/* mechanics.c: promotion primitives registered in `dd` */
void quote_mechanics_register(dd_quoter *q);
/* comply.c: compliance primitives */
void quote_checks_register(dd_quoter *q);

#endif
