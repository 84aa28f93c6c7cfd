#!/usr/bin/env python3
"""DNS in hpoold (daemon/dns.c): answers kept for their TTL and shared by
the pools of a worker, asked again when the TTL has run out, connections
to an address that left the answer drained (they finish their request,
then serve no other), every address of a name tried in turn, and
socket.gaierror's words for a name that does not resolve. The resolver
is tests/integration/dnsserver.py on 127.0.0.1 (`nameserver =`), the
origins are small HTTP/1.1 servers on 127.0.0.2 and 127.0.0.3."""

import http.server
import os
import socket
import socketserver
import threading
import time

import harness as h
from dnsserver import DnsServer

WAIT = 10		# seconds for a background event


class _Handler(http.server.BaseHTTPRequestHandler):
	protocol_version = "HTTP/1.1"

	def do_GET(self):
		srv = self.server
		with srv.lock:
			srv.requests.append(self.client_address)
		body = srv.label.encode()
		self.send_response(200)
		self.send_header("Content-Length", str(len(body)))
		if srv.close_each:
			self.send_header("Connection", "close")
			self.close_connection = True
		self.end_headers()
		self.wfile.write(body)

	def log_message(self, *args):
		pass


class Origin(socketserver.ThreadingMixIn, http.server.HTTPServer):
	"""Answers every GET with its label; counts requests per client
	address (one per upstream connection) and connections closed."""
	daemon_threads = True
	allow_reuse_address = True

	def __init__(self, addr, port, label, close_each=False):
		self.label = label
		self.close_each = close_each
		self.lock = threading.Lock()
		self.requests = []
		self.closed = []
		super().__init__((addr, port), _Handler)
		self.port = self.server_address[1]
		t = threading.Thread(target=self.serve_forever,
		    kwargs={"poll_interval": 0.1}, daemon=True)
		t.start()

	def shutdown_request(self, request):
		try:
			peer = request.getpeername()
		except OSError:
			peer = None
		with self.lock:
			self.closed.append(peer)
		super().shutdown_request(request)

	def count_from(self, peer):
		with self.lock:
			return sum(1 for r in self.requests if r == peer)

	def stop(self):
		self.shutdown()
		self.server_close()


def cases(res):
	env = h.Env(nginx=False, daemon=False)
	dns = DnsServer()
	h._cleanups.append(dns.stop)
	port = h.free_port()
	two = Origin("127.0.0.2", port, "two")
	three = Origin("127.0.0.3", port, "three")
	closer = Origin("127.0.0.2", 0, "closer", close_each=True)
	other = Origin("127.0.0.2", 0, "other")
	for o in (two, three, closer, other):
		h._cleanups.append(o.stop)
	p, sock, log, _ = h.start_hpoold(env, "nameserver = 127.0.0.1:%d\n"
	    "connect_timeout = 3\nlog_level = debug\n" % dns.port, "dns")

	def get(url):
		return env.hpool(["-sS", url], env={"HPOOL_SOCKET": sock},
		    timeout=30)

	def ok(cp, body):
		return cp.returncode == 0 and cp.stdout == body

	# 1. One lookup per TTL, not one per connection: the origin closes
	# after each response, so each request opens a connection.
	dns.set("cached.test", a=["127.0.0.2"], ttl=300)
	url = "http://cached.test:%d/" % closer.port
	outs = [get(url) for _ in range(10)]
	res.check("10 requests, each on a new connection, all answered",
	    all(ok(cp, b"closer") for cp in outs), [h.describe(cp) for cp in
	    outs if not ok(cp, b"closer")][:2])
	res.check("TTL 300: the name was asked for once (A and AAAA)",
	    dns.count("cached.test", "A") == 1 and
	    dns.count("cached.test", "AAAA") == 1,
	    (dns.count("cached.test", "A"), dns.count("cached.test", "AAAA")))

	# 2. The same name on another port is another pool: the answer is
	# the worker's, shared.
	cp = get("http://cached.test:%d/" % other.port)
	res.check("another pool of the same name uses the kept answer",
	    ok(cp, b"other") and dns.count("cached.test", "A") == 1,
	    (h.describe(cp), dns.count("cached.test", "A")))

	# 3. TTL 1: asked again once it has run out.
	dns.set("short.test", a=["127.0.0.2"], ttl=1)
	url = "http://short.test:%d/" % closer.port
	first = get(url)
	n1 = dns.count("short.test", "A")
	time.sleep(1.3)
	second = get(url)
	n2 = dns.count("short.test", "A")
	res.check("TTL 1: asked once, then again after 1.3 s",
	    ok(first, b"closer") and ok(second, b"closer") and n1 == 1 and
	    n2 == 2, (h.describe(first), h.describe(second), n1, n2))

	# 4. The name moves: the pooled connection to the old address is
	# drained (no request after the move is seen), new ones go to the
	# new address.
	dns.set("moving.test", a=["127.0.0.2"], ttl=1)
	url = "http://moving.test:%d/" % port
	a = get(url)
	res.check("before the move: answered by 127.0.0.2",
	    ok(a, b"two"), h.describe(a))
	with two.lock:
		old_peer = two.requests[-1] if two.requests else None
	dns.set("moving.test", a=["127.0.0.3"], ttl=1)
	time.sleep(1.3)
	b = get(url)		# may still ride the old connection
	h.wait_until(lambda: dns.count("moving.test", "A") >= 2, WAIT,
	    "the expired answer asked for again")
	c = get(url)
	res.check("after the move: answered by 127.0.0.3",
	    ok(c, b"three") and b.returncode == 0, (h.describe(b),
	    h.describe(c)))
	served_old = two.count_from(old_peer)
	h.wait_until(lambda: old_peer in two.closed, WAIT,
	    "the old connection closed by hpoold")
	res.check("the old connection served no request after the move "
	    "was seen, and was closed", served_old <= 2 and
	    two.count_from(old_peer) == served_old and old_peer in two.closed,
	    (served_old, two.count_from(old_peer)))

	# 5. Every address in turn: the first refuses (nothing listens on
	# 127.0.0.4), the second answers.
	dns.set("multi.test", a=["127.0.0.4", "127.0.0.2"], ttl=60)
	cp = get("http://multi.test:%d/" % port)
	res.check("a refused first address, then the second one answers",
	    ok(cp, b"two"), h.describe(cp))

	# 6. IPv6 and IPv4 interleaved, IPv6 first (RFC 8305): ::1 refuses
	# (nothing listens there on this port), 127.0.0.2 answers.
	dns.set("dual.test", a=["127.0.0.2"], aaaa=["::1"], ttl=60)
	cp = get("http://dual.test:%d/" % port)
	res.check("AAAA ::1 refused, then A 127.0.0.2 answers",
	    ok(cp, b"two") and dns.count("dual.test", "AAAA") == 1,
	    h.describe(cp))

	# 6b. An address that drops SYNs (a listener whose one-place
	# backlog is full) holds the next one back RACE_DELAY_MS (250 ms),
	# not the whole connect timeout (3 s here): Happy Eyeballs.
	hole = socket.socket()
	h._cleanups.append(hole.close)
	hole.bind(("127.0.0.5", port))
	hole.listen(0)
	filler = socket.create_connection(("127.0.0.5", port), timeout=5)
	h._cleanups.append(filler.close)
	dns.set("hole.test", a=["127.0.0.5", "127.0.0.2"], ttl=60)
	t0 = time.monotonic()
	cp = get("http://hole.test:%d/" % port)
	took = time.monotonic() - t0
	res.check("a silent first address: the second answers at once "
	    "after the attempt delay, within the connect timeout",
	    ok(cp, b"two") and took < 2.5, (h.describe(cp), took))

	# 6c. A resolver that never answers AAAA: the A answer goes on after
	# the resolution delay (50 ms, RFC 8305), not after the lookup's
	# timeout (the connect timeout, 3 s here, would end it first).
	dns.set("noaaaa.test", a=["127.0.0.2"], ttl=60)
	dns.silent_aaaa.add("noaaaa.test")
	t0 = time.monotonic()
	cp = get("http://noaaaa.test:%d/" % port)
	took = time.monotonic() - t0
	res.check("AAAA never answered: connected with the A answer after "
	    "the resolution delay", ok(cp, b"two") and took < 2.5,
	    (h.describe(cp), took))

	# 7. Names that do not resolve: socket.gaierror's words.
	cp = get("http://nosuch.test:%d/" % port)
	err = h.cli_error(cp.stderr)
	res.check("NXDOMAIN: gaierror [Errno -2] Name or service not known",
	    cp.returncode != 0 and err is not None and err[0] == "gaierror"
	    and err[1].strip() == "[Errno -2] Name or service not known",
	    h.describe(cp))
	dns.set("empty.test", ttl=60)
	cp = get("http://empty.test:%d/" % port)
	err = h.cli_error(cp.stderr)
	res.check("no address of either family: gaierror [Errno -5]",
	    cp.returncode != 0 and err is not None and err[0] == "gaierror"
	    and err[1].strip() == "[Errno -5] No address associated with "
	    "hostname", h.describe(cp))
	n = dns.count("nosuch.test", "A")
	cp = get("http://nosuch.test:%d/" % port)
	res.check("a failed lookup is not kept: asked again",
	    dns.count("nosuch.test", "A") == n + 1, (n, dns.count(
	    "nosuch.test", "A")))

	# 8. A resolver that never answers: the connect timeout ends it.
	dns.silent.add("silent.test")
	t0 = time.monotonic()
	cp = get("http://silent.test:%d/" % port)
	err = h.cli_error(cp.stderr)
	res.check("no answer: the request fails when connect_timeout (3 s) "
	    "ends it", cp.returncode != 0 and err is not None and
	    err[0] in ("TimeoutError", "timeout") and
	    time.monotonic() - t0 < 20, (h.describe(cp),
	    time.monotonic() - t0))

	text = h.stop_hpoold(res, p, log, "dns")
	res.check("the debug log names the drained connection",
	    "left moving.test's DNS answer" in text, h.tail(log))


if __name__ == "__main__":
	h.main(cases)
