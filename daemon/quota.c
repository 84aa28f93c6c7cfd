/*
 * quota.c: owns the daemon-wide counters behind hpoold's limits (sessions
 * and upstream connections, in all and per caller uid; idle connections)
 * and the fd budget the "auto" limits come from.
 *
 * The counters live in one anonymous MAP_SHARED mapping made before any
 * worker starts, and are changed with atomic operations only: workers
 * (threads of one process today) share them without a lock, and a mapping
 * inherited across fork() would be the same memory in every process.
 * A take that would pass a limit is undone at once, so a count may
 * overshoot a limit for an instant but a refused take never holds it.
 */
#include <sys/mman.h>
#include <sys/resource.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "quota.h"
#include "log.h"

/* uids with a slot of their own; any further uid shares the last slot
 * (stricter for them, never looser). Slots are never given back: a box
 * has few uids calling a daemon, and a slot is 12 bytes. */
#define UID_SLOTS	4096
#define AUTO_CAP	32768	/* auto never goes beyond, whatever the fds */

struct uid_slot {
	_Atomic uint32_t key;		/* uid + 1; 0: free */
	_Atomic uint32_t sessions;
	_Atomic uint32_t conns;
};

struct counters {
	_Atomic uint32_t sessions;
	_Atomic uint32_t conns;
	_Atomic int32_t	 idle;
	struct uid_slot	 uids[UID_SLOTS];
};

static struct uid_slot	*uid_slot(uid_t);
static unsigned		 per_uid(unsigned);
static int		 take(_Atomic uint32_t *, unsigned);

static struct counters	*shared;

int
quota_init(void)
{
	void *m;

	if (shared != NULL)
		return 0;
	m = mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return -1;
	shared = m;		/* zero-filled by the kernel */
	return 0;
}

unsigned long
quota_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return 1024;
	if (rl.rlim_cur < rl.rlim_max) {
		rlim_t was = rl.rlim_cur;

		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1) {
			log_warn("cannot raise the file descriptor limit from "
			    "%llu to %llu: %s", (unsigned long long)was,
			    (unsigned long long)rl.rlim_max, strerror(errno));
			rl.rlim_cur = was;
		}
	}
	return rl.rlim_cur == RLIM_INFINITY ? 1UL << 20 :
	    (unsigned long)rl.rlim_cur;
}

/* A quarter of a total for one uid, but never fewer than 16 (or the
 * total): a small daemon must not refuse a caller's second session. */
static unsigned
per_uid(unsigned total)
{
	unsigned floor = total < 16 ? total : 16;

	return total / 4 > floor ? total / 4 : floor;
}

void
quota_resolve(struct config *c, unsigned long nofile)
{
	unsigned long budget, half;

	budget = nofile > 2 * QUOTA_FD_OVERHEAD ? nofile - QUOTA_FD_OVERHEAD
	    : nofile / 2;
	half = budget / 2 > AUTO_CAP ? AUTO_CAP : budget / 2;
	if (half < 1)
		half = 1;
	/* Half the fds for client sessions, half for upstream connections,
	 * so neither kind can starve the other; a quarter of each for any
	 * one uid, so one caller cannot starve the rest. */
	if (c->max_sessions == 0)
		c->max_sessions = (unsigned)half;
	if (c->max_connections == 0)
		c->max_connections = (unsigned)half;
	if (c->max_sessions_per_uid == 0)
		c->max_sessions_per_uid = per_uid(c->max_sessions);
	if (c->max_connections_per_uid == 0)
		c->max_connections_per_uid = per_uid(c->max_connections);
	if (c->max_idle == 0)
		c->max_idle = c->max_connections / 2 ?
		    c->max_connections / 2 : 1;
	if ((unsigned long)c->max_sessions + c->max_connections > budget)
		log_warn("max_sessions (%u) + max_connections (%u) exceed the "
		    "%lu file descriptors hpoold may use (limit %lu, %d kept "
		    "for itself): raise LimitNOFILE or lower them",
		    c->max_sessions, c->max_connections, budget, nofile,
		    QUOTA_FD_OVERHEAD);
}

static struct uid_slot *
uid_slot(uid_t uid)
{
	uint32_t key = (uint32_t)uid + 1, want;
	size_t i, h;

	h = (size_t)(key * 2654435761u) % (UID_SLOTS - 1);
	for (i = 0; i < UID_SLOTS - 1; i++) {
		struct uid_slot *s = &shared->uids[(h + i) % (UID_SLOTS - 1)];
		uint32_t k = atomic_load(&s->key);

		if (k == key)
			return s;
		if (k != 0)
			continue;
		want = 0;
		if (atomic_compare_exchange_strong(&s->key, &want, key) ||
		    want == key)
			return s;
	}
	return &shared->uids[UID_SLOTS - 1];	/* shared overflow slot */
}

/* Count one more unless that passes max: 0, or -1 and nothing held. */
static int
take(_Atomic uint32_t *n, unsigned max)
{
	if (atomic_fetch_add(n, 1) >= max) {
		atomic_fetch_sub(n, 1);
		return -1;
	}
	return 0;
}

int
quota_session_take(uid_t uid, const struct config *c, char *why,
    size_t whylen)
{
	struct uid_slot *u = uid_slot(uid);

	if (take(&shared->sessions, c->max_sessions) == -1) {
		snprintf(why, whylen, "hpoold: too many client sessions "
		    "(max_sessions = %u)", c->max_sessions);
		return -1;
	}
	if (take(&u->sessions, c->max_sessions_per_uid) == -1) {
		atomic_fetch_sub(&shared->sessions, 1);
		snprintf(why, whylen, "hpoold: too many sessions for uid %u "
		    "(max_sessions_per_uid = %u)", (unsigned)uid,
		    c->max_sessions_per_uid);
		return -1;
	}
	return 0;
}

void
quota_session_put(uid_t uid)
{
	atomic_fetch_sub(&shared->sessions, 1);
	atomic_fetch_sub(&uid_slot(uid)->sessions, 1);
}

int
quota_conn_take(uid_t uid, const struct config *c, char *why, size_t whylen)
{
	struct uid_slot *u = uid_slot(uid);

	if (take(&shared->conns, c->max_connections) == -1) {
		snprintf(why, whylen, "hpoold: upstream connection limit "
		    "reached (max_connections = %u)", c->max_connections);
		return -1;
	}
	if (take(&u->conns, c->max_connections_per_uid) == -1) {
		atomic_fetch_sub(&shared->conns, 1);
		snprintf(why, whylen, "hpoold: too many upstream connections "
		    "for uid %u (max_connections_per_uid = %u)",
		    (unsigned)uid, c->max_connections_per_uid);
		return -1;
	}
	return 0;
}

void
quota_conn_put(uid_t uid)
{
	atomic_fetch_sub(&shared->conns, 1);
	atomic_fetch_sub(&uid_slot(uid)->conns, 1);
}

void
quota_idle_add(int delta)
{
	atomic_fetch_add(&shared->idle, delta);
}

unsigned
quota_idle(void)
{
	int32_t n = atomic_load(&shared->idle);

	return n > 0 ? (unsigned)n : 0;
}

unsigned
quota_conns(void)
{
	return atomic_load(&shared->conns);
}

unsigned
quota_uid_conns(uid_t uid)
{
	return atomic_load(&uid_slot(uid)->conns);
}
