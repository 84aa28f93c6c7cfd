/*
 * janitor.c: owns when a pooled upstream connection ends (see janitor.h).
 *
 * A server that announces `Keep-Alive: timeout=N` closes a connection
 * idle for N seconds; a request sent as it does so is lost in flight
 * (the request was written, the answer is an EOF), the race behind
 * Envoy's best-known 503. So a connection is retired a margin before
 * the server would: a quarter of N, at most a second. `max=N` is the
 * number of requests the server still takes (Apache counts it down in
 * each response): at 0 the connection is not reused.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "config.h"
#include "http_parse.h"
#include "janitor.h"
#include "log.h"
#include "server.h"
#include "stats.h"

#define KA_MARGIN_MAX_MS	1000
#define KA_TIMEOUT_MAX_S	86400	/* a larger announced value is cut */

/* stats.c names them for the stats, in this order */
_Static_assert(JAN_NREASONS == STATS_NENDED, "stats.h: STATS_NENDED");

static const char *const names[JAN_NREASONS] = {
	[JAN_IDLE_TIMEOUT] = "idle timeout",
	[JAN_KA_TIMEOUT] = "server's Keep-Alive timeout",
	[JAN_KA_MAX] = "server's Keep-Alive max",
	[JAN_MAX_AGE] = "max_conn_age",
	[JAN_MAX_REQUESTS] = "max_requests_per_conn",
	[JAN_POOL_LINGER] = "pool linger",
};

uint64_t
jan_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

const char *
jan_reason_name(enum jan_reason r)
{
	return r < JAN_NREASONS ? names[r] : "?";
}

void
jan_born(struct jan_conn *j)
{
	memset(j, 0, sizeof(*j));
	j->born_ms = j->idle_since_ms = jan_now_ms();
	j->ka_max = -1;
}

void
jan_request(struct jan_conn *j)
{
	if (j->ka_max > 0)
		j->ka_max--;
}

/* One decimal parameter value, capped; -1 if not digits. */
static long
param_value(const char *v, size_t len, long cap)
{
	long n = 0;
	size_t i;

	if (len == 0)
		return -1;
	for (i = 0; i < len; i++) {
		if (!isdigit((unsigned char)v[i]))
			return -1;
		if (n < cap)
			n = n * 10 + (v[i] - '0');
	}
	return n > cap ? cap : n;
}

void
jan_parse_keepalive(const char *v, size_t len, unsigned *timeout_s, int *max)
{
	const char *p = v, *end = v + len, *item, *eq, *val;
	size_t ilen, nlen, vlen;
	long n;

	while (p < end) {
		while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
			p++;
		item = p;
		while (p < end && *p != ',')
			p++;
		ilen = (size_t)(p - item);
		while (ilen > 0 && (item[ilen - 1] == ' ' ||
		    item[ilen - 1] == '\t'))
			ilen--;
		if ((eq = memchr(item, '=', ilen)) == NULL)
			continue;
		nlen = (size_t)(eq - item);
		while (nlen > 0 && (item[nlen - 1] == ' ' ||
		    item[nlen - 1] == '\t'))
			nlen--;
		val = eq + 1;
		vlen = ilen - (size_t)(val - item);
		while (vlen > 0 && (*val == ' ' || *val == '\t')) {
			val++;
			vlen--;
		}
		if (vlen >= 2 && val[0] == '"' && val[vlen - 1] == '"') {
			val++;
			vlen -= 2;
		}
		if (nlen == 7 && strncasecmp(item, "timeout", 7) == 0) {
			if ((n = param_value(val, vlen, KA_TIMEOUT_MAX_S)) >= 0)
				*timeout_s = (unsigned)n;
		} else if (nlen == 3 && strncasecmp(item, "max", 3) == 0) {
			if ((n = param_value(val, vlen, 1000000000L)) >= 0)
				*max = (int)n;
		}
	}
}

void
jan_response(struct jan_conn *j, const struct hp_head *h)
{
	size_t i;

	for (i = 0; i < h->nheaders; i++)
		if (h->headers[i].name_len == 10 && strncasecmp(
		    h->headers[i].name, "Keep-Alive", 10) == 0)
			jan_parse_keepalive(h->headers[i].value,
			    h->headers[i].value_len, &j->ka_timeout_s,
			    &j->ka_max);
}

/* How long the server lets it idle, less the margin; 0: no limit. */
static uint64_t
ka_idle_ms(const struct jan_conn *j)
{
	uint64_t t = (uint64_t)j->ka_timeout_s * 1000, margin;

	if (j->ka_timeout_s == 0)
		return 0;
	margin = t / 4 < KA_MARGIN_MAX_MS ? t / 4 : KA_MARGIN_MAX_MS;
	return t - margin;
}

int
jan_expired(const struct jan_conn *j, unsigned nrequests,
    const struct config *cfg, uint64_t now, int idle)
{
	uint64_t ka = ka_idle_ms(j);

	if (j->ka_max == 0)
		return JAN_KA_MAX + 1;
	if (cfg->max_requests_per_conn != 0 &&
	    nrequests >= cfg->max_requests_per_conn)
		return JAN_MAX_REQUESTS + 1;
	if (cfg->max_conn_age_ms != 0 &&
	    now - j->born_ms >= cfg->max_conn_age_ms)
		return JAN_MAX_AGE + 1;
	if (!idle)
		return 0;
	/* pooled: its idle timer may not have run yet */
	if (ka != 0 && now - j->idle_since_ms >= ka)
		return JAN_KA_TIMEOUT + 1;
	if (now - j->idle_since_ms >= cfg->idle_timeout_ms)
		return JAN_IDLE_TIMEOUT + 1;
	return 0;
}

unsigned
jan_idle_ms(struct jan_conn *j, const struct config *cfg, uint64_t now,
    enum jan_reason *why)
{
	uint64_t ms = cfg->idle_timeout_ms, ka = ka_idle_ms(j), age;

	j->idle_since_ms = now;
	*why = JAN_IDLE_TIMEOUT;
	if (ka != 0 && ka < ms) {
		ms = ka;
		*why = JAN_KA_TIMEOUT;
	}
	if (cfg->max_conn_age_ms != 0) {
		age = now - j->born_ms;
		age = age >= cfg->max_conn_age_ms ? 0 :
		    cfg->max_conn_age_ms - age;
		if (age < ms) {
			ms = age;
			*why = JAN_MAX_AGE;
		}
	}
	return (unsigned)ms;
}

void
jan_count(struct server *srv, enum jan_reason r, uint64_t conn_id)
{
	if (r >= JAN_NREASONS)
		return;
	srv->expired[r]++;
	if (r == JAN_POOL_LINGER)
		log_debug("pool closed: %s", names[r]);
	else
		log_debug("conn %llu: closed: %s",
		    (unsigned long long)conn_id, names[r]);
}
