/* http_req.h: checking a request from a client and writing its head in
 * HTTP/1.1 form. No I/O. */
#ifndef HPOOL_HTTP_REQ_H
#define HPOOL_HTTP_REQ_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

struct evbuffer;

enum req_framing {
	REQ_FRAME_NONE,		/* no body */
	REQ_FRAME_LENGTH,	/* Content-Length: length */
	REQ_FRAME_CHUNKED,	/* Transfer-Encoding: chunked */
};

struct req_check {
	enum req_framing framing;
	uint64_t	 length;
	int		 is_head;
	int		 is_connect;	/* a 2xx answer turns the connection into
				 * a tunnel: never reused */
	int		 idempotent;	/* RFC 9110 9.2.2 method, or an
				 * Idempotency-Key / X-Idempotency-Key */
	int		 no_reuse;	/* a body on a method whose body a lenient
				 * server may ignore (GET, HEAD, DELETE,
				 * OPTIONS, TRACE), or CONNECT: sent with
				 * Connection: close, never pooled */
	int		 conn_auth;	/* NTLM or Negotiate credentials, which
				 * servers bind to the TCP connection */
	int		 code;		/* enum hpool_err when refused */
	char		 message[256];
};

/* 0 and rc filled, or -1 with rc->code and rc->message saying why. */
int	req_check(const struct proto_req_head *, struct req_check *rc);
/* How a head is written for where it goes: origin form to a server
 * (req_write_head's form NULL), or absolute form to an http:// proxy
 * (RFC 9112 3.2.2). Every field may be NULL; the caller owns them. */
struct req_form {
	const char	*url_prefix;	/* "http://host:port", written before
					 * an origin-form URL (one starting
					 * with '/'); other URLs as they are */
	const char	*host;		/* a Host value, added when the
					 * caller's head has none */
	const struct proto_header *extra; /* written last, in place of any
					 * caller's header of its name
					 * (Proxy-Authorization) */
};

/* The request line and headers, ending with the empty line. close: the
 * caller's Connection headers are replaced by "Connection: close".
 * form: NULL for origin form. -1: out of memory. */
int	req_write_head(struct evbuffer *, const struct proto_req_head *,
	    int close, const struct req_form *form);
/* 1 when url may be sent in absolute form: a path ('/'), made absolute
 * by req_form.url_prefix, or an http:// URL, sent as it is. */
int	req_form_url_ok(const struct proto_str *url);
/* 1 when a WWW-Authenticate / Proxy-Authenticate or Authorization value
 * names a scheme bound to the TCP connection (NTLM, Negotiate). */
int	req_auth_conn_bound(const char *value, size_t len);
/* 1 when the header's name is a token and its value has no bare CR, LF
 * or NUL (the checks req_check makes of each header). */
int	req_header_ok(const struct proto_header *);
/* 1 when s is a valid host name or IP literal for OPEN. */
int	req_host_ok(const struct proto_str *);

#endif
