/*
 * conn_fileno.c: hpool_conn_fileno (conn.sock.fileno()) through a real
 * hpoold, run by tests/integration/test_conn_fileno.py against its
 * scripted server on 127.0.0.1:PORT. That server holds its answer to
 * GET /gated-N until the test reads this program's `waiting: N` line, so
 * the program can poll() while the response is known not to have come.
 *
 * Checked: -1 before connect(); after it, a Unix socket connected to
 * $HPOOL_SOCKET with nothing to read; the same fd after request(); no
 * POLLIN while the server holds the answer, POLLIN once it has answered,
 * getresponse() and read() then work; nothing left to read after the
 * body; -1 after close(), with the fd really closed; and the same for a
 * session that request() opens by itself (no connect()).
 *
 * Then read1() and hpool_response_ready() in a poll() loop: /split-2's
 * body comes in two parts with the second held until `waiting: 2`, so
 * "ready() is 0 and the socket quiet while the rest is held" is checked
 * without a race; /big (1 MiB) is read whole by the same loop, each
 * read1() giving at most one frame.
 *
 * usage: conn_fileno PORT   (hpoold's socket: $HPOOL_SOCKET)
 * Prints one `name: value` line per fact; exits 1 on a libhpool error.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hpool.h"

#define WAIT_MS		10000	/* longest poll() for a response */

static int	fail(hpool_conn *, const char *);
static const char *peer(int);
static int	ready(int, int);
static int	get(hpool_conn *, const char *, const char *);
static int	poll_read(hpool_conn *, const char *, size_t, size_t, int);

#define SPLIT_FIRST	1000	/* /split-N: bytes before the gate */
#define SPLIT_REST	3000	/* ...and after it */
#define BIG		(1024 * 1024)

static int
fail(hpool_conn *conn, const char *what)
{
	const struct hpool_error *e = hpool_conn_error(conn);

	printf("error: %s: %s: %s\n", what, hpool_error_name(e->code),
	    e->message);
	return 1;
}

/* "hpoold" if fd is a Unix stream socket connected to $HPOOL_SOCKET,
 * else what it is instead. */
static const char *
peer(int fd)
{
	static char why[200];
	struct sockaddr_un sun;
	socklen_t len = sizeof(sun);
	const char *path = getenv("HPOOL_SOCKET");
	int type;
	socklen_t tlen = sizeof(type);

	memset(&sun, 0, sizeof(sun));
	if (fd < 0)
		return "no fd";
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) == -1 ||
	    getpeername(fd, (struct sockaddr *)&sun, &len) == -1) {
		snprintf(why, sizeof(why), "not a connected socket: %s",
		    strerror(errno));
		return why;
	}
	if (sun.sun_family != AF_UNIX || type != SOCK_STREAM)
		return "not a Unix stream socket";
	if (path == NULL || strcmp(sun.sun_path, path) != 0) {
		snprintf(why, sizeof(why), "peer %.150s", sun.sun_path);
		return why;
	}
	return "hpoold";
}

/* poll() for POLLIN up to ms: 1 readable, 0 not, -1 poll failed. */
static int
ready(int fd, int ms)
{
	struct pollfd p = { fd, POLLIN, 0 };
	int n;

	while ((n = poll(&p, 1, ms)) == -1 && errno == EINTR)
		;
	if (n == -1)
		return -1;
	return n == 1 && (p.revents & POLLIN) != 0;
}

/* getresponse() and read() of the response to the request made: prints
 * `<prefix>response: STATUS REASON BODY`. */
static int
get(hpool_conn *conn, const char *prefix, const char *what)
{
	hpool_response *r;
	char *body;
	size_t len;

	if (hpool_conn_getresponse(conn, &r) != HPOOL_OK)
		return fail(conn, what);
	if (hpool_response_readall(r, &body, &len) != HPOOL_OK) {
		hpool_response_free(r);
		return fail(conn, what);
	}
	printf("%sresponse: %d %s %.*s\n", prefix, hpool_response_status(r),
	    hpool_response_reason(r), (int)len, body);
	free(body);
	hpool_response_free(r);
	return 0;
}

/*
 * GET target and read its body (byte i is i % 251) with read1() of at
 * most cap bytes, calling it while hpool_response_ready() says it will
 * not wait and poll()ing the socket otherwise; when gate is nonzero,
 * prints `waiting: GATE` once `first` bytes are in. Prints what it saw
 * under the prefix `target`.
 */
static int
poll_read(hpool_conn *conn, const char *target, size_t cap, size_t first,
    int gate)
{
	hpool_response *r;
	unsigned char *buf;
	size_t n, got = 0, most = 0, bad = 0, i;
	int fd, polls = 0, quiet = -1, lib = -1;

	if (hpool_conn_request(conn, "GET", target, NULL, 0, NULL, 0) !=
	    HPOOL_OK || hpool_conn_getresponse(conn, &r) != HPOOL_OK)
		return fail(conn, target);
	if ((buf = malloc(cap)) == NULL)
		return 1;
	fd = hpool_response_fileno(r);
	for (;;) {
		if (!hpool_response_ready(r)) {
			if (gate && got == first && quiet == -1) {
				/* the first part read; the rest is held */
				lib = hpool_response_ready(r);
				quiet = ready(fd, 0);
				printf("waiting: %d\n", gate);
			}
			if (ready(fd, WAIT_MS) != 1) {
				printf("error: %s: no POLLIN within %d ms at "
				    "%zu bytes\n", target, WAIT_MS, got);
				free(buf);
				hpool_response_free(r);
				return 1;
			}
			/* readable: read1() takes what came (one recv) */
			polls++;
		}
		if (hpool_response_read1(r, buf, cap, &n) != HPOOL_OK) {
			printf("error: %s read1: %s\n", target,
			    hpool_response_error(r)->message);
			free(buf);
			hpool_response_free(r);
			return 1;
		}
		if (n == 0)
			break;
		for (i = 0; i < n; i++)
			if (buf[i] != (got + i) % 251)
				bad++;
		got += n;
		most = n > most ? n : most;
	}
	printf("%s-body: %zu bytes, %zu wrong\n", target, got, bad);
	printf("%s-most: %s\n", target, most <= cap && most <= 65536 ?
	    "one frame or less" : "too many");
	printf("%s-polled: %s\n", target, polls > 0 ? "yes" : "no");
	printf("%s-end-ready: %d\n", target, hpool_response_ready(r));
	if (gate)
		printf("%s-held: lib %d socket %d\n", target, lib, quiet);
	free(buf);
	hpool_response_free(r);
	return 0;
}

int
main(int argc, char **argv)
{
	hpool_conn *conn;
	int fd;

	if (argc != 2)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);	/* the test reads as we go */
	if (hpool_conn_new(&conn, "127.0.0.1", atoi(argv[1]), NULL, NULL) !=
	    HPOOL_OK)
		return 1;
	printf("before: %d\n", hpool_conn_fileno(conn));

	/* connect(): the session exists, its handshake answers are read */
	if (hpool_conn_connect(conn) != HPOOL_OK)
		return fail(conn, "connect");
	fd = hpool_conn_fileno(conn);
	printf("connected: %s\n", peer(fd));
	printf("idle-ready: %d\n", ready(fd, 0));

	/* request(): same session; nothing readable until the server
	 * answers, readable once it has */
	if (hpool_conn_request(conn, "GET", "/gated-1", NULL, 0, NULL, 0) !=
	    HPOOL_OK)
		return fail(conn, "request");
	printf("request-fd: %s\n", hpool_conn_fileno(conn) == fd ? "same" :
	    "changed");
	printf("early-ready: %d\n", ready(fd, 0));
	printf("waiting: 1\n");
	printf("ready: %d\n", ready(fd, WAIT_MS));
	if (get(conn, "", "getresponse") != 0)
		return 1;
	printf("after-read-ready: %d\n", ready(fd, 0));

	/* close(): no session, and its socket is closed (nothing else in
	 * this program opens an fd that could take the number) */
	hpool_conn_close(conn);
	printf("closed: %d\n", hpool_conn_fileno(conn));
	printf("old-fd: %s\n", fcntl(fd, F_GETFD) == -1 && errno == EBADF ?
	    "closed" : "open");

	/* request() alone opens a new session: the fd is valid at once.
	 * Its HELLO_OK and OPEN_OK are still unread here, so POLLIN does
	 * not wait for the response on this path: only readiness within
	 * the bound and the response after it are checked. */
	if (hpool_conn_request(conn, "GET", "/now", NULL, 0, NULL, 0) !=
	    HPOOL_OK)
		return fail(conn, "second request");
	fd = hpool_conn_fileno(conn);
	printf("lazy: %s\n", peer(fd));
	printf("lazy-ready: %d\n", ready(fd, WAIT_MS));
	if (get(conn, "lazy-", "second getresponse") != 0)
		return 1;
	hpool_conn_close(conn);
	printf("lazy-closed: %d\n", hpool_conn_fileno(conn));

	if (poll_read(conn, "/split-2", 4096, SPLIT_FIRST, 2) != 0 ||
	    poll_read(conn, "/big", 256 * 1024, 0, 0) != 0)
		return 1;
	hpool_conn_free(conn);
	return 0;
}
