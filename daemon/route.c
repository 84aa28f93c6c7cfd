/*
 * route.c: owns an OPEN's route: the caller's identity for the policy,
 * the policy's decision applied to the OPEN (refused, direct, a tunnel
 * through a proxy of the daemon's with its credentials, or absolute-form
 * requests to it), the EXPLAIN
 * text, and the tunnel part of the pool key. No network I/O; the caller's
 * names cost a passwd and group lookup and a read of /proc, made only
 * when a rule or a message needs them.
 */
#include "hpool_autoconf.h"

#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#ifdef HAVE_SYSTEMD
#include <systemd/sd-login.h>
#endif

#include "hpool_error.h"
#include "log.h"
#include "route.h"

static void	refuse(struct route *, struct route_caller *, const char *,
		    const char *, uint16_t, const char *);
static int	basic_auth(char *, size_t, const char *, const char *);
static void	caller_text(struct route_caller *, char *, size_t);
static void	add(char *, size_t, size_t *, const char *, ...)
		    __attribute__((format(printf, 4, 5)));

void
route_caller_init(struct route_caller *c, uid_t uid, gid_t gid, pid_t pid)
{
	memset(c, 0, sizeof(*c));
	c->uid = uid;
	c->gid = gid;
	c->pid = pid;
}

const struct policy_caller *
route_caller(struct route_caller *c, const struct policy *pol, int names)
{
	struct passwd pw, *pwp = NULL;
	struct group gr, *grp = NULL;
	char buf[4096];

	if (!c->named && (names || policy_needs_names(pol))) {
		c->named = 1;
		if (getpwuid_r(c->uid, &pw, buf, sizeof(buf), &pwp) == 0 &&
		    pwp != NULL)
			snprintf(c->user, sizeof(c->user), "%s", pw.pw_name);
		if (getgrgid_r(c->gid, &gr, buf, sizeof(buf), &grp) == 0 &&
		    grp != NULL)
			snprintf(c->group, sizeof(c->group), "%s", gr.gr_name);
		route_caller_unit(c);
	}
	c->who.uid = c->uid;
	c->who.gid = c->gid;
	c->who.pid = c->pid;
	c->who.user = c->user[0] ? c->user : NULL;
	c->who.group = c->group[0] ? c->group : NULL;
	c->who.unit = c->unit[0] ? c->unit : NULL;
	return &c->who;
}

const char *
route_caller_unit(struct route_caller *c)
{
#ifdef HAVE_SYSTEMD
	char *unit = NULL;

	if (c->unit_done)
		return c->unit;
	c->unit_done = 1;
	if (sd_pid_get_unit(c->pid, &unit) < 0 &&
	    sd_pid_get_user_unit(c->pid, &unit) < 0)
		unit = NULL;
	if (unit != NULL)
		snprintf(c->unit, sizeof(c->unit), "%s", unit);
	free(unit);
#endif
	return c->unit;
}

/* "uid 1000 (alice, backup.service)" */
static void
caller_text(struct route_caller *c, char *buf, size_t len)
{
	snprintf(buf, len, "uid %u%s%s%s%s%s", (unsigned)c->uid,
	    c->user[0] || c->unit[0] ? " (" : "", c->user,
	    c->user[0] && c->unit[0] ? ", " : "", c->unit,
	    c->user[0] || c->unit[0] ? ")" : "");
}

/* A refusal of the policy: PermissionError (EACCES, as Python names it)
 * naming the caller, the destination and the rule. Not a failure a retry
 * would mend: no "not sent" hint. */
static void
refuse(struct route *r, struct route_caller *c, const char *scheme,
    const char *host, uint16_t port, const char *why)
{
	char who[400];

	route_caller(c, NULL, 1);	/* the names, for the message */
	caller_text(c, who, sizeof(who));
	r->code = HPOOL_E_PERMISSION;
	r->sent = PROTO_SENT_UNKNOWN;
	snprintf(r->msg, sizeof(r->msg), "[Errno 13] Permission denied: "
	    "hpoold's policy does not let %s reach %s://%s:%u: %s", who,
	    scheme, host, port, why);
	snprintf(r->log, sizeof(r->log), "denied: %s reaching %s://%s:%u: %s",
	    who, scheme, host, port, why);
	snprintf(r->why, sizeof(r->why), "%s", why);
}

/* "Basic " and base64(user:pass), for Proxy-Authorization. */
static int
basic_auth(char *out, size_t outlen, const char *user, const char *pass)
{
	char plain[260];
	int n;

	n = snprintf(plain, sizeof(plain), "%s:%s", user, pass);
	if (n < 0 || (size_t)n >= sizeof(plain) ||
	    6 + 4 * (((size_t)n + 2) / 3) + 1 > outlen)
		return -1;
	memcpy(out, "Basic ", 6);
	EVP_EncodeBlock((unsigned char *)out + 6, (unsigned char *)plain, n);
	explicit_bzero(plain, sizeof(plain));
	return 0;
}

/*
 * Denied: refused now, before anything touches the network. Through a
 * proxy of the daemon's: the OPEN becomes a tunnel to the target through
 * it, as set_tunnel() would make it, with the proxy's credentials (a
 * CONNECT header, or the SOCKS5 messages the pool makes); with forward =
 * absolute, plain http goes to the proxy itself, no tunnel, and the
 * session writes each request in absolute form with the proxy's
 * credentials (r->absolute, r->origin, r->hdr). Direct to a
 * name: r->addr_check, and each resolved address is judged before it is
 * connected to (no second lookup). A caller's own proxy is a destination
 * like any other, and so is the target behind it.
 */
int
route_open(const struct policy *pol, struct route_caller *c,
    struct proto_open *o, struct route *r)
{
	const struct policy_caller *who = route_caller(c, pol, 0);
	struct policy_route rt;
	const char *scheme = proto_str_eq(&o->scheme, "https") ? "https" :
	    "http", *pscheme;
	char host[256], target[256];
	uint16_t port = o->port;

	memset(r, 0, sizeof(*r));
	memcpy(host, o->host.p, o->host.len);
	host[o->host.len] = '\0';
	if (o->tunnel_host.len > 0) {
		memcpy(target, o->tunnel_host.p, o->tunnel_host.len);
		target[o->tunnel_host.len] = '\0';
		/* an https:// proxy is an https destination */
		pscheme = o->tunnel_tls != PROTO_TUNNEL_TLS_NONE ? "https" :
		    "http";
		if (!policy_caller_proxies_allowed(pol)) {
			refuse(r, c, pscheme, host, o->port, "callers may not "
			    "use proxies of their own: caller_proxies = deny");
			return -1;
		}
		policy_decide(pol, who, pscheme, host, o->port, &rt);
		if (rt.action == POLICY_DENY) {
			refuse(r, c, pscheme, host, o->port, rt.why);
			return -1;
		}
		r->addr_check = rt.needs_addr_check;
		policy_decide(pol, who, scheme, target, o->tunnel_port, &rt);
		if (rt.action == POLICY_DENY) {
			refuse(r, c, scheme, target, o->tunnel_port, rt.why);
			return -1;
		}
		return 0;
	}
	policy_decide(pol, who, scheme, host, o->port, &rt);
	switch (rt.action) {
	case POLICY_DENY:
		refuse(r, c, scheme, host, o->port, rt.why);
		return -1;
	case POLICY_DIRECT:
		r->addr_check = rt.needs_addr_check;
		return 0;
	case POLICY_PROXY:
		r->proxy = rt.proxy;
		break;
	}
	if (strcmp(rt.proxy->scheme, "http") != 0 &&
	    strcmp(rt.proxy->scheme, "https") != 0 &&
	    strcmp(rt.proxy->scheme, "socks5h") != 0) {
		/* config.c refuses such a config: a broken invariant */
		r->code = HPOOL_E_OS_ERROR;
		r->sent = PROTO_SENT_UNKNOWN;
		snprintf(r->msg, sizeof(r->msg), "hpoold: proxy %s: %s:// "
		    "proxies are not supported yet", rt.proxy->name,
		    rt.proxy->scheme);
		snprintf(r->log, sizeof(r->log), "%s", r->msg);
		return -1;
	}
	if (rt.proxy->absolute_form && strcmp(scheme, "http") == 0) {
		/* No tunnel: the proxy is the host, the target goes in
		 * each request line (RFC 9112 3.2.2), and Host says it as
		 * http.client would (no :80). */
		r->absolute = rt.proxy;
		snprintf(r->origin, sizeof(r->origin), "http://%s%s%s", strchr(
		    host, ':') != NULL ? "[" : "", host, strchr(host, ':') !=
		    NULL ? "]" : "");
		if (o->port != 80)
			snprintf(r->origin + strlen(r->origin),
			    sizeof(r->origin) - strlen(r->origin), ":%u",
			    o->port);
	} else {
		/* The target moves into the tunnel. */
		o->tunnel_host = o->host;
		o->tunnel_port = o->port;
	}
	/* The proxy becomes the host. */
	snprintf(r->host, sizeof(r->host), "%s", rt.proxy->host);
	o->host.p = r->host;
	o->host.len = strlen(r->host);
	o->port = rt.proxy->port;
	o->ntunnel_headers = 0;
	o->proxy_name.p = rt.proxy->name;
	o->proxy_name.len = strlen(rt.proxy->name);
	if (strcmp(rt.proxy->scheme, "https") == 0) {
		/* TLS to the proxy first, verified with its cacert or the
		 * system store; a caller's TUNNEL_TLS settings are not
		 * taken (a caller's proxy never gets here) */
		o->tunnel_tls = PROTO_TUNNEL_TLS_VERIFY;
		o->tunnel_ca_pem.p = rt.proxy->cacert_pem;
		o->tunnel_ca_pem.len = rt.proxy->cacert_len;
	} else {
		o->tunnel_tls = PROTO_TUNNEL_TLS_NONE;
		o->tunnel_ca_pem.len = 0;
	}
	if (strcmp(rt.proxy->scheme, "socks5h") == 0)
		r->socks = rt.proxy;	/* credentials go in SOCKS5 */
	else if (rt.proxy->user[0] != '\0') {
		if (basic_auth(r->auth, sizeof(r->auth), rt.proxy->user,
		    rt.proxy->pass) == -1) {
			r->code = HPOOL_E_VALUE_ERROR;
			r->sent = PROTO_SENT_NO;
			snprintf(r->msg, sizeof(r->msg), "hpoold: proxy %s: "
			    "credentials too long", rt.proxy->name);
			snprintf(r->log, sizeof(r->log), "%s", r->msg);
			return -1;
		}
		r->hdr.name.p = "Proxy-Authorization";
		r->hdr.name.len = strlen(r->hdr.name.p);
		r->hdr.value.p = r->auth;
		r->hdr.value.len = strlen(r->auth);
		if (r->absolute == NULL) {
			o->tunnel_headers[0] = r->hdr;
			o->ntunnel_headers = 1;
		}
	}
	log_debug("%s://%s:%u through proxy %s%s (%s)", scheme, host, port,
	    rt.proxy->name, r->absolute != NULL ? " in absolute form" : "",
	    rt.why);
	return 0;
}

static void
add(char *buf, size_t len, size_t *n, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (*n >= len)
		return;
	va_start(ap, fmt);
	k = vsnprintf(buf + *n, len - *n, fmt, ap);
	va_end(ap);
	if (k > 0)
		*n = *n + (size_t)k < len ? *n + (size_t)k : len - 1;
}

size_t
route_explain(const struct policy *pol, struct route_caller *c,
    const struct proto_open *o, char *text, size_t len)
{
	const struct policy_caller *who = route_caller(c, pol, 1);
	struct policy_route rt;
	const char *scheme = proto_str_eq(&o->scheme, "https") ? "https" :
	    "http", *pin;
	char host[256];
	size_t n = 0;

	text[0] = '\0';
	memcpy(host, o->host.p, o->host.len);
	host[o->host.len] = '\0';
	add(text, len, &n, "caller: uid %u (%s), gid %u (%s), pid %d, unit "
	    "%s\n", (unsigned)who->uid, who->user ? who->user : "?",
	    (unsigned)who->gid, who->group ? who->group : "?",
	    (int)who->pid, who->unit ? who->unit : "none");
	add(text, len, &n, "destination: %s://%s:%u\n", scheme, host,
	    o->port);
	if (o->tunnel_host.len > 0) {
		add(text, len, &n, "route: the caller's own proxy %s:%u%s "
		    "(caller_proxies = %s)\n", host, o->port, o->tunnel_tls ==
		    PROTO_TUNNEL_TLS_VERIFY ? ", in TLS" : o->tunnel_tls ==
		    PROTO_TUNNEL_TLS_INSECURE ? ", in TLS not verified" : "",
		    policy_caller_proxies_allowed(pol) ? "allow" : "deny");
		return n;
	}
	policy_decide(pol, who, scheme, host, o->port, &rt);
	switch (rt.action) {
	case POLICY_DENY:
		add(text, len, &n, "route: denied\n");
		break;
	case POLICY_DIRECT:
		add(text, len, &n, "route: direct%s\n", rt.needs_addr_check ?
		    " (each address it resolves to is checked against the "
		    "rules)" : "");
		break;
	case POLICY_PROXY:
		add(text, len, &n, "route: proxy %s (%s://%s:%u%s%s), %s "
		    "%s:%u\n", rt.proxy->name, rt.proxy->scheme,
		    rt.proxy->host, rt.proxy->port, rt.proxy->user[0] ?
		    ", with credentials" : "", strcmp(rt.proxy->scheme,
		    "https") != 0 ? "" : rt.proxy->cacert[0] ?
		    ", in TLS verified with its cacert" :
		    ", in TLS verified with the system store", strcmp(rt.proxy->scheme, "socks5h") == 0 ?
		    "SOCKS5 CONNECT" : rt.proxy->absolute_form &&
		    strcmp(scheme, "http") == 0 ? "absolute-form requests to" :
		    "CONNECT", host, o->port);
		break;
	}
	add(text, len, &n, "because: %s\n", rt.why);
	if ((pin = policy_resolve(pol, host, o->port)) != NULL)
		add(text, len, &n, "resolve: %s:%u is pinned to %s\n", host,
		    o->port, pin);
	return n;
}

void
route_tunnel_digest(const struct proto_open *o,
    const struct policy_proxy *px, uint8_t out[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned int n = 32;
	size_t i;

	if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		fatalx("cannot compute SHA-256");
	for (i = 0; i < o->ntunnel_headers; i++) {
		const struct proto_header *h = &o->tunnel_headers[i];
		uint32_t l[2] = { (uint32_t)h->name.len,
		    (uint32_t)h->value.len };

		EVP_DigestUpdate(md, l, sizeof(l));
		EVP_DigestUpdate(md, h->name.p, h->name.len);
		EVP_DigestUpdate(md, h->value.p, h->value.len);
	}
	/* TLS to the proxy, and the CAs it is verified with */
	{
		uint8_t t[5] = { o->tunnel_tls, (uint8_t)(
		    o->tunnel_ca_pem.len >> 24), (uint8_t)(
		    o->tunnel_ca_pem.len >> 16), (uint8_t)(
		    o->tunnel_ca_pem.len >> 8), (uint8_t)o->tunnel_ca_pem.len };

		EVP_DigestUpdate(md, t, sizeof(t));
		EVP_DigestUpdate(md, o->tunnel_ca_pem.p, o->tunnel_ca_pem.len);
	}
	if (px != NULL) {
		/* each with its NUL: no two triples hash the same bytes */
		EVP_DigestUpdate(md, px->name, strlen(px->name) + 1);
		EVP_DigestUpdate(md, px->user, strlen(px->user) + 1);
		EVP_DigestUpdate(md, px->pass, strlen(px->pass) + 1);
	}
	EVP_DigestFinal_ex(md, out, &n);
	EVP_MD_CTX_free(md);
}
