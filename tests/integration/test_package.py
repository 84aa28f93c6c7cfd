#!/usr/bin/env python3
"""The Debian package (debian/): built, checked, installed, purged.

- A copy of the sources (the git work tree's files, or the unpacked
  tree without its build directories, as under make distcheck) is built
  with `dpkg-buildpackage -b -us -uc` and DEB_BUILD_OPTIONS=nocheck (the
  unit tests are the build's own business; this keeps CI short), the
  time printed.
- lintian reports no error (its warnings and notes are printed).
- The split: hpool (hpoold, hpool, the units, the sysusers.d and
  tmpfiles.d snippets, the example config, three man pages), the shared
  library package named after the SONAME the build produced, libhpool-dev
  (headers, the .so link, hpool.pc, libhpool(3)); no .la anywhere.
- dpkg -i of the three. systemd is not PID 1 here, so the service cannot
  run: the maintainer scripts only start units when /run/systemd/system
  exists, and a policy-rc.d that refuses is put in place for the install
  (only if none exists) in case it does. Then: ExecStart's program is
  executable and passes -t with the absent config the unit names; the
  example is a conffile; /run/hpool exists (tmpfiles.d, made by the
  postinst); the user and group hpool exist (sysusers.d, the postinst);
  the socket is enabled (deb-systemd-helper's symlink); the installed
  units pass systemd-analyze verify and security (at most 2.0); a C
  program builds with pkg-config's flags and runs against libhpool.
- dpkg --purge: every file gone, /etc/hpool and the enablement links
  too. A user, group or /run/hpool the test made is removed again.

Needs root (dpkg); refuses to run where an hpool package is installed
already, rather than replace it."""

import os
import re
import shutil
import subprocess
import tempfile
import time

import harness as h

MAX_EXPOSURE = 2.0
BUILD_TIMEOUT = 900
TOP_SRCDIR = os.path.abspath(os.environ.get("TOP_SRCDIR") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", ".."))
# build trees that may sit inside the sources: the quickstart's, and
# make distcheck's
SKIP_DIRS = {".git", "build", "build-asan", "_build", "_inst",
    "autom4te.cache"}
POLICY_RC = "/usr/sbin/policy-rc.d"
PACKAGES = ("hpool", "libhpool-dev")	# plus the library, by SONAME
C_PROGRAM = r"""
#include <stdio.h>
#include <string.h>
#include <hpool.h>
int main(void) { printf("%s\n", hpool_version()); return 0; }
"""


def run(argv, timeout=300, **kw):
	return subprocess.run(argv, capture_output=True, text=True,
	    timeout=timeout, stdin=subprocess.DEVNULL, **kw)


def copy_sources(dst):
	"""The sources without build trees or generated files: git's list
	of files (tracked and untracked, not ignored) in a work tree, else
	the tree minus SKIP_DIRS."""
	cp = run(["git", "-C", TOP_SRCDIR, "ls-files", "-co",
	    "--exclude-standard", "-z"])
	if cp.returncode == 0 and cp.stdout:
		names = [n for n in cp.stdout.split("\0") if n]
	else:
		names = []
		for root, dirs, files in os.walk(TOP_SRCDIR):
			dirs[:] = [d for d in dirs if d not in SKIP_DIRS and
			    not os.path.exists(os.path.join(root, d,
			    "config.status"))]
			rel = os.path.relpath(root, TOP_SRCDIR)
			names += [os.path.normpath(os.path.join(rel, f)) for f in
			    files]
	for n in names:
		src = os.path.join(TOP_SRCDIR, n)
		if not os.path.lexists(src):
			continue	# deleted in the work tree, not committed
		os.makedirs(os.path.join(dst, os.path.dirname(n)), exist_ok=True)
		out = os.path.join(dst, n)
		shutil.copy2(src, out, follow_symlinks=False)
		if not os.path.islink(out):	# make distcheck's are read-only
			os.chmod(out, os.stat(out).st_mode | 0o200)
	return len(names)


def deb_files(deb):
	cp = run(["dpkg-deb", "-c", deb])
	out = set()
	for l in cp.stdout.splitlines():
		path = l.split(None, 5)[5].split(" -> ")[0]
		if not path.endswith("/"):
			out.add(re.sub(r"^\./", "", path))
	return out


def deb_field(deb, field):
	return run(["dpkg-deb", "-f", deb, field]).stdout.strip()


def soname(deb, tmp):
	d = os.path.join(tmp, "x-" + os.path.basename(deb))
	run(["dpkg-deb", "-x", deb, d])
	for root, dirs, files in os.walk(d):
		for f in files:
			p = os.path.join(root, f)
			if re.match(r"libhpool\.so\.\d+\.\d+\.\d+$", f):
				m = re.search(r"SONAME\s+(\S+)", run(["objdump", "-p",
				    p]).stdout)
				return m.group(1) if m else None
	return None


def dpkg(*args):
	"""dpkg, retried while another dpkg holds the lock (bounded)."""
	for _ in range(12):
		cp = run(["dpkg"] + list(args), timeout=300)
		if "lock" not in cp.stderr or cp.returncode == 0:
			return cp
		time.sleep(5)
	return cp


def exists(kind, name):
	return run(["getent", kind, name]).returncode == 0


def body(res):
	if os.geteuid() != 0:
		raise h.SetupError("dpkg -i needs root; run as root (CI does)")
	cp = run(["dpkg-query", "-W", "-f=${Status}", "hpool"])
	if "installed" in cp.stdout and "not-installed" not in cp.stdout:
		raise h.SetupError("an hpool package is installed here already "
		    "(%s): not replacing it" % cp.stdout)
	tmp = tempfile.mkdtemp(prefix="hpool-pkg-")
	h._cleanups.append(lambda: shutil.rmtree(tmp, ignore_errors=True))
	src = os.path.join(tmp, "hpool")
	n = copy_sources(src)
	res.check("copy of the sources (%d files) with debian/rules" % n,
	    os.access(os.path.join(src, "debian", "rules"), os.X_OK))

	env = dict(os.environ)
	env["DEB_BUILD_OPTIONS"] = "nocheck parallel=2"
	for k in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "DESTDIR"):
		env.pop(k, None)	# make check's, not the package build's
	t0 = time.monotonic()
	cp = run(["dpkg-buildpackage", "-b", "-us", "-uc"], cwd=src,
	    timeout=BUILD_TIMEOUT, env=env)
	took = time.monotonic() - t0
	print("# dpkg-buildpackage -b (nocheck): %.1f s" % took)
	debs = {f.split("_")[0]: os.path.join(tmp, f) for f in os.listdir(tmp)
	    if f.endswith(".deb") and "-dbgsym_" not in f}
	if not res.check("dpkg-buildpackage -b -us -uc: exit 0, three "
	    "packages", cp.returncode == 0 and len(debs) == 3, (cp.returncode,
	    sorted(debs), cp.stdout[-800:], cp.stderr[-800:])):
		return
	changes = [os.path.join(tmp, f) for f in os.listdir(tmp)
	    if f.endswith(".changes")]
	cp = run(["lintian", "--tag-display-limit", "0", "-I"] + changes,
	    timeout=600)
	tags = [l for l in cp.stdout.splitlines() if re.match(r"[EWIP]: ", l)]
	for l in tags:
		print("# lintian: " + l)
	res.check("lintian: no error (%d warnings, %d notes)" % (
	    sum(l.startswith("W:") for l in tags),
	    sum(l.startswith("I:") for l in tags)), not any(
	    l.startswith("E:") for l in tags) and cp.returncode in (0, 2),
	    (cp.returncode, tags[:10], cp.stderr[-300:]))

	lib = [p for p in debs if p not in PACKAGES]
	so = soname(debs[lib[0]], tmp) if len(lib) == 1 else None
	want_lib = re.sub(r"\.so\.(\d+)$", r"\1", so or "")
	res.check("the library package is named after its SONAME (%s: %s)" %
	    (so, want_lib), lib == [want_lib], (lib, so))
	if lib != [want_lib]:
		return
	libpkg = want_lib
	ma = run(["dpkg-architecture", "-qDEB_HOST_MULTIARCH"]).stdout.strip()
	files = {p: deb_files(d) for p, d in debs.items()}
	want = {
	    "hpool": {"usr/sbin/hpoold", "usr/bin/hpool",
		"lib/systemd/system/hpoold.service",
		"lib/systemd/system/hpoold.socket",
		"usr/lib/sysusers.d/hpool.conf", "usr/lib/tmpfiles.d/hpool.conf",
		"etc/hpool/hpoold.conf.example",
		"usr/share/man/man1/hpool.1.gz",
		"usr/share/man/man5/hpoold.conf.5.gz",
		"usr/share/man/man8/hpoold.8.gz"},
	    "libhpool-dev": {"usr/include/hpool.h", "usr/include/hpool_error.h",
		"usr/lib/%s/libhpool.so" % ma,
		"usr/lib/%s/pkgconfig/hpool.pc" % ma,
		"usr/share/man/man3/libhpool.3.gz"},
	    libpkg: {"usr/lib/%s/%s" % (ma, so)},
	}
	for p, w in want.items():
		got = {f for f in files[p] if not f.startswith("usr/share/doc/")}
		if p == libpkg:
			# the SONAME link and the versioned file it points to
			w = w | {f for f in got if re.match(re.escape(
			    "usr/lib/%s/%s." % (ma, so)) + r"\d+\.\d+$", f)}
		res.check("package %s: exactly its files" % p, got == w and len(w)
		    >= 2, "missing %s, extra %s" % (sorted(w - got),
		    sorted(got - w)))
	res.check("no .la in any package", not any(f.endswith(".la") for fs
	    in files.values() for f in fs))
	dev_dep = deb_field(debs["libhpool-dev"], "Depends")
	res.check("libhpool-dev depends on %s of its own version" % libpkg,
	    re.search(r"\b%s \(= 0\.\d+\.\d+\S*\)" % re.escape(libpkg), dev_dep)
	    is not None, dev_dep)

	had = {"user": exists("passwd", "hpool"), "group": exists("group",
	    "hpool"), "run": os.path.exists("/run/hpool")}
	systemd_pid1 = os.path.isdir("/run/systemd/system")
	print("# systemd as PID 1: %s (the maintainer scripts start units "
	    "only then)" % ("yes" if systemd_pid1 else "no"))
	made_policy = False
	if not os.path.lexists(POLICY_RC):
		with open(POLICY_RC, "w") as f:
			f.write("#!/bin/sh\n# hpool test_package.py: no service "
			    "starts during its dpkg -i\nexit 101\n")
		os.chmod(POLICY_RC, 0o755)
		made_policy = True

	def restore():
		if made_policy and os.path.exists(POLICY_RC):
			os.unlink(POLICY_RC)
		run(["dpkg", "--purge", "hpool", "libhpool-dev", libpkg])
		if not had["user"] and exists("passwd", "hpool"):
			run(["userdel", "hpool"])
		if not had["group"] and exists("group", "hpool"):
			run(["groupdel", "hpool"])
		if not had["run"] and os.path.isdir("/run/hpool"):
			shutil.rmtree("/run/hpool", ignore_errors=True)
	h._cleanups.append(restore)

	cp = dpkg("-i", debs["hpool"], debs[libpkg], debs["libhpool-dev"])
	if made_policy:
		os.unlink(POLICY_RC)
	if not res.check("dpkg -i of the three packages: exit 0",
	    cp.returncode == 0, (cp.stdout[-600:], cp.stderr[-600:])):
		return
	installed(res, ma, so)

	cp = dpkg("--purge", "hpool", "libhpool-dev", libpkg)
	res.check("dpkg --purge: exit 0", cp.returncode == 0,
	    (cp.stdout[-600:], cp.stderr[-600:]))
	left = sorted("/" + f for fs in files.values() for f in fs
	    if os.path.lexists("/" + f) and not os.path.isdir("/" + f))
	res.check("after the purge: none of the packages' files is left",
	    not left, left)
	res.check("after the purge: /etc/hpool and the socket's enablement "
	    "link are gone", not os.path.exists("/etc/hpool") and not
	    os.path.lexists("/etc/systemd/system/sockets.target.wants/"
	    "hpoold.socket"))


def installed(res, ma, so):
	svc = open("/lib/systemd/system/hpoold.service").read()
	sock = open("/lib/systemd/system/hpoold.socket").read()
	m = re.search(r"^ExecStart=(\S+) (.*)$", svc, re.M)
	argv = [m.group(1)] + m.group(2).split() if m else []
	res.check("ExecStart is /usr/sbin/hpoold --foreground --config "
	    "/etc/hpool/hpoold.conf, executable", argv == ["/usr/sbin/hpoold",
	    "--foreground", "--config", "/etc/hpool/hpoold.conf"] and
	    os.access(argv[0], os.X_OK), argv)
	cp = run(argv[:1] + ["-t"] + argv[2:])
	res.check("the unit's command with -t: the config is absent (only the "
	    "example is installed), built-in defaults, exit 0",
	    cp.returncode == 0 and "/etc/hpool/hpoold.conf does not exist" in
	    cp.stdout, (cp.returncode, cp.stdout, cp.stderr))
	conff = run(["dpkg-query", "-W", "-f=${Conffiles}", "hpool"]).stdout
	res.check("/etc/hpool/hpoold.conf.example: installed, a conffile",
	    os.path.isfile("/etc/hpool/hpoold.conf.example") and
	    "/etc/hpool/hpoold.conf.example" in conff, conff)
	m = re.search(r"^ListenStream=(\S+)$", sock, re.M)
	d = os.path.dirname(m.group(1)) if m else None
	st = os.stat(d) if d and os.path.isdir(d) else None
	res.check("the socket's directory %s exists, 0755 root (tmpfiles.d "
	    "in the postinst)" % d, st is not None and st.st_uid == 0 and
	    (st.st_mode & 0o7777) == 0o755, st)
	res.check("user and group hpool exist (sysusers.d in the postinst)",
	    exists("passwd", "hpool") and exists("group", "hpool"))
	res.check("hpoold.socket enabled (sockets.target.wants link)",
	    os.path.realpath("/etc/systemd/system/sockets.target.wants/"
	    "hpoold.socket") == os.path.realpath(
	    "/lib/systemd/system/hpoold.socket"))
	units = ["/lib/systemd/system/hpoold.service",
	    "/lib/systemd/system/hpoold.socket"]
	cp = run(["systemd-analyze", "verify", "--man=no"] + units)
	res.check("installed units: systemd-analyze verify clean",
	    cp.returncode == 0 and not cp.stdout.strip() and
	    not cp.stderr.strip(), (cp.stdout[-400:], cp.stderr[-400:]))
	cp = run(["systemd-analyze", "security", "--offline=true",
	    "--no-pager", "--threshold=%d" % round(MAX_EXPOSURE * 10),
	    units[0]])
	m = re.search(r"Overall exposure level for hpoold\.service: ([0-9.]+)",
	    cp.stdout)
	res.check("installed hpoold.service: exposure %s, at most %.1f" % (
	    m.group(1) if m else None, MAX_EXPOSURE), m is not None and
	    float(m.group(1)) <= MAX_EXPOSURE and cp.returncode == 0,
	    cp.stdout[-300:])
	tmp = tempfile.mkdtemp(prefix="hpool-pkg-c-")
	h._cleanups.append(lambda: shutil.rmtree(tmp, ignore_errors=True))
	c = os.path.join(tmp, "v.c")
	with open(c, "w") as f:
		f.write(C_PROGRAM)
	flags = run(["pkg-config", "--cflags", "--libs", "hpool"]).stdout.split()
	cp = run(["cc", "-o", os.path.join(tmp, "v"), c] + flags)
	out = run([os.path.join(tmp, "v")]) if cp.returncode == 0 else cp
	ldd = run(["ldd", os.path.join(tmp, "v")]).stdout
	m = re.search(r"^\s*%s => (\S+)" % re.escape(so), ldd, re.M)
	res.check("a C program built with pkg-config's hpool flags runs on "
	    "/usr/lib/%s/%s" % (ma, so), out.returncode == 0 and
	    re.match(r"\d+\.\d+\.\d+\n$", out.stdout) is not None and
	    m is not None and os.path.realpath(m.group(1)) ==
	    os.path.realpath("/usr/lib/%s/%s" % (ma, so)), (flags, out.stdout,
	    out.stderr[-300:], ldd))


if __name__ == "__main__":
	h.main(body)
