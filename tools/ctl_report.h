/*
 * ctl_report.h: `moatctl report`, a summary of moatd's log (issue 17).
 */
#ifndef MOAT_CTL_REPORT_H
#define MOAT_CTL_REPORT_H

#include <stdio.h>

/*
 * report_main: argv holds the arguments after "report" ([--json] [--top N]
 * [FILE...]).  Reads the files (plain or gzip, "-" or none for stdin),
 * prints the summary on stdout.  Returns the exit status: 0, 1 when a file
 * could not be read, 2 for a usage error.
 */
int	report_main(int argc, char **argv);

/* report_usage_text: the usage line of report, for moatctl's usage(). */
extern const char report_usage_text[];

/* report_help: the usage and every option of report, on f. */
void	report_help(FILE *f);

#endif
