/* stats.c: owns the stats rows (per pool, per caller), a worker's dump of
 * them, the supervisor's merge of the dumps and the three renderings
 * (tables, JSON, Prometheus text). No I/O. */
#include "hpool_autoconf.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"

#define OTHER	"(other)"

/* Text from outside (a unit, a host) safe for every format: no control
 * character, quote, backslash or tab; cut to fit. */
static void
copy_clean(char *to, size_t len, const char *from)
{
	size_t i;

	for (i = 0; i + 1 < len && from[i] != '\0'; i++)
		to[i] = (unsigned char)from[i] < 0x20 || from[i] == 0x7f ||
		    from[i] == '"' || from[i] == '\\' ? '?' : from[i];
	if (len > 0)
		to[i] = '\0';
}

struct stats_pool *
stats_pool_row(struct stats_table *t, const char *dest, const char *route,
    int tls)
{
	struct stats_pool *p;
	char d[sizeof(p->dest)], r[sizeof(p->route)];
	size_t i;

	copy_clean(d, sizeof(d), dest);
	copy_clean(r, sizeof(r), route);
	for (i = 0; i < t->npools; i++) {
		p = &t->pools[i];
		if (p->tls == (tls != 0) && strcmp(p->dest, d) == 0 &&
		    strcmp(p->route, r) == 0)
			return p;
	}
	if (t->npools == STATS_MAX_POOLS) {
		/* the last row becomes the sum of all that do not fit */
		p = &t->pools[STATS_MAX_POOLS - 1];
		if (!t->pools_full) {
			t->pools_full = 1;
			snprintf(p->dest, sizeof(p->dest), OTHER);
			snprintf(p->route, sizeof(p->route), OTHER);
			p->tls = 0;
		}
		return p;
	}
	p = &t->pools[t->npools++];
	memset(p, 0, sizeof(*p));
	memcpy(p->dest, d, sizeof(d));
	memcpy(p->route, r, sizeof(r));
	p->tls = tls != 0;
	return p;
}

struct stats_caller *
stats_caller_row(struct stats_table *t, uint32_t uid, const char *unit)
{
	struct stats_caller *c;
	char u[sizeof(c->unit)];
	size_t i;

	copy_clean(u, sizeof(u), unit);
	for (i = 0; i < t->ncallers; i++) {
		c = &t->callers[i];
		if (c->uid == uid && strcmp(c->unit, u) == 0)
			return c;
	}
	if (t->ncallers == STATS_MAX_CALLERS) {
		c = &t->callers[STATS_MAX_CALLERS - 1];
		if (!t->callers_full) {
			t->callers_full = 1;
			c->uid = UINT32_MAX;
			snprintf(c->unit, sizeof(c->unit), OTHER);
		}
		return c;
	}
	c = &t->callers[t->ncallers++];
	memset(c, 0, sizeof(*c));
	c->uid = uid;
	memcpy(c->unit, u, sizeof(u));
	return c;
}

/* Appends like snprintf, never past len - 1; *n stops at len - 1. */
static void
add(char *buf, size_t len, size_t *n, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (len == 0 || *n + 1 >= len)
		return;
	va_start(ap, fmt);
	k = vsnprintf(buf + *n, len - *n, fmt, ap);
	va_end(ap);
	if (k > 0)
		*n = *n + (size_t)k < len ? *n + (size_t)k : len - 1;
}

#define U(x)	((unsigned long long)(x))

const char *const stats_ended_names[STATS_NENDED] = {
	"idle_timeout", "keepalive_timeout", "keepalive_max", "max_conn_age",
	"max_requests_per_conn", "pool_linger",
};

size_t
stats_dump(const struct stats_table *t, unsigned worker, pid_t pid,
    const struct stats *s, const uint64_t *ended, char *buf, size_t len)
{
	const struct stats_pool *p;
	const struct stats_caller *c;
	size_t i, n = 0;

	if (len > 0)
		buf[0] = '\0';
	add(buf, len, &n, "W\t%u\t%d\t%llu\t%llu\t%llu\t%llu\t%llu\t%llu\t"
	    "%llu\t%llu\t%llu\t%llu\n", worker, (int)pid, U(s->sessions),
	    U(s->requests), U(s->upstream_connects), U(s->upstream_reuses),
	    U(s->retries), U(s->tls_full), U(s->tls_resumed),
	    U(s->live_sessions), U(s->idle_conns), U(s->busy_conns));
	for (i = 0; i < t->npools; i++) {
		p = &t->pools[i];
		add(buf, len, &n, "P\t%u\t%llu\t%llu\t%llu\t%llu\t%llu\t%llu\t"
		    "%llu\t%llu\t%s\t%s\n", p->tls, U(p->idle), U(p->busy),
		    U(p->waiting), U(p->connects), U(p->reuses),
		    U(p->failures), U(p->tls_full), U(p->tls_resumed),
		    p->dest, p->route);
	}
	for (i = 0; i < t->ncallers; i++) {
		c = &t->callers[i];
		add(buf, len, &n, "C\t%u\t%llu\t%llu\t%llu\t%llu\t%llu\t%s\n",
		    c->uid, U(c->requests), U(c->bytes_up), U(c->bytes_down),
		    U(c->errors), U(c->denials), c->unit);
	}
	if (ended != NULL) {
		add(buf, len, &n, "E");
		for (i = 0; i < STATS_NENDED; i++)
			add(buf, len, &n, "\t%llu", U(ended[i]));
		add(buf, len, &n, "\n");
	}
	add(buf, len, &n, "F\t%d\t%d\n", t->pools_full, t->callers_full);
	return n;
}

/* Split a line at tabs: the fields, at most max. */
static size_t
split(char *line, char **f, size_t max)
{
	size_t n = 0;
	char *tab;

	while (n < max) {
		f[n++] = line;
		if ((tab = strchr(line, '\t')) == NULL)
			break;
		*tab = '\0';
		line = tab + 1;
	}
	return n;
}

static int
num(const char *s, uint64_t *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	*out = strtoull(s, &end, 10);
	return *end == '\0' ? 0 : -1;
}

/* n numbers from f into the uint64_t fields at out (in order). */
static int
nums(char **f, size_t n, uint64_t *const *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (num(f[i], out[i]) == -1)
			return -1;
	return 0;
}

static int
merge_line(struct stats_table *t, char *line)
{
	char *f[16];
	size_t n = split(line, f, 16);
	uint64_t v[11], tls;
	struct stats_worker *w;
	struct stats_pool *p;
	struct stats_caller *c;
	uint64_t *const vp[11] = { &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
	    &v[6], &v[7], &v[8], &v[9], &v[10] };

	if (strcmp(f[0], "W") == 0 && n == 13) {
		if (t->nworkers == STATS_MAX_WORKERS)
			return -1;
		w = &t->workers[t->nworkers];
		memset(w, 0, sizeof(*w));
		if (num(f[1], &v[0]) == -1 || num(f[2], &v[1]) == -1)
			return -1;
		w->id = (unsigned)v[0];
		w->pid = (pid_t)v[1];
		if (nums(f + 3, 10, (uint64_t *const []){ &w->st.sessions,
		    &w->st.requests, &w->st.upstream_connects,
		    &w->st.upstream_reuses, &w->st.retries, &w->st.tls_full,
		    &w->st.tls_resumed, &w->st.live_sessions,
		    &w->st.idle_conns, &w->st.busy_conns }) == -1)
			return -1;
		t->nworkers++;
		return 0;
	}
	if (strcmp(f[0], "P") == 0 && n == 12) {
		if (num(f[1], &tls) == -1 || nums(f + 2, 8, vp) == -1)
			return -1;
		p = stats_pool_row(t, f[10], f[11], tls != 0);
		p->idle += v[0];
		p->busy += v[1];
		p->waiting += v[2];
		p->connects += v[3];
		p->reuses += v[4];
		p->failures += v[5];
		p->tls_full += v[6];
		p->tls_resumed += v[7];
		return 0;
	}
	if (strcmp(f[0], "C") == 0 && n == 8) {
		if (num(f[1], &v[10]) == -1 || v[10] > UINT32_MAX ||
		    nums(f + 2, 5, vp) == -1)
			return -1;
		c = stats_caller_row(t, (uint32_t)v[10], f[7]);
		c->requests += v[0];
		c->bytes_up += v[1];
		c->bytes_down += v[2];
		c->errors += v[3];
		c->denials += v[4];
		return 0;
	}
	if (strcmp(f[0], "E") == 0 && n == 1 + STATS_NENDED) {
		size_t i;

		for (i = 0; i < STATS_NENDED; i++) {
			if (num(f[1 + i], &v[0]) == -1)
				return -1;
			t->ended[i] += v[0];
		}
		return 0;
	}
	if (strcmp(f[0], "F") == 0 && n == 3) {
		if (strcmp(f[1], "1") == 0)
			t->pools_full = 1;
		if (strcmp(f[2], "1") == 0)
			t->callers_full = 1;
		return 0;
	}
	return -1;
}

int
stats_merge(struct stats_table *t, const char *dump)
{
	char line[1024];
	const char *p = dump, *nl;
	size_t len;

	while (*p != '\0') {
		if ((nl = strchr(p, '\n')) == NULL)
			return -1;
		len = (size_t)(nl - p);
		if (len >= sizeof(line))
			return -1;
		memcpy(line, p, len);
		line[len] = '\0';
		if (merge_line(t, line) == -1)
			return -1;
		p = nl + 1;
	}
	return 0;
}

static size_t
width(size_t w, const char *s)
{
	size_t k = strlen(s);

	return k > w ? k : w;
}

static void
render_table(const struct stats_table *t, char *buf, size_t len, size_t *n)
{
	const struct stats *s = &t->total;
	size_t i, dw = 11, rw = 5, uw = 4;

	add(buf, len, n, "hpoold: up %llu s, %zu of %u workers answered%s%s\n",
	    U(t->uptime_s), t->nworkers, t->expected, t->missing[0] ?
	    "; missing: worker " : "", t->missing);
	add(buf, len, n, "totals: %llu sessions (%llu now), %llu requests, "
	    "%llu connects, %llu reuses, %llu retries, TLS %llu full %llu "
	    "resumed, %llu idle %llu busy connections\n", U(s->sessions),
	    U(s->live_sessions), U(s->requests), U(s->upstream_connects),
	    U(s->upstream_reuses), U(s->retries), U(s->tls_full),
	    U(s->tls_resumed), U(s->idle_conns), U(s->busy_conns));
	add(buf, len, n, "pooled connections ended:");
	for (i = 0; i < STATS_NENDED; i++)
		add(buf, len, n, "%s %s %llu", i ? "," : "",
		    stats_ended_names[i], U(t->ended[i]));
	add(buf, len, n, "\n");
	for (i = 0; i < t->npools; i++) {
		dw = width(dw, t->pools[i].dest);
		rw = width(rw, t->pools[i].route);
	}
	add(buf, len, n, "\npools%s\n %-*s | %-*s | tls | %6s | %6s | %7s | "
	    "%8s | %8s | %8s | %8s | %11s\n", t->pools_full ? " (more than "
	    "fit: the last row sums the rest)" : "", (int)dw, "destination",
	    (int)rw, "route", "idle", "busy", "waiting", "connects", "reuses",
	    "failures", "tls_full", "tls_resumed");
	for (i = 0; i < t->npools; i++) {
		const struct stats_pool *p = &t->pools[i];

		add(buf, len, n, " %-*s | %-*s | %-3s | %6llu | %6llu | %7llu |"
		    " %8llu | %8llu | %8llu | %8llu | %11llu\n", (int)dw,
		    p->dest, (int)rw, p->route, p->tls ? "yes" : "no",
		    U(p->idle), U(p->busy), U(p->waiting), U(p->connects),
		    U(p->reuses), U(p->failures), U(p->tls_full),
		    U(p->tls_resumed));
	}
	for (i = 0; i < t->ncallers; i++)
		uw = width(uw, t->callers[i].unit);
	add(buf, len, n, "\ncallers%s\n %10s | %-*s | %8s | %10s | %10s | "
	    "%6s | %7s\n", t->callers_full ? " (more than fit: the last row "
	    "sums the rest)" : "", "uid", (int)uw, "unit", "requests",
	    "bytes_up", "bytes_down", "errors", "denials");
	for (i = 0; i < t->ncallers; i++) {
		const struct stats_caller *c = &t->callers[i];

		add(buf, len, n, " %10u | %-*s | %8llu | %10llu | %10llu | "
		    "%6llu | %7llu\n", c->uid, (int)uw, c->unit[0] ? c->unit :
		    "-", U(c->requests), U(c->bytes_up), U(c->bytes_down),
		    U(c->errors), U(c->denials));
	}
	add(buf, len, n, "\nworkers\n %6s | %8s | %8s | %8s | %8s | %8s | "
	    "%6s | %6s\n", "worker", "pid", "sessions", "now", "requests",
	    "connects", "idle", "busy");
	for (i = 0; i < t->nworkers; i++) {
		const struct stats_worker *w = &t->workers[i];

		add(buf, len, n, " %6u | %8d | %8llu | %8llu | %8llu | %8llu | "
		    "%6llu | %6llu\n", w->id, (int)w->pid, U(w->st.sessions),
		    U(w->st.live_sessions), U(w->st.requests),
		    U(w->st.upstream_connects), U(w->st.idle_conns),
		    U(w->st.busy_conns));
	}
}

static void
json_stats(const struct stats *s, char *buf, size_t len, size_t *n)
{
	add(buf, len, n, "\"sessions\": %llu, \"live_sessions\": %llu, "
	    "\"requests\": %llu, \"connects\": %llu, \"reuses\": %llu, "
	    "\"retries\": %llu, \"tls_full\": %llu, \"tls_resumed\": %llu, "
	    "\"idle\": %llu, \"busy\": %llu", U(s->sessions),
	    U(s->live_sessions), U(s->requests), U(s->upstream_connects),
	    U(s->upstream_reuses), U(s->retries), U(s->tls_full),
	    U(s->tls_resumed), U(s->idle_conns), U(s->busy_conns));
}

static void
render_json(const struct stats_table *t, char *buf, size_t len, size_t *n)
{
	const char *m = t->missing;
	size_t i;

	/* every string went through copy_clean: nothing to escape */
	add(buf, len, n, "{\n\"uptime_seconds\": %llu,\n\"workers_expected\": "
	    "%u,\n\"workers_missing\": [", U(t->uptime_s), t->expected);
	for (i = 0; *m != '\0'; i++) {
		add(buf, len, n, "%s%u", i ? ", " : "", (unsigned)strtoul(m,
		    (char **)&m, 10));
		while (*m == ' ')
			m++;
	}
	add(buf, len, n, "],\n\"totals\": {");
	json_stats(&t->total, buf, len, n);
	add(buf, len, n, "},\n\"connections_ended\": {");
	for (i = 0; i < STATS_NENDED; i++)
		add(buf, len, n, "%s\"%s\": %llu", i ? ", " : "",
		    stats_ended_names[i], U(t->ended[i]));
	add(buf, len, n, "},\n\"pools_truncated\": %s,\n\"pools\": [",
	    t->pools_full ? "true" : "false");
	for (i = 0; i < t->npools; i++) {
		const struct stats_pool *p = &t->pools[i];

		add(buf, len, n, "%s\n {\"destination\": \"%s\", \"route\": "
		    "\"%s\", \"tls\": %s, \"idle\": %llu, \"busy\": %llu, "
		    "\"waiting\": %llu, \"connects\": %llu, \"reuses\": %llu, "
		    "\"failures\": %llu, \"tls_full\": %llu, \"tls_resumed\": "
		    "%llu}", i ? "," : "", p->dest, p->route, p->tls ? "true" :
		    "false", U(p->idle), U(p->busy), U(p->waiting),
		    U(p->connects), U(p->reuses), U(p->failures),
		    U(p->tls_full), U(p->tls_resumed));
	}
	add(buf, len, n, "],\n\"callers_truncated\": %s,\n\"callers\": [",
	    t->callers_full ? "true" : "false");
	for (i = 0; i < t->ncallers; i++) {
		const struct stats_caller *c = &t->callers[i];

		add(buf, len, n, "%s\n {\"uid\": %u, \"unit\": \"%s\", "
		    "\"requests\": %llu, \"bytes_up\": %llu, \"bytes_down\": "
		    "%llu, \"errors\": %llu, \"denials\": %llu}", i ? "," : "",
		    c->uid, c->unit, U(c->requests), U(c->bytes_up),
		    U(c->bytes_down), U(c->errors), U(c->denials));
	}
	add(buf, len, n, "],\n\"workers\": [");
	for (i = 0; i < t->nworkers; i++) {
		add(buf, len, n, "%s\n {\"worker\": %u, \"pid\": %d, ",
		    i ? "," : "", t->workers[i].id, (int)t->workers[i].pid);
		json_stats(&t->workers[i].st, buf, len, n);
		add(buf, len, n, "}");
	}
	add(buf, len, n, "]\n}\n");
}

/* One metric family's header. */
static void
family(char *buf, size_t len, size_t *n, const char *name, const char *type,
    const char *help)
{
	add(buf, len, n, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
	    type);
}

static void
render_prom(const struct stats_table *t, char *buf, size_t len, size_t *n)
{
	static const struct {
		const char *name, *type, *help;
		size_t off;
	} totals[] = {
#define T(n, ty, h, f)	{ n, ty, h, offsetof(struct stats, f) }
		T("hpool_sessions_total", "counter", "Client sessions "
		    "accepted.", sessions),
		T("hpool_requests_total", "counter", "Requests taken.",
		    requests),
		T("hpool_upstream_connects_total", "counter", "Upstream "
		    "connections opened.", upstream_connects),
		T("hpool_upstream_reuses_total", "counter", "Requests on "
		    "pooled connections.", upstream_reuses),
		T("hpool_retries_total", "counter", "Requests sent again "
		    "after a pooled connection died.", retries),
		T("hpool_sessions", "gauge", "Client sessions now.",
		    live_sessions),
		T("hpool_idle_connections", "gauge", "Idle pooled upstream "
		    "connections.", idle_conns),
		T("hpool_busy_connections", "gauge", "Upstream connections "
		    "connecting or serving.", busy_conns),
#undef T
	};
	static const struct {
		const char *name, *type, *help;
		size_t off;
	} pool[] = {
#define T(n, ty, h, f)	{ n, ty, h, offsetof(struct stats_pool, f) }
		T("hpool_pool_idle_connections", "gauge", "Idle connections "
		    "of a pool.", idle),
		T("hpool_pool_busy_connections", "gauge", "Connections of a "
		    "pool connecting or serving.", busy),
		T("hpool_pool_waiting_requests", "gauge", "Requests waiting "
		    "for a connection of a pool.", waiting),
		T("hpool_pool_connects_total", "counter", "Connections a pool "
		    "opened.", connects),
		T("hpool_pool_reuses_total", "counter", "Requests on a pool's "
		    "pooled connections.", reuses),
		T("hpool_pool_failures_total", "counter", "Connections of a "
		    "pool that failed to open.", failures),
		T("hpool_pool_tls_full_total", "counter", "Full TLS "
		    "handshakes of a pool.", tls_full),
		T("hpool_pool_tls_resumed_total", "counter", "Resumed TLS "
		    "handshakes of a pool.", tls_resumed),
#undef T
	};
	static const struct {
		const char *name, *help;
		size_t off;
	} caller[] = {
#define T(n, h, f)	{ n, h, offsetof(struct stats_caller, f) }
		T("hpool_caller_requests_total", "Requests of a caller.",
		    requests),
		T("hpool_caller_bytes_up_total", "Request body bytes of a "
		    "caller.", bytes_up),
		T("hpool_caller_bytes_down_total", "Response body bytes to a "
		    "caller.", bytes_down),
		T("hpool_caller_errors_total", "Requests of a caller that "
		    "ended in an error.", errors),
		T("hpool_caller_denials_total", "OPENs of a caller the policy "
		    "denied.", denials),
#undef T
	};
	size_t i, j;

	family(buf, len, n, "hpool_uptime_seconds", "gauge", "Seconds since "
	    "hpoold started.");
	add(buf, len, n, "hpool_uptime_seconds %llu\n", U(t->uptime_s));
	family(buf, len, n, "hpool_workers", "gauge", "Workers asked, and "
	    "those that answered this scrape.");
	add(buf, len, n, "hpool_workers{state=\"expected\"} %u\n"
	    "hpool_workers{state=\"answered\"} %zu\n", t->expected,
	    t->nworkers);
	family(buf, len, n, "hpool_tls_handshakes_total", "counter", "TLS "
	    "handshakes, full or resumed.");
	add(buf, len, n, "hpool_tls_handshakes_total{kind=\"full\"} %llu\n"
	    "hpool_tls_handshakes_total{kind=\"resumed\"} %llu\n",
	    U(t->total.tls_full), U(t->total.tls_resumed));
	family(buf, len, n, "hpool_connections_ended_total", "counter",
	    "Pooled upstream connections the daemon ended, by reason.");
	for (i = 0; i < STATS_NENDED; i++)
		add(buf, len, n, "hpool_connections_ended_total{reason=\"%s\"} "
		    "%llu\n", stats_ended_names[i], U(t->ended[i]));
	for (i = 0; i < sizeof(totals) / sizeof(totals[0]); i++) {
		family(buf, len, n, totals[i].name, totals[i].type,
		    totals[i].help);
		add(buf, len, n, "%s %llu\n", totals[i].name,
		    U(*(const uint64_t *)(const void *)((const char *)&t->total
		    + totals[i].off)));
	}
	for (j = 0; j < sizeof(pool) / sizeof(pool[0]); j++) {
		family(buf, len, n, pool[j].name, pool[j].type, pool[j].help);
		for (i = 0; i < t->npools; i++)
			add(buf, len, n, "%s{destination=\"%s\",route=\"%s\","
			    "tls=\"%s\"} %llu\n", pool[j].name,
			    t->pools[i].dest, t->pools[i].route,
			    t->pools[i].tls ? "yes" : "no", U(*(const uint64_t *)
			    (const void *)((const char *)&t->pools[i] +
			    pool[j].off)));
	}
	for (j = 0; j < sizeof(caller) / sizeof(caller[0]); j++) {
		family(buf, len, n, caller[j].name, "counter", caller[j].help);
		for (i = 0; i < t->ncallers; i++)
			add(buf, len, n, "%s{uid=\"%u\",unit=\"%s\"} %llu\n",
			    caller[j].name, t->callers[i].uid,
			    t->callers[i].unit, U(*(const uint64_t *)(const void *)
			    ((const char *)&t->callers[i] + caller[j].off)));
	}
	family(buf, len, n, "hpool_worker_requests_total", "counter",
	    "Requests a worker took.");
	for (i = 0; i < t->nworkers; i++)
		add(buf, len, n, "hpool_worker_requests_total{worker=\"%u\","
		    "pid=\"%d\"} %llu\n", t->workers[i].id,
		    (int)t->workers[i].pid, U(t->workers[i].st.requests));
	family(buf, len, n, "hpool_worker_sessions", "gauge", "Client sessions "
	    "a worker holds now.");
	for (i = 0; i < t->nworkers; i++)
		add(buf, len, n, "hpool_worker_sessions{worker=\"%u\",pid=\"%d\"}"
		    " %llu\n", t->workers[i].id, (int)t->workers[i].pid,
		    U(t->workers[i].st.live_sessions));
}

size_t
stats_render(const struct stats_table *t, enum stats_format fmt, char *buf,
    size_t len)
{
	size_t n = 0;

	if (len == 0)
		return 0;
	buf[0] = '\0';
	switch (fmt) {
	case STATS_FMT_TABLE:
		render_table(t, buf, len, &n);
		break;
	case STATS_FMT_JSON:
		render_json(t, buf, len, &n);
		break;
	case STATS_FMT_PROMETHEUS:
		render_prom(t, buf, len, &n);
		break;
	}
	return n;
}
