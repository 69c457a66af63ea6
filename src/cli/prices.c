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
	"usage: dealdesk prices load [--dry-run] FILE.csv\n"
	"       dealdesk prices export [FILE.csv]   (default: stdout)\n"
	"       dealdesk prices list [--sku SKU] [--currency CUR]\n"
	"       dealdesk prices get SKU CURRENCY PRICE_LIST_ID\n"
	"       dealdesk prices delete SKU CURRENCY PRICE_LIST_ID\n"
	"       dealdesk prices history SKU CURRENCY [--channel CH] [--from T] [--to T]\n"
	"\n"
	"load: FILE.csv (\"-\" = stdin) has a header row naming its columns, in any\n"
	"order: price_list_id, sku, currency, unit_price (required); channel,\n"
	"unit_cost, category, priority, name, rounding, region, customer_group,\n"
	"valid_from, valid_to, min_quantity, floor_price, ceiling_price (optional).\n"
	"unit_price, unit_cost, floor_price and ceiling_price are decimal amounts in\n"
	"major units (\"12.34\" USD = 1234 cents, \"1234\" JPY, \"1.234\" KWD) with at\n"
	"most the currency's decimal places (more is an error, never rounded);\n"
	"rounding is HALF_UP, HALF_EVEN, DOWN or UP. UTF-8; fields may be quoted\n"
	"(RFC 4180); surrounding spaces are ignored. Every row is checked before\n"
	"anything is sent and every problem is reported (line, column, reason); a\n"
	"key (sku, currency, price_list_id) given twice is an error naming both\n"
	"lines; with any problem nothing is loaded. --dry-run checks and sends\n"
	"nothing. Good files are sent in calls of at most 1000 entries (each call\n"
	"all or nothing). export writes every entry in the same layout (all\n"
	"columns), which loads back to the same entries.\n";

#define BATCH 1000

/* ---- load and export (the layout is cli_sheet_prices, sheet.c) ---------------- */

static int send_batches(cli *c, const char *file, Dealdesk__V1__PriceEntry **ptrs, size_t n)
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
				        "the rest were not\n", file, sent, n, sent + 1);
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

static int prices_load(cli *c, const char *path, bool dry_run)
{
	char *text;
	size_t len;
	const char *file = cli_file_name(path);
	int rc = cli_read_file(path, &text, &len);
	if (rc != CLI_OK)
		return rc;
	dd_csvrec_result res;
	rc = cli_sheet_read(file, text, len, &cli_sheet_prices, dry_run, &res);
	free(text);
	if (rc != CLI_OK)
		return rc;
	if (dry_run)
		cli_sheet_dry_run_ok(file, res.n, "price entry");
	else
		rc = send_batches(c, file, (Dealdesk__V1__PriceEntry **)res.records, res.n);
	dd_csvrec_result_free(&res);
	return rc;
}

static int prices_export(cli *c, const char *path)
{
	Dealdesk__V1__ListPriceEntriesRequest req = DEALDESK__V1__LIST_PRICE_ENTRIES_REQUEST__INIT;
	return cli_sheet_export(c, "/dealdesk.v1.CatalogAdmin/ListPriceEntries", &req.base,
	                        &dealdesk__v1__list_price_entries_response__descriptor, "entries",
	                        &cli_sheet_prices, path);
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
	if (strcmp(sub, "load") == 0 || strcmp(sub, "export") == 0) {
		enum { OPT_DRY_RUN = 1 };
		static const struct option options[] = {
			{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
			CLI_GLOBAL_OPTIONS
		};
		int opt, rc;
		bool dry_run = false, load = sub[0] == 'l';
		while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
			if (opt == 'h') {
				fputs(usage, stdout);
				return CLI_OK;
			}
			if (opt == OPT_DRY_RUN) {
				if (!load)
					return cli_usage_error("prices", "--dry-run is for load");
				dry_run = true;
				continue;
			}
			rc = cli_common_option(c, opt, optarg, "prices");
			if (rc != 0)
				return rc == -1 ? CLI_EUSAGE : rc;
		}
		if (load && argc - optind != 1)
			return cli_usage_error("prices", "load needs one FILE.csv");
		if (!load && argc - optind > 1)
			return cli_usage_error("prices", "export takes at most one FILE.csv");
		if (!load)
			return prices_export(c, optind < argc ? argv[optind] : NULL);
		return prices_load(c, argv[optind], dry_run);
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
