/* Unit tests for src/server: the wire-level string checks, the one-pass
 * quote request decoder, the status
 * mapping, the configuration (file and settings), the method table's
 * roles and the deadline decision. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dealdesk/v1/admin.pb-c.h"
#include "dealdesk/v1/quote.pb-c.h"
#include "dealdesk/log.h"
#include "dealdesk/v1/orders.pb-c.h"
#include "google/rpc/error_details.pb-c.h"
#include "google/rpc/status.pb-c.h"
#include "server/metrics.h"
#include "server/reflection.h"
#include "server/server.h"
#include "server/transport.h" /* to build a dd_call without a network */

/* Packs a QuoteRequest with one line, then lets the caller patch bytes. */
static size_t pack_request(const char *customer, const char *sku, uint8_t *buf)
{
	Dealdesk__V1__QuoteRequest r = DEALDESK__V1__QUOTE_REQUEST__INIT;
	Dealdesk__V1__LineRequest l = DEALDESK__V1__LINE_REQUEST__INIT;
	Dealdesk__V1__LineRequest *lp[] = { &l, &l, &l };
	r.customer_id = (char *)customer;
	r.currency = "USD";
	l.sku = (char *)sku;
	l.quantity = 1;
	r.lines = lp;
	r.n_lines = 3;
	return protobuf_c_message_pack(&r.base, buf);
}

static void replace(uint8_t *buf, size_t len, const char *from, const char *to)
{
	size_t n = strlen(from);
	for (size_t i = 0; i + n <= len; i++)
		if (memcmp(buf + i, from, n) == 0) {
			memcpy(buf + i, to, n);
			return;
		}
	fail_msg("'%s' not found", from);
}

static void test_wirecheck(void **state)
{
	(void)state;
	const ProtobufCMessageDescriptor *d = &dealdesk__v1__quote_request__descriptor;
	uint8_t buf[256];
	dd_error err;
	size_t len = pack_request("acme", "SKU-1", buf);
	assert_int_equal(dd_wire_check_strings(d, buf, len, &err), DD_OK);

	replace(buf, len, "acme", "ac\0e");
	assert_int_equal(dd_wire_check_strings(d, buf, len, &err), DD_EINVAL);
	assert_string_equal(err.msg, "customer_id: contains a NUL byte");

	len = pack_request("acme", "SKU-1", buf);
	replace(buf, len, "acme", "a\xff\xfe" "e");
	assert_int_equal(dd_wire_check_strings(d, buf, len, &err), DD_EINVAL);
	assert_string_equal(err.msg, "customer_id: invalid UTF-8");

	/* the path counts repeated messages: the third line is lines[2] */
	len = pack_request("acme", "SKU-1", buf);
	uint8_t *last = NULL;
	for (size_t i = 0; i + 5 <= len; i++)
		if (memcmp(buf + i, "SKU-1", 5) == 0)
			last = buf + i;
	memcpy(last, "SK\0-1", 5);
	assert_int_equal(dd_wire_check_strings(d, buf, len, &err), DD_EINVAL);
	assert_string_equal(err.msg, "lines[2].sku: contains a NUL byte");

	const uint8_t bad1[] = { 0x0a, 0x10, 'a' };        /* length past the end */
	const uint8_t bad2[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };
	const uint8_t bad3[] = { 0x0b };                     /* wire type 3 */
	assert_int_equal(dd_wire_check_strings(d, bad1, sizeof(bad1), &err), DD_EINVAL);
	assert_string_equal(err.msg, "request: malformed protobuf");
	assert_int_equal(dd_wire_check_strings(d, bad2, sizeof(bad2), &err), DD_EINVAL);
	assert_int_equal(dd_wire_check_strings(d, bad3, sizeof(bad3), &err), DD_EINVAL);
	/* unknown fields are skipped, not checked */
	const uint8_t unknown[] = { 0xfa, 0x07, 0x02, 0xff, 0x00 }; /* field 127, bytes */
	assert_int_equal(dd_wire_check_strings(d, unknown, sizeof(unknown), &err), DD_OK);
}

/* Repeated fields are counted on the wire, before decoding: a million
 * empty lines is refused naming the limit, not "malformed protobuf". */
static void test_wirecheck_counts(void **state)
{
	(void)state;
	const ProtobufCMessageDescriptor *d = &dealdesk__v1__quote_request__descriptor;
	dd_config cfg;
	dd_config_defaults(&cfg);
	dd_error err;
	size_t n = 1000000;
	uint8_t *buf = malloc(2 * n);
	for (size_t i = 0; i < n; i++) {
		buf[2 * i] = (5 << 3) | 2; /* lines = 5, length-delimited */
		buf[2 * i + 1] = 0;        /* an empty LineRequest */
	}
	assert_int_equal(dd_wire_check(d, buf, 2 * n, &cfg, &err), DD_EINVAL);
	assert_non_null(strstr(err.msg, "lines: more than 500 lines; at most 500 per order"));
	assert_non_null(strstr(err.msg, "max-lines"));
	/* 500 are within the limit; the strings-only check counts nothing */
	assert_int_equal(dd_wire_check(d, buf, 2 * 500, &cfg, &err), DD_OK);
	assert_int_equal(dd_wire_check_strings(d, buf, 2 * n, &err), DD_OK);
	/* another repeated field: max-repeated */
	cfg.max_repeated = 3;
	cfg.limits.max_lines = 100000;
	int rc4 = dd_wire_check(d, buf, 2 * 4, &cfg, &err);
	if (rc4 != DD_OK)
		fail_msg("%s", err.msg);
	free(buf);
	const ProtobufCMessageDescriptor *put = &dealdesk__v1__put_customers_request__descriptor;
	uint8_t recs[8];
	for (int i = 0; i < 4; i++) {
		recs[2 * i] = (1 << 3) | 2;
		recs[2 * i + 1] = 0;
	}
	assert_int_equal(dd_wire_check(put, recs, 6, &cfg, &err), DD_OK);
	assert_int_equal(dd_wire_check(put, recs, 8, &cfg, &err), DD_EINVAL);
	assert_string_equal(err.msg, "customers: more than 3 elements (max-repeated)");

	/* a Commit whose request comes in two parts of 12 and 11 coupons: the
	 * decoder would merge them into 23, past max-coupons (20), which each
	 * part is within (found by fuzz_request) */
	dd_config_defaults(&cfg);
	const ProtobufCMessageDescriptor *commit = &dealdesk__v1__commit_request__descriptor;
	uint8_t part[2 + 12 * 4], msg[2 * sizeof(part) + 8];
	size_t pl = 0;
	for (int i = 0; i < 12; i++) { /* coupon_codes (field 6): "C<i>" */
		part[2 + pl++] = (6 << 3) | 2;
		part[2 + pl++] = 2;
		part[2 + pl++] = 'C';
		part[2 + pl++] = (uint8_t)('a' + i);
	}
	part[0] = (2 << 3) | 2; /* CommitRequest.request */
	part[1] = (uint8_t)pl;
	size_t ml = 0;
	memcpy(msg + ml, part, 2 + pl);
	ml += 2 + pl;
	assert_int_equal(dd_wire_check(commit, msg, ml, &cfg, &err), DD_OK);
	memcpy(msg + ml, part, 2 + pl - 4); /* the second part: 11 coupons */
	msg[ml + 1] = (uint8_t)(pl - 4);
	ml += 2 + pl - 4;
	assert_int_equal(dd_wire_check(commit, msg, ml, &cfg, &err), DD_EINVAL);
	assert_string_equal(err.msg,
	                    "request: given more than once (one message, not parts to merge)");
	/* the strings-only check (responses) does not judge that */
	assert_int_equal(dd_wire_check_strings(commit, msg, ml, &err), DD_OK);
}

/* The one-pass decoder against protobuf-c on bytes b: NULL from it, or
 * the very message protobuf-c decodes (packed, the same bytes). */
static const Dealdesk__V1__QuoteRequest *fast_same(const uint8_t *b, size_t len,
                                                   const dd_config *cfg, dd_arena *a)
{
	const ProtobufCMessageDescriptor *d = &dealdesk__v1__quote_request__descriptor;
	ProtobufCMessage *fast = dd_fast_decode(d, b, len, cfg, a);
	if (fast == NULL)
		return NULL;
	dd_error err;
	assert_int_equal(dd_wire_check(d, b, len, cfg, &err), DD_OK);
	ProtobufCMessage *pc = protobuf_c_message_unpack(d, NULL, len, b);
	assert_non_null(pc);
	size_t n = protobuf_c_message_get_packed_size(pc);
	assert_int_equal(protobuf_c_message_get_packed_size(fast), n);
	uint8_t *x = malloc(n + 1), *y = malloc(n + 1);
	protobuf_c_message_pack(pc, x);
	protobuf_c_message_pack(fast, y);
	assert_memory_equal(x, y, n);
	free(x);
	free(y);
	protobuf_c_message_free_unpacked(pc, NULL);
	return (const void *)fast;
}

static void test_fast_decode(void **state)
{
	(void)state;
	dd_config cfg;
	dd_config_defaults(&cfg);
	dd_arena a;
	dd_arena_init(&a, 4096, 0);
	uint8_t buf[1024];

	/* a full request: every field, two lines, coupons, attributes */
	Dealdesk__V1__QuoteRequest r = DEALDESK__V1__QUOTE_REQUEST__INIT;
	Dealdesk__V1__LineRequest l1 = DEALDESK__V1__LINE_REQUEST__INIT;
	Dealdesk__V1__LineRequest l2 = DEALDESK__V1__LINE_REQUEST__INIT;
	Dealdesk__V1__LineRequest *lp[] = { &l1, &l2 };
	Dealdesk__V1__QuoteRequest__AttributesEntry e1 =
		DEALDESK__V1__QUOTE_REQUEST__ATTRIBUTES_ENTRY__INIT;
	Dealdesk__V1__QuoteRequest__AttributesEntry *ep[] = { &e1 };
	char *codes[] = { "SAVE10", "caf\xc3\xa9" };
	r.customer_id = "acme";
	r.currency = "USD";
	r.channel = "web";
	r.region = "EU";
	r.order_id = "o-1";
	r.request_time = 1790000000;
	r.delivery_at = -5; /* ten bytes on the wire */
	r.explain = 1;
	l1.sku = "WIDGET-1";
	l1.quantity = 2;
	l2.sku = "GADGET-\xe2\x82\xac";
	l2.quantity = -1;
	r.lines = lp;
	r.n_lines = 2;
	r.coupon_codes = codes;
	r.n_coupon_codes = 2;
	e1.key = "gift_wrap";
	e1.value = "yes";
	r.attributes = ep;
	r.n_attributes = 1;
	size_t len = protobuf_c_message_pack(&r.base, buf);
	const Dealdesk__V1__QuoteRequest *q = fast_same(buf, len, &cfg, &a);
	assert_non_null(q);
	assert_string_equal(q->customer_id, "acme");
	assert_string_equal(q->region, "EU");
	assert_string_equal(q->order_id, "o-1");
	assert_int_equal(q->n_lines, 2);
	assert_string_equal(q->lines[1]->sku, "GADGET-\xe2\x82\xac");
	assert_int_equal(q->lines[1]->quantity, -1);
	assert_int_equal(q->delivery_at, -5);
	assert_int_equal(q->request_time, 1790000000);
	assert_true(q->explain);
	assert_int_equal(q->n_coupon_codes, 2);
	assert_string_equal(q->coupon_codes[1], "caf\xc3\xa9");
	assert_int_equal(q->n_attributes, 1);
	assert_string_equal(q->attributes[0]->key, "gift_wrap");
	assert_string_equal(q->attributes[0]->value, "yes");

	/* nothing at all: the defaults, as protobuf-c gives them */
	q = fast_same(buf, 0, &cfg, &a);
	assert_non_null(q);
	assert_string_equal(q->customer_id, "");
	assert_int_equal(q->n_lines, 0);
	assert_null(q->lines);
	/* a line given as an empty message, and a request in another field
	 * order than the packer's */
	const uint8_t reordered[] = { (5 << 3) | 2, 0, (7 << 3), 1, (1 << 3) | 2, 1, 'c' };
	q = fast_same(reordered, sizeof(reordered), &cfg, &a);
	assert_non_null(q);
	assert_int_equal(q->n_lines, 1);
	assert_string_equal(q->lines[0]->sku, "");
	assert_string_equal(q->customer_id, "c");

	/* what it leaves to the general path */
	const ProtobufCMessageDescriptor *d = &dealdesk__v1__quote_request__descriptor;
	uint8_t b[2 * 257];
	struct {
		const char *why;
		uint8_t bytes[12];
		size_t n;
	} refused[] = {
		{ "an unknown field", { (12 << 3), 1 }, 2 },
		{ "a field past 15 (two-byte tag)", { 0x80 | ((16 << 3) & 0x7f), 1, 0 }, 3 },
		{ "a singular field twice", { (1 << 3) | 2, 1, 'a', (1 << 3) | 2, 1, 'b' }, 6 },
		{ "a wire type not the field's", { (1 << 3), 1 }, 2 },
		{ "explain as two bytes", { (10 << 3), 0x81, 0x00 }, 3 },
		{ "a NUL in a string", { (2 << 3) | 2, 2, 'U', 0 }, 4 },
		{ "invalid UTF-8", { (2 << 3) | 2, 2, 0xc3, 'x' }, 4 },
		{ "a length past the end", { (2 << 3) | 2, 5, 'U' }, 3 },
		{ "a varint past 10 bytes",
		  { (7 << 3), 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 1 }, 12 },
		{ "an unknown field in a line", { (5 << 3) | 2, 2, (3 << 3), 1 }, 4 },
		{ "a line's sku twice", { (5 << 3) | 2, 6, (1 << 3) | 2, 1, 'a', (1 << 3) | 2, 1, 'b' },
		  8 },
		{ "field 0", { 0, 1 }, 2 },
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		if (dd_fast_decode(d, refused[i].bytes, refused[i].n, &cfg, &a) != NULL)
			fail_msg("the fast decoder took %s", refused[i].why);
	/* a limit passed: max-coupons 1 */
	cfg.limits.max_coupons = 1;
	assert_null(dd_fast_decode(d, buf, len, &cfg, &a));
	cfg.limits.max_coupons = 2;
	assert_non_null(dd_fast_decode(d, buf, len, &cfg, &a));
	cfg.limits.max_lines = 1;
	assert_null(dd_fast_decode(d, buf, len, &cfg, &a));
	dd_config_defaults(&cfg);
	/* more lines than it keeps on its stack (256): the general path */
	for (int i = 0; i < 257; i++) {
		b[2 * i] = (5 << 3) | 2;
		b[2 * i + 1] = 0;
	}
	assert_null(dd_fast_decode(d, b, 2 * 257, &cfg, &a));
	assert_non_null(fast_same(b, 2 * 256, &cfg, &a));
	/* other request types: not its business */
	assert_null(dd_fast_decode(&dealdesk__v1__commit_request__descriptor, buf, 0, &cfg, &a));
	dd_arena_free(&a);
}

static void test_status_mapping(void **state)
{
	(void)state;
	assert_int_equal(dd_err_grpc_status(DD_OK), GRPC_STATUS_OK);
	assert_int_equal(dd_err_grpc_status(DD_EINVAL), GRPC_STATUS_INVALID_ARGUMENT);
	assert_int_equal(dd_err_grpc_status(DD_EOVERFLOW), GRPC_STATUS_INVALID_ARGUMENT);
	assert_int_equal(dd_err_grpc_status(DD_ENOTFOUND), GRPC_STATUS_NOT_FOUND);
	assert_int_equal(dd_err_grpc_status(DD_EPRECOND), GRPC_STATUS_FAILED_PRECONDITION);
	assert_int_equal(dd_err_grpc_status(DD_EDENIED), GRPC_STATUS_PERMISSION_DENIED);
	assert_int_equal(dd_err_grpc_status(DD_EFULL), GRPC_STATUS_RESOURCE_EXHAUSTED);
	assert_int_equal(dd_err_grpc_status(DD_EPOLICY), GRPC_STATUS_INTERNAL);
	assert_int_equal(dd_err_grpc_status(DD_EBUDGET), GRPC_STATUS_INTERNAL);
}

static void test_config(void **state)
{
	(void)state;
	dd_config c;
	dd_error err;
	dd_config_defaults(&c);
	assert_string_equal(c.listen, "127.0.0.1:50051");
	assert_int_equal(c.threads, 2);
	assert_int_equal(dd_config_set(&c, "map-size", "2G", &err), DD_OK);
	assert_true(c.map_size == (size_t)2 << 30);
	assert_int_equal(dd_config_set(&c, "threads", "0", &err), DD_EINVAL);
	assert_string_equal(err.msg, "bad value '0' for threads");
	assert_int_equal(dd_config_set(&c, "threads", "x", &err), DD_EINVAL);
	assert_int_equal(dd_config_set(&c, "max-lines", "20", &err), DD_OK);
	assert_int_equal(c.limits.max_lines, 20);
	assert_int_equal(dd_config_set(&c, "log-level", "loud", &err), DD_EINVAL);
	assert_int_equal(dd_config_set(&c, "nope", "1", &err), DD_EINVAL);
	assert_string_equal(err.msg, "unknown setting 'nope'");
	assert_int_equal(dd_config_set(&c, "demo", NULL, &err), DD_OK);
	assert_int_equal(c.demo, 1);
	/* the list-price history kept: at least 90 days */
	assert_int_equal(c.price_history_days, 90);
	assert_int_equal(dd_config_set(&c, "price-history-days", "400", &err), DD_OK);
	assert_int_equal(c.price_history_days, 400);
	assert_int_equal(dd_config_set(&c, "price-history-days", "30", &err), DD_EINVAL);
	assert_string_equal(err.msg, "bad value '30' for price-history-days");

	char path[] = "/tmp/dd-test-config-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	const char *text = "# dealdeskd\nlisten = 0.0.0.0:6000\n\nthreads=4  # workers\n"
	                   "policy-max-millis = 100\nrequire-approval = yes\n";
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	dd_config_defaults(&c);
	assert_int_equal(dd_config_load_file(&c, path, &err), DD_OK);
	assert_string_equal(c.listen, "0.0.0.0:6000");
	assert_int_equal(c.threads, 4);
	assert_int_equal(c.limits.sandbox.max_millis, 100);
	assert_int_equal(c.require_approval, 1);
	FILE *fp = fopen(path, "a");
	fputs("threads\n", fp);
	fclose(fp);
	assert_int_equal(dd_config_load_file(&c, path, &err), DD_EINVAL);
	char want[128];
	snprintf(want, sizeof(want), "%s:7: expected key = value", path);
	assert_string_equal(err.msg, want);
	unlink(path);
	assert_int_equal(dd_config_load_file(&c, "/nonexistent/x.conf", &err), DD_EINVAL);
}

/* The settings of who may call and of the transport limits. */
static void test_config_auth(void **state)
{
	(void)state;
	dd_config c;
	dd_error err;
	dd_config_defaults(&c);
	assert_int_equal(c.no_auth, 0);
	assert_int_equal(c.max_streams, 100);
	assert_int_equal(c.max_repeated, 10000);
	assert_int_equal(dd_config_set(&c, "no-auth", NULL, &err), DD_OK);
	assert_int_equal(c.no_auth, 1);
	assert_int_equal(dd_config_set(&c, "client-role", "shop.example=checkout", &err), DD_OK);
	assert_int_equal(dd_config_set(&c, "client-role", "a=b=finance", &err), DD_OK);
	assert_int_equal(c.n_client_roles, 2);
	assert_string_equal(c.client_roles[0].name, "shop.example");
	assert_int_equal(c.client_roles[0].role, DD_ROLE_CHECKOUT);
	assert_string_equal(c.client_roles[1].name, "a=b");
	assert_int_equal(c.client_roles[1].role, DD_ROLE_FINANCE);
	assert_int_equal(dd_config_set(&c, "client-role", "x=public", &err), DD_EINVAL);
	assert_int_equal(dd_config_set(&c, "client-role", "x=root", &err), DD_EINVAL);
	assert_int_equal(dd_config_set(&c, "client-role", "=admin", &err), DD_EINVAL);
	assert_int_equal(dd_config_set(&c, "max-streams", "0", &err), DD_EINVAL);
	assert_int_equal(dd_config_set(&c, "transport-memory", "128M", &err), DD_OK);
	assert_int_equal(c.transport_memory, (size_t)128 << 20);
	assert_int_equal(dd_config_set(&c, "max-call-ms", "5000", &err), DD_OK);
	assert_int_equal(dd_config_set(&c, "max-pending-replies", "16M", &err), DD_OK);
	assert_int_equal(dd_config_set(&c, "tls-cert", "/x.pem", &err), DD_OK);
	assert_string_equal(c.tls_cert, "/x.pem");
	assert_true(dd_listen_is_loopback("127.0.0.1:50051"));
	assert_true(dd_listen_is_loopback("localhost:1"));
	assert_true(dd_listen_is_loopback("[::1]:1"));
	assert_true(dd_listen_is_loopback("unix:/tmp/s"));
	assert_true(dd_listen_is_loopback("ipv4:127.0.0.2:5"));
	assert_false(dd_listen_is_loopback("0.0.0.0:50051"));
	assert_false(dd_listen_is_loopback("[::]:50051"));
	assert_false(dd_listen_is_loopback("10.0.0.1:50051"));
	assert_false(dd_listen_is_loopback("localhost.evil.com:1"));
	assert_false(dd_listen_is_loopback("127.evil.com:1"));
	assert_int_equal(dd_role_from_name("pricing"), DD_ROLE_PRICING);
	assert_int_equal(dd_role_from_name("public"), DD_ROLE_NONE);
	assert_int_equal(dd_role_from_name("none"), DD_ROLE_NONE);
}

static void test_method_roles(void **state)
{
	(void)state;
	int n = 0;
	for (const dd_method *m = dd_methods; m->path; m++, n++) {
		/* every method declares the role it needs, or decides from its
		 * request (the policy methods, by kind) */
		if ((m->role <= DD_ROLE_NONE || m->role >= DD_ROLE__COUNT) && m->authorize == NULL)
			fail_msg("%s: no role declared", m->path);
		assert_non_null(m->handler);
		assert_non_null(m->request);
		assert_string_not_equal(dd_role_name(m->role), "?");
	}
	assert_int_equal(n, 76); /* 49 + credit tiers 4 + reviewed rules 4 + analytics 5 + ListInvoices, Backup + Watch, reflection 2, GetStatus + DecisionLog, AuditLog 7 + GetPriceHistory */
	struct { const char *path; dd_role role; } want[] = {
		{ "/dealdesk.v1.QuoteService/Quote", DD_ROLE_CHECKOUT },
		{ "/grpc.health.v1.Health/Check", DD_ROLE_PUBLIC },
		{ "/dealdesk.v1.CatalogAdmin/PutPriceEntries", DD_ROLE_PRICING },
		{ "/dealdesk.v1.CatalogAdmin/DeleteCoupon", DD_ROLE_PRICING },
		{ "/dealdesk.v1.CustomerAdmin/PutCustomers", DD_ROLE_FINANCE },
		{ "/dealdesk.v1.ComplianceAdmin/PutComplianceChecks", DD_ROLE_COMPLIANCE },
		{ "/dealdesk.v1.PolicyAdmin/UploadPolicy", DD_ROLE_NONE }, /* by kind */
		{ "/dealdesk.v1.PolicyAdmin/ActivatePolicy", DD_ROLE_NONE },
		{ "/dealdesk.v1.TokenAdmin/CreateToken", DD_ROLE_ADMIN },
		{ "/dealdesk.v1.TokenAdmin/RevokeToken", DD_ROLE_ADMIN },
		{ "/dealdesk.v1.OrderService/Commit", DD_ROLE_CHECKOUT },
		{ "/dealdesk.v1.OrderService/Cancel", DD_ROLE_CHECKOUT },
		{ "/dealdesk.v1.OrderService/ListHeldOrders", DD_ROLE_FINANCE },
		{ "/dealdesk.v1.OrderService/ReleaseOrder", DD_ROLE_FINANCE },
		{ "/dealdesk.v1.OrderService/ListInvoices", DD_ROLE_FINANCE },
		{ "/dealdesk.v1.BackupAdmin/Backup", DD_ROLE_ADMIN },
		{ "/grpc.health.v1.Health/Watch", DD_ROLE_PUBLIC },
		{ "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", DD_ROLE_PUBLIC },
		{ "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", DD_ROLE_PUBLIC },
		{ "/dealdesk.v1.ServerAdmin/GetStatus", DD_ROLE_ADMIN },
		{ "/dealdesk.v1.DecisionLog/ReplayDecision", DD_ROLE_COMPLIANCE },
		{ "/dealdesk.v1.DecisionLog/Impact", DD_ROLE_COMPLIANCE },
		{ "/dealdesk.v1.AuditLog/VerifyAudit", DD_ROLE_COMPLIANCE },
		{ "/dealdesk.v1.ComplianceService/GetPriceHistory", DD_ROLE_COMPLIANCE },
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const dd_method *m = dd_methods;
		while (m->path && strcmp(m->path, want[i].path) != 0)
			m++;
		assert_non_null(m->path);
		assert_int_equal(m->role, want[i].role);
	}
	assert_string_equal(dd_role_name(DD_ROLE_NONE), "none");
	assert_string_equal(dd_role_name(DD_ROLE_FINANCE), "finance");
	assert_string_equal(dd_role_name(DD_ROLE__COUNT), "?");
}

static void test_deadline_passed(void **state)
{
	(void)state;
	gpr_timespec now = gpr_now(GPR_CLOCK_MONOTONIC);
	gpr_timespec ms = gpr_time_from_millis(1, GPR_TIMESPAN);
	assert_true(dd_deadline_passed(gpr_time_sub(now, ms), now));
	assert_true(dd_deadline_passed(now, now)); /* no time left is too late */
	assert_false(dd_deadline_passed(gpr_time_add(now, ms), now));
	assert_false(dd_deadline_passed(gpr_inf_future(GPR_CLOCK_MONOTONIC), now));
	assert_false(dd_deadline_passed(gpr_inf_future(GPR_CLOCK_REALTIME), now));
	assert_true(dd_deadline_passed(gpr_inf_past(GPR_CLOCK_MONOTONIC), now));
	/* a deadline on another clock is compared on the same one */
	gpr_timespec wall = gpr_now(GPR_CLOCK_REALTIME);
	gpr_timespec sec = gpr_time_from_seconds(1, GPR_TIMESPAN);
	assert_true(dd_deadline_passed(gpr_time_sub(wall, sec), gpr_now(GPR_CLOCK_MONOTONIC)));
	assert_false(dd_deadline_passed(gpr_time_add(wall, sec), gpr_now(GPR_CLOCK_MONOTONIC)));
}

static void test_call_metadata(void **state)
{
	(void)state;
	grpc_metadata md[4];
	memset(md, 0, sizeof(md));
	md[0].key = grpc_slice_from_static_string("x-request-id");
	md[0].value = grpc_slice_from_static_string("r-42");
	md[1].key = grpc_slice_from_static_string("trace-bin");
	md[1].value = grpc_slice_from_static_buffer("a\0b", 3);
	md[2].key = grpc_slice_from_static_string("x-request-id"); /* a second one */
	md[2].value = grpc_slice_from_static_string("r-43");
	md[3].key = grpc_slice_from_static_string("x-empty");
	md[3].value = grpc_slice_from_static_string("");
	dd_call c;
	memset(&c, 0, sizeof(c));
	c.md.count = c.md.capacity = 4;
	c.md.metadata = md;
	c.deadline = gpr_inf_future(GPR_CLOCK_MONOTONIC);
	dd_arena_init(&c.arena, 0, 0);

	/* values are copied out and NUL-terminated; keys match without case */
	const char *v = dd_call_metadata(&c, "X-Request-Id", NULL);
	assert_string_equal(v, "r-42");
	assert_ptr_not_equal(v, GRPC_SLICE_START_PTR(md[0].value));
	size_t len = 99;
	assert_string_equal(dd_call_metadata(&c, "x-empty", &len), "");
	assert_int_equal(len, 0);
	assert_null(dd_call_metadata(&c, "x-request", NULL));
	assert_null(dd_call_metadata(&c, "absent", &len));
	/* a value with a NUL: only for a caller that takes the length */
	assert_null(dd_call_metadata(&c, "trace-bin", NULL));
	v = dd_call_metadata(&c, "trace-bin", &len);
	assert_int_equal(len, 3);
	assert_memory_equal(v, "a\0b", 3);

	/* identity and role: empty until authentication fills them */
	assert_string_equal(dd_call_identity(&c), "");
	assert_int_equal(dd_call_role(&c), DD_ROLE_NONE);
	assert_int_equal(dd_call_set_identity(&c, "cn=till-7", DD_ROLE_CHECKOUT), DD_OK);
	assert_string_equal(dd_call_identity(&c), "cn=till-7");
	assert_int_equal(dd_call_role(&c), DD_ROLE_CHECKOUT);
	assert_int_equal(dd_call_set_identity(&c, "x", DD_ROLE__COUNT), DD_EINVAL);

	assert_true(dd_call_time_left_ms(&c) == INT64_MAX);
	c.deadline = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_seconds(5, GPR_TIMESPAN));
	int64_t left = dd_call_time_left_ms(&c);
	assert_true(left > 4000 && left <= 5000);
	dd_arena_free(&c.arena);
}

/* ---- operations: settings, details, reflection index, metrics, JSON ------- */

static void collect(void *ud, const char *key, const char *value)
{
	char *out = ud;
	size_t n = strlen(out);
	snprintf(out + n, 8192 - n, "%s=%s\n", key, value);
}

static void test_config_operations(void **state)
{
	(void)state;
	dd_config c;
	dd_error err;
	dd_config_defaults(&c);
	assert_string_equal(c.metrics_listen, "");
	assert_int_equal(c.log_json, 0);
	assert_int_equal(dd_config_set(&c, "metrics-listen", "127.0.0.1:9464", &err), DD_OK);
	assert_string_equal(c.metrics_listen, "127.0.0.1:9464");
	assert_int_equal(dd_config_set(&c, "metrics-listen", "nocolon", &err), DD_EINVAL);
	assert_string_equal(err.msg, "bad value 'nocolon' for metrics-listen");
	assert_int_equal(dd_config_set(&c, "log-format", "json", &err), DD_OK);
	assert_int_equal(c.log_json, 1);
	assert_int_equal(dd_config_set(&c, "log-format", "text", &err), DD_OK);
	assert_int_equal(c.log_json, 0);
	assert_int_equal(dd_config_set(&c, "log-format", "xml", &err), DD_EINVAL);
	assert_int_equal(dd_config_set(&c, "client-role", "till=checkout", &err), DD_OK);
	char *all = calloc(1, 8192);
	dd_config_entries(&c, collect, all);
	assert_non_null(strstr(all, "\nthreads=2\n"));
	assert_non_null(strstr(all, "\nmap-size=1073741824\n"));
	assert_non_null(strstr(all, "\nmetrics-listen=127.0.0.1:9464\n"));
	assert_non_null(strstr(all, "\nlog-format=text\n"));
	assert_non_null(strstr(all, "\nclient-role=till=checkout\n"));
	assert_non_null(strstr(all, "\nno-auth=false\n"));
	/* every key it lists is one dd_config_set takes back, and is in
	 * dd_config_keys (the flags); every one of those is listed */
	dd_config d;
	dd_config_defaults(&d);
	size_t listed = 0, nkeys = 0;
	while (dd_config_keys[nkeys].name)
		nkeys++;
	char *seen = calloc(nkeys, 1);
	for (char *line = strtok(all, "\n"); line; line = strtok(NULL, "\n")) {
		char *eq = strchr(line, '=');
		*eq = '\0';
		if (!strcmp(line, "config"))
			continue; /* the file, not a setting */
		size_t k = 0;
		while (k < nkeys && strcmp(dd_config_keys[k].name, line) != 0)
			k++;
		if (k == nkeys)
			fail_msg("%s: listed but not in dd_config_keys", line);
		if (!seen[k])
			listed++;
		seen[k] = 1;
		if (eq[1] == '\0')
			continue; /* unset */
		if (dd_config_keys[k].is_switch)
			assert_true(!strcmp(eq + 1, "true") || !strcmp(eq + 1, "false"));
		assert_int_equal(dd_config_set(&d, line, eq + 1, &err), DD_OK);
	}
	/* client-role is listed only when set: it is, above */
	assert_int_equal(listed, nkeys);
	/* and dd_config_set knows each (a bad value, never an unknown key) */
	for (size_t k = 0; k < nkeys; k++)
		if (dd_config_set(&d, dd_config_keys[k].name, "?", &err) != DD_OK)
			assert_null(strstr(err.msg, "unknown setting"));
	free(seen);
	free(all);
}

static Google__Rpc__Status *details_of(dd_call *c)
{
	assert_int_equal(c->trailer_set, 1);
	assert_true(grpc_slice_str_cmp(c->trailer.key, "grpc-status-details-bin") == 0);
	Google__Rpc__Status *st = google__rpc__status__unpack(
		NULL, GRPC_SLICE_LENGTH(c->trailer.value), GRPC_SLICE_START_PTR(c->trailer.value));
	assert_non_null(st);
	grpc_slice_unref(c->trailer.key);
	grpc_slice_unref(c->trailer.value);
	c->trailer_set = 0;
	return st;
}

static void test_error_details(void **state)
{
	(void)state;
	dd_call c;
	memset(&c, 0, sizeof(c));
	c.method = 0; /* Quote */
	Dealdesk__V1__QuoteRequest q = DEALDESK__V1__QUOTE_REQUEST__INIT;
	Dealdesk__V1__CommitRequest cr = DEALDESK__V1__COMMIT_REQUEST__INIT;
	q.customer_id = "late";
	cr.request = &q;
	c.request = &cr.base;

	dd_call__set_details(&c, GRPC_STATUS_INVALID_ARGUMENT, "lines[2].quantity: must be > 0",
	                     DD_EINVAL);
	Google__Rpc__Status *st = details_of(&c);
	assert_int_equal(st->code, GRPC_STATUS_INVALID_ARGUMENT);
	assert_string_equal(st->message, "lines[2].quantity: must be > 0");
	assert_int_equal(st->n_details, 2);
	assert_string_equal(st->details[0]->type_url, "type.googleapis.com/google.rpc.ErrorInfo");
	Google__Rpc__ErrorInfo *info = google__rpc__error_info__unpack(
		NULL, st->details[0]->value.len, st->details[0]->value.data);
	assert_string_equal(info->reason, "INVALID_FIELD");
	assert_string_equal(info->domain, "dealdesk");
	assert_int_equal(info->n_metadata, 2);
	assert_string_equal(info->metadata[1]->key, "field");
	assert_string_equal(info->metadata[1]->value, "lines[2].quantity");
	google__rpc__error_info__free_unpacked(info, NULL);
	assert_string_equal(st->details[1]->type_url, "type.googleapis.com/google.rpc.BadRequest");
	Google__Rpc__BadRequest *br = google__rpc__bad_request__unpack(
		NULL, st->details[1]->value.len, st->details[1]->value.data);
	assert_int_equal(br->n_field_violations, 1);
	assert_string_equal(br->field_violations[0]->field, "lines[2].quantity");
	assert_string_equal(br->field_violations[0]->description, "must be > 0");
	google__rpc__bad_request__free_unpacked(br, NULL);
	google__rpc__status__free_unpacked(st, NULL);

	/* credit: one violation per reason, the customer as subject */
	dd_call__set_details(&c, GRPC_STATUS_FAILED_PRECONDITION,
	                     "credit DECLINE: TO_APPROVE: pay the open items; over limit;", DD_EPRECOND);
	st = details_of(&c);
	Google__Rpc__PreconditionFailure *pf = google__rpc__precondition_failure__unpack(
		NULL, st->details[1]->value.len, st->details[1]->value.data);
	assert_int_equal(pf->n_violations, 2);
	assert_string_equal(pf->violations[0]->type, "CREDIT");
	assert_string_equal(pf->violations[0]->subject, "customer/late");
	assert_string_equal(pf->violations[0]->description, "TO_APPROVE: pay the open items");
	assert_string_equal(pf->violations[1]->description, "over limit");
	google__rpc__precondition_failure__free_unpacked(pf, NULL);
	google__rpc__status__free_unpacked(st, NULL);

	/* compliance: one per check, a "; " inside a message kept */
	dd_call__set_details(&c, GRPC_STATUS_FAILED_PRECONDITION,
	                     "compliance BLOCK: margin: low (1.04); margin 1.01%; embargo-1: "
	                     "country XX;", DD_EPRECOND);
	st = details_of(&c);
	info = google__rpc__error_info__unpack(NULL, st->details[0]->value.len,
	                                       st->details[0]->value.data);
	assert_string_equal(info->reason, "COMPLIANCE_BLOCKED");
	google__rpc__error_info__free_unpacked(info, NULL);
	pf = google__rpc__precondition_failure__unpack(NULL, st->details[1]->value.len,
	                                               st->details[1]->value.data);
	assert_int_equal(pf->n_violations, 2);
	assert_string_equal(pf->violations[0]->subject, "compliance_check/margin");
	assert_string_equal(pf->violations[0]->description, "low (1.04); margin 1.01%");
	assert_string_equal(pf->violations[1]->subject, "compliance_check/embargo-1");
	assert_string_equal(pf->violations[1]->description, "country XX");
	google__rpc__precondition_failure__free_unpacked(pf, NULL);
	google__rpc__status__free_unpacked(st, NULL);

	/* no dd_err behind it: the reason from the status */
	dd_call__set_details(&c, GRPC_STATUS_DEADLINE_EXCEEDED, "too late", 0);
	st = details_of(&c);
	assert_int_equal(st->n_details, 1);
	info = google__rpc__error_info__unpack(NULL, st->details[0]->value.len,
	                                       st->details[0]->value.data);
	assert_string_equal(info->reason, "DEADLINE_EXCEEDED");
	assert_int_equal(info->n_metadata, 1);
	google__rpc__error_info__free_unpacked(info, NULL);
	google__rpc__status__free_unpacked(st, NULL);
}

static void test_reflection_index(void **state)
{
	(void)state;
	dd_reflection *r;
	dd_error err;
	assert_int_equal(dd_reflection_new(&r, &err), DD_OK);
	long quote = dd_reflection_find_file(r, "dealdesk/v1/quote.proto");
	assert_true(quote >= 0);
	assert_int_equal(dd_reflection_find_symbol(r, "dealdesk.v1.QuoteService"), quote);
	assert_int_equal(dd_reflection_find_symbol(r, ".dealdesk.v1.QuoteRequest"), quote);
	assert_int_equal(dd_reflection_find_symbol(r, "dealdesk.v1.QuoteService.Quote"), quote);
	assert_int_equal(dd_reflection_find_symbol(r, "dealdesk.v1.QuoteRequest.customer_id"), quote);
	assert_int_equal(dd_reflection_find_symbol(r, "dealdesk.v1.Nope"), -1);
	assert_int_equal(dd_reflection_find_symbol(r, "dealdesk.v1"), -1);
	assert_true(dd_reflection_find_symbol(r, "grpc.reflection.v1alpha.ServerReflection") >= 0);
	assert_true(dd_reflection_find_symbol(r, "grpc.health.v1.HealthCheckResponse.ServingStatus") >= 0);
	/* every service of the method table is described */
	for (int i = 0; dd_methods[i].path; i++) {
		char sym[256];
		snprintf(sym, sizeof(sym), "%s", dd_methods[i].path + 1);
		*strchr(sym, '/') = '.';
		assert_true(dd_reflection_find_symbol(r, sym) >= 0);
	}
	dd_reflection_free(r);
}

static void test_metrics_render(void **state)
{
	(void)state;
	dd_metrics *m;
	assert_int_equal(dd_metrics_new(&m, 2, 2), DD_OK);
	dd_metrics_started(m, 0, 0);
	dd_metrics_started(m, 1, 0);
	dd_metrics_started(m, 3, -1); /* shard past the end, unregistered */
	dd_metrics_handled(m, 0, 0, GRPC_STATUS_OK, 120);
	dd_metrics_handled(m, 1, 0, GRPC_STATUS_INVALID_ARGUMENT, 2000000);
	dd_metrics_handled(m, 1, -1, GRPC_STATUS_UNIMPLEMENTED, 10);
	dd_metrics_decision(m, 0, 1, 1);
	dd_metrics_policy_failure(m, 0, "pricing policy v3: boom");
	dd_metrics_policy_failure(m, 1, "pricing policy v3: budget");
	dd_metrics_policy_failure(m, 1, "something else");
	size_t len;
	char *t = dd_metrics_render(m, NULL, NULL, &len);
	assert_non_null(t);
	assert_int_equal(strlen(t), len);
	const char *want[] = {
		"grpc_server_started_total{grpc_type=\"unary\",grpc_service=\"dealdesk.v1.QuoteService\",grpc_method=\"Quote\"} 2\n",
		"grpc_server_started_total{grpc_type=\"unary\",grpc_service=\"unknown\",grpc_method=\"unknown\"} 1\n",
		"grpc_server_handled_total{grpc_type=\"unary\",grpc_service=\"dealdesk.v1.QuoteService\",grpc_method=\"Quote\",grpc_code=\"OK\"} 1\n",
		"grpc_server_handled_total{grpc_type=\"unary\",grpc_service=\"dealdesk.v1.QuoteService\",grpc_method=\"Quote\",grpc_code=\"INVALID_ARGUMENT\"} 1\n",
		"grpc_server_handled_total{grpc_type=\"unary\",grpc_service=\"unknown\",grpc_method=\"unknown\",grpc_code=\"UNIMPLEMENTED\"} 1\n",
		"grpc_server_handling_seconds_bucket{grpc_type=\"unary\",grpc_service=\"dealdesk.v1.QuoteService\",grpc_method=\"Quote\",le=\"0.0001\"} 0\n",
		"grpc_server_handling_seconds_bucket{grpc_type=\"unary\",grpc_service=\"dealdesk.v1.QuoteService\",grpc_method=\"Quote\",le=\"0.00025\"} 1\n",
		"grpc_server_handling_seconds_bucket{grpc_type=\"unary\",grpc_service=\"dealdesk.v1.QuoteService\",grpc_method=\"Quote\",le=\"1\"} 1\n",
		"grpc_server_handling_seconds_bucket{grpc_type=\"unary\",grpc_service=\"dealdesk.v1.QuoteService\",grpc_method=\"Quote\",le=\"5\"} 2\n",
		"grpc_server_handling_seconds_bucket{grpc_type=\"unary\",grpc_service=\"dealdesk.v1.QuoteService\",grpc_method=\"Quote\",le=\"+Inf\"} 2\n",
		"grpc_server_handling_seconds_sum{grpc_type=\"unary\",grpc_service=\"dealdesk.v1.QuoteService\",grpc_method=\"Quote\"} 2.000120\n",
		"dealdesk_decisions_total{kind=\"credit\",outcome=\"CREDIT_OUTCOME_APPROVE\"} 1\n",
		"dealdesk_decisions_total{kind=\"compliance\",outcome=\"COMPLIANCE_STATUS_PASS\"} 1\n",
		"dealdesk_policy_errors_total{script=\"pricing.v3\"} 1\n",
		"dealdesk_policy_budget_trips_total{script=\"pricing.v3\"} 1\n",
		"dealdesk_policy_budget_trips_total{script=\"unknown\"} 1\n",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (strstr(t, want[i]) == NULL)
			fail_msg("missing: %s", want[i]);
	free(t);
	dd_metrics_free(m);
}

static void test_log_json_string(void **state)
{
	(void)state;
	char buf[64];
	assert_int_equal(dd_log_json_string(buf, sizeof(buf), "a\"b\\c\n\x01"), 21);
	assert_string_equal(buf, "\"a\\\"b\\\\c\\u000a\\u0001\"");
	assert_int_equal(dd_log_json_string(buf, sizeof(buf), NULL), 2);
	assert_string_equal(buf, "\"\"");
	/* cut short: still a JSON string, no half of a UTF-8 sequence */
	char small[8];
	dd_log_json_string(small, sizeof(small), "abcd\xc3\xa9xyz");
	assert_string_equal(small, "\"abcd\"");
	assert_int_equal(dd_log_parse_format("json"), DD_LOG_FORMAT_JSON);
	assert_int_equal(dd_log_parse_format("TEXT"), DD_LOG_FORMAT_TEXT);
	assert_int_equal(dd_log_parse_format("yaml"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wirecheck),
		cmocka_unit_test(test_wirecheck_counts),
		cmocka_unit_test(test_fast_decode),
		cmocka_unit_test(test_status_mapping),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_config_auth),
		cmocka_unit_test(test_method_roles),
		cmocka_unit_test(test_deadline_passed),
		cmocka_unit_test(test_call_metadata),
		cmocka_unit_test(test_config_operations),
		cmocka_unit_test(test_error_details),
		cmocka_unit_test(test_reflection_index),
		cmocka_unit_test(test_metrics_render),
		cmocka_unit_test(test_log_json_string),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
