#!/usr/bin/env node
// dealdesk from Node.js: quote an order, then commit it.
//
// Uses @grpc/grpc-js and @grpc/proto-loader (npm ci here), loading the
// .proto files of the repository at run time:
//
//   cd examples/node && npm ci
//   DEALDESK_TOKEN=ddt_... node quote_and_commit.js [ORDER_ID]
//
// DEALDESK_SERVER (default 127.0.0.1:50051) is the server, DEALDESK_TOKEN a
// checkout token (scripts/demo.sh prints one), DEALDESK_PROTO_DIR the proto/
// folder (default: ../../proto from this file). The order is the demo's
// acme buying 3 WIDGET-1 and 5 CABLE-3 on the web, committed with the total
// the quote showed (expected_total).
'use strict';

const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const protoDir = process.env.DEALDESK_PROTO_DIR || path.join(__dirname, '..', '..', 'proto');
const server = process.env.DEALDESK_SERVER || '127.0.0.1:50051';
const token = process.env.DEALDESK_TOKEN || '';
const orderId = process.argv[2] || `node-${process.hrtime.bigint()}`;

// int64 as strings (exact), enums by name, defaults filled in
const definition = protoLoader.loadSync(
  ['dealdesk/v1/quote.proto', 'dealdesk/v1/orders.proto'],
  { includeDirs: [protoDir], longs: String, enums: String, defaults: true, keepCase: true });
const v1 = grpc.loadPackageDefinition(definition).dealdesk.v1;

function money(minor, exponent) {
  let n = BigInt(minor);
  const sign = n < 0n ? '-' : '';
  if (n < 0n) n = -n;
  if (exponent === 0) return sign + n.toString();
  const unit = 10n ** BigInt(exponent);
  return `${sign}${n / unit}.${(n % unit).toString().padStart(exponent, '0')}`;
}

function call(client, method, request) {
  const metadata = new grpc.Metadata();
  if (token) metadata.add('authorization', `Bearer ${token}`);
  return new Promise((resolve, reject) => {
    client[method](request, metadata, { deadline: Date.now() + 10000 },
      (err, response) => (err ? reject(err) : resolve(response)));
  });
}

async function main() {
  const creds = grpc.credentials.createInsecure();
  const quotes = new v1.QuoteService(server, creds);
  const orders = new v1.OrderService(server, creds);
  const request = {
    customer_id: 'acme', currency: 'USD', channel: 'web',
    lines: [{ sku: 'WIDGET-1', quantity: 3 }, { sku: 'CABLE-3', quantity: 5 }],
  };
  try {
    const q = await call(quotes, 'Quote', request);
    const exp = q.currency_exponent;
    for (const line of q.lines) {
      console.log(`  ${line.sku.padEnd(10)} x${String(line.quantity).padEnd(3)} ` +
                  `${money(line.line_total, exp).padStart(10)}`);
    }
    console.log(`quote: total ${money(q.total, exp)} ${q.currency} ` +
                `(discount ${money(q.discount_total, exp)}), credit ${q.credit.outcome}`);
    const o = await call(orders, 'Commit', {
      order_id: orderId, request: { ...request, order_id: orderId },
      expected_total: q.total, has_expected_total: true,
    });
    console.log(`committed order ${o.order_id}: state ${o.state}, ` +
                `total ${money(o.total, exp)} ${o.currency}`);
    return 0;
  } catch (err) {
    console.error(`error: ${grpc.status[err.code] || err.code}: ${err.details || err.message}`);
    return 1;
  } finally {
    quotes.close();
    orders.close();
  }
}

main().then((code) => { process.exitCode = code; });
