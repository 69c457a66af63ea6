"""The attack suite (issue 9): every hostile script in attacks/ (MANIFEST
names its policy kind and what must happen) uploaded to a real dealdeskd
as that kind, or as a promotion's condition, while health checks and
benign quotes run beside it.

For each attack: the upload is refused, or the evaluation ends within its
budget with a clear error (pricing, promotions, a condition: INTERNAL naming
the script) or the documented fail-safe decision (credit: REVIEW with a
POLICY_ERROR reason; compliance: BLOCK with a policy-error result), or it
completes (`ok`) with a response every protobuf client can parse. After
each attack the shipped policy is active again and the next benign quote is
byte for byte the one taken before the attacks (apart from decision_id and
the data version, which the condition attacks' promotion writes move). The
server stays up, answers health checks throughout, and its RSS settles
(checked without sanitizers only).
"""
import os
import sys
import threading
import time
import unittest

import grpc

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))
import harness  # noqa: E402

m = harness.stubs()
Q = m["quote_pb2"]
T = m["types_pb2"]
A = m["admin_pb2"]
H = m["health_pb2"]
SC = grpc.StatusCode

KINDS = {
    "pricing": T.POLICY_KIND_PRICING,
    "promotions": T.POLICY_KIND_PROMOTIONS,
    "credit": T.POLICY_KIND_CREDIT,
    "compliance": T.POLICY_KIND_COMPLIANCE,
}
ATTACK_PROMO = "ATTACK-CONDITION"
# an evaluation is bounded by 250 ms of CPU time; the rest is the round
# trips, the loading of the policy, and a slow (sanitized) build
MAX_SECONDS = 20 if harness.SANITIZED else 8


def manifest():
    out = []
    with open(os.path.join(HERE, "attacks", "MANIFEST"), encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            fn, kind, expect, text = (line.split("\t") + [""])[:4]
            with open(os.path.join(HERE, "attacks", fn), "rb") as s:
                src = s.read()
            out.append((fn, kind, expect, text, src))
    return out


def benign():
    return Q.QuoteRequest(customer_id="acme", currency="USD", channel="web",
                          lines=[Q.LineRequest(sku="CABLE-3", quantity=2),
                                 Q.LineRequest(sku="WIDGET-1", quantity=1)],
                          request_time=harness.T0, explain=True)


def canonical(raw):
    """The response without what may differ: decision_id, data version."""
    r = Q.QuoteResponse.FromString(raw)  # raises on invalid UTF-8
    r.decision_id = ""
    r.versions.data_version = 0
    return r.SerializeToString(deterministic=True)


class AttackSuite(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = harness.Server("--threads", "2")
        cls.quote_raw = cls.s.channel.unary_unary("/dealdesk.v1.QuoteService/Quote",
                                                  request_serializer=None,
                                                  response_deserializer=None)
        cls.good = {k: cls.s.policies.GetPolicy(A.PolicyKey(kind=v)).version
                    for k, v in KINDS.items()}

    @classmethod
    def tearDownClass(cls):
        code = cls.s.stop()
        log = cls.s.read_log()
        cls.s.cleanup()
        assert code == 0, "dealdeskd exited %r:\n%s" % (code, log[-4000:])
        assert "unprotected" not in log, log[-4000:]
        assert "ERROR: AddressSanitizer" not in log and "runtime error:" not in log, log[-4000:]

    # ---- helpers ----------------------------------------------------------
    def quote(self, timeout=60):
        return self.quote_raw(benign().SerializeToString(), timeout=timeout)

    def upload(self, kind, src):
        up = self.s.policies.UploadPolicy(A.UploadPolicyRequest(
            kind=KINDS[kind], source=src.decode("utf-8", "surrogateescape"), author="attacker"))
        self.s.policies.ActivatePolicy(A.ActivatePolicyRequest(kind=KINDS[kind],
                                                               version=up.version, actor="t"))

    def restore(self, kind):
        if kind == "condition":
            self.s.catalog.DeletePromotion(A.PromotionKey(id=ATTACK_PROMO))
        else:
            self.s.policies.ActivatePolicy(A.ActivatePolicyRequest(
                kind=KINDS[kind], version=self.good[kind], actor="t"))

    def put_condition(self, body):
        self.s.catalog.PutPromotions(A.PutPromotionsRequest(promotions=[T.Promotion(
            id=ATTACK_PROMO, name="attack", kind=T.PROMOTION_KIND_PERCENTAGE, percent_bps=100,
            enabled=True, condition=body.decode("utf-8", "surrogateescape"))]))

    def run_one(self, fn, kind, expect, text, src):
        """Returns None, or what went wrong."""
        try:
            if kind == "condition":
                self.put_condition(src)
            else:
                self.upload(kind, src)
        except grpc.RpcError as e:
            if expect != "refused":
                return "upload refused: %s %s" % (e.code(), e.details())
            if e.code() != SC.INVALID_ARGUMENT:
                return "upload refused with %s: %s" % (e.code(), e.details())
            if text not in e.details():
                return "refusal %r does not say %r" % (e.details(), text)
            return None
        except ValueError as e:  # a source that is not UTF-8 cannot be sent
            return None if expect == "refused" else "cannot send: %s" % e
        if expect == "refused":
            self.restore(kind)
            return "upload was accepted"
        try:
            start = time.time()
            try:
                raw = self.quote()
                err = None
            except grpc.RpcError as e:
                raw, err = None, e
            elapsed = time.time() - start
            if elapsed > MAX_SECONDS:
                return "took %.1f s" % elapsed
            if raw is not None:
                try:
                    r = Q.QuoteResponse.FromString(raw)
                except Exception as e:  # noqa: BLE001 - any parse failure
                    return "response does not parse: %r" % e
            if expect == "error":
                if err is None:
                    return "the quote succeeded"
                if err.code() != SC.INTERNAL:
                    return "status %s: %s" % (err.code(), err.details())
                if text not in err.details():
                    return "error %r does not say %r" % (err.details(), text)
                return None
            if err is not None:
                return "quote failed: %s %s" % (err.code(), err.details())
            if expect == "failsafe":
                if kind == "credit":
                    if r.credit.outcome != Q.CREDIT_OUTCOME_REVIEW:
                        return "credit outcome %d, not REVIEW" % r.credit.outcome
                    why = r.credit.reasons[0] if r.credit.reasons else ""
                    if not why.startswith("POLICY_ERROR") or text not in why:
                        return "reason %r does not say %r" % (why, text)
                elif kind == "compliance":
                    if r.compliance_status != T.COMPLIANCE_STATUS_BLOCK:
                        return "compliance status %d, not BLOCK" % r.compliance_status
                    msgs = [c.message for c in r.compliance if c.check_id == "policy-error"]
                    if not msgs or text not in msgs[0]:
                        return "policy-error %r does not say %r" % (msgs, text)
                return None
            if expect == "ok":
                return None
            return "unknown expectation %r" % expect
        finally:
            self.restore(kind)

    # ---- the suite ----------------------------------------------------------
    def test_attacks(self):
        attacks = manifest()
        self.assertGreaterEqual(len(attacks), 60)
        kinds = {k for _, k, _, _, _ in attacks}
        self.assertEqual(kinds, set(KINDS) | {"condition"})
        for _ in range(20):
            self.quote()
        baseline = canonical(self.quote())
        rss0 = harness.rss_kb(self.s.proc.pid)

        # health checks and benign quotes beside the attacks
        stop = threading.Event()
        side_errors = []

        def beside():
            while not stop.is_set():
                try:
                    self.s.health(H.HealthCheckRequest(), timeout=10)
                except grpc.RpcError as e:
                    side_errors.append("health: %s %s" % (e.code(), e.details()))
                try:
                    Q.QuoteResponse.FromString(self.quote(timeout=30))
                except grpc.RpcError as e:
                    # the hostile policy is active: its error is expected,
                    # but the server must answer
                    if e.code() not in (SC.INTERNAL,):
                        side_errors.append("quote: %s %s" % (e.code(), e.details()))
                except Exception as e:  # noqa: BLE001
                    side_errors.append("quote does not parse: %r" % e)
                time.sleep(0.01)
        side = threading.Thread(target=beside)
        side.start()
        failures = []
        try:
            for fn, kind, expect, text, src in attacks:
                why = self.run_one(fn, kind, expect, text, src)
                if why:
                    failures.append("%s (%s, %s): %s" % (fn, kind, expect, why))
                if self.s.proc.poll() is not None:
                    failures.append("%s: dealdeskd exited %r" % (fn, self.s.proc.returncode))
                    break
                after = canonical(self.quote())
                if after != baseline:
                    failures.append("%s: the next benign quote differs" % fn)
        finally:
            stop.set()
            side.join()
        self.assertEqual(failures, [], "\n" + "\n".join(failures))
        self.assertEqual(side_errors, [])

        # RSS settles: a second round of the memory-heavy attacks does not
        # leave the server bigger than the first did
        heavy = [a for a in attacks if a[0] in (
            "table_memory.lua", "caught_memory_refusals.lua", "gsub_explosion.lua",
            "rep_memory.lua", "trace_flood.lua", "million_entry_result.lua",
            "condition_memory.lua", "string_doubling.lua")]
        for _ in range(10):
            self.quote()
        rss1 = harness.rss_kb(self.s.proc.pid)
        for fn, kind, expect, text, src in heavy:
            self.assertIsNone(self.run_one(fn, kind, expect, text, src), fn)
        for _ in range(10):
            self.quote()
        rss2 = harness.rss_kb(self.s.proc.pid)
        sys.stderr.write("RSS: %d KiB before the attacks, %d after, %d after a second round\n"
                         % (rss0, rss1, rss2))
        with open("/proc/%d/status" % self.s.proc.pid) as f:
            sys.stderr.write("".join(l for l in f if l.startswith("Rss")))
        if not harness.SANITIZED:
            self.assertLess(rss1, rss0 + 512 * 1024)
            self.assertLess(rss2, rss1 + 64 * 1024)
        self.assertEqual(canonical(self.quote()), baseline)


if __name__ == "__main__":
    unittest.main()
