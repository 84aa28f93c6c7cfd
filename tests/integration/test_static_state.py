#!/usr/bin/env python3
"""hpoold's workers are processes forked by the supervisor (worker.c,
supervisor.c): a static variable is each process's own after the fork,
but one written before it is inherited by every worker, and the request
path must not grow hidden state that a second event loop in the same
process would share (workers were threads once: two function-local
statics corrupted one request in ~300,000 under bench/run). This lists
every non-const static variable in daemon/*.c and checks it against the
few that are allowed, each with the reason."""

import os
import re

import harness as h

# name -> why it is safe
ALLOWED = {
	("log.c", "log_level"): "atomic loads and stores",
	("log.c", "log_journal"): "set once before any worker starts",
	("log.c", "log_tag"): "set once in each process, before its loop",
	("tls.c", "system_store"): "set before the workers are forked, then "
	    "only read (X509_STORE locks itself)",
	("quota.c", "shared"): "mapped once before any worker is forked; "
	    "the counters behind it change by atomic operations or under "
	    "its robust process-shared lock",
	("quota.c", "mine"): "set once in each worker process, before its "
	    "loop: which shadow slot that process counts in",
	("main.c", "config_copy"): "written by main before any fork",
	("main.c", "socket_copy"): "as config_copy",
	("supervisor.c", "title_at"): "set once in main before any fork: "
	    "the argv area ps shows",
	("supervisor.c", "title_len"): "as title_at",
	("access.c", "journal"): "set once in main before any fork",
	("access.c", "hook_fd"): "set once in each worker process, before "
	    "its loop: the test hook's socket",
	("access.c", "hook_addr"): "as hook_fd",
	("listen.c", "acceptors"): "one slot per worker_id: a worker process "
	    "writes only its own",
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
