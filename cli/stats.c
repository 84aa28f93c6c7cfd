/*
 * stats.c: owns `hpool --stats`: asks hpoold for its daemon-wide figures
 * (hpool_stats) and prints them as tables, JSON (--json) or Prometheus
 * text (--prometheus). Its own small option set: the request options of
 * hpool mean nothing here.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hpool.h"
#include "stats.h"

#define EX_USAGE	2
#define EX_DAEMON	7	/* as curl's "could not connect" */
#define EX_PERMISSION	122	/* beside 120 (policy) and 121 (no hpoold) */
#define EX_GENERIC	1

static void
usage(FILE *f)
{
	fprintf(f, "usage: hpool --stats [--json | --prometheus] "
	    "[--socket PATH] [--timeout SECONDS]\n"
	    "Print hpoold's figures: per pool, per caller, per worker, the "
	    "totals.\n\n"
	    "      --json             one JSON object, for scripts\n"
	    "      --prometheus       the Prometheus text exposition format\n"
	    "      --socket PATH      hpoold's socket (default: "
	    "$HPOOL_SOCKET, ...)\n"
	    "      --timeout SECONDS  how long to wait for hpoold\n"
	    "  -h, --help             print this help and exit\n"
	    "Only root, hpoold's own user and members of its stats_group "
	    "may read them.\nSee hpool(1), STATS.\n");
}

int
cli_stats_main(int argc, char **argv)
{
	enum { OPT_STATS = 256, OPT_JSON, OPT_PROM, OPT_SOCKET, OPT_TIMEOUT };
	static const struct option longopts[] = {
		{ "stats", no_argument, NULL, OPT_STATS },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "prometheus", no_argument, NULL, OPT_PROM },
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct hpool_conn_opts opts = HPOOL_CONN_OPTS_INIT;
	struct hpool_error err;
	char *text = NULL, *end;
	int ch, format = HPOOL_STATS_TABLE, rc;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case OPT_STATS:
			break;
		case OPT_JSON:
		case OPT_PROM:
			if (format != HPOOL_STATS_TABLE) {
				fprintf(stderr, "hpool: --json and --prometheus "
				    "exclude each other\n");
				return EX_USAGE;
			}
			format = ch == OPT_JSON ? HPOOL_STATS_JSON :
			    HPOOL_STATS_PROMETHEUS;
			break;
		case OPT_SOCKET:
			opts.socket_path = optarg;
			break;
		case OPT_TIMEOUT:
			opts.timeout = strtod(optarg, &end);
			if (*optarg == '\0' || *end != '\0' || !(opts.timeout >
			    0) || opts.timeout > 86400) {
				fprintf(stderr, "hpool: --timeout: '%s' is not "
				    "a number of seconds (0 to 86400)\n",
				    optarg);
				return EX_USAGE;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, "hpool: with --stats, only --json, "
			    "--prometheus, --socket and --timeout are taken "
			    "('%s' is not)\n", argv[optind - 1]);
			return EX_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "hpool: --stats takes no URL ('%s')\n",
		    argv[optind]);
		return EX_USAGE;
	}
	rc = hpool_stats(format, &opts, &text, &err);
	if (rc != HPOOL_OK) {
		fprintf(stderr, "hpool: %s: %s\n", hpool_error_name(err.code),
		    err.message);
		return hpool_error_is(err.code, HPOOL_E_PERMISSION) ?
		    EX_PERMISSION : hpool_error_is(err.code,
		    HPOOL_E_DAEMON_UNAVAILABLE) ? EX_DAEMON : EX_GENERIC;
	}
	rc = fputs(text, stdout) == EOF || fflush(stdout) == EOF ? 23 : 0;
	if (rc != 0)
		fprintf(stderr, "hpool: writing the stats failed\n");
	free(text);
	return rc;
}
