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
#include <sys/socket.h>
#include <sys/types.h>

#include "http_parse.h"
#include "janitor.h"

struct stream;
struct event;
struct dns_query;
struct race;
struct dns_answer;
struct pool;
struct evbuffer;
struct hp_head;

enum up_state {
	UP_CONNECTING,		/* on pool->connecting */
	UP_IDLE,		/* on pool->idle */
	UP_ACTIVE,		/* on pool->active, up->owner set */
	UP_CLOSED,		/* on no list; about to be freed */
};

/*
 * Where a connection is, from the lookup of its host to its last
 * response; stage_enter() in upstream.c is the one place it changes,
 * and it logs each change at debug. (up_state is pool.c's: which of a
 * pool's lists holds the connection.)
 */
enum up_stage {
	UP_STG_RESOLVING,	/* dns.c: the host's addresses */
	UP_STG_CONNECTING,	/* race.c: TCP to one of them */
	UP_STG_PROXY_TLS,	/* TLS handshake with an https:// proxy */
	UP_STG_CONNECT_SENT,	/* HTTP CONNECT sent: reading the head */
	UP_STG_SOCKS_METHOD,	/* SOCKS5 greeting sent: reading the
				 * method the proxy chose */
	UP_STG_SOCKS_AUTH,	/* RFC 1929 username/password sent:
				 * reading the status */
	UP_STG_SOCKS_REPLY,	/* SOCKS5 CONNECT sent: reading the reply */
	UP_STG_TLS,		/* TLS handshake with the origin */
	UP_STG_READY,		/* through: idle, or a request next */
	UP_STG_HEAD,		/* a request going out; its response's head
				 * awaited once it is out */
	UP_STG_BODY,		/* streaming the response body */
	UP_STG_DONE,		/* the response complete */
};

/*
 * What a connection tells the one that holds it for an exchange (a
 * session), through the callbacks it gives up_begin(): upstream.c knows
 * no session. owner is the pointer given with them.
 */
struct up_owner_ops {
	unsigned (*io_timeout)(void *owner);	/* ms each wait may take */
	void	 (*writable)(void *owner);	/* room for more request body */
	void	 (*resp_head)(void *owner, const struct hp_head *);
	void	 (*resp_body)(void *owner, struct evbuffer *, size_t);
	size_t	 (*output_len)(void *owner);	/* its client's unsent bytes */
	int	 (*retry)(void *owner, int sent); /* 1: it sends it again */
	void	 (*resp_end)(void *owner, uint8_t flags);
	void	 (*error)(void *owner, int code, const char *msg,
		    uint64_t partial, int64_t expected, int sent,
		    const char *detail);
};

/* up_begin flags: what the request means for the connection */
#define UP_REQ_HEAD	0x01	/* HEAD: the response has no body */
#define UP_REQ_CONNECT	0x02	/* CONNECT: a 2xx makes it a tunnel */
#define UP_REQ_NO_REUSE	0x04	/* sent with Connection: close */

struct upconn {
	TAILQ_ENTRY(upconn)	 entry;
	TAILQ_ENTRY(upconn)	 lru;		/* srv->idle_lru while UP_IDLE */
	struct pool		*pool;
	enum up_state		 state;
	struct stream		*st;
	struct event		*idle_timer;
	struct dns_query	*dq;		/* dns.c's lookup, while out */
	struct race		*race;		/* race.c's connect, while on */
	struct dns_answer	*addrs;		/* while connecting: the
						 * addresses of the host */
	unsigned		 next_addr;	/* next to try on failure */
	int			 last_errno;
	char			 denied[256];	/* the policy's word on the last
						 * address refused */
	struct sockaddr_storage	 peer;		/* the address connected to */
	int			 proxy_tls_up;	/* ...done: the rest inside it */
	int			 proxy_tls_clean; /* ...and no error since: its
						 * session stays resumable */
	enum up_stage		 stage;
	int			 tls_clean;	/* handshake done, no error: its
						 * session stays resumable */
	uint64_t		 id;		/* for logs */
	uid_t			 charged_uid;	/* counted in quota.c for */
	int			 charged;
	int			 dest_counted;	/* in quota.c's destination count */
	int			 private;	/* serves private_uid only: it
						 * carried connection-bound auth */
	uid_t			 private_uid;
	unsigned		 nrequests;	/* served on this conn */
	struct jan_conn		 jan;		/* janitor.c's facts */
	enum jan_reason		 idle_why;	/* what ends it when idle */
	/* the current exchange */
	void			*owner;		/* the exchange's, and */
	const struct up_owner_ops *ops;	/* how to tell it */
	int			 is_head;	/* request method was HEAD */
	int			 is_connect;	/* request method was CONNECT */
	uint64_t		 wr_mark;	/* stream_written() at up_begin */
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
/* Start an exchange (flags: UP_REQ_*): the session's request head
 * follows via up_write. */
void		 up_begin(struct upconn *, void *owner,
		    const struct up_owner_ops *, int flags);
/* PROTO_SENT_NO if no byte of this exchange's request left hpoold,
 * else PROTO_SENT_MAYBE. */
int		 up_request_sent(const struct upconn *);
/* From now on c serves uid's requests only. */
void		 up_make_private(struct upconn *, uid_t);
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
