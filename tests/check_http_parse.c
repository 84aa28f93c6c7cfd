/* check_http_parse.c: unit tests of daemon/http_parse.c against http.client. */

/*
 * Expected values were taken from CPython 3.11's http.client fed the same
 * bytes through a fake socket. Every input is parsed whole and again in
 * pieces (byte by byte up to 8 KiB); all must agree. Each piece is
 * copied to a buffer of exactly its size (malloc, so ASan sees an
 * over-read; whole inputs also end at a PROT_NONE page).
 */

#include <sys/mman.h>

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hpool_error.h"
#include "http_parse.h"
#include "check_run.h"

struct result {
	int		 head_rc;	/* HP_DONE or HP_ERROR */
	int		 body_rc;	/* HP_DONE, HP_ERROR, or 0: no body run */
	struct hp_error	 err;		/* head or body error */
	int		 n100;		/* 100 Continue heads skipped */
	int		 version;
	int		 status;
	char		 reason[128];	/* cut to fit */
	size_t		 reason_len;
	size_t		 nheaders;
	char		*hdrs;		/* "name=value\n" for each */
	size_t		 hdrs_len;
	enum hp_framing	 framing;
	int64_t		 length;
	int		 will_close;
	int		 head_reusable;
	int		 head_bare_lf;
	char		*body;
	size_t		 body_len;
	int		 body_reusable;
	int		 body_bare_lf;
};

static void	 result_free(struct result *);
static void	 append(char **, size_t *, const char *, size_t);
static char	*guarded_copy(const char *, size_t, void **, size_t *);
static int	 feed(const char *, size_t, int, size_t, struct result *);
static void	 same(const struct result *, const struct result *, size_t);
static void	 run_all(const char *, size_t, int, struct result *);
static void	 expect_body(const struct result *, const char *);
static void	 expect_err(const struct result *, int, const char *);
static void	 expect_hdrs(const struct result *, const char *);
static char	*repeat(const char *, const char *, size_t, const char *,
		    size_t *);

#define RUN(s, r)	run_all((s), sizeof(s) - 1, 0, (r))
#define RUN_HEAD(s, r)	run_all((s), sizeof(s) - 1, 1, (r))

static void
result_free(struct result *r)
{
	free(r->hdrs);
	free(r->body);
	memset(r, 0, sizeof(*r));
}

static void
append(char **p, size_t *len, const char *s, size_t n)
{
	*p = realloc(*p, *len + n + 1);
	ck_assert_ptr_nonnull(*p);
	memcpy(*p + *len, s, n);
	*len += n;
	(*p)[*len] = '\0';
}

/* n bytes ending right where a PROT_NONE page starts. */
static char *
guarded_copy(const char *s, size_t n, void **map, size_t *maplen)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	size_t data_pages = (n + pg - 1) / pg + 1;
	char *base;

	*maplen = (data_pages + 1) * pg;
	base = mmap(NULL, *maplen, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(base, MAP_FAILED);
	ck_assert_int_eq(mprotect(base + data_pages * pg, pg, PROT_NONE), 0);
	*map = base;
	memcpy(base + data_pages * pg - n, s, n);
	return base + data_pages * pg - n;
}

/*
 * Parse in as the daemon would: heads (skipping 100s), then the body.
 * step 0: the whole input at once, with eof; else step more bytes per
 * call, eof only once everything has been offered.
 */
static int
feed(const char *in, size_t len, int is_head, size_t step, struct result *r)
{
	struct hp_head h;
	struct hp_body b;
	const char *data;
	char *buf;
	void *map = NULL;
	size_t pos = 0, k, consumed, dlen, maplen = 0, i;
	int rc, eof;

	memset(r, 0, sizeof(*r));
	/* Head: an HP_AGAIN consumes nothing; offer more from pos. */
	for (;;) {
		k = step ? step : len - pos;
		for (;;) {
			if (pos + k >= len)
				k = len - pos;
			eof = pos + k == len;
			if (step == 0)
				buf = guarded_copy(in + pos, k, &map, &maplen);
			else {
				buf = malloc(k ? k : 1);
				ck_assert_ptr_nonnull(buf);
				memcpy(buf, in + pos, k);
			}
			memset(&h, 0, sizeof(h));
			rc = hp_head_parse(buf, k, eof, is_head, &h, &consumed,
			    &r->err);
			if (rc != HP_AGAIN)
				break;
			ck_assert_msg(!eof, "HP_AGAIN at eof");
			ck_assert_uint_eq(consumed, 0);
			hp_head_free(&h);
			if (step == 0)
				munmap(map, maplen);
			else
				free(buf);
			k += step;
		}
		r->head_rc = rc;
		if (rc == HP_DONE) {
			ck_assert_uint_le(consumed, k);
			r->status = h.status;
			if (h.status == 100) {
				r->n100++;
				pos += consumed;
				hp_head_free(&h);
				if (step == 0)
					munmap(map, maplen);
				else
					free(buf);
				continue;
			}
			r->version = h.version;
			r->reason_len = h.reason_len;
			memcpy(r->reason, h.reason, h.reason_len <
			    sizeof(r->reason) ? h.reason_len :
			    sizeof(r->reason) - 1);
			r->nheaders = h.nheaders;
			for (i = 0; i < h.nheaders; i++) {
				append(&r->hdrs, &r->hdrs_len, h.headers[i].name,
				    h.headers[i].name_len);
				append(&r->hdrs, &r->hdrs_len, "=", 1);
				append(&r->hdrs, &r->hdrs_len,
				    h.headers[i].value, h.headers[i].value_len);
				append(&r->hdrs, &r->hdrs_len, "\n", 1);
			}
			if (r->hdrs == NULL)
				append(&r->hdrs, &r->hdrs_len, "", 0);
			r->framing = h.framing;
			r->length = h.length;
			r->will_close = h.will_close;
			r->head_reusable = h.reusable;
			r->head_bare_lf = h.bare_lf;
			hp_body_init(&b, &h);
			pos += consumed;
		}
		hp_head_free(&h);
		if (step == 0)
			munmap(map, maplen);
		else
			free(buf);
		break;
	}
	if (r->head_rc != HP_DONE)
		return 0;

	append(&r->body, &r->body_len, "", 0);
	k = step ? (step < len - pos ? step : len - pos) : len - pos;
	for (;;) {
		eof = pos + k == len;
		if (step == 0)
			buf = guarded_copy(in + pos, k, &map, &maplen);
		else {
			buf = malloc(k ? k : 1);
			ck_assert_ptr_nonnull(buf);
			memcpy(buf, in + pos, k);
		}
		rc = hp_body_parse(&b, buf, k, eof, &data, &dlen, &consumed,
		    &r->err);
		ck_assert_uint_le(consumed, k);
		if (rc == HP_DATA) {
			ck_assert_uint_gt(dlen, 0);
			ck_assert(data >= buf && data + dlen <= buf + k);
			append(&r->body, &r->body_len, data, dlen);
		}
		if (step == 0)
			munmap(map, maplen);
		else
			free(buf);
		pos += consumed;
		k -= consumed;
		if (rc == HP_DONE || rc == HP_ERROR)
			break;
		if (rc == HP_AGAIN) {
			ck_assert_msg(!eof, "body HP_AGAIN at eof");
			if (consumed == 0)
				k += step ? step : len - pos;
			if (pos + k > len)
				k = len - pos;
		}
	}
	r->body_rc = rc;
	r->body_reusable = b.reusable;
	r->body_bare_lf = b.bare_lf;
	return 0;
}

static void
same(const struct result *a, const struct result *b, size_t step)
{
	ck_assert_msg(a->head_rc == b->head_rc, "head rc, step %zu", step);
	ck_assert_msg(a->body_rc == b->body_rc, "body rc, step %zu", step);
	ck_assert_int_eq(a->err.code, b->err.code);
	ck_assert_str_eq(a->err.message, b->err.message);
	ck_assert_uint_eq(a->err.partial, b->err.partial);
	ck_assert_int_eq(a->err.expected, b->err.expected);
	ck_assert_int_eq(a->n100, b->n100);
	ck_assert_int_eq(a->version, b->version);
	ck_assert_int_eq(a->status, b->status);
	ck_assert_str_eq(a->reason, b->reason);
	ck_assert_uint_eq(a->reason_len, b->reason_len);
	ck_assert_uint_eq(a->nheaders, b->nheaders);
	ck_assert_uint_eq(a->hdrs_len, b->hdrs_len);
	if (a->hdrs_len > 0)
		ck_assert_mem_eq(a->hdrs, b->hdrs, a->hdrs_len);
	ck_assert_int_eq(a->framing, b->framing);
	ck_assert_int_eq(a->length, b->length);
	ck_assert_int_eq(a->will_close, b->will_close);
	ck_assert_int_eq(a->head_reusable, b->head_reusable);
	ck_assert_int_eq(a->head_bare_lf, b->head_bare_lf);
	ck_assert_uint_eq(a->body_len, b->body_len);
	if (a->body_len > 0)
		ck_assert_mem_eq(a->body, b->body, a->body_len);
	ck_assert_msg(a->body_reusable == b->body_reusable,
	    "body reusable, step %zu", step);
	ck_assert_int_eq(a->body_bare_lf, b->body_bare_lf);
}

/* Whole, then in pieces; every way must give the same result. */
static void
run_all(const char *in, size_t len, int is_head, struct result *r)
{
	/* byte by byte costs O(n^2) (a copy per call): small inputs only */
	static const size_t small[] = { 1, 2, 3, 7, 64 };
	static const size_t big[] = { 509, 4093, 65536 };
	const size_t *steps = len <= 8192 ? small : big;
	size_t i, n = len <= 8192 ? 5 : 3;
	struct result p;

	feed(in, len, is_head, 0, r);
	for (i = 0; i < n; i++) {
		feed(in, len, is_head, steps[i], &p);
		same(r, &p, steps[i]);
		result_free(&p);
	}
}

static void
expect_body(const struct result *r, const char *body)
{
	ck_assert_int_eq(r->head_rc, HP_DONE);
	ck_assert_int_eq(r->body_rc, HP_DONE);
	ck_assert_uint_eq(r->body_len, strlen(body));
	ck_assert_mem_eq(r->body, body, r->body_len);
}

static void
expect_err(const struct result *r, int code, const char *msg)
{
	ck_assert(r->head_rc == HP_ERROR || r->body_rc == HP_ERROR);
	ck_assert_int_eq(r->err.code, code);
	ck_assert_str_eq(r->err.message, msg);
}

static void
expect_hdrs(const struct result *r, const char *hdrs)
{
	ck_assert_int_eq(r->head_rc, HP_DONE);
	ck_assert_str_eq(r->hdrs, hdrs);
}

/* head + n copies of unit + tail, malloc'd; *len set. */
static char *
repeat(const char *head, const char *unit, size_t n, const char *tail,
    size_t *len)
{
	size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail), i;
	char *s = malloc(hl + ul * n + tl + 1);

	ck_assert_ptr_nonnull(s);
	memcpy(s, head, hl);
	for (i = 0; i < n; i++)
		memcpy(s + hl + i * ul, unit, ul);
	memcpy(s + hl + n * ul, tail, tl);
	*len = hl + ul * n + tl;
	s[*len] = '\0';
	return s;
}

/* A line of exactly n bytes (with its CRLF) as prefix + 'a's + CRLF. */
static char *
line_of(const char *prefix, size_t n, const char *after, size_t *len)
{
	size_t pl = strlen(prefix), al = strlen(after);
	char *s = malloc(n + al + 1);

	ck_assert_ptr_nonnull(s);
	memcpy(s, prefix, pl);
	memset(s + pl, 'a', n - pl - 2);
	memcpy(s + n - 2, "\r\n", 2);
	memcpy(s + n, after, al);
	*len = n + al;
	s[*len] = '\0';
	return s;
}

/* --- status line --- */

START_TEST(t_status_ok)
{
	struct result r;

	RUN("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", &r);
	expect_body(&r, "hello");
	ck_assert_int_eq(r.version, 11);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.reason, "OK");
	ck_assert_int_eq(r.framing, HP_FRAME_LENGTH);
	ck_assert_int_eq(r.length, 5);
	ck_assert_int_eq(r.will_close, 0);
	ck_assert_int_eq(r.head_reusable, 1);
	ck_assert_int_eq(r.body_reusable, 1);
	ck_assert_int_eq(r.head_bare_lf, 0);
	result_free(&r);
}
END_TEST

START_TEST(t_status_versions)
{
	struct result r;

	RUN("HTTP/1.0 200 OK\r\n\r\n", &r);
	ck_assert_int_eq(r.version, 10);
	result_free(&r);
	RUN("HTTP/0.9 200 OK\r\n\r\n", &r);
	ck_assert_int_eq(r.version, 10);
	result_free(&r);
	RUN("HTTP/1.9 200 OK\r\n\r\n", &r);
	ck_assert_int_eq(r.version, 11);
	result_free(&r);
	RUN("HTTP/1.10 200 OK\r\n\r\n", &r);
	ck_assert_int_eq(r.version, 11);
	result_free(&r);
	/* raised before the headers, so before their errors */
	RUN("HTTP/2 200 OK\r\nbad\r\n\r\n", &r);
	expect_err(&r, HPOOL_E_UNKNOWN_PROTOCOL, "HTTP/2");
	result_free(&r);
	RUN("HTTP/ 200 OK\r\n", &r);
	expect_err(&r, HPOOL_E_UNKNOWN_PROTOCOL, "HTTP/");
	result_free(&r);
}
END_TEST

START_TEST(t_status_bad)
{
	struct result r;

	/* str(BadStatusLine) is the line itself, not its repr */
	RUN("FOO 200 OK\r\n\r\n", &r);
	expect_err(&r, HPOOL_E_BAD_STATUS_LINE, "FOO 200 OK\r\n");
	result_free(&r);
	RUN("http/1.1 200 OK\r\n\r\n", &r);
	expect_err(&r, HPOOL_E_BAD_STATUS_LINE, "http/1.1 200 OK\r\n");
	result_free(&r);
	RUN("HTTP/1.1 99 x\r\n\r\n", &r);
	expect_err(&r, HPOOL_E_BAD_STATUS_LINE, "HTTP/1.1 99 x\r\n");
	result_free(&r);
	RUN("HTTP/1.1 1000 x\r\n\r\n", &r);
	expect_err(&r, HPOOL_E_BAD_STATUS_LINE, "HTTP/1.1 1000 x\r\n");
	result_free(&r);
	RUN("HTTP/1.1 -200 x\r\n\r\n", &r);
	expect_err(&r, HPOOL_E_BAD_STATUS_LINE, "HTTP/1.1 -200 x\r\n");
	result_free(&r);
	RUN("HTTP/1.1 abc\r\n", &r);
	expect_err(&r, HPOOL_E_BAD_STATUS_LINE, "HTTP/1.1 abc\r\n");
	result_free(&r);
	RUN("HTTP/1.1\r\n", &r);
	expect_err(&r, HPOOL_E_BAD_STATUS_LINE, "HTTP/1.1\r\n");
	result_free(&r);
	RUN("\r\n", &r);
	expect_err(&r, HPOOL_E_BAD_STATUS_LINE, "\r\n");
	result_free(&r);
	RUN("HTTP/1.1 2 00 OK\r\n", &r);
	expect_err(&r, HPOOL_E_BAD_STATUS_LINE, "HTTP/1.1 2 00 OK\r\n");
	result_free(&r);
	RUN("HTTP/1.1 2__00 OK\r\n", &r);
	expect_err(&r, HPOOL_E_BAD_STATUS_LINE, "HTTP/1.1 2__00 OK\r\n");
	result_free(&r);
	/* latin-1 decoded, given back as UTF-8 */
	RUN("\xe9 200 OK\r\n", &r);
	expect_err(&r, HPOOL_E_BAD_STATUS_LINE, "\xc3\xa9 200 OK\r\n");
	result_free(&r);
}
END_TEST

START_TEST(t_status_pyint)
{
	struct result r;
	char *s;
	size_t len;

	/* int() takes a sign, underscores and leading zeros */
	RUN("HTTP/1.1 +2_00 OK\r\nContent-Length: 3\r\n\r\nabc", &r);
	expect_body(&r, "abc");
	ck_assert_int_eq(r.status, 200);
	result_free(&r);
	RUN("HTTP/1.1 0200 OK\r\n\r\n", &r);
	ck_assert_int_eq(r.status, 200);
	result_free(&r);
	/* int()'s limit of 4300 digits */
	s = repeat("HTTP/1.1 ", "0", 4297, "200 OK\r\n\r\n", &len);
	run_all(s, len, 0, &r);
	ck_assert_int_eq(r.head_rc, HP_DONE);
	ck_assert_int_eq(r.status, 200);
	result_free(&r);
	free(s);
	s = repeat("HTTP/1.1 ", "0", 4298, "200 OK\r\n\r\n", &len);
	run_all(s, len, 0, &r);
	ck_assert_int_eq(r.head_rc, HP_ERROR);
	ck_assert_int_eq(r.err.code, HPOOL_E_BAD_STATUS_LINE);
	result_free(&r);
	free(s);
}
END_TEST

START_TEST(t_status_spaces)
{
	struct result r;

	/* str.split() splits at U+001C..U+001F, U+0085, U+00A0 too */
	RUN(" HTTP/1.1\x85" "200\xa0 OK \x1c\r\n\r\n", &r);
	ck_assert_int_eq(r.head_rc, HP_DONE);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.reason, "OK");
	result_free(&r);
	RUN("HTTP/1.1 200\x1cOK\r\n\r\n", &r);
	ck_assert_str_eq(r.reason, "OK");
	result_free(&r);
	/* two words: int() gets "200\x1c\r\n" and cannot strip U+001C */
	RUN("HTTP/1.1 200\x1c\r\n\r\n", &r);
	expect_err(&r, HPOOL_E_BAD_STATUS_LINE, "HTTP/1.1 200\x1c\r\n");
	result_free(&r);
	RUN("HTTP/1.1 200\x85\r\n\r\n", &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.reason, "");
	result_free(&r);
	RUN("HTTP/1.1 200\r\n\r\n", &r);
	ck_assert_str_eq(r.reason, "");
	result_free(&r);
	RUN("HTTP/1.1 404 Not  Found \r\n\r\n", &r);
	ck_assert_str_eq(r.reason, "Not  Found");
	result_free(&r);
	RUN("HTTP/1.1 200 \xe9t\xe9\r\n\r\n", &r);
	ck_assert_str_eq(r.reason, "\xe9t\xe9");
	result_free(&r);
}
END_TEST

START_TEST(t_empty)
{
	struct result r;

	RUN("", &r);
	expect_err(&r, HPOOL_E_REMOTE_DISCONNECTED,
	    "Remote end closed connection without response");
	result_free(&r);
}
END_TEST

START_TEST(t_status_eof)
{
	struct result r;

	/* EOF ends the status line and the (empty) header section */
	RUN("HTTP/1.1 200 OK", &r);
	expect_body(&r, "");
	ck_assert_int_eq(r.framing, HP_FRAME_CLOSE);
	ck_assert_int_eq(r.will_close, 1);
	result_free(&r);
	RUN("HTTP/1.1 200 OK\r\n", &r);
	expect_body(&r, "");
	result_free(&r);
	RUN("HTTP/1.1 200 OK\r\n\r", &r);
	expect_hdrs(&r, "");
	result_free(&r);
}
END_TEST

START_TEST(t_status_too_long)
{
	struct result r;
	char *s;
	size_t len;

	s = line_of("HTTP/1.1 200 ", HP_MAXLINE, "\r\n", &len);
	run_all(s, len, 0, &r);
	ck_assert_int_eq(r.head_rc, HP_DONE);
	ck_assert_uint_eq(r.reason_len, HP_MAXLINE - 13 - 2);
	result_free(&r);
	free(s);
	s = line_of("HTTP/1.1 200 ", HP_MAXLINE + 1, "\r\n", &len);
	run_all(s, len, 0, &r);
	expect_err(&r, HPOOL_E_LINE_TOO_LONG,
	    "got more than 65536 bytes when reading status line");
	result_free(&r);
	free(s);
	/* HP_MAXLINE bytes cut by EOF are a whole line */
	s = line_of("HTTP/1.1 200 ", HP_MAXLINE + 2, "", &len);
	len -= 2;
	run_all(s, len, 0, &r);
	ck_assert_int_eq(r.head_rc, HP_DONE);
	result_free(&r);
	run_all(s, len + 1, 0, &r);
	expect_err(&r, HPOOL_E_LINE_TOO_LONG,
	    "got more than 65536 bytes when reading status line");
	result_free(&r);
	free(s);
}
END_TEST

/* --- headers --- */

START_TEST(t_hdr_basic)
{
	struct result r;
	struct hp_head h;
	struct hp_error e;
	const struct hp_header *f;
	size_t c;
	static const char in[] = "HTTP/1.1 200 OK\r\nX-A: 1\r\n"
	    "content-LENGTH: 2\r\nX-A:2\r\nEmpty:\r\nSp:  v  \r\n\r\nhi";

	RUN(in, &r);
	expect_hdrs(&r, "X-A=1\ncontent-LENGTH=2\nX-A=2\nEmpty=\nSp=v  \n");
	expect_body(&r, "hi");
	result_free(&r);

	memset(&h, 0, sizeof(h));
	ck_assert_int_eq(hp_head_parse(in, sizeof(in) - 1, 0, 0, &h, &c, &e),
	    HP_DONE);
	ck_assert_uint_eq(c, sizeof(in) - 3);
	f = hp_head_get(&h, "x-a");
	ck_assert_ptr_nonnull(f);
	ck_assert_mem_eq(f->value, "1", 1);
	ck_assert_ptr_nonnull(hp_head_get(&h, "Content-Length"));
	ck_assert_ptr_null(hp_head_get(&h, "Content-Len"));
	ck_assert_ptr_null(hp_head_get(&h, "Content-Lengthx"));
	hp_head_free(&h);
	hp_head_free(&h);	/* twice is harmless */
}
END_TEST

START_TEST(t_hdr_continuation)
{
	struct result r;

	/* the line breaks stay in the value; only the end is stripped */
	RUN("HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\tc  \r\nY:  d \r\n\r\n", &r);
	expect_hdrs(&r, "X=a\r\n b\r\n\tc  \nY=d \n");
	ck_assert_int_eq(r.head_reusable, 0);
	result_free(&r);
	RUN("HTTP/1.1 200 OK\nX: a\n b\n\nxy", &r);
	expect_hdrs(&r, "X=a\n b\n");
	ck_assert_int_eq(r.head_bare_lf, 1);
	expect_body(&r, "xy");
	result_free(&r);
	RUN("HTTP/1.1 200 OK\r\nA:\r\n \r\nB:\t\r\n\r\n", &r);
	expect_hdrs(&r, "A=\r\n \nB=\n");
	result_free(&r);
	/* a folded Content-Length is no number */
	RUN("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n 3\r\n\r\nhiya", &r);
	expect_hdrs(&r, "Content-Length=2\r\n 3\n");
	ck_assert_int_eq(r.framing, HP_FRAME_CLOSE);
	expect_body(&r, "hiya");
	result_free(&r);
}
END_TEST

START_TEST(t_hdr_no_colon)
{
	struct result r;

	/* email.parser stops at the first line that is no header */
	RUN("HTTP/1.1 200 OK\r\nX: a\r\nbogus\r\nContent-Length: 2\r\n\r\n"
	    "hiya", &r);
	expect_hdrs(&r, "X=a\n");
	ck_assert_int_eq(r.framing, HP_FRAME_CLOSE);
	ck_assert_int_eq(r.head_reusable, 0);
	expect_body(&r, "hiya");
	result_free(&r);
	RUN("HTTP/1.1 200 OK\r\nA B: x\r\nY: d\r\n\r\n", &r);
	expect_hdrs(&r, "");
	result_free(&r);
	RUN("HTTP/1.1 200 OK\r\n\xe9: x\r\nY: d\r\n\r\n", &r);
	expect_hdrs(&r, "");
	result_free(&r);
	RUN("HTTP/1.1 200 OK\r\nA: b\r\n\r\r\nB: c\r\n\r\n", &r);
	expect_hdrs(&r, "A=b\n");
	result_free(&r);
}
END_TEST

START_TEST(t_hdr_dropped_lines)
{
	struct result r;

	/* a continuation with no header before it is dropped */
	RUN("HTTP/1.1 200 OK\r\n  lead: x\r\nY: d\r\n\r\n", &r);
	expect_hdrs(&r, "Y=d\n");
	ck_assert_int_eq(r.head_reusable, 0);
	result_free(&r);
	/* "From " lines are mbox envelopes, never headers */
	RUN("HTTP/1.1 200 OK\r\nFrom x: y\r\nA: b\r\n\r\n", &r);
	expect_hdrs(&r, "A=b\n");
	result_free(&r);
	RUN("HTTP/1.1 200 OK\r\nA: b\r\nFrom x: y\r\n c\r\nB: d\r\n\r\n", &r);
	expect_hdrs(&r, "A=b\nB=d\n");
	result_free(&r);
	RUN("HTTP/1.1 200 OK\r\nA: b\r\nFrom x\r\n\r\n", &r);
	expect_hdrs(&r, "A=b\n");
	result_free(&r);
	/* an empty name is dropped, and so is its continuation */
	RUN("HTTP/1.1 200 OK\r\nA: b\r\n:x\r\n c\r\nB: d\r\n\r\n", &r);
	expect_hdrs(&r, "A=b\nB=d\n");
	result_free(&r);
	RUN("HTTP/1.1 200 OK\r\nFrom: x\r\n\r\n", &r);
	expect_hdrs(&r, "From=x\n");
	ck_assert_int_eq(r.head_reusable, 0);	/* no length */
	result_free(&r);
}
END_TEST

START_TEST(t_hdr_bare_cr)
{
	struct result r;
	char *s;
	size_t len;

	/* email splits lines at a CR alone; readline does not */
	RUN("HTTP/1.1 200 OK\r\nX: a\rY: b\r\nContent-Length: 0\r\n\r\n", &r);
	expect_hdrs(&r, "X=a\nY=b\nContent-Length=0\n");
	ck_assert_int_eq(r.head_reusable, 0);
	result_free(&r);
	/* more headers than the array holds: hpool refuses */
	s = repeat("HTTP/1.1 200 OK\r\n", "X: a\r", 102, "\r\n\r\n", &len);
	run_all(s, len, 0, &r);
	expect_err(&r, HPOOL_E_HTTP_EXCEPTION, "got more than 100 headers");
	result_free(&r);
	free(s);
	s = repeat("HTTP/1.1 200 OK\r\n", "X: a\r", 101, "\r\n\r\n", &len);
	run_all(s, len, 0, &r);
	ck_assert_int_eq(r.nheaders, 101);
	result_free(&r);
	free(s);
}
END_TEST

START_TEST(t_hdr_count)
{
	struct result r;
	char *s;
	size_t len;

	/* the blank line counts: 99 headers is the most */
	s = repeat("HTTP/1.1 200 OK\r\n", "X: a\r\n", 99, "\r\nbody", &len);
	run_all(s, len, 0, &r);
	ck_assert_int_eq(r.nheaders, 99);
	expect_body(&r, "body");
	result_free(&r);
	free(s);
	s = repeat("HTTP/1.1 200 OK\r\n", "X: a\r\n", 100, "\r\n", &len);
	run_all(s, len, 0, &r);
	expect_err(&r, HPOOL_E_HTTP_EXCEPTION, "got more than 100 headers");
	result_free(&r);
	free(s);
	/* EOF's empty read counts too */
	s = repeat("HTTP/1.1 200 OK\r\n", "X: a\r\n", 99, "Y: b", &len);
	run_all(s, len, 0, &r);
	expect_err(&r, HPOOL_E_HTTP_EXCEPTION, "got more than 100 headers");
	result_free(&r);
	free(s);
	s = repeat("HTTP/1.1 200 OK\r\n", "X: a\r\n", 99, "", &len);
	run_all(s, len, 0, &r);
	ck_assert_int_eq(r.nheaders, 99);
	result_free(&r);
	free(s);
	s = repeat("HTTP/1.1 200 OK\r\n", "X: a\r\n", 1000, "\r\n", &len);
	run_all(s, len, 0, &r);
	expect_err(&r, HPOOL_E_HTTP_EXCEPTION, "got more than 100 headers");
	result_free(&r);
	free(s);
}
END_TEST

START_TEST(t_hdr_too_long)
{
	struct result r;
	char *s;
	size_t len;
	char *full;

	s = line_of("HTTP/1.1 200 OK\r\nX: ", HP_MAXLINE + 17,
	    "Content-Length: 1\r\n\r\nZ", &len);
	run_all(s, len, 0, &r);
	expect_body(&r, "Z");
	ck_assert_uint_eq(r.nheaders, 2);
	ck_assert_uint_eq(strlen(r.hdrs), 2 + (HP_MAXLINE - 5) + 1 + 17);
	result_free(&r);
	free(s);
	s = line_of("HTTP/1.1 200 OK\r\nX: ", HP_MAXLINE + 18, "\r\n", &len);
	run_all(s, len, 0, &r);
	expect_err(&r, HPOOL_E_LINE_TOO_LONG,
	    "got more than 65536 bytes when reading header line");
	result_free(&r);
	free(s);
	/* a long line no LF ends yet: an error only once it is too long */
	s = line_of("HTTP/1.1 200 OK\r\nX: ", 200000, "", &len);
	full = s;
	run_all(full, len - 2, 0, &r);
	expect_err(&r, HPOOL_E_LINE_TOO_LONG,
	    "got more than 65536 bytes when reading header line");
	result_free(&r);
	free(s);
}
END_TEST

/* --- framing --- */

START_TEST(t_len_basic)
{
	struct result r;

	RUN("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", &r);
	expect_body(&r, "");
	ck_assert_int_eq(r.framing, HP_FRAME_NONE);
	ck_assert_int_eq(r.length, 0);
	ck_assert_int_eq(r.body_reusable, 1);
	result_free(&r);
	/* bytes after the body are left for the caller to see */
	RUN("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiya", &r);
	expect_body(&r, "hi");
	ck_assert_int_eq(r.head_reusable, 1);
	ck_assert_int_eq(r.body_reusable, 1);
	result_free(&r);
}
END_TEST

START_TEST(t_len_pyint)
{
	struct result r;
	char *s;
	size_t len;

	RUN("HTTP/1.1 200 OK\r\nContent-Length:  3 \r\n\r\nabcd", &r);
	ck_assert_int_eq(r.length, 3);
	ck_assert_int_eq(r.head_reusable, 0);	/* not plain digits */
	result_free(&r);
	RUN("HTTP/1.1 200 OK\r\nContent-Length: +4\r\n\r\nabcd", &r);
	ck_assert_int_eq(r.length, 4);
	ck_assert_int_eq(r.head_reusable, 0);
	result_free(&r);
	RUN("HTTP/1.1 200 OK\r\nContent-Length: 1_0\r\n\r\n0123456789", &r);
	ck_assert_int_eq(r.length, 10);
	expect_body(&r, "0123456789");
	result_free(&r);
	RUN("HTTP/1.1 200 OK\r\nContent-Length: \xa0" "3\x85\r\n\r\nabc", &r);
	ck_assert_int_eq(r.length, 3);
	result_free(&r);
	RUN("HTTP/1.1 200 OK\r\nContent-Length: 007\r\n\r\nabcdefg", &r);
	ck_assert_int_eq(r.length, 7);
	ck_assert_int_eq(r.head_reusable, 1);
	result_free(&r);
	/* invalid or negative: no length, read to close */
	RUN("HTTP/1.1 200 OK\r\nContent-Length: 3\x1c\r\n\r\nabcd", &r);
	ck_assert_int_eq(r.length, -1);
	ck_assert_int_eq(r.framing, HP_FRAME_CLOSE);
	ck_assert_int_eq(r.will_close, 1);
	expect_body(&r, "abcd");
	result_free(&r);
	RUN("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nabcd", &r);
	ck_assert_int_eq(r.length, -1);
	result_free(&r);
	RUN("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\nabcd", &r);
	ck_assert_int_eq(r.length, -1);
	result_free(&r);
	RUN("HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\nabcd", &r);
	ck_assert_int_eq(r.length, -1);
	result_free(&r);
	RUN("HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\n\r\nabcd", &r);
	ck_assert_int_eq(r.length, -1);
	result_free(&r);
	RUN("HTTP/1.1 200 OK\r\nContent-Length: -0\r\n\r\nabcd", &r);
	ck_assert_int_eq(r.length, 0);
	ck_assert_int_eq(r.will_close, 0);
	ck_assert_int_eq(r.head_reusable, 0);
	result_free(&r);
	s = repeat("HTTP/1.1 200 OK\r\nContent-Length: ", "0", 4299,
	    "2\r\n\r\nab", &len);
	run_all(s, len, 0, &r);
	ck_assert_int_eq(r.length, 2);
	result_free(&r);
	free(s);
	s = repeat("HTTP/1.1 200 OK\r\nContent-Length: ", "0", 4300,
	    "2\r\n\r\nab", &len);
	run_all(s, len, 0, &r);
	ck_assert_int_eq(r.length, -1);
	result_free(&r);
	free(s);
}
END_TEST

START_TEST(t_len_repeated)
{
	struct result r;

	RUN("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n"
	    "hiya", &r);
	ck_assert_int_eq(r.length, 2);
	expect_body(&r, "hi");
	ck_assert_int_eq(r.head_reusable, 0);
	result_free(&r);
	RUN("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n"
	    "hi", &r);
	ck_assert_int_eq(r.head_reusable, 0);
	result_free(&r);
}
END_TEST

START_TEST(t_len_truncated)
{
	struct result r;

	RUN("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhiy", &r);
	expect_err(&r, HPOOL_E_INCOMPLETE_READ,
	    "IncompleteRead(3 bytes read, 2 more expected)");
	ck_assert_uint_eq(r.err.partial, 3);
	ck_assert_int_eq(r.err.expected, 2);
	ck_assert_uint_eq(r.body_len, 3);
	result_free(&r);
	RUN("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", &r);
	expect_err(&r, HPOOL_E_INCOMPLETE_READ,
	    "IncompleteRead(0 bytes read, 5 more expected)");
	result_free(&r);
}
END_TEST

START_TEST(t_len_huge)
{
	struct result r;

	RUN("HTTP/1.1 200 OK\r\nContent-Length: 9223372036854775807\r\n\r\nab",
	    &r);
	expect_err(&r, HPOOL_E_INCOMPLETE_READ, "IncompleteRead(2 bytes read, "
	    "9223372036854775805 more expected)");
	ck_assert_int_eq(r.head_reusable, 1);
	result_free(&r);
	/* Python: read() raises OverflowError */
	RUN("HTTP/1.1 200 OK\r\nContent-Length: 9223372036854775808\r\n\r\nab",
	    &r);
	expect_err(&r, HPOOL_E_OVERFLOW,
	    "cannot fit 'int' into an index-sized integer");
	ck_assert_int_eq(r.head_reusable, 0);
	result_free(&r);
	RUN("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999999\r\n"
	    "\r\nab", &r);
	expect_err(&r, HPOOL_E_OVERFLOW,
	    "cannot fit 'int' into an index-sized integer");
	result_free(&r);
	RUN_HEAD("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n"
	    "\r\n", &r);
	expect_body(&r, "");
	result_free(&r);
}
END_TEST

#define CHUNKED	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"

START_TEST(t_chunked_basic)
{
	struct result r;

	RUN(CHUNKED "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", &r);
	expect_body(&r, "hello world");
	ck_assert_int_eq(r.framing, HP_FRAME_CHUNKED);
	ck_assert_int_eq(r.length, -1);
	ck_assert_int_eq(r.will_close, 0);
	ck_assert_int_eq(r.head_reusable, 1);
	ck_assert_int_eq(r.body_reusable, 1);
	result_free(&r);
	RUN(CHUNKED "0\r\n\r\n", &r);
	expect_body(&r, "");
	ck_assert_int_eq(r.body_reusable, 1);
	result_free(&r);
	RUN("HTTP/1.1 200 OK\r\nTransfer-Encoding: ChUnKeD\r\n\r\n"
	    "1\r\nx\r\n0\r\n\r\n", &r);
	expect_body(&r, "x");
	ck_assert_int_eq(r.head_reusable, 1);
	result_free(&r);
	RUN(CHUNKED "5\r\nhello\r\n0\r\n\r\nHTTP/1.1", &r);
	expect_body(&r, "hello");
	result_free(&r);
}
END_TEST

START_TEST(t_chunked_ext_trailers)
{
	struct result r;

	RUN(CHUNKED "5;a=b\r\nhello\r\n3 ; x\r\nabc\r\n0;last\r\n"
	    "T: x\r\nU: y\r\n\r\n", &r);
	expect_body(&r, "helloabc");
	ck_assert_int_eq(r.body_reusable, 0);	/* "3 ;" */
	result_free(&r);
	RUN(CHUNKED "5;a=b\r\nhello\r\n0\r\nT: x\r\n\r\n", &r);
	expect_body(&r, "hello");
	ck_assert_int_eq(r.body_reusable, 1);
	result_free(&r);
	/* EOF ends the trailer, as it does in Python */
	RUN(CHUNKED "5\r\nhello\r\n0\r\nT: x\r\n", &r);
	expect_body(&r, "hello");
	ck_assert_int_eq(r.body_reusable, 0);
	result_free(&r);
	RUN(CHUNKED "5\r\nhello\r\n0\r\nT: x", &r);
	expect_body(&r, "hello");
	result_free(&r);
	RUN(CHUNKED "5\r\nhello\r\n0\r\n", &r);
	expect_body(&r, "hello");
	result_free(&r);
	RUN(CHUNKED "5\r\nhello\r\n0", &r);
	expect_body(&r, "hello");
	result_free(&r);
}
END_TEST

START_TEST(t_chunked_pyint_sizes)
{
	struct result r;

	/* int(x, 16): prefix, spaces, underscores, sign */
	RUN(CHUNKED "0x5\r\nhello\r\n 3 \r\nabc\r\n1_0\r\n0123456789abcdef\r\n"
	    "0X_1\r\nz\r\n-0\r\n\r\n", &r);
	expect_body(&r, "helloabc0123456789abcdefz");
	ck_assert_int_eq(r.body_reusable, 0);
	result_free(&r);
	RUN(CHUNKED "00005\r\nhello\r\n000\r\n\r\n", &r);
	expect_body(&r, "hello");
	ck_assert_int_eq(r.body_reusable, 1);
	result_free(&r);
	RUN(CHUNKED "\v5\f\r\nhello\r\n0\r\n\r\n", &r);
	expect_body(&r, "hello");
	ck_assert_int_eq(r.body_reusable, 0);
	result_free(&r);
}
END_TEST

START_TEST(t_chunked_bad_size)
{
	struct result r;
	static const char *bad[] = { "zz", "", "0x", "_1", "1_", "1__2",
	    "1 2", "5\xa0", ";ext", "+", "0x_" };
	char in[256];
	size_t i;

	RUN(CHUNKED "5\r\nhello\r\nzz\r\n", &r);
	expect_err(&r, HPOOL_E_INCOMPLETE_READ, "IncompleteRead(5 bytes read)");
	ck_assert_uint_eq(r.err.partial, 5);
	ck_assert_int_eq(r.err.expected, -1);
	result_free(&r);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(in, sizeof(in), CHUNKED "3\r\nabc\r\n%s\r\nxyz", bad[i]);
		run_all(in, strlen(in), 0, &r);
		expect_err(&r, HPOOL_E_INCOMPLETE_READ,
		    "IncompleteRead(3 bytes read)");
		result_free(&r);
	}
}
END_TEST

START_TEST(t_chunked_truncated)
{
	struct result r;

	/* partial counts whole chunks only, as _read_chunked() does */
	RUN(CHUNKED "3\r\nabc\r\n5\r\nhel", &r);
	expect_err(&r, HPOOL_E_INCOMPLETE_READ, "IncompleteRead(3 bytes read)");
	/* the cut chunk is held back and dropped, as Python drops it */
	ck_assert_uint_eq(r.body_len, 3);
	result_free(&r);
	RUN(CHUNKED "5\r\nhello", &r);
	expect_err(&r, HPOOL_E_INCOMPLETE_READ, "IncompleteRead(5 bytes read)");
	result_free(&r);
	{
		/* a chunk larger than HP_CHUNK_HOLD cut short: whole 64 KiB
		 * pieces pass, the cut piece does not */
		static const char hdr[] = CHUNKED "186a0\r\n";
		size_t n = sizeof(hdr) - 1 + 70000;
		char *in = malloc(n);

		ck_assert_ptr_nonnull(in);
		memcpy(in, hdr, sizeof(hdr) - 1);
		memset(in + sizeof(hdr) - 1, 'x', 70000);
		run_all(in, n, 0, &r);
		expect_err(&r, HPOOL_E_INCOMPLETE_READ,
		    "IncompleteRead(0 bytes read)");
		ck_assert_uint_eq(r.body_len, HP_CHUNK_HOLD);
		result_free(&r);
		free(in);
	}
	RUN(CHUNKED "5\r\nhello\r", &r);
	expect_err(&r, HPOOL_E_INCOMPLETE_READ, "IncompleteRead(5 bytes read)");
	result_free(&r);
	RUN(CHUNKED "5\r\nhello\r\n", &r);
	expect_err(&r, HPOOL_E_INCOMPLETE_READ, "IncompleteRead(5 bytes read)");
	result_free(&r);
	RUN(CHUNKED "5\r\nhello\r\n3", &r);
	expect_err(&r, HPOOL_E_INCOMPLETE_READ, "IncompleteRead(5 bytes read)");
	result_free(&r);
	RUN(CHUNKED, &r);
	expect_err(&r, HPOOL_E_INCOMPLETE_READ, "IncompleteRead(0 bytes read)");
	result_free(&r);
}
END_TEST

START_TEST(t_chunked_crlf)
{
	struct result r;

	/* the two bytes after the data are never looked at */
	RUN(CHUNKED "5\r\nhelloXY3\r\nabc\r\n0\r\n\r\n", &r);
	expect_body(&r, "helloabc");
	ck_assert_int_eq(r.body_reusable, 0);
	result_free(&r);
	/* so LF alone there eats the next size line's first byte */
	RUN(CHUNKED "5\nhello\n3\nabc\n0\n\n", &r);
	expect_err(&r, HPOOL_E_INCOMPLETE_READ, "IncompleteRead(5 bytes read)");
	result_free(&r);
	/* LF-only size and trailer lines are fine, and noted */
	RUN(CHUNKED "5\nhello\r\n0\n\n", &r);
	expect_body(&r, "hello");
	ck_assert_int_eq(r.body_bare_lf, 1);
	ck_assert_int_eq(r.body_reusable, 1);
	result_free(&r);
}
END_TEST

START_TEST(t_chunked_negative_huge)
{
	struct result r;

	/* read(-5) reads to EOF; then the CRLF read fails */
	RUN(CHUNKED "-5\r\nhelloworld", &r);
	expect_err(&r, HPOOL_E_INCOMPLETE_READ, "IncompleteRead(10 bytes read)");
	ck_assert_uint_eq(r.body_len, 10);
	result_free(&r);
	RUN(CHUNKED "-8000000000000000\r\nx", &r);
	expect_err(&r, HPOOL_E_INCOMPLETE_READ, "IncompleteRead(1 bytes read)");
	result_free(&r);
	RUN(CHUNKED "-8000000000000001\r\nx", &r);
	expect_err(&r, HPOOL_E_OVERFLOW,
	    "cannot fit 'int' into an index-sized integer");
	result_free(&r);
	RUN(CHUNKED "ffffffffffffffffffff\r\nhello", &r);
	expect_err(&r, HPOOL_E_OVERFLOW,
	    "cannot fit 'int' into an index-sized integer");
	result_free(&r);
	RUN(CHUNKED "8000000000000000\r\nhello", &r);
	expect_err(&r, HPOOL_E_OVERFLOW,
	    "cannot fit 'int' into an index-sized integer");
	result_free(&r);
	RUN(CHUNKED "7fffffffffffffff\r\nhello", &r);
	expect_err(&r, HPOOL_E_INCOMPLETE_READ, "IncompleteRead(0 bytes read)");
	ck_assert_uint_eq(r.body_len, 0);
	result_free(&r);
}
END_TEST

START_TEST(t_chunked_long_lines)
{
	struct result r;
	char *s;
	size_t len;

	/* leading zeros: a long but valid size line */
	s = line_of(CHUNKED "5;", HP_MAXLINE + sizeof(CHUNKED) - 1,
	    "hello\r\n0\r\n\r\n", &len);
	run_all(s, len, 0, &r);
	expect_body(&r, "hello");
	result_free(&r);
	free(s);
	s = line_of(CHUNKED "5;", HP_MAXLINE + sizeof(CHUNKED),
	    "hello\r\n0\r\n\r\n", &len);
	run_all(s, len, 0, &r);
	expect_err(&r, HPOOL_E_LINE_TOO_LONG,
	    "got more than 65536 bytes when reading chunk size");
	result_free(&r);
	free(s);
	s = line_of(CHUNKED "0\r\nT: ", HP_MAXLINE + sizeof(CHUNKED) + 2,
	    "\r\n", &len);
	run_all(s, len, 0, &r);
	expect_body(&r, "");
	result_free(&r);
	free(s);
	s = line_of(CHUNKED "0\r\nT: ", HP_MAXLINE + sizeof(CHUNKED) + 3,
	    "\r\n", &len);
	run_all(s, len, 0, &r);
	expect_err(&r, HPOOL_E_LINE_TOO_LONG,
	    "got more than 65536 bytes when reading trailer line");
	result_free(&r);
	free(s);
}
END_TEST

START_TEST(t_te_variants)
{
	struct result r;

	/* only an exact "chunked" (any case) in the first header counts */
	RUN("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked \r\n"
	    "Content-Length: 2\r\n\r\nhiya", &r);
	ck_assert_int_eq(r.framing, HP_FRAME_LENGTH);
	expect_body(&r, "hi");
	ck_assert_int_eq(r.head_reusable, 0);
	result_free(&r);
	RUN("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n"
	    "Transfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\nhiya", &r);
	ck_assert_int_eq(r.framing, HP_FRAME_LENGTH);
	ck_assert_int_eq(r.head_reusable, 0);
	result_free(&r);
	RUN("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
	    "0\r\n\r\n", &r);
	ck_assert_int_eq(r.framing, HP_FRAME_CLOSE);
	expect_body(&r, "0\r\n\r\n");
	result_free(&r);
	/* chunked wins over Content-Length, which smells */
	RUN("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n", &r);
	ck_assert_int_eq(r.framing, HP_FRAME_CHUNKED);
	ck_assert_int_eq(r.length, -1);
	expect_body(&r, "x");
	ck_assert_int_eq(r.head_reusable, 0);
	result_free(&r);
	RUN("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", &r);
	ck_assert_int_eq(r.head_reusable, 0);
	result_free(&r);
}
END_TEST

START_TEST(t_close_delimited)
{
	struct result r;

	RUN("HTTP/1.1 200 OK\r\nX: y\r\n\r\nall of it\r\n0\r\n", &r);
	ck_assert_int_eq(r.framing, HP_FRAME_CLOSE);
	ck_assert_int_eq(r.length, -1);
	ck_assert_int_eq(r.will_close, 1);
	ck_assert_int_eq(r.head_reusable, 0);
	expect_body(&r, "all of it\r\n0\r\n");
	result_free(&r);
	RUN("HTTP/1.1 200 OK\r\n\r\n", &r);
	expect_body(&r, "");
	result_free(&r);
}
END_TEST

START_TEST(t_head_method)
{
	struct result r;

	RUN_HEAD("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", &r);
	ck_assert_int_eq(r.framing, HP_FRAME_NONE);
	ck_assert_int_eq(r.length, 0);
	ck_assert_int_eq(r.will_close, 0);
	ck_assert_int_eq(r.head_reusable, 1);
	expect_body(&r, "");
	ck_assert_int_eq(r.body_reusable, 1);
	result_free(&r);
	RUN_HEAD("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", &r);
	ck_assert_int_eq(r.framing, HP_FRAME_NONE);
	expect_body(&r, "");
	ck_assert_int_eq(r.body_reusable, 1);
	result_free(&r);
	RUN_HEAD("HTTP/1.1 200 OK\r\n\r\n", &r);
	ck_assert_int_eq(r.will_close, 0);
	expect_body(&r, "");
	result_free(&r);
	/* a body after a HEAD response is not the response's */
	RUN_HEAD("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", &r);
	expect_body(&r, "");
	result_free(&r);
}
END_TEST

START_TEST(t_continue)
{
	struct result r;
	char *s;
	size_t len;

	RUN("HTTP/1.1 100 Continue\r\nX: y\r\n\r\nHTTP/1.1 200 OK\r\n"
	    "Content-Length: 2\r\n\r\nhi", &r);
	ck_assert_int_eq(r.n100, 1);
	ck_assert_int_eq(r.status, 200);
	expect_hdrs(&r, "Content-Length=2\n");
	expect_body(&r, "hi");
	ck_assert_int_eq(r.head_reusable, 1);
	result_free(&r);
	/* a 100's version is never checked, nor its headers parsed */
	RUN("HTTP/9 100 Continue\r\nbogus\r\n\r\nHTTP/1.1 100 x\r\n\r\n"
	    "HTTP/1.0 200 OK\r\nContent-Length: 2\r\nKeep-Alive: x\r\n\r\nhi",
	    &r);
	ck_assert_int_eq(r.n100, 2);
	ck_assert_int_eq(r.version, 10);
	ck_assert_int_eq(r.will_close, 0);
	expect_body(&r, "hi");
	result_free(&r);
	RUN("HTTP/1.1 100 Continue\r\n\r\n", &r);
	expect_err(&r, HPOOL_E_REMOTE_DISCONNECTED,
	    "Remote end closed connection without response");
	result_free(&r);
	RUN("HTTP/1.1 100 Continue\r\nX: y", &r);
	expect_err(&r, HPOOL_E_REMOTE_DISCONNECTED,
	    "Remote end closed connection without response");
	result_free(&r);
	s = repeat("HTTP/1.1 100 Continue\r\n", "X: a\r\n", 100, "\r\n", &len);
	run_all(s, len, 0, &r);
	expect_err(&r, HPOOL_E_HTTP_EXCEPTION, "got more than 100 headers");
	result_free(&r);
	free(s);
	s = line_of("HTTP/1.1 100 Continue\r\nX: ", HP_MAXLINE + 25, "\r\n",
	    &len);
	run_all(s, len, 0, &r);
	expect_err(&r, HPOOL_E_LINE_TOO_LONG,
	    "got more than 65536 bytes when reading header line");
	result_free(&r);
	free(s);
}
END_TEST

START_TEST(t_informational_final)
{
	struct result r;

	RUN("HTTP/1.1 101 Switching Protocols\r\nContent-Length: 2\r\n\r\nhi",
	    &r);
	ck_assert_int_eq(r.status, 101);
	ck_assert_int_eq(r.framing, HP_FRAME_NONE);
	ck_assert_int_eq(r.length, 0);
	ck_assert_int_eq(r.head_reusable, 0);
	expect_body(&r, "");
	result_free(&r);
	RUN("HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n", &r);
	ck_assert_int_eq(r.head_reusable, 0);
	expect_body(&r, "");
	result_free(&r);
}
END_TEST

START_TEST(t_no_content)
{
	struct result r;

	RUN("HTTP/1.1 204 No Content\r\n\r\n", &r);
	ck_assert_int_eq(r.framing, HP_FRAME_NONE);
	ck_assert_int_eq(r.will_close, 0);
	ck_assert_int_eq(r.head_reusable, 1);
	expect_body(&r, "");
	result_free(&r);
	RUN("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", &r);
	ck_assert_int_eq(r.length, 0);
	ck_assert_int_eq(r.head_reusable, 0);
	result_free(&r);
	RUN("HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n", &r);
	ck_assert_int_eq(r.framing, HP_FRAME_NONE);
	ck_assert_int_eq(r.length, 0);
	ck_assert_int_eq(r.head_reusable, 1);
	expect_body(&r, "");
	result_free(&r);
	/* Python does read a chunked body after 204 or 304 */
	RUN("HTTP/1.1 204 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "5\r\nhello\r\n0\r\n\r\n", &r);
	ck_assert_int_eq(r.framing, HP_FRAME_CHUNKED);
	ck_assert_int_eq(r.length, 0);
	expect_body(&r, "hello");
	ck_assert_int_eq(r.head_reusable, 0);
	result_free(&r);
}
END_TEST

START_TEST(t_keepalive)
{
	struct result r;

	RUN("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi", &r);
	ck_assert_int_eq(r.will_close, 1);
	ck_assert_int_eq(r.head_reusable, 0);
	result_free(&r);
	RUN("HTTP/1.0 200 OK\r\nContent-Length: 2\r\nKeep-Alive: x\r\n\r\nhi",
	    &r);
	ck_assert_int_eq(r.will_close, 0);
	ck_assert_int_eq(r.head_reusable, 1);
	result_free(&r);
	RUN("HTTP/1.0 200 OK\r\nContent-Length: 2\r\nKeep-Alive:\r\n\r\nhi",
	    &r);
	ck_assert_int_eq(r.will_close, 1);
	result_free(&r);
	RUN("HTTP/1.0 200 OK\r\nContent-Length: 2\r\nConnection: Keep-Alivex"
	    "\r\n\r\nhi", &r);
	ck_assert_int_eq(r.will_close, 0);
	result_free(&r);
	RUN("HTTP/1.0 200 OK\r\nContent-Length: 2\r\nProxy-Connection: "
	    "KEEP-ALIVE\r\n\r\nhi", &r);
	ck_assert_int_eq(r.will_close, 0);
	result_free(&r);
	/* keep-alive without a length: still read to close */
	RUN("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\nhi", &r);
	ck_assert_int_eq(r.will_close, 1);
	ck_assert_int_eq(r.framing, HP_FRAME_CLOSE);
	result_free(&r);
	/* HTTP/1.1: "close" anywhere in Connection */
	RUN("HTTP/1.1 200 OK\r\nConnection: xCLOSEy\r\nContent-Length: 2\r\n"
	    "\r\nhi", &r);
	ck_assert_int_eq(r.will_close, 1);
	ck_assert_int_eq(r.framing, HP_FRAME_LENGTH);
	ck_assert_int_eq(r.head_reusable, 0);
	expect_body(&r, "hi");
	result_free(&r);
	RUN("HTTP/1.1 200 OK\r\nKeep-Alive: x\r\nConnection: upgrade\r\n"
	    "Content-Length: 0\r\n\r\n", &r);
	ck_assert_int_eq(r.will_close, 0);
	result_free(&r);
}
END_TEST

START_TEST(t_bare_lf)
{
	struct result r;

	RUN("HTTP/1.1 200 OK\nContent-Length: 2\n\nhi", &r);
	expect_body(&r, "hi");
	ck_assert_int_eq(r.head_bare_lf, 1);
	ck_assert_int_eq(r.head_reusable, 1);
	result_free(&r);
	RUN("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\nhi", &r);
	expect_body(&r, "hi");
	ck_assert_int_eq(r.head_bare_lf, 1);
	result_free(&r);
}
END_TEST

/* --- the API itself --- */

START_TEST(t_api_again)
{
	struct hp_head h;
	struct hp_body b;
	struct hp_error e;
	const char *d;
	size_t c, dl;
	static const char in[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: "
	    "chunked\r\n\r\n";

	memset(&h, 0, sizeof(h));
	ck_assert_int_eq(hp_head_parse(in, 10, 0, 0, &h, &c, &e), HP_AGAIN);
	ck_assert_uint_eq(c, 0);
	ck_assert_int_eq(hp_head_parse(in, sizeof(in) - 2, 0, 0, &h, &c, &e),
	    HP_AGAIN);
	ck_assert_int_eq(hp_head_parse(in, sizeof(in) - 1, 0, 0, &h, &c, &e),
	    HP_DONE);
	ck_assert_uint_eq(c, sizeof(in) - 1);
	hp_body_init(&b, &h);
	hp_head_free(&h);
	/* data, then the CRLF used up although the next line is cut */
	ck_assert_int_eq(hp_body_parse(&b, "3\r\nabc\r\n1", 10, 0, &d, &dl,
	    &c, &e), HP_DATA);
	ck_assert_uint_eq(dl, 3);
	ck_assert_mem_eq(d, "abc", 3);
	ck_assert_uint_eq(c, 6);
	ck_assert_int_eq(hp_body_parse(&b, "\r\n1", 3, 0, &d, &dl, &c, &e),
	    HP_AGAIN);
	ck_assert_uint_eq(c, 2);
	ck_assert_int_eq(hp_body_parse(&b, "1", 1, 0, &d, &dl, &c, &e),
	    HP_AGAIN);
	ck_assert_uint_eq(c, 0);
	ck_assert_int_eq(hp_body_parse(&b, "", 0, 0, &d, &dl, &c, &e),
	    HP_AGAIN);
	ck_assert_int_eq(hp_body_parse(&b, "0\r\n\r\n", 5, 0, &d, &dl, &c, &e),
	    HP_DONE);
	ck_assert_uint_eq(c, 5);
	ck_assert_uint_eq(b.received, 3);
	ck_assert_int_eq(b.reusable, 1);
	ck_assert_int_eq(hp_body_parse(&b, "", 0, 1, &d, &dl, &c, &e),
	    HP_DONE);
}
END_TEST

static Suite *
http_parse_suite(void)
{
	Suite *s = suite_create("http_parse");
	TCase *tc;

	tc = tcase_create("status");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, t_status_ok);
	tcase_add_test(tc, t_status_versions);
	tcase_add_test(tc, t_status_bad);
	tcase_add_test(tc, t_status_pyint);
	tcase_add_test(tc, t_status_spaces);
	tcase_add_test(tc, t_empty);
	tcase_add_test(tc, t_status_eof);
	tcase_add_test(tc, t_status_too_long);
	suite_add_tcase(s, tc);

	tc = tcase_create("headers");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, t_hdr_basic);
	tcase_add_test(tc, t_hdr_continuation);
	tcase_add_test(tc, t_hdr_no_colon);
	tcase_add_test(tc, t_hdr_dropped_lines);
	tcase_add_test(tc, t_hdr_bare_cr);
	tcase_add_test(tc, t_hdr_count);
	tcase_add_test(tc, t_hdr_too_long);
	tcase_add_test(tc, t_bare_lf);
	suite_add_tcase(s, tc);

	tc = tcase_create("framing");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, t_len_basic);
	tcase_add_test(tc, t_len_pyint);
	tcase_add_test(tc, t_len_repeated);
	tcase_add_test(tc, t_len_truncated);
	tcase_add_test(tc, t_len_huge);
	tcase_add_test(tc, t_chunked_basic);
	tcase_add_test(tc, t_chunked_ext_trailers);
	tcase_add_test(tc, t_chunked_pyint_sizes);
	tcase_add_test(tc, t_chunked_bad_size);
	tcase_add_test(tc, t_chunked_truncated);
	tcase_add_test(tc, t_chunked_crlf);
	tcase_add_test(tc, t_chunked_negative_huge);
	tcase_add_test(tc, t_chunked_long_lines);
	tcase_add_test(tc, t_te_variants);
	tcase_add_test(tc, t_close_delimited);
	tcase_add_test(tc, t_head_method);
	tcase_add_test(tc, t_continue);
	tcase_add_test(tc, t_informational_final);
	tcase_add_test(tc, t_no_content);
	tcase_add_test(tc, t_keepalive);
	tcase_add_test(tc, t_api_again);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(http_parse_suite());
}
