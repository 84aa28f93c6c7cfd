#!/usr/bin/env python3
"""hpoold's proxies through Debian's squid (5.x) with basic authentication
(an htpasswd file, squid's basic_ncsa_auth), started on loopback ports in
a temp dir, in the foreground, nothing cached; its access log says what
it was asked.

Checked: CONNECT to a TLS nginx with the credentials from the proxy URL
and from a credentials_file; a wrong password: 407 naming the proxy,
asked once (one CONNECT in squid's log); 100 sequential short-lived
hpool callers cost at most 2 CONNECTs at squid; forward = absolute for
plain http (absolute-form requests over kept-alive connections, no
CONNECT); squid's 503 for a target it cannot reach; and squid's own
https_port as an https:// proxy (TLS in TLS), pooled. Squid logs a
CONNECT when the tunnel closes, so tunnels are counted once hpoold is
stopped. Every address connected to is 127.0.0.1."""

import os
import shutil
import time

import harness as h
from tlsenv import Certs, TlsNginx

USER, PASSWORD = "hpool", "sq1d-s3cret"
BODY = b"through squid\n"
PAGE = "page.txt"
HELLO = b"hello over tls\n"


hpool = h.hpool_at
err_of = h.cli_error_text


def logged(sq, method, n0, want, timeout=10.0):
	"""Rows of method logged since the first n0, waiting (bounded) until
	there are want of them: squid writes a row when a transaction
	ends."""
	deadline = time.monotonic() + timeout
	while True:
		rows = sq.requests(method)[n0:]
		if len(rows) >= want or time.monotonic() > deadline:
			return rows
		time.sleep(0.05)


def proxy_conf(url, extra=""):
	return ("[proxy squid]\nurl = %s\n%s[policy]\nrule = -> proxy squid\n"
	    % (url, extra))


def body(res):
	if shutil.which("squid") is None:
		raise h.SetupError("squid not found")
	env = h.Env(files={PAGE: BODY}, daemon=False, echo=False)
	if os.geteuid() == 0:
		os.chmod(env.tmp, 0o711)	# squid's helpers run as nobody
	certs = Certs(env.path("certs"))
	ng = TlsNginx(env, certs)
	cacert = certs.path("ca.pem")
	tls_url = "https://localhost:%d/" % ng.ports["good"]
	sq = h.Squid(env, (USER, PASSWORD), https=(certs.path("good.pem"),
	    certs.path("good.key")))

	# credentials in the URL: one tunnel for 100 short-lived callers
	conf = proxy_conf("http://%s:%s@127.0.0.1:%d" % (USER, PASSWORD,
	    sq.port))
	p, sock, log, _ = h.start_hpoold(env, conf, "squid-url")
	c0 = len(sq.requests("CONNECT"))
	cp = hpool(sock, ["--cacert", cacert, tls_url])
	res.check("CONNECT through squid with the URL's credentials: the "
	    "TLS page", cp.returncode == 0 and cp.stdout == HELLO,
	    h.describe(cp))
	bad = 0
	t0 = time.monotonic()
	for i in range(99):
		cp = hpool(sock, ["--cacert", cacert, tls_url])
		if cp.returncode != 0 or cp.stdout != HELLO:
			bad += 1
	took = time.monotonic() - t0
	text = h.stop_hpoold(res, p, log, "squid, credentials in the URL")
	rows = logged(sq, "CONNECT", c0, 1)
	res.check("100 sequential short-lived hpool callers through squid: "
	    "all served, at most 2 CONNECTs in squid's access log (%d; "
	    "%.1f ms per caller)" % (len(rows), took * 1000 / 99), bad == 0
	    and 1 <= len(rows) <= 2 and all(r[2] == "TCP_TUNNEL/200" and
	    r[1] == "localhost:%d" % ng.ports["good"] for r in rows),
	    (bad, rows))
	res.check("...the password is in no log line of hpoold's",
	    PASSWORD not in text)

	# credentials from a credentials_file
	creds = env.path("squid.creds")
	with open(creds, "w") as f:
		f.write("%s:%s\n" % (USER, PASSWORD))
	os.chmod(creds, 0o600)
	conf = proxy_conf("http://127.0.0.1:%d" % sq.port,
	    "credentials_file = %s\n" % creds)
	p, sock, log, _ = h.start_hpoold(env, conf, "squid-file")
	c0 = len(sq.requests("CONNECT"))
	cp = hpool(sock, ["--cacert", cacert, tls_url])
	res.check("CONNECT through squid with a credentials_file's "
	    "credentials: the TLS page", cp.returncode == 0 and
	    cp.stdout == HELLO, h.describe(cp))
	cp = hpool(sock, ["http://127.0.0.1:%d/" % h.closed_port()])
	res.check("a target squid cannot reach: OSError 'Tunnel connection "
	    "failed: 503 Service Unavailable (proxy squid)'",
	    cp.returncode != 0 and err_of(cp) == "OSError: Tunnel "
	    "connection failed: 503 Service Unavailable (proxy squid)",
	    h.describe(cp))
	h.stop_hpoold(res, p, log, "squid, credentials_file")
	rows = logged(sq, "CONNECT", c0, 2)
	res.check("...squid logged the tunnel (200) and the refused one "
	    "(503)", [r[2].split("/")[1] for r in rows] in (["200", "503"],
	    ["503", "200"]), rows)

	# a wrong password: 407, asked once
	conf = proxy_conf("http://%s:wrong@127.0.0.1:%d" % (USER, sq.port))
	p, sock, log, _ = h.start_hpoold(env, conf, "squid-407")
	c0 = len(sq.requests("CONNECT"))
	cp = hpool(sock, ["--cacert", cacert, tls_url])
	res.check("a wrong password: OSError 'Tunnel connection failed: 407 "
	    "Proxy Authentication Required (proxy squid)'", cp.returncode != 0
	    and err_of(cp) == "OSError: Tunnel connection failed: 407 Proxy "
	    "Authentication Required (proxy squid)", h.describe(cp))
	h.stop_hpoold(res, p, log, "squid, wrong password")
	rows = logged(sq, "CONNECT", c0, 2, timeout=2)
	res.check("...not retried: one CONNECT in squid's log, denied 407",
	    len(rows) == 1 and rows[0][2].endswith("/407"), rows)

	# forward = absolute for plain http
	conf = proxy_conf("http://%s:%s@127.0.0.1:%d" % (USER, PASSWORD,
	    sq.port), "forward = absolute\n")
	p, sock, log, _ = h.start_hpoold(env, conf, "squid-abs")
	c0, g0 = len(sq.requests("CONNECT")), len(sq.requests("GET"))
	ok = 0
	for i in range(5):
		cp = hpool(sock, [env.url("/files/%s?%d" % (PAGE, i))])
		ok += cp.returncode == 0 and cp.stdout == BODY
	gets = logged(sq, "GET", g0, 5)
	# squid logs the URL without its query (strip_query_terms)
	res.check("forward = absolute: 5 plain-http requests, each in "
	    "absolute form at squid (its log has the full URL), no CONNECT",
	    ok == 5 and len(gets) == 5 and all(r[1] == env.url("/files/%s?"
	    % PAGE) for r in gets) and
	    len(sq.requests("CONNECT")) == c0, (ok, gets))
	h.stop_hpoold(res, p, log, "squid, absolute form")

	# squid's https_port: TLS in TLS, pooled
	conf = proxy_conf("https://%s:%s@localhost:%d" % (USER, PASSWORD,
	    sq.tls_port), "cacert = %s\n" % cacert)
	p, sock, log, _ = h.start_hpoold(env, conf, "squid-tls")
	c0, g0 = len(sq.requests("CONNECT")), len(sq.requests("GET"))
	bad = 0
	for i in range(20):
		cp = hpool(sock, ["--cacert", cacert, tls_url])
		if cp.returncode != 0 or cp.stdout != HELLO:
			bad += 1
	cp = hpool(sock, [env.url("/files/" + PAGE)])
	res.check("squid's https_port as an https:// proxy: 20 callers to "
	    "the TLS nginx (TLS in TLS) and a plain-http one served",
	    bad == 0 and cp.returncode == 0 and cp.stdout == BODY,
	    (bad, h.describe(cp)))
	h.stop_hpoold(res, p, log, "squid https_port")
	rows = logged(sq, "CONNECT", c0, 2)
	res.check("...at most 2 CONNECTs for the 20 https callers, and one "
	    "for plain http", 2 <= len(rows) <= 3 and sum(1 for r in rows
	    if r[1] == "127.0.0.1:%d" % env.nginx_port) == 1, rows)


if __name__ == "__main__":
	h.main(body)
