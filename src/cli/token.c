/* dealdesk token create|list|revoke: the TokenAdmin service (admin role). */
#include <string.h>

#include "cli/cli.h"
#include "dealdesk/v1/admin.pb-c.h"

static const char usage[] =
	"usage: dealdesk token create --role ROLE --name NAME\n"
	"       dealdesk token list\n"
	"       dealdesk token revoke NAME\n"
	"\n"
	"create   makes a bearer token for ROLE (checkout, finance, pricing,\n"
	"         compliance, admin) and prints its secret, this once: the server\n"
	"         keeps only its SHA-256. Use it with --token or $DEALDESK_TOKEN.\n"
	"list     the tokens: name, role, created, by whom, revoked (no secrets).\n"
	"revoke   every later call with the token is UNAUTHENTICATED.\n"
	"Needs an admin token. The first one of a fresh database is made with\n"
	"`dealdeskd token create --db DIR --role admin --name NAME`.\n";

enum { OPT_ROLE = 1, OPT_NAME };

int cli_cmd_token(cli *c, int argc, char **argv)
{
	static const struct option options[] = {
		{ "role", required_argument, NULL, OPT_ROLE },
		{ "name", required_argument, NULL, OPT_NAME },
		CLI_GLOBAL_OPTIONS
	};
	const char *role = NULL, *name = NULL;
	int opt;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		if (opt == 'h') {
			fputs(usage, stdout);
			return CLI_OK;
		}
		if (opt == OPT_ROLE) {
			role = optarg;
			continue;
		}
		if (opt == OPT_NAME) {
			name = optarg;
			continue;
		}
		int rc = cli_common_option(c, opt, optarg, "token");
		if (rc != 0)
			return rc == -1 ? CLI_EUSAGE : rc;
	}
	if (optind >= argc)
		return cli_usage_error("token", "create, list or revoke?");
	const char *sub = argv[optind++];
	ProtobufCMessage *resp = NULL;
	int rc;
	if (strcmp(sub, "create") == 0) {
		if (role == NULL || name == NULL || optind != argc)
			return cli_usage_error("token", "create needs --role ROLE --name NAME");
		Dealdesk__V1__CreateTokenRequest req = DEALDESK__V1__CREATE_TOKEN_REQUEST__INIT;
		req.role = (char *)role;
		req.name = (char *)name;
		rc = cli_call(c, "/dealdesk.v1.TokenAdmin/CreateToken", &req.base,
		              &dealdesk__v1__create_token_response__descriptor, &resp);
		if (rc != CLI_OK)
			return rc;
		Dealdesk__V1__CreateTokenResponse *r = (void *)resp;
		if (c->json)
			rc = cli_print_json(resp, false);
		else {
			printf("%s\n", r->secret);
			fprintf(stderr, "token '%s' (role %s) created; its secret is shown this once\n",
			        r->token ? r->token->name : name, r->token ? r->token->role : role);
		}
	} else if (strcmp(sub, "list") == 0) {
		if (optind != argc)
			return cli_usage_error("token", "list takes no arguments");
		Dealdesk__V1__ListTokensRequest req = DEALDESK__V1__LIST_TOKENS_REQUEST__INIT;
		rc = cli_call(c, "/dealdesk.v1.TokenAdmin/ListTokens", &req.base,
		              &dealdesk__v1__list_tokens_response__descriptor, &resp);
		if (rc != CLI_OK)
			return rc;
		Dealdesk__V1__ListTokensResponse *r = (void *)resp;
		if (c->json) {
			rc = cli_print_json(resp, false);
		} else {
			static const char *const head[] = { "NAME", "ROLE", "CREATED", "BY", "REVOKED" };
			cli_table *t = cli_table_new("lllll", head);
			for (size_t i = 0; i < r->n_tokens; i++) {
				const Dealdesk__V1__ApiToken *k = r->tokens[i];
				char created[32], revoked[32];
				const char *row[] = { k->name, k->role,
					              cli_time(k->created_at, created, sizeof(created)),
					              k->created_by,
					              k->revoked ? cli_time(k->revoked_at, revoked,
					                                    sizeof(revoked))
					                         : "no" };
				cli_table_row(t, row);
			}
			cli_table_print(t, stdout, "");
			cli_table_free(t);
		}
	} else if (strcmp(sub, "revoke") == 0) {
		if (optind + 1 != argc)
			return cli_usage_error("token", "revoke needs one NAME");
		Dealdesk__V1__RevokeTokenRequest req = DEALDESK__V1__REVOKE_TOKEN_REQUEST__INIT;
		req.name = argv[optind];
		rc = cli_call(c, "/dealdesk.v1.TokenAdmin/RevokeToken", &req.base,
		              &dealdesk__v1__api_token__descriptor, &resp);
		if (rc != CLI_OK)
			return rc;
		if (c->json)
			rc = cli_print_json(resp, false);
		else
			printf("token '%s' revoked\n", argv[optind]);
	} else {
		return cli_usage_error("token", "unknown subcommand '%s'", sub);
	}
	protobuf_c_message_free_unpacked(resp, NULL);
	return rc;
}
