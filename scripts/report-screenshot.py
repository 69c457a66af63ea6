#!/usr/bin/python3
"""Makes docs/report.png, the README's picture of `dealdesk report --html`:
a server on a fresh database with 60 customers ordering over twelve weeks
(invoices, payments, an A/B experiment), the report written, and a
screenshot of it taken by headless Chromium. Run from the source tree after
a build: /usr/bin/python3 scripts/report-screenshot.py [BUILD_DIR]."""
import os
import random
import subprocess
import sys
import tempfile

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("DD_SOURCE_DIR", SRC)
os.environ.setdefault("DD_BIN_DIR", os.path.abspath(sys.argv[1] if len(sys.argv) > 1
                                                    else os.path.join(SRC, "build")))
sys.path.insert(0, os.path.join(SRC, "tests", "integration"))
import harness  # noqa: E402

m = harness.stubs()
Q, T, A, O = m["quote_pb2"], m["types_pb2"], m["admin_pb2"], m["orders_pb2"]
DAY, T0 = 86400, harness.T0
rng = random.Random(7)
s = harness.Server(demo=False)
try:
    s.catalog.PutPriceEntries(A.PutPriceEntriesRequest(entries=[
        T.PriceEntry(price_list_id="usd", sku=k, currency="USD", unit_price=p, unit_cost=c,
                     category="x", rounding=T.ROUNDING_MODE_HALF_UP)
        for k, p, c in [("A", 12000, 7000), ("B", 4500, 2000)]]))
    cust = ["c%02d" % i for i in range(60)]
    s.customers.PutCustomers(A.PutCustomersRequest(customers=[
        T.Customer(id=c, customer_group="retail", credit=T.CreditProfile(
            currency="USD", credit_limit=10**12, standard_terms_days=30, tier="A"))
        for c in cust]))
    s.catalog.PutPromotions(A.PutPromotionsRequest(promotions=[
        T.Promotion(id="SPRING", name="SPRING", kind=T.PROMOTION_KIND_PERCENTAGE, skus=["A"],
                    percent_bps=500, enabled=True, experiment_id="spring-ab", currency="USD",
                    arms=[T.ExperimentArm(name="control", weight=1, control=True),
                          T.ExperimentArm(name="5-off", weight=1),
                          T.ExperimentArm(name="10-off", weight=1, percent_bps=1000)])]))
    n = 0
    for c in cust:
        t = T0 + rng.randrange(0, 84) * DAY
        s.quote.Quote(Q.QuoteRequest(customer_id=c, currency="USD", request_time=t,
                                     lines=[Q.LineRequest(sku="A", quantity=1)]), timeout=30)
        for _ in range(rng.choice([0, 1, 1, 2, 3, 5])):
            t = T0 + rng.randrange(0, 84) * DAY
            oid = "o%04d" % n
            n += 1
            s.orders.Commit(O.CommitRequest(order_id=oid, request=Q.QuoteRequest(
                customer_id=c, currency="USD", channel=rng.choice(["web", "store"]),
                request_time=t, lines=[Q.LineRequest(sku="A", quantity=rng.randint(1, 3)),
                                       Q.LineRequest(sku="B", quantity=rng.randint(0, 4) or 1)])),
                timeout=30)
            inv = s.orders.Invoice(O.InvoiceRequest(order_id=oid, invoice_time=t + DAY), timeout=30)
            if rng.random() < 0.8:
                s.orders.RecordPayment(O.RecordPaymentRequest(
                    invoice_id=oid, amount=inv.amount, time=t + rng.randrange(5, 50) * DAY,
                    payment_id="p" + oid), timeout=30)
    out = tempfile.mkdtemp(prefix="dd-shot-")
    html = os.path.join(out, "report.html")
    subprocess.run([os.path.join(harness.BIN, "dealdesk"), "--server", s.addr, "report",
                    "--html", html, "--currency", "USD", "--from", str(T0),
                    "--to", str(T0 + 84 * DAY), "--period", "month"], check=True)
    png = os.path.join(out, "report.png")
    subprocess.run(["/usr/bin/chromium", "--headless", "--disable-gpu", "--no-sandbox",
                    "--user-data-dir=" + os.path.join(out, "profile"), "--hide-scrollbars",
                    "--window-size=1000,1900", "--screenshot=" + png, "file://" + html],
                   check=True, capture_output=True)
    print(png)
finally:
    s.stop()
    s.cleanup()
