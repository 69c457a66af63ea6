"""dealdesk backup: a consistent compacted copy taken while orders commit,
restored by starting dealdeskd on it.

Four clients commit orders without pause; the backup is taken in the middle.
Every order acknowledged before the backup call began is in the copy,
byte for byte; the copy holds no order that was never acknowledged; its
counters agree with its orders (VerifyCounters on the restored server); and
the response's data version and table counts are what the restored server
holds. Also: the CLI, refusing a non-empty directory and a relative path.
"""
import os
import shutil
import subprocess
import tempfile
import threading
import unittest

import grpc

import harness

m = harness.stubs()
Q, A, O, B = m["quote_pb2"], m["admin_pb2"], m["orders_pb2"], m["backup_pb2"]

CUSTOMERS = [("acme", "USD"), ("cashonly", "USD"), ("tokyo", "JPY"), ("kuwait", "KWD")]


def all_orders(s):
    out, token = {}, ""
    while True:
        r = s.orders.ListOrders(O.ListOrdersRequest(
            page=A.PageRequest(page_size=1000, page_token=token)), timeout=60)
        for o in r.orders:
            out[o.order_id] = o.SerializeToString()
        token = r.next_page_token
        if not token:
            return out


class BackupTest(unittest.TestCase):
    def setUp(self):
        self.s = harness.Server()
        self.tmp = tempfile.mkdtemp(prefix="dd-backup-")

    def tearDown(self):
        self.assertEqual(self.s.stop(), 0)
        self.s.cleanup()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_backup_under_load_and_restore(self):
        acked, lock, stop = [], threading.Lock(), threading.Event()
        errors = []

        def committer(n, customer, currency):
            ch = self.s.open_channel()
            orders = m["orders_pb2_grpc"].OrderServiceStub(ch)
            i = 0
            while not stop.is_set():
                oid = "bk-%d-%05d" % (n, i)
                req = O.CommitRequest(order_id=oid, request=Q.QuoteRequest(
                    customer_id=customer, currency=currency, channel="web",
                    lines=[Q.LineRequest(sku="CABLE-3", quantity=1 + i % 3)]))
                try:
                    orders.Commit(req, timeout=60)
                except grpc.RpcError as e:
                    if e.code() == grpc.StatusCode.FAILED_PRECONDITION and "retry" in e.details():
                        continue  # the exposure moved under it: the same order again
                    errors.append("%s: %s %s" % (oid, e.code(), e.details()))
                    return
                with lock:
                    acked.append(oid)
                i += 1
            ch.close()

        threads = [threading.Thread(target=committer, args=(n, c, cur))
                   for n, (c, cur) in enumerate(CUSTOMERS)]
        for t in threads:
            t.start()
        try:
            # wait until the load is under way: 100 orders acknowledged
            while True:
                with lock:
                    if len(acked) >= 100 or errors:
                        break
                threads[0].join(0.01)
            with lock:
                before = set(acked)
            original = {}
            bdir = os.path.join(self.tmp, "copy")
            resp = self.s.backup.Backup(B.BackupRequest(directory=bdir), timeout=120)
            with lock:
                during = len(acked) - len(before)
            # the load goes on after it too
            while True:
                with lock:
                    if len(acked) >= len(before) + during + 50 or errors:
                        break
                threads[0].join(0.01)
        finally:
            stop.set()
            for t in threads:
                t.join()
        self.assertEqual(errors, [])
        print("orders acknowledged: %d before the backup, %d while it ran, %d in all; "
              "the copy is at data version %d" % (len(before), during, len(acked),
                                                  resp.data_version))
        original = all_orders(self.s)
        self.assertEqual(set(original), set(acked))

        self.assertEqual(resp.directory, bdir)
        self.assertEqual(resp.file, os.path.join(bdir, "data.mdb"))
        self.assertEqual(os.listdir(bdir), ["data.mdb"])  # no lock file: a plain copy
        self.assertEqual(resp.bytes, os.path.getsize(resp.file))
        tables = {t.name: t.records for t in resp.tables}

        # restore: a server on the copy
        r = harness.Server(demo=False, db=bdir)
        try:
            restored = all_orders(r)
            # everything acknowledged before the backup began, byte for byte
            self.assertLessEqual(before, set(restored))
            for oid in before:
                self.assertEqual(restored[oid], original[oid], oid)
            # nothing that was never acknowledged; each one as acknowledged
            self.assertLessEqual(set(restored), set(acked))
            for oid, raw in restored.items():
                self.assertEqual(raw, original[oid], oid)
            self.assertEqual(tables["orders"], len(restored))
            v = r.orders.VerifyCounters(O.VerifyCountersRequest(), timeout=60)
            self.assertEqual(list(v.differences), [])
            self.assertEqual(v.orders, len(restored))
            self.assertEqual(v.data_version, resp.data_version)
            # the copy is a whole store: the demo catalogue and policies too
            self.assertEqual(tables["prices"], 18)
            q = r.quote.Quote(Q.QuoteRequest(customer_id="acme", currency="USD",
                                             lines=[Q.LineRequest(sku="WIDGET-1", quantity=1)]),
                              timeout=30)
            self.assertGreater(q.total, 0)
        finally:
            self.assertEqual(r.stop(), 0)
            r.cleanup()
        # the original's counters agree too
        v = self.s.orders.VerifyCounters(O.VerifyCountersRequest(), timeout=60)
        self.assertEqual(list(v.differences), [])

    def test_refusals_and_cli(self):
        with self.assertRaises(grpc.RpcError) as cm:
            self.s.backup.Backup(B.BackupRequest(directory="relative/dir"), timeout=30)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("directory: 'relative/dir' is not an absolute path", cm.exception.details())
        with self.assertRaises(grpc.RpcError) as cm:
            self.s.backup.Backup(B.BackupRequest(), timeout=30)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        busy = os.path.join(self.tmp, "busy")
        os.mkdir(busy)
        with open(os.path.join(busy, "x"), "w") as f:
            f.write("x")
        with self.assertRaises(grpc.RpcError) as cm:
            self.s.backup.Backup(B.BackupRequest(directory=busy), timeout=30)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.ALREADY_EXISTS)
        self.assertIn("is not empty", cm.exception.details())
        self.assertEqual(os.listdir(busy), ["x"])

        cli = [os.path.join(harness.BIN, "dealdesk"), "--server", self.s.addr, "backup"]
        # a relative DIR is the CLI's working directory
        p = subprocess.run(cli + ["rel"], capture_output=True, text=True, cwd=self.tmp,
                           timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        path = os.path.join(self.tmp, "rel", "data.mdb")
        self.assertIn("backup written: %s (%d bytes, compacted) at data version "
                      % (path, os.path.getsize(path)), p.stdout)
        self.assertIn("  prices         18\n", p.stdout)
        self.assertIn("restore: dealdeskd --db %s" % os.path.join(self.tmp, "rel"), p.stdout)
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o640)
        p = subprocess.run(cli + [os.path.join(self.tmp, "rel")], capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(p.returncode, 1)
        self.assertIn("error: ALREADY_EXISTS", p.stderr)


if __name__ == "__main__":
    unittest.main()
