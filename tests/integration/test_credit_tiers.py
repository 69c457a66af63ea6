"""The credit tier table kept as data: finance edits it over gRPC and the
CLI, every change is recorded with who, when, before and after, and the next
quote decides by the new rows (no restart, no policy upload)."""
import json
import os
import sys
import unittest

import grpc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

m = harness.stubs()
T = m["types_pb2"]
A = m["admin_pb2"]
Q = m["quote_pb2"]
O = m["orders_pb2"]
SC = grpc.StatusCode
T0 = harness.T0


class CreditTiersTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = harness.Server(auth=True)
        cls.fin = cls.s.open_channel(token=cls.s.token("finance", "fiona"))
        cls.chk = cls.s.open_channel(token=cls.s.token("checkout", "till"))
        cls.admin = m["admin_pb2_grpc"].CustomerAdminStub(cls.fin)
        cls.orders = m["orders_pb2_grpc"].OrderServiceStub(cls.fin)
        cls.quote = m["quote_pb2_grpc"].QuoteServiceStub(cls.chk)

    @classmethod
    def tearDownClass(cls):
        code = cls.s.stop()
        cls.s.cleanup()
        assert code == 0

    def decide(self, customer, sku="WIDGET-1", qty=1):
        r = self.quote.Quote(Q.QuoteRequest(customer_id=customer, currency="USD",
                                            lines=[Q.LineRequest(sku=sku, quantity=qty)],
                                            request_time=T0), timeout=10)
        return r.credit

    def test_table_as_data(self):
        # the demo keeps the built-in figures as rows A..D, C the default
        rows = self.admin.ListCreditTiers(A.ListCreditTiersRequest(), timeout=10).tiers
        self.assertEqual([t.name for t in rows], ["A", "B", "C", "D"])
        self.assertEqual([t.name for t in rows if t.is_default], ["C"])
        # a profile scored 85 takes tier A from its score
        self.admin.PutCustomers(A.PutCustomersRequest(customers=[T.Customer(
            id="tiered", name="Tiered", customer_group="retail",
            credit=T.CreditProfile(currency="USD", credit_limit=100000, standard_terms_days=30,
                                   score=85, open_receivables=90000))]), timeout=10)
        d = self.decide("tiered")
        self.assertEqual(d.tier, "A")
        self.assertIn("(tier A from score 85)", d.reasons[0])
        self.assertEqual(d.outcome, Q.CREDIT_OUTCOME_APPROVE_SHORTER_TERMS
                         if d.exposure > 100000 else Q.CREDIT_OUTCOME_APPROVE)
        # finance tightens A: approve only to 50 %, DECLINE beyond 60 %
        a = [t for t in rows if t.name == "A"][0]
        a.approve_bps, a.shorter_bps, a.deposit_bps, a.beyond = 5000, 5500, 6000, "DECLINE"
        self.admin.PutCreditTiers(A.PutCreditTiersRequest(tiers=[a]), timeout=10)
        d = self.decide("tiered")
        self.assertEqual(d.outcome, Q.CREDIT_OUTCOME_DECLINE)
        self.assertTrue(d.reasons[0].startswith("EXPOSURE_FAR_OVER_LIMIT: "), d.reasons[0])
        # the change is recorded with who, before and after
        ch = self.orders.ListCreditChanges(O.ListCreditChangesRequest(tiers=True),
                                           timeout=10).changes
        mine = [c for c in ch if c.tier == "A" and c.HasField("tier_before")]
        self.assertEqual(len(mine), 1)
        self.assertEqual(mine[0].actor, "token:fiona")
        self.assertEqual(mine[0].tier_before.approve_bps, 10000)
        self.assertEqual(mine[0].tier_after.approve_bps, 5000)
        self.assertEqual(mine[0].tier_after.beyond, "DECLINE")
        # writing the same row again records nothing
        self.admin.PutCreditTiers(A.PutCreditTiersRequest(tiers=[a]), timeout=10)
        ch2 = self.orders.ListCreditChanges(O.ListCreditChangesRequest(tiers=True),
                                            timeout=10).changes
        self.assertEqual(len(ch2), len(ch))
        # deleting a row is recorded too; the score now falls back to the default C
        self.admin.DeleteCreditTier(A.CreditTierKey(name="A"), timeout=10)
        d = self.decide("tiered")
        self.assertEqual(d.tier, "C")
        self.assertIn("(tier C, the default)", d.reasons[0])
        ch3 = self.orders.ListCreditChanges(O.ListCreditChangesRequest(tiers=True),
                                            timeout=10).changes
        # listed by tier, each tier's changes oldest first
        self.assertEqual([c.tier for c in ch3], sorted(c.tier for c in ch3))
        last_a = [c for c in ch3 if c.tier == "A"][-1]
        self.assertTrue(last_a.HasField("tier_before"))
        self.assertFalse(last_a.HasField("tier_after"))
        self.admin.PutCreditTiers(A.PutCreditTiersRequest(tiers=[rows[0]]), timeout=10)
        self.assertEqual(self.decide("tiered").tier, "A")

    def test_bad_rows_named(self):
        bad = T.CreditTier(name="X", approve_bps=5000, shorter_bps=4000, deposit_bps=6000,
                           beyond="REVIEW", review_overdue_days=30, decline_overdue_days=60)
        with self.assertRaises(grpc.RpcError) as e:
            self.admin.PutCreditTiers(A.PutCreditTiersRequest(tiers=[bad]), timeout=10)
        self.assertEqual(e.exception.code(), SC.INVALID_ARGUMENT)
        self.assertIn("tiers[0].shorter_bps: 4000 is out of range [5000, 100000]",
                      e.exception.details())
        with self.assertRaises(grpc.RpcError) as e:
            self.orders.ListCreditChanges(O.ListCreditChangesRequest(tiers=True,
                                                                     customer_id="acme"),
                                          timeout=10)
        self.assertEqual(e.exception.code(), SC.INVALID_ARGUMENT)
        self.assertIn("customer_id: must be empty with tiers", e.exception.details())
        # the checkout may not edit the table
        stub = m["admin_pb2_grpc"].CustomerAdminStub(self.chk)
        with self.assertRaises(grpc.RpcError) as e:
            stub.ListCreditTiers(A.ListCreditTiersRequest(), timeout=10)
        self.assertEqual(e.exception.code(), SC.PERMISSION_DENIED)


class CreditTiersCliTest(harness.CliTestCase):
    def test_cli(self):
        out = self.run_cli("credit-tiers", "list").stdout
        self.assertIn("TIER", out.splitlines()[0])
        self.assertEqual(len(out.splitlines()), 5)
        path = self.write("tiers.json", json.dumps({"tiers": [{
            "name": "VIP", "min_score": 95, "max_score": 100, "approve_bps": 12000,
            "shorter_bps": 13000, "deposit_bps": 15000, "beyond": "REVIEW",
            "shorter_terms_days": 20, "review_overdue_days": 60,
            "decline_overdue_days": 120}]}))
        self.assertIn("1", self.run_cli("credit-tiers", "load", path).stdout)
        got = json.loads(self.run_cli("--json", "credit-tiers", "get", "VIP").stdout)
        self.assertEqual(got["approve_bps"], 12000)
        out = self.run_cli("credit-changes", "--tiers").stdout
        self.assertIn("tier VIP", out)
        self.assertIn('"approve_bps":12000', out)
        bad = self.write("bad.json", json.dumps({"tiers": [{"name": "Q", "beyond": "MAYBE",
                                                            "review_overdue_days": 1,
                                                            "decline_overdue_days": 2}]}))
        p = self.run_cli("credit-tiers", "load", bad, expect=2)
        self.assertIn("beyond: must be REVIEW, PREPAY or DECLINE", p.stderr)
        self.run_cli("credit-changes", expect=2)


if __name__ == "__main__":
    unittest.main()
