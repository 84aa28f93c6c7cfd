/*
 * response.c: owns HTTPResponse: the head from RESP_HEAD, the body
 * streamed from RESP_BODY frames, the end (RESP_END or ERROR), and
 * leaving the session in step when a response is closed early.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client.h"
#include "link.h"

/*
 * close() with unread body: a remainder up to this many bytes is drained
 * so the session stays usable; a larger or unknown one ends the session
 * (cheaper than reading it), unless a pipelined request waits behind it.
 */
#define DRAIN_MAX	(64u * 1024)

static int	resp_fail(hpool_response *, int code, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));
static int	resp_fail_err(hpool_response *, const struct hpool_error *);
static void	resp_release(hpool_response *);
static int	resp_frame(hpool_response *, uint8_t *type,
		    const uint8_t **p, size_t *len);
static int	resp_on_end(hpool_response *, const uint8_t *, size_t);
static int	resp_on_error(hpool_response *, const uint8_t *, size_t);
static int	resp_more(hpool_response *, uint8_t *, size_t, size_t *);
static int	resp_fill(hpool_response *, uint8_t *, size_t, int, size_t *);
static int	resp_read_some(hpool_response *, void *, size_t, int,
		    size_t *);

/* How resp_read_some() reads. */
#define RD_AMT		0	/* read(amt), readinto() */
#define RD_LINE		1	/* readline() */
#define RD_STREAM	2	/* read() handed out in pieces */
#define RD_ONE		3	/* read1(): what one frame brings */
static void	resp_drain(hpool_response *);

int
resp_new(hpool_conn *conn, struct link *l, int owns_link, int head_method,
    const struct proto_resp_head *rh, hpool_response **out,
    struct hpool_error *err)
{
	hpool_response *r;
	size_t i, strbytes = 0;
	char *s;

	*out = NULL;
	for (i = 0; i < rh->nheaders; i++)
		strbytes += rh->headers[i].name.len +
		    rh->headers[i].value.len + 2;
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->reason = proto_strdup(&rh->reason)) == NULL ||
	    (r->headers = malloc(rh->nheaders * sizeof(*r->headers) +
	    strbytes + 1)) == NULL) {
		if (r != NULL)
			free(r->reason);
		free(r);
		return errfmt_set(err, HPOOL_E_MEMORY, "out of memory");
	}
	/* One block: the array, then every name and value, NUL-ended. */
	s = (char *)(r->headers + rh->nheaders);
	for (i = 0; i < rh->nheaders; i++) {
		r->headers[i].name = s;
		memcpy(s, rh->headers[i].name.p, rh->headers[i].name.len);
		s += rh->headers[i].name.len;
		*s++ = '\0';
		r->headers[i].value = s;
		memcpy(s, rh->headers[i].value.p, rh->headers[i].value.len);
		s += rh->headers[i].value.len;
		*s++ = '\0';
	}
	r->nheaders = rh->nheaders;
	r->msg.headers = r->headers;
	r->msg.nheaders = r->nheaders;
	/* begin(): chunked is what the header says, even for HEAD. */
	for (i = 0; i < r->nheaders; i++)
		if (strcasecmp(r->headers[i].name, "transfer-encoding") == 0) {
			r->chunked = strcasecmp(r->headers[i].value,
			    "chunked") == 0;
			break;
		}
	r->conn = conn;
	r->link = l;
	r->owns_link = owns_link;
	r->status = rh->status;
	r->version = rh->version;
	r->will_close = (rh->flags & PROTO_RESP_WILL_CLOSE) != 0;
	r->end_flags = -1;
	r->head_method = head_method;
	/* HTTPResponse.begin(): no body for these, whatever the headers. */
	if (rh->flags & PROTO_RESP_CHUNKED)
		r->length = -1;
	else
		r->length = rh->length;
	if (head_method || r->status == 204 || r->status == 304 ||
	    (r->status >= 100 && r->status < 200))
		r->length = 0;
	r->left = r->length;
	r->pylen = r->length;
	errfmt_clear(&r->err);
	errfmt_clear(&r->pending_err);
	if (conn != NULL) {
		r->next = conn->resps;
		conn->resps = r;
	}
	*out = r;
	return HPOOL_OK;
}

static int
resp_fail_err(hpool_response *r, const struct hpool_error *e)
{
	if (e != &r->err)
		r->err = *e;
	conn_note_error(r->conn, &r->err);
	return r->err.code;
}

static int
resp_fail(hpool_response *r, int code, const char *fmt, ...)
{
	va_list ap;

	errfmt_clear(&r->err);
	r->err.code = code;
	va_start(ap, fmt);
	vsnprintf(r->err.message, sizeof(r->err.message), fmt, ap);
	va_end(ap);
	return resp_fail_err(r, &r->err);
}

/* The response is over on the wire: let go of the session. */
static void
resp_release(hpool_response *r)
{
	r->ended = 1;
	if (r->link != NULL && r->owns_link)
		link_free(r->link);
	r->link = NULL;
}

void
resp_detach(hpool_response *r)
{
	if (r->owns_link)
		return;
	r->link = NULL;
	r->ended = 1;
	r->closed = 1;
	r->chunk_off = r->chunk_len = 0;
}

/* The next frame of this response; a failure ends the response. */
static int
resp_frame(hpool_response *r, uint8_t *type, const uint8_t **p, size_t *len)
{
	int rc;

	if (r->link == NULL)
		return resp_fail(r, HPOOL_E_NOT_CONNECTED,
		    "the session of this response is closed");
	if ((rc = link_recv(r->link, type, p, len, &r->err)) != HPOOL_OK) {
		resp_release(r);
		return resp_fail_err(r, &r->err);
	}
	return HPOOL_OK;
}

static int
resp_on_end(hpool_response *r, const uint8_t *p, size_t len)
{
	uint8_t flags;

	if (proto_dec_resp_end(p, len, &flags) == -1) {
		link_protocol_error(r->link, &r->err,
		    "malformed RESP_END frame from hpoold");
		resp_release(r);
		return resp_fail_err(r, &r->err);
	}
	r->end_flags = flags;
	r->link->inflight--;
	resp_release(r);
	if (r->left > 0)
		return resp_fail(r, HPOOL_E_INCOMPLETE_READ,
		    "IncompleteRead(%llu bytes read, %lld more expected)",
		    (unsigned long long)r->received, (long long)r->left);
	return HPOOL_OK;
}

static int
resp_on_error(hpool_response *r, const uint8_t *p, size_t len)
{
	struct proto_error pe;

	if (proto_dec_error(p, len, &pe,
		    r->link->version) == -1) {
		link_protocol_error(r->link, &r->err,
		    "malformed ERROR frame from hpoold");
		resp_release(r);
		return resp_fail_err(r, &r->err);
	}
	errfmt_from_frame(&r->err, &pe);
	if (r->conn != NULL)
		errfmt_detail(r->conn->err_detail,
		    sizeof(r->conn->err_detail), &pe);
	r->link->inflight--;
	if (r->err.code == HPOOL_E_PROTOCOL)
		link_close(r->link);	/* the daemon ends the session too */
	resp_release(r);
	return resp_fail_err(r, &r->err);
}

/*
 * Make sure r->chunk holds unread body bytes, reading frames until a body
 * frame or the end comes. HPOOL_OK with nothing buffered means the body
 * has ended. A body frame that fits in dst (room bytes, dst may be NULL)
 * goes straight there instead (*direct says how much): a large read()
 * then copies each byte once out of the link's buffer, not twice.
 */
static int
resp_more(hpool_response *r, uint8_t *dst, size_t room, size_t *direct)
{
	const uint8_t *p;
	uint8_t type;
	size_t len;
	int rc;

	*direct = 0;
	while (r->chunk_off == r->chunk_len && !r->ended) {
		if ((rc = resp_frame(r, &type, &p, &len)) != HPOOL_OK)
			return rc;
		if (type == PROTO_RESP_END)
			return resp_on_end(r, p, len);
		if (type == PROTO_ERROR)
			return resp_on_error(r, p, len);
		if (type != PROTO_RESP_BODY) {
			rc = link_protocol_error(r->link, &r->err,
			    "unexpected %s frame in a response body",
			    proto_type_name(type));
			resp_release(r);
			return resp_fail_err(r, &r->err);
		}
		/* Frames from proto never exceed the chunk. */
		if ((r->left >= 0 && (uint64_t)len > (uint64_t)r->left) ||
		    len > PROTO_MAX_BODY_CHUNK) {
			rc = link_protocol_error(r->link, &r->err,
			    "hpoold sent more body than the %lld bytes "
			    "announced, or a frame above %u bytes",
			    (long long)r->length, PROTO_MAX_BODY_CHUNK);
			resp_release(r);
			return resp_fail_err(r, &r->err);
		}
		r->received += len;
		if (r->left >= 0)
			r->left -= (int64_t)len;
		if (dst != NULL && len <= room) {
			memcpy(dst, p, len);
			*direct = len;
			if (len > 0)
				break;
			continue;
		}
		if (r->chunk == NULL &&
		    (r->chunk = malloc(PROTO_MAX_BODY_CHUNK)) == NULL) {
			link_close(r->link);
			resp_release(r);
			return resp_fail(r, HPOOL_E_MEMORY, "out of memory");
		}
		memcpy(r->chunk, p, len);
		r->chunk_off = 0;
		r->chunk_len = len;
	}
	return HPOOL_OK;
}

/*
 * Copy up to amt body bytes into buf (through the first newline when
 * mode is RD_LINE), reading frames as needed: short only at the end of
 * the body or of a line, or (RD_ONE) once any byte is there. All
 * announced bytes read: the end is read too, so the response closes at
 * once, as http.client's does.
 */
static int
resp_fill(hpool_response *r, uint8_t *buf, size_t amt, int mode,
    size_t *got)
{
	const uint8_t *nl;
	size_t n, d;
	int rc = HPOOL_OK, line = mode == RD_LINE;

	*got = 0;
	while (*got < amt) {
		if (r->chunk_off < r->chunk_len) {
			n = r->chunk_len - r->chunk_off;
			if (n > amt - *got)
				n = amt - *got;
			nl = line ? memchr(r->chunk + r->chunk_off, '\n', n) :
			    NULL;
			if (nl != NULL)
				n = (size_t)(nl - (r->chunk + r->chunk_off)) + 1;
			memcpy(buf + *got, r->chunk + r->chunk_off, n);
			r->chunk_off += n;
			*got += n;
			if (nl != NULL || mode == RD_ONE)
				break;
			continue;
		}
		if (r->ended || (r->left == 0 && *got > 0))
			break;
		/* a line is looked for in r->chunk: no direct copy */
		rc = resp_more(r, line ? NULL : buf + *got, amt - *got, &d);
		*got += d;
		if (rc != HPOOL_OK || (mode == RD_ONE && *got > 0))
			break;
	}
	if (rc == HPOOL_OK && !r->ended && r->left == 0 &&
	    r->chunk_off == r->chunk_len)
		rc = resp_more(r, NULL, 0, &d);
	return rc;
}

/*
 * read(amt), readinto() and readline() as http.client answers them when
 * the body stops early. Content-Length body: the bytes there are, then
 * b'' (only read() raises). Chunked body: IncompleteRead at once, its
 * partial the bytes of this call (left in buf). Any other error (a
 * reset) is raised at once and the bytes of this call are dropped, as
 * Python's buffered read(n) drops them when its raw read fails.
 */
static int
resp_read_some(hpool_response *r, void *buf, size_t amt, int mode,
    size_t *nread)
{
	int rc, line = mode == RD_LINE;

	*nread = 0;
	errfmt_clear(&r->err);
	if (r->pending) {
		r->pending = 0;
		r->closed = 1;
		if (r->pending_err.code == HPOOL_E_INCOMPLETE_READ &&
		    !r->chunked && mode != RD_STREAM)
			return HPOOL_OK;
		r->err_open = r->pending_err.code != HPOOL_E_INCOMPLETE_READ;
		return resp_fail_err(r, &r->pending_err);
	}
	if (r->closed) {
		/* After a reset Python's next read finds the end: closed. */
		r->err_open = 0;
		if (mode != RD_ONE)
			r->py_open = 0;
		return HPOOL_OK;
	}
	if (r->head_method) {
		hpool_response_close(r);
		/* read1() returns b'' for HEAD without closing */
		r->py_open = mode == RD_ONE;
		return HPOOL_OK;
	}
	if (amt == 0)
		return HPOOL_OK;
	if (buf == NULL)
		return resp_fail(r, HPOOL_E_TYPE_ERROR, "buffer is NULL");
	rc = resp_fill(r, buf, amt, mode, nread);
	if (rc == HPOOL_OK || (rc == HPOOL_E_INCOMPLETE_READ &&
	    !r->chunked))
		if (r->pylen >= 0)
			r->pylen -= (int64_t)*nread;
	if (rc == HPOOL_OK) {
		if (r->ended && r->chunk_off == r->chunk_len) {
			r->closed = 1;
			/* Python's read1() closes only at EOF or a chunked
			 * body's last chunk, never at Content-Length's end */
			if (mode == RD_ONE && r->pylen >= 0)
				r->py_open = 1;
		}
		return HPOOL_OK;
	}
	if (mode == RD_STREAM && *nread > 0) {
		/* read() in pieces: the bytes, then read()'s exception. */
		r->pending = 1;
		r->pending_err = r->err;
		errfmt_clear(&r->err);
		return HPOOL_OK;
	}
	if (mode == RD_STREAM) {
		r->closed = 1;
		return rc;
	}
	if (rc == HPOOL_E_INCOMPLETE_READ && r->chunked) {
		r->closed = 1;
		/* readline() is IOBase's there: read(1) raises, and the
		 * line gathered so far is dropped. */
		if (line)
			*nread = 0;
		r->err.partial = *nread;
		r->err.expected = -1;
		snprintf(r->err.message, sizeof(r->err.message),
		    "IncompleteRead(%zu bytes read)", *nread);
		return resp_fail_err(r, &r->err);
	}
	if (rc == HPOOL_E_INCOMPLETE_READ && *nread == 0) {
		errfmt_clear(&r->err);
		r->closed = 1;
		return HPOOL_OK;
	}
	if (rc == HPOOL_E_INCOMPLETE_READ && *nread > 0) {
		/* The bytes now; b'' (and the end) on the next call. */
		r->pending = 1;
		r->pending_err = r->err;
		errfmt_clear(&r->err);
		return HPOOL_OK;
	}
	*nread = 0;
	r->closed = 1;
	/* http.client closes its file only on IncompleteRead. */
	r->err_open = rc != HPOOL_E_INCOMPLETE_READ;
	return rc;
}

int
hpool_response_read(hpool_response *r, void *buf, size_t amt,
    size_t *nread)
{
	return resp_read_some(r, buf, amt, RD_AMT, nread);
}

int
hpool_response_read_stream(hpool_response *r, void *buf, size_t cap,
    size_t *nread)
{
	return resp_read_some(r, buf, cap, RD_STREAM, nread);
}

int
hpool_response_read1(hpool_response *r, void *buf, size_t amt,
    size_t *nread)
{
	return resp_read_some(r, buf, amt, RD_ONE, nread);
}

int
hpool_response_ready(const hpool_response *r)
{
	/* read1() waits for hpoold only when nothing is buffered here and
	 * the body is still open */
	if (r->pending || r->closed || r->ended || r->head_method ||
	    r->chunk_off < r->chunk_len || r->link == NULL)
		return 1;
	return link_has_frame(r->link);
}

int
hpool_response_readinto(hpool_response *r, void *buf, size_t len,
    size_t *nread)
{
	return resp_read_some(r, buf, len, RD_AMT, nread);
}

int
hpool_response_readline(hpool_response *r, void *buf, size_t limit,
    size_t *nread)
{
	return resp_read_some(r, buf, limit, RD_LINE, nread);
}

int
hpool_response_readline_alloc(hpool_response *r, long limit, char **line,
    size_t *len)
{
	char *buf = NULL, *nb;
	size_t cap = 0, have = 0, want, got;
	int rc = HPOOL_OK;

	*line = NULL;
	*len = 0;
	for (;;) {
		if (cap - have < 2) {
			cap = cap ? cap * 2 : 256;
			if ((nb = realloc(buf, cap)) == NULL) {
				free(buf);
				return resp_fail(r, HPOOL_E_MEMORY,
				    "out of memory");
			}
			buf = nb;
		}
		want = cap - have - 1;
		if (limit >= 0 && want > (size_t)limit - have)
			want = (size_t)limit - have;
		if (want == 0)
			break;
		if ((rc = resp_read_some(r, buf + have, want, RD_LINE, &got)) !=
		    HPOOL_OK) {
			free(buf);
			return rc;
		}
		have += got;
		if (got == 0 || buf[have - 1] == '\n')
			break;
	}
	buf[have] = '\0';
	*line = buf;
	*len = have;
	return HPOOL_OK;
}

int
hpool_response_next_line(hpool_response *r, char **line, size_t *len)
{
	int rc;

	if ((rc = hpool_response_readline_alloc(r, -1, line, len)) !=
	    HPOOL_OK)
		return rc;
	if (*len == 0) {
		/* StopIteration */
		free(*line);
		*line = NULL;
	}
	return HPOOL_OK;
}

int
hpool_response_readall(hpool_response *r, char **body, size_t *len)
{
	char *buf = NULL, *nb;
	size_t cap = 0, have = 0, got;
	int rc = HPOOL_OK;

	*body = NULL;
	*len = 0;
	errfmt_clear(&r->err);
	if (r->head_method)
		hpool_response_close(r);
	if (r->err_open && r->pylen > 0) {
		/* A read() after a reset: _safe_read() finds the end. */
		r->err_open = 0;
		resp_fail(r, HPOOL_E_INCOMPLETE_READ, "IncompleteRead(0 bytes "
		    "read, %lld more expected)", (long long)r->pylen);
		r->err.expected = r->pylen;
		return resp_fail_err(r, &r->err);
	}
	for (;;) {
		if (cap - have < 2) {
			cap = cap ? cap * 2 : 16384;
			if (r->left > 0 && cap < (uint64_t)r->left + 1 &&
			    (uint64_t)r->left < SIZE_MAX / 2)
				cap = (size_t)r->left + 1;
			if ((nb = realloc(buf, cap)) == NULL) {
				free(buf);
				hpool_response_close(r);
				return resp_fail(r, HPOOL_E_MEMORY,
				    "out of memory");
			}
			buf = nb;
		}
		if (r->pending) {
			r->pending = 0;
			r->err = r->pending_err;
			rc = r->err.code;
			break;
		}
		if (r->closed)
			break;
		rc = resp_fill(r, (uint8_t *)buf + have, cap - have - 1, 0,
		    &got);
		have += got;
		if (rc != HPOOL_OK || (got == 0 && r->ended))
			break;
	}
	r->closed = 1;
	r->py_open = 0;
	buf[have] = '\0';
	if (rc == HPOOL_OK && r->pylen > 0)
		r->pylen = 0;
	if (rc != HPOOL_OK && rc != HPOOL_E_INCOMPLETE_READ)
		r->err_open = 1;
	if (rc == HPOOL_E_INCOMPLETE_READ) {
		/* IncompleteRead.partial is what this read() got. */
		r->err.partial = have;
		if (r->err.expected >= 0)
			snprintf(r->err.message, sizeof(r->err.message),
			    "IncompleteRead(%zu bytes read, %lld more "
			    "expected)", have, (long long)r->err.expected);
		else
			snprintf(r->err.message, sizeof(r->err.message),
			    "IncompleteRead(%zu bytes read)", have);
		resp_fail_err(r, &r->err);
		*body = buf;
		*len = have;
		return rc;
	}
	if (rc != HPOOL_OK) {
		free(buf);
		return resp_fail_err(r, &r->err);
	}
	*body = buf;
	*len = have;
	return HPOOL_OK;
}

/* Read and drop the rest of the response to keep the session in step. */
static void
resp_drain(hpool_response *r)
{
	const uint8_t *p;
	uint8_t type;
	size_t len;

	while (!r->ended) {
		if (resp_frame(r, &type, &p, &len) != HPOOL_OK)
			return;
		if (type == PROTO_RESP_BODY)
			continue;
		if (type == PROTO_RESP_END)
			resp_on_end(r, p, len);
		else if (type == PROTO_ERROR)
			resp_on_error(r, p, len);
		else {
			link_protocol_error(r->link, &r->err,
			    "unexpected %s frame in a response body",
			    proto_type_name(type));
			resp_release(r);
		}
	}
}

void
hpool_response_close(hpool_response *r)
{
	if (r == NULL)
		return;
	r->err_open = 0;
	r->py_open = 0;
	if (r->closed)
		return;
	if (!r->ended && r->link != NULL) {
		if (r->owns_link)
			resp_release(r);
		else if ((r->left >= 0 && r->left <= (int64_t)DRAIN_MAX) ||
		    r->link->inflight > 1)
			resp_drain(r);
		else {
			/* The conn sees the dead session and opens another. */
			link_close(r->link);
			resp_release(r);
		}
	}
	r->chunk_off = r->chunk_len = 0;
	r->pending = 0;
	r->closed = 1;
	r->err_open = 0;
}

void
hpool_response_free(hpool_response *r)
{
	if (r == NULL)
		return;
	hpool_response_close(r);
	if (r->conn != NULL)
		conn_forget_response(r->conn, r);
	msg_free_joined(r);
	free(r->chunk);
	free(r->headers);
	free(r->reason);
	free(r);
}

int
hpool_response_status(const hpool_response *r)
{
	return r->status;
}

const char *
hpool_response_reason(const hpool_response *r)
{
	return r->reason;
}

int
hpool_response_version(const hpool_response *r)
{
	return r->version;
}

int
hpool_response_closed(const hpool_response *r)
{
	return r->closed;
}

int
hpool_response_isclosed(const hpool_response *r)
{
	return r->closed && !r->err_open && !r->py_open;
}

int
hpool_response_getcode(const hpool_response *r)
{
	return r->status;
}

/* Python's length counts down as the body is read; bytes we hold but
 * have not handed out are still to read. */
int64_t
hpool_response_length(const hpool_response *r)
{
	return r->pylen;
}

int
hpool_response_chunked(const hpool_response *r)
{
	return r->chunked;
}

int
hpool_response_will_close(const hpool_response *r)
{
	return r->will_close;
}

int
hpool_response_reused(const hpool_response *r)
{
	return r->end_flags < 0 ? -1 : (r->end_flags & PROTO_END_REUSED) != 0;
}

int
hpool_response_pooled(const hpool_response *r)
{
	return r->end_flags < 0 ? -1 : (r->end_flags & PROTO_END_POOLED) != 0;
}

int
hpool_response_debuglevel(const hpool_response *r)
{
	return r->debuglevel;
}

void
hpool_response_set_debuglevel(hpool_response *r, int level)
{
	r->debuglevel = level;
}

int
hpool_response_fileno(const hpool_response *r)
{
	if (r->closed || r->link == NULL || !link_alive(r->link))
		return -1;
	return r->link->fd;
}

const struct hpool_error *
hpool_response_error(const hpool_response *r)
{
	return &r->err;
}
