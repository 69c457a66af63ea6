/* dealdesk quote: the quoter's private state, shared by src/quote/ only. */
#ifndef DD_QUOTE_QUOTER_H
#define DD_QUOTE_QUOTER_H

#include <stdarg.h>
#include <stdio.h>

#include <lauxlib.h>
#include <lua.h>

#include "dealdesk/admin.h"
#include "dealdesk/quote.h"
#include "promoindex.h"

/* What the quote path needs of a promotion without going to Lua. */
typedef struct promo_meta {
	char *id;
	int has_budget;
	/* what decides, from data alone, that it cannot be in force */
	int enabled, needs_coupon;
	int64_t valid_from, valid_to;
	char currency[4];   /* "" = any */
	char **channels;    /* NULL = any; strdup'ed, n_channels entries */
	size_t n_channels;
} promo_meta;

struct dd_quoter {
	dd_store *store;
	dd_rtxn *txn;
	dd_sandbox *sb;
	lua_State *L;
	dd_quote_limits lim;
	struct {
		uint64_t version; /* loaded version, 0 = none */
		int ref;          /* the script in the sandbox */
	} policy[5];
	uint64_t promos_version, checks_version;
	int promos_loaded, checks_loaded;
	int promos_ref, checks_ref; /* Lua arrays in the registry */
	promo_index *pindex;        /* candidates by SKU, category, id, code */
	promo_meta *pmeta;          /* parallel to the promotions array */
	size_t npromos;
	int *cond_refs;             /* sandbox scripts of promotion conditions */
	size_t ncond;
	/* per request */
	dd_arena *arena;
	int explain;
	Dealdesk__V1__TraceEntry **trace;
	size_t ntrace, captrace;
	uint64_t rng[2];
};

void quote_trace(dd_quoter *q, const char *stage, const char *rule, int applied,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void quote_decision_id(dd_quoter *q, char out[33]);
/* Makes sure the active version of kind is compiled in the sandbox. */
int quote_policy(dd_quoter *q, int kind, dd_error *err);
/* Makes sure the Lua copies of promotions and checks are current. */
int quote_refresh_data(dd_quoter *q, dd_error *err);

#endif
