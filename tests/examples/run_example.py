"""Runs a client example (examples/python or examples/node) against a real
dealdeskd with the demo data and authentication on, the way a new user
would after scripts/demo.sh: a checkout token in DEALDESK_TOKEN, the server
in DEALDESK_SERVER. The example quotes and commits an order; this checks
its output and that the order it printed is stored as printed.

    run_example.py python|node

node: the packages come from npm (`npm ci` from the committed
package-lock.json into DD_BIN_DIR/examples/node). When npm cannot reach its
registry the test exits 77, which ctest reports as skipped
(SKIP_RETURN_CODE); any other failure fails it.
"""
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "integration"))
import harness  # noqa: E402

SKIP = 77


def node_setup(env):
    """npm ci into the build tree; returns the command, or exits 77."""
    npm = shutil.which("npm")
    if npm is None:
        print("npm is not installed (scripts/bootstrap.sh installs nodejs npm)")
        sys.exit(1)
    src = os.path.join(harness.SRC, "examples", "node")
    work = os.path.join(harness.BIN, "examples", "node")
    os.makedirs(work, exist_ok=True)
    for f in ("package.json", "package-lock.json", "quote_and_commit.js"):
        shutil.copy(os.path.join(src, f), work)
    p = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=work, capture_output=True,
                       text=True, timeout=600)
    if p.returncode != 0:
        ping = subprocess.run([npm, "ping"], cwd=work, capture_output=True, text=True,
                              timeout=120)
        if ping.returncode != 0:
            print("SKIP: npm cannot reach its registry:\n" + ping.stdout + ping.stderr)
            sys.exit(SKIP)
        print("npm ci failed:\n" + p.stdout + p.stderr)
        sys.exit(1)
    env["DEALDESK_PROTO_DIR"] = os.path.join(harness.SRC, "proto")
    return ["node", os.path.join(work, "quote_and_commit.js")]


def python_setup(env):
    stubs = os.path.join(harness.BIN, "examples", "python", "gen")
    if not os.path.exists(os.path.join(stubs, "dealdesk", "v1", "orders_pb2_grpc.py")):
        print("no stubs in %s: build the python_stubs target" % stubs)
        sys.exit(1)
    env["PYTHONPATH"] = stubs
    return ["/usr/bin/python3", os.path.join(harness.SRC, "examples", "python",
                                             "quote_and_commit.py")]


def main():
    lang = sys.argv[1]
    env = dict(os.environ)
    cmd = node_setup(env) if lang == "node" else python_setup(env)
    s = harness.Server(auth=True)
    try:
        env["DEALDESK_SERVER"] = s.addr
        env["DEALDESK_TOKEN"] = s.token("checkout", "example-" + lang)
        order_id = "example-%s-1" % lang
        p = subprocess.run(cmd + [order_id], env=env, capture_output=True, text=True,
                           timeout=120)
        print(p.stdout + p.stderr)
        assert p.returncode == 0, "the example failed"
        quote = re.search(r"^quote: total (\d+\.\d\d) USD \(discount (\d+\.\d\d)\), "
                          r"credit CREDIT_OUTCOME_APPROVE$", p.stdout, re.M)
        assert quote, "no quote line"
        assert re.search(r"^  WIDGET-1\s+x3\s+\d+\.\d\d$", p.stdout, re.M), "no WIDGET-1 line"
        assert re.search(r"^  CABLE-3\s+x5\s+\d+\.\d\d$", p.stdout, re.M), "no CABLE-3 line"
        line = "committed order %s: state ORDER_STATE_OPEN, total %s USD" % (order_id,
                                                                           quote.group(1))
        assert line in p.stdout, "no commit line: " + line
        # the order is stored as the example printed it
        O = harness.stubs()["orders_pb2"]
        o = s.orders.GetOrder(O.OrderKey(order_id=order_id), timeout=30)
        assert o.state == O.ORDER_STATE_OPEN
        assert "%d.%02d" % (o.total // 100, o.total % 100) == quote.group(1), o.total
        assert o.customer_id == "acme"
        # a second run with the same id is the same order (idempotent commit)
        again = subprocess.run(cmd + [order_id], env=env, capture_output=True, text=True,
                               timeout=120)
        assert again.returncode == 0 and line in again.stdout, again.stdout + again.stderr
        # and without a token the server refuses it
        env.pop("DEALDESK_TOKEN")
        denied = subprocess.run(cmd + [order_id + "-x"], env=env, capture_output=True,
                                text=True, timeout=120)
        assert denied.returncode == 1 and "UNAUTHENTICATED" in denied.stderr, \
            denied.stdout + denied.stderr
    finally:
        code = s.stop()
        s.cleanup()
    assert code == 0, "dealdeskd exited %d" % code
    print("ok: the %s example quoted and committed %s" % (lang, order_id))


if __name__ == "__main__":
    main()
