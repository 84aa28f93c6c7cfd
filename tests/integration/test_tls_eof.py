#!/usr/bin/env python3
"""How a TLS server's end of the connection ends a response, through the
hpool CLI and hpoold, differentially against python3's http.client on the
same scripted TLS server (the ssl module, server side, certificate "good"
of tlsenv.Certs):

(a) a close-delimited body, then a TCP close WITHOUT close_notify after
    the handshake (a "ragged" EOF): python's ssl (suppress_ragged_eofs,
    which http.client relies on) reads it as EOF, so the whole body
    arrives and nothing fails; hpool must do the same, exit 0.
(b) Content-Length: 10 but 3 body bytes, then the same ragged close:
    python raises IncompleteRead(3 bytes read, 7 more expected); hpool
    must print the 3 bytes and report the same error, curl's exit 18.
(c) a close-delimited body, then close_notify (SSL unwrap) and the TCP
    close: the whole body, no error.

Each case runs over TLS 1.3 and TLS 1.2, a small body and one of 1 MiB + 17
bytes (many TLS records, so the EOF comes after read-ahead data)."""

import http.client
import random
import re
import socket
import ssl

import harness as h
from tlsenv import Certs

CLI_TIMEOUT = 10	# seconds, hpool --timeout
RUN_TIMEOUT = 30	# seconds, the whole hpool process
PY_TIMEOUT = 10		# seconds, python's client and the server's socket
DRAIN_TIMEOUT = 5	# seconds the server waits for the client to close

MiB = 1 << 20
SMALL = b"close-delimited body over tls\n"
BIG = random.Random(7).randbytes(MiB + 17)
HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n"
SHORT = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"
INCOMPLETE = ("IncompleteRead", "IncompleteRead(3 bytes read, 7 more "
    "expected)")

# name, response bytes, how the server ends, (body, error) both clients
# must see
CASES = [
	("(a) close-delimited %d B, close without close_notify" % len(SMALL),
	    HEAD + SMALL, "ragged", (SMALL, None)),
	("(a) close-delimited 1 MiB + 17 B, close without close_notify",
	    HEAD + BIG, "ragged", (BIG, None)),
	("(b) Content-Length: 10, 3 bytes, close without close_notify",
	    SHORT, "ragged", (b"abc", INCOMPLETE)),
	("(c) close-delimited %d B, close_notify then close" % len(SMALL),
	    HEAD + SMALL, "notify", (SMALL, None)),
	("(c) close-delimited 1 MiB + 17 B, close_notify then close",
	    HEAD + BIG, "notify", (BIG, None)),
]

VERSIONS = [("TLS 1.3", ssl.TLSVersion.TLSv1_3),
    ("TLS 1.2", ssl.TLSVersion.TLSv1_2)]


def short(b, n=80):
	if b is None:
		return "None"
	r = repr(b)
	return r if len(r) <= n else "%s...(%d bytes)" % (r[:n], len(b))


def tls_server(certs, version, response, end):
	"""A scripted TLS server on 127.0.0.1: handshake, one request read,
	`response` sent, then the connection ends as `end` says:
	"ragged": the TLS layer is dropped (SSLSocket.shutdown() forgets
	    the SSL object, no SSL_shutdown) and the TCP side is closed:
	    a FIN with no close_notify before it;
	"notify": unwrap() sends close_notify first (and waits, bounded,
	    for the peer's), then the same TCP close.
	The TCP close is shutdown(SHUT_WR) and a bounded drain until the
	client closes, then close(): a FIN, never a RST that could discard
	body bytes still in flight."""
	ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
	ctx.load_cert_chain(certs.path("good.pem"), certs.path("good.key"))
	ctx.minimum_version = ctx.maximum_version = version

	def handler(conn, server, idx):
		conn.settimeout(PY_TIMEOUT)
		tls = ctx.wrap_socket(conn, server_side=True)	# handshake
		with server.lock:
			server.conns.append(tls)	# stop() shuts it down too
		try:
			req = h.read_request(tls, timeout=PY_TIMEOUT)
			if req is None:
				return
			server.record(idx, req)
			tls.sendall(response)
			if end == "notify":
				tls.settimeout(DRAIN_TIMEOUT)
				try:
					tls.unwrap()
				except (ssl.SSLError, OSError):
					# close_notify is out; the peer closed or
					# sent none back in time
					pass
			# drops the SSL object without SSL_shutdown: TCP only
			tls.shutdown(socket.SHUT_WR)
			tls.settimeout(DRAIN_TIMEOUT)
			try:
				while tls.recv(65536):
					pass
			except OSError:
				pass
		finally:
			tls.close()

	return h.ScriptedServer(handler, "tls-eof")


def python_outcome(port, ctx):
	"""(status, body, error) python3's http.client gives for a GET; body
	is IncompleteRead's partial when it raises that, None after another
	error; error is (class name, str) or None."""
	c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx,
	    timeout=PY_TIMEOUT)
	status = body = error = None
	try:
		c.request("GET", "/")
		r = c.getresponse()
		status = r.status
		try:
			body = r.read()
		except http.client.IncompleteRead as e:
			body = e.partial
			raise
	except Exception as e:
		error = (type(e).__name__, re.sub(r" \(_ssl\.c:\d+\)$", "",
		    str(e)))
	finally:
		c.close()
	return status, body, error


def strict_ending(port, ctx):
	"""How the server's side ends as an ssl client that does NOT suppress
	ragged EOFs sees it: "ragged" (SSLEOFError), "close_notify" (recv
	gives b'' after the peer's close_notify), else the error's name. It
	proves the server script does what the case says."""
	s = socket.create_connection(("127.0.0.1", port), timeout=PY_TIMEOUT)
	tls = ctx.wrap_socket(s, server_hostname="127.0.0.1",
	    suppress_ragged_eofs=False)
	try:
		tls.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
		while tls.recv(65536):
			pass
		return "close_notify"
	except ssl.SSLEOFError:
		return "ragged"
	except Exception as e:
		return type(e).__name__
	finally:
		tls.close()


def hpool_outcome(env, port, ca):
	"""(status, body, error, exit code, process) of `hpool -i` for the
	same GET; error is the `hpool: Name: message` line or None."""
	cp = env.hpool(["--cacert", ca, "--timeout", str(CLI_TIMEOUT), "-i",
	    "https://127.0.0.1:%d/" % port], timeout=RUN_TIMEOUT)
	status = body = None
	p = h.parse_include_output(cp.stdout) if cp.stdout else None
	if p is not None:
		status, body = p[1], p[4]
	error = h.cli_error(cp.stderr)
	if error is not None:
		error = (error[0], error[1].rstrip("\r\n"))
	return status, body, error, cp.returncode, cp


def run_case(res, env, certs, vname, version, name, response, end, want):
	"""Three results: the server ends as the case says, python3's outcome
	is the one the case expects (the premises), and hpool's equals
	python3's."""
	want_body, want_err = want
	want_exit = 18 if want_err else 0
	ca = certs.path("ca.pem")
	pyctx = ssl.create_default_context(cafile=ca)
	what = "%s, %s" % (vname, name)
	srv = tls_server(certs, version, response, end)
	try:
		def premise_ending():
			got = strict_ending(srv.port, pyctx)
			if got != ("ragged" if end == "ragged" else "close_notify"):
				return "it saw %s" % got
		res.run("%s: a strict ssl client (suppress_ragged_eofs=False) "
		    "sees %s" % (what, "SSLEOFError" if end == "ragged" else
		    "close_notify"), premise_ending)
		py = python_outcome(srv.port, pyctx)

		def reference():
			if py != (200, want_body, want_err):
				return "python3 got status %r, body %s, error %r" % (
				    py[0], short(py[1]), py[2])
		res.run("%s: python3's http.client: 200, %s" % (what,
		    want_err[1] if want_err else "the whole body, no error"),
		    reference)

		def differential():
			status, body, err, rc, cp = hpool_outcome(env, srv.port, ca)
			if (status, body, err) != py or rc != want_exit:
				return ("hpool: exit %d, status %r, body %s, error %r; "
				    "python3: status %r, body %s, error %r; %s" % (rc,
				    status, short(body), err, py[0], short(py[1]),
				    py[2], h.describe(cp)))
			# every request reached the server over TLS: the EOF
			# under test came after a completed handshake
			if len(srv.requests) != 3 or srv.errors:
				return "server saw %d requests, errors %r" % (
				    len(srv.requests), srv.errors)
		res.run("%s: hpool equals python3 (status, body bytes, error "
		    "class and words), exit %d" % (what, want_exit), differential)
	finally:
		srv.stop()


def body(res):
	env = h.Env(nginx=False, echo=False, daemon=False)
	certs = Certs(env.path("certs"))
	env.start_daemon()
	res.after_case = env.revive
	for vname, version in VERSIONS:
		for name, response, end, want in CASES:
			run_case(res, env, certs, vname, version, name,
			    response, end, want)
	env.final_checks(res)


h.main(body)
