/* dealdesk policy: upload, review, activate, list and read policy scripts
 * through dealdesk.v1.PolicyAdmin. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "dealdesk/model.h"
#include "dealdesk/v1/admin.pb-c.h"

static const char usage[] =
	"usage: dealdesk policy upload --kind KIND FILE.lua [--author A] [--comment C] [--activate]\n"
	"       dealdesk policy activate --kind KIND --version N [--actor A]\n"
	"       dealdesk policy submit|approve|reject --kind KIND --version N [--actor A]\n"
	"                                             [--comment C]\n"
	"       dealdesk policy list [--kind KIND]\n"
	"       dealdesk policy get --kind KIND [--version N]\n"
	"\n"
	"KIND is pricing, promotions, credit or compliance.\n"
	"  upload    stores FILE.lua (\"-\" = stdin) as a new DRAFT version and prints\n"
	"            it; with --activate it is then made ACTIVE (actor = the author).\n"
	"  activate  makes version N the active one (the server may require APPROVED).\n"
	"  submit    DRAFT -> PENDING_REVIEW; approve/reject: PENDING_REVIEW ->\n"
	"            APPROVED/REJECTED (the approver must not be the author).\n"
	"  list      every version (of KIND), without sources.\n"
	"  get       version N, or the active one; text output is the source only.\n"
	"--author and --actor default to $USER. They count only with a server\n"
	"started with --no-auth: otherwise the author and the reviewer are the\n"
	"principals of the calls (--token, or the client certificate), and an\n"
	"approval needs a principal other than the author.\n";

#define SVC "/dealdesk.v1.PolicyAdmin/"

enum {
	OPT_KIND = 1, OPT_VERSION, OPT_AUTHOR, OPT_ACTOR, OPT_COMMENT, OPT_ACTIVATE,
};

typedef struct policy_args {
	unsigned given; /* 1 << OPT_* */
	int kind;
	uint64_t version;
	const char *author, *actor, *comment;
	bool activate;
	const char *file;
} policy_args;

static const char *const opt_names[] = {
	[OPT_KIND] = "--kind", [OPT_VERSION] = "--version", [OPT_AUTHOR] = "--author",
	[OPT_ACTOR] = "--actor", [OPT_COMMENT] = "--comment", [OPT_ACTIVATE] = "--activate",
};

static int parse_args(cli *c, int argc, char **argv, policy_args *a)
{
	static const struct option options[] = {
		{ "kind", required_argument, NULL, OPT_KIND },
		{ "version", required_argument, NULL, OPT_VERSION },
		{ "author", required_argument, NULL, OPT_AUTHOR },
		{ "actor", required_argument, NULL, OPT_ACTOR },
		{ "comment", required_argument, NULL, OPT_COMMENT },
		{ "activate", no_argument, NULL, OPT_ACTIVATE },
		CLI_GLOBAL_OPTIONS
	};
	const char *user = getenv("USER");
	a->author = a->actor = user ? user : "";
	a->comment = "";
	int opt, rc;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		if (opt >= OPT_KIND && opt <= OPT_ACTIVATE)
			a->given |= 1u << opt;
		switch (opt) {
		case 'h':
			fputs(usage, stdout);
			return -1;
		case OPT_KIND:
			if ((a->kind = dd_policy_kind_parse(optarg)) == 0)
				return cli_usage_error("policy", "--kind '%s': expected pricing, promotions, "
				                       "credit or compliance", optarg);
			break;
		case OPT_VERSION:
			if (!cli_parse_uint64(optarg, &a->version) || a->version == 0)
				return cli_usage_error("policy", "--version '%s': expected a version >= 1",
				                       optarg);
			break;
		case OPT_AUTHOR: a->author = optarg; break;
		case OPT_ACTOR: a->actor = optarg; break;
		case OPT_COMMENT: a->comment = optarg; break;
		case OPT_ACTIVATE: a->activate = true; break;
		default:
			rc = cli_common_option(c, opt, optarg, "policy");
			if (rc != 0)
				return rc == -1 ? CLI_EUSAGE : rc;
		}
	}
	return CLI_OK;
}

/* Refuses options outside `allowed` and requires those in `required`. */
static int check_args(const char *sub, const policy_args *a, unsigned allowed, unsigned required)
{
	for (int o = OPT_KIND; o <= OPT_ACTIVATE; o++) {
		if ((a->given & (1u << o)) && !(allowed & (1u << o)))
			return cli_usage_error("policy", "%s does not take %s", sub, opt_names[o]);
		if ((required & (1u << o)) && !(a->given & (1u << o)))
			return cli_usage_error("policy", "%s needs %s", sub, opt_names[o]);
	}
	return CLI_OK;
}

#define BIT(o) (1u << (o))

/* "pricing", or the number the server sent when it is no kind we know. */
static const char *kind_name(int kind, char *buf, size_t size)
{
	const char *s = dd_policy_kind_name(kind);
	if (s != NULL)
		return s;
	snprintf(buf, size, "%d", kind);
	return buf;
}

static void print_script_line(const char *verb, const Dealdesk__V1__PolicyScript *p)
{
	char kind[24], status[24];
	printf("%s%s policy version %" PRIu64 ": %s", verb, kind_name((int)p->kind, kind, sizeof(kind)),
	       p->version,
	       cli_enum(&dealdesk__v1__policy_status__descriptor, (int)p->status, status,
	                sizeof(status)));
	if (*p->sha256 != '\0')
		printf(" (sha256 %s)", p->sha256);
	putchar('\n');
}

static int activate(cli *c, int kind, uint64_t version, const char *actor,
                    ProtobufCMessage **resp)
{
	Dealdesk__V1__ActivatePolicyRequest req = DEALDESK__V1__ACTIVATE_POLICY_REQUEST__INIT;
	req.kind = kind;
	req.version = version;
	req.actor = (char *)actor;
	return cli_call(c, SVC "ActivatePolicy", &req.base, &dealdesk__v1__policy_script__descriptor,
	                resp);
}

static int finish(cli *c, const char *verb, ProtobufCMessage *resp)
{
	int rc = CLI_OK;
	if (c->json)
		rc = cli_print_json(resp, false);
	else
		print_script_line(verb, (Dealdesk__V1__PolicyScript *)resp);
	protobuf_c_message_free_unpacked(resp, NULL);
	return rc;
}

static int policy_upload(cli *c, const policy_args *a, const char *file)
{
	char *source;
	size_t len;
	int rc = cli_read_file(file, &source, &len);
	if (rc != CLI_OK)
		return rc;
	/* protobuf-c would cut the source at a NUL without a word */
	if (memchr(source, '\0', len) != NULL || !dd_utf8_valid(source, len)) {
		free(source);
		return cli_error(CLI_EUSAGE, "%s: not UTF-8 text without NUL bytes (Lua source only, "
		                 "no bytecode)", cli_file_name(file));
	}
	Dealdesk__V1__UploadPolicyRequest req = DEALDESK__V1__UPLOAD_POLICY_REQUEST__INIT;
	req.kind = a->kind;
	req.source = source;
	req.author = (char *)a->author;
	req.comment = (char *)a->comment;
	ProtobufCMessage *resp;
	rc = cli_call(c, SVC "UploadPolicy", &req.base, &dealdesk__v1__policy_script__descriptor,
	              &resp);
	free(source);
	if (rc != CLI_OK)
		return rc;
	if (!a->activate)
		return finish(c, "uploaded ", resp);

	Dealdesk__V1__PolicyScript *p = (Dealdesk__V1__PolicyScript *)resp;
	if (!c->json)
		print_script_line("uploaded ", p);
	uint64_t version = p->version;
	protobuf_c_message_free_unpacked(resp, NULL);
	rc = activate(c, a->kind, version, a->author, &resp);
	if (rc != CLI_OK)
		return rc;
	return finish(c, "", resp);
}

static int policy_review(cli *c, const char *sub, const policy_args *a)
{
	Dealdesk__V1__ReviewPolicyRequest req = DEALDESK__V1__REVIEW_POLICY_REQUEST__INIT;
	req.kind = a->kind;
	req.version = a->version;
	req.actor = (char *)a->actor;
	req.comment = (char *)a->comment;
	const char *method = strcmp(sub, "submit") == 0 ? SVC "SubmitPolicy"
	                     : strcmp(sub, "approve") == 0 ? SVC "ApprovePolicy"
	                                                    : SVC "RejectPolicy";
	ProtobufCMessage *resp;
	int rc = cli_call(c, method, &req.base, &dealdesk__v1__policy_script__descriptor, &resp);
	return rc != CLI_OK ? rc : finish(c, "", resp);
}

static int policy_list(cli *c, const policy_args *a)
{
	Dealdesk__V1__ListPoliciesRequest req = DEALDESK__V1__LIST_POLICIES_REQUEST__INIT;
	req.kind = a->kind;
	ProtobufCMessage **pages;
	size_t n_pages;
	int rc = cli_list_all(c, SVC "ListPolicies", &req.base,
	                      &dealdesk__v1__list_policies_response__descriptor, &pages, &n_pages);
	if (rc != CLI_OK)
		return rc;
	if (c->json) {
		rc = cli_print_pages_json(pages, n_pages, "policies");
		cli_free_pages(pages, n_pages);
		return rc;
	}
	static const char *const head[] = { "KIND", "VERSION", "STATUS", "AUTHOR", "CREATED",
		                            "SHA256", "COMMENT" };
	cli_table *t = cli_table_new("lrlllll", head);
	size_t total = 0;
	for (size_t p = 0; p < n_pages; p++) {
		const Dealdesk__V1__ListPoliciesResponse *l = (void *)pages[p];
		for (size_t i = 0; i < l->n_policies; i++) {
			const Dealdesk__V1__PolicyScript *s = l->policies[i];
			char kind[24], version[24], status[24], created[32], sha[16];
			snprintf(version, sizeof(version), "%" PRIu64, s->version);
			snprintf(sha, sizeof(sha), "%.12s", s->sha256);
			const char *row[] = { kind_name((int)s->kind, kind, sizeof(kind)), version,
				              cli_enum(&dealdesk__v1__policy_status__descriptor,
				                       (int)s->status, status, sizeof(status)),
				              s->author, cli_time(s->created_at, created, sizeof(created)),
				              sha, s->comment };
			cli_table_row(t, row);
		}
		total += l->n_policies;
	}
	if (total == 0)
		puts("no policies");
	else
		cli_table_print(t, stdout, "");
	cli_table_free(t);
	cli_free_pages(pages, n_pages);
	return CLI_OK;
}

static int policy_get(cli *c, const policy_args *a)
{
	Dealdesk__V1__PolicyKey key = DEALDESK__V1__POLICY_KEY__INIT;
	key.kind = a->kind;
	key.version = a->version; /* 0 = the active one */
	ProtobufCMessage *resp;
	int rc = cli_call(c, SVC "GetPolicy", &key.base, &dealdesk__v1__policy_script__descriptor,
	                  &resp);
	if (rc != CLI_OK)
		return rc;
	if (c->json) {
		rc = cli_print_json(resp, false);
	} else {
		const char *src = ((Dealdesk__V1__PolicyScript *)resp)->source;
		size_t n = strlen(src);
		fwrite(src, 1, n, stdout);
		if (n > 0 && src[n - 1] != '\n')
			putchar('\n');
	}
	protobuf_c_message_free_unpacked(resp, NULL);
	return rc;
}

int cli_cmd_policy(cli *c, int argc, char **argv)
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
	policy_args a = { 0 };
	int rc = parse_args(c, argc - 1, argv + 1, &a);
	if (rc != CLI_OK)
		return rc < 0 ? CLI_OK : rc;
	int nargs = argc - 1 - optind;
	char **args = argv + 1 + optind;

	if (strcmp(sub, "upload") == 0) {
		rc = check_args(sub, &a, BIT(OPT_KIND) | BIT(OPT_AUTHOR) | BIT(OPT_COMMENT) |
		                BIT(OPT_ACTIVATE), BIT(OPT_KIND));
		if (rc == CLI_OK && nargs != 1)
			rc = cli_usage_error("policy", "upload needs one FILE.lua");
		return rc != CLI_OK ? rc : policy_upload(c, &a, args[0]);
	}
	if (nargs != 0)
		return cli_usage_error("policy", "unexpected argument '%s'", args[0]);
	if (strcmp(sub, "activate") == 0) {
		rc = check_args(sub, &a, BIT(OPT_KIND) | BIT(OPT_VERSION) | BIT(OPT_ACTOR),
		                BIT(OPT_KIND) | BIT(OPT_VERSION));
		ProtobufCMessage *resp;
		if (rc == CLI_OK && (rc = activate(c, a.kind, a.version, a.actor, &resp)) == CLI_OK)
			rc = finish(c, "", resp);
		return rc;
	}
	if (strcmp(sub, "submit") == 0 || strcmp(sub, "approve") == 0 ||
	    strcmp(sub, "reject") == 0) {
		rc = check_args(sub, &a, BIT(OPT_KIND) | BIT(OPT_VERSION) | BIT(OPT_ACTOR) |
		                BIT(OPT_COMMENT), BIT(OPT_KIND) | BIT(OPT_VERSION));
		return rc != CLI_OK ? rc : policy_review(c, sub, &a);
	}
	if (strcmp(sub, "list") == 0) {
		rc = check_args(sub, &a, BIT(OPT_KIND), 0);
		return rc != CLI_OK ? rc : policy_list(c, &a);
	}
	if (strcmp(sub, "get") == 0) {
		rc = check_args(sub, &a, BIT(OPT_KIND) | BIT(OPT_VERSION), BIT(OPT_KIND));
		return rc != CLI_OK ? rc : policy_get(c, &a);
	}
	return cli_usage_error("policy", "unknown subcommand '%s'", sub);
}
