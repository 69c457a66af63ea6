/* dealdesk journal: replay of a recorded decision, and the impact of a
 * candidate policy version over many (include/dealdesk/journal.h).
 *
 * What makes a replay byte for byte: the request is stored as answered;
 * its time is the response's request_time (a request that left it 0 was
 * priced at the server's now, which the response records); the policy
 * versions are immutable and kept, and the quoter is pinned to them
 * (dd_quote_pinned); the data is the store's at the recorded data_version.
 * The store keeps only the current data, so when data_version has moved on
 * the replay runs on the current data and says so (REPLAY_MODE_CURRENT_DATA,
 * with both versions): then a difference may come from the data. The
 * decision id is random per answer and is the one field not compared.
 *
 * A commit is replayed as the quote it committed: the order's quote is what
 * the request decided; the counters the commit then changed are data.
 * A redacted record is refused: the request as answered is not kept.
 */
#include "journal_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "dealdesk/admin.h"
#include "dealdesk/money.h"
#include "dealdesk/v1/orders.pb-c.h"

#define IMPACT_LAST_DEFAULT 1000

static int impact_run(dd_quoter *q, dd_store *store, const Dealdesk__V1__ImpactRequest *req,
                      int data, dd_arena *arena, Dealdesk__V1__ImpactReport **out, dd_error *err);
#define IMPACT_LAST_MAX 100000
#define IMPACT_EXAMPLES_DEFAULT 5
#define IMPACT_EXAMPLES_MAX 100

/* A recorded decision made ready to run again. */
typedef struct replay_input {
	Dealdesk__V1__QuoteRequest req;        /* a copy, time and order id filled */
	Dealdesk__V1__QuoteResponse *recorded; /* in the arena */
	uint64_t pin[DD_POLICY_KIND_COUNT];
} replay_input;

static int replay_prepare(const Dealdesk__V1__DecisionRecord *rec, dd_arena *a,
                          replay_input *in, dd_error *err)
{
	if (rec->n_redacted > 0)
		return dd_error_set(err, DD_EPRECOND,
		                    "decision %s was stored with %s%s redacted: the request as "
		                    "answered is not kept, so it cannot be replayed",
		                    rec->decision_id, rec->redacted[0],
		                    rec->n_redacted > 1 ? " (and more)" : "");
	const Dealdesk__V1__QuoteRequest *req = NULL;
	const char *order_id = "";
	if (rec->kind == DEALDESK__V1__DECISION_KIND__DECISION_KIND_QUOTE) {
		req = (void *)protobuf_c_message_unpack(&dealdesk__v1__quote_request__descriptor,
		                                        &a->pb, rec->request.len, rec->request.data);
		in->recorded = (void *)protobuf_c_message_unpack(
			&dealdesk__v1__quote_response__descriptor, &a->pb, rec->response.len,
			rec->response.data);
	} else if (rec->kind == DEALDESK__V1__DECISION_KIND__DECISION_KIND_COMMIT) {
		Dealdesk__V1__CommitRequest *c = (void *)protobuf_c_message_unpack(
			&dealdesk__v1__commit_request__descriptor, &a->pb, rec->request.len,
			rec->request.data);
		Dealdesk__V1__Order *o = (void *)protobuf_c_message_unpack(
			&dealdesk__v1__order__descriptor, &a->pb, rec->response.len, rec->response.data);
		req = c ? c->request : NULL;
		order_id = c ? c->order_id : "";
		in->recorded = o ? o->quote : NULL;
	}
	if (req == NULL || in->recorded == NULL)
		return dd_error_set(err, DD_ESTORE, "decision %s: its request or response is corrupt",
		                    rec->decision_id);
	in->req = *req;
	if (in->req.request_time == 0)
		in->req.request_time = in->recorded->request_time;
	if (*order_id)
		in->req.order_id = (char *)order_id;
	memset(in->pin, 0, sizeof(in->pin));
	const Dealdesk__V1__Versions *v = rec->versions ? rec->versions : in->recorded->versions;
	if (v) {
		in->pin[DD_POLICY_PRICING] = v->pricing_policy;
		in->pin[DD_POLICY_PROMOTIONS] = v->promotions_policy;
		in->pin[DD_POLICY_CREDIT] = v->credit_policy;
		in->pin[DD_POLICY_COMPLIANCE] = v->compliance_policy;
	}
	return DD_OK;
}

/* m packed in arena. */
static ProtobufCBinaryData packed(dd_arena *a, const ProtobufCMessage *m)
{
	ProtobufCBinaryData b = { 0, NULL };
	size_t len = protobuf_c_message_get_packed_size(m);
	b.data = dd_arena_alloc(a, len ? len : 1);
	if (b.data)
		b.len = protobuf_c_message_pack(m, b.data);
	return b;
}

static int same_bytes(ProtobufCBinaryData x, ProtobufCBinaryData y)
{
	return x.len == y.len && (x.len == 0 || memcmp(x.data, y.data, x.len) == 0);
}

/* The size in the message struct of one value of field f. */
static size_t value_size(const ProtobufCFieldDescriptor *f)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64: case PROTOBUF_C_TYPE_DOUBLE:
		return 8;
	case PROTOBUF_C_TYPE_BOOL: return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_STRING: case PROTOBUF_C_TYPE_MESSAGE: return sizeof(void *);
	case PROTOBUF_C_TYPE_BYTES: return sizeof(ProtobufCBinaryData);
	default: return 4;
	}
}

/* The top-level fields of two responses that differ, by name: each field is
 * copied alone into an empty message and the two packings compared. */
static void differences(dd_arena *a, const Dealdesk__V1__QuoteResponse *x,
                        const Dealdesk__V1__QuoteResponse *y, Dealdesk__V1__ReplayResult *r)
{
	const ProtobufCMessageDescriptor *d = &dealdesk__v1__quote_response__descriptor;
	r->differences = dd_arena_calloc(a, d->n_fields, sizeof(char *));
	if (r->differences == NULL)
		return;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		if (strcmp(f->name, "decision_id") == 0)
			continue;
		Dealdesk__V1__QuoteResponse mx, my;
		dealdesk__v1__quote_response__init(&mx);
		dealdesk__v1__quote_response__init(&my);
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			memcpy((char *)&mx + f->quantifier_offset, (const char *)x + f->quantifier_offset,
			       sizeof(size_t));
			memcpy((char *)&my + f->quantifier_offset, (const char *)y + f->quantifier_offset,
			       sizeof(size_t));
			memcpy((char *)&mx + f->offset, (const char *)x + f->offset, sizeof(void *));
			memcpy((char *)&my + f->offset, (const char *)y + f->offset, sizeof(void *));
		} else {
			memcpy((char *)&mx + f->offset, (const char *)x + f->offset, value_size(f));
			memcpy((char *)&my + f->offset, (const char *)y + f->offset, value_size(f));
		}
		if (!same_bytes(packed(a, &mx.base), packed(a, &my.base)))
			r->differences[r->n_differences++] = (char *)f->name;
	}
}

/* Runs in->req on the pinned versions; *out in arena, its decision id set
 * to the recorded one so that the packings compare. */
static int rerun(dd_quoter *q, replay_input *in, dd_arena *a, Dealdesk__V1__QuoteResponse **out,
                 dd_error *err)
{
	int rc = dd_quote_pinned(q, in->pin, &in->req, in->req.request_time, a, out, err);
	if (rc == DD_OK)
		(*out)->decision_id = in->recorded->decision_id;
	return rc;
}

static uint64_t current_data_version(dd_store *store)
{
	dd_rtxn *t = NULL;
	uint64_t v = 0;
	if (dd_rtxn_new(store, &t) == DD_OK && dd_rtxn_begin(t) == DD_OK) {
		v = dd_rtxn_data_version(t);
		dd_rtxn_end(t);
	}
	dd_rtxn_free(t);
	return v;
}

int dd_decision_replay(dd_quoter *q, dd_store *store, const Dealdesk__V1__DecisionRecord *rec,
                       dd_arena *arena, Dealdesk__V1__ReplayResult **out, dd_error *err)
{
	replay_input in;
	int rc = replay_prepare(rec, arena, &in, err);
	if (rc != DD_OK)
		return rc;
	Dealdesk__V1__ReplayResult *r = dd_arena_alloc(arena, sizeof(*r));
	if (r == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	dealdesk__v1__replay_result__init(r);
	r->decision_id = rec->decision_id;
	r->recorded_data_version = in.recorded->versions ? in.recorded->versions->data_version : 0;
	r->current_data_version = current_data_version(store);
	int exact = r->recorded_data_version == r->current_data_version;
	r->mode = exact ? DEALDESK__V1__REPLAY_MODE__REPLAY_MODE_EXACT
	                : DEALDESK__V1__REPLAY_MODE__REPLAY_MODE_CURRENT_DATA;
	Dealdesk__V1__QuoteResponse *now = NULL;
	if ((rc = rerun(q, &in, arena, &now, err)) != DD_OK) {
		char msg[sizeof(err->msg)];
		snprintf(msg, sizeof(msg), "%s", err->msg);
		return dd_error_set(err, rc, "replay of decision %s: %s", rec->decision_id, msg);
	}
	/* rerun gave it the recorded decision id: the one field not compared */
	ProtobufCBinaryData got = packed(arena, &now->base);
	ProtobufCBinaryData want = rec->kind == DEALDESK__V1__DECISION_KIND__DECISION_KIND_QUOTE
	                                   ? rec->response
	                                   : packed(arena, &in.recorded->base);
	r->identical = same_bytes(got, want);
	r->response = got;
	if (!r->identical)
		differences(arena, in.recorded, now, r);
	char reason[512] = "";
	if (!exact && rec->kind == DEALDESK__V1__DECISION_KIND__DECISION_KIND_COMMIT
	    && r->current_data_version == r->recorded_data_version + 1)
		snprintf(reason, sizeof(reason),
		         "the commit's own write moved the data version from %" PRIu64 " to %" PRIu64
		         " and old data is not retained: replayed against the current data, which "
		         "holds this order (its exposure, coupon uses and budgets)",
		         r->recorded_data_version, r->current_data_version);
	else if (!exact)
		snprintf(reason, sizeof(reason),
		         "the data version moved on from %" PRIu64 " to %" PRIu64
		         " and old data is not retained: replayed against the current data",
		         r->recorded_data_version, r->current_data_version);
	if (!r->identical) {
		size_t len = strlen(reason);
		snprintf(reason + len, sizeof(reason) - len, "%sthe response differs in", len ? "; " : "");
		for (size_t i = 0; i < r->n_differences; i++) {
			len = strlen(reason);
			snprintf(reason + len, sizeof(reason) - len, "%s %s", i ? "," : "",
			         r->differences[i]);
		}
	}
	r->reason = dd_arena_strdup(arena, reason);
	if (r->reason == NULL || got.data == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	*out = r;
	return DD_OK;
}

/* ---- impact ------------------------------------------------------------------- */

typedef struct impact_acc {
	dd_arena *out;
	Dealdesk__V1__ImpactReport *r;
	size_t max_examples, cap_outcomes, cap_money, cap_skips;
	int rc;
} impact_acc;

static const char *outcome_name(int v)
{
	const ProtobufCEnumValue *e =
		protobuf_c_enum_descriptor_get_value(&dealdesk__v1__credit_outcome__descriptor, v);
	const char *n = e ? e->name : "CREDIT_OUTCOME_UNSPECIFIED";
	return strncmp(n, "CREDIT_OUTCOME_", 15) == 0 ? n + 15 : n;
}

static int outcome_of(const Dealdesk__V1__QuoteResponse *q)
{
	return q->credit ? (int)q->credit->outcome : 0;
}

/* Approved exposure of one answer (README "Impact"). */
static int64_t approved(const Dealdesk__V1__QuoteResponse *q)
{
	switch (outcome_of(q)) {
	case DEALDESK__V1__CREDIT_OUTCOME__CREDIT_OUTCOME_APPROVE:
	case DEALDESK__V1__CREDIT_OUTCOME__CREDIT_OUTCOME_APPROVE_SHORTER_TERMS:
		return q->total;
	case DEALDESK__V1__CREDIT_OUTCOME__CREDIT_OUTCOME_DEPOSIT:
		return q->total - (q->credit->deposit_amount < q->total ? q->credit->deposit_amount : q->total);
	default: return 0;
	}
}

static int64_t flags(const Dealdesk__V1__QuoteResponse *q)
{
	int64_t n = 0;
	for (size_t i = 0; i < q->n_compliance; i++)
		n += q->compliance[i]->status == DEALDESK__V1__COMPLIANCE_STATUS__COMPLIANCE_STATUS_WARN
		     || q->compliance[i]->status == DEALDESK__V1__COMPLIANCE_STATUS__COMPLIANCE_STATUS_BLOCK;
	return n;
}

static void skip(impact_acc *acc, const char *fmt, const char *id, const char *why)
{
	Dealdesk__V1__ImpactReport *r = acc->r;
	r->skipped++;
	if (r->n_skip_reasons < acc->cap_skips) {
		char *s = dd_arena_printf(acc->out, fmt, id, why);
		if (s)
			r->skip_reasons[r->n_skip_reasons++] = s;
	}
}

static Dealdesk__V1__CurrencyImpact *money_for(impact_acc *acc, const char *currency)
{
	Dealdesk__V1__ImpactReport *r = acc->r;
	for (size_t i = 0; i < r->n_money; i++)
		if (strcmp(r->money[i]->currency, currency) == 0)
			return r->money[i];
	if (r->n_money == acc->cap_money)
		return NULL;
	Dealdesk__V1__CurrencyImpact *m = dd_arena_alloc(acc->out, sizeof(*m));
	if (m == NULL)
		return NULL;
	dealdesk__v1__currency_impact__init(m);
	m->currency = dd_arena_strdup(acc->out, currency);
	if (m->currency == NULL)
		return NULL;
	r->money[r->n_money++] = m;
	return m;
}

static void count_outcome(impact_acc *acc, int from, int to)
{
	Dealdesk__V1__ImpactReport *r = acc->r;
	const char *f = outcome_name(from), *t = outcome_name(to);
	for (size_t i = 0; i < r->n_outcomes; i++)
		if (strcmp(r->outcomes[i]->from, f) == 0 && strcmp(r->outcomes[i]->to, t) == 0) {
			r->outcomes[i]->count++;
			return;
		}
	if (r->n_outcomes == acc->cap_outcomes)
		return;
	Dealdesk__V1__OutcomeChange *o = dd_arena_alloc(acc->out, sizeof(*o));
	if (o == NULL) {
		acc->rc = DD_ENOMEM;
		return;
	}
	dealdesk__v1__outcome_change__init(o);
	o->from = (char *)f;
	o->to = (char *)t;
	o->count = 1;
	r->outcomes[r->n_outcomes++] = o;
}

static int add(int64_t *sum, int64_t v)
{
	return dd_money_add(*sum, v, sum);
}

/* Adds one replayed decision (before, after) to the report. */
static int account(impact_acc *acc, const char *id, const Dealdesk__V1__QuoteResponse *b,
                   const Dealdesk__V1__QuoteResponse *a, int changed)
{
	Dealdesk__V1__ImpactReport *r = acc->r;
	Dealdesk__V1__CurrencyImpact *m = money_for(acc, b->currency);
	if (m == NULL)
		return DD_ENOMEM;
	if (add(&m->discount_cost_before, b->discount_total) || add(&m->discount_cost_after, a->discount_total)
	    || add(&m->approved_exposure_before, approved(b))
	    || add(&m->approved_exposure_after, approved(a)))
		return DD_EOVERFLOW;
	m->discount_cost_delta = m->discount_cost_after - m->discount_cost_before;
	m->approved_exposure_delta = m->approved_exposure_after - m->approved_exposure_before;
	r->compliance_flags_before += flags(b);
	r->compliance_flags_after += flags(a);
	r->compliance_flags_delta = r->compliance_flags_after - r->compliance_flags_before;
	r->replayed++;
	if (!changed)
		return DD_OK;
	r->changed++;
	if (outcome_of(b) != outcome_of(a))
		count_outcome(acc, outcome_of(b), outcome_of(a));
	if (r->n_examples < acc->max_examples) {
		Dealdesk__V1__ImpactExample *e = dd_arena_alloc(acc->out, sizeof(*e));
		if (e == NULL)
			return DD_ENOMEM;
		dealdesk__v1__impact_example__init(e);
		e->decision_id = dd_arena_strdup(acc->out, id);
		e->currency = dd_arena_strdup(acc->out, b->currency);
		e->outcome_before = (char *)outcome_name(outcome_of(b));
		e->outcome_after = (char *)outcome_name(outcome_of(a));
		e->total_before = b->total;
		e->total_after = a->total;
		e->discount_before = b->discount_total;
		e->discount_after = a->discount_total;
		e->compliance_before = b->compliance_status;
		e->compliance_after = a->compliance_status;
		if (e->decision_id == NULL || e->currency == NULL)
			return DD_ENOMEM;
		r->examples[r->n_examples++] = e;
	}
	return acc->rc;
}

/* One recorded decision: replayed with the candidate, compared with the
 * answer on the recorded versions (the recorded answer itself when the data
 * has not moved, else a replay on the current data). */
static int impact_one(dd_quoter *q, dd_quoter *cq, impact_acc *acc,
                      const Dealdesk__V1__ImpactRequest *req, uint64_t data_version,
                      const Dealdesk__V1__DecisionRecord *rec, dd_arena *scratch)
{
	replay_input in;
	dd_error e;
	dd_error_clear(&e);
	if (replay_prepare(rec, scratch, &in, &e) != DD_OK) {
		skip(acc, "%s: %s", rec->decision_id, e.msg);
		return DD_OK;
	}
	Dealdesk__V1__QuoteResponse *before = in.recorded, *after = NULL;
	uint64_t recorded = before->versions ? before->versions->data_version : 0;
	if (recorded != data_version) {
		acc->r->current_data++;
		if (rerun(q, &in, scratch, &before, &e) != DD_OK) {
			skip(acc, "%s: %s", rec->decision_id, e.msg);
			return DD_OK;
		}
	}
	/* a policy candidate: its version in place of the recorded one; a data
	 * candidate: the recorded versions on the scratch copy holding it */
	if (cq == NULL)
		in.pin[req->kind] = req->version;
	int rc = rerun(cq ? cq : q, &in, scratch, &after, &e);
	if (rc != DD_OK) {
		skip(acc, "%s: %s", rec->decision_id, e.msg);
		return DD_OK;
	}
	/* versions differ by construction (the candidate's kind): not a change */
	Dealdesk__V1__Versions *keep = after->versions;
	after->versions = before->versions;
	int changed = !same_bytes(packed(scratch, &before->base), packed(scratch, &after->base));
	after->versions = keep;
	return account(acc, rec->decision_id, before, after, changed);
}

typedef struct impact_scan {
	dd_quoter *q, *cq;
	impact_acc *acc;
	const Dealdesk__V1__ImpactRequest *req;
	uint64_t data_version;
	dd_arena scratch;
	int rc;
} impact_scan;

static int impact_record(void *ud, dd_val key, dd_val val)
{
	impact_scan *s = ud;
	(void)key;
	dd_arena_reset(&s->scratch);
	Dealdesk__V1__DecisionRecord *rec = (void *)protobuf_c_message_unpack(
		&dealdesk__v1__decision_record__descriptor, &s->scratch.pb, val.len, val.data);
	if (rec == NULL) {
		skip(s->acc, "%s: %s", "?", "a record is corrupt");
		return 0;
	}
	int64_t at = rec->recorded_at / 1000000000;
	if ((s->req->from_time && at < s->req->from_time) || (s->req->to_time && at >= s->req->to_time))
		return 0;
	s->rc = impact_one(s->q, s->cq, s->acc, s->req, s->data_version, rec, &s->scratch);
	return s->rc == DD_OK ? 0 : 1;
}

typedef struct by_hash {
	const char *sha256;
	uint64_t version;
} by_hash;

static int hash_one(void *ud, dd_val key, dd_val val)
{
	by_hash *h = ud;
	Dealdesk__V1__PolicyScript *p = (void *)protobuf_c_message_unpack(
		&dealdesk__v1__policy_script__descriptor, NULL, val.len, val.data);
	if (p == NULL)
		return 0;
	int hit = strcmp(p->sha256, h->sha256) == 0;
	if (hit && key.len == 9)
		h->version = journal_load_be64((const unsigned char *)key.data + 1);
	protobuf_c_message_free_unpacked(&p->base, NULL);
	return hit;
}

/* The version of kind whose content hash is sha256 (the first one holding
 * it: versions are immutable, so any with that hash has the same source). */
static int version_by_hash(dd_store *store, int kind, const char *sha256, uint64_t *out,
                           dd_error *err)
{
	by_hash h = { sha256, 0 };
	dd_rtxn *t = NULL;
	if (dd_rtxn_new(store, &t) != DD_OK || dd_rtxn_begin(t) != DD_OK) {
		dd_rtxn_free(t);
		return dd_error_set(err, DD_ESTORE, "store: cannot begin a read");
	}
	unsigned char prefix = (unsigned char)kind;
	int rc = dd_rtxn_scan(t, DD_T_POLICIES, (dd_val){ &prefix, 1 }, (dd_val){ NULL, 0 }, hash_one,
	                      &h);
	dd_rtxn_end(t);
	dd_rtxn_free(t);
	if (rc != DD_OK)
		return dd_error_set(err, rc, "store: %s", dd_strerror(rc));
	if (h.version == 0)
		return dd_error_set(err, DD_ENOTFOUND, "sha256: no %s policy version has content %s",
		                    dd_policy_kind_name((dd_policy_kind)kind), sha256);
	*out = h.version;
	return DD_OK;
}

/* A data candidate's scratch world: a copy of the data (not the journal)
 * in a temporary directory, the candidate records written to it, and a
 * quoter over it. */
typedef struct scratch_world {
	char dir[64];
	dd_store *store;
	dd_quoter *q;
} scratch_world;

static void world_free(scratch_world *w)
{
	dd_quoter_free(w->q);
	dd_store_close(w->store);
	if (w->dir[0]) {
		char f[96];
		snprintf(f, sizeof(f), "%s/data.mdb", w->dir);
		unlink(f);
		snprintf(f, sizeof(f), "%s/lock.mdb", w->dir);
		unlink(f);
		rmdir(w->dir);
	}
}

static int world_new(scratch_world *w, dd_store *store, const Dealdesk__V1__ImpactRequest *req,
                     dd_error *err)
{
	memset(w, 0, sizeof(*w));
	snprintf(w->dir, sizeof(w->dir), "/tmp/dealdesk-impact-XXXXXX");
	if (mkdtemp(w->dir) == NULL) {
		w->dir[0] = '\0';
		return dd_error_set(err, DD_ESTORE, "impact: cannot make a scratch directory");
	}
	int rc = dd_store_clone_data(store, w->dir, &w->store, err);
	if (rc == DD_OK && req->n_promotions > 0)
		rc = dd_admin_put(w->store, DD_ENTITY_PROMOTION, (ProtobufCMessage *const *)req->promotions,
		                  req->n_promotions, "promotions", NULL, err);
	if (rc == DD_OK && req->n_checks > 0)
		rc = dd_admin_put(w->store, DD_ENTITY_CHECK, (ProtobufCMessage *const *)req->checks,
		                  req->n_checks, "checks", NULL, err);
	if (rc == DD_OK)
		rc = dd_quoter_new(&w->q, w->store, NULL, err);
	if (rc != DD_OK)
		world_free(w);
	return rc;
}

int dd_decision_impact(dd_quoter *q, dd_store *store, const Dealdesk__V1__ImpactRequest *in_req,
                       dd_arena *arena, Dealdesk__V1__ImpactReport **out, dd_error *err)
{
	int data = in_req->n_promotions > 0 || in_req->n_checks > 0;
	if (data) {
		if (in_req->kind != 0 || in_req->version != 0 || (in_req->sha256 && *in_req->sha256))
			return dd_error_set(err, DD_EINVAL,
			                    "promotions: a data candidate takes no kind, version or sha256");
		if (in_req->n_promotions + in_req->n_checks > DD_MAX_BATCH)
			return dd_error_set(err, DD_EINVAL, "promotions: at most %d records with checks",
			                    DD_MAX_BATCH);
		return impact_run(q, store, in_req, 1, arena, out, err);
	}
	if (dd_policy_kind_name((dd_policy_kind)in_req->kind) == NULL)
		return dd_error_set(err, DD_EINVAL, "kind: unknown policy kind %d", (int)in_req->kind);
	Dealdesk__V1__ImpactRequest copy = *in_req;
	const Dealdesk__V1__ImpactRequest *req = &copy;
	if (in_req->sha256 && *in_req->sha256) {
		if (in_req->version != 0)
			return dd_error_set(err, DD_EINVAL, "sha256: give it or version, not both");
		int rc = version_by_hash(store, (int)in_req->kind, in_req->sha256, &copy.version, err);
		if (rc != DD_OK)
			return rc;
	}
	if (req->version == 0)
		return dd_error_set(err, DD_EINVAL,
		                    "version: required (the candidate policy version, or sha256)");
	return impact_run(q, store, req, 0, arena, out, err);
}

static int impact_run(dd_quoter *q, dd_store *store, const Dealdesk__V1__ImpactRequest *req,
                      int data, dd_arena *arena, Dealdesk__V1__ImpactReport **out, dd_error *err)
{
	if (req->last_n > IMPACT_LAST_MAX)
		return dd_error_set(err, DD_EINVAL, "last_n: at most %d", IMPACT_LAST_MAX);
	if (req->max_examples > IMPACT_EXAMPLES_MAX)
		return dd_error_set(err, DD_EINVAL, "max_examples: at most %d", IMPACT_EXAMPLES_MAX);
	if (req->from_time < 0 || req->to_time < 0 || (req->to_time && req->to_time <= req->from_time))
		return dd_error_set(err, DD_EINVAL, "to_time: must be after from_time");
	Dealdesk__V1__ImpactReport *r = dd_arena_alloc(arena, sizeof(*r));
	if (r == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	dealdesk__v1__impact_report__init(r);
	r->candidate_version = req->version;
	impact_acc acc = { .out = arena, .r = r, .cap_outcomes = 64, .cap_money = 32, .cap_skips = 20 };
	acc.max_examples = req->max_examples ? req->max_examples : IMPACT_EXAMPLES_DEFAULT;
	r->outcomes = dd_arena_calloc(arena, acc.cap_outcomes, sizeof(*r->outcomes));
	r->money = dd_arena_calloc(arena, acc.cap_money, sizeof(*r->money));
	r->skip_reasons = dd_arena_calloc(arena, acc.cap_skips, sizeof(*r->skip_reasons));
	r->examples = dd_arena_calloc(arena, acc.max_examples, sizeof(*r->examples));
	if (!r->outcomes || !r->money || !r->skip_reasons || !r->examples)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	impact_scan s = { .q = q, .acc = &acc, .req = req };
	scratch_world world;
	if (data) {
		int wrc = world_new(&world, store, req, err);
		if (wrc != DD_OK)
			return wrc;
		s.cq = world.q;
	}
	dd_arena_init(&s.scratch, 65536, 0);
	dd_rtxn *t = NULL;
	if (dd_rtxn_new(store, &t) != DD_OK || dd_rtxn_begin(t) != DD_OK) {
		dd_rtxn_free(t);
		dd_arena_free(&s.scratch);
		if (data)
			world_free(&world);
		return dd_error_set(err, DD_ESTORE, "store: cannot begin a read");
	}
	s.data_version = dd_rtxn_data_version(t);
	unsigned char pk[9];
	dd_val pv;
	dd_key_policy(pk, (int)req->kind, req->version);
	if (!data && dd_rtxn_get(t, DD_T_POLICIES, (dd_val){ pk, 9 }, &pv) != DD_OK) {
		dd_rtxn_end(t);
		dd_rtxn_free(t);
		dd_arena_free(&s.scratch);
		return dd_error_set(err, DD_ENOTFOUND, "version: %s policy v%" PRIu64 " is not stored",
		                    dd_policy_kind_name((dd_policy_kind)req->kind), req->version);
	}
	/* the last N: from seq last - N + 1 on */
	unsigned char sk[8];
	size_t sklen = 0;
	if (req->from_time == 0 && req->to_time == 0) {
		uint64_t n = req->last_n ? req->last_n : IMPACT_LAST_DEFAULT, last = 0;
		dd_val v;
		if (dd_rtxn_get(t, DD_T_JOURNAL, (dd_val){ JOURNAL_DECISION_SEQ_KEY,
		                                           sizeof(JOURNAL_DECISION_SEQ_KEY) - 1 }, &v) == DD_OK
		    && v.len == 8)
			last = journal_load_be64(v.data);
		journal_be64(sk, last >= n ? last - n + 1 : 1);
		sklen = 8;
	}
	/* The scan's read transaction is separate from the quoter's own: the
	 * records stay readable while the quoter runs. */
	int rc = dd_rtxn_scan(t, DD_T_DECISIONS, (dd_val){ NULL, 0 }, (dd_val){ sk, sklen },
	                      impact_record, &s);
	dd_rtxn_end(t);
	dd_rtxn_free(t);
	dd_arena_free(&s.scratch);
	if (data)
		world_free(&world);
	if (rc == DD_OK)
		rc = s.rc;
	if (rc != DD_OK)
		return dd_error_set(err, rc, "impact: %s", dd_strerror(rc));
	*out = r;
	return DD_OK;
}
