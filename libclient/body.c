/*
 * body.c: owns request() and request bodies: Content-Length or chunked
 * as http.client chooses, str bodies encoded to ISO-8859-1 with Python's
 * error, files streamed from a descriptor, iterables from a callback.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client.h"
#include "link.h"

/* http.client's blocksize: a file is read (and debug-printed) so. */
#define FILE_BLOCK	8192
/* A file is read this much at a time (a few blocks, one frame). */
#define FILE_READ	PROTO_MAX_BODY_CHUNK
/* repr() of the characters Python names in its message, cut at 20. */
#define REPR_CUT	20

/* _METHODS_EXPECTING_BODY: they get Content-Length: 0 without a body. */
static const char *const methods_expecting_body[] = { "PATCH", "POST", "PUT" };

struct latin1 {
	char		*p;		/* encoded bytes */
	size_t		 len;
	size_t		 nchars;	/* len(str) */
};

static int	utf8_next(const unsigned char *, size_t, size_t *, uint32_t *);
static int	text_chars(const char *, size_t, size_t *);
static int	text_encode(hpool_conn *, const char *, size_t,
		    struct latin1 *);
static void	put_cp_escape(char *, size_t, uint32_t);
static void	put_cp_repr(char *, size_t, const char *, size_t, size_t,
		    size_t);
static int	cp_printable(uint32_t);
static int	send_bytes(hpool_conn *, const void *, size_t, int);
static int	send_fd(hpool_conn *, int, int);
static int	send_iter(hpool_conn *, hpool_body_next, void *, int);

/* One UTF-8 sequence at s[*i] (strict: no overlong, no surrogate). */
static int
utf8_next(const unsigned char *s, size_t len, size_t *i, uint32_t *cp)
{
	unsigned char c = s[*i];
	size_t n, k;
	uint32_t v, min;

	if (c < 0x80) {
		*cp = c;
		(*i)++;
		return 0;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 1;
		v = c & 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 2;
		v = c & 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 3;
		v = c & 0x07;
		min = 0x10000;
	} else
		return -1;
	if (len - *i <= n)
		return -1;
	for (k = 1; k <= n; k++) {
		if ((s[*i + k] & 0xc0) != 0x80)
			return -1;
		v = v << 6 | (s[*i + k] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return -1;
	*cp = v;
	*i += n + 1;
	return 0;
}

/* len(str) of UTF-8 text; -1 when it is not UTF-8. */
static int
text_chars(const char *s, size_t len, size_t *nchars)
{
	size_t i = 0, n = 0;
	uint32_t cp;

	while (i < len) {
		if (utf8_next((const unsigned char *)s, len, &i, &cp) == -1)
			return -1;
		n++;
	}
	*nchars = n;
	return 0;
}

/* str.isprintable() approximated off the Latin-1 range: the separators,
 * format and private-use characters Python escapes in repr(). */
static int
cp_printable(uint32_t cp)
{
	if (cp <= 0xff)
		return !(cp < 0x20 || (cp >= 0x7f && cp <= 0xa0) ||
		    cp == 0xad);
	if ((cp >= 0x2000 && cp <= 0x200f) || (cp >= 0x2028 &&
	    cp <= 0x202f) || (cp >= 0x205f && cp <= 0x206f) ||
	    cp == 0x1680 || cp == 0x3000 || cp == 0xfeff ||
	    (cp >= 0xfff0 && cp <= 0xfffb) || cp == 0xfffe || cp == 0xffff ||
	    (cp >= 0xe000 && cp <= 0xf8ff) || cp >= 0xf0000)
		return 0;
	return 1;
}

/* '\u20ac' as UnicodeEncodeError names one character. */
static void
put_cp_escape(char *out, size_t cap, uint32_t cp)
{
	if (cp <= 0xff)
		snprintf(out, cap, "\\x%02x", (unsigned)cp);
	else if (cp <= 0xffff)
		snprintf(out, cap, "\\u%04x", (unsigned)cp);
	else
		snprintf(out, cap, "\\U%08x", (unsigned)cp);
}

/*
 * "%.20r" of the characters from index a to b of the text: repr() with
 * printable characters as they are (UTF-8 here), cut to 20 characters.
 */
static void
put_cp_repr(char *out, size_t cap, const char *s, size_t len, size_t a,
    size_t b)
{
	char piece[16], rep[512];
	size_t i = 0, idx = 0, o = 0, chars = 0, start, k;
	uint32_t cp;

	rep[o++] = '\'';
	while (i < len && idx < b) {
		start = i;
		if (utf8_next((const unsigned char *)s, len, &i, &cp) == -1)
			break;
		if (idx++ < a)
			continue;
		if (cp == '\'' || cp == '\\')
			snprintf(piece, sizeof(piece), "\\%c", (char)cp);
		else if (cp_printable(cp)) {
			memcpy(piece, s + start, i - start);
			piece[i - start] = '\0';
		} else
			put_cp_escape(piece, sizeof(piece), cp);
		if (o + strlen(piece) + 2 >= sizeof(rep))
			break;
		memcpy(rep + o, piece, strlen(piece));
		o += strlen(piece);
	}
	rep[o++] = '\'';
	rep[o] = '\0';
	/* %.20r: the repr cut to 20 characters (not bytes). */
	for (k = 0; rep[k] != '\0' && chars < REPR_CUT; chars++) {
		k++;
		while ((rep[k] & 0xc0) == 0x80)
			k++;
	}
	snprintf(out, cap, "%.*s", (int)k, rep);
}

/*
 * _encode(body, 'body'): the text as ISO-8859-1, or UnicodeEncodeError
 * naming the first run of characters that do not fit, worded as
 * Python's message.
 */
static int
text_encode(hpool_conn *c, const char *s, size_t len, struct latin1 *out)
{
	const unsigned char *u = (const unsigned char *)s;
	char what[48], rep[32];
	size_t i = 0, idx = 0, bad_a = 0, bad_b = 0, o = 0;
	uint32_t cp, first_cp = 0;
	int bad = 0;

	if ((out->p = malloc(len + 1)) == NULL)
		return errfmt_set(&c->err, HPOOL_E_MEMORY, "out of memory");
	while (i < len) {
		if (utf8_next(u, len, &i, &cp) == -1) {
			free(out->p);
			out->p = NULL;
			return errfmt_set(&c->err, HPOOL_E_VALUE_ERROR,
			    "body is not valid UTF-8 text");
		}
		if (cp > 0xff) {
			if (!bad) {
				bad = 1;
				first_cp = cp;
				bad_a = idx;
			}
			if (bad == 1)
				bad_b = idx + 1;
		} else {
			if (bad == 1)
				bad = 2;	/* the first run ended */
			out->p[o++] = (char)cp;
		}
		idx++;
	}
	out->len = o;
	out->nchars = idx;
	if (!bad)
		return HPOOL_OK;
	free(out->p);
	out->p = NULL;
	if (bad_b - bad_a == 1) {
		put_cp_escape(rep, sizeof(rep), first_cp);
		/* "character '\U0001f600'" fits in what */
		snprintf(what, sizeof(what), "character '%.12s'", rep);
		snprintf(rep, sizeof(rep), "position %zu", bad_a);
	} else {
		snprintf(what, sizeof(what), "characters");
		snprintf(rep, sizeof(rep), "position %zu-%zu", bad_a,
		    bad_b - 1);
	}
	{
		char cut[128];

		put_cp_repr(cut, sizeof(cut), s, len, bad_a, bad_b);
		return errfmt_set(&c->err, HPOOL_E_UNICODE_ENCODE,
		    "'latin-1' codec can't encode %s in %s: Body (%s) is not "
		    "valid Latin-1. Use body.encode('utf-8') if you want to "
		    "send it encoded in UTF-8.", what, rep, cut);
	}
}

/* bytes: one `send:` line, as http.client sends them in one call. */
static int
send_bytes(hpool_conn *c, const void *p, size_t len, int chunked)
{
	if (c->debuglevel > 0) {
		if (len == 0 && chunked >= 0)
			debug_note("Zero length chunk ignored");
		else
			debug_send_body(p, len, chunked > 0);
	}
	if (len == 0)
		return HPOOL_OK;
	return conn_write_body(c, p, len);
}

/*
 * A file, from its offset to its end, FILE_READ bytes at a time: at
 * most one frame of it is in memory.
 */
static int
send_fd(hpool_conn *c, int fd, int chunked)
{
	char *buf;
	ssize_t n;
	size_t off;
	int rc = HPOOL_OK;

	if (c->debuglevel > 0 && chunked >= 0)
		debug_note("reading a readable");
	if ((buf = malloc(FILE_READ)) == NULL)
		return errfmt_set(&c->err, HPOOL_E_MEMORY, "out of memory");
	for (;;) {
		n = read(fd, buf, FILE_READ);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			rc = errfmt_errno(&c->err, hpool_error_from_errno(errno),
			    errno, "read from the body file");
			break;
		}
		if (n == 0)
			break;
		/* Python reads blocksize bytes per send(). */
		for (off = 0; c->debuglevel > 0 && chunked >= 0 &&
		    off < (size_t)n; off += FILE_BLOCK)
			debug_send_body(buf + off, (size_t)n - off < FILE_BLOCK ?
			    (size_t)n - off : FILE_BLOCK, chunked > 0);
		if ((rc = conn_write_body(c, buf, (size_t)n)) != HPOOL_OK)
			break;
	}
	free(buf);
	return rc;
}

/* An iterable: each chunk as it comes; empty ones are skipped. */
static int
send_iter(hpool_conn *c, hpool_body_next next, void *arg, int chunked)
{
	const void *p;
	size_t len;
	int rc;

	for (;;) {
		p = NULL;
		len = 0;
		if ((rc = next(arg, &p, &len)) != HPOOL_OK) {
			if (c->err.code == HPOOL_OK)
				errfmt_set(&c->err, rc, "the body iterator failed "
				    "(%s)", hpool_error_name(rc));
			return rc;
		}
		if (p == NULL)
			return HPOOL_OK;
		if ((rc = send_bytes(c, p, len, chunked)) != HPOOL_OK)
			return rc;
	}
}

/*
 * The body after the head. chunked: 1 frames debug output as chunks
 * (encode_chunked), 0 not, -1 for send(), which prints differently. A
 * failure half way ends the session: the request cannot be completed.
 */
int
body_send(hpool_conn *c, const struct hpool_body *b, int chunked)
{
	int rc = HPOOL_OK, started = 0;

	switch (b->kind) {
	case HPOOL_BODY_BYTES:
		if (chunked < 0 && c->debuglevel > 0) {
			debug_send_body(b->data, b->len, 0);
			return b->len > 0 ? conn_write_body(c, b->data, b->len) :
			    HPOOL_OK;
		}
		return send_bytes(c, b->data, b->len, chunked);
	case HPOOL_BODY_FD:
		if (chunked < 0 && c->debuglevel > 0) {
			printf("send: <file descriptor %d>\n", b->fd);
			debug_note("sending a readable");
		}
		started = 1;
		rc = send_fd(c, b->fd, chunked);
		break;
	case HPOOL_BODY_ITER:
		if (chunked < 0 && c->debuglevel > 0)
			debug_note("send: <iterable>");
		started = 1;
		rc = send_iter(c, b->next, b->arg, chunked);
		break;
	default:
		return HPOOL_OK;
	}
	if (rc != HPOOL_OK && started)
		conn_abort_request(c);
	return rc;
}

int
hpool_conn_request(hpool_conn *c, const char *method, const char *url,
    const void *body, size_t body_len, const struct hpool_header *headers,
    size_t nheaders)
{
	struct hpool_body b = HPOOL_BODY_INIT;

	if (body != NULL) {
		b.kind = HPOOL_BODY_BYTES;
		b.data = body;
		b.len = body_len;
	}
	return hpool_conn_request_body(c, method, url, &b, headers, nheaders,
	    0);
}

int
hpool_conn_request_text(hpool_conn *c, const char *method, const char *url,
    const char *text, const struct hpool_header *headers, size_t nheaders)
{
	struct hpool_body b = HPOOL_BODY_INIT;

	if (text != NULL) {
		b.kind = HPOOL_BODY_TEXT;
		b.data = text;
		b.len = HPOOL_TEXT_NUL;
	}
	return hpool_conn_request_body(c, method, url, &b, headers, nheaders,
	    0);
}

int
hpool_conn_request_fd(hpool_conn *c, const char *method, const char *url,
    int fd, const struct hpool_header *headers, size_t nheaders)
{
	struct hpool_body b = HPOOL_BODY_INIT;

	b.kind = HPOOL_BODY_FD;
	b.fd = fd;
	return hpool_conn_request_body(c, method, url, &b, headers, nheaders,
	    0);
}

int
hpool_conn_request_iter(hpool_conn *c, const char *method, const char *url,
    hpool_body_next next, void *arg, const struct hpool_header *headers,
    size_t nheaders)
{
	struct hpool_body b = HPOOL_BODY_INIT;

	b.kind = HPOOL_BODY_ITER;
	b.next = next;
	b.arg = arg;
	return hpool_conn_request_body(c, method, url, &b, headers, nheaders,
	    0);
}

/*
 * _send_request(): Host and Accept-Encoding skipped when the caller
 * gives them; then Content-Length from the body (_get_content_length),
 * or chunked for a body whose size is unknown, unless the caller framed
 * it; the caller's headers; a str body encoded; endheaders().
 */
int
hpool_conn_request_body(hpool_conn *c, const char *method, const char *url,
    const struct hpool_body *body, const struct hpool_header *headers,
    size_t nheaders, int encode_chunked)
{
	static const struct hpool_body none = HPOOL_BODY_INIT;
	struct hpool_body b;
	struct latin1 enc = { NULL, 0, 0 };
	struct stat st;
	char num[32];
	size_t i, tlen = 0;
	int skip_host = 0, skip_ae = 0, has_cl = 0, has_te = 0, rc;
	int64_t cl = -1;
	off_t pos;

	b = body != NULL ? *body : none;
	if (b.kind == HPOOL_BODY_TEXT) {
		if (b.data == NULL)
			return errfmt_set(&c->err, HPOOL_E_TYPE_ERROR,
			    "text body is NULL");
		tlen = b.len == HPOOL_TEXT_NUL ? strlen(b.data) : b.len;
	}
	for (i = 0; i < nheaders; i++) {
		if (headers[i].name == NULL)
			continue;	/* putheader reports it */
		if (strcasecmp(headers[i].name, "host") == 0)
			skip_host = 1;
		else if (strcasecmp(headers[i].name, "accept-encoding") == 0)
			skip_ae = 1;
		else if (strcasecmp(headers[i].name, "content-length") == 0)
			has_cl = 1;
		else if (strcasecmp(headers[i].name, "transfer-encoding") == 0)
			has_te = 1;
	}
	if ((rc = hpool_conn_putrequest(c, method, url, skip_host, skip_ae)) !=
	    HPOOL_OK)
		return rc;
	if (has_cl)
		encode_chunked = 0;
	else if (!has_te) {
		encode_chunked = 0;
		switch (b.kind) {
		case HPOOL_BODY_NONE:
			for (i = 0; i < sizeof(methods_expecting_body) /
			    sizeof(methods_expecting_body[0]); i++)
				if (strcasecmp(method,
				    methods_expecting_body[i]) == 0)
					cl = 0;
			break;
		case HPOOL_BODY_BYTES:
			cl = (int64_t)b.len;
			break;
		case HPOOL_BODY_TEXT:
			/* len(str), counted before encoding, as Python. */
			if (text_chars(b.data, tlen, &i) == -1)
				return errfmt_set(&c->err, HPOOL_E_VALUE_ERROR,
				    "body is not valid UTF-8 text");
			cl = (int64_t)i;
			break;
		case HPOOL_BODY_FD:
			/* The reference documentation: the length from stat. */
			if (fstat(b.fd, &st) == -1)
				return errfmt_errno(&c->err,
				    hpool_error_from_errno(errno), errno,
				    "fstat of the body file");
			if (S_ISREG(st.st_mode) &&
			    (pos = lseek(b.fd, 0, SEEK_CUR)) != -1)
				cl = pos < st.st_size ?
				    (int64_t)(st.st_size - pos) : 0;
			break;
		default:
			break;
		}
		if (cl < 0 && b.kind != HPOOL_BODY_NONE) {
			if (c->debuglevel > 0)
				printf("Unable to determine size of %s\n",
				    b.kind == HPOOL_BODY_FD ?
				    "<file descriptor>" : "<iterable>");
			encode_chunked = 1;
			if ((rc = hpool_conn_putheader(c, "Transfer-Encoding",
			    "chunked")) != HPOOL_OK)
				return rc;
		} else if (cl >= 0) {
			snprintf(num, sizeof(num), "%lld", (long long)cl);
			if ((rc = hpool_conn_putheader(c, "Content-Length",
			    num)) != HPOOL_OK)
				return rc;
		}
	}
	for (i = 0; i < nheaders; i++)
		if ((rc = hpool_conn_putheader(c, headers[i].name,
		    headers[i].value)) != HPOOL_OK)
			return rc;
	if (b.kind == HPOOL_BODY_TEXT) {
		/* After the headers: Python encodes the str last. */
		if ((rc = text_encode(c, b.data, tlen, &enc)) != HPOOL_OK)
			return rc;
		b.kind = HPOOL_BODY_BYTES;
		b.data = enc.p;
		b.len = enc.len;
	}
	rc = conn_endheaders(c, &b, encode_chunked);
	free(enc.p);
	return rc;
}
