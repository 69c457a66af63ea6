/* dealdesk report --html FILE: one self-contained HTML page (inline CSS and
 * SVG, no script, nothing fetched) with the sales KPIs over time, the RFM
 * segment sizes and the experiment results with their intervals. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/analytics.h"
#include "dealdesk/money.h"

#define SVC "/dealdesk.v1.AnalyticsService/"
#define REPORT_DAYS 84

static const char usage[] =
	"usage: dealdesk report --html FILE [--currency CUR] [--from UNIX] [--to UNIX]\n"
	"                       [--period day|week|month] [--by-channel] [--by-region]\n"
	"\n"
	"Writes one self-contained HTML page (inline SVG charts, no network): the sales\n"
	"KPIs over time (default: weekly over the 12 weeks before --to, in USD), the RFM\n"
	"segment sizes and lifecycle stages, and every experiment's arms with the 95 %\n"
	"intervals of their conversion difference against control.\n";

static void esc(FILE *f, const char *s)
{
	for (; s && *s; s++)
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
}

static void date(int64_t t, char *buf, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(buf, n, "%Y-%m-%d", &tm);
}

static double major(int64_t v, int exp)
{
	return (double)v / pow(10, exp > 0 ? exp : 0);
}

/* Bars of revenue and margin per period, with the axis. */
static void chart_revenue(FILE *f, const Dealdesk__V1__GetSalesKpisResponse *k, int exp)
{
	const double W = 720, H = 240, L = 60, B = 30;
	double top = 0;
	for (size_t i = 0; i < k->n_rows; i++) {
		top = fmax(top, major(k->rows[i]->revenue, exp));
		top = fmax(top, major(k->rows[i]->margin, exp));
	}
	if (top <= 0)
		top = 1;
	size_t n = k->n_rows ? k->n_rows : 1;
	double slot = (W - L - 10) / (double)n, bw = slot * 0.38;
	fprintf(f, "<svg id=\"chart-revenue\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
	           "role=\"img\" aria-label=\"revenue and margin per period\">\n",
	        W, H, W, H);
	for (int g = 0; g <= 4; g++) {
		double y = H - B - (H - B - 24) * g / 4.0;
		fprintf(f, "<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" class=\"grid\"/>"
		           "<text x=\"%.0f\" y=\"%.1f\" class=\"ax\" text-anchor=\"end\">%.0f</text>\n",
		        L, y, W - 10, y, L - 4, y + 4, top * g / 4.0);
	}
	for (size_t i = 0; i < k->n_rows; i++) {
		const Dealdesk__V1__SalesKpis *r = k->rows[i];
		double x = L + slot * (double)i + slot * 0.1;
		double hr = (H - B - 24) * fmax(0, major(r->revenue, exp)) / top;
		double hm = (H - B - 24) * fmax(0, major(r->margin, exp)) / top;
		char d[16];
		date(r->period_start, d, sizeof(d));
		fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" class=\"rev\">"
		           "<title>%s revenue %.2f</title></rect>\n",
		        x, H - B - hr, bw, hr, d, major(r->revenue, exp));
		fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" class=\"mar\">"
		           "<title>%s margin %.2f</title></rect>\n",
		        x + bw, H - B - hm, bw, hm, d, major(r->margin, exp));
		if (n <= 16 || i % (n / 8 + 1) == 0)
			fprintf(f, "<text x=\"%.1f\" y=\"%.0f\" class=\"ax\" text-anchor=\"middle\">%s</text>\n",
			        x + bw, H - 10, d + 5);
	}
	fprintf(f, "<rect x=\"%.0f\" y=\"4\" width=\"10\" height=\"10\" class=\"rev\"/>"
	           "<text x=\"%.0f\" y=\"13\" class=\"ax\">revenue</text>"
	           "<rect x=\"%.0f\" y=\"4\" width=\"10\" height=\"10\" class=\"mar\"/>"
	           "<text x=\"%.0f\" y=\"13\" class=\"ax\">margin after discounts</text>\n</svg>\n",
	        L + 10, L + 24, L + 90, L + 104);
}

/* Lines of collection rate and CEI (percent) per period. */
static void chart_collection(FILE *f, const Dealdesk__V1__GetSalesKpisResponse *k)
{
	const double W = 720, H = 200, L = 60, B = 30;
	size_t n = k->n_rows;
	double step = n > 1 ? (W - L - 20) / (double)(n - 1) : 0;
	fprintf(f, "<svg id=\"chart-collection\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
	           "role=\"img\" aria-label=\"collection rate and CEI per period\">\n",
	        W, H, W, H);
	for (int g = 0; g <= 4; g++) {
		double y = H - B - (H - B - 24) * g / 4.0;
		fprintf(f, "<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" class=\"grid\"/>"
		           "<text x=\"%.0f\" y=\"%.1f\" class=\"ax\" text-anchor=\"end\">%d%%</text>\n",
		        L, y, W - 10, y, L - 4, y + 4, 25 * g);
	}
	const char *cls[] = { "l1", "l2" };
	for (int s = 0; s < 2; s++) {
		fprintf(f, "<polyline class=\"%s\" points=\"", cls[s]);
		for (size_t i = 0; i < n; i++) {
			double v = s == 0 ? k->rows[i]->collection_rate : k->rows[i]->cei;
			v = fmin(100, fmax(0, v));
			fprintf(f, "%.1f,%.1f ", L + 10 + step * (double)i, H - B - (H - B - 24) * v / 100);
		}
		fputs("\"/>\n", f);
	}
	fprintf(f, "<text x=\"%.0f\" y=\"13\" class=\"ax l1t\">collection rate</text>"
	           "<text x=\"%.0f\" y=\"13\" class=\"ax l2t\">CEI</text>\n</svg>\n",
	        L + 10, L + 120);
}

static void chart_segments(FILE *f, const Dealdesk__V1__ListSegmentsResponse *s)
{
	const double W = 720, row = 22, L = 150;
	double H = row * (double)s->n_segments + 10;
	uint64_t top = 1;
	for (size_t i = 0; i < s->n_segments; i++)
		if (s->segments[i]->customers > top)
			top = s->segments[i]->customers;
	fprintf(f, "<svg id=\"chart-segments\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
	           "role=\"img\" aria-label=\"customers per RFM segment\">\n",
	        W, H, W, H);
	for (size_t i = 0; i < s->n_segments; i++) {
		double y = 5 + row * (double)i;
		double w = (W - L - 60) * (double)s->segments[i]->customers / (double)top;
		fprintf(f, "<text x=\"%.0f\" y=\"%.1f\" class=\"ax\" text-anchor=\"end\">", L - 6, y + 14);
		esc(f, s->segments[i]->segment);
		fprintf(f, "</text><rect x=\"%.0f\" y=\"%.1f\" width=\"%.1f\" height=\"16\" class=\"seg\"/>"
		           "<text x=\"%.1f\" y=\"%.1f\" class=\"ax\">%llu</text>\n",
		        L, y, w, L + w + 4, y + 13, (unsigned long long)s->segments[i]->customers);
	}
	fputs("</svg>\n", f);
}

/* The difference of conversion against control with its 95 % interval. */
static void chart_experiment(FILE *f, const Dealdesk__V1__ExperimentReport *e, size_t idx)
{
	const double W = 720, row = 28, L = 150, R = 40;
	size_t n = 0;
	double span = 0.01;
	for (size_t i = 0; i < e->n_arms; i++)
		if (e->arms[i]->has_test) {
			n++;
			span = fmax(span, fmax(fabs(e->arms[i]->ci_low), fabs(e->arms[i]->ci_high)));
		}
	if (n == 0)
		return;
	span *= 1.1;
	double H = row * (double)n + 34, mid = L + (W - L - R) / 2, scale = (W - L - R) / 2 / span;
	fprintf(f, "<svg id=\"chart-exp-%zu\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
	           "role=\"img\" aria-label=\"conversion difference against control, 95%% CI\">\n",
	        idx, W, H, W, H);
	fprintf(f, "<line x1=\"%.1f\" y1=\"4\" x2=\"%.1f\" y2=\"%.0f\" class=\"zero\"/>\n", mid, mid,
	        H - 22);
	fprintf(f, "<text x=\"%.1f\" y=\"%.0f\" class=\"ax\" text-anchor=\"middle\">%+.1f pp</text>"
	           "<text x=\"%.1f\" y=\"%.0f\" class=\"ax\" text-anchor=\"middle\">0</text>"
	           "<text x=\"%.1f\" y=\"%.0f\" class=\"ax\" text-anchor=\"middle\">%+.1f pp</text>\n",
	        L, H - 6, -100 * span, mid, H - 6, W - R, H - 6, 100 * span);
	size_t k = 0;
	for (size_t i = 0; i < e->n_arms; i++) {
		const Dealdesk__V1__ArmReport *a = e->arms[i];
		if (!a->has_test)
			continue;
		double y = 14 + row * (double)k++;
		fprintf(f, "<text x=\"%.0f\" y=\"%.1f\" class=\"ax\" text-anchor=\"end\">", L - 6, y + 4);
		esc(f, a->arm);
		fprintf(f, "</text><line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"ci\"/>"
		           "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"5\" class=\"%s\"><title>diff %+.4f, "
		           "95%% CI [%+.4f, %+.4f], p %.4g</title></circle>\n",
		        mid + a->ci_low * scale, y, mid + a->ci_high * scale, y, mid + a->diff * scale, y,
		        a->p_value < 0.05 ? "sig" : "pt", a->diff, a->ci_low, a->ci_high, a->p_value);
	}
	fputs("</svg>\n", f);
}

static void kpi_table(FILE *f, const Dealdesk__V1__GetSalesKpisResponse *k, int exp)
{
	fputs("<table id=\"kpis\"><tr><th>period</th><th>channel</th><th>region</th><th>orders</th>"
	      "<th>revenue</th><th>discount %</th><th>margin</th><th>collection %</th><th>DSO</th>"
	      "<th>best DSO</th><th>ADD</th><th>CEI %</th><th>repurchase %</th><th>promo ROI</th></tr>\n",
	      f);
	for (size_t i = 0; i < k->n_rows; i++) {
		const Dealdesk__V1__SalesKpis *r = k->rows[i];
		char a[16], b[16], rev[48], mar[48];
		date(r->period_start, a, sizeof(a));
		date(r->period_end, b, sizeof(b));
		fprintf(f, "<tr><td>%s .. %s</td><td>", a, b);
		esc(f, r->channel);
		fputs("</td><td>", f);
		esc(f, r->region);
		fprintf(f, "</td><td>%llu</td><td>%s</td><td>%.2f</td><td>%s</td><td>%.2f</td>"
		           "<td>%.2f</td><td>%.2f</td><td>%.2f</td><td>%.2f</td><td>%.2f</td><td>%.3f</td></tr>\n",
		        (unsigned long long)r->orders, cli_money(r->revenue, exp, rev, sizeof(rev)),
		        r->discount_share, cli_money(r->margin, exp, mar, sizeof(mar)), r->collection_rate,
		        r->dso, r->best_dso, r->avg_days_delinquent, r->cei, r->repurchase_rate,
		        r->promotion_roi);
	}
	fputs("</table>\n", f);
}

static void experiment_table(FILE *f, const Dealdesk__V1__ExperimentReport *e)
{
	int exp = *e->currency ? dd_currency_exponent(e->currency) : -1;
	fputs("<table class=\"exp\"><tr><th>arm</th><th>customers</th><th>quotes</th><th>commits</th>"
	      "<th>conversion</th><th>revenue</th><th>discount cost</th><th>margin</th><th>ROI</th>"
	      "<th>diff (95% CI)</th><th>p</th><th>unpaid</th><th>overdue</th><th>ROI net of overdue</th></tr>\n",
	      f);
	for (size_t i = 0; i < e->n_arms; i++) {
		const Dealdesk__V1__ArmReport *a = e->arms[i];
		char rev[48], dc[48], mg[48], un[48], ov[48];
		fputs("<tr><td>", f);
		esc(f, a->arm);
		fprintf(f, "%s</td><td>%llu</td><td>%llu</td><td>%llu</td><td>%.2f %%</td><td>%s</td>"
		           "<td>%s</td><td>%s</td>",
		        a->control && strcmp(a->arm, "control") ? " (control)" : "", (unsigned long long)a->customers,
		        (unsigned long long)a->quotes, (unsigned long long)a->commits, 100 * a->conversion,
		        cli_money(a->revenue, exp, rev, sizeof(rev)),
		        cli_money(a->discount_cost, exp, dc, sizeof(dc)),
		        cli_money(a->margin, exp, mg, sizeof(mg)));
		if (a->has_roi)
			fprintf(f, "<td>%.3f</td>", a->roi);
		else
			fputs("<td>-</td>", f);
		if (a->has_test)
			fprintf(f, "<td>%+.2f pp [%+.2f, %+.2f]</td><td>%.4g</td>", 100 * a->diff,
			        100 * a->ci_low, 100 * a->ci_high, a->p_value);
		else
			fputs("<td>-</td><td>-</td>", f);
		fprintf(f, "<td>%s</td><td>%s</td>", cli_money(a->unpaid, exp, un, sizeof(un)),
		        cli_money(a->overdue, exp, ov, sizeof(ov)));
		if (a->has_roi)
			fprintf(f, "<td>%.3f</td></tr>\n", a->roi_net_overdue);
		else
			fputs("<td>-</td></tr>\n", f);
	}
	fputs("</table>\n", f);
}

static const char style[] =
	"<style>\n"
	"body{font-family:sans-serif;margin:24px;color:#222;max-width:1100px}\n"
	"h1{font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ccc}h3{font-size:14px}\n"
	"table{border-collapse:collapse;font-size:12px;margin:8px 0}\n"
	"td,th{border:1px solid #ddd;padding:3px 6px;text-align:right}th{background:#f3f3f3}\n"
	"td:first-child{text-align:left}\n"
	".ax{font-size:11px;fill:#444}.grid{stroke:#e4e4e4}.rev{fill:#4e79a7}.mar{fill:#59a14f}\n"
	".seg{fill:#f28e2b}.l1{fill:none;stroke:#4e79a7;stroke-width:2}.l2{fill:none;stroke:#e15759;stroke-width:2}\n"
	".l1t{fill:#4e79a7}.l2t{fill:#e15759}.zero{stroke:#999;stroke-dasharray:4 3}\n"
	".ci{stroke:#333;stroke-width:2}.pt{fill:#888}.sig{fill:#e15759}.warn{color:#b00}\n"
	"</style>\n";

static int write_html(const char *path, const char *server,
                      const Dealdesk__V1__GetSalesKpisResponse *k,
                      const Dealdesk__V1__ListSegmentsResponse *s,
                      const Dealdesk__V1__GetExperimentReportResponse *e)
{
	FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");
	if (f == NULL)
		return cli_error(CLI_EUSAGE, "%s: cannot write", path);
	int exp = dd_currency_exponent(k->currency);
	char now[32];
	cli_time(s->at, now, sizeof(now));
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	      "<title>dealdesk: customer value and sales results</title>\n", f);
	fputs(style, f);
	fputs("</head><body>\n<h1>dealdesk: customer value and sales results</h1>\n<p>", f);
	esc(f, server);
	fprintf(f, " at %s, data version %llu, amounts in ", now,
	        (unsigned long long)s->data_version);
	esc(f, k->currency);
	fputs("</p>\n<h2>Sales KPIs over time</h2>\n", f);
	chart_revenue(f, k, exp);
	chart_collection(f, k);
	kpi_table(f, k, exp);
	fputs("<h2>Customer segments (RFM)</h2>\n", f);
	chart_segments(f, s);
	fputs("<table id=\"lifecycle\"><tr><th>lifecycle stage</th><th>customers</th></tr>\n", f);
	for (size_t i = 0; i < s->n_lifecycle; i++)
		fprintf(f, "<tr><td>%s</td><td>%llu</td></tr>\n", s->lifecycle[i]->stage,
		        (unsigned long long)s->lifecycle[i]->customers);
	fputs("</table>\n<h2>Experiments</h2>\n", f);
	if (e == NULL || e->n_experiments == 0)
		fputs("<p>No experiments.</p>\n", f);
	for (size_t i = 0; e && i < e->n_experiments; i++) {
		const Dealdesk__V1__ExperimentReport *x = e->experiments[i];
		fputs("<h3>", f);
		esc(f, x->experiment_id);
		fputs(" (promotion ", f);
		esc(f, x->promotion_id);
		fprintf(f, "), %llu customers", (unsigned long long)x->customers);
		if (*x->srm_status)
			fprintf(f, "; sample ratio chi-square %.3f, p %.4g: %s", x->srm_chi_square,
			        x->srm_p_value, x->srm_status);
		fputs("</h3>\n", f);
		experiment_table(f, x);
		chart_experiment(f, x, i);
		for (size_t w = 0; w < x->n_warnings; w++) {
			fputs("<p class=\"warn\">warning: ", f);
			esc(f, x->warnings[w]);
			fputs("</p>\n", f);
		}
	}
	fputs("</body></html>\n", f);
	int bad = ferror(f);
	if (f != stdout && fclose(f) != 0)
		bad = 1;
	return bad ? cli_error(CLI_EUSAGE, "%s: cannot write", path) : CLI_OK;
}

int cli_cmd_report(cli *c, int argc, char **argv)
{
	Dealdesk__V1__GetSalesKpisRequest q;
	dealdesk__v1__get_sales_kpis_request__init(&q);
	q.currency = "";
	const char *html = NULL;
	int rc = cli_kpis_parse(c, "report", argc, argv, &q, NULL, &html);
	if (rc == -1) {
		fputs(usage, stdout);
		return CLI_OK;
	}
	if (rc != CLI_OK)
		return rc;
	if (!*q.currency)
		q.currency = "USD";
	if (html == NULL)
		return cli_usage_error("report", "--html FILE is required");
	if (!*q.period)
		q.period = "week";
	if (q.to_time == 0)
		q.to_time = (int64_t)time(NULL);
	if (q.from_time == 0)
		q.from_time = q.to_time - REPORT_DAYS * 86400;
	ProtobufCMessage *k = NULL, *s = NULL, *e = NULL;
	rc = cli_call(c, SVC "GetSalesKpis", &q.base, &dealdesk__v1__get_sales_kpis_response__descriptor,
	              &k);
	Dealdesk__V1__ListSegmentsRequest sq;
	dealdesk__v1__list_segments_request__init(&sq);
	sq.at = q.to_time;
	if (rc == CLI_OK)
		rc = cli_call(c, SVC "ListSegments", &sq.base,
		              &dealdesk__v1__list_segments_response__descriptor, &s);
	Dealdesk__V1__GetExperimentReportRequest eq;
	dealdesk__v1__get_experiment_report_request__init(&eq);
	eq.at = q.to_time;
	if (rc == CLI_OK)
		rc = cli_call(c, SVC "GetExperimentReport", &eq.base,
		              &dealdesk__v1__get_experiment_report_response__descriptor, &e);
	if (rc == CLI_OK)
		rc = write_html(html, c->server, (const void *)k, (const void *)s, (const void *)e);
	if (rc == CLI_OK && strcmp(html, "-") != 0)
		fprintf(stderr, "report: wrote %s\n", html);
	if (k)
		protobuf_c_message_free_unpacked(k, NULL);
	if (s)
		protobuf_c_message_free_unpacked(s, NULL);
	if (e)
		protobuf_c_message_free_unpacked(e, NULL);
	return rc;
}
