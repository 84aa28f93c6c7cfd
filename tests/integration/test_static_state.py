#!/usr/bin/env python3
"""hpoold's workers are threads of one process (worker.c), so a mutable
static variable in daemon/ is shared by all of them: one written on the
request path is a data race (two function-local statics were, and
corrupted one request in ~300,000 under bench/run; ThreadSanitizer did
not see it, as the shared listening socket orders the threads for it).
This lists every non-const static variable in daemon/*.c and checks it
against the few that are safe, each with the reason."""

import os
import re

import harness as h

# name -> why it is safe with several workers
ALLOWED = {
	("log.c", "log_level"): "atomic loads and stores",
	("log.c", "log_journal"): "set once before any worker starts",
	("tls.c", "system_store"): "set before the workers start, then only "
	    "shared read-only (X509_STORE locks itself)",
	("quota.c", "shared"): "mapped once before any worker starts; the "
	    "counters behind it change by atomic operations only",
	("main.c", "config_path"): "main thread only",
	("main.c", "listen_fd"): "main thread only",
	("worker.c", "workers"): "written by the main thread before the "
	    "threads start and after they end",
	("worker.c", "nworkers"): "as workers",
	("worker.c", "ack"): "made before the threads start; each write is "
	    "one byte to a pipe",
	("worker.c", "cfg_lock"): "a mutex",
	("listen.c", "acceptors"): "one slot per worker_id (struct server "
	    "is server.h's): each is written by the main thread before its "
	    "worker's thread starts and after it ends, and by that thread "
	    "only in between",
}

# `static TYPE name...;` or `static TYPE name = ...;`, not a prototype
DECL = re.compile(r"^\s*static\s+([^;()=]*?)\b([A-Za-z_]\w*)"
    r"\s*(\[[^\]]*\])?\s*(=[^;]*)?;")


def mutable(ctype):
	"""A `const T` object or a `T *const` pointer cannot be written;
	`const T *` can (the pointer)."""
	t = " ".join(ctype.split())
	if re.search(r"\*\s*const\b", t):
		return False
	return not (t.startswith("const ") and "*" not in t)


def statics(path):
	found = []
	with open(path, errors="replace") as f:
		text = f.read()
	for n, line in enumerate(text.splitlines(), 1):
		m = DECL.match(line)
		if m and "(" not in line.split("=")[0] and mutable(m.group(1)):
			found.append((n, m.group(2)))
	return found


def body(res):
	src = os.path.join(os.environ.get("TOP_SRCDIR") or os.path.join(
	    os.path.dirname(os.path.abspath(__file__)), "..", ".."), "daemon")
	seen = set()
	bad = []
	files = sorted(f for f in os.listdir(src) if f.endswith(".c"))
	res.check("daemon/ has C files to look at", len(files) > 5, files)
	for name in files:
		for n, var in statics(os.path.join(src, name)):
			seen.add((name, var))
			if (name, var) not in ALLOWED:
				bad.append("daemon/%s:%d: static %s" % (name, n, var))
	res.check("no mutable static in daemon/ but the listed ones (put "
	    "per-worker state in struct server)", not bad, bad)
	gone = sorted("%s:%s" % k for k in ALLOWED if k not in seen)
	res.check("every listed static still exists (the list is kept "
	    "exact)", not gone, gone)


if __name__ == "__main__":
	h.main(body)
