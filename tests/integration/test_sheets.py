"""Spreadsheet round trips through the CLI: CSV import and export of price
lists, promotions, customers with credit profiles, and receivables.

Every bad row is reported (line, column, reason) and a file with any bad row
imports nothing, with or without --dry-run; a key twice names both lines;
amounts in major units are converted exactly per currency; an export loads
into a fresh server as the very same records, and exports again to the same
bytes; a promotion file that does not say `enabled` is refused."""
import json
import os
import subprocess

import harness

m = harness.stubs()
A, T = m["admin_pb2"], m["types_pb2"]
PRICE_HEADER = "price_list_id,sku,currency,unit_price,unit_cost,name\n"


class SheetsTest(harness.CliTestCase):
    def prices(self, sku):
        r = self.s.catalog.ListPriceEntries(A.ListPriceEntriesRequest(sku=sku), timeout=30)
        return {(e.sku, e.currency, e.price_list_id): e for e in r.entries}

    def test_amounts_exact_per_currency(self):
        path = self.write("ok.csv", PRICE_HEADER +
                          "l1,AMT-1,USD,12.34,0.5,\"Lamp, \"\"desk\"\"\"\n"
                          "l1,AMT-1,JPY,1234,700,ランプ\n"
                          "l1,AMT-1,KWD,1.234,0.001,\"two\nlines\"\n")
        out = self.run_cli("prices", "load", "--dry-run", path).stdout
        self.assertEqual(out, "dry run: %s: 3 price entries checked, no problems; "
                              "nothing was sent\n" % path)
        self.assertEqual(self.prices("AMT-1"), {})
        self.assertIn("loaded 3 price entries in 1 call", self.run_cli("prices", "load", path).stdout)
        p = self.prices("AMT-1")
        self.assertEqual([(k[1], e.unit_price, e.unit_cost, e.name) for k, e in sorted(p.items())],
                         [("JPY", 1234, 700, "ランプ"), ("KWD", 1234, 1, "two\nlines"),
                          ("USD", 1234, 50, 'Lamp, "desk"')])

    def test_every_bad_row_reported_nothing_loaded(self):
        text = (PRICE_HEADER +
                "l1,BAD-1,USD,12.34,,ok\n"          # 2 good
                "l1,BAD-2,USD,1.234,,x\n"           # 3 too many decimals: never rounded
                "l1,BAD-3,JPY,12.5,,x\n"            # 4
                "l1,BAD-4,KWD,1.2345,,x\n"          # 5
                "l1,BAD-1,USD,1.00,,dup\n"          # 6 duplicate of line 2
                "l1,BAD-5,XYZ,1,,x\n"               # 7 unknown currency
                "l1,BAD-6,USD\n"                    # 8 short row
                "l1,BAD-7,USD,-1.00,,x\n"           # 9 negative (model validation)
                ",BAD-8,USD,1.00,,x\n"              # 10 empty key column
                "l1,BAD-9,USD,abc,,x\n")            # 11
        path = self.write("bad.csv", text)
        for args in (["--dry-run", path], [path]):
            p = self.run_cli("prices", "load", *args, expect=2)
            err = p.stderr
            for want in [
                    "line 3, column unit_price: '1.234' is not an amount in USD (at most 2 decimal places)",
                    "line 4, column unit_price: '12.5' is not an amount in JPY (at most 0 decimal places)",
                    "line 5, column unit_price: '1.2345' is not an amount in KWD (at most 3 decimal places)",
                    "line 6: duplicate key (sku BAD-1, currency USD, price_list_id l1): the same "
                    "price entry as line 2",
                    "line 7, column currency: 'XYZ' is not an ISO 4217 currency code",
                    "line 8: 3 fields, the header has 6",
                    "line 9: unit_price",
                    "line 10, column price_list_id: empty (required)",
                    "line 11, column unit_price: 'abc' is not an amount in USD"]:
                self.assertIn(want, err)
            self.assertEqual(err.count("bad.csv: line "), 9, err)
            self.assertIn("9 problems in 10 rows; nothing was", err)
            self.assertEqual(p.stdout, "")
            # not even the good row
            self.assertEqual(self.prices("BAD-1"), {})

    def test_malformed_files(self):
        cases = [(b"price_list_id,sku,currency,unit_price\nl1,U\xff,USD,1.00\n",
                  "line 2: invalid UTF-8"),
                 (b"price_list_id,sku,currency,unit_price\nl1,\"open,USD,1.00\n",
                  "line 2: quoted field is not closed"),
                 (b"price_list_id,sku,currency,unit_price,colour\n", "unknown column 'colour'"),
                 (b"price_list_id,sku,unit_price\n", "the header has no currency column"),
                 (b"", "empty file")]
        for i, (data, want) in enumerate(cases):
            path = os.path.join(self.tmp, "m%d.csv" % i)
            with open(path, "wb") as f:
                f.write(data)
            self.assertIn(want, self.run_cli("prices", "load", path, expect=2).stderr)

    def test_promotion_without_enabled_is_refused(self):
        j = self.write("p.json", json.dumps([
            {"id": "NOEN-1", "kind": "PERCENTAGE", "percent_bps": 500},
            {"id": "NOEN-2", "kind": "PERCENTAGE", "percent_bps": 500, "enabled": False},
            {"id": "NOEN-3", "kind": "PERCENTAGE", "percent_bps": 500}]))
        err = self.run_cli("promotions", "load", j, expect=2).stderr
        self.assertIn("promotions[0]: enabled: missing; say true or false", err)
        self.assertIn("promotions[2]: enabled: missing", err)
        self.assertNotIn("promotions[1]", err)
        j = self.write("dup.json", json.dumps([
            {"id": "DUP-1", "kind": "PERCENTAGE", "percent_bps": 500, "enabled": True},
            {"id": "DUP-2", "kind": "PERCENTAGE", "percent_bps": 500, "enabled": True},
            {"id": "DUP-1", "kind": "PERCENTAGE", "percent_bps": 600, "enabled": True}]))
        err = self.run_cli("promotions", "load", "--dry-run", j, expect=2).stderr
        self.assertIn("promotions[2]: duplicate id 'DUP-1': the same promotion as promotions[0]",
                      err)
        c = self.write("p.csv", "id,kind,percent_bps\nNOEN-4,PERCENTAGE,500\n")
        self.assertIn("the header has no enabled column (required for every promotion: "
                      "say true or false", self.run_cli("promotions", "load", c, expect=2).stderr)
        c = self.write("p2.csv", "id,kind,percent_bps,enabled\nNOEN-5,PERCENTAGE,500,\n"
                                 "NOEN-6,PERCENTAGE,500,maybe\n")
        err = self.run_cli("promotions", "load", c, expect=2).stderr
        self.assertIn("line 2, column enabled: empty (required: write true or false)", err)
        self.assertIn("line 3, column enabled: 'maybe' is not true or false", err)
        r = self.s.catalog.ListPromotions(A.ListPromotionsRequest(), timeout=30)
        self.assertEqual([p.id for p in r.promotions if p.id.startswith("NOEN")], [])
        # an explicit false loads disabled
        c = self.write("p3.csv", "id,kind,percent_bps,enabled,categories,currency,min_amount\n"
                                 "NOEN-7,PERCENTAGE,500,false,hardware;books,USD,12.50\n")
        self.run_cli("promotions", "load", c)
        p = self.s.catalog.GetPromotion(A.PromotionKey(id="NOEN-7"), timeout=30)
        self.assertEqual((p.enabled, list(p.categories), p.min_amount),
                         (False, ["hardware", "books"], 1250))

    def test_customers_with_credit_profiles(self):
        c = self.write("c.csv", "id,name,credit.currency,credit.credit_limit,credit.tier,"
                                "credit.hold,credit.standard_terms_days\n"
                                "cust-a,A Co,KWD,1500.125,B,false,30\n"
                                "cust-b,B Co,,,,,\n"
                                "cust-c,C Co,USD,10.001,A,perhaps,x\n"
                                "cust-a,again,USD,1,A,true,30\n")
        err = self.run_cli("customers", "load", "--dry-run", c, expect=2).stderr
        self.assertIn("line 4, column credit.credit_limit: '10.001' is not an amount in USD", err)
        self.assertIn("line 4, column credit.hold: 'perhaps' is not true or false", err)
        self.assertIn("line 4, column credit.standard_terms_days: 'x' is not an integer", err)
        self.assertIn("line 5: duplicate key (id cust-a): the same customer as line 2", err)
        c = self.write("c2.csv", "id,name,credit.currency,credit.credit_limit,credit.tier\n"
                                 "cust-a,A Co,KWD,1500.125,B\ncust-b,B Co,,,\n")
        self.run_cli("customers", "load", c)
        a = self.s.customers.GetCustomer(A.CustomerKey(id="cust-a"), timeout=30)
        self.assertEqual((a.credit.currency, a.credit.credit_limit, a.credit.tier),
                         ("KWD", 1500125, "B"))
        b = self.s.customers.GetCustomer(A.CustomerKey(id="cust-b"), timeout=30)
        self.assertFalse(b.HasField("credit"))

    def test_receivables_every_problem(self):
        head = "invoice_id,customer_id,currency,amount,open_amount,issued_at,due_at\n"
        p = self.run_cli("orders", "receivables-load", "--dry-run", self.write("ar.csv", head +
                         "AR-1,bolt,USD,100.00,40.50,0,0\n"
                         "AR-2,bolt,JPY,100.5,,0,0\n"
                         "AR-1,bolt,USD,1.00,,0,0\n"
                         "AR-3,bolt,USD,1.00,,soon,0\n"), expect=2)
        self.assertIn("line 3, column amount: '100.5' is not an amount in JPY", p.stderr)
        self.assertIn("line 4: duplicate key (invoice_id AR-1): the same open item as line 2",
                      p.stderr)
        self.assertIn("line 5, column issued_at: 'soon' is not an integer", p.stderr)
        ok = self.write("ar2.csv", head + "AR-9,bolt,KWD,1.234,,0,0\n")
        self.assertIn("dry run: %s: 1 open item checked" % ok,
                      self.run_cli("orders", "receivables-load", "--dry-run", ok).stdout)

    def test_export_reimports_to_identical_data(self):
        # something of every shape: quotes, commas, new lines, UTF-8, lists,
        # JSON arrays, local times, a credit profile and none
        self.run_cli("promotions", "load", self.write("rt.json", json.dumps([{
            "id": "RT-1", "name": "Zwölf, \"quoted\"\nsecond line", "kind": "SPEND_THRESHOLD",
            "currency": "KWD", "tiers": [{"threshold": 10000, "amount": 1250}],
            "channels": ["web", "store"], "enabled": True, "time_zone": "Europe/Berlin",
            "valid_from_local": "2026-12-01T00:00", "condition": "return ctx.total > 0",
            "max_discount": 5001}])))
        self.run_cli("customers", "load", self.write("rtc.json", json.dumps([{
            "id": "rt-cust", "name": " padded ", "credit": {"currency": "JPY",
                                                            "credit_limit": 123456}}])))
        head = "invoice_id,customer_id,currency,amount,open_amount,issued_at,due_at\n"
        self.run_cli("orders", "receivables-load", self.write("rt-ar.csv", head +
                     "RT-AR-1,bolt,USD,100.00,40.50,%d,%d\n"
                     "RT-AR-2,tokyo,JPY,5000,,%d,%d\n"
                     "RT-AR-3,kuwait,KWD,1.234,0,%d,%d\n"
                     % (harness.T0, harness.T0 + 86400, harness.T0, harness.T0 + 2,
                        harness.T0, harness.T0 + 3)))
        O = m["orders_pb2"]
        # the demo data again, plus what the export brings
        fresh = harness.Server()
        try:
            for kind, lister, field in [
                    ("prices", lambda s: s.catalog.ListPriceEntries(
                        A.ListPriceEntriesRequest(page=A.PageRequest(page_size=1000))), "entries"),
                    ("promotions", lambda s: s.catalog.ListPromotions(
                        A.ListPromotionsRequest(page=A.PageRequest(page_size=1000))), "promotions"),
                    ("customers", lambda s: s.customers.ListCustomers(
                        A.ListCustomersRequest(page=A.PageRequest(page_size=1000))), "customers"),
                    ("receivables", lambda s: s.orders.ListInvoices(
                        O.ListInvoicesRequest(receivables_only=True,
                                              page=A.PageRequest(page_size=1000))), "invoices")]:
                path = os.path.join(self.tmp, "export-%s.csv" % kind)
                cmd = ["orders", "receivables-export"] if kind == "receivables" else [kind, "export"]
                load = ["orders", "receivables-load"] if kind == "receivables" else [kind, "load"]
                p = self.run_cli(*cmd, path)
                original = lister(self.s)
                n = len(getattr(original, field))
                self.assertGreaterEqual(n, 3)
                self.assertIn("exported %d " % n, p.stderr)
                with open(path, "rb") as f:
                    first = f.read()
                to_stdout = subprocess.run([os.path.join(harness.BIN, "dealdesk"), "--server",
                                            self.s.addr] + cmd,
                                           capture_output=True, timeout=60)
                self.assertEqual(first, to_stdout.stdout)
                q = subprocess.run([os.path.join(harness.BIN, "dealdesk"), "--server",
                                    fresh.addr] + load + [path],
                                   capture_output=True, text=True, timeout=60)
                self.assertEqual(q.returncode, 0, q.stderr)
                again = lister(fresh)
                self.assertEqual([x.SerializeToString() for x in getattr(again, field)],
                                 [x.SerializeToString() for x in getattr(original, field)], kind)
                q = subprocess.run([os.path.join(harness.BIN, "dealdesk"), "--server",
                                    fresh.addr] + cmd,
                                   capture_output=True, timeout=60)
                self.assertEqual(q.stdout, first, kind)
        finally:
            self.assertEqual(fresh.stop(), 0)
            fresh.cleanup()


if __name__ == "__main__":
    import unittest
    unittest.main()
