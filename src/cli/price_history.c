/* dealdesk prices history: the list-price and transaction-price history of
 * one SKU through dealdesk.v1.ComplianceService/GetPriceHistory. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "dealdesk/money.h"
#include "dealdesk/v1/admin.pb-c.h"
#include "dealdesk/v1/compliance.pb-c.h"

static const char usage[] =
	"usage: dealdesk prices history SKU CURRENCY [--channel CH] [--region R]\n"
	"                               [--from TIME] [--to TIME]\n"
	"\n"
	"The effective list price of SKU in CURRENCY over [--from, --to) (one row\n"
	"per change, a scheduled entry becoming effective included), every\n"
	"committed transaction price in that window, the lowest of each, the last\n"
	"transaction price before --to, the prices applied to everyone (list prices\n"
	"lowered by public promotions) and the SHA-256 of each series. TIME is Unix\n"
	"seconds or YYYY-MM-DD[THH:MM:SSZ] (UTC); --to defaults to now, --from to\n"
	"30 days before --to. Needs the compliance role.\n";

void cli_print_warnings(const Dealdesk__V1__WriteResponse *w)
{
	for (size_t i = 0; i < w->n_warnings; i++)
		fprintf(stderr, "warning: %s\n", w->warnings[i]);
}

/* Unix seconds, or YYYY-MM-DD[THH:MM:SS[Z]] in UTC. */
static int parse_time(const char *s, int64_t *out)
{
	if (cli_parse_int64(s, out))
		return *out >= 0;
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	int y, mo, d, h = 0, mi = 0, se = 0;
	char tail[4] = "";
	int n = sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%3s", &y, &mo, &d, &h, &mi, &se, tail);
	if (n != 3 && n != 6 && !(n == 7 && strcmp(tail, "Z") == 0))
		return 0;
	if (n == 3 && strlen(s) != 10)
		return 0;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	time_t t = timegm(&tm);
	if (t < 0 || mo < 1 || mo > 12 || d < 1 || d > 31)
		return 0;
	*out = (int64_t)t;
	return 1;
}

static void print_history(const Dealdesk__V1__PriceHistoryResponse *r)
{
	int exp = dd_currency_exponent(r->currency);
	char a[40], b[40], m[48];
	printf("price history of %s in %s, channel %s, %s to %s\n", r->sku, r->currency,
	       *r->channel ? r->channel : "(any)", cli_time(r->from_time, a, sizeof(a)),
	       cli_time(r->to_time, b, sizeof(b)));
	if (r->has_lowest_list)
		printf("lowest list price         %s from %s\n",
		       cli_money(r->lowest_list_price, exp, m, sizeof(m)),
		       cli_time(r->lowest_list_at, a, sizeof(a)));
	else
		puts("lowest list price         none in the window");
	if (r->has_lowest_sale)
		printf("lowest transaction price  %s at %s\n",
		       cli_money(r->lowest_sale_price, exp, m, sizeof(m)),
		       cli_time(r->lowest_sale_at, a, sizeof(a)));
	else
		puts("lowest transaction price  none in the window");
	if (r->has_last_sale)
		printf("last transaction price    %s at %s\n",
		       cli_money(r->last_sale_price, exp, m, sizeof(m)),
		       cli_time(r->last_sale_at, a, sizeof(a)));
	else
		puts("last transaction price    none before the end of the window");
	if (r->has_lowest_applied)
		printf("lowest price applied      %s from %s (list prices and public promotions)\n",
		       cli_money(r->lowest_applied_price, exp, m, sizeof(m)),
		       cli_time(r->lowest_applied_at, a, sizeof(a)));
	printf("sha256                    %s\n", r->sha256);
	printf("applied sha256            %s\n", r->applied_sha256);
	static const char *const lhead[] = { "FROM", "TO", "LIST PRICE", "PRICE LIST" };
	cli_table *t = cli_table_new("llrl", lhead);
	for (size_t i = 0; i < r->n_list_prices; i++) {
		const Dealdesk__V1__PricePoint *p = r->list_prices[i];
		const char *row[] = { cli_time(p->from, a, sizeof(a)), cli_time(p->to, b, sizeof(b)),
			              cli_money(p->price, exp, m, sizeof(m)), p->ref };
		cli_table_row(t, row);
	}
	puts("list prices:");
	if (r->n_list_prices)
		cli_table_print(t, stdout, "  ");
	else
		puts("  none");
	cli_table_free(t);
	static const char *const ahead[] = { "FROM", "TO", "PRICE", "SOURCE", "REF" };
	t = cli_table_new("llrll", ahead);
	for (size_t i = 0; i < r->n_applied_prices; i++) {
		const Dealdesk__V1__PricePoint *p = r->applied_prices[i];
		const char *row[] = { cli_time(p->from, a, sizeof(a)), cli_time(p->to, b, sizeof(b)),
			              cli_money(p->price, exp, m, sizeof(m)), p->source, p->ref };
		cli_table_row(t, row);
	}
	puts("prices applied to everyone:");
	if (r->n_applied_prices)
		cli_table_print(t, stdout, "  ");
	else
		puts("  none");
	cli_table_free(t);
	static const char *const shead[] = { "AT", "UNIT PRICE", "ORDER" };
	t = cli_table_new("lrl", shead);
	for (size_t i = 0; i < r->n_sales; i++) {
		const Dealdesk__V1__PricePoint *p = r->sales[i];
		const char *row[] = { cli_time(p->from, a, sizeof(a)),
			              cli_money(p->price, exp, m, sizeof(m)), p->ref };
		cli_table_row(t, row);
	}
	puts("transaction prices:");
	if (r->n_sales)
		cli_table_print(t, stdout, "  ");
	else
		puts("  none");
	cli_table_free(t);
}

int cli_prices_history(cli *c, int argc, char **argv)
{
	enum { OPT_CHANNEL = 1, OPT_REGION, OPT_FROM, OPT_TO };
	static const struct option options[] = {
		{ "channel", required_argument, NULL, OPT_CHANNEL },
		{ "region", required_argument, NULL, OPT_REGION },
		{ "from", required_argument, NULL, OPT_FROM },
		{ "to", required_argument, NULL, OPT_TO },
		CLI_GLOBAL_OPTIONS
	};
	Dealdesk__V1__PriceHistoryRequest req = DEALDESK__V1__PRICE_HISTORY_REQUEST__INIT;
	int opt, rc;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (opt) {
		case 'h': fputs(usage, stdout); return CLI_OK;
		case OPT_CHANNEL: req.channel = optarg; break;
		case OPT_REGION: req.region = optarg; break;
		case OPT_FROM:
		case OPT_TO:
			if (!parse_time(optarg, opt == OPT_FROM ? &req.from_time : &req.to_time))
				return cli_usage_error("prices", "history: --%s: not a time: '%s'",
				                       opt == OPT_FROM ? "from" : "to", optarg);
			break;
		default:
			rc = cli_common_option(c, opt, optarg, "prices");
			if (rc != 0)
				return rc == -1 ? CLI_EUSAGE : rc;
		}
	}
	if (argc - optind != 2)
		return cli_usage_error("prices", "history needs SKU and CURRENCY");
	req.sku = argv[optind];
	req.currency = argv[optind + 1];
	ProtobufCMessage *resp = NULL;
	rc = cli_call(c, "/dealdesk.v1.ComplianceService/GetPriceHistory", &req.base,
	              &dealdesk__v1__price_history_response__descriptor, &resp);
	if (rc != CLI_OK)
		return rc;
	if (c->json)
		rc = cli_print_json(resp, false);
	else
		print_history((const void *)resp);
	protobuf_c_message_free_unpacked(resp, NULL);
	return rc;
}
