#!/usr/bin/env python3
"""hpoold's egress policy (hpoold.conf(5), POLICY) against real servers on
loopback addresses only: deny rules by address, by name and by caller
(root and nobody), resolve = pins with address rules checked on the
address connected to, the built-in metadata denies (asked with EXPLAIN,
never tried), a central proxy (Debian's tinyproxy with basic
authentication) whose tunnels are pooled and whose credentials never
reach a caller or the log, no_proxy, caller_proxies = deny, and rules
changed by SIGHUP. Every address used is in 127.0.0.0/8."""

import http.server
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

import harness as h
import protoclient as pc

PAGE = "page.txt"
BODY = b"policy page\n"
PROXY_USER, PROXY_PASS = "corp", "pr0xy-s3cret"


class Origin:
	"""An HTTP/1.1 keep-alive server on address addr (127.0.0.x) that
	counts the TCP connections it accepts."""

	def __init__(self, addr):
		owner = self

		class Handler(http.server.BaseHTTPRequestHandler):
			protocol_version = "HTTP/1.1"

			def setup(self):
				http.server.BaseHTTPRequestHandler.setup(self)
				with owner.lock:
					owner.connections += 1

			def do_GET(self):
				body = ("%s %s\n" % (addr, self.path)).encode()
				self.send_response(200)
				self.send_header("Content-Length", str(len(body)))
				self.end_headers()
				self.wfile.write(body)

			def log_message(self, *a):
				pass
		self.lock = threading.Lock()
		self.connections = 0
		self.srv = http.server.ThreadingHTTPServer((addr, 0), Handler)
		self.srv.daemon_threads = True
		self.addr = addr
		self.port = self.srv.server_address[1]
		threading.Thread(target=self.srv.serve_forever, kwargs={
		    "poll_interval": 0.1}, daemon=True).start()
		h._cleanups.append(self.stop)

	def url(self, path="/"):
		return "http://%s:%d%s" % (self.addr, self.port, path)

	def stop(self):
		self.srv.shutdown()
		self.srv.server_close()


def hpool(env, sock, url, extra=(), user=None):
	argv = [h.HPOOL] + list(extra) + [url]
	if user is not None:
		argv = ["setpriv", "--reuid=%d" % user, "--regid=%d" % user,
		    "--clear-groups"] + argv
	e = dict(os.environ, HPOOL_SOCKET=sock)
	for k in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY",
	    "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY"):
		e.pop(k, None)
	return h.run_capture(argv, timeout=30, env=e)


def err_of(cp):
	"""'Name: message' of the CLI's error line, or ''."""
	e = h.cli_error(cp.stderr)
	return "%s: %s" % e if e else ""


def explain(sock, scheme, host, port):
	"""The EXPLAIN text for scheme://host:port (protocol 3), asked in raw
	frames: nothing is connected."""
	s = pc.Session(sock, timeout=5)
	try:
		op = pc.tlv(1, scheme) + pc.tlv(2, host) + \
		    pc.tlv(3, struct.pack(">H", port)) + pc.tlv(21, b"\x01")
		s.send(pc.hello(1, 3) + pc.frame(pc.OPEN, op))
		f = s.frame()
		if f is None or f[0] != pc.HELLO_OK:
			return "no HELLO_OK: %r" % (f,)
		f = s.frame()
		if f is None or f[0] != 70:
			return "no EXPLAIN: %r" % (f,)
		n = struct.unpack(">I", f[1][:4])[0]
		return f[1][4:4 + n].decode("utf-8", "replace")
	finally:
		s.close()


def denies(res, env):
	"""Deny rules by address, name, caller; resolve = with the address
	rule judged on the address connected to; the built-in metadata deny
	seen through EXPLAIN; nothing reaches a denied server."""
	o5 = Origin("127.0.0.5")
	o6 = Origin("127.0.0.6")
	conf = ("resolve = pinned.test:%d:127.0.0.5\n"
	    "resolve = fine.test:%d:127.0.0.6\n"
	    "[policy]\n"
	    "rule = dest 127.0.0.5 -> deny\n"
	    "rule = dest .blocked.test -> deny\n"
	    "rule = user nobody, dest 127.0.0.6:%d -> deny\n" % (o5.port,
	    o6.port, o6.port))
	p, sock, log, _ = h.start_hpoold(env, conf, "deny")
	os.chmod(env.tmp, 0o755)

	cp = hpool(env, sock, o5.url("/x"))
	err = err_of(cp)
	res.check("dest 127.0.0.5 -> deny: PermissionError naming the "
	    "destination, the rule and the caller", cp.returncode != 0 and
	    "PermissionError: [Errno 13] Permission denied" in err and
	    "127.0.0.5:%d" % o5.port in err and "rule 1" in err and
	    "uid 0" in err, h.describe(cp))
	res.check("...and the denied server saw no connection",
	    o5.connections == 0, o5.connections)

	cp = hpool(env, sock, "http://www.blocked.test:%d/" % o6.port)
	res.check("dest .blocked.test -> deny: refused before any lookup "
	    "(rule 2)", cp.returncode != 0 and "rule 2" in err_of(cp) and
	    o6.connections == 0, (h.describe(cp), o6.connections))

	cp = hpool(env, sock, "http://pinned.test:%d/y" % o5.port)
	err = err_of(cp)
	res.check("resolve = pinned.test -> 127.0.0.5: the name passes, its "
	    "address does not (checked on the address connected to)",
	    cp.returncode != 0 and "PermissionError" in err and
	    "127.0.0.5" in err and o5.connections == 0, h.describe(cp))

	cp = hpool(env, sock, "http://fine.test:%d/z" % o6.port)
	res.check("resolve = fine.test -> 127.0.0.6: served there",
	    cp.returncode == 0 and cp.stdout == b"127.0.0.6 /z\n",
	    h.describe(cp))

	if os.geteuid() != 0:
		res.fail("user nobody -> deny", "needs root for a second uid")
	else:
		n0 = o6.connections
		cp = hpool(env, sock, o6.url("/nobody"), user=65534)
		err = err_of(cp)
		res.check("rule 'user nobody, dest 127.0.0.6:PORT -> deny': "
		    "nobody is refused, named as uid 65534 (nobody)",
		    cp.returncode != 0 and "uid 65534 (nobody)" in err and
		    "rule 3" in err and o6.connections == n0, h.describe(cp))
		cp = hpool(env, sock, o6.url("/root"))
		res.check("...root reaches it", cp.returncode == 0 and
		    cp.stdout == b"127.0.0.6 /root\n", h.describe(cp))

	for host in ("169.254.169.254", "fd00:ec2::254", "169.254.10.1",
	    "metadata.google.internal"):
		t = explain(sock, "http", host, 80)
		res.check("EXPLAIN %s: denied by a built-in rule (asked, never "
		    "tried)" % host, "route: denied" in t and "built-in" in t, t)
	t = explain(sock, "https", "127.0.0.6", o6.port)
	res.check("EXPLAIN for an allowed destination: direct, and the "
	    "caller as the kernel tells it", "route: direct" in t and
	    "caller: uid 0" in t and "pid " in t, t)
	text = h.stop_hpoold(res, p, log, "denies")
	res.check("...each denial is logged with the caller and the rule",
	    text.count("denied:") >= 3 and "rule 1 (dest 127.0.0.5 -> deny)"
	    in text, h.tail(log, 6))


def central_proxy(res, env):
	"""proxy = http://user:pass@tinyproxy: requests go through CONNECT,
	tunnels are pooled (100 short-lived callers, at most 2 CONNECTs),
	no_proxy sends a destination direct, the credentials never reach a
	caller or the log, and a wrong password gives the proxy's 407."""
	o2 = Origin("127.0.0.2")
	tp = h.Tinyproxy(env, (PROXY_USER, PROXY_PASS), [env.nginx_port])
	conf = ("proxy = http://%s:%s@127.0.0.1:%d\n"
	    "no_proxy = 127.0.0.2\n" % (PROXY_USER, PROXY_PASS, tp.port))
	p, sock, log, _ = h.start_hpoold(env, conf, "proxy")
	bad = []
	t0 = time.monotonic()
	for i in range(100):
		cp = hpool(env, sock, env.url("/files/%s?%d" % (PAGE, i)))
		if cp.returncode != 0 or cp.stdout != BODY:
			bad.append(h.describe(cp))
			if len(bad) > 3:
				break
	res.check("100 short-lived hpool calls through the central proxy: "
	    "every body whole", not bad, bad[:2])
	n = tp.connects()
	print("# 100 calls through tinyproxy in %.1f s: %d CONNECTs" % (
	    time.monotonic() - t0, n))
	res.check("...at most 2 CONNECTs at the proxy (tunnels pooled)",
	    1 <= n <= 2, n)
	rows = env.access_log_wait(100)
	res.check("...nginx saw them arrive through the tunnel (one "
	    "connection from the proxy)", len(rows) >= 100 and
	    len({r["connection"] for r in rows}) <= 2, len({r["connection"]
	    for r in rows}))
	n0 = tp.connects()
	cp = hpool(env, sock, o2.url("/direct"))
	res.check("no_proxy = 127.0.0.2: straight there, not through the "
	    "proxy", cp.returncode == 0 and cp.stdout == b"127.0.0.2 /direct\n"
	    and tp.connects() == n0, (h.describe(cp), tp.connects() - n0))
	t = explain(sock, "http", "127.0.0.1", env.nginx_port)
	res.check("EXPLAIN names the proxy, not its password", "route: proxy"
	    in t and PROXY_PASS not in t, t)
	text = h.stop_hpoold(res, p, log, "central proxy")
	res.check("...the proxy password is in no log line", PROXY_PASS not
	    in text)

	conf = "proxy = http://%s:wrong@127.0.0.1:%d\n" % (PROXY_USER, tp.port)
	p, sock, log, _ = h.start_hpoold(env, conf, "proxy407")
	cp = hpool(env, sock, env.url("/files/" + PAGE))
	err = err_of(cp)
	# tinyproxy answers a bad BasicAuth with 401, not 407
	res.check("a wrong proxy password: OSError 'Tunnel connection "
	    "failed: <the proxy's status>' (as http.client says it), never "
	    "the password", cp.returncode != 0 and ("Tunnel connection "
	    "failed: 407" in err or "Tunnel connection failed: 401" in err)
	    and "wrong" not in err, h.describe(cp))
	h.stop_hpoold(res, p, log, "proxy 407")


def caller_proxies(res, env):
	"""caller_proxies = deny: a caller's own proxy (hpool -x) is
	refused; allow (the default): it works, and is a destination the
	rules check."""
	conf = "caller_proxies = deny\n"
	p, sock, log, _ = h.start_hpoold(env, conf, "cpdeny")
	cp = hpool(env, sock, env.url("/files/" + PAGE), ["-x",
	    "127.0.0.1:9"])
	res.check("caller_proxies = deny: hpool -x is refused "
	    "(PermissionError naming caller_proxies)", cp.returncode != 0 and
	    "caller_proxies = deny" in err_of(cp), h.describe(cp))
	h.stop_hpoold(res, p, log, "caller_proxies = deny")
	conf = "[policy]\nrule = dest 127.0.0.1:9 -> deny\n"
	p, sock, log, _ = h.start_hpoold(env, conf, "cprule")
	cp = hpool(env, sock, env.url("/files/" + PAGE), ["-x",
	    "127.0.0.1:9"])
	res.check("a caller's proxy is a destination the rules check",
	    cp.returncode != 0 and "127.0.0.1:9" in err_of(cp) and
	    "rule 1" in err_of(cp), h.describe(cp))
	h.stop_hpoold(res, p, log, "caller proxy rule")


def reload_rules(res, env):
	"""SIGHUP with a new rule: the next request follows it; a bad rule is
	refused and the old ones stay."""
	o6 = Origin("127.0.0.6")
	p, sock, log, conf = h.start_hpoold(env, "", "reload")
	cp = hpool(env, sock, o6.url("/before"))
	res.check("before the reload: served", cp.returncode == 0,
	    h.describe(cp))
	with open(conf, "a") as f:
		f.write("[policy]\nrule = dest 127.0.0.6 -> deny\n")
	p.send_signal(signal.SIGHUP)
	deadline = time.monotonic() + 5
	ok = False
	while time.monotonic() < deadline and not ok:
		time.sleep(0.1)
		with open(log, errors="replace") as f:
			ok = "reloaded" in f.read()
	cp = hpool(env, sock, o6.url("/after"))
	res.check("SIGHUP with 'dest 127.0.0.6 -> deny': the next request is "
	    "refused", ok and cp.returncode != 0 and "PermissionError" in
	    err_of(cp), h.describe(cp))
	with open(conf, "a") as f:
		f.write("rule = dest 10.0.0.0/33 -> deny\n")
	p.send_signal(signal.SIGHUP)
	deadline = time.monotonic() + 5
	text = ""
	while time.monotonic() < deadline and "reload refused" not in text:
		time.sleep(0.1)
		with open(log, errors="replace") as f:
			text = f.read()
	res.check("a bad rule (a /33) is refused naming it; the old rules stay",
	    "reload refused" in text and "/33" in text, h.tail(log, 3))
	cp = hpool(env, sock, o6.url("/still"))
	res.check("...127.0.0.6 is still denied", cp.returncode != 0 and
	    "PermissionError" in err_of(cp), h.describe(cp))
	h.stop_hpoold(res, p, log, "reload")


DANTED = "/usr/sbin/danted"
SOCKS_NAME = "only-the-proxy-knows.test"	# in no resolver: the proxy's


class Dante:
	"""Debian's dante (danted) on 127.0.0.1, SOCKS5 without
	authentication, passing CONNECTs to 127.0.0.0/8 only; its log
	counts the CONNECTs it made."""

	def __init__(self, env):
		self.port = h.free_port()
		d = env.path("dante")
		os.makedirs(d)
		self.log = os.path.join(d, "danted.log")
		lines = ["logoutput: %s" % self.log,
		    "internal: 127.0.0.1 port = %d" % self.port,
		    "external: 127.0.0.1", "clientmethod: none",
		    "socksmethod: none"]
		if os.geteuid() == 0:
			lines += ["user.privileged: root",
			    "user.unprivileged: nobody"]
		lines += ["client pass {", "from: 127.0.0.0/8 to: 0.0.0.0/0",
		    "log: connect disconnect error", "}", "socks pass {",
		    "from: 127.0.0.0/8 to: 127.0.0.0/8", "command: connect",
		    "log: connect disconnect error", "}"]
		conf = os.path.join(d, "danted.conf")
		with open(conf, "w") as f:
			f.write("\n".join(lines) + "\n")
		err = os.path.join(d, "stderr")
		with open(err, "wb") as out:
			self.proc = h.spawn([DANTED, "-f", conf, "-p",
			    os.path.join(d, "danted.pid"), "-N", "1"],
			    stdin=subprocess.DEVNULL, stdout=out, stderr=out)
		h.wait_until(lambda: h.tcp_accepts(self.port), h.START_TIMEOUT,
		    "danted on 127.0.0.1:%d" % self.port, self.proc, err)
		h._cleanups.append(lambda: h.stop_process(self.proc))

	def connects(self):
		"""CONNECTs dante made for its clients (the readiness probe
		asked for none)."""
		with open(self.log, errors="replace") as f:
			return sum(1 for l in f if "tcp/connect [" in l)


class Socks5:
	"""A scripted SOCKS5 server on 127.0.0.1 (RFC 1928 CONNECT; RFC 1929
	username/password when user is given, a wrong one refused with
	status 1). names: a DOMAINNAME only this proxy resolves -> its
	127.0.0.x address; replies: host -> a failure REP to answer. Records
	(connection, ATYP, host, port) of each request and the user names
	offered; relays the bytes of a granted CONNECT."""

	def __init__(self, user=None, password=None, names=None,
	    replies=None):
		self.user, self.password = user, password
		self.names = names or {}
		self.replies = replies or {}
		self.requests = []
		self.users = []
		self.srv = h.ScriptedServer(self._serve, name="socks5")
		self.port = self.srv.port

	def connections(self):
		return self.srv.connections

	def _serve(self, c, srv, idx):
		c.settimeout(10)

		def need(n):
			b = b""
			while len(b) < n:
				x = c.recv(n - len(b))
				if not x:
					raise EOFError("the client closed")
				b += x
			return b
		ver, n = need(2)
		methods = need(n)
		want = 2 if self.user is not None else 0
		if ver != 5 or want not in methods:
			c.sendall(b"\x05\xff")
			return
		c.sendall(bytes([5, want]))
		if want == 2:
			v, ul = need(2)
			u = need(ul)
			p = need(need(1)[0])
			self.users.append(u.decode())
			ok = v == 1 and u == self.user.encode() and \
			    p == self.password.encode()
			c.sendall(b"\x01\x00" if ok else b"\x01\x01")
			if not ok:
				return
		ver, cmd, _, atyp = need(4)
		if atyp == 1:
			host = socket.inet_ntop(socket.AF_INET, need(4))
		elif atyp == 4:
			host = socket.inet_ntop(socket.AF_INET6, need(16))
		else:
			host = need(need(1)[0]).decode()
		port = struct.unpack(">H", need(2))[0]
		srv.record(idx, (atyp, host, port))
		addr = self.names.get(host, host)
		if host in self.replies or not addr.startswith("127."):
			c.sendall(bytes([5, self.replies.get(host, 2), 0, 1, 0, 0,
			    0, 0, 0, 0]))
			return
		up = socket.create_connection((addr, port), timeout=10)
		try:
			c.sendall(b"\x05\x00\x00\x01" + socket.inet_aton(
			    up.getsockname()[0]) + struct.pack(">H",
			    up.getsockname()[1]))
			relay(c, up)
		finally:
			up.close()


def relay(a, b):
	"""Bytes both ways until either side closes."""
	import select
	a.setblocking(False)
	b.setblocking(False)
	peer = {a: b, b: a}
	while True:
		r, _, _ = select.select([a, b], [], [], 30)
		if not r:
			return
		for s in r:
			try:
				data = s.recv(65536)
			except BlockingIOError:
				continue
			if not data:
				return
			peer[s].setblocking(True)
			peer[s].sendall(data)
			peer[s].setblocking(False)


def socks_dante(res, env):
	"""[proxy dante] url = socks5h://127.0.0.1:P (danted, no
	authentication): 20 sequential hpool calls in at most 2 SOCKS
	CONNECTs; localhost named, not resolved, by hpoold; https inside the
	tunnel, verified against the target's name; a closed target port is
	dante's reply 5, an OSError naming it and the proxy."""
	if not os.access(DANTED, os.X_OK):
		res.fail("socks5h through dante", "%s not found (apt-get "
		    "install dante-server)" % DANTED)
		return
	dt = Dante(env)
	conf = ("[proxy dante]\nurl = socks5h://127.0.0.1:%d\n"
	    "[policy]\nrule = -> proxy dante\n" % dt.port)
	p, sock, log, _ = h.start_hpoold(env, conf, "socks")
	bad = []
	for i in range(20):
		cp = hpool(env, sock, env.url("/files/%s?socks%d" % (PAGE, i)))
		if cp.returncode != 0 or cp.stdout != BODY:
			bad.append(h.describe(cp))
			if len(bad) > 3:
				break
	res.check("socks5h://: 20 sequential hpool calls through dante, "
	    "every body whole", not bad, bad[:2])
	n = dt.connects()
	res.check("...in at most 2 SOCKS connections (pooled)", 1 <= n <= 2,
	    n)
	rows = [r for r in env.access_log_wait(120) if "?socks" in
	    r["request"]]
	res.check("...nginx saw them arrive on at most 2 connections",
	    len(rows) == 20 and len({r["connection"] for r in rows}) <= 2,
	    (len(rows), len({r["connection"] for r in rows})))

	n0 = dt.connects()
	cp = hpool(env, sock, "http://localhost:%d/files/%s" % (
	    env.nginx_port, PAGE))
	res.check("a name (localhost) goes to the proxy as a name: served, "
	    "in a new pool", cp.returncode == 0 and cp.stdout == BODY and
	    dt.connects() == n0 + 1, (h.describe(cp), dt.connects() - n0))

	refused = h.closed_port()
	cp = hpool(env, sock, "http://127.0.0.1:%d/" % refused)
	err = err_of(cp).strip()
	res.check("a closed target port: dante's reply 5 -> OSError "
	    "'Tunnel connection failed: SOCKS5 reply 5: connection refused "
	    "(proxy dante)'", cp.returncode != 0 and err == "OSError: Tunnel "
	    "connection failed: SOCKS5 reply 5: connection refused (proxy "
	    "dante)", h.describe(cp))

	from tlsenv import Certs, TlsNginx
	certs = Certs(env.path("socks-certs"))
	ng = TlsNginx(env, certs)
	n0 = dt.connects()
	url = "https://localhost:%d/" % ng.ports["good"]
	outs = [hpool(env, sock, url, ["--cacert", certs.path("ca.pem")])
	    for _ in range(3)]
	res.check("https through socks5h: TLS to the target inside the "
	    "tunnel, its name verified (3 calls, 1 SOCKS connection, 1 "
	    "handshake at nginx)", all(cp.returncode == 0 and cp.stdout ==
	    b"hello over tls\n" for cp in outs) and dt.connects() == n0 + 1
	    and len({r["conn"] for r in ng.log(3)}) == 1, ([h.describe(cp)
	    for cp in outs if cp.returncode != 0][:1], dt.connects() - n0))
	cp = hpool(env, sock, "https://localhost:%d/" % ng.ports["wronghost"],
	    ["--cacert", certs.path("ca.pem")])
	res.check("...and a certificate for another name is refused through "
	    "it", cp.returncode != 0 and "SSLCertVerificationError" in
	    err_of(cp), h.describe(cp))
	h.stop_hpoold(res, p, log, "socks5h through dante")


def socks_scripted(res, env):
	"""A scripted SOCKS5 server: a name only the proxy knows goes as
	ATYP 3 (hpoold never resolves it), IP literals as ATYP 1 and 4,
	username/password per RFC 1929 (tunnels pooled), failure replies in
	words, a wrong password and a proxy that hangs up named as such; no
	password in an error or a log line."""
	sx = Socks5(PROXY_USER, PROXY_PASS, names={SOCKS_NAME: "127.0.0.1"},
	    replies={"refused.test": 5, "::1": 8})
	conf = ("[proxy sx]\nurl = socks5h://%s:%s@127.0.0.1:%d\n"
	    "[policy]\nrule = -> proxy sx\n" % (PROXY_USER, PROXY_PASS,
	    sx.port))
	p, sock, log, _ = h.start_hpoold(env, conf, "socksx")
	url = "http://%s:%d/files/%s" % (SOCKS_NAME, env.nginx_port, PAGE)
	outs = [hpool(env, sock, url) for _ in range(5)]
	res.check("a name only the proxy resolves: served 5 times",
	    all(cp.returncode == 0 and cp.stdout == BODY for cp in outs),
	    [h.describe(cp) for cp in outs if cp.returncode != 0][:1])
	reqs = [r[1:] for r in sx.srv.requests]
	res.check("...asked for as ATYP 3 DOMAINNAME with its port, on one "
	    "SOCKS connection (pooled), authenticated as the proxy's user",
	    reqs == [(3, SOCKS_NAME, env.nginx_port)] and
	    sx.connections() == 1 and sx.users == [PROXY_USER],
	    (reqs, sx.connections(), sx.users))

	cp = hpool(env, sock, env.url("/files/" + PAGE))
	res.check("an IPv4 literal goes as ATYP 1", cp.returncode == 0 and
	    cp.stdout == BODY and sx.srv.requests[-1][1:] == (1, "127.0.0.1",
	    env.nginx_port), (h.describe(cp), sx.srv.requests[-1:]))
	cp = hpool(env, sock, "http://[::1]:%d/" % env.nginx_port)
	res.check("an IPv6 literal goes as ATYP 4; reply 8 -> 'address type "
	    "not supported'", sx.srv.requests[-1][1:] == (4, "::1",
	    env.nginx_port) and err_of(cp).strip() == "OSError: Tunnel connection "
	    "failed: SOCKS5 reply 8: address type not supported (proxy sx)",
	    (h.describe(cp), sx.srv.requests[-1:]))
	cp = hpool(env, sock, "http://refused.test:80/")
	res.check("reply 5 -> OSError 'SOCKS5 reply 5: connection refused "
	    "(proxy sx)'", cp.returncode != 0 and err_of(cp).strip() == "OSError: "
	    "Tunnel connection failed: SOCKS5 reply 5: connection refused "
	    "(proxy sx)", h.describe(cp))
	t = explain(sock, "http", SOCKS_NAME, 80)
	res.check("EXPLAIN names the socks5h proxy, not its password",
	    "route: proxy sx (socks5h://127.0.0.1:%d, with credentials)" %
	    sx.port in t and PROXY_PASS not in t, t)
	text = h.stop_hpoold(res, p, log, "socks5h scripted")
	res.check("...the SOCKS password is in no log line", PROXY_PASS not in
	    text)

	wrong = "n0t-the-s3cret"
	conf = ("[proxy sx]\nurl = socks5h://%s:%s@127.0.0.1:%d\n"
	    "[policy]\nrule = -> proxy sx\n" % (PROXY_USER, wrong, sx.port))
	p, sock, log, _ = h.start_hpoold(env, conf, "socksbad")
	cp = hpool(env, sock, url)
	err = err_of(cp)
	res.check("a wrong SOCKS password: OSError naming the SOCKS5 "
	    "authentication failure and the proxy, never the password",
	    cp.returncode != 0 and err.startswith("OSError: Tunnel connection "
	    "failed: SOCKS5 authentication failed") and "(proxy sx)" in err
	    and wrong not in err, h.describe(cp))
	text = h.stop_hpoold(res, p, log, "socks5h wrong password")
	res.check("...nor in the log", wrong not in text and "authentication "
	    "failed" in text)

	def hang_up(c, srv, idx):
		c.recv(16)
	hu = h.ScriptedServer(hang_up, name="socks-hangup")
	conf = ("[proxy gone]\nurl = socks5h://127.0.0.1:%d\n"
	    "[policy]\nrule = -> proxy gone\n" % hu.port)
	p, sock, log, _ = h.start_hpoold(env, conf, "sockshu")
	cp = hpool(env, sock, url)
	res.check("a proxy that closes at once: OSError 'SOCKS5 the proxy "
	    "closed the connection before its method reply (proxy gone)'",
	    err_of(cp).strip() == "OSError: Tunnel connection failed: SOCKS5 the "
	    "proxy closed the connection before its method reply (proxy "
	    "gone)", h.describe(cp))
	h.stop_hpoold(res, p, log, "socks5h hang-up")

	def silent(c, srv, idx):
		c.settimeout(30)
		while c.recv(16):
			pass
	si = h.ScriptedServer(silent, name="socks-silent")
	conf = ("[proxy mute]\nurl = socks5h://127.0.0.1:%d\n"
	    "[policy]\nrule = -> proxy mute\n" % si.port)
	p, sock, log, _ = h.start_hpoold(env, conf, "socksmute")
	t0 = time.monotonic()
	cp = hpool(env, sock, url, ["--timeout", "1"])
	took = time.monotonic() - t0
	res.check("a proxy that never answers: TimeoutError 'SOCKS5 timed "
	    "out waiting for the proxy's method reply (proxy mute)' after the "
	    "caller's timeout", err_of(cp).strip() == "TimeoutError: Tunnel "
	    "connection failed: SOCKS5 timed out waiting for the proxy's "
	    "method reply (proxy mute)" and took < 10, (h.describe(cp), took))
	h.stop_hpoold(res, p, log, "socks5h silent proxy")


def socks5h(res, env):
	"""socks5h:// proxies of the daemon's (RFC 1928, RFC 1929); an
	unknown scheme is refused at config time (https://: test_https_proxy)."""
	for url, ok in (("socks5h://%s:%s@127.0.0.1:1080" % (PROXY_USER,
	    PROXY_PASS), True), ("socks4://127.0.0.1:1080", False)):
		conf = env.path("check-%d.conf" % ok)
		with open(conf, "w") as f:
			f.write("[hpoold]\nproxy = %s\n" % url)
		cp = h.run_capture([h.HPOOLD, "-t", "-c", conf], timeout=30)
		res.check("hpoold -t: proxy = %s is %s" % (url.replace(
		    PROXY_PASS, "***"), "taken" if ok else "refused"),
		    (cp.returncode == 0) == ok and (ok or b"socks4" in
		    cp.stderr), h.describe(cp))
	socks_scripted(res, env)
	socks_dante(res, env)


def credentials_file(res, env):
	"""[proxy corp] with credentials_file: a 0600 file's USER:PASSWORD
	reach tinyproxy; a wrong password gives the tunnel error and is in no
	log line; a 0644 file is served with a warning naming the path; the
	file is re-read on SIGHUP; a missing file fails hpoold -t naming the
	proxy and the path."""
	tp = h.Tinyproxy(env, (PROXY_USER, PROXY_PASS), [env.nginx_port])
	creds = env.path("corp.creds")
	conf = ("[proxy corp]\nurl = http://127.0.0.1:%d\n"
	    "credentials_file = %s\n[policy]\nrule = -> proxy corp\n" % (
	    tp.port, creds))
	wrong = "wr0ng-pa55"

	def put(text, mode):
		with open(creds, "w") as f:
			f.write(text)
		os.chmod(creds, mode)

	def fetch(sock, what):
		n0 = tp.connects()
		cp = hpool(env, sock, env.url("/files/%s?%s" % (PAGE, what)))
		return cp, tp.connects() - n0

	put("%s:%s\r\n" % (PROXY_USER, PROXY_PASS), 0o600)
	p, sock, log, _ = h.start_hpoold(env, conf, "creds")
	cp, n = fetch(sock, "0600")
	res.check("credentials_file (0600, USER:PASSWORD CRLF): served "
	    "through tinyproxy's BasicAuth", cp.returncode == 0 and
	    cp.stdout == BODY and n == 1, (h.describe(cp), n))
	t = explain(sock, "http", "127.0.0.1", env.nginx_port)
	res.check("...EXPLAIN says with credentials, shows none",
	    "with credentials" in t and PROXY_PASS not in t and PROXY_USER +
	    ":" not in t, t)
	put("%s:%s\n" % (PROXY_USER, wrong), 0o600)
	nreload = 0

	def reload():
		nonlocal nreload
		nreload += 1
		p.send_signal(signal.SIGHUP)
		deadline = time.monotonic() + 5
		while time.monotonic() < deadline:
			time.sleep(0.1)
			with open(log, errors="replace") as f:
				if f.read().count("reloaded") >= nreload:
					return True
		return False
	ok = reload()
	cp, n = fetch(sock, "wrong")
	err = err_of(cp)
	res.check("SIGHUP re-reads it: a wrong password now gives OSError "
	    "'Tunnel connection failed: <the proxy's status>', never the "
	    "password", ok and cp.returncode != 0 and ("Tunnel connection "
	    "failed: 407" in err or "Tunnel connection failed: 401" in err)
	    and wrong not in err, h.describe(cp))
	put("%s:%s\n" % (PROXY_USER, PROXY_PASS), 0o644)
	ok = reload()
	cp, n = fetch(sock, "0644")
	# the same credentials as the first request's: its idle tunnel may
	# be taken again, so no new CONNECT need be seen
	res.check("a 0644 file: still served", ok and cp.returncode == 0 and
	    cp.stdout == BODY and n <= 1, (h.describe(cp), n))
	text = h.stop_hpoold(res, p, log, "credentials_file")
	warns = [l for l in text.splitlines() if creds in l and
	    "group or others" in l]
	res.check("...and a warning in hpoold's log naming the path, not "
	    "given for the 0600 file", len(warns) >= 1 and all("0644" in l
	    for l in warns), warns[:4])
	res.check("...neither password is in any log line", PROXY_PASS not
	    in text and wrong not in text)

	os.unlink(creds)
	path = env.path("creds-check.conf")
	with open(path, "w") as f:
		f.write(conf)
	cp = h.run_capture([h.HPOOLD, "-t", "-c", path], timeout=30)
	res.check("a missing credentials_file: hpoold -t exits 1 naming the "
	    "proxy and the path", cp.returncode == 1 and (b"proxy corp: "
	    b"credentials_file " + creds.encode()) in cp.stderr,
	    h.describe(cp))
	for text, why in (("%s%s\n" % (PROXY_USER, PROXY_PASS), "no colon"),
	    (":%s\n" % PROXY_PASS, "an empty user"), ("%s:%s\n%s" % (
	    PROXY_USER, PROXY_PASS, "#" * 4096), "larger than 4096"),
	    ("%s:%s\0\n" % (PROXY_USER, PROXY_PASS), "NUL")):
		put(text, 0o600)
		cp = h.run_capture([h.HPOOLD, "-t", "-c", path], timeout=30)
		res.check("hpoold -t, a credentials file with %s: exit 1, "
		    "the path named, not its content" % why, cp.returncode == 1
		    and creds.encode() in cp.stderr and why.encode() in
		    cp.stderr and PROXY_PASS.encode() not in cp.stdout +
		    cp.stderr, h.describe(cp))


def absolute_forward(res, env):
	"""[proxy corp] forward = absolute, tinyproxy with BasicAuth: 20
	sequential plain-http hpool calls go to the proxy in absolute form
	(GET http://..., no CONNECT) with the proxy's credentials; a wrong
	password is the proxy's 401/407 as an ordinary response; https
	through the same proxy still goes through CONNECT."""
	import types
	from tlsenv import Certs, TlsNginx
	sub = types.SimpleNamespace(path=lambda n: env.path("abs-" + n))
	certs = Certs(env.path("abs-certs"))
	ng = TlsNginx(sub, certs)
	tp = h.Tinyproxy(env, (PROXY_USER, PROXY_PASS), [env.nginx_port,
	    ng.ports["good"]])

	def requests(what):
		# Tinyproxy.connects() counts every request line (LogLevel
		# Connect tags them all "CONNECT"): here the method counts
		with open(tp.log, errors="replace") as f:
			return [l for l in f if "Request (file descriptor" in l
			    and "): " + what in l]

	def gets():
		return requests("GET http://127.0.0.1:%d/" % env.nginx_port)

	def connects():
		return len(requests("CONNECT "))
	conf = ("[proxy corp]\nurl = http://%s:%s@127.0.0.1:%d\n"
	    "forward = absolute\n[policy]\nrule = -> proxy corp\n" % (
	    PROXY_USER, PROXY_PASS, tp.port))
	p, sock, log, _ = h.start_hpoold(env, conf, "absolute")
	bad = []
	for i in range(20):
		cp = hpool(env, sock, env.url("/files/%s?abs%d" % (PAGE, i)))
		if cp.returncode != 0 or cp.stdout != BODY:
			bad.append(h.describe(cp))
			if len(bad) > 3:
				break
	res.check("forward = absolute: 20 sequential plain-http hpool calls "
	    "through tinyproxy's BasicAuth, every body whole", not bad,
	    bad[:2])
	g = [l for l in gets() if "?abs" in l]
	res.check("...tinyproxy saw them as 'GET http://127.0.0.1:%d/...' "
	    "(absolute form), and no CONNECT" % env.nginx_port, len(g) == 20
	    and connects() == 0, (len(g), connects()))
	rows = [r for r in env.access_log_wait(200) if "?abs" in
	    r["request"]]
	# tinyproxy (1.11) answers each request on a connection of its own
	# and closes it, to hpoold and to nginx: the pooling is shown
	# below with a keep-alive proxy, not here
	nconn = len({r["connection"] for r in rows})
	print("# 20 absolute-form calls through tinyproxy: nginx saw %d "
	    "connection(s)" % nconn)
	res.check("...nginx saw all 20", len(rows) == 20, len(rows))

	n0 = connects()
	url = "https://localhost:%d/" % ng.ports["good"]
	cp = hpool(env, sock, url, ["--cacert", certs.path("ca.pem")])
	res.check("...https through the same proxy: still a CONNECT tunnel, "
	    "TLS to the target inside it", cp.returncode == 0 and cp.stdout
	    == b"hello over tls\n" and connects() == n0 + 1,
	    (h.describe(cp), connects() - n0))
	text = h.stop_hpoold(res, p, log, "forward = absolute")
	res.check("...the proxy password is in no log line", PROXY_PASS not
	    in text)

	conf = conf.replace(PROXY_PASS, "wrong")
	p, sock, log, _ = h.start_hpoold(env, conf, "absolute401")
	n0 = len(gets())
	cp = hpool(env, sock, env.url("/files/%s?abswrong" % PAGE), ["-i"])
	status = cp.stdout.split(b"\r\n", 1)[0].split(b"\n", 1)[0]
	# tinyproxy answers a bad BasicAuth with 401, not 407
	res.check("...a wrong password: the proxy's 401/407 as an ordinary "
	    "response (absolute form, no tunnel to fail)", cp.returncode == 0
	    and (b" 401 " in status or b" 407 " in status) and b"wrong" not
	    in cp.stdout + cp.stderr, (status, h.describe(cp)))
	h.stop_hpoold(res, p, log, "forward = absolute, wrong password")

	# A keep-alive HTTP/1.1 server as the proxy: it answers each
	# request with the request-target it was sent, and counts the
	# connections. Two targets share the proxy's pool.
	kp = Origin("127.0.0.3")
	conf = ("[proxy ka]\nurl = http://127.0.0.3:%d\nforward = absolute\n"
	    "[policy]\nrule = -> proxy ka\n" % kp.port)
	p, sock, log, _ = h.start_hpoold(env, conf, "absolute-ka")
	bad = []
	for i in range(20):
		url = ("http://a.test:8081/one?%d" % i if i % 2 else
		    "http://127.0.0.9/two?%d" % i)
		cp = hpool(env, sock, url)
		if cp.returncode != 0 or cp.stdout != ("127.0.0.3 %s\n" %
		    url).encode():
			bad.append(h.describe(cp))
			if len(bad) > 3:
				break
	res.check("forward = absolute to a keep-alive proxy: 20 calls to 2 "
	    "targets, each request line the absolute URL, on at most 2 "
	    "connections to the proxy (one pool per proxy)", not bad and
	    1 <= kp.connections <= 2, (bad[:2], kp.connections))
	h.stop_hpoold(res, p, log, "forward = absolute, keep-alive proxy")


def body(res):
	if shutil.which("tinyproxy") is None:
		raise h.SetupError("tinyproxy not found (apt-get install "
		    "tinyproxy)")
	env = h.Env(files={PAGE: BODY}, daemon=False, echo=False)
	denies(res, env)
	central_proxy(res, env)
	caller_proxies(res, env)
	reload_rules(res, env)

	# hpool --explain (hpool_explain, EXPLAIN in OPEN) and the exit code
	# of a request the policy refuses (hpool(1): 120). Every request
	# made goes to 127.0.0.x; the other destinations are only asked
	# about, never tried. The proxy is never reached: nothing listens.
	o2 = Origin("127.0.0.2")
	o5 = Origin("127.0.0.5")
	pport = h.free_port()
	conf = ("proxy = http://%s:%s@127.0.0.1:%d\n"
	    "no_proxy = 127.0.0.2, pinned.test\n"
	    "resolve = pinned.test:%d:127.0.0.5\n"
	    "[policy]\n"
	    "rule = dest 127.0.0.5 -> deny\n" % (PROXY_USER, PROXY_PASS,
	    pport, o5.port))
	p, sock, log, _ = h.start_hpoold(env, conf, "explain")
	uid = os.geteuid()

	def explain_cli(url, extra=()):
		cp = hpool(env, sock, url, ["--explain"] + list(extra))
		return cp, cp.stdout.decode("utf-8", "replace")

	cp, out = explain_cli(o2.url("/x"))
	res.check("hpool --explain, an allowed loopback destination: exit 0, "
	    "route direct, the caller as the kernel names it (uid %d), "
	    "nothing connected" % uid, cp.returncode == 0 and
	    cp.stderr == b"" and out.startswith("caller: uid %d (" % uid) and
	    "destination: http://127.0.0.2:%d\n" % o2.port in out and
	    "route: direct" in out and "because: " in out and
	    o2.connections == 0, h.describe(cp))
	for url in ("http://169.254.169.254/latest/meta-data/",
	    "http://metadata.google.internal/computeMetadata/v1/"):
		cp, out = explain_cli(url)
		res.check("hpool --explain %s: denied by a built-in rule "
		    "(asked, never tried), exit 0" % url, cp.returncode == 0 and
		    "route: denied" in out and "because: built-in" in out,
		    h.describe(cp))
	cp, out = explain_cli("http://127.0.0.3:8080/")
	res.check("hpool --explain through the configured proxy: route "
	    "proxy, with credentials, no password or user shown",
	    cp.returncode == 0 and ("route: proxy proxy (http://127.0.0.1:%d, "
	    "with credentials), CONNECT 127.0.0.3:8080" % pport) in out and
	    PROXY_PASS.encode() not in cp.stdout + cp.stderr and
	    PROXY_USER + ":" not in out, h.describe(cp))
	cp, out = explain_cli(o5.url("/"))
	res.check("hpool --explain of a destination a rule denies: route "
	    "denied, the rule named", cp.returncode == 0 and "route: denied"
	    in out and "rule 1 (dest 127.0.0.5 -> deny)" in out,
	    h.describe(cp))
	cp, out = explain_cli(o2.url("/"), ["-x", "127.0.0.1:9"])
	res.check("hpool --explain -x: refused as a usage error (exit 2)",
	    cp.returncode == 2 and out == "" and "--explain" in err_of(cp),
	    h.describe(cp))

	cp = hpool(env, sock, o5.url("/denied"))
	res.check("a request the policy refuses at OPEN: exit 120, "
	    "PermissionError naming hpoold's policy; the server saw nothing",
	    cp.returncode == 120 and err_of(cp).startswith("PermissionError: "
	    "[Errno 13] Permission denied: hpoold's policy") and
	    o5.connections == 0, h.describe(cp))
	cp = hpool(env, sock, "http://pinned.test:%d/pinned" % o5.port)
	res.check("...and one refused at connect, on the address its name "
	    "resolved to: exit 120 too", cp.returncode == 120 and
	    "hpoold's policy" in err_of(cp) and o5.connections == 0,
	    h.describe(cp))
	cp = hpool(env, sock, "http://127.0.0.2:%d/" % h.free_port())
	res.check("...while an error of the network keeps its own code "
	    "(ConnectionRefusedError: 7)", cp.returncode == 7,
	    h.describe(cp))
	text = h.stop_hpoold(res, p, log, "explain")
	res.check("...the proxy password is in no log line", PROXY_PASS not
	    in text)
	socks5h(res, env)
	credentials_file(res, env)
	absolute_forward(res, env)


if __name__ == "__main__":
	h.main(body)
