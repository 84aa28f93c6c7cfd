"""A minimal client of the hpool wire protocol (proto/PROTOCOL.md) for
tests that must send what libhpool never would: malformed frames, odd
orders, pipelined requests, disconnects at chosen moments."""

import socket
import struct

HELLO, OPEN, REQ_HEAD, REQ_BODY, REQ_END, CLOSE = 1, 2, 3, 4, 5, 6
HELLO_OK, OPEN_OK, RESP_HEAD, RESP_BODY, RESP_END, ERROR = 64, 65, 66, 67, 68, 69


def frame(t, payload=b""):
	return struct.pack(">IB", len(payload), t) + payload


def pstr(b):
	if isinstance(b, str):
		b = b.encode("latin-1")
	return struct.pack(">I", len(b)) + b


def tlv(key, value):
	return struct.pack(">H", key) + pstr(value)


def hello(lo=1, hi=1):
	return frame(HELLO, struct.pack(">HH", lo, hi))


# OPEN keys for TLS (proto.h)
TLS_VERIFY, TLS_CHECK_HOSTNAME, TLS_CA_SYSTEM, TLS_CA_PEM = 7, 8, 9, 10
TLS_CERT_PEM, TLS_KEY_PEM, TLS_KEY_PASSWORD = 11, 12, 13
TLS_MIN_VERSION, TLS_MAX_VERSION, TLS_ALPN, TLS_SNI = 14, 15, 16, 17


def open_(host, port, scheme="http", timeout_ms=None, tls=()):
	"""tls: (key, value bytes) pairs appended as they are."""
	p = tlv(1, scheme) + tlv(2, host) + tlv(3, struct.pack(">H", port))
	if timeout_ms is not None:
		p += tlv(4, struct.pack(">I", timeout_ms))
	for k, v in tls:
		p += tlv(k, v)
	return frame(OPEN, p)


def req_head(method, url, headers):
	p = pstr(method) + pstr(url) + struct.pack(">H", len(headers))
	for k, v in headers:
		p += pstr(k) + pstr(v)
	return frame(REQ_HEAD, p)


def split_frames(data):
	"""Raw daemon output as [(type, payload)], and the bytes of a
	trailing partial frame."""
	out = []
	while len(data) >= 5:
		n, t = struct.unpack(">IB", data[:5])
		if len(data) < 5 + n:
			break
		out.append((t, data[5:5 + n]))
		data = data[5 + n:]
	return out, data


class Session:
	def __init__(self, path, timeout=10):
		self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
		self.s.settimeout(timeout)
		self.s.connect(path)
		self.buf = b""

	def send(self, data):
		self.s.sendall(data)

	def start(self, host, port, **kw):
		self.send(hello() + open_(host, port, **kw))
		t, p = self.frame()
		assert t == HELLO_OK, (t, p)
		t, p = self.frame()
		assert t == OPEN_OK, (t, p)

	def frame(self):
		"""Next (type, payload), or None at EOF."""
		while True:
			if len(self.buf) >= 5:
				n, t = struct.unpack(">IB", self.buf[:5])
				if len(self.buf) >= 5 + n:
					p = self.buf[5:5 + n]
					self.buf = self.buf[5 + n:]
					return t, p
			d = self.s.recv(1 << 16)
			if not d:
				return None
			self.buf += d

	def response(self):
		"""Frames of one response: dict with status, headers, body,
		error (name, message) and end flags."""
		r = {"status": None, "headers": [], "body": b"", "error": None,
		    "flags": None}
		while True:
			f = self.frame()
			if f is None:
				r["eof"] = True
				return r
			t, p = f
			if t == RESP_HEAD:
				ver, flags, status, length = struct.unpack(">BBHq", p[:12])
				r["status"] = status
				r["version"] = ver
				off = 12
				n = struct.unpack(">I", p[off:off + 4])[0]
				r["reason"] = p[off + 4:off + 4 + n]
				off += 4 + n
				cnt = struct.unpack(">H", p[off:off + 2])[0]
				off += 2
				for _ in range(cnt):
					pair = []
					for _ in range(2):
						n = struct.unpack(">I", p[off:off + 4])[0]
						pair.append(p[off + 4:off + 4 + n])
						off += 4 + n
					r["headers"].append(tuple(pair))
			elif t == RESP_BODY:
				r["body"] += p
			elif t == RESP_END:
				r["flags"] = p[0]
				return r
			elif t == ERROR:
				code = struct.unpack(">H", p[:2])[0]
				n = struct.unpack(">I", p[2:6])[0]
				name = p[6:6 + n].decode()
				off = 6 + n
				n = struct.unpack(">I", p[off:off + 4])[0]
				msg = p[off + 4:off + 4 + n].decode("utf-8", "replace")
				r["error"] = (name, msg)
				r["code"] = code
				return r
			else:
				raise AssertionError("unexpected frame type %d" % t)

	def close(self):
		self.s.close()
