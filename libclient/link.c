/* link.c: owns the Unix-socket session with hpoold: connect, handshake,
 * frame I/O with bounded waits. */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "client.h"
#include "link.h"

/* Enough for one body frame; grows (up to the protocol cap) for a big
 * head frame only. */
#define RBUF_INITIAL	(PROTO_FRAME_HDR + PROTO_MAX_BODY_CHUNK + 256)
#define RBUF_MAX	(PROTO_FRAME_HDR + PROTO_MAX_PAYLOAD)
/* Queued request frames are written out beyond this many bytes. */
#define WBUF_FLUSH_AT	(256u * 1024)

static int	link_connect(struct link *, struct hpool_error *);
static int	link_handshake_queue(struct link *, const struct proto_open *,
		    struct hpool_error *);
static int	link_handshake_finish(struct link *, struct hpool_error *);
static int	link_wait(struct link *, short events, struct hpool_error *);
static int	link_fill(struct link *, size_t need, struct hpool_error *);
static int	link_lost(struct link *, struct hpool_error *, int errnum);
static void	link_salvage_error(struct link *, struct hpool_error *);

struct link *
link_open(const char *path, const struct proto_open *open, int wait_ms,
    int lazy, struct hpool_error *err)
{
	struct link *l;

	if ((l = calloc(1, sizeof(*l))) == NULL ||
	    (l->path = strdup(path)) == NULL ||
	    (l->rbuf = malloc(RBUF_INITIAL)) == NULL) {
		if (l != NULL)
			free(l->path);
		free(l);
		errfmt_set(err, HPOOL_E_MEMORY, "out of memory");
		return NULL;
	}
	l->fd = -1;
	l->version = 1;
	l->rcap = RBUF_INITIAL;
	l->wait_ms = wait_ms;
	proto_wbuf_init(&l->w);
	if (link_connect(l, err) != HPOOL_OK ||
	    link_handshake_queue(l, open, err) != HPOOL_OK ||
	    (!lazy && link_handshake_finish(l, err) != HPOOL_OK)) {
		link_free(l);
		return NULL;
	}
	return l;
}

static int
link_connect(struct link *l, struct hpool_error *err)
{
	struct sockaddr_un sun;
	struct timeval tv;
	size_t n;
	int fd, errnum;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(l->path) >= sizeof(sun.sun_path))
		return errfmt_set(err, HPOOL_E_DAEMON_UNAVAILABLE,
		    "cannot connect to hpoold at %s: socket path too long",
		    l->path);
	memcpy(sun.sun_path, l->path, strlen(l->path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return errfmt_errno(err, hpool_error_from_errno(errno), errno,
		    "socket");
	/*
	 * The socket stays blocking. A blocking AF_UNIX connect waits for
	 * backlog room at most the timeout; a receive waits at most the
	 * timeout too, in the recv() itself (one system call for a response
	 * that is not there yet, where recv, poll, recv made three). Sends
	 * use MSG_DONTWAIT and poll().
	 */
	if (l->wait_ms >= 0) {
		tv.tv_sec = l->wait_ms / 1000;
		tv.tv_usec = (l->wait_ms % 1000) * 1000;
		if (tv.tv_sec == 0 && tv.tv_usec == 0)
			tv.tv_usec = 1000;
		if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv,
		    sizeof(tv)) == -1 || setsockopt(fd, SOL_SOCKET,
		    SO_RCVTIMEO, &tv, sizeof(tv)) == -1) {
			errfmt_errno(err, HPOOL_E_OS_ERROR, errno, "setsockopt");
			close(fd);
			return HPOOL_E_OS_ERROR;
		}
	}
	while (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		if (errno == EINTR)
			continue;
		if (errno == EISCONN)
			break;
		errnum = errno;
		errfmt_errno(err, HPOOL_E_DAEMON_UNAVAILABLE, errnum,
		    "cannot connect to hpoold at %s", l->path);
		if (err != NULL) {
			n = strlen(err->message);
			sockpath_hint(l->path, errnum, err->message + n,
			    sizeof(err->message) - n);
		}
		close(fd);
		return err ? err->code : HPOOL_E_DAEMON_UNAVAILABLE;
	}
	l->fd = fd;
	return HPOOL_OK;
}

/* HELLO and OPEN go out together; their answers come back in order. */
static int
link_handshake_queue(struct link *l, const struct proto_open *open,
    struct hpool_error *err)
{
	struct proto_hello hello = { PROTO_VERSION_MIN, PROTO_VERSION };

	if (proto_enc_hello(&l->w, PROTO_HELLO, &hello) == -1 ||
	    (open != NULL && proto_enc_open(&l->w, open) == -1)) {
		proto_wbuf_reset(&l->w);
		return errfmt_set(err, HPOOL_E_VALUE_ERROR,
		    "connection parameters too large");
	}
	l->handshake_due = 1;
	/* no OPEN (STATS follows): HELLO_OK alone, as for EXPLAIN */
	l->explain = open == NULL || open->explain;
	return HPOOL_OK;
}

/* Read HELLO_OK and OPEN_OK (flushing what is queued first). A lazy link
 * gets here from its first link_recv, so HELLO, OPEN and the first
 * request leave in one write and cost one round trip, not two. An
 * EXPLAIN open stops after HELLO_OK: what comes in place of OPEN_OK
 * depends on the version HELLO_OK chose (an older daemon refuses the
 * key it does not know), which only the caller can judge. */
static int
link_handshake_finish(struct link *l, struct hpool_error *err)
{
	const uint8_t *p;
	uint16_t version;
	uint8_t type, want[2] = { PROTO_HELLO_OK, PROTO_OPEN_OK };
	size_t len;
	int i, n = l->explain ? 1 : 2, rc;

	l->handshake_due = 0;
	if ((rc = link_flush(l, err)) != HPOOL_OK)
		return rc;
	for (i = 0; i < n; i++) {
		if ((rc = link_recv(l, &type, &p, &len, err)) != HPOOL_OK)
			return rc;
		if (type == PROTO_ERROR)
			return link_error_frame(l, p, len, err);
		if (type != want[i])
			return link_protocol_error(l, err,
			    "expected %s from hpoold, got %s",
			    proto_type_name(want[i]), proto_type_name(type));
		if (i == 0) {
			if (proto_dec_hello_ok(p, len, &version) == -1)
				return link_protocol_error(l, err,
				    "malformed HELLO_OK frame from hpoold");
			if (version < PROTO_VERSION_MIN ||
			    version > PROTO_VERSION)
				return link_protocol_error(l, err,
				    "hpoold chose protocol version %u, this "
				    "library speaks %u to %u", version,
				    PROTO_VERSION_MIN, PROTO_VERSION);
			l->version = version;
		} else if (proto_dec_empty(p, len) == -1)
			return link_protocol_error(l, err,
			    "malformed OPEN_OK frame from hpoold");
	}
	return HPOOL_OK;
}

void
link_close(struct link *l)
{
	uint8_t closefr[PROTO_FRAME_HDR] = { 0, 0, 0, 0, PROTO_CLOSE };

	if (l == NULL || l->fd == -1)
		return;
	/* Best effort: the daemon treats a plain close the same way. Before
	 * anything was written there is no session to close. */
	if (l->wrote)
		(void)send(l->fd, closefr, sizeof(closefr), MSG_NOSIGNAL |
		    MSG_DONTWAIT);
	close(l->fd);
	l->fd = -1;
	l->roff = l->rlen = 0;
	l->inflight = 0;
	proto_wbuf_reset(&l->w);
}

void
link_free(struct link *l)
{
	if (l == NULL)
		return;
	link_close(l);
	proto_wbuf_free(&l->w);
	free(l->rbuf);
	free(l->path);
	free(l);
}

int
link_alive(const struct link *l)
{
	return l != NULL && l->fd != -1;
}

int
link_error_frame(struct link *l, const uint8_t *p, size_t len,
    struct hpool_error *err)
{
	struct proto_error pe;

	if (proto_dec_error(p, len, &pe, l->version) == -1)
		return link_protocol_error(l, err,
		    "malformed ERROR frame from hpoold");
	errfmt_from_frame(err, &pe);
	link_close(l);
	return err != NULL ? err->code : HPOOL_E_PROTOCOL;
}

int
link_protocol_error(struct link *l, struct hpool_error *err,
    const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	link_close(l);
	return errfmt_set(err, HPOOL_E_PROTOCOL, "%s (session closed)", msg);
}

/* The session broke under us: say so, naming the socket. */
static int
link_lost(struct link *l, struct hpool_error *err, int errnum)
{
	if (errnum == 0)
		errfmt_set(err, HPOOL_E_DAEMON_UNAVAILABLE,
		    "hpoold at %s closed the session", l->path);
	else
		errfmt_errno(err, HPOOL_E_DAEMON_UNAVAILABLE, errnum,
		    "lost the session with hpoold at %s", l->path);
	link_close(l);
	return HPOOL_E_DAEMON_UNAVAILABLE;
}

static int
link_wait(struct link *l, short events, struct hpool_error *err)
{
	struct pollfd pfd;
	int n;

	pfd.fd = l->fd;
	pfd.events = events;
	pfd.revents = 0;
	do {
		n = poll(&pfd, 1, l->wait_ms);
	} while (n == -1 && errno == EINTR);
	if (n == -1) {
		errfmt_errno(err, HPOOL_E_OS_ERROR, errno, "poll");
		link_close(l);
		return HPOOL_E_OS_ERROR;
	}
	if (n == 0) {
		/* The session is in an unknown state now: end it. */
		link_close(l);
		return errfmt_set(err, HPOOL_E_TIMEOUT, "timed out");
	}
	return HPOOL_OK;
}

int
link_flush(struct link *l, struct hpool_error *err)
{
	size_t off = 0;
	ssize_t n;
	int rc;

	if (l->fd == -1)
		return link_lost(l, err, 0);
	while (off < l->w.len) {
		n = send(l->fd, l->w.data + off, l->w.len - off,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n >= 0) {
			off += (size_t)n;
			l->wrote = 1;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if ((rc = link_wait(l, POLLOUT, err)) != HPOOL_OK)
				return rc;
			continue;
		}
		rc = errno;
		link_salvage_error(l, err);
		if (err != NULL && err->code != HPOOL_OK)
			return err->code;
		return link_lost(l, err, rc);
	}
	proto_wbuf_reset(&l->w);
	return HPOOL_OK;
}

int
link_flush_some(struct link *l, struct hpool_error *err)
{
	if (l->w.len < WBUF_FLUSH_AT)
		return HPOOL_OK;
	return link_flush(l, err);
}

/*
 * A write failed: the daemon most likely ended the session after saying
 * why in an ERROR frame. Report that reason when it is there to read.
 */
static void
link_salvage_error(struct link *l, struct hpool_error *err)
{
	struct proto_error pe;
	const uint8_t *p;
	uint8_t type;
	size_t len;
	int saved = l->wait_ms, i;

	if (err != NULL)
		err->code = HPOOL_OK;
	l->wait_ms = 0;
	for (i = 0; i < 64 && l->fd != -1; i++) {
		if (link_recv(l, &type, &p, &len, NULL) != HPOOL_OK)
			break;
		if (type == PROTO_ERROR &&
		    proto_dec_error(p, len, &pe, l->version) == 0) {
			errfmt_from_frame(err, &pe);
			break;
		}
	}
	l->wait_ms = saved;
	link_close(l);
}

/* Read until at least need bytes are buffered past roff. */
static int
link_fill(struct link *l, size_t need, struct hpool_error *err)
{
	uint8_t *nb;
	ssize_t n;

	if (l->rcap - l->roff < need) {
		memmove(l->rbuf, l->rbuf + l->roff, l->rlen - l->roff);
		l->rlen -= l->roff;
		l->roff = 0;
	}
	if (l->rcap < need) {
		if (need > RBUF_MAX || (nb = realloc(l->rbuf, need)) == NULL) {
			link_close(l);
			return errfmt_set(err, HPOOL_E_MEMORY,
			    "out of memory for a %zu-byte frame", need);
		}
		l->rbuf = nb;
		l->rcap = need;
	}
	while (l->rlen - l->roff < need) {
		/* blocking, for at most SO_RCVTIMEO; a zero wait (only
		 * when salvaging an error) must not block at all */
		n = recv(l->fd, l->rbuf + l->rlen, l->rcap - l->rlen,
		    l->wait_ms == 0 ? MSG_DONTWAIT : 0);
		if (n > 0) {
			l->rlen += (size_t)n;
			continue;
		}
		if (n == 0)
			return link_lost(l, err, 0);
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			/* SO_RCVTIMEO ran out: the session is in an unknown
			 * state now, end it (as link_wait does) */
			link_close(l);
			return errfmt_set(err, HPOOL_E_TIMEOUT, "timed out");
		}
		return link_lost(l, err, errno);
	}
	return HPOOL_OK;
}

int
link_has_frame(const struct link *l)
{
	uint8_t type;
	uint32_t plen;

	/* a frame too large is an error link_recv reports without waiting */
	return l->fd != -1 && l->handshake_due == 0 &&
	    proto_frame_peek(l->rbuf + l->roff, l->rlen - l->roff, &type,
	    &plen) != 0;
}

int
link_recv(struct link *l, uint8_t *type, const uint8_t **payload,
    size_t *len, struct hpool_error *err)
{
	uint32_t plen;
	int r, rc;

	if (l->fd == -1)
		return link_lost(l, err, 0);
	if (l->handshake_due && (rc = link_handshake_finish(l, err)) !=
	    HPOOL_OK)
		return rc;
	if (l->roff == l->rlen)
		l->roff = l->rlen = 0;
	for (;;) {
		r = proto_frame_peek(l->rbuf + l->roff, l->rlen - l->roff,
		    type, &plen);
		if (r == -1)
			return link_protocol_error(l, err,
			    "frame of %u bytes from hpoold exceeds the %u "
			    "byte limit", plen, PROTO_MAX_PAYLOAD);
		if (r == 1)
			break;
		if (l->rlen - l->roff < PROTO_FRAME_HDR)
			rc = link_fill(l, PROTO_FRAME_HDR, err);
		else
			rc = link_fill(l, PROTO_FRAME_HDR + (size_t)plen, err);
		if (rc != HPOOL_OK)
			return rc;
	}
	*payload = l->rbuf + l->roff + PROTO_FRAME_HDR;
	*len = plen;
	l->roff += PROTO_FRAME_HDR + (size_t)plen;
	return HPOOL_OK;
}
