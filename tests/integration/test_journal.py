"""The journal: the decision log (get, list, replay byte for byte, redaction),
the impact of a changed credit threshold over recorded decisions, and the
hash-chained audit log with a hand-edited and a removed entry found by
`dealdesk audit verify` (README "Decision log", "Impact", "Audit log")."""
import hashlib
import os
import subprocess
import sys
import time
import unittest

import grpc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

m = harness.stubs()
Q = m["quote_pb2"]
T = m["types_pb2"]
A = m["admin_pb2"]
O = m["orders_pb2"]
J = m["journal_pb2"]
SC = grpc.StatusCode
CLI = os.path.join(harness.BIN, "dealdesk")
EDIT = os.path.join(harness.BIN, "dd_lmdb_edit")


def quote_req(customer, qty, t=harness.T0, **kw):
    return Q.QuoteRequest(customer_id=customer, currency="USD", request_time=t,
                          lines=[Q.LineRequest(sku="CABLE-3", quantity=qty)], **kw)


def wait_written(s, n):
    """Waits until the decision log has written n records (it writes through
    the writer, after the answer)."""
    deadline = time.time() + 60
    while True:
        st = s.decisions.GetDecisionLogStats(J.DecisionLogStatsRequest(), timeout=30)
        if st.written >= n or time.time() > deadline:
            return st
        time.sleep(0.02)


def money(minor):
    return "%d.%02d" % (minor // 100, minor % 100)


def cli(s, *args, token=None):
    cmd = [CLI, "--server", s.addr] + (["--token", token] if token else []) + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


class DecisionLogTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = harness.Server()

    @classmethod
    def tearDownClass(cls):
        code = cls.s.stop()
        log = cls.s.read_log()
        cls.s.cleanup()
        assert code == 0, log[-3000:]

    def test_1_record_get_replay(self):
        s = self.s
        before = wait_written(s, 0).written
        r = s.quote.Quote(quote_req("acme", 10, t=0), timeout=30)  # priced at the server's now
        st = wait_written(s, before + 1)
        self.assertEqual(st.written, before + 1)
        self.assertEqual(st.dropped, 0)
        rec = s.decisions.GetDecision(J.DecisionKey(decision_id=r.decision_id), timeout=30)
        self.assertEqual(rec.kind, J.DECISION_KIND_QUOTE)
        # inputs and outputs as answered: the very bytes
        self.assertEqual(Q.QuoteRequest.FromString(rec.request), quote_req("acme", 10, t=0))
        self.assertEqual(rec.response, r.SerializeToString())
        self.assertEqual(rec.versions, r.versions)
        self.assertEqual((rec.total, rec.currency), (r.total, "USD"))
        # replay: same bytes apart from the decision id, on the recorded versions
        rp = s.decisions.ReplayDecision(J.DecisionKey(decision_id=r.decision_id), timeout=30)
        self.assertEqual(rp.mode, J.REPLAY_MODE_EXACT)
        self.assertTrue(rp.identical, rp.reason)
        self.assertEqual(rp.response, r.SerializeToString())
        self.assertEqual(rp.reason, "")
        p = cli(s, "decisions", "replay", r.decision_id)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("identical: the same response bytes apart from decision_id", p.stdout)
        p = cli(s, "decisions", "get", r.decision_id)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("decision   " + r.decision_id, p.stdout)
        # the data moves on: replayed on current data, and said so
        s.catalog.PutSkuSignals(A.PutSkuSignalsRequest(signals=[T.SkuSignals(sku="CABLE-3")]),
                                timeout=30)
        rp = s.decisions.ReplayDecision(J.DecisionKey(decision_id=r.decision_id), timeout=30)
        self.assertEqual(rp.mode, J.REPLAY_MODE_CURRENT_DATA)
        self.assertEqual(rp.current_data_version, rp.recorded_data_version + 1)
        self.assertIn("the data version moved on from %d to %d and old data is not retained: "
                      "replayed against the current data" %
                      (rp.recorded_data_version, rp.current_data_version), rp.reason)
        self.assertFalse(rp.identical)  # versions.data_version differs at least
        self.assertIn("versions", rp.differences)

    def test_2_commit_by_order_id(self):
        s = self.s
        before = wait_written(s, 0).written
        o = s.orders.Commit(O.CommitRequest(order_id="jr-1", request=quote_req("acme", 3)),
                            timeout=30)
        wait_written(s, before + 1)
        rec = s.decisions.GetDecision(J.DecisionKey(order_id="jr-1"), timeout=30)
        self.assertEqual(rec.kind, J.DECISION_KIND_COMMIT)
        self.assertEqual(rec.decision_id, o.quote.decision_id)
        self.assertEqual(rec.response, o.SerializeToString())
        lst = s.decisions.ListDecisions(J.ListDecisionsRequest(order_id="jr-1"), timeout=30)
        self.assertEqual([d.decision_id for d in lst.decisions], [o.quote.decision_id])
        rp = s.decisions.ReplayDecision(J.DecisionKey(order_id="jr-1"), timeout=30)
        self.assertEqual(rp.mode, J.REPLAY_MODE_CURRENT_DATA)
        self.assertIn("the commit's own write moved the data version", rp.reason)
        # a commit refused by its decision is logged as the quote that made it
        before = wait_written(s, 0).written
        with self.assertRaises(grpc.RpcError) as cm:
            s.orders.Commit(O.CommitRequest(order_id="jr-refused",
                                            request=quote_req("defaulter", 1)), timeout=30)
        self.assertEqual(cm.exception.code(), SC.FAILED_PRECONDITION)
        self.assertIn("credit DECLINE", cm.exception.details())
        wait_written(s, before + 1)
        rec = s.decisions.GetDecision(J.DecisionKey(order_id="jr-refused"), timeout=30)
        self.assertEqual(rec.kind, J.DECISION_KIND_QUOTE)
        self.assertEqual(rec.credit_outcome, Q.CREDIT_OUTCOME_DECLINE)
        refused = Q.QuoteResponse.FromString(rec.response)
        self.assertEqual(refused.order_id, "jr-refused")
        self.assertEqual(refused.credit.outcome, Q.CREDIT_OUTCOME_DECLINE)
        rp = s.decisions.ReplayDecision(J.DecisionKey(order_id="jr-refused"), timeout=30)
        self.assertTrue(rp.identical, rp.reason)
        with self.assertRaises(grpc.RpcError) as cm:
            s.orders.GetOrder(O.OrderKey(order_id="jr-refused"), timeout=30)
        self.assertEqual(cm.exception.code(), SC.NOT_FOUND)
        with self.assertRaises(grpc.RpcError) as cm:
            s.decisions.GetDecision(J.DecisionKey(decision_id="nope"), timeout=30)
        self.assertEqual(cm.exception.code(), SC.NOT_FOUND)
        with self.assertRaises(grpc.RpcError) as cm:
            s.decisions.GetDecision(J.DecisionKey(), timeout=30)
        self.assertEqual(cm.exception.code(), SC.INVALID_ARGUMENT)
        self.assertIn("decision_id: required", cm.exception.details())

    def test_3_impact_of_a_credit_threshold(self):
        """A credit policy approving up to a utilisation threshold of the
        limit (REVIEW above), active at 95 %; the candidate lowers it to
        90 %. Bolt (limit 5000.00, 4500.00 used) at 10 and 20 cables is at
        91.62 % and 93.24 %: approved now, REVIEW with the candidate; at 100
        cables (105.69 %) REVIEW either way; acme (tier A, far below) is
        approved either way. The policy is the test's own, so the threshold
        is the only thing that differs."""
        s = self.s

        def credit_policy(threshold_bps):
            return ("local THRESHOLD = %d\n"
                    "function decide(ctx, credit)\n"
                    "  if not credit.present or credit.limit == 0 then\n"
                    "    return { outcome = 'PREPAY', terms_days = 0, deposit = 0,\n"
                    "             reasons = { 'NO_CREDIT_LINE: no limit' } }\n"
                    "  end\n"
                    "  local used = credit.exposure * 10000 // credit.limit\n"
                    "  if used <= THRESHOLD then\n"
                    "    return { outcome = 'APPROVE', terms_days = 30, deposit = 0,\n"
                    "             reasons = { 'WITHIN: ' .. used .. ' bps' } }\n"
                    "  end\n"
                    "  return { outcome = 'REVIEW', terms_days = 0, deposit = 0,\n"
                    "           reasons = { 'OVER: ' .. used .. ' bps' } }\n"
                    "end\n" % threshold_bps)

        def upload(threshold, activate):
            p = s.policies.UploadPolicy(A.UploadPolicyRequest(
                kind=T.POLICY_KIND_CREDIT, author="finance-1", comment="threshold %d" % threshold,
                source=credit_policy(threshold)), timeout=30)
            if activate:
                s.policies.ActivatePolicy(A.ActivatePolicyRequest(
                    kind=T.POLICY_KIND_CREDIT, version=p.version, actor="finance-1"), timeout=30)
            return p
        base = upload(9500, True)
        cand = upload(9000, False)
        # the decisions, recorded after both uploads (same data version: the
        # recorded answers are the "before")
        before = wait_written(s, 0).written
        rs = [s.quote.Quote(quote_req(c, q), timeout=30)
              for c, q in [("bolt", 10), ("bolt", 20), ("bolt", 100), ("acme", 10)]]
        wait_written(s, before + 4)
        self.assertEqual({r.versions.credit_policy for r in rs}, {base.version})
        used = [r.credit.exposure * 10000 // r.credit.credit_limit for r in rs]
        self.assertEqual([9000 < u <= 9500 for u in used], [True, True, False, False])
        self.assertEqual([Q.CreditOutcome.Name(r.credit.outcome) for r in rs],
                         ["CREDIT_OUTCOME_APPROVE", "CREDIT_OUTCOME_APPROVE",
                          "CREDIT_OUTCOME_REVIEW", "CREDIT_OUTCOME_APPROVE"])
        rep = s.decisions.Impact(J.ImpactRequest(kind=T.POLICY_KIND_CREDIT,
                                                 version=cand.version, last_n=4), timeout=60)
        self.assertEqual((rep.replayed, rep.changed, rep.skipped, rep.current_data), (4, 2, 0, 0))
        self.assertEqual(rep.candidate_version, cand.version)
        self.assertEqual([(getattr(o, "from"), o.to, o.count) for o in rep.outcomes],
                         [("APPROVE", "REVIEW", 2)])
        self.assertEqual(len(rep.money), 1)
        usd = rep.money[0]
        self.assertEqual(usd.currency, "USD")
        # credit changes no price: the discount cost stays
        disc = sum(r.discount_total for r in rs)
        self.assertEqual((usd.discount_cost_before, usd.discount_cost_after,
                          usd.discount_cost_delta), (disc, disc, 0))
        # approved before: bolt 10 + bolt 20 + acme; after: acme only
        t = [r.total for r in rs]
        self.assertEqual((usd.approved_exposure_before, usd.approved_exposure_after,
                          usd.approved_exposure_delta),
                         (t[0] + t[1] + t[3], t[3], -(t[0] + t[1])))
        self.assertEqual((rep.compliance_flags_before, rep.compliance_flags_after,
                          rep.compliance_flags_delta), (0, 0, 0))
        self.assertEqual([(e.decision_id, e.outcome_before, e.outcome_after, e.total_before,
                           e.total_after) for e in rep.examples],
                         [(rs[0].decision_id, "APPROVE", "REVIEW", t[0], t[0]),
                          (rs[1].decision_id, "APPROVE", "REVIEW", t[1], t[1])])
        # on this branch's demo data and shipped pricing, in money
        self.assertEqual(t, [8091, 16182, 78410, 8091])
        # the same candidate named by its content hash
        by_hash = s.decisions.Impact(J.ImpactRequest(kind=T.POLICY_KIND_CREDIT,
                                                     sha256=cand.sha256, last_n=4), timeout=60)
        self.assertEqual((by_hash.candidate_version, by_hash.changed), (cand.version, 2))
        # the candidate is not active: quotes still use the recorded threshold
        self.assertEqual(s.quote.Quote(quote_req("bolt", 10), timeout=30).credit.outcome,
                         Q.CREDIT_OUTCOME_APPROVE)
        wait_written(s, before + 5)
        p = cli(s, "impact", "--kind", "credit", "--version", str(cand.version), "--last", "5")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("replayed 5 decision(s) with credit policy v%d: 3 changes\n" % cand.version,
                      p.stdout)
        self.assertIn("  APPROVE -> REVIEW: 3\n", p.stdout)
        self.assertIn("  discount cost      %s -> %s (+0.00)\n" % (
            money(disc + rs[0].discount_total), money(disc + rs[0].discount_total)), p.stdout)
        self.assertIn("  approved exposure  %s -> %s (-%s)\n" % (
            money(2 * t[0] + t[1] + t[3]), money(t[3]), money(2 * t[0] + t[1])), p.stdout)
        with self.assertRaises(grpc.RpcError) as cm:
            s.decisions.Impact(J.ImpactRequest(kind=T.POLICY_KIND_CREDIT, version=999), timeout=30)
        self.assertEqual(cm.exception.code(), SC.NOT_FOUND)
        self.assertIn("version: credit policy v999 is not stored", cm.exception.details())


    def test_4_impact_of_a_check_and_a_promotion(self):
        """A data candidate: a compliance check and a promotion as they would
        be written, replayed on a scratch copy of the data. The figures are
        checked against the same records written for real afterwards."""
        s = self.s
        before = wait_written(s, 0).written
        reqs = [quote_req("acme", q) for q in (3, 12, 25)]
        rs = [s.quote.Quote(r, timeout=30) for r in reqs]
        wait_written(s, before + 3)
        # a MAX_DISCOUNT of 0 %: every discounted line is flagged
        check = T.ComplianceCheck(id="no-discount", kind=T.CHECK_KIND_MAX_DISCOUNT, bps=0,
                                  on_fail=T.COMPLIANCE_STATUS_WARN, enabled=True,
                                  description="no discount at all")
        promo = T.Promotion(id="IMPACT-10", name="10 % off cables", enabled=True,
                            kind=T.PROMOTION_KIND_PERCENTAGE, percent_bps=1000,
                            skus=["CABLE-3"])
        rc = s.decisions.Impact(J.ImpactRequest(checks=[check], last_n=3), timeout=120)
        rp = s.decisions.Impact(J.ImpactRequest(promotions=[promo], last_n=3), timeout=120)
        self.assertEqual((rc.replayed, rc.skipped), (3, 0))
        self.assertEqual((rp.replayed, rp.skipped), (3, 0))
        self.assertEqual(rc.candidate_version, 0)
        # nothing was written to the store itself
        with self.assertRaises(grpc.RpcError) as cm:
            s.catalog.GetPromotion(A.PromotionKey(id="IMPACT-10"), timeout=30)
        self.assertEqual(cm.exception.code(), SC.NOT_FOUND)
        self.assertEqual([r.total for r in rs],
                         [s.quote.Quote(q, timeout=30).total for q in reqs])
        # the same records written for real: the impact said what they do
        s.checks.PutComplianceChecks(A.PutComplianceChecksRequest(checks=[check]), timeout=30)
        flagged = [s.quote.Quote(q, timeout=30) for q in reqs]
        s.checks.DeleteComplianceCheck(A.ComplianceCheckKey(id="no-discount"), timeout=30)

        def nflags(r):
            return sum(1 for c in r.compliance
                       if c.status in (T.COMPLIANCE_STATUS_WARN, T.COMPLIANCE_STATUS_BLOCK))
        self.assertEqual(rc.compliance_flags_before, sum(nflags(r) for r in rs))
        self.assertEqual(rc.compliance_flags_after, sum(nflags(r) for r in flagged))
        self.assertGreater(rc.compliance_flags_delta, 0)
        self.assertEqual(rc.changed, sum(1 for a, b in zip(rs, flagged) if nflags(a) != nflags(b)))
        s.catalog.PutPromotions(A.PutPromotionsRequest(promotions=[promo]), timeout=30)
        promoted = [s.quote.Quote(q, timeout=30) for q in reqs]
        s.catalog.DeletePromotion(A.PromotionKey(id="IMPACT-10"), timeout=30)
        usd = rp.money[0]
        self.assertEqual((usd.currency, usd.discount_cost_before, usd.discount_cost_after),
                         ("USD", sum(r.discount_total for r in rs),
                          sum(r.discount_total for r in promoted)))
        self.assertGreater(usd.discount_cost_delta, 0)
        self.assertEqual(rp.changed, 3)
        # CLI, and a data candidate takes no policy version
        path = os.path.join(s.dir if hasattr(s, "dir") else "/tmp", "impact-checks.json")
        with open(path, "w") as f:
            f.write('{"checks": [{"id": "no-discount", "kind": "MAX_DISCOUNT", "bps": 0, '
                    '"on_fail": "WARN", "enabled": true}]}')
        p = cli(s, "impact", "--checks", path, "--last", "3")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("replayed 3 decision(s) with 0 promotion(s) and 1 check(s) as written: "
                      "%d change" % rc.changed, p.stdout)
        os.unlink(path)
        with self.assertRaises(grpc.RpcError) as cm:
            s.decisions.Impact(J.ImpactRequest(kind=T.POLICY_KIND_CREDIT, version=1,
                                               checks=[check]), timeout=30)
        self.assertEqual(cm.exception.code(), SC.INVALID_ARGUMENT)
        bad = T.ComplianceCheck(id="", kind=T.CHECK_KIND_MAX_DISCOUNT)
        with self.assertRaises(grpc.RpcError) as cm:
            s.decisions.Impact(J.ImpactRequest(checks=[bad], last_n=3), timeout=30)
        self.assertEqual(cm.exception.code(), SC.INVALID_ARGUMENT)
        self.assertIn("checks[0].id", cm.exception.details())


class RedactionTest(unittest.TestCase):
    def test_redacted_record_is_not_replayed(self):
        s = harness.Server("--decision-redact", "customer_id,attributes")
        try:
            r = s.quote.Quote(quote_req("acme", 2, attributes={"k": "v"}), timeout=30)
            wait_written(s, 1)
            rec = s.decisions.GetDecision(J.DecisionKey(decision_id=r.decision_id), timeout=30)
            q = Q.QuoteRequest.FromString(rec.request)
            self.assertEqual((q.customer_id, dict(q.attributes)), ("", {}))
            self.assertEqual(q.lines[0].quantity, 2)
            self.assertEqual(list(rec.redacted), ["customer_id", "attributes"])
            with self.assertRaises(grpc.RpcError) as cm:
                s.decisions.ReplayDecision(J.DecisionKey(decision_id=r.decision_id), timeout=30)
            self.assertEqual(cm.exception.code(), SC.FAILED_PRECONDITION)
            self.assertIn("redacted: the request as answered is not kept, so it cannot be "
                          "replayed", cm.exception.details())
            st = s.decisions.GetDecisionLogStats(J.DecisionLogStatsRequest(), timeout=30)
            self.assertEqual(list(st.redact_fields), ["customer_id", "attributes"])
        finally:
            self.assertEqual(s.stop(), 0)
            s.cleanup()

    def test_unknown_redact_field_refused(self):
        with self.assertRaises(RuntimeError) as cm:
            harness.Server("--decision-redact", "customer_id,password")
        self.assertIn("decision-redact: unknown field 'password'", str(cm.exception))


class AuditLogTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = harness.Server(auth=True)
        cls.tok = {r: cls.s.token(r, "t-" + r) for r in ("pricing", "compliance", "finance")}

    @classmethod
    def tearDownClass(cls):
        code = cls.s.stop()
        log = cls.s.read_log()
        cls.s.cleanup()
        assert code == 0, log[-3000:]

    def stub(self, role):
        return m["journal_pb2_grpc"].AuditLogStub(self.s.open_channel(self.tok[role]))

    def test_audit_chain(self):
        s = self.s
        put = A.PutPriceEntriesRequest(entries=[T.PriceEntry(
            price_list_id="retail-usd", sku="AUDIT-1", currency="USD", unit_price=1234)])
        cat = m["admin_pb2_grpc"].CatalogAdminStub(s.open_channel(self.tok["pricing"]))
        cat.PutPriceEntries(put, timeout=30)
        audit = self.stub("compliance")
        entries = audit.ListAudit(J.ListAuditRequest(), timeout=30).entries
        # the three CreateToken calls of setUpClass, then the price
        self.assertEqual([e.seq for e in entries], [1, 2, 3, 4])
        self.assertEqual([e.method for e in entries[:3]],
                         ["/dealdesk.v1.TokenAdmin/CreateToken"] * 3)
        e = entries[3]
        self.assertEqual((e.principal, e.role, e.method, e.key),
                         ("token:t-pricing", "pricing", "/dealdesk.v1.CatalogAdmin/PutPriceEntries",
                          "retail-usd AUDIT-1 USD"))
        self.assertEqual(e.value_sha256, hashlib.sha256(put.SerializeToString()).digest())
        self.assertEqual(e.prev_hash, entries[2].hash)
        self.assertEqual(entries[0].prev_hash, bytes(32))
        # a refused write leaves no entry; a write of another role is named
        with self.assertRaises(grpc.RpcError):
            cat.DeletePriceEntry(A.PriceEntryKey(sku="NOPE", currency="USD",
                                                 price_list_id="x"), timeout=30)
        p = cli(s, "audit", "verify", token=self.tok["compliance"])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertRegex(p.stdout, r"audit log: 4 entries, head 4 [0-9a-f]{64}: intact")
        # a hand edit of entry 2 (its principal), below dealdesk's code
        self.assertEqual(subprocess.run([EDIT, s.db, "replace", "audit", "2", "t-compliance",
                                         "t-complianCe"]).returncode, 0)
        p = cli(s, "audit", "verify", token=self.tok["compliance"])
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("entry 2: altered: entry 2: its content no longer matches its hash\n",
                      p.stdout)
        self.assertNotIn("entry 1:", p.stdout)
        self.assertNotIn("entry 3:", p.stdout)
        self.assertIn("NOT INTACT", p.stdout)
        subprocess.run([EDIT, s.db, "replace", "audit", "2", "t-complianCe", "t-compliance"],
                       check=True)
        self.assertEqual(cli(s, "audit", "verify", token=self.tok["compliance"]).returncode, 0)
        # entry 3 removed
        self.assertEqual(subprocess.run([EDIT, s.db, "delete", "audit", "3"]).returncode, 0)
        v = audit.VerifyAudit(J.VerifyAuditRequest(), timeout=30)
        self.assertFalse(v.ok)
        self.assertEqual([(p.seq, p.problem) for p in v.problems], [(3, "removed")])
        p = cli(s, "audit", "verify", token=self.tok["compliance"])
        self.assertEqual(p.returncode, 1)
        self.assertIn("entry 3: removed: entry 3 is missing: the sequence jumps over it", p.stdout)
        # the last one removed: the head names it
        subprocess.run([EDIT, s.db, "delete", "audit", "4"], check=True)
        v = audit.VerifyAudit(J.VerifyAuditRequest(), timeout=30)
        self.assertEqual([(p.seq, p.problem) for p in v.problems], [(3, "removed"), (4, "removed")])
        p = cli(s, "audit", "list", token=self.tok["compliance"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("token:harness-admin", p.stdout)

    def test_compliance_reads_the_logs_pricing_does_not(self):
        shop = self.s.token("checkout", "t-shop")
        r = m["quote_pb2_grpc"].QuoteServiceStub(self.s.open_channel(shop)).Quote(
            quote_req("acme", 1), timeout=30)
        st = m["journal_pb2_grpc"].DecisionLogStub(self.s.open_channel(self.tok["compliance"]))
        deadline = time.time() + 60
        while st.GetDecisionLogStats(J.DecisionLogStatsRequest(), timeout=30).written < 1 \
                and time.time() < deadline:
            time.sleep(0.02)
        rec = st.GetDecision(J.DecisionKey(decision_id=r.decision_id), timeout=30)
        self.assertEqual(rec.principal, "token:t-shop")
        st.ListDecisions(J.ListDecisionsRequest(), timeout=30)
        with self.assertRaises(grpc.RpcError) as cm:
            self.stub("pricing").ListAudit(J.ListAuditRequest(), timeout=30)
        self.assertEqual(cm.exception.code(), SC.PERMISSION_DENIED)


if __name__ == "__main__":
    unittest.main()
