/* dealdesk policy: upload, review, activate, list and read policy scripts
 * through dealdesk.v1.PolicyAdmin. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "dealdesk/model.h"
#include "dealdesk/v1/admin.pb-c.h"

static const char usage[] =
	"usage: dealdesk policy upload --kind KIND FILE.lua [--author A] [--comment C] [--activate]\n"
	"       dealdesk policy activate --kind KIND --version N [--actor A]\n"
	"       dealdesk policy submit|approve|reject --kind KIND --version N [--actor A]\n"
	"                                             [--comment C]\n"
	"       dealdesk policy list [--kind KIND]\n"
	"       dealdesk policy get --kind KIND [--version N | --sha256 HASH]\n"
	"       dealdesk policy history --kind KIND [--version N]\n"
	"       dealdesk policy comment --kind KIND --version N --comment TEXT [--actor A]\n"
	"       dealdesk policy rollback --kind KIND [--comment C] [--actor A]\n"
	"       dealdesk policy diff --kind KIND A B\n"
	"       dealdesk policy approve-promotion ID [--comment C] [--actor A]\n"
	"       dealdesk policy test [--kind KIND] FILE.lua ...   (no server)\n"
	"\n"
	"KIND is pricing, promotions, credit or compliance.\n"
	"  upload    stores FILE.lua (\"-\" = stdin) as a new DRAFT version and prints\n"
	"            it; with --activate it is then made ACTIVE (actor = the author).\n"
	"  activate  makes version N the active one (the server may require APPROVED).\n"
	"  submit    DRAFT -> PENDING_REVIEW; approve/reject: PENDING_REVIEW ->\n"
	"            APPROVED/REJECTED (the approver must not be the author).\n"
	"  list      every version (of KIND), without sources.\n"
	"  get       version N, or the active one; text output is the source only.\n"
	"  history   every state change (who, when, from, to, comment) and comment.\n"
	"  comment   a reviewer's comment on version N (its state does not change).\n"
	"  rollback  the version active before the current one becomes active again.\n"
	"  diff      a unified diff from version A to version B.\n"
	"  approve-promotion  compliance approval of a promotion under review (by\n"
	"            someone other than its writer).\n"
	"  test      runs the script's --[=[dealdesk:tests ... ]=] cases locally\n"
	"            (dealdesk-policy-test); exit 0 = all passed, 1 = one failed.\n"
	"  submit    runs the script's cases on the server first and refuses the\n"
	"            version when one fails.\n"
	"--author and --actor default to $USER. They count only with a server\n"
	"started with --no-auth: otherwise the author and the reviewer are the\n"
	"principals of the calls (--token, or the client certificate), and an\n"
	"approval needs a principal other than the author.\n";

#define SVC "/dealdesk.v1.PolicyAdmin/"

enum {
	OPT_KIND = 1, OPT_VERSION, OPT_AUTHOR, OPT_ACTOR, OPT_COMMENT, OPT_ACTIVATE, OPT_SHA,
};

typedef struct policy_args {
	unsigned given; /* 1 << OPT_* */
	int kind;
	uint64_t version;
	const char *author, *actor, *comment, *sha256;
	bool activate;
	const char *file;
} policy_args;

static const char *const opt_names[] = {
	[OPT_KIND] = "--kind", [OPT_VERSION] = "--version", [OPT_AUTHOR] = "--author",
	[OPT_ACTOR] = "--actor", [OPT_COMMENT] = "--comment", [OPT_ACTIVATE] = "--activate",
	[OPT_SHA] = "--sha256",
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
		{ "sha256", required_argument, NULL, OPT_SHA },
		CLI_GLOBAL_OPTIONS
	};
	const char *user = getenv("USER");
	a->author = a->actor = user ? user : "";
	a->comment = "";
	int opt, rc;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		if (opt >= OPT_KIND && opt <= OPT_SHA)
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
		case OPT_SHA: a->sha256 = optarg; break;
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
	for (int o = OPT_KIND; o <= OPT_SHA; o++) {
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
	key.sha256 = (char *)(a->sha256 ? a->sha256 : "");
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

/* ---- reviewed rules (issue 10) ----------------------------------------------------- */

/* `policy test`: the policy layer's own binary runs the cases, so that this
 * one links no Lua and no LMDB. It is looked for beside this binary, then
 * on PATH; only returns when it cannot be started. */
static int policy_test(int argc, char **argv)
{
	char **args = calloc((size_t)argc + 1, sizeof(*args));
	if (args == NULL)
		return cli_error(CLI_EUSAGE, "out of memory");
	args[0] = (char *)"dealdesk-policy-test";
	for (int i = 2; i < argc; i++)
		args[i - 1] = argv[i];
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (slash && (size_t)(slash - self) + sizeof("/dealdesk-policy-test") <= sizeof(self)) {
			strcpy(slash, "/dealdesk-policy-test");
			if (access(self, X_OK) == 0)
				execv(self, args);
		}
	}
	execvp("dealdesk-policy-test", args);
	int e = errno;
	free(args);
	return cli_error(2, "policy test: cannot run dealdesk-policy-test (beside dealdesk or on "
	                 "PATH): %s", strerror(e));
}

static int policy_comment(cli *c, const policy_args *a)
{
	Dealdesk__V1__CommentPolicyRequest req = DEALDESK__V1__COMMENT_POLICY_REQUEST__INIT;
	req.kind = a->kind;
	req.version = a->version;
	req.actor = (char *)a->actor;
	req.text = (char *)a->comment;
	ProtobufCMessage *resp;
	int rc = cli_call(c, SVC "CommentPolicy", &req.base, &dealdesk__v1__policy_script__descriptor,
	                  &resp);
	return rc != CLI_OK ? rc : finish(c, "commented on ", resp);
}

static int policy_rollback(cli *c, const policy_args *a)
{
	Dealdesk__V1__RollbackPolicyRequest req = DEALDESK__V1__ROLLBACK_POLICY_REQUEST__INIT;
	req.kind = a->kind;
	req.actor = (char *)a->actor;
	req.comment = (char *)a->comment;
	ProtobufCMessage *resp;
	int rc = cli_call(c, SVC "RollbackPolicy", &req.base,
	                  &dealdesk__v1__policy_script__descriptor, &resp);
	return rc != CLI_OK ? rc : finish(c, "rolled back to ", resp);
}

static int policy_diff(cli *c, const policy_args *a, char **args)
{
	Dealdesk__V1__DiffPoliciesRequest req = DEALDESK__V1__DIFF_POLICIES_REQUEST__INIT;
	req.kind = a->kind;
	if (!cli_parse_uint64(args[0], &req.from) || req.from == 0)
		return cli_usage_error("policy", "diff: '%s' is not a version >= 1", args[0]);
	if (!cli_parse_uint64(args[1], &req.to) || req.to == 0)
		return cli_usage_error("policy", "diff: '%s' is not a version >= 1", args[1]);
	ProtobufCMessage *resp;
	int rc = cli_call(c, SVC "DiffPolicies", &req.base,
	                  &dealdesk__v1__diff_policies_response__descriptor, &resp);
	if (rc != CLI_OK)
		return rc;
	if (c->json)
		rc = cli_print_json(resp, false);
	else
		fputs(((Dealdesk__V1__DiffPoliciesResponse *)resp)->diff, stdout);
	protobuf_c_message_free_unpacked(resp, NULL);
	return rc;
}

static int policy_history(cli *c, const policy_args *a)
{
	Dealdesk__V1__PolicyKey key = DEALDESK__V1__POLICY_KEY__INIT;
	key.kind = a->kind;
	key.version = a->version;
	ProtobufCMessage *resp;
	int rc = cli_call(c, SVC "GetPolicy", &key.base, &dealdesk__v1__policy_script__descriptor,
	                  &resp);
	if (rc != CLI_OK)
		return rc;
	const Dealdesk__V1__PolicyScript *p = (void *)resp;
	if (c->json) {
		rc = cli_print_json(resp, false);
		protobuf_c_message_free_unpacked(resp, NULL);
		return rc;
	}
	print_script_line("", p);
	if (p->tests_run)
		printf("tests at submit: %u of %u passed\n", p->tests_passed, p->tests_run);
	static const char *const head[] = { "WHEN", "WHO", "FROM", "TO", "COMMENT" };
	cli_table *t = cli_table_new("lllll", head);
	for (size_t i = 0; i < p->n_history; i++) {
		const Dealdesk__V1__PolicyTransition *h = p->history[i];
		char when[32], from[32], to[32];
		const char *row[] = { cli_time(h->at, when, sizeof(when)), h->actor,
			              cli_enum(&dealdesk__v1__policy_status__descriptor, (int)h->from,
			                       from, sizeof(from)),
			              cli_enum(&dealdesk__v1__policy_status__descriptor, (int)h->to, to,
			                       sizeof(to)),
			              h->comment };
		cli_table_row(t, row);
	}
	cli_table_print(t, stdout, "");
	cli_table_free(t);
	for (size_t i = 0; i < p->n_comments; i++) {
		char when[32];
		printf("comment %s %s: %s\n", cli_time(p->comments[i]->at, when, sizeof(when)),
		       p->comments[i]->actor, p->comments[i]->text);
	}
	protobuf_c_message_free_unpacked(resp, NULL);
	return CLI_OK;
}

static int approve_promotion(cli *c, const policy_args *a, const char *id)
{
	Dealdesk__V1__ApprovePromotionRequest req = DEALDESK__V1__APPROVE_PROMOTION_REQUEST__INIT;
	req.id = (char *)id;
	req.actor = (char *)a->actor;
	req.comment = (char *)a->comment;
	ProtobufCMessage *resp;
	int rc = cli_call(c, SVC "ApprovePromotion", &req.base, &dealdesk__v1__promotion__descriptor,
	                  &resp);
	if (rc != CLI_OK)
		return rc;
	if (c->json)
		rc = cli_print_json(resp, false);
	else
		printf("promotion %s approved by %s\n", id,
		       ((Dealdesk__V1__Promotion *)resp)->approved_by);
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
	if (strcmp(sub, "test") == 0)
		return policy_test(argc, argv);
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
	if (strcmp(sub, "diff") == 0) {
		rc = check_args(sub, &a, BIT(OPT_KIND), BIT(OPT_KIND));
		if (rc == CLI_OK && nargs != 2)
			rc = cli_usage_error("policy", "diff needs two versions A B");
		return rc != CLI_OK ? rc : policy_diff(c, &a, args);
	}
	if (strcmp(sub, "approve-promotion") == 0) {
		rc = check_args(sub, &a, BIT(OPT_ACTOR) | BIT(OPT_COMMENT), 0);
		if (rc == CLI_OK && nargs != 1)
			rc = cli_usage_error("policy", "approve-promotion needs one promotion ID");
		return rc != CLI_OK ? rc : approve_promotion(c, &a, args[0]);
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
		rc = check_args(sub, &a, BIT(OPT_KIND) | BIT(OPT_VERSION) | BIT(OPT_SHA), BIT(OPT_KIND));
		return rc != CLI_OK ? rc : policy_get(c, &a);
	}
	if (strcmp(sub, "history") == 0) {
		rc = check_args(sub, &a, BIT(OPT_KIND) | BIT(OPT_VERSION), BIT(OPT_KIND));
		return rc != CLI_OK ? rc : policy_history(c, &a);
	}
	if (strcmp(sub, "comment") == 0) {
		rc = check_args(sub, &a, BIT(OPT_KIND) | BIT(OPT_VERSION) | BIT(OPT_ACTOR) |
		                BIT(OPT_COMMENT), BIT(OPT_KIND) | BIT(OPT_VERSION) | BIT(OPT_COMMENT));
		return rc != CLI_OK ? rc : policy_comment(c, &a);
	}
	if (strcmp(sub, "rollback") == 0) {
		rc = check_args(sub, &a, BIT(OPT_KIND) | BIT(OPT_ACTOR) | BIT(OPT_COMMENT), BIT(OPT_KIND));
		return rc != CLI_OK ? rc : policy_rollback(c, &a);
	}
	return cli_usage_error("policy", "unknown subcommand '%s'", sub);
}
