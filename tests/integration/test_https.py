"""HTTPS through hpoold against a real nginx with certificates made by the
test: verification outcomes worded as Python's ssl module words them,
pool isolation by TLS settings (proved from nginx's log), reuse and
session resumption."""

import os
import struct
import time

import harness
from harness import Env
import protoclient as pc
from tlsenv import Certs, TlsNginx

GET = pc.req_head("GET", "/index.html", [("Host", "localhost")]) + \
    pc.frame(pc.REQ_END)


def request(env, host, port, tls, get=GET):
	"""One session, one request: (open error or None, response)."""
	s = pc.Session(env.socket)
	try:
		s.send(pc.hello() + pc.open_(host, port, scheme="https", tls=tls))
		t, _ = s.frame()
		assert t == pc.HELLO_OK
		f = s.frame()
		if f[0] != pc.OPEN_OK:
			s.buf = struct.pack(">IB", len(f[1]), f[0]) + f[1] + s.buf
			return s.response(), None
		s.send(get)
		return None, s.response()
	finally:
		s.close()


def verify_error(r):
	err = r[1]["error"] if r[1] else r[0]["error"]
	return err


def body(res):
	env = Env(nginx=True, echo=False, daemon=False)
	certs = Certs(env.path("certs"))
	ng = TlsNginx(env, certs)
	verbose = ["-v"] if os.environ.get("HPOOL_TEST_VERBOSE") else []
	env.start_daemon(verbose)
	ca = [(pc.TLS_CA_PEM, certs.read("ca.pem"))]

	def req(*a, **kw):
		"""request(), then wait (bounded) for nginx to log it: it
		writes the row just after answering."""
		n = len(ng.log())
		r = request(*a, **kw)
		if r[1] is not None and r[1].get("status") is not None:
			ng.log(n + 1)
		return r
	P = ng.ports

	r = req(env, "localhost", P["good"], ca)
	res.check("good chain, name checked: 200 and the body",
	    r[1] and r[1]["status"] == 200 and
	    r[1]["body"] == b"hello over tls\n", r)
	big = pc.req_head("GET", "/1m", [("Host", "localhost")]) + \
	    pc.frame(pc.REQ_END)
	want = harness.sha256_file(os.path.join(ng.dir, "www", "1m"))
	for i in range(3):
		r = req(env, "localhost", P["good"], ca, get=big)
		res.check("1 MiB of random bytes over TLS arrives whole (%d)" % i,
		    r[1] and r[1]["status"] == 200 and len(r[1]["body"]) ==
		    1 << 20 and harness.sha256(r[1]["body"]) == want,
		    r[1] and (r[1]["status"], len(r[1]["body"]), r[1]["error"]))
	r = req(env, "127.0.0.1", P["good"], ca)
	res.check("IP address checked against the IP SAN",
	    r[1] and r[1]["status"] == 200, r)

	r = req(env, "localhost", P["wronghost"], ca)
	res.check("wrong host name -> SSLCertVerificationError, Python's words",
	    verify_error(r) == ("SSLCertVerificationError",
	    "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
	    "Hostname mismatch, certificate is not valid for 'localhost'."), r)
	r = req(env, "localhost", P["expired"], ca)
	res.check("expired -> SSLCertVerificationError 'certificate has expired'",
	    verify_error(r) == ("SSLCertVerificationError",
	    "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
	    "certificate has expired"), r)
	r = req(env, "localhost", P["selfsigned"], ca)
	e = verify_error(r)
	res.check("self-signed -> SSLCertVerificationError",
	    e is not None and e[0] == "SSLCertVerificationError" and
	    "self" in e[1] and "signed certificate" in e[1], r)
	r = req(env, "localhost", P["good"], [])
	res.check("secure default: system store only -> unknown issuer",
	    verify_error(r) == ("SSLCertVerificationError",
	    "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
	    "unable to get local issuer certificate"), r)
	r = req(env, "localhost", P["selfsigned"],
	    [(pc.TLS_VERIFY, b"\0"), (pc.TLS_CHECK_HOSTNAME, b"\0")])
	res.check("verify none accepts the self-signed server",
	    r[1] and r[1]["status"] == 200, r)
	r = req(env, "localhost", P["good"], ca +
	    [(pc.TLS_SNI, b"wrong.example")])
	e = verify_error(r)
	res.check("server_hostname is what is checked",
	    e is not None and "'wrong.example'" in e[1], r)

	# Client certificates.
	c1 = [(pc.TLS_CERT_PEM, certs.read("client1.pem")),
	    (pc.TLS_KEY_PEM, certs.read("client1.key"))]
	c2 = [(pc.TLS_CERT_PEM, certs.read("client2.pem")),
	    (pc.TLS_KEY_PEM, certs.read("client2.key"))]
	r = req(env, "localhost", P["mtls"], ca)
	res.check("client cert required, none sent: nginx answers 400",
	    r[1] and r[1]["status"] == 400, r)
	r = req(env, "localhost", P["mtls"], ca + c1)
	res.check("client cert required, client1 sent: 200",
	    r[1] and r[1]["status"] == 200, r)
	r = req(env, "localhost", P["mtls"], ca + c2)
	res.check("client cert required, client2 sent: 200",
	    r[1] and r[1]["status"] == 200, r)
	for _ in range(3):
		req(env, "localhost", P["mtls"], ca + c1)
		req(env, "localhost", P["mtls"], ca + c2)
		req(env, "localhost", P["mtls"], ca)
	rows = [x for x in ng.log() if x["port"] == P["mtls"]]
	dns = {}
	for x in rows:
		dns.setdefault(x["conn"], set()).add(x["dn"])
	by_dn = {}
	for conn, v in dns.items():
		for dn in v:
			by_dn.setdefault(dn, set()).add(conn)
	res.check("each upstream connection carries one client identity",
	    all(len(v) == 1 for v in dns.values()) and
	    set(by_dn) == {"-", "CN=client1", "CN=client2"}, dns)
	res.check("client1 and client2 each kept one pooled connection",
	    len(by_dn["CN=client1"]) == 1 and len(by_dn["CN=client2"]) == 1 and
	    not by_dn["CN=client1"] & by_dn["CN=client2"], by_dn)

	bad_key = [(pc.TLS_CERT_PEM, certs.read("client1.pem")),
	    (pc.TLS_KEY_PEM, certs.read("client2.key"))]
	r = req(env, "localhost", P["mtls"], ca + bad_key)
	e = verify_error(r)
	res.check("key that does not match the certificate -> SSLError",
	    e is not None and e[0] == "SSLError" and "client certificate" in
	    e[1], r)
	r = req(env, "localhost", P["good"], [(pc.TLS_CA_PEM, b"garbage")])
	e = verify_error(r)
	res.check("CA data without a certificate -> SSLError naming it",
	    e is not None and e[0] == "SSLError" and "CA" in e[1], r)

	# Isolation: a verified and an unverified caller never share.
	for _ in range(3):
		req(env, "localhost", P["good"], ca)
		req(env, "localhost", P["good"],
		    [(pc.TLS_VERIFY, b"\0"), (pc.TLS_CHECK_HOSTNAME, b"\0")])
	rows = [x for x in ng.log() if x["port"] == P["good"]]
	by_conn = {}
	for x in rows:
		by_conn.setdefault(x["conn"], 0)
		by_conn[x["conn"]] += 1
	res.check("verified and unverified callers use separate connections",
	    len(by_conn) >= 2, by_conn)

	# Reuse: 100 sequential callers, at most 2 full handshakes.
	nbefore = len(ng.log())
	for _ in range(100):
		req(env, "localhost", P["good"], ca)
	rows = [x for x in ng.log()[nbefore:] if x["port"] == P["good"]]
	full = {x["conn"] for x in rows if not x["reused"]}
	res.check("100 sequential HTTPS callers: at most 2 full handshakes",
	    len(rows) == 100 and len(full) <= 2, (len(rows), full))

	# Resumption: the idle connection expires (idle_timeout = 1 in a
	# second daemon), the next one resumes the pool's TLS session.
	conf = env.path("hpoold-idle.conf")
	with open(conf, "w") as f:
		f.write("[hpoold]\nidle_timeout = 1\n")
	env.stop_daemon()
	env.start_daemon(["--config", conf] + verbose)
	req(env, "localhost", P["good"], ca)
	time.sleep(1.6)
	before = {x["conn"] for x in ng.log()}
	req(env, "localhost", P["good"], ca)
	rows = [x for x in ng.log() if x["conn"] not in before]
	res.check("a new connection for the same key resumes the TLS session",
	    len(rows) == 1 and rows[0]["reused"], rows)
	# ...but a different key does not get that session.
	before = {x["conn"] for x in ng.log()}
	req(env, "localhost", P["good"], ca + [(pc.TLS_ALPN, b"\x08http/1.1")])
	rows = [x for x in ng.log() if x["conn"] not in before]
	res.check("another TLS setting gets a full handshake, not the session",
	    len(rows) == 1 and not rows[0]["reused"], rows)

	# TLS to a plain HTTP server.
	r = req(env, "127.0.0.1", env.nginx_port,
	    [(pc.TLS_VERIFY, b"\0"), (pc.TLS_CHECK_HOSTNAME, b"\0")])
	e = verify_error(r)
	res.check("TLS to a plain HTTP port -> SSLError",
	    e is not None and e[0] == "SSLError", r)

	# TLS settings are refused for plain http.
	s = pc.Session(env.socket)
	s.send(pc.hello() + pc.open_("localhost", 80, tls=ca))
	s.frame()
	r = s.response()
	s.close()
	res.check("TLS settings with scheme http are refused",
	    r["error"] is not None and r["error"][0] == "HpoolProtocolError", r)
	res.check("hpoold still running", env.daemon_alive())
	if os.environ.get("HPOOL_TEST_VERBOSE"):
		os.system("grep -E 'reusable|idle|-> 3|error' %s | tail -60" % env.daemon_log)


harness.main(body)
