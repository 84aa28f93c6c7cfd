/*
 * link.h: one Unix-socket session between libhpool and hpoold (internal).
 * A link sends and receives whole proto frames with blocking semantics;
 * every wait is bounded by the link's timeout unless that is "none".
 */
#ifndef HPOOL_LINK_H
#define HPOOL_LINK_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

struct hpool_error;

struct link {
	int		 fd;		/* -1 once closed */
	int		 wait_ms;	/* poll timeout, -1: none */
	char		*path;		/* socket path, for messages */
	struct proto_wbuf w;		/* frames not yet written */
	uint8_t		*rbuf;		/* received bytes, capped */
	size_t		 rcap;
	size_t		 roff;		/* start of unconsumed bytes */
	size_t		 rlen;		/* end of received bytes */
	unsigned	 inflight;	/* requests whose end is unread */
	int		 handshake_due;	/* HELLO_OK / OPEN_OK not read yet */
	int		 explain;	/* OPEN asked EXPLAIN: the handshake
					 * ends at HELLO_OK, and the frame
					 * after it (EXPLAIN, or ERROR) is
					 * the caller's to read */
	int		 wrote;		/* any byte went to the daemon */
	uint16_t	 version;	/* from HELLO_OK; 1 until then (an
					 * ERROR before it has version 1's
					 * layout) */
};

/* Connect to path and send HELLO / OPEN; NULL on error (err filled).
 * lazy: do not wait for the answers; the first link_recv reads them (and
 * reports a refusal). Otherwise they are read before this returns. An
 * OPEN with explain set, or no OPEN (open NULL: a STATS follows), is
 * answered by HELLO_OK alone here; l->version then says whether the
 * daemon understands what comes next. */
struct link	*link_open(const char *path, const struct proto_open *open,
		    int wait_ms, int lazy, struct hpool_error *err);
/* Send CLOSE (best effort) and close the socket; the struct stays. */
void		 link_close(struct link *);
void		 link_free(struct link *);
int		 link_alive(const struct link *);
/* Write every queued frame in l->w. */
int		 link_flush(struct link *, struct hpool_error *err);
/* Flush when l->w holds more than a few body frames. */
int		 link_flush_some(struct link *, struct hpool_error *err);
/*
 * Receive one whole frame. *payload points into the link's buffer and
 * stays valid until the next link_recv. Any failure closes the link.
 */
int		 link_recv(struct link *, uint8_t *type, const uint8_t **payload,
		    size_t *len, struct hpool_error *err);
/* 1 when a whole frame is buffered: link_recv would not wait. */
int		 link_has_frame(const struct link *);
/* Close the link and report a malformed frame as HpoolProtocolError. */
/* An ERROR frame (p, len) where a reply was due: its error in err and
 * the session closed (hpoold ends it too); returns the error's code. */
int		 link_error_frame(struct link *, const uint8_t *p, size_t len,
		    struct hpool_error *err);
int		 link_protocol_error(struct link *, struct hpool_error *err,
		    const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));

#endif
