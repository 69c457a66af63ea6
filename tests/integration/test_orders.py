"""Orders: commit, idempotency, cancel, credit hold, and the concurrency
proofs (a limited coupon, a per-customer limit, an amount budget and a
tight credit limit committed by many concurrent clients), each checked
against the orders afterwards and by VerifyCounters."""
import os
import sys
import threading
import unittest

import grpc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

m = harness.stubs()
Q, T, A, O = m["quote_pb2"], m["types_pb2"], m["admin_pb2"], m["orders_pb2"]
T0 = harness.T0
HALF_UP = T.ROUNDING_MODE_HALF_UP
OPEN, HOLD = O.ORDER_STATE_OPEN, O.ORDER_STATE_CREDIT_HOLD
CANCELLED, REJECTED = O.ORDER_STATE_CANCELLED, O.ORDER_STATE_REJECTED


def P(id, kind, **kw):
    kw.setdefault("enabled", True)
    kw.setdefault("name", id)
    return T.Promotion(id=id, kind=kind, **kw)


def credit(limit, tier="A", **kw):
    return T.CreditProfile(currency="USD", credit_limit=limit, standard_terms_days=30,
                           tier=tier, **kw)


class OrdersTest(unittest.TestCase):
    def setUp(self):
        self.s = harness.Server(demo=False)
        self.s.catalog.PutPriceEntries(A.PutPriceEntriesRequest(entries=[
            T.PriceEntry(price_list_id="usd", sku=sku, currency="USD", unit_price=price,
                         unit_cost=cost, category=cat, rounding=HALF_UP)
            for sku, cat, price, cost in [("A", "x", 1000, 400), ("B", "y", 500, 200),
                                          ("CHEAP", "x", 100, 99)]]))
        self.s.customers.PutCustomers(A.PutCustomersRequest(customers=[
            T.Customer(id="big", customer_group="retail", credit=credit(10**12)),
            T.Customer(id="tight", customer_group="retail", credit=credit(100000, tier="C")),
            T.Customer(id="held", customer_group="retail", credit=credit(10**9, hold=True)),
            T.Customer(id="late", customer_group="retail",
                       credit=credit(10**9, oldest_overdue_days=120)),
            T.Customer(id="cash", customer_group="retail", credit=credit(0)),
        ]))
        self.s.catalog.PutPromotions(A.PutPromotionsRequest(promotions=[
            P("COUP", T.PROMOTION_KIND_FIXED_AMOUNT, skus=["A"], amount=100, currency="USD",
              requires_coupon=True),
            P("BUDGET", T.PROMOTION_KIND_PERCENTAGE, skus=["B"], percent_bps=1000,
              budget_amount=1000),
        ]))
        self.s.checks.PutComplianceChecks(A.PutComplianceChecksRequest(checks=[
            T.ComplianceCheck(id="margin", kind=T.CHECK_KIND_MIN_MARGIN, bps=500,
                              on_fail=T.COMPLIANCE_STATUS_BLOCK, enabled=True)]))
        self.s.catalog.PutCoupons(A.PutCouponsRequest(coupons=[
            T.Coupon(code="LIM5", promotion_id="COUP", enabled=True, max_uses=5),
            T.Coupon(code="PC2", promotion_id="COUP", enabled=True, max_uses_per_customer=2),
        ]))

    def tearDown(self):
        self.assertEqual(self.s.stop(), 0, self.s.read_log()[-3000:])
        self.s.cleanup()

    def commit(self, oid, lines, customer="big", coupons=(), expected=None, retries=0):
        req = O.CommitRequest(order_id=oid, request=Q.QuoteRequest(
            customer_id=customer, currency="USD", channel="web", request_time=T0,
            lines=[Q.LineRequest(sku=s, quantity=n) for s, n in lines],
            coupon_codes=list(coupons)))
        if expected is not None:
            req.expected_total = expected
            req.has_expected_total = True
        for attempt in range(retries + 1):
            try:
                return self.s.orders.Commit(req, timeout=30)
            except grpc.RpcError as e:
                if (attempt == retries or e.code() != grpc.StatusCode.FAILED_PRECONDITION
                        or "retry" not in e.details()):
                    raise

    def verify(self):
        r = self.s.orders.VerifyCounters(O.VerifyCountersRequest())
        self.assertEqual(list(r.differences), [], r)
        return r

    def counter_uses(self, orders, code):
        return sum(1 for o in orders if code in o.coupons)

    def all_orders(self, **kw):
        out, token = [], ""
        while True:
            r = self.s.orders.ListOrders(O.ListOrdersRequest(
                page=A.PageRequest(page_size=1000, page_token=token), **kw))
            out += r.orders
            token = r.next_page_token
            if not token:
                return out

    def concurrently(self, n, fn):
        errors = []

        def run(i):
            try:
                fn(i)
            except Exception as e:  # noqa: BLE001
                errors.append(e)
        ts = [threading.Thread(target=run, args=(i,)) for i in range(n)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        return errors

    # ---- one order --------------------------------------------------------
    def test_commit_get_retry_changed_payload(self):
        o = self.commit("o1", [("A", 2)], coupons=["LIM5"])
        self.assertEqual((o.state, o.total, list(o.coupons)), (OPEN, 1800, ["LIM5"]))
        self.assertEqual(o.quote.total, 1800)
        self.assertEqual(o.quote.lines[0].line_total, 1800)
        self.assertEqual(o.exposure, 1800)
        self.assertEqual(len(o.fingerprint), 32)
        again = self.commit("o1", [("A", 2)], coupons=["LIM5"])
        self.assertEqual(again.SerializeToString(), o.SerializeToString())
        self.assertEqual(self.s.orders.GetOrder(O.OrderKey(order_id="o1")).SerializeToString(),
                         o.SerializeToString())
        with self.assertRaises(grpc.RpcError) as cm:
            self.commit("o1", [("A", 3)], coupons=["LIM5"])
        self.assertEqual(cm.exception.code(), grpc.StatusCode.ALREADY_EXISTS)
        c = self.s.customers.GetCustomer(A.CustomerKey(id="big"))
        self.assertEqual((c.order_count, c.first_order_at, c.last_order_at), (1, T0, T0))
        # the next quote sees the exposure the order reserved
        q = self.s.quote.Quote(Q.QuoteRequest(customer_id="big", currency="USD",
                                              lines=[Q.LineRequest(sku="B", quantity=1)],
                                              request_time=T0))
        self.assertEqual(q.credit.exposure, 1800 + q.total)
        r = self.verify()
        self.assertEqual(r.orders, 1)

    def test_expected_total_and_refusals(self):
        with self.assertRaises(grpc.RpcError) as cm:
            self.commit("e1", [("A", 1)], expected=999)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.FAILED_PRECONDITION)
        self.assertIn("1000", cm.exception.details())
        self.assertIn("999", cm.exception.details())
        self.assertEqual(self.commit("e1", [("A", 1)], expected=1000).total, 1000)
        # credit DECLINE (120 days overdue): nothing written
        with self.assertRaises(grpc.RpcError) as cm:
            self.commit("d1", [("A", 1)], customer="late")
        self.assertEqual(cm.exception.code(), grpc.StatusCode.FAILED_PRECONDITION)
        self.assertIn("credit DECLINE", cm.exception.details())
        # compliance BLOCK (CHEAP sells at 100 with cost 99, under 5 % margin)
        with self.assertRaises(grpc.RpcError) as cm:
            self.commit("b1", [("CHEAP", 1)])
        self.assertIn("compliance BLOCK", cm.exception.details())
        for oid in ("d1", "b1"):
            with self.assertRaises(grpc.RpcError) as cm:
                self.s.orders.GetOrder(O.OrderKey(order_id=oid))
            self.assertEqual(cm.exception.code(), grpc.StatusCode.NOT_FOUND)
        # no credit line: PREPAY, the total due up front, no exposure reserved
        o = self.commit("p1", [("A", 1)], customer="cash")
        self.assertEqual((o.state, o.credit_outcome, o.amount_due_upfront, o.exposure),
                         (OPEN, Q.CREDIT_OUTCOME_PREPAY, 1000, 0))
        self.verify()

    def test_cancel_gives_coupon_use_back(self):
        for i in range(5):
            self.commit("c%d" % i, [("A", 1)], coupons=["LIM5"])
        o = self.commit("c5", [("A", 1)], coupons=["LIM5"])
        self.assertEqual(list(o.coupons), [])  # the code is used up: refused
        self.assertEqual(o.total, 1000)
        c = self.s.orders.Cancel(O.OrderKey(order_id="c0"))
        self.assertEqual(c.state, CANCELLED)
        self.assertEqual(self.s.orders.Cancel(O.OrderKey(order_id="c0")).SerializeToString(),
                         c.SerializeToString())
        o = self.commit("c6", [("A", 1)], coupons=["LIM5"])
        self.assertEqual(list(o.coupons), ["LIM5"])
        with self.assertRaises(grpc.RpcError) as cm:
            self.s.orders.Cancel(O.OrderKey(order_id="nope"))
        self.assertEqual(cm.exception.code(), grpc.StatusCode.NOT_FOUND)
        self.verify()

    def test_hold_release_reject(self):
        a = self.commit("h1", [("A", 1)], customer="held")
        b = self.commit("h2", [("A", 2)], customer="held")
        self.assertEqual((a.state, a.credit_outcome), (HOLD, Q.CREDIT_OUTCOME_REVIEW))
        held = self.s.orders.ListHeldOrders(O.ListOrdersRequest())
        self.assertEqual([o.order_id for o in held.orders], ["h1", "h2"])
        r = self.s.orders.ReleaseOrder(O.OrderDecisionRequest(order_id="h1", actor="fin",
                                                              comment="ok"))
        self.assertEqual((r.state, r.actor, r.comment), (OPEN, "fin", "ok"))
        r = self.s.orders.RejectOrder(O.OrderDecisionRequest(order_id="h2", actor="fin"))
        self.assertEqual(r.state, REJECTED)
        with self.assertRaises(grpc.RpcError) as cm:
            self.s.orders.RejectOrder(O.OrderDecisionRequest(order_id="h1", actor="fin"))
        self.assertEqual(cm.exception.code(), grpc.StatusCode.FAILED_PRECONDITION)
        self.assertEqual(len(self.s.orders.ListHeldOrders(O.ListOrdersRequest()).orders), 0)
        q = self.s.quote.Quote(Q.QuoteRequest(customer_id="held", currency="USD",
                                              lines=[Q.LineRequest(sku="B", quantity=1)],
                                              request_time=T0))
        self.assertEqual(q.credit.exposure, a.total + q.total)  # h2's was released
        self.assertEqual(len(self.all_orders(customer_id="held", state=OPEN)), 1)
        self.verify()

    def test_invoice_pay_in_part_overdue(self):
        DAY = 86400
        o = self.commit("i1", [("A", 1)])
        self.assertEqual((o.total, o.terms_days, o.exposure), (1000, 30, 1000))
        inv = self.s.orders.Invoice(O.InvoiceRequest(order_id="i1", invoice_time=T0))
        self.assertEqual((inv.invoice_id, inv.amount, inv.open_amount, inv.due_at, inv.counted),
                         ("i1", 1000, 1000, T0 + 30 * DAY, True))
        again = self.s.orders.Invoice(O.InvoiceRequest(order_id="i1", invoice_time=T0))
        self.assertEqual(again.SerializeToString(), inv.SerializeToString())  # idempotent
        self.assertEqual(self.s.orders.GetOrder(O.OrderKey(order_id="i1")).state,
                         O.ORDER_STATE_INVOICED)
        with self.assertRaises(grpc.RpcError) as cm:
            self.s.orders.Cancel(O.OrderKey(order_id="i1"))
        self.assertEqual(cm.exception.code(), grpc.StatusCode.FAILED_PRECONDITION)

        def quote(at):
            return self.s.quote.Quote(Q.QuoteRequest(
                customer_id="big", currency="USD", lines=[Q.LineRequest(sku="B", quantity=1)],
                request_time=at))
        q = quote(T0)
        self.assertEqual(q.credit.exposure, 1000 + q.total)  # now an open receivable
        self.verify()
        pay = O.RecordPaymentRequest(invoice_id="i1", amount=400, time=T0 + DAY,
                                     payment_id="pay1")
        inv = self.s.orders.RecordPayment(pay)
        self.assertEqual((inv.open_amount, len(inv.payments)), (600, 1))
        self.assertEqual(self.s.orders.RecordPayment(pay).SerializeToString(),
                         inv.SerializeToString())  # the same payment once
        with self.assertRaises(grpc.RpcError) as cm:
            self.s.orders.RecordPayment(O.RecordPaymentRequest(
                invoice_id="i1", amount=401, time=T0 + DAY, payment_id="pay1"))
        self.assertEqual(cm.exception.code(), grpc.StatusCode.ALREADY_EXISTS)
        with self.assertRaises(grpc.RpcError) as cm:
            self.s.orders.RecordPayment(O.RecordPaymentRequest(
                invoice_id="i1", amount=700, time=T0 + DAY, payment_id="pay2"))
        self.assertEqual(cm.exception.code(), grpc.StatusCode.FAILED_PRECONDITION)
        self.assertEqual(quote(T0).credit.exposure, 600 + q.total)
        # overdue days are derived from the due date at request time
        g = self.s.orders.GetInvoice(O.InvoiceKey(invoice_id="i1", at=T0 + 100 * DAY))
        self.assertEqual((g.open_amount, g.overdue_days), (600, 70))
        self.assertEqual(self.s.orders.GetInvoice(
            O.InvoiceKey(invoice_id="i1", at=T0 + 10 * DAY)).overdue_days, 0)
        late = quote(T0 + 100 * DAY)
        self.assertEqual(late.credit.outcome, Q.CREDIT_OUTCOME_REVIEW)
        self.assertIn("70 days", " ".join(late.credit.reasons))
        self.assertEqual(quote(T0 + 10 * DAY).credit.outcome, Q.CREDIT_OUTCOME_APPROVE)
        self.verify()
        inv = self.s.orders.RecordPayment(O.RecordPaymentRequest(
            invoice_id="i1", amount=600, time=T0 + 101 * DAY, payment_id="pay3"))
        self.assertEqual((inv.open_amount, inv.overdue_days), (0, 0))
        self.assertEqual(quote(T0 + 100 * DAY).credit.outcome, Q.CREDIT_OUTCOME_APPROVE)
        self.assertEqual(quote(T0).credit.exposure, q.total)
        self.verify()

    def test_each_credit_outcome_and_what_approves_it(self):
        C = Q
        self.s.customers.PutCustomers(A.PutCustomersRequest(customers=[
            T.Customer(id="near", order_count=1, credit=credit(10000, open_receivables=9500)),
            T.Customer(id="dep", order_count=1, credit=credit(10000, open_receivables=11000)),
            T.Customer(id="far", order_count=1, credit=credit(10000, open_receivables=20000)),
            T.Customer(id="blk", order_count=1, credit=credit(10**9, blocked=True)),
            T.Customer(id="newbie", credit=credit(10**9, max_order_value=500)),
        ]))
        want = {
            "big": (C.CREDIT_OUTCOME_APPROVE, None),
            "near": (C.CREDIT_OUTCOME_APPROVE_SHORTER_TERMS,
                     "TO_APPROVE: an order total of at most 5.00, or a payment of 5.00 on open receivables"),
            "dep": (C.CREDIT_OUTCOME_DEPOSIT, "TO_APPROVE: the deposit of 10.00, or a payment of 20.00"),
            "far": (C.CREDIT_OUTCOME_REVIEW, "TO_APPROVE: a payment of 110.00 on open receivables"),
            "cash": (C.CREDIT_OUTCOME_PREPAY, "TO_APPROVE: a credit limit set by finance"),
            "late": (C.CREDIT_OUTCOME_DECLINE, "TO_APPROVE: payment of the open items more than 60"),
            "blk": (C.CREDIT_OUTCOME_DECLINE, "TO_APPROVE: finance unblocks the account"),
            "newbie": (C.CREDIT_OUTCOME_REVIEW, "TO_APPROVE: an order total of at most 5.00"),
            "held": (C.CREDIT_OUTCOME_REVIEW, "TO_APPROVE: finance lifts the hold"),
        }
        for cust, (outcome, how) in want.items():
            q = self.s.quote.Quote(Q.QuoteRequest(customer_id=cust, currency="USD",
                                                  lines=[Q.LineRequest(sku="A", quantity=1)],
                                                  request_time=T0))
            self.assertEqual(q.credit.outcome, outcome, (cust, q.credit))
            if how is None:
                self.assertEqual(len(q.credit.reasons), 1)
                continue
            self.assertTrue(q.credit.reasons[1].startswith(how), (cust, q.credit.reasons))
            self.assertTrue(q.credit.reasons[2].startswith("OVERRIDE: finance"), q.credit.reasons)
            if cust != "cash":
                self.assertIn("CHECKS: limit", q.credit.reasons[3])
        self.assertEqual(self.commit("dep1", [("A", 1)], customer="dep").amount_due_upfront, 1000)
        self.assertEqual(self.commit("far1", [("A", 1)], customer="far").state, HOLD)
        self.assertEqual(self.commit("near1", [("A", 1)], customer="near").terms_days, 15)
        with self.assertRaises(grpc.RpcError) as cm:
            self.commit("blk1", [("A", 1)], customer="blk")
        self.assertIn("BLOCKED", cm.exception.details())
        self.assertIn("TO_APPROVE", cm.exception.details())
        self.verify()

    def test_score_maps_to_tier(self):
        self.s.customers.PutCustomers(A.PutCustomersRequest(customers=[
            T.Customer(id="sc", order_count=1,
                       credit=credit(10000, tier="A", score=50, open_receivables=8500))]))
        q = self.s.quote.Quote(Q.QuoteRequest(customer_id="sc", currency="USD",
                                              lines=[Q.LineRequest(sku="A", quantity=1)],
                                              request_time=T0))
        # 95 % of the limit: tier A would shorten the terms, tier C (score 50) asks a deposit
        self.assertEqual(q.credit.outcome, Q.CREDIT_OUTCOME_DEPOSIT)
        self.assertIn("(tier C from score 50)", q.credit.reasons[0])
        with self.assertRaises(grpc.RpcError) as cm:
            self.s.customers.PutCustomers(A.PutCustomersRequest(customers=[
                T.Customer(id="sc2", credit=credit(1, score=101))]))
        self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)

    def test_profile_changes_recorded_and_order_stats_kept(self):
        self.commit("s1", [("A", 1)], customer="tight")
        # finance rewrites the profile: limit up, tier B; order stats stay
        self.s.customers.PutCustomers(A.PutCustomersRequest(customers=[
            T.Customer(id="tight", customer_group="retail", credit=credit(200000, tier="B"))]))
        c = self.s.customers.GetCustomer(A.CustomerKey(id="tight"))
        self.assertEqual((c.order_count, c.first_order_at, c.last_order_at), (1, T0, T0))
        self.s.customers.PutCustomers(A.PutCustomersRequest(customers=[c]))  # no change
        ch = self.s.orders.ListCreditChanges(O.ListCreditChangesRequest(customer_id="tight"))
        self.assertEqual(len(ch.changes), 2)  # created, then changed
        self.assertFalse(ch.changes[0].HasField("before"))
        self.assertEqual(ch.changes[0].after.credit_limit, 100000)
        self.assertEqual((ch.changes[1].before.credit_limit, ch.changes[1].before.tier,
                          ch.changes[1].after.credit_limit, ch.changes[1].after.tier),
                         (100000, "C", 200000, "B"))
        self.assertGreater(ch.changes[1].at, 0)
        self.verify()

    # ---- concurrency proofs -------------------------------------------------
    def test_concurrent_coupon_limit(self):
        errs = self.concurrently(40, lambda i: self.commit(
            "L%d" % i, [("A", 1)], coupons=["LIM5"], retries=200))
        self.assertEqual(errs, [])
        orders = self.all_orders()
        self.assertEqual(len(orders), 40)
        self.assertEqual(self.counter_uses(orders, "LIM5"), 5)
        self.verify()

    def test_concurrent_per_customer_limit_and_retries(self):
        # 30 orders, each sent by 2 clients at once: commits once per id
        errs = self.concurrently(60, lambda i: self.commit(
            "PC%d" % (i // 2), [("A", 1)], coupons=["PC2"], retries=200))
        self.assertEqual(errs, [])
        orders = self.all_orders()
        self.assertEqual(len(orders), 30)
        self.assertEqual(self.counter_uses(orders, "PC2"), 2)
        self.assertEqual(self.s.customers.GetCustomer(A.CustomerKey(id="big")).order_count, 30)
        self.verify()

    def test_concurrent_amount_budget(self):
        # 10 % off B (500): 50 per unit, budget 1000 -> 20 units' worth
        errs = self.concurrently(40, lambda i: self.commit(
            "B%d" % i, [("B", 3)], retries=200))
        self.assertEqual(errs, [])
        used = sum(b.amount for o in self.all_orders() for b in o.budgets
                   if b.promotion_id == "BUDGET")
        self.assertEqual(used, 1000)
        self.verify()

    def test_concurrent_tight_credit_limit(self):
        # tier C: approve <= 80 %, shorter terms <= 90 %, deposit <= 100 %, else PREPAY
        # (which reserves nothing): exposure never goes above the limit
        errs = self.concurrently(30, lambda i: self.commit(
            "T%d" % i, [("A", 9)], customer="tight", retries=500))
        self.assertEqual(errs, [])
        orders = self.all_orders(customer_id="tight")
        self.assertEqual(len(orders), 30)
        exposure = sum(o.exposure for o in orders)
        self.assertLessEqual(exposure, 100000)
        self.assertGreaterEqual(exposure, 90000)  # 9000 each: 11 fit under 100 %
        q = self.s.quote.Quote(Q.QuoteRequest(customer_id="tight", currency="USD",
                                              lines=[Q.LineRequest(sku="A", quantity=1)],
                                              request_time=T0))
        self.assertEqual(q.credit.exposure, exposure + 1000)
        self.verify()

    def test_cancel_racing_commit(self):
        def work(i):
            if i % 2 == 0:
                self.commit("R%d" % (i // 2), [("A", 1)], coupons=["LIM5"], retries=200)
            else:
                for _ in range(50):
                    try:
                        self.s.orders.Cancel(O.OrderKey(order_id="R%d" % (i // 2)))
                        return
                    except grpc.RpcError as e:
                        if e.code() != grpc.StatusCode.NOT_FOUND:
                            raise
        self.assertEqual(self.concurrently(40, work), [])
        orders = self.all_orders()
        live = [o for o in orders if o.state == OPEN]
        self.assertLessEqual(self.counter_uses(live, "LIM5"), 5)
        self.verify()


if __name__ == "__main__":
    unittest.main()
