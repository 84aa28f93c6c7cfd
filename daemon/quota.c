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
#include <pthread.h>
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
/* Destinations (pool keys) with a connection somewhere: more than
 * max_connections can ever need (config.c caps it), so never full. */
#define DEST_SLOTS	(1u << 17)

struct uid_slot {
	_Atomic uint32_t key;		/* uid + 1; 0: free */
	_Atomic uint32_t sessions;
	_Atomic uint32_t conns;
};

struct dest_slot {
	uint64_t	 key;		/* pool key hash; 0: free */
	uint32_t	 conns;
	uint32_t	 wanted;	/* pools of some worker waiting at the
					 * limit: idle ones elsewhere give way */
};

/*
 * What one worker process holds of each count. A worker that dies holds
 * nothing any more, but it cannot give back what it held: the supervisor
 * subtracts its shadow (quota_worker_gone), so the limits stay exact.
 */
struct shadow {
	_Atomic uint32_t sessions;
	_Atomic uint32_t conns;
	_Atomic int32_t	 idle;
	_Atomic uint32_t uid_sessions[UID_SLOTS];
	_Atomic uint32_t uid_conns[UID_SLOTS];
	uint16_t	 dest[DEST_SLOTS];	/* under dest_lock */
	uint16_t	 want[DEST_SLOTS];	/* under dest_lock */
};

struct counters {
	_Atomic uint32_t sessions;
	_Atomic uint32_t conns;
	_Atomic int32_t	 idle;
	_Atomic uint32_t wanted;	/* sum of dests[].wanted */
	struct uid_slot	 uids[UID_SLOTS];
	/* Connections per destination in every worker: an exact count
	 * wants one lock (robust: a worker killed holding it leaves it to
	 * the next taker). Taken to open or close a connection, not per
	 * request. */
	pthread_mutex_t	 dest_lock;
	struct dest_slot dests[DEST_SLOTS];
	struct shadow	 workers[QUOTA_WORKER_SLOTS];
};

static struct uid_slot	*uid_slot(uid_t);
static size_t		 uid_index(const struct uid_slot *);
static unsigned		 per_uid(unsigned);
static int		 take(_Atomic uint32_t *, unsigned);
static void		 dest_lock(void);
static void		 dest_remove(size_t);
static long		 dest_find(uint64_t, int);

static struct counters	*shared;
static struct shadow	*mine;	/* this process's shadow */

int
quota_init(void)
{
	pthread_mutexattr_t a;
	void *m;

	if (shared != NULL)
		return 0;
	/* Most of it is never touched (shadows of workers that do not
	 * exist, empty slots): untouched pages cost no memory. */
	m = mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED)
		return -1;
	shared = m;		/* zero-filled by the kernel */
	if (pthread_mutexattr_init(&a) != 0 ||
	    pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED) != 0 ||
	    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST) != 0 ||
	    pthread_mutex_init(&shared->dest_lock, &a) != 0) {
		munmap(m, sizeof(*shared));
		shared = NULL;
		errno = ENOMEM;
		return -1;
	}
	pthread_mutexattr_destroy(&a);
	mine = &shared->workers[0];
	return 0;
}

void
quota_set_worker(unsigned slot)
{
	mine = &shared->workers[slot % QUOTA_WORKER_SLOTS];
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

static size_t
uid_index(const struct uid_slot *u)
{
	return (size_t)(u - shared->uids);
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
	atomic_fetch_add(&mine->sessions, 1);
	atomic_fetch_add(&mine->uid_sessions[uid_index(u)], 1);
	return 0;
}

void
quota_session_put(uid_t uid)
{
	struct uid_slot *u = uid_slot(uid);

	atomic_fetch_sub(&mine->sessions, 1);
	atomic_fetch_sub(&mine->uid_sessions[uid_index(u)], 1);
	atomic_fetch_sub(&shared->sessions, 1);
	atomic_fetch_sub(&u->sessions, 1);
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
	atomic_fetch_add(&mine->conns, 1);
	atomic_fetch_add(&mine->uid_conns[uid_index(u)], 1);
	return 0;
}

void
quota_conn_put(uid_t uid)
{
	struct uid_slot *u = uid_slot(uid);

	atomic_fetch_sub(&mine->conns, 1);
	atomic_fetch_sub(&mine->uid_conns[uid_index(u)], 1);
	atomic_fetch_sub(&shared->conns, 1);
	atomic_fetch_sub(&u->conns, 1);
}

void
quota_idle_add(int delta)
{
	atomic_fetch_add(&mine->idle, delta);
	atomic_fetch_add(&shared->idle, delta);
}

static void
dest_lock(void)
{
	/* A worker died holding it: what it guarded is whole (each change
	 * under it is a few stores that the dead worker's shadow undoes),
	 * so mark it usable and go on. */
	if (pthread_mutex_lock(&shared->dest_lock) == EOWNERDEAD)
		pthread_mutex_consistent(&shared->dest_lock);
}

/* The slot of key (made if create and missing), or -1. Under the lock.
 * Linear probing; removal shifts entries back, so the first free slot
 * ends every chain. */
static long
dest_find(uint64_t key, int create)
{
	size_t i, n;

	for (i = key % DEST_SLOTS, n = 0; n < DEST_SLOTS;
	    i = (i + 1) % DEST_SLOTS, n++) {
		struct dest_slot *d = &shared->dests[i];

		if (d->key == key)
			return (long)i;
		if (d->key != 0)
			continue;
		if (!create)
			return -1;
		d->key = key;
		d->conns = d->wanted = 0;
		return (long)i;
	}
	return -1;
}

int
quota_dest_take(uint64_t key, unsigned max)
{
	long i;
	int rc = -1;

	key |= 1;	/* 0 marks a free slot */
	dest_lock();
	if ((i = dest_find(key, 1)) != -1) {
		if (shared->dests[i].conns < max) {
			shared->dests[i].conns++;
			mine->dest[i]++;
			rc = 0;
		} else if (shared->dests[i].conns == 0 &&
		    shared->dests[i].wanted == 0)
			dest_remove((size_t)i);
	}
	pthread_mutex_unlock(&shared->dest_lock);
	return rc;
}

/* Empty slot i, moving later entries of its chain back so no lookup
 * stops early; each worker's shadow counts move with their entry. */
static void
dest_remove(size_t i)
{
	size_t j = i, home, w;

	shared->dests[i].key = 0;
	for (;;) {
		j = (j + 1) % DEST_SLOTS;
		if (shared->dests[j].key == 0)
			return;
		home = shared->dests[j].key % DEST_SLOTS;
		/* j's entry may fill the hole at i unless its home lies in
		 * (i, j] (cyclically) */
		if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
			continue;
		shared->dests[i] = shared->dests[j];
		shared->dests[j].key = 0;
		for (w = 0; w < QUOTA_WORKER_SLOTS; w++) {
			struct shadow *sh = &shared->workers[w];

			sh->dest[i] = sh->dest[j];
			sh->want[i] = sh->want[j];
			sh->dest[j] = sh->want[j] = 0;
		}
		i = j;
	}
}

void
quota_dest_put(uint64_t key)
{
	long i;

	key |= 1;
	dest_lock();
	if ((i = dest_find(key, 0)) != -1 && shared->dests[i].conns > 0) {
		shared->dests[i].conns--;
		if (mine->dest[i] > 0)
			mine->dest[i]--;
		if (shared->dests[i].conns == 0 && shared->dests[i].wanted == 0)
			dest_remove((size_t)i);
	}
	pthread_mutex_unlock(&shared->dest_lock);
}

void
quota_dest_want(uint64_t key, int on)
{
	long i;

	key |= 1;
	dest_lock();
	if ((i = dest_find(key, on)) != -1) {
		if (on) {
			shared->dests[i].wanted++;
			mine->want[i]++;
			atomic_fetch_add(&shared->wanted, 1);
		} else if (shared->dests[i].wanted > 0) {
			shared->dests[i].wanted--;
			if (mine->want[i] > 0)
				mine->want[i]--;
			atomic_fetch_sub(&shared->wanted, 1);
			if (shared->dests[i].conns == 0 &&
			    shared->dests[i].wanted == 0)
				dest_remove((size_t)i);
		}
	}
	pthread_mutex_unlock(&shared->dest_lock);
}

int
quota_dest_wanted(uint64_t key)
{
	long i;
	int w = 0;

	/* the common case, nobody waiting anywhere, takes no lock */
	if (atomic_load(&shared->wanted) == 0)
		return 0;
	key |= 1;
	dest_lock();
	if ((i = dest_find(key, 0)) != -1)
		w = shared->dests[i].wanted > 0;
	pthread_mutex_unlock(&shared->dest_lock);
	return w;
}

int
quota_any_wanted(void)
{
	return atomic_load(&shared->wanted) > 0;
}

unsigned
quota_dest_conns(uint64_t key)
{
	long i;
	unsigned c = 0;

	key |= 1;
	dest_lock();
	if ((i = dest_find(key, 0)) != -1)
		c = shared->dests[i].conns;
	pthread_mutex_unlock(&shared->dest_lock);
	return c;
}

void
quota_worker_gone(unsigned slot)
{
	struct shadow *w = &shared->workers[slot % QUOTA_WORKER_SLOTS];
	uint32_t n;
	size_t i;

	atomic_fetch_sub(&shared->sessions, atomic_exchange(&w->sessions, 0));
	atomic_fetch_sub(&shared->conns, atomic_exchange(&w->conns, 0));
	atomic_fetch_sub(&shared->idle, atomic_exchange(&w->idle, 0));
	for (i = 0; i < UID_SLOTS; i++) {
		if ((n = atomic_exchange(&w->uid_sessions[i], 0)) != 0)
			atomic_fetch_sub(&shared->uids[i].sessions, n);
		if ((n = atomic_exchange(&w->uid_conns[i], 0)) != 0)
			atomic_fetch_sub(&shared->uids[i].conns, n);
	}
	dest_lock();
	for (i = 0; i < DEST_SLOTS; i++) {
		struct dest_slot *d = &shared->dests[i];

		if (w->dest[i] != 0) {
			n = w->dest[i] < d->conns ? w->dest[i] : d->conns;
			d->conns -= n;
			w->dest[i] = 0;
		}
		if (w->want[i] != 0) {
			n = w->want[i] < d->wanted ? w->want[i] : d->wanted;
			d->wanted -= n;
			atomic_fetch_sub(&shared->wanted, n);
			w->want[i] = 0;
		}
	}
	/* emptied entries leave only after the walk: removal moves
	 * entries, which the walk above must not meet twice */
	for (i = 0; i < DEST_SLOTS; i++)
		if (shared->dests[i].key != 0 && shared->dests[i].conns == 0 &&
		    shared->dests[i].wanted == 0)
			dest_remove(i--);
	pthread_mutex_unlock(&shared->dest_lock);
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
