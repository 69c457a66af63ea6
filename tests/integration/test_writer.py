"""Integration test of the writer thread: many clients write at once while
others quote; every write is answered with a version of its own, every
acknowledged write is there afterwards, and all of it survives a restart."""
import os
import re
import signal
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
SC = grpc.StatusCode

WRITERS = 12
PUTS = 30
QUOTERS = 3
QUOTES = 40
POLICY_UPLOADS = 6
SANITIZER_REPORTS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def quote_req():
    return Q.QuoteRequest(customer_id="acme", currency="USD", channel="web",
                          lines=[Q.LineRequest(sku=s, quantity=q)
                                 for s, q in [("WIDGET-1", 3), ("CABLE-3", 5), ("GADGET-2", 4)]],
                          request_time=harness.T0)


def customer(cid):
    return T.Customer(id=cid, name="name of " + cid, credit=T.CreditProfile(currency="USD"))


class WriterTest(unittest.TestCase):
    def test_concurrent_writes_quotes_restart(self):
        s = harness.Server("--threads", "2")
        s2 = None
        try:
            lock = threading.Lock()
            acked = {}        # customer id -> data_version of its put
            deleted = {}      # customer id -> data_version of its delete
            versions = []     # every acknowledged version
            failures = []     # unexpected errors
            totals = []
            policy_versions = []
            base = s.quote.Quote(quote_req()).versions.data_version

            def writer(t):
                for i in range(PUTS):
                    cid = "wr%02d-%03d" % (t, i)
                    try:
                        r = s.customers.PutCustomers(A.PutCustomersRequest(
                            customers=[customer(cid)]), timeout=60)
                        with lock:
                            acked[cid] = r.data_version
                            versions.append(r.data_version)
                        if i % 10 == 9:  # delete an earlier one of ours
                            old = "wr%02d-%03d" % (t, i - 5)
                            d = s.customers.DeleteCustomer(A.CustomerKey(id=old), timeout=60)
                            with lock:
                                deleted[old] = d.data_version
                                versions.append(d.data_version)
                    except grpc.RpcError as e:
                        failures.append((cid, e.code(), e.details()))
                    # refused at once, on the worker: never reaches the writer
                    if i % 7 == 0:
                        try:
                            s.customers.PutCustomers(A.PutCustomersRequest(
                                customers=[customer("")]), timeout=60)
                            failures.append((cid, "empty id accepted"))
                        except grpc.RpcError as e:
                            if e.code() != SC.INVALID_ARGUMENT:
                                failures.append((cid, e.code(), e.details()))
                    # refused by the writer (nothing to delete): alone
                    if i % 11 == 0:
                        try:
                            s.customers.DeleteCustomer(A.CustomerKey(id="ghost-%d" % t))
                            failures.append((cid, "ghost deleted"))
                        except grpc.RpcError as e:
                            if e.code() != SC.NOT_FOUND:
                                failures.append((cid, e.code(), e.details()))

            def quoter():
                for _ in range(QUOTES):
                    try:
                        totals.append(s.quote.Quote(quote_req(), timeout=60).total)
                    except grpc.RpcError as e:
                        failures.append(("quote", e.code(), e.details()))

            src = open(os.path.join(harness.SRC, "policies", "credit.lua")).read()

            def uploader():
                try:
                    p = s.policies.UploadPolicy(A.UploadPolicyRequest(
                        kind=T.POLICY_KIND_CREDIT, source=src, author="fin"), timeout=60)
                    with lock:
                        policy_versions.append(p.version)
                except grpc.RpcError as e:
                    failures.append(("upload", e.code(), e.details()))

            threads = ([threading.Thread(target=writer, args=(t,)) for t in range(WRITERS)]
                       + [threading.Thread(target=quoter) for _ in range(QUOTERS)]
                       + [threading.Thread(target=uploader) for _ in range(POLICY_UPLOADS)])
            for t in threads:
                t.start()
            for t in threads:
                t.join()

            self.assertEqual(failures, [])
            self.assertEqual(set(totals), {28602})
            self.assertEqual(len(totals), QUOTERS * QUOTES)
            # one version per acknowledged write, none reused
            self.assertEqual(len(acked), WRITERS * PUTS)
            self.assertEqual(len(versions), len(set(versions)))
            self.assertGreater(min(versions), base)
            # concurrent uploads are numbered one after another
            self.assertEqual(sorted(policy_versions), list(range(2, 2 + POLICY_UPLOADS)))
            # a quote after the last answer sees at least every version handed out
            self.assertGreaterEqual(s.quote.Quote(quote_req()).versions.data_version,
                                    max(versions))
            expected = set(acked) - set(deleted)
            self.assertEqual(self.customer_ids(s), expected)
            for cid in list(expected)[:10]:
                self.assertEqual(s.customers.GetCustomer(A.CustomerKey(id=cid)).name,
                                 "name of " + cid)

            db = s.db
            self.assertEqual(s.stop(), 0)
            log = s.read_log()
            for r in SANITIZER_REPORTS:
                self.assertNotIn(r, log)
            stats = re.search(r"writer: (\d+) write\(s\) in (\d+) commit\(s\)", log)
            self.assertIsNotNone(stats, log[-2000:])
            writes, commits = int(stats.group(1)), int(stats.group(2))
            self.assertGreaterEqual(writes, len(versions) + POLICY_UPLOADS)
            print("\n  writer: %d writes in %d commits" % (writes, commits), file=sys.stderr)

            # everything acknowledged is durable
            s2 = harness.Server("--db", db)
            self.assertEqual(self.customer_ids(s2), expected)
            self.assertGreaterEqual(s2.quote.Quote(quote_req()).versions.data_version,
                                    max(versions))
            lst = s2.policies.ListPolicies(A.ListPoliciesRequest(kind=T.POLICY_KIND_CREDIT))
            self.assertEqual(len(lst.policies), 1 + POLICY_UPLOADS)
        finally:
            if s.proc.poll() is None:
                s.stop()
            if s2 is not None:
                self.assertEqual(s2.stop(), 0)
                log2 = s2.read_log()
                s2.cleanup()
                for r in SANITIZER_REPORTS:
                    self.assertNotIn(r, log2)
            s.cleanup()

    def test_stop_during_writes(self):
        """SIGTERM while many writes are in flight: the server answers or
        refuses each, exits 0, and every write it acknowledged is there
        after a restart."""
        s = harness.Server("--threads", "2", demo=False)
        s2 = None
        try:
            lock = threading.Lock()
            acked = set()
            stop = threading.Event()

            def writer(t):
                i = 0
                while not stop.is_set():
                    cid = "wr%02d-%05d" % (t, i)
                    i += 1
                    try:
                        s.customers.PutCustomers(A.PutCustomersRequest(
                            customers=[customer(cid)]), timeout=30)
                        with lock:
                            acked.add(cid)
                    except grpc.RpcError:
                        return  # the server is going away

            threads = [threading.Thread(target=writer, args=(t,)) for t in range(8)]
            for t in threads:
                t.start()
            while len(acked) < 200:
                time.sleep(0.01)
            s.proc.send_signal(signal.SIGTERM)
            code = s.proc.wait(timeout=60)
            stop.set()
            for t in threads:
                t.join()
            self.assertEqual(code, 0, s.read_log()[-4000:])
            s.stop()
            log = s.read_log()
            for r in SANITIZER_REPORTS:
                self.assertNotIn(r, log)
            s2 = harness.Server("--db", s.db, demo=False)
            self.assertEqual(self.customer_ids(s2) & acked, acked)
        finally:
            if s.proc.poll() is None:
                s.stop()
            if s2 is not None:
                self.assertEqual(s2.stop(), 0)
                s2.cleanup()
            s.cleanup()

    @staticmethod
    def customer_ids(s):
        ids, token = set(), ""
        while True:
            r = s.customers.ListCustomers(A.ListCustomersRequest(
                page=A.PageRequest(page_size=1000, page_token=token)))
            ids.update(c.id for c in r.customers if c.id.startswith("wr"))
            token = r.next_page_token
            if not token:
                return ids


if __name__ == "__main__":
    unittest.main(verbosity=2)
