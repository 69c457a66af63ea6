"""Pricing and promotions in depth, over gRPC against a real dealdeskd.

Every expected amount is worked out by hand in the comments from the rules in
policies/pricing.lua and policies/promotions.lua (README "Promotions and
stacking"). Each test loads its own promotions into a fresh server."""
import os
import sys
import unittest

import grpc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

m = harness.stubs()
Q, T, A = m["quote_pb2"], m["types_pb2"], m["admin_pb2"]
T0 = harness.T0
DAY = 86400
HALF_UP = T.ROUNDING_MODE_HALF_UP

# catalogue: (sku, category, USD price, cost)
CATALOG = [("A", "x", 1000, 400), ("B", "x", 500, 200), ("C", "y", 300, 100),
           ("D", "z", 2000, 800), ("G", "gift", 700, 300)]


def fnv1a64(data):
    # FNV-1a 64: offset basis 14695981039346656037, prime 1099511628211
    h = 14695981039346656037
    for b in data:
        h = ((h ^ b) * 1099511628211) % (1 << 64)
    return h


def fnv_bucket(key, n):
    return fnv1a64(key.encode()) % n


class PromotionsTest(unittest.TestCase):
    def setUp(self):
        self.s = harness.Server(demo=False)
        entries = [T.PriceEntry(price_list_id="usd", sku=sku, currency="USD", unit_price=price,
                                unit_cost=cost, category=cat, rounding=HALF_UP)
                   for sku, cat, price, cost in CATALOG]
        entries += [T.PriceEntry(price_list_id="jpy", sku="A", currency="JPY", unit_price=1000,
                                 category="x"),
                    T.PriceEntry(price_list_id="kwd", sku="A", currency="KWD", unit_price=1250,
                                 category="x", rounding=HALF_UP),
                    T.PriceEntry(price_list_id="kwd-even", sku="B", currency="KWD", unit_price=1250,
                                 category="x", rounding=T.ROUNDING_MODE_HALF_EVEN)]
        self.s.catalog.PutPriceEntries(A.PutPriceEntriesRequest(entries=entries))
        credit = T.CreditProfile(currency="USD", credit_limit=10**9, standard_terms_days=30, tier="A")
        self.s.customers.PutCustomers(A.PutCustomersRequest(customers=[
            T.Customer(id="c1", customer_group="retail", segment="loyal", loyalty_tier="gold",
                       order_count=3, first_order_at=T0 - 400 * DAY, last_order_at=T0 - 100 * DAY,
                       credit=credit),
            T.Customer(id="c2", customer_group="retail", segment="new", order_count=5,
                       last_order_at=T0 - 10 * DAY, credit=credit),
            T.Customer(id="new1", customer_group="retail", credit=credit),
            T.Customer(id="wh", customer_group="wholesale", credit=credit),
        ]))

    def tearDown(self):
        self.assertEqual(self.s.stop(), 0, self.s.read_log()[-3000:])
        self.s.cleanup()

    # ---- helpers --------------------------------------------------------
    def promos(self, *ps):
        self.s.catalog.PutPromotions(A.PutPromotionsRequest(promotions=list(ps)))

    def quote(self, lines, customer="c1", currency="USD", **kw):
        kw.setdefault("request_time", T0)
        return self.s.quote.Quote(Q.QuoteRequest(
            customer_id=customer, currency=currency, channel="web",
            lines=[Q.LineRequest(sku=s, quantity=n) for s, n in lines], explain=True, **kw))

    def disc(self, r, line, promo=None):
        return sum(d.amount for d in r.lines[line].discounts
                   if promo is None or d.promotion_id == promo)

    def trace(self, r, rule):
        return [(t.applied, t.detail) for t in r.trace if t.stage == "promotions" and t.rule == rule]

    def check_sums(self, r):
        for l in r.lines:
            self.assertEqual(sum(d.amount for d in l.discounts), l.discount_total)
            self.assertEqual(l.line_subtotal - l.discount_total, l.line_total)
            self.assertGreaterEqual(l.line_total, 0)
        self.assertEqual(sum(l.line_total for l in r.lines), r.total)
        self.assertEqual(r.subtotal - r.discount_total, r.total)

    def P(self, id, kind, **kw):
        kw.setdefault("enabled", True)
        kw.setdefault("name", id)
        return T.Promotion(id=id, kind=kind, **kw)

    # ---- kinds ----------------------------------------------------------
    def test_fixed_price(self):
        self.promos(self.P("FP", T.PROMOTION_KIND_FIXED_PRICE, skus=["B"], amount=350, currency="USD"))
        r = self.quote([("B", 3)])
        # 3 x 5.00 = 15.00 -> 3 x 3.50 = 10.50: 4.50 off
        self.assertEqual(self.disc(r, 0, "FP"), 450)
        self.assertEqual(r.total, 1050)
        self.check_sums(r)

    def test_buy_x_get_y_cheapest_first(self):
        self.promos(self.P("B2G1", T.PROMOTION_KIND_BUY_X_GET_Y, categories=["x"],
                           buy_quantity=2, get_quantity=1, percent_bps=10000))
        # 4 eligible units (2 A at 10.00, 2 B at 5.00): one group of 3, the
        # cheapest unit (a B) is free
        r = self.quote([("A", 2), ("B", 2)])
        self.assertEqual(self.disc(r, 1, "B2G1"), 500)
        self.assertEqual(self.disc(r, 0, "B2G1"), 0)
        self.assertEqual(r.total, 2500)
        # 7 units: two groups, the two cheapest (both B) free, then half off
        self.promos(self.P("B2G1", T.PROMOTION_KIND_BUY_X_GET_Y, categories=["x"],
                           buy_quantity=2, get_quantity=1, percent_bps=5000))
        r = self.quote([("A", 5), ("B", 2)])
        self.assertEqual(self.disc(r, 1, "B2G1"), 500)  # 2 x 5.00 x 50 %
        self.assertEqual(r.total, 5000 + 1000 - 500)
        self.check_sums(r)

    def test_tiered_and_repeating_thresholds(self):
        self.promos(self.P("TIER", T.PROMOTION_KIND_SPEND_THRESHOLD, currency="USD",
                           tiers=[T.ThresholdTier(threshold=20000, amount=2000),
                                  T.ThresholdTier(threshold=50000, amount=6000)]))
        self.assertEqual(self.quote([("D", 9)]).total, 18000)            # below 200
        self.assertEqual(self.quote([("D", 12)]).total, 24000 - 2000)    # 200 off 20
        r = self.quote([("D", 30), ("C", 1)])                             # 603.00: 500 off 60
        self.assertEqual(r.order_discounts[0].amount, 6000)
        # 6000 over 60000:300 -> 5970.15 / 29.85 -> 5970 / 30
        self.assertEqual(self.disc(r, 0, "TIER"), 5970)
        self.assertEqual(self.disc(r, 1, "TIER"), 30)
        self.check_sums(r)
        self.s.catalog.DeletePromotion(A.PromotionKey(id="TIER"))
        self.promos(self.P("EVERY300", T.PROMOTION_KIND_SPEND_THRESHOLD, currency="USD",
                           threshold=30000, amount=4000, repeating=True))
        self.assertEqual(self.quote([("D", 35)]).total, 70000 - 8000)    # 2 x 40 off
        self.assertEqual(self.quote([("D", 14)]).total, 28000)           # below 300

    def test_threshold_crossed_by_discount(self):
        self.promos(self.P("TENOFF", T.PROMOTION_KIND_PERCENTAGE, skus=["D"], percent_bps=1000,
                           priority=1),
                    self.P("SPEND200", T.PROMOTION_KIND_SPEND_THRESHOLD, currency="USD",
                           threshold=20000, amount=1500, priority=10))
        # 11 x 20.00 = 220.00, 10 % off = 198.00 < 200.00: no threshold
        r = self.quote([("D", 11)])
        self.assertEqual(r.total, 19800)
        self.assertEqual(self.trace(r, "SPEND200"),
                         [(False, "eligible spend 198.00 is below the threshold 200.00")])
        # with the threshold first (priority 0) it sees 220.00 and applies
        self.promos(self.P("SPEND200", T.PROMOTION_KIND_SPEND_THRESHOLD, currency="USD",
                           threshold=20000, amount=1500, priority=0))
        r = self.quote([("D", 11)])
        # 220.00 - 15.00 = 205.00, then 10 % of the 220.00 units' free value
        self.assertEqual(r.total, 22000 - 1500 - 2200)
        self.check_sums(r)

    def test_free_gift(self):
        self.promos(self.P("GIFT", T.PROMOTION_KIND_FREE_GIFT, gift_sku="G", gift_quantity=1,
                           min_amount=5000, currency="USD"))
        r = self.quote([("D", 3)])
        self.assertEqual(len(r.lines), 2)
        g = r.lines[1]
        self.assertTrue(g.gift)
        self.assertEqual((g.sku, g.quantity, g.line_subtotal, g.discount_total, g.line_total),
                         ("G", 1, 700, 700, 0))
        self.assertEqual(g.discounts[0].kind, T.PROMOTION_KIND_FREE_GIFT)
        self.assertEqual((r.subtotal, r.discount_total, r.total), (6700, 700, 6000))
        self.assertEqual(r.compliance_status, T.COMPLIANCE_STATUS_PASS)
        r = self.quote([("D", 2)])  # 40.00 < 50.00
        self.assertEqual(len(r.lines), 1)
        self.check_sums(r)

    def test_customer_promotions(self):
        self.promos(self.P("FIRST", T.PROMOTION_KIND_PERCENTAGE, percent_bps=1500,
                           new_customers_only=True),
                    self.P("COMEBACK", T.PROMOTION_KIND_FIXED_AMOUNT, skus=["D"], amount=300,
                           currency="USD", dormant_days=90),
                    self.P("GOLD", T.PROMOTION_KIND_PERCENTAGE, skus=["C"], percent_bps=2000,
                           customer_tiers=["gold"]),
                    self.P("LOYALSEG", T.PROMOTION_KIND_PERCENTAGE, skus=["B"], percent_bps=500,
                           customer_segments=["loyal"]))
        r = self.quote([("D", 1), ("C", 1), ("B", 1)], customer="new1")
        self.assertEqual(self.disc(r, 0, "FIRST"), 300)  # 15 % of 20.00
        self.assertEqual(self.disc(r, 1, "GOLD"), 0)
        self.assertEqual(self.trace(r, "COMEBACK"), [(False, "only for returning customers")])
        r = self.quote([("D", 1), ("C", 1), ("B", 1)], customer="c1")  # 100 days idle, gold, loyal
        self.assertEqual(self.trace(r, "FIRST"), [(False, "only for a customer's first order")])
        self.assertEqual(self.disc(r, 0, "COMEBACK"), 300)
        self.assertEqual(self.disc(r, 1, "GOLD"), 60)
        self.assertEqual(self.disc(r, 2, "LOYALSEG"), 25)
        r = self.quote([("D", 1)], customer="c2")  # ordered 10 days ago
        self.assertEqual(self.trace(r, "COMEBACK"), [(False, "customer ordered 10 days ago; needs 90")])

    def test_loyalty_points(self):
        r = self.quote([("D", 3)])
        self.assertEqual((r.loyalty_points, r.loyalty_multiplier), (60, 1))
        self.promos(self.P("DOUBLE", T.PROMOTION_KIND_LOYALTY_POINTS, points_multiplier=2),
                    self.P("TRIPLE-D", T.PROMOTION_KIND_LOYALTY_POINTS, points_multiplier=3,
                           skus=["A"]))
        r = self.quote([("D", 3)])
        self.assertEqual((r.loyalty_points, r.loyalty_multiplier), (120, 2))
        r = self.quote([("D", 3), ("A", 1)])  # the higher multiplier wins
        self.assertEqual((r.loyalty_points, r.loyalty_multiplier), (210, 3))

    def test_lua_condition(self):
        self.promos(self.P("VIP", T.PROMOTION_KIND_PERCENTAGE, percent_bps=1000,
                           condition="return ctx.attributes.vip == 'yes'"))
        self.assertEqual(self.quote([("D", 1)]).total, 2000)
        self.assertEqual(self.quote([("D", 1)], attributes={"vip": "yes"}).total, 1800)
        with self.assertRaises(grpc.RpcError) as cm:
            self.promos(self.P("BAD", T.PROMOTION_KIND_PERCENTAGE, percent_bps=1,
                               condition="return ctx.(("))
        self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("promotions[0].condition", cm.exception.details())

    def test_time_zone_window(self):
        self.promos(self.P("XMAS", T.PROMOTION_KIND_PERCENTAGE, percent_bps=1000,
                           time_zone="Europe/Berlin", valid_from_local="2026-12-01T00:00",
                           valid_to_local="2026-12-27T00:00:00"))
        p = self.s.catalog.GetPromotion(A.PromotionKey(id="XMAS"))
        self.assertEqual(p.valid_from, 1796079600)  # 2026-11-30T23:00:00Z
        self.assertEqual(p.valid_to, 1796079600 + 26 * DAY)
        self.assertEqual(self.quote([("D", 1)], request_time=1796079599).total, 2000)
        self.assertEqual(self.quote([("D", 1)], request_time=1796079600).total, 1800)
        with self.assertRaises(grpc.RpcError) as cm:
            self.promos(self.P("BADTZ", T.PROMOTION_KIND_PERCENTAGE, percent_bps=1,
                               time_zone="Mars/Olympus", valid_from_local="2026-12-01T00:00"))
        self.assertIn("unknown time zone", cm.exception.details())

    # ---- coupons --------------------------------------------------------
    def test_coupons_refused_for_each_reason(self):
        self.promos(self.P("C5", T.PROMOTION_KIND_FIXED_AMOUNT, skus=["D"], amount=500,
                           currency="USD", requires_coupon=True),
                    self.P("OTHER", T.PROMOTION_KIND_FIXED_AMOUNT, skus=["A"], amount=100,
                           currency="USD", requires_coupon=True))
        self.s.catalog.PutCoupons(A.PutCouponsRequest(coupons=[
            T.Coupon(code="SAVE5", promotion_id="C5", enabled=True, max_uses=100),
            T.Coupon(code="OLD", promotion_id="C5", enabled=True, valid_to=T0 - 1),
            T.Coupon(code="LATER", promotion_id="C5", enabled=True, valid_from=T0 + 1),
            T.Coupon(code="MINE", promotion_id="C5", enabled=True, customer_id="c2"),
            T.Coupon(code="OFF", promotion_id="C5", enabled=False),
            T.Coupon(code="NOA", promotion_id="OTHER", enabled=True),
            T.Coupon(code="GONE", promotion_id="DELETED", enabled=True),
        ]))
        r = self.quote([("D", 1)], coupon_codes=["OLD", "LATER", "MINE", "OFF", "NOPE", "NOA", "GONE"])
        got = {c.code: (c.accepted, c.reason.split(":")[0]) for c in r.coupons}
        self.assertEqual(got, {"OLD": (False, "EXPIRED"), "LATER": (False, "NOT_STARTED"),
                               "MINE": (False, "NOT_FOR_CUSTOMER"), "OFF": (False, "DISABLED"),
                               "NOPE": (False, "UNKNOWN"), "NOA": (False, "NOT_APPLIED"),
                               "GONE": (False, "PROMOTION_UNAVAILABLE")})
        self.assertEqual([c.code for c in r.coupons], ["OLD", "LATER", "MINE", "OFF", "NOPE", "NOA", "GONE"])
        self.assertEqual(r.total, 2000)
        r = self.quote([("D", 1)], coupon_codes=["SAVE5"])
        self.assertEqual([(c.code, c.accepted, c.promotion_id) for c in r.coupons],
                         [("SAVE5", True, "C5")])
        self.assertEqual(r.total, 1500)
        self.assertEqual(self.quote([("D", 1)], customer="c2", coupon_codes=["MINE"]).total, 1500)

    # ---- stacking -------------------------------------------------------
    def test_exclusive(self):
        self.promos(self.P("ALL10", T.PROMOTION_KIND_PERCENTAGE, percent_bps=1000, priority=1),
                    self.P("EXCL", T.PROMOTION_KIND_PERCENTAGE, skus=["A"], percent_bps=5000,
                           exclusive=True, priority=50),
                    self.P("EXCL2", T.PROMOTION_KIND_PERCENTAGE, skus=["A"], percent_bps=9000,
                           exclusive=True, priority=60))
        r = self.quote([("A", 1), ("D", 1)])
        self.assertEqual(self.disc(r, 0), 500)
        self.assertEqual(self.disc(r, 1), 0)
        self.assertEqual(self.trace(r, "ALL10"), [(False, "exclusive promotion EXCL applies")])
        self.assertEqual(self.trace(r, "EXCL2"), [(False, "exclusive promotion EXCL applies")])
        r = self.quote([("D", 1)])  # no exclusive applies: normal stacking
        self.assertEqual(r.total, 1800)

    def test_group_best_only(self):
        self.promos(self.P("G-PCT", T.PROMOTION_KIND_PERCENTAGE, skus=["A"], percent_bps=1000,
                           stacking_group="g", priority=1),
                    self.P("G-FIX", T.PROMOTION_KIND_FIXED_AMOUNT, skus=["A"], amount=300,
                           currency="USD", stacking_group="g", priority=2))
        r = self.quote([("A", 1)])
        self.assertEqual(self.disc(r, 0, "G-FIX"), 300)
        self.assertEqual(self.disc(r, 0, "G-PCT"), 0)
        self.assertEqual(self.trace(r, "G-PCT"), [(False, "group g: G-FIX gives more")])
        r = self.quote([("A", 10)])  # 10 % of 100.00 = 10.00 > 10 x ... no: 3.00 x 10 = 30.00
        self.assertEqual(self.disc(r, 0, "G-FIX"), 3000)

    def test_stop_after(self):
        self.promos(self.P("S1", T.PROMOTION_KIND_PERCENTAGE, percent_bps=1000, stop_after=True,
                           priority=1),
                    self.P("S2", T.PROMOTION_KIND_PERCENTAGE, percent_bps=500, priority=2))
        r = self.quote([("D", 1)])
        self.assertEqual(r.total, 1800)
        self.assertEqual(self.trace(r, "S2"), [(False, "evaluation stopped after S1")])

    def test_caps_and_no_negative_lines(self):
        self.promos(self.P("HALF", T.PROMOTION_KIND_PERCENTAGE, skus=["D"], percent_bps=5000,
                           max_discount=1500),
                    self.P("HUGE", T.PROMOTION_KIND_FIXED_AMOUNT, skus=["C"], amount=2000,
                           currency="USD"))
        r = self.quote([("D", 2), ("C", 2)])
        self.assertEqual(self.disc(r, 0, "HALF"), 1500)       # 20.00 capped at 15.00
        self.assertEqual(self.disc(r, 1, "HUGE"), 600)        # never below zero
        self.assertEqual(r.lines[1].line_total, 0)
        self.assertIn("CAPPED", [n.code for n in r.promotion_notes])
        self.check_sums(r)

    def test_order_cap(self):
        src = open(os.path.join(harness.SRC, "policies", "promotions.lua")).read()
        src = src.replace("local MAX_ORDER_DISCOUNT_BPS = 10000", "local MAX_ORDER_DISCOUNT_BPS = 2000")
        up = self.s.policies.UploadPolicy(A.UploadPolicyRequest(kind=T.POLICY_KIND_PROMOTIONS,
                                                                source=src, author="t"))
        self.s.policies.ActivatePolicy(A.ActivatePolicyRequest(kind=T.POLICY_KIND_PROMOTIONS,
                                                               version=up.version, actor="t"))
        self.promos(self.P("HALF", T.PROMOTION_KIND_PERCENTAGE, percent_bps=5000))
        r = self.quote([("D", 2), ("A", 1)])
        # 50 % of 50.00 = 25.00, but the order cap is 20 % of 50.00 = 10.00,
        # spread 2000:500 -> 8.00 / 2.00
        self.assertEqual(r.discount_total, 1000)
        self.assertEqual((self.disc(r, 0), self.disc(r, 1)), (800, 200))
        self.assertIn("ORDER_CAP", [n.code for n in r.promotion_notes])

    # ---- budgets --------------------------------------------------------
    def test_budget_notes(self):
        self.promos(self.P("BUDGET", T.PROMOTION_KIND_PERCENTAGE, percent_bps=1000, budget_uses=5,
                           budget_amount=100000))
        r = self.quote([("D", 1)])  # no usage recorded yet: applies
        self.assertEqual(r.total, 1800)
        self.assertEqual(list(r.promotion_notes), [])

    # ---- experiments ----------------------------------------------------
    def test_every_write_is_seen_by_the_next_quote(self):
        # the engine caches unpacked records, policies, promotions and the
        # view between quotes: none of it may hide a write
        for _ in range(3):  # reach both workers with each state
            self.assertEqual(self.quote([("A", 1)]).lines[0].unit_price, 1000)
        self.s.catalog.PutPriceEntries(A.PutPriceEntriesRequest(entries=[
            T.PriceEntry(price_list_id="usd", sku="A", currency="USD", unit_price=1234,
                         unit_cost=400, category="x", rounding=HALF_UP)]))
        for _ in range(3):
            self.assertEqual(self.quote([("A", 1)]).lines[0].unit_price, 1234)
        c = self.s.customers.GetCustomer(A.CustomerKey(id="c1"))
        c.customer_group = "wholesale"
        self.s.customers.PutCustomers(A.PutCustomersRequest(customers=[c]))
        for _ in range(3):  # the member price: 10 % below list, half up
            self.assertEqual(self.quote([("A", 1)]).lines[0].unit_price, 1111)
        self.promos(self.P("P5", T.PROMOTION_KIND_PERCENTAGE, skus=["A"], percent_bps=500))
        for _ in range(3):
            self.assertEqual(self.disc(self.quote([("A", 1)]), 0, "P5"), 56)
        self.s.catalog.DeletePromotion(A.PromotionKey(id="P5"))
        for _ in range(3):
            self.assertEqual(self.disc(self.quote([("A", 1)]), 0), 0)

    def test_carts_of_changing_size(self):
        # every worker reuses its view of the lines from quote to quote: a
        # long cart after a short one sees all its lines again
        self.promos(self.P("PD", T.PROMOTION_KIND_PERCENTAGE, skus=["D"], percent_bps=1000))
        # (the pricing policy walks ctx.lines: wholesale pays 10 % below list)
        long_cart = [("A", 1), ("B", 1), ("C", 1), ("G", 1), ("D", 2)]
        first = self.quote(long_cart, customer="wh")
        self.assertEqual(first.lines[4].unit_price, 1800)
        self.assertEqual(self.disc(first, 4, "PD"), 360)
        for _ in range(6):
            short = self.quote([("D", 1)], customer="wh")
            self.assertEqual(short.lines[0].unit_price, 1800)
            self.assertEqual(len(short.lines), 1)
            again = self.quote(long_cart, customer="wh")
            self.assertEqual([l.unit_price for l in again.lines], [900, 450, 270, 630, 1800])
            self.assertEqual(self.disc(again, 4, "PD"), 360)
            self.assertEqual(again.total, first.total)

    def test_fnv_vectors(self):
        # the published FNV-1a-64 test vectors: the formula the README gives
        self.assertEqual(fnv1a64(b""), 0xcbf29ce484222325)
        self.assertEqual(fnv1a64(b"a"), 0xaf63dc4c8601ec8c)
        self.assertEqual(fnv1a64(b"foobar"), 0x85944171f73967e8)

    def test_experiment_arms_follow_the_readme_formula(self):
        # weights 1, 2, 3: the arm is FNV-1a-64(customer "\0" experiment) mod 6,
        # taken through the arms in order; mod 6 (not just the low bit)
        # tells a wrong offset basis apart
        arms = [T.ExperimentArm(name="a", weight=1, percent_bps=1000),
                T.ExperimentArm(name="b", weight=2, percent_bps=2000),
                T.ExperimentArm(name="c", weight=3, percent_bps=3000)]
        self.promos(self.P("EXP", T.PROMOTION_KIND_PERCENTAGE, percent_bps=1000,
                           experiment_id="spring", arms=arms))
        seen = set()
        for customer in ["c1", "c2", "new1", "wh"]:
            b = fnv_bucket(customer + "\0spring", 6)
            want = "a" if b < 1 else "b" if b < 3 else "c"
            seen.add(want)
            r = self.quote([("D", 1)], customer=customer)
            self.assertEqual([e.arm for e in r.experiments], [want], customer)
            # wh is wholesale: its member price is 18.00
            price = 1800 if customer == "wh" else 2000
            self.assertEqual(r.total, price - price * {"a": 1, "b": 2, "c": 3}[want] // 10)
        self.assertGreater(len(seen), 1)

    def test_custom_kind(self):
        # the shipped policy's every_second_unit: every second unit of a
        # targeted line at percent_bps off
        self.promos(self.P("HALF2", T.PROMOTION_KIND_CUSTOM, custom_kind="every_second_unit",
                           skus=["A"], percent_bps=5000, max_discount=1200))
        r = self.quote([("A", 5), ("B", 3)])
        # A: 5 units -> 2 second units x 10.00 x 50 % = 10.00; B not targeted
        self.assertEqual(self.disc(r, 0, "HALF2"), 1000)
        self.assertEqual(self.disc(r, 1), 0)
        # capped like any kind: 8 units -> 4 x 5.00 = 20.00, capped at 12.00
        r = self.quote([("A", 8)])
        self.assertEqual(self.disc(r, 0, "HALF2"), 1200)
        self.assertEqual([n.code for n in r.promotion_notes], ["CAPPED"])
        # a custom kind the policy does not define is skipped, with the reason
        self.promos(self.P("NOPE", T.PROMOTION_KIND_CUSTOM, custom_kind="nope", skus=["A"]))
        r = self.quote([("A", 2)])
        self.assertIn((False, "unknown custom kind nope"), self.trace(r, "NOPE"))
        # the kind needs a name
        with self.assertRaises(grpc.RpcError) as e:
            self.promos(self.P("BAD", T.PROMOTION_KIND_CUSTOM, skus=["A"]))
        self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("custom_kind", e.exception.details())

    def test_experiment_arms_are_stable(self):
        self.promos(self.P("EXP", T.PROMOTION_KIND_PERCENTAGE, percent_bps=1000,
                           experiment_id="exp1",
                           arms=[T.ExperimentArm(name="ten", weight=1, percent_bps=1000),
                                 T.ExperimentArm(name="twenty", weight=1, percent_bps=2000)]))
        for customer in ["c1", "c2", "new1"]:
            want = ["ten", "twenty"][fnv_bucket(customer + "\0exp1", 2)]
            r1 = self.quote([("D", 1)], customer=customer)
            r2 = self.quote([("D", 1)], customer=customer)
            self.assertEqual([(e.experiment_id, e.promotion_id, e.arm) for e in r1.experiments],
                             [("exp1", "EXP", want)])
            self.assertEqual(r1.experiments, r2.experiments)
            self.assertEqual(r1.total, 1800 if want == "ten" else 1600)
        # c1 -> bucket 1 of 2 ("twenty"); new1 -> bucket 0 ("ten")
        self.assertEqual(fnv_bucket("c1\0exp1", 2), 1)
        self.promos(self.P("EXP", T.PROMOTION_KIND_PERCENTAGE, percent_bps=1000,
                           experiment_id="exp1",
                           arms=[T.ExperimentArm(name="control", weight=1, control=True),
                                 T.ExperimentArm(name="twenty", weight=1, percent_bps=2000)]))
        r = self.quote([("D", 1)], customer="new1")
        self.assertEqual(r.experiments[0].arm, "control")
        self.assertEqual(r.total, 2000)

    # ---- currencies -----------------------------------------------------
    def test_jpy_and_kwd_rounding(self):
        self.promos(self.P("P15", T.PROMOTION_KIND_PERCENTAGE, percent_bps=1500))
        # JPY: 15 % of 3000 yen = 450
        self.assertEqual(self.quote([("A", 3)], currency="JPY").total, 2550)
        # KWD: 15 % of 3.750 = 0.5625 -> half up 0.563 (price list A) / half
        # even 0.562 (price list B)
        r = self.quote([("A", 3), ("B", 3)], currency="KWD")
        self.assertEqual((self.disc(r, 0), self.disc(r, 1)), (563, 562))
        self.assertEqual(r.currency_exponent, 3)

    # ---- price selection ------------------------------------------------
    def test_quantity_tiers_member_and_scheduled_prices(self):
        self.s.catalog.PutPriceEntries(A.PutPriceEntriesRequest(entries=[
            T.PriceEntry(price_list_id="usd-t10", sku="A", currency="USD", unit_price=900,
                         min_quantity=10, category="x"),
            T.PriceEntry(price_list_id="usd-t50", sku="A", currency="USD", unit_price=800,
                         min_quantity=50, category="x"),
            T.PriceEntry(price_list_id="usd-members", sku="A", currency="USD", unit_price=850,
                         customer_group="wholesale", category="x"),
            T.PriceEntry(price_list_id="usd-new", sku="C", currency="USD", unit_price=280,
                         valid_from=T0 + 3600, category="y"),
        ]))
        r = self.quote([("A", 9), ("A", 10), ("A", 60)])
        self.assertEqual([(l.price_list_id, l.unit_price, l.price_tier) for l in r.lines],
                         [("usd", 1000, 1), ("usd-t10", 900, 10), ("usd-t50", 800, 50)])
        r = self.quote([("A", 60)], customer="wh")  # the member price is more specific
        self.assertEqual(r.lines[0].price_list_id, "usd-members")
        # wholesale also gets the shipped member discount: 10 % off 8.50
        self.assertEqual(r.lines[0].unit_price, 765)
        self.assertEqual(self.quote([("C", 1)]).lines[0].unit_price, 300)
        r = self.quote([("C", 1)], request_time=T0 + 7200)  # scheduled change took effect
        self.assertEqual((r.lines[0].price_list_id, r.lines[0].unit_price), ("usd-new", 280))

    def test_dynamic_pricing(self):
        self.s.catalog.PutPriceEntries(A.PutPriceEntriesRequest(entries=[
            T.PriceEntry(price_list_id="usd", sku="D", currency="USD", unit_price=2000,
                         unit_cost=800, category="z", rounding=HALF_UP, floor_price=1500),
            T.PriceEntry(price_list_id="usd", sku="B", currency="USD", unit_price=500,
                         unit_cost=200, category="x", rounding=HALF_UP)]))
        self.s.catalog.PutSkuSignals(A.PutSkuSignalsRequest(signals=[
            # 300 units, 10 a week: 30 weeks of cover -> 30 % clearance
            T.SkuSignals(sku="D", inventory_on_hand=300, inventory_at=T0 - DAY,
                         demand_per_week=10, demand_at=T0 - DAY),
            # 100 units, 10 a week: 10 weeks: no clearance; competitors
            T.SkuSignals(sku="B", inventory_on_hand=100, inventory_at=T0 - DAY,
                         demand_per_week=10, competitor_prices=[
                             T.CompetitorPrice(competitor="acme-shop", currency="USD", price=460,
                                               observed_at=T0 - 2 * DAY),
                             T.CompetitorPrice(competitor="old-shop", currency="USD", price=100,
                                               observed_at=T0 - 30 * DAY),
                             T.CompetitorPrice(competitor="eu-shop", currency="EUR", price=300,
                                               observed_at=T0 - DAY)]),
            # 15 units, 1 a week: 15 weeks -> 15 %
            T.SkuSignals(sku="A", inventory_on_hand=15, inventory_at=T0 - DAY, demand_per_week=1,
                         demand_at=T0 - 2 * DAY),
        ]))
        r = self.quote([("D", 1), ("B", 1), ("A", 1)])
        # D: 20.00 - 30 % = 14.00, held at the floor 15.00
        self.assertEqual(r.lines[0].unit_price, 1500)
        self.assertIn("clearance", r.lines[0].price_reason)
        self.assertIn("floor", r.lines[0].price_reason)
        # B: matches acme-shop's 4.60 (old-shop is stale, eu-shop another currency)
        self.assertEqual(r.lines[1].unit_price, 460)
        self.assertEqual(r.lines[1].price_reason, "competitor match: acme-shop sells at 4.60")
        # A: 15 weeks of cover: 15 % off 10.00
        self.assertEqual(r.lines[2].unit_price, 850)
        self.assertEqual(r.lines[0].unit_list_price, 2000)
        # stale inventory counts are ignored
        r = self.quote([("A", 1)], request_time=T0 + 30 * DAY)
        self.assertEqual(r.lines[0].unit_price, 1000)
        got = self.s.catalog.GetSkuSignals(A.SkuKey(sku="B"))
        self.assertEqual(len(got.competitor_prices), 3)

    def test_stale_or_missing_demand_gives_no_clearance(self):
        # without a fresh demand figure the weeks of cover are unknown
        self.s.catalog.PutSkuSignals(A.PutSkuSignalsRequest(signals=[
            # a fresh stock count of 15 but a demand estimate 20 days old
            T.SkuSignals(sku="A", inventory_on_hand=15, inventory_at=T0 - DAY,
                         demand_per_week=1, demand_at=T0 - 20 * DAY),
            # a fresh stock count and no demand estimate at all
            T.SkuSignals(sku="C", inventory_on_hand=1000, inventory_at=T0 - DAY)]))
        r = self.quote([("A", 1), ("C", 1)])
        self.assertEqual(r.lines[0].unit_price, 1000)
        self.assertEqual(r.lines[0].price_reason, "")
        self.assertEqual(r.lines[1].unit_price, r.lines[1].unit_list_price)
        # the same estimate, fresh: 15 weeks of cover, 15 % off
        self.s.catalog.PutSkuSignals(A.PutSkuSignalsRequest(signals=[
            T.SkuSignals(sku="A", inventory_on_hand=15, inventory_at=T0 - DAY,
                         demand_per_week=1, demand_at=T0 - 13 * DAY)]))
        r = self.quote([("A", 1)])
        self.assertEqual(r.lines[0].unit_price, 850)

    def test_ceiling_is_enforced_whatever_the_policy(self):
        self.s.catalog.PutPriceEntries(A.PutPriceEntriesRequest(entries=[
            T.PriceEntry(price_list_id="usd", sku="C", currency="USD", unit_price=300,
                         category="y", ceiling_price=350, floor_price=250)]))
        up = self.s.policies.UploadPolicy(A.UploadPolicyRequest(
            kind=T.POLICY_KIND_PRICING, author="t",
            source="function price(ctx) return { { unit_price = 999, reason = 'surge' } } end"))
        self.s.policies.ActivatePolicy(A.ActivatePolicyRequest(
            kind=T.POLICY_KIND_PRICING, version=up.version, actor="t"))
        r = self.quote([("C", 1)])
        self.assertEqual(r.lines[0].unit_price, 350)
        self.assertEqual(r.lines[0].price_reason, "surge; held at the ceiling price")


if __name__ == "__main__":
    unittest.main(verbosity=2)
