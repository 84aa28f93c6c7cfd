/* upstream.c: owns one upstream HTTP/1.1 connection: resolving,
 * connecting, writing requests, parsing responses, idle liveness. */
#include <sys/socket.h>
#include <sys/types.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>

#include <openssl/err.h>

#include "hpool_error.h"
#include "proto.h"
#include "dns.h"
#include "http_parse.h"
#include "policy.h"
#include "quota.h"
#include "log.h"
#include "pool.h"
#include "race.h"
#include "server.h"
#include "stream.h"
#include "tls.h"
#include "upstream.h"

/*
 * Backpressure: the stream stops reading the upstream socket once this much
 * response is buffered; the session pauses us earlier when the client is
 * slow (see up_resume). The write low-water mark wakes the session to
 * send more request body once the socket has taken most of what we gave.
 */
#define UP_READ_HIGH	(256 * 1024)
#define UP_WRITE_LOW	(64 * 1024)

/*
 * SOCKS5 (RFC 1928, RFC 1929 for username/password). The longest reply
 * is a CONNECT reply with a 255-byte DOMAINNAME: VER REP RSV ATYP LEN,
 * the name, the port. No more than that is ever looked at.
 */
#define SOCKS_REPLY_MAX		262
#define SOCKS_VERSION		5
#define SOCKS_AUTH_VERSION	1	/* of the RFC 1929 subnegotiation */
#define SOCKS_METHOD_NONE	0x00
#define SOCKS_METHOD_USERPASS	0x02
#define SOCKS_METHOD_REFUSED	0xff
#define SOCKS_ATYP_IPV4		1
#define SOCKS_ATYP_NAME		3
#define SOCKS_ATYP_IPV6		4

/* RFC 1928 section 6, REP, in words */
static const char *const socks_rep_names[] = {
	"succeeded",
	"general SOCKS server failure",
	"connection not allowed by ruleset",
	"network unreachable",
	"host unreachable",
	"connection refused",
	"TTL expired",
	"command not supported",
	"address type not supported",
};

static const char *const stage_names[] = {
	[UP_STG_RESOLVING] = "RESOLVING", [UP_STG_CONNECTING] = "CONNECTING",
	[UP_STG_PROXY_TLS] = "PROXY_TLS", [UP_STG_CONNECT_SENT] = "CONNECT_SENT",
	[UP_STG_SOCKS_METHOD] = "SOCKS_METHOD",
	[UP_STG_SOCKS_AUTH] = "SOCKS_AUTH", [UP_STG_SOCKS_REPLY] = "SOCKS_REPLY",
	[UP_STG_TLS] = "TLS", [UP_STG_READY] = "READY", [UP_STG_HEAD] = "HEAD",
	[UP_STG_BODY] = "BODY", [UP_STG_DONE] = "DONE",
};

/* what each SOCKS5 stage waits for, for errors */
static const char *const socks_awaited[] = {
	[UP_STG_SOCKS_METHOD] = "method reply",
	[UP_STG_SOCKS_AUTH] = "username/password reply",
	[UP_STG_SOCKS_REPLY] = "CONNECT reply",
};

static void	timer_cb(evutil_socket_t, short, void *);
static void	dns_answer_cb(int, const struct dns_answer *, void *);
static void	dns_done(struct upconn *, int, const struct dns_answer *);
static void	race_addrs(struct upconn *);
static void	connect_failed(struct upconn *, int, const char *);
static void	read_cb(struct stream *, void *);
static void	write_cb(struct stream *, void *);
static void	event_cb(struct stream *, short, void *);
static void	process_input(struct upconn *, int eof);
static void	exchange_error(struct upconn *, int, const char *, uint64_t,
		    int64_t);
static void	exchange_done(struct upconn *);
static void	set_timeout(struct upconn *, unsigned rd_ms, unsigned wr_ms);
static void	errno_message(char *, size_t, int);
static void	start_tls(struct upconn *);
static void	start_proxy_tls(struct upconn *);
static void	keep_session(SSL *);
static void	connected(struct upconn *);
static void	tcp_up(struct upconn *);
static void	tunnel_input(struct upconn *, int eof);
static void	stage_enter(struct upconn *, enum up_stage);
static void	tls_begin(struct upconn *, SSL *, enum up_stage);
static void	tunnel_through(struct upconn *);
static int	socks_stage(const struct upconn *);
static int	socks_reply(enum up_stage, int, const unsigned char *, size_t,
		    char *, size_t);
static void	socks_input(struct upconn *, int eof);
static void	socks_send(struct upconn *, const void *, size_t,
		    enum up_stage);
static void	socks_failed(struct upconn *, int, const char *);
static int	head_complete(struct evbuffer *, size_t *);

struct upconn *
up_new(struct pool *p)
{
	struct upconn *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->pool = p;
	c->id = p->srv->stats.upstream_connects + 1;
	c->state = UP_CLOSED;
	c->idle_timer = evtimer_new(p->srv->base, timer_cb, c);
	if (c->idle_timer == NULL) {
		free(c);
		return NULL;
	}
	return c;
}

void
up_free(struct upconn *c)
{
	dns_cancel(c->dq);
	race_cancel(c->race);
	free(c->addrs);
	/* the inner TLS first: its close_notify goes through the outer's
	 * (the proxy's, through an https:// proxy) */
	if (c->st != NULL && c->tls_clean && stream_ssl(c->st) != NULL)
		keep_session(stream_ssl(c->st));
	if (c->st != NULL && c->proxy_tls_clean)
		keep_session(stream_ssl_outer(c->st) != NULL ?
		    stream_ssl_outer(c->st) : stream_ssl(c->st));
	stream_free(c->st);
	event_free(c->idle_timer);
	if (c->charged)
		quota_conn_put(c->charged_uid);
	if (c->dest_counted)
		quota_dest_put(c->pool->dest_key);
	free(c);
}

/* OpenSSL forgets the session of a connection freed without a shutdown;
 * a clean close keeps it for resumption. */
static void
keep_session(SSL *ssl)
{
	if (SSL_shutdown(ssl) < 0)
		ERR_clear_error();
	SSL_set_shutdown(ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
}

void
up_connect(struct upconn *c)
{
	struct timeval now = { 0, 0 };

	/* Resolution starts on the next loop turn so that no pool callback
	 * can run inside pool_dispatch(). */
	evtimer_add(c->idle_timer, &now);
}

static unsigned
connect_timeout(const struct upconn *c)
{
	return pool_connect_timeout(c->pool);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct upconn *c = arg;
	struct dns_answer now;
	const char *node;
	struct timeval tv;
	unsigned ms;
	int err = 0;

	(void)fd;
	(void)what;
	switch (c->state) {
	case UP_IDLE:
		jan_count(c->pool->srv, c->idle_why, c->id);
		pool_conn_gone(c);
		return;
	case UP_CONNECTING:
		if (socks_stage(c)) {
			char why[80];

			snprintf(why, sizeof(why), "timed out waiting for the "
			    "proxy's %s", socks_awaited[c->stage]);
			socks_failed(c, HPOOL_E_TIMEOUT, why);
			return;
		}
		if (c->dq != NULL || c->st != NULL || c->addrs != NULL ||
		    c->race != NULL) {
			connect_failed(c, HPOOL_E_TIMEOUT, "timed out");
			return;
		}
		/* The whole connect (DNS and TCP) runs under one timer. */
		ms = connect_timeout(c);
		tv = ms_tv(ms);
		evtimer_add(c->idle_timer, &tv);
		/* resolve = HOST:PORT:ADDRESS pins a name (curl's --resolve) */
		if ((node = policy_resolve(c->pool->srv->cfg.policy,
		    c->pool->key.host, c->pool->key.port)) == NULL)
			node = c->pool->key.host;
		/* An IP literal, a line of /etc/hosts or a cached answer comes
		 * back at once, and acting on it may free c: nothing of c is
		 * touched after dns_done(). */
		switch (dns_lookup(c->pool->srv->names, node, &now, &err,
		    dns_answer_cb, c, &c->dq)) {
		case DNS_ANSWERED:
			dns_done(c, 0, &now);
			break;
		case DNS_FAILED:
			dns_done(c, err, NULL);
			break;
		case DNS_PENDING:
			break;
		}
		return;
	case UP_ACTIVE:
	case UP_CLOSED:
		return;
	}
}

/* socket.gaierror's text for the common resolver failures. */
static void
gai_message(char *buf, size_t len, int err)
{
	switch (err) {
	case EVUTIL_EAI_NONAME:
		snprintf(buf, len, "[Errno -2] Name or service not known");
		break;
	case EVUTIL_EAI_AGAIN:
		snprintf(buf, len,
		    "[Errno -3] Temporary failure in name resolution");
		break;
	case EVUTIL_EAI_FAIL:
		snprintf(buf, len,
		    "[Errno -4] Non-recoverable failure in name resolution");
		break;
	case EVUTIL_EAI_NODATA:
		snprintf(buf, len,
		    "[Errno -5] No address associated with hostname");
		break;
	default:
		snprintf(buf, len, "%s", evutil_gai_strerror(err));
		break;
	}
}

static void
dns_answer_cb(int result, const struct dns_answer *ans, void *arg)
{
	struct upconn *c = arg;

	c->dq = NULL;
	dns_done(c, result, ans);
}

static void
dns_done(struct upconn *c, int result, const struct dns_answer *ans)
{
	char msg[128];

	if (result == 0 && (c->addrs = malloc(sizeof(*c->addrs))) == NULL)
		result = EVUTIL_EAI_MEMORY;
	if (result != 0) {
		gai_message(msg, sizeof(msg), result);
		connect_failed(c, HPOOL_E_GAIERROR, msg);
		return;
	}
	*c->addrs = *ans;
	c->next_addr = 0;
	c->last_errno = ECONNREFUSED;
	race_addrs(c);
}

/* The address to try next with the pool's port, and its length; 0 when
 * none is left. */
static socklen_t
next_sockaddr(struct upconn *c, struct sockaddr_storage *ss)
{
	if (c->addrs == NULL || c->next_addr >= c->addrs->n)
		return 0;
	*ss = c->addrs->addr[c->next_addr++];
	if (ss->ss_family == AF_INET) {
		((struct sockaddr_in *)ss)->sin_port = htons(c->pool->key.port);
		return sizeof(struct sockaddr_in);
	}
	((struct sockaddr_in6 *)ss)->sin6_port = htons(c->pool->key.port);
	return sizeof(struct sockaddr_in6);
}

static int
bind_source(int fd, const struct pool_key *k, int family)
{
	struct evutil_addrinfo hints, *ai = NULL;
	char port[8];
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = EVUTIL_AI_NUMERICHOST | EVUTIL_AI_PASSIVE;
	snprintf(port, sizeof(port), "%u", k->src_port);
	if (evutil_getaddrinfo(k->src_host[0] ? k->src_host : NULL, port,
	    &hints, &ai) != 0) {
		errno = EADDRNOTAVAIL;
		return -1;
	}
	rc = bind(fd, ai->ai_addr, ai->ai_addrlen);
	evutil_freeaddrinfo(ai);
	return rc;
}

/* race.c's preparation of each socket: the source address and port the
 * caller asked for, and no Nagle (requests are written whole). */
static int
race_prep(int fd, int family, void *arg)
{
	struct upconn *c = arg;
	const struct pool_key *k = &c->pool->key;
	int one = 1;

	if ((k->src_host[0] || k->src_port) &&
	    bind_source(fd, k, family) == -1)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return 0;
}

/* The end of the connect race: a connected socket, or the last error. */
static void
race_over(int fd, int err, const struct sockaddr_storage *peer, void *arg)
{
	struct upconn *c = arg;
	char msg[128];

	c->race = NULL;
	if (fd == -1) {
		c->last_errno = err;
		errno_message(msg, sizeof(msg), err);
		connect_failed(c, hpool_error_from_errno(err), msg);
		return;
	}
	/* The stream owns the socket from here, TLS or not. */
	if ((c->st = stream_new(c->pool->srv->base, fd)) == NULL) {
		close(fd);
		errno_message(msg, sizeof(msg), ENOMEM);
		connect_failed(c, HPOOL_E_MEMORY, msg);
		return;
	}
	stream_setcb(c->st, read_cb, write_cb, event_cb, c);
	stream_set_watermarks(c->st, UP_READ_HIGH, UP_WRITE_LOW);
	c->peer = *peer;
	tcp_up(c);
}

/*
 * Like socket.create_connection, every address of the host, but raced
 * (race.c, RFC 8305): an address that does not answer holds the next
 * one back RACE_DELAY_MS, not the whole connect timeout. Each address
 * must pass the rules first, judged on the very address connected to.
 */
static void
race_addrs(struct upconn *c)
{
	struct sockaddr_storage ss;
	const struct policy_caller *who = pool_opener(c->pool);
	struct dns_answer ok;
	char msg[128];

	memset(&ok, 0, sizeof(ok));
	while (next_sockaddr(c, &ss) != 0) {
		if (c->pool->addr_check && (who == NULL || !policy_addr_ok(
		    c->pool->srv->cfg.policy, who, c->pool->key.scheme,
		    c->pool->key.host, c->pool->key.port,
		    (struct sockaddr *)&ss, c->denied, sizeof(c->denied)))) {
			c->last_errno = EACCES;
			continue;
		}
		ok.addr[ok.n++] = ss;
	}
	if (ok.n == 0 && c->last_errno == EACCES && c->denied[0] != '\0') {
		char why[800];

		snprintf(why, sizeof(why), "[Errno 13] Permission denied: "
		    "hpoold's policy does not let this caller reach %s:%u at "
		    "any of its addresses: %s", c->pool->key.host,
		    c->pool->key.port, c->denied);
		connect_failed(c, HPOOL_E_PERMISSION, why);
		return;
	}
	stage_enter(c, UP_STG_CONNECTING);
	if ((c->race = race_start(c->pool->srv->base, &ok, c->pool->key.port,
	    race_prep, race_over, c)) == NULL) {
		errno_message(msg, sizeof(msg), ENOMEM);
		connect_failed(c, HPOOL_E_MEMORY, msg);
	}
}

/* host:port as a URL writes it (an IPv6 address in brackets). */
static void
hostport(char *buf, size_t len, const char *host, unsigned port)
{
	snprintf(buf, len, strchr(host, ':') != NULL ? "[%s]:%u" : "%s:%u",
	    host, port);
}

/*
 * ERROR's detail: where c failed (its stage), the destination, the proxy
 * on the way, and for a timeout which one fired and its value. It never
 * holds a path or a credential.
 */
static void
detail_text(const struct upconn *c, int code, char *buf, size_t len)
{
	const struct pool *p = c->pool;
	const struct config *cfg = &p->srv->cfg;
	char hop[300], origin[300], via[512] = "", tmo[96] = "";
	const char *what;
	unsigned ms, own;

	hostport(hop, sizeof(hop), p->key.host, p->key.port);
	if (p->key.tunnel_host[0] != '\0') {
		hostport(origin, sizeof(origin), p->key.tunnel_host,
		    p->key.tunnel_port);
		snprintf(via, sizeof(via), " through %s%s%s at %.*s",
		    p->key.tunnel_kind == POOL_TUNNEL_SOCKS5 ? "SOCKS5 " : "",
		    p->proxy_daemon ? "proxy " : "the proxy",
		    p->proxy_daemon ? p->proxy_name : "", 300, hop);
	} else
		snprintf(origin, sizeof(origin), "%s", hop);
	switch (c->stage) {
	case UP_STG_RESOLVING:
		what = "resolving";
		snprintf(origin, sizeof(origin), "%s", p->key.host);
		break;
	case UP_STG_CONNECTING:
		if (via[0] != '\0' && p->proxy_daemon)
			what = "connecting to proxy";
		else if (via[0] != '\0')
			what = "connecting to the proxy at";
		else
			what = "connecting to";
		if (via[0] != '\0' && p->proxy_daemon)
			snprintf(origin, sizeof(origin), "%s at %.*s",
			    p->proxy_name, 230, hop);
		else
			snprintf(origin, sizeof(origin), "%s", hop);
		via[0] = '\0';
		break;
	case UP_STG_PROXY_TLS:
		what = "the TLS handshake with the proxy at";
		snprintf(origin, sizeof(origin), "%s", hop);
		via[0] = '\0';
		break;
	case UP_STG_CONNECT_SENT:
	case UP_STG_SOCKS_METHOD:
	case UP_STG_SOCKS_AUTH:
	case UP_STG_SOCKS_REPLY:
		what = "opening a tunnel to";
		break;
	case UP_STG_TLS:
		what = "the TLS handshake with";
		break;
	case UP_STG_HEAD:
		what = c->req_done ? "waiting for the response head from" :
		    "sending the request to";
		break;
	case UP_STG_BODY:
		what = "reading the response body from";
		break;
	default:
		buf[0] = '\0';
		return;
	}
	if (code == HPOOL_E_TIMEOUT) {
		if (c->stage < UP_STG_READY) {
			ms = connect_timeout(c);
			own = cfg->connect_timeout_ms;
		} else {
			ms = c->owner != NULL ? c->ops->io_timeout(c->owner) :
			    cfg->io_timeout_ms;
			own = cfg->io_timeout_ms;
		}
		snprintf(tmo, sizeof(tmo), ", %s %s timeout %g s",
		    ms < own ? "the caller's" : "hpoold's",
		    c->stage < UP_STG_READY ? "connect" : "read", ms / 1000.0);
	}
	snprintf(buf, len, "%s %s%s%s", what, origin, via, tmo);
}

static void
connect_failed(struct upconn *c, int code, const char *msg)
{
	char named[400], detail[PROTO_DETAIL_MAX];

	/* Not through to a proxy of the daemon's (down, refused, timed
	 * out, unresolved): as a failed tunnel, naming it; the error's
	 * class stays what the cause makes it (ConnectionRefusedError is
	 * an OSError). Its own tunnel errors and TLS errors name it
	 * already. */
	if (c->pool->proxy_daemon && c->stage < UP_STG_TLS &&
	    c->stage != UP_STG_PROXY_TLS &&
	    strncmp(msg, "Tunnel connection failed", 24) != 0) {
		snprintf(named, sizeof(named), "Tunnel connection failed: %s "
		    "(proxy %s)", msg, c->pool->proxy_name);
		msg = named;
	}
	detail_text(c, code, detail, sizeof(detail));
	log_info("pool %s: connect failed: %s: %s (%s)", c->pool->name,
	    hpool_error_name(code), msg, detail);
	pool_conn_failed(c->pool, c, code, msg, detail);
}

/* Python's str(OSError): "[Errno 111] Connection refused". */
static void
errno_message(char *buf, size_t len, int err)
{
	if (err == ETIMEDOUT)
		snprintf(buf, len, "timed out");
	else
		snprintf(buf, len, "[Errno %d] %s", err, strerror(err));
}

static void
set_timeout(struct upconn *c, unsigned rd_ms, unsigned wr_ms)
{
	stream_set_timeouts(c->st, rd_ms, wr_ms);
}

void
up_begin(struct upconn *c, void *owner, const struct up_owner_ops *ops,
    int flags)
{
	unsigned ms = ops->io_timeout(owner);

	evtimer_del(c->idle_timer);
	c->owner = owner;
	c->ops = ops;
	stage_enter(c, UP_STG_HEAD);
	c->is_head = (flags & UP_REQ_HEAD) != 0;
	c->is_connect = (flags & UP_REQ_CONNECT) != 0;
	c->req_done = 0;
	c->reusable = (flags & UP_REQ_NO_REUSE) == 0;
	c->wr_mark = stream_written(c->st);
	c->resp_bytes = 0;
	c->head_scanned = 0;
	c->paused = 0;
	c->eof_seen = 0;
	c->nrequests++;
	jan_request(&c->jan);
	/* The server's answer is due once the whole request is out (as
	 * http.client reads only after sending): until then only writing
	 * is timed, and the session times the client's body frames. */
	set_timeout(c, 0, ms);
	stream_read_enable(c->st, 1);
}

int
up_request_sent(const struct upconn *c)
{
	if (c == NULL || c->st == NULL)
		return PROTO_SENT_NO;
	return stream_written(c->st) > c->wr_mark ? PROTO_SENT_MAYBE :
	    PROTO_SENT_NO;
}

void
up_make_private(struct upconn *c, uid_t uid)
{
	if (!c->private)
		log_debug("conn %llu: connection-bound authentication: "
		    "private to uid %u", (unsigned long long)c->id,
		    (unsigned)uid);
	else if (c->private_uid != uid) {
		/* two callers' credentials on one connection: keep neither */
		log_info("conn %llu: connection-bound authentication of uid "
		    "%u on uid %u's connection: not reused",
		    (unsigned long long)c->id, (unsigned)uid,
		    (unsigned)c->private_uid);
		c->reusable = 0;
	}
	c->private = 1;
	c->private_uid = uid;
}

void
up_write(struct upconn *c, const void *p, size_t n)
{
	if (evbuffer_add(stream_output(c->st), p, n) == -1)
		c->reusable = 0;	/* the exchange fails on its own */
}

size_t
up_output_len(const struct upconn *c)
{
	return evbuffer_get_length(stream_output(c->st));
}

void
up_request_done(struct upconn *c)
{
	unsigned ms;

	c->req_done = 1;
	if (c->owner != NULL) {
		ms = c->ops->io_timeout(c->owner);
		set_timeout(c, ms, ms);
	}
}

void
up_resume(struct upconn *c)
{
	if (!c->paused)
		return;
	c->paused = 0;
	stream_read_enable(c->st, 1);
	/* Bytes already buffered raise no new read event. */
	process_input(c, 0);
}

int
up_check_idle(struct upconn *c)
{
	char b;
	ssize_t n;

	if (evbuffer_get_length(stream_input(c->st)) != 0)
		return 0;
	/* TLS: session tickets may sit unread in the socket; an EOF or a
	 * stray record is seen by the stream's callbacks instead. */
	if (stream_ssl(c->st) != NULL)
		return 1;
	/* The server may have closed since the loop last looked. */
	n = recv(stream_fd(c->st), &b, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n == 0 || n > 0)
		return 0;
	return errno == EAGAIN || errno == EWOULDBLOCK;
}

void
up_set_idle(struct upconn *c)
{
	unsigned ms = jan_idle_ms(&c->jan, &c->pool->srv->cfg, jan_now_ms(),
	    &c->idle_why);
	struct timeval tv = ms_tv(ms);

	/* Idle: any byte or EOF from the server retires the connection. */
	stage_enter(c, UP_STG_READY);
	set_timeout(c, 0, 0);
	stream_read_enable(c->st, 1);
	evtimer_add(c->idle_timer, &tv);
}

void
up_abort(struct upconn *c)
{
	c->owner = NULL;
	pool_release(c, 0);
}

static void
read_cb(struct stream *st, void *arg)
{
	struct upconn *c = arg;

	(void)st;
	switch (c->state) {
	case UP_IDLE:
		log_debug("conn %llu: %zu unexpected bytes while idle",
		    (unsigned long long)c->id,
		    evbuffer_get_length(stream_input(c->st)));
		pool_conn_gone(c);
		return;
	case UP_ACTIVE:
		process_input(c, 0);
		return;
	case UP_CONNECTING:
		if (c->stage == UP_STG_CONNECT_SENT)
			tunnel_input(c, 0);
		else if (socks_stage(c))
			socks_input(c, 0);
		return;
	case UP_CLOSED:
		return;
	}
}

static void
write_cb(struct stream *st, void *arg)
{
	struct upconn *c = arg;

	(void)st;
	if (c->state == UP_ACTIVE && c->owner != NULL && !c->req_done)
		c->ops->writable(c->owner);
}

static void
event_cb(struct stream *st, short what, void *arg)
{
	struct upconn *c = arg;
	char msg[400];
	int err = errno;

	(void)st;
	if (c->state == UP_CONNECTING) {
		if (what & STREAM_CONNECTED) {
			if (c->stage == UP_STG_PROXY_TLS) {
				c->proxy_tls_up = c->proxy_tls_clean = 1;
				log_debug("conn %llu: %s TLS handshake with "
				    "proxy %s, %s", (unsigned long long)c->id,
				    SSL_session_reused(stream_ssl(c->st)) ?
				    "resumed" : "full", c->pool->proxy_name,
				    SSL_get_version(stream_ssl(c->st)));
				tcp_up(c);
			} else if (c->stage == UP_STG_TLS)
				connected(c);
			else
				tcp_up(c);
			return;
		}
		if (c->stage == UP_STG_PROXY_TLS) {
			/* the proxy is there; TLS to it failed */
			int code = tls_proxy_error(stream_ssl(c->st),
			    stream_ssl_error(c->st), c->pool, msg,
			    sizeof(msg));

			if (what & STREAM_EOF && code == HPOOL_E_SSL_ERROR &&
			    err == 0)
				snprintf(msg, sizeof(msg), "[SSL: "
				    "UNEXPECTED_EOF_WHILE_READING] EOF occurred "
				    "in violation of protocol (TLS to proxy %s)",
				    c->pool->proxy_name);
			connect_failed(c, code, msg);
			return;
		}
		if (c->stage == UP_STG_CONNECT_SENT) {
			if (what & STREAM_EOF) {
				tunnel_input(c, 1);
				return;
			}
			errno_message(msg, sizeof(msg), err ? err : ECONNRESET);
			connect_failed(c, hpool_error_from_errno(err ? err :
			    ECONNRESET), msg);
			return;
		}
		if (socks_stage(c)) {
			if (what & STREAM_EOF) {
				socks_input(c, 1);
				return;
			}
			errno_message(msg, sizeof(msg), err ? err : ECONNRESET);
			socks_failed(c, hpool_error_from_errno(err ? err :
			    ECONNRESET), msg);
			return;
		}
		if (c->stage == UP_STG_TLS) {
			/* No other address: the server is there, TLS failed. */
			int code = tls_error(stream_ssl(c->st),
			    stream_ssl_error(c->st), msg, sizeof(msg));

			if (what & STREAM_EOF && code == HPOOL_E_SSL_ERROR &&
			    err == 0)
				snprintf(msg, sizeof(msg), "[SSL: "
				    "UNEXPECTED_EOF_WHILE_READING] EOF occurred "
				    "in violation of protocol");
			connect_failed(c, code, msg);
			return;
		}
		/* TCP was up before the stream existed (race.c): what fails
		 * now fails the connect, with no other address to try */
		errno_message(msg, sizeof(msg), err ? err : ECONNRESET);
		connect_failed(c, hpool_error_from_errno(err ? err :
		    ECONNRESET), msg);
		return;
	}
	if (c->state == UP_IDLE) {
		pool_conn_gone(c);
		return;
	}
	if (c->state != UP_ACTIVE)
		return;
	if (what & STREAM_EOF) {
		process_input(c, 1);
		return;
	}
	if (what & STREAM_TIMEOUT) {
		exchange_error(c, HPOOL_E_TIMEOUT, "timed out", 0, -1);
		return;
	}
	/* A reset on a pooled connection before any response byte: the
	 * server dropped it while idle; the session may retry. */
	if (c->stage == UP_STG_HEAD && c->resp_bytes == 0 &&
	    c->nrequests > 1 && evbuffer_get_length(
	    stream_input(c->st)) == 0 &&
	    (err == ECONNRESET || err == EPIPE)) {
		exchange_error(c, -1, NULL, 0, -1);
		return;
	}
	if (stream_ssl(c->st) != NULL) {
		unsigned long e = stream_ssl_error(c->st);

		if (e != 0) {
			int code = tls_error(stream_ssl(c->st), e, msg,
			    sizeof(msg));

			exchange_error(c, code, msg, 0, -1);
			return;
		}
	}
	errno_message(msg, sizeof(msg), err ? err : ECONNRESET);
	exchange_error(c, hpool_error_from_errno(err ? err : ECONNRESET), msg,
	    0, -1);
}

/* TCP is up: through the proxy first if there is a tunnel, then TLS. */
static void
tcp_up(struct upconn *c)
{
	struct pool *p = c->pool;
	/* VER, NMETHODS, METHODS: username/password when the proxy has
	 * credentials (never offered the choice to skip them), else none */
	static const unsigned char greet_none[] = { SOCKS_VERSION, 1,
	    SOCKS_METHOD_NONE };
	static const unsigned char greet_auth[] = { SOCKS_VERSION, 1,
	    SOCKS_METHOD_USERPASS };

	if (p->proxy_tls_ctx != NULL && !c->proxy_tls_up) {
		/* an https:// proxy: TLS to it first, all else inside */
		start_proxy_tls(c);
		return;
	}
	if (p->tunnel_request != NULL && c->stage < UP_STG_CONNECT_SENT) {
		stream_read_enable(c->st, 1);
		if (p->key.tunnel_kind == POOL_TUNNEL_SOCKS5) {
			if (p->socks_auth != NULL)
				socks_send(c, greet_auth, sizeof(greet_auth),
				    UP_STG_SOCKS_METHOD);
			else
				socks_send(c, greet_none, sizeof(greet_none),
				    UP_STG_SOCKS_METHOD);
			return;
		}
		c->head_scanned = 0;
		stage_enter(c, UP_STG_CONNECT_SENT);
		evbuffer_add(stream_output(c->st), p->tunnel_request,
		    p->tunnel_request_len);
		return;
	}
	if (p->tls_ctx != NULL)
		start_tls(c);
	else
		connected(c);
}

/* The proxy's answer to CONNECT, read as http.client's _tunnel() does:
 * anything but 200 is OSError("Tunnel connection failed: ..."). */
static void
tunnel_input(struct upconn *c, int eof)
{
	struct evbuffer *in = stream_input(c->st);
	struct hp_head head;
	struct hp_error err;
	size_t len = evbuffer_get_length(in), want, consumed;
	char msg[300];
	int rc;

	if (!eof && len < HP_MAXHEAD && !head_complete(in, &c->head_scanned))
		return;
	want = len < HP_MAXHEAD ? len : HP_MAXHEAD;
	memset(&head, 0, sizeof(head));
	rc = hp_head_parse((const char *)evbuffer_pullup(in,
	    (ev_ssize_t)want), want, eof, 1, &head, &consumed, &err);
	if (rc == HP_AGAIN) {
		hp_head_free(&head);
		if (eof || want >= HP_MAXHEAD)
			connect_failed(c, HPOOL_E_HTTP_EXCEPTION, "the proxy's "
			    "CONNECT reply is too large or cut");
		return;
	}
	if (rc == HP_ERROR) {
		hp_head_free(&head);
		connect_failed(c, err.code, err.message);
		return;
	}
	if (head.status != 200) {
		int rl = (int)head.reason_len;
		const char *r = head.reason;

		while (rl > 0 && (r[rl - 1] == ' ' || r[rl - 1] == '\t'))
			rl--;
		while (rl > 0 && (*r == ' ' || *r == '\t')) {
			r++;
			rl--;
		}
		snprintf(msg, sizeof(msg), "Tunnel connection failed: %d %.*s%s"
		    "%s%s", head.status, rl > 200 ? 200 : rl, r,
		    c->pool->proxy_daemon ? " (proxy " : "",
		    c->pool->proxy_daemon ? c->pool->proxy_name : "",
		    c->pool->proxy_daemon ? ")" : "");
		hp_head_free(&head);
		connect_failed(c, HPOOL_E_OS_ERROR, msg);
		return;
	}
	hp_head_free(&head);
	evbuffer_drain(in, consumed);
	if (evbuffer_get_length(in) != 0) {
		/* The origin cannot speak before we do: refuse to guess. */
		connect_failed(c, HPOOL_E_OS_ERROR, "Tunnel connection failed: "
		    "unexpected bytes after the proxy's 200 reply");
		return;
	}
	tunnel_through(c);
}

/* The one place c->stage changes. */
static void
stage_enter(struct upconn *c, enum up_stage st)
{
	log_debug("conn %llu: %s -> %s", (unsigned long long)c->id,
	    stage_names[c->stage], stage_names[st]);
	c->stage = st;
}

/* The proxy answered yes: what follows is the target's. */
static void
tunnel_through(struct upconn *c)
{
	stream_read_enable(c->st, 0);
	if (c->pool->tls_ctx != NULL)
		start_tls(c);
	else
		connected(c);
}

static int
socks_stage(const struct upconn *c)
{
	return c->stage == UP_STG_SOCKS_METHOD ||
	    c->stage == UP_STG_SOCKS_AUTH || c->stage == UP_STG_SOCKS_REPLY;
}

/*
 * The proxy's reply awaited in stage st at the front of b (len bytes);
 * auth: username/password was offered. Returns the reply's length, 0
 * when more bytes are needed, or -1 and why (in words, never a
 * credential). No I/O; never reads past SOCKS_REPLY_MAX.
 */
static int
socks_reply(enum up_stage st, int auth, const unsigned char *b,
    size_t len, char *why, size_t whylen)
{
	size_t need;

	if (len < 2)
		return 0;
	switch (st) {
	case UP_STG_SOCKS_METHOD:
		if (b[0] != SOCKS_VERSION)
			break;
		if (b[1] == SOCKS_METHOD_REFUSED) {
			snprintf(why, whylen, "the proxy accepts no offered "
			    "authentication method (offered: %s)", auth ?
			    "username/password" : "no authentication");
			return -1;
		}
		if (b[1] != (auth ? SOCKS_METHOD_USERPASS :
		    SOCKS_METHOD_NONE)) {
			snprintf(why, whylen, "the proxy chose authentication "
			    "method 0x%02x, which was not offered", b[1]);
			return -1;
		}
		return 2;
	case UP_STG_SOCKS_AUTH:
		if (b[0] != SOCKS_AUTH_VERSION)
			break;
		if (b[1] != 0) {
			snprintf(why, whylen, "authentication failed: the "
			    "proxy refused the username and password "
			    "(status 0x%02x)", b[1]);
			return -1;
		}
		return 2;
	case UP_STG_SOCKS_REPLY:
		if (b[0] != SOCKS_VERSION)
			break;
		if (b[1] != 0) {
			snprintf(why, whylen, "reply %u: %s", b[1], b[1] <
			    sizeof(socks_rep_names) / sizeof(socks_rep_names[0])
			    ? socks_rep_names[b[1]] : "unassigned failure code");
			return -1;
		}
		if (len < 5)
			return 0;
		switch (b[3]) {		/* ATYP of BND.ADDR */
		case SOCKS_ATYP_IPV4:
			need = 4 + 4 + 2;
			break;
		case SOCKS_ATYP_IPV6:
			need = 4 + 16 + 2;
			break;
		case SOCKS_ATYP_NAME:
			need = 4 + 1 + (size_t)b[4] + 2;
			break;
		default:
			snprintf(why, whylen, "malformed CONNECT reply "
			    "(address type %u)", b[3]);
			return -1;
		}
		return len < need ? 0 : (int)need;
	default:
		snprintf(why, whylen, "no reply awaited");
		return -1;
	}
	snprintf(why, whylen, "malformed %s (version %u)", socks_awaited[st],
	    b[0]);
	return -1;
}

/* Bytes from the proxy while a SOCKS5 reply is awaited: the next
 * message on a reply that says yes, the tunnel once it is through. */
static void
socks_input(struct upconn *c, int eof)
{
	struct evbuffer *in = stream_input(c->st);
	struct pool *p = c->pool;
	unsigned char b[SOCKS_REPLY_MAX];
	ev_ssize_t got;
	char why[160];
	int n;

	if ((got = evbuffer_copyout(in, b, sizeof(b))) < 0)
		got = 0;
	n = socks_reply(c->stage, p->socks_auth != NULL, b,
	    (size_t)got, why, sizeof(why));
	if (n == -1) {
		socks_failed(c, HPOOL_E_OS_ERROR, why);
		return;
	}
	if (eof) {
		snprintf(why, sizeof(why), "the proxy closed the connection "
		    "%s its %s", n == 0 ? "before" : "after",
		    socks_awaited[c->stage]);
		socks_failed(c, HPOOL_E_OS_ERROR, why);
		return;
	}
	if (n == 0) {
		if ((size_t)got == sizeof(b)) {
			socks_failed(c, HPOOL_E_OS_ERROR, "the proxy's reply "
			    "is too long");
			return;
		}
		stream_read_more(c->st);
		return;
	}
	if (evbuffer_get_length(in) != (size_t)n) {
		/* the proxy speaks out of turn: refuse to guess */
		snprintf(why, sizeof(why), "unexpected bytes after the proxy's "
		    "%s", socks_awaited[c->stage]);
		socks_failed(c, HPOOL_E_OS_ERROR, why);
		return;
	}
	evbuffer_drain(in, (size_t)n);
	if (c->stage == UP_STG_SOCKS_METHOD && p->socks_auth != NULL)
		socks_send(c, p->socks_auth, p->socks_auth_len,
		    UP_STG_SOCKS_AUTH);
	else if (c->stage != UP_STG_SOCKS_REPLY)
		/* the method chosen needs nothing more, or auth passed */
		socks_send(c, p->tunnel_request, p->tunnel_request_len,
		    UP_STG_SOCKS_REPLY);
	else {
		log_debug("conn %llu: through SOCKS5 proxy %s",
		    (unsigned long long)c->id, p->proxy_name);
		tunnel_through(c);
	}
}

/* Write the next SOCKS5 message and wait in st for its reply. */
static void
socks_send(struct upconn *c, const void *msg, size_t len, enum up_stage st)
{
	if (evbuffer_add(stream_output(c->st), msg, len) == -1) {
		connect_failed(c, HPOOL_E_MEMORY, "hpoold: out of memory");
		return;
	}
	stage_enter(c, st);
}

/* As http.client says a failed tunnel: OSError("Tunnel connection
 * failed: ..."), naming the proxy (the subclass of code: a timeout, a
 * reset). why never holds a credential. */
static void
socks_failed(struct upconn *c, int code, const char *why)
{
	char msg[340];

	snprintf(msg, sizeof(msg), "Tunnel connection failed: SOCKS5 %.200s "
	    "(proxy %s)", why, c->pool->proxy_name);
	connect_failed(c, code, msg);
}

/* TCP is up: run the TLS handshake on the same stream. */
static void
start_tls(struct upconn *c)
{
	SSL *ssl;
	char msg[160];

	if ((ssl = tls_ssl_new(c->pool, c)) == NULL) {
		tls_error(NULL, ERR_get_error(), msg, sizeof(msg));
		connect_failed(c, HPOOL_E_SSL_ERROR, msg);
		return;
	}
	/* Servers often close without close_notify: the stream reports that
	 * as EOF, as Python's suppress_ragged_eofs does. Through an
	 * https:// proxy this TLS runs inside the proxy's. */
	tls_begin(c, ssl, UP_STG_TLS);
}

/* ssl over the stream (over its TLS, if it has one already), its
 * handshake the connection's stage st. */
static void
tls_begin(struct upconn *c, SSL *ssl, enum up_stage st)
{
	if (stream_start_tls(c->st, ssl) == -1) {
		SSL_free(ssl);
		connect_failed(c, HPOOL_E_MEMORY, "hpoold: out of memory");
		return;
	}
	stage_enter(c, st);
}

/* TCP to an https:// proxy is up: TLS to the proxy on the socket. */
static void
start_proxy_tls(struct upconn *c)
{
	SSL *ssl;
	char msg[300];

	if ((ssl = tls_proxy_ssl_new(c->pool, c)) == NULL) {
		tls_proxy_error(NULL, ERR_get_error(), c->pool, msg,
		    sizeof(msg));
		connect_failed(c, HPOOL_E_SSL_ERROR, msg);
		return;
	}
	tls_begin(c, ssl, UP_STG_PROXY_TLS);
}

static void
connected(struct upconn *c)
{
	struct server *srv = c->pool->srv;
	SSL *ssl;

	evtimer_del(c->idle_timer);
	free(c->addrs);
	c->addrs = NULL;
	c->next_addr = 0;
	jan_born(&c->jan);
	if (c->stage == UP_STG_TLS) {
		c->tls_clean = 1;
		ssl = stream_ssl(c->st);
		if (SSL_session_reused(ssl))
			srv->stats.tls_resumed++;
		else
			srv->stats.tls_full++;
		log_debug("conn %llu: %s TLS handshake, %s",
		    (unsigned long long)c->id, SSL_session_reused(ssl) ?
		    "resumed" : "full", SSL_get_version(ssl));
	}
	stage_enter(c, UP_STG_READY);
	stream_read_enable(c->st, 0);
	pool_conn_ready(c->pool, c);
}

/*
 * Has the head's blank line arrived? The parser is run only then (or at
 * EOF, or at the size cap), so a server trickling its head byte by byte
 * costs a search of the new bytes, not a re-parse of everything.
 */
static int
head_complete(struct evbuffer *in, size_t *scanned)
{
	struct evbuffer_ptr pos, hit;
	size_t len = evbuffer_get_length(in);
	size_t from = *scanned > 2 ? *scanned - 2 : 0;

	if (len == 0 || evbuffer_ptr_set(in, &pos, from, EVBUFFER_PTR_SET) != 0)
		return 0;
	hit = evbuffer_search(in, "\n\n", 2, &pos);
	if (hit.pos != -1)
		return 1;
	evbuffer_ptr_set(in, &pos, from, EVBUFFER_PTR_SET);
	hit = evbuffer_search(in, "\n\r\n", 3, &pos);
	if (hit.pos != -1)
		return 1;
	*scanned = len;
	return 0;
}

/* Parse what the server sent and pass it on, stopping when the client
 * cannot take more (backpressure) or the exchange ends. */
static void
process_input(struct upconn *c, int eof)
{
	struct evbuffer *in = stream_input(c->st);
	struct hp_head head;
	struct hp_error err;
	struct evbuffer_iovec v;
	const char *data;
	size_t len, consumed, dlen, want;
	unsigned char *buf;
	int rc;

	/* EOF is seen once; a paused exchange must still know it later. */
	if (eof)
		c->eof_seen = 1;
	eof = c->eof_seen;
	while (c->state == UP_ACTIVE && c->owner != NULL && !c->paused) {
		len = evbuffer_get_length(in);
		if (c->stage == UP_STG_HEAD) {
			if (len == 0 && !eof) {
				stream_read_more(c->st);
				return;
			}
			if (!eof && len < HP_MAXHEAD &&
			    !head_complete(in, &c->head_scanned)) {
				stream_read_more(c->st);
				return;
			}
			want = len < HP_MAXHEAD ? len : HP_MAXHEAD;
			buf = evbuffer_pullup(in, (ev_ssize_t)want);
			memset(&head, 0, sizeof(head));
			rc = hp_head_parse((const char *)buf, want, eof,
			    c->is_head, &head, &consumed, &err);
			if (rc == HP_AGAIN) {
				hp_head_free(&head);
				if (eof || want >= HP_MAXHEAD) {
					exchange_error(c, HPOOL_E_HTTP_EXCEPTION,
					    "response head too large or cut",
					    0, -1);
					return;
				}
				stream_read_more(c->st);
				return;
			}
			if (rc == HP_ERROR) {
				hp_head_free(&head);
				if (err.code == HPOOL_E_REMOTE_DISCONNECTED &&
				    c->resp_bytes == 0 && c->nrequests > 1) {
					exchange_error(c, -1, NULL, 0, -1);
					return;
				}
				exchange_error(c, err.code, err.message,
				    err.partial, err.expected);
				return;
			}
			c->resp_bytes += consumed;
			if (head.status == 100) {
				hp_head_free(&head);
				evbuffer_drain(in, consumed);
				c->head_scanned = 0;
				continue;
			}
			if (!head.reusable)
				c->reusable = 0;
			/* A server that answers HTTP/1.0 may not frame a
			 * request as 1.1 does (a body on GET read as the
			 * next request): what follows on its connection
			 * could be another caller's answer. */
			if (head.version == 10)
				c->reusable = 0;
			/* A 2xx to CONNECT has no body and makes the
			 * connection a tunnel (RFC 9110 9.3.6): nobody else
			 * may ever write to it. */
			if (c->is_connect && head.status >= 200 &&
			    head.status < 300) {
				head.framing = HP_FRAME_NONE;
				head.length = -1;
				head.will_close = 1;
				c->reusable = 0;
			}
			jan_response(&c->jan, &head);
			hp_body_init(&c->body, &head);
			c->ops->resp_head(c->owner, &head);
			hp_head_free(&head);
			evbuffer_drain(in, consumed);
			stage_enter(c, UP_STG_BODY);
			continue;
		}
		if (c->stage == UP_STG_DONE)
			return;
		/* Body: the first segment usually holds whole parseable
		 * units; pull more together only when the parser asks. */
		if (len > 0 && evbuffer_peek(in, -1, NULL, &v, 1) >= 1) {
			buf = v.iov_base;
			want = v.iov_len;
		} else {
			buf = NULL;
			want = 0;
		}
		rc = hp_body_parse(&c->body, (const char *)buf, want,
		    eof && want == len, &data, &dlen, &consumed, &err);
		if (rc == HP_AGAIN && want < len) {
			/* What the parser took stays taken: drop it first. */
			evbuffer_drain(in, consumed);
			c->resp_bytes += consumed;
			len = evbuffer_get_length(in);
			want = len < HP_MAXLINE + 64 ? len : HP_MAXLINE + 64;
			buf = evbuffer_pullup(in, (ev_ssize_t)want);
			rc = hp_body_parse(&c->body, (const char *)buf, want,
			    eof && want == len, &data, &dlen, &consumed, &err);
		}
		if (rc == HP_DATA) {
			/* data is a slice of in's front: drop the framing
			 * before it, then move the body bytes themselves. */
			size_t pre = (size_t)(data - (const char *)buf);

			evbuffer_drain(in, pre);
			c->ops->resp_body(c->owner, in, dlen);
			evbuffer_drain(in, consumed - pre - dlen);
			c->resp_bytes += consumed;
			if (c->ops->output_len(c->owner) > UP_READ_HIGH) {
				c->paused = 1;
				stream_read_enable(c->st, 0);
			}
			continue;
		}
		evbuffer_drain(in, consumed);
		c->resp_bytes += consumed;
		if (rc == HP_DONE) {
			if (!c->body.reusable)
				c->reusable = 0;
			stage_enter(c, UP_STG_DONE);
			/* A response that ended before its request did leaves
			 * the server mid-request: never reuse that. */
			if (!c->req_done)
				c->reusable = 0;
			exchange_done(c);
			return;
		}
		if (rc == HP_ERROR) {
			exchange_error(c, err.code, err.message, err.partial,
			    err.expected);
			return;
		}
		if (eof && want == len) {
			exchange_error(c, HPOOL_E_HTTP_EXCEPTION,
			    "response body parser stalled at end of stream",
			    c->body.received, -1);
			return;
		}
		if (consumed == 0) {
			stream_read_more(c->st);
			return;		/* wait for more bytes */
		}
	}
}

/* The exchange failed: the connection is closed, never pooled. code -1:
 * a pooled connection the server had closed; the session may retry. */
static void
exchange_error(struct upconn *c, int code, const char *msg,
    uint64_t partial, int64_t expected)
{
	void *owner = c->owner;
	const struct up_owner_ops *ops = c->ops;
	int sent = up_request_sent(c);
	char detail[PROTO_DETAIL_MAX];

	detail_text(c, code == -1 ? HPOOL_E_REMOTE_DISCONNECTED : code,
	    detail, sizeof(detail));
	c->owner = NULL;
	c->tls_clean = c->proxy_tls_clean = 0;
	pool_release(c, 0);
	if (owner == NULL)
		return;
	if (code == -1) {
		if (ops->retry(owner, sent))
			return;
		code = HPOOL_E_REMOTE_DISCONNECTED;
		msg = "Remote end closed connection without response";
	}
	ops->error(owner, code, msg, partial, expected, sent, detail);
}

static void
exchange_done(struct upconn *c)
{
	void *owner = c->owner;
	const struct up_owner_ops *ops = c->ops;
	struct evbuffer *in = stream_input(c->st);
	int reusable;
	uint8_t flags = 0;

	reusable = c->reusable && c->req_done &&
	    evbuffer_get_length(in) == 0;
	if (!reusable)
		log_debug("conn %llu: not reusable (parser %d, request %s, "
		    "%zu bytes left)", (unsigned long long)c->id, c->reusable,
		    c->req_done ? "sent" : "unfinished",
		    evbuffer_get_length(in));
	if (c->nrequests > 1)
		flags |= PROTO_END_REUSED;
	if (reusable)
		flags |= PROTO_END_POOLED;
	c->owner = NULL;
	pool_release(c, reusable);
	if (owner != NULL)
		ops->resp_end(owner, flags);
}
