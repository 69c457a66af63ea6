/* dealdeskd metrics: GET /metrics over HTTP (libmicrohttpd, its own
 * thread), the Prometheus text exposition of metrics.c. */
#include "metrics.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dealdesk/log.h"

struct dd_metrics_http {
	struct MHD_Daemon *daemon;
	dd_metrics *metrics;
	dd_store *store;
	dd_writer *writer;
};

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_len, void **state)
{
	dd_metrics_http *h = cls;
	(void)version;
	(void)upload;
	(void)upload_len;
	(void)state;
	struct MHD_Response *r;
	unsigned code;
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		static const char msg[] = "only GET /metrics\n";
		r = MHD_create_response_from_buffer(sizeof(msg) - 1, (void *)msg, MHD_RESPMEM_PERSISTENT);
		code = MHD_HTTP_METHOD_NOT_ALLOWED;
	} else if (strcmp(url, "/metrics") != 0) {
		static const char msg[] = "not found: the metrics are at /metrics\n";
		r = MHD_create_response_from_buffer(sizeof(msg) - 1, (void *)msg, MHD_RESPMEM_PERSISTENT);
		code = MHD_HTTP_NOT_FOUND;
	} else {
		size_t len = 0;
		char *text = dd_metrics_render(h->metrics, h->store, h->writer, &len);
		if (text == NULL)
			return MHD_NO;
		r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
		if (r != NULL)
			MHD_add_response_header(r, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
		code = MHD_HTTP_OK;
	}
	if (r == NULL)
		return MHD_NO;
	enum MHD_Result ret = MHD_queue_response(conn, code, r);
	MHD_destroy_response(r);
	return ret;
}

/* "host:port", "[v6]:port" or ":port" into a socket address. */
static int parse_addr(const char *addr, struct sockaddr_storage *ss, dd_error *err)
{
	char host[256];
	const char *colon = strrchr(addr, ':');
	if (colon == NULL || colon[1] == '\0')
		return dd_error_set(err, DD_EINVAL, "metrics-listen: '%s' is not host:port", addr);
	char *end;
	long port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || port < 0 || port > 65535)
		return dd_error_set(err, DD_EINVAL, "metrics-listen: bad port in '%s'", addr);
	size_t hl = (size_t)(colon - addr);
	if (hl >= sizeof(host))
		return dd_error_set(err, DD_EINVAL, "metrics-listen: host too long");
	memcpy(host, addr, hl);
	host[hl] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		host[hl - 1] = '\0';
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1)
			return dd_error_set(err, DD_EINVAL, "metrics-listen: bad IPv6 address in '%s'", addr);
		return DD_OK;
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	s4->sin_family = AF_INET;
	s4->sin_port = htons((uint16_t)port);
	if (hl == 0 || strcmp(host, "0.0.0.0") == 0)
		s4->sin_addr.s_addr = htonl(INADDR_ANY);
	else if (strcmp(host, "localhost") == 0)
		s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
		return dd_error_set(err, DD_EINVAL,
		                    "metrics-listen: '%s' is not an IPv4 or [IPv6] address", host);
	return DD_OK;
}

int dd_metrics_http_start(dd_metrics_http **out, const char *addr, dd_metrics *m,
                          dd_store *store, dd_writer *writer, dd_error *err)
{
	struct sockaddr_storage ss;
	int rc = parse_addr(addr, &ss, err);
	if (rc != DD_OK)
		return rc;
	dd_metrics_http *h = calloc(1, sizeof(*h));
	if (h == NULL)
		return dd_error_set(err, DD_ENOMEM, "out of memory");
	h->metrics = m;
	h->store = store;
	h->writer = writer;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	uint16_t port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
	                                         : ntohs(((struct sockaddr_in *)&ss)->sin_port);
	h->daemon = MHD_start_daemon(flags, port, NULL, NULL, answer, h, MHD_OPTION_SOCK_ADDR,
	                             (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT,
	                             (unsigned)64, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
	                             MHD_OPTION_END);
	if (h->daemon == NULL) {
		free(h);
		return dd_error_set(err, DD_EINVAL, "metrics-listen: cannot listen on %s", addr);
	}
	*out = h;
	return DD_OK;
}

void dd_metrics_http_stop(dd_metrics_http *h)
{
	if (h == NULL)
		return;
	MHD_stop_daemon(h->daemon);
	free(h);
}
