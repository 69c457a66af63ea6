"""Integration tests of `dealdesk signals` and `dealdesk coupons` against a
real dealdeskd."""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


HEADER = ("sku,inventory_on_hand,inventory_at,demand_per_week,demand_at,"
          "competitor,competitor_currency,competitor_price,competitor_observed_at\n")


class CliCatalogTest(harness.CliTestCase):
    cli_timeout = 120

    def get_json(self, *args):
        return json.loads(self.run_cli("--json", *args).stdout)

    # ---- signals -------------------------------------------------------------------

    def test_signals_csv_merges_rows_of_a_sku(self):
        # LAMP-1's rows are not adjacent; its second row leaves the SKU's own
        # columns empty and its third repeats them
        path = self.write("signals.csv", HEADER +
                          "LAMP-1,40,%d,12,%d,acme,USD,12.34,%d\n" % (harness.T0, harness.T0,
                                                                       harness.T0 - 60) +
                          "DESK-9,3,,1,,,,,\n"
                          "LAMP-1,,,,,tokyo-shop,JPY,1500,\n"
                          "LAMP-1,40,,12,,kuwait-mart,KWD,4.125,\n"
                          "\"CHAIR-2\", 7 , , , ,\"globex, inc\",USD, 0.99 ,\n")
        out = self.run_cli("signals", "load", path).stdout
        self.assertIn("loaded 3 SKU signals records in 1 call", out)

        lamp = self.get_json("signals", "get", "LAMP-1")
        self.assertEqual(lamp["sku"], "LAMP-1")
        self.assertEqual(lamp["inventory_on_hand"], 40)
        self.assertEqual(lamp["inventory_at"], harness.T0)
        self.assertEqual(lamp["demand_per_week"], 12)
        self.assertEqual(lamp["demand_at"], harness.T0)
        self.assertEqual(lamp["competitor_prices"], [
            {"competitor": "acme", "currency": "USD", "price": 1234,
             "observed_at": harness.T0 - 60},
            {"competitor": "tokyo-shop", "currency": "JPY", "price": 1500, "observed_at": 0},
            {"competitor": "kuwait-mart", "currency": "KWD", "price": 4125, "observed_at": 0},
        ])
        desk = self.get_json("signals", "get", "DESK-9")
        self.assertEqual((desk["inventory_on_hand"], desk["demand_per_week"]), (3, 1))
        self.assertEqual(desk["competitor_prices"], [])
        chair = self.get_json("signals", "get", "CHAIR-2")
        self.assertEqual(chair["inventory_on_hand"], 7)
        self.assertEqual([(c["competitor"], c["price"]) for c in chair["competitor_prices"]],
                         [("globex, inc", 99)])

        listing = self.run_cli("signals", "list").stdout
        self.assertIn("acme 12.34 USD, tokyo-shop 1500 JPY, kuwait-mart 4.125 KWD", listing)
        skus = [r["sku"] for r in self.get_json("signals", "list")["signals"]]
        self.assertTrue({"LAMP-1", "DESK-9", "CHAIR-2"} <= set(skus), skus)

        # a put replaces the record
        self.run_cli("signals", "load", self.write("again.csv", "sku,inventory_on_hand\n"
                                                               "LAMP-1,5\n"))
        lamp = self.get_json("signals", "get", "LAMP-1")
        self.assertEqual((lamp["inventory_on_hand"], lamp["competitor_prices"]), (5, []))

    def test_signals_json_list_delete(self):
        path = self.write("signals.json", json.dumps({"signals": [
            {"sku": "SIG-J1", "inventory_on_hand": 10, "demandPerWeek": "4",
             "competitor_prices": [{"competitor": "acme", "currency": "EUR", "price": 899,
                                    "observed_at": harness.T0}]},
            {"sku": "SIG-J2", "inventory_on_hand": 0}]}))
        j = self.get_json("signals", "load", path)
        self.assertEqual(j["count"], 2)
        self.assertGreater(j["data_version"], 0)
        j1 = self.get_json("signals", "get", "SIG-J1")
        self.assertEqual(j1["demand_per_week"], 4)
        self.assertEqual(j1["competitor_prices"][0]["price"], 899)
        # a bare array works too, and so does stdin
        self.run_cli("signals", "load", "-",
                     stdin=json.dumps([{"sku": "SIG-J3", "inventory_on_hand": 1}]))
        self.run_cli("signals", "load", "-", stdin="sku,demand_per_week\nSIG-J4,2\n")
        self.assertEqual(self.get_json("signals", "get", "SIG-J4")["demand_per_week"], 2)

        self.assertIn("SIG-J2", self.run_cli("signals", "list").stdout)
        out = self.run_cli("signals", "delete", "SIG-J2").stdout
        self.assertIn("deleted SKU signals record SIG-J2", out)
        p = self.run_cli("signals", "get", "SIG-J2", expect=1)
        self.assertIn("NOT_FOUND", p.stderr)
        self.run_cli("signals", "delete", "SIG-J2", expect=1)
        skus = [r["sku"] for r in self.get_json("signals", "list")["signals"]]
        self.assertNotIn("SIG-J2", skus)
        self.assertIn("SIG-J1", skus)

        # checked before sending: a price of 0 and an unknown currency
        bad = self.write("bad.json", json.dumps([
            {"sku": "SIG-J5"},
            {"sku": "SIG-J6", "competitor_prices": [{"competitor": "a", "currency": "USD",
                                                      "price": 0}]}]))
        p = self.run_cli("signals", "load", bad, expect=2)
        self.assertIn("signals[1].competitor_prices[0].price", p.stderr)
        bad = self.write("bad2.json", json.dumps([{"sku": "SIG-J7", "colour": "red"}]))
        self.assertIn("colour", self.run_cli("signals", "load", bad, expect=2).stderr)
        self.run_cli("signals", "get", "SIG-J5", expect=1)

    def test_signals_csv_batches(self):
        rows = "".join("BATCH-%04d,%d,,,,acme,USD,%d.%02d,\n" % (i, i, i + 1, i % 100)
                       for i in range(2500))
        out = self.run_cli("signals", "load", self.write("many.csv", HEADER + rows)).stdout
        self.assertIn("loaded 2500 SKU signals records in 3 calls", out)
        j = self.get_json("signals", "get", "BATCH-2499")
        self.assertEqual(j["inventory_on_hand"], 2499)
        self.assertEqual(j["competitor_prices"][0]["price"], 250099)

    def test_signals_bad_csv(self):
        cases = [
            # (file text, exit, what stderr names)
            (HEADER + "OK-1,1,,,,acme,USD,1.00,\nBAD-1,1,,,,acme,USD,12.345,\n",
             ["line 3, column competitor_price", "'12.345'", "USD", "2 decimal places"]),
            (HEADER + "BAD-2,1,,,,acme,JPY,1500.5,\n",
             ["line 2, column competitor_price", "JPY"]),
            (HEADER + "BAD-3,1,,,,acme,KWD,abc,\n", ["line 2, column competitor_price"]),
            (HEADER + "BAD-4,1,,,,acme,USD,-1.00,\n", ["line 2, column competitor_price"]),
            (HEADER + "BAD-5,1,,,,acme,XYZ,1.00,\n",
             ["line 2, column competitor_currency", "XYZ"]),
            (HEADER + "BAD-6,1,,,,acme,,1.00,\n", ["line 2, column competitor_currency"]),
            (HEADER + "BAD-7,1,,,,,USD,1.00,\n",
             ["line 2, column competitor_currency", "without a competitor"]),
            (HEADER + "BAD-8,-3,,,,,,,\n", ["line 2, column inventory_on_hand"]),
            (HEADER + "BAD-9,1,yesterday,,,,,,\n", ["line 2, column inventory_at"]),
            (HEADER + ",1,,,,,,,\n", ["line 2, column sku"]),
            (HEADER + "BAD-10,1,,,,,,\n", ["line 2", "8 fields"]),
            (HEADER + "BAD-11,1,,,,,,,\nBAD-11,2,,,,,,,\n",
             ["line 3, column inventory_on_hand", "line 2"]),
            ("sku,inventory_on_hand,colour\nBAD-12,1,red\n",
             ["line 1, column 3", "unknown column 'colour'"]),
            ("sku,sku\nBAD-13,BAD-13\n", ["line 1, column 2", "twice"]),
            ("inventory_on_hand\n1\n", ["no sku column"]),
            ("sku,competitor,competitor_currency\nBAD-14,acme,USD\n", ["competitor_price"]),
            ("sku,\"unterminated\nBAD-15\n", ["line 1"]),
            ("", ["empty"]),
            ("sku,competitor,competitor_currency,competitor_price\n" +
             "".join("BAD-16,c%d,USD,1\n" % i for i in range(101)),
             ["line 102", "more than 100"]),
        ]
        for i, (text, names) in enumerate(cases):
            with self.subTest(case=i):
                path = self.write("bad%d.csv" % i, text)
                p = self.run_cli("signals", "load", path, expect=2)
                self.assertEqual(p.stdout, "")
                self.assertIn(path, p.stderr)
                for name in names:
                    self.assertIn(name, p.stderr)
        # nothing was sent: not even the good row before the bad one
        self.run_cli("signals", "get", "OK-1", expect=1)

    # ---- coupons -------------------------------------------------------------------

    def test_coupons(self):
        path = self.write("coupons.json", json.dumps([
            {"code": "SPRING5", "promotion_id": "LAMP-5OFF", "max_uses": 100,
             "max_uses_per_customer": 1, "valid_from": harness.T0,
             "valid_to": harness.T0 + 86400, "enabled": True},
            {"code": "VIP-ACME", "promotionId": "LAMP-5OFF", "customer_id": "acme",
             "enabled": False}]))
        out = self.run_cli("coupons", "load", path).stdout
        self.assertIn("loaded 2 coupons in 1 call", out)
        j = self.get_json("coupons", "get", "SPRING5")
        self.assertEqual(j, {"code": "SPRING5", "promotion_id": "LAMP-5OFF", "max_uses": 100,
                             "max_uses_per_customer": 1, "valid_from": harness.T0,
                             "valid_to": harness.T0 + 86400, "customer_id": "",
                             "enabled": True})
        self.assertIn("\"customer_id\": \"acme\"", self.run_cli("coupons", "get", "VIP-ACME").stdout)
        self.run_cli("coupons", "load", self.write("more.json", json.dumps(
            {"coupons": [{"code": "SUMMER", "promotion_id": "P", "enabled": True}]})))

        listing = self.run_cli("coupons", "list").stdout
        self.assertIn("SPRING5", listing)
        self.assertIn("VIP-ACME", listing)
        self.assertIn("SUMMER", listing)
        codes = [c["code"] for c in self.get_json("coupons", "list")["coupons"]]
        self.assertTrue({"SPRING5", "VIP-ACME", "SUMMER"} <= set(codes), codes)

        self.assertIn("deleted coupon SUMMER", self.run_cli("coupons", "delete", "SUMMER").stdout)
        self.assertIn("NOT_FOUND", self.run_cli("coupons", "get", "SUMMER", expect=1).stderr)
        codes = [c["code"] for c in self.get_json("coupons", "list")["coupons"]]
        self.assertNotIn("SUMMER", codes)

    def test_coupons_bad_json(self):
        cases = [
            ("[{\"code\": \"X1\", \"promotion_id\": \"P\",", None),   # not JSON
            (json.dumps([{"code": "X2", "promotion_id": "P", "max_uses": "many"}]), "max_uses"),
            (json.dumps([{"code": "X3", "promotion_id": "P", "colour": "red"}]), "colour"),
            (json.dumps([{"code": "X4"}]), "promotion_id"),
            (json.dumps([{"code": "X5", "promotion_id": "P", "max_uses": -1}]), "max_uses"),
            (json.dumps([{"code": "X6", "promotion_id": "P", "valid_from": 10,
                          "valid_to": 5}]), "valid_to"),
            (json.dumps({"promotions": []}), "coupons"),
        ]
        for i, (text, name) in enumerate(cases):
            with self.subTest(case=i):
                p = self.run_cli("coupons", "load", self.write("badc%d.json" % i, text),
                                 expect=2)
                if name:
                    self.assertIn(name, p.stderr)
        for code in ["X2", "X3", "X4", "X5", "X6"]:
            self.run_cli("coupons", "get", code, expect=1)
        # a CSV is no coupon file
        self.run_cli("coupons", "load", self.write("c.csv", "code\nX7\n"), expect=2)

    def test_usage(self):
        self.assertIn("competitor_price", self.run_cli("signals", "--help").stdout)
        self.assertIn("get CODE", self.run_cli("coupons", "--help").stdout)
        top = self.run_cli("--help").stdout
        self.assertIn("signals", top)
        self.assertIn("coupons", top)
        self.run_cli("signals", "get", expect=2)
        self.run_cli("coupons", "frobnicate", expect=2)


if __name__ == "__main__":
    unittest.main(verbosity=2)
