/* dealdesk prices: load a CSV price list and list/get/delete price entries
 * through dealdesk.v1.CatalogAdmin. */
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "dealdesk/csv.h"
#include "dealdesk/money.h"
#include "dealdesk/pbjson.h"
#include "dealdesk/v1/admin.pb-c.h"

static const char usage[] =
	"usage: dealdesk prices load FILE.csv\n"
	"       dealdesk prices list [--sku SKU] [--currency CUR]\n"
	"       dealdesk prices get SKU CURRENCY PRICE_LIST_ID\n"
	"       dealdesk prices delete SKU CURRENCY PRICE_LIST_ID\n"
	"       dealdesk prices history SKU CURRENCY [--channel CH] [--from T] [--to T]\n"
	"\n"
	"load: FILE.csv (\"-\" = stdin) has a header row naming its columns, in any\n"
	"order: price_list_id, sku, currency, unit_price (required); channel,\n"
	"unit_cost, category, priority, name, rounding, region, customer_group,\n"
	"valid_from, valid_to (optional). unit_price and unit_cost are decimal\n"
	"amounts in major units (\"12.34\" USD = 1234 cents) with at most the\n"
	"currency's decimal places; rounding is HALF_UP, HALF_EVEN, DOWN or UP.\n"
	"Fields may be quoted (RFC 4180); surrounding spaces are ignored. The file\n"
	"is checked completely before anything is sent, then sent in calls of at\n"
	"most 1000 entries (each call all or nothing).\n";

#define BATCH 1000

/* ---- load ------------------------------------------------------------------------ */

enum col_kind { COL_STRING, COL_MONEY, COL_INT32, COL_INT64, COL_ROUNDING };

static const struct column {
	const char *name;
	enum col_kind kind;
	size_t offset;
	bool required;
} columns[] = {
#define COL(n, k, req) { #n, k, offsetof(Dealdesk__V1__PriceEntry, n), req }
	COL(price_list_id, COL_STRING, true),
	COL(sku, COL_STRING, true),
	COL(currency, COL_STRING, true),
	COL(channel, COL_STRING, false),
	COL(unit_price, COL_MONEY, true),
	COL(unit_cost, COL_MONEY, false),
	COL(category, COL_STRING, false),
	COL(priority, COL_INT32, false),
	COL(rounding, COL_ROUNDING, false),
	COL(region, COL_STRING, false),
	COL(customer_group, COL_STRING, false),
	COL(valid_from, COL_INT64, false),
	COL(valid_to, COL_INT64, false),
	COL(name, COL_STRING, false),
#undef COL
};
#define N_COLUMNS (sizeof(columns) / sizeof(columns[0]))

/* Which CSV field holds each known column (-1: absent). */
static int map_header(const char *file, const dd_csv_record *h, int where[N_COLUMNS])
{
	for (size_t k = 0; k < N_COLUMNS; k++)
		where[k] = -1;
	for (size_t i = 0; i < h->n_fields; i++) {
		char *name = cli_trim(h->fields[i]);
		size_t k = 0;
		while (k < N_COLUMNS && strcasecmp(columns[k].name, name) != 0)
			k++;
		if (k == N_COLUMNS)
			return cli_error(CLI_EUSAGE, "%s: line %zu: unknown column '%s'", file, h->line,
			                 name);
		if (where[k] >= 0)
			return cli_error(CLI_EUSAGE, "%s: line %zu: column %s appears twice", file,
			                 h->line, columns[k].name);
		where[k] = (int)i;
	}
	for (size_t k = 0; k < N_COLUMNS; k++)
		if (columns[k].required && where[k] < 0)
			return cli_error(CLI_EUSAGE, "%s: the header has no %s column", file,
			                 columns[k].name);
	return CLI_OK;
}

/* Fills e from one CSV record. Strings point into the record. */
static int convert_row(const char *file, const dd_csv_record *r, const int where[N_COLUMNS],
                       Dealdesk__V1__PriceEntry *e)
{
	dealdesk__v1__price_entry__init(e);
	int exp = -1;
	/* strings first: the money columns need the currency */
	for (size_t k = 0; k < N_COLUMNS; k++) {
		if (where[k] < 0 || columns[k].kind != COL_STRING)
			continue;
		*(char **)((char *)e + columns[k].offset) = cli_trim(r->fields[where[k]]);
	}
	exp = dd_currency_exponent(e->currency);
	if (exp < 0)
		return cli_error(CLI_EUSAGE, "%s: line %zu, column currency: unknown currency '%s'",
		                 file, r->line, e->currency);

	for (size_t k = 0; k < N_COLUMNS; k++) {
		if (where[k] < 0 || columns[k].kind == COL_STRING)
			continue;
		const char *v = cli_trim(r->fields[where[k]]);
		void *dst = (char *)e + columns[k].offset;
		const char *col = columns[k].name;
		int64_t n;
		int rv;
		if (*v == '\0') {
			if (columns[k].required)
				return cli_error(CLI_EUSAGE, "%s: line %zu, column %s: empty", file,
				                 r->line, col);
			continue;
		}
		switch (columns[k].kind) {
		case COL_MONEY:
			rv = dd_money_parse(v, exp, &n);
			if (rv == DD_EOVERFLOW)
				return cli_error(CLI_EUSAGE, "%s: line %zu, column %s: '%s' is too large",
				                 file, r->line, col, v);
			if (rv != DD_OK)
				return cli_error(CLI_EUSAGE,
				                 "%s: line %zu, column %s: '%s' is not an amount in %s "
				                 "(at most %d decimal places)",
				                 file, r->line, col, v, e->currency, exp);
			if (n < 0)
				return cli_error(CLI_EUSAGE, "%s: line %zu, column %s: '%s' is negative",
				                 file, r->line, col, v);
			*(int64_t *)dst = n;
			break;
		case COL_INT32:
			if (!cli_parse_int64(v, &n) || n < INT32_MIN || n > INT32_MAX)
				return cli_error(CLI_EUSAGE, "%s: line %zu, column %s: '%s' is not an integer",
				                 file, r->line, col, v);
			*(int32_t *)dst = (int32_t)n;
			break;
		case COL_INT64:
			if (!cli_parse_int64(v, &n))
				return cli_error(CLI_EUSAGE, "%s: line %zu, column %s: '%s' is not an integer",
				                 file, r->line, col, v);
			*(int64_t *)dst = n;
			break;
		case COL_ROUNDING:
			if (dd_pbjson_enum_parse(&dealdesk__v1__rounding_mode__descriptor, v, &rv) != DD_OK)
				return cli_error(CLI_EUSAGE,
				                 "%s: line %zu, column %s: '%s' is not HALF_UP, HALF_EVEN, "
				                 "DOWN or UP",
				                 file, r->line, col, v);
			*(int *)dst = rv;
			break;
		case COL_STRING:
			break;
		}
	}
	return CLI_OK;
}

static int send_batches(cli *c, const char *file, const dd_csv *csv,
                        Dealdesk__V1__PriceEntry **ptrs, size_t n)
{
	uint64_t version = 0;
	size_t sent = 0, calls = 0;
	while (sent < n) {
		Dealdesk__V1__PutPriceEntriesRequest req = DEALDESK__V1__PUT_PRICE_ENTRIES_REQUEST__INIT;
		req.n_entries = n - sent < BATCH ? n - sent : BATCH;
		req.entries = ptrs + sent;
		ProtobufCMessage *resp;
		if (cli_call(c, "/dealdesk.v1.CatalogAdmin/PutPriceEntries", &req.base,
		             &dealdesk__v1__write_response__descriptor, &resp) != CLI_OK) {
			if (sent > 0)
				fprintf(stderr, "%s: %zu of %zu entries were loaded (up to line %zu); "
				        "the rest were not\n", file, sent, n, csv->records[sent].line);
			return CLI_ERPC;
		}
		version = ((Dealdesk__V1__WriteResponse *)resp)->data_version;
		cli_print_warnings((const void *)resp);
		protobuf_c_message_free_unpacked(resp, NULL);
		sent += req.n_entries;
		calls++;
	}
	if (c->json) {
		Dealdesk__V1__WriteResponse w = DEALDESK__V1__WRITE_RESPONSE__INIT;
		w.data_version = version;
		w.count = (uint32_t)n;
		return cli_print_json(&w.base, false);
	}
	if (n == 0)
		printf("%s: no price entries to load\n", file);
	else
		printf("loaded %zu price entr%s in %zu call%s, data version %" PRIu64 "\n", n,
		       n == 1 ? "y" : "ies", calls, calls == 1 ? "" : "s", version);
	return CLI_OK;
}

static int prices_load(cli *c, const char *path)
{
	char *text;
	size_t len;
	const char *file = cli_file_name(path);
	int rc = cli_read_file(path, &text, &len);
	if (rc != CLI_OK)
		return rc;
	dd_csv *csv = NULL;
	dd_error err;
	if (dd_csv_parse(text, len, &csv, &err) != DD_OK) {
		free(text);
		return cli_error(CLI_EUSAGE, "%s: %s", file, err.msg);
	}
	free(text);
	if (csv->n_records == 0) {
		dd_csv_free(csv);
		return cli_error(CLI_EUSAGE, "%s: empty file (expected a header row)", file);
	}

	int where[N_COLUMNS];
	size_t n = csv->n_records - 1;
	Dealdesk__V1__PriceEntry *entries = calloc(n + 1, sizeof(*entries));
	Dealdesk__V1__PriceEntry **ptrs = calloc(n + 1, sizeof(*ptrs));
	if (entries == NULL || ptrs == NULL) {
		rc = cli_error(CLI_EUSAGE, "out of memory");
		goto out;
	}
	const dd_csv_record *header = &csv->records[0];
	if ((rc = map_header(file, header, where)) != CLI_OK)
		goto out;
	for (size_t i = 0; i < n; i++) {
		const dd_csv_record *r = &csv->records[i + 1];
		if (r->n_fields != header->n_fields) {
			rc = cli_error(CLI_EUSAGE, "%s: line %zu: %zu fields, the header has %zu", file,
			               r->line, r->n_fields, header->n_fields);
			goto out;
		}
		if ((rc = convert_row(file, r, where, &entries[i])) != CLI_OK)
			goto out;
		ptrs[i] = &entries[i];
	}
	rc = send_batches(c, file, csv, ptrs, n);
out:
	free(entries);
	free(ptrs);
	dd_csv_free(csv);
	return rc;
}

/* ---- list, get, delete -------------------------------------------------------------- */

static void entry_row(cli_table *t, const Dealdesk__V1__PriceEntry *e)
{
	char price[32], cost[32], prio[16];
	int exp = dd_currency_exponent(e->currency);
	snprintf(prio, sizeof(prio), "%" PRId32, e->priority);
	const char *row[] = { e->sku, e->currency, e->price_list_id, e->channel,
		              cli_money(e->unit_price, exp, price, sizeof(price)),
		              e->unit_cost ? cli_money(e->unit_cost, exp, cost, sizeof(cost)) : "-",
		              e->category, prio, e->name };
	cli_table_row(t, row);
}

static int prices_list(cli *c, int argc, char **argv)
{
	enum { OPT_SKU = 1, OPT_CURRENCY };
	static const struct option options[] = {
		{ "sku", required_argument, NULL, OPT_SKU },
		{ "currency", required_argument, NULL, OPT_CURRENCY },
		CLI_GLOBAL_OPTIONS
	};
	Dealdesk__V1__ListPriceEntriesRequest req = DEALDESK__V1__LIST_PRICE_ENTRIES_REQUEST__INIT;
	int opt, rc;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (opt) {
		case 'h': fputs(usage, stdout); return CLI_OK;
		case OPT_SKU: req.sku = optarg; break;
		case OPT_CURRENCY: req.currency = optarg; break;
		default:
			rc = cli_common_option(c, opt, optarg, "prices");
			if (rc != 0)
				return rc == -1 ? CLI_EUSAGE : rc;
		}
	}
	if (optind < argc)
		return cli_usage_error("prices", "list: unexpected argument '%s'", argv[optind]);

	ProtobufCMessage **pages;
	size_t n_pages;
	rc = cli_list_all(c, "/dealdesk.v1.CatalogAdmin/ListPriceEntries", &req.base,
	                  &dealdesk__v1__list_price_entries_response__descriptor, &pages, &n_pages);
	if (rc != CLI_OK)
		return rc;
	if (c->json) {
		rc = cli_print_pages_json(pages, n_pages, "entries");
	} else {
		static const char *const head[] = { "SKU", "CURRENCY", "PRICE LIST", "CHANNEL",
			                            "UNIT PRICE", "UNIT COST", "CATEGORY", "PRIO",
			                            "NAME" };
		cli_table *t = cli_table_new("llllrrlrl", head);
		size_t total = 0;
		for (size_t p = 0; p < n_pages; p++) {
			const Dealdesk__V1__ListPriceEntriesResponse *l = (void *)pages[p];
			for (size_t i = 0; i < l->n_entries; i++)
				entry_row(t, l->entries[i]);
			total += l->n_entries;
		}
		if (total == 0)
			puts("no price entries");
		else
			cli_table_print(t, stdout, "");
		cli_table_free(t);
	}
	cli_free_pages(pages, n_pages);
	return rc;
}

static void print_entry(const Dealdesk__V1__PriceEntry *e)
{
	char m1[32], m2[32], t1[32], t2[32], r[16];
	int exp = dd_currency_exponent(e->currency);
	printf("price_list_id   %s\n"
	       "sku             %s\n"
	       "currency        %s\n"
	       "channel         %s\n"
	       "unit_price      %s\n"
	       "unit_cost       %s\n"
	       "category        %s\n"
	       "priority        %" PRId32 "\n"
	       "rounding        %s\n"
	       "region          %s\n"
	       "customer_group  %s\n"
	       "valid_from      %s\n"
	       "valid_to        %s\n"
	       "name            %s\n",
	       e->price_list_id, e->sku, e->currency, e->channel,
	       cli_money(e->unit_price, exp, m1, sizeof(m1)),
	       cli_money(e->unit_cost, exp, m2, sizeof(m2)), e->category, e->priority,
	       cli_enum(&dealdesk__v1__rounding_mode__descriptor, (int)e->rounding, r, sizeof(r)),
	       e->region, e->customer_group, cli_time(e->valid_from, t1, sizeof(t1)),
	       cli_time(e->valid_to, t2, sizeof(t2)), e->name);
}

static int prices_key_call(cli *c, bool del, int argc, char **argv)
{
	static const struct option options[] = { CLI_GLOBAL_OPTIONS };
	int opt, rc;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		if (opt == 'h') {
			fputs(usage, stdout);
			return CLI_OK;
		}
		rc = cli_common_option(c, opt, optarg, "prices");
		if (rc != 0)
			return rc == -1 ? CLI_EUSAGE : rc;
	}
	if (argc - optind != 3)
		return cli_usage_error("prices", "%s needs SKU CURRENCY PRICE_LIST_ID",
		                       del ? "delete" : "get");
	Dealdesk__V1__PriceEntryKey key = DEALDESK__V1__PRICE_ENTRY_KEY__INIT;
	key.sku = argv[optind];
	key.currency = argv[optind + 1];
	key.price_list_id = argv[optind + 2];

	ProtobufCMessage *resp;
	if (del)
		rc = cli_call(c, "/dealdesk.v1.CatalogAdmin/DeletePriceEntry", &key.base,
		              &dealdesk__v1__write_response__descriptor, &resp);
	else
		rc = cli_call(c, "/dealdesk.v1.CatalogAdmin/GetPriceEntry", &key.base,
		              &dealdesk__v1__price_entry__descriptor, &resp);
	if (rc != CLI_OK)
		return rc;
	if (c->json)
		rc = cli_print_json(resp, false);
	else if (del)
		printf("deleted price entry %s %s %s, data version %" PRIu64 "\n", key.sku,
		       key.currency, key.price_list_id,
		       ((Dealdesk__V1__WriteResponse *)resp)->data_version);
	else
		print_entry((Dealdesk__V1__PriceEntry *)resp);
	protobuf_c_message_free_unpacked(resp, NULL);
	return rc;
}

int cli_cmd_prices(cli *c, int argc, char **argv)
{
	if (argc < 2) {
		fputs(usage, stderr);
		return CLI_EUSAGE;
	}
	const char *sub = argv[1];
	if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
		fputs(usage, stdout);
		return CLI_OK;
	}
	argc--;
	argv++;
	if (strcmp(sub, "load") == 0) {
		static const struct option options[] = { CLI_GLOBAL_OPTIONS };
		int opt, rc;
		while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
			if (opt == 'h') {
				fputs(usage, stdout);
				return CLI_OK;
			}
			rc = cli_common_option(c, opt, optarg, "prices");
			if (rc != 0)
				return rc == -1 ? CLI_EUSAGE : rc;
		}
		if (argc - optind != 1)
			return cli_usage_error("prices", "load needs one FILE.csv");
		return prices_load(c, argv[optind]);
	}
	if (strcmp(sub, "list") == 0)
		return prices_list(c, argc, argv);
	if (strcmp(sub, "get") == 0)
		return prices_key_call(c, false, argc, argv);
	if (strcmp(sub, "delete") == 0)
		return prices_key_call(c, true, argc, argv);
	if (strcmp(sub, "history") == 0)
		return cli_prices_history(c, argc, argv);
	return cli_usage_error("prices", "unknown subcommand '%s'", sub);
}
