"""hpoold against bad clients, bad servers and its own limits, spoken to
in raw protocol frames (protoclient.py): it answers each with a clear
error, keeps serving everyone else, and never pools a doubtful
connection."""

import os
import signal
import socket
import struct
import subprocess
import threading
import time

import harness
from harness import Env, ScriptedServer, read_request, send_and_close
import protoclient as pc

OK_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def keepalive_server(response=OK_RESPONSE, delay=0.0):
	"""Answers every request on a connection with response, keeping the
	connection open; records requests."""
	def handler(conn, server, idx):
		conn.settimeout(30)
		while True:
			req = read_request(conn)
			if req is None:
				return
			server.record(idx, req)
			if delay:
				time.sleep(delay)
			conn.sendall(response)
	return ScriptedServer(handler, "keepalive")


def get(sess, url="/", headers=None):
	sess.send(pc.req_head("GET", url, [("Host", "t")] + (headers or [])) +
	    pc.frame(pc.REQ_END))
	return sess.response()


def protocol_error_then_close(env, data):
	s = pc.Session(env.socket)
	s.send(data)
	r = s.response()
	after = s.frame()
	s.close()
	return r, after


def body(res):
	env = Env(nginx=False)
	srv = keepalive_server()

	def garbage():
		r, after = protocol_error_then_close(env, b"GET / HTTP/1.1\r\n\r\n")
		res.check("garbage gets HpoolProtocolError",
		    r["error"] and r["error"][0] == "HpoolProtocolError", r)
		res.check("garbage: session closed after the error",
		    after is None, after)
	garbage()

	r, _ = protocol_error_then_close(env, struct.pack(">IB", 0x7fffffff, 1))
	res.check("oversized frame refused with the limit named",
	    r["error"] and r["error"][0] == "HpoolProtocolError" and
	    "exceeds" in r["error"][1], r)

	r, _ = protocol_error_then_close(env, pc.hello(5, 9))
	res.check("no common version: error names both ranges",
	    r["error"] and "5..9" in r["error"][1] and "1..4" in r["error"][1], r)

	r, _ = protocol_error_then_close(env, pc.req_head("GET", "/", []))
	res.check("request before HELLO refused",
	    r["error"] and r["error"][0] == "HpoolProtocolError", r)

	def unknown_open_key():
		s = pc.Session(env.socket)
		s.send(pc.hello() + pc.frame(pc.OPEN, pc.tlv(1, "http") +
		    pc.tlv(2, "h") + pc.tlv(3, b"\0\x50") + pc.tlv(77, "x")))
		t, _ = s.frame()
		assert t == pc.HELLO_OK
		r = s.response()
		s.close()
		return r
	r = unknown_open_key()
	res.check("OPEN with unknown parameter refused, not ignored",
	    r["error"] and r["error"][0] == "HpoolProtocolError" and
	    "OPEN" in r["error"][1], r)

	# Bad requests: refused before anything is sent; session still usable.
	s = pc.Session(env.socket)
	s.start("127.0.0.1", srv.port)
	before = len(srv.requests)
	cases = [
	    ("CRLF in header value", "GET", "/", [("X-A", "a\r\nX-Evil: 1")],
		"ValueError"),
	    ("LF in header name", "GET", "/", [("X\nA", "a")], "ValueError"),
	    ("NUL in header value", "GET", "/", [("X-A", "a\0b")], "ValueError"),
	    ("space in URL", "GET", "/a b", [], "InvalidURL"),
	    ("control char in URL", "GET", "/a\x01", [], "InvalidURL"),
	    ("space in method", "GE T", "/", [], "ValueError"),
	    ("CR in method", "GET\r", "/", [], "ValueError"),
	    ("two different Content-Length", "POST", "/",
		[("Content-Length", "1"), ("Content-Length", "2")], "ValueError"),
	    ("gzip transfer-encoding", "POST", "/",
		[("Transfer-Encoding", "gzip")], "ValueError"),
	]
	for name, m, u, h, exc in cases:
		s.send(pc.req_head(m, u, [("Host", "t")] + h) + pc.frame(pc.REQ_END))
		r = s.response()
		res.check("refused: %s -> %s" % (name, exc),
		    r["error"] is not None and r["error"][0] == exc, r)
	res.check("refused requests never reached the server",
	    len(srv.requests) == before, srv.requests[before:])
	r = get(s)
	res.check("session still serves after refusals",
	    r["status"] == 200 and r["body"] == b"ok", r)
	res.check("a folded header value (CRLF + SP) is allowed",
	    get(s, headers=[("X-Fold", "a\r\n b")])["status"] == 200)

	# Body framing mismatches close the upstream connection.
	conns_before = srv.connections
	s.send(pc.req_head("POST", "/", [("Host", "t"),
	    ("Content-Length", "3")]) + pc.frame(pc.REQ_BODY, b"abcdef") +
	    pc.frame(pc.REQ_END))
	r = s.response()
	res.check("body longer than Content-Length -> ValueError",
	    r["error"] and r["error"][0] == "ValueError", r)
	s.send(pc.req_head("POST", "/", [("Host", "t"),
	    ("Content-Length", "10")]) + pc.frame(pc.REQ_BODY, b"abc") +
	    pc.frame(pc.REQ_END))
	r = s.response()
	res.check("body shorter than Content-Length -> ValueError",
	    r["error"] and r["error"][0] == "ValueError", r)
	s.send(pc.req_head("POST", "/", [("Host", "t")]) +
	    pc.frame(pc.REQ_BODY, b"abc") + pc.frame(pc.REQ_END))
	r = s.response()
	res.check("unframed body -> ValueError",
	    r["error"] and r["error"][0] == "ValueError", r)
	r = get(s)
	res.check("after framing errors the next request is served",
	    r["status"] == 200 and r["body"] == b"ok", r)
	res.check("framing errors closed the upstream connection",
	    srv.connections > conns_before,
	    "connections %d -> %d" % (conns_before, srv.connections))

	# Chunked request body: the daemon encodes the chunks.
	s.send(pc.req_head("POST", "/up", [("Host", "t"),
	    ("Transfer-Encoding", "chunked")]) + pc.frame(pc.REQ_BODY, b"hello ") +
	    pc.frame(pc.REQ_BODY, b"world") + pc.frame(pc.REQ_END))
	r = s.response()
	last = srv.requests[-1]
	res.check("chunked request body arrives de-chunked at the server",
	    r["status"] == 200 and last[4] == b"hello world", (r, last))

	# Pipelining: two requests back to back, two responses in order.
	s.send(pc.req_head("GET", "/p1", [("Host", "t")]) + pc.frame(pc.REQ_END) +
	    pc.req_head("GET", "/p2", [("Host", "t")]) + pc.frame(pc.REQ_END))
	r1 = s.response()
	r2 = s.response()
	targets = [q[2] for q in srv.requests[-2:]]
	res.check("pipelined requests run in order",
	    r1["status"] == 200 and r2["status"] == 200 and
	    targets == ["/p1", "/p2"], (r1, r2, targets))
	s.close()

	# A server that sends bytes after the response: never reused.
	extra = keepalive_server(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"
	    b"okHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nEVIL")
	s = pc.Session(env.socket)
	s.start("127.0.0.1", extra.port)
	r1 = get(s)
	r2 = get(s)
	res.check("stray bytes after a response never reach the next caller",
	    r1["body"] == b"ok" and r2["body"] == b"ok" and
	    extra.connections == 2, (r1, r2, extra.connections))
	res.check("RESP_END says the stray-byte connection was not pooled",
	    r1["flags"] is not None and not (r1["flags"] & 2), r1)
	s.close()

	# A client that disconnects mid-request body: the half-sent request's
	# connection is closed, the next caller gets a fresh, correct one.
	slow = keepalive_server()
	s = pc.Session(env.socket)
	s.start("127.0.0.1", slow.port)
	r = get(s)
	s.send(pc.req_head("POST", "/", [("Host", "t"),
	    ("Content-Length", "1000")]) + pc.frame(pc.REQ_BODY, b"x" * 10))
	time.sleep(0.2)
	s.close()
	s = pc.Session(env.socket)
	s.start("127.0.0.1", slow.port)
	r = get(s)
	res.check("after a client vanished mid-body the next request is clean",
	    r["status"] == 200 and r["body"] == b"ok" and slow.connections == 2,
	    (r, slow.connections))
	s.close()

	# A client that vanishes mid-response: its connection is not pooled.
	big = b"x" * (4 << 20)
	bigsrv = keepalive_server(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n"
	    % len(big) + big)
	s = pc.Session(env.socket)
	s.start("127.0.0.1", bigsrv.port)
	s.send(pc.req_head("GET", "/", [("Host", "t")]) + pc.frame(pc.REQ_END))
	s.frame()
	s.frame()
	s.close()
	time.sleep(0.2)
	s = pc.Session(env.socket)
	s.start("127.0.0.1", bigsrv.port)
	r = get(s)
	res.check("after a client vanished mid-response the next gets it whole",
	    r["status"] == 200 and len(r["body"]) == len(big) and
	    bigsrv.connections == 2, (r["status"], len(r["body"]),
	    bigsrv.connections))
	s.close()

	# Connection errors are named as Python names them.
	s = pc.Session(env.socket)
	s.start("127.0.0.1", harness.closed_port())
	r = get(s)
	res.check("closed port -> ConnectionRefusedError [Errno 111]",
	    r["error"] == ("ConnectionRefusedError",
	    "[Errno 111] Connection refused"), r)
	s.close()
	s = pc.Session(env.socket)
	s.start("no-such-host.invalid", 80)
	r = get(s)
	res.check("unknown host -> gaierror",
	    r["error"] is not None and r["error"][0] == "gaierror", r)
	s.close()

	# Timeouts: a server that never answers.
	def mute(conn, server, idx):
		read_request(conn)
		server.record(idx, ("GET", "/", [], b""))
		time.sleep(3)
	mutesrv = ScriptedServer(mute, "mute")
	s = pc.Session(env.socket)
	s.start("127.0.0.1", mutesrv.port, timeout_ms=300)
	t0 = time.monotonic()
	r = get(s)
	took = time.monotonic() - t0
	res.check("silent server -> TimeoutError 'timed out' after the timeout",
	    r["error"] == ("TimeoutError", "timed out") and 0.2 < took < 2.5,
	    (r, took))
	s.close()

	# max_per_host: a queue, never more connections than allowed.
	env2 = Env(nginx=False, daemon=False)
	conf = env2.path("hpoold.conf")
	with open(conf, "w") as f:
		f.write("[hpoold]\nmax_per_host = 1\n")
	env2.start_daemon(["--config", conf])
	busy = keepalive_server(delay=0.2)
	results = []

	def one():
		ss = pc.Session(env2.socket)
		ss.start("127.0.0.1", busy.port)
		results.append(get(ss))
		ss.close()
	threads = [threading.Thread(target=one) for _ in range(4)]
	for t in threads:
		t.start()
	for t in threads:
		t.join(20)
	res.check("max_per_host=1: 4 concurrent requests all served",
	    len(results) == 4 and all(r["status"] == 200 for r in results),
	    results)
	res.check("max_per_host=1: one upstream connection",
	    busy.connections == 1, busy.connections)

	# Configuration errors name file, setting and line.
	bad = env2.path("bad.conf")
	with open(bad, "w") as f:
		f.write("[hpoold]\n# comment\nmax_per_host = lots\n")
	cp = subprocess.run([harness.HPOOLD, "-t", "-c", bad],
	    capture_output=True, timeout=10)
	err = cp.stderr.decode()
	res.check("bad config: exit 1, names setting, value and line",
	    cp.returncode == 1 and "max_per_host" in err and "lots" in err and
	    "line 3" in err and bad in err, (cp.returncode, err))
	with open(bad, "w") as f:
		f.write("[hpoold]\nfrobnicate = 1\n")
	cp = subprocess.run([harness.HPOOLD, "-t", "-c", bad],
	    capture_output=True, timeout=10)
	res.check("unknown setting is named",
	    cp.returncode == 1 and b"frobnicate" in cp.stderr, cp.stderr)

	# SIGHUP with a broken file keeps the daemon and its settings.
	with open(conf, "w") as f:
		f.write("[hpoold]\nmax_per_host = nope\n")
	env2.daemon.send_signal(signal.SIGHUP)
	time.sleep(0.3)
	ss = pc.Session(env2.socket)
	ss.start("127.0.0.1", busy.port)
	r = get(ss)
	ss.close()
	res.check("SIGHUP with a bad config: daemon keeps serving",
	    env2.daemon_alive() and r["status"] == 200, r)
	log = open(env2.daemon_log, "rb").read()
	res.check("SIGHUP with a bad config is logged as refused",
	    b"reload refused" in log, log[-500:])

	# The daemon survived everything above.
	res.check("hpoold still running", env.daemon_alive())
	env2.stop_daemon()
	res.check("SIGTERM removes the socket", not os.path.exists(env2.socket))


harness.main(body)
