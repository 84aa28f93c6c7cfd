/*
 * client.h: what the parts of libhpool share (internal, not installed):
 * the connection and response objects and the error helpers.
 */
#ifndef HPOOL_CLIENT_H
#define HPOOL_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "hpool.h"
#include "proto.h"

struct link;
struct resp_joined;

/* http.client's connection states (__state). */
enum conn_state {
	CS_IDLE = 0,		/* "Idle" */
	CS_REQ_STARTED,		/* "Request-started" */
	CS_REQ_SENT,		/* "Request-sent" */
};

/* A request header being built by putrequest/putheader. */
struct req_header {
	char		*name;
	char		*value;
};

/* Bytes read from a file or built for the wire. */
struct sslbuf {
	char		*p;
	size_t		 len;
};

/* resp.msg: the response's headers (owned by the response). */
struct hpool_message {
	const struct hpool_header *headers;
	size_t		 nheaders;
};

/* A piece of bytes for debug output. */
struct debug_iov {
	const void	*p;
	size_t		 len;
};

struct hpool_conn {
	char		*host;		/* conn.host, brackets stripped */
	int		 port;		/* conn.port */
	int		 default_port;	/* 80, or 443 for HTTPS */
	/* HTTPS only: ctx is a reference of our own. */
	hpool_ssl_context *ctx;		/* NULL: plain HTTP */
	int		 check_hostname; /* HPOOL_CHECK_HOSTNAME_DEFAULT, 0, 1 */
	struct sslbuf	 cert;		/* cert_file, overrides ctx's chain */
	struct sslbuf	 key;		/* key_file */
	int		 wait_ms;	/* link poll timeout, -1: none */
	int		 has_timeout;
	uint32_t	 timeout_ms;	/* OPEN TIMEOUT_MS */
	char		*source_host;
	int		 source_port;
	char		*socket_opt;	/* opts.socket_path, NULL: search */
	char		*socket_path;	/* the path the search chose */
	int		 debuglevel;	/* set_debuglevel() */
	/* set_tunnel(): tunnel_host NULL when none. */
	char		*tunnel_host;
	int		 tunnel_port;
	struct req_header *tunnel_hdrs;
	size_t		 ntunnel_hdrs;
	/* set_tunnel_tls(): HPOOL_TUNNEL_TLS_*, and the proxy's CAs (NULL:
	 * the system store) */
	int		 tunnel_tls;
	char		*tunnel_ca;
	size_t		 tunnel_ca_len;

	enum conn_state	 state;
	struct link	*link;		/* the session; NULL before connect */
	hpool_response	*cur;		/* http.client's __response */
	hpool_response	*resps;		/* every live response made here */

	/* The request being built (Request-started). */
	char		*method;
	char		*url;
	struct req_header *hdrs;
	size_t		 nhdrs;
	size_t		 hdrs_cap;
	/* The request sent (Request-sent): body accounting. */
	int		 req_open;	/* REQ_HEAD sent, REQ_END not yet */
	int64_t		 body_left;	/* Content-Length still to send, -1 */
	int		 head_method;	/* the last request was HEAD */
	int		 answered;	/* its outcome was already read */
	int		 encode_chunked; /* debug output frames body chunks */

	struct hpool_error err;
	char		 err_detail[PROTO_DETAIL_MAX + 1];	/* hpoold's
					 * word on where the last request
					 * or response failed; "" none */
};

struct hpool_response {
	hpool_conn	*conn;		/* NULL once the conn is freed */
	hpool_response	*next;		/* on conn->resps */
	struct link	*link;		/* NULL once closed */
	int		 owns_link;	/* will_close: the session is ours */

	int		 status;
	int		 version;
	char		*reason;
	int64_t		 length;	/* announced, -1: None */
	int64_t		 left;		/* still to receive when known, -1 */
	int64_t		 pylen;		/* resp.length as Python counts it */
	int		 will_close;
	int		 chunked;	/* resp.chunked */
	int		 head_method;
	int		 debuglevel;
	size_t		 nheaders;
	struct hpool_header *headers;	/* name/value strings owned here */
	struct hpool_message msg;	/* views headers */
	struct resp_joined *joined;	/* getheader() results, kept */

	int		 closed;	/* read to the end or closed */
	int		 err_open;	/* isclosed() stays false after this error */
	int		 py_open;	/* read1() ended a body of known length
					 * (or HEAD's): Python's file stays
					 * open, isclosed() false, until a
					 * read of another kind or close() */
	int		 ended;		/* RESP_END or ERROR consumed */
	int		 end_flags;	/* RESP_END's flags, -1 before it */
	uint64_t	 received;	/* body bytes received */
	/* Unconsumed part of the current RESP_BODY frame. */
	uint8_t		*chunk;
	size_t		 chunk_off;
	size_t		 chunk_len;
	/* An ERROR that arrived after data was already handed out. */
	int		 pending;
	struct hpool_error pending_err;

	struct hpool_error err;
};

/* errfmt.c */
int	errfmt_set(struct hpool_error *, int code, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
int	errfmt_errno(struct hpool_error *, int code, int errnum,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void	errfmt_clear(struct hpool_error *);
/* Python's repr() of a byte string: 'a\n' (or b'a\n' when bytes). */
void	errfmt_repr(char *out, size_t outlen, const char *s, size_t len,
	    int as_bytes);
/* Fill err from a decoded ERROR frame. */
void	errfmt_from_frame(struct hpool_error *, const struct proto_error *);
/* ERROR's detail (version 4), cut to fit and control bytes replaced. */
void	errfmt_detail(char *out, size_t outlen, const struct proto_error *);

/* sslctx.c */
/* The whole of a file (at most PROTO_MAX_STR bytes), read with our own
 * permissions; errors worded as Python's open(). */
int	sslctx_read_file(const char *path, char **out, size_t *len,
	    struct hpool_error *err);
/* ValueError when check_hostname (or the context's) is on without
 * verification. */
int	sslctx_check(const hpool_ssl_context *, int check_hostname,
	    struct hpool_error *err);
/* Fill the TLS parameters of OPEN from ctx; slices point into ctx. */
int	sslctx_fill_open(const hpool_ssl_context *, int check_hostname,
	    struct proto_open *, struct hpool_error *err);

/* sockpath.c */
char	*sockpath_find(const char *explicit_path);
/* Why connect(2) to hpoold's socket at path failed with errnum, and what
 * to do, as "; ..." into out (empty for other errors): EACCES names the
 * socket's group and mode (join the group) or the directory in the way;
 * ENOENT and ECONNREFUSED say hpoold is not running there, and that
 * XDG_RUNTIME_DIR is unset when the path is the fallback for it. */
void	sockpath_hint(const char *path, int errnum, char *out,
	    size_t outlen);

/* response.c */
int	resp_new(hpool_conn *, struct link *, int owns_link, int head_method,
	    const struct proto_resp_head *, hpool_response **out,
	    struct hpool_error *err);
/* The conn's link is going away: the response stops using it. */
void	resp_detach(hpool_response *);

/* message.c: the getheader() joins a response keeps, freed with it. */
void	msg_free_joined(hpool_response *);

/* conn.c: a response reports an error (copied to the conn, if any). */
void	conn_note_error(hpool_conn *, const struct hpool_error *);
void	conn_forget_response(hpool_conn *, hpool_response *);
/* A timeout (seconds or HPOOL_TIMEOUT_*) as OPEN's TIMEOUT_MS and the
 * library's own wait for hpoold; ValueError when out of range. */
int	conn_timeouts(double timeout, int *has_timeout, uint32_t *timeout_ms,
	    int *wait_ms, struct hpool_error *);
/* _get_hostport(), then _validate_host() if validate. */
int	conn_get_hostport(const char *, int port, int default_port,
	    int validate, char **hostp, int *portp, struct hpool_error *);
/* endheaders() with a body of any kind. */
int	conn_endheaders(hpool_conn *, const struct hpool_body *,
	    int encode_chunked);
/* Queue request body bytes as REQ_BODY frames (Content-Length checked). */
int	conn_write_body(hpool_conn *, const void *, size_t);
/* The request can take body bytes (send() and endheaders()). */
int	conn_body_open(const hpool_conn *);
/* The request is half sent and cannot be finished: end the session. */
void	conn_abort_request(hpool_conn *);

/* body.c: send a body of any kind after the head. */
int	body_send(hpool_conn *, const struct hpool_body *, int encode_chunked);

/* tunnel.c: forget set_tunnel()'s target and headers. */
void	tunnel_free(hpool_conn *);

/* debug.c */
void	debug_repr(FILE *, const struct debug_iov *, size_t, int as_bytes);
void	debug_send(const struct debug_iov *, size_t);
void	debug_send_body(const void *, size_t, int chunked);
void	debug_send_head(const hpool_conn *);
void	debug_note(const char *);
void	debug_response(const hpool_response *);

#endif
