/*
 * hpool.c: owns the hpool command, a curl-like HTTP client whose
 * connections live in hpoold (through libhpool).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "hpool.h"
#include "stats.h"

#define READ_CHUNK	(64 * 1024)
#define MAX_HEADERS	256
#define PROXY_PORT	1080	/* curl's, for a proxy given without one */
#define PROXY_TLS_PORT	443	/* ...and for an https:// one */
#define PROXY_CA_MAX	(1024 * 1024)	/* --proxy-cacert's file */
#define PROXY_AUTH_MAX	700	/* user:password, before base64 */

/* Exit codes, curl's where curl has one for the same situation. */
enum {
	EX_OK		= 0,
	EX_GENERIC	= 1,	/* also: unsupported scheme (curl: 1) */
	EX_USAGE	= 2,
	EX_URL		= 3,
	EX_RESOLVE	= 6,
	EX_CONNECT	= 7,
	EX_WEIRD	= 8,
	EX_SSL_CONNECT	= 35,	/* SSLError */
	EX_PARTIAL	= 18,
	EX_HTTP_FAIL	= 22,
	EX_WRITE	= 23,
	EX_READ		= 26,
	EX_NOMEM	= 27,
	EX_TIMEOUT	= 28,
	EX_EMPTY_REPLY	= 52,
	EX_SEND		= 55,
	EX_RECV		= 56,
	EX_SSL_CERTPROBLEM = 58,	/* --cert / --key unusable */
	EX_SSL_VERIFY	= 60,	/* SSLCertVerificationError */
	EX_SSL_CACERT	= 77,	/* --cacert unusable */
	/* hpoold's egress policy refused the destination: not a failure
	 * that a retry mends. curl's codes end at 101; 120 is clear of
	 * them and of the shell's 126 and up. */
	EX_POLICY	= 120,
};

/* What a PermissionError of hpoold's policy says, at OPEN or at connect
 * (daemon/session.c, upstream.c), as against a file's or a limit's. */
#define POLICY_MARK	"hpoold's policy"

/* Error class -> exit code; the first entry the error is a kind of wins,
 * so subclasses come before their bases. */
static const struct {
	int	code;
	int	exit;
} exit_map[] = {
	{ HPOOL_E_SSL_CERT_VERIFICATION, EX_SSL_VERIFY },
	{ HPOOL_E_SSL_ERROR, EX_SSL_CONNECT },
	{ HPOOL_E_REMOTE_DISCONNECTED, EX_EMPTY_REPLY },
	{ HPOOL_E_INCOMPLETE_READ, EX_PARTIAL },
	{ HPOOL_E_INVALID_URL, EX_URL },
	{ HPOOL_E_BAD_STATUS_LINE, EX_WEIRD },
	{ HPOOL_E_LINE_TOO_LONG, EX_WEIRD },
	{ HPOOL_E_UNKNOWN_PROTOCOL, EX_WEIRD },
	{ HPOOL_E_UNKNOWN_TRANSFER_ENCODING, EX_WEIRD },
	{ HPOOL_E_TIMEOUT, EX_TIMEOUT },
	{ HPOOL_E_GAIERROR, EX_RESOLVE },
	{ HPOOL_E_DAEMON_UNAVAILABLE, EX_CONNECT },
	{ HPOOL_E_CONNECTION_REFUSED, EX_CONNECT },
	{ HPOOL_E_BROKEN_PIPE, EX_SEND },
	{ HPOOL_E_CONNECTION_RESET, EX_RECV },
	{ HPOOL_E_CONNECTION_ABORTED, EX_RECV },
	{ HPOOL_E_MEMORY, EX_NOMEM },
};

/* Methods hpoold may send again on a new connection (RFC 9110 9.2.2;
 * daemon/http_req.c has the same list). */
static const char *const idempotent_methods[] = {
	"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE",
};

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

struct opts {
	const char	*method;
	const char	*url;
	const char	*headers[MAX_HEADERS];
	size_t		 nheaders;
	char		*data;		/* -d / --data-binary, joined by & */
	size_t		 data_len;
	int		 has_data;
	int		 include;	/* -i */
	int		 head;		/* -I */
	const char	*output;	/* -o */
	const char	*socket_path;
	double		 timeout;
	int		 fail;
	int		 silent;
	int		 show_error;
	const char	*cacert;	/* --cacert: trust only these CAs */
	const char	*cert;		/* --cert: client certificate */
	const char	*key;		/* --key: its key (else in --cert) */
	const char	*pass;		/* --pass: the key's password */
	int		 insecure;	/* -k */
	const char	*proxy;		/* -x: CONNECT tunnel; "": none */
	const char	*proxy_user;	/* --proxy-user USER:PASSWORD */
	const char	*noproxy;	/* --noproxy LIST, over no_proxy */
	const char	*proxy_cacert;	/* --proxy-cacert: an https proxy's CAs */
	int		 proxy_insecure; /* --proxy-insecure */
	int		 explain;	/* --explain: ask, make no request */
};

/* The caller's proxy a request goes through (hpool(1), PROXIES). */
struct proxy {
	char		 host[256];	/* an IPv6 address without brackets */
	int		 port;
	char		 userpass[PROXY_AUTH_MAX + 1];	/* "" if none */
	int		 tls;		/* https://: TLS to the proxy */
	const char	*from;		/* "-x" or the variable's name */
};

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

/* What the command printed so far, for the progress bar. */
struct progress {
	int		 on;
	int64_t		 total;		/* -1: unknown */
	uint64_t	 done;
	struct timespec	 last;
	int		 shown;
};

static int	 silent_errors;

static void	usage(FILE *);
static int	fail_msg(int ex, const char *name, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));
static int	fail_err(const struct hpool_error *);
static void	sent_note(const struct hpool_error *, const char *no_replay);
static const char *user_header(const struct opts *, const char *name);
static const char *no_replay_reason(const struct opts *,
		    const char *method);
static int	exit_code(const struct hpool_error *);
static int	add_data(struct opts *, const char *arg, int binary);
static void	basic_auth(const char *, char *, size_t);
static const char *env_value(const char *name);
static int	proxy_pick(const struct opts *, const char *authority,
		    int https, struct proxy *, int *use);
static int	proxy_parse(const char *spec, struct proxy *);
static int	proxy_tls(hpool_conn *, const struct opts *);
static int	pct_decode(const char *, size_t, char *, size_t);
static int	noproxy_match(const char *list, const char *host);
static int	noproxy_name(const char *tok, size_t tlen, const char *host,
		    size_t hlen);
static int	noproxy_addr(const char *tok, size_t tlen, int family,
		    const unsigned char *addr);
static int	tunnel(hpool_conn *, const struct opts *,
		    const struct proxy *, const char *authority);
static int	read_all(FILE *, char **, size_t *);
static int	split_url(const char *, char **authority, char **path,
		    int *https);
static int	make_context(const struct opts *, hpool_ssl_context **);
static int	run(struct opts *);
static int	run_explain(const struct opts *);
static void	progress_update(struct progress *, int final);

static void
usage(FILE *fp)
{
	fprintf(fp,
"usage: hpool [options] URL\n"
"Make an HTTP or HTTPS request through hpoold's pooled connections.\n"
"\n"
"  -X, --request METHOD   request method (default GET; POST with -d)\n"
"  -H, --header 'N: v'    add a request header (repeatable; 'N:' removes\n"
"                         a header hpool would add, 'N;' sends it empty)\n"
"  -d, --data DATA        request body; @FILE reads FILE, @- stdin,\n"
"                         without their CR and LF bytes (as curl)\n"
"      --data-binary DATA like -d, but files are sent byte for byte\n"
"  -i, --include          print the status line and headers first\n"
"  -I, --head             HEAD request; print status line and headers\n"
"  -o, --output FILE      write the body to FILE (progress bar on a tty)\n"
"      --socket PATH      hpoold's socket (default: $HPOOL_SOCKET,\n"
"                         /run/hpool/hpoold.sock, $XDG_RUNTIME_DIR/hpool/)\n"
"      --timeout SECONDS  timeout of each network wait\n"
"      --cacert FILE      HTTPS: trust the CA certificates in FILE (PEM)\n"
"                         instead of the system's\n"
"      --cert FILE        HTTPS: client certificate (PEM; may hold the key)\n"
"      --key FILE         HTTPS: the client certificate's key (PEM)\n"
"      --pass PHRASE      HTTPS: password of the key\n"
"  -k, --insecure         HTTPS: no certificate or host name verification\n"
"  -x, --proxy [http[s]://][USER:PASS@]HOST[:PORT]\n"
"                         go through this proxy with a CONNECT tunnel\n"
"                         (http.client's set_tunnel; curl's -p -x); port\n"
"                         1080 by default (https://: 443, TLS to the\n"
"                         proxy); '' for none. Without -x:\n"
"                         $http_proxy (http), $https_proxy or\n"
"                         $HTTPS_PROXY (https), else $all_proxy,\n"
"                         $ALL_PROXY\n"
"      --proxy-user U:P   Proxy-Authorization: Basic for the tunnel\n"
"      --proxy-cacert FILE  an https:// proxy: trust the CAs in FILE\n"
"                         (PEM) instead of the system's\n"
"      --proxy-insecure   an https:// proxy: no certificate or name check\n"
"                         (wins over the proxy URL's USER:PASS)\n"
"      --noproxy LIST     hosts to reach without a proxy, even one of -x\n"
"                         (instead of $no_proxy, $NO_PROXY; '*': all)\n"
"      --explain          print what hpoold's policy would do with URL\n"
"                         (caller, route, rule) and exit; no request\n"
"  -f, --fail             exit 22 without output on a status >= 400\n"
"  -s, --silent           no progress bar, no error messages\n"
"  -S, --show-error       with -s, still print error messages\n"
"  -V, --version          print the version and exit\n"
"  -h, --help             print this help and exit\n"
"See hpool(1) for the output format and the exit codes.\n");
}

static int
fail_msg(int ex, const char *name, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	if (silent_errors)
		return ex;
	fprintf(stderr, "hpool: %s: ", name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return ex;
}

static int
exit_code(const struct hpool_error *e)
{
	size_t i;

	if (hpool_error_is(e->code, HPOOL_E_PERMISSION) &&
	    strstr(e->message, POLICY_MARK) != NULL)
		return EX_POLICY;
	for (i = 0; i < sizeof(exit_map) / sizeof(exit_map[0]); i++)
		if (hpool_error_is(e->code, exit_map[i].code))
			return exit_map[i].exit;
	return EX_GENERIC;
}

static int
fail_err(const struct hpool_error *e)
{
	return fail_msg(exit_code(e), hpool_error_name(e->code), "%s",
	    e->message);
}

/*
 * Whether the failed request reached the server, as hpoold reports it: a
 * user deciding whether to run the command again needs it, and the
 * exception's name alone does not tell (a RemoteDisconnected may follow a
 * request the server carried out). no_replay: why hpoold would not send
 * this request again by itself, NULL if it would.
 */
static void
sent_note(const struct hpool_error *e, const char *no_replay)
{
	if (silent_errors)
		return;
	if (e->request_sent == HPOOL_SENT_NO)
		fprintf(stderr, "hpool: the request was not sent "
		    "(safe to retry)\n");
	else if (e->request_sent == HPOOL_SENT_MAYBE &&
	    e->code == HPOOL_E_REMOTE_DISCONNECTED && no_replay != NULL)
		/* the one error hpoold answers with a retry when it can */
		fprintf(stderr, "hpool: the request may have been processed "
		    "by the server (not retried: %s)\n", no_replay);
	else if (e->request_sent == HPOOL_SENT_MAYBE)
		fprintf(stderr, "hpool: the request may have been processed "
		    "by the server\n");
}

/* The value of the header -H sends as name (the last one), NULL if none;
 * "Name:" only removes a header, so it sends none. */
static const char *
user_header(const struct opts *o, const char *name)
{
	const char *h, *val, *found = NULL;
	size_t i, nlen;

	for (i = 0; i < o->nheaders; i++) {
		h = o->headers[i];
		nlen = strcspn(h, ":;");
		if (nlen != strlen(name) || strncasecmp(h, name, nlen) != 0 ||
		    h[nlen] == '\0')
			continue;
		val = h + nlen + 1;
		while (*val == ' ' || *val == '\t')
			val++;
		if (h[nlen] == ';' || *val != '\0')
			found = val;
	}
	return found;
}

/* As daemon/session.c's sess_retry decides: a request may be sent again
 * if it may be repeated and has no body (bodies are streamed, not kept). */
static const char *
no_replay_reason(const struct opts *o, const char *method)
{
	const char *cl;
	size_t i;
	int idempotent = 0;

	for (i = 0; i < NELEM(idempotent_methods); i++)
		if (strcmp(method, idempotent_methods[i]) == 0)
			idempotent = 1;
	if (user_header(o, "Idempotency-Key") != NULL ||
	    user_header(o, "X-Idempotency-Key") != NULL)
		idempotent = 1;
	if (!idempotent)
		return "it is not idempotent";
	cl = user_header(o, "Content-Length");
	if (o->data_len > 0 || user_header(o, "Transfer-Encoding") != NULL ||
	    (cl != NULL && strtoull(cl, NULL, 10) > 0))
		return "it has a body";
	return NULL;
}

/* The whole of fp into a malloc'd buffer. */
static int
read_all(FILE *fp, char **out, size_t *len)
{
	char *buf = NULL, *nb;
	size_t cap = 0, n = 0, r;

	for (;;) {
		if (cap - n < 65536) {
			cap = cap ? cap * 2 : 65536;
			if ((nb = realloc(buf, cap)) == NULL) {
				free(buf);
				errno = ENOMEM;
				return -1;
			}
			buf = nb;
		}
		r = fread(buf + n, 1, cap - n, fp);
		n += r;
		if (r == 0) {
			if (ferror(fp)) {
				free(buf);
				return -1;
			}
			break;
		}
	}
	*out = buf;
	*len = n;
	return 0;
}

/*
 * -d and --data-binary: several are joined with '&', as curl does. As in
 * curl, -d @FILE drops the CR and LF bytes of the file (form data on one
 * line); --data-binary @FILE sends it byte for byte.
 */
static int
add_data(struct opts *o, const char *arg, int binary)
{
	char *chunk, *nb;
	size_t len;
	FILE *fp;
	int rc;

	if (arg[0] == '@') {
		if (strcmp(arg, "@-") == 0)
			fp = stdin;
		else if ((fp = fopen(arg + 1, "rb")) == NULL)
			return fail_msg(EX_READ, errno == ENOENT ?
			    "FileNotFoundError" : "OSError", "%s: %s",
			    arg + 1, strerror(errno));
		rc = read_all(fp, &chunk, &len);
		if (fp != stdin)
			fclose(fp);
		if (rc == -1)
			return fail_msg(EX_READ, "OSError", "%s: %s", arg + 1,
			    strerror(errno));
		if (!binary) {
			size_t i, j;

			for (i = j = 0; i < len; i++)
				if (chunk[i] != '\r' && chunk[i] != '\n')
					chunk[j++] = chunk[i];
			len = j;
		}
	} else {
		len = strlen(arg);
		if ((chunk = strdup(arg)) == NULL)
			return fail_msg(EX_NOMEM, "MemoryError", "out of memory");
	}
	if ((nb = realloc(o->data, o->data_len + len + 2)) == NULL) {
		free(chunk);
		return fail_msg(EX_NOMEM, "MemoryError", "out of memory");
	}
	o->data = nb;
	if (o->has_data)
		o->data[o->data_len++] = '&';
	memcpy(o->data + o->data_len, chunk, len);
	o->data_len += len;
	o->has_data = 1;
	free(chunk);
	return EX_OK;
}

/*
 * http://authority/path?query#fragment -> authority, "/path?query".
 * No scheme means http, as curl guesses; any other scheme is refused.
 */
static int
split_url(const char *url, char **authority, char **path, int *https)
{
	const char *p, *rest, *sep;
	size_t alen;

	*authority = *path = NULL;
	*https = 0;
	if ((sep = strstr(url, "://")) != NULL) {
		for (p = url; p < sep; p++)
			if (strchr("abcdefghijklmnopqrstuvwxyz"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.", *p) ==
			    NULL)
				break;
		if (p == sep) {
			if (sep - url == 5 && strncasecmp(url, "https", 5) == 0)
				*https = 1;
			else if (sep - url != 4 ||
			    strncasecmp(url, "http", 4) != 0)
				return fail_msg(EX_GENERIC, "InvalidURL",
				    "unsupported scheme '%.*s'",
				    (int)(sep - url), url);
			url = sep + 3;
		}
	}
	alen = strcspn(url, "/?#");
	rest = url + alen;
	if (alen == 0)
		return fail_msg(EX_URL, "InvalidURL", "no host in URL");
	if (memchr(url, '@', alen) != NULL)
		return fail_msg(EX_URL, "InvalidURL",
		    "user names and passwords in URLs are not supported");
	if ((*authority = strndup(url, alen)) == NULL)
		return fail_msg(EX_NOMEM, "MemoryError", "out of memory");
	/* The fragment stays here, as in a browser. */
	alen = strcspn(rest, "#");
	if ((*path = malloc(alen + 2)) == NULL)
		return fail_msg(EX_NOMEM, "MemoryError", "out of memory");
	snprintf(*path, alen + 2, "%s%.*s", rest[0] == '/' ? "" : "/",
	    (int)alen, rest);
	return EX_OK;
}

/* Basic credentials, base64 of "user:password" (RFC 7617). */
static void
basic_auth(const char *userpass, char *out, size_t outlen)
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
static int
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
			return fail_msg(EX_USAGE, "ValueError", "the proxy in "
			    "%s has the scheme '%.*s': hpool takes http:// "
			    "proxies", px->from, (int)(n > 16 ? 16 : n), p);
		if (proxy_schemes[i].why != NULL)
			return fail_msg(EX_USAGE, "ValueError", "hpool cannot "
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
		if (pct_decode(p, (size_t)((colon ? colon : at) - p),
		    px->userpass, sizeof(px->userpass)) == -1 ||
		    pct_decode(":", 1, px->userpass, sizeof(px->userpass)) ==
		    -1 || (colon != NULL && pct_decode(colon + 1,
		    (size_t)(at - colon - 1), px->userpass,
		    sizeof(px->userpass)) == -1)) {
			explicit_bzero(px->userpass, sizeof(px->userpass));
			return fail_msg(EX_USAGE, "ValueError", "the user and "
			    "password of the proxy in %s are longer than %d "
			    "bytes or hold %%00", px->from, PROXY_AUTH_MAX);
		}
		hp = at + 1;
	}
	if (*hp == '[') {
		if ((colon = memchr(hp, ']', (size_t)(he - hp))) == NULL)
			return fail_msg(EX_USAGE, "ValueError", "the proxy in "
			    "%s has no ']' after '['", px->from);
		if (colon + 1 < he && colon[1] != ':')
			return fail_msg(EX_USAGE, "ValueError", "the proxy in "
			    "%s has text after ']' that is not :PORT",
			    px->from);
		port = colon + 1 < he ? colon + 2 : NULL;
		n = (size_t)(colon - hp - 1);
		hp++;
		v6 = 1;
	} else if ((colon = memchr(hp, ':', (size_t)(he - hp))) != NULL) {
		if (memchr(colon + 1, ':', (size_t)(he - colon - 1)) != NULL)
			return fail_msg(EX_USAGE, "ValueError", "the proxy in "
			    "%s: an IPv6 address goes in brackets, "
			    "[ADDRESS]:PORT", px->from);
		n = (size_t)(colon - hp);
		port = colon + 1;
	} else
		n = (size_t)(he - hp);
	if (n == 0 || n >= sizeof(px->host))
		return fail_msg(EX_USAGE, "ValueError", "the proxy in %s has "
		    "%s", px->from, n == 0 ? "no host" :
		    "a host longer than 255 bytes");
	memcpy(px->host, hp, n);
	px->host[n] = '\0';
	if (v6 && inet_pton(AF_INET6, px->host, a6) != 1)
		return fail_msg(EX_USAGE, "ValueError", "the proxy in %s has "
		    "brackets around something else than an IPv6 address",
		    px->from);
	px->port = px->tls ? PROXY_TLS_PORT : PROXY_PORT;
	if (port != NULL && port < he) {
		n = (size_t)(he - port);
		v = n <= 5 && strspn(port, "0123456789") >= n ?
		    strtol(port, NULL, 10) : 0;
		/* not shown: a password with a '/' in it ends up here */
		if (v < 1 || v > 65535)
			return fail_msg(EX_USAGE, "ValueError", "the proxy in "
			    "%s has a port that is not a number from 1 to "
			    "65535", px->from);
		px->port = (int)v;
	}
	return EX_OK;
}

/*
 * s (n bytes) percent-decoded onto the end of the string out (outlen
 * bytes with its NUL), as curl decodes a proxy's user and password: a '%'
 * without two hex digits after it stays. -1 if it does not fit or
 * decodes to a NUL.
 */
static int
pct_decode(const char *s, size_t n, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	const char *h, *l;
	size_t i, o = strlen(out);
	int c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c == '%' && i + 2 < n && s[i + 1] != '\0' &&
		    s[i + 2] != '\0' &&
		    (h = strchr(hex, tolower((unsigned char)s[i + 1]))) !=
		    NULL && (l = strchr(hex, tolower((unsigned char)s[i + 2])))
		    != NULL) {
			c = (int)((h - hex) << 4 | (l - hex));
			if (c == 0)
				return -1;
			i += 2;
		}
		if (o + 1 >= outlen)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
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
static int
tunnel(hpool_conn *c, const struct opts *o, const struct proxy *px,
    const char *authority)
{
	struct hpool_header h = { "Proxy-Authorization", NULL };
	const char *up = o->proxy_user != NULL ? o->proxy_user :
	    px->userpass[0] != '\0' ? px->userpass : NULL;
	char auth[1024];
	int rc;

	if (up != NULL) {
		if (strlen(up) > PROXY_AUTH_MAX)
			return fail_msg(EX_USAGE, "ValueError",
			    "--proxy-user is longer than %d bytes",
			    PROXY_AUTH_MAX);
		basic_auth(up, auth, sizeof(auth));
		h.value = auth;
	}
	/* port 0: from the authority, else the scheme's (set_tunnel's None) */
	rc = hpool_conn_set_tunnel(c, authority, 0, h.value ? &h : NULL,
	    h.value ? 1 : 0);
	explicit_bzero(auth, sizeof(auth));
	if (rc != HPOOL_OK)
		return fail_err(hpool_conn_error(c));
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
			return fail_msg(EX_SSL_CACERT, "FileNotFoundError",
			    "--proxy-cacert %s: %s", o->proxy_cacert,
			    strerror(errno));
		if ((ca = malloc(PROXY_CA_MAX + 1)) == NULL) {
			fclose(fp);
			return fail_msg(EX_GENERIC, "MemoryError",
			    "out of memory");
		}
		while (len <= PROXY_CA_MAX && (n = fread(ca + len, 1,
		    PROXY_CA_MAX + 1 - len, fp)) > 0)
			len += n;
		fclose(fp);
		if (len == 0 || len > PROXY_CA_MAX) {
			free(ca);
			return fail_msg(EX_SSL_CACERT, "ValueError",
			    "--proxy-cacert %s: %s", o->proxy_cacert,
			    len == 0 ? "empty" : "larger than 1 MiB");
		}
	}
	rc = hpool_conn_set_tunnel_tls(c, o->proxy_insecure ?
	    HPOOL_TUNNEL_TLS_INSECURE : HPOOL_TUNNEL_TLS_VERIFY, ca, len);
	free(ca);
	if (rc != HPOOL_OK)
		return fail_err(hpool_conn_error(c));
	return EX_OK;
}

/*
 * The context HTTPSConnection would be given: Python's default one, or,
 * with --cacert, create_default_context(cafile=...) which trusts that file
 * only (so does curl). Files are read here, with our own permissions.
 */
static int
make_context(const struct opts *o, hpool_ssl_context **out)
{
	static const char *const http11[] = { "http/1.1" };
	hpool_ssl_context *ctx = NULL;
	struct hpool_error e;
	int ex = EX_OK;

	*out = NULL;
	if ((o->cacert != NULL ? hpool_ssl_context_new(&ctx, &e) :
	    hpool_ssl_context_new_default(&ctx, &e)) != HPOOL_OK)
		return fail_err(&e);
	if (hpool_ssl_context_set_alpn_protocols(ctx, http11, 1, &e) !=
	    HPOOL_OK) {
		ex = fail_err(&e);
		goto out;
	}
	if (o->insecure &&
	    (hpool_ssl_context_set_check_hostname(ctx, 0, &e) != HPOOL_OK ||
	    hpool_ssl_context_set_verify_mode(ctx, HPOOL_CERT_NONE, &e) !=
	    HPOOL_OK)) {
		ex = fail_err(&e);
		goto out;
	}
	if (o->cacert != NULL && hpool_ssl_context_load_verify_locations(ctx,
	    o->cacert, NULL, NULL, 0, &e) != HPOOL_OK) {
		ex = fail_err(&e);
		if (ex == EX_GENERIC || ex == EX_SSL_CONNECT)
			ex = EX_SSL_CACERT;
		goto out;
	}
	if (o->key != NULL && o->cert == NULL) {
		ex = fail_msg(EX_USAGE, "ValueError", "--key needs --cert");
		goto out;
	}
	if (o->cert != NULL && hpool_ssl_context_load_cert_chain(ctx, o->cert,
	    o->key, o->pass, &e) != HPOOL_OK) {
		ex = fail_err(&e);
		if (ex == EX_GENERIC || ex == EX_SSL_CONNECT)
			ex = EX_SSL_CERTPROBLEM;
		goto out;
	}
out:
	if (ex != EX_OK)
		hpool_ssl_context_free(ctx);
	else
		*out = ctx;
	return ex;
}

static void
progress_update(struct progress *p, int final)
{
	struct winsize ws;
	struct timespec now;
	int width = 80, bar, fill, i;
	double pct;

	if (!p->on)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!final && p->shown && (now.tv_sec - p->last.tv_sec) * 1000 +
	    (now.tv_nsec - p->last.tv_nsec) / 1000000 < 100)
		return;
	p->last = now;
	p->shown = 1;
	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20)
		width = ws.ws_col;
	if (p->total > 0) {
		pct = 100.0 * (double)p->done / (double)p->total;
		if (pct > 100)
			pct = 100;
		bar = width - 8;
		fill = (int)(bar * pct / 100);
		fputc('\r', stderr);
		for (i = 0; i < bar; i++)
			fputc(i < fill ? '#' : ' ', stderr);
		fprintf(stderr, " %5.1f%%", pct);
	} else
		fprintf(stderr, "\r%12.1f KiB received", p->done / 1024.0);
	if (final)
		fputc('\n', stderr);
	fflush(stderr);
}

static int
run(struct opts *o)
{
	struct hpool_https_opts so = HPOOL_HTTPS_OPTS_INIT;
	struct hpool_conn_opts co = HPOOL_CONN_OPTS_INIT;
	hpool_ssl_context *ctx = NULL;
	const struct hpool_header *hs;
	struct progress prog;
	hpool_conn *c = NULL;
	hpool_response *r = NULL;
	char *authority = NULL, *path = NULL, *buf = NULL;
	const char *method, *name_end, *val, *host;
	char name[256], num[32];
	size_t i, n, nh, nlen;
	FILE *out = stdout;
	int ex, skip_host = 0, skip_ae = 0, has_cl = 0, has_te = 0, has_ct = 0;
	int st, status, https, rc, use_proxy = 0;
	struct hpool_error e;
	struct proxy px;

	memset(&prog, 0, sizeof(prog));
	memset(&px, 0, sizeof(px));
	if ((ex = split_url(o->url, &authority, &path, &https)) != EX_OK ||
	    (ex = proxy_pick(o, authority, https, &px, &use_proxy)) != EX_OK)
		goto out;
	host = use_proxy ? px.host : authority;
	method = o->method ? o->method : o->head ? "HEAD" :
	    o->has_data ? "POST" : "GET";
	co.socket_path = o->socket_path;
	co.timeout = o->timeout;
	if (https) {
		/* TLS options with an http:// URL are ignored, as by curl. */
		if ((ex = make_context(o, &ctx)) != EX_OK)
			goto out;
		so.conn = co;
		rc = hpool_https_conn_new(&c, host, use_proxy ? px.port : 0,
		    &so, ctx, &e);
	} else
		rc = hpool_conn_new(&c, host, use_proxy ? px.port : 0, &co,
		    &e);
	if (rc != HPOOL_OK) {
		ex = fail_err(&e);
		goto out;
	}
	if (use_proxy && (ex = tunnel(c, o, &px, authority)) != EX_OK)
		goto out;
	/* Which headers the user set (or removed with "Name:"). */
	for (i = 0; i < o->nheaders; i++) {
		nlen = strcspn(o->headers[i], ":;");
		if (nlen >= sizeof(name))
			nlen = sizeof(name) - 1;
		memcpy(name, o->headers[i], nlen);
		name[nlen] = '\0';
		skip_host |= strcasecmp(name, "Host") == 0;
		skip_ae |= strcasecmp(name, "Accept-Encoding") == 0;
		has_cl |= strcasecmp(name, "Content-Length") == 0;
		has_te |= strcasecmp(name, "Transfer-Encoding") == 0;
		has_ct |= strcasecmp(name, "Content-Type") == 0;
	}
	if (hpool_conn_putrequest(c, method, path, skip_host, skip_ae) !=
	    HPOOL_OK)
		goto lib_fail;
	/* As request() does: the length of the body, or 0 for methods
	 * that expect one. */
	if (!has_cl && !has_te && (o->has_data ||
	    strcasecmp(method, "POST") == 0 || strcasecmp(method, "PUT") == 0 ||
	    strcasecmp(method, "PATCH") == 0)) {
		snprintf(num, sizeof(num), "%zu", o->data_len);
		if (hpool_conn_putheader(c, "Content-Length", num) != HPOOL_OK)
			goto lib_fail;
	}
	if (o->has_data && !has_ct && hpool_conn_putheader(c, "Content-Type",
	    "application/x-www-form-urlencoded") != HPOOL_OK)
		goto lib_fail;
	for (i = 0; i < o->nheaders; i++) {
		name_end = o->headers[i] + strcspn(o->headers[i], ":;");
		nlen = (size_t)(name_end - o->headers[i]);
		if (nlen == 0 || nlen >= sizeof(name) || *name_end == '\0') {
			ex = fail_msg(EX_USAGE, "ValueError",
			    "bad header '%s': want 'Name: value'",
			    o->headers[i]);
			goto out;
		}
		memcpy(name, o->headers[i], nlen);
		name[nlen] = '\0';
		val = name_end + 1;
		while (*val == ' ' || *val == '\t')
			val++;
		/* curl: "Name:" removes, "Name;" sends an empty value. */
		if (*name_end == ':' && *val == '\0')
			continue;
		if (*name_end == ';' && *val != '\0') {
			ex = fail_msg(EX_USAGE, "ValueError",
			    "bad header '%s': want 'Name: value'",
			    o->headers[i]);
			goto out;
		}
		if (hpool_conn_putheader(c, name, val) != HPOOL_OK)
			goto lib_fail;
	}
	if (hpool_conn_endheaders(c, o->has_data ? o->data : NULL,
	    o->data_len) != HPOOL_OK ||
	    hpool_conn_getresponse(c, &r) != HPOOL_OK)
		goto lib_fail;

	status = hpool_response_status(r);
	if (o->fail && status >= 400) {
		ex = fail_msg(EX_HTTP_FAIL, "HTTPError",
		    "The requested URL returned error: %d %s", status,
		    hpool_response_reason(r));
		goto out;
	}
	if (o->output != NULL && (out = fopen(o->output, "wb")) == NULL) {
		out = stdout;
		ex = fail_msg(EX_WRITE, errno == ENOENT ? "FileNotFoundError" :
		    errno == EACCES ? "PermissionError" : "OSError", "%s: %s",
		    o->output, strerror(errno));
		goto out;
	}
	if (o->include || o->head) {
		st = hpool_response_version(r);
		fprintf(out, "HTTP/%d.%d %d %s\n", st / 10, st % 10, status,
		    hpool_response_reason(r));
		nh = hpool_response_getheaders(r, &hs);
		for (i = 0; i < nh; i++)
			fprintf(out, "%s: %s\n", hs[i].name, hs[i].value);
		fputc('\n', out);
	}
	prog.on = o->output != NULL && !o->silent && !o->head &&
	    isatty(STDERR_FILENO);
	prog.total = hpool_response_length(r);
	if ((buf = malloc(READ_CHUNK)) == NULL) {
		ex = fail_msg(EX_NOMEM, "MemoryError", "out of memory");
		goto out;
	}
	/* -I prints the head only; the body (none for HEAD) is dropped. */
	for (;;) {
		if (hpool_response_read_stream(r, buf, READ_CHUNK, &n) !=
		    HPOOL_OK) {
			if (prog.shown)
				fputc('\n', stderr);
			ex = fail_err(hpool_response_error(r));
			goto out;
		}
		if (n == 0)
			break;
		if (!o->head && fwrite(buf, 1, n, out) != n) {
			ex = fail_msg(EX_WRITE, "OSError",
			    "failed writing the body: %s", strerror(errno));
			goto out;
		}
		prog.done += n;
		progress_update(&prog, 0);
	}
	if (prog.on)
		progress_update(&prog, 1);
	if (fflush(out) == EOF) {
		ex = fail_msg(EX_WRITE, "OSError", "failed writing the body: "
		    "%s", strerror(errno));
		goto out;
	}
	ex = EX_OK;
	goto out;
lib_fail:
	/* Only a request that got no response says whether it was sent:
	 * once one has begun (the read errors above) the server answered. */
	ex = fail_err(hpool_conn_error(c));
	sent_note(hpool_conn_error(c), no_replay_reason(o, method));
out:
	fflush(out);
	if (out != stdout && fclose(out) == EOF && ex == EX_OK)
		ex = fail_msg(EX_WRITE, "OSError", "%s: %s", o->output,
		    strerror(errno));
	fflush(stdout);
	free(buf);
	hpool_response_free(r);
	hpool_conn_free(c);
	hpool_ssl_context_free(ctx);
	explicit_bzero(px.userpass, sizeof(px.userpass));
	free(authority);
	free(path);
	return ex;
}

/*
 * --explain: hpoold's answer for the URL's scheme, host and port, as it
 * sends it; no request is made and nothing touches the network.
 */
static int
run_explain(const struct opts *o)
{
	struct hpool_conn_opts co = HPOOL_CONN_OPTS_INIT;
	struct hpool_error e;
	char *authority = NULL, *path = NULL, *text = NULL;
	int ex, https;

	/* hpool_explain takes no caller proxy: hpoold's EXPLAIN of a
	 * tunnel names the proxy but does not judge the URL's host. For
	 * the same reason the proxy variables are not read. */
	if (o->proxy != NULL && o->proxy[0] != '\0')
		return fail_msg(EX_USAGE, "ValueError",
		    "--explain does not take -x (hpoold explains the routes "
		    "of its own policy)");
	if ((ex = split_url(o->url, &authority, &path, &https)) != EX_OK)
		goto out;
	co.socket_path = o->socket_path;
	co.timeout = o->timeout;
	if (hpool_explain(https ? "https" : "http", authority, 0, &co, &text,
	    &e) != HPOOL_OK) {
		ex = fail_err(&e);
		goto out;
	}
	if (fputs(text, stdout) == EOF || fflush(stdout) == EOF)
		ex = fail_msg(EX_WRITE, "OSError", "failed writing the "
		    "explanation: %s", strerror(errno));
out:
	free(text);
	free(authority);
	free(path);
	return ex;
}

int
main(int argc, char **argv)
{
	enum { OPT_SOCKET = 256, OPT_TIMEOUT, OPT_DATA_BINARY, OPT_CACERT,
	    OPT_CERT, OPT_KEY, OPT_PASS, OPT_PROXY_USER, OPT_NOPROXY,
	    OPT_EXPLAIN, OPT_PROXY_CACERT, OPT_PROXY_INSECURE };
	static const struct option longopts[] = {
		{ "request", required_argument, NULL, 'X' },
		{ "header", required_argument, NULL, 'H' },
		{ "data", required_argument, NULL, 'd' },
		{ "data-binary", required_argument, NULL, OPT_DATA_BINARY },
		{ "include", no_argument, NULL, 'i' },
		{ "head", no_argument, NULL, 'I' },
		{ "output", required_argument, NULL, 'o' },
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "cacert", required_argument, NULL, OPT_CACERT },
		{ "cert", required_argument, NULL, OPT_CERT },
		{ "key", required_argument, NULL, OPT_KEY },
		{ "pass", required_argument, NULL, OPT_PASS },
		{ "insecure", no_argument, NULL, 'k' },
		{ "proxy", required_argument, NULL, 'x' },
		{ "proxy-user", required_argument, NULL, OPT_PROXY_USER },
		{ "noproxy", required_argument, NULL, OPT_NOPROXY },
		{ "proxy-cacert", required_argument, NULL, OPT_PROXY_CACERT },
		{ "proxy-insecure", no_argument, NULL, OPT_PROXY_INSECURE },
		{ "explain", no_argument, NULL, OPT_EXPLAIN },
		{ "fail", no_argument, NULL, 'f' },
		{ "silent", no_argument, NULL, 's' },
		{ "show-error", no_argument, NULL, 'S' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o;
	char *end;
	int ch, ex;

	for (ch = 1; ch < argc; ch++)	/* hpool --stats: cli/stats.c */
		if (strcmp(argv[ch], "--stats") == 0)
			return cli_stats_main(argc, argv);
	memset(&o, 0, sizeof(o));
	o.timeout = HPOOL_TIMEOUT_DEFAULT;
	/* A closed stdout is reported as a write error, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	while ((ch = getopt_long(argc, argv, "X:H:d:iIo:kx:fsSVh", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'X':
			o.method = optarg;
			break;
		case 'H':
			if (o.nheaders == MAX_HEADERS)
				return fail_msg(EX_USAGE, "ValueError",
				    "more than %d headers", MAX_HEADERS);
			o.headers[o.nheaders++] = optarg;
			break;
		case 'd':
		case OPT_DATA_BINARY:
			if ((ex = add_data(&o, optarg, ch != 'd')) != EX_OK)
				return ex;
			break;
		case 'i':
			o.include = 1;
			break;
		case 'I':
			o.head = 1;
			break;
		case 'o':
			o.output = optarg;
			break;
		case OPT_SOCKET:
			o.socket_path = optarg;
			break;
		case OPT_TIMEOUT:
			errno = 0;
			o.timeout = strtod(optarg, &end);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    !(o.timeout >= 0 && o.timeout < 1e9))
				return fail_msg(EX_USAGE, "ValueError",
				    "bad --timeout '%s': want seconds >= 0",
				    optarg);
			break;
		case OPT_CACERT:
			o.cacert = optarg;
			break;
		case OPT_CERT:
			o.cert = optarg;
			break;
		case OPT_KEY:
			o.key = optarg;
			break;
		case OPT_PASS:
			o.pass = optarg;
			break;
		case 'k':
			o.insecure = 1;
			break;
		case 'x':
			o.proxy = optarg;
			break;
		case OPT_PROXY_USER:
			o.proxy_user = optarg;
			break;
		case OPT_NOPROXY:
			o.noproxy = optarg;
			break;
		case OPT_PROXY_CACERT:
			o.proxy_cacert = optarg;
			break;
		case OPT_PROXY_INSECURE:
			o.proxy_insecure = 1;
			break;
		case OPT_EXPLAIN:
			o.explain = 1;
			break;
		case 'f':
			o.fail = 1;
			break;
		case 's':
			o.silent = 1;
			break;
		case 'S':
			o.show_error = 1;
			break;
		case 'V':
			printf("hpool %s\n", hpool_version());
			return EX_OK;
		case 'h':
			usage(stdout);
			return EX_OK;
		default:
			usage(stderr);
			return EX_USAGE;
		}
	}
	silent_errors = o.silent && !o.show_error;
	if (optind != argc - 1) {
		usage(stderr);
		return EX_USAGE;
	}
	o.url = argv[optind];
	ex = o.explain ? run_explain(&o) : run(&o);
	free(o.data);
	return ex;
}
