#!/usr/bin/env python3
"""The calling patterns of docs/api.md, in C (tests/api_examples.c),
against a real nginx through a real hpoold: GET read whole and with
read(200), a 404, HEAD, POST with form data, PUT, a file body and an
iterable body."""

import os

import harness as h

PROG = os.path.join(os.environ.get("TOP_BUILDDIR", "."), "tests",
    "api_examples")
PAGE = 70000		# bytes: several read(200) calls and body frames
UPLOAD = 300000		# bytes: several 64 KiB request frames


def main():
	def body(res):
		if not os.access(PROG, os.X_OK):
			raise h.SetupError("tests/api_examples not built")
		env = h.Env(files={"page": PAGE, "upload": UPLOAD})
		path = os.path.join(env.www, "files", "upload")
		e = dict(os.environ)
		e["HPOOL_SOCKET"] = env.socket
		cp = h.run_capture([PROG, "127.0.0.1", str(env.nginx_port), path],
		    timeout=60, env=e)
		out = dict(l.split(": ", 1) for l in
		    cp.stdout.decode("latin-1").splitlines() if ": " in l)
		res.check("examples ran", cp.returncode == 0, h.describe(cp))
		res.check("GET", out.get("get") == "200 OK", repr(out))
		res.check("GET read()", out.get("get-read") == str(PAGE), repr(out))
		res.check("GET read(200) until closed",
		    out.get("get-read200") == str(PAGE), repr(out))
		res.check("GET 404", out.get("get-404") == "404 Not Found",
		    repr(out))
		res.check("HEAD", out.get("head") == "200 OK 0", repr(out))
		res.check("POST form data", out.get("post") == "200 OK "
		    "%40number=12524&%40type=issue&%40action=show", repr(out))
		res.check("PUT", out.get("put") == "200 OK ***filecontents***",
		    repr(out))
		size, digest = env.files["upload"]
		res.check("PUT a file (Content-Length from fstat)",
		    out.get("put-file") == "%d %s" % (size, digest), repr(out))
		res.check("POST an iterable (chunked)",
		    out.get("post-iter") == "one,two,three", repr(out))
		env.final_checks(res)
	h.main(body)


if __name__ == "__main__":
	main()
