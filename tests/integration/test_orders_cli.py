"""The CLI's orders and verify commands against a demo server."""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

T0 = harness.T0


class OrdersCliTest(harness.CliTestCase):
    def test_orders_lifecycle(self):
        args = ["orders", "commit", "--order-id", "w1", "--customer", "acme", "--currency", "USD",
                "--line", "WIDGET-1:3", "--coupon", "VIP20", "--line", "GADGET-2:1",
                "--time", str(T0)]
        out = self.run_cli(*args).stdout
        self.assertIn("w1  OPEN  customer acme", out)
        self.assertIn("coupons VIP20", out)
        self.assertEqual(self.run_cli(*args).stdout, out)  # the same order once
        p = self.run_cli(*(args[:-2] + ["--time", str(T0 + 1)]), expect=1)
        self.assertIn("ALREADY_EXISTS", p.stderr)
        p = self.run_cli("orders", "commit", "--order-id", "w2", "--customer", "acme",
                         "--currency", "USD", "--line", "WIDGET-1:1", "--expected-total", "5",
                         expect=1)
        self.assertIn("FAILED_PRECONDITION: expected_total", p.stderr)
        self.assertIn("not 5", p.stderr)
        o = json.loads(self.run_cli("--json", "orders", "get", "w1").stdout)
        self.assertEqual(o["state"], "ORDER_STATE_OPEN")
        # latepay (75 days overdue): REVIEW -> CREDIT_HOLD, released by finance
        self.run_cli("orders", "commit", "--order-id", "h1", "--customer", "latepay",
                     "--currency", "USD", "--line", "WIDGET-1:1")
        self.assertIn("h1  CREDIT_HOLD", self.run_cli("orders", "held").stdout)
        self.assertIn("h1  OPEN", self.run_cli("orders", "release", "h1", "--actor", "fin").stdout)
        self.assertNotIn("h1", self.run_cli("orders", "held").stdout)
        out = self.run_cli("orders", "invoice", "w1", "--time", str(T0)).stdout
        self.assertIn("invoice w1  order w1  customer acme", out)
        total = o["total"]
        out = self.run_cli("orders", "pay", "w1", "--amount", "100", "--payment-id", "p1",
                           "--time", str(T0 + 86400)).stdout
        self.assertIn("payment p1", out)
        inv = json.loads(self.run_cli("--json", "orders", "invoice-get", "w1", "--at",
                                      str(T0 + 100 * 86400)).stdout)
        self.assertEqual(int(inv["open_amount"]), total - 100)
        self.assertEqual(inv["overdue_days"], 70)
        self.assertEqual(len(self.run_cli("orders", "list", "--customer", "acme").stdout
                             .splitlines()), 2)  # the order and its credit reason
        self.assertIn("w1  INVOICED", self.run_cli("orders", "list", "--state", "INVOICED").stdout)
        p = self.run_cli("orders", "cancel", "w1", expect=1)
        self.assertIn("FAILED_PRECONDITION", p.stderr)
        self.assertIn("h1  CANCELLED", self.run_cli("orders", "cancel", "h1").stdout)
        # open items from an ERP: bolt's oldest is 100 days past due -> DECLINE
        path = self.write("ar.csv", "invoice_id,customer_id,currency,amount,open_amount,issued_at,due_at\n"
                          "ERP-1,bolt,USD,100.00,40.50,%d,%d\nERP-2,bolt,USD,5,,%d,%d\n"
                          % (T0 - 130 * 86400, T0 - 100 * 86400, T0, T0 + 30 * 86400))
        self.assertIn("loaded 2 open item(s)", self.run_cli("orders", "receivables-load", path).stdout)
        self.run_cli("orders", "receivables-load", path)  # a reload replaces them
        inv = json.loads(self.run_cli("--json", "orders", "invoice-get", "ERP-1", "--at",
                                      str(T0)).stdout)
        self.assertEqual((int(inv["open_amount"]), inv["overdue_days"]), (4050, 100))
        q = json.loads(self.run_cli("--json", "quote", "--customer", "bolt", "--currency", "USD",
                                    "--line", "CABLE-3:1", "--time", str(T0)).stdout)
        self.assertEqual(q["credit"]["outcome"], "CREDIT_OUTCOME_DECLINE")
        self.run_cli("orders", "pay", "ERP-1", "--amount", "4050", "--payment-id", "x1")
        q = json.loads(self.run_cli("--json", "quote", "--customer", "bolt", "--currency", "USD",
                                    "--line", "CABLE-3:1", "--time", str(T0)).stdout)
        self.assertNotEqual(q["credit"]["outcome"], "CREDIT_OUTCOME_DECLINE")
        p = self.run_cli("orders", "receivables-load", self.write("bad.csv",
                         "invoice_id,customer_id,currency,amount,issued_at,due_at\nE,bolt,USD,1.234,0,0\n"),
                         expect=2)
        self.assertIn("line 2, column amount", p.stderr)
        out = self.run_cli("verify").stdout
        self.assertIn("0 difference(s)", out)
        self.run_cli("orders", "frobnicate", expect=2)


if __name__ == "__main__":
    unittest.main()
