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
	int		 idempotent;
	int		 code;		/* enum hpool_err when refused */
	char		 message[256];
};

/* 0 and rc filled, or -1 with rc->code and rc->message saying why. */
int	req_check(const struct proto_req_head *, struct req_check *rc);
/* The request line and headers, ending with the empty line. */
int	req_write_head(struct evbuffer *, const struct proto_req_head *);
/* 1 when the header's name is a token and its value has no bare CR, LF
 * or NUL (the checks req_check makes of each header). */
int	req_header_ok(const struct proto_header *);
/* 1 when s is a valid host name or IP literal for OPEN. */
int	req_host_ok(const struct proto_str *);

#endif
