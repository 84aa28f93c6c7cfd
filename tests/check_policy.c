/* check_policy.c: unit tests for daemon/policy.c, the egress rules: the
 * grammar (every term, every refusal), first-match order, callers, the
 * destination forms, ports, CIDR edges, the built-in denies and their
 * overrides, the simple form with the no_proxy agreement table of
 * hpoold.conf(5), the address checks of names going direct, resolve
 * entries, and credentials that never reach a text. Configs go through
 * inih as hpoold.conf does. Every address is loopback, private or from
 * the documentation ranges: it is data, nothing is sent. */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "check_run.h"

/* One config loaded through inih: the first refusal, the last warning. */
struct loaded {
	struct policy	*p;
	int		 rc;
	char		 err[256];
	char		 warn[1024];
	int		 foreign;	/* entries that were not the policy's */
};

static int	on_entry(void *, const char *, const char *, const char *);
static void	load(const char *);
static struct policy *ok(const char *);
static const char *refused(const char *);
static enum policy_action go(const struct policy_caller *, const char *,
		    const char *, uint16_t);
static int	addr_ok(const struct policy_caller *, const char *, uint16_t,
		    const char *);
static void	teardown(void);

static struct loaded L;
static struct policy_route R;
static char why[256];

static const struct policy_caller alice = { 1000, 1000, 4242, "alice",
    "staff", "backup-db.service" };
static const struct policy_caller bob = { 1001, 100, 4343, "bob", "users",
    "web.service" };
static const struct policy_caller anon = { 65534, 65534, 1, NULL, NULL,
    NULL };

#define PROXY_CORP	"[proxy corp]\nurl = http://proxy.example:3128\n"

static int
on_entry(void *arg, const char *section, const char *name, const char *value)
{
	struct loaded *l = arg;
	char err[256], warn[1024];
	int rc;

	rc = policy_config(l->p, section, name, value, err, sizeof(err), warn,
	    sizeof(warn));
	if (warn[0] != '\0')
		snprintf(l->warn, sizeof(l->warn), "%s", warn);
	if (rc == 0)
		l->foreign++;
	else if (rc == -1 && l->rc == 0) {
		l->rc = -1;
		snprintf(l->err, sizeof(l->err), "%s", err);
	}
	return 1;
}

static void
load(const char *ini)
{
	policy_free(L.p);
	memset(&L, 0, sizeof(L));
	ck_assert_ptr_nonnull(L.p = policy_new());
	ck_assert_int_eq(ini_parse_string(ini, on_entry, &L), 0);
	if (L.rc == 0)
		L.rc = policy_finish(L.p, L.err, sizeof(L.err));
}

static struct policy *
ok(const char *ini)
{
	load(ini);
	ck_assert_msg(L.rc == 0, "refused: %s\n%s", L.err, ini);
	return L.p;
}

static const char *
refused(const char *ini)
{
	load(ini);
	ck_assert_msg(L.rc == -1, "taken:\n%s", ini);
	ck_assert_msg(L.err[0] != '\0', "refused without a reason:\n%s", ini);
	return L.err;
}

static enum policy_action
go(const struct policy_caller *c, const char *scheme, const char *host,
    uint16_t port)
{
	policy_decide(L.p, c, scheme, host, port, &R);
	return R.action;
}

static int
addr_ok(const struct policy_caller *c, const char *host, uint16_t port,
    const char *addr)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1)
		s4->sin_family = AF_INET;
	else {
		ck_assert_int_eq(inet_pton(AF_INET6, addr, &s6->sin6_addr), 1);
		s6->sin6_family = AF_INET6;
	}
	return policy_addr_ok(L.p, c, "https", host, port,
	    (struct sockaddr *)&ss, why, sizeof(why));
}

static void
teardown(void)
{
	policy_free(L.p);
	L.p = NULL;
}

#define ROUTE(act, n)	do {						\
	ck_assert_msg(R.action == (act) && R.rule == (n),		\
	    "action %d rule %d (%s), wanted %d rule %d", R.action,	\
	    R.rule, R.why, (act), (n));					\
} while (0)

/* -- grammar -- */

START_TEST(every_term)
{
	char text[4096];

	ok(PROXY_CORP "[policy]\n"
	    "rule = uid 1000, user alice, gid 1000, group staff, "
	    "unit backup-*.service, dest .example.com:443, scheme https "
	    "-> proxy   corp\n"
	    "rule = -> deny\n");
	ck_assert_int_eq(go(&alice, "https", "api.example.com", 443),
	    POLICY_PROXY);
	ROUTE(POLICY_PROXY, 1);
	ck_assert_str_eq(R.proxy->name, "corp");
	ck_assert_str_eq(R.why, "rule 1 (uid 1000, user alice, gid 1000, "
	    "group staff, unit backup-*.service, dest .example.com:443, "
	    "scheme https -> proxy corp)");
	/* each term must hold: change one at a time */
	ck_assert_int_eq(go(&alice, "http", "api.example.com", 443),
	    POLICY_DENY);
	ck_assert_int_eq(go(&alice, "https", "api.example.com", 80),
	    POLICY_DENY);
	ck_assert_int_eq(go(&alice, "https", "api.example.org", 443),
	    POLICY_DENY);
	ck_assert_int_eq(go(&bob, "https", "api.example.com", 443),
	    POLICY_DENY);
	ROUTE(POLICY_DENY, 2);
	ck_assert_str_eq(R.why, "rule 2 (-> deny)");
	/* the text of the whole policy shows the rules as written */
	ck_assert_uint_lt(policy_text(L.p, text, sizeof(text)), sizeof(text));
	ck_assert_ptr_nonnull(strstr(text, "rule 2 = -> deny\n"));
	ck_assert_ptr_nonnull(strstr(text, "[proxy corp] url = "
	    "http://proxy.example:3128, forward = connect\n"));
	/* entries that are not the policy's are left to config.c */
	ck_assert_int_eq(policy_config(L.p, "hpoold", "max_per_host", "8",
	    why, sizeof(why), NULL, 0), 0);
	ck_assert_int_eq(policy_config(L.p, "other", "rule", "-> deny", why,
	    sizeof(why), NULL, 0), 0);
	ck_assert_int_eq(policy_config(L.p, "proxying", "url", "x", why,
	    sizeof(why), NULL, 0), 0);
	ck_assert_int_eq(policy_config(L.p, "hpoold", "no_proxy",
	    "a.example.com", why, sizeof(why), NULL, 0), 1);
	/* longer than an inih line can be: only a direct caller gets here */
	{
		char r[256];

		memset(r, 'a', sizeof(r) - 1);
		r[sizeof(r) - 1] = '\0';
		memcpy(r + sizeof(r) - 9, " -> deny", 8);
		ck_assert_int_eq(policy_config(L.p, "policy", "rule", r, why,
		    sizeof(why), NULL, 0), -1);
		ck_assert_str_eq(why, "rule: longer than 199 bytes");
	}
	/* err is cleared on every call */
	strcpy(why, "x");
	ck_assert_int_eq(policy_config(L.p, "hpoold", "workers", "2", why,
	    sizeof(why), NULL, 0), 0);
	ck_assert_str_eq(why, "");
}
END_TEST

static const struct bad {
	const char	*ini;
	const char	*err;	/* all of the message, or a part of it */
} bad[] = {
	/* rules */
	{ "[policy]\nrule = dest 10.0.0.0/33 -> deny",
	  "rule: 'dest 10.0.0.0/33': prefix length 33 is larger than 32" },
	{ "[policy]\nrule = dest fd00::/129 -> deny",
	  "rule: 'dest fd00::/129': prefix length 129 is larger than 128" },
	{ "[policy]\nrule = dest 10.0.0.1/8 -> deny",
	  "rule: 'dest 10.0.0.1/8': 10.0.0.1 has bits set past the /8 prefix "
	  "(the network is 10.0.0.0/8)" },
	{ "[policy]\nrule = dest 10.0.0.0/x -> deny",
	  "rule: 'dest 10.0.0.0/x': prefix length 'x' is not a number" },
	{ "[policy]\nrule = dest fd00::/8:443 -> deny",
	  "rule: 'dest fd00::/8:443': prefix length '8:443' is not a number "
	  "(with a port, IPv6 goes in brackets: [NETWORK/LENGTH]:PORT)" },
	{ "[policy]\nrule = dest 10.0.0.0/ -> deny",
	  "prefix length '' is not a number" },
	{ "[policy]\nrule = dest 10.0.0/8 -> deny",
	  "rule: 'dest 10.0.0/8': '10.0.0' is not an IPv4 or IPv6 address" },
	{ "[policy]\nrule = uid 1, uid 2 -> deny",
	  "rule: 'uid 2': a second uid term" },
	{ "[policy]\nrule = dest a.example, scheme http, dest b.example "
	  "-> deny", "rule: 'dest b.example': a second dest term" },
	{ "[policy]\nrule = uid abc -> deny",
	  "rule: 'uid abc': not a number from 0 to 4294967294" },
	{ "[policy]\nrule = uid -1 -> deny", "rule: 'uid -1': not a number" },
	{ "[policy]\nrule = gid 4294967295 -> deny",
	  "rule: 'gid 4294967295': not a number from 0 to 4294967294" },
	{ "[policy]\nrule = user a\x01 -> deny", "a user name is 1 to 63" },
	{ "[policy]\nrule = group " "g2345678901234567890123456789012345678901"
	  "234567890123456789012345 -> deny", "a group name is 1 to 63" },
	{ "[policy]\nrule = color red -> deny",
	  "rule: 'color red': unknown term (uid, user, gid, group, unit, "
	  "dest, scheme)" },
	{ "[policy]\nrule = dest -> deny", "rule: 'dest': no value" },
	{ "[policy]\nrule = dest a.example b.example -> deny",
	  "rule: 'dest a.example b.example': one value only" },
	{ "[policy]\nrule = uid 1,, gid 2 -> deny", "rule: an empty term" },
	{ "[policy]\nrule = uid 1, -> deny", "rule: an empty term" },
	{ "[policy]\nrule = unit a,b -> deny", "rule: 'b': unknown term" },
	{ "[policy]\nrule = uid 1", "rule: 'uid 1': no '-> ACTION'" },
	{ "[policy]\nrule = uid 1 -> deny -> direct",
	  "rule: 'uid 1 -> deny -> direct': more than one '->'" },
	{ "[policy]\nrule = uid 1 -> allow",
	  "rule: 'allow': the action is direct, deny or proxy NAME" },
	{ "[policy]\nrule = uid 1 ->", "the action is direct, deny or proxy" },
	{ "[policy]\nrule = uid 1 -> proxy",
	  "the action is direct, deny or proxy" },
	{ "[policy]\nrule = uid 1 -> proxy a b", "a proxy name is 1 to 63" },
	{ "[policy]\nrule = scheme ftp -> deny",
	  "rule: 'scheme ftp': not http or https" },
	{ "[policy]\nrule = dest *.example.com -> deny",
	  "rule: 'dest *.example.com': a domain and the names below it are "
	  "written '.example.com'" },
	{ "[policy]\nrule = dest a.example.com:0 -> deny",
	  "rule: 'dest a.example.com:0': port '0' is not a number from 1 to "
	  "65535" },
	{ "[policy]\nrule = dest a.example.com:70000 -> deny",
	  "port '70000' is not a number" },
	{ "[policy]\nrule = dest a.example.com:http -> deny",
	  "port 'http' is not a number" },
	{ "[policy]\nrule = dest a.example.com: -> deny",
	  "port '' is not a number" },
	{ "[policy]\nrule = dest a.example.com:90-80 -> deny",
	  "rule: 'dest a.example.com:90-80': port range 90-80 runs backwards" },
	{ "[policy]\nrule = dest a.example.com:80- -> deny",
	  "port range '80-' is not LOW-HIGH" },
	{ "[policy]\nrule = dest 10.0.0 -> deny",
	  "rule: 'dest 10.0.0': neither an IP address in standard form nor a "
	  "name (its last label is a number)" },
	{ "[policy]\nrule = dest 999.1.1.1 -> deny", "its last label is a " },
	{ "[policy]\nrule = dest 0x7f000001 -> deny", "its last label is a " },
	{ "[policy]\nrule = dest exa$mple.com -> deny",
	  "a name with a character other than letters, digits" },
	{ "[policy]\nrule = dest caf\xc3\xa9.example -> deny",
	  "not ASCII (write an international name in its xn-- form)" },
	{ "[policy]\nrule = dest a..example -> deny",
	  "a name with an empty label" },
	{ "[policy]\nrule = dest . -> deny", "an empty name" },
	{ "[policy]\nrule = dest [192.0.2.1]:80 -> deny",
	  "brackets are for IPv6 addresses" },
	{ "[policy]\nrule = dest [fd00::1 -> deny", "no ']' after '['" },
	{ "[policy]\nrule = dest [fd00::1]x -> deny",
	  "text after ']' that is not :PORT" },
	{ "[policy]\nrule = dest fd00::zz -> deny",
	  "'fd00::zz' is not an IPv6 address" },
	{ "[policy]\nrule = dest fe80::1%eth0 -> deny",
	  "is not an IPv6 address" },
	{ "[policy]\nrule = dest foo*.example -> deny",
	  "a name with a character other than" },
	{ "[policy]\nrule = dest " "a23456789012345678901234567890123456789"
	  "0123456789012345678901234567.example -> deny",
	  "a label longer than 63 bytes" },
	{ "[policy]\nrule = dest a.example, user a, unit c, user b -> deny",
	  "rule: 'user b': a second user term" },
	{ "[policy]\nrules = -> deny",
	  "[policy]: unknown setting 'rules' (rule)" },
	{ "[policy]\nrule = dest * -> proxy nope",
	  "rule 1 (dest * -> proxy nope): no [proxy nope] section" },
	/* proxies */
	{ "[proxy]\nurl = http://proxy.example:3128",
	  "[proxy]: a proxy section is [proxy NAME]" },
	{ "[proxy a/b]\nurl = http://proxy.example:3128",
	  "[proxy a/b]: a proxy name is 1 to 63 letters" },
	{ "[proxy corp]\nport = 3128",
	  "[proxy corp]: unknown setting 'port' (url, credentials_file, "
	  "forward, cacert)" },
	{ "[proxy corp]\nforward = absolute", "[proxy corp]: no url" },
	{ "[proxy corp]\nurl = ftp://proxy.example:21",
	  "[proxy corp] url: 'ftp://proxy.example:21': the scheme 'ftp' is "
	  "not http, https or socks5h" },
	{ "[proxy corp]\nurl = socks5://proxy.example:1080",
	  "socks5:// resolves names here for curl and at the proxy for Go: "
	  "write socks5h://" },
	{ "[proxy corp]\nurl = http://proxy.example",
	  "[proxy corp] url: 'http://proxy.example': no port (curl assumes "
	  "1080, Go 80: write it)" },
	{ "[proxy corp]\nurl = http://proxy.example:99999",
	  "the port '99999' is not a number from 1 to 65535" },
	{ "[proxy corp]\nurl = http://proxy.example:3128/path",
	  "a proxy URL has no path, query or fragment" },
	{ "[proxy corp]\nurl = http://proxy.example:3128?x",
	  "a proxy URL has no path, query or fragment" },
	{ "[proxy corp]\nurl = http://u@s@proxy.example:3128",
	  "[proxy corp] url: 'http://***@proxy.example:3128': more than one "
	  "'@' (write %40 in a user name or password)" },
	{ "[proxy corp]\nurl = http://u:%zzsecret@proxy.example:3128",
	  "[proxy corp] url: 'http://***@proxy.example:3128': the password: "
	  "a '%' without two hex digits" },
	{ "[proxy corp]\nurl = http://u:secret%2@proxy.example:3128",
	  "the password: a '%' without two hex digits" },
	{ "[proxy corp]\nurl = http://u:a%00b@proxy.example:3128",
	  "the password: %00 is refused" },
	{ "[proxy corp]\nurl = http://:secret@proxy.example:3128",
	  "an empty user name" },
	{ "[proxy corp]\nurl = http://[fd00::1:3128", "no ']' after '['" },
	{ "[proxy corp]\nurl = http://[fd00::zz]:3128",
	  "'fd00::zz' is not an IPv6 address" },
	{ "[proxy corp]\nurl = http://fd00::1:3128",
	  "an IPv6 address is written in brackets" },
	{ "[proxy corp]\nurl = http://pro_xy!.example:3128",
	  "the host is a name with a character other than" },
	{ "[proxy corp]\nurl = http://:3128", "the host is an empty name" },
	{ PROXY_CORP "url = http://proxy2.example:3128",
	  "[proxy corp] url: given a second time" },
	{ PROXY_CORP "forward = sideways",
	  "[proxy corp] forward: 'sideways' is not absolute or connect" },
	{ "[proxy s]\nurl = socks5h://proxy.example\nforward = absolute",
	  "[proxy s]: forward = absolute is for http and https proxies, not "
	  "socks5h" },
	{ PROXY_CORP "credentials_file = creds",
	  "[proxy corp] credentials_file: 'creds' is not an absolute path" },
	{ "[proxy corp]\nurl = http://u:p@proxy.example:3128\n"
	  "credentials_file = /etc/hpool/corp.creds",
	  "[proxy corp]: credentials in url and a credentials_file: give one" },
	{ PROXY_CORP "cacert = ca.pem",
	  "[proxy corp] cacert: 'ca.pem' is not an absolute path" },
	{ PROXY_CORP "cacert = /etc/hpool/ca.pem",
	  "[proxy corp]: cacert is for https:// proxies, not http://" },
	{ "[hpoold]\nproxy = http://proxy.example:3128\n"
	  "proxy_cacert = /etc/hpool/ca.pem",
	  "proxy_cacert is for an https:// proxy, and proxy, http_proxy and "
	  "https_proxy name none" },
	/* [hpoold] */
	{ "[hpoold]\ncaller_proxies = maybe",
	  "caller_proxies: 'maybe' is not allow or deny" },
	{ "[hpoold]\ncaller_proxies = deny\ncaller_proxies = allow",
	  "caller_proxies: given a second time" },
	{ "[hpoold]\nallow_link_local = 1",
	  "allow_link_local: '1' is not yes or no" },
	{ "[hpoold]\nhttp_proxy = http://p.example:1\n"
	  "http_proxy = http://q.example:1",
	  "http_proxy: given a second time" },
	{ "[hpoold]\nproxy = http://u:hunter2@proxy.example",
	  "proxy: 'http://***@proxy.example': no port" },
	{ "[hpoold]\nhttps_proxy = gopher://proxy.example:70",
	  "https_proxy: 'gopher://proxy.example:70': the scheme 'gopher'" },
	/* resolve */
	{ "[hpoold]\nresolve = a.example:80",
	  "resolve: 'a.example:80': not HOST:PORT:ADDRESS" },
	{ "[hpoold]\nresolve = a.example:0:192.0.2.1",
	  "resolve: 'a.example:0:192.0.2.1': PORT is not a number from 1 to "
	  "65535" },
	{ "[hpoold]\nresolve = a.example:80:192.0.2.1,192.0.2.2",
	  "one ADDRESS (curl takes a list, hpool pins one)" },
	{ "[hpoold]\nresolve = *:80:192.0.2.1",
	  "a wildcard HOST is not taken" },
	{ "[hpoold]\nresolve = +a.example:80:192.0.2.1",
	  "curl's +HOST and -HOST forms are not taken" },
	{ "[hpoold]\nresolve = 192.0.2.9:80:192.0.2.1",
	  "HOST is an address already" },
	{ "[hpoold]\nresolve = a.example:80:192.0.2.256",
	  "'192.0.2.256' is not an IPv4 or IPv6 address" },
	{ "[hpoold]\nresolve = a_b!:80:192.0.2.1", "HOST is a name with a" },
	{ "[hpoold]\nresolve = a.example:80:192.0.2.1\n"
	  "resolve = A.example.:80:192.0.2.2",
	  "resolve: 'A.example.:80:192.0.2.2': a.example:80 is pinned "
	  "already" },
	/* no_proxy */
	{ "[hpoold]\nno_proxy = a.example.com b.example.com",
	  "no_proxy: 'a.example.com b.example.com': entries are separated by "
	  "commas" },
	{ "[hpoold]\nno_proxy = *, example.org",
	  "no_proxy: '*' must be the whole list (curl ignores it among other "
	  "entries, Go then bypasses every host)" },
	{ "[hpoold]\nno_proxy = example.org\nno_proxy = *",
	  "'*' must be the whole list" },
	{ "[hpoold]\nno_proxy = *\nno_proxy = example.org",
	  "'*' must be the whole list" },
	{ "[hpoold]\nno_proxy = [2001:db8::1]",
	  "no_proxy: '[2001:db8::1]': write an IPv6 address without brackets "
	  "(curl and Go never match this form)" },
	{ "[hpoold]\nno_proxy = 10.0.0.0/8:80",
	  "no_proxy: '10.0.0.0/8:80': a CIDR takes no port here" },
	{ "[hpoold]\nno_proxy = a.example.com:80-90",
	  "a port range (Go takes one port, curl none)" },
	{ "[hpoold]\nno_proxy = 10.0.0.0/33", "prefix length 33 is larger" },
	{ "[hpoold]\nno_proxy = 0.2.1", "its last label is a number" },
};

START_TEST(every_refusal)
{
	const struct bad *b = &bad[_i];
	const char *e = refused(b->ini);

	ck_assert_msg(strstr(e, b->err) != NULL, "%s\n got: %s\nwant: %s",
	    b->ini, e, b->err);
	/* a password never reaches an error */
	ck_assert_ptr_null(strstr(e, "secret"));
	ck_assert_ptr_null(strstr(e, "hunter2"));
}
END_TEST

/* -- order and callers -- */

START_TEST(first_match_wins)
{
	ok("[policy]\nrule = dest .example.com -> deny\n"
	    "rule = dest api.example.com -> direct\n");
	ck_assert_int_eq(go(&alice, "https", "api.example.com", 443),
	    POLICY_DENY);
	ROUTE(POLICY_DENY, 1);
	ok("[policy]\nrule = dest api.example.com -> direct\n"
	    "rule = dest .example.com -> deny\n");
	ck_assert_int_eq(go(&alice, "https", "api.example.com", 443),
	    POLICY_DIRECT);
	ROUTE(POLICY_DIRECT, 1);
	ck_assert_int_eq(go(&alice, "https", "www.example.com", 443),
	    POLICY_DENY);
	ROUTE(POLICY_DENY, 2);
	/* no rule matches: direct, a built-in default */
	ck_assert_int_eq(go(&alice, "https", "www.example.org", 443),
	    POLICY_DIRECT);
	ROUTE(POLICY_DIRECT, 0);
	ck_assert_str_eq(R.why, "built-in: direct (no rule matched, no proxy "
	    "for https)");
}
END_TEST

START_TEST(needs_names)
{
	/* only a rule naming a user, group or unit makes hpoold look the
	 * caller's names up for each session */
	ck_assert_int_eq(policy_needs_names(ok("[policy]\n"
	    "rule = uid 0, gid 0, dest * -> direct\n")), 0);
	ck_assert_int_eq(policy_needs_names(ok("[hpoold]\nproxy = "
	    "http://127.0.0.1:3128\n")), 0);
	ck_assert_int_eq(policy_needs_names(ok("[policy]\n"
	    "rule = dest 127.0.0.1 -> deny\nrule = user bob -> deny\n")), 1);
	ck_assert_int_eq(policy_needs_names(ok("[policy]\n"
	    "rule = group staff -> deny\n")), 1);
	ck_assert_int_eq(policy_needs_names(ok("[policy]\n"
	    "rule = unit a.service -> deny\n")), 1);
	ck_assert_int_eq(policy_needs_names(NULL), 0);
}
END_TEST

START_TEST(callers)
{
	ok("[policy]\n"
	    "rule = uid 1000, dest a.example -> direct\n"
	    "rule = user bob, dest a.example -> direct\n"
	    "rule = gid 100, dest b.example -> direct\n"
	    "rule = group staff, dest b.example -> direct\n"
	    "rule = unit backup-*.service, dest c.example -> direct\n"
	    "rule = unit web.service, dest c.example -> direct\n"
	    "rule = -> deny\n");
	ck_assert_int_eq(go(&alice, "https", "a.example", 443), POLICY_DIRECT);
	ROUTE(POLICY_DIRECT, 1);
	ck_assert_int_eq(go(&bob, "https", "a.example", 443), POLICY_DIRECT);
	ROUTE(POLICY_DIRECT, 2);
	ck_assert_int_eq(go(&anon, "https", "a.example", 443), POLICY_DENY);
	ck_assert_int_eq(go(&bob, "https", "b.example", 443), POLICY_DIRECT);
	ROUTE(POLICY_DIRECT, 3);
	ck_assert_int_eq(go(&alice, "https", "b.example", 443), POLICY_DIRECT);
	ROUTE(POLICY_DIRECT, 4);
	ck_assert_int_eq(go(&anon, "https", "b.example", 443), POLICY_DENY);
	ck_assert_int_eq(go(&alice, "https", "c.example", 443), POLICY_DIRECT);
	ROUTE(POLICY_DIRECT, 5);
	ck_assert_int_eq(go(&bob, "https", "c.example", 443), POLICY_DIRECT);
	ROUTE(POLICY_DIRECT, 6);
	/* no unit, no names: only the numeric terms can match */
	ck_assert_int_eq(go(&anon, "https", "c.example", 443), POLICY_DENY);
	/* no caller at all: only rules without caller terms */
	ck_assert_int_eq(go(NULL, "https", "a.example", 443), POLICY_DENY);
	ROUTE(POLICY_DENY, 7);
	{
		/* the glob is fnmatch(3), anchored at both ends */
		struct policy_caller c = alice;

		c.unit = "backup.service";
		ck_assert_int_eq(go(&c, "https", "c.example", 443),
		    POLICY_DENY);
		c.unit = "backup-db.service.d";
		ck_assert_int_eq(go(&c, "https", "c.example", 443),
		    POLICY_DENY);
		c.unit = "backup-.service";
		ck_assert_int_eq(go(&c, "https", "c.example", 443),
		    POLICY_DIRECT);
		/* user and group names are compared exactly */
		c = bob;
		c.user = "Bob";
		c.gid = 5;
		c.unit = NULL;
		ck_assert_int_eq(go(&c, "https", "a.example", 443),
		    POLICY_DENY);
		/* uid 0 is a uid like any other */
		c.uid = 0;
		ck_assert_int_eq(go(&c, "https", "a.example", 443),
		    POLICY_DENY);
	}
}
END_TEST

/* -- destinations -- */

START_TEST(dest_forms)
{
	ok("[policy]\n"
	    "rule = dest api.example.com. -> direct\n"
	    "rule = dest .example.net -> direct\n"
	    "rule = dest 192.0.2.7 -> direct\n"
	    "rule = dest 2001:db8::7 -> direct\n"
	    "rule = dest * -> deny\n");
	/* exact name: case and a trailing dot do not matter, names below
	 * it are not it */
	ck_assert_int_eq(go(&alice, "https", "api.example.com", 443),
	    POLICY_DIRECT);
	ck_assert_int_eq(go(&alice, "https", "API.Example.COM.", 443),
	    POLICY_DIRECT);
	ROUTE(POLICY_DIRECT, 1);
	ck_assert_int_eq(go(&alice, "https", "v2.api.example.com", 443),
	    POLICY_DENY);
	ck_assert_int_eq(go(&alice, "https", "example.com", 443),
	    POLICY_DENY);
	/* domain: itself and every name below, on a dot boundary */
	ck_assert_int_eq(go(&alice, "https", "example.net", 443),
	    POLICY_DIRECT);
	ck_assert_int_eq(go(&alice, "https", "a.example.net", 443),
	    POLICY_DIRECT);
	ck_assert_int_eq(go(&alice, "https", "a.b.example.net", 443),
	    POLICY_DIRECT);
	ROUTE(POLICY_DIRECT, 2);
	ck_assert_int_eq(go(&alice, "https", "badexample.net", 443),
	    POLICY_DENY);
	ck_assert_int_eq(go(&alice, "https", "example.net.example.org", 443),
	    POLICY_DENY);
	ck_assert_int_eq(go(&alice, "https", "example.ne", 443), POLICY_DENY);
	/* addresses: as text in any form inet_pton takes */
	ck_assert_int_eq(go(&alice, "https", "192.0.2.7", 443),
	    POLICY_DIRECT);
	ROUTE(POLICY_DIRECT, 3);
	ck_assert_int_eq(go(&alice, "https", "192.0.2.8", 443), POLICY_DENY);
	ck_assert_int_eq(go(&alice, "https", "2001:DB8:0:0::7", 443),
	    POLICY_DIRECT);
	ROUTE(POLICY_DIRECT, 4);
	/* an IPv4-mapped IPv6 literal is the IPv4 host */
	ck_assert_int_eq(go(&alice, "https", "::ffff:192.0.2.7", 443),
	    POLICY_DIRECT);
	ROUTE(POLICY_DIRECT, 3);
	/* an address rule never matches a name, nor a name rule an address */
	ck_assert_int_eq(go(&alice, "https", "192.0.2.7.example.net", 443),
	    POLICY_DIRECT);
	ROUTE(POLICY_DIRECT, 2);
	/* hosts that are neither a name nor an address in standard form
	 * (getaddrinfo would read 127.1 as 127.0.0.1) are refused, and the
	 * host is not echoed */
	ck_assert_int_eq(go(&alice, "https", "127.1", 443), POLICY_DENY);
	ROUTE(POLICY_DENY, 0);
	ck_assert_str_eq(R.why, "built-in: the host is neither a DNS name nor "
	    "an IP address in standard form");
	ck_assert_int_eq(go(&alice, "https", "0x7f000001", 443), POLICY_DENY);
	ck_assert_int_eq(go(&alice, "https", "a b.example", 443),
	    POLICY_DENY);
	ck_assert_int_eq(go(&alice, "https", "[2001:db8::7]", 443),
	    POLICY_DENY);
	ck_assert_int_eq(go(&alice, "https", "", 443), POLICY_DENY);
	ck_assert_int_eq(go(&alice, "ftp", "api.example.com", 443),
	    POLICY_DENY);
	ck_assert_str_eq(R.why, "built-in: the scheme is not http or https");
	ck_assert_int_eq(go(&alice, "HTTPS", "api.example.com", 443),
	    POLICY_DIRECT);
}
END_TEST

START_TEST(ports_and_ranges)
{
	ok("[policy]\n"
	    "rule = dest api.example.com:443 -> direct\n"
	    "rule = dest *:8000-8080 -> direct\n"
	    "rule = dest [fd00::/8]:443 -> direct\n"
	    "rule = dest 10.0.0.0/8:22 -> direct\n"
	    "rule = dest [2001:db8::1]:1-1023 -> direct\n"
	    "rule = -> deny\n");
	ck_assert_int_eq(go(&alice, "https", "api.example.com", 443),
	    POLICY_DIRECT);
	ck_assert_int_eq(go(&alice, "https", "api.example.com", 444),
	    POLICY_DENY);
	ck_assert_int_eq(go(&alice, "http", "a.example", 7999), POLICY_DENY);
	ck_assert_int_eq(go(&alice, "http", "a.example", 8000),
	    POLICY_DIRECT);
	ROUTE(POLICY_DIRECT, 2);
	ck_assert_int_eq(go(&alice, "http", "192.0.2.1", 8080),
	    POLICY_DIRECT);
	ck_assert_int_eq(go(&alice, "http", "a.example", 8081), POLICY_DENY);
	ck_assert_int_eq(go(&alice, "https", "fd12:3456::1", 443),
	    POLICY_DIRECT);
	ROUTE(POLICY_DIRECT, 3);
	ck_assert_int_eq(go(&alice, "https", "fd12:3456::1", 80),
	    POLICY_DENY);
	ck_assert_int_eq(go(&alice, "https", "10.9.8.7", 22), POLICY_DIRECT);
	ROUTE(POLICY_DIRECT, 4);
	ck_assert_int_eq(go(&alice, "https", "10.9.8.7", 23), POLICY_DENY);
	ck_assert_int_eq(go(&alice, "http", "2001:db8::1", 1), POLICY_DIRECT);
	ck_assert_int_eq(go(&alice, "http", "2001:db8::1", 1023),
	    POLICY_DIRECT);
	ck_assert_int_eq(go(&alice, "http", "2001:db8::1", 1024),
	    POLICY_DENY);
	ck_assert_int_eq(go(&alice, "http", "2001:db8::1", 65535),
	    POLICY_DENY);
}
END_TEST

START_TEST(cidr_edges)
{
	static const struct {
		const char	*host;
		int		 rule;	/* 0: the deny at the end */
	} t[] = {
		{ "9.255.255.255", 0 }, { "10.0.0.0", 1 },
		{ "10.255.255.255", 1 }, { "11.0.0.0", 0 },
		{ "192.0.2.0", 2 }, { "192.0.2.127", 2 }, { "192.0.2.128", 0 },
		{ "198.51.100.5", 0 }, { "198.51.100.6", 3 },
		{ "198.51.100.7", 3 }, { "198.51.100.8", 0 },
		{ "203.0.113.9", 4 }, { "203.0.113.8", 0 },
		{ "fcff:ffff::1", 0 }, { "fd00::", 5 },
		{ "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 5 },
		{ "fe00::", 0 },
		{ "2001:db8::", 6 }, { "2001:db8:7fff:ffff::1", 6 },
		{ "2001:db8:8000::", 0 }, { "2001:db8:8000::1", 7 },
		{ "2001:db8:8000::2", 0 },
		/* IPv4 rules never match IPv6 hosts but the mapped form */
		{ "::a00:1", 0 }, { "::ffff:10.0.0.1", 1 },
	};
	size_t i;

	ok("[policy]\n"
	    "rule = dest 10.0.0.0/8 -> direct\n"
	    "rule = dest 192.0.2.0/25 -> direct\n"
	    "rule = dest 198.51.100.6/31 -> direct\n"
	    "rule = dest 203.0.113.9/32 -> direct\n"
	    "rule = dest fd00::/8 -> direct\n"
	    "rule = dest 2001:db8::/33 -> direct\n"
	    "rule = dest 2001:db8:8000::1/128 -> direct\n"
	    "rule = -> deny\n");
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		go(&alice, "https", t[i].host, 443);
		ck_assert_msg(t[i].rule ? (R.action == POLICY_DIRECT &&
		    R.rule == t[i].rule) : R.action == POLICY_DENY,
		    "%s: %s", t[i].host, R.why);
	}
	/* /0 is everything of its family, and only of it */
	ok("[policy]\nrule = dest 0.0.0.0/0 -> deny\n"
	    "rule = dest [::/0]:80 -> direct\n");
	ck_assert_int_eq(go(&alice, "http", "255.255.255.255", 443),
	    POLICY_DENY);
	ck_assert_int_eq(go(&alice, "http", "0.0.0.0", 80), POLICY_DENY);
	ck_assert_int_eq(go(&alice, "http", "2001:db8::1", 80),
	    POLICY_DIRECT);
	ROUTE(POLICY_DIRECT, 2);
	ck_assert_int_eq(go(&alice, "http", "2001:db8::1", 81),
	    POLICY_DIRECT);
	ROUTE(POLICY_DIRECT, 0);
	/* mapped CIDRs are IPv4 CIDRs */
	ok("[policy]\nrule = dest ::ffff:10.0.0.0/104 -> deny\n");
	ck_assert_int_eq(go(&alice, "http", "10.1.2.3", 80), POLICY_DENY);
	ck_assert_int_eq(go(&alice, "http", "11.1.2.3", 80), POLICY_DIRECT);
}
END_TEST

/* -- built-in denies -- */

START_TEST(builtin_denies)
{
	static const struct {
		const char	*host;
		const char	*why;
	} t[] = {
		{ "169.254.169.254", "built-in: cloud metadata "
		  "(169.254.169.254)" },
		{ "169.254.170.2", "built-in: cloud metadata (169.254.170.2)" },
		{ "fd00:ec2::254", "built-in: cloud metadata (fd00:ec2::254)" },
		{ "100.100.100.200", "built-in: cloud metadata "
		  "(100.100.100.200)" },
		{ "metadata.google.internal", "built-in: cloud metadata "
		  "(metadata.google.internal)" },
		{ "Metadata.Google.Internal.", "built-in: cloud metadata "
		  "(metadata.google.internal)" },
		{ "::ffff:169.254.169.254", "built-in: cloud metadata "
		  "(169.254.169.254)" },
		{ "169.254.0.1", "built-in: link-local (169.254.0.0/16)" },
		{ "169.254.255.255", "built-in: link-local (169.254.0.0/16)" },
		{ "fe80::1", "built-in: link-local (fe80::/10)" },
		{ "febf:ffff::1", "built-in: link-local (fe80::/10)" },
	};
	size_t i;

	ok("");
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ck_assert_int_eq(go(&alice, "http", t[i].host, 80),
		    POLICY_DENY);
		ROUTE(POLICY_DENY, 0);
		ck_assert_str_eq(R.why, t[i].why);
	}
	/* next to them, not them */
	ck_assert_int_eq(go(&alice, "http", "169.253.255.255", 80),
	    POLICY_DIRECT);
	ck_assert_int_eq(go(&alice, "http", "169.255.0.0", 80),
	    POLICY_DIRECT);
	ck_assert_int_eq(go(&alice, "http", "fec0::1", 80), POLICY_DIRECT);
	ck_assert_int_eq(go(&alice, "http", "100.100.100.201", 80),
	    POLICY_DIRECT);
	ck_assert_int_eq(go(&alice, "http", "x.metadata.google.internal", 80),
	    POLICY_DIRECT);
	/* a name going direct: its addresses are checked */
	ck_assert_int_eq(go(&alice, "http", "db.example", 80), POLICY_DIRECT);
	ck_assert_int_eq(R.needs_addr_check, 1);
	ck_assert_int_eq(addr_ok(&alice, "db.example", 80, "169.254.169.254"),
	    0);
	ck_assert_str_eq(why, "built-in: cloud metadata (169.254.169.254), "
	    "for 169.254.169.254");
	ck_assert_int_eq(addr_ok(&alice, "db.example", 80,
	    "::ffff:169.254.1.1"), 0);
	ck_assert_str_eq(why, "built-in: link-local (169.254.0.0/16), for "
	    "169.254.1.1");
	ck_assert_int_eq(addr_ok(&alice, "db.example", 80, "192.0.2.1"), 1);
	ck_assert_int_eq(addr_ok(&alice, "db.example", 80, "2001:db8::1"), 1);
}
END_TEST

START_TEST(builtin_overrides)
{
	/* wide rules only happen to contain the ranges: they do not open
	 * them, whatever their action */
	ok(PROXY_CORP "[policy]\nrule = dest 0.0.0.0/0 -> direct\n"
	    "rule = dest .internal -> direct\n"
	    "rule = dest 169.254.0.0/15 -> direct\n"
	    "rule = dest * -> proxy corp\n");
	ck_assert_int_eq(go(&alice, "http", "169.254.169.254", 80),
	    POLICY_DENY);
	ROUTE(POLICY_DENY, 0);
	ck_assert_int_eq(go(&alice, "http", "169.254.1.1", 80), POLICY_DENY);
	ck_assert_int_eq(go(&alice, "http", "fe80::1", 80), POLICY_DENY);
	ck_assert_int_eq(go(&alice, "http", "metadata.google.internal", 80),
	    POLICY_DENY);
	ck_assert_int_eq(go(&alice, "http", "db.internal", 80),
	    POLICY_DIRECT);
	ROUTE(POLICY_DIRECT, 2);
	/* a rule naming the link-local range opens it, not the metadata
	 * address inside it */
	ok("[policy]\nrule = dest 169.254.0.0/16 -> direct\n"
	    "rule = unit imds-*.service, dest 169.254.169.254:80 -> direct\n"
	    "rule = dest metadata.google.internal -> direct\n");
	ck_assert_int_eq(go(&alice, "http", "169.254.1.1", 80),
	    POLICY_DIRECT);
	ROUTE(POLICY_DIRECT, 1);
	ck_assert_int_eq(go(&alice, "http", "169.254.169.254", 80),
	    POLICY_DENY);
	ROUTE(POLICY_DENY, 0);
	{
		struct policy_caller c = alice;

		c.unit = "imds-agent.service";
		ck_assert_int_eq(go(&c, "http", "169.254.169.254", 80),
		    POLICY_DIRECT);
		ROUTE(POLICY_DIRECT, 2);
		ck_assert_int_eq(go(&c, "http", "169.254.169.254", 8080),
		    POLICY_DENY);
		/* the name is opened; its address must be named too */
		ck_assert_int_eq(go(&alice, "http",
		    "metadata.google.internal", 80), POLICY_DIRECT);
		ROUTE(POLICY_DIRECT, 3);
		ck_assert_int_eq(R.needs_addr_check, 1);
		ck_assert_int_eq(addr_ok(&alice, "metadata.google.internal",
		    80, "169.254.169.254"), 0);
		ck_assert_int_eq(addr_ok(&c, "metadata.google.internal", 80,
		    "169.254.169.254"), 1);
	}
	/* a deny rule counts even where it does not name the range, so a
	 * later rule that names it cannot undo it */
	ok("[policy]\nrule = user alice -> deny\n"
	    "rule = dest 169.254.169.254 -> direct\n");
	ck_assert_int_eq(go(&alice, "http", "169.254.169.254", 80),
	    POLICY_DENY);
	ROUTE(POLICY_DENY, 1);
	ck_assert_int_eq(go(&bob, "http", "169.254.169.254", 80),
	    POLICY_DIRECT);
	ROUTE(POLICY_DIRECT, 2);
	/* allow_link_local lifts link-local, not the metadata endpoints */
	ok("[hpoold]\nallow_link_local = yes\n");
	ck_assert_int_eq(go(&alice, "http", "169.254.1.1", 80),
	    POLICY_DIRECT);
	ck_assert_int_eq(go(&alice, "http", "fe80::1", 80), POLICY_DIRECT);
	ck_assert_int_eq(go(&alice, "http", "169.254.169.254", 80),
	    POLICY_DENY);
	ck_assert_int_eq(go(&alice, "http", "169.254.170.2", 80),
	    POLICY_DENY);
	ck_assert_int_eq(addr_ok(&alice, "printer.example", 80,
	    "169.254.7.7"), 1);
	/* through a proxy: an IP literal is still checked, a name only by
	 * name (the proxy resolves it) */
	ok(PROXY_CORP "[policy]\nrule = dest * -> proxy corp\n");
	ck_assert_int_eq(go(&alice, "http", "169.254.169.254", 80),
	    POLICY_DENY);
	ck_assert_int_eq(go(&alice, "http", "metadata.google.internal", 80),
	    POLICY_DENY);
	ck_assert_int_eq(go(&alice, "http", "www.example.com", 80),
	    POLICY_PROXY);
	ck_assert_int_eq(R.needs_addr_check, 0);
}
END_TEST

/* -- the simple form and no_proxy -- */

START_TEST(simple_form)
{
	ok("[hpoold]\nproxy = http://all.example:3128\n"
	    "https_proxy = https://tls.example\n"
	    "no_proxy = .internal, 10.0.0.0/8\n"
	    "no_proxy = localhost\n");
	ck_assert_int_eq(go(&alice, "https", "www.example.com", 443),
	    POLICY_PROXY);
	ROUTE(POLICY_PROXY, -1);
	ck_assert_str_eq(R.proxy->name, "https_proxy");
	ck_assert_str_eq(R.proxy->scheme, "https");
	ck_assert_uint_eq(R.proxy->port, 443);
	ck_assert_str_eq(R.why, "https_proxy (https://tls.example:443)");
	ck_assert_int_eq(go(&alice, "http", "www.example.com", 80),
	    POLICY_PROXY);
	ck_assert_str_eq(R.proxy->name, "proxy");
	ck_assert_int_eq(R.proxy->absolute_form, 0);
	ck_assert_int_eq(go(&alice, "http", "db.internal", 80),
	    POLICY_DIRECT);
	ROUTE(POLICY_DIRECT, -1);
	ck_assert_str_eq(R.why, "no_proxy entry '.internal'");
	ck_assert_int_eq(R.needs_addr_check, 1);
	ck_assert_int_eq(go(&alice, "http", "10.1.2.3", 80), POLICY_DIRECT);
	ck_assert_int_eq(R.needs_addr_check, 0);
	/* no_proxy lines add up */
	ck_assert_int_eq(go(&alice, "http", "localhost", 80), POLICY_DIRECT);
	/* loopback is not bypassed unless listed */
	ck_assert_int_eq(go(&alice, "http", "127.0.0.1", 80), POLICY_PROXY);
	ck_assert_int_eq(go(&alice, "http", "::1", 80), POLICY_PROXY);
	/* a name in no_proxy's ranges is not resolved for it */
	ck_assert_int_eq(go(&alice, "http", "ten.example", 80), POLICY_PROXY);
	/* built-in denies come before the simple form */
	ck_assert_int_eq(go(&alice, "http", "169.254.169.254", 80),
	    POLICY_DENY);
	ROUTE(POLICY_DENY, 0);

	/* rules come first; the simple form only when none matches */
	ok(PROXY_CORP "[hpoold]\nproxy = http://all.example:3128\n"
	    "[policy]\nrule = dest .example.com -> proxy corp\n"
	    "rule = dest .example.org -> direct\n");
	ck_assert_int_eq(go(&alice, "https", "a.example.com", 443),
	    POLICY_PROXY);
	ROUTE(POLICY_PROXY, 1);
	ck_assert_str_eq(R.proxy->name, "corp");
	ck_assert_int_eq(go(&alice, "https", "a.example.org", 443),
	    POLICY_DIRECT);
	ROUTE(POLICY_DIRECT, 2);
	ck_assert_int_eq(go(&alice, "https", "a.example.net", 443),
	    POLICY_PROXY);
	ROUTE(POLICY_PROXY, -1);

	/* an empty http_proxy is no proxy: the general one applies, as an
	 * empty variable is unset to curl and Go; scheme-less is http */
	ok("[hpoold]\nproxy = all.example:3128\nhttp_proxy =\n");
	ck_assert_int_eq(go(&alice, "http", "www.example.com", 80),
	    POLICY_PROXY);
	ck_assert_str_eq(R.proxy->name, "proxy");
	ck_assert_str_eq(R.proxy->scheme, "http");
	/* only an https proxy: plain http goes direct */
	ok("[hpoold]\nhttps_proxy = socks5h://[2001:db8::3]\n"
	    "no_proxy = *\n");
	ck_assert_int_eq(go(&alice, "https", "www.example.com", 443),
	    POLICY_DIRECT);
	ck_assert_str_eq(R.why, "no_proxy '*'");
	ok("[hpoold]\nhttps_proxy = socks5h://[2001:db8::3]\n");
	ck_assert_int_eq(go(&alice, "https", "www.example.com", 443),
	    POLICY_PROXY);
	ck_assert_str_eq(R.proxy->host, "2001:db8::3");
	ck_assert_uint_eq(R.proxy->port, 1080);
	ck_assert_str_eq(R.why, "https_proxy (socks5h://[2001:db8::3]:1080)");
	ck_assert_int_eq(go(&alice, "http", "www.example.com", 80),
	    POLICY_DIRECT);
	ROUTE(POLICY_DIRECT, 0);
	ck_assert_str_eq(R.why, "built-in: direct (no rule matched, no proxy "
	    "for http)");
}
END_TEST

/*
 * The agreement table of hpoold.conf(5): what curl (lib/noproxy.c,
 * Curl_check_noproxy) and Go (golang.org/x/net/http/httpproxy, used by
 * net/http's ProxyFromEnvironment) do with one no_proxy entry and one
 * host, and what hpool does. B: bypass the proxy, P: use it, R: hpool
 * refuses the entry. Where curl and Go agree, hpool must agree (or
 * refuse a form both silently never match); where they differ, hpool
 * must warn about the entry, unless the difference lies in the host
 * (hostside), where no entry is to blame.
 */
static const struct np_row {
	const char	*entry;
	const char	*host;
	uint16_t	 port;
	char		 curl, go, hpool;
	int		 warns;		/* hpool warns about the entry */
	int		 hostside;	/* curl and Go differ on the host */
} np_rows[] = {
	{ "example.com", "example.com", 443, 'B', 'B', 'B', 0, 0 },
	{ "example.com", "www.example.com", 443, 'B', 'B', 'B', 0, 0 },
	{ "example.com", "badexample.com", 443, 'P', 'P', 'P', 0, 0 },
	{ ".example.com", "www.example.com", 443, 'B', 'B', 'B', 1, 0 },
	{ ".example.com", "example.com", 443, 'B', 'P', 'B', 1, 0 },
	{ ".example.com", "badexample.com", 443, 'P', 'P', 'P', 1, 0 },
	{ "*.example.com", "www.example.com", 443, 'P', 'B', 'B', 1, 0 },
	{ "*.example.com", "example.com", 443, 'P', 'P', 'P', 1, 0 },
	{ "EXAMPLE.com", "www.Example.COM", 443, 'B', 'B', 'B', 0, 0 },
	{ "example.com.", "example.com", 443, 'B', 'P', 'B', 1, 0 },
	{ "example.com", "example.com.", 443, 'B', 'P', 'B', 0, 1 },
	{ "example.com:8080", "example.com", 8080, 'P', 'B', 'B', 1, 0 },
	{ "example.com:8080", "example.com", 443, 'P', 'P', 'P', 1, 0 },
	{ "192.0.2.1", "192.0.2.1", 80, 'B', 'B', 'B', 0, 0 },
	{ "192.0.2.1", "192.0.2.2", 80, 'P', 'P', 'P', 0, 0 },
	{ "192.0.2.1", "www.example.com", 80, 'P', 'P', 'P', 0, 0 },
	{ "192.0.2.1:8080", "192.0.2.1", 8080, 'P', 'B', 'B', 1, 0 },
	{ "192.0.2.0/24", "192.0.2.77", 80, 'B', 'B', 'B', 0, 0 },
	{ "192.0.2.0/24", "192.0.3.1", 80, 'P', 'P', 'P', 0, 0 },
	{ "192.0.2.1/24", "192.0.2.200", 80, 'B', 'B', 'B', 0, 0 },
	{ "0.0.0.0/0", "192.0.2.1", 80, 'P', 'B', 'B', 1, 0 },
	{ "2001:db8::/32", "2001:db8:1::1", 80, 'B', 'B', 'B', 0, 0 },
	{ "2001:db8::1", "2001:db8:0:0:0:0:0:1", 80, 'B', 'B', 'B', 0, 0 },
	{ "[2001:db8::1]:8080", "2001:db8::1", 8080, 'P', 'B', 'B', 1, 0 },
	{ "[2001:db8::1]", "2001:db8::1", 80, 'P', 'P', 'R', 0, 0 },
	{ "::ffff:192.0.2.1", "192.0.2.1", 80, 'P', 'B', 'B', 1, 0 },
	{ "192.0.2.1", "::ffff:192.0.2.1", 80, 'P', 'B', 'B', 0, 1 },
	{ "*", "www.example.com", 443, 'B', 'B', 'B', 0, 0 },
	{ "*,example.org", "www.example.com", 443, 'P', 'B', 'R', 0, 0 },
	{ "example.com", "localhost", 80, 'P', 'B', 'P', 0, 1 },
	{ "example.com", "127.0.0.1", 80, 'P', 'B', 'P', 0, 1 },
	{ "example.com", "::1", 80, 'P', 'B', 'P', 0, 1 },
	{ "a.example b.example", "a.example", 443, 'B', 'P', 'R', 0, 0 },
	{ "10.0.0.0/8:80", "10.1.1.1", 80, 'P', 'P', 'R', 0, 0 },
	{ "0.2.1", "192.0.2.1", 80, 'P', 'B', 'R', 0, 0 },
};

START_TEST(no_proxy_table)
{
	const struct np_row *t = &np_rows[_i];
	char ini[512];
	char got;

	snprintf(ini, sizeof(ini), "[hpoold]\nproxy = http://proxy.example:"
	    "3128\nno_proxy = %s\n", t->entry);
	load(ini);
	if (L.rc == -1)
		got = 'R';
	else {
		go(&alice, "https", t->host, t->port);
		ck_assert_int_eq(R.rule, -1);
		got = R.action == POLICY_DIRECT ? 'B' :
		    R.action == POLICY_PROXY ? 'P' : '?';
		ck_assert_msg((L.warn[0] != '\0') == t->warns,
		    "'%s': warning '%s'", t->entry, L.warn);
	}
	ck_assert_msg(got == t->hpool, "'%s' for %s:%u: %c, wanted %c (%s)",
	    t->entry, t->host, t->port, got, t->hpool, L.err);
	/* the table itself keeps the promise of hpoold.conf(5) */
	if (t->curl == t->go)
		ck_assert_msg(got == t->curl || got == 'R', "'%s' for %s: "
		    "curl and Go agree on %c", t->entry, t->host, t->curl);
	else
		ck_assert_msg(got == 'R' || t->warns || t->hostside, "'%s': "
		    "curl and Go differ, and no warning", t->entry);
}
END_TEST

START_TEST(no_proxy_warnings)
{
	ok("[hpoold]\nno_proxy = .a.example, *.b.example, c.example., "
	    "d.example:8080, 0.0.0.0/0, ::ffff:192.0.2.1\n");
	ck_assert_str_eq(L.warn, "no_proxy: "
	    "'.a.example' matches a.example itself too, as curl does (Go: only "
	    "names below it); "
	    "'*.b.example' matches names below b.example only, as Go does "
	    "(curl never matches it); "
	    "'c.example.' matches c.example without the dot, as curl does (Go "
	    "never matches it); "
	    "'d.example:8080' matches port 8080 only, as Go does (curl never "
	    "matches an entry with a port); "
	    "'0.0.0.0/0' matches every IPv4 address, as Go does (curl: only "
	    "0.0.0.0 itself); "
	    "'::ffff:192.0.2.1' matches the IPv4 192.0.2.1 too, as Go does "
	    "(curl: only this IPv6 form)");
	ok("[hpoold]\nno_proxy = a.example, 10.0.0.0/8, ,2001:db8::/32,\n");
	ck_assert_str_eq(L.warn, "");
}
END_TEST

/* -- address checks of names going direct -- */

START_TEST(address_checks)
{
	struct policy_caller c = bob;

	/* an address rule before the name's rule refuses its addresses */
	ok("[policy]\nrule = dest 10.0.0.0/8 -> deny\n"
	    "rule = dest .example.com -> direct\n");
	ck_assert_int_eq(go(&alice, "https", "api.example.com", 443),
	    POLICY_DIRECT);
	ROUTE(POLICY_DIRECT, 2);
	ck_assert_int_eq(R.needs_addr_check, 1);
	ck_assert_int_eq(addr_ok(&alice, "api.example.com", 443, "10.1.2.3"),
	    0);
	ck_assert_str_eq(why, "rule 1 (dest 10.0.0.0/8 -> deny), for "
	    "10.1.2.3");
	ck_assert_int_eq(addr_ok(&alice, "api.example.com", 443,
	    "::ffff:10.1.2.3"), 0);
	ck_assert_int_eq(addr_ok(&alice, "api.example.com", 443,
	    "192.0.2.10"), 1);
	ck_assert_int_eq(addr_ok(&alice, "api.example.com", 443,
	    "2001:db8::10"), 1);
	/* an IP literal was decided whole: no check needed */
	ck_assert_int_eq(go(&alice, "https", "192.0.2.10", 443),
	    POLICY_DIRECT);
	ck_assert_int_eq(R.needs_addr_check, 0);
	/* after the name's rule, an address rule does not count */
	ok("[policy]\nrule = dest .example.com -> direct\n"
	    "rule = dest 10.0.0.0/8 -> deny\n");
	ck_assert_int_eq(addr_ok(&alice, "api.example.com", 443, "10.1.2.3"),
	    1);
	ck_assert_int_eq(addr_ok(&alice, "www.example.org", 443, "10.1.2.3"),
	    0);
	/* caller terms and ports hold in address rules too */
	ok("[policy]\nrule = uid 1001, dest 10.0.0.0/8:22 -> deny\n");
	ck_assert_int_eq(addr_ok(&bob, "git.example", 22, "10.1.2.3"), 0);
	ck_assert_int_eq(addr_ok(&bob, "git.example", 443, "10.1.2.3"), 1);
	ck_assert_int_eq(addr_ok(&alice, "git.example", 22, "10.1.2.3"), 1);
	c.uid = 1001;
	ck_assert_int_eq(addr_ok(&c, "git.example", 22, "10.255.0.1"), 0);
	/* an address rule that wants a proxy refuses a resolved name:
	 * it is not re-routed; an IP literal is routed by it */
	ok(PROXY_CORP "[policy]\nrule = dest 10.0.0.0/8 -> proxy corp\n"
	    "rule = dest * -> direct\n");
	ck_assert_int_eq(go(&alice, "https", "intra.example", 443),
	    POLICY_DIRECT);
	ck_assert_int_eq(addr_ok(&alice, "intra.example", 443, "10.1.2.3"),
	    0);
	ck_assert_str_eq(why, "rule 1 (dest 10.0.0.0/8 -> proxy corp) wants a "
	    "proxy for 10.1.2.3, and a name resolved here is not re-routed");
	ck_assert_int_eq(go(&alice, "https", "10.1.2.3", 443), POLICY_PROXY);
	ROUTE(POLICY_PROXY, 1);
	/* a name through a proxy is not resolved here: no check */
	ok(PROXY_CORP "[policy]\nrule = dest 10.0.0.0/8 -> deny\n"
	    "rule = dest * -> proxy corp\n");
	ck_assert_int_eq(go(&alice, "https", "intra.example", 443),
	    POLICY_PROXY);
	ck_assert_int_eq(R.needs_addr_check, 0);
	ck_assert_int_eq(go(&alice, "https", "10.1.2.3", 443), POLICY_DENY);
	/* a socket that is not IP is refused */
	{
		struct sockaddr sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_family = AF_UNIX;
		ck_assert_int_eq(policy_addr_ok(L.p, &alice, "https",
		    "intra.example", 443, &sa, why, sizeof(why)), 0);
	}
}
END_TEST

/* The example configs of hpoold.conf(5), POLICY, as printed there. */
START_TEST(manual_examples)
{
	struct policy_caller x = bob, ci = alice;

	ok("[proxy corp]\n"
	    "url = http://proxy.corp.example:3128\n"
	    "credentials_file = /etc/hpool/corp.credentials\n"
	    "\n"
	    "[policy]\n"
	    "rule = dest .corp.example -> direct\n"
	    "rule = dest 10.0.0.0/8 -> direct\n"
	    "rule = dest 172.16.0.0/12 -> direct\n"
	    "rule = dest 192.168.0.0/16 -> direct\n"
	    "rule = dest fc00::/7 -> direct\n"
	    "rule = -> proxy corp\n");
	ck_assert_int_eq(go(&alice, "https", "wiki.corp.example", 443),
	    POLICY_DIRECT);
	ck_assert_int_eq(go(&alice, "https", "corp.example", 443),
	    POLICY_DIRECT);
	ck_assert_int_eq(go(&alice, "https", "172.31.255.255", 443),
	    POLICY_DIRECT);
	ck_assert_int_eq(go(&alice, "https", "fd12::1", 443), POLICY_DIRECT);
	ck_assert_int_eq(go(&alice, "https", "www.example.com", 443),
	    POLICY_PROXY);
	ck_assert_str_eq(R.proxy->credentials_file,
	    "/etc/hpool/corp.credentials");
	ck_assert_int_eq(go(&alice, "https", "172.32.0.1", 443),
	    POLICY_PROXY);
	ck_assert_int_eq(go(&alice, "http", "169.254.169.254", 80),
	    POLICY_DENY);
	ok("[hpoold]\n"
	    "proxy = http://proxy.corp.example:3128\n"
	    "no_proxy = corp.example, 10.0.0.0/8, 172.16.0.0/12, "
	    "192.168.0.0/16\n");
	ck_assert_str_eq(L.warn, "");
	ck_assert_int_eq(go(&alice, "https", "wiki.corp.example", 443),
	    POLICY_DIRECT);
	ck_assert_int_eq(go(&alice, "https", "192.168.1.1", 443),
	    POLICY_DIRECT);
	ck_assert_int_eq(go(&alice, "https", "www.example.com", 443),
	    POLICY_PROXY);

	ok("[policy]\n"
	    "rule = unit x.service, dest api.example.com:443, scheme https "
	    "-> direct\n"
	    "rule = unit x.service -> deny\n");
	x.unit = "x.service";
	ck_assert_int_eq(go(&x, "https", "api.example.com", 443),
	    POLICY_DIRECT);
	ck_assert_int_eq(go(&x, "http", "api.example.com", 443),
	    POLICY_DENY);
	ck_assert_int_eq(go(&x, "https", "api.example.com", 8443),
	    POLICY_DENY);
	ck_assert_int_eq(go(&x, "https", "www.example.com", 443),
	    POLICY_DENY);
	ck_assert_int_eq(go(&bob, "https", "www.example.com", 443),
	    POLICY_DIRECT);

	ok("[policy]\n"
	    "rule = unit cloud-init.service, dest metadata.google.internal:80 "
	    "-> direct\n"
	    "rule = unit cloud-init.service, dest 169.254.169.254:80 "
	    "-> direct\n");
	ci.unit = "cloud-init.service";
	ck_assert_int_eq(go(&ci, "http", "metadata.google.internal", 80),
	    POLICY_DIRECT);
	ck_assert_int_eq(addr_ok(&ci, "metadata.google.internal", 80,
	    "169.254.169.254"), 1);
	ck_assert_int_eq(go(&bob, "http", "metadata.google.internal", 80),
	    POLICY_DENY);

	ok("[policy]\n"
	    "rule = dest 10.0.0.0/8 -> deny\n"
	    "rule = dest 172.16.0.0/12 -> deny\n"
	    "rule = dest 192.168.0.0/16 -> deny\n"
	    "rule = -> direct\n");
	ck_assert_int_eq(go(&alice, "https", "rebind.example", 443),
	    POLICY_DIRECT);
	ck_assert_int_eq(addr_ok(&alice, "rebind.example", 443,
	    "192.168.0.1"), 0);
	ck_assert_int_eq(addr_ok(&alice, "rebind.example", 443,
	    "198.51.100.1"), 1);
	ck_assert_int_eq(go(&alice, "https", "10.0.0.1", 443), POLICY_DENY);
}
END_TEST

/* -- resolve, caller proxies, texts -- */

START_TEST(resolve_entries)
{
	ok("[hpoold]\nresolve = api.example.com:443:192.0.2.10\n"
	    "resolve = api.example.com:80:[2001:0db8:0:0::10]\n"
	    "resolve = Other.Example.:8443:::ffff:192.0.2.11\n");
	ck_assert_str_eq(policy_resolve(L.p, "api.example.com", 443),
	    "192.0.2.10");
	ck_assert_str_eq(policy_resolve(L.p, "API.example.com.", 443),
	    "192.0.2.10");
	ck_assert_str_eq(policy_resolve(L.p, "api.example.com", 80),
	    "2001:db8::10");
	ck_assert_str_eq(policy_resolve(L.p, "other.example", 8443),
	    "::ffff:192.0.2.11");
	ck_assert_ptr_null(policy_resolve(L.p, "api.example.com", 8080));
	ck_assert_ptr_null(policy_resolve(L.p, "www.example.com", 443));
	ck_assert_ptr_null(policy_resolve(L.p, "192.0.2.10", 443));
	ck_assert_int_eq(policy_caller_proxies_allowed(L.p), 1);
	ok("[hpoold]\ncaller_proxies = deny\n");
	ck_assert_int_eq(policy_caller_proxies_allowed(L.p), 0);
	ck_assert_int_eq(L.foreign, 0);
}
END_TEST

START_TEST(proxy_fields)
{
	ok("[proxy a]\nurl = HTTP://us%40er:p%3Ass%25@proxy.example:3128/\n"
	    "forward = absolute\n"
	    "[proxy b]\nurl = https://[2001:db8::8]\n"
	    "credentials_file = /etc/hpool/b.creds\n"
	    "[proxy c]\nurl = socks5h://192.0.2.8:9050\n"
	    "[policy]\nrule = dest a.example -> proxy a\n"
	    "rule = dest b.example -> proxy b\n"
	    "rule = dest c.example -> proxy c\n");
	go(&alice, "http", "a.example", 80);
	ck_assert_str_eq(R.proxy->scheme, "http");
	ck_assert_str_eq(R.proxy->host, "proxy.example");
	ck_assert_uint_eq(R.proxy->port, 3128);
	ck_assert_str_eq(R.proxy->user, "us@er");
	ck_assert_str_eq(R.proxy->pass, "p:ss%");
	ck_assert_int_eq(R.proxy->absolute_form, 1);
	ck_assert_str_eq(R.proxy->credentials_file, "");
	go(&alice, "http", "b.example", 80);
	ck_assert_str_eq(R.proxy->scheme, "https");
	ck_assert_str_eq(R.proxy->host, "2001:db8::8");
	ck_assert_uint_eq(R.proxy->port, 443);
	ck_assert_str_eq(R.proxy->credentials_file, "/etc/hpool/b.creds");
	ck_assert_int_eq(R.proxy->absolute_form, 0);
	go(&alice, "http", "c.example", 80);
	ck_assert_str_eq(R.proxy->scheme, "socks5h");
	ck_assert_str_eq(R.proxy->host, "192.0.2.8");
	ck_assert_uint_eq(R.proxy->port, 9050);
	ck_assert_str_eq(R.proxy->user, "");
}
END_TEST

START_TEST(credentials_never_shown)
{
	char text[4096], small[16];
	size_t need;

	ok("[hpoold]\nproxy = http://alice:hunter2@all.example:3128\n"
	    "[proxy corp]\nurl = https://svc-user:s3cr%2Ft@proxy.example:8443\n"
	    "[policy]\nrule = dest .example.com -> proxy corp\n"
	    "rule = dest 10.0.0.0/8 -> deny\n");
	go(&alice, "https", "a.example.com", 443);
	ck_assert_str_eq(R.proxy->pass, "s3cr/t");
	ck_assert_ptr_null(strstr(R.why, "svc-user"));
	ck_assert_ptr_null(strstr(R.why, "s3cr"));
	go(&alice, "https", "a.example.org", 443);
	ck_assert_str_eq(R.why, "proxy (http://***@all.example:3128)");
	addr_ok(&alice, "a.example.org", 443, "10.0.0.1");
	ck_assert_ptr_null(strstr(why, "hunter2"));
	need = policy_text(L.p, text, sizeof(text));
	ck_assert_uint_eq(need, strlen(text));
	ck_assert_ptr_null(strstr(text, "hunter2"));
	ck_assert_ptr_null(strstr(text, "alice"));
	ck_assert_ptr_null(strstr(text, "svc-user"));
	ck_assert_ptr_null(strstr(text, "s3cr"));
	ck_assert_ptr_nonnull(strstr(text, "proxy = "
	    "http://***@all.example:3128\n"));
	ck_assert_ptr_nonnull(strstr(text, "[proxy corp] url = "
	    "https://***@proxy.example:8443, forward = connect\n"));
	ck_assert_ptr_nonnull(strstr(text, "built-in cloud metadata = deny "
	    "169.254.169.254\n"));
	/* a short buffer: cut, terminated, and the length it needed */
	ck_assert_uint_eq(policy_text(L.p, small, sizeof(small)), need);
	ck_assert_uint_eq(strlen(small), sizeof(small) - 1);
	ck_assert_uint_eq(policy_text(L.p, NULL, 0), need);
}
END_TEST

START_TEST(set_credentials)
{
	char text[4096], user[129], pass[129];

	ok("[hpoold]\nhttps_proxy = http://all.example:3128\n"
	    "[proxy corp]\nurl = http://proxy.example:3128\n"
	    "credentials_file = /etc/hpool/corp.creds\n"
	    "[proxy b]\nurl = socks5h://192.0.2.8:9050\n"
	    "[policy]\nrule = dest .example.com -> proxy corp\n"
	    "rule = dest .example.net -> proxy b\n");
	/* the index is policy_proxy_at's: sections, then the simple form */
	ck_assert_int_eq(policy_proxy_set_credentials(L.p, 0, "svc-user",
	    "s3cr:t"), 0);
	go(&alice, "https", "a.example.com", 443);
	ck_assert_str_eq(R.proxy->name, "corp");
	ck_assert_str_eq(R.proxy->user, "svc-user");
	ck_assert_str_eq(R.proxy->pass, "s3cr:t");
	ck_assert_ptr_null(strstr(R.why, "svc-user"));
	ck_assert_ptr_null(strstr(R.why, "s3cr"));
	/* replaced whole, an empty password taken */
	ck_assert_int_eq(policy_proxy_set_credentials(L.p, 0, "u", ""), 0);
	ck_assert_str_eq(policy_proxy_at(L.p, 0)->user, "u");
	ck_assert_str_eq(policy_proxy_at(L.p, 0)->pass, "");
	ck_assert_int_eq(policy_proxy_set_credentials(L.p, 2, "all",
	    "pw"), 0);
	ck_assert_str_eq(policy_proxy_at(L.p, 2)->name, "https_proxy");
	ck_assert_str_eq(policy_proxy_at(L.p, 2)->user, "all");
	ck_assert_str_eq(policy_proxy_at(L.p, 1)->user, "");
	/* refused, the proxy unchanged: past the last, empty or long */
	ck_assert_int_eq(policy_proxy_set_credentials(L.p, 3, "x", "y"), -1);
	ck_assert_int_eq(policy_proxy_set_credentials(L.p, 0, "", "y"), -1);
	memset(user, 'u', 128);
	user[128] = '\0';
	memset(pass, 'p', 128);
	pass[128] = '\0';
	ck_assert_int_eq(policy_proxy_set_credentials(L.p, 1, user, "y"), -1);
	ck_assert_int_eq(policy_proxy_set_credentials(L.p, 1, "x", pass), -1);
	ck_assert_str_eq(policy_proxy_at(L.p, 1)->user, "");
	ck_assert_str_eq(policy_proxy_at(L.p, 1)->pass, "");
	user[127] = '\0';
	pass[127] = '\0';
	ck_assert_int_eq(policy_proxy_set_credentials(L.p, 1, user, pass), 0);
	ck_assert_uint_eq(strlen(policy_proxy_at(L.p, 1)->user), 127);
	ck_assert_uint_eq(strlen(policy_proxy_at(L.p, 1)->pass), 127);
	/* shown as any credentials are: never */
	policy_text(L.p, text, sizeof(text));
	ck_assert_ptr_null(strstr(text, "uuu"));
	ck_assert_ptr_null(strstr(text, "ppp"));
	ck_assert_ptr_nonnull(strstr(text, "[proxy corp] url = "
	    "http://***@proxy.example:3128, forward = connect, "
	    "credentials_file = /etc/hpool/corp.creds\n"));
	ck_assert_ptr_nonnull(strstr(text, "https_proxy = "
	    "http://***@all.example:3128\n"));
}
END_TEST

static Suite *
policy_suite(void)
{
	Suite *s = suite_create("policy");
	TCase *tc = tcase_create("policy");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, every_term);
	tcase_add_loop_test(tc, every_refusal, 0,
	    (int)(sizeof(bad) / sizeof(bad[0])));
	tcase_add_test(tc, first_match_wins);
	tcase_add_test(tc, needs_names);
	tcase_add_test(tc, callers);
	tcase_add_test(tc, dest_forms);
	tcase_add_test(tc, ports_and_ranges);
	tcase_add_test(tc, cidr_edges);
	tcase_add_test(tc, builtin_denies);
	tcase_add_test(tc, builtin_overrides);
	tcase_add_test(tc, simple_form);
	tcase_add_loop_test(tc, no_proxy_table, 0,
	    (int)(sizeof(np_rows) / sizeof(np_rows[0])));
	tcase_add_test(tc, no_proxy_warnings);
	tcase_add_test(tc, address_checks);
	tcase_add_test(tc, manual_examples);
	tcase_add_test(tc, resolve_entries);
	tcase_add_test(tc, proxy_fields);
	tcase_add_test(tc, credentials_never_shown);
	tcase_add_test(tc, set_credentials);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(policy_suite());
}
