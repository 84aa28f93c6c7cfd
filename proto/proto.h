/*
 * proto.h: the hpool wire protocol between libhpool and hpoold.
 * The specification is proto/PROTOCOL.md; this header and proto.c are its
 * only implementation, shared by the daemon and the library.
 *
 * Frames: u32 payload length (big-endian), u8 type, payload.
 * Every field is big-endian; a string is u32 length + bytes (no NUL).
 * Decoding never reads past the frame and fails when bytes are left over.
 */
#ifndef HPOOL_PROTO_H
#define HPOOL_PROTO_H

#include <stddef.h>
#include <stdint.h>

/* Bump PROTO_VERSION when any number below or any message layout changes. */
#define PROTO_VERSION		4	/* 2: ERROR carries `sent`; 3: OPEN's
					 * EXPLAIN and the EXPLAIN reply; 4:
					 * OPEN's TUNNEL_TLS and TUNNEL_CA_PEM,
					 * STATS and STATS_OK */
#define PROTO_VERSION_MIN	1

#define PROTO_FRAME_HDR		5		/* u32 length + u8 type */
#define PROTO_MAX_PAYLOAD	(8u * 1024 * 1024)	/* any frame */
#define PROTO_MAX_BODY_CHUNK	(64u * 1024)	/* REQ_BODY / RESP_BODY */
#define PROTO_MAX_HEADERS	256		/* per head frame */
#define PROTO_MAX_STR		(1u * 1024 * 1024)
#define PROTO_MAX_TUNNEL_HEADERS 32		/* CONNECT headers in OPEN */

/* Message types. Numbers are wire values: bump PROTO_VERSION to change. */
enum proto_type {
	PROTO_HELLO		= 1,	/* c->d: u16 min, u16 max version */
	PROTO_OPEN		= 2,	/* c->d: TLV connection parameters */
	PROTO_REQ_HEAD		= 3,	/* c->d: method, url, headers */
	PROTO_REQ_BODY		= 4,	/* c->d: raw body bytes */
	PROTO_REQ_END		= 5,	/* c->d: end of request body */
	PROTO_CLOSE		= 6,	/* c->d: end of session */
	PROTO_STATS		= 7,	/* c->d: u8 format, in place of OPEN:
					 * the daemon's stats (version 4) */
	PROTO_HELLO_OK		= 64,	/* d->c: u16 chosen version */
	PROTO_OPEN_OK		= 65,	/* d->c: session accepted */
	PROTO_RESP_HEAD		= 66,	/* d->c: version, status, reason, headers */
	PROTO_RESP_BODY		= 67,	/* d->c: de-framed body bytes */
	PROTO_RESP_END		= 68,	/* d->c: u8 flags */
	PROTO_ERROR		= 69,	/* d->c: error (see struct proto_error) */
	PROTO_EXPLAIN		= 70,	/* d->c: string: what the daemon would do
					 * (in place of OPEN_OK; version 3) */
	PROTO_STATS_OK		= 71,	/* d->c: string: the stats, rendered
					 * (version 4) */
};

/* STATS formats */
#define PROTO_STATS_TABLE	0	/* tables, as hpool --stats prints */
#define PROTO_STATS_JSON	1
#define PROTO_STATS_PROMETHEUS	2	/* text exposition format 0.0.4 */

/* OPEN parameter keys (TLV). Numbers are wire values. */
enum proto_open_key {
	PROTO_OPEN_SCHEME	= 1,	/* str: "http" (later "https") */
	PROTO_OPEN_HOST		= 2,	/* str */
	PROTO_OPEN_PORT		= 3,	/* u16 */
	PROTO_OPEN_TIMEOUT_MS	= 4,	/* u32; absent: no timeout */
	PROTO_OPEN_SOURCE_HOST	= 5,	/* str */
	PROTO_OPEN_SOURCE_PORT	= 6,	/* u16 */
	/* TLS, for scheme "https" only */
	PROTO_OPEN_TLS_VERIFY	= 7,	/* u8: 0 none, 1 optional, 2 required */
	PROTO_OPEN_TLS_CHECK_HOSTNAME = 8, /* u8: 0 or 1 */
	PROTO_OPEN_TLS_CA_SYSTEM = 9,	/* u8: 1 = trust the system store */
	PROTO_OPEN_TLS_CA_PEM	= 10,	/* str: extra trusted CAs, PEM */
	PROTO_OPEN_TLS_CERT_PEM	= 11,	/* str: client certificate chain */
	PROTO_OPEN_TLS_KEY_PEM	= 12,	/* str: client private key */
	PROTO_OPEN_TLS_KEY_PASSWORD = 13, /* str: decrypts KEY_PEM */
	PROTO_OPEN_TLS_MIN_VERSION = 14, /* u16: 0x0303 TLS 1.2, 0x0304 1.3 */
	PROTO_OPEN_TLS_MAX_VERSION = 15, /* u16 */
	PROTO_OPEN_TLS_ALPN	= 16,	/* str: ALPN wire format */
	PROTO_OPEN_TLS_SNI	= 17,	/* str: server_hostname */
	/* HTTPConnection.set_tunnel(): HOST/PORT are then the proxy */
	PROTO_OPEN_TUNNEL_HOST	= 18,	/* str: CONNECT target host */
	PROTO_OPEN_TUNNEL_PORT	= 19,	/* u16: CONNECT target port */
	PROTO_OPEN_TUNNEL_HEADERS = 20,	/* header list: CONNECT headers */
	PROTO_OPEN_EXPLAIN	= 21,	/* u8 1: answer EXPLAIN, connect nothing
					 * (version 3) */
	/* version 4: the proxy of a tunnel is spoken to in TLS (an https://
	 * proxy), and the CONNECT goes inside it */
	PROTO_OPEN_TUNNEL_TLS	= 22,	/* u8: PROTO_TUNNEL_TLS_* */
	PROTO_OPEN_TUNNEL_CA_PEM = 23,	/* str: the CAs the proxy's certificate
					 * is verified with, PEM, in place of
					 * the system store */
	PROTO_OPEN_KEY_MAX	= 23,
};

/* TLS verify modes (ssl.CERT_*) */
#define PROTO_TLS_CERT_NONE	0
#define PROTO_TLS_CERT_OPTIONAL	1
#define PROTO_TLS_CERT_REQUIRED	2

/* OPEN's TUNNEL_TLS: TLS to the proxy, verified (its certificate and its
 * host name, as curl does), or not verified (curl's --proxy-insecure) */
#define PROTO_TUNNEL_TLS_NONE		0
#define PROTO_TUNNEL_TLS_VERIFY		1
#define PROTO_TUNNEL_TLS_INSECURE	2

/* RESP_HEAD flags */
#define PROTO_RESP_WILL_CLOSE	0x01	/* upstream said or implied close */
#define PROTO_RESP_CHUNKED	0x02	/* body was chunked upstream */
/* RESP_END flags */
#define PROTO_END_REUSED	0x01	/* request ran on a pooled connection */
#define PROTO_END_POOLED	0x02	/* connection went back to the pool */

/* A string slice into a decoded frame (not NUL-terminated). */
struct proto_str {
	const char	*p;
	size_t		 len;
};

struct proto_header {
	struct proto_str name;
	struct proto_str value;
};

struct proto_hello {
	uint16_t	min_version;
	uint16_t	max_version;
};

struct proto_open {
	struct proto_str scheme;
	struct proto_str host;
	uint16_t	 port;
	int		 has_timeout;
	uint32_t	 timeout_ms;
	struct proto_str source_host;	/* len 0: none */
	uint16_t	 source_port;
	/* TLS; the decoder fills in the secure defaults for absent keys */
	uint8_t		 tls_verify;		/* PROTO_TLS_CERT_* */
	uint8_t		 tls_check_hostname;
	uint8_t		 tls_ca_system;
	struct proto_str tls_ca_pem;
	struct proto_str tls_cert_pem;
	struct proto_str tls_key_pem;
	struct proto_str tls_key_password;
	uint16_t	 tls_min_version;	/* 0: OpenSSL's default */
	uint16_t	 tls_max_version;	/* 0: OpenSSL's default */
	struct proto_str tls_alpn;
	struct proto_str tls_sni;		/* len 0: the host */
	/* tunnel (set_tunnel); tunnel_host.len 0: none */
	struct proto_str tunnel_host;
	uint16_t	 tunnel_port;
	size_t		 ntunnel_headers;
	struct proto_header tunnel_headers[PROTO_MAX_TUNNEL_HEADERS];
	uint8_t		 tunnel_tls;	/* PROTO_TUNNEL_TLS_* */
	struct proto_str tunnel_ca_pem;	/* len 0: the system store */
	/* not on the wire: the name of the daemon's own proxy that route.c
	 * sent this OPEN through, for errors (len 0: a caller's proxy) */
	struct proto_str proxy_name;
	uint8_t		 explain;	/* 1: say what would be done, no more */
};

/* Fill o with the defaults an https OPEN gets for absent keys. */
void	proto_open_tls_defaults(struct proto_open *);

struct proto_req_head {
	struct proto_str method;
	struct proto_str url;
	size_t		 nheaders;
	struct proto_header headers[PROTO_MAX_HEADERS];
};

struct proto_resp_head {
	uint8_t		 version;	/* 10 or 11 */
	uint8_t		 flags;		/* PROTO_RESP_* */
	uint16_t	 status;
	int64_t		 length;	/* Content-Length, -1 when unknown */
	struct proto_str reason;
	size_t		 nheaders;
	struct proto_header headers[PROTO_MAX_HEADERS];
};

struct proto_error {
	uint16_t	 code;		/* enum hpool_err */
	struct proto_str name;		/* exception class name */
	struct proto_str message;
	uint64_t	 partial;	/* IncompleteRead: bytes received */
	int64_t		 expected;	/* IncompleteRead: bytes missing, -1 None */
	struct proto_str line;		/* BadStatusLine / LineTooLong subject */
	uint8_t		 sent;		/* PROTO_SENT_*; version 2 and up */
	struct proto_str detail;	/* version 4: where it failed (the
					 * phase, destination and timeout);
					 * len 0: not said */
};

/* ERROR's detail, as hpoold writes it: at most this many bytes. */
#define PROTO_DETAIL_MAX	512

/* ERROR's `sent` (version 2): did the failed request reach the server? */
#define PROTO_SENT_UNKNOWN	0	/* not said, or no request involved */
#define PROTO_SENT_NO		1	/* certainly not sent: safe to retry */
#define PROTO_SENT_MAYBE	2	/* written: the server may have acted */

/*
 * Writer: a growable buffer with a hard cap. Every put after an overflow is
 * a no-op; proto_end() reports it, so callers check once per frame.
 */
struct proto_wbuf {
	uint8_t		*data;
	size_t		 len;
	size_t		 cap;
	size_t		 frame;		/* offset of the open frame's header */
	int		 overflow;
};

void	proto_wbuf_init(struct proto_wbuf *);
void	proto_wbuf_free(struct proto_wbuf *);
void	proto_wbuf_reset(struct proto_wbuf *);
void	proto_begin(struct proto_wbuf *, enum proto_type);
/* A frame header alone, for a payload the caller sends itself. */
void	proto_frame_hdr(uint8_t hdr[PROTO_FRAME_HDR], enum proto_type,
	    uint32_t payload_len);
void	proto_put_u8(struct proto_wbuf *, uint8_t);
void	proto_put_u16(struct proto_wbuf *, uint16_t);
void	proto_put_u32(struct proto_wbuf *, uint32_t);
void	proto_put_u64(struct proto_wbuf *, uint64_t);
void	proto_put_bytes(struct proto_wbuf *, const void *, size_t);
void	proto_put_str(struct proto_wbuf *, const void *, size_t);
int	proto_end(struct proto_wbuf *);		/* 0 or -1 (too large) */

/* Reader over one frame's payload. */
struct proto_rbuf {
	const uint8_t	*p;
	size_t		 len;
	size_t		 off;
	int		 bad;
};

/*
 * Look at the start of a byte stream: 1 when a whole frame is there
 * (*type, *payload_len set), 0 when more bytes are needed, -1 when the
 * length exceeds PROTO_MAX_PAYLOAD (*payload_len then says how long).
 */
int	proto_frame_peek(const uint8_t *, size_t, uint8_t *type,
	    uint32_t *payload_len);
const char *proto_type_name(uint8_t);

void	proto_rbuf_init(struct proto_rbuf *, const uint8_t *, size_t);
int	proto_get_u8(struct proto_rbuf *, uint8_t *);
int	proto_get_u16(struct proto_rbuf *, uint16_t *);
int	proto_get_u32(struct proto_rbuf *, uint32_t *);
int	proto_get_u64(struct proto_rbuf *, uint64_t *);
int	proto_get_str(struct proto_rbuf *, struct proto_str *);
int	proto_get_rest(struct proto_rbuf *, struct proto_str *);
int	proto_get_end(struct proto_rbuf *);	/* -1 if bytes left or bad */

/* Typed messages: encode appends one whole frame; decode takes a payload. */
int	proto_enc_hello(struct proto_wbuf *, enum proto_type,
	    const struct proto_hello *);
int	proto_dec_hello(const uint8_t *, size_t, struct proto_hello *);
int	proto_enc_hello_ok(struct proto_wbuf *, uint16_t version);
int	proto_dec_hello_ok(const uint8_t *, size_t, uint16_t *version);
int	proto_enc_open(struct proto_wbuf *, const struct proto_open *);
int	proto_dec_open(const uint8_t *, size_t, struct proto_open *);
int	proto_enc_req_head(struct proto_wbuf *, const struct proto_req_head *);
int	proto_dec_req_head(const uint8_t *, size_t, struct proto_req_head *);
int	proto_enc_resp_head(struct proto_wbuf *,
	    const struct proto_resp_head *);
int	proto_dec_resp_head(const uint8_t *, size_t, struct proto_resp_head *);
/* ERROR's layout depends on the session's protocol version. */
int	proto_enc_error(struct proto_wbuf *, const struct proto_error *,
	    uint16_t version);
int	proto_dec_error(const uint8_t *, size_t, struct proto_error *,
	    uint16_t version);
int	proto_enc_body(struct proto_wbuf *, enum proto_type, const void *,
	    size_t);
/* EXPLAIN: one string (at most PROTO_MAX_STR). */
int	proto_enc_explain(struct proto_wbuf *, const char *, size_t);
int	proto_dec_explain(const uint8_t *, size_t, struct proto_str *);
/* STATS: u8 format (PROTO_STATS_*; a larger one is refused); STATS_OK:
 * one string. */
int	proto_enc_stats(struct proto_wbuf *, uint8_t format);
int	proto_dec_stats(const uint8_t *, size_t, uint8_t *format);
int	proto_enc_stats_ok(struct proto_wbuf *, const char *, size_t);
int	proto_dec_stats_ok(const uint8_t *, size_t, struct proto_str *);
int	proto_enc_empty(struct proto_wbuf *, enum proto_type);
int	proto_enc_resp_end(struct proto_wbuf *, uint8_t flags);
int	proto_dec_resp_end(const uint8_t *, size_t, uint8_t *flags);
int	proto_dec_empty(const uint8_t *, size_t);

/* NUL-terminated copy of a slice; caller frees. NULL on ENOMEM. */
char	*proto_strdup(const struct proto_str *);
int	 proto_str_eq(const struct proto_str *, const char *);

#endif
