/*
 * pool.h: pools of upstream connections, one per pool key. A pool hands
 * idle connections to waiting sessions last-in-first-out, opens new ones up
 * to max_per_host, and queues sessions beyond that.
 */
#ifndef HPOOL_POOL_H
#define HPOOL_POOL_H

#include <stdint.h>
#include <sys/queue.h>

#include "policy.h"

struct proto_open;
struct server;
struct session;
struct upconn;
struct ssl_ctx_st;
struct ssl_session_st;
struct event;
struct stats_pool;

/* pool_key.tunnel_kind: an HTTP CONNECT (a caller's set_tunnel or an
 * http:// proxy of the daemon's) or a SOCKS5 CONNECT (a socks5h://
 * proxy of the daemon's, which resolves the target's name); or no tunnel
 * at all but plain-http requests in absolute form to an http:// proxy of
 * the daemon's (forward = absolute): one pool per proxy and credentials,
 * whatever the targets, tunnel_host "", as Go's Transport keys it. */
#define POOL_TUNNEL_CONNECT	0
#define POOL_TUNNEL_SOCKS5	1
#define POOL_FORWARD_ABSOLUTE	2

/* Everything that makes two upstream connections different. */
struct pool_key {
	char		scheme[8];
	char		host[256];
	uint16_t	port;
	char		src_host[64];
	uint16_t	src_port;
	uint8_t		tls_digest[32];	/* every TLS setting; zero for http */
	char		tunnel_host[256]; /* set_tunnel target; "" for none */
	uint16_t	tunnel_port;
	uint8_t		tunnel_kind;	/* POOL_TUNNEL_*: how the proxy is
					 * asked for the target */
	uint8_t		tunnel_digest[32]; /* the CONNECT headers; for
					 * SOCKS5 and absolute form, the
					 * proxy's name and credentials */
	uint32_t	uid;		/* partition_by_uid: caller uid + 1;
					 * 0: shared by every caller */
};

TAILQ_HEAD(upconn_list, upconn);
TAILQ_HEAD(session_list, session);

struct pool {
	struct pool		*next;		/* hash chain */
	struct server		*srv;
	struct pool_key		 key;
	char			 name[512];	/* key as text, for logs */
	struct upconn_list	 idle;		/* ready, newest first (LIFO) */
	struct upconn_list	 active;	/* serving one session */
	struct upconn_list	 connecting;	/* DNS or TCP connect running */
	struct session_list	 waiters;	/* sessions waiting, FIFO */
	unsigned		 nidle;
	unsigned		 nactive;
	unsigned		 nconnecting;
	unsigned		 nwaiters;
	unsigned		 nsessions;	/* sessions opened on this key */
	/* TLS (https pools): one context per key, and the last session
	 * ticket for resumption, never shared with another key. */
	struct ssl_ctx_st	*tls_ctx;
	struct ssl_session_st	*tls_session;
	char			 tls_sni[256];	/* server_hostname, "" = host */
	int			 tls_check_hostname;
	struct event		*linger;	/* frees an empty TLS pool */
	uint64_t		 dest_key;	/* key hash: the slot in the table
						 * of pools, and quota.c's count of
						 * connections in every worker */
	int			 blocked;	/* waiters, max_per_host reached
						 * by the workers together */
	struct event		*retry;		/* while blocked: look again */
	/* the CONNECT head, or the SOCKS5 CONNECT request; NULL: none */
	char			*tunnel_request;
	/* SOCKS5: the RFC 1929 username/password message, NULL: no
	 * authentication offered; the proxy's name for errors and logs */
	unsigned char		*socks_auth;
	size_t			 socks_auth_len;
	char			 proxy_name[64];
	/* An https:// proxy (OPEN's TUNNEL_TLS): the TLS context to it, made
	 * with the pool (tls_proxy_setup), and its last session ticket.
	 * proxy_daemon: a proxy of the daemon's, named in errors. */
	struct ssl_ctx_st	*proxy_tls_ctx;
	struct ssl_session_st	*proxy_tls_session;
	int			 proxy_daemon;
	/* The policy judges the addresses of this name (a direct route that
	 * an address rule could refuse): each connection's, for each caller
	 * that would use it. */
	int			 addr_check;
	const struct policy_caller *warm_who;	/* warm.c's caller, while the
						 * pool is kept warm */
	size_t			 tunnel_request_len;
	struct stats_pool	*row;		/* stats.c's row, set by the
						 * first session; NULL: none */
};

/* The name a TLS connection of p checks and sends as SNI. */
const char	*pool_tls_name(const struct pool *);

/* Find or make the pool for key (o: the OPEN it came from, for TLS
 * settings and CONNECT headers; socks: the socks5h:// proxy of a
 * POOL_TUNNEL_SOCKS5 key, else NULL, read only during the call) and take
 * a session's reference on it. NULL: *code and err say why (a TLS
 * context could not be built from the settings). */
/* For a connection opening: the connect timeout (its first waiter's, or
 * the daemon's), and the caller whose rules judge its addresses (the
 * first waiter, or warm.c's), NULL if none. */
unsigned	 pool_connect_timeout(const struct pool *);
const struct policy_caller *pool_opener(const struct pool *);
/* The key of an OPEN on its route (route_open() has rewritten o);
 * uid_part: partition_by_uid's caller uid + 1, or 0. */
struct route;
void		 pool_key_make(struct pool_key *, const struct proto_open *,
		    const struct route *, uint32_t uid_part);
/* warm.c: open one connection with no caller waiting, charged to uid,
 * its addresses judged by the rules for the pool's warm_who. -1: at a
 * limit. */
int		 pool_warm_connect(struct pool *, uid_t);
struct pool	*pool_ref(struct server *, const struct pool_key *,
		    const struct proto_open *, const struct policy_proxy *socks,
		    int *code, char *err, size_t errlen);
void		 pool_unref(struct pool *);
/* May s use c, by the policy's address rules? */
int		 pool_addr_ok(const struct pool *, const struct upconn *,
		    const struct session *);
/* Queue sess for a connection; sess_attach() or sess_upstream_error()
 * is called back, possibly before this returns. Returns -1 if the queue
 * is full (nothing queued). front: a retry goes first. */
int		 pool_enqueue(struct pool *, struct session *, int front);
void		 pool_dequeue(struct pool *, struct session *);
/* Called by upstream.c when a connection changes state. */
void		 pool_conn_ready(struct pool *, struct upconn *);
void		 pool_conn_failed(struct pool *, struct upconn *, int code,
		    const char *msg, const char *detail);
/* A finished exchange: reusable conns go idle, others are closed. */
void		 pool_release(struct upconn *, int reusable);
void		 pool_conn_gone(struct upconn *);
/* The worker's timer that lets its idle connections give way to pools
 * of other workers waiting at max_per_host. */
int		 pool_init(struct server *);
void		 pool_free_all(struct server *);
unsigned	 pool_count_conns(struct server *);
/* This worker's idle connections, and those connecting or serving. */
void		 pool_gauges(struct server *, uint64_t *idle, uint64_t *busy);
/* The same per stats row: each row's idle, busy and waiting set anew. */
void		 pool_row_gauges(struct server *);

#endif
