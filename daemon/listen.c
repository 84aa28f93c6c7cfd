/* listen.c: owns the listening Unix socket: stale-socket detection,
 * permissions, systemd socket activation, accepting sessions. */
#include "hpool_autoconf.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "listen.h"
#include "log.h"
#include "server.h"
#include "session.h"

static void	accept_cb(struct evconnlistener *, evutil_socket_t,
		    struct sockaddr *, int, void *);
static void	accept_error_cb(struct evconnlistener *, void *);
static int	make_parent(const char *, char *, size_t);

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	(void)l;
	(void)sa;
	(void)salen;
	evutil_make_socket_closeonexec(fd);
	sess_accept(arg, fd);
}

static void
accept_error_cb(struct evconnlistener *l, void *arg)
{
	(void)l;
	(void)arg;
	/* EMFILE and friends pass; the listener keeps going. */
	log_warn("accept: %s", strerror(errno));
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
	if (make_parent(cfg->socket_path, err, errlen) == -1)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	/* A socket file nobody answers on is stale: remove it. One that
	 * answers belongs to a running hpoold: leave it alone. */
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0 ||
	    errno == EAGAIN) {
		snprintf(err, errlen, "another hpoold is listening on %s",
		    cfg->socket_path);
		close(fd);
		return -1;
	}
	if (errno == ECONNREFUSED)
		unlink(cfg->socket_path);
	close(fd);
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
	if (listen(fd, 512) == -1) {
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
	/* Every worker accepts on the same socket (backlog 0: it listens
	 * already); whichever wakes first takes a session. Only
	 * listen_close() closes it. */
	srv->listener = evconnlistener_new(srv->base, accept_cb, srv,
	    LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (srv->listener == NULL) {
		snprintf(err, errlen, "listen: %s", strerror(errno));
		return -1;
	}
	evconnlistener_set_error_cb(srv->listener, accept_error_cb);
	return 0;
}

void
listen_stop(struct server *srv)
{
	if (srv->listener != NULL) {
		evconnlistener_free(srv->listener);
		srv->listener = NULL;
	}
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
