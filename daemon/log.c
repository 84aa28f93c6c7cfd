/* log.c: owns hpoold's log output (stderr, journald-friendly prefixes):
 * one write(2) a line, so the lines of the supervisor and its workers
 * never mix. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

#define LOG_LINE_MAX	2048	/* longer messages are cut */

static int log_level = LOG_LVL_INFO;
static int log_journal;	/* stderr is the journal: add priorities */
static char log_tag[32] = "hpoold";	/* set once per process */

/* sd-daemon(3) priority prefixes, understood by journald on stderr. */
static const char *const prefixes[] = { "<3>", "<4>", "<6>", "<7>" };
static const char *const names[] = { "error", "warning", "info", "debug" };

static void	emit(const char *, const char *, const char *, va_list);

void
log_init(int level)
{
	/* SIGHUP sets it while the loop logs */
	__atomic_store_n(&log_level, level, __ATOMIC_RELAXED);
	log_journal = getenv("JOURNAL_STREAM") != NULL;
}

void
log_set_tag(const char *tag)
{
	snprintf(log_tag, sizeof(log_tag), "%s", tag);
}

static void
emit(const char *prio, const char *name, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	int n, m;

	n = snprintf(line, sizeof(line), "%s%s: %s: ", log_journal ? prio :
	    "", log_tag, name);
	if (n < 0 || (size_t)n >= sizeof(line) - 1)
		return;
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	if (m < 0)
		return;
	n = (size_t)(n + m) < sizeof(line) - 1 ? n + m :
	    (int)sizeof(line) - 2;
	line[n++] = '\n';
	/* best effort: a log that cannot be written is not a reason to
	 * stop serving */
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}

void
log_msg(int level, const char *fmt, ...)
{
	va_list ap;

	if (level > __atomic_load_n(&log_level, __ATOMIC_RELAXED))
		return;
	va_start(ap, fmt);
	emit(prefixes[level], names[level], fmt, ap);
	va_end(ap);
}

int
log_enabled(int level)
{
	return level <= __atomic_load_n(&log_level, __ATOMIC_RELAXED);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit("<2>", "fatal", fmt, ap);
	va_end(ap);
	abort();
}
