/*
 * transfer.c: owns one URL's transfer: the request head hpool sends (the
 * headers curl would send, then -H's), each exchange through libhpool,
 * following redirects as curl does (-L), the heads for -i, -D and -v, and
 * the body to its output (output.c), decoded (decode.c) and paced.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "output.h"

#define MAX_REQ_HEADERS	(MAX_HEADERS + 16)
#define REDIRS_CAP	1000	/* --max-redirs -1 still ends */

/* Methods hpoold may send again on a new connection (RFC 9110 9.2.2;
 * daemon/http_req.c has the same list). */
static const char *const idempotent_methods[] = {
	"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE",
};

/* The request of one hop. */
struct req {
	char		*url;
	char		*authority;
	char		*path;
	int		 https;
	const char	*method;
	int		 custom;	/* -X: kept across redirects */
	const char	*body;		/* bytes, or NULL */
	size_t		 body_len;
	int		 fd;		/* -T: a file, -1: none */
	int64_t		 fd_len;	/* -1: chunked (a pipe) */
	const char	*ctype;		/* the body's Content-Type */
	int		 other_host;	/* moved off the first origin */
	char		 userinfo[PROXY_AUTH_MAX + 1];	/* URL's USER:PASS */
	struct hpool_header h[MAX_REQ_HEADERS];
	size_t		 nh;
	char		 host[300], auth[1100], range[64], ua[128], clen[32];
	char		 names[MAX_HEADERS][128];	/* -H's names */
};

/* One exchange: a request and its response, on one connection. */
struct hop {
	hpool_conn		*c;
	hpool_response		*r;
	hpool_ssl_context	*ctx;
	struct proxy		 px;
	int			 use_proxy;
	char			 dest[320];
	enum stage		 stage;
	double			 timeout;	/* each wait's, in hpoold */
};

static const char *user_header(const struct opts *o, const char *name,
	    int *given);
static const char *no_replay_reason(const struct opts *o, const struct req *rq);
static void add(struct req *rq, const char *name, const char *value);
static void add_own(struct req *rq, const struct opts *o,
	    const char *name, const char *value);
static void host_value(const struct req *rq, char *out, size_t len);
static int build_head(const struct opts *o, struct req *rq, int64_t resume_at);
static void verbose_head(const struct req *rq);
static int record_head(struct xfer *x, hpool_response *r);
static int set_url(struct req *rq, char *url);
static char *first_url(const struct opts *o, const char *url);
static void redirect_method(struct req *rq, int status);
static void hop_end(struct hop *h);
static double wait_timeout(const struct opts *o, const struct xfer *x);
static int timed_out(const struct opts *o, const struct xfer *x);
static int hop_fail(const struct opts *o, const struct req *rq,
	    struct hop *h, const struct hpool_error *e, struct xfer *x);
static int exchange(const struct opts *o, struct req *rq, struct hop *h,
	    struct xfer *x, int64_t resume_at);
static int drain(const struct opts *o, struct req *rq, struct hop *h,
	    struct xfer *x);
static void verbose_end(const struct hop *h);
static int req_body(const struct opts *o, struct req *rq, char **form,
	    char *ctype, size_t ctlen);
static int follow(const struct opts *o, struct req *rq, struct hop *h,
	    struct xfer *x, const char *origin_url, int *again);

/* The value of the header -H sends as name (the last one), NULL if none;
 * "Name:" only removes a header, so it sends none. */
static const char *
user_header(const struct opts *o, const char *name, int *given)
{
	const char *h, *val, *found = NULL;
	size_t i, nlen;

	if (given != NULL)
		*given = 0;
	for (i = 0; i < o->nheaders; i++) {
		h = o->headers[i];
		nlen = strcspn(h, ":;");
		if (nlen != strlen(name) || strncasecmp(h, name, nlen) != 0 ||
		    h[nlen] == '\0')
			continue;
		if (given != NULL)
			*given = 1;
		val = h + nlen + 1;
		while (*val == ' ' || *val == '\t')
			val++;
		if (h[nlen] == ';' || *val != '\0')
			found = val;
	}
	return found;
}

/* As daemon/session.c's sess_retry decides: a request may be sent again
 * if it may be repeated and has no body (bodies are streamed, not kept). */
static const char *
no_replay_reason(const struct opts *o, const struct req *rq)
{
	const char *cl;
	size_t i;
	int idempotent = 0;

	for (i = 0; i < NELEM(idempotent_methods); i++)
		if (strcmp(rq->method, idempotent_methods[i]) == 0)
			idempotent = 1;
	if (user_header(o, "Idempotency-Key", NULL) != NULL ||
	    user_header(o, "X-Idempotency-Key", NULL) != NULL)
		idempotent = 1;
	if (!idempotent)
		return "it is not idempotent";
	cl = user_header(o, "Content-Length", NULL);
	if (rq->body_len > 0 || rq->fd != -1 ||
	    user_header(o, "Transfer-Encoding", NULL) != NULL ||
	    (cl != NULL && strtoull(cl, NULL, 10) > 0))
		return "it has a body";
	return NULL;
}

static void
add(struct req *rq, const char *name, const char *value)
{
	if (rq->nh < MAX_REQ_HEADERS) {
		rq->h[rq->nh].name = name;
		rq->h[rq->nh].value = value;
		rq->nh++;
	}
}

/* hpool's own header, unless -H gave (or removed) one of that name. */
static void
add_own(struct req *rq, const struct opts *o, const char *name,
    const char *value)
{
	int given;

	user_header(o, name, &given);
	if (!given)
		add(rq, name, value);
}

/* Host as curl writes it: the URL's authority without a default port. */
static void
host_value(const struct req *rq, char *out, size_t len)
{
	size_t n = strlen(rq->authority);
	const char *dflt = rq->https ? ":443" : ":80";

	if (n > strlen(dflt) && strcmp(rq->authority + n - strlen(dflt),
	    dflt) == 0 && rq->authority[n - strlen(dflt) - 1] != ':')
		n -= strlen(dflt);
	snprintf(out, len, "%.*s", (int)n, rq->authority);
}

/*
 * The head, in curl's order: Host, Authorization, Range, User-Agent,
 * Accept, Accept-Encoding, Referer, then -H's (and --json's), then the
 * body's length and type. Authorization and Cookie are not sent to
 * another host after a redirect, as curl.
 */
static int
build_head(const struct opts *o, struct req *rq, int64_t resume_at)
{
	const char *name_end, *val, *user;
	char (*names)[128] = rq->names;
	size_t i, nlen;
	int body = rq->body != NULL || rq->fd != -1, given;

	rq->nh = 0;
	host_value(rq, rq->host, sizeof(rq->host));
	add_own(rq, o, "Host", rq->host);
	user = o->user != NULL ? o->user : rq->userinfo[0] != '\0' ?
	    rq->userinfo : NULL;
	if (user != NULL && !rq->other_host) {
		if (strlen(user) > PROXY_AUTH_MAX)
			return cli_fail(EX_USAGE, "ValueError",
			    "-u is longer than %d bytes", PROXY_AUTH_MAX);
		if (strchr(user, ':') != NULL)
			proxy_basic_auth(user, rq->auth, sizeof(rq->auth));
		else {
			/* no password: an empty one (curl would prompt) */
			char up[PROXY_AUTH_MAX + 2];

			snprintf(up, sizeof(up), "%s:", user);
			proxy_basic_auth(up, rq->auth, sizeof(rq->auth));
			explicit_bzero(up, sizeof(up));
		}
		add_own(rq, o, "Authorization", rq->auth);
	}
	if (resume_at > 0 || o->range != NULL) {
		if (resume_at > 0)
			snprintf(rq->range, sizeof(rq->range), "bytes=%lld-",
			    (long long)resume_at);
		else
			snprintf(rq->range, sizeof(rq->range), "bytes=%.50s",
			    o->range);
		add_own(rq, o, "Range", rq->range);
	}
	if (o->agent == NULL)
		snprintf(rq->ua, sizeof(rq->ua), "hpool/%s", hpool_version());
	if (o->agent == NULL || o->agent[0] != '\0')
		add_own(rq, o, "User-Agent", o->agent != NULL ? o->agent :
		    rq->ua);
	if (!o->json)
		add_own(rq, o, "Accept", "*/*");
	if (o->compressed && decode_accept()[0] != '\0')
		add_own(rq, o, "Accept-Encoding", decode_accept());
	if (o->referer != NULL)
		add_own(rq, o, "Referer", o->referer);
	for (i = 0; i < o->nheaders && i < MAX_HEADERS; i++) {
		name_end = o->headers[i] + strcspn(o->headers[i], ":;");
		nlen = (size_t)(name_end - o->headers[i]);
		if (nlen == 0 || nlen >= sizeof(names[i]) || *name_end == '\0')
			return cli_fail(EX_USAGE, "ValueError",
			    "bad header '%s': want 'Name: value'",
			    o->headers[i]);
		memcpy(names[i], o->headers[i], nlen);
		names[i][nlen] = '\0';
		val = name_end + 1;
		while (*val == ' ' || *val == '\t')
			val++;
		/* curl: "Name:" removes, "Name;" sends an empty value. */
		if (*name_end == ':' && *val == '\0')
			continue;
		if (*name_end == ';' && *val != '\0')
			return cli_fail(EX_USAGE, "ValueError",
			    "bad header '%s': want 'Name: value'",
			    o->headers[i]);
		if (rq->other_host && (strcasecmp(names[i],
		    "Authorization") == 0 || strcasecmp(names[i],
		    "Cookie") == 0))
			continue;
		if (!body && (strcasecmp(names[i], "Content-Type") == 0 ||
		    strcasecmp(names[i], "Content-Length") == 0) &&
		    strcmp(rq->method, "GET") == 0 && o->has_data && !o->get)
			continue;	/* a POST turned GET by a redirect */
		add(rq, names[i], val);
	}
	if (o->json && body) {
		add_own(rq, o, "Content-Type", "application/json");
		add_own(rq, o, "Accept", "application/json");
	}
	if (body || strcmp(rq->method, "POST") == 0 ||
	    strcmp(rq->method, "PUT") == 0) {
		if (rq->fd != -1 && rq->fd_len < 0)
			add_own(rq, o, "Transfer-Encoding", "chunked");
		else {
			snprintf(rq->clen, sizeof(rq->clen), "%lld",
			    (long long)(rq->fd != -1 ? rq->fd_len :
			    (int64_t)rq->body_len));
			user_header(o, "Transfer-Encoding", &given);
			if (!given)
				add_own(rq, o, "Content-Length", rq->clen);
		}
	}
	if (rq->ctype != NULL && body && !o->json)
		add_own(rq, o, "Content-Type", rq->ctype);
	return EX_OK;
}

/* -v: what the request head was, as curl prints it. */
static void
verbose_head(const struct req *rq)
{
	int esc = isatty(STDERR_FILENO);
	size_t i;

	fprintf(stderr, "> %s %s HTTP/1.1\r\n", rq->method, rq->path);
	for (i = 0; i < rq->nh; i++) {
		fprintf(stderr, "> %s: ", rq->h[i].name);
		termsafe_puts(stderr, rq->h[i].value, esc);
		fputs("\r\n", stderr);
	}
	fputs("> \r\n", stderr);
}

/* Keep the last response's facts for -w. */
static int
record_head(struct xfer *x, hpool_response *r)
{
	const struct hpool_header *hs;
	const char *ct;
	size_t i, nh;

	nh = hpool_response_getheaders(r, &hs);
	for (i = 0; i < x->nhdrs; i++) {
		free((char *)x->hdrs[i].name);
		free((char *)x->hdrs[i].value);
	}
	free(x->hdrs);
	x->nhdrs = 0;
	if ((x->hdrs = calloc(nh + 1, sizeof(*x->hdrs))) == NULL)
		return -1;
	x->status = hpool_response_status(r);
	x->http_version = hpool_response_version(r);
	x->num_headers = (int)nh;
	x->size_header += (int64_t)strlen("HTTP/1.1 000 \r\n") +
	    (int64_t)strlen(hpool_response_reason(r)) + 2;
	for (i = 0; i < nh; i++) {
		x->hdrs[i].name = strdup(hs[i].name);
		x->hdrs[i].value = strdup(hs[i].value);
		x->nhdrs++;
		if (x->hdrs[i].name == NULL || x->hdrs[i].value == NULL)
			return -1;
		x->size_header += (int64_t)(strlen(hs[i].name) +
		    strlen(hs[i].value) + 4);
	}
	free(x->content_type);
	x->content_type = NULL;
	if ((ct = hpool_response_getheader(r, "Content-Type", NULL)) != NULL &&
	    (x->content_type = strdup(ct)) == NULL)
		return -1;
	return 0;
}

/* Set rq's URL, and its parts, to url (taken). */
static int
set_url(struct req *rq, char *url)
{
	free(rq->url);
	free(rq->authority);
	free(rq->path);
	rq->url = url;
	rq->authority = rq->path = NULL;
	return url_split(url, &rq->authority, &rq->path, &rq->https);
}

/* The URL as given, with -G's query and -T's file name. */
static char *
first_url(const struct opts *o, const char *url)
{
	const char *base = "";
	char *u;
	size_t n = strlen(url) + o->data_len + 2, hlen;

	if (o->upload != NULL && strcmp(o->upload, "-") != 0) {
		base = strrchr(o->upload, '/');
		base = base != NULL ? base + 1 : o->upload;
		n += strlen(base) * 3;
	}
	if ((u = malloc(n + 1)) == NULL)
		return NULL;
	hlen = strcspn(url, "#");
	snprintf(u, n + 1, "%.*s", (int)hlen, url);
	if (o->upload != NULL && strcmp(o->upload, "-") != 0 && hlen > 0 &&
	    url[hlen - 1] == '/' && strchr(u, '?') == NULL) {
		size_t len = strlen(u);

		url_escape_append(&u, &len, base, strlen(base), 0);
		if (u == NULL)
			return NULL;
	}
	if (o->get && o->has_data)
		snprintf(u + strlen(u), n + 1 - strlen(u), "%c%s",
		    strchr(u, '?') != NULL ? '&' : '?', o->data);
	return u;
}

/* The method of the next hop after status, as curl changes it. */
static void
redirect_method(struct req *rq, int status)
{
	int to_get = 0;

	if (rq->custom)
		return;
	if ((status == 301 || status == 302) &&
	    strcmp(rq->method, "POST") == 0)
		to_get = 1;
	if (status == 303 && strcmp(rq->method, "GET") != 0 &&
	    strcmp(rq->method, "HEAD") != 0)
		to_get = 1;
	if (to_get) {
		rq->method = "GET";
		rq->body = NULL;
		rq->body_len = 0;
		rq->fd = -1;
		rq->ctype = NULL;
	}
}


static void
hop_end(struct hop *h)
{
	hpool_response_free(h->r);
	hpool_conn_free(h->c);
	hpool_ssl_context_free(h->ctx);
	explicit_bzero(h->px.userpass, sizeof(h->px.userpass));
	h->r = NULL;
	h->c = NULL;
	h->ctx = NULL;
}

/* The per-wait timeout: --timeout, --connect-timeout and what is left of
 * -m, whichever is shortest. */
static double
wait_timeout(const struct opts *o, const struct xfer *x)
{
	double t = o->timeout, left;

	if (o->connect_timeout > 0 && (t < 0 || o->connect_timeout < t))
		t = o->connect_timeout;
	if (o->max_time > 0) {
		left = o->max_time - cli_now(&x->start);
		if (left < 0.001)
			left = 0.001;
		if (t < 0 || left < t)
			t = left;
	}
	return t;
}

static int
timed_out(const struct opts *o, const struct xfer *x)
{
	if (o->max_time <= 0 || cli_now(&x->start) < o->max_time)
		return EX_OK;
	return cli_fail(EX_TIMEOUT, "TimeoutError", "Operation timed out "
	    "after %.0f milliseconds with %lld bytes received",
	    cli_now(&x->start) * 1000, (long long)x->size_download);
}

/* A library failure on this hop, with its phase. */
static int
hop_fail(const struct opts *o, const struct req *rq, struct hop *h,
    const struct hpool_error *e, struct xfer *x)
{
	char where[400];
	double t = h->timeout;
	int ex;

	/* a wait cut short by -m is reported as -m's */
	if (o->max_time > 0 && cli_now(&x->start) >= o->max_time - 0.01)
		t = o->max_time;
	/* hpoold's own word on where it failed, else what we know */
	if (h->c != NULL && hpool_conn_error_detail(h->c)[0] != '\0' &&
	    !(o->max_time > 0 && t == o->max_time))
		snprintf(where, sizeof(where), " (%s)",
		    hpool_conn_error_detail(h->c));
	else
		cli_phase(e, h->stage, h->dest, h->c != NULL ?
		    hpool_conn_socket_path(h->c) : o->socket_path, t, where,
		    sizeof(where));
	ex = cli_fail_err(e, where);
	if (h->stage <= STAGE_HEAD)
		cli_sent_note(e, no_replay_reason(o, rq));
	return ex;
}

/* Open the connection of one hop and send the request; h->r is the
 * response head. */
static int
exchange(const struct opts *o, struct req *rq, struct hop *h,
    struct xfer *x, int64_t resume_at)
{
	struct hpool_https_opts so = HPOOL_HTTPS_OPTS_INIT;
	struct hpool_conn_opts co = HPOOL_CONN_OPTS_INIT;
	struct hpool_body b = HPOOL_BODY_INIT;
	struct hpool_error e;
	char *text = NULL;
	size_t i;
	int ex, rc;

	memset(h, 0, sizeof(*h));
	snprintf(h->dest, sizeof(h->dest), "%s", rq->authority);
	if ((ex = proxy_pick(o, rq->authority, rq->https, &h->px,
	    &h->use_proxy)) != EX_OK)
		return ex;
	if (h->use_proxy)
		snprintf(h->dest, sizeof(h->dest), "%s through the proxy "
		    "%s:%d", rq->authority, h->px.host, h->px.port);
	if ((ex = build_head(o, rq, resume_at)) != EX_OK)
		return ex;
	co.socket_path = o->socket_path;
	co.timeout = h->timeout = wait_timeout(o, x);
	if (rq->https) {
		if ((ex = tls_context(o, &h->ctx)) != EX_OK)
			return ex;
		so.conn = co;
		rc = hpool_https_conn_new(&h->c, h->use_proxy ? h->px.host :
		    rq->authority, h->use_proxy ? h->px.port : 0, &so, h->ctx,
		    &e);
	} else
		rc = hpool_conn_new(&h->c, h->use_proxy ? h->px.host :
		    rq->authority, h->use_proxy ? h->px.port : 0, &co, &e);
	if (rc != HPOOL_OK)
		return cli_fail_err(&e, NULL);
	if (h->use_proxy && (ex = proxy_tunnel(h->c, o, &h->px,
	    rq->authority)) != EX_OK)
		return ex;
	if (o->verbose) {
		fprintf(stderr, "*   Trying %s through hpoold...\n", h->dest);
		if (!h->use_proxy && hpool_explain(rq->https ? "https" :
		    "http", rq->authority, 0, &co, &text, &e) == HPOOL_OK) {
			/* hpoold's own words for the route, one per line */
			char *line = text, *nl;

			for (; line != NULL && *line != '\0'; line = nl) {
				nl = strchr(line, '\n');
				if (nl != NULL)
					*nl++ = '\0';
				if (strncmp(line, "route:", 6) == 0)
					fprintf(stderr, "* hpoold %s\n", line);
			}
			free(text);
		}
		verbose_head(rq);
	}
	h->stage = STAGE_CONNECT;
	x->t_pretransfer = cli_now(&x->start);
	if (hpool_conn_putrequest(h->c, rq->method, rq->path, 1, 1) !=
	    HPOOL_OK)
		goto fail;
	for (i = 0; i < rq->nh; i++) {
		x->size_request += (int64_t)(strlen(rq->h[i].name) +
		    strlen(rq->h[i].value) + 4);
		if (hpool_conn_putheader(h->c, rq->h[i].name,
		    rq->h[i].value) != HPOOL_OK)
			goto fail;
	}
	/* "METHOD PATH HTTP/1.1\r\n", the empty line, and (as curl counts
	 * it) the body */
	x->size_request += (int64_t)(strlen(rq->method) + strlen(rq->path) +
	    14) + (int64_t)rq->body_len + (rq->fd != -1 && rq->fd_len > 0 ?
	    rq->fd_len : 0);
	h->stage = STAGE_SEND;
	if (rq->fd != -1) {
		b.kind = HPOOL_BODY_FD;
		b.fd = rq->fd;
		rc = hpool_conn_endheaders_body(h->c, &b, rq->fd_len < 0);
		x->size_upload += rq->fd_len > 0 ? rq->fd_len : 0;
	} else {
		rc = hpool_conn_endheaders(h->c, rq->body, rq->body_len);
		x->size_upload += (int64_t)rq->body_len;
	}
	if (rc != HPOOL_OK)
		goto fail;
	h->stage = STAGE_HEAD;
	if (hpool_conn_getresponse(h->c, &h->r) != HPOOL_OK)
		goto fail;
	x->t_starttransfer = cli_now(&x->start);
	h->stage = STAGE_BODY;
	return EX_OK;
fail:
	return hop_fail(o, rq, h, hpool_conn_error(h->c), x);
}

/* Drain a redirect's body: it is not written anywhere. */
static int
drain(const struct opts *o, struct req *rq, struct hop *h, struct xfer *x)
{
	char buf[16384];
	size_t n;

	for (;;) {
		if (hpool_response_read_stream(h->r, buf, sizeof(buf), &n) !=
		    HPOOL_OK)
			return hop_fail(o, rq, h, hpool_response_error(h->r),
			    x);
		if (n == 0)
			return EX_OK;
	}
}

/* -v: what hpoold says of the upstream connection, once the body ended. */
static void
verbose_end(const struct hop *h)
{
	int reused = hpool_response_reused(h->r);
	int pooled = hpool_response_pooled(h->r);

	if (reused == -1)
		return;
	fprintf(stderr, "* hpoold: %s upstream connection to %s; %s\n",
	    reused ? "reused a pooled" : "opened a new", h->dest,
	    pooled ? "left in the pool" : "closed");
	if (hpool_conn_ssl_context(h->c) != NULL)
		fprintf(stderr, "* hpoold: TLS session resumption is not "
		    "reported to callers\n");
}

/* The body of the first request: -F's form, -d's data or -T's file. */
static int
req_body(const struct opts *o, struct req *rq, char **form, char *ctype,
    size_t ctlen)
{
	struct stat st;
	size_t len;
	int ex;

	if (o->nform > 0) {
		if ((ex = multipart_build(o, form, &len, ctype, ctlen)) !=
		    EX_OK)
			return ex;
		rq->body = *form;
		rq->body_len = len;
		rq->ctype = ctype;
	} else if (o->has_data && !o->get) {
		rq->body = o->data;
		rq->body_len = o->data_len;
		rq->ctype = "application/x-www-form-urlencoded";
	} else if (o->upload != NULL && strcmp(o->upload, "-") == 0) {
		rq->fd = STDIN_FILENO;
		rq->fd_len = -1;
	} else if (o->upload != NULL) {
		if ((rq->fd = open(o->upload, O_RDONLY)) == -1)
			return cli_fail(EX_READ, errno == ENOENT ?
			    "FileNotFoundError" : "OSError", "%s: %s",
			    o->upload, strerror(errno));
		rq->fd_len = fstat(rq->fd, &st) == 0 && S_ISREG(st.st_mode) ?
		    st.st_size : -1;
	}
	return EX_OK;
}

/*
 * After a response head: *again 1 when -L follows its Location (rq then
 * holds the next request), 0 when this response is the last. A 3xx not
 * followed leaves its Location for %{redirect_url}.
 */
static int
follow(const struct opts *o, struct req *rq, struct hop *h, struct xfer *x,
    const char *origin_url, int *again)
{
	const char *loc = hpool_response_getheader(h->r, "Location", NULL);
	int status = hpool_response_status(h->r), ex;
	char *next;

	*again = 0;
	if (loc == NULL || status < 300 || status > 399 || status == 304)
		return EX_OK;
	if ((next = url_resolve(rq->url, loc)) == NULL)
		return cli_fail(EX_NOMEM, "MemoryError", "out of memory");
	if (!o->location) {
		free(x->redirect_url);
		x->redirect_url = next;
		return EX_OK;
	}
	if (o->max_redirs >= 0 ? x->num_redirects >= o->max_redirs :
	    x->num_redirects >= REDIRS_CAP) {
		free(next);
		return cli_fail(EX_REDIRECTS, "TooManyRedirects",
		    "Maximum (%ld) redirects followed", o->max_redirs >= 0 ?
		    o->max_redirs : (long)REDIRS_CAP);
	}
	if ((ex = drain(o, rq, h, x)) != EX_OK) {
		free(next);
		return ex;
	}
	if (o->verbose) {
		verbose_end(h);
		fprintf(stderr, "* Issue another request to this URL: '%s'\n",
		    next);
	}
	hop_end(h);
	rq->other_host |= !url_same_origin(origin_url, next);
	redirect_method(rq, status);
	if (rq->fd != -1 && lseek(rq->fd, 0, SEEK_SET) == -1) {
		/* the body goes again, and a pipe's is gone (curl: 65) */
		free(next);
		return cli_fail(EX_REWIND, "OSError", "necessary data rewind "
		    "wasn't possible: -T reads a pipe");
	}
	if ((ex = set_url(rq, next)) != EX_OK)
		return ex;
	x->num_redirects++;
	x->t_redirect = cli_now(&x->start);
	*again = 1;
	return EX_OK;
}

int
transfer(const struct opts *o, const struct target *t, struct xfer *x,
    FILE **hdrfp)
{
	struct req rq;
	struct hop h;
	struct output out;
	char *next, *form = NULL, ctype[128];
	int ex = EX_OK, status = 0, again;
	int64_t resume_at = 0;

	memset(&rq, 0, sizeof(rq));
	memset(&h, 0, sizeof(h));
	rq.fd = -1;
	x->url = t->url;
	clock_gettime(CLOCK_MONOTONIC, &x->start);
	output_init(&out, o, t, x);
	if ((next = first_url(o, t->url)) == NULL) {
		ex = cli_fail(EX_NOMEM, "MemoryError", "out of memory");
		goto out;
	}
	if ((ex = set_url(&rq, next)) != EX_OK)
		goto out;
	if (url_userinfo(t->url, rq.userinfo, sizeof(rq.userinfo)) == -1) {
		ex = cli_fail(EX_URL, "InvalidURL", "the user and password in "
		    "the URL are longer than %d bytes or hold %%00",
		    PROXY_AUTH_MAX);
		goto out;
	}
	rq.custom = o->method != NULL;
	rq.method = o->method != NULL ? o->method : o->head ? "HEAD" :
	    o->upload != NULL ? "PUT" : (o->has_data && !o->get) ||
	    o->nform > 0 ? "POST" : "GET";
	if ((ex = req_body(o, &rq, &form, ctype, sizeof(ctype))) != EX_OK ||
	    (ex = output_resume(&out, &resume_at)) != EX_OK)
		goto out;
	for (;;) {
		if ((ex = timed_out(o, x)) != EX_OK)
			goto out;
		ex = exchange(o, &rq, &h, x, resume_at);
		if (ex != EX_OK)
			goto out;
		if (record_head(x, h.r) == -1) {
			ex = cli_fail(EX_NOMEM, "MemoryError", "out of memory");
			goto out;
		}
		status = hpool_response_status(h.r);
		if (o->verbose)
			output_print_head(stderr, "< ", h.r,
			    isatty(STDERR_FILENO));
		if (*hdrfp != NULL) {
			output_print_head(*hdrfp, "", h.r, 0);
			fflush(*hdrfp);
		}
		if ((o->include || o->head) && !(o->fail && status >= 400) &&
		    (ex = output_head(&out, h.r)) != EX_OK)
			goto out;
		if ((ex = follow(o, &rq, &h, x, t->url, &again)) != EX_OK ||
		    !again)
			break;
	}
	if (ex != EX_OK)
		goto out;
	if ((ex = output_body(&out, h.r, status, resume_at)) != EX_OK) {
		if (ex == -1)
			ex = hop_fail(o, &rq, &h, hpool_response_error(h.r),
			    x);
		goto out;
	}
	if (o->verbose)
		verbose_end(&h);
out:
	x->t_total = cli_now(&x->start);
	ex = output_close(&out, ex);
	free(x->url_effective);
	x->url_effective = rq.url != NULL ? strdup(rq.url) : NULL;
	snprintf(x->method_buf, sizeof(x->method_buf), "%s",
	    rq.method != NULL ? rq.method : "GET");
	x->method = x->method_buf;
	snprintf(x->scheme, sizeof(x->scheme), "%s", rq.https ? "HTTPS" :
	    "HTTP");
	hop_end(&h);
	if (rq.fd != -1 && rq.fd != STDIN_FILENO)
		close(rq.fd);
	explicit_bzero(rq.userinfo, sizeof(rq.userinfo));
	explicit_bzero(rq.auth, sizeof(rq.auth));
	free(rq.url);
	free(rq.authority);
	free(rq.path);
	free(form);
	return ex;
}

/*
 * --explain: hpoold's answer for the URL's scheme, host and port, as it
 * sends it; no request is made and nothing touches the network.
 */
int
run_explain(const struct opts *o, const char *url)
{
	struct hpool_conn_opts co = HPOOL_CONN_OPTS_INIT;
	struct hpool_error e;
	char *authority = NULL, *path = NULL, *text = NULL;
	int ex, https;

	/* hpool_explain takes no caller proxy: hpoold's EXPLAIN of a
	 * tunnel names the proxy but does not judge the URL's host. For
	 * the same reason the proxy variables are not read. */
	if (o->proxy != NULL && o->proxy[0] != '\0')
		return cli_fail(EX_USAGE, "ValueError",
		    "--explain does not take -x (hpoold explains the routes "
		    "of its own policy)");
	if ((ex = url_split(url, &authority, &path, &https)) != EX_OK)
		goto out;
	co.socket_path = o->socket_path;
	co.timeout = o->timeout;
	if (hpool_explain(https ? "https" : "http", authority, 0, &co, &text,
	    &e) != HPOOL_OK) {
		ex = cli_fail_err(&e, NULL);
		goto out;
	}
	if (fputs(text, stdout) == EOF || fflush(stdout) == EOF)
		ex = cli_fail(EX_WRITE, "OSError", "failed writing the "
		    "explanation: %s", strerror(errno));
out:
	free(text);
	free(authority);
	free(path);
	return ex;
}
