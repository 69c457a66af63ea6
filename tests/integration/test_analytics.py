"""Analytics over the real server: orders committed, invoiced and paid
through OrderService, then RFM, experiment reports and sales KPIs read
over gRPC and through the CLI (text, --json, CSV), and the HTML report
opened in headless Chromium. The expected figures are worked out by hand
in the comments (the experiment's statistics from the textbook formulas
over the arm counts, which the FNV assignment decides)."""
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest

import grpc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

m = harness.stubs()
Q, T, A, O, AN = (m["quote_pb2"], m["types_pb2"], m["admin_pb2"], m["orders_pb2"],
                  m["analytics_pb2"])
T0 = harness.T0
DAY = 86400
HALF_UP = T.ROUNDING_MODE_HALF_UP
CLI = os.path.join(harness.BIN, "dealdesk")
CHROMIUM = "/usr/bin/chromium"


def fnv1a64(s):
    h = 0xcbf29ce484222325
    for b in s.encode():
        h ^= b
        h = (h * 0x100000001b3) % (1 << 64)
    return h


def arm_of(customer, experiment, arms):
    """README "Experiments": b = FNV-1a-64(customer \\0 experiment) mod total weight."""
    b = fnv1a64(customer + "\0" + experiment) % sum(w for _, w in arms)
    for name, w in arms:
        if b < w:
            return name
        b -= w
    raise AssertionError("no arm")


def credit():
    return T.CreditProfile(currency="USD", credit_limit=10**12, standard_terms_days=30, tier="A")


def prices(s):
    s.catalog.PutPriceEntries(A.PutPriceEntriesRequest(entries=[
        T.PriceEntry(price_list_id="usd", sku=sku, currency="USD", unit_price=price,
                     unit_cost=cost, category="x", rounding=HALF_UP)
        for sku, price, cost in [("A", 1000, 400), ("B", 500, 200)]]))


def commit(s, oid, customer, lines, t, channel="web", region="EU"):
    return s.orders.Commit(O.CommitRequest(order_id=oid, request=Q.QuoteRequest(
        customer_id=customer, currency="USD", channel=channel, region=region, request_time=t,
        lines=[Q.LineRequest(sku=k, quantity=n) for k, n in lines])), timeout=30)


def cli(s, *args, expect=0):
    p = subprocess.run([CLI, "--server", s.addr] + list(args), capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == expect, p.stdout + p.stderr
    return p.stdout


class KpiTest(unittest.TestCase):
    """Three customers, four orders (one cancelled), two invoices, one
    payment inside the period and one after it.

      o1 k1 T0      2 x A            subtotal 2000, no discount, total 2000, cost 800, web EU
      o2 k2 T0+5d   1 x A + 2 x B    subtotal 2000, B10 takes 100, total 1900, cost 800, store US
      o3 k1 T0+10d  1 x B            subtotal 500, B10 takes 50, total 450, cost 200, web EU
      o4 k3 T0+12d  1 x A            cancelled: counts nowhere
      o1 invoiced at T0+1d (due T0+31d), 1500 paid at T0+20d
      o2 invoiced at T0+6d (due T0+36d), paid in full at T0+40d

    Over [T0, T0+35d): revenue 4350, discount 150 of 4500 = 3.3333 %, cost
    1800, margin 2550; credit sales 3900, collected 1500, opening AR 0,
    closing AR 500 + 1900 = 2400, of which 1900 not yet due (o1 is overdue
    since T0+31d). Collection rate 1500 / 3900 = 38.4615 %; DSO 2400 / 3900 x
    35 = 21.5385; Best DSO 1900 / 3900 x 35 = 17.0513; average days
    delinquent 4.4872; CEI (3900 - 2400) / (3900 - 1900) = 75 %. Customers 2,
    k1 with two orders: repurchase 50 %. Promoted orders o2, o3: discount
    150, margin 1100 + 250 = 1350, promotion ROI 9."""

    @classmethod
    def setUpClass(cls):
        cls.s = s = harness.Server(demo=False)
        prices(s)
        s.customers.PutCustomers(A.PutCustomersRequest(customers=[
            T.Customer(id=c, customer_group="retail", credit=credit()) for c in ("k1", "k2", "k3")]))
        s.catalog.PutPromotions(A.PutPromotionsRequest(promotions=[
            T.Promotion(id="B10", name="B10", kind=T.PROMOTION_KIND_PERCENTAGE, skus=["B"],
                        percent_bps=1000, enabled=True)]))
        commit(s, "o1", "k1", [("A", 2)], T0)
        commit(s, "o2", "k2", [("A", 1), ("B", 2)], T0 + 5 * DAY, channel="store", region="US")
        commit(s, "o3", "k1", [("B", 1)], T0 + 10 * DAY)
        commit(s, "o4", "k3", [("A", 1)], T0 + 12 * DAY)
        s.orders.Cancel(O.OrderKey(order_id="o4"), timeout=30)
        s.orders.Invoice(O.InvoiceRequest(order_id="o1", invoice_time=T0 + DAY), timeout=30)
        s.orders.Invoice(O.InvoiceRequest(order_id="o2", invoice_time=T0 + 6 * DAY), timeout=30)
        s.orders.RecordPayment(O.RecordPaymentRequest(invoice_id="o1", amount=1500,
                                                      time=T0 + 20 * DAY, payment_id="p1"),
                               timeout=30)
        s.orders.RecordPayment(O.RecordPaymentRequest(invoice_id="o2", amount=1900,
                                                      time=T0 + 40 * DAY, payment_id="p2"),
                               timeout=30)

    @classmethod
    def tearDownClass(cls):
        code = cls.s.stop()
        log = cls.s.read_log()
        cls.s.cleanup()
        assert code == 0, log[-3000:]

    def kpis(self, **kw):
        return self.s.analytics.GetSalesKpis(AN.GetSalesKpisRequest(
            currency="USD", from_time=T0, to_time=T0 + 35 * DAY, **kw), timeout=30)

    def test_one_period(self):
        r = self.kpis()
        self.assertEqual(len(r.rows), 1)
        k = r.rows[0]
        self.assertEqual((k.channel, k.region), ("*", "*"))
        self.assertEqual((k.orders, k.customers, k.repeat_customers), (3, 2, 1))
        self.assertEqual((k.subtotal, k.discount, k.revenue, k.cost, k.margin),
                         (4500, 150, 4350, 1800, 2550))
        self.assertEqual((k.credit_sales, k.collected, k.opening_ar, k.closing_ar,
                          k.closing_current_ar), (3900, 1500, 0, 2400, 1900))
        self.assertAlmostEqual(k.discount_share, 100 * 150 / 4500, places=9)
        self.assertAlmostEqual(k.collection_rate, 38.461538, places=5)
        self.assertAlmostEqual(k.dso, 21.538462, places=5)
        self.assertAlmostEqual(k.best_dso, 17.051282, places=5)
        self.assertAlmostEqual(k.avg_days_delinquent, 4.487179, places=5)
        self.assertAlmostEqual(k.cei, 75.0, places=9)
        self.assertAlmostEqual(k.repurchase_rate, 50.0, places=9)
        self.assertEqual((k.promo_discount, k.promo_margin), (150, 1350))
        self.assertAlmostEqual(k.promotion_roi, 9.0, places=9)
        self.assertAlmostEqual(k.days, 35.0, places=9)

    def test_by_channel(self):
        """web: o1 + o3 (revenue 2450), the o1 invoice: credit sales 2000,
        collected 1500, closing 500 all overdue: DSO 500 / 2000 x 35 = 8.75,
        Best DSO 0, CEI (2000 - 500) / 2000 = 75 %. store: o2, 1900 open and
        not yet due: DSO = Best DSO = 35, collection 0, CEI 0 (0 / 0)."""
        rows = {k.channel: k for k in self.kpis(by_channel=True).rows}
        self.assertEqual(sorted(rows), ["store", "web"])
        web, store = rows["web"], rows["store"]
        self.assertEqual(web.region, "*")
        self.assertEqual((web.revenue, web.orders, web.credit_sales, web.closing_ar,
                          web.closing_current_ar), (2450, 2, 2000, 500, 0))
        self.assertAlmostEqual(web.dso, 8.75, places=9)
        self.assertAlmostEqual(web.best_dso, 0, places=9)
        self.assertAlmostEqual(web.cei, 75, places=9)
        self.assertAlmostEqual(web.collection_rate, 75, places=9)
        self.assertEqual((store.revenue, store.credit_sales, store.closing_current_ar),
                         (1900, 1900, 1900))
        self.assertAlmostEqual(store.dso, 35, places=9)
        self.assertAlmostEqual(store.avg_days_delinquent, 0, places=9)
        self.assertAlmostEqual(store.cei, 0, places=9)

    def test_weeks_and_cli(self):
        """Weekly: five periods of 7 days; the CLI's CSV has one row each,
        and its figures are those of the RPC."""
        r = self.kpis(period="week")
        self.assertEqual([k.period_start for k in r.rows], [T0 + 7 * DAY * i for i in range(5)])
        self.assertEqual([k.revenue for k in r.rows], [2000 + 1900, 450, 0, 0, 0])
        out = cli(self.s, "kpis", "--currency", "USD", "--from", str(T0), "--to",
                  str(T0 + 35 * DAY), "--period", "week", "--csv")
        lines = out.strip().split("\n")
        self.assertEqual(len(lines), 6)
        self.assertTrue(lines[0].startswith("period_start,period_end,channel,region,orders"))
        first = lines[1].split(",")
        self.assertEqual(first[:7], [str(T0), str(T0 + 7 * DAY), '"*"', '"*"', "2", "2", "39.00"])
        js = json.loads(cli(self.s, "--json", "kpis", "--currency", "USD", "--from", str(T0),
                            "--to", str(T0 + 35 * DAY)))
        self.assertAlmostEqual(js["rows"][0]["dso"], 21.538462, places=5)
        text = cli(self.s, "kpis", "--currency", "USD", "--from", str(T0), "--to",
                   str(T0 + 35 * DAY))
        self.assertIn("21.54", text)
        self.assertIn("75.00", text)

    def test_bad_requests(self):
        for req, field in [(AN.GetSalesKpisRequest(), "currency"),
                           (AN.GetSalesKpisRequest(currency="USD", period="year"), "period"),
                           (AN.GetSalesKpisRequest(currency="USD", from_time=T0 + 1,
                                                   to_time=T0), "from_time")]:
            with self.assertRaises(grpc.RpcError) as cm:
                self.s.analytics.GetSalesKpis(req, timeout=30)
            self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
            self.assertTrue(cm.exception.details().startswith(field + ":"),
                            cm.exception.details())

    def test_rfm(self):
        """As of T0+35d: k1 two orders (last T0+10d: 25 days; 2450), k2 one
        (T0+5d: 30 days; 1900), k3 only a cancelled one: a prospect. Two
        scored customers fill quintiles 1 and 2: k2 R1 F1 M1, k1 R2 F2 M2,
        both hibernating (not idle for a year, so not lost); both active
        (first orders 35 and 30 days ago, not under 30)."""
        at = T0 + 35 * DAY
        k1 = self.s.analytics.GetCustomerValue(AN.GetCustomerValueRequest(customer_id="k1", at=at),
                                               timeout=30)
        self.assertEqual((k1.r, k1.f, k1.m, k1.recency_days, k1.frequency, k1.monetary),
                         (2, 2, 2, 25, 2, 2450))
        self.assertEqual((k1.segment, k1.lifecycle), ("hibernating", "active"))
        k2 = self.s.analytics.GetCustomerValue(AN.GetCustomerValueRequest(customer_id="k2", at=at),
                                               timeout=30)
        self.assertEqual((k2.r, k2.f, k2.m, k2.recency_days), (1, 1, 1, 30))
        k3 = self.s.analytics.GetCustomerValue(AN.GetCustomerValueRequest(customer_id="k3", at=at),
                                               timeout=30)
        self.assertEqual((k3.r, k3.order_count, k3.segment, k3.lifecycle), (0, 0, "", "prospect"))
        seg = self.s.analytics.ListSegments(AN.ListSegmentsRequest(at=at, customers=True),
                                            timeout=30)
        self.assertEqual(len(seg.segments), 11)
        self.assertEqual({x.segment: x.customers for x in seg.segments if x.customers},
                         {"hibernating": 2})
        self.assertEqual({x.stage: x.customers for x in seg.lifecycle},
                         {"prospect": 1, "new": 0, "active": 2, "dormant": 0, "churned": 0})
        self.assertEqual([c.customer_id for c in seg.customers], ["k1", "k2", "k3"])
        # a 7-day dormancy makes both dormant; k2's order is no longer in a 28-day window
        seg = self.s.analytics.ListSegments(AN.ListSegmentsRequest(
            at=at, options=AN.RfmOptions(dormant_days=7, window_days=28)), timeout=30)
        self.assertEqual({x.stage: x.customers for x in seg.lifecycle}["dormant"], 2)
        out = cli(self.s, "rfm", "get", "k1", "--at", str(at))
        self.assertIn("k1  R2 F2 M2  hibernating  active  recency 25 days", out)
        with self.assertRaises(grpc.RpcError) as cm:
            self.s.analytics.GetCustomerValue(AN.GetCustomerValueRequest(customer_id="nobody"),
                                              timeout=30)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.NOT_FOUND)


class RfmPolicyTest(unittest.TestCase):
    """ctx.customer.rfm in a promotion condition: the stored values of a
    recompute, then kept current by a commit."""

    def test_recompute_and_commit(self):
        s = harness.Server(demo=False)
        try:
            prices(s)
            s.customers.PutCustomers(A.PutCustomersRequest(customers=[
                T.Customer(id=c, customer_group="retail", credit=credit()) for c in ("r1", "r2")]))
            commit(s, "a1", "r1", [("A", 1)], T0)
            commit(s, "a2", "r1", [("A", 1)], T0 + DAY)
            commit(s, "a3", "r2", [("A", 1)], T0 - 20 * DAY)
            s.catalog.PutPromotions(A.PutPromotionsRequest(promotions=[
                T.Promotion(id="VIP", name="VIP", kind=T.PROMOTION_KIND_PERCENTAGE, skus=["A"],
                            percent_bps=500, enabled=True,
                            condition="return ctx.customer.rfm.r >= 2 and "
                                      "ctx.customer.rfm.segment ~= ''")]))
            r = s.analytics.RecomputeRfm(AN.RecomputeRfmRequest(at=T0 + 2 * DAY), timeout=30)
            self.assertEqual(r.customers, 2)
            self.assertGreater(r.data_version, 0)

            def discount(customer, t):
                q = s.quote.Quote(Q.QuoteRequest(customer_id=customer, currency="USD",
                                                 request_time=t,
                                                 lines=[Q.LineRequest(sku="A", quantity=1)]),
                                  timeout=30)
                return q.discount_total
            # r1 (1 day, 2 orders) scores R2 F2; r2 (22 days, 1 order) R1 F1
            self.assertEqual(discount("r1", T0 + 2 * DAY), 50)
            self.assertEqual(discount("r2", T0 + 2 * DAY), 0)
            # r2 orders again: scored against the recompute's breakpoints
            # (recency 0 >= r1's -1 day: R2) at once, no recompute needed
            commit(s, "a4", "r2", [("B", 1)], T0 + 3 * DAY)
            self.assertEqual(discount("r2", T0 + 3 * DAY), 50)
            self.assertIn("rfm recompute: 2 customers scored",
                          cli(s, "rfm", "recompute", "--at", str(T0 + 3 * DAY)))
        finally:
            self.assertEqual(s.stop(), 0, s.read_log()[-3000:])
            s.cleanup()


ARMS = [("control", 1), ("treat", 1)]


class ExperimentTest(unittest.TestCase):
    """Promotion EXP (10 % off A) split 1:1 into control (no discount) and
    treat (20 %), 40 customers quoted once each (and e00 three times), the
    first 4 control and 8 treat customers commit one A each: control orders
    1000 (cost 400), treat 800 (discount 200, cost 400). One treat order is
    invoiced at T0 and unpaid, due T0+30d: at T0+40d it is overdue."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="dd-exp-")
        cls.s = s = harness.Server(demo=False)
        prices(s)
        cls.customers = ["e%02d" % i for i in range(40)]
        s.customers.PutCustomers(A.PutCustomersRequest(customers=[
            T.Customer(id=c, customer_group="retail", credit=credit()) for c in cls.customers]))
        s.catalog.PutPromotions(A.PutPromotionsRequest(promotions=[
            T.Promotion(id="EXP", name="EXP", kind=T.PROMOTION_KIND_PERCENTAGE, skus=["A"],
                        percent_bps=1000, enabled=True, experiment_id="exp1",
                        arms=[T.ExperimentArm(name="control", weight=1, control=True),
                              T.ExperimentArm(name="treat", weight=1, percent_bps=2000)])]))
        cls.arm = {c: arm_of(c, "exp1", ARMS) for c in cls.customers}
        cls.quotes = {"control": 0, "treat": 0}
        for c in cls.customers + ["e00", "e00"]:
            q = s.quote.Quote(Q.QuoteRequest(customer_id=c, currency="USD", request_time=T0,
                                             lines=[Q.LineRequest(sku="A", quantity=1)]),
                              timeout=30)
            got = {e.experiment_id: e.arm for e in q.experiments}
            assert got == {"exp1": cls.arm[c]}, (c, got)
            cls.quotes[cls.arm[c]] += 1
        cls.buyers = ([c for c in cls.customers if cls.arm[c] == "control"][:4] +
                      [c for c in cls.customers if cls.arm[c] == "treat"][:8])
        for i, c in enumerate(cls.buyers):
            o = commit(s, "x%02d" % i, c, [("A", 1)], T0)
            assert o.total == (1000 if cls.arm[c] == "control" else 800), o.total
        cls.unpaid = [i for i, c in enumerate(cls.buyers) if cls.arm[c] == "treat"][0]
        s.orders.Invoice(O.InvoiceRequest(order_id="x%02d" % cls.unpaid, invoice_time=T0),
                         timeout=30)

    @classmethod
    def tearDownClass(cls):
        code = cls.s.stop()
        log = cls.s.read_log()
        cls.s.cleanup()
        shutil.rmtree(cls.dir, ignore_errors=True)
        assert code == 0, log[-3000:]

    def expected(self):
        n = {a: sum(1 for c in self.customers if self.arm[c] == a) for a, _ in ARMS}
        return n, {"control": 4, "treat": 8}

    def check(self, r):
        self.assertEqual(len(r.experiments), 1)
        e = r.experiments[0]
        self.assertEqual((e.experiment_id, e.promotion_id), ("exp1", "EXP"))
        n, x = self.expected()
        arms = {a.arm: a for a in e.arms}
        c, t = arms["control"], arms["treat"]
        self.assertTrue(c.control)
        self.assertEqual((c.customers, t.customers), (n["control"], n["treat"]))
        self.assertEqual((c.quotes, t.quotes), (self.quotes["control"], self.quotes["treat"]))
        self.assertEqual((c.commits, c.converted, t.commits, t.converted), (4, 4, 8, 8))
        self.assertEqual((c.revenue, c.discount_cost, c.cost, c.margin), (4000, 0, 1600, 2400))
        self.assertEqual((t.revenue, t.discount_cost, t.cost, t.margin), (6400, 1600, 3200, 3200))
        self.assertAlmostEqual(c.conversion, 4 / n["control"], places=12)
        # the two-proportion z-test: pooled and unpooled errors
        p1, p2 = 4 / n["control"], 8 / n["treat"]
        p = 12 / 40
        z = (p2 - p1) / math.sqrt(p * (1 - p) * (1 / n["control"] + 1 / n["treat"]))
        se = math.sqrt(p1 * (1 - p1) / n["control"] + p2 * (1 - p2) / n["treat"])
        self.assertTrue(t.has_test)
        self.assertAlmostEqual(t.diff, p2 - p1, places=12)
        self.assertAlmostEqual(t.z, z, places=9)
        self.assertAlmostEqual(t.p_value, math.erfc(abs(z) / math.sqrt(2)), places=9)
        self.assertAlmostEqual(t.ci_low, p2 - p1 - 1.959963984540054 * se, places=9)
        self.assertAlmostEqual(t.ci_high, p2 - p1 + 1.959963984540054 * se, places=9)
        self.assertFalse(c.has_test)
        # ROI: incremental margin before the promotion's discount against
        # control scaled to the arm's size, less the discount, per discount
        k = n["treat"] / n["control"]
        incr = (3200 + 1600) - (2400 + 0) * k
        self.assertEqual(t.incremental_margin, round(incr))
        self.assertTrue(t.has_roi)
        self.assertAlmostEqual(t.roi, (incr - 1600) / 1600, places=9)
        # receivables: the one treat invoice, 800 open, due T0+30d
        self.assertEqual((t.unpaid, t.overdue, c.unpaid), (800, 800, 0))
        self.assertAlmostEqual(t.roi_net_overdue, (incr - 800 - 1600) / 1600, places=9)
        # SRM against 1:1
        chi2 = sum((n[a] - 20) ** 2 / 20 for a in n)
        self.assertAlmostEqual(e.srm_chi_square, chi2, places=9)
        self.assertEqual(e.srm_df, 1)
        self.assertAlmostEqual(e.srm_p_value, math.erfc(math.sqrt(chi2 / 2)), places=9)
        self.assertEqual(e.srm_status, "OK" if e.srm_p_value >= 0.01 else "WARN")
        self.assertEqual(e.planned_sample_size, 100)
        self.assertFalse(e.sample_reached)
        self.assertTrue(any(w.startswith("sample size not reached") for w in e.warnings))
        return e

    def report(self):
        return self.s.analytics.GetExperimentReport(AN.GetExperimentReportRequest(
            at=T0 + 40 * DAY, planned_sample_size=100), timeout=30)

    def test_a_report_then_after_restart(self):
        """The quotes are counted whether still in memory or stored: the
        same report before and after a restart (which stores them)."""
        self.check(self.report())
        db = self.s.db
        self.assertEqual(self.s.stop(), 0)
        self.__class__.s = harness.Server(demo=False, db=db)
        self.check(self.report())
        # a quote after the restart counts at once (its batch is numbered
        # after the stored ones), and again after a second restart
        self.s.quote.Quote(Q.QuoteRequest(customer_id="e01", currency="USD", request_time=T0,
                                          lines=[Q.LineRequest(sku="A", quantity=1)]), timeout=30)
        self.quotes[self.arm["e01"]] += 1
        self.check(self.report())
        self.assertEqual(self.s.stop(), 0)
        self.__class__.s = harness.Server(demo=False, db=db)
        self.check(self.report())

    def test_planned_from_effect_and_errors(self):
        r = self.s.analytics.GetExperimentReport(AN.GetExperimentReportRequest(
            experiment_id="exp1", at=T0 + 40 * DAY, baseline_bps=1000, min_effect_bps=200),
            timeout=30)
        self.assertEqual(r.experiments[0].planned_sample_size, 3841)
        with self.assertRaises(grpc.RpcError) as cm:
            self.s.analytics.GetExperimentReport(
                AN.GetExperimentReportRequest(experiment_id="nope"), timeout=30)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.NOT_FOUND)
        self.assertIn("experiment_id", cm.exception.details())
        out = cli(self.s, "experiments", "exp1", "--at", str(T0 + 40 * DAY), "--planned", "100")
        self.assertIn("experiment exp1 (promotion EXP): 40 customers, planned 100 per arm (not reached)", out)
        self.assertIn("treat", out)
        self.assertIn("warning: sample size not reached", out)

    def test_html_report_in_chromium(self):
        path = os.path.join(self.dir, "report.html")
        cli(self.s, "report", "--html", path, "--currency", "USD", "--from", str(T0 - 7 * DAY),
            "--to", str(T0 + 42 * DAY), "--period", "week")
        with open(path) as f:
            html = f.read()
        self.assertTrue(html.startswith("<!DOCTYPE html>"))
        for needle in ('id="chart-revenue"', 'id="chart-collection"', 'id="chart-segments"',
                       'id="chart-exp-0"', "exp1", "treat"):
            self.assertIn(needle, html)
        # self-contained: nothing fetched, no script
        for bad in ("http://", "https://", "<script", "src="):
            self.assertNotIn(bad, html)
        if not os.path.exists(CHROMIUM):
            self.skipTest("chromium is not installed")
        prof = tempfile.mkdtemp(prefix="dd-chromium-", dir=self.dir)
        p = subprocess.run([CHROMIUM, "--headless", "--disable-gpu", "--no-sandbox",
                            "--user-data-dir=" + prof, "--dump-dom", "file://" + path],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr[-2000:])
        dom = p.stdout
        # the browser parsed it into the same document: every chart is there
        self.assertIn("<svg", dom)
        for needle in ('id="chart-revenue"', 'id="chart-segments"', 'id="chart-exp-0"',
                       'id="kpis"', 'id="lifecycle"'):
            self.assertIn(needle, dom)
        self.assertEqual(dom.count("<svg"), html.count("<svg"))
        # and it paints: a screenshot of the page is a PNG of the window's size
        png = os.path.join(self.dir, "report.png")
        p = subprocess.run([CHROMIUM, "--headless", "--disable-gpu", "--no-sandbox",
                            "--user-data-dir=" + prof, "--hide-scrollbars",
                            "--window-size=1000,1200", "--screenshot=" + png, "file://" + path],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr[-2000:])
        with open(png, "rb") as f:
            head = f.read(24)
        self.assertEqual(head[:8], b"\x89PNG\r\n\x1a\n")
        self.assertEqual(struct.unpack(">II", head[16:24]), (1000, 1200))


if __name__ == "__main__":
    unittest.main()
