/*
 * janitor.h: when a pooled upstream connection ends. One place for every
 * reason: the daemon's idle timeout, the server's Keep-Alive timeout=N
 * and max=N, a maximum age, a maximum number of requests, and the linger
 * of an empty pool that keeps a TLS session. Each reason is counted and
 * named in the debug log.
 */
#ifndef HPOOL_JANITOR_H
#define HPOOL_JANITOR_H

#include <stddef.h>
#include <stdint.h>

struct config;
struct server;
struct upconn;
struct hp_head;

enum jan_reason {
	JAN_IDLE_TIMEOUT,	/* idle_timeout ran out */
	JAN_KA_TIMEOUT,		/* the server's Keep-Alive timeout=N, less a
				 * margin, ran out */
	JAN_KA_MAX,		/* the server's Keep-Alive max=N used up */
	JAN_MAX_AGE,		/* max_conn_age reached */
	JAN_MAX_REQUESTS,	/* max_requests_per_conn served */
	JAN_POOL_LINGER,	/* an empty pool's TLS-session linger ended */
	JAN_NREASONS,
};

/* The connection facts the janitor keeps (in struct upconn). */
struct jan_conn {
	uint64_t	 born_ms;	/* monotonic: TCP (and TLS) up */
	uint64_t	 idle_since_ms;	/* monotonic: its last response done */
	unsigned	 ka_timeout_s;	/* Keep-Alive timeout=N; 0: none */
	int		 ka_max;	/* requests the server still takes
					 * (Keep-Alive max=N, counted down);
					 * -1: not announced */
};

uint64_t	 jan_now_ms(void);
const char	*jan_reason_name(enum jan_reason);

/* A new connection is up. */
void		 jan_born(struct jan_conn *);
/* A request goes out on the connection (max=N counts down). */
void		 jan_request(struct jan_conn *);
/* A response head: takes its Keep-Alive header, if any. */
void		 jan_response(struct jan_conn *, const struct hp_head *);
/* Keep-Alive's value (RFC 2068 19.7.1.1; as Apache sends it):
 * "timeout=5, max=100". Exposed for the unit test. */
void		 jan_parse_keepalive(const char *v, size_t len,
		    unsigned *timeout_s, int *max);

/*
 * The connection has finished an exchange and could be pooled (idle 0),
 * or is pooled and about to be reused (idle 1): 0 if it may serve
 * another request, else the reason it may not, plus one. nrequests:
 * served on it so far.
 */
int		 jan_expired(const struct jan_conn *, unsigned nrequests,
		    const struct config *, uint64_t now_ms, int idle);

/* It goes idle now: how long it may stay so (ms), and the reason that
 * ends it then. */
unsigned	 jan_idle_ms(struct jan_conn *, const struct config *,
		    uint64_t now_ms, enum jan_reason *why);

/* Count one ending and log it at debug. */
void		 jan_count(struct server *, enum jan_reason, uint64_t conn_id);

#endif
