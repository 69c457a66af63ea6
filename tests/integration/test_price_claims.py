"""Price history and price claims against a real dealdeskd: each rule's
violation is flagged (on_write WARN) and refused (on_write BLOCK) when the
promotion is written, and blocked at checkout (Quote shows BLOCK with the
values and evidence, Commit answers FAILED_PRECONDITION naming the check);
the evidence is kept with a committed order; GetPriceHistory and
`dealdesk prices history` show the series the checks saw.

Writes are stamped with the wall clock, so the history is built from
entries scheduled after now (W) and the quotes run at request times after
the promotions start."""
import json
import os
import subprocess
import tempfile
import sys
import time
import unittest

import grpc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

m = harness.stubs()
Q, T, A, O, C = (m["quote_pb2"], m["types_pb2"], m["admin_pb2"], m["orders_pb2"],
                 m["compliance_pb2"])
D = 86400
BLOCK, WARN, PASS = (T.COMPLIANCE_STATUS_BLOCK, T.COMPLIANCE_STATUS_WARN,
                     T.COMPLIANCE_STATUS_PASS)
SC = grpc.StatusCode


def price(list_id, sku, unit, frm=0, to=0, cost=0):
    return T.PriceEntry(price_list_id=list_id, sku=sku, currency="USD", unit_price=unit,
                        unit_cost=cost, valid_from=frm, valid_to=to,
                        rounding=T.ROUNDING_MODE_HALF_UP)


def promo(id, sku, kind, **kw):
    kw.setdefault("enabled", True)
    return T.Promotion(id=id, name=id, kind=kind, skus=[sku], currency="USD", **kw)


class PriceClaimsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = harness.Server(demo=False)
        W = cls.W = int(time.time())
        cls.rules = {
            # EU 98/6/EC art. 6a: 100.00, 80.00 for [W+10d, W+20d), 100.00 again;
            # "was 100.00, -20%" from W+30d: the 30-day low is 80.00
            "eu": dict(
                sku="EU-TV", region="DE",
                check=T.ComplianceCheck(id="eu", kind=T.CHECK_KIND_EU_PRIOR_PRICE,
                                        regions=["DE"], skus=["EU-TV"]),
                prices=[price("a", "EU-TV", 10000, 0, W + 10 * D),
                        price("b", "EU-TV", 8000, W + 10 * D, W + 20 * D),
                        price("c", "EU-TV", 10000, W + 20 * D)],
                promo=promo("EUWAS", "EU-TV", T.PROMOTION_KIND_PERCENTAGE, percent_bps=2000,
                            reference_price=10000, valid_from=W + 30 * D),
                at=W + 31 * D, value=8000, limit=10000, window=(W, W + 30 * D),
                says="announced prior price 100.00 is above the lowest price of the 30 days"),
            # China: sold at 85.00 on W+25d; "10% off" 100.00 from W+30d is 90.00,
            # not below the discount base 85.00
            "cn": dict(
                sku="CN-TV", region="CN",
                check=T.ComplianceCheck(id="cn", kind=T.CHECK_KIND_CN_REFERENCE_PRICE,
                                        regions=["CN"], skus=["CN-TV"]),
                prices=[price("a", "CN-TV", 10000)],
                sale=(promo("CNFLASH", "CN-TV", T.PROMOTION_KIND_FIXED_PRICE, amount=8500,
                            valid_from=W + 24 * D, valid_to=W + 26 * D), W + 25 * D),
                promo=promo("CN10", "CN-TV", T.PROMOTION_KIND_PERCENTAGE, percent_bps=1000,
                            valid_from=W + 30 * D),
                at=W + 31 * D, value=0, limit=1000, window=(W + 23 * D, W + 30 * D),
                says="lowest transaction price of the 7 days before"),
            # US 16 CFR 233.1: 100.00 only from W+80d; "was 100.00" from W+90d:
            # 10 of 90 days = 11.11 % < 50 %
            "us": dict(
                sku="US-TV", region="US",
                check=T.ComplianceCheck(id="us", kind=T.CHECK_KIND_US_FORMER_PRICE,
                                        regions=["US"], skus=["US-TV"], window_days=90,
                                        share_bps=5000),
                prices=[price("a", "US-TV", 8000, 0, W + 80 * D),
                        price("b", "US-TV", 10000, W + 80 * D)],
                promo=promo("USWAS", "US-TV", T.PROMOTION_KIND_FIXED_PRICE, amount=7000,
                            reference_price=10000, valid_from=W + 90 * D),
                at=W + 91 * D, value=1111, limit=5000, window=(W, W + 90 * D),
                says="for 10 of the 90 days"),
            "map": dict(
                sku="MAP-TV", region="DE",
                check=T.ComplianceCheck(id="map", kind=T.CHECK_KIND_MIN_ADVERTISED_PRICE,
                                        amount=9000, skus=["MAP-TV"]),
                prices=[price("a", "MAP-TV", 10000)],
                promo=promo("MAPLOW", "MAP-TV", T.PROMOTION_KIND_FIXED_PRICE, amount=8500),
                at=W + D, value=8500, limit=9000,
                says="below the minimum advertised price 90.00"),
            "rs": dict(
                sku="RS-TV", region="CN",
                check=T.ComplianceCheck(id="rs", kind=T.CHECK_KIND_RESTRICTED_SKU,
                                        skus=["RS-TV"], regions=["CN"],
                                        description="export licence"),
                prices=[price("a", "RS-TV", 10000)],
                promo=promo("RSOFF", "RS-TV", T.PROMOTION_KIND_PERCENTAGE, percent_bps=500,
                            regions=["CN"]),
                at=W + D, value=0, limit=0, says="may not be sold in region CN"),
            "disc": dict(
                sku="DS-TV", region="DE",
                check=T.ComplianceCheck(id="disc", kind=T.CHECK_KIND_DISCLOSURE,
                                        skus=["DS-TV"]),
                prices=[price("a", "DS-TV", 10000)],
                promo=promo("DSCOND", "DS-TV", T.PROMOTION_KIND_PERCENTAGE, percent_bps=500,
                            min_amount=5000, valid_from=W, valid_to=W + 7 * D),
                at=W + D, value=2, limit=0, says="does not carry its conditions (terms)"),
            "mm": dict(
                sku="MM-TV", region="DE",
                check=T.ComplianceCheck(id="mm", kind=T.CHECK_KIND_MIN_MARGIN, bps=500,
                                        skus=["MM-TV"]),
                prices=[price("a", "MM-TV", 10000, cost=9000)],
                promo=promo("MMOFF", "MM-TV", T.PROMOTION_KIND_PERCENTAGE, percent_bps=1000),
                at=W + D, value=0, limit=500, says="below cost 90.00 plus 5.00%"),
            "md": dict(
                sku="MD-TV", region="DE",
                check=T.ComplianceCheck(id="md", kind=T.CHECK_KIND_MAX_DISCOUNT, bps=3000,
                                        skus=["MD-TV"]),
                prices=[price("a", "MD-TV", 10000)],
                promo=promo("MD40", "MD-TV", T.PROMOTION_KIND_PERCENTAGE, percent_bps=4000),
                at=W + D, value=4000, limit=3000, says="exceeds 30.00%"),
        }
        cls.s.customers.PutCustomers(A.PutCustomersRequest(customers=[
            T.Customer(id="c1", customer_group="retail", credit=T.CreditProfile(
                currency="USD", credit_limit=10**12, standard_terms_days=30, tier="A"))]))
        cls.s.catalog.PutPriceEntries(A.PutPriceEntriesRequest(
            entries=[p for r in cls.rules.values() for p in r["prices"]]))
        # China: the sale that makes the discount base, committed before the
        # promotion is written (at a request time after now)
        flash, at = cls.rules["cn"]["sale"]
        cls.s.catalog.PutPromotions(A.PutPromotionsRequest(promotions=[flash]))
        cls.s.orders.Commit(O.CommitRequest(order_id="cn-sale", request=cls.request("cn", at)),
                            timeout=30)

    @classmethod
    def tearDownClass(cls):
        stop = cls.s.stop()
        cls.s.cleanup()
        assert stop == 0

    @classmethod
    def request(cls, rule, at):
        r = cls.rules[rule]
        return Q.QuoteRequest(customer_id="c1", currency="USD", channel="", region=r["region"],
                              request_time=at, lines=[Q.LineRequest(sku=r["sku"], quantity=1)])

    def put_check(self, rule, on_write, on_fail=BLOCK):
        c = T.ComplianceCheck()
        c.CopyFrom(self.rules[rule]["check"])
        c.enabled = True
        c.on_fail = on_fail
        c.on_write = on_write
        c.description = c.description or c.id
        self.s.checks.PutComplianceChecks(A.PutComplianceChecksRequest(checks=[c]), timeout=30)

    def result(self, resp, check):
        got = [c for c in resp.compliance if c.check_id == check]
        self.assertTrue(got, "no result of %s: %s" % (check, resp.compliance))
        return max(got, key=lambda c: c.status)

    def test_each_rule_at_authoring_and_at_checkout(self):
        for rule, r in self.rules.items():
            with self.subTest(rule=rule):
                # authoring, flagged: the write goes through with the warning
                self.put_check(rule, T.COMPLIANCE_STATUS_WARN)
                w = self.s.catalog.PutPromotions(
                    A.PutPromotionsRequest(promotions=[r["promo"]]), timeout=30)
                self.assertTrue(any(x.startswith(rule + ": ") for x in w.warnings), w.warnings)
                self.assertTrue(any(r["says"] in x for x in w.warnings), (r["says"], w.warnings))
                # checkout: BLOCK with what it computed, and its evidence
                q = self.s.quote.Quote(self.request(rule, r["at"]), timeout=30)
                res = self.result(q, rule)
                self.assertEqual(res.status, BLOCK, res.message)
                self.assertIn(r["says"], res.message)
                self.assertEqual((res.computed_value, res.limit_value),
                                 (r["value"], r["limit"]), res.message)
                self.assertEqual(q.compliance_status, BLOCK)
                if "window" in r:
                    self.assertEqual((res.window_from, res.window_to), r["window"])
                    self.assertGreater(len(res.evidence), 0)
                    self.assertEqual(len(res.evidence_sha256), 64)
                    self.assertEqual(res.promotion_id, r["promo"].id)
                with self.assertRaises(grpc.RpcError) as cm:
                    self.s.orders.Commit(O.CommitRequest(
                        order_id="o-" + rule, request=self.request(rule, r["at"])), timeout=30)
                self.assertEqual(cm.exception.code(), SC.FAILED_PRECONDITION)
                self.assertIn("compliance BLOCK: %s: " % rule, cm.exception.details())
                # authoring, refused: the same write with the check set to BLOCK
                self.put_check(rule, T.COMPLIANCE_STATUS_BLOCK)
                with self.assertRaises(grpc.RpcError) as cm:
                    self.s.catalog.PutPromotions(
                        A.PutPromotionsRequest(promotions=[r["promo"]]), timeout=30)
                self.assertEqual(cm.exception.code(), SC.FAILED_PRECONDITION)
                self.assertIn("compliance BLOCK: %s: " % rule, cm.exception.details())
                self.assertIn(r["says"], cm.exception.details())
                # not checked at authoring at all (PASS), so the next rule's
                # writes are not refused by this one
                self.put_check(rule, T.COMPLIANCE_STATUS_PASS, on_fail=WARN)

    def test_evidence_kept_with_the_committed_order(self):
        """A WARN does not stop the commit: the order keeps the claim's
        result with its series and hash, the same as GetPriceHistory's."""
        W = self.W
        self.put_check("eu", T.COMPLIANCE_STATUS_PASS, on_fail=WARN)
        self.s.catalog.PutPromotions(A.PutPromotionsRequest(
            promotions=[self.rules["eu"]["promo"]]), timeout=30)
        self.s.orders.Commit(O.CommitRequest(order_id="eu-kept",
                                             request=self.request("eu", W + 31 * D)), timeout=30)
        order = self.s.orders.GetOrder(O.OrderKey(order_id="eu-kept"), timeout=30)
        res = self.result(order.quote, "eu")
        self.assertEqual(res.status, WARN)
        self.assertEqual([(p.price, p.ref, p.source) for p in res.evidence],
                         [(10000, "a", "list"), (8000, "b", "list"), (10000, "c", "list")])
        self.assertEqual([p.to for p in res.evidence[:2]], [W + 10 * D, W + 20 * D])
        h = self.s.compliance.GetPriceHistory(C.PriceHistoryRequest(
            sku="EU-TV", currency="USD", from_time=W, to_time=W + 30 * D), timeout=30)
        self.assertEqual(h.applied_sha256, res.evidence_sha256)
        self.assertEqual([p.price for p in h.applied_prices], [10000, 8000, 10000])
        self.assertEqual(h.lowest_list_price, 8000)
        self.assertEqual(h.lowest_list_at, W + 10 * D)
        self.assertEqual([p.price for p in h.list_prices], [10000, 8000, 10000])

    def test_price_history_rpc_and_cli(self):
        W = self.W
        h = self.s.compliance.GetPriceHistory(C.PriceHistoryRequest(
            sku="CN-TV", currency="USD", from_time=W + 20 * D, to_time=W + 30 * D), timeout=30)
        self.assertEqual([(p.price, p.ref, getattr(p, "from"), p.source) for p in h.sales],
                         [(8500, "cn-sale", W + 25 * D, "sale")])
        self.assertTrue(h.has_lowest_sale)
        self.assertEqual((h.lowest_sale_price, h.lowest_sale_at), (8500, W + 25 * D))
        self.assertEqual((h.last_sale_price, h.last_sale_at), (8500, W + 25 * D))
        self.assertEqual((h.lowest_list_price, len(h.list_prices)), (10000, 1))
        with self.assertRaises(grpc.RpcError) as cm:
            self.s.compliance.GetPriceHistory(C.PriceHistoryRequest(sku="CN-TV", currency="usd"),
                                              timeout=30)
        self.assertEqual(cm.exception.code(), SC.INVALID_ARGUMENT)
        self.assertIn("currency", cm.exception.details())
        eu = self.s.compliance.GetPriceHistory(C.PriceHistoryRequest(
            sku="EU-TV", currency="USD", from_time=W, to_time=W + 30 * D), timeout=30)
        cli = os.path.join(harness.BIN, "dealdesk")
        p = subprocess.run([cli, "--server", self.s.addr, "prices", "history", "EU-TV", "USD",
                            "--from", str(W), "--to", str(W + 30 * D)],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("lowest list price         80.00 from", p.stdout)
        self.assertIn("sha256                    " + eu.sha256, p.stdout)
        self.assertIn("transaction prices:\n  none", p.stdout)
        # `promotions load` shows the warnings of a write
        self.put_check("eu", T.COMPLIANCE_STATUS_WARN)
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump([{"id": "EUWAS", "name": "EUWAS", "kind": "PERCENTAGE", "skus": ["EU-TV"],
                        "percent_bps": 2000, "reference_price": 10000, "currency": "USD",
                        "valid_from": W + 30 * D, "enabled": True}], f)
        try:
            p = subprocess.run([cli, "--server", self.s.addr, "promotions", "load", f.name],
                               capture_output=True, text=True, timeout=60)
        finally:
            os.unlink(f.name)
            self.put_check("eu", T.COMPLIANCE_STATUS_PASS, on_fail=WARN)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("warning: eu: EU-TV (USD) in promotion EUWAS: announced prior price 100.00",
                      p.stderr)
        self.assertIn("loaded 1 promotion", p.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
