#!/usr/bin/env python3
"""The differential harness: each raw response in diff_cases.json is
replayed by a scripted server to python3's own http.client (in this
process) and to `hpool -i` through hpoold; status, reason, version,
headers (order and duplicates), body and the exception (name and
str()) must be equal.

Usage: test_diff.py [--only NAME[,NAME...]] [--export DIR] [--list]
  --export DIR  write each case as DIR/NAME.raw (the response bytes) and
                DIR/NAME.expect (python's results, one `key value` per
                line, values escaped C-style), for a C test of libhpool,
                and do not run hpool.
"""

import http.client
import json
import os
import sys

import harness as h

CASES = os.path.join(os.path.dirname(os.path.abspath(__file__)),
    "diff_cases.json")
PY_TIMEOUT = 10		# seconds, python side
CLI_TIMEOUT = 10	# seconds, hpool --timeout
RUN_TIMEOUT = 30	# seconds, the whole hpool process


def load_cases(path=CASES):
	with open(path, "r", encoding="utf-8") as f:
		data = json.load(f)
	cases = []
	seen = set()
	for c in data["cases"]:
		if c["name"] in seen:
			raise ValueError("duplicate case %s" % c["name"])
		seen.add(c["name"])
		c = dict(c)
		c.setdefault("method", "GET")
		c.setdefault("after", "close")
		c["raw"] = response_bytes(c["response"])
		cases.append(c)
	return cases


def response_bytes(resp):
	if isinstance(resp, str):
		resp = [resp]
	out = []
	for seg in resp:
		if isinstance(seg, str):
			out.append(seg.encode("latin-1"))
		else:
			out.append(seg["repeat"].encode("latin-1") * int(seg["count"]))
	return b"".join(out)


class Outcome:
	"""What a client saw. error: (name, message) or None; body: bytes,
	or None when unknown (python lost it to a non-IncompleteRead error)."""

	def __init__(self):
		self.head = None	# (version, status, reason, headers)
		self.body = b""
		self.error = None

	def __repr__(self):
		return "Outcome(head=%r, body=%s, error=%r)" % (self.head,
		    short(self.body), self.error)


def short(b, n=120):
	if b is None:
		return "None"
	r = repr(b)
	return r if len(r) <= n else "%s...(%d bytes)" % (r[:n], len(b))


def python_outcome(case, port):
	o = Outcome()
	conn = http.client.HTTPConnection("127.0.0.1", port, timeout=PY_TIMEOUT)
	try:
		conn.request(case["method"], "/")
		resp = conn.getresponse()
		o.head = (resp.version, resp.status, resp.reason,
		    list(resp.getheaders()))
		try:
			o.body = resp.read()
		except http.client.IncompleteRead as e:
			o.body = e.partial
			raise
		except Exception:
			o.body = None
			raise
	except Exception as e:
		o.error = (type(e).__name__, str(e))
	finally:
		conn.close()
	return o


def hpool_outcome(env, case, port):
	url = "http://127.0.0.1:%d/" % port
	flag = "-I" if case["method"] == "HEAD" else "-i"
	cp = env.hpool([flag, "--timeout", str(CLI_TIMEOUT), url],
	    timeout=RUN_TIMEOUT)
	o = Outcome()
	o.error = h.cli_error(cp.stderr)
	if cp.returncode != 0 and o.error is None:
		o.error = ("(no hpool: line)", "exit %d, stderr %r" % (cp.returncode,
		    cp.stderr[-300:]))
	if cp.returncode == 0 and o.error is not None:
		o.error = ("(exit 0 with error)", repr(o.error))
	if cp.stdout:
		try:
			parsed = h.parse_include_output(cp.stdout)
		except ValueError as e:
			parsed = None
			o.head = ("unparsable -i output", str(e), short(cp.stdout))
		if parsed is not None:
			v, s, r, hd, body = parsed
			o.head = (v, s, r, hd)
			o.body = body
		elif o.head is None:
			o.head = ("unparsable -i output", short(cp.stdout))
	return o, cp


def norm_msg(m):
	return m.rstrip(" \r\n")


def compare(case, py, hp):
	"""List of differences, empty when equal."""
	d = []
	if (py.error and py.error[0]) != (hp.error and hp.error[0]):
		d.append("exception: python %r, hpool %r" % (py.error, hp.error))
	elif py.error and norm_msg(py.error[1]) != norm_msg(hp.error[1]):
		d.append("message of %s: python %r, hpool %r" % (py.error[0],
		    py.error[1], hp.error[1]))
	if py.head is None and hp.head is not None:
		d.append("hpool printed a head python never got: %r" % (hp.head,))
	elif py.head is not None and hp.head is None:
		d.append("hpool printed no head; python got %r" % (py.head,))
	elif py.head is not None:
		names = ("version", "status", "reason", "headers")
		if len(hp.head) != 4:
			d.append("hpool head: %r" % (hp.head,))
		else:
			for n, a, b in zip(names, py.head, hp.head):
				if a != b:
					d.append("%s: python %r, hpool %r" % (n, a, b))
		if case["method"] == "HEAD" and hp.body:
			d.append("hpool -I printed a body: %s" % short(hp.body))
		elif py.body is not None and py.body != hp.body:
			d.append("body: python %s, hpool %s" % (short(py.body),
			    short(hp.body)))
	return d


def run_case(env, case):
	srv = h.replay_server(case["raw"], after=case["after"],
	    name=case["name"])
	try:
		py = python_outcome(case, srv.port)
		hp, cp = hpool_outcome(env, case, srv.port)
	finally:
		srv.stop()
	diffs = compare(case, py, hp)
	if diffs:
		return "; ".join(diffs)
	return None


# ---------------------------------------------------------------- export

def esc(b):
	if isinstance(b, str):
		b = b.encode("latin-1", "backslashreplace")
	out = []
	for c in b:
		if c == 0x5c:
			out.append("\\\\")
		elif c == 0x0d:
			out.append("\\r")
		elif c == 0x0a:
			out.append("\\n")
		elif c == 0x09:
			out.append("\\t")
		elif 0x20 <= c < 0x7f:
			out.append(chr(c))
		else:
			out.append("\\x%02x" % c)
	return "".join(out)


def export(cases, outdir):
	"""Python's results for each case, for a C test of libhpool."""
	os.makedirs(outdir, exist_ok=True)
	with open(os.path.join(outdir, "INDEX"), "w") as idx:
		for c in cases:
			srv = h.replay_server(c["raw"], after=c["after"], name=c["name"])
			try:
				py = python_outcome(c, srv.port)
			finally:
				srv.stop()
			with open(os.path.join(outdir, c["name"] + ".raw"), "wb") as f:
				f.write(c["raw"])
			lines = ["name " + c["name"], "method " + c["method"],
			    "after " + c["after"]]
			if py.head is not None:
				v, s, r, hd = py.head
				lines += ["version %d" % v, "status %d" % s,
				    "reason " + esc(r)]
				lines += ["header %s: %s" % (esc(k), esc(val))
				    for k, val in hd]
			if py.body is not None:
				lines.append("body-length %d" % len(py.body))
				lines.append("body " + esc(py.body) if len(py.body) <= 4096
				    else "body-sha256 " + h.sha256(py.body))
			if py.error is not None:
				lines.append("error " + py.error[0])
				lines.append("message " + esc(py.error[1]))
			with open(os.path.join(outdir, c["name"] + ".expect"), "w") as f:
				f.write("\n".join(lines) + "\n")
			idx.write(c["name"] + "\n")


def main():
	args = sys.argv[1:]
	only = None
	if "--list" in args:
		for c in load_cases():
			print("%-32s %-8s %s" % (c["name"], c["group"], c["what"]))
		return 0
	if "--export" in args:
		export(load_cases(), args[args.index("--export") + 1])
		return 0
	if "--only" in args:
		only = set(args[args.index("--only") + 1].split(","))

	def body(res):
		cases = load_cases()
		if only:
			cases = [c for c in cases if c["name"] in only]
		env = h.Env(nginx=False)
		res.after_case = env.revive
		for c in cases:
			res.run("diff %s (%s)" % (c["name"], c["what"]), run_case, env, c)
		env.final_checks(res)
	h.main(body)


if __name__ == "__main__":
	sys.exit(main())
