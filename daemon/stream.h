/*
 * stream.h: one non-blocking socket of hpoold (a client session or an
 * upstream connection), plain or TLS, with an input and an output buffer.
 *
 * It does what hpoold used from libevent's bufferevents, at a lower cost
 * per request: the socket is registered with epoll once, edge-triggered,
 * so turning reads and writes on and off costs no epoll_ctl; output is
 * written in the same loop turn it was queued in, in one writev; reads
 * take what the socket holds in 64 KiB steps (libevent 2.1 reads 4 KiB
 * per event, after a FIONREAD ioctl); TLS reads ahead, so a record costs
 * one read, not two; and timeouts are checked lazily, so activity costs
 * a clock read instead of a timer re-arm.
 *
 * Callbacks run from the event loop only, never from the calls below, and
 * a callback may free the stream.
 */
#ifndef HPOOL_STREAM_H
#define HPOOL_STREAM_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

struct event_base;
struct evbuffer;
struct stream;

/* What an event callback reports (a direction and what happened). */
#define STREAM_READING		0x01
#define STREAM_WRITING		0x02
#define STREAM_EOF		0x10	/* the peer closed (clean or not) */
#define STREAM_ERROR		0x20	/* errno, or stream_ssl_error() */
#define STREAM_TIMEOUT		0x40
#define STREAM_CONNECTED	0x80	/* TCP connect or TLS handshake done */

typedef void	(*stream_data_cb)(struct stream *, void *);
typedef void	(*stream_event_cb)(struct stream *, short, void *);

/* Takes fd (non-blocking) and closes it on free. NULL: out of memory, fd
 * not taken. */
struct stream	*stream_new(struct event_base *, int fd);
void		 stream_free(struct stream *);
void		 stream_setcb(struct stream *, stream_data_cb readcb,
		    stream_data_cb writecb, stream_event_cb eventcb, void *);
/* Reading pauses while the input holds read_high bytes or more; writecb
 * runs after a write leaves write_low bytes or fewer queued. */
void		 stream_set_watermarks(struct stream *, size_t read_high,
		    size_t write_low);
/* 0 means none. Reading times out only while enabled and not paused by
 * the watermark; writing only while output is queued. Activity restarts
 * the clock. */
void		 stream_set_timeouts(struct stream *, unsigned rd_ms,
		    unsigned wr_ms);
void		 stream_read_enable(struct stream *, int on);
/*
 * The reader needs more bytes than it has. A short read is taken to mean
 * the socket is empty, so no syscall is spent to hear EAGAIN; but an error
 * or EOF that came with the data (a reset: libevent reports no EV_CLOSED
 * with EPOLLERR) raises no new edge. This reads once more to find out,
 * and only then.
 */
void		 stream_read_more(struct stream *);
/* connect(2) without waiting: 0 and STREAM_CONNECTED later, or -1 with
 * errno for an error known at once. */
int		 stream_connect(struct stream *, const struct sockaddr *,
		    socklen_t);
/* Run a client TLS handshake on the socket (takes ssl): STREAM_CONNECTED
 * when it is done, STREAM_ERROR or STREAM_EOF when it fails. On a stream
 * that runs TLS already (to an https:// proxy), the new TLS runs inside
 * it (TLS in TLS; once), and stream_ssl() is then the inner one. -1: ssl
 * not taken (out of memory, or a third layer). */
int		 stream_start_tls(struct stream *, SSL *);
struct evbuffer	*stream_input(struct stream *);
struct evbuffer	*stream_output(struct stream *);
int		 stream_fd(const struct stream *);
/* Bytes the socket has taken from the output since the stream began. */
uint64_t	 stream_written(const struct stream *);
SSL		*stream_ssl(const struct stream *);
/* TLS in TLS: the outer TLS, on the socket; NULL otherwise. */
SSL		*stream_ssl_outer(const struct stream *);
/* The first OpenSSL error code behind the last STREAM_ERROR, or 0. */
unsigned long	 stream_ssl_error(const struct stream *);

#endif
