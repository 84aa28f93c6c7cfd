"""TLS test fixtures: a CA and certificates made with the openssl CLI in a
temporary directory, and a real nginx with one TLS server per case, all on
free loopback ports. Used by test_https.py."""

import os
import subprocess
import time

import harness
from harness import SetupError, free_ports, spawn, tcp_accepts, wait_until

CA_CNF = """[ca]
default_ca = c
[c]
dir = %(dir)s
database = %(dir)s/db/index.txt
serial = %(dir)s/db/serial
new_certs_dir = %(dir)s/db
certificate = %(dir)s/ca.pem
private_key = %(dir)s/ca.key
default_md = sha256
policy = p
copy_extensions = copy
unique_subject = no
[p]
commonName = supplied
"""


def openssl(*args, cwd):
	cp = subprocess.run(["openssl"] + list(args), cwd=cwd,
	    capture_output=True, timeout=60)
	if cp.returncode != 0:
		raise SetupError("openssl %s: %s" % (" ".join(args),
		    cp.stderr.decode(errors="replace")[-400:]))


class Certs:
	"""ca.pem; server certs good (localhost, 127.0.0.1), wronghost,
	expired (2020), selfsigned; clientca.pem with client1 and client2."""

	def __init__(self, dirpath):
		self.dir = dirpath
		os.makedirs(os.path.join(dirpath, "db"), exist_ok=True)
		open(os.path.join(dirpath, "db", "index.txt"), "w").close()
		with open(os.path.join(dirpath, "db", "serial"), "w") as f:
			f.write("01\n")
		with open(os.path.join(dirpath, "ca.cnf"), "w") as f:
			f.write(CA_CNF % {"dir": dirpath})
		d = dirpath
		openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes",
		    "-keyout", "ca.key", "-out", "ca.pem", "-days", "30",
		    "-subj", "/CN=hpool test CA", cwd=d)
		openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes",
		    "-keyout", "clientca.key", "-out", "clientca.pem", "-days",
		    "30", "-subj", "/CN=hpool client CA", cwd=d)
		self.server("good", "localhost", "DNS:localhost,IP:127.0.0.1")
		self.server("wronghost", "other.example", "DNS:other.example")
		self.server("expired", "localhost", "DNS:localhost,IP:127.0.0.1",
		    dates=("20200101000000Z", "20200201000000Z"))
		openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes",
		    "-keyout", "selfsigned.key", "-out", "selfsigned.pem",
		    "-days", "30", "-subj", "/CN=localhost", "-addext",
		    "subjectAltName=DNS:localhost,IP:127.0.0.1", cwd=d)
		for name in ("client1", "client2"):
			openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes",
			    "-keyout", name + ".key", "-out", name + ".pem",
			    "-days", "30", "-subj", "/CN=" + name, "-CA",
			    "clientca.pem", "-CAkey", "clientca.key", cwd=d)

	def server(self, name, cn, san, dates=None):
		d = self.dir
		openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout",
		    name + ".key", "-out", name + ".csr", "-subj", "/CN=" + cn,
		    "-addext", "subjectAltName=" + san, cwd=d)
		args = ["ca", "-batch", "-config", "ca.cnf", "-in", name + ".csr",
		    "-out", name + ".pem", "-notext"]
		if dates:
			args += ["-startdate", dates[0], "-enddate", dates[1]]
		else:
			args += ["-days", "30"]
		openssl(*args, cwd=d)

	def path(self, name):
		return os.path.join(self.dir, name)

	def read(self, name):
		with open(self.path(name), "rb") as f:
			return f.read()


class TlsNginx:
	"""nginx with a TLS server per certificate, plus one requiring a
	client certificate. ports[name] -> port."""

	NAMES = ("good", "wronghost", "expired", "selfsigned", "mtls")

	def __init__(self, env, certs):
		self.env = env
		self.certs = certs
		self.ports = dict(zip(self.NAMES, free_ports(len(self.NAMES))))
		t = env.path("tls-nginx")
		os.makedirs(os.path.join(t, "www"))
		with open(os.path.join(t, "www", "index.html"), "w") as f:
			f.write("hello over tls\n")
		harness.make_file(os.path.join(t, "www", "1m"), 1 << 20)
		servers = []
		for n in self.NAMES:
			cert = "good" if n == "mtls" else n
			extra = ""
			if n == "mtls":
				extra = ("ssl_client_certificate %s; "
				    "ssl_verify_client on;" % certs.path("clientca.pem"))
			servers.append("""
	server {
		listen 127.0.0.1:%d ssl;
		ssl_certificate %s;
		ssl_certificate_key %s;
		%s
		root %s/www;
	}""" % (self.ports[n], certs.path(cert + ".pem"),
			    certs.path(cert + ".key"), extra, t))
		user = "user root;" if os.geteuid() == 0 else ""
		conf = """%(user)s
worker_processes 1;
pid %(t)s/nginx.pid;
events { worker_connections 512; }
http {
	log_format tls '$server_port $connection $connection_requests $ssl_session_reused "$ssl_client_s_dn" $ssl_protocol "$request" $status';
	access_log %(t)s/access.log tls;
	client_body_temp_path %(t)s/cb;
	keepalive_requests 10000;
	keepalive_timeout 60s;
	ssl_protocols TLSv1.2 TLSv1.3;
	ssl_session_cache shared:hpooltest:1m;
	ssl_session_tickets on;
	%(servers)s
}
""" % {"user": user, "t": t, "servers": "".join(servers)}
		conf_path = os.path.join(t, "nginx.conf")
		with open(conf_path, "w") as f:
			f.write(conf)
		self.dir = t
		out = open(os.path.join(t, "stderr"), "wb")
		self.proc = spawn(["nginx", "-p", t + "/", "-c", conf_path, "-e",
		    os.path.join(t, "error.log"), "-g", "daemon off;"],
		    stdin=subprocess.DEVNULL, stdout=out, stderr=out)
		out.close()
		for n in self.NAMES:
			wait_until(lambda: tcp_accepts(self.ports[n]),
			    harness.START_TIMEOUT, "tls nginx", self.proc,
			    os.path.join(t, "error.log"))

	def log(self, at_least=0, timeout=5.0):
		"""Access log rows: dicts port, conn, reused, dn, proto, request,
		status; waits (bounded) until there are at_least rows, since
		nginx logs a request just after answering it."""
		deadline = time.monotonic() + timeout
		while True:
			rows = self._read_log()
			if len(rows) >= at_least or time.monotonic() > deadline:
				return rows
			time.sleep(0.02)

	def _read_log(self):
		rows = []
		try:
			with open(os.path.join(self.dir, "access.log")) as f:
				lines = f.read().splitlines()
		except OSError:
			return rows
		for line in lines:
			head, dn, rest = line.split('"', 2)
			port, conn, nreq, reused = head.split()
			proto, req_status = rest.strip().split(" ", 1)
			req, status = req_status.rsplit(" ", 1)
			rows.append({"port": int(port), "conn": int(conn),
			    "reused": reused == "r", "dn": dn, "proto": proto,
			    "request": req.strip('"'), "status": int(status)})
		return rows
