/*
 * dns.c: owns name resolution for one worker (see dns.h).
 *
 * A name's A and AAAA queries go out together through evdns; their
 * answers, merged, are kept for the smaller of the two TTLs (at most
 * DNS_MAX_TTL). Callers that want a name already being asked for wait
 * on the same queries. A failed lookup is not kept: the next caller
 * asks again. A refresh that fails keeps the old answer, retried a
 * second later, so that a flapping resolver drains no connection.
 *
 * evdns runs its callbacks from the event loop, never inside the call
 * that starts a query. A query is never cancelled (a cancelled query's
 * callback would still come, on a later loop turn): an entry lives
 * while it has a query out, and a caller that stops waiting only leaves
 * the entry's list of waiters.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>

#include "dns.h"
#include "janitor.h"
#include "log.h"

#define NBUCKETS	256		/* power of two */
#define HOSTS_PATH	"/etc/hosts"
#define HOSTS_MAX	(256 * 1024)	/* bytes of /etc/hosts read */
#define PER_FAMILY	(DNS_MAX_ADDRS / 2)
#define RETRY_MS	1000		/* a failed refresh asks again after */
#define RESOLUTION_DELAY_MS 50		/* RFC 8305 3: A in, AAAA not yet */

struct entry;

/* One family's query of an entry. */
struct half {
	struct entry		*e;
	int			 family;	/* AF_INET or AF_INET6 */
	struct evdns_request	*req;		/* NULL: not out */
	int			 result;	/* DNS_ERR_* */
	int			 ttl;
	unsigned		 n;
	struct sockaddr_storage	 addr[PER_FAMILY];
};

struct dns_query {
	TAILQ_ENTRY(dns_query)	 link;
	struct entry		*e;
	dns_cb			 cb;
	void			*arg;
};

TAILQ_HEAD(query_list, dns_query);

struct entry {
	LIST_ENTRY(entry)	 bucket;
	TAILQ_ENTRY(entry)	 lru;		/* most recently used first */
	struct dns		*dns;
	char			*name;
	int			 have;		/* ans holds an answer */
	struct dns_answer	 ans;
	uint64_t		 expires;	/* monotonic ms */
	struct half		 half[2];	/* [0] AAAA, [1] A */
	int			 out;		/* queries not yet answered */
	int			 delivering;	/* in deliver(): keep */
	struct event		*delay;		/* RFC 8305's resolution delay */
	struct query_list	 waiters;
};

LIST_HEAD(bucket_head, entry);
TAILQ_HEAD(lru_list, entry);

struct dns {
	struct event_base	*base;
	struct evdns_base	*evdns;
	struct bucket_head	 buckets[NBUCKETS];
	struct lru_list		 lru;
	unsigned		 nnames;
	char			*hosts;		/* /etc/hosts, read at start */
	size_t			 hosts_len;
	struct dns_counts	 counts;
};

static unsigned
name_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)tolower((unsigned char)*s);
		h *= 16777619u;
	}
	return h & (NBUCKETS - 1);
}

static char *
read_hosts(size_t *len)
{
	char *buf;
	ssize_t n;
	size_t got = 0;
	int fd;

	*len = 0;
	if ((fd = open(HOSTS_PATH, O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	if ((buf = malloc(HOSTS_MAX)) == NULL) {
		close(fd);
		return NULL;
	}
	while (got < HOSTS_MAX && (n = read(fd, buf + got,
	    HOSTS_MAX - got)) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		got += (size_t)n;
	}
	close(fd);
	if (got == HOSTS_MAX)
		log_warn("dns: %s is over %d KiB: only its start is read",
		    HOSTS_PATH, HOSTS_MAX / 1024);
	*len = got;
	return buf;
}

struct dns *
dns_new(struct event_base *base, struct evdns_base *evdns)
{
	struct dns *d;
	unsigned i;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	d->base = base;
	d->evdns = evdns;
	for (i = 0; i < NBUCKETS; i++)
		LIST_INIT(&d->buckets[i]);
	TAILQ_INIT(&d->lru);
	d->hosts = read_hosts(&d->hosts_len);
	return d;
}

static void
entry_free(struct entry *e)
{
	struct dns *d = e->dns;

	LIST_REMOVE(e, bucket);
	TAILQ_REMOVE(&d->lru, e, lru);
	d->nnames--;
	if (e->delay != NULL)
		event_free(e->delay);
	free(e->name);
	free(e);
}

void
dns_free(struct dns *d)
{
	struct entry *e;
	struct dns_query *q;

	if (d == NULL)
		return;
	/* Queries still out are left to evdns_base_free(, 0), which comes
	 * next and frees them without a callback (a cancel here would only
	 * schedule one for a loop turn that never comes, and leak). */
	while ((e = TAILQ_FIRST(&d->lru)) != NULL) {
		while ((q = TAILQ_FIRST(&e->waiters)) != NULL) {
			TAILQ_REMOVE(&e->waiters, q, link);
			free(q);
		}
		entry_free(e);
	}
	free(d->hosts);
	free(d);
}

static struct entry *
find(struct dns *d, const char *name)
{
	struct entry *e;

	LIST_FOREACH(e, &d->buckets[name_hash(name)], bucket)
		if (strcasecmp(e->name, name) == 0)
			return e;
	return NULL;
}

/* A new entry for name, evicting the least recently used idle one when
 * the cache is full; NULL when every entry is busy or memory is out. */
static struct entry *
entry_new(struct dns *d, const char *name)
{
	struct entry *e, *victim;
	int i;

	if (d->nnames >= DNS_MAX_NAMES) {
		TAILQ_FOREACH_REVERSE(victim, &d->lru, lru_list, lru)
			if (victim->out == 0 && !victim->delivering &&
			    TAILQ_EMPTY(&victim->waiters))
				break;
		if (victim == NULL)
			return NULL;
		entry_free(victim);
	}
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	if ((e->name = strdup(name)) == NULL) {
		free(e);
		return NULL;
	}
	e->dns = d;
	for (i = 0; i < 2; i++) {
		e->half[i].e = e;
		e->half[i].family = i == 0 ? AF_INET6 : AF_INET;
	}
	TAILQ_INIT(&e->waiters);
	LIST_INSERT_HEAD(&d->buckets[name_hash(name)], e, bucket);
	TAILQ_INSERT_HEAD(&d->lru, e, lru);
	d->nnames++;
	return e;
}

static void
touch(struct dns *d, struct entry *e)
{
	TAILQ_REMOVE(&d->lru, e, lru);
	TAILQ_INSERT_HEAD(&d->lru, e, lru);
}

/* socket.gaierror's errno for the answers of both families. */
static int
answer_error(const struct entry *e)
{
	int i, r, nodata = 0, gone = 0, fail = 0;

	for (i = 0; i < 2; i++) {
		r = e->half[i].result;
		if (r == DNS_ERR_NOTEXIST)
			gone = 1;
		else if (r == DNS_ERR_NONE || r == DNS_ERR_NODATA)
			nodata = 1;
		else if (r == DNS_ERR_FORMAT || r == DNS_ERR_NOTIMPL)
			fail = 1;
	}
	if (gone)
		return EVUTIL_EAI_NONAME;
	if (nodata)
		return EVUTIL_EAI_NODATA;
	return fail ? EVUTIL_EAI_FAIL : EVUTIL_EAI_AGAIN;
}

/* The addresses the families have given so far, alternated, IPv6 first
 * (RFC 8305 section 4). */
static void
merge(const struct entry *e, struct dns_answer *ans)
{
	const struct half *h6 = &e->half[0], *h4 = &e->half[1];
	unsigned i;

	memset(ans, 0, sizeof(*ans));
	for (i = 0; i < PER_FAMILY; i++) {
		if (i < h6->n)
			ans->addr[ans->n++] = h6->addr[i];
		if (i < h4->n)
			ans->addr[ans->n++] = h4->addr[i];
	}
}

/* Tell every waiter: ans (n > 0), or err. */
static void
deliver(struct entry *e, const struct dns_answer *ans, int err)
{
	struct dns_query *q;

	e->delivering = 1;
	while ((q = TAILQ_FIRST(&e->waiters)) != NULL) {
		TAILQ_REMOVE(&e->waiters, q, link);
		if (ans != NULL)
			q->cb(0, ans, q->arg);
		else
			q->cb(err, NULL, q->arg);
		free(q);
	}
	e->delivering = 0;
}

/* One family has answered with addresses and the other is still out:
 * the waiters connect now with what there is (RFC 8305 section 3); the
 * whole answer is kept when the other comes. */
static void
deliver_early(struct entry *e)
{
	struct dns_answer ans;

	merge(e, &ans);
	if (ans.n == 0 || TAILQ_EMPTY(&e->waiters))
		return;
	log_debug("dns: %s: going on with %u address%s, the other family "
	    "not in yet", e->name, ans.n, ans.n == 1 ? "" : "es");
	deliver(e, &ans, 0);
}

static void
delay_cb(evutil_socket_t fd, short what, void *arg)
{
	struct entry *e = arg;

	(void)fd;
	(void)what;
	if (e->out > 0)
		deliver_early(e);
}

/* Both families have answered: keep what came and tell the waiters. */
static void
finish(struct entry *e)
{
	struct dns *d = e->dns;
	struct half *h6 = &e->half[0], *h4 = &e->half[1];
	struct dns_answer ans;
	int ttl = -1, err = 0;

	if (e->delay != NULL)
		evtimer_del(e->delay);
	merge(e, &ans);
	if (h6->n > 0)
		ttl = h6->ttl;
	if (h4->n > 0 && (ttl < 0 || h4->ttl < ttl))
		ttl = h4->ttl;
	if (ans.n > 0) {
		if (ttl > DNS_MAX_TTL)
			ttl = DNS_MAX_TTL;
		e->ans = ans;
		e->have = 1;
		e->expires = jan_now_ms() + (uint64_t)ttl * 1000;
		log_debug("dns: %s: %u address%s for %d s", e->name, ans.n,
		    ans.n == 1 ? "" : "es", ttl);
	} else {
		err = answer_error(e);
		log_debug("dns: %s: no address (%s)", e->name,
		    evutil_gai_strerror(err));
		if (e->have)	/* a refresh: keep the old answer a while */
			e->expires = jan_now_ms() + RETRY_MS;
	}
	deliver(e, ans.n > 0 ? &ans : NULL, err);
	if (!e->have && e->out == 0 && TAILQ_EMPTY(&e->waiters))
		entry_free(e);	/* failures are not kept */
	(void)d;
}

static void
answered(int result, char type, int count, int ttl, void *addresses,
    void *arg)
{
	struct half *h = arg;
	struct entry *e;
	struct timeval delay = { 0, RESOLUTION_DELAY_MS * 1000 };
	int i;

	(void)type;
	if (result == DNS_ERR_CANCEL || result == DNS_ERR_SHUTDOWN)
		return;		/* never asked for: see dns_free() */
	e = h->e;
	h->req = NULL;
	h->result = result;
	h->ttl = ttl < 0 ? 0 : ttl;
	h->n = 0;
	for (i = 0; result == DNS_ERR_NONE && i < count && h->n <
	    PER_FAMILY; i++) {
		struct sockaddr_storage *ss = &h->addr[h->n++];

		memset(ss, 0, sizeof(*ss));
		if (h->family == AF_INET) {
			struct sockaddr_in *sin = (struct sockaddr_in *)ss;

			sin->sin_family = AF_INET;
			memcpy(&sin->sin_addr, (char *)addresses + 4 * i, 4);
		} else {
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

			sin6->sin6_family = AF_INET6;
			memcpy(&sin6->sin6_addr, (char *)addresses + 16 * i,
			    16);
		}
	}
	if (--e->out == 0) {
		finish(e);
		return;
	}
	/* The other family is still out: what came goes after the
	 * resolution delay (RFC 8305 section 3) if the other is not in by
	 * then. (The RFC starts at once on IPv6 addresses; but the race
	 * takes the addresses it starts with, and an A answer a moment
	 * later would then be lost to it.) */
	if (h->n == 0 || TAILQ_EMPTY(&e->waiters))
		return;
	if (e->delay == NULL && (e->delay = evtimer_new(e->dns->base,
	    delay_cb, e)) == NULL)
		return;		/* then the whole answer is waited for */
	evtimer_add(e->delay, &delay);
}

/* Send both queries of e; -1 if evdns would not take them. */
static int
ask(struct dns *d, struct entry *e)
{
	int i;

	for (i = 0; i < 2; i++) {
		struct half *h = &e->half[i];

		h->result = DNS_ERR_UNKNOWN;
		h->n = 0;
		h->req = h->family == AF_INET ?
		    evdns_base_resolve_ipv4(d->evdns, e->name, 0, answered, h) :
		    evdns_base_resolve_ipv6(d->evdns, e->name, 0, answered, h);
		if (h->req == NULL) {
			h->result = DNS_ERR_UNKNOWN;
			continue;
		}
		e->out++;
		d->counts.lookups++;
	}
	return e->out > 0 ? 0 : -1;
}

/* An IP literal, with a scope for a link-local IPv6 one. */
static int
numeric(const char *name, struct dns_answer *out)
{
	struct evutil_addrinfo hints, *ai = NULL;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = EVUTIL_AI_NUMERICHOST;
	if (evutil_getaddrinfo(name, NULL, &hints, &ai) != 0 || ai == NULL)
		return 0;
	memset(out, 0, sizeof(*out));
	if (ai->ai_addrlen <= sizeof(out->addr[0])) {
		memcpy(&out->addr[0], ai->ai_addr, ai->ai_addrlen);
		out->n = 1;
	}
	evutil_freeaddrinfo(ai);
	return out->n > 0;
}

int
dns_hosts_parse(const char *text, size_t len, const char *name,
    struct dns_answer *out)
{
	const char *p = text, *end = text + len, *eol, *t, *te;
	char addr[INET6_ADDRSTRLEN + 1];
	size_t nlen = strlen(name);
	int first, matched;

	memset(out, 0, sizeof(*out));
	for (; p < end && out->n < DNS_MAX_ADDRS; p = eol + 1) {
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			eol = end;
		first = 1;
		matched = 0;
		addr[0] = '\0';
		for (t = p; t < eol; t = te) {
			while (t < eol && (*t == ' ' || *t == '\t' ||
			    *t == '\r'))
				t++;
			if (t == eol || *t == '#')
				break;
			for (te = t; te < eol && *te != ' ' && *te != '\t' &&
			    *te != '\r' && *te != '#'; te++)
				;
			if (first) {
				if ((size_t)(te - t) >= sizeof(addr))
					break;
				memcpy(addr, t, (size_t)(te - t));
				addr[te - t] = '\0';
				first = 0;
			} else if ((size_t)(te - t) == nlen &&
			    strncasecmp(t, name, nlen) == 0) {
				matched = 1;
				break;
			}
		}
		if (matched) {
			struct dns_answer one;

			if (numeric(addr, &one))
				out->addr[out->n++] = one.addr[0];
		}
		if (eol == end)
			break;
	}
	return out->n > 0;
}

enum dns_status
dns_lookup(struct dns *d, const char *name, struct dns_answer *out,
    int *err, dns_cb cb, void *arg, struct dns_query **qp)
{
	struct entry *e;
	struct dns_query *q;

	*qp = NULL;
	if (numeric(name, out))
		return DNS_ANSWERED;
	if (d->hosts != NULL && dns_hosts_parse(d->hosts, d->hosts_len, name,
	    out))
		return DNS_ANSWERED;
	if (strlen(name) > 253) {
		*err = EVUTIL_EAI_NONAME;
		return DNS_FAILED;
	}
	if ((e = find(d, name)) != NULL) {
		touch(d, e);
		if (e->have && e->out == 0 && jan_now_ms() < e->expires) {
			*out = e->ans;
			d->counts.hits++;
			return DNS_ANSWERED;
		}
	} else if ((e = entry_new(d, name)) == NULL) {
		*err = EVUTIL_EAI_AGAIN;	/* the cache is all in flight */
		return DNS_FAILED;
	}
	if ((q = calloc(1, sizeof(*q))) == NULL) {
		*err = EVUTIL_EAI_MEMORY;
		goto fail;
	}
	if (e->out == 0 && ask(d, e) == -1) {
		free(q);
		*err = EVUTIL_EAI_FAIL;
		goto fail;
	}
	q->e = e;
	q->cb = cb;
	q->arg = arg;
	TAILQ_INSERT_TAIL(&e->waiters, q, link);
	*qp = q;
	return DNS_PENDING;
fail:
	if (!e->have && e->out == 0 && TAILQ_EMPTY(&e->waiters) &&
	    !e->delivering)
		entry_free(e);
	return DNS_FAILED;
}

void
dns_cancel(struct dns_query *q)
{
	if (q == NULL)
		return;
	TAILQ_REMOVE(&q->e->waiters, q, link);
	free(q);
}

static int
same_addr(const struct sockaddr_storage *a, const struct sockaddr *b)
{
	if (a->ss_family != b->sa_family)
		return 0;
	if (b->sa_family == AF_INET)
		return memcmp(&((const struct sockaddr_in *)a)->sin_addr,
		    &((const struct sockaddr_in *)b)->sin_addr, 4) == 0;
	if (b->sa_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		    &((const struct sockaddr_in6 *)b)->sin6_addr, 16) == 0;
	return 0;
}

int
dns_still_current(struct dns *d, const char *name,
    const struct sockaddr *addr)
{
	struct entry *e;
	unsigned i;

	if ((e = find(d, name)) == NULL || !e->have)
		return 1;
	if (e->out == 0 && jan_now_ms() >= e->expires)
		(void)ask(d, e);	/* in the background; no waiter */
	for (i = 0; i < e->ans.n; i++)
		if (same_addr(&e->ans.addr[i], addr))
			return 1;
	return 0;
}

void
dns_counts(const struct dns *d, struct dns_counts *c)
{
	*c = d->counts;
	c->names = d->nnames;
}
