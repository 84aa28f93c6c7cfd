#!/usr/bin/env python3
"""hpoold's supervisor and worker processes (workers = N, hpoold.conf(5)).

The first process is the supervisor ("hpoold: supervisor", comm
hpoold-supervis); it forks N workers ("hpoold: worker K", comm
hpoold-worker-K, NoNewPrivs) that share the listening socket. Cases, each
on a daemon of its own (own socket, config and log):

- names and parentage; sequential callers reuse at most one upstream
  connection per worker; 64 concurrent sessions spread over both workers
  (which worker holds a session is read from the kernel: sock_diag gives
  the peer of each client socket, /proc/PID/fd says who holds it);
- kill -9 of a worker under load from 64 sessions: a new worker K within
  1 s, which accepts; only the sessions held by the dead worker fail, each
  with EOF/reset within 0.2 s of the kill; the others never fail; new
  sessions all succeed;
- a crash loop: each new worker killed as soon as it appears, 4 times:
  the respawn gaps grow (100, 200, 400, 800 ms) and are logged;
- kill -9 of the supervisor: workers stop accepting, finish what runs
  and exit by themselves (PR_SET_PDEATHSIG);
- SIGHUP: a bad file (max_per_host = 0, an unknown setting) is refused,
  naming file, line and setting, the old settings stay, no request fails;
  a good one applies live settings (io_timeout, max_per_host) without new
  workers and with warm pools; workers 2 -> 3 starts a new generation and
  the old one drains, no request failing;
- SIGTERM: the socket goes at once, running requests finish, exit 0, and
  the stop line counts the sessions of every worker;
- max_per_host holds for all workers together, also across the kill of a
  worker (its counts are given back);
- systemd: READY=1 once every worker accepts, STATUS=, WATCHDOG=1 (and
  its stop while a worker hangs), RELOADING=1/MONOTONIC_USEC, STOPPING=1;
  socket activation (systemd-socket-activate), socket file left alone;
- workers = auto and out-of-range values.
Every server binds 127.0.0.1; every process killed is one we started or
a worker of one (checked by PID, start time and cmdline)."""

import hashlib
import os
import re
import select
import shutil
import signal
import socket
import stat
import struct
import subprocess
import threading
import time

import harness as h
import protoclient as pc

START = 20.0		# seconds for a daemon and its workers to come up
FILE_SIZE = 100000	# nginx's w.bin
SMALL = "small.txt"
SMALL_SIZE = 2000
SMALL_PATH = "/files/" + SMALL
FAIL_KINDS = ("eof", "ConnectionResetError", "BrokenPipeError")
EOF_WITHIN = 0.2	# a dead worker's clients see it this soon
REPLACED_WITHIN = 1.0	# a new worker after a kill
DRAIN_WITHIN = 12.0	# workers gone after the supervisor's death

_daemons = []		# every Daemon, stopped at the end
_seen = {}		# worker pid -> start time (clean-up of orphans)


# ---------------------------------------------------------------- /proc

def proc_stat(pid):
	"""(state, ppid, start time) or None if there is no such process."""
	try:
		with open("/proc/%d/stat" % pid) as f:
			data = f.read()
	except OSError:
		return None
	rest = data[data.rindex(")") + 2:].split()
	return rest[0], int(rest[1]), int(rest[19])


def gone(pid):
	st = proc_stat(pid)
	return st is None or st[0] in ("Z", "X")


def read_proc(pid, what):
	try:
		with open("/proc/%d/%s" % (pid, what), "rb") as f:
			return f.read()
	except OSError:
		return None


def cmdline(pid):
	b = read_proc(pid, "cmdline")
	return None if b is None else b.split(b"\0")[0].decode("latin-1")


def comm(pid):
	b = read_proc(pid, "comm")
	return None if b is None else b.decode("latin-1").rstrip("\n")


def nonewprivs(pid):
	b = read_proc(pid, "status")
	if b is None:
		return None
	m = re.search(rb"^NoNewPrivs:\s*(\d+)", b, re.M)
	return m.group(1).decode() if m else None


def children(pid):
	out = set()
	try:
		tasks = os.listdir("/proc/%d/task" % pid)
	except OSError:
		return out
	for t in tasks:
		try:
			with open("/proc/%d/task/%s/children" % (pid, t)) as f:
				out.update(int(x) for x in f.read().split())
		except OSError:
			pass
	return out


WORKER_RE = re.compile(r"hpoold: worker (\d+)")


def workers_of(sup):
	"""{pid: K} of the children of sup named "hpoold: worker K" (a child
	just forked still has the supervisor's name and is left out)."""
	out = {}
	for pid in children(sup):
		m = WORKER_RE.fullmatch(cmdline(pid) or "")
		st = proc_stat(pid)
		if m and st is not None and st[0] not in ("Z", "X"):
			out[pid] = int(m.group(1))
			_seen.setdefault(pid, st[2])
	return out


def kill_orphans():
	"""Our workers still alive at the end (their supervisor died):
	SIGKILL, after checking the PID is still that worker."""
	for pid, start in list(_seen.items()):
		st = proc_stat(pid)
		if st is None or st[2] != start or st[0] in ("Z", "X"):
			continue
		if not (cmdline(pid) or "").startswith("hpoold"):
			continue
		try:
			os.kill(pid, signal.SIGCONT)
			os.kill(pid, signal.SIGKILL)
		except OSError:
			pass


def socket_inodes(pid):
	out = set()
	try:
		fds = os.listdir("/proc/%d/fd" % pid)
	except OSError:
		return out
	for fd in fds:
		try:
			l = os.readlink("/proc/%d/fd/%s" % (pid, fd))
		except OSError:
			continue
		if l.startswith("socket:["):
			out.add(int(l[8:-1]))
	return out


def tcp_ports_to(pid, port):
	"""Local ports of pid's established TCP connections to port."""
	want = {}
	try:
		with open("/proc/net/tcp") as f:
			lines = f.read().splitlines()[1:]
	except OSError:
		return []
	for l in lines:
		f = l.split()
		if len(f) < 10 or f[3] != "01":
			continue
		if int(f[2].split(":")[1], 16) == port:
			want[int(f[9])] = int(f[1].split(":")[1], 16)
	return sorted(want[i] for i in socket_inodes(pid) if i in want)


def unix_peers():
	"""{inode: peer inode} of every Unix socket, from the kernel
	(NETLINK_SOCK_DIAG, UDIAG_SHOW_PEER)."""
	s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 4)
	s.settimeout(2)
	try:
		req = struct.pack("=BBHIII2I", socket.AF_UNIX, 0, 0, 0xffffffff,
		    0, 0x4, 0xffffffff, 0xffffffff)
		s.sendto(struct.pack("=IHHII", 16 + len(req), 20, 0x301, 1, 0) +
		    req, (0, 0))
		peers = {}
		while True:
			data = s.recv(1 << 17)
			off = 0
			while off + 16 <= len(data):
				ln, typ = struct.unpack_from("=IH", data, off)
				if ln < 16 or typ == 3:		# NLMSG_DONE
					return peers
				if typ == 2:			# NLMSG_ERROR
					raise OSError("sock_diag: error %d" %
					    struct.unpack_from("=i", data, off + 16))
				if typ == 20:
					ino = struct.unpack_from("=I", data,
					    off + 20)[0]
					a, end = off + 32, off + ln
					while a + 4 <= end:
						alen, atype = struct.unpack_from(
						    "=HH", data, a)
						if alen < 4:
							break
						if atype == 2:	# UNIX_DIAG_PEER
							peers[ino] = struct.unpack_from(
							    "=I", data, a + 4)[0]
						a += (alen + 3) & ~3
				off += (ln + 3) & ~3
			if not data:
				return peers
	finally:
		s.close()


def owners(socks, pids):
	"""For each client socket, the pid (of pids) holding its peer, or
	None."""
	peers = unix_peers()
	held = {}
	for pid in pids:
		for ino in socket_inodes(pid):
			held[ino] = pid
	out = []
	for s in socks:
		try:
			ino = os.fstat(s.fileno()).st_ino
		except (OSError, ValueError):
			out.append(None)
			continue
		out.append(held.get(peers.get(ino)))
	return out


# ---------------------------------------------------------------- daemons

class Daemon:
	"""An hpoold (supervisor) of its own config, socket and log."""

	def __init__(self, env, name, conf, extra_env=None, verbose=False):
		self.env = env
		self.conf = env.path(name + ".conf")
		self.sock = env.path(name + ".sock")
		self.log = env.path(name + ".log")
		self.extra_env = extra_env or {}
		self.verbose = verbose
		self.probes = 0		# sessions made by waiting for it
		self.p = None
		self.write_conf(conf)
		_daemons.append(self)

	def write_conf(self, text):
		with open(self.conf, "w") as f:
			f.write("[hpoold]\n" + text)

	@property
	def pid(self):
		return self.p.pid

	def start(self, nworkers):
		argv = [h.HPOOLD, "-c", self.conf, "--foreground", "--socket",
		    self.sock] + (["-v"] if self.verbose else [])
		e = clean_env()
		e.update(self.extra_env)
		with open(self.log, "ab") as out:
			self.p = h.spawn(argv, stdin=subprocess.DEVNULL,
			    stdout=out, stderr=out, env=e)
		self.started = time.monotonic()
		deadline = self.started + START
		while not h.unix_accepts(self.sock):
			self.check_alive(deadline, "accepting on %s" % self.sock)
			time.sleep(0.01)
		self.probes += 1
		return self.wait_workers(nworkers, deadline)

	def check_alive(self, deadline, what):
		if self.p.poll() is not None:
			raise h.SetupError("hpoold exited with %s before %s%s" % (
			    self.p.returncode, what, h.tail(self.log)))
		if time.monotonic() > deadline:
			raise h.SetupError("hpoold: not %s after %.0fs%s" % (what,
			    START, h.tail(self.log)))

	def wait_workers(self, n, deadline=None):
		"""{pid: K} once n workers run."""
		deadline = deadline or time.monotonic() + START
		while True:
			w = workers_of(self.pid)
			if len(w) == n:
				return w
			self.check_alive(deadline, "running %d workers (%r)" % (n,
			    w))
			time.sleep(0.01)

	def text(self):
		with open(self.log, "rb") as f:
			return f.read().decode("utf-8", "replace")

	def wait_log(self, regex, timeout, since=0):
		"""The first match of regex in the log after offset since, or
		None after timeout."""
		r = re.compile(regex, re.M)
		deadline = time.monotonic() + timeout
		while True:
			m = r.search(self.text(), since)
			if m or time.monotonic() > deadline:
				return m
			time.sleep(0.02)

	def log_size(self):
		try:
			return len(self.text())
		except OSError:
			return 0

	def sanitizer_lines(self):
		try:
			text = self.text()
		except OSError:
			return []
		return [l for l in text.splitlines() if "Sanitizer" in l or
		    "runtime error:" in l]

	def stop(self, timeout=h.STOP_TIMEOUT + 10):
		"""SIGTERM and wait; the exit status (None if never started)."""
		if self.p is None:
			return None
		rc = h.stop_process(self.p, timeout)
		forget(self.p)
		return rc


def clean_env():
	e = dict(os.environ)
	for k in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID",
	    "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"):
		e.pop(k, None)
	return e


def forget(p):
	if p in h._children:
		h._children.remove(p)


# ---------------------------------------------------------------- clients

def req(path):
	return pc.req_head("GET", path, [("Host", "127.0.0.1")]) + \
	    pc.frame(pc.REQ_END)


class Eof(Exception):
	pass


def handshake(s):
	for want in (pc.HELLO_OK, pc.OPEN_OK):
		f = s.frame()
		if f is None:
			raise Eof("EOF before %d" % want)
		if f[0] != want:
			raise AssertionError("want frame %d, got %r" % (want,
			    f[:1] + (f[1][:80],)))


def kind_of(r, want_len):
	if r.get("eof"):
		return "eof"
	if r["error"] is not None:
		return "ERROR %s: %s" % r["error"]
	if r["status"] != 200:
		return "status %s" % r["status"]
	if len(r["body"]) != want_len:
		return "body %d of %d bytes" % (len(r["body"]), want_len)
	return "ok"


def exc_kind(e):
	return "eof" if isinstance(e, Eof) else type(e).__name__


def one(sock, port, path, want_len, timeout=15):
	"""One request on a session of its own: "ok" or what went wrong."""
	try:
		s = pc.Session(sock, timeout)
	except OSError as e:
		return "connect: %s" % type(e).__name__
	try:
		s.send(pc.hello() + pc.open_("127.0.0.1", port) + req(path))
		handshake(s)
		return kind_of(s.response(), want_len)
	except (OSError, Eof, AssertionError) as e:
		return exc_kind(e)
	finally:
		s.close()


def many(sock, port, path, want_len, n, timeout=30):
	"""n requests at once, each on a session of its own: their kinds."""
	out = [None] * n

	def run(i):
		out[i] = one(sock, port, path, want_len, timeout)
	ts = [threading.Thread(target=run, args=(i,)) for i in range(n)]
	for t in ts:
		t.start()
	for t in ts:
		t.join(timeout + 5)
	return [o or "hung" for o in out]


class Load:
	"""nthreads clients each making requests in a loop until stop():
	persistent (one session, a new one after a failure) or one session
	a request. results: (thread, start, end, kind)."""

	def __init__(self, sock, nthreads, port, path, want_len, persistent,
	    timeout=10):
		self.sock, self.port, self.path = sock, port, path
		self.want_len, self.persistent = want_len, persistent
		self.timeout = timeout
		self.stopping = threading.Event()
		self.lock = threading.Lock()
		self.results = []
		self.sessions = [None] * nthreads
		self.threads = [threading.Thread(target=self._run, args=(i,),
		    daemon=True) for i in range(nthreads)]

	def start(self):
		for t in self.threads:
			t.start()
		return self

	def _run(self, i):
		while not self.stopping.is_set():
			t0 = time.monotonic()
			if not self.persistent:
				k = one(self.sock, self.port, self.path,
				    self.want_len, self.timeout)
			else:
				try:
					s = self.sessions[i]
					if s is None:
						s = pc.Session(self.sock,
						    self.timeout)
						s.send(pc.hello() + pc.open_(
						    "127.0.0.1", self.port))
						self.sessions[i] = s
						handshake(s)
					s.send(req(self.path))
					k = kind_of(s.response(), self.want_len)
				except (OSError, Eof, AssertionError) as e:
					k = exc_kind(e)
				if k != "ok" and self.sessions[i] is not None:
					self.sessions[i].close()
					self.sessions[i] = None
			with self.lock:
				self.results.append((i, t0, time.monotonic(), k))
			if k != "ok":
				time.sleep(0.01)
		if self.sessions[i] is not None:
			self.sessions[i].close()

	def count_ok(self):
		with self.lock:
			return sum(1 for r in self.results if r[3] == "ok")

	def wait_ok(self, n, timeout):
		deadline = time.monotonic() + timeout
		while self.count_ok() < n and time.monotonic() < deadline:
			time.sleep(0.02)

	def stop(self):
		self.stopping.set()
		for t in self.threads:
			t.join(self.timeout + 5)
		with self.lock:
			return list(self.results)


def failures(results):
	return [r for r in results if r[3] != "ok"]


def summary(results, n=5):
	f = failures(results)
	return "%d requests, %d failed: %s" % (len(results), len(f), [
	    (r[0], round(r[2], 3), r[3]) for r in f[:n]])


# ---------------------------------------------------------------- servers

def peer_alive(c):
	try:
		p = select.poll()
		p.register(c, select.POLLRDHUP | select.POLLHUP | select.POLLERR)
		return not p.poll(0)
	except (OSError, ValueError):
		return False


class SlowServer:
	"""A keep-alive HTTP server holding each response `hold` seconds
	(respond=False: never answering). peak: the most connections open
	at once, counted when each is accepted, connections whose peer has
	already closed left out (a dead worker's are closed by the kernel
	before its supervisor hears of it)."""

	def __init__(self, hold, body_len, respond=True):
		self.hold, self.respond = hold, respond
		self.body = hashlib.sha256(b"slow").digest() * (body_len // 32) + \
		    b"s" * (body_len % 32)
		self.head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % \
		    len(self.body)
		self.lock = threading.Lock()
		self.live = set()
		self.peak = 0
		self.inflight = 0
		self.accepted = 0
		self.srv = h.ScriptedServer(self._handler, "slow")
		self.port = self.srv.port

	def _handler(self, conn, server, idx):
		with self.lock:
			self.live = {c for c in self.live if peer_alive(c)}
			self.live.add(conn)
			self.accepted += 1
			self.peak = max(self.peak, len(self.live))
		try:
			while True:
				try:
					r = h.read_request(conn, timeout=120)
				except (OSError, ValueError):
					return
				if r is None:
					return
				with self.lock:
					self.inflight += 1
				try:
					if not self.respond:
						h.send_and_close(conn, b"", "hold")
						return
					time.sleep(self.hold)
					conn.sendall(self.head + self.body)
				except OSError:
					return
				finally:
					with self.lock:
						self.inflight -= 1
		finally:
			with self.lock:
				self.live.discard(conn)

	def reset_peak(self):
		with self.lock:
			self.live = {c for c in self.live if peer_alive(c)}
			self.peak = len(self.live)

	def wait_inflight(self, n, timeout):
		deadline = time.monotonic() + timeout
		while time.monotonic() < deadline:
			with self.lock:
				if self.inflight >= n:
					return True
			time.sleep(0.01)
		return False


# ---------------------------------------------------------------- notify

class Notify:
	"""A NOTIFY_SOCKET: every datagram as (monotonic time, text)."""

	def __init__(self, path):
		self.path = path
		self.s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
		self.s.bind(path)
		self.s.settimeout(0.1)
		self.msgs = []
		self.lock = threading.Lock()
		self.hook = None
		self.stopping = threading.Event()
		self.t = threading.Thread(target=self._run, daemon=True)
		self.t.start()
		h._cleanups.append(self.close)

	def _run(self):
		while not self.stopping.is_set():
			try:
				d = self.s.recv(65536)
			except socket.timeout:
				continue
			except OSError:
				return
			t = time.monotonic()
			text = d.decode("utf-8", "replace")
			if self.hook is not None:
				try:
					self.hook(t, text)
				except Exception:
					pass
			with self.lock:
				self.msgs.append((t, text))

	def find(self, pred, after=0.0):
		with self.lock:
			return [(t, m) for t, m in self.msgs if t >= after and pred(m)]

	def wait(self, pred, timeout, after=0.0):
		deadline = time.monotonic() + timeout
		while True:
			f = self.find(pred, after)
			if f or time.monotonic() > deadline:
				return f[0] if f else None
			time.sleep(0.01)

	def close(self):
		self.stopping.set()
		self.t.join(2)
		self.s.close()


def has_line(line):
	return lambda m: line in m.split("\n")


# ---------------------------------------------------------------- cases

def case_names(res, d, ws, n):
	sup = d.pid
	res.check("workers = %d: %d workers, named \"hpoold: worker 1..%d\"" % (
	    n, n, n), sorted(ws.values()) == list(range(1, n + 1)),
	    {p: cmdline(p) for p in children(sup)})
	res.check("...the supervisor is \"hpoold: supervisor\", comm "
	    "hpoold-supervis", cmdline(sup) == "hpoold: supervisor" and
	    comm(sup) == "hpoold-supervis", (cmdline(sup), comm(sup)))
	res.check("...workers' comm is hpoold-worker-K",
	    all(comm(p) == "hpoold-worker-%d" % k for p, k in ws.items()),
	    {p: comm(p) for p in ws})
	res.check("...workers are children of the supervisor (ppid)",
	    all((proc_stat(p) or (0, 0))[1] == sup for p in ws),
	    {p: proc_stat(p) for p in ws})
	res.check("...workers have NoNewPrivs: 1",
	    all(nonewprivs(p) == "1" for p in ws),
	    {p: nonewprivs(p) for p in ws})


def case_sequential(env, d, ws):
	before = len(env.access_log())
	bad = [k for k in (one(d.sock, env.nginx_port, "/files/w.bin",
	    FILE_SIZE) for _ in range(20)) if k != "ok"]
	if bad:
		return "failed: %s" % bad[:3]
	rows = env.access_log_wait(before + 20)[before:]
	conns = {r["connection"] for r in rows}
	if len(rows) != 20 or not 1 <= len(conns) <= len(ws):
		return "%d rows on upstream connections %s" % (len(rows),
		    sorted(conns))


def case_spread(res, env, d, ws, nsess=64, per=5):
	size, digest = env.files["w.bin"]
	# each from a thread of its own, as concurrent clients do (a burst
	# of connects from one thread mostly lands on one worker: the first
	# to wake accepts all that wait)
	sessions = [None] * nsess

	def connect(i):
		try:
			sessions[i] = pc.Session(d.sock, 30)
		except OSError:
			pass
	ts = [threading.Thread(target=connect, args=(i,)) for i in
	    range(nsess)]
	for t in ts:
		t.start()
	for t in ts:
		t.join(30)
	if None in sessions:
		for s in sessions:
			if s is not None:
				s.close()
		res.fail("spread: setup", "%d sessions could not connect" %
		    sessions.count(None))
		return
	try:
		for s in sessions:
			s.send(pc.hello() + pc.open_("127.0.0.1", env.nginx_port))
		for s in sessions:
			handshake(s)
		who = owners([s.s for s in sessions], list(ws))
		per_worker = {ws[p]: who.count(p) for p in ws}
		res.check("%d concurrent sessions spread over both workers "
		    "(sock_diag peers: %s)" % (nsess, per_worker),
		    all(v > 0 for v in per_worker.values()) and
		    sum(per_worker.values()) == nsess, (per_worker, who.count(
		    None)))
		errors = []
		lock = threading.Lock()

		def run(s):
			try:
				for _ in range(per):
					s.send(req("/files/w.bin"))
					r = s.response()
					if kind_of(r, size) != "ok" or hashlib.sha256(
					    r["body"]).hexdigest() != digest:
						raise AssertionError(kind_of(r, size))
			except Exception as e:
				with lock:
					errors.append("%s: %s" % (type(e).__name__, e))
		ts = [threading.Thread(target=run, args=(s,)) for s in sessions]
		for t in ts:
			t.start()
		for t in ts:
			t.join(60)
		res.check("...%d sessions x %d requests: every body whole" % (
		    nsess, per), not errors and not any(t.is_alive() for t in
		    ts), errors[:3])
	finally:
		for s in sessions:
			s.close()


def case_kill_worker(res, env, d):
	"""kill -9 of worker 1 while 64 sessions make requests of a server
	answering after 50 ms."""
	srv = SlowServer(0.05, 64 << 10)
	ws = d.wait_workers(2)
	# a worker younger than 5 s counts as a crash loop: older, it is
	# replaced at once
	left = d.started + 5.5 - time.monotonic()
	if left > 0:
		time.sleep(left)
	load = Load(d.sock, 64, srv.port, "/k", len(srv.body), True).start()
	try:
		load.wait_ok(300, 15)
		time.sleep(0.2)
		victim = [p for p, k in ws.items() if k == 1][0]
		with load.lock:
			before = len(failures(load.results))
			socks = [s.s if s is not None else None for s in
			    load.sessions]
		who = owners([s for s in socks if s is not None], list(ws))
		on = {}
		it = iter(who)
		for i, s in enumerate(socks):
			on[i] = next(it) if s is not None else None
		t_kill = time.monotonic()
		os.kill(victim, signal.SIGKILL)
		new = None
		while time.monotonic() < t_kill + 3:
			w = workers_of(d.pid)
			c = [p for p, k in w.items() if k == 1 and p != victim]
			if c:
				new, t_new = c[0], time.monotonic()
				break
			time.sleep(0.002)
		time.sleep(max(0, t_kill + 1.5 - time.monotonic()))
	finally:
		results = load.stop()
	res.check("load before the kill: no failure", before == 0,
	    summary([r for r in results if r[2] < t_kill]))
	res.check("kill -9 worker 1 (pid %d): a new worker 1 within %.1f s "
	    "(%s)" % (victim, REPLACED_WITHIN, "%.3f s" % (t_new - t_kill) if
	    new else "none"), new is not None and t_new - t_kill <=
	    REPLACED_WITHIN, (new, workers_of(d.pid)))
	m = d.wait_log(r"worker 1 \(pid %d\) killed by signal 9" % victim, 3)
	res.check("...the log says worker 1 (pid %d) killed by signal 9" %
	    victim, m is not None, h.tail(d.log, 5))
	victims = {i for i, p in on.items() if p == victim}
	others = {i for i, p in on.items() if p is not None and p != victim}
	fails = failures(results)
	late = [r for r in fails if not (t_kill <= r[2] <= t_kill + EOF_WITHIN)]
	wrong = [r for r in fails if r[3] not in FAIL_KINDS]
	worst = max([r[2] - t_kill for r in fails] or [0])
	res.check("...%d of 64 sessions were on it (sock_diag); %d failures, "
	    "each EOF/reset within %.1f s of the kill (latest %.0f ms)" % (
	    len(victims), len(fails), EOF_WITHIN, worst * 1000),
	    fails and not late and not wrong, "late %s wrong %s; %s" % (
	    [(r[0], round(r[2] - t_kill, 3), r[3]) for r in late[:4]],
	    wrong[:4], summary(results)))
	failed_threads = {r[0] for r in fails}
	res.check("...exactly the sessions held by the dead worker failed, "
	    "each once", failed_threads == victims and len(fails) ==
	    len(victims) and len(others) + len(victims) == 64,
	    "failed %s, on the victim %s, unknown owner %s" % (
	    sorted(failed_threads), sorted(victims), sorted(i for i, p in
	    on.items() if p is None)))
	after = [r for r in results if r[1] > t_kill + 0.2]
	res.check("...requests started after the kill all succeed (%d)" %
	    len(after), after and not failures(after), summary(after))
	ks = many(d.sock, srv.port, "/k2", len(srv.body), 16)
	res.check("...16 new sessions after the replacement all succeed",
	    ks == ["ok"] * 16, ks)
	# the new worker accepts: with the other one stopped, only it can
	ws = d.wait_workers(2)
	other = [p for p, k in ws.items() if k == 2]
	if new is None or not other:
		res.fail("...the new worker accepts", "no new worker")
		return
	os.kill(other[0], signal.SIGSTOP)
	try:
		k = one(d.sock, env.nginx_port, SMALL_PATH, SMALL_SIZE, 5)
	finally:
		os.kill(other[0], signal.SIGCONT)
	res.check("...the new worker accepts (served with worker 2 stopped)",
	    k == "ok", k)


def case_crash_loop(res, env):
	d = Daemon(env, "crash", "workers = 2\n")
	ws = d.start(2)
	gaps = []
	victim = [p for p, k in ws.items() if k == 1][0]
	t_kill = None
	try:
		for i in range(4):
			known = set(children(d.pid))
			t_kill = time.monotonic()
			os.kill(victim, signal.SIGKILL)
			nxt = None
			while time.monotonic() < t_kill + 5 and nxt is None:
				for p in children(d.pid) - known:
					if not gone(p):
						nxt = p
						break
				else:
					time.sleep(0.002)
			if nxt is None:
				break
			gaps.append(time.monotonic() - t_kill)
			st = proc_stat(nxt)
			if st:
				_seen.setdefault(nxt, st[2])
			victim = nxt
	except OSError as e:
		res.fail("crash loop: kill", e)
	want = [100, 200, 400, 800]
	res.check("crash loop: 4 workers killed as they appear, the next "
	    "started %s ms later: growing gaps near %s" % ([int(g * 1000)
	    for g in gaps], want), len(gaps) == 4 and all(g1 < g2 for g1, g2
	    in zip(gaps, gaps[1:])) and all(w / 1000 * 0.8 <= g <= w / 1000 +
	    0.5 for g, w in zip(gaps, want)), (gaps, h.tail(d.log, 8)))
	text = d.text()
	missing = [i + 1 for i in range(4) if ("workers are dying within 5000 "
	    "ms of starting (%d in a row): starting the next in %d ms" % (
	    i + 1, want[i])) not in text]
	res.check("...logged: workers are dying within 5000 ms of starting "
	    "(N in a row): starting the next in 100..800 ms", not missing,
	    "missing %s%s" % (missing, h.tail(d.log, 8)))
	try:
		d.wait_workers(2, time.monotonic() + 5)
		k = one(d.sock, env.nginx_port, SMALL_PATH, SMALL_SIZE, 10)
	except h.SetupError as e:
		k = str(e)
	res.check("...then 2 workers run and serve", k == "ok", k)
	rc = d.stop()
	res.check("...and it exits 0 on SIGTERM", rc == 0, (rc, h.tail(d.log,
	    5)))


def case_supervisor_dies(res, env):
	d = Daemon(env, "orphans", "workers = 2\n")
	ws = d.start(2)
	srv = SlowServer(2.0, 200 << 10)
	out = {}

	def slow():
		out["k"] = one(d.sock, srv.port, "/slow", len(srv.body), 20)
	t = threading.Thread(target=slow)
	t.start()
	late = {}
	try:
		if not srv.wait_inflight(1, 5):
			res.fail("supervisor killed: setup", "the slow request "
			    "never reached the server")
			return
		t_kill = time.monotonic()
		d.p.kill()
		d.p.wait(5)
		forget(d.p)
		time.sleep(0.3)

		def newcomer():
			late["k"] = one(d.sock, env.nginx_port, SMALL_PATH,
			    SMALL_SIZE, DRAIN_WITHIN + 3)
		t2 = threading.Thread(target=newcomer)
		t2.start()
		t.join(10)
		deadline = t_kill + DRAIN_WITHIN
		while time.monotonic() < deadline and not all(gone(p) for p in
		    ws):
			time.sleep(0.05)
		t_gone = time.monotonic()
		t2.join(5)
	finally:
		t.join(10)
	left = [p for p in ws if not gone(p)]
	res.check("supervisor killed (-9): the workers exit by themselves "
	    "within %.0f s (%.1f s)" % (DRAIN_WITHIN, t_gone - t_kill),
	    not left, {p: (proc_stat(p), cmdline(p)) for p in left})
	res.check("...the request running then finishes, body whole",
	    out.get("k") == "ok", "%s%s" % (out.get("k"), h.tail(d.log, 4)))
	res.check("...a client arriving 0.3 s after the death is not served "
	    "(they stopped accepting)", late.get("k") not in ("ok", None),
	    late.get("k"))


def case_reload(res, env):
	d = Daemon(env, "reload", "workers = 2\nmax_per_host = 4\n"
	    "max_idle_per_host = 4\n")
	ws = d.start(2)
	nginx = env.nginx_port
	small = SMALL_PATH
	# bad files: refused, old settings kept, nothing fails
	probe = SlowServer(0.3, 1000)
	bad = [("max_per_host = 0",
	    "workers = 2\nmax_per_host = 0\nmax_idle_per_host = 4\n", 3,
	    "max_per_host"),
	    ("an unknown setting, after max_per_host = 1",
	    "workers = 2\nmax_per_host = 1\nmax_idle_per_host = 4\n"
	    "no_such_setting = 1\n", 5, "no_such_setting")]
	for what, text, line, setting in bad:
		load = Load(d.sock, 16, nginx, small, SMALL_SIZE, True).start()
		try:
			load.wait_ok(50, 10)
			since = d.log_size()
			d.write_conf(text)
			d.p.send_signal(signal.SIGHUP)
			m = d.wait_log(r"^.*reload refused, keeping the old "
			    r"settings: .*$", 5, since)
			time.sleep(0.3)
		finally:
			results = load.stop()
		line_text = m.group(0) if m else None
		res.check("SIGHUP with %s: \"reload refused, keeping the old "
		    "settings\" naming %s, line %d and %s" % (what, d.conf, line,
		    setting), line_text is not None and ("%s:%d:" % (d.conf,
		    line)) in line_text and setting in line_text, line_text or
		    h.tail(d.log, 5))
		res.check("...16 clients under load: no request failed (%d)" %
		    len(results), results and not failures(results),
		    summary(results))
		res.check("...same workers", workers_of(d.pid) == ws,
		    (ws, workers_of(d.pid)))
	ks = many(d.sock, probe.port, "/p", len(probe.body), 8)
	res.check("...old settings kept: 8 slow requests at once, the server "
	    "sees max_per_host = 4 connections at most, 4 reached (peak %d)" %
	    probe.peak, ks == ["ok"] * 8 and probe.peak == 4, (ks, probe.peak))

	# a good file: live settings, same workers, warm pools (both
	# workers hold a pooled connection to nginx first)
	for _ in range(30):
		if all(tcp_ports_to(p, nginx) for p in ws):
			break
		many(d.sock, nginx, small, SMALL_SIZE, 8)
	res.check("reload: setup: both workers hold pooled connections to "
	    "nginx", all(tcp_ports_to(p, nginx) for p in ws),
	    {p: tcp_ports_to(p, nginx) for p in ws})
	held = pc.Session(d.sock, 10)
	try:
		held.send(pc.hello() + pc.open_("127.0.0.1", nginx))
		handshake(held)
		held.send(req(small + "?held1"))
		k1 = kind_of(held.response(), SMALL_SIZE)
		warm = set()
		for p in ws:
			warm.update(tcp_ports_to(p, nginx))
		since = d.log_size()
		d.write_conf("workers = 2\nmax_per_host = 2\n"
		    "max_idle_per_host = 4\nio_timeout = 1\n")
		d.p.send_signal(signal.SIGHUP)
		m = d.wait_log(r"^.*reloaded .*$", 5, since)
		held.send(req(small + "?held2"))
		k2 = kind_of(held.response(), SMALL_SIZE)
	finally:
		held.close()
	res.check("SIGHUP with max_per_host 4 -> 2, io_timeout 1: \"reloaded "
	    "%s\"" % d.conf, m is not None and m.group(0).endswith(
	    "reloaded %s" % d.conf), m.group(0) if m else h.tail(d.log, 5))
	res.check("...same worker processes", workers_of(d.pid) == ws,
	    (ws, workers_of(d.pid)))
	n0 = len(env.access_log())
	seq = [one(d.sock, nginx, small + "?seq%d" % i, SMALL_SIZE) for i in
	    range(6)]
	rows = env.access_log_wait(n0 + 6)
	r1 = [r for r in rows if "held1" in r["request"]]
	r2 = [r for r in rows if "held2" in r["request"]]
	res.check("...a session from before the reload goes on, on its "
	    "pooled connection", k1 == k2 == "ok" and r1 and r2 and
	    r1[0]["connection"] == r2[0]["connection"], (k1, k2, r1, r2))
	rows = [r for r in rows[n0:] if "?seq" in r["request"]]
	res.check("...new sequential sessions: pools stay warm, nginx sees no "
	    "new connection (both workers held one)", seq == ["ok"] * 6 and
	    len(rows) == 6 and all(r["port"] in warm for r in rows), (seq,
	    [r["port"] for r in rows], sorted(warm)))
	silent = SlowServer(0, 100, respond=False)
	t0 = time.monotonic()
	k = one(d.sock, silent.port, "/silent", 0, 20)
	took = time.monotonic() - t0
	res.check("...io_timeout = 1 applies: a silent server's request ends "
	    "in %.1f s (%s)" % (took, k), k.startswith("ERROR") and took < 4,
	    (k, took))
	limit = SlowServer(0.3, 1000)
	load = Load(d.sock, 16, nginx, small, SMALL_SIZE, True).start()
	try:
		load.wait_ok(50, 10)
		since = d.log_size()
		d.write_conf("workers = 2\nmax_per_host = 1\n"
		    "max_idle_per_host = 4\n")
		d.p.send_signal(signal.SIGHUP)
		m = d.wait_log(r"reloaded ", 5, since)
		time.sleep(0.3)
	finally:
		results = load.stop()
	res.check("SIGHUP with max_per_host = 1 under load from 16 clients: "
	    "no request failed (%d)" % len(results), m and results and
	    not failures(results), summary(results))
	ks = many(d.sock, limit.port, "/one", len(limit.body), 8)
	res.check("...then 8 slow requests at once: the server sees 1 "
	    "connection at a time (peak %d)" % limit.peak, ks == ["ok"] * 8
	    and limit.peak == 1, (ks, limit.peak))

	# workers 2 -> 3: a new generation, the old one drains
	load = Load(d.sock, 16, nginx, small, SMALL_SIZE, False).start()
	new = {}
	try:
		load.wait_ok(50, 10)
		since = d.log_size()
		d.write_conf("workers = 3\nmax_per_host = 4\n"
		    "max_idle_per_host = 4\n")
		d.p.send_signal(signal.SIGHUP)
		m = d.wait_log(r"^.*reloaded .*$", 5, since)
		deadline = time.monotonic() + DRAIN_WITHIN
		while time.monotonic() < deadline:
			new = workers_of(d.pid)
			if all(gone(p) for p in ws) and len(new) == 3:
				break
			time.sleep(0.05)
		time.sleep(0.3)
	finally:
		results = load.stop()
	res.check("SIGHUP with workers 2 -> 3: \"reloaded %s: 3 workers "
	    "replace 2\"" % d.conf, m is not None and m.group(0).endswith(
	    "reloaded %s: 3 workers replace 2" % d.conf), m.group(0) if m
	    else h.tail(d.log, 5))
	res.check("...3 new worker processes (1..3), the old 2 exit",
	    sorted(new.values()) == [1, 2, 3] and not set(new) & set(ws) and
	    all(gone(p) for p in ws), (ws, new, [p for p in ws if not
	    gone(p)]))
	res.check("...16 clients (a session a request): no request failed "
	    "(%d)" % len(results), results and not failures(results),
	    summary(results))
	text = d.text()
	res.check("...each old worker logs it exited",
	    all(re.search(r"worker %d \(pid %d\) exited" % (k, p), text) for
	    p, k in ws.items()), h.tail(d.log, 8))
	rc = d.stop()
	res.check("...exits 0 on SIGTERM", rc == 0, (rc, h.tail(d.log, 5)))


def case_sigterm(res, env):
	d = Daemon(env, "term", "workers = 2\n", verbose=True)
	ws = d.start(2)
	sessions = d.probes
	for i in range(10):
		k = one(d.sock, env.nginx_port, SMALL_PATH, SMALL_SIZE)
		sessions += 1
		if k != "ok":
			res.fail("SIGTERM: setup", k)
	srv = SlowServer(1.5, 200 << 10)
	out = [None] * 4

	def slow(i):
		out[i] = one(d.sock, srv.port, "/slow%d" % i, len(srv.body), 20)
	ts = [threading.Thread(target=slow, args=(i,)) for i in range(4)]
	for t in ts:
		t.start()
	sessions += 4
	srv.wait_inflight(4, 5)
	t0 = time.monotonic()
	d.p.send_signal(signal.SIGTERM)
	while os.path.exists(d.sock) and time.monotonic() < t0 + 2:
		time.sleep(0.002)
	t_gone = time.monotonic() - t0
	c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
	c.settimeout(2)
	try:
		c.connect(d.sock)
		refused = "connected"
	except (FileNotFoundError, ConnectionRefusedError) as e:
		refused = type(e).__name__
	except OSError as e:
		refused = "connect: %r" % e
	finally:
		c.close()
	res.check("SIGTERM: the socket file goes at once (%.0f ms) and a new "
	    "client is refused (%s)" % (t_gone * 1000, refused), t_gone < 0.5
	    and refused in ("FileNotFoundError", "ConnectionRefusedError"),
	    refused)
	for t in ts:
		t.join(25)
	res.check("...the 4 requests running finish, bodies whole", out ==
	    ["ok"] * 4, out)
	try:
		rc = d.p.wait(20)
	except subprocess.TimeoutExpired:
		rc = "still running"
	forget(d.p)
	res.check("...exit status 0", rc == 0, (rc, h.tail(d.log, 6)))
	text = d.text()
	m = re.search(r"^hpoold: info: stopped: (\d+) sessions, (\d+) "
	    r"requests", text, re.M)
	res.check("...\"stopped: %d sessions, 14 requests\": every worker's "
	    "sessions counted" % sessions, m is not None and
	    int(m.group(1)) == sessions and int(m.group(2)) == 14,
	    m.group(0) if m else h.tail(d.log, 5))
	res.check("...each worker logs it exited",
	    all(re.search(r"worker %d \(pid %d\) exited" % (k, p), text) for
	    p, k in ws.items()), h.tail(d.log, 8))
	tags = set(re.findall(r"^hpoold\[worker (\d+)\]: ", text, re.M))
	odd = [l for l in text.splitlines() if l and not re.match(
	    r"hpoold(\[worker \d+\])?: (error|warning|info|debug|fatal): ", l)]
	res.check("...worker lines start \"hpoold[worker K]: \" (seen K = %s), "
	    "the others \"hpoold: \"" % sorted(tags), tags and tags <= {"1",
	    "2"} and not odd, odd[:5])


def case_global_limit(res, env):
	d = Daemon(env, "limit", "workers = 3\nmax_per_host = 4\n"
	    "max_idle_per_host = 4\n")
	ws = d.start(3)
	srv = SlowServer(0.3, 10000)
	ks = many(d.sock, srv.port, "/a", len(srv.body), 40)
	res.check("max_per_host = 4, 3 workers, 40 slow requests at once: "
	    "all succeed", ks == ["ok"] * 40, [k for k in ks if k != "ok"][:5])
	res.check("...the server never sees more than 4 connections (peak "
	    "%d)" % srv.peak, 2 <= srv.peak <= 4, srv.peak)

	# again, killing the worker that holds most connections mid-way
	srv.reset_peak()
	time.sleep(max(0, d.started + 5.5 - time.monotonic()))
	sessions = [pc.Session(d.sock, 30) for _ in range(40)]
	kinds = [None] * 40
	try:
		for s in sessions:
			s.send(pc.hello() + pc.open_("127.0.0.1", srv.port))
		for s in sessions:
			handshake(s)
		who = owners([s.s for s in sessions], list(ws))

		def run(i):
			try:
				sessions[i].send(req("/b%d" % i))
				kinds[i] = kind_of(sessions[i].response(),
				    len(srv.body))
			except (OSError, Eof) as e:
				kinds[i] = exc_kind(e)
		ts = [threading.Thread(target=run, args=(i,)) for i in range(40)]
		for t in ts:
			t.start()
		time.sleep(0.6)
		victim = max(ws, key=lambda p: len(tcp_ports_to(p, srv.port)))
		held = len(tcp_ports_to(victim, srv.port))
		os.kill(victim, signal.SIGKILL)
		for t in ts:
			t.join(40)
	finally:
		for s in sessions:
			s.close()
	bad = [(i, k) for i, k in enumerate(kinds) if k != "ok" and
	    (who[i] != victim or k not in FAIL_KINDS)]
	res.check("...again, worker %d (holding %d connections) killed "
	    "mid-way: only its sessions fail, with EOF/reset (%d of its %d)" % (
	    ws[victim], held, sum(1 for k in kinds if k != "ok"),
	    who.count(victim)), not bad and None not in kinds, (bad[:5],
	    kinds.count(None)))
	res.check("...still never more than 4 connections (peak %d)" %
	    srv.peak, srv.peak <= 4, srv.peak)
	try:
		d.wait_workers(3, time.monotonic() + 5)
	except h.SetupError as e:
		res.fail("...replaced", e)
	srv.reset_peak()
	ks = many(d.sock, srv.port, "/c", len(srv.body), 12)
	res.check("...then 12 slow requests at once: all succeed and 4 "
	    "connections are open again, no more (peak %d): the dead worker's "
	    "counts were given back" % srv.peak, ks == ["ok"] * 12 and
	    srv.peak == 4, (ks, srv.peak))
	rc = d.stop()
	res.check("...exits 0 on SIGTERM", rc == 0, (rc, h.tail(d.log, 5)))


def case_notify(res, env):
	path = env.path("sd-notify.sock")
	nt = Notify(path)
	d = Daemon(env, "notify", "workers = 2\n", extra_env={
	    "NOTIFY_SOCKET": path, "WATCHDOG_USEC": "3000000"})
	at_ready = {}

	def hook(t, text):
		if "READY=1" in text.split("\n") and "w" not in at_ready:
			at_ready["w"] = workers_of(d.pid) if d.p else None
	nt.hook = hook
	ws = d.start(2)
	r = nt.wait(has_line("READY=1"), 10)
	w = at_ready.get("w")
	res.check("NOTIFY_SOCKET: READY=1 once the workers run (%s at "
	    "READY)" % (sorted(w.values()) if w else w), r is not None and w
	    and sorted(w.values()) == [1, 2], (r, w))
	res.check("...hpoold stays in the foreground (the supervisor is the "
	    "process started)", cmdline(d.pid) == "hpoold: supervisor",
	    cmdline(d.pid))
	t0 = time.monotonic()
	time.sleep(3.5)
	st = [t for t, m in nt.find(lambda m: any(l.startswith("STATUS=") and
	    "workers" in l for l in m.split("\n")), t0)]
	gaps = [b - a for a, b in zip(st, st[1:])]
	res.check("...STATUS=... workers ... every ~1 s (%d in 3.5 s)" %
	    len(st), len(st) >= 2 and max(gaps or [9]) <= 1.6, (gaps,
	    nt.find(lambda m: "STATUS" in m)[-2:]))
	wd = [t for t, m in nt.find(has_line("WATCHDOG=1"), t0)]
	gaps = [b - a for a, b in zip(wd, wd[1:])]
	res.check("...WATCHDOG=1 every quarter of WATCHDOG_USEC, ~0.75 s "
	    "(gaps %s)" % [round(g, 2) for g in gaps], len(wd) >= 3 and
	    all(0.5 <= g <= 1.0 for g in gaps), gaps)

	t_hup = time.monotonic()
	d.p.send_signal(signal.SIGHUP)
	rl = nt.wait(has_line("RELOADING=1"), 3, t_hup)
	mono = None
	if rl:
		m = re.search(r"^MONOTONIC_USEC=(\d+)$", rl[1], re.M)
		mono = int(m.group(1)) if m else None
	rd = nt.wait(has_line("READY=1"), 5, rl[0] if rl else t_hup)
	res.check("...SIGHUP: RELOADING=1 with MONOTONIC_USEC (now), then "
	    "READY=1", rl and mono is not None and abs(mono / 1e6 - t_hup) <
	    2 and rd is not None, (rl, mono, t_hup, rd))

	# a worker that hangs: keep-alives stop, it is killed and replaced
	time.sleep(1)
	ws = d.wait_workers(2)
	stuck = [p for p, k in ws.items() if k == 1][0]
	since = d.log_size()
	t_stop = time.monotonic()
	os.kill(stuck, signal.SIGSTOP)
	new = None
	try:
		m = d.wait_log(r"^.*worker 1 \(pid %d\) has not answered for .* "
		    r"ms: killing it$" % stuck, 10, since)
		deadline = time.monotonic() + 3
		while time.monotonic() < deadline and new is None:
			c = [p for p, k in workers_of(d.pid).items() if k == 1 and
			    p != stuck]
			new = c[0] if c else None
			time.sleep(0.01)
		t_new = time.monotonic()
		back = nt.wait(has_line("WATCHDOG=1"), 4, t_new)
	finally:
		if not gone(stuck):
			os.kill(stuck, signal.SIGCONT)
	res.check("...SIGSTOP worker 1: \"has not answered for ... ms: "
	    "killing it\"", m is not None, h.tail(d.log, 5))
	res.check("...a new worker 1 starts", new is not None,
	    workers_of(d.pid))
	wd = [t for t, _ in nt.find(has_line("WATCHDOG=1"), t_stop - 2)]
	# A stuck worker misses the ping sent within 0.5 s of the stop;
	# 0.5 s later (ANSWER_MS) no keep-alive goes out, until the
	# replacement answers. The gap must stay under WATCHDOG_USEC, or
	# systemd would kill the service that just recovered.
	held = [t for t in wd if t_stop + 1.05 <= t < t_new]
	pts = [t for t in wd if t < t_stop][-1:] + [t for t in wd if
	    t_stop <= t <= (back[0] if back else t_new)]
	gaps = [b - a for a, b in zip(pts, pts[1:])]
	detail = "WATCHDOG=1 at %s s from the SIGSTOP, new worker at %.2f s, "\
	    "resumed at %s; %s" % ([round(t - t_stop, 2) for t in wd],
	    t_new - t_stop, round(back[0] - t_stop, 2) if back else None,
	    m.group(0) if m else None)
	res.check("...no WATCHDOG=1 from 1 s after the SIGSTOP until the "
	    "replacement, then it resumes", back is not None and not held,
	    detail)
	res.check("...the longest gap (%.1f s) stays under WATCHDOG_USEC (3 s)"
	    % max(gaps or [0]), 0 < max(gaps or [0]) < 3.0, detail)
	t_term = time.monotonic()
	d.p.send_signal(signal.SIGTERM)
	s = nt.wait(has_line("STOPPING=1"), 5, t_term)
	try:
		rc = d.p.wait(20)
	except subprocess.TimeoutExpired:
		rc = "still running"
	forget(d.p)
	res.check("...SIGTERM: STOPPING=1, exit 0", s is not None and rc == 0,
	    (s, rc))
	bad = d.sanitizer_lines()
	res.check("...log has no sanitizer report", not bad, bad[:5])


def unix_listening(path):
	"""A socket bound to path is listening (__SO_ACCEPTCON in
	/proc/net/unix's Flags)."""
	try:
		with open("/proc/net/unix") as f:
			for line in f:
				x = line.split()
				if len(x) >= 8 and x[-1] == path and \
				    int(x[3], 16) & 0x10000:
					return True
	except (OSError, ValueError):
		pass
	return False


def case_socket_activation(res, env):
	ssa = shutil.which("systemd-socket-activate") or \
	    "/usr/bin/systemd-socket-activate"
	if not os.access(ssa, os.X_OK):
		res.fail("socket activation", "no systemd-socket-activate")
		return
	conf = env.path("act.conf")
	with open(conf, "w") as f:
		f.write("[hpoold]\nworkers = auto\n")
	path = env.path("act.sock")
	log = env.path("act.log")
	with open(log, "ab") as out:
		p = h.spawn([ssa, "-l", path, h.HPOOLD, "-c", conf,
		    "--foreground"], stdin=subprocess.DEVNULL, stdout=out,
		    stderr=out, env=clean_env())
	# the path appears at bind(), before listen(): wait for the listening
	# flag in /proc/net/unix (a probe by connect would start hpoold)
	deadline = time.monotonic() + 10
	while not unix_listening(path) and time.monotonic() < deadline and \
	    p.poll() is None:
		time.sleep(0.005)
	# at once: hpoold is not even started before this connection
	k = one(path, env.nginx_port, SMALL_PATH, SMALL_SIZE, 20)
	res.check("socket activation: a client connecting before hpoold "
	    "runs is served", k == "ok", (k, h.tail(log, 5)))
	ncpu = max(1, min(64, os.sysconf("SC_NPROCESSORS_ONLN")))
	w = {}
	deadline = time.monotonic() + 10
	while time.monotonic() < deadline:
		w = workers_of(p.pid)
		if len(w) == ncpu:
			break
		time.sleep(0.02)
	res.check("...hpoold runs in place (same PID, \"hpoold: supervisor\") "
	    "with workers = auto: %d workers, one per core" % ncpu,
	    cmdline(p.pid) == "hpoold: supervisor" and sorted(w.values()) ==
	    list(range(1, ncpu + 1)), (cmdline(p.pid), w))
	ks = many(path, env.nginx_port, SMALL_PATH, SMALL_SIZE, 8)
	res.check("...and serves", ks == ["ok"] * 8, ks)
	rc = h.stop_process(p, 20)
	forget(p)
	res.check("...SIGTERM: exit 0, and the socket file systemd made is "
	    "left in place", rc == 0 and os.path.exists(path) and
	    stat.S_ISSOCK(os.lstat(path).st_mode), (rc, os.path.exists(path),
	    h.tail(log, 5)))


def case_values(res, env):
	conf = env.path("values.conf")
	for v, ok in (("0", False), ("65", False), ("two", False),
	    ("auto", True), ("64", True)):
		with open(conf, "w") as f:
			f.write("[hpoold]\n\nworkers = %s\n" % v)
		cp = subprocess.run([h.HPOOLD, "-t", "-c", conf],
		    capture_output=True, timeout=10)
		err = cp.stderr.decode(errors="replace")
		if ok:
			res.check("workers = %s: accepted" % v, cp.returncode == 0,
			    (cp.returncode, err))
		else:
			res.check("workers = %s: refused, naming the setting and "
			    "line 3" % v, cp.returncode == 1 and "workers" in err
			    and (conf + ":3:") in err, (cp.returncode, err))


# ---------------------------------------------------------------- main

def body(res):
	env = h.Env(files={"w.bin": FILE_SIZE, SMALL: SMALL_SIZE},
	    daemon=False, echo=False)
	try:
		run_all(res, env)
	finally:
		for d in _daemons:
			try:
				d.stop()
			except Exception:
				pass
		kill_orphans()


def step(res, name, fn, *a):
	"""A group of checks; an exception in it is one failure."""
	try:
		fn(res, *a)
	except h.SetupError as e:
		res.fail(name, e)
	except Exception as e:
		import traceback
		traceback.print_exc()
		res.fail(name, "%s: %s" % (type(e).__name__, e))


def case_main(res, env):
	d = Daemon(env, "main", "workers = 2\nmax_per_host = 200\n"
	    "max_idle_per_host = 200\n")
	ws = d.start(2)
	case_names(res, d, ws, 2)
	res.run("20 sequential sessions: every body whole, at most one "
	    "upstream connection per worker", case_sequential, env, d, ws)
	step(res, "spread", case_spread, env, d, ws)
	step(res, "kill -9 worker", case_kill_worker, env, d)
	rc = d.stop()
	res.check("...main daemon exits 0 on SIGTERM", rc == 0, (rc,
	    h.tail(d.log, 5)))


def run_all(res, env):
	t0 = time.monotonic()
	step(res, "workers = 2", case_main, env)
	step(res, "crash loop", case_crash_loop, env)
	step(res, "supervisor killed", case_supervisor_dies, env)
	step(res, "reload", case_reload, env)
	step(res, "SIGTERM", case_sigterm, env)
	step(res, "global limit", case_global_limit, env)
	step(res, "systemd notify", case_notify, env)
	step(res, "socket activation", case_socket_activation, env)
	case_values(res, env)
	bad = []
	for dd in _daemons:
		bad += dd.sanitizer_lines()
	res.check("no daemon log has a sanitizer report", not bad, bad[:5])
	print("# %.1f s" % (time.monotonic() - t0), flush=True)


if __name__ == "__main__":
	h.main(body)
