"""Integration tests: a real dealdeskd called over gRPC with Debian's
python3-grpcio and stubs generated from proto/ at test time."""
import os
import sys
import threading
import time
import unittest

import grpc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

m = harness.stubs()
Q = m["quote_pb2"]
T = m["types_pb2"]
A = m["admin_pb2"]
H = m["health_pb2"]
SC = grpc.StatusCode


def req(customer, currency, lines, channel="web", **kw):
    return Q.QuoteRequest(customer_id=customer, currency=currency, channel=channel,
                          lines=[Q.LineRequest(sku=s, quantity=q) for s, q in lines],
                          request_time=harness.T0, **kw)


def disc(line, promo):
    return sum(d.amount for d in line.discounts if d.promotion_id == promo)


class ServerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = harness.Server()

    @classmethod
    def tearDownClass(cls):
        code = cls.s.stop()
        log = cls.s.read_log() if os.path.exists(cls.s.log_path) else ""
        cls.s.cleanup()
        assert code == 0, "dealdeskd exited %r on SIGTERM:\n%s" % (code, log[-4000:])
        assert "ERROR: AddressSanitizer" not in log and "runtime error:" not in log, log[-4000:]

    def assertStatus(self, fn, code, text):
        with self.assertRaises(grpc.RpcError) as cm:
            fn()
        self.assertEqual(cm.exception.code(), code, cm.exception.details())
        self.assertIn(text, cm.exception.details())
        # the server keeps serving
        ok = self.s.quote.Quote(req("acme", "USD", [("CABLE-3", 1)]))
        self.assertEqual(ok.total, 809)

    # ---- health ---------------------------------------------------------
    def test_health(self):
        self.assertEqual(self.s.health(H.HealthCheckRequest()).status,
                         H.HealthCheckResponse.SERVING)
        self.assertEqual(self.s.health(H.HealthCheckRequest(
            service="dealdesk.v1.QuoteService")).status, H.HealthCheckResponse.SERVING)
        self.assertStatus(lambda: self.s.health(H.HealthCheckRequest(service="nope")),
                          SC.NOT_FOUND, "unknown service")

    def test_unknown_method(self):
        self.assertStatus(lambda: self.s.raw("/dealdesk.v1.QuoteService/Nope", b""),
                          SC.UNIMPLEMENTED, "not implemented")

    # ---- exact quotes in 2-, 0- and 3-exponent currencies -------------------
    def test_quote_usd(self):
        r = self.s.quote.Quote(req("acme", "USD",
                                   [("WIDGET-1", 3), ("CABLE-3", 5), ("GADGET-2", 4)]))
        self.assertEqual((r.subtotal, r.discount_total, r.total), (30488, 1886, 28602))
        self.assertEqual(disc(r.lines[0], "DESK-BUNDLE"), 840)
        self.assertEqual(disc(r.lines[1], "DESK-BUNDLE"), 756)
        self.assertEqual(disc(r.lines[1], "CABLES-10"), 90)
        self.assertEqual(disc(r.lines[0], "WIDGET-2OFF"), 200)
        self.assertEqual([l.line_total for l in r.lines], [4957, 3649, 19996])
        self.assertEqual([l.price_list_id for l in r.lines], ["retail-usd"] * 3)
        self.assertEqual(r.credit.outcome, Q.CREDIT_OUTCOME_APPROVE)
        self.assertEqual(r.credit.exposure, 25028602)
        self.assertEqual(r.compliance_status, T.COMPLIANCE_STATUS_PASS)
        self.assertEqual(r.currency_exponent, 2)
        self.assertGreater(r.versions.data_version, 0)

    def test_quote_spend_threshold_usd(self):
        # 2 gadgets + 2 manuals = 149.98 > 0; 7 gadgets = 349.93 >= 300: 25.00 off
        r = self.s.quote.Quote(req("acme", "USD", [("GADGET-2", 7)]))
        self.assertEqual(len(r.order_discounts), 1)
        self.assertEqual(r.order_discounts[0].promotion_id, "SPEND-300")
        self.assertEqual(r.order_discounts[0].amount, 2500)
        self.assertEqual(r.total, 34993 - 2500)

    def test_quote_jpy(self):
        r = self.s.quote.Quote(req("tokyo", "JPY",
                                   [("WIDGET-1", 3), ("CABLE-3", 4), ("MANUAL-4", 2)], channel=""))
        self.assertEqual(r.subtotal, 21060)
        self.assertEqual([disc(l, "SPEND-JPY") for l in r.lines], [435, 224, 341])
        self.assertEqual(disc(r.lines[1], "CABLES-10"), 512)
        self.assertEqual(r.total, 19548)
        self.assertEqual(r.currency_exponent, 0)

    def test_quote_kwd(self):
        r = self.s.quote.Quote(req("kuwait", "KWD", [("WIDGET-1", 2), ("CABLE-3", 3)],
                                   coupon_codes=["WELCOME10"]))
        self.assertEqual(disc(r.lines[1], "CABLES-10"), 825)
        self.assertEqual(disc(r.lines[0], "WELCOME10"), 1230)
        self.assertEqual(disc(r.lines[1], "WELCOME10"), 743)
        self.assertEqual(r.total, 17752)
        self.assertEqual(r.currency_exponent, 3)

    def test_explain(self):
        r = self.s.quote.Quote(req("acme", "USD", [("WIDGET-1", 1)], explain=True))
        rules = {(t.stage, t.rule, t.applied): t.detail for t in r.trace}
        self.assertIn(("promotions", "WIDGET-2OFF", True), rules)
        self.assertEqual(rules[("promotions", "SPEND-JPY", False)], "only for JPY orders")
        self.assertEqual(rules[("promotions", "WELCOME10", False)], "needs its coupon code")
        self.assertEqual(rules[("promotions", "VIP-GADGET", False)], "needs one of its coupon codes")
        r = self.s.quote.Quote(req("acme", "USD", [("WIDGET-1", 1)], explain=True,
                                   coupon_codes=["WELCOME10"]))
        self.assertIn(("promotions", "WELCOME10", True), {(t.stage, t.rule, t.applied) for t in r.trace})
        self.assertEqual(rules[("promotions", "DESK-BUNDLE", False)],
                         "the cart holds no complete bundle")
        self.assertEqual(len(self.s.quote.Quote(req("acme", "USD", [("WIDGET-1", 1)])).trace), 0)

    def test_deterministic(self):
        a = self.s.quote.Quote(req("acme", "USD", [("WIDGET-1", 3), ("CABLE-3", 5)], explain=True))
        b = self.s.quote.Quote(req("acme", "USD", [("WIDGET-1", 3), ("CABLE-3", 5)], explain=True))
        self.assertNotEqual(a.decision_id, b.decision_id)
        a.decision_id = b.decision_id = ""
        self.assertEqual(a.SerializeToString(deterministic=True),
                         b.SerializeToString(deterministic=True))

    # ---- bad input ------------------------------------------------------
    def test_bad_inputs(self):
        q = self.s.quote.Quote
        cases = [
            (req("acme", "USD", []), SC.INVALID_ARGUMENT, "lines: at least one line"),
            (req("acme", "USD", [("CABLE-3", 0)]), SC.INVALID_ARGUMENT, "lines[0].quantity: must be > 0"),
            (req("acme", "USD", [("CABLE-3", -3)]), SC.INVALID_ARGUMENT, "lines[0].quantity"),
            (req("acme", "USD", [("CABLE-3", 10**15)]), SC.INVALID_ARGUMENT, "exceeds the limit"),
            (req("acme", "USD", [("CABLE-3", 1), ("NOPE", 1)]), SC.NOT_FOUND, "lines[1].sku: unknown SKU 'NOPE'"),
            (req("acme", "XYZ", [("CABLE-3", 1)]), SC.INVALID_ARGUMENT, "currency: 'XYZ' is not an ISO 4217"),
            (req("acme", "", [("CABLE-3", 1)]), SC.INVALID_ARGUMENT, "currency: required"),
            (req("acme", "GBP", [("CABLE-3", 1)]), SC.NOT_FOUND, "no price list has 'CABLE-3' in currency GBP"),
            (req("nobody", "USD", [("CABLE-3", 1)]), SC.NOT_FOUND, "customer_id: customer 'nobody' not found"),
            (req("", "USD", [("CABLE-3", 1)]), SC.INVALID_ARGUMENT, "customer_id: required"),
            (req("acme", "USD", [("CABLE-3", 1)] * 501), SC.INVALID_ARGUMENT, "at most 500"),
            (req("acme", "USD", [("CAB\x00LE-3", 1)]), SC.INVALID_ARGUMENT, "lines[0].sku: contains a NUL byte"),
            (req("acme", "USD", [("X" * 65, 1)]), SC.INVALID_ARGUMENT, "lines[0].sku: longer than 64"),
        ]
        for request, code, text in cases:
            with self.subTest(text=text):
                self.assertStatus(lambda: q(request), code, text)

    def test_invalid_utf8_and_malformed(self):
        good = req("acme", "USD", [("CABLE-3", 1)]).SerializeToString()
        # customer_id (field 1) with bytes that are not UTF-8
        bad = b"\x0a\x03\xff\xfe\x41" + good[good.index(b"\x12"):]
        self.assertStatus(lambda: self.s.raw("/dealdesk.v1.QuoteService/Quote", bad),
                          SC.INVALID_ARGUMENT, "customer_id: invalid UTF-8")
        self.assertStatus(lambda: self.s.raw("/dealdesk.v1.QuoteService/Quote", b"\xff\xff\xff"),
                          SC.INVALID_ARGUMENT, "malformed protobuf")
        self.assertStatus(lambda: self.s.raw("/dealdesk.v1.QuoteService/Quote", b"\x2a\x05\x0a"),
                          SC.INVALID_ARGUMENT, "malformed protobuf")

    def test_overflow(self):
        self.s.catalog.PutPriceEntries(A.PutPriceEntriesRequest(entries=[T.PriceEntry(
            price_list_id="huge", sku="YACHT", currency="USD", unit_price=2**62)]))
        self.assertStatus(lambda: self.s.quote.Quote(req("acme", "USD", [("YACHT", 3)])),
                          SC.INVALID_ARGUMENT, "overflows int64")
        self.assertStatus(lambda: self.s.quote.Quote(req("acme", "USD", [("YACHT", 1), ("YACHT", 2)])),
                          SC.INVALID_ARGUMENT, "overflows int64")

    # ---- admin ----------------------------------------------------------
    def test_admin_round_trips(self):
        c = self.s.catalog
        w = c.PutPriceEntries(A.PutPriceEntriesRequest(entries=[
            T.PriceEntry(price_list_id="retail-usd", sku="LAMP-9", currency="USD",
                         unit_price=1500, unit_cost=700, category="lighting")]))
        self.assertEqual(w.count, 1)
        v1 = w.data_version
        e = c.GetPriceEntry(A.PriceEntryKey(sku="LAMP-9", currency="USD", price_list_id="retail-usd"))
        self.assertEqual((e.unit_price, e.category), (1500, "lighting"))
        r = self.s.quote.Quote(req("acme", "USD", [("LAMP-9", 2)]))
        self.assertEqual(r.total, 3000)
        self.assertGreaterEqual(r.versions.data_version, v1)
        lst = c.ListPriceEntries(A.ListPriceEntriesRequest(sku="LAMP-9"))
        self.assertEqual([x.price_list_id for x in lst.entries], ["retail-usd"])
        d = c.DeletePriceEntry(A.PriceEntryKey(sku="LAMP-9", currency="USD", price_list_id="retail-usd"))
        self.assertEqual(d.data_version, v1 + 1)
        self.assertStatus(lambda: c.GetPriceEntry(A.PriceEntryKey(
            sku="LAMP-9", currency="USD", price_list_id="retail-usd")), SC.NOT_FOUND, "not found")
        self.assertStatus(lambda: self.s.quote.Quote(req("acme", "USD", [("LAMP-9", 2)])),
                          SC.NOT_FOUND, "unknown SKU 'LAMP-9'")
        self.assertStatus(lambda: c.PutPriceEntries(A.PutPriceEntriesRequest(entries=[
            T.PriceEntry(price_list_id="x", sku="A", currency="USD", unit_price=-1)])),
            SC.INVALID_ARGUMENT, "entries[0].unit_price")
        self.assertStatus(lambda: c.PutPriceEntries(A.PutPriceEntriesRequest(entries=[
            T.PriceEntry(price_list_id="x", sku="A", currency="ABC", unit_price=1)])),
            SC.INVALID_ARGUMENT, "entries[0].currency")

    def test_list_paging(self):
        seen, token = [], ""
        while True:
            page = self.s.customers.ListCustomers(A.ListCustomersRequest(
                page=A.PageRequest(page_size=3, page_token=token)))
            seen += [c.id for c in page.customers]
            token = page.next_page_token
            if not token:
                break
        self.assertEqual(seen, sorted(seen))
        self.assertIn("acme", seen)
        self.assertIn("tokyo", seen)
        self.assertEqual(len(seen), len(set(seen)))

    def test_promotion_and_check_admin(self):
        c = self.s.catalog
        c.PutPromotions(A.PutPromotionsRequest(promotions=[T.Promotion(
            id="MANUALS-HALF", name="Half price manuals", kind=T.PROMOTION_KIND_PERCENTAGE,
            skus=["MANUAL-4"], percent_bps=6000, enabled=True)]))
        r = self.s.quote.Quote(req("acme", "USD", [("MANUAL-4", 1)]))
        # 60 % of 25.00 = 15.00 off: 10.00 is below cost 9.00 + 5 % = 9.45? no,
        # 10.00 >= 9.45 passes margin; but the 60 % discount breaks both caps
        self.assertEqual(r.total, 1000)
        statuses = {(x.check_id, x.status) for x in r.compliance}
        self.assertIn(("max-discount-30", T.COMPLIANCE_STATUS_WARN), statuses)
        self.assertIn(("max-discount-50", T.COMPLIANCE_STATUS_BLOCK), statuses)
        self.assertIn(("min-margin-5", T.COMPLIANCE_STATUS_PASS), statuses)
        self.assertEqual(r.compliance_status, T.COMPLIANCE_STATUS_BLOCK)
        c.DeletePromotion(A.PromotionKey(id="MANUALS-HALF"))
        r = self.s.quote.Quote(req("acme", "USD", [("MANUAL-4", 1)]))
        self.assertEqual(r.total, 2500)
        self.assertEqual(r.compliance_status, T.COMPLIANCE_STATUS_PASS)
        self.assertStatus(lambda: c.PutPromotions(A.PutPromotionsRequest(promotions=[
            T.Promotion(id="P", kind=T.PROMOTION_KIND_PERCENTAGE, percent_bps=20000)])),
            SC.INVALID_ARGUMENT, "promotions[0].percent_bps")

    def test_policy_lifecycle(self):
        p = self.s.policies
        src = open(os.path.join(harness.SRC, "policies", "credit.lua")).read()
        up = p.UploadPolicy(A.UploadPolicyRequest(kind=T.POLICY_KIND_CREDIT, source=src,
                                                  author="fin-alice", comment="same rules"))
        self.assertEqual(up.status, T.POLICY_STATUS_DRAFT)
        self.assertEqual(len(up.sha256), 64)
        key = dict(kind=T.POLICY_KIND_CREDIT, version=up.version)
        p.SubmitPolicy(A.ReviewPolicyRequest(actor="fin-alice", **key))
        self.assertStatus(lambda: p.ApprovePolicy(A.ReviewPolicyRequest(actor="fin-alice", **key)),
                          SC.PERMISSION_DENIED, "cannot review")
        ok = p.ApprovePolicy(A.ReviewPolicyRequest(actor="comp-bob", comment="fine", **key))
        self.assertEqual(ok.status, T.POLICY_STATUS_APPROVED)
        act = p.ActivatePolicy(A.ActivatePolicyRequest(actor="fin-alice", **key))
        self.assertEqual(act.status, T.POLICY_STATUS_ACTIVE)
        r = self.s.quote.Quote(req("acme", "USD", [("CABLE-3", 1)]))
        self.assertEqual(r.versions.credit_policy, up.version)
        got = p.GetPolicy(A.PolicyKey(kind=T.POLICY_KIND_CREDIT))
        self.assertEqual(got.version, up.version)
        self.assertEqual(got.source, src)
        # a rejected version can never be activated
        up2 = p.UploadPolicy(A.UploadPolicyRequest(kind=T.POLICY_KIND_CREDIT, source=src, author="x"))
        k2 = dict(kind=T.POLICY_KIND_CREDIT, version=up2.version)
        p.SubmitPolicy(A.ReviewPolicyRequest(actor="x", **k2))
        p.RejectPolicy(A.ReviewPolicyRequest(actor="y", **k2))
        self.assertStatus(lambda: p.ActivatePolicy(A.ActivatePolicyRequest(actor="x", **k2)),
                          SC.FAILED_PRECONDITION, "rejected")
        lst = p.ListPolicies(A.ListPoliciesRequest(kind=T.POLICY_KIND_CREDIT))
        self.assertEqual([x.status for x in lst.policies][-3:],
                         [T.POLICY_STATUS_RETIRED, T.POLICY_STATUS_ACTIVE, T.POLICY_STATUS_REJECTED])
        self.assertTrue(all(x.source == "" for x in lst.policies))

    def test_policy_upload_errors(self):
        p = self.s.policies
        self.assertStatus(lambda: p.UploadPolicy(A.UploadPolicyRequest(
            kind=T.POLICY_KIND_CREDIT, source="function decide(ctx\n")),
            SC.INVALID_ARGUMENT, "credit:2:")
        self.assertStatus(lambda: p.UploadPolicy(A.UploadPolicyRequest(
            kind=T.POLICY_KIND_CREDIT, source="function other() end")),
            SC.INVALID_ARGUMENT, "must define function decide()")
        self.assertStatus(lambda: p.UploadPolicy(A.UploadPolicyRequest(
            kind=T.POLICY_KIND_CREDIT, source="local f = io.open('/etc/passwd')\nfunction decide() end")),
            SC.INVALID_ARGUMENT, "io")
        self.assertStatus(lambda: p.UploadPolicy(A.UploadPolicyRequest(
            kind=T.POLICY_KIND_UNSPECIFIED, source="x")), SC.INVALID_ARGUMENT, "kind")


class SandboxTest(unittest.TestCase):
    """Hostile policies are refused or stopped; other calls keep working."""

    @classmethod
    def setUpClass(cls):
        cls.s = harness.Server("--policy-max-millis", "5000")
        cls.good = {}
        for kind, name in [(T.POLICY_KIND_CREDIT, "credit"), (T.POLICY_KIND_PRICING, "pricing")]:
            cls.good[kind] = cls.s.policies.GetPolicy(A.PolicyKey(kind=kind)).version

    @classmethod
    def tearDownClass(cls):
        code = cls.s.stop()
        log = cls.s.read_log()
        cls.s.cleanup()
        assert code == 0, log[-4000:]

    def activate(self, kind, source):
        up = self.s.policies.UploadPolicy(A.UploadPolicyRequest(kind=kind, source=source, author="t"))
        self.s.policies.ActivatePolicy(A.ActivatePolicyRequest(kind=kind, version=up.version, actor="t"))
        return up.version

    def restore(self, kind):
        self.s.policies.ActivatePolicy(A.ActivatePolicyRequest(
            kind=kind, version=self.good[kind], actor="t"))

    def credit_of(self, body):
        v = self.activate(T.POLICY_KIND_CREDIT, "function decide(ctx, c)\n" + body + "\nend\n")
        try:
            # health checks keep answering while the hostile policy runs
            errors = []

            def probe():
                for _ in range(20):
                    try:
                        self.s.health(H.HealthCheckRequest(), timeout=5)
                    except grpc.RpcError as e:
                        errors.append(e)
            t = threading.Thread(target=probe)
            t.start()
            start = time.time()
            r = self.s.quote.Quote(req("acme", "USD", [("CABLE-3", 1)]), timeout=30)
            elapsed = time.time() - start
            t.join()
            self.assertEqual(errors, [])
            return v, r, elapsed
        finally:
            self.restore(T.POLICY_KIND_CREDIT)

    def assertFailSafe(self, body, text):
        v, r, elapsed = self.credit_of(body)
        self.assertEqual(r.credit.outcome, Q.CREDIT_OUTCOME_REVIEW)
        self.assertIn("POLICY_ERROR", r.credit.reasons[0])
        self.assertIn(text, r.credit.reasons[0])
        self.assertEqual(r.total, 809)  # the rest of the quote is intact
        self.assertLess(elapsed, 10)
        ok = self.s.quote.Quote(req("acme", "USD", [("CABLE-3", 1)]))
        self.assertEqual(ok.credit.outcome, Q.CREDIT_OUTCOME_APPROVE)

    def test_os_execute(self):
        self.assertFailSafe("os.execute('touch /tmp/dealdesk-pwned')", "credit.v")
        self.assertFalse(os.path.exists("/tmp/dealdesk-pwned"))

    def test_io_open(self):
        self.assertFailSafe("local f = io.open('/etc/passwd')", "global 'io'")

    def test_require_and_load(self):
        self.assertFailSafe("require('os')", "global 'require'")
        self.assertFailSafe("load('return 1')()", "global 'load'")
        self.assertFailSafe("string.dump(decide)", "dump")

    def test_infinite_loop(self):
        self.assertFailSafe("while true do end", "budget")

    def test_loop_inside_pcall(self):
        self.assertFailSafe("while true do pcall(function() while true do end end) end", "budget")

    def test_memory_bomb(self):
        self.assertFailSafe("local t = {} for i = 1, 1e9 do t[i] = ('x'):rep(4096) .. i end",
                            "memory")
        self.assertFailSafe("local s = ('x'):rep(2^34)", "")

    def test_pattern_spin(self):
        self.assertFailSafe("local s = ('a'):rep(300) return s:find('.-.-.-b')", "pattern")

    def test_views_are_read_only(self):
        # the order the engine holds is the truth: a policy writing into its
        # view gets an error (here the credit fail-safe), never a crash
        self.assertFailSafe("ctx.total = 0", "ctx is read-only")
        self.assertFailSafe("ctx.lines[1].unit_price = 0", "read-only")
        self.assertFailSafe("ctx.lines = 0", "read-only")
        self.assertFailSafe("ctx.lines[1] = 0", "read-only")
        self.assertFailSafe("c.limit = 10^12", "credit is read-only")
        self.assertFailSafe("setmetatable(ctx, {__newindex = function() error('x') end})",
                            "protected metatable")
        self.assertFailSafe("ctx.coupons.X = true", "read-only")
        self.assertFailSafe("rawset(ctx, 'total', 0)", "global 'rawset'")
        self.assertFailSafe("assert(getmetatable(ctx) == false) error('hidden')", "hidden")

    def test_views_do_not_outlive_their_evaluation(self):
        # a line's signals (a view) cannot be kept for the next quote: the
        # table a top-level local holds is read-only (README "Policy sandbox")
        v = self.activate(T.POLICY_KIND_PRICING, (
            "local kept = {}\n"
            "function price(ctx)\n"
            "  local s = ctx.lines[1].signals\n"
            "  if kept[1] then local x = kept[1].inventory end\n"
            "  kept[1] = s\n"
            "  return nil\n"
            "end\n"))
        try:
            self.s.catalog.PutSkuSignals(A.PutSkuSignalsRequest(signals=[
                T.SkuSignals(sku="CABLE-3", inventory_on_hand=5, inventory_at=1789999000)]))
            for _ in range(2):
                with self.assertRaises(grpc.RpcError) as cm:
                    self.s.quote.Quote(req("acme", "USD", [("CABLE-3", 1)]))
                self.assertEqual(cm.exception.code(), SC.INTERNAL)
                self.assertIn("a table the top level made is read-only", cm.exception.details())
        finally:
            self.restore(T.POLICY_KIND_PRICING)
            self.s.catalog.DeleteSkuSignals(A.SkuKey(sku="CABLE-3"))

    def test_promotion_primitives_refuse_misuse(self):
        cases = [
            ("dd.promotion_commit(promotions[1], 999, 0)", "not an effect"),
            ("dd.promotion_effect({slot = 99999})", "not a promotion of this quote"),
            ("dd.promotion_in_force(42)", "table expected"),
            ("for k = 1, #promotions do local p = promotions[k] local e = dd.promotion_effect(p) "
             "if e then dd.promotion_commit(p, e, 10^9) dd.promotion_commit(p, e, 10^9) end end",
             "committed twice"),
        ]
        good = self.s.policies.GetPolicy(A.PolicyKey(kind=T.POLICY_KIND_PROMOTIONS)).version
        try:
            for body, text in cases:
                v = self.activate(T.POLICY_KIND_PROMOTIONS,
                                  "function apply(ctx, promotions)\n" + body + "\nend\n")
                with self.assertRaises(grpc.RpcError) as cm:
                    self.s.quote.Quote(req("acme", "USD", [("CABLE-3", 2)]))
                self.assertEqual(cm.exception.code(), SC.INTERNAL, body)
                self.assertIn(text, cm.exception.details(), body)
            # committing every promotion's effect computed on the same cart
            # never takes a line below zero
            self.activate(T.POLICY_KIND_PROMOTIONS, (
                "function apply(ctx, promotions)\n"
                "  local es = {}\n"
                "  for k = 1, #promotions do es[k] = dd.promotion_effect(promotions[k]) end\n"
                "  for k = 1, #promotions do\n"
                "    if es[k] then dd.promotion_commit(promotions[k], es[k], 10^12) end\n"
                "    if es[k] then dd.promotion_commit(promotions[k], es[k], 10^12) end\n"
                "  end\n"
                "end\n"))
            with self.assertRaises(grpc.RpcError):
                self.s.quote.Quote(req("acme", "USD", [("CABLE-3", 2)]))
            self.activate(T.POLICY_KIND_PROMOTIONS, (
                "function apply(ctx, promotions)\n"
                "  local es = {}\n"
                "  for k = 1, #promotions do es[k] = dd.promotion_effect(promotions[k]) end\n"
                "  for k = 1, #promotions do\n"
                "    if es[k] then dd.promotion_commit(promotions[k], es[k], 10^12) end\n"
                "  end\n"
                "end\n"))
            r = self.s.quote.Quote(req("acme", "USD", [("CABLE-3", 2), ("WIDGET-1", 1)]))
            for line in r.lines:
                self.assertGreaterEqual(line.line_total, 0)
                self.assertEqual(line.line_subtotal - line.discount_total, line.line_total)
            self.assertEqual(r.subtotal - r.discount_total, r.total)
        finally:
            self.s.policies.ActivatePolicy(A.ActivatePolicyRequest(
                kind=T.POLICY_KIND_PROMOTIONS, version=good, actor="t"))

    def test_pricing_error_is_clear(self):
        v = self.activate(T.POLICY_KIND_PRICING, "function price(ctx)\n  error('boom')\nend")
        try:
            with self.assertRaises(grpc.RpcError) as cm:
                self.s.quote.Quote(req("acme", "USD", [("CABLE-3", 1)]))
            self.assertEqual(cm.exception.code(), SC.INTERNAL)
            self.assertIn("pricing policy v%d" % v, cm.exception.details())
            self.assertIn("pricing.v%d:2: boom" % v, cm.exception.details())
        finally:
            self.restore(T.POLICY_KIND_PRICING)
        self.assertEqual(self.s.quote.Quote(req("acme", "USD", [("CABLE-3", 1)])).total, 809)


class ConcurrencyTest(unittest.TestCase):
    def test_parallel_quotes_and_writes(self):
        s = harness.Server("--threads", "4")
        try:
            errors, totals = [], []

            def quoter():
                for _ in range(40):
                    try:
                        r = s.quote.Quote(req("acme", "USD", [("WIDGET-1", 3), ("CABLE-3", 5),
                                                              ("GADGET-2", 4)]))
                        totals.append(r.total)
                    except grpc.RpcError as e:
                        errors.append(e)

            def writer():
                for i in range(20):
                    s.customers.PutCustomers(A.PutCustomersRequest(customers=[
                        T.Customer(id="c%d" % i, credit=T.CreditProfile(currency="USD"))]))
            threads = [threading.Thread(target=quoter) for _ in range(4)] + [threading.Thread(target=writer)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            self.assertEqual(errors, [])
            self.assertEqual(set(totals), {28602})
            self.assertEqual(len(totals), 160)
            ids = [c.id for c in s.customers.ListCustomers(
                A.ListCustomersRequest(page=A.PageRequest(page_size=1000))).customers]
            self.assertEqual(sum(1 for i in ids if i.startswith("c") and i[1:].isdigit()), 20)
        finally:
            self.assertEqual(s.stop(), 0)
            s.cleanup()

    def test_restart_keeps_data(self):
        s = harness.Server()
        s.customers.PutCustomers(A.PutCustomersRequest(customers=[
            T.Customer(id="durable", name="Durable", credit=T.CreditProfile(currency="USD"))]))
        db = s.db
        self.assertEqual(s.stop(), 0)
        s2 = harness.Server("--db", db)  # later --db wins
        try:
            got = s2.customers.GetCustomer(A.CustomerKey(id="durable"))
            self.assertEqual(got.name, "Durable")
        finally:
            self.assertEqual(s2.stop(), 0)
            s2.cleanup()
            s.cleanup()


if __name__ == "__main__":
    unittest.main(verbosity=2)
