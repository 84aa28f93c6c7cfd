/*
 * stats.h: the figures `hpool --stats` and /metrics show. A worker keeps
 * rows per pool (destination, route, TLS) and per caller (uid, unit),
 * capped, and dumps them with its counters as text lines (a CTL_DUMP);
 * the supervisor merges the dumps of every worker into one table and
 * renders it as tables, JSON or the Prometheus text format. No I/O.
 */
#ifndef HPOOL_STATS_H
#define HPOOL_STATS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "server.h"

#define STATS_MAX_POOLS		200	/* rows; more are summed in one */
#define STATS_MAX_CALLERS	200
#define STATS_MAX_WORKERS	64
#define STATS_MAX_TEXT		(150 * 1024)	/* a dump or an answer */

/* Why pooled connections ended (janitor.c's reasons, in its order). */
#define STATS_NENDED		6
extern const char *const stats_ended_names[STATS_NENDED];

enum stats_format { STATS_FMT_TABLE = 0, STATS_FMT_JSON = 1,
	STATS_FMT_PROMETHEUS = 2 };

struct stats_pool {
	char		dest[280];	/* scheme://host:port asked for */
	char		route[96];	/* direct, proxy NAME, ... */
	uint8_t		tls;		/* https */
	uint64_t	idle, busy, waiting;	/* gauges, at the dump */
	uint64_t	connects, reuses, failures, tls_full, tls_resumed;
};

struct stats_caller {
	uint32_t	uid;
	char		unit[128];	/* "" none */
	uint64_t	requests, bytes_up, bytes_down, errors, denials;
};

struct stats_worker {
	unsigned	id;
	pid_t		pid;
	struct stats	st;
};

struct stats_table {
	struct stats_pool	pools[STATS_MAX_POOLS];
	size_t			npools;
	struct stats_caller	callers[STATS_MAX_CALLERS];
	size_t			ncallers;
	/* rows that did not fit went into the last row, named "(other)" */
	int			pools_full, callers_full;
	struct stats_worker	workers[STATS_MAX_WORKERS];
	size_t			nworkers;
	uint64_t		ended[STATS_NENDED];	/* summed */
	/* the supervisor's: totals as STATUS= counts them */
	struct stats		total;
	uint64_t		uptime_s;
	unsigned		expected;	/* workers asked */
	char			missing[256];	/* "2 3": did not answer */
};

/* The row of a pool / caller, made if new (the last row collects what
 * does not fit). Never NULL. */
struct stats_pool	*stats_pool_row(struct stats_table *, const char *dest,
			    const char *route, int tls);
struct stats_caller	*stats_caller_row(struct stats_table *, uint32_t uid,
			    const char *unit);

/* A worker's dump: its rows (gauges already in) and counters; ended:
 * its STATS_NENDED counts of pooled connections ended, or NULL. */
size_t	stats_dump(const struct stats_table *, unsigned worker, pid_t pid,
	    const struct stats *, const uint64_t *ended, char *buf,
	    size_t len);
/* Add one worker's dump to a merged table: 0, or -1 (malformed: nothing
 * more of it is taken). */
int	stats_merge(struct stats_table *, const char *dump);
/* The merged table as fmt: the length (the text is cut to fit, always
 * NUL-terminated). */
size_t	stats_render(const struct stats_table *, enum stats_format,
	    char *buf, size_t len);

#endif
