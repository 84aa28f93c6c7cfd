/* listen.c: owns the listening Unix socket: what may be replaced at the
 * socket path, permissions, systemd socket activation, and accepting
 * sessions without spinning when the process runs out of descriptors. */
#include "hpool_autoconf.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "listen.h"
#include "log.h"
#include "server.h"
#include "session.h"

#define ACCEPT_PAUSE_MIN_MS	100	/* first pause when accept() fails */
#define ACCEPT_PAUSE_MAX_MS	1000	/* the pause doubles up to this */
#define ACCEPT_BACKLOG		512
#define ACCEPT_BATCH		32	/* accepts per wake-up */
#define ACCEPTORS		64	/* config.c's largest workers */

/*
 * One worker's accepting state. struct server belongs to server.h, so it
 * lives here, one slot per worker_id; the slot is the listener's callback
 * argument. A slot is touched by the main thread before its worker's
 * thread starts and after it ends, and by that thread in between.
 */
struct acceptor {
	struct server	*srv;		/* NULL: slot unused */
	int		 lfd;		/* the shared listening socket */
	int		 epfd;		/* lfd alone, EPOLLEXCLUSIVE */
	struct event	*ready;		/* epfd readable: a client waits */
	int		 reserve;	/* /dev/null, given up to turn clients
					 * away when out of descriptors */
	struct event	*resume;	/* ends a pause: accepts again */
	unsigned	 pause_ms;	/* the current pause; 0: accepting */
	uint64_t	 turned_away;	/* clients closed at once, this pause */
	char		 who[24];	/* logs: " (worker N)" with several */
};

static void	ready_cb(evutil_socket_t, short, void *);
static void	accepted(struct acceptor *, int);
static void	accept_failed(struct acceptor *, int);
static void	resume_cb(evutil_socket_t, short, void *);
static unsigned	turn_away(struct acceptor *, int);
static void	reserve_open(struct acceptor *);
static struct acceptor *acceptor_of(struct server *);
static const char *file_kind(mode_t);
static int	claim_path(const char *, const struct sockaddr_un *, char *,
		    size_t);
static int	make_parent(const char *, char *, size_t);
static int	bind_socket(struct server *, char *, size_t);

static struct acceptor	acceptors[ACCEPTORS];

/* What lstat() found where the socket should go, for the refusal. */
static const struct {
	mode_t		 fmt;
	const char	*name;
} file_kinds[] = {
	{ S_IFREG, "a regular file" },
	{ S_IFDIR, "a directory" },
	{ S_IFLNK, "a symbolic link" },
	{ S_IFIFO, "a FIFO" },
	{ S_IFCHR, "a character device" },
	{ S_IFBLK, "a block device" },
	{ S_IFSOCK, "a socket" },
};

/*
 * Every worker process waits on the one listening socket. Registered
 * plainly, each new client would wake them all and all but one would find
 * nothing (the thundering herd). libevent cannot register with
 * EPOLLEXCLUSIVE, so each worker puts the socket alone, exclusively, in an
 * epoll set of its own and has libevent watch that set: the kernel then
 * wakes one worker per client (more only when they are all busy).
 */
static void
ready_cb(evutil_socket_t epfd, short what, void *arg)
{
	struct acceptor *a = arg;
	struct epoll_event ev;
	int fd, n;

	(void)what;
	/* take the event, so the set is quiet until the next client */
	(void)epoll_wait(epfd, &ev, 1, 0);
	/* a batch at a time: the other workers get their turn */
	for (n = 0; n < ACCEPT_BATCH; n++) {
		fd = accept4(a->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd != -1) {
			accepted(a, fd);
			if (a->srv->draining)
				return;
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			accept_failed(a, errno);
		return;
	}
}

static void
accepted(struct acceptor *a, int fd)
{
	if (a->pause_ms != 0) {
		log_info("accept%s: descriptors available again; %llu "
		    "client%s turned away meanwhile", a->who,
		    (unsigned long long)a->turned_away,
		    a->turned_away == 1 ? "" : "s");
		a->pause_ms = 0;
		a->turned_away = 0;
	}
	if (a->reserve == -1)
		reserve_open(a);
	sess_accept(a->srv, fd);
}

/*
 * accept() failed with something other than "nobody waits". The socket
 * is level-triggered: left enabled, it would wake us again at once for as
 * long as a client waits in the backlog (100% CPU and a log line per
 * call). So accepting pauses, 100 ms at first and twice as long
 * each time it fails again, up to a second, with one warning per pause
 * and one line when it ends. Out of descriptors, the clients already
 * waiting are turned away first: an EOF now, not a hang until some
 * descriptor is freed.
 */
static void
accept_failed(struct acceptor *a, int err)
{
	struct timeval tv;

	if (err == EMFILE || err == ENFILE)
		a->turned_away += turn_away(a, a->lfd);
	if (a->pause_ms == 0) {
		if (err == EMFILE || err == ENFILE)
			log_warn("accept%s: out of file descriptors (%s); "
			    "pausing accepts", a->who, err == EMFILE ?
			    "EMFILE" : "ENFILE");
		else
			log_warn("accept%s: %s; pausing accepts", a->who,
			    strerror(err));
		a->pause_ms = ACCEPT_PAUSE_MIN_MS;
	} else if ((a->pause_ms *= 2) > ACCEPT_PAUSE_MAX_MS)
		a->pause_ms = ACCEPT_PAUSE_MAX_MS;
	event_del(a->ready);
	tv = ms_tv(a->pause_ms);
	evtimer_add(a->resume, &tv);
}

static void
resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct acceptor *a = arg;

	(void)fd;
	(void)what;
	if (a->reserve == -1)
		reserve_open(a);
	/* the next accept() tells whether the pause is over */
	event_add(a->ready, NULL);
}

/* Close every client waiting in the backlog, with the reserve descriptor
 * freed to make room for each in turn; how many. Another worker may take
 * the freed descriptor first: then this one stops early. */
static unsigned
turn_away(struct acceptor *a, int lfd)
{
	unsigned n = 0;
	int fd;

	if (a->reserve == -1)
		return 0;
	close(a->reserve);
	a->reserve = -1;
	/* bounded: clients arriving as fast as they are closed would keep
	 * this loop going */
	while (n < ACCEPT_BACKLOG &&
	    (fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) != -1) {
		close(fd);
		n++;
	}
	reserve_open(a);
	return n;
}

/* A failure leaves reserve -1, retried when accepting resumes. */
static void
reserve_open(struct acceptor *a)
{
	a->reserve = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static struct acceptor *
acceptor_of(struct server *srv)
{
	if (srv->worker_id >= ACCEPTORS ||
	    acceptors[srv->worker_id].srv != srv)
		return NULL;
	return &acceptors[srv->worker_id];
}

static const char *
file_kind(mode_t mode)
{
	size_t i;

	for (i = 0; i < sizeof(file_kinds) / sizeof(file_kinds[0]); i++)
		if ((mode & S_IFMT) == file_kinds[i].fmt)
			return file_kinds[i].name;
	return "a file of unknown type";
}

/*
 * Make way for the socket at path: 0 if nothing is there, or if a socket
 * nobody answers on was (a previous hpoold that did not remove it) and is
 * now removed. Anything else at path was put there by someone else and is
 * never touched: a live socket, and anything that is not a socket at all
 * (connect() on a regular file or a FIFO fails with ECONNREFUSED too, so
 * the refusal alone says nothing). A symbolic link is not followed.
 */
static int
claim_path(const char *path, const struct sockaddr_un *sun, char *err,
    size_t errlen)
{
	struct stat st, again;
	int fd, rc;

	if (lstat(path, &st) == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket (%s): "
		    "refusing to replace it", path, file_kind(st.st_mode));
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	rc = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	if (rc == -1)
		rc = errno;
	close(fd);
	if (rc == 0 || rc == EAGAIN) {
		snprintf(err, errlen, "another hpoold is listening on %s",
		    path);
		return -1;
	}
	if (rc != ECONNREFUSED) {
		snprintf(err, errlen, "cannot tell whether %s is in use: "
		    "connect: %s", path, strerror(rc));
		return -1;
	}
	/* the socket looked at must still be the one removed */
	if (lstat(path, &again) == -1 || again.st_dev != st.st_dev ||
	    again.st_ino != st.st_ino) {
		snprintf(err, errlen, "%s changed while checking it", path);
		return -1;
	}
	if (unlink(path) == -1 && errno != ENOENT) {
		snprintf(err, errlen, "cannot remove the stale socket %s: %s",
		    path, strerror(errno));
		return -1;
	}
	log_info("removed the stale socket %s", path);
	return 0;
}

/* The parent directory of the socket, made 0755 if missing. */
static int
make_parent(const char *path, char *err, size_t errlen)
{
	char tmp[CONFIG_PATH_MAX], dir[CONFIG_PATH_MAX];
	struct stat st;

	snprintf(tmp, sizeof(tmp), "%s", path);
	snprintf(dir, sizeof(dir), "%s", dirname(tmp));
	if (stat(dir, &st) == 0)
		return 0;
	if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create socket directory %s: %s",
		    dir, strerror(errno));
		return -1;
	}
	return 0;
}

static int
bind_socket(struct server *srv, char *err, size_t errlen)
{
	const struct config *cfg = &srv->cfg;
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(cfg->socket_path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "socket path too long: %s",
		    cfg->socket_path);
		return -1;
	}
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", cfg->socket_path);
	if (make_parent(cfg->socket_path, err, errlen) == -1 ||
	    claim_path(cfg->socket_path, &sun, err, errlen) == -1)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		snprintf(err, errlen, "bind %s: %s", cfg->socket_path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	if (chmod(cfg->socket_path, cfg->socket_mode) == -1) {
		snprintf(err, errlen, "chmod %s: %s", cfg->socket_path,
		    strerror(errno));
		unlink(cfg->socket_path);
		close(fd);
		return -1;
	}
	snprintf(srv->socket_path, sizeof(srv->socket_path), "%s",
	    cfg->socket_path);
	return fd;
}

int
listen_open(struct server *srv, char *err, size_t errlen)
{
	int fd = -1;

#ifdef HAVE_SYSTEMD
	int n = sd_listen_fds(1);

	if (n > 1) {
		snprintf(err, errlen, "systemd passed %d sockets; hpoold "
		    "takes one", n);
		return -1;
	}
	if (n == 1) {
		fd = SD_LISTEN_FDS_START;
		if (sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0) <= 0) {
			snprintf(err, errlen, "the socket from systemd is not "
			    "a listening Unix stream socket");
			return -1;
		}
		evutil_make_socket_nonblocking(fd);
		evutil_make_socket_closeonexec(fd);
		log_info("listening on the socket from systemd");
	}
#endif
	if (fd == -1 && (fd = bind_socket(srv, err, errlen)) == -1)
		return -1;
	if (listen(fd, ACCEPT_BACKLOG) == -1) {
		snprintf(err, errlen, "listen: %s", strerror(errno));
		close(fd);
		if (srv->socket_path[0])
			unlink(srv->socket_path);
		srv->socket_path[0] = '\0';
		return -1;
	}
	if (srv->socket_path[0])
		log_info("listening on %s", srv->socket_path);
	return fd;
}

int
listen_attach(struct server *srv, int fd, char *err, size_t errlen)
{
	struct acceptor *a;

	if (srv->worker_id >= ACCEPTORS) {
		snprintf(err, errlen, "worker %u: at most %d workers",
		    srv->worker_id, ACCEPTORS);
		return -1;
	}
	a = &acceptors[srv->worker_id];
	memset(a, 0, sizeof(*a));
	a->reserve = -1;
	a->lfd = fd;
	a->epfd = -1;
	if ((a->resume = evtimer_new(srv->base, resume_cb, a)) == NULL) {
		snprintf(err, errlen, "cannot set up accepting: out of "
		    "memory");
		return -1;
	}
	a->srv = srv;
	if (srv->cfg.workers > 1)
		snprintf(a->who, sizeof(a->who), " (worker %u)",
		    srv->worker_id);
	reserve_open(a);
	if (a->reserve == -1)
		log_warn("worker %u: no descriptor in reserve (/dev/null: "
		    "%s): clients cannot be turned away when out of "
		    "descriptors, only wait", srv->worker_id, strerror(errno));
	/* Only listen_close() (or the worker as it drains) closes fd. */
	if ((a->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    epoll_ctl(a->epfd, EPOLL_CTL_ADD, fd, &(struct epoll_event){
	    .events = EPOLLIN | EPOLLEXCLUSIVE }) == -1 ||
	    (a->ready = event_new(srv->base, a->epfd, EV_READ | EV_PERSIST,
	    ready_cb, a)) == NULL || event_add(a->ready, NULL) == -1) {
		snprintf(err, errlen, "listen: %s", strerror(errno));
		listen_stop(srv);
		return -1;
	}
	return 0;
}

void
listen_stop(struct server *srv)
{
	struct acceptor *a;

	if ((a = acceptor_of(srv)) == NULL)
		return;
	if (a->ready != NULL)
		event_free(a->ready);
	if (a->epfd != -1)
		close(a->epfd);
	event_free(a->resume);
	if (a->reserve != -1)
		close(a->reserve);
	memset(a, 0, sizeof(*a));
	a->reserve = -1;
}

void
listen_close(struct server *srv, int fd)
{
	if (fd != -1)
		close(fd);
	if (srv->socket_path[0]) {
		unlink(srv->socket_path);
		srv->socket_path[0] = '\0';
	}
}
