/*
 * ctl_stats.h: `moatctl stats`, moatd's counters from its metrics_listen
 * endpoint, for sites without Prometheus (issue 17).
 */
#ifndef MOAT_CTL_STATS_H
#define MOAT_CTL_STATS_H

#include <stdio.h>

/*
 * stats_main: argv holds the arguments after "stats" ([-c CONFIG]
 * [--json]).  Returns the exit status: 0, 1 when moatd cannot be asked,
 * 2 for a usage error.
 */
int	stats_main(int argc, char **argv);

/* stats_help: the usage and every option of stats, on f. */
void	stats_help(FILE *f);

#endif
