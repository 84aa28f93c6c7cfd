"""set_tunnel through a real CONNECT proxy (Debian's tinyproxy): plain
HTTP and HTTPS tunnelled to nginx, proxy credentials, Python's errors for
a refused tunnel, and pools that keep tunnels of different targets and
credentials apart (proved from nginx's log)."""

import base64
import http.client
import os
import subprocess

import harness
from harness import Env, SetupError, free_port, spawn, tcp_accepts, wait_until
import protoclient as pc
from tlsenv import Certs, TlsNginx

USER, PASSWORD = "hpool", "s3cret"


def tunnel(env, proxy_port, host, port, headers=(), scheme="http", tls=(),
    req_host=None):
	"""One session through the proxy: the response dict."""
	s = pc.Session(env.socket)
	try:
		extra = [(18, host), (19, port.to_bytes(2, "big"))]
		if headers:
			hl = len(headers).to_bytes(2, "big")
			for k, v in headers:
				hl += pc.pstr(k) + pc.pstr(v)
			extra.append((20, hl))
		s.send(pc.hello() + pc.open_("127.0.0.1", proxy_port,
		    scheme=scheme, tls=list(tls) + extra))
		t, _ = s.frame()
		assert t == pc.HELLO_OK
		t, p = s.frame()
		if t != pc.OPEN_OK:
			return {"error": ("open", p), "status": None}
		s.send(pc.req_head("GET", "/files/small.txt" if scheme == "http"
		    else "/index.html", [("Host", req_host or host)]) +
		    pc.frame(pc.REQ_END))
		return s.response()
	finally:
		s.close()


def python_tunnel_error(proxy_port, host, port, headers=None):
	c = http.client.HTTPConnection("127.0.0.1", proxy_port, timeout=10)
	c.set_tunnel(host, port, headers)
	try:
		c.request("GET", "/")
		c.getresponse()
	except Exception as e:
		return (type(e).__name__, str(e))
	finally:
		c.close()
	return None


def body(res):
	env = Env(files={"small.txt": b"tunnelled\n"}, echo=False)
	certs = Certs(env.path("certs"))
	ng = TlsNginx(env, certs)
	px = harness.Tinyproxy(env)
	pxa = harness.Tinyproxy(env, auth=(USER, PASSWORD))
	auth = "Basic " + base64.b64encode(("%s:%s" % (USER, PASSWORD))
	    .encode()).decode()

	r = tunnel(env, px.port, "127.0.0.1", env.nginx_port)
	res.check("plain HTTP through a CONNECT tunnel",
	    r["status"] == 200 and r["body"] == b"tunnelled\n", r)
	n0 = len(env.access_log())
	for _ in range(5):
		tunnel(env, px.port, "127.0.0.1", env.nginx_port)
	conns = {x["connection"] for x in env.access_log_wait(n0 + 5)[n0 - 1:]}
	res.check("tunnelled connection is pooled: 6 requests, 1 connection",
	    len(conns) == 1, conns)

	ca = [(pc.TLS_CA_PEM, certs.read("ca.pem"))]
	r = tunnel(env, px.port, "localhost", ng.ports["good"], scheme="https",
	    tls=ca)
	res.check("HTTPS through the tunnel, name checked against the target",
	    r["status"] == 200 and r["body"] == b"hello over tls\n", r)
	r = tunnel(env, px.port, "localhost", ng.ports["wronghost"],
	    scheme="https", tls=ca)
	res.check("HTTPS through the tunnel still verifies the target",
	    r.get("error") is not None and
	    r["error"][0] == "SSLCertVerificationError" and
	    "'localhost'" in r["error"][1], r)

	want = python_tunnel_error(pxa.port, "127.0.0.1", env.nginx_port)
	r = tunnel(env, pxa.port, "127.0.0.1", env.nginx_port)
	res.check("proxy wants credentials: OSError as http.client says",
	    want is not None and want[0] == "OSError" and r.get("error") ==
	    want, (want, r))
	r = tunnel(env, pxa.port, "127.0.0.1", env.nginx_port,
	    headers=[("Proxy-Authorization", auth)])
	res.check("with Proxy-Authorization the tunnel opens",
	    r["status"] == 200 and r["body"] == b"tunnelled\n", r)

	# Different credentials never share a tunnel.
	n0 = len(env.access_log())
	for _ in range(3):
		tunnel(env, pxa.port, "127.0.0.1", env.nginx_port,
		    headers=[("Proxy-Authorization", auth)])
		tunnel(env, px.port, "127.0.0.1", env.nginx_port,
		    headers=[("Proxy-Authorization", "Basic b3RoZXI6eA==")])
	rows = env.access_log_wait(n0 + 6)[n0:]
	ports = {}
	for x in rows:
		ports.setdefault(x["connection"], 0)
		ports[x["connection"]] += 1
	res.check("tunnels with different credentials use different "
	    "connections, each reused", len(ports) == 2 and
	    sorted(ports.values()) == [3, 3], ports)

	closed = harness.closed_port()
	want = python_tunnel_error(px.port, "127.0.0.1", closed)
	r = tunnel(env, px.port, "127.0.0.1", closed)
	res.check("proxy cannot reach the target: the same OSError as python",
	    want is not None and r.get("error") == want, (want, r))

	r = tunnel(env, px.port, "127.0.0.1", env.nginx_port,
	    headers=[("X-Bad", "a\r\nb")])
	res.check("a CONNECT header with CR LF is refused at OPEN",
	    r["status"] is None and r["error"][0] == "open", r)
	# The same through libhpool's set_tunnel, from the command line.
	cp = env.hpool(["-s", "-x", "127.0.0.1:%d" % px.port,
	    env.url("/files/small.txt")])
	res.check("hpool -x: plain HTTP through the tunnel",
	    cp.returncode == 0 and cp.stdout == b"tunnelled\n",
	    harness.describe(cp))
	cp = env.hpool(["-s", "-x", "127.0.0.1:%d" % px.port, "--cacert",
	    certs.path("ca.pem"), "https://localhost:%d/index.html" %
	    ng.ports["good"]])
	res.check("hpool -x: HTTPS through the tunnel",
	    cp.returncode == 0 and cp.stdout == b"hello over tls\n",
	    harness.describe(cp))
	cp = env.hpool(["-sS", "-x", "127.0.0.1:%d" % px.port, "--cacert",
	    certs.path("ca.pem"), "https://localhost:%d/index.html" %
	    ng.ports["wronghost"]])
	res.check("hpool -x: the target's name is checked, not the proxy's",
	    cp.returncode != 0 and b"not valid for 'localhost'" in cp.stderr,
	    harness.describe(cp))
	want = python_tunnel_error(pxa.port, "127.0.0.1", env.nginx_port)
	cp = env.hpool(["-sS", "-x", "127.0.0.1:%d" % pxa.port,
	    env.url("/files/small.txt")])
	# the CONNECT failed, so the request itself never left hpoold
	res.check("hpool -x without --proxy-user: python's OSError, then 'the "
	    "request was not sent'",
	    cp.returncode != 0 and cp.stderr.decode() ==
	    "hpool: %s: %s (opening a tunnel to 127.0.0.1:%d through the "
	    "proxy at 127.0.0.1:%d)\nhpool: the request was not sent (safe to "
	    "retry)\n" %
	    (want + (env.nginx_port, pxa.port)), (want, harness.describe(cp)))
	cp = env.hpool(["-s", "-x", "127.0.0.1:%d" % pxa.port, "--proxy-user",
	    "%s:%s" % (USER, PASSWORD), env.url("/files/small.txt")])
	res.check("hpool -x --proxy-user opens the tunnel",
	    cp.returncode == 0 and cp.stdout == b"tunnelled\n",
	    harness.describe(cp))
	res.check("hpoold still running", env.daemon_alive())


harness.main(body)
