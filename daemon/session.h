/*
 * session.h: one client of hpoold on the Unix socket (one HTTPConnection
 * in libhpool). Reads proto frames, checks each request, runs it on a
 * pooled upstream connection and streams the response back as frames.
 */
#ifndef HPOOL_SESSION_H
#define HPOOL_SESSION_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/time.h>
#include <sys/types.h>
#include <time.h>

#include "access.h"
#include "pool.h"
#include "route.h"

struct stream;
struct evbuffer;
struct server;
struct upconn;
struct hp_head;
struct event;
struct stats_caller;

enum sess_state {
	SESS_HELLO,		/* waiting for HELLO */
	SESS_OPEN,		/* waiting for OPEN */
	SESS_IDLE,		/* between requests */
	SESS_WAITING,		/* request taken, on pool->waiters */
	SESS_ACTIVE,		/* request running on sess->conn */
	SESS_DRAIN,		/* response over, request body still coming:
				 * read and drop it until REQ_END */
	SESS_STATS,		/* STATS taken: waiting for the supervisor's
				 * answer (stats_seq) */
	SESS_CLOSING,		/* flushing output, then freed */
};

/* How the request body is framed upstream, from the request headers. */
enum req_body {
	REQ_BODY_NONE,		/* no body allowed */
	REQ_BODY_LENGTH,	/* exactly Content-Length bytes */
	REQ_BODY_CHUNKED,	/* the daemon chunk-encodes */
};

struct session {
	TAILQ_ENTRY(session)	 entry;		/* server->sessions */
	TAILQ_ENTRY(session)	 wentry;	/* pool->waiters */
	struct server		*srv;
	struct stream		*st;
	enum sess_state		 state;
	uint64_t		 id;
	pid_t			 peer_pid;	/* SO_PEERCRED */
	uid_t			 peer_uid;
	gid_t			 peer_gid;
	int			 counted;	/* holds a place in quota.c */
	struct route_caller	 caller;	/* who, for the policy (route.c) */
	struct timeval		 born;		/* accepted, loop time */
	uint16_t		 version;	/* protocol version, 0 before
						 * HELLO */
	/* from OPEN */
	struct pool		*pool;
	int			 has_timeout;
	uint32_t		 timeout_ms;
	/* forward = absolute (route.c): requests go to the proxy as
	 * "http://host:port/path" (Host: host:port if the caller gave
	 * none), with the proxy's Proxy-Authorization; "": origin form */
	char			 abs_origin[280];
	char			 proxy_auth[400];	/* "" none */
	/* the current request */
	struct upconn		*conn;
	struct evbuffer		*head;		/* request head until attached */
	int			 is_head;
	int			 is_connect;	/* CONNECT: a 2xx is a tunnel */
	int			 idempotent;	/* may be replayed (RFC 9110
						 * 9.2.2, or an Idempotency-Key) */
	int			 no_reuse;	/* a lenient server could misframe
						 * it: Connection: close */
	int			 conn_auth;	/* NTLM / Negotiate credentials:
						 * the connection becomes the
						 * caller's own */
	enum req_body		 body_mode;
	uint64_t		 body_left;	/* REQ_BODY_LENGTH: bytes due */
	uint64_t		 body_sent;
	int			 req_end;	/* REQ_END received */
	int			 resp_end;	/* RESP_END or ERROR sent */
	int			 retries;
	uint64_t		 resp_body;	/* body bytes sent to client */
	size_t			 read_high;	/* input watermark in force */
	/* the access log's facts (access.c): where the OPEN asked for and
	 * how it was routed; the current request, until it is logged */
	char			 dest[300];	/* scheme://host:port */
	char			 route_label[320]; /* direct, proxy NAME */
	int			 req_live;	/* a request not yet logged */
	struct timespec		 req_start;	/* CLOCK_MONOTONIC */
	char			 method[32];
	char			 path[ACCESS_PATH_MAX]; /* debug only */
	unsigned		 resp_status;	/* 0: no head yet */
	enum access_conn	 conn_kind;
	enum access_tls		 tls_kind;
	uint64_t		 stats_seq;	/* SESS_STATS: the GATHER's */
	struct stats_caller	*caller_row;	/* stats.c's row, once found */
	struct event		*defer;		/* resume / free on next turn */
	struct event		*wait_timer;	/* WAITING: the caller's connect
						 * timeout, waiting included */
	int			 in_process;	/* process() is on the stack */
};

void	 sess_accept(struct server *, int fd);
void	 sess_free_all(struct server *);

/* Called back by the pool (the upstream connection tells the session
 * through the up_owner_ops it gives up_begin()). */
void	 sess_attach(struct session *, struct upconn *);
/* sent: PROTO_SENT_* (did the request reach the server?) */
void	 sess_upstream_error(struct session *, int code, const char *msg,
	    uint64_t partial, int64_t expected, int sent, const char *detail);
/* The supervisor's answer to the GATHER seq: to the session that waits
 * for it (if still there) as STATS_OK, then the session ends. */
void	 sess_stats_answer(struct server *, uint64_t seq, const char *text);
/* Draining: 1 while the session has work a drain must wait for. */
int	 sess_busy(struct session *);
/* The connect timeout of this session's requests, in milliseconds. */
unsigned sess_connect_timeout(const struct session *);

#endif
