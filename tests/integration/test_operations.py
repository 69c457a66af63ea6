"""Running dealdeskd as operators do: --version on both binaries, flags
parsed by getopt_long (both spellings, the config file under the flags),
Prometheus metrics on --metrics-listen parsed with prometheus_client's
parser, JSON logs (one object per line, the access fields, gRPC core's own
messages), and `dealdesk status` / ServerAdmin.GetStatus."""
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

import grpc
from prometheus_client.parser import text_string_to_metric_families

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

m = harness.stubs()
Q, S = m["quote_pb2"], m["server_pb2"]
SC = grpc.StatusCode
DEALDESKD = os.path.join(harness.BIN, "dealdeskd")
DEALDESK = os.path.join(harness.BIN, "dealdesk")


def git_revision():
    p = subprocess.run(["git", "-C", harness.SRC, "rev-parse", "--short=12", "HEAD"],
                       capture_output=True, text=True)
    return p.stdout.strip() if p.returncode == 0 else None


def project_version():
    with open(os.path.join(harness.SRC, "CMakeLists.txt")) as f:
        return re.search(r"project\(dealdesk VERSION ([0-9.]+)", f.read()).group(1)


def scrape(addr):
    with urllib.request.urlopen("http://%s/metrics" % addr, timeout=30) as r:
        ctype = r.headers["Content-Type"]
        return ctype, r.read().decode()


def samples(text):
    """{(name, frozenset(labels)): value} of every sample."""
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def quote_req(qty=1):
    return Q.QuoteRequest(customer_id="acme", currency="USD", request_time=harness.T0,
                          lines=[Q.LineRequest(sku="CABLE-3", quantity=qty)])


class VersionTest(unittest.TestCase):
    def test_version_on_both_binaries(self):
        want = project_version()
        rev = git_revision()
        for binary, name in ((DEALDESKD, "dealdeskd"), (DEALDESK, "dealdesk")):
            p = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30)
            self.assertEqual(p.returncode, 0, p.stderr)
            got = re.fullmatch(r"%s (\S+) \(git (\S+)\)\n" % name, p.stdout)
            self.assertIsNotNone(got, p.stdout)
            self.assertEqual(got.group(1), want)
            if rev is None:
                self.assertEqual(got.group(2), "unknown")
            else:
                self.assertRegex(got.group(2), r"^[0-9a-f]{12}(-dirty)?$")

    def test_bad_flags(self):
        for args, err in ((["--bogus"], "unrecognized option '--bogus'"),
                          (["--threads"], "requires an argument"),
                          (["--threads", "0"], "bad value '0' for threads"),
                          (["stray"], "unexpected argument 'stray'"),
                          (["--log-format", "xml"], "bad value 'xml' for log-format")):
            p = subprocess.run([DEALDESKD] + args, capture_output=True, text=True, timeout=30)
            self.assertEqual(p.returncode, 2, args)
            self.assertIn(err, p.stderr, args)


class OperationsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="dd-ops-")
        cls.metrics_addr = "127.0.0.1:%d" % harness.free_port()
        conf = os.path.join(cls.tmp, "dealdeskd.conf")
        with open(conf, "w") as f:
            # the file sets threads and writer-batch; a flag overrides the
            # threads (flags win, wherever --config stands)
            f.write("# test\nthreads = 3\nwriter-batch = 16\nlog-format = json\n")
        cls.conf = conf
        cls.s = harness.Server("--metrics-listen=" + cls.metrics_addr, "--config", conf,
                               "--threads", "2", auth=True)

    @classmethod
    def tearDownClass(cls):
        code = cls.s.stop()
        cls.log = cls.s.read_log()
        cls.s.cleanup()
        assert code == 0, cls.log[-3000:]

    def test_metrics_scrape(self):
        before = samples(scrape(self.metrics_addr)[1])
        for q in (1, 2, 3):
            self.s.quote.Quote(quote_req(q), timeout=30)
        for bad in range(2):
            with self.assertRaises(grpc.RpcError):
                self.s.quote.Quote(quote_req(0), timeout=30)
        ctype, text = scrape(self.metrics_addr)
        self.assertTrue(ctype.startswith("text/plain; version=0.0.4"), ctype)
        after = samples(text)
        lab = {"grpc_type": "unary", "grpc_service": "dealdesk.v1.QuoteService",
               "grpc_method": "Quote"}

        def delta(name, **extra):
            key = (name, frozenset(dict(lab, **extra).items()))
            return after[key] - before.get(key, 0)
        self.assertEqual(delta("grpc_server_started_total"), 5)
        self.assertEqual(delta("grpc_server_handled_total", grpc_code="OK"), 3)
        self.assertEqual(delta("grpc_server_handled_total", grpc_code="INVALID_ARGUMENT"), 2)
        self.assertEqual(delta("grpc_server_handling_seconds_count"), 5)
        self.assertEqual(delta("grpc_server_handling_seconds_bucket", le="+Inf"), 5)
        self.assertGreater(delta("grpc_server_handling_seconds_sum"), 0)
        # buckets are cumulative
        buckets = sorted((float(dict(k[1])["le"]), v) for k, v in after.items()
                         if k[0] == "grpc_server_handling_seconds_bucket"
                         and dict(k[1]).get("grpc_method") == "Quote")
        self.assertEqual([v for _, v in buckets], sorted(v for _, v in buckets))
        # every method is there, streaming ones with their type
        self.assertIn(("grpc_server_started_total", frozenset({
            "grpc_type": "server_stream", "grpc_service": "grpc.health.v1.Health",
            "grpc_method": "Watch"}.items())), after)
        self.assertIn(("grpc_server_started_total", frozenset({
            "grpc_type": "bidi_stream", "grpc_service": "grpc.reflection.v1.ServerReflection",
            "grpc_method": "ServerReflectionInfo"}.items())), after)
        # decisions: the three quotes, by outcome
        credit = {k: v - before.get(k, 0) for k, v in after.items()
                  if k[0] == "dealdesk_decisions_total" and ("kind", "credit") in k[1]}
        self.assertEqual(sum(credit.values()), 3)
        comp = {k: v - before.get(k, 0) for k, v in after.items()
                if k[0] == "dealdesk_decisions_total" and ("kind", "compliance") in k[1]}
        self.assertEqual(sum(comp.values()), 3)
        # the store and the writer
        self.assertEqual(after[("dealdesk_lmdb_map_size_bytes", frozenset())], 1 << 30)
        self.assertGreater(after[("dealdesk_lmdb_map_used_bytes", frozenset())], 0)
        st = self.s.channel.unary_unary(
            "/dealdesk.v1.ServerAdmin/GetStatus",
            request_serializer=S.GetStatusRequest.SerializeToString,
            response_deserializer=S.ServerStatus.FromString)(S.GetStatusRequest(), timeout=30)
        self.assertEqual(after[("dealdesk_data_version", frozenset())], st.data_version)
        for p in st.active_policies:
            self.assertEqual(after[("dealdesk_policy_active_version",
                                    frozenset({"kind": p.kind}.items()))], p.version)
        # the decision log's pacer and the experiment tally queue jobs of their
        # own off the request path: the queue drains to 0 within their period
        depth = after[("dealdesk_writer_queue_depth", frozenset())]
        for _ in range(100):
            if depth == 0:
                break
            time.sleep(0.02)
            after = samples(scrape(self.metrics_addr)[1])
            depth = after[("dealdesk_writer_queue_depth", frozenset())]
        self.assertEqual(depth, 0)
        batches = after[("dealdesk_writer_batch_size_count", frozenset())]
        self.assertGreaterEqual(batches, 1)  # the token the harness created, the demo
        self.assertEqual(after[("dealdesk_writer_batch_size_bucket",
                                frozenset({"le": "+Inf"}.items()))], batches)
        self.assertEqual(after[("dealdesk_writer_commit_seconds_count", frozenset())], batches)
        # only /metrics
        with self.assertRaises(urllib.error.HTTPError) as cm:
            urllib.request.urlopen("http://%s/other" % self.metrics_addr, timeout=30)
        self.assertEqual(cm.exception.code, 404)

    def approved_pricing(self, source):
        """A new pricing version, approved (admin uploads, compliance
        approves)."""
        A, T = m["admin_pb2"], m["types_pb2"]
        pol = self.s.policies
        v = pol.UploadPolicy(A.UploadPolicyRequest(kind=T.POLICY_KIND_PRICING, source=source,
                                                   comment="t"), timeout=30).version
        pol.SubmitPolicy(A.ReviewPolicyRequest(kind=T.POLICY_KIND_PRICING, version=v), timeout=30)
        ch = self.s.open_channel(self.reviewer)
        m["admin_pb2_grpc"].PolicyAdminStub(ch).ApprovePolicy(
            A.ReviewPolicyRequest(kind=T.POLICY_KIND_PRICING, version=v), timeout=30)
        ch.close()
        return v

    def test_policy_failures_by_script(self):
        """A policy that errors and one that trips its budget: counted by
        script version."""
        A, T = m["admin_pb2"], m["types_pb2"]
        pol = self.s.policies
        self.reviewer = self.s.token("compliance", "ops-reviewer")
        failing = self.approved_pricing('function price(ctx) error("boom") end')
        looping = self.approved_pricing('function price(ctx) while true do end end')
        active = [p.version for p in pol.ListPolicies(A.ListPoliciesRequest(
            kind=T.POLICY_KIND_PRICING), timeout=30).policies
            if p.status == T.POLICY_STATUS_ACTIVE]
        self.assertEqual(len(active), 1)
        try:
            for version, calls in ((failing, 2), (looping, 1)):
                pol.ActivatePolicy(A.ActivatePolicyRequest(kind=T.POLICY_KIND_PRICING,
                                                           version=version), timeout=30)
                for _ in range(calls):
                    with self.assertRaises(grpc.RpcError) as cm:
                        self.s.quote.Quote(quote_req(1), timeout=30)
                    self.assertEqual(cm.exception.code(), SC.INTERNAL)
            after = samples(scrape(self.metrics_addr)[1])

            def count(name, v):
                return after.get((name, frozenset({"script": "pricing.v%d" % v}.items())))
            self.assertEqual(count("dealdesk_policy_errors_total", failing), 2)
            self.assertEqual(count("dealdesk_policy_budget_trips_total", failing), 0)
            self.assertEqual(count("dealdesk_policy_errors_total", looping), 0)
            self.assertEqual(count("dealdesk_policy_budget_trips_total", looping), 1)
        finally:
            pol.ActivatePolicy(A.ActivatePolicyRequest(kind=T.POLICY_KIND_PRICING,
                                                       version=active[0]), timeout=30)

    def test_status_cli_and_rpc(self):
        p = subprocess.run([DEALDESK, "--server", self.s.addr, "--token", self.s.admin_token,
                            "status"], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        out = p.stdout
        self.assertRegex(out, r"server version   %s \(git \S+\)\n" % re.escape(project_version()))
        self.assertRegex(out, r"uptime           \d+d \d\dh \d\dm \d\ds \(since ")
        self.assertRegex(out, r"data version     \d+\n")
        self.assertRegex(out, r"map              .* of 1\.0 GiB used")
        self.assertRegex(out, r"active policies  pricing v\d+, promotions v\d+, credit v\d+, "
                              r"compliance v\d+\n")
        conf = dict(re.findall(r"^  (\S+) +(.*)$", out, re.M))
        self.assertEqual(conf["threads"], "2")        # the flag over the file
        self.assertEqual(conf["writer-batch"], "16")  # the file
        self.assertEqual(conf["log-format"], "json")
        self.assertEqual(conf["metrics-listen"], self.metrics_addr)
        self.assertEqual(conf["config"], self.conf)
        self.assertEqual(conf["listen"], self.s.addr)
        self.assertEqual(conf["no-auth"], "false")
        # --json: the message itself
        p = subprocess.run([DEALDESK, "--server", self.s.addr, "--token", self.s.admin_token,
                            "--json", "status"], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        j = json.loads(p.stdout)
        self.assertEqual(j["version"], project_version())
        # admin only
        tok = self.s.token("checkout", "ops-checkout")
        p = subprocess.run([DEALDESK, "--server", self.s.addr, "--token", tok, "status"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 1)
        self.assertIn("PERMISSION_DENIED", p.stderr)

    def test_json_logs(self):
        tok = self.s.token("checkout", "ops-logger")
        ch = self.s.open_channel(tok)
        stub = m["quote_pb2_grpc"].QuoteServiceStub(ch)
        r = stub.Quote(quote_req(1), timeout=30, metadata=(("x-request-id", "req-42"),))
        with self.assertRaises(grpc.RpcError):
            stub.Quote(quote_req(0), timeout=30, metadata=(("x-request-id", "req-43"),))
        ch.close()
        self.s.log.flush()
        lines = [l for l in self.s.read_log().splitlines() if l.strip()]
        objs = [json.loads(l) for l in lines]  # every line is one JSON object
        for o in objs:
            self.assertIn(o["level"], ("debug", "info", "warn", "error"))
            self.assertRegex(o["ts"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        ok = [o for o in objs if o.get("request_id") == "req-42"]
        self.assertEqual(len(ok), 1, ok)
        o = ok[0]
        self.assertEqual((o["msg"], o["method"], o["status"], o["code"], o["principal"],
                          o["decision_id"], o["error"]),
                         ("rpc", "/dealdesk.v1.QuoteService/Quote", "OK", 0,
                          "token:ops-logger", r.decision_id, None))
        self.assertRegex(o["peer"], r"^ipv4:127\.0\.0\.1:\d+$")
        self.assertIsInstance(o["duration_us"], int)
        bad = [o for o in objs if o.get("request_id") == "req-43"]
        self.assertEqual(len(bad), 1)
        self.assertEqual((bad[0]["level"], bad[0]["status"], bad[0]["decision_id"]),
                         ("warn", "INVALID_ARGUMENT", None))
        self.assertIn("lines[0].quantity", bad[0]["error"])
        start = [o for o in objs if o["msg"].startswith("dealdeskd %s (git " % project_version())]
        self.assertEqual(len(start), 1, [o["msg"] for o in objs][:5])


class GrpcLogTest(unittest.TestCase):
    def test_grpc_core_messages_go_through_the_logger(self):
        """gRPC core's own error (a port it cannot bind) comes out as one of
        our JSON lines."""
        port = harness.free_port()
        import socket
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 0)
            sock.bind(("127.0.0.1", port))
            sock.listen(1)
            d = tempfile.mkdtemp(prefix="dd-ops-")
            p = subprocess.run([DEALDESKD, "--listen", "127.0.0.1:%d" % port, "--db",
                                os.path.join(d, "db"), "--no-auth", "--log-format", "json"],
                               capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 1, p.stderr)
        objs = [json.loads(l) for l in p.stderr.splitlines() if l.strip()]
        grpc_lines = [o for o in objs if o.get("source") == "grpc"]
        self.assertGreater(len(grpc_lines), 0, p.stderr)
        self.assertEqual(grpc_lines[0]["level"], "error")
        self.assertTrue(any("cannot listen on" in o["msg"] for o in objs))


if __name__ == "__main__":
    unittest.main()
