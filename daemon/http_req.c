/* http_req.c: owns request validation (the checks http.client makes, and
 * the stricter ones a shared connection needs) and head serialization. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "hpool_error.h"
#include "http_req.h"

static int	is_tchar(unsigned char);
static int	value_ok(const struct proto_str *);
static int	name_is(const struct proto_str *, const char *);
static int	has_header(const struct proto_req_head *, const char *);
static int	refuse(struct req_check *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

/* Methods that RFC 9110 calls idempotent: safe to retry on a new
 * connection when a pooled one turned out dead before any reply. */
static const char *const idempotent_methods[] = {
	"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE",
};

/* Methods whose body has no defined meaning (RFC 9110 9.3): a lenient
 * server may skip the Content-Length and read the body as the next
 * request on the connection, so a body on them is never followed by
 * another caller's request. */
static const char *const bodyless_methods[] = {
	"GET", "HEAD", "DELETE", "OPTIONS", "TRACE",
};

/* Authentication schemes that authenticate the TCP connection, not the
 * request (RFC 4559; MS-NTHT). */
static const char *const conn_bound_schemes[] = {
	"NTLM", "Negotiate",
};

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static int
is_tchar(unsigned char c)
{
	return isalnum(c) || (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* http.client refuses a value with a CR or LF that does not start a
 * continuation line; a NUL is refused too, since no server takes it. */
static int
value_ok(const struct proto_str *v)
{
	size_t i;

	for (i = 0; i < v->len; i++) {
		unsigned char c = (unsigned char)v->p[i];
		unsigned char next = i + 1 < v->len ? (unsigned char)v->p[i + 1]
		    : 0;

		if (c == '\0')
			return 0;
		if (c == '\n' && next != ' ' && next != '\t')
			return 0;
		if (c == '\r' && next != ' ' && next != '\t' && next != '\n')
			return 0;
	}
	return 1;
}

static int
name_is(const struct proto_str *s, const char *name)
{
	return s->len == strlen(name) && strncasecmp(s->p, name, s->len) == 0;
}

static int
refuse(struct req_check *rc, int code, const char *fmt, ...)
{
	va_list ap;

	rc->code = code;
	va_start(ap, fmt);
	vsnprintf(rc->message, sizeof(rc->message), fmt, ap);
	va_end(ap);
	return -1;
}

static int
parse_length(const struct proto_str *v, uint64_t *out)
{
	uint64_t n = 0;
	size_t i;

	if (v->len == 0 || v->len > 19)
		return -1;
	for (i = 0; i < v->len; i++) {
		if (v->p[i] < '0' || v->p[i] > '9')
			return -1;
		n = n * 10 + (uint64_t)(v->p[i] - '0');
	}
	*out = n;
	return 0;
}

int
req_check(const struct proto_req_head *h, struct req_check *rc)
{
	const struct proto_header *hd;
	int have_length = 0, have_te = 0;
	uint64_t len;
	size_t i, j;

	memset(rc, 0, sizeof(*rc));
	if (h->method.len == 0 || h->method.len > 64)
		return refuse(rc, HPOOL_E_VALUE_ERROR,
		    "Invalid method: empty or longer than 64 bytes");
	for (i = 0; i < h->method.len; i++)
		if (!is_tchar((unsigned char)h->method.p[i]))
			return refuse(rc, HPOOL_E_VALUE_ERROR,
			    "method can't contain control characters or "
			    "separators (byte 0x%02x at %zu)",
			    (unsigned char)h->method.p[i], i);
	if (h->url.len == 0)
		return refuse(rc, HPOOL_E_INVALID_URL, "URL can't be empty");
	for (i = 0; i < h->url.len; i++) {
		unsigned char c = (unsigned char)h->url.p[i];

		if (c <= 0x20 || c == 0x7f)
			return refuse(rc, HPOOL_E_INVALID_URL,
			    "URL can't contain control characters "
			    "(byte 0x%02x at %zu)", c, i);
	}
	for (i = 0; i < h->nheaders; i++) {
		hd = &h->headers[i];
		if (hd->name.len == 0)
			return refuse(rc, HPOOL_E_VALUE_ERROR,
			    "Invalid header name ''");
		for (j = 0; j < hd->name.len; j++)
			if (!is_tchar((unsigned char)hd->name.p[j]))
				return refuse(rc, HPOOL_E_VALUE_ERROR,
				    "Invalid header name %.*s",
				    (int)(hd->name.len > 64 ? 64 :
				    hd->name.len), hd->name.p);
		if (!value_ok(&hd->value))
			return refuse(rc, HPOOL_E_VALUE_ERROR,
			    "Invalid header value for %.*s",
			    (int)(hd->name.len > 64 ? 64 : hd->name.len),
			    hd->name.p);
		if (name_is(&hd->name, "content-length")) {
			if (parse_length(&hd->value, &len) == -1)
				return refuse(rc, HPOOL_E_VALUE_ERROR,
				    "Content-Length must be a decimal number");
			if (have_length && len != rc->length)
				return refuse(rc, HPOOL_E_VALUE_ERROR,
				    "conflicting Content-Length headers");
			have_length = 1;
			rc->length = len;
		} else if (name_is(&hd->name, "transfer-encoding")) {
			/* The daemon frames the body itself, so it must know
			 * the coding: only plain chunked is accepted. */
			if (have_te || !name_is(&hd->value, "chunked"))
				return refuse(rc, HPOOL_E_VALUE_ERROR,
				    "hpoold sends request bodies only with "
				    "'Transfer-Encoding: chunked' or "
				    "Content-Length");
			have_te = 1;
		}
	}
	if (have_length && have_te)
		return refuse(rc, HPOOL_E_VALUE_ERROR, "request has both "
		    "Content-Length and Transfer-Encoding");
	if (have_te)
		rc->framing = REQ_FRAME_CHUNKED;
	else if (have_length && rc->length > 0)
		rc->framing = REQ_FRAME_LENGTH;
	else
		rc->framing = REQ_FRAME_NONE;
	rc->is_head = proto_str_eq(&h->method, "HEAD");
	rc->is_connect = proto_str_eq(&h->method, "CONNECT");
	for (i = 0; i < NELEM(idempotent_methods); i++)
		if (proto_str_eq(&h->method, idempotent_methods[i]))
			rc->idempotent = 1;
	if (rc->framing != REQ_FRAME_NONE)
		for (i = 0; i < NELEM(bodyless_methods); i++)
			if (proto_str_eq(&h->method, bodyless_methods[i]))
				rc->no_reuse = 1;
	if (rc->is_connect)
		rc->no_reuse = 1;
	for (i = 0; i < h->nheaders; i++) {
		hd = &h->headers[i];
		if (name_is(&hd->name, "idempotency-key") ||
		    name_is(&hd->name, "x-idempotency-key"))
			rc->idempotent = 1;
		else if ((name_is(&hd->name, "authorization") ||
		    name_is(&hd->name, "proxy-authorization")) &&
		    req_auth_conn_bound(hd->value.p, hd->value.len))
			rc->conn_auth = 1;
	}
	return 0;
}

int
req_auth_conn_bound(const char *v, size_t len)
{
	size_t i = 0, j, n;

	/* Each challenge (or the credentials) starts with its scheme, a
	 * token, at the start or after a comma. A comma inside a quoted
	 * parameter may make this see a scheme that is not there: that
	 * errs toward a private connection, never toward a shared one. */
	while (i < len) {
		while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		for (j = 0; j < NELEM(conn_bound_schemes); j++) {
			n = strlen(conn_bound_schemes[j]);
			if (len - i >= n && strncasecmp(v + i,
			    conn_bound_schemes[j], n) == 0 && (len - i == n ||
			    v[i + n] == ' ' || v[i + n] == '\t' ||
			    v[i + n] == ','))
				return 1;
		}
		while (i < len && v[i] != ',')
			i++;
	}
	return 0;
}

static int
has_header(const struct proto_req_head *h, const char *name)
{
	size_t i;

	for (i = 0; i < h->nheaders; i++)
		if (name_is(&h->headers[i].name, name))
			return 1;
	return 0;
}

int
req_write_head(struct evbuffer *out, const struct proto_req_head *h,
    int close, const struct req_form *f)
{
	const struct proto_header *x = f != NULL ? f->extra : NULL;
	char xname[128];
	size_t i;
	int rc = 0;

	if (x != NULL) {
		if (x->name.len >= sizeof(xname))
			return -1;
		memcpy(xname, x->name.p, x->name.len);
		xname[x->name.len] = '\0';
	}
	rc |= evbuffer_add(out, h->method.p, h->method.len);
	rc |= evbuffer_add(out, " ", 1);
	if (f != NULL && f->url_prefix != NULL && h->url.len > 0 &&
	    h->url.p[0] == '/')
		rc |= evbuffer_add(out, f->url_prefix, strlen(f->url_prefix));
	rc |= evbuffer_add(out, h->url.p, h->url.len);
	rc |= evbuffer_add(out, " HTTP/1.1\r\n", 11);
	if (f != NULL && f->host != NULL && !has_header(h, "host"))
		rc |= evbuffer_add_printf(out, "Host: %s\r\n", f->host) < 0;
	if (close)
		rc |= evbuffer_add(out, "Connection: close\r\n", 19);
	for (i = 0; i < h->nheaders; i++) {
		if (close && name_is(&h->headers[i].name, "connection"))
			continue;
		if (x != NULL && name_is(&h->headers[i].name, xname))
			continue;
		rc |= evbuffer_add(out, h->headers[i].name.p,
		    h->headers[i].name.len);
		rc |= evbuffer_add(out, ": ", 2);
		rc |= evbuffer_add(out, h->headers[i].value.p,
		    h->headers[i].value.len);
		rc |= evbuffer_add(out, "\r\n", 2);
	}
	if (x != NULL) {
		rc |= evbuffer_add(out, x->name.p, x->name.len);
		rc |= evbuffer_add(out, ": ", 2);
		rc |= evbuffer_add(out, x->value.p, x->value.len);
		rc |= evbuffer_add(out, "\r\n", 2);
	}
	rc |= evbuffer_add(out, "\r\n", 2);
	return rc ? -1 : 0;
}

int
req_form_url_ok(const struct proto_str *url)
{
	return (url->len > 0 && url->p[0] == '/') ||
	    (url->len >= 7 && strncasecmp(url->p, "http://", 7) == 0);
}

int
req_header_ok(const struct proto_header *h)
{
	size_t j;

	if (h->name.len == 0)
		return 0;
	for (j = 0; j < h->name.len; j++)
		if (!is_tchar((unsigned char)h->name.p[j]))
			return 0;
	return value_ok(&h->value);
}

int
req_host_ok(const struct proto_str *s)
{
	size_t i;

	if (s->len == 0 || s->len > 255)
		return 0;
	for (i = 0; i < s->len; i++) {
		unsigned char c = (unsigned char)s->p[i];

		/* Names, IPv4 and IPv6 literals (and zone ids). */
		if (!isalnum(c) && strchr("-._:%", c) == NULL)
			return 0;
	}
	return 1;
}
