/* src/quote/view.c: the Lua view of the order state. Policies read every
 * documented field of ctx, ctx.customer, ctx.customer.credit, ctx.lines[i]
 * (with signals and competitors), ctx.coupons, ctx.coupon_list,
 * ctx.attributes, ctx.coupon_info, ctx.usage and the credit argument;
 * they can write none of them; pairs() and # work; getmetatable gives
 * false; a view kept past its quote refuses to be read.
 *
 * The policies below report what they read as promotion notes (code =
 * the field, message = tostring of the value), credit reasons or
 * compliance messages. */
#include "fixture.h"

/* ---- the data every view test reads ------------------------------------------------ */

#define FIRST_ORDER (T0 - 400 * DAY)
#define LAST_ORDER (T0 - 100 * DAY)
#define REVIEW_AT (T0 + 30 * DAY)

static void view_data(fixture *f)
{
	fx_customer c;
	fx_customer_init(&c, "viewer", "USD", "B", 500000);
	c.c.name = "View Co";
	c.c.segment = "loyal";
	c.c.loyalty_tier = "gold";
	c.c.order_count = 3;
	c.c.first_order_at = FIRST_ORDER;
	c.c.last_order_at = LAST_ORDER;
	c.cr.open_receivables = 1000;
	c.cr.committed_orders = 2000;
	c.cr.standard_terms_days = 45;
	c.cr.oldest_overdue_days = 5;
	c.cr.next_review_at = REVIEW_AT;
	fx_put_customer(f, &c);

	Dealdesk__V1__PriceEntry e = DEALDESK__V1__PRICE_ENTRY__INIT;
	e.price_list_id = "vl";
	e.sku = "V";
	e.currency = "USD";
	e.name = "Viewable";
	e.category = "vc";
	e.unit_price = 1234;
	e.unit_cost = 567;
	e.floor_price = 1000;
	e.ceiling_price = 2000;
	e.rounding = DEALDESK__V1__ROUNDING_MODE__ROUNDING_MODE_DOWN;
	e.min_quantity = 2;
	fx_put(f, DD_ENTITY_PRICE, &e.base);

	Dealdesk__V1__CompetitorPrice c1 = DEALDESK__V1__COMPETITOR_PRICE__INIT,
				      c2 = DEALDESK__V1__COMPETITOR_PRICE__INIT;
	c1.competitor = "shop1";
	c1.currency = "USD";
	c1.price = 1500;
	c1.observed_at = T0 - DAY;
	c2.competitor = "shop2";
	c2.currency = "EUR";
	c2.price = 1100;
	c2.observed_at = T0 - 2 * DAY;
	Dealdesk__V1__CompetitorPrice *cs[] = { &c1, &c2 };
	Dealdesk__V1__SkuSignals s = DEALDESK__V1__SKU_SIGNALS__INIT;
	s.sku = "V";
	s.inventory_on_hand = 50;
	s.inventory_at = T0 - 2 * DAY;
	s.demand_per_week = 3;
	s.demand_at = T0 - 3 * DAY;
	s.competitor_prices = cs;
	s.n_competitor_prices = 2;
	fx_put(f, DD_ENTITY_SIGNALS, &s.base);

	char *a[] = { "A" };
	Dealdesk__V1__Promotion p = fx_promo("BUD", KIND(PERCENTAGE));
	p.percent_bps = 1000;
	p.skus = a;
	p.n_skus = 1;
	p.requires_coupon = 1;
	p.budget_uses = 100;
	fx_put_promo(f, &p);
	p = fx_promo("PLAIN", KIND(PERCENTAGE));
	p.percent_bps = 100;
	p.priority = 9;
	fx_put_promo(f, &p);
	Dealdesk__V1__Coupon k = DEALDESK__V1__COUPON__INIT;
	k.code = "SAVE";
	k.promotion_id = "BUD";
	k.enabled = 1;
	k.max_uses = 10;
	fx_put(f, DD_ENTITY_COUPON, &k.base);
	k.code = "OLDC";
	k.valid_to = T0;
	fx_put(f, DD_ENTITY_COUPON, &k.base);
	fx_put_usage(f, "c", "SAVE", NULL, 4, 0);
	fx_put_usage(f, "c", "SAVE", "viewer", 1, 0);
	fx_put_usage(f, "p", "BUD", NULL, 2, 300);
	fx_put_usage(f, "p", "BUD", "viewer", 1, 100);
}

static int setup_view(void **state)
{
	fx_setup(state);
	view_data(*state);
	return 0;
}

/* 3 x V (tier 2: 12.34, clearance 15 % rounded down: 1.85 off -> 10.49)
 * and 1 x A, with three codes and three attributes (k1 twice). */
static void view_request(req_buf *b)
{
	req_init(b, "viewer", "USD", "web");
	b->r.region = "eu";
	b->r.order_id = "ord-7";
	req_line(b, "V", 3);
	req_line(b, "A", 1);
	req_coupon(b, "SAVE");
	req_coupon(b, "OLDC");
	req_coupon(b, "NOPE");
	req_attr(b, "k1", "v1");
	req_attr(b, "k2", "v2");
	req_attr(b, "k1", "v3");
}

/* The value the policy reported for code (a promotion note). */
static const char *reported(const Dealdesk__V1__QuoteResponse *r, const char *code)
{
	for (size_t i = 0; i < r->n_promotion_notes; i++)
		if (!strcmp(r->promotion_notes[i]->code, code))
			return r->promotion_notes[i]->message;
	fail_msg("nothing reported for %s", code);
	return NULL;
}

static void expect(const Dealdesk__V1__QuoteResponse *r, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void expect(const Dealdesk__V1__QuoteResponse *r, const char *code, const char *fmt, ...)
{
	char want[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(want, sizeof(want), fmt, ap);
	va_end(ap);
	const char *got = reported(r, code);
	if (strcmp(got, want) != 0)
		fail_msg("%s = '%s', wanted '%s'", code, got, want);
}

/* A promotions policy: `body` runs in apply(ctx, promotions) with put(k, v)
 * reporting a value; apply returns the notes. */
static void activate_reporter(fixture *f, const char *body)
{
	const char *src = dd_arena_printf(
		&f->scratch,
		"local function s(v)\n"
		"  if type(v) == 'boolean' then return v and 'true' or 'false' end\n"
		"  return tostring(v)\n"
		"end\n"
		"function apply(ctx, promotions)\n"
		"  local out = {}\n"
		"  local function put(k, v)\n"
		"    out[#out + 1] = { promotion = 'VIEW', code = k, message = s(v) }\n"
		"  end\n"
		"  local function each(prefix, t, keys)\n"
		"    for _, k in ipairs(keys) do put(prefix .. k, t[k]) end\n"
		"  end\n"
		"  local function count(t)\n"
		"    local n = 0\n"
		"    for _ in pairs(t) do n = n + 1 end\n"
		"    return n\n"
		"  end\n"
		"  local function fails(f)\n"
		"    local ok, e = pcall(f)\n"
		"    return ok and 'no error' or tostring(e)\n"
		"  end\n"
		"%s\n"
		"  return { notes = out }\n"
		"end\n",
		body);
	fx_activate(f, DD_POLICY_PROMOTIONS, src);
}

/* ---- every field ------------------------------------------------------------------- */

static void test_ctx_fields(void **state)
{
	fixture *f = *state;
	activate_reporter(
		f,
		"  each('', ctx, { 'now', 'currency', 'exponent', 'channel', 'region', 'order_id',\n"
		"                  'explain', 'subtotal', 'discount_total', 'total', 'nothing' })\n"
		"  each('customer.', ctx.customer, { 'id', 'name', 'group', 'segment', 'tier',\n"
		"        'loyalty_tier', 'order_count', 'first_order_at', 'last_order_at' })\n"
		"  each('credit.', ctx.customer.credit, { 'present', 'currency', 'limit',\n"
		"        'open_receivables', 'committed_orders', 'terms_days', 'overdue_days', 'tier',\n"
		"        'next_review_at', 'hold' })\n"
		"  put('#lines', #ctx.lines)\n"
		"  put('lines[3]', ctx.lines[3])\n"
		"  for i = 1, #ctx.lines do\n"
		"    each('l' .. i .. '.', ctx.lines[i], { 'no', 'sku', 'name', 'quantity', 'category',\n"
		"         'price_list', 'price_tier', 'list_price', 'unit_price', 'unit_cost', 'floor',\n"
		"         'ceiling', 'list_subtotal', 'subtotal', 'rounding', 'gift', 'discount',\n"
		"         'total', 'signals' })\n"
		"  end\n"
		"  local sg = ctx.lines[1].signals\n"
		"  each('s.', sg, { 'inventory', 'inventory_at', 'demand_per_week', 'demand_at' })\n"
		"  put('#competitors', #sg.competitors)\n"
		"  put('competitors[3]', sg.competitors[3])\n"
		"  for j = 1, #sg.competitors do\n"
		"    each('c' .. j .. '.', sg.competitors[j], { 'competitor', 'currency', 'price',\n"
		"         'observed_at' })\n"
		"  end\n"
		"  each('coupons.', ctx.coupons, { 'SAVE', 'OLDC', 'NOPE', 'OTHER' })\n"
		"  put('#coupon_list', #ctx.coupon_list)\n"
		"  each('coupon_list.', ctx.coupon_list, { 1, 2, 3, 4 })\n"
		"  put('coupon_info.NOPE', ctx.coupon_info.NOPE)\n"
		"  for _, code in ipairs({ 'SAVE', 'OLDC' }) do\n"
		"    each('ci.' .. code .. '.', ctx.coupon_info[code], { 'promotion', 'valid', 'reason',\n"
		"         'uses', 'customer_uses' })\n"
		"  end\n"
		"  each('usage.BUD.', ctx.usage.BUD, { 'uses', 'amount', 'customer_uses',\n"
		"        'customer_amount' })\n"
		"  put('usage.PLAIN', ctx.usage.PLAIN)\n"
		"  each('attr.', ctx.attributes, { 'k1', 'k2', 'none' })\n"
		"  put('#promotions', #promotions)\n"
		"  put('promotions[1].id', promotions[1].id)\n");
	req_buf b;
	view_request(&b);
	Dealdesk__V1__QuoteResponse *r = quote_ok(f, &b);
	/* the order */
	expect(r, "now", "%d", T0);
	expect(r, "currency", "USD");
	expect(r, "exponent", "2");
	expect(r, "channel", "web");
	expect(r, "region", "eu");
	expect(r, "order_id", "ord-7");
	expect(r, "explain", "false");
	/* after pricing, before the promotions: 3 x 10.49 + 10.00 */
	expect(r, "subtotal", "4147");
	expect(r, "discount_total", "0");
	expect(r, "total", "4147");
	expect(r, "nothing", "nil");
	/* the customer and its credit profile */
	expect(r, "customer.id", "viewer");
	expect(r, "customer.name", "View Co");
	expect(r, "customer.group", "retail");
	expect(r, "customer.segment", "loyal");
	expect(r, "customer.tier", "B");
	expect(r, "customer.loyalty_tier", "gold");
	expect(r, "customer.order_count", "3");
	expect(r, "customer.first_order_at", "%d", FIRST_ORDER);
	expect(r, "customer.last_order_at", "%d", LAST_ORDER);
	expect(r, "credit.present", "true");
	expect(r, "credit.currency", "USD");
	expect(r, "credit.limit", "500000");
	expect(r, "credit.open_receivables", "1000");
	expect(r, "credit.committed_orders", "2000");
	expect(r, "credit.terms_days", "45");
	expect(r, "credit.overdue_days", "5");
	expect(r, "credit.tier", "B");
	expect(r, "credit.next_review_at", "%d", REVIEW_AT);
	expect(r, "credit.hold", "false");
	/* the lines */
	expect(r, "#lines", "2");
	expect(r, "lines[3]", "nil");
	expect(r, "l1.no", "0");
	expect(r, "l1.sku", "V");
	expect(r, "l1.name", "Viewable");
	expect(r, "l1.quantity", "3");
	expect(r, "l1.category", "vc");
	expect(r, "l1.price_list", "vl");
	expect(r, "l1.price_tier", "2");
	expect(r, "l1.list_price", "1234");
	expect(r, "l1.unit_price", "1049");
	expect(r, "l1.unit_cost", "567");
	expect(r, "l1.floor", "1000");
	expect(r, "l1.ceiling", "2000");
	expect(r, "l1.list_subtotal", "3702");
	expect(r, "l1.subtotal", "3147");
	expect(r, "l1.rounding", "down");
	expect(r, "l1.gift", "false");
	expect(r, "l1.discount", "0");
	expect(r, "l1.total", "3147");
	expect(r, "l2.no", "1");
	expect(r, "l2.sku", "A");
	expect(r, "l2.name", "%s", "");
	expect(r, "l2.category", "x");
	expect(r, "l2.price_list", "usd");
	expect(r, "l2.price_tier", "1");
	expect(r, "l2.unit_price", "1000");
	expect(r, "l2.floor", "0");
	expect(r, "l2.rounding", "half_up");
	expect(r, "l2.signals", "nil");
	/* the signals of line 1 */
	expect(r, "s.inventory", "50");
	expect(r, "s.inventory_at", "%d", T0 - 2 * DAY);
	expect(r, "s.demand_per_week", "3");
	expect(r, "s.demand_at", "%d", T0 - 3 * DAY);
	expect(r, "#competitors", "2");
	expect(r, "competitors[3]", "nil");
	expect(r, "c1.competitor", "shop1");
	expect(r, "c1.currency", "USD");
	expect(r, "c1.price", "1500");
	expect(r, "c1.observed_at", "%d", T0 - DAY);
	expect(r, "c2.competitor", "shop2");
	expect(r, "c2.currency", "EUR");
	expect(r, "c2.price", "1100");
	/* codes: a set, a list, and the Coupon records among them */
	expect(r, "coupons.SAVE", "true");
	expect(r, "coupons.NOPE", "true");
	expect(r, "coupons.OTHER", "nil");
	expect(r, "#coupon_list", "3");
	expect(r, "coupon_list.1", "SAVE");
	expect(r, "coupon_list.2", "OLDC");
	expect(r, "coupon_list.3", "NOPE");
	expect(r, "coupon_list.4", "nil");
	expect(r, "coupon_info.NOPE", "nil");
	expect(r, "ci.SAVE.promotion", "BUD");
	expect(r, "ci.SAVE.valid", "true");
	expect(r, "ci.SAVE.reason", "%s", "");
	expect(r, "ci.SAVE.uses", "4");
	expect(r, "ci.SAVE.customer_uses", "1");
	expect(r, "ci.OLDC.promotion", "BUD");
	expect(r, "ci.OLDC.valid", "false");
	expect(r, "ci.OLDC.reason", "EXPIRED: the code has expired");
	expect(r, "ci.OLDC.uses", "0");
	/* budget counters of the candidates that have budgets */
	expect(r, "usage.BUD.uses", "2");
	expect(r, "usage.BUD.amount", "300");
	expect(r, "usage.BUD.customer_uses", "1");
	expect(r, "usage.BUD.customer_amount", "100");
	expect(r, "usage.PLAIN", "nil");
	/* the last value of a key given twice */
	expect(r, "attr.k1", "v3");
	expect(r, "attr.k2", "v2");
	expect(r, "attr.none", "nil");
	expect(r, "#promotions", "2");
	expect(r, "promotions[1].id", "BUD");
	/* with explain */
	b.r.explain = 1;
	expect(quote_ok(f, &b), "explain", "true");
}

/* What the pricing policy sees (before any price change) and what the
 * credit and compliance policies see (after the promotions, gift lines
 * included). */
static void test_ctx_at_each_stage(void **state)
{
	fixture *f = *state;
	fx_activate(f, DD_POLICY_PRICING,
	            "function price(ctx)\n"
	            "  local l = ctx.lines[1]\n"
	            "  return { { reason = 'up=' .. l.unit_price .. ' sub=' .. l.subtotal ..\n"
	            "             ' total=' .. l.total .. ' disc=' .. l.discount .. ' n=' .. #ctx.lines } }\n"
	            "end\n");
	Dealdesk__V1__Promotion p = fx_promo("GIFT", KIND(FREE_GIFT));
	p.gift_sku = "G";
	fx_put_promo(f, &p);
	fx_activate(f, DD_POLICY_COMPLIANCE,
	            "function check(ctx, checks)\n"
	            "  local g = ctx.lines[#ctx.lines]\n"
	            "  local a = ctx.lines[2]\n"
	            "  return { { check = 'view', status = 'PASS', message =\n"
	            "    'sub=' .. ctx.subtotal .. ' disc=' .. ctx.discount_total .. ' tot=' .. ctx.total ..\n"
	            "    ' n=' .. #ctx.lines .. ' a.disc=' .. a.discount .. ' a.total=' .. a.total ..\n"
	            "    ' g.sku=' .. g.sku .. ' g.no=' .. g.no .. ' g.gift=' .. tostring(g.gift) ..\n"
	            "    ' g.sub=' .. g.subtotal .. ' g.total=' .. g.total } }\n"
	            "end\n");
	req_buf b;
	view_request(&b);
	Dealdesk__V1__QuoteResponse *r = quote_ok(f, &b);
	/* pricing: the list price, before anything */
	assert_string_equal(r->lines[0]->price_reason, "up=1234 sub=3702 total=3702 disc=0 n=2");
	/* BUD (SAVE is valid): 10 % off A = 1.00; PLAIN: 1 % of 37.02 (V at
	 * list now) = 0.37 (down) and of 9.00 = 0.09; the gift G 7.00 */
	assert_int_equal(discount_of(r->lines[1], "BUD"), 100);
	assert_int_equal(discount_of(r->lines[0], "PLAIN"), 37);
	assert_int_equal(discount_of(r->lines[1], "PLAIN"), 9);
	const Dealdesk__V1__ComplianceResult *c = result_of(r, "view", -1);
	assert_non_null(c);
	assert_string_equal(c->message, "sub=5402 disc=846 tot=4556 n=3 a.disc=109 a.total=891 "
	                                "g.sku=G g.no=2 g.gift=true g.sub=700 g.total=0");
	assert_int_equal(r->total, 4556);
}

/* The credit policy's second argument. */
static void test_credit_argument(void **state)
{
	fixture *f = *state;
	fx_activate(f, DD_POLICY_CREDIT,
	            "local keys = { 'present', 'same_currency', 'currency', 'limit',\n"
	            "  'open_receivables', 'committed_orders', 'order_total', 'exposure', 'available',\n"
	            "  'terms_days', 'overdue_days', 'tier', 'next_review_at', 'hold', 'nothing' }\n"
	            "function decide(ctx, credit)\n"
	            "  local rs = {}\n"
	            "  for i, k in ipairs(keys) do rs[i] = k .. '=' .. tostring(credit[k]) end\n"
	            "  local ok, e = pcall(function() credit.limit = 1 end)\n"
	            "  rs[#rs + 1] = 'write=' .. tostring(e)\n"
	            "  local n = 0\n"
	            "  for _ in pairs(credit) do n = n + 1 end\n"
	            "  rs[#rs + 1] = 'pairs=' .. n\n"
	            "  rs[#rs + 1] = 'ctx.total=' .. ctx.total\n"
	            "  return { outcome = 'REVIEW', reasons = rs }\n"
	            "end\n");
	fx_activate(f, DD_POLICY_PROMOTIONS, "function apply(ctx, p) return nil end");
	req_buf b;
	view_request(&b);
	Dealdesk__V1__QuoteResponse *r = quote_ok(f, &b);
	const Dealdesk__V1__CreditDecision *d = r->credit;
	/* 3 x 10.49 + 10.00 = 41.47; exposure 10.00 + 20.00 + 41.47 */
	char want[20][96];
	int n = 0;
	snprintf(want[n++], 96, "present=true");
	snprintf(want[n++], 96, "same_currency=true");
	snprintf(want[n++], 96, "currency=USD");
	snprintf(want[n++], 96, "limit=500000");
	snprintf(want[n++], 96, "open_receivables=1000");
	snprintf(want[n++], 96, "committed_orders=2000");
	snprintf(want[n++], 96, "order_total=4147");
	snprintf(want[n++], 96, "exposure=7147");
	snprintf(want[n++], 96, "available=%d", 500000 - 7147);
	snprintf(want[n++], 96, "terms_days=45");
	snprintf(want[n++], 96, "overdue_days=5");
	snprintf(want[n++], 96, "tier=B");
	snprintf(want[n++], 96, "next_review_at=%d", REVIEW_AT);
	snprintf(want[n++], 96, "hold=false");
	snprintf(want[n++], 96, "nothing=nil");
	snprintf(want[n++], 96, "write=credit.v2:7: credit is read-only");
	/* with blocked, max_order_value, score and the tier's row: tier_from,
	 * approve/shorter/deposit_bps, beyond, shorter_terms_days,
	 * review/decline_overdue_days */
	snprintf(want[n++], 96, "pairs=27"); /* and horizon_days, open_orders_beyond_horizon */
	snprintf(want[n++], 96, "ctx.total=4147");
	assert_int_equal(d->n_reasons, (size_t)n);
	for (int i = 0; i < n; i++)
		assert_string_equal(d->reasons[i], want[i]);
	/* in another currency; and without a credit profile */
	fx_price_full(f, "eur", "A", "EUR", "x", 900, 0, 0, 0);
	req_init(&b, "viewer", "EUR", "");
	req_line(&b, "A", 1);
	d = quote_ok(f, &b)->credit;
	assert_string_equal(d->reasons[1], "same_currency=false");
	assert_string_equal(d->reasons[6], "order_total=900");
	assert_string_equal(d->reasons[7], "exposure=3000"); /* the order not counted */
	fx_customer cash;
	fx_customer_init(&cash, "cash", "USD", "", 0);
	cash.c.credit = NULL;
	fx_put_customer(f, &cash);
	req_init(&b, "cash", "USD", "");
	req_line(&b, "A", 1);
	d = quote_ok(f, &b)->credit;
	assert_string_equal(d->reasons[0], "present=false");
	assert_string_equal(d->reasons[1], "same_currency=false");
	assert_string_equal(d->reasons[2], "currency=");
	assert_string_equal(d->reasons[3], "limit=0");
	assert_string_equal(d->reasons[7], "exposure=0");
	assert_string_equal(d->reasons[11], "tier=");
	assert_string_equal(d->reasons[13], "hold=false");
}

static void test_no_credit_profile_in_ctx(void **state)
{
	fixture *f = *state;
	activate_reporter(f, "  each('credit.', ctx.customer.credit, { 'present', 'currency', 'limit',\n"
	                     "       'tier', 'hold' })\n"
	                     "  put('customer.tier', ctx.customer.tier)\n");
	fx_customer cash;
	fx_customer_init(&cash, "cash", "USD", "", 0);
	cash.c.credit = NULL;
	fx_put_customer(f, &cash);
	req_buf b;
	req_init(&b, "cash", "USD", "");
	req_line(&b, "A", 1);
	Dealdesk__V1__QuoteResponse *r = quote_ok(f, &b);
	expect(r, "credit.present", "false");
	expect(r, "credit.currency", "%s", "");
	expect(r, "credit.limit", "0");
	expect(r, "credit.tier", "%s", "");
	expect(r, "credit.hold", "false");
	expect(r, "customer.tier", "%s", "");
}

/* ---- read-only, pairs, #, metatables ------------------------------------------------ */

static void test_writes_fail(void **state)
{
	fixture *f = *state;
	activate_reporter(
		f,
		"  local l = ctx.lines[1]\n"
		"  local sg = l.signals\n"
		"  local w = {\n"
		"    { 'ctx', function() ctx.now = 1 end },\n"
		"    { 'ctx.new', function() ctx.newfield = 1 end },\n"
		"    { 'customer', function() ctx.customer.id = 'x' end },\n"
		"    { 'credit', function() ctx.customer.credit.limit = 0 end },\n"
		"    { 'lines', function() ctx.lines[1] = {} end },\n"
		"    { 'lines.append', function() ctx.lines[3] = {} end },\n"
		"    { 'line', function() l.unit_price = 0 end },\n"
		"    { 'signals', function() sg.inventory = 0 end },\n"
		"    { 'competitors', function() sg.competitors[1] = 0 end },\n"
		"    { 'competitor', function() sg.competitors[1].price = 0 end },\n"
		"    { 'coupons', function() ctx.coupons.X = true end },\n"
		"    { 'coupon_list', function() ctx.coupon_list[1] = 'x' end },\n"
		"    { 'attributes', function() ctx.attributes.k1 = 'x' end },\n"
		"    { 'coupon_info', function() ctx.coupon_info.SAVE = 1 end },\n"
		"    { 'coupon', function() ctx.coupon_info.SAVE.uses = 0 end },\n"
		"    { 'usage', function() ctx.usage.BUD = 1 end },\n"
		"    { 'usage.entry', function() ctx.usage.BUD.uses = 0 end },\n"
		"    { 'promotions', function() promotions[1] = 1 end },\n"
		"    { 'promotion', function() promotions[1].percent_bps = 10000 end },\n"
		"    { 'promotion.skus', function() promotions[1].skus.B = true end },\n"
		"    { 'setmetatable', function() setmetatable(ctx, {}) end },\n"
		"    { 'setmetatable.view', function() setmetatable(sg, {}) end },\n"
		"    { 'global', function() dd.bucket = nil end },\n"
		"  }\n"
		"  for _, t in ipairs(w) do put('w.' .. t[1], fails(t[2])) end\n"
		"  put('after', ctx.now .. ' ' .. l.unit_price .. ' ' .. sg.inventory .. ' ' ..\n"
		"      promotions[1].percent_bps .. ' ' .. tostring(ctx.newfield))\n");
	req_buf b;
	view_request(&b);
	Dealdesk__V1__QuoteResponse *r = quote_ok(f, &b);
	static const struct {
		const char *code, *error;
	} want[] = {
		{ "w.ctx", "ctx is read-only" },
		{ "w.ctx.new", "ctx is read-only" },
		{ "w.customer", "ctx.customer is read-only" },
		{ "w.credit", "ctx.customer.credit is read-only" },
		{ "w.lines", "ctx.lines is read-only" },
		{ "w.lines.append", "ctx.lines is read-only" },
		{ "w.line", "ctx.lines[i] is read-only" },
		{ "w.signals", "ctx.lines[i].signals is read-only" },
		{ "w.competitors", "ctx.lines[i].signals.competitors is read-only" },
		{ "w.competitor", "competitor is read-only" },
		{ "w.coupons", "ctx.coupons is read-only" },
		{ "w.coupon_list", "ctx.coupon_list is read-only" },
		{ "w.attributes", "ctx.attributes is read-only" },
		{ "w.coupon_info", "ctx.coupon_info is read-only" },
		{ "w.coupon", "ctx.coupon_info[code] is read-only" },
		{ "w.usage", "ctx.usage is read-only" },
		{ "w.usage.entry", "ctx.usage[id] is read-only" },
		{ "w.promotions", "promotions is read-only" },
		{ "w.promotion", "read-only" },
		{ "w.promotion.skus", "read-only" },
		{ "w.setmetatable", "cannot change a protected metatable" },
		{ "w.setmetatable.view", "table expected, got userdata" },
		{ "w.global", "read-only" },
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const char *got = reported(r, want[i].code);
		if (strstr(got, want[i].error) == NULL)
			fail_msg("%s: '%s' lacks '%s'", want[i].code, got, want[i].error);
	}
	/* nothing changed */
	expect(r, "after", "%d 1049 50 1000 nil", T0);
	assert_int_equal(r->lines[0]->unit_price, 1049);
}

static void test_pairs_length_and_metatables(void **state)
{
	fixture *f = *state;
	activate_reporter(
		f,
		"  local l1, l2 = ctx.lines[1], ctx.lines[2]\n"
		"  local sg = l1.signals\n"
		"  put('n.ctx', count(ctx))\n"
		"  put('n.customer', count(ctx.customer))\n"
		"  put('n.credit', count(ctx.customer.credit))\n"
		"  put('n.lines', count(ctx.lines))\n"
		"  put('n.line1', count(l1))\n"
		"  put('n.line2', count(l2))\n"
		"  put('n.signals', count(sg))\n"
		"  put('n.competitors', count(sg.competitors))\n"
		"  put('n.competitor', count(sg.competitors[1]))\n"
		"  put('n.coupons', count(ctx.coupons))\n"
		"  put('n.coupon_list', count(ctx.coupon_list))\n"
		"  put('n.attributes', count(ctx.attributes))\n"
		"  put('n.coupon_info', count(ctx.coupon_info))\n"
		"  put('n.coupon', count(ctx.coupon_info.SAVE))\n"
		"  put('n.usage', count(ctx.usage))\n"
		"  put('n.usage.entry', count(ctx.usage.BUD))\n"
		"  put('n.promotions', count(promotions))\n"
		"  local n = 0\n"
		"  for i, l in ipairs(ctx.lines) do n = n + i end\n"
		"  put('ipairs.lines', n)\n"
		"  local codes = {}\n"
		"  for _, c in ipairs(ctx.coupon_list) do codes[#codes + 1] = c end\n"
		"  put('ipairs.coupon_list', table.concat(codes, ','))\n"
		"  local who = {}\n"
		"  for _, c in ipairs(sg.competitors) do who[#who + 1] = c.competitor end\n"
		"  put('ipairs.competitors', table.concat(who, ','))\n"
		"  -- pairs gives what indexing gives\n"
		"  local same = true\n"
		"  for _, t in ipairs({ ctx, ctx.customer, ctx.customer.credit, l1, l2, sg,\n"
		"                       sg.competitors[2], ctx.coupons, ctx.attributes,\n"
		"                       ctx.coupon_info, ctx.coupon_info.OLDC, ctx.usage.BUD }) do\n"
		"    for k, v in pairs(t) do\n"
		"      if type(v) ~= 'userdata' and type(v) ~= 'table' and t[k] ~= v then same = false end\n"
		"    end\n"
		"  end\n"
		"  put('pairs.same', same)\n"
		"  local keys = {}\n"
		"  for k, v in pairs(ctx.attributes) do keys[#keys + 1] = k .. '=' .. v end\n"
		"  put('pairs.attributes', table.concat(keys, ','))\n"
		"  keys = {}\n"
		"  for k in pairs(sg) do keys[#keys + 1] = k end\n"
		"  put('pairs.signals', table.concat(keys, ','))\n"
		"  keys = {}\n"
		"  for k in pairs(ctx.coupon_info) do keys[#keys + 1] = k end\n"
		"  put('pairs.coupon_info', table.concat(keys, ','))\n"
		"  put('len.lines', #ctx.lines)\n"
		"  put('len.coupon_list', #ctx.coupon_list)\n"
		"  put('len.competitors', #sg.competitors)\n"
		"  put('len.promotions', #promotions)\n"
		"  for _, t in ipairs({ { 'ctx', ctx }, { 'customer', ctx.customer },\n"
		"      { 'credit', ctx.customer.credit }, { 'lines', ctx.lines }, { 'line', l1 },\n"
		"      { 'signals', sg }, { 'competitors', sg.competitors },\n"
		"      { 'competitor', sg.competitors[1] }, { 'coupons', ctx.coupons },\n"
		"      { 'coupon_list', ctx.coupon_list }, { 'attributes', ctx.attributes },\n"
		"      { 'coupon_info', ctx.coupon_info }, { 'usage', ctx.usage },\n"
		"      { 'promotions', promotions } }) do\n"
		"    put('mt.' .. t[1], getmetatable(t[2]))\n"
		"  end\n"
		"  -- raw access reaches nothing behind a proxy or a view\n"
		"  put('rawget', rawget(ctx, 'now'))\n"
		"  put('rawlen', rawlen(ctx.lines))\n"
		"  put('next', next(ctx))\n"
		"  put('type.ctx', type(ctx))\n"
		"  put('type.signals', type(sg))\n");
	req_buf b;
	view_request(&b);
	Dealdesk__V1__QuoteResponse *r = quote_ok(f, &b);
	expect(r, "n.ctx", "17");
	expect(r, "n.customer", "11"); /* with rfm (ctx.customer.rfm) */
	expect(r, "n.credit", "13"); /* with blocked, max_order_value, score */
	expect(r, "n.lines", "2");
	expect(r, "n.line1", "19");
	expect(r, "n.line2", "18"); /* no signals */
	expect(r, "n.signals", "5");
	expect(r, "n.competitors", "2");
	expect(r, "n.competitor", "4");
	expect(r, "n.coupons", "3");
	expect(r, "n.coupon_list", "3");
	expect(r, "n.attributes", "2");
	expect(r, "n.coupon_info", "2");
	expect(r, "n.coupon", "5");
	expect(r, "n.usage", "1");
	expect(r, "n.usage.entry", "4");
	expect(r, "n.promotions", "2");
	expect(r, "ipairs.lines", "3");
	expect(r, "ipairs.coupon_list", "SAVE,OLDC,NOPE");
	expect(r, "ipairs.competitors", "shop1,shop2");
	expect(r, "pairs.same", "true");
	expect(r, "pairs.attributes", "k2=v2,k1=v3");
	expect(r, "pairs.signals", "inventory,inventory_at,demand_per_week,demand_at,competitors");
	expect(r, "pairs.coupon_info", "SAVE,OLDC");
	expect(r, "len.lines", "2");
	expect(r, "len.coupon_list", "3");
	expect(r, "len.competitors", "2");
	expect(r, "len.promotions", "2");
	const char *mts[] = { "ctx", "customer", "credit", "lines", "line", "signals", "competitors",
		              "competitor", "coupons", "coupon_list", "attributes", "coupon_info",
		              "usage", "promotions" };
	for (size_t i = 0; i < sizeof(mts) / sizeof(mts[0]); i++) {
		char code[32];
		snprintf(code, sizeof(code), "mt.%s", mts[i]);
		expect(r, code, "false");
	}
	expect(r, "rawget", "nil");
	expect(r, "rawlen", "0");
	expect(r, "next", "nil");
	expect(r, "type.ctx", "table");
	expect(r, "type.signals", "userdata");
}

/* ---- views kept past their quote ------------------------------------------------------ */

/* Nothing a policy sees can be kept for a later evaluation: a function
 * that writes a field of a top-level local is refused at upload, and a
 * table a top-level local holds is read-only (issue 9: no state between
 * evaluations). Views keep their generation check behind that. */
static void test_kept_views_refuse_to_be_read(void **state)
{
	fixture *f = *state;
	dd_error err;
	dd_arena a;
	dd_arena_init(&a, 0, 0);
	Dealdesk__V1__PolicyScript *p;
	int rc = dd_policy_upload(f->store, DD_POLICY_PROMOTIONS,
	                          "local kept = {}\n"
	                          "function apply(ctx, promotions)\n"
	                          "  kept.signals = ctx.lines[1].signals\n"
	                          "end\n",
	                          "tester", "", T0, NULL, &a, &p, &err);
	dd_arena_free(&a);
	assert_int_equal(rc, DD_EINVAL);
	if (strstr(err.msg, "line 2 assigns to a field of 'kept', which outlives the "
	                    "evaluation") == NULL)
		fail_msg("refusal: %s", err.msg);
	fx_activate(f, DD_POLICY_PROMOTIONS,
	            "local kept = {}\n"
	            "function apply(ctx, promotions)\n"
	            "  local ok, e = pcall(function() kept[1] = ctx.lines[1].signals end)\n"
	            "  return { notes = { { promotion = 'KEPT', code = 'kept',\n"
	            "                       message = ok and 'kept' or tostring(e) } } }\n"
	            "end\n");
	req_buf b;
	view_request(&b);
	for (int i = 0; i < 2; i++) {
		Dealdesk__V1__QuoteResponse *r = quote_ok(f, &b);
		const char *got = reported(r, "kept");
		if (strstr(got, "a table the top level made is read-only") == NULL)
			fail_msg("quote %d: '%s'", i, got);
	}
}

/* A line proxy cannot be kept either: the attempt fails in the evaluation
 * that makes it, and the next quote reads its own lines. */
static void test_kept_line_proxy_is_not_stale(void **state)
{
	fixture *f = *state;
	fx_activate(f, DD_POLICY_PROMOTIONS,
	            "local kept = {}\n"
	            "function apply(ctx, promotions)\n"
	            "  local ok, e = pcall(function() kept[1] = ctx.lines[2] end)\n"
	            "  local sku = kept[1] and kept[1].sku or 'none'\n"
	            "  return { notes = { { promotion = 'KEPT', code = 'line',\n"
	            "                       message = sku .. ' ' .. tostring(e) } } }\n"
	            "end\n");
	req_buf b;
	view_request(&b);
	quote_ok(f, &b);
	req_c1(&b);
	req_line(&b, "D", 1);
	Dealdesk__V1__QuoteResponse *r = quote_ok(f, &b);
	const char *got = reported(r, "line");
	if (strncmp(got, "none ", 5) != 0 || strstr(got, "read-only") == NULL)
		fail_msg("kept line: '%s'", got);
}

/* Was a bug (fixed): after a quote with fewer lines, a later quote with more lines shows
 * the policies a truncated ctx.lines: view.c sync sets lines_raw[i] = nil
 * for the lines past the shorter order, and push_line, finding the raw
 * table of line i still in line_raws, never puts its proxy back into
 * lines_raw. So on a long-lived quoter (every server worker) a 3-line
 * order quoted after a 1-line order has #ctx.lines == 1: the shipped
 * pricing policy prices lines 2 and 3 at list (no member price, no
 * clearance, no competitor match), and credit and compliance policies do
 * not see gift lines after an order without one (or on the same order
 * quoted again, below). Fails with "0x1f4 != 0x1c2": line 2 (B) at 5.00
 * instead of the member price 4.50.
 * Disabled so that the suite stays green. */
static void test_lines_view_after_a_shorter_order(void **state)
{
	fixture *f = *state;
	fx_customer wh;
	fx_customer_init(&wh, "wh", "USD", "A", 1000000000);
	wh.c.customer_group = "wholesale";
	fx_put_customer(f, &wh);
	req_buf three, one;
	req_init(&three, "wh", "USD", "web");
	req_line(&three, "A", 1);
	req_line(&three, "B", 1);
	req_line(&three, "C", 1);
	req_init(&one, "wh", "USD", "web");
	req_line(&one, "A", 1);
	Dealdesk__V1__QuoteResponse *r = quote_ok(f, &three);
	/* member prices, 10 % below list */
	assert_int_equal(r->lines[1]->unit_price, 450);
	assert_int_equal(r->lines[2]->unit_price, 270);
	quote_ok(f, &one);
	r = quote_ok(f, &three);
	assert_int_equal(r->lines[0]->unit_price, 900);
	assert_int_equal(r->lines[1]->unit_price, 450);
	assert_int_equal(r->lines[2]->unit_price, 270);
}

/* The same, seen by the compliance policy: the gift line of an order,
 * quoted twice. */
static void test_gift_line_view_on_a_repeated_quote(void **state)
{
	fixture *f = *state;
	Dealdesk__V1__Promotion p = fx_promo("GIFT", KIND(FREE_GIFT));
	p.gift_sku = "G";
	fx_put_promo(f, &p);
	fx_activate(f, DD_POLICY_COMPLIANCE,
	            "function check(ctx, checks)\n"
	            "  return { { check = 'n', status = 'PASS', message = tostring(#ctx.lines) } }\n"
	            "end\n");
	req_buf b;
	req_c1(&b);
	req_line(&b, "A", 1);
	Dealdesk__V1__QuoteResponse *r = quote_ok(f, &b);
	assert_int_equal(r->n_lines, 2);
	assert_string_equal(r->compliance[0]->message, "2");
	r = quote_ok(f, &b);
	assert_string_equal(r->compliance[0]->message, "2");
}

/* One quoter, carts that differ in every line field, alternating: the
 * reused line tables are written only where a field changed, so what a
 * policy sees must still be each cart's own, field for field (a line
 * slot going from a SKU with market signals to one without and back). */
static void test_alternating_carts_see_their_own_lines(void **state)
{
	fixture *f = *state;
	fx_price(f, "B", "x", 500, 200);
	fx_price(f, "C", "y", 300, 100);
	fx_activate(f, DD_POLICY_COMPLIANCE,
	            "function check(ctx, checks)\n"
	            "  local out = {}\n"
	            "  for i = 1, #ctx.lines do\n"
	            "    local l = ctx.lines[i]\n"
	            "    out[i] = { check = 'v', status = 'PASS', line = i - 1,\n"
	            "      message = l.no .. ' ' .. l.sku .. ' x' .. l.quantity .. ' ' .. l.category ..\n"
	            "        ' ' .. l.list_price .. ' ' .. l.unit_price .. ' ' .. l.total .. ' ' ..\n"
	            "        (l.signals ~= nil and 'signals' or 'none') }\n"
	            "  end\n"
	            "  out[#out + 1] = { check = 'o', status = 'PASS', line = -1,\n"
	            "    message = #ctx.lines .. ' ' .. ctx.subtotal .. ' ' .. ctx.total }\n"
	            "  return out\n"
	            "end\n");
	req_buf x, y;
	req_init(&x, "viewer", "USD", "web");
	req_line(&x, "A", 1);
	req_line(&x, "V", 3);
	req_init(&y, "viewer", "USD", "web");
	req_line(&y, "V", 2);
	req_line(&y, "B", 2);
	req_line(&y, "C", 1);
	for (int round = 0; round < 5; round++) {
		int is_x = round % 2 == 0;
		Dealdesk__V1__QuoteResponse *r = quote_ok(f, is_x ? &x : &y);
		static const char *const want_x[] = { "0 A x1 x 1000 ", "1 V x3 vc 1234 " };
		static const char *const want_y[] = { "0 V x2 vc 1234 ", "1 B x2 x 500 ", "2 C x1 y 300 " };
		size_t n = is_x ? 2 : 3;
		assert_int_equal(r->n_lines, n);
		assert_int_equal(r->n_compliance, n + 1);
		for (size_t i = 0; i < n; i++) {
			const Dealdesk__V1__QuoteLine *l = r->lines[i];
			char want[160];
			snprintf(want, sizeof(want), "%s%lld %lld %s", is_x ? want_x[i] : want_y[i],
			         (long long)l->unit_price, (long long)l->line_total,
			         !strcmp(l->sku, "V") ? "signals" : "none");
			assert_string_equal(r->compliance[i]->message, want);
		}
		char order[80];
		snprintf(order, sizeof(order), "%zu %lld %lld", n, (long long)r->subtotal,
		         (long long)r->total);
		assert_string_equal(r->compliance[n]->message, order);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ctx_fields, setup_view, fx_teardown),
		cmocka_unit_test_setup_teardown(test_ctx_at_each_stage, setup_view, fx_teardown),
		cmocka_unit_test_setup_teardown(test_credit_argument, setup_view, fx_teardown),
		cmocka_unit_test_setup_teardown(test_no_credit_profile_in_ctx, setup_view, fx_teardown),
		cmocka_unit_test_setup_teardown(test_writes_fail, setup_view, fx_teardown),
		cmocka_unit_test_setup_teardown(test_pairs_length_and_metatables, setup_view,
		                                fx_teardown),
		cmocka_unit_test_setup_teardown(test_kept_views_refuse_to_be_read, setup_view,
		                                fx_teardown),
		cmocka_unit_test_setup_teardown(test_kept_line_proxy_is_not_stale, setup_view,
		                                fx_teardown),
		cmocka_unit_test_setup_teardown(test_lines_view_after_a_shorter_order, setup_view,
		                                fx_teardown),
		cmocka_unit_test_setup_teardown(test_gift_line_view_on_a_repeated_quote, setup_view,
		                                fx_teardown),
		cmocka_unit_test_setup_teardown(test_alternating_carts_see_their_own_lines,
		                                setup_view, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
