"""A scriptable HTTP/1.1 origin on raw sockets, for the pool's lifecycle
tests: it can announce `Keep-Alive: timeout=T, max=M` and enforce it as
Apache does (max counted down in each response, the connection closed
after the last one, an idle connection closed after T seconds), close
idle connections after N ms without saying so, accept and never answer,
reset after N bytes, or answer after a delay. It answers each request
with a body naming the request (its X-Req header and the connection's number) and records what
a test asserts on: connections, requests per connection, and "late"
requests, those that arrived on a connection the server had already
given up (after its max, or after its idle timeout). Loopback only;
every wait is bounded."""

import socket
import threading
import time

GRACE = 0.3		# seconds a given-up connection is watched for late bytes


class FaultServer:
	def __init__(self, addr="127.0.0.1", port=0, ka_timeout=None,
	    ka_max=None, announce=True, close_idle_ms=None, silent=False,
	    reset_after=None, delay=0):
		self.ka_timeout = ka_timeout
		self.ka_max = ka_max
		self.announce = announce
		self.close_idle_ms = close_idle_ms
		self.silent = silent
		self.reset_after = reset_after
		self.delay = delay
		self.lock = threading.Lock()
		self.conns = []		# requests served, per connection
		self.late = []		# (conn no, why)
		self.closed_by_peer = []	# conn nos the client closed
		self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
		self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
		self.sock.bind((addr, port))
		self.sock.listen(64)
		self.sock.settimeout(0.2)
		self.port = self.sock.getsockname()[1]
		self._stop = False
		self.thread = threading.Thread(target=self._accept, daemon=True)
		self.thread.start()

	def stop(self):
		self._stop = True
		self.thread.join(5)
		self.sock.close()

	def snapshot(self):
		with self.lock:
			return list(self.conns), list(self.late), list(
			    self.closed_by_peer)

	def _accept(self):
		while not self._stop:
			try:
				conn, _ = self.sock.accept()
			except socket.timeout:
				continue
			except OSError:
				return
			with self.lock:
				self.conns.append(0)
				no = len(self.conns) - 1
			threading.Thread(target=self._serve, args=(conn, no),
			    daemon=True).start()

	def _read_request(self, conn, buf, deadline):
		"""(head bytes, rest) of the next request, or (None, buf) on EOF
		or when the deadline passes with no complete head."""
		while b"\r\n\r\n" not in buf:
			left = deadline - time.monotonic()
			if left <= 0:
				return None, buf
			conn.settimeout(left)
			try:
				data = conn.recv(65536)
			except socket.timeout:
				return None, buf
			except OSError:
				return None, b""
			if not data:
				return None, b""
			buf += data
		head, rest = buf.split(b"\r\n\r\n", 1)
		return head, rest

	def _watch_late(self, conn, no, buf, why):
		"""The server has given this connection up: any request bytes
		that come now (or came already) are a late request."""
		if buf:
			with self.lock:
				self.late.append((no, why))
			return
		conn.settimeout(GRACE)
		try:
			data = conn.recv(65536)
		except OSError:
			data = b""
		if data:
			with self.lock:
				self.late.append((no, why))

	def _serve(self, conn, no):
		buf = b""
		served = 0
		sent = 0
		try:
			while not self._stop:
				idle = self.close_idle_ms / 1000.0 if \
				    self.close_idle_ms is not None else \
				    self.ka_timeout if self.ka_timeout else 30.0
				head, buf = self._read_request(conn, buf,
				    time.monotonic() + idle)
				if head is None:
					if buf == b"" and self._peer_closed(conn):
						with self.lock:
							self.closed_by_peer.append(no)
						return
					self._watch_late(conn, no, buf,
					    "after the idle timeout")
					return
				if self.silent:
					time.sleep(30)
					return
				req_id = b"-"
				length = 0
				for line in head.split(b"\r\n")[1:]:
					k, _, v = line.partition(b":")
					if k.strip().lower() == b"x-req":
						req_id = v.strip()
					elif k.strip().lower() == b"content-length":
						length = int(v.strip() or 0)
				while len(buf) < length:
					conn.settimeout(5)
					data = conn.recv(65536)
					if not data:
						return
					buf += data
				buf = buf[length:]
				served += 1
				with self.lock:
					self.conns[no] = served
				body = b"req=%s conn=%d n=%d\n" % (req_id, no, served)
				hdrs = [b"HTTP/1.1 200 OK",
				    b"Content-Length: %d" % len(body),
				    b"Content-Type: text/plain"]
				if self.announce and (self.ka_timeout or
				    self.ka_max):
					parts = []
					if self.ka_timeout:
						parts.append(b"timeout=%d" %
						    self.ka_timeout)
					if self.ka_max:
						parts.append(b"max=%d" % (
						    self.ka_max - served))
					hdrs.append(b"Keep-Alive: " +
					    b", ".join(parts))
				out = b"\r\n".join(hdrs) + b"\r\n\r\n" + body
				if self.delay:
					time.sleep(min(self.delay, 30))
				if self.reset_after is not None and \
				    sent + len(out) > self.reset_after:
					conn.sendall(out[:max(0, self.reset_after -
					    sent)])
					conn.setsockopt(socket.SOL_SOCKET,
					    socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
					return
				conn.sendall(out)
				sent += len(out)
				if self.ka_max and served >= self.ka_max:
					self._watch_late(conn, no, buf,
					    "after max=%d" % self.ka_max)
					return
		except OSError:
			return
		finally:
			try:
				conn.close()
			except OSError:
				pass

	@staticmethod
	def _peer_closed(conn):
		try:
			conn.settimeout(0)
			return conn.recv(1, socket.MSG_PEEK) == b""
		except (BlockingIOError, socket.timeout):
			return False
		except OSError:
			return True
