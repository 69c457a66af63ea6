/* dealdesk CLI: the analytics commands (analytics.c, report.c). Private
 * to src/cli. */
#ifndef DEALDESK_CLI_ANALYTICS_H
#define DEALDESK_CLI_ANALYTICS_H

#include <stdio.h>

#include "cli/cli.h"
#include "dealdesk/v1/analytics.pb-c.h"

int cli_cmd_rfm(cli *c, int argc, char **argv);
int cli_cmd_experiments(cli *c, int argc, char **argv);
int cli_cmd_kpis(cli *c, int argc, char **argv);
int cli_cmd_report(cli *c, int argc, char **argv);

/* The options of kpis and report into q (csv / html NULL when the command
 * has no such flag); -1 for --help. */
int cli_kpis_parse(cli *c, const char *cmd, int argc, char **argv,
                   Dealdesk__V1__GetSalesKpisRequest *q, int *csv, const char **html);
void cli_print_experiment(FILE *f, const Dealdesk__V1__ExperimentReport *e);

#endif
