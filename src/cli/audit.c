/* dealdesk audit list|verify: the dealdesk.v1.AuditLog service (role
 * compliance). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "dealdesk/v1/journal.pb-c.h"

static const char usage[] =
	"usage: dealdesk audit list [--after SEQ] [--limit N]\n"
	"       dealdesk audit verify\n"
	"\n"
	"list     audit entries, oldest first: seq, time, who (principal, role), the\n"
	"         RPC, the key it changed and the SHA-256 of the request.\n"
	"verify   recomputes the hash chain and compares it with the stored head;\n"
	"         names every altered, removed or moved entry. Exit 0 when intact,\n"
	"         1 when not. Keep the printed head hash elsewhere to catch a rewrite\n"
	"         of the whole chain.\n";

enum { OPT_AFTER = 1, OPT_LIMIT };

static void hex(const ProtobufCBinaryData *b, size_t max, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t n = b->len < max ? b->len : max;
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b->data[i] >> 4];
		out[2 * i + 1] = digits[b->data[i] & 15];
	}
	out[2 * n] = '\0';
}

static int cmd_list(cli *c, uint64_t after, uint32_t limit)
{
	static const char *const head[] = { "SEQ", "TIME", "PRINCIPAL", "ROLE", "METHOD", "KEY",
		                            "SHA256", NULL };
	cli_table *t = c->json ? NULL : cli_table_new("rllllll", head);
	int rc = CLI_OK;
	for (;;) {
		Dealdesk__V1__ListAuditRequest req = DEALDESK__V1__LIST_AUDIT_REQUEST__INIT;
		req.after_seq = after;
		req.limit = limit;
		ProtobufCMessage *resp = NULL;
		rc = cli_call(c, "/dealdesk.v1.AuditLog/ListAudit", &req.base,
		              &dealdesk__v1__list_audit_response__descriptor, &resp);
		if (rc != CLI_OK)
			break;
		const Dealdesk__V1__ListAuditResponse *r = (const void *)resp;
		if (c->json)
			cli_print_json(resp, false);
		for (size_t i = 0; t && i < r->n_entries; i++) {
			const Dealdesk__V1__AuditEntry *e = r->entries[i];
			char seq[24], tm[32], sha[65];
			snprintf(seq, sizeof(seq), "%" PRIu64, e->seq);
			hex(&e->value_sha256, 6, sha);
			const char *cells[] = { seq, cli_time(e->time / 1000000000, tm, sizeof(tm)),
				                e->principal, e->role, e->method, e->key, sha };
			cli_table_row(t, cells);
		}
		after = r->next_after_seq;
		int more = after != 0 && limit == 0;
		protobuf_c_message_free_unpacked(resp, NULL);
		if (!more)
			break;
	}
	if (t) {
		if (rc == CLI_OK)
			cli_table_print(t, stdout, "");
		cli_table_free(t);
	}
	return rc;
}

static int cmd_verify(cli *c)
{
	Dealdesk__V1__VerifyAuditRequest req = DEALDESK__V1__VERIFY_AUDIT_REQUEST__INIT;
	ProtobufCMessage *resp = NULL;
	int rc = cli_call(c, "/dealdesk.v1.AuditLog/VerifyAudit", &req.base,
	                  &dealdesk__v1__verify_audit_response__descriptor, &resp);
	if (rc != CLI_OK)
		return rc;
	const Dealdesk__V1__VerifyAuditResponse *r = (const void *)resp;
	if (c->json) {
		cli_print_json(resp, false);
	} else {
		char h[65];
		hex(&r->head_hash, 32, h);
		for (size_t i = 0; i < r->n_problems; i++)
			printf("entry %" PRIu64 ": %s: %s\n", r->problems[i]->seq, r->problems[i]->problem,
			       r->problems[i]->detail);
		printf("audit log: %" PRIu64 " entries, head %" PRIu64 " %s: %s\n", r->entries,
		       r->head_seq, *h ? h : "-", r->ok ? "intact" : "NOT INTACT");
	}
	rc = r->ok ? CLI_OK : CLI_ERPC;
	protobuf_c_message_free_unpacked(resp, NULL);
	return rc;
}

int cli_cmd_audit(cli *c, int argc, char **argv)
{
	static const struct option options[] = {
		{ "after", required_argument, NULL, OPT_AFTER },
		{ "limit", required_argument, NULL, OPT_LIMIT },
		CLI_GLOBAL_OPTIONS
	};
	uint64_t after = 0, limit = 0;
	int opt;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		if (opt == 'h') {
			fputs(usage, stdout);
			return CLI_OK;
		}
		if (opt == OPT_AFTER || opt == OPT_LIMIT) {
			uint64_t *dst = opt == OPT_AFTER ? &after : &limit;
			if (!cli_parse_uint64(optarg, dst) || (opt == OPT_LIMIT && (limit == 0 || limit > 1000)))
				return cli_usage_error("audit", "--%s: bad value '%s'",
				                       opt == OPT_AFTER ? "after" : "limit", optarg);
			continue;
		}
		int rc = cli_common_option(c, opt, optarg, "audit");
		if (rc != 0)
			return rc == -1 ? CLI_EUSAGE : rc;
	}
	if (optind >= argc)
		return cli_usage_error("audit", "list or verify?");
	const char *sub = argv[optind++];
	if (optind != argc)
		return cli_usage_error("audit", "unexpected argument '%s'", argv[optind]);
	if (strcmp(sub, "list") == 0)
		return cmd_list(c, after, (uint32_t)limit);
	if (strcmp(sub, "verify") == 0)
		return cmd_verify(c);
	return cli_usage_error("audit", "unknown subcommand '%s'", sub);
}
