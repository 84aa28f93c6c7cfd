#!/usr/bin/env python3
"""The differential harness for the C API: each raw response in
diff_cases.json is replayed by a scripted server to python3's own
http.client (in this process) and to tests/diff_client, a C program on
libhpool talking to a real hpoold. Both run the same sequences of calls
(the DRIVES below: read(), read(amt), read1, readinto, readline, iteration,
getheader with defaults, msg.get/get_all, length, isclosed, the state
machine with a second request before the first response is read, and
set_debuglevel output) and print one line per outcome; the lines must be
equal.

Where hpool cannot give python's lines, docs/compat.md says why and the
case says so in its "api_differs" key: {"why": text, "hpool": {drive:
[lines]}}. The harness then asserts the documented hpool lines instead
of skipping the case: those in the data, else python's lines with the
debug-output rules of documented() applied.

Usage: test_diff_api.py [--only NAME[,NAME...]] [--show NAME:DRIVE]
"""

import contextlib
import http.client
import io
import os
import subprocess
import sys

import harness as h
import test_diff

PY_TIMEOUT = 10
RUN_TIMEOUT = 60
SHOW_MAX = 256
LOOP_MAX = 1 << 20

# Sequences of calls, each run on a new connection for every case.
DRIVES = {
	"read": ["request", "getresponse", "chunked", "willclose", "length",
	    "read", "isclosed", "length", "read"],
	"amt": ["request", "getresponse", "readloop:3", "isclosed",
	    "length"],
	"read1": ["request", "getresponse", "read1all:5", "isclosed",
	    "length", "read1all:5"],
	"lines": ["request", "getresponse", "getheader:Content-Length",
	    "getheader:X-Missing:dflt", "getheaderv:X-Missing:a,b",
	    "getheaderv:Set-Cookie:a,b", "getall:Set-Cookie",
	    "msgget:content-type", "getall:X-Missing", "lines", "length"],
	"state": ["putheader:X:1", "endheaders", "debug", "request",
	    "request", "getresponse", "getresponse", "REQUEST2",
	    "readintoloop:7", "readlineloop:5", "isclosed"],
}


def fnv(b):
	x = 14695981039346656037
	for c in b:
		x ^= c
		x = (x * 1099511628211) & 0xffffffffffffffff
	return "%016x" % x


def put_bytes(out, what, b):
	if len(b) <= SHOW_MAX:
		out.append("%s: b%s" % (what, test_diff.esc(b)))
	else:
		out.append("%s: %d bytes fnv %s" % (what, len(b), fnv(b)))


def put_err(out, what, e):
	out.append("%s: ERR %s: %s" % (what, type(e).__name__,
	    test_diff.esc(str(e))))
	if isinstance(e, http.client.IncompleteRead):
		out.append("%s: partial %d expected %s" % (what, len(e.partial),
		    "None" if e.expected is None else e.expected))


def opt(v):
	return "None" if v is None else test_diff.esc(v)


class PyRunner:
	"""Runs a drive with http.client; out collects the lines, with
	what http.client prints (debug output) in between, in order."""

	def __init__(self, port, method, out):
		self.conn = http.client.HTTPConnection("127.0.0.1", port,
		    timeout=PY_TIMEOUT)
		self.method = method
		self.resp = None
		self.out = out

	def loop(self, op, fn):
		for _ in range(LOOP_MAX):
			try:
				b = fn()
			except Exception as e:
				put_err(self.out, op, e)
				return
			put_bytes(self.out, op, b)
			if not b:
				return

	def run(self, op):
		out = self.out
		name, _, arg = op.partition(":")
		c = self.conn
		if name == "debug":
			c.set_debuglevel(1)
			return
		try:
			if name == "request":
				c.request(self.method, "/")
				out.append("request: ok")
			elif name == "getresponse":
				r = c.getresponse()
				out.append("getresponse: ok")
				out.append("version %d" % r.version)
				out.append("status %d" % r.status)
				out.append("reason " + test_diff.esc(r.reason))
				for k, v in r.getheaders():
					out.append("header %s: %s" % (test_diff.esc(k),
					    test_diff.esc(v)))
				self.resp = r
			elif name == "putrequest":
				c.putrequest(self.method, "/")
				out.append("putrequest: ok")
			elif name == "putheader":
				k, _, v = arg.partition(":")
				c.putheader(k, v)
				out.append("putheader: ok")
			elif name == "putheaderint":
				k, _, v = arg.partition(":")
				c.putheader(k, int(v))
				out.append("putheaderint: ok")
			elif name == "endheaders":
				c.endheaders()
				out.append("endheaders: ok")
			elif name == "connclose":
				c.close()
				out.append("connclose: ok")
			elif self.resp is None:
				out.append("%s: no response" % name)
			else:
				self.run_resp(op, name, arg)
		except Exception as e:
			put_err(out, name, e)

	def run_resp(self, op, name, arg):
		out = self.out
		r = self.resp
		if name == "read":
			try:
				put_bytes(out, name, r.read())
			except Exception as e:
				put_err(out, name, e)
		elif name == "readloop":
			self.loop(op, lambda: r.read(int(arg)))
		elif name == "readintoloop":
			def into():
				b = bytearray(int(arg))
				n = r.readinto(b)
				return bytes(b[:n])
			self.loop(op, into)
		elif name == "readlineloop":
			self.loop(op, lambda: r.readline(int(arg)))
		elif name == "read1all":
			# the bytes joined: how many each read1() gives depends
			# on buffering, on either side
			got = b""
			for _ in range(LOOP_MAX):
				try:
					b = r.read1(int(arg))
				except Exception as e:
					put_bytes(out, op, got)
					put_err(out, op, e)
					return
				if not b or len(b) > int(arg):
					if b:
						out.append("%s: read1 gave %d bytes" % (op,
						    len(b)))
					put_bytes(out, op, got)
					return
				got += b
		elif name == "lines":
			it = iter(r)
			for _ in range(LOOP_MAX):
				try:
					line = next(it)
				except StopIteration:
					out.append("%s: StopIteration" % op)
					return
				except Exception as e:
					put_err(out, op, e)
					return
				put_bytes(out, op, line)
		elif name == "getheader":
			k, sep, d = arg.partition(":")
			out.append("%s= %s" % (op, opt(r.getheader(k, d if sep else
			    None))))
		elif name == "getheaderv":
			k, _, d = arg.partition(":")
			out.append("%s= %s" % (op, opt(r.getheader(k, d.split(",")))))
		elif name == "msgget":
			out.append("%s= %s" % (op, opt(r.msg.get(arg))))
		elif name == "getall":
			vals = r.msg.get_all(arg)
			if vals is None:
				out.append("%s= None" % op)
			for v in vals or []:
				out.append("%s= %s" % (op, test_diff.esc(v)))
		elif name == "isclosed":
			out.append("isclosed: %d" % r.isclosed())
		elif name == "chunked":
			out.append("chunked: %d" % r.chunked)
		elif name == "willclose":
			out.append("willclose: %d" % r.will_close)
		elif name == "length":
			out.append("length: %s" % ("None" if r.length is None
			    else r.length))
		elif name == "close":
			r.close()
			out.append("close: ok")
		else:
			raise ValueError("unknown op %s" % op)


def drive_ops(case, drive):
	"""The drive's calls for this case. REQUEST2 (a second request while
	the first response is unread, then getresponse: ResponseNotReady)
	is left out where the server reset the connection: python's send
	fails there while hpoold's session takes the request."""
	ops = []
	for op in DRIVES[drive]:
		if op == "REQUEST2":
			if case["after"] != "rst":
				ops += ["request", "getresponse"]
			continue
		ops.append(op)
	return ops


class Capture(io.StringIO):
	"""stdout while python runs: print()ed debug lines join the lines."""

	def __init__(self, out):
		super().__init__()
		self.out = out
		self.part = ""

	def write(self, s):
		self.part += s
		while "\n" in self.part:
			line, self.part = self.part.split("\n", 1)
			self.out.append(line)
		return len(s)


def python_lines(case, port, ops):
	out = []
	run = PyRunner(port, case["method"], out)
	cap = Capture(out)
	try:
		with contextlib.redirect_stdout(cap):
			for op in ops:
				run.run(op)
	finally:
		run.conn.close()
	if cap.part:
		out.append(cap.part)
	return out


def c_lines(env, case, port, ops):
	e = dict(os.environ)
	e["HPOOL_SOCKET"] = env.socket
	cp = h.run_capture([DIFF_CLIENT, str(port), case["method"]] + ops,
	    timeout=RUN_TIMEOUT, env=e)
	if cp.returncode != 0:
		raise AssertionError("diff_client: %s" % h.describe(cp))
	# bytes >= 0x80 in debug output are UTF-8, as python prints them
	return cp.stdout.decode("utf-8", "backslashreplace").split("\n")[:-1]


def documented(case, lines):
	"""Python's lines turned into what hpool documents it prints
	instead (docs/compat.md, "set_debuglevel output"): the `reply:` line
	is rebuilt from the parsed status line, and the `headers:` line of a
	skipped 100 Continue is not printed (hpoold skips those heads)."""
	out = []
	for i, l in enumerate(lines):
		if l.startswith("headers: ["):
			continue
		if l.startswith("reply: ") and i + 1 < len(lines) and \
		    lines[i + 1].startswith("headers: ["):
			continue	# a 100 Continue hpoold skipped
		if l.startswith("reply: "):
			# the parsed parts follow getresponse: ok
			j = lines.index("getresponse: ok", i) if \
			    "getresponse: ok" in lines[i:] else None
			if j is None:
				continue	# an exception: no head, no line
			v = int(lines[j + 1].split()[1])
			s = int(lines[j + 2].split()[1])
			reason = lines[j + 3][len("reason "):]
			raw = "HTTP/1.%d %d%s\r\n" % (0 if v == 10 else 1, s,
			    " " + unesc(reason) if reason else "")
			out.append("reply: " + repr(raw))
			continue
		out.append(l)
	return out


def unesc(s):
	return s.encode("latin-1").decode("unicode_escape")


def run_drive(env, case, drive):
	ops = drive_ops(case, drive)
	srv = h.replay_server(case["raw"], after=case["after"],
	    name=case["name"])
	try:
		py = python_lines(case, srv.port, ops)
		hp = c_lines(env, case, srv.port, ops)
	finally:
		srv.stop()
	# The port differs per server run: only the Host line shows it.
	py = [l.replace(str(srv.port), "PORT") for l in py]
	hp = [l.replace(str(srv.port), "PORT") for l in hp]
	want = documented(case, py)
	fixed = case.get("api_differs", {}).get("hpool", {}).get(drive)
	if fixed is not None:
		# a documented difference in the results themselves: hpool's
		# lines are in the data; python must still differ from them
		if fixed == py:
			return "python now prints the documented hpool lines: " \
			    "drop api_differs.hpool.%s" % drive
		want = fixed
	elif want != py and "api_differs" not in case:
		return "undocumented difference: python prints %r, hpool " \
		    "documents %r; mark the case api_differs" % (
		    [l for l in py if l not in want], [l for l in want
		    if l not in py])
	if hp != want:
		for i, (a, b) in enumerate(zip(want, hp)):
			if a != b:
				return "line %d: python %r, hpool %r" % (i + 1, a, b)
		return "python %d lines, hpool %d; tail python %r hpool %r" % (
		    len(want), len(hp), want[len(hp):][:3], hp[len(want):][:3])
	return None


DIFF_CLIENT = os.path.join(os.environ.get("TOP_BUILDDIR", "."), "tests",
    "diff_client")


def main():
	args = sys.argv[1:]
	only = None
	if "--only" in args:
		only = set(args[args.index("--only") + 1].split(","))
	if "--record" in args:
		# hpool's lines for NAME:DRIVE as JSON, for api_differs.hpool
		import json
		name, drive = args[args.index("--record") + 1].split(":")
		case = [c for c in test_diff.load_cases() if c["name"] == name][0]
		env = h.Env(nginx=False)
		srv = h.replay_server(case["raw"], after=case["after"])
		try:
			lines = c_lines(env, case, srv.port, drive_ops(case, drive))
		finally:
			srv.stop()
		print(json.dumps([l.replace(str(srv.port), "PORT")
		    for l in lines]))
		h.cleanup_all()
		return 0
	if "--show" in args:
		name, drive = args[args.index("--show") + 1].split(":")
		case = [c for c in test_diff.load_cases() if c["name"] == name][0]
		srv = h.replay_server(case["raw"], after=case["after"])
		try:
			for l in python_lines(case, srv.port, drive_ops(case, drive)):
				print(l)
		finally:
			srv.stop()
		return 0

	def body(res):
		if not os.access(DIFF_CLIENT, os.X_OK):
			raise h.SetupError("tests/diff_client not built")
		cases = test_diff.load_cases()
		if only:
			cases = [c for c in cases if c["name"] in only]
		env = h.Env(nginx=False)
		res.after_case = env.revive
		for c in cases:
			for d in DRIVES:
				note = " [documented difference]" if "api_differs" in c \
				    else ""
				res.run("api %s %s (%s)%s" % (c["name"], d, c["what"],
				    note), run_drive, env, c, d)
		env.final_checks(res)
	h.main(body)


if __name__ == "__main__":
	sys.exit(main())
