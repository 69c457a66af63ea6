/* dealdeskd configuration: defaults, a "key = value" file, flags. */
#include "server.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dealdesk/log.h"
#include "dealdesk/model.h"

void dd_config_defaults(dd_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->listen, sizeof(c->listen), "127.0.0.1:50051");
	snprintf(c->db, sizeof(c->db), "dealdesk-db");
	c->map_size = (size_t)1 << 30;
	c->price_history_days = DD_PRICE_HISTORY_DEFAULT_DAYS;
	c->threads = 2;
	c->calls_per_thread = 64;
	c->max_message_bytes = 4u << 20;
	c->log_level = DD_LOG_INFO;
	c->shutdown_grace_ms = 10000;
	c->writer_batch = 256;
	c->decision_queue = 4096;
	c->limits.max_lines = 500;
	c->limits.max_quantity = 1000000;
	c->limits.max_coupons = 20;
	c->limits.max_attributes = 64;
	c->limits.sandbox.max_instructions = 10000000;
	c->limits.sandbox.max_memory = 32u << 20;
	c->limits.sandbox.max_millis = 250;
	/* limits for a 2-core server: a few hundred clients, each with a
	 * handful of calls in flight */
	c->max_streams = 100;
	c->transport_memory = (size_t)256 << 20;
	c->keepalive_ms = 60000;
	c->keepalive_timeout_ms = 20000;
	c->idle_timeout_ms = 300000;
	c->max_connection_age_ms = 1800000;
	c->handshake_timeout_ms = 10000;
	c->max_call_ms = 60000;
	c->max_pending_replies = (size_t)64 << 20;
	c->max_metadata_bytes = 16u << 10;
	c->max_repeated = DD_MAX_BATCH;
	c->promotion_review_bps = 3000;
}

int dd_listen_is_loopback(const char *listen)
{
	if (strncmp(listen, "unix:", 5) == 0)
		return 1;
	if (strncmp(listen, "ipv4:", 5) == 0)
		listen += 5;
	else if (strncmp(listen, "ipv6:", 5) == 0)
		listen += 5;
	if (strncmp(listen, "localhost:", 10) == 0 || strncmp(listen, "[::1]:", 6) == 0)
		return 1;
	if (strncmp(listen, "127.", 4) != 0)
		return 0;
	/* an IPv4 literal in 127/8, not a name that starts with "127." */
	const char *p = listen;
	while (isdigit((unsigned char)*p) || *p == '.')
		p++;
	return *p == ':';
}

static int add_client_role(dd_config *c, const char *val)
{
	const char *eq = strrchr(val, '=');
	/* the principal "cert:NAME" must fit a policy's author (DD_MAX_ID) */
	if (eq == NULL || eq == val || c->n_client_roles >= 32 ||
	    (size_t)(eq - val) > DD_MAX_ID - 5)
		return 0;
	dd_role r = dd_role_from_name(eq + 1);
	if (r == DD_ROLE_NONE || r == DD_ROLE_PUBLIC)
		return 0;
	struct dd_client_role *cr = &c->client_roles[c->n_client_roles++];
	snprintf(cr->name, sizeof(cr->name), "%.*s", (int)(eq - val), val);
	cr->role = r;
	return 1;
}

/* Unsigned with an optional K/M/G suffix (powers of 1024). */
static int parse_size(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	errno = 0;
	if (!isdigit((unsigned char)*s))
		return 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		return 0;
	unsigned shift = 0;
	if (*end == 'K' || *end == 'k')
		shift = 10;
	else if (*end == 'M' || *end == 'm')
		shift = 20;
	else if (*end == 'G' || *end == 'g')
		shift = 30;
	if (shift)
		end++;
	if (*end != '\0' || v > (max >> shift))
		return 0;
	*out = (uint64_t)v << shift;
	return 1;
}

static int parse_bool(const char *s, int *out)
{
	if (s == NULL || !strcmp(s, "1") || !strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "on"))
		*out = 1;
	else if (!strcmp(s, "0") || !strcmp(s, "false") || !strcmp(s, "no") || !strcmp(s, "off"))
		*out = 0;
	else
		return 0;
	return 1;
}

int dd_config_set(dd_config *c, const char *key, const char *value, dd_error *err)
{
	uint64_t v;
	const char *val = value ? value : "";
#define COPY(field)                                                              \
	do {                                                                     \
		if (strlen(val) == 0 || strlen(val) >= sizeof(c->field))         \
			goto bad;                                                \
		snprintf(c->field, sizeof(c->field), "%s", val);                 \
		return DD_OK;                                                    \
	} while (0)
#define NUM(field, lo, hi)                                                       \
	do {                                                                     \
		if (!parse_size(val, (hi), &v) || v + 1 < (uint64_t)(lo) + 1)    \
			goto bad;                                                \
		c->field = v;                                                    \
		return DD_OK;                                                    \
	} while (0)
	if (!strcmp(key, "listen"))
		COPY(listen);
	if (!strcmp(key, "db"))
		COPY(db);
	if (!strcmp(key, "map-size"))
		NUM(map_size, 1u << 20, (uint64_t)1 << 40);
	if (!strcmp(key, "price-history-days"))
		NUM(price_history_days, 90, 3660);
	if (!strcmp(key, "threads"))
		NUM(threads, 1, 256);
	if (!strcmp(key, "calls-per-thread"))
		NUM(calls_per_thread, 1, 4096);
	if (!strcmp(key, "max-message-bytes"))
		NUM(max_message_bytes, 1024, 1u << 30);
	if (!strcmp(key, "max-lines"))
		NUM(limits.max_lines, 1, 100000);
	if (!strcmp(key, "max-quantity"))
		NUM(limits.max_quantity, 1, (uint64_t)1 << 40);
	if (!strcmp(key, "max-coupons"))
		NUM(limits.max_coupons, 0, 1000);
	if (!strcmp(key, "writer-batch"))
		NUM(writer_batch, 1, 256);
	if (!strcmp(key, "decision-retention-days"))
		NUM(decision_retention_days, 0, 36500);
	if (!strcmp(key, "decision-queue"))
		NUM(decision_queue, 1, 1u << 20);
	if (!strcmp(key, "decision-max-mb"))
		NUM(decision_max_mb, 0, 1u << 24);
	if (!strcmp(key, "decision-redact")) {
		snprintf(c->decision_redact, sizeof(c->decision_redact), "%s", val);
		return strlen(val) < sizeof(c->decision_redact) ? DD_OK
		                                                  : dd_error_set(err, DD_EINVAL, "decision-redact: too long");
	}
	if (!strcmp(key, "shutdown-grace-ms"))
		NUM(shutdown_grace_ms, 0, 3600000);
	if (!strcmp(key, "policy-max-instructions"))
		NUM(limits.sandbox.max_instructions, 1000, (uint64_t)1 << 40);
	if (!strcmp(key, "policy-max-memory"))
		NUM(limits.sandbox.max_memory, 1u << 20, (uint64_t)4 << 30);
	if (!strcmp(key, "policy-max-millis"))
		NUM(limits.sandbox.max_millis, 1, 60000);
	if (!strcmp(key, "tls-cert"))
		COPY(tls_cert);
	if (!strcmp(key, "tls-key"))
		COPY(tls_key);
	if (!strcmp(key, "tls-client-ca"))
		COPY(tls_client_ca);
	if (!strcmp(key, "client-role")) {
		if (!add_client_role(c, val))
			goto bad;
		return DD_OK;
	}
	if (!strcmp(key, "max-streams"))
		NUM(max_streams, 1, 100000);
	if (!strcmp(key, "transport-memory"))
		NUM(transport_memory, 4u << 20, (uint64_t)64 << 30);
	if (!strcmp(key, "keepalive-ms"))
		NUM(keepalive_ms, 1000, 86400000);
	if (!strcmp(key, "keepalive-timeout-ms"))
		NUM(keepalive_timeout_ms, 100, 3600000);
	if (!strcmp(key, "idle-timeout-ms"))
		NUM(idle_timeout_ms, 100, 86400000);
	if (!strcmp(key, "max-connection-age-ms"))
		NUM(max_connection_age_ms, 100, 2000000000);
	if (!strcmp(key, "handshake-timeout-ms"))
		NUM(handshake_timeout_ms, 100, 3600000);
	if (!strcmp(key, "max-call-ms"))
		NUM(max_call_ms, 10, 86400000);
	if (!strcmp(key, "max-pending-replies"))
		NUM(max_pending_replies, 1u << 20, (uint64_t)64 << 30);
	if (!strcmp(key, "max-metadata-bytes"))
		NUM(max_metadata_bytes, 1024, 1u << 24);
	if (!strcmp(key, "max-repeated"))
		NUM(max_repeated, 1, 10000000);
	if (!strcmp(key, "min-policy-tests"))
		NUM(min_policy_tests, 0, 100000);
	if (!strcmp(key, "promotion-review-bps"))
		NUM(promotion_review_bps, 0, 10000);
	if (!strcmp(key, "metrics-listen")) {
		if (strlen(val) >= sizeof(c->metrics_listen) || (val[0] && !strchr(val, ':')))
			goto bad;
		snprintf(c->metrics_listen, sizeof(c->metrics_listen), "%s", val);
		return DD_OK;
	}
	if (!strcmp(key, "log-format")) {
		int f = dd_log_parse_format(val);
		if (f < 0)
			goto bad;
		c->log_json = f == DD_LOG_FORMAT_JSON;
		return DD_OK;
	}
	if (!strcmp(key, "no-auth")) {
		if (!parse_bool(value, &c->no_auth))
			goto bad;
		return DD_OK;
	}
	if (!strcmp(key, "log-level")) {
		int l = dd_log_parse_level(val);
		if (l < 0)
			goto bad;
		c->log_level = l;
		return DD_OK;
	}
	if (!strcmp(key, "demo")) {
		if (!parse_bool(value, &c->demo))
			goto bad;
		return DD_OK;
	}
	if (!strcmp(key, "require-approval")) {
		if (!parse_bool(value, &c->require_approval))
			goto bad;
		return DD_OK;
	}
	return dd_error_set(err, DD_EINVAL, "unknown setting '%s'", key);
bad:
	return dd_error_set(err, DD_EINVAL, "bad value '%s' for %s", val, key);
#undef COPY
#undef NUM
}

static const char *const level_names[] = { "debug", "info", "warn", "error", "off" };

/* Every key dd_config_set takes: the flags of dealdeskd (main.c builds its
 * getopt_long table from it) and the lines of a config file. A new setting
 * goes here, in dd_config_set, in dd_config_entries (the unit test checks
 * the three agree), in main.c's usage and in packaging/dealdeskd.conf
 * (tests/integration/test_packaging.py checks those two). */
const dd_config_key dd_config_keys[] = {
	{ "listen", 0 }, { "db", 0 }, { "map-size", 0 }, { "threads", 0 },
	{ "calls-per-thread", 0 }, { "max-message-bytes", 0 }, { "max-lines", 0 },
	{ "max-quantity", 0 }, { "max-coupons", 0 }, { "policy-max-instructions", 0 },
	{ "policy-max-memory", 0 }, { "policy-max-millis", 0 }, { "shutdown-grace-ms", 0 },
	{ "writer-batch", 0 }, { "require-approval", 1 }, { "demo", 1 }, { "log-level", 0 },
	{ "log-format", 0 }, { "metrics-listen", 0 }, { "no-auth", 1 }, { "tls-cert", 0 },
	{ "tls-key", 0 }, { "tls-client-ca", 0 }, { "client-role", 0 }, { "max-streams", 0 },
	{ "transport-memory", 0 }, { "keepalive-ms", 0 }, { "keepalive-timeout-ms", 0 },
	{ "idle-timeout-ms", 0 }, { "max-connection-age-ms", 0 }, { "handshake-timeout-ms", 0 },
	{ "max-call-ms", 0 }, { "max-pending-replies", 0 }, { "max-metadata-bytes", 0 },
	{ "max-repeated", 0 }, { "min-policy-tests", 0 }, { "promotion-review-bps", 0 },
	{ "decision-retention-days", 0 }, { "decision-queue", 0 }, { "decision-redact", 0 },
	{ "decision-max-mb", 0 },
	{ "price-history-days", 0 },
	{ NULL, 0 },
};

void dd_config_entries(const dd_config *c, dd_config_entry_fn fn, void *ud)
{
	char v[64];
#define NUMV(key, x)                                                  \
	do {                                                          \
		snprintf(v, sizeof(v), "%llu", (unsigned long long)(x)); \
		fn(ud, key, v);                                       \
	} while (0)
	fn(ud, "config", c->config_file);
	fn(ud, "listen", c->listen);
	fn(ud, "db", c->db);
	NUMV("map-size", c->map_size);
	NUMV("threads", c->threads);
	NUMV("calls-per-thread", c->calls_per_thread);
	NUMV("max-message-bytes", c->max_message_bytes);
	NUMV("max-lines", c->limits.max_lines);
	NUMV("max-quantity", c->limits.max_quantity);
	NUMV("max-coupons", c->limits.max_coupons);
	NUMV("policy-max-instructions", c->limits.sandbox.max_instructions);
	NUMV("policy-max-memory", c->limits.sandbox.max_memory);
	NUMV("policy-max-millis", c->limits.sandbox.max_millis);
	NUMV("shutdown-grace-ms", c->shutdown_grace_ms);
	NUMV("writer-batch", c->writer_batch);
	fn(ud, "require-approval", c->require_approval ? "true" : "false");
	fn(ud, "demo", c->demo ? "true" : "false");
	fn(ud, "log-level", (unsigned)c->log_level < 5 ? level_names[c->log_level] : "?");
	fn(ud, "log-format", c->log_json ? "json" : "text");
	fn(ud, "metrics-listen", c->metrics_listen);
	fn(ud, "no-auth", c->no_auth ? "true" : "false");
	/* paths only: the keys themselves are never shown */
	fn(ud, "tls-cert", c->tls_cert);
	fn(ud, "tls-key", c->tls_key);
	fn(ud, "tls-client-ca", c->tls_client_ca);
	for (unsigned i = 0; i < c->n_client_roles; i++) {
		char cr[300];
		snprintf(cr, sizeof(cr), "%s=%s", c->client_roles[i].name,
		         dd_role_name(c->client_roles[i].role));
		fn(ud, "client-role", cr);
	}
	NUMV("max-streams", c->max_streams);
	NUMV("transport-memory", c->transport_memory);
	NUMV("keepalive-ms", c->keepalive_ms);
	NUMV("keepalive-timeout-ms", c->keepalive_timeout_ms);
	NUMV("idle-timeout-ms", c->idle_timeout_ms);
	NUMV("max-connection-age-ms", c->max_connection_age_ms);
	NUMV("handshake-timeout-ms", c->handshake_timeout_ms);
	NUMV("max-call-ms", c->max_call_ms);
	NUMV("max-pending-replies", c->max_pending_replies);
	NUMV("max-metadata-bytes", c->max_metadata_bytes);
	NUMV("max-repeated", c->max_repeated);
	NUMV("min-policy-tests", c->min_policy_tests);
	NUMV("promotion-review-bps", c->promotion_review_bps);
	NUMV("decision-retention-days", c->decision_retention_days);
	NUMV("decision-queue", c->decision_queue);
	NUMV("decision-max-mb", c->decision_max_mb);
	fn(ud, "decision-redact", c->decision_redact);
	NUMV("price-history-days", c->price_history_days);
#undef NUMV
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

int dd_config_load_file(dd_config *c, const char *path, dd_error *err)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return dd_error_set(err, DD_EINVAL, "%s: %s", path, strerror(errno));
	char line[2048];
	int no = 0, rc = DD_OK;
	while (rc == DD_OK && fgets(line, sizeof(line), f)) {
		no++;
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		char *s = trim(line);
		if (*s == '\0')
			continue;
		char *eq = strchr(s, '=');
		if (eq == NULL) {
			rc = dd_error_set(err, DD_EINVAL, "%s:%d: expected key = value", path, no);
			break;
		}
		*eq = '\0';
		dd_error e;
		rc = dd_config_set(c, trim(s), trim(eq + 1), &e);
		if (rc != DD_OK)
			dd_error_set(err, rc, "%s:%d: %s", path, no, e.msg);
	}
	fclose(f);
	return rc;
}
