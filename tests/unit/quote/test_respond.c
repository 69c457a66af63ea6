/* src/quote/respond.c: stage 7, the response, built once from the order
 * state: every field, the order of discounts on a line (its own
 * discounts in commit order, then its shares of order discounts), the
 * versions, the decision id, and byte-identical responses for the same
 * request and data (README "Same request ... same response, byte for
 * byte, except decision_id"). */
#include "fixture.h"

#define CHECK(k) DEALDESK__V1__CHECK_KIND__CHECK_KIND_##k

static uint64_t put_version(fixture *f, dd_entity_kind kind, ProtobufCMessage *m)
{
	ProtobufCMessage *items[] = { m };
	uint64_t v = 0;
	dd_error err;
	if (dd_admin_put(f->store, kind, items, 1, "records", &v, &err) != DD_OK)
		fail_msg("put: %s", err.msg);
	return v;
}

static void test_fields(void **state)
{
	fixture *f = *state;
	fx_check(f, "mm5", CHECK(MIN_MARGIN), 500, STATUS(BLOCK));
	Dealdesk__V1__Promotion p = fx_promo("P10", KIND(PERCENTAGE));
	char *a[] = { "A" };
	p.name = "Ten percent off A";
	p.skus = a;
	p.n_skus = 1;
	p.percent_bps = 1000;
	uint64_t version = put_version(f, DD_ENTITY_PROMOTION, &p.base);
	req_buf b;
	req_c1(&b);
	b.r.order_id = "ord-1";
	req_line(&b, "A", 2);
	req_line(&b, "D", 1);
	Dealdesk__V1__QuoteResponse *r = quote_ok(f, &b);
	assert_sums(r);
	assert_string_equal(r->order_id, "ord-1");
	assert_string_equal(r->currency, "USD");
	assert_int_equal(r->currency_exponent, 2);
	assert_int_equal(r->request_time, T0);
	assert_int_equal(r->n_lines, 2);
	const Dealdesk__V1__QuoteLine *l = r->lines[0];
	assert_int_equal(l->line_no, 0);
	assert_string_equal(l->sku, "A");
	assert_int_equal(l->quantity, 2);
	assert_string_equal(l->price_list_id, "usd");
	assert_int_equal(l->unit_list_price, 1000);
	assert_int_equal(l->unit_price, 1000);
	assert_string_equal(l->price_reason, "");
	assert_int_equal(l->price_tier, 1);
	assert_int_equal(l->line_subtotal, 2000);
	assert_int_equal(l->discount_total, 200);
	assert_int_equal(l->line_total, 1800);
	assert_false(l->gift);
	assert_int_equal(l->n_discounts, 1);
	assert_string_equal(l->discounts[0]->promotion_id, "P10");
	assert_int_equal(l->discounts[0]->kind, KIND(PERCENTAGE));
	assert_int_equal(l->discounts[0]->amount, 200);
	assert_string_equal(l->discounts[0]->description, "Ten percent off A");
	l = r->lines[1];
	assert_int_equal(l->line_no, 1);
	assert_int_equal(l->n_discounts, 0);
	assert_int_equal(l->line_total, 2000);
	assert_int_equal(r->subtotal, 4000);
	assert_int_equal(r->discount_total, 200);
	assert_int_equal(r->total, 3800);
	assert_int_equal(r->n_order_discounts, 0);
	assert_int_equal(r->loyalty_points, 38);
	assert_int_equal(r->loyalty_multiplier, 1);
	/* credit: c1 has 10,000,000.00 in tier A and owes nothing */
	const Dealdesk__V1__CreditDecision *d = r->credit;
	assert_non_null(d);
	assert_int_equal(d->outcome, OUTCOME(APPROVE));
	assert_int_equal(d->payment_terms_days, 30);
	assert_int_equal(d->deposit_amount, 0);
	assert_int_equal(d->credit_limit, 1000000000);
	assert_int_equal(d->exposure, 3800);
	assert_int_equal(d->available_credit, 1000000000 - 3800);
	assert_string_equal(d->tier, "A");
	assert_int_equal(d->n_reasons, 1);
	assert_string_equal(d->reasons[0], "EXPOSURE_WITHIN_LIMIT: exposure 38.00 is 0.01% of the "
	                                   "limit 10000000.00 (tier A)");
	/* compliance */
	assert_int_equal(r->n_compliance, 1);
	const Dealdesk__V1__ComplianceResult *c = r->compliance[0];
	assert_string_equal(c->check_id, "mm5");
	assert_int_equal(c->status, STATUS(PASS));
	assert_string_equal(c->message, "mm5");
	assert_int_equal(c->line_no, -1);
	assert_int_equal(c->computed_value, 0);
	assert_int_equal(c->limit_value, 500);
	assert_int_equal(r->compliance_status, STATUS(PASS));
	/* versions: the data version of the last write, policy version 1 */
	assert_non_null(r->versions);
	assert_int_equal(r->versions->data_version, version);
	assert_int_equal(r->versions->pricing_policy, 1);
	assert_int_equal(r->versions->promotions_policy, 1);
	assert_int_equal(r->versions->credit_policy, 1);
	assert_int_equal(r->versions->compliance_policy, 1);
	/* what only explain, coupons, gifts or experiments bring */
	assert_int_equal(r->n_trace, 0);
	assert_int_equal(r->n_coupons, 0);
	assert_int_equal(r->n_experiments, 0);
	assert_int_equal(r->n_promotion_notes, 0);
	/* the decision id: 32 lowercase hex digits */
	assert_int_equal(strlen(r->decision_id), 32);
	assert_int_equal(strspn(r->decision_id, "0123456789abcdef"), 32);
	/* no order id, no request time: "" and the time of the call */
	b.r.order_id = NULL;
	b.r.request_time = 0;
	r = quote_at(f, &b, T0 + 5);
	assert_string_equal(r->order_id, "");
	assert_int_equal(r->request_time, T0 + 5);
}

/* On each line: its own discounts in the order they were committed, then
 * its shares of order discounts, whatever the order of commits. */
static void test_discount_order_on_a_line(void **state)
{
	fixture *f = *state;
	char *d[] = { "D" };
	Dealdesk__V1__Promotion p = fx_promo("S50", KIND(SPEND_THRESHOLD));
	p.threshold = 5000;
	p.amount = 500;
	p.currency = "USD";
	p.priority = 0; /* committed first */
	fx_put_promo(f, &p);
	p = fx_promo("P10", KIND(PERCENTAGE));
	p.percent_bps = 1000;
	p.skus = d;
	p.n_skus = 1;
	p.priority = 5;
	fx_put_promo(f, &p);
	p = fx_promo("FIX", KIND(FIXED_AMOUNT));
	p.amount = 100;
	p.currency = "USD";
	p.skus = d;
	p.n_skus = 1;
	p.priority = 9;
	fx_put_promo(f, &p);
	req_buf b;
	req_c1(&b);
	b.r.explain = 1;
	req_line(&b, "D", 3);
	Dealdesk__V1__QuoteResponse *r = quote_ok(f, &b);
	assert_sums(r);
	/* S50: 60.00 >= 50.00, 5.00 off the order (all on D); P10: 10 % of
	 * the 60.00 of units (README: item promotions act on the units'
	 * value); FIX: 1.00 x 3 */
	const Dealdesk__V1__QuoteLine *l = r->lines[0];
	assert_int_equal(l->n_discounts, 3);
	assert_string_equal(l->discounts[0]->promotion_id, "P10");
	assert_int_equal(l->discounts[0]->amount, 600);
	assert_string_equal(l->discounts[1]->promotion_id, "FIX");
	assert_int_equal(l->discounts[1]->amount, 300);
	assert_string_equal(l->discounts[2]->promotion_id, "S50");
	assert_int_equal(l->discounts[2]->amount, 500);
	assert_int_equal(l->discounts[2]->kind, KIND(SPEND_THRESHOLD));
	assert_int_equal(r->n_order_discounts, 1);
	assert_int_equal(r->order_discounts[0]->amount, 500);
	assert_string_equal(r->order_discounts[0]->description, "S50");
	assert_int_equal(r->total, 4600);
	/* the trace is in commit order */
	size_t s50 = 0, p10 = 0;
	for (size_t i = 0; i < r->n_trace; i++) {
		if (!strcmp(r->trace[i]->rule, "S50"))
			s50 = i + 1;
		if (!strcmp(r->trace[i]->rule, "P10"))
			p10 = i + 1;
	}
	assert_true(s50 > 0 && p10 > s50);
}

static void test_versions(void **state)
{
	fixture *f = *state;
	req_buf b;
	req_c1(&b);
	req_line(&b, "A", 1);
	Dealdesk__V1__QuoteResponse *r = quote_ok(f, &b);
	uint64_t v0 = r->versions->data_version;
	Dealdesk__V1__Promotion p = fx_promo("X", KIND(PERCENTAGE));
	p.percent_bps = 100;
	uint64_t v1 = put_version(f, DD_ENTITY_PROMOTION, &p.base);
	assert_int_equal(v1, v0 + 1);
	r = quote_ok(f, &b);
	assert_int_equal(r->versions->data_version, v1);
	assert_int_equal(r->total, 990);
	fx_activate(f, DD_POLICY_PROMOTIONS, "function apply(ctx, p) return nil end");
	fx_activate(f, DD_POLICY_COMPLIANCE, "function check(ctx, c) return nil end");
	fx_activate(f, DD_POLICY_COMPLIANCE, "function check(ctx, c) return {} end");
	r = quote_ok(f, &b);
	assert_int_equal(r->versions->pricing_policy, 1);
	assert_int_equal(r->versions->promotions_policy, 2);
	assert_int_equal(r->versions->credit_policy, 1);
	assert_int_equal(r->versions->compliance_policy, 3);
	assert_true(r->versions->data_version > v1);
	assert_int_equal(r->total, 1000); /* the new promotions policy applies nothing */
}

static void test_decision_ids_unique(void **state)
{
	fixture *f = *state;
	req_buf b;
	req_c1(&b);
	req_line(&b, "A", 1);
	enum { N = 200 };
	static char ids[N + 1][33];
	for (int i = 0; i < N; i++) {
		Dealdesk__V1__QuoteResponse *r = quote_ok(f, &b);
		assert_int_equal(strlen(r->decision_id), 32);
		assert_int_equal(strspn(r->decision_id, "0123456789abcdef"), 32);
		memcpy(ids[i], r->decision_id, 33);
		for (int k = 0; k < i; k++)
			assert_string_not_equal(ids[k], ids[i]);
	}
	/* another quoter on the same store draws its own */
	dd_quoter *q2;
	dd_error err;
	assert_int_equal(dd_quoter_new(&q2, f->store, NULL, &err), DD_OK);
	Dealdesk__V1__QuoteResponse *r;
	dd_arena_reset(&f->arena);
	assert_int_equal(dd_quote(q2, &b.r, T0, &f->arena, &r, &err), DD_OK);
	for (int k = 0; k < N; k++)
		assert_string_not_equal(ids[k], r->decision_id);
	dd_quoter_free(q2);
}

/* A rich order: line, order and gift discounts, a note, coupons, an
 * experiment arm, a price reason, credit and compliance, with explain. */
static void rich_data(fixture *f)
{
	fx_check(f, "mm5", CHECK(MIN_MARGIN), 500, STATUS(BLOCK));
	fx_check(f, "md30", CHECK(MAX_DISCOUNT), 3000, STATUS(WARN));
	Dealdesk__V1__SkuSignals s = DEALDESK__V1__SKU_SIGNALS__INIT;
	s.sku = "C";
	s.inventory_on_hand = 1000;
	s.inventory_at = T0 - DAY;
	s.demand_at = T0 - DAY;
	fx_put(f, DD_ENTITY_SIGNALS, &s.base);
	char *a[] = { "A" };
	Dealdesk__V1__Promotion p = fx_promo("P10", KIND(PERCENTAGE));
	p.percent_bps = 1000;
	p.skus = a;
	p.n_skus = 1;
	p.max_discount = 150;
	fx_put_promo(f, &p);
	p = fx_promo("S50", KIND(SPEND_THRESHOLD));
	p.threshold = 5000;
	p.amount = 777;
	p.currency = "USD";
	p.priority = 10;
	fx_put_promo(f, &p);
	p = fx_promo("GIFT", KIND(FREE_GIFT));
	p.gift_sku = "G";
	fx_put_promo(f, &p);
	p = fx_promo("CPN", KIND(FIXED_AMOUNT));
	p.amount = 50;
	p.currency = "USD";
	p.coupon_code = "FIFTY";
	fx_put_promo(f, &p);
	Dealdesk__V1__ExperimentArm a1 = DEALDESK__V1__EXPERIMENT_ARM__INIT,
				    a2 = DEALDESK__V1__EXPERIMENT_ARM__INIT;
	a1.name = "x";
	a1.weight = 1;
	a1.percent_bps = 300;
	a2.name = "y";
	a2.weight = 1;
	a2.percent_bps = 700;
	Dealdesk__V1__ExperimentArm *arms[] = { &a1, &a2 };
	p = fx_promo("EXP", KIND(PERCENTAGE));
	p.percent_bps = 100;
	p.experiment_id = "e1";
	p.arms = arms;
	p.n_arms = 2;
	p.priority = 20;
	fx_put_promo(f, &p);
}

static void rich_request(req_buf *b)
{
	req_c1(b);
	b->r.explain = 1;
	b->r.order_id = "o-1";
	req_line(b, "A", 3);
	req_line(b, "C", 7);
	req_line(b, "D", 2);
	req_coupon(b, "FIFTY");
	req_coupon(b, "NOPE");
	req_attr(b, "k", "v");
}

static size_t pack_without_id(Dealdesk__V1__QuoteResponse *r, uint8_t **out)
{
	r->decision_id = "";
	size_t n = protobuf_c_message_get_packed_size(&r->base);
	*out = malloc(n);
	assert_non_null(*out);
	assert_int_equal(protobuf_c_message_pack(&r->base, *out), n);
	return n;
}

static void test_byte_identical(void **state)
{
	fixture *f = *state;
	rich_data(f);
	req_buf b;
	rich_request(&b);
	Dealdesk__V1__QuoteResponse *r = quote_ok(f, &b);
	assert_sums(r);
	/* the order is as rich as meant */
	assert_int_equal(r->n_lines, 4);
	assert_true(r->n_order_discounts > 0 && r->n_promotion_notes > 0 && r->n_coupons == 2 &&
	            r->n_experiments == 1 && r->n_trace > 0 && r->n_compliance > 0);
	assert_string_not_equal(r->lines[1]->price_reason, "");
	uint8_t *first, *again;
	size_t n1 = pack_without_id(r, &first);
	r = quote_ok(f, &b);
	size_t n2 = pack_without_id(r, &again);
	assert_int_equal(n1, n2);
	assert_memory_equal(first, again, n1);
	free(again);
	/* another quoter (another worker) answers the same bytes */
	dd_quoter *q2;
	dd_error err;
	assert_int_equal(dd_quoter_new(&q2, f->store, NULL, &err), DD_OK);
	dd_arena_reset(&f->arena);
	assert_int_equal(dd_quote(q2, &b.r, T0, &f->arena, &r, &err), DD_OK);
	n2 = pack_without_id(r, &again);
	assert_int_equal(n1, n2);
	assert_memory_equal(first, again, n1);
	free(again);
	dd_quoter_free(q2);
	/* a longer request in between does not change it */
	req_buf other;
	rich_request(&other);
	req_line(&other, "B", 1);
	req_line(&other, "A", 9);
	other.r.customer_id = "c1";
	quote_ok(f, &other);
	r = quote_ok(f, &b);
	n2 = pack_without_id(r, &again);
	assert_int_equal(n1, n2);
	assert_memory_equal(first, again, n1);
	free(again);
	/* and it unpacks to what was sent */
	Dealdesk__V1__QuoteResponse *u = dealdesk__v1__quote_response__unpack(NULL, n1, first);
	assert_non_null(u);
	assert_int_equal(u->total, r->total);
	assert_int_equal(u->n_lines, 4);
	assert_string_equal(u->lines[3]->sku, "G");
	dealdesk__v1__quote_response__free_unpacked(u, NULL);
	free(first);
}

/* Every list of the response, field by field. */
static void test_lists(void **state)
{
	fixture *f = *state;
	rich_data(f);
	req_buf b;
	rich_request(&b);
	Dealdesk__V1__QuoteResponse *r = quote_ok(f, &b);
	assert_string_equal(r->coupons[0]->code, "FIFTY");
	assert_true(r->coupons[0]->accepted);
	assert_string_equal(r->coupons[0]->reason, "");
	assert_string_equal(r->coupons[0]->promotion_id, "CPN");
	assert_string_equal(r->coupons[1]->code, "NOPE");
	assert_false(r->coupons[1]->accepted);
	assert_string_equal(r->coupons[1]->reason, "UNKNOWN: no such code");
	assert_string_equal(r->coupons[1]->promotion_id, "");
	assert_string_equal(r->experiments[0]->experiment_id, "e1");
	assert_string_equal(r->experiments[0]->promotion_id, "EXP");
	assert_true(!strcmp(r->experiments[0]->arm, "x") || !strcmp(r->experiments[0]->arm, "y"));
	/* P10 after CPN (same priority, by id): CPN takes 0.50 a unit, 1.50
	 * of A's 30.00; 10 % of 28.50 = 2.85, capped at 1.50 */
	assert_string_equal(r->promotion_notes[0]->promotion_id, "P10");
	assert_string_equal(r->promotion_notes[0]->code, "CAPPED");
	assert_string_equal(r->promotion_notes[0]->message, "capped at 1.50");
	assert_int_equal(discount_of(r->lines[0], "P10"), 150);
	/* the gift line is last */
	assert_true(r->lines[3]->gift);
	assert_int_equal(r->lines[3]->line_no, 3);
	/* trace entries carry stage, rule, applied and detail */
	const Dealdesk__V1__TraceEntry *t = trace_of(r, "promotions", "P10");
	assert_non_null(t);
	assert_true(t->applied);
	assert_string_equal(t->detail, "2.85 off 1 line(s); capped at 1.50");
	t = trace_of(r, "pricing", "C");
	assert_non_null(t);
	assert_string_equal(t->detail, "line 1: 300 -> 210: clearance: stock covers 26+ weeks of "
	                               "demand, 30.00% off");
	t = trace_of(r, "credit", "APPROVE");
	assert_non_null(t);
	assert_prefix(t->detail, "EXPOSURE_WITHIN_LIMIT:");
	t = trace_of(r, "compliance", "mm5");
	assert_non_null(t);
	assert_string_equal(t->detail, "passed");
}

/* Free text a policy hands over (trace, messages, reasons) is made valid
 * UTF-8 of bounded length by the sandbox's one rule: bad bytes become
 * U+FFFD, cut on a character boundary (README "Policy sandbox"). */
static void test_policy_strings_checked(void **state)
{
	fixture *f = *state;
	fx_activate(f, DD_POLICY_PROMOTIONS,
	            "function apply(ctx, p)\n"
	            "  dd.trace('promotions', 'r\\255', true, 'bad \\255 byte ' .. ('x'):rep(2000))\n"
	            "  dd.trace('promotions', 'cut', true, ('\\u{20AC}'):rep(400))\n"
	            "end\n");
	req_buf b;
	req_c1(&b);
	b.r.explain = 1;
	req_line(&b, "A", 1);
	Dealdesk__V1__QuoteResponse *r = quote_ok(f, &b);
	const Dealdesk__V1__TraceEntry *t = trace_of(r, "promotions", "r\xEF\xBF\xBD");
	assert_non_null(t);
	assert_prefix(t->detail, "bad \xEF\xBF\xBD byte xxx");
	assert_int_equal(strlen(t->detail), 1023);
	/* 1200 bytes of three-byte characters: cut to 341 whole ones */
	t = trace_of(r, "promotions", "cut");
	assert_non_null(t);
	assert_int_equal(strlen(t->detail), 1023);
	assert_true(dd_utf8_valid(t->detail, strlen(t->detail)));
	fx_activate(f, DD_POLICY_PROMOTIONS,
	            "function apply(ctx, p) return { notes = { { promotion = 'N', "
	            "message = 'a\\255\\0b' } } } end");
	r = quote_ok(f, &b);
	assert_int_equal(r->n_promotion_notes, 1);
	assert_string_equal(r->promotion_notes[0]->message, "a\xEF\xBF\xBD\xEF\xBF\xBD" "b");
	/* identifiers are not text: an invalid one makes the result malformed */
	fx_activate(f, DD_POLICY_PROMOTIONS,
	            "function apply(ctx, p) return { notes = { { promotion = 'N\\255' } } } end");
	assert_int_equal(quote_err(f, &b, "a malformed notes[1] (field 'promotion'"), DD_EPOLICY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fields, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_discount_order_on_a_line, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_versions, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_decision_ids_unique, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_byte_identical, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_lists, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_policy_strings_checked, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
