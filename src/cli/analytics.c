/* dealdesk rfm ..., experiments, kpis: dealdesk.v1.AnalyticsService. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/analytics.h"
#include "dealdesk/money.h"
#include "dealdesk/v1/analytics.pb-c.h"

#define SVC "/dealdesk.v1.AnalyticsService/"

static const char rfm_usage[] =
	"usage: dealdesk rfm get CUSTOMER [--at UNIX] [OPTIONS]\n"
	"       dealdesk rfm segments [--customers] [--at UNIX] [OPTIONS]\n"
	"       dealdesk rfm recompute [--at UNIX] [OPTIONS]\n"
	"OPTIONS: --window-days N (365) --new-days N (30) --dormant-days N (90)\n"
	"         --churn-days N (365) --currency CUR (monetary in CUR only)\n"
	"\n"
	"RFM scores 1-5 by quintile (recency, frequency and monetary over the window),\n"
	"the segment from R and F and the lifecycle stage, computed from the orders as\n"
	"of --at (default now). recompute stores every customer's value for the\n"
	"policies (ctx.customer.rfm); commits keep it current in between.\n";

static const char exp_usage[] =
	"usage: dealdesk experiments [EXPERIMENT_ID] [--at UNIX] [--currency CUR]\n"
	"                            [--planned N | --baseline-bps B --min-effect-bps E]\n"
	"\n"
	"Per experiment arm: customers, quotes, commits, conversion, revenue, discount\n"
	"cost, margin, ROI against control (also net of overdue and unpaid amounts),\n"
	"the z-test of conversion with its p-value and 95 % interval, the sample-ratio\n"
	"mismatch check and the planned sample size (--planned customers per arm, or\n"
	"computed from a baseline conversion and the smallest effect, in bps).\n";

static const char kpi_usage[] =
	"usage: dealdesk kpis --currency CUR [--from UNIX] [--to UNIX]\n"
	"                     [--period day|week|month] [--by-channel] [--by-region] [--csv]\n"
	"\n"
	"Sales KPIs per period (and channel, region): orders, revenue, discount share,\n"
	"margin after discounts, collection rate, DSO, Best DSO, average days\n"
	"delinquent, CEI, repurchase rate, promotion ROI. --to defaults to now,\n"
	"--from to 30 days before. Text table; --json the response; --csv one row per\n"
	"period and group.\n";

enum {
	OPT_AT = 1, OPT_WINDOW, OPT_NEW, OPT_DORMANT, OPT_CHURN, OPT_CURRENCY, OPT_CUSTOMERS,
	OPT_PLANNED, OPT_BASELINE, OPT_EFFECT, OPT_FROM, OPT_TO, OPT_PERIOD, OPT_BY_CHANNEL,
	OPT_BY_REGION, OPT_CSV,
};

static int parse_i32(const char *cmd, const char *flag, const char *arg, int32_t *out)
{
	int64_t v;
	if (!cli_parse_int64(arg, &v) || v < INT32_MIN || v > INT32_MAX)
		return cli_usage_error(cmd, "%s '%s': expected an integer", flag, arg);
	*out = (int32_t)v;
	return CLI_OK;
}

static int parse_time(const char *cmd, const char *flag, const char *arg, int64_t *out)
{
	if (!cli_parse_int64(arg, out) || *out < 0)
		return cli_usage_error(cmd, "%s '%s': expected Unix seconds", flag, arg);
	return CLI_OK;
}

static void print_value(const Dealdesk__V1__CustomerValue *v)
{
	printf("%s  R%d F%d M%d  %s  %s  recency %d days  frequency %lld  monetary %lld  orders %lld\n",
	       v->customer_id, v->r, v->f, v->m, *v->segment ? v->segment : "-", v->lifecycle,
	       v->recency_days, (long long)v->frequency, (long long)v->monetary,
	       (long long)v->order_count);
}

static int finish(cli *c, int rc, ProtobufCMessage *resp, void (*text)(const ProtobufCMessage *))
{
	if (rc != CLI_OK)
		return rc;
	if (c->json)
		rc = cli_print_json(resp, false);
	else
		text(resp);
	protobuf_c_message_free_unpacked(resp, NULL);
	return rc;
}

static void text_value(const ProtobufCMessage *m)
{
	print_value((const void *)m);
}

static void text_segments(const ProtobufCMessage *m)
{
	const Dealdesk__V1__ListSegmentsResponse *r = (const void *)m;
	static const char *const head[] = { "SEGMENT", "CUSTOMERS", "MONETARY" };
	cli_table *t = cli_table_new("lrr", head);
	for (size_t i = 0; i < r->n_segments; i++) {
		char n[32], mon[32];
		snprintf(n, sizeof(n), "%llu", (unsigned long long)r->segments[i]->customers);
		snprintf(mon, sizeof(mon), "%lld", (long long)r->segments[i]->monetary);
		const char *cells[] = { r->segments[i]->segment, n, mon };
		cli_table_row(t, cells);
	}
	cli_table_print(t, stdout, "");
	cli_table_free(t);
	printf("lifecycle:");
	for (size_t i = 0; i < r->n_lifecycle; i++)
		printf(" %s %llu", r->lifecycle[i]->stage,
		       (unsigned long long)r->lifecycle[i]->customers);
	putchar('\n');
	for (size_t i = 0; i < r->n_customers; i++)
		print_value(r->customers[i]);
}

static void text_recompute(const ProtobufCMessage *m)
{
	const Dealdesk__V1__RecomputeRfmResponse *r = (const void *)m;
	printf("rfm recompute: %llu customers scored at %lld, data version %llu\n",
	       (unsigned long long)r->customers, (long long)r->at,
	       (unsigned long long)r->data_version);
}

int cli_cmd_rfm(cli *c, int argc, char **argv)
{
	static const struct option options[] = {
		{ "at", required_argument, NULL, OPT_AT },
		{ "window-days", required_argument, NULL, OPT_WINDOW },
		{ "new-days", required_argument, NULL, OPT_NEW },
		{ "dormant-days", required_argument, NULL, OPT_DORMANT },
		{ "churn-days", required_argument, NULL, OPT_CHURN },
		{ "currency", required_argument, NULL, OPT_CURRENCY },
		{ "customers", no_argument, NULL, OPT_CUSTOMERS },
		CLI_GLOBAL_OPTIONS
	};
	Dealdesk__V1__RfmOptions o;
	dealdesk__v1__rfm_options__init(&o);
	int64_t at = 0;
	int customers = 0, rc = CLI_OK, opt;
	while (rc == CLI_OK && (opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (opt) {
		case 'h': fputs(rfm_usage, stdout); return CLI_OK;
		case OPT_AT: rc = parse_time("rfm", "--at", optarg, &at); break;
		case OPT_WINDOW: rc = parse_i32("rfm", "--window-days", optarg, &o.window_days); break;
		case OPT_NEW: rc = parse_i32("rfm", "--new-days", optarg, &o.new_days); break;
		case OPT_DORMANT: rc = parse_i32("rfm", "--dormant-days", optarg, &o.dormant_days); break;
		case OPT_CHURN: rc = parse_i32("rfm", "--churn-days", optarg, &o.churn_days); break;
		case OPT_CURRENCY: o.currency = optarg; break;
		case OPT_CUSTOMERS: customers = 1; break;
		default:
			rc = cli_common_option(c, opt, optarg, "rfm");
			if (rc == -1)
				rc = CLI_EUSAGE;
		}
	}
	if (rc != CLI_OK)
		return rc;
	if (optind >= argc)
		return cli_usage_error("rfm", "expected get, segments or recompute");
	const char *sub = argv[optind];
	ProtobufCMessage *resp = NULL;
	if (strcmp(sub, "get") == 0) {
		if (optind + 2 != argc)
			return cli_usage_error("rfm", "rfm get takes one CUSTOMER");
		Dealdesk__V1__GetCustomerValueRequest q;
		dealdesk__v1__get_customer_value_request__init(&q);
		q.customer_id = argv[optind + 1];
		q.at = at;
		q.options = &o;
		rc = cli_call(c, SVC "GetCustomerValue", &q.base,
		              &dealdesk__v1__customer_value__descriptor, &resp);
		return finish(c, rc, resp, text_value);
	}
	if (optind + 1 != argc)
		return cli_usage_error("rfm", "unexpected argument '%s'", argv[optind + 1]);
	if (strcmp(sub, "segments") == 0) {
		Dealdesk__V1__ListSegmentsRequest q;
		dealdesk__v1__list_segments_request__init(&q);
		q.at = at;
		q.options = &o;
		q.customers = customers;
		rc = cli_call(c, SVC "ListSegments", &q.base,
		              &dealdesk__v1__list_segments_response__descriptor, &resp);
		return finish(c, rc, resp, text_segments);
	}
	if (strcmp(sub, "recompute") == 0) {
		Dealdesk__V1__RecomputeRfmRequest q;
		dealdesk__v1__recompute_rfm_request__init(&q);
		q.at = at;
		q.options = &o;
		rc = cli_call(c, SVC "RecomputeRfm", &q.base,
		              &dealdesk__v1__recompute_rfm_response__descriptor, &resp);
		return finish(c, rc, resp, text_recompute);
	}
	return cli_usage_error("rfm", "unknown subcommand '%s' (get, segments, recompute)", sub);
}

/* ---- experiments ------------------------------------------------------------ */

void cli_print_experiment(FILE *f, const Dealdesk__V1__ExperimentReport *e)
{
	int exp = *e->currency ? dd_currency_exponent(e->currency) : -1;
	fprintf(f, "experiment %s (promotion %s%s%s): %llu customers", e->experiment_id,
	        e->promotion_id, *e->currency ? ", " : "", e->currency,
	        (unsigned long long)e->customers);
	if (e->planned_sample_size)
		fprintf(f, ", planned %llu per arm%s", (unsigned long long)e->planned_sample_size,
		        e->sample_reached ? " (reached)" : " (not reached)");
	fputc('\n', f);
	static const char *const head[] = { "ARM", "CUSTOMERS", "QUOTES", "COMMITS", "CONV%",
		                            "REVENUE", "DISCOUNT", "MARGIN", "ROI",
		                            "DIFF [95% CI]", "Z", "P", "UNPAID", "OVERDUE", "ROI NET" };
	cli_table *t = cli_table_new("lrrrrrrrrlrrrrr", head);
	for (size_t i = 0; i < e->n_arms; i++) {
		const Dealdesk__V1__ArmReport *a = e->arms[i];
		char cu[24], qu[24], co[24], cv[24], rev[48], dc[48], mg[48], roi[24], ci[80], z[24], p[24], un[48], ov[48], rn[24], name[80];
		snprintf(name, sizeof(name), "%s%s", a->arm,
		         a->control && strcmp(a->arm, "control") ? " (control)" : "");
		snprintf(cu, sizeof(cu), "%llu", (unsigned long long)a->customers);
		snprintf(qu, sizeof(qu), "%llu", (unsigned long long)a->quotes);
		snprintf(co, sizeof(co), "%llu", (unsigned long long)a->commits);
		snprintf(cv, sizeof(cv), "%.2f", 100 * a->conversion);
		cli_money(a->revenue, exp, rev, sizeof(rev));
		cli_money(a->discount_cost, exp, dc, sizeof(dc));
		cli_money(a->margin, exp, mg, sizeof(mg));
		cli_money(a->unpaid, exp, un, sizeof(un));
		cli_money(a->overdue, exp, ov, sizeof(ov));
		snprintf(roi, sizeof(roi), a->has_roi ? "%.3f" : "-", a->roi);
		snprintf(rn, sizeof(rn), a->has_roi ? "%.3f" : "-", a->roi_net_overdue);
		if (a->has_test) {
			snprintf(ci, sizeof(ci), "%+.4f [%+.4f, %+.4f]", a->diff, a->ci_low, a->ci_high);
			snprintf(z, sizeof(z), "%.3f", a->z);
			snprintf(p, sizeof(p), "%.4g", a->p_value);
		} else {
			strcpy(ci, "-");
			strcpy(z, "-");
			strcpy(p, "-");
		}
		const char *cells[] = { name, cu, qu, co, cv, rev, dc, mg, roi, ci, z, p, un, ov, rn };
		cli_table_row(t, cells);
	}
	cli_table_print(t, f, "  ");
	cli_table_free(t);
	if (*e->srm_status)
		fprintf(f, "  sample ratio: chi-square %.4f, df %u, p %.4g: %s\n", e->srm_chi_square,
		        e->srm_df, e->srm_p_value, e->srm_status);
	for (size_t i = 0; i < e->n_warnings; i++)
		fprintf(f, "  warning: %s\n", e->warnings[i]);
}

static void text_experiments(const ProtobufCMessage *m)
{
	const Dealdesk__V1__GetExperimentReportResponse *r = (const void *)m;
	if (r->n_experiments == 0)
		printf("no experiments\n");
	for (size_t i = 0; i < r->n_experiments; i++)
		cli_print_experiment(stdout, r->experiments[i]);
}

int cli_cmd_experiments(cli *c, int argc, char **argv)
{
	static const struct option options[] = {
		{ "at", required_argument, NULL, OPT_AT },
		{ "currency", required_argument, NULL, OPT_CURRENCY },
		{ "planned", required_argument, NULL, OPT_PLANNED },
		{ "baseline-bps", required_argument, NULL, OPT_BASELINE },
		{ "min-effect-bps", required_argument, NULL, OPT_EFFECT },
		CLI_GLOBAL_OPTIONS
	};
	Dealdesk__V1__GetExperimentReportRequest q;
	dealdesk__v1__get_experiment_report_request__init(&q);
	int rc = CLI_OK, opt;
	while (rc == CLI_OK && (opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (opt) {
		case 'h': fputs(exp_usage, stdout); return CLI_OK;
		case OPT_AT: rc = parse_time("experiments", "--at", optarg, &q.at); break;
		case OPT_CURRENCY: q.currency = optarg; break;
		case OPT_PLANNED:
			if (!cli_parse_uint64(optarg, &q.planned_sample_size))
				rc = cli_usage_error("experiments", "--planned '%s': expected a count",
				                     optarg);
			break;
		case OPT_BASELINE:
			rc = parse_i32("experiments", "--baseline-bps", optarg, &q.baseline_bps);
			break;
		case OPT_EFFECT:
			rc = parse_i32("experiments", "--min-effect-bps", optarg, &q.min_effect_bps);
			break;
		default:
			rc = cli_common_option(c, opt, optarg, "experiments");
			if (rc == -1)
				rc = CLI_EUSAGE;
		}
	}
	if (rc != CLI_OK)
		return rc;
	if (optind + 1 < argc)
		return cli_usage_error("experiments", "at most one EXPERIMENT_ID");
	if (optind < argc)
		q.experiment_id = argv[optind];
	ProtobufCMessage *resp = NULL;
	rc = cli_call(c, SVC "GetExperimentReport", &q.base,
	              &dealdesk__v1__get_experiment_report_response__descriptor, &resp);
	return finish(c, rc, resp, text_experiments);
}

/* ---- kpis -------------------------------------------------------------------- */

int cli_kpis_parse(cli *c, const char *cmd, int argc, char **argv,
                   Dealdesk__V1__GetSalesKpisRequest *q, int *csv, const char **html)
{
	static const struct option options[] = {
		{ "currency", required_argument, NULL, OPT_CURRENCY },
		{ "from", required_argument, NULL, OPT_FROM },
		{ "to", required_argument, NULL, OPT_TO },
		{ "period", required_argument, NULL, OPT_PERIOD },
		{ "by-channel", no_argument, NULL, OPT_BY_CHANNEL },
		{ "by-region", no_argument, NULL, OPT_BY_REGION },
		{ "csv", no_argument, NULL, OPT_CSV },
		{ "html", required_argument, NULL, OPT_AT },
		CLI_GLOBAL_OPTIONS
	};
	int rc = CLI_OK, opt;
	while (rc == CLI_OK && (opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (opt) {
		case 'h': return -1;
		case OPT_CURRENCY: q->currency = optarg; break;
		case OPT_FROM: rc = parse_time(cmd, "--from", optarg, &q->from_time); break;
		case OPT_TO: rc = parse_time(cmd, "--to", optarg, &q->to_time); break;
		case OPT_PERIOD: q->period = optarg; break;
		case OPT_BY_CHANNEL: q->by_channel = 1; break;
		case OPT_BY_REGION: q->by_region = 1; break;
		case OPT_CSV:
			if (csv == NULL)
				return cli_usage_error(cmd, "--csv is for dealdesk kpis");
			*csv = 1;
			break;
		case OPT_AT:
			if (html == NULL)
				return cli_usage_error(cmd, "--html is for dealdesk report");
			*html = optarg;
			break;
		default:
			rc = cli_common_option(c, opt, optarg, cmd);
			if (rc == -1)
				rc = CLI_EUSAGE;
		}
	}
	if (rc == CLI_OK && optind < argc)
		rc = cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	if (rc == CLI_OK && !*q->currency && csv != NULL)
		rc = cli_usage_error(cmd, "--currency is required");
	return rc;
}

static const char *const kpi_head[] = {
	"period_start", "period_end", "channel", "region", "orders", "customers", "revenue",
	"discount", "discount_share", "margin", "credit_sales", "collected", "opening_ar",
	"closing_ar", "collection_rate", "dso", "best_dso", "avg_days_delinquent", "cei",
	"repurchase_rate", "promotion_roi",
};

static void kpi_cells(const Dealdesk__V1__SalesKpis *k, int exp, int iso, char cell[21][48])
{
	if (iso) {
		cli_time(k->period_start, cell[0], 48);
		cli_time(k->period_end, cell[1], 48);
	} else {
		snprintf(cell[0], 48, "%lld", (long long)k->period_start);
		snprintf(cell[1], 48, "%lld", (long long)k->period_end);
	}
	snprintf(cell[2], 48, "%s", k->channel);
	snprintf(cell[3], 48, "%s", k->region);
	snprintf(cell[4], 48, "%llu", (unsigned long long)k->orders);
	snprintf(cell[5], 48, "%llu", (unsigned long long)k->customers);
	cli_money(k->revenue, exp, cell[6], 48);
	cli_money(k->discount, exp, cell[7], 48);
	snprintf(cell[8], 48, "%.2f", k->discount_share);
	cli_money(k->margin, exp, cell[9], 48);
	cli_money(k->credit_sales, exp, cell[10], 48);
	cli_money(k->collected, exp, cell[11], 48);
	cli_money(k->opening_ar, exp, cell[12], 48);
	cli_money(k->closing_ar, exp, cell[13], 48);
	snprintf(cell[14], 48, "%.2f", k->collection_rate);
	snprintf(cell[15], 48, "%.2f", k->dso);
	snprintf(cell[16], 48, "%.2f", k->best_dso);
	snprintf(cell[17], 48, "%.2f", k->avg_days_delinquent);
	snprintf(cell[18], 48, "%.2f", k->cei);
	snprintf(cell[19], 48, "%.2f", k->repurchase_rate);
	snprintf(cell[20], 48, "%.3f", k->promotion_roi);
}

static void print_kpis(const Dealdesk__V1__GetSalesKpisResponse *r, int csv)
{
	int exp = dd_currency_exponent(r->currency);
	char cell[21][48];
	if (csv) {
		for (int i = 0; i < 21; i++)
			printf("%s%s", i ? "," : "", kpi_head[i]);
		putchar('\n');
		for (size_t i = 0; i < r->n_rows; i++) {
			kpi_cells(r->rows[i], exp, 0, cell);
			for (int j = 0; j < 21; j++) {
				/* channel and region are the only free text: quote them */
				if (j == 2 || j == 3) {
					putchar(',');
					putchar('"');
					for (const char *s = cell[j]; *s; s++) {
						if (*s == '"')
							putchar('"');
						putchar(*s);
					}
					putchar('"');
				} else {
					printf("%s%s", j ? "," : "", cell[j]);
				}
			}
			putchar('\n');
		}
		return;
	}
	static const char *const head[] = { "PERIOD", "CHANNEL", "REGION", "ORDERS", "REVENUE",
		                            "DISC%", "MARGIN", "COLLECT%", "DSO", "BEST DSO",
		                            "ADD", "CEI", "REPEAT%", "PROMO ROI" };
	cli_table *t = cli_table_new("lllrrrrrrrrrrr", head);
	for (size_t i = 0; i < r->n_rows; i++) {
		kpi_cells(r->rows[i], exp, 1, cell);
		char period[100];
		snprintf(period, sizeof(period), "%.10s..%.10s", cell[0], cell[1]);
		const char *cells[] = { period,   cell[2],  cell[3],  cell[4],  cell[6],
			                cell[8],  cell[9],  cell[14], cell[15], cell[16],
			                cell[17], cell[18], cell[19], cell[20] };
		cli_table_row(t, cells);
	}
	printf("sales KPIs in %s\n", r->currency);
	cli_table_print(t, stdout, "");
	cli_table_free(t);
}

int cli_cmd_kpis(cli *c, int argc, char **argv)
{
	Dealdesk__V1__GetSalesKpisRequest q;
	dealdesk__v1__get_sales_kpis_request__init(&q);
	int csv = 0;
	int rc = cli_kpis_parse(c, "kpis", argc, argv, &q, &csv, NULL);
	if (rc == -1) {
		fputs(kpi_usage, stdout);
		return CLI_OK;
	}
	if (rc != CLI_OK)
		return rc;
	ProtobufCMessage *resp = NULL;
	rc = cli_call(c, SVC "GetSalesKpis", &q.base, &dealdesk__v1__get_sales_kpis_response__descriptor,
	              &resp);
	if (rc != CLI_OK)
		return rc;
	if (c->json)
		rc = cli_print_json(resp, false);
	else
		print_kpis((const void *)resp, csv);
	protobuf_c_message_free_unpacked(resp, NULL);
	return rc;
}
