/*
 * check_client.c: unit tests of libhpool: the http.client state machine,
 * host:port parsing, request validation, error names and hierarchy, the
 * responses table, responses decoded from frames sent by a scripted
 * fake daemon (a thread on a Unix socket in a mkdtemp() directory), and
 * the SSLContext counterpart with the TLS parameters it puts in OPEN.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "check_run.h"
#include "hpool.h"
#include "proto.h"

/* ---- the fake daemon ---- */

#define FK_MAXRX	64

struct fk_frame {
	uint8_t		 type;
	uint8_t		*p;
	size_t		 len;
	int		 session;	/* which accept it came on */
};

struct fake {
	char		 dir[64];
	char		 path[128];
	int		 lfd;
	int		 fd;
	int		 sessions;
	pthread_t	 th;
	void		(*script)(struct fake *);
	char		 fail[256];
	struct fk_frame	 rx[FK_MAXRX];
	int		 nrx;
	uint16_t	 offer;		/* HELLO_OK's version (0: 1); set by
					 * the script, which runs alone */
	uint16_t	 version;	/* the session's, for ERROR's layout */
	uint8_t		 buf[PROTO_FRAME_HDR + PROTO_MAX_PAYLOAD / 64];
};

static void	fk_failf(struct fake *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static void
fk_failf(struct fake *f, const char *fmt, ...)
{
	va_list ap;

	if (f->fail[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(f->fail, sizeof(f->fail), fmt, ap);
	va_end(ap);
}

static int
fk_accept(struct fake *f)
{
	struct pollfd pfd = { f->lfd, POLLIN, 0 };

	if (f->fd != -1)
		close(f->fd);
	f->fd = -1;
	if (poll(&pfd, 1, 3000) != 1) {
		fk_failf(f, "no client connected");
		return -1;
	}
	if ((f->fd = accept(f->lfd, NULL, NULL)) == -1) {
		fk_failf(f, "accept: %s", strerror(errno));
		return -1;
	}
	f->sessions++;
	f->version = 1;		/* until HELLO_OK, as hpoold */
	return 0;
}

static int
fk_readn(struct fake *f, uint8_t *p, size_t n)
{
	struct pollfd pfd;
	ssize_t r;

	while (n > 0) {
		pfd.fd = f->fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 3000) != 1)
			return -1;
		if ((r = read(f->fd, p, n)) <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* One frame from the client, logged; -1 on EOF or timeout. */
static int
fk_read(struct fake *f, uint8_t *type)
{
	uint32_t len;
	struct fk_frame *fr;

	if (f->fd == -1 || fk_readn(f, f->buf, PROTO_FRAME_HDR) == -1)
		return -1;
	len = (uint32_t)f->buf[0] << 24 | (uint32_t)f->buf[1] << 16 |
	    (uint32_t)f->buf[2] << 8 | f->buf[3];
	*type = f->buf[4];
	if (len > sizeof(f->buf) || fk_readn(f, f->buf, len) == -1) {
		fk_failf(f, "short or huge frame (%u)", len);
		return -1;
	}
	if (f->nrx < FK_MAXRX) {
		fr = &f->rx[f->nrx++];
		fr->type = *type;
		fr->len = len;
		fr->session = f->sessions;
		fr->p = malloc(len + 1);
		memcpy(fr->p, f->buf, len);
	}
	return 0;
}

static int
fk_expect(struct fake *f, uint8_t want)
{
	uint8_t type;

	if (fk_read(f, &type) == -1) {
		fk_failf(f, "expected %s, got EOF", proto_type_name(want));
		return -1;
	}
	if (type != want) {
		fk_failf(f, "expected %s, got %s", proto_type_name(want),
		    proto_type_name(type));
		return -1;
	}
	return 0;
}

static void
fk_write(struct fake *f, const void *p, size_t n)
{
	const uint8_t *b = p;
	ssize_t r;

	while (n > 0) {
		if ((r = send(f->fd, b, n, MSG_NOSIGNAL)) <= 0) {
			fk_failf(f, "write: %s", strerror(errno));
			return;
		}
		b += r;
		n -= (size_t)r;
	}
}

static void
fk_flush(struct fake *f, struct proto_wbuf *w)
{
	fk_write(f, w->data, w->len);
	proto_wbuf_free(w);
}

/* Accept a session and answer its HELLO with HELLO_OK(offer). */
static int
fk_hello(struct fake *f)
{
	struct proto_wbuf w;

	if (fk_accept(f) == -1 || fk_expect(f, PROTO_HELLO) == -1)
		return -1;
	proto_wbuf_init(&w);
	proto_enc_hello_ok(&w, f->offer ? f->offer : 1);
	fk_flush(f, &w);
	f->version = f->offer ? f->offer : 1;
	return 0;
}

static int
fk_handshake(struct fake *f)
{
	struct proto_wbuf w;

	if (fk_hello(f) == -1 || fk_expect(f, PROTO_OPEN) == -1)
		return -1;
	proto_wbuf_init(&w);
	proto_enc_empty(&w, PROTO_OPEN_OK);
	fk_flush(f, &w);
	return 0;
}

/* REQ_HEAD, REQ_BODY*, REQ_END; returns the log index of the head. */
static int
fk_request(struct fake *f)
{
	uint8_t type;
	int head;

	if (fk_expect(f, PROTO_REQ_HEAD) == -1)
		return -1;
	head = f->nrx - 1;
	for (;;) {
		if (fk_read(f, &type) == -1) {
			fk_failf(f, "EOF inside a request");
			return -1;
		}
		if (type == PROTO_REQ_END)
			return head;
		if (type != PROTO_REQ_BODY) {
			fk_failf(f, "%s inside a request",
			    proto_type_name(type));
			return -1;
		}
	}
}

/* Send RESP_HEAD; headers as "Name", "value", ..., NULL. */
static void
fk_head(struct fake *f, int status, const char *reason, uint8_t flags,
    int64_t length, ...)
{
	static struct proto_resp_head h;
	struct proto_wbuf w;
	const char *n;
	va_list ap;

	memset(&h, 0, sizeof(h));
	h.version = 11;
	h.flags = flags;
	h.status = (uint16_t)status;
	h.length = length;
	h.reason.p = reason;
	h.reason.len = strlen(reason);
	va_start(ap, length);
	while ((n = va_arg(ap, const char *)) != NULL) {
		h.headers[h.nheaders].name.p = n;
		h.headers[h.nheaders].name.len = strlen(n);
		n = va_arg(ap, const char *);
		h.headers[h.nheaders].value.p = n;
		h.headers[h.nheaders].value.len = strlen(n);
		h.nheaders++;
	}
	va_end(ap);
	proto_wbuf_init(&w);
	proto_enc_resp_head(&w, &h);
	fk_flush(f, &w);
}

static void
fk_body(struct fake *f, const void *p, size_t n)
{
	struct proto_wbuf w;

	proto_wbuf_init(&w);
	proto_enc_body(&w, PROTO_RESP_BODY, p, n);
	fk_flush(f, &w);
}

static void
fk_end(struct fake *f)
{
	struct proto_wbuf w;

	proto_wbuf_init(&w);
	proto_enc_resp_end(&w, 0);
	fk_flush(f, &w);
}

/* ERROR in the layout of version `layout`; `sent` goes on the wire from
 * version 2 on. */
static void
fk_error_as(struct fake *f, uint16_t layout, int code, const char *msg,
    uint64_t partial, int64_t expected, uint8_t sent)
{
	struct proto_error e;
	struct proto_wbuf w;
	const char *name = hpool_error_name(code);

	memset(&e, 0, sizeof(e));
	e.code = (uint16_t)code;
	e.name.p = name;
	e.name.len = strlen(name);
	e.message.p = msg;
	e.message.len = strlen(msg);
	e.partial = partial;
	e.expected = expected;
	e.sent = sent;
	proto_wbuf_init(&w);
	proto_enc_error(&w, &e, layout);
	fk_flush(f, &w);
}

/* ERROR as the session's version lays it out. */
static void
fk_error_sent(struct fake *f, int code, const char *msg, uint64_t partial,
    int64_t expected, uint8_t sent)
{
	fk_error_as(f, f->version, code, msg, partial, expected, sent);
}

static void
fk_error(struct fake *f, int code, const char *msg, uint64_t partial,
    int64_t expected)
{
	fk_error_sent(f, code, msg, partial, expected, PROTO_SENT_UNKNOWN);
}

/* Wait until the client ends the session (CLOSE or EOF). */
static void
fk_wait_eof(struct fake *f)
{
	uint8_t type;

	while (fk_read(f, &type) == 0)
		if (type == PROTO_CLOSE)
			break;
}

static void *
fk_main(void *arg)
{
	struct fake *f = arg;

	f->script(f);
	if (f->fd != -1)
		close(f->fd);
	f->fd = -1;
	return NULL;
}

static void
fake_start(struct fake *f, void (*script)(struct fake *))
{
	struct sockaddr_un sun;

	memset(f, 0, sizeof(*f));
	f->fd = -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/hpool-check-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/hpoold.sock", f->dir);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, f->path, strlen(f->path));
	f->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_ge(f->lfd, 0);
	ck_assert_int_eq(bind(f->lfd, (struct sockaddr *)&sun, sizeof(sun)),
	    0);
	ck_assert_int_eq(listen(f->lfd, 8), 0);
	f->script = script;
	ck_assert_int_eq(pthread_create(&f->th, NULL, fk_main, f), 0);
}

static void
fake_finish(struct fake *f)
{
	pthread_join(f->th, NULL);
	close(f->lfd);
	unlink(f->path);
	rmdir(f->dir);
	ck_assert_msg(f->fail[0] == '\0', "fake daemon: %s", f->fail);
}

static void
fake_free(struct fake *f)
{
	int i;

	for (i = 0; i < f->nrx; i++)
		free(f->rx[i].p);
}

static hpool_conn *
fake_conn(struct fake *f, const char *host, int port)
{
	struct hpool_conn_opts o = HPOOL_CONN_OPTS_INIT;
	hpool_conn *c;

	o.socket_path = f->path;
	o.timeout = 2.0;
	ck_assert_int_eq(hpool_conn_new(&c, host, port, &o, NULL), HPOOL_OK);
	return c;
}

/* The n-th logged frame of this type, decoded as a request head. */
static struct proto_req_head *
rx_req(struct fake *f, int nth)
{
	static struct proto_req_head h;
	int i;

	for (i = 0; i < f->nrx; i++)
		if (f->rx[i].type == PROTO_REQ_HEAD && nth-- == 0) {
			ck_assert_int_eq(proto_dec_req_head(f->rx[i].p,
			    f->rx[i].len, &h), 0);
			return &h;
		}
	ck_abort_msg("no such REQ_HEAD");
	return NULL;
}

/* Body bytes of the nth request, concatenated. */
static size_t
rx_body(struct fake *f, int nth, char *out, size_t cap)
{
	size_t n = 0;
	int i, heads = -1;

	for (i = 0; i < f->nrx; i++) {
		if (f->rx[i].type == PROTO_REQ_HEAD)
			heads++;
		if (f->rx[i].type == PROTO_REQ_BODY && heads == nth) {
			ck_assert_uint_le(n + f->rx[i].len, cap);
			memcpy(out + n, f->rx[i].p, f->rx[i].len);
			n += f->rx[i].len;
		}
	}
	return n;
}

static void
assert_header(const struct proto_req_head *h, size_t i, const char *name,
    const char *value)
{
	ck_assert_uint_gt(h->nheaders, i);
	ck_assert_msg(proto_str_eq(&h->headers[i].name, name),
	    "header %zu: want name %s, got %.*s", i, name,
	    (int)h->headers[i].name.len, h->headers[i].name.p);
	ck_assert_msg(proto_str_eq(&h->headers[i].value, value),
	    "header %zu: want value %s, got %.*s", i, value,
	    (int)h->headers[i].value.len, h->headers[i].value.p);
}

/* A connection whose daemon is absent: for checks that send nothing. */
static hpool_conn *
offline_conn(void)
{
	struct hpool_conn_opts o = HPOOL_CONN_OPTS_INIT;
	hpool_conn *c;

	o.socket_path = "/nonexistent/hpool-check/hpoold.sock";
	ck_assert_int_eq(hpool_conn_new(&c, "example.com", 0, &o, NULL),
	    HPOOL_OK);
	return c;
}

#define ck_err(c, want)	do {						\
	ck_assert_msg(hpool_conn_error(c)->code == (want),		\
	    "want %s, got %s: %s", hpool_error_name(want),		\
	    hpool_error_name(hpool_conn_error(c)->code),		\
	    hpool_conn_error(c)->message);				\
} while (0)

/* ---- error space and tables ---- */

START_TEST(test_error_names)
{
	ck_assert_str_eq(hpool_error_name(HPOOL_E_INCOMPLETE_READ),
	    "IncompleteRead");
	ck_assert_str_eq(hpool_error_name(HPOOL_E_REMOTE_DISCONNECTED),
	    "RemoteDisconnected");
	ck_assert_str_eq(hpool_error_name(HPOOL_E_DAEMON_UNAVAILABLE),
	    "HpoolDaemonUnavailable");
	ck_assert_str_eq(hpool_error_name(HPOOL_E_PROTOCOL),
	    "HpoolProtocolError");
	ck_assert_str_eq(hpool_error_name(1000), "UnknownError");
	ck_assert(hpool_error_is(HPOOL_E_REMOTE_DISCONNECTED,
	    HPOOL_E_CONNECTION_RESET));
	ck_assert(hpool_error_is(HPOOL_E_REMOTE_DISCONNECTED,
	    HPOOL_E_BAD_STATUS_LINE));
	ck_assert(hpool_error_is(HPOOL_E_REMOTE_DISCONNECTED,
	    HPOOL_E_HTTP_EXCEPTION));
	ck_assert(hpool_error_is(HPOOL_E_REMOTE_DISCONNECTED,
	    HPOOL_E_OS_ERROR));
	ck_assert(hpool_error_is(HPOOL_E_CANNOT_SEND_REQUEST,
	    HPOOL_E_IMPROPER_CONNECTION_STATE));
	ck_assert(hpool_error_is(HPOOL_E_RESPONSE_NOT_READY,
	    HPOOL_E_HTTP_EXCEPTION));
	ck_assert(hpool_error_is(HPOOL_E_DAEMON_UNAVAILABLE,
	    HPOOL_E_CONNECTION_ERROR));
	ck_assert(!hpool_error_is(HPOOL_E_INCOMPLETE_READ, HPOOL_E_OS_ERROR));
	ck_assert(!hpool_error_is(HPOOL_E_BAD_STATUS_LINE,
	    HPOOL_E_CONNECTION_ERROR));
	ck_assert_int_eq(hpool_error_from_name("BadStatusLine"),
	    HPOOL_E_BAD_STATUS_LINE);
}
END_TEST

START_TEST(test_responses_table)
{
	ck_assert_str_eq(hpool_responses(200), "OK");
	ck_assert_str_eq(hpool_responses(404), "Not Found");
	ck_assert_str_eq(hpool_responses(100), "Continue");
	ck_assert_str_eq(hpool_responses(418), "I'm a Teapot");
	ck_assert_str_eq(hpool_responses(511),
	    "Network Authentication Required");
	ck_assert_ptr_null(hpool_responses(306));
	ck_assert_ptr_null(hpool_responses(999));
	ck_assert_ptr_null(hpool_responses(0));
	ck_assert_ptr_nonnull(hpool_version());
}
END_TEST

/* ---- host and port ---- */

static const struct {
	const char	*in;
	int		 port;
	const char	*host;		/* NULL: error */
	int		 want_port;
	int		 code;
	const char	*msg;
} hostports[] = {
	{ "example.com", 0, "example.com", 80, 0, NULL },
	{ "example.com:8080", 0, "example.com", 8080, 0, NULL },
	{ "example.com:", 0, "example.com", 80, 0, NULL },
	{ "example.com", 81, "example.com", 81, 0, NULL },
	{ "[::1]:8080", 0, "::1", 8080, 0, NULL },
	{ "[::1]", 0, "::1", 80, 0, NULL },
	{ "::1", 0, ":", 1, 0, NULL },		/* as http.client */
	{ "h: 81", 0, "h", 81, 0, NULL },	/* int(" 81") */
	{ "h:8_1", 0, "h", 81, 0, NULL },
	{ "h:+82", 0, "h", 82, 0, NULL },
	{ "h:x1", 0, NULL, 0, HPOOL_E_INVALID_URL, "nonnumeric port: 'x1'" },
	{ "h:8__1", 0, NULL, 0, HPOOL_E_INVALID_URL,
	    "nonnumeric port: '8__1'" },
	{ "h:99999", 0, NULL, 0, HPOOL_E_INVALID_URL, NULL },
	{ "h:-1", 0, NULL, 0, HPOOL_E_INVALID_URL, NULL },
	{ "h", 70000, NULL, 0, HPOOL_E_INVALID_URL, NULL },
	{ "a b:80", 0, NULL, 0, HPOOL_E_INVALID_URL,
	    "URL can't contain control characters. 'a b' (found at least ' ')" },
	{ "a\nb", 0, NULL, 0, HPOOL_E_INVALID_URL,
	    "URL can't contain control characters. 'a\\nb' "
	    "(found at least '\\n')" },
};

START_TEST(test_hostport)
{
	struct hpool_error e;
	hpool_conn *c;
	int rc;

	rc = hpool_conn_new(&c, hostports[_i].in, hostports[_i].port, NULL,
	    &e);
	if (hostports[_i].host != NULL) {
		ck_assert_msg(rc == HPOOL_OK, "%s: %s", hostports[_i].in,
		    e.message);
		ck_assert_str_eq(hpool_conn_host(c), hostports[_i].host);
		ck_assert_int_eq(hpool_conn_port(c), hostports[_i].want_port);
		hpool_conn_free(c);
	} else {
		ck_assert_int_eq(rc, hostports[_i].code);
		ck_assert_int_eq(e.code, hostports[_i].code);
		ck_assert_ptr_null(c);
		if (hostports[_i].msg != NULL)
			ck_assert_str_eq(e.message, hostports[_i].msg);
	}
}
END_TEST

START_TEST(test_timeout_values)
{
	struct hpool_conn_opts o = HPOOL_CONN_OPTS_INIT;
	struct hpool_error e;
	hpool_conn *c;

	o.timeout = -5;
	ck_assert_int_eq(hpool_conn_new(&c, "h", 0, &o, &e),
	    HPOOL_E_VALUE_ERROR);
	o.timeout = HPOOL_TIMEOUT_NONE;
	ck_assert_int_eq(hpool_conn_new(&c, "h", 0, &o, &e), HPOOL_OK);
	hpool_conn_free(c);
	o.timeout = 0.5;
	o.source_port = 70000;
	ck_assert_int_eq(hpool_conn_new(&c, "h", 0, &o, &e),
	    HPOOL_E_VALUE_ERROR);
	ck_assert_int_eq(hpool_conn_new(&c, NULL, 0, NULL, &e),
	    HPOOL_E_TYPE_ERROR);
}
END_TEST

START_TEST(test_sockpath)
{
	struct hpool_conn_opts o = HPOOL_CONN_OPTS_INIT;
	hpool_conn *c;

	setenv("HPOOL_SOCKET", "/tmp/from-env.sock", 1);
	o.socket_path = "/tmp/explicit.sock";
	ck_assert_int_eq(hpool_conn_new(&c, "h", 0, &o, NULL), HPOOL_OK);
	ck_assert_str_eq(hpool_conn_socket_path(c), "/tmp/explicit.sock");
	hpool_conn_free(c);
	ck_assert_int_eq(hpool_conn_new(&c, "h", 0, NULL, NULL), HPOOL_OK);
	ck_assert_str_eq(hpool_conn_socket_path(c), "/tmp/from-env.sock");
	hpool_conn_free(c);
	unsetenv("HPOOL_SOCKET");
	setenv("XDG_RUNTIME_DIR", "/tmp/xdg", 1);
	ck_assert_int_eq(hpool_conn_new(&c, "h", 0, NULL, NULL), HPOOL_OK);
	if (access("/run/hpool/hpoold.sock", F_OK) == 0)
		ck_assert_str_eq(hpool_conn_socket_path(c),
		    "/run/hpool/hpoold.sock");
	else
		ck_assert_str_eq(hpool_conn_socket_path(c),
		    "/tmp/xdg/hpool/hpoold.sock");
	hpool_conn_free(c);
	unsetenv("XDG_RUNTIME_DIR");
	ck_assert_int_eq(hpool_conn_new(&c, "h", 0, NULL, NULL), HPOOL_OK);
	ck_assert_str_eq(hpool_conn_socket_path(c), "/run/hpool/hpoold.sock");
	hpool_conn_free(c);
}
END_TEST

/* ---- the state machine, without a daemon ---- */

START_TEST(test_state_idle)
{
	hpool_conn *c = offline_conn();
	hpool_response *r;

	ck_assert_int_eq(hpool_conn_putheader(c, "X", "1"),
	    HPOOL_E_CANNOT_SEND_HEADER);
	ck_assert_str_eq(hpool_conn_error(c)->message, "");
	ck_assert_int_eq(hpool_conn_endheaders(c, NULL, 0),
	    HPOOL_E_CANNOT_SEND_HEADER);
	ck_assert_int_eq(hpool_conn_getresponse(c, &r),
	    HPOOL_E_RESPONSE_NOT_READY);
	ck_assert_str_eq(hpool_conn_error(c)->message, "Idle");
	ck_assert_ptr_null(r);
	ck_assert_int_eq(hpool_conn_send(c, "x", 1),
	    HPOOL_E_IMPROPER_CONNECTION_STATE);
	hpool_conn_free(c);
}
END_TEST

START_TEST(test_state_started)
{
	hpool_conn *c = offline_conn();
	hpool_response *r;

	ck_assert_int_eq(hpool_conn_putrequest(c, "GET", "/", 0, 0),
	    HPOOL_OK);
	ck_assert_int_eq(hpool_conn_putrequest(c, "GET", "/", 0, 0),
	    HPOOL_E_CANNOT_SEND_REQUEST);
	ck_assert_str_eq(hpool_conn_error(c)->message, "Request-started");
	ck_assert_int_eq(hpool_conn_request(c, "GET", "/", NULL, 0, NULL, 0),
	    HPOOL_E_CANNOT_SEND_REQUEST);
	ck_assert_int_eq(hpool_conn_getresponse(c, &r),
	    HPOOL_E_RESPONSE_NOT_READY);
	ck_assert_str_eq(hpool_conn_error(c)->message, "Request-started");
	ck_assert_int_eq(hpool_conn_putheader(c, "X-A", "1"), HPOOL_OK);
	ck_assert_int_eq(hpool_conn_send(c, "x", 1),
	    HPOOL_E_IMPROPER_CONNECTION_STATE);
	hpool_conn_close(c);
	ck_assert_int_eq(hpool_conn_putrequest(c, "GET", "/", 0, 0),
	    HPOOL_OK);
	hpool_conn_free(c);
}
END_TEST

START_TEST(test_state_sent_after_connect_failure)
{
	hpool_conn *c = offline_conn();
	hpool_response *r;

	ck_assert_int_eq(hpool_conn_request(c, "GET", "/", NULL, 0, NULL, 0),
	    HPOOL_E_DAEMON_UNAVAILABLE);
	ck_assert_ptr_nonnull(strstr(hpool_conn_error(c)->message,
	    "/nonexistent/hpool-check/hpoold.sock"));
	ck_assert_ptr_nonnull(strstr(hpool_conn_error(c)->message,
	    strerror(ENOENT)));
	/* endheaders() had moved to Request-sent before connecting. */
	ck_assert_int_eq(hpool_conn_putrequest(c, "GET", "/", 0, 0),
	    HPOOL_E_CANNOT_SEND_REQUEST);
	ck_assert_str_eq(hpool_conn_error(c)->message, "Request-sent");
	ck_assert_int_eq(hpool_conn_putheader(c, "X", "1"),
	    HPOOL_E_CANNOT_SEND_HEADER);
	ck_assert_int_eq(hpool_conn_endheaders(c, NULL, 0),
	    HPOOL_E_CANNOT_SEND_HEADER);
	ck_assert_int_eq(hpool_conn_getresponse(c, &r),
	    HPOOL_E_REMOTE_DISCONNECTED);
	/* ...which closed the connection: Idle again. */
	ck_assert_int_eq(hpool_conn_putrequest(c, "GET", "/", 0, 0),
	    HPOOL_OK);
	ck_assert_int_eq(hpool_conn_connect(c), HPOOL_E_DAEMON_UNAVAILABLE);
	hpool_conn_free(c);
}
END_TEST

/* ---- validation, before anything is sent ---- */

START_TEST(test_validate_method_url)
{
	hpool_conn *c = offline_conn();

	ck_assert_int_eq(hpool_conn_putrequest(c, "GE\nT", "/", 0, 0),
	    HPOOL_E_VALUE_ERROR);
	ck_assert_str_eq(hpool_conn_error(c)->message,
	    "method can't contain control characters. 'GE\\nT' "
	    "(found at least '\\n')");
	/* http.client moved to Request-started before validating. */
	ck_assert_int_eq(hpool_conn_putrequest(c, "GET", "/", 0, 0),
	    HPOOL_E_CANNOT_SEND_REQUEST);
	hpool_conn_close(c);
	ck_assert_int_eq(hpool_conn_putrequest(c, "GET", "/a b", 0, 0),
	    HPOOL_E_INVALID_URL);
	ck_assert_str_eq(hpool_conn_error(c)->message,
	    "URL can't contain control characters. '/a b' "
	    "(found at least ' ')");
	hpool_conn_close(c);
	ck_assert_int_eq(hpool_conn_putrequest(c, "GET", "/\x7f", 0, 0),
	    HPOOL_E_INVALID_URL);
	hpool_conn_close(c);
	ck_assert_int_eq(hpool_conn_putrequest(c, "G\xc3\x89T", "/", 0, 0),
	    HPOOL_E_VALUE_ERROR);
	ck_assert_ptr_nonnull(strstr(hpool_conn_error(c)->message,
	    "'ascii' codec can't encode character"));
	hpool_conn_close(c);
	ck_assert_int_eq(hpool_conn_putrequest(c, "GET", "/caf\xc3\xa9", 0,
	    0), HPOOL_E_VALUE_ERROR);
	ck_assert_ptr_nonnull(strstr(hpool_conn_error(c)->message,
	    "in position 8"));
	hpool_conn_close(c);
	/* Space and DEL are allowed in a method, as http.client allows. */
	ck_assert_int_eq(hpool_conn_putrequest(c, "GE T", "/", 0, 0),
	    HPOOL_OK);
	hpool_conn_free(c);
}
END_TEST

START_TEST(test_validate_headers)
{
	hpool_conn *c = offline_conn();
	const char *two[] = { "a", "b" };

	ck_assert_int_eq(hpool_conn_putrequest(c, "GET", "/", 0, 0),
	    HPOOL_OK);
	ck_assert_int_eq(hpool_conn_putheader(c, "X-A", "ok"), HPOOL_OK);
	ck_assert_int_eq(hpool_conn_putheader(c, "X'\"", "odd but legal"),
	    HPOOL_OK);
	ck_assert_int_eq(hpool_conn_putheader(c, "X", "folded\r\n value"),
	    HPOOL_OK);
	ck_assert_int_eq(hpool_conn_putheader(c, "X", ""), HPOOL_OK);
	ck_assert_int_eq(hpool_conn_putheaderv(c, "X", two, 2), HPOOL_OK);
	ck_assert_int_eq(hpool_conn_putheader(c, "X:Y", "1"),
	    HPOOL_E_VALUE_ERROR);
	ck_assert_str_eq(hpool_conn_error(c)->message,
	    "Invalid header name b'X:Y'");
	ck_assert_int_eq(hpool_conn_putheader(c, " X", "1"),
	    HPOOL_E_VALUE_ERROR);
	ck_assert_int_eq(hpool_conn_putheader(c, "", "1"),
	    HPOOL_E_VALUE_ERROR);
	ck_assert_int_eq(hpool_conn_putheader(c, "X\r\nY", "1"),
	    HPOOL_E_VALUE_ERROR);
	ck_assert_int_eq(hpool_conn_putheader(c, "X-\xc3\xa9", "1"),
	    HPOOL_E_VALUE_ERROR);
	ck_assert_int_eq(hpool_conn_putheader(c, "X", "a\nb"),
	    HPOOL_E_VALUE_ERROR);
	ck_assert_str_eq(hpool_conn_error(c)->message,
	    "Invalid header value b'a\\nb'");
	ck_assert_int_eq(hpool_conn_putheader(c, "X", "a\rb"),
	    HPOOL_E_VALUE_ERROR);
	ck_assert_int_eq(hpool_conn_putheader(c, "X", "a\r\nb"),
	    HPOOL_E_VALUE_ERROR);
	ck_assert_int_eq(hpool_conn_putheader(c, "X", "a\n"),
	    HPOOL_E_VALUE_ERROR);
	/* Still Request-started: a failed putheader changes nothing. */
	ck_assert_int_eq(hpool_conn_putheader(c, "Y", "1"), HPOOL_OK);
	hpool_conn_free(c);
}
END_TEST

START_TEST(test_request_bad_header_no_send)
{
	struct hpool_header h[] = { { "X-Bad", "a\nb" } };
	hpool_conn *c = offline_conn();

	/* Fails in putheader, before any connect attempt. */
	ck_assert_int_eq(hpool_conn_request(c, "GET", "/", NULL, 0, h, 1),
	    HPOOL_E_VALUE_ERROR);
	ck_assert_int_eq(hpool_conn_request(c, "GET", "/", NULL, 0, NULL, 0),
	    HPOOL_E_CANNOT_SEND_REQUEST);
	hpool_conn_free(c);
}
END_TEST

/* ---- against the fake daemon ---- */

static void
script_simple(struct fake *f)
{
	if (fk_handshake(f) == -1 || fk_request(f) == -1)
		return;
	fk_head(f, 200, "OK", 0, 5, "Content-Length", "5", "Set-Cookie", "a=1",
	    "X-Other", "o", "set-cookie", "b=2", NULL);
	fk_body(f, "hel", 3);
	fk_body(f, "lo", 2);
	fk_end(f);
	fk_wait_eof(f);
}

START_TEST(test_simple_get)
{
	struct hpool_header hdr[] = { { "X-A", "1" } };
	const struct hpool_header *hs;
	struct proto_req_head *h;
	struct proto_open o;
	struct fake f;
	hpool_conn *c;
	hpool_response *r;
	char buf[16];
	size_t n;

	fake_start(&f, script_simple);
	c = fake_conn(&f, "example.com:8080", 0);
	ck_assert_int_eq(hpool_conn_request(c, "GET", "/x", NULL, 0, hdr, 1),
	    HPOOL_OK);
	ck_assert_int_eq(hpool_conn_getresponse(c, &r), HPOOL_OK);
	ck_assert_int_eq(hpool_response_status(r), 200);
	ck_assert_str_eq(hpool_response_reason(r), "OK");
	ck_assert_int_eq(hpool_response_version(r), 11);
	ck_assert_int_eq(hpool_response_length(r), 5);
	ck_assert_str_eq(hpool_response_getheader(r, "SET-COOKIE", NULL),
	    "a=1, b=2");
	ck_assert_str_eq(hpool_response_getheader(r, "set-cookie", NULL),
	    "a=1, b=2");
	ck_assert_str_eq(hpool_response_getheader(r, "x-other", NULL), "o");
	ck_assert_str_eq(hpool_response_getheader(r, "Nope", "dflt"), "dflt");
	ck_assert_ptr_null(hpool_response_getheader(r, "Nope", NULL));
	ck_assert_uint_eq(hpool_response_getheaders(r, &hs), 4);
	ck_assert_str_eq(hs[0].name, "Content-Length");
	ck_assert_str_eq(hs[3].name, "set-cookie");
	ck_assert_str_eq(hs[3].value, "b=2");
	ck_assert_int_eq(hpool_response_read(r, buf, 2, &n), HPOOL_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert(memcmp(buf, "he", 2) == 0);
	ck_assert(!hpool_response_closed(r));
	ck_assert_int_eq(hpool_response_read(r, buf, sizeof(buf), &n),
	    HPOOL_OK);
	ck_assert_uint_eq(n, 3);
	ck_assert(memcmp(buf, "llo", 3) == 0);
	/* All announced bytes read: closed, as http.client. */
	ck_assert(hpool_response_closed(r));
	ck_assert_int_eq(hpool_response_read(r, buf, sizeof(buf), &n),
	    HPOOL_OK);
	ck_assert_uint_eq(n, 0);
	hpool_response_free(r);
	hpool_conn_free(c);
	fake_finish(&f);

	ck_assert_int_eq(f.rx[1].type, PROTO_OPEN);
	ck_assert_int_eq(proto_dec_open(f.rx[1].p, f.rx[1].len, &o), 0);
	ck_assert(proto_str_eq(&o.scheme, "http"));
	ck_assert(proto_str_eq(&o.host, "example.com"));
	ck_assert_int_eq(o.port, 8080);
	ck_assert(o.has_timeout);
	ck_assert_uint_eq(o.timeout_ms, 2000);
	h = rx_req(&f, 0);
	ck_assert(proto_str_eq(&h->method, "GET"));
	ck_assert(proto_str_eq(&h->url, "/x"));
	ck_assert_uint_eq(h->nheaders, 3);
	assert_header(h, 0, "Host", "example.com:8080");
	assert_header(h, 1, "Accept-Encoding", "identity");
	assert_header(h, 2, "X-A", "1");
	fake_free(&f);
}
END_TEST

static void
script_n_requests(struct fake *f, int n)
{
	int i;

	if (fk_handshake(f) == -1)
		return;
	for (i = 0; i < n; i++) {
		if (fk_request(f) == -1)
			return;
		fk_head(f, 204, "No Content", 0, 0, NULL);
		fk_end(f);
	}
	fk_wait_eof(f);
}

static void
script_five(struct fake *f)
{
	script_n_requests(f, 5);
}

START_TEST(test_content_length_rules)
{
	struct hpool_header user_cl[] = { { "content-length", "3" },
	    { "HOST", "other" }, { "accept-encoding", "gzip" } };
	struct hpool_header te[] = { { "Transfer-Encoding", "chunked" } };
	struct proto_req_head *h;
	struct fake f;
	hpool_conn *c;
	hpool_response *r;
	char body[16];
	size_t n;

	fake_start(&f, script_five);
	c = fake_conn(&f, "[::1]", 80);
#define ROUND(call) do {						\
	ck_assert_int_eq(call, HPOOL_OK);				\
	ck_assert_int_eq(hpool_conn_getresponse(c, &r), HPOOL_OK);	\
	ck_assert_int_eq(hpool_response_read(r, body, 1, &n), HPOOL_OK); \
	ck_assert(hpool_response_closed(r));				\
	hpool_response_free(r);						\
} while (0)
	ROUND(hpool_conn_request(c, "post", "/", NULL, 0, NULL, 0));
	ROUND(hpool_conn_request(c, "PUT", "/", "abc", 3, NULL, 0));
	ROUND(hpool_conn_request(c, "GET", "", NULL, 0, NULL, 0));
	ROUND(hpool_conn_request(c, "PATCH", "/", "xyz", 3, user_cl, 3));
	ROUND(hpool_conn_request(c, "POST", "http://h.example:81/p", "abc", 3,
	    te, 1));
#undef ROUND
	hpool_conn_free(c);
	fake_finish(&f);

	/* POST without a body: Content-Length: 0 (_METHODS_EXPECTING_BODY) */
	h = rx_req(&f, 0);
	ck_assert(proto_str_eq(&h->method, "post"));
	ck_assert_uint_eq(h->nheaders, 3);
	/* "[::1]" with an explicit port stays as given, as http.client. */
	assert_header(h, 0, "Host", "[[::1]]");
	assert_header(h, 2, "Content-Length", "0");
	h = rx_req(&f, 1);
	assert_header(h, 2, "Content-Length", "3");
	ck_assert_uint_eq(rx_body(&f, 1, body, sizeof(body)), 3);
	ck_assert(memcmp(body, "abc", 3) == 0);
	h = rx_req(&f, 2);
	ck_assert(proto_str_eq(&h->url, "/"));
	ck_assert_uint_eq(h->nheaders, 2);
	/* The caller's Content-Length, Host, Accept-Encoding win. */
	h = rx_req(&f, 3);
	ck_assert_uint_eq(h->nheaders, 3);
	assert_header(h, 0, "content-length", "3");
	assert_header(h, 1, "HOST", "other");
	assert_header(h, 2, "accept-encoding", "gzip");
	/* Absolute URL: Host from its netloc; chunked gets no length. */
	h = rx_req(&f, 4);
	ck_assert_uint_eq(h->nheaders, 3);
	assert_header(h, 0, "Host", "h.example:81");
	assert_header(h, 2, "Transfer-Encoding", "chunked");
	ck_assert_uint_eq(rx_body(&f, 4, body, sizeof(body)), 3);
	fake_free(&f);
}
END_TEST

static void
script_ipv6_host(struct fake *f)
{
	script_n_requests(f, 1);
}

START_TEST(test_host_header_ipv6)
{
	struct proto_req_head *h;
	struct fake f;
	hpool_conn *c;
	hpool_response *r;

	fake_start(&f, script_ipv6_host);
	c = fake_conn(&f, "[fe80::1%eth0]:8080", 0);
	ck_assert_str_eq(hpool_conn_host(c), "fe80::1%eth0");
	ck_assert_int_eq(hpool_conn_request(c, "GET", "/", NULL, 0, NULL, 0),
	    HPOOL_OK);
	ck_assert_int_eq(hpool_conn_getresponse(c, &r), HPOOL_OK);
	hpool_response_free(r);
	hpool_conn_free(c);
	fake_finish(&f);
	h = rx_req(&f, 0);
	assert_header(h, 0, "Host", "[fe80::1]:8080");
	fake_free(&f);
}
END_TEST

static void
script_pipeline(struct fake *f)
{
	if (fk_handshake(f) == -1 || fk_request(f) == -1)
		return;
	fk_head(f, 200, "OK", 0, 4, NULL);
	fk_body(f, "AAAA", 4);
	fk_end(f);
	if (fk_request(f) == -1)
		return;
	fk_head(f, 201, "Created", 0, 2, NULL);
	fk_body(f, "BB", 2);
	fk_end(f);
	fk_wait_eof(f);
}

START_TEST(test_pipelining)
{
	struct fake f;
	hpool_conn *c;
	hpool_response *a, *b;
	char buf[8];
	size_t n;

	fake_start(&f, script_pipeline);
	c = fake_conn(&f, "h", 0);
	ck_assert_int_eq(hpool_conn_request(c, "GET", "/a", NULL, 0, NULL, 0),
	    HPOOL_OK);
	ck_assert_int_eq(hpool_conn_getresponse(c, &a), HPOOL_OK);
	/* A second request while the first response is unread is fine... */
	ck_assert_int_eq(hpool_conn_request(c, "GET", "/b", NULL, 0, NULL, 0),
	    HPOOL_OK);
	/* ...its response is not until the first one is closed. */
	ck_assert_int_eq(hpool_conn_getresponse(c, &b),
	    HPOOL_E_RESPONSE_NOT_READY);
	ck_assert_str_eq(hpool_conn_error(c)->message, "Request-sent");
	ck_assert_int_eq(hpool_conn_request(c, "GET", "/c", NULL, 0, NULL, 0),
	    HPOOL_E_CANNOT_SEND_REQUEST);
	ck_assert_int_eq(hpool_response_read(a, buf, 2, &n), HPOOL_OK);
	ck_assert_uint_eq(n, 2);
	/* Closing with two bytes unread drains them. */
	hpool_response_close(a);
	ck_assert_int_eq(hpool_conn_getresponse(c, &b), HPOOL_OK);
	ck_assert_int_eq(hpool_response_status(b), 201);
	ck_assert_int_eq(hpool_response_read(b, buf, sizeof(buf), &n),
	    HPOOL_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert(memcmp(buf, "BB", 2) == 0);
	hpool_response_free(a);
	hpool_response_free(b);
	hpool_conn_free(c);
	fake_finish(&f);
	ck_assert_int_eq(f.sessions, 1);
	fake_free(&f);
}
END_TEST

static void
script_will_close(struct fake *f)
{
	if (fk_handshake(f) == -1 || fk_request(f) == -1)
		return;
	fk_head(f, 200, "OK", PROTO_RESP_WILL_CLOSE, -1, NULL);
	fk_body(f, "first", 5);
	fk_end(f);
	/* The next request comes on a new session. */
	if (fk_handshake(f) == -1 || fk_request(f) == -1)
		return;
	fk_head(f, 200, "OK", 0, 6, NULL);
	fk_body(f, "second", 6);
	fk_end(f);
	fk_wait_eof(f);
}

START_TEST(test_will_close)
{
	struct fake f;
	hpool_conn *c;
	hpool_response *a, *b;
	char *body;
	size_t n;

	fake_start(&f, script_will_close);
	c = fake_conn(&f, "h", 0);
	ck_assert_int_eq(hpool_conn_request(c, "GET", "/a", NULL, 0, NULL, 0),
	    HPOOL_OK);
	ck_assert_int_eq(hpool_conn_getresponse(c, &a), HPOOL_OK);
	ck_assert_int_eq(hpool_response_length(a), -1);
	/* will_close: the response took the session; the conn is free. */
	ck_assert_int_eq(hpool_conn_request(c, "GET", "/b", NULL, 0, NULL, 0),
	    HPOOL_OK);
	ck_assert_int_eq(hpool_conn_getresponse(c, &b), HPOOL_OK);
	ck_assert_int_eq(hpool_response_readall(b, &body, &n), HPOOL_OK);
	ck_assert_str_eq(body, "second");
	free(body);
	hpool_conn_free(c);
	/* The first response outlives its conn. */
	ck_assert_int_eq(hpool_response_readall(a, &body, &n), HPOOL_OK);
	ck_assert_uint_eq(n, 5);
	ck_assert_str_eq(body, "first");
	ck_assert(hpool_response_closed(a));
	free(body);
	hpool_response_free(a);
	hpool_response_free(b);
	fake_finish(&f);
	ck_assert_int_eq(f.sessions, 2);
	fake_free(&f);
}
END_TEST

static void
script_incomplete(struct fake *f)
{
	if (fk_handshake(f) == -1 || fk_request(f) == -1)
		return;
	fk_head(f, 200, "OK", 0, 10, NULL);
	fk_body(f, "abcd", 4);
	fk_error(f, HPOOL_E_INCOMPLETE_READ,
	    "IncompleteRead(4 bytes read, 6 more expected)", 4, 6);
	/* The session survives: one more request. */
	if (fk_request(f) == -1)
		return;
	fk_head(f, 200, "OK", PROTO_RESP_CHUNKED, -1, "Transfer-Encoding",
	    "chunked", NULL);
	fk_body(f, "abcd", 4);
	fk_error(f, HPOOL_E_INCOMPLETE_READ, "IncompleteRead(4 bytes read)",
	    4, -1);
	fk_wait_eof(f);
}

START_TEST(test_incomplete_read)
{
	struct fake f;
	hpool_conn *c;
	hpool_response *r;
	const struct hpool_error *e;
	char *body, buf[8];
	size_t n;

	fake_start(&f, script_incomplete);
	c = fake_conn(&f, "h", 0);
	ck_assert_int_eq(hpool_conn_request(c, "GET", "/", NULL, 0, NULL, 0),
	    HPOOL_OK);
	ck_assert_int_eq(hpool_conn_getresponse(c, &r), HPOOL_OK);
	ck_assert_int_eq(hpool_response_readall(r, &body, &n),
	    HPOOL_E_INCOMPLETE_READ);
	e = hpool_response_error(r);
	ck_assert_uint_eq(e->partial, 4);
	ck_assert_int_eq(e->expected, 6);
	ck_assert_str_eq(e->message,
	    "IncompleteRead(4 bytes read, 6 more expected)");
	ck_assert_uint_eq(n, 4);
	ck_assert_str_eq(body, "abcd");
	ck_assert(hpool_response_closed(r));
	ck_err(c, HPOOL_E_INCOMPLETE_READ);
	free(body);
	hpool_response_free(r);

	/* read(amt) of a chunked body: IncompleteRead at once, its partial
	 * the bytes of this call (python3's _read_chunked). */
	ck_assert_int_eq(hpool_conn_request(c, "GET", "/", NULL, 0, NULL, 0),
	    HPOOL_OK);
	ck_assert_int_eq(hpool_conn_getresponse(c, &r), HPOOL_OK);
	ck_assert(hpool_response_chunked(r));
	ck_assert_int_eq(hpool_response_read(r, buf, 2, &n), HPOOL_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(hpool_response_read(r, buf, sizeof(buf), &n),
	    HPOOL_E_INCOMPLETE_READ);
	ck_assert_uint_eq(n, 2);
	ck_assert(memcmp(buf, "cd", 2) == 0);
	ck_assert_uint_eq(hpool_response_error(r)->partial, 2);
	ck_assert_int_eq(hpool_response_error(r)->expected, -1);
	ck_assert_str_eq(hpool_response_error(r)->message,
	    "IncompleteRead(2 bytes read)");
	ck_assert(hpool_response_closed(r));
	ck_assert_int_eq(hpool_response_read(r, buf, sizeof(buf), &n),
	    HPOOL_OK);
	ck_assert_uint_eq(n, 0);
	hpool_response_free(r);
	hpool_conn_free(c);
	fake_finish(&f);
	ck_assert_int_eq(f.sessions, 1);
	fake_free(&f);
}
END_TEST

static void
script_errors_for_head(struct fake *f)
{
	if (fk_handshake(f) == -1 || fk_request(f) == -1)
		return;
	fk_error(f, HPOOL_E_BAD_STATUS_LINE, "'HTTP/9 x'", 0, -1);
	/* the client closes after BadStatusLine; RemoteDisconnected next */
	fk_wait_eof(f);
	if (fk_handshake(f) == -1 || fk_request(f) == -1)
		return;
	fk_error(f, HPOOL_E_REMOTE_DISCONNECTED,
	    "Remote end closed connection without response", 0, -1);
	fk_wait_eof(f);
	if (fk_handshake(f) == -1 || fk_request(f) == -1)
		return;
	fk_error(f, 300, "something new", 0, -1);
	fk_wait_eof(f);
}

START_TEST(test_error_instead_of_head)
{
	struct fake f;
	hpool_conn *c;
	hpool_response *r;

	fake_start(&f, script_errors_for_head);
	c = fake_conn(&f, "h", 0);
	ck_assert_int_eq(hpool_conn_request(c, "GET", "/", NULL, 0, NULL, 0),
	    HPOOL_OK);
	ck_assert_int_eq(hpool_conn_getresponse(c, &r),
	    HPOOL_E_BAD_STATUS_LINE);
	ck_assert_str_eq(hpool_conn_error(c)->message, "'HTTP/9 x'");
	/* Not a ConnectionError: http.client stays in Request-sent. */
	ck_assert_int_eq(hpool_conn_request(c, "GET", "/", NULL, 0, NULL, 0),
	    HPOOL_E_CANNOT_SEND_REQUEST);
	ck_assert_int_eq(hpool_conn_getresponse(c, &r),
	    HPOOL_E_REMOTE_DISCONNECTED);
	/* RemoteDisconnected is a ConnectionError: closed, Idle. */
	ck_assert_int_eq(hpool_conn_request(c, "GET", "/", NULL, 0, NULL, 0),
	    HPOOL_OK);
	ck_assert_int_eq(hpool_conn_getresponse(c, &r),
	    HPOOL_E_REMOTE_DISCONNECTED);
	ck_assert(hpool_error_is(hpool_conn_error(c)->code,
	    HPOOL_E_CONNECTION_RESET));
	ck_assert(hpool_error_is(hpool_conn_error(c)->code,
	    HPOOL_E_BAD_STATUS_LINE));
	ck_assert_int_eq(hpool_conn_request(c, "GET", "/", NULL, 0, NULL, 0),
	    HPOOL_OK);
	/* A code this library does not know yet. */
	ck_assert_int_eq(hpool_conn_getresponse(c, &r),
	    HPOOL_E_HTTP_EXCEPTION);
	ck_assert_ptr_nonnull(strstr(hpool_conn_error(c)->message,
	    "something new"));
	hpool_conn_free(c);
	fake_finish(&f);
	ck_assert_int_eq(f.sessions, 3);
	fake_free(&f);
}
END_TEST

static void
script_garbage_head(struct fake *f)
{
	static const uint8_t bad_head[] = { 0, 0, 0, 3, PROTO_RESP_HEAD,
	    11, 0, 200 };
	static const uint8_t unknown[] = { 0, 0, 0, 0, 200 };
	static const uint8_t huge[] = { 0x7f, 0xff, 0xff, 0xff,
	    PROTO_RESP_BODY };
	static const uint8_t bad_end[] = { 0, 0, 0, 2, PROTO_RESP_END, 0, 0 };

	if (fk_handshake(f) == -1 || fk_request(f) == -1)
		return;
	fk_write(f, bad_head, sizeof(bad_head));
	fk_wait_eof(f);
	if (fk_handshake(f) == -1 || fk_request(f) == -1)
		return;
	fk_write(f, unknown, sizeof(unknown));
	fk_wait_eof(f);
	if (fk_handshake(f) == -1 || fk_request(f) == -1)
		return;
	fk_head(f, 200, "OK", 0, -1, NULL);
	fk_write(f, huge, sizeof(huge));
	fk_wait_eof(f);
	if (fk_handshake(f) == -1 || fk_request(f) == -1)
		return;
	fk_head(f, 200, "OK", 0, 2, NULL);
	fk_body(f, "abc", 3);		/* more than announced */
	fk_wait_eof(f);
	if (fk_handshake(f) == -1 || fk_request(f) == -1)
		return;
	fk_head(f, 200, "OK", 0, -1, NULL);
	fk_write(f, bad_end, sizeof(bad_end));
	fk_wait_eof(f);
}

START_TEST(test_malformed_frames)
{
	struct fake f;
	hpool_conn *c;
	hpool_response *r;
	char buf[8];
	size_t n;
	int i;

	fake_start(&f, script_garbage_head);
	c = fake_conn(&f, "h", 0);
	for (i = 0; i < 5; i++) {
		ck_assert_int_eq(hpool_conn_request(c, "GET", "/", NULL, 0,
		    NULL, 0), HPOOL_OK);
		if (i < 2) {
			ck_assert_int_eq(hpool_conn_getresponse(c, &r),
			    HPOOL_E_PROTOCOL);
			ck_assert_str_eq(hpool_error_name(
			    hpool_conn_error(c)->code), "HpoolProtocolError");
			/* Not a ConnectionError: Request-sent until close. */
			hpool_conn_close(c);
			continue;
		}
		ck_assert_int_eq(hpool_conn_getresponse(c, &r), HPOOL_OK);
		ck_assert_int_eq(hpool_response_read(r, buf, sizeof(buf), &n),
		    HPOOL_E_PROTOCOL);
		ck_assert(hpool_response_closed(r));
		ck_assert_ptr_nonnull(strstr(hpool_response_error(r)->message,
		    "session closed"));
		hpool_response_free(r);
	}
	hpool_conn_free(c);
	fake_finish(&f);
	ck_assert_int_eq(f.sessions, 5);
	fake_free(&f);
}
END_TEST

static void
script_close_policy(struct fake *f)
{
	static char big[200000];

	if (fk_handshake(f) == -1 || fk_request(f) == -1)
		return;
	/* small remainder: drained, the session stays */
	fk_head(f, 200, "OK", 0, 100, NULL);
	fk_body(f, big, 100);
	fk_end(f);
	if (fk_request(f) == -1)
		return;
	/* unknown length: the session is closed */
	fk_head(f, 200, "OK", PROTO_RESP_CHUNKED, -1, NULL);
	fk_body(f, big, 10);
	fk_wait_eof(f);
	if (fk_handshake(f) == -1 || fk_request(f) == -1)
		return;
	fk_head(f, 200, "OK", 0, 0, NULL);
	fk_end(f);
	fk_wait_eof(f);
}

START_TEST(test_close_policy)
{
	struct fake f;
	hpool_conn *c;
	hpool_response *r;
	char buf[8];
	size_t n;

	fake_start(&f, script_close_policy);
	c = fake_conn(&f, "h", 0);
	ck_assert_int_eq(hpool_conn_request(c, "GET", "/", NULL, 0, NULL, 0),
	    HPOOL_OK);
	ck_assert_int_eq(hpool_conn_getresponse(c, &r), HPOOL_OK);
	ck_assert_int_eq(hpool_response_read(r, buf, 5, &n), HPOOL_OK);
	hpool_response_free(r);
	ck_assert_int_eq(hpool_conn_request(c, "GET", "/", NULL, 0, NULL, 0),
	    HPOOL_OK);
	ck_assert_int_eq(hpool_conn_getresponse(c, &r), HPOOL_OK);
	ck_assert_int_eq(hpool_response_read(r, buf, 5, &n), HPOOL_OK);
	hpool_response_close(r);
	ck_assert(hpool_response_closed(r));
	ck_assert_int_eq(hpool_conn_request(c, "GET", "/", NULL, 0, NULL, 0),
	    HPOOL_OK);
	hpool_response_free(r);
	ck_assert_int_eq(hpool_conn_getresponse(c, &r), HPOOL_OK);
	ck_assert_int_eq(hpool_response_length(r), 0);
	hpool_response_free(r);
	hpool_conn_free(c);
	fake_finish(&f);
	ck_assert_int_eq(f.sessions, 2);
	fake_free(&f);
}
END_TEST

static void
script_head_method(struct fake *f)
{
	if (fk_handshake(f) == -1 || fk_request(f) == -1)
		return;
	fk_head(f, 200, "OK", 0, 0, "Content-Length", "1000", NULL);
	fk_end(f);
	if (fk_request(f) == -1)
		return;
	fk_head(f, 200, "OK", 0, 0, NULL);
	fk_end(f);
	fk_wait_eof(f);
}

START_TEST(test_head_method)
{
	struct fake f;
	hpool_conn *c;
	hpool_response *r;
	char buf[8];
	size_t n;

	hpool_response *r2;

	fake_start(&f, script_head_method);
	c = fake_conn(&f, "h", 0);
	ck_assert_int_eq(hpool_conn_request(c, "HEAD", "/", NULL, 0, NULL, 0),
	    HPOOL_OK);
	ck_assert_int_eq(hpool_conn_getresponse(c, &r), HPOOL_OK);
	ck_assert_int_eq(hpool_response_length(r), 0);
	ck_assert_str_eq(hpool_response_getheader(r, "content-length", NULL),
	    "1000");
	/* Unread (even empty) responses block getresponse, as http.client. */
	ck_assert(!hpool_response_closed(r));
	ck_assert_int_eq(hpool_conn_request(c, "GET", "/", NULL, 0, NULL, 0),
	    HPOOL_OK);
	ck_assert_int_eq(hpool_conn_getresponse(c, &r2),
	    HPOOL_E_RESPONSE_NOT_READY);
	ck_assert_ptr_null(r2);
	ck_assert_int_eq(hpool_response_read(r, buf, sizeof(buf), &n),
	    HPOOL_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert(hpool_response_closed(r));
	hpool_response_free(r);
	ck_assert_int_eq(hpool_conn_getresponse(c, &r2), HPOOL_OK);
	hpool_response_free(r2);
	hpool_conn_free(c);
	fake_finish(&f);
	fake_free(&f);
}
END_TEST

static void
script_gone(struct fake *f)
{
	if (fk_handshake(f) == -1 || fk_request(f) == -1)
		return;
	/* the daemon dies: the socket closes with no answer */
}

START_TEST(test_daemon_gone)
{
	struct fake f;
	hpool_conn *c;
	hpool_response *r;

	fake_start(&f, script_gone);
	c = fake_conn(&f, "h", 0);
	ck_assert_int_eq(hpool_conn_request(c, "GET", "/", NULL, 0, NULL, 0),
	    HPOOL_OK);
	ck_assert_int_eq(hpool_conn_getresponse(c, &r),
	    HPOOL_E_DAEMON_UNAVAILABLE);
	ck_assert_ptr_nonnull(strstr(hpool_conn_error(c)->message, f.path));
	/* a ConnectionError: the connection is closed and Idle */
	ck_assert_int_eq(hpool_conn_putrequest(c, "GET", "/", 0, 0),
	    HPOOL_OK);
	hpool_conn_free(c);
	fake_finish(&f);
	fake_free(&f);
}
END_TEST

static void
script_refuse_hello(struct fake *f)
{
	if (fk_accept(f) == -1 || fk_expect(f, PROTO_HELLO) == -1)
		return;
	fk_error(f, HPOOL_E_PROTOCOL, "no common protocol version (daemon "
	    "speaks 2..2)", 0, -1);
}

START_TEST(test_hello_refused)
{
	struct fake f;
	hpool_conn *c;

	fake_start(&f, script_refuse_hello);
	c = fake_conn(&f, "h", 0);
	ck_assert_int_eq(hpool_conn_connect(c), HPOOL_E_PROTOCOL);
	ck_assert_ptr_nonnull(strstr(hpool_conn_error(c)->message,
	    "no common protocol version"));
	/* an ERROR before HELLO_OK has version 1's layout: no `sent` */
	ck_assert_int_eq(hpool_conn_error(c)->request_sent,
	    HPOOL_SENT_UNKNOWN);
	hpool_conn_free(c);
	fake_finish(&f);
	fake_free(&f);
}
END_TEST

#define RD_MSG	"Remote end closed connection without response"

static void
script_sent(struct fake *f)
{
	f->offer = 2;
	/* a POST that died on a reused connection, then one never sent */
	if (fk_handshake(f) == -1 || fk_request(f) == -1)
		return;
	fk_error_sent(f, HPOOL_E_REMOTE_DISCONNECTED, RD_MSG, 0, -1,
	    PROTO_SENT_MAYBE);
	fk_wait_eof(f);		/* a ConnectionError: the client closes */
	if (fk_handshake(f) == -1 || fk_request(f) == -1)
		return;
	fk_error_sent(f, HPOOL_E_REMOTE_DISCONNECTED, RD_MSG, 0, -1,
	    PROTO_SENT_NO);
	fk_wait_eof(f);
	/* a body cut short: the response's error carries it too */
	if (fk_handshake(f) == -1 || fk_request(f) == -1)
		return;
	fk_head(f, 200, "OK", 0, 10, NULL);
	fk_body(f, "abcd", 4);
	fk_error_sent(f, HPOOL_E_INCOMPLETE_READ,
	    "IncompleteRead(4 bytes read, 6 more expected)", 4, 6,
	    PROTO_SENT_MAYBE);
	if (fk_request(f) == -1)
		return;
	fk_head(f, 200, "OK", 0, 0, NULL);
	fk_end(f);
	/* a code this library does not know keeps it as well */
	if (fk_request(f) == -1)
		return;
	fk_error_sent(f, 300, "something new", 0, -1, PROTO_SENT_NO);
	fk_wait_eof(f);
}

START_TEST(test_request_sent)
{
	struct proto_hello hello;
	struct fake f;
	hpool_conn *c;
	hpool_response *r;
	char *body;
	size_t n;

	fake_start(&f, script_sent);
	c = fake_conn(&f, "h", 0);
	ck_assert_int_eq(hpool_conn_request(c, "POST", "/", "x", 1, NULL, 0),
	    HPOOL_OK);
	ck_assert_int_eq(hpool_conn_getresponse(c, &r),
	    HPOOL_E_REMOTE_DISCONNECTED);
	ck_assert_str_eq(hpool_conn_error(c)->message, RD_MSG);
	ck_assert_int_eq(hpool_conn_error(c)->request_sent, HPOOL_SENT_MAYBE);
	ck_assert_int_eq(hpool_conn_request(c, "POST", "/", "x", 1, NULL, 0),
	    HPOOL_OK);
	ck_assert_int_eq(hpool_conn_getresponse(c, &r),
	    HPOOL_E_REMOTE_DISCONNECTED);
	ck_assert_int_eq(hpool_conn_error(c)->request_sent, HPOOL_SENT_NO);
	/* an error of the library's own says nothing, whatever came before */
	ck_assert_int_eq(hpool_conn_getresponse(c, &r),
	    HPOOL_E_RESPONSE_NOT_READY);
	ck_assert_int_eq(hpool_conn_error(c)->request_sent,
	    HPOOL_SENT_UNKNOWN);

	ck_assert_int_eq(hpool_conn_request(c, "GET", "/", NULL, 0, NULL, 0),
	    HPOOL_OK);
	ck_assert_int_eq(hpool_conn_getresponse(c, &r), HPOOL_OK);
	ck_assert_int_eq(hpool_response_readall(r, &body, &n),
	    HPOOL_E_INCOMPLETE_READ);
	ck_assert_int_eq(hpool_response_error(r)->request_sent,
	    HPOOL_SENT_MAYBE);
	ck_assert_int_eq(hpool_conn_error(c)->request_sent, HPOOL_SENT_MAYBE);
	free(body);
	hpool_response_free(r);
	/* a success leaves nothing behind */
	ck_assert_int_eq(hpool_conn_request(c, "GET", "/", NULL, 0, NULL, 0),
	    HPOOL_OK);
	ck_assert_int_eq(hpool_conn_getresponse(c, &r), HPOOL_OK);
	ck_assert_int_eq(hpool_conn_error(c)->request_sent,
	    HPOOL_SENT_UNKNOWN);
	hpool_response_free(r);
	ck_assert_int_eq(hpool_conn_request(c, "GET", "/", NULL, 0, NULL, 0),
	    HPOOL_OK);
	ck_assert_int_eq(hpool_conn_getresponse(c, &r),
	    HPOOL_E_HTTP_EXCEPTION);
	ck_assert_int_eq(hpool_conn_error(c)->request_sent, HPOOL_SENT_NO);
	hpool_conn_free(c);
	fake_finish(&f);
	ck_assert_int_eq(f.sessions, 3);
	/* the library offers every version it speaks, from 1 */
	ck_assert_int_eq(f.rx[0].type, PROTO_HELLO);
	ck_assert_int_eq(proto_dec_hello(f.rx[0].p, f.rx[0].len, &hello), 0);
	ck_assert_uint_eq(hello.min_version, 1);
	ck_assert_uint_eq(hello.max_version, PROTO_VERSION);
	fake_free(&f);
}
END_TEST

static void
script_sent_layouts(struct fake *f)
{
	/* version 1: no `sent` on the wire, whatever the daemon knew */
	if (fk_handshake(f) == -1 || fk_request(f) == -1)
		return;
	fk_error_sent(f, HPOOL_E_REMOTE_DISCONNECTED, RD_MSG, 0, -1,
	    PROTO_SENT_MAYBE);
	fk_wait_eof(f);
	/* version 2 chosen, then an ERROR laid out as version 1's */
	f->offer = 2;
	if (fk_handshake(f) == -1 || fk_request(f) == -1)
		return;
	fk_error_as(f, 1, HPOOL_E_REMOTE_DISCONNECTED, RD_MSG, 0, -1,
	    PROTO_SENT_NO);
	fk_wait_eof(f);
	/* an OPEN refused after HELLO_OK(2): version 2's layout */
	if (fk_hello(f) == -1 || fk_expect(f, PROTO_OPEN) == -1)
		return;
	fk_error_sent(f, HPOOL_E_PERMISSION, "[Errno 13] Permission denied: "
	    "source port 80 is below 1024, and only uid 0 may bind it", 0, -1,
	    PROTO_SENT_UNKNOWN);
}

START_TEST(test_request_sent_layouts)
{
	struct fake f;
	hpool_conn *c;
	hpool_response *r;

	fake_start(&f, script_sent_layouts);
	c = fake_conn(&f, "h", 0);
	ck_assert_int_eq(hpool_conn_request(c, "POST", "/", "x", 1, NULL, 0),
	    HPOOL_OK);
	ck_assert_int_eq(hpool_conn_getresponse(c, &r),
	    HPOOL_E_REMOTE_DISCONNECTED);
	ck_assert_int_eq(hpool_conn_error(c)->request_sent,
	    HPOOL_SENT_UNKNOWN);
	ck_assert_int_eq(hpool_conn_request(c, "POST", "/", "x", 1, NULL, 0),
	    HPOOL_OK);
	ck_assert_int_eq(hpool_conn_getresponse(c, &r), HPOOL_E_PROTOCOL);
	ck_assert_ptr_nonnull(strstr(hpool_conn_error(c)->message,
	    "malformed ERROR frame"));
	ck_assert_int_eq(hpool_conn_error(c)->request_sent,
	    HPOOL_SENT_UNKNOWN);
	hpool_conn_close(c);
	ck_assert_int_eq(hpool_conn_connect(c), HPOOL_E_PERMISSION);
	ck_assert_ptr_nonnull(strstr(hpool_conn_error(c)->message,
	    "below 1024"));
	ck_assert_int_eq(hpool_conn_error(c)->request_sent,
	    HPOOL_SENT_UNKNOWN);
	hpool_conn_free(c);
	fake_finish(&f);
	ck_assert_int_eq(f.sessions, 3);
	fake_free(&f);
}
END_TEST

static void
script_bodies(struct fake *f)
{
	static char big[300000];
	size_t off, n;

	if (fk_handshake(f) == -1 || fk_request(f) == -1)
		return;
	fk_head(f, 200, "OK", 0, 0, NULL);
	fk_end(f);
	if (fk_request(f) == -1)
		return;
	memset(big, 'z', sizeof(big));
	fk_head(f, 200, "OK", 0, sizeof(big), NULL);
	for (off = 0; off < sizeof(big); off += n) {
		n = sizeof(big) - off < 65536 ? sizeof(big) - off : 65536;
		fk_body(f, big + off, n);
	}
	fk_end(f);
	fk_wait_eof(f);
}

START_TEST(test_request_bodies)
{
	static char up[150000], down[70000];
	struct proto_req_head *h;
	struct fake f;
	hpool_conn *c;
	hpool_response *r;
	size_t n, total = 0;
	int i;

	fake_start(&f, script_bodies);
	c = fake_conn(&f, "h", 0);
	/* Step by step: Content-Length 6, "abc" now and "def" later. */
	ck_assert_int_eq(hpool_conn_putrequest(c, "PUT", "/", 0, 0), HPOOL_OK);
	ck_assert_int_eq(hpool_conn_putheader(c, "Content-Length", "6"),
	    HPOOL_OK);
	ck_assert_int_eq(hpool_conn_endheaders(c, "abc", 3), HPOOL_OK);
	ck_assert_int_eq(hpool_conn_send(c, "def", 3), HPOOL_OK);
	ck_assert_int_eq(hpool_conn_send(c, "g", 1),
	    HPOOL_E_IMPROPER_CONNECTION_STATE);
	ck_assert_int_eq(hpool_conn_getresponse(c, &r), HPOOL_OK);
	hpool_response_free(r);
	/* 150000 bytes go out in frames of at most 64 KiB; the response
	 * comes back in 64 KiB frames, read in 70000-byte reads. */
	memset(up, 'u', sizeof(up));
	ck_assert_int_eq(hpool_conn_request(c, "POST", "/", up, sizeof(up),
	    NULL, 0), HPOOL_OK);
	ck_assert_int_eq(hpool_conn_getresponse(c, &r), HPOOL_OK);
	for (;;) {
		ck_assert_int_eq(hpool_response_read(r, down, sizeof(down),
		    &n), HPOOL_OK);
		if (n == 0)
			break;
		for (i = 0; i < (int)n; i++)
			ck_assert_int_eq(down[i], 'z');
		total += n;
	}
	ck_assert_uint_eq(total, 300000);
	hpool_response_free(r);
	hpool_conn_free(c);
	fake_finish(&f);
	h = rx_req(&f, 0);
	assert_header(h, 2, "Content-Length", "6");
	ck_assert_uint_eq(rx_body(&f, 0, down, sizeof(down)), 6);
	ck_assert(memcmp(down, "abcdef", 6) == 0);
	for (i = 0, n = 0; i < f.nrx; i++)
		if (f.rx[i].type == PROTO_REQ_BODY) {
			ck_assert_uint_le(f.rx[i].len, PROTO_MAX_BODY_CHUNK);
			n += f.rx[i].len;
		}
	ck_assert_uint_eq(n, 6 + sizeof(up));
	fake_free(&f);
}
END_TEST

START_TEST(test_body_needs_framing)
{
	hpool_conn *c = offline_conn();

	ck_assert_int_eq(hpool_conn_putrequest(c, "PUT", "/", 0, 0), HPOOL_OK);
	ck_assert_int_eq(hpool_conn_endheaders(c, "abc", 3),
	    HPOOL_E_VALUE_ERROR);
	hpool_conn_close(c);
	ck_assert_int_eq(hpool_conn_putrequest(c, "PUT", "/", 0, 0), HPOOL_OK);
	ck_assert_int_eq(hpool_conn_putheader(c, "Content-Length", "2"),
	    HPOOL_OK);
	ck_assert_int_eq(hpool_conn_endheaders(c, "abc", 3),
	    HPOOL_E_VALUE_ERROR);
	hpool_conn_free(c);
}
END_TEST

/* ---- HTTPS: the SSLContext counterpart and the OPEN it produces ---- */

#define ck_e(e, want, msg)	do {					\
	ck_assert_msg((e).code == (want), "want %s, got %s: %s",	\
	    hpool_error_name(want), hpool_error_name((e).code),		\
	    (e).message);						\
	if ((msg) != NULL)						\
		ck_assert_str_eq((e).message, (const char *)(msg));	\
} while (0)

static const char fake_ca[] = "-----BEGIN CERTIFICATE-----\nQ0E=\n"
    "-----END CERTIFICATE-----\n";
static const char fake_cert[] = "-----BEGIN CERTIFICATE-----\nQ0VSVA==\n"
    "-----END CERTIFICATE-----\n";
static const char fake_key[] = "-----BEGIN PRIVATE KEY-----\nS0VZ\n"
    "-----END PRIVATE KEY-----\n";

/* A file under dir holding text; its path in out. */
static void
write_file(const char *dir, const char *name, const void *p, size_t len,
    char *out, size_t outlen)
{
	FILE *fp;

	snprintf(out, outlen, "%s/%s", dir, name);
	ck_assert_ptr_nonnull(fp = fopen(out, "wb"));
	ck_assert_uint_eq(fwrite(p, 1, len, fp), len);
	ck_assert_int_eq(fclose(fp), 0);
}

static hpool_conn *
fake_https_conn(struct fake *f, const char *host, int port,
    struct hpool_https_opts *so, hpool_ssl_context *ctx)
{
	struct hpool_https_opts d = HPOOL_HTTPS_OPTS_INIT;
	struct hpool_error e;
	hpool_conn *c;

	if (so == NULL)
		so = &d;
	so->conn.socket_path = f->path;
	so->conn.timeout = 2.0;
	ck_assert_int_eq(hpool_https_conn_new(&c, host, port, so, ctx, &e),
	    HPOOL_OK);
	return c;
}

/* One GET through c, answered by script_simple; the OPEN, decoded. */
static void
https_get(struct fake *f, hpool_conn *c, struct proto_open *o)
{
	hpool_response *r;

	ck_assert_int_eq(hpool_conn_request(c, "GET", "/", NULL, 0, NULL, 0),
	    HPOOL_OK);
	ck_assert_int_eq(hpool_conn_getresponse(c, &r), HPOOL_OK);
	ck_assert_int_eq(hpool_response_status(r), 200);
	hpool_response_free(r);
	hpool_conn_free(c);
	fake_finish(f);
	ck_assert_int_eq(f->rx[1].type, PROTO_OPEN);
	ck_assert_int_eq(proto_dec_open(f->rx[1].p, f->rx[1].len, o), 0);
}

static int
str_is(const struct proto_str *s, const void *p, size_t len)
{
	return s->len == len && memcmp(s->p, p, len) == 0;
}

START_TEST(test_sslctx_defaults)
{
	hpool_ssl_context *ctx;
	struct hpool_error e;

	/* ssl.create_default_context() and SSLContext(PROTOCOL_TLS_CLIENT)
	 * (python3.11): CERT_REQUIRED, check_hostname, TLS 1.2 .. max. */
	ck_assert_int_eq(hpool_ssl_context_new_default(&ctx, &e), HPOOL_OK);
	ck_assert_int_eq(hpool_ssl_context_verify_mode(ctx),
	    HPOOL_CERT_REQUIRED);
	ck_assert_int_eq(hpool_ssl_context_check_hostname(ctx), 1);
	ck_assert_int_eq(hpool_ssl_context_minimum_version(ctx),
	    HPOOL_TLS_VERSION_1_2);
	ck_assert_int_eq(hpool_ssl_context_maximum_version(ctx),
	    HPOOL_TLS_VERSION_MAXIMUM_SUPPORTED);
	hpool_ssl_context_free(ctx);
	ck_assert_int_eq(hpool_ssl_context_new(&ctx, &e), HPOOL_OK);
	ck_assert_int_eq(hpool_ssl_context_verify_mode(ctx),
	    HPOOL_CERT_REQUIRED);
	ck_assert_int_eq(hpool_ssl_context_check_hostname(ctx), 1);
	/* references: the last free releases */
	ck_assert_ptr_eq(hpool_ssl_context_ref(ctx), ctx);
	hpool_ssl_context_free(ctx);
	ck_assert_int_eq(hpool_ssl_context_verify_mode(ctx),
	    HPOOL_CERT_REQUIRED);
	hpool_ssl_context_free(ctx);
	hpool_ssl_context_free(NULL);
	ck_assert_ptr_null(hpool_ssl_context_ref(NULL));
}
END_TEST

START_TEST(test_sslctx_verify_rules)
{
	hpool_ssl_context *ctx;
	struct hpool_error e;

	ck_assert_int_eq(hpool_ssl_context_new_default(&ctx, &e), HPOOL_OK);
	ck_assert_int_eq(hpool_ssl_context_set_verify_mode(ctx,
	    HPOOL_CERT_NONE, &e), HPOOL_E_VALUE_ERROR);
	ck_e(e, HPOOL_E_VALUE_ERROR, "Cannot set verify_mode to CERT_NONE "
	    "when check_hostname is enabled.");
	ck_assert_int_eq(hpool_ssl_context_verify_mode(ctx),
	    HPOOL_CERT_REQUIRED);
	ck_assert_int_eq(hpool_ssl_context_set_verify_mode(ctx, 5, &e),
	    HPOOL_E_VALUE_ERROR);
	ck_e(e, HPOOL_E_VALUE_ERROR, "invalid value for verify_mode");
	ck_assert_int_eq(hpool_ssl_context_set_check_hostname(ctx, 0, &e),
	    HPOOL_OK);
	ck_assert_int_eq(hpool_ssl_context_set_verify_mode(ctx,
	    HPOOL_CERT_NONE, &e), HPOOL_OK);
	/* check_hostname on again makes verification required. */
	ck_assert_int_eq(hpool_ssl_context_set_check_hostname(ctx, 1, &e),
	    HPOOL_OK);
	ck_assert_int_eq(hpool_ssl_context_verify_mode(ctx),
	    HPOOL_CERT_REQUIRED);
	/* ...but leaves CERT_OPTIONAL alone. */
	hpool_ssl_context_set_check_hostname(ctx, 0, &e);
	ck_assert_int_eq(hpool_ssl_context_set_verify_mode(ctx,
	    HPOOL_CERT_OPTIONAL, &e), HPOOL_OK);
	hpool_ssl_context_set_check_hostname(ctx, 1, &e);
	ck_assert_int_eq(hpool_ssl_context_verify_mode(ctx),
	    HPOOL_CERT_OPTIONAL);
	ck_assert_int_eq(hpool_ssl_context_set_minimum_version(ctx, 0x305,
	    &e), HPOOL_E_VALUE_ERROR);
	ck_e(e, HPOOL_E_VALUE_ERROR, "Unsupported TLS/SSL version 0x305");
	ck_assert_int_eq(hpool_ssl_context_set_maximum_version(ctx,
	    HPOOL_TLS_VERSION_1_2, &e), HPOOL_OK);
	ck_assert_int_eq(hpool_ssl_context_maximum_version(ctx),
	    HPOOL_TLS_VERSION_1_2);
	hpool_ssl_context_free(ctx);
}
END_TEST

START_TEST(test_sslctx_files)
{
	const char *alpn_empty[] = { "" }, *alpn_8bit[] = { "h\xc3\xa9" };
	char dir[64], path[128], want[256], *big;
	hpool_ssl_context *ctx;
	struct hpool_error e;

	snprintf(dir, sizeof(dir), "/tmp/hpool-check-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(hpool_ssl_context_new(&ctx, &e), HPOOL_OK);
	ck_assert_int_eq(hpool_ssl_context_load_verify_locations(ctx, NULL,
	    NULL, NULL, 0, &e), HPOOL_E_TYPE_ERROR);
	ck_e(e, HPOOL_E_TYPE_ERROR,
	    "cafile, capath and cadata cannot be all omitted");
	/* Read by the library: open()'s words, the path included. */
	snprintf(path, sizeof(path), "%s/missing.pem", dir);
	snprintf(want, sizeof(want), "[Errno 2] No such file or directory: "
	    "'%s'", path);
	ck_assert_int_eq(hpool_ssl_context_load_verify_locations(ctx, path,
	    NULL, NULL, 0, &e), HPOOL_E_FILE_NOT_FOUND);
	ck_e(e, HPOOL_E_FILE_NOT_FOUND, want);
	ck_assert_int_eq(hpool_ssl_context_load_verify_locations(ctx, NULL,
	    path, NULL, 0, &e), HPOOL_E_FILE_NOT_FOUND);
	ck_assert_int_eq(hpool_ssl_context_load_cert_chain(ctx, path, NULL,
	    NULL, &e), HPOOL_E_FILE_NOT_FOUND);
	ck_e(e, HPOOL_E_FILE_NOT_FOUND, want);
	ck_assert(hpool_error_is(e.code, HPOOL_E_OS_ERROR));
	ck_assert_int_eq(hpool_ssl_context_load_cert_chain(ctx, NULL, NULL,
	    NULL, &e), HPOOL_E_TYPE_ERROR);
	ck_e(e, HPOOL_E_TYPE_ERROR,
	    "certfile should be a valid filesystem path");
	snprintf(want, sizeof(want), "[Errno 21] Is a directory: '%s'", dir);
	ck_assert_int_eq(hpool_ssl_context_load_verify_locations(ctx, dir,
	    NULL, NULL, 0, &e), HPOOL_E_OS_ERROR);
	ck_e(e, HPOOL_E_OS_ERROR, want);
	/* No certificate in it: SSLError now, as Python raises at load. */
	write_file(dir, "key.pem", fake_key, strlen(fake_key), path,
	    sizeof(path));
	ck_assert_int_eq(hpool_ssl_context_load_verify_locations(ctx, path,
	    NULL, NULL, 0, &e), HPOOL_E_SSL_ERROR);
	ck_e(e, HPOOL_E_SSL_ERROR, "[X509: NO_CERTIFICATE_OR_CRL_FOUND] no "
	    "certificate or crl found");
	unlink(path);
	ck_assert_int_eq(hpool_ssl_context_load_verify_locations(ctx, NULL,
	    NULL, "garbage", 7, &e), HPOOL_E_SSL_ERROR);
	ck_e(e, HPOOL_E_SSL_ERROR,
	    "no start line: cadata does not contain a certificate");
	ck_assert_int_eq(hpool_ssl_context_load_verify_locations(ctx, NULL,
	    NULL, "\x30\x09\x01", 3, &e), HPOOL_E_SSL_ERROR);
	ck_e(e, HPOOL_E_SSL_ERROR,
	    "not enough data: cadata does not contain a certificate");
	/* Every file is capped at the protocol's 1 MiB string. */
	ck_assert_ptr_nonnull(big = calloc(1, PROTO_MAX_STR + 1));
	write_file(dir, "big.pem", big, PROTO_MAX_STR + 1, path, sizeof(path));
	free(big);
	ck_assert_int_eq(hpool_ssl_context_load_cert_chain(ctx, path, NULL,
	    NULL, &e), HPOOL_E_VALUE_ERROR);
	ck_assert_msg(strstr(e.message, "larger than 1 MiB") != NULL, "%s",
	    e.message);
	unlink(path);
	ck_assert_int_eq(hpool_ssl_context_set_alpn_protocols(ctx,
	    alpn_empty, 1, &e), HPOOL_E_SSL_ERROR);
	ck_e(e, HPOOL_E_SSL_ERROR, "ALPN protocols must be 1 to 255 in "
	    "length");
	ck_assert_int_eq(hpool_ssl_context_set_alpn_protocols(ctx,
	    alpn_8bit, 1, &e), HPOOL_E_VALUE_ERROR);
	hpool_ssl_context_free(ctx);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

/* capath: the files `openssl rehash` names, and nothing else. */
START_TEST(test_sslctx_capath)
{
	char dir[64], a[128], b[128], c[128];
	hpool_ssl_context *ctx;
	struct hpool_error e;
	struct proto_open o;
	struct fake f;
	hpool_conn *conn;

	snprintf(dir, sizeof(dir), "/tmp/hpool-check-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	write_file(dir, "5ed36f99.0", fake_ca, strlen(fake_ca), a, sizeof(a));
	write_file(dir, "other.pem", fake_cert, strlen(fake_cert), b,
	    sizeof(b));
	write_file(dir, "5ed36f99.r0", "crl", 3, c, sizeof(c));
	ck_assert_int_eq(hpool_ssl_context_new(&ctx, &e), HPOOL_OK);
	ck_assert_int_eq(hpool_ssl_context_load_verify_locations(ctx, NULL,
	    dir, NULL, 0, &e), HPOOL_OK);
	unlink(a);
	unlink(b);
	unlink(c);
	rmdir(dir);
	fake_start(&f, script_simple);
	conn = fake_https_conn(&f, "example.com", 0, NULL, ctx);
	hpool_ssl_context_free(ctx);
	https_get(&f, conn, &o);
	ck_assert(str_is(&o.tls_ca_pem, fake_ca, strlen(fake_ca)));
	fake_free(&f);
}
END_TEST

START_TEST(test_https_conn_new_rules)
{
	struct hpool_https_opts so = HPOOL_HTTPS_OPTS_INIT;
	hpool_ssl_context *ctx;
	struct hpool_error e;
	hpool_conn *c;

	so.conn.socket_path = "/nonexistent/hpool-check/hpoold.sock";
	/* HTTPSConnection(check_hostname=True) needs verification. */
	ck_assert_int_eq(hpool_ssl_context_new(&ctx, &e), HPOOL_OK);
	hpool_ssl_context_set_check_hostname(ctx, 0, &e);
	hpool_ssl_context_set_verify_mode(ctx, HPOOL_CERT_NONE, &e);
	so.check_hostname = 1;
	ck_assert_int_eq(hpool_https_conn_new(&c, "example.com", 0, &so, ctx,
	    &e), HPOOL_E_VALUE_ERROR);
	ck_e(e, HPOOL_E_VALUE_ERROR, "check_hostname needs a SSL context "
	    "with either CERT_OPTIONAL or CERT_REQUIRED");
	ck_assert_ptr_null(c);
	so.check_hostname = HPOOL_CHECK_HOSTNAME_DEFAULT;
	so.key_file = "/nonexistent/key.pem";
	ck_assert_int_eq(hpool_https_conn_new(&c, "example.com", 0, &so, ctx,
	    &e), HPOOL_E_TYPE_ERROR);
	so.cert_file = "/nonexistent/cert.pem";
	ck_assert_int_eq(hpool_https_conn_new(&c, "example.com", 0, &so, ctx,
	    &e), HPOOL_E_FILE_NOT_FOUND);
	ck_e(e, HPOOL_E_FILE_NOT_FOUND, "[Errno 2] No such file or "
	    "directory: '/nonexistent/cert.pem'");
	so.key_file = so.cert_file = NULL;
	/* port: 443 by default, from host:port otherwise */
	ck_assert_int_eq(hpool_https_conn_new(&c, "example.com", 0, &so, ctx,
	    &e), HPOOL_OK);
	ck_assert_int_eq(hpool_conn_port(c), 443);
	ck_assert_ptr_eq(hpool_conn_ssl_context(c), ctx);
	hpool_conn_free(c);
	ck_assert_int_eq(hpool_https_conn_new(&c, "[::1]:8443", 0, NULL, NULL,
	    &e), HPOOL_OK);
	ck_assert_int_eq(hpool_conn_port(c), 8443);
	ck_assert_str_eq(hpool_conn_host(c), "::1");
	ck_assert_ptr_nonnull(hpool_conn_ssl_context(c));
	hpool_conn_free(c);
	ck_assert_int_eq(hpool_https_conn_new(&c, "example.com:", 0, NULL,
	    NULL, &e), HPOOL_OK);
	ck_assert_int_eq(hpool_conn_port(c), 443);
	hpool_conn_free(c);
	hpool_ssl_context_free(ctx);
}
END_TEST

/* Every TLS setting of the context travels in OPEN, exactly. */
START_TEST(test_https_open_params)
{
	static const uint8_t der[] = { 0x30, 0x03, 0x02, 0x01, 0x05 };
	static const char der_pem[] = "-----BEGIN CERTIFICATE-----\n"
	    "MAMCAQU=\n-----END CERTIFICATE-----\n";
	const char *alpn[] = { "h2", "http/1.1" };
	char dir[64], ca[128], cert[128], key[128], want[512];
	struct proto_req_head *h;
	hpool_ssl_context *ctx;
	struct hpool_error e;
	struct proto_open o;
	struct fake f;
	hpool_conn *c;

	snprintf(dir, sizeof(dir), "/tmp/hpool-check-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	write_file(dir, "ca.pem", fake_ca, strlen(fake_ca), ca, sizeof(ca));
	write_file(dir, "cert.pem", fake_cert, strlen(fake_cert), cert,
	    sizeof(cert));
	write_file(dir, "key.pem", fake_key, strlen(fake_key), key,
	    sizeof(key));
	ck_assert_int_eq(hpool_ssl_context_new(&ctx, &e), HPOOL_OK);
	ck_assert_int_eq(hpool_ssl_context_load_verify_locations(ctx, ca,
	    NULL, der, sizeof(der), &e), HPOOL_OK);
	ck_assert_int_eq(hpool_ssl_context_load_cert_chain(ctx, cert, key,
	    "sesame", &e), HPOOL_OK);
	ck_assert_int_eq(hpool_ssl_context_set_minimum_version(ctx,
	    HPOOL_TLS_VERSION_1_3, &e), HPOOL_OK);
	ck_assert_int_eq(hpool_ssl_context_set_maximum_version(ctx,
	    HPOOL_TLS_VERSION_1_3, &e), HPOOL_OK);
	ck_assert_int_eq(hpool_ssl_context_set_alpn_protocols(ctx, alpn, 2,
	    &e), HPOOL_OK);
	unlink(ca);
	unlink(cert);
	unlink(key);
	rmdir(dir);

	fake_start(&f, script_simple);
	c = fake_https_conn(&f, "example.com", 0, NULL, ctx);
	/* The connection holds its own reference. */
	hpool_ssl_context_free(ctx);
	https_get(&f, c, &o);
	ck_assert(proto_str_eq(&o.scheme, "https"));
	ck_assert(proto_str_eq(&o.host, "example.com"));
	ck_assert_int_eq(o.port, 443);
	ck_assert_int_eq(o.tls_verify, PROTO_TLS_CERT_REQUIRED);
	ck_assert_int_eq(o.tls_check_hostname, 1);
	ck_assert_int_eq(o.tls_ca_system, 0);
	snprintf(want, sizeof(want), "%s%s", fake_ca, der_pem);
	ck_assert_msg(str_is(&o.tls_ca_pem, want, strlen(want)), "CA: %.*s",
	    (int)o.tls_ca_pem.len, o.tls_ca_pem.p);
	ck_assert(str_is(&o.tls_cert_pem, fake_cert, strlen(fake_cert)));
	ck_assert(str_is(&o.tls_key_pem, fake_key, strlen(fake_key)));
	ck_assert(proto_str_eq(&o.tls_key_password, "sesame"));
	ck_assert_int_eq(o.tls_min_version, 0x0304);
	ck_assert_int_eq(o.tls_max_version, 0x0304);
	ck_assert(str_is(&o.tls_alpn, "\x02h2\x08http/1.1", 12));
	ck_assert(proto_str_eq(&o.tls_sni, "example.com"));
	/* Host: without :443 on an HTTPS connection. */
	h = rx_req(&f, 0);
	assert_header(h, 0, "Host", "example.com");
	fake_free(&f);
}
END_TEST

/* No context: Python's default, plus ALPN http/1.1 as HTTPSConnection. */
START_TEST(test_https_open_default_context)
{
	struct proto_req_head *h;
	struct proto_open o;
	struct fake f;
	hpool_conn *c;

	fake_start(&f, script_simple);
	c = fake_https_conn(&f, "example.com:8443", 0, NULL, NULL);
	https_get(&f, c, &o);
	ck_assert(proto_str_eq(&o.scheme, "https"));
	ck_assert_int_eq(o.port, 8443);
	ck_assert_int_eq(o.tls_verify, PROTO_TLS_CERT_REQUIRED);
	ck_assert_int_eq(o.tls_check_hostname, 1);
	ck_assert_int_eq(o.tls_ca_system, 1);
	ck_assert_uint_eq(o.tls_ca_pem.len, 0);
	ck_assert_uint_eq(o.tls_cert_pem.len, 0);
	ck_assert_uint_eq(o.tls_key_pem.len, 0);
	ck_assert_uint_eq(o.tls_key_password.len, 0);
	ck_assert_int_eq(o.tls_min_version, 0x0303);
	ck_assert_int_eq(o.tls_max_version, 0);
	ck_assert(str_is(&o.tls_alpn, "\x08http/1.1", 9));
	ck_assert(proto_str_eq(&o.tls_sni, "example.com"));
	h = rx_req(&f, 0);
	assert_header(h, 0, "Host", "example.com:8443");
	fake_free(&f);
}
END_TEST

/* HTTPSConnection(key_file, cert_file, check_hostname=False) apply to the
 * connection only; an unverified context sends CERT_NONE. */
START_TEST(test_https_open_conn_overrides)
{
	struct hpool_https_opts so = HPOOL_HTTPS_OPTS_INIT;
	char dir[64], cert[128], key[128];
	hpool_ssl_context *ctx;
	struct hpool_error e;
	struct proto_open o;
	struct fake f;
	hpool_conn *c;

	snprintf(dir, sizeof(dir), "/tmp/hpool-check-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	write_file(dir, "cert.pem", fake_cert, strlen(fake_cert), cert,
	    sizeof(cert));
	write_file(dir, "key.pem", fake_key, strlen(fake_key), key,
	    sizeof(key));
	ck_assert_int_eq(hpool_ssl_context_new_default(&ctx, &e), HPOOL_OK);
	so.cert_file = cert;
	so.key_file = key;
	so.check_hostname = 0;
	fake_start(&f, script_simple);
	c = fake_https_conn(&f, "10.0.0.1", 0, &so, ctx);
	unlink(cert);
	unlink(key);
	rmdir(dir);
	https_get(&f, c, &o);
	ck_assert_int_eq(o.tls_verify, PROTO_TLS_CERT_REQUIRED);
	ck_assert_int_eq(o.tls_check_hostname, 0);
	ck_assert(str_is(&o.tls_cert_pem, fake_cert, strlen(fake_cert)));
	ck_assert(str_is(&o.tls_key_pem, fake_key, strlen(fake_key)));
	ck_assert(proto_str_eq(&o.tls_sni, "10.0.0.1"));
	fake_free(&f);
	/* The context itself was not changed. */
	ck_assert_int_eq(hpool_ssl_context_check_hostname(ctx), 1);

	/* -k: CERT_NONE, no name check. */
	hpool_ssl_context_set_check_hostname(ctx, 0, &e);
	ck_assert_int_eq(hpool_ssl_context_set_verify_mode(ctx,
	    HPOOL_CERT_NONE, &e), HPOOL_OK);
	fake_start(&f, script_simple);
	c = fake_https_conn(&f, "example.com", 0, NULL, ctx);
	https_get(&f, c, &o);
	ck_assert_int_eq(o.tls_verify, PROTO_TLS_CERT_NONE);
	ck_assert_int_eq(o.tls_check_hostname, 0);
	ck_assert_int_eq(o.tls_ca_system, 1);
	ck_assert_uint_eq(o.tls_cert_pem.len, 0);
	fake_free(&f);
	hpool_ssl_context_free(ctx);
}
END_TEST

/* An HTTP connection to port 443 names it in Host; no TLS keys in OPEN. */
START_TEST(test_http_port_443_host)
{
	struct proto_req_head *h;
	struct proto_open o;
	struct fake f;
	hpool_conn *c;

	fake_start(&f, script_simple);
	c = fake_conn(&f, "example.com", 443);
	https_get(&f, c, &o);
	ck_assert(proto_str_eq(&o.scheme, "http"));
	h = rx_req(&f, 0);
	assert_header(h, 0, "Host", "example.com:443");
	fake_free(&f);
}
END_TEST

/* ---- the rest of the module: constants, bodies, tunnel, debug ---- */

START_TEST(test_status_constants)
{
	static const int codes[] = { HPOOL_HTTP_CONTINUE,
	    HPOOL_HTTP_EARLY_HINTS, HPOOL_HTTP_OK, HPOOL_HTTP_IM_USED,
	    HPOOL_HTTP_PERMANENT_REDIRECT, HPOOL_HTTP_MISDIRECTED_REQUEST,
	    HPOOL_HTTP_TOO_EARLY, HPOOL_HTTP_PRECONDITION_REQUIRED,
	    HPOOL_HTTP_TOO_MANY_REQUESTS,
	    HPOOL_HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE,
	    HPOOL_HTTP_UNAVAILABLE_FOR_LEGAL_REASONS,
	    HPOOL_HTTP_NETWORK_AUTHENTICATION_REQUIRED };
	size_t i;

	ck_assert_int_eq(HPOOL_HTTP_OK, 200);
	ck_assert_int_eq(HPOOL_HTTP_PERMANENT_REDIRECT, 308);
	ck_assert_int_eq(HPOOL_HTTP_TOO_EARLY, 425);
	ck_assert_int_eq(HPOOL_HTTP_IM_A_TEAPOT, 418);
	ck_assert_int_eq(HPOOL_HTTP_NETWORK_AUTHENTICATION_REQUIRED, 511);
	ck_assert_int_eq(HPOOL_HTTP_PORT, 80);
	ck_assert_int_eq(HPOOL_HTTPS_PORT, 443);
	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		ck_assert_ptr_nonnull(hpool_responses(codes[i]));
	ck_assert_str_eq(hpool_responses(HPOOL_HTTP_TOO_EARLY), "Too Early");
	ck_assert_str_eq(hpool_error_name(HPOOL_E_UNICODE_ENCODE),
	    "UnicodeEncodeError");
	ck_assert(hpool_error_is(HPOOL_E_UNICODE_ENCODE, HPOOL_E_VALUE_ERROR));
	ck_assert_str_eq(hpool_error_name(HPOOL_E_RUNTIME_ERROR),
	    "RuntimeError");
	ck_assert(!hpool_error_is(HPOOL_E_RUNTIME_ERROR,
	    HPOOL_E_HTTP_EXCEPTION));
	ck_assert(hpool_error_is(HPOOL_E_UNIMPLEMENTED_FILE_MODE,
	    HPOOL_E_HTTP_EXCEPTION));
	ck_assert(hpool_error_is(HPOOL_E_UNKNOWN_PROTOCOL,
	    HPOOL_E_HTTP_EXCEPTION));
	ck_assert(hpool_error_is(HPOOL_E_LINE_TOO_LONG,
	    HPOOL_E_HTTP_EXCEPTION));
}
END_TEST

static const struct {
	const char	*text;
	int		 code;
	const char	*msg;
} texts[] = {
	{ "ab\xe2\x82\xac", HPOOL_E_UNICODE_ENCODE,
	    "'latin-1' codec can't encode character '\\u20ac' in position 2: "
	    "Body ('\xe2\x82\xac') is not valid Latin-1. Use "
	    "body.encode('utf-8') if you want to send it encoded in UTF-8." },
	{ "\xe2\x82\xac\xe2\x82\xacx", HPOOL_E_UNICODE_ENCODE,
	    "'latin-1' codec can't encode characters in position 0-1: "
	    "Body ('\xe2\x82\xac\xe2\x82\xac') is not valid Latin-1. Use "
	    "body.encode('utf-8') if you want to send it encoded in UTF-8." },
	{ "\xf0\x9f\x98\x80", HPOOL_E_UNICODE_ENCODE,
	    "'latin-1' codec can't encode character '\\U0001f600' in "
	    "position 0: Body ('\xf0\x9f\x98\x80') is not valid Latin-1. Use "
	    "body.encode('utf-8') if you want to send it encoded in UTF-8." },
	{ "a\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac"
	    "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac"
	    "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac"
	    "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac"
	    "\xe2\x82\xac\xe2\x82\xac", HPOOL_E_UNICODE_ENCODE,
	    "'latin-1' codec can't encode characters in position 1-22: "
	    "Body ('\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac"
	    "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac"
	    "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac"
	    "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac) "
	    "is not valid Latin-1. Use body.encode('utf-8') if you want to "
	    "send it encoded in UTF-8." },
	{ "caf\xc3", HPOOL_E_VALUE_ERROR, "body is not valid UTF-8 text" },
};

START_TEST(test_text_body_errors)
{
	hpool_conn *c = offline_conn();

	ck_assert_int_eq(hpool_conn_request_text(c, "POST", "/",
	    texts[_i].text, NULL, 0), texts[_i].code);
	ck_assert_str_eq(hpool_conn_error(c)->message, texts[_i].msg);
	/* As Python: raised after putrequest, in Request-started. */
	ck_assert_int_eq(hpool_conn_request(c, "GET", "/", NULL, 0, NULL, 0),
	    HPOOL_E_CANNOT_SEND_REQUEST);
	ck_assert_str_eq(hpool_conn_error(c)->message, "Request-started");
	hpool_conn_free(c);
}
END_TEST

/* Every order of calls: what http.client allows and what it raises. */
static void
script_two(struct fake *f)
{
	script_n_requests(f, 2);
}

START_TEST(test_state_orders)
{
	struct fake f;
	hpool_conn *c;
	hpool_response *r, *r2;
	char buf[8];
	size_t n;

	fake_start(&f, script_two);
	c = fake_conn(&f, "h", 0);
	/* Idle: only putrequest/request/connect/close. */
	ck_assert_int_eq(hpool_conn_putheader_long(c, "X", 1),
	    HPOOL_E_CANNOT_SEND_HEADER);
	ck_assert_int_eq(hpool_conn_endheaders(c, NULL, 0),
	    HPOOL_E_CANNOT_SEND_HEADER);
	ck_assert_int_eq(hpool_conn_send(c, "x", 1),
	    HPOOL_E_IMPROPER_CONNECTION_STATE);
	ck_assert_int_eq(hpool_conn_getresponse(c, &r),
	    HPOOL_E_RESPONSE_NOT_READY);
	/* Request-started: headers, then endheaders; no second request, no
	 * response, no send. */
	ck_assert_int_eq(hpool_conn_putrequest(c, "GET", "/1", 0, 0), HPOOL_OK);
	ck_assert_int_eq(hpool_conn_putheader_long(c, "X-N", -42), HPOOL_OK);
	ck_assert_int_eq(hpool_conn_putrequest(c, "GET", "/", 0, 0),
	    HPOOL_E_CANNOT_SEND_REQUEST);
	ck_assert_int_eq(hpool_conn_getresponse(c, &r),
	    HPOOL_E_RESPONSE_NOT_READY);
	ck_assert_str_eq(hpool_conn_error(c)->message, "Request-started");
	ck_assert_int_eq(hpool_conn_endheaders(c, NULL, 0), HPOOL_OK);
	/* Request-sent: no header, no endheaders, no new request. */
	ck_assert_int_eq(hpool_conn_putheader(c, "X", "1"),
	    HPOOL_E_CANNOT_SEND_HEADER);
	ck_assert_int_eq(hpool_conn_endheaders(c, NULL, 0),
	    HPOOL_E_CANNOT_SEND_HEADER);
	ck_assert_int_eq(hpool_conn_request(c, "GET", "/", NULL, 0, NULL, 0),
	    HPOOL_E_CANNOT_SEND_REQUEST);
	ck_assert_str_eq(hpool_conn_error(c)->message, "Request-sent");
	ck_assert_int_eq(hpool_conn_getresponse(c, &r), HPOOL_OK);
	/* Idle again with a response open (204: already closed). */
	ck_assert_int_eq(hpool_conn_getresponse(c, &r2),
	    HPOOL_E_RESPONSE_NOT_READY);
	ck_assert_str_eq(hpool_conn_error(c)->message, "Idle");
	ck_assert_int_eq(hpool_response_read(r, buf, sizeof(buf), &n),
	    HPOOL_OK);
	hpool_response_free(r);
	/* Step by step with a body through send(). */
	ck_assert_int_eq(hpool_conn_putrequest(c, "PUT", "/2", 0, 0), HPOOL_OK);
	ck_assert_int_eq(hpool_conn_putheader(c, "Content-Length", "2"),
	    HPOOL_OK);
	ck_assert_int_eq(hpool_conn_endheaders(c, NULL, 0), HPOOL_OK);
	ck_assert_int_eq(hpool_conn_send(c, "a", 1), HPOOL_OK);
	ck_assert_int_eq(hpool_conn_send(c, "b", 1), HPOOL_OK);
	ck_assert_int_eq(hpool_conn_getresponse(c, &r), HPOOL_OK);
	hpool_response_free(r);
	/* close() in any state goes back to Idle. */
	ck_assert_int_eq(hpool_conn_putrequest(c, "GET", "/", 0, 0), HPOOL_OK);
	hpool_conn_close(c);
	ck_assert_int_eq(hpool_conn_putheader(c, "X", "1"),
	    HPOOL_E_CANNOT_SEND_HEADER);
	hpool_conn_free(c);
	fake_finish(&f);
	assert_header(rx_req(&f, 0), 2, "X-N", "-42");
	fake_free(&f);
}
END_TEST

struct iter_state {
	int		 i;
	int		 fail_at;
};

static int
iter_next(void *arg, const void **data, size_t *len)
{
	static const char *const parts[] = { "ab", "", "cde", NULL };
	struct iter_state *st = arg;

	if (st->i == st->fail_at)
		return HPOOL_E_VALUE_ERROR;
	*data = parts[st->i];
	*len = parts[st->i] != NULL ? strlen(parts[st->i]) : 0;
	if (parts[st->i] != NULL)
		st->i++;
	return HPOOL_OK;
}

static void
script_four(struct fake *f)
{
	script_n_requests(f, 4);
}

START_TEST(test_body_kinds)
{
	static const char *const two[] = { "v1", "v2" };
	struct iter_state st = { 0, -1 };
	struct proto_req_head *h;
	struct fake f;
	hpool_conn *c;
	hpool_response *r;
	char path[128], body[64];
	int fd;

	fake_start(&f, script_four);
	c = fake_conn(&f, "h", 0);
	/* str: Content-Length is len(str); the bytes are Latin-1. */
	ck_assert_int_eq(hpool_conn_request_text(c, "POST", "/", "caf\xc3\xa9",
	    NULL, 0), HPOOL_OK);
	ck_assert_int_eq(hpool_conn_getresponse(c, &r), HPOOL_OK);
	hpool_response_free(r);
	/* a file: the length from fstat, from the current offset. */
	snprintf(path, sizeof(path), "%s/body", f.dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "0123456789", 10), 10);
	ck_assert_int_eq(lseek(fd, 4, SEEK_SET), 4);
	ck_assert_int_eq(hpool_conn_request_fd(c, "PUT", "/f", fd, NULL, 0),
	    HPOOL_OK);
	close(fd);
	unlink(path);
	ck_assert_int_eq(hpool_conn_getresponse(c, &r), HPOOL_OK);
	hpool_response_free(r);
	/* an iterable: chunked; empty chunks skipped. */
	ck_assert_int_eq(hpool_conn_request_iter(c, "POST", "/i", iter_next,
	    &st, NULL, 0), HPOOL_OK);
	ck_assert_int_eq(hpool_conn_getresponse(c, &r), HPOOL_OK);
	hpool_response_free(r);
	/* several values: continuation lines */
	ck_assert_int_eq(hpool_conn_putrequest(c, "GET", "/m", 1, 1), HPOOL_OK);
	ck_assert_int_eq(hpool_conn_putheaderv(c, "X-M", two, 2), HPOOL_OK);
	ck_assert_int_eq(hpool_conn_endheaders(c, NULL, 0), HPOOL_OK);
	ck_assert_int_eq(hpool_conn_getresponse(c, &r), HPOOL_OK);
	hpool_response_free(r);
	hpool_conn_free(c);
	fake_finish(&f);
	h = rx_req(&f, 0);
	assert_header(h, 2, "Content-Length", "4");
	ck_assert_uint_eq(rx_body(&f, 0, body, sizeof(body)), 4);
	ck_assert(memcmp(body, "caf\xe9", 4) == 0);
	h = rx_req(&f, 1);
	assert_header(h, 2, "Content-Length", "6");
	ck_assert_uint_eq(rx_body(&f, 1, body, sizeof(body)), 6);
	ck_assert(memcmp(body, "456789", 6) == 0);
	h = rx_req(&f, 2);
	assert_header(h, 2, "Transfer-Encoding", "chunked");
	ck_assert_uint_eq(rx_body(&f, 2, body, sizeof(body)), 5);
	ck_assert(memcmp(body, "abcde", 5) == 0);
	h = rx_req(&f, 3);
	ck_assert_uint_eq(h->nheaders, 1);
	assert_header(h, 0, "X-M", "v1\r\n\tv2");
	fake_free(&f);
}
END_TEST

static void
script_abort(struct fake *f)
{
	uint8_t type;

	/* The session is opened lazily: an abort before the first flush
	 * sends nothing at all (not even HELLO), which is fine; whatever
	 * was sent of the request must never include its end. */
	if (fk_accept(f) == -1)
		return;
	while (fk_read(f, &type) == 0)
		if (type == PROTO_REQ_END)
			fk_failf(f, "an aborted request was ended");
}

START_TEST(test_body_iter_fails)
{
	struct iter_state st = { 0, 2 };
	struct fake f;
	hpool_conn *c;
	hpool_response *r;

	fake_start(&f, script_abort);
	c = fake_conn(&f, "h", 0);
	ck_assert_int_eq(hpool_conn_request_iter(c, "POST", "/", iter_next,
	    &st, NULL, 0), HPOOL_E_VALUE_ERROR);
	/* Request-sent, as Python leaves it; no answer will come. */
	ck_assert_int_eq(hpool_conn_request(c, "GET", "/", NULL, 0, NULL, 0),
	    HPOOL_E_CANNOT_SEND_REQUEST);
	ck_assert_int_eq(hpool_conn_getresponse(c, &r),
	    HPOOL_E_REMOTE_DISCONNECTED);
	hpool_conn_free(c);
	fake_finish(&f);
	fake_free(&f);
}
END_TEST

static void
script_one(struct fake *f)
{
	script_n_requests(f, 1);
}

START_TEST(test_tunnel)
{
	struct hpool_header th[] = { { "Proxy-Authorization", "Basic eA==" } };
	struct proto_open o;
	struct fake f;
	hpool_conn *c;
	hpool_response *r;

	fake_start(&f, script_one);
	c = fake_conn(&f, "proxy.example:3128", 0);
	ck_assert_int_eq(hpool_conn_set_tunnel(c, "target.example:8443", 0,
	    th, 1), HPOOL_OK);
	ck_assert_int_eq(hpool_conn_set_tunnel(c, "target.example:x", 0, NULL,
	    0), HPOOL_E_INVALID_URL);
	ck_assert_int_eq(hpool_conn_request(c, "GET", "/", NULL, 0, NULL, 0),
	    HPOOL_OK);
	ck_assert_int_eq(hpool_conn_set_tunnel(c, "other", 80, NULL, 0),
	    HPOOL_E_RUNTIME_ERROR);
	ck_assert_str_eq(hpool_conn_error(c)->message,
	    "Can't set up tunnel for established connection");
	ck_assert_int_eq(hpool_conn_getresponse(c, &r), HPOOL_OK);
	hpool_response_free(r);
	hpool_conn_free(c);
	fake_finish(&f);
	ck_assert_int_eq(proto_dec_open(f.rx[1].p, f.rx[1].len, &o), 0);
	ck_assert(proto_str_eq(&o.host, "proxy.example"));
	ck_assert_int_eq(o.port, 3128);
	ck_assert(proto_str_eq(&o.tunnel_host, "target.example"));
	ck_assert_int_eq(o.tunnel_port, 8443);
	ck_assert_uint_eq(o.ntunnel_headers, 1);
	ck_assert(proto_str_eq(&o.tunnel_headers[0].name,
	    "Proxy-Authorization"));
	/* Host names the tunnel's target, as http.client writes it. */
	assert_header(rx_req(&f, 0), 0, "Host", "target.example:8443");
	fake_free(&f);
}
END_TEST

static void
script_lines(struct fake *f)
{
	if (fk_handshake(f) == -1 || fk_request(f) == -1)
		return;
	fk_head(f, 200, "OK", 0, 9, "Content-Length", "9", "Set-Cookie",
	    "a=1", "set-cookie", "b=2", NULL);
	fk_body(f, "ab\ncd", 5);
	fk_body(f, "\nef\n", 4);
	fk_end(f);
	fk_wait_eof(f);
}

START_TEST(test_response_api)
{
	static const char *const dl[] = { "x", "y" };
	const char *vals[4];
	const hpool_message *m;
	struct fake f;
	hpool_conn *c;
	hpool_response *r;
	char buf[16], *line;
	size_t n;

	fake_start(&f, script_lines);
	c = fake_conn(&f, "h", 0);
	ck_assert_int_eq(hpool_conn_request(c, "GET", "/", NULL, 0, NULL, 0),
	    HPOOL_OK);
	ck_assert_int_eq(hpool_conn_getresponse(c, &r), HPOOL_OK);
	ck_assert_int_eq(hpool_response_getcode(r), 200);
	ck_assert(!hpool_response_chunked(r));
	ck_assert(!hpool_response_will_close(r));
	ck_assert_int_ge(hpool_response_fileno(r), 0);
	m = hpool_response_msg(r);
	ck_assert_ptr_eq(m, hpool_response_info(r));
	ck_assert_str_eq(hpool_message_get(m, "SET-COOKIE", NULL), "a=1");
	ck_assert_str_eq(hpool_message_get(m, "nope", "fail"), "fail");
	ck_assert_uint_eq(hpool_message_get_all(m, "set-cookie", vals, 4), 2);
	ck_assert_str_eq(vals[1], "b=2");
	ck_assert_uint_eq(hpool_message_get_all(m, "nope", vals, 4), 0);
	ck_assert_str_eq(hpool_response_getheaderv(r, "nope", dl, 2), "x, y");
	ck_assert_str_eq(hpool_response_getheaderv(r, "nope", dl, 0), "");
	ck_assert_str_eq(hpool_response_getheaderv(r, "set-cookie", dl, 2),
	    "a=1, b=2");
	ck_assert_int_eq(hpool_response_length(r), 9);
	/* readline(limit) and a line across two frames */
	ck_assert_int_eq(hpool_response_readline(r, buf, 2, &n), HPOOL_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(hpool_response_length(r), 7);
	ck_assert_int_eq(hpool_response_readline(r, buf, sizeof(buf), &n),
	    HPOOL_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(hpool_response_next_line(r, &line, &n), HPOOL_OK);
	ck_assert_str_eq(line, "cd\n");
	free(line);
	ck_assert_int_eq(hpool_response_readinto(r, buf, sizeof(buf), &n),
	    HPOOL_OK);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(hpool_response_length(r), 0);
	ck_assert(hpool_response_isclosed(r));
	ck_assert_int_eq(hpool_response_fileno(r), -1);
	ck_assert_int_eq(hpool_response_next_line(r, &line, &n), HPOOL_OK);
	ck_assert_ptr_null(line);
	hpool_response_free(r);
	hpool_conn_free(c);
	fake_finish(&f);
	fake_free(&f);
}
END_TEST

/* ---- hpool_explain (protocol 3) ---- */

#define EXPLAIN_TEXT	"caller: uid 0 (root), gid 0 (root), pid 1, unit " \
	"none\ndestination: https://h.example:443\nroute: direct\n" \
	"because: no rule matched\n"

/* HELLO_OK 3, then EXPLAIN in place of OPEN_OK, then the end, as
 * hpoold's session.c answers an OPEN with EXPLAIN. */
static void
script_explain(struct fake *f)
{
	struct proto_wbuf w;

	f->offer = 3;
	if (fk_hello(f) == -1 || fk_expect(f, PROTO_OPEN) == -1)
		return;
	proto_wbuf_init(&w);
	proto_enc_explain(&w, EXPLAIN_TEXT, strlen(EXPLAIN_TEXT));
	fk_flush(f, &w);
}

static void
explain_opts(struct fake *f, struct hpool_conn_opts *o)
{
	struct hpool_conn_opts init = HPOOL_CONN_OPTS_INIT;

	*o = init;
	o->socket_path = f->path;
	o->timeout = 2.0;
}

START_TEST(test_explain)
{
	struct hpool_conn_opts co;
	struct hpool_error e;
	struct proto_open o;
	struct fake f;
	char *text;

	fake_start(&f, script_explain);
	explain_opts(&f, &co);
	ck_assert_int_eq(hpool_explain("https", "h.example", 0, &co, &text,
	    &e), HPOOL_OK);
	ck_assert_int_eq(e.code, HPOOL_OK);
	ck_assert_str_eq(text, EXPLAIN_TEXT);
	free(text);
	fake_finish(&f);
	/* HELLO (1..3) then OPEN: scheme, host, the scheme's port, the
	 * timeout, EXPLAIN, and no TLS setting (nothing will connect) */
	ck_assert_int_eq(f.rx[1].type, PROTO_OPEN);
	ck_assert_int_eq(proto_dec_open(f.rx[1].p, f.rx[1].len, &o), 0);
	ck_assert(proto_str_eq(&o.scheme, "https"));
	ck_assert(proto_str_eq(&o.host, "h.example"));
	ck_assert_int_eq(o.port, 443);
	ck_assert_int_eq(o.explain, 1);
	ck_assert(o.has_timeout);
	ck_assert_uint_eq(o.timeout_ms, 2000);
	ck_assert_uint_eq(o.tls_ca_pem.len + o.tls_cert_pem.len, 0);
	fake_free(&f);
}
END_TEST

/* A daemon of protocol 2: HELLO_OK 2, and an ERROR for the OPEN key it
 * does not know. Both leave in one write, before the client can have
 * hung up, as hpoold answers frames that came together. */
static void
script_explain_old(struct fake *f)
{
	static const char msg[] = "malformed OPEN frame (unknown, repeated "
	    "or missing parameter)";
	const char *name = hpool_error_name(HPOOL_E_PROTOCOL);
	struct proto_error pe;
	struct proto_wbuf w;

	if (fk_accept(f) == -1 || fk_expect(f, PROTO_HELLO) == -1)
		return;
	memset(&pe, 0, sizeof(pe));
	pe.code = HPOOL_E_PROTOCOL;
	pe.name.p = name;
	pe.name.len = strlen(name);
	pe.message.p = msg;
	pe.message.len = strlen(msg);
	pe.expected = -1;
	proto_wbuf_init(&w);
	proto_enc_hello_ok(&w, 2);
	proto_enc_error(&w, &pe, 2);
	fk_flush(f, &w);
	fk_wait_eof(f);
}

START_TEST(test_explain_old_daemon)
{
	struct hpool_conn_opts co;
	struct hpool_error e;
	struct fake f;
	char *text = (char *)"unset";

	fake_start(&f, script_explain_old);
	explain_opts(&f, &co);
	ck_assert_int_eq(hpool_explain("http", "127.0.0.1:8080", 0, &co,
	    &text, &e), HPOOL_E_PROTOCOL);
	ck_assert_ptr_null(text);
	ck_assert_int_eq(e.code, HPOOL_E_PROTOCOL);
	ck_assert_str_eq(e.message, "hpoold is too old to explain (it "
	    "speaks protocol 2; explaining needs 3)");
	fake_finish(&f);
	fake_free(&f);
}
END_TEST

/* HELLO_OK 3, then an ERROR in place of EXPLAIN (an OPEN hpoold refuses
 * before it routes, e.g. a host it does not take). */
static void
script_explain_refused(struct fake *f)
{
	f->offer = 3;
	if (fk_hello(f) == -1 || fk_expect(f, PROTO_OPEN) == -1)
		return;
	fk_error(f, HPOOL_E_INVALID_URL, "invalid host name in OPEN", 0, -1);
	fk_wait_eof(f);
}

/* HELLO_OK 3, then OPEN_OK: the daemon ignored EXPLAIN. */
static void
script_explain_ignored(struct fake *f)
{
	f->offer = 3;
	if (fk_handshake(f) == -1)
		return;
	fk_wait_eof(f);
}

START_TEST(test_explain_errors)
{
	struct hpool_conn_opts co;
	struct hpool_error e;
	struct fake f;
	char *text;

	/* checked before anything is sent */
	ck_assert_int_eq(hpool_explain("ftp", "h", 0, NULL, &text, &e),
	    HPOOL_E_INVALID_URL);
	ck_assert_str_eq(e.message, "unsupported scheme 'ftp' (hpoold speaks "
	    "http and https)");
	ck_assert_ptr_null(text);
	ck_assert_int_eq(hpool_explain("http", NULL, 0, NULL, &text, &e),
	    HPOOL_E_TYPE_ERROR);
	ck_assert_int_eq(hpool_explain("http", "h", 0, NULL, NULL, NULL),
	    HPOOL_E_TYPE_ERROR);
	ck_assert_int_eq(hpool_explain("http", "h:x", 0, NULL, &text, &e),
	    HPOOL_E_INVALID_URL);
	ck_assert_str_eq(e.message, "nonnumeric port: 'x'");
	co = (struct hpool_conn_opts)HPOOL_CONN_OPTS_INIT;
	co.socket_path = "/nonexistent/hpool-check/hpoold.sock";
	ck_assert_int_eq(hpool_explain("http", "h", 0, &co, &text, &e),
	    HPOOL_E_DAEMON_UNAVAILABLE);
	ck_assert_ptr_nonnull(strstr(e.message, co.socket_path));

	fake_start(&f, script_explain_refused);
	explain_opts(&f, &co);
	ck_assert_int_eq(hpool_explain("http", "h", 80, &co, &text, &e),
	    HPOOL_E_INVALID_URL);
	ck_assert_str_eq(e.message, "invalid host name in OPEN");
	ck_assert_ptr_null(text);
	fake_finish(&f);
	fake_free(&f);

	fake_start(&f, script_explain_ignored);
	explain_opts(&f, &co);
	ck_assert_int_eq(hpool_explain("http", "h", 80, &co, &text, NULL),
	    HPOOL_E_PROTOCOL);
	ck_assert_ptr_null(text);
	fake_finish(&f);
	fake_free(&f);
}
END_TEST

/* stdout of fn(), as set_debuglevel prints it. */
static void
capture_stdout(void (*fn)(void *), void *arg, char *out, size_t cap)
{
	char path[] = "/tmp/hpool-check-out-XXXXXX";
	int fd, saved;
	ssize_t n;

	fflush(stdout);
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	saved = dup(STDOUT_FILENO);
	dup2(fd, STDOUT_FILENO);
	fn(arg);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	n = pread(fd, out, cap - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(path);
}

static void
debug_round(void *arg)
{
	hpool_conn *c = arg;
	hpool_response *r;

	hpool_conn_set_debuglevel(c, 1);
	ck_assert_int_eq(hpool_conn_request(c, "POST", "/d", "it's", 4, NULL,
	    0), HPOOL_OK);
	ck_assert_int_eq(hpool_conn_getresponse(c, &r), HPOOL_OK);
	ck_assert_int_eq(hpool_response_debuglevel(r), 1);
	hpool_response_free(r);
}

static void
script_debug(struct fake *f)
{
	if (fk_handshake(f) == -1 || fk_request(f) == -1)
		return;
	fk_head(f, 200, "Fine \xe9", 0, 0, "Content-Length", "0", "X-A",
	    "b\xe9", NULL);
	fk_end(f);
	fk_wait_eof(f);
}

START_TEST(test_debuglevel)
{
	struct fake f;
	hpool_conn *c;
	char out[2048];

	fake_start(&f, script_debug);
	c = fake_conn(&f, "h", 0);
	ck_assert_int_eq(hpool_conn_debuglevel(c), 0);
	capture_stdout(debug_round, c, out, sizeof(out));
	hpool_conn_free(c);
	fake_finish(&f);
	fake_free(&f);
	/* What python3 prints for the same exchange. */
	ck_assert_str_eq(out,
	    "send: b'POST /d HTTP/1.1\\r\\nHost: h\\r\\nAccept-Encoding: "
	    "identity\\r\\nContent-Length: 4\\r\\n\\r\\n'\n"
	    "send: b\"it's\"\n"
	    "reply: 'HTTP/1.1 200 Fine \xc3\xa9\\r\\n'\n"
	    "header: Content-Length: 0\n"
	    "header: X-A: b\xc3\xa9\n");
}
END_TEST

static Suite *
client_suite(void)
{
	Suite *s = suite_create("client");
	TCase *tc;

	tc = tcase_create("names");
	tcase_add_test(tc, test_error_names);
	tcase_add_test(tc, test_responses_table);
	tcase_add_test(tc, test_status_constants);
	suite_add_tcase(s, tc);

	tc = tcase_create("conn");
	tcase_add_loop_test(tc, test_hostport, 0,
	    sizeof(hostports) / sizeof(hostports[0]));
	tcase_add_test(tc, test_timeout_values);
	tcase_add_test(tc, test_sockpath);
	suite_add_tcase(s, tc);

	tc = tcase_create("state");
	tcase_add_test(tc, test_state_idle);
	tcase_add_test(tc, test_state_started);
	tcase_add_test(tc, test_state_sent_after_connect_failure);
	tcase_add_test(tc, test_validate_method_url);
	tcase_add_test(tc, test_validate_headers);
	tcase_add_test(tc, test_request_bad_header_no_send);
	tcase_add_test(tc, test_body_needs_framing);
	tcase_add_loop_test(tc, test_text_body_errors, 0,
	    sizeof(texts) / sizeof(texts[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("frames");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_simple_get);
	tcase_add_test(tc, test_content_length_rules);
	tcase_add_test(tc, test_host_header_ipv6);
	tcase_add_test(tc, test_pipelining);
	tcase_add_test(tc, test_will_close);
	tcase_add_test(tc, test_incomplete_read);
	tcase_add_test(tc, test_error_instead_of_head);
	tcase_add_test(tc, test_malformed_frames);
	tcase_add_test(tc, test_close_policy);
	tcase_add_test(tc, test_head_method);
	tcase_add_test(tc, test_daemon_gone);
	tcase_add_test(tc, test_hello_refused);
	tcase_add_test(tc, test_request_sent);
	tcase_add_test(tc, test_request_sent_layouts);
	tcase_add_test(tc, test_request_bodies);
	tcase_add_test(tc, test_state_orders);
	tcase_add_test(tc, test_body_kinds);
	tcase_add_test(tc, test_body_iter_fails);
	tcase_add_test(tc, test_tunnel);
	tcase_add_test(tc, test_response_api);
	tcase_add_test(tc, test_debuglevel);
	tcase_add_test(tc, test_explain);
	tcase_add_test(tc, test_explain_old_daemon);
	tcase_add_test(tc, test_explain_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("https");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_sslctx_defaults);
	tcase_add_test(tc, test_sslctx_verify_rules);
	tcase_add_test(tc, test_sslctx_files);
	tcase_add_test(tc, test_sslctx_capath);
	tcase_add_test(tc, test_https_conn_new_rules);
	tcase_add_test(tc, test_https_open_params);
	tcase_add_test(tc, test_https_open_default_context);
	tcase_add_test(tc, test_https_open_conn_overrides);
	tcase_add_test(tc, test_http_port_443_host);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(client_suite());
}
