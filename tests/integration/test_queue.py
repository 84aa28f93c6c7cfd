#!/usr/bin/env python3
"""Waiting for a connection: at max_per_host a request waits in a bounded
queue (max_queue); the wait counts against the caller's timeout (a
caller with a 0.5 s timeout gets TimeoutError after about 0.5 s, not
when the busy connection frees up), and a full queue is refused at once;
each is told apart, the destination and the limit named."""

import subprocess
import threading
import time

import harness as h
from faultserver import FaultServer

WAIT = 10


def cases(res):
	env = h.Env(nginx=False, daemon=False)
	slow = FaultServer(delay=3)
	h._cleanups.append(slow.stop)
	p, sock, log, _ = h.start_hpoold(env, "log_level = debug\n"
	    "max_per_host = 1\nmax_queue = 1\n", "queue")
	url = "http://127.0.0.1:%d/" % slow.port
	e = {"HPOOL_SOCKET": sock}
	outs = {}

	def bg(name, args):
		def run():
			outs[name] = env.hpool(args, env=e, timeout=60)
		t = threading.Thread(target=run)
		t.start()
		return t

	def log_text():
		with open(log, errors="replace") as f:
			return f.read()

	# A holds the only connection for 3 s.
	ta = bg("a", ["-sS", "-H", "X-Req: a", url])
	h.wait_until(lambda: slow.snapshot()[0] == [1], WAIT,
	    "A's request at the server")
	# B waits with a 0.5 s timeout: it ends at its own timeout.
	t0 = time.monotonic()
	b = env.hpool(["-sS", "--timeout", "0.5", url], env=e, timeout=60)
	waited = time.monotonic() - t0
	err = h.cli_error(b.stderr)
	res.check("a waiting request ends at the caller's timeout: "
	    "TimeoutError: timed out", b.returncode != 0 and err is not None
	    and err[0] == "TimeoutError" and err[1].strip() == "timed out",
	    h.describe(b))
	res.check("... after about 0.5 s, not when A's connection frees "
	    "(3 s)", waited < 2.5, waited)
	res.check("... and the log names the destination and max_per_host",
	    "waiting for a connection to http://127.0.0.1:%d (max_per_host 1"
	    % slow.port in log_text(), h.tail(log))
	# C waits with no timeout of its own; D finds the queue full.
	tc = bg("c", ["-sS", "-H", "X-Req: c", url])
	h.wait_until(lambda: log_text().count("-> WAITING") >= 3, WAIT,
	    "C waiting")
	d = env.hpool(["-sS", url], env=e, timeout=60)
	err = h.cli_error(d.stderr)
	res.check("a full queue is refused at once, naming the destination "
	    "and max_queue", d.returncode != 0 and err is not None and
	    ("to http://127.0.0.1:%d (max_queue 1 reached" % slow.port) in
	    err[1], h.describe(d))
	ta.join(60)
	tc.join(60)
	res.check("A and C are answered on the one connection",
	    outs["a"].returncode == 0 and outs["c"].returncode == 0 and
	    slow.snapshot()[0] == [2], ({k: h.describe(v) for k, v in
	    outs.items()}, slow.snapshot()))
	h.stop_hpoold(res, p, log, "queue")


if __name__ == "__main__":
	h.main(cases)
