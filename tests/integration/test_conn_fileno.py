#!/usr/bin/env python3
"""hpool_conn_fileno (conn.sock.fileno()) through a real hpoold: the C
program tests/conn_fileno.c polls the fd it returns while a scripted
server holds its answer until the program says `waiting: N`, so "no
POLLIN before the response, POLLIN once it has come" is checked without
racing the server; -1 before connect() and after close(). Then read1()
and hpool_response_ready() in a poll() loop: /split-2 holds the second
part of its body until `waiting: 2`, /big is 1 MiB."""

import os
import select
import socket
import subprocess
import threading
import time

import harness as h

PROG = os.path.join(os.environ.get("TOP_BUILDDIR", "."), "tests",
    "conn_fileno")
RUN_TIMEOUT = 60	# seconds, the whole program
GATE_TIMEOUT = 20	# seconds the server holds an answer at most
SPLIT_FIRST = 1000	# /split-N: body bytes sent before the gate
SPLIT_REST = 3000	# ...and after it (as in conn_fileno.c)
BIG = 1 << 20


def pattern(start, n):
	"""Body bytes start..start+n-1: byte i is i % 251."""
	return bytes((start + i) % 251 for i in range(n))


class Gates:
	"""Named events: the server waits on one, the test opens it."""

	def __init__(self):
		self.lock = threading.Lock()
		self.events = {}

	def get(self, name):
		with self.lock:
			return self.events.setdefault(name, threading.Event())


def gated_server(gates):
	"""Keep-alive server: GET /gated-N is answered once gate N opens
	(bounded), anything else at once; the body names the target."""
	def handler(conn, server, idx):
		while True:
			try:
				req = h.read_request(conn)
			except socket.timeout:
				return
			if req is None:
				return
			server.record(idx, req)
			target = req[1]
			if target.startswith("/split-"):
				conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: "
				    b"%d\r\n\r\n" % (SPLIT_FIRST + SPLIT_REST) +
				    pattern(0, SPLIT_FIRST))
				gates.get(target[len("/split-"):]).wait(GATE_TIMEOUT)
				conn.sendall(pattern(SPLIT_FIRST, SPLIT_REST))
				continue
			if target == "/big":
				conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: "
				    b"%d\r\n\r\n" % BIG + pattern(0, BIG))
				continue
			if target.startswith("/gated-"):
				gates.get(target[len("/gated-"):]).wait(GATE_TIMEOUT)
			body = ("answer to %s" % target).encode()
			conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n"
			    % len(body) + body)
	return h.ScriptedServer(handler, "gated")


def run_program(env, port, gates):
	"""Run conn_fileno, opening gate N when it prints `waiting: N`.
	Returns (exit status, output lines)."""
	e = dict(os.environ)
	e["HPOOL_SOCKET"] = env.socket
	p = h.spawn([PROG, str(port)], stdin=subprocess.DEVNULL,
	    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=e)
	fd = p.stdout.fileno()
	buf = b""
	seen = 0
	deadline = time.monotonic() + RUN_TIMEOUT
	try:
		while True:
			left = deadline - time.monotonic()
			if left <= 0:
				p.kill()
				raise TimeoutError("conn_fileno did not finish in %ds; "
				    "output %r" % (RUN_TIMEOUT, buf[-500:]))
			r, _, _ = select.select([fd], [], [], left)
			if not r:
				continue
			b = os.read(fd, 65536)
			if not b:
				break
			buf += b
			lines = buf.decode("latin-1").split("\n")[:-1]
			for line in lines[seen:]:
				if line.startswith("waiting: "):
					gates.get(line[len("waiting: "):]).set()
			seen = len(lines)
		rc = p.wait(h.STOP_TIMEOUT)
	finally:
		p.stdout.close()
		if p in h._children:
			h._children.remove(p)
	return rc, buf.decode("latin-1").splitlines()


def main():
	def body(res):
		if not os.access(PROG, os.X_OK):
			raise h.SetupError("tests/conn_fileno not built")
		env = h.Env(nginx=False, echo=False)
		gates = Gates()
		srv = gated_server(gates)
		try:
			rc, lines = run_program(env, srv.port, gates)
		finally:
			srv.stop()
		out = dict(l.split(": ", 1) for l in lines if ": " in l)

		def check(name, key, want):
			res.check(name, out.get(key) == want, "%s: %r, want %r; "
			    "output %r" % (key, out.get(key), want, lines))
		res.check("conn_fileno ran without a libhpool error", rc == 0,
		    "exit %s, output %r" % (rc, lines))
		check("before connect(): -1", "before", "-1")
		check("after connect(): a Unix socket connected to hpoold's "
		    "socket", "connected", "hpoold")
		check("after connect(): nothing to read (the handshake's "
		    "answers are consumed)", "idle-ready", "0")
		check("request() keeps the session's fd", "request-fd", "same")
		check("no POLLIN while the server holds its answer",
		    "early-ready", "0")
		check("POLLIN once the server has answered", "ready", "1")
		check("getresponse() and read() then give the response",
		    "response", "200 OK answer to /gated-1")
		check("nothing left to read once the body is read",
		    "after-read-ready", "0")
		check("after close(): -1", "closed", "-1")
		check("close() closed the socket fileno returned", "old-fd",
		    "closed")
		check("request() without connect(): a hpoold socket at once",
		    "lazy", "hpoold")
		# the session's handshake answers come first on this path, so
		# POLLIN here does not prove the response came (conn_fileno.c)
		check("...POLLIN within the bound", "lazy-ready", "1")
		check("...getresponse() and read() give it",
		    "lazy-response", "200 OK answer to /now")
		check("...after close(): -1", "lazy-closed", "-1")
		split = "%d bytes, 0 wrong" % (SPLIT_FIRST + SPLIT_REST)
		check("read1() in a poll() loop: a body in two parts whole",
		    "/split-2-body", split)
		check("...ready() 0 and the socket quiet while the server holds "
		    "the rest", "/split-2-held", "lib 0 socket 0")
		check("...the loop polled", "/split-2-polled", "yes")
		check("...ready() 1 once the body has ended",
		    "/split-2-end-ready", "1")
		check("read1() in a poll() loop: a 1 MiB body whole",
		    "/big-body", "%d bytes, 0 wrong" % BIG)
		check("...each read1() at most one frame (64 KiB)",
		    "/big-most", "one frame or less")
		check("...ready() 1 once the body has ended", "/big-end-ready",
		    "1")
		env.final_checks(res)
	h.main(body)


if __name__ == "__main__":
	main()
