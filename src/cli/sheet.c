/* dealdesk CLI: spreadsheet round trips. The CSV layout of each kind of
 * record (prices, promotions, customers, receivables: dd_csvrec_spec), and
 * what load and export share: reading a file with every problem reported,
 * --dry-run, writing every record of a List call as CSV. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "dealdesk/model.h"
#include "dealdesk/v1/admin.pb-c.h"
#include "dealdesk/v1/orders.pb-c.h"

/* ---- the layouts ---------------------------------------------------------------- */

static int validate_price(const ProtobufCMessage *m, dd_error *err)
{
	return dd_entity_validate(DD_ENTITY_PRICE, m, "", err);
}

static int validate_customer(const ProtobufCMessage *m, dd_error *err)
{
	return dd_entity_validate(DD_ENTITY_CUSTOMER, m, "", err);
}

static const char *const price_key[] = { "sku", "currency", "price_list_id", NULL };
static const char *const price_required[] = { "unit_price", NULL };
static const dd_csvrec_money price_money[] = {
	{ "unit_price", "currency" }, { "unit_cost", "currency" },
	{ "floor_price", "currency" }, { "ceiling_price", "currency" }, { NULL, NULL },
};
const dd_csvrec_spec cli_sheet_prices = {
	.desc = &dealdesk__v1__price_entry__descriptor, .noun = "price entry",
	.key = price_key, .required = price_required, .money = price_money,
	.validate = validate_price,
};

/* enabled is required: a promotion file that does not say whether each
 * promotion is on is refused rather than loaded disabled (README). */
static const char *const promotion_key[] = { "id", NULL };
static const char *const promotion_required[] = { "enabled", NULL };
static const dd_csvrec_money promotion_money[] = {
	{ "amount", "currency" }, { "bundle_price", "currency" }, { "threshold", "currency" },
	{ "min_amount", "currency" }, { "max_discount", "currency" },
	{ "budget_amount", "currency" }, { "customer_budget_amount", "currency" }, { NULL, NULL },
};
const dd_csvrec_spec cli_sheet_promotions = {
	.desc = &dealdesk__v1__promotion__descriptor, .noun = "promotion",
	.key = promotion_key, .required = promotion_required, .money = promotion_money,
};

static const char *const customer_key[] = { "id", NULL };
static const dd_csvrec_money customer_money[] = {
	{ "credit.credit_limit", "credit.currency" },
	{ "credit.open_receivables", "credit.currency" },
	{ "credit.committed_orders", "credit.currency" },
	{ "credit.max_order_value", "credit.currency" }, { NULL, NULL },
};
const dd_csvrec_spec cli_sheet_customers = {
	.desc = &dealdesk__v1__customer__descriptor, .noun = "customer",
	.key = customer_key, .money = customer_money, .validate = validate_customer,
};

/* Open items from an ERP: what PutReceivables takes. Payments, the order
 * and the derived fields are not part of the sheet. */
static const char *const invoice_key[] = { "invoice_id", NULL };
static const char *const invoice_required[] = { "customer_id", "currency", "amount", NULL };
static const char *const invoice_omit[] = { "order_id", "payments", "overdue_days", "counted",
	                                    NULL };
static const dd_csvrec_money invoice_money[] = {
	{ "amount", "currency" }, { "open_amount", "currency" }, { NULL, NULL },
};
static const struct dd_csvrec_default invoice_defaults[] = {
	{ "open_amount", "amount" }, { NULL, NULL }, /* empty: all of it is open */
};
const dd_csvrec_spec cli_sheet_receivables = {
	.desc = &dealdesk__v1__invoice__descriptor, .noun = "open item",
	.key = invoice_key, .required = invoice_required, .omit = invoice_omit,
	.money = invoice_money, .defaults = invoice_defaults,
};

/* "price entry" -> "price entries", "customer" -> "customers" (n != 1). */
static const char *noun_n(const char *noun, size_t n, char *buf, size_t size)
{
	size_t len = strlen(noun);
	if (n == 1)
		snprintf(buf, size, "%s", noun);
	else if (len > 0 && noun[len - 1] == 'y')
		snprintf(buf, size, "%.*sies", (int)(len - 1), noun);
	else
		snprintf(buf, size, "%ss", noun);
	return buf;
}

/* ---- load and export --------------------------------------------------------------- */

int cli_sheet_report(const char *file, char *const *problems, size_t shown, size_t n,
                     size_t rows, const char *unit, bool dry_run)
{
	for (size_t i = 0; i < shown; i++)
		fprintf(stderr, "error: %s: %s\n", file, problems[i]);
	return cli_error(CLI_EUSAGE, "%s: %zu problem%s in %zu %s%s; nothing was %s", file, n,
	                 n == 1 ? "" : "s", rows, unit, rows == 1 ? "" : "s",
	                 dry_run ? "sent (dry run)" : "loaded");
}

int cli_sheet_read(const char *file, const char *text, size_t len, const dd_csvrec_spec *spec,
                   bool dry_run, dd_csvrec_result *out)
{
	dd_error err;
	int rc = dd_csvrec_read(spec, text, len, out, &err);
	if (rc != DD_OK) {
		dd_csvrec_result_free(out);
		return cli_error(CLI_EUSAGE, "%s: %s", file, err.msg);
	}
	if (out->n_problems > 0) {
		rc = cli_sheet_report(file, out->problems, out->n_problems, out->total_problems,
		                      out->rows, "row", dry_run);
		dd_csvrec_result_free(out);
		return rc;
	}
	return CLI_OK;
}

void cli_sheet_dry_run_ok(const char *file, size_t n, const char *noun)
{
	char b[64];
	printf("dry run: %s: %zu %s checked, no problems; nothing was sent\n", file, n,
	       noun_n(noun, n, b, sizeof(b)));
}

int cli_sheet_write(const char *path, const dd_csvrec_spec *spec, ProtobufCMessage *const *recs,
                    size_t n)
{
	bool to_stdout = path == NULL || strcmp(path, "-") == 0;
	FILE *f = to_stdout ? stdout : fopen(path, "w");
	if (f == NULL)
		return cli_error(CLI_EUSAGE, "%s: cannot create: %s", path, strerror(errno));
	dd_error err;
	int rc = dd_csvrec_write(spec, recs, n, f, &err);
	if (!to_stdout && fclose(f) != 0 && rc == DD_OK)
		rc = dd_error_set(&err, DD_ESTORE, "%s", strerror(errno));
	if (rc != DD_OK)
		return cli_error(CLI_EUSAGE, "%s: %s", to_stdout ? "<stdout>" : path, err.msg);
	if (!to_stdout)
	{
		char b[64];
		fprintf(stderr, "exported %zu %s to %s\n", n, noun_n(spec->noun, n, b, sizeof(b)), path);
	}
	return CLI_OK;
}

int cli_sheet_export(cli *c, const char *method, ProtobufCMessage *list_req,
                     const ProtobufCMessageDescriptor *resp_desc, const char *field,
                     const dd_csvrec_spec *spec, const char *path)
{
	ProtobufCMessage **pages;
	size_t n_pages;
	int rc = cli_list_all(c, method, list_req, resp_desc, &pages, &n_pages);
	if (rc != CLI_OK)
		return rc;
	size_t total = 0;
	for (size_t p = 0; p < n_pages; p++) {
		size_t n;
		cli_repeated(pages[p], field, &n);
		total += n;
	}
	ProtobufCMessage **all = calloc(total + 1, sizeof(*all));
	if (all == NULL) {
		cli_free_pages(pages, n_pages);
		return cli_error(CLI_ERPC, "out of memory");
	}
	size_t k = 0;
	for (size_t p = 0; p < n_pages; p++) {
		size_t n;
		void **items = cli_repeated(pages[p], field, &n);
		for (size_t i = 0; i < n; i++)
			all[k++] = items[i];
	}
	rc = cli_sheet_write(path, spec, all, total);
	free(all);
	cli_free_pages(pages, n_pages);
	return rc;
}
