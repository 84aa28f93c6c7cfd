/*
 * debug.c: owns set_debuglevel()'s output: the `send:`, `reply:` and
 * `header:` lines http.client prints to stdout, with Python's repr().
 */
#include <stdio.h>
#include <string.h>

#include "client.h"

static char	repr_quote(const struct debug_iov *, size_t, int as_bytes);
static void	put_latin1(FILE *, unsigned char);
static int	str_printable(unsigned char);

/*
 * repr() picks single quotes unless the text holds a single quote and
 * no double quote; the choice is over the whole text, so every piece
 * is looked at first.
 */
static char
repr_quote(const struct debug_iov *iov, size_t n, int as_bytes)
{
	size_t i;
	int squote = 0, dquote = 0;

	(void)as_bytes;
	for (i = 0; i < n; i++) {
		if (iov[i].len == 0)
			continue;
		if (memchr(iov[i].p, '\'', iov[i].len) != NULL)
			squote = 1;
		if (memchr(iov[i].p, '"', iov[i].len) != NULL)
			dquote = 1;
	}
	return squote && !dquote ? '"' : '\'';
}

/* str.isprintable() for U+0000..U+00FF (latin-1 decoded bytes). */
static int
str_printable(unsigned char c)
{
	if (c < 0x20 || (c >= 0x7f && c <= 0xa0) || c == 0xad)
		return 0;
	return 1;
}

/* A latin-1 character as Python's stdout (UTF-8) writes it. */
static void
put_latin1(FILE *fp, unsigned char c)
{
	if (c < 0x80)
		putc(c, fp);
	else {
		putc(0xc0 | (c >> 6), fp);
		putc(0x80 | (c & 0x3f), fp);
	}
}

/*
 * repr() of bytes (b'...') or of a latin-1 str ('...') made of the
 * pieces in iov, written to fp without any length cap: debug output is
 * the whole request, as Python prints it.
 */
void
debug_repr(FILE *fp, const struct debug_iov *iov, size_t n, int as_bytes)
{
	const unsigned char *p;
	size_t i, j;
	char q = repr_quote(iov, n, as_bytes);
	unsigned char c;

	if (as_bytes)
		putc('b', fp);
	putc(q, fp);
	for (i = 0; i < n; i++) {
		p = iov[i].p;
		for (j = 0; j < iov[i].len; j++) {
			c = p[j];
			if (c == '\\' || c == (unsigned char)q)
				fprintf(fp, "\\%c", c);
			else if (c == '\t')
				fputs("\\t", fp);
			else if (c == '\n')
				fputs("\\n", fp);
			else if (c == '\r')
				fputs("\\r", fp);
			else if (as_bytes ? (c < 0x20 || c >= 0x7f) :
			    !str_printable(c))
				fprintf(fp, "\\x%02x", c);
			else if (as_bytes)
				putc(c, fp);
			else
				put_latin1(fp, c);
		}
	}
	putc(q, fp);
}

/* print("send:", repr(data)) for one piece of request. */
void
debug_send(const struct debug_iov *iov, size_t n)
{
	fputs("send: ", stdout);
	debug_repr(stdout, iov, n, 1);
	putc('\n', stdout);
}

/*
 * A piece of body as http.client sends it: with encode_chunked, framed
 * as a chunk ("%X\r\n" data "\r\n"), though hpoold does that framing.
 */
void
debug_send_body(const void *data, size_t len, int chunked)
{
	struct debug_iov iov[3];
	char size[32];

	if (!chunked) {
		iov[0].p = data;
		iov[0].len = len;
		debug_send(iov, 1);
		return;
	}
	snprintf(size, sizeof(size), "%zX\r\n", len);
	iov[0].p = size;
	iov[0].len = strlen(size);
	iov[1].p = data;
	iov[1].len = len;
	iov[2].p = "\r\n";
	iov[2].len = 2;
	debug_send(iov, 3);
}

/* A line http.client prints as is (print(text)). */
void
debug_note(const char *text)
{
	puts(text);
}

/* "send:" for the request head, built as http.client builds it. */
void
debug_send_head(const hpool_conn *c)
{
	/* Request line, 4 pieces per header, the blank line. */
	struct debug_iov iov[4 + 4 * PROTO_MAX_HEADERS + 1];
	size_t n = 0, i;

	iov[n].p = c->method;
	iov[n++].len = strlen(c->method);
	iov[n].p = " ";
	iov[n++].len = 1;
	iov[n].p = c->url;
	iov[n++].len = strlen(c->url);
	iov[n].p = " HTTP/1.1\r\n";
	iov[n++].len = 11;
	for (i = 0; i < c->nhdrs; i++) {
		iov[n].p = c->hdrs[i].name;
		iov[n++].len = strlen(c->hdrs[i].name);
		iov[n].p = ": ";
		iov[n++].len = 2;
		iov[n].p = c->hdrs[i].value;
		iov[n++].len = strlen(c->hdrs[i].value);
		iov[n].p = "\r\n";
		iov[n++].len = 2;
	}
	iov[n].p = "\r\n";
	iov[n++].len = 2;
	debug_send(iov, n);
}

/*
 * What HTTPResponse.begin() prints: the status line (rebuilt from the
 * parsed parts: hpoold sends those, not the raw line), then each header.
 */
void
debug_response(const hpool_response *r)
{
	struct debug_iov iov[2];
	char line[32];
	size_t i, j;
	const char *s;

	snprintf(line, sizeof(line), "HTTP/1.%d %d%s", r->version == 10 ?
	    0 : 1, r->status, r->reason[0] != '\0' ? " " : "");
	iov[0].p = line;
	iov[0].len = strlen(line);
	iov[1].p = r->reason;
	iov[1].len = strlen(r->reason);
	fputs("reply: ", stdout);
	{
		struct debug_iov all[3] = { iov[0], iov[1], { "\r\n", 2 } };

		debug_repr(stdout, all, 3, 0);
	}
	putc('\n', stdout);
	for (i = 0; i < r->nheaders; i++) {
		fputs("header: ", stdout);
		for (s = r->headers[i].name, j = 0; s[j] != '\0'; j++)
			put_latin1(stdout, (unsigned char)s[j]);
		fputs(": ", stdout);
		for (s = r->headers[i].value, j = 0; s[j] != '\0'; j++)
			put_latin1(stdout, (unsigned char)s[j]);
		putc('\n', stdout);
	}
}

void
hpool_conn_set_debuglevel(hpool_conn *c, int level)
{
	c->debuglevel = level;
}

int
hpool_conn_debuglevel(const hpool_conn *c)
{
	return c->debuglevel;
}
