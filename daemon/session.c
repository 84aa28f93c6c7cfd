/* session.c: owns a client session: reading and checking frames, the
 * session state machine, and streaming responses back as frames. */
#include "hpool_autoconf.h"

#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <openssl/ssl.h>

#include "access.h"
#include "control.h"
#include "hpool_error.h"
#include "http_parse.h"
#include "http_req.h"
#include "policy.h"
#include "quota.h"
#include "route.h"
#include "log.h"
#include "pool.h"
#include "proto.h"
#include "server.h"
#include "session.h"
#include "stats.h"
#include "stream.h"
#include "tls.h"
#include "upstream.h"

/*
 * Backpressure toward the client: the upstream connection pauses once the
 * client has SESS_OUT_HIGH bytes queued (upstream.c checks), and resumes
 * when the socket drains under SESS_OUT_LOW (write_cb). Client frames wait
 * in the input buffer while the upstream socket has UP_OUT_HIGH queued,
 * and between requests while the client has SESS_OUT_HIGH queued.
 */
#define SESS_OUT_LOW	(64 * 1024)
#define SESS_OUT_HIGH	(256 * 1024)
#define SESS_IN_HIGH	(256 * 1024)
#define UP_OUT_HIGH	(256 * 1024)

static void	read_cb(struct stream *, void *);
static void	write_cb(struct stream *, void *);
static void	event_cb(struct stream *, short, void *);
static void	defer_cb(evutil_socket_t, short, void *);
static void	process(struct session *);
/* what upstream.c calls back, through owner_ops */
static void	sess_upstream_writable(struct session *);
static void	sess_resp_head(struct session *, const struct hp_head *);
/* moves len bytes from the front of the given buffer to the client */
static void	sess_resp_body(struct session *, struct evbuffer *, size_t);
static size_t	sess_output_len(const struct session *);
/* the upstream connection failed before any response byte on a reused
 * connection: 1 if the session took the request back to retry it (it was
 * certainly not sent, or it may be replayed) */
static int	sess_retry(struct session *, int sent);
static void	sess_resp_end(struct session *, uint8_t flags);
static unsigned	sess_io_timeout(const struct session *);
static void	process_frames(struct session *);
static void	frame_cut(struct session *);
static int	handle_frame(struct session *, uint8_t, const uint8_t *,
		    size_t);
static int	on_hello(struct session *, const uint8_t *, size_t);
static int	tunnel_headers_ok(const struct proto_open *);
static int	on_open(struct session *, const uint8_t *, size_t);
static int	on_stats(struct session *, const uint8_t *, size_t);
static int	on_req_head(struct session *, const uint8_t *, size_t);
static int	on_req_body(struct session *, const uint8_t *, size_t);
static int	on_req_end(struct session *);
static void	send_error(struct session *, int, const char *, uint64_t,
		    int64_t, int);
static void	send_error_at(struct session *, int, const char *, uint64_t,
		    int64_t, int, const char *);
static void	refuse_at_accept(int, const char *);
static void	log_refusal(struct server *, const char *, pid_t);
static void	protocol_error(struct session *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	set_state(struct session *, enum sess_state);
static void	request_over(struct session *);
static void	sess_close(struct session *);
static void	sess_free(struct session *);
static void	schedule(struct session *);
static void	req_log(struct session *, int);
static void	open_log(struct session *, const struct proto_open *,
		    const struct route *, int);


static const char *const state_names[] = {
	"HELLO", "OPEN", "IDLE", "WAITING", "ACTIVE", "DRAIN", "STATS",
	"CLOSING",
};

void
sess_accept(struct server *srv, int fd)
{
	struct session *s;
	struct ucred cred;
	socklen_t clen = sizeof(cred);

	char why[160];

	if (srv->draining) {
		refuse_at_accept(fd, "hpoold: shutting down");
		return;
	}
	/* Who it is comes from the kernel, never from the caller's words;
	 * without it the caller cannot be held to its limits. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == -1) {
		log_warn("refusing session: SO_PEERCRED: %s", strerror(errno));
		close(fd);
		return;
	}
	if (quota_session_take(cred.uid, &srv->cfg, why, sizeof(why)) == -1) {
		log_refusal(srv, why, cred.pid);
		refuse_at_accept(fd, why);
		return;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		quota_session_put(cred.uid);
		close(fd);
		return;
	}
	s->srv = srv;
	s->id = ++srv->stats.sessions;
	s->peer_pid = cred.pid;
	s->peer_uid = cred.uid;
	s->peer_gid = cred.gid;
	s->counted = 1;
	route_caller_init(&s->caller, cred.uid, cred.gid, cred.pid);
	event_base_gettimeofday_cached(srv->base, &s->born);
	s->st = stream_new(srv->base, fd);
	s->head = evbuffer_new();
	s->defer = evtimer_new(srv->base, defer_cb, s);
	if (s->st == NULL || s->head == NULL || s->defer == NULL) {
		if (s->st == NULL)
			close(fd);
		sess_free(s);
		return;
	}
	TAILQ_INSERT_TAIL(&srv->sessions, s, entry);
	srv->nsessions++;
	s->read_high = SESS_IN_HIGH;
	stream_setcb(s->st, read_cb, write_cb, event_cb, s);
	stream_set_watermarks(s->st, s->read_high, SESS_OUT_LOW);
	set_state(s, SESS_HELLO);
	stream_read_enable(s->st, 1);
	log_debug("session %llu: pid %d uid %d gid %d",
	    (unsigned long long)s->id, (int)s->peer_pid, (int)s->peer_uid,
	    (int)s->peer_gid);
}

/* A caller hammering at a limit gets a warning a second, not a line per
 * attempt: the log must not become the next thing it exhausts. */
static void
log_refusal(struct server *srv, const char *why, pid_t pid)
{
	struct timeval now;

	evutil_gettimeofday(&now, NULL);
	srv->refused++;
	if (now.tv_sec == srv->refused_logged_at)
		return;
	log_warn("refusing sessions: %s (pid %d; %llu refused so far)", why,
	    (int)pid, (unsigned long long)srv->refused);
	srv->refused_logged_at = now.tv_sec;
}

/*
 * A session refused before HELLO: one ERROR frame (version 1's layout, as
 * nothing was negotiated) that libhpool reads in place of HELLO_OK, then
 * close. The frame is small and the socket new: it fits, or is dropped.
 */
static void
refuse_at_accept(int fd, const char *why)
{
	struct proto_wbuf w;
	struct proto_error e;
	const char *name = hpool_error_name(HPOOL_E_POLICY);

	memset(&e, 0, sizeof(e));
	e.code = HPOOL_E_POLICY;
	e.name.p = name;
	e.name.len = strlen(name);
	e.message.p = why;
	e.message.len = strlen(why);
	e.expected = -1;
	proto_wbuf_init(&w);
	if (proto_enc_error(&w, &e, 1) == 0 &&
	    send(fd, w.data, w.len, MSG_DONTWAIT | MSG_NOSIGNAL) == -1)
		log_debug("refused session: %s", strerror(errno));
	proto_wbuf_free(&w);
	close(fd);
}

/* A request waiting for a connection (a free place at max_per_host, then
 * the connect) waits as long as the caller's connect timeout: Python's
 * timeout bounds create_connection, and this wait stands in for it. */
static void
wait_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	struct pool *p = s->pool;

	struct session *w;
	unsigned ahead = 0;
	struct timeval again = { 0, 100 * 1000 };
	char detail[PROTO_DETAIL_MAX];

	(void)fd;
	(void)what;
	if (s->state != SESS_WAITING)
		return;
	/* A connection opening for it (one per waiter, first come) ends
	 * under its own connect timer, the same length, started a little
	 * later, with the stage's own words ("timed out waiting for the
	 * proxy's ..."): leave the end to it. */
	TAILQ_FOREACH(w, &p->waiters, wentry) {
		if (w == s)
			break;
		ahead++;
	}
	if (ahead < p->nconnecting) {
		evtimer_add(s->wait_timer, &again);
		return;
	}
	log_info("session %llu (pid %d): timed out after %u ms waiting for a "
	    "connection to %s (max_per_host %u: %u open, %u connecting, %u "
	    "waiting)", (unsigned long long)s->id, (int)s->peer_pid,
	    sess_connect_timeout(s), p->name, s->srv->cfg.max_per_host,
	    p->nidle + p->nactive, p->nconnecting, p->nwaiters);
	pool_dequeue(p, s);
	snprintf(detail, sizeof(detail), "waiting for a connection to %s, "
	    "max_per_host %u with %u open, %s connect timeout %g s", s->dest,
	    s->srv->cfg.max_per_host, p->nidle + p->nactive,
	    sess_connect_timeout(s) < s->srv->cfg.connect_timeout_ms ?
	    "the caller's" : "hpoold's", sess_connect_timeout(s) / 1000.0);
	sess_upstream_error(s, HPOOL_E_TIMEOUT, "timed out", 0, -1,
	    PROTO_SENT_NO, detail);
}

static void
wait_start(struct session *s)
{
	struct timeval tv;
	unsigned ms = sess_connect_timeout(s);

	if (s->wait_timer == NULL &&
	    (s->wait_timer = evtimer_new(s->srv->base, wait_cb, s)) == NULL)
		return;		/* unbounded, as the upstream timers still
				 * bound each connect */
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(s->wait_timer, &tv);
}

/* The one place the session state changes; timeouts follow the state. */
static void
set_state(struct session *s, enum sess_state st)
{
	const struct config *cfg = &s->srv->cfg;
	unsigned rms;

	log_debug("session %llu: %s -> %s", (unsigned long long)s->id,
	    state_names[s->state], state_names[st]);
	if (s->state == SESS_WAITING && st != SESS_WAITING &&
	    s->wait_timer != NULL)
		evtimer_del(s->wait_timer);
	s->state = st;
	if (st == SESS_WAITING)
		wait_start(s);
	if (s->st == NULL)
		return;
	switch (st) {
	case SESS_ACTIVE:
		/* Body frames are due until REQ_END; then only the client's
		 * next request, which waits for this one to finish. */
		rms = s->req_end ? 0 : sess_io_timeout(s);
		break;
	case SESS_HELLO:
	case SESS_OPEN:
	case SESS_DRAIN:
		rms = sess_io_timeout(s);	/* a frame is due */
		break;
	case SESS_IDLE:
		rms = cfg->session_idle_timeout_ms;
		break;
	default:
		rms = 0;	/* nothing is due from the client */
		break;
	}
	stream_set_timeouts(s->st, rms, cfg->client_write_timeout_ms);
}

/* A caller's timeout may be shorter than the daemon's, never longer: a
 * caller must not hold the daemon's memory and fds past its own limits. */
unsigned
sess_connect_timeout(const struct session *s)
{
	unsigned own = s->srv->cfg.connect_timeout_ms;

	if (s->has_timeout && s->timeout_ms > 0 && s->timeout_ms < own)
		return s->timeout_ms;
	return own;
}

static unsigned
sess_io_timeout(const struct session *s)
{
	unsigned own = s->srv->cfg.io_timeout_ms;

	if (s->has_timeout && s->timeout_ms > 0 && s->timeout_ms < own)
		return s->timeout_ms;
	return own;
}

static size_t
sess_output_len(const struct session *s)
{
	return evbuffer_get_length(stream_output(s->st));
}

/* How long a session accepted just before a drain has to show its first
 * bytes: libhpool sends HELLO, OPEN and the request in one write right
 * after connect(), so they are on their way. */
#define SESS_DRAIN_NEWBORN_MS	1000

/*
 * A drain waits for a request running (or waiting for a connection), for
 * a response whose tail is still queued for the client, and for a session
 * accepted just before that has its request, or the first bytes of one,
 * on the way: it was taken from the socket, so nobody else will serve
 * it. An idle session with nothing pending is not waited for.
 */
int
sess_busy(struct session *s)
{
	struct timeval now, age;
	int pending;

	if (s->state == SESS_WAITING || s->state == SESS_ACTIVE)
		return 1;
	if (s->st == NULL || s->state == SESS_CLOSING)
		return s->st != NULL && sess_output_len(s) > 0;
	if (sess_output_len(s) > 0)
		return 1;
	if (evbuffer_get_length(stream_input(s->st)) > 0 ||
	    (ioctl(stream_fd(s->st), FIONREAD, &pending) == 0 && pending > 0))
		return 1;
	if (s->state != SESS_HELLO)
		return 0;
	event_base_gettimeofday_cached(s->srv->base, &now);
	timersub(&now, &s->born, &age);
	return age.tv_sec * 1000 + age.tv_usec / 1000 < SESS_DRAIN_NEWBORN_MS;
}

/* Run process() on the next loop turn, outside any pool or upstream
 * callback that is still on the stack. */
static void
schedule(struct session *s)
{
	struct timeval now = { 0, 0 };

	evtimer_add(s->defer, &now);
}

static void
defer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	(void)fd;
	(void)what;
	if (s->state == SESS_CLOSING) {
		if (s->st == NULL || sess_output_len(s) == 0)
			sess_free(s);
		return;
	}
	process(s);
}

static void
read_cb(struct stream *st, void *arg)
{
	(void)st;
	process(arg);
}

static void
write_cb(struct stream *st, void *arg)
{
	struct session *s = arg;

	(void)st;
	if (s->state == SESS_CLOSING) {
		if (sess_output_len(s) == 0)
			sess_free(s);
		return;
	}
	if (s->conn != NULL)
		up_resume(s->conn);
	else if (s->state == SESS_IDLE &&
	    evbuffer_get_length(stream_input(s->st)) > 0)
		schedule(s);	/* frames held while the output was full */
}

static void
event_cb(struct stream *st, short what, void *arg)
{
	struct session *s = arg;

	(void)st;
	if (what & STREAM_TIMEOUT)
		log_info("session %llu: client timed out in %s",
		    (unsigned long long)s->id, state_names[s->state]);
	else if ((what & STREAM_ERROR) && errno != ECONNRESET &&
	    errno != EPIPE)
		log_info("session %llu: %s", (unsigned long long)s->id,
		    strerror(errno));
	/* The client is gone or stuck: nothing more can reach it. */
	stream_free(s->st);
	s->st = NULL;
	/* A session already CLOSING was waiting for its output to drain,
	 * which now never happens: sess_close() would return at once and
	 * nothing would free it (it kept its pool and its place in
	 * max_sessions for good). defer_cb frees it, the stream gone. */
	if (s->state == SESS_CLOSING)
		schedule(s);
	else
		sess_close(s);
}

/* Take whole frames from the client while the state allows. Frames that
 * the state cannot take yet (the next request while one is running) stay
 * in the input buffer, in order. */
static void
process(struct session *s)
{
	s->in_process = 1;
	process_frames(s);
	s->in_process = 0;
}

static void
process_frames(struct session *s)
{
	struct evbuffer *in;
	uint8_t hdr[PROTO_FRAME_HDR], type;
	uint32_t plen;
	const uint8_t *payload;
	int rc;

	while (s->state != SESS_CLOSING && s->st != NULL) {
		if (s->state == SESS_WAITING)
			return;
		if (s->state == SESS_ACTIVE &&
		    (s->req_end || up_output_len(s->conn) >= UP_OUT_HIGH))
			return;
		/* Answers without a body (a refused request's ERROR, a HEAD
		 * or 204 response) never meet upstream.c's pause, so nothing
		 * else bounds them: a client sending such requests without
		 * reading grew the output without end (a 24 byte request,
		 * ~110 bytes of ERROR). Held only between requests: a body
		 * must keep flowing while its response streams back, as
		 * http.client sends all of it before it reads. */
		if (s->state == SESS_IDLE && sess_output_len(s) >= SESS_OUT_HIGH)
			return;
		in = stream_input(s->st);
		if (evbuffer_copyout(in, hdr, sizeof(hdr)) < (ev_ssize_t)
		    sizeof(hdr)) {
			if (evbuffer_get_length(in) > 0)
				frame_cut(s);
			return;
		}
		rc = proto_frame_peek(hdr, sizeof(hdr), &type, &plen);
		if (rc == -1) {
			protocol_error(s, "frame of %u bytes exceeds the "
			    "%u byte limit", plen, PROTO_MAX_PAYLOAD);
			return;
		}
		/* Refused at its header, before any of it is held: each
		 * session may park at most this much of one frame. */
		if (PROTO_FRAME_HDR + (size_t)plen >
		    s->srv->cfg.max_session_buffer) {
			protocol_error(s, "%s frame (type %u) of %u bytes "
			    "exceeds what a session may hold "
			    "(max_session_buffer = %u bytes)",
			    proto_type_name(type), type, plen,
			    s->srv->cfg.max_session_buffer);
			return;
		}
		if (evbuffer_get_length(in) < PROTO_FRAME_HDR + plen) {
			/* A frame larger than the watermark must still fit. */
			if (PROTO_FRAME_HDR + plen > s->read_high) {
				s->read_high = PROTO_FRAME_HDR + plen;
				stream_set_watermarks(s->st, s->read_high,
				    SESS_OUT_LOW);
			}
			frame_cut(s);
			return;
		}
		payload = evbuffer_pullup(in, PROTO_FRAME_HDR + plen);
		if (payload == NULL) {
			protocol_error(s, "out of memory reading a frame");
			return;
		}
		rc = handle_frame(s, type, payload + PROTO_FRAME_HDR, plen);
		if (s->st == NULL)
			return;
		evbuffer_drain(stream_input(s->st),
		    PROTO_FRAME_HDR + plen);
		if (rc == -1)
			return;
		if (s->read_high != SESS_IN_HIGH) {
			s->read_high = SESS_IN_HIGH;
			stream_set_watermarks(s->st, s->read_high,
			    SESS_OUT_LOW);
		}
	}
}

/*
 * Part of a frame is in: the rest is due now. Between requests that means
 * the I/O timeout, not the (long) idle one, as PROTOCOL.md says; the
 * clock starts at this part.
 */
static void
frame_cut(struct session *s)
{
	stream_read_more(s->st);
	if (s->state == SESS_IDLE)
		stream_set_timeouts(s->st, sess_io_timeout(s),
		    s->srv->cfg.client_write_timeout_ms);
}

static int
handle_frame(struct session *s, uint8_t type, const uint8_t *p, size_t len)
{
	switch (s->state) {
	case SESS_HELLO:
		if (type == PROTO_HELLO)
			return on_hello(s, p, len);
		break;
	case SESS_OPEN:
		if (type == PROTO_OPEN)
			return on_open(s, p, len);
		if (type == PROTO_STATS && s->version >= 4)
			return on_stats(s, p, len);
		if (type == PROTO_CLOSE)
			break;
		break;
	case SESS_IDLE:
		if (type == PROTO_REQ_HEAD)
			return on_req_head(s, p, len);
		if (type == PROTO_CLOSE) {
			if (proto_dec_empty(p, len) == -1)
				break;
			sess_close(s);
			return -1;
		}
		break;
	case SESS_ACTIVE:
	case SESS_DRAIN:
		if (type == PROTO_REQ_BODY)
			return on_req_body(s, p, len);
		if (type == PROTO_REQ_END) {
			if (proto_dec_empty(p, len) == -1)
				break;
			return on_req_end(s);
		}
		break;
	case SESS_WAITING:
	case SESS_STATS:
	case SESS_CLOSING:
		break;
	}
	if (type == PROTO_CLOSE && proto_dec_empty(p, len) == 0) {
		sess_close(s);
		return -1;
	}
	protocol_error(s, "unexpected or malformed %s frame (type %u, %zu "
	    "bytes) in state %s", proto_type_name(type), type, len,
	    state_names[s->state]);
	return -1;
}

static int
on_hello(struct session *s, const uint8_t *p, size_t len)
{
	struct proto_hello h;
	struct proto_wbuf *w = &s->srv->wbuf;

	if (proto_dec_hello(p, len, &h) == -1) {
		protocol_error(s, "malformed HELLO frame");
		return -1;
	}
	if (h.max_version < PROTO_VERSION_MIN || h.min_version > PROTO_VERSION) {
		protocol_error(s, "no common protocol version: client speaks "
		    "%u..%u, hpoold speaks %u..%u", h.min_version,
		    h.max_version, PROTO_VERSION_MIN, PROTO_VERSION);
		return -1;
	}
	s->version = h.max_version < PROTO_VERSION ? h.max_version :
	    PROTO_VERSION;
	proto_wbuf_reset(w);
	proto_enc_hello_ok(w, s->version);
	evbuffer_add(stream_output(s->st), w->data, w->len);
	set_state(s, SESS_OPEN);
	return 0;
}

static int
tunnel_headers_ok(const struct proto_open *o)
{
	size_t i;

	for (i = 0; i < o->ntunnel_headers; i++)
		if (!req_header_ok(&o->tunnel_headers[i]))
			return 0;
	return 1;
}

static int
on_open(struct session *s, const uint8_t *p, size_t len)
{
	struct proto_open o;
	struct pool_key key;
	struct proto_wbuf *w = &s->srv->wbuf;
	struct route rt;
	char err[256], text[2048];
	size_t n;
	int code;

	if (proto_dec_open(p, len, &o) == -1) {
		protocol_error(s, "malformed OPEN frame (unknown, repeated or "
		    "missing parameter)");
		return -1;
	}
	if (!proto_str_eq(&o.scheme, "https") &&
	    !proto_str_eq(&o.scheme, "http")) {
		send_error(s, HPOOL_E_UNKNOWN_PROTOCOL, "unsupported scheme in "
		    "OPEN (hpoold speaks http and https)", 0, -1, PROTO_SENT_UNKNOWN);
		sess_close(s);
		return -1;
	}
	if (o.tunnel_host.len > 0 && (!req_host_ok(&o.tunnel_host) ||
	    !tunnel_headers_ok(&o))) {
		send_error(s, HPOOL_E_VALUE_ERROR, "invalid tunnel host or "
		    "tunnel header in OPEN", 0, -1, PROTO_SENT_UNKNOWN);
		sess_close(s);
		return -1;
	}
	if (!req_host_ok(&o.host) ||
	    (o.tls_sni.len > 0 && !req_host_ok(&o.tls_sni))) {
		send_error(s, HPOOL_E_INVALID_URL, "invalid host name in OPEN",
		    0, -1, PROTO_SENT_UNKNOWN);
		sess_close(s);
		return -1;
	}
	if (o.port == 0 || o.source_host.len >= sizeof(key.src_host) ||
	    (o.source_host.len > 0 && !req_host_ok(&o.source_host))) {
		send_error(s, HPOOL_E_INVALID_URL, "invalid port or source "
		    "address in OPEN", 0, -1, PROTO_SENT_UNKNOWN);
		sess_close(s);
		return -1;
	}
	/* The daemon may run as root: a port only root may bind is bound
	 * only for a caller that is root itself. */
	if (o.source_port != 0 && o.source_port < 1024 && s->peer_uid != 0) {
		char msg[160];

		snprintf(msg, sizeof(msg), "[Errno 13] Permission denied: "
		    "source port %u is below 1024, and only uid 0 may bind "
		    "it (caller uid %u)", o.source_port,
		    (unsigned)s->peer_uid);
		send_error(s, HPOOL_E_PERMISSION, msg, 0, -1,
		    PROTO_SENT_UNKNOWN);
		sess_close(s);
		return -1;
	}
	if (o.explain) {
		/* hpool --explain: what would be done, in place of OPEN_OK,
		 * nothing connected; then the session ends */
		n = route_explain(s->srv->cfg.policy, &s->caller, &o, text,
		    sizeof(text));
		proto_wbuf_reset(w);
		proto_enc_explain(w, text, n);
		evbuffer_add(stream_output(s->st), w->data, w->len);
		sess_close(s);
		return -1;
	}
	open_log(s, &o, NULL, 0);	/* dest, before the route */
	if (route_open(s->srv->cfg.policy, &s->caller, &o, &rt) == -1) {
		log_info("session %llu (pid %d): %s", (unsigned long long)s->id,
		    (int)s->peer_pid, rt.log);
		open_log(s, &o, &rt, rt.code);
		send_error(s, rt.code, rt.msg, 0, -1, rt.sent);
		sess_close(s);
		return -1;
	}
	pool_key_make(&key, &o, &rt, s->srv->cfg.partition_by_uid ?
	    (uint32_t)s->peer_uid + 1 : 0);
	if (o.tunnel_host.len == 0 && rt.absolute != NULL) {
		snprintf(s->abs_origin, sizeof(s->abs_origin), "%s",
		    rt.origin);
		if (rt.hdr.name.len > 0)
			snprintf(s->proxy_auth, sizeof(s->proxy_auth), "%s",
			    rt.auth);
	}
	if ((s->pool = pool_ref(s->srv, &key, &o, rt.socks, &code, err,
	    sizeof(err))) == NULL) {
		send_error(s, code, err, 0, -1, PROTO_SENT_UNKNOWN);
		sess_close(s);
		return -1;
	}
	/* the addresses this name resolves to are judged by the rules:
	 * at connect time for the caller that opens, at every reuse for
	 * the caller that reuses */
	if (rt.addr_check)
		s->pool->addr_check = 1;
	open_log(s, &o, &rt, 0);
	if (s->pool->row == NULL && s->srv->stats_tab != NULL)
		s->pool->row = stats_pool_row(s->srv->stats_tab, rt.absolute !=
		    NULL ? "http://*" : s->dest, s->route_label,
		    proto_str_eq(&o.scheme, "https"));
	s->has_timeout = o.has_timeout;
	s->timeout_ms = o.timeout_ms;
	proto_wbuf_reset(w);
	proto_enc_empty(w, PROTO_OPEN_OK);
	evbuffer_add(stream_output(s->st), w->data, w->len);
	set_state(s, SESS_IDLE);
	return 0;
}


static int
on_req_head(struct session *s, const uint8_t *p, size_t len)
{
	struct proto_req_head *hp = &s->srv->req_head;
	struct req_check rc;
	struct proto_header auth;
	struct req_form form, *fp = NULL;

	if (proto_dec_req_head(p, len, hp) == -1) {
		protocol_error(s, "malformed REQ_HEAD frame");
		return -1;
	}
	s->srv->stats.requests++;
	s->req_live = 1;
	clock_gettime(CLOCK_MONOTONIC, &s->req_start);
	snprintf(s->method, sizeof(s->method), "%.*s", hp->method.len > 31 ?
	    31 : (int)hp->method.len, hp->method.p);
	s->path[0] = '\0';
	if (log_enabled(LOG_LVL_DEBUG))
		snprintf(s->path, sizeof(s->path), "%.*s%s", hp->url.len >
		    ACCESS_PATH_MAX - 4 ? ACCESS_PATH_MAX - 4 :
		    (int)hp->url.len, hp->url.p, hp->url.len >
		    ACCESS_PATH_MAX - 4 ? "..." : "");
	s->resp_status = 0;
	s->conn_kind = ACCESS_CONN_NONE;
	s->tls_kind = ACCESS_TLS_NONE;
	s->req_end = 0;
	s->resp_end = 0;
	s->body_sent = 0;
	s->resp_body = 0;
	s->retries = 0;
	if (req_check(hp, &rc) == -1) {
		/* Refused before anything was sent: the pool is untouched.
		 * The request's body frames are read and dropped. */
		set_state(s, SESS_DRAIN);
		send_error(s, rc.code, rc.message, 0, -1, PROTO_SENT_NO);
		s->resp_end = 1;
		return 0;
	}
	s->is_head = rc.is_head;
	s->is_connect = rc.is_connect;
	s->idempotent = rc.idempotent;
	s->no_reuse = rc.no_reuse;
	s->conn_auth = rc.conn_auth;
	s->body_mode = rc.framing == REQ_FRAME_CHUNKED ? REQ_BODY_CHUNKED :
	    rc.framing == REQ_FRAME_LENGTH ? REQ_BODY_LENGTH : REQ_BODY_NONE;
	s->body_left = rc.length;
	if (s->abs_origin[0] != '\0') {
		if (!req_form_url_ok(&hp->url)) {
			char msg[320];

			snprintf(msg, sizeof(msg), "URL '%.*s' is neither a "
			    "path nor an http:// URL: hpoold cannot send it "
			    "to its proxy in absolute form", hp->url.len > 200
			    ? 200 : (int)hp->url.len, hp->url.p);
			set_state(s, SESS_DRAIN);
			send_error(s, HPOOL_E_VALUE_ERROR, msg, 0, -1,
			    PROTO_SENT_NO);
			s->resp_end = 1;
			return 0;
		}
		memset(&form, 0, sizeof(form));
		form.url_prefix = s->abs_origin;
		form.host = s->abs_origin + 7;	/* after "http://" */
		if (s->proxy_auth[0] != '\0') {
			auth.name.p = "Proxy-Authorization";
			auth.name.len = strlen(auth.name.p);
			auth.value.p = s->proxy_auth;
			auth.value.len = strlen(s->proxy_auth);
			form.extra = &auth;
		}
		fp = &form;
	}
	evbuffer_drain(s->head, evbuffer_get_length(s->head));
	if (req_write_head(s->head, hp, s->no_reuse, fp) == -1) {
		set_state(s, SESS_DRAIN);
		send_error(s, HPOOL_E_MEMORY, "hpoold: out of memory", 0, -1,
		    PROTO_SENT_NO);
		s->resp_end = 1;
		return 0;
	}
	set_state(s, SESS_WAITING);
	if (pool_enqueue(s->pool, s, 0) == -1) {
		char msg[700], detail[PROTO_DETAIL_MAX];

		snprintf(msg, sizeof(msg), "hpoold: too many requests waiting "
		    "for a connection to %s (max_queue %u reached, with "
		    "max_per_host %u busy)", s->pool->name,
		    s->srv->cfg.max_queue, s->srv->cfg.max_per_host);
		snprintf(detail, sizeof(detail), "waiting for a connection "
		    "to %s, max_queue %u", s->dest, s->srv->cfg.max_queue);
		set_state(s, SESS_DRAIN);
		send_error_at(s, HPOOL_E_POLICY, msg, 0, -1, PROTO_SENT_NO,
		    detail);
		s->resp_end = 1;
	}
	return 0;
}

/* How upstream.c tells a session about its exchange (upstream.h). */
static unsigned
op_io_timeout(void *o)
{
	return sess_io_timeout(o);
}

static void
op_writable(void *o)
{
	sess_upstream_writable(o);
}

static void
op_resp_head(void *o, const struct hp_head *h)
{
	sess_resp_head(o, h);
}

static void
op_resp_body(void *o, struct evbuffer *src, size_t len)
{
	sess_resp_body(o, src, len);
}

static size_t
op_output_len(void *o)
{
	return sess_output_len(o);
}

static int
op_retry(void *o, int sent)
{
	return sess_retry(o, sent);
}

static void
op_resp_end(void *o, uint8_t flags)
{
	sess_resp_end(o, flags);
}

static void
op_error(void *o, int code, const char *msg, uint64_t partial,
    int64_t expected, int sent, const char *detail)
{
	sess_upstream_error(o, code, msg, partial, expected, sent, detail);
}

static const struct up_owner_ops owner_ops = {
	op_io_timeout, op_writable, op_resp_head, op_resp_body,
	op_output_len, op_retry, op_resp_end, op_error,
};

void
sess_attach(struct session *s, struct upconn *c)
{
	s->conn = c;
	set_state(s, SESS_ACTIVE);
	up_begin(c, s, &owner_ops, (s->is_head ? UP_REQ_HEAD : 0) |
	    (s->is_connect ? UP_REQ_CONNECT : 0) |
	    (s->no_reuse ? UP_REQ_NO_REUSE : 0));
	if (s->conn_auth)
		up_make_private(c, s->peer_uid);
	s->conn_kind = c->nrequests > 1 ? ACCESS_CONN_REUSED : ACCESS_CONN_NEW;
	if (stream_ssl(c->st) != NULL)
		s->tls_kind = SSL_session_reused(stream_ssl(c->st)) ?
		    ACCESS_TLS_RESUMED : ACCESS_TLS_FULL;
	if (s->conn_kind == ACCESS_CONN_NEW && s->pool->row != NULL) {
		if (s->tls_kind == ACCESS_TLS_FULL)
			s->pool->row->tls_full++;
		else if (s->tls_kind == ACCESS_TLS_RESUMED)
			s->pool->row->tls_resumed++;
	}
	/* The head stays in s->head until the response starts, for a retry
	 * on a fresh connection. */
	up_write(c, evbuffer_pullup(s->head, -1),
	    evbuffer_get_length(s->head));
	if (s->req_end)
		up_request_done(c);
	/* The rest of the request (usually REQ_END, sent with the head) is
	 * taken now, not on a later loop turn: a fast response must not find
	 * the request unfinished, nor overtake a body error. Safe here: the
	 * pool re-reads its lists after this returns, and a session is only
	 * ever freed from the loop. Inside process() (the head was just
	 * taken) its own loop goes on to those frames. */
	if (!s->in_process)
		process(s);
}

static int
on_req_body(struct session *s, const uint8_t *p, size_t len)
{
	char size[24];
	int n;

	if (len > PROTO_MAX_BODY_CHUNK) {
		protocol_error(s, "REQ_BODY of %zu bytes exceeds %u", len,
		    PROTO_MAX_BODY_CHUNK);
		return -1;
	}
	if (s->state == SESS_DRAIN || len == 0)
		return 0;	/* the request already failed */
	switch (s->body_mode) {
	case REQ_BODY_NONE:
		send_error(s, HPOOL_E_VALUE_ERROR, "request body without "
		    "Content-Length or Transfer-Encoding: chunked", 0, -1,
		    up_request_sent(s->conn));
		request_over(s);
		return 0;
	case REQ_BODY_LENGTH:
		if (len > s->body_left) {
			send_error(s, HPOOL_E_VALUE_ERROR, "request body longer"
			    " than its Content-Length", 0, -1,
			    up_request_sent(s->conn));
			request_over(s);
			return 0;
		}
		s->body_left -= len;
		up_write(s->conn, p, len);
		if (s->body_left == 0)
			up_request_done(s->conn);
		break;
	case REQ_BODY_CHUNKED:
		n = snprintf(size, sizeof(size), "%zx\r\n", len);
		up_write(s->conn, size, (size_t)n);
		up_write(s->conn, p, len);
		up_write(s->conn, "\r\n", 2);
		break;
	}
	s->body_sent += len;
	return 0;
}

static int
on_req_end(struct session *s)
{
	s->req_end = 1;
	if (s->state == SESS_DRAIN) {
		set_state(s, SESS_IDLE);
		return 0;
	}
	if (s->body_mode == REQ_BODY_LENGTH && s->body_left != 0) {
		send_error(s, HPOOL_E_VALUE_ERROR, "request body shorter than "
		    "its Content-Length", 0, -1, up_request_sent(s->conn));
		request_over(s);
		return 0;
	}
	if (s->body_mode == REQ_BODY_CHUNKED)
		up_write(s->conn, "0\r\n\r\n", 5);
	up_request_done(s->conn);
	set_state(s, s->state);		/* no read timeout from now on */
	return 0;
}

/* The request failed on our side mid-way: its connection is closed. */
static void
request_over(struct session *s)
{
	struct upconn *c = s->conn;

	s->conn = NULL;
	s->resp_end = 1;
	if (c != NULL)
		up_abort(c);
	set_state(s, s->req_end ? SESS_IDLE : SESS_DRAIN);
}

static void
sess_upstream_writable(struct session *s)
{
	if (s->state == SESS_ACTIVE)
		schedule(s);
}

/*
 * RFC 9110 9.2.2, as Go's Transport reads it: a request that died with a
 * reused connection is sent again on another only if it certainly never
 * left hpoold, or if it may be repeated (an idempotent method or an
 * Idempotency-Key) and its body, if any, can be sent again. Bodies are
 * streamed, not kept, so only a bodyless request can be.
 */
static int
sess_retry(struct session *s, int sent)
{
	if (s->retries >= 3 || s->state != SESS_ACTIVE)
		return 0;
	if (sent != PROTO_SENT_NO && (!s->idempotent ||
	    s->body_mode != REQ_BODY_NONE || s->body_sent > 0))
		return 0;
	if (sent == PROTO_SENT_NO && s->body_sent > 0)
		return 0;	/* body frames went by: they cannot be again */
	s->retries++;
	s->srv->stats.retries++;
	s->conn = NULL;
	log_debug("session %llu: pooled connection was dead, retrying (%s)",
	    (unsigned long long)s->id, sent == PROTO_SENT_NO ? "not sent" :
	    "idempotent");
	set_state(s, SESS_WAITING);
	pool_enqueue(s->pool, s, 1);
	return 1;
}

static void
sess_resp_head(struct session *s, const struct hp_head *h)
{
	struct proto_resp_head *rhp = &s->srv->resp_head;
	struct proto_wbuf *w = &s->srv->wbuf;
	size_t i;

	evbuffer_drain(s->head, evbuffer_get_length(s->head));
	/* A challenge for a scheme that authenticates the connection: from
	 * here on it is this caller's, whatever the caller sends next. */
	if (s->conn != NULL && (h->status == 401 || h->status == 407)) {
		const char *want = h->status == 401 ? "www-authenticate" :
		    "proxy-authenticate";

		for (i = 0; i < h->nheaders; i++)
			if (h->headers[i].name_len == strlen(want) &&
			    strncasecmp(h->headers[i].name, want,
			    h->headers[i].name_len) == 0 &&
			    req_auth_conn_bound(h->headers[i].value,
			    h->headers[i].value_len))
				up_make_private(s->conn, s->peer_uid);
	}
	rhp->version = (uint8_t)h->version;
	rhp->status = (uint16_t)h->status;
	s->resp_status = (unsigned)h->status;
	rhp->flags = (h->will_close ? PROTO_RESP_WILL_CLOSE : 0) |
	    (h->framing == HP_FRAME_CHUNKED ? PROTO_RESP_CHUNKED : 0);
	rhp->length = h->framing == HP_FRAME_NONE ? 0 :
	    h->framing == HP_FRAME_LENGTH ? h->length : -1;
	rhp->reason.p = h->reason;
	rhp->reason.len = h->reason_len;
	rhp->nheaders = h->nheaders;
	for (i = 0; i < h->nheaders && i < PROTO_MAX_HEADERS; i++) {
		rhp->headers[i].name.p = h->headers[i].name;
		rhp->headers[i].name.len = h->headers[i].name_len;
		rhp->headers[i].value.p = h->headers[i].value;
		rhp->headers[i].value.len = h->headers[i].value_len;
	}
	proto_wbuf_reset(w);
	if (proto_enc_resp_head(w, rhp) == -1) {
		/* Cannot happen within http.client's limits; refuse loudly
		 * rather than send a partial head. */
		struct upconn *c = s->conn;

		s->conn = NULL;
		if (c != NULL)
			up_abort(c);
		send_error(s, HPOOL_E_HTTP_EXCEPTION, "response head too large"
		    " for hpool", 0, -1, PROTO_SENT_MAYBE);
		s->resp_end = 1;
		set_state(s, s->req_end ? SESS_IDLE : SESS_DRAIN);
		schedule(s);
		return;
	}
	evbuffer_add(stream_output(s->st), w->data, w->len);
}

/*
 * Move len body bytes from the front of src (the upstream input) to the
 * client as RESP_BODY frames. evbuffer_remove_buffer hands whole chains
 * over without copying them, so a large body crosses the daemon with no
 * memcpy of its own.
 */
static void
sess_resp_body(struct session *s, struct evbuffer *src, size_t len)
{
	struct evbuffer *out = stream_output(s->st);
	uint8_t hdr[PROTO_FRAME_HDR];
	size_t n;

	while (len > 0) {
		n = len < PROTO_MAX_BODY_CHUNK ? len : PROTO_MAX_BODY_CHUNK;
		proto_frame_hdr(hdr, PROTO_RESP_BODY, (uint32_t)n);
		evbuffer_add(out, hdr, sizeof(hdr));
		evbuffer_remove_buffer(src, out, n);
		s->resp_body += n;
		len -= n;
	}
}

static void
sess_resp_end(struct session *s, uint8_t flags)
{
	struct proto_wbuf *w = &s->srv->wbuf;

	s->conn = NULL;
	s->resp_end = 1;
	req_log(s, 0);
	proto_wbuf_reset(w);
	proto_enc_resp_end(w, flags);
	evbuffer_add(stream_output(s->st), w->data, w->len);
	set_state(s, s->req_end ? SESS_IDLE : SESS_DRAIN);
	schedule(s);
}

void
sess_upstream_error(struct session *s, int code, const char *msg,
    uint64_t partial, int64_t expected, int sent, const char *detail)
{
	s->conn = NULL;
	s->resp_end = 1;
	if (s->st == NULL)
		return;
	send_error_at(s, code, msg, partial, expected, sent, detail);
	set_state(s, s->req_end ? SESS_IDLE : SESS_DRAIN);
	schedule(s);
}

static void
send_error(struct session *s, int code, const char *msg, uint64_t partial,
    int64_t expected, int sent)
{
	send_error_at(s, code, msg, partial, expected, sent, NULL);
}

/* detail: where it failed (ERROR's, version 4), or NULL. */
static void
send_error_at(struct session *s, int code, const char *msg, uint64_t partial,
    int64_t expected, int sent, const char *detail)
{
	struct proto_wbuf *w = &s->srv->wbuf;
	struct proto_error e;
	const char *name = hpool_error_name(code);

	req_log(s, code);
	if (s->st == NULL)
		return;
	memset(&e, 0, sizeof(e));
	e.code = (uint16_t)code;
	e.name.p = name;
	e.name.len = strlen(name);
	e.message.p = msg;
	e.message.len = strlen(msg);
	e.partial = partial;
	e.expected = expected;
	e.sent = (uint8_t)sent;
	if (detail != NULL) {
		e.detail.p = detail;
		e.detail.len = strnlen(detail, PROTO_DETAIL_MAX);
	}
	proto_wbuf_reset(w);
	proto_enc_error(w, &e, s->version ? s->version : 1);
	evbuffer_add(stream_output(s->st), w->data, w->len);
	log_debug("session %llu: error %s: %s", (unsigned long long)s->id,
	    name, msg);
}

static void
protocol_error(struct session *s, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_info("session %llu (pid %d): protocol error: %s",
	    (unsigned long long)s->id, (int)s->peer_pid, msg);
	send_error(s, HPOOL_E_PROTOCOL, msg, 0, -1, PROTO_SENT_UNKNOWN);
	sess_close(s);
}

/* End the session: its request (if any) is abandoned and its connection
 * closed; what is queued for the client is flushed, then it is freed. */
static void
sess_close(struct session *s)
{
	struct upconn *c = s->conn;

	if (s->state == SESS_CLOSING)
		return;
	if (s->state == SESS_WAITING)
		pool_dequeue(s->pool, s);
	s->conn = NULL;
	if (c != NULL)
		up_abort(c);
	req_log(s, -1);		/* the caller went away mid-request */
	set_state(s, SESS_CLOSING);
	if (s->st != NULL)
		stream_read_enable(s->st, 0);
	/* Freed from the loop, never under a caller's feet. */
	schedule(s);
}

static void
sess_free(struct session *s)
{
	struct server *srv = s->srv;

	if (s->state != SESS_CLOSING && s->state != SESS_HELLO)
		fatalx("session %llu freed in state %s",
		    (unsigned long long)s->id, state_names[s->state]);
	if (s->entry.tqe_prev != NULL) {
		TAILQ_REMOVE(&srv->sessions, s, entry);
		srv->nsessions--;
	}
	if (s->pool != NULL)
		pool_unref(s->pool);
	if (s->counted)
		quota_session_put(s->peer_uid);
	if (s->st != NULL)
		stream_free(s->st);
	if (s->head != NULL)
		evbuffer_free(s->head);
	if (s->defer != NULL)
		event_free(s->defer);
	if (s->wait_timer != NULL)
		event_free(s->wait_timer);
	explicit_bzero(s->proxy_auth, sizeof(s->proxy_auth));
	free(s);
}

void
sess_free_all(struct server *srv)
{
	struct session *s;

	while ((s = TAILQ_FIRST(&srv->sessions)) != NULL) {
		sess_close(s);
		sess_free(s);
	}
}

/* The access log's caller and destination, and (rt given) the route: at
 * OPEN, before route_open rewrites o for a proxy (rt NULL), then with its
 * decision; code: the refusal, logged at once as an entry of its own. */
static void
open_log(struct session *s, const struct proto_open *o, const struct route
    *rt, int code)
{
	const struct proto_str *h = o->tunnel_host.len > 0 ? &o->tunnel_host :
	    &o->host;
	struct access_rec r;

	if (rt == NULL) {
		snprintf(s->dest, sizeof(s->dest), "%.*s://%s%.*s%s:%u",
		    (int)o->scheme.len, o->scheme.p, memchr(h->p, ':', h->len)
		    != NULL ? "[" : "", (int)h->len, h->p, memchr(h->p, ':',
		    h->len) != NULL ? "]" : "", o->tunnel_host.len > 0 ?
		    o->tunnel_port : o->port);
		access_clean(s->dest);
		/* the unit, once a session (a read of /proc) */
		route_caller_unit(&s->caller);
		return;
	}
	if (code != 0)
		snprintf(s->route_label, sizeof(s->route_label),
		    "denied by %s", rt->why);
	else if (rt->proxy != NULL)
		snprintf(s->route_label, sizeof(s->route_label), "proxy %s",
		    rt->proxy->name);
	else if (o->tunnel_host.len > 0)
		snprintf(s->route_label, sizeof(s->route_label),
		    "direct, the caller's proxy %.*s:%u", (int)o->host.len,
		    o->host.p, o->port);
	else
		snprintf(s->route_label, sizeof(s->route_label), "direct");
	access_clean(s->route_label);
	if (code == 0)
		return;
	if (s->srv->stats_tab != NULL)
		stats_caller_row(s->srv->stats_tab, (uint32_t)s->peer_uid,
		    s->caller.unit)->denials++;
	if (!s->srv->cfg.access_log)
		return;
	memset(&r, 0, sizeof(r));
	r.uid = s->peer_uid;
	r.pid = s->peer_pid;
	snprintf(r.unit, sizeof(r.unit), "%s", s->caller.unit);
	access_clean(r.unit);
	snprintf(r.dest, sizeof(r.dest), "%s", s->dest);
	snprintf(r.error, sizeof(r.error), "%s", hpool_error_name(code));
	snprintf(r.route, sizeof(r.route), "%s", s->route_label);
	access_log(&r, 0);
}

/* The access log's entry for the request that ends now (once; code: the
 * error it ended with, 0 for a response). */
static void
req_log(struct session *s, int code)
{
	struct access_rec r;
	struct timespec now;
	int64_t us;

	if (!s->req_live)
		return;
	s->req_live = 0;
	if (s->srv->stats_tab != NULL) {
		struct stats_caller *sc;

		if (s->caller_row == NULL)
			s->caller_row = stats_caller_row(s->srv->stats_tab,
			    (uint32_t)s->peer_uid, s->caller.unit);
		sc = s->caller_row;
		sc->requests++;
		sc->bytes_up += s->body_sent;
		sc->bytes_down += s->resp_body;
		if (code != 0)
			sc->errors++;
	}
	if (!s->srv->cfg.access_log)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	us = (int64_t)(now.tv_sec - s->req_start.tv_sec) * 1000000 +
	    (now.tv_nsec - s->req_start.tv_nsec) / 1000;
	memset(&r, 0, sizeof(r));
	r.uid = s->peer_uid;
	r.pid = s->peer_pid;
	snprintf(r.unit, sizeof(r.unit), "%s", s->caller.unit);
	access_clean(r.unit);
	snprintf(r.method, sizeof(r.method), "%s", s->method);
	access_clean(r.method);
	snprintf(r.dest, sizeof(r.dest), "%s", s->dest);
	snprintf(r.path, sizeof(r.path), "%s", s->path);
	access_clean(r.path);
	r.status = s->resp_status;
	if (code != 0)
		snprintf(r.error, sizeof(r.error), "%s", code == -1 ?
		    "caller-closed" : hpool_error_name(code));
	r.bytes_up = s->body_sent;
	r.bytes_down = s->resp_body;
	r.duration_us = us > 0 ? (uint64_t)us : 0;
	r.conn = s->conn_kind;
	r.tls = s->tls_kind;
	r.retried = s->retries > 0;
	snprintf(r.route, sizeof(r.route), "%s", s->route_label);
	access_log(&r, r.path[0] != '\0');
}

/*
 * Who may read the stats (they name other callers' destinations and
 * units): uid 0, the uid hpoold runs as, and the members of stats_group
 * (the caller's gid or one of its supplementary groups, as the kernel
 * gives them with SO_PEERGROUPS). 1 yes; 0 no, and why says the rule.
 */
static int
stats_allowed(struct session *s, char *why, size_t len)
{
	const char *name = s->srv->cfg.stats_group;
	struct group gr, *g = NULL;
	char buf[4096], gtext[160];
	gid_t groups[256];
	socklen_t glen = sizeof(groups);
	size_t i;

	if (s->peer_uid == 0 || s->peer_uid == geteuid())
		return 1;
	if (getgrnam_r(name, &gr, buf, sizeof(buf), &g) == 0 && g != NULL) {
		if (s->peer_gid == g->gr_gid)
			return 1;
		if (getsockopt(stream_fd(s->st), SOL_SOCKET, SO_PEERGROUPS,
		    groups, &glen) == 0)
			for (i = 0; i < glen / sizeof(gid_t); i++)
				if (groups[i] == g->gr_gid)
					return 1;
		snprintf(gtext, sizeof(gtext), "members of group '%s' (gid %u)",
		    name, (unsigned)g->gr_gid);
	} else
		snprintf(gtext, sizeof(gtext), "members of group '%s' (no such "
		    "group here)", name);
	snprintf(why, len, "[Errno 13] Permission denied: hpoold's stats are "
	    "for uid 0, hpoold's own uid %u and %s (stats_group); caller uid "
	    "%u, gid %u is none of them", (unsigned)geteuid(), gtext,
	    (unsigned)s->peer_uid, (unsigned)s->peer_gid);
	return 0;
}

/* STATS in place of OPEN: the worker asks the supervisor (GATHER), which
 * asks every worker and answers within its wait; sess_stats_answer()
 * then sends STATS_OK and ends the session. */
static int
on_stats(struct session *s, const uint8_t *p, size_t len)
{
	struct ctl_msg m;
	uint8_t format;
	char why[400];

	if (proto_dec_stats(p, len, &format) == -1) {
		protocol_error(s, "malformed STATS frame (format 0 to 2)");
		return -1;
	}
	if (!stats_allowed(s, why, sizeof(why))) {
		log_info("session %llu (pid %d): stats refused: uid %u",
		    (unsigned long long)s->id, (int)s->peer_pid,
		    (unsigned)s->peer_uid);
		send_error(s, HPOOL_E_PERMISSION, why, 0, -1,
		    PROTO_SENT_UNKNOWN);
		sess_close(s);
		return -1;
	}
	memset(&m, 0, sizeof(m));
	m.type = CTL_GATHER;
	m.seq = ++s->srv->stats_seq;
	m.format = format;
	if (s->srv->ctl_fd == -1 || ctl_send(s->srv->ctl_fd, &m) == -1) {
		send_error(s, HPOOL_E_OS_ERROR, "hpoold: the supervisor cannot "
		    "be asked for the stats now", 0, -1, PROTO_SENT_UNKNOWN);
		sess_close(s);
		return -1;
	}
	s->stats_seq = m.seq;
	set_state(s, SESS_STATS);
	return 0;
}

void
sess_stats_answer(struct server *srv, uint64_t seq, const char *text)
{
	struct proto_wbuf *w = &srv->wbuf;
	struct session *s;

	TAILQ_FOREACH(s, &srv->sessions, entry)
		if (s->state == SESS_STATS && s->stats_seq == seq)
			break;
	if (s == NULL)
		return;		/* gone meanwhile */
	if (text[0] == '\0')
		send_error(s, HPOOL_E_OS_ERROR, "hpoold: the supervisor has no "
		    "stats for this request (too many at once, or out of "
		    "memory); try again", 0, -1, PROTO_SENT_UNKNOWN);
	else {
		proto_wbuf_reset(w);
		if (proto_enc_stats_ok(w, text, strlen(text)) == 0)
			evbuffer_add(stream_output(s->st), w->data, w->len);
	}
	sess_close(s);
}
