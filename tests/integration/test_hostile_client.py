#!/usr/bin/env python3
"""hpoold against hostile local clients, spoken to in raw bytes on its
Unix socket: bad input never crashes or wedges the daemon.

One real hpoold (io_timeout and connect_timeout 1 s, so every wait it is
allowed is short) in front of a real nginx. With a fixed random seed,
many connections send, class by class: truncated frames, oversized length
fields, unknown frame types, a valid HELLO then garbage, frames out of
order, random byte mutations of a valid HELLO+OPEN+REQ_HEAD+REQ_END, a
half-close mid-frame, and a client sending one byte every 50 ms. Then,
on a second hpoold (max_sessions 3, client_write_timeout 1 s), clients
that never read: one flooding refused requests (held, not buffered for
without bound), and three whose sessions end in a protocol error while
their answers cannot drain (each freed: none keeps a place).

After each class, three cases:
(a) every connection of the class got what PROTOCOL.md says: an ERROR
    (HpoolProtocolError) and a close, or a plain close after io_timeout
    for a frame that never completes, or a prompt close on EOF; never a
    frame that is not well formed, never silence past the timeout;
(b) hpoold's PID is still alive (and the same process);
(c) a fresh request with the hpool CLI through hpoold to nginx succeeds.
At the end: hpoold's descriptors are back to where they started (no
session or upstream connection leaked), it stops cleanly on SIGTERM and
its log holds no sanitizer report. Every socket has a timeout; the script
as a whole is bounded at 20 s."""

import concurrent.futures
import os
import random
import re
import socket
import struct
import threading
import time

import harness
from harness import Env
import protoclient as pc

SEED = 20240611
T = 1.0			# io_timeout and connect_timeout, seconds (config)
LOW, HIGH = 0.8, 2.5	# a timed-out close comes within [LOW*T, HIGH*T]
PROMPT = LOW * T	# an answer that needs no timer comes before this
LIMIT = HIGH * T + 1.0	# longest any client here waits for the daemon
QUIET = 0.5		# an answered session silent this long is done
WORKERS = 80		# connections of a class at once
SLOW_TICK = 0.05	# the slow client: one byte per 50 ms
MAX_PAYLOAD = 8 * 1024 * 1024	# PROTO_MAX_PAYLOAD
MAX_BODY = 64 * 1024	# PROTO_MAX_BODY_CHUNK
FILE = "small.bin"
harness.SCRIPT_DEADLINE = 20	# the whole script, setup included

# Daemon -> client frames, as one letter each, so that the order a
# connection saw can be matched against a pattern.
LETTER = {pc.HELLO_OK: "H", pc.OPEN_OK: "O", pc.RESP_HEAD: "h",
    pc.RESP_BODY: "b", pc.RESP_END: "e", pc.ERROR: "E"}
# Any answer in protocol order: HELLO_OK, OPEN_OK, then responses (each
# a head, body, end or an ERROR in place of any part), then perhaps the
# ERROR that ends the session.
ANY_ORDER = r"(H(O(h?b*[eE])*h?b*)?)?E?"


class Outcome:
	"""What one connection saw: frames, trailing bytes, how and when
	(seconds after its last byte was sent) it ended."""

	def __init__(self):
		self.frames = []
		self.partial = b""
		self.how = None		# "eof", an OSError's name, None: open
		self.took = None
		self.send_error = None
		self.bad = []		# frames that are not well formed

	def letters(self):
		return "".join(LETTER.get(t, "?") for t, _ in self.frames)

	def error(self):
		"""(name, message) of the last ERROR frame, or None."""
		for t, p in reversed(self.frames):
			if t == pc.ERROR:
				return parse_error(p, negotiated(self.frames))
		return None

	def closed(self):
		# A close with unread client bytes in hpoold's socket reaches
		# the client as ECONNRESET once it has read all that was sent.
		return self.how in ("eof", "ConnectionResetError")

	def __repr__(self):
		return "<%s how=%s took=%s err=%r partial=%r send=%s%s>" % (
		    self.letters() or "-", self.how, "%.3f" % self.took if
		    self.took is not None else None, self.error(),
		    self.partial[:16], self.send_error,
		    " bad=%r" % self.bad if self.bad else "")


def negotiated(frames):
	"""The protocol version HELLO_OK chose; 1 (whose ERROR layout the
	daemon uses before it) without one."""
	for t, p in frames:
		if t == pc.HELLO_OK and len(p) == 2:
			return struct.unpack(">H", p)[0]
	return 1


def parse_error(p, version=1):
	"""(name, message) of an ERROR payload; raises on a malformed one
	(protoclient.decode_error: version 2 adds a last byte, `sent`)."""
	e = pc.decode_error(p, version)
	if not e["name"] or e["code"] == 0 or (version >= 2 and
	    e["sent"] not in (0, 1, 2)):
		raise ValueError("malformed ERROR payload %r" % p[:64])
	return e["name"], e["message"]


def well_formed(t, p, version):
	"""None if a daemon frame's payload is as PROTOCOL.md lays it out
	for the negotiated version."""
	try:
		if t == pc.HELLO_OK:
			# the highest both speak: a mutated HELLO may offer more
			ok = len(p) == 2 and struct.unpack(">H", p)[0] in (1, 2, 3, 4)
		elif t == pc.OPEN_OK:
			ok = p == b""
		elif t == pc.RESP_HEAD:
			ok = len(p) >= 18 and p[0] in (10, 11)
		elif t == pc.RESP_BODY:
			ok = 0 < len(p) <= MAX_BODY
		elif t == pc.RESP_END:
			ok = len(p) == 1
		elif t == pc.ERROR:
			parse_error(p, version)
			ok = True
		elif t == 71 and version >= 4:
			# STATS_OK: a mutated frame can become a STATS
			ok = len(p) >= 4 and struct.unpack(">I", p[:4])[0] == \
			    len(p) - 4
		else:
			ok = False
	except (ValueError, struct.error):
		ok = False
	return None if ok else "type %d, %d bytes: %r" % (t, len(p), p[:32])


def answered(buf):
	"""True if buf is whole frames, the last a RESP_END or an ERROR."""
	frames, rest = pc.split_frames(buf)
	return not rest and bool(frames) and frames[-1][0] in (pc.RESP_END,
	    pc.ERROR)


def exchange(path, data, after="hold", tick=None, limit=LIMIT,
    quiet=None):
	"""Connect, send data (a byte every tick seconds if tick), then keep
	the socket open ("hold") or shut its write side ("shut"), and read
	until hpoold ends the connection or limit seconds pass; with quiet,
	also once what came ends in an answer (RESP_END or ERROR) and
	nothing more comes for quiet seconds (the session is idle)."""
	o = Outcome()
	s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
	s.settimeout(limit)
	buf = b""
	try:
		s.connect(path)
		try:
			if tick is None:
				s.sendall(data)
			else:
				for i in range(len(data)):
					s.sendall(data[i:i + 1])
					time.sleep(tick)
		except OSError as e:
			o.send_error = type(e).__name__
		if after == "shut":
			try:
				s.shutdown(socket.SHUT_WR)
			except OSError as e:
				o.send_error = o.send_error or type(e).__name__
		t0 = time.monotonic()
		while True:
			left = t0 + limit - time.monotonic()
			if left <= 0:
				break
			if quiet is not None and answered(buf):
				left = min(left, quiet)
			s.settimeout(left)
			try:
				b = s.recv(65536)
			except socket.timeout:
				break
			except OSError as e:
				o.how = type(e).__name__
				o.took = time.monotonic() - t0
				break
			if not b:
				o.how = "eof"
				o.took = time.monotonic() - t0
				break
			buf += b
	finally:
		s.close()
	o.frames, o.partial = pc.split_frames(buf)
	o.bad = [w for w in (well_formed(t, p, negotiated(o.frames))
	    for t, p in o.frames) if w]
	return o


def judge(o, order, end, error_name="HpoolProtocolError", error_text=None):
	"""None if o is what was wanted, else why not. order: a pattern the
	frame letters must match whole. end: "error" (an ERROR, then a close
	before any timer), "timeout" (a close at io_timeout, no ERROR),
	"prompt" (a close before any timer, no ERROR), "answered" (closed
	within the limit, or still open with every request answered)."""
	why = []
	if o.bad:
		why.append("malformed frames %r" % o.bad)
	if o.partial:
		why.append("%d bytes of a cut frame at the end" % len(o.partial))
	if not re.fullmatch(order, o.letters()):
		why.append("frames %r, want /%s/" % (o.letters(), order))
	err = o.error()
	if end == "error":
		if err is None:
			why.append("no ERROR frame")
		elif error_name is not None and err[0] != error_name:
			why.append("ERROR %r, want %s" % (err, error_name))
		elif error_text is not None and error_text not in err[1]:
			why.append("ERROR %r does not say %r" % (err, error_text))
		if not o.closed() or o.took > PROMPT:
			why.append("not closed within %.1f s after the ERROR" % PROMPT)
	elif end == "timeout":
		if err is not None:
			why.append("ERROR %r, want a plain close" % (err,))
		if not o.closed():
			why.append("still open %.1f s after (io_timeout %.1f s)" % (
			    LIMIT, T))
		elif not LOW * T <= o.took <= HIGH * T:
			why.append("closed after %.3f s, want %.1f..%.1f s" % (o.took,
			    LOW * T, HIGH * T))
	elif end == "prompt":
		if err is not None:
			why.append("ERROR %r, want a plain close" % (err,))
		if not o.closed() or o.took > PROMPT:
			why.append("not closed within %.1f s" % PROMPT)
	elif end == "answered":
		if not o.closed() and not o.letters().endswith(("e", "E")):
			why.append("silent for %.1f s with a request unanswered" %
			    LIMIT)
	if why:
		return "; ".join(why) + " (%r)" % o
	return None


class Hostile:
	"""The daemon under test, the valid frames the classes start from,
	and the three checks every class ends with."""

	def __init__(self, res):
		self.res = res
		self.rng = random.Random(SEED)
		self.env = Env(files={FILE: 3000}, daemon=False)
		conf = self.env.path("hpoold.conf")
		with open(conf, "w") as f:
			f.write("[hpoold]\nio_timeout = %d\nconnect_timeout = %d\n"
			    "idle_timeout = 1\nsession_idle_timeout = 5\n"
			    "client_write_timeout = 5\n" % (T, T))
		self.env.start_daemon(["--config", conf])
		res.after_case = self.env.revive
		self.pid = self.env.daemon.pid
		self.conns = conn_fds(self.pid)
		port = self.env.nginx_port
		self.hello = pc.hello()
		self.open = pc.open_("127.0.0.1", port)
		self.get = pc.req_head("GET", "/files/" + FILE,
		    [("Host", "127.0.0.1")])
		self.end = pc.frame(pc.REQ_END)
		# a request whose body stays due: 100 bytes announced
		self.post = pc.req_head("POST", "/sum", [("Host", "127.0.0.1"),
		    ("Content-Length", "100")]) + pc.frame(pc.REQ_BODY, b"x" * 10)
		self.valid = self.hello + self.open + self.get + self.end
		# where a session is, what it has been answered, what is next
		self.stages = [
		    ("before HELLO", b"", "", self.hello),
		    ("after HELLO", self.hello, "H", self.open),
		    ("after OPEN", self.hello + self.open, "HO", self.get),
		    ("mid request body", self.hello + self.open + self.post, "HO",
			pc.frame(pc.REQ_BODY, b"y" * 20)),
		]

	def run_all(self, cases):
		"""cases: [(label, data, after, pattern, end, kw)]; runs them at
		once; returns the failures."""
		def one(c):
			label, data, after, order, end, kw = c
			o = exchange(self.env.socket, data, after,
			    quiet=QUIET if end == "answered" else None)
			return label, judge(o, order, end, **kw)
		with concurrent.futures.ThreadPoolExecutor(WORKERS) as ex:
			out = list(ex.map(one, cases))
		return ["%s: %s" % (l, w) for l, w in out if w]

	def finish_class(self, name, n, failures):
		res = self.res
		res.run("%s: all %d connections answered as PROTOCOL.md says "
		    "(ERROR or close, never a hang)" % (name, n),
		    lambda: "%d of %d: %s" % (len(failures), n,
		    " | ".join(failures[:6])) if failures else None)
		res.run("%s: hpoold (pid %d) still alive" % (name, self.pid),
		    self.alive)
		res.run("%s: a fresh request through hpoold still succeeds" %
		    name, self.fresh_request)

	def alive(self):
		d = self.env.daemon
		if d is None or d.poll() is not None:
			return "hpoold exited with %s%s" % (None if d is None else
			    d.returncode, harness.tail(self.env.daemon_log, 8))
		if d.pid != self.pid:
			return "hpoold was restarted: pid %d, was %d" % (d.pid,
			    self.pid)
		os.kill(self.pid, 0)
		return None

	def fresh_request(self):
		cp = self.env.hpool([self.env.url("/files/" + FILE)], timeout=10)
		size, digest = self.env.files[FILE]
		if cp.returncode != 0 or len(cp.stdout) != size or \
		    harness.sha256(cp.stdout) != digest:
			return "hpool: %s" % harness.describe(cp)
		return None


def conn_fds(pid):
	"""Inodes of pid's Unix and TCP sockets (its sessions, its upstream
	connections and its listener; not the resolver's UDP socket)."""
	inodes = set()
	for name, col in (("unix", 6), ("tcp", 9), ("tcp6", 9)):
		try:
			with open("/proc/net/" + name) as f:
				next(f)
				inodes.update(l.split()[col] for l in f if
				    len(l.split()) > col)
		except OSError:
			pass
	mine = set()
	for fd in os.listdir("/proc/%d/fd" % pid):
		try:
			link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
		except OSError:
			continue
		m = re.fullmatch(r"socket:\[(\d+)\]", link)
		if m and m.group(1) in inodes:
			mine.add(m.group(1))
	return mine


# ---------------------------------------------------------------- classes

def truncated(h):
	"""The next frame cut short, the socket kept open: the rest is due
	within io_timeout, then a plain close (no ERROR)."""
	cases = [("nothing sent", b"", "hold", "", "timeout", {})]
	for stage, before, answered, nxt in h.stages:
		cuts = sorted({1, 3, 4, 5, 6, len(nxt) - 1,
		    h.rng.randrange(1, len(nxt))})
		for cut in cuts:
			cases.append(("%s, %d of %d bytes of the next frame" % (
			    stage, cut, len(nxt)), before + nxt[:cut], "hold",
			    answered, "timeout", {}))
	return cases


def oversized(h):
	"""A length field past PROTO_MAX_PAYLOAD: refused at once, from the
	header alone. Within the cap but past what a type takes: read whole,
	then refused."""
	cases = []
	for stage, before, answered, nxt in h.stages:
		for n in (MAX_PAYLOAD + 1, 0x7fffffff, 0x80000000, 0xffffffff,
		    h.rng.randrange(MAX_PAYLOAD + 2, 1 << 32)):
			for t in (nxt[4], h.rng.randrange(256)):
				cases.append(("%s, type %d, length %d" % (stage, t, n),
				    before + struct.pack(">IB", n, t) + b"junk",
				    "hold", answered + "E", "error",
				    {"error_text": "exceeds"}))
	cases.append(("REQ_BODY of 64 KiB + 1 in a request",
	    h.hello + h.open + h.post + pc.frame(pc.REQ_BODY,
	    b"z" * (MAX_BODY + 1)), "hold", "HOE", "error",
	    {"error_text": "exceeds"}))
	cases.append(("an 8 MiB frame of unknown type 99 before HELLO",
	    pc.frame(99, b"\xa5" * MAX_PAYLOAD), "hold", "E", "error",
	    {"error_text": "type 99"}))
	cases.append(("an 8 MiB HELLO", pc.frame(pc.HELLO,
	    b"\1" * MAX_PAYLOAD), "hold", "E", "error",
	    {"error_text": "HELLO"}))
	cases.append(("an 8 MiB REQ_HEAD after OPEN", h.hello + h.open +
	    pc.frame(pc.REQ_HEAD, b"\0" * MAX_PAYLOAD), "hold", "HOE",
	    "error", {"error_text": "REQ_HEAD"}))
	return cases


def unknown_types(h):
	"""A type no client sends (0, 7-63, the daemon's own 64-69, 70-255),
	in each state: ERROR naming the type, then a close."""
	types = [0, 7, 8, 63, 64, 65, 66, 67, 68, 69, 70, 127, 128, 255]
	types += h.rng.sample([t for t in range(256) if t not in types and
	    not 1 <= t <= 6], 30)
	cases = []
	for t in types:
		stage, before, answered, _ = h.stages[h.rng.randrange(3)]
		p = bytes(h.rng.randrange(256) for _ in
		    range(h.rng.randrange(0, 24)))
		cases.append(("%s, type %d, %d byte payload" % (stage, t, len(p)),
		    before + pc.frame(t, p), "hold", answered + "E", "error",
		    {"error_text": "(type %d," % t}))
	return cases


def expect_after_hello(g):
	"""(pattern, end, kw) for garbage g sent right after HELLO, from
	PROTOCOL.md: a header past the cap or a whole frame is refused (an
	OPEN that parses may be refused as a bad value instead); a frame
	that is not all there waits for io_timeout."""
	if len(g) < 5:
		return "H", "timeout", {}
	n, t = struct.unpack(">IB", g[:5])
	if n > MAX_PAYLOAD:
		return "HE", "error", {"error_text": "exceeds"}
	if len(g) < 5 + n:
		return "H", "timeout", {}
	if t == pc.CLOSE and n == 0:
		return "H", "prompt", {}
	return "HE", "error", {"error_name": None if t == pc.OPEN else
	    "HpoolProtocolError"}


def garbage(h):
	fixed = [b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", b"\0" * 32, b"\xff" * 9,
	    b"\0\0\0\0", b"\0\0\0\x04\x02\0\x01\0\x01", b"\0\0\x10\0\x02" + b"a" *
	    64, pc.hello()[:7] + b"\r\n"]
	rnd = [bytes(h.rng.randrange(256) for _ in range(h.rng.randrange(1, 200)))
	    for _ in range(30)]
	# small length fields, so that whole frames of random types and
	# payloads come too, not only lengths past the cap
	for _ in range(10):
		n = h.rng.randrange(0, 40)
		rnd.append(struct.pack(">IB", n, h.rng.randrange(256)) +
		    bytes(h.rng.randrange(256) for _ in range(n +
		    h.rng.randrange(0, 8))))
	cases = []
	for i, g in enumerate(fixed + rnd):
		order, end, kw = expect_after_hello(g)
		cases.append(("garbage %d (%d bytes, %r...)" % (i, len(g), g[:8]),
		    h.hello + g, "hold", order, end, kw))
	return cases


def wrong_order(h):
	hello, open_, get, end = h.hello, h.open, h.get, h.end
	resp = "hb*e"
	c = [
	    ("REQ_HEAD before HELLO", get + end, "E"),
	    ("OPEN before HELLO", open_, "E"),
	    ("REQ_END before HELLO", end, "E"),
	    ("REQ_HEAD before OPEN", hello + get + end, "HE"),
	    ("REQ_BODY before OPEN", hello + pc.frame(pc.REQ_BODY, b"x"), "HE"),
	    ("double HELLO", hello + hello, "HE"),
	    ("HELLO after OPEN", hello + open_ + hello, "HOE"),
	    ("double OPEN", hello + open_ + open_, "HOE"),
	    ("REQ_BODY before REQ_HEAD", hello + open_ +
		pc.frame(pc.REQ_BODY, b"abc"), "HOE"),
	    ("REQ_END before REQ_HEAD", hello + open_ + end, "HOE"),
	    ("body after end", hello + open_ + get + end +
		pc.frame(pc.REQ_BODY, b"late"), "HO" + resp + "E"),
	    ("REQ_END twice", hello + open_ + get + end + end,
		"HO" + resp + "E"),
	    ("HELLO after a request", hello + open_ + get + end + hello,
		"HO" + resp + "E"),
	    ("REQ_HEAD while the body is due", hello + open_ + h.post + get,
		"HOE"),
	    ("OPEN while the body is due", hello + open_ + h.post + open_,
		"HOE"),
	    ("CLOSE with a payload", hello + open_ + pc.frame(pc.CLOSE, b"x"),
		"HOE"),
	]
	cases = [(l, d, "hold", o, "error", {}) for l, d, o in c]
	# CLOSE is taken in any state: the session just ends
	cases.append(("CLOSE before HELLO", pc.frame(pc.CLOSE), "hold", "",
	    "prompt", {}))
	cases.append(("CLOSE mid request body", hello + open_ + h.post +
	    pc.frame(pc.CLOSE), "hold", "HO", "prompt", {}))
	return cases


def mutations(h, n=160):
	"""1 to 4 random bytes of a valid session changed. Anything may
	follow (a response, an ERROR, a close at io_timeout or
	connect_timeout), but in protocol order, and never silence with a
	request unanswered."""
	cases = []
	for i in range(n):
		d = bytearray(h.valid)
		where = []
		for _ in range(h.rng.randrange(1, 5)):
			pos = h.rng.randrange(len(d))
			d[pos] = (d[pos] + h.rng.randrange(1, 256)) & 0xff
			where.append("%d=%02x" % (pos, d[pos]))
		cases.append(("mutation %d [%s]" % (i, " ".join(where)), bytes(d),
		    "hold", ANY_ORDER, "answered", {}))
	return cases


def half_closes(h):
	"""Part of a frame, then shutdown(SHUT_WR): hpoold sees the EOF and
	closes at once, without waiting for io_timeout."""
	bounds = []
	off = 0
	for f in (h.hello, h.open, h.get, h.end):
		bounds.append((off, off + len(f)))
		off += len(f)
	cuts = set()
	for a, b in bounds:
		cuts.update({a + 1, a + 4, a + 5, b - 1})
	while len(cuts) < 40:
		cuts.add(h.rng.randrange(1, len(h.valid)))
	inside = [c for c in sorted(cuts) if not any(c == b for _, b in bounds)]
	# The frames before the cut may be answered, even a request run if
	# hpoold read it before the EOF came; never an ERROR.
	return [("cut after %d of %d bytes" % (c, len(h.valid)), h.valid[:c],
	    "shut", r"(H(O(hb*e?)?)?)?", "prompt", {}) for c in inside]


# ---------------------------------------------------------------- stuck

REFUSED = pc.req_head("G T", "/", []) + pc.frame(pc.REQ_END)	# ValueError
FLOOD = 4 << 20		# bytes of refused requests a never-reader tries


def read_rest(sock):
	"""All the bytes left in sock once its peer is gone."""
	sock.settimeout(2)
	buf = b""
	try:
		while True:
			b = sock.recv(65536)
			if not b:
				break
			buf += b
	except OSError:
		pass
	return buf


def stuck_readers(h):
	"""Clients that never read, on their own hpoold (max_sessions 3,
	client_write_timeout 1 s).

	A client that floods refused requests (each answered with an ERROR
	made by hpoold itself) is held once 256 KiB of answers wait for it,
	not read without bound, and closed at client_write_timeout. What
	it finds in its socket then is what hpoold's writes fit there.

	Three clients then send, without reading, just enough refused
	requests to fill their sockets and leave answers waiting, then an
	unknown frame: the protocol error ends each session while its
	output cannot drain, and client_write_timeout ends the wait. Each
	such session must be freed: three left behind would hold every
	place of max_sessions and hpoold would refuse everyone."""
	res = h.res
	env = Env(nginx=False, daemon=False)
	conf = env.path("hpoold.conf")
	with open(conf, "w") as f:
		f.write("[hpoold]\nmax_sessions = 3\nclient_write_timeout = 1\n"
		    "io_timeout = 1\nidle_timeout = 1\n")
	env.start_daemon(["--config", conf])
	pid = env.daemon.pid
	start = h.hello + h.open
	fill = {}

	def flood(request, answer, what):
		s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
		s.settimeout(0.5)
		s.connect(env.socket)
		data = start + request * ((FLOOD - len(start)) // len(request))
		t0 = time.monotonic()
		sent = 0
		try:
			while sent < len(data):
				sent += s.send(data[sent:sent + 65536])
		except OSError:
			pass	# hpoold stopped reading (or closed)
		gone = harness.peer_hangup_at(s, t0, 5)
		got = read_rest(s)
		s.close()
		frames, _ = pc.split_frames(got)
		if request == REFUSED:
			fill["bytes"] = len(got)
			fill["error"] = len(frames[2][1]) + 5 if len(frames) > 2 and \
			    frames[2][0] == pc.ERROR else None
		print("# %s: hpoold took %d of %d bytes, hung up after %s s; "
		    "%d bytes of its answers fitted the socket" % (what, sent,
		    len(data), None if gone is None else "%.2f" % gone,
		    len(got)))
		why = []
		if sent >= 1.5 * (1 << 20):
			why.append("hpoold read %d of %d bytes of %s whose answers "
			    "the client never read" % (sent, len(data), what))
		if gone is None or gone > HIGH * T + 1:
			why.append("hung up on after %s s" % gone)
		letters = "".join(LETTER.get(t, "?") for t, _ in frames)
		if not re.fullmatch(answer, letters):
			why.append("frames %r, want /%s/" % (letters[:40], answer))
		return "; ".join(why) or None
	head = pc.req_head("HEAD", "/files/" + FILE, [("Host", "127.0.0.1")]) + \
	    h.end
	with concurrent.futures.ThreadPoolExecutor(2) as ex:
		refused = ex.submit(flood, REFUSED, "HOE+", "refused requests")
		heads = ex.submit(flood, head, r"HO(he)*h?", "HEAD requests")
		r_refused, r_heads = refused.result(), heads.result()
	res.run("stuck readers: a client pipelining refused requests without "
	    "reading is held at 256 KiB of answers, then closed at "
	    "client_write_timeout", lambda: r_refused)
	res.run("stuck readers: a client pipelining HEAD requests to nginx "
	    "without reading is held the same way", lambda: r_heads)

	def leaker():
		s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
		s.settimeout(LIMIT)
		s.connect(env.socket)
		# 32 KiB of answers more than the flood's socket took: they
		# wait in hpoold, under its 256 KiB hold (so it goes on to the
		# unknown frame) and under SESS_OUT_LOW (so a hold, if one
		# came before the socket filled, is let go)
		n = (fill["bytes"] + (32 << 10)) // fill["error"]
		t0 = time.monotonic()
		s.sendall(start + REFUSED * n + pc.frame(99, b"junk"))
		gone = harness.peer_hangup_at(s, t0, HIGH * T + 1)
		got = read_rest(s)
		s.close()
		frames, _ = pc.split_frames(got)
		if gone is None or not LOW * T <= gone <= HIGH * T:
			return "hung up on after %s s, want %.1f..%.1f" % (gone,
			    LOW * T, HIGH * T)
		if not frames or frames[0][0] != pc.HELLO_OK:
			return "frames %r" % [t for t, _ in frames][:8]
		return None
	if fill.get("error"):
		with concurrent.futures.ThreadPoolExecutor(3) as ex:
			out = list(ex.map(lambda _: leaker(), range(3)))
		failures = [w for w in out if w]
	else:
		failures = ["the flood of refused requests did not show how "
		    "much of hpoold's output a socket takes"]
	with open(env.daemon_log, "rb") as f:
		closing = f.read().count(b"client timed out in CLOSING")
	if closing != 3:
		failures.append("hpoold logged %d 'client timed out in CLOSING', "
		    "want 3: the sessions did not end as the case means" %
		    closing)
	name = "stuck readers"
	res.run("%s: 3 sessions ended by a protocol error while their output "
	    "could not drain are closed at client_write_timeout" % name,
	    lambda: " | ".join(failures) or None)

	def alive():
		if env.daemon is None or env.daemon.poll() is not None or \
		    env.daemon.pid != pid:
			return "hpoold (pid %d) died%s" % (pid,
			    harness.tail(env.daemon_log, 8))
		return None
	res.run("%s: hpoold (pid %d) still alive" % (name, pid), alive)

	def fresh():
		# max_sessions is 3: had the three kept their places, every
		# one of these would be refused
		digest = h.env.files[FILE][1]
		for i in range(4):
			cp = env.hpool([h.env.url("/files/" + FILE)], timeout=10)
			if cp.returncode != 0 or harness.sha256(cp.stdout) != digest:
				return "request %d of 4: %s" % (i + 1,
				    harness.describe(cp))
		return None
	res.run("%s: fresh requests through hpoold still succeed, more of "
	    "them than max_sessions (no session was left behind)" % name,
	    fresh)
	env.final_checks(res)
	res.after_case = h.env.revive


def body(res):
	t_start = time.monotonic()
	h = Hostile(res)
	res.run("hpoold and nginx up; a request through hpoold succeeds",
	    h.fresh_request)

	# The slow client runs beside every other class.
	slow_out = {}

	def slow():
		slow_out["o"] = exchange(h.env.socket, h.valid, tick=SLOW_TICK,
		    quiet=QUIET)
	slow_thread = threading.Thread(target=slow, daemon=True)
	slow_thread.start()

	for name, make in (("truncated frames", truncated),
	    ("oversized length fields", oversized),
	    ("unknown frame types", unknown_types),
	    ("valid HELLO then garbage", garbage),
	    ("frames in the wrong order", wrong_order),
	    ("random byte mutations of a valid session", mutations),
	    ("half-close mid-frame", half_closes)):
		cases = make(h)
		h.finish_class(name, len(cases), h.run_all(cases))
	stuck_readers(h)

	def slow_result():
		slow_thread.join(len(h.valid) * SLOW_TICK * 3 + LIMIT)
		o = slow_out.get("o")
		if o is None:
			return "the slow client did not finish"
		why = judge(o, "HOhb+e", "answered")
		if why:
			return why
		size, digest = h.env.files[FILE]
		got = b"".join(p for t, p in o.frames if t == pc.RESP_BODY)
		status = struct.unpack(">H", o.frames[2][1][2:4])[0]
		if status != 200 or len(got) != size or \
		    harness.sha256(got) != digest:
			return "status %d, %d body bytes (want 200, %d)" % (status,
			    len(got), size)
		return None
	name = "slow client (%d bytes, one per %d ms)" % (len(h.valid),
	    SLOW_TICK * 1000)
	res.run("%s: the whole response, correct" % name, slow_result)
	res.run("%s: hpoold (pid %d) still alive" % (name, h.pid), h.alive)
	res.run("%s: a fresh request through hpoold still succeeds" % name,
	    h.fresh_request)

	def no_leak():
		# idle_timeout 1 s: pooled upstream connections go too
		deadline = time.monotonic() + HIGH * T + 1
		while True:
			now = conn_fds(h.pid)
			if now <= h.conns:
				return None
			if time.monotonic() > deadline:
				return "hpoold holds %d sockets, %d at start (new: %s)" % (
				    len(now), len(h.conns), sorted(now - h.conns))
			time.sleep(0.05)
	res.run("after every hostile connection hpoold holds no socket it "
	    "did not hold at start (no session or connection leaked)",
	    no_leak)
	h.env.final_checks(res)
	print("# took %.1f s" % (time.monotonic() - t_start))


harness.main(body)
