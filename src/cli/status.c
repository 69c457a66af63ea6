/* dealdesk status: dealdesk.v1.ServerAdmin/GetStatus (admin). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "dealdesk/v1/server.pb-c.h"
#include "dealdesk/version.h"

static const char usage[] =
	"usage: dealdesk status\n"
	"\n"
	"Shows what the server is: its version and git revision, uptime, the\n"
	"effective configuration (no secrets), the LMDB map use, the active\n"
	"policy versions and the data version. Needs the admin role. With\n"
	"--json, the ServerStatus message.\n";

static void print_bytes(uint64_t n)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	int u = 0;
	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		printf("%llu B", (unsigned long long)n);
	else
		printf("%.1f %s", v, unit[u]);
}

int cli_cmd_status(cli *c, int argc, char **argv)
{
	static const struct option options[] = { CLI_GLOBAL_OPTIONS };
	int opt;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		if (opt == 'h') {
			fputs(usage, stdout);
			return CLI_OK;
		}
		int rc = cli_common_option(c, opt, optarg, "status");
		if (rc != 0)
			return rc == -1 ? CLI_EUSAGE : rc;
	}
	if (optind < argc)
		return cli_usage_error("status", "no arguments expected");
	Dealdesk__V1__GetStatusRequest req = DEALDESK__V1__GET_STATUS_REQUEST__INIT;
	ProtobufCMessage *resp;
	int rc = cli_call(c, "/dealdesk.v1.ServerAdmin/GetStatus", &req.base,
	                  &dealdesk__v1__server_status__descriptor, &resp);
	if (rc != CLI_OK)
		return rc;
	const Dealdesk__V1__ServerStatus *s = (const void *)resp;
	if (c->json) {
		rc = cli_print_json(resp, true);
		protobuf_c_message_free_unpacked(resp, NULL);
		return rc;
	}
	char since[32] = "?";
	time_t t = (time_t)s->started_at;
	struct tm tm;
	if (gmtime_r(&t, &tm))
		strftime(since, sizeof(since), "%Y-%m-%dT%H:%M:%SZ", &tm);
	long long up = (long long)s->uptime_seconds;
	printf("server version   %s (git %s)\n", s->version, s->git_revision);
	printf("client version   %s (git %s)\n", dd_version(), dd_git_revision());
	printf("uptime           %lldd %02lldh %02lldm %02llds (since %s)\n", up / 86400,
	       up / 3600 % 24, up / 60 % 60, up % 60, since);
	printf("data version     %llu\n", (unsigned long long)s->data_version);
	printf("map              ");
	print_bytes(s->map_used_bytes);
	printf(" of ");
	print_bytes(s->map_size_bytes);
	printf(" used (%.1f%%)\n", s->map_size_bytes
	                                   ? 100.0 * (double)s->map_used_bytes / (double)s->map_size_bytes
	                                   : 0.0);
	printf("active policies ");
	for (size_t i = 0; i < s->n_active_policies; i++) {
		const Dealdesk__V1__ActivePolicy *p = s->active_policies[i];
		if (p->version)
			printf(" %s v%llu", p->kind, (unsigned long long)p->version);
		else
			printf(" %s none", p->kind);
		printf("%s", i + 1 < s->n_active_policies ? "," : "");
	}
	printf("\nconfiguration\n");
	for (size_t i = 0; i < s->n_config; i++)
		printf("  %-24s %s\n", s->config[i]->key,
		       s->config[i]->value[0] ? s->config[i]->value : "-");
	protobuf_c_message_free_unpacked(resp, NULL);
	return CLI_OK;
}
