/* dealdesk-policy-test: runs a policy script's own test cases without a
 * server, as `opa test` does; `dealdesk policy test` execs it.
 *
 *   dealdesk-policy-test [--kind KIND] FILE.lua ...
 *   dealdesk-policy-test --kind KIND --cases CASES.json [FILE.lua]
 *
 * KIND defaults to the file's name when it starts with a kind
 * (pricing.lua, promotions-v2.lua). Exit 0 when every case passed, 1 when
 * one failed or a script has no cases, 2 on a usage or input error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dealdesk/log.h"
#include "dealdesk/policytest.h"

static const char usage[] =
	"usage: dealdesk-policy-test [--kind KIND] FILE.lua ...\n"
	"       dealdesk-policy-test --kind KIND --cases CASES.json [FILE.lua]\n"
	"Runs the test cases of each FILE.lua (its --[=[dealdesk:tests ... ]=] block)\n"
	"against it in a scratch store; with --cases, the cases of CASES.json against\n"
	"FILE.lua or the shipped policy of KIND. KIND is pricing, promotions, credit or\n"
	"compliance (default: from the file name). Exit 0 = all passed, 1 = a case\n"
	"failed or there were none, 2 = usage or input error.\n";

static char *read_file(const char *path, size_t *len)
{
	FILE *fp = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	if (fp == NULL)
		return NULL;
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap + 1);
	size_t got;
	while (buf && (got = fread(buf + n, 1, cap - n, fp)) > 0) {
		n += got;
		if (n == cap) {
			char *b = realloc(buf, 2 * cap + 1);
			if (b == NULL) {
				free(buf);
				buf = NULL;
			}
			buf = b;
			cap *= 2;
		}
	}
	if (fp != stdin)
		fclose(fp);
	if (buf) {
		buf[n] = '\0';
		*len = n;
	}
	return buf;
}

static dd_policy_kind kind_of_name(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	for (int k = DD_POLICY_PRICING; k < DD_POLICY_KIND_COUNT; k++) {
		const char *n = dd_policy_kind_name(k);
		if (strncmp(base, n, strlen(n)) == 0)
			return k;
	}
	return 0;
}

/* 0 passed, 1 failed, 2 error */
static int run_one(const char *label, dd_policy_kind kind, const char *cases, size_t clen,
                   const char *source)
{
	dd_policytest_result res;
	dd_error err;
	dd_error_clear(&err);
	printf("%s (%s):\n", label, dd_policy_kind_name(kind));
	fflush(stdout);
	if (dd_policytest_run(cases, clen, kind, source, stdout, &res, &err) != DD_OK) {
		fprintf(stderr, "dealdesk-policy-test: %s: %s\n", label, err.msg);
		return 2;
	}
	unsigned failed = res.run - res.passed;
	printf("%s: %u passed, %u failed\n", label, res.passed, failed);
	if (res.run == 0) {
		printf("%s: no test cases\n", label);
		return 1;
	}
	return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
	dd_log_set_level(DD_LOG_OFF);
	dd_policy_kind kind = 0;
	const char *cases_path = NULL;
	int first = 1;
	while (first < argc && argv[first][0] == '-' && argv[first][1] == '-') {
		if (!strcmp(argv[first], "--help")) {
			fputs(usage, stdout);
			return 0;
		}
		if (first + 1 >= argc) {
			fprintf(stderr, "dealdesk-policy-test: %s needs a value\n%s", argv[first], usage);
			return 2;
		}
		if (!strcmp(argv[first], "--kind")) {
			if ((kind = dd_policy_kind_parse(argv[first + 1])) == 0) {
				fprintf(stderr, "dealdesk-policy-test: --kind '%s': expected pricing, "
				        "promotions, credit or compliance\n", argv[first + 1]);
				return 2;
			}
		} else if (!strcmp(argv[first], "--cases")) {
			cases_path = argv[first + 1];
		} else {
			fprintf(stderr, "dealdesk-policy-test: unknown option %s\n%s", argv[first], usage);
			return 2;
		}
		first += 2;
	}
	if (first >= argc && cases_path == NULL) {
		fputs(usage, stderr);
		return 2;
	}
	int worst = 0;
	if (cases_path) {
		size_t clen, slen;
		char *cases = read_file(cases_path, &clen);
		char *source = first < argc ? read_file(argv[first], &slen) : NULL;
		if (kind == 0)
			kind = kind_of_name(first < argc ? argv[first] : cases_path);
		if (cases == NULL || (first < argc && source == NULL) || kind == 0) {
			fprintf(stderr, "dealdesk-policy-test: %s\n",
			        kind == 0 ? "--kind is needed" : "cannot read an input file");
			worst = 2;
		} else {
			worst = run_one(cases_path, kind, cases, clen, source);
		}
		free(cases);
		free(source);
		return worst;
	}
	for (int i = first; i < argc; i++) {
		size_t len;
		char *source = read_file(argv[i], &len);
		dd_policy_kind k = kind ? kind : kind_of_name(argv[i]);
		const char *cases;
		size_t clen;
		int rc;
		if (source == NULL) {
			fprintf(stderr, "dealdesk-policy-test: cannot read %s\n", argv[i]);
			rc = 2;
		} else if (k == 0) {
			fprintf(stderr, "dealdesk-policy-test: %s: give --kind (the name starts with "
			        "no kind)\n", argv[i]);
			rc = 2;
		} else if ((rc = dd_policytest_extract(source, &cases, &clen)) != DD_OK) {
			printf("%s (%s): %s\n", argv[i], dd_policy_kind_name(k),
			       rc == DD_ENOTFOUND ? "no test cases (no --[=[dealdesk:tests block)"
			                          : "the --[=[dealdesk:tests block is not closed by ]=]");
			rc = rc == DD_ENOTFOUND ? 1 : 2;
		} else {
			rc = run_one(argv[i], k, cases, clen, source);
		}
		free(source);
		if (rc > worst)
			worst = rc;
	}
	return worst;
}
