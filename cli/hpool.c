/*
 * hpool.c: owns the hpool command's run: main(), the URLs one after
 * another (the pool in hpoold keeps their connections), --retry around
 * each, -D's file and -w after each. The flags are opts.c's, a transfer
 * transfer.c's.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cli.h"
#include "stats.h"

#define RETRY_DELAY_MAX	600.0	/* curl's cap on its backoff, seconds */

/* curl's transient errors: a timeout, or one of these statuses. */
static const int transient_status[] = { 408, 429, 500, 502, 503, 504 };

static const char *transient(int ex, int status);
static double retry_after(const struct xfer *x);
static int run_url(const struct opts *o, size_t i, FILE **hdrfp);
static int load_writeout(struct opts *o, char **keep);

static const char *
transient(int ex, int status)
{
	size_t i;

	if (ex == EX_TIMEOUT)
		return ": timeout";
	for (i = 0; i < NELEM(transient_status); i++)
		if (status == transient_status[i])
			return ": HTTP error";
	return NULL;
}

/* Retry-After in seconds (a date is not taken), -1 if none. */
static double
retry_after(const struct xfer *x)
{
	char *end;
	long v;
	size_t i;

	for (i = 0; i < x->nhdrs; i++) {
		if (strcasecmp(x->hdrs[i].name, "Retry-After") != 0)
			continue;
		v = strtol(x->hdrs[i].value, &end, 10);
		if (end != x->hdrs[i].value && *end == '\0' && v >= 0)
			return v > (long)RETRY_DELAY_MAX ? RETRY_DELAY_MAX :
			    (double)v;
	}
	return -1;
}

/* One URL, again while --retry allows, then its -w. */
static int
run_url(const struct opts *o, size_t i, FILE **hdrfp)
{
	struct timespec first, ts;
	struct xfer x;
	const char *why;
	double delay, backoff = 1;
	long left = o->retry;
	int ex;

	memset(&x, 0, sizeof(x));
	clock_gettime(CLOCK_MONOTONIC, &first);
	for (;;) {
		cli_errmsg[0] = '\0';
		x.urlnum = (int)i;
		x.attempt = (int)(o->retry - left);
		ex = transfer(o, &o->targets[i], &x, hdrfp);
		x.exitcode = ex;
		snprintf(x.errormsg, sizeof(x.errormsg), "%s", ex != EX_OK ?
		    cli_errmsg : "");
		why = transient(ex, x.status);
		if (why == NULL || left <= 0 || (o->retry_max_time > 0 &&
		    cli_now(&first) >= o->retry_max_time))
			break;
		/* curl's order: Retry-After, else --retry-delay, else the
		 * backoff */
		if ((delay = retry_after(&x)) > 0 && o->retry_max_time > 0 &&
		    o->retry_max_time - (double)(long)cli_now(&first) < delay) {
			cli_warn("The Retry-After: time would make this "
			    "command line exceed the maximum allowed time "
			    "for retries.\n");
			break;
		}
		if (delay <= 0)
			delay = o->retry_delay > 0 ? o->retry_delay : backoff;
		cli_warn("Problem %s. Will retry in %ld seconds. %ld retries "
		    "left.\n", why, (long)delay, left);
		/* the file is written afresh; curl says what it drops */
		if (!cli_nowarn && x.filename != NULL && x.size_download > 0)
			fprintf(stderr, "Throwing away %lld bytes\n",
			    (long long)x.size_download);
		ts.tv_sec = (time_t)delay;
		ts.tv_nsec = (long)((delay - (double)ts.tv_sec) * 1e9);
		nanosleep(&ts, NULL);
		if (o->retry_delay <= 0)
			backoff = backoff * 2 > RETRY_DELAY_MAX ?
			    RETRY_DELAY_MAX : backoff * 2;
		left--;
		writeout_reset(&x);
	}
	if (o->writeout != NULL && writeout(o->writeout, &x, stdout) == -1 &&
	    ex == EX_OK)
		ex = cli_fail(EX_WRITE, "OSError", "failed writing -w: %s",
		    strerror(errno));
	writeout_reset(&x);
	return ex;
}

/* -w @FILE and @- read the format from the file. */
static int
load_writeout(struct opts *o, char **keep)
{
	FILE *fp;
	size_t len;
	int rc;

	*keep = NULL;
	if (o->writeout == NULL || o->writeout[0] != '@')
		return EX_OK;
	if (strcmp(o->writeout, "@-") == 0)
		fp = stdin;
	else if ((fp = fopen(o->writeout + 1, "r")) == NULL)
		return cli_fail(EX_READ, "OSError", "%s: %s", o->writeout + 1,
		    strerror(errno));
	rc = data_read_all(fp, keep, &len);
	if (fp != stdin)
		fclose(fp);
	if (rc == -1 || memchr(*keep, '\0', len) != NULL) {
		free(*keep);
		*keep = NULL;
		return cli_fail(EX_READ, "OSError", "%s: unreadable -w format",
		    o->writeout + 1);
	}
	(*keep)[len] = '\0';
	o->writeout = *keep;
	return EX_OK;
}

int
main(int argc, char **argv)
{
	struct opts o;
	FILE *hdrfp = NULL;
	char *wfmt = NULL;
	size_t i;
	int ex, done;

	for (i = 1; i < (size_t)argc; i++)	/* hpool --stats: cli/stats.c */
		if (strcmp(argv[i], "--stats") == 0)
			return cli_stats_main(argc, argv);
	memset(&o, 0, sizeof(o));
	/* A closed stdout is reported as a write error, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	ex = opts_parse(&o, argc, argv, &done);
	if (done || (ex = load_writeout(&o, &wfmt)) != EX_OK)
		goto out;
	if (o.explain) {
		for (i = 0; i < o.ntargets; i++)
			ex = run_explain(&o, o.targets[i].url);
		goto out;
	}
	if (o.dump_header != NULL) {
		hdrfp = strcmp(o.dump_header, "-") == 0 ? stdout :
		    fopen(o.dump_header, "wb");
		if (hdrfp == NULL) {
			ex = cli_fail(EX_WRITE, "OSError", "%s: %s",
			    o.dump_header, strerror(errno));
			goto out;
		}
	}
	for (i = 0; i < o.ntargets; i++)
		ex = run_url(&o, i, &hdrfp);
	if (hdrfp != NULL && hdrfp != stdout && fclose(hdrfp) == EOF &&
	    ex == EX_OK)
		ex = cli_fail(EX_WRITE, "OSError", "%s: %s", o.dump_header,
		    strerror(errno));
out:
	free(wfmt);
	opts_free(&o);
	return ex;
}
