#!/usr/bin/env python3
"""hpool's caller proxy as curl takes it (hpool(1), PROXIES): -x in
curl's forms, credentials in the proxy URL, the proxy variables
(http_proxy, HTTPS_PROXY, all_proxy, ...), no_proxy and --noproxy, -x ''
and the schemes hpoold cannot tunnel through (exit 2).

Two halves. Against real servers (nginx, Debian's tinyproxy with and
without basic authentication, hpoold): which way a request went is read
from the sockets themselves, the port nginx logged ($remote_port) being
one that tinyproxy holds (through the proxy) or hpoold's worker holds
(direct). Against an hpoold that denies everything (caller_proxies =
deny and deny rules): the error names the proxy hpool chose, or the rule
of a direct request, so the parsing, the variables' order and the
no_proxy matching are seen with nothing connected. Every address
connected to is 127.0.0.1."""

import base64
import http.client
import os
import re
import shutil
import subprocess
import time

import harness as h
from tlsenv import Certs, TlsNginx

USER, PASSWORD = "hpool", "s3cret"
BODY = b"through the cli\n"
PROXY_VARS = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
    "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY")


def held_ports(pids, remote_port):
	"""Local ports of the TCP connections to remote_port held by the
	processes pids or their children (from /proc: no tool needed)."""
	inodes, todo, seen = set(), list(pids), set()
	while todo:
		pid = todo.pop()
		if pid in seen:
			continue
		seen.add(pid)
		try:
			fds = os.listdir("/proc/%d/fd" % pid)
		except OSError:
			continue
		for fd in fds:
			try:
				link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
			except OSError:
				continue
			if link.startswith("socket:["):
				inodes.add(link[8:-1])
		try:
			for t in os.listdir("/proc/%d/task" % pid):
				with open("/proc/%d/task/%s/children" % (pid, t)) as f:
					todo += [int(x) for x in f.read().split()]
		except OSError:
			pass
	ports = set()
	with open("/proc/net/tcp") as f:
		next(f)
		for line in f:
			x = line.split()
			if x[9] in inodes and int(x[2].split(":")[1], 16) == \
			    remote_port:
				ports.add(int(x[1].split(":")[1], 16))
	return ports


def run(sock, args, env=None):
	"""hpool args with exactly the proxy variables of env, no others."""
	e = dict(os.environ, HPOOL_SOCKET=sock)
	for k in PROXY_VARS:
		e.pop(k, None)
	e.update(env or {})
	return h.run_capture([h.HPOOL] + list(args), timeout=30, env=e)


def python_tunnel_error(proxy_port, port, headers=None):
	"""What http.client raises for a tunnel the proxy refuses."""
	c = http.client.HTTPConnection("127.0.0.1", proxy_port, timeout=10)
	c.set_tunnel("127.0.0.1", port, headers)
	try:
		c.request("GET", "/")
		c.getresponse()
	except Exception as e:
		return "%s: %s" % (type(e).__name__, e)
	finally:
		c.close()
	return None


def real(res, env):
	"""Requests that go somewhere: through tinyproxy or direct, told
	apart by who holds the socket nginx saw the request on."""
	px = h.Tinyproxy(env)
	pxa = h.Tinyproxy(env, auth=(USER, PASSWORD))
	idle = h.Tinyproxy(env)	# bypassed: must never see a CONNECT
	proxies = (px, pxa, idle)
	n = [0]

	def get(args, venv=None):
		"""One request for a path of its own: (CompletedProcess, the
		nginx row's remote port or None)."""
		n[0] += 1
		path = "/files/page.txt?case=%d" % n[0]
		cp = run(env.socket, ["-sS"] + list(args) + [env.url(path)],
		    venv)
		want = "GET %s HTTP/1.1" % path
		deadline = time.monotonic() + 5
		while cp.returncode == 0:
			# nginx logs a request just after answering it
			rows = [r for r in env.access_log() if r["request"] ==
			    want]
			if rows:
				return cp, rows[0]["port"]
			if time.monotonic() > deadline:
				break
			time.sleep(0.02)
		return cp, None

	def through(p, port):
		return port is not None and port in held_ports([p.proc.pid],
		    env.nginx_port)

	def direct(port):
		return port is not None and port in held_ports(
		    env.worker_pids(), env.nginx_port) and not any(
		    port in held_ports([p.proc.pid], env.nginx_port)
		    for p in proxies)

	cp, port = get(["-x", px.url()])
	res.check("-x http://127.0.0.1:PORT: nginx served it through "
	    "tinyproxy (a CONNECT logged, nginx's peer is tinyproxy's socket)",
	    cp.returncode == 0 and cp.stdout == BODY and
	    px.connects(env.nginx_port) >= 1 and through(px, port),
	    (h.describe(cp), port, px.connects()))

	cp, port = get(["-x", pxa.url("hp%6Fol:s3%63ret@")])
	res.check("-x http://USER:PASSWORD@...: the percent-decoded "
	    "credentials open the tunnel of a proxy with BasicAuth",
	    cp.returncode == 0 and cp.stdout == BODY and through(pxa, port),
	    (h.describe(cp), port))
	want = python_tunnel_error(pxa.port, env.nginx_port, {
	    "Proxy-Authorization": "Basic " + base64.b64encode(
	    b"hpool:wr0ng").decode()})
	cp, port = get(["-x", pxa.url("hpool:wr0ng@")])
	res.check("...a wrong password: the tunnel error http.client gives "
	    "(%s), then 'not sent'; the password in no message" % want,
	    cp.returncode != 0 and want is not None and
	    cp.stderr.decode() == "hpool: %s (opening a tunnel to "
	    "127.0.0.1:%d through the proxy at 127.0.0.1:%d)\nhpool: the "
	    "request was not sent (safe to retry)\n" % (want, env.nginx_port,
	    pxa.port) and
	    b"wr0ng" not in cp.stderr,
	    (want, h.describe(cp)))
	cp, port = get(["-x", pxa.url("hpool:wr0ng@"), "--proxy-user",
	    "%s:%s" % (USER, PASSWORD)])
	res.check("--proxy-user wins over the proxy URL's credentials",
	    cp.returncode == 0 and through(pxa, port), (h.describe(cp), port))
	cp, port = get(["-x", pxa.url("%s:%s@" % (USER, PASSWORD)),
	    "--proxy-user", "hpool:wr0ng"])
	res.check("...both ways: a wrong --proxy-user fails though the URL's "
	    "are right", cp.returncode != 0 and want is not None and
	    cp.stderr.decode().startswith("hpool: %s (opening a tunnel to " %
	    want),
	    (want, h.describe(cp)))

	cp, port = get([], {"http_proxy": px.url()})
	res.check("http_proxy: an http:// URL goes through it",
	    cp.returncode == 0 and through(px, port), (h.describe(cp), port))
	cp, port = get([], {"all_proxy": pxa.url("%s:%s@" % (USER,
	    PASSWORD))})
	res.check("all_proxy (with credentials): an http:// URL goes through "
	    "it", cp.returncode == 0 and through(pxa, port),
	    (h.describe(cp), port))
	cp, port = get([], {"HTTP_PROXY": idle.url()})
	res.check("HTTP_PROXY in upper case is not read for http:// (as "
	    "curl): direct", cp.returncode == 0 and direct(port),
	    (h.describe(cp), port))
	cp, port = get([], {"http_proxy": idle.url(), "no_proxy":
	    "127.0.0.1"})
	res.check("no_proxy=127.0.0.1: direct, http_proxy not used",
	    cp.returncode == 0 and direct(port), (h.describe(cp), port))
	cp, port = get(["-x", idle.url()], {"NO_PROXY": "localhost, "
	    "127.0.0.0/8"})
	res.check("NO_PROXY with a CIDR holds for -x too (as curl): direct",
	    cp.returncode == 0 and direct(port), (h.describe(cp), port))
	cp, port = get(["-x", idle.url(), "--noproxy", "*"],
	    {"http_proxy": idle.url()})
	res.check("--noproxy '*': direct, -x and http_proxy not used",
	    cp.returncode == 0 and direct(port), (h.describe(cp), port))
	cp, port = get(["-x", ""], {"http_proxy": idle.url(), "all_proxy":
	    idle.url()})
	res.check("-x '': no proxy, the variables not used: direct",
	    cp.returncode == 0 and direct(port), (h.describe(cp), port))
	cp, port = get(["--noproxy", ""], {"http_proxy": px.url(),
	    "no_proxy": "127.0.0.1"})
	res.check("--noproxy '' replaces no_proxy: through http_proxy",
	    cp.returncode == 0 and through(px, port), (h.describe(cp), port))
	cp, port = get(["-x", px.url()], {"http_proxy": idle.url()})
	res.check("-x wins over http_proxy", cp.returncode == 0 and
	    through(px, port), (h.describe(cp), port))
	res.check("the bypassed proxy never saw a CONNECT",
	    idle.connects() == 0, idle.connects())

	certs = Certs(env.path("certs"))
	ng = TlsNginx(env, certs)
	tport = ng.ports["good"]
	url = "https://127.0.0.1:%d/index.html" % tport
	# -k: TLS settings of their own, so a tunnel of its own (pools are
	# per TLS setting), and a CONNECT of its own to count
	for var, tls in (("HTTPS_PROXY", ["--cacert", certs.path("ca.pem")]),
	    ("https_proxy", ["-k"])):
		before = px.connects(tport)
		cp = run(env.socket, ["-sS"] + tls + [url], {var: px.url(),
		    "http_proxy": idle.url()})
		res.check("%s: an https:// URL goes through it (a CONNECT to "
		    "the TLS server logged), http_proxy not read for it" % var,
		    cp.returncode == 0 and cp.stdout == b"hello over tls\n" and
		    px.connects(tport) == before + 1 and idle.connects() == 0,
		    (h.describe(cp), before, px.connects(tport)))

	cp = run(env.socket, ["--explain", env.url("/")], {"http_proxy":
	    idle.url()})
	res.check("--explain does not read the proxy variables: exit 0, "
	    "hpoold's own route", cp.returncode == 0 and b"route: direct" in
	    cp.stdout, h.describe(cp))

	for spec, var in (("socks5h://127.0.0.1:1080", None),
	    ("socks5://127.0.0.1:1080", None),
	    ("socks5h://%s:%s@127.0.0.1:1080" % (USER, PASSWORD), "ALL_PROXY")):
		scheme = spec.split(":")[0]
		args, venv, where = ["-x", spec], None, "-x"
		if var:
			args, venv, where = [], {var: spec}, var
		cp = run(env.socket, args + [env.url("/")], venv)
		err = cp.stderr.decode()
		res.check("%s %s://...: refused, exit 2, one line naming %s:// "
		    "and hpoold's policy; the password not shown" % (where,
		    scheme, scheme), cp.returncode == 2 and cp.stdout == b"" and
		    err.count("\n") == 1 and ("the %s:// proxy in %s" % (scheme,
		    where)) in err and "hpoold's policy" in err and
		    "socks5h://" in err and PASSWORD not in err,
		    h.describe(cp))


DENY_CONF = """caller_proxies = deny
[policy]
rule = dest .example.test -> deny
rule = dest 10.0.0.0/8 -> deny
rule = dest fd00::/8 -> deny
"""
PROXY = "127.0.0.9"	# never connected: hpoold refuses every caller proxy
REACH = re.compile(r"reach (\S+?): (.*)$", re.M)


def route(sock, args, venv=None):
	"""What the denying hpoold was asked for: 'proxy HOST:PORT' (the
	caller proxy hpool chose), 'direct' (a rule refused the URL itself),
	or the output when neither."""
	cp = run(sock, ["-sS"] + list(args), venv)
	m = REACH.search(cp.stderr.decode("utf-8", "replace"))
	if cp.returncode == 120 and m and "caller_proxies = deny" in m.group(2):
		# an https:// proxy is an https destination to the policy
		scheme, _, where = m.group(1).partition("://")
		return "proxy " + ("https " if scheme == "https" else "") + where
	if cp.returncode == 120 and m and m.group(2).startswith("rule "):
		return "direct"
	return h.describe(cp)


def parsing(res, sock):
	"""The proxy hpool asks hpoold for, from curl's forms of -x."""
	url = "http://www.example.test/"
	for spec, want in (
	    ("127.0.0.9:3128", "127.0.0.9:3128"),
	    ("127.0.0.9", "127.0.0.9:1080"),
	    ("http://127.0.0.9", "127.0.0.9:1080"),
	    ("HTTP://127.0.0.9:3128/", "127.0.0.9:3128"),
	    ("http://127.0.0.9:", "127.0.0.9:1080"),
	    ("[::1]:3128", "::1:3128"),
	    ("http://u:p@[fd00::9]", "fd00::9:1080"),
	    ("http://user:pa%40ss@127.0.0.9:8080", "127.0.0.9:8080"),
	    ("http://u%3Ax@proxy.example.test:8080/path?q", "proxy.example.test:8080"),
	    ("https://127.0.0.9", "https 127.0.0.9:443"),
	    ("HTTPS://u:p@127.0.0.9:3129", "https 127.0.0.9:3129")):
		got = route(sock, ["-x", spec, url])
		res.check("-x %s: hpoold asked for the proxy %s" % (spec, want),
		    got == "proxy " + want, got)
	for spec, words in (
	    ("[::1", "no ']' after '['"),
	    ("[::1]x", "text after ']'"),
	    ("[127.0.0.9]:80", "something else than an IPv6 address"),
	    ("::1:3128", "IPv6 address goes in brackets"),
	    ("http://", "no host"),
	    ("http://u:p@:3128", "no host"),
	    ("127.0.0.9:0", "port that is not a number from 1 to 65535"),
	    ("127.0.0.9:65536", "port that is not"),
	    ("127.0.0.9:31x", "port that is not"),
	    # an unencoded '/' ends the authority: the password is not shown
	    ("http://u:s3kr/1t@127.0.0.9:3128", "port that is not"),
	    ("ftp://127.0.0.9", "scheme 'ftp'"),
	    ("http://u:%00@127.0.0.9", "%00")):
		cp = run(sock, ["-x", spec, url])
		res.check("-x '%s': exit 2, '%s'" % (spec, words),
		    cp.returncode == 2 and words in cp.stderr.decode() and
		    b"s3kr" not in cp.stderr and b"1t" not in cp.stderr and
		    cp.stderr.startswith(b"hpool: ValueError: the ") and
		    cp.stderr.count(b"\n") == 1, h.describe(cp))


def variables(res, sock):
	"""Which variable is read, in curl's order."""
	http_url, https_url = "http://www.example.test/", \
	    "https://www.example.test/"
	p = dict(http_proxy="1001", HTTPS_PROXY="1002", https_proxy="1003",
	    all_proxy="1004", ALL_PROXY="1005", HTTP_PROXY="1006")

	def v(*names, **extra):
		e = {n: "http://%s:%s" % (PROXY, p[n]) for n in names}
		e.update(extra)
		return e
	for url, venv, args, want in (
	    (http_url, v("http_proxy", "all_proxy"), [], "1001"),
	    (http_url, v("HTTP_PROXY"), [], None),
	    (http_url, v("HTTP_PROXY", "ALL_PROXY"), [], "1005"),
	    (http_url, v("all_proxy", "ALL_PROXY"), [], "1004"),
	    (http_url, v("https_proxy", "HTTPS_PROXY"), [], None),
	    (http_url, v("all_proxy", http_proxy=""), [], "1004"),
	    (https_url, v("http_proxy"), [], None),
	    (https_url, v("https_proxy", "HTTPS_PROXY", "all_proxy"), [],
	    "1003"),
	    (https_url, v("HTTPS_PROXY", "all_proxy"), [], "1002"),
	    (https_url, v("ALL_PROXY"), [], "1005"),
	    (http_url, v("http_proxy"), ["-x", PROXY + ":1007"], "1007"),
	    (http_url, v("http_proxy"), ["-x", ""], None),
	    (http_url, v("http_proxy", no_proxy="example.test"), [], None),
	    (http_url, {}, ["-x", PROXY + ":1007", "--noproxy",
	    ".example.test"], None),
	    (http_url, v("http_proxy", no_proxy="example.test"),
	    ["--noproxy", "other.test"], "1001"),
	    (http_url, v("http_proxy", no_proxy="", NO_PROXY="example.test"),
	    [], None),
	    (http_url, v("http_proxy", no_proxy="other.test",
	    NO_PROXY="example.test"), [], "1001")):
		got = route(sock, args + [url], venv)
		name = "%s %s%s" % (url.split(":")[0], " ".join("%s=%s" % kv
		    for kv in sorted(venv.items())), "".join(" " + repr(a)
		    for a in args))
		res.check("%s: %s" % (name, "through :" + want if want else
		    "direct"), got == ("proxy %s:%s" % (PROXY, want) if want
		    else "direct"), got)


def matching(res, sock):
	"""no_proxy read as curl reads it."""
	proxy = {"http_proxy": "http://%s:1001" % PROXY}
	for host, table in (
	    ("www.example.test", (
		("www.example.test", True), ("example.test", True),
		(".example.test", True), ("EXAMPLE.Test", True),
		("example.test.", True), ("test", True),
		("other.test,example.test", True),
		(" other.test ,\texample.test ", True),
		(",,example.test,", True), ("*", True),
		("ample.test", False), ("xample.test", False),
		("www.example.test.other", False), ("example", False),
		("other.test example.test", False), ("*,other.test", False),
		("*.example.test", False), ("10.0.0.0/8", False))),
	    ("10.1.2.3", (
		("10.1.2.3", True), ("10.0.0.0/8", True),
		("10.1.2.3/32", True), ("127.0.0.1,10.1.0.0/16", True),
		("10.1.2.3/0", True), ("10.1.2.2/31", True),
		("10.1.2.4", False), ("10.1.2.4/31", False),
		("11.0.0.0/8", False), ("10.0.0.0/33", False),
		("10.0.0.0/0", False), ("10.1.2", False), ("2.3", False),
		("fd00::/8", False))),
	    ("[fd00::5]", (
		("fd00::5", True), ("fd00::/8", True), ("[fd00::5]", True),
		("fc00::/7", True), ("FD00:0::5/128", True),
		("fd00::6", False), ("fe80::/10", False),
		("fd00::6/127", False), ("10.0.0.0/8", False)))):
		url = "http://%s/" % host
		for entry, bypass in table:
			got = route(sock, [url], dict(proxy, no_proxy=entry))
			res.check("no_proxy=%r, %s: %s" % (entry, host, "direct"
			    if bypass else "through http_proxy"), got == ("direct"
			    if bypass else "proxy %s:1001" % PROXY), got)


def body(res):
	if shutil.which("tinyproxy") is None:
		raise h.SetupError("tinyproxy not found (apt-get install "
		    "tinyproxy)")
	env = h.Env(files={"page.txt": BODY}, echo=False)
	real(res, env)
	p, sock, log, _ = h.start_hpoold(env, DENY_CONF, "deny")
	parsing(res, sock)
	variables(res, sock)
	matching(res, sock)
	h.stop_hpoold(res, p, log, "the denying hpoold")
	env.final_checks(res)


if __name__ == "__main__":
	h.main(body)
