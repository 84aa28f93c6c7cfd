/*
 * hpool.h: libhpool, Python's http.client as a C library whose connections
 * live in the hpoold daemon. See libhpool(3) and docs/api.md.
 *
 * Conventions:
 * - Functions that can fail return an enum hpool_err code (HPOOL_OK == 0).
 *   Details of the last error on a connection (message, IncompleteRead's
 *   partial and expected counts, whether the request was sent) are in
 *   hpool_conn_error().
 * - Strings returned by the library are owned by the object they came
 *   from and stay valid until that object is freed, unless said otherwise.
 * - One hpool_conn is used by one thread at a time.
 */
#ifndef HPOOL_H
#define HPOOL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <hpool_error.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HPOOL_HTTP_PORT		80	/* http.client.HTTP_PORT */
#define HPOOL_HTTPS_PORT	443	/* http.client.HTTPS_PORT */

/*
 * The status constants of http.client (every member of python3's
 * http.HTTPStatus): HPOOL_HTTP_<NAME> is http.client.<NAME>.
 * hpool_responses() gives each one's phrase.
 */
#define HPOOL_HTTP_CONTINUE			100
#define HPOOL_HTTP_SWITCHING_PROTOCOLS		101
#define HPOOL_HTTP_PROCESSING			102
#define HPOOL_HTTP_EARLY_HINTS			103
#define HPOOL_HTTP_OK				200
#define HPOOL_HTTP_CREATED			201
#define HPOOL_HTTP_ACCEPTED			202
#define HPOOL_HTTP_NON_AUTHORITATIVE_INFORMATION	203
#define HPOOL_HTTP_NO_CONTENT			204
#define HPOOL_HTTP_RESET_CONTENT		205
#define HPOOL_HTTP_PARTIAL_CONTENT		206
#define HPOOL_HTTP_MULTI_STATUS			207
#define HPOOL_HTTP_ALREADY_REPORTED		208
#define HPOOL_HTTP_IM_USED			226
#define HPOOL_HTTP_MULTIPLE_CHOICES		300
#define HPOOL_HTTP_MOVED_PERMANENTLY		301
#define HPOOL_HTTP_FOUND			302
#define HPOOL_HTTP_SEE_OTHER			303
#define HPOOL_HTTP_NOT_MODIFIED			304
#define HPOOL_HTTP_USE_PROXY			305
#define HPOOL_HTTP_TEMPORARY_REDIRECT		307
#define HPOOL_HTTP_PERMANENT_REDIRECT		308
#define HPOOL_HTTP_BAD_REQUEST			400
#define HPOOL_HTTP_UNAUTHORIZED			401
#define HPOOL_HTTP_PAYMENT_REQUIRED		402
#define HPOOL_HTTP_FORBIDDEN			403
#define HPOOL_HTTP_NOT_FOUND			404
#define HPOOL_HTTP_METHOD_NOT_ALLOWED		405
#define HPOOL_HTTP_NOT_ACCEPTABLE		406
#define HPOOL_HTTP_PROXY_AUTHENTICATION_REQUIRED	407
#define HPOOL_HTTP_REQUEST_TIMEOUT		408
#define HPOOL_HTTP_CONFLICT			409
#define HPOOL_HTTP_GONE				410
#define HPOOL_HTTP_LENGTH_REQUIRED		411
#define HPOOL_HTTP_PRECONDITION_FAILED		412
#define HPOOL_HTTP_REQUEST_ENTITY_TOO_LARGE	413
#define HPOOL_HTTP_REQUEST_URI_TOO_LONG		414
#define HPOOL_HTTP_UNSUPPORTED_MEDIA_TYPE	415
#define HPOOL_HTTP_REQUESTED_RANGE_NOT_SATISFIABLE	416
#define HPOOL_HTTP_EXPECTATION_FAILED		417
#define HPOOL_HTTP_IM_A_TEAPOT			418
#define HPOOL_HTTP_MISDIRECTED_REQUEST		421
#define HPOOL_HTTP_UNPROCESSABLE_ENTITY		422
#define HPOOL_HTTP_LOCKED			423
#define HPOOL_HTTP_FAILED_DEPENDENCY		424
#define HPOOL_HTTP_TOO_EARLY			425
#define HPOOL_HTTP_UPGRADE_REQUIRED		426
#define HPOOL_HTTP_PRECONDITION_REQUIRED	428
#define HPOOL_HTTP_TOO_MANY_REQUESTS		429
#define HPOOL_HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE	431
#define HPOOL_HTTP_UNAVAILABLE_FOR_LEGAL_REASONS	451
#define HPOOL_HTTP_INTERNAL_SERVER_ERROR	500
#define HPOOL_HTTP_NOT_IMPLEMENTED		501
#define HPOOL_HTTP_BAD_GATEWAY			502
#define HPOOL_HTTP_SERVICE_UNAVAILABLE		503
#define HPOOL_HTTP_GATEWAY_TIMEOUT		504
#define HPOOL_HTTP_HTTP_VERSION_NOT_SUPPORTED	505
#define HPOOL_HTTP_VARIANT_ALSO_NEGOTIATES	506
#define HPOOL_HTTP_INSUFFICIENT_STORAGE		507
#define HPOOL_HTTP_LOOP_DETECTED		508
#define HPOOL_HTTP_NOT_EXTENDED			510
#define HPOOL_HTTP_NETWORK_AUTHENTICATION_REQUIRED	511

/* Timeout value meaning "the global default" (socket.getdefaulttimeout). */
#define HPOOL_TIMEOUT_DEFAULT	(-1.0)
/* Timeout value meaning "block forever" (None). */
#define HPOOL_TIMEOUT_NONE	(-2.0)

typedef struct hpool_conn	hpool_conn;	/* HTTPConnection */
typedef struct hpool_response	hpool_response;	/* HTTPResponse */
typedef struct hpool_message	hpool_message;	/* HTTPMessage (resp.msg) */

/*
 * Did the failed request reach the server? hpoold says so (protocol
 * version 2) with the errors it reports for a request: the network and
 * server errors that getresponse() (or a response's read) returns, such
 * as ConnectionRefusedError, TimeoutError, RemoteDisconnected,
 * BadStatusLine, IncompleteRead, and a request hpoold refused
 * (ValueError, HpoolPolicyError). Every other error, those the library
 * finds itself and those of an older daemon, is HPOOL_SENT_UNKNOWN.
 *
 * hpoold already sent again, on a new connection, every request that
 * found a pooled connection dead and could be (see libhpool(3)). What is
 * left to the caller:
 * - HPOOL_SENT_NO: no byte of the request left hpoold; retrying cannot
 *   make the server act twice.
 * - HPOOL_SENT_MAYBE: the request was written, in part or whole, and the
 *   server may have acted on it. Retry only a request that may be
 *   repeated (idempotent: GET, HEAD, OPTIONS, TRACE, PUT, DELETE, or one
 *   carrying an Idempotency-Key the server honours).
 * - HPOOL_SENT_UNKNOWN: nothing is known; treat it as MAYBE.
 */
#define HPOOL_SENT_UNKNOWN	0	/* not said, or no request involved */
#define HPOOL_SENT_NO		1	/* certainly not sent: safe to retry */
#define HPOOL_SENT_MAYBE	2	/* sent: the server may have acted */

/*
 * Details of the last error (the exception instance). The caller may
 * allocate it (err out-parameters): its size is part of the ABI.
 */
struct hpool_error {
	int		 code;		/* enum hpool_err */
	char		 message[512];	/* str(exception) */
	uint64_t	 partial;	/* IncompleteRead.partial (length) */
	int64_t		 expected;	/* IncompleteRead.expected, -1: None */
	int		 request_sent;	/* HPOOL_SENT_* */
};

/* One header: name and value, NUL-terminated. */
struct hpool_header {
	const char	*name;
	const char	*value;
};

/* HTTPConnection(host, port, timeout, source_address) options. */
struct hpool_conn_opts {
	double		 timeout;	/* seconds, or HPOOL_TIMEOUT_* */
	const char	*source_host;	/* source_address[0], NULL: none */
	int		 source_port;	/* source_address[1] */
	const char	*socket_path;	/* hpoold socket; NULL: search */
};
#define HPOOL_CONN_OPTS_INIT { HPOOL_TIMEOUT_DEFAULT, NULL, 0, NULL }

/*
 * ssl.SSLContext: the TLS settings of HTTPS connections. The library keeps
 * them and sends them (certificates and keys as bytes it read itself) to
 * hpoold when a connection opens a session; hpoold does the TLS. A
 * context is reference-counted: each connection made with it holds a
 * reference, so the caller may free its own at any time. Settings are
 * read when a connection opens its session (at its first request), as
 * Python's are read when a socket is wrapped. Do not change a context
 * while another thread opens a connection with it.
 */
typedef struct hpool_ssl_context hpool_ssl_context;

/* verify_mode values (ssl.CERT_*) */
#define HPOOL_CERT_NONE		0
#define HPOOL_CERT_OPTIONAL	1
#define HPOOL_CERT_REQUIRED	2

/* minimum_version / maximum_version values (ssl.TLSVersion) */
#define HPOOL_TLS_VERSION_MINIMUM_SUPPORTED	(-2)
#define HPOOL_TLS_VERSION_MAXIMUM_SUPPORTED	(-1)
#define HPOOL_TLS_VERSION_1_2	0x0303
#define HPOOL_TLS_VERSION_1_3	0x0304

/*
 * ssl.create_default_context(): CERT_REQUIRED, check_hostname on, the
 * system trust store, TLS 1.2 at least. *out is released with
 * hpool_ssl_context_free.
 */
int	 hpool_ssl_context_new_default(hpool_ssl_context **out,
	    struct hpool_error *err);
/* ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT): CERT_REQUIRED, check_hostname
 * on, and no trusted CA at all until one is loaded. */
int	 hpool_ssl_context_new(hpool_ssl_context **out,
	    struct hpool_error *err);
/* One more reference to ctx (returned); NULL is allowed. */
hpool_ssl_context *hpool_ssl_context_ref(hpool_ssl_context *ctx);
/* Drop one reference; the last one frees. NULL is allowed. */
void	 hpool_ssl_context_free(hpool_ssl_context *ctx);

/* verify_mode: HPOOL_CERT_*. CERT_NONE while check_hostname is on is a
 * ValueError, as in Python. */
int	 hpool_ssl_context_set_verify_mode(hpool_ssl_context *ctx, int mode,
	    struct hpool_error *err);
int	 hpool_ssl_context_verify_mode(const hpool_ssl_context *ctx);
/* check_hostname: turning it on with CERT_NONE makes verify_mode
 * CERT_REQUIRED, as in Python. */
int	 hpool_ssl_context_set_check_hostname(hpool_ssl_context *ctx, int on,
	    struct hpool_error *err);
int	 hpool_ssl_context_check_hostname(const hpool_ssl_context *ctx);
/*
 * load_verify_locations(cafile, capath, cadata): trust more CAs. At least
 * one argument must be given (cadata NULL or cadata_len 0 means none).
 * The library reads the files now, with the caller's permissions;
 * FileNotFoundError / PermissionError come from here. capath is read now
 * too: every file named as `openssl rehash` names them (8 hex digits, a
 * dot, a digit string), which are the files OpenSSL would consult.
 * cadata is PEM text, or DER bytes (one or more certificates) when it
 * starts with an ASN.1 SEQUENCE byte. The CAs of all calls, together, are
 * capped at 1 MiB (the protocol's string limit).
 */
int	 hpool_ssl_context_load_verify_locations(hpool_ssl_context *ctx,
	    const char *cafile, const char *capath, const void *cadata,
	    size_t cadata_len, struct hpool_error *err);
/* load_cert_chain(certfile, keyfile, password): the client certificate
 * (then its chain) and key; keyfile NULL: the key is in certfile. Files
 * are read now (each capped at 1 MiB); the PEM is checked by hpoold when a
 * connection opens its session (SSLError there). password may be NULL. */
int	 hpool_ssl_context_load_cert_chain(hpool_ssl_context *ctx,
	    const char *certfile, const char *keyfile, const char *password,
	    struct hpool_error *err);
/* load_default_certs(): trust the system store as well (hpoold's copy of
 * it: the daemon and its host decide what the system trusts). */
int	 hpool_ssl_context_load_default_certs(hpool_ssl_context *ctx,
	    struct hpool_error *err);
/* minimum_version / maximum_version: HPOOL_TLS_VERSION_*; other values
 * are a ValueError. */
int	 hpool_ssl_context_set_minimum_version(hpool_ssl_context *ctx,
	    int version, struct hpool_error *err);
int	 hpool_ssl_context_minimum_version(const hpool_ssl_context *ctx);
int	 hpool_ssl_context_set_maximum_version(hpool_ssl_context *ctx,
	    int version, struct hpool_error *err);
int	 hpool_ssl_context_maximum_version(const hpool_ssl_context *ctx);
/* set_alpn_protocols(protos): nprotos names of 1 to 255 ASCII bytes each,
 * in preference order; nprotos 0 sends no ALPN. */
int	 hpool_ssl_context_set_alpn_protocols(hpool_ssl_context *ctx,
	    const char *const *protos, size_t nprotos,
	    struct hpool_error *err);

/* socket.setdefaulttimeout() for connections made with TIMEOUT_DEFAULT;
 * a negative value means None. */
void	 hpool_set_default_timeout(double seconds);

/*
 * HTTPConnection(host, port). host may be "host", "host:port" or
 * "[v6addr]:port"; port 0 means "from host, else 80". Bad ports give
 * HPOOL_E_INVALID_URL. Like http.client nothing touches the network (nor
 * the daemon) until the first request. *out is freed with hpool_conn_free.
 * err, if not NULL, receives the details of a failure.
 */
int	 hpool_conn_new(hpool_conn **out, const char *host, int port,
	    const struct hpool_conn_opts *opts, struct hpool_error *err);
/*
 * HTTPSConnection(host, port, key_file, cert_file, timeout,
 * source_address, context, check_hostname) options. key_file and
 * cert_file are load_cert_chain(cert_file, key_file) for this connection
 * only (the context is not changed; see docs/compat.md). check_hostname
 * HPOOL_CHECK_HOSTNAME_DEFAULT takes the context's.
 */
#define HPOOL_CHECK_HOSTNAME_DEFAULT	(-1)
struct hpool_https_opts {
	struct hpool_conn_opts conn;	/* timeout, source, socket */
	const char	*key_file;	/* NULL: none (key in cert_file) */
	const char	*cert_file;	/* NULL: none */
	int		 check_hostname; /* 0, 1 or ..._DEFAULT */
};
#define HPOOL_HTTPS_OPTS_INIT { HPOOL_CONN_OPTS_INIT, NULL, NULL, \
	HPOOL_CHECK_HOSTNAME_DEFAULT }

/*
 * HTTPSConnection(host, port, ...): as hpool_conn_new, with port 443 by
 * default. ctx NULL means Python's default: a new default context with
 * ALPN "http/1.1"; otherwise the connection takes a reference to ctx.
 * server_hostname (SNI, and the name checked) is host. opts may be NULL.
 * TLS errors (SSLCertVerificationError, SSLError) come from hpoold when
 * the session opens or at getresponse().
 */
int	 hpool_https_conn_new(hpool_conn **out, const char *host, int port,
	    const struct hpool_https_opts *opts, hpool_ssl_context *ctx,
	    struct hpool_error *err);
/* The TLS context of an HTTPS connection (owned by conn), NULL for HTTP. */
hpool_ssl_context *hpool_conn_ssl_context(const hpool_conn *conn);
/* close() then free. NULL is allowed. */
void	 hpool_conn_free(hpool_conn *conn);
/* The details of the last error on conn (or on its responses). */
const struct hpool_error *hpool_conn_error(const hpool_conn *conn);
/* conn.host / conn.port after parsing. */
const char *hpool_conn_host(const hpool_conn *conn);
int	 hpool_conn_port(const hpool_conn *conn);
/*
 * Where the last request or response of this connection failed, as
 * hpoold says it: the phase (resolving, connecting, the TLS handshake,
 * opening a tunnel, sending the request, waiting for the response head,
 * reading the body), the destination and the proxy on the way, and for
 * a timeout which one fired and its value. "" when hpoold said nothing
 * (an older hpoold, or an error of the library's own). An hpool
 * extension: Python's exception and message stay as they are.
 */
const char *hpool_conn_error_detail(const hpool_conn *conn);
/* The socket path this connection uses (after the search). */
const char *hpool_conn_socket_path(const hpool_conn *conn);
/*
 * conn.sock.fileno(): the Unix socket of this connection's session with
 * hpoold, -1 while there is none (before the first request or connect(),
 * after close()). Its bytes are protocol frames: use it to poll() for a
 * response before getresponse(), never to read or write. A session opened
 * by the first request (not by connect()) is readable early, with hpoold's
 * replies to its handshake: connect() first to poll for responses only.
 */
int	 hpool_conn_fileno(const hpool_conn *conn);

/* connect(): open the session with hpoold now (request() does it too). */
int	 hpool_conn_connect(hpool_conn *conn);
/* close(): ends the session; the object can make new requests after. */
void	 hpool_conn_close(hpool_conn *conn);

/*
 * request(method, url, body, headers). body NULL means None (no body);
 * a non-NULL body of body_len bytes gets Content-Length unless headers
 * carry Content-Length or Transfer-Encoding, as http.client does.
 * Host and Accept-Encoding are added unless given in headers.
 */
int	 hpool_conn_request(hpool_conn *conn, const char *method,
	    const char *url, const void *body, size_t body_len,
	    const struct hpool_header *headers, size_t nheaders);

/*
 * request() bodies of every kind http.client takes. A body is described
 * by struct hpool_body (start from HPOOL_BODY_INIT):
 * - HPOOL_BODY_BYTES: len bytes at data (bytes);
 * - HPOOL_BODY_TEXT: UTF-8 text at data (len bytes, or up to its NUL
 *   when len is HPOOL_TEXT_NUL), sent encoded as ISO-8859-1 (str): a
 *   character above U+00FF is HPOOL_E_UNICODE_ENCODE worded as Python's,
 *   bytes that are not UTF-8 are HPOOL_E_VALUE_ERROR;
 * - HPOOL_BODY_FD: an open file descriptor (a file object), read from its
 *   current offset to end of file in blocks, never whole; for a regular
 *   file request() sends Content-Length: st_size - offset (fstat), for
 *   anything else (a pipe) chunked transfer encoding; the caller keeps
 *   and closes fd;
 * - HPOOL_BODY_ITER: an iterable: next(arg, &data, &len) is called until
 *   it sets data to NULL; each chunk (owned by the caller, valid until
 *   the next call) is sent as it comes, empty ones skipped. request()
 *   sends Transfer-Encoding: chunked when headers carry neither
 *   Content-Length nor Transfer-Encoding. A return other than HPOOL_OK
 *   stops the request with that code (the caller's exception): the
 *   session is closed, since the request is half sent.
 * The daemon does the chunk encoding: the library always sends the data
 * itself, and Transfer-Encoding: chunked in the headers tells hpoold to
 * frame it (see encode_chunked in libhpool(3)).
 */
enum hpool_body_kind {
	HPOOL_BODY_NONE = 0,	/* None */
	HPOOL_BODY_BYTES,	/* bytes, bytearray */
	HPOOL_BODY_TEXT,	/* str */
	HPOOL_BODY_FD,		/* a file object */
	HPOOL_BODY_ITER,	/* an iterable of bytes */
};
#define HPOOL_TEXT_NUL	((size_t)-1)
typedef int (*hpool_body_next)(void *arg, const void **data, size_t *len);
struct hpool_body {
	int		 kind;		/* enum hpool_body_kind */
	const void	*data;		/* BYTES, TEXT */
	size_t		 len;		/* BYTES, TEXT */
	int		 fd;		/* FD */
	hpool_body_next	 next;		/* ITER */
	void		*arg;		/* ITER: next's first argument */
};
#define HPOOL_BODY_INIT { HPOOL_BODY_NONE, NULL, 0, -1, NULL, NULL }

/*
 * request(method, url, body, headers, encode_chunked=...). body NULL is
 * None. Content-Length or Transfer-Encoding is added as http.client adds
 * it (see above) unless headers carry either.
 */
int	 hpool_conn_request_body(hpool_conn *conn, const char *method,
	    const char *url, const struct hpool_body *body,
	    const struct hpool_header *headers, size_t nheaders,
	    int encode_chunked);
/* request() with a str body: NUL-terminated UTF-8 text. */
int	 hpool_conn_request_text(hpool_conn *conn, const char *method,
	    const char *url, const char *text,
	    const struct hpool_header *headers, size_t nheaders);
/* request() with a file body: an open descriptor the caller keeps. */
int	 hpool_conn_request_fd(hpool_conn *conn, const char *method,
	    const char *url, int fd, const struct hpool_header *headers,
	    size_t nheaders);
/* request() with an iterable body. */
int	 hpool_conn_request_iter(hpool_conn *conn, const char *method,
	    const char *url, hpool_body_next next, void *arg,
	    const struct hpool_header *headers, size_t nheaders);

/* Step-by-step requests: putrequest / putheader / endheaders / send. */
int	 hpool_conn_putrequest(hpool_conn *conn, const char *method,
	    const char *url, int skip_host, int skip_accept_encoding);
/* putheader(header, value). Several values: hpool_conn_putheaderv. */
int	 hpool_conn_putheader(hpool_conn *conn, const char *header,
	    const char *value);
int	 hpool_conn_putheaderv(hpool_conn *conn, const char *header,
	    const char *const *values, size_t nvalues);
/* putheader(header, 42): an int value, sent as str(value). */
int	 hpool_conn_putheader_long(hpool_conn *conn, const char *header,
	    long value);
/* endheaders(message_body); body NULL: none. */
int	 hpool_conn_endheaders(hpool_conn *conn, const void *body,
	    size_t body_len);
/* endheaders(message_body, encode_chunked=...) with a body of any kind
 * but TEXT (a str is a TypeError there, as in Python). */
int	 hpool_conn_endheaders_body(hpool_conn *conn,
	    const struct hpool_body *body, int encode_chunked);
/* send(data): more request body after endheaders. */
int	 hpool_conn_send(hpool_conn *conn, const void *data, size_t len);
/* send(data) with a file or an iterable (or bytes). */
int	 hpool_conn_send_body(hpool_conn *conn, const struct hpool_body *body);

/*
 * set_debuglevel(level): with level > 0 the connection prints to stdout
 * what http.client prints: `send: b'...'` for the request head and each
 * piece of body, then `reply: '...'` and `header: Name: value` lines at
 * getresponse(). Responses made later take the level (their
 * debuglevel). See libhpool(3) for the lines hpool cannot reproduce.
 */
void	 hpool_conn_set_debuglevel(hpool_conn *conn, int level);
int	 hpool_conn_debuglevel(const hpool_conn *conn);

/*
 * set_tunnel(host, port, headers): the connection's own host and port
 * become the proxy, and hpoold sends CONNECT host:port with headers
 * through it (headers owned by the caller; copied). port 0 takes it from
 * "host:port", else the default port. Host headers name the tunnel
 * target. After the session is open (connect() or a request): RuntimeError
 * "Can't set up tunnel for established connection". host NULL clears the
 * tunnel. At most 32 headers.
 */
int	 hpool_conn_set_tunnel(hpool_conn *conn, const char *host, int port,
	    const struct hpool_header *headers, size_t nheaders);

/*
 * An hpool extension of set_tunnel(), for an https:// proxy: hpoold
 * speaks TLS to the proxy (the connection's host and port) and sends the
 * CONNECT inside it, then, for HTTPSConnection, TLS to the target inside
 * the tunnel. mode HPOOL_TUNNEL_TLS_VERIFY checks the proxy's
 * certificate against ca_pem (ca_len bytes of PEM, copied; NULL: the
 * system store) and its name against the proxy's host, as curl does;
 * HPOOL_TUNNEL_TLS_INSECURE checks nothing (curl's --proxy-insecure);
 * HPOOL_TUNNEL_TLS_NONE: plain HTTP to the proxy again. Needs a tunnel
 * (set_tunnel() first; it resets this) and hpoold of protocol 4. Refused
 * as set_tunnel() is once the session is open.
 */
#define HPOOL_TUNNEL_TLS_NONE		0
#define HPOOL_TUNNEL_TLS_VERIFY		1
#define HPOOL_TUNNEL_TLS_INSECURE	2
int	 hpool_conn_set_tunnel_tls(hpool_conn *conn, int mode,
	    const char *ca_pem, size_t ca_len);

/*
 * getresponse(). *out belongs to conn's caller: free it with
 * hpool_response_free (which also closes it). Errors from the server or
 * the network surface here.
 */
int	 hpool_conn_getresponse(hpool_conn *conn, hpool_response **out);

/* HTTPResponse */
int	 hpool_response_status(const hpool_response *resp);
int	 hpool_response_getcode(const hpool_response *resp); /* status */
const char *hpool_response_reason(const hpool_response *resp);
int	 hpool_response_version(const hpool_response *resp); /* 10, 11 */
/*
 * closed: true once close() was called or the whole body was read (what
 * the reference documentation's `while not r.closed` loop relies on;
 * python3's IOBase.closed waits for close(), see docs/compat.md).
 */
int	 hpool_response_closed(const hpool_response *resp);
/* isclosed(): the response no longer reads from its session. */
int	 hpool_response_isclosed(const hpool_response *resp);
/* resp.length: body bytes still to read when Content-Length announced
 * them (counting down as Python's), -1 when None (chunked, close). */
int64_t	 hpool_response_length(const hpool_response *resp);
/* resp.chunked, resp.will_close */
int	 hpool_response_chunked(const hpool_response *resp);
int	 hpool_response_will_close(const hpool_response *resp);
/*
 * After the body was read to its end: 1 if the request ran on an
 * upstream connection hpoold took from its pool (reused), 0 if on a new
 * one; hpool_response_pooled: 1 if that connection went back to the
 * pool. -1 before the end, or when the response ended in an error.
 */
int	 hpool_response_reused(const hpool_response *resp);
int	 hpool_response_pooled(const hpool_response *resp);
/* resp.debuglevel (the connection's at getresponse()) */
int	 hpool_response_debuglevel(const hpool_response *resp);
void	 hpool_response_set_debuglevel(hpool_response *resp, int level);
/*
 * read(amt): up to amt bytes into buf; *nread 0 means end of body. As
 * in Python, a Content-Length body cut short ends quietly here (read()
 * raises IncompleteRead), while a chunked body cut short is
 * HPOOL_E_INCOMPLETE_READ with the bytes of this call in buf (*nread,
 * also the error's partial).
 */
int	 hpool_response_read(hpool_response *resp, void *buf, size_t amt,
	    size_t *nread);
/*
 * read() handed out in pieces of at most cap bytes, for streaming a body
 * of any size: the bytes read() would return as they arrive (*nread 0 at
 * the end), then the exception read() would raise, with its message and
 * partial counting every byte of the body (IncompleteRead after a short
 * Content-Length body included). What the hpool command uses.
 */
int	 hpool_response_read_stream(hpool_response *resp, void *buf,
	    size_t cap, size_t *nread);
/*
 * read1(amt): HTTPResponse.read1 (io.BufferedIOBase's method): at least
 * one byte unless the body has ended (*nread 0), at most amt, waiting for
 * hpoold only when nothing is buffered, and then for one frame. Ends and
 * errors as read(amt).
 */
int	 hpool_response_read1(hpool_response *resp, void *buf, size_t amt,
	    size_t *nread);
/*
 * C only, for poll() loops over hpool_response_fileno(): 1 when the next
 * read1() returns without waiting for hpoold (bytes or a whole frame are
 * buffered here, or the body has ended), 0 when it would wait; poll the
 * socket then. Like SSL_pending(): a readable socket alone misses what
 * libhpool has already received.
 */
int	 hpool_response_ready(const hpool_response *resp);
/* readinto(b): read(len) into buf; *nread is the count. */
int	 hpool_response_readinto(hpool_response *resp, void *buf, size_t len,
	    size_t *nread);
/* readline(limit): bytes up to and including the next newline, at most
 * limit; *nread 0 at the end of the body. */
int	 hpool_response_readline(hpool_response *resp, void *buf,
	    size_t limit, size_t *nread);
/* readline(limit) into a malloc'd buffer the caller frees (NUL-ended);
 * limit -1: no limit. */
int	 hpool_response_readline_alloc(hpool_response *resp, long limit,
	    char **line, size_t *len);
/* next(resp), iteration by line: as readline_alloc(-1), but *line is
 * NULL (StopIteration) at the end of the body. */
int	 hpool_response_next_line(hpool_response *resp, char **line,
	    size_t *len);
/*
 * fileno(): the Unix socket of the session with hpoold that carries
 * this response (not a socket to the server: its bytes are frames), or
 * -1 once the response no longer uses one. Only for poll()ing.
 */
int	 hpool_response_fileno(const hpool_response *resp);
/* read(): the whole rest of the body in a malloc'd buffer the caller
 * frees (NUL-terminated for convenience; *len excludes the NUL). On
 * HPOOL_E_INCOMPLETE_READ *body holds the partial data (also to free). */
int	 hpool_response_readall(hpool_response *resp, char **body,
	    size_t *len);
/* getheader(name, default): values of repeated headers joined by ", ";
 * dflt when absent. Returned string is owned by resp (valid until
 * hpool_response_free). */
const char *hpool_response_getheader(hpool_response *resp,
	    const char *name, const char *dflt);
/* getheader(name, default) with a list default (ndflt strings), joined
 * by ", " when the header is absent, as Python joins an iterable. */
const char *hpool_response_getheaderv(hpool_response *resp,
	    const char *name, const char *const *dflt, size_t ndflt);
/* getheaders(): headers in received order; owned by resp. */
size_t	 hpool_response_getheaders(const hpool_response *resp,
	    const struct hpool_header **headers);
/* resp.msg (also resp.info()): the headers as an HTTPMessage, owned by
 * resp. */
const hpool_message *hpool_response_msg(const hpool_response *resp);
const hpool_message *hpool_response_info(const hpool_response *resp);
/* msg.get(name, failobj): the first value of name, or failobj. */
const char *hpool_message_get(const hpool_message *msg, const char *name,
	    const char *failobj);
/* msg.get_all(name): every value of name in order; fills up to max of
 * them into values (may be NULL) and returns how many there are (0 is
 * Python's None). */
size_t	 hpool_message_get_all(const hpool_message *msg, const char *name,
	    const char **values, size_t max);
/* msg.items(): every header in order; len(msg) is the count. */
size_t	 hpool_message_items(const hpool_message *msg,
	    const struct hpool_header **headers);
/* The details of the last error on resp (also copied to its conn while
 * the conn exists). */
const struct hpool_error *hpool_response_error(const hpool_response *resp);
/* close() */
void	 hpool_response_close(hpool_response *resp);
void	 hpool_response_free(hpool_response *resp);

/*
 * C only, no http.client counterpart: ask hpoold what its egress policy
 * (hpoold.conf(5), POLICY) would do with a request from this process to
 * scheme://host:port, without doing it: nothing is resolved, connected
 * or sent, and no credential of the daemon's is shown.
 *   scheme  "http" or "https" (InvalidURL otherwise).
 *   host    as hpool_conn_new takes it: "host", "host:port" or
 *           "[v6addr]:port" when port is 0.
 *   port    0: from host, else the scheme's (80 or 443).
 *   opts    may be NULL; socket_path and timeout are used, the source
 *           address is not.
 *   text    on success, the daemon's answer: lines ending in '\n'
 *           ("caller: ...", "destination: ...", "route: direct | denied
 *           | proxy NAME ...", "because: ...", and "resolve: ..." for a
 *           pinned name; docs/api.md). malloc'd and NUL-terminated, the
 *           caller frees it. NULL on failure.
 *   err     may be NULL; the details of a failure.
 * Needs protocol version 3: an older hpoold gives HPOOL_E_PROTOCOL
 * ("hpoold is too old to explain ..."). A session hpoold refuses, or
 * hpoold not reachable, fails as a connection's first request would.
 */
int	 hpool_explain(const char *scheme, const char *host, int port,
	    const struct hpool_conn_opts *opts, char **text,
	    struct hpool_error *err);

/* hpool_stats() formats */
#define HPOOL_STATS_TABLE	0	/* tables, as `hpool --stats` prints */
#define HPOOL_STATS_JSON	1	/* one JSON object */
#define HPOOL_STATS_PROMETHEUS	2	/* Prometheus text format 0.0.4 */

/*
 * hpoold's figures, daemon-wide: per pool (destination, route, TLS; idle,
 * busy, waiting, connects, reuses, failures, TLS full/resumed), per
 * caller (uid, unit: requests, bytes, errors, denials), per worker, the
 * totals and the uptime (libhpool(3) has the fields).
 *   format  HPOOL_STATS_TABLE, HPOOL_STATS_JSON or HPOOL_STATS_PROMETHEUS
 *   opts    may be NULL; socket_path and timeout are used.
 *   text    on success the answer, malloc'd and NUL-terminated, the
 *           caller frees it; NULL on failure.
 *   err     may be NULL; the details of a failure.
 * Only uid 0, hpoold's own uid and members of its stats_group may read
 * them: others get HPOOL_E_PERMISSION (PermissionError) naming the rule.
 * Needs protocol version 4 (HPOOL_E_PROTOCOL from an older hpoold).
 */
int	 hpool_stats(int format, const struct hpool_conn_opts *opts,
	    char **text, struct hpool_error *err);

/* The responses table: reason phrase for a status code, NULL if none. */
const char *hpool_responses(int status);

/* Library version string, e.g. "0.1.0". */
const char *hpool_version(void);

#ifdef __cplusplus
}
#endif

#endif
