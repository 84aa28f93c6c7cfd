"""Seed inputs for tests/fuzz_proto.c (make fuzz): one well-formed payload
per target (first byte: the target, as fuzz_proto.c numbers them), written
into the corpus directory given. Built with protoclient.py, the tests' own
encoder, so the seeds do not come from the code under test."""

import os
import struct
import sys

sys.dont_write_bytecode = True		# no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
    "integration"))
import protoclient as pc  # noqa: E402

# fuzz_proto.c's enum target
(T_HELLO, T_HELLO_OK, T_OPEN, T_REQ_HEAD, T_RESP_HEAD, T_ERROR, T_RESP_END,
    T_EMPTY, T_BODY, T_FRAMES) = range(10)


def payload(frame):
	return frame[5:]


def hlist(headers):
	return struct.pack(">H", len(headers)) + b"".join(pc.pstr(k) + pc.pstr(v)
	    for k, v in headers)


def seeds():
	hello = pc.hello(1, 3)
	plain = pc.open_("example.org", 8080, timeout_ms=2500)
	tls = pc.open_("example.org", 443, scheme="https", tls=[
	    (pc.TLS_VERIFY, b"\x01"), (pc.TLS_CHECK_HOSTNAME, b"\x00"),
	    (pc.TLS_CA_SYSTEM, b"\x01"), (pc.TLS_CA_PEM, b"-----BEGIN"),
	    (pc.TLS_CERT_PEM, b"cert"), (pc.TLS_KEY_PEM, b"key"),
	    (pc.TLS_KEY_PASSWORD, b"pw"), (pc.TLS_MIN_VERSION, b"\x03\x03"),
	    (pc.TLS_MAX_VERSION, b"\x03\x04"), (pc.TLS_ALPN, b"\x08http/1.1"),
	    (pc.TLS_SNI, b"sni.example")])
	tunnel = pc.frame(pc.OPEN, payload(pc.open_("proxy", 3128)) +
	    pc.tlv(5, "127.0.0.1") + pc.tlv(6, b"\x10\x00") +
	    pc.tlv(18, "target.example") + pc.tlv(19, b"\x01\xbb") +
	    pc.tlv(20, hlist([("Proxy-Authorization", "Basic eDp5")])))
	req = pc.req_head("POST", "/up?a=1", [("Host", "t"),
	    ("Content-Length", "3"), ("X-Empty", "")])
	resp = pc.frame(pc.RESP_HEAD, struct.pack(">BBHq", 11, 3, 200, -1) +
	    pc.pstr("OK") + hlist([("Content-Type", "text/plain")]))
	err = pc.frame(pc.ERROR, struct.pack(">H", 7) + pc.pstr("IncompleteRead")
	    + pc.pstr("IncompleteRead(3 bytes read, 5 more expected)") +
	    struct.pack(">Qq", 3, 5) + pc.pstr("line"))
	out = {
	    "hello": bytes([T_HELLO]) + payload(hello),
	    "hello_ok": bytes([T_HELLO_OK, 0, 1]),
	    "open_http": bytes([T_OPEN]) + payload(plain),
	    "open_https": bytes([T_OPEN]) + payload(tls),
	    "open_tunnel": bytes([T_OPEN]) + payload(tunnel),
	    "req_head": bytes([T_REQ_HEAD]) + payload(req),
	    "resp_head": bytes([T_RESP_HEAD]) + payload(resp),
	    "error": bytes([T_ERROR]) + payload(err),
	    "resp_end": bytes([T_RESP_END, 3]),
	    "empty": bytes([T_EMPTY]),
	    "body": bytes([T_BODY]) + b"hello",
	    "session": bytes([T_FRAMES]) + hello + tls + req +
		pc.frame(pc.REQ_BODY, b"abc") + pc.frame(pc.REQ_END) +
		pc.frame(pc.CLOSE),
	    "responses": bytes([T_FRAMES]) + pc.frame(pc.HELLO_OK, b"\0\1") +
		pc.frame(pc.OPEN_OK) + resp + pc.frame(pc.RESP_BODY, b"x") +
		pc.frame(pc.RESP_END, b"\2") + err,
	}
	return out


def main():
	d = sys.argv[1]
	os.makedirs(d, exist_ok=True)
	for name, data in seeds().items():
		with open(os.path.join(d, "seed-" + name), "wb") as f:
			f.write(data)


main()
