/*
 * worker.h: a worker process of hpoold. Each is a whole server (struct
 * server: its own event loop, sessions and pools) accepting on the one
 * listening socket, commanded by the supervisor over a socketpair
 * (control.h).
 */
#ifndef HPOOL_WORKER_H
#define HPOOL_WORKER_H

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

#include "config.h"

#define DRAIN_GRACE_SEC	10	/* SIGTERM: time for running requests */

struct server;

/* What the supervisor hands a worker it forks. */
struct worker_start {
	struct config	 cfg;
	int		 listen_fd;
	int		 ctl;		/* the worker's end of its socketpair */
	unsigned	 id;		/* worker number, 1.. */
	unsigned	 slot;		/* quota.c shadow slot */
	pid_t		 parent;	/* the supervisor */
	sigset_t	 sigmask;	/* the mask before the fork */
};

/* The child side of the fork: runs the worker and never returns. */
void	worker_main(const struct worker_start *) __attribute__((noreturn));

/* Set up srv (cfg already filled in) to accept from fd. */
int	server_init(struct server *srv, int fd, char *errbuf, size_t errlen);
/* Stop accepting, let running requests finish and their bytes reach
 * their clients (at most the grace period), then leave the loop. */
void	server_drain(struct server *srv);
/* Free what server_init made and every session and pool. */
void	server_free(struct server *srv);

#endif
