/* check_proto.c: unit tests for the wire codec (proto.c) and the error
 * space (error.c): round trips and every malformed-frame case. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hpool_error.h"
#include "proto.h"
#include "check_run.h"

static struct proto_wbuf w;

static void
setup(void)
{
	proto_wbuf_init(&w);
}

static void
teardown(void)
{
	proto_wbuf_free(&w);
}

static struct proto_str
S(const char *s)
{
	struct proto_str r = { s, strlen(s) };

	return r;
}

/* Check the frame header at off and return a pointer to its payload. */
static const uint8_t *
frame_at(size_t off, uint8_t want_type, uint32_t *plen)
{
	uint8_t type;

	ck_assert_int_eq(proto_frame_peek(w.data + off, w.len - off, &type,
	    plen), 1);
	ck_assert_uint_eq(type, want_type);
	return w.data + off + PROTO_FRAME_HDR;
}

START_TEST(hello_round_trip)
{
	struct proto_hello h = { 1, 3 }, d;
	uint16_t v;
	uint32_t n;
	const uint8_t *p;

	ck_assert_int_eq(proto_enc_hello(&w, PROTO_HELLO, &h), 0);
	ck_assert_uint_eq(w.len, PROTO_FRAME_HDR + 4);
	/* explicit byte order: length 4 big-endian, type 1, 0x0001 0x0003 */
	ck_assert_mem_eq(w.data, "\0\0\0\4\1\0\1\0\3", 9);
	p = frame_at(0, PROTO_HELLO, &n);
	ck_assert_int_eq(proto_dec_hello(p, n, &d), 0);
	ck_assert_uint_eq(d.min_version, 1);
	ck_assert_uint_eq(d.max_version, 3);
	proto_wbuf_reset(&w);
	ck_assert_int_eq(proto_enc_hello_ok(&w, 7), 0);
	p = frame_at(0, PROTO_HELLO_OK, &n);
	ck_assert_int_eq(proto_dec_hello_ok(p, n, &v), 0);
	ck_assert_uint_eq(v, 7);
}
END_TEST

START_TEST(hello_malformed)
{
	const uint8_t short_p[] = { 0, 1, 0 };
	const uint8_t long_p[] = { 0, 1, 0, 1, 0 };
	const uint8_t inverted[] = { 0, 2, 0, 1 };
	struct proto_hello d;

	ck_assert_int_eq(proto_dec_hello(short_p, sizeof(short_p), &d), -1);
	ck_assert_int_eq(proto_dec_hello(long_p, sizeof(long_p), &d), -1);
	ck_assert_int_eq(proto_dec_hello(inverted, sizeof(inverted), &d), -1);
}
END_TEST

/* STATS (version 4): one format byte, 0 to 2; STATS_OK: one string. */
START_TEST(stats_frames)
{
	const uint8_t bad[] = { 3 }, two[] = { 1, 0 };
	struct proto_str t;
	uint8_t f;
	uint32_t n;
	const uint8_t *p;

	ck_assert_int_eq(proto_enc_stats(&w, PROTO_STATS_PROMETHEUS), 0);
	ck_assert_mem_eq(w.data, "\0\0\0\1\7\2", 6);
	p = frame_at(0, PROTO_STATS, &n);
	ck_assert_int_eq(proto_dec_stats(p, n, &f), 0);
	ck_assert_uint_eq(f, PROTO_STATS_PROMETHEUS);
	ck_assert_int_eq(proto_dec_stats(bad, sizeof(bad), &f), -1);
	ck_assert_int_eq(proto_dec_stats(two, sizeof(two), &f), -1);
	ck_assert_int_eq(proto_dec_stats(two, 0, &f), -1);
	proto_wbuf_reset(&w);
	ck_assert_int_eq(proto_enc_stats(&w, 3), -1);
	ck_assert_int_eq(proto_enc_stats_ok(&w, "totals\n", 7), 0);
	p = frame_at(0, PROTO_STATS_OK, &n);
	ck_assert_int_eq(proto_dec_stats_ok(p, n, &t), 0);
	ck_assert_uint_eq(t.len, 7);
	ck_assert_mem_eq(t.p, "totals\n", 7);
	ck_assert_int_eq(proto_dec_stats_ok(p, n - 1, &t), -1);
	ck_assert_str_eq(proto_type_name(PROTO_STATS), "STATS");
	ck_assert_str_eq(proto_type_name(PROTO_STATS_OK), "STATS_OK");
}
END_TEST

START_TEST(open_round_trip)
{
	struct proto_open o, d;
	uint32_t n;
	const uint8_t *p;

	memset(&o, 0, sizeof(o));
	o.scheme = S("http");
	o.host = S("example.org");
	o.port = 8080;
	o.has_timeout = 1;
	o.timeout_ms = 2500;
	o.source_host = S("127.0.0.2");
	o.source_port = 4000;
	ck_assert_int_eq(proto_enc_open(&w, &o), 0);
	p = frame_at(0, PROTO_OPEN, &n);
	ck_assert_int_eq(proto_dec_open(p, n, &d), 0);
	ck_assert(proto_str_eq(&d.scheme, "http"));
	ck_assert(proto_str_eq(&d.host, "example.org"));
	ck_assert_uint_eq(d.port, 8080);
	ck_assert_int_eq(d.has_timeout, 1);
	ck_assert_uint_eq(d.timeout_ms, 2500);
	ck_assert(proto_str_eq(&d.source_host, "127.0.0.2"));
	ck_assert_uint_eq(d.source_port, 4000);

	/* optional parameters absent */
	proto_wbuf_reset(&w);
	o.has_timeout = 0;
	o.source_host = S("");
	o.source_port = 0;
	ck_assert_int_eq(proto_enc_open(&w, &o), 0);
	p = frame_at(0, PROTO_OPEN, &n);
	ck_assert_int_eq(proto_dec_open(p, n, &d), 0);
	ck_assert_int_eq(d.has_timeout, 0);
	ck_assert_uint_eq(d.source_host.len, 0);
}
END_TEST

/* Build an OPEN payload by hand from TLVs. */
static void
tlv(struct proto_wbuf *b, uint16_t key, const void *v, size_t n)
{
	proto_put_u16(b, key);
	proto_put_str(b, v, n);
}

START_TEST(open_malformed)
{
	struct proto_open d;
	const uint8_t port[2] = { 0, 80 };
	const uint8_t port3[3] = { 0, 80, 0 };
	uint32_t n;
	const uint8_t *p;

	/* missing PORT */
	proto_begin(&w, PROTO_OPEN);
	tlv(&w, PROTO_OPEN_SCHEME, "http", 4);
	tlv(&w, PROTO_OPEN_HOST, "h", 1);
	ck_assert_int_eq(proto_end(&w), 0);
	p = frame_at(0, PROTO_OPEN, &n);
	ck_assert_int_eq(proto_dec_open(p, n, &d), -1);

	/* unknown key is refused, not ignored */
	proto_wbuf_reset(&w);
	proto_begin(&w, PROTO_OPEN);
	tlv(&w, PROTO_OPEN_SCHEME, "http", 4);
	tlv(&w, PROTO_OPEN_HOST, "h", 1);
	tlv(&w, PROTO_OPEN_PORT, port, 2);
	tlv(&w, 99, "x", 1);
	ck_assert_int_eq(proto_end(&w), 0);
	p = frame_at(0, PROTO_OPEN, &n);
	ck_assert_int_eq(proto_dec_open(p, n, &d), -1);

	/* repeated key */
	proto_wbuf_reset(&w);
	proto_begin(&w, PROTO_OPEN);
	tlv(&w, PROTO_OPEN_SCHEME, "http", 4);
	tlv(&w, PROTO_OPEN_HOST, "h", 1);
	tlv(&w, PROTO_OPEN_HOST, "i", 1);
	tlv(&w, PROTO_OPEN_PORT, port, 2);
	ck_assert_int_eq(proto_end(&w), 0);
	p = frame_at(0, PROTO_OPEN, &n);
	ck_assert_int_eq(proto_dec_open(p, n, &d), -1);

	/* a u16 value with a byte left over */
	proto_wbuf_reset(&w);
	proto_begin(&w, PROTO_OPEN);
	tlv(&w, PROTO_OPEN_SCHEME, "http", 4);
	tlv(&w, PROTO_OPEN_HOST, "h", 1);
	tlv(&w, PROTO_OPEN_PORT, port3, 3);
	ck_assert_int_eq(proto_end(&w), 0);
	p = frame_at(0, PROTO_OPEN, &n);
	ck_assert_int_eq(proto_dec_open(p, n, &d), -1);

	/* key 0 */
	proto_wbuf_reset(&w);
	proto_begin(&w, PROTO_OPEN);
	tlv(&w, 0, "", 0);
	ck_assert_int_eq(proto_end(&w), 0);
	p = frame_at(0, PROTO_OPEN, &n);
	ck_assert_int_eq(proto_dec_open(p, n, &d), -1);

	/* truncated: a key with no value */
	{
		const uint8_t trunc[] = { 0, 1, 0, 0 };

		ck_assert_int_eq(proto_dec_open(trunc, sizeof(trunc), &d), -1);
	}
}
END_TEST

START_TEST(open_tunnel)
{
	static struct proto_open o, d;
	uint32_t n;
	const uint8_t *p;

	memset(&o, 0, sizeof(o));
	o.scheme = S("http");
	o.host = S("proxy.local");
	o.port = 3128;
	o.tunnel_host = S("example.org");
	o.tunnel_port = 443;
	o.ntunnel_headers = 2;
	o.tunnel_headers[0].name = S("Proxy-Authorization");
	o.tunnel_headers[0].value = S("Basic eDp5");
	o.tunnel_headers[1].name = S("X-A");
	o.tunnel_headers[1].value = S("");
	ck_assert_int_eq(proto_enc_open(&w, &o), 0);
	p = frame_at(0, PROTO_OPEN, &n);
	ck_assert_int_eq(proto_dec_open(p, n, &d), 0);
	ck_assert(proto_str_eq(&d.tunnel_host, "example.org"));
	ck_assert_uint_eq(d.tunnel_port, 443);
	ck_assert_uint_eq(d.ntunnel_headers, 2);
	ck_assert(proto_str_eq(&d.tunnel_headers[0].value, "Basic eDp5"));
	ck_assert_uint_eq(d.tunnel_headers[1].value.len, 0);

	/* a tunnel port without a host is refused */
	proto_wbuf_reset(&w);
	proto_begin(&w, PROTO_OPEN);
	tlv(&w, PROTO_OPEN_SCHEME, "http", 4);
	tlv(&w, PROTO_OPEN_HOST, "h", 1);
	tlv(&w, PROTO_OPEN_PORT, "\0\x50", 2);
	tlv(&w, PROTO_OPEN_TUNNEL_PORT, "\0\x50", 2);
	ck_assert_int_eq(proto_end(&w), 0);
	p = frame_at(0, PROTO_OPEN, &n);
	ck_assert_int_eq(proto_dec_open(p, n, &d), -1);

	/* TLS settings with scheme http are refused */
	proto_wbuf_reset(&w);
	proto_begin(&w, PROTO_OPEN);
	tlv(&w, PROTO_OPEN_SCHEME, "http", 4);
	tlv(&w, PROTO_OPEN_HOST, "h", 1);
	tlv(&w, PROTO_OPEN_PORT, "\0\x50", 2);
	tlv(&w, PROTO_OPEN_TLS_SNI, "x", 1);
	ck_assert_int_eq(proto_end(&w), 0);
	p = frame_at(0, PROTO_OPEN, &n);
	ck_assert_int_eq(proto_dec_open(p, n, &d), -1);
}
END_TEST

/* version 4: TLS to the proxy of a tunnel, and its CAs */
static int
open_with(const char *tls, size_t tlslen, const char *ca, int tunnel)
{
	static struct proto_open d;
	const uint8_t *p;
	uint32_t n;

	proto_wbuf_reset(&w);
	proto_begin(&w, PROTO_OPEN);
	tlv(&w, PROTO_OPEN_SCHEME, "http", 4);
	tlv(&w, PROTO_OPEN_HOST, "h", 1);
	tlv(&w, PROTO_OPEN_PORT, "\0\x50", 2);
	if (tunnel) {
		tlv(&w, PROTO_OPEN_TUNNEL_HOST, "t", 1);
		tlv(&w, PROTO_OPEN_TUNNEL_PORT, "\0\x50", 2);
	}
	if (tls != NULL)
		tlv(&w, PROTO_OPEN_TUNNEL_TLS, tls, tlslen);
	if (ca != NULL)
		tlv(&w, PROTO_OPEN_TUNNEL_CA_PEM, ca, strlen(ca));
	ck_assert_int_eq(proto_end(&w), 0);
	p = frame_at(0, PROTO_OPEN, &n);
	return proto_dec_open(p, n, &d);
}

START_TEST(open_tunnel_tls)
{
	static struct proto_open o, d;
	uint32_t n;
	const uint8_t *p;

	memset(&o, 0, sizeof(o));
	o.scheme = S("https");
	proto_open_tls_defaults(&o);
	o.host = S("proxy.local");
	o.port = 443;
	o.tunnel_host = S("example.org");
	o.tunnel_port = 443;
	o.tunnel_tls = PROTO_TUNNEL_TLS_VERIFY;
	o.tunnel_ca_pem = S("-----BEGIN CERTIFICATE-----");
	o.proxy_name = S("not on the wire");
	ck_assert_int_eq(proto_enc_open(&w, &o), 0);
	p = frame_at(0, PROTO_OPEN, &n);
	ck_assert_int_eq(proto_dec_open(p, n, &d), 0);
	ck_assert_uint_eq(d.tunnel_tls, PROTO_TUNNEL_TLS_VERIFY);
	ck_assert(proto_str_eq(&d.tunnel_ca_pem,
	    "-----BEGIN CERTIFICATE-----"));
	ck_assert_uint_eq(d.proxy_name.len, 0);

	ck_assert_int_eq(open_with("\x01", 1, NULL, 1), 0);
	ck_assert_int_eq(open_with("\x02", 1, NULL, 1), 0);
	ck_assert_int_eq(open_with("\x01", 1, "pem", 1), 0);
	/* 0 is never sent; 3 is no mode; a u8 is one byte */
	ck_assert_int_eq(open_with("\x00", 1, NULL, 1), -1);
	ck_assert_int_eq(open_with("\x03", 1, NULL, 1), -1);
	ck_assert_int_eq(open_with("\x01\x01", 2, NULL, 1), -1);
	/* TLS to a proxy needs a tunnel; its CAs need TLS to it */
	ck_assert_int_eq(open_with("\x01", 1, NULL, 0), -1);
	ck_assert_int_eq(open_with(NULL, 0, "pem", 1), -1);
}
END_TEST

START_TEST(req_head_round_trip)
{
	static struct proto_req_head h, d;
	uint32_t n;
	const uint8_t *p;

	memset(&h, 0, sizeof(h));
	h.method = S("POST");
	h.url = S("/a?b=c");
	h.nheaders = 3;
	h.headers[0].name = S("Host");
	h.headers[0].value = S("x");
	h.headers[1].name = S("X-Dup");
	h.headers[1].value = S("1");
	h.headers[2].name = S("X-Dup");
	h.headers[2].value = S("");
	ck_assert_int_eq(proto_enc_req_head(&w, &h), 0);
	p = frame_at(0, PROTO_REQ_HEAD, &n);
	ck_assert_int_eq(proto_dec_req_head(p, n, &d), 0);
	ck_assert(proto_str_eq(&d.method, "POST"));
	ck_assert(proto_str_eq(&d.url, "/a?b=c"));
	ck_assert_uint_eq(d.nheaders, 3);
	ck_assert(proto_str_eq(&d.headers[2].name, "X-Dup"));
	ck_assert_uint_eq(d.headers[2].value.len, 0);

	/* every truncation of the payload fails cleanly */
	for (size_t cut = 0; cut < n; cut++)
		ck_assert_int_eq(proto_dec_req_head(p, cut, &d), -1);
}
END_TEST

START_TEST(req_head_too_many_headers)
{
	static struct proto_req_head d;
	uint32_t n;
	const uint8_t *p;
	int i;

	proto_begin(&w, PROTO_REQ_HEAD);
	proto_put_str(&w, "GET", 3);
	proto_put_str(&w, "/", 1);
	proto_put_u16(&w, PROTO_MAX_HEADERS + 1);
	for (i = 0; i < PROTO_MAX_HEADERS + 1; i++) {
		proto_put_str(&w, "a", 1);
		proto_put_str(&w, "b", 1);
	}
	ck_assert_int_eq(proto_end(&w), 0);
	p = frame_at(0, PROTO_REQ_HEAD, &n);
	ck_assert_int_eq(proto_dec_req_head(p, n, &d), -1);
}
END_TEST

START_TEST(resp_head_round_trip)
{
	static struct proto_resp_head h, d;
	uint32_t n;
	const uint8_t *p;

	memset(&h, 0, sizeof(h));
	h.version = 11;
	h.status = 404;
	h.flags = PROTO_RESP_WILL_CLOSE;
	h.length = -1;
	h.reason = S("Not Found");
	h.nheaders = 1;
	h.headers[0].name = S("Content-Type");
	h.headers[0].value = S("text/plain");
	ck_assert_int_eq(proto_enc_resp_head(&w, &h), 0);
	p = frame_at(0, PROTO_RESP_HEAD, &n);
	ck_assert_int_eq(proto_dec_resp_head(p, n, &d), 0);
	ck_assert_uint_eq(d.version, 11);
	ck_assert_uint_eq(d.status, 404);
	ck_assert_int_eq(d.length, -1);
	ck_assert_uint_eq(d.flags, PROTO_RESP_WILL_CLOSE);
	ck_assert(proto_str_eq(&d.reason, "Not Found"));
	ck_assert(proto_str_eq(&d.headers[0].value, "text/plain"));

	h.length = (int64_t)1 << 40;	/* > 4 GiB survives */
	proto_wbuf_reset(&w);
	ck_assert_int_eq(proto_enc_resp_head(&w, &h), 0);
	p = frame_at(0, PROTO_RESP_HEAD, &n);
	ck_assert_int_eq(proto_dec_resp_head(p, n, &d), 0);
	ck_assert_int_eq(d.length, (int64_t)1 << 40);
}
END_TEST

START_TEST(resp_head_bad_values)
{
	static struct proto_resp_head h, d;
	uint32_t n;
	const uint8_t *p;

	memset(&h, 0, sizeof(h));
	h.version = 12;		/* not 10 or 11 */
	h.status = 200;
	h.length = 0;
	h.reason = S("OK");
	ck_assert_int_eq(proto_enc_resp_head(&w, &h), 0);
	p = frame_at(0, PROTO_RESP_HEAD, &n);
	ck_assert_int_eq(proto_dec_resp_head(p, n, &d), -1);

	h.version = 11;
	h.status = 99;
	proto_wbuf_reset(&w);
	ck_assert_int_eq(proto_enc_resp_head(&w, &h), 0);
	p = frame_at(0, PROTO_RESP_HEAD, &n);
	ck_assert_int_eq(proto_dec_resp_head(p, n, &d), -1);

	h.status = 200;
	h.length = -2;
	proto_wbuf_reset(&w);
	ck_assert_int_eq(proto_enc_resp_head(&w, &h), 0);
	p = frame_at(0, PROTO_RESP_HEAD, &n);
	ck_assert_int_eq(proto_dec_resp_head(p, n, &d), -1);
}
END_TEST

START_TEST(error_round_trip)
{
	struct proto_error e, d;
	uint32_t n;
	const uint8_t *p;

	memset(&e, 0, sizeof(e));
	e.code = HPOOL_E_INCOMPLETE_READ;
	e.name = S("IncompleteRead");
	e.message = S("IncompleteRead(5 bytes read, 3 more expected)");
	e.partial = 5;
	e.expected = 3;
	e.sent = PROTO_SENT_MAYBE;
	/* version 1: no `sent` byte on the wire; it decodes as unknown */
	ck_assert_int_eq(proto_enc_error(&w, &e, 1), 0);
	p = frame_at(0, PROTO_ERROR, &n);
	ck_assert_int_eq(proto_dec_error(p, n, &d, 1), 0);
	ck_assert_uint_eq(d.code, HPOOL_E_INCOMPLETE_READ);
	ck_assert(proto_str_eq(&d.name, "IncompleteRead"));
	ck_assert_uint_eq(d.partial, 5);
	ck_assert_int_eq(d.expected, 3);
	ck_assert_uint_eq(d.line.len, 0);
	ck_assert_uint_eq(d.sent, PROTO_SENT_UNKNOWN);
	/* a version 1 frame is one byte short for version 2 */
	ck_assert_int_eq(proto_dec_error(p, n, &d, 2), -1);
	/* leftover byte */
	ck_assert_int_eq(proto_dec_error(p, n + 1, &d, 1), -1);
	/* version 2 carries it */
	proto_wbuf_reset(&w);
	ck_assert_int_eq(proto_enc_error(&w, &e, 2), 0);
	p = frame_at(0, PROTO_ERROR, &n);
	ck_assert_int_eq(proto_dec_error(p, n, &d, 2), 0);
	ck_assert_uint_eq(d.sent, PROTO_SENT_MAYBE);
	ck_assert_uint_eq(d.detail.len, 0);
	ck_assert_int_eq(proto_dec_error(p, n, &d, 1), -1);
	/* version 4 adds the detail; version 2 and 3 frames have none */
	e.detail = S("reading the response body from example.com:443");
	proto_wbuf_reset(&w);
	ck_assert_int_eq(proto_enc_error(&w, &e, 4), 0);
	p = frame_at(0, PROTO_ERROR, &n);
	ck_assert_int_eq(proto_dec_error(p, n, &d, 4), 0);
	ck_assert(proto_str_eq(&d.detail,
	    "reading the response body from example.com:443"));
	ck_assert_int_eq(proto_dec_error(p, n, &d, 3), -1);
	proto_wbuf_reset(&w);
	ck_assert_int_eq(proto_enc_error(&w, &e, 3), 0);
	p = frame_at(0, PROTO_ERROR, &n);
	ck_assert_int_eq(proto_dec_error(p, n, &d, 3), 0);
	ck_assert_uint_eq(d.detail.len, 0);
	ck_assert_int_eq(proto_dec_error(p, n, &d, 4), -1);
	e.detail = S("");
	/* an out-of-range `sent` is refused */
	e.sent = 3;
	proto_wbuf_reset(&w);
	ck_assert_int_eq(proto_enc_error(&w, &e, 2), 0);
	p = frame_at(0, PROTO_ERROR, &n);
	ck_assert_int_eq(proto_dec_error(p, n, &d, 2), -1);
	/* code 0 is not an error */
	e.sent = 0;
	e.code = 0;
	proto_wbuf_reset(&w);
	ck_assert_int_eq(proto_enc_error(&w, &e, 2), 0);
	p = frame_at(0, PROTO_ERROR, &n);
	ck_assert_int_eq(proto_dec_error(p, n, &d, 2), -1);
}
END_TEST

START_TEST(body_and_end)
{
	static uint8_t big[PROTO_MAX_BODY_CHUNK + 1];
	uint8_t flags;
	uint32_t n;
	const uint8_t *p;

	ck_assert_int_eq(proto_enc_body(&w, PROTO_RESP_BODY, "abc", 3), 0);
	ck_assert_int_eq(proto_enc_resp_end(&w, PROTO_END_POOLED), 0);
	ck_assert_int_eq(proto_enc_empty(&w, PROTO_REQ_END), 0);
	p = frame_at(0, PROTO_RESP_BODY, &n);
	ck_assert_uint_eq(n, 3);
	ck_assert_mem_eq(p, "abc", 3);
	p = frame_at(PROTO_FRAME_HDR + 3, PROTO_RESP_END, &n);
	ck_assert_int_eq(proto_dec_resp_end(p, n, &flags), 0);
	ck_assert_uint_eq(flags, PROTO_END_POOLED);
	p = frame_at(2 * PROTO_FRAME_HDR + 4, PROTO_REQ_END, &n);
	ck_assert_int_eq(proto_dec_empty(p, n), 0);
	ck_assert_int_eq(proto_dec_empty(p, 1), -1);
	/* a body chunk over the cap is refused, earlier frames intact */
	n = (uint32_t)w.len;
	ck_assert_int_eq(proto_enc_body(&w, PROTO_REQ_BODY, big, sizeof(big)),
	    -1);
	ck_assert_uint_eq(w.len, n);
}
END_TEST

START_TEST(frame_peek_limits)
{
	const uint8_t too_big[] = { 0x00, 0x80, 0x00, 0x01, 3 };
	const uint8_t partial[] = { 0, 0, 0, 4, 3, 'a', 'b' };
	uint8_t type;
	uint32_t n;

	ck_assert_int_eq(proto_frame_peek(too_big, sizeof(too_big), &type, &n),
	    -1);
	ck_assert_int_eq(proto_frame_peek(partial, 4, &type, &n), 0);
	ck_assert_int_eq(proto_frame_peek(partial, sizeof(partial), &type, &n),
	    0);
	ck_assert_uint_eq(n, 4);
	ck_assert_str_eq(proto_type_name(PROTO_RESP_HEAD), "RESP_HEAD");
	ck_assert_str_eq(proto_type_name(200), "UNKNOWN");
}
END_TEST

START_TEST(string_over_cap)
{
	char *big = calloc(1, PROTO_MAX_STR + 1);

	ck_assert_ptr_nonnull(big);
	ck_assert_int_eq(proto_enc_body(&w, PROTO_REQ_BODY, "x", 1), 0);
	proto_begin(&w, PROTO_ERROR);
	proto_put_str(&w, big, PROTO_MAX_STR + 1);
	ck_assert_int_eq(proto_end(&w), -1);
	ck_assert_uint_eq(w.len, PROTO_FRAME_HDR + 1);
	/* the writer is usable after an overflow */
	ck_assert_int_eq(proto_enc_empty(&w, PROTO_CLOSE), 0);
	free(big);
}
END_TEST

START_TEST(string_length_past_end)
{
	/* a string claiming 100 bytes in a 10-byte payload */
	const uint8_t p[] = { 0, 0, 0, 100, 'G', 'E', 'T', 0, 0, 0 };
	static struct proto_req_head d;

	ck_assert_int_eq(proto_dec_req_head(p, sizeof(p), &d), -1);
}
END_TEST

START_TEST(error_names_and_hierarchy)
{
	ck_assert_str_eq(hpool_error_name(HPOOL_E_INCOMPLETE_READ),
	    "IncompleteRead");
	ck_assert_str_eq(hpool_error_name(HPOOL_E_REMOTE_DISCONNECTED),
	    "RemoteDisconnected");
	ck_assert_str_eq(hpool_error_name(12345), "UnknownError");
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
	ck_assert(!hpool_error_is(HPOOL_E_CANNOT_SEND_REQUEST,
	    HPOOL_E_OS_ERROR));
	ck_assert(hpool_error_is(HPOOL_E_SSL_CERT_VERIFICATION,
	    HPOOL_E_VALUE_ERROR));
	ck_assert(hpool_error_is(HPOOL_E_TIMEOUT, HPOOL_E_OS_ERROR));
	ck_assert(!hpool_error_is(HPOOL_E_TIMEOUT,
	    HPOOL_E_CONNECTION_ERROR));
	ck_assert(!hpool_error_is(HPOOL_E_HTTP_EXCEPTION,
	    HPOOL_E_INCOMPLETE_READ));
	ck_assert_int_eq(hpool_error_from_name("BadStatusLine"),
	    HPOOL_E_BAD_STATUS_LINE);
	ck_assert_int_eq(hpool_error_from_name("NoSuchThing"), HPOOL_OK);
	ck_assert_int_eq(hpool_error_from_errno(111),
	    HPOOL_E_CONNECTION_REFUSED);
}
END_TEST

START_TEST(every_error_has_a_name)
{
	int code, named = 0;

	for (code = 1; code < HPOOL_E_MAX; code++) {
		const char *n = hpool_error_name(code);

		if (strcmp(n, "UnknownError") == 0)
			continue;
		named++;
		/* names round-trip, and every class descends from itself */
		ck_assert_int_eq(hpool_error_from_name(n), code);
		ck_assert(hpool_error_is(code, code));
		ck_assert_str_ne(hpool_strerror(code), "unknown error");
	}
	ck_assert_int_eq(named, 35);
}
END_TEST

static Suite *
proto_suite(void)
{
	Suite *s = suite_create("proto");
	TCase *tc = tcase_create("codec");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, hello_round_trip);
	tcase_add_test(tc, stats_frames);
	tcase_add_test(tc, hello_malformed);
	tcase_add_test(tc, open_round_trip);
	tcase_add_test(tc, open_malformed);
	tcase_add_test(tc, open_tunnel);
	tcase_add_test(tc, open_tunnel_tls);
	tcase_add_test(tc, req_head_round_trip);
	tcase_add_test(tc, req_head_too_many_headers);
	tcase_add_test(tc, resp_head_round_trip);
	tcase_add_test(tc, resp_head_bad_values);
	tcase_add_test(tc, error_round_trip);
	tcase_add_test(tc, body_and_end);
	tcase_add_test(tc, frame_peek_limits);
	tcase_add_test(tc, string_over_cap);
	tcase_add_test(tc, string_length_past_end);
	tcase_add_test(tc, error_names_and_hierarchy);
	tcase_add_test(tc, every_error_has_a_name);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(proto_suite());
}
