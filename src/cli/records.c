/* dealdesk promotions | customers | checks | coupons (and signals, whose
 * table is in signals.c): load a file and list, get and delete records
 * through CatalogAdmin, CustomerAdmin and ComplianceAdmin. The kinds differ
 * only in a cli_record_kind and in how a listing is printed. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "dealdesk/model.h"
#include "dealdesk/money.h"
#include "dealdesk/pbjson.h"
#include "dealdesk/v1/admin.pb-c.h"

#define BATCH 1000
#define MEMBER(type, msg, off) (*(type *)((char *)(msg) + (off)))

/* ---- listing rows ---------------------------------------------------------------- */

static void promotion_row(cli_table *t, const ProtobufCMessage *m)
{
	const Dealdesk__V1__Promotion *p = (const Dealdesk__V1__Promotion *)m;
	char kind[24], prio[16], value[96], a[32], b[32];
	int exp = dd_currency_exponent(p->currency);
	switch (p->kind) {
	case DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_PERCENTAGE:
		snprintf(value, sizeof(value), "%" PRId32 ".%02" PRId32 "%% off", p->percent_bps / 100,
		         abs(p->percent_bps % 100));
		break;
	case DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_FIXED_AMOUNT:
		snprintf(value, sizeof(value), "%s %s off per unit",
		         cli_money(p->amount, exp, a, sizeof(a)), p->currency);
		break;
	case DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_BUNDLE:
		snprintf(value, sizeof(value), "%zu SKU%s for %s %s", p->n_bundle_items,
		         p->n_bundle_items == 1 ? "" : "s",
		         cli_money(p->bundle_price, exp, a, sizeof(a)), p->currency);
		break;
	case DEALDESK__V1__PROMOTION_KIND__PROMOTION_KIND_SPEND_THRESHOLD:
		snprintf(value, sizeof(value), "%s %s off from %s", cli_money(p->amount, exp, a, sizeof(a)),
		         p->currency, cli_money(p->threshold, exp, b, sizeof(b)));
		break;
	default:
		value[0] = '\0';
	}
	snprintf(prio, sizeof(prio), "%" PRId32, p->priority);
	const char *row[] = { p->id,
		              cli_enum(&dealdesk__v1__promotion_kind__descriptor, (int)p->kind, kind,
		                       sizeof(kind)),
		              p->enabled ? "yes" : "no", prio, value, p->coupon_code, p->name };
	cli_table_row(t, row);
}

static const char *const promotion_head[] = { "ID", "KIND", "ENABLED", "PRIO", "VALUE",
	                                      "COUPON", "NAME" };

static void customer_row(cli_table *t, const ProtobufCMessage *m)
{
	const Dealdesk__V1__Customer *c = (const Dealdesk__V1__Customer *)m;
	const Dealdesk__V1__CreditProfile *cp = c->credit;
	char limit[32], ar[32], terms[16];
	const char *cur = "", *tier = "", *hold = "";
	limit[0] = ar[0] = terms[0] = '\0';
	if (cp != NULL) {
		int exp = dd_currency_exponent(cp->currency);
		cur = cp->currency;
		tier = cp->tier;
		hold = cp->hold ? "HOLD" : "";
		cli_money(cp->credit_limit, exp, limit, sizeof(limit));
		cli_money(cp->open_receivables, exp, ar, sizeof(ar));
		snprintf(terms, sizeof(terms), "%" PRId32, cp->standard_terms_days);
	}
	const char *row[] = { c->id, c->name, c->customer_group, tier, cur, limit, ar, terms, hold };
	cli_table_row(t, row);
}

static const char *const customer_head[] = { "ID", "NAME", "GROUP", "TIER", "CUR",
	                                     "CREDIT LIMIT", "OPEN AR", "TERMS", "HOLD" };

static void check_row(cli_table *t, const ProtobufCMessage *m)
{
	const Dealdesk__V1__ComplianceCheck *k = (const Dealdesk__V1__ComplianceCheck *)m;
	char kind[24], status[16], bps[16], skus[128];
	size_t o = 0;
	skus[0] = '\0';
	for (size_t i = 0; i < k->n_skus && o < sizeof(skus); i++) {
		int n = snprintf(skus + o, sizeof(skus) - o, "%s%s", i ? "," : "", k->skus[i]);
		if (n > 0)
			o += (size_t)n;
	}
	snprintf(bps, sizeof(bps), "%" PRId32, k->bps);
	const char *row[] = { k->id,
		              cli_enum(&dealdesk__v1__check_kind__descriptor, (int)k->kind, kind,
		                       sizeof(kind)),
		              bps,
		              cli_enum(&dealdesk__v1__compliance_status__descriptor, (int)k->on_fail,
		                       status, sizeof(status)),
		              k->enabled ? "yes" : "no", k->n_skus ? skus : "(all)", k->description };
	cli_table_row(t, row);
}

static const char *const check_head[] = { "ID", "KIND", "BPS", "ON FAIL", "ENABLED", "SKUS",
	                                  "DESCRIPTION" };

static void coupon_row(cli_table *t, const ProtobufCMessage *m)
{
	const Dealdesk__V1__Coupon *c = (const Dealdesk__V1__Coupon *)m;
	char uses[24], per[24], from[32], to[32];
	if (c->max_uses > 0)
		snprintf(uses, sizeof(uses), "%" PRId64, c->max_uses);
	else
		snprintf(uses, sizeof(uses), "-");
	if (c->max_uses_per_customer > 0)
		snprintf(per, sizeof(per), "%" PRId64, c->max_uses_per_customer);
	else
		snprintf(per, sizeof(per), "-");
	const char *row[] = { c->code, c->promotion_id, c->enabled ? "yes" : "no", uses, per,
		              cli_time(c->valid_from, from, sizeof(from)),
		              cli_time(c->valid_to, to, sizeof(to)), c->customer_id };
	cli_table_row(t, row);
}

static const char *const coupon_head[] = { "CODE", "PROMOTION", "ENABLED", "MAX USES",
	                                   "PER CUSTOMER", "VALID FROM", "VALID TO",
	                                   "CUSTOMER" };

static const cli_record_kind promotions = {
	.command = "promotions", .noun = "promotion", .service = "dealdesk.v1.CatalogAdmin",
	.put = "PutPromotions", .get = "GetPromotion", .list = "ListPromotions",
	.del = "DeletePromotion", .field = "promotions", .key_field = "id", .key_arg = "ID",
	.put_req = &dealdesk__v1__put_promotions_request__descriptor,
	.key = &dealdesk__v1__promotion_key__descriptor,
	.item = &dealdesk__v1__promotion__descriptor,
	.list_req = &dealdesk__v1__list_promotions_request__descriptor,
	.list_resp = &dealdesk__v1__list_promotions_response__descriptor,
	.print_row = promotion_row, .align = "lllrlll", .head = promotion_head,
	.entity = -1, .sheet = &cli_sheet_promotions, .json_required = "enabled",
	.csv_help = "load FILE.csv, export [FILE.csv]: one promotion per row, the columns\n"
	            "by proto field name (any order; id and enabled required); amounts\n"
	            "(amount, bundle_price, threshold, min_amount, max_discount,\n"
	            "budget_amount, customer_budget_amount) in major units of currency;\n"
	            "lists as A;B or a JSON array; tiers, bundle_items and arms as JSON\n"
	            "arrays (minor units). Every promotion must say enabled (true or\n"
	            "false), in JSON files too: a file without it is refused, not loaded\n"
	            "disabled.\n",
};

static const cli_record_kind customers = {
	.command = "customers", .noun = "customer", .service = "dealdesk.v1.CustomerAdmin",
	.put = "PutCustomers", .get = "GetCustomer", .list = "ListCustomers",
	.del = "DeleteCustomer", .field = "customers", .key_field = "id", .key_arg = "ID",
	.put_req = &dealdesk__v1__put_customers_request__descriptor,
	.key = &dealdesk__v1__customer_key__descriptor,
	.item = &dealdesk__v1__customer__descriptor,
	.list_req = &dealdesk__v1__list_customers_request__descriptor,
	.list_resp = &dealdesk__v1__list_customers_response__descriptor,
	.print_row = customer_row, .align = "lllllrrrl", .head = customer_head,
	.entity = -1, .sheet = &cli_sheet_customers,
	.csv_help = "load FILE.csv, export [FILE.csv]: one customer per row, the columns\n"
	            "by proto field name (any order; id required), the credit profile as\n"
	            "credit.currency, credit.credit_limit, ... (amounts in major units of\n"
	            "credit.currency); a row whose credit.* cells are all empty has no\n"
	            "credit profile.\n",
};

static const cli_record_kind checks = {
	.command = "checks", .noun = "compliance check", .service = "dealdesk.v1.ComplianceAdmin",
	.put = "PutComplianceChecks", .get = "GetComplianceCheck",
	.list = "ListComplianceChecks", .del = "DeleteComplianceCheck", .field = "checks",
	.key_field = "id", .key_arg = "ID",
	.put_req = &dealdesk__v1__put_compliance_checks_request__descriptor,
	.key = &dealdesk__v1__compliance_check_key__descriptor,
	.item = &dealdesk__v1__compliance_check__descriptor,
	.list_req = &dealdesk__v1__list_compliance_checks_request__descriptor,
	.list_resp = &dealdesk__v1__list_compliance_checks_response__descriptor,
	.print_row = check_row, .align = "llrllll", .head = check_head,
	.entity = -1,
};

static const cli_record_kind coupons = {
	.command = "coupons", .noun = "coupon", .service = "dealdesk.v1.CatalogAdmin",
	.put = "PutCoupons", .get = "GetCoupon", .list = "ListCoupons", .del = "DeleteCoupon",
	.field = "coupons", .key_field = "code", .key_arg = "CODE",
	.put_req = &dealdesk__v1__put_coupons_request__descriptor,
	.key = &dealdesk__v1__coupon_key__descriptor,
	.item = &dealdesk__v1__coupon__descriptor,
	.list_req = &dealdesk__v1__list_coupons_request__descriptor,
	.list_resp = &dealdesk__v1__list_coupons_response__descriptor,
	.print_row = coupon_row, .align = "lllrrlll", .head = coupon_head,
	.entity = DD_ENTITY_COUPON,
};

/* ---- the subcommands -------------------------------------------------------------- */

static void print_usage(const cli_record_kind *k, FILE *f)
{
	fprintf(f,
	        "usage: dealdesk %s load [--dry-run] FILE.json%s\n"
	        "%s%s%s"
	        "       dealdesk %s list\n"
	        "       dealdesk %s get %s\n"
	        "       dealdesk %s delete %s\n"
	        "\n"
	        "load: FILE.json (\"-\" = stdin) holds a JSON array of %s objects,\n"
	        "or {\"%s\": [...]}. Field names as in the proto (snake_case or\n"
	        "lowerCamelCase), enums by name (\"PERCENTAGE\" or the full name), 64-bit\n"
	        "integers as numbers or strings. The file is checked completely before\n"
	        "anything is sent (every problem is reported; a key given twice is an\n"
	        "error; with any problem nothing is loaded; --dry-run only checks), then\n"
	        "sent in calls of at most %d records (each call all or nothing).\n",
	        k->command, k->read_csv || k->sheet ? " | FILE.csv" : "",
	        k->sheet ? "       dealdesk " : "", k->sheet ? k->command : "",
	        k->sheet ? " export [FILE.csv]   (default: stdout)\n" : "",
	        k->command, k->command, k->key_arg,
	        k->command, k->key_arg, k->item->short_name, k->field, BATCH);
	if (k->csv_help != NULL)
		fprintf(f, "\n%s", k->csv_help);
	fprintf(f, "\nRPCs: %s/{%s, %s, %s, %s}\n", k->service, k->put, k->list, k->get, k->del);
}

static void method_path(const cli_record_kind *k, const char *method, char *buf, size_t size)
{
	snprintf(buf, size, "/%s/%s", k->service, method);
}

/* A file is CSV by its name; stdin has none, and JSON starts with [ or {. */
static bool is_csv(const char *path, const char *text, size_t len)
{
	size_t n = strlen(path);
	if (strcmp(path, "-") != 0)
		return n >= 4 && strcasecmp(path + n - 4, ".csv") == 0;
	size_t i = len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
	while (i < len && strchr(" \t\r\n", text[i]) != NULL)
		i++;
	return i < len && text[i] != '[' && text[i] != '{';
}

/* The key of record m (its key_field), or "". */
static const char *record_key(const cli_record_kind *k, const ProtobufCMessage *m)
{
	const ProtobufCFieldDescriptor *f =
		protobuf_c_message_descriptor_get_field_by_name(m->descriptor, k->key_field);
	const char *v = f ? MEMBER(const char *, m, f->offset) : NULL;
	return v ? v : "";
}

typedef struct problems {
	char **p;
	size_t n;
} problems;

static void add_problem(problems *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_problem(problems *ps, const char *fmt, ...)
{
	char buf[700];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	char **grown = realloc(ps->p, (ps->n + 1) * sizeof(*grown));
	char *s = strdup(buf);
	if (grown == NULL || s == NULL) {
		free(s);
		if (grown != NULL)
			ps->p = grown;
		return;
	}
	ps->p = grown;
	ps->p[ps->n++] = s;
}

/* A new Put request of kind k holding the n records (owned by the caller:
 * free the request with free() alone). */
static ProtobufCMessage *put_of(const cli_record_kind *k, ProtobufCMessage **records, size_t n)
{
	ProtobufCMessage *put = calloc(1, k->put_req->sizeof_message);
	if (put == NULL)
		return NULL;
	protobuf_c_message_init(k->put_req, put);
	const ProtobufCFieldDescriptor *f =
		protobuf_c_message_descriptor_get_field_by_name(k->put_req, k->field);
	MEMBER(size_t, put, f->quantifier_offset) = n;
	MEMBER(ProtobufCMessage **, put, f->offset) = records;
	return put;
}

/* Converts every element of a JSON file on its own, so every bad record is
 * reported: "promotions[3]: enabled: missing". */
static int read_json(const cli_record_kind *k, const char *file, const char *text, size_t len,
                     bool dry_run, ProtobufCMessage ***out, size_t *n_out)
{
	dd_error err;
	json_object *j, *arr = NULL;
	*out = NULL;
	*n_out = 0;
	if (dd_pbjson_parse(text, len, &j, &err) != DD_OK)
		return cli_error(CLI_EUSAGE, "%s: %s", file, err.msg);
	if (json_object_is_type(j, json_type_array))
		arr = j;
	else if (json_object_is_type(j, json_type_object) && json_object_object_length(j) == 1 &&
	         json_object_object_get_ex(j, k->field, &arr) &&
	         json_object_is_type(arr, json_type_array))
		;
	else
		arr = NULL;
	if (arr == NULL) {
		json_object_put(j);
		return cli_error(CLI_EUSAGE, "%s: expected a JSON array of %s objects or {\"%s\": [...]}",
		                 file, k->item->short_name, k->field);
	}
	size_t n = json_object_array_length(arr);
	ProtobufCMessage **recs = calloc(n + 1, sizeof(*recs));
	size_t *index = calloc(n + 1, sizeof(*index)); /* of each good record in the file */
	if (recs == NULL || index == NULL) {
		free(recs);
		free(index);
		json_object_put(j);
		return cli_error(CLI_EUSAGE, "out of memory");
	}
	problems ps = { 0 };
	size_t good = 0;
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(arr, i);
		char where[64];
		snprintf(where, sizeof(where), "%s[%zu]", k->field, i);
		if (k->json_required != NULL && json_object_is_type(e, json_type_object) &&
		    !json_object_object_get_ex(e, k->json_required, NULL)) {
			add_problem(&ps, "%s: %s: missing; say true or false (a %s without it is "
			            "refused, not loaded with a default)", where, k->json_required,
			            k->noun);
		}
		ProtobufCMessage *m;
		if (dd_pbjson_to_message(e, k->item, &m, &err) != DD_OK) {
			add_problem(&ps, "%s: %s", where, err.msg);
			continue;
		}
		if (k->entity >= 0 &&
		    dd_entity_validate((dd_entity_kind)k->entity, m, where, &err) != DD_OK) {
			add_problem(&ps, "%s", err.msg);
			protobuf_c_message_free_unpacked(m, NULL);
			continue;
		}
		for (size_t p = 0; p < good; p++)
			if (strcmp(record_key(k, recs[p]), record_key(k, m)) == 0) {
				add_problem(&ps, "%s: duplicate %s '%s': the same %s as %s[%zu]", where,
				            k->key_field, record_key(k, m), k->noun, k->field, index[p]);
				break;
			}
		index[good] = i;
		recs[good++] = m;
	}
	json_object_put(j);
	free(index);
	int rc = CLI_OK;
	if (ps.n > 0) {
		rc = cli_sheet_report(file, ps.p, ps.n, ps.n, n, "record", dry_run);
		for (size_t i = 0; i < ps.n; i++)
			free(ps.p[i]);
		for (size_t i = 0; i < good; i++)
			protobuf_c_message_free_unpacked(recs[i], NULL);
		free(recs);
		recs = NULL;
		good = 0;
	}
	free(ps.p);
	*out = recs;
	*n_out = good;
	return rc;
}

/* Sends the records of put in calls of at most BATCH and reports. */
static int records_send(cli *c, const cli_record_kind *k, const char *file,
                        ProtobufCMessage *put)
{
	/* send slices of the repeated field, then put it back for the free */
	const ProtobufCFieldDescriptor *f =
		protobuf_c_message_descriptor_get_field_by_name(k->put_req, k->field);
	size_t total = MEMBER(size_t, put, f->quantifier_offset);
	void **all = MEMBER(void **, put, f->offset);
	char method[128];
	method_path(k, k->put, method, sizeof(method));
	uint64_t version = 0;
	size_t sent = 0, calls = 0;
	int rc = CLI_OK;
	while (sent < total) {
		size_t n = total - sent < BATCH ? total - sent : BATCH;
		MEMBER(size_t, put, f->quantifier_offset) = n;
		MEMBER(void **, put, f->offset) = all + sent;
		ProtobufCMessage *resp;
		rc = cli_call(c, method, put, &dealdesk__v1__write_response__descriptor, &resp);
		if (rc != CLI_OK) {
			if (sent > 0)
				fprintf(stderr, "%s: the first %zu of %zu %ss were loaded; the rest were not\n",
				        file, sent, total, k->noun);
			break;
		}
		version = ((Dealdesk__V1__WriteResponse *)resp)->data_version;
		cli_print_warnings((const void *)resp);
		protobuf_c_message_free_unpacked(resp, NULL);
		sent += n;
		calls++;
	}
	MEMBER(size_t, put, f->quantifier_offset) = total;
	MEMBER(void **, put, f->offset) = all;
	if (rc != CLI_OK)
		return rc;

	if (c->json) {
		Dealdesk__V1__WriteResponse w = DEALDESK__V1__WRITE_RESPONSE__INIT;
		w.data_version = version;
		w.count = (uint32_t)total;
		return cli_print_json(&w.base, false);
	}
	if (total == 0)
		printf("%s: no %ss to load\n", file, k->noun);
	else
		printf("loaded %zu %s%s in %zu call%s, data version %" PRIu64 "\n", total, k->noun,
		       total == 1 ? "" : "s", calls, calls == 1 ? "" : "s", version);
	return CLI_OK;
}

static int records_load(cli *c, const cli_record_kind *k, const char *path, bool dry_run)
{
	char *text;
	size_t len;
	const char *file = cli_file_name(path);
	int rc = cli_read_file(path, &text, &len);
	if (rc != CLI_OK)
		return rc;
	bool csv = (k->read_csv != NULL || k->sheet != NULL) && is_csv(path, text, len);
	ProtobufCMessage *put = NULL;
	ProtobufCMessage **recs = NULL;
	size_t n = 0;
	dd_csvrec_result sheet = { 0 };
	if (csv && k->sheet != NULL) {
		rc = cli_sheet_read(file, text, len, k->sheet, dry_run, &sheet);
		if (rc == CLI_OK && (put = put_of(k, sheet.records, sheet.n)) == NULL)
			rc = cli_error(CLI_EUSAGE, "out of memory");
		n = sheet.n;
	} else if (csv) {
		rc = k->read_csv(file, text, len, &put);
		if (rc == CLI_OK)
			cli_repeated(put, k->field, &n);
	} else {
		rc = read_json(k, file, text, len, dry_run, &recs, &n);
		if (rc == CLI_OK && (put = put_of(k, recs, n)) == NULL)
			rc = cli_error(CLI_EUSAGE, "out of memory");
	}
	free(text);
	if (rc == CLI_OK && dry_run)
		cli_sheet_dry_run_ok(file, n, k->noun);
	else if (rc == CLI_OK)
		rc = records_send(c, k, file, put);
	if (csv && k->sheet == NULL) {
		protobuf_c_message_free_unpacked(put, NULL);
	} else {
		free(put);
		for (size_t i = 0; recs != NULL && i < n; i++)
			protobuf_c_message_free_unpacked(recs[i], NULL);
		free(recs);
		dd_csvrec_result_free(&sheet);
	}
	return rc;
}

static int records_export(cli *c, const cli_record_kind *k, const char *path)
{
	ProtobufCMessage *req = calloc(1, k->list_req->sizeof_message);
	if (req == NULL)
		return cli_error(CLI_ERPC, "out of memory");
	protobuf_c_message_init(k->list_req, req);
	char method[128];
	method_path(k, k->list, method, sizeof(method));
	int rc = cli_sheet_export(c, method, req, k->list_resp, k->field, k->sheet, path);
	free(req);
	return rc;
}

static int records_list(cli *c, const cli_record_kind *k)
{
	ProtobufCMessage *req = calloc(1, k->list_req->sizeof_message);
	if (req == NULL)
		return cli_error(CLI_ERPC, "out of memory");
	protobuf_c_message_init(k->list_req, req);
	char method[128];
	method_path(k, k->list, method, sizeof(method));
	ProtobufCMessage **pages;
	size_t n_pages;
	int rc = cli_list_all(c, method, req, k->list_resp, &pages, &n_pages);
	free(req);
	if (rc != CLI_OK)
		return rc;
	if (c->json) {
		rc = cli_print_pages_json(pages, n_pages, k->field);
	} else {
		cli_table *t = cli_table_new(k->align, k->head);
		size_t total = 0;
		for (size_t p = 0; p < n_pages; p++) {
			size_t n;
			void **items = cli_repeated(pages[p], k->field, &n);
			for (size_t i = 0; i < n; i++)
				k->print_row(t, items[i]);
			total += n;
		}
		if (total == 0)
			printf("no %ss\n", k->noun);
		else
			cli_table_print(t, stdout, "");
		cli_table_free(t);
	}
	cli_free_pages(pages, n_pages);
	return rc;
}

/* get or delete by key: every key message has one string field, k->key_field. */
static int records_by_key(cli *c, const cli_record_kind *k, bool del, char *id)
{
	ProtobufCMessage *key = calloc(1, k->key->sizeof_message);
	if (key == NULL)
		return cli_error(CLI_ERPC, "out of memory");
	protobuf_c_message_init(k->key, key);
	const ProtobufCFieldDescriptor *f =
		protobuf_c_message_descriptor_get_field_by_name(k->key, k->key_field);
	MEMBER(char *, key, f->offset) = id;

	char method[128];
	method_path(k, del ? k->del : k->get, method, sizeof(method));
	ProtobufCMessage *resp;
	int rc = cli_call(c, method, key, del ? &dealdesk__v1__write_response__descriptor : k->item,
	                  &resp);
	free(key); /* its one string belongs to argv */
	if (rc != CLI_OK)
		return rc;
	if (c->json)
		rc = cli_print_json(resp, false);
	else if (del)
		printf("deleted %s %s, data version %" PRIu64 "\n", k->noun, id,
		       ((Dealdesk__V1__WriteResponse *)resp)->data_version);
	else
		rc = cli_print_json(resp, true);
	protobuf_c_message_free_unpacked(resp, NULL);
	return rc;
}

int cli_records_command(cli *c, const cli_record_kind *k, int argc, char **argv)
{
	if (argc < 2) {
		print_usage(k, stderr);
		return CLI_EUSAGE;
	}
	const char *sub = argv[1];
	if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
		print_usage(k, stdout);
		return CLI_OK;
	}
	argc--;
	argv++;
	enum { OPT_DRY_RUN = 1 };
	static const struct option options[] = {
		{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
		CLI_GLOBAL_OPTIONS
	};
	int opt, rc;
	bool dry_run = false;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		if (opt == 'h') {
			print_usage(k, stdout);
			return CLI_OK;
		}
		if (opt == OPT_DRY_RUN) {
			if (strcmp(sub, "load") != 0)
				return cli_usage_error(k->command, "--dry-run is for load");
			dry_run = true;
			continue;
		}
		rc = cli_common_option(c, opt, optarg, k->command);
		if (rc != 0)
			return rc == -1 ? CLI_EUSAGE : rc;
	}
	int nargs = argc - optind;
	char **args = argv + optind;
	if (strcmp(sub, "load") == 0) {
		if (nargs != 1)
			return cli_usage_error(k->command, "load needs one FILE.json%s",
			                       k->read_csv ? " or FILE.csv" : "");
		return records_load(c, k, args[0], dry_run);
	}
	if (strcmp(sub, "export") == 0 && k->sheet != NULL) {
		if (nargs > 1)
			return cli_usage_error(k->command, "export takes at most one FILE.csv");
		return records_export(c, k, nargs ? args[0] : NULL);
	}
	if (strcmp(sub, "list") == 0) {
		if (nargs != 0)
			return cli_usage_error(k->command, "list takes no arguments");
		return records_list(c, k);
	}
	if (strcmp(sub, "get") == 0 || strcmp(sub, "delete") == 0) {
		if (nargs != 1)
			return cli_usage_error(k->command, "%s needs one %s", sub, k->key_arg);
		return records_by_key(c, k, sub[0] == 'd', args[0]);
	}
	return cli_usage_error(k->command, "unknown subcommand '%s'", sub);
}

int cli_cmd_promotions(cli *c, int argc, char **argv)
{
	return cli_records_command(c, &promotions, argc, argv);
}

int cli_cmd_customers(cli *c, int argc, char **argv)
{
	return cli_records_command(c, &customers, argc, argv);
}

int cli_cmd_checks(cli *c, int argc, char **argv)
{
	return cli_records_command(c, &checks, argc, argv);
}

int cli_cmd_coupons(cli *c, int argc, char **argv)
{
	return cli_records_command(c, &coupons, argc, argv);
}
