/*
 * progress.c: owns what hpool draws on stderr while a body arrives:
 * curl's progress meter (its two heading lines and its row of sizes,
 * percentages, speeds and times, redrawn each second), or -#'s bar of
 * '#' and a percentage, redrawn at most ten times a second.
 */
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define KIB	1024LL
#define MIB	(1024LL * KIB)
#define GIB	(1024LL * MIB)

#define COL	24	/* a column's buffer; curl's fit in 5 and 8 */

static void	size5(int64_t n, char out[COL]);
static void	hms(int64_t seconds, char out[COL]);
static void	meter_row(struct progress *, int final);
static void	bar_row(struct progress *, int final);

/*
 * curl's meter shows whenever the body does not go to a terminal; hpool
 * also wants stderr to be one, so that scripts that keep stderr for
 * error lines do not get the meter's rows in it (hpool(1)).
 */
void
progress_start(struct progress *p, const struct opts *o, int to_file,
    int64_t total)
{
	memset(p, 0, sizeof(*p));
	p->total = total;
	clock_gettime(CLOCK_MONOTONIC, &p->start);
	if (o->silent || o->head || !isatty(STDERR_FILENO))
		return;
	if (o->progress_bar)
		p->on = PROGRESS_BAR;
	else if (to_file || !isatty(STDOUT_FILENO))
		p->on = PROGRESS_METER;
}

/* A size in 5 columns, as curl writes it: 12345, 1234k, 12.3M, 1234M. */
static void
size5(int64_t n, char out[COL])
{
	if (n < 100000)
		snprintf(out, COL, "%5lld", (long long)n);
	else if (n < 10000 * KIB)
		snprintf(out, COL, "%4lldk", (long long)(n / KIB));
	else if (n < 100 * MIB)
		snprintf(out, COL, "%2lld.%lldM", (long long)(n / MIB),
		    (long long)(n % MIB / (MIB / 10)));
	else if (n < 10000 * MIB)
		snprintf(out, COL, "%4lldM", (long long)(n / MIB));
	else if (n < 100 * GIB)
		snprintf(out, COL, "%2lld.%lldG", (long long)(n / GIB),
		    (long long)(n % GIB / (GIB / 10)));
	else
		snprintf(out, COL, "%4lldG", (long long)(n / GIB));
}

/* H:MM:SS in 8 columns; "--:--:--" when not known. */
static void
hms(int64_t s, char out[COL])
{
	if (s <= 0)
		snprintf(out, COL, "--:--:--");
	else if (s / 3600 <= 99)
		snprintf(out, COL, "%2lld:%02lld:%02lld", (long long)(s / 3600),
		    (long long)(s % 3600 / 60), (long long)(s % 60));
	else
		snprintf(out, COL, "%3lldd %02lldh", (long long)(s / 86400),
		    (long long)(s % 86400 / 3600));
}

static void
meter_row(struct progress *p, int final)
{
	char total[COL], got[COL], up[COL], speed[COL], zero[COL];
	char t_all[COL], t_spent[COL], t_left[COL];
	double spent = cli_now(&p->start);
	int64_t rate = spent > 0 ? (int64_t)((double)p->done / spent) : 0;
	int pct = p->total > 0 ? (int)(100 * (int64_t)p->done / p->total) : 0;

	if (!p->shown)
		fputs("  % Total    % Received % Xferd  Average Speed   "
		    "Time    Time     Time  Current\n"
		    "                                 Dload  Upload   Total   "
		    "Spent    Left  Speed\n", stderr);
	size5(p->total > 0 ? p->total : 0, total);
	size5((int64_t)p->done, got);
	size5(0, up);
	size5(0, zero);
	size5(rate, speed);
	hms(p->total > 0 && rate > 0 ? p->total / rate : 0, t_all);
	hms((int64_t)spent, t_spent);
	hms(p->total > 0 && rate > 0 ? (p->total - (int64_t)p->done) / rate :
	    0, t_left);
	fprintf(stderr, "\r%3d %s  %3d %s    0 %s  %s  %s %s %s %s %s", pct,
	    total, pct, got, up, speed, zero, t_all, t_spent, t_left, speed);
	if (final)
		fputc('\n', stderr);
}

static void
bar_row(struct progress *p, int final)
{
	struct winsize ws;
	int width = 80, bar, fill, i;
	double pct;

	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20)
		width = ws.ws_col;
	if (p->total > 0) {
		pct = 100.0 * (double)p->done / (double)p->total;
		if (pct > 100)
			pct = 100;
		bar = width - 8;
		fill = (int)(bar * pct / 100);
		fputc('\r', stderr);
		for (i = 0; i < bar; i++)
			fputc(i < fill ? '#' : ' ', stderr);
		fprintf(stderr, " %5.1f%%", pct);
	} else
		fprintf(stderr, "\r%12.1f KiB received",
		    (double)p->done / 1024.0);
	if (final)
		fputc('\n', stderr);
}

void
progress_update(struct progress *p, int final)
{
	struct timespec now;
	long every = p->on == PROGRESS_METER ? 1000 : 100;	/* ms */

	if (p->on == PROGRESS_OFF)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!final && p->shown && (now.tv_sec - p->last.tv_sec) * 1000 +
	    (now.tv_nsec - p->last.tv_nsec) / 1000000 < every)
		return;
	if (p->on == PROGRESS_METER)
		meter_row(p, final);
	else
		bar_row(p, final);
	p->last = now;
	p->shown = 1;
	fflush(stderr);
}
