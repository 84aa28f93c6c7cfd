/*
 * race.c: owns the connect race of one upstream connection (see race.h).
 *
 * Before it, addresses were tried one after another under the one
 * connect timer: an address that drops SYNs (a dead host behind a
 * firewall, an IPv6 route that goes nowhere) took the whole timeout and
 * the next address was never tried. Now a silent attempt only delays the
 * next by RACE_DELAY_MS.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "race.h"

struct attempt {
	int			 fd;		/* -1: over */
	struct event		*ev;
	struct sockaddr_storage	 addr;
	struct race		*race;
};

struct race {
	struct event_base	*base;
	struct dns_answer	 ans;
	unsigned		 next;		/* next address to try */
	uint16_t		 port;
	struct attempt		 at[DNS_MAX_ADDRS];
	unsigned		 nat;		/* attempts started */
	unsigned		 pending;	/* attempts not over */
	struct event		*tick;		/* the next attempt's turn, or
						 * the end when nothing is left */
	race_prep_cb		 prep;
	race_cb			 done;
	void			*arg;
	int			 last_errno;
};

static void	attempt_cb(evutil_socket_t, short, void *);
static void	tick_cb(evutil_socket_t, short, void *);

static void
attempt_close(struct attempt *a)
{
	if (a->fd == -1)
		return;
	event_free(a->ev);
	close(a->fd);
	a->ev = NULL;
	a->fd = -1;
	a->race->pending--;
}

static void
race_free(struct race *r)
{
	unsigned i;

	for (i = 0; i < r->nat; i++)
		attempt_close(&r->at[i]);
	event_free(r->tick);
	free(r);
}

void
race_cancel(struct race *r)
{
	if (r != NULL)
		race_free(r);
}

static void
finish(struct race *r, int fd, const struct sockaddr_storage *peer)
{
	struct sockaddr_storage addr;
	race_cb done = r->done;
	void *arg = r->arg;
	int err = r->last_errno ? r->last_errno : ECONNREFUSED;

	if (peer != NULL)
		addr = *peer;
	else
		memset(&addr, 0, sizeof(addr));
	race_free(r);
	done(fd, fd == -1 ? err : 0, &addr, arg);
}

static socklen_t
with_port(struct sockaddr_storage *ss, uint16_t port)
{
	if (ss->ss_family == AF_INET) {
		((struct sockaddr_in *)ss)->sin_port = htons(port);
		return sizeof(struct sockaddr_in);
	}
	((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
	return sizeof(struct sockaddr_in6);
}

/* Start the next address's attempt; an address that fails at once is
 * passed over for the one after it. 0: one is under way. */
static int
launch(struct race *r)
{
	struct attempt *a;
	socklen_t len;
	int fd;

	while (r->next < r->ans.n) {
		a = &r->at[r->nat];
		a->race = r;
		a->addr = r->ans.addr[r->next++];
		len = with_port(&a->addr, r->port);
		fd = socket(a->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
		if (fd == -1) {
			r->last_errno = errno;
			continue;
		}
		if (r->prep != NULL && r->prep(fd, a->addr.ss_family,
		    r->arg) == -1) {
			r->last_errno = errno;
			close(fd);
			continue;
		}
		if (connect(fd, (struct sockaddr *)&a->addr, len) == -1 &&
		    errno != EINPROGRESS) {
			r->last_errno = errno;
			close(fd);
			continue;
		}
		if ((a->ev = event_new(r->base, fd, EV_WRITE, attempt_cb,
		    a)) == NULL || event_add(a->ev, NULL) == -1) {
			if (a->ev != NULL)
				event_free(a->ev);
			r->last_errno = ENOMEM;
			close(fd);
			continue;
		}
		a->fd = fd;
		r->nat++;
		r->pending++;
		return 0;
	}
	return -1;
}

/* Arm the timer: the next attempt after the delay, or (nothing pending
 * and nothing left) the end on the next loop turn. */
static void
arm(struct race *r)
{
	struct timeval tv = { 0, 0 };

	if (r->pending > 0 && r->next < r->ans.n)
		tv.tv_usec = RACE_DELAY_MS * 1000;
	else if (r->pending > 0) {
		evtimer_del(r->tick);	/* the attempts under way decide */
		return;
	}
	evtimer_add(r->tick, &tv);
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct race *r = arg;

	(void)fd;
	(void)what;
	if (r->pending == 0) {
		/* nothing under way: start one, or it is over */
		if (launch(r) == -1) {
			finish(r, -1, NULL);
			return;
		}
	} else if (r->next < r->ans.n)
		(void)launch(r);	/* the delay is up: one more joins */
	arm(r);
}

static void
attempt_cb(evutil_socket_t fd, short what, void *arg)
{
	struct attempt *a = arg;
	struct race *r = a->race;
	struct sockaddr_storage peer;
	socklen_t len = sizeof(int);
	int err = 0, won;

	(void)what;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err == 0) {
		/* the winner: its socket leaves the race, the rest close */
		peer = a->addr;
		won = a->fd;
		event_free(a->ev);
		a->ev = NULL;
		a->fd = -1;
		r->pending--;
		finish(r, won, &peer);
		return;
	}
	r->last_errno = err;
	attempt_close(a);
	/* a failure starts the next attempt at once (RFC 8305 5) */
	if (launch(r) == -1 && r->pending == 0) {
		finish(r, -1, NULL);
		return;
	}
	arm(r);
}

struct race *
race_start(struct event_base *base, const struct dns_answer *ans,
    uint16_t port, race_prep_cb prep, race_cb done, void *arg)
{
	struct race *r;
	unsigned i;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->base = base;
	r->ans = *ans;
	r->port = port;
	r->prep = prep;
	r->done = done;
	r->arg = arg;
	for (i = 0; i < DNS_MAX_ADDRS; i++)
		r->at[i].fd = -1;
	if ((r->tick = evtimer_new(base, tick_cb, r)) == NULL) {
		free(r);
		return NULL;
	}
	(void)launch(r);
	/* nothing under way (no address, or all failed at once): the end
	 * comes on the next turn, as a failure always does */
	arm(r);
	return r;
}
