#!/usr/bin/env python3
"""make install, the installed units, and hpoold without its config file.

- `make install DESTDIR=` from the build tree under test: exactly the
  files expected land, each where configure's directories say, with its
  mode; every path the units and the example carry is configure's
  (ExecStart's hpoold and --config, the example's header), no @VAR@ is
  left, the socket unit, the tmpfiles.d and sysusers.d snippets and the
  service agree on the socket's directory, its group and the service's
  user; the example config passes hpoold -t.
- A second configure of the same sources with --prefix in a temp dir
  (installing its data and the built hpoold at its sbindir), so that the
  units' paths exist: `systemd-analyze verify` prints nothing and
  `systemd-analyze security --offline=true` rates hpoold.service at most
  MAX_EXPOSURE, both through --threshold and the printed figure.
- The config the unit names does not exist (only the example is
  installed): hpoold -t says so and exits 0, hpoold starts with the
  built-in defaults, logs it naming the path and serves; a reload after
  the file appears reads it, one after it is gone again goes back to the
  defaults, logged. A dangling symbolic link at the path stays an error.
- Socket activation as hpoold.socket does it (the test holds the
  listening socket and passes it as fd 3 with LISTEN_FDS/LISTEN_PID):
  hpoold serves on it, leaves it in place at exit; while no hpoold runs a
  connect() succeeds and a request waits, and the next hpoold on the same
  socket serves it (what a restart of hpoold.service looks like to a
  caller)."""

import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import time

import harness as h

MAX_EXPOSURE = 2.0	# systemd-analyze security's 0-10 scale
TOP_BUILDDIR = os.environ.get("TOP_BUILDDIR") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..")
TOP_SRCDIR = os.environ.get("TOP_SRCDIR") or TOP_BUILDDIR
DIRS = ("prefix", "bindir", "sbindir", "libdir", "includedir", "mandir",
    "sysconfdir", "systemdsystemunitdir", "sysusersdir", "tmpfilesdir")
PRINT_MK = "hpool-test-print-dirs:\n" + "".join(
    "\t@echo '%s=$(%s)'\n" % (d, d) for d in DIRS)


def make_dirs(builddir, tmp):
	"""configure's directories as make expands them in builddir."""
	mk = os.path.join(tmp, "print-dirs.mk")
	with open(mk, "w") as f:
		f.write(PRINT_MK)
	cp = subprocess.run(["make", "-s", "--no-print-directory", "-C",
	    builddir, "-f", "Makefile", "-f", mk, "hpool-test-print-dirs"],
	    capture_output=True, text=True, timeout=120)
	if cp.returncode != 0:
		raise h.SetupError("make print dirs: %s" % cp.stderr[-400:])
	return dict(l.split("=", 1) for l in cp.stdout.splitlines()
	    if "=" in l)


def run(argv, timeout=300, **kw):
	return subprocess.run(argv, capture_output=True, text=True,
	    timeout=timeout, stdin=subprocess.DEVNULL, **kw)


def snippet_lines(path):
	with open(path) as f:
		return [l.split() for l in f if l.strip() and
		    not l.lstrip().startswith("#")]


def installed(res, env):
	dest = env.path("dest")
	cp = run(["make", "-C", TOP_BUILDDIR, "install", "DESTDIR=" + dest])
	if cp.returncode != 0:
		return "make install: " + cp.stderr[-600:]
	d = make_dirs(TOP_BUILDDIR, env.tmp)
	D = lambda var, *rest: dest + os.path.join(d[var], *rest)
	want = {
	    D("sbindir", "hpoold"): 0o755,
	    D("bindir", "hpool"): 0o755,
	    D("includedir", "hpool.h"): 0o644,
	    D("includedir", "hpool_error.h"): 0o644,
	    D("libdir", "pkgconfig", "hpool.pc"): 0o644,
	    D("mandir", "man8", "hpoold.8"): 0o644,
	    D("mandir", "man5", "hpoold.conf.5"): 0o644,
	    D("mandir", "man1", "hpool.1"): 0o644,
	    D("mandir", "man3", "libhpool.3"): 0o644,
	    D("sysconfdir", "hpool", "hpoold.conf.example"): 0o644,
	    D("systemdsystemunitdir", "hpoold.service"): 0o644,
	    D("systemdsystemunitdir", "hpoold.socket"): 0o644,
	    D("sysusersdir", "hpool.conf"): 0o644,
	    D("tmpfilesdir", "hpool.conf"): 0o644,
	}
	got = set()
	for root, dirs, files in os.walk(dest):
		for n in files:
			got.add(os.path.join(root, n))
	lib = re.compile(re.escape(D("libdir", "libhpool.")) +
	    r"(la|so(\.\d+)*)$")
	libs = {p for p in got if lib.match(p)}
	res.check("make install: exactly the expected files (and libhpool's)",
	    got - libs == set(want), "missing %s, extra %s" % (
	    sorted(set(want) - got), sorted(got - libs - set(want))))
	modes = {p: stat.S_IMODE(os.stat(p).st_mode) for p in want if
	    os.path.exists(p)}
	res.check("make install: each file's mode (programs 0755, data 0644)",
	    all(modes.get(p) == m for p, m in want.items()), {p: oct(m) for p,
	    m in modes.items() if want[p] != m})
	so = D("libdir", "libhpool.so")
	res.check("libhpool.so links to the versioned library",
	    os.path.islink(so) and os.path.isfile(os.path.realpath(so)) and
	    so + "." in os.path.realpath(so) + ".", sorted(libs))
	res.check("no hpoold.conf installed, only the example",
	    not os.path.exists(D("sysconfdir", "hpool", "hpoold.conf")))

	svc = h.unit_file(D("systemdsystemunitdir", "hpoold.service"))
	sock = h.unit_file(D("systemdsystemunitdir", "hpoold.socket"))
	argv = svc[("Service", "ExecStart")][0].split()
	conf = os.path.join(d["sysconfdir"], "hpool", "hpoold.conf")
	res.check("ExecStart: configure's sbindir/hpoold --foreground --config "
	    "sysconfdir/hpool/hpoold.conf", argv == [os.path.join(d["sbindir"],
	    "hpoold"), "--foreground", "--config", conf], argv)
	res.check("ExecStart's program is the installed, executable hpoold",
	    os.access(dest + argv[0], os.X_OK))
	leftover = []
	for p in want:
		if p.startswith(dest + d["systemdsystemunitdir"]) or \
		    p.endswith(".example") or p.endswith("hpool.conf"):
			with open(p) as f:
				leftover += ["%s: %s" % (p, m) for m in
				    re.findall(r"@[A-Za-z_]+@", f.read())]
	res.check("no @VAR@ left in the units, snippets and example",
	    not leftover, leftover)
	with open(D("sysconfdir", "hpool", "hpoold.conf.example")) as f:
		head = f.readline()
	res.check("the example's header names the config the unit reads",
	    head.startswith("# %s:" % conf), head)
	listen = sock[("Socket", "ListenStream")]
	res.check("socket unit: /run/hpool/hpoold.sock, root:hpool 0660",
	    listen == ["/run/hpool/hpoold.sock"] and
	    sock.get(("Socket", "SocketGroup")) == ["hpool"] and
	    sock.get(("Socket", "SocketMode")) == ["0660"], sock)
	tmpfiles = snippet_lines(D("tmpfilesdir", "hpool.conf"))
	res.check("tmpfiles.d: the socket's directory, 0755 root",
	    [l[:4] for l in tmpfiles] == [["d", "/run/hpool", "0755", "root"]],
	    tmpfiles)
	users = snippet_lines(D("sysusersdir", "hpool.conf"))
	user = svc.get(("Service", "User"))
	res.check("sysusers.d makes the service's User= and Group= and the "
	    "socket's group", [l[:2] for l in users] == [["u", "hpool"]] and
	    user == ["hpool"] and svc.get(("Service", "Group")) == ["hpool"],
	    (users, user))
	res.check("no RuntimeDirectory= (it would remove the socket's "
	    "directory on stop) and no DynamicUser=", not any(k[1] in (
	    "RuntimeDirectory", "DynamicUser") for k in svc), sorted(svc))
	res.check("socket activation: the service requires its socket unit",
	    svc.get(("Unit", "Requires")) == ["hpoold.socket"])
	cp = run([dest + argv[0], "-t", "-c", D("sysconfdir", "hpool",
	    "hpoold.conf.example")])
	res.check("the installed example passes hpoold -t", cp.returncode == 0
	    and "configuration ok" in cp.stdout, (cp.returncode, cp.stdout,
	    cp.stderr))
	return None


def security(res, env):
	"""A second configure with a prefix of its own: the units' paths
	exist there, so systemd-analyze checks them as installed."""
	b, p = env.path("b"), env.path("p")
	os.makedirs(b)
	cp = run([os.path.join(os.path.abspath(TOP_SRCDIR), "configure"),
	    "--prefix=" + p], cwd=b, timeout=600)
	if cp.returncode != 0:
		return "configure: " + cp.stdout[-300:] + cp.stderr[-300:]
	cp = run(["make", "install-data"], cwd=b, timeout=600)
	if cp.returncode != 0:
		return "make install-data: " + cp.stderr[-600:]
	d = make_dirs(b, env.tmp)
	os.makedirs(d["sbindir"])
	shutil.copy(h.HPOOLD, os.path.join(d["sbindir"], "hpoold"))
	units = [os.path.join(d["systemdsystemunitdir"], u) for u in
	    ("hpoold.service", "hpoold.socket")]
	res.check("--prefix TMP: the units go to TMP/lib/systemd/system",
	    d["systemdsystemunitdir"] == os.path.join(p, "lib", "systemd",
	    "system") and all(os.path.isfile(u) for u in units), d)
	cp = run(["systemd-analyze", "verify", "--man=no"] + units)
	res.check("systemd-analyze verify: clean", cp.returncode == 0 and
	    not cp.stdout.strip() and not cp.stderr.strip(), (cp.returncode,
	    cp.stdout[-600:], cp.stderr[-600:]))
	cp = run(["systemd-analyze", "security", "--offline=true",
	    "--no-pager", "--threshold=%d" % round(MAX_EXPOSURE * 10),
	    units[0]])
	m = re.search(r"Overall exposure level for hpoold\.service: "
	    r"([0-9.]+)", cp.stdout)
	figure = float(m.group(1)) if m else None
	print("# systemd-analyze security --offline=true: %s" % figure)
	for l in cp.stdout.splitlines():
		if l.startswith("\u2717"):	# the items that count
			print("#   " + re.sub(r"\s{2,}", " | ", l))
	res.check("systemd-analyze security --offline=true: exposure %s, at "
	    "most %.1f (--threshold passes)" % (figure, MAX_EXPOSURE),
	    figure is not None and figure <= MAX_EXPOSURE and
	    cp.returncode == 0, (cp.returncode, cp.stdout[-300:],
	    cp.stderr[-300:]))
	return None


def wait_log(log, pattern, timeout=10.0):
	deadline = time.monotonic() + timeout
	while True:
		with open(log, errors="replace") as f:
			text = f.read()
		if re.search(pattern, text, re.M) or time.monotonic() > deadline:
			return text
		time.sleep(0.05)


def absent_config(res, env):
	conf = env.path("etc", "hpool", "hpoold.conf")
	cp = run([h.HPOOLD, "-t", "-c", conf])
	res.check("hpoold -t, config absent: exit 0, says it runs with the "
	    "built-in defaults", cp.returncode == 0 and cp.stdout ==
	    "hpoold: %s does not exist: built-in defaults\nhpoold: "
	    "configuration ok\n" % conf, (cp.returncode, cp.stdout, cp.stderr))
	sock, log = env.path("absent.sock"), env.path("absent.log")
	with open(log, "ab") as out:
		p = h.spawn([h.HPOOLD, "--foreground", "--socket", sock,
		    "--workers", "1", "--config", conf], stdin=subprocess.DEVNULL,
		    stdout=out, stderr=out)
	h.wait_until(lambda: h.unix_accepts(sock), h.START_TIMEOUT,
	    "hpoold on " + sock, p, log)
	with open(log, errors="replace") as f:
		text = f.read()
	res.check("hpoold, config absent: a warning naming the path and the "
	    "defaults", "hpoold: warning: %s does not exist: running with the "
	    "built-in defaults" % conf in text, text[-600:])
	e = {"HPOOL_SOCKET": sock}
	size, digest = env.files["page.txt"]
	cp = env.hpool(["-s", env.url("/files/page.txt")], env=e)
	res.check("hpoold, config absent: serves a request", cp.returncode == 0
	    and h.sha256(cp.stdout) == digest, h.describe(cp))
	# the file appears: a reload reads it (a rule that denies nginx's
	# port shows it is in force)
	os.makedirs(os.path.dirname(conf))
	with open(conf, "w") as f:
		f.write("[hpoold]\nsocket_mode = 0600\n[policy]\n"
		    "rule = dest 127.0.0.1:%d -> deny\n" % env.nginx_port)
	os.kill(p.pid, signal.SIGHUP)
	text = wait_log(log, r"reloaded " + re.escape(conf))
	cp = env.hpool(["-s", env.url("/files/page.txt")], env=e)
	res.check("config created, SIGHUP: reloaded, its rule denies nginx "
	    "(exit 120)", "reloaded " + conf in text and cp.returncode == 120,
	    (h.describe(cp), text[-400:]))
	os.unlink(conf)
	os.kill(p.pid, signal.SIGHUP)
	text = wait_log(log, r"reloading the built-in defaults")
	cp = env.hpool(["-s", env.url("/files/page.txt")], env=e)
	res.check("config removed, SIGHUP: back to the defaults, logged, nginx "
	    "allowed again", "%s does not exist: reloading the built-in "
	    "defaults" % conf in text and cp.returncode == 0 and
	    h.sha256(cp.stdout) == digest, (h.describe(cp), text[-400:]))
	h.stop_hpoold(res, p, log, "config absent")
	os.symlink(env.path("nowhere.conf"), conf)
	cp = run([h.HPOOLD, "-t", "-c", conf])
	res.check("a dangling symbolic link at the config path: an error, "
	    "exit 1", cp.returncode == 1 and conf in cp.stderr and
	    "No such file" in cp.stderr, (cp.returncode, cp.stdout, cp.stderr))


def start_activated(env, ls, tag):
	"""hpoold given ls as systemd's hpoold.socket would: fd 3,
	LISTEN_FDS=1, LISTEN_PID its own PID (sh execs it)."""
	log = env.path("activated-%s.log" % tag)

	def fd3():
		os.dup2(ls.fileno(), 3)
	with open(log, "ab") as out:
		p = h.spawn(["sh", "-c", 'LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" '
		    '"$@"', h.HPOOLD, "--foreground", "--workers", "1"],
		    stdin=subprocess.DEVNULL, stdout=out, stderr=out,
		    preexec_fn=fd3, pass_fds=(3,))
	wait_log(log, r"accepting")
	return p, log


def socket_activation(res, env):
	"""hpoold.socket's part, played by the test: it holds the listening
	socket while hpoold stops and starts again."""
	path = env.path("activated.sock")
	ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
	ls.bind(path)
	ls.listen(64)
	ino = os.stat(path).st_ino
	e = {"HPOOL_SOCKET": path}
	size, digest = env.files["page.txt"]
	url = env.url("/files/page.txt")
	p, log = start_activated(env, ls, "a")
	cp = env.hpool(["-s", url], env=e)
	with open(log, errors="replace") as f:
		text = f.read()
	res.check("socket activation: hpoold takes the passed socket and "
	    "serves", "listening on the socket from systemd" in text and
	    cp.returncode == 0 and h.sha256(cp.stdout) == digest,
	    (h.describe(cp), text[-300:]))
	h.stop_hpoold(res, p, log, "socket activation, first hpoold")
	res.check("socket activation: hpoold leaves systemd's socket where it "
	    "is at exit", os.path.exists(path) and os.stat(path).st_ino == ino)
	# the service is down: callers connect and wait in the backlog
	c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
	try:
		c.connect(path)
		refused = None
	except OSError as ex:
		refused = ex
	c.close()
	res.check("service stopped: connect() succeeds (no ECONNREFUSED)",
	    refused is None, refused)
	waiting = h.spawn([h.HPOOL, "-s", url], stdin=subprocess.DEVNULL,
	    stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(
	    os.environ, **e))
	try:
		waiting.wait(1.0)
	except subprocess.TimeoutExpired:
		pass
	res.check("service stopped: a request waits (hpool still running "
	    "after 1 s)", waiting.poll() is None, waiting.returncode)
	p, log = start_activated(env, ls, "b")
	try:
		out, err = waiting.communicate(timeout=30)
	except subprocess.TimeoutExpired:
		waiting.kill()
		out, err = waiting.communicate()
	res.check("service started again on the same socket: the waiting "
	    "request is served", waiting.returncode == 0 and h.sha256(out) ==
	    digest, (waiting.returncode, err[-300:]))
	h.stop_hpoold(res, p, log, "socket activation, second hpoold")
	ls.close()


def body(res):
	env = h.Env(files={"page.txt": 5000}, nginx=True, echo=False,
	    daemon=False)
	res.run("make install into a DESTDIR", installed, res, env)
	res.run("a prefix of its own: verify and security", security, res, env)
	absent_config(res, env)
	socket_activation(res, env)


if __name__ == "__main__":
	h.main(body)
