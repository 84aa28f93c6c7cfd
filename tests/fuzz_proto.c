/* fuzz_proto.c: libFuzzer entry point for proto/proto.c's decoders. */

/*
 * The first byte picks a target: one of the proto_dec_* decoders fed the
 * rest as a payload, the body encoder, or a byte stream split into frames
 * by proto_frame_peek as the daemon splits its input, each frame decoded
 * by its type. Every payload sits in its own exactly sized buffer, so an
 * over-read reaches a redzone. A decode that succeeds is encoded again
 * with the matching proto_enc_*, and that frame must peek whole, decode,
 * and give the same values; the messages whose layout has one encoding
 * per value must also give back the same bytes. Anything else aborts.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

enum target {
	T_HELLO,
	T_HELLO_OK,
	T_OPEN,
	T_REQ_HEAD,
	T_RESP_HEAD,
	T_ERROR,
	T_RESP_END,
	T_EMPTY,
	T_BODY,
	T_FRAMES,
	T_MAX
};

static void	 decode(uint8_t, const uint8_t *, size_t);
static void	 frames(const uint8_t *, size_t);
static const uint8_t *reframe(struct proto_wbuf *, uint8_t, size_t *);
static void	 same_bytes(const struct proto_wbuf *, const uint8_t *, size_t);
static void	 str_same(const struct proto_str *, const struct proto_str *);
static void	 headers_same(const struct proto_header *,
		    const struct proto_header *, size_t);
static void	 rt_hello(uint8_t, const uint8_t *, size_t);
static void	 rt_hello_ok(const uint8_t *, size_t);
static void	 rt_open(const uint8_t *, size_t);
static void	 open_same(const struct proto_open *, const struct proto_open *);
static void	 rt_req_head(const uint8_t *, size_t);
static void	 rt_resp_head(const uint8_t *, size_t);
static void	 rt_error(const uint8_t *, size_t);
static void	 rt_resp_end(const uint8_t *, size_t);
static void	 rt_empty(uint8_t, const uint8_t *, size_t);
static void	 rt_body(uint8_t, const uint8_t *, size_t);

/* Large decoded messages: one fuzzing thread, one user. */
static struct proto_open	 open_a, open_b;
static struct proto_req_head	 req_a, req_b;
static struct proto_resp_head	 resp_a, resp_b;

/* The one frame w holds must peek whole as type; returns its payload. */
static const uint8_t *
reframe(struct proto_wbuf *w, uint8_t type, size_t *plen)
{
	uint8_t t;
	uint32_t n;

	if (proto_frame_peek(w->data, w->len, &t, &n) != 1 || t != type ||
	    (size_t)n + PROTO_FRAME_HDR != w->len)
		abort();
	/* Any shorter prefix is a frame still coming, never a frame. */
	if (proto_frame_peek(w->data, w->len - 1, &t, &n) != 0)
		abort();
	*plen = n;
	return w->data + PROTO_FRAME_HDR;
}

static void
same_bytes(const struct proto_wbuf *w, const uint8_t *p, size_t len)
{
	if (w->len != PROTO_FRAME_HDR + len ||
	    (len && memcmp(w->data + PROTO_FRAME_HDR, p, len) != 0))
		abort();
}

static void
str_same(const struct proto_str *a, const struct proto_str *b)
{
	if (a->len != b->len || (a->len && memcmp(a->p, b->p, a->len) != 0))
		abort();
}

static void
headers_same(const struct proto_header *a, const struct proto_header *b,
    size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		str_same(&a[i].name, &b[i].name);
		str_same(&a[i].value, &b[i].value);
	}
}

static void
rt_hello(uint8_t type, const uint8_t *p, size_t len)
{
	struct proto_wbuf w;
	struct proto_hello a, b;
	const uint8_t *q;
	size_t n;

	if (proto_dec_hello(p, len, &a) == -1)
		return;
	proto_wbuf_init(&w);
	if (proto_enc_hello(&w, type, &a) == -1)
		abort();
	q = reframe(&w, type, &n);
	if (proto_dec_hello(q, n, &b) == -1 ||
	    a.min_version != b.min_version || a.max_version != b.max_version)
		abort();
	same_bytes(&w, p, len);
	proto_wbuf_free(&w);
}

static void
rt_hello_ok(const uint8_t *p, size_t len)
{
	struct proto_wbuf w;
	uint16_t a, b;
	const uint8_t *q;
	size_t n;

	if (proto_dec_hello_ok(p, len, &a) == -1)
		return;
	proto_wbuf_init(&w);
	if (proto_enc_hello_ok(&w, a) == -1)
		abort();
	q = reframe(&w, PROTO_HELLO_OK, &n);
	if (proto_dec_hello_ok(q, n, &b) == -1 || a != b)
		abort();
	same_bytes(&w, p, len);
	proto_wbuf_free(&w);
}

static void
open_same(const struct proto_open *a, const struct proto_open *b)
{
	str_same(&a->scheme, &b->scheme);
	str_same(&a->host, &b->host);
	str_same(&a->source_host, &b->source_host);
	str_same(&a->tls_ca_pem, &b->tls_ca_pem);
	str_same(&a->tls_cert_pem, &b->tls_cert_pem);
	str_same(&a->tls_key_pem, &b->tls_key_pem);
	str_same(&a->tls_key_password, &b->tls_key_password);
	str_same(&a->tls_alpn, &b->tls_alpn);
	str_same(&a->tls_sni, &b->tls_sni);
	str_same(&a->tunnel_host, &b->tunnel_host);
	if (a->port != b->port || a->has_timeout != b->has_timeout ||
	    a->timeout_ms != b->timeout_ms ||
	    a->source_port != b->source_port ||
	    a->tls_verify != b->tls_verify ||
	    a->tls_check_hostname != b->tls_check_hostname ||
	    a->tls_ca_system != b->tls_ca_system ||
	    a->tls_min_version != b->tls_min_version ||
	    a->tls_max_version != b->tls_max_version ||
	    a->tunnel_port != b->tunnel_port ||
	    a->ntunnel_headers != b->ntunnel_headers ||
	    a->ntunnel_headers > PROTO_MAX_TUNNEL_HEADERS)
		abort();
	headers_same(a->tunnel_headers, b->tunnel_headers, a->ntunnel_headers);
}

/*
 * OPEN has more than one encoding per value (keys in any order, absent or
 * explicit defaults), so the bytes differ from the input; encoding what
 * the re-encoded frame decodes to must give those same bytes again.
 */
static void
rt_open(const uint8_t *p, size_t len)
{
	struct proto_wbuf w, w2;
	const uint8_t *q;
	size_t n;

	if (proto_dec_open(p, len, &open_a) == -1)
		return;
	proto_wbuf_init(&w);
	proto_wbuf_init(&w2);
	if (proto_enc_open(&w, &open_a) == -1)
		abort();
	q = reframe(&w, PROTO_OPEN, &n);
	if (proto_dec_open(q, n, &open_b) == -1)
		abort();
	open_same(&open_a, &open_b);
	if (proto_enc_open(&w2, &open_b) == -1 || w2.len != w.len ||
	    memcmp(w2.data, w.data, w.len) != 0)
		abort();
	proto_wbuf_free(&w);
	proto_wbuf_free(&w2);
}

static void
rt_req_head(const uint8_t *p, size_t len)
{
	struct proto_wbuf w;
	const uint8_t *q;
	size_t n;

	if (proto_dec_req_head(p, len, &req_a) == -1)
		return;
	if (req_a.nheaders > PROTO_MAX_HEADERS)
		abort();
	proto_wbuf_init(&w);
	if (proto_enc_req_head(&w, &req_a) == -1)
		abort();
	q = reframe(&w, PROTO_REQ_HEAD, &n);
	if (proto_dec_req_head(q, n, &req_b) == -1)
		abort();
	str_same(&req_a.method, &req_b.method);
	str_same(&req_a.url, &req_b.url);
	if (req_a.nheaders != req_b.nheaders)
		abort();
	headers_same(req_a.headers, req_b.headers, req_a.nheaders);
	same_bytes(&w, p, len);
	proto_wbuf_free(&w);
}

static void
rt_resp_head(const uint8_t *p, size_t len)
{
	struct proto_wbuf w;
	const uint8_t *q;
	size_t n;

	if (proto_dec_resp_head(p, len, &resp_a) == -1)
		return;
	if (resp_a.nheaders > PROTO_MAX_HEADERS)
		abort();
	proto_wbuf_init(&w);
	if (proto_enc_resp_head(&w, &resp_a) == -1)
		abort();
	q = reframe(&w, PROTO_RESP_HEAD, &n);
	if (proto_dec_resp_head(q, n, &resp_b) == -1)
		abort();
	if (resp_a.version != resp_b.version || resp_a.flags != resp_b.flags ||
	    resp_a.status != resp_b.status || resp_a.length != resp_b.length ||
	    resp_a.nheaders != resp_b.nheaders)
		abort();
	str_same(&resp_a.reason, &resp_b.reason);
	headers_same(resp_a.headers, resp_b.headers, resp_a.nheaders);
	same_bytes(&w, p, len);
	proto_wbuf_free(&w);
}

static void
rt_error(const uint8_t *p, size_t len)
{
	struct proto_wbuf w;
	struct proto_error a, b;
	const uint8_t *q;
	size_t n;
	uint16_t v;

	/* the layout depends on the version: each is its own round trip */
	for (v = 1; v <= PROTO_VERSION; v++) {
		if (proto_dec_error(p, len, &a, v) == -1)
			continue;
		proto_wbuf_init(&w);
		if (proto_enc_error(&w, &a, v) == -1)
			abort();
		q = reframe(&w, PROTO_ERROR, &n);
		if (proto_dec_error(q, n, &b, v) == -1 || a.code != b.code ||
		    a.partial != b.partial || a.expected != b.expected ||
		    a.sent != b.sent)
			abort();
		str_same(&a.name, &b.name);
		str_same(&a.message, &b.message);
		str_same(&a.line, &b.line);
		same_bytes(&w, p, len);
		proto_wbuf_free(&w);
	}
}

static void
rt_resp_end(const uint8_t *p, size_t len)
{
	struct proto_wbuf w;
	uint8_t a, b;
	const uint8_t *q;
	size_t n;

	if (proto_dec_resp_end(p, len, &a) == -1)
		return;
	proto_wbuf_init(&w);
	if (proto_enc_resp_end(&w, a) == -1)
		abort();
	q = reframe(&w, PROTO_RESP_END, &n);
	if (proto_dec_resp_end(q, n, &b) == -1 || a != b)
		abort();
	same_bytes(&w, p, len);
	proto_wbuf_free(&w);
}

static void
rt_empty(uint8_t type, const uint8_t *p, size_t len)
{
	struct proto_wbuf w;
	const uint8_t *q;
	size_t n;

	if (proto_dec_empty(p, len) == -1) {
		if (len == 0)
			abort();
		return;
	}
	proto_wbuf_init(&w);
	if (proto_enc_empty(&w, type) == -1)
		abort();
	q = reframe(&w, type, &n);
	if (proto_dec_empty(q, n) == -1)
		abort();
	same_bytes(&w, p, len);
	proto_wbuf_free(&w);
}

/* Body frames carry raw bytes: any payload up to the chunk cap, whole. */
static void
rt_body(uint8_t type, const uint8_t *p, size_t len)
{
	struct proto_wbuf w;
	size_t n;

	proto_wbuf_init(&w);
	if (proto_enc_body(&w, type, p, len) == -1) {
		if (len <= PROTO_MAX_BODY_CHUNK || w.len != 0)
			abort();
		proto_wbuf_free(&w);
		return;
	}
	if (len > PROTO_MAX_BODY_CHUNK)
		abort();
	reframe(&w, type, &n);
	same_bytes(&w, p, len);
	proto_wbuf_free(&w);
}

/* One payload, decoded as a frame of this type (the daemon's and the
 * library's choice of decoder). */
static void
decode(uint8_t type, const uint8_t *p, size_t len)
{
	switch (type) {
	case PROTO_HELLO:
		rt_hello(type, p, len);
		break;
	case PROTO_OPEN:
		rt_open(p, len);
		break;
	case PROTO_REQ_HEAD:
		rt_req_head(p, len);
		break;
	case PROTO_REQ_BODY:
	case PROTO_RESP_BODY:
		rt_body(type, p, len);
		break;
	case PROTO_REQ_END:
	case PROTO_CLOSE:
	case PROTO_OPEN_OK:
		rt_empty(type, p, len);
		break;
	case PROTO_HELLO_OK:
		rt_hello_ok(p, len);
		break;
	case PROTO_RESP_HEAD:
		rt_resp_head(p, len);
		break;
	case PROTO_RESP_END:
		rt_resp_end(p, len);
		break;
	case PROTO_ERROR:
		rt_error(p, len);
		break;
	default:
		if (strcmp(proto_type_name(type), "UNKNOWN") != 0)
			abort();
		break;
	}
}

/* A byte stream as the daemon reads it: whole frames off the front. */
static void
frames(const uint8_t *in, size_t len)
{
	uint8_t type, *copy;
	uint32_t plen;
	size_t off = 0;
	int rc;

	while (off < len) {
		rc = proto_frame_peek(in + off, len - off, &type, &plen);
		if (rc == -1) {
			if (plen <= PROTO_MAX_PAYLOAD)
				abort();
			return;
		}
		if (rc == 0) {
			if (len - off >= PROTO_FRAME_HDR &&
			    len - off - PROTO_FRAME_HDR >= plen)
				abort();
			return;
		}
		if (plen > PROTO_MAX_PAYLOAD ||
		    len - off - PROTO_FRAME_HDR < plen)
			abort();
		copy = malloc(plen ? plen : 1);
		if (copy == NULL)
			abort();
		memcpy(copy, in + off + PROTO_FRAME_HDR, plen);
		decode(type, copy, plen);
		free(copy);
		off += PROTO_FRAME_HDR + plen;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *in, size_t size)
{
	static const uint8_t types[T_MAX] = {
		[T_HELLO] = PROTO_HELLO,
		[T_HELLO_OK] = PROTO_HELLO_OK,
		[T_OPEN] = PROTO_OPEN,
		[T_REQ_HEAD] = PROTO_REQ_HEAD,
		[T_RESP_HEAD] = PROTO_RESP_HEAD,
		[T_ERROR] = PROTO_ERROR,
		[T_RESP_END] = PROTO_RESP_END,
		[T_EMPTY] = PROTO_REQ_END,
		[T_BODY] = PROTO_REQ_BODY,
	};
	uint8_t sel, *copy;
	size_t len;

	if (size < 1)
		return 0;
	sel = in[0] % T_MAX;
	len = size - 1;
	if ((copy = malloc(len ? len : 1)) == NULL)
		abort();
	memcpy(copy, in + 1, len);
	if (sel == T_FRAMES)
		frames(copy, len);
	else
		decode(types[sel], copy, len);
	free(copy);
	return 0;
}
