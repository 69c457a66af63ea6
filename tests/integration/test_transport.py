"""Integration tests of dealdeskd's transport: a call that waited past its
deadline is answered DEADLINE_EXCEEDED without running its handler, and a
server that cannot start releases what it made (no leaks under ASan)."""
import os
import socket
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
Q = m["quote_pb2"]
T = m["types_pb2"]
A = m["admin_pb2"]
SC = grpc.StatusCode

SANITIZER_REPORTS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def quote_req():
    return Q.QuoteRequest(customer_id="acme", currency="USD", channel="web",
                          lines=[Q.LineRequest(sku="CABLE-3", quantity=1)],
                          request_time=harness.T0)


def customer(cid):
    return A.PutCustomersRequest(customers=[
        T.Customer(id=cid, name=cid, credit=T.CreditProfile(currency="USD"))])


class DeadlineTest(unittest.TestCase):
    """A worker busy with a slow quote: a write queued behind it with a
    deadline shorter than the wait must not happen.

    Two workers: gRPC hands every call of a connection to that connection's
    queue first, so the write lands behind the quote, while the idle worker
    keeps reading the socket, so the call (and its deadline) starts when the
    client sends it. With one worker nobody would read the socket during the
    quote and the deadline would only start once the worker is free."""

    def setUp(self):
        self.s = harness.Server("--threads", "2", "--policy-max-millis", "600",
                                "--policy-max-instructions", "1000000000000")
        p = self.s.policies
        up = p.UploadPolicy(A.UploadPolicyRequest(
            kind=T.POLICY_KIND_CREDIT, author="slow",
            source="function decide(ctx, credit)\n  while true do end\nend"))
        p.ActivatePolicy(A.ActivatePolicyRequest(kind=T.POLICY_KIND_CREDIT,
                                                 version=up.version, actor="slow"))

    def tearDown(self):
        code = self.s.stop()
        log = self.s.read_log()
        self.s.cleanup()
        self.assertEqual(code, 0, log[-4000:])
        for r in SANITIZER_REPORTS:
            self.assertNotIn(r, log)

    def test_late_write_is_not_run(self):
        results = {}

        def slow_quote():
            start = time.time()
            r = self.s.quote.Quote(quote_req(), timeout=30)
            results["quote"] = (r, time.time() - start)

        t = threading.Thread(target=slow_quote)
        t.start()
        time.sleep(0.15)  # the quote is in the credit policy's loop now
        with self.assertRaises(grpc.RpcError) as cm:
            self.s.customers.PutCustomers(customer("late"), timeout=0.1)
        self.assertEqual(cm.exception.code(), SC.DEADLINE_EXCEEDED)
        t.join()
        r, elapsed = results["quote"]
        self.assertEqual(r.credit.outcome, Q.CREDIT_OUTCOME_REVIEW)  # fail-safe
        self.assertGreater(elapsed, 0.4)
        # the write reached the worker after its deadline: never applied
        with self.assertRaises(grpc.RpcError) as cm:
            self.s.customers.GetCustomer(A.CustomerKey(id="late"))
        self.assertEqual(cm.exception.code(), SC.NOT_FOUND)
        # the server said why, and the next write with time to spare works
        log = self.s.read_log()
        self.assertIn("rpc /dealdesk.v1.CustomerAdmin/PutCustomers status=DEADLINE_EXCEEDED", log)
        self.assertIn("deadline passed before the call was handled", log)
        w = self.s.customers.PutCustomers(customer("in-time"), timeout=30)
        self.assertGreater(w.data_version, 0)
        self.assertEqual(self.s.customers.GetCustomer(A.CustomerKey(id="in-time")).id, "in-time")


class StartupFailureTest(unittest.TestCase):
    """A server that cannot start exits 1 and, under ASan (build-asan), the
    leak check finds nothing it left behind: queues, workers, quoters, the
    gRPC server, the writer and the store are all released."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="dd-it-start-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def start(self, *args):
        p = subprocess.run([os.path.join(harness.BIN, "dealdeskd"), "--db",
                            os.path.join(self.dir, "db")] + list(args),
                           capture_output=True, text=True, timeout=120)
        out = p.stdout + p.stderr
        for r in SANITIZER_REPORTS:
            self.assertNotIn(r, out)
        self.assertEqual(p.returncode, 1, out[-4000:])
        self.assertNotIn("dealdeskd ready", out)
        return out

    def test_port_in_use(self):
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            addr = "127.0.0.1:%d" % taken.getsockname()[1]
            out = self.start("--listen", addr, "--threads", "3", "--demo")
        self.assertIn("cannot listen on " + addr, out)
        self.assertIn("demo dataset loaded", out)  # it got that far

    def test_unbindable_address(self):
        addr = "unix:" + os.path.join(self.dir, "no-such-dir", "dealdesk.sock")
        out = self.start("--listen", addr)
        self.assertIn("cannot listen on " + addr, out)

    def test_store_cannot_open(self):
        out = self.start("--db", "/dev/null/db")
        self.assertIn("cannot open the store", out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
