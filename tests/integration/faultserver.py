"""A scriptable HTTP/1.1 origin on raw sockets, for the pool's lifecycle
tests. It can announce `Keep-Alive: timeout=T, max=M` and enforce it as
Apache does (max counted down in each response, the connection closed
after the last one, an idle connection closed after T seconds); close
idle connections after N ms without saying so; accept and never answer;
reset after N bytes; answer after a delay; refuse every connection; or,
under `chaos`, draw one of these per connection at random. It listens on
any loopback address it is given. It answers each request with a body
naming the request (its X-Req header and the connection's number), and
records what a test asserts on: connections, requests per connection,
and "late" requests, those that arrived on a connection the server had
already given up (after its max, or after its idle timeout). Loopback
only; every wait is bounded."""

import random
import socket
import threading
import time
import types

GRACE = 0.3		# seconds a given-up connection is watched for late bytes


class FaultServer:
	def __init__(self, addr="127.0.0.1", port=0, ka_timeout=None,
	    ka_max=None, announce=True, close_idle_ms=None, silent=False,
	    reset_after=None, delay=0, chaos=None, refuse=False):
		self.ka_timeout = ka_timeout
		self.ka_max = ka_max
		self.announce = announce
		self.close_idle_ms = close_idle_ms
		self.silent = silent
		self.reset_after = reset_after
		self.delay = delay
		# chaos: a seed; each connection then behaves as drawn
		self.rng = random.Random(chaos) if chaos is not None else None
		self.open = 0		# connections open now
		self.lock = threading.Lock()
		self.conns = []		# requests served, per connection
		self.late = []		# (conn no, why)
		self.closed_by_peer = []	# conn nos the client closed
		self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
		self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
		self.sock.bind((addr, port))
		self.port = self.sock.getsockname()[1]
		self._stop = False
		self.thread = None
		if refuse:	# bound, never listening: connects are refused
			return
		self.sock.listen(64)
		self.sock.settimeout(0.2)
		self.thread = threading.Thread(target=self._accept, daemon=True)
		self.thread.start()

	def stop(self):
		self._stop = True
		if self.thread is not None:
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

	def _settings(self, no):
		"""This connection's behaviour: the server's, or under chaos
		one drawn at random (from the seeded generator)."""
		k = types.SimpleNamespace(ka_timeout=self.ka_timeout,
		    ka_max=self.ka_max, announce=self.announce,
		    close_idle_ms=self.close_idle_ms, silent_at=1 if self.silent
		    else None, reset_after=self.reset_after, delay=self.delay,
		    close=False, drop_after=None)
		if self.rng is None:
			return k
		with self.lock:
			r = self.rng.random()
			n = self.rng.randint(1, 6)
			ms = self.rng.randint(50, 1500)
			nbytes = self.rng.randint(0, 200)
			d = self.rng.random() * 0.3
			drop = self.rng.randint(1, 12)
		if r < 0.45:			# Keep-Alive announced, enforced
			k.ka_timeout, k.ka_max = 2, n
		elif r < 0.60:			# closes idle ones unannounced
			k.close_idle_ms = ms
		elif r < 0.70:			# resets mid-stream
			k.reset_after = nbytes + 80 * (n - 1)
		elif r < 0.80:			# slow
			k.delay = d
		elif r < 0.85:			# never answers request n
			k.silent_at = n
		else:				# Connection: close each time
			k.close = True
		if r >= 0.45:	# and the server gives up unannounced
			k.drop_after = drop
		return k

	def _serve(self, conn, no):
		buf = b""
		served = 0
		sent = 0
		k = self._settings(no)
		with self.lock:
			self.open += 1
		try:
			while not self._stop:
				idle = k.close_idle_ms / 1000.0 if \
				    k.close_idle_ms is not None else \
				    k.ka_timeout if k.ka_timeout else 30.0
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
				if k.silent_at is not None and \
				    served + 1 >= k.silent_at:
					end = time.monotonic() + 30
					while not self._stop and \
					    time.monotonic() < end:
						time.sleep(0.1)
						if self._peer_closed(conn):
							with self.lock:
								self.closed_by_peer.append(no)
							return
					return
				req_id = b"-"
				length = 0
				for line in head.split(b"\r\n")[1:]:
					name, _, v = line.partition(b":")
					if name.strip().lower() == b"x-req":
						req_id = v.strip()
					elif name.strip().lower() == \
					    b"content-length":
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
				if k.announce and (k.ka_timeout or k.ka_max):
					parts = []
					if k.ka_timeout:
						parts.append(b"timeout=%d" %
						    k.ka_timeout)
					if k.ka_max:
						parts.append(b"max=%d" % (
						    k.ka_max - served))
					hdrs.append(b"Keep-Alive: " +
					    b", ".join(parts))
				if k.close:
					hdrs.append(b"Connection: close")
				out = b"\r\n".join(hdrs) + b"\r\n\r\n" + body
				if k.delay:
					time.sleep(min(k.delay, 30))
				if k.reset_after is not None and \
				    sent + len(out) > k.reset_after:
					conn.sendall(out[:max(0, k.reset_after -
					    sent)])
					conn.setsockopt(socket.SOL_SOCKET,
					    socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
					return
				conn.sendall(out)
				sent += len(out)
				if k.close or (k.drop_after and
				    served >= k.drop_after):
					return
				if k.ka_max and served >= k.ka_max:
					self._watch_late(conn, no, buf,
					    "after max=%d" % k.ka_max)
					return
		except OSError:
			return
		finally:
			with self.lock:
				self.open -= 1
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
