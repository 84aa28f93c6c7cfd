"""Shared pieces of hpool's integration tests (python3, stdlib only).

- Results: one `ok - name` / `not ok - name: detail` line per case, then
  `# hpool-count: passed=N failed=M`; exit status 1 if anything failed.
- Env: a temporary directory holding a real nginx (static files, an access
  log with $connection, and /echo and /sum proxied to a small python
  backend) and a real hpoold, all on free loopback ports, stopped by PID.
- ScriptedServer: a raw-socket server on 127.0.0.1 for the responses nginx
  cannot produce (chunked with trailers, close-delimited, malformed, ...).

Environment (set by tests/include.am): HPOOLD, HPOOL, TOP_SRCDIR,
TOP_BUILDDIR. Every server binds 127.0.0.1 only, every wait is bounded.
"""

import atexit
import hashlib
import http.server
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

# Longest any single test script may run; a hang becomes a failure.
SCRIPT_DEADLINE = int(os.environ.get("HPOOL_TEST_DEADLINE", "900"))
START_TIMEOUT = 15.0	# seconds for nginx / hpoold to accept
STOP_TIMEOUT = 10.0	# seconds between SIGTERM and SIGKILL


class SetupError(Exception):
	pass


class DeadlineExceeded(BaseException):
	"""The script ran past SCRIPT_DEADLINE; not an Exception, so that no
	case catches it and the script ends."""


# ---------------------------------------------------------------- results

class Results:
	"""Counts cases and prints the lines the quickstart summary reads."""

	def __init__(self):
		self.passed = 0
		self.failed = 0
		# called after each case run(); a string it returns fails the
		# case (Env.revive: a daemon that died is reported, restarted)
		self.after_case = None

	def ok(self, name):
		self.passed += 1
		print("ok - %s" % name, flush=True)

	def fail(self, name, detail):
		self.failed += 1
		detail = str(detail).replace("\n", "\\n")
		if len(detail) > 2000:
			detail = detail[:2000] + "...(cut)"
		print("not ok - %s: %s" % (name, detail), flush=True)

	def check(self, name, cond, detail=""):
		if cond:
			self.ok(name)
		else:
			self.fail(name, detail or "check failed")
		return cond

	def run(self, name, fn, *args, **kw):
		"""Run fn; it returns None/True (pass), a string (failure detail)
		or raises (failure)."""
		try:
			r = fn(*args, **kw)
		except Exception as e:  # a case never stops the others
			tb = traceback.format_exc().strip().splitlines()
			where = tb[-3].strip() if len(tb) >= 3 else ""
			r = "%s: %s (%s)" % (type(e).__name__, e, where)
		if self.after_case is not None:
			try:
				extra = self.after_case()
			except Exception as e:
				extra = "after the case: %s: %s" % (type(e).__name__, e)
			if extra:
				r = extra if r is None or r is True else "%s; %s" % (r,
				    extra)
		if r is None or r is True:
			self.ok(name)
			return True
		self.fail(name, r)
		return False

	def finish(self):
		print("# hpool-count: passed=%d failed=%d" % (self.passed, self.failed),
		    flush=True)
		return 1 if self.failed else 0


def main(body):
	"""Run body(results) with a deadline, clean-up and the count line.
	Anything escaping body counts as one more failure."""
	res = Results()

	def on_alarm(signum, frame):
		raise DeadlineExceeded("test script deadline (%ds) reached" %
		    SCRIPT_DEADLINE)

	def on_term(signum, frame):
		raise SystemExit(1)

	signal.signal(signal.SIGALRM, on_alarm)
	signal.signal(signal.SIGTERM, on_term)
	signal.alarm(SCRIPT_DEADLINE)
	try:
		body(res)
	except SetupError as e:
		res.fail("setup", e)
	except BaseException as e:
		res.fail("script", "%s: %s" % (type(e).__name__, e))
		traceback.print_exc(file=sys.stdout)
	finally:
		signal.alarm(0)
		cleanup_all()
	sys.exit(res.finish())


# ---------------------------------------------------------------- processes

_children = []		# every Popen we started, stopped by PID at exit
_cleanups = []		# other callables (servers, temp dirs)


def spawn(argv, **kw):
	p = subprocess.Popen(argv, **kw)
	_children.append(p)
	return p


def stop_process(p, timeout=STOP_TIMEOUT):
	"""SIGTERM, wait up to timeout, SIGKILL. Only ever our own child."""
	if p.poll() is not None:
		return p.returncode
	try:
		p.send_signal(signal.SIGTERM)
	except ProcessLookupError:
		pass
	try:
		return p.wait(timeout)
	except subprocess.TimeoutExpired:
		p.kill()
		return p.wait(timeout)


def cleanup_all():
	while _cleanups:
		fn = _cleanups.pop()
		try:
			fn()
		except Exception:
			pass
	while _children:
		p = _children.pop()
		try:
			stop_process(p)
		except Exception:
			pass


atexit.register(cleanup_all)


def free_port():
	"""A free loopback TCP port (bind 127.0.0.1:0)."""
	s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
	try:
		s.bind(("127.0.0.1", 0))
		return s.getsockname()[1]
	finally:
		s.close()


def free_ports(n):
	"""n distinct free loopback TCP ports: all bound at once, so that two
	calls cannot hand out the same port (an nginx given one port twice
	serves both names from the first server block)."""
	socks = []
	try:
		for _ in range(n):
			s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
			socks.append(s)
			s.bind(("127.0.0.1", 0))
		return [s.getsockname()[1] for s in socks]
	finally:
		for s in socks:
			s.close()


def closed_port():
	"""A loopback port that refuses connections: bound, never listened."""
	s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
	s.bind(("127.0.0.1", 0))
	_cleanups.append(s.close)
	return s.getsockname()[1]


def wait_until(pred, timeout, what, proc=None, log=None):
	"""Poll pred() until true; fail early if proc died. Bounded."""
	deadline = time.monotonic() + timeout
	delay = 0.005
	while True:
		if pred():
			return
		if proc is not None and proc.poll() is not None:
			raise SetupError("%s: process exited with %s%s" % (what,
			    proc.returncode, tail(log)))
		if time.monotonic() > deadline:
			raise SetupError("%s: not ready after %.0fs%s" % (what,
			    timeout, tail(log)))
		time.sleep(delay)
		delay = min(delay * 2, 0.1)


def tail(path, n=20):
	if not path:
		return ""
	try:
		with open(path, "rb") as f:
			lines = f.read().decode("utf-8", "replace").splitlines()
		return "; log: " + " | ".join(lines[-n:])
	except OSError:
		return ""


def tcp_accepts(port):
	try:
		socket.create_connection(("127.0.0.1", port), timeout=1).close()
		return True
	except OSError:
		return False


def unix_accepts(path):
	s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
	s.settimeout(1)
	try:
		s.connect(path)
		return True
	except OSError:
		return False
	finally:
		s.close()


def sha256(data):
	return hashlib.sha256(data).hexdigest()


def sha256_file(path):
	h = hashlib.sha256()
	with open(path, "rb") as f:
		while True:
			b = f.read(1 << 20)
			if not b:
				return h.hexdigest()
			h.update(b)


def make_file(path, size, seed=0):
	"""A file of size bytes, deterministic pseudo-random content."""
	block = hashlib.sha256(b"hpool-%d" % seed).digest() * 2048  # 64 KiB
	with open(path, "wb") as f:
		left = size
		while left > 0:
			n = min(left, len(block))
			f.write(block[:n])
			left -= n
			block = block[7:] + block[:7]	# no period of 64 KiB


def tool(var, default_rel):
	"""Path of a built binary: $VAR, else TOP_BUILDDIR/default_rel."""
	v = os.environ.get(var)
	if v:
		return v
	top = os.environ.get("TOP_BUILDDIR") or os.path.join(
	    os.path.dirname(os.path.abspath(__file__)), "..", "..")
	return os.path.join(top, default_rel)


HPOOLD = tool("HPOOLD", "daemon/hpoold")
HPOOL = tool("HPOOL", "cli/hpool")


# ---------------------------------------------------------------- echo backend

class _EchoHandler(http.server.BaseHTTPRequestHandler):
	"""Behind nginx's /echo and /sum. /echo answers the request body;
	/sum answers JSON {method, path, length, sha256, headers}. Both set
	X-Echo-Method, X-Echo-Length and X-Echo-Sha256."""
	protocol_version = "HTTP/1.1"

	def log_message(self, *a):
		pass

	def _body(self):
		h = hashlib.sha256()
		keep = self.path.startswith("/echo")
		parts = []
		n = 0
		te = (self.headers.get("Transfer-Encoding") or "").lower()
		if te == "chunked":
			while True:
				size = int(self.rfile.readline().split(b";")[0], 16)
				if size == 0:
					while self.rfile.readline() not in (b"\r\n", b"\n", b""):
						pass
					break
				left = size
				while left:
					b = self.rfile.read(min(left, 1 << 16))
					if not b:
						raise ConnectionError("short chunk")
					left -= len(b)
					n += len(b)
					h.update(b)
					if keep:
						parts.append(b)
				self.rfile.readline()
		else:
			left = int(self.headers.get("Content-Length") or 0)
			while left:
				b = self.rfile.read(min(left, 1 << 16))
				if not b:
					raise ConnectionError("short body")
				left -= len(b)
				n += len(b)
				h.update(b)
				if keep:
					parts.append(b)
		return n, h.hexdigest(), b"".join(parts)

	def _answer(self):
		n, digest, body = self._body()
		if not self.path.startswith("/echo"):
			body = json.dumps({
			    "method": self.command, "path": self.path,
			    "length": n, "sha256": digest,
			    "headers": [[k, v] for k, v in self.headers.items()],
			}).encode()
		self.send_response(200)
		self.send_header("Content-Type", "application/octet-stream")
		self.send_header("Content-Length", str(len(body)))
		self.send_header("X-Echo-Method", self.command)
		self.send_header("X-Echo-Length", str(n))
		self.send_header("X-Echo-Sha256", digest)
		self.end_headers()
		if self.command != "HEAD":
			self.wfile.write(body)

	do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _answer
	do_OPTIONS = _answer


class _EchoServer(http.server.ThreadingHTTPServer):
	daemon_threads = True
	allow_reuse_address = True


# ---------------------------------------------------------------- environment

def _nginx_modules_missing():
	try:
		out = subprocess.run(["nginx", "-V"], capture_output=True,
		    timeout=10).stderr.decode("utf-8", "replace")
	except (OSError, subprocess.TimeoutExpired):
		return set()
	return set(re.findall(r"--without-http_(\w+)_module", out))


class Env:
	"""A temp dir with nginx (+ python echo backend) and hpoold.

	files: {name: size} static files created under /files/ (name -> size).
	"""

	def __init__(self, files=None, nginx=True, daemon=True, echo=True):
		self.tmp = tempfile.mkdtemp(prefix="hpool-test-")
		_cleanups.append(lambda: shutil.rmtree(self.tmp, ignore_errors=True))
		self.www = os.path.join(self.tmp, "www")
		os.makedirs(os.path.join(self.www, "files"))
		self.files = {}
		# name -> size (pseudo-random content) or bytes (that content)
		for i, (name, spec) in enumerate(sorted((files or {}).items())):
			path = os.path.join(self.www, "files", name)
			if isinstance(spec, bytes):
				with open(path, "wb") as f:
					f.write(spec)
			else:
				make_file(path, spec, seed=i)
			self.files[name] = (os.path.getsize(path), sha256_file(path))
		self.socket = os.path.join(self.tmp, "hpoold.sock")
		self.nginx_port = None
		self.echo_port = None
		self.nginx = None
		self.daemon = None
		if echo and nginx:
			self._start_echo()
		if nginx:
			self._start_nginx()
		if daemon:
			self.start_daemon()

	def path(self, *parts):
		return os.path.join(self.tmp, *parts)

	def url(self, path="/"):
		return "http://127.0.0.1:%d%s" % (self.nginx_port, path)

	# -- echo backend
	def _start_echo(self):
		srv = _EchoServer(("127.0.0.1", 0), _EchoHandler)
		self.echo_port = srv.server_address[1]
		t = threading.Thread(target=srv.serve_forever,
		    kwargs={"poll_interval": 0.1}, daemon=True)
		t.start()

		def stop():
			srv.shutdown()
			srv.server_close()
		_cleanups.append(stop)

	# -- nginx
	def _start_nginx(self):
		if shutil.which("nginx") is None and not os.path.exists(
		    "/usr/sbin/nginx"):
			raise SetupError("nginx not found (apt-get install nginx-light)")
		nginx = shutil.which("nginx") or "/usr/sbin/nginx"
		self.nginx_port = free_port()
		t = self.tmp
		missing = _nginx_modules_missing()
		temps = ["client_body_temp_path %s/client_body;" % t]
		for mod in ("proxy", "fastcgi", "uwsgi", "scgi"):
			if mod not in missing:
				temps.append("%s_temp_path %s/%s_temp;" % (mod, t, mod))
		user = ""
		if os.geteuid() == 0:
			# workers of a root master drop to nobody, who cannot read
			# a 0700 temp dir
			user = "user root;"
		echo = ""
		if self.echo_port:
			echo = """
		location /echo { proxy_pass http://127.0.0.1:%d; }
		location /sum { proxy_pass http://127.0.0.1:%d; }
""" % (self.echo_port, self.echo_port)
		conf = """%(user)s
worker_processes 1;
pid %(t)s/nginx.pid;
error_log %(t)s/error.log info;
events { worker_connections 512; }
http {
	log_format hpool '$connection $connection_requests $remote_port "$request" $status $body_bytes_sent $request_length';
	access_log %(t)s/access.log hpool;
	%(temps)s
	keepalive_requests 10000;
	keepalive_timeout 60s;
	sendfile on;
	default_type application/octet-stream;
	client_max_body_size 0;
	client_body_buffer_size 1m;
	server {
		listen 127.0.0.1:%(port)d;
		server_name localhost;
		root %(www)s;
		location / { }
		%(echo)s
	}
}
""" % {"user": user, "t": t, "temps": "\n\t".join(temps),
		    "port": self.nginx_port, "www": self.www, "echo": echo}
		conf_path = os.path.join(t, "nginx.conf")
		with open(conf_path, "w") as f:
			f.write(conf)
		log = os.path.join(t, "nginx.stderr")
		with open(log, "wb") as out:
			self.nginx = spawn([nginx, "-p", t + "/", "-c", conf_path,
			    "-e", os.path.join(t, "error.log"), "-g", "daemon off;"],
			    stdin=subprocess.DEVNULL, stdout=out, stderr=out)
		wait_until(lambda: tcp_accepts(self.nginx_port), START_TIMEOUT,
		    "nginx on 127.0.0.1:%d" % self.nginx_port, self.nginx,
		    os.path.join(t, "error.log"))

	def access_log(self):
		"""Parsed access log: list of dicts (connection, requests,
		request, status)."""
		rows = []
		try:
			with open(self.path("access.log"), "r", errors="replace") as f:
				for line in f:
					m = re.match(r'(\d+) (\d+) (\d+) "([^"]*)" (\d+) (\d+) (\d+)',
					    line)
					if m:
						rows.append({"connection": int(m.group(1)),
						    "requests": int(m.group(2)),
						    "port": int(m.group(3)),
						    "request": m.group(4),
						    "status": int(m.group(5)),
						    "sent": int(m.group(6)),
						    "length": int(m.group(7))})
		except FileNotFoundError:
			pass
		return rows

	def access_log_wait(self, n, timeout=5.0):
		"""The access log once it has at least n rows (nginx writes a
		row just after the response, so a fast client can be ahead of
		it), or as it is after timeout."""
		deadline = time.monotonic() + timeout
		while True:
			rows = self.access_log()
			if len(rows) >= n or time.monotonic() > deadline:
				return rows
			time.sleep(0.02)

	# -- hpoold
	def start_daemon(self, extra=(), workers=1):
		"""workers: one by default, so that sequential requests meet
		one pool (each worker process has its own); a number, or
		"auto", or None for the config's."""
		if not os.access(HPOOLD, os.X_OK):
			raise SetupError("hpoold not built: %s" % HPOOLD)
		self.daemon_log = self.path("hpoold.log")
		out = open(self.daemon_log, "ab")
		w = [] if workers is None else ["--workers", str(workers)]
		self.daemon = spawn([HPOOLD, "--foreground", "--socket",
		    self.socket] + w + list(extra), stdin=subprocess.DEVNULL,
		    stdout=out, stderr=out)
		out.close()
		wait_until(lambda: unix_accepts(self.socket), START_TIMEOUT,
		    "hpoold on %s" % self.socket, self.daemon, self.daemon_log)

	def worker_pids(self):
		"""PIDs of the daemon's worker processes (children of the
		supervisor), oldest first."""
		return worker_pids(self.daemon.pid) if self.daemon else []

	def daemon_alive(self):
		return self.daemon is not None and self.daemon.poll() is None

	def stop_daemon(self):
		if self.daemon is not None:
			stop_process(self.daemon)
			if self.daemon in _children:
				_children.remove(self.daemon)
			self.daemon = None

	def revive(self):
		"""After a case: if hpoold died, say so (with its log) and start
		a new one so the next cases are not failed by the same crash."""
		if self.daemon is None or self.daemon.poll() is None:
			return None
		rc = self.daemon.returncode
		why = "hpoold died (exit %s)%s" % (rc, tail(self.daemon_log, 8))
		self.crashes = getattr(self, "crashes", 0) + 1
		if self.daemon in _children:
			_children.remove(self.daemon)
		self.daemon = None
		try:
			os.unlink(self.socket)
		except OSError:
			pass
		with open(self.daemon_log, "ab") as f:
			f.write(b"--- hpoold restarted by the test harness ---\n")
		self.start_daemon()
		return why

	def final_checks(self, res):
		"""hpoold is still up after the cases, stops on SIGTERM without
		crashing, and its log holds no sanitizer report."""
		if self.daemon is None:
			return
		res.after_case = None
		alive = self.daemon_alive()
		crashes = getattr(self, "crashes", 0)
		res.check("hpoold still running after the cases, never died",
		    alive and not crashes, "hpoold died %d time(s) during the "
		    "cases and %s%s" % (crashes, "is running now" if alive else
		    "exited with %s" % self.daemon.returncode,
		    tail(self.daemon_log, 10)))
		rc = stop_process(self.daemon)
		if self.daemon in _children:
			_children.remove(self.daemon)
		if alive:
			res.check("hpoold exits cleanly on SIGTERM",
			    rc in (0, -signal.SIGTERM), "exit status %s%s" % (rc,
			    tail(self.daemon_log, 10)))
		with open(self.daemon_log, "rb") as f:
			log = f.read().decode("utf-8", "replace")
		reports = [l for l in log.splitlines() if "Sanitizer" in l or
		    "runtime error:" in l]
		res.check("hpoold log has no sanitizer report", not reports,
		    " | ".join(reports[:5]))
		self.daemon = None

	# -- the CLI
	def hpool(self, args, input=None, timeout=60, env=None, socket_env=True,
	    stdin=None):
		"""Run $HPOOL args; returns CompletedProcess with bytes. A run
		past timeout is killed and raised as TimeoutError."""
		e = dict(os.environ)
		# hpool reads the proxy environment as curl does: a proxy
		# set where the tests run must not reroute them
		for k in ("http_proxy", "https_proxy", "HTTPS_PROXY",
		    "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY"):
			e.pop(k, None)
		if socket_env:
			e["HPOOL_SOCKET"] = self.socket
		if env:
			e.update(env)
		return run_capture([HPOOL] + list(args), input=input,
		    timeout=timeout, env=e, stdin=stdin)


def worker_pids(supervisor):
	"""The worker processes of the hpoold whose supervisor is that PID:
	the sessions, pools and upstream connections live in them."""
	try:
		with open("/proc/%d/task/%d/children" % (supervisor,
		    supervisor)) as f:
			return [int(x) for x in f.read().split()]
	except OSError:
		return []


def established_to(pids, port, addr="127.0.0.1"):
	"""TCP connections of these processes to addr:port (ss -p)."""
	cp = subprocess.run(["ss", "-Htnp", "state", "established", "dst",
	    "%s:%d" % (addr, port)], capture_output=True, timeout=30)
	tags = ["pid=%d," % pid for pid in pids]
	return sum(1 for line in cp.stdout.decode(errors="replace")
	    .splitlines() if any(t in line for t in tags))


def wait_workers(supervisor, n, timeout=START_TIMEOUT):
	"""The PIDs of n workers of supervisor, once that many run."""
	deadline = time.monotonic() + timeout
	while True:
		pids = worker_pids(supervisor)
		if len(pids) >= n or time.monotonic() > deadline:
			return pids
		time.sleep(0.02)


class Tinyproxy:
	"""Debian's tinyproxy on 127.0.0.1, a CONNECT proxy: with basic
	authentication if auth is a (user, password) pair, and CONNECT allowed
	to connect_ports only if any are given. Its log (LogLevel Connect)
	counts the requests."""

	def __init__(self, env, auth=None, connect_ports=()):
		self.port = free_port()
		d = env.path("tinyproxy-%d" % self.port)
		os.makedirs(d)
		os.chmod(d, 0o755)
		self.log = os.path.join(d, "stderr")
		lines = ["Port %d" % self.port, "Listen 127.0.0.1",
		    "Timeout 30", "MaxClients 50", "Allow 127.0.0.1",
		    "LogLevel Connect"]
		if auth:
			lines.append("BasicAuth %s %s" % auth)
		lines += ["ConnectPort %d" % p for p in connect_ports]
		if os.geteuid() == 0:
			lines += ["User nobody", "Group nogroup"]
		conf = os.path.join(d, "tinyproxy.conf")
		with open(conf, "w") as f:
			f.write("\n".join(lines) + "\n")
		with open(self.log, "wb") as out:
			self.proc = spawn(["tinyproxy", "-d", "-c", conf],
			    stdin=subprocess.DEVNULL, stdout=out, stderr=out)
		wait_until(lambda: tcp_accepts(self.port), START_TIMEOUT,
		    "tinyproxy on 127.0.0.1:%d" % self.port, self.proc, self.log)

	def url(self, auth=""):
		return "http://%s127.0.0.1:%d" % (auth, self.port)

	def connects(self, port=None):
		"""How many requests tinyproxy logged (CONNECTs to
		127.0.0.1:port, if port)."""
		want = "CONNECT 127.0.0.1:%d " % port if port else "CONNECT "
		with open(self.log, errors="replace") as f:
			return sum(1 for l in f if "Request (file descriptor" in l
			    and want in l)


def start_hpoold(env, conf_text, name):
	"""An hpoold of its own beside env's, one worker, with conf_text after
	"[hpoold]\\nsocket_mode = 0666": (proc, socket, log, config path)."""
	conf = env.path(name + ".conf")
	with open(conf, "w") as f:
		f.write("[hpoold]\nsocket_mode = 0666\n" + conf_text)
	sock = env.path(name + ".sock")
	log = env.path(name + ".log")
	with open(log, "ab") as out:
		p = spawn([HPOOLD, "--foreground", "--socket", sock,
		    "--workers", "1", "-c", conf], stdin=subprocess.DEVNULL,
		    stdout=out, stderr=out)
	wait_until(lambda: unix_accepts(sock), START_TIMEOUT,
	    "hpoold on " + sock, p, log)
	return p, sock, log, conf


def stop_hpoold(res, p, log, what):
	"""Stop start_hpoold's daemon by PID: it exits 0 with no sanitizer
	report in its log; the log's text."""
	rc = stop_process(p)
	if p in _children:
		_children.remove(p)
	with open(log, errors="replace") as f:
		text = f.read()
	bad = [l for l in text.splitlines() if "Sanitizer" in l or
	    "runtime error:" in l]
	res.check("%s: hpoold exits 0, no sanitizer report" % what, rc == 0
	    and not bad, (rc, bad[:3]))
	return text


def run_capture(argv, input=None, timeout=60, env=None, stdin=None):
	kw = {}
	if input is None:
		kw["stdin"] = stdin if stdin is not None else subprocess.DEVNULL
	p = spawn(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
	    stdin=subprocess.PIPE if input is not None else kw["stdin"],
	    env=env)
	try:
		out, err = p.communicate(input, timeout=timeout)
	except subprocess.TimeoutExpired:
		p.kill()
		p.communicate(timeout=STOP_TIMEOUT)
		raise TimeoutError("%s did not finish in %ss" % (
		    " ".join(argv[:6]), timeout))
	finally:
		if p in _children:
			_children.remove(p)
	return subprocess.CompletedProcess(argv, p.returncode, out, err)


def describe(cp, n=300):
	"""Short text of a CompletedProcess for failure details."""
	def cut(b):
		s = b.decode("latin-1")
		return repr(s if len(s) <= n else s[:n] + "...")
	return "exit %s, stdout %s, stderr %s" % (cp.returncode, cut(cp.stdout),
	    cut(cp.stderr))


ERROR_RE = re.compile(rb"^hpool: ([A-Za-z_][A-Za-z0-9_.]*): ?(.*)$", re.M)
# The line after the error that says whether the request reached the
# server (hpool(1), DIAGNOSTICS).
SENT_NOTE_RE = re.compile(rb"\nhpool: (the request (?:was not sent|may have "
    rb"been processed)[^\n]*)\n?\Z")


# What hpool adds after the exception's message: the destination and the
# phase (hpool(1), DIAGNOSTICS); cli_phase() gives it.
# The phase after an error line: hpoold's (ERROR's detail, version 4) or
# the one hpool works out itself.
PHASE_RE = re.compile(rb" \(((?:resolving|connecting to|the TLS handshake "
    rb"with|opening a tunnel to|sending the request to|waiting for the "
    rb"response head from|waiting for a connection to|reading the "
    rb"(?:response )?body from) [^()\n]*)\)(\n?)\Z")


def _cli_last_error(stderr):
	"""(name, message with the phase) of the last error line, or None;
	the line saying whether the request was sent is left out."""
	last = None
	for m in ERROR_RE.finditer(stderr):
		last = m
	if last is None:
		return None
	return last.group(1), SENT_NOTE_RE.sub(b"\n", stderr[last.start(2):])


def cli_error(stderr):
	"""(name, message) of the last `hpool: Name: message` line, or None.
	A message that spans lines (BadStatusLine's raw line) keeps its text
	up to the end of stderr, but for the line saying whether the request
	was sent (cli_sent_note) and the phase hpool appends (cli_phase)."""
	last = _cli_last_error(stderr)
	if last is None:
		return None
	return last[0].decode("latin-1"), PHASE_RE.sub(rb"\2", last[1]).decode(
	    "latin-1")


def cli_phase(stderr):
	"""The phase hpool named after its last error ("connecting to
	HOST:PORT", ...), or None."""
	last = _cli_last_error(stderr)
	m = PHASE_RE.search(last[1]) if last is not None else None
	return m.group(1).decode("latin-1") if m else None


def hpool_at(sock, args, timeout=30):
	"""$HPOOL args against the hpoold at sock, with no proxy variable of
	the environment (hpool reads them as curl does)."""
	e = dict(os.environ, HPOOL_SOCKET=sock)
	for k in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY",
	    "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY"):
		e.pop(k, None)
	return run_capture([HPOOL] + list(args), timeout=timeout, env=e)


def cli_error_text(cp):
	"""The last error line as "Name: message" (phase left out), or ""."""
	e = cli_error(cp.stderr)
	return ("%s: %s" % e).strip() if e else ""


def cli_sent_note(stderr):
	"""The text of the last line of stderr when it says whether the
	request reached the server ("the request was not sent ..."), or
	None."""
	m = SENT_NOTE_RE.search(stderr)
	return m.group(1).decode("latin-1") if m else None


def peer_hangup_at(sock, t0, limit):
	"""Seconds from t0 until the peer of sock hangs up, without reading
	anything (a never-reading client); None if it did not by t0 + limit."""
	p = select.poll()
	p.register(sock, select.POLLRDHUP)	# POLLHUP is always reported
	while True:
		left = t0 + limit - time.monotonic()
		if left <= 0:
			return None
		for _, ev in p.poll(max(1, int(left * 1000))):
			if ev & (select.POLLHUP | select.POLLRDHUP):
				return time.monotonic() - t0


# ---------------------------------------------------------------- scripted server

def read_head(conn, timeout=10.0, limit=1 << 20):
	"""Read a request head from a socket. Returns (method, target,
	headers, rest) where rest is what followed the head, or None on EOF
	before a request."""
	conn.settimeout(timeout)
	buf = b""
	while b"\r\n\r\n" not in buf:
		b = conn.recv(65536)
		if not b:
			return None
		buf += b
		if len(buf) > limit:
			raise ValueError("request head too long")
	head, rest = buf.split(b"\r\n\r\n", 1)
	lines = head.split(b"\r\n")
	parts = lines[0].split(b" ")
	method = parts[0].decode("latin-1")
	target = parts[1].decode("latin-1") if len(parts) > 1 else ""
	headers = []
	for l in lines[1:]:
		k, _, v = l.partition(b":")
		headers.append((k.decode("latin-1"), v.strip().decode("latin-1")))
	return method, target, headers, rest


def read_request(conn, timeout=10.0, limit=1 << 20):
	"""Read one request (head and a Content-Length or chunked body) from
	a socket. Returns (method, target, headers, body) or None on EOF
	before a request."""
	r = read_head(conn, timeout, limit)
	if r is None:
		return None
	method, target, headers, rest = r
	hmap = {k.lower(): v for k, v in headers}
	body = b""
	if "content-length" in hmap:
		n = int(hmap["content-length"])
		body = rest
		while len(body) < n:
			b = conn.recv(65536)
			if not b:
				break
			body += b
	elif hmap.get("transfer-encoding", "").lower() == "chunked":
		data = rest
		out = b""

		def need(cond):
			nonlocal data
			while not cond():
				b = conn.recv(65536)
				if not b:
					raise ConnectionError("eof in chunked body")
				data += b
		while True:
			need(lambda: b"\r\n" in data)
			line, data = data.split(b"\r\n", 1)
			size = int(line.split(b";")[0], 16)
			if size == 0:
				need(lambda: data.startswith(b"\r\n") or b"\r\n\r\n" in data)
				break
			need(lambda: len(data) >= size + 2)
			out += data[:size]
			data = data[size + 2:]
		body = out
	return method, target, headers, body


class ScriptedServer:
	"""A TCP server on 127.0.0.1 whose per-connection behaviour is a
	python function handler(conn, server). Records connections."""

	def __init__(self, handler, name="scripted", rcvbuf=None):
		self.handler = handler
		self.name = name
		self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
		self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
		if rcvbuf:
			# accepted sockets inherit it: uploads stall sooner
			self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
		self.sock.bind(("127.0.0.1", 0))
		self.sock.listen(64)
		self.sock.settimeout(0.1)
		self.port = self.sock.getsockname()[1]
		self.stopping = threading.Event()
		self.lock = threading.Lock()
		self.connections = 0
		self.requests = []	# (connection index, method, target, headers, body)
		self.errors = []
		self.threads = []
		self.conns = []
		self.thread = threading.Thread(target=self._accept_loop, daemon=True)
		self.thread.start()
		_cleanups.append(self.stop)

	def url(self, path="/"):
		return "http://127.0.0.1:%d%s" % (self.port, path)

	def _accept_loop(self):
		while not self.stopping.is_set():
			try:
				c, _ = self.sock.accept()
			except socket.timeout:
				continue
			except OSError:
				return
			with self.lock:
				idx = self.connections
				self.connections += 1
				self.conns.append(c)
			t = threading.Thread(target=self._serve, args=(c, idx),
			    daemon=True)
			self.threads.append(t)
			t.start()

	def _serve(self, c, idx):
		try:
			self.handler(c, self, idx)
		except Exception as e:
			self.errors.append("%s: %s" % (type(e).__name__, e))
		finally:
			try:
				c.close()
			except OSError:
				pass

	def record(self, idx, req):
		with self.lock:
			self.requests.append((idx,) + tuple(req))

	def stop(self):
		if self.stopping.is_set():
			return
		self.stopping.set()
		try:
			# wakes the accept() in progress (Linux), then close
			self.sock.shutdown(socket.SHUT_RDWR)
		except OSError:
			pass
		self.thread.join(5)
		try:
			self.sock.close()
		except OSError:
			pass
		with self.lock:
			conns = list(self.conns)
		for c in conns:
			try:
				c.shutdown(socket.SHUT_RDWR)
			except OSError:
				pass
		self.thread.join(5)
		for t in self.threads:
			t.join(2)


def send_and_close(conn, data, how="close"):
	"""Send data then end the connection: "close" (FIN), "rst" (RST),
	"hold" (keep it open until the peer closes or the server stops)."""
	if data:
		conn.sendall(data)
	if how == "rst":
		conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
		    b"\x01\x00\x00\x00\x00\x00\x00\x00")
		conn.close()
	elif how == "hold":
		conn.settimeout(0.2)
		deadline = time.monotonic() + 60
		while time.monotonic() < deadline:
			try:
				if not conn.recv(65536):
					return
			except socket.timeout:
				continue
			except OSError:
				return
	else:
		try:
			conn.shutdown(socket.SHUT_WR)
		except OSError:
			pass
		# Drain what the peer still sends so close() sends FIN, not RST.
		conn.settimeout(2)
		try:
			while conn.recv(65536):
				pass
		except OSError:
			pass


def replay_server(data, after="close", name="replay"):
	"""A server answering every request on every connection with the
	same raw bytes, then ending the connection as `after` says."""
	def handler(conn, server, idx):
		req = read_request(conn)
		if req is None:
			return
		server.record(idx, req)
		send_and_close(conn, data, after)
	return ScriptedServer(handler, name)


# ---------------------------------------------------------------- -i output

def parse_include_output(out):
	"""Split `hpool -i` stdout into (version, status, reason, headers,
	body) or None if there is no status line. Lines may end in CRLF or
	LF; a line starting with SP/HT continues the previous header value
	(printed raw, as python keeps folded values)."""
	m = re.match(rb"HTTP/(\d)\.(\d) (\d{3})(?: ([^\r\n]*))?(\r?\n)", out)
	if not m:
		return None
	version = int(m.group(1)) * 10 + int(m.group(2))
	status = int(m.group(3))
	reason = (m.group(4) or b"").decode("latin-1")
	eol = m.group(5)
	pos = m.end()
	headers = []
	while True:
		end = out.find(eol, pos)
		if end < 0 and pos == len(out):
			break	# -I may end right after the last header
		if end < 0:
			# head never finished: whatever is left is a broken header
			raise ValueError("unterminated header block in -i output")
		line = out[pos:end]
		pos = end + len(eol)
		if line == b"":
			break
		if line[:1] in (b" ", b"\t") and headers:
			k, v = headers[-1]
			headers[-1] = (k, v + eol.decode() + line.decode("latin-1"))
			continue
		k, sep, v = line.partition(b": ")
		if not sep:
			k, sep, v = line.partition(b":")
		headers.append((k.decode("latin-1"), v.decode("latin-1")))
	return version, status, reason, headers, out[pos:]


# ---------------------------------------------------------------- misc

def sanitized(path):
	"""True if the binary was built with AddressSanitizer."""
	try:
		with open(path, "rb") as f:
			return b"__asan_init" in f.read()
	except OSError:
		return False


def vm_hwm_kib(pid):
	"""Peak resident set size of a process in KiB, or None."""
	try:
		with open("/proc/%d/status" % pid) as f:
			for line in f:
				if line.startswith("VmHWM:"):
					return int(line.split()[1])
	except OSError:
		pass
	return None


def read_some(pipe, want, timeout):
	"""Read from a child's stdout pipe until want bytes, EOF or timeout
	seconds; never blocks past the timeout."""
	import select
	fd = pipe.fileno()
	got = []
	n = 0
	deadline = time.monotonic() + timeout
	while n < want:
		left = deadline - time.monotonic()
		if left <= 0:
			break
		r, _, _ = select.select([fd], [], [], left)
		if not r:
			break
		b = os.read(fd, min(65536, want - n))
		if not b:
			break
		got.append(b)
		n += len(b)
	return b"".join(got)


class Stunnel:
	"""Debian's stunnel4 as a TLS server on 127.0.0.1 in front of a
	loopback port (an https:// proxy made of a plain one): cert and key
	are PEM paths. Runs in the foreground, stopped by PID."""

	def __init__(self, env, cert, key, connect_port):
		self.port = free_port()
		d = env.path("stunnel-%d" % self.port)
		os.makedirs(d)
		os.chmod(d, 0o755)
		self.log = os.path.join(d, "stunnel.log")
		lines = ["foreground = yes", "pid =", "output = " + self.log,
		    "debug = 5", "[proxy]", "accept = 127.0.0.1:%d" % self.port,
		    "connect = 127.0.0.1:%d" % connect_port, "cert = " + cert,
		    "key = " + key]
		conf = os.path.join(d, "stunnel.conf")
		with open(conf, "w") as f:
			f.write("\n".join(lines) + "\n")
		with open(os.path.join(d, "stderr"), "wb") as out:
			self.proc = spawn(["stunnel4", conf],
			    stdin=subprocess.DEVNULL, stdout=out, stderr=out)
		wait_until(lambda: tcp_accepts(self.port), START_TIMEOUT,
		    "stunnel on 127.0.0.1:%d" % self.port, self.proc, self.log)

	def accepted(self):
		"""How many TLS connections stunnel took and passed on (the
		handshake done, the plain port connected: a probe of the port
		is not counted)."""
		try:
			with open(self.log, errors="replace") as f:
				return sum(1 for l in f if "connected remote "
				    "server from" in l)
		except OSError:
			return 0


class Squid:
	"""Debian's squid on 127.0.0.1 in the foreground (-N), its own config
	in a temp dir, nothing cached: basic authentication from an htpasswd
	file when auth is a (user, password) pair (squid's basic_ncsa_auth),
	CONNECT allowed to any port. With https (cert, key), an https_port
	too (self.tls_port). Its access log counts the requests."""

	def __init__(self, env, auth=None, https=None):
		self.port = free_port()
		self.tls_port = free_port() if https else None
		d = env.path("squid-%d" % self.port)
		os.makedirs(d)
		os.chmod(d, 0o777)
		self.dir = d
		self.access_log = os.path.join(d, "access.log")
		self.cache_log = os.path.join(d, "cache.log")
		lines = ["http_port 127.0.0.1:%d" % self.port,
		    "pid_filename %s/squid.pid" % d,
		    "access_log stdio:%s squid" % self.access_log,
		    "cache_log %s" % self.cache_log,
		    "cache_store_log none", "cache deny all",
		    "coredump_dir %s" % d, "shutdown_lifetime 0 seconds",
		    "dns_nameservers 127.0.0.1", "hosts_file /etc/hosts",
		    "acl localnet src 127.0.0.0/8",
		    "acl SSL_ports port 1-65535", "acl CONNECT method CONNECT"]
		if https:
			lines.append("https_port 127.0.0.1:%d tls-cert=%s "
			    "tls-key=%s" % (self.tls_port, https[0], https[1]))
		if auth:
			pw = os.path.join(d, "htpasswd")
			cp = subprocess.run(["htpasswd", "-b", "-c", "-B", pw,
			    auth[0], auth[1]], capture_output=True, timeout=60)
			if cp.returncode != 0:
				raise SetupError("htpasswd: %r" % cp.stderr[-300:])
			os.chmod(pw, 0o644)
			lines += ["auth_param basic program "
			    "/usr/lib/squid/basic_ncsa_auth %s" % pw,
			    "auth_param basic children 2",
			    "auth_param basic realm hpool test",
			    "acl authed proxy_auth REQUIRED",
			    "http_access deny !authed"]
		lines += ["http_access allow localnet", "http_access deny all"]
		if os.geteuid() == 0:
			lines.append("cache_effective_user nobody")
		self.conf = os.path.join(d, "squid.conf")
		with open(self.conf, "w") as f:
			f.write("\n".join(lines) + "\n")
		cp = subprocess.run(["squid", "-k", "parse", "-f", self.conf],
		    capture_output=True, timeout=60)
		if cp.returncode != 0:
			raise SetupError("squid -k parse: %r" % cp.stderr[-600:])
		with open(os.path.join(d, "stderr"), "wb") as out:
			self.proc = spawn(["squid", "-N", "-f", self.conf],
			    stdin=subprocess.DEVNULL, stdout=out, stderr=out)
		for port in (self.port, self.tls_port):
			if port:
				wait_until(lambda: tcp_accepts(port),
				    START_TIMEOUT, "squid on 127.0.0.1:%d" % port,
				    self.proc, self.cache_log)

	def requests(self, method=None, status=None):
		"""Rows of the access log (squid's native format) as (method,
		url, status text such as TCP_TUNNEL/200), optionally only those
		of method; waits a moment, as squid logs after the
		transaction."""
		rows = []
		try:
			with open(self.access_log, errors="replace") as f:
				for l in f:
					x = l.split()
					if len(x) >= 7:
						rows.append((x[5], x[6], x[3]))
		except OSError:
			pass
		return [r for r in rows if (method is None or r[0] == method)
		    and (status is None or r[2].endswith("/%d" % status))]


def unit_file(path):
	"""A systemd unit's assignments: (section, key) -> [values], in order
	(a repeated setting adds up); comments and blank lines skipped."""
	out, section = {}, None
	with open(path) as f:
		for line in f:
			line = line.strip()
			if not line or line[0] in "#;":
				continue
			if line.startswith("["):
				section = line[1:-1]
			elif "=" in line:
				k, v = line.split("=", 1)
				out.setdefault((section, k.strip()), []).append(
				    v.strip())
	return out
