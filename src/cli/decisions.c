/* dealdesk decisions get|list|replay|stats and dealdesk impact: the
 * dealdesk.v1.DecisionLog service (role compliance). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "dealdesk/model.h"
#include "dealdesk/money.h"
#include "dealdesk/pbjson.h"
#include "dealdesk/v1/admin.pb-c.h"
#include "dealdesk/v1/journal.pb-c.h"

static const char usage[] =
	"usage: dealdesk decisions get DECISION_ID | get --order ORDER_ID\n"
	"       dealdesk decisions list [--order ORDER_ID] [--from UNIX] [--to UNIX]\n"
	"       dealdesk decisions replay DECISION_ID | replay --order ORDER_ID\n"
	"       dealdesk decisions stats\n"
	"\n"
	"get      one recorded decision: kind, order, when, who, versions, outcome\n"
	"         (--json: the record with its request and response bytes).\n"
	"list     recorded decisions, oldest first.\n"
	"replay   re-runs the recorded request on the recorded policy versions and\n"
	"         compares the response byte for byte (apart from decision_id). When\n"
	"         the data version moved on, the replay runs on the current data and\n"
	"         says so. Exit 0 when identical, 1 when it differs or cannot run.\n"
	"stats    records recorded, written, dropped (the log could not keep up),\n"
	"         queued and pruned.\n";

static const char impact_usage[] =
	"usage: dealdesk impact --kind KIND (--version N | --sha256 HEX)\n"
	"                       [--last N | --from UNIX --to UNIX] [--examples N]\n"
	"       dealdesk impact (--promotions FILE.json | --checks FILE.json) ...\n"
	"\n"
	"Replays recorded quote decisions with policy version N of KIND (pricing,\n"
	"promotions, credit, compliance; stored, not necessarily active) in place of\n"
	"the version each was decided with, and reports how many change, the credit\n"
	"outcome transitions, the change in discount cost and approved exposure per\n"
	"currency, the change in compliance flags, and a few examples.\n"
	"--last N (default 1000) takes the last N recorded decisions; --from/--to a\n"
	"window of recording times instead.\n"
	"--promotions / --checks: a data candidate instead (a PutPromotions or\n"
	"PutComplianceChecks JSON file: the records as they would be written); each\n"
	"decision is replayed on its recorded policy versions, on the current data\n"
	"with and without them (on a scratch copy: nothing is written).\n";

enum { OPT_ORDER = 1, OPT_FROM, OPT_TO, OPT_KIND, OPT_VERSION, OPT_LAST, OPT_EXAMPLES,
       OPT_SHA256, OPT_PROMOTIONS, OPT_CHECKS };

static const char *short_enum(const ProtobufCEnumDescriptor *d, int v, const char *prefix,
                              char *buf, size_t size)
{
	const char *s = cli_enum(d, v, buf, size);
	size_t n = strlen(prefix);
	return strncmp(s, prefix, n) == 0 ? s + n : s;
}

static void print_record(const Dealdesk__V1__DecisionRecord *r)
{
	char t[32], m[40], e1[64], e2[64], e3[64];
	int exp = dd_currency_exponent(r->currency);
	printf("decision   %s\n", r->decision_id);
	printf("kind       %s\n", short_enum(&dealdesk__v1__decision_kind__descriptor, r->kind,
	                                     "DECISION_KIND_", e1, sizeof(e1)));
	printf("seq        %" PRIu64 "\n", r->seq);
	printf("order      %s\n", *r->order_id ? r->order_id : "-");
	printf("recorded   %s (%" PRId64 " ns)\n", cli_time(r->recorded_at / 1000000000, t, sizeof(t)),
	       r->recorded_at);
	printf("principal  %s\n", *r->principal ? r->principal : "-");
	if (r->versions)
		printf("versions   data %" PRIu64 ", pricing %" PRIu64 ", promotions %" PRIu64
		       ", credit %" PRIu64 ", compliance %" PRIu64 "\n",
		       r->versions->data_version, r->versions->pricing_policy,
		       r->versions->promotions_policy, r->versions->credit_policy,
		       r->versions->compliance_policy);
	printf("total      %s %s\n", cli_money(r->total, exp, m, sizeof(m)), r->currency);
	printf("credit     %s\n", short_enum(&dealdesk__v1__credit_outcome__descriptor,
	                                     r->credit_outcome, "CREDIT_OUTCOME_", e2, sizeof(e2)));
	printf("compliance %s\n", short_enum(&dealdesk__v1__compliance_status__descriptor,
	                                     r->compliance_status, "COMPLIANCE_STATUS_", e3,
	                                     sizeof(e3)));
	printf("request    %zu bytes, response %zu bytes\n", r->request.len, r->response.len);
	if (r->n_redacted > 0) {
		printf("redacted  ");
		for (size_t i = 0; i < r->n_redacted; i++)
			printf("%s%s", i ? ", " : " ", r->redacted[i]);
		printf(" (not replayable)\n");
	}
}

static int cmd_get(cli *c, const char *id, const char *order)
{
	Dealdesk__V1__DecisionKey k = DEALDESK__V1__DECISION_KEY__INIT;
	k.decision_id = (char *)(id ? id : "");
	k.order_id = (char *)(order ? order : "");
	ProtobufCMessage *resp = NULL;
	int rc = cli_call(c, "/dealdesk.v1.DecisionLog/GetDecision", &k.base,
	                  &dealdesk__v1__decision_record__descriptor, &resp);
	if (rc != CLI_OK)
		return rc;
	if (c->json)
		rc = cli_print_json(resp, false);
	else
		print_record((const void *)resp);
	protobuf_c_message_free_unpacked(resp, NULL);
	return rc;
}

static int cmd_list(cli *c, const char *order, int64_t from, int64_t to)
{
	Dealdesk__V1__ListDecisionsRequest req = DEALDESK__V1__LIST_DECISIONS_REQUEST__INIT;
	Dealdesk__V1__PageRequest page = DEALDESK__V1__PAGE_REQUEST__INIT;
	req.page = &page;
	req.order_id = (char *)(order ? order : "");
	req.from_time = from;
	req.to_time = to;
	req.summary = !c->json;
	ProtobufCMessage **pages = NULL;
	size_t np = 0;
	int rc = cli_list_all(c, "/dealdesk.v1.DecisionLog/ListDecisions", &req.base,
	                      &dealdesk__v1__list_decisions_response__descriptor, &pages, &np);
	if (rc != CLI_OK)
		return rc;
	if (c->json) {
		rc = cli_print_pages_json(pages, np, "decisions");
		cli_free_pages(pages, np);
		return rc;
	}
	static const char *const head[] = { "SEQ", "DECISION", "KIND", "ORDER", "RECORDED", "TOTAL",
		                            "CREDIT", "COMPLIANCE", NULL };
	cli_table *t = cli_table_new("rlllllll", head);
	for (size_t p = 0; p < np; p++) {
		size_t n;
		Dealdesk__V1__DecisionRecord **items = (void *)cli_repeated(pages[p], "decisions", &n);
		for (size_t i = 0; i < n; i++) {
			const Dealdesk__V1__DecisionRecord *r = items[i];
			char seq[24], tm[32], money[48], m[40], e1[64], e2[64], e3[64];
			snprintf(seq, sizeof(seq), "%" PRIu64, r->seq);
			snprintf(money, sizeof(money), "%s %s",
			         cli_money(r->total, dd_currency_exponent(r->currency), m, sizeof(m)),
			         r->currency);
			const char *cells[] = {
				seq, r->decision_id,
				short_enum(&dealdesk__v1__decision_kind__descriptor, r->kind, "DECISION_KIND_", e1, sizeof(e1)),
				*r->order_id ? r->order_id : "-",
				cli_time(r->recorded_at / 1000000000, tm, sizeof(tm)), money,
				short_enum(&dealdesk__v1__credit_outcome__descriptor, r->credit_outcome, "CREDIT_OUTCOME_", e2, sizeof(e2)),
				short_enum(&dealdesk__v1__compliance_status__descriptor, r->compliance_status, "COMPLIANCE_STATUS_", e3, sizeof(e3)),
			};
			cli_table_row(t, cells);
		}
	}
	cli_table_print(t, stdout, "");
	cli_table_free(t);
	cli_free_pages(pages, np);
	return CLI_OK;
}

static int cmd_replay(cli *c, const char *id, const char *order)
{
	Dealdesk__V1__DecisionKey k = DEALDESK__V1__DECISION_KEY__INIT;
	k.decision_id = (char *)(id ? id : "");
	k.order_id = (char *)(order ? order : "");
	ProtobufCMessage *resp = NULL;
	int rc = cli_call(c, "/dealdesk.v1.DecisionLog/ReplayDecision", &k.base,
	                  &dealdesk__v1__replay_result__descriptor, &resp);
	if (rc != CLI_OK)
		return rc;
	const Dealdesk__V1__ReplayResult *r = (const void *)resp;
	if (c->json) {
		cli_print_json(resp, false);
	} else {
		int exact = r->mode == DEALDESK__V1__REPLAY_MODE__REPLAY_MODE_EXACT;
		printf("decision %s: replayed on %s (data version %" PRIu64 "%s%" PRIu64 ")\n",
		       r->decision_id, exact ? "the recorded data and policy versions"
		                             : "the CURRENT data and the recorded policy versions",
		       r->recorded_data_version, exact ? ", now " : " recorded, now ",
		       r->current_data_version);
		printf("%s\n", r->identical ? "identical: the same response bytes apart from decision_id"
		                            : "DIFFERENT");
		if (*r->reason)
			printf("%s\n", r->reason);
	}
	rc = r->identical ? CLI_OK : CLI_ERPC;
	protobuf_c_message_free_unpacked(resp, NULL);
	return rc;
}

static int cmd_stats(cli *c)
{
	Dealdesk__V1__DecisionLogStatsRequest req = DEALDESK__V1__DECISION_LOG_STATS_REQUEST__INIT;
	ProtobufCMessage *resp = NULL;
	int rc = cli_call(c, "/dealdesk.v1.DecisionLog/GetDecisionLogStats", &req.base,
	                  &dealdesk__v1__decision_log_stats__descriptor, &resp);
	if (rc != CLI_OK)
		return rc;
	const Dealdesk__V1__DecisionLogStats *s = (const void *)resp;
	if (c->json) {
		rc = cli_print_json(resp, false);
	} else {
		printf("recorded %" PRIu64 "\nwritten %" PRIu64 "\ndropped %" PRIu64 "\nqueued %" PRIu64
		       "\ncapacity %" PRIu64 "\npruned %" PRIu64 "\nretention_days %u\nredacted",
		       s->recorded, s->written, s->dropped, s->queued, s->capacity, s->pruned,
		       s->retention_days);
		for (size_t i = 0; i < s->n_redact_fields; i++)
			printf("%s%s", i ? "," : " ", s->redact_fields[i]);
		printf("%s\n", s->n_redact_fields ? "" : " -");
	}
	protobuf_c_message_free_unpacked(resp, NULL);
	return rc;
}

int cli_cmd_decisions(cli *c, int argc, char **argv)
{
	static const struct option options[] = {
		{ "order", required_argument, NULL, OPT_ORDER },
		{ "from", required_argument, NULL, OPT_FROM },
		{ "to", required_argument, NULL, OPT_TO },
		CLI_GLOBAL_OPTIONS
	};
	const char *order = NULL;
	int64_t from = 0, to = 0;
	int opt;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		if (opt == 'h') {
			fputs(usage, stdout);
			return CLI_OK;
		}
		if (opt == OPT_ORDER) {
			order = optarg;
			continue;
		}
		if (opt == OPT_FROM || opt == OPT_TO) {
			if (!cli_parse_int64(optarg, opt == OPT_FROM ? &from : &to))
				return cli_usage_error("decisions", "--%s: not a Unix time: '%s'",
				                       opt == OPT_FROM ? "from" : "to", optarg);
			continue;
		}
		int rc = cli_common_option(c, opt, optarg, "decisions");
		if (rc != 0)
			return rc == -1 ? CLI_EUSAGE : rc;
	}
	if (optind >= argc)
		return cli_usage_error("decisions", "get, list, replay or stats?");
	const char *sub = argv[optind++];
	const char *id = optind < argc ? argv[optind++] : NULL;
	if (optind != argc)
		return cli_usage_error("decisions", "unexpected argument '%s'", argv[optind]);
	if (strcmp(sub, "get") == 0 || strcmp(sub, "replay") == 0) {
		if ((id == NULL) == (order == NULL))
			return cli_usage_error("decisions", "%s needs DECISION_ID or --order ORDER_ID", sub);
		return sub[0] == 'g' ? cmd_get(c, id, order) : cmd_replay(c, id, order);
	}
	if (id != NULL)
		return cli_usage_error("decisions", "%s takes no argument", sub);
	if (strcmp(sub, "list") == 0)
		return cmd_list(c, order, from, to);
	if (strcmp(sub, "stats") == 0)
		return cmd_stats(c);
	return cli_usage_error("decisions", "unknown subcommand '%s'", sub);
}

/* ---- impact ------------------------------------------------------------------ */

static void print_impact(const Dealdesk__V1__ImpactRequest *q, const Dealdesk__V1__ImpactReport *r)
{
	if (q->n_promotions || q->n_checks)
		printf("replayed %u decision(s) with %zu promotion(s) and %zu check(s) as written: "
		       "%u change%s",
		       r->replayed, q->n_promotions, q->n_checks, r->changed,
		       r->changed == 1 ? "" : "s");
	else
		printf("replayed %u decision(s) with %s policy v%" PRIu64 ": %u change%s",
		       r->replayed, dd_policy_kind_name((dd_policy_kind)q->kind),
		       r->candidate_version, r->changed, r->changed == 1 ? "" : "s");
	if (r->current_data)
		printf(" (%u replayed on current data: their data version moved on)", r->current_data);
	printf("\n");
	if (r->n_outcomes) {
		printf("outcomes:\n");
		for (size_t i = 0; i < r->n_outcomes; i++)
			printf("  %s -> %s: %u\n", r->outcomes[i]->from, r->outcomes[i]->to,
			       r->outcomes[i]->count);
	}
	for (size_t i = 0; i < r->n_money; i++) {
		const Dealdesk__V1__CurrencyImpact *m = r->money[i];
		int exp = dd_currency_exponent(m->currency);
		char a[40], b[40], d[40];
		printf("%s:\n", m->currency);
		printf("  discount cost      %s -> %s (%s%s)\n",
		       cli_money(m->discount_cost_before, exp, a, sizeof(a)),
		       cli_money(m->discount_cost_after, exp, b, sizeof(b)),
		       m->discount_cost_delta >= 0 ? "+" : "",
		       cli_money(m->discount_cost_delta, exp, d, sizeof(d)));
		printf("  approved exposure  %s -> %s (%s%s)\n",
		       cli_money(m->approved_exposure_before, exp, a, sizeof(a)),
		       cli_money(m->approved_exposure_after, exp, b, sizeof(b)),
		       m->approved_exposure_delta >= 0 ? "+" : "",
		       cli_money(m->approved_exposure_delta, exp, d, sizeof(d)));
	}
	printf("compliance flags %" PRId64 " -> %" PRId64 " (%s%" PRId64 ")\n",
	       r->compliance_flags_before, r->compliance_flags_after,
	       r->compliance_flags_delta >= 0 ? "+" : "", r->compliance_flags_delta);
	if (r->n_examples) {
		printf("examples:\n");
		for (size_t i = 0; i < r->n_examples; i++) {
			const Dealdesk__V1__ImpactExample *e = r->examples[i];
			int exp = dd_currency_exponent(e->currency);
			char a[40], b[40], c[40], d[40];
			printf("  %s  %s -> %s  total %s -> %s  discount %s -> %s %s\n", e->decision_id,
			       e->outcome_before, e->outcome_after,
			       cli_money(e->total_before, exp, a, sizeof(a)),
			       cli_money(e->total_after, exp, b, sizeof(b)),
			       cli_money(e->discount_before, exp, c, sizeof(c)),
			       cli_money(e->discount_after, exp, d, sizeof(d)), e->currency);
		}
	}
	if (r->skipped) {
		printf("skipped %u:\n", r->skipped);
		for (size_t i = 0; i < r->n_skip_reasons; i++)
			printf("  %s\n", r->skip_reasons[i]);
	}
}

int cli_cmd_impact(cli *c, int argc, char **argv)
{
	static const struct option options[] = {
		{ "kind", required_argument, NULL, OPT_KIND },
		{ "version", required_argument, NULL, OPT_VERSION },
		{ "last", required_argument, NULL, OPT_LAST },
		{ "from", required_argument, NULL, OPT_FROM },
		{ "to", required_argument, NULL, OPT_TO },
		{ "examples", required_argument, NULL, OPT_EXAMPLES },
		{ "sha256", required_argument, NULL, OPT_SHA256 },
		{ "promotions", required_argument, NULL, OPT_PROMOTIONS },
		{ "checks", required_argument, NULL, OPT_CHECKS },
		CLI_GLOBAL_OPTIONS
	};
	ProtobufCMessage *files[2] = { NULL, NULL };
	Dealdesk__V1__ImpactRequest req = DEALDESK__V1__IMPACT_REQUEST__INIT;
	int opt;
	uint64_t u;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (opt) {
		case 'h':
			fputs(impact_usage, stdout);
			return CLI_OK;
		case OPT_KIND:
			req.kind = dd_policy_kind_parse(optarg);
			if (req.kind == 0)
				return cli_usage_error("impact", "--kind: unknown policy kind '%s'", optarg);
			continue;
		case OPT_VERSION:
			if (!cli_parse_uint64(optarg, &req.version) || req.version == 0)
				return cli_usage_error("impact", "--version: not a version: '%s'", optarg);
			continue;
		case OPT_SHA256:
			req.sha256 = optarg;
			continue;
		case OPT_PROMOTIONS:
		case OPT_CHECKS: {
			int k = opt == OPT_CHECKS;
			const ProtobufCMessageDescriptor *d =
				k ? &dealdesk__v1__put_compliance_checks_request__descriptor
				  : &dealdesk__v1__put_promotions_request__descriptor;
			char *text;
			size_t len;
			if (files[k] != NULL || cli_read_file(optarg, &text, &len) != CLI_OK)
				return files[k] ? cli_usage_error("impact", "--%s given twice",
				                                  k ? "checks" : "promotions")
				                : CLI_EUSAGE;
			dd_error e;
			int prc = dd_pbjson_parse_message(text, len, d, &files[k], &e);
			free(text);
			if (prc != DD_OK)
				return cli_usage_error("impact", "%s: %s", optarg, e.msg);
			if (k) {
				const Dealdesk__V1__PutComplianceChecksRequest *f = (const void *)files[k];
				req.checks = f->checks;
				req.n_checks = f->n_checks;
			} else {
				const Dealdesk__V1__PutPromotionsRequest *f = (const void *)files[k];
				req.promotions = f->promotions;
				req.n_promotions = f->n_promotions;
			}
			continue;
		}
		case OPT_LAST:
		case OPT_EXAMPLES:
			if (!cli_parse_uint64(optarg, &u) || u == 0 || u > 100000)
				return cli_usage_error("impact", "--%s: 1..100000, not '%s'",
				                       opt == OPT_LAST ? "last" : "examples", optarg);
			if (opt == OPT_LAST)
				req.last_n = (uint32_t)u;
			else
				req.max_examples = (uint32_t)u;
			continue;
		case OPT_FROM:
		case OPT_TO:
			if (!cli_parse_int64(optarg, opt == OPT_FROM ? &req.from_time : &req.to_time))
				return cli_usage_error("impact", "--%s: not a Unix time: '%s'",
				                       opt == OPT_FROM ? "from" : "to", optarg);
			continue;
		default: {
			int rc = cli_common_option(c, opt, optarg, "impact");
			if (rc != 0)
				return rc == -1 ? CLI_EUSAGE : rc;
		}
		}
	}
	if (optind != argc)
		return cli_usage_error("impact", "unexpected argument '%s'", argv[optind]);
	int data = req.n_promotions > 0 || req.n_checks > 0;
	if (!data && (req.kind == 0 || (req.version == 0) == (*req.sha256 == '\0')))
		return cli_usage_error("impact", "needs --kind KIND and --version N or --sha256 HEX, "
		                                 "or --promotions/--checks FILE.json");
	ProtobufCMessage *resp = NULL;
	int rc = cli_call(c, "/dealdesk.v1.DecisionLog/Impact", &req.base,
	                  &dealdesk__v1__impact_report__descriptor, &resp);
	if (rc != CLI_OK) {
		for (int k = 0; k < 2; k++)
			if (files[k])
				protobuf_c_message_free_unpacked(files[k], NULL);
		return rc;
	}
	if (c->json)
		rc = cli_print_json(resp, false);
	else
		print_impact(&req, (const void *)resp);
	protobuf_c_message_free_unpacked(resp, NULL);
	for (int k = 0; k < 2; k++)
		if (files[k])
			protobuf_c_message_free_unpacked(files[k], NULL);
	return rc;
}
