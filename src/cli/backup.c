/* dealdesk backup DIR: dealdesk.v1.BackupAdmin/Backup, a consistent compacted
 * copy of the store taken by the server while it serves. */
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "dealdesk/v1/backup.pb-c.h"

static const char usage[] =
	"usage: dealdesk backup DIR\n"
	"\n"
	"Asks the server to copy its store into DIR on the server host\n"
	"(BackupAdmin/Backup, role admin): LMDB's compacting copy in one read\n"
	"transaction, so the copy is the store at one data version while the\n"
	"server goes on serving and writing. DIR must not exist or be empty; a\n"
	"relative DIR is made absolute with this command's working directory (for\n"
	"a server on the same host). Prints the file, its size, the data version\n"
	"and the records of each table it holds.\n"
	"\n"
	"Restore: start dealdeskd on the copy, `dealdeskd --db DIR` (it is a\n"
	"complete store: policies, tokens, orders and counters included).\n";

int cli_cmd_backup(cli *c, int argc, char **argv)
{
	static const struct option options[] = { CLI_GLOBAL_OPTIONS };
	int opt;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		if (opt == 'h') {
			fputs(usage, stdout);
			return CLI_OK;
		}
		int rc = cli_common_option(c, opt, optarg, "backup");
		if (rc != 0)
			return rc == -1 ? CLI_EUSAGE : rc;
	}
	if (argc - optind != 1)
		return cli_usage_error("backup", "needs one DIR");
	const char *dir = argv[optind];
	char abs[PATH_MAX];
	if (dir[0] != '/') {
		char cwd[PATH_MAX];
		if (getcwd(cwd, sizeof(cwd)) == NULL ||
		    (size_t)snprintf(abs, sizeof(abs), "%s/%s", cwd, dir) >= sizeof(abs))
			return cli_error(CLI_EUSAGE, "%s: cannot make the path absolute", dir);
		dir = abs;
	}
	Dealdesk__V1__BackupRequest req = DEALDESK__V1__BACKUP_REQUEST__INIT;
	req.directory = (char *)dir;
	ProtobufCMessage *resp;
	int rc = cli_call(c, "/dealdesk.v1.BackupAdmin/Backup", &req.base,
	                  &dealdesk__v1__backup_response__descriptor, &resp);
	if (rc != CLI_OK)
		return rc;
	const Dealdesk__V1__BackupResponse *b = (const void *)resp;
	if (c->json) {
		rc = cli_print_json(resp, false);
	} else {
		printf("backup written: %s (%" PRIu64 " bytes, compacted) at data version %" PRIu64
		       " in %" PRIu64 " ms\n", b->file, b->bytes, b->data_version, b->duration_ms);
		for (size_t i = 0; i < b->n_tables; i++)
			printf("  %-14s %" PRIu64 "\n", b->tables[i]->name, b->tables[i]->records);
		printf("restore: dealdeskd --db %s\n", b->directory);
	}
	protobuf_c_message_free_unpacked(resp, NULL);
	return rc;
}
