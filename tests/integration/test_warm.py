#!/usr/bin/env python3
"""Warm pools (daemon/warm.c): `warm = URL COUNT` keeps COUNT connections
open in each worker before any caller comes, TLS done for https, serves
the first caller on one of them, and replaces them when they end."""

import os

import harness as h
from faultserver import FaultServer
from tlsenv import Certs, TlsNginx

WAIT = 10


def cases(res):
	env = h.Env(nginx=False, daemon=False)

	# 1. http: two connections before any caller, the first caller
	# served on one of them.
	srv = FaultServer()
	h._cleanups.append(srv.stop)
	p, sock, log, _ = h.start_hpoold(env, "log_level = debug\n"
	    "warm = http://127.0.0.1:%d/ 2\n" % srv.port, "warm")
	workers = h.wait_workers(p.pid, 1)
	h.wait_until(lambda: len(srv.snapshot()[0]) == 2, WAIT,
	    "two warm connections at the server")
	res.check("two connections open before any caller, no request on "
	    "them", srv.snapshot()[0] == [0, 0] and
	    h.established_to(workers, srv.port) == 2, srv.snapshot())
	cp = env.hpool(["-sS", "-H", "X-Req: first",
	    "http://127.0.0.1:%d/" % srv.port], env={"HPOOL_SOCKET": sock},
	    timeout=30)
	conns = srv.snapshot()[0]
	res.check("the first caller is served on a warm connection",
	    cp.returncode == 0 and cp.stdout.startswith(b"req=first ") and
	    len(conns) == 2 and sorted(conns) == [0, 1],
	    (h.describe(cp), conns))
	h.stop_hpoold(res, p, log, "warm")

	# 2. Replaced when they end: the server drops idle connections
	# after 300 ms; hpoold keeps opening new ones, two at a time.
	dropper = FaultServer(close_idle_ms=300)
	h._cleanups.append(dropper.stop)
	p, sock, log, _ = h.start_hpoold(env, "warm = http://127.0.0.1:%d "
	    "2\n" % dropper.port, "rewarm")
	workers = h.wait_workers(p.pid, 1)
	h.wait_until(lambda: len(dropper.snapshot()[0]) >= 6, WAIT,
	    "warm connections replaced after the server dropped them")
	res.check("dropped warm connections are replaced, never more than 2 "
	    "open", h.established_to(workers, dropper.port) <= 2,
	    h.established_to(workers, dropper.port))
	h.stop_hpoold(res, p, log, "rewarm")

	# 3. https against nginx: the TLS handshake done before the caller
	# comes; a caller with default settings (the system's CAs, here
	# the test CA through SSL_CERT_FILE) rides it: nginx logs its
	# request as the first on a connection hpoold opened earlier.
	certs = Certs(env.path("certs"))
	ng = TlsNginx(env, certs)
	port = ng.ports["good"]
	old = os.environ.get("SSL_CERT_FILE")
	os.environ["SSL_CERT_FILE"] = certs.path("ca.pem")
	try:
		p, sock, log, _ = h.start_hpoold(env, "log_level = debug\nwarm = "
		    "https://localhost:%d/ 1\n" % port, "tlswarm")
	finally:
		if old is None:
			del os.environ["SSL_CERT_FILE"]
		else:
			os.environ["SSL_CERT_FILE"] = old
	workers = h.wait_workers(p.pid, 1)
	h.wait_until(lambda: h.established_to(workers, port) == 1, WAIT,
	    "one warm TLS connection to nginx")
	cp = env.hpool(["-sS", "https://localhost:%d/index.html" % port],
	    env={"HPOOL_SOCKET": sock}, timeout=30)
	rows = ng.log(1)
	res.check("https: the caller is served on the warm connection "
	    "(no second connection)", cp.returncode == 0 and
	    h.established_to(workers, port) == 1 and len(rows) == 1,
	    (h.describe(cp), rows))
	h.stop_hpoold(res, p, log, "tlswarm")


if __name__ == "__main__":
	h.main(cases)
