/*
 * load.c: owns the benchmark's closed-loop load generator on libhpool, and
 * the two memory probes of bench/run (idle sessions, idle pooled
 * connections).
 *
 *   load [opts] URL                 closed loop: -c sessions over -P
 *                                   processes for -d seconds; one JSON
 *                                   line with requests/s, latency
 *                                   percentiles and body bytes/s
 *   load --raw [opts] http://URL    the same loop, one blocking thread
 *                                   per plain HTTP/1.1 keep-alive
 *                                   connection, no libhpool (a client
 *                                   of the same shape for haproxy)
 *   load --sessions M [opts] URL    open M sessions (HELLO/OPEN done),
 *                                   print "ready M", hold them until a
 *                                   line or EOF on stdin, then close
 *   load --idle-conns N [opts] URL  make hpoold open N upstream
 *                                   connections (see idle_conns), then
 *                                   close every session: the connections
 *                                   stay in the pool, idle
 *
 * Each session is one hpool_conn used by one thread, as an application
 * would use HTTPConnection; a thread makes one request at a time, so the
 * number of requests in flight is exactly the number of sessions (a
 * closed loop, like wrk's connections).
 */
#include <sys/epoll.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netdb.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hpool.h"

/*
 * Latency histogram: 1 us buckets below 1024 us, then 64 buckets per
 * power of two (under 1.6% error), up to 2^40 us. Per thread, merged at
 * the end, so the hot loop takes no lock.
 */
#define HIST_LINEAR	1024
#define HIST_SUB	64
#define HIST_OCTAVES	31
#define HIST_N		(HIST_LINEAR + HIST_OCTAVES * HIST_SUB)

#define READ_CHUNK	(64 * 1024)
#define MAX_ERRORS	1000	/* per thread: a broken setup stops early */

struct url {
	int		 tls;
	char		 host[256];
	int		 port;
	char		 path[1024];
};

struct opts {
	struct url	 url;
	const char	*socket;
	const char	*cacert;
	int		 insecure;
	int		 conns;
	int		 procs;
	int		 event;		/* -m event: one poll loop per process */
	int		 raw;		/* --raw: plain HTTP over TCP, no libhpool */
	double		 duration;
	double		 timeout;
	long		 sessions;	/* --sessions */
	long		 idle_conns;	/* --idle-conns */
	long		 batch;		/* --batch */
	char		*sources;	/* --sources, comma separated */
};

/* One process's results, in memory shared with the parent. */
struct result {
	uint64_t	 requests;
	uint64_t	 errors;
	uint64_t	 body_bytes;
	uint64_t	 hist[HIST_N];
	char		 first_error[640];
};

struct worker {
	pthread_t	 tid;
	const struct opts *o;
	hpool_ssl_context *ctx;
	int		 nsess;		/* sessions this worker drives */
	struct timespec	 start;
	struct timespec	 end;
	uint64_t	 requests;
	uint64_t	 errors;
	uint64_t	 body_bytes;
	uint64_t	*hist;
	char		 first_error[640];
};

static void	usage(void);
static int	parse_url(const char *, struct url *);
static double	ts_sec(const struct timespec *);
static int	hist_bucket(uint64_t);
static uint64_t	hist_value(int);
static double	hist_percentile(const uint64_t *, uint64_t, double);
static int	make_ctx(const struct opts *, hpool_ssl_context **);
static int	conn_make(const struct opts *, hpool_ssl_context *,
		    const char *, hpool_conn **, struct hpool_error *);
static int	one_request(hpool_conn *, const char *, char *, uint64_t *,
		    char *, size_t);
static int	send_request(hpool_conn *, const char *, char *, size_t);
static int	read_response(hpool_conn *, char *, uint64_t *, char *,
		    size_t);
static int	read_some(hpool_conn *, hpool_response **, char *,
		    uint64_t *, char *, size_t);
static void	*worker_main(void *);
static void	*worker_event(void *);
static void	*worker_raw(void *);
static int	raw_connect(const struct url *, double);
static int	raw_request(int, const struct url *, char *, size_t,
		    uint64_t *, char *, size_t);
static int	run_process(const struct opts *, int nthreads,
		    struct timespec start, struct timespec end,
		    struct result *);
static int	closed_loop(const struct opts *);
static int	idle_sessions(const struct opts *);
static int	idle_conns(const struct opts *);

static void
usage(void)
{
	fprintf(stderr,
	    "usage: load [-S SOCKET] [-c SESSIONS] [-P PROCS] [-d SECONDS]\n"
	    "            [-m threads|event] [--raw]\n"
	    "            [--cacert FILE] [-k] [--timeout SECONDS] URL\n"
	    "       load --sessions M [-S SOCKET] [--cacert FILE] URL\n"
	    "       load --idle-conns N [--batch K] [--sources A,B,...]\n"
	    "            [-S SOCKET] [--cacert FILE] URL\n");
	exit(2);
}

static int
parse_url(const char *s, struct url *u)
{
	const char *p, *slash, *colon;
	size_t hlen;

	memset(u, 0, sizeof(*u));
	if (strncmp(s, "https://", 8) == 0) {
		u->tls = 1;
		u->port = 443;
		p = s + 8;
	} else if (strncmp(s, "http://", 7) == 0) {
		u->port = 80;
		p = s + 7;
	} else
		return -1;
	slash = strchr(p, '/');
	if (slash == NULL)
		slash = p + strlen(p);
	colon = memchr(p, ':', (size_t)(slash - p));
	hlen = (size_t)((colon != NULL ? colon : slash) - p);
	if (hlen == 0 || hlen >= sizeof(u->host))
		return -1;
	memcpy(u->host, p, hlen);
	if (colon != NULL)
		u->port = atoi(colon + 1);
	if (u->port <= 0 || u->port > 65535)
		return -1;
	snprintf(u->path, sizeof(u->path), "%s", *slash ? slash : "/");
	return 0;
}

static double
ts_sec(const struct timespec *t)
{
	return (double)t->tv_sec + (double)t->tv_nsec / 1e9;
}

static int
hist_bucket(uint64_t us)
{
	int e;

	if (us < HIST_LINEAR)
		return (int)us;
	e = 63 - __builtin_clzll(us);		/* 10 and up */
	if (e - 10 >= HIST_OCTAVES)
		return HIST_N - 1;
	return HIST_LINEAR + (e - 10) * HIST_SUB +
	    (int)((us >> (e - 6)) & (HIST_SUB - 1));
}

/* The middle of bucket i, in microseconds. */
static uint64_t
hist_value(int i)
{
	int e, sub;

	if (i < HIST_LINEAR)
		return (uint64_t)i;
	e = (i - HIST_LINEAR) / HIST_SUB + 10;
	sub = (i - HIST_LINEAR) % HIST_SUB;
	return ((uint64_t)(HIST_SUB + sub) << (e - 6)) +
	    ((uint64_t)1 << (e - 7));
}

static double
hist_percentile(const uint64_t *h, uint64_t n, double pct)
{
	uint64_t want, seen = 0;
	int i;

	if (n == 0)
		return 0;
	want = (uint64_t)((double)n * pct / 100.0);
	if (want >= n)
		want = n - 1;
	for (i = 0; i < HIST_N; i++) {
		seen += h[i];
		if (seen > want)
			return (double)hist_value(i) / 1000.0;
	}
	return (double)hist_value(HIST_N - 1) / 1000.0;
}

/* The TLS context the hpool CLI makes for --cacert / -k. */
static int
make_ctx(const struct opts *o, hpool_ssl_context **out)
{
	static const char *const http11[] = { "http/1.1" };
	struct hpool_error e;
	hpool_ssl_context *ctx = NULL;

	*out = NULL;
	if (!o->url.tls)
		return 0;
	if ((o->cacert != NULL ? hpool_ssl_context_new(&ctx, &e) :
	    hpool_ssl_context_new_default(&ctx, &e)) != HPOOL_OK ||
	    hpool_ssl_context_set_alpn_protocols(ctx, http11, 1, &e) !=
	    HPOOL_OK)
		goto fail;
	if (o->insecure &&
	    (hpool_ssl_context_set_check_hostname(ctx, 0, &e) != HPOOL_OK ||
	    hpool_ssl_context_set_verify_mode(ctx, HPOOL_CERT_NONE, &e) !=
	    HPOOL_OK))
		goto fail;
	if (o->cacert != NULL && hpool_ssl_context_load_verify_locations(ctx,
	    o->cacert, NULL, NULL, 0, &e) != HPOOL_OK)
		goto fail;
	*out = ctx;
	return 0;
fail:
	fprintf(stderr, "load: TLS context: %s: %s\n",
	    hpool_error_name(e.code), e.message);
	hpool_ssl_context_free(ctx);
	return -1;
}

static int
conn_make(const struct opts *o, hpool_ssl_context *ctx, const char *source,
    hpool_conn **out, struct hpool_error *e)
{
	struct hpool_https_opts ho = HPOOL_HTTPS_OPTS_INIT;

	ho.conn.timeout = o->timeout;
	ho.conn.socket_path = o->socket;
	ho.conn.source_host = source;
	if (o->url.tls)
		return hpool_https_conn_new(out, o->url.host, o->url.port, &ho,
		    ctx, e);
	return hpool_conn_new(out, o->url.host, o->url.port, &ho.conn, e);
}

/* GET path and read the whole body. 0 on a 200 answer read to its end. */
static int
one_request(hpool_conn *c, const char *path, char *buf, uint64_t *bytes,
    char *why, size_t whylen)
{
	if (send_request(c, path, why, whylen) == -1)
		return -1;
	return read_response(c, buf, bytes, why, whylen);
}

/* request("GET", path): the request is on its way to hpoold. */
static int
send_request(hpool_conn *c, const char *path, char *why, size_t whylen)
{
	int rc;

	if ((rc = hpool_conn_request(c, "GET", path, NULL, 0, NULL, 0)) !=
	    HPOOL_OK) {
		snprintf(why, whylen, "%s: %s", hpool_error_name(rc),
		    hpool_conn_error(c)->message);
		return -1;
	}
	return 0;
}

/* getresponse() and read() to the end: 0 on a 200 answer. */
static int
read_response(hpool_conn *c, char *buf, uint64_t *bytes, char *why,
    size_t whylen)
{
	hpool_response *r = NULL;
	size_t n;
	int rc, status;

	if ((rc = hpool_conn_getresponse(c, &r)) != HPOOL_OK)
		goto fail;
	status = hpool_response_status(r);
	do {
		if ((rc = hpool_response_read(r, buf, READ_CHUNK, &n)) !=
		    HPOOL_OK)
			goto fail;
		*bytes += n;
	} while (n > 0);
	hpool_response_free(r);
	if (status != 200) {
		snprintf(why, whylen, "HTTP status %d", status);
		return -1;
	}
	return 0;
fail:
	snprintf(why, whylen, "%s: %s", hpool_error_name(rc),
	    hpool_conn_error(c)->message);
	hpool_response_free(r);
	return -1;
}

/*
 * -m event: take what has come for c's response without waiting for more
 * (as a wrk thread reads what a socket has): getresponse() when *rp is
 * NULL, then read1() while hpool_response_ready() says it will not
 * wait. 1: the response is whole (*rp freed), 0: poll again, -1: error.
 */
static int
read_some(hpool_conn *c, hpool_response **rp, char *buf, uint64_t *bytes,
    char *why, size_t whylen)
{
	size_t n;
	int rc, first = 0;

	if (*rp == NULL) {
		if ((rc = hpool_conn_getresponse(c, rp)) != HPOOL_OK) {
			snprintf(why, whylen, "%s: %s", hpool_error_name(rc),
			    hpool_conn_error(c)->message);
			return -1;
		}
		if (hpool_response_status(*rp) != 200) {
			snprintf(why, whylen, "HTTP status %d",
			    hpool_response_status(*rp));
			hpool_response_free(*rp);
			*rp = NULL;
			return -1;
		}
		first = 1;
	}
	/* the socket was readable: one read1() takes what came; after
	 * getresponse() only what is buffered is taken */
	while (!first || hpool_response_ready(*rp)) {
		first = 1;
		if ((rc = hpool_response_read1(*rp, buf, READ_CHUNK, &n)) !=
		    HPOOL_OK) {
			snprintf(why, whylen, "%s: %s", hpool_error_name(rc),
			    hpool_response_error(*rp)->message);
			hpool_response_free(*rp);
			*rp = NULL;
			return -1;
		}
		if (n == 0) {
			hpool_response_free(*rp);
			*rp = NULL;
			return 1;
		}
		*bytes += n;
	}
	return 0;
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	const struct opts *o = w->o;
	struct hpool_error e;
	struct timespec t0, t1;
	hpool_conn *c = NULL;
	char *buf, why[640];
	uint64_t us;

	if ((buf = malloc(READ_CHUNK)) == NULL) {
		w->errors++;
		return NULL;
	}
	/* The session is opened before the clock starts (it costs one
	 * Unix-socket round trip); upstream connections open inside the
	 * measured window, as wrk's do. */
	if (conn_make(o, w->ctx, NULL, &c, &e) != HPOOL_OK ||
	    hpool_conn_connect(c) != HPOOL_OK) {
		snprintf(w->first_error, sizeof(w->first_error), "%s: %s",
		    hpool_error_name(c ? hpool_conn_error(c)->code : e.code),
		    c ? hpool_conn_error(c)->message : e.message);
		w->errors++;
		hpool_conn_free(c);
		free(buf);
		return NULL;
	}
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &w->start,
	    NULL) == EINTR)
		;
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (ts_sec(&t0) >= ts_sec(&w->end) || w->errors >= MAX_ERRORS)
			break;
		if (one_request(c, o->url.path, buf, &w->body_bytes, why,
		    sizeof(why)) == -1) {
			if (w->errors++ == 0)
				snprintf(w->first_error,
				    sizeof(w->first_error), "%s", why);
			/* Start over on a fresh session, as a caller would. */
			hpool_conn_close(c);
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		us = (uint64_t)((ts_sec(&t1) - ts_sec(&t0)) * 1e6 + 0.5);
		w->hist[hist_bucket(us)]++;
		w->requests++;
	}
	hpool_conn_free(c);
	free(buf);
	return NULL;
}

/*
 * -m event: this thread drives w->nsess sessions at once, as a wrk thread
 * drives its connections: every session has one request in flight; epoll
 * says whose response has bytes, read_some() takes what has come
 * (read1() while hpool_response_ready()), and once the body has ended the
 * session's next request goes out. A 1 MiB body is thus read as it
 * arrives, interleaved with the other sessions', never waited for whole.
 */
static void *
worker_event(void *arg)
{
	struct worker *w = arg;
	const struct opts *o = w->o;
	struct hpool_error e;
	struct epoll_event ev, *evs = NULL;
	struct timespec now, *t0 = NULL;
	hpool_conn **c;
	hpool_response **resp = NULL;
	char *buf = NULL, why[640];
	uint64_t us;
	int i, k, n = w->nsess, ms, nev, fd, epfd, *fds = NULL, *due = NULL;
	int rc;

	c = calloc((size_t)n, sizeof(*c));
	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) == -1 || c == NULL ||
	    (resp = calloc((size_t)n, sizeof(*resp))) == NULL ||
	    (evs = calloc((size_t)n, sizeof(*evs))) == NULL ||
	    (t0 = calloc((size_t)n, sizeof(*t0))) == NULL ||
	    (fds = calloc((size_t)n, sizeof(*fds))) == NULL ||
	    (due = calloc((size_t)n, sizeof(*due))) == NULL ||
	    (buf = malloc(READ_CHUNK)) == NULL) {
		w->errors++;
		goto out;
	}
	for (i = 0; i < n; i++) {
		fds[i] = -1;
		if (conn_make(o, w->ctx, NULL, &c[i], &e) != HPOOL_OK ||
		    hpool_conn_connect(c[i]) != HPOOL_OK) {
			snprintf(w->first_error, sizeof(w->first_error),
			    "%s: %s", hpool_error_name(c[i] ?
			    hpool_conn_error(c[i])->code : e.code),
			    c[i] ? hpool_conn_error(c[i])->message :
			    e.message);
			w->errors++;
			goto out;
		}
		due[i] = 1;		/* a request is to be sent */
	}
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &w->start,
	    NULL) == EINTR)
		;
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (ts_sec(&now) >= ts_sec(&w->end) ||
		    w->errors >= MAX_ERRORS)
			break;
		for (i = 0; i < n; i++) {
			if (!due[i])
				continue;
			/* after an error: open the session first, so that
			 * its socket turns readable for the response only */
			if (hpool_conn_fileno(c[i]) == -1 &&
			    hpool_conn_connect(c[i]) != HPOOL_OK) {
				if (w->errors++ == 0)
					snprintf(w->first_error,
					    sizeof(w->first_error), "%s: %s",
					    hpool_error_name(hpool_conn_error(
					    c[i])->code),
					    hpool_conn_error(c[i])->message);
				hpool_conn_close(c[i]);
				continue;
			}
			clock_gettime(CLOCK_MONOTONIC, &t0[i]);
			if (send_request(c[i], o->url.path, why,
			    sizeof(why)) == -1) {
				if (w->errors++ == 0)
					snprintf(w->first_error,
					    sizeof(w->first_error), "%s", why);
				hpool_conn_close(c[i]);
				continue;	/* still due: sent again */
			}
			due[i] = 0;
			/* a new session (after an error) has a new socket */
			if ((fd = hpool_conn_fileno(c[i])) != fds[i]) {
				memset(&ev, 0, sizeof(ev));
				ev.events = EPOLLIN;
				ev.data.u32 = (uint32_t)i;
				if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) ==
				    -1) {
					w->errors++;
					goto out;
				}
				fds[i] = fd;
			}
		}
		ms = (int)((ts_sec(&w->end) - ts_sec(&now)) * 1000) + 1;
		nev = epoll_wait(epfd, evs, n, ms > 1000 ? 1000 : ms);
		if (nev == -1 && errno != EINTR) {
			w->errors++;
			break;
		}
		for (k = 0; k < nev; k++) {
			i = (int)evs[k].data.u32;
			rc = read_some(c[i], &resp[i], buf, &w->body_bytes, why,
			    sizeof(why));
			if (rc == 0)
				continue;	/* more of the body to come */
			due[i] = 1;
			if (rc == -1) {
				if (w->errors++ == 0)
					snprintf(w->first_error,
					    sizeof(w->first_error), "%s", why);
				(void)epoll_ctl(epfd, EPOLL_CTL_DEL, fds[i],
				    NULL);
				fds[i] = -1;
				hpool_conn_close(c[i]);
				continue;
			}
			clock_gettime(CLOCK_MONOTONIC, &now);
			us = (uint64_t)((ts_sec(&now) - ts_sec(&t0[i])) *
			    1e6 + 0.5);
			w->hist[hist_bucket(us)]++;
			w->requests++;
		}
	}
out:
	for (i = 0; resp != NULL && i < n; i++)
		hpool_response_free(resp[i]);
	for (i = 0; c != NULL && i < n; i++)
		hpool_conn_free(c[i]);
	free(resp);
	if (epfd != -1)
		close(epfd);
	free(c);
	free(evs);
	free(t0);
	free(fds);
	free(due);
	free(buf);
	return NULL;
}

/*
 * --raw (with -m threads): the same closed loop without libhpool or
 * hpoold: one blocking thread per keep-alive HTTP/1.1 connection to the
 * URL (plain http://, e.g. haproxy's frontend), GET and the whole body per
 * request. It gives a proxy the client shape that hpool_threads gives
 * hpoold, so the two can be compared as well as the event-loop shapes.
 */
static void *
worker_raw(void *arg)
{
	struct worker *w = arg;
	const struct opts *o = w->o;
	struct timespec t0, t1;
	char *buf, why[640];
	uint64_t us;
	int fd;

	if ((buf = malloc(READ_CHUNK)) == NULL) {
		w->errors++;
		return NULL;
	}
	fd = raw_connect(&o->url, o->timeout);
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &w->start,
	    NULL) == EINTR)
		;
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (ts_sec(&t0) >= ts_sec(&w->end) || w->errors >= MAX_ERRORS)
			break;
		if (fd == -1 && (fd = raw_connect(&o->url, o->timeout)) ==
		    -1) {
			if (w->errors++ == 0)
				snprintf(w->first_error,
				    sizeof(w->first_error), "connect: %s",
				    strerror(errno));
			continue;
		}
		if (raw_request(fd, &o->url, buf, READ_CHUNK, &w->body_bytes,
		    why, sizeof(why)) == -1) {
			if (w->errors++ == 0)
				snprintf(w->first_error,
				    sizeof(w->first_error), "%s", why);
			close(fd);
			fd = -1;
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		us = (uint64_t)((ts_sec(&t1) - ts_sec(&t0)) * 1e6 + 0.5);
		w->hist[hist_bucket(us)]++;
		w->requests++;
	}
	if (fd != -1)
		close(fd);
	free(buf);
	return NULL;
}

static int
raw_connect(const struct url *u, double timeout)
{
	struct addrinfo hints, *ai;
	struct timeval tv;
	char port[8];
	int fd, one = 1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	snprintf(port, sizeof(port), "%d", u->port);
	if (getaddrinfo(u->host, port, &hints, &ai) != 0)
		return -1;
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	tv.tv_sec = (time_t)timeout;
	tv.tv_usec = (suseconds_t)((timeout - (double)tv.tv_sec) * 1e6);
	if (fd == -1 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv,
	    sizeof(tv)) == -1 || setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO,
	    &tv, sizeof(tv)) == -1 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) ==
	    -1 || connect(fd, ai->ai_addr, ai->ai_addrlen) == -1) {
		if (fd != -1)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

/* GET u->path on fd and read the answer: 0 on a 200 with a
 * Content-Length body read whole. */
static int
raw_request(int fd, const struct url *u, char *buf, size_t cap,
    uint64_t *bytes, char *why, size_t whylen)
{
	char req[1400], *end, *cl;
	size_t have = 0, hlen;
	long long left;
	ssize_t n;
	int len;

	len = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s:%d\r\n"
	    "\r\n", u->path, u->host, u->port);
	if (len < 0 || (size_t)len >= sizeof(req) ||
	    send(fd, req, (size_t)len, MSG_NOSIGNAL) != len) {
		snprintf(why, whylen, "send: %s", strerror(errno));
		return -1;
	}
	for (;;) {
		if (have == cap - 1) {
			snprintf(why, whylen, "response head too large");
			return -1;
		}
		if ((n = recv(fd, buf + have, cap - 1 - have, 0)) <= 0) {
			snprintf(why, whylen, "recv: %s", n == 0 ?
			    "connection closed" : strerror(errno));
			return -1;
		}
		have += (size_t)n;
		buf[have] = '\0';
		if ((end = strstr(buf, "\r\n\r\n")) != NULL)
			break;
	}
	hlen = (size_t)(end + 4 - buf);
	*end = '\0';
	if (strncmp(buf, "HTTP/1.1 200 ", 13) != 0 ||
	    (cl = strcasestr(buf, "\r\ncontent-length:")) == NULL) {
		snprintf(why, whylen, "not a 200 with Content-Length: %.60s",
		    buf);
		return -1;
	}
	left = atoll(cl + 17) - (long long)(have - hlen);
	*bytes += have - hlen;
	while (left > 0) {
		n = recv(fd, buf, cap < (size_t)left ? cap : (size_t)left, 0);
		if (n <= 0) {
			snprintf(why, whylen, "recv body: %s", n == 0 ?
			    "connection closed" : strerror(errno));
			return -1;
		}
		left -= n;
		*bytes += (uint64_t)n;
	}
	if (left < 0) {
		snprintf(why, whylen, "more bytes than Content-Length");
		return -1;
	}
	return 0;
}

static int
run_process(const struct opts *o, int nthreads, struct timespec start,
    struct timespec end, struct result *res)
{
	struct worker *w;
	hpool_ssl_context *ctx;
	int i, j, nsess = 1, started = 0;

	if (!o->raw && make_ctx(o, &ctx) == -1)
		return -1;
	if (o->raw)
		ctx = NULL;
	if (o->event) {
		/* one thread drives every session of this process */
		nsess = nthreads;
		nthreads = 1;
	}
	if ((w = calloc((size_t)nthreads, sizeof(*w))) == NULL)
		return -1;
	for (i = 0; i < nthreads; i++) {
		w[i].o = o;
		w[i].nsess = nsess;
		w[i].ctx = ctx;
		w[i].start = start;
		w[i].end = end;
		if ((w[i].hist = calloc(HIST_N, sizeof(uint64_t))) == NULL)
			break;
		if (pthread_create(&w[i].tid, NULL, o->raw ? worker_raw :
		    o->event ? worker_event : worker_main, &w[i]) != 0) {
			free(w[i].hist);
			break;
		}
		started++;
	}
	for (i = 0; i < started; i++) {
		pthread_join(w[i].tid, NULL);
		res->requests += w[i].requests;
		res->errors += w[i].errors;
		res->body_bytes += w[i].body_bytes;
		for (j = 0; j < HIST_N; j++)
			res->hist[j] += w[i].hist[j];
		if (res->first_error[0] == '\0' && w[i].first_error[0])
			memcpy(res->first_error, w[i].first_error,
			    sizeof(res->first_error));
		free(w[i].hist);
	}
	if (started < nthreads)
		res->errors += (uint64_t)(nthreads - started);
	free(w);
	hpool_ssl_context_free(ctx);
	return 0;
}

static int
closed_loop(const struct opts *o)
{
	struct result *res, total;
	struct timespec start, end;
	struct rusage ru;
	pid_t *pids;
	double secs, cpu;
	int i, j, status, per, extra, failed = 0;
	size_t shsize = (size_t)o->procs * sizeof(struct result);

	res = mmap(NULL, shsize, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (res == MAP_FAILED || (pids = calloc((size_t)o->procs,
	    sizeof(*pids))) == NULL) {
		perror("load: mmap");
		return 1;
	}
	memset(res, 0, shsize);
	/* Every thread of every process starts at the same instant, once
	 * all sessions are open. */
	clock_gettime(CLOCK_MONOTONIC, &start);
	start.tv_nsec += 500 * 1000000L;
	if (start.tv_nsec >= 1000000000L) {
		start.tv_sec++;
		start.tv_nsec -= 1000000000L;
	}
	end = start;
	end.tv_sec += (time_t)o->duration;
	end.tv_nsec += (long)((o->duration - (double)(time_t)o->duration) *
	    1e9);
	if (end.tv_nsec >= 1000000000L) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000L;
	}
	per = o->conns / o->procs;
	extra = o->conns % o->procs;
	fflush(NULL);
	for (i = 0; i < o->procs; i++) {
		if ((pids[i] = fork()) == -1) {
			perror("load: fork");
			failed = 1;
			break;
		}
		if (pids[i] == 0)
			_exit(run_process(o, per + (i < extra), start, end,
			    &res[i]) == 0 ? 0 : 1);
	}
	for (j = 0; j < i; j++)
		if (waitpid(pids[j], &status, 0) == -1 || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			failed = 1;
	memset(&total, 0, sizeof(total));
	for (i = 0; i < o->procs; i++) {
		total.requests += res[i].requests;
		total.errors += res[i].errors;
		total.body_bytes += res[i].body_bytes;
		for (j = 0; j < HIST_N; j++)
			total.hist[j] += res[i].hist[j];
		if (total.first_error[0] == '\0' && res[i].first_error[0])
			memcpy(total.first_error, res[i].first_error,
			    sizeof(total.first_error));
	}
	getrusage(RUSAGE_CHILDREN, &ru);
	cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	secs = o->duration;
	printf("{\"sessions\": %d, \"processes\": %d, \"duration_s\": %.3f, "
	    "\"requests\": %llu, \"errors\": %llu, \"rps\": %.1f, "
	    "\"body_bytes\": %llu, \"body_bytes_per_s\": %.1f, "
	    "\"p50_ms\": %.3f, \"p90_ms\": %.3f, \"p99_ms\": %.3f, "
	    "\"max_ms\": %.3f, \"client_cpu_s\": %.3f, "
	    "\"first_error\": \"", o->conns, o->procs, secs,
	    (unsigned long long)total.requests,
	    (unsigned long long)total.errors, (double)total.requests / secs,
	    (unsigned long long)total.body_bytes,
	    (double)total.body_bytes / secs,
	    hist_percentile(total.hist, total.requests, 50),
	    hist_percentile(total.hist, total.requests, 90),
	    hist_percentile(total.hist, total.requests, 99),
	    hist_percentile(total.hist, total.requests, 100), cpu);
	for (i = 0; total.first_error[i] != '\0'; i++)
		if (total.first_error[i] == '"' || total.first_error[i] == '\\' ||
		    (unsigned char)total.first_error[i] < 0x20)
			putchar('?');
		else
			putchar(total.first_error[i]);
	printf("\"}\n");
	munmap(res, shsize);
	free(pids);
	return failed || total.requests == 0 ? 1 : 0;
}

/* Wait for a line (or EOF) on stdin: bench/run reads hpoold's memory
 * meanwhile. */
static void
hold(long n)
{
	char line[64];

	printf("ready %ld\n", n);
	fflush(stdout);
	(void)fgets(line, sizeof(line), stdin);
}

static int
idle_sessions(const struct opts *o)
{
	hpool_ssl_context *ctx;
	hpool_conn **c;
	long i, n = 0;
	int rc = 0;

	if (make_ctx(o, &ctx) == -1 ||
	    (c = calloc((size_t)o->sessions, sizeof(*c))) == NULL)
		return 1;
	for (i = 0; i < o->sessions; i++) {
		struct hpool_error e;

		if (conn_make(o, ctx, NULL, &c[i], &e) != HPOOL_OK ||
		    hpool_conn_connect(c[i]) != HPOOL_OK) {
			fprintf(stderr, "load: session %ld: %s\n", i,
			    c[i] ? hpool_conn_error(c[i])->message : e.message);
			rc = 1;
			break;
		}
		n++;
	}
	hold(n);
	for (i = 0; i < o->sessions; i++)
		hpool_conn_free(c[i]);
	free(c);
	hpool_ssl_context_free(ctx);
	return rc;
}

/*
 * Make hpoold open N upstream connections and leave them idle. A pool
 * opens a connection for each request waiting beyond those already
 * connecting, so each batch puts K requests in flight at once on K
 * sessions; the URL is one the server answers slowly (bench/run's nginx
 * rate-limits it), so no connection comes back to the pool to serve the
 * next request of the batch. Each batch uses its own source address
 * (--sources), hence its own pool key: a later batch does not find the
 * earlier batch's connections idle. Then every session closes; the
 * connections stay pooled. Batches keep the daemon's file descriptors
 * (sessions + connections) under its limit.
 */
static int
idle_conns(const struct opts *o)
{
	hpool_ssl_context *ctx;
	hpool_conn **c;
	hpool_response *r;
	char *buf, *src, *save = NULL, *sources;
	long done = 0, k, i, n, ok = 0, failed = 0;
	uint64_t bytes = 0;
	size_t got;

	sources = strdup(o->sources ? o->sources : "127.0.0.1");
	if (sources == NULL || make_ctx(o, &ctx) == -1 ||
	    (c = calloc((size_t)o->batch, sizeof(*c))) == NULL ||
	    (buf = malloc(READ_CHUNK)) == NULL)
		return 1;
	src = strtok_r(sources, ",", &save);
	while (done < o->idle_conns) {
		if (src == NULL) {
			fprintf(stderr, "load: not enough --sources for %ld "
			    "connections in batches of %ld\n", o->idle_conns,
			    o->batch);
			break;
		}
		k = o->idle_conns - done < o->batch ? o->idle_conns - done :
		    o->batch;
		/* Sessions first (a round trip each), then the requests in
		 * one burst: they all wait in the pool before the first new
		 * connection is up. */
		for (n = 0; n < k; n++) {
			struct hpool_error e;

			if (conn_make(o, ctx, src, &c[n], &e) != HPOOL_OK ||
			    hpool_conn_connect(c[n]) != HPOOL_OK) {
				fprintf(stderr, "load: idle conn %ld: %s\n",
				    done + n, c[n] ? hpool_conn_error(c[n])->
				    message : e.message);
				if (c[n] == NULL)
					break;
				hpool_conn_free(c[n]);
				c[n] = NULL;
				failed++;
			}
		}
		for (i = 0; i < n; i++)
			if (c[i] != NULL && hpool_conn_request(c[i], "GET",
			    o->url.path, NULL, 0, NULL, 0) != HPOOL_OK) {
				fprintf(stderr, "load: idle conn %ld: %s\n",
				    done + i, hpool_conn_error(c[i])->message);
				hpool_conn_free(c[i]);
				c[i] = NULL;
				failed++;
			}
		for (i = 0; i < n; i++) {
			if (c[i] == NULL)
				continue;
			r = NULL;
			if (hpool_conn_getresponse(c[i], &r) == HPOOL_OK) {
				do {
					if (hpool_response_read(r, buf,
					    READ_CHUNK, &got) != HPOOL_OK)
						break;
					bytes += got;
				} while (got > 0);
				if (hpool_response_status(r) == 200)
					ok++;
				else
					failed++;
			} else {
				if (failed++ == 0)
					fprintf(stderr, "load: idle conn: %s\n",
					    hpool_conn_error(c[i])->message);
			}
			hpool_response_free(r);
		}
		for (i = 0; i < n; i++) {
			hpool_conn_free(c[i]);
			c[i] = NULL;
		}
		done += k;
		fprintf(stderr, "load: %ld requests in flight on %s\n", k, src);
		src = strtok_r(NULL, ",", &save);
	}
	printf("{\"requests\": %ld, \"ok\": %ld, \"failed\": %ld, "
	    "\"body_bytes\": %llu}\n", done, ok, failed,
	    (unsigned long long)bytes);
	free(buf);
	free(c);
	free(sources);
	hpool_ssl_context_free(ctx);
	return failed > 0 && ok == 0;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 'S' },
		{ "conns", required_argument, NULL, 'c' },
		{ "procs", required_argument, NULL, 'P' },
		{ "duration", required_argument, NULL, 'd' },
		{ "mode", required_argument, NULL, 'm' },
		{ "raw", no_argument, NULL, 'W' },
		{ "cacert", required_argument, NULL, 'C' },
		{ "insecure", no_argument, NULL, 'k' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "sessions", required_argument, NULL, 'M' },
		{ "idle-conns", required_argument, NULL, 'N' },
		{ "batch", required_argument, NULL, 'B' },
		{ "sources", required_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o;
	int ch;

	memset(&o, 0, sizeof(o));
	o.conns = 64;
	o.procs = 2;
	o.duration = 10;
	o.timeout = 60;
	o.batch = 5000;
	while ((ch = getopt_long(argc, argv, "S:c:P:d:km:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'S': o.socket = optarg; break;
		case 'c': o.conns = atoi(optarg); break;
		case 'P': o.procs = atoi(optarg); break;
		case 'd': o.duration = atof(optarg); break;
		case 'W': o.raw = 1; break;
		case 'm':
			if (strcmp(optarg, "event") == 0)
				o.event = 1;
			else if (strcmp(optarg, "threads") == 0)
				o.event = 0;
			else
				usage();
			break;
		case 'C': o.cacert = optarg; break;
		case 'k': o.insecure = 1; break;
		case 'T': o.timeout = atof(optarg); break;
		case 'M': o.sessions = atol(optarg); break;
		case 'N': o.idle_conns = atol(optarg); break;
		case 'B': o.batch = atol(optarg); break;
		case 'R': o.sources = optarg; break;
		default: usage();
		}
	}
	if (optind != argc - 1 || parse_url(argv[optind], &o.url) == -1 ||
	    o.conns < 1 || o.procs < 1 || o.procs > o.conns ||
	    o.duration <= 0 || o.duration > 3600 || o.timeout <= 0 ||
	    o.batch < 1 || o.sessions < 0 || o.idle_conns < 0 ||
	    (o.raw && (o.event || o.url.tls || o.sessions || o.idle_conns)))
		usage();
	signal(SIGPIPE, SIG_IGN);
	if (o.sessions > 0)
		return idle_sessions(&o);
	if (o.idle_conns > 0)
		return idle_conns(&o);
	return closed_loop(&o);
}
