"""hpool on a terminal (a pseudo-terminal from python3's pty module): a
server's text never reaches it raw (control characters in a status line,
in headers under -i and -v, in an error message, are escaped), a binary
body gets curl's warning instead unless -o - asks for it, and -# draws
its progress bar."""

import os
import pty
import re
import select
import subprocess
import time

import harness
from harness import Env, ScriptedServer, read_request, send_and_close

BINARY = bytes(range(256)) * 64
EVIL_HEAD = (b"HTTP/1.1 200 OK\x1b[2J\r\nX-Evil: \x1b]0;pwned\x07red\r\n"
    b"Content-Length: 6\r\n\r\nplain\n")


def on_tty(env, args, timeout=30, prog=None):
	"""Run hpool (or prog) with stdout and stderr on one pseudo-terminal;
	returns (exit code, all it wrote there)."""
	master, slave = pty.openpty()
	e = dict(os.environ)
	for k in ("http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy",
	    "ALL_PROXY", "no_proxy", "NO_PROXY"):
		e.pop(k, None)
	e["HPOOL_SOCKET"] = env.socket
	p = harness.spawn([prog or harness.HPOOL] + args, stdin=subprocess.DEVNULL,
	    stdout=slave, stderr=slave, env=e, cwd=env.tmp)
	os.close(slave)
	out = b""
	deadline = time.monotonic() + timeout
	try:
		while time.monotonic() < deadline:
			r, _, _ = select.select([master], [], [], 0.2)
			if r:
				try:
					chunk = os.read(master, 65536)
				except OSError:	# EIO: the last writer closed
					break
				if not chunk:
					break
				out += chunk
			elif p.poll() is not None:
				break
		code = p.wait(timeout=max(1, deadline - time.monotonic()))
	finally:
		os.close(master)
	return code, out


def meter_rows(out):
	"""(heading lines, the last row's columns but the two speeds) of a
	progress meter on a terminal."""
	lines = out.replace(b"\r\n", b"\n").split(b"\n")
	head = [l for l in lines if b"% Total" in l or b"Dload  Upload" in l]
	rows = [r for l in lines for r in l.split(b"\r") if re.match(
	    rb"\s*\d+\s+\S+\s+\d+\s+\S+\s+\d+\s", r)]
	if not rows:
		return head, None
	cols = rows[-1].split()
	return head, cols[:6] + cols[7:11]


def meter_like_curl(res, env):
	"""-o FILE with stderr on a terminal: curl's meter, its headings to
	the letter and its last row alike but for the speeds."""
	for name, size in (("text.txt", 6), ("big.bin", 400000)):
		got = {}
		for prog in ("curl", harness.HPOOL):
			path = env.path("meter-%s-%s" % (os.path.basename(prog),
			    name))
			code, out = on_tty(env, ["-o", path, env.url("/files/" +
			    name)], prog=prog)
			got[prog] = (code, meter_rows(out), os.path.getsize(path)
			    if os.path.exists(path) else -1, out)
		c, h = got["curl"], got[harness.HPOOL]
		res.check("progress meter on a terminal as curl's (%d bytes)" %
		    size, c[:3] == h[:3] and c[1][1] is not None and h[2] == size
		    and len(c[1][0]) == 2, "curl %r\nhpool %r" % (c, h))


def body(res):
	env = Env(files={"bin.dat": BINARY, "text.txt": b"hello\n",
	    "big.bin": 400000})
	u = env.url

	def evil(conn, server, idx):
		req = read_request(conn)
		if req is None:
			return
		server.record(idx, req)
		target = req[1] if len(req) > 1 else "/"
		if "garbage" in str(target):
			send_and_close(conn, b"\x1b[31mGARBAGE\x07\r\n\r\n")
		else:
			send_and_close(conn, EVIL_HEAD)
	srv = ScriptedServer(evil, "evil")

	code, out = on_tty(env, [u("/files/bin.dat")])
	res.check("binary body to a terminal: curl's warning, exit 23",
	    code == 23 and b"Warning: Binary output can mess up your terminal."
	    in out and b"\x00" not in out and b"--output -" in out,
	    "exit %s, %r" % (code, out[:400]))
	code, out = on_tty(env, ["-o", "-", u("/files/bin.dat")])
	res.check("-o - sends the binary body to the terminal anyway",
	    code == 0 and b"\x00" in out and b"Warning" not in out,
	    "exit %s, %d bytes" % (code, len(out)))
	code, out = on_tty(env, [u("/files/text.txt")])
	res.check("a text body reaches the terminal as it is",
	    code == 0 and out.replace(b"\r\n", b"\n") == b"hello\n",
	    "exit %s, %r" % (code, out))

	code, out = on_tty(env, ["-i", srv.url("/")])
	res.check("-i: control characters of the status line and headers "
	    "escaped", code == 0 and b"\x1b" not in out and b"\x07" not in out
	    and b"OK\\x1b[2J" in out and b"X-Evil: \\x1b]0;pwned\\x07red" in
	    out, "exit %s, %r" % (code, out))
	code, out = on_tty(env, ["-v", "-o", env.path("v.out"), srv.url("/")])
	res.check("-v: the heads on a terminal escaped", code == 0 and
	    b"\x1b" not in out and b"< X-Evil: \\x1b]0;pwned\\x07red" in out,
	    "exit %s, %r" % (code, out))
	code, out = on_tty(env, ["-s", "-S", srv.url("/garbage")])
	res.check("an error message quoting the server escaped on a terminal",
	    code == 8 and b"\x1b" not in out and b"\\x1b[31mGARBAGE\\x07" in out
	    and b"BadStatusLine" in out, "exit %s, %r" % (code, out))
	# the same error into a pipe keeps python's bytes (scripts parse it)
	cp = env.hpool(["-s", "-S", srv.url("/garbage")])
	res.check("...into a pipe the message is python's, unescaped",
	    cp.returncode == 8 and b"\x1b[31mGARBAGE" in cp.stderr,
	    harness.describe(cp))

	code, out = on_tty(env, ["-#", "-o", env.path("big.out"),
	    u("/files/big.bin")])
	res.check("-#: a progress bar that ends at 100%", code == 0 and
	    b"#" * 20 in out and b"100.0%" in out and os.path.getsize(
	    env.path("big.out")) == 400000, "exit %s, %r" % (code, out[-300:]))
	meter_like_curl(res, env)
	code, out = on_tty(env, ["-s", "-#", "-o", env.path("big2.out"),
	    u("/files/big.bin")])
	res.check("-s hides the bar", code == 0 and out == b"",
	    "exit %s, %r" % (code, out[-300:]))


if __name__ == "__main__":
	harness.main(body)
