/* dealdeskd: the dealdesk gRPC server. See README "Running the server". */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dealdesk/admin.h"
#include "dealdesk/log.h"
#include "dealdesk/analytics.h"
#include "dealdesk/version.h"
#include "dealdesk/writer.h"
#include "dealdesk/journal.h"
#include "server.h"

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: dealdeskd [--config FILE] [--listen ADDR] [--db DIR] [options]\n"
	        "  --listen ADDR                 host:port to serve gRPC on (127.0.0.1:50051)\n"
	        "  --db DIR                      LMDB directory, created if missing (dealdesk-db)\n"
	        "  --map-size BYTES              LMDB map size, K/M/G suffixes (1G)\n"
	        "  --price-history-days N        list-price history kept, >= 90 (90)\n"
	        "  --threads N                   worker threads, one completion queue each (2)\n"
	        "  --calls-per-thread N          Quote calls requested ahead per thread (64)\n"
	        "  --max-message-bytes N         largest request or response (4M)\n"
	        "  --max-lines N                 most lines per order (500)\n"
	        "  --max-quantity N              largest quantity per line (1000000)\n"
	        "  --max-coupons N               most coupon codes per request (20)\n"
	        "  --policy-max-instructions N   Lua instructions per policy call (10000000)\n"
	        "  --policy-max-memory BYTES     memory a policy call may add (32M)\n"
	        "  --policy-max-millis MS        CPU time per policy call (250)\n"
	        "  --shutdown-grace-ms MS        time in-flight calls get on SIGTERM (10000)\n"
	        "  --writer-batch N              most writes per write transaction, 1..256 (256; 1 = no group commit)\n"
	        "  --decision-retention-days N   prune decision log records older than N days (0 = keep)\n"
	        "  --decision-queue N            decision records waiting to be written at most (4096)\n"
	        "  --decision-max-mb N           the decision log's size cap; past it the oldest\n"
	        "                                records are pruned (0 = a quarter of --map-size)\n"
	        "  --decision-redact F,...       blank these request fields in the decision log\n"
	        "                                (customer_id, attributes, coupon_codes, region, channel)\n"
	        "  --require-approval            only APPROVED policy versions may be activated\n"
	        "                                (always, unless --no-auth)\n"
	        "  --min-policy-tests N          SubmitPolicy refuses a script with fewer test cases (0)\n"
	        "  --promotion-review-bps N      a promotion above this percent_bps (or with a Lua\n"
	        "                                condition) needs ApprovePromotion (3000; 0 = conditions only)\n"
	        "  --demo                        load the demo dataset into an empty store\n"
	        "  --log-level LEVEL             debug|info|warn|error|off (info)\n"
	        "  --log-format FORMAT           text|json: json is one object per line (text)\n"
	        "  --metrics-listen ADDR         serve Prometheus metrics at http://ADDR/metrics\n"
	        "                                (host:port; none by default)\n"
	        "  --config FILE                 'key = value' lines with the names above\n"
	        "                                (packaging/dealdeskd.conf); flags override it\n"
	        "  --version                     print the version and git revision\n"
	        "Who may call (every call but health and reflection needs credentials):\n"
	        "  --no-auth                     no credentials and no roles; loopback listen only\n"
	        "  --tls-cert FILE               PEM certificate chain of the server (TLS)\n"
	        "  --tls-key FILE                PEM private key of the server\n"
	        "  --tls-client-ca FILE          verify client certificates against this CA (mTLS)\n"
	        "  --client-role NAME=ROLE       a client certificate whose CN or SAN is NAME\n"
	        "                                calls as ROLE (repeatable)\n"
	        "Transport limits:\n"
	        "  --max-streams N               concurrent streams per connection (100)\n"
	        "  --transport-memory BYTES      memory quota of the gRPC transport (256M)\n"
	        "  --keepalive-ms MS             ping idle connections this often (60000)\n"
	        "  --keepalive-timeout-ms MS     close a connection whose ping is not answered (20000)\n"
	        "  --idle-timeout-ms MS          close a connection without calls (300000)\n"
	        "  --max-connection-age-ms MS    GOAWAY after it, then closed max-call-ms later\n"
	        "                                whatever its streams do (1800000)\n"
	        "  --handshake-timeout-ms MS     time to complete a connection's handshake (10000)\n"
	        "  --max-call-ms MS              cancel a call still running or unread after (60000)\n"
	        "  --max-pending-replies BYTES   replies sent but not yet read by clients (64M)\n"
	        "  --max-metadata-bytes N        request metadata per call (16K)\n"
	        "  --max-repeated N              elements of a repeated request field (10000)\n"
	        "\n"
	        "       dealdeskd token create --db DIR --role ROLE --name NAME\n"
	        "  creates a token in a database no server is using and prints its secret once\n"
	        "  (the first admin token of a fresh database: --role admin).\n");
}

/* Holds DIR/dealdeskd.lock with flock for the life of the process: a
 * second server (or `token create`) on the same database is refused. */
static int lock_db(const char *dir)
{
	char path[1100];
	snprintf(path, sizeof(path), "%s", dir);
	for (char *p = path + 1;; p++) { /* mkdir -p */
		char c = *p;
		if (c == '/' || c == '\0') {
			*p = '\0';
			if (mkdir(path, 0700) != 0 && errno != EEXIST) {
				fprintf(stderr, "dealdeskd: cannot open the store: cannot create %s: %s\n",
				        path, strerror(errno));
				return -1;
			}
			*p = c;
		}
		if (c == '\0')
			break;
	}
	snprintf(path, sizeof(path), "%s/dealdeskd.lock", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "dealdeskd: cannot open the store: cannot open %s: %s\n", path,
		        strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		fprintf(stderr,
		        "dealdeskd: the database %s is in use by another dealdeskd (%s is locked)\n",
		        dir, path);
		close(fd);
		return -1;
	}
	char pid[32];
	int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == 0 && write(fd, pid, (size_t)n) < 0)
		(void)0; /* the pid is only informative */
	return fd; /* kept open: the lock goes with the process */
}

/* dealdeskd token create --db DIR --role ROLE --name NAME [--map-size N] */
static int token_command(int argc, char **argv)
{
	const char *db = NULL, *role = NULL, *name = NULL;
	dd_config cfg;
	dd_error err;
	dd_config_defaults(&cfg);
	if (argc < 3 || strcmp(argv[2], "create") != 0) {
		fprintf(stderr, "usage: dealdeskd token create --db DIR --role ROLE --name NAME\n");
		return 2;
	}
	for (int i = 3; i < argc; i++) {
		const char **dst = !strcmp(argv[i], "--db")     ? &db
		                   : !strcmp(argv[i], "--role") ? &role
		                   : !strcmp(argv[i], "--name") ? &name
		                                                : NULL;
		if (!strcmp(argv[i], "--map-size") && i + 1 < argc) {
			if (dd_config_set(&cfg, "map-size", argv[++i], &err) != DD_OK) {
				fprintf(stderr, "dealdeskd: %s\n", err.msg);
				return 2;
			}
			continue;
		}
		if (dst == NULL || i + 1 >= argc) {
			fprintf(stderr, "usage: dealdeskd token create --db DIR --role ROLE --name NAME\n");
			return 2;
		}
		*dst = argv[++i];
	}
	if (db == NULL || role == NULL || name == NULL) {
		fprintf(stderr, "usage: dealdeskd token create --db DIR --role ROLE --name NAME\n");
		return 2;
	}
	if (!dd_token_role_valid(role)) {
		fprintf(stderr, "dealdeskd: --role: '%s' is not one of checkout, finance, pricing, "
		                "compliance, admin\n", role);
		return 2;
	}
	int lock = lock_db(db);
	if (lock < 0)
		return 1;
	dd_store *store;
	dd_store_opts opts = { .path = db, .map_size = cfg.map_size };
	if (dd_store_open(&store, &opts, &err) != DD_OK) {
		fprintf(stderr, "dealdeskd: cannot open the store: %s\n", err.msg);
		close(lock);
		return 1;
	}
	dd_arena arena;
	dd_arena_init(&arena, 4096, 1u << 20);
	char *secret = NULL;
	int rc = dd_token_create(store, name, role, "local", (int64_t)time(NULL), &arena, &secret,
	                         &err);
	if (rc == DD_OK) {
		printf("%s\n", secret);
		fprintf(stderr, "dealdeskd: token '%s' (role %s) created; its secret is shown "
		                "this once\n", name, role);
	} else {
		fprintf(stderr, "dealdeskd: %s\n", err.msg);
	}
	dd_arena_free(&arena);
	dd_store_close(store);
	close(lock);
	return rc == DD_OK ? 0 : 1;
}

/* tcmalloc's per-thread caches, all threads together. Its default, 32 MiB,
 * is what a steady load fills: gRPC allocates each call's arena (~12 KB)
 * on the thread that reads the call's stream and frees it on the thread
 * that drops the call, another one for ~40% of calls, and every such free
 * parks the block in the freeing thread's cache, which tcmalloc lets grow
 * until the total reaches the cap. Under a steady Quote load RSS climbed
 * ~7 MB a minute that way with the heap in use flat at ~4 MB
 * (bench/soak-findings.md). 4 MiB costs no measurable CPU per call. */
#define DD_MALLOC_THREAD_CACHE_BYTES ((size_t)4 << 20)

/* Caps tcmalloc's thread caches when dealdeskd runs on tcmalloc (linked,
 * see CMakeLists.txt, or preloaded); nothing with another allocator. The
 * variable tcmalloc reads itself, TCMALLOC_MAX_TOTAL_THREAD_CACHE_BYTES,
 * still wins. */
static void limit_malloc_caches(void)
{
	if (getenv("TCMALLOC_MAX_TOTAL_THREAD_CACHE_BYTES") != NULL)
		return;
	void *self = dlopen(NULL, RTLD_NOW);
	void *sym = self != NULL ? dlsym(self, "MallocExtension_SetNumericProperty") : NULL;
	if (sym != NULL) {
		int (*set_property)(const char *, size_t);
		memcpy(&set_property, &sym, sizeof(set_property));
		set_property("tcmalloc.max_total_thread_cache_bytes", DD_MALLOC_THREAD_CACHE_BYTES);
	}
	if (self != NULL)
		dlclose(self);
}

enum { OPT_KEY = 0x100, OPT_CONFIG = 0x80, OPT_VERSION, OPT_HELP = 'h' };

/* The getopt_long table: OPT_KEY + i for dd_config_keys[i] (--key VALUE or
 * --key=VALUE; a switch: --key, or --key=false), then --config, --version
 * and --help. */
static struct option *option_table(void)
{
	size_t n = 0;
	while (dd_config_keys[n].name)
		n++;
	struct option *o = calloc(n + 4, sizeof(*o));
	if (o == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		o[i] = (struct option){ dd_config_keys[i].name,
			                dd_config_keys[i].is_switch ? optional_argument
			                                            : required_argument,
			                NULL, OPT_KEY + (int)i };
	o[n++] = (struct option){ "config", required_argument, NULL, OPT_CONFIG };
	o[n++] = (struct option){ "version", no_argument, NULL, OPT_VERSION };
	o[n++] = (struct option){ "help", no_argument, NULL, OPT_HELP };
	return o;
}

static const char *option_key(int opt)
{
	return dd_config_keys[opt - OPT_KEY].name;
}

/* Parses argv into cfg: the --config file first, whatever its place, then
 * every flag in order over it. 0 to run, else the exit status (after
 * --help or --version: 0 through *exit_now). */
static int parse_flags(int argc, char **argv, dd_config *cfg, int *exit_now)
{
	struct option *opts = option_table();
	dd_error err;
	int rc = 0;
	*exit_now = 0;
	if (opts == NULL) {
		fprintf(stderr, "dealdeskd: out of memory\n");
		return 1;
	}
	/* pass 1: --config (quietly: pass 2 reports the errors) */
	opterr = 0;
	optind = 0;
	int opt;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1)
		if (opt == OPT_CONFIG) {
			if (dd_config_load_file(cfg, optarg, &err) != DD_OK) {
				fprintf(stderr, "dealdeskd: %s\n", err.msg);
				rc = 2;
				goto out;
			}
			snprintf(cfg->config_file, sizeof(cfg->config_file), "%s", optarg);
		}
	/* pass 2: the flags, over the file's settings */
	opterr = 1;
	optind = 0;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (opt == OPT_HELP) {
			usage(stdout);
			*exit_now = 1;
			goto out;
		}
		if (opt == OPT_VERSION) {
			printf("dealdeskd %s (git %s)\n", dd_version(), dd_git_revision());
			*exit_now = 1;
			goto out;
		}
		if (opt == OPT_CONFIG)
			continue;
		if (opt < OPT_KEY) { /* getopt has said what is wrong */
			usage(stderr);
			rc = 2;
			goto out;
		}
		if (dd_config_set(cfg, option_key(opt), optarg, &err) != DD_OK) {
			fprintf(stderr, "dealdeskd: %s\n", err.msg);
			usage(stderr);
			rc = 2;
			goto out;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "dealdeskd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		rc = 2;
	}
out:
	free(opts);
	return rc;
}

int main(int argc, char **argv)
{
	limit_malloc_caches();
	dd_config cfg;
	dd_error err;
	dd_config_defaults(&cfg);
	if (argc >= 2 && strcmp(argv[1], "token") == 0)
		return token_command(argc, argv);
	int exit_now;
	int prc = parse_flags(argc, argv, &cfg, &exit_now);
	if (prc != 0 || exit_now)
		return prc;
	dd_log_set_level(cfg.log_level);
	dd_log_set_format(cfg.log_json ? DD_LOG_FORMAT_JSON : DD_LOG_FORMAT_TEXT);
	dd_log(DD_LOG_INFO, "dealdeskd %s (git %s) starting", dd_version(), dd_git_revision());
	if (cfg.no_auth && !dd_listen_is_loopback(cfg.listen)) {
		fprintf(stderr, "dealdeskd: --no-auth is refused on %s: unauthenticated calls are "
		                "allowed only on a loopback address (127.0.0.1, [::1], localhost)\n",
		        cfg.listen);
		return 2;
	}
	if ((cfg.tls_cert[0] != '\0') != (cfg.tls_key[0] != '\0') ||
	    (cfg.tls_client_ca[0] != '\0' && cfg.tls_cert[0] == '\0')) {
		fprintf(stderr, "dealdeskd: TLS needs both --tls-cert and --tls-key "
		                "(and --tls-client-ca needs them)\n");
		return 2;
	}
	int lock = lock_db(cfg.db);
	if (lock < 0)
		return 1;

	dd_store *store;
	dd_store_opts opts = { .path = cfg.db, .map_size = cfg.map_size,
	                       .price_history_days = (int64_t)cfg.price_history_days,
	                       .max_readers = cfg.threads * 2 + 64 };
	if (dd_store_open(&store, &opts, &err) != DD_OK) {
		dd_log(DD_LOG_ERROR, "cannot open the store: %s", err.msg);
		close(lock);
		return 1;
	}
	/* From here on every write goes through the writer thread, the
	 * start-up ones too (dd_store_write waits for them). */
	dd_writer *writer;
	if (dd_writer_start(&writer, store, &err) != DD_OK) {
		dd_log(DD_LOG_ERROR, "cannot start the writer: %s", err.msg);
		dd_store_close(store);
		close(lock);
		return 1;
	}
	dd_writer_set_max_batch(writer, cfg.writer_batch);
	dd_writer_set_audit(writer, dd_audit_append, NULL); /* every audited write, chained */
	int rc = 1;
	dd_decisions_opts dopts = { .queue = cfg.decision_queue,
	                            .retention_days = cfg.decision_retention_days,
	                            .redact = cfg.decision_redact,
	                            .max_bytes = cfg.decision_max_mb
	                                                 ? (uint64_t)cfg.decision_max_mb << 20
	                                                 : (uint64_t)cfg.map_size / 4 };
	if (dd_decisions_new(&cfg.decisions, writer, &dopts, &err) != DD_OK) {
		dd_log(DD_LOG_ERROR, "%s", err.msg);
		goto out;
	}
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
	if (cfg.no_auth)
		dd_log(DD_LOG_WARN, "--no-auth: every caller may call every method");
	else if (cfg.tls_cert[0] == '\0' && !dd_listen_is_loopback(cfg.listen))
		dd_log(DD_LOG_WARN, "no TLS on %s: bearer tokens cross the network in clear "
		                    "(--tls-cert, --tls-key)", cfg.listen);
	else if (!dd_token_any(store) && cfg.tls_client_ca[0] == '\0')
		dd_log(DD_LOG_WARN, "no tokens and no client CA: nobody can call; create a token "
		                    "with `dealdeskd token create --db %s --role admin --name NAME` "
		                    "(with the server stopped)", cfg.db);
	cfg.tally = dd_analytics_tally_new(store, writer);
	rc = dd_server_run(&cfg, store, writer);
out:
	dd_analytics_tally_free(cfg.tally); /* stores the quotes counted, through the writer */
	dd_decisions_free(cfg.decisions); /* writes what is queued, through the writer */
	dd_writer_stop(writer); /* after the server: it finishes pending writes */
	dd_store_close(store);
	close(lock);
	return rc;
}
