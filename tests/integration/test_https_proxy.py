#!/usr/bin/env python3
"""https:// proxies (hpoold.conf(5), PROXIES): TLS to the proxy, verified
with the proxy's cacert (or the system store) and its name, the CONNECT
inside that TLS, and TLS to an https target inside the tunnel (TLS in
TLS). The proxy is Debian's stunnel4 (the test CA's certificate) in front
of Debian's tinyproxy, both on loopback ports; the targets are nginx
(plain, and TLS with the test CA's certificates).

Checked: an https and a plain-http target through it; tunnels pooled (20
sequential short-lived callers, at most 2 TLS connections at stunnel and
2 CONNECTs at tinyproxy); the proxy's credentials reach tinyproxy and not
the origin; a proxy certificate the system store does not trust
(SSLCertVerificationError naming the proxy); a certificate for another
name; a proxy that is down (ConnectionRefusedError, 'Tunnel connection
failed' naming the proxy); a wrong password (407 naming the proxy, one
CONNECT, no retry); forward = absolute over the TLS link; and a caller's
own https:// proxy (hpool -x https://..., --proxy-cacert, --proxy-insecure).
Every address connected to is 127.0.0.1."""

import json
import os
import shutil
import time

import harness as h
from tlsenv import Certs, TlsNginx

USER, PASSWORD = "hpool", "pr0xy-s3cret"
BODY = b"through an https proxy\n"
PAGE = "page.txt"


def hpool(env, sock, args):
	return h.hpool_at(sock, args)


err_of = h.cli_error_text


def connects(tp):
	"""CONNECT requests tinyproxy logged (its log level is named
	CONNECT too: the request line is what counts)."""
	with open(tp.log, errors="replace") as f:
		return sum(1 for l in f if "Request (file descriptor" in l and
		    "): CONNECT " in l)


def proxy_conf(name, url, extra=""):
	return ("[proxy %s]\nurl = %s\n%s[policy]\nrule = -> proxy %s\n" % (
	    name, url, extra, name))


def daemon_proxy(res, env, certs, ng):
	# a TLS origin with nginx's /echo behind it: stunnel in front of
	# the plain nginx
	origin = h.Stunnel(env, certs.path("good.pem"), certs.path("good.key"),
	    env.nginx_port)
	tp = h.Tinyproxy(env, (USER, PASSWORD), [ng.ports["good"],
	    env.nginx_port, origin.port])
	st = h.Stunnel(env, certs.path("good.pem"), certs.path("good.key"),
	    tp.port)
	cacert = certs.path("ca.pem")
	tls_url = "https://localhost:%d/" % ng.ports["good"]
	conf = proxy_conf("corp", "https://%s:%s@localhost:%d" % (USER,
	    PASSWORD, st.port), "cacert = %s\n" % cacert)
	p, sock, log, _ = h.start_hpoold(env, conf, "tlsproxy")

	a0, n0 = st.accepted(), connects(tp)
	cp = hpool(env, sock, ["--cacert", cacert, tls_url])
	res.check("an https target through an https:// proxy (TLS in TLS): "
	    "the page, one TLS connection at stunnel, one CONNECT at "
	    "tinyproxy", cp.returncode == 0 and cp.stdout ==
	    b"hello over tls\n" and st.accepted() - a0 == 1 and
	    connects(tp) - n0 == 1, (h.describe(cp), st.accepted() - a0,
	    connects(tp) - n0))
	rows = ng.log(1)
	res.check("...nginx served it over TLS", len(rows) >= 1 and
	    rows[-1]["status"] == 200 and rows[-1]["proto"].startswith("TLS"),
	    rows[-3:])

	n0 = connects(tp)
	cp = hpool(env, sock, [env.url("/files/" + PAGE)])
	res.check("a plain-http target through it: CONNECT inside the TLS",
	    cp.returncode == 0 and cp.stdout == BODY and
	    tp.connects(env.nginx_port) == 1 and connects(tp) - n0 == 1,
	    (h.describe(cp), connects(tp) - n0))

	# bodies larger than the buffers of either TLS layer
	cp = hpool(env, sock, ["--cacert", cacert, "https://localhost:%d/1m"
	    % ng.ports["good"]])
	res.check("1 MiB from the https target through the TLS in TLS, "
	    "intact", cp.returncode == 0 and h.sha256(cp.stdout) ==
	    h.sha256_file(os.path.join(ng.dir, "www", "1m")),
	    (cp.returncode, len(cp.stdout), cp.stderr[-200:]))
	upload = env.path("upload.bin")
	h.make_file(upload, 3 << 20, seed=7)
	cp = hpool(env, sock, ["--data-binary", "@" + upload,
	    env.url("/echo")])
	res.check("3 MiB uploaded to a plain-http target over the TLS to the "
	    "proxy and echoed back, intact", cp.returncode == 0 and
	    h.sha256(cp.stdout) == h.sha256_file(upload),
	    (cp.returncode, len(cp.stdout), cp.stderr[-200:]))

	cp = hpool(env, sock, ["--cacert", cacert, "--data-binary", "@" +
	    upload, "https://localhost:%d/echo" % origin.port])
	res.check("3 MiB uploaded to an https target through the TLS in TLS "
	    "and echoed back, intact", cp.returncode == 0 and
	    h.sha256(cp.stdout) == h.sha256_file(upload),
	    (cp.returncode, len(cp.stdout), cp.stderr[-200:]))

	cp = hpool(env, sock, [env.url("/sum")])
	try:
		seen = json.loads(cp.stdout.decode())["headers"]
	except (ValueError, KeyError):
		seen = {}
	names = [str(k[0]).lower() for k in seen]
	res.check("the proxy's credentials never reach the origin (the "
	    "headers it got)", cp.returncode == 0 and len(names) > 0 and
	    "proxy-authorization" not in names and PASSWORD not in
	    str(seen), (h.describe(cp), seen))

	n0, a0 = connects(tp), st.accepted()
	bad = 0
	for i in range(20):
		cp = hpool(env, sock, ["--cacert", cacert, tls_url])
		if cp.returncode != 0 or cp.stdout != b"hello over tls\n":
			bad += 1
	res.check("20 sequential short-lived callers, https target: all "
	    "served over the pooled tunnel (at most 2 new TLS connections "
	    "at stunnel, 2 CONNECTs at tinyproxy)", bad == 0 and
	    st.accepted() - a0 <= 2 and connects(tp) - n0 <= 2,
	    (bad, st.accepted() - a0, connects(tp) - n0))
	text = h.stop_hpoold(res, p, log, "https proxy")
	res.check("...the proxy password is in no log line", PASSWORD not in
	    text)

	# the proxy's TLS session resumed by a new connection to it
	conf = "idle_timeout = 1\nlog_level = debug\n" + proxy_conf("corp",
	    "https://%s:%s@localhost:%d" % (USER, PASSWORD, st.port),
	    "cacert = %s\n" % cacert)
	p, sock, log, _ = h.start_hpoold(env, conf, "tlsproxy-resume")
	a0, ok = st.accepted(), 0
	for i in range(3):
		if i:
			time.sleep(1.6)	# the idle connection is closed
		cp = hpool(env, sock, [env.url("/files/" + PAGE)])
		ok += cp.returncode == 0 and cp.stdout == BODY
	text = h.stop_hpoold(res, p, log, "https proxy resumption")
	full = text.count("full TLS handshake with proxy corp")
	resumed = text.count("resumed TLS handshake with proxy corp")
	res.check("3 connections to the proxy one after another: 1 full TLS "
	    "handshake with it, then 2 resumed", ok == 3 and full == 1 and
	    resumed == 2 and st.accepted() - a0 == 3,
	    (ok, full, resumed, st.accepted() - a0))

	# a wrong password: 407 naming the proxy, asked once
	conf = proxy_conf("corp", "https://%s:wrong@localhost:%d" % (USER,
	    st.port), "cacert = %s\n" % cacert)
	p, sock, log, _ = h.start_hpoold(env, conf, "tlsproxy407")
	n0 = connects(tp)
	cp = hpool(env, sock, ["--cacert", cacert, tls_url])
	err = err_of(cp)
	# tinyproxy's BasicAuth answers 401 (squid's 407: test_squid.py)
	res.check("a wrong password: OSError 'Tunnel connection failed: "
	    "<tinyproxy's 401> (proxy corp)', one CONNECT (not retried)",
	    cp.returncode != 0 and err.startswith("OSError: Tunnel "
	    "connection failed: 401 Unauthorized") and
	    "(proxy corp)" in err and connects(tp) - n0 == 1,
	    (h.describe(cp), connects(tp) - n0))
	h.stop_hpoold(res, p, log, "https proxy 407")

	# the system store does not know the test CA
	conf = proxy_conf("corp", "https://%s:%s@localhost:%d" % (USER,
	    PASSWORD, st.port))
	p, sock, log, _ = h.start_hpoold(env, conf, "tlsproxy-untrusted")
	n0 = connects(tp)
	cp = hpool(env, sock, ["--cacert", cacert, tls_url])
	err = err_of(cp)
	res.check("no cacert, a proxy certificate the system store does not "
	    "trust: SSLCertVerificationError naming the proxy, no CONNECT "
	    "sent", cp.returncode != 0 and err.startswith(
	    "SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED]") and
	    "(TLS to proxy corp)" in err and connects(tp) == n0,
	    h.describe(cp))
	h.stop_hpoold(res, p, log, "https proxy untrusted")

	# a certificate for another name
	st2 = h.Stunnel(env, certs.path("wronghost.pem"),
	    certs.path("wronghost.key"), tp.port)
	conf = proxy_conf("corp", "https://%s:%s@localhost:%d" % (USER,
	    PASSWORD, st2.port), "cacert = %s\n" % cacert)
	p, sock, log, _ = h.start_hpoold(env, conf, "tlsproxy-wrongname")
	cp = hpool(env, sock, ["--cacert", cacert, tls_url])
	err = err_of(cp)
	res.check("a proxy certificate for another name: "
	    "SSLCertVerificationError 'Hostname mismatch ... localhost' "
	    "naming the proxy", cp.returncode != 0 and err.startswith(
	    "SSLCertVerificationError:") and "Hostname mismatch" in err and
	    "'localhost'" in err and "(TLS to proxy corp)" in err,
	    h.describe(cp))
	h.stop_hpoold(res, p, log, "https proxy wrong name")

	# down
	conf = proxy_conf("down", "https://127.0.0.1:%d" % h.closed_port(),
	    "cacert = %s\n" % cacert)
	p, sock, log, _ = h.start_hpoold(env, conf, "tlsproxy-down")
	cp = hpool(env, sock, ["--cacert", cacert, tls_url])
	err = err_of(cp)
	res.check("a proxy that is down: ConnectionRefusedError (an "
	    "OSError) 'Tunnel connection failed: [Errno 111] Connection "
	    "refused (proxy down)'", cp.returncode != 0 and err.strip() ==
	    "ConnectionRefusedError: Tunnel connection failed: [Errno 111] "
	    "Connection refused (proxy down)", h.describe(cp))
	h.stop_hpoold(res, p, log, "https proxy down")

	# forward = absolute: plain http in absolute form over the TLS link
	conf = proxy_conf("corp", "https://%s:%s@localhost:%d" % (USER,
	    PASSWORD, st.port), "cacert = %s\nforward = absolute\n" % cacert)
	p, sock, log, _ = h.start_hpoold(env, conf, "tlsproxy-abs")
	n0, a0 = connects(tp), st.accepted()
	ok = 0
	for i in range(3):
		cp = hpool(env, sock, [env.url("/files/" + PAGE)])
		ok += cp.returncode == 0 and cp.stdout == BODY
	with open(tp.log, errors="replace") as f:
		absolute = sum(1 for l in f if "Request (file descriptor" in l
		    and "GET http://127.0.0.1:%d/files/%s" % (env.nginx_port,
		    PAGE) in l)
	# tinyproxy closes after each request: keep-alive through an https
	# proxy in absolute form is seen with squid (test_squid.py)
	res.check("forward = absolute: 3 plain-http requests in absolute "
	    "form over the TLS link, no CONNECT", ok == 3 and
	    absolute == 3 and connects(tp) == n0 and st.accepted() - a0 >= 1,
	    (ok, absolute, connects(tp) - n0, st.accepted() - a0))
	cp = hpool(env, sock, ["--cacert", cacert, tls_url])
	res.check("...and https through CONNECT in the same TLS way",
	    cp.returncode == 0 and cp.stdout == b"hello over tls\n",
	    h.describe(cp))
	h.stop_hpoold(res, p, log, "https proxy absolute")

	# the simple form: proxy = https://..., proxy_cacert
	conf = "proxy = https://%s:%s@127.0.0.1:%d\nproxy_cacert = %s\n" % (
	    USER, PASSWORD, st.port, cacert)
	p, sock, log, _ = h.start_hpoold(env, conf, "tlsproxy-simple")
	n0 = connects(tp)
	cp = hpool(env, sock, ["--cacert", cacert, tls_url])
	res.check("the simple form, proxy = https://USER:PASSWORD@127.0.0.1:"
	    "PORT with proxy_cacert (the IP address checked against the "
	    "certificate's): served through it", cp.returncode == 0 and
	    cp.stdout == b"hello over tls\n" and connects(tp) - n0 == 1,
	    h.describe(cp))
	h.stop_hpoold(res, p, log, "https proxy, simple form")

	cp = h.run_capture([h.HPOOLD, "-t", "-c", env.path("tlsproxy.conf")],
	    timeout=30)
	res.check("hpoold -t takes an https:// proxy with a cacert",
	    cp.returncode == 0, h.describe(cp))
	bad = env.path("bad-cacert.conf")
	with open(bad, "w") as f:
		f.write(proxy_conf("corp", "https://localhost:%d" % st.port,
		    "cacert = %s\n" % certs.path("good.key")))
	cp = h.run_capture([h.HPOOLD, "-t", "-c", bad], timeout=30)
	res.check("...and refuses a cacert with no certificate, naming the "
	    "proxy and the path", cp.returncode == 1 and ("proxy corp: "
	    "cacert %s: no PEM certificate" % certs.path("good.key")).encode()
	    in cp.stderr, h.describe(cp))
	with open(bad, "w") as f:
		f.write(proxy_conf("corp", "http://localhost:%d" % st.port,
		    "cacert = %s\n" % cacert))
	cp = h.run_capture([h.HPOOLD, "-t", "-c", bad], timeout=30)
	res.check("...and a cacert for an http:// proxy", cp.returncode == 1
	    and b"cacert is for https:// proxies" in cp.stderr,
	    h.describe(cp))
	return tp, st


def caller_proxy(res, env, certs, ng, tp, st):
	"""hpool -x https://USER:PASSWORD@localhost:PORT (curl's form): the
	caller's own https:// proxy, TLS to it verified with --proxy-cacert,
	the system store, or nothing (--proxy-insecure)."""
	p, sock, log, _ = h.start_hpoold(env, "", "callertls")
	cacert = certs.path("ca.pem")
	tls_url = "https://localhost:%d/" % ng.ports["good"]
	proxy = "https://%s:%s@localhost:%d" % (USER, PASSWORD, st.port)
	a0, n0 = st.accepted(), connects(tp)
	bad = 0
	for i in range(10):
		cp = hpool(env, sock, ["-x", proxy, "--proxy-cacert", cacert,
		    "--cacert", cacert, tls_url])
		bad += cp.returncode != 0 or cp.stdout != b"hello over tls\n"
	res.check("hpool -x https://USER:PASSWORD@localhost:PORT "
	    "--proxy-cacert: 10 callers served (TLS in TLS), in at most 2 "
	    "TLS connections at stunnel and 2 CONNECTs", bad == 0 and
	    1 <= st.accepted() - a0 <= 2 and 1 <= connects(tp) - n0 <= 2,
	    (bad, st.accepted() - a0, connects(tp) - n0))
	cp = hpool(env, sock, ["-x", proxy, "--proxy-cacert", cacert,
	    env.url("/files/" + PAGE)])
	res.check("...a plain-http target through it", cp.returncode == 0 and
	    cp.stdout == BODY, h.describe(cp))
	cp = hpool(env, sock, ["-x", proxy, "--cacert", cacert, tls_url])
	err = err_of(cp)
	res.check("...without --proxy-cacert (the system store): "
	    "SSLCertVerificationError naming the proxy (exit 60)",
	    cp.returncode == 60 and err.startswith("SSLCertVerificationError:")
	    and "(TLS to proxy localhost:%d)" % st.port in err and PASSWORD
	    not in err, h.describe(cp))
	cp = hpool(env, sock, ["-x", proxy, "--proxy-insecure", "--cacert",
	    cacert, tls_url])
	res.check("...with --proxy-insecure: served", cp.returncode == 0 and
	    cp.stdout == b"hello over tls\n", h.describe(cp))
	cp = hpool(env, sock, ["-x", "https://localhost:%d" % st.port,
	    "--proxy-cacert", cacert, "--cacert", cacert, tls_url])
	res.check("...without credentials: tinyproxy's 407, as http.client "
	    "words a tunnel failure (a caller's proxy: not named)",
	    cp.returncode != 0 and err_of(cp) == "OSError: Tunnel connection "
	    "failed: 407 Proxy Authentication Required",
	    h.describe(cp))
	h.stop_hpoold(res, p, log, "caller https proxy")

	p, sock, log, _ = h.start_hpoold(env, "caller_proxies = deny\n",
	    "callertls-deny")
	a0 = st.accepted()
	cp = hpool(env, sock, ["-x", proxy, "--proxy-cacert", cacert,
	    "--cacert", cacert, tls_url])
	res.check("caller_proxies = deny: the https:// proxy refused as an "
	    "https destination (exit 120), nothing connected",
	    cp.returncode == 120 and "reach https://localhost:%d" % st.port in
	    err_of(cp) and st.accepted() == a0, h.describe(cp))
	h.stop_hpoold(res, p, log, "caller https proxy denied")


def body(res):
	for tool in ("tinyproxy", "stunnel4"):
		if shutil.which(tool) is None:
			raise h.SetupError("%s not found" % tool)
	env = h.Env(files={PAGE: BODY}, daemon=False)
	certs = Certs(env.path("certs"))
	ng = TlsNginx(env, certs)
	tp, st = daemon_proxy(res, env, certs, ng)
	caller_proxy(res, env, certs, ng, tp, st)


if __name__ == "__main__":
	h.main(body)
