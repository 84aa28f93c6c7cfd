#!/usr/bin/env python3
"""Soak: 32 concurrent clients for SOAK_SECONDS (60 by default; bounded)
against the fault server in chaos mode (each connection drawn at random:
Keep-Alive timeout and max enforced, idle closes unannounced, resets
mid-response, slow answers, no answer at all, Connection: close). Each
request carries its own id and each body names the id it answers: no
caller may ever get another's answer. At the end, hpoold holds no
connection the server does not (none leaked), the daemon still serves,
and its worker's memory stayed flat."""

import os
import random
import threading
import time

import harness as h
from faultserver import FaultServer

SOAK_SECONDS = float(os.environ.get("HPOOL_SOAK_SECONDS", "60"))
CLIENTS = 32
WAIT = 15


def rss_kib(pid):
	try:
		with open("/proc/%d/status" % pid) as f:
			for line in f:
				if line.startswith("VmRSS:"):
					return int(line.split()[1])
	except OSError:
		pass
	return None


def cases(res):
	seed = int(os.environ.get("HPOOL_SOAK_SEED", str(int(time.time()))))
	print("# chaos seed %d (HPOOL_SOAK_SEED to repeat)" % seed)
	env = h.Env(nginx=False, daemon=False)
	chaos = FaultServer(chaos=seed)
	calm = FaultServer()
	for s in (chaos, calm):
		h._cleanups.append(s.stop)
	# ASan keeps freed memory in quarantine: keep it small, so that the
	# resident size says what the daemon holds
	os.environ["ASAN_OPTIONS"] = (os.environ.get("ASAN_OPTIONS", "") +
	    ":quarantine_size_mb=4").lstrip(":")
	p, sock, log, _ = h.start_hpoold(env, "idle_timeout = 2\n", "soak")
	workers = h.wait_workers(p.pid, 1)
	e = {"HPOOL_SOCKET": sock}
	lock = threading.Lock()
	tally = {"ok": 0, "failed": 0, "crossed": [], "bad_exit": []}
	kinds = {}
	end = time.monotonic() + SOAK_SECONDS
	rss = []

	def client(n):
		rng = random.Random(seed * 100 + n)
		i = 0
		while time.monotonic() < end:
			rid = "c%d-%d-%d" % (n, i, rng.randrange(1 << 30))
			i += 1
			cp = env.hpool(["-sS", "--timeout", "2", "-H",
			    "X-Req: " + rid, "http://127.0.0.1:%d/" % chaos.port],
			    env=e, timeout=60)
			with lock:
				if cp.returncode == 0:
					if cp.stdout.startswith(("req=%s " % rid)
					    .encode()):
						tally["ok"] += 1
					else:
						tally["crossed"].append((rid,
						    cp.stdout[:80]))
				elif cp.returncode >= 128 or cp.returncode < 0 \
				    or h.cli_error(cp.stderr) is None:
					tally["bad_exit"].append(h.describe(cp))
				else:
					tally["failed"] += 1
					name = h.cli_error(cp.stderr)[0]
					kinds[name] = kinds.get(name, 0) + 1

	threads = [threading.Thread(target=client, args=(n,))
	    for n in range(CLIENTS)]
	for t in threads:
		t.start()
	while time.monotonic() < end:
		time.sleep(min(2, max(0.1, end - time.monotonic())))
		rss.append(rss_kib(workers[0]))
	for t in threads:
		t.join(120)
	print("# %d answered, %d failed as the faults made them (%s), %d "
	    "connections" % (tally["ok"], tally["failed"], ", ".join(
	    "%s %d" % kv for kv in sorted(kinds.items())),
	    len(chaos.snapshot()[0])))
	res.check("no caller got another's answer", not tally["crossed"],
	    tally["crossed"][:3])
	res.check("every failure is a reported error (no crash, no silent "
	    "exit)", not tally["bad_exit"], tally["bad_exit"][:3])
	res.check("most requests were answered", tally["ok"] >
	    tally["failed"], tally)
	# No leak: once idle_timeout (2 s) has passed, hpoold holds none of
	# the chaos server's connections, and the server has none open.
	try:
		h.wait_until(lambda: h.established_to(workers, chaos.port) == 0 and
		    chaos.open == 0, WAIT, "connections closed on both sides")
	except h.SetupError:
		pass
	res.check("no leaked connection: hpoold holds %d, the server %d" %
	    (h.established_to(workers, chaos.port), chaos.open),
	    h.established_to(workers, chaos.port) == 0 and chaos.open == 0)
	cp = env.hpool(["-sS", "-H", "X-Req: last",
	    "http://127.0.0.1:%d/" % calm.port], env=e, timeout=30)
	res.check("the daemon still serves", cp.returncode == 0 and
	    cp.stdout.startswith(b"req=last "), h.describe(cp))
	# Flat memory: the last third against the first (after warm-up).
	vals = [v for v in rss if v]
	if len(vals) >= 6:
		third = len(vals) // 3
		early = max(vals[third:2 * third])
		late = max(vals[2 * third:])
		res.check("worker memory flat over the run (%d KiB then %d "
		    "KiB)" % (early, late), late <= early * 1.15 + 2048,
		    vals)
	else:
		res.check("worker memory sampled", False, vals)
	h.stop_hpoold(res, p, log, "soak")


if __name__ == "__main__":
	h.main(cases)
