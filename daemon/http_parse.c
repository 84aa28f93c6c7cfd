/* http_parse.c: the HTTP/1.x response parser (head, framing, body), no I/O. */

/*
 * The reference is CPython 3.11's http.client: HTTPResponse.begin() reads
 * lines with readline(_MAXLINE + 1) and hands the header lines to
 * email.parser, whose rules (not RFC 9112's) decide which headers exist
 * and what their values look like. Every odd rule below is one of theirs;
 * hpool's own addition is the reusable flag, cleared whenever the bytes
 * could be framed differently by someone else.
 */

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hpool_error.h"
#include "http_parse.h"

enum line_res {
	LINE_OK,
	LINE_AGAIN,
	LINE_TOOLONG,
};

enum chunk_state {
	CH_SIZE = 0,		/* expecting a chunk-size line */
	CH_DATA,		/* inside chunk data */
	CH_CRLF,		/* the two bytes after chunk data */
	CH_TRAILER,		/* trailer lines after the last chunk */
	CH_TOEOF,		/* negative size: Python reads to EOF */
	CH_DONE,
};

/* int() rejects a base-10 str longer than this (sys.int_info). */
#define PY_INT_MAX_STR_DIGITS	4300

/* Python's message for read(n) with n beyond Py_ssize_t. */
#define PY_OVERFLOW_MSG	"cannot fit 'int' into an index-sized integer"

static int	 readline(const char *, size_t, size_t, int, size_t *);
static int	 py_split_space(unsigned char);
static int	 py_int_space(unsigned char, int);
static int	 py_int(const char *, size_t, int, int *, uint64_t *);
static int	 parse_status_line(const char *, size_t, struct hp_head *,
		    const char **, size_t *, struct hp_error *);
static int	 parse_fields(const char *, const char *, struct hp_head *,
		    struct hp_error *);
static int	 header_re(const char *, size_t);
static size_t	 email_line(const char *, const char *, int *);
static void	 set_framing(struct hp_head *, int);
static int	 token_eq(const char *, size_t, const char *);
static int	 name_eq(const char *, size_t, const char *);
static int	 contains_ci(const char *, size_t, const char *);
static int	 all_digits(const char *, size_t, int);
static int	 canonical_size(const char *, size_t, int *);
static int	 body_chunked(struct hp_body *, const char *, size_t, int,
		    const char **, size_t *, size_t *, struct hp_error *);
static void	 set_error(struct hp_error *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static void	 set_error_latin1(struct hp_error *, int, const char *,
		    size_t);
static void	 set_incomplete(struct hp_error *, uint64_t, int64_t);

/*
 * readline(HP_MAXLINE + 1) at buf[off]: *n is the line's length with its
 * LF. A line is too long when readline would return more than HP_MAXLINE
 * bytes, so HP_MAXLINE counts the LF. At eof a line may lack its LF, or
 * be empty.
 */
static int
readline(const char *buf, size_t len, size_t off, int eof, size_t *n)
{
	size_t avail = len - off, scan;
	const char *nl;

	scan = avail < HP_MAXLINE + 1 ? avail : HP_MAXLINE + 1;
	/* buf may be NULL when nothing is left (end of stream) */
	nl = scan > 0 ? memchr(buf + off, '\n', scan) : NULL;
	if (nl != NULL) {
		*n = (size_t)(nl - (buf + off)) + 1;
		return *n > HP_MAXLINE ? LINE_TOOLONG : LINE_OK;
	}
	if (avail > HP_MAXLINE)
		return LINE_TOOLONG;
	if (!eof)
		return LINE_AGAIN;
	*n = avail;
	return LINE_OK;
}

/* str.split() and str.strip() whitespace, for a latin-1 decoded byte. */
static int
py_split_space(unsigned char c)
{
	return (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x20) ||
	    c == 0x85 || c == 0xa0;
}

/*
 * Whitespace int() strips: ASCII for bytes (base 16 here); a str (base 10
 * here) also loses U+0085 and U+00A0, but not U+001C..U+001F, which
 * str.split() does treat as space.
 */
static int
py_int_space(unsigned char c, int str)
{
	if (c == ' ' || (c >= '\t' && c <= '\r'))
		return 1;
	return str && (c == 0x85 || c == 0xa0);
}

/*
 * int(s) (base 10, s a str) or int(s, 16) (s bytes). Returns -1 where
 * Python raises ValueError; else 0 with the sign in *neg and the
 * magnitude in *mag, saturated at UINT64_MAX.
 */
static int
py_int(const char *s, size_t n, int base, int *neg, uint64_t *mag)
{
	const unsigned char *p = (const unsigned char *)s, *e = p + n;
	uint64_t v = 0;
	size_t ndigits = 0;
	int d, underscore = 0, str = base == 10;

	while (p < e && py_int_space(*p, str))
		p++;
	while (e > p && py_int_space(e[-1], str))
		e--;
	*neg = 0;
	if (p < e && (*p == '+' || *p == '-')) {
		*neg = *p == '-';
		p++;
	}
	if (base == 16 && e - p >= 2 && p[0] == '0' &&
	    (p[1] == 'x' || p[1] == 'X')) {
		p += 2;
		if (p < e && *p == '_')	/* one underscore after the prefix */
			p++;
	}
	if (p == e || *p == '_')
		return -1;
	for (; p < e; p++) {
		if (*p == '_') {
			if (underscore)
				return -1;
			underscore = 1;
			continue;
		}
		if (*p >= '0' && *p <= '9')
			d = *p - '0';
		else if (base == 16 && *p >= 'a' && *p <= 'f')
			d = *p - 'a' + 10;
		else if (base == 16 && *p >= 'A' && *p <= 'F')
			d = *p - 'A' + 10;
		else
			return -1;
		underscore = 0;
		ndigits++;
		if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
			v = UINT64_MAX;
		else
			v = v * (uint64_t)base + (uint64_t)d;
	}
	if (underscore)
		return -1;
	/* The limit guards decimal conversion only; base 16 is exempt. */
	if (base == 10 && ndigits > PY_INT_MAX_STR_DIGITS)
		return -1;
	*mag = v;
	return 0;
}

/*
 * The status line as _read_status() and begin() see it: split(None, 2),
 * version must start "HTTP/", int(status) in 100..999, reason stripped.
 * UnknownProtocol is left to the caller: begin() raises it only for the
 * final (non-100) head.
 */
static int
parse_status_line(const char *line, size_t n, struct hp_head *h,
    const char **vers, size_t *vers_len, struct hp_error *err)
{
	const unsigned char *p = (const unsigned char *)line, *e = p + n;
	const unsigned char *v0, *v1, *s0, *s1, *r0, *r1;
	uint64_t status;
	int neg;

	while (p < e && py_split_space(*p))
		p++;
	v0 = p;
	while (p < e && !py_split_space(*p))
		p++;
	v1 = p;
	while (p < e && py_split_space(*p))
		p++;
	s0 = p;
	while (p < e && !py_split_space(*p))
		p++;
	s1 = p;
	while (p < e && py_split_space(*p))
		p++;
	r0 = p;
	if (s0 == s1)		/* fewer than two words: version is "" */
		goto bad;
	if (r0 == e) {
		/*
		 * Two words: split(None, 1) keeps the status word's trailing
		 * space, which int() must then strip itself.
		 */
		s1 = e;
		r0 = r1 = e;
	} else {
		r1 = e;
		while (r1 > r0 && py_split_space(r1[-1]))
			r1--;
	}
	if (v1 - v0 < 5 || memcmp(v0, "HTTP/", 5) != 0)
		goto bad;
	if (py_int((const char *)s0, (size_t)(s1 - s0), 10, &neg,
	    &status) == -1 || neg || status < 100 || status > 999)
		goto bad;

	h->status = (int)status;
	h->reason = (const char *)r0;
	h->reason_len = (size_t)(r1 - r0);
	*vers = (const char *)v0;
	*vers_len = (size_t)(v1 - v0);
	if ((*vers_len == 8 && memcmp(v0, "HTTP/1.0", 8) == 0) ||
	    (*vers_len == 8 && memcmp(v0, "HTTP/0.9", 8) == 0))
		h->version = 10;
	else if (*vers_len >= 7 && memcmp(v0, "HTTP/1.", 7) == 0)
		h->version = 11;
	else
		h->version = 0;
	return 0;
 bad:
	set_error_latin1(err, HPOOL_E_BAD_STATUS_LINE, line, n);
	return -1;
}

/* email.feedparser's headerRE: ^(From |[\041-\071\073-\176]*:|[\t ]) */
static int
header_re(const char *p, size_t n)
{
	size_t i;
	unsigned char c;

	if (n >= 5 && memcmp(p, "From ", 5) == 0)
		return 1;
	if (n > 0 && (p[0] == ' ' || p[0] == '\t'))
		return 1;
	for (i = 0; i < n; i++) {
		c = (unsigned char)p[i];
		if (c == ':')
			return 1;
		if (c < 0x21 || c > 0x7e)
			return 0;
	}
	return 0;
}

/*
 * Length of the line at p as the email package splits lines: at CRLF, at
 * CR and at LF. *bare_cr: it ended in a CR alone, which http.client's
 * readline does not see as a line end but email does.
 */
static size_t
email_line(const char *p, const char *e, int *bare_cr)
{
	const char *q;

	*bare_cr = 0;
	for (q = p; q < e; q++) {
		if (*q == '\n')
			return (size_t)(q - p) + 1;
		if (*q == '\r') {
			if (q + 1 < e && q[1] == '\n')
				return (size_t)(q - p) + 2;
			*bare_cr = 1;
			return (size_t)(q - p) + 1;
		}
	}
	return (size_t)(e - p);
}

/*
 * The header lines [p, e) as email.parser builds its message from them
 * (compat32 policy): headers end at the first line headerRE rejects;
 * "From " lines, lines starting with ':' and continuation lines with no
 * header before them are dropped; a continuation line is appended to the
 * value with the line break before it, and only trailing CR and LF are
 * stripped from the whole value. So every value is one slice of the
 * input and nothing needs copying.
 */
static int
parse_fields(const char *p, const char *e, struct hp_head *h,
    struct hp_error *err)
{
	struct hp_header *f = NULL;
	const char *colon, *v;
	size_t n, i;
	int bare_cr;

	for (; p < e; p += n) {
		n = email_line(p, e, &bare_cr);
		if (bare_cr)
			h->reusable = 0;
		if (!header_re(p, n)) {
			/* Python stops taking headers here; the rest of the
			 * head is dropped, Content-Length included. */
			h->reusable = 0;
			break;
		}
		if (p[0] == ' ' || p[0] == '\t') {
			/* obs-fold: others may join or split it differently */
			h->reusable = 0;
			if (f != NULL)
				f->value_len = (size_t)(p + n - f->value);
			continue;
		}
		f = NULL;
		colon = memchr(p, ':', n);
		if ((n >= 5 && memcmp(p, "From ", 5) == 0) || colon == p ||
		    colon == NULL) {
			h->reusable = 0;
			continue;
		}
		if (h->nheaders == HP_MAXHEADERS + 1) {
			/*
			 * Only lines split at a bare CR get here; Python would
			 * keep them all, but the array is the cap.
			 */
			set_error(err, HPOOL_E_HTTP_EXCEPTION,
			    "got more than %d headers", HP_MAXHEADERS);
			return -1;
		}
		f = &h->headers[h->nheaders++];
		f->name = p;
		f->name_len = (size_t)(colon - p);
		for (v = colon + 1; v < p + n && (*v == ' ' || *v == '\t'); v++)
			;
		f->value = v;
		f->value_len = (size_t)(p + n - v);
	}
	for (i = 0; i < h->nheaders; i++) {
		f = &h->headers[i];
		while (f->value_len > 0 && (f->value[f->value_len - 1] == '\r' ||
		    f->value[f->value_len - 1] == '\n'))
			f->value_len--;
	}
	return 0;
}

/* ASCII case-insensitive equality with a lowercase token. */
static int
token_eq(const char *s, size_t n, const char *tok)
{
	size_t i;
	unsigned char c;

	if (n != strlen(tok))
		return 0;
	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		if (c != (unsigned char)tok[i])
			return 0;
	}
	return 1;
}

/* ASCII case-insensitive, whatever the locale: header names are ASCII. */
static int
name_eq(const char *s, size_t n, const char *name)
{
	size_t i;
	unsigned char a, c;

	for (i = 0; i < n; i++) {
		a = (unsigned char)s[i];
		c = (unsigned char)name[i];
		if (c == '\0')
			return 0;
		if (a >= 'A' && a <= 'Z')
			a += 'a' - 'A';
		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		if (a != c)
			return 0;
	}
	return name[n] == '\0';
}

/* Python's `tok in s.lower()`: latin-1 lower() maps no byte onto ASCII. */
static int
contains_ci(const char *s, size_t n, const char *tok)
{
	size_t i, k = strlen(tok);

	for (i = 0; i + k <= n; i++)
		if (token_eq(s + i, k, tok))
			return 1;
	return 0;
}

/* Only plain digits (no sign, space or underscore); at least min. */
static int
all_digits(const char *s, size_t n, int min)
{
	size_t i;

	if (n < (size_t)min)
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/*
 * A chunk-size line as RFC 9112 has it: hex digits, then an extension
 * after ';' or the line end. LF alone is accepted and noted in *bare_lf.
 */
static int
canonical_size(const char *s, size_t n, int *bare_lf)
{
	size_t i;

	for (i = 0; i < n && isxdigit((unsigned char)s[i]); i++)
		;
	if (i == 0 || n == 0 || s[n - 1] != '\n')
		return 0;
	if (n < 2 || s[n - 2] != '\r')
		*bare_lf = 1;
	return s[i] == ';' || i == n - 1 || (i == n - 2 && s[i] == '\r');
}

/* begin()'s framing decisions after the headers, and hpool's reuse rule. */
static void
set_framing(struct hp_head *h, int is_head)
{
	const struct hp_header *te, *cl, *conn, *ka, *pconn;
	size_t i, nte = 0, ncl = 0;
	uint64_t mag;
	int neg, chunked, have_length = 0, diff_cl = 0;

	te = hp_head_get(h, "transfer-encoding");
	cl = hp_head_get(h, "content-length");
	conn = hp_head_get(h, "connection");
	for (i = 0; i < h->nheaders; i++) {
		if (token_eq(h->headers[i].name, h->headers[i].name_len,
		    "transfer-encoding"))
			nte++;
		if (token_eq(h->headers[i].name, h->headers[i].name_len,
		    "content-length")) {
			ncl++;
			if (!all_digits(h->headers[i].value,
			    h->headers[i].value_len, 1))
				diff_cl = 1;
		}
	}
	chunked = te != NULL && token_eq(te->value, te->value_len, "chunked");

	if (h->version == 11)
		h->will_close = conn != NULL &&
		    contains_ci(conn->value, conn->value_len, "close");
	else {
		ka = hp_head_get(h, "keep-alive");
		pconn = hp_head_get(h, "proxy-connection");
		h->will_close = !((ka != NULL && ka->value_len > 0) ||
		    (conn != NULL && contains_ci(conn->value, conn->value_len,
		    "keep-alive")) ||
		    (pconn != NULL && contains_ci(pconn->value,
		    pconn->value_len, "keep-alive")));
	}

	h->length = -1;
	if (cl != NULL && cl->value_len > 0 && !chunked &&
	    py_int(cl->value, cl->value_len, 10, &neg, &mag) == 0 &&
	    (!neg || mag == 0)) {
		have_length = 1;
		if (mag > INT64_MAX) {
			h->length = INT64_MAX;
			h->length_overflow = 1;
		} else
			h->length = (int64_t)mag;
	}
	if (h->status == 204 && h->length > 0)
		h->reusable = 0;	/* a 204 that claims a body */
	if (h->status == 204 || h->status == 304 ||
	    (h->status >= 100 && h->status < 200) || is_head) {
		have_length = 1;
		h->length = 0;
		h->length_overflow = 0;
	}
	if (!h->will_close && !chunked && !have_length)
		h->will_close = 1;

	if (is_head)
		h->framing = HP_FRAME_NONE;
	else if (chunked)
		h->framing = HP_FRAME_CHUNKED;
	else if (have_length)
		h->framing = h->length > 0 ? HP_FRAME_LENGTH : HP_FRAME_NONE;
	else
		h->framing = HP_FRAME_CLOSE;

	/*
	 * Python reads a chunked body even after 204, 304 or 1xx; a server
	 * doing that disagrees with everyone else about where it ends.
	 */
	if (chunked && !is_head && (h->status == 204 || h->status == 304 ||
	    h->status < 200))
		h->reusable = 0;
	if (h->will_close || (h->status >= 100 && h->status < 200) ||
	    ncl > 1 || diff_cl || (ncl > 0 && chunked) || nte > 1 ||
	    (te != NULL && !chunked) || h->length_overflow)
		h->reusable = 0;
}

int
hp_head_parse(const char *buf, size_t len, int eof, int is_head,
    struct hp_head *h, size_t *consumed, struct hp_error *err)
{
	char *fold = h->fold;
	size_t fold_cap = h->fold_cap, off, n, hstart, hend, nlines = 0;
	const char *vers;
	size_t vers_len;
	int r;

	memset(h, 0, sizeof(*h));
	h->fold = fold;
	h->fold_cap = fold_cap;
	h->length = -1;
	h->reusable = 1;
	*consumed = 0;

	r = readline(buf, len, 0, eof, &n);
	if (r == LINE_AGAIN)
		return HP_AGAIN;
	if (r == LINE_TOOLONG) {
		set_error(err, HPOOL_E_LINE_TOO_LONG,
		    "got more than %d bytes when reading status line",
		    HP_MAXLINE);
		return HP_ERROR;
	}
	if (n == 0) {
		set_error(err, HPOOL_E_REMOTE_DISCONNECTED,
		    "Remote end closed connection without response");
		return HP_ERROR;
	}
	if (parse_status_line(buf, n, h, &vers, &vers_len, err) == -1)
		return HP_ERROR;
	if (n >= 1 && buf[n - 1] == '\n' && (n < 2 || buf[n - 2] != '\r'))
		h->bare_lf = 1;
	/* Raised before any header is read, so before their errors. */
	if (h->status != 100 && h->version == 0) {
		set_error_latin1(err, HPOOL_E_UNKNOWN_PROTOCOL, vers, vers_len);
		return HP_ERROR;
	}

	/* _read_headers(): the blank line (or EOF) counts as a header. */
	off = hstart = n;
	for (;;) {
		r = readline(buf, len, off, eof, &n);
		if (r == LINE_AGAIN)
			return HP_AGAIN;
		if (r == LINE_TOOLONG) {
			set_error(err, HPOOL_E_LINE_TOO_LONG,
			    "got more than %d bytes when reading header line",
			    HP_MAXLINE);
			return HP_ERROR;
		}
		if (++nlines > HP_MAXHEADERS) {
			set_error(err, HPOOL_E_HTTP_EXCEPTION,
			    "got more than %d headers", HP_MAXHEADERS);
			return HP_ERROR;
		}
		if (n > 0 && buf[off + n - 1] == '\n' &&
		    (n < 2 || buf[off + n - 2] != '\r'))
			h->bare_lf = 1;
		if (n == 0 || (n == 1 && buf[off] == '\n') ||
		    (n == 2 && buf[off] == '\r' && buf[off + 1] == '\n')) {
			hend = off;
			off += n;
			break;
		}
		off += n;
	}
	if (h->status == 100) {
		/* begin() skips its headers unparsed; the caller loops. */
		h->framing = HP_FRAME_NONE;
		h->length = 0;
		*consumed = off;
		return HP_DONE;
	}
	if (parse_fields(buf + hstart, buf + hend, h, err) == -1)
		return HP_ERROR;
	set_framing(h, is_head);
	*consumed = off;
	return HP_DONE;
}

void
hp_head_free(struct hp_head *h)
{
	free(h->fold);
	h->fold = NULL;
	h->fold_len = h->fold_cap = 0;
}

const struct hp_header *
hp_head_get(const struct hp_head *h, const char *name)
{
	size_t i;
	const struct hp_header *f;

	for (i = 0; i < h->nheaders; i++) {
		f = &h->headers[i];
		if (name_eq(f->name, f->name_len, name))
			return f;
	}
	return NULL;
}

void
hp_body_init(struct hp_body *b, const struct hp_head *h)
{
	memset(b, 0, sizeof(*b));
	b->framing = h->framing;
	b->reusable = h->reusable;
	b->state = CH_SIZE;
	if (b->framing == HP_FRAME_LENGTH) {
		b->remaining = h->length > 0 ? (uint64_t)h->length : 0;
		b->overflow = h->length_overflow;
	}
	if (b->framing == HP_FRAME_CLOSE)
		b->reusable = 0;
}

int
hp_body_parse(struct hp_body *b, const char *buf, size_t len, int eof,
    const char **data, size_t *data_len, size_t *consumed,
    struct hp_error *err)
{
	size_t n;

	*data = NULL;
	*data_len = 0;
	*consumed = 0;
	switch (b->framing) {
	case HP_FRAME_NONE:
		return HP_DONE;
	case HP_FRAME_LENGTH:
		if (b->overflow) {
			set_error(err, HPOOL_E_OVERFLOW, PY_OVERFLOW_MSG);
			return HP_ERROR;
		}
		if (b->remaining == 0)
			return HP_DONE;
		if (len == 0) {
			if (!eof)
				return HP_AGAIN;
			/* _safe_read(): partial and the bytes missing */
			set_incomplete(err, b->received,
			    (int64_t)b->remaining);
			return HP_ERROR;
		}
		n = len < b->remaining ? len : (size_t)b->remaining;
		b->remaining -= n;
		b->received += n;
		*data = buf;
		*data_len = *consumed = n;
		return HP_DATA;
	case HP_FRAME_CLOSE:
		if (len == 0)
			return eof ? HP_DONE : HP_AGAIN;
		b->received += len;
		*data = buf;
		*data_len = *consumed = len;
		return HP_DATA;
	case HP_FRAME_CHUNKED:
		return body_chunked(b, buf, len, eof, data, data_len,
		    consumed, err);
	}
	set_error(err, HPOOL_E_HTTP_EXCEPTION, "bad body framing");
	return HP_ERROR;
}

/*
 * _read_chunked(): any failure inside becomes IncompleteRead(partial)
 * with no expected count, partial holding only whole chunks.
 */
static int
body_chunked(struct hp_body *b, const char *buf, size_t len, int eof,
    const char **data, size_t *data_len, size_t *consumed,
    struct hp_error *err)
{
	const char *semi;
	size_t off = 0, n, sz, want;
	uint64_t mag;
	int r, neg;

	for (;;) {
		*consumed = off;
		switch (b->state) {
		case CH_SIZE:
			r = readline(buf, len, off, eof, &n);
			if (r == LINE_AGAIN)
				return HP_AGAIN;
			if (r == LINE_TOOLONG) {
				set_error(err, HPOOL_E_LINE_TOO_LONG,
				    "got more than %d bytes when reading "
				    "chunk size", HP_MAXLINE);
				return HP_ERROR;
			}
			semi = n > 0 ? memchr(buf + off, ';', n) : NULL;
			sz = semi != NULL ? (size_t)(semi - (buf + off)) : n;
			if (py_int(buf + off, sz, 16, &neg, &mag) == -1) {
				set_incomplete(err, b->complete, -1);
				return HP_ERROR;
			}
			if (!canonical_size(buf + off, n, &b->bare_lf) || neg)
				b->reusable = 0;
			off += n;
			if (mag > (neg ? (uint64_t)INT64_MAX + 1 :
			    (uint64_t)INT64_MAX)) {
				/* read(size) cannot take it */
				*consumed = off;
				set_error(err, HPOOL_E_OVERFLOW,
				    PY_OVERFLOW_MSG);
				return HP_ERROR;
			}
			if (mag == 0)
				b->state = CH_TRAILER;
			else if (neg) {
				/* read(-n) reads to EOF, as read() does */
				b->reusable = 0;
				b->state = CH_TOEOF;
			} else {
				b->chunk_size = b->remaining = mag;
				b->state = CH_DATA;
			}
			break;
		case CH_DATA:
			/*
			 * Python hands out chunk data only in whole pieces of
			 * min(amt, chunk left) and drops a piece the server
			 * cut short. Holding back up to HP_CHUNK_HOLD bytes of
			 * a chunk gives callers the same bytes for any chunk up
			 * to that size, with memory still bounded.
			 */
			want = b->remaining < HP_CHUNK_HOLD ?
			    (size_t)b->remaining : HP_CHUNK_HOLD;
			if (len - off < want) {
				if (!eof)
					return HP_AGAIN;
				b->reusable = 0;
				set_incomplete(err, b->complete, -1);
				return HP_ERROR;
			}
			n = want;	/* whole pieces, however bytes arrive */
			b->remaining -= n;
			b->received += n;
			if (b->remaining == 0) {
				b->complete += b->chunk_size;
				b->state = CH_CRLF;
			}
			*data = buf + off;
			*data_len = n;
			*consumed = off + n;
			return HP_DATA;
		case CH_CRLF:
			/* Python reads two bytes and never looks at them. */
			if (len - off < 2) {
				if (!eof)
					return HP_AGAIN;
				b->reusable = 0;
				set_incomplete(err, b->complete, -1);
				return HP_ERROR;
			}
			if (buf[off] != '\r' || buf[off + 1] != '\n')
				b->reusable = 0;
			off += 2;
			b->state = CH_SIZE;
			break;
		case CH_TRAILER:
			r = readline(buf, len, off, eof, &n);
			if (r == LINE_AGAIN)
				return HP_AGAIN;
			if (r == LINE_TOOLONG) {
				set_error(err, HPOOL_E_LINE_TOO_LONG,
				    "got more than %d bytes when reading "
				    "trailer line", HP_MAXLINE);
				return HP_ERROR;
			}
			if (n > 0 && buf[off + n - 1] == '\n' &&
			    (n < 2 || buf[off + n - 2] != '\r'))
				b->bare_lf = 1;
			if (n == 0)
				b->reusable = 0;	/* ended by EOF */
			off += n;
			if (n == 0 || (n == 1 && buf[off - 1] == '\n') ||
			    (n == 2 && buf[off - 2] == '\r' &&
			    buf[off - 1] == '\n'))
				b->state = CH_DONE;
			break;
		case CH_TOEOF:
			if (off == len) {
				if (!eof)
					return HP_AGAIN;
				set_incomplete(err, b->complete, -1);
				return HP_ERROR;
			}
			n = len - off;
			b->received += n;
			b->complete += n;
			*data = buf + off;
			*data_len = n;
			*consumed = len;
			return HP_DATA;
		case CH_DONE:
			return HP_DONE;
		default:
			set_error(err, HPOOL_E_HTTP_EXCEPTION,
			    "bad chunked state");
			return HP_ERROR;
		}
	}
}

static void
set_error(struct hp_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	memset(err, 0, sizeof(*err));
	err->code = code;
	err->expected = -1;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
}

/*
 * The message is str() of a latin-1 decoded line: store it as UTF-8, cut
 * at a character boundary to fit. NUL cannot live in a C string: dropped.
 */
static void
set_error_latin1(struct hp_error *err, int code, const char *s, size_t n)
{
	size_t i, o = 0;
	unsigned char c;

	memset(err, 0, sizeof(*err));
	err->code = code;
	err->expected = -1;
	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c == 0)
			continue;
		if (c < 0x80) {
			if (o + 1 >= sizeof(err->message))
				break;
			err->message[o++] = (char)c;
		} else {
			if (o + 2 >= sizeof(err->message))
				break;
			err->message[o++] = (char)(0xc0 | (c >> 6));
			err->message[o++] = (char)(0x80 | (c & 0x3f));
		}
	}
	err->message[o] = '\0';
}

/* IncompleteRead's repr(), which is also its str(). */
static void
set_incomplete(struct hp_error *err, uint64_t partial, int64_t expected)
{
	if (expected >= 0)
		set_error(err, HPOOL_E_INCOMPLETE_READ,
		    "IncompleteRead(%llu bytes read, %lld more expected)",
		    (unsigned long long)partial, (long long)expected);
	else
		set_error(err, HPOOL_E_INCOMPLETE_READ,
		    "IncompleteRead(%llu bytes read)",
		    (unsigned long long)partial);
	err->partial = partial;
	err->expected = expected;
}
