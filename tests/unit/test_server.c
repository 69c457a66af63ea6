/* Unit tests for src/server: the wire-level string checks, the status
 * mapping and the configuration (file and settings). */
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wirecheck),
		cmocka_unit_test(test_status_mapping),
		cmocka_unit_test(test_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
