"""HTTPS through the hpool CLI (and so libhpool's HTTPSConnection and
SSLContext) against a real nginx with certificates made by the test:
verification outcomes worded as Python's ssl module words them (compared
with python3's own http.client on the same servers), curl's exit codes,
client certificates, pool isolation and reuse proved from nginx's log, and
a key file the caller cannot read refused before anything reaches the
daemon."""

import http.client
import os
import re
import shutil
import socket
import ssl
import subprocess
import time

import harness
from harness import (Env, cli_error, cli_sent_note, describe, spawn,
    unix_accepts, wait_until)
from tlsenv import Certs, TlsNginx

UNPRIV = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def python_says(host, port, ctx):
	"""(class name, message) python3's http.client gives for a GET, the
	"(_ssl.c:NNN)" location dropped; None when it succeeds."""
	c = http.client.HTTPSConnection(host, port, context=ctx, timeout=10)
	try:
		c.request("GET", "/index.html")
		c.getresponse().read()
		return None
	except (ssl.SSLError, OSError) as e:
		msg = re.sub(r" \(_ssl\.c:\d+\)$", "", str(e))
		if isinstance(e, ssl.SSLCertVerificationError):
			# str() of the verification error is its message alone
			msg = re.sub(r" \(_ssl\.c:\d+\)$", "", e.args[1]
			    if len(e.args) > 1 else msg)
		return type(e).__name__, msg
	finally:
		c.close()


def status_of(cp):
	m = re.match(rb"HTTP/1\.[01] (\d{3}) ", cp.stdout)
	return int(m.group(1)) if m else None


def body(res):
	env = Env(nginx=True, echo=False, daemon=False)
	certs = Certs(env.path("certs"))
	ng = TlsNginx(env, certs)
	env.start_daemon()
	P = ng.ports
	CA = ["--cacert", certs.path("ca.pem")]
	C1 = ["--cert", certs.path("client1.pem"), "--key",
	    certs.path("client1.key")]
	C2 = ["--cert", certs.path("client2.pem"), "--key",
	    certs.path("client2.key")]

	def url(name, path="/index.html", host="localhost"):
		return "https://%s:%d%s" % (host, P[name], path)

	def rows_with(port, marker, n=0):
		"""Log rows of port whose request holds marker; with n, wait
		(bounded) until nginx has logged n of them: it writes a row
		after the response is out, so the caller may finish first."""
		deadline = time.monotonic() + 5
		while True:
			rows = [x for x in ng.log() if x["port"] == port and
			    marker in x["request"]]
			if len(rows) >= n or time.monotonic() > deadline:
				return rows
			time.sleep(0.02)

	# -- verification
	cp = env.hpool(CA + [url("good")])
	res.check("good chain with --cacert: exit 0 and the body",
	    cp.returncode == 0 and cp.stdout == b"hello over tls\n",
	    describe(cp))
	cp = env.hpool(CA + [url("good", host="127.0.0.1")])
	res.check("IP address URL checked against the IP SAN",
	    cp.returncode == 0 and cp.stdout == b"hello over tls\n",
	    describe(cp))

	pyctx = ssl.create_default_context(cafile=certs.path("ca.pem"))
	cases = [
	    ("wrong host name", "wronghost", CA,
	    "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
	    "Hostname mismatch, certificate is not valid for 'localhost'.",
	    pyctx),
	    ("expired", "expired", CA,
	    "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
	    "certificate has expired", pyctx),
	    ("self-signed", "selfsigned", CA, None, pyctx),
	    ("no --cacert: system store only", "good", [],
	    "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
	    "unable to get local issuer certificate",
	    ssl.create_default_context()),
	]
	for name, srv, args, want, pctx in cases:
		cp = env.hpool(args + [url(srv)])
		got = cli_error(cp.stderr)
		py = python_says("localhost", P[srv], pctx)
		if want is None:
			want = py[1] if py else "?"
		# then the line saying the request never left hpoold
		res.check("%s -> hpool: SSLCertVerificationError, Python's "
		    "words, exit 60, 'the request was not sent'" % name,
		    cp.returncode == 60 and cp.stdout == b"" and
		    got == ("SSLCertVerificationError", want + "\n") and
		    cli_sent_note(cp.stderr) == "the request was not sent "
		    "(safe to retry)" and cp.stderr.count(b"\n") == 2,
		    describe(cp))
		res.check("%s: the same words as python3's http.client" % name,
		    py == ("SSLCertVerificationError", want), (py, want))
	cp = env.hpool(CA + [url("selfsigned")])
	got = cli_error(cp.stderr)
	res.check("self-signed: OpenSSL's reason names it",
	    got is not None and "self-signed certificate" in got[1],
	    describe(cp))

	cp = env.hpool(["-k", url("selfsigned")])
	res.check("-k accepts the self-signed server",
	    cp.returncode == 0 and cp.stdout == b"hello over tls\n",
	    describe(cp))
	cp = env.hpool(["--insecure", url("wronghost")])
	res.check("--insecure skips the host name check",
	    cp.returncode == 0 and cp.stdout == b"hello over tls\n",
	    describe(cp))

	# TLS to a plain HTTP port: SSLError, curl's 35.
	cp = env.hpool(["-k", "https://127.0.0.1:%d/" % env.nginx_port])
	got = cli_error(cp.stderr)
	res.check("TLS to a plain HTTP server -> hpool: SSLError, exit 35",
	    cp.returncode == 35 and got is not None and got[0] == "SSLError",
	    describe(cp))

	# -- client certificates
	cp = env.hpool(CA + ["-i", url("mtls")])
	res.check("client cert required, none given: nginx answers 400",
	    cp.returncode == 0 and status_of(cp) == 400, describe(cp))
	cp = env.hpool(CA + C1 + ["-i", url("mtls")])
	res.check("client cert required, --cert/--key client1: 200",
	    cp.returncode == 0 and status_of(cp) == 200 and
	    cp.stdout.endswith(b"\r\n\r\nhello over tls\n"), describe(cp))
	both = env.path("client2-both.pem")
	with open(both, "wb") as f:
		f.write(certs.read("client2.pem") + certs.read("client2.key"))
	cp = env.hpool(CA + ["--cert", both, "-i", url("mtls", "/index.html?both")])
	rows = rows_with(P["mtls"], "?both", 1)
	res.check("--cert holding the key too: 200 as client2",
	    cp.returncode == 0 and status_of(cp) == 200 and len(rows) == 1 and
	    rows[0]["dn"] == "CN=client2", (describe(cp), rows))
	cp = env.hpool(CA + ["--cert", certs.path("client1.pem"), "--key",
	    certs.path("client2.key"), url("mtls")])
	got = cli_error(cp.stderr)
	res.check("a key that does not match --cert -> SSLError, exit 35",
	    cp.returncode == 35 and got is not None and got[0] == "SSLError",
	    describe(cp))
	cp = env.hpool(CA + ["--key", certs.path("client1.key"), url("mtls")])
	res.check("--key without --cert is a usage error",
	    cp.returncode == 2, describe(cp))

	# -- files the library reads itself
	missing = env.path("no-such-ca.pem")
	cp = env.hpool(["--cacert", missing, url("good")])
	res.check("--cacert missing -> FileNotFoundError as open() words it, "
	    "exit 77",
	    cp.returncode == 77 and cli_error(cp.stderr) == (
	    "FileNotFoundError", "[Errno 2] No such file or directory: '%s'\n"
	    % missing), describe(cp))
	cp = env.hpool(CA + ["--cert", missing, url("mtls")])
	res.check("--cert missing -> FileNotFoundError, exit 58",
	    cp.returncode == 58 and cli_error(cp.stderr) is not None and
	    cli_error(cp.stderr)[0] == "FileNotFoundError", describe(cp))
	cp = env.hpool(["--cacert", certs.path("client1.key"), url("good")])
	res.check("--cacert without a certificate -> SSLError at load, exit 77",
	    cp.returncode == 77 and cli_error(cp.stderr) == ("SSLError",
	    "[X509: NO_CERTIFICATE_OR_CRL_FOUND] no certificate or crl "
	    "found\n"), describe(cp))

	# -- isolation: verified and unverified callers never share
	for _ in range(3):
		env.hpool(CA + [url("good", "/index.html?verified")])
		env.hpool(["-k", url("good", "/index.html?unverified")])
	v = {x["conn"] for x in rows_with(P["good"], "?verified", 3)}
	u = {x["conn"] for x in rows_with(P["good"], "?unverified", 3)}
	res.check("--cacert and -k callers never share an nginx connection",
	    len(v) >= 1 and len(u) >= 1 and not v & u, (v, u))
	res.check("each kind reuses its own pooled connection",
	    len(v) == 1 and len(u) == 1, (v, u))

	# -- isolation: two client identities never share
	for _ in range(3):
		env.hpool(CA + C1 + [url("mtls", "/index.html?iso1")])
		env.hpool(CA + C2 + [url("mtls", "/index.html?iso2")])
		env.hpool(CA + [url("mtls", "/index.html?iso0")])
	rows = rows_with(P["mtls"], "?iso", 9)
	dns = {}
	for x in rows:
		dns.setdefault(x["conn"], set()).add(x["dn"])
	c1 = {x["conn"] for x in rows if "?iso1" in x["request"]}
	c2 = {x["conn"] for x in rows if "?iso2" in x["request"]}
	c0 = {x["conn"] for x in rows if "?iso0" in x["request"]}
	res.check("--cert client1 and client2 (and none) never share a "
	    "connection",
	    len(rows) == 9 and all(len(d) == 1 for d in dns.values()) and
	    not c1 & c2 and not c1 & c0 and not c2 & c0 and
	    all(dns[c] == {"CN=client1"} for c in c1) and
	    all(dns[c] == {"CN=client2"} for c in c2), dns)

	# -- reuse: 100 sequential processes
	for _ in range(100):
		cp = env.hpool(CA + [url("good", "/index.html?reuse")])
		if cp.returncode != 0:
			break
	rows = rows_with(P["good"], "?reuse", 100)
	conns = {x["conn"] for x in rows}
	full = {x["conn"] for x in rows if not x["reused"]}
	res.check("100 sequential hpool https:// processes: at most 2 full "
	    "TLS handshakes", len(rows) == 100 and len(full) <= 2,
	    (len(rows), full, describe(cp)))
	res.check("...in fact all 100 ran on one pooled connection",
	    len(rows) == 100 and len(conns) == 1, conns)

	# -- a key file the caller cannot read
	unreadable_key_case(res, env, certs, ng, P)
	env.final_checks(res)


def unreadable_key_case(res, env, certs, ng, P):
	name = "a key file the caller cannot read -> PermissionError"
	if os.geteuid() != 0 or shutil.which("setpriv") is None:
		res.ok("%s # SKIP needs root and setpriv" % name)
		return
	# A directory an unprivileged user can reach; nothing else of the
	# test's temp dir becomes readable (0711: traverse only).
	os.chmod(env.tmp, 0o711)
	d = env.path("perm")
	os.mkdir(d)
	os.chmod(d, 0o755)
	for f in ("ca.pem", "client1.pem", "client1.key"):
		shutil.copy(certs.path(f), os.path.join(d, f))
		os.chmod(os.path.join(d, f), 0o644)
	key = os.path.join(d, "client1.key")
	os.chmod(key, 0o600)	# owned by root
	readable = os.path.join(d, "client1-readable.key")
	shutil.copy(key, readable)
	os.chmod(readable, 0o644)
	sock = os.path.join(d, "hpoold.sock")
	conf = os.path.join(d, "hpoold.conf")
	with open(conf, "w") as f:
		f.write("[hpoold]\nsocket_mode = 0666\n")
	log = env.path("hpoold-perm.log")
	with open(log, "ab") as out:
		daemon = spawn([harness.HPOOLD, "--foreground", "--socket", sock,
		    "--workers", "1", "--config", conf],
		    stdin=subprocess.DEVNULL, stdout=out, stderr=out)
	try:
		wait_until(lambda: unix_accepts(sock), harness.START_TIMEOUT,
		    "hpoold on %s" % sock, daemon, log)

		def run(keyfile, marker):
			return harness.run_capture(UNPRIV + [harness.HPOOL,
			    "--socket", sock, "--cacert", os.path.join(d, "ca.pem"),
			    "--cert", os.path.join(d, "client1.pem"), "--key",
			    keyfile, "-i", "https://localhost:%d/index.html?%s" %
			    (P["mtls"], marker)], env=dict(os.environ,
			    HOME="/nonexistent"))

		cp = run(readable, "permok")
		res.check("control: as nobody with a readable key, 200 through "
		    "a 0666 socket", cp.returncode == 0 and status_of(cp) == 200,
		    describe(cp))
		py = harness.run_capture(UNPRIV + ["python3", "-c",
		    "open(%r, 'rb')" % key])
		pyline = py.stderr.decode(errors="replace").strip().splitlines()
		want = "[Errno 13] Permission denied: '%s'" % key
		res.check("python3's open() words it the same",
		    pyline and pyline[-1] == "PermissionError: " + want, pyline)
		cp = run(key, "permdenied")
		res.check(name + " worded as open(), non-zero exit",
		    cp.returncode != 0 and cp.stdout == b"" and
		    cp.stderr == ("hpool: PermissionError: %s\n" % want).encode(),
		    describe(cp))
		res.check("...and exits with curl's 58 (client certificate "
		    "problem)", cp.returncode == 58, describe(cp))
		seen = [x for x in ng.log() if "?permdenied" in x["request"]]
		res.check("...and nginx saw no request from it", not seen, seen)
	finally:
		harness.stop_process(daemon)
		if daemon in harness._children:
			harness._children.remove(daemon)


harness.main(body)
