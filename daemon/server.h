/* server.h: the state one hpoold process shares among its modules. */
#ifndef HPOOL_SERVER_H
#define HPOOL_SERVER_H

#include <stdint.h>
#include <sys/queue.h>
#include <sys/time.h>

#include "config.h"
#include "janitor.h"
#include "proto.h"

struct event;
struct event_base;
struct evdns_base;
struct dns;
struct warm;
struct pool;
struct session;
struct upconn;
struct stats_table;
TAILQ_HEAD(upconn_lru, upconn);

struct stats {
	uint64_t	sessions;		/* accepted, ever */
	uint64_t	requests;		/* REQ_HEADs taken */
	uint64_t	upstream_connects;	/* new upstream connections */
	uint64_t	upstream_reuses;	/* requests on pooled conns */
	uint64_t	retries;		/* stale pooled conn, retried */
	uint64_t	tls_full;		/* full TLS handshakes */
	uint64_t	tls_resumed;		/* resumed TLS handshakes */
	/* gauges, filled in when stats are asked for */
	uint64_t	live_sessions;		/* client sessions now */
	uint64_t	idle_conns;		/* pooled idle connections */
	uint64_t	busy_conns;		/* connecting or serving */
};

/* One worker's server (worker.c): workers share nothing but the
 * listening socket. */
struct server {
	struct config		 cfg;
	unsigned		 worker_id;	/* 0: the main thread's */
	struct event_base	*base;
	struct evdns_base	*dns;
	struct dns		*names;		/* dns.c: answers by TTL */
	struct warm		*warm;		/* warm.c: pools kept warm */
	unsigned		 nsessions;
	int			 draining;	/* SIGTERM: no new sessions */
	struct event		*drain_timer;	/* while draining, each second */
	int			 drain_ticks;
	struct stats		 stats;
	uint64_t		 expired[JAN_NREASONS]; /* janitor.c's endings */
	uint64_t		 refused;	/* sessions refused at a limit */
	time_t			 refused_logged_at; /* last warning, seconds */
	struct upconn_lru	 idle_lru;	/* every idle conn of every pool,
						 * newest first: the oldest goes
						 * first when max_idle is hit */
	TAILQ_HEAD(, session)	 sessions;	/* every live session */
	struct pool		**pools;	/* hash table of pools */
	struct event		*sweep;		/* pool.c: idle conns other
						 * workers want */
	size_t			 npool_slots;
	size_t			 npools;
	struct proto_wbuf	 wbuf;		/* scratch for encoding frames */
	/* Scratch for decoding and encoding heads: large (a header table
	 * each), one per worker, never static: two workers' threads would
	 * write one copy at once. */
	struct proto_req_head	 req_head;
	struct proto_resp_head	 resp_head;
	char			 socket_path[CONFIG_PATH_MAX]; /* bound */
	/* stats.c's rows of this worker, and the way to the supervisor for
	 * a STATS request (-1: none) */
	struct stats_table	*stats_tab;
	int			 ctl_fd;
	uint64_t		 stats_seq;
};

/* Milliseconds from the config or a client as a libevent timeval. */
static inline struct timeval
ms_tv(unsigned ms)
{
	struct timeval tv = { (time_t)(ms / 1000),
	    (suseconds_t)(ms % 1000) * 1000 };

	return tv;
}

#endif
