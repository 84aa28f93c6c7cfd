/*
 * worker.c: owns a worker process of hpoold: setting its server up and
 * down (its own event loop, sessions, pools and upstream connections),
 * draining it, and its end of the control channel to the supervisor.
 * Workers share nothing on the request path but the listening socket and
 * quota.c's counters.
 */
#include "hpool_autoconf.h"

#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>

#include "config.h"
#include "control.h"
#include "dns.h"
#include "listen.h"
#include "access.h"
#include "stats.h"
#include "log.h"
#include "policy.h"
#include "pool.h"
#include "quota.h"
#include "server.h"
#include "session.h"
#include "supervisor.h"
#include "tls.h"
#include "warm.h"
#include "worker.h"

#define DRAIN_TICK_MS	100	/* while draining, look this often */

struct wproc;

static void	drain_check(evutil_socket_t, short, void *);
static void	stop_accepting(struct wproc *);

/* The resolver: nameserver = in the config, else /etc/resolv.conf's;
 * dns.c keeps the answers. */
static int
dns_setup(struct server *srv)
{
	const char *p = srv->cfg.nameservers;
	char one[80];
	size_t n;

	if (*p == '\0') {
		srv->dns = evdns_base_new(srv->base,
		    EVDNS_BASE_INITIALIZE_NAMESERVERS |
		    EVDNS_BASE_NAMESERVERS_NO_DEFAULT);
		if (srv->dns == NULL)
			srv->dns = evdns_base_new(srv->base, 0);
	} else if ((srv->dns = evdns_base_new(srv->base, 0)) != NULL) {
		/* config.c has checked each address */
		for (;;) {
			p += strspn(p, " \t,");
			if ((n = strcspn(p, " \t,")) == 0 || n >= sizeof(one))
				break;
			memcpy(one, p, n);
			one[n] = '\0';
			if (evdns_base_nameserver_ip_add(srv->dns, one) != 0)
				log_warn("dns: nameserver %s: not usable", one);
			p += n;
		}
	}
	if (srv->dns == NULL)
		return -1;
	return (srv->names = dns_new(srv->base, srv->dns)) == NULL ? -1 : 0;
}

int
server_init(struct server *srv, int fd, char *err, size_t errlen)
{
	struct event_config *ecfg;

	TAILQ_INIT(&srv->sessions);
	TAILQ_INIT(&srv->idle_lru);
	/* The changelist folds the enable/disable pairs a request makes on
	 * each socket into one epoll_ctl per loop turn. */
	if ((ecfg = event_config_new()) == NULL)
		goto fail;
	event_config_set_flag(ecfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	srv->base = event_base_new_with_config(ecfg);
	event_config_free(ecfg);
	if (srv->base == NULL)
		goto fail;
	if (dns_setup(srv) == -1)
		goto fail;
	if ((srv->drain_timer = evtimer_new(srv->base, drain_check,
	    srv)) == NULL)
		goto fail;
	if (pool_init(srv) == -1 || warm_apply(srv) == -1)
		goto fail;
	return listen_attach(srv, fd, err, errlen);
fail:
	snprintf(err, errlen, "cannot set up an event loop: out of memory");
	return -1;
}

void
server_free(struct server *srv)
{
	listen_stop(srv);
	sess_free_all(srv);
	warm_free(srv);
	pool_free_all(srv);
	if (srv->drain_timer != NULL)
		event_free(srv->drain_timer);
	dns_free(srv->names);
	srv->names = NULL;
	if (srv->dns != NULL)
		evdns_base_free(srv->dns, 0);
	if (srv->base != NULL)
		event_base_free(srv->base);
	proto_wbuf_free(&srv->wbuf);
	srv->drain_timer = NULL;
	srv->dns = NULL;
	srv->base = NULL;
}

void
server_drain(struct server *srv)
{
	struct timeval now = { 0, 0 };

	if (srv->draining)
		return;
	srv->draining = 1;
	listen_stop(srv);
	evtimer_add(srv->drain_timer, &now);
}

/*
 * Draining: leave the loop once no request runs and every response has
 * reached its client, or after the grace. A response the server has sent
 * in full is over for the session (SESS_IDLE), but its tail may still wait
 * in the output for a slow client: leaving the loop would cut it.
 */
static void
drain_check(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;
	struct session *s;
	struct timeval tick = ms_tv(DRAIN_TICK_MS);
	int busy = 0;

	(void)fd;
	(void)what;
	TAILQ_FOREACH(s, &srv->sessions, entry)
		if (sess_busy(s))
			busy++;
	if (busy == 0 || ++srv->drain_ticks >
	    DRAIN_GRACE_SEC * 1000 / DRAIN_TICK_MS) {
		if (busy)
			log_warn("shutting down with %d sessions still "
			    "running a request or sending a response", busy);
		event_base_loopexit(srv->base, NULL);
		return;
	}
	evtimer_add(srv->drain_timer, &tick);
}


/* ---------------------------------------------------------------- the
 * worker process */

static void	ctl_cb(evutil_socket_t, short, void *);
static void	sig_cb(evutil_socket_t, short, void *);
static void	send_stats(struct wproc *, uint64_t);
static void	new_policy(struct wproc *, const char *);
static void	close_others(int, int);

struct wproc {
	struct server	 srv;
	int		 ctl;
	int		 listen_fd;	/* ours: closed once we stop accepting */
	struct event	*ctl_ev;
	struct event	*sig_ev;
	int		 sig_fd;
	pid_t		 parent;	/* the supervisor */
};

/* Everything the supervisor had open but the two we need: other
 * workers' control sockets, its event loop's descriptors, the reserve. */
static void
close_others(int keep1, int keep2)
{
	int lo = keep1 < keep2 ? keep1 : keep2;
	int hi = keep1 < keep2 ? keep2 : keep1;

	if (lo > 3)
		close_range(3, (unsigned)lo - 1, 0);
	if (hi > lo + 1)
		close_range((unsigned)lo + 1, (unsigned)hi - 1, 0);
	close_range((unsigned)hi + 1, ~0U, 0);
}

static void
stop_accepting(struct wproc *w)
{
	server_drain(&w->srv);
	/* our copy of the socket goes too: once every process has closed
	 * its copy, a new client is refused at once */
	if (w->listen_fd != -1) {
		close(w->listen_fd);
		w->listen_fd = -1;
	}
}

/* A reload's rules and proxies, from the text the supervisor checked:
 * new requests follow them; a connection of a route they no longer give
 * is in a pool no new request's key names. */
static void
new_policy(struct wproc *w, const char *text)
{
	struct config c = w->srv.cfg;
	char err[512];

	if (config_parse(&c, text, "reload", err, sizeof(err)) == -1) {
		log_err("new rules refused (the supervisor took them): %s; "
		    "keeping the old ones", err);
		return;
	}
	policy_free(w->srv.cfg.policy);
	w->srv.cfg.policy = c.policy;
	memcpy(w->srv.cfg.warm, c.warm, sizeof(c.warm));
	w->srv.cfg.nwarm = c.nwarm;
	if (warm_apply(&w->srv) == -1)
		log_err("warm pools: out of memory");
	memcpy(w->srv.cfg.stats_group, c.stats_group,
	    sizeof(c.stats_group));
}

/* The supervisor gathers the stats of every worker: this one's rows. */
static void
send_dump(struct wproc *w, uint64_t seq)
{
	struct ctl_msg m;
	struct stats st = w->srv.stats;

	memset(&m, 0, sizeof(m));
	st.live_sessions = w->srv.nsessions;
	pool_gauges(&w->srv, &st.idle_conns, &st.busy_conns);
	pool_row_gauges(&w->srv);
	if ((m.text = malloc(STATS_MAX_TEXT)) == NULL)
		return;		/* the supervisor counts it missing */
	stats_dump(w->srv.stats_tab, w->srv.worker_id, getpid(), &st,
	    w->srv.expired, m.text,
	    STATS_MAX_TEXT);
	m.type = CTL_DUMP;
	m.seq = seq;
	if (ctl_send(w->ctl, &m) == -1)
		log_warn("stats for the supervisor: %s", strerror(errno));
	free(m.text);
}

static void
send_stats(struct wproc *w, uint64_t seq)
{
	struct ctl_msg m;

	memset(&m, 0, sizeof(m));
	m.type = CTL_STATS;
	m.seq = seq;
	m.stats = w->srv.stats;
	m.stats.live_sessions = w->srv.nsessions;
	pool_gauges(&w->srv, &m.stats.idle_conns, &m.stats.busy_conns);
	ctl_send(w->ctl, &m);
}

static void
ctl_cb(evutil_socket_t fd, short what, void *arg)
{
	struct wproc *w = arg;
	struct ctl_msg m, r;
	char err[160];
	int rc;

	(void)what;
	while ((rc = ctl_recv(fd, &m, err, sizeof(err))) == 1) {
		switch (m.type) {
		case CTL_CONFIG:
			ctl_config_apply(&w->srv.cfg, &m.cfg);
			log_init(w->srv.cfg.log_level);
			break;
		case CTL_POLICY:
			new_policy(w, m.text);
			break;
		case CTL_DRAIN:
			stop_accepting(w);
			break;
		case CTL_STOP:
			event_base_loopexit(w->srv.base, NULL);
			break;
		case CTL_PING:
			memset(&r, 0, sizeof(r));
			r.type = CTL_PONG;
			r.seq = m.seq;
			ctl_send(fd, &r);
			break;
		case CTL_STATS_REQ:
			send_stats(w, m.seq);
			break;
		case CTL_DUMP_REQ:
			send_dump(w, m.seq);
			break;
		case CTL_GATHERED:
			sess_stats_answer(&w->srv, m.seq, m.text);
			break;
		default:
			log_err("unexpected %s from the supervisor",
			    ctl_type_name(m.type));
			rc = -1;
			break;
		}
		ctl_msg_clear(&m);
		if (rc == -1)
			break;
	}
	if (rc == -1) {
		/* the supervisor is gone (or mad): finish what we have */
		log_warn("%s: draining", err);
		event_del(w->ctl_ev);
		stop_accepting(w);
	}
}

/* SIGTERM (the supervisor died: PR_SET_PDEATHSIG, or an admin), SIGINT */
static void
sig_cb(evutil_socket_t fd, short what, void *arg)
{
	struct wproc *w = arg;
	struct signalfd_siginfo si;

	(void)what;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo != SIGTERM && si.ssi_signo != SIGINT)
			continue;
		/* The supervisor's death (PR_SET_PDEATHSIG) comes with its
		 * closed control socket: one reason to drain, not a second
		 * signal that cuts the requests. */
		if (!w->srv.draining)
			stop_accepting(w);
		else if (getppid() == w->parent)
			event_base_loopexit(w->srv.base, NULL);
	}
}

void
worker_main(const struct worker_start *ws)
{
	static const int mine[] = { SIGTERM, SIGINT, SIGHUP, SIGCHLD };
	struct wproc w;
	struct ctl_msg m;
	struct sigaction sa;
	sigset_t set;
	char title[64], err[512];
	size_t i;

	/* The supervisor's handlers write to its loop: ours are none. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (i = 0; i < sizeof(mine) / sizeof(mine[0]); i++)
		sigaction(mine[i], &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);	/* reloads come as CONFIG */
	sigprocmask(SIG_SETMASK, &set, NULL);
	/* die with the supervisor, gracefully; it may be gone already */
	prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
	if (getppid() != ws->parent)
		_exit(0);
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	snprintf(title, sizeof(title), "hpoold: worker %u", ws->id);
	proctitle_set(title);
	snprintf(title, sizeof(title), "hpoold[worker %u]", ws->id);
	log_set_tag(title);
	close_others(ws->listen_fd, ws->ctl);
	access_init(1);
	quota_set_worker(ws->slot);

	memset(&w, 0, sizeof(w));
	w.ctl = ws->ctl;
	w.parent = ws->parent;
	w.listen_fd = ws->listen_fd;
	w.srv.cfg = ws->cfg;
	w.srv.worker_id = ws->id;
	w.srv.ctl_fd = ws->ctl;
	if ((w.srv.stats_tab = calloc(1, sizeof(*w.srv.stats_tab))) == NULL)
		_exit(1);
	w.sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (w.sig_fd == -1 ||
	    server_init(&w.srv, ws->listen_fd, err, sizeof(err)) == -1) {
		log_err("%s", w.sig_fd == -1 ? strerror(errno) : err);
		_exit(1);
	}
	evutil_make_socket_nonblocking(w.ctl);
	w.ctl_ev = event_new(w.srv.base, w.ctl, EV_READ | EV_PERSIST, ctl_cb,
	    &w);
	w.sig_ev = event_new(w.srv.base, w.sig_fd, EV_READ | EV_PERSIST,
	    sig_cb, &w);
	if (w.ctl_ev == NULL || w.sig_ev == NULL ||
	    event_add(w.ctl_ev, NULL) == -1 || event_add(w.sig_ev, NULL) == -1)
		_exit(1);
	memset(&m, 0, sizeof(m));
	m.type = CTL_READY;
	m.version = CTL_VERSION;
	m.worker = ws->id;
	m.pid = (uint32_t)getpid();
	if (ctl_send(w.ctl, &m) == -1)
		_exit(1);
	event_base_dispatch(w.srv.base);

	/* the last word: what this worker did, for the supervisor's sums */
	send_stats(&w, 0);
	event_free(w.ctl_ev);
	event_free(w.sig_ev);
	server_free(&w.srv);
	free(w.srv.stats_tab);
	if (w.listen_fd != -1)
		close(w.listen_fd);
	close(w.sig_fd);
	close(w.ctl);
	tls_cleanup();
	/* exit, not _exit: a sanitizer build checks this process for leaks
	 * too. What the supervisor had before the fork is still reachable
	 * from its frames on our stack. */
	exit(0);
}
