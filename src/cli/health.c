/* dealdesk health [SERVICE]: grpc.health.v1.Health/Check. */
#include <string.h>

#include "cli/cli.h"
#include "dealdesk/pbjson.h"
#include "grpc/health/v1/health.pb-c.h"

static const char usage[] =
	"usage: dealdesk health [SERVICE]\n"
	"\n"
	"Asks the server's grpc.health.v1.Health/Check for SERVICE (default \"\",\n"
	"the whole server) and prints SERVING, NOT_SERVING, SERVICE_UNKNOWN or\n"
	"UNKNOWN. Exit status 0 only when SERVING.\n";

int cli_cmd_health(cli *c, int argc, char **argv)
{
	static const struct option options[] = { CLI_GLOBAL_OPTIONS };
	int opt;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		if (opt == 'h') {
			fputs(usage, stdout);
			return CLI_OK;
		}
		int rc = cli_common_option(c, opt, optarg, "health");
		if (rc != 0)
			return rc == -1 ? CLI_EUSAGE : rc;
	}
	if (argc - optind > 1)
		return cli_usage_error("health", "at most one SERVICE");

	Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
	req.service = optind < argc ? argv[optind] : "";
	ProtobufCMessage *resp;
	int rc = cli_call(c, "/grpc.health.v1.Health/Check", &req.base,
	                  &grpc__health__v1__health_check_response__descriptor, &resp);
	if (rc != CLI_OK)
		return rc;
	Grpc__Health__V1__HealthCheckResponse *h = (Grpc__Health__V1__HealthCheckResponse *)resp;
	if (c->json) {
		rc = cli_print_json(resp, false);
	} else {
		char buf[16];
		puts(cli_enum(&grpc__health__v1__health_check_response__serving_status__descriptor,
		              (int)h->status, buf, sizeof(buf)));
	}
	if (rc == CLI_OK &&
	    h->status != GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING)
		rc = CLI_ERPC;
	protobuf_c_message_free_unpacked(resp, NULL);
	return rc;
}
