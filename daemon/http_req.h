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
/* The request line and headers, ending with the empty line. close: the
 * caller's Connection headers are replaced by "Connection: close". */
int	req_write_head(struct evbuffer *, const struct proto_req_head *,
	    int close);
/* 1 when a WWW-Authenticate / Proxy-Authenticate or Authorization value
 * names a scheme bound to the TCP connection (NTLM, Negotiate). */
int	req_auth_conn_bound(const char *value, size_t len);
/* 1 when the header's name is a token and its value has no bare CR, LF
 * or NUL (the checks req_check makes of each header). */
int	req_header_ok(const struct proto_header *);
/* 1 when s is a valid host name or IP literal for OPEN. */
int	req_host_ok(const struct proto_str *);

#endif
