#!/usr/bin/env python3
"""hpoold with workers = 2 (hpoold.conf(5)) against a real nginx: the
daemon runs two event-loop threads on one socket; concurrent sessions
spread over both and every body arrives whole; sequential callers still
share pooled connections (at most one per worker); SIGHUP reloads every
worker and leaves the worker count alone; SIGTERM drains both and logs
what each served; out-of-range values are refused with the setting and
line named."""

import hashlib
import os
import signal
import subprocess
import threading
import time

import harness as h
import protoclient as pc

WORKERS = 2
SESSIONS = 64		# concurrent sessions in the spread check
PER_SESSION = 10	# requests on each
SEQUENTIAL = 20
FILE_SIZE = 100000


def get(sess, url):
	sess.send(pc.req_head("GET", url, [("Host", "127.0.0.1")]) +
	    pc.frame(pc.REQ_END))
	return sess.response()


def worker_lines(log):
	"""{worker id: (sessions, requests)} from the stop log of the
	workers other than the main one."""
	out = {}
	for line in log.splitlines():
		if ": info: worker " in line:
			w = line.split(": info: worker ", 1)[1]
			wid, rest = w.split(":", 1)
			parts = rest.replace(",", "").split()
			out[int(wid)] = (int(parts[0]), int(parts[2]))
	return out


def stop_totals(log):
	for line in log.splitlines():
		if ": info: stopped: " in line:
			parts = line.split(": info: stopped: ", 1)[1].split()
			return int(parts[0]), int(parts[2])
	return None


def worker_threads(pid):
	"""Names of hpoold's worker threads other than the main one (a
	sanitizer's own threads are not counted)."""
	names = []
	for t in os.listdir("/proc/%d/task" % pid):
		try:
			with open("/proc/%d/task/%s/comm" % (pid, t)) as f:
				n = f.read().strip()
		except OSError:
			continue
		if n.startswith("hpoold-w"):
			names.append(n)
	return sorted(names)


def body(res):
	env = h.Env(files={"w.bin": FILE_SIZE}, daemon=False, echo=False)
	size, digest = env.files["w.bin"]
	conf = env.path("hpoold.conf")
	with open(conf, "w") as f:
		f.write("[hpoold]\nworkers = %d\nmax_per_host = 200\n"
		    "max_idle_per_host = 200\n" % WORKERS)
	env.start_daemon(["--config", conf])
	pid = env.daemon.pid
	res.check("workers = 2: hpoold runs a second worker thread",
	    worker_threads(pid) == ["hpoold-w1"], worker_threads(pid))

	# Sequential callers, each its own session: pooled connections are
	# shared, one pool per worker at most.
	before = len(env.access_log())
	bad = []
	for _ in range(SEQUENTIAL):
		cp = env.hpool(["-s", env.url("/files/w.bin")])
		if cp.returncode != 0 or hashlib.sha256(cp.stdout).hexdigest() \
		    != digest:
			bad.append(h.describe(cp, 100))
	res.check("%d sequential hpool calls: every body whole" % SEQUENTIAL,
	    not bad, bad[:3])
	rows = env.access_log_wait(before + SEQUENTIAL)[before:]
	conns = {r["connection"] for r in rows}
	res.check("...on at most one upstream connection per worker",
	    len(rows) == SEQUENTIAL and 1 <= len(conns) <= WORKERS,
	    (len(rows), sorted(conns)))

	# Concurrent sessions: every one opened before any request, then
	# each makes its requests; every body is checked.
	sessions = [pc.Session(env.socket) for _ in range(SESSIONS)]
	for s in sessions:
		s.send(pc.hello() + pc.open_("127.0.0.1", env.nginx_port))
	errors = []
	lock = threading.Lock()

	def run(s):
		try:
			for want in (pc.HELLO_OK, pc.OPEN_OK):
				f = s.frame()
				if f is None or f[0] != want:
					raise AssertionError("handshake: %r" % (f,))
			for _ in range(PER_SESSION):
				r = get(s, "/files/w.bin")
				if r["status"] != 200 or len(r["body"]) != size or \
				    hashlib.sha256(r["body"]).hexdigest() != digest:
					raise AssertionError("status %s, %d bytes" % (
					    r["status"], len(r["body"])))
		except Exception as e:	# reported below, with the others
			with lock:
				errors.append(repr(e))
		finally:
			s.close()
	threads = [threading.Thread(target=run, args=(s,)) for s in sessions]
	for t in threads:
		t.start()
	for t in threads:
		t.join(60)
	res.check("%d concurrent sessions x %d requests through %d workers: "
	    "every body whole" % (SESSIONS, PER_SESSION, WORKERS),
	    not errors and not any(t.is_alive() for t in threads), errors[:3])

	# SIGHUP: a new setting reaches every worker; workers stays.
	with open(conf, "w") as f:
		f.write("[hpoold]\nworkers = 3\nmax_per_host = 200\n"
		    "max_idle_per_host = 200\nio_timeout = 30\n")
	env.daemon.send_signal(signal.SIGHUP)
	deadline = time.monotonic() + 5
	log = ""
	while time.monotonic() < deadline:
		with open(env.daemon_log, errors="replace") as f:
			log = f.read()
		if "reloaded" in log:
			break
		time.sleep(0.05)
	res.check("SIGHUP: reloaded, and a changed workers waits for a "
	    "restart", "reloaded" in log and "workers stays 2 until a "
	    "restart" in log, h.tail(env.daemon_log, 5))
	res.check("...still one worker thread besides main",
	    worker_threads(pid) == ["hpoold-w1"], worker_threads(pid))
	bad = []
	for _ in range(4):
		cp = env.hpool(["-s", env.url("/files/w.bin")])
		if cp.returncode != 0 or len(cp.stdout) != size:
			bad.append(h.describe(cp, 100))
	res.check("...and serving", not bad, bad[:2])

	# SIGTERM: both drain; the log says what each served.
	rc = h.stop_process(env.daemon)
	if env.daemon in h._children:
		h._children.remove(env.daemon)
	env.daemon = None
	with open(env.daemon_log, errors="replace") as f:
		log = f.read()
	res.check("SIGTERM: hpoold exits cleanly", rc in (0, -signal.SIGTERM),
	    (rc, h.tail(env.daemon_log, 6)))
	res.check("...and removes its socket", not os.path.exists(env.socket),
	    env.socket)
	per = worker_lines(log)
	total = stop_totals(log)
	# + 1: the harness's probe that hpoold accepts (start_daemon)
	want = SEQUENTIAL + SESSIONS + 4 + 1
	res.check("...the stop line counts every session of both workers",
	    total is not None and total[0] == want, (total, want))
	res.check("...worker 1 logs its share, no more than the total",
	    list(per) == [1] and total is not None and per[1][0] <= total[0]
	    and per[1][1] <= total[1], (per, total))
	# 64 sessions opened at once while both loops run: whichever wakes
	# first accepts, so each takes some (seen: 28 and 36)
	res.check("...both workers took sessions from the concurrent burst",
	    total is not None and 1 in per and 0 < per[1][0] < total[0],
	    (per, total))
	reports = [l for l in log.splitlines() if "Sanitizer" in l or
	    "runtime error:" in l]
	res.check("hpoold log has no sanitizer report", not reports,
	    " | ".join(reports[:5]))

	# Out of range: refused, setting and line named.
	for v in ("0", "65", "two"):
		with open(conf, "w") as f:
			f.write("[hpoold]\n\nworkers = %s\n" % v)
		cp = subprocess.run([h.HPOOLD, "-t", "-c", conf],
		    capture_output=True, timeout=10)
		err = cp.stderr.decode(errors="replace")
		res.check("workers = %s: refused, naming the setting and line 3" %
		    v, cp.returncode == 1 and "workers" in err and "line 3" in err,
		    (cp.returncode, err))


if __name__ == "__main__":
	h.main(body)
