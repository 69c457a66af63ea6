"""Reviewed rules and policy tests (issue 10 items 4 and 5), over gRPC
against a real dealdeskd with token authentication: a script approved by
its own author is refused; a script whose own test cases fail is refused at
submit, naming the case; every lifecycle step is kept in the version's
history; rollback is one call; two versions diff; a promotion with a Lua
condition (or a large discount) is not in force until a compliance
approval by another principal; `dealdesk policy test` runs a script's cases
without a server and says so in its exit code."""
import os
import subprocess
import sys
import tempfile
import unittest

import grpc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

m = harness.stubs()
Q, T, A = m["quote_pb2"], m["types_pb2"], m["admin_pb2"]
SC = grpc.StatusCode
T0 = harness.T0
PRICING = T.POLICY_KIND_PRICING
S = T.PolicyStatus
POLICY_TEST = os.path.join(harness.BIN, "dealdesk")


def shipped(name):
    with open(os.path.join(harness.SRC, "policies", name + ".lua")) as f:
        return f.read()


def without_tests(src):
    at = src.index("--[=[dealdesk:tests")
    end = src.index("]=]", at) + 3
    return src[:at] + src[end:]


class GovernanceTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = harness.Server("--min-policy-tests", "1", demo=False, auth=True)
        cls.tok = {r: cls.s.token(r, "t-" + r) for r in
                   ("checkout", "pricing", "compliance", "finance")}
        cls.tok["compliance2"] = cls.s.token("compliance", "t-compliance2")
        cls.s.catalog.PutPriceEntries(A.PutPriceEntriesRequest(entries=[
            T.PriceEntry(price_list_id="usd", sku="D", currency="USD", unit_price=2000,
                         unit_cost=800, category="z", rounding=T.ROUNDING_MODE_HALF_UP)]))
        credit = T.CreditProfile(currency="USD", credit_limit=10**9, standard_terms_days=30,
                                 tier="A")
        cls.s.customers.PutCustomers(A.PutCustomersRequest(customers=[
            T.Customer(id="c1", customer_group="retail", credit=credit)]))

    @classmethod
    def tearDownClass(cls):
        code = cls.s.stop()
        log = cls.s.read_log()
        cls.s.cleanup()
        assert code == 0, log[-3000:]

    def pol(self, who):
        return m["admin_pb2_grpc"].PolicyAdminStub(self.s.open_channel(self.tok[who]))

    def catalog(self, who):
        return m["admin_pb2_grpc"].CatalogAdminStub(self.s.open_channel(self.tok[who]))

    def total(self):
        qs = m["quote_pb2_grpc"].QuoteServiceStub(self.s.open_channel(self.tok["checkout"]))
        return qs.Quote(Q.QuoteRequest(customer_id="c1", currency="USD", channel="web",
                                       request_time=T0,
                                       lines=[Q.LineRequest(sku="D", quantity=1)])).total

    def refused(self, code, fn, *args):
        with self.assertRaises(grpc.RpcError) as cm:
            fn(*args)
        self.assertEqual(cm.exception.code(), code, cm.exception.details())
        return cm.exception.details()

    def upload(self, src, who="pricing", kind=PRICING):
        return self.pol(who).UploadPolicy(A.UploadPolicyRequest(kind=kind, source=src,
                                                                comment="candidate"))

    def review(self, who, method, v, kind=PRICING, comment=""):
        return getattr(self.pol(who), method)(A.ReviewPolicyRequest(kind=kind, version=v,
                                                                    comment=comment))

    # ---- four eyes ----------------------------------------------------------------
    def test_own_approval_refused(self):
        src = shipped("compliance")
        v = self.upload(src, "compliance", T.POLICY_KIND_COMPLIANCE).version
        self.review("compliance", "SubmitPolicy", v, T.POLICY_KIND_COMPLIANCE)
        msg = self.refused(SC.PERMISSION_DENIED, self.review, "compliance", "ApprovePolicy", v,
                           T.POLICY_KIND_COMPLIANCE)
        self.assertEqual(msg, "actor: token:t-compliance wrote compliance policy version %d "
                         "and cannot review it (approve); four eyes: another principal with "
                         "the approving role must" % v)
        got = self.pol("compliance").GetPolicy(A.PolicyKey(kind=T.POLICY_KIND_COMPLIANCE,
                                                           version=v))
        self.assertEqual(got.status, S.POLICY_STATUS_PENDING_REVIEW)
        ok = self.review("compliance2", "ApprovePolicy", v, T.POLICY_KIND_COMPLIANCE, "fine")
        self.assertEqual(ok.status, S.POLICY_STATUS_APPROVED)
        self.assertEqual(ok.reviewer, "token:t-compliance2")

    # ---- the script's own tests at submit ---------------------------------------------
    def test_failing_case_refused_at_submit(self):
        bad = shipped("pricing").replace('"total": 2000', '"total": 2001', 1)
        self.assertNotEqual(bad, shipped("pricing"))
        v = self.upload(bad).version
        msg = self.refused(SC.FAILED_PRECONDITION, self.review, "pricing", "SubmitPolicy", v)
        self.assertEqual(msg, "tests: 1 of 3 cases of pricing policy version %d failed; first "
                         "failing case 'list price without signals or membership': total: "
                         "2000, want 2001" % v)
        got = self.pol("pricing").GetPolicy(A.PolicyKey(kind=PRICING, version=v))
        self.assertEqual(got.status, S.POLICY_STATUS_DRAFT)
        self.assertEqual(len(got.history), 1)

    def test_no_cases_refused_when_required(self):
        v = self.upload(without_tests(shipped("pricing"))).version
        msg = self.refused(SC.FAILED_PRECONDITION, self.review, "pricing", "SubmitPolicy", v)
        self.assertEqual(msg, "tests: pricing policy version %d has 0 test cases; the server "
                         "requires at least 1 (--min-policy-tests)" % v)

    # ---- history, comments, content names, rollback --------------------------------------
    def test_lifecycle_history_and_rollback(self):
        p = self.pol("pricing")
        before = p.GetPolicy(A.PolicyKey(kind=PRICING))  # the active one
        src = shipped("pricing").replace("-- ", "--  ", 1)
        up = self.upload(src)
        v = up.version
        self.assertEqual([(h.to, h.actor, h.comment) for h in up.history],
                         [(S.POLICY_STATUS_DRAFT, "token:t-pricing", "candidate")])
        c = self.pol("compliance").CommentPolicy(A.CommentPolicyRequest(
            kind=PRICING, version=v, text="line 1: why two spaces?"))
        self.assertEqual([(x.actor, x.text) for x in c.comments],
                         [("token:t-compliance", "line 1: why two spaces?")])
        self.assertEqual(c.status, S.POLICY_STATUS_DRAFT)  # a comment moves nothing
        sub = self.review("pricing", "SubmitPolicy", v, comment="ready")
        self.assertEqual((sub.tests_run, sub.tests_passed), (3, 3))
        self.review("compliance", "ApprovePolicy", v, comment="ok")
        act = p.ActivatePolicy(A.ActivatePolicyRequest(kind=PRICING, version=v))
        self.assertEqual([(h.actor, h.__getattribute__("from"), h.to, h.comment)
                          for h in act.history],
                         [("token:t-pricing", S.POLICY_STATUS_UNSPECIFIED,
                           S.POLICY_STATUS_DRAFT, "candidate"),
                          ("token:t-pricing", S.POLICY_STATUS_DRAFT,
                           S.POLICY_STATUS_PENDING_REVIEW, "ready"),
                          ("token:t-compliance", S.POLICY_STATUS_PENDING_REVIEW,
                           S.POLICY_STATUS_APPROVED, "ok"),
                          ("token:t-pricing", S.POLICY_STATUS_APPROVED,
                           S.POLICY_STATUS_ACTIVE, "")])
        self.assertEqual(act.replaced_version, before.version)
        old = p.GetPolicy(A.PolicyKey(kind=PRICING, version=before.version))
        self.assertEqual(old.status, S.POLICY_STATUS_RETIRED)
        self.assertEqual(old.history[-1].comment, "replaced by version %d" % v)
        # the content name finds the version
        by_hash = p.GetPolicy(A.PolicyKey(kind=PRICING, sha256=act.sha256))
        self.assertEqual((by_hash.version, by_hash.source), (v, src))
        self.refused(SC.INVALID_ARGUMENT, p.GetPolicy, A.PolicyKey(kind=PRICING, sha256="abc"))
        # one call back to the version active before
        rb = p.RollbackPolicy(A.RollbackPolicyRequest(kind=PRICING, comment="bad day"))
        self.assertEqual((rb.version, rb.status), (before.version, S.POLICY_STATUS_ACTIVE))
        self.assertEqual(rb.history[-1].comment, "bad day")
        self.assertEqual(p.GetPolicy(A.PolicyKey(kind=PRICING)).version, before.version)
        self.assertEqual(p.GetPolicy(A.PolicyKey(kind=PRICING, version=v)).status,
                         S.POLICY_STATUS_RETIRED)
        if before.replaced_version == 0:
            msg = self.refused(SC.FAILED_PRECONDITION, p.RollbackPolicy,
                               A.RollbackPolicyRequest(kind=PRICING))
            self.assertIn("nothing to roll back to", msg)
        # a reviewer cannot roll back (the owner's call)
        self.refused(SC.PERMISSION_DENIED, self.pol("compliance").RollbackPolicy,
                     A.RollbackPolicyRequest(kind=PRICING))

    def test_diff(self):
        base = shipped("credit")
        a = self.upload(base, "finance", T.POLICY_KIND_CREDIT).version
        lines = base.split("\n")
        lines[2] = "-- a changed third line"
        b = self.upload("\n".join(lines), "finance", T.POLICY_KIND_CREDIT)
        r = self.pol("finance").DiffPolicies(A.DiffPoliciesRequest(
            kind=T.POLICY_KIND_CREDIT, **{"from": a, "to": b.version}))
        old = base.split("\n")
        want = ("--- credit v%d %s\n+++ credit v%d %s\n@@ -1,6 +1,6 @@\n %s\n %s\n-%s\n+%s\n"
                " %s\n %s\n %s\n" % (a, r.from_sha256, b.version, b.sha256, old[0], old[1],
                                     old[2], lines[2], old[3], old[4], old[5]))
        self.assertEqual(r.diff, want)
        same = self.pol("finance").DiffPolicies(A.DiffPoliciesRequest(
            kind=T.POLICY_KIND_CREDIT, **{"from": a, "to": a}))
        self.assertEqual(same.diff, "")
        self.refused(SC.NOT_FOUND, self.pol("finance").DiffPolicies, A.DiffPoliciesRequest(
            kind=T.POLICY_KIND_CREDIT, **{"from": a, "to": 999}))
        # the CLI prints the same text
        p = subprocess.run([os.path.join(harness.BIN, "dealdesk"), "--server", self.s.addr,
                            "--token", self.tok["finance"], "policy", "diff", "--kind",
                            "credit", str(a), str(b.version)],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual((p.returncode, p.stdout), (0, want), p.stderr)

    # ---- promotions under compliance review --------------------------------------------
    def test_promotion_with_condition_needs_compliance(self):
        base = self.total()
        self.assertEqual(base, 2000)
        promo = T.Promotion(id="VIP10", kind=T.PROMOTION_KIND_PERCENTAGE, percent_bps=1000,
                            skus=["D"], enabled=True, condition="return true",
                            review=T.PROMOTION_REVIEW_APPROVED, approved_by="token:t-compliance")
        self.catalog("pricing").PutPromotions(A.PutPromotionsRequest(promotions=[promo]))
        got = self.catalog("pricing").GetPromotion(A.PromotionKey(id="VIP10"))
        # what the client claimed is replaced by the server
        self.assertEqual((got.review, got.written_by, got.approved_by),
                         (T.PROMOTION_REVIEW_PENDING, "token:t-pricing", ""))
        self.assertEqual(self.total(), 2000)  # not in force yet
        # the writer's role cannot approve; neither can admin
        self.refused(SC.PERMISSION_DENIED, self.pol("pricing").ApprovePromotion,
                     A.ApprovePromotionRequest(id="VIP10"))
        self.refused(SC.PERMISSION_DENIED, self.s.policies.ApprovePromotion,
                     A.ApprovePromotionRequest(id="VIP10"))
        ok = self.pol("compliance").ApprovePromotion(A.ApprovePromotionRequest(
            id="VIP10", comment="checked"))
        self.assertEqual((ok.review, ok.approved_by, ok.approval_comment),
                         (T.PROMOTION_REVIEW_APPROVED, "token:t-compliance", "checked"))
        self.assertEqual(self.total(), 1800)
        msg = self.refused(SC.FAILED_PRECONDITION, self.pol("compliance").ApprovePromotion,
                           A.ApprovePromotionRequest(id="VIP10"))
        self.assertEqual(msg, "promotion 'VIP10' is already approved")
        # writing it again needs a new approval
        self.catalog("pricing").PutPromotions(A.PutPromotionsRequest(promotions=[promo]))
        self.assertEqual(self.total(), 2000)
        self.catalog("pricing").DeletePromotion(A.PromotionKey(id="VIP10"))

    def test_large_discount_needs_compliance(self):
        big = T.Promotion(id="BIG", kind=T.PROMOTION_KIND_PERCENTAGE, percent_bps=3001,
                          skus=["D"], enabled=True)
        small = T.Promotion(id="SMALL", kind=T.PROMOTION_KIND_PERCENTAGE, percent_bps=3000,
                            skus=["D"], enabled=True)
        self.catalog("pricing").PutPromotions(A.PutPromotionsRequest(promotions=[big]))
        self.assertEqual(self.total(), 2000)
        self.catalog("pricing").DeletePromotion(A.PromotionKey(id="BIG"))
        self.catalog("pricing").PutPromotions(A.PutPromotionsRequest(promotions=[small]))
        got = self.catalog("pricing").GetPromotion(A.PromotionKey(id="SMALL"))
        self.assertEqual(got.review, T.PROMOTION_REVIEW_NOT_REQUIRED)
        self.assertEqual(self.total(), 1400)  # 30 % of 20.00 off
        msg = self.refused(SC.FAILED_PRECONDITION, self.pol("compliance").ApprovePromotion,
                           A.ApprovePromotionRequest(id="SMALL"))
        self.assertEqual(msg, "promotion 'SMALL' needs no compliance approval")
        self.refused(SC.NOT_FOUND, self.pol("compliance").ApprovePromotion,
                     A.ApprovePromotionRequest(id="NONE"))
        self.catalog("pricing").DeletePromotion(A.PromotionKey(id="SMALL"))


class PolicyTestCommandTest(unittest.TestCase):
    """`dealdesk policy test`: no server; exit 0 all passed, 1 a case failed
    or none, 2 usage or input error."""

    def run_test(self, *args):
        return subprocess.run([POLICY_TEST, "policy", "test"] + list(args), capture_output=True,
                              text=True, timeout=300)

    def write(self, text, name):
        d = tempfile.mkdtemp(prefix="dd-pt-")
        self.addCleanup(subprocess.run, ["rm", "-rf", d])
        path = os.path.join(d, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_shipped_pass(self):
        for kind in ("pricing", "promotions", "credit", "compliance"):
            p = self.run_test(os.path.join(harness.SRC, "policies", kind + ".lua"))
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            self.assertIn(": 3 passed, 0 failed", p.stdout)

    def test_cases_file(self):
        p = self.run_test("--kind", "pricing", "--cases",
                          os.path.join(harness.SRC, "tests", "policies", "pricing.json"))
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertNotIn("FAIL", p.stdout)

    def test_failure_reported(self):
        path = self.write(shipped("pricing").replace('"total": 2000', '"total": 2001', 1),
                          "pricing-candidate.lua")
        p = self.run_test(path)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertEqual(p.stdout,
                         "%s (pricing):\n"
                         "  FAIL  list price without signals or membership\n"
                         "        total: 2000, want 2001\n"
                         "  PASS  member price, half up\n"
                         "  PASS  member price, half even and down\n"
                         "%s: 2 passed, 1 failed\n" % (path, path))

    def test_no_cases_and_errors(self):
        path = self.write(without_tests(shipped("credit")), "my-policy.lua")
        p = self.run_test("--kind", "credit", path)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("no test cases", p.stdout)
        p = self.run_test(path)  # no kind in the name
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        self.assertIn("give --kind", p.stderr)
        p = self.run_test("--kind", "shipping", path)
        self.assertEqual(p.returncode, 2)
        p = self.run_test("/nonexistent/pricing.lua")
        self.assertEqual(p.returncode, 2)
        self.assertIn("cannot read /nonexistent/pricing.lua", p.stderr)
        broken = self.write(shipped("pricing").replace('"total": 2000', '"total": ', 1),
                            "pricing.lua")
        p = self.run_test(broken)
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)

    def test_cli_links_no_lua_or_lmdb(self):
        out = subprocess.run(["ldd", POLICY_TEST], capture_output=True, text=True).stdout
        self.assertNotRegex(out.lower(), "lua|lmdb")


if __name__ == "__main__":
    unittest.main(verbosity=2)
