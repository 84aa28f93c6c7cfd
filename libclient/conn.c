/*
 * conn.c: owns HTTPConnection: host and port parsing, the tunnel,
 * request validation, the http.client state machine (Idle,
 * Request-started, Request-sent) and turning a request into REQ_HEAD /
 * REQ_BODY / REQ_END frames. request() and its bodies are in body.c.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client.h"
#include "link.h"

/* socket.getdefaulttimeout(): negative is None. */
static double	default_timeout = -1.0;

static const char *const state_names[] = {
	[CS_IDLE] = "Idle",
	[CS_REQ_STARTED] = "Request-started",
	[CS_REQ_SENT] = "Request-sent",
};

static void	conn_set_state(hpool_conn *, enum conn_state);
static void	conn_clear_request(hpool_conn *);
static int	conn_new(hpool_conn **, const char *, int, int,
		    const struct hpool_conn_opts *, struct hpool_error *);
static int	py_int(const char *, size_t, long *);
static int	check_ascii(hpool_conn *, const char *, size_t pos0);
static int	add_header(hpool_conn *, const char *, size_t, const char *,
		    size_t);
static int	put_host(hpool_conn *, const char *url);
static const char *find_header(const hpool_conn *, const char *);
static int	conn_ensure_link(hpool_conn *, int lazy);
static int	conn_end_request(hpool_conn *);
static int	conn_no_response(hpool_conn *);
static int	is_space(int);

void
hpool_set_default_timeout(double seconds)
{
	default_timeout = seconds;
}

void
conn_note_error(hpool_conn *c, const struct hpool_error *e)
{
	if (c != NULL && e != &c->err)
		c->err = *e;
}

/* The one place the state changes. */
static void
conn_set_state(hpool_conn *c, enum conn_state s)
{
	c->state = s;
}

/* Python's str.isspace() on the ASCII range, as int() strips it. */
static int
is_space(int ch)
{
	return ch == ' ' || (ch >= '\t' && ch <= '\r') ||
	    (ch >= 0x1c && ch <= 0x1f);
}

/*
 * int(s) for the decimal forms Python accepts: surrounding whitespace, a
 * sign, digits with single underscores between them. 0 or -1.
 */
static int
py_int(const char *s, size_t len, long *out)
{
	size_t i = 0, end = len;
	int neg = 0, digits = 0, prev_us = 0;
	long v = 0;

	while (i < end && is_space((unsigned char)s[i]))
		i++;
	while (end > i && is_space((unsigned char)s[end - 1]))
		end--;
	if (i < end && (s[i] == '+' || s[i] == '-'))
		neg = s[i++] == '-';
	for (; i < end; i++) {
		if (s[i] == '_') {
			if (!digits || prev_us)
				return -1;
			prev_us = 1;
			continue;
		}
		if (s[i] < '0' || s[i] > '9')
			return -1;
		prev_us = 0;
		digits++;
		/* Saturates: too big for a port or a Content-Length anyway. */
		if (v > (LONG_MAX - 9) / 10)
			v = LONG_MAX;
		else
			v = v * 10 + (s[i] - '0');
	}
	if (!digits || prev_us)
		return -1;
	*out = neg ? -v : v;
	return 0;
}

/* _get_hostport(host, port), then _validate_host(host) if validate. */
int
conn_get_hostport(const char *in, int port, int default_port, int validate,
    char **hostp, int *portp, struct hpool_error *err)
{
	const char *colon, *bracket;
	char rb[200], fb[16];
	size_t hlen = strlen(in), i;
	long v;

	if (port == 0) {
		colon = strrchr(in, ':');
		bracket = strrchr(in, ']');
		port = default_port;
		if (colon != NULL && (bracket == NULL || colon > bracket)) {
			const char *ps = colon + 1;

			if (py_int(ps, strlen(ps), &v) == 0) {
				if (v < 0 || v > 65535) {
					errfmt_repr(rb, sizeof(rb), ps,
					    strlen(ps), 0);
					return errfmt_set(err,
					    HPOOL_E_INVALID_URL,
					    "port out of range: %s", rb);
				}
				port = (int)v;
			} else if (*ps != '\0') {
				/* http.client formats with '%s', not %r. */
				return errfmt_set(err, HPOOL_E_INVALID_URL,
				    "nonnumeric port: '%s'", ps);
			}
			hlen = (size_t)(colon - in);
		}
		if (hlen >= 2 && in[0] == '[' && in[hlen - 1] == ']') {
			in++;
			hlen -= 2;
		}
	} else if (port < 0 || port > 65535)
		return errfmt_set(err, HPOOL_E_INVALID_URL,
		    "port out of range: %d", port);
	for (i = 0; validate && i < hlen; i++) {
		unsigned char ch = (unsigned char)in[i];

		if (ch <= 0x20 || ch == 0x7f) {
			errfmt_repr(rb, sizeof(rb), in, hlen, 0);
			errfmt_repr(fb, sizeof(fb), in + i, 1, 0);
			return errfmt_set(err, HPOOL_E_INVALID_URL,
			    "URL can't contain control characters. %s "
			    "(found at least %s)", rb, fb);
		}
	}
	if ((*hostp = strndup(in, hlen)) == NULL)
		return errfmt_set(err, HPOOL_E_MEMORY, "out of memory");
	*portp = port;
	return HPOOL_OK;
}

int
hpool_conn_new(hpool_conn **out, const char *host, int port,
    const struct hpool_conn_opts *opts, struct hpool_error *err)
{
	return conn_new(out, host, port, HPOOL_HTTP_PORT, opts, err);
}

/*
 * HTTPSConnection.__init__: the context (a new default one with ALPN
 * http/1.1 when none is given), check_hostname checked against it, and
 * key_file / cert_file read now, as load_cert_chain would.
 */
int
hpool_https_conn_new(hpool_conn **out, const char *host, int port,
    const struct hpool_https_opts *opts, hpool_ssl_context *ctx,
    struct hpool_error *err)
{
	static const struct hpool_https_opts defaults = HPOOL_HTTPS_OPTS_INIT;
	static const char *const http11[] = { "http/1.1" };
	hpool_conn *c;
	int rc;

	*out = NULL;
	if (err != NULL)
		errfmt_clear(err);
	if (opts == NULL)
		opts = &defaults;
	if (opts->check_hostname != HPOOL_CHECK_HOSTNAME_DEFAULT &&
	    opts->check_hostname != 0 && opts->check_hostname != 1)
		return errfmt_set(err, HPOOL_E_VALUE_ERROR,
		    "check_hostname must be 0, 1 or "
		    "HPOOL_CHECK_HOSTNAME_DEFAULT");
	if (opts->key_file != NULL && opts->cert_file == NULL)
		return errfmt_set(err, HPOOL_E_TYPE_ERROR,
		    "certfile should be a valid filesystem path");
	if (ctx != NULL &&
	    (rc = sslctx_check(ctx, opts->check_hostname, err)) != HPOOL_OK)
		return rc;
	if ((rc = conn_new(&c, host, port, HPOOL_HTTPS_PORT, &opts->conn,
	    err)) != HPOOL_OK)
		return rc;
	c->check_hostname = opts->check_hostname;
	if (ctx != NULL)
		c->ctx = hpool_ssl_context_ref(ctx);
	else if ((rc = hpool_ssl_context_new_default(&c->ctx, err)) !=
	    HPOOL_OK || (rc = hpool_ssl_context_set_alpn_protocols(c->ctx,
	    http11, 1, err)) != HPOOL_OK)
		goto fail;
	if (opts->cert_file != NULL && ((rc = sslctx_read_file(
	    opts->cert_file, &c->cert.p, &c->cert.len, err)) != HPOOL_OK ||
	    (opts->key_file != NULL && (rc = sslctx_read_file(opts->key_file,
	    &c->key.p, &c->key.len, err)) != HPOOL_OK)))
		goto fail;
	*out = c;
	return HPOOL_OK;
fail:
	hpool_conn_free(c);
	return rc;
}

/*
 * A timeout setting (seconds or HPOOL_TIMEOUT_*) as OPEN's TIMEOUT_MS
 * and the library's own wait for hpoold (-1: none).
 */
int
conn_timeouts(double t, int *has_timeout, uint32_t *timeout_ms,
    int *wait_ms, struct hpool_error *err)
{
	double wait;

	if (t == HPOOL_TIMEOUT_DEFAULT)
		t = default_timeout < 0 ? HPOOL_TIMEOUT_NONE : default_timeout;
	if (t != HPOOL_TIMEOUT_NONE && !(t >= 0 && t <= 1e15))
		return errfmt_set(err, HPOOL_E_VALUE_ERROR,
		    "Timeout value out of range");
	*has_timeout = 0;
	*timeout_ms = 0;
	*wait_ms = -1;
	if (t == HPOOL_TIMEOUT_NONE)
		return HPOOL_OK;
	*has_timeout = 1;
	if (t * 1000 >= UINT32_MAX)
		*timeout_ms = UINT32_MAX;
	else {
		*timeout_ms = (uint32_t)(t * 1000);
		if (*timeout_ms < t * 1000)
			(*timeout_ms)++;	/* round up */
	}
	/*
	 * Our own waits outlast the daemon's: its TimeoutError (which says
	 * what timed out) should arrive before we give up on it. Each of its
	 * waits is bounded by the timeout, so allow twice that plus five
	 * seconds.
	 */
	wait = 2 * t * 1000 + 5000;
	*wait_ms = wait >= INT_MAX ? INT_MAX : (int)wait;
	return HPOOL_OK;
}

static int
conn_new(hpool_conn **out, const char *host, int port, int default_port,
    const struct hpool_conn_opts *opts, struct hpool_error *err)
{
	static const struct hpool_conn_opts defaults = HPOOL_CONN_OPTS_INIT;
	hpool_conn *c;
	uint32_t timeout_ms;
	int rc, has_timeout, wait_ms;

	*out = NULL;
	if (err != NULL)
		errfmt_clear(err);
	if (opts == NULL)
		opts = &defaults;
	if (host == NULL)
		return errfmt_set(err, HPOOL_E_TYPE_ERROR, "host must be a "
		    "string, not NULL");
	if ((rc = conn_timeouts(opts->timeout, &has_timeout, &timeout_ms,
	    &wait_ms, err)) != HPOOL_OK)
		return rc;
	if (opts->source_port < 0 || opts->source_port > 65535)
		return errfmt_set(err, HPOOL_E_VALUE_ERROR,
		    "source port out of range: %d", opts->source_port);
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return errfmt_set(err, HPOOL_E_MEMORY, "out of memory");
	errfmt_clear(&c->err);
	c->default_port = default_port;
	c->check_hostname = HPOOL_CHECK_HOSTNAME_DEFAULT;
	if ((rc = conn_get_hostport(host, port, default_port, 1, &c->host,
	    &c->port, err)) != HPOOL_OK) {
		free(c);
		return rc;
	}
	c->has_timeout = has_timeout;
	c->timeout_ms = timeout_ms;
	c->wait_ms = wait_ms;
	c->source_port = opts->source_port;
	if ((opts->source_host != NULL &&
	    (c->source_host = strdup(opts->source_host)) == NULL) ||
	    (opts->socket_path != NULL &&
	    (c->socket_opt = strdup(opts->socket_path)) == NULL) ||
	    (c->socket_path = sockpath_find(c->socket_opt)) == NULL) {
		hpool_conn_free(c);
		return errfmt_set(err, HPOOL_E_MEMORY, "out of memory");
	}
	c->body_left = -1;
	*out = c;
	return HPOOL_OK;
}

void
hpool_conn_free(hpool_conn *c)
{
	hpool_response *r;

	if (c == NULL)
		return;
	hpool_conn_close(c);
	for (r = c->resps; r != NULL; r = r->next)
		r->conn = NULL;
	free(c->host);
	free(c->source_host);
	free(c->socket_opt);
	free(c->socket_path);
	free(c->hdrs);
	tunnel_free(c);
	hpool_ssl_context_free(c->ctx);
	if (c->cert.p != NULL)
		explicit_bzero(c->cert.p, c->cert.len);
	if (c->key.p != NULL)
		explicit_bzero(c->key.p, c->key.len);
	free(c->cert.p);
	free(c->key.p);
	free(c);
}

const struct hpool_error *
hpool_conn_error(const hpool_conn *c)
{
	return &c->err;
}

const char *
hpool_conn_host(const hpool_conn *c)
{
	return c->host;
}

int
hpool_conn_port(const hpool_conn *c)
{
	return c->port;
}

hpool_ssl_context *
hpool_conn_ssl_context(const hpool_conn *c)
{
	return c->ctx;
}

const char *
hpool_conn_error_detail(const hpool_conn *c)
{
	return c->err_detail;
}

const char *
hpool_conn_socket_path(const hpool_conn *c)
{
	return c->socket_path;
}

int
hpool_conn_fileno(const hpool_conn *c)
{
	return link_alive(c->link) ? c->link->fd : -1;
}

/* A response is freed: the conn stops pointing at it. */
void
conn_forget_response(hpool_conn *c, hpool_response *r)
{
	hpool_response **pp;

	if (c->cur == r)
		c->cur = NULL;
	for (pp = &c->resps; *pp != NULL; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			break;
		}
}

static void
conn_clear_request(hpool_conn *c)
{
	size_t i;

	for (i = 0; i < c->nhdrs; i++) {
		free(c->hdrs[i].name);
		free(c->hdrs[i].value);
	}
	c->nhdrs = 0;
	free(c->method);
	free(c->url);
	c->method = c->url = NULL;
}

/* A new session, replacing a dead one (its response, if any, ends). */
static int
conn_ensure_link(hpool_conn *c, int lazy)
{
	struct proto_open o;
	char *path;

	if (link_alive(c->link))
		return HPOOL_OK;
	if (c->link != NULL) {
		if (c->cur != NULL && c->cur->link == c->link)
			resp_detach(c->cur);
		link_free(c->link);
		c->link = NULL;
	}
	/* The search runs again: a daemon may have started since. */
	if ((path = sockpath_find(c->socket_opt)) == NULL)
		return errfmt_set(&c->err, HPOOL_E_MEMORY, "out of memory");
	free(c->socket_path);
	c->socket_path = path;
	memset(&o, 0, sizeof(o));
	o.scheme.p = c->ctx != NULL ? "https" : "http";
	o.scheme.len = strlen(o.scheme.p);
	if (c->ctx != NULL) {
		/* The context is read now: it may have changed since. */
		if (sslctx_fill_open(c->ctx, c->check_hostname, &o,
		    &c->err) != HPOOL_OK)
			return c->err.code;
		if (c->cert.len > 0) {
			/* HTTPSConnection(cert_file, key_file) */
			o.tls_cert_pem.p = c->cert.p;
			o.tls_cert_pem.len = c->cert.len;
			o.tls_key_pem.p = c->key.p;
			o.tls_key_pem.len = c->key.len;
			o.tls_key_password.len = 0;
		}
		/* server_hostname: SNI and the name checked; through a
		 * tunnel it is the target's, as in http.client. */
		o.tls_sni.p = c->tunnel_host != NULL ? c->tunnel_host :
		    c->host;
		o.tls_sni.len = strlen(o.tls_sni.p);
	}
	o.host.p = c->host;
	o.host.len = strlen(c->host);
	o.port = (uint16_t)c->port;
	o.has_timeout = c->has_timeout;
	o.timeout_ms = c->timeout_ms;
	if (c->source_host != NULL) {
		o.source_host.p = c->source_host;
		o.source_host.len = strlen(c->source_host);
	}
	o.source_port = (uint16_t)c->source_port;
	if (c->tunnel_host != NULL) {
		size_t i;

		o.tunnel_host.p = c->tunnel_host;
		o.tunnel_host.len = strlen(c->tunnel_host);
		o.tunnel_port = (uint16_t)c->tunnel_port;
		o.ntunnel_headers = c->ntunnel_hdrs;
		for (i = 0; i < c->ntunnel_hdrs; i++) {
			o.tunnel_headers[i].name.p = c->tunnel_hdrs[i].name;
			o.tunnel_headers[i].name.len =
			    strlen(c->tunnel_hdrs[i].name);
			o.tunnel_headers[i].value.p = c->tunnel_hdrs[i].value;
			o.tunnel_headers[i].value.len =
			    strlen(c->tunnel_hdrs[i].value);
		}
		o.tunnel_tls = (uint8_t)c->tunnel_tls;
		o.tunnel_ca_pem.p = c->tunnel_ca;
		o.tunnel_ca_pem.len = c->tunnel_ca_len;
	}
	if ((c->link = link_open(c->socket_path, &o, c->wait_ms, lazy,
	    &c->err)) == NULL)
		return c->err.code;
	return HPOOL_OK;
}

int
hpool_conn_connect(hpool_conn *c)
{
	errfmt_clear(&c->err);
	return conn_ensure_link(c, 0);	/* connect() reports refusals now */
}

void
hpool_conn_close(hpool_conn *c)
{
	conn_set_state(c, CS_IDLE);
	conn_clear_request(c);
	c->req_open = 0;
	c->body_left = -1;
	if (c->cur != NULL) {
		resp_detach(c->cur);
		c->cur = NULL;
	}
	link_free(c->link);
	c->link = NULL;
}

/* The request line is ASCII (http.client encodes it so). */
static int
check_ascii(hpool_conn *c, const char *s, size_t pos0)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] >= 0x80)
			return errfmt_set(&c->err, HPOOL_E_VALUE_ERROR,
			    "'ascii' codec can't encode character '\\x%02x' "
			    "in position %zu: ordinal not in range(128)",
			    (unsigned char)s[i], pos0 + i);
	return HPOOL_OK;
}

static int
add_header(hpool_conn *c, const char *name, size_t nlen, const char *value,
    size_t vlen)
{
	struct req_header *h;
	size_t ncap;

	if (c->nhdrs >= PROTO_MAX_HEADERS)
		return errfmt_set(&c->err, HPOOL_E_VALUE_ERROR,
		    "got more than %d request headers", PROTO_MAX_HEADERS);
	if (c->nhdrs == c->hdrs_cap) {
		ncap = c->hdrs_cap ? c->hdrs_cap * 2 : 8;
		if ((h = realloc(c->hdrs, ncap * sizeof(*h))) == NULL)
			return errfmt_set(&c->err, HPOOL_E_MEMORY, "out of memory");
		c->hdrs = h;
		c->hdrs_cap = ncap;
	}
	h = &c->hdrs[c->nhdrs];
	if ((h->name = strndup(name, nlen)) == NULL ||
	    (h->value = strndup(value, vlen)) == NULL) {
		free(h->name);
		return errfmt_set(&c->err, HPOOL_E_MEMORY, "out of memory");
	}
	c->nhdrs++;
	return HPOOL_OK;
}

/*
 * Host as putrequest() writes it: the netloc of an absolute URL, else
 * the tunnel target or conn.host (bracketed when it holds ':'), with
 * ":port" unless the default port (80, or 443 for HTTPS); an IPv6 zone
 * ("%eth0") is dropped.
 */
static int
put_host(hpool_conn *c, const char *url)
{
	const char *p, *netloc = NULL, *pct, *rb;
	/* Through a tunnel the Host is the tunnel's target. */
	const char *host = c->tunnel_host != NULL ? c->tunnel_host : c->host;
	int port = c->tunnel_host != NULL ? c->tunnel_port : c->port;
	char buf[600];
	size_t nlen = 0, i;
	int n;

	if (strncmp(url, "http", 4) == 0) {
		/* urlsplit(): scheme is ALPHA *(ALPHA / DIGIT / + - .) ":" */
		for (p = url; isalnum((unsigned char)*p) || *p == '+' ||
		    *p == '-' || *p == '.'; p++)
			;
		if (*p == ':' && p[1] == '/' && p[2] == '/') {
			netloc = p + 3;
			nlen = strcspn(netloc, "/?#");
		}
	}
	if (netloc != NULL && nlen > 0) {
		if (nlen >= sizeof(buf))
			return errfmt_set(&c->err, HPOOL_E_INVALID_URL,
			    "URL host part too long");
		memcpy(buf, netloc, nlen);
		buf[nlen] = '\0';
		n = (int)nlen;
	} else if (strchr(host, ':') != NULL) {
		n = snprintf(buf, sizeof(buf), "[%s]", host);
	} else
		n = snprintf(buf, sizeof(buf), "%s", host);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return errfmt_set(&c->err, HPOOL_E_INVALID_URL, "host name too long");
	/* _strip_ipv6_iface: "[fe80::1%eth0]" -> "[fe80::1]" */
	if (buf[0] == '[' && (pct = strchr(buf, '%')) != NULL &&
	    (rb = strchr(pct, ']')) != NULL)
		memmove((char *)pct, rb, strlen(rb) + 1);
	if (netloc == NULL || nlen == 0) {
		if (port != c->default_port) {
			i = strlen(buf);
			snprintf(buf + i, sizeof(buf) - i, ":%d", port);
		}
	}
	return add_header(c, "Host", 4, buf, strlen(buf));
}

int
hpool_conn_putrequest(hpool_conn *c, const char *method, const char *url,
    int skip_host, int skip_accept_encoding)
{
	char rb[300], fb[16];
	size_t i;
	int rc;

	errfmt_clear(&c->err);
	c->err_detail[0] = '\0';
	/* A prior response that is complete is forgotten. */
	if (c->cur != NULL && c->cur->closed)
		c->cur = NULL;
	/* http.client changes state before it validates anything. */
	if (c->state != CS_IDLE)
		return errfmt_set(&c->err, HPOOL_E_CANNOT_SEND_REQUEST, "%s",
		    state_names[c->state]);
	conn_set_state(c, CS_REQ_STARTED);
	conn_clear_request(c);
	if (method == NULL)
		return errfmt_set(&c->err, HPOOL_E_TYPE_ERROR, "method must be a "
		    "string, not NULL");
	for (i = 0; method[i] != '\0'; i++)
		if ((unsigned char)method[i] < 0x20) {
			errfmt_repr(rb, sizeof(rb), method, strlen(method), 0);
			errfmt_repr(fb, sizeof(fb), method + i, 1, 0);
			return errfmt_set(&c->err, HPOOL_E_VALUE_ERROR,
			    "method can't contain control characters. %s "
			    "(found at least %s)", rb, fb);
		}
	if (url == NULL || url[0] == '\0')
		url = "/";
	for (i = 0; url[i] != '\0'; i++)
		if ((unsigned char)url[i] <= 0x20 ||
		    (unsigned char)url[i] == 0x7f) {
			errfmt_repr(rb, sizeof(rb), url, strlen(url), 0);
			errfmt_repr(fb, sizeof(fb), url + i, 1, 0);
			return errfmt_set(&c->err, HPOOL_E_INVALID_URL,
			    "URL can't contain control characters. %s "
			    "(found at least %s)", rb, fb);
		}
	if ((rc = check_ascii(c, method, 0)) != HPOOL_OK ||
	    (rc = check_ascii(c, url, strlen(method) + 1)) != HPOOL_OK)
		return rc;
	if ((c->method = strdup(method)) == NULL ||
	    (c->url = strdup(url)) == NULL)
		return errfmt_set(&c->err, HPOOL_E_MEMORY, "out of memory");
	if (!skip_host && (rc = put_host(c, url)) != HPOOL_OK)
		return rc;
	if (!skip_accept_encoding &&
	    (rc = add_header(c, "Accept-Encoding", 15, "identity", 8)) !=
	    HPOOL_OK)
		return rc;
	return HPOOL_OK;
}

int
hpool_conn_putheader(hpool_conn *c, const char *header, const char *value)
{
	return hpool_conn_putheaderv(c, header, &value, 1);
}

/* putheader(header, 42): Python sends str(value). */
int
hpool_conn_putheader_long(hpool_conn *c, const char *header, long value)
{
	char num[32];
	const char *v = num;

	snprintf(num, sizeof(num), "%ld", value);
	return hpool_conn_putheaderv(c, header, &v, 1);
}

int
hpool_conn_putheaderv(hpool_conn *c, const char *header,
    const char *const *values, size_t nvalues)
{
	char rb[300];
	char *joined, *p;
	const char *v;
	size_t i, j, total = 0, len;
	int rc;

	errfmt_clear(&c->err);
	if (c->state != CS_REQ_STARTED)
		return errfmt_set(&c->err, HPOOL_E_CANNOT_SEND_HEADER, "%s", "");
	if (header == NULL)
		return errfmt_set(&c->err, HPOOL_E_TYPE_ERROR, "header name must be "
		    "a string, not NULL");
	if ((rc = check_ascii(c, header, 0)) != HPOOL_OK)
		return rc;
	/* _is_legal_header_name: [^:\s][^:\r\n]* */
	len = strlen(header);
	if (len == 0 || header[0] == ':' || strchr(" \t\n\r\f\v",
	    header[0]) != NULL || strpbrk(header + 1, ":\r\n") != NULL) {
		errfmt_repr(rb, sizeof(rb), header, len, 1);
		return errfmt_set(&c->err, HPOOL_E_VALUE_ERROR,
		    "Invalid header name %s", rb);
	}
	for (i = 0; i < nvalues; i++) {
		if ((v = values[i]) == NULL)
			return errfmt_set(&c->err, HPOOL_E_TYPE_ERROR, "header value "
			    "must be a string, not NULL");
		/* _is_illegal_header_value: \n(?![ \t])|\r(?![ \t\n]) */
		for (j = 0; v[j] != '\0'; j++)
			if ((v[j] == '\n' && v[j + 1] != ' ' &&
			    v[j + 1] != '\t') || (v[j] == '\r' &&
			    v[j + 1] != ' ' && v[j + 1] != '\t' &&
			    v[j + 1] != '\n')) {
				errfmt_repr(rb, sizeof(rb), v, strlen(v), 1);
				return errfmt_set(&c->err, HPOOL_E_VALUE_ERROR,
				    "Invalid header value %s", rb);
			}
		total += j + 3;
	}
	/* Several values become one, folded with "\r\n\t" as http.client. */
	if ((joined = malloc(total + 1)) == NULL)
		return errfmt_set(&c->err, HPOOL_E_MEMORY, "out of memory");
	p = joined;
	for (i = 0; i < nvalues; i++) {
		if (i > 0) {
			memcpy(p, "\r\n\t", 3);
			p += 3;
		}
		len = strlen(values[i]);
		memcpy(p, values[i], len);
		p += len;
	}
	*p = '\0';
	rc = add_header(c, header, strlen(header), joined, (size_t)(p -
	    joined));
	free(joined);
	return rc;
}

/* First request header called name (case-insensitive), or NULL. */
static const char *
find_header(const hpool_conn *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->nhdrs; i++)
		if (strcasecmp(c->hdrs[i].name, name) == 0)
			return c->hdrs[i].value;
	return NULL;
}

int
hpool_conn_endheaders(hpool_conn *c, const void *body, size_t body_len)
{
	struct hpool_body b = HPOOL_BODY_INIT;

	if (body != NULL) {
		b.kind = HPOOL_BODY_BYTES;
		b.data = body;
		b.len = body_len;
	}
	return conn_endheaders(c, &b, 0);
}

int
hpool_conn_endheaders_body(hpool_conn *c, const struct hpool_body *body,
    int encode_chunked)
{
	static const struct hpool_body none = HPOOL_BODY_INIT;

	return conn_endheaders(c, body != NULL ? body : &none,
	    encode_chunked);
}

int
conn_endheaders(hpool_conn *c, const struct hpool_body *body,
    int encode_chunked)
{
	struct proto_req_head *rh;
	const char *cl;
	long v;
	size_t i;
	int rc, enc, has_body;

	errfmt_clear(&c->err);
	if (c->state != CS_REQ_STARTED)
		return errfmt_set(&c->err, HPOOL_E_CANNOT_SEND_HEADER, "%s", "");
	conn_set_state(c, CS_REQ_SENT);
	c->head_method = strcmp(c->method, "HEAD") == 0;
	c->answered = 0;
	c->encode_chunked = encode_chunked;
	if (body->kind == HPOOL_BODY_TEXT)
		return errfmt_set(&c->err, HPOOL_E_TYPE_ERROR, "a bytes-like object "
		    "is required, not 'str'");
	if (body->kind < HPOOL_BODY_NONE || body->kind > HPOOL_BODY_ITER ||
	    (body->kind == HPOOL_BODY_ITER && body->next == NULL) ||
	    (body->kind == HPOOL_BODY_BYTES && body->data == NULL &&
	    body->len > 0))
		return errfmt_set(&c->err, HPOOL_E_TYPE_ERROR, "message_body should "
		    "be a bytes-like object or an iterable");
	/* An iterable or a file may turn out empty; bytes are known. */
	has_body = body->kind == HPOOL_BODY_FD ||
	    body->kind == HPOOL_BODY_ITER ||
	    (body->kind == HPOOL_BODY_BYTES && body->len > 0);
	/*
	 * The daemon frames the body from the headers: Content-Length N
	 * wants exactly N bytes, chunked any number, neither none at all.
	 */
	if (find_header(c, "Transfer-Encoding") != NULL)
		c->body_left = -1;
	else if ((cl = find_header(c, "Content-Length")) != NULL) {
		if (py_int(cl, strlen(cl), &v) == -1 || v < 0)
			return errfmt_set(&c->err, HPOOL_E_VALUE_ERROR,
			    "Content-Length is not a non-negative integer: "
			    "'%.100s'", cl);
		c->body_left = v;
		if (body->kind == HPOOL_BODY_BYTES && (int64_t)body->len > v)
			return errfmt_set(&c->err, HPOOL_E_VALUE_ERROR,
			    "body of %zu bytes is longer than Content-Length "
			    "%ld", body->len, v);
	} else {
		c->body_left = 0;
		if (has_body)
			return errfmt_set(&c->err, HPOOL_E_VALUE_ERROR,
			    "a request body needs Content-Length or "
			    "Transfer-Encoding: chunked");
	}
	/* The handshake's answers are read with the response. */
	if ((rc = conn_ensure_link(c, 1)) != HPOOL_OK)
		return rc;
	if ((rh = malloc(sizeof(*rh))) == NULL)
		return errfmt_set(&c->err, HPOOL_E_MEMORY, "out of memory");
	rh->method.p = c->method;
	rh->method.len = strlen(c->method);
	rh->url.p = c->url;
	rh->url.len = strlen(c->url);
	rh->nheaders = c->nhdrs;
	for (i = 0; i < c->nhdrs; i++) {
		rh->headers[i].name.p = c->hdrs[i].name;
		rh->headers[i].name.len = strlen(c->hdrs[i].name);
		rh->headers[i].value.p = c->hdrs[i].value;
		rh->headers[i].value.len = strlen(c->hdrs[i].value);
	}
	enc = proto_enc_req_head(&c->link->w, rh);
	free(rh);
	if (enc == -1)
		return errfmt_set(&c->err, HPOOL_E_VALUE_ERROR,
		    "request head too large for the hpool protocol");
	if (c->debuglevel > 0)
		debug_send_head(c);
	c->req_open = 1;
	c->link->inflight++;
	if (body->kind != HPOOL_BODY_NONE &&
	    (rc = body_send(c, body, encode_chunked)) != HPOOL_OK)
		return rc;
	if (c->req_open && c->body_left == 0 &&
	    (rc = conn_end_request(c)) != HPOOL_OK)
		return rc;
	/* The request reaches the daemon now, as http.client sends it now. */
	return link_flush(c->link, &c->err);
}

int
conn_body_open(const hpool_conn *c)
{
	return c->state == CS_REQ_SENT && c->req_open;
}

int
conn_write_body(hpool_conn *c, const void *data, size_t len)
{
	const uint8_t *p = data;
	size_t n;
	int rc;

	if (c->body_left >= 0 && (uint64_t)len > (uint64_t)c->body_left)
		return errfmt_set(&c->err, HPOOL_E_VALUE_ERROR,
		    "%zu more body bytes than Content-Length allows",
		    len - (size_t)c->body_left);
	if (!link_alive(c->link))
		return errfmt_set(&c->err, HPOOL_E_NOT_CONNECTED, "%s", "");
	while (len > 0) {
		n = len < PROTO_MAX_BODY_CHUNK ? len : PROTO_MAX_BODY_CHUNK;
		if (proto_enc_body(&c->link->w, PROTO_REQ_BODY, p, n) == -1)
			return errfmt_set(&c->err, HPOOL_E_MEMORY, "out of memory");
		p += n;
		len -= n;
		if (c->body_left >= 0)
			c->body_left -= (int64_t)n;
		if ((rc = link_flush_some(c->link, &c->err)) != HPOOL_OK)
			return rc;
	}
	if (c->body_left == 0)
		return conn_end_request(c);
	return HPOOL_OK;
}

/*
 * A body source failed half way: the daemon must not finish this
 * request, so the session ends (the upstream connection with it).
 * http.client leaves a half-written request in its socket instead.
 */
void
conn_abort_request(hpool_conn *c)
{
	struct hpool_error saved = c->err;

	c->req_open = 0;
	if (c->cur != NULL) {
		resp_detach(c->cur);
		c->cur = NULL;
	}
	link_free(c->link);
	c->link = NULL;
	c->err = saved;
}

static int
conn_end_request(hpool_conn *c)
{
	c->req_open = 0;
	if (!link_alive(c->link))
		return errfmt_set(&c->err, HPOOL_E_NOT_CONNECTED, "%s", "");
	if (proto_enc_empty(&c->link->w, PROTO_REQ_END) == -1)
		return errfmt_set(&c->err, HPOOL_E_MEMORY, "out of memory");
	return HPOOL_OK;
}

int
hpool_conn_send(hpool_conn *c, const void *data, size_t len)
{
	struct hpool_body b = HPOOL_BODY_INIT;

	b.kind = HPOOL_BODY_BYTES;
	b.data = data;
	b.len = len;
	return hpool_conn_send_body(c, &b);
}

int
hpool_conn_send_body(hpool_conn *c, const struct hpool_body *body)
{
	int rc;

	errfmt_clear(&c->err);
	if (body == NULL || body->kind == HPOOL_BODY_NONE ||
	    body->kind == HPOOL_BODY_TEXT || body->kind > HPOOL_BODY_ITER ||
	    (body->kind == HPOOL_BODY_ITER && body->next == NULL))
		return errfmt_set(&c->err, HPOOL_E_TYPE_ERROR, "data should be a "
		    "bytes-like object or an iterable");
	if (!conn_body_open(c))
		return errfmt_set(&c->err, HPOOL_E_IMPROPER_CONNECTION_STATE,
		    "send() needs a request whose body is still open "
		    "(after endheaders(), before the body is complete)");
	/* send() never frames chunks itself, whatever endheaders() did. */
	if ((rc = body_send(c, body, -1)) != HPOOL_OK)
		return rc;
	if (!link_alive(c->link))
		return HPOOL_OK;
	return link_flush(c->link, &c->err);
}

/* The request's answer is gone: http.client would read EOF here. */
static int
conn_no_response(hpool_conn *c)
{
	hpool_conn_close(c);
	return errfmt_set(&c->err, HPOOL_E_REMOTE_DISCONNECTED,
	    "Remote end closed connection without response");
}

int
hpool_conn_getresponse(hpool_conn *c, hpool_response **out)
{
	struct proto_resp_head *rh;
	struct proto_error pe;
	const uint8_t *p;
	struct link *l;
	uint8_t type;
	size_t len;
	int rc, will_close;

	*out = NULL;
	errfmt_clear(&c->err);
	if (c->cur != NULL && c->cur->closed)
		c->cur = NULL;
	if (c->state != CS_REQ_SENT || c->cur != NULL)
		return errfmt_set(&c->err, HPOOL_E_RESPONSE_NOT_READY, "%s",
		    state_names[c->state]);
	if (c->answered || !link_alive(c->link) || c->link->inflight == 0)
		return conn_no_response(c);
	l = c->link;
	if (c->req_open && (rc = conn_end_request(c)) != HPOOL_OK)
		goto fail;
	if ((rc = link_flush(l, &c->err)) != HPOOL_OK ||
	    (rc = link_recv(l, &type, &p, &len, &c->err)) != HPOOL_OK)
		goto fail;
	if (type == PROTO_ERROR) {
		if (proto_dec_error(p, len, &pe,
		    l->version) == -1) {
			rc = link_protocol_error(l, &c->err,
			    "malformed ERROR frame from hpoold");
			goto fail;
		}
		errfmt_from_frame(&c->err, &pe);
		errfmt_detail(c->err_detail, sizeof(c->err_detail), &pe);
		rc = c->err.code;
		l->inflight--;
		c->answered = 1;
		if (rc == HPOOL_E_PROTOCOL)
			link_close(l);
		goto fail;
	}
	if (type != PROTO_RESP_HEAD) {
		rc = link_protocol_error(l, &c->err, "expected RESP_HEAD or "
		    "ERROR from hpoold, got %s", proto_type_name(type));
		goto fail;
	}
	if ((rh = malloc(sizeof(*rh))) == NULL) {
		link_close(l);
		rc = errfmt_set(&c->err, HPOOL_E_MEMORY, "out of memory");
		goto fail;
	}
	if (proto_dec_resp_head(p, len, rh) == -1) {
		free(rh);
		rc = link_protocol_error(l, &c->err,
		    "malformed RESP_HEAD frame from hpoold");
		goto fail;
	}
	will_close = (rh->flags & PROTO_RESP_WILL_CLOSE) != 0;
	rc = resp_new(c, l, will_close, c->head_method, rh, out, &c->err);
	free(rh);
	if (rc != HPOOL_OK) {
		link_close(l);
		goto fail;
	}
	c->answered = 1;
	(*out)->debuglevel = c->debuglevel;
	if (c->debuglevel > 0)
		debug_response(*out);
	conn_set_state(c, CS_IDLE);
	if (will_close)
		c->link = NULL;		/* the session now belongs to *out */
	else
		c->cur = *out;
	return HPOOL_OK;
fail:
	/* As http.client: a ConnectionError closes the connection. */
	if (hpool_error_is(rc, HPOOL_E_CONNECTION_ERROR)) {
		struct hpool_error saved = c->err;

		hpool_conn_close(c);
		c->err = saved;
	}
	return rc;
}
