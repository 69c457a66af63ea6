/* dealdesk CLI: what the command files share. Private to src/cli. */
#ifndef DEALDESK_CLI_H
#define DEALDESK_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <protobuf-c/protobuf-c.h>

#include "dealdesk/client.h"
#include "dealdesk/csvrec.h"

/* Exit codes. */
enum {
	CLI_OK = 0,
	CLI_ERPC = 1,   /* the server answered with an error, or could not be reached */
	CLI_EUSAGE = 2, /* bad command line or bad input file: nothing was sent */
};

typedef struct cli {
	const char *server;
	bool json;       /* --json: print response messages as JSON */
	int timeout_ms;  /* per call; <= 0: none */
	dd_client *client; /* opened by the first call */
	dd_client_opts creds; /* --token / $DEALDESK_TOKEN, --tls-* */
} cli;

/* Options every command accepts besides its own (--server, --json,
 * --timeout, --help). End a command's option table with CLI_GLOBAL_OPTIONS. */
enum { CLI_OPT_SERVER = 0x1000, CLI_OPT_JSON, CLI_OPT_TIMEOUT, CLI_OPT_TOKEN, CLI_OPT_TLS_CA,
       CLI_OPT_TLS_CERT, CLI_OPT_TLS_KEY, CLI_OPT_TLS_SERVER_NAME };
#define CLI_GLOBAL_OPTIONS                                              \
	{ "server", required_argument, NULL, CLI_OPT_SERVER },              \
	{ "token", required_argument, NULL, CLI_OPT_TOKEN },                \
	{ "tls-ca", required_argument, NULL, CLI_OPT_TLS_CA },              \
	{ "tls-cert", required_argument, NULL, CLI_OPT_TLS_CERT },          \
	{ "tls-key", required_argument, NULL, CLI_OPT_TLS_KEY },            \
	{ "tls-server-name", required_argument, NULL, CLI_OPT_TLS_SERVER_NAME }, \
	{ "json", no_argument, NULL, CLI_OPT_JSON },                        \
	{ "timeout", required_argument, NULL, CLI_OPT_TIMEOUT },            \
	{ "help", no_argument, NULL, 'h' },                                 \
	{ NULL, 0, NULL, 0 }

/* Handles a global option returned by getopt_long: 0 handled, CLI_EUSAGE
 * bad value, -1 when opt is not a global option. */
int cli_global_option(cli *c, int opt, const char *arg);

/* For a command's getopt loop: handles the global options and getopt's '?'
 * (which getopt has already explained). Returns 0 when handled, CLI_EUSAGE on
 * a usage error, -1 when opt is the command's own. */
int cli_common_option(cli *c, int opt, const char *arg, const char *command);

/* Resets getopt for parsing a command's own argv (argv[0] = its name). */
void cli_getopt_reset(void);

/* Prints "error: <formatted>" on stderr; returns code. */
int cli_error(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints "error: <formatted>" and a pointer to --help; returns CLI_EUSAGE. */
int cli_usage_error(const char *command, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Calls "/<service>/<method>". On failure prints "error: STATUS: details" and
 * returns CLI_ERPC; on success *resp is the response (free_unpacked). */
int cli_call(cli *c, const char *method, const ProtobufCMessage *req,
             const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp);

/* Calls a List method until next_page_token is empty. req must have a
 * `page` field (PageRequest); resp_desc a `next_page_token` field. *pages
 * gets every response (cli_free_pages). */
int cli_list_all(cli *c, const char *method, ProtobufCMessage *req,
                 const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage ***pages,
                 size_t *n_pages);
void cli_free_pages(ProtobufCMessage **pages, size_t n);

/* The array and count of repeated field `name` of m (NULL, 0 if absent). */
void **cli_repeated(const ProtobufCMessage *m, const char *name, size_t *n);

/* Prints {"<field>": [every item of every page]} as one line of JSON. */
int cli_print_pages_json(ProtobufCMessage **pages, size_t n, const char *field);

/* Prints m as one line of JSON (pretty when `pretty`). CLI_OK or CLI_EUSAGE. */
int cli_print_json(const ProtobufCMessage *m, bool pretty);

/* Reads a whole file ("-" = stdin) into a NUL-terminated buffer (free()).
 * Prints the error and returns CLI_EUSAGE on failure. */
int cli_read_file(const char *path, char **data, size_t *len);

/* The name to show for a file argument: "<stdin>" for "-". */
const char *cli_file_name(const char *path);

/* s without leading and trailing spaces and tabs (modified in place). */
char *cli_trim(char *s);

/* Strict decimal parsing of a whole string. */
bool cli_parse_int64(const char *s, int64_t *out);
bool cli_parse_uint64(const char *s, uint64_t *out);

/* amount in minor units formatted with `exponent` decimals ("12.50"). With a
 * negative exponent (unknown currency) the plain integer. Returns buf. */
const char *cli_money(int64_t amount, int exponent, char *buf, size_t size);

/* Unix seconds as "2024-01-31T12:00:00Z" ("-" for 0). Returns buf. */
const char *cli_time(int64_t t, char *buf, size_t size);

/* Short name of an enum value ("PERCENTAGE"), or its number as text. */
const char *cli_enum(const ProtobufCEnumDescriptor *d, int value, char *buf, size_t size);

/* A text table with aligned columns. align has one 'l' or 'r' per column. */
typedef struct cli_table cli_table;
cli_table *cli_table_new(const char *align, const char *const *headers);
void cli_table_row(cli_table *t, const char *const *cells); /* copied */
void cli_table_print(const cli_table *t, FILE *f, const char *indent);
void cli_table_free(cli_table *t);

/* A kind of record that is loaded from a file and listed, read and deleted
 * by one string key through four RPCs of an admin service (records.c). */
typedef struct cli_record_kind {
	const char *command; /* "promotions" */
	const char *noun;    /* "promotion"; messages add an "s" for the plural */
	const char *service; /* "dealdesk.v1.CatalogAdmin" */
	const char *put, *get, *list, *del;
	const char *field;     /* the repeated field of the Put request and List response */
	const char *key_field; /* the one string field of the key message: "id" */
	const char *key_arg;   /* what usage calls the key: "ID" */
	const ProtobufCMessageDescriptor *put_req, *key, *item, *list_req, *list_resp;
	void (*print_row)(cli_table *t, const ProtobufCMessage *item);
	const char *align;
	const char *const *head;
	/* A dd_entity_kind: load checks every record with dd_entity_validate
	 * before sending any. -1: only the server validates (promotions are
	 * completed by the server before it validates them). */
	int entity;
	/* Optional: builds the Put request from the text of a CSV file. Returns
	 * CLI_OK and *put (protobuf_c_message_free_unpacked), or prints the error
	 * naming line and column and returns CLI_EUSAGE. */
	int (*read_csv)(const char *file, const char *text, size_t len, ProtobufCMessage **put);
	const char *csv_help; /* the usage paragraph on the CSV columns */
	/* Optional: the CSV layout for `load FILE.csv` and `export` (sheet.c). */
	const dd_csvrec_spec *sheet;
	/* Optional: a field every record of a JSON file must give (even when
	 * false): promotions must say whether they are "enabled". */
	const char *json_required;
} cli_record_kind;

/* Spreadsheet round trips (sheet.c): the CSV layout of each kind. */
extern const dd_csvrec_spec cli_sheet_prices, cli_sheet_promotions, cli_sheet_customers,
	cli_sheet_receivables;
/* Reads a CSV of spec; prints every problem (and a summary) on stderr and
 * returns CLI_EUSAGE when there is any (out is then freed); else CLI_OK
 * and out holds the records (dd_csvrec_result_free). */
int cli_sheet_read(const char *file, const char *text, size_t len, const dd_csvrec_spec *spec,
                   bool dry_run, dd_csvrec_result *out);
/* Prints the `shown` problems and the summary "FILE: N problems in M rows;
 * nothing was loaded" (N = n, all of them; rows in `unit`s); returns
 * CLI_EUSAGE. */
int cli_sheet_report(const char *file, char *const *problems, size_t shown, size_t n,
                     size_t rows, const char *unit, bool dry_run);
/* "dry run: FILE: N records checked, no problems; nothing was sent". */
void cli_sheet_dry_run_ok(const char *file, size_t n, const char *noun);
/* Writes recs as CSV to path (NULL or "-": stdout). */
int cli_sheet_write(const char *path, const dd_csvrec_spec *spec, ProtobufCMessage *const *recs,
                    size_t n);
/* Lists every record through method (paged) and writes them as CSV. */
int cli_sheet_export(cli *c, const char *method, ProtobufCMessage *list_req,
                     const ProtobufCMessageDescriptor *resp_desc, const char *field,
                     const dd_csvrec_spec *spec, const char *path);

/* Runs `dealdesk <k->command> load|list|get|delete ...`. */
int cli_records_command(cli *c, const cli_record_kind *k, int argc, char **argv);

/* Commands: argv[0] is the command name. Return an exit code. */
int cli_cmd_quote(cli *c, int argc, char **argv);
int cli_cmd_prices(cli *c, int argc, char **argv);
int cli_cmd_promotions(cli *c, int argc, char **argv);
int cli_cmd_customers(cli *c, int argc, char **argv);
int cli_cmd_checks(cli *c, int argc, char **argv);
int cli_cmd_signals(cli *c, int argc, char **argv);
int cli_cmd_coupons(cli *c, int argc, char **argv);
int cli_cmd_policy(cli *c, int argc, char **argv);
int cli_cmd_health(cli *c, int argc, char **argv);
int cli_cmd_token(cli *c, int argc, char **argv);
int cli_cmd_orders(cli *c, int argc, char **argv); /* orders.c */
int cli_cmd_verify(cli *c, int argc, char **argv); /* orders.c */
int cli_cmd_credit_tiers(cli *c, int argc, char **argv);   /* credit.c */
int cli_cmd_credit_changes(cli *c, int argc, char **argv); /* credit.c */
int cli_cmd_backup(cli *c, int argc, char **argv); /* backup.c */
int cli_cmd_status(cli *c, int argc, char **argv); /* status.c */
int cli_cmd_decisions(cli *c, int argc, char **argv); /* decisions.c */
int cli_cmd_impact(cli *c, int argc, char **argv);    /* decisions.c */
int cli_cmd_audit(cli *c, int argc, char **argv);     /* audit.c */

/* price_history.c: "warning: <text>" on stderr for each warning of a write
 * (compliance checks set to WARN at authoring) */
struct Dealdesk__V1__WriteResponse;
void cli_print_warnings(const struct Dealdesk__V1__WriteResponse *w);

/* price_history.c: dealdesk prices history (argv[0] = "history") */
int cli_prices_history(cli *c, int argc, char **argv);

#endif
