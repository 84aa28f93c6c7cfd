#!/usr/bin/env python3
"""hpoold's listening socket (daemon/listen.c).

- The socket path: only a stale socket (one nobody accepts on) is
  replaced. A regular file, a symbolic link, a FIFO or a directory there
  makes hpoold exit 1 naming the path and what it is, and stays as it
  was (connect() on a regular file or a FIFO fails with ECONNREFUSED, as
  on a stale socket, and hpoold used to unlink them); a live hpoold's
  socket is refused too.
- Out of file descriptors: clients waiting in the backlog are closed (an
  EOF, not a hang) and accepting pauses, with one warning, instead of a
  level-triggered listener calling accept() at 100% CPU and logging each
  failure (56 MB of log in 5 s); once descriptors are free again a real
  request works and one line says how many clients were turned away."""

import os
import resource
import select
import signal
import socket
import stat
import subprocess
import time

import harness as h

REFUSE_WITHIN = 5.0	# seconds for hpoold to give up on a bad path
NOFILE = 64		# the fd limit of the daemon in the EMFILE case
STORM_CLIENTS = 20	# clients connecting while fds are exhausted...
STORM_SECONDS = 2.0	# ...over this long
STORM_CPU_MAX = 0.5	# hpoold CPU seconds allowed during the storm
STORM_LOG_MAX = 20	# log lines allowed during the storm
PAGE = "/files/page.txt"
EOF_WITHIN = 2.5	# a turned-away client hears EOF this soon (the
			# longest pause is 1 s)


def run_refused(argv, log):
	"""Run hpoold (argv) until it exits, at most REFUSE_WITHIN seconds:
	(exit status or None if it kept running, its output)."""
	with open(log, "wb") as out:
		p = h.spawn(argv, stdin=subprocess.DEVNULL, stdout=out,
		    stderr=out)
	try:
		rc = p.wait(REFUSE_WITHIN)
	except subprocess.TimeoutExpired:
		rc = None
		h.stop_process(p)
	if p in h._children:
		h._children.remove(p)
	with open(log, errors="replace") as f:
		return rc, f.read()


def refusals(res, env):
	"""Each kind of non-socket at the path: refused, named, untouched."""
	target = env.path("target.txt")
	content = b"precious data, not a socket\n"
	with open(target, "wb") as f:
		f.write(content)

	def regular(path):
		with open(path, "wb") as f:
			f.write(content)
		return lambda: open(path, "rb").read() == content

	def symlink(path):
		os.symlink(target, path)
		return lambda: (os.path.islink(path) and
		    os.readlink(path) == target and
		    open(target, "rb").read() == content)

	def fifo(path):
		os.mkfifo(path)
		return lambda: stat.S_ISFIFO(os.lstat(path).st_mode)

	def directory(path):
		os.mkdir(path)
		with open(os.path.join(path, "inside"), "wb") as f:
			f.write(content)
		return lambda: open(os.path.join(path, "inside"),
		    "rb").read() == content

	kinds = [("regular file", regular, "a regular file"),
	    ("symbolic link to a file", symlink, "a symbolic link"),
	    ("FIFO", fifo, "a FIFO"),
	    ("directory", directory, "a directory")]
	for i, (what, make, named) in enumerate(kinds):
		path = env.path("notsock%d" % i)
		intact = make(path)
		rc, out = run_refused([h.HPOOLD, "--foreground", "--socket",
		    path], env.path("refuse%d.log" % i))
		res.check("--socket on a %s: hpoold exits 1 within %.0fs" % (
		    what, REFUSE_WITHIN), rc == 1, (rc, out[-500:]))
		res.check("...the message names the path and says it is %s" %
		    named, path in out and "is not a socket (%s)" % named in
		    out, out[-500:])
		res.check("...and the %s is untouched" % what,
		    os.path.lexists(path) and intact(), os.path.lexists(path))

	# the same rule for the path from the config file
	path = env.path("fromconf")
	intact = regular(path)
	conf = env.path("listen.conf")
	with open(conf, "w") as f:
		f.write("[hpoold]\nsocket = %s\n" % path)
	rc, out = run_refused([h.HPOOLD, "--foreground", "-c", conf],
	    env.path("refuse-conf.log"))
	res.check("socket = a regular file (config): hpoold exits 1, names "
	    "it, leaves it", rc == 1 and path in out and "not a socket" in out
	    and intact(), (rc, out[-500:]))


def stale_and_live(res, env):
	# a socket file left by a process that is gone: bound, never
	# listened, closed without unlinking
	s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
	s.bind(env.socket)
	s.close()
	res.check("a stale socket file is there before hpoold starts",
	    stat.S_ISSOCK(os.lstat(env.socket).st_mode))
	env.start_daemon()
	cp = env.hpool(["-i", env.url(PAGE)])
	p = h.parse_include_output(cp.stdout) if cp.returncode == 0 else None
	res.check("stale socket: hpoold replaces it and serves a request",
	    p is not None and p[1] == 200, h.describe(cp))

	rc, out = run_refused([h.HPOOLD, "--foreground", "--socket",
	    env.socket], env.path("second.log"))
	res.check("a second hpoold on a live socket exits 1: another hpoold "
	    "is listening on the path", rc == 1 and "another hpoold is "
	    "listening on %s" % env.socket in out, (rc, out[-300:]))
	cp = env.hpool(["-i", env.url(PAGE)])
	res.check("...and the first one still serves", cp.returncode == 0,
	    h.describe(cp))
	rc = h.stop_process(env.daemon)
	if env.daemon in h._children:
		h._children.remove(env.daemon)
	env.daemon = None
	res.check("...and stops cleanly on SIGTERM", rc == 0, rc)


def moved_on_reload(res, env):
	"""socket = another path in the config, then SIGHUP: hpoold listens
	there with a new generation of workers, removes the old file, and a
	path it cannot take refuses the reload and keeps the socket."""
	conf = env.path("move.conf")
	old, new = env.path("old.sock"), env.path("new.sock")
	with open(conf, "w") as f:
		f.write("[hpoold]\nsocket = %s\nworkers = 2\n" % old)
	log = env.path("move.log")
	with open(log, "ab") as out:
		p = h.spawn([h.HPOOLD, "--foreground", "-c", conf],
		    stdin=subprocess.DEVNULL, stdout=out, stderr=out)
	h.wait_until(lambda: h.unix_accepts(old), h.START_TIMEOUT,
	    "hpoold on %s" % old, p, log)
	before = set(h.wait_workers(p.pid, 2))
	with open(conf, "w") as f:
		f.write("[hpoold]\nsocket = %s\nworkers = 2\n" % new)
	p.send_signal(signal.SIGHUP)
	deadline = time.monotonic() + 5
	while time.monotonic() < deadline and (os.path.exists(old) or
	    not h.unix_accepts(new)):
		time.sleep(0.05)
	cp = env.hpool(["-i", env.url(PAGE)], env={"HPOOL_SOCKET": new})
	res.check("socket moved by SIGHUP: hpoold serves on the new path",
	    cp.returncode == 0 and b"hello" in cp.stdout, h.describe(cp))
	res.check("...the old socket file is gone", not os.path.exists(old))
	deadline = time.monotonic() + 5
	while time.monotonic() < deadline and before & set(h.worker_pids(
	    p.pid)):
		time.sleep(0.05)
	now = set(h.worker_pids(p.pid))
	res.check("...by new workers; the old ones exited", len(now) == 2 and
	    not (before & now), (before, now))
	# a path that is a regular file: the reload is refused, nothing moves
	with open(old, "w") as f:
		f.write("keep me\n")
	with open(conf, "w") as f:
		f.write("[hpoold]\nsocket = %s\nworkers = 2\n" % old)
	p.send_signal(signal.SIGHUP)
	deadline = time.monotonic() + 5
	text = ""
	while time.monotonic() < deadline and "reload refused" not in text:
		time.sleep(0.05)
		with open(log, errors="replace") as f:
			text = f.read()
	res.check("...a socket path taken by a regular file: reload refused, "
	    "naming it", "reload refused, keeping the old settings: %s exists "
	    "and is not a socket" % old in text, h.tail(log, 3))
	cp = env.hpool(["-i", env.url(PAGE)], env={"HPOOL_SOCKET": new})
	with open(old) as f:
		kept = f.read()
	res.check("...the file is untouched and hpoold still serves on %s" %
	    os.path.basename(new), kept == "keep me\n" and cp.returncode == 0,
	    (kept, h.describe(cp)))
	rc = h.stop_process(p)
	if p in h._children:
		h._children.remove(p)
	res.check("...and stops cleanly, removing the socket it made", rc == 0
	    and not os.path.exists(new), (rc, os.path.exists(new)))


# ---------------------------------------------------------------- EMFILE

def fd_count(pid):
	return len(os.listdir("/proc/%d/fd" % pid))


def cpu_seconds(pid):
	"""utime + stime of a process, in seconds."""
	with open("/proc/%d/stat" % pid) as f:
		fields = f.read().rsplit(")", 1)[1].split()
	# fields[0] is field 3 (state); utime and stime are fields 14, 15
	return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def log_lines(path):
	with open(path, "rb") as f:
		return sum(1 for _ in f)


def hears_eof(sock, deadline):
	"""True if the peer closed sock (EOF or reset) before deadline."""
	p = select.poll()
	p.register(sock, select.POLLIN | select.POLLRDHUP)
	while True:
		left = deadline - time.monotonic()
		if left <= 0:
			return False
		if not p.poll(max(1, int(left * 1000))):
			continue
		try:
			return sock.recv(1) == b""
		except ConnectionResetError:
			return True
		except BlockingIOError:
			continue


def start_limited(env, workers):
	"""hpoold as Env.start_daemon starts it, but with RLIMIT_NOFILE
	NOFILE (soft and hard, so hpoold cannot raise it) and session limits
	above what the descriptors allow (hpoold warns of it), so that
	clients alone exhaust them."""
	def limit():
		resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, NOFILE))
	conf = env.path("emfile.conf")
	with open(conf, "w") as f:
		f.write("[hpoold]\nmax_sessions = 1000\n"
		    "max_sessions_per_uid = 1000\nworkers = %d\n" % workers)
	env.daemon_log = env.path("hpoold-emfile-%d.log" % workers)
	with open(env.daemon_log, "ab") as out:
		env.daemon = h.spawn([h.HPOOLD, "--foreground", "--config",
		    conf, "--socket", env.socket], stdin=subprocess.DEVNULL,
		    stdout=out, stderr=out, preexec_fn=limit)
	h.wait_until(lambda: h.unix_accepts(env.socket), h.START_TIMEOUT,
	    "hpoold on %s" % env.socket, env.daemon, env.daemon_log)


def out_of_fds(res, env, workers):
	"""Each worker pauses on its own, with a descriptor in reserve of
	its own: a warning each at most."""
	w = "workers = %d: " % workers
	start_limited(env, workers)
	# each worker process has NOFILE descriptors of its own
	pids = h.wait_workers(env.daemon.pid, workers)
	held = []
	extra = []

	def fds():
		return [fd_count(p) for p in pids]

	def cpu_all():
		return sum(cpu_seconds(p) for p in pids + [env.daemon.pid])
	try:
		# Connect until the descriptors of every worker are in use:
		# each accepted session holds one.
		while len(held) < NOFILE * workers and min(fds()) < NOFILE:
			n = sum(fds())
			s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
			s.settimeout(5)
			s.connect(env.socket)
			held.append(s)
			t = time.monotonic() + 0.5
			while sum(fds()) == n and time.monotonic() < t:
				time.sleep(0.005)
		res.check(w + "the %d descriptors of each of %d workers are all "
		    "in use after %d clients" % (NOFILE, workers, len(held)),
		    len(pids) == workers and min(fds()) == NOFILE, fds())

		cpu0 = cpu_all()
		lines0 = log_lines(env.daemon_log)
		t0 = time.monotonic()
		for i in range(STORM_CLIENTS):
			s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
			s.settimeout(5)
			s.connect(env.socket)
			extra.append((s, time.monotonic()))
			left = t0 + (i + 1) * STORM_SECONDS / STORM_CLIENTS - \
			    time.monotonic()
			if left > 0:
				time.sleep(left)
		cpu = cpu_all() - cpu0
		grew = log_lines(env.daemon_log) - lines0
		print("# %sout of fds: %d clients in %.1fs: hpoold used %.2fs "
		    "CPU, its log grew %d lines" % (w, STORM_CLIENTS,
		    time.monotonic() - t0, cpu, grew), flush=True)
		res.check(w + "out of fds, %d clients over %.0fs: hpoold uses "
		    "under %.1fs of CPU" % (STORM_CLIENTS, STORM_SECONDS,
		    STORM_CPU_MAX), cpu < STORM_CPU_MAX, "%.2fs" % cpu)
		res.check(w + "...and logs fewer than %d lines" % STORM_LOG_MAX,
		    grew < STORM_LOG_MAX, "%d lines%s" % (grew,
		    h.tail(env.daemon_log, 3)))

		late = []
		for i, (s, t) in enumerate(extra):
			s.setblocking(False)
			if not hears_eof(s, t + EOF_WITHIN):
				late.append(i)
		res.check(w + "...each of them is closed (EOF) within %.1fs "
		    "instead of waiting in the backlog" % EOF_WITHIN, not late,
		    "no EOF for clients %s" % late)
	finally:
		for s in held:
			s.close()
		for s, _ in extra:
			s.close()

	cp = env.hpool(["-i", env.url(PAGE)], timeout=15)
	p = h.parse_include_output(cp.stdout) if cp.returncode == 0 else None
	res.check(w + "descriptors freed: a new request through hpoold works",
	    p is not None and p[1] == 200, h.describe(cp))
	deadline = time.monotonic() + 3
	log = ""
	while time.monotonic() < deadline:
		with open(env.daemon_log, errors="replace") as f:
			log = f.read()
		if "turned away" in log:
			break
		time.sleep(0.05)
	warned = [l for l in log.splitlines() if "pausing accepts" in l]
	want = "accept: out of file descriptors (EMFILE); pausing accepts" \
	    if workers == 1 else "out of file descriptors (EMFILE); pausing " \
	    "accepts"
	res.check(w + "one warning per worker for the whole episode: %s" %
	    want, 1 <= len(warned) <= workers and all(want in l and
	    (workers == 1 or "(worker " in l) for l in warned), warned[:3])
	back = [l for l in log.splitlines() if "turned away" in l]
	n = [int(x) for x in back[0].split() if x.isdigit()] if back else []
	# with several workers, one that has accepted nobody since has not
	# said so yet, and its count is its share
	res.check(w + "...and a line when accepting works again, counting "
	    "the clients turned away (all %d with one worker)" %
	    STORM_CLIENTS, 1 <= len(back) <= workers and "info" in back[0]
	    and n and (workers > 1 or n[-1] >= STORM_CLIENTS), back[:3] or
	    h.tail(env.daemon_log, 3))
	env.final_checks(res)


def body(res):
	env = h.Env(files={"page.txt": b"hello\n"}, daemon=False,
	    echo=False)
	refusals(res, env)
	stale_and_live(res, env)
	moved_on_reload(res, env)
	out_of_fds(res, env, 1)
	out_of_fds(res, env, 2)


if __name__ == "__main__":
	h.main(body)
