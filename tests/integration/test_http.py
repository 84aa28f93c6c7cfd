#!/usr/bin/env python3
"""End to end over plain HTTP: `hpool` -> hpoold -> a real nginx (and a
scripted server where nginx cannot produce the case). Methods, options,
bodies from 0 B to 64 MiB both ways, chunked and close-delimited
responses, errors and exit codes."""

import http.client
import json
import os
import time

import harness as h

KiB = 1024
MiB = 1024 * KiB
SIZES = [("0B", 0), ("1B", 1), ("64KiB", 64 * KiB), ("1MiB", MiB),
    ("64MiB", 64 * MiB)]
BIG_TIMEOUT = 300	# seconds for a 64 MiB transfer (sanitizer builds)


def ensure(cond, detail):
	if not cond:
		raise AssertionError(detail)


def expect_ok(cp, what=""):
	ensure(cp.returncode == 0, "%s%s" % (what and what + ": ", h.describe(cp)))


def expect_error(cp, names, what=""):
	"""Non-zero exit and `hpool: Name: ...` with Name in names."""
	ensure(cp.returncode != 0, "expected failure, got %s" % h.describe(cp))
	err = h.cli_error(cp.stderr)
	ensure(err is not None, "no `hpool: Name: message` line: %s" %
	    h.describe(cp))
	ensure(err[0] in names, "exception %r, expected one of %s: %s" % (
	    err[0], sorted(names), h.describe(cp)))
	return err


def sum_of(cp):
	"""The JSON the /sum backend answered."""
	expect_ok(cp)
	return json.loads(cp.stdout.decode())


def header(headers, name):
	vals = [v for k, v in headers if k.lower() == name.lower()]
	return ", ".join(vals) if vals else None


def cases(res):
	files = {"f-%s.bin" % n: s for n, s in SIZES}
	files["hello.txt"] = b"hello, hpool\n"
	env = h.Env(files=files)
	res.after_case = env.revive

	# -- downloads
	for n, size in SIZES:
		name = "f-%s.bin" % n
		if size <= MiB:
			def get_stdout(name=name):
				cp = env.hpool([env.url("/files/" + name)])
				expect_ok(cp)
				ensure(h.sha256(cp.stdout) == env.files[name][1],
				    "sha256 differs: got %d bytes" % len(cp.stdout))
			res.run("GET %s to stdout" % n, get_stdout)

		def get_o(name=name):
			out = env.path("out-" + name)
			cp = env.hpool(["-o", out, env.url("/files/" + name)],
			    timeout=BIG_TIMEOUT)
			expect_ok(cp)
			ensure(cp.stdout == b"", "stdout not empty with -o")
			ensure(h.sha256_file(out) == env.files[name][1],
			    "sha256 differs: got %d bytes, want %d" % (
			    os.path.getsize(out), env.files[name][0]))
			os.unlink(out)
		res.run("GET %s with -o, sha256 equal" % n, get_o)

	def include():
		cp = env.hpool(["-i", env.url("/files/hello.txt")])
		expect_ok(cp)
		p = h.parse_include_output(cp.stdout)
		ensure(p is not None, "no status line: %r" % cp.stdout[:200])
		v, s, r, hd, body = p
		ensure((v, s, r) == (11, 200, "OK"), "status line %r" % ((v, s, r),))
		ensure(cp.stdout.startswith(b"HTTP/1.1 200 OK"), "first line %r" %
		    cp.stdout[:40])
		ensure(header(hd, "Content-Length") == "13", "headers %r" % hd)
		ensure(header(hd, "Server") is not None, "no Server: %r" % hd)
		ensure(body == b"hello, hpool\n", "body %r" % body)
		# same headers, same order as python's http.client
		c = http.client.HTTPConnection("127.0.0.1", env.nginx_port, timeout=10)
		c.request("GET", "/files/hello.txt")
		ref = c.getresponse()
		ref.read()
		c.close()
		names = [k for k, _ in ref.getheaders()]
		ensure([k for k, _ in hd] == names, "header names %r, python %r" % (
		    [k for k, _ in hd], names))
	res.run("GET -i prints status line, headers in order, body", include)

	def head_I():
		cp = env.hpool(["-I", env.url("/files/f-1MiB.bin")])
		expect_ok(cp)
		p = h.parse_include_output(cp.stdout)
		ensure(p is not None, "no status line: %r" % cp.stdout[:200])
		v, s, r, hd, body = p
		ensure(s == 200, "status %r" % s)
		ensure(header(hd, "Content-Length") == str(MiB), "headers %r" % hd)
		ensure(body == b"", "-I printed a body of %d bytes" % len(body))
		last = env.access_log()[-1]
		ensure(last["request"].startswith("HEAD "), "nginx saw %r" %
		    last["request"])
	res.run("HEAD with -I: headers, no body", head_I)

	def head_X():
		cp = env.hpool(["-X", "HEAD", env.url("/files/f-1MiB.bin")])
		expect_ok(cp)
		ensure(cp.stdout == b"", "body printed for HEAD: %d bytes" %
		    len(cp.stdout))
		last = env.access_log()[-1]
		ensure(last["request"].startswith("HEAD "), "nginx saw %r" %
		    last["request"])
	res.run("HEAD with -X HEAD: no body", head_X)

	def get_404():
		cp = env.hpool([env.url("/files/missing")])
		expect_ok(cp, "404 without --fail exits 0")
		ensure(b"404" in cp.stdout, "no 404 page: %r" % cp.stdout[:200])
	res.run("GET 404 without --fail: exit 0, body printed", get_404)

	def fail_404():
		cp = env.hpool(["--fail", env.url("/files/missing")])
		ensure(cp.returncode == 22, "exit %d, want 22: %s" % (cp.returncode,
		    h.describe(cp)))
	res.run("GET 404 with --fail: exit 22", fail_404)

	def fail_200():
		cp = env.hpool(["--fail", env.url("/files/hello.txt")])
		expect_ok(cp)
	res.run("GET 200 with --fail: exit 0", fail_200)

	# -- request bodies
	def post_d():
		cp = env.hpool(["-i", "-d", "a=1&b=two", env.url("/echo")])
		expect_ok(cp)
		v, s, r, hd, body = h.parse_include_output(cp.stdout)
		ensure(s == 200, "status %d" % s)
		ensure(header(hd, "X-Echo-Method") == "POST", "method %r" %
		    header(hd, "X-Echo-Method"))
		ensure(body == b"a=1&b=two", "echo %r" % body)
	res.run("POST -d DATA (method POST, body echoed)", post_d)

	# -d reads files as curl does: CR and LF are stripped;
	# --data-binary sends them exactly.
	for n, size in SIZES:
		name = "f-%s.bin" % n

		def post_file(name=name, size=size):
			path = os.path.join(env.www, "files", name)
			with open(path, "rb") as f:
				want = f.read().replace(b"\r", b"").replace(b"\n", b"")
			cp = env.hpool(["-d", "@" + path, env.url("/sum")],
			    timeout=BIG_TIMEOUT)
			j = sum_of(cp)
			ensure(j["method"] == "POST", "method %r" % j["method"])
			ensure(j["length"] == len(want), "server got %d bytes, want %d "
			    "(%d with CR LF)" % (j["length"], len(want), size))
			ensure(j["sha256"] == h.sha256(want), "sha256 differs")
		res.run("POST -d @FILE %s (CR LF stripped), size and sha256 at the "
		    "server" % n, post_file)

		def post_binary(name=name, size=size, method="POST"):
			path = os.path.join(env.www, "files", name)
			cp = env.hpool(["-X", method, "--data-binary", "@" + path,
			    env.url("/sum")], timeout=BIG_TIMEOUT)
			j = sum_of(cp)
			ensure(j["method"] == method, "method %r" % j["method"])
			ensure(j["length"] == size, "server got %d bytes, want %d" % (
			    j["length"], size))
			ensure(j["sha256"] == env.files[name][1], "sha256 differs")
			lengths = [v for k, v in j["headers"]
			    if k.lower() == "content-length"]
			ensure(lengths == [str(size)], "Content-Length %r" % lengths)
		res.run("POST --data-binary @FILE %s, size and sha256 at the server" %
		    n, post_binary)
		if size >= MiB:
			res.run("PUT --data-binary @FILE %s" % n, post_binary,
			    method="PUT")

	def post_crlf_data():
		j = sum_of(env.hpool(["-d", "@-", env.url("/sum")],
		    input=b"a=1\r\n&b=2\n"))
		ensure(j["length"] == 7 and j["sha256"] == h.sha256(b"a=1&b=2"),
		    "server got %d bytes" % j["length"])
	res.run("POST -d @- strips CR and LF as curl does", post_crlf_data)

	def stdin_body():
		data = bytes(range(256)) * 400	# 100 KiB, every byte value
		cp = env.hpool(["--data-binary", "@-", env.url("/sum")], input=data)
		j = sum_of(cp)
		ensure(j["length"] == len(data) and j["sha256"] == h.sha256(data),
		    "server got %d bytes" % j["length"])
	res.run("POST --data-binary @- (stdin, every byte value)", stdin_body)

	def stdin_empty():
		j = sum_of(env.hpool(["-d", "@-", env.url("/sum")], input=b""))
		ensure(j["method"] == "POST" and j["length"] == 0, "got %r" % j)
	res.run("POST -d @- with empty stdin", stdin_empty)

	def delete():
		j = sum_of(env.hpool(["-X", "DELETE", env.url("/sum/item")]))
		ensure(j["method"] == "DELETE" and j["path"] == "/sum/item",
		    "got %r" % j)
		ensure(j["length"] == 0, "body of %d bytes" % j["length"])
	res.run("DELETE", delete)

	def headers_H():
		j = sum_of(env.hpool(["-H", "X-Test: abc def", "-H", "X-Other: 1",
		    "-H", "Accept: text/plain", env.url("/sum")]))
		got = {k.lower(): v for k, v in j["headers"]}
		ensure(got.get("x-test") == "abc def", "X-Test %r" % got.get("x-test"))
		ensure(got.get("x-other") == "1", "X-Other %r" % got.get("x-other"))
		ensure(got.get("accept") == "text/plain", "Accept %r" %
		    got.get("accept"))
	res.run("-H adds request headers (repeatable)", headers_H)

	# -- the request as http.client sends it
	def request_shape():
		srv = h.ScriptedServer(_record_and_answer)
		try:
			cp = env.hpool([srv.url("/path?q=1")])
			expect_ok(cp)
			ensure(srv.requests, "server saw no request")
			_, method, target, headers, body = srv.requests[0]
			ensure((method, target) == ("GET", "/path?q=1"), "request %s %s" %
			    (method, target))
			hosts = [v for k, v in headers if k.lower() == "host"]
			ensure(hosts == ["127.0.0.1:%d" % srv.port], "Host %r" % hosts)
		finally:
			srv.stop()
	res.run("request line and Host header as http.client sends them",
	    request_shape)

	# -- socket selection
	def socket_flag():
		cp = env.hpool(["--socket", env.socket, env.url("/files/hello.txt")],
		    socket_env=False, env={"HPOOL_SOCKET": env.path("nope.sock")})
		expect_ok(cp)
		ensure(cp.stdout == b"hello, hpool\n", "body %r" % cp.stdout)
	res.run("--socket PATH wins over $HPOOL_SOCKET", socket_flag)

	def no_daemon_flag():
		path = env.path("not-running.sock")
		cp = env.hpool(["--socket", path, env.url("/")], socket_env=False)
		ensure(cp.returncode != 0, "exit 0 without a daemon")
		ensure(cp.stderr.startswith(b"hpool: "), "stderr %r" % cp.stderr)
		ensure(path.encode() in cp.stderr, "socket path not named: %r" %
		    cp.stderr)
	res.run("daemon not running (--socket): clear error naming the path",
	    no_daemon_flag)

	def no_daemon_env():
		path = env.path("not-running-env.sock")
		cp = env.hpool([env.url("/")], socket_env=False,
		    env={"HPOOL_SOCKET": path})
		ensure(cp.returncode != 0, "exit 0 without a daemon")
		ensure(h.cli_error(cp.stderr) is not None, "stderr %r" % cp.stderr)
		ensure(path.encode() in cp.stderr, "socket path not named: %r" %
		    cp.stderr)
	res.run("daemon not running ($HPOOL_SOCKET): clear error naming the path",
	    no_daemon_env)

	# -- errors as Python names them
	def refused():
		port = h.closed_port()
		cp = env.hpool(["http://127.0.0.1:%d/" % port])
		name, msg = expect_error(cp, {"ConnectionRefusedError"})
		ensure("Connection refused" in msg, "message %r" % msg)
		ensure(cp.stdout == b"", "stdout %r" % cp.stdout)
		# hpoold says no byte left it, and hpool passes that on
		ensure(h.cli_sent_note(cp.stderr) == "the request was not sent "
		    "(safe to retry)", h.describe(cp))
	res.run("closed port: ConnectionRefusedError, then 'the request was "
	    "not sent'", refused)

	# -- a request that died on a reused connection after it was sent:
	# hpoold does not replay it (RFC 9110 9.2.2) and says it may have
	# been processed; the warm-up GET leaves the connection in the pool.
	def dropped(args, why):
		srv = h.ScriptedServer(_answer_until_post)
		try:
			expect_ok(env.hpool([srv.url("/warm")]), "warm-up GET")
			cp = env.hpool(args + [srv.url("/order")])
			name, msg = expect_error(cp, {"RemoteDisconnected"})
			ensure(cp.returncode == 52, h.describe(cp))
			ensure(msg == "Remote end closed connection without "
			    "response\n", "message %r" % msg)
			ensure(h.cli_sent_note(cp.stderr) == "the request may have "
			    "been processed by the server (not retried: %s)" % why,
			    h.describe(cp))
			posts = [r for r in srv.requests if r[1] == "POST"]
			ensure(len(posts) == 1 and posts[0][0] == 0 and
			    srv.connections == 1, "POST on connections %r of %d: "
			    "want once, on the reused one" % ([r[0] for r in posts],
			    srv.connections))
		finally:
			srv.stop()
	res.run("POST dropped on a reused connection: RemoteDisconnected, "
	    "'may have been processed (not retried: it is not idempotent)'",
	    dropped, ["-d", "x=1"], "it is not idempotent")
	res.run("POST with Idempotency-Key and a body dropped on a reused "
	    "connection: 'not retried: it has a body'", dropped,
	    ["-d", "x=1", "-H", "Idempotency-Key: k1"], "it has a body")

	def bad_port():
		cp = env.hpool(["http://127.0.0.1:abc/"])
		expect_error(cp, {"InvalidURL"})
	res.run("non-numeric port: InvalidURL", bad_port)

	def timeout():
		srv = h.ScriptedServer(_read_then_hold)
		try:
			t0 = time.monotonic()
			cp = env.hpool(["--timeout", "1", srv.url()], timeout=30)
			took = time.monotonic() - t0
			name, msg = expect_error(cp, {"TimeoutError"})
			ensure(msg.strip() == "timed out", "message %r" % msg)
			ensure(took < 10, "took %.1fs" % took)
		finally:
			srv.stop()
	res.run("--timeout 1 on a silent server: TimeoutError", timeout)

	def invalid(args, names, what):
		srv = h.ScriptedServer(_record_and_answer)
		try:
			cp = env.hpool(args(srv))
			expect_error(cp, names)
			ensure(not srv.requests, "server got a request: %r" %
			    (srv.requests[:1],))
			# the session and the pool are fine afterwards
			cp = env.hpool([srv.url("/after")])
			expect_ok(cp, "request after the refused one")
		finally:
			srv.stop()
	res.run("header value with CR LF refused: ValueError, nothing sent",
	    invalid, lambda s: ["-H", "X-A: b\r\nX-Injected: 1", s.url()],
	    {"ValueError"}, "")
	res.run("header name with CR LF refused: ValueError, nothing sent",
	    invalid, lambda s: ["-H", "X-A\r\nX-B: b", s.url()], {"ValueError"},
	    "")
	res.run("method with CR LF refused: ValueError, nothing sent",
	    invalid, lambda s: ["-X", "GET\r\nX-A: b", s.url()], {"ValueError"},
	    "")
	res.run("URL with a control character refused, nothing sent",
	    invalid, lambda s: [s.url("/a\x01b")], {"InvalidURL", "ValueError"},
	    "")

	# -- framings nginx does not produce here
	def chunked_trailers():
		body = os.urandom(300 * KiB)
		resp = [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"]
		for i in range(0, len(body), 7000):
			piece = body[i:i + 7000]
			resp.append(b"%x;ext=1\r\n" % len(piece) + piece + b"\r\n")
		resp.append(b"0\r\nX-Trailer: yes\r\n\r\n")
		srv = h.replay_server(b"".join(resp), after="hold")
		try:
			cp = env.hpool(["-i", srv.url()])
			expect_ok(cp)
			v, s, r, hd, got = h.parse_include_output(cp.stdout)
			ensure(header(hd, "Transfer-Encoding") == "chunked", "headers %r" %
			    hd)
			ensure(got == body, "body differs: %d bytes, want %d" % (
			    len(got), len(body)))
		finally:
			srv.stop()
	res.run("chunked response with extensions and trailers (300 KiB)",
	    chunked_trailers)

	def close_delimited():
		body = os.urandom(MiB + 17)
		srv = h.replay_server(b"HTTP/1.1 200 OK\r\nContent-Type: x/y\r\n\r\n" +
		    body, after="close")
		try:
			out = env.path("close.out")
			cp = env.hpool(["-o", out, srv.url()])
			expect_ok(cp)
			ensure(h.sha256_file(out) == h.sha256(body), "body differs: %d "
			    "bytes, want %d" % (os.path.getsize(out), len(body)))
		finally:
			srv.stop()
	res.run("close-delimited response (1 MiB + 17)", close_delimited)

	def truncated():
		srv = h.replay_server(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"
		    b"abc", after="close")
		try:
			cp = env.hpool(["-i", srv.url()])
			expect_error(cp, {"IncompleteRead"})
			v, s, r, hd, got = h.parse_include_output(cp.stdout)
			ensure(s == 200 and got == b"abc", "printed %r" % cp.stdout)
		finally:
			srv.stop()
	res.run("truncated body: head and partial body stay printed, "
	    "IncompleteRead", truncated)

	# -- the CLI itself
	def version():
		cp = env.hpool(["--version"])
		expect_ok(cp)
		ensure(b"hpool" in cp.stdout + cp.stderr, "output %r" % cp.stdout)
	res.run("--version", version)

	def help_():
		cp = env.hpool(["--help"])
		expect_ok(cp)
		out = cp.stdout + cp.stderr
		ensure(b"-X" in out and b"--fail" in out, "help %r" % out[:300])
	res.run("--help", help_)

	def silent():
		cp = env.hpool(["-s", env.url("/files/hello.txt")])
		expect_ok(cp)
		ensure(cp.stdout == b"hello, hpool\n" and cp.stderr == b"",
		    h.describe(cp))
	res.run("-s: body only, nothing on stderr", silent)

	def usage():
		cp = env.hpool([])
		ensure(cp.returncode != 0, "no URL but exit 0")
	res.run("no URL: usage error, exit non-zero", usage)

	# -- the daemon after all that
	def memory():
		if h.sanitized(h.HPOOLD):
			return None	# ASan's shadow and quarantine dwarf the bound
		peak = h.vm_hwm_kib(env.daemon.pid)
		ensure(peak is not None, "no /proc status")
		ensure(peak < 48 * 1024, "hpoold peak RSS %d KiB after 64 MiB "
		    "bodies both ways" % peak)
	res.run("hpoold memory bounded (peak RSS < 48 MiB after 64 MiB bodies)",
	    memory)

	env.final_checks(res)


def _record_and_answer(conn, server, idx):
	"""Answer each request on the connection with 200 and its target."""
	for _ in range(1000):
		req = h.read_request(conn)
		if req is None:
			return
		server.record(idx, req)
		body = req[1].encode("latin-1")
		conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (
		    len(body), body))


def _answer_until_post(conn, server, idx):
	"""Answer each request with 200 and its target until a POST comes:
	read that one whole, then close without an answer (a server that
	died while carrying it out)."""
	for _ in range(1000):
		req = h.read_request(conn)
		if req is None:
			return
		server.record(idx, req)
		if req[0] == "POST":
			h.send_and_close(conn, b"", "close")
			return
		body = req[1].encode("latin-1")
		conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (
		    len(body), body))


def _read_then_hold(conn, server, idx):
	req = h.read_request(conn)
	if req is None:
		return
	server.record(idx, req)
	h.send_and_close(conn, b"", "hold")


if __name__ == "__main__":
	h.main(cases)
