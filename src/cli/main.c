/* dealdesk: the command-line client of dealdeskd.
 *
 *   dealdesk [--server ADDR] [--token T] [--tls-ca F] [--json] [--timeout MS] COMMAND [ARGS]
 *
 * Exit codes: 0 ok, 1 the call failed (the server's status is printed as
 * "error: STATUS: details"), 2 bad usage or bad input (nothing was sent).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/analytics.h"
#include "cli/cli.h"
#include "dealdesk/version.h"

static const char usage_text[] =
	"usage: dealdesk [--server ADDR] [--token TOKEN] [--tls-ca FILE] [--json] [--timeout MS]\n"
	"                COMMAND [ARGS]\n"
	"\n"
	"Commands:\n"
	"  quote        price an order (--file REQ.json, or --customer/--line flags)\n"
	"  prices       load [--dry-run] FILE.csv | export [FILE.csv] | list | get SKU CURRENCY LIST\n"
	"               | delete SKU CURRENCY LIST | history SKU CURRENCY\n"
	"  promotions   load [--dry-run] FILE.json|FILE.csv | export [FILE.csv] | list | get ID | delete ID\n"
	"  customers    load [--dry-run] FILE.json|FILE.csv | export [FILE.csv] | list | get ID | delete ID\n"
	"  checks       load FILE.json | list | get ID | delete ID   (compliance checks)\n"
	"  signals      load FILE.json|FILE.csv | list | get SKU | delete SKU   (market signals)\n"
	"  coupons      load FILE.json | list | get CODE | delete CODE\n"
	"  policy       upload | activate | submit | approve | reject | list | get\n"
	"  orders       commit | cancel | get | list | held | release | reject\n"
	"  verify       recompute coupon uses, budgets and exposure from the orders\n"
	"  credit-tiers load FILE.json | list | get NAME | delete NAME   (the tier table)\n"
	"  credit-changes CUSTOMER_ID | --tiers   (who changed credit data, before/after)\n"
	"  rfm          get CUSTOMER | segments | recompute: customer value (RFM, lifecycle)\n"
	"  experiments  [EXPERIMENT_ID]: per arm conversion, ROI, z-test, sample ratio\n"
	"  kpis         --currency CUR: sales KPIs per period, channel, region (--csv)\n"
	"  report       --html FILE: one self-contained HTML page of all of it\n"
	"  health       [SERVICE]: the server's grpc.health.v1 status\n"
	"  token        create --role ROLE --name NAME | list | revoke NAME   (admin)\n"
	"  backup       DIR: a consistent compacted copy of the store (admin)\n"
	"  status       the server's version, uptime, configuration, map use, policies (admin)\n"
	"  decisions    get ID | list | replay ID | stats   (the decision log; compliance)\n"
	"  impact       --kind KIND --version N: what a candidate policy would change\n"
	"  audit        list | verify   (the hash-chained audit log; compliance)\n"
	"\n"
	"Options (before or after the command):\n"
	"  --server ADDR   dealdeskd address (default $DEALDESK_SERVER or 127.0.0.1:50051)\n"
	"  --token TOKEN   bearer token sent with every call (default $DEALDESK_TOKEN)\n"
	"  --tls-ca FILE   connect with TLS, verifying the server against this CA (PEM)\n"
	"  --tls-cert FILE, --tls-key FILE   a client certificate and its key (mTLS)\n"
	"  --tls-server-name NAME   the name the server's certificate must carry\n"
	"  --json          print the response message as JSON on stdout\n"
	"  --timeout MS    deadline of each call in milliseconds (default 30000; 0 = none)\n"
	"  -h, --help      this text; `dealdesk COMMAND --help` for a command\n"
	"  --version       the version and git revision of this client\n"
	"\n"
	"Exit status: 0 ok, 1 the call failed, 2 bad usage or input.\n";

static const struct {
	const char *name;
	int (*run)(cli *c, int argc, char **argv);
} commands[] = {
	{ "quote", cli_cmd_quote },
	{ "prices", cli_cmd_prices },
	{ "promotions", cli_cmd_promotions },
	{ "customers", cli_cmd_customers },
	{ "checks", cli_cmd_checks },
	{ "signals", cli_cmd_signals },
	{ "coupons", cli_cmd_coupons },
	{ "policy", cli_cmd_policy },
	{ "health", cli_cmd_health },
	{ "token", cli_cmd_token },
	{ "orders", cli_cmd_orders },
	{ "verify", cli_cmd_verify },
	{ "credit-tiers", cli_cmd_credit_tiers },
	{ "credit-changes", cli_cmd_credit_changes },
	{ "rfm", cli_cmd_rfm },
	{ "experiments", cli_cmd_experiments },
	{ "kpis", cli_cmd_kpis },
	{ "report", cli_cmd_report },
	{ "backup", cli_cmd_backup },
	{ "status", cli_cmd_status },
	{ "decisions", cli_cmd_decisions },
	{ "impact", cli_cmd_impact },
	{ "audit", cli_cmd_audit },
};

int main(int argc, char **argv)
{
	cli c = { .server = "127.0.0.1:50051", .timeout_ms = 30000 };
	const char *env = getenv("DEALDESK_SERVER");
	if (env != NULL && *env != '\0')
		c.server = env;
	c.creds.token = getenv("DEALDESK_TOKEN");

	enum { OPT_VERSION = 0x2000 };
	static const struct option options[] = { { "version", no_argument, NULL, OPT_VERSION },
		                                  CLI_GLOBAL_OPTIONS };
	int opt;
	/* '+': stop at the command; its own options are parsed by it */
	while ((opt = getopt_long(argc, argv, "+h", options, NULL)) != -1) {
		if (opt == 'h') {
			fputs(usage_text, stdout);
			return CLI_OK;
		}
		if (opt == OPT_VERSION) {
			printf("dealdesk %s (git %s)\n", dd_version(), dd_git_revision());
			return CLI_OK;
		}
		int rc = cli_global_option(&c, opt, optarg);
		if (rc == -1) {
			fputs("Try 'dealdesk --help'.\n", stderr);
			return CLI_EUSAGE;
		}
		if (rc != 0)
			return rc;
	}
	if (optind >= argc) {
		fputs(usage_text, stderr);
		return CLI_EUSAGE;
	}

	const char *name = argv[optind];
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(name, commands[i].name) == 0) {
			int first = optind;
			cli_getopt_reset();
			int rc = commands[i].run(&c, argc - first, argv + first);
			dd_client_close(c.client);
			return rc;
		}
	}
	if (strcmp(name, "help") == 0) {
		fputs(usage_text, stdout);
		return CLI_OK;
	}
	fprintf(stderr, "error: unknown command '%s'\nTry 'dealdesk --help'.\n", name);
	return CLI_EUSAGE;
}
