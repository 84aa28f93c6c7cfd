#!/usr/bin/env python3
"""hpoold's config check (`hpoold -t -c FILE`) and what a SIGHUP reload
says about the settings it changed (daemon/config.c).

- Each bad file makes `hpoold -t` exit 1 with exactly one line on stderr,
  "hpoold: config: FILE:LINE: ...", naming the line the setting is on,
  the setting, its value and what is expected: two unknown settings are
  reported as the first one with its own line; a section header without
  its ']' and a line that is not NAME = VALUE are named as such; a
  setting given twice names both lines (the lists rule, no_proxy and
  resolve may repeat); octal ranges are written in octal; a line longer
  than the reader's 199 bytes is refused, not cut short; errors found
  after the last line (a proxy section without url, a rule naming no
  proxy section, a credentials_file) name the line they are about.
- A directory, a FIFO, a dangling symbolic link, an unreadable file
  (checked as nobody) and a file with a NUL byte are refused naming the
  path and why; a FIFO does not hang the check.
- SIGHUP: one "reload: SETTING: OLD -> NEW: ..." line per changed
  setting, saying whether it applies now or needs a restart
  (socket_mode on the same socket), a new socket path moving the daemon
  there (the new socket accepts, the old file is gone), and "no setting
  changed" for an unchanged file."""

import os
import pwd
import shutil
import signal
import subprocess
import time

import harness as h

LOG_WAIT = 10.0		# seconds for a reload's lines to reach the log

# (what, file text, expected message after "FILE:", or None: accepted)
CASES = [
	("two unknown settings: the first, with its own line",
	    "[hpoold]\nfoo = 1\nbar = 2\n",
	    "2: unknown setting 'foo' in [hpoold] (hpoold.conf(5) lists them)"),
	("a section header without ']'",
	    "[hpoold\nmax_per_host = 1\n",
	    "1: section header '[hpoold' has no closing ']': a section is "
	    "[NAME]"),
	("a section header without ']' after good lines",
	    "[hpoold]\nmax_per_host = 4\n[policy\nrule = dest a.example "
	    "-> deny\n",
	    "3: section header '[policy' has no closing ']': a section is "
	    "[NAME]"),
	("a line that is not NAME = VALUE",
	    "[hpoold]\n# comment\nmax_per_host 4\n",
	    "3: 'max_per_host 4' is not a setting: a setting is NAME = VALUE"),
	("a syntax error before a bad setting: the syntax error",
	    "[hpoold]\njunk\nfoo = 1\n",
	    "2: 'junk' is not a setting: a setting is NAME = VALUE"),
	("a bad setting before a syntax error: the setting",
	    "[hpoold]\nfoo = 1\njunk\n",
	    "2: unknown setting 'foo' in [hpoold] (hpoold.conf(5) lists them)"),
	("a value out of range, after a comment",
	    "[hpoold]\n# comment\nmax_per_host = lots\n",
	    "3: max_per_host: 'lots' is not a number from 1 to 65535"),
	("socket_mode out of range: the range in octal",
	    "[hpoold]\nsocket_mode = 999\n",
	    "2: socket_mode: '999' is not an octal number from 0000 to 0777"),
	("a setting given twice: both lines",
	    "[hpoold]\nmax_per_host = 1\nworkers = 1\nmax_per_host = 2\n",
	    "4: [hpoold] max_per_host: '2' given a second time (first at line "
	    "2): max_per_host is given once"),
	("a setting given twice in a reopened section",
	    "[hpoold]\nio_timeout = 5\n[policy]\nrule = dest a.example -> "
	    "deny\n[hpoold]\nio_timeout = 6\n",
	    "6: [hpoold] io_timeout: '6' given a second time (first at line "
	    "2): io_timeout is given once"),
	("a proxy's url given twice (the section spelt two ways)",
	    "[proxy corp]\nurl = http://127.0.0.1:3128\n[proxy  corp ]\n"
	    "url = http://127.0.0.1:3129\n",
	    "4: [proxy corp] url: 'http://127.0.0.1:3129' given a second time "
	    "(first at line 2): url is given once"),
	("an indented line (inih's continuation) of a setting given once",
	    "[hpoold]\nmax_per_host = 1\n  2\n",
	    "3: [hpoold] max_per_host: '2' on an indented line, which "
	    "continues the setting above it: max_per_host is given once "
	    "(line 2)"),
	("the lists repeat: rule, no_proxy, resolve",
	    "[hpoold]\nproxy = http://127.0.0.1:3128\nno_proxy = a.example\n"
	    "no_proxy = b.example\nresolve = a.example:80:127.0.0.1\n"
	    "resolve = b.example:80:127.0.0.1\n[policy]\nrule = dest "
	    "a.example -> deny\nrule = dest b.example -> direct\n", None),
	("socket_mode = 0600 is taken", "[hpoold]\nsocket_mode = 0600\n",
	    None),
	("a line longer than 199 bytes is refused, not cut short",
	    "[hpoold]\nmax_per_host = 4\nsocket = /" + "a" * 250 + "\n",
	    "3: a line holds at most 199 bytes, this one 260"),
	("an unknown section",
	    "[hpoold]\nmax_per_host = 4\n[pool]\nsize = 1\n",
	    "4: unknown section [pool] (the sections are [hpoold], [policy] "
	    "and [proxy NAME])"),
	("a bad log_level",
	    "[hpoold]\nlog_level = loud\n",
	    "2: log_level: 'loud' is not one of error, warning, info, debug"),
	("a proxy section without url: its line",
	    "[hpoold]\nworkers = 1\n[proxy corp]\nforward = absolute\n",
	    "4: [proxy corp]: no url"),
	("a rule naming no proxy section: the rule's line",
	    "[policy]\nrule = dest a.example -> deny\nrule = dest b.example "
	    "-> proxy nope\n",
	    "3: rule 2 (dest b.example -> proxy nope): no [proxy nope] "
	    "section"),
	("a missing credentials_file: its line",
	    "[proxy corp]\nurl = http://127.0.0.1:3128\n\ncredentials_file = "
	    "/nonexistent/creds\n",
	    "4: proxy corp: credentials_file /nonexistent/creds: No such file "
	    "or directory"),
	("an unsupported proxy scheme: the url's line",
	    "[hpoold]\nworkers = 1\n[proxy old]\nurl = socks4://127.0.0.1:1080\n",
	    "4: [proxy old] url: 'socks4://127.0.0.1:1080': the scheme "
	    "'socks4' is not http, https or socks5h"),
	("a warm URL with credentials: its line",
	    "[hpoold]\nwarm = http://127.0.0.1:8080/ 2\nwarm = "
	    "http://u:p@127.0.0.1:8081/ 1\n",
	    "3: warm: 'http://u:p@127.0.0.1:8081/' is not an http:// or "
	    "https:// URL with a host (and no user:password)"),
	("a bad nameserver in a list: its line",
	    "[hpoold]\nworkers = 1\nnameserver = 127.0.0.1:53, 10.0.0.300\n",
	    "3: nameserver: '10.0.0.300' is not an IP address with an "
	    "optional :PORT"),
	("a missing proxy CA file: the cacert line",
	    "[proxy tls]\nurl = https://127.0.0.1:8443\n\ncacert = "
	    "/nonexistent/ca.pem\n",
	    "4: proxy tls: cacert /nonexistent/ca.pem: No such file or "
	    "directory"),
]


def check(path):
	return h.run_capture([h.HPOOLD, "-t", "-c", path], timeout=30)


def refused(res, what, cp, message):
	"""exit 1 and exactly "hpoold: config: MESSAGE\\n" on stderr."""
	want = ("hpoold: config: %s\n" % message).encode()
	return res.check("%s: exit 1, %r" % (what, message), cp.returncode == 1
	    and cp.stderr == want and cp.stdout == b"", h.describe(cp, 600))


def files(res, env):
	for i, (what, text, message) in enumerate(CASES):
		path = env.path("case-%d.conf" % i)
		with open(path, "w") as f:
			f.write(text)
		cp = check(path)
		if message is None:
			res.check("%s: exit 0, configuration ok" % what,
			    cp.returncode == 0 and cp.stdout ==
			    b"hpoold: configuration ok\n" and cp.stderr == b"",
			    h.describe(cp))
		else:
			refused(res, what, cp, "%s:%s" % (path, message))


def paths(res, env):
	d = env.path("conf.d")
	os.mkdir(d)
	refused(res, "a directory", check(d),
	    "%s: is a directory, not a config file" % d)
	fifo = env.path("fifo.conf")
	os.mkfifo(fifo)
	try:
		cp = h.run_capture([h.HPOOLD, "-t", "-c", fifo], timeout=5)
	except TimeoutError as e:
		res.fail("a FIFO (no writer): the check does not wait for one",
		    e)
	else:
		refused(res, "a FIFO (no writer: the check does not wait for "
		    "one)", cp, "%s: not a regular file" % fifo)
	# (a path where nothing is may mean the built-in defaults: a
	# dangling link is something an admin put there)
	dangling = env.path("dangling.conf")
	os.symlink(env.path("nowhere.conf"), dangling)
	refused(res, "a dangling symbolic link", check(dangling),
	    "%s: cannot open: No such file or directory" % dangling)
	nul = env.path("nul.conf")
	with open(nul, "wb") as f:
		f.write(b"[hpoold]\nworkers = 1\nmax_per_host = 4\0\n")
	refused(res, "a NUL byte", check(nul), "%s:3: holds a NUL byte" % nul)
	if os.geteuid() != 0:
		res.ok("an unreadable file: skipped, needs root to run as "
		    "nobody")
		return
	# as nobody, a file only root may read (its directory open to
	# all): the config check names the path and EACCES
	ro = env.path("secret.conf")
	with open(ro, "w") as f:
		f.write("[hpoold]\nworkers = 1\n")
	os.chmod(ro, 0o600)
	os.chmod(env.tmp, 0o755)
	nobody = pwd.getpwnam("nobody")
	cp = h.run_capture(["setpriv", "--reuid=%d" % nobody.pw_uid,
	    "--regid=%d" % nobody.pw_gid, "--clear-groups", h.HPOOLD, "-t",
	    "-c", ro], timeout=30)
	refused(res, "a file hpoold's user may not read (as nobody)", cp,
	    "%s: cannot open: Permission denied" % ro)


def wait_lines(log, since, pred, timeout):
	"""The log's lines after byte since once pred(lines) holds, bounded
	by timeout; the last lines read otherwise."""
	deadline = time.monotonic() + timeout
	while True:
		with open(log, "rb") as f:
			f.seek(since)
			lines = f.read().decode(errors="replace").splitlines()
		if pred(lines) or time.monotonic() > deadline:
			return lines
		time.sleep(0.05)


def reload_lines(lines):
	return [l.split("info: reload: ", 1)[1] for l in lines
	    if "info: reload: " in l]


def sighup(res, env):
	"""SIGHUP to the hpoold this test started: the changed settings, one
	line each."""
	conf = env.path("hup.conf")
	sock_a = env.path("a.sock")
	sock_b = env.path("b.sock")
	log = env.path("hup.log")
	base = "[hpoold]\nworkers = 1\nmax_per_host = 4\n"
	with open(conf, "w") as f:
		f.write(base + "socket = %s\n" % sock_a)
	with open(log, "ab") as out:
		p = h.spawn([h.HPOOLD, "--foreground", "-c", conf],
		    stdin=subprocess.DEVNULL, stdout=out, stderr=out)
	h.wait_until(lambda: h.unix_accepts(sock_a), h.START_TIMEOUT,
	    "hpoold on " + sock_a, p, log)
	h.wait_workers(p.pid, 1)

	def hup(text, last="info: reloaded "):
		"""The reload lines of a SIGHUP with text, once a line with
		last is logged."""
		with open(conf, "w") as f:
			f.write(text)
		since = os.path.getsize(log)
		p.send_signal(signal.SIGHUP)
		return reload_lines(wait_lines(log, since, lambda ls:
		    any(last in l for l in ls), LOG_WAIT))

	got = hup(base.replace("max_per_host = 4", "max_per_host = 8") +
	    "socket = %s\nsocket_mode = 0600\nidle_timeout = 5\n"
	    "[policy]\nrule = dest a.example -> deny\n" % sock_a)
	want = [
	    "socket_mode: 0660 -> 0600: needs a restart: %s keeps mode 0660 "
	    "until hpoold restarts (or the socket setting moves it)" % sock_a,
	    "max_per_host: 4 -> 8: applies now",
	    # not in the file: the effective value, capped by max_per_host
	    "max_idle_per_host: 4 -> 8: applies now",
	    "idle_timeout: 60 -> 5: applies now",
	    "rules and proxies: changed: apply now, to each request from now "
	    "on",
	]
	res.check("SIGHUP: one line per changed setting, live ones apply "
	    "now, socket_mode on the same socket needs a restart", got == want,
	    got)
	res.check("...and the socket kept its mode 0660",
	    os.stat(sock_a).st_mode & 0o777 == 0o660,
	    oct(os.stat(sock_a).st_mode))

	got = hup(base.replace("max_per_host = 4", "max_per_host = 8") +
	    "socket = %s\nsocket_mode = 0600\nidle_timeout = 5\n"
	    "[policy]\nrule = dest a.example -> deny\n" % sock_b,
	    # logged once the old socket file is removed
	    "info: listening on %s instead of %s" % (sock_b, sock_a))
	want = [
	    "socket: %s -> %s: applies now: new workers listen there; the old "
	    "socket is removed and its workers finish their sessions" % (
	    sock_a, sock_b),
	    "socket_mode: 0660 -> 0600: applies now, to the new socket %s" %
	    sock_b,
	]
	res.check("SIGHUP with a new socket path: it applies now, and so "
	    "does socket_mode, to the new socket", got == want, got)
	moved = h.unix_accepts(sock_b) and not os.path.exists(sock_a)
	res.check("...the new socket accepts with mode 0600, the old one is "
	    "gone", moved and os.stat(sock_b).st_mode & 0o777 == 0o600,
	    (os.path.exists(sock_a), os.path.exists(sock_b)))

	got = hup(base.replace("workers = 1", "workers = 2").replace(
	    "max_per_host = 4", "max_per_host = 8") + "socket = %s\n"
	    "socket_mode = 0600\nidle_timeout = 5\n[policy]\nrule = dest "
	    "a.example -> deny\n" % sock_b)
	res.check("SIGHUP with workers = 2: a new generation takes over",
	    got == ["workers: 1 -> 2: applies now: a new generation of 2 "
	    "takes over; the old one finishes its sessions"], got)
	h.wait_workers(p.pid, 2)
	with open(conf) as f:
		same = f.read()
	got = hup(same)
	res.check("SIGHUP with the same file: no setting changed",
	    got == ["no setting changed"], got)
	h.stop_hpoold(res, p, log, "SIGHUP reloads")


def body(res):
	env = h.Env(nginx=False, daemon=False, echo=False)
	files(res, env)
	paths(res, env)
	sighup(res, env)


if __name__ == "__main__":
	h.main(body)
