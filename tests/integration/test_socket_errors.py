#!/usr/bin/env python3
"""What a caller is told when hpoold's socket cannot be reached
(libclient/link.c, sockpath.c), through the hpool command, run as a
second uid (nobody, with setpriv) against an hpoold this test starts as
root with its socket in a temp dir.

- EACCES on a socket of mode 0660 whose group the caller is not in:
  HpoolDaemonUnavailable, the path and "Permission denied" first, then
  the socket's group by name and "join that group"; the same caller with
  that group as a supplementary one gets through (a refusal from hpoold's
  connect to a closed port, not from the socket). A socket of mode 0600:
  its mode and owner, and that socket_mode decides.
- No socket at the path (ENOENT), a socket nobody accepts on
  (ECONNREFUSED): the path, and that hpoold is not running there.
- No XDG_RUNTIME_DIR and no HPOOL_SOCKET for a non-root caller: pass
  --socket or set HPOOL_SOCKET. A non-root hpoold without XDG_RUNTIME_DIR
  and no socket setting: exit 1, pass --socket."""

import grp
import os
import pwd
import socket
import subprocess

import harness as h

GROUP = "adm"		# a group nobody is not in: the socket's


def as_nobody(argv, env=None, groups=None):
	"""argv run as nobody (its own group; groups: supplementary gids)."""
	nobody = pwd.getpwnam("nobody")
	pre = ["setpriv", "--reuid=%d" % nobody.pw_uid,
	    "--regid=%d" % nobody.pw_gid]
	if groups:
		pre.append("--groups=" + ",".join(str(g) for g in groups))
	else:
		pre.append("--clear-groups")
	return h.run_capture(pre + argv, timeout=30, env=env)


def clean_env(**extra):
	env = {k: v for k, v in os.environ.items() if k not in ("HPOOL_SOCKET",
	    "XDG_RUNTIME_DIR") and not k.lower().endswith("_proxy")}
	env.update(extra)
	return env


def error_is(res, what, cp, name, message):
	got = h.cli_error(cp.stderr)
	return res.check("%s: %s: %s" % (what, name, message), got is not None
	    and got[0] == name and got[1].rstrip("\n") == message,
	    h.describe(cp, 600))


def permission(res, env):
	gid = grp.getgrnam(GROUP).gr_gid
	# start_hpoold's socket_mode is 0666: the socket made 0660 here
	p, sock, log, conf = h.start_hpoold(env, "", "perm")
	os.chmod(env.tmp, 0o755)
	os.chown(sock, 0, gid)
	os.chmod(sock, 0o660)
	url = "http://127.0.0.1:%d/" % h.closed_port()
	cp = as_nobody([h.HPOOL, "--socket", sock, url], env=clean_env())
	error_is(res, "a 0660 socket of group %s, the caller not in it" %
	    GROUP, cp, "HpoolDaemonUnavailable", "cannot connect to hpoold at "
	    "%s: Permission denied; the socket is for group '%s' (mode 0660) "
	    "and this process is not in it: join that group (usermod -aG "
	    "GROUP USER, then log in again)" % (sock, GROUP))
	cp = as_nobody([h.HPOOL, "--socket", sock, url], env=clean_env(),
	    groups=[gid])
	got = h.cli_error(cp.stderr)
	res.check("...in group %s the same call reaches hpoold (its connect "
	    "to a closed port is refused)" % GROUP, got is not None and
	    got[0] == "ConnectionRefusedError", h.describe(cp))
	os.chmod(sock, 0o600)
	cp = as_nobody([h.HPOOL, "--socket", sock, url], env=clean_env(),
	    groups=[gid])
	error_is(res, "a 0600 socket", cp, "HpoolDaemonUnavailable",
	    "cannot connect to hpoold at %s: Permission denied; the socket's "
	    "mode is 0600 (owner uid 0, group '%s'): hpoold's socket_mode sets "
	    "who may connect" % (sock, GROUP))
	h.stop_hpoold(res, p, log, "the daemon of the permission cases")


def not_running(res, env):
	url = "http://127.0.0.1:%d/" % h.closed_port()
	missing = env.path("missing.sock")
	cp = h.run_capture([h.HPOOL, url], timeout=30,
	    env=clean_env(HPOOL_SOCKET=missing))
	error_is(res, "no socket at HPOOL_SOCKET", cp,
	    "HpoolDaemonUnavailable", "cannot connect to hpoold at %s: No "
	    "such file or directory; hpoold is not running there (no socket "
	    "at that path): start it, or pass the socket it listens on (hpool "
	    "--socket PATH, or HPOOL_SOCKET=PATH)" % missing)
	stale = env.path("stale.sock")
	s = socket.socket(socket.AF_UNIX)
	s.bind(stale)
	s.close()
	cp = h.run_capture([h.HPOOL, "--socket", stale, url], timeout=30,
	    env=clean_env())
	error_is(res, "a socket nobody accepts on", cp,
	    "HpoolDaemonUnavailable", "cannot connect to hpoold at %s: "
	    "Connection refused; hpoold is not running there (the socket is "
	    "left from one that stopped): start it" % stale)


def no_xdg(res, env):
	if os.path.exists("/run/hpool/hpoold.sock"):
		res.ok("no XDG_RUNTIME_DIR: skipped, a system hpoold's socket "
		    "is there")
		return
	url = "http://127.0.0.1:%d/" % h.closed_port()
	cp = as_nobody([h.HPOOL, url], env=clean_env())
	error_is(res, "no XDG_RUNTIME_DIR, no HPOOL_SOCKET, not root", cp,
	    "HpoolDaemonUnavailable", "cannot connect to hpoold at "
	    "/run/hpool/hpoold.sock: No such file or directory; hpoold is not "
	    "running there, and XDG_RUNTIME_DIR is not set, so a user's hpoold "
	    "was not looked for: pass its socket (hpool --socket PATH, or "
	    "HPOOL_SOCKET=PATH)")
	try:
		st = os.stat("/run/hpool")
	except FileNotFoundError:
		st = None
	if st is not None and (st.st_uid == pwd.getpwnam("nobody").pw_uid or
	    st.st_mode & 0o002):
		res.ok("hpoold without XDG_RUNTIME_DIR: skipped, nobody may "
		    "write /run/hpool")
		return
	cp = as_nobody([h.HPOOLD, "--foreground", "--workers", "1"],
	    env=clean_env())
	want = (b"hpoold: error: XDG_RUNTIME_DIR is not set, so hpoold (not "
	    b"root) defaults to /run/hpool/hpoold.sock: pass --socket PATH (or "
	    b"socket = PATH in the config)\n")
	res.check("hpoold as nobody without XDG_RUNTIME_DIR: exit 1, pass "
	    "--socket", cp.returncode == 1 and cp.stderr.endswith(want),
	    h.describe(cp, 600))


def body(res):
	if os.geteuid() != 0:
		res.ok("skipped: a second uid needs root")
		return
	env = h.Env(nginx=False, daemon=False, echo=False)
	permission(res, env)
	not_running(res, env)
	no_xdg(res, env)


if __name__ == "__main__":
	h.main(body)
