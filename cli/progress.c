/*
 * progress.c: owns the progress bar of -# (and of -o to a terminal): a
 * row of '#' and the percentage on stderr, redrawn at most ten times a
 * second, or the bytes so far when the length is unknown.
 */
#include <stdio.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

void
progress_start(struct progress *p, const struct opts *o, int to_file,
    int64_t total)
{
	p->on = !o->silent && !o->head && (o->progress_bar || (to_file &&
	    isatty(STDERR_FILENO)));
	p->total = total;
	p->done = 0;
	p->shown = 0;
}

void
progress_update(struct progress *p, int final)
{
	struct winsize ws;
	struct timespec now;
	int width = 80, bar, fill, i;
	double pct;

	if (!p->on)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!final && p->shown && (now.tv_sec - p->last.tv_sec) * 1000 +
	    (now.tv_nsec - p->last.tv_nsec) / 1000000 < 100)
		return;
	p->last = now;
	p->shown = 1;
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
	fflush(stderr);
}
