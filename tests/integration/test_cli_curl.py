"""hpool against curl itself: for each curl flag hpool takes, the same
command through Debian's curl and through hpool, against the same local
nginx and a scripted python server (redirects, multipart, compressed
bodies, retries, failures); stdout bytes, the files written, -w output
(timings aside) and the exit code must agree. The differences hpool(1)
lists as deliberate are asserted as such."""

import ctypes
import ctypes.util
import email.parser
import gzip
import hashlib
import http.server
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import zlib

import harness
from harness import Env, describe
from tlsenv import Certs, TlsNginx

CURL = shutil.which("curl")
ORIGINAL = b"The quick brown fox jumps over the lazy dog.\n" * 200
BINARY = bytes(range(256)) * 4
BOMB_SIZE = 256 << 20	# what the gzip bomb inflates to


def brotli_compress(data):
	"""data compressed by libbrotlienc (python has no brotli module)."""
	lib = ctypes.CDLL(ctypes.util.find_library("brotlienc") or
	    "libbrotlienc.so.1")
	out = ctypes.create_string_buffer(len(data) + 1024)
	size = ctypes.c_size_t(len(out))
	lib.BrotliEncoderCompress.argtypes = [ctypes.c_int, ctypes.c_int,
	    ctypes.c_int, ctypes.c_size_t, ctypes.c_char_p,
	    ctypes.POINTER(ctypes.c_size_t), ctypes.c_char_p]
	if not lib.BrotliEncoderCompress(5, 22, 0, len(data), data,
	    ctypes.byref(size), out):
		raise harness.SetupError("BrotliEncoderCompress failed")
	return out.raw[:size.value]


def zstd_compress(data):
	cp = subprocess.run(["zstd", "-q", "-c"], input=data,
	    capture_output=True, timeout=30)
	if cp.returncode != 0:
		raise harness.SetupError("zstd: %r" % cp.stderr)
	return cp.stdout


class Scripted:
	"""The python server: one path per behaviour hpool must share with
	curl. Bound to 127.0.0.1 on a free port, stopped at exit."""

	def __init__(self):
		self.counts = {}
		self.lock = threading.Lock()
		deflated = zlib.compress(ORIGINAL)
		self.encoded = {
		    "gzip": gzip.compress(ORIGINAL),
		    "deflate": deflated,
		    "br": brotli_compress(ORIGINAL),
		    "zstd": zstd_compress(ORIGINAL),
		}
		outer = self

		class H(http.server.BaseHTTPRequestHandler):
			protocol_version = "HTTP/1.1"

			def log_message(self, *a):
				pass

			def body(self):
				n = int(self.headers.get("Content-Length") or 0)
				if (self.headers.get("Transfer-Encoding") or
				    "").lower() == "chunked":
					data = b""
					while True:
						size = int(self.rfile.readline().split(
						    b";")[0], 16)
						if size == 0:
							self.rfile.readline()
							return data
						data += self.rfile.read(size)
						self.rfile.readline()
				return self.rfile.read(n) if n else b""

			def send(self, status, body=b"", headers=(), reason=None):
				self.send_response(status, reason)
				for k, v in headers:
					self.send_header(k, v)
				self.send_header("Content-Length", str(len(body)))
				self.end_headers()
				if self.command != "HEAD":
					self.wfile.write(body)

			def handle_any(self):
				data = self.body()
				path, _, query = self.path.partition("?")
				parts = path.strip("/").split("/")
				outer.dispatch(self, parts, query, data)

			do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = handle_any
			do_PATCH = handle_any

		class S(http.server.ThreadingHTTPServer):
			daemon_threads = True
			allow_reuse_address = True

		c = zlib.compressobj(9, zlib.DEFLATED, 31)
		zeros = b"\0" * (1 << 20)
		self.bomb = b"".join([c.compress(zeros) for _ in range(
		    BOMB_SIZE >> 20)] + [c.flush()])
		self.srv = S(("127.0.0.1", 0), H)
		self.port = self.srv.server_address[1]
		t = threading.Thread(target=self.srv.serve_forever,
		    kwargs={"poll_interval": 0.1}, daemon=True)
		t.start()

		def stop():
			self.srv.shutdown()
			self.srv.server_close()
		harness._cleanups.append(stop)

	def url(self, path, host="127.0.0.1"):
		return "http://%s:%d%s" % (host, self.port, path)

	def count(self, key):
		with self.lock:
			self.counts[key] = self.counts.get(key, 0) + 1
			return self.counts[key]

	def dispatch(self, h, parts, query, data):
		what = parts[0]
		if what == "redir":
			# /redir/CODE/TARGET...: CODE with Location TARGET
			code = int(parts[1])
			loc = "/" + "/".join(parts[2:])
			if query:
				loc = query.replace("%2F", "/").replace("%3A", ":")
			h.send(code, b"moved\n", [("Location", loc)])
		elif what == "chain":
			n = int(parts[1])
			if n == 0:
				h.send(200, b"end of chain\n")
			else:
				h.send(302, b"", [("Location", "/chain/%d" % (n - 1))])
		elif what == "rel":
			# a relative Location, resolved against this path
			h.send(302, b"", [("Location", "../c/./d?x=1")])
		elif what == "method":
			out = {"method": h.command, "path": h.path,
			    "length": len(data),
			    "sha256": hashlib.sha256(data).hexdigest()}
			for k in ("Authorization", "Cookie", "Content-Type",
			    "Range", "Referer", "Accept", "Accept-Encoding"):
				if h.headers.get(k) is not None:
					out[k] = h.headers.get(k)
			h.send(200, json.dumps(out, sort_keys=True).encode() +
			    b"\n", [("Content-Type", "application/json")])
		elif what == "form":
			ctype = h.headers.get("Content-Type", "")
			msg = email.parser.BytesParser().parsebytes(
			    b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + data)
			out = []
			for p in msg.get_payload():
				out.append({"disposition":
				    p.get("Content-Disposition"),
				    "type": p.get("Content-Type"),
				    "data": p.get_payload(decode=True).decode(
				    "latin-1")})
			h.send(200, json.dumps({"ctype": ctype.split(";")[0],
			    "parts": out}, sort_keys=True).encode() + b"\n")
		elif what == "enc":
			h.send(200, self.encoded[parts[1]], [("Content-Encoding",
			    parts[1]), ("Content-Type", "text/plain")])
		elif what == "status":
			code = int(parts[1])
			h.send(code, b"status %d body\n" % code)
		elif what == "retry":
			# /retry/KEY/N: 503 (Retry-After: 1) N times, then 200
			n = self.count(parts[1])
			if n <= int(parts[2]):
				h.send(503, b"busy %d\n" % n, [("Retry-After", "1")])
			else:
				h.send(200, b"done after %d\n" % n)
		elif what == "cdretry":
			# /cdretry/KEY/N: as /retry, each answer naming a file
			n = self.count(parts[1])
			cd = [("Content-Disposition", 'attachment; filename="got"'),
			    ("Retry-After", "1")]
			h.send(503 if n <= int(parts[2]) else 200, b"try %d\n" % n, cd)
		elif what == "cd":
			h.send(200, b"disposition body\n", [("Content-Disposition",
			    'attachment; filename="../../%s"' % parts[1])])
		elif what == "slow":
			h.send_response(200)
			h.send_header("Content-Length", "10")
			h.end_headers()
			h.wfile.write(b"12345")
			h.wfile.flush()
			time.sleep(float(parts[1]))
			try:
				h.wfile.write(b"67890")
			except OSError:
				pass
		elif what == "bomb":
			h.send(200, self.bomb, [("Content-Encoding", "gzip")])
		elif what == "mute":
			time.sleep(float(parts[1]))
			h.send(200, b"late\n")
		elif what == "bin":
			h.send(200, BINARY)
		elif what == "ctl":
			h.send(200, b"plain\n", [("X-Evil", "\x1b[31mred\x1b[0m")],
			    reason="OK\x1b[2J")
		else:
			h.send(404, b"no such path\n")


class Runner:
	"""One command through both programs, each in its own empty
	directory (for -O and -J), with the proxy variables cleared."""

	def __init__(self, env):
		self.env = env
		self.tmp = env.path("runs")
		os.makedirs(self.tmp)
		self.n = 0

	def one(self, prog, args, input=None, setup=None):
		self.n += 1
		cwd = os.path.join(self.tmp, "%s-%d" % (prog, self.n))
		os.makedirs(cwd)
		for name, data in (setup or {}).items():
			with open(os.path.join(cwd, name), "wb") as f:
				f.write(data)
		e = dict(os.environ)
		for k in ("http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy",
		    "ALL_PROXY", "no_proxy", "NO_PROXY"):
			e.pop(k, None)
		e["HPOOL_SOCKET"] = self.env.socket
		argv = ([CURL] if prog == "curl" else [harness.HPOOL]) + [
		    a.replace("{dir}", cwd) for a in args]
		p = harness.spawn(argv, cwd=cwd, env=e, stdout=subprocess.PIPE,
		    stderr=subprocess.PIPE, stdin=subprocess.PIPE if input is
		    not None else subprocess.DEVNULL)
		try:
			out, err = p.communicate(input, timeout=60)
		except subprocess.TimeoutExpired:
			p.kill()
			p.communicate(timeout=5)
			raise
		files = {}
		for name in sorted(os.listdir(cwd)):
			with open(os.path.join(cwd, name), "rb") as f:
				files[name] = f.read()
		return subprocess.CompletedProcess(argv, p.returncode, out,
		    err), files

	def both(self, args, input=None, setup=None):
		return (self.one("curl", args, input, setup),
		    self.one("hpool", args, input, setup))


UA_RE = re.compile(rb'(User-Agent"?[:,] ?"?)(curl/[0-9.]+|hpool/[0-9.]+)')
DATE_RE = re.compile(rb"(Date|Last-Modified): [^\r\n]*")
TIME_RE = re.compile(rb"\d+\.\d{6}")


def mask(b):
	"""What may differ by design: the User-Agent's product, dates."""
	return DATE_RE.sub(rb"\1: X", UA_RE.sub(rb"\1UA", b))


def bomb_bounded(res, env, srv):
	"""A gzip bomb (a few hundred KiB that inflate to BOMB_SIZE) is
	decoded as it streams: all of it arrives, and hpool's peak memory
	(GNU time's, else wait4's, which counts the forked test too) stays
	far below the body's size."""
	e = dict(os.environ, HPOOL_SOCKET=env.socket)
	timer = ["/usr/bin/time", "-f", "\nhpool-maxrss %M"] if os.access(
	    "/usr/bin/time", os.X_OK) else []
	p = harness.spawn(timer + [harness.HPOOL, "-sS", "--compressed",
	    srv.url("/bomb")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
	    stdin=subprocess.DEVNULL, env=e)
	n = 0
	deadline = time.monotonic() + 120
	while time.monotonic() < deadline:
		chunk = p.stdout.read(1 << 20)
		if not chunk:
			break
		if chunk.count(0) != len(chunk):
			n = -1
			break
		n += len(chunk)
	err = p.stderr.read()
	_, status, ru = os.wait4(p.pid, 0)
	p.returncode = os.waitstatus_to_exitcode(status)
	if p in harness._children:
		harness._children.remove(p)
	m = re.search(rb"hpool-maxrss (\d+)", err)
	peak = int(m.group(1)) << 10 if m else ru.ru_maxrss << 10
	res.check("--compressed gzip bomb (%d KiB -> %d MiB): streamed, peak "
	    "memory %.1f MiB" % (len(srv.bomb) >> 10, BOMB_SIZE >> 20,
	    peak / 1048576), p.returncode == 0 and n == BOMB_SIZE and
	    peak < BOMB_SIZE // 4, "exit %s, %d bytes, peak %d, %r" % (
	    p.returncode, n, peak, err))


def https_same(res, env, run, same):
	"""The TLS flags against nginx with the test's certificates: the
	same outcome and exit code through curl and hpool."""
	certs = Certs(env.path("certs"))
	ng = TlsNginx(env, certs)

	def url(name, path="/index.html"):
		return "https://localhost:%d%s" % (ng.ports[name], path)
	CA = ["-s", "-S", "--cacert", certs.path("ca.pem")]
	same("https GET", CA + [url("good")])
	same("https -i", CA + ["-i", url("good")])
	same("https -w", CA + ["-o", "x", "-w", "%{http_code} %{scheme} "
	    "%{http_version} %{url_effective} %{size_download}", url("good",
	    "/1m")])
	same("https wrong host name (60)", CA + [url("wronghost")],
	    stdout=False)
	same("https expired (60)", CA + [url("expired")], stdout=False)
	same("https self-signed (60)", CA + [url("selfsigned")], stdout=False)
	same("https -k on a self-signed certificate", CA + ["-k",
	    url("selfsigned")])
	same("https client certificate", CA + ["--cert", certs.path(
	    "client1.pem"), "--key", certs.path("client1.key"), url("mtls")])
	same("https -L from http to https", CA + ["-L", "-w", "%{num_redirects}"
	    " %{url_effective}", harness.ScriptedServer(lambda c, srv, i: (
	    harness.read_request(c), harness.send_and_close(c, (
	    "HTTP/1.1 301 Moved\r\nLocation: %s\r\nContent-Length: 0\r\n\r\n"
	    % url("good")).encode())), "to-https").url("/")])


def body(res):
	env = Env(files={"hello.txt": b"hello\n", "big.bin": 300000,
	    "text.txt": ORIGINAL})
	srv = Scripted()
	run = Runner(env)
	u = env.url
	s = srv.url
	up = os.path.join(env.tmp, "upload.txt")
	with open(up, "wb") as f:
		f.write(b"line one\r\nline two\n")

	def same(name, args, input=None, stdout=True, files=True, code=True,
	    fix=mask, setup=None):
		(c, cf), (h, hf) = run.both(args, input, setup)
		why = []
		if code and c.returncode != h.returncode:
			why.append("exit curl %d hpool %d" % (c.returncode,
			    h.returncode))
		if stdout and fix(c.stdout) != fix(h.stdout):
			why.append("stdout differs:\n curl  %r\n hpool %r" % (
			    fix(c.stdout)[:600], fix(h.stdout)[:600]))
		if files and {k: fix(v) for k, v in cf.items()} != {
		    k: fix(v) for k, v in hf.items()}:
			why.append("files differ: curl %r hpool %r" % (
			    {k: v[:80] for k, v in cf.items()},
			    {k: v[:80] for k, v in hf.items()}))
		if why:
			res.fail(name, "; ".join(why) + "\n curl: %s\n hpool: %s" % (
			    describe(c), describe(h)))
		else:
			res.ok(name)
		return c, h

	Q = ["-s", "-S"]
	# -- plain output, -i, -I, -o, -O, -D, multiple URLs, --url
	same("GET body", Q + [u("/files/hello.txt")])
	same("-i", Q + ["-i", u("/files/hello.txt")])
	same("-I", Q + ["-I", u("/files/big.bin")])
	same("-o FILE", Q + ["-o", "out.bin", u("/files/big.bin")])
	same("-o -", Q + ["-o", "-", u("/files/hello.txt")])
	same("-O", Q + ["-O", u("/files/big.bin")])
	same("-O without a file name (exit 23)", Q + ["-O", u("/")],
	    stdout=False)
	same("-D FILE", Q + ["-D", "head.txt", u("/files/hello.txt")])
	same("-D -", Q + ["-D", "-", u("/files/hello.txt")])
	same("several URLs, -o paired in order", Q + ["-o", "one", u(
	    "/files/hello.txt"), "-o", "two", u("/files/text.txt"),
	    u("/files/hello.txt")])
	same("--url", Q + ["--url", u("/files/hello.txt")])
	(c, cf), (h, hf) = run.both(["-S", "-o", "a", "-o", "b",
	    u("/files/hello.txt")])
	warn = b"Warning: Got more output options than URLs\n"
	res.check("more -o than URLs: curl's warning, the first one written",
	    warn in c.stderr and h.stderr == warn and cf == hf == {"a":
	    b"hello\n"}, "%s / %s" % (describe(c), describe(h)))
	same("last URL's exit code", Q + [s("/status/200"),
	    "http://127.0.0.1:%d/" % harness.closed_port()], stdout=True)
	same("empty body still makes its file", Q + ["-o", "empty",
	    s("/status/204")])

	# -- request heads (the echo backend reports what it got)
	same("-u", Q + ["-u", "user:pass word", u("/sum")])
	same("USER:PASSWORD@ in the URL", Q + [u("/sum").replace("//",
	    "//us%40er:p%3Ass@")])
	same("-u wins over the URL's USER:PASSWORD@", Q + ["-u", "a:b",
	    u("/sum").replace("//", "//x:y@")])
	same("-L keeps the URL's credentials on the same host", Q + ["-L",
	    s("/redir/302/method").replace("//", "//x:y@")])
	same("-A", Q + ["-A", "agent/9", u("/sum")])
	same("-A '' removes the header", Q + ["-A", "", u("/sum")])
	same("-e", Q + ["-e", "http://ref.example/", u("/sum")])
	same("-H replaces and removes", Q + ["-H", "Accept: text/x",
	    "-H", "User-Agent:", "-H", "X-Empty;", u("/sum")])
	same("-d", Q + ["-d", "a=1", "-d", "b=2", u("/sum")])
	same("-d @file drops CR LF", Q + ["-d", "@" + up, u("/echo")])
	same("--data-binary @file", Q + ["--data-binary", "@" + up, u("/echo")])
	same("--data-raw keeps @", Q + ["--data-raw", "@x", u("/echo")])
	same("--data-urlencode forms", Q + ["--data-urlencode", "a=x y&z",
	    "--data-urlencode", "=b c", "--data-urlencode", "n@" + up,
	    u("/echo")])
	same("-G with -d and --data-urlencode", Q + ["-G", "-d", "a=1",
	    "--data-urlencode", "q=x y", u("/sum?k=v")])
	same("--json", Q + ["--json", '{"a":', "--json", '1}', u("/sum")])
	same("-T file (PUT)", Q + ["-T", up, u("/sum")])
	same("-T file to a URL ending in /", Q + ["-T", up, s("/method/")])
	same("-T - (chunked from stdin)", Q + ["-T", "-", u("/sum")],
	    input=b"from stdin\n")
	same("-X", Q + ["-X", "DELETE", u("/sum")])
	same("-F text and file", Q + ["-F", "a=b", "-F", "f=@" + up,
	    "-F", "g=@" + up + ";type=text/x-mine;filename=other.txt",
	    "-F", "h=<" + up, s("/form")])

	# -- ranges and resume
	same("-r", Q + ["-r", "10-29", u("/files/big.bin")])
	same("-r suffix", Q + ["-r", "-7", u("/files/text.txt")])
	with open(os.path.join(env.www, "files", "big.bin"), "rb") as f:
		big = f.read()
	same("-C - resumes", Q + ["-C", "-", "-o", "part", u("/files/big.bin")],
	    setup={"part": big[:12345]})
	same("-C - of a complete file (416)", Q + ["-C", "-", "-o", "part",
	    u("/files/big.bin")], setup={"part": big})
	same("-C N", Q + ["-C", "100", u("/files/text.txt")])
	same("-C - against a server without ranges (33)", Q + ["-C", "-",
	    "-o", "part", s("/status/200")], setup={"part": b"abc"})
	same("-C - a server without ranges, file complete", Q + ["-C", "-",
	    "-o", "part", s("/status/200")], setup={"part": b"x" * len(
	    b"status 200 body\n")})

	# -- -L and its rules
	same("302 without -L", Q + ["-w", "%{redirect_url}", s(
	    "/redir/302/status/200")])
	same("-L 302", Q + ["-L", s("/redir/302/status/200")])
	same("-L POST on 301 becomes GET", Q + ["-L", "-d", "x=1",
	    s("/redir/301/method")])
	same("-L POST on 302 becomes GET", Q + ["-L", "-d", "x=1",
	    s("/redir/302/method")])
	same("-L PUT on 303 becomes GET", Q + ["-L", "-T", up,
	    s("/redir/303/method")])
	same("-L PUT on 302 stays PUT, the file sent again", Q + ["-L", "-T",
	    up, s("/redir/302/method")])
	same("-L -T - on 307: no rewind of a pipe (65)", Q + ["-L", "-T", "-",
	    s("/redir/307/method")], input=b"piped body\n", stdout=False)
	same("-L POST on 307 stays POST", Q + ["-L", "-d", "x=1",
	    s("/redir/307/method")])
	same("-L POST on 308 stays POST", Q + ["-L", "-d", "x=1",
	    s("/redir/308/method")])
	same("-L relative Location", Q + ["-L", "-w", "%{url_effective}",
	    s("/rel/a/b")])
	same("-L keeps Authorization on the same host", Q + ["-L", "-u",
	    "a:b", "-H", "Cookie: c=1", s("/redir/302/method")])
	other = "http%3A//localhost:" + str(srv.port) + "/method"
	same("-L drops Authorization and Cookie for another host", Q + ["-L",
	    "-u", "a:b", "-H", "Cookie: c=1", s("/redir/302/x?" + other)])
	same("-L --max-redirs exceeded (47)", Q + ["-L", "--max-redirs", "2",
	    s("/chain/3")], stdout=False)
	same("-L --max-redirs enough", Q + ["-L", "--max-redirs", "3",
	    "-w", "%{num_redirects}", s("/chain/3")])
	same("-L -i shows every head", Q + ["-L", "-i", s("/chain/2")])

	# -- -w
	W = ("%{http_code} %{response_code} %{size_download} %{size_upload} "
	    "%{num_redirects} %{url_effective} %{content_type} %{exitcode} "
	    "%{method} %{http_version} %{num_headers} %{filename_effective} "
	    "%{redirect_url} %header{content-length} %{url} %{urlnum} "
	    "%{size_header} %{size_request}\\n\\t%%"
	    " %{stderr}to stderr%{stdout}\\n")
	same("-w variables", Q + ["-w", W, u("/files/hello.txt")])
	same("-w variables, -d, -o", Q + ["-o", "f", "-d", "abc", "-w", W,
	    u("/echo")])
	same("-w variables, -L", Q + ["-L", "-w", W, s("/chain/2")])
	same("-w on an error", Q + ["-w", "%{http_code} %{exitcode}",
	    "http://127.0.0.1:%d/" % harness.closed_port()], stdout=True)
	wf = env.path("w.txt")
	with open(wf, "w") as f:
		f.write("code=%{http_code}\\n")
	same("-w @file", Q + ["-w", "@" + wf, u("/files/hello.txt")])
	(c, _), (h, _) = run.both(Q + ["-w", "%{json}", u("/files/hello.txt")])
	try:
		cj, hj = json.loads(c.stdout[6:]), json.loads(h.stdout[6:])
		keys = ["content_type", "exitcode", "http_code", "method",
		    "num_redirects", "response_code", "size_download",
		    "size_upload", "url", "url_effective", "urlnum",
		    "http_version", "num_headers", "errormsg", "redirect_url"]
		bad = [k for k in keys if cj.get(k) != hj.get(k)]
		missing = [k for k in cj if k not in hj and k not in (
		    "curl_version", "certs", "ftp_entry_path", "num_certs",
		    "proxy_ssl_verify_result", "ssl_verify_result",
		    "referer", "time_queue", "proxy_used")]
		if bad or missing or "hpool_version" not in hj:
			res.fail("-w %{json}", "differ %r missing %r: %r %r" % (
			    bad, missing, cj, hj))
		else:
			res.ok("-w %{json}")
	except ValueError as e:
		res.fail("-w %{json}", "%s: %s %s" % (e, describe(c), describe(h)))
	(c, _), (h, _) = run.both(Q + ["-w", "%{time_total} %{time_starttransfer}"
	    " %{time_pretransfer}", u("/files/hello.txt")])
	if TIME_RE.sub(b"T", c.stdout) == TIME_RE.sub(b"T", h.stdout):
		res.ok("-w times in curl's format")
	else:
		res.fail("-w times in curl's format", "%r %r" % (c.stdout,
		    h.stdout))

	# -- -f and --fail-with-body
	same("-f 404 (22)", Q + ["-f", u("/nope")], stdout=True)
	same("-f 200", Q + ["-f", u("/files/hello.txt")])
	same("--fail-with-body 404 (22)", Q + ["--fail-with-body", "-o", "f",
	    s("/status/404")])
	same("-f with --fail-with-body (2)", Q + ["-f", "--fail-with-body",
	    u("/")], stdout=False)

	# -- --compressed
	for enc in ("gzip", "deflate", "br", "zstd"):
		same("--compressed %s" % enc, Q + ["--compressed", s("/enc/" + enc)])
		same("%s without --compressed" % enc, Q + [s("/enc/" + enc)])
	same("--compressed request head", Q + ["--compressed", s("/method")])
	bomb_bounded(res, env, srv)

	# -- timeouts, retries
	same("-m total timeout (28)", Q + ["-m", "1", s("/slow/3")],
	    stdout=False)
	same("-m while waiting for the head (28)", Q + ["-m", "1",
	    s("/mute/3")], stdout=False)
	cp = env.hpool(["-sS", "-m", "1", s("/mute/3")])
	want = "waiting for the response head from 127.0.0.1:%d, timeout 1 s" % (
	    srv.port)
	res.check("-m: the error names the phase and the timeout",
	    cp.returncode == 28 and harness.cli_phase(cp.stderr) == want and
	    harness.cli_error(cp.stderr)[0] == "TimeoutError", describe(cp))
	cp = env.hpool(["-sS", "-m", "1", s("/slow/3")])
	res.check("-m while reading the body: TimeoutError, 28",
	    cp.returncode == 28 and cp.stdout == b"12345" and
	    harness.cli_error(cp.stderr)[0] == "TimeoutError", describe(cp))
	same("--retry on 503 with Retry-After", Q + ["--retry", "2",
	    s("/retry/%d/1" % os.getpid())], stdout=False)
	(c, _), (h, _) = run.both(["-S", "-o", "out", "--retry", "3",
	    s("/retry/k2/3")])
	# the server counts both programs' requests: curl sees 503 three
	# times then 200, hpool 200 at once; the point is the warning lines
	warn = (rb"Warning: Problem : HTTP error\. Will retry in 1 seconds\. "
	    rb"%d retries left\.")
	hc, _ = run.one("hpool", ["-o", "out", "--retry", "2",
	    s("/retry/k4/2")])
	if all(re.search(warn % n, c.stderr) for n in (3, 2, 1)) and \
	    all(re.search(warn % n, hc.stderr) for n in (2, 1)) and \
	    c.returncode == hc.returncode == 0:
		res.ok("--retry: curl's warnings, Retry-After")
	else:
		res.fail("--retry warnings", "%s / %s" % (describe(c),
		    describe(hc)))
	(c, _), (h, _) = run.both(["-S", "-o", "out", "--retry", "3",
	    "--retry-max-time", "1", s("/retry/k5-%d/9" % os.getpid())])
	want = (b"Warning: Problem : HTTP error. Will retry in 1 seconds. 3 "
	    b"retries left.\nThrowing away 7 bytes\n")
	if want in c.stderr.replace(b"\r", b"\n").replace(b"\n\n", b"\n") \
	    and h.stderr == want and c.returncode == h.returncode == 0 and \
	    c.stderr.count(b"Will retry") == 1:
		res.ok("--retry-max-time: curl's tries and warnings")
	else:
		res.fail("--retry-max-time", "%s / %s" % (describe(c),
		    describe(h)))
	same("--retry exhausted", Q + ["--retry", "1", "-w", "%{http_code}",
	    s("/retry/k3-%d/5" % os.getpid())], stdout=False)
	same("--limit-rate", Q + ["--limit-rate", "200k", "-o", "f",
	    u("/files/big.bin")])
	t0 = time.monotonic()
	cp = env.hpool(["-sS", "--limit-rate", "100k", "-o", env.path("slow"),
	    u("/files/big.bin")])
	took = time.monotonic() - t0
	# 300000 bytes at 102400 B/s: 2.9 s, less the first piece's share
	res.check("--limit-rate 100k paces 300000 bytes (%.1f s)" % took,
	    cp.returncode == 0 and 2.0 <= took < 30, describe(cp))

	# -- -O -J: the server's name without its path
	same("-O -J", Q + ["-O", "-J", s("/cd/evil.txt")])
	cp, files = run.one("hpool", Q + ["-O", "-J", "--retry", "2",
	    s("/cdretry/cd-%d/1" % os.getpid())])
	res.check("-O -J --retry: the second try rewrites its own file",
	    cp.returncode == 0 and files == {"got": b"try 2\n"},
	    "%s, %r" % (describe(cp), files))
	cp, files = run.one("hpool", Q + ["-O", "-J", s("/cd/taken")],
	    setup={"taken": b"mine"})
	res.check("-O -J does not overwrite a file (23)", cp.returncode == 23
	    and files == {"taken": b"mine"}, "%s, %r" % (describe(cp), files))

	# -- exit codes and flag errors
	cport = harness.closed_port()
	(c, _), (h, _) = run.both(["-s", "-S", "http://127.0.0.1:%d/x" % cport])
	want = ("hpool: ConnectionRefusedError: [Errno 111] Connection "
	    "refused (connecting to 127.0.0.1:%d)" % cport).encode()
	if c.returncode == h.returncode == 7 and want in h.stderr:
		res.ok("refused: 7, and the phase named")
	else:
		res.fail("refused: 7, and the phase named", "%s / %s" % (
		    describe(c), describe(h)))
	same("unknown flag (2)", ["--bogus", u("/")], stdout=False)
	h = env.hpool(["--bogus", u("/")])
	if h.stderr == (b"hpool: option --bogus: is unknown\nhpool: try "
	    b"'hpool --help' for more information\n"):
		res.ok("unknown flag: one line and a pointer to --help")
	else:
		res.fail("unknown flag: one line", describe(h))
	(c, _), (h, _) = run.both(["-I", "-d", "x", u("/")])
	if (c.returncode, c.stderr) == (h.returncode, h.stderr) and \
	    c.returncode == 2:
		res.ok("-I -d: curl's words, exit 2")
	else:
		res.fail("-I -d: curl's words, exit 2", "%s / %s" % (describe(c),
		    describe(h)))
	(c, _), (h, _) = run.both(["-F", "a=b", "-d", "x", u("/")])
	if (c.returncode, c.stderr) == (h.returncode, h.stderr) == (2,
	    c.stderr):
		res.ok("-F -d: curl's words, exit 2")
	else:
		res.fail("-F -d", "%s / %s" % (describe(c), describe(h)))
	same("no URL (2)", ["-s"], stdout=False)
	same("missing flag value (2)", ["-s", "--max-redirs"], stdout=False)
	same("bad number (2)", ["-s", "-m", "x", u("/")], stdout=False)

	# -- deliberate differences (hpool(1), "DIFFERENCES FROM CURL")
	h = env.hpool(["-s", u("/sum")])
	if b'"User-Agent", "hpool/' in h.stdout:
		res.ok("difference: User-Agent is hpool/VERSION")
	else:
		res.fail("difference: User-Agent", describe(h))
	h = env.hpool(["-s", "-S", u("/")], socket_env=False,
	    env={"HPOOL_SOCKET": env.path("nowhere.sock")})
	if h.returncode == 121 and b"HpoolDaemonUnavailable" in h.stderr:
		res.ok("difference: hpoold unreachable is 121, not 7")
	else:
		res.fail("difference: hpoold unreachable is 121", describe(h))

	https_same(res, env, run, same)

	# -- -v: the heads as curl prints them, plus hpoold's facts
	(c, _), (h, _) = run.both(["-s", "-v", "-H", "X-A: 1", u("/files/hello.txt")])
	pick = lambda b: [l.rstrip(b"\r") for l in mask(b).split(b"\n") if
	    l[:2] in (b"> ", b"< ")]
	if pick(c.stderr) == pick(h.stderr) and pick(c.stderr):
		res.ok("-v: > and < lines as curl's")
	else:
		res.fail("-v lines", "%r\n%r" % (pick(c.stderr), pick(h.stderr)))
	(c, _), (h, _) = run.both(["-s", "-v", "-L", "-d", "x=1", "-u", "a:b",
	    s("/redir/302/x?" + other)])
	if pick(c.stderr) == pick(h.stderr) and len(pick(c.stderr)) > 10:
		res.ok("-v -L: every hop's heads as curl's")
	else:
		res.fail("-v -L lines", "%r\n%r" % (pick(c.stderr),
		    pick(h.stderr)))
	h = env.hpool(["-v", u("/files/hello.txt")])
	h2 = env.hpool(["-v", u("/files/hello.txt")])
	if b"* hpoold route: direct" in h.stderr and re.search(
	    rb"\* hpoold: (reused a pooled|opened a new) upstream connection",
	    h.stderr) and b"reused a pooled" in h2.stderr:
		res.ok("-v: route and pooled connection reused or new")
	else:
		res.fail("-v: hpoold's facts", "%s / %s" % (describe(h),
		    describe(h2)))


if __name__ == "__main__":
	harness.main(body)
