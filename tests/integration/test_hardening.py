#!/usr/bin/env python3
"""hpoold serves under hpoold.service's seccomp filter and no-new-privileges.

systemd is not PID 1 here, so the unit cannot be started. Instead the
test reads the unit (systemd/hpoold.service.in) and builds the same
filters through ctypes on libseccomp.so.2, loaded after
PR_SET_NO_NEW_PRIVS in the child before it execs hpoold, as systemd
does for the service:
- SystemCallFilter=: the allow-list, each group expanded with
  `systemd-analyze syscall-filter` (the lines of the unit in order, a
  `~` line taking its groups out again); other calls fail with
  SystemCallErrorNumber= (or kill the process in the strict round);
- SystemCallArchitectures=native: libseccomp's native architecture only;
- RestrictAddressFamilies=: socket() with another family fails with
  EAFNOSUPPORT;
- MemoryDenyWriteExecute=: mmap() writable and executable, mprotect()
  and pkey_mprotect() to executable fail with EPERM.
As root, the child also becomes User= (nobody here: the unit's hpool user
need not exist) with no supplementary groups, which empties its
capability sets as CapabilityBoundingSet= does.

Then real requests go through the daemon: http to nginx, https to a TLS
nginx with a test CA (verified), with two workers (fork under the
filter), a reload (SIGHUP), EXPLAIN with the caller's real uid (the
policy's identity), and a clean exit. A second round loads the filter
with kill-the-process as its default action: the same workload must not
make a single call outside the list. The filter itself is checked to
apply: a child under it fails setpriority() (in @resources, taken out),
socket(AF_NETLINK) and a writable executable mapping, each of which
works without it.

Not covered (mount namespaces, which need systemd or privileges the test
does not assume): ProtectSystem=, ProtectHome=, PrivateTmp=,
PrivateDevices=, ProtectProc=/ProcSubset=, ProtectKernel*=,
ProtectControlGroups=, RestrictNamespaces=, LockPersonality=,
RestrictRealtime=, RestrictSUIDSGID=."""

import ctypes
import ctypes.util
import errno
import os
import re
import signal
import socket
import subprocess

import harness as h
from tlsenv import Certs, TlsNginx

SCMP_ACT_KILL_PROCESS = 0x80000000
SCMP_ACT_ALLOW = 0x7fff0000
SCMP_CMP_EQ = 4
SCMP_CMP_MASKED_EQ = 7
PR_SET_NO_NEW_PRIVS = 38
AF_MAX = 46		# families the kernel may know (linux/socket.h)
PROT_WRITE = 0x2
PROT_EXEC = 0x4
REQUESTS = 6		# per scheme and round
UNIT = os.path.join(os.environ.get("TOP_SRCDIR") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", ".."),
    "systemd", "hpoold.service.in")


def SCMP_ACT_ERRNO(e):
	return 0x00050000 | (e & 0xffff)


class ArgCmp(ctypes.Structure):
	_fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int),
	    ("datum_a", ctypes.c_uint64), ("datum_b", ctypes.c_uint64)]


def unit_settings(path):
	"""The [Service] assignments of the unit: name -> values in order."""
	return {k: v for (section, k), v in h.unit_file(path).items()
	    if section == "Service"}


def syscall_groups():
	"""Every group systemd-analyze knows: @name -> its members (calls and
	@groups)."""
	cp = subprocess.run(["systemd-analyze", "syscall-filter", "--no-pager"],
	    capture_output=True, text=True, timeout=60)
	if cp.returncode != 0:
		raise h.SetupError("systemd-analyze syscall-filter: %s" %
		    cp.stderr[-300:])
	groups, cur = {}, None
	for line in cp.stdout.splitlines():
		if line.startswith("@"):
			cur = groups.setdefault(line.split()[0], [])
		elif line[:1].isspace() and cur is not None:
			w = line.strip()
			if w and not w.startswith("#"):
				cur.append(w.split()[0])
		else:
			cur = None
	return groups


def expand(names, groups, seen=None):
	seen = set() if seen is None else seen
	out = set()
	for n in names:
		if n.startswith("@"):
			if n in seen:
				continue
			seen.add(n)
			if n not in groups:
				raise h.SetupError("unknown syscall group %s" % n)
			out |= expand(groups[n], groups, seen)
		else:
			out.add(n)
	return out


def allowed_syscalls(lines, groups):
	"""SystemCallFilter= lines in order: the first sets the allow-list,
	a ~ line takes calls out, another adds (systemd.exec(5))."""
	allow = set()
	for i, v in enumerate(lines):
		neg = v.startswith("~")
		names = v.lstrip("~").split()
		if i == 0 and neg:
			raise h.SetupError("the unit's filter is a deny-list; this "
			    "test builds allow-lists")
		if neg:
			allow -= expand(names, groups)
		else:
			allow |= expand(names, groups)
	return allow


class Sandbox:
	"""The unit's seccomp filters, built in the parent, loaded in the
	child by preexec()."""

	def __init__(self, settings, strict):
		path = ctypes.util.find_library("seccomp") or "libseccomp.so.2"
		self.lib = lib = ctypes.CDLL(path, use_errno=True)
		lib.seccomp_init.restype = ctypes.c_void_p
		lib.seccomp_init.argtypes = [ctypes.c_uint32]
		lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p,
		    ctypes.c_uint32, ctypes.c_int, ctypes.c_uint,
		    ctypes.POINTER(ArgCmp)]
		lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
		lib.seccomp_load.argtypes = [ctypes.c_void_p]
		self.libc = ctypes.CDLL(None, use_errno=True)
		groups = syscall_groups()
		self.allow = allowed_syscalls(settings["SystemCallFilter"],
		    groups)
		if strict:
			deny = SCMP_ACT_KILL_PROCESS
		else:
			e = settings.get("SystemCallErrorNumber", ["EPERM"])[-1]
			deny = SCMP_ACT_ERRNO(getattr(errno, e))
		families = [getattr(socket, f) for f in
		    settings["RestrictAddressFamilies"][-1].split()]
		# the allow-list last: seccomp() itself is not on it
		self.filters = [self._families(families)]
		if settings.get("MemoryDenyWriteExecute") == ["yes"]:
			self.filters.append(self._wx())
		self.filters.append(self._allow_list(deny))
		self.user = None
		if os.geteuid() == 0:
			self.user = (65534, 65534)	# nobody, nogroup

	def _nr(self, name):
		return self.lib.seccomp_syscall_resolve_name(name.encode())

	def _rule(self, ctx, action, name, *cmps):
		nr = self._nr(name)
		if nr < 0:
			return False	# not a call of this architecture
		arr = (ArgCmp * max(len(cmps), 1))(*cmps)
		rc = self.lib.seccomp_rule_add_array(ctx, action, nr, len(cmps),
		    arr)
		if rc != 0:
			raise h.SetupError("seccomp_rule_add %s: %d" % (name, rc))
		return True

	def _ctx(self, default):
		ctx = self.lib.seccomp_init(default)
		if not ctx:
			raise h.SetupError("seccomp_init failed")
		return ctx

	def _allow_list(self, deny):
		ctx = self._ctx(deny)
		self.resolved = sum(1 for n in sorted(self.allow)
		    if self._rule(ctx, SCMP_ACT_ALLOW, n))
		return ctx

	def _families(self, families):
		ctx = self._ctx(SCMP_ACT_ALLOW)
		for af in range(AF_MAX):
			if af not in families:
				self._rule(ctx, SCMP_ACT_ERRNO(errno.EAFNOSUPPORT),
				    "socket", ArgCmp(0, SCMP_CMP_EQ, af, 0))
		return ctx

	def _wx(self):
		ctx = self._ctx(SCMP_ACT_ALLOW)
		wx = PROT_WRITE | PROT_EXEC
		self._rule(ctx, SCMP_ACT_ERRNO(errno.EPERM), "mmap",
		    ArgCmp(2, SCMP_CMP_MASKED_EQ, wx, wx))
		for call in ("mprotect", "pkey_mprotect"):
			self._rule(ctx, SCMP_ACT_ERRNO(errno.EPERM), call,
			    ArgCmp(2, SCMP_CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC))
		return ctx

	def preexec(self):
		"""In the child: the user, no new privileges, the filters."""
		if self.user is not None:
			os.setgroups([])
			os.setgid(self.user[1])
			os.setuid(self.user[0])
		if self.libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
			os._exit(120)
		for ctx in self.filters:
			if self.lib.seccomp_load(ctx) != 0:
				os._exit(121)


PROBE = r"""
import errno, mmap, os, socket, sys
print("started", flush=True)
out = []
try:
	os.setpriority(os.PRIO_PROCESS, 0, 5)
	out.append("setpriority ok")
except OSError as e:
	out.append("setpriority " + errno.errorcode[e.errno])
try:
	socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0).close()
	out.append("netlink ok")
except OSError as e:
	out.append("netlink " + errno.errorcode[e.errno])
try:
	mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE |
	    mmap.PROT_EXEC).close()
	out.append("wx ok")
except OSError as e:
	out.append("wx " + errno.errorcode[e.errno])
with open("/proc/self/status") as f:
	st = dict(l.split(":", 1) for l in f if ":" in l)
out.append("nnp " + st["NoNewPrivs"].strip())
out.append("seccomp " + st["Seccomp"].strip())
out.append("uid %d" % os.getuid())
print("\n".join(out))
"""


def probe(sandbox):
	"""What the probe child sees, with the sandbox or without (None)."""
	cp = subprocess.run(["python3", "-c", PROBE], capture_output=True,
	    text=True, timeout=60, stdin=subprocess.DEVNULL,
	    preexec_fn=sandbox.preexec if sandbox else None)
	lines = cp.stdout.split("\n")
	if lines[0] == "started":
		lines.pop(0)
	else:
		lines.insert(0, "never started")
	return cp.returncode, lines, cp.stderr[-300:]


def filter_applies(res, sandbox):
	rc, plain, err = probe(None)
	res.check("without the filter, the probe may setpriority, open a "
	    "netlink socket and map W+X", rc == 0 and plain[:3] == [
	    "setpriority ok", "netlink ok", "wx ok"], (rc, plain, err))
	rc, got, err = probe(sandbox)
	res.check("under the filter: setpriority EPERM (@resources out), "
	    "AF_NETLINK EAFNOSUPPORT, W+X mapping EPERM", rc == 0 and got[:3]
	    == ["setpriority EPERM", "netlink EAFNOSUPPORT", "wx EPERM"],
	    (rc, got, err))
	uid = sandbox.user[0] if sandbox.user else os.getuid()
	res.check("under the filter: no_new_privs 1, seccomp mode 2, uid %d"
	    % uid, got[3:6] == ["nnp 1", "seccomp 2", "uid %d" % uid],
	    (got, err))


def strict_kills(res, strict):
	rc, got, err = probe(strict)
	res.check("kill-the-process default: the probe dies of SIGSYS at "
	    "setpriority, after its first line", rc == -signal.SIGSYS and
	    got == [""], (rc, got, err))


def start_sandboxed(env, sandbox, name, workers):
	"""hpoold in a directory its user may write, under sandbox: (proc,
	socket, log, config path)."""
	d = env.path(name)
	os.makedirs(d)
	if sandbox.user is not None:
		os.chown(d, *sandbox.user)
	conf = os.path.join(d, "hpoold.conf")
	with open(conf, "w") as f:
		f.write("[hpoold]\nsocket_mode = 0666\nworkers = %d\n" % workers)
	sock = os.path.join(d, "hpoold.sock")
	log = os.path.join(d, "hpoold.log")
	# LeakSanitizer's exit check (the sanitizer build) runs under
	# ptrace, which the filter forbids as it does for the service; the
	# unit never runs a sanitizer build, and the other tests check leaks
	env_ = dict(os.environ)
	env_["ASAN_OPTIONS"] = ":".join(x for x in (os.environ.get(
	    "ASAN_OPTIONS"), "detect_leaks=0") if x)
	with open(log, "ab") as out:
		p = h.spawn([h.HPOOLD, "--foreground", "--socket", sock, "-c",
		    conf], stdin=subprocess.DEVNULL, stdout=out, stderr=out,
		    preexec_fn=sandbox.preexec, env=env_)
	h.wait_until(lambda: h.unix_accepts(sock), h.START_TIMEOUT,
	    "sandboxed hpoold on " + sock, p, log)
	return p, sock, log, conf


def status_of(pid):
	with open("/proc/%d/status" % pid) as f:
		return dict(l.split(":", 1) for l in f if ":" in l)


def serve(res, env, certs, ng, sandbox, what):
	p, sock, log, conf = start_sandboxed(env, sandbox, what.replace(" ",
	    "-"), 2)
	e = {"HPOOL_SOCKET": sock}
	pids = h.wait_workers(p.pid, 2)
	st = [status_of(x) for x in [p.pid] + pids]
	res.check("%s: supervisor and both workers run with no_new_privs and "
	    "seccomp filters, no capabilities" % what, len(pids) == 2 and all(
	    s["NoNewPrivs"].strip() == "1" and s["Seccomp"].strip() == "2" and
	    (sandbox.user is None or int(s["CapEff"], 16) == 0) for s in st),
	    [(s.get("NoNewPrivs"), s.get("Seccomp"), s.get("CapEff")) for s
	    in st])
	size, digest = env.files["page.bin"]
	ok = 0
	for _ in range(REQUESTS):
		cp = env.hpool(["-s", env.url("/files/page.bin")], env=e)
		ok += cp.returncode == 0 and h.sha256(cp.stdout) == digest
	res.check("%s: %d http requests through nginx, every body whole" %
	    (what, REQUESTS), ok == REQUESTS, "%d of %d" % (ok, REQUESTS))
	ca = ["--cacert", certs.path("ca.pem")]
	url = "https://localhost:%d/index.html" % ng.ports["good"]
	ok = 0
	for _ in range(REQUESTS):
		cp = env.hpool(ca + ["-s", url], env=e)
		ok += cp.returncode == 0 and cp.stdout == b"hello over tls\n"
	res.check("%s: %d https requests, the certificate verified against "
	    "the test CA" % (what, REQUESTS), ok == REQUESTS, "%d of %d" % (ok,
	    REQUESTS))
	cp = env.hpool(ca + ["https://localhost:%d/index.html" %
	    ng.ports["wronghost"]], env=e)
	res.check("%s: a wrong-host certificate is still refused (exit 60)"
	    % what, cp.returncode == 60 and b"SSLCertVerificationError" in
	    cp.stderr, h.describe(cp))
	cp = env.hpool(["--explain", env.url("/")], env=e)
	res.check("%s: EXPLAIN names the caller's real uid and pid" % what,
	    cp.returncode == 0 and re.search(rb"^caller: uid %d .* pid \d+" %
	    os.getuid(), cp.stdout, re.M) is not None, h.describe(cp))
	# a reload starts nothing new with the same workers; a third worker
	# is a new generation: fork under the filter again
	with open(conf, "w") as f:
		f.write("[hpoold]\nsocket_mode = 0666\nworkers = 3\n")
	os.kill(p.pid, signal.SIGHUP)
	pids3 = h.wait_workers(p.pid, 3)
	cp = env.hpool(["-s", env.url("/files/page.bin")], env=e)
	res.check("%s: after a reload to 3 workers, a request still works" %
	    what, len(pids3) >= 3 and cp.returncode == 0 and
	    h.sha256(cp.stdout) == digest, (pids3, h.describe(cp)))
	text = h.stop_hpoold(res, p, log, what)
	bad = [l for l in text.splitlines() if "not permitted" in l or
	    "Bad system call" in l or ": error:" in l]
	res.check("%s: no refused call or error in hpoold's log" % what,
	    not bad, bad[:5])


def body(res):
	settings = unit_settings(UNIT)
	res.check("the unit sets NoNewPrivileges=yes and a SystemCallFilter",
	    settings.get("NoNewPrivileges") == ["yes"] and
	    settings.get("SystemCallFilter"), settings)
	sandbox = Sandbox(settings, strict=False)
	strict = Sandbox(settings, strict=True)
	res.check("the allow-list resolves to real calls (%d of %d names)" %
	    (sandbox.resolved, len(sandbox.allow)), sandbox.resolved > 200
	    and "setpriority" not in sandbox.allow and "setuid" not in
	    sandbox.allow and "epoll_wait" in sandbox.allow, sandbox.resolved)
	filter_applies(res, sandbox)
	strict_kills(res, strict)

	env = h.Env(files={"page.bin": 300000}, nginx=True, echo=False,
	    daemon=False)
	os.chmod(env.tmp, 0o755)	# the CA file, for hpoold's user
	certs = Certs(env.path("certs"))
	os.chmod(certs.dir, 0o755)
	os.chmod(certs.path("ca.pem"), 0o644)
	ng = TlsNginx(env, certs)
	serve(res, env, certs, ng, sandbox, "errno filter")
	serve(res, env, certs, ng, strict, "kill filter")


if __name__ == "__main__":
	h.main(body)
