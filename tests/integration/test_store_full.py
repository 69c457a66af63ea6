"""A full store is RESOURCE_EXHAUSTED with the cause and the remedy.

Two causes: the LMDB map (--map-size 1M, the smallest the server takes) and
the disk (the database on a 600 KiB tmpfs, which needs root to mount; the
test is skipped without). In both the server keeps serving, and every write
it acknowledged is there, none it refused.
"""
import os
import subprocess
import tempfile
import unittest

import grpc

import harness


def fill(s, prefix):
    """PutCustomers in batches until the store refuses; returns the ids
    acknowledged and the error."""
    A = harness.stubs()["admin_pb2"]
    T = harness.stubs()["types_pb2"]
    acked = []
    for b in range(1000):
        batch = ["%s-%04d-%03d" % (prefix, b, i) for i in range(200)]
        req = A.PutCustomersRequest(customers=[T.Customer(id=c, name="n" * 200) for c in batch])
        try:
            s.customers.PutCustomers(req, timeout=30)
        except grpc.RpcError as e:
            return acked, e
        acked += batch
    raise AssertionError("the store never filled up")


def listed(s):
    A = harness.stubs()["admin_pb2"]
    ids, token = [], ""
    while True:
        r = s.customers.ListCustomers(A.ListCustomersRequest(
            page=A.PageRequest(page_size=1000, page_token=token)), timeout=30)
        ids += [c.id for c in r.customers]
        token = r.next_page_token
        if not token:
            return ids


class StoreFullTest(unittest.TestCase):
    def check_full(self, s, prefix, words):
        acked, e = fill(s, prefix)
        self.assertGreater(len(acked), 0)
        self.assertEqual(e.code(), grpc.StatusCode.RESOURCE_EXHAUSTED, e.details())
        for w in words:
            self.assertIn(w, e.details())
        # still serving: health, reads, and exactly what was acknowledged
        H = harness.stubs()["health_pb2"]
        self.assertEqual(s.health(H.HealthCheckRequest(), timeout=10).status, 1)
        self.assertEqual(sorted(x for x in listed(s) if x.startswith(prefix)), sorted(acked))
        self.assertIn(words[0], s.read_log())

    def test_map_full(self):
        s = harness.Server("--map-size", "1M", demo=False)
        try:
            self.check_full(s, "m", ["store map full (map size 1 MiB", "raise --map-size"])
        finally:
            self.assertEqual(s.stop(), 0)
            s.cleanup()

    def test_disk_full(self):
        mnt = tempfile.mkdtemp(prefix="dd-tmpfs-")
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", mnt],
                           capture_output=True, text=True)
        if p.returncode != 0:
            os.rmdir(mnt)
            self.skipTest("cannot mount a tmpfs (needs root): " + p.stderr.strip())
        s = None
        try:
            s = harness.Server("--map-size", "64M", demo=False, db=os.path.join(mnt, "db"))
            self.check_full(s, "d", ["disk full: the store " + os.path.join(mnt, "db"),
                                     "No space left on device", "free space"])
        finally:
            if s is not None:
                self.assertEqual(s.stop(), 0)
                s.cleanup()
            subprocess.run(["umount", mnt])
            os.rmdir(mnt)


if __name__ == "__main__":
    unittest.main()
