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

/* A getheader() result for a repeated header, kept until free. */
struct resp_joined {
	struct resp_joined *next;
	char		*name;
	char		*value;
};

static int	resp_fail(hpool_response *, int code, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));
static int	resp_fail_err(hpool_response *, const struct hpool_error *);
static void	resp_release(hpool_response *);
static int	resp_frame(hpool_response *, uint8_t *type,
		    const uint8_t **p, size_t *len);
static int	resp_on_end(hpool_response *, const uint8_t *, size_t);
static int	resp_on_error(hpool_response *, const uint8_t *, size_t);
static int	resp_fill(hpool_response *, uint8_t *, size_t, size_t *);
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
	r->conn = conn;
	r->link = l;
	r->owns_link = owns_link;
	r->status = rh->status;
	r->version = rh->version;
	r->will_close = (rh->flags & PROTO_RESP_WILL_CLOSE) != 0;
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

	if (proto_dec_error(p, len, &pe) == -1) {
		link_protocol_error(r->link, &r->err,
		    "malformed ERROR frame from hpoold");
		resp_release(r);
		return resp_fail_err(r, &r->err);
	}
	errfmt_from_frame(&r->err, &pe);
	r->link->inflight--;
	if (r->err.code == HPOOL_E_PROTOCOL)
		link_close(r->link);	/* the daemon ends the session too */
	resp_release(r);
	return resp_fail_err(r, &r->err);
}

/*
 * Copy up to amt body bytes into buf, reading frames as needed, like a
 * buffered read(amt): short only at the end of the body. An error after
 * some bytes were copied waits in r->pending for the next call.
 */
static int
resp_fill(hpool_response *r, uint8_t *buf, size_t amt, size_t *got)
{
	const uint8_t *p;
	uint8_t type;
	size_t len, n;
	int rc = HPOOL_OK;

	*got = 0;
	while (*got < amt) {
		if (r->chunk_off < r->chunk_len) {
			n = r->chunk_len - r->chunk_off;
			if (n > amt - *got)
				n = amt - *got;
			memcpy(buf + *got, r->chunk + r->chunk_off, n);
			r->chunk_off += n;
			*got += n;
			continue;
		}
		if (r->ended || (r->left == 0 && *got > 0))
			break;
		if ((rc = resp_frame(r, &type, &p, &len)) != HPOOL_OK)
			break;
		if (type == PROTO_RESP_BODY) {
			if (r->left >= 0 && (uint64_t)len > (uint64_t)r->left) {
				rc = link_protocol_error(r->link, &r->err,
				    "hpoold sent more body than the %lld "
				    "bytes announced", (long long)r->length);
				resp_release(r);
				resp_fail_err(r, &r->err);
				break;
			}
			r->received += len;
			if (r->left >= 0)
				r->left -= (int64_t)len;
			n = len < amt - *got ? len : amt - *got;
			memcpy(buf + *got, p, n);
			*got += n;
			if (n < len) {
				if (r->chunk == NULL &&
				    (r->chunk = malloc(PROTO_MAX_BODY_CHUNK)) ==
				    NULL) {
					link_close(r->link);
					resp_release(r);
					rc = resp_fail(r, HPOOL_E_MEMORY,
					    "out of memory");
					break;
				}
				/* Frames from proto never exceed the chunk. */
				if (len - n > PROTO_MAX_BODY_CHUNK) {
					rc = link_protocol_error(r->link,
					    &r->err, "RESP_BODY frame of %zu "
					    "bytes exceeds %u", len,
					    PROTO_MAX_BODY_CHUNK);
					resp_release(r);
					resp_fail_err(r, &r->err);
					break;
				}
				memcpy(r->chunk, p + n, len - n);
				r->chunk_off = 0;
				r->chunk_len = len - n;
			}
		} else if (type == PROTO_RESP_END) {
			rc = resp_on_end(r, p, len);
			break;
		} else if (type == PROTO_ERROR) {
			rc = resp_on_error(r, p, len);
			break;
		} else {
			rc = link_protocol_error(r->link, &r->err,
			    "unexpected %s frame in a response body",
			    proto_type_name(type));
			resp_release(r);
			resp_fail_err(r, &r->err);
			break;
		}
	}
	if (rc == HPOOL_OK && !r->ended && r->left == 0 &&
	    r->chunk_off == r->chunk_len) {
		/* All announced bytes are in: http.client closes here. */
		if ((rc = resp_frame(r, &type, &p, &len)) == HPOOL_OK) {
			if (type == PROTO_RESP_END)
				rc = resp_on_end(r, p, len);
			else if (type == PROTO_ERROR)
				rc = resp_on_error(r, p, len);
			else {
				rc = link_protocol_error(r->link, &r->err,
				    "expected RESP_END after %lld body bytes, "
				    "got %s", (long long)r->length,
				    proto_type_name(type));
				resp_release(r);
				resp_fail_err(r, &r->err);
			}
		}
	}
	if (rc != HPOOL_OK && *got > 0) {
		/* Hand out the bytes now, the error on the next call. */
		r->pending = 1;
		r->pending_err = r->err;
		rc = HPOOL_OK;
	}
	if (r->ended && r->chunk_off == r->chunk_len && !r->pending)
		r->closed = 1;
	if (rc != HPOOL_OK)
		r->closed = 1;
	return rc;
}

int
hpool_response_read(hpool_response *r, void *buf, size_t amt,
    size_t *nread)
{
	*nread = 0;
	errfmt_clear(&r->err);
	if (r->pending) {
		r->pending = 0;
		r->closed = 1;
		return resp_fail_err(r, &r->pending_err);
	}
	if (r->closed)
		return HPOOL_OK;
	if (r->head_method) {
		hpool_response_close(r);
		return HPOOL_OK;
	}
	if (amt == 0)
		return HPOOL_OK;
	if (buf == NULL)
		return resp_fail(r, HPOOL_E_TYPE_ERROR, "buffer is NULL");
	return resp_fill(r, buf, amt, nread);
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
	if (r->pending) {
		r->pending = 0;
		r->closed = 1;
		return resp_fail_err(r, &r->pending_err);
	}
	if (r->head_method)
		hpool_response_close(r);
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
		if (r->closed)
			break;
		if (r->pending) {
			r->pending = 0;
			r->closed = 1;
			rc = resp_fail_err(r, &r->pending_err);
			break;
		}
		if ((rc = resp_fill(r, (uint8_t *)buf + have, cap - have - 1,
		    &got)) != HPOOL_OK)
			break;
		have += got;
		if (got == 0 && r->closed)
			break;
	}
	buf[have] = '\0';
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
		return rc;
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
	if (r == NULL || r->closed)
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
}

void
hpool_response_free(hpool_response *r)
{
	struct resp_joined *j, *next;

	if (r == NULL)
		return;
	hpool_response_close(r);
	if (r->conn != NULL)
		conn_forget_response(r->conn, r);
	for (j = r->joined; j != NULL; j = next) {
		next = j->next;
		free(j->name);
		free(j->value);
		free(j);
	}
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

int64_t
hpool_response_length(const hpool_response *r)
{
	return r->length;
}

const struct hpool_error *
hpool_response_error(const hpool_response *r)
{
	return &r->err;
}

const char *
hpool_response_getheader(hpool_response *r, const char *name,
    const char *dflt)
{
	struct resp_joined *j;
	size_t i, n = 0, total = 0, first = 0;
	char *v;

	for (i = 0; i < r->nheaders; i++)
		if (strcasecmp(r->headers[i].name, name) == 0) {
			if (n++ == 0)
				first = i;
			total += strlen(r->headers[i].value) + 2;
		}
	if (n == 0)
		return dflt;
	if (n == 1)
		return r->headers[first].value;
	for (j = r->joined; j != NULL; j = j->next)
		if (strcasecmp(j->name, name) == 0)
			return j->value;
	if ((j = calloc(1, sizeof(*j))) == NULL ||
	    (j->name = strdup(name)) == NULL ||
	    (j->value = v = malloc(total + 1)) == NULL) {
		if (j != NULL)
			free(j->name);
		free(j);
		return r->headers[first].value;	/* best we can do */
	}
	*v = '\0';
	for (i = 0; i < r->nheaders; i++)
		if (strcasecmp(r->headers[i].name, name) == 0) {
			if (v != j->value) {
				memcpy(v, ", ", 2);
				v += 2;
			}
			n = strlen(r->headers[i].value);
			memcpy(v, r->headers[i].value, n);
			v += n;
		}
	*v = '\0';
	j->next = r->joined;
	r->joined = j;
	return j->value;
}

size_t
hpool_response_getheaders(const hpool_response *r,
    const struct hpool_header **headers)
{
	*headers = r->headers;
	return r->nheaders;
}
