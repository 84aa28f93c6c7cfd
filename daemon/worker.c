/*
 * worker.c: owns hpoold's workers: setting a server up and down, draining
 * it, and the threads that run workers 1..n-1 (the main thread runs
 * worker 0). Workers share nothing but the listening socket and the
 * process: each has its own event loop, sessions and pools, so no lock is
 * taken on the request path. The price is that a destination's pool is
 * split among the workers (docs/compat.md).
 */
#include "hpool_autoconf.h"

#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/event.h>

#include "config.h"
#include "listen.h"
#include "log.h"
#include "pool.h"
#include "server.h"
#include "session.h"
#include "worker.h"

#define DRAIN_GRACE_SEC	10	/* SIGTERM: time for running requests */
#define DRAIN_ACK_MS	1000	/* how long main waits for workers to stop
				 * accepting before it closes the socket */

/* Commands from the main thread, one byte each on a worker's pipe. */
#define CMD_RELOAD	'r'
#define CMD_DRAIN	'd'
#define CMD_STOP	'x'

struct worker {
	struct server	 srv;
	pthread_t	 tid;
	int		 cmd[2];	/* main writes [1], the worker reads [0] */
	struct event	*cmd_ev;
	int		 running;	/* the thread was started */
	struct config	 next;		/* CMD_RELOAD takes it, under cfg_lock */
};

static void	drain_check(evutil_socket_t, short, void *);
static void	cmd_cb(evutil_socket_t, short, void *);
static void	*worker_main(void *);
static void	send_all(char);

static struct worker	*workers;	/* workers 1..n-1 */
static unsigned		 nworkers;
static int		 ack[2] = { -1, -1 };	/* workers -> main: drained */
static pthread_mutex_t	 cfg_lock = PTHREAD_MUTEX_INITIALIZER;

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
	srv->dns = evdns_base_new(srv->base,
	    EVDNS_BASE_INITIALIZE_NAMESERVERS |
	    EVDNS_BASE_NAMESERVERS_NO_DEFAULT);
	if (srv->dns == NULL)
		srv->dns = evdns_base_new(srv->base, 0);
	if (srv->dns == NULL)
		goto fail;
	evdns_base_load_hosts(srv->dns, NULL);
	if ((srv->drain_timer = evtimer_new(srv->base, drain_check,
	    srv)) == NULL)
		goto fail;
	if (pool_init(srv) == -1)
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
	pool_free_all(srv);
	if (srv->drain_timer != NULL)
		event_free(srv->drain_timer);
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
	struct timeval sec = { 1, 0 };
	int busy = 0;

	(void)fd;
	(void)what;
	TAILQ_FOREACH(s, &srv->sessions, entry)
		if (s->state == SESS_WAITING || s->state == SESS_ACTIVE ||
		    (s->st != NULL && sess_output_len(s) > 0))
			busy++;
	if (busy == 0 || ++srv->drain_ticks > DRAIN_GRACE_SEC) {
		if (busy)
			log_warn("shutting down with %d sessions still "
			    "running a request or sending a response", busy);
		event_base_loopexit(srv->base, NULL);
		return;
	}
	evtimer_add(srv->drain_timer, &sec);
}

static void
cmd_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	char c[16], path[CONFIG_PATH_MAX];
	ssize_t i, n;

	(void)what;
	if ((n = read(fd, c, sizeof(c))) <= 0)
		return;
	for (i = 0; i < n; i++) {
		switch (c[i]) {
		case CMD_RELOAD:
			memcpy(path, w->srv.cfg.socket_path, sizeof(path));
			pthread_mutex_lock(&cfg_lock);
			w->srv.cfg = w->next;
			pthread_mutex_unlock(&cfg_lock);
			memcpy(w->srv.cfg.socket_path, path, sizeof(path));
			break;
		case CMD_DRAIN:
			server_drain(&w->srv);
			/* no more accept() here: main may close the socket */
			if (write(ack[1], "a", 1) != 1)
				log_warn("worker %u: cannot tell main it "
				    "drained: %s", w->srv.worker_id,
				    strerror(errno));
			break;
		case CMD_STOP:
			event_base_loopexit(w->srv.base, NULL);
			break;
		}
	}
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	char name[16];

	/* top -H and /proc/PID/task/N/comm tell the workers apart */
	snprintf(name, sizeof(name), "hpoold-w%u", w->srv.worker_id);
	pthread_setname_np(pthread_self(), name);
	event_base_dispatch(w->srv.base);
	return NULL;
}

int
workers_start(const struct server *main_srv, int fd, unsigned n, char *err,
    size_t errlen)
{
	sigset_t block, old;
	struct worker *w;
	unsigned i;
	int rc = 0;

	if (n <= 1)
		return 0;
	if ((workers = calloc(n - 1, sizeof(*workers))) == NULL ||
	    pipe2(ack, O_CLOEXEC | O_NONBLOCK) == -1) {
		snprintf(err, errlen, "cannot start workers: %s",
		    strerror(errno));
		return -1;
	}
	/* Signals are the main thread's: the workers inherit this mask. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	for (i = 0; i < n - 1; i++) {
		w = &workers[i];
		w->cmd[0] = w->cmd[1] = -1;
		w->srv.cfg = main_srv->cfg;
		w->srv.worker_id = i + 1;
		if (server_init(&w->srv, fd, err, errlen) == -1) {
			rc = -1;
			break;
		}
		if (pipe2(w->cmd, O_CLOEXEC | O_NONBLOCK) == -1 ||
		    (w->cmd_ev = event_new(w->srv.base, w->cmd[0],
		    EV_READ | EV_PERSIST, cmd_cb, w)) == NULL ||
		    event_add(w->cmd_ev, NULL) == -1) {
			snprintf(err, errlen, "cannot start worker %u: %s",
			    i + 1, strerror(errno));
			rc = -1;
			break;
		}
		if ((errno = pthread_create(&w->tid, NULL, worker_main,
		    w)) != 0) {
			snprintf(err, errlen, "cannot start worker %u: %s",
			    i + 1, strerror(errno));
			rc = -1;
			break;
		}
		w->running = 1;
		nworkers = i + 1;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc == -1 && nworkers < n - 1) {
		/* the one that failed is not counted: free it here */
		w = &workers[nworkers];
		if (w->cmd_ev != NULL)
			event_free(w->cmd_ev);
		server_free(&w->srv);
		if (w->cmd[0] != -1)
			close(w->cmd[0]);
		if (w->cmd[1] != -1)
			close(w->cmd[1]);
	}
	return rc;
}

/* One byte to every worker; the pipes are non-blocking and commands are
 * rare, so a full pipe only means the worker has not read yet. */
static void
send_all(char c)
{
	unsigned i;

	for (i = 0; i < nworkers; i++)
		if (write(workers[i].cmd[1], &c, 1) != 1)
			log_warn("worker %u: command not delivered: %s", i + 1,
			    strerror(errno));
}

void
workers_reload(const struct config *cfg)
{
	unsigned i;

	pthread_mutex_lock(&cfg_lock);
	for (i = 0; i < nworkers; i++)
		workers[i].next = *cfg;
	pthread_mutex_unlock(&cfg_lock);
	send_all(CMD_RELOAD);
}

void
workers_drain(void)
{
	struct timespec t0, t;
	struct pollfd p;
	unsigned acks = 0;
	long left;
	char c[16];
	ssize_t n;

	if (nworkers == 0)
		return;
	send_all(CMD_DRAIN);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (acks < nworkers) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		left = DRAIN_ACK_MS - ((t.tv_sec - t0.tv_sec) * 1000 +
		    (t.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0) {
			log_warn("%u of %u workers did not stop accepting "
			    "within %d ms", nworkers - acks, nworkers,
			    DRAIN_ACK_MS);
			break;
		}
		p.fd = ack[0];
		p.events = POLLIN;
		p.revents = 0;
		if (poll(&p, 1, (int)left) <= 0)
			continue;
		if ((n = read(ack[0], c, sizeof(c))) > 0)
			acks += (unsigned)n;
	}
}

void
workers_stop(void)
{
	send_all(CMD_STOP);
}

void
workers_join(struct stats *sum)
{
	struct worker *w;
	unsigned i;

	for (i = 0; i < nworkers; i++) {
		w = &workers[i];
		if (w->running)
			pthread_join(w->tid, NULL);
		log_info("worker %u: %llu sessions, %llu requests",
		    w->srv.worker_id, (unsigned long long)w->srv.stats.sessions,
		    (unsigned long long)w->srv.stats.requests);
		sum->sessions += w->srv.stats.sessions;
		sum->requests += w->srv.stats.requests;
		sum->upstream_connects += w->srv.stats.upstream_connects;
		sum->upstream_reuses += w->srv.stats.upstream_reuses;
		sum->retries += w->srv.stats.retries;
		sum->tls_full += w->srv.stats.tls_full;
		sum->tls_resumed += w->srv.stats.tls_resumed;
		event_free(w->cmd_ev);
		server_free(&w->srv);
		close(w->cmd[0]);
		close(w->cmd[1]);
	}
	free(workers);
	workers = NULL;
	nworkers = 0;
	if (ack[0] != -1) {
		close(ack[0]);
		close(ack[1]);
		ack[0] = ack[1] = -1;
	}
}
