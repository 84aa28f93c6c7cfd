/*
 * proxy.c: owns the caller's proxy a request goes through (hpool(1),
 * PROXIES): -x, the variables curl reads, --noproxy and no_proxy, and the
 * CONNECT tunnel's credentials.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

#define PROXY_PORT	1080	/* curl's, for a proxy given without one */
#define PROXY_TLS_PORT	443	/* ...and for an https:// one */
#define PROXY_CA_MAX	(1024 * 1024)	/* --proxy-cacert's file */

/* The proxy schemes curl takes. hpoold tunnels through a caller's proxy
 * with HTTP CONNECT, over TCP or TLS (proto: OPEN's tunnel fields and
 * TUNNEL_TLS); why says so for the others. */
#define WHY_SOCKS	"hpoold tunnels through a caller's proxy with HTTP " \
			"CONNECT only"
static const struct {
	const char	*scheme;
	const char	*why;		/* NULL: usable */
} proxy_schemes[] = {
	{ "http", NULL },
	{ "https", NULL },
	{ "socks5h", WHY_SOCKS },
	{ "socks5", WHY_SOCKS },
	{ "socks4a", WHY_SOCKS },
	{ "socks4", WHY_SOCKS },
	{ "socks", WHY_SOCKS },
};

/*
 * The variables curl reads for a URL's proxy, in its order: the scheme's
 * own, then all_proxy. http_proxy is read in lower case only, as curl
 * does: a CGI program finds a request's "Proxy:" header in HTTP_PROXY.
 */
static const struct {
	int		 https;		/* -1: for either scheme */
	const char	*name;
} proxy_vars[] = {
	{ 0, "http_proxy" },
	{ 1, "https_proxy" },
	{ 1, "HTTPS_PROXY" },
	{ -1, "all_proxy" },
	{ -1, "ALL_PROXY" },
};

static const char *env_value(const char *name);
static int	proxy_tls(hpool_conn *, const struct opts *);
static int	proxy_parse(const char *spec, struct proxy *);
static int	noproxy_match(const char *list, const char *host);
static int	noproxy_name(const char *tok, size_t tlen, const char *host,
		    size_t hlen);
static int	noproxy_addr(const char *tok, size_t tlen, int family,
		    const unsigned char *addr);

/* Basic credentials, base64 of "user:password" (RFC 7617). */
void
proxy_basic_auth(const char *userpass, char *out, size_t outlen)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = (const unsigned char *)userpass;
	size_t n = strlen(userpass), i, o;
	uint32_t v;

	o = (size_t)snprintf(out, outlen, "Basic ");
	for (i = 0; i < n && o + 5 < outlen; i += 3) {
		v = (uint32_t)p[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		out[o++] = b64[v >> 18 & 63];
		out[o++] = b64[v >> 12 & 63];
		out[o++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? b64[v & 63] : '=';
	}
	out[o] = '\0';
}

/* getenv, with an empty value taken as unset (curl_getenv does). */
static const char *
env_value(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && v[0] != '\0' ? v : NULL;
}

/*
 * The proxy of a request to authority, chosen as curl chooses it: none
 * when the host is in --noproxy, else in no_proxy (or NO_PROXY), and
 * that holds for -x too; else -x, where "" means none; else the first
 * of proxy_vars set for the URL's scheme. *use: 0 to go direct.
 */
int
proxy_pick(const struct opts *o, const char *authority, int https,
    struct proxy *px, int *use)
{
	const char *list, *spec = o->proxy, *end;
	char host[256];
	size_t i, n;

	*use = 0;
	px->from = "-x";
	if (authority[0] == '[' && (end = strchr(authority, ']')) != NULL) {
		authority++;
		n = (size_t)(end - authority);
	} else
		n = strcspn(authority, ":");
	if ((list = o->noproxy) == NULL && (list = env_value("no_proxy")) ==
	    NULL)
		list = env_value("NO_PROXY");
	if (list != NULL && n < sizeof(host)) {
		memcpy(host, authority, n);
		host[n] = '\0';
		if (noproxy_match(list, host))
			return EX_OK;
	}
	for (i = 0; spec == NULL && i < NELEM(proxy_vars); i++) {
		if (proxy_vars[i].https != -1 && proxy_vars[i].https != https)
			continue;
		spec = env_value(proxy_vars[i].name);
		px->from = proxy_vars[i].name;
	}
	if (spec == NULL || spec[0] == '\0')
		return EX_OK;
	*use = 1;
	return proxy_parse(spec, px);
}

/*
 * [SCHEME://][USER[:PASSWORD]@]HOST[:PORT][/...] as curl reads -x and
 * the proxy variables: no scheme is http, no port is 1080, an IPv6
 * address goes in brackets, the user and password are percent-decoded,
 * a path is ignored. Errors name where the proxy came from (px->from),
 * never the text, which may hold a password.
 */
static int
proxy_parse(const char *spec, struct proxy *px)
{
	const char *p = spec, *sep, *at, *hp, *he, *colon, *port = NULL;
	unsigned char a6[16];
	size_t i, n, alen;
	int v6 = 0;
	long v;

	px->userpass[0] = '\0';
	px->tls = 0;
	if ((sep = strstr(p, "://")) != NULL && sep > p &&
	    strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789+-.") == (size_t)(sep - p)) {
		n = (size_t)(sep - p);
		for (i = 0; i < NELEM(proxy_schemes); i++)
			if (strlen(proxy_schemes[i].scheme) == n &&
			    strncasecmp(p, proxy_schemes[i].scheme, n) == 0)
				break;
		if (i == NELEM(proxy_schemes))
			return cli_fail(EX_USAGE, "ValueError", "the proxy in "
			    "%s has the scheme '%.*s': hpool takes http:// "
			    "proxies", px->from, (int)(n > 16 ? 16 : n), p);
		if (proxy_schemes[i].why != NULL)
			return cli_fail(EX_USAGE, "ValueError", "hpool cannot "
			    "use the %s:// proxy in %s: %s; hpoold's policy "
			    "can route callers through an http://, https:// "
			    "or socks5h:// proxy (hpoold.conf(5), POLICY)",
			    proxy_schemes[i].scheme, px->from,
			    proxy_schemes[i].why);
		/* curl's default port for an https:// proxy is 443 */
		px->tls = strcmp(proxy_schemes[i].scheme, "https") == 0;
		p = sep + 3;
	}
	alen = strcspn(p, "/?#");
	he = p + alen;
	for (at = NULL, hp = p; hp < he; hp++)
		if (*hp == '@')
			at = hp;
	hp = p;
	if (at != NULL) {
		colon = memchr(p, ':', (size_t)(at - p));
		if (url_pct_decode(p, (size_t)((colon ? colon : at) - p),
		    px->userpass, sizeof(px->userpass)) == -1 ||
		    url_pct_decode(":", 1, px->userpass,
		    sizeof(px->userpass)) == -1 || (colon != NULL &&
		    url_pct_decode(colon + 1, (size_t)(at - colon - 1),
		    px->userpass, sizeof(px->userpass)) == -1)) {
			explicit_bzero(px->userpass, sizeof(px->userpass));
			return cli_fail(EX_USAGE, "ValueError", "the user and "
			    "password of the proxy in %s are longer than %d "
			    "bytes or hold %%00", px->from, PROXY_AUTH_MAX);
		}
		hp = at + 1;
	}
	if (*hp == '[') {
		if ((colon = memchr(hp, ']', (size_t)(he - hp))) == NULL)
			return cli_fail(EX_USAGE, "ValueError", "the proxy in "
			    "%s has no ']' after '['", px->from);
		if (colon + 1 < he && colon[1] != ':')
			return cli_fail(EX_USAGE, "ValueError", "the proxy in "
			    "%s has text after ']' that is not :PORT",
			    px->from);
		port = colon + 1 < he ? colon + 2 : NULL;
		n = (size_t)(colon - hp - 1);
		hp++;
		v6 = 1;
	} else if ((colon = memchr(hp, ':', (size_t)(he - hp))) != NULL) {
		if (memchr(colon + 1, ':', (size_t)(he - colon - 1)) != NULL)
			return cli_fail(EX_USAGE, "ValueError", "the proxy in "
			    "%s: an IPv6 address goes in brackets, "
			    "[ADDRESS]:PORT", px->from);
		n = (size_t)(colon - hp);
		port = colon + 1;
	} else
		n = (size_t)(he - hp);
	if (n == 0 || n >= sizeof(px->host))
		return cli_fail(EX_USAGE, "ValueError", "the proxy in %s has "
		    "%s", px->from, n == 0 ? "no host" :
		    "a host longer than 255 bytes");
	memcpy(px->host, hp, n);
	px->host[n] = '\0';
	if (v6 && inet_pton(AF_INET6, px->host, a6) != 1)
		return cli_fail(EX_USAGE, "ValueError", "the proxy in %s has "
		    "brackets around something else than an IPv6 address",
		    px->from);
	px->port = px->tls ? PROXY_TLS_PORT : PROXY_PORT;
	if (port != NULL && port < he) {
		n = (size_t)(he - port);
		v = n <= 5 && strspn(port, "0123456789") >= n ?
		    strtol(port, NULL, 10) : 0;
		/* not shown: a password with a '/' in it ends up here */
		if (v < 1 || v > 65535)
			return cli_fail(EX_USAGE, "ValueError", "the proxy in "
			    "%s has a port that is not a number from 1 to "
			    "65535", px->from);
		px->port = (int)v;
	}
	return EX_OK;
}


/*
 * Whether host is in a no_proxy list, read as curl 7.86 and later read
 * it: "*" alone is every host; otherwise entries separated by commas,
 * with blanks around them (a blank inside an entry ends the list). A name
 * matches an entry that is the name or a domain above it, dots at either
 * end of either ignored; an IP address matches its own address or a
 * CIDR holding it.
 */
static int
noproxy_match(const char *list, const char *host)
{
	unsigned char addr[16];
	const char *p = list, *tok;
	size_t hlen = strlen(host), tlen;
	int family = 0;

	if (strcmp(list, "*") == 0)
		return 1;
	if (hlen == 0)
		return 0;
	if (inet_pton(AF_INET, host, addr) == 1)
		family = AF_INET;
	else if (inet_pton(AF_INET6, host, addr) == 1)
		family = AF_INET6;
	else if (host[hlen - 1] == '.')
		hlen--;
	for (;;) {
		p += strspn(p, " \t");
		tok = p;
		tlen = strcspn(p, " \t,");
		p += tlen;
		if (tlen > 0 && (family != 0 ?
		    noproxy_addr(tok, tlen, family, addr) :
		    noproxy_name(tok, tlen, host, hlen)))
			return 1;
		p += strspn(p, " \t");
		if (*p != ',')
			return 0;
		p += strspn(p, ",");
	}
}

/* host (hlen bytes, no dot at its end) against one entry, as curl. */
static int
noproxy_name(const char *tok, size_t tlen, const char *host, size_t hlen)
{
	if (tok[tlen - 1] == '.')
		tlen--;
	if (tlen > 0 && tok[0] == '.') {
		tok++;
		tlen--;
	}
	if (tlen == hlen)
		return strncasecmp(tok, host, hlen) == 0;
	return tlen < hlen && host[hlen - tlen - 1] == '.' &&
	    strncasecmp(tok, host + hlen - tlen, tlen) == 0;
}

/*
 * An address against one entry: ADDRESS or ADDRESS/BITS. As curl, /0 is
 * the address itself, not every address. Brackets around an IPv6 entry
 * are taken off (curl never matches them).
 */
static int
noproxy_addr(const char *tok, size_t tlen, int family,
    const unsigned char *addr)
{
	unsigned char net[16];
	unsigned long bits, max = family == AF_INET ? 32 : 128, i;
	char buf[128], *slash, *a = buf;
	size_t n;

	if (tlen >= sizeof(buf))
		return 0;
	memcpy(buf, tok, tlen);
	buf[tlen] = '\0';
	bits = max;
	if ((slash = strchr(buf, '/')) != NULL) {
		*slash = '\0';
		/* as curl's atoi: "/x" is 0, "/-1" never matches */
		if (slash[1] == '-' || (bits = strtoul(slash + 1, NULL, 10)) >
		    max)
			return 0;
		if (bits == 0)
			bits = max;
	}
	n = strlen(a);
	if (family == AF_INET6 && n >= 2 && a[0] == '[' && a[n - 1] == ']') {
		a[n - 1] = '\0';
		a++;
	}
	if (inet_pton(family, a, net) != 1)
		return 0;
	for (i = 0; i < bits / 8; i++)
		if (addr[i] != net[i])
			return 0;
	return bits % 8 == 0 ||
	    ((addr[i] ^ net[i]) & (0xff << (8 - bits % 8)) & 0xff) == 0;
}

/* -x: the connection goes to the proxy, the tunnel to the URL's host,
 * with --proxy-user's credentials, else the proxy URL's. */
int
proxy_tunnel(hpool_conn *c, const struct opts *o, const struct proxy *px,
    const char *authority)
{
	struct hpool_header h = { "Proxy-Authorization", NULL };
	const char *up = o->proxy_user != NULL ? o->proxy_user :
	    px->userpass[0] != '\0' ? px->userpass : NULL;
	char auth[1024];
	int rc;

	if (up != NULL) {
		if (strlen(up) > PROXY_AUTH_MAX)
			return cli_fail(EX_USAGE, "ValueError",
			    "--proxy-user is longer than %d bytes",
			    PROXY_AUTH_MAX);
		proxy_basic_auth(up, auth, sizeof(auth));
		h.value = auth;
	}
	/* port 0: from the authority, else the scheme's (set_tunnel's None) */
	rc = hpool_conn_set_tunnel(c, authority, 0, h.value ? &h : NULL,
	    h.value ? 1 : 0);
	explicit_bzero(auth, sizeof(auth));
	if (rc != HPOOL_OK)
		return cli_fail_err(hpool_conn_error(c), NULL);
	return px->tls ? proxy_tls(c, o) : EX_OK;
}

/* An https:// proxy: TLS to it, verified with --proxy-cacert's CAs (read
 * here, with our own permissions) or the system store, or not at all
 * with --proxy-insecure, as curl does. */
static int
proxy_tls(hpool_conn *c, const struct opts *o)
{
	char *ca = NULL;
	size_t len = 0, n;
	FILE *fp;
	int rc;

	if (o->proxy_cacert != NULL && !o->proxy_insecure) {
		if ((fp = fopen(o->proxy_cacert, "rb")) == NULL)
			return cli_fail(EX_SSL_CACERT, "FileNotFoundError",
			    "--proxy-cacert %s: %s", o->proxy_cacert,
			    strerror(errno));
		if ((ca = malloc(PROXY_CA_MAX + 1)) == NULL) {
			fclose(fp);
			return cli_fail(EX_GENERIC, "MemoryError",
			    "out of memory");
		}
		while (len <= PROXY_CA_MAX && (n = fread(ca + len, 1,
		    PROXY_CA_MAX + 1 - len, fp)) > 0)
			len += n;
		fclose(fp);
		if (len == 0 || len > PROXY_CA_MAX) {
			free(ca);
			return cli_fail(EX_SSL_CACERT, "ValueError",
			    "--proxy-cacert %s: %s", o->proxy_cacert,
			    len == 0 ? "empty" : "larger than 1 MiB");
		}
	}
	rc = hpool_conn_set_tunnel_tls(c, o->proxy_insecure ?
	    HPOOL_TUNNEL_TLS_INSECURE : HPOOL_TUNNEL_TLS_VERIFY, ca, len);
	free(ca);
	if (rc != HPOOL_OK)
		return cli_fail_err(hpool_conn_error(c), NULL);
	return EX_OK;
}

/*
 * The context HTTPSConnection would be given: Python's default one, or,
 * with --cacert, create_default_context(cafile=...) which trusts that file
 * only (so does curl). Files are read here, with our own permissions.
 */
