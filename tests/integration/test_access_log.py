#!/usr/bin/env python3
"""hpoold's access log (daemon/access.c): one entry per request, and one
per OPEN the policy denies, at log_level = info.

- plain lines on stderr: a UTC timestamp, the caller's uid and pid, the
  method, scheme://host:port (the path only at debug), status, body bytes
  up and down, duration, a new or reused connection, TLS none/full/
  resumed, retried, the route (direct, proxy NAME, denied by RULE); an
  error's Python name when no response came;
- the journal's fields, through the test hook HPOOL_TEST_JOURNAL_SOCKET:
  hpoold sends journald's native datagrams to a Unix datagram socket the
  test binds, each field checked against the request made;
- no credential ever: an Authorization header, a proxy's password (in
  its URL), a path with a token at info;
- retried: a pooled connection the server drops on the next request, a
  GET sent again on a new connection: conn=new retried=yes;
- HPOOL_UNIT: a caller placed in a cgroup named like a unit
  (/sys/fs/cgroup/unified/NAME.service, made and removed by the test) is
  logged with that unit, in the field and in MESSAGE;
- access_log = off: no entry.
nginx (plain and TLS) and tinyproxy on 127.0.0.1 only."""

import base64
import os
import re
import socket
import struct
import time

import harness as h
from tlsenv import Certs, TlsNginx

SECRET_AUTH = "Bearer sekrit-header-value-41"
PROXY_USER = "alice"
PROXY_PASS = "pr0xy-pa55word"
TOKEN = "token=query-secret-77"
LINE = re.compile(r'access: (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) '
    r'uid=(\d+) unit=(\S+) pid=(\d+) (\S+) (\S+) status=(\d+)'
    r'(?: error=(\S+))? up=(\d+) down=(\d+) us=(\d+) conn=(\w+) '
    r'tls=(\w+) retried=(\w+) route="([^"]*)"$')
FIELDS = ("uid", "unit", "pid", "method", "dest", "status", "error", "up",
    "down", "us", "conn", "tls", "retried", "route")


def entries(log):
	"""The access lines of a daemon log, as dicts."""
	out = []
	with open(log, errors="replace") as f:
		for line in f:
			m = LINE.search(line.rstrip("\n"))
			if m:
				d = dict(zip(("stamp",) + FIELDS, m.groups()))
				out.append(d)
	return out


def wait_entries(log, n, timeout=5.0):
	deadline = time.monotonic() + timeout
	while True:
		e = entries(log)
		if len(e) >= n or time.monotonic() > deadline:
			return e
		time.sleep(0.02)


def parse_native(data):
	"""One datagram of journald's native protocol: {NAME: value}
	(repeated names: the last)."""
	fields = {}
	i = 0
	while i < len(data):
		nl = data.index(b"\n", i)
		line = data[i:nl]
		if b"=" in line:
			k, v = line.split(b"=", 1)
			i = nl + 1
		else:
			k = line
			(n,) = struct.unpack("<Q", data[nl + 1:nl + 9])
			v = data[nl + 9:nl + 9 + n]
			if data[nl + 9 + n:nl + 10 + n] != b"\n":
				raise ValueError("binary field %r not ended by \\n" % k)
			i = nl + 10 + n
		fields[k.decode()] = v.decode()
	return fields


class JournalSink:
	"""A Unix datagram socket in the env's dir: hpoold's test hook sends
	its journal entries there."""

	def __init__(self, env, name):
		self.path = env.path(name + ".journal")
		self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
		self.sock.bind(self.path)
		self.sock.settimeout(5.0)
		h._cleanups.append(self.sock.close)

	def take(self, n, timeout=5.0):
		got = []
		deadline = time.monotonic() + timeout
		while len(got) < n and time.monotonic() < deadline:
			try:
				got.append(parse_native(self.sock.recv(65536)))
			except socket.timeout:
				break
		return got


def daemon(env, conf, name, journal=None):
	"""start_hpoold with the test hook's variable set (or not)."""
	old = os.environ.pop("HPOOL_TEST_JOURNAL_SOCKET", None)
	if journal is not None:
		os.environ["HPOOL_TEST_JOURNAL_SOCKET"] = journal.path
	try:
		return h.start_hpoold(env, conf, name)
	finally:
		os.environ.pop("HPOOL_TEST_JOURNAL_SOCKET", None)
		if old is not None:
			os.environ["HPOOL_TEST_JOURNAL_SOCKET"] = old


def hpool(env, sock, args):
	return env.hpool(["-s", "-S", "--socket", sock] + args)


def plain_lines(res, env):
	"""Three GETs and a POST: the lines say what happened, one each."""
	p, sock, log, _ = daemon(env, "max_per_host = 1\n", "plain")
	size = env.files["a.bin"][0]
	url = env.url("/files/a.bin?" + TOKEN)
	cps = [hpool(env, sock, ["-H", "Authorization: " + SECRET_AUTH, url])
	    for _ in range(3)]
	cps.append(hpool(env, sock, ["-d", "x" * 1234, env.url("/echo")]))
	cps.append(hpool(env, sock, [env.url("/files/missing")]))
	bad_port = h.closed_port()
	cps.append(hpool(env, sock, ["http://127.0.0.1:%d/" % bad_port]))
	e = wait_entries(log, 6)
	res.check("6 requests: the first 5 exit 0, the refused one not",
	    [c.returncode == 0 for c in cps] == [True] * 5 + [False],
	    [c.returncode for c in cps])
	res.check("one access line per request (6)", len(e) == 6,
	    "%d lines: %s" % (len(e), e))
	if len(e) != 6:
		h.stop_hpoold(res, p, log, "plain")
		return
	dest = "http://127.0.0.1:%d" % env.nginx_port
	uid = str(os.getuid())
	now = time.strftime("%Y-%m-%dT", time.gmtime())
	res.check("each line: a UTC timestamp of today, the caller's uid",
	    all(x["stamp"].startswith(now) and x["uid"] == uid for x in e),
	    e)
	res.check("each line: the pid of the hpool process (a number > 1)",
	    all(int(x["pid"]) > 1 for x in e), e)
	want = [("GET", dest, "200", None, "0", str(size), "new"),
	    ("GET", dest, "200", None, "0", str(size), "reused"),
	    ("GET", dest, "200", None, "0", str(size), "reused"),
	    ("POST", dest, "200", None, "1234", None, "reused"),
	    ("GET", dest, "404", None, "0", None, "reused"),
	    ("GET", "http://127.0.0.1:%d" % bad_port, "0",
	     "ConnectionRefusedError", "0", "0", "none")]
	got = [(x["method"], x["dest"], x["status"], x["error"], x["up"],
	    x["down"] if w[5] is not None else None, x["conn"])
	    for x, w in zip(e, want)]
	res.check("method, scheme://host:port (no path at info), status, "
	    "error, bytes up and down, new/reused", got == want,
	    "got %s want %s" % (got, want))
	echo_down = int(e[3]["down"])
	res.check("the POST's bytes down: the echo's body length",
	    echo_down == len(cps[3].stdout), "%d vs %d" % (echo_down,
	    len(cps[3].stdout)))
	res.check("tls=none, retried=no, route=\"direct\" on each line",
	    all(x["tls"] == "none" and x["retried"] == "no" and
	    x["route"] == "direct" for x in e), e)
	res.check("duration: a positive number of microseconds under 10 s",
	    all(0 < int(x["us"]) < 10000000 for x in e), [x["us"] for x in e])
	text = h.stop_hpoold(res, p, log, "plain")
	res.check("the path, its query token and the Authorization value "
	    "are in no line at info", "/files/a.bin" not in text and
	    TOKEN not in text and "sekrit" not in text,
	    [l for l in text.splitlines() if "a.bin" in l or "sekrit" in l][:3])


def debug_path(res, env):
	"""log_level = debug: the path is in the line, the header still
	not."""
	p, sock, log, _ = daemon(env, "log_level = debug\n", "debug")
	cp = hpool(env, sock, ["-H", "Authorization: " + SECRET_AUTH,
	    env.url("/files/a.bin?" + TOKEN)])
	e = wait_entries(log, 1)
	want = "http://127.0.0.1:%d/files/a.bin?%s" % (env.nginx_port, TOKEN)
	res.check("debug: exit 0 and one line whose destination has the path",
	    cp.returncode == 0 and len(e) == 1 and e[0]["dest"] == want,
	    "%s %s" % (h.describe(cp), e))
	text = h.stop_hpoold(res, p, log, "debug")
	res.check("debug: the Authorization value is in no line",
	    "sekrit" not in text)


def journal_fields(res, env, certs, tls_nginx):
	"""The journal's fields, read from the test hook's socket: every field
	of a GET, an https GET on a new connection (TLS full), one on a second
	new connection (TLS resumed, max_idle_per_host = 0 closes each), a
	denial, and a request through a proxy of the daemon's with a
	password."""
	j = JournalSink(env, "j")
	tp = h.Tinyproxy(env, (PROXY_USER, PROXY_PASS), [env.nginx_port])
	conf = ("max_idle_per_host = 0\n"
	    "[proxy tp]\nurl = http://%s:%s@127.0.0.1:%d\n"
	    "[policy]\nrule = dest 127.0.0.9 -> deny\n"
	    "rule = dest localhost:%d -> proxy tp\n" % (PROXY_USER, PROXY_PASS,
	    tp.port, env.nginx_port))
	p, sock, log, _ = daemon(env, conf, "journal", j)
	tls_url = "https://127.0.0.1:%d/" % tls_nginx.ports["good"]
	ca = ["--cacert", certs.path("ca.pem")]
	cps = [hpool(env, sock, ["-X", "PUT", "-d", "hello",
	    env.url("/echo?" + TOKEN)]),
	    hpool(env, sock, ca + [tls_url]),
	    hpool(env, sock, ca + [tls_url]),
	    hpool(env, sock, ["http://127.0.0.9:%d/x" % env.nginx_port]),
	    hpool(env, sock, ["-H", "Authorization: " + SECRET_AUTH,
	    "http://localhost:%d/files/a.bin" % env.nginx_port])]
	got = j.take(5)
	res.check("journal: 5 requests, 4 exit 0, 5 entries", [c.returncode
	    for c in cps][:3] + [cps[4].returncode] == [0] * 4 and
	    cps[3].returncode != 0 and len(got) == 5, "%s; %d entries: %s" % (
	    [h.describe(c) for c in cps], len(got), got))
	if len(got) != 5:
		h.stop_hpoold(res, p, log, "journal")
		return
	base = {"PRIORITY": "6", "SYSLOG_IDENTIFIER": "hpoold",
	    "HPOOL_CALLER_UID": str(os.getuid()), "HPOOL_RETRIED": "0"}
	want = [dict(base, HPOOL_METHOD="PUT", HPOOL_DEST="http://127.0.0.1:%d"
	    % env.nginx_port, HPOOL_STATUS="200", HPOOL_BYTES_UP="5",
	    HPOOL_BYTES_DOWN=str(len(cps[0].stdout)), HPOOL_CONN="new",
	    HPOOL_TLS="none", HPOOL_ROUTE="direct"),
	    dict(base, HPOOL_METHOD="GET", HPOOL_DEST="https://127.0.0.1:%d" %
	    tls_nginx.ports["good"], HPOOL_STATUS="200", HPOOL_BYTES_UP="0",
	    HPOOL_BYTES_DOWN=str(len(cps[1].stdout)), HPOOL_CONN="new",
	    HPOOL_TLS="full", HPOOL_ROUTE="direct"),
	    dict(base, HPOOL_METHOD="GET", HPOOL_DEST="https://127.0.0.1:%d" %
	    tls_nginx.ports["good"], HPOOL_STATUS="200", HPOOL_BYTES_UP="0",
	    HPOOL_BYTES_DOWN=str(len(cps[2].stdout)), HPOOL_CONN="new",
	    HPOOL_TLS="resumed", HPOOL_ROUTE="direct"),
	    dict(base, HPOOL_METHOD="-", HPOOL_DEST="http://127.0.0.9:%d" %
	    env.nginx_port, HPOOL_STATUS="0", HPOOL_ERROR="PermissionError",
	    HPOOL_BYTES_UP="0", HPOOL_BYTES_DOWN="0", HPOOL_CONN="none",
	    HPOOL_TLS="none", HPOOL_DURATION_US="0",
	    HPOOL_ROUTE="denied by rule 1 (dest 127.0.0.9 -> deny)"),
	    dict(base, HPOOL_METHOD="GET", HPOOL_DEST="http://localhost:%d" %
	    env.nginx_port, HPOOL_STATUS="200", HPOOL_BYTES_UP="0",
	    HPOOL_BYTES_DOWN=str(env.files["a.bin"][0]), HPOOL_CONN="new",
	    HPOOL_TLS="none", HPOOL_ROUTE="proxy tp")]
	names = ["plain PUT", "https, full handshake", "https, resumed",
	    "denied", "through proxy tp"]
	for name, g, w in zip(names, got, want):
		bad = {k: (g.get(k), v) for k, v in w.items() if g.get(k) != v}
		res.check("journal, %s: every field as made" % name, not bad,
		    "field: (got, want): %s" % bad)
		res.check("journal, %s: MESSAGE is the access line, a duration, "
		    "the pid, no HPOOL_PATH at info" % name,
		    g.get("MESSAGE", "").startswith("access: uid=%d " %
		    os.getuid()) and g.get("HPOOL_DURATION_US", "").isdigit() and
		    g.get("HPOOL_CALLER_PID", "").isdigit() and
		    "HPOOL_PATH" not in g and "HPOOL_UNIT" not in g, g)
	res.check("journal: a request's duration is positive",
	    all(int(g["HPOOL_DURATION_US"]) > 0 for g in got[:3] + got[4:]),
	    [g["HPOOL_DURATION_US"] for g in got])
	b64 = base64.b64encode(("%s:%s" % (PROXY_USER, PROXY_PASS)).encode()
	    ).decode()
	blob = repr(got)
	text = h.stop_hpoold(res, p, log, "journal")
	res.check("journal: no credential in any field or in the log (the "
	    "proxy's password, its Basic value, the Authorization header, the "
	    "query token)", all(s not in blob and s not in text for s in
	    (PROXY_PASS, b64, "sekrit", TOKEN)), blob[:500])
	res.check("journal: with the hook the access entries are not on "
	    "stderr", "access: " not in text, h.tail(log, 5))
	res.check("tinyproxy tunnelled the proxied request (1 CONNECT)",
	    tp.connects() == 1, tp.connects())


OK_RESP = (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
    b"Content-Type: text/plain\r\n\r\nok")


def retried(res, env):
	"""The first connection answers one request, then takes the second
	and closes without a byte: hpoold sends the GET again on a new
	connection, and the entry says so."""
	def handler(conn, server, idx):
		req = h.read_request(conn)
		if req is None:
			return
		server.record(idx, req)
		conn.sendall(OK_RESP)
		if idx == 0:
			req = h.read_request(conn)
			if req is not None:
				server.record(idx, req)
			return		# closed, nothing answered
		h.send_and_close(conn, b"", "hold")
	srv = h.ScriptedServer(handler, "drops-second")
	j = JournalSink(env, "jr")
	p, sock, log, _ = daemon(env, "", "retried", j)
	cps = [hpool(env, sock, [srv.url("/x")]) for _ in range(2)]
	got = j.take(2)
	h.stop_hpoold(res, p, log, "retried")
	res.check("retried: both GETs exit 0 with the body, 3 requests at "
	    "the server over 2 connections", [c.returncode for c in cps] ==
	    [0, 0] and all(c.stdout == b"ok" for c in cps) and
	    len(srv.requests) == 3 and srv.connections == 2,
	    "%s; %d requests, %d connections" % ([h.describe(c) for c in cps],
	    len(srv.requests), srv.connections))
	want = [("new", "0", "200"), ("new", "1", "200")]
	res.check("retried: HPOOL_CONN, HPOOL_RETRIED, HPOOL_STATUS: the first "
	    "new, not retried; the second sent again on a new connection",
	    [(g.get("HPOOL_CONN"), g.get("HPOOL_RETRIED"),
	    g.get("HPOOL_STATUS")) for g in got] == want and
	    "retried=yes" in got[1].get("MESSAGE", ""), got)


def unit(res, env):
	"""A caller in a cgroup named like a unit: HPOOL_UNIT names it (as
	sd_pid_get_unit reads /proc/PID/cgroup)."""
	name = "hpool-test-%d.service" % os.getpid()
	cg = "/sys/fs/cgroup/unified/" + name
	try:
		os.mkdir(cg)
	except OSError as e:
		res.fail("HPOOL_UNIT: a caller in unit %s" % name, "cannot make "
		    "the cgroup %s here: %s" % (cg, e))
		return
	try:
		j = JournalSink(env, "ju")
		p, sock, log, _ = daemon(env, "", "unit", j)
		cp = h.run_capture(["sh", "-c", 'echo $$ > "$1/cgroup.procs" && '
		    'exec "$2" -s -S --socket "$3" "$4"', "sh", cg, h.HPOOL, sock,
		    env.url("/files/a.bin")], timeout=30)
		got = j.take(1)
		h.stop_hpoold(res, p, log, "unit")
	finally:
		for _ in range(50):
			try:
				os.rmdir(cg)
				break
			except OSError:
				time.sleep(0.1)
	g = got[0] if got else {}
	res.check("HPOOL_UNIT: the caller's unit %s, in the field and in "
	    "MESSAGE" % name, cp.returncode == 0 and g.get("HPOOL_UNIT") ==
	    name and (" unit=%s " % name) in g.get("MESSAGE", ""),
	    "%s %s" % (h.describe(cp), g))


def off(res, env):
	"""access_log = off (and on, as a synonym of yes, taken too)."""
	p, sock, log, _ = daemon(env, "access_log = off\n", "off")
	cp = hpool(env, sock, [env.url("/files/a.bin")])
	text = h.stop_hpoold(res, p, log, "off")
	res.check("access_log = off: the request works, no access line",
	    cp.returncode == 0 and "access: " not in text, text[-500:])
	p, sock, log, _ = daemon(env, "access_log = on\n", "on")
	cp = hpool(env, sock, [env.url("/files/a.bin")])
	e = wait_entries(log, 1)
	h.stop_hpoold(res, p, log, "on")
	res.check("access_log = on: one line", cp.returncode == 0 and
	    len(e) == 1, e)


def body(res):
	env = h.Env(files={"a.bin": 3000}, daemon=False)
	certs = Certs(env.path("certs"))
	tls_nginx = TlsNginx(env, certs)
	plain_lines(res, env)
	debug_path(res, env)
	journal_fields(res, env, certs, tls_nginx)
	retried(res, env)
	unit(res, env)
	off(res, env)


if __name__ == "__main__":
	h.main(body)
