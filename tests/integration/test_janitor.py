#!/usr/bin/env python3
"""When pooled connections end (daemon/janitor.c): the server's
`Keep-Alive: timeout=N, max=M` respected (a connection retired a margin
before the server's timeout, never sent a request past max), a maximum
age, a maximum number of requests per connection and the daemon's idle
timeout. Each case asserts what callers got and that the fault server
(tests/integration/faultserver.py) never saw a request on a connection
it had already given up; the debug log names each reason."""

import json
import time

import harness as h
from faultserver import FaultServer

WAIT = 10


def cases(res):
	env = h.Env(nginx=False, daemon=False)

	def server(**kw):
		s = FaultServer(**kw)
		h._cleanups.append(s.stop)
		return s

	def daemon(name, extra=""):
		return h.start_hpoold(env, "log_level = debug\n" + extra, name)

	def get(sock, port, i):
		return env.hpool(["-sS", "-H", "X-Req: %d" % i,
		    "http://127.0.0.1:%d/" % port], env={"HPOOL_SOCKET": sock},
		    timeout=30)

	def all_ok(outs):
		bad = [h.describe(cp) for cp in outs if cp.returncode != 0 or
		    not cp.stdout.startswith(b"req=")]
		return not bad, bad[:2]

	# 1. Keep-Alive max=3, counted down: 7 requests in a row take three
	# connections (3 + 3 + 1), and no fourth request ever goes out on
	# one of them.
	ka = server(ka_timeout=5, ka_max=3)
	p, sock, log, _ = daemon("kamax")
	outs = [get(sock, ka.port, i) for i in range(7)]
	good, bad = all_ok(outs)
	conns, late, _ = ka.snapshot()
	res.check("max=3: 7 requests answered", good, bad)
	res.check("max=3: 3 connections of 3, 3 and 1 requests, none late",
	    conns == [3, 3, 1] and late == [], (conns, late))
	st = env.hpool(["--stats", "--json"], env={"HPOOL_SOCKET": sock},
	    timeout=30)
	try:
		ended = json.loads(st.stdout)["connections_ended"]
	except (ValueError, KeyError) as e:
		ended = {"error": str(e), "out": h.describe(st)}
	res.check("max=3: hpool --stats counts 2 ended by the server's max",
	    ended.get("keepalive_max") == 2, ended)
	text = h.stop_hpoold(res, p, log, "kamax")
	res.check("max=3: the debug log names the server's max",
	    text.count("closed: server's Keep-Alive max") == 2,
	    text.count("closed: server's Keep-Alive max"))

	# 2. Keep-Alive timeout=1: retired at 0.75 s, before the server's
	# 1 s; a request 0.9 s after the last one opens a new connection
	# instead of racing the server's close.
	kt = server(ka_timeout=1)
	p, sock, log, _ = daemon("katimeout")
	a = get(sock, kt.port, 1)
	time.sleep(0.9)
	b = get(sock, kt.port, 2)
	time.sleep(0.9)
	c = get(sock, kt.port, 3)
	conns, late, _ = kt.snapshot()
	good, bad = all_ok([a, b, c])
	res.check("timeout=1: answered, each on a new connection, none late",
	    good and conns == [1, 1, 1] and late == [], (bad, conns, late))
	text = h.stop_hpoold(res, p, log, "katimeout")
	res.check("timeout=1: the debug log names the server's timeout",
	    "closed: server's Keep-Alive timeout" in text, h.tail(log))

	# 3. max_requests_per_conn = 2 (the server announces nothing).
	plain = server()
	p, sock, log, _ = daemon("maxreq", "max_requests_per_conn = 2\n")
	outs = [get(sock, plain.port, i) for i in range(5)]
	good, bad = all_ok(outs)
	conns, late, _ = plain.snapshot()
	res.check("max_requests_per_conn = 2: 5 requests on 2 + 2 + 1",
	    good and conns == [2, 2, 1], (bad, conns))
	text = h.stop_hpoold(res, p, log, "maxreq")
	res.check("max_requests_per_conn: named in the debug log",
	    text.count("closed: max_requests_per_conn") == 2,
	    text.count("closed: max_requests_per_conn"))

	# 4. max_conn_age = 1: a busy connection (a request every 0.25 s)
	# is replaced once it is a second old.
	aged = server()
	p, sock, log, _ = daemon("maxage", "max_conn_age = 1\n")
	outs = []
	for i in range(8):
		outs.append(get(sock, aged.port, i))
		time.sleep(0.25)
	good, bad = all_ok(outs)
	conns, late, _ = aged.snapshot()
	res.check("max_conn_age = 1: 8 requests over 2 s use 2 to 4 "
	    "connections", good and 2 <= len(conns) <= 4 and sum(conns) == 8,
	    (bad, conns))
	text = h.stop_hpoold(res, p, log, "maxage")
	res.check("max_conn_age: named in the debug log",
	    "closed: max_conn_age" in text, h.tail(log))

	# 5. idle_timeout = 1 (the server would keep it 30 s): hpoold closes
	# the connection itself after a second.
	quiet = server()
	p, sock, log, _ = daemon("idle", "idle_timeout = 1\n")
	a = get(sock, quiet.port, 1)
	h.wait_until(lambda: quiet.snapshot()[2] == [0], WAIT,
	    "hpoold closing its idle connection")
	res.check("idle_timeout = 1: the idle connection closed by hpoold",
	    a.returncode == 0 and quiet.snapshot()[2] == [0],
	    (h.describe(a), quiet.snapshot()))
	text = h.stop_hpoold(res, p, log, "idle")
	res.check("idle timeout: named in the debug log",
	    "closed: idle timeout" in text, h.tail(log))


if __name__ == "__main__":
	h.main(cases)
