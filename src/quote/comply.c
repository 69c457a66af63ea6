/* dealdesk quote, stage 6: compliance. The compliance policy's
 * check(ctx, checks) runs the checks compliance officers keep. The
 * standard kinds are host primitives over the priced order:
 *
 *   dd.check_min_margin(c)   every line's total >= its cost x (1 + bps);
 *                            a line of unknown cost (0) gives WARN
 *   dd.check_max_discount(c) every line's reduction from its list amount,
 *                            and the order's, at most bps
 *   dd.check_pass(c)         records that check c passed
 *
 * each adding its results to the order and returning whether it found a
 * problem. The policy may also return an array of results of its own
 * ({check=, status=, message=, line=, value=, limit=}). A failing or
 * malformed policy gives BLOCK (fail-safe). */
#include "quoter.h"

#include <stdio.h>
#include <string.h>

#include <lauxlib.h>

#include "claims.h"
#include "readers.h"

static const char *const status_names[] = { "UNSPECIFIED", "PASS", "WARN", "BLOCK", NULL };

static int add_result(quote_run *r, const char *check, int status, int32_t line,
                      int64_t value, int64_t limit, const char *message)
{
	if (r->order.compliance.n >= QO_MAX_RESULTS)
		return DD_OK;
	qo_result *c = QO_PUSH(r->arena, &r->order.compliance);
	if (c == NULL || message == NULL)
		return DD_ENOMEM;
	memset(c, 0, sizeof(*c));
	c->check_id = check;
	c->status = status;
	c->line_no = line;
	c->value = value;
	c->limit = limit;
	c->message = message;
	return DD_OK;
}

/* ---- the standard checks ---------------------------------------------------- */

typedef struct chk {
	lua_State *L;
	quote_run *r;
	const Dealdesk__V1__ComplianceCheck *c;
	int fail_status;
} chk;

static void begin(chk *k, lua_State *L)
{
	dd_quoter *q = lua_touserdata(L, lua_upvalueindex(1));
	if (q->run == NULL || q->run->stage != QS_COMPLY)
		luaL_error(L, "check primitives work only in the compliance policy");
	luaL_checktype(L, 1, LUA_TTABLE);
	ptrdiff_t slot = quote_table_slot(q, 0, L, 1);
	if (slot < 0)
		luaL_error(L, "argument #1 must be a compliance check (one of the checks "
		              "the policy was given)");
	k->L = L;
	k->r = q->run;
	k->c = q->checks[slot];
	/* a check without a valid on_fail blocks: never a silent pass */
	k->fail_status = k->c->on_fail == DEALDESK__V1__COMPLIANCE_STATUS__COMPLIANCE_STATUS_WARN
	                         ? k->c->on_fail
	                         : DEALDESK__V1__COMPLIANCE_STATUS__COMPLIANCE_STATUS_BLOCK;
	dd_sandbox_charge(L, 10 + 4 * q->run->order.nlines);
}

static int applies(const chk *k, const qo_line *l)
{
	if (l->gift) /* free by design: not checked */
		return 0;
	if (k->c->n_customer_tiers > 0) { /* a limit for some customer tiers only */
		const Dealdesk__V1__Customer *cu = k->r->order.customer;
		if (cu == NULL || cu->loyalty_tier == NULL ||
		    !quote_in_list(k->c->customer_tiers, k->c->n_customer_tiers, cu->loyalty_tier))
			return 0;
	}
	if (k->c->n_skus == 0)
		return 1;
	for (size_t i = 0; i < k->c->n_skus; i++)
		if (strcmp(k->c->skus[i], l->sku) == 0)
			return 1;
	return 0;
}

static const char *money(const chk *k, int64_t v, char buf[48])
{
	return quote_money(&k->r->order, v, buf);
}

/* "12.34%" from basis points, negative ones too ("-1.50%") */
static const char *pct(int64_t bps, char buf[32])
{
	uint64_t a = bps < 0 ? (uint64_t)0 - (uint64_t)bps : (uint64_t)bps;
	snprintf(buf, 32, "%s%llu.%02llu%%", bps < 0 ? "-" : "", (unsigned long long)(a / 100),
	         (unsigned long long)(a % 100));
	return buf;
}

static void result(chk *k, int status, int32_t line, int64_t value, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static void result(chk *k, int status, int32_t line, int64_t value, const char *fmt, ...)
{
	char msg[QO_MAX_TEXT];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (add_result(k->r, k->c->id, status, line, value, k->c->bps,
	               quote_text(k->r->arena, msg, strlen(msg), QO_MAX_TEXT)) != DD_OK)
		luaL_error(k->L, "out of memory");
}

static int muldiv(chk *k, int64_t a, int64_t b, int64_t d, dd_rounding mode, int64_t *out)
{
	if (dd_money_muldiv(a, b, d, mode, out) != DD_OK)
		luaL_error(k->L, "check %s: amount overflows int64", k->c->id);
	return 1;
}

static int lua_min_margin(lua_State *L)
{
	chk k;
	begin(&k, L);
	const qo_order *o = &k.r->order;
	int failed = 0;
	char b1[48], b2[48], b3[48], p1[32], p2[32];
	for (size_t i = 0; i < o->nlines; i++) {
		const qo_line *l = &o->lines[i];
		if (!applies(&k, l))
			continue;
		if (l->price->unit_cost == 0) {
			result(&k, DEALDESK__V1__COMPLIANCE_STATUS__COMPLIANCE_STATUS_WARN, (int32_t)i, 0,
			       "line %zu %s: unit cost unknown, margin not checked", i, l->sku);
			failed = 1;
			continue;
		}
		int64_t cost, floor, margin, total = qo_line_total(l);
		if (dd_money_mul(l->price->unit_cost, l->quantity, &cost) != DD_OK)
			return luaL_error(L, "check %s: amount overflows int64", k.c->id);
		muldiv(&k, cost, 10000 + (int64_t)k.c->bps, 10000, DD_ROUND_UP, &floor);
		if (total >= floor)
			continue;
		/* margin over cost in bps, rounded down (never flattering) */
		muldiv(&k, total - cost, 10000, cost, DD_ROUND_DOWN, &margin);
		result(&k, k.fail_status, (int32_t)i, margin,
		       "line %zu %s: total %s is below cost %s plus %s (%s); margin %s", i, l->sku,
		       money(&k, total, b1), money(&k, cost, b2), pct(k.c->bps, p1),
		       money(&k, floor, b3), pct(margin, p2));
		failed = 1;
	}
	lua_pushboolean(L, failed);
	return 1;
}

/* ceil((list - paid) * 10000 / list): 30.001 % counts as more than 30 % */
static int64_t discount_bps(chk *k, int64_t list, int64_t paid)
{
	if (list <= 0 || paid >= list)
		return 0;
	int64_t v;
	muldiv(k, list - paid, 10000, list, DD_ROUND_UP, &v);
	return v;
}

static int lua_max_discount(lua_State *L)
{
	chk k;
	begin(&k, L);
	const qo_order *o = &k.r->order;
	int failed = 0;
	int64_t list_total = 0, paid_total = 0;
	char b1[48], p1[32], p2[32];
	for (size_t i = 0; i < o->nlines; i++) {
		const qo_line *l = &o->lines[i];
		if (!applies(&k, l))
			continue;
		if (dd_money_add(list_total, l->list_subtotal, &list_total) != DD_OK ||
		    dd_money_add(paid_total, qo_line_total(l), &paid_total) != DD_OK)
			return luaL_error(L, "check %s: amount overflows int64", k.c->id);
		int64_t d = discount_bps(&k, l->list_subtotal, qo_line_total(l));
		if (d > k.c->bps) {
			result(&k, k.fail_status, (int32_t)i, d,
			       "line %zu %s: discount %s from list %s exceeds %s", i, l->sku, pct(d, p1),
			       money(&k, l->list_subtotal, b1), pct(k.c->bps, p2));
			failed = 1;
		}
	}
	int64_t d = discount_bps(&k, list_total, paid_total);
	if (d > k.c->bps) {
		result(&k, k.fail_status, -1, d, "order discount %s exceeds %s", pct(d, p1),
		       pct(k.c->bps, p2));
		failed = 1;
	}
	lua_pushboolean(L, failed);
	return 1;
}

static int lua_pass(lua_State *L)
{
	chk k;
	begin(&k, L);
	if (add_result(k.r, k.c->id, DEALDESK__V1__COMPLIANCE_STATUS__COMPLIANCE_STATUS_PASS, -1, 0,
	               k.c->bps, k.c->description) != DD_OK)
		return luaL_error(L, "out of memory");
	return 0;
}

void quote_checks_register(dd_quoter *q)
{
	dd_sandbox_register(q->sb, "check_min_margin", lua_min_margin, q);
	dd_sandbox_register(q->sb, "check_max_discount", lua_max_discount, q);
	dd_sandbox_register(q->sb, "check_pass", lua_pass, q);
	quote_claims_register(q);
}

/* ---- the stage ------------------------------------------------------------------ */

static void failsafe(quote_run *r, const char *why)
{
	r->order.compliance.n = 0;
	const char *msg = dd_arena_printf(r->arena, "the compliance policy failed: %s", why);
	add_result(r, "policy-error", DEALDESK__V1__COMPLIANCE_STATUS__COMPLIANCE_STATUS_BLOCK, -1,
	           0, 0, msg ? msg : "the compliance policy failed");
	quote_trace(r, "compliance", "fail-safe", 1, "BLOCK because the compliance policy failed");
}

typedef struct result_answer {
	const char *check, *message, *promotion;
	int status;
	int64_t line, value, limit;
} result_answer;

#define MAX_EVIDENCE_IDS 8

/* evidence = id or { id, ... }: the history reads (claims.c) the result
 * cites; NULL/absent = none. 0 when malformed. */
static int read_evidence(lua_State *L, int idx, int64_t ids[MAX_EVIDENCE_IDS], size_t *n)
{
	*n = 0;
	int t = quote_raw(L, idx, "evidence");
	if (t == LUA_TNIL) {
		lua_pop(L, 1);
		return 1;
	}
	if (t == LUA_TNUMBER && lua_isinteger(L, -1)) {
		ids[(*n)++] = lua_tointeger(L, -1);
		lua_pop(L, 1);
		return 1;
	}
	if (t != LUA_TTABLE || lua_rawlen(L, -1) > MAX_EVIDENCE_IDS) {
		lua_pop(L, 1);
		return 0;
	}
	size_t len = lua_rawlen(L, -1);
	for (size_t i = 0; i < len; i++) {
		lua_rawgeti(L, -1, (lua_Integer)i + 1);
		int ok = lua_isinteger(L, -1);
		ids[(*n)++] = ok ? lua_tointeger(L, -1) : 0;
		lua_pop(L, 1);
		if (!ok) {
			lua_pop(L, 1);
			return 0;
		}
	}
	lua_pop(L, 1);
	return 1;
}

static int read_results(lua_State *L, void *ud)
{
	quote_run *r = ud;
	if (lua_type(L, 1) == LUA_TNIL)
		return DD_OK;
	if (lua_type(L, 1) != LUA_TTABLE)
		return DD_EPOLICY;
	size_t n = lua_rawlen(L, 1);
	if (n > QO_MAX_RESULTS)
		return DD_EPOLICY;
	const quote_field fields[] = {
		{ "check", QF_STRING, offsetof(result_answer, check), 1, 0, DD_MAX_ID, 0, NULL, NULL },
		{ "status", QF_ENUM, offsetof(result_answer, status), 1, 0, 0, 0, NULL, status_names },
		{ "message", QF_TEXT, offsetof(result_answer, message), 0, 0, QO_MAX_TEXT, 0, "",
		  NULL },
		{ "line", QF_INT, offsetof(result_answer, line), 0, -1, (int64_t)r->order.nlines - 1,
		  -1, NULL, NULL },
		{ "value", QF_INT, offsetof(result_answer, value), 0, INT64_MIN, INT64_MAX, 0, NULL,
		  NULL },
		{ "limit", QF_INT, offsetof(result_answer, limit), 0, INT64_MIN, INT64_MAX, 0, NULL,
		  NULL },
		{ "promotion", QF_STRING, offsetof(result_answer, promotion), 0, 0, DD_MAX_ID, 0, "",
		  NULL },
	};
	for (size_t i = 0; i < n; i++) {
		result_answer a;
		char why[160];
		lua_rawgeti(L, 1, (lua_Integer)i + 1);
		int64_t ids[MAX_EVIDENCE_IDS];
		size_t nids = 0;
		if (!quote_read_record(L, -1, fields, 7, &a, r->arena, why, sizeof(why)) ||
		    !read_evidence(L, -1, ids, &nids))
			return DD_EPOLICY;
		lua_pop(L, 1);
		size_t before = r->order.compliance.n;
		if (add_result(r, a.check, a.status, (int32_t)a.line, a.value, a.limit, a.message))
			return DD_ENOMEM;
		if (r->order.compliance.n == before)
			continue; /* the results are full */
		qo_result *res = &r->order.compliance.v[r->order.compliance.n - 1];
		res->promotion_id = *a.promotion ? a.promotion : NULL;
		if (nids > 0 && quote_claims_attach(r, ids, nids, res) != DD_OK)
			return DD_EPOLICY;
	}
	return DD_OK;
}

/* At authoring the policy gets, instead of the order's view, a plain
 * ctx { authoring = true, now, currency, channel = "", region = "",
 * lines = {}, attributes = {} }: there is no order yet, only the claims
 * (dd.claims()) the records being written would make. */
static int push_authoring_ctx(lua_State *L)
{
	const quote_run *r = lua_touserdata(L, 1);
	lua_createtable(L, 0, 8);
	quote_set_bool(L, "authoring", 1);
	quote_set_int(L, "now", r->order.time);
	quote_set_str(L, "currency", r->order.req->currency);
	quote_set_str(L, "channel", "");
	quote_set_str(L, "region", "");
	quote_set_int(L, "exponent", r->order.exponent);
	lua_newtable(L);
	lua_setfield(L, -2, "lines");
	lua_newtable(L);
	lua_setfield(L, -2, "attributes");
	return 1;
}

static int comply_with(quote_run *r, int authoring);

int quote_comply(quote_run *r)
{
	return comply_with(r, 0);
}

int quote_comply_authoring(quote_run *r)
{
	return comply_with(r, 1);
}

static int comply_with(quote_run *r, int authoring)
{
	dd_quoter *q = r->q;
	if (authoring) {
		lua_pushcfunction(q->L, push_authoring_ctx);
		lua_pushlightuserdata(q->L, r);
		if (lua_pcall(q->L, 1, 1, 0) != LUA_OK) {
			lua_pop(q->L, 1);
			return dd_error_set(r->err, DD_ENOMEM, "out of memory");
		}
	} else {
		lua_rawgeti(q->L, LUA_REGISTRYINDEX, q->ctx_view);
	}
	lua_rawgeti(q->L, LUA_REGISTRYINDEX, q->checks_view);
	int rc = quote_call_policy(r, DD_POLICY_COMPLIANCE, 2);
	if (rc == DD_OK) {
		rc = quote_protected(q->L, read_results, r);
		if (rc == DD_OK) {
			int worst = DEALDESK__V1__COMPLIANCE_STATUS__COMPLIANCE_STATUS_PASS;
			for (size_t i = 0; i < r->order.compliance.n; i++)
				if (r->order.compliance.v[i].status > worst)
					worst = r->order.compliance.v[i].status;
			r->order.compliance_status = worst;
			return DD_OK;
		}
		dd_error_set(r->err, DD_EPOLICY,
		             "check() must return an array of {check=, status=PASS|WARN|BLOCK, "
		             "message=, line=, value=, limit=, promotion=, evidence=}");
		quote_policy_fail(r, DD_POLICY_COMPLIANCE, "bad result; result is BLOCK");
	} else {
		quote_policy_fail(r, DD_POLICY_COMPLIANCE, "failed; result is BLOCK");
	}
	failsafe(r, r->err->msg);
	r->order.compliance_status = DEALDESK__V1__COMPLIANCE_STATUS__COMPLIANCE_STATUS_BLOCK;
	dd_error_clear(r->err);
	return DD_OK;
}
