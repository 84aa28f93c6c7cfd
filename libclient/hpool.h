/*
 * hpool.h: libhpool, Python's http.client as a C library whose connections
 * live in the hpoold daemon. See libhpool(3) and docs/api.md.
 *
 * Conventions:
 * - Functions that can fail return an enum hpool_err code (HPOOL_OK == 0).
 *   Details of the last error on a connection (message, IncompleteRead's
 *   partial and expected counts) are in hpool_conn_error().
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

/* Timeout value meaning "the global default" (socket.getdefaulttimeout). */
#define HPOOL_TIMEOUT_DEFAULT	(-1.0)
/* Timeout value meaning "block forever" (None). */
#define HPOOL_TIMEOUT_NONE	(-2.0)

typedef struct hpool_conn	hpool_conn;	/* HTTPConnection */
typedef struct hpool_response	hpool_response;	/* HTTPResponse */

/* Details of the last error (the exception instance). */
struct hpool_error {
	int		 code;		/* enum hpool_err */
	char		 message[512];	/* str(exception) */
	uint64_t	 partial;	/* IncompleteRead.partial (length) */
	int64_t		 expected;	/* IncompleteRead.expected, -1: None */
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
/* The socket path this connection uses (after the search). */
const char *hpool_conn_socket_path(const hpool_conn *conn);

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

/* Step-by-step requests: putrequest / putheader / endheaders / send. */
int	 hpool_conn_putrequest(hpool_conn *conn, const char *method,
	    const char *url, int skip_host, int skip_accept_encoding);
/* putheader(header, value). Several values: hpool_conn_putheaderv. */
int	 hpool_conn_putheader(hpool_conn *conn, const char *header,
	    const char *value);
int	 hpool_conn_putheaderv(hpool_conn *conn, const char *header,
	    const char *const *values, size_t nvalues);
/* endheaders(message_body); body NULL: none. */
int	 hpool_conn_endheaders(hpool_conn *conn, const void *body,
	    size_t body_len);
/* send(data): more request body after endheaders. */
int	 hpool_conn_send(hpool_conn *conn, const void *data, size_t len);

/*
 * getresponse(). *out belongs to conn's caller: free it with
 * hpool_response_free (which also closes it). Errors from the server or
 * the network surface here.
 */
int	 hpool_conn_getresponse(hpool_conn *conn, hpool_response **out);

/* HTTPResponse */
int	 hpool_response_status(const hpool_response *resp);
const char *hpool_response_reason(const hpool_response *resp);
int	 hpool_response_version(const hpool_response *resp); /* 10, 11 */
int	 hpool_response_closed(const hpool_response *resp);   /* isclosed */
/* Content-Length as announced, -1 when unknown (resp.length is None). */
int64_t	 hpool_response_length(const hpool_response *resp);
/* read(amt): up to amt bytes into buf; *nread 0 means end of body. */
int	 hpool_response_read(hpool_response *resp, void *buf, size_t amt,
	    size_t *nread);
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
/* getheaders(): headers in received order; owned by resp. */
size_t	 hpool_response_getheaders(const hpool_response *resp,
	    const struct hpool_header **headers);
/* The details of the last error on resp (also copied to its conn while
 * the conn exists). */
const struct hpool_error *hpool_response_error(const hpool_response *resp);
/* close() */
void	 hpool_response_close(hpool_response *resp);
void	 hpool_response_free(hpool_response *resp);

/* The responses table: reason phrase for a status code, NULL if none. */
const char *hpool_responses(int status);

/* Library version string, e.g. "0.1.0". */
const char *hpool_version(void);

#ifdef __cplusplus
}
#endif

#endif
