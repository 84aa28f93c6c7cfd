/*
 * http_parse.h: the HTTP/1.x response parser of hpoold. It does no I/O:
 * it takes bytes and says how many it consumed, whether it needs more, or
 * what was wrong, reproducing what CPython's http.client reports for the
 * same bytes (status line, header limits, framing, errors).
 */
#ifndef HPOOL_HTTP_PARSE_H
#define HPOOL_HTTP_PARSE_H

#include <stddef.h>
#include <stdint.h>

/* http.client's limits */
#define HP_MAXLINE	65536	/* _MAXLINE: longest line, without its end */
#define HP_CHUNK_HOLD	65536	/* chunk bytes held back until the chunk
				 * completes (see hp_body_parse) */
#define HP_MAXHEADERS	100	/* _MAXHEADERS */
#define HP_CHUNK_HOLD	65536	/* chunk bytes held back until the chunk
				 * completes (see hp_body_parse) */
#define HP_MAXHEAD	((HP_MAXHEADERS + 2) * (HP_MAXLINE + 2)) /* whole head */

enum hp_status {
	HP_AGAIN = 0,		/* need more bytes (or eof) */
	HP_DONE = 1,		/* head complete / body complete */
	HP_DATA = 2,		/* body bytes available (hp_body_parse) */
	HP_ERROR = -1,		/* see struct hp_error */
};

/* An error as http.client would raise it. */
struct hp_error {
	int		 code;		/* enum hpool_err */
	char		 message[256];	/* str(exception), UTF-8, cut to fit */
	uint64_t	 partial;	/* IncompleteRead: bytes before error */
	int64_t		 expected;	/* IncompleteRead: bytes missing or -1 */
};

struct hp_header {
	const char	*name;		/* slices into the parsed buffer */
	size_t		 name_len;
	const char	*value;		/* continuation lines joined as */
	size_t		 value_len;	/*  http.client's msg does */
};

enum hp_framing {
	HP_FRAME_NONE = 0,	/* no body (HEAD, 1xx, 204, 304, length 0) */
	HP_FRAME_LENGTH,	/* Content-Length bytes */
	HP_FRAME_CHUNKED,	/* Transfer-Encoding: chunked */
	HP_FRAME_CLOSE,		/* until the server closes */
};

struct hp_head {
	int		 version;	/* 10 or 11; 0 in a 100 head whose
					 * version Python never checks */
	int		 status;
	const char	*reason;	/* slice */
	size_t		 reason_len;
	size_t		 nheaders;
	struct hp_header headers[HP_MAXHEADERS + 1];
	enum hp_framing	 framing;
	int64_t		 length;	/* Content-Length or -1 */
	int		 will_close;	/* http.client's will_close */
	int		 reusable;	/* 0 if anything makes the connection
					 * unsafe to pool: 1xx final, odd or
					 * repeated Content-Length, close... */
	/* Storage for folded header values (continuation lines). Unused
	 * so far: http.client keeps the line breaks of a folded value, so
	 * every value is a contiguous slice of the input. */
	char		*fold;
	size_t		 fold_len;
	size_t		 fold_cap;
	int		 bare_lf;	/* a head line ended in LF alone */
	int		 length_overflow; /* Content-Length > INT64_MAX: length
					 * is INT64_MAX, reading it fails as
					 * it does in Python (OverflowError) */
};

/*
 * Parse a response head from the start of buf (len bytes). eof says the
 * server has closed and no more bytes will come. is_head: the request
 * method was HEAD. On HP_DONE *consumed bytes form the head and h is
 * filled with slices into buf, valid while buf is. A "100 Continue" head
 * comes back as HP_DONE with status 100: the caller drops it and parses
 * the next head, as http.client's begin() skips it. HP_AGAIN: call again with more bytes (nothing consumed).
 * HP_ERROR: err says what http.client would raise.
 */
int	hp_head_parse(const char *buf, size_t len, int eof, int is_head,
	    struct hp_head *h, size_t *consumed, struct hp_error *err);
void	hp_head_free(struct hp_head *);
/* First value of a header (case-insensitive), or NULL. */
const struct hp_header *hp_head_get(const struct hp_head *,
	    const char *name);

/* Body framing state, set up from a parsed head. */
struct hp_body {
	enum hp_framing	 framing;
	uint64_t	 remaining;	/* LENGTH: bytes left; CHUNKED: in chunk */
	int		 state;		/* chunked sub-state (internal) */
	uint64_t	 received;	/* body bytes delivered so far */
	int		 reusable;	/* cleared on any oddity in framing */
	uint64_t	 chunk_size;	/* CHUNKED: size of the current chunk */
	uint64_t	 complete;	/* IncompleteRead.partial as Python
					 * counts it (whole chunks only) */
	int		 bare_lf;	/* a chunk or trailer line ended in LF */
	int		 overflow;	/* LENGTH: size Python cannot read */
};

void	hp_body_init(struct hp_body *, const struct hp_head *);
/*
 * Advance over body bytes at buf. Returns HP_DATA with *data and *data_len a
 * slice of buf holding body bytes to deliver, HP_AGAIN when more input is
 * needed, HP_DONE when the body ended at its framing boundary, HP_ERROR
 * with err (IncompleteRead, LineTooLong, ...). *consumed is always set,
 * also with HP_AGAIN (chunk-size, CRLF and trailer lines already used):
 * the caller drops that many bytes from its input before calling again.
 * Bytes left after HP_DONE are not the parser's to judge: the caller must
 * not pool a connection that has any.
 * eof: the server closed; for HP_FRAME_CLOSE that is the end of the body.
 */
int	hp_body_parse(struct hp_body *, const char *buf, size_t len, int eof,
	    const char **data, size_t *data_len, size_t *consumed,
	    struct hp_error *err);

#endif
