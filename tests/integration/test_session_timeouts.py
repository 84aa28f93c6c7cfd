#!/usr/bin/env python3
"""hpoold's client-side (session) timeouts, spoken to in raw protocol
frames (protoclient.py). Each group runs on its own hpoold whose timeout
under test is 1 s (the smallest the config allows: whole seconds) and the
others 10 s, so a close at ~1 s can only come from the one under test:

- session_idle_timeout: an idle session is closed after it, not before;
  requests every 0.4 s keep a session open well past it; a request in
  progress (a slow upstream) is not cut by it.
- client_write_timeout: a client that never reads a large response is
  closed after it and its upstream connection dropped; a slow but steady
  reader is not; hpoold serves a new session afterwards.
- io_timeout: a frame that is due (nothing sent yet, HELLO then 3 bytes of
  a header, a request body that stopped coming, 3 bytes of a header
  between requests) closes the session after it (OPEN's TIMEOUT_MS where
  given); a request body that keeps coming, a piece every 0.4 s for
  2.4 s, is not cut.

A timed-out session is closed plainly: no ERROR frame, the client reads
what was queued before, then EOF; hpoold logs "client timed out in
<state>". Every close time is checked against both bounds: at least
LOW x the timeout (so a timer firing at once fails), at most HIGH x (so
one that never fires fails)."""

import re
import select
import socket
import struct
import threading
import time

import harness
from harness import Env, ScriptedServer, read_head
import protoclient as pc

T = 1.0			# the timeout under test, seconds (config: "1")
OTHER = 10		# the other timeouts, seconds
LOW, HIGH = 0.8, 2.5	# a close must come within [LOW*t, HIGH*t] of t0
TICK = 0.4		# the busy session's request interval (< T)
BUSY_FOR = 2.4 * T	# ...kept up for longer than 2x the timeout
SLOW_UPSTREAM = 1.6 * T	# a response slower than session_idle_timeout
BIG = 64 << 20		# a response the never-reading client cannot take
STEADY = 16 << 20	# the slow-but-steady reader's response
STEADY_TICK = 0.3	# it reads what is there every 0.3 s...
STEADY_FOR = 2.4 * T	# ...for this long, then all the rest
UPLOAD_TICK = 0.4	# a request body sent a piece every 0.4 s...
UPLOAD_FOR = 2.4 * T	# ...for this long
THREAD_LIMIT = 20	# seconds: longest wait for a session's thread
OK_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def start_daemon(**settings):
	env = Env(nginx=False, daemon=False)
	conf = env.path("hpoold.conf")
	with open(conf, "w") as f:
		f.write("[hpoold]\n")
		for k, v in settings.items():
			f.write("%s = %s\n" % (k, v))
	env.start_daemon(["--config", conf])
	return env


def timed_out_lines(env):
	"""{state: count} of hpoold's "client timed out in STATE" lines."""
	with open(env.daemon_log, "rb") as f:
		log = f.read().decode("utf-8", "replace")
	counts = {}
	for m in re.finditer(r"client timed out in (\w+)", log):
		counts[m.group(1)] = counts.get(m.group(1), 0) + 1
	return counts


class Upstream:
	"""A scripted keep-alive HTTP server on 127.0.0.1. Targets:
	/ok: 200 "ok"; /slow: the same after SLOW_UPSTREAM s; /upload: the
	same once the whole Content-Length body is in; /big?n=N: N body
	bytes (records whether the peer cut it, and when); /stall: a request
	whose body never completes (records when hpoold drops the
	connection)."""

	def __init__(self):
		self.lock = threading.Lock()
		self.events = []	# (what, target, monotonic time, detail)
		self.srv = ScriptedServer(self._handler, "upstream")
		self.port = self.srv.port

	def event(self, what, target, detail=None):
		with self.lock:
			self.events.append((what, target, time.monotonic(), detail))

	def find(self, what, target):
		with self.lock:
			return [e for e in self.events if e[0] == what and
			    e[1] == target]

	def wait_for(self, what, target, until):
		"""find(), polled until it has something or the monotonic
		time until."""
		while True:
			found = self.find(what, target)
			if found or time.monotonic() >= until:
				return found
			time.sleep(0.01)

	def _handler(self, conn, server, idx):
		while True:
			r = read_head(conn, timeout=30)
			if r is None:
				return
			method, target, headers, rest = r
			server.record(idx, (method, target, headers, rest))
			if target == "/stall":
				conn.settimeout(30)
				try:
					while conn.recv(65536):
						pass
					self.event("eof", target)
				except OSError as e:
					self.event("eof", target, repr(e))
				return
			if target.startswith("/big?n="):
				n = int(target[7:])
				chunk = b"x" * 65536
				sent = 0
				conn.settimeout(30)
				try:
					conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: "
					    b"%d\r\n\r\n" % n)
					while sent < n:
						b = chunk[:n - sent]
						conn.sendall(b)
						sent += len(b)
				except OSError as e:
					self.event("cut", target, (sent, repr(e)))
					return
				self.event("done", target, sent)
				continue
			if target == "/slow":
				time.sleep(SLOW_UPSTREAM)
			if target == "/upload":
				n = int({k.lower(): v for k, v in headers}[
				    "content-length"])
				conn.settimeout(30)
				while len(rest) < n:
					b = conn.recv(65536)
					if not b:
						self.event("short", target, len(rest))
						return
					rest += b
				self.event("body", target, len(rest))
			conn.sendall(OK_RESPONSE)


def get(sess, target):
	sess.send(pc.req_head("GET", target, [("Host", "t")]) +
	    pc.frame(pc.REQ_END))
	return sess.response()


def watch_close(sess, t0, limit):
	"""Wait until the peer ends sess's socket or limit seconds after t0.
	Returns (seconds from t0 to the end or None if still open, how:
	"eof" / the error's name / None, bytes read before the end, counting
	what sess had buffered). sess.first_data: seconds from t0 to the
	first byte read here, or None."""
	data = sess.buf
	sess.buf = b""
	sess.first_data = None
	p = select.poll()
	p.register(sess.s, select.POLLIN | select.POLLRDHUP)
	while True:
		left = t0 + limit - time.monotonic()
		if left <= 0:
			return None, None, data
		if not p.poll(max(1, int(left * 1000))):
			continue
		now = time.monotonic()
		try:
			b = sess.s.recv(65536)
		except (socket.timeout, BlockingIOError):
			continue
		except OSError as e:
			return now - t0, type(e).__name__, data
		if not b:
			return now - t0, "eof", data
		if sess.first_data is None:
			sess.first_data = now - t0
		data += b


def closed_in_bounds(what, took, how, data, t=T, want_data=b"",
    first=None):
	"""None if the session ended with EOF, in [LOW*t, HIGH*t], having
	received exactly want_data; else what went wrong. first: when the
	first of data came, for the report."""
	if took is None:
		return "%s: still open %.2f s after (timeout %.1f s); received %r" % (
		    what, HIGH * t + 0.5, t, data[:200])
	problems = []
	if not LOW * t <= took <= HIGH * t:
		problems.append("closed after %.3f s, want %.2f..%.2f s (timeout "
		    "%.1f s)" % (took, LOW * t, HIGH * t, t))
	if how != "eof":
		problems.append("ended with %s, want EOF" % how)
	if data != want_data:
		problems.append("received %r (frames %r)%s before the end, want "
		    "%r" % (data[:200], pc.split_frames(data)[0][:4], "" if first is
		    None else " %.3f s after t0" % first, want_data))
	if problems:
		return "%s: %s (the socket saw %s %.3f s after t0)" % (what,
		    "; ".join(problems), how, took)
	return None


def in_threads(fns):
	"""Run {name: fn} at once; {name: result or the exception}."""
	out = {}

	def wrap(name, fn):
		try:
			out[name] = fn()
		except Exception as e:
			out[name] = e
	threads = [threading.Thread(target=wrap, args=(n, f), daemon=True)
	    for n, f in fns.items()]
	for t in threads:
		t.start()
	deadline = time.monotonic() + THREAD_LIMIT
	for t in threads:
		t.join(max(0.1, deadline - time.monotonic()))
	for n in fns:
		if n not in out:
			out[n] = TimeoutError("still running after %d s" %
			    THREAD_LIMIT)
	return out


def result(r):
	"""A thread's result as a res.run() answer."""
	if isinstance(r, Exception):
		return "%s: %s" % (type(r).__name__, r)
	return r


# ---------------------------------------------------------------- idle

def idle_cases(res, up):
	env = start_daemon(session_idle_timeout=int(T), io_timeout=OTHER,
	    client_write_timeout=OTHER)

	def idle():
		s = pc.Session(env.socket)
		s.start("127.0.0.1", up.port)
		t0 = time.monotonic()
		took, how, data = watch_close(s, t0, HIGH * T + 0.5)
		s.close()
		return closed_in_bounds("idle session after HELLO+OPEN", took,
		    how, data)

	def busy():
		s = pc.Session(env.socket)
		s.start("127.0.0.1", up.port)
		t_start = time.monotonic()
		n = 0
		while True:
			r = get(s, "/ok")
			n += 1
			if r["status"] != 200 or r["body"] != b"ok":
				s.close()
				return ("request %d, %.2f s after OPEN (a request every "
				    "%.1f s): %r" % (n, time.monotonic() - t_start,
				    TICK, r))
			last = time.monotonic()
			if last - t_start >= BUSY_FOR:
				break
			time.sleep(TICK)
		# still open right after the busy phase, then idle-closed
		# ~T after its last response: the deadline moved, it was not
		# switched off
		took, how, data = watch_close(s, last, HIGH * T + 0.5)
		s.close()
		why = closed_in_bounds("after the last of %d requests over %.1f s"
		    % (n, last - t_start), took, how, data)
		if why:
			return why
		if n < 6:
			return "only %d requests in %.1f s" % (n, last - t_start)
		return None

	def slow():
		s = pc.Session(env.socket)
		s.start("127.0.0.1", up.port)
		t0 = time.monotonic()
		r = get(s, "/slow")
		took = time.monotonic() - t0
		s.close()
		if r["status"] != 200 or r["body"] != b"ok" or \
		    took < SLOW_UPSTREAM * 0.9:
			return ("a response taking %.1f s (session_idle_timeout %.1f "
			    "s): got %r after %.2f s" % (SLOW_UPSTREAM, T, r, took))
		return None

	out = in_threads({"idle": idle, "busy": busy, "slow": slow})
	res.run("session_idle_timeout: an idle session is closed (EOF, no "
	    "ERROR) after ~1 s, still open at half of it",
	    lambda: result(out["idle"]))
	res.run("session_idle_timeout: a request every %.1f s keeps the session "
	    "open for %.1f s; it closes ~1 s after the last" % (TICK, BUSY_FOR),
	    lambda: result(out["busy"]))
	res.run("session_idle_timeout: a request in progress (upstream takes "
	    "%.1f s) is not cut by it" % SLOW_UPSTREAM,
	    lambda: result(out["slow"]))
	counts = timed_out_lines(env)
	res.check("session_idle_timeout: hpoold logs both closes as 'client "
	    "timed out in IDLE', no other", counts == {"IDLE": 2}, counts)
	env.final_checks(res)


# ---------------------------------------------------------------- write

def write_cases(res, up):
	env = start_daemon(client_write_timeout=int(T), io_timeout=OTHER,
	    session_idle_timeout=OTHER)
	big = "/big?n=%d" % BIG
	steady = "/big?n=%d" % STEADY

	def never_reads():
		s = pc.Session(env.socket)
		# On a Unix socket the sender's buffer is what fills; a small
		# receive buffer does not hurt.
		s.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
		s.start("127.0.0.1", up.port)
		t0 = time.monotonic()
		s.send(pc.req_head("GET", big, [("Host", "t")]) +
		    pc.frame(pc.REQ_END))
		gone = harness.peer_hangup_at(s.s, t0, HIGH * T + 0.5)
		problems = []
		if gone is None:
			problems.append("hpoold still had the session open %.1f s "
			    "after the request" % (HIGH * T + 0.5))
		elif not LOW * T <= gone <= HIGH * T:
			problems.append("hpoold closed it %.3f s after the request, "
			    "want %.2f..%.2f s" % (gone, LOW * T, HIGH * T))
		# What was queued before the close, then the end.
		took, how, data = watch_close(s, time.monotonic(), 10)
		s.close()
		frames, partial = pc.split_frames(data)
		types = [t for t, _ in frames]
		body = sum(len(p) for t, p in frames if t == pc.RESP_BODY)
		if how != "eof":
			problems.append("reading what was left ended with %s, want "
			    "EOF" % how)
		if not types or types[0] != pc.RESP_HEAD or \
		    struct.unpack(">H", frames[0][1][2:4])[0] != 200:
			problems.append("first frame %r, want RESP_HEAD 200" % (
			    frames[:1],))
		if any(t != pc.RESP_BODY for t in types[1:]):
			problems.append("frame types after the head: %r, want only "
			    "RESP_BODY (no RESP_END, no ERROR)" % sorted(set(types[1:])))
		if not 0 < body < BIG:
			problems.append("%d body bytes arrived of %d" % (body, BIG))
		cut = up.wait_for("cut", big, t0 + HIGH * T + 0.5)
		if not cut:
			problems.append("the upstream connection was not closed: "
			    "server events %r" % up.find("done", big))
		elif not t0 < cut[0][2] <= t0 + HIGH * T + 0.5:
			problems.append("the upstream connection was closed %.2f s "
			    "after the request" % (cut[0][2] - t0))
		if problems:
			return "; ".join(problems)
		print("# never-reading client: closed after %.3f s, %d body bytes "
		    "queued before, upstream cut after %d bytes" % (gone, body,
		    cut[0][3][0]))
		return None

	def steady_reader():
		s = pc.Session(env.socket)
		s.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
		s.start("127.0.0.1", up.port)
		t0 = time.monotonic()
		s.send(pc.req_head("GET", steady, [("Host", "t")]) +
		    pc.frame(pc.REQ_END))
		s.s.setblocking(False)
		slow_part = bytearray()
		got = 0
		while time.monotonic() - t0 < STEADY_FOR:
			time.sleep(STEADY_TICK)
			while True:
				try:
					b = s.s.recv(1 << 20)
				except BlockingIOError:
					break
				if not b:
					s.close()
					return ("closed by hpoold %.2f s into a response "
					    "read every %.1f s (%d bytes read)" % (
					    time.monotonic() - t0, STEADY_TICK, got))
				slow_part += b
				got += len(b)
		s.buf += bytes(slow_part)
		s.s.settimeout(10)
		r = s.response()
		s.close()
		if got >= STEADY:
			return ("the %d byte response fitted in the buffers (%d "
			    "bytes read in the slow phase)" % (STEADY, got))
		if r["status"] != 200 or len(r["body"]) != STEADY or \
		    r["flags"] is None:
			return ("after %.1f s of reading every %.1f s: status %r, "
			    "%d of %d body bytes, end %r, error %r" % (STEADY_FOR,
			    STEADY_TICK, r["status"], len(r["body"]), STEADY,
			    r["flags"], r["error"]))
		return None

	out = in_threads({"never": never_reads, "steady": steady_reader})
	res.run("client_write_timeout: a client that never reads a %d MiB "
	    "response is closed after ~1 s, its upstream connection dropped" %
	    (BIG >> 20), lambda: result(out["never"]))
	res.run("client_write_timeout: a client reading every %.1f s gets all "
	    "of a %d MiB response over %.1f s" % (STEADY_TICK, STEADY >> 20,
	    STEADY_FOR), lambda: result(out["steady"]))

	def healthy():
		s = pc.Session(env.socket)
		s.start("127.0.0.1", up.port)
		r = get(s, "/ok")
		s.close()
		if r["status"] != 200 or r["body"] != b"ok":
			return "a new session got %r" % r
		return None
	res.run("client_write_timeout: a new session afterwards is served",
	    healthy)
	counts = timed_out_lines(env)
	res.check("client_write_timeout: hpoold logs one 'client timed out in "
	    "ACTIVE', no other", counts == {"ACTIVE": 1}, counts)
	env.final_checks(res)


# ---------------------------------------------------------------- io

def io_cases(res, up):
	env = start_daemon(io_timeout=int(T), session_idle_timeout=OTHER,
	    client_write_timeout=OTHER)
	hello_ok = pc.frame(pc.HELLO_OK, struct.pack(">H", 1))

	def nothing_sent():
		s = pc.Session(env.socket)
		t0 = time.monotonic()
		took, how, data = watch_close(s, t0, HIGH * T + 0.5)
		s.close()
		return closed_in_bounds("connected, sent nothing", took, how, data)

	def cut_header():
		s = pc.Session(env.socket)
		t0 = time.monotonic()
		s.send(pc.hello() + pc.open_("127.0.0.1", up.port)[:3])
		took, how, data = watch_close(s, t0, HIGH * T + 0.5)
		s.close()
		return closed_in_bounds("HELLO then 3 bytes of a frame header",
		    took, how, data, want_data=hello_ok)

	def body_stops(timeout_ms=None):
		def run():
			t = timeout_ms / 1000.0 if timeout_ms else T
			s = pc.Session(env.socket)
			s.start("127.0.0.1", up.port, timeout_ms=timeout_ms)
			t0 = time.monotonic()
			s.send(pc.req_head("POST", "/stall", [("Host", "t"),
			    ("Content-Length", "100")]) +
			    pc.frame(pc.REQ_BODY, b"x" * 10))
			took, how, data = watch_close(s, t0, HIGH * t + 0.5)
			s.close()
			return closed_in_bounds("10 of 100 body bytes sent "
			    "(timeout %.1f s)" % t, took, how, data, t=t,
			    first=s.first_data)
		return run

	def steady_upload():
		s = pc.Session(env.socket)
		s.start("127.0.0.1", up.port)
		piece = b"y" * 100
		n = int(round(UPLOAD_FOR / UPLOAD_TICK)) + 1
		t0 = time.monotonic()
		s.send(pc.req_head("POST", "/upload", [("Host", "t"),
		    ("Content-Length", str(n * len(piece)))]) +
		    pc.frame(pc.REQ_BODY, piece))
		early = None
		for i in range(1, n):
			time.sleep(UPLOAD_TICK)
			r, _, _ = select.select([s.s], [], [], 0)
			if r and early is None:
				early = (time.monotonic() - t0, i)
			s.send(pc.frame(pc.REQ_BODY, piece))
		s.send(pc.frame(pc.REQ_END))
		r = s.response()
		took = time.monotonic() - t0
		s.close()
		if r["status"] == 200 and r["body"] == b"ok":
			return None
		got = {k: r.get(k) for k in ("status", "error", "eof")}
		why = "a %d byte body sent a piece every %.1f s for %.1f s: got " \
		    "%r after %.2f s" % (n * len(piece), UPLOAD_TICK, UPLOAD_FOR,
		    got, took)
		if early is not None:
			why += "; a frame was waiting for the client %.2f s after " \
			    "the request began (after %d of %d pieces)" % (early[0],
			    early[1], n)
		return why

	def cut_between_requests():
		s = pc.Session(env.socket)
		s.start("127.0.0.1", up.port)
		r = get(s, "/ok")
		if r["status"] != 200:
			return "request before the cut frame: %r" % r
		t0 = time.monotonic()
		s.send(pc.req_head("GET", "/ok", [("Host", "t")])[:3])
		took, how, data = watch_close(s, t0, HIGH * T + 0.5)
		s.close()
		return closed_in_bounds("3 bytes of a REQ_HEAD header after a "
		    "request (io_timeout 1 s, session_idle_timeout %d s)" % OTHER,
		    took, how, data)

	out = in_threads({"nothing": nothing_sent, "cut": cut_header,
	    "body": body_stops(), "body300": body_stops(300),
	    "upload": steady_upload, "between": cut_between_requests})
	res.run("io_timeout: a client that sends nothing (no HELLO) is closed "
	    "after ~1 s", lambda: result(out["nothing"]))
	res.run("io_timeout: HELLO then 3 bytes of a frame header: HELLO_OK, "
	    "then EOF (no ERROR) after ~1 s", lambda: result(out["cut"]))
	res.run("io_timeout: a request body that stops coming: EOF (no ERROR) "
	    "after ~1 s", lambda: result(out["body"]))
	res.run("io_timeout: ... with OPEN's TIMEOUT_MS 300: EOF after ~0.3 s",
	    lambda: result(out["body300"]))

	def upstream_dropped():
		until = time.monotonic() + 2
		while len(up.find("eof", "/stall")) < 2 and \
		    time.monotonic() < until:
			time.sleep(0.01)
		eofs = up.find("eof", "/stall")
		if len(eofs) != 2:
			return "the server saw %d of the 2 stalled requests' " \
			    "connections closed: %r" % (len(eofs), eofs)
		return None
	res.run("io_timeout: the stalled requests' upstream connections are "
	    "closed", upstream_dropped)
	res.run("io_timeout: a request body sent a piece every %.1f s for %.1f "
	    "s gets its response" % (UPLOAD_TICK, UPLOAD_FOR),
	    lambda: result(out["upload"]))
	res.run("io_timeout: 3 bytes of a frame header between requests: EOF "
	    "after ~1 s (a frame is due, as PROTOCOL.md says)",
	    lambda: result(out["between"]))
	counts = timed_out_lines(env)
	want = {"HELLO": 1, "OPEN": 1, "ACTIVE": 2}
	got = {k: v for k, v in counts.items() if k != "IDLE"}
	res.check("io_timeout: hpoold logs 'client timed out in' HELLO, OPEN, "
	    "ACTIVE x2", got == want, counts)
	env.final_checks(res)


def body(res):
	up = Upstream()
	idle_cases(res, up)
	write_cases(res, up)
	io_cases(res, up)
	with up.lock:
		errors = list(up.srv.errors)
	res.check("the scripted upstream had no unexpected errors", not errors,
	    errors)


harness.main(body)
