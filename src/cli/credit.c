/* dealdesk credit-tiers ... (the credit tier table finance keeps,
 * dealdesk.v1.CustomerAdmin) and dealdesk credit-changes (who changed a
 * credit profile or the tier table, when, before and after:
 * OrderService/ListCreditChanges). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "dealdesk/model.h"
#include "dealdesk/money.h"
#include "dealdesk/pbjson.h"
#include "dealdesk/v1/admin.pb-c.h"
#include "dealdesk/v1/orders.pb-c.h"

static void tier_row(cli_table *t, const ProtobufCMessage *m)
{
	const Dealdesk__V1__CreditTier *k = (const Dealdesk__V1__CreditTier *)m;
	char score[16], limit[40], terms[16], ap[16], sh[24], de[16], over[24];
	if (k->min_score > 0)
		snprintf(score, sizeof(score), "%" PRId32 "-%" PRId32, k->min_score, k->max_score);
	else
		snprintf(score, sizeof(score), "-");
	if (k->credit_limit > 0) {
		char money[32];
		snprintf(limit, sizeof(limit), "%s %s",
		         cli_money(k->credit_limit, dd_currency_exponent(k->currency), money, sizeof(money)),
		         k->currency);
	} else {
		snprintf(limit, sizeof(limit), "-");
	}
	snprintf(terms, sizeof(terms), "%" PRId32, k->terms_days);
	snprintf(ap, sizeof(ap), "%" PRId32, k->approve_bps);
	snprintf(sh, sizeof(sh), "%" PRId32 " (%" PRId32 "d)", k->shorter_bps, k->shorter_terms_days);
	snprintf(de, sizeof(de), "%" PRId32, k->deposit_bps);
	snprintf(over, sizeof(over), "%" PRId32 "/%" PRId32, k->review_overdue_days,
	         k->decline_overdue_days);
	const char *row[] = { k->name, score, limit, terms, ap, sh, de, k->beyond, over,
		              k->is_default ? "yes" : "" };
	cli_table_row(t, row);
}

static const char *const tier_head[] = { "TIER", "SCORE", "LIMIT", "TERMS", "APPROVE BPS",
	                                 "SHORTER BPS", "DEPOSIT BPS", "BEYOND",
	                                 "OVERDUE REVIEW/DECLINE", "DEFAULT" };

static const cli_record_kind tiers = {
	.command = "credit-tiers", .noun = "credit tier", .service = "dealdesk.v1.CustomerAdmin",
	.put = "PutCreditTiers", .get = "GetCreditTier", .list = "ListCreditTiers",
	.del = "DeleteCreditTier", .field = "tiers", .key_field = "name", .key_arg = "NAME",
	.put_req = &dealdesk__v1__put_credit_tiers_request__descriptor,
	.key = &dealdesk__v1__credit_tier_key__descriptor,
	.item = &dealdesk__v1__credit_tier__descriptor,
	.list_req = &dealdesk__v1__list_credit_tiers_request__descriptor,
	.list_resp = &dealdesk__v1__list_credit_tiers_response__descriptor,
	.print_row = tier_row, .align = "llrrrrrlrl", .head = tier_head,
	.entity = DD_ENTITY_CREDIT_TIER,
};

int cli_cmd_credit_tiers(cli *c, int argc, char **argv)
{
	return cli_records_command(c, &tiers, argc, argv);
}

static const char changes_usage[] =
	"usage: dealdesk credit-changes CUSTOMER_ID\n"
	"       dealdesk credit-changes --tiers\n"
	"\n"
	"Lists every change of a customer's credit profile, or of the credit tier\n"
	"table, oldest first: when, who, and the record before and after (JSON; \"-\"\n"
	"when it did not exist). With --json the CreditChange messages.\n";

static void print_side(const char *label, const ProtobufCMessage *m)
{
	printf("  %s: ", label);
	if (m == NULL) {
		puts("-");
		return;
	}
	char *s = NULL;
	if (dd_pbjson_format(m, 0, &s) == DD_OK && s) {
		puts(s);
		free(s);
	} else {
		puts("?");
	}
}

int cli_cmd_credit_changes(cli *c, int argc, char **argv)
{
	enum { OPT_TIERS = 1 };
	static const struct option options[] = { { "tiers", no_argument, NULL, OPT_TIERS },
		                                 CLI_GLOBAL_OPTIONS };
	int opt, rc, tiers_only = 0;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		if (opt == 'h') {
			fputs(changes_usage, stdout);
			return CLI_OK;
		}
		if (opt == OPT_TIERS) {
			tiers_only = 1;
			continue;
		}
		if ((rc = cli_common_option(c, opt, optarg, "credit-changes")) != 0)
			return rc == -1 ? CLI_EUSAGE : rc;
	}
	Dealdesk__V1__ListCreditChangesRequest req = DEALDESK__V1__LIST_CREDIT_CHANGES_REQUEST__INIT;
	if (tiers_only) {
		if (optind < argc)
			return cli_usage_error("credit-changes", "--tiers takes no CUSTOMER_ID");
		req.tiers = 1;
	} else {
		if (optind + 1 != argc)
			return cli_usage_error("credit-changes", "one CUSTOMER_ID, or --tiers");
		req.customer_id = argv[optind];
	}
	ProtobufCMessage **pages;
	size_t n_pages;
	rc = cli_list_all(c, "/dealdesk.v1.OrderService/ListCreditChanges", &req.base,
	                  &dealdesk__v1__list_credit_changes_response__descriptor, &pages, &n_pages);
	if (rc != CLI_OK)
		return rc;
	if (c->json) {
		rc = cli_print_pages_json(pages, n_pages, "changes");
	} else {
		for (size_t p = 0; p < n_pages; p++) {
			const Dealdesk__V1__ListCreditChangesResponse *r = (const void *)pages[p];
			for (size_t i = 0; i < r->n_changes; i++) {
				const Dealdesk__V1__CreditChange *x = r->changes[i];
				char at[32];
				if (*x->tier)
					printf("%s  tier %s  by %s\n", cli_time(x->at, at, sizeof(at)), x->tier,
					       *x->actor ? x->actor : "(unknown)");
				else
					printf("%s  customer %s  by %s\n", cli_time(x->at, at, sizeof(at)),
					       x->customer_id, *x->actor ? x->actor : "(unknown)");
				print_side("before", *x->tier ? (const ProtobufCMessage *)x->tier_before
				                              : (const ProtobufCMessage *)x->before);
				print_side("after", *x->tier ? (const ProtobufCMessage *)x->tier_after
				                             : (const ProtobufCMessage *)x->after);
			}
		}
	}
	cli_free_pages(pages, n_pages);
	return rc;
}
