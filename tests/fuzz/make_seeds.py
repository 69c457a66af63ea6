#!/usr/bin/env python3
"""Writes the hand-made seeds of tests/fuzz/corpus/ (request: protobuf via
`protoc --encode`; json, csv, readers, ddlib: text). Run from anywhere;
it overwrites only the files it names (seeds found by fuzzing, named by
their SHA-1, stay). The seeds are committed: this is how they were made."""
import os
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
CORPUS = os.path.join(HERE, "corpus")

# request: TYPES order of fuzz_request.c
REQ = ["QuoteRequest", "CommitRequest", "PutPriceEntriesRequest", "PutPromotionsRequest",
       "PutCustomersRequest", "PutComplianceChecksRequest", "PutSkuSignalsRequest",
       "PutCouponsRequest", "PriceEntryKey", "UploadPolicyRequest", "ReviewPolicyRequest",
       "ActivatePolicyRequest", "CreateTokenRequest", "RevokeTokenRequest",
       "OrderDecisionRequest", "RecordPaymentRequest", "PutReceivablesRequest",
       "ListPriceEntriesRequest", "ListOrdersRequest", "grpc.health.v1.HealthCheckRequest"]
PROTOS = ["dealdesk/v1/types.proto", "dealdesk/v1/quote.proto", "dealdesk/v1/admin.proto",
          "dealdesk/v1/orders.proto", "grpc/health/v1/health.proto"]


def encode(msg, text):
    full = msg if "." in msg else "dealdesk.v1." + msg
    return subprocess.run(["protoc", "--encode=" + full, "-I" + os.path.join(ROOT, "proto")]
                          + PROTOS, input=text.encode(), capture_output=True,
                          check=True).stdout


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


LINE = 'lines { sku: "SKU-1" quantity: 2 }'
QUOTE = ('customer_id: "C-1" currency: "EUR" channel: "web" region: "EU" ' + LINE +
         ' lines { sku: "SKU-2" quantity: 1 } coupon_codes: "SPRING" '
         'attributes { key: "ab" value: "b" } request_time: 1767225600 explain: true')
request_seeds = {
    "quote-valid": ("QuoteRequest", QUOTE),
    "quote-minimal": ("QuoteRequest", 'customer_id: "C" currency: "JPY" ' + LINE),
    "quote-no-lines": ("QuoteRequest", 'customer_id: "C-1" currency: "EUR"'),
    "quote-bad-currency": ("QuoteRequest", 'customer_id: "C-1" currency: "EURO" ' + LINE),
    "quote-zero-quantity": ("QuoteRequest", 'customer_id: "C-1" currency: "EUR" lines { sku: "A" quantity: 0 }'),
    "quote-huge-quantity": ("QuoteRequest", 'customer_id: "C-1" currency: "EUR" lines { sku: "A" quantity: 9223372036854775807 }'),
    "quote-negative-time": ("QuoteRequest", 'customer_id: "C-1" currency: "EUR" request_time: -1 ' + LINE),
    "quote-long-sku": ("QuoteRequest", 'customer_id: "C-1" currency: "EUR" lines { sku: "' + "S" * 65 + '" quantity: 1 }'),
    "quote-utf8": ("QuoteRequest", 'customer_id: "C-\\303\\251" currency: "EUR" lines { sku: "\\342\\202\\254" quantity: 1 }'),
    "quote-bad-utf8": ("QuoteRequest", 'customer_id: "C-\\303" currency: "EUR" ' + LINE),
    "quote-nul": ("QuoteRequest", 'customer_id: "C\\000x" currency: "EUR" ' + LINE),
    "quote-many-coupons": ("QuoteRequest", 'customer_id: "C" currency: "EUR" ' + LINE + ' coupon_codes: "A"' * 21),
    "quote-many-lines": ("QuoteRequest", 'customer_id: "C" currency: "EUR" ' + ' lines { sku: "A" quantity: 1 }' * 501),
    "commit-valid": ("CommitRequest", 'order_id: "O-1" request { ' + QUOTE + ' } expected_total: 1000'),
    "commit-mismatch": ("CommitRequest", 'order_id: "O-1" request { order_id: "O-2" customer_id: "C" currency: "EUR" ' + LINE + ' }'),
    "commit-no-request": ("CommitRequest", 'order_id: "O-1"'),
    "put-prices": ("PutPriceEntriesRequest", 'entries { price_list_id: "list" sku: "SKU-1" currency: "EUR" unit_price: 1999 unit_cost: 1000 category: "c" rounding: ROUNDING_MODE_HALF_EVEN floor_price: 100 ceiling_price: 5000 min_quantity: 1 } entries { sku: "SKU-2" currency: "JPY" unit_price: -1 }'),
    "put-promotions": ("PutPromotionsRequest", 'promotions { id: "P1" name: "ten" kind: PROMOTION_KIND_PERCENTAGE percent_bps: 1000 skus: "SKU-1" enabled: true valid_from: 0 valid_to: 1900000000 }'),
    "put-promotion-tz": ("PutPromotionsRequest", 'promotions { id: "P2" kind: PROMOTION_KIND_FIXED_AMOUNT amount: 100 currency: "EUR" time_zone: "Europe/Paris" valid_from_local: "2026-03-29T02:30" valid_to_local: "2026-12-31T23:59:59" enabled: true }'),
    "put-promotion-condition": ("PutPromotionsRequest", 'promotions { id: "P3" kind: PROMOTION_KIND_BUNDLE bundle_items { sku: "A" quantity: 2 } bundle_price: 500 currency: "EUR" condition: "return ctx.total > 100" enabled: true }'),
    "put-promotion-bad-condition": ("PutPromotionsRequest", 'promotions { id: "P4" kind: PROMOTION_KIND_CUSTOM custom_kind: "x" condition: "while true do end" }'),
    "put-promotion-experiment": ("PutPromotionsRequest", 'promotions { id: "P5" kind: PROMOTION_KIND_PERCENTAGE experiment_id: "E" arms { name: "a" weight: 1 percent_bps: 500 } arms { name: "b" weight: 4294967295 control: true } tiers { threshold: 100 amount: 10 } }'),
    "put-customers": ("PutCustomersRequest", 'customers { id: "C-1" name: "Acme" customer_group: "b2b" segment: "smb" credit { currency: "EUR" credit_limit: 100000 standard_terms_days: 30 tier: "A" } }'),
    "put-checks": ("PutComplianceChecksRequest", 'checks { id: "M" kind: CHECK_KIND_MIN_MARGIN bps: 1500 on_fail: COMPLIANCE_STATUS_BLOCK skus: "SKU-1" enabled: true }'),
    "put-signals": ("PutSkuSignalsRequest", 'signals { sku: "SKU-1" inventory_on_hand: 10 demand_per_week: 3 competitor_prices { competitor: "x" currency: "EUR" price: 1800 observed_at: 1767225600 } }'),
    "put-coupons": ("PutCouponsRequest", 'coupons { code: "SPRING" promotion_id: "P1" max_uses: 100 max_uses_per_customer: 1 enabled: true }'),
    "put-empty": ("PutCouponsRequest", ''),
    "delete-price": ("PriceEntryKey", 'sku: "SKU-1" currency: "EUR" price_list_id: "list"'),
    "delete-price-missing": ("PriceEntryKey", 'sku: "SKU-1"'),
    "upload-policy": ("UploadPolicyRequest", 'kind: POLICY_KIND_PRICING source: "function price(ctx)\\n  return nil\\nend\\n" author: "a" comment: "c"'),
    "upload-policy-loop": ("UploadPolicyRequest", 'kind: POLICY_KIND_CREDIT source: "while true do end"'),
    "upload-policy-syntax": ("UploadPolicyRequest", 'kind: POLICY_KIND_COMPLIANCE source: "function check(ctx"'),
    "upload-policy-kind0": ("UploadPolicyRequest", 'source: "x = 1"'),
    "review-policy": ("ReviewPolicyRequest", 'kind: POLICY_KIND_PROMOTIONS version: 3 actor: "r" comment: "ok"'),
    "activate-policy": ("ActivatePolicyRequest", 'kind: POLICY_KIND_PRICING version: 18446744073709551615 actor: "a"'),
    "create-token": ("CreateTokenRequest", 'name: "ci.bot@x" role: "checkout"'),
    "create-token-bad": ("CreateTokenRequest", 'name: "a b" role: "root"'),
    "revoke-token": ("RevokeTokenRequest", 'name: "ci.bot@x"'),
    "order-decision": ("OrderDecisionRequest", 'order_id: "O-1" actor: "f" comment: "released"'),
    "payment": ("RecordPaymentRequest", 'invoice_id: "I-1" amount: 500 time: 1767225600 payment_id: "PAY-1"'),
    "payment-negative": ("RecordPaymentRequest", 'invoice_id: "I-1" amount: -5'),
    "receivables": ("PutReceivablesRequest", 'invoices { invoice_id: "I-1" customer_id: "C-1" currency: "EUR" amount: 1000 open_amount: 400 issued_at: 1767225600 due_at: 1769817600 payments { payment_id: "p" amount: 600 } }'),
    "list-prices": ("ListPriceEntriesRequest", 'sku: "SKU-1" page { page_size: 10 page_token: "abc" }'),
    "list-orders": ("ListOrdersRequest", 'customer_id: "C-1" from_time: 1 to_time: 2 page { page_size: 1000 }'),
    "health": ("grpc.health.v1.HealthCheckRequest", 'service: "dealdesk.v1.QuoteService"'),
}


def varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


# json: TYPES order of fuzz_json.c
JSON_TYPES = ["QuoteRequest", "CommitRequest", "PutPriceEntriesRequest", "PutPromotionsRequest",
              "PutCustomersRequest", "PutComplianceChecksRequest", "PutSkuSignalsRequest",
              "PutCouponsRequest", "PutReceivablesRequest", "UploadPolicyRequest",
              "QuoteResponse"]
QJ = ('{"customer_id": "C-1", "currency": "EUR", "channel": "web", "lines": '
      '[{"sku": "SKU-1", "quantity": 2}, {"sku": "SKU-2", "quantity": "3"}], '
      '"coupon_codes": ["SPRING"], "attributes": {"ab": "b", "k": ""}, '
      '"requestTime": 1767225600, "explain": true}')
json_seeds = {
    "quote-valid": ("QuoteRequest", QJ),
    "quote-camel-and-snake": ("QuoteRequest", '{"customer_id": "a", "customerId": "b"}'),
    "quote-null": ("QuoteRequest", '{"customer_id": null, "lines": null, "attributes": null}'),
    "quote-int-limits": ("QuoteRequest", '{"request_time": -9223372036854775808, "lines": [{"quantity": 9223372036854775807}]}'),
    "quote-int-too-big": ("QuoteRequest", '{"request_time": 9223372036854775808}'),
    "quote-uint-too-big": ("QuoteRequest", '{"request_time": 18446744073709551616}'),
    "quote-float": ("QuoteRequest", '{"lines": [{"quantity": 1.0}], "request_time": 1e3}'),
    "quote-escapes": ("QuoteRequest", '{"customer_id": "\\u00e9\\ud83d\\ude00\\n\\"\\\\\\/"}'),
    "quote-lone-surrogate": ("QuoteRequest", '{"customer_id": "\\ud800"}'),
    "quote-nul-escape": ("QuoteRequest", '{"customer_id": "a\\u0000b"}'),
    "quote-unknown": ("QuoteRequest", '{"nope": 1}'),
    "quote-trailing": ("QuoteRequest", '{} {}'),
    "quote-deep": ("QuoteRequest", '[' * 40 + ']' * 40),
    "quote-bool-string": ("QuoteRequest", '{"explain": "true"}'),
    "quote-bad-utf8": ("QuoteRequest", b'{"customer_id": "\xc3"}'),
    "commit-valid": ("CommitRequest", '{"order_id": "O-1", "request": ' + QJ + ', "expected_total": "1000"}'),
    "prices": ("PutPriceEntriesRequest", '{"entries": [{"price_list_id": "list", "sku": "SKU-1", "currency": "EUR", "unit_price": 1999, "rounding": "half_even", "floor_price": 100}, {"sku": "S", "currency": "XXX", "unit_price": -1, "rounding": 2}]}'),
    "prices-enum-bad": ("PutPriceEntriesRequest", '{"entries": [{"rounding": "ROUNDING_MODE_SIDEWAYS"}]}'),
    "promotions": ("PutPromotionsRequest", '{"promotions": [{"id": "P1", "kind": "PROMOTION_KIND_PERCENTAGE", "percentBps": 1000, "skus": ["SKU-1"], "enabled": true, "time_zone": "Europe/Paris", "valid_from_local": "2026-03-29T02:30", "arms": [{"name": "a", "weight": 4294967295}], "tiers": [{"threshold": 1, "amount": 2}], "condition": "return true"}]}'),
    "customers": ("PutCustomersRequest", '{"customers": [{"id": "C-1", "name": "Acme", "credit": {"currency": "EUR", "credit_limit": 100000, "hold": false, "score": -2147483648}}]}'),
    "checks": ("PutComplianceChecksRequest", '{"checks": [{"id": "M", "kind": "min_margin", "bps": 1500, "on_fail": "BLOCK", "skus": []}]}'),
    "signals": ("PutSkuSignalsRequest", '{"signals": [{"sku": "S", "inventory_on_hand": 5, "competitor_prices": [{"competitor": "x", "currency": "EUR", "price": 10}]}]}'),
    "coupons": ("PutCouponsRequest", '{"coupons": [{"code": "SPRING", "promotion_id": "P1", "max_uses": 10, "enabled": true}]}'),
    "receivables": ("PutReceivablesRequest", '{"invoices": [{"invoice_id": "I-1", "customer_id": "C", "currency": "EUR", "amount": 10, "payments": [{"payment_id": "p", "amount": 5}]}]}'),
    "upload": ("UploadPolicyRequest", '{"kind": "pricing", "source": "function price(ctx) return nil end", "author": "a"}'),
    "response": ("QuoteResponse", '{"decision_id": "d", "currency": "EUR", "lines": [{"line_no": 1, "sku": "S", "quantity": 1, "unit_price": 5, "discounts": [{"promotion_id": "P", "amount": 1}]}], "total": 4, "credit": {"reasons": ["x"]}, "trace": [{"stage": "s", "rule": "r", "applied": true}]}'),
    "array-top": ("PutCouponsRequest", '[{"code": "X"}]'),
    "empty": ("QuoteRequest", ''),
    "number-top": ("QuoteRequest", '-0'),
    "bom": ("QuoteRequest", b'\xef\xbb\xbf{}'),
}

CSV_SEEDS = {
    "prices": "sku,currency,unit_price,price_list_id\r\nSKU-1,EUR,19.99,list\r\nSKU-2,JPY,100,\r\n",
    "quoted": 'sku,name\n"A,1","say ""hi"""\n"multi\nline",x\n',
    "bom-blank-lines": "\ufeffa,b\n\n\r\n1,2\r\r3,4",
    "empty-fields": ",,\n,\n",
    "trailing-comma": "a,b,\n1,2,\n",
    "quote-inside": 'a,b"c\n',
    "text-after-quote": '"a"b,c\n',
    "unterminated": '"abc\n',
    "nul": "a,b\x00,c\n",
    "bad-utf8": b"a,\xff\n",
    "utf8": "\u00e9,\u20ac,\U0001F600\n",
    "header-spaces": " SKU ,\tCurrency\t, unit_price\n",
    "lone-cr": "a\rb\rc",
    "only-quotes": '""\n""""\n',
    "no-newline": "a,b",
}

READERS_SEEDS = {
    # byte 0 >= 64: no injected failures; then build() ops (fuzz_readers.c)
    "nil": bytes([200, 0]),
    "int": bytes([200, 3]) + struct.pack("<q", -5),
    "float": bytes([200, 5]) + struct.pack("<d", 2.0),
    "string": bytes([200, 6, 5]) + b"hello",
    "bad-utf8": bytes([200, 6, 4]) + b"a\xc3\x00b",
    "long-string": bytes([200, 11, 200, 7, 0xe2, 0x82, 0xac]),
    "price-entry": bytes([200, 8, 1, 9, 2, 7, 0, 4, 50, 7, 1, 6, 3]) + b"why",
    "credit": bytes([200, 9, 3, 7, 2, 6, 7]) + b"DEPOSIT" + bytes([7, 3, 4, 30, 7, 4, 3]) + struct.pack("<q", 1 << 62),
    "discount": bytes([200, 9, 4, 7, 6, 6, 2]) + b"P1" + bytes([7, 7, 6, 10]) + b"PERCENTAGE" + bytes([7, 8, 4, 10, 7, 9, 11, 1, 0, 0xc3, 0xa9, 0x41]),
    "trapped": bytes([200, 10, 2, 7, 0, 4, 1, 7, 1, 12]),
    "userdata": bytes([200, 12]),
    "nested": bytes([200, 8, 3, 8, 2, 8, 1, 4, 1, 9, 1, 7, 17, 6, 1]) + b"x" + bytes([10, 0]),
    "nan-key": bytes([200, 9, 1, 5]) + struct.pack("<d", float("nan")) + bytes([1]),
    "oom-early": bytes([0, 9, 3, 7, 0, 4, 1, 7, 1, 6, 2]) + b"ok" + bytes([7, 2, 6, 5]) + b"DEPOSIT",
    "oom-late": bytes([40, 8, 4, 9, 2, 7, 0, 4, 1, 7, 1, 11, 1, 0, 0x41, 0x42, 0x43, 9, 1, 7, 17, 6, 1]) + b"P",
    "results": bytes([200, 8, 2, 9, 3, 7, 17, 6, 1]) + b"M" + bytes([7, 18, 6, 4]) + b"WARN" + bytes([7, 19, 4, 200]),
}

DDLIB_SEEDS = {
    "add": "function f(ctx, d) return { unit_price = dd.add(ctx.total, 5) } end",
    "overflow": "function f(ctx) return dd.add(ctx.total, 6) end",
    "sub-min": "function f(ctx, d) return dd.sub(d.min, 1) end",
    "mul": "function f() return dd.mul(3037000500, 3037000500) end",
    "muldiv": "function f() return dd.muldiv(7, 3, 2, 'half_up'), dd.muldiv(-7, 3, 2, 'down'), dd.muldiv(1, 1, 0) end",
    "muldiv-mode": "function f() return dd.muldiv(1, 2, 3, 'sideways') end",
    "bps": "function f(ctx) return { unit_price = dd.bps(ctx.total, 10000, 'up'), reason = dd.format(12345, 2) } end",
    "bps-float": "function f() return dd.bps(100.0, 5) end",
    "allocate": "function f(ctx, d) local a = dd.allocate(100, d.weights) return a[1] + a[2] end",
    "allocate-caps": "function f() return dd.allocate(10, {1, 1, 1}, {2, 3, 100}) end",
    "allocate-caps-short": "function f() return dd.allocate(10, {1, 1}, {2, 3}) end",
    "allocate-big": "function f() local w = {} for i = 1, 1001 do w[i] = 1 end return dd.allocate(5, w) end",
    "allocate-meta": "function f() local w = setmetatable({}, {__index = function() return 1 end, __len = function() return 1e9 end}) return dd.allocate(5, w) end",
    "allocate-max": "function f() local w = {} for i = 1, 1000 do w[i] = i end local c = {} for i = 1, 1000 do c[i] = 9223372036854775807 end return dd.allocate(9223372036854775807, w, c) end",
    "format": "function f() return dd.format(-9223372036854775808, 18) .. dd.format(5, 0) end",
    "format-bad": "function f() return dd.format(1, 19) end",
    "exponent": "function f() return dd.exponent('JPY'), dd.exponent('EUR'), dd.exponent('XYZ'), dd.exponent('EU') end",
    "exponent-type": "function f() return dd.exponent(978) end",
    "view": "function f(ctx) local n = 0 for i = 1, #ctx.lines do n = n + ctx.lines[i].quantity end return { unit_price = n, reason = ctx.lines[2].sku .. ctx.customer } end",
    "view-write": "function f(ctx) ctx.total = 1 end",
    "view-kept": "local kept\nfunction f(ctx) local old = kept kept = ctx.lines[1] if old then return old.sku end end",
    "proxy": "function f(ctx, d) local s = 0 for k, v in pairs(d) do s = s + 1 end d.x = 1 return s end",
    "pcall-budget": "function f() while true do pcall(function() while true do end end) end end",
    "string-rep": "function f() return string.rep('x', 1 << 30) end",
    "gsub": "function f() return (string.rep('a', 5000)):gsub('a*a*a*a*b', '') end",
    "concat": "function f() local t = setmetatable({}, {__index = string.len}) return table.concat(t, ',', 1, 1 << 40) end",
    "metatable-result": "function f() return setmetatable({}, {__index = function() error('x') end, __newindex = function() error('y') end}) end",
    "error-table": "function f() error({}) end",
    "error-utf8": "function f() error('\\xff\\xfe' .. string.rep('\\xe2\\x82\\xac', 300)) end",
    "top-level-loop": "while true do end",
    "syntax": "function f(",
    "env": "function f() return _ENV end",
    "memory": "local t = {} for i = 1, 1e7 do t[i] = i end",
    "sort": "function f() local t = {} for i = 1, 3000 do t[i] = string.rep('k', 100) .. i end table.sort(t) return t[1] end",
    "utf8": "function f() return utf8.char(0x10FFFF, 0x7FFFFFFF) end",
    "many-results": "function f() local t = {} for i = 1, 50000 do t[i] = { unit_price = i } end return t end",
}

# policy: byte 0 = kind - 1 (pricing, promotions, credit, compliance), then the source
ENTRY = {0: "price(ctx)", 1: "apply(ctx, promotions)", 2: "decide(ctx, credit)", 3: "check(ctx, checks)"}
POLICY_SEEDS = {
    "meta-newindex": (0, "function price(ctx) setmetatable(ctx, {__newindex = function() error('x') end}) return nil end"),
    "lines-zero": (0, "function price(ctx) ctx.lines = 0 return nil end"),
    "lines-index": (3, "function check(ctx, checks) ctx.lines[1] = 0 return {} end"),
    "upvalue-state": (0, "local n = 0\nfunction price(ctx) n = n + 1 return { [1] = { unit_price = 1000 + n, reason = 'n' .. n } } end"),
    "upvalue-table": (2, "local seen = {}\nfunction decide(ctx, credit) seen[#seen + 1] = 1 return { outcome = #seen > 1 and 'REVIEW' or 'APPROVE' } end"),
    "bad-utf8-reason": (0, "function price(ctx) return { { unit_price = 5, reason = '\\xff\\xfe' .. string.rep('\\xe2\\x82\\xac', 200) } } end"),
    "bad-utf8-error": (2, "function decide(ctx, credit) error(string.rep('\\xe2\\x82\\xac', 170) .. '\\xe2') end"),
    "bad-utf8-trace": (1, "function apply(ctx, promotions) dd.trace('\\xc3', '\\xff', 'x') return nil end"),
    "huge-result": (3, "function check(ctx, checks) local t = {} for i = 1, 100000 do t[i] = { check = 'margin', status = 'PASS' } end return t end"),
    "result-meta": (2, "function decide(ctx, credit) return setmetatable({}, {__index = function() while true do end end}) end"),
    "result-types": (1, "function apply(ctx, promotions) return { discounts = { { promotion = 'P1', amount = 1.5 } }, gifts = 'x', notes = { 1, 2 } } end"),
    "negative-price": (0, "function price(ctx) return { { unit_price = -1 } } end"),
    "max-price": (0, "function price(ctx) return { { unit_price = math.maxinteger }, { unit_price = math.maxinteger } } end"),
    "deposit-over": (2, "function decide(ctx, credit) return { outcome = 'DEPOSIT', deposit = math.maxinteger, terms_days = 366, reasons = { 'a', 1, {} } } end"),
    "hoard": (1, "local keep = {}\nfunction apply(ctx, promotions) for i = 1, 100 do pcall(function() keep[#keep + 1] = string.rep('x', 1 << 20) end) end return nil end"),
    "concat-cfunc": (3, "function check(ctx, checks) local t = setmetatable({}, {__index = string.len}) return { { check = table.concat(t, '', 1, 1 << 40), status = 'PASS' } } end"),
    "sort-long": (0, "function price(ctx) local t = {} for i = 1, 2000 do t[i] = string.rep('z', 1000) .. i end table.sort(t) return nil end"),
    "pcall-kill": (2, "function decide(ctx, credit) while true do pcall(error) end end"),
    "shared-meta": (0, "function price(ctx) local mt = getmetatable('') if mt then mt.__index = nil end return nil end"),
    "view-kept": (1, "local old\nfunction apply(ctx, promotions) local o = old old = ctx.lines[1] if o then return { notes = { { promotion = 'P1', message = tostring(o.sku) } } } end end"),
    "no-entry": (3, "x = 1"),
    "compliance-results": (3, "function check(ctx, checks) return { { check = 'margin', status = 'BLOCK', message = 'm', line = 0, value = 1, limit = 2 }, { check = 'margin', status = 'BOGUS' } } end"),
}


def main():
    for name, (msg, text) in request_seeds.items():
        write("request", name, bytes([REQ.index(msg)]) + encode(msg, text))
    # wire-level edge cases the text format cannot say
    q = REQ.index("QuoteRequest")
    write("request", "wire-truncated", bytes([q]) + encode("QuoteRequest", QUOTE)[:-3])
    write("request", "wire-bad-length", bytes([q, 0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x41]))
    write("request", "wire-group", bytes([q, 0x0B, 0x0C]))
    write("request", "wire-long-varint", bytes([q, 0x38]) + b"\xff" * 10 + b"\x01")
    write("request", "wire-unknown-field", bytes([q]) + varint((99 << 3) | 2) + b"\x03abc"
          + encode("QuoteRequest", QUOTE))
    write("request", "wire-packed-attrs", bytes([q]) + b"\x42\x00" * 70)
    nest = b""
    for _ in range(20):
        nest = b"\x12" + varint(len(nest)) + nest  # CommitRequest.request, nested
    write("request", "wire-deep", bytes([REQ.index("PutPromotionsRequest")]) +
          b"\x0a" + varint(len(nest)) + nest)
    for name, (msg, text) in json_seeds.items():
        write("json", name, bytes([JSON_TYPES.index(msg)]) +
              (text if isinstance(text, bytes) else text.encode()))
    for name, text in CSV_SEEDS.items():
        write("csv", name, text)
    for name, data in READERS_SEEDS.items():
        write("readers", name, data)
    for name, text in DDLIB_SEEDS.items():
        write("ddlib", name, text)
    for i, name in enumerate(["pricing", "promotions", "credit", "compliance"]):
        with open(os.path.join(ROOT, "policies", name + ".lua"), "rb") as f:
            write("policy", "shipped-" + name, bytes([i]) + f.read())
    for name, (kind, text) in POLICY_SEEDS.items():
        write("policy", name, bytes([kind]) + text.encode())
    print("seeds written")


if __name__ == "__main__":
    sys.exit(main())
