/* dealdesk CLI: options, calls, paging, files and formatting shared by the
 * commands. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "dealdesk/error.h"
#include "dealdesk/model.h"
#include "dealdesk/money.h"
#include "dealdesk/pbjson.h"
#include "dealdesk/v1/admin.pb-c.h"

#define MEMBER(type, msg, off) (*(type *)((char *)(msg) + (off)))

int cli_global_option(cli *c, int opt, const char *arg)
{
	int64_t ms;
	switch (opt) {
	case CLI_OPT_SERVER:
		if (*arg == '\0')
			return cli_error(CLI_EUSAGE, "--server needs an address");
		c->server = arg;
		return 0;
	case CLI_OPT_JSON:
		c->json = true;
		return 0;
	case CLI_OPT_TOKEN:
		c->creds.token = arg;
		return 0;
	case CLI_OPT_TLS_CA:
		c->creds.tls_ca = arg;
		return 0;
	case CLI_OPT_TLS_CERT:
		c->creds.tls_cert = arg;
		return 0;
	case CLI_OPT_TLS_KEY:
		c->creds.tls_key = arg;
		return 0;
	case CLI_OPT_TLS_SERVER_NAME:
		c->creds.tls_server_name = arg;
		return 0;
	case CLI_OPT_TIMEOUT:
		if (!cli_parse_int64(arg, &ms) || ms < 0 || ms > INT32_MAX)
			return cli_error(CLI_EUSAGE, "--timeout: '%s' is not a number of milliseconds",
			                 arg);
		c->timeout_ms = (int)ms;
		return 0;
	default:
		return -1;
	}
}

int cli_common_option(cli *c, int opt, const char *arg, const char *command)
{
	if (opt == '?' || opt == ':') {
		fprintf(stderr, "Try 'dealdesk %s --help'.\n", command);
		return CLI_EUSAGE;
	}
	return cli_global_option(c, opt, arg);
}

void cli_getopt_reset(void)
{
	optind = 0; /* glibc: 0 also resets its internal state */
}

int cli_error(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("error: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return code;
}

int cli_usage_error(const char *command, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("error: ", stderr);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\nTry 'dealdesk %s --help'.\n", command);
	va_end(ap);
	return CLI_EUSAGE;
}

int cli_call(cli *c, const char *method, const ProtobufCMessage *req,
             const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp)
{
	*resp = NULL;
	if (c->client == NULL) {
		const char *why = NULL;
		c->client = dd_client_open_opts(c->server, &c->creds, &why);
		if (c->client == NULL && why != NULL)
			return cli_error(CLI_EUSAGE, "%s", why);
		if (c->client == NULL)
			return cli_error(CLI_ERPC, "cannot open a channel to %s", c->server);
	}
	grpc_status_code status;
	char *details = NULL;
	int rc = dd_client_call(c->client, method, req, resp_desc, resp, &status, &details,
	                        c->timeout_ms);
	if (rc != DD_OK) {
		if (details != NULL && *details != '\0')
			cli_error(CLI_ERPC, "%s: %s", dd_grpc_status_name(status), details);
		else
			cli_error(CLI_ERPC, "%s", dd_grpc_status_name(status));
		free(details);
		return CLI_ERPC;
	}
	free(details);
	return CLI_OK;
}

void **cli_repeated(const ProtobufCMessage *m, const char *name, size_t *n)
{
	const ProtobufCFieldDescriptor *f =
		protobuf_c_message_descriptor_get_field_by_name(m->descriptor, name);
	*n = 0;
	if (f == NULL || f->label != PROTOBUF_C_LABEL_REPEATED)
		return NULL;
	*n = MEMBER(size_t, m, f->quantifier_offset);
	return MEMBER(void **, m, f->offset);
}

void cli_free_pages(ProtobufCMessage **pages, size_t n)
{
	for (size_t i = 0; i < n; i++)
		protobuf_c_message_free_unpacked(pages[i], NULL);
	free(pages);
}

int cli_list_all(cli *c, const char *method, ProtobufCMessage *req,
                 const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage ***pages,
                 size_t *n_pages)
{
	const ProtobufCFieldDescriptor *pf =
		protobuf_c_message_descriptor_get_field_by_name(req->descriptor, "page");
	const ProtobufCFieldDescriptor *tf =
		protobuf_c_message_descriptor_get_field_by_name(resp_desc, "next_page_token");
	*pages = NULL;
	*n_pages = 0;
	if (pf == NULL || tf == NULL)
		return cli_error(CLI_EUSAGE, "%s is not a paged list call", method);

	Dealdesk__V1__PageRequest page = DEALDESK__V1__PAGE_REQUEST__INIT;
	page.page_size = DD_PAGE_SIZE_MAX;
	page.page_token = "";
	ProtobufCMessage *saved = MEMBER(ProtobufCMessage *, req, pf->offset);
	MEMBER(ProtobufCMessage *, req, pf->offset) = &page.base;

	ProtobufCMessage **list = NULL;
	size_t n = 0;
	char *token = NULL;
	int rc;
	for (;;) {
		ProtobufCMessage *resp;
		rc = cli_call(c, method, req, resp_desc, &resp);
		if (rc != CLI_OK)
			break;
		ProtobufCMessage **grown = realloc(list, (n + 1) * sizeof(*list));
		if (grown == NULL) {
			protobuf_c_message_free_unpacked(resp, NULL);
			rc = cli_error(CLI_ERPC, "out of memory");
			break;
		}
		list = grown;
		list[n++] = resp;
		const char *next = MEMBER(char *, resp, tf->offset);
		if (next == NULL || *next == '\0')
			break;
		if (token != NULL && strcmp(token, next) == 0) {
			rc = cli_error(CLI_ERPC, "the server returned the same page token twice");
			break;
		}
		free(token);
		token = strdup(next);
		page.page_token = token ? token : "";
	}
	MEMBER(ProtobufCMessage *, req, pf->offset) = saved;
	free(token);
	if (rc != CLI_OK) {
		cli_free_pages(list, n);
		return rc;
	}
	*pages = list;
	*n_pages = n;
	return CLI_OK;
}

static int print_json_object(json_object *j, bool pretty)
{
	int flags = JSON_C_TO_STRING_NOSLASHESCAPE |
	            (pretty ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED
	                    : JSON_C_TO_STRING_PLAIN);
	const char *s = json_object_to_json_string_ext(j, flags);
	if (s == NULL)
		return cli_error(CLI_ERPC, "out of memory");
	puts(s);
	return CLI_OK;
}

int cli_print_pages_json(ProtobufCMessage **pages, size_t n, const char *field)
{
	json_object *all = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		json_object *page;
		if (dd_pbjson_from_message_flags(pages[i], DD_PBJSON_EMIT_DEFAULTS, &page) != DD_OK) {
			json_object_put(all);
			return cli_error(CLI_ERPC, "cannot convert the response to JSON");
		}
		json_object *items = json_object_object_get(page, field);
		size_t k = items ? json_object_array_length(items) : 0;
		for (size_t j = 0; j < k; j++)
			json_object_array_add(all, json_object_get(json_object_array_get_idx(items, j)));
		json_object_put(page);
	}
	json_object *wrap = json_object_new_object();
	json_object_object_add(wrap, field, all);
	int rc = print_json_object(wrap, false);
	json_object_put(wrap);
	return rc;
}

int cli_print_json(const ProtobufCMessage *m, bool pretty)
{
	json_object *j;
	/* machine output carries every field, so scripts need no defaults table */
	unsigned flags = pretty ? 0 : DD_PBJSON_EMIT_DEFAULTS;
	if (dd_pbjson_from_message_flags(m, flags, &j) != DD_OK)
		return cli_error(CLI_ERPC, "cannot convert the response to JSON");
	int rc = print_json_object(j, pretty);
	json_object_put(j);
	return rc;
}

int cli_read_file(const char *path, char **data, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	*data = NULL;
	*len = 0;
	if (f == NULL)
		return cli_error(CLI_EUSAGE, "cannot open %s: %s", path, strerror(errno));
	size_t cap = 0, n = 0;
	char *buf = NULL;
	for (;;) {
		if (cap - n < 4096) {
			cap = cap ? cap * 2 : 65536;
			char *grown = realloc(buf, cap);
			if (grown == NULL) {
				free(buf);
				if (f != stdin)
					fclose(f);
				return cli_error(CLI_EUSAGE, "%s: out of memory", cli_file_name(path));
			}
			buf = grown;
		}
		size_t got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
		if (got == 0)
			break;
	}
	int failed = ferror(f);
	if (f != stdin)
		fclose(f);
	if (failed) {
		free(buf);
		return cli_error(CLI_EUSAGE, "cannot read %s", cli_file_name(path));
	}
	buf[n] = '\0';
	*data = buf;
	*len = n;
	return CLI_OK;
}

const char *cli_file_name(const char *path)
{
	return strcmp(path, "-") == 0 ? "<stdin>" : path;
}

char *cli_trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

bool cli_parse_int64(const char *s, int64_t *out)
{
	if (s == NULL || !(*s == '-' || (*s >= '0' && *s <= '9')))
		return false;
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0')
		return false;
	*out = v;
	return true;
}

bool cli_parse_uint64(const char *s, uint64_t *out)
{
	if (s == NULL || !(*s >= '0' && *s <= '9'))
		return false;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return false;
	*out = v;
	return true;
}

const char *cli_money(int64_t amount, int exponent, char *buf, size_t size)
{
	if (exponent < 0 || dd_money_format(amount, exponent, buf, size) < 0)
		snprintf(buf, size, "%" PRId64, amount);
	return buf;
}

const char *cli_time(int64_t t, char *buf, size_t size)
{
	struct tm tm;
	time_t tt = (time_t)t;
	if (t == 0 || gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, size, t == 0 ? "-" : "%" PRId64, t);
	return buf;
}

const char *cli_enum(const ProtobufCEnumDescriptor *d, int value, char *buf, size_t size)
{
	const char *name = dd_pbjson_enum_short_name(d, value);
	if (name != NULL)
		return name;
	snprintf(buf, size, "%d", value);
	return buf;
}
