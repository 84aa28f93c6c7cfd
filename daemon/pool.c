/* pool.c: owns the pools: which list each upstream connection is on, the
 * queue of waiting sessions, and handing connections out. */
#include <sys/socket.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "hpool_error.h"
#include "quota.h"
#include "log.h"
#include "dns.h"
#include "pool.h"
#include "server.h"
#include "proto.h"
#include "route.h"
#include "session.h"
#include "stats.h"
#include "tls.h"
#include "upstream.h"

#define POOL_SLOTS	1024	/* hash slots; chains grow beyond */
/* An empty TLS pool is kept this long so that its TLS session can resume
 * the next connection to the key (nginx's default session timeout). */
#define POOL_LINGER_SEC	300
/* A pool at max_per_host because of other workers' connections looks
 * again this often; idle ones elsewhere give way within a sweep. */
#define POOL_RETRY_MS	50
#define POOL_SWEEP_MS	100

static uint64_t	key_hash(const struct pool_key *);
static void	pool_block(struct pool *);
static void	pool_unblock(struct pool *);
static void	retry_cb(evutil_socket_t, short, void *);
static void	sweep_cb(evutil_socket_t, short, void *);
static void	pool_dispatch(struct pool *);
static void	pool_set_state(struct upconn *, enum up_state);
static struct upconn *idle_for(struct pool *, struct session *);
static void	evict(struct pool *, struct upconn *);
static int	conn_take(struct pool *, uid_t, char *, size_t);
static void	pool_maybe_free(struct pool *);
static void	pool_free(struct pool *);
static void	linger_cb(evutil_socket_t, short, void *);
static int	tunnel_request(struct pool *, const struct proto_open *);
static int	socks_request(struct pool *, const struct policy_proxy *);
static void	tunnel_free(struct pool *);
static struct pool *pool_get(struct server *, const struct pool_key *,
		    const struct proto_open *, const struct policy_proxy *,
		    int *, char *, size_t);

/* FNV-1a, 64 bits: the key's hash slot in this worker's table, and its
 * name among every worker's pools (quota.c). Keys are zero-filled
 * structs, so hashing every byte is stable. */
static uint64_t
key_hash(const struct pool_key *k)
{
	const unsigned char *p = (const unsigned char *)k;
	uint64_t h = 14695981039346656037ULL;
	size_t i;

	for (i = 0; i < sizeof(*k); i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h;
}

static struct pool *
pool_get(struct server *srv, const struct pool_key *key,
    const struct proto_open *o, const struct policy_proxy *socks, int *code,
    char *err, size_t errlen)
{
	struct pool *p;
	uint64_t hash;
	uint32_t slot;
	SSL_CTX *ctx = NULL;

	if (srv->pools == NULL) {
		srv->pools = calloc(POOL_SLOTS, sizeof(*srv->pools));
		if (srv->pools == NULL)
			return NULL;
		srv->npool_slots = POOL_SLOTS;
	}
	hash = key_hash(key);
	slot = hash % srv->npool_slots;
	for (p = srv->pools[slot]; p != NULL; p = p->next)
		if (memcmp(&p->key, key, sizeof(*key)) == 0)
			return p;
	/* A new key: only now is a TLS context built, so callers of a warm
	 * pool never pay for loading certificates. */
	if (strcmp(key->scheme, "https") == 0 &&
	    (ctx = tls_ctx_new(o, code, err, errlen)) == NULL)
		return NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		SSL_CTX_free(ctx);
		*code = HPOOL_E_MEMORY;
		snprintf(err, errlen, "hpoold: out of memory");
		return NULL;
	}
	p->srv = srv;
	p->key = *key;
	p->dest_key = hash;
	p->tls_ctx = ctx;
	if (key->tunnel_host[0] && (key->tunnel_kind == POOL_TUNNEL_SOCKS5 ?
	    socks_request(p, socks) : tunnel_request(p, o)) == -1) {
		SSL_CTX_free(ctx);
		tunnel_free(p);
		free(p);
		*code = HPOOL_E_MEMORY;
		snprintf(err, errlen, "hpoold: out of memory");
		return NULL;
	}
	/* the proxy's name for errors; TLS to it for an https:// one */
	if (tls_proxy_setup(p, o, code, err, errlen) == -1) {
		tls_pool_free(p);
		tunnel_free(p);
		free(p);
		return NULL;
	}
	if (ctx != NULL) {
		p->tls_check_hostname = o->tls_check_hostname;
		if (o->tls_sni.len > 0 && o->tls_sni.len < sizeof(p->tls_sni)) {
			memcpy(p->tls_sni, o->tls_sni.p, o->tls_sni.len);
			p->tls_sni[o->tls_sni.len] = '\0';
		}
	}
	snprintf(p->name, sizeof(p->name), "%s://%s:%u%s%s%s%.64s", key->scheme,
	    key->host, key->port, key->src_host[0] ? " from " : "",
	    key->src_host, !key->tunnel_host[0] ? "" : key->tunnel_kind ==
	    POOL_TUNNEL_SOCKS5 ? " socks5h to " : " tunnel to ",
	    key->tunnel_host);
	TAILQ_INIT(&p->idle);
	TAILQ_INIT(&p->active);
	TAILQ_INIT(&p->connecting);
	TAILQ_INIT(&p->waiters);
	p->next = srv->pools[slot];
	srv->pools[slot] = p;
	if (ctx != NULL)
		snprintf(p->name + strlen(p->name), sizeof(p->name) -
		    strlen(p->name), " tls %02x%02x%02x%02x", key->tls_digest[0],
		    key->tls_digest[1], key->tls_digest[2], key->tls_digest[3]);
	srv->npools++;
	log_debug("pool %s: created", p->name);
	return p;
}

unsigned
pool_connect_timeout(const struct pool *p)
{
	struct session *s = TAILQ_FIRST(&p->waiters);

	return s != NULL ? sess_connect_timeout(s) :
	    p->srv->cfg.connect_timeout_ms;
}

const struct policy_caller *
pool_opener(const struct pool *p)
{
	struct session *s = TAILQ_FIRST(&p->waiters);

	return s != NULL ? &s->caller.who : p->warm_who;
}

void
pool_key_make(struct pool_key *key, const struct proto_open *o,
    const struct route *rt, uint32_t uid_part)
{
	int tls = proto_str_eq(&o->scheme, "https");

	memset(key, 0, sizeof(*key));
	memcpy(key->scheme, tls ? "https" : "http", tls ? 5 : 4);
	memcpy(key->host, o->host.p, o->host.len);
	key->port = o->port;
	if (o->source_host.len > 0)
		memcpy(key->src_host, o->source_host.p, o->source_host.len);
	key->src_port = o->source_port;
	key->uid = uid_part;
	if (tls)
		tls_settings_digest(o, key->tls_digest);
	if (o->tunnel_host.len > 0) {
		memcpy(key->tunnel_host, o->tunnel_host.p, o->tunnel_host.len);
		key->tunnel_port = o->tunnel_port;
		if (rt->socks != NULL)
			key->tunnel_kind = POOL_TUNNEL_SOCKS5;
		route_tunnel_digest(o, rt->socks, key->tunnel_digest);
	} else if (rt->absolute != NULL) {
		key->tunnel_kind = POOL_FORWARD_ABSOLUTE;
		route_tunnel_digest(o, rt->absolute, key->tunnel_digest);
	}
}

struct pool *
pool_ref(struct server *srv, const struct pool_key *key,
    const struct proto_open *o, const struct policy_proxy *socks, int *code,
    char *err, size_t errlen)
{
	struct pool *p;

	if ((p = pool_get(srv, key, o, socks, code, err, errlen)) != NULL) {
		p->nsessions++;
		if (p->linger != NULL)
			evtimer_del(p->linger);
	}
	return p;
}

int
pool_addr_ok(const struct pool *p, const struct upconn *c,
    const struct session *s)
{
	char why[256];

	if (!p->addr_check || c->peer.ss_family == AF_UNSPEC)
		return 1;
	return policy_addr_ok(p->srv->cfg.policy, &s->caller.who, p->key.scheme,
	    p->key.host, p->key.port, (const struct sockaddr *)&c->peer, why,
	    sizeof(why));
}
void
pool_unref(struct pool *p)
{
	p->nsessions--;
	pool_maybe_free(p);
}

/* A pool with no connections and no waiters is freed: keys come and go.
 * One with a TLS session to resume lingers a while first. */
static void
pool_maybe_free(struct pool *p)
{
	struct timeval tv = { POOL_LINGER_SEC, 0 };

	if (p->nidle || p->nactive || p->nconnecting || p->nwaiters ||
	    p->nsessions)
		return;
	if ((p->tls_session != NULL || p->proxy_tls_session != NULL) &&
	    !p->srv->draining) {
		if (p->linger == NULL &&
		    (p->linger = evtimer_new(p->srv->base, linger_cb, p)) == NULL)
			pool_free(p);
		else
			evtimer_add(p->linger, &tv);
		return;
	}
	pool_free(p);
}

/* The CONNECT request http.client's _tunnel() sends, made once. */
static int
tunnel_request(struct pool *p, const struct proto_open *o)
{
	size_t i, len;
	char *r;
	int n;

	len = 64 + 2 * o->tunnel_host.len;
	for (i = 0; i < o->ntunnel_headers; i++)
		len += o->tunnel_headers[i].name.len +
		    o->tunnel_headers[i].value.len + 4;
	if ((r = malloc(len)) == NULL)
		return -1;
	n = snprintf(r, len, "CONNECT %s:%u HTTP/1.0\r\n", p->key.tunnel_host,
	    p->key.tunnel_port);
	for (i = 0; i < o->ntunnel_headers; i++) {
		const struct proto_header *h = &o->tunnel_headers[i];

		memcpy(r + n, h->name.p, h->name.len);
		n += (int)h->name.len;
		memcpy(r + n, ": ", 2);
		n += 2;
		if (h->value.len)
			memcpy(r + n, h->value.p, h->value.len);
		n += (int)h->value.len;
		memcpy(r + n, "\r\n", 2);
		n += 2;
	}
	memcpy(r + n, "\r\n", 2);
	n += 2;
	p->tunnel_request = r;
	p->tunnel_request_len = (size_t)n;
	return 0;
}

/*
 * The messages of a SOCKS5 CONNECT (RFC 1928) to the key's target, made
 * once: the request (ATYP 1 or 4 for an IP literal, else 3: the name,
 * resolved by the proxy) and, with credentials, the RFC 1929
 * username/password message. upstream.c sends the greeting and reads the
 * replies.
 */
static int
socks_request(struct pool *p, const struct policy_proxy *px)
{
	/* VER CMD RSV ATYP, the longest address (a 255-byte name), PORT */
	unsigned char r[4 + 1 + 255 + 2], addr[16], *a;
	size_t hlen = strlen(p->key.tunnel_host), ulen, plen, n = 0;

	if (px == NULL || hlen == 0 || hlen > 255)
		return -1;
	snprintf(p->proxy_name, sizeof(p->proxy_name), "%s", px->name);
	r[n++] = 5;		/* VER */
	r[n++] = 1;		/* CMD: CONNECT */
	r[n++] = 0;		/* RSV */
	if (inet_pton(AF_INET, p->key.tunnel_host, addr) == 1) {
		r[n++] = 1;	/* ATYP: IPv4 */
		memcpy(r + n, addr, 4);
		n += 4;
	} else if (inet_pton(AF_INET6, p->key.tunnel_host, addr) == 1) {
		r[n++] = 4;	/* ATYP: IPv6 */
		memcpy(r + n, addr, 16);
		n += 16;
	} else {
		r[n++] = 3;	/* ATYP: DOMAINNAME */
		r[n++] = (unsigned char)hlen;
		memcpy(r + n, p->key.tunnel_host, hlen);
		n += hlen;
	}
	r[n++] = (unsigned char)(p->key.tunnel_port >> 8);
	r[n++] = (unsigned char)(p->key.tunnel_port & 0xff);
	if ((p->tunnel_request = malloc(n)) == NULL)
		return -1;
	memcpy(p->tunnel_request, r, n);
	p->tunnel_request_len = n;
	if (px->user[0] == '\0')
		return 0;
	/* policy.c keeps each under 128 bytes: it fits its length byte */
	ulen = strlen(px->user);
	plen = strlen(px->pass);
	if ((a = malloc(3 + ulen + plen)) == NULL)
		return -1;
	a[0] = 1;		/* the subnegotiation's version */
	a[1] = (unsigned char)ulen;
	memcpy(a + 2, px->user, ulen);
	a[2 + ulen] = (unsigned char)plen;
	memcpy(a + 3 + ulen, px->pass, plen);
	p->socks_auth = a;
	p->socks_auth_len = 3 + ulen + plen;
	return 0;
}

/* The tunnel's messages; the credentials in them are wiped first. */
static void
tunnel_free(struct pool *p)
{
	if (p->tunnel_request != NULL)
		explicit_bzero(p->tunnel_request, p->tunnel_request_len);
	free(p->tunnel_request);
	if (p->socks_auth != NULL)
		explicit_bzero(p->socks_auth, p->socks_auth_len);
	free(p->socks_auth);
	p->tunnel_request = NULL;
	p->socks_auth = NULL;
}

const char *
pool_tls_name(const struct pool *p)
{
	if (p->tls_sni[0])
		return p->tls_sni;
	/* Through a tunnel the TLS peer is the target, not the proxy. */
	if (p->key.tunnel_host[0])
		return p->key.tunnel_host;
	return p->key.host;
}

static void
linger_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pool *p = arg;

	(void)fd;
	(void)what;
	if (!(p->nidle || p->nactive || p->nconnecting || p->nwaiters ||
	    p->nsessions)) {
		jan_count(p->srv, JAN_POOL_LINGER, 0);
		pool_free(p);
	}
}

static void
pool_free(struct pool *p)
{
	struct server *srv = p->srv;
	struct pool **pp;
	uint32_t slot;

	slot = p->dest_key % srv->npool_slots;
	for (pp = &srv->pools[slot]; *pp != NULL; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	srv->npools--;
	log_debug("pool %s: freed", p->name);
	pool_unblock(p);
	if (p->retry != NULL)
		event_free(p->retry);
	if (p->linger != NULL)
		event_free(p->linger);
	tls_pool_free(p);
	tunnel_free(p);
	free(p);
}

/* The one place a connection moves between the pool's lists. */
static void
pool_set_state(struct upconn *c, enum up_state st)
{
	struct pool *p = c->pool;

	switch (c->state) {
	case UP_CONNECTING:
		TAILQ_REMOVE(&p->connecting, c, entry);
		p->nconnecting--;
		break;
	case UP_IDLE:
		TAILQ_REMOVE(&p->idle, c, entry);
		TAILQ_REMOVE(&p->srv->idle_lru, c, lru);
		p->nidle--;
		quota_idle_add(-1);
		break;
	case UP_ACTIVE:
		TAILQ_REMOVE(&p->active, c, entry);
		p->nactive--;
		break;
	case UP_CLOSED:
		break;
	}
	log_debug("pool %s: conn %llu %d -> %d", p->name,
	    (unsigned long long)c->id, c->state, st);
	c->state = st;
	switch (st) {
	case UP_CONNECTING:
		TAILQ_INSERT_TAIL(&p->connecting, c, entry);
		p->nconnecting++;
		break;
	case UP_IDLE:
		TAILQ_INSERT_HEAD(&p->idle, c, entry);	/* LIFO */
		TAILQ_INSERT_HEAD(&p->srv->idle_lru, c, lru);
		p->nidle++;
		quota_idle_add(1);
		break;
	case UP_ACTIVE:
		TAILQ_INSERT_TAIL(&p->active, c, entry);
		p->nactive++;
		break;
	case UP_CLOSED:
		break;
	}
}

int
pool_enqueue(struct pool *p, struct session *s, int front)
{
	if (!front && p->nwaiters >= p->srv->cfg.max_queue &&
	    p->nidle == 0)
		return -1;
	if (front)
		TAILQ_INSERT_HEAD(&p->waiters, s, wentry);
	else
		TAILQ_INSERT_TAIL(&p->waiters, s, wentry);
	p->nwaiters++;
	pool_dispatch(p);
	return 0;
}

void
pool_dequeue(struct pool *p, struct session *s)
{
	TAILQ_REMOVE(&p->waiters, s, wentry);
	p->nwaiters--;
}

/* The newest idle connection uid may use: one that carried another
 * caller's connection-bound authentication serves only that caller. */
static struct upconn *
idle_for(struct pool *p, struct session *s)
{
	struct upconn *c;

	TAILQ_FOREACH(c, &p->idle, entry)
		if ((!c->private || c->private_uid == s->peer_uid) &&
		    pool_addr_ok(p, c, s))
			return c;
	return NULL;
}

/* Close an idle connection to make room. Its pool is freed if that left
 * it empty, unless it is the pool being dispatched (p). */
static void
evict(struct pool *p, struct upconn *c)
{
	struct pool *q = c->pool;

	log_debug("pool %s: conn %llu closed to make room", q->name,
	    (unsigned long long)c->id);
	pool_set_state(c, UP_CLOSED);
	up_free(c);
	if (q != p)
		pool_maybe_free(q);
}

/*
 * Count a new connection for uid against max_connections and
 * max_connections_per_uid. At a limit, idle connections of this worker
 * give way, oldest first: uid's own before anyone's, so a caller at its
 * own limit recycles its own pool keys and nobody else's.
 */
static int
conn_take(struct pool *p, uid_t uid, char *why, size_t whylen)
{
	struct server *srv = p->srv;
	struct upconn *c;
	int round;

	for (round = 0; round < 2; round++) {
		if (quota_conn_take(uid, &srv->cfg, why, whylen) == 0)
			return 0;
		TAILQ_FOREACH_REVERSE(c, &srv->idle_lru, upconn_lru, lru)
			if (c->charged && c->charged_uid == uid)
				break;
		if (c == NULL &&
		    quota_conns() >= srv->cfg.max_connections)
			c = TAILQ_LAST(&srv->idle_lru, upconn_lru);
		if (c == NULL)
			break;
		evict(p, c);
	}
	log_info("pool %s: %s", p->name, why);
	return -1;
}

/* Every place of max_per_host is taken, some by other workers: say so
 * (their idle connections give way) and look again shortly. */
static void
pool_block(struct pool *p)
{
	struct timeval tv = ms_tv(POOL_RETRY_MS);

	if (p->retry == NULL &&
	    (p->retry = evtimer_new(p->srv->base, retry_cb, p)) == NULL)
		return;		/* the next release here dispatches again */
	if (!p->blocked) {
		p->blocked = 1;
		quota_dest_want(p->dest_key, 1);
	}
	evtimer_add(p->retry, &tv);
}

static void
pool_unblock(struct pool *p)
{
	if (!p->blocked)
		return;
	p->blocked = 0;
	quota_dest_want(p->dest_key, 0);
	evtimer_del(p->retry);
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	pool_dispatch(arg);
}

int
pool_init(struct server *srv)
{
	struct timeval tv = ms_tv(POOL_SWEEP_MS);

	srv->sweep = event_new(srv->base, -1, EV_PERSIST, sweep_cb, srv);
	if (srv->sweep == NULL || event_add(srv->sweep, &tv) == -1)
		return -1;
	return 0;
}

/* While a pool of another worker waits at max_per_host, this worker's
 * idle connections to that destination are closed to make room. */
static void
sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;
	struct upconn *c, *prev;

	(void)fd;
	(void)what;
	if (!quota_any_wanted())
		return;
	for (c = TAILQ_LAST(&srv->idle_lru, upconn_lru); c != NULL;
	    c = prev) {
		prev = TAILQ_PREV(c, upconn_lru, lru);
		if (!c->pool->blocked && c->pool->nwaiters == 0 &&
		    quota_dest_wanted(c->pool->dest_key))
			evict(NULL, c);
	}
}

/*
 * Match waiters with connections: an idle one the first waiter may use
 * (newest first, after a last check that it is still usable), else a new
 * one while under the per-host cap. Connections being opened are not
 * promised to a waiter: whoever is first in line when one is ready gets
 * it.
 */
/* A new connection c of p starts connecting, charged to uid (its place
 * in quota.c's counts already taken) and counted: the one way any
 * connection of a pool begins. */
static void
conn_open(struct pool *p, struct upconn *c, uid_t uid)
{
	c->charged = 1;
	c->charged_uid = uid;
	c->dest_counted = 1;
	c->state = UP_CLOSED;
	pool_set_state(c, UP_CONNECTING);
	p->srv->stats.upstream_connects++;
	if (p->row != NULL)
		p->row->connects++;
	/* Starts on the next loop turn: no callback re-enters here. */
	up_connect(c);
}

static void
pool_dispatch(struct pool *p)
{
	struct session *s;
	struct upconn *c;
	unsigned total;
	char why[160];
	int end;

	pool_unblock(p);
	while ((s = TAILQ_FIRST(&p->waiters)) != NULL) {
		if ((c = idle_for(p, s)) != NULL) {
			if (!up_check_idle(c)) {
				log_debug("pool %s: conn %llu went stale",
				    p->name, (unsigned long long)c->id);
				pool_set_state(c, UP_CLOSED);
				up_free(c);
				continue;
			}
			if ((end = jan_expired(&c->jan, c->nrequests,
			    &p->srv->cfg, jan_now_ms(), 1)) != 0) {
				jan_count(p->srv, (enum jan_reason)(end - 1),
				    c->id);
				pool_set_state(c, UP_CLOSED);
				up_free(c);
				continue;
			}
			if (!dns_still_current(p->srv->names, p->key.host,
			    (const struct sockaddr *)&c->peer)) {
				/* drained: it served its requests; the name
				 * has moved, so no more go to it */
				log_debug("pool %s: conn %llu: its address "
				    "left %s's DNS answer", p->name,
				    (unsigned long long)c->id, p->key.host);
				pool_set_state(c, UP_CLOSED);
				up_free(c);
				continue;
			}
			pool_dequeue(p, s);
			pool_set_state(c, UP_ACTIVE);
			p->srv->stats.upstream_reuses++;
			if (p->row != NULL)
				p->row->reuses++;
			sess_attach(s, c);
			continue;
		}
		total = p->nidle + p->nactive + p->nconnecting;
		if (p->nwaiters <= p->nconnecting)
			break;
		if (total >= p->srv->cfg.max_per_host) {
			/* At the cap, idle connections the first waiter may
			 * not use (private to another caller) give way,
			 * oldest first: else it would wait for their idle
			 * timeout. */
			if ((c = TAILQ_LAST(&p->idle, upconn_list)) == NULL)
				break;
			evict(p, c);
			continue;
		}
		/* max_per_host holds for every worker together */
		if (quota_dest_take(p->dest_key,
		    p->srv->cfg.max_per_host) == -1) {
			if ((c = TAILQ_LAST(&p->idle, upconn_list)) != NULL) {
				evict(p, c);
				continue;
			}
			pool_block(p);
			break;
		}
		if (conn_take(p, s->peer_uid, why, sizeof(why)) == -1) {
			quota_dest_put(p->dest_key);
			pool_dequeue(p, s);
			sess_upstream_error(s, HPOOL_E_POLICY, why, 0, -1,
			    PROTO_SENT_NO, "opening a connection");
			continue;
		}
		if ((c = up_new(p)) == NULL) {
			quota_conn_put(s->peer_uid);
			quota_dest_put(p->dest_key);
			pool_dequeue(p, s);
			sess_upstream_error(s, HPOOL_E_MEMORY,
			    "hpoold: out of memory opening a connection", 0,
			    -1, PROTO_SENT_NO, NULL);
			continue;
		}
		conn_open(p, c, s->peer_uid);
	}
	pool_maybe_free(p);
}

int
pool_warm_connect(struct pool *p, uid_t uid)
{
	struct upconn *c;
	char why[160];

	if (p->nidle + p->nactive + p->nconnecting >= p->srv->cfg.max_per_host
	    || quota_dest_take(p->dest_key, p->srv->cfg.max_per_host) == -1)
		return -1;
	if (conn_take(p, uid, why, sizeof(why)) == -1) {
		quota_dest_put(p->dest_key);
		return -1;
	}
	if ((c = up_new(p)) == NULL) {
		quota_conn_put(uid);
		quota_dest_put(p->dest_key);
		return -1;
	}
	conn_open(p, c, uid);
	return 0;
}

void
pool_conn_ready(struct pool *p, struct upconn *c)
{
	struct session *s;

	/* the first waiter the rules let use its address */
	TAILQ_FOREACH(s, &p->waiters, wentry)
		if (pool_addr_ok(p, c, s))
			break;
	if (s != NULL) {
		pool_dequeue(p, s);
		pool_set_state(c, UP_ACTIVE);
		sess_attach(s, c);
	} else
		pool_release(c, 1);
	pool_dispatch(p);
}

/* A connect failed: the first waiter gets the error, as its own connect
 * would have raised it in http.client. */
void
pool_conn_failed(struct pool *p, struct upconn *c, int code, const char *msg,
    const char *detail)
{
	struct session *s;

	pool_set_state(c, UP_CLOSED);
	up_free(c);
	if (p->row != NULL)
		p->row->failures++;
	if ((s = TAILQ_FIRST(&p->waiters)) != NULL) {
		pool_dequeue(p, s);
		/* a refusal of the policy is no failure a retry mends */
		sess_upstream_error(s, code, msg, 0, -1,
		    code == HPOOL_E_PERMISSION ? PROTO_SENT_UNKNOWN :
		    PROTO_SENT_NO, detail);
	}
	pool_dispatch(p);
}

void
pool_release(struct upconn *c, int reusable)
{
	struct pool *p = c->pool;
	struct upconn *old;
	int end;

	c->owner = NULL;
	if (reusable && (end = jan_expired(&c->jan, c->nrequests,
	    &p->srv->cfg, jan_now_ms(), 0)) != 0) {
		jan_count(p->srv, (enum jan_reason)(end - 1), c->id);
		reusable = 0;
	}
	/* max_idle holds for every pool together: at it, this worker's
	 * oldest idle connection makes room, or this one is not kept. */
	/* a pool of another worker waits for a place at max_per_host */
	if (reusable && p->nwaiters == 0 && quota_dest_wanted(p->dest_key))
		reusable = 0;
	if (reusable && quota_idle() >= p->srv->cfg.max_idle) {
		if ((old = TAILQ_LAST(&p->srv->idle_lru, upconn_lru)) != NULL)
			evict(p, old);
		else
			reusable = 0;
	}
	if (reusable && !p->srv->draining &&
	    p->nidle < p->srv->cfg.max_idle_per_host) {
		pool_set_state(c, UP_IDLE);
		up_set_idle(c);
	} else {
		pool_set_state(c, UP_CLOSED);
		up_free(c);
	}
	pool_dispatch(p);
}

/* The connection closed by itself (idle timeout, server closed it). */
void
pool_conn_gone(struct upconn *c)
{
	struct pool *p = c->pool;

	pool_set_state(c, UP_CLOSED);
	up_free(c);
	pool_dispatch(p);
}

unsigned
pool_count_conns(struct server *srv)
{
	struct pool *p;
	unsigned n = 0;
	size_t i;

	for (i = 0; i < srv->npool_slots; i++)
		for (p = srv->pools[i]; p != NULL; p = p->next)
			n += p->nidle + p->nactive + p->nconnecting;
	return n;
}

void
pool_gauges(struct server *srv, uint64_t *idle, uint64_t *busy)
{
	struct pool *p;
	size_t i;

	*idle = *busy = 0;
	for (i = 0; i < srv->npool_slots; i++)
		for (p = srv->pools[i]; p != NULL; p = p->next) {
			*idle += p->nidle;
			*busy += p->nactive + p->nconnecting;
		}
}

void
pool_row_gauges(struct server *srv)
{
	struct pool *p;
	size_t i;

	if (srv->stats_tab == NULL)
		return;
	for (i = 0; i < srv->stats_tab->npools; i++)
		srv->stats_tab->pools[i].idle = srv->stats_tab->pools[i].busy =
		    srv->stats_tab->pools[i].waiting = 0;
	for (i = 0; i < srv->npool_slots; i++)
		for (p = srv->pools[i]; p != NULL; p = p->next)
			if (p->row != NULL) {
				p->row->idle += p->nidle;
				p->row->busy += p->nactive + p->nconnecting;
				p->row->waiting += p->nwaiters;
			}
}

void
pool_free_all(struct server *srv)
{
	struct pool *p, *next;
	struct upconn *c;
	size_t i;

	for (i = 0; i < srv->npool_slots; i++) {
		for (p = srv->pools[i]; p != NULL; p = next) {
			next = p->next;
			while ((c = TAILQ_FIRST(&p->idle)) != NULL ||
			    (c = TAILQ_FIRST(&p->connecting)) != NULL ||
			    (c = TAILQ_FIRST(&p->active)) != NULL) {
				pool_set_state(c, UP_CLOSED);
				up_free(c);
			}
			pool_unblock(p);
			if (p->retry != NULL)
				event_free(p->retry);
			if (p->linger != NULL)
				event_free(p->linger);
			tls_pool_free(p);
			tunnel_free(p);
			free(p);
		}
	}
	if (srv->sweep != NULL)
		event_free(srv->sweep);
	srv->sweep = NULL;
	free(srv->pools);
	srv->pools = NULL;
	srv->npools = 0;
}
