#!/usr/bin/env python3
"""Isolation between hpoold's callers: regression cases for eight bugs,
each asserting the FIXED behaviour (so each fails on the daemon that has
the bug). Raw frames through protoclient; a second user (nobody, 65534)
is a python3 child run under setpriv, which needs root.

1. A caller's connect failing synchronously (SOURCE_HOST/SOURCE_PORT
   already in use, numeric host resolved at once) used the freed
   connection: ERROR OSError "[Errno 98] Address already in use", hpoold
   alive, serving, no sanitizer report; 20 times in a row.
2. Connection-bound auth (NTLM, Negotiate, 407 Proxy-Authenticate) does
   not cross users: a connection that carried such a challenge or an
   Authorization: NTLM request is private to its caller's uid. Plain
   connections are shared across uids, unless partition_by_uid = yes.
3. Desync through a lenient upstream (python's http.server never reads a
   GET's body): a GET with a body goes out with Connection: close and is
   not pooled; an HTTP/1.0 keep-alive answer is not pooled.
4. A CONNECT request's connection is never pooled; a 2xx answer to it
   without Content-Length ends at once.
5. One caller cannot exhaust hpoold's descriptors (RLIMIT_NOFILE 1024):
   refused with HpoolPolicyError naming the per-uid limit, another uid
   still served, no busy loop; max_idle caps idle connections in total.
6. Non-idempotent requests are never replayed on a fresh connection
   after a pooled one died under them; protocol version 2's ERROR says
   sent = 2 (may have been processed). GET and POST with Idempotency-Key
   are retried.
7. A session cannot park a frame bigger than max_session_buffer (refused
   from its header); a client's TIMEOUT_MS never extends io_timeout;
   60 hostile sessions cost hpoold < 64 MiB; a 900 KiB REQ_HEAD still
   passes.
8. Source ports below 1024 only for uid 0.

Every server binds 127.0.0.1, every wait is bounded, every process
started here is stopped by PID."""

import json
import os
import resource
import shutil
import socket
import struct
import subprocess
import threading
import time
import http.server

import harness
from harness import Env, SetupError
import protoclient as pc

harness.SCRIPT_DEADLINE = 240	# hard bound; a normal run takes far less
NOBODY = 65534
UNPRIV = ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY,
    "--clear-groups"]
FILE = "a.txt"
FILE_DATA = b"isolation test file\n"
SECRET = b"secret-of-first-user"
POOLED = 0x02		# RESP_END flags
ERRNO98 = "[Errno 98] Address already in use"


class Why(list):
	"""Collects failed expectations; a case returns why.result()."""

	def expect(self, cond, msg):
		if not cond:
			self.append(msg)
		return cond

	def result(self):
		return "; ".join(self) if self else None


def need_root():
	if os.geteuid() != 0:
		return ("this case needs root: it runs a second caller as uid "
		    "%d with setpriv and binds a port below 1024" % NOBODY)
	if shutil.which("setpriv") is None:
		return "this case needs setpriv (util-linux)"
	return None


# ---------------------------------------------------------------- daemons

class CfgEnv(Env):
	"""An Env whose hpoold always runs with its own config file (also when
	revive() restarts it) and, with nofile, under RLIMIT_NOFILE nofile.
	The temp dir is 0755 and the socket 0666 (socket_mode) so that a
	caller running as nobody reaches it."""

	def __init__(self, settings, nofile=None):
		self.nofile = nofile
		Env.__init__(self, files={FILE: FILE_DATA}, daemon=False)
		os.chmod(self.tmp, 0o755)
		self.conf = self.path("hpoold.conf")
		with open(self.conf, "w") as f:
			f.write("[hpoold]\nsocket_mode = 0666\n")
			for k, v in settings.items():
				f.write("%s = %s\n" % (k, v))
		# protoclient for the child running as nobody, where it can
		# read it whatever the source tree's permissions
		self.pydir = self.path("py")
		os.mkdir(self.pydir)
		shutil.copy(os.path.join(os.path.dirname(os.path.abspath(
		    __file__)), "protoclient.py"), self.pydir)
		os.chmod(self.pydir, 0o755)
		os.chmod(os.path.join(self.pydir, "protoclient.py"), 0o644)
		self.start_daemon()

	def start_daemon(self, extra=()):
		if not os.access(harness.HPOOLD, os.X_OK):
			raise SetupError("hpoold not built: %s" % harness.HPOOLD)
		self.daemon_log = self.path("hpoold.log")
		pre = None
		if self.nofile:
			n = self.nofile

			def pre():
				resource.setrlimit(resource.RLIMIT_NOFILE, (n, n))
		with open(self.daemon_log, "ab") as out:
			# one worker process: the sessions, pools and their
			# descriptors are all in it
			self.daemon = harness.spawn([harness.HPOOLD, "--foreground",
			    "--socket", self.socket, "--workers", "1", "--config",
			    self.conf] + list(extra), stdin=subprocess.DEVNULL,
			    stdout=out, stderr=out, preexec_fn=pre)
		try:
			harness.wait_until(lambda: harness.unix_accepts(self.socket),
			    harness.START_TIMEOUT, "hpoold on %s with config %r" % (
			    self.socket, open(self.conf).read()), self.daemon,
			    self.daemon_log)
		except SetupError:
			d, self.daemon = self.daemon, None
			harness.stop_process(d)
			if d in harness._children:
				harness._children.remove(d)
			raise

	def sanitizer_lines(self, since=0):
		with open(self.daemon_log, "rb") as f:
			f.seek(since)
			log = f.read().decode("utf-8", "replace")
		return [l for l in log.splitlines() if "Sanitizer" in l or
		    "runtime error:" in l]

	def log_size(self):
		try:
			return os.path.getsize(self.daemon_log)
		except OSError:
			return 0


# ---------------------------------------------------------------- callers

def req_bytes(method, path, headers=None, body=b"", port=None):
	if headers is None:
		headers = [("Host", "127.0.0.1:%d" % port)]
	d = pc.req_head(method, path, headers)
	if body:
		for i in range(0, len(body), 65536):
			d += pc.frame(pc.REQ_BODY, body[i:i + 65536])
	return d + pc.frame(pc.REQ_END)


def open_bytes(port, src=None, timeout_ms=None):
	if src is not None:
		return pc.open_src("127.0.0.1", port, src[0], src[1],
		    timeout_ms=timeout_ms)
	return pc.open_("127.0.0.1", port, timeout_ms=timeout_ms)


def response(s):
	"""The frames of one response from s, decoded (for the version s
	negotiated: Session2.version, else 1) into the dict Session.response()
	gives; a timeout, an EOF or an OSError is noted in it ("timeout",
	"eof", "oserror") with whatever came before kept ("cut": an
	unfinished response)."""
	frames, extra = [], {}
	while True:
		try:
			f = s.frame()
		except socket.timeout:
			extra["timeout"] = True
			break
		except OSError as e:
			extra["oserror"] = "%s: %s" % (type(e).__name__, e)
			break
		if f is None:
			extra["eof"] = True
			break
		frames.append(f)
		if f[0] in (pc.RESP_END, pc.ERROR):
			break
	dec = pc.responses_from_frames(frames, getattr(s, "version", None) or 1)
	r = dec["responses"][0] if dec["responses"] else {"status": None,
	    "headers": [], "body": b"", "error": None, "err": None,
	    "flags": None}
	r.update(extra)
	r["frame_types"] = [t for t, _ in frames]
	return r


def one(sock, port, method="GET", path="/", headers=None, body=b"",
    src=None, v2=False, timeout=5.0, timeout_ms=None):
	"""One request on a new session as this process (root), HELLO(1, 2)
	if v2 else HELLO(1, 1). The result is response()'s dict with "hello"
	(the version HELLO_OK chose); an ERROR in place of HELLO_OK or
	OPEN_OK is returned as the response ("at_open")."""
	s = None
	try:
		try:
			s = pc.Session2(sock, timeout, hi=2 if v2 else 1)
			ver, err = s.handshake(open_bytes(port, src, timeout_ms))
		except (OSError, AssertionError) as e:
			return {"status": None, "error": None, "err": None,
			    "body": b"", "flags": None, "hello": None,
			    "oserror": "handshake: %s: %s" % (type(e).__name__, e)}
		if err is not None:
			return {"status": None, "error": (err["name"],
			    err["message"]), "err": err, "body": b"", "flags": None,
			    "hello": ver, "at_open": True}
		s.send(req_bytes(method, path, headers, body, port))
		r = response(s)
		r["hello"] = ver
		return r
	finally:
		if s is not None:
			s.close()


def show(r):
	"""A response dict, short, for failure details."""
	out = {k: r.get(k) for k in ("status", "error", "flags", "hello",
	    "timeout", "oserror", "eof", "cut", "at_open") if r.get(k) is not
	    None}
	if r.get("err") and r["err"].get("sent") is not None:
		out["sent"] = r["err"]["sent"]
	if r.get("body"):
		out["body"] = r["body"][:60]
	return repr(out)


CHILD = r'''
import json, os, socket, sys, time
sys.path.insert(0, sys.argv[1])
import protoclient as pc
path, data = sys.argv[2], bytes.fromhex(sys.argv[3])
ends, limit = int(sys.argv[4]), float(sys.argv[5])
out = {"uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups(),
    "how": None}
buf = b""
t0 = time.monotonic()
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    s.settimeout(limit)
    s.connect(path)
    s.sendall(data)
    while True:
        frames, _ = pc.split_frames(buf)
        if sum(1 for t, _ in frames if t in (pc.RESP_END, pc.ERROR)) >= ends:
            out["how"] = "done"
            break
        left = t0 + limit - time.monotonic()
        if left <= 0:
            out["how"] = "timeout"
            break
        s.settimeout(left)
        try:
            b = s.recv(65536)
        except socket.timeout:
            out["how"] = "timeout"
            break
        if not b:
            out["how"] = "eof"
            break
        buf += b
except OSError as e:
    out["how"] = "%s: %s" % (type(e).__name__, e)
frames, rest = pc.split_frames(buf)
out["frames"] = [[t, p.hex()] for t, p in frames]
out["rest"] = len(rest)
print(json.dumps(out))
'''


def as_nobody(env, port, method="GET", path="/", headers=None, body=b"",
    src=None, limit=5.0):
	"""One request on a new session from a python3 child running as uid
	and gid 65534 (setpriv). Returns the response dict (as one() gives,
	decoded by protoclient.responses_from_frames), with "how" (done, eof,
	timeout, an OSError) and "hello"."""
	data = pc.hello() + open_bytes(port, src) + req_bytes(method, path,
	    headers, body, port)
	cp = harness.run_capture(UNPRIV + ["python3", "-B", "-c", CHILD,
	    env.pydir, env.socket, data.hex(), "1", str(limit)],
	    timeout=limit + 15)
	if cp.returncode != 0:
		raise AssertionError("child as nobody: %s" % harness.describe(cp))
	out = json.loads(cp.stdout.decode())
	if out["uid"] != NOBODY or out["gid"] != NOBODY or out["groups"]:
		raise AssertionError("child did not run as nobody: %r" % out)
	frames = [(t, bytes.fromhex(p)) for t, p in out["frames"]]
	dec = pc.responses_from_frames(frames, 1)
	r = dec["responses"][0] if dec["responses"] else {"status": None,
	    "error": None, "err": None, "body": b"", "flags": None}
	r["hello"] = dec["hello"]
	r["open_ok"] = dec["open_ok"]
	r["how"] = out["how"]
	if out["how"] == "timeout":
		r["timeout"] = True
	r["frame_types"] = [t for t, _ in frames]
	return r


# ---------------------------------------------------------------- /proc

def nfds(pid):
	try:
		return len(os.listdir("/proc/%d/fd" % pid))
	except OSError:
		return None


def cpu_seconds(pid):
	with open("/proc/%d/stat" % pid) as f:
		fields = f.read().rsplit(")", 1)[1].split()
	# fields[0] is field 3 (state): utime is field 14, stime 15
	return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def status_kib(pid, key):
	with open("/proc/%d/status" % pid) as f:
		for line in f:
			if line.startswith(key + ":"):
				return int(line.split()[1])
	return None


def established_to(pid, port):
	"""pid's ESTABLISHED TCP sockets whose remote port is port."""
	mine = set()
	for fd in os.listdir("/proc/%d/fd" % pid):
		try:
			link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
		except OSError:
			continue
		if link.startswith("socket:["):
			mine.add(link[8:-1])
	n = 0
	for name in ("tcp", "tcp6"):
		try:
			with open("/proc/net/" + name) as f:
				next(f)
				for line in f:
					c = line.split()
					if len(c) < 10:
						continue
					rport = int(c[2].rsplit(":", 1)[1], 16)
					if c[3] == "01" and rport == port and c[9] in mine:
						n += 1
		except OSError:
			pass
	return n


def access_row(env, request, timeout=5.0):
	"""nginx's access-log row for the request line, or None."""
	deadline = time.monotonic() + timeout
	while True:
		rows = [r for r in env.access_log() if r["request"] == request]
		if rows or time.monotonic() > deadline:
			return rows[-1] if rows else None
		time.sleep(0.02)


# ---------------------------------------------------------------- 1

def case_sync_connect_failure(env, n):
	"""Bind+listen 127.0.0.1:P; n sessions each OPEN nginx with SOURCE
	127.0.0.1:P and GET: each gets ERROR OSError [Errno 98]; hpoold is
	alive after each, then serves a normal request; its log has no
	sanitizer report."""
	why = Why()
	since = env.log_size()
	lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
	try:
		lst.bind(("127.0.0.1", 0))
		lst.listen(1)
		P = lst.getsockname()[1]
		# what Python says for the same connect
		try:
			socket.create_connection(("127.0.0.1", env.nginx_port), 5,
			    source_address=("127.0.0.1", P)).close()
			py = None
		except OSError as e:
			py = (type(e).__name__, str(e))
		if not why.expect(py == ("OSError", ERRNO98), "python itself "
		    "gives %r, want ('OSError', %r)" % (py, ERRNO98)):
			return why.result()
		pid = env.daemon.pid
		for i in range(n):
			r = one(env.socket, env.nginx_port, "GET", "/files/" + FILE,
			    src=("127.0.0.1", P))
			ok = why.expect(r.get("error") == py and r["status"] is None,
			    "attempt %d of %d: %s, want ERROR %r" % (i + 1, n, show(r),
			    py))
			alive = env.daemon_alive() and env.daemon.pid == pid
			why.expect(alive, "hpoold died at attempt %d of %d (exit "
			    "%s)" % (i + 1, n, env.daemon.returncode if env.daemon
			    else None))
			if not ok or not alive:
				break
	finally:
		lst.close()
	if env.daemon_alive():
		r = one(env.socket, env.nginx_port, "GET", "/files/" + FILE)
		why.expect(r["status"] == 200 and r["body"] == FILE_DATA,
		    "a normal request after them: %s" % show(r))
	time.sleep(0.2)		# a report being written
	rep = env.sanitizer_lines(since)
	why.expect(not rep, "hpoold's log has a sanitizer report: %s" %
	    " | ".join(rep[:4]))
	return why.result()


# ---------------------------------------------------------------- 2

def auth_server(kind):
	"""HTTP/1.1 keep-alive. A request with Authorization (or
	Proxy-Authorization) marks its TCP connection authenticated; on an
	authenticated connection every request gets 200 SECRET; otherwise
	the challenge of `kind`: ntlm (401 WWW-Authenticate: NTLM),
	negotiate (401 WWW-Authenticate: Negotiate), proxy-ntlm (407
	Proxy-Authenticate: NTLM)."""
	challenge = {
	    "ntlm": b"401 Unauthorized\r\nWWW-Authenticate: NTLM",
	    "negotiate": b"401 Unauthorized\r\nWWW-Authenticate: Negotiate",
	    "proxy-ntlm": b"407 Proxy Authentication Required\r\n"
		b"Proxy-Authenticate: NTLM",
	}[kind]

	def handler(conn, server, idx):
		authed = False
		for _ in range(100):
			req = harness.read_request(conn, timeout=30)
			if req is None:
				return
			server.record(idx, req)
			names = {k.lower() for k, _ in req[2]}
			if "authorization" in names or "proxy-authorization" in names:
				authed = True
			if authed:
				conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n"
				    b"%s" % (len(SECRET), SECRET))
			else:
				body = b"authentication required"
				conn.sendall(b"HTTP/1.1 %s\r\nContent-Length: %d\r\n\r\n%s"
				    % (challenge, len(body), body))
	return harness.ScriptedServer(handler, "auth-" + kind)


def conn_of(srv, target):
	"""Server-side connection index of the (last) request for target."""
	with srv.lock:
		hits = [r[0] for r in srv.requests if r[2] == target]
	return hits[-1] if hits else None


def case_ntlm_not_shared(env):
	"""A authenticates its connection (Authorization: NTLM abc, 200);
	B (nobody) without Authorization must get 401 on a new connection,
	never the secret; A again without Authorization gets 200 on its own
	connection (private to root, not closed)."""
	r = need_root()
	if r:
		return r
	why = Why()
	srv = auth_server("ntlm")
	try:
		ra = one(env.socket, srv.port, "GET", "/a1", [("Host", "x"),
		    ("Authorization", "NTLM abc")])
		if not why.expect(ra["status"] == 200 and ra["body"] == SECRET,
		    "A with Authorization: %s, want 200 %r" % (show(ra), SECRET)):
			return why.result()
		a_idx = conn_of(srv, "/a1")
		rb = as_nobody(env, srv.port, "GET", "/b1", [("Host", "x")])
		b_idx = conn_of(srv, "/b1")
		why.expect(SECRET not in rb["body"], "B (uid %d) got A's secret: "
		    "%s" % (NOBODY, show(rb)))
		why.expect(rb["status"] == 401, "B: %s, want 401" % show(rb))
		why.expect(b_idx is not None and b_idx != a_idx, "B's request "
		    "arrived on server connection %s, A's is %s: want a new "
		    "one" % (b_idx, a_idx))
		ra2 = one(env.socket, srv.port, "GET", "/a2", [("Host", "x")])
		a2_idx = conn_of(srv, "/a2")
		why.expect(ra2["status"] == 200 and ra2["body"] == SECRET,
		    "A again without Authorization: %s, want 200 %r on its "
		    "authenticated connection" % (show(ra2), SECRET))
		why.expect(a2_idx == a_idx, "A's second request arrived on server "
		    "connection %s, want A's own %s" % (a2_idx, a_idx))
	finally:
		srv.stop()
	return why.result()


def case_challenge_private(env, kind):
	"""A (root) gets the `kind` challenge on its connection; B (nobody)
	must not be given that connection."""
	r = need_root()
	if r:
		return r
	why = Why()
	srv = auth_server(kind)
	want = 407 if kind.startswith("proxy") else 401
	try:
		ra = one(env.socket, srv.port, "GET", "/a1", [("Host", "x")])
		if not why.expect(ra["status"] == want, "A: %s, want %d" % (
		    show(ra), want)):
			return why.result()
		a_idx = conn_of(srv, "/a1")
		rb = as_nobody(env, srv.port, "GET", "/b1", [("Host", "x")])
		b_idx = conn_of(srv, "/b1")
		why.expect(rb["status"] == want, "B: %s, want %d" % (show(rb),
		    want))
		why.expect(b_idx is not None and b_idx != a_idx, "B's request "
		    "arrived on server connection %s, the one A was challenged "
		    "on is %s: want another" % (b_idx, a_idx))
	finally:
		srv.stop()
	return why.result()


def uid_reuse(env, tag):
	"""GET as root, as nobody, as root again: their nginx connections."""
	path = "/files/%s?%s-" % (FILE, tag)
	got = {}
	for who in ("root", "nobody", "root2"):
		if who == "nobody":
			r = as_nobody(env, env.nginx_port, "GET", path + who)
		else:
			r = one(env.socket, env.nginx_port, "GET", path + who)
		if r["status"] != 200 or r["body"] != FILE_DATA:
			raise AssertionError("%s: %s" % (who, show(r)))
		row = access_row(env, "GET %s%s HTTP/1.1" % (path, who))
		if row is None:
			raise AssertionError("nginx logged no row for %s" % who)
		got[who] = row["connection"]
	return got


def case_shared_by_default(env):
	r = need_root()
	if r:
		return r
	got = uid_reuse(env, "shared")
	if got["nobody"] != got["root"]:
		return ("without partition_by_uid nobody's GET went on nginx "
		    "connection %d, root's on %d: want the same (reused)" % (
		    got["nobody"], got["root"]))
	return None


def case_partition_by_uid(res, envs):
	r = need_root()
	if r:
		return r
	env = CfgEnv({"partition_by_uid": "yes"})
	envs.append(env)
	res.after_case = env.revive
	got = uid_reuse(env, "part")
	why = Why()
	why.expect(got["nobody"] != got["root"], "with partition_by_uid = yes "
	    "nobody's GET went on root's nginx connection %d" % got["root"])
	why.expect(got["root2"] == got["root"], "root's second GET went on "
	    "nginx connection %d, its first on %d: want it reused" % (
	    got["root2"], got["root"]))
	return why.result()


# ---------------------------------------------------------------- 3

SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"


class _Lenient(http.server.BaseHTTPRequestHandler):
	"""http.server as it is: HTTP/1.1 keep-alive, never reads a GET's
	body. /smuggled answers 0.3 s late (a slow handler), so that a
	caller whose request went on that connection meanwhile gets it."""
	protocol_version = "HTTP/1.1"

	def log_message(self, *a):
		pass

	def do_GET(self):
		with self.server.lock:
			self.server.seen.append((self.path, self.client_address[1],
			    self.headers.get_all("Connection") or []))
		if self.path == "/smuggled":
			time.sleep(0.3)
		body = self.path.encode()
		self.send_response(200)
		self.send_header("Content-Length", str(len(body)))
		self.end_headers()
		self.wfile.write(body)


class _LenientServer(http.server.ThreadingHTTPServer):
	daemon_threads = True


def case_get_with_body(env, runs):
	"""Caller 1: GET /first-i (Connection: keep-alive of its own,
	Content-Length, a whole request as body); caller 2: GET /second-i.
	Caller 2 gets /second-i; /first-i went out with exactly one
	Connection header, "close"; /first-i's RESP_END lacks POOLED."""
	srv = _LenientServer(("127.0.0.1", 0), _Lenient)
	srv.seen = []
	srv.lock = threading.Lock()
	t = threading.Thread(target=srv.serve_forever, kwargs={
	    "poll_interval": 0.1}, daemon=True)
	t.start()
	port = srv.server_address[1]
	why = Why()
	try:
		for i in range(runs):
			first, second = "/first-%d" % i, "/second-%d" % i
			r1 = one(env.socket, port, "GET", first, [("Host", "x"),
			    ("Connection", "keep-alive"),
			    ("Content-Length", str(len(SMUGGLED)))], SMUGGLED)
			r2 = one(env.socket, port, "GET", second, [("Host", "x")])
			with srv.lock:
				conn = [c for p, _, c in srv.seen if p == first]
			why.expect(r1["status"] == 200 and r1["body"] ==
			    first.encode(), "run %d: caller 1 got %s" % (i, show(r1)))
			why.expect(r1["flags"] is not None and not r1["flags"] &
			    POOLED, "run %d: caller 1's RESP_END flags %s, want "
			    "POOLED (0x02) unset" % (i, r1["flags"]))
			why.expect(len(conn) == 1 and [v.lower() for v in conn[0]] ==
			    ["close"], "run %d: the server saw %s with Connection "
			    "headers %r, want exactly ['close']" % (i, first, conn))
			why.expect(r2["status"] == 200 and r2["body"] ==
			    second.encode(), "run %d: caller 2 asked for %s, got %s"
			    % (i, second, show(r2)))
			if len(why) >= 6:
				break
	finally:
		srv.shutdown()
		srv.server_close()
	with srv.lock:
		n = sum(1 for p, _, _ in srv.seen if p == "/smuggled")
	print("# GET with a body: the server parsed /smuggled %d time(s) in "
	    "%d runs" % (n, runs))
	return why.result()


def http10_keepalive(conn, server, idx):
	for _ in range(100):
		req = harness.read_request(conn, timeout=30)
		if req is None:
			return
		server.record(idx, req)
		body = req[1].encode()
		conn.sendall(b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n"
		    b"Content-Length: %d\r\n\r\n%s" % (len(body), body))


def case_http10_keepalive(env):
	why = Why()
	srv = harness.ScriptedServer(http10_keepalive, "http10")
	try:
		r1 = one(env.socket, srv.port, "GET", "/ka1", [("Host", "x")])
		r2 = one(env.socket, srv.port, "GET", "/ka2", [("Host", "x")])
		why.expect(r1["status"] == 200 and r1["body"] == b"/ka1",
		    "first: %s" % show(r1))
		why.expect(r1["flags"] is not None and not r1["flags"] & POOLED,
		    "HTTP/1.0 + keep-alive answer: RESP_END flags %s, want POOLED "
		    "unset" % r1["flags"])
		why.expect(r2["status"] == 200 and r2["body"] == b"/ka2",
		    "second: %s" % show(r2))
		c1, c2 = conn_of(srv, "/ka1"), conn_of(srv, "/ka2")
		why.expect(c1 is not None and c2 is not None and c1 != c2,
		    "second request on server connection %s, the first on %s: "
		    "want a new one" % (c2, c1))
	finally:
		srv.stop()
	return why.result()


# ---------------------------------------------------------------- 4

class ConnectServer:
	"""CONNECT: answered `reply`, then every further byte on that
	connection is recorded (self.extra[idx]) until it closes. Anything
	else: 200 keep-alive with the target as body."""

	def __init__(self, reply):
		self.reply = reply
		self.extra = {}
		self.srv = harness.ScriptedServer(self.handler, "connect")
		self.port = self.srv.port

	def handler(self, conn, server, idx):
		for _ in range(100):
			r = harness.read_head(conn, timeout=30)
			if r is None:
				return
			method, target, headers, rest = r
			server.record(idx, (method, target, headers, rest))
			if method == "CONNECT":
				conn.sendall(self.reply)
				self.extra[idx] = rest
				conn.settimeout(0.1)
				deadline = time.monotonic() + 60
				while time.monotonic() < deadline and \
				    not server.stopping.is_set():
					try:
						b = conn.recv(65536)
					except socket.timeout:
						continue
					except OSError:
						return
					if not b:
						return
					self.extra[idx] += b
				return
			body = target.encode()
			conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s"
			    % (len(body), body))


CONNECT_HEAD = [("Host", "example.invalid:443")]


def case_connect_not_pooled(env):
	why = Why()
	cs = ConnectServer(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
	try:
		r1 = one(env.socket, cs.port, "CONNECT", "example.invalid:443",
		    CONNECT_HEAD, timeout=3)
		why.expect(r1["status"] == 200 and r1["body"] == b"" and
		    r1["flags"] is not None, "CONNECT: %s, want RESP_HEAD 200 "
		    "and RESP_END, no body" % show(r1))
		why.expect(r1["flags"] is None or not r1["flags"] & POOLED,
		    "CONNECT's RESP_END flags %s, want POOLED unset" % r1["flags"])
		r2 = one(env.socket, cs.port, "GET", "/", [("Host", "x")],
		    timeout=3)
		c1 = conn_of(cs.srv, "example.invalid:443")
		c2 = conn_of(cs.srv, "/")
		why.expect(r2["status"] == 200 and r2["body"] == b"/",
		    "GET / after it: %s" % show(r2))
		why.expect(c2 is not None and c2 != c1, "GET / arrived on server "
		    "connection %s, the CONNECT's is %s: want a new one" % (c2, c1))
		time.sleep(0.1)
		extra = cs.extra.get(c1, b"")
		why.expect(extra == b"", "the CONNECT connection received %d "
		    "further bytes: %r" % (len(extra), extra[:80]))
	finally:
		cs.srv.stop()
	return why.result()


def case_connect_no_length(env):
	"""200 to CONNECT without Content-Length, connection held open:
	RESP_HEAD then RESP_END at once (no body, no wait for a close)."""
	why = Why()
	cs = ConnectServer(b"HTTP/1.1 200 Connection established\r\n\r\n")
	try:
		s = pc.Session(env.socket, timeout=3)
		try:
			s.start("127.0.0.1", cs.port)
			t0 = time.monotonic()
			s.send(req_bytes("CONNECT", "example.invalid:443",
			    CONNECT_HEAD))
			frames, how = read_answer(s, 3.0)
			took = time.monotonic() - t0
		finally:
			s.close()
		types = [t for t, _ in frames]
		why.expect(types == [pc.RESP_HEAD, pc.RESP_END], "frames %r then "
		    "%s after %.2f s, want RESP_HEAD, RESP_END (no body) within 3 s"
		    % (types, how, took))
		if types[:1] == [pc.RESP_HEAD]:
			h = pc.decode_resp_head(frames[0][1])
			why.expect(h["status"] == 200, "status %d, want 200" %
			    h["status"])
		if types == [pc.RESP_HEAD, pc.RESP_END]:
			why.expect(took < 1.5, "RESP_END came after %.2f s, want at "
			    "once (< 1.5 s)" % took)
			flags = frames[1][1][0]
			why.expect(not flags & POOLED, "RESP_END flags %s, want "
			    "POOLED unset" % flags)
	finally:
		cs.srv.stop()
	return why.result()


# ---------------------------------------------------------------- 6

def second_request_dies(conn, server, idx):
	"""Per connection: the first request answered (200, keep-alive,
	Content-Length, the target as body); the second read whole, then
	the connection closed unanswered."""
	for n in range(2):
		req = harness.read_request(conn, timeout=30)
		if req is None:
			return
		server.record(idx, req)
		if n == 0:
			body = req[1].encode()
			conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s"
			    % (len(body), body))


def replay(env, method, path, headers=(), body=b""):
	"""Warm one pooled connection, then `method path` on a new session
	(HELLO 1..2). Returns (response, arrivals [server conn idx], warm-up
	response)."""
	srv = harness.ScriptedServer(second_request_dies, "replay")
	try:
		w = one(env.socket, srv.port, "GET", "/warm", [("Host", "x")])
		r = one(env.socket, srv.port, method, path, [("Host", "x")] +
		    list(headers), body, v2=True)
		time.sleep(0.3)		# a late retry would arrive by now
		with srv.lock:
			arr = [q[0] for q in srv.requests if q[1] == method and
			    q[2] == path]
	finally:
		srv.stop()
	return r, arr, w


def case_not_replayed(env, method, path, headers=(), body=b""):
	why = Why()
	r, arr, w = replay(env, method, path, headers, body)
	print("# replay: %s %s%s: %d arrival(s) at the server" % (method, path,
	    " " + repr(list(headers)) if headers else "", len(arr)))
	if not why.expect(w["status"] == 200 and w["flags"] is not None and
	    w["flags"] & POOLED, "warm-up GET: %s, want 200, POOLED" % show(w)):
		return why.result()
	why.expect(len(arr) == 1, "%s %s arrived %d times at the server, want "
	    "exactly once" % (method, path, len(arr)))
	why.expect(r["status"] is None and r.get("error") == (
	    "RemoteDisconnected", "Remote end closed connection without "
	    "response"), "client got %s, want ERROR RemoteDisconnected" %
	    show(r))
	why.expect(r.get("hello") == 2, "HELLO(1, 2) answered with version "
	    "%s, want 2" % r.get("hello"))
	sent = (r.get("err") or {}).get("sent")
	why.expect(sent == pc.SENT_MAYBE, "ERROR's sent is %r, want 2 (the "
	    "request may have been processed)" % sent)
	return why.result()


def case_retried(env, method, path, headers=()):
	why = Why()
	r, arr, w = replay(env, method, path, headers)
	print("# replay: %s %s%s: %d arrival(s) at the server" % (method, path,
	    " " + repr(list(headers)) if headers else "", len(arr)))
	if not why.expect(w["status"] == 200 and w["flags"] is not None and
	    w["flags"] & POOLED, "warm-up GET: %s, want 200, POOLED" % show(w)):
		return why.result()
	why.expect(len(arr) == 2 and arr[0] != arr[1], "%s %s arrived on "
	    "server connections %r, want twice, on two connections (retried "
	    "on a fresh one)" % (method, path, arr))
	why.expect(r["status"] == 200 and r["body"] == path.encode(),
	    "client got %s, want 200 %r" % (show(r), path))
	return why.result()


# ---------------------------------------------------------------- 8

def privileged_port():
	"""A port below 1024 that 127.0.0.1 can bind now (999 first)."""
	for p in list(range(999, 899, -1)):
		s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
		try:
			s.bind(("127.0.0.1", p))
			return p
		except OSError:
			continue
		finally:
			s.close()
	return None


def case_priv_port(env):
	r = need_root()
	if r:
		return r
	why = Why()
	pp = privileged_port()
	if pp is None:
		return "no port in 900..999 is free on 127.0.0.1"
	path = "/files/%s?priv-" % FILE
	ra = one(env.socket, env.nginx_port, "GET", path + "root",
	    src=("127.0.0.1", pp))
	why.expect(ra["status"] == 200 and ra["body"] == FILE_DATA,
	    "root with SOURCE_PORT %d: %s, want 200" % (pp, show(ra)))
	row = access_row(env, "GET %sroot HTTP/1.1" % path)
	why.expect(row is not None and row["port"] == pp, "nginx saw root's "
	    "request from port %s, want %d" % (row and row["port"], pp))
	rb = as_nobody(env, env.nginx_port, "GET", path + "nobody",
	    src=("127.0.0.1", pp))
	err = rb.get("err") or {}
	msg = err.get("message", "")
	print("# nobody with SOURCE_PORT %d got: %s" % (pp, show(rb)))
	why.expect(rb["status"] is None and err.get("name") ==
	    "PermissionError" and err.get("code") == 41, "nobody with "
	    "SOURCE_PORT %d: %s, want ERROR PermissionError (41)" % (pp,
	    show(rb)))
	why.expect(("source port %d" % pp) in msg and ("uid 0" in msg or
	    "below 1024" in msg), "the ERROR's message %r does not say "
	    "'source port %d' and 'uid 0' or 'below 1024'" % (msg, pp))
	row = access_row(env, "GET %snobody HTTP/1.1" % path, timeout=0.3)
	why.expect(row is None, "nginx served nobody's request from port %s"
	    % (row and row["port"]))
	return why.result()


# ---------------------------------------------------------------- 5

HOSTILE_MAX = 1000
HOSTILE_SECONDS = 20.0
NOFILE = 1024
FD_MARGIN = 100


def read_answer(s, limit):
	"""Frames from s until a RESP_END or an ERROR, EOF, or limit s.
	Returns (frames, how)."""
	frames = []
	deadline = time.monotonic() + limit
	while True:
		left = deadline - time.monotonic()
		if left <= 0:
			return frames, "timeout"
		s.s.settimeout(left)
		try:
			f = s.frame()
		except socket.timeout:
			return frames, "timeout"
		except OSError as e:
			return frames, type(e).__name__
		if f is None:
			return frames, "eof"
		frames.append(f)
		if f[0] in (pc.RESP_END, pc.ERROR):
			return frames, "done"


def policy_refusal(err):
	return err is not None and err["name"] == "HpoolPolicyError" and (
	    "max_connections_per_uid" in err["message"] or
	    "max_sessions_per_uid" in err["message"])


def the_worker(env):
	"""The PID of the daemon's one worker process (--workers 1), where
	sessions, pools and their descriptors live; the supervisor's if none
	is found."""
	pids = harness.wait_workers(env.daemon.pid, 1)
	return pids[0] if pids else env.daemon.pid


def hostile(env, st):
	"""Sessions as root, each OPEN nginx from 127.0.0.1:<its own port>
	(its own pool key) and one GET, all held open; until a session is
	refused, HOSTILE_MAX sessions, HOSTILE_SECONDS, or one unanswered."""
	pid = the_worker(env)
	ports = harness.free_ports(HOSTILE_MAX)
	st.update(ok=0, refused_session=[], refused_request=[], other=[],
	    peak=nfds(pid) or 0, sessions=[], stop=None, addr_in_use=0)
	t0 = time.monotonic()
	for i, port in enumerate(ports):
		if time.monotonic() - t0 > HOSTILE_SECONDS:
			st["stop"] = "time bound (%.0f s) after %d sessions" % (
			    HOSTILE_SECONDS, i)
			break
		try:
			s = pc.Session(env.socket, timeout=2)
		except OSError as e:
			st["stop"] = "session %d: connect: %s: %s" % (i,
			    type(e).__name__, e)
			break
		try:
			s.send(pc.hello() + open_bytes(env.nginx_port, ("127.0.0.1",
			    port)) + req_bytes("GET", "/files/%s?h%d" % (FILE, i),
			    port=env.nginx_port))
		except OSError:
			# refused at accept and closed before this was sent:
			# the ERROR is still there to read (libhpool does so)
			pass
		st["sessions"].append(s)
		frames, how = read_answer(s, 3.0)
		types = [t for t, _ in frames]
		if i % 4 == 0:
			st["peak"] = max(st["peak"], nfds(pid) or 0)
		if types and types[0] == pc.ERROR:
			# refused at accept: ERROR in place of HELLO_OK (either
			# layout accepted here), then EOF
			try:
				err = pc.decode_error(frames[0][1], 2)
			except ValueError as e:
				err = {"name": "?", "message": str(e)}
			st["refused_session"].append((i, err))
			st["stop"] = "session %d refused at accept" % i
			break
		if types[:2] != [pc.HELLO_OK, pc.OPEN_OK] and types[:1] == \
		    [pc.HELLO_OK] and types[-1:] == [pc.ERROR]:
			err = pc.decode_error(frames[-1][1], 1)	# refused at OPEN
		elif types[:2] == [pc.HELLO_OK, pc.OPEN_OK] and types[-1:] == \
		    [pc.ERROR]:
			err = pc.decode_error(frames[-1][1], 1)
		elif types[:2] == [pc.HELLO_OK, pc.OPEN_OK] and types[-1:] == \
		    [pc.RESP_END] and pc.RESP_HEAD in types:
			st["ok"] += 1
			continue
		else:
			st["stop"] = "session %d unanswered: frames %r, then %s" % (
			    i, types, how)
			break
		if policy_refusal(err):
			st["refused_request"].append((i, err))
		elif err["message"] == ERRNO98 and st["addr_in_use"] < 5:
			st["addr_in_use"] += 1	# a free port taken meanwhile
		else:
			st["other"].append((i, err["name"], err["message"]))
	else:
		st["stop"] = "all %d sessions opened" % HOSTILE_MAX
	st["peak"] = max(st["peak"], nfds(pid) or 0)
	st["took"] = time.monotonic() - t0
	print("# fds held at peak: %d" % st["peak"])
	for what in ("refused_request", "refused_session"):
		if st[what]:
			i, e = st[what][0]
			print("# first %s: session %d: %s: %s" % (what.replace("_",
			    " "), i, e["name"], e["message"]))
	print("# hostile caller: %d sessions, %d answered 200, %d requests and "
	    "%d sessions refused, %d other errors; stopped: %s (%.1f s)" % (
	    len(st["sessions"]), st["ok"], len(st["refused_request"]),
	    len(st["refused_session"]), len(st["other"]), st["stop"],
	    st["took"]))


def fd_cases(res):
	st = {}
	try:
		env = CfgEnv({}, nofile=NOFILE)
	except SetupError as e:
		res.fail("5: hpoold under RLIMIT_NOFILE %d" % NOFILE, e)
		return
	res.after_case = env.revive

	def peak():
		hostile(env, st)
		if st["peak"] > NOFILE - FD_MARGIN:
			return "hpoold held %d fds at the peak (RLIMIT_NOFILE %d), " \
			    "want <= %d; %s" % (st["peak"], NOFILE, NOFILE - FD_MARGIN,
			    st["stop"])
		return None
	res.run("5: one caller (root, each session its own pool key, held "
	    "open) cannot take hpoold past %d of its %d fds" % (
	    NOFILE - FD_MARGIN, NOFILE), peak)

	def refusals():
		if "stop" not in st:
			return "the hostile phase did not run"
		why = Why()
		refused = st["refused_session"] + st["refused_request"]
		why.expect(refused, "no refusal in %d sessions (stopped: %s)" % (
		    len(st["sessions"]), st["stop"]))
		bad = [(i, e["name"], e["message"]) for i, e in refused if
		    not policy_refusal(e)]
		why.expect(not bad, "refusals not naming the limit: %r" % bad[:3])
		why.expect(not st["other"], "other errors: %r" % st["other"][:3])
		why.expect(st["refused_session"] or
		    not st["stop"].startswith("session"), "the hostile caller "
		    "was stopped by: %s" % st["stop"])
		return why.result()
	res.run("5: the hostile caller's refusals are ERROR HpoolPolicyError "
	    "naming max_connections_per_uid or max_sessions_per_uid, no other "
	    "failure", refusals)

	def other_uid():
		r = need_root()
		if r:
			return r
		rb = as_nobody(env, env.nginx_port, "GET", "/files/%s?other" %
		    FILE)
		if rb["status"] != 200 or rb["body"] != FILE_DATA:
			return "nobody while root's sessions are held: %s, want 200 " \
			    "(%s)" % (show(rb), rb.get("how"))
		return None
	res.run("5: while they are held, a caller with another uid gets its "
	    "200 from nginx", other_uid)

	def not_spinning():
		if not env.daemon_alive():
			return "hpoold is not running"
		pid = the_worker(env)
		c0 = cpu_seconds(pid)
		time.sleep(2.0)
		used = cpu_seconds(pid) - c0
		print("# hpoold CPU over 2 s idle with the hostile sessions held: "
		    "%.2f s" % used)
		if used >= 0.3:
			return "hpoold used %.2f s of CPU in 2 s of idleness, want < " \
			    "0.3 s%s" % (used, harness.tail(env.daemon_log, 3))
		return None
	res.run("5: hpoold is not spinning (< 0.3 s CPU over 2 s idle)",
	    not_spinning)
	for s in st.get("sessions", []):
		s.close()
	res.after_case = None
	env.final_checks(res)


def case_max_idle(res, envs):
	env = CfgEnv({"max_idle": "4"})
	envs.append(env)
	res.after_case = env.revive
	why = Why()
	ports = harness.free_ports(10)
	for i, p in enumerate(ports):
		r = one(env.socket, env.nginx_port, "GET", "/files/%s?idle%d" % (
		    FILE, i), src=("127.0.0.1", p))
		why.expect(r["status"] == 200 and r["flags"] is not None,
		    "request %d: %s" % (i, show(r)))
	if why:
		return why.result()
	deadline = time.monotonic() + 2.0
	while True:
		n = established_to(the_worker(env), env.nginx_port)
		if n <= 4 or time.monotonic() > deadline:
			break
		time.sleep(0.05)
	print("# max_idle = 4: hpoold holds %d connections to nginx after 10 "
	    "requests on 10 pool keys" % n)
	why.expect(n <= 4, "hpoold holds %d ESTABLISHED connections to nginx "
	    "after 10 requests on 10 pool keys, want <= 4" % n)
	return why.result()


def case_conns_per_uid(res, envs):
	"""max_connections_per_uid = 3: root holds 3 busy connections (a
	server that answers after a while) on 3 pool keys; a 4th key is
	refused with HpoolPolicyError naming the setting, and was never
	connected; nobody still gets a connection; once root's are idle, a
	new key of root's takes the place of its oldest idle one."""
	env = CfgEnv({"max_connections_per_uid": "3",
	    "max_sessions_per_uid": "50"})
	envs.append(env)
	res.after_case = env.revive
	why = Why()
	release = threading.Event()

	def slow(conn, server, idx):
		while True:
			req = harness.read_request(conn)
			if req is None:
				return
			server.record(idx, req)
			release.wait(10)
			conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
			    b"\r\nok")
	srv = harness.ScriptedServer(slow, "slow")
	ports = harness.free_ports(5)
	out = [None] * 4

	def run(i):
		out[i] = one(env.socket, srv.port, "GET", "/k%d" % i,
		    src=("127.0.0.1", ports[i]), timeout=15.0)
	threads = [threading.Thread(target=run, args=(i,)) for i in range(3)]
	for t in threads:
		t.start()
	deadline = time.monotonic() + 5
	while len(srv.requests) < 3 and time.monotonic() < deadline:
		time.sleep(0.02)
	why.expect(len(srv.requests) == 3, "the server saw %d of root's 3 "
	    "requests" % len(srv.requests))
	run(3)
	err = out[3].get("error")
	why.expect(err is not None and err[0] == "HpoolPolicyError" and
	    "max_connections_per_uid = 3" in err[1], "root's 4th pool key "
	    "while 3 are busy: %s, want HpoolPolicyError naming "
	    "max_connections_per_uid = 3" % show(out[3]))
	why.expect(srv.connections == 3, "the server saw %d connections, want "
	    "3 (the refused one never connected)" % srv.connections)
	r = need_root()
	if not r:
		rb = as_nobody(env, env.nginx_port, "GET", "/files/%s?other" %
		    FILE)
		why.expect(rb["status"] == 200, "nobody while root is at its "
		    "limit: %s, want 200" % show(rb))
	else:
		why.expect(False, r)
	release.set()
	for t in threads:
		t.join(15)
	why.expect(all(o is not None and o["status"] == 200 for o in out[:3]),
	    "root's 3 held requests: %s" % [show(o) for o in out[:3] if o])
	# all three idle now: a fourth key recycles root's oldest
	r4 = one(env.socket, srv.port, "GET", "/k4", src=("127.0.0.1",
	    ports[4]), timeout=15.0)
	why.expect(r4["status"] == 200, "root's 4th key once its 3 are idle: "
	    "%s, want 200 (its oldest idle connection gives way)" % show(r4))
	srv.stop()
	return why.result()


def own_env_case(res, name, fn):
	"""res.run(name, fn(res, envs)) for a case that starts its own hpoold;
	then that hpoold's final checks."""
	envs = []
	res.run(name, fn, res, envs)
	res.after_case = None
	for env in envs:
		env.final_checks(res)


# ---------------------------------------------------------------- 7

MIB = 1 << 20
BIG = 8 * MIB - 1		# the hostile REQ_HEAD's announced length
RSS_LIMIT_KIB = 64 * 1024


def big_header_req(n):
	"""A well-formed REQ_HEAD whose payload is n bytes long, made so by
	the length of its X-Big value; returns (frame, that length)."""
	base = pc.req_head("GET", "/big", [("Host", "x"), ("X-Big", "")])
	pad = n - (len(base) - 5)
	return pc.req_head("GET", "/big", [("Host", "x"), ("X-Big", "v" *
	    pad)]), pad


def buffer_cases(res):
	try:
		env = CfgEnv({"io_timeout": "2"})
	except SetupError as e:
		res.fail("7: hpoold with io_timeout = 2", e)
		return
	res.after_case = env.revive
	port = env.nginx_port

	def refused_from_header():
		s = pc.Session(env.socket, timeout=3)
		try:
			s.send(pc.hello() + pc.open_("127.0.0.1", port) +
			    struct.pack(">IB", 2 * MIB, pc.REQ_HEAD))
			t0 = time.monotonic()
			frames, how = read_answer(s, 1.5)
			if how == "done":
				more, how = read_answer(s, 1.5 - (time.monotonic() - t0))
				frames += more
			took = time.monotonic() - t0
		finally:
			s.close()
		why = Why()
		types = [t for t, _ in frames]
		why.expect(types == [pc.HELLO_OK, pc.OPEN_OK, pc.ERROR],
		    "frames %r (then %s), want HELLO_OK, OPEN_OK, ERROR within "
		    "1.5 s (io_timeout is 2 s)" % (types, how))
		if types and types[-1] == pc.ERROR:
			e = pc.decode_error(frames[-1][1], 1)
			why.expect(e["name"] == "HpoolProtocolError" and
			    "max_session_buffer" in e["message"], "ERROR %s: %r, want "
			    "HpoolProtocolError naming max_session_buffer" % (
			    e["name"], e["message"]))
		why.expect(how in ("eof", "ConnectionResetError"),
		    "not closed after the ERROR: %s after %.2f s" % (how, took))
		return why.result()
	res.run("7: a frame announcing 2 MiB (over max_session_buffer, default "
	    "1 MiB) is refused from its 5-byte header: ERROR HpoolProtocolError "
	    "naming max_session_buffer, then close", refused_from_header)

	def timeout_not_extended():
		frame, _ = big_header_req(100 * 1024)
		s = pc.Session(env.socket, timeout=7)
		try:
			s.send(pc.hello() + pc.open_("127.0.0.1", port,
			    timeout_ms=3600000) + frame[:len(frame) // 2])
			t0 = time.monotonic()
			frames = []
			how = "timeout"
			while time.monotonic() - t0 < 6.0:
				s.s.settimeout(max(0.01, 6.0 - (time.monotonic() - t0)))
				try:
					f = s.frame()
				except socket.timeout:
					break
				except OSError as e:
					how = type(e).__name__
					break
				if f is None:
					how = "eof"
					break
				frames.append(f)
			took = time.monotonic() - t0
		finally:
			s.close()
		why = Why()
		types = [t for t, _ in frames]
		why.expect(how in ("eof", "ConnectionResetError"), "still open "
		    "%.1f s after half a 100 KiB REQ_HEAD (io_timeout 2 s, "
		    "TIMEOUT_MS 3600000)" % took)
		why.expect(how == "timeout" or 1.5 <= took <= 4.5, "closed after "
		    "%.2f s, want 1.5..4.5 s (io_timeout 2 s)" % took)
		why.expect(types == [pc.HELLO_OK, pc.OPEN_OK], "frames %r, want "
		    "HELLO_OK, OPEN_OK and a plain close" % types)
		return why.result()
	res.run("7: a session with TIMEOUT_MS 3600000 that sends half a 100 KiB "
	    "REQ_HEAD is closed at hpoold's io_timeout (2 s), not the "
	    "client's", timeout_not_extended)

	def rss():
		pid = the_worker(env)
		r = one(env.socket, port, "GET", "/files/" + FILE)
		if r["status"] != 200:
			return "warm-up request: %s" % show(r)
		rss0 = status_kib(pid, "VmRSS")
		hwm0 = status_kib(pid, "VmHWM")
		top = rss0
		payload = memoryview(b"\xa5" * (BIG - 1))
		head = pc.hello() + pc.open_("127.0.0.1", port) + struct.pack(
		    ">IB", BIG, pc.REQ_HEAD)
		socks = []
		fates = {}
		t0 = time.monotonic()
		try:
			for i in range(60):
				if time.monotonic() - t0 > 30:
					break
				s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
				socks.append(s)
				s.settimeout(3)
				try:
					s.connect(env.socket)
					s.sendall(head)
					s.sendall(payload)
					fate = "sent"
				except socket.timeout:
					fate = "send timed out"
				except OSError as e:
					fate = type(e).__name__
				fates[fate] = fates.get(fate, 0) + 1
				top = max(top, status_kib(pid, "VmRSS") or 0)
			time.sleep(0.2)
			top = max(top, status_kib(pid, "VmRSS") or 0)
			hwm = status_kib(pid, "VmHWM")
		finally:
			for s in socks:
				s.close()
		grow = top - rss0
		hgrow = hwm - hwm0
		print("# RSS growth for 60 hostile sessions: %d KiB (VmHWM growth "
		    "%d KiB; sends: %r; %.1f s)" % (grow, hgrow, fates,
		    time.monotonic() - t0))
		if max(grow, hgrow) >= RSS_LIMIT_KIB:
			return "hpoold's VmRSS grew by %d KiB (VmHWM by %d KiB) for " \
			    "60 sessions each parking an (8 MiB - 1) frame, want < " \
			    "%d KiB (sends: %r)" % (grow, hgrow, RSS_LIMIT_KIB, fates)
		return None
	res.run("7: 60 sessions each sending 8 MiB - 2 bytes of an (8 MiB - 1) "
	    "REQ_HEAD grow hpoold's RSS by < 64 MiB", rss)

	def legit():
		seen = []

		def handler(conn, server, idx):
			req = harness.read_request(conn, timeout=10, limit=2 * MIB)
			if req is None:
				return
			v = [v for k, v in req[2] if k.lower() == "x-big"]
			seen.append(len(v[0]) if v else None)
			body = str(seen[-1]).encode()
			conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" %
			    (len(body), body))
		srv = harness.ScriptedServer(handler, "big-head")
		try:
			n = 900 * 1024
			frame, want = big_header_req(n)
			s = pc.Session(env.socket, timeout=5)
			try:
				s.start("127.0.0.1", srv.port)
				s.send(frame + pc.frame(pc.REQ_END))
				r = response(s)
			finally:
				s.close()
		finally:
			srv.stop()
		if r["status"] != 200 or seen != [want]:
			return "a %d-byte REQ_HEAD (X-Big of %d bytes): %s, the " \
			    "server saw X-Big lengths %r" % (n, want, show(r), seen)
		return None
	res.run("7: a 900 KiB REQ_HEAD (under the default 1 MiB "
	    "max_session_buffer) still goes through whole", legit)
	res.after_case = None
	env.final_checks(res)


# ---------------------------------------------------------------- main

def body(res):
	t_start = time.monotonic()
	soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
	want = min(hard, 8192) if hard != resource.RLIM_INFINITY else 8192
	if soft != resource.RLIM_INFINITY and soft < want:
		# this process holds ~1000 sessions in case 5; nginx inherits it
		resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))

	env = CfgEnv({})
	res.after_case = env.revive
	port = env.nginx_port

	# 1
	res.run("1: OPEN with SOURCE 127.0.0.1:P (P listening), GET -> ERROR "
	    "OSError %r; hpoold alive, serving, no sanitizer report" % ERRNO98,
	    case_sync_connect_failure, env, 1)
	res.run("1: the same 20 times in a row",
	    case_sync_connect_failure, env, 20)

	# 2
	res.run("2: a connection authenticated by root (Authorization: NTLM) "
	    "is not given to uid %d (401 on a new connection, never the "
	    "secret); root reuses it" % NOBODY, case_ntlm_not_shared, env)
	res.run("2: a connection challenged with 401 WWW-Authenticate: "
	    "Negotiate is not given to another uid", case_challenge_private,
	    env, "negotiate")
	res.run("2: a connection challenged with 407 Proxy-Authenticate: NTLM "
	    "is not given to another uid", case_challenge_private, env,
	    "proxy-ntlm")
	res.run("2: without partition_by_uid, root's and nobody's plain GETs "
	    "to nginx share one connection", case_shared_by_default, env)

	# 3
	res.run("3: GET with a body through http.server, 10 runs: sent with "
	    "Connection: close (the caller's replaced), not pooled; the next "
	    "caller gets its own response, never the smuggled one",
	    case_get_with_body, env, 10)
	res.run("3: an HTTP/1.0 answer with Connection: keep-alive is not "
	    "pooled", case_http10_keepalive, env)

	# 4
	res.run("4: CONNECT answered 200 Content-Length: 0 is not pooled; the "
	    "next GET goes on a new connection, the CONNECT one gets no more "
	    "bytes", case_connect_not_pooled, env)
	res.run("4: a 200 to CONNECT without Content-Length ends at once "
	    "(RESP_END right after RESP_HEAD)", case_connect_no_length, env)

	# 6
	res.run("6: POST without a body is not replayed after the pooled "
	    "connection dies: one arrival, ERROR RemoteDisconnected, sent = 2",
	    case_not_replayed, env, "POST", "/p")
	res.run("6: PATCH with a body (Content-Length): one arrival, ERROR "
	    "RemoteDisconnected, sent = 2", case_not_replayed, env, "PATCH",
	    "/patch", [("Content-Length", "5")], b"hello")
	res.run("6: POST with Content-Length: 0: one arrival, ERROR "
	    "RemoteDisconnected, sent = 2", case_not_replayed, env, "POST",
	    "/p0", [("Content-Length", "0")])
	res.run("6: GET in the same setup is retried on a fresh connection "
	    "(two arrivals, 200)", case_retried, env, "GET", "/g")
	res.run("6: POST with Idempotency-Key is retried (two arrivals, 200)",
	    case_retried, env, "POST", "/ik", [("Idempotency-Key", "k1")])

	# 8
	res.run("8: a source port below 1024: root is served from it, nobody "
	    "gets ERROR PermissionError naming it", case_priv_port, env)

	res.after_case = None
	env.final_checks(res)

	# 2, with partition_by_uid
	own_env_case(res, "2: with partition_by_uid = yes, root's and "
	    "nobody's plain GETs go on different nginx connections; root's own "
	    "is reused", case_partition_by_uid)

	# 5
	fd_cases(res)
	own_env_case(res, "5: with max_idle = 4, 10 requests on 10 pool keys "
	    "leave at most 4 idle upstream connections", case_max_idle)
	own_env_case(res, "5: max_connections_per_uid = 3: a 4th busy "
	    "connection of one uid is refused naming the setting, another uid "
	    "is served, and idle ones of its own give way",
	    case_conns_per_uid)

	# 7
	buffer_cases(res)
	print("# took %.1f s" % (time.monotonic() - t_start))


harness.main(body)
