/* dealdesk orders ... and dealdesk verify: dealdesk.v1.OrderService. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "dealdesk/csv.h"
#include "dealdesk/money.h"
#include "dealdesk/pbjson.h"
#include "dealdesk/v1/orders.pb-c.h"

static const char usage[] =
	"usage: dealdesk orders commit --order-id ID --customer ID --currency CUR --line SKU:QTY ...\n"
	"                              [--channel C] [--region R] [--coupon CODE ...] [--time UNIX]\n"
	"                              [--expected-total MINOR_UNITS]\n"
	"       dealdesk orders commit --file COMMIT.json   (a CommitRequest)\n"
	"       dealdesk orders cancel ID\n"
	"       dealdesk orders get ID\n"
	"       dealdesk orders list [--customer ID] [--state STATE] [--from UNIX] [--to UNIX]\n"
	"       dealdesk orders held\n"
	"       dealdesk orders release ID [--actor A] [--comment C]\n"
	"       dealdesk orders reject ID [--actor A] [--comment C]\n"
	"       dealdesk orders invoice ID [--time UNIX]\n"
	"       dealdesk orders pay INVOICE_ID --amount MINOR_UNITS --payment-id P [--time UNIX]\n"
	"       dealdesk orders invoice-get INVOICE_ID [--at UNIX]\n"
	"       dealdesk orders receivables-load [--dry-run] FILE.csv\n"
	"       dealdesk orders receivables-export [FILE.csv]   (default: stdout)\n"
	"\n"
	"Commits a quote as an order (idempotent on the order id: the same request\n"
	"again returns the stored order), cancels it (giving back its coupon uses,\n"
	"budgets and exposure), reads and lists orders; finance releases or rejects\n"
	"orders in CREDIT_HOLD, invoices OPEN orders (the amount becomes an open\n"
	"receivable due after the order's terms) and records payments (in full or in\n"
	"part, idempotent on --payment-id). STATE: OPEN, CREDIT_HOLD, CANCELLED,\n"
	"REJECTED, INVOICED.\n"
	"receivables-load: open items from an ERP, CSV columns (by header)\n"
	"invoice_id, customer_id, currency, amount, open_amount (empty: amount),\n"
	"issued_at, due_at; amounts in major units (12.34), times Unix seconds;\n"
	"every row is checked first and every problem reported (an invoice_id twice\n"
	"is one); with any, nothing is loaded (--dry-run: only check). At most 1000\n"
	"rows per call, each call all or nothing. receivables-export writes the\n"
	"receivables loaded this way (not the invoices of orders) in that layout.\n"
	"Text output: one line per order; with --json the Order messages.\n";

static const char verify_usage[] =
	"usage: dealdesk verify\n"
	"\n"
	"Asks the server to recompute every coupon use, promotion budget and open-order\n"
	"exposure from the orders (OrderService/VerifyCounters) and prints each counter\n"
	"that differs from the stored one. Exit status 0 when all agree, 3 when some\n"
	"differ, 1 when the call failed.\n";

#define SVC "/dealdesk.v1.OrderService/"

enum {
	OPT_FILE = 1, OPT_ORDER, OPT_CUSTOMER, OPT_CURRENCY, OPT_CHANNEL, OPT_REGION, OPT_LINE,
	OPT_COUPON, OPT_TIME, OPT_EXPECTED, OPT_STATE, OPT_FROM, OPT_TO, OPT_ACTOR, OPT_COMMENT,
	OPT_AMOUNT, OPT_PAYMENT, OPT_AT,
};

static void print_order(const Dealdesk__V1__Order *o)
{
	char st[32], oc[32], money[64], up[64];
	int exp = dd_currency_exponent(o->currency);
	printf("%s  %s  customer %s  total %s %s  credit %s  terms %d", o->order_id,
	       cli_enum(&dealdesk__v1__order_state__descriptor, (int)o->state, st, sizeof(st)),
	       o->customer_id, cli_money(o->total, exp, money, sizeof(money)), o->currency,
	       cli_enum(&dealdesk__v1__credit_outcome__descriptor, (int)o->credit_outcome, oc,
	                sizeof(oc)),
	       o->terms_days);
	if (o->amount_due_upfront)
		printf("  due up front %s", cli_money(o->amount_due_upfront, exp, up, sizeof(up)));
	for (size_t i = 0; i < o->n_coupons; i++)
		printf("%s%s", i ? "," : "  coupons ", o->coupons[i]);
	putchar('\n');
	if (o->quote && o->quote->credit)
		for (size_t i = 0; i < o->quote->credit->n_reasons; i++)
			printf("  reason: %s\n", o->quote->credit->reasons[i]);
}

static int show(cli *c, int rc, ProtobufCMessage *resp)
{
	if (rc != CLI_OK)
		return rc;
	if (c->json)
		rc = cli_print_json(resp, false);
	else
		print_order((const Dealdesk__V1__Order *)resp);
	protobuf_c_message_free_unpacked(resp, NULL);
	return rc;
}

static int add_line(Dealdesk__V1__LineRequest *store, Dealdesk__V1__LineRequest **lines,
                    size_t *n, char *arg)
{
	char *colon = strrchr(arg, ':');
	int64_t qty;
	if (colon == NULL || colon == arg || !cli_parse_int64(colon + 1, &qty))
		return cli_usage_error("orders", "--line '%s': expected SKU:QTY with an integer QTY",
		                       arg);
	*colon = '\0'; /* argv is ours to cut */
	Dealdesk__V1__LineRequest *l = &store[*n];
	dealdesk__v1__line_request__init(l);
	l->sku = arg;
	l->quantity = qty;
	lines[(*n)++] = l;
	return CLI_OK;
}

static int commit(cli *c, int argc, char **argv)
{
	static const struct option options[] = {
		{ "file", required_argument, NULL, OPT_FILE },
		{ "order-id", required_argument, NULL, OPT_ORDER },
		{ "customer", required_argument, NULL, OPT_CUSTOMER },
		{ "currency", required_argument, NULL, OPT_CURRENCY },
		{ "channel", required_argument, NULL, OPT_CHANNEL },
		{ "region", required_argument, NULL, OPT_REGION },
		{ "line", required_argument, NULL, OPT_LINE },
		{ "coupon", required_argument, NULL, OPT_COUPON },
		{ "time", required_argument, NULL, OPT_TIME },
		{ "expected-total", required_argument, NULL, OPT_EXPECTED },
		CLI_GLOBAL_OPTIONS
	};
	size_t n = (size_t)argc + 1;
	Dealdesk__V1__LineRequest *store = calloc(n, sizeof(*store));
	Dealdesk__V1__LineRequest **lines = calloc(n, sizeof(*lines));
	char **coupons = calloc(n, sizeof(*coupons));
	Dealdesk__V1__QuoteRequest q;
	Dealdesk__V1__CommitRequest req;
	dealdesk__v1__quote_request__init(&q);
	dealdesk__v1__commit_request__init(&req);
	ProtobufCMessage *from_file = NULL, *resp = NULL;
	const char *file = NULL;
	int rc = CLI_OK, opt;
	if (!store || !lines || !coupons) {
		rc = cli_error(CLI_EUSAGE, "out of memory");
		goto out;
	}
	while (rc == CLI_OK && (opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (opt) {
		case 'h': fputs(usage, stdout); goto out;
		case OPT_FILE: file = optarg; break;
		case OPT_ORDER: req.order_id = optarg; break;
		case OPT_CUSTOMER: q.customer_id = optarg; break;
		case OPT_CURRENCY: q.currency = optarg; break;
		case OPT_CHANNEL: q.channel = optarg; break;
		case OPT_REGION: q.region = optarg; break;
		case OPT_COUPON: coupons[q.n_coupon_codes++] = optarg; break;
		case OPT_LINE: rc = add_line(store, lines, &q.n_lines, optarg); break;
		case OPT_TIME:
			if (!cli_parse_int64(optarg, &q.request_time))
				rc = cli_usage_error("orders", "--time '%s': expected Unix seconds", optarg);
			break;
		case OPT_EXPECTED:
			if (!cli_parse_int64(optarg, &req.expected_total))
				rc = cli_usage_error("orders", "--expected-total '%s': expected minor units",
				                     optarg);
			req.has_expected_total = 1;
			break;
		default:
			rc = cli_common_option(c, opt, optarg, "orders");
			if (rc == -1)
				rc = CLI_EUSAGE;
		}
	}
	if (rc != CLI_OK)
		goto out;
	q.lines = lines;
	q.coupon_codes = coupons;
	const ProtobufCMessage *send = &req.base;
	if (file != NULL) {
		char *text;
		size_t len;
		dd_error err;
		if ((rc = cli_read_file(file, &text, &len)) != CLI_OK)
			goto out;
		int prc = dd_pbjson_parse_message(text, len, &dealdesk__v1__commit_request__descriptor,
		                                  &from_file, &err);
		free(text);
		if (prc != DD_OK) {
			rc = cli_error(CLI_EUSAGE, "%s: %s", cli_file_name(file), err.msg);
			goto out;
		}
		send = from_file;
	} else {
		if (*req.order_id == '\0')
			rc = cli_usage_error("orders", "--order-id is required");
		else if (*q.customer_id == '\0' || *q.currency == '\0' || q.n_lines == 0)
			rc = cli_usage_error("orders", "--customer, --currency and a --line are required");
		if (rc != CLI_OK)
			goto out;
		req.request = &q;
	}
	rc = cli_call(c, SVC "Commit", send, &dealdesk__v1__order__descriptor, &resp);
	rc = show(c, rc, resp);
out:
	if (from_file)
		protobuf_c_message_free_unpacked(from_file, NULL);
	free(store);
	free(lines);
	free(coupons);
	return rc;
}

static int one_id(cli *c, const char *method, int argc, char **argv)
{
	static const struct option options[] = {
		{ "actor", required_argument, NULL, OPT_ACTOR },
		{ "comment", required_argument, NULL, OPT_COMMENT },
		CLI_GLOBAL_OPTIONS
	};
	const char *actor = "", *comment = "";
	int opt, rc;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		if (opt == 'h') {
			fputs(usage, stdout);
			return CLI_OK;
		} else if (opt == OPT_ACTOR) {
			actor = optarg;
		} else if (opt == OPT_COMMENT) {
			comment = optarg;
		} else if ((rc = cli_common_option(c, opt, optarg, "orders")) != 0) {
			return rc == -1 ? CLI_EUSAGE : rc;
		}
	}
	if (argc - optind != 1)
		return cli_usage_error("orders", "%s needs one order ID", argv[0]);
	ProtobufCMessage *resp = NULL;
	int decision = strcmp(method, "ReleaseOrder") == 0 || strcmp(method, "RejectOrder") == 0;
	char path[96];
	snprintf(path, sizeof(path), SVC "%s", method);
	if (decision) {
		Dealdesk__V1__OrderDecisionRequest d = DEALDESK__V1__ORDER_DECISION_REQUEST__INIT;
		d.order_id = argv[optind];
		d.actor = (char *)actor;
		d.comment = (char *)comment;
		rc = cli_call(c, path, &d.base, &dealdesk__v1__order__descriptor, &resp);
	} else {
		if (*actor || *comment)
			return cli_usage_error("orders", "--actor and --comment are for release and reject");
		Dealdesk__V1__OrderKey k = DEALDESK__V1__ORDER_KEY__INIT;
		k.order_id = argv[optind];
		rc = cli_call(c, path, &k.base, &dealdesk__v1__order__descriptor, &resp);
	}
	return show(c, rc, resp);
}

static int list(cli *c, int held, int argc, char **argv)
{
	static const struct option options[] = {
		{ "customer", required_argument, NULL, OPT_CUSTOMER },
		{ "state", required_argument, NULL, OPT_STATE },
		{ "from", required_argument, NULL, OPT_FROM },
		{ "to", required_argument, NULL, OPT_TO },
		CLI_GLOBAL_OPTIONS
	};
	Dealdesk__V1__ListOrdersRequest req = DEALDESK__V1__LIST_ORDERS_REQUEST__INIT;
	Dealdesk__V1__PageRequest page = DEALDESK__V1__PAGE_REQUEST__INIT;
	page.page_size = 1000;
	req.page = &page;
	int opt, rc;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (opt) {
		case 'h': fputs(usage, stdout); return CLI_OK;
		case OPT_CUSTOMER: req.customer_id = optarg; break;
		case OPT_STATE: {
			char name[64];
			snprintf(name, sizeof(name), "ORDER_STATE_%s", optarg);
			const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value_by_name(
				&dealdesk__v1__order_state__descriptor, name);
			if (v == NULL)
				v = protobuf_c_enum_descriptor_get_value_by_name(
					&dealdesk__v1__order_state__descriptor, optarg);
			if (v == NULL)
				return cli_usage_error("orders", "--state '%s': OPEN, CREDIT_HOLD, CANCELLED, REJECTED or INVOICED",
				                       optarg);
			req.state = (Dealdesk__V1__OrderState)v->value;
			break;
		}
		case OPT_FROM:
			if (!cli_parse_int64(optarg, &req.from_time))
				return cli_usage_error("orders", "--from '%s': expected Unix seconds", optarg);
			break;
		case OPT_TO:
			if (!cli_parse_int64(optarg, &req.to_time))
				return cli_usage_error("orders", "--to '%s': expected Unix seconds", optarg);
			break;
		default:
			if ((rc = cli_common_option(c, opt, optarg, "orders")) != 0)
				return rc == -1 ? CLI_EUSAGE : rc;
		}
	}
	if (optind < argc)
		return cli_usage_error("orders", "unexpected argument '%s'", argv[optind]);
	ProtobufCMessage **pages;
	size_t n_pages;
	rc = cli_list_all(c, held ? SVC "ListHeldOrders" : SVC "ListOrders", &req.base,
	                  &dealdesk__v1__list_orders_response__descriptor, &pages, &n_pages);
	if (rc != CLI_OK)
		return rc;
	if (c->json) {
		rc = cli_print_pages_json(pages, n_pages, "orders");
	} else {
		for (size_t p = 0; p < n_pages; p++) {
			const Dealdesk__V1__ListOrdersResponse *r = (const void *)pages[p];
			for (size_t i = 0; i < r->n_orders; i++)
				print_order(r->orders[i]);
		}
	}
	cli_free_pages(pages, n_pages);
	return rc;
}

static void print_invoice(const Dealdesk__V1__Invoice *inv)
{
	char a[64], o[64], due[32], iss[32];
	int exp = dd_currency_exponent(inv->currency);
	printf("invoice %s  order %s  customer %s  amount %s %s  open %s  issued %s  due %s  overdue %d days\n",
	       inv->invoice_id, inv->order_id, inv->customer_id, cli_money(inv->amount, exp, a, sizeof(a)),
	       inv->currency, cli_money(inv->open_amount, exp, o, sizeof(o)),
	       cli_time(inv->issued_at, iss, sizeof(iss)), cli_time(inv->due_at, due, sizeof(due)),
	       inv->overdue_days);
	for (size_t i = 0; i < inv->n_payments; i++) {
		char p[64], at[32];
		printf("  payment %s  %s  at %s\n", inv->payments[i]->payment_id,
		       cli_money(inv->payments[i]->amount, exp, p, sizeof(p)),
		       cli_time(inv->payments[i]->at, at, sizeof(at)));
	}
}

/* invoice ID [--time T] | pay ID --amount N --payment-id P [--time T] | invoice-get ID [--at T] */
static int invoices(cli *c, const char *sub, int argc, char **argv)
{
	static const struct option options[] = {
		{ "time", required_argument, NULL, OPT_TIME },
		{ "at", required_argument, NULL, OPT_AT },
		{ "amount", required_argument, NULL, OPT_AMOUNT },
		{ "payment-id", required_argument, NULL, OPT_PAYMENT },
		CLI_GLOBAL_OPTIONS
	};
	int64_t time = 0, at = 0, amount = 0;
	const char *payment = NULL;
	int opt, rc;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (opt) {
		case 'h': fputs(usage, stdout); return CLI_OK;
		case OPT_TIME:
			if (!cli_parse_int64(optarg, &time))
				return cli_usage_error("orders", "--time '%s': expected Unix seconds", optarg);
			break;
		case OPT_AT:
			if (!cli_parse_int64(optarg, &at))
				return cli_usage_error("orders", "--at '%s': expected Unix seconds", optarg);
			break;
		case OPT_AMOUNT:
			if (!cli_parse_int64(optarg, &amount))
				return cli_usage_error("orders", "--amount '%s': expected minor units", optarg);
			break;
		case OPT_PAYMENT: payment = optarg; break;
		default:
			if ((rc = cli_common_option(c, opt, optarg, "orders")) != 0)
				return rc == -1 ? CLI_EUSAGE : rc;
		}
	}
	if (argc - optind != 1)
		return cli_usage_error("orders", "%s needs one ID", sub);
	ProtobufCMessage *resp = NULL;
	if (!strcmp(sub, "invoice")) {
		Dealdesk__V1__InvoiceRequest r = DEALDESK__V1__INVOICE_REQUEST__INIT;
		r.order_id = argv[optind];
		r.invoice_time = time;
		rc = cli_call(c, SVC "Invoice", &r.base, &dealdesk__v1__invoice__descriptor, &resp);
	} else if (!strcmp(sub, "pay")) {
		if (payment == NULL || amount <= 0)
			return cli_usage_error("orders", "pay needs --amount (> 0) and --payment-id");
		Dealdesk__V1__RecordPaymentRequest r = DEALDESK__V1__RECORD_PAYMENT_REQUEST__INIT;
		r.invoice_id = argv[optind];
		r.amount = amount;
		r.time = time;
		r.payment_id = (char *)payment;
		rc = cli_call(c, SVC "RecordPayment", &r.base, &dealdesk__v1__invoice__descriptor, &resp);
	} else {
		Dealdesk__V1__InvoiceKey k = DEALDESK__V1__INVOICE_KEY__INIT;
		k.invoice_id = argv[optind];
		k.at = at;
		rc = cli_call(c, SVC "GetInvoice", &k.base, &dealdesk__v1__invoice__descriptor, &resp);
	}
	if (rc != CLI_OK)
		return rc;
	if (c->json)
		rc = cli_print_json(resp, false);
	else
		print_invoice((const Dealdesk__V1__Invoice *)resp);
	protobuf_c_message_free_unpacked(resp, NULL);
	return rc;
}

/* The layout is cli_sheet_receivables (sheet.c): every row checked, every
 * problem reported, duplicate invoice ids refused. */
static int receivables_load(cli *c, int argc, char **argv)
{
	bool dry_run = argc == 3 && !strcmp(argv[1], "--dry-run");
	if (argc != 2 && !dry_run)
		return cli_usage_error("orders", "receivables-load needs [--dry-run] FILE.csv");
	const char *path = argv[argc - 1], *file = cli_file_name(path);
	char *text;
	size_t len;
	int rc = cli_read_file(path, &text, &len);
	if (rc != CLI_OK)
		return rc;
	dd_csvrec_result res;
	rc = cli_sheet_read(file, text, len, &cli_sheet_receivables, dry_run, &res);
	free(text);
	if (rc != CLI_OK)
		return rc;
	Dealdesk__V1__Invoice **items = (Dealdesk__V1__Invoice **)res.records;
	size_t n = res.n, sent = 0;
	if (dry_run) {
		cli_sheet_dry_run_ok(file, n, "open item");
		n = 0;
	}
	while (rc == CLI_OK && sent < n) {
		size_t k = n - sent > 1000 ? 1000 : n - sent;
		Dealdesk__V1__PutReceivablesRequest req = DEALDESK__V1__PUT_RECEIVABLES_REQUEST__INIT;
		req.invoices = items + sent;
		req.n_invoices = k;
		ProtobufCMessage *resp;
		rc = cli_call(c, SVC "PutReceivables", &req.base,
		              &dealdesk__v1__put_receivables_response__descriptor, &resp);
		if (rc == CLI_OK) {
			protobuf_c_message_free_unpacked(resp, NULL);
			sent += k;
		}
	}
	if (rc == CLI_OK && !dry_run)
		printf("loaded %zu open item(s)\n", sent);
	dd_csvrec_result_free(&res);
	return rc;
}

/* The receivables loaded with PutReceivables (no order), as the CSV that
 * receivables-load takes. */
static int receivables_export(cli *c, int argc, char **argv)
{
	if (argc > 2)
		return cli_usage_error("orders", "receivables-export takes at most one FILE.csv");
	Dealdesk__V1__ListInvoicesRequest req = DEALDESK__V1__LIST_INVOICES_REQUEST__INIT;
	req.receivables_only = 1;
	return cli_sheet_export(c, SVC "ListInvoices", &req.base,
	                        &dealdesk__v1__list_invoices_response__descriptor, "invoices",
	                        &cli_sheet_receivables, argc == 2 ? argv[1] : NULL);
}

int cli_cmd_orders(cli *c, int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_EUSAGE : CLI_OK;
	}
	const char *sub = argv[1];
	argc--;
	argv++;
	if (!strcmp(sub, "commit"))
		return commit(c, argc, argv);
	if (!strcmp(sub, "cancel"))
		return one_id(c, "Cancel", argc, argv);
	if (!strcmp(sub, "get"))
		return one_id(c, "GetOrder", argc, argv);
	if (!strcmp(sub, "release"))
		return one_id(c, "ReleaseOrder", argc, argv);
	if (!strcmp(sub, "reject"))
		return one_id(c, "RejectOrder", argc, argv);
	if (!strcmp(sub, "list"))
		return list(c, 0, argc, argv);
	if (!strcmp(sub, "held"))
		return list(c, 1, argc, argv);
	if (!strcmp(sub, "receivables-load"))
		return receivables_load(c, argc, argv);
	if (!strcmp(sub, "receivables-export"))
		return receivables_export(c, argc, argv);
	if (!strcmp(sub, "invoice") || !strcmp(sub, "pay") || !strcmp(sub, "invoice-get"))
		return invoices(c, sub, argc, argv);
	return cli_usage_error("orders", "unknown subcommand '%s'", sub);
}

int cli_cmd_verify(cli *c, int argc, char **argv)
{
	static const struct option options[] = { CLI_GLOBAL_OPTIONS };
	int opt, rc;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		if (opt == 'h') {
			fputs(verify_usage, stdout);
			return CLI_OK;
		}
		if ((rc = cli_common_option(c, opt, optarg, "verify")) != 0)
			return rc == -1 ? CLI_EUSAGE : rc;
	}
	if (optind < argc)
		return cli_usage_error("verify", "unexpected argument '%s'", argv[optind]);
	Dealdesk__V1__VerifyCountersRequest req = DEALDESK__V1__VERIFY_COUNTERS_REQUEST__INIT;
	ProtobufCMessage *resp;
	rc = cli_call(c, SVC "VerifyCounters", &req.base,
	              &dealdesk__v1__verify_counters_response__descriptor, &resp);
	if (rc != CLI_OK)
		return rc;
	const Dealdesk__V1__VerifyCountersResponse *r = (const void *)resp;
	if (c->json) {
		rc = cli_print_json(resp, false);
	} else {
		for (size_t i = 0; i < r->n_differences; i++) {
			const Dealdesk__V1__CounterDifference *d = r->differences[i];
			printf("DIFFERENT %s: orders say %lld uses, amount %lld; stored %lld uses, amount %lld\n",
			       d->counter, (long long)d->expected_uses, (long long)d->expected_amount,
			       (long long)d->stored_uses, (long long)d->stored_amount);
		}
		printf("verify: %llu orders, %llu counters, %zu difference(s) at data version %llu\n",
		       (unsigned long long)r->orders, (unsigned long long)r->counters,
		       r->n_differences, (unsigned long long)r->data_version);
	}
	if (rc == CLI_OK && r->n_differences > 0)
		rc = 3;
	protobuf_c_message_free_unpacked(resp, NULL);
	return rc;
}
