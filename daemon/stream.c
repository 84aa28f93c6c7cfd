/* stream.c: owns hpoold's socket I/O: edge-triggered reads and writes,
 * plain or TLS, through an input and an output evbuffer, with lazily
 * checked timeouts. See stream.h for why it is not a bufferevent. */
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "stream.h"

#define READ_STEP	(64 * 1024)	/* plain: bytes per read syscall */
#define TLS_READ_STEP	(16 * 1024)	/* a record's plaintext at most */
#define TLS_READ_AHEAD	(64 * 1024)	/* TLS: bytes per read syscall */
#define WRITE_MAX	(256 * 1024)	/* plain: bytes per write syscall */
#define TLS_WRITE_MAX	(16 * 1024)	/* TLS: one record per SSL_write */

struct stream {
	struct event_base *base;
	int		 fd;
	SSL		*ssl;		/* the TLS the input and output go
					 * through */
	SSL		*outer;		/* TLS in TLS: the one on the socket
					 * (to a proxy) that ssl runs inside;
					 * NULL: ssl is on the socket */
	struct evbuffer	*in;
	struct evbuffer	*out;
	struct event	*ev_io;		/* EV_READ|EV_CLOSED|EV_ET, added for
					 * life */
	struct event	*ev_wr;		/* EV_WRITE|EV_ET, added while a
					 * write or a connect waits */
	struct event	*tmr;
	stream_data_cb	 readcb;
	stream_data_cb	 writecb;
	stream_event_cb	 eventcb;
	void		*arg;
	size_t		 read_high;
	size_t		 write_low;
	unsigned	 rd_ms;
	unsigned	 wr_ms;
	uint64_t	 rd_since;	/* ms: last read progress */
	uint64_t	 wr_since;	/* ms: last write progress */
	uint64_t	 armed_at;	/* ms: the timer's deadline, 0: off */
	unsigned long	 ssl_err;
	uint64_t	 written;	/* bytes the socket took, ever */
	int		 err;		/* errno behind STREAM_ERROR */
	int		 last_write;	/* TLS: an SSL_write to repeat */
	int		 busy;		/* callbacks on the stack */
	unsigned	 rd_on:1;	/* reading enabled */
	unsigned	 rd_full:1;	/* paused at the watermark */
	unsigned	 rd_blocked:1;	/* the socket had nothing */
	unsigned	 rd_short:1;	/* ...as a short read suggested */
	unsigned	 rd_eof:1;	/* no more reading: EOF seen */
	unsigned	 rd_hup:1;	/* the peer shut its side: read on
					 * to the EOF, short reads or not */
	unsigned	 rd_wants_wr:1;	/* SSL_read needs the socket writable */
	unsigned	 wr_blocked:1;	/* the socket took no more */
	unsigned	 wr_wants_rd:1;	/* SSL_write needs the socket readable */
	unsigned	 wr_added:1;	/* ev_wr is added */
	unsigned	 flush_due:1;	/* ev_io activated to write */
	unsigned	 tls_drained:1;	/* the last socket read was short */
	unsigned	 connecting:1;
	unsigned	 handshaking:1;
	unsigned	 closed:1;	/* error seen: no more I/O */
	unsigned	 dead:1;	/* freed inside a callback */
};

static void	io_cb(evutil_socket_t, short, void *);
static void	timer_cb(evutil_socket_t, short, void *);
static void	in_cb(struct evbuffer *, const struct evbuffer_cb_info *,
		    void *);
static void	out_cb(struct evbuffer *, const struct evbuffer_cb_info *,
		    void *);
static long	bio_cb(BIO *, int, const char *, size_t, int, long, int,
		    size_t *);
static void	finish_connect(struct stream *, short);
static void	handshake(struct stream *);
static void	do_read(struct stream *);
static void	do_write(struct stream *);
static ssize_t	read_plain(struct stream *, short *);
static ssize_t	read_tls(struct stream *, short *);
static short	tls_failed(struct stream *, int, int, short);
static void	report(struct stream *, short);
static void	wr_wait(struct stream *, int);
static void	arm(struct stream *);
static uint64_t	now_ms(void);
static void	teardown(struct stream *);

/* libevent's own clock on Linux: timers and deadlines agree. */
static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct stream *
stream_new(struct event_base *base, int fd)
{
	struct stream *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->base = base;
	s->fd = fd;
	s->read_high = SIZE_MAX;
	s->in = evbuffer_new();
	s->out = evbuffer_new();
	s->ev_io = event_new(base, fd, EV_READ | EV_CLOSED | EV_ET |
	    EV_PERSIST, io_cb, s);
	s->ev_wr = event_new(base, fd, EV_WRITE | EV_ET | EV_PERSIST, io_cb,
	    s);
	s->tmr = evtimer_new(base, timer_cb, s);
	if (s->in == NULL || s->out == NULL || s->ev_io == NULL ||
	    s->ev_wr == NULL || s->tmr == NULL ||
	    evbuffer_add_cb(s->in, in_cb, s) == NULL ||
	    evbuffer_add_cb(s->out, out_cb, s) == NULL ||
	    event_add(s->ev_io, NULL) == -1) {
		s->fd = -1;		/* not taken */
		teardown(s);
		free(s);
		return NULL;
	}
	return s;
}

/* Release everything but the struct itself. */
static void
teardown(struct stream *s)
{
	if (s->ev_io != NULL)
		event_free(s->ev_io);
	if (s->ev_wr != NULL)
		event_free(s->ev_wr);
	if (s->tmr != NULL)
		event_free(s->tmr);
	s->ev_io = s->ev_wr = s->tmr = NULL;
	if (s->in != NULL)
		evbuffer_free(s->in);
	if (s->out != NULL)
		evbuffer_free(s->out);
	s->in = s->out = NULL;
	/* the inner first: its BIO refers to the outer */
	if (s->ssl != NULL)
		SSL_free(s->ssl);
	if (s->outer != NULL)
		SSL_free(s->outer);
	s->ssl = s->outer = NULL;
	if (s->fd != -1)
		close(s->fd);
	s->fd = -1;
}

void
stream_free(struct stream *s)
{
	if (s == NULL || s->dead)
		return;
	if (s->busy > 0) {
		/* A callback of this stream is on the stack: the struct
		 * goes when it returns. */
		s->dead = 1;
		teardown(s);
		return;
	}
	teardown(s);
	free(s);
}

void
stream_setcb(struct stream *s, stream_data_cb readcb, stream_data_cb writecb,
    stream_event_cb eventcb, void *arg)
{
	s->readcb = readcb;
	s->writecb = writecb;
	s->eventcb = eventcb;
	s->arg = arg;
}

void
stream_set_watermarks(struct stream *s, size_t read_high, size_t write_low)
{
	s->read_high = read_high ? read_high : SIZE_MAX;
	s->write_low = write_low;
	if (s->rd_full && evbuffer_get_length(s->in) < s->read_high) {
		s->rd_full = 0;
		s->rd_since = now_ms();
		if (s->rd_on && !s->rd_blocked)
			event_active(s->ev_io, EV_READ, 1);
		arm(s);
	}
}

void
stream_set_timeouts(struct stream *s, unsigned rd_ms, unsigned wr_ms)
{
	s->rd_ms = rd_ms;
	s->wr_ms = wr_ms;
	s->rd_since = s->wr_since = now_ms();
	arm(s);
}

void
stream_read_enable(struct stream *s, int on)
{
	if (s->dead || (int)s->rd_on == !!on)
		return;
	s->rd_on = !!on;
	if (!on)
		return;
	s->rd_since = now_ms();
	/* An edge that came while reading was off is not repeated. */
	if (!s->rd_blocked && !s->closed && !s->rd_eof)
		event_active(s->ev_io, EV_READ, 1);
	arm(s);
}

void
stream_read_more(struct stream *s)
{
	if (s->dead || !s->rd_short)
		return;
	s->rd_short = 0;
	s->rd_blocked = 0;
	if (s->rd_on && !s->closed && !s->rd_eof)
		event_active(s->ev_io, EV_READ, 1);
}

int
stream_connect(struct stream *s, const struct sockaddr *sa, socklen_t len)
{
	if (connect(s->fd, sa, len) == 0) {
		s->connecting = 1;
		event_active(s->ev_io, EV_WRITE, 1);
		return 0;
	}
	if (errno != EINPROGRESS)
		return -1;
	s->connecting = 1;
	wr_wait(s, 1);
	return 0;
}

int
stream_start_tls(struct stream *s, SSL *ssl)
{
	BIO *b;

	if (s->ssl != NULL) {
		/* TLS in TLS: the new session's records are the old one's
		 * plaintext. OpenSSL's SSL filter BIO reads and writes them
		 * with SSL_read and SSL_write on the outer session, which
		 * keeps its socket and its read-ahead: no buffer between the
		 * two, and a want-read or want-write of the outer is the
		 * inner's. Once only: the outer stays on the socket. */
		if (s->outer != NULL || (b = BIO_new(BIO_f_ssl())) == NULL)
			return -1;
		BIO_set_ssl(b, s->ssl, BIO_NOCLOSE);
		SSL_set_bio(ssl, b, b);
		s->outer = s->ssl;
	} else if (SSL_set_fd(ssl, s->fd) != 1)
		return -1;
	s->ssl = ssl;
	SSL_set_connect_state(ssl);
	/* Partial writes of a moving buffer: the output is an evbuffer. */
	SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* Read ahead: a record and what follows it come in one read; the
	 * BIO callback tells whether that read emptied the socket, which
	 * is what edge-triggered reading needs to know. */
	SSL_set_read_ahead(ssl, 1);
	SSL_set_default_read_buffer_len(ssl, TLS_READ_AHEAD);
	if (s->outer == NULL && (b = SSL_get_rbio(ssl)) != NULL) {
		BIO_set_callback_ex(b, bio_cb);
		BIO_set_callback_arg(b, (char *)s);
	}
	s->handshaking = 1;
	event_active(s->ev_io, EV_WRITE, 1);
	return 0;
}

struct evbuffer *
stream_input(struct stream *s)
{
	return s->in;
}

struct evbuffer *
stream_output(struct stream *s)
{
	return s->out;
}

uint64_t
stream_written(const struct stream *s)
{
	return s->written;
}

int
stream_fd(const struct stream *s)
{
	return s->fd;
}

SSL *
stream_ssl(const struct stream *s)
{
	return s->ssl;
}

SSL *
stream_ssl_outer(const struct stream *s)
{
	return s->outer;
}

/* Records or plaintext held by OpenSSL, in either layer: a read finds
 * them without the socket. */
static int
tls_pending(const struct stream *s)
{
	return SSL_has_pending(s->ssl) ||
	    (s->outer != NULL && SSL_has_pending(s->outer));
}

unsigned long
stream_ssl_error(const struct stream *s)
{
	return s->ssl_err;
}

static long
bio_cb(BIO *b, int oper, const char *argp, size_t len, int argi, long argl,
    int ret, size_t *processed)
{
	struct stream *s = (struct stream *)BIO_get_callback_arg(b);

	(void)argp;
	(void)argi;
	(void)argl;
	if (oper == (BIO_CB_READ | BIO_CB_RETURN) && s != NULL)
		s->tls_drained = ret > 0 && processed != NULL &&
		    *processed < len;
	return ret;
}

/* Reading may go on once the input drains under the watermark. */
static void
in_cb(struct evbuffer *b, const struct evbuffer_cb_info *info, void *arg)
{
	struct stream *s = arg;

	(void)b;
	if (s->dead || info->n_deleted == 0 || !s->rd_full ||
	    info->orig_size - info->n_deleted + info->n_added >= s->read_high)
		return;
	s->rd_full = 0;
	s->rd_since = now_ms();
	if (s->rd_on && !s->rd_blocked && !s->closed && !s->rd_eof)
		event_active(s->ev_io, EV_READ, 1);
	arm(s);
}

/* Output queued: write it later in this loop turn, once whoever queued it
 * has queued all it has (a response's frames go in one writev). */
static void
out_cb(struct evbuffer *b, const struct evbuffer_cb_info *info, void *arg)
{
	struct stream *s = arg;

	(void)b;
	if (s->dead || info->n_added == 0 || s->closed)
		return;
	if (info->orig_size == 0) {
		s->wr_since = now_ms();
		arm(s);
	}
	if (s->flush_due || s->wr_blocked || s->wr_wants_rd || s->connecting ||
	    s->handshaking)
		return;
	s->flush_due = 1;
	event_active(s->ev_io, EV_WRITE, 1);
}

static void
wr_wait(struct stream *s, int on)
{
	if (on && !s->wr_added) {
		if (event_add(s->ev_wr, NULL) == 0)
			s->wr_added = 1;
	} else if (!on && s->wr_added) {
		event_del(s->ev_wr);
		s->wr_added = 0;
	}
}

static void
io_cb(evutil_socket_t fd, short what, void *arg)
{
	struct stream *s = arg;

	(void)fd;
	s->busy++;
	if (what & EV_CLOSED)
		s->rd_hup = 1;
	if (what & (EV_READ | EV_CLOSED)) {
		s->rd_blocked = 0;
		s->wr_wants_rd = 0;
	}
	if (what & EV_WRITE) {
		s->wr_blocked = 0;
		s->flush_due = 0;
		s->rd_wants_wr = 0;
	}
	if (s->connecting)
		finish_connect(s, what);
	else if (s->handshaking)
		handshake(s);
	else if (!s->closed) {
		if (evbuffer_get_length(s->out) > 0)
			do_write(s);
		if (!s->dead && !s->closed)
			do_read(s);
	}
	if (--s->busy == 0 && s->dead)
		free(s);
}

static void
finish_connect(struct stream *s, short what)
{
	socklen_t len = sizeof(int);
	int err = 0;

	if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err == 0 && !(what & EV_WRITE))
		return;		/* not there yet */
	s->connecting = 0;
	if (err != 0) {
		s->closed = 1;
		s->err = err;
		wr_wait(s, 0);
		report(s, STREAM_ERROR | STREAM_WRITING);
		return;
	}
	if (evbuffer_get_length(s->out) == 0)
		wr_wait(s, 0);
	report(s, STREAM_CONNECTED);
	if (!s->dead && !s->closed && evbuffer_get_length(s->out) > 0 &&
	    !s->handshaking)
		do_write(s);
}

static void
handshake(struct stream *s)
{
	int r, e;

	ERR_clear_error();
	r = SSL_do_handshake(s->ssl);
	if (r == 1) {
		s->handshaking = 0;
		/* Read-ahead may hold records already: look before waiting
		 * for an edge. */
		s->rd_blocked = 0;
		wr_wait(s, 0);
		report(s, STREAM_CONNECTED);
		if (!s->dead && !s->closed && evbuffer_get_length(s->out) > 0)
			do_write(s);
		return;
	}
	switch ((e = SSL_get_error(s->ssl, r))) {
	case SSL_ERROR_WANT_READ:
		wr_wait(s, 0);
		return;
	case SSL_ERROR_WANT_WRITE:
		wr_wait(s, 1);
		return;
	default:
		s->handshaking = 0;
		wr_wait(s, 0);
		report(s, tls_failed(s, e, r, STREAM_READING));
		return;
	}
}

/*
 * An SSL call failed for good: what to report. A close without
 * close_notify after the handshake is EOF, as for Python's sockets with
 * suppress_ragged_eofs (the HTTP framing says whether bytes are missing);
 * during the handshake it is EOF with the error kept, which upstream.c
 * words as Python does.
 */
static short
tls_failed(struct stream *s, int e, int r, short dir)
{
	unsigned long code = ERR_peek_error();
	int saved = errno;

	if (e == SSL_ERROR_ZERO_RETURN) {
		ERR_clear_error();
		s->rd_eof = 1;
		return STREAM_EOF | dir;
	}
	if (e == SSL_ERROR_SYSCALL && code == 0) {
		ERR_clear_error();
		if (r == 0 || saved == 0) {
			s->rd_eof = 1;
			s->err = 0;
			return STREAM_EOF | dir;
		}
		s->closed = 1;
		s->err = saved;
		return STREAM_ERROR | dir;
	}
	s->ssl_err = ERR_get_error();
	ERR_clear_error();
	if (ERR_GET_REASON(s->ssl_err) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
		s->err = 0;
		if (!s->handshaking) {
			s->ssl_err = 0;
			s->rd_eof = 1;
			return STREAM_EOF | dir;
		}
		s->closed = 1;
		return STREAM_EOF | dir;
	}
	s->closed = 1;
	s->err = e == SSL_ERROR_SYSCALL ? saved : 0;
	return STREAM_ERROR | dir;
}

static void
report(struct stream *s, short what)
{
	if (s->eventcb == NULL)
		return;
	errno = s->err;
	s->eventcb(s, what, s->arg);
}

static void
do_read(struct stream *s)
{
	size_t got = 0;
	ssize_t n;
	short ev = 0;

	if (!s->rd_on || s->rd_eof || s->rd_blocked || s->rd_wants_wr)
		return;
	for (;;) {
		if (evbuffer_get_length(s->in) >= s->read_high) {
			s->rd_full = 1;
			break;
		}
		n = s->ssl != NULL ? read_tls(s, &ev) : read_plain(s, &ev);
		if (n <= 0)
			break;
		got += (size_t)n;
		if (s->rd_blocked)
			break;
	}
	/* A read that found nothing leaves an empty chain reserved: give
	 * it back, or every idle connection keeps one. */
	if (got == 0 && evbuffer_get_length(s->in) == 0)
		evbuffer_drain(s->in, 0);
	if (got > 0) {
		s->rd_since = now_ms();
		if (s->readcb != NULL) {
			s->readcb(s, s->arg);
			if (s->dead)
				return;
		}
	}
	if (ev != 0)
		report(s, ev);
}

/* > 0: bytes read; 0: nothing now; -1: *ev says what ended reading. */
static ssize_t
read_plain(struct stream *s, short *ev)
{
	struct evbuffer_iovec v[2];
	size_t left;
	ssize_t n;
	int nv, i;

	if ((nv = evbuffer_reserve_space(s->in, READ_STEP, v, 2)) <= 0) {
		s->closed = 1;
		s->err = ENOMEM;
		*ev = STREAM_ERROR | STREAM_READING;
		return -1;
	}
	do
		n = readv(s->fd, (struct iovec *)v, nv);
	while (n == -1 && errno == EINTR);
	if (n > 0) {
		for (left = (size_t)n, i = 0; i < nv; i++) {
			if (v[i].iov_len > left)
				v[i].iov_len = left;
			left -= v[i].iov_len;
		}
		evbuffer_commit_space(s->in, v, nv);
		/* A short read emptied the socket; more raises an edge. An
		 * EOF that came with the data raises none: read on to it. */
		if ((size_t)n < READ_STEP && !s->rd_hup)
			s->rd_blocked = s->rd_short = 1;
		return n;
	}
	evbuffer_commit_space(s->in, v, 0);
	if (n == 0) {
		s->rd_eof = 1;
		s->err = 0;
		*ev = STREAM_EOF | STREAM_READING;
		return -1;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK) {
		s->rd_blocked = 1;
		s->rd_short = 0;
		return 0;
	}
	s->closed = 1;
	s->err = errno;
	*ev = STREAM_ERROR | STREAM_READING;
	return -1;
}

static ssize_t
read_tls(struct stream *s, short *ev)
{
	struct evbuffer_iovec v;
	int r, e;

	if (evbuffer_reserve_space(s->in, TLS_READ_STEP, &v, 1) != 1) {
		s->closed = 1;
		s->err = ENOMEM;
		*ev = STREAM_ERROR | STREAM_READING;
		return -1;
	}
	ERR_clear_error();
	r = SSL_read(s->ssl, v.iov_base, v.iov_len > INT_MAX ? INT_MAX :
	    (int)v.iov_len);
	if (r > 0) {
		v.iov_len = (size_t)r;
		evbuffer_commit_space(s->in, &v, 1);
		if (s->tls_drained && !s->rd_hup && !tls_pending(s))
			s->rd_blocked = s->rd_short = 1;
		return r;
	}
	evbuffer_commit_space(s->in, &v, 0);
	switch ((e = SSL_get_error(s->ssl, r))) {
	case SSL_ERROR_WANT_READ:
		s->rd_blocked = 1;
		s->rd_short = 0;
		return 0;
	case SSL_ERROR_WANT_WRITE:
		s->rd_wants_wr = 1;
		wr_wait(s, 1);
		return 0;
	default:
		*ev = tls_failed(s, e, r, STREAM_READING);
		return -1;
	}
}

static void
do_write(struct stream *s)
{
	size_t len, want, wrote = 0;
	ssize_t n;
	int r, e;
	short ev = 0;

	while ((len = evbuffer_get_length(s->out)) > 0) {
		if (s->ssl != NULL) {
			want = s->last_write > 0 ? (size_t)s->last_write :
			    len < TLS_WRITE_MAX ? len : TLS_WRITE_MAX;
			/* small frames become one record, not one each */
			ERR_clear_error();
			r = SSL_write(s->ssl, evbuffer_pullup(s->out,
			    (ev_ssize_t)want), (int)want);
			if (r > 0) {
				s->last_write = 0;
				evbuffer_drain(s->out, (size_t)r);
				wrote += (size_t)r;
				continue;
			}
			e = SSL_get_error(s->ssl, r);
			if (e == SSL_ERROR_WANT_WRITE) {
				s->last_write = (int)want;
				s->wr_blocked = 1;
				wr_wait(s, 1);
				break;
			}
			if (e == SSL_ERROR_WANT_READ) {
				s->last_write = (int)want;
				s->wr_wants_rd = 1;
				break;
			}
			ev = tls_failed(s, e, r, STREAM_WRITING);
			if (ev & STREAM_EOF) {
				/* the peer is gone: writing is an error */
				s->closed = 1;
				s->err = EPIPE;
				ev = STREAM_ERROR | STREAM_WRITING;
			}
			break;
		}
		want = len < WRITE_MAX ? len : WRITE_MAX;
		n = evbuffer_write_atmost(s->out, s->fd, (ev_ssize_t)want);
		if (n > 0) {
			wrote += (size_t)n;
			continue;
		}
		if (n == 0 || errno == EAGAIN || errno == EWOULDBLOCK) {
			s->wr_blocked = 1;
			wr_wait(s, 1);
			break;
		}
		if (errno == EINTR)
			continue;
		s->closed = 1;
		s->err = errno;
		ev = STREAM_ERROR | STREAM_WRITING;
		break;
	}
	/* counted before any error: part of a request may have gone */
	s->written += wrote;
	if (evbuffer_get_length(s->out) == 0 && !s->rd_wants_wr)
		wr_wait(s, 0);
	if (ev != 0) {
		report(s, ev);
		return;
	}
	if (wrote > 0) {
		s->wr_since = now_ms();
		if (s->writecb != NULL &&
		    evbuffer_get_length(s->out) <= s->write_low)
			s->writecb(s, s->arg);
	}
}

/* Is a read or a write waiting, and so under its timeout? */
static int
rd_waiting(const struct stream *s)
{
	return s->rd_ms != 0 && s->rd_on && !s->rd_full && !s->rd_eof &&
	    !s->closed;
}

static int
wr_waiting(const struct stream *s)
{
	return s->wr_ms != 0 && !s->closed && evbuffer_get_length(s->out) > 0;
}

/* Make sure the timer fires by the earliest deadline. Deadlines only move
 * later with activity, so a timer already set earlier is left alone: it
 * fires, finds the new deadline and sets itself again. */
static void
arm(struct stream *s)
{
	uint64_t d = 0, w, now;
	struct timeval tv;

	if (s->dead)
		return;
	if (rd_waiting(s))
		d = s->rd_since + s->rd_ms;
	if (wr_waiting(s)) {
		w = s->wr_since + s->wr_ms;
		if (d == 0 || w < d)
			d = w;
	}
	if (d == 0 || (s->armed_at != 0 && s->armed_at <= d))
		return;
	now = now_ms();
	w = d > now ? d - now : 1;
	tv.tv_sec = (time_t)(w / 1000);
	tv.tv_usec = (suseconds_t)(w % 1000) * 1000;
	if (event_add(s->tmr, &tv) == 0)
		s->armed_at = d;
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct stream *s = arg;
	uint64_t now = now_ms();
	short ev = 0;

	(void)fd;
	(void)what;
	s->armed_at = 0;
	if (rd_waiting(s) && now >= s->rd_since + s->rd_ms) {
		s->rd_on = 0;
		ev = STREAM_TIMEOUT | STREAM_READING;
	} else if (wr_waiting(s) && now >= s->wr_since + s->wr_ms)
		ev = STREAM_TIMEOUT | STREAM_WRITING;
	if (ev == 0) {
		arm(s);
		return;
	}
	s->busy++;
	s->err = ETIMEDOUT;
	report(s, ev);
	if (--s->busy == 0 && s->dead)
		free(s);
}
