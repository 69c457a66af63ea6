/* dealdesk quote: builds a QuoteRequest from a JSON file or from flags, calls
 * dealdesk.v1.QuoteService/Quote and prints the priced order. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "dealdesk/money.h"
#include "dealdesk/pbjson.h"
#include "dealdesk/v1/quote.pb-c.h"

static const char usage[] =
	"usage: dealdesk quote --file REQ.json [--explain]\n"
	"       dealdesk quote --customer ID --currency CUR --line SKU:QTY [--line ...]\n"
	"                      [--channel C] [--region R] [--coupon CODE ...]\n"
	"                      [--time UNIX] [--order-id ID] [--attr KEY=VALUE ...]\n"
	"                      [--explain]\n"
	"\n"
	"Prices an order with dealdesk.v1.QuoteService/Quote.\n"
	"  --file F        a QuoteRequest as JSON (\"-\" = stdin); field names in\n"
	"                  snake_case or lowerCamelCase\n"
	"  --customer ID   the customer (required without --file)\n"
	"  --currency CUR  ISO 4217 code, e.g. USD (required without --file)\n"
	"  --line SKU:QTY  an order line; repeat for more lines (at least one)\n"
	"  --coupon CODE   a coupon code; repeatable\n"
	"  --attr K=V      an attribute passed to the policies; repeatable\n"
	"  --time UNIX     the time to quote for (default: the server's now)\n"
	"  --order-id ID   the order this quote is for (echoed back)\n"
	"  --explain       also print the pricing/promotion/credit/compliance trace\n"
	"\n"
	"Text output is a table of the lines, the totals, the credit decision and\n"
	"compliance results; with --json the QuoteResponse as JSON.\n";

enum {
	OPT_FILE = 1, OPT_CUSTOMER, OPT_CURRENCY, OPT_CHANNEL, OPT_REGION, OPT_LINE,
	OPT_COUPON, OPT_TIME, OPT_ORDER, OPT_ATTR, OPT_EXPLAIN,
};

/* What the flags give; arrays hold at most argc entries. */
typedef struct quote_flags {
	const char *file;
	bool any_field; /* a flag other than --file and --explain */
	bool explain;
	Dealdesk__V1__QuoteRequest req;
	Dealdesk__V1__LineRequest *line_store;
	Dealdesk__V1__LineRequest **lines;
	char **coupons;
	Dealdesk__V1__QuoteRequest__AttributesEntry *attr_store;
	Dealdesk__V1__QuoteRequest__AttributesEntry **attrs;
	char **copies; /* strings split out of argv, freed at the end */
	size_t n_copies;
} quote_flags;

static char *keep_copy(quote_flags *q, const char *s, size_t len)
{
	char *copy = strndup(s, len);
	if (copy == NULL)
		abort();
	q->copies[q->n_copies++] = copy;
	return copy;
}

static int add_line(quote_flags *q, const char *arg)
{
	const char *colon = strrchr(arg, ':');
	int64_t qty;
	if (colon == NULL || colon == arg || !cli_parse_int64(colon + 1, &qty))
		return cli_usage_error("quote", "--line '%s': expected SKU:QTY with an integer QTY",
		                       arg);
	Dealdesk__V1__LineRequest *l = &q->line_store[q->req.n_lines];
	dealdesk__v1__line_request__init(l);
	l->sku = keep_copy(q, arg, (size_t)(colon - arg));
	l->quantity = qty;
	q->lines[q->req.n_lines++] = l;
	return CLI_OK;
}

static int add_attr(quote_flags *q, const char *arg)
{
	const char *eq = strchr(arg, '=');
	if (eq == NULL || eq == arg)
		return cli_usage_error("quote", "--attr '%s': expected KEY=VALUE", arg);
	for (size_t i = 0; i < q->req.n_attributes; i++)
		if (strncmp(q->attrs[i]->key, arg, (size_t)(eq - arg)) == 0 &&
		    q->attrs[i]->key[eq - arg] == '\0')
			return cli_usage_error("quote", "--attr: '%.*s' given twice", (int)(eq - arg),
			                       arg);
	Dealdesk__V1__QuoteRequest__AttributesEntry *e = &q->attr_store[q->req.n_attributes];
	dealdesk__v1__quote_request__attributes_entry__init(e);
	e->key = keep_copy(q, arg, (size_t)(eq - arg));
	e->value = (char *)eq + 1;
	q->attrs[q->req.n_attributes++] = e;
	return CLI_OK;
}

static int parse_flags(cli *c, quote_flags *q, int argc, char **argv)
{
	static const struct option options[] = {
		{ "file", required_argument, NULL, OPT_FILE },
		{ "customer", required_argument, NULL, OPT_CUSTOMER },
		{ "currency", required_argument, NULL, OPT_CURRENCY },
		{ "channel", required_argument, NULL, OPT_CHANNEL },
		{ "region", required_argument, NULL, OPT_REGION },
		{ "line", required_argument, NULL, OPT_LINE },
		{ "coupon", required_argument, NULL, OPT_COUPON },
		{ "time", required_argument, NULL, OPT_TIME },
		{ "order-id", required_argument, NULL, OPT_ORDER },
		{ "attr", required_argument, NULL, OPT_ATTR },
		{ "explain", no_argument, NULL, OPT_EXPLAIN },
		CLI_GLOBAL_OPTIONS
	};
	int opt, rc;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		if (opt >= OPT_CUSTOMER && opt <= OPT_ATTR)
			q->any_field = true;
		switch (opt) {
		case 'h':
			fputs(usage, stdout);
			return -1;
		case OPT_FILE: q->file = optarg; break;
		case OPT_CUSTOMER: q->req.customer_id = optarg; break;
		case OPT_CURRENCY: q->req.currency = optarg; break;
		case OPT_CHANNEL: q->req.channel = optarg; break;
		case OPT_REGION: q->req.region = optarg; break;
		case OPT_ORDER: q->req.order_id = optarg; break;
		case OPT_EXPLAIN: q->explain = true; break;
		case OPT_COUPON: q->coupons[q->req.n_coupon_codes++] = optarg; break;
		case OPT_LINE:
			if ((rc = add_line(q, optarg)) != CLI_OK)
				return rc;
			break;
		case OPT_ATTR:
			if ((rc = add_attr(q, optarg)) != CLI_OK)
				return rc;
			break;
		case OPT_TIME:
			if (!cli_parse_int64(optarg, &q->req.request_time))
				return cli_usage_error("quote", "--time '%s': expected Unix seconds", optarg);
			break;
		default:
			rc = cli_common_option(c, opt, optarg, "quote");
			if (rc != 0)
				return rc == -1 ? CLI_EUSAGE : rc;
		}
	}
	if (optind < argc)
		return cli_usage_error("quote", "unexpected argument '%s'", argv[optind]);
	if (q->file != NULL && q->any_field)
		return cli_usage_error("quote", "--file cannot be combined with request flags");
	if (q->file == NULL) {
		if (*q->req.customer_id == '\0')
			return cli_usage_error("quote", "--customer is required");
		if (*q->req.currency == '\0')
			return cli_usage_error("quote", "--currency is required");
		if (q->req.n_lines == 0)
			return cli_usage_error("quote", "at least one --line SKU:QTY is required");
	}
	q->req.lines = q->lines;
	q->req.coupon_codes = q->coupons;
	q->req.attributes = q->attrs;
	q->req.explain = q->explain;
	return CLI_OK;
}

/* ---- text output ----------------------------------------------------------------- */

/* Formats into one of 8 rotating buffers, so a row or a printf can hold
 * several amounts at once. */
static const char *money(int64_t amount, int exp)
{
	static char ring[8][32];
	static unsigned next;
	char *buf = ring[next++ % 8];
	return cli_money(amount, exp, buf, sizeof(ring[0]));
}

#define MONEY(v) money((v), exp)

static void print_lines(const Dealdesk__V1__QuoteResponse *r, int exp)
{
	static const char *const head[] = { "#", "SKU", "QTY", "PRICE LIST", "LIST PRICE",
		                            "UNIT PRICE", "DISCOUNTS", "LINE TOTAL" };
	cli_table *t = cli_table_new("rlrlrrrr", head);
	char no[24], qty[24];
	bool any_detail = false;
	for (size_t i = 0; i < r->n_lines; i++) {
		const Dealdesk__V1__QuoteLine *l = r->lines[i];
		snprintf(no, sizeof(no), "%" PRId32, l->line_no);
		snprintf(qty, sizeof(qty), "%" PRId64, l->quantity);
		const char *row[] = { no, l->sku, qty, l->price_list_id, MONEY(l->unit_list_price),
			              MONEY(l->unit_price), MONEY(l->discount_total),
			              MONEY(l->line_total) };
		cli_table_row(t, row);
		any_detail |= l->n_discounts > 0 || *l->price_reason != '\0';
	}
	cli_table_print(t, stdout, "");
	cli_table_free(t);
	if (!any_detail)
		return;

	static const char *const dhead[] = { "LINE", "PROMOTION", "KIND", "AMOUNT", "WHY" };
	t = cli_table_new("rllrl", dhead);
	char kind[16];
	for (size_t i = 0; i < r->n_lines; i++) {
		const Dealdesk__V1__QuoteLine *l = r->lines[i];
		snprintf(no, sizeof(no), "%" PRId32, l->line_no);
		if (*l->price_reason != '\0') {
			const char *row[] = { no, "(price)", "", "", l->price_reason };
			cli_table_row(t, row);
		}
		for (size_t k = 0; k < l->n_discounts; k++) {
			const Dealdesk__V1__AppliedDiscount *d = l->discounts[k];
			const char *row[] = { no, d->promotion_id,
				              cli_enum(&dealdesk__v1__promotion_kind__descriptor,
				                       (int)d->kind, kind, sizeof(kind)),
				              MONEY(d->amount), d->description };
			cli_table_row(t, row);
		}
	}
	puts("\nLine adjustments:");
	cli_table_print(t, stdout, "  ");
	cli_table_free(t);
}

static void print_totals(const Dealdesk__V1__QuoteResponse *r, int exp)
{
	char kind[16];
	if (r->n_order_discounts > 0) {
		static const char *const head[] = { "PROMOTION", "KIND", "AMOUNT", "WHY" };
		cli_table *t = cli_table_new("llrl", head);
		for (size_t i = 0; i < r->n_order_discounts; i++) {
			const Dealdesk__V1__AppliedDiscount *d = r->order_discounts[i];
			const char *row[] = { d->promotion_id,
				              cli_enum(&dealdesk__v1__promotion_kind__descriptor,
				                       (int)d->kind, kind, sizeof(kind)),
				              MONEY(d->amount), d->description };
			cli_table_row(t, row);
		}
		puts("\nOrder discounts:");
		cli_table_print(t, stdout, "  ");
		cli_table_free(t);
	}
	char neg[34];
	snprintf(neg, sizeof(neg), "%s%s", r->discount_total > 0 ? "-" : "",
	         MONEY(r->discount_total));
	const char *sub = MONEY(r->subtotal), *total = MONEY(r->total);
	int w = (int)strlen(sub);
	if ((int)strlen(neg) > w)
		w = (int)strlen(neg);
	if ((int)strlen(total) > w)
		w = (int)strlen(total);
	printf("\nSubtotal   %*s %s\n", w, sub, r->currency);
	printf("Discounts  %*s %s\n", w, neg, r->currency);
	printf("Total      %*s %s\n", w, total, r->currency);
}

static void print_credit(const Dealdesk__V1__CreditDecision *cd, int exp)
{
	char outcome[32];
	if (cd == NULL) {
		puts("\nCredit: (none)");
		return;
	}
	printf("\nCredit: %s", cli_enum(&dealdesk__v1__credit_outcome__descriptor,
	                                (int)cd->outcome, outcome, sizeof(outcome)));
	if (*cd->tier != '\0')
		printf(" (tier %s)", cd->tier);
	printf("\n  terms %" PRId32 " days, deposit %s, limit %s, exposure %s, available %s\n",
	       cd->payment_terms_days, MONEY(cd->deposit_amount), MONEY(cd->credit_limit),
	       MONEY(cd->exposure), MONEY(cd->available_credit));
	for (size_t i = 0; i < cd->n_reasons; i++)
		printf("  - %s\n", cd->reasons[i]);
}

static void print_compliance(const Dealdesk__V1__QuoteResponse *r)
{
	char status[16];
	printf("\nCompliance: %s\n", cli_enum(&dealdesk__v1__compliance_status__descriptor,
	                                      (int)r->compliance_status, status, sizeof(status)));
	if (r->n_compliance == 0)
		return;
	static const char *const head[] = { "CHECK", "STATUS", "LINE", "VALUE", "LIMIT",
		                            "MESSAGE" };
	cli_table *t = cli_table_new("llrrrl", head);
	for (size_t i = 0; i < r->n_compliance; i++) {
		const Dealdesk__V1__ComplianceResult *cr = r->compliance[i];
		char line[16], value[24], limit[24];
		if (cr->line_no < 0)
			snprintf(line, sizeof(line), "order");
		else
			snprintf(line, sizeof(line), "%" PRId32, cr->line_no);
		snprintf(value, sizeof(value), "%" PRId64, cr->computed_value);
		snprintf(limit, sizeof(limit), "%" PRId64, cr->limit_value);
		const char *row[] = { cr->check_id,
			              cli_enum(&dealdesk__v1__compliance_status__descriptor,
			                       (int)cr->status, status, sizeof(status)),
			              line, value, limit, cr->message };
		cli_table_row(t, row);
	}
	cli_table_print(t, stdout, "  ");
	cli_table_free(t);
}

static void print_footer(const Dealdesk__V1__QuoteResponse *r)
{
	const Dealdesk__V1__Versions *v = r->versions;
	if (v != NULL)
		printf("\nVersions: data %" PRIu64 ", pricing %" PRIu64 ", promotions %" PRIu64
		       ", credit %" PRIu64 ", compliance %" PRIu64 "\n",
		       v->data_version, v->pricing_policy, v->promotions_policy, v->credit_policy,
		       v->compliance_policy);
	char when[32];
	printf("Decision: %s (quoted for %s", r->decision_id,
	       cli_time(r->request_time, when, sizeof(when)));
	if (*r->order_id != '\0')
		printf(", order %s", r->order_id);
	puts(")");
	if (r->n_trace == 0)
		return;
	static const char *const head[] = { "STAGE", "RULE", "APPLIED", "DETAIL" };
	cli_table *t = cli_table_new("llll", head);
	for (size_t i = 0; i < r->n_trace; i++) {
		const Dealdesk__V1__TraceEntry *e = r->trace[i];
		const char *row[] = { e->stage, e->rule, e->applied ? "yes" : "no", e->detail };
		cli_table_row(t, row);
	}
	puts("\nTrace:");
	cli_table_print(t, stdout, "  ");
	cli_table_free(t);
}

static void print_quote(const Dealdesk__V1__QuoteResponse *r)
{
	int exp = dd_currency_exponent(r->currency);
	if (exp < 0)
		exp = r->currency_exponent;
	print_lines(r, exp);
	print_totals(r, exp);
	/* the credit amounts are in the customer's credit currency, which the
	 * response does not name; a different one sends the order to REVIEW */
	print_credit(r->credit, exp);
	print_compliance(r);
	print_footer(r);
}

/* ---- the command ------------------------------------------------------------------- */

int cli_cmd_quote(cli *c, int argc, char **argv)
{
	size_t n = (size_t)argc + 1;
	quote_flags q = { 0 };
	dealdesk__v1__quote_request__init(&q.req);
	q.line_store = calloc(n, sizeof(*q.line_store));
	q.lines = calloc(n, sizeof(*q.lines));
	q.coupons = calloc(n, sizeof(*q.coupons));
	q.attr_store = calloc(n, sizeof(*q.attr_store));
	q.attrs = calloc(n, sizeof(*q.attrs));
	q.copies = calloc(2 * n, sizeof(*q.copies));
	ProtobufCMessage *from_file = NULL, *resp = NULL;
	int rc;

	if (!q.line_store || !q.lines || !q.coupons || !q.attr_store || !q.attrs || !q.copies) {
		rc = cli_error(CLI_EUSAGE, "out of memory");
		goto out;
	}
	rc = parse_flags(c, &q, argc, argv);
	if (rc != CLI_OK) {
		rc = rc < 0 ? CLI_OK : rc; /* -1: --help */
		goto out;
	}

	const ProtobufCMessage *req = &q.req.base;
	if (q.file != NULL) {
		char *text;
		size_t len;
		dd_error err;
		if ((rc = cli_read_file(q.file, &text, &len)) != CLI_OK)
			goto out;
		int prc = dd_pbjson_parse_message(text, len, &dealdesk__v1__quote_request__descriptor,
		                                  &from_file, &err);
		free(text);
		if (prc != DD_OK) {
			rc = cli_error(CLI_EUSAGE, "%s: %s", cli_file_name(q.file), err.msg);
			goto out;
		}
		if (q.explain)
			((Dealdesk__V1__QuoteRequest *)from_file)->explain = 1;
		req = from_file;
	}

	rc = cli_call(c, "/dealdesk.v1.QuoteService/Quote", req,
	              &dealdesk__v1__quote_response__descriptor, &resp);
	if (rc == CLI_OK) {
		if (c->json)
			rc = cli_print_json(resp, false);
		else
			print_quote((Dealdesk__V1__QuoteResponse *)resp);
	}

out:
	if (resp != NULL)
		protobuf_c_message_free_unpacked(resp, NULL);
	if (from_file != NULL)
		protobuf_c_message_free_unpacked(from_file, NULL);
	for (size_t i = 0; i < q.n_copies; i++)
		free(q.copies[i]);
	free(q.copies);
	free(q.line_store);
	free(q.lines);
	free(q.coupons);
	free(q.attr_store);
	free(q.attrs);
	return rc;
}
