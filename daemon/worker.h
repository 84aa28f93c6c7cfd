/*
 * worker.h: hpoold's workers. Each is a whole server (struct server: its
 * own event loop, sessions and pools) accepting on the one listening
 * socket. The main thread runs worker 0 and handles signals; the others
 * are threads it commands through a pipe each.
 */
#ifndef HPOOL_WORKER_H
#define HPOOL_WORKER_H

#include <stddef.h>

struct config;
struct server;
struct stats;

/* Set up srv (cfg already filled in) to accept from fd. */
int	server_init(struct server *srv, int fd, char *errbuf, size_t errlen);
/* Stop accepting, let running requests finish (at most the grace
 * period), then leave srv's event loop. */
void	server_drain(struct server *srv);
/* Free what server_init made and every session and pool. */
void	server_free(struct server *srv);

/* Start n - 1 worker threads, each a copy of main's config, accepting
 * from fd. */
int	workers_start(const struct server *main_srv, int fd, unsigned n,
	    char *errbuf, size_t errlen);
/* SIGHUP: every worker takes cfg (its socket path stays). */
void	workers_reload(const struct config *cfg);
/* SIGTERM: every worker drains; returns once none accepts any more (or
 * after a second), so the socket can be closed. */
void	workers_drain(void);
/* A second signal: every worker leaves its loop now. */
void	workers_stop(void);
/* Wait for the workers to end, add their counters to sum, free them. */
void	workers_join(struct stats *sum);

#endif
