#!/usr/bin/python3
"""dealdesk from Python: quote an order, then commit it.

Uses Debian's python3-grpcio and stubs generated from proto/ with
python3-grpc-tools (the build does it: `cmake --build build --target
python_stubs` writes them to build/examples/python/gen; see README.md here).

    PYTHONPATH=build/examples/python/gen DEALDESK_TOKEN=ddt_... \\
        /usr/bin/python3 examples/python/quote_and_commit.py [ORDER_ID]

DEALDESK_SERVER (default 127.0.0.1:50051) is the server, DEALDESK_TOKEN a
checkout token (scripts/demo.sh prints one). The order is the demo's acme
buying 3 WIDGET-1 and 5 CABLE-3 on the web; it is committed with the total
the quote showed (expected_total), so the checkout never charges another.
"""
import os
import sys
import time

import grpc

from dealdesk.v1 import orders_pb2, orders_pb2_grpc, quote_pb2, quote_pb2_grpc


def money(amount, exponent):
    sign = "-" if amount < 0 else ""
    amount = abs(amount)
    if exponent == 0:
        return "%s%d" % (sign, amount)
    return "%s%d.%0*d" % (sign, amount // 10 ** exponent, exponent, amount % 10 ** exponent)


def main():
    server = os.environ.get("DEALDESK_SERVER", "127.0.0.1:50051")
    token = os.environ.get("DEALDESK_TOKEN", "")
    order_id = sys.argv[1] if len(sys.argv) > 1 else "py-%d" % time.time_ns()
    auth = (("authorization", "Bearer " + token),) if token else ()

    with grpc.insecure_channel(server) as channel:
        quotes = quote_pb2_grpc.QuoteServiceStub(channel)
        orders = orders_pb2_grpc.OrderServiceStub(channel)
        request = quote_pb2.QuoteRequest(
            customer_id="acme", currency="USD", channel="web",
            lines=[quote_pb2.LineRequest(sku="WIDGET-1", quantity=3),
                   quote_pb2.LineRequest(sku="CABLE-3", quantity=5)])
        try:
            q = quotes.Quote(request, metadata=auth, timeout=10)
            exp = q.currency_exponent
            for line in q.lines:
                print("  %-10s x%-3d %10s" % (line.sku, line.quantity,
                                              money(line.line_total, exp)))
            print("quote: total %s %s (discount %s), credit %s" % (
                money(q.total, exp), q.currency, money(q.discount_total, exp),
                quote_pb2.CreditOutcome.Name(q.credit.outcome)))

            request.order_id = order_id
            o = orders.Commit(orders_pb2.CommitRequest(order_id=order_id, request=request,
                                                       expected_total=q.total,
                                                       has_expected_total=True),
                              metadata=auth, timeout=10)
            print("committed order %s: state %s, total %s %s" % (
                o.order_id, orders_pb2.OrderState.Name(o.state), money(o.total, exp),
                o.currency))
        except grpc.RpcError as e:
            print("error: %s: %s" % (e.code().name, e.details()), file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
