/* Unit tests for src/server: the wire-level string checks, the status
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

#include "dealdesk/v1/quote.pb-c.h"
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

static void test_method_roles(void **state)
{
	(void)state;
	int n = 0;
	for (const dd_method *m = dd_methods; m->path; m++, n++) {
		/* every method declares the role it needs */
		if (m->role <= DD_ROLE_NONE || m->role >= DD_ROLE__COUNT)
			fail_msg("%s: no role declared", m->path);
		assert_non_null(m->handler);
		assert_non_null(m->request);
		assert_string_not_equal(dd_role_name(m->role), "?");
	}
	assert_int_equal(n, 46);
	struct { const char *path; dd_role role; } want[] = {
		{ "/dealdesk.v1.QuoteService/Quote", DD_ROLE_CHECKOUT },
		{ "/grpc.health.v1.Health/Check", DD_ROLE_PUBLIC },
		{ "/dealdesk.v1.CatalogAdmin/PutPriceEntries", DD_ROLE_PRICING },
		{ "/dealdesk.v1.CatalogAdmin/DeleteCoupon", DD_ROLE_PRICING },
		{ "/dealdesk.v1.CustomerAdmin/PutCustomers", DD_ROLE_FINANCE },
		{ "/dealdesk.v1.ComplianceAdmin/PutComplianceChecks", DD_ROLE_COMPLIANCE },
		{ "/dealdesk.v1.PolicyAdmin/UploadPolicy", DD_ROLE_ADMIN },
		{ "/dealdesk.v1.PolicyAdmin/ActivatePolicy", DD_ROLE_ADMIN },
		{ "/dealdesk.v1.OrderService/Commit", DD_ROLE_CHECKOUT },
		{ "/dealdesk.v1.OrderService/Cancel", DD_ROLE_CHECKOUT },
		{ "/dealdesk.v1.OrderService/ListHeldOrders", DD_ROLE_FINANCE },
		{ "/dealdesk.v1.OrderService/ReleaseOrder", DD_ROLE_FINANCE },
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wirecheck),
		cmocka_unit_test(test_status_mapping),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_method_roles),
		cmocka_unit_test(test_deadline_passed),
		cmocka_unit_test(test_call_metadata),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
