/*
 * quota.h: the daemon-wide limits no caller may exceed: client sessions
 * and upstream connections in all and per caller uid, and idle upstream
 * connections in all. The counters are shared by every worker; "auto"
 * settings are derived from the file descriptor limit.
 */
#ifndef HPOOL_QUOTA_H
#define HPOOL_QUOTA_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct config;

/* fds kept for everything but sessions and upstream connections: the
 * listening socket, logs, DNS, the reserve fd, the workers' pipes. */
#define QUOTA_FD_OVERHEAD	64

/* Worker processes of two generations at once (a reload that changes
 * their number), up to 64 each. */
#define QUOTA_WORKER_SLOTS	128

/* Map the shared counters; once, before any worker starts. -1: errno. */
int	quota_init(void);
/* In a worker process, before it counts anything: its shadow slot. */
void	quota_set_worker(unsigned slot);
/* The supervisor, once the worker of that slot is dead: give back what
 * it held, so the limits stay exact. */
void	quota_worker_gone(unsigned slot);
/* Raise RLIMIT_NOFILE's soft limit to the hard one; the soft limit now. */
unsigned long quota_raise_nofile(void);
/* Fill the "auto" (0) limits of cfg from nofile and warn about explicit
 * ones the fd limit cannot honour. */
void	quota_resolve(struct config *, unsigned long nofile);

/* 0: counted; -1: refused, why says which limit (for an ERROR frame). */
int	quota_session_take(uid_t, const struct config *, char *why,
	    size_t whylen);
void	quota_session_put(uid_t);
int	quota_conn_take(uid_t, const struct config *, char *why,
	    size_t whylen);
void	quota_conn_put(uid_t);
/* Connections to one destination (a pool key's hash) in every worker:
 * 0, or -1 when max are open already. */
int	quota_dest_take(uint64_t key, unsigned max);
void	quota_dest_put(uint64_t key);
unsigned quota_dest_conns(uint64_t key);
/* A pool waits at the limit (on 1) or no more (on 0): while some pool
 * does, the idle connections of that destination in other workers give
 * way (quota_dest_wanted). */
void	quota_dest_want(uint64_t key, int on);
int	quota_dest_wanted(uint64_t key);
int	quota_any_wanted(void);
/* Idle upstream connections of every worker. */
void	quota_idle_add(int delta);
unsigned quota_idle(void);
unsigned quota_conns(void);
unsigned quota_uid_conns(uid_t);

#endif
