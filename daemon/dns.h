/*
 * dns.h: name resolution for one worker: the addresses of each name,
 * kept for as long as the answer's TTL says and shared by all the
 * worker's pools, so that a name is asked for once per TTL, not once per
 * connection.
 */
#ifndef HPOOL_DNS_H
#define HPOOL_DNS_H

#include <stddef.h>
#include <sys/socket.h>

struct event_base;
struct evdns_base;
struct dns;
struct dns_query;

#define DNS_MAX_ADDRS	16	/* addresses kept of one answer */
#define DNS_MAX_NAMES	1024	/* names kept per worker */
#define DNS_MAX_TTL	3600	/* seconds: a longer TTL is cut to this */

/* An answer: addresses in the order to try them (RFC 8305 section 4:
 * the families interleaved, IPv6 first), the port left 0. */
struct dns_answer {
	unsigned		 n;
	struct sockaddr_storage	 addr[DNS_MAX_ADDRS];
};

/* err: 0, or an EVUTIL_EAI_* code (socket.gaierror's errno). */
typedef void (*dns_cb)(int err, const struct dns_answer *, void *arg);

enum dns_status {
	DNS_ANSWERED,		/* *out is filled; the callback never runs */
	DNS_FAILED,		/* *err is set; the callback never runs */
	DNS_PENDING,		/* the callback runs later, once, unless
				 * dns_cancel() comes first */
};

struct dns	*dns_new(struct event_base *, struct evdns_base *);
void		 dns_free(struct dns *);

/* The addresses of name: an IP literal, a line of /etc/hosts or a
 * cached answer at once; otherwise a lookup (joined if one is already
 * under way for the name). */
enum dns_status	 dns_lookup(struct dns *, const char *name,
		    struct dns_answer *out, int *err, dns_cb, void *arg,
		    struct dns_query **);
/* The callback of a pending lookup will not run. */
void		 dns_cancel(struct dns_query *);

/* 0 when name's newest answer no longer holds addr (a connection to it
 * should serve no further request), else 1 (also when nothing is known
 * of name). An answer past its TTL is asked for again in the
 * background, so that a busy pool, which never needs a lookup of its
 * own, still sees the name move. */
int		 dns_still_current(struct dns *, const char *name,
		    const struct sockaddr *addr);

/* What the cache holds, for the stats and tests. */
struct dns_counts {
	unsigned long long	 lookups;	/* queries sent (A and AAAA
						 * count one each) */
	unsigned long long	 hits;		/* answered from the cache */
	unsigned		 names;		/* names cached now */
};
void		 dns_counts(const struct dns *, struct dns_counts *);

/* /etc/hosts, parsed: the addresses of name in file order; 0 if none.
 * Exposed for the unit test. */
int		 dns_hosts_parse(const char *text, size_t len, const char *name,
		    struct dns_answer *out);

#endif
