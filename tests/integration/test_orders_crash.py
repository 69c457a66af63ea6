"""kill -9 during commit load, 20 rounds: every acknowledged commit (and
cancel) is there after the restart, and every counter equals what the
orders imply (VerifyCounters, also `dealdesk verify`)."""
import os
import random
import subprocess
import sys
import tempfile
import shutil
import threading
import time
import unittest

import grpc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

m = harness.stubs()
Q, T, A, O = m["quote_pb2"], m["types_pb2"], m["admin_pb2"], m["orders_pb2"]
T0 = harness.T0
ROUNDS = int(os.environ.get("DD_CRASH_ROUNDS", "20"))
CLIENTS = 16


def setup(s):
    s.catalog.PutPriceEntries(A.PutPriceEntriesRequest(entries=[
        T.PriceEntry(price_list_id="usd", sku=sku, currency="USD", unit_price=price,
                     unit_cost=price // 3, category="x")
        for sku, price in [("A", 1000), ("B", 500)]]))
    s.customers.PutCustomers(A.PutCustomersRequest(customers=[
        T.Customer(id="c%d" % i, credit=T.CreditProfile(
            currency="USD", credit_limit=[10**10, 300000][i % 2], standard_terms_days=30,
            tier=["A", "C"][i % 2])) for i in range(4)]))
    s.catalog.PutPromotions(A.PutPromotionsRequest(promotions=[
        T.Promotion(id="COUP", name="c", kind=T.PROMOTION_KIND_FIXED_AMOUNT, skus=["A"],
                    amount=100, currency="USD", requires_coupon=True, enabled=True),
        T.Promotion(id="BUD", name="b", kind=T.PROMOTION_KIND_PERCENTAGE, skus=["B"],
                    percent_bps=1000, budget_amount=20000, customer_budget_uses=40,
                    enabled=True)]))
    s.catalog.PutCoupons(A.PutCouponsRequest(coupons=[
        T.Coupon(code="LIM", promotion_id="COUP", enabled=True, max_uses=150,
                 max_uses_per_customer=60)]))


class CrashTest(unittest.TestCase):
    def test_kill9_rounds(self):
        tmp = tempfile.mkdtemp(prefix="dd-crash-")
        db = os.path.join(tmp, "db")
        acked, cancelled = {}, set()
        lock = threading.Lock()
        rng = random.Random(7)
        try:
            for rnd in range(ROUNDS):
                s = harness.Server("--db", db, demo=False)
                if rnd == 0:
                    setup(s)
                stop = threading.Event()

                def client(t, s=s, rnd=rnd, stop=stop):
                    r = random.Random(rnd * 1000 + t)
                    k = 0
                    while not stop.is_set():
                        oid = "r%d-t%d-%d" % (rnd, t, k)
                        k += 1
                        lines = [Q.LineRequest(sku="A", quantity=r.randint(1, 3)),
                                 Q.LineRequest(sku="B", quantity=r.randint(0, 2) or 1)]
                        req = O.CommitRequest(order_id=oid, request=Q.QuoteRequest(
                            customer_id="c%d" % r.randint(0, 3), currency="USD",
                            request_time=T0, lines=lines,
                            coupon_codes=["LIM"] if r.random() < 0.7 else []))
                        try:
                            o = s.orders.Commit(req, timeout=10)
                            with lock:
                                acked[oid] = o.total
                            if r.random() < 0.2:
                                s.orders.Cancel(O.OrderKey(order_id=oid), timeout=10)
                                with lock:
                                    cancelled.add(oid)
                        except grpc.RpcError as e:
                            if e.code() == grpc.StatusCode.FAILED_PRECONDITION:
                                continue
                            return  # the server is gone
                ts = [threading.Thread(target=client, args=(t,)) for t in range(CLIENTS)]
                for t in ts:
                    t.start()
                time.sleep(rng.uniform(0.2, 0.7))
                s.proc.kill()
                s.proc.wait()
                stop.set()
                for t in ts:
                    t.join()
                s.channel.close()
                s.log.close()
                s.cleanup()
            s = harness.Server("--db", db, demo=False)
            try:
                self.assertGreater(len(acked), 100)
                for oid, total in acked.items():
                    o = s.orders.GetOrder(O.OrderKey(order_id=oid))
                    self.assertEqual(o.total, total, oid)
                    if oid in cancelled:
                        self.assertEqual(o.state, O.ORDER_STATE_CANCELLED, oid)
                r = s.orders.VerifyCounters(O.VerifyCountersRequest())
                self.assertEqual(list(r.differences), [])
                self.assertGreaterEqual(r.orders, len(acked))
                p = subprocess.run([os.path.join(harness.BIN, "dealdesk"), "--server", s.addr,
                                    "verify"], capture_output=True, text=True, timeout=60)
                self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
                self.assertIn("0 difference(s)", p.stdout)
                live = [o for o in self.all_orders(s) if o.state == O.ORDER_STATE_OPEN
                        or o.state == O.ORDER_STATE_CREDIT_HOLD]
                self.assertLessEqual(sum(1 for o in live if "LIM" in o.coupons), 150)
                used = sum(b.amount for o in live for b in o.budgets)
                self.assertLessEqual(used, 20000)
                print("crash test: %d rounds, %d acknowledged commits, %d cancels, %d orders"
                      % (ROUNDS, len(acked), len(cancelled), r.orders), file=sys.stderr)
            finally:
                self.assertEqual(s.stop(), 0)
                s.cleanup()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def all_orders(self, s):
        out, token = [], ""
        while True:
            r = s.orders.ListOrders(O.ListOrdersRequest(
                page=A.PageRequest(page_size=1000, page_token=token)))
            out += r.orders
            token = r.next_page_token
            if not token:
                return out


if __name__ == "__main__":
    unittest.main()
