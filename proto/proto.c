/* proto.c: owns the encoding and decoding of hpool wire frames. */
#include <stdlib.h>
#include <string.h>

#include "proto.h"

static int	wbuf_reserve(struct proto_wbuf *, size_t);
static int	get_headers(struct proto_rbuf *, struct proto_header *,
		    size_t *);
static int	get_headers_max(struct proto_rbuf *, struct proto_header *,
		    size_t *, size_t);
static void	put_headers(struct proto_wbuf *, const struct proto_header *,
		    size_t);

static const char *const type_names[] = {
	[PROTO_HELLO] = "HELLO",
	[PROTO_OPEN] = "OPEN",
	[PROTO_REQ_HEAD] = "REQ_HEAD",
	[PROTO_REQ_BODY] = "REQ_BODY",
	[PROTO_REQ_END] = "REQ_END",
	[PROTO_CLOSE] = "CLOSE",
	[PROTO_HELLO_OK] = "HELLO_OK",
	[PROTO_OPEN_OK] = "OPEN_OK",
	[PROTO_RESP_HEAD] = "RESP_HEAD",
	[PROTO_RESP_BODY] = "RESP_BODY",
	[PROTO_RESP_END] = "RESP_END",
	[PROTO_ERROR] = "ERROR",
	[PROTO_EXPLAIN] = "EXPLAIN",
	[PROTO_STATS] = "STATS",
	[PROTO_STATS_OK] = "STATS_OK",
};

const char *
proto_type_name(uint8_t type)
{
	if (type < sizeof(type_names) / sizeof(type_names[0]) &&
	    type_names[type] != NULL)
		return type_names[type];
	return "UNKNOWN";
}

void
proto_wbuf_init(struct proto_wbuf *w)
{
	memset(w, 0, sizeof(*w));
}

void
proto_wbuf_free(struct proto_wbuf *w)
{
	free(w->data);
	memset(w, 0, sizeof(*w));
}

void
proto_wbuf_reset(struct proto_wbuf *w)
{
	w->len = 0;
	w->frame = 0;
	w->overflow = 0;
}

static int
wbuf_reserve(struct proto_wbuf *w, size_t n)
{
	size_t want, ncap;
	uint8_t *p;

	if (w->overflow)
		return -1;
	/* One frame never exceeds the protocol cap, so neither does this. */
	if (n > PROTO_MAX_PAYLOAD + PROTO_FRAME_HDR ||
	    w->len - w->frame + n > PROTO_MAX_PAYLOAD + PROTO_FRAME_HDR) {
		w->overflow = 1;
		return -1;
	}
	want = w->len + n;
	if (want <= w->cap)
		return 0;
	ncap = w->cap ? w->cap : 256;
	while (ncap < want)
		ncap *= 2;
	if ((p = realloc(w->data, ncap)) == NULL) {
		w->overflow = 1;
		return -1;
	}
	w->data = p;
	w->cap = ncap;
	return 0;
}

void
proto_begin(struct proto_wbuf *w, enum proto_type type)
{
	w->frame = w->len;
	if (wbuf_reserve(w, PROTO_FRAME_HDR) == -1)
		return;
	memset(w->data + w->len, 0, 4);
	w->data[w->len + 4] = (uint8_t)type;
	w->len += PROTO_FRAME_HDR;
}

void
proto_put_u8(struct proto_wbuf *w, uint8_t v)
{
	if (wbuf_reserve(w, 1) == 0)
		w->data[w->len++] = v;
}

void
proto_put_u16(struct proto_wbuf *w, uint16_t v)
{
	if (wbuf_reserve(w, 2) == -1)
		return;
	w->data[w->len++] = (uint8_t)(v >> 8);
	w->data[w->len++] = (uint8_t)v;
}

void
proto_put_u32(struct proto_wbuf *w, uint32_t v)
{
	int i;

	if (wbuf_reserve(w, 4) == -1)
		return;
	for (i = 3; i >= 0; i--)
		w->data[w->len++] = (uint8_t)(v >> (i * 8));
}

void
proto_put_u64(struct proto_wbuf *w, uint64_t v)
{
	int i;

	if (wbuf_reserve(w, 8) == -1)
		return;
	for (i = 7; i >= 0; i--)
		w->data[w->len++] = (uint8_t)(v >> (i * 8));
}

void
proto_put_bytes(struct proto_wbuf *w, const void *p, size_t n)
{
	if (n == 0 || wbuf_reserve(w, n) == -1)
		return;
	memcpy(w->data + w->len, p, n);
	w->len += n;
}

void
proto_put_str(struct proto_wbuf *w, const void *p, size_t n)
{
	if (n > PROTO_MAX_STR) {
		w->overflow = 1;
		return;
	}
	proto_put_u32(w, (uint32_t)n);
	proto_put_bytes(w, p, n);
}

void
proto_frame_hdr(uint8_t hdr[PROTO_FRAME_HDR], enum proto_type type,
    uint32_t payload_len)
{
	hdr[0] = (uint8_t)(payload_len >> 24);
	hdr[1] = (uint8_t)(payload_len >> 16);
	hdr[2] = (uint8_t)(payload_len >> 8);
	hdr[3] = (uint8_t)payload_len;
	hdr[4] = (uint8_t)type;
}

int
proto_end(struct proto_wbuf *w)
{
	size_t plen;

	if (w->overflow) {
		/* Drop the partial frame so earlier whole frames survive. */
		if (w->frame <= w->len)
			w->len = w->frame;
		w->overflow = 0;
		return -1;
	}
	plen = w->len - w->frame - PROTO_FRAME_HDR;
	proto_frame_hdr(w->data + w->frame, (enum proto_type)w->data[w->frame +
	    4], (uint32_t)plen);
	w->frame = w->len;
	return 0;
}

int
proto_frame_peek(const uint8_t *p, size_t avail, uint8_t *type,
    uint32_t *payload_len)
{
	uint32_t len;

	if (avail < PROTO_FRAME_HDR)
		return 0;
	len = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
	*type = p[4];
	*payload_len = len;	/* set on -1 too, for the error message */
	if (len > PROTO_MAX_PAYLOAD)
		return -1;
	return avail - PROTO_FRAME_HDR >= len ? 1 : 0;
}

void
proto_rbuf_init(struct proto_rbuf *r, const uint8_t *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->off = 0;
	r->bad = 0;
}

static const uint8_t *
take(struct proto_rbuf *r, size_t n)
{
	const uint8_t *p;

	if (r->bad || r->len - r->off < n) {
		r->bad = 1;
		return NULL;
	}
	p = r->p + r->off;
	r->off += n;
	return p;
}

int
proto_get_u8(struct proto_rbuf *r, uint8_t *v)
{
	const uint8_t *p = take(r, 1);

	if (p == NULL)
		return -1;
	*v = p[0];
	return 0;
}

int
proto_get_u16(struct proto_rbuf *r, uint16_t *v)
{
	const uint8_t *p = take(r, 2);

	if (p == NULL)
		return -1;
	*v = (uint16_t)(p[0] << 8 | p[1]);
	return 0;
}

int
proto_get_u32(struct proto_rbuf *r, uint32_t *v)
{
	const uint8_t *p = take(r, 4);

	if (p == NULL)
		return -1;
	*v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
	return 0;
}

int
proto_get_u64(struct proto_rbuf *r, uint64_t *v)
{
	uint32_t hi, lo;

	if (proto_get_u32(r, &hi) == -1 || proto_get_u32(r, &lo) == -1)
		return -1;
	*v = (uint64_t)hi << 32 | lo;
	return 0;
}

int
proto_get_str(struct proto_rbuf *r, struct proto_str *s)
{
	uint32_t n;
	const uint8_t *p;

	if (proto_get_u32(r, &n) == -1)
		return -1;
	if (n > PROTO_MAX_STR) {
		r->bad = 1;
		return -1;
	}
	if ((p = take(r, n)) == NULL)
		return -1;
	s->p = (const char *)p;
	s->len = n;
	return 0;
}

int
proto_get_rest(struct proto_rbuf *r, struct proto_str *s)
{
	if (r->bad)
		return -1;
	s->p = (const char *)r->p + r->off;
	s->len = r->len - r->off;
	r->off = r->len;
	return 0;
}

int
proto_get_end(struct proto_rbuf *r)
{
	return r->bad || r->off != r->len ? -1 : 0;
}

int
proto_enc_hello(struct proto_wbuf *w, enum proto_type type,
    const struct proto_hello *h)
{
	proto_begin(w, type);
	proto_put_u16(w, h->min_version);
	proto_put_u16(w, h->max_version);
	return proto_end(w);
}

int
proto_dec_hello(const uint8_t *p, size_t len, struct proto_hello *h)
{
	struct proto_rbuf r;

	proto_rbuf_init(&r, p, len);
	proto_get_u16(&r, &h->min_version);
	proto_get_u16(&r, &h->max_version);
	if (proto_get_end(&r) == -1 || h->min_version > h->max_version)
		return -1;
	return 0;
}

int
proto_enc_hello_ok(struct proto_wbuf *w, uint16_t version)
{
	proto_begin(w, PROTO_HELLO_OK);
	proto_put_u16(w, version);
	return proto_end(w);
}

int
proto_dec_hello_ok(const uint8_t *p, size_t len, uint16_t *version)
{
	struct proto_rbuf r;

	proto_rbuf_init(&r, p, len);
	proto_get_u16(&r, version);
	return proto_get_end(&r);
}

/* OPEN is a list of (u16 key, u32 length, value) so options can grow. */
static void
put_tlv_str(struct proto_wbuf *w, uint16_t key, const struct proto_str *s)
{
	proto_put_u16(w, key);
	proto_put_str(w, s->p, s->len);
}

static void
put_tlv_u8(struct proto_wbuf *w, uint16_t key, uint8_t v)
{
	proto_put_u16(w, key);
	proto_put_u32(w, 1);
	proto_put_u8(w, v);
}

static void
put_tlv_u16(struct proto_wbuf *w, uint16_t key, uint16_t v)
{
	proto_put_u16(w, key);
	proto_put_u32(w, 2);
	proto_put_u16(w, v);
}

int
proto_enc_open(struct proto_wbuf *w, const struct proto_open *o)
{
	proto_begin(w, PROTO_OPEN);
	put_tlv_str(w, PROTO_OPEN_SCHEME, &o->scheme);
	put_tlv_str(w, PROTO_OPEN_HOST, &o->host);
	put_tlv_u16(w, PROTO_OPEN_PORT, o->port);
	if (o->has_timeout) {
		proto_put_u16(w, PROTO_OPEN_TIMEOUT_MS);
		proto_put_u32(w, 4);
		proto_put_u32(w, o->timeout_ms);
	}
	if (o->source_host.len > 0 || o->source_port != 0) {
		put_tlv_str(w, PROTO_OPEN_SOURCE_HOST, &o->source_host);
		put_tlv_u16(w, PROTO_OPEN_SOURCE_PORT, o->source_port);
	}
	if (proto_str_eq(&o->scheme, "https")) {
		/* TLS settings always travel explicitly. */
		put_tlv_u8(w, PROTO_OPEN_TLS_VERIFY, o->tls_verify);
		put_tlv_u8(w, PROTO_OPEN_TLS_CHECK_HOSTNAME,
		    o->tls_check_hostname);
		put_tlv_u8(w, PROTO_OPEN_TLS_CA_SYSTEM, o->tls_ca_system);
		if (o->tls_ca_pem.len)
			put_tlv_str(w, PROTO_OPEN_TLS_CA_PEM, &o->tls_ca_pem);
		if (o->tls_cert_pem.len)
			put_tlv_str(w, PROTO_OPEN_TLS_CERT_PEM,
			    &o->tls_cert_pem);
		if (o->tls_key_pem.len)
			put_tlv_str(w, PROTO_OPEN_TLS_KEY_PEM, &o->tls_key_pem);
		if (o->tls_key_password.len)
			put_tlv_str(w, PROTO_OPEN_TLS_KEY_PASSWORD,
			    &o->tls_key_password);
		if (o->tls_min_version)
			put_tlv_u16(w, PROTO_OPEN_TLS_MIN_VERSION,
			    o->tls_min_version);
		if (o->tls_max_version)
			put_tlv_u16(w, PROTO_OPEN_TLS_MAX_VERSION,
			    o->tls_max_version);
		if (o->tls_alpn.len)
			put_tlv_str(w, PROTO_OPEN_TLS_ALPN, &o->tls_alpn);
		if (o->tls_sni.len)
			put_tlv_str(w, PROTO_OPEN_TLS_SNI, &o->tls_sni);
	}
	if (o->tunnel_host.len) {
		size_t i, len = 2;

		put_tlv_str(w, PROTO_OPEN_TUNNEL_HOST, &o->tunnel_host);
		put_tlv_u16(w, PROTO_OPEN_TUNNEL_PORT, o->tunnel_port);
		/* The header list is the value: its length first. */
		for (i = 0; i < o->ntunnel_headers; i++)
			len += 8 + o->tunnel_headers[i].name.len +
			    o->tunnel_headers[i].value.len;
		if (o->ntunnel_headers > PROTO_MAX_TUNNEL_HEADERS ||
		    len > PROTO_MAX_STR) {
			w->overflow = 1;
			return proto_end(w);
		}
		proto_put_u16(w, PROTO_OPEN_TUNNEL_HEADERS);
		proto_put_u32(w, (uint32_t)len);
		put_headers(w, o->tunnel_headers, o->ntunnel_headers);
		if (o->tunnel_tls != PROTO_TUNNEL_TLS_NONE)
			put_tlv_u8(w, PROTO_OPEN_TUNNEL_TLS, o->tunnel_tls);
		if (o->tunnel_tls != PROTO_TUNNEL_TLS_NONE &&
		    o->tunnel_ca_pem.len)
			put_tlv_str(w, PROTO_OPEN_TUNNEL_CA_PEM,
			    &o->tunnel_ca_pem);
	}
	if (o->explain) {
		proto_put_u16(w, PROTO_OPEN_EXPLAIN);
		proto_put_u32(w, 1);
		proto_put_u8(w, 1);
	}
	return proto_end(w);
}

void
proto_open_tls_defaults(struct proto_open *o)
{
	/* ssl.create_default_context(): verified, hostname checked, the
	 * system's trust store. */
	o->tls_verify = PROTO_TLS_CERT_REQUIRED;
	o->tls_check_hostname = 1;
	o->tls_ca_system = 1;
}

int
proto_dec_open(const uint8_t *p, size_t len, struct proto_open *o)
{
	struct proto_rbuf r, v;
	struct proto_str val;
	uint32_t seen = 0;
	uint16_t key;

	memset(o, 0, sizeof(*o));
	proto_open_tls_defaults(o);
	proto_rbuf_init(&r, p, len);
	while (r.off < r.len) {
		if (proto_get_u16(&r, &key) == -1 ||
		    proto_get_str(&r, &val) == -1)
			return -1;
		/* Unknown or repeated keys are refused, never ignored. */
		if (key == 0 || key > PROTO_OPEN_KEY_MAX ||
		    (seen & (1u << key)))
			return -1;
		seen |= 1u << key;
		proto_rbuf_init(&v, (const uint8_t *)val.p, val.len);
		switch (key) {
		case PROTO_OPEN_SCHEME:
			o->scheme = val;
			proto_get_rest(&v, &val);
			break;
		case PROTO_OPEN_HOST:
			o->host = val;
			proto_get_rest(&v, &val);
			break;
		case PROTO_OPEN_PORT:
			proto_get_u16(&v, &o->port);
			break;
		case PROTO_OPEN_TIMEOUT_MS:
			o->has_timeout = 1;
			proto_get_u32(&v, &o->timeout_ms);
			break;
		case PROTO_OPEN_SOURCE_HOST:
			o->source_host = val;
			proto_get_rest(&v, &val);
			break;
		case PROTO_OPEN_SOURCE_PORT:
			proto_get_u16(&v, &o->source_port);
			break;
		case PROTO_OPEN_TLS_VERIFY:
			proto_get_u8(&v, &o->tls_verify);
			if (o->tls_verify > PROTO_TLS_CERT_REQUIRED)
				return -1;
			break;
		case PROTO_OPEN_TLS_CHECK_HOSTNAME:
			proto_get_u8(&v, &o->tls_check_hostname);
			if (o->tls_check_hostname > 1)
				return -1;
			break;
		case PROTO_OPEN_TLS_CA_SYSTEM:
			proto_get_u8(&v, &o->tls_ca_system);
			if (o->tls_ca_system > 1)
				return -1;
			break;
		case PROTO_OPEN_TLS_CA_PEM:
			o->tls_ca_pem = val;
			proto_get_rest(&v, &val);
			break;
		case PROTO_OPEN_TLS_CERT_PEM:
			o->tls_cert_pem = val;
			proto_get_rest(&v, &val);
			break;
		case PROTO_OPEN_TLS_KEY_PEM:
			o->tls_key_pem = val;
			proto_get_rest(&v, &val);
			break;
		case PROTO_OPEN_TLS_KEY_PASSWORD:
			o->tls_key_password = val;
			proto_get_rest(&v, &val);
			break;
		case PROTO_OPEN_TLS_MIN_VERSION:
			proto_get_u16(&v, &o->tls_min_version);
			break;
		case PROTO_OPEN_TLS_MAX_VERSION:
			proto_get_u16(&v, &o->tls_max_version);
			break;
		case PROTO_OPEN_TLS_ALPN:
			o->tls_alpn = val;
			proto_get_rest(&v, &val);
			break;
		case PROTO_OPEN_TLS_SNI:
			o->tls_sni = val;
			proto_get_rest(&v, &val);
			break;
		case PROTO_OPEN_TUNNEL_HOST:
			o->tunnel_host = val;
			proto_get_rest(&v, &val);
			break;
		case PROTO_OPEN_TUNNEL_PORT:
			proto_get_u16(&v, &o->tunnel_port);
			break;
		case PROTO_OPEN_TUNNEL_HEADERS:
			if (get_headers_max(&v, o->tunnel_headers,
			    &o->ntunnel_headers, PROTO_MAX_TUNNEL_HEADERS) == -1)
				return -1;
			break;
		case PROTO_OPEN_TUNNEL_TLS:
			if (proto_get_u8(&v, &o->tunnel_tls) == -1 ||
			    o->tunnel_tls == PROTO_TUNNEL_TLS_NONE ||
			    o->tunnel_tls > PROTO_TUNNEL_TLS_INSECURE)
				return -1;
			break;
		case PROTO_OPEN_TUNNEL_CA_PEM:
			o->tunnel_ca_pem = val;
			proto_get_rest(&v, &val);
			break;
		case PROTO_OPEN_EXPLAIN:
			if (proto_get_u8(&v, &o->explain) == -1 ||
			    o->explain != 1)
				return -1;
			break;
		}
		if (proto_get_end(&v) == -1)
			return -1;
	}
	if (proto_get_end(&r) == -1)
		return -1;
	/* a tunnel needs both ends; headers need a tunnel */
	if (((seen >> PROTO_OPEN_TUNNEL_HOST) & 1) !=
	    ((seen >> PROTO_OPEN_TUNNEL_PORT) & 1) ||
	    (((seen >> PROTO_OPEN_TUNNEL_HEADERS) & 1) &&
	    !((seen >> PROTO_OPEN_TUNNEL_HOST) & 1)) ||
	    (((seen >> PROTO_OPEN_TUNNEL_HOST) & 1) &&
	    (o->tunnel_host.len == 0 || o->tunnel_port == 0)))
		return -1;
	/* TLS to the proxy needs a tunnel; its CAs need TLS to the proxy */
	if ((((seen >> PROTO_OPEN_TUNNEL_TLS) & 1) &&
	    !((seen >> PROTO_OPEN_TUNNEL_HOST) & 1)) ||
	    (((seen >> PROTO_OPEN_TUNNEL_CA_PEM) & 1) &&
	    !((seen >> PROTO_OPEN_TUNNEL_TLS) & 1)))
		return -1;
	/* TLS settings belong to https only */
	if (!proto_str_eq(&o->scheme, "https") &&
	    (seen & ((1u << (PROTO_OPEN_TLS_SNI + 1)) -
	    (1u << PROTO_OPEN_TLS_VERIFY))))
		return -1;
	/* scheme, host and port are required */
	if ((seen & (1u << PROTO_OPEN_SCHEME | 1u << PROTO_OPEN_HOST |
	    1u << PROTO_OPEN_PORT)) != (1u << PROTO_OPEN_SCHEME |
	    1u << PROTO_OPEN_HOST | 1u << PROTO_OPEN_PORT))
		return -1;
	return 0;
}

static void
put_headers(struct proto_wbuf *w, const struct proto_header *h, size_t n)
{
	size_t i;

	proto_put_u16(w, (uint16_t)n);
	for (i = 0; i < n; i++) {
		proto_put_str(w, h[i].name.p, h[i].name.len);
		proto_put_str(w, h[i].value.p, h[i].value.len);
	}
}

static int
get_headers(struct proto_rbuf *r, struct proto_header *h, size_t *n)
{
	return get_headers_max(r, h, n, PROTO_MAX_HEADERS);
}

static int
get_headers_max(struct proto_rbuf *r, struct proto_header *h, size_t *n,
    size_t max)
{
	uint16_t count, i;

	if (proto_get_u16(r, &count) == -1 || count > max) {
		r->bad = 1;
		return -1;
	}
	for (i = 0; i < count; i++)
		if (proto_get_str(r, &h[i].name) == -1 ||
		    proto_get_str(r, &h[i].value) == -1)
			return -1;
	*n = count;
	return 0;
}

int
proto_enc_req_head(struct proto_wbuf *w, const struct proto_req_head *h)
{
	if (h->nheaders > PROTO_MAX_HEADERS)
		return -1;
	proto_begin(w, PROTO_REQ_HEAD);
	proto_put_str(w, h->method.p, h->method.len);
	proto_put_str(w, h->url.p, h->url.len);
	put_headers(w, h->headers, h->nheaders);
	return proto_end(w);
}

int
proto_dec_req_head(const uint8_t *p, size_t len, struct proto_req_head *h)
{
	struct proto_rbuf r;

	proto_rbuf_init(&r, p, len);
	proto_get_str(&r, &h->method);
	proto_get_str(&r, &h->url);
	get_headers(&r, h->headers, &h->nheaders);
	return proto_get_end(&r);
}

int
proto_enc_resp_head(struct proto_wbuf *w, const struct proto_resp_head *h)
{
	if (h->nheaders > PROTO_MAX_HEADERS)
		return -1;
	proto_begin(w, PROTO_RESP_HEAD);
	proto_put_u8(w, h->version);
	proto_put_u8(w, h->flags);
	proto_put_u16(w, h->status);
	proto_put_u64(w, (uint64_t)h->length);
	proto_put_str(w, h->reason.p, h->reason.len);
	put_headers(w, h->headers, h->nheaders);
	return proto_end(w);
}

int
proto_dec_resp_head(const uint8_t *p, size_t len, struct proto_resp_head *h)
{
	struct proto_rbuf r;
	uint64_t length;

	proto_rbuf_init(&r, p, len);
	proto_get_u8(&r, &h->version);
	proto_get_u8(&r, &h->flags);
	proto_get_u16(&r, &h->status);
	proto_get_u64(&r, &length);
	proto_get_str(&r, &h->reason);
	get_headers(&r, h->headers, &h->nheaders);
	if (proto_get_end(&r) == -1)
		return -1;
	h->length = (int64_t)length;
	if ((h->version != 10 && h->version != 11) || h->length < -1 ||
	    h->status < 100 || h->status > 999)
		return -1;
	return 0;
}

int
proto_enc_error(struct proto_wbuf *w, const struct proto_error *e,
    uint16_t version)
{
	proto_begin(w, PROTO_ERROR);
	proto_put_u16(w, e->code);
	proto_put_str(w, e->name.p, e->name.len);
	proto_put_str(w, e->message.p, e->message.len);
	proto_put_u64(w, e->partial);
	proto_put_u64(w, (uint64_t)e->expected);
	proto_put_str(w, e->line.p, e->line.len);
	if (version >= 2)
		proto_put_u8(w, e->sent);
	if (version >= 4)
		proto_put_str(w, e->detail.p, e->detail.len);
	return proto_end(w);
}

int
proto_dec_error(const uint8_t *p, size_t len, struct proto_error *e,
    uint16_t version)
{
	struct proto_rbuf r;
	uint64_t expected;

	proto_rbuf_init(&r, p, len);
	proto_get_u16(&r, &e->code);
	proto_get_str(&r, &e->name);
	proto_get_str(&r, &e->message);
	proto_get_u64(&r, &e->partial);
	proto_get_u64(&r, &expected);
	proto_get_str(&r, &e->line);
	e->sent = PROTO_SENT_UNKNOWN;
	e->detail.p = NULL;
	e->detail.len = 0;
	if (version >= 2)
		proto_get_u8(&r, &e->sent);
	if (version >= 4)
		proto_get_str(&r, &e->detail);
	if (proto_get_end(&r) == -1)
		return -1;
	e->expected = (int64_t)expected;
	if (e->code == 0 || e->expected < -1 || e->sent > PROTO_SENT_MAYBE)
		return -1;
	return 0;
}

int
proto_enc_body(struct proto_wbuf *w, enum proto_type type, const void *p,
    size_t n)
{
	if (n > PROTO_MAX_BODY_CHUNK)
		return -1;
	proto_begin(w, type);
	proto_put_bytes(w, p, n);
	return proto_end(w);
}

/* A frame of one string (EXPLAIN, STATS_OK). */
static int
enc_text(struct proto_wbuf *w, enum proto_type type, const char *text,
    size_t len)
{
	if (len > PROTO_MAX_STR)
		return -1;
	proto_begin(w, type);
	proto_put_str(w, text, len);
	return proto_end(w);
}

int
proto_enc_explain(struct proto_wbuf *w, const char *text, size_t len)
{
	return enc_text(w, PROTO_EXPLAIN, text, len);
}

int
proto_dec_explain(const uint8_t *p, size_t len, struct proto_str *text)
{
	struct proto_rbuf r;

	proto_rbuf_init(&r, p, len);
	proto_get_str(&r, text);
	return proto_get_end(&r);
}

int
proto_enc_stats(struct proto_wbuf *w, uint8_t format)
{
	if (format > PROTO_STATS_PROMETHEUS)
		return -1;
	proto_begin(w, PROTO_STATS);
	proto_put_u8(w, format);
	return proto_end(w);
}

int
proto_dec_stats(const uint8_t *p, size_t len, uint8_t *format)
{
	struct proto_rbuf r;

	proto_rbuf_init(&r, p, len);
	if (proto_get_u8(&r, format) == -1 || *format > PROTO_STATS_PROMETHEUS)
		return -1;
	return proto_get_end(&r);
}

int
proto_enc_stats_ok(struct proto_wbuf *w, const char *text, size_t len)
{
	return enc_text(w, PROTO_STATS_OK, text, len);
}

int
proto_dec_stats_ok(const uint8_t *p, size_t len, struct proto_str *text)
{
	return proto_dec_explain(p, len, text);	/* the same layout */
}

int
proto_enc_empty(struct proto_wbuf *w, enum proto_type type)
{
	proto_begin(w, type);
	return proto_end(w);
}

int
proto_dec_empty(const uint8_t *p, size_t len)
{
	(void)p;
	return len == 0 ? 0 : -1;
}

int
proto_enc_resp_end(struct proto_wbuf *w, uint8_t flags)
{
	proto_begin(w, PROTO_RESP_END);
	proto_put_u8(w, flags);
	return proto_end(w);
}

int
proto_dec_resp_end(const uint8_t *p, size_t len, uint8_t *flags)
{
	struct proto_rbuf r;

	proto_rbuf_init(&r, p, len);
	proto_get_u8(&r, flags);
	return proto_get_end(&r);
}

char *
proto_strdup(const struct proto_str *s)
{
	char *p;

	if ((p = malloc(s->len + 1)) == NULL)
		return NULL;
	if (s->len)
		memcpy(p, s->p, s->len);
	p[s->len] = '\0';
	return p;
}

int
proto_str_eq(const struct proto_str *s, const char *c)
{
	size_t n = strlen(c);

	return s->len == n && memcmp(s->p, c, n) == 0;
}
