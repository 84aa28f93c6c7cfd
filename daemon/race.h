/*
 * race.h: one TCP connection to the first of a name's addresses that
 * answers, Happy Eyeballs style (RFC 8305 section 5): the addresses are
 * tried in their order, a new attempt starting every RACE_DELAY_MS while
 * the earlier ones are still pending (or at once when one fails), and
 * the first connected socket wins; the others are closed.
 */
#ifndef HPOOL_RACE_H
#define HPOOL_RACE_H

#include <stdint.h>
#include <sys/socket.h>

#include "dns.h"

#define RACE_DELAY_MS	250	/* RFC 8305's Connection Attempt Delay */

struct event_base;
struct race;

/* fd: the connected socket (the caller's now), or -1 with err, the errno
 * of the last attempt that failed. peer: the address fd is connected to.
 * The race is over (freed) when this runs. */
typedef void (*race_cb)(int fd, int err, const struct sockaddr_storage *peer,
    void *arg);
/* Called on each new socket before its connect (a source address, socket
 * options): -1 with errno set skips that address. */
typedef int (*race_prep_cb)(int fd, int family, void *arg);

/* Starts connecting to ans's addresses on port; the callback always runs
 * later, from the loop, never inside this call. NULL: out of memory. */
struct race	*race_start(struct event_base *, const struct dns_answer *ans,
		    uint16_t port, race_prep_cb, race_cb, void *arg);
/* Abandons the race: every socket closed, the callback never runs. */
void		 race_cancel(struct race *);

#endif
