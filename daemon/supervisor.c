/*
 * supervisor.c: owns hpoold's processes. The supervisor forks the
 * workers, watches them (pings, exits, a crash loop's backoff), handles
 * the signals (reload, drain, stop), talks to systemd (READY, RELOADING,
 * STOPPING, STATUS, WATCHDOG) and sums the workers' counters. It never
 * touches a client's or a server's bytes: a worker that crashes takes
 * only its own sessions with it.
 */
#include "hpool_autoconf.h"

#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/buffer.h>
#include <event2/http.h>

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "config.h"
#include "control.h"
#include "listen.h"
#include "log.h"
#include "quota.h"
#include "server.h"
#include "stats.h"
#include "supervisor.h"
#include "worker.h"

#define TICK_MS		500	/* pings; stats and STATUS= every other */
#define ANSWER_MS	500	/* a ping unanswered longer: no WATCHDOG=1 */
#define PING_TIMEOUT_MS	5000	/* a worker silent this long is stuck */
#define CRASH_WINDOW_MS	5000	/* a worker dying sooner is a crash loop */
#define BACKOFF_MIN_MS	100
#define BACKOFF_MAX_MS	10000
/* SIGTERM: workers have their grace period to finish; this much more and
 * any still alive is killed. */
#define STOP_EXTRA_SEC	5

struct kid {
	pid_t		 pid;		/* 0: the slot is free */
	int		 ctl;		/* our end of its socketpair */
	struct event	*ev;
	unsigned	 id;		/* worker number, 1.. (ps, logs) */
	unsigned	 gen;		/* reload generation */
	int		 ready;		/* READY came */
	int		 draining;	/* told to drain */
	uint64_t	 ping_seq;	/* last PING sent */
	uint64_t	 pong_seq;	/* last PONG seen */
	uint64_t	 ping_at;	/* ms, when the unanswered PING left */
	uint64_t	 born;		/* ms */
	struct stats	 stats;		/* as last reported */
	uint64_t	 asked;		/* the stats round it was asked in */
	int		 dumped;	/* and answered */
};

/*
 * Stats (hpool --stats, /metrics): a round asks every worker for its
 * rows (DUMP_REQ), merges what comes within GATHER_MS, and answers every
 * request that waited for that round; one asked during a round waits for
 * the next, so that an answer never predates its question.
 */
#define GATHER_MS	1000
#define GATHER_WAITS	32	/* requests waiting at once, at most */

struct gather_wait {
	pid_t		 pid;		/* a worker's GATHER; 0: /metrics */
	uint64_t	 seq;		/* the worker's */
	uint8_t		 format;
	uint64_t	 round;		/* answered by this round; 0: next */
	struct evhttp_request *req;	/* /metrics */
};

struct sup {
	struct event_base *base;
	struct config	 cfg;		/* in force */
	const struct supervisor_args *args;
	int		 listen_fd;
	unsigned	 gen;
	unsigned	 nwant;		/* workers of the current generation */
	struct kid	 kids[QUOTA_WORKER_SLOTS];
	unsigned	 crashes;	/* quick deaths in a row */
	struct event	*respawn;	/* backoff before filling up again */
	int		 stopping;
	int		 ready_sent;	/* READY=1 for this generation */
	uint64_t	 seq;
	unsigned	 ticks;
	struct stats	 retired;	/* what workers now gone reported */
	struct event	*sigs[5];
	struct event	*tick;
	struct event	*stop_timer;
	struct event	*watchdog;
	uint64_t	 wd_usec;
	unsigned	 ping_timeout_ms;
	uint64_t	 started;	/* ms */
	struct stats_table *round_tab;	/* the running round's merge */
	uint64_t	 round;		/* its DUMP_REQ seq; 0: none runs */
	unsigned	 round_asked;
	struct event	*round_timer;
	struct gather_wait waits[GATHER_WAITS];
	size_t		 nwaits;
	struct evhttp	*http;		/* metrics_listen */
};

static uint64_t	now_ms(void);
static void	notify(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
static int	spawn(struct sup *, unsigned id);
static void	fill(struct sup *);
static void	respawn_cb(evutil_socket_t, short, void *);
static void	ctl_cb(evutil_socket_t, short, void *);
static void	kid_read(struct sup *, struct kid *, int reaped);
static void	kid_close(struct sup *, struct kid *);
static void	reap(struct sup *);
static void	on_signal(evutil_socket_t, short, void *);
static void	reload(struct sup *);
static void	stop(struct sup *);
static int	move_socket(struct sup *, const struct config *, char *,
		    int *);
static void	tick_cb(evutil_socket_t, short, void *);
static void	stop_cb(evutil_socket_t, short, void *);
static void	watchdog_cb(evutil_socket_t, short, void *);
static void	status(struct sup *);
static void	sum(struct stats *, const struct stats *);
static unsigned	live_kids(const struct sup *);
static void	check_ready(struct sup *);
static void	send_all(struct sup *, uint8_t, int also_draining);
static void	totals(struct sup *, struct stats *, unsigned *);
static void	gather_add(struct sup *, pid_t, uint64_t, uint8_t,
		    struct evhttp_request *);
static void	gather_dump(struct sup *, struct kid *, uint64_t,
		    const char *);
static void	gather_finish(struct sup *);
static void	round_timer_cb(evutil_socket_t, short, void *);
static int	metrics_open(struct sup *);

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
notify(const char *fmt, ...)
{
#ifdef HAVE_SYSTEMD
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sd_notify(0, msg);
#else
	(void)fmt;
#endif
}

static void
sum(struct stats *to, const struct stats *s)
{
	to->sessions += s->sessions;
	to->requests += s->requests;
	to->upstream_connects += s->upstream_connects;
	to->upstream_reuses += s->upstream_reuses;
	to->retries += s->retries;
	to->tls_full += s->tls_full;
	to->tls_resumed += s->tls_resumed;
	to->live_sessions += s->live_sessions;
	to->idle_conns += s->idle_conns;
	to->busy_conns += s->busy_conns;
}

static unsigned
live_kids(const struct sup *sp)
{
	unsigned i, n = 0;

	for (i = 0; i < QUOTA_WORKER_SLOTS; i++)
		if (sp->kids[i].pid != 0)
			n++;
	return n;
}

/*
 * Fork worker id of the current generation. The child never returns
 * here: worker_main() owns it from the fork on.
 */
static int
spawn(struct sup *sp, unsigned id)
{
	struct kid *k = NULL;
	sigset_t all, old;
	int sv[2];
	unsigned i;
	pid_t pid;

	for (i = 0; i < QUOTA_WORKER_SLOTS && k == NULL; i++)
		if (sp->kids[i].pid == 0)
			k = &sp->kids[i];
	if (k == NULL) {
		log_err("no free worker slot for worker %u", id);
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		log_err("worker %u: socketpair: %s", id, strerror(errno));
		return -1;
	}
	/* No signal may run a handler of ours in the child before it has
	 * put its own in place: libevent's would write to our loop. */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	pid = fork();
	if (pid == 0) {
		struct worker_start ws;

		close(sv[0]);
		memset(&ws, 0, sizeof(ws));
		ws.cfg = sp->cfg;
		ws.listen_fd = sp->listen_fd;
		ws.ctl = sv[1];
		ws.id = id;
		ws.slot = (unsigned)(k - sp->kids);
		ws.parent = getppid();
		ws.sigmask = old;
		worker_main(&ws);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(sv[1]);
	if (pid == -1) {
		log_err("worker %u: fork: %s", id, strerror(errno));
		close(sv[0]);
		return -1;
	}
	memset(k, 0, sizeof(*k));
	k->pid = pid;
	k->ctl = sv[0];
	k->id = id;
	k->gen = sp->gen;
	k->born = now_ms();
	k->ev = event_new(sp->base, sv[0], EV_READ | EV_PERSIST, ctl_cb, sp);
	if (k->ev == NULL || event_add(k->ev, NULL) == -1)
		log_err("worker %u: cannot watch its control socket", id);
	log_debug("worker %u: pid %d (slot %u, generation %u)", id, (int)pid,
	    (unsigned)(k - sp->kids), sp->gen);
	return 0;
}

/* Start every worker of the current generation that is not running. */
static void
fill(struct sup *sp)
{
	unsigned id, i;
	int have;

	if (sp->stopping)
		return;
	for (id = 1; id <= sp->nwant; id++) {
		have = 0;
		for (i = 0; i < QUOTA_WORKER_SLOTS; i++)
			if (sp->kids[i].pid != 0 &&
			    sp->kids[i].gen == sp->gen && sp->kids[i].id == id &&
			    !sp->kids[i].draining)
				have = 1;
		if (!have)
			spawn(sp, id);
	}
}

static void
respawn_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	fill(arg);
}

static struct kid *
kid_by_fd(struct sup *sp, int fd)
{
	unsigned i;

	for (i = 0; i < QUOTA_WORKER_SLOTS; i++)
		if (sp->kids[i].pid != 0 && sp->kids[i].ctl == fd)
			return &sp->kids[i];
	return NULL;
}

static void
ctl_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sup *sp = arg;
	struct kid *k = kid_by_fd(sp, fd);

	(void)what;
	if (k != NULL)
		kid_read(sp, k, 0);
}

/* Take what the worker sent. reaped: it is dead and waited for (its pid
 * may be another process's already: never signal it). */
static void
kid_read(struct sup *sp, struct kid *k, int reaped)
{
	struct ctl_msg m;
	char err[160];
	int rc;

	while ((rc = ctl_recv(k->ctl, &m, err, sizeof(err))) == 1) {
		switch (m.type) {
		case CTL_READY:
			k->ready = 1;
			k->pong_seq = k->ping_seq;
			log_debug("worker %u (pid %d) accepting", k->id,
			    (int)k->pid);
			check_ready(sp);
			break;
		case CTL_PONG:
			if (m.seq == k->ping_seq)
				k->pong_seq = m.seq;
			break;
		case CTL_STATS:
			k->stats = m.stats;
			break;
		case CTL_GATHER:
			gather_add(sp, k->pid, m.seq, m.format, NULL);
			break;
		case CTL_DUMP:
			gather_dump(sp, k, m.seq, m.text);
			break;
		default:
			rc = -1;
			snprintf(err, sizeof(err), "unexpected %s",
			    ctl_type_name(m.type));
			break;
		}
		ctl_msg_clear(&m);
		if (rc == -1)
			break;
	}
	if (rc == -1) {
		/* Gone (its exit is reaped by SIGCHLD) or broken: no
		 * broken worker keeps serving. */
		if (!reaped && strcmp(err, "control socket closed") != 0) {
			log_err("worker %u (pid %d): %s: stopping it", k->id,
			    (int)k->pid, err);
			kill(k->pid, SIGKILL);
		}
		event_del(k->ev);
	}
}

/* READY=1 once every worker of the generation accepts. */
static void
check_ready(struct sup *sp)
{
	unsigned i, n = 0;

	if (sp->ready_sent || sp->stopping)
		return;
	for (i = 0; i < QUOTA_WORKER_SLOTS; i++)
		if (sp->kids[i].pid != 0 && sp->kids[i].gen == sp->gen &&
		    !sp->kids[i].draining && sp->kids[i].ready)
			n++;
	if (n < sp->nwant)
		return;
	sp->ready_sent = 1;
	notify("READY=1");
	log_info("%u worker%s accepting", n, n == 1 ? "" : "s");
	status(sp);
}

static void
kid_close(struct sup *sp, struct kid *k)
{
	(void)sp;
	if (k->ev != NULL)
		event_free(k->ev);
	close(k->ctl);
	memset(k, 0, sizeof(*k));
}

/* SIGCHLD: who died, what they held, and whether to start another. */
static void
reap(struct sup *sp)
{
	struct timeval tv;
	struct kid *k;
	uint64_t lived;
	unsigned i, delay;
	int st, crashed = 0, replace = 0;
	pid_t pid;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		for (k = NULL, i = 0; i < QUOTA_WORKER_SLOTS; i++)
			if (sp->kids[i].pid == pid)
				k = &sp->kids[i];
		if (k == NULL)
			continue;
		lived = now_ms() - k->born;
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
			log_info("worker %u (pid %d) exited", k->id, (int)pid);
		else {
			if (WIFSIGNALED(st))
				log_err("worker %u (pid %d) killed by signal "
				    "%d after %llu ms", k->id, (int)pid,
				    WTERMSIG(st), (unsigned long long)lived);
			else
				log_err("worker %u (pid %d) exited with %d "
				    "after %llu ms", k->id, (int)pid,
				    WEXITSTATUS(st), (unsigned long long)lived);
			if (!sp->stopping && k->gen == sp->gen &&
			    !k->draining) {
				replace = 1;
				if (lived < CRASH_WINDOW_MS)
					crashed = 1;
			}
		}
		/* its last words (the final STATS) may still be queued */
		kid_read(sp, k, 1);
		/* What it held is free now: the limits stay exact. */
		quota_worker_gone((unsigned)(k - sp->kids));
		/* its gauges count for nothing now: status() leaves
		 * retired's out */
		sum(&sp->retired, &k->stats);
		kid_close(sp, k);
	}
	if (sp->stopping) {
		if (live_kids(sp) == 0)
			event_base_loopexit(sp->base, NULL);
		return;
	}
	if (!replace)
		return;
	if (!crashed) {
		sp->crashes = 0;
		fill(sp);
		return;
	}
	/* Dying as soon as it starts: forking again at once would only
	 * burn the machine. Back off, longer each time, and say so. */
	sp->crashes++;
	delay = BACKOFF_MIN_MS << (sp->crashes < 8 ? sp->crashes - 1 : 7);
	if (delay > BACKOFF_MAX_MS)
		delay = BACKOFF_MAX_MS;
	log_warn("workers are dying within %d ms of starting (%u in a row): "
	    "starting the next in %u ms", CRASH_WINDOW_MS, sp->crashes, delay);
	tv = ms_tv(delay);
	evtimer_add(sp->respawn, &tv);
}

static void
send_all(struct sup *sp, uint8_t type, int also_draining)
{
	struct ctl_msg m;
	unsigned i;

	memset(&m, 0, sizeof(m));
	m.type = type;
	if (type == CTL_CONFIG)
		m.cfg = sp->cfg;
	if (type == CTL_POLICY && (m.text = sp->cfg.text) == NULL)
		return;
	for (i = 0; i < QUOTA_WORKER_SLOTS; i++) {
		struct kid *k = &sp->kids[i];

		if (k->pid == 0 || (k->draining && !also_draining))
			continue;
		if (type == CTL_DRAIN)
			k->draining = 1;
		if (ctl_send(k->ctl, &m) == -1)
			log_warn("worker %u (pid %d): %s not delivered: %s",
			    k->id, (int)k->pid, ctl_type_name(type),
			    strerror(errno));
	}
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct sup *sp = arg;

	(void)what;
	switch (sig) {
	case SIGCHLD:
		reap(sp);
		break;
	case SIGHUP:
		reload(sp);
		break;
	default:
		stop(sp);
		break;
	}
}

/*
 * SIGHUP. The new file is read and checked here; a bad one changes
 * nothing. Live settings go to the running workers (their pools stay
 * warm); a new number of workers starts a new generation while the old
 * one drains.
 */
static void
reload(struct sup *sp)
{
	const struct supervisor_args *a = sp->args;
	struct config c;
	char err[512], old_path[CONFIG_PATH_MAX];
	unsigned was = sp->nwant, i;
	int old_fd = -1, absent;

	notify("RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)now_ms() * 1000);
	if (a->config_path == NULL) {
		log_info("SIGHUP: no config file to reload");
		notify("READY=1");
		return;
	}
	config_defaults(&c);
	if (config_load_optional(&c, a->config_path, &absent, err,
	    sizeof(err)) == -1) {
		log_err("reload refused, keeping the old settings: %s", err);
		notify("READY=1");
		return;
	}
	/* As at start: a restart would run with the defaults too. The
	 * workers get an empty text to parse, which drops the old rules
	 * (no text would send them nothing). */
	if (absent) {
		if ((c.text = strdup("")) == NULL) {
			log_err("reload refused: out of memory");
			notify("READY=1");
			return;
		}
		log_warn("%s does not exist: reloading the built-in defaults",
		    a->config_path);
	}
	if (config_ensure_policy(&c) == -1) {
		log_err("reload refused: out of memory");
		config_release(&c);
		notify("READY=1");
		return;
	}
	if (a->verbose)
		c.log_level = LOG_LVL_DEBUG;
	if (a->workers_opt)
		c.workers = a->workers;
	quota_resolve(&c, quota_raise_nofile());
	config_resolve_workers(&c);
	if (a->socket_opt != NULL)
		memcpy(c.socket_path, sp->cfg.socket_path,
		    sizeof(c.socket_path));
	if (strcmp(c.socket_path, sp->cfg.socket_path) != 0) {
		if (a->srv->socket_path[0] == '\0') {
			/* systemd's: it decides where the socket is */
			log_warn("the socket is systemd's: it stays %s (the "
			    "config says %s)", sp->cfg.socket_path,
			    c.socket_path);
		} else if (move_socket(sp, &c, old_path, &old_fd) == -1) {
			config_release(&c);
			notify("READY=1");
			return;
		}
	}
	config_log_changes(&sp->cfg, &c, old_fd != -1 ? CONFIG_SOCKET_MOVED :
	    a->srv->socket_path[0] == '\0' ? CONFIG_SOCKET_SYSTEMD :
	    CONFIG_SOCKET_KEPT);
	if (old_fd == -1) {
		memcpy(c.socket_path, sp->cfg.socket_path,
		    sizeof(c.socket_path));
		c.socket_mode = sp->cfg.socket_mode;
	}
	config_release(&sp->cfg);
	sp->cfg = c;
	log_init(c.log_level);
	send_all(sp, CTL_CONFIG, 0);
	/* the rules and proxies: the workers parse the very same bytes */
	send_all(sp, CTL_POLICY, 0);
	if (c.workers != was || old_fd != -1) {
		/* A new generation takes over; the old one finishes what it
		 * has and exits. */
		for (i = 0; i < QUOTA_WORKER_SLOTS; i++)
			if (sp->kids[i].pid != 0 && !sp->kids[i].draining)
				sp->kids[i].gen = sp->gen;
		send_all(sp, CTL_DRAIN, 0);
		sp->gen++;
		sp->nwant = c.workers;
		sp->ready_sent = 0;
		sp->crashes = 0;
		log_info("reloaded %s: %u workers replace %u", a->config_path,
		    c.workers, was);
		fill(sp);
		if (old_fd != -1) {
			/* the old workers close their copies as they drain */
			close(old_fd);
			unlink(old_path);
			log_info("listening on %s instead of %s",
			    sp->cfg.socket_path, old_path);
		}
		return;
	}
	log_info("reloaded %s", a->config_path);
	notify("READY=1");
	status(sp);
}

/*
 * The config names another socket: listen there (a failure refuses the
 * whole reload, naming why); the caller starts a new generation on it and
 * then closes the old socket (*old_fd) and removes its file (old_path).
 */
static int
move_socket(struct sup *sp, const struct config *c, char *old_path,
    int *old_fd)
{
	struct server tmp;
	char err[512];
	int fd;

	memset(&tmp, 0, sizeof(tmp));
	tmp.cfg = *c;
	if ((fd = listen_open(&tmp, err, sizeof(err))) == -1) {
		log_err("reload refused, keeping the old settings: %s", err);
		return -1;
	}
	memcpy(old_path, sp->args->srv->socket_path, CONFIG_PATH_MAX);
	memcpy(sp->args->srv->socket_path, tmp.socket_path, CONFIG_PATH_MAX);
	*old_fd = sp->listen_fd;
	sp->listen_fd = fd;
	return 0;
}

/* SIGTERM, SIGINT: stop accepting at once, let the workers finish; a
 * second one: stop now. */
static void
stop(struct sup *sp)
{
	struct timeval tv = { DRAIN_GRACE_SEC + STOP_EXTRA_SEC, 0 };

	if (sp->stopping) {
		log_info("second signal: stopping now");
		send_all(sp, CTL_STOP, 1);
		return;
	}
	sp->stopping = 1;
	notify("STOPPING=1");
	log_info("draining: no new sessions; running requests have %d s",
	    DRAIN_GRACE_SEC);
	send_all(sp, CTL_DRAIN, 0);
	/* The workers close their copies as they stop accepting; ours and
	 * the file go now, so a new client is refused at once. */
	listen_close(sp->args->srv, sp->listen_fd);
	sp->listen_fd = -1;
	evtimer_add(sp->stop_timer, &tv);
	if (live_kids(sp) == 0)
		event_base_loopexit(sp->base, NULL);
}

static void
stop_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sup *sp = arg;
	unsigned i;

	(void)fd;
	(void)what;
	for (i = 0; i < QUOTA_WORKER_SLOTS; i++)
		if (sp->kids[i].pid != 0) {
			log_warn("worker %u (pid %d) still running after the "
			    "grace period: killing it", sp->kids[i].id,
			    (int)sp->kids[i].pid);
			kill(sp->kids[i].pid, SIGKILL);
		}
}

/* Each second: ping every worker (one that misses is stuck and is
 * replaced), ask for counters, refresh STATUS=. */
static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sup *sp = arg;
	struct ctl_msg m;
	uint64_t now = now_ms();
	unsigned i;

	(void)fd;
	(void)what;
	if (++sp->ticks % 2 == 0)
		status(sp);
	for (i = 0; i < QUOTA_WORKER_SLOTS; i++) {
		struct kid *k = &sp->kids[i];

		if (k->pid == 0)
			continue;
		if (k->pong_seq != k->ping_seq) {
			if (now - k->ping_at >= sp->ping_timeout_ms) {
				log_err("worker %u (pid %d) has not answered "
				    "for %u ms: killing it", k->id, (int)k->pid,
				    sp->ping_timeout_ms);
				kill(k->pid, SIGKILL);
			}
			continue;
		}
		memset(&m, 0, sizeof(m));
		m.type = CTL_PING;
		m.seq = k->ping_seq = ++sp->seq;
		k->ping_at = now;
		ctl_send(k->ctl, &m);
		if (sp->ticks % 2 == 0) {
			m.type = CTL_STATS_REQ;
			ctl_send(k->ctl, &m);
		}
	}
}

/* WATCHDOG=1 only while every worker answers its pings in time
 * (ANSWER_MS): a stuck one holds it back until it is replaced. */
static void
watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sup *sp = arg;
	uint64_t now = now_ms();
	unsigned i;

	(void)fd;
	(void)what;
	for (i = 0; i < QUOTA_WORKER_SLOTS; i++) {
		struct kid *k = &sp->kids[i];

		if (k->pid != 0 && k->pong_seq != k->ping_seq &&
		    now - k->ping_at > ANSWER_MS)
			return;
	}
	notify("WATCHDOG=1");
}

/* The daemon's counters: the workers gone, and the live ones as they
 * last said; gauges of the live ones only. STATUS= and the stats both. */
static void
totals(struct sup *sp, struct stats *t, unsigned *n)
{
	unsigned i;

	*t = sp->retired;
	*n = 0;
	t->live_sessions = t->idle_conns = t->busy_conns = 0;
	for (i = 0; i < QUOTA_WORKER_SLOTS; i++)
		if (sp->kids[i].pid != 0) {
			sum(t, &sp->kids[i].stats);
			(*n)++;
		}
}

static void
status(struct sup *sp)
{
	struct stats t;
	unsigned n;

	totals(sp, &t, &n);
	notify("STATUS=%u workers, %llu sessions, %llu idle and %llu busy "
	    "upstream connections, %llu requests", n,
	    (unsigned long long)t.live_sessions,
	    (unsigned long long)t.idle_conns,
	    (unsigned long long)t.busy_conns,
	    (unsigned long long)t.requests);
}

int
supervisor_run(const struct supervisor_args *a, const struct config *cfg,
    int listen_fd)
{
	static const int signums[] = { SIGTERM, SIGINT, SIGHUP, SIGCHLD };
	struct timeval tick = ms_tv(TICK_MS);
	struct sup *sp;
	struct stats t;
	unsigned i;

	if ((sp = calloc(1, sizeof(*sp))) == NULL) {
		log_err("supervisor: out of memory");
		return 1;
	}
	sp->args = a;
	sp->cfg = *cfg;
	sp->listen_fd = listen_fd;
	sp->nwant = cfg->workers;
	sp->gen = 1;
	sp->ping_timeout_ms = PING_TIMEOUT_MS;
	if ((sp->base = event_base_new()) == NULL) {
		log_err("supervisor: cannot make an event loop");
		free(sp);
		return 1;
	}
	for (i = 0; i < sizeof(signums) / sizeof(signums[0]); i++) {
		sp->sigs[i] = evsignal_new(sp->base, signums[i], on_signal, sp);
		if (sp->sigs[i] == NULL || evsignal_add(sp->sigs[i], NULL) == -1)
			fatalx("cannot handle signal %d", signums[i]);
	}
	sp->respawn = evtimer_new(sp->base, respawn_cb, sp);
	sp->stop_timer = evtimer_new(sp->base, stop_cb, sp);
	sp->tick = event_new(sp->base, -1, EV_PERSIST, tick_cb, sp);
	if (sp->respawn == NULL || sp->stop_timer == NULL || sp->tick == NULL)
		fatalx("supervisor: out of memory");
	event_add(sp->tick, &tick);
	sp->started = now_ms();
	sp->round_timer = evtimer_new(sp->base, round_timer_cb, sp);
	if (sp->round_timer == NULL)
		fatalx("supervisor: out of memory");
	if (metrics_open(sp) == -1) {
		event_free(sp->round_timer);
		event_free(sp->tick);
		event_free(sp->respawn);
		event_free(sp->stop_timer);
		for (i = 0; i < sizeof(signums) / sizeof(signums[0]); i++)
			event_free(sp->sigs[i]);
		event_base_free(sp->base);
		free(sp);
		return 1;
	}
#ifdef HAVE_SYSTEMD
	if (sd_watchdog_enabled(0, &sp->wd_usec) > 0 && sp->wd_usec > 0) {
		struct timeval tv = { (time_t)(sp->wd_usec / 4000000),
		    (suseconds_t)(sp->wd_usec / 4 % 1000000) };

		/*
		 * A stuck worker must be replaced before systemd gives up on
		 * all of us: keep-alives every quarter of the period; held
		 * back from ANSWER_MS after a ping a worker misses, until it
		 * is killed, a third of the period after the ping, and
		 * replaced. The gap stays under the period.
		 */
		if (sp->wd_usec / 3000 < sp->ping_timeout_ms)
			sp->ping_timeout_ms = (unsigned)(sp->wd_usec / 3000);
		if (sp->ping_timeout_ms < 2 * TICK_MS)
			sp->ping_timeout_ms = 2 * TICK_MS;
		sp->watchdog = event_new(sp->base, -1, EV_PERSIST,
		    watchdog_cb, sp);
		if (sp->watchdog != NULL)
			event_add(sp->watchdog, &tv);
	}
#endif
	proctitle_set("hpoold: supervisor");
	log_info("hpoold %s starting %u worker%s (max %u connections per "
	    "host)", PACKAGE_VERSION, sp->nwant, sp->nwant == 1 ? "" : "s",
	    cfg->max_per_host);
	fill(sp);
	event_base_dispatch(sp->base);

	t = sp->retired;
	for (i = 0; i < QUOTA_WORKER_SLOTS; i++)
		if (sp->kids[i].pid != 0) {
			sum(&t, &sp->kids[i].stats);
			kid_close(sp, &sp->kids[i]);
		}
	if (sp->listen_fd != -1)
		listen_close(a->srv, sp->listen_fd);
	log_info("stopped: %llu sessions, %llu requests, %llu upstream "
	    "connections opened, %llu requests on pooled connections, "
	    "TLS handshakes: %llu full, %llu resumed",
	    (unsigned long long)t.sessions, (unsigned long long)t.requests,
	    (unsigned long long)t.upstream_connects,
	    (unsigned long long)t.upstream_reuses,
	    (unsigned long long)t.tls_full, (unsigned long long)t.tls_resumed);
	for (i = 0; i < sizeof(signums) / sizeof(signums[0]); i++)
		event_free(sp->sigs[i]);
	event_free(sp->respawn);
	event_free(sp->stop_timer);
	event_free(sp->tick);
	if (sp->watchdog != NULL)
		event_free(sp->watchdog);
	for (i = 0; i < sp->nwaits; i++)
		if (sp->waits[i].req != NULL)
			evhttp_send_error(sp->waits[i].req, 503, "stopping");
	if (sp->http != NULL)
		evhttp_free(sp->http);
	event_free(sp->round_timer);
	free(sp->round_tab);
	event_base_free(sp->base);
	config_release(&sp->cfg);
	free(sp);
	return 0;
}

/* ---------------------------------------------------------------- stats */

/* Ask every live worker for its rows, for the waits not yet in a round. */
static void
gather_start(struct sup *sp)
{
	struct timeval tv = ms_tv(GATHER_MS);
	struct ctl_msg m;
	unsigned i;

	if (sp->round != 0 || sp->nwaits == 0)
		return;
	if (sp->round_tab == NULL &&
	    (sp->round_tab = malloc(sizeof(*sp->round_tab))) == NULL) {
		log_err("stats: out of memory");
		return;
	}
	memset(sp->round_tab, 0, sizeof(*sp->round_tab));
	sp->round = ++sp->seq;
	sp->round_asked = 0;
	for (i = 0; i < sp->nwaits; i++)
		if (sp->waits[i].round == 0)
			sp->waits[i].round = sp->round;
	memset(&m, 0, sizeof(m));
	m.type = CTL_DUMP_REQ;
	m.seq = sp->round;
	for (i = 0; i < QUOTA_WORKER_SLOTS; i++) {
		struct kid *k = &sp->kids[i];

		if (k->pid == 0)
			continue;
		k->asked = sp->round;
		k->dumped = 0;
		sp->round_asked++;
		if (ctl_send(k->ctl, &m) == -1)
			log_warn("stats: asking worker %u: %s", k->id,
			    strerror(errno));
	}
	if (sp->round_asked == 0)
		gather_finish(sp);
	else
		evtimer_add(sp->round_timer, &tv);
}

static void
gather_add(struct sup *sp, pid_t pid, uint64_t seq, uint8_t format,
    struct evhttp_request *req)
{
	struct gather_wait *w;
	struct kid *k;
	struct ctl_msg m;
	unsigned i;

	if (sp->nwaits == GATHER_WAITS) {
		if (req != NULL) {
			evhttp_send_error(req, 503, "too many stats requests");
			return;
		}
		for (i = 0; i < QUOTA_WORKER_SLOTS; i++) {
			k = &sp->kids[i];
			if (k->pid != pid)
				continue;
			memset(&m, 0, sizeof(m));
			m.type = CTL_GATHERED;
			m.seq = seq;
			m.text = "";	/* no answer: busy */
			ctl_send(k->ctl, &m);
		}
		return;
	}
	w = &sp->waits[sp->nwaits++];
	memset(w, 0, sizeof(*w));
	w->pid = pid;
	w->seq = seq;
	w->format = format;
	w->req = req;
	gather_start(sp);
}

static void
gather_dump(struct sup *sp, struct kid *k, uint64_t seq, const char *text)
{
	size_t had;
	unsigned i;

	if (sp->round == 0 || seq != sp->round || k->dumped)
		return;		/* a round that timed out: too late */
	had = sp->round_tab->nworkers;
	if (stats_merge(sp->round_tab, text) == -1)
		log_warn("stats: worker %u sent a malformed dump", k->id);
	else
		k->dumped = 1;
	/* its counters as fresh as the rows: STATUS= says the same */
	if (sp->round_tab->nworkers > had)
		k->stats = sp->round_tab->workers[sp->round_tab->nworkers -
		    1].st;
	/* a worker started during the round was not asked: not waited for */
	for (i = 0; i < QUOTA_WORKER_SLOTS; i++)
		if (sp->kids[i].pid != 0 && sp->kids[i].asked == sp->round &&
		    !sp->kids[i].dumped)
			return;
	gather_finish(sp);
}

static void
round_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	gather_finish(arg);
}

/* The round is over (all answered, or GATHER_MS passed): answer its
 * waits, then start the next round if any wait is left. */
static void
gather_finish(struct sup *sp)
{
	struct stats_table *t = sp->round_tab;
	struct evbuffer *eb;
	struct ctl_msg m;
	char *text;
	size_t i, j, n;
	unsigned live;

	if (sp->round == 0)
		return;
	evtimer_del(sp->round_timer);
	totals(sp, &t->total, &live);
	t->uptime_s = (now_ms() - sp->started) / 1000;
	t->expected = sp->round_asked;
	for (i = 0, n = 0; i < QUOTA_WORKER_SLOTS; i++)
		if (sp->kids[i].pid != 0 && sp->kids[i].asked == sp->round &&
		    !sp->kids[i].dumped && n + 12 < sizeof(t->missing))
			n += (size_t)snprintf(t->missing + n, sizeof(t->missing)
			    - n, "%s%u", n ? " " : "", sp->kids[i].id);
	if (n > 0)
		log_warn("stats: no answer from worker %s within %d ms",
		    t->missing, GATHER_MS);
	status(sp);
	if ((text = malloc(STATS_MAX_TEXT)) == NULL)
		log_err("stats: out of memory");
	for (i = 0; i < sp->nwaits; ) {
		struct gather_wait *w = &sp->waits[i];

		if (w->round != sp->round) {
			i++;
			continue;
		}
		if (text != NULL)
			stats_render(t, (enum stats_format)w->format, text,
			    STATS_MAX_TEXT);
		if (w->req != NULL) {
			if (text == NULL || (eb = evbuffer_new()) == NULL)
				evhttp_send_error(w->req, 500, "out of memory");
			else {
				evbuffer_add(eb, text, strlen(text));
				evhttp_add_header(evhttp_request_get_output_headers(
				    w->req), "Content-Type",
				    "text/plain; version=0.0.4; charset=utf-8");
				evhttp_send_reply(w->req, 200, "OK", eb);
				evbuffer_free(eb);
			}
		} else
			for (j = 0; j < QUOTA_WORKER_SLOTS; j++) {
				if (sp->kids[j].pid != w->pid)
					continue;
				memset(&m, 0, sizeof(m));
				m.type = CTL_GATHERED;
				m.seq = w->seq;
				m.text = text != NULL ? text : "";
				if (ctl_send(sp->kids[j].ctl, &m) == -1)
					log_warn("stats: answering worker %u: "
					    "%s", sp->kids[j].id,
					    strerror(errno));
			}
		sp->waits[i] = sp->waits[--sp->nwaits];
	}
	free(text);
	sp->round = 0;
	gather_start(sp);
}

/* GET /metrics on metrics_listen: the Prometheus text of a round. */
static void
metrics_cb(struct evhttp_request *req, void *arg)
{
	struct sup *sp = arg;
	const char *uri = evhttp_request_get_uri(req);

	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
		evhttp_send_error(req, 405, "only GET");
		return;
	}
	if (uri == NULL || (strcmp(uri, "/metrics") != 0 &&
	    strncmp(uri, "/metrics?", 9) != 0)) {
		evhttp_send_error(req, 404, "only /metrics");
		return;
	}
	gather_add(sp, 0, 0, STATS_FMT_PROMETHEUS, req);
}

/*
 * metrics_listen: served here, in the supervisor, where the workers'
 * rows are merged; with evhttp's own caps: small heads, no body, every
 * wait timed out. config.c took only a loopback address.
 */
static int
metrics_open(struct sup *sp)
{
	char host[64], *colon;
	unsigned port;

	if (sp->cfg.metrics_listen[0] == '\0')
		return 0;
	snprintf(host, sizeof(host), "%s", sp->cfg.metrics_listen);
	colon = strrchr(host, ':');
	*colon = '\0';
	port = (unsigned)strtoul(colon + 1, NULL, 10);
	if (host[0] == '[') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	if ((sp->http = evhttp_new(sp->base)) == NULL) {
		log_err("metrics_listen: out of memory");
		return -1;
	}
	evhttp_set_max_headers_size(sp->http, 8192);
	evhttp_set_max_body_size(sp->http, 1024);
	evhttp_set_timeout(sp->http, 10);
	evhttp_set_gencb(sp->http, metrics_cb, sp);
	if (evhttp_bind_socket(sp->http, host, (uint16_t)port) == -1) {
		log_err("metrics_listen: cannot listen on %s: %s",
		    sp->cfg.metrics_listen, strerror(errno));
		evhttp_free(sp->http);
		sp->http = NULL;
		return -1;
	}
	log_info("metrics on http://%s/metrics", sp->cfg.metrics_listen);
	return 0;
}

/* ---------------------------------------------------------------- ps */

/* The argv area main() was given, rewritten to name each process in ps
 * ("hpoold: worker 2"). Set once in main, before any fork. */
static char	*title_at;
static size_t	 title_len;

void
proctitle_init(int argc, char **argv)
{
	int i;

	if (argc < 1 || argv[0] == NULL)
		return;
	/* the strings are contiguous; use them up to the last one's end */
	title_at = argv[0];
	for (i = 0; i < argc; i++)
		if (argv[i] == title_at + title_len || i == 0)
			title_len = (size_t)(argv[i] - title_at) +
			    strlen(argv[i]) + 1;
}

void
proctitle_set(const char *title)
{
	char comm[16];
	const char *c = title;

	if (title_at != NULL && title_len > 1) {
		memset(title_at, 0, title_len);
		snprintf(title_at, title_len, "%s", title);
	}
	/* comm (top, ps -o comm) has 15 bytes: "hpoold-worker2" */
	if (strncmp(c, "hpoold: ", 8) == 0)
		c += 8;
	snprintf(comm, sizeof(comm), "hpoold-%s", c);
	for (char *p = comm; *p; p++)
		if (*p == ' ')
			*p = '-';
	prctl(PR_SET_NAME, comm, 0, 0, 0);
}
