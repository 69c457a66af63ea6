"""Integration tests of the `dealdesk` CLI against a real dealdeskd."""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402



class CliTest(harness.CliTestCase):

    def test_health(self):
        self.assertIn("SERVING", self.run_cli("health").stdout)

    def test_quote_text_and_json(self):
        args = ["quote", "--customer", "acme", "--currency", "USD", "--channel", "web",
                "--line", "WIDGET-1:3", "--line", "CABLE-3:5", "--line", "GADGET-2:4",
                "--time", str(harness.T0)]
        out = self.run_cli(*args).stdout
        self.assertIn("Total      286.02 USD", out)
        self.assertIn("DESK-BUNDLE", out)
        self.assertIn("APPROVE", out)
        j = json.loads(self.run_cli("--json", *args).stdout)
        self.assertEqual(j["total"], 28602)
        self.assertEqual(j["credit"]["outcome"], "CREDIT_OUTCOME_APPROVE")
        self.assertEqual([l["line_total"] for l in j["lines"]], [4957, 3649, 19996])

    def test_quote_from_file(self):
        path = self.write("req.json", json.dumps({
            "customer_id": "tokyo", "currency": "JPY", "request_time": harness.T0,
            "lines": [{"sku": "WIDGET-1", "quantity": 3}, {"sku": "CABLE-3", "quantity": 4},
                      {"sku": "MANUAL-4", "quantity": 2}]}))
        j = json.loads(self.run_cli("--json", "quote", "--file", path).stdout)
        self.assertEqual(j["total"], 19548)

    def test_quote_errors(self):
        p = self.run_cli("quote", "--customer", "nobody", "--currency", "USD",
                         "--line", "CABLE-3:1", expect=1)
        self.assertIn("error: NOT_FOUND: customer_id: customer 'nobody' not found", p.stderr)
        p = self.run_cli("quote", "--customer", "acme", "--currency", "USD",
                         "--line", "CABLE-3:0", expect=1)
        self.assertIn("INVALID_ARGUMENT", p.stderr)
        self.run_cli("quote", "--customer", "acme", expect=2)

    def test_prices_csv(self):
        path = self.write("prices.csv",
                          "price_list_id,sku,currency,unit_price,unit_cost,category,name\r\n"
                          "retail-usd,LAMP-1,USD,12.34,5.00,lighting,\"Lamp, desk\"\r\n"
                          "retail-jpy,LAMP-1,JPY,1500,700,lighting,Lamp\r\n"
                          "retail-kwd,LAMP-1,KWD,4.125,2.000,lighting,Lamp\r\n")
        out = self.run_cli("prices", "load", path).stdout
        self.assertIn("3", out)
        j = json.loads(self.run_cli("--json", "prices", "get", "LAMP-1", "KWD", "retail-kwd").stdout)
        self.assertEqual(j["unit_price"], 4125)
        j = json.loads(self.run_cli("--json", "quote", "--customer", "acme", "--currency", "USD",
                                    "--line", "LAMP-1:2").stdout)
        self.assertEqual(j["total"], 2468)
        bad = self.write("bad.csv", "price_list_id,sku,currency,unit_price\nx,LAMP-2,USD,1.234\n")
        p = self.run_cli("prices", "load", bad, expect=2)
        self.assertIn("unit_price", p.stderr)
        listing = self.run_cli("prices", "list", "--sku", "LAMP-1").stdout
        self.assertIn("retail-jpy", listing)

    def test_promotions_customers_checks_json(self):
        promos = self.write("promos.json", json.dumps([{
            "id": "LAMP-5OFF", "name": "5.00 off lamps", "kind": "FIXED_AMOUNT",
            "skus": ["LAMP-9"], "amount": 500, "currency": "USD", "enabled": True}]))
        self.run_cli("promotions", "load", promos)
        self.run_cli("prices", "load", self.write("p.csv", "price_list_id,sku,currency,unit_price\n"
                                                           "retail-usd,LAMP-9,USD,20.00\n"))
        customers = self.write("customers.json", json.dumps({"customers": [{
            "id": "newco", "name": "New Co", "customer_group": "retail",
            "credit": {"currency": "USD", "credit_limit": 100000, "standard_terms_days": 30,
                       "tier": "B"}}]}))
        self.run_cli("customers", "load", customers)
        checks = self.write("checks.json", json.dumps([{
            "id": "lamp-margin", "kind": "MIN_MARGIN", "bps": 9000, "on_fail": "WARN",
            "skus": ["LAMP-9"], "enabled": True, "description": "lamps keep 90%"}]))
        self.run_cli("checks", "load", checks)
        j = json.loads(self.run_cli("--json", "quote", "--customer", "newco", "--currency", "USD",
                                    "--line", "LAMP-9:2", "--time", str(harness.T0)).stdout)
        self.assertEqual(j["total"], 3000)
        self.assertEqual(j["credit"]["outcome"], "CREDIT_OUTCOME_APPROVE")
        # unit cost unknown: the margin check cannot pass
        lamp = [c for c in j["compliance"] if c["check_id"] == "lamp-margin"]
        self.assertEqual(lamp[0]["status"], "COMPLIANCE_STATUS_WARN")
        self.assertIn("newco", self.run_cli("customers", "list").stdout)
        self.run_cli("promotions", "delete", "LAMP-5OFF")
        self.run_cli("promotions", "get", "LAMP-5OFF", expect=1)
        bad = self.write("badpromo.json", json.dumps([{"id": "B", "kind": "NOPE"}]))
        self.assertIn("kind", self.run_cli("promotions", "load", bad, expect=2).stderr)

    def test_policy_upload_activate(self):
        src = open(os.path.join(harness.SRC, "policies", "pricing.lua")).read()
        src = src.replace("wholesale = 1000", "wholesale = 1000, retail = 500")
        path = self.write("pricing.lua", src)
        out = self.run_cli("policy", "upload", "--kind", "pricing", path, "--author", "fin",
                           "--activate").stdout
        self.assertIn("2", out)
        j = json.loads(self.run_cli("--json", "quote", "--customer", "acme", "--currency", "USD",
                                    "--line", "MANUAL-4:1").stdout)
        self.assertEqual(j["lines"][0]["unit_price"], 2375)  # 25.00 less 5 %
        self.assertEqual(j["versions"]["pricing_policy"], 2)
        self.run_cli("policy", "activate", "--kind", "pricing", "--version", "1", "--actor", "fin")
        j = json.loads(self.run_cli("--json", "quote", "--customer", "acme", "--currency", "USD",
                                    "--line", "MANUAL-4:1").stdout)
        self.assertEqual(j["lines"][0]["unit_price"], 2500)
        bad = self.write("bad.lua", "function price(ctx) return {")
        p = self.run_cli("policy", "upload", "--kind", "pricing", bad, expect=1)
        self.assertIn("INVALID_ARGUMENT", p.stderr)
        self.assertIn("pricing", self.run_cli("policy", "list").stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
