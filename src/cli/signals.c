/* dealdesk signals: market signals per SKU (inventory, demand, competitor
 * prices) through dealdesk.v1.CatalogAdmin. Listing, get, delete and JSON
 * loads are records.c's; this file has the table row and the CSV reader, in
 * which the rows of one SKU merge into one SkuSignals record. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "dealdesk/model.h"
#include "dealdesk/csv.h"
#include "dealdesk/money.h"
#include "dealdesk/v1/admin.pb-c.h"

/* ---- the CSV columns -------------------------------------------------------------- */

enum column {
	COL_SKU,
	/* the SKU's own values; rows of one SKU may repeat them or leave them empty */
	COL_ON_HAND,
	COL_ON_HAND_AT,
	COL_DEMAND,
	COL_DEMAND_AT,
	/* one competitor price per row */
	COL_COMPETITOR,
	COL_CURRENCY,
	COL_PRICE,
	COL_OBSERVED_AT,
	N_COLUMNS
};
#define N_SKU_VALUES (COL_DEMAND_AT - COL_ON_HAND + 1)

static const char *const column_names[N_COLUMNS] = {
	"sku", "inventory_on_hand", "inventory_at", "demand_per_week", "demand_at",
	"competitor", "competitor_currency", "competitor_price", "competitor_observed_at",
};

/* Most competitor prices per SKU, as the server's validation allows. */
#define MAX_COMPETITORS 100

/* One data row, checked. Strings point into the dd_csv. */
typedef struct signals_row {
	size_t line;
	const char *sku;
	int64_t value[N_SKU_VALUES]; /* COL_ON_HAND.. */
	bool has[N_SKU_VALUES];      /* false: the field was empty */
	const char *competitor;      /* NULL: the row has no competitor price */
	const char *currency;
	int64_t price; /* minor units of currency */
	int64_t observed_at;
} signals_row;

/* Which CSV field holds each column (-1: absent). */
static int map_header(const char *file, const dd_csv_record *h, int where[N_COLUMNS])
{
	for (size_t k = 0; k < N_COLUMNS; k++)
		where[k] = -1;
	for (size_t i = 0; i < h->n_fields; i++) {
		char *name = cli_trim(h->fields[i]);
		size_t k = 0;
		while (k < N_COLUMNS && strcasecmp(column_names[k], name) != 0)
			k++;
		if (k == N_COLUMNS)
			return cli_error(CLI_EUSAGE, "%s: line %zu, column %zu: unknown column '%s'", file,
			                 h->line, i + 1, name);
		if (where[k] >= 0)
			return cli_error(CLI_EUSAGE, "%s: line %zu, column %zu: column %s appears twice",
			                 file, h->line, i + 1, column_names[k]);
		where[k] = (int)i;
	}
	if (where[COL_SKU] < 0)
		return cli_error(CLI_EUSAGE, "%s: the header has no sku column", file);
	if (where[COL_COMPETITOR] >= 0) {
		for (int k = COL_CURRENCY; k <= COL_PRICE; k++)
			if (where[k] < 0)
				return cli_error(CLI_EUSAGE, "%s: the header has a competitor column but no %s",
				                 file, column_names[k]);
	} else {
		for (int k = COL_CURRENCY; k <= COL_OBSERVED_AT; k++)
			if (where[k] >= 0)
				return cli_error(CLI_EUSAGE, "%s: the header has %s but no competitor column",
				                 file, column_names[k]);
	}
	return CLI_OK;
}

/* The trimmed field of column k of r, "" when the file has no such column. */
static const char *field(const dd_csv_record *r, const int where[N_COLUMNS], int k)
{
	return where[k] < 0 ? "" : cli_trim(r->fields[where[k]]);
}

static int check_id(const char *file, size_t line, int k, const char *v)
{
	if (*v == '\0')
		return cli_error(CLI_EUSAGE, "%s: line %zu, column %s: empty", file, line,
		                 column_names[k]);
	if (strlen(v) > DD_MAX_ID)
		return cli_error(CLI_EUSAGE, "%s: line %zu, column %s: longer than %d bytes", file,
		                 line, column_names[k], DD_MAX_ID);
	return CLI_OK;
}

/* A count or a time in Unix seconds: a whole number >= 0. */
static int parse_count(const char *file, size_t line, int k, const char *v, int64_t *out)
{
	if (!cli_parse_int64(v, out) || *out < 0)
		return cli_error(CLI_EUSAGE, "%s: line %zu, column %s: '%s' is not a whole number >= 0",
		                 file, line, column_names[k], v);
	return CLI_OK;
}

static int parse_price(const char *file, size_t line, const char *v, const char *currency,
                       int64_t *out)
{
	const char *col = column_names[COL_PRICE];
	int exp = dd_currency_exponent(currency);
	if (*v == '\0')
		return cli_error(CLI_EUSAGE, "%s: line %zu, column %s: empty", file, line, col);
	int rv = dd_money_parse(v, exp, out);
	if (rv == DD_EOVERFLOW)
		return cli_error(CLI_EUSAGE, "%s: line %zu, column %s: '%s' is too large", file, line,
		                 col, v);
	if (rv != DD_OK)
		return cli_error(CLI_EUSAGE,
		                 "%s: line %zu, column %s: '%s' is not an amount in %s "
		                 "(at most %d decimal places)",
		                 file, line, col, v, currency, exp);
	if (*out <= 0)
		return cli_error(CLI_EUSAGE, "%s: line %zu, column %s: '%s' is not above zero", file,
		                 line, col, v);
	return CLI_OK;
}

static int convert_row(const char *file, const dd_csv_record *r, const int where[N_COLUMNS],
                       signals_row *row)
{
	memset(row, 0, sizeof(*row));
	row->line = r->line;
	row->sku = field(r, where, COL_SKU);
	int rc = check_id(file, r->line, COL_SKU, row->sku);
	if (rc != CLI_OK)
		return rc;
	for (int k = COL_ON_HAND; k <= COL_DEMAND_AT; k++) {
		const char *v = field(r, where, k);
		if (*v == '\0')
			continue;
		if ((rc = parse_count(file, r->line, k, v, &row->value[k - COL_ON_HAND])) != CLI_OK)
			return rc;
		row->has[k - COL_ON_HAND] = true;
	}

	const char *competitor = field(r, where, COL_COMPETITOR);
	if (*competitor == '\0') {
		for (int k = COL_CURRENCY; k <= COL_OBSERVED_AT; k++)
			if (*field(r, where, k) != '\0')
				return cli_error(CLI_EUSAGE, "%s: line %zu, column %s: given without a competitor",
				                 file, r->line, column_names[k]);
		return CLI_OK;
	}
	if ((rc = check_id(file, r->line, COL_COMPETITOR, competitor)) != CLI_OK)
		return rc;
	row->competitor = competitor;
	row->currency = field(r, where, COL_CURRENCY);
	if (*row->currency == '\0')
		return cli_error(CLI_EUSAGE, "%s: line %zu, column %s: empty", file, r->line,
		                 column_names[COL_CURRENCY]);
	if (dd_currency_exponent(row->currency) < 0)
		return cli_error(CLI_EUSAGE, "%s: line %zu, column %s: unknown currency '%s'", file,
		                 r->line, column_names[COL_CURRENCY], row->currency);
	if ((rc = parse_price(file, r->line, field(r, where, COL_PRICE), row->currency,
	                      &row->price)) != CLI_OK)
		return rc;
	const char *observed = field(r, where, COL_OBSERVED_AT);
	if (*observed != '\0')
		return parse_count(file, r->line, COL_OBSERVED_AT, observed, &row->observed_at);
	return CLI_OK;
}

/* ---- merging the rows of a SKU --------------------------------------------------------- */

/* Rows by SKU, and by line within a SKU. */
static int compare_rows(const void *a, const void *b)
{
	const signals_row *x = *(const signals_row *const *)a;
	const signals_row *y = *(const signals_row *const *)b;
	int d = strcmp(x->sku, y->sku);
	if (d != 0)
		return d;
	return (x->line > y->line) - (x->line < y->line);
}

/* The rows of one SKU: rows[0] is its first line in the file. */
typedef struct signals_group {
	signals_row **rows;
	size_t n;
} signals_group;

static int compare_groups(const void *a, const void *b)
{
	size_t x = ((const signals_group *)a)->rows[0]->line;
	size_t y = ((const signals_group *)b)->rows[0]->line;
	return (x > y) - (x < y);
}

/* Builds the record of one SKU. Its strings are copies, so that the whole
 * request can be freed with protobuf_c_message_free_unpacked. On failure
 * *out is NULL, or a partly built record the caller frees. */
static int merge_group(const char *file, const signals_group *g, Dealdesk__V1__SkuSignals **out)
{
	const signals_row *first = g->rows[0];
	int64_t value[N_SKU_VALUES] = { 0 };
	const signals_row *from[N_SKU_VALUES] = { NULL };
	size_t n_competitors = 0;
	*out = NULL;
	for (size_t i = 0; i < g->n; i++) {
		const signals_row *r = g->rows[i];
		for (int k = 0; k < N_SKU_VALUES; k++) {
			if (!r->has[k])
				continue;
			if (from[k] == NULL) {
				from[k] = r;
				value[k] = r->value[k];
			} else if (r->value[k] != value[k]) {
				return cli_error(CLI_EUSAGE,
				                 "%s: line %zu, column %s: %" PRId64 " differs from %" PRId64
				                 " on line %zu for SKU %s",
				                 file, r->line, column_names[COL_ON_HAND + k], r->value[k],
				                 value[k], from[k]->line, r->sku);
			}
		}
		if (r->competitor != NULL && ++n_competitors > MAX_COMPETITORS)
			return cli_error(CLI_EUSAGE, "%s: line %zu: SKU %s has more than %d competitor prices",
			                 file, r->line, r->sku, MAX_COMPETITORS);
	}

	Dealdesk__V1__SkuSignals *s = malloc(sizeof(*s));
	if (s == NULL)
		return cli_error(CLI_EUSAGE, "out of memory");
	dealdesk__v1__sku_signals__init(s);
	*out = s;
	if ((s->sku = strdup(first->sku)) == NULL)
		return cli_error(CLI_EUSAGE, "out of memory");
	int64_t *dst[N_SKU_VALUES] = { &s->inventory_on_hand, &s->inventory_at,
		                       &s->demand_per_week, &s->demand_at };
	for (int k = 0; k < N_SKU_VALUES; k++)
		if (from[k] != NULL)
			*dst[k] = value[k];
	if (n_competitors == 0)
		return CLI_OK;

	s->competitor_prices = calloc(n_competitors, sizeof(*s->competitor_prices));
	if (s->competitor_prices == NULL)
		return cli_error(CLI_EUSAGE, "out of memory");
	for (size_t i = 0; i < g->n; i++) {
		const signals_row *r = g->rows[i];
		if (r->competitor == NULL)
			continue;
		Dealdesk__V1__CompetitorPrice *cp = malloc(sizeof(*cp));
		if (cp == NULL)
			return cli_error(CLI_EUSAGE, "out of memory");
		dealdesk__v1__competitor_price__init(cp);
		s->competitor_prices[s->n_competitor_prices++] = cp;
		cp->competitor = strdup(r->competitor);
		cp->currency = strdup(r->currency);
		if (cp->competitor == NULL || cp->currency == NULL)
			return cli_error(CLI_EUSAGE, "out of memory");
		cp->price = r->price;
		cp->observed_at = r->observed_at;
	}
	return CLI_OK;
}

/* Groups the rows by SKU, in the order each SKU first appears. */
static int group_rows(signals_row *rows, size_t n, signals_row ***sorted,
                      signals_group **groups, size_t *n_groups)
{
	*sorted = calloc(n + 1, sizeof(**sorted));
	*groups = calloc(n + 1, sizeof(**groups));
	*n_groups = 0;
	if (*sorted == NULL || *groups == NULL)
		return cli_error(CLI_EUSAGE, "out of memory");
	for (size_t i = 0; i < n; i++)
		(*sorted)[i] = &rows[i];
	qsort(*sorted, n, sizeof(**sorted), compare_rows);
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		while (j < n && strcmp((*sorted)[j]->sku, (*sorted)[i]->sku) == 0)
			j++;
		(*groups)[(*n_groups)++] = (signals_group){ *sorted + i, j - i };
		i = j;
	}
	qsort(*groups, *n_groups, sizeof(**groups), compare_groups);
	return CLI_OK;
}

/* cli_record_kind.read_csv for signals. */
static int signals_read_csv(const char *file, const char *text, size_t len, ProtobufCMessage **out)
{
	dd_csv *csv = NULL;
	dd_error err;
	*out = NULL;
	if (dd_csv_parse(text, len, &csv, &err) != DD_OK)
		return cli_error(CLI_EUSAGE, "%s: %s", file, err.msg);
	if (csv->n_records == 0) {
		dd_csv_free(csv);
		return cli_error(CLI_EUSAGE, "%s: empty file (expected a header row)", file);
	}

	int where[N_COLUMNS];
	size_t n = csv->n_records - 1, n_groups = 0;
	signals_row *rows = calloc(n + 1, sizeof(*rows));
	signals_row **sorted = NULL;
	signals_group *groups = NULL;
	Dealdesk__V1__PutSkuSignalsRequest *put = malloc(sizeof(*put));
	int rc;
	if (put != NULL)
		dealdesk__v1__put_sku_signals_request__init(put);
	if (rows == NULL || put == NULL) {
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
		if ((rc = convert_row(file, r, where, &rows[i])) != CLI_OK)
			goto out;
	}

	if ((rc = group_rows(rows, n, &sorted, &groups, &n_groups)) != CLI_OK)
		goto out;
	put->signals = calloc(n_groups + 1, sizeof(*put->signals));
	if (put->signals == NULL) {
		rc = cli_error(CLI_EUSAGE, "out of memory");
		goto out;
	}
	for (size_t g = 0; g < n_groups; g++) {
		Dealdesk__V1__SkuSignals *s;
		rc = merge_group(file, &groups[g], &s);
		if (s != NULL)
			put->signals[put->n_signals++] = s;
		if (rc != CLI_OK)
			goto out;
		/* what the server will check too (the rows passed, so rarely anything) */
		if (dd_entity_validate(DD_ENTITY_SIGNALS, &s->base, "", &err) != DD_OK) {
			rc = cli_error(CLI_EUSAGE, "%s: line %zu: SKU %s: %s", file,
			               groups[g].rows[0]->line, s->sku,
			               err.msg[0] == '.' ? err.msg + 1 : err.msg);
			goto out;
		}
	}
out:
	free(groups);
	free(sorted);
	free(rows);
	dd_csv_free(csv);
	if (rc != CLI_OK) {
		if (put != NULL)
			protobuf_c_message_free_unpacked(&put->base, NULL);
		return rc;
	}
	*out = &put->base;
	return CLI_OK;
}

/* ---- listing ------------------------------------------------------------------------ */

/* "acme 12.34 USD, globex 1500 JPY" (the first few) into buf. */
static const char *competitor_prices(const Dealdesk__V1__SkuSignals *s, char *buf, size_t size)
{
	enum { SHOWN = 3 };
	size_t o = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < s->n_competitor_prices && i < SHOWN && o < size; i++) {
		const Dealdesk__V1__CompetitorPrice *cp = s->competitor_prices[i];
		char amount[32];
		int n = snprintf(buf + o, size - o, "%s%s %s %s", i ? ", " : "", cp->competitor,
		                 cli_money(cp->price, dd_currency_exponent(cp->currency), amount,
		                           sizeof(amount)),
		                 cp->currency);
		if (n > 0)
			o += (size_t)n;
	}
	if (s->n_competitor_prices > SHOWN && o < size)
		snprintf(buf + o, size - o, " (+%zu more)", s->n_competitor_prices - SHOWN);
	return buf;
}

static void signals_row_print(cli_table *t, const ProtobufCMessage *m)
{
	const Dealdesk__V1__SkuSignals *s = (const Dealdesk__V1__SkuSignals *)m;
	char on_hand[24], counted[32], demand[24], estimated[32], prices[256];
	snprintf(on_hand, sizeof(on_hand), "%" PRId64, s->inventory_on_hand);
	snprintf(demand, sizeof(demand), "%" PRId64, s->demand_per_week);
	const char *row[] = { s->sku, on_hand, cli_time(s->inventory_at, counted, sizeof(counted)),
		              demand, cli_time(s->demand_at, estimated, sizeof(estimated)),
		              competitor_prices(s, prices, sizeof(prices)) };
	cli_table_row(t, row);
}

static const char *const signals_head[] = { "SKU", "ON HAND", "COUNTED AT", "DEMAND/WEEK",
	                                    "ESTIMATED AT", "COMPETITOR PRICES" };

static const char csv_help[] =
	"load FILE.csv: a header row names the columns, in any order: sku (required),\n"
	"inventory_on_hand, inventory_at, demand_per_week, demand_at, competitor,\n"
	"competitor_currency, competitor_price, competitor_observed_at. The rows of\n"
	"one sku make one record, with a competitor price for each row that names a\n"
	"competitor; its other columns may be repeated or left empty on later rows,\n"
	"but must not differ. competitor_price is a decimal amount in major units of\n"
	"competitor_currency with at most its decimal places (\"12.34\" USD = 1234\n"
	"cents, \"1500\" JPY, \"4.125\" KWD); counts and times (Unix seconds) are\n"
	"whole numbers. Fields may be quoted (RFC 4180); surrounding spaces are\n"
	"ignored. Errors name the line and column. A file is read as CSV when its\n"
	"name ends in .csv; stdin (\"-\") when it does not start with [ or {.\n";

static const cli_record_kind signals = {
	.command = "signals", .noun = "SKU signals record", .service = "dealdesk.v1.CatalogAdmin",
	.put = "PutSkuSignals", .get = "GetSkuSignals", .list = "ListSkuSignals",
	.del = "DeleteSkuSignals", .field = "signals", .key_field = "sku", .key_arg = "SKU",
	.put_req = &dealdesk__v1__put_sku_signals_request__descriptor,
	.key = &dealdesk__v1__sku_key__descriptor,
	.item = &dealdesk__v1__sku_signals__descriptor,
	.list_req = &dealdesk__v1__list_sku_signals_request__descriptor,
	.list_resp = &dealdesk__v1__list_sku_signals_response__descriptor,
	.print_row = signals_row_print, .align = "lrlrll", .head = signals_head,
	.entity = DD_ENTITY_SIGNALS, .read_csv = signals_read_csv, .csv_help = csv_help,
};

int cli_cmd_signals(cli *c, int argc, char **argv)
{
	return cli_records_command(c, &signals, argc, argv);
}
