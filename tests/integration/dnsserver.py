"""A small DNS responder on 127.0.0.1 for tests: UDP only, A and AAAA
records from a table the test changes while it runs, with the TTLs it
sets, and a count of the questions asked per (name, type). Never a real
resolver: hpoold is pointed at it with `nameserver = 127.0.0.1:PORT`."""

import socket
import struct
import threading

TYPE_A = 1
TYPE_AAAA = 28
RCODE_NXDOMAIN = 3
RCODE_SERVFAIL = 2


class DnsServer:
	"""records: {name: {"A": [addr, ...], "AAAA": [...], "ttl": N}}.
	A name not in records gets NXDOMAIN; a name with no address of the
	asked type gets an empty answer (NODATA); a name in `silent` gets no
	answer at all, one in `silent_aaaa` none to AAAA (a resolver that
	drops them); one in `servfail` gets SERVFAIL."""

	def __init__(self):
		self.lock = threading.Lock()
		self.records = {}
		self.silent = set()
		self.silent_aaaa = set()	# names whose AAAA gets no answer
		self.servfail = set()
		self.asked = {}		# (name, "A"|"AAAA") -> count
		self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
		self.sock.bind(("127.0.0.1", 0))
		self.sock.settimeout(0.2)
		self.port = self.sock.getsockname()[1]
		self._stop = False
		self.thread = threading.Thread(target=self._serve, daemon=True)
		self.thread.start()

	def set(self, name, a=(), aaaa=(), ttl=60):
		with self.lock:
			self.records[name.lower()] = {"A": list(a),
			    "AAAA": list(aaaa), "ttl": ttl}

	def count(self, name, qtype="A"):
		with self.lock:
			return self.asked.get((name.lower(), qtype), 0)

	def stop(self):
		self._stop = True
		self.thread.join(5)
		self.sock.close()

	def _serve(self):
		while not self._stop:
			try:
				data, peer = self.sock.recvfrom(4096)
			except socket.timeout:
				continue
			except OSError:
				return
			reply = self._answer(data)
			if reply is not None:
				try:
					self.sock.sendto(reply, peer)
				except OSError:
					pass

	def _answer(self, data):
		if len(data) < 12:
			return None
		qid, flags, qd = struct.unpack("!HHH", data[:6])
		if qd != 1 or flags & 0x8000:
			return None
		labels, i = [], 12
		while i < len(data) and data[i] != 0:
			n = data[i]
			labels.append(data[i + 1:i + 1 + n].decode("ascii",
			    "replace"))
			i += 1 + n
		if i + 5 > len(data):
			return None
		question = data[12:i + 5]
		qtype, qclass = struct.unpack("!HH", data[i + 1:i + 5])
		name = ".".join(labels).lower()
		tname = {TYPE_A: "A", TYPE_AAAA: "AAAA"}.get(qtype, str(qtype))
		with self.lock:
			self.asked[(name, tname)] = self.asked.get((name, tname),
			    0) + 1
			rec = self.records.get(name)
			silent = name in self.silent or (tname == "AAAA" and
			    name in self.silent_aaaa)
			servfail = name in self.servfail
		if silent:
			return None
		rcode, answers = 0, []
		if servfail:
			rcode = RCODE_SERVFAIL
		elif rec is None:
			rcode = RCODE_NXDOMAIN
		else:
			fam = socket.AF_INET if qtype == TYPE_A else socket.AF_INET6
			for addr in rec.get(tname, []):
				rdata = socket.inet_pton(fam, addr)
				# name as a pointer to the question (offset 12)
				answers.append(struct.pack("!HHHIH", 0xC00C, qtype,
				    qclass, rec["ttl"], len(rdata)) + rdata)
		head = struct.pack("!HHHHHH", qid, 0x8180 | rcode, 1,
		    len(answers), 0, 0)
		return head + question + b"".join(answers)
