#!/usr/bin/env python3
"""The man pages render without a troff warning, and their .TH lines
come from configure.

- Each page configure wrote (daemon/hpoold.8, daemon/hpoold.conf.5,
  cli/hpool.1, libclient/libhpool.3) gives nothing on stderr under
  `groff -man -ww -z` (utf8 and ascii devices, 65 and 80 columns) and
  under `man --warnings -l`; groff exits 0 on a warning, so its stderr is
  what is judged. A page with a stray form feed byte (what once turned
  libhpool(3)'s \\fI into "ItextR") is checked the same way first, so
  that the check is seen to fail.
- The .in sources hold no control byte but tab and newline.
- The .TH lines: no @VARIABLE@ left, the version hpoold -V prints, one
  date in YYYY-MM-DD form for all four pages."""

import os
import re
import subprocess

import harness as h

PAGES = ["daemon/hpoold.8", "daemon/hpoold.conf.5", "cli/hpool.1",
    "libclient/libhpool.3"]
TH_RE = re.compile(r'^\.TH (\S+) (\d) "([^"]*)" "hpool ([^"]*)" "[^"]+"$')


def top(var, fallback):
	return os.environ.get(var) or fallback


def warnings(page):
	"""Every troff and man message about page, as one text ("" if
	none)."""
	out = []
	for dev in ("utf8", "ascii"):
		for width in ("65n", "80n"):
			cp = subprocess.run(["groff", "-man", "-ww", "-z", "-T" + dev,
			    "-rLL=" + width, page], capture_output=True, timeout=60)
			if cp.stderr or cp.returncode != 0:
				out.append("groff -T%s -rLL=%s (exit %d): %s" % (dev,
				    width, cp.returncode, cp.stderr.decode(
				    errors="replace").strip()))
	env = dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8")
	cp = subprocess.run(["man", "--warnings", "-l", page],
	    capture_output=True, timeout=60, env=env)
	if cp.stderr or cp.returncode != 0:
		out.append("man --warnings (exit %d): %s" % (cp.returncode,
		    cp.stderr.decode(errors="replace").strip()))
	return "; ".join(out)


def body(res):
	srcdir = top("TOP_SRCDIR", os.path.join(os.path.dirname(
	    os.path.abspath(__file__)), "..", ".."))
	builddir = top("TOP_BUILDDIR", srcdir)
	env = h.Env(nginx=False, daemon=False, echo=False)

	# the check itself, on a page known to be bad
	bad = env.path("formfeed.1")
	with open(os.path.join(builddir, "cli/hpool.1"), "rb") as f:
		text = f.read()
	with open(bad, "wb") as f:
		f.write(text.replace(b"\n.SH DESCRIPTION\n",
		    b"\n.SH DESCRIPTION\nsee \x0cIthis\x0cR\n", 1))
	res.check("a page with form feed bytes is reported",
	    "input code 12" in warnings(bad), warnings(bad))

	cp = h.run_capture([h.HPOOLD, "-V"], timeout=30)
	m = re.match(rb"hpoold (\S+) ", cp.stdout)
	version = m.group(1).decode() if m else None
	dates = set()
	for page in PAGES:
		path = os.path.join(builddir, page)
		w = warnings(path)
		res.check("%s: no troff or man warning" % page, w == "", w)
		with open(os.path.join(srcdir, page + ".in"), "rb") as f:
			src = f.read()
		ctl = sorted(set(b for b in src if b < 0x20 and b not in b"\t\n"))
		res.check("%s.in: no control byte but tab and newline" % page,
		    not ctl, ["0x%02x" % b for b in ctl])
		with open(path, encoding="utf-8") as f:
			first = f.readline().rstrip("\n")
		m = TH_RE.match(first)
		res.check("%s: .TH with hpoold's version (%s) and a date" % (page,
		    version), m is not None and "@" not in first and
		    m.group(4) == version and re.fullmatch(r"\d{4}-\d\d-\d\d",
		    m.group(3)) is not None, first)
		if m:
			dates.add(m.group(3))
	res.check("one date for all the pages", len(dates) == 1, dates)


if __name__ == "__main__":
	h.main(body)
