#!/usr/bin/env python3
"""SIGTERM drains hpoold (worker.c drain_check): the socket goes at once,
and hpoold exits once every response has reached its client, or when
the 10 s grace period ends, not as soon as no request is running
upstream. A response the server has sent in full is over for its
session, but its tail may still sit in hpoold's output for a slow
client; exiting then cut it (seen: 3 of 3 slow clients got 393-605 KB
of a 614 KB body).

Three daemons drain at once, to keep the time down:
- slow readers of a 4 MiB body, SIGTERM while the bodies stream;
- slow readers of a body hpoold has read in full from its server before
  SIGTERM, part of it still queued for them (the cut, every time);
- a client that never reads: hpoold waits out the grace period.
The last two get MID bytes from a server that sends them in slices:
more than the socket holds, and hpoold's output never reaches the 256
KiB that would pause reading (nginx sends it so fast that hpoold could
take it in one loop turn, pause there, and never end the response).

On a Unix socket the sender's buffer (hpoold's SO_SNDBUF, 208 KiB by
default) bounds what the kernel holds for a client: what hpoold had not
written yet is the rest."""

import fcntl
import hashlib
import os
import re
import signal
import socket
import struct
import subprocess
import termios
import threading
import time

import harness as h
import protoclient as pc


def sndbuf_default():
	"""hpoold's SO_SNDBUF: about what the kernel holds for a client."""
	try:
		with open("/proc/sys/net/core/wmem_default") as f:
			return int(f.read())
	except (OSError, ValueError):
		return 212992


BIG = 4 << 20		# streamed while the signal comes
# at most in the kernel for one client (a little over SO_SNDBUF)
SOCKET_HOLDS = sndbuf_default() + (64 << 10)
# the socket holds up to SOCKET_HOLDS of it, hpoold's output the rest
# (96 to 160 KiB, well under 256)
MID = (sndbuf_default() + (160 << 10)) // 256 * 256
SLICE = 16 << 10	# the sliced server sends this much...
SLICE_GAP = 0.002	# ...this often
CLIENTS = 3
CHUNK = 16 << 10	# a slow client reads this much...
INTERVAL = 0.02		# ...this often (800 KiB/s)
READY_BODY = 64 << 10	# body each slow client has before SIGTERM
GRACE = 10.0		# DRAIN_GRACE_SEC
GONE_WITHIN = 1.5	# the socket file goes this soon after SIGTERM
EXIT_AFTER_DONE = 2.5	# hpoold exits this soon after its last client
			# has its response (drain_check looks each second)


class Reader(threading.Thread):
	"""A protocol client fetching one URL and reading it CHUNK bytes at
	a time every INTERVAL, once `go` is set (at once if go is None)."""

	def __init__(self, path, port, url, go=None):
		super().__init__(daemon=True)
		self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
		self.s.settimeout(GRACE + 10)
		self.s.connect(path)
		self.s.sendall(pc.hello() + pc.open_("127.0.0.1", port) +
		    pc.req_head("GET", url, [("Host", "127.0.0.1")]) +
		    pc.frame(pc.REQ_END))
		self.go = go
		self.ready = threading.Event()	# RESP_HEAD and READY_BODY
		self.status = None
		self.body = 0
		self.sha = hashlib.sha256()
		self.end = False
		self.error = None
		self.done_at = None
		self.progress = []	# (time, body bytes so far)

	def queued(self):
		"""Bytes the kernel holds for this client, unread."""
		b = fcntl.ioctl(self.s.fileno(), termios.FIONREAD, b"\0" * 4)
		return struct.unpack("i", b)[0]

	def body_at(self, t):
		n = 0
		for when, got in list(self.progress):
			if when > t:
				break
			n = got
		return n

	def run(self):
		try:
			self._read()
		except Exception as e:	# reported by the checks
			self.error = "%s: %s" % (type(e).__name__, e)
		finally:
			self.s.close()

	def _read(self):
		if self.go is not None and not self.go.wait(GRACE + 10):
			return
		buf = b""
		while not self.end:
			d = self.s.recv(CHUNK)
			now = time.monotonic()
			if not d:
				return
			frames, buf = pc.split_frames(buf + d)
			for t, p in frames:
				if t == pc.RESP_HEAD:
					self.status = struct.unpack(">H",
					    p[2:4])[0]
				elif t == pc.RESP_BODY:
					self.body += len(p)
					self.sha.update(p)
				elif t == pc.RESP_END:
					self.end = True
					self.done_at = now
				elif t == pc.ERROR:
					self.error = "ERROR frame %r" % p[:80]
					return
			self.progress.append((now, self.body))
			if self.status is not None and self.body >= READY_BODY:
				self.ready.set()
			time.sleep(INTERVAL)


class Daemon:
	"""An hpoold of its own socket and log; its exit time is noted."""

	def __init__(self, env, name):
		self.socket = env.path(name + ".sock")
		self.log = env.path(name + ".log")
		with open(self.log, "ab") as out:
			self.p = h.spawn([h.HPOOLD, "--foreground", "--socket",
			    self.socket, "--workers", "1"],
			    stdin=subprocess.DEVNULL, stdout=out, stderr=out)
		h.wait_until(lambda: h.unix_accepts(self.socket),
		    h.START_TIMEOUT, "hpoold on %s" % self.socket, self.p,
		    self.log)
		self.exited_at = None
		self.rc = None
		self.term_at = None

	def terminate(self):
		self.term_at = time.monotonic()
		self.p.send_signal(signal.SIGTERM)
		threading.Thread(target=self._wait, daemon=True).start()

	def _wait(self):
		try:
			self.rc = self.p.wait(GRACE + 20)
			self.exited_at = time.monotonic()
		except subprocess.TimeoutExpired:
			pass

	def wait_exit(self, timeout):
		deadline = time.monotonic() + timeout
		while self.exited_at is None and time.monotonic() < deadline:
			time.sleep(0.02)
		return self.exited_at

	def refuses_at_once(self):
		"""After SIGTERM: the socket file goes within GONE_WITHIN and a
		new client is refused. (True, detail) or (False, detail)."""
		deadline = self.term_at + GONE_WITHIN
		while os.path.exists(self.socket) and \
		    time.monotonic() < deadline:
			time.sleep(0.01)
		if os.path.exists(self.socket):
			return False, "socket still there after %.1fs" % \
			    GONE_WITHIN
		s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
		s.settimeout(1)
		try:
			s.connect(self.socket)
			return False, "a new client was accepted"
		except (FileNotFoundError, ConnectionRefusedError) as e:
			return True, repr(e)
		finally:
			s.close()

	def sanitizer_reports(self):
		with open(self.log, errors="replace") as f:
			return [l for l in f if "Sanitizer" in l or
			    "runtime error:" in l]


def socket_inodes(pid):
	out = set()
	for fd in os.listdir("/proc/%d/fd" % pid):
		try:
			m = re.match(r"socket:\[(\d+)\]",
			    os.readlink("/proc/%d/fd/%s" % (pid, fd)))
		except OSError:
			continue
		if m:
			out.add(m.group(1))
	return out


def upstream_unread(pid, port):
	"""Bytes waiting in hpoold's TCP sockets to 127.0.0.1:port, or None
	if it has none."""
	inodes = socket_inodes(pid)
	total = None
	with open("/proc/net/tcp") as f:
		next(f)
		for line in f:
			c = line.split()
			if int(c[2].split(":")[1], 16) != port or \
			    c[9] not in inodes:
				continue
			total = (total or 0) + int(c[4].split(":")[1], 16)
	return total


def sliced_server(body):
	"""A keep-alive server answering every request with body, sent in
	slices; records each request when its response is sent."""
	def handler(conn, server, idx):
		while True:
			req = h.read_request(conn)
			if req is None:
				return
			conn.sendall(b"HTTP/1.1 200 OK\r\n"
			    b"Content-Length: %d\r\n\r\n" % len(body))
			for i in range(0, len(body), SLICE):
				conn.sendall(body[i:i + SLICE])
				time.sleep(SLICE_GAP)
			server.record(idx, req)
	return h.ScriptedServer(handler, "sliced")


def read_whole_upstream(srv, d, url, n):
	"""Wait (bounded) until srv has sent n responses to url and d's
	hpoold holds no unread byte from srv: it has the responses in full,
	so their sessions are between requests."""
	def done():
		sent = [r for r in list(srv.requests) if r[2] == url]
		# the upstream sockets are the worker process's
		pids = h.worker_pids(d.p.pid)
		return len(sent) >= n and pids and sum(upstream_unread(p,
		    srv.port) for p in pids) == 0
	h.wait_until(done, 10, "hpoold reading %s from its server" % url,
	    d.p, d.log)


def check_readers(res, what, readers, size, digest):
	bad = ["client %d: status %s, %d of %d body bytes, %s%s" % (i,
	    r.status, r.body, size, "RESP_END" if r.end else "no RESP_END",
	    ", " + r.error if r.error else "")
	    for i, r in enumerate(readers)
	    if not (r.status == 200 and r.end and r.body == size and
	    r.sha.hexdigest() == digest and r.error is None)]
	print("# %s: body bytes received: %s of %d" % (what, ", ".join(
	    str(r.body) for r in readers), size), flush=True)
	res.check("%s: each of %d slow clients gets the whole body (sha256) "
	    "and RESP_END" % (what, len(readers)), not bad, bad)


def check_exit(res, what, d, readers, size):
	last = max([r.done_at for r in readers if r.done_at] or [0])
	at = d.wait_exit(max(0, last + EXIT_AFTER_DONE - time.monotonic()))
	res.check("%s: hpoold exits 0 within %.1fs of its last client's "
	    "RESP_END" % (what, EXIT_AFTER_DONE), at is not None and
	    d.rc == 0 and all(r.done_at for r in readers), (d.rc, at and
	    last and round(at - last, 2), h.tail(d.log, 4)))
	if at is None:
		return
	early = [(i, r.body_at(at)) for i, r in enumerate(readers)
	    if r.body_at(at) < size - SOCKET_HOLDS]
	res.check("%s: ...not before: each client had all but what its "
	    "socket holds (%d KiB) when hpoold exited" % (what,
	    SOCKET_HOLDS >> 10), not early, early)


def body(res):
	env = h.Env(files={"big.bin": BIG}, daemon=False, echo=False)
	big_size, big_digest = env.files["big.bin"]
	mid = bytes(range(256)) * (MID // 256)
	mid_size, mid_digest = len(mid), h.sha256(mid)
	srv = sliced_server(mid)
	never = Daemon(env, "never")
	tail = Daemon(env, "tail")
	stream = Daemon(env, "stream")

	# A client that never reads: its response waits in hpoold, which
	# keeps it until the grace period ends.
	url = "/never"
	idle = Reader(never.socket, srv.port, url, go=threading.Event())
	read_whole_upstream(srv, never, url, 1)
	res.check("never-reading client: hpoold has its response in full, "
	    "part of it unsent at SIGTERM", idle.queued() < mid_size,
	    idle.queued())
	never.terminate()
	ok, why = never.refuses_at_once()
	res.check("never-reading client: after SIGTERM the socket file goes "
	    "and a new client is refused", ok, why)

	# Slow readers of responses hpoold has in full.
	url = "/tail"
	go = threading.Event()
	readers = [Reader(tail.socket, srv.port, url, go)
	    for _ in range(CLIENTS)]
	read_whole_upstream(srv, tail, url, CLIENTS)
	queued = [r.queued() for r in readers]
	res.check("responses over upstream, unsent in part at SIGTERM (the "
	    "sockets hold %s of %d bytes)" % (queued, mid_size),
	    all(q < mid_size for q in queued), queued)
	for r in readers:
		r.start()
	tail.terminate()
	go.set()
	ok, why = tail.refuses_at_once()
	res.check("responses over upstream: after SIGTERM the socket file "
	    "goes and a new client is refused", ok, why)
	for r in readers:
		r.join(GRACE + 5)
	check_readers(res, "responses over upstream", readers, mid_size,
	    mid_digest)
	check_exit(res, "responses over upstream", tail, readers, mid_size)

	# Slow readers of bodies still streaming from nginx.
	readers = [Reader(stream.socket, env.nginx_port, "/files/big.bin")
	    for _ in range(CLIENTS)]
	for r in readers:
		r.start()
	started = all(r.ready.wait(10) for r in readers)
	res.check("%d slow clients have RESP_HEAD and %d KiB of body" % (
	    CLIENTS, READY_BODY >> 10), started,
	    [(r.status, r.body, r.error) for r in readers])
	stream.terminate()
	ok, why = stream.refuses_at_once()
	res.check("bodies streaming: after SIGTERM the socket file goes and "
	    "a new client is refused", ok, why)
	for r in readers:
		r.join(GRACE + 5)
	check_readers(res, "bodies streaming", readers, big_size, big_digest)
	check_exit(res, "bodies streaming", stream, readers, big_size)

	at = never.wait_exit(max(0, never.term_at + GRACE + 3 -
	    time.monotonic()))
	took = at - never.term_at if at is not None else None
	res.check("never-reading client: hpoold waits out the grace period "
	    "(%.0fs), then exits 0" % GRACE, took is not None and
	    GRACE - 1 <= took <= GRACE + 3 and never.rc == 0,
	    (never.rc, took and round(took, 2), h.tail(never.log, 4)))
	idle.s.close()

	for d in (never, tail, stream):
		if d.p in h._children and d.p.poll() is not None:
			h._children.remove(d.p)
		rep = d.sanitizer_reports()
		res.check("%s: hpoold log has no sanitizer report" %
		    os.path.basename(d.log), not rep, rep[:3])


if __name__ == "__main__":
	h.main(body)
