#!/usr/bin/env python3
"""Pooling: many short `hpool` processes share upstream connections, and
a connection that is not clean (closed by the server while idle, extra
bytes after a response, a client gone mid-response or mid-request) is
never handed to another request."""

import os
import socket
import subprocess
import threading
import time

import harness as h

RUNS = 100		# sequential hpool processes
MAX_CONNECTIONS = 2	# upstream connections they may use
EVENT_TIMEOUT = 10	# seconds to wait for a server-side event


def ensure(cond, detail):
	if not cond:
		raise AssertionError(detail)


def cases(res):
	env = h.Env(files={"small.txt": b"pooled response\n",
	    "big.bin": 64 * 1024 * 1024})
	res.after_case = env.revive

	def hundred():
		url = env.url("/files/small.txt")
		bad = []
		for i in range(RUNS):
			cp = env.hpool(["-s", url], timeout=30)
			if cp.returncode != 0 or cp.stdout != b"pooled response\n":
				bad.append((i, h.describe(cp)))
				if len(bad) > 3:
					break
		ensure(not bad, "failed runs: %r" % bad)
		rows = [r for r in env.access_log_wait(RUNS)
		    if r["request"] == "GET /files/small.txt HTTP/1.1"]
		ensure(len(rows) == RUNS, "nginx logged %d requests, want %d" % (
		    len(rows), RUNS))
		conns = sorted({r["connection"] for r in rows})
		ensure(len(conns) <= MAX_CONNECTIONS, "%d processes used %d upstream "
		    "connections (%s), want <= %d" % (RUNS, len(conns),
		    conns[:10], MAX_CONNECTIONS))
		print("# %d processes, %d upstream connection(s), up to %d requests "
		    "on one" % (RUNS, len(conns), max(r["requests"] for r in rows)))
	res.run("%d sequential hpool processes use <= %d upstream connections" %
	    (RUNS, MAX_CONNECTIONS), hundred)

	# -- a server that closes right after each keep-alive response
	def closes_after_each():
		srv = h.ScriptedServer(_answer_then(how="close"))
		try:
			for i in range(20):
				cp = env.hpool(["-s", srv.url("/r%d" % i)], timeout=30)
				ensure(cp.returncode == 0 and cp.stdout == b"/r%d" % i,
				    "request %d: %s" % (i, h.describe(cp)))
			ensure(srv.connections == 20, "%d connections for 20 requests" %
			    srv.connections)
		finally:
			srv.stop()
	res.run("server closes after each keep-alive response: 20 requests "
	    "succeed", closes_after_each)

	# -- a server that closes an idle connection later (FIN or RST)
	for how in ("close", "rst"):
		def idle_close(how=how):
			closed = threading.Semaphore(0)
			srv = h.ScriptedServer(_answer_then(how=how, idle=0.2,
			    closed=closed))
			try:
				for i in range(5):
					cp = env.hpool(["-s", srv.url("/i%d" % i)], timeout=30)
					ensure(cp.returncode == 0 and cp.stdout == b"/i%d" % i,
					    "request %d: %s" % (i, h.describe(cp)))
					# the server has closed the pooled connection
					ensure(closed.acquire(timeout=EVENT_TIMEOUT),
					    "server did not close the idle connection")
			finally:
				srv.stop()
		res.run("idle pooled connection closed by the server (%s) is not "
		    "reused: 5 requests succeed" % ("FIN" if how == "close" else
		    "RST"), idle_close)

	# -- extra bytes after a complete response
	def extra_bytes():
		srv = h.ScriptedServer(_answer_with_smuggled)
		try:
			for i in range(5):
				cp = env.hpool(["-s", srv.url("/x%d" % i)], timeout=30)
				ensure(cp.returncode == 0 and cp.stdout == b"/x%d" % i,
				    "request %d got %s" % (i, h.describe(cp)))
		finally:
			srv.stop()
	res.run("connection with bytes after the response is not reused",
	    extra_bytes)

	# -- a client killed in the middle of a response (nginx, 64 MiB)
	def killed_mid_response():
		p = h.spawn([h.HPOOL, env.url("/files/big.bin")],
		    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
		    stdin=subprocess.DEVNULL,
		    env=dict(os.environ, HPOOL_SOCKET=env.socket))
		got = len(h.read_some(p.stdout, 1024 * 1024, 60))
		p.kill()
		p.wait(h.STOP_TIMEOUT)
		p.stdout.close()
		ensure(got >= 1024 * 1024, "read only %d bytes before the kill" % got)
		for i in range(5):
			cp = env.hpool(["-s", env.url("/files/small.txt")], timeout=30)
			ensure(cp.returncode == 0 and cp.stdout == b"pooled response\n",
			    "request %d after the kill: %s" % (i, h.describe(cp)))
		out = env.path("big.out")
		cp = env.hpool(["-s", "-o", out, env.url("/files/big.bin")],
		    timeout=300)
		ensure(cp.returncode == 0 and h.sha256_file(out) ==
		    env.files["big.bin"][1], "full 64 MiB after the kill: %s" %
		    h.describe(cp))
		os.unlink(out)
	res.run("client killed mid-response (nginx): next requests get complete "
	    "responses", killed_mid_response)

	# -- the same with a scripted server that stalls mid-body
	def killed_stalled_response():
		st = _Stall()
		srv = h.ScriptedServer(st.handler)
		try:
			p = h.spawn([h.HPOOL, srv.url("/stall")], stdout=subprocess.PIPE,
			    stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
			    env=dict(os.environ, HPOOL_SOCKET=env.socket))
			# the response has started (head and part of the body
			# sent); hpool waits for the rest when it is killed
			ensure(st.sent.wait(EVENT_TIMEOUT), "stall request never came")
			p.kill()
			p.wait(h.STOP_TIMEOUT)
			p.stdout.close()
			cp = env.hpool(["-s", srv.url("/next")], timeout=30)
			ensure(cp.returncode == 0 and cp.stdout == b"/next",
			    "request after the kill: %s" % h.describe(cp))
			ensure(st.peer_closed.wait(EVENT_TIMEOUT), "hpoold kept the "
			    "half-read upstream connection open %ds after its client "
			    "died" % EVENT_TIMEOUT)
		finally:
			st.release.set()
			st.drain.set()
			srv.stop()
	res.run("client killed mid-response (stalled server): connection closed, "
	    "not pooled", killed_stalled_response)

	# -- a client killed in the middle of sending its body
	def killed_mid_request():
		st = _Stall()
		srv = h.ScriptedServer(st.handler, rcvbuf=65536)
		try:
			# 9 MB: more than the buffers between hpool and a server
			# that reads nothing, with a small receive buffer
			body = env.path("upload.bin")
			h.make_file(body, 9 * 1000 * 1000)
			errpath = env.path("upload.err")
			with open(errpath, "wb") as err:
				p = h.spawn([h.HPOOL, "--data-binary", "@" + body,
				    srv.url("/upload")], stdout=subprocess.DEVNULL,
				    stderr=err, stdin=subprocess.DEVNULL,
				    env=dict(os.environ, HPOOL_SOCKET=env.socket))
			ok = st.upload_head.wait(EVENT_TIMEOUT)
			ensure(ok and p.poll() is None, "upload %s; hpool %s%s" % (
			    "started" if ok else "never started", "running" if
			    p.poll() is None else "exited %d" % p.returncode,
			    h.tail(errpath, 3)))
			p.kill()
			p.wait(h.STOP_TIMEOUT)
			cp = env.hpool(["-s", srv.url("/after-upload")], timeout=30)
			st.drain.set()
			ensure(cp.returncode == 0 and cp.stdout == b"/after-upload",
			    "request after the kill: %s" % h.describe(cp))
			ensure(st.peer_closed.wait(EVENT_TIMEOUT), "hpoold kept the "
			    "half-sent upstream connection open %ds after its client "
			    "died" % EVENT_TIMEOUT)
		finally:
			st.release.set()
			st.drain.set()
			srv.stop()
	res.run("client killed mid-request body: connection closed, next request "
	    "succeeds", killed_mid_request)

	env.final_checks(res)


def _answer_then(how, idle=0.0, closed=None):
	"""Answer one request with keep-alive headers (body = target), then
	after `idle` seconds end the connection (`how`: close or rst)."""
	def handler(conn, server, idx):
		req = h.read_request(conn)
		if req is None:
			return
		server.record(idx, req)
		body = req[1].encode()
		conn.sendall(b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n"
		    b"Keep-Alive: timeout=60\r\nContent-Length: %d\r\n\r\n%s" % (
		    len(body), body))
		if idle:
			server.stopping.wait(idle)
		h.send_and_close(conn, b"", how)
		if closed is not None:
			closed.release()
	return handler


def _answer_with_smuggled(conn, server, idx):
	"""A complete response followed, in the same write, by a second
	response nobody asked for; then keep the connection open."""
	for _ in range(100):
		req = h.read_request(conn)
		if req is None:
			return
		server.record(idx, req)
		body = req[1].encode()
		conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s"
		    b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nEVIL!\n" % (
		    len(body), body))


class _Stall:
	"""/stall: send the head and part of a 10 MB body, then wait.
	/upload: read the head only, read nothing more until drain is set,
	then read until the peer closes.
	Anything else: answer with the target. Records when a stalled
	connection is closed by the peer."""

	def __init__(self):
		self.sent = threading.Event()
		self.upload_head = threading.Event()
		self.peer_closed = threading.Event()
		self.release = threading.Event()
		self.drain = threading.Event()

	def handler(self, conn, server, idx):
		for _ in range(100):
			r = h.read_head(conn)
			if r is None:
				return
			method, target, headers, rest = r
			if target == "/upload":
				server.record(idx, (method, target, headers, rest))
				self.upload_head.set()
				# read nothing more until the test says so: the
				# upload stalls with the client mid-body
				self.drain.wait(60)
				self._wait_close(conn)
				return
			# bodies of other requests are empty here
			server.record(idx, (method, target, headers, rest))
			if target == "/stall":
				conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 10000000"
				    b"\r\n\r\npartial body")
				self.sent.set()
				self._wait_close(conn)
				return
			body = target.encode()
			conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" %
			    (len(body), body))

	def _wait_close(self, conn):
		conn.settimeout(0.1)
		deadline = time.monotonic() + 60
		while time.monotonic() < deadline and not self.release.is_set():
			try:
				if not conn.recv(65536):
					self.peer_closed.set()
					return
			except socket.timeout:
				continue
			except OSError:
				self.peer_closed.set()
				return


if __name__ == "__main__":
	h.main(cases)
