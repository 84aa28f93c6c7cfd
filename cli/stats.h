/* stats.h: `hpool --stats`: hpoold's figures, printed. */
#ifndef HPOOL_CLI_STATS_H
#define HPOOL_CLI_STATS_H

/* Entered from main() when any argument is "--stats"; parses its own
 * options (--stats, --json, --prometheus, --socket PATH, --timeout S,
 * -h) and returns the exit status. */
int	cli_stats_main(int argc, char **argv);

#endif
