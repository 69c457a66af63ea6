/* dealdeskd: the dealdesk gRPC server. See README "Running the server". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dealdesk/admin.h"
#include "dealdesk/log.h"
#include "dealdesk/writer.h"
#include "server.h"

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: dealdeskd [--config FILE] [--listen ADDR] [--db DIR] [options]\n"
	        "  --listen ADDR                 host:port to serve gRPC on (127.0.0.1:50051)\n"
	        "  --db DIR                      LMDB directory, created if missing (dealdesk-db)\n"
	        "  --map-size BYTES              LMDB map size, K/M/G suffixes (1G)\n"
	        "  --threads N                   worker threads, one completion queue each (2)\n"
	        "  --calls-per-thread N          Quote calls requested ahead per thread (64)\n"
	        "  --max-message-bytes N         largest request or response (4M)\n"
	        "  --max-lines N                 most lines per order (500)\n"
	        "  --max-quantity N              largest quantity per line (1000000)\n"
	        "  --max-coupons N               most coupon codes per request (20)\n"
	        "  --policy-max-instructions N   Lua instructions per policy call (10000000)\n"
	        "  --policy-max-memory BYTES     memory a policy call may add (32M)\n"
	        "  --policy-max-millis MS        wall clock per policy call (250)\n"
	        "  --shutdown-grace-ms MS        time in-flight calls get on SIGTERM (10000)\n"
	        "  --writer-batch N              most writes per write transaction, 1..256 (256; 1 = no group commit)\n"
	        "  --require-approval            only APPROVED policy versions may be activated\n"
	        "  --demo                        load the demo dataset into an empty store\n"
	        "  --log-level LEVEL             debug|info|warn|error|off (info)\n"
	        "  --config FILE                 'key = value' lines with the names above\n");
}

int main(int argc, char **argv)
{
	dd_config cfg;
	dd_error err;
	dd_config_defaults(&cfg);
	/* the config file first, so flags override it */
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--config") == 0) {
			if (i + 1 >= argc) {
				usage(stderr);
				return 2;
			}
			if (dd_config_load_file(&cfg, argv[i + 1], &err) != DD_OK) {
				fprintf(stderr, "dealdeskd: %s\n", err.msg);
				return 2;
			}
		}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return 0;
		}
		if (strncmp(a, "--", 2) != 0) {
			fprintf(stderr, "dealdeskd: unexpected argument '%s'\n", a);
			usage(stderr);
			return 2;
		}
		const char *key = a + 2;
		if (!strcmp(key, "config")) {
			i++;
			continue;
		}
		const char *val = NULL;
		char name[64];
		const char *eq = strchr(key, '=');
		if (eq) {
			snprintf(name, sizeof(name), "%.*s", (int)(eq - key), key);
			key = name;
			val = eq + 1;
		} else if (strcmp(key, "demo") && strcmp(key, "require-approval")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "dealdeskd: %s needs a value\n", a);
				return 2;
			}
			val = argv[++i];
		}
		if (dd_config_set(&cfg, key, val, &err) != DD_OK) {
			fprintf(stderr, "dealdeskd: %s\n", err.msg);
			usage(stderr);
			return 2;
		}
	}
	dd_log_set_level(cfg.log_level);

	dd_store *store;
	dd_store_opts opts = { .path = cfg.db, .map_size = cfg.map_size,
	                       .max_readers = cfg.threads * 2 + 64 };
	if (dd_store_open(&store, &opts, &err) != DD_OK) {
		dd_log(DD_LOG_ERROR, "cannot open the store: %s", err.msg);
		return 1;
	}
	/* From here on every write goes through the writer thread, the
	 * start-up ones too (dd_store_write waits for them). */
	dd_writer *writer;
	if (dd_writer_start(&writer, store, &err) != DD_OK) {
		dd_log(DD_LOG_ERROR, "cannot start the writer: %s", err.msg);
		dd_store_close(store);
		return 1;
	}
	dd_writer_set_max_batch(writer, cfg.writer_batch);
	int rc = 1;
	if (dd_policy_install_shipped(store, &cfg.limits.sandbox, (int64_t)time(NULL), &err) != DD_OK) {
		dd_log(DD_LOG_ERROR, "cannot install the shipped policies: %s", err.msg);
		goto out;
	}
	if (cfg.demo) {
		int drc = dd_demo_seed(store, &err);
		if (drc == DD_OK)
			dd_log(DD_LOG_INFO, "demo dataset loaded into %s", cfg.db);
		else if (drc == DD_EEXIST)
			dd_log(DD_LOG_INFO, "demo: %s", err.msg);
		else {
			dd_log(DD_LOG_ERROR, "cannot load the demo dataset: %s", err.msg);
			goto out;
		}
	}
	rc = dd_server_run(&cfg, store, writer);
out:
	dd_writer_stop(writer); /* after the server: it finishes pending writes */
	dd_store_close(store);
	return rc;
}
