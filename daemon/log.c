/* log.c: owns hpoold's log output (stderr, journald-friendly prefixes). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"

static int log_level = LOG_LVL_INFO;
static int log_journal;	/* stderr is the journal: add priorities */

/* sd-daemon(3) priority prefixes, understood by journald on stderr. */
static const char *const prefixes[] = { "<3>", "<4>", "<6>", "<7>" };
static const char *const names[] = { "error", "warning", "info", "debug" };

void
log_init(int level)
{
	/* SIGHUP sets it in the main thread while workers log */
	__atomic_store_n(&log_level, level, __ATOMIC_RELAXED);
	log_journal = getenv("JOURNAL_STREAM") != NULL;
}

void
log_msg(int level, const char *fmt, ...)
{
	va_list ap;

	if (level > __atomic_load_n(&log_level, __ATOMIC_RELAXED))
		return;
	va_start(ap, fmt);
	flockfile(stderr);	/* one line, whole, whichever worker logs */
	fprintf(stderr, "%shpoold: %s: ", log_journal ? prefixes[level] : "",
	    names[level]);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	funlockfile(stderr);
	va_end(ap);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "%shpoold: fatal: ", log_journal ? "<2>" : "");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}
