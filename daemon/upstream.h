/*
 * upstream.h: one HTTP/1.1 connection to an origin server: connect, write
 * a request, parse the response with http_parse and hand it to the
 * session that holds the connection.
 */
#ifndef HPOOL_UPSTREAM_H
#define HPOOL_UPSTREAM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "http_parse.h"

struct stream;
struct event;
struct evdns_getaddrinfo_request;
struct evutil_addrinfo;
struct pool;
struct session;

enum up_state {
	UP_CONNECTING,		/* on pool->connecting */
	UP_IDLE,		/* on pool->idle */
	UP_ACTIVE,		/* on pool->active, up->sess set */
	UP_CLOSED,		/* on no list; about to be freed */
};

enum up_phase {
	UP_PH_HEAD,		/* waiting for / parsing the response head */
	UP_PH_BODY,		/* streaming the body */
	UP_PH_DONE,		/* response complete */
};

struct upconn {
	TAILQ_ENTRY(upconn)	 entry;
	struct pool		*pool;
	enum up_state		 state;
	struct stream		*st;
	struct event		*idle_timer;
	struct evdns_getaddrinfo_request *dns;
	struct evutil_addrinfo	*addrs;		/* DNS answer */
	struct evutil_addrinfo	*next_addr;	/* next to try on failure */
	int			 last_errno;
	int			 tls_handshaking;
	int			 tunnel_state;	/* 0 none, 1 CONNECT sent, 2 done */
	int			 tls_clean;	/* handshake done, no error: its
						 * session stays resumable */
	uint64_t		 id;		/* for logs */
	unsigned		 nrequests;	/* served on this conn */
	/* the current exchange */
	struct session		*sess;
	enum up_phase		 phase;
	int			 is_head;	/* request method was HEAD */
	int			 req_done;	/* whole request written */
	int			 reusable;	/* nothing odd seen so far */
	uint64_t		 resp_bytes;	/* response bytes read */
	size_t			 head_scanned;	/* bytes searched for the end of
						 * the head so far */
	struct hp_body		 body;
	int			 paused;	/* reading stopped: client slow */
	int			 eof_seen;	/* the server closed its side */
};

struct upconn	*up_new(struct pool *);
/* Resolve and connect, from the event loop; the pool hears of the result
 * through pool_conn_ready() or pool_conn_failed(). */
void		 up_connect(struct upconn *);
void		 up_free(struct upconn *);
/* Start an exchange: the session's request head follows via up_write. */
void		 up_begin(struct upconn *, struct session *, int is_head);
void		 up_write(struct upconn *, const void *, size_t);
size_t		 up_output_len(const struct upconn *);
void		 up_request_done(struct upconn *);
/* The session's client drained its output: read the upstream again. */
void		 up_resume(struct upconn *);
/* Pooled conn: 1 when it still looks usable (no EOF, no stray bytes). */
int		 up_check_idle(struct upconn *);
void		 up_set_idle(struct upconn *);
/* Abandon the exchange (session gone or failed): never pooled. */
void		 up_abort(struct upconn *);

#endif
