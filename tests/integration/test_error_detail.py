#!/usr/bin/env python3
"""ERROR's detail (protocol version 4; libhpool's hpool_conn_error_detail,
printed by hpool after Python's exception and message): the phase a
request failed in, the destination, and for a timeout which one fired and
its value, as hpoold saw it. Python's class and message stay as they
are."""

import socket

import harness as h
from dnsserver import DnsServer
from faultserver import FaultServer


def cases(res):
	env = h.Env(nginx=False, daemon=False)
	dns = DnsServer()
	h._cleanups.append(dns.stop)
	slow = FaultServer(delay=3)
	cut = FaultServer(reset_after=70)	# the head is 65 bytes: in the body
	for s in (slow, cut):
		h._cleanups.append(s.stop)
	p, sock, log, _ = h.start_hpoold(env, "nameserver = 127.0.0.1:%d\n"
	    "connect_timeout = 3\n" % dns.port, "detail")
	refuser = FaultServer(refuse=True)
	h._cleanups.append(refuser.stop)
	closed = refuser.port

	def run(args):
		cp = env.hpool(["-sS"] + args, env={"HPOOL_SOCKET": sock},
		    timeout=30)
		return cp, h.cli_error(cp.stderr), h.cli_phase(cp.stderr)

	def check(what, cp, err, phase, name, msg, want):
		res.check("%s: %s: %s, then (%s)" % (what, name, msg, want),
		    cp.returncode != 0 and err is not None and err[0] == name
		    and err[1].strip() == msg and phase == want,
		    (h.describe(cp), phase))

	cp, err, phase = run(["http://nosuch.test:%d/" % closed])
	check("a name that does not resolve", cp, err, phase, "gaierror",
	    "[Errno -2] Name or service not known", "resolving nosuch.test")

	dns.silent.add("silent.test")
	cp, err, phase = run(["--timeout", "1", "http://silent.test:%d/" %
	    closed])
	check("a resolver that never answers, the caller's 1 s", cp, err,
	    phase, "TimeoutError", "timed out", "resolving silent.test, the "
	    "caller's connect timeout 1 s")

	cp, err, phase = run(["http://127.0.0.1:%d/" % closed])
	check("a refused port", cp, err, phase, "ConnectionRefusedError",
	    "[Errno 111] Connection refused", "connecting to 127.0.0.1:%d" %
	    closed)

	cp, err, phase = run(["--timeout", "1", "http://127.0.0.1:%d/" %
	    slow.port])
	check("a server slower than the caller's timeout", cp, err, phase,
	    "TimeoutError", "timed out", "waiting for the response head from "
	    "127.0.0.1:%d, the caller's read timeout 1 s" % slow.port)

	cp, err, phase = run(["http://127.0.0.1:%d/" % cut.port])
	res.check("a reset inside the body: (reading the response body from "
	    "127.0.0.1:%d)" % cut.port, cp.returncode != 0 and phase ==
	    "reading the response body from 127.0.0.1:%d" % cut.port,
	    (h.describe(cp), phase))
	h.stop_hpoold(res, p, log, "detail")


if __name__ == "__main__":
	h.main(cases)
