#!/usr/bin/env python3
"""hpool --stats (protocol 4's STATS, daemon/stats.c) and metrics_listen.

- a known workload on an hpoold with 2 workers: 50 requests over 2
  destinations (nginx as 127.0.0.1 and as localhost), 2 OPENs the policy
  denies and 1 request to a closed port: --stats --json counts each
  exactly (per pool, per caller, per worker, the totals), and the table
  says the same;
- --prometheus parsed by python3-prometheus-client's parser: every
  number the JSON has; GET /metrics on metrics_listen the same, other
  paths 404, POST 405;
- STATUS= (NOTIFY_SOCKET pointed at a datagram socket of the test) after
  a stats round says the totals the round answered;
- a worker stopped (SIGSTOP) during a round: the answer comes within the
  round's wait and names the worker missing;
- who may read: uid 0; `nobody` is refused with PermissionError naming
  the rule (exit 122); `nobody` with stats_group as its gid or one of its
  supplementary groups (SO_PEERGROUPS) may;
- TLS and a proxy's route: 3 https requests on new connections (the
  first handshake full, the next two resumed) and 2 through a proxy of
  the daemon's (tinyproxy): the pool rows say tls, full and resumed
  handshakes, and "proxy tp", never the proxy's password;
- config: metrics_listen on a non-loopback address is refused by
  hpoold -t.
Every server on 127.0.0.1; processes stopped by PID."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import harness as h
from tlsenv import Certs, TlsNginx

try:
	from prometheus_client.parser import text_string_to_metric_families
except ImportError:
	# Debian's python3-prometheus-client, when python3 is not Debian's
	sys.path.append("/usr/lib/python3/dist-packages")
	try:
		from prometheus_client.parser import text_string_to_metric_families
	except ImportError:
		text_string_to_metric_families = None

SIZE = 3000


class Notify:
	"""A NOTIFY_SOCKET of the test's: the datagrams hpoold sent."""

	def __init__(self, path):
		self.path = path
		self.s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
		self.s.bind(path)
		self.s.setblocking(False)
		h._cleanups.append(self.s.close)

	def drain(self):
		out = []
		for _ in range(10000):
			try:
				out.append(self.s.recv(4096).decode())
			except BlockingIOError:
				break
		return out


def start(env, name, conf, workers=2, extra_env=None):
	path = env.path(name + ".conf")
	with open(path, "w") as f:
		f.write("[hpoold]\nsocket_mode = 0666\n" + conf)
	sock = env.path(name + ".sock")
	log = env.path(name + ".log")
	e = dict(os.environ)
	for k in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "LISTEN_FDS",
	    "LISTEN_PID"):
		e.pop(k, None)
	e.update(extra_env or {})
	with open(log, "ab") as out:
		p = h.spawn([h.HPOOLD, "--foreground", "--socket", sock,
		    "--workers", str(workers), "-c", path],
		    stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=e)
	h.wait_until(lambda: h.unix_accepts(sock), h.START_TIMEOUT,
	    "hpoold on " + sock, p, log)
	h.wait_workers(p.pid, workers)
	return p, sock, log


def stats(env, sock, *args, run_as=None, timeout=30):
	argv = [h.HPOOL, "--stats", "--socket", sock] + list(args)
	if run_as is not None:
		argv = ["setpriv"] + run_as + ["--"] + argv
	return h.run_capture(argv, timeout=timeout)


def stats_json(env, sock):
	cp = stats(env, sock, "--json")
	if cp.returncode != 0:
		raise AssertionError("hpool --stats --json: %s" % h.describe(cp))
	return json.loads(cp.stdout)


def by_dest(j):
	return {p["destination"]: p for p in j["pools"]}


def prom_values(text):
	"""{(sample name, frozenset(labels)): value} from the Prometheus
	text, through python3-prometheus-client's parser."""
	out = {}
	for fam in text_string_to_metric_families(text):
		for s in fam.samples:
			out[(s.name, frozenset(s.labels.items()))] = s.value
	return out


def json_as_prom(j):
	"""What the Prometheus text must say, from --stats --json (all but
	uptime and the session counts a stats call itself changes)."""
	t = j["totals"]
	want = {
		("hpool_requests_total", frozenset()): t["requests"],
		("hpool_upstream_connects_total", frozenset()): t["connects"],
		("hpool_upstream_reuses_total", frozenset()): t["reuses"],
		("hpool_retries_total", frozenset()): t["retries"],
		("hpool_idle_connections", frozenset()): t["idle"],
		("hpool_busy_connections", frozenset()): t["busy"],
		("hpool_tls_handshakes_total", frozenset({("kind", "full")})):
		    t["tls_full"],
		("hpool_tls_handshakes_total", frozenset({("kind",
		    "resumed")})): t["tls_resumed"],
		("hpool_workers", frozenset({("state", "expected")})):
		    j["workers_expected"],
	}
	for p in j["pools"]:
		lab = frozenset({("destination", p["destination"]), ("route",
		    p["route"]), ("tls", "yes" if p["tls"] else "no")})
		for k, name in (("idle", "hpool_pool_idle_connections"),
		    ("busy", "hpool_pool_busy_connections"),
		    ("waiting", "hpool_pool_waiting_requests"),
		    ("connects", "hpool_pool_connects_total"),
		    ("reuses", "hpool_pool_reuses_total"),
		    ("failures", "hpool_pool_failures_total"),
		    ("tls_full", "hpool_pool_tls_full_total"),
		    ("tls_resumed", "hpool_pool_tls_resumed_total")):
			want[(name, lab)] = p[k]
	for c in j["callers"]:
		lab = frozenset({("uid", str(c["uid"])), ("unit", c["unit"])})
		for k in ("requests", "bytes_up", "bytes_down", "errors",
		    "denials"):
			want[("hpool_caller_%s_total" % k, lab)] = c[k]
	for w in j["workers"]:
		lab = frozenset({("worker", str(w["worker"])), ("pid",
		    str(w["pid"]))})
		want[("hpool_worker_requests_total", lab)] = w["requests"]
	return want


def compare(got, want):
	bad = {}
	for k, v in want.items():
		if k not in got or got[k] != v:
			bad[str(k)] = (got.get(k), v)
	return bad


def workload(res, env, notify):
	"""50 requests over 2 destinations, 2 denials, 1 refused connect."""
	port = h.free_port()
	p, sock, log = start(env, "work", "metrics_listen = 127.0.0.1:%d\n"
	    "[policy]\nrule = dest 127.0.0.9 -> deny\n" % port,
	    extra_env={"NOTIFY_SOCKET": notify.path})
	a = "http://127.0.0.1:%d" % env.nginx_port
	b = "http://localhost:%d" % env.nginx_port
	ok = 0
	for i in range(50):
		cp = env.hpool(["-s", "-S", "--socket", sock, (a if i % 2 else b)
		    + "/files/a.bin"])
		ok += cp.returncode == 0 and len(cp.stdout) == SIZE
	res.check("workload: 50 requests over 2 destinations, each whole",
	    ok == 50, "%d of 50" % ok)
	denied = [env.hpool(["-s", "--socket", sock,
	    "http://127.0.0.9:%d/" % env.nginx_port]).returncode
	    for _ in range(2)]
	closed = h.closed_port()
	refused = env.hpool(["-s", "--socket", sock,
	    "http://127.0.0.1:%d/" % closed]).returncode
	res.check("workload: 2 denials (exit 120), 1 refused connect (exit 7)",
	    denied == [120, 120] and refused == 7, (denied, refused))
	notify.drain()
	j = stats_json(env, sock)
	pools = by_dest(j)
	uid = os.getuid()
	callers = [c for c in j["callers"] if c["uid"] == uid]
	t = j["totals"]
	res.check("--json: 2 of 2 workers answered, none missing",
	    j["workers_expected"] == 2 and len(j["workers"]) == 2 and
	    j["workers_missing"] == [], j["workers_missing"])
	res.check("--json: totals: 51 requests (50 and the refused one), "
	    "connects + reuses = 51 (a connect counts the attempt), no retry",
	    t["requests"] == 51 and t["connects"] + t["reuses"] == 51 and
	    t["retries"] == 0, t)
	res.check("--json: 55 sessions (50 + 2 + 1, the test's probe that "
	    "hpoold accepts, and this stats session), 1 live (this one)",
	    t["sessions"] == 55 and t["live_sessions"] == 1, t)
	res.check("--json: the workers' requests add up to 51",
	    sum(w["requests"] for w in j["workers"]) == 51, j["workers"])
	pa, pb = pools.get(a), pools.get(b)
	res.check("--json: one pool row per destination, 25 requests each "
	    "(connects + reuses), direct, no TLS, no failure",
	    pa is not None and pb is not None and
	    pa["connects"] + pa["reuses"] == 25 and
	    pb["connects"] + pb["reuses"] == 25 and
	    pa["route"] == pb["route"] == "direct" and not pa["tls"] and
	    pa["failures"] == pb["failures"] == 0, (pa, pb))
	pc = pools.get("http://127.0.0.1:%d" % closed)
	res.check("--json: the closed port's pool: 1 connect attempted, 1 "
	    "failure", pc is not None and pc["failures"] == 1 and
	    pc["connects"] == 1, pc)
	res.check("--json: nginx's pools hold at most 2 connections each "
	    "(one a worker), no busy, none waiting", pa and pb and
	    pa["idle"] + pa["busy"] <= 2 and pb["idle"] + pb["busy"] <= 2 and
	    pa["busy"] == pb["busy"] == pa["waiting"] == 0, (pa, pb))
	res.check("--json: the denied destination has no pool",
	    not any("127.0.0.9" in d for d in pools), list(pools))
	c = callers[0] if len(callers) == 1 else {}
	res.check("--json: caller uid %d: 51 requests, %d bytes down, 0 up, "
	    "1 error, 2 denials" % (uid, 50 * SIZE), c.get("requests") == 51
	    and c.get("bytes_down") == 50 * SIZE and c.get("bytes_up") == 0 and
	    c.get("errors") == 1 and c.get("denials") == 2, callers)
	# STATUS= after the round: the same totals
	time.sleep(0.1)
	lines = [l for m in notify.drain() for l in m.split("\n")
	    if l.startswith("STATUS=")]
	want = ("STATUS=2 workers, %d sessions, %d idle and %d busy upstream "
	    "connections, %d requests" % (t["live_sessions"], t["idle"],
	    t["busy"], t["requests"]))
	res.check("STATUS= sent by the round says the totals it answered",
	    want in lines, "want %r in %s" % (want, lines))
	# the table
	cp = stats(env, sock)
	out = cp.stdout.decode()
	row = re.search(r"^ %s +\| direct +\| no +\| +(\d+) \| +(\d+) \| +(\d+)"
	    r" \| +(\d+) \| +(\d+) \| +(\d+) \|" % re.escape(a), out, re.M)
	res.check("the table: exit 0, 2 of 2 workers, a's row as in the JSON",
	    cp.returncode == 0 and "2 of 2 workers answered" in out and
	    row is not None and [int(x) for x in row.groups()] == [pa["idle"],
	    pa["busy"], pa["waiting"], pa["connects"], pa["reuses"],
	    pa["failures"]], out[:1500])
	res.check("the table: totals line with 51 requests",
	    "51 requests" in out, out[:400])
	# Prometheus
	if text_string_to_metric_families is None:
		res.fail("python3-prometheus-client's parser", "not importable")
	else:
		j = stats_json(env, sock)
		cp = stats(env, sock, "--prometheus")
		try:
			got = prom_values(cp.stdout.decode())
			bad = compare(got, json_as_prom(j))
		except Exception as e:
			got, bad = {}, {"parse": str(e)}
		res.check("--prometheus: parsed by prometheus_client, every "
		    "number as --json says (%d samples)" % len(got),
		    cp.returncode == 0 and got and not bad, bad)
		try:
			with urllib.request.urlopen("http://127.0.0.1:%d/metrics" %
			    port, timeout=10) as r:
				body = r.read().decode()
				ctype = r.headers.get("Content-Type", "")
			got = prom_values(body)
			bad = compare(got, json_as_prom(j))
		except Exception as e:
			got, bad, ctype = {}, {"fetch": str(e)}, ""
		res.check("GET /metrics: text/plain version 0.0.4, the same "
		    "numbers", got and not bad and ctype.startswith(
		    "text/plain; version=0.0.4"), (ctype, bad))
	codes = []
	for path, data in (("/other", None), ("/metrics", b"x")):
		try:
			urllib.request.urlopen("http://127.0.0.1:%d%s" % (port,
			    path), data=data, timeout=10)
			codes.append(200)
		except urllib.error.HTTPError as e:
			codes.append(e.code)
		except OSError as e:
			codes.append(str(e))
	res.check("metrics_listen: /other 404, POST /metrics 405", codes ==
	    [404, 405], codes)
	missing(res, env, p, sock)
	text = h.stop_hpoold(res, p, log, "workload")
	res.check("no secret in the stats: no token, no path",
	    "/files/a.bin" not in json.dumps(j), "")
	return text


def missing(res, env, p, sock):
	"""A worker stopped: the answer within the round's wait, naming it."""
	pids = h.worker_pids(p.pid)
	if len(pids) != 2:
		res.fail("missing worker", "workers: %s" % pids)
		return
	with open("/proc/%d/cmdline" % pids[1], "rb") as f:
		name = f.read().decode(errors="replace")
	wid = re.search(r"worker (\d+)", name)
	os.kill(pids[1], signal.SIGSTOP)
	try:
		t0 = time.monotonic()
		cp = stats(env, sock, "--json", timeout=10)
		took = time.monotonic() - t0
	finally:
		os.kill(pids[1], signal.SIGCONT)
	try:
		j = json.loads(cp.stdout)
	except ValueError:
		j = {}
	res.check("a stopped worker: the answer in under 2 s, 1 of 2 workers, "
	    "the stopped one named missing", cp.returncode == 0 and took < 2.0
	    and wid is not None and j.get("workers_missing") ==
	    [int(wid.group(1))] and len(j.get("workers", [])) == 1,
	    "%.2f s %s %s" % (took, h.describe(cp), name))


def permission(res, env):
	"""uid 0 may; nobody may not; nobody with the group may."""
	os.chmod(env.tmp, 0o755)	# nobody must reach the socket
	users = 100
	p, sock, log = start(env, "perm", "stats_group = users\n", workers=1)
	nobody = ["--reuid", "nobody", "--regid", "nogroup"]
	cp = stats(env, sock, run_as=nobody + ["--clear-groups"])
	err = cp.stderr.decode()
	res.check("nobody (gid nogroup, no groups): exit 122, PermissionError "
	    "naming the rule (uid 0, hpoold's uid, group 'users')",
	    cp.returncode == 122 and "PermissionError" in err and
	    "group 'users' (gid 100)" in err and "uid 0" in err, h.describe(cp))
	cp = stats(env, sock, "--json", run_as=nobody + ["--groups",
	    str(users)])
	res.check("nobody with 'users' as a supplementary group: exit 0, "
	    "the stats", cp.returncode == 0 and b'"totals"' in cp.stdout,
	    h.describe(cp))
	cp = stats(env, sock, "--json", run_as=["--reuid", "nobody",
	    "--regid", str(users), "--clear-groups"])
	res.check("nobody with gid 'users': exit 0", cp.returncode == 0,
	    h.describe(cp))
	cp = stats(env, sock, "--json")
	res.check("uid 0: exit 0", cp.returncode == 0, h.describe(cp))
	cp = env.hpool(["-s", "--socket", sock, env.url("/files/a.bin")])
	res.check("a request of nobody still works (only stats are guarded)",
	    cp.returncode == 0, h.describe(cp))
	h.stop_hpoold(res, p, log, "perm")


def tls_and_proxy(res, env):
	certs = Certs(env.path("certs"))
	tn = TlsNginx(env, certs)
	tp = h.Tinyproxy(env, ("bob", "s3cret-proxy-pw"), [env.nginx_port])
	p, sock, log = start(env, "tls", "max_idle_per_host = 0\n"
	    "[proxy tp]\nurl = http://bob:s3cret-proxy-pw@127.0.0.1:%d\n"
	    "[policy]\nrule = dest localhost:%d -> proxy tp\n" % (tp.port,
	    env.nginx_port), workers=1)
	url = "https://127.0.0.1:%d/" % tn.ports["good"]
	rcs = [env.hpool(["-s", "--socket", sock, "--cacert",
	    certs.path("ca.pem"), url]).returncode for _ in range(3)]
	rcs += [env.hpool(["-s", "--socket", sock, "http://localhost:%d/files/"
	    "a.bin" % env.nginx_port]).returncode for _ in range(2)]
	cp = stats(env, sock, "--json")
	h.stop_hpoold(res, p, log, "tls")
	try:
		j = json.loads(cp.stdout)
	except ValueError:
		j = {"pools": [], "totals": {}}
	pools = by_dest(j)
	t = pools.get("https://127.0.0.1:%d" % tn.ports["good"], {})
	x = pools.get("http://localhost:%d" % env.nginx_port, {})
	res.check("tls: 5 requests exit 0", rcs == [0] * 5, rcs)
	res.check("tls: the https pool: tls, 3 connects, 1 full and 2 resumed "
	    "handshakes; the totals agree", t.get("tls") is True and
	    t.get("connects") == 3 and t.get("tls_full") == 1 and
	    t.get("tls_resumed") == 2 and j["totals"].get("tls_full") == 1 and
	    j["totals"].get("tls_resumed") == 2, (t, j["totals"]))
	res.check("proxy: the proxied pool's route is \"proxy tp\", 2 "
	    "connects, no TLS", x.get("route") == "proxy tp" and
	    x.get("connects") == 2 and x.get("tls") is False, x)
	res.check("proxy: the password is nowhere in the stats",
	    b"s3cret" not in cp.stdout and b"bob" not in cp.stdout, "")


def config(res, env):
	bad = env.path("bad-metrics.conf")
	for value in ("0.0.0.0:9100", "192.0.2.1:9100", "[::]:9100",
	    "127.0.0.1", "127.0.0.1:0"):
		with open(bad, "w") as f:
			f.write("[hpoold]\nmetrics_listen = %s\n" % value)
		cp = h.run_capture([h.HPOOLD, "-t", "-c", bad], timeout=10)
		res.check("hpoold -t refuses metrics_listen = %s" % value,
		    cp.returncode != 0 and b"metrics_listen" in cp.stderr +
		    cp.stdout and b"loopback" in cp.stderr + cp.stdout,
		    h.describe(cp))
	for value in ("127.0.0.1:9100", "[::1]:9100", "127.1.2.3:80"):
		with open(bad, "w") as f:
			f.write("[hpoold]\nmetrics_listen = %s\n" % value)
		cp = h.run_capture([h.HPOOLD, "-t", "-c", bad], timeout=10)
		res.check("hpoold -t takes metrics_listen = %s" % value,
		    cp.returncode == 0, h.describe(cp))
	cp = h.run_capture([h.HPOOL, "--stats", "--json", "--prometheus"],
	    timeout=10)
	res.check("hpool --stats --json --prometheus: exit 2",
	    cp.returncode == 2, h.describe(cp))


def body(res):
	env = h.Env(files={"a.bin": SIZE}, daemon=False)
	notify = Notify(env.path("notify.sock"))
	workload(res, env, notify)
	permission(res, env)
	tls_and_proxy(res, env)
	config(res, env)


if __name__ == "__main__":
	h.main(body)
