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


# ---------------------------------------------------------------- additions
# (test_isolation.py) OPEN with a source address, protocol version 2's
# ERROR (a trailing u8 `sent`), and decoding frames read elsewhere (e.g.
# by a child process running as another user).

SOURCE_HOST, SOURCE_PORT = 5, 6
# ERROR's `sent` (version 2): did the failed request reach the server?
SENT_UNKNOWN, SENT_NO, SENT_MAYBE = 0, 1, 2


def open_src(host, port, source_host=None, source_port=None, scheme="http",
    timeout_ms=None, extra=()):
	"""OPEN with SOURCE_HOST (key 5, string) and SOURCE_PORT (key 6, u16
	big-endian in a 2-byte string), keys in numeric order; extra: (key,
	value bytes) pairs appended as they are."""
	p = tlv(1, scheme) + tlv(2, host) + tlv(3, struct.pack(">H", port))
	if timeout_ms is not None:
		p += tlv(4, struct.pack(">I", timeout_ms))
	if source_host is not None:
		p += tlv(SOURCE_HOST, source_host)
	if source_port is not None:
		p += tlv(SOURCE_PORT, struct.pack(">H", source_port))
	for k, v in extra:
		p += tlv(k, v)
	return frame(OPEN, p)


def decode_error(p, version=1):
	"""An ERROR payload as a dict: code, name, message, partial, expected,
	line, sent (the u8 after `line`, version 2 and up; None when the
	payload ends after `line`) and detail (the string after it, version 4
	and up; None before). Raises ValueError if the payload is not
	laid out as `version` says (a short field, bytes left over)."""
	try:
		code, n = struct.unpack(">HI", p[:6])
		name = p[6:6 + n]
		off = 6 + n
		m = struct.unpack(">I", p[off:off + 4])[0]
		msg = p[off + 4:off + 4 + m]
		off += 4 + m
		partial, expected, k = struct.unpack(">QqI", p[off:off + 20])
		line = p[off + 20:off + 20 + k]
		off += 20 + k
	except struct.error as e:
		raise ValueError("short ERROR payload %r: %s" % (p[:64], e))
	if len(name) != n or len(msg) != m or len(line) != k:
		raise ValueError("short ERROR payload %r" % p[:64])
	sent = None
	detail = None
	if version >= 4:
		try:
			sent = p[off]
			d = struct.unpack(">I", p[off + 1:off + 5])[0]
			detail = p[off + 5:off + 5 + d]
			off += 5 + d
		except (IndexError, struct.error) as e:
			raise ValueError("short ERROR payload %r: %s" % (p[:64],
			    e))
		if len(detail) != d:
			raise ValueError("short ERROR detail %r" % p[:64])
		detail = detail.decode("utf-8", "replace")
	elif version >= 2 and off == len(p) - 1:
		sent = p[off]
		off += 1
	if off != len(p):
		raise ValueError("ERROR payload (version %d) has %d bytes left "
		    "over: %r" % (version, len(p) - off, p[off:off + 16]))
	return {"code": code, "name": name.decode("latin-1"),
	    "message": msg.decode("utf-8", "replace"), "partial": partial,
	    "expected": expected, "line": line, "sent": sent,
	    "detail": detail}


def decode_resp_head(p):
	"""A RESP_HEAD payload as a dict: version, flags, status, length,
	reason, headers [(name, value) bytes]."""
	ver, flags, status, length = struct.unpack(">BBHq", p[:12])
	off = 12
	n = struct.unpack(">I", p[off:off + 4])[0]
	reason = p[off + 4:off + 4 + n]
	off += 4 + n
	cnt = struct.unpack(">H", p[off:off + 2])[0]
	off += 2
	headers = []
	for _ in range(cnt):
		pair = []
		for _ in range(2):
			n = struct.unpack(">I", p[off:off + 4])[0]
			pair.append(p[off + 4:off + 4 + n])
			off += 4 + n
		headers.append(tuple(pair))
	return {"version": ver, "flags": flags, "status": status,
	    "length": length, "reason": reason, "headers": headers}


def responses_from_frames(frames, version=1):
	"""Daemon frames [(type, payload)] as what they answered: the
	HELLO_OK version (or None), whether OPEN_OK came, and a list of
	responses (dicts as Session.response() gives, the ERROR decoded by
	decode_error into "err"), a response being RESP_HEAD? RESP_BODY*
	then RESP_END or ERROR (an ERROR before any response is one too)."""
	out = {"hello": None, "open_ok": False, "responses": []}
	cur = None
	for t, p in frames:
		if t == HELLO_OK:
			out["hello"] = struct.unpack(">H", p)[0] if len(p) == 2 \
			    else p
			continue
		if t == OPEN_OK:
			out["open_ok"] = True
			continue
		if cur is None:
			cur = {"status": None, "headers": [], "body": b"",
			    "error": None, "err": None, "flags": None}
		if t == RESP_HEAD:
			h = decode_resp_head(p)
			cur.update(status=h["status"], headers=h["headers"],
			    version=h["version"], reason=h["reason"],
			    head_flags=h["flags"])
		elif t == RESP_BODY:
			cur["body"] += p
		elif t == RESP_END:
			cur["flags"] = p[0] if p else None
			out["responses"].append(cur)
			cur = None
		elif t == ERROR:
			e = decode_error(p, version)
			cur["err"] = e
			cur["error"] = (e["name"], e["message"])
			cur["code"] = e["code"]
			out["responses"].append(cur)
			cur = None
		else:
			raise AssertionError("unexpected frame type %d" % t)
	if cur is not None:
		cur["cut"] = True
		out["responses"].append(cur)
	return out


class Session2(Session):
	"""A session that offers protocol versions lo..hi (HELLO(1, 2) by
	default) and decodes ERROR frames by the version HELLO_OK chose
	(self.version). Session itself is unchanged (version 1)."""

	def __init__(self, path, timeout=10, lo=1, hi=2):
		Session.__init__(self, path, timeout)
		self.lo, self.hi = lo, hi
		self.version = None

	def handshake(self, open_frame):
		"""HELLO(lo, hi) + open_frame; returns (HELLO_OK version or
		None, the ERROR dict or None). Raises if the frames are not
		HELLO_OK then OPEN_OK or an ERROR."""
		self.send(hello(self.lo, self.hi) + open_frame)
		f = self.frame()
		if f is None:
			raise AssertionError("EOF before HELLO_OK")
		t, p = f
		if t == ERROR:
			return None, decode_error(p, 1)
		if t != HELLO_OK or len(p) != 2:
			raise AssertionError("want HELLO_OK, got %r" % (f,))
		self.version = struct.unpack(">H", p)[0]
		f = self.frame()
		if f is None:
			raise AssertionError("EOF before OPEN_OK")
		t, p = f
		if t == ERROR:
			return self.version, decode_error(p, self.version)
		if t != OPEN_OK:
			raise AssertionError("want OPEN_OK, got %r" % (f,))
		return self.version, None

