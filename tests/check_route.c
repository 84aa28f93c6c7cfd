/* check_route.c: unit tests for daemon/route.c: a refused OPEN's message
 * (caller, destination, rule), the OPEN rewritten into a CONNECT or a
 * SOCKS5 tunnel through the daemon's proxy (credentials in a header, or
 * left to the pool), direct routes, caller proxies, the EXPLAIN text (no
 * credential in it) and the tunnel digest. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ini.h>

#include "hpool_error.h"
#include "policy.h"
#include "route.h"
#include "check_run.h"

static struct policy *pol;
static struct route_caller who;
static struct proto_open o;

static int
entry(void *arg, const char *section, const char *name, const char *value)
{
	char err[256], warn[256];

	(void)arg;
	ck_assert_int_eq(policy_config(pol, section, name, value, err,
	    sizeof(err), warn, sizeof(warn)), 1);
	return 1;
}

static void
load(const char *ini)
{
	char err[256];

	policy_free(pol);
	ck_assert_ptr_nonnull(pol = policy_new());
	ck_assert_int_eq(ini_parse_string(ini, entry, NULL), 0);
	ck_assert_int_eq(policy_finish(pol, err, sizeof(err)), 0);
}

static void
open_to(const char *scheme, const char *host, uint16_t port)
{
	memset(&o, 0, sizeof(o));
	o.scheme.p = scheme;
	o.scheme.len = strlen(scheme);
	o.host.p = host;
	o.host.len = strlen(host);
	o.port = port;
	/* a uid with no name here: the message says the number only */
	route_caller_init(&who, 4242, 4242, getpid());
}

static int
has(const struct proto_str *s, const char *want)
{
	return s->len == strlen(want) && memcmp(s->p, want, s->len) == 0;
}

START_TEST(denied)
{
	struct route r;

	load("[policy]\nrule = dest 127.0.0.5 -> deny\n");
	open_to("http", "127.0.0.5", 8080);
	ck_assert_int_eq(route_open(pol, &who, &o, &r), -1);
	ck_assert_int_eq(r.code, HPOOL_E_PERMISSION);
	ck_assert_str_eq(r.msg, "[Errno 13] Permission denied: hpoold's "
	    "policy does not let uid 4242 reach http://127.0.0.5:8080: rule 1 "
	    "(dest 127.0.0.5 -> deny)");
	ck_assert_ptr_nonnull(strstr(r.log, "denied: uid 4242"));
	/* the built-in metadata deny, without a rule */
	open_to("http", "169.254.169.254", 80);
	ck_assert_int_eq(route_open(pol, &who, &o, &r), -1);
	ck_assert_ptr_nonnull(strstr(r.msg, "built-in"));
}
END_TEST

START_TEST(direct)
{
	struct route r;

	load("");
	open_to("https", "example.test", 443);
	ck_assert_int_eq(route_open(pol, &who, &o, &r), 0);
	ck_assert(has(&o.host, "example.test"));
	ck_assert_uint_eq(o.tunnel_host.len, 0);
	/* a name's addresses are judged at connect */
	ck_assert_int_eq(r.addr_check, 1);
	open_to("https", "127.0.0.7", 443);
	ck_assert_int_eq(route_open(pol, &who, &o, &r), 0);
	ck_assert_int_eq(r.addr_check, 0);
}
END_TEST

START_TEST(through_connect_proxy)
{
	struct route r;

	load("[hpoold]\nproxy = http://corp:s3cret@127.0.0.1:3128\n");
	open_to("https", "api.example.test", 443);
	ck_assert_int_eq(route_open(pol, &who, &o, &r), 0);
	ck_assert(has(&o.host, "127.0.0.1"));
	ck_assert_uint_eq(o.port, 3128);
	ck_assert(has(&o.tunnel_host, "api.example.test"));
	ck_assert_uint_eq(o.tunnel_port, 443);
	ck_assert_uint_eq(o.ntunnel_headers, 1);
	ck_assert(has(&o.tunnel_headers[0].name, "Proxy-Authorization"));
	/* base64("corp:s3cret") */
	ck_assert(has(&o.tunnel_headers[0].value, "Basic Y29ycDpzM2NyZXQ="));
	ck_assert_ptr_null(r.socks);
}
END_TEST

START_TEST(through_socks_proxy)
{
	struct route r;
	uint8_t a[32], b[32];

	load("[proxy s]\nurl = socks5h://u:p@127.0.0.1:1080\n"
	    "[policy]\nrule = -> proxy s\n");
	open_to("http", "only-the-proxy-knows.test", 80);
	ck_assert_int_eq(route_open(pol, &who, &o, &r), 0);
	ck_assert(has(&o.host, "127.0.0.1"));
	ck_assert_uint_eq(o.port, 1080);
	ck_assert(has(&o.tunnel_host, "only-the-proxy-knows.test"));
	/* no header: the credentials go in the SOCKS5 messages */
	ck_assert_uint_eq(o.ntunnel_headers, 0);
	ck_assert_ptr_nonnull(r.socks);
	ck_assert_str_eq(r.socks->user, "u");
	/* the credentials are part of the tunnel's pool key */
	route_tunnel_digest(&o, r.socks, a);
	route_tunnel_digest(&o, NULL, b);
	ck_assert(memcmp(a, b, sizeof(a)) != 0);
}
END_TEST

START_TEST(through_https_proxy)
{
	static char pem[] = "-----BEGIN CERTIFICATE-----\n";
	struct route r;
	uint8_t a[32], b[32];
	char text[2048];

	load("[proxy tls]\nurl = https://corp:s3cret@proxy.test\n"
	    "cacert = /etc/hpool/corp-ca.pem\n[policy]\nrule = -> proxy tls\n");
	ck_assert_int_eq(policy_proxy_set_cacert(pol, 0, pem, strlen(pem)),
	    0);
	open_to("https", "api.example.test", 443);
	ck_assert_int_eq(route_open(pol, &who, &o, &r), 0);
	ck_assert(has(&o.host, "proxy.test"));
	ck_assert_uint_eq(o.port, 443);	/* https://'s default */
	ck_assert(has(&o.tunnel_host, "api.example.test"));
	ck_assert_uint_eq(o.tunnel_tls, PROTO_TUNNEL_TLS_VERIFY);
	ck_assert(has(&o.tunnel_ca_pem, pem));
	ck_assert(has(&o.proxy_name, "tls"));
	ck_assert(has(&o.tunnel_headers[0].value, "Basic Y29ycDpzM2NyZXQ="));
	/* TLS to the proxy and its CAs are part of the tunnel's key */
	route_tunnel_digest(&o, NULL, a);
	o.tunnel_ca_pem.len--;
	route_tunnel_digest(&o, NULL, b);
	ck_assert(memcmp(a, b, sizeof(a)) != 0);
	o.tunnel_ca_pem.len++;
	o.tunnel_tls = PROTO_TUNNEL_TLS_NONE;
	route_tunnel_digest(&o, NULL, b);
	ck_assert(memcmp(a, b, sizeof(a)) != 0);
	/* a plain-http target: CONNECT inside the TLS too */
	open_to("http", "plain.example.test", 80);
	ck_assert_int_eq(route_open(pol, &who, &o, &r), 0);
	ck_assert_uint_eq(o.tunnel_tls, PROTO_TUNNEL_TLS_VERIFY);
	ck_assert(has(&o.tunnel_host, "plain.example.test"));
	open_to("https", "api.example.test", 443);
	route_explain(pol, &who, &o, text, sizeof(text));
	ck_assert_ptr_nonnull(strstr(text, "route: proxy tls (https://"
	    "proxy.test:443, with credentials, in TLS verified with its "
	    "cacert), CONNECT api.example.test:443\n"));
	/* a caller's TUNNEL_TLS never reaches an http:// proxy of ours */
	load("[hpoold]\nproxy = http://127.0.0.1:3128\n");
	open_to("https", "api.example.test", 443);
	o.tunnel_tls = PROTO_TUNNEL_TLS_INSECURE;
	ck_assert_int_eq(route_open(pol, &who, &o, &r), 0);
	ck_assert_uint_eq(o.tunnel_tls, PROTO_TUNNEL_TLS_NONE);
}
END_TEST

START_TEST(through_absolute_proxy)
{
	struct route r;
	uint8_t a[32], b[32], c[32];
	char text[1024];

	load("[proxy corp]\nurl = http://corp:s3cret@127.0.0.1:3128\n"
	    "forward = absolute\n[policy]\nrule = -> proxy corp\n");
	/* plain http: the proxy is the host, no tunnel, the target in
	 * r->origin for the request line and Host */
	open_to("http", "api.example.test", 8080);
	ck_assert_int_eq(route_open(pol, &who, &o, &r), 0);
	ck_assert(has(&o.host, "127.0.0.1"));
	ck_assert_uint_eq(o.port, 3128);
	ck_assert_uint_eq(o.tunnel_host.len, 0);
	ck_assert_uint_eq(o.ntunnel_headers, 0);
	ck_assert_ptr_null(r.socks);
	ck_assert_ptr_nonnull(r.absolute);
	ck_assert_str_eq(r.origin, "http://api.example.test:8080");
	ck_assert(has(&r.hdr.name, "Proxy-Authorization"));
	ck_assert(has(&r.hdr.value, "Basic Y29ycDpzM2NyZXQ="));
	ck_assert_int_eq(r.addr_check, 0);
	/* the credentials key the pool, not the target */
	route_tunnel_digest(&o, r.absolute, a);
	route_tunnel_digest(&o, NULL, c);
	ck_assert(memcmp(a, c, sizeof(a)) != 0);
	open_to("http", "::1", 80);
	ck_assert_int_eq(route_open(pol, &who, &o, &r), 0);
	ck_assert_str_eq(r.origin, "http://[::1]");
	route_tunnel_digest(&o, r.absolute, b);
	ck_assert(memcmp(a, b, sizeof(a)) == 0);
	open_to("http", "api.example.test", 8080);
	route_explain(pol, &who, &o, text, sizeof(text));
	ck_assert_ptr_nonnull(strstr(text, "route: proxy corp "
	    "(http://127.0.0.1:3128, with credentials), absolute-form "
	    "requests to api.example.test:8080\n"));
	/* https through the same proxy: a CONNECT tunnel, as before */
	open_to("https", "api.example.test", 443);
	ck_assert_int_eq(route_open(pol, &who, &o, &r), 0);
	ck_assert_ptr_null(r.absolute);
	ck_assert(has(&o.tunnel_host, "api.example.test"));
	ck_assert_uint_eq(o.ntunnel_headers, 1);
	ck_assert(has(&o.tunnel_headers[0].value, "Basic Y29ycDpzM2NyZXQ="));
}
END_TEST

START_TEST(caller_proxies)
{
	struct route r;

	load("[hpoold]\ncaller_proxies = deny\n");
	open_to("https", "127.0.0.1", 3128);
	o.tunnel_host.p = "example.test";
	o.tunnel_host.len = strlen("example.test");
	o.tunnel_port = 443;
	ck_assert_int_eq(route_open(pol, &who, &o, &r), -1);
	ck_assert_ptr_nonnull(strstr(r.msg, "caller_proxies = deny"));
	load("[policy]\nrule = dest example.test -> deny\n");
	ck_assert_int_eq(route_open(pol, &who, &o, &r), -1);
	ck_assert_ptr_nonnull(strstr(r.msg, "https://example.test:443"));
	load("");
	ck_assert_int_eq(route_open(pol, &who, &o, &r), 0);
	ck_assert(has(&o.host, "127.0.0.1"));	/* left as the caller set */
}
END_TEST

START_TEST(explain_text)
{
	char text[2048];
	size_t n;

	load("[hpoold]\nproxy = http://corp:s3cret@127.0.0.1:3128\n"
	    "resolve = pinned.test:443:127.0.0.9\n");
	open_to("https", "pinned.test", 443);
	n = route_explain(pol, &who, &o, text, sizeof(text));
	ck_assert_uint_eq(n, strlen(text));
	ck_assert_ptr_nonnull(strstr(text, "caller: uid 4242"));
	ck_assert_ptr_nonnull(strstr(text, "destination: https://pinned.test:"
	    "443\n"));
	ck_assert_ptr_nonnull(strstr(text, "route: proxy proxy "
	    "(http://127.0.0.1:3128, with credentials), CONNECT "
	    "pinned.test:443\n"));
	ck_assert_ptr_nonnull(strstr(text, "resolve: pinned.test:443 is "
	    "pinned to 127.0.0.9\n"));
	ck_assert_ptr_null(strstr(text, "s3cret"));
	ck_assert_ptr_null(strstr(text, "corp"));
	/* a text that does not fit is cut, never overrun */
	n = route_explain(pol, &who, &o, text, 40);
	ck_assert_uint_lt(n, 40);
	ck_assert_uint_eq(strlen(text), n);
}
END_TEST

static Suite *
route_suite(void)
{
	Suite *s = suite_create("route");
	TCase *tc = tcase_create("open");

	tcase_add_test(tc, denied);
	tcase_add_test(tc, direct);
	tcase_add_test(tc, through_connect_proxy);
	tcase_add_test(tc, through_socks_proxy);
	tcase_add_test(tc, through_absolute_proxy);
	tcase_add_test(tc, through_https_proxy);
	tcase_add_test(tc, caller_proxies);
	tcase_add_test(tc, explain_text);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	int rc = check_run(route_suite());

	policy_free(pol);
	return rc;
}
