/*
 * policy.c: owns the egress rules: [policy] rules, [proxy NAME] sections,
 * the simple form (proxy, http_proxy, https_proxy, no_proxy), the
 * built-in denies, the resolve map, and the route each destination gets.
 *
 * No I/O (no DNS, no files, no logging): every text goes back to the
 * caller, so the whole module is tested alone (tests/check_policy.c).
 *
 * The order of a decision (hpoold.conf(5), POLICY, says the same):
 *  1. the rules, first match wins; but for a destination inside a
 *     built-in deny a matching rule counts only if it denies or its dest
 *     names that range (so `dest * -> direct` opens no metadata endpoint);
 *  2. the built-in denies (cloud metadata endpoints, link-local);
 *  3. the simple form: the scheme's proxy, unless no_proxy matches;
 *  4. direct.
 * A name going direct is decided again for each address it resolves to
 * (policy_addr_ok). The destination is then both the name and the
 * address, so an address rule written before the name's own rule can
 * refuse it, and the built-in denies hold whatever the name.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy.h"

#define RULES_MAX	1024
#define PROXIES_MAX	64
#define NOPROXY_MAX	1024	/* entries of every no_proxy line */
#define PINS_MAX	256
#define HOST_MAX	254	/* a DNS name without its trailing dot, + NUL */
#define RULE_MAX	200	/* inih (Debian's) cuts a line at 199 bytes */
#define VALUE_MAX	1024	/* a URL, a no_proxy line, a resolve entry */
#define ENTRY_MAX	300	/* one DEST or no_proxy entry */
#define IDNAME_MAX	64	/* a user, group or proxy name, + NUL */
#define UNIT_MAX	256	/* systemd's unit name limit, + NUL */

enum scheme {
	SCHEME_HTTP,
	SCHEME_HTTPS,
};

enum match {
	MATCH_NO,
	MATCH_YES,
	MATCH_UNKNOWN,		/* an address term, and the name is not
				 * resolved yet */
};

struct addr {
	int		 family;	/* AF_INET or AF_INET6 */
	uint8_t		 b[16];		/* AF_INET: the first 4 */
};

enum dest_kind {
	DEST_ANY,		/* "*" */
	DEST_NAME,		/* that name only */
	DEST_DOMAIN,		/* the name and every name below it */
	DEST_BELOW,		/* names below it only (no_proxy's *.x) */
	DEST_NET,		/* an address (whole prefix) or a CIDR */
};

struct dest {
	enum dest_kind	 kind;
	char		 name[HOST_MAX];	/* lowercase, no dots around */
	struct addr	 net;			/* host bits clear */
	unsigned	 plen;
	uint16_t	 port_lo;		/* 0 and 65535: any port */
	uint16_t	 port_hi;
};

/* Forms of a no_proxy entry that curl and Go read differently: each is
 * taken, and named in a warning. */
#define Q_LEADING_DOT	0x01
#define Q_STAR_DOT	0x02
#define Q_PORT		0x04
#define Q_TRAILING_DOT	0x08
#define Q_ZERO_PREFIX	0x10
#define Q_MAPPED	0x20

/* What a destination is while it is decided. */
struct target {
	enum scheme	 scheme;
	const char	*name;	/* lowercase, no trailing dot; NULL: the
				 * caller gave an IP literal */
	const struct addr *addr; /* NULL: a name not resolved yet */
	uint16_t	 port;
};

enum term {
	T_UID,
	T_USER,
	T_GID,
	T_GROUP,
	T_UNIT,
	T_DEST,
	T_SCHEME,
	T_COUNT
};

struct rule {
	unsigned	 terms;		/* 1 << enum term, for each given */
	uid_t		 uid;
	gid_t		 gid;
	char		 user[IDNAME_MAX];
	char		 group[IDNAME_MAX];
	char		 unit[UNIT_MAX];	/* an fnmatch(3) pattern */
	enum scheme	 scheme;
	struct dest	 dest;
	enum policy_action action;
	char		 proxy_name[IDNAME_MAX];
	long		 proxy;		/* index in proxies; -1 until
					 * policy_finish */
	char		 text[RULE_MAX]; /* as written, blanks tidied */
};

struct proxy_def {
	struct policy_proxy px;
	unsigned	 seen;		/* 1 << settings[] index, given */
	int		 has_url;
};

enum simple {
	SIMPLE_ALL,		/* proxy */
	SIMPLE_HTTP,		/* http_proxy */
	SIMPLE_HTTPS,		/* https_proxy */
	SIMPLE_COUNT
};

struct no_proxy {
	struct dest	 dest;
	char		 text[ENTRY_MAX];	/* as written, for why */
};

struct pin {
	char		 host[HOST_MAX];
	uint16_t	 port;
	char		 addr[INET6_ADDRSTRLEN];
};

static const struct builtin {
	const char	*dest;
	const char	*what;
	int		 link_local;	/* lifted by allow_link_local = yes */
} builtins[] = {
	/* the narrowest first, so a log names metadata, not link-local */
	{ "169.254.169.254", "cloud metadata", 0 }, /* AWS, Azure, GCP, OCI */
	{ "169.254.170.2", "cloud metadata", 0 },	/* AWS ECS tasks */
	{ "fd00:ec2::254", "cloud metadata", 0 },	/* AWS over IPv6 */
	{ "100.100.100.200", "cloud metadata", 0 },	/* Alibaba Cloud */
	{ "metadata.google.internal", "cloud metadata", 0 },
	{ "169.254.0.0/16", "link-local", 1 },
	{ "fe80::/10", "link-local", 1 },
};
#define NBUILTINS	(sizeof(builtins) / sizeof(builtins[0]))

struct policy {
	struct rule	*rules;
	size_t		 nrules, rules_cap;
	struct proxy_def *proxies;	/* [proxy NAME] sections */
	size_t		 nproxies, proxies_cap;
	struct proxy_def simple[SIMPLE_COUNT];
	struct no_proxy	*np;
	size_t		 nnp, np_cap;
	int		 np_all;	/* no_proxy = * */
	struct pin	*pins;
	size_t		 npins, pins_cap;
	struct dest	 builtin[NBUILTINS];
	unsigned	 seen;		/* 1 << settings[] index, given */
	int		 caller_proxies;
	int		 allow_link_local;
	char		 simple_cacert[POLICY_PATH_MAX]; /* proxy_cacert */
};

enum section {
	SEC_HPOOLD,
	SEC_POLICY,
	SEC_PROXY,
};

/* policy_text's output: what fitted in buf, and what the whole needs. */
struct text {
	char		*buf;
	size_t		 len;
	size_t		 need;
};

/* One entry of policy_config on its way through a setter. */
struct entry {
	struct policy	*pol;
	const char	*name;
	struct proxy_def *pd;		/* SEC_PROXY: its section */
	const char	*value;
	char		*err;
	size_t		 errlen;
	char		*warn;
	size_t		 warnlen;
};

static int	set_rule(struct entry *);
static int	set_simple_proxy(struct entry *);
static int	set_no_proxy(struct entry *);
static int	set_resolve(struct entry *);
static int	set_caller_proxies(struct entry *);
static int	set_allow_link_local(struct entry *);
static int	set_proxy_url(struct entry *);
static int	set_proxy_credentials(struct entry *);
static int	set_proxy_cacert(struct entry *);
static int	path_value(struct entry *, char *, size_t);
static int	set_simple_cacert(struct entry *);
static struct policy_proxy *proxy_nth(struct policy *, size_t);
static int	set_proxy_forward(struct entry *);
static int	refuse(struct entry *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	warn_add(struct entry *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static int	fail(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static void	*grow(void *, size_t *, size_t, size_t, size_t);
static char	*trim(char *);
static int	addr_parse(const char *, struct addr *);
static int	addr_unmap(struct addr *, unsigned *);
static int	addr_in(const struct addr *, unsigned, const struct addr *);
static int	addr_mask(struct addr *, unsigned);
static void	addr_text(const struct addr *, char *, size_t);
static int	port_parse(const char *, size_t, uint16_t *);
static const char *host_norm(const char *, char *, size_t);
static int	dest_parse(const char *, int, struct dest *, unsigned *,
		    char *, size_t);
static int	dest_ports(const char *, int, struct dest *, char *, size_t);
static int	dest_cidr(char *, int, int, struct dest *, unsigned *,
		    char *, size_t);
static int	dest_name(const char *, int, struct dest *, unsigned *,
		    char *, size_t);
static int	name_match(enum dest_kind, const char *, const char *);
static enum match dest_match(const struct dest *, const struct target *);
static int	dest_names(const struct dest *, const struct dest *);
static int	term_uid(struct rule *, const char *, char *, size_t);
static int	term_user(struct rule *, const char *, char *, size_t);
static int	term_gid(struct rule *, const char *, char *, size_t);
static int	term_group(struct rule *, const char *, char *, size_t);
static int	term_unit(struct rule *, const char *, char *, size_t);
static int	term_dest(struct rule *, const char *, char *, size_t);
static int	term_scheme(struct rule *, const char *, char *, size_t);
static enum match match_uid(const struct rule *, const struct policy_caller *,
		    const struct target *);
static enum match match_user(const struct rule *,
		    const struct policy_caller *, const struct target *);
static enum match match_gid(const struct rule *, const struct policy_caller *,
		    const struct target *);
static enum match match_group(const struct rule *,
		    const struct policy_caller *, const struct target *);
static enum match match_unit(const struct rule *,
		    const struct policy_caller *, const struct target *);
static enum match match_dest(const struct rule *,
		    const struct policy_caller *, const struct target *);
static enum match match_scheme(const struct rule *,
		    const struct policy_caller *, const struct target *);
static enum match rule_match(const struct rule *,
		    const struct policy_caller *, const struct target *);
static int	rule_action(struct rule *, char *, char *, size_t);
static int	id_parse(const char *, unsigned long *);
static int	idname_ok(const char *, size_t);
static int	proxy_name_ok(const char *);
static const char *pct_decode(const char *, size_t, char *, size_t);
static int	url_parse(const char *, struct policy_proxy *, char *, size_t);
static void	url_shown(const char *, char *, size_t);
static void	proxy_text(const struct policy_proxy *, char *, size_t);
static int	section_parse(const char *, enum section *, char *, size_t);
static struct proxy_def *proxy_find(const struct policy *, const char *);
static int	target_init(struct target *, const char *, const char *,
		    uint16_t, char *, struct addr *, char *, size_t);
static int	route_rules(const struct policy *,
		    const struct policy_caller *, const struct target *,
		    struct policy_route *);
static int	route_simple(const struct policy *, const struct target *,
		    struct policy_route *);
static void	out(struct text *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

/* The entries policy_config takes. A setting not marked repeat may be
 * given once: a second one is refused rather than silently winning. */
static const struct setting {
	enum section	 section;
	const char	*name;
	int		 repeat;
	int		(*set)(struct entry *);
} settings[] = {
	{ SEC_HPOOLD, "proxy", 0, set_simple_proxy },
	{ SEC_HPOOLD, "http_proxy", 0, set_simple_proxy },
	{ SEC_HPOOLD, "https_proxy", 0, set_simple_proxy },
	/* repeatable: a long list does not fit one inih line */
	{ SEC_HPOOLD, "no_proxy", 1, set_no_proxy },
	{ SEC_HPOOLD, "resolve", 1, set_resolve },
	{ SEC_HPOOLD, "caller_proxies", 0, set_caller_proxies },
	{ SEC_HPOOLD, "allow_link_local", 0, set_allow_link_local },
	{ SEC_HPOOLD, "proxy_cacert", 0, set_simple_cacert },
	{ SEC_POLICY, "rule", 1, set_rule },
	{ SEC_PROXY, "url", 0, set_proxy_url },
	{ SEC_PROXY, "credentials_file", 0, set_proxy_credentials },
	{ SEC_PROXY, "forward", 0, set_proxy_forward },
	{ SEC_PROXY, "cacert", 0, set_proxy_cacert },
};
#define NSETTINGS	(sizeof(settings) / sizeof(settings[0]))

static const struct term_kind {
	const char	*word;
	int		(*parse)(struct rule *, const char *, char *, size_t);
	enum match	(*match)(const struct rule *,
			    const struct policy_caller *,
			    const struct target *);
} term_kinds[T_COUNT] = {
	[T_UID] = { "uid", term_uid, match_uid },
	[T_USER] = { "user", term_user, match_user },
	[T_GID] = { "gid", term_gid, match_gid },
	[T_GROUP] = { "group", term_group, match_group },
	[T_UNIT] = { "unit", term_unit, match_unit },
	[T_DEST] = { "dest", term_dest, match_dest },
	[T_SCHEME] = { "scheme", term_scheme, match_scheme },
};

static const char *const simple_names[SIMPLE_COUNT] = {
	[SIMPLE_ALL] = "proxy",
	[SIMPLE_HTTP] = "http_proxy",
	[SIMPLE_HTTPS] = "https_proxy",
};

static const struct url_scheme {
	const char	*name;
	uint16_t	 port;		/* when the URL has none; 0: required */
} url_schemes[] = {
	{ "http", 0 },		/* curl assumes 1080, Go 80 */
	{ "https", 443 },	/* both */
	{ "socks5h", 1080 },	/* both (Go's socks5) */
};

static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0xff, 0xff };

struct policy *
policy_new(void)
{
	struct policy *p;
	char why[128];
	unsigned q;
	size_t i;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->caller_proxies = 1;
	for (i = 0; i < SIMPLE_COUNT; i++)
		snprintf(p->simple[i].px.name, sizeof(p->simple[i].px.name),
		    "%s", simple_names[i]);
	/* Parsed per policy, not once into static state: the same parser
	 * as the rules', so the tables cannot drift apart. */
	for (i = 0; i < NBUILTINS; i++)
		if (dest_parse(builtins[i].dest, 0, &p->builtin[i], &q, why,
		    sizeof(why)) == -1) {
			free(p);
			return NULL;
		}
	return p;
}

void
policy_free(struct policy *p)
{
	size_t i;

	if (p == NULL)
		return;
	free(p->rules);
	for (i = 0; i < p->nproxies; i++)
		free(p->proxies[i].px.cacert_pem);
	for (i = 0; i < SIMPLE_COUNT; i++)
		free(p->simple[i].px.cacert_pem);
	/* passwords: not left in freed memory */
	if (p->proxies != NULL)
		explicit_bzero(p->proxies, p->nproxies * sizeof(*p->proxies));
	free(p->proxies);
	free(p->np);
	free(p->pins);
	explicit_bzero(p->simple, sizeof(p->simple));
	free(p);
}

int
policy_config(struct policy *p, const char *section, const char *name,
    const char *value, char *err, size_t errlen, char *warn, size_t warnlen)
{
	struct entry e;
	enum section sec;
	char pname[IDNAME_MAX], why[160];
	const struct setting *st = NULL;
	unsigned *seen;
	size_t i;
	int rc;

	if (errlen > 0)
		err[0] = '\0';
	if (warn != NULL && warnlen > 0)
		warn[0] = '\0';
	memset(&e, 0, sizeof(e));
	e.pol = p;
	e.name = name;
	e.value = value;
	e.err = err;
	e.errlen = errlen;
	e.warn = warn;
	e.warnlen = warn != NULL ? warnlen : 0;

	if ((rc = section_parse(section, &sec, pname, sizeof(pname))) == 0)
		return 0;
	if (rc == -1) {
		snprintf(err, errlen, "[%s]: %s", section, pname);
		return -1;
	}
	for (i = 0; i < NSETTINGS; i++)
		if (settings[i].section == sec &&
		    strcmp(settings[i].name, name) == 0) {
			st = &settings[i];
			break;
		}
	if (st == NULL) {
		if (sec == SEC_HPOOLD)
			return 0;
		snprintf(err, errlen, "[%s]: unknown setting '%s' (%s)",
		    section, name, sec == SEC_POLICY ? "rule" :
		    "url, credentials_file, forward, cacert");
		return -1;
	}
	if (sec == SEC_PROXY && (e.pd = proxy_find(p, pname)) == NULL) {
		if (p->nproxies >= PROXIES_MAX)
			snprintf(why, sizeof(why), "more than %d [proxy] "
			    "sections", PROXIES_MAX);
		else if ((p->proxies = grow(p->proxies, &p->proxies_cap,
		    p->nproxies, sizeof(*p->proxies), PROXIES_MAX)) == NULL)
			snprintf(why, sizeof(why), "out of memory");
		else {
			e.pd = &p->proxies[p->nproxies++];
			memset(e.pd, 0, sizeof(*e.pd));
			snprintf(e.pd->px.name, sizeof(e.pd->px.name), "%s",
			    pname);
		}
		if (e.pd == NULL) {
			snprintf(err, errlen, "[%s]: %s", section, why);
			return -1;
		}
	}
	seen = sec == SEC_PROXY ? &e.pd->seen : &p->seen;
	if (!st->repeat && (*seen & (1u << i)))
		return refuse(&e, "given a second time");
	if (st->set(&e) == -1)
		return -1;
	*seen |= 1u << i;
	return 1;
}

int
policy_setting_repeats(const char *section, const char *name)
{
	char pname[IDNAME_MAX];
	enum section sec;
	size_t i;

	if (section_parse(section, &sec, pname, sizeof(pname)) != 1)
		return 0;
	for (i = 0; i < NSETTINGS; i++)
		if (settings[i].section == sec &&
		    strcmp(settings[i].name, name) == 0)
			return settings[i].repeat;
	return 0;
}

int
policy_finish(struct policy *p, char *err, size_t errlen)
{
	struct proxy_def *pd;
	struct rule *r;
	size_t i;

	if (errlen > 0)
		err[0] = '\0';
	for (i = 0; i < p->nproxies; i++) {
		pd = &p->proxies[i];
		if (!pd->has_url) {
			snprintf(err, errlen, "[proxy %s]: no url",
			    pd->px.name);
			return -1;
		}
		if (pd->px.credentials_file[0] != '\0' &&
		    pd->px.user[0] != '\0') {
			snprintf(err, errlen, "[proxy %s]: credentials in url "
			    "and a credentials_file: give one", pd->px.name);
			return -1;
		}
		if (pd->px.cacert[0] != '\0' &&
		    strcmp(pd->px.scheme, "https") != 0) {
			snprintf(err, errlen, "[proxy %s]: cacert is for "
			    "https:// proxies, not %s://", pd->px.name,
			    pd->px.scheme);
			return -1;
		}
		if (pd->px.absolute_form &&
		    strcmp(pd->px.scheme, "socks5h") == 0) {
			snprintf(err, errlen, "[proxy %s]: forward = absolute "
			    "is for http and https proxies, not socks5h",
			    pd->px.name);
			return -1;
		}
	}
	if (p->simple_cacert[0] != '\0') {
		int https = 0;

		/* proxy_cacert: the CAs of the simple form's https:// ones */
		for (i = 0; i < SIMPLE_COUNT; i++)
			if (p->simple[i].has_url &&
			    strcmp(p->simple[i].px.scheme, "https") == 0) {
				snprintf(p->simple[i].px.cacert,
				    sizeof(p->simple[i].px.cacert), "%s",
				    p->simple_cacert);
				https = 1;
			}
		if (!https) {
			snprintf(err, errlen, "proxy_cacert is for an https:// "
			    "proxy, and proxy, http_proxy and https_proxy name "
			    "none");
			return -1;
		}
	}
	for (i = 0; i < p->nrules; i++) {
		r = &p->rules[i];
		if (r->action != POLICY_PROXY)
			continue;
		if ((pd = proxy_find(p, r->proxy_name)) == NULL) {
			snprintf(err, errlen, "rule %zu (%s): no [proxy %s] "
			    "section", i + 1, r->text, r->proxy_name);
			return -1;
		}
		r->proxy = pd - p->proxies;
	}
	return 0;
}

void
policy_decide(const struct policy *p, const struct policy_caller *c,
    const char *scheme, const char *host, uint16_t port,
    struct policy_route *r)
{
	struct target t;
	struct addr a;
	char name[HOST_MAX];

	memset(r, 0, sizeof(*r));
	if (target_init(&t, scheme, host, port, name, &a, r->why,
	    sizeof(r->why)) == -1) {
		r->action = POLICY_DENY;
		return;
	}
	if (!route_rules(p, c, &t, r) && !route_simple(p, &t, r)) {
		r->action = POLICY_DIRECT;
		snprintf(r->why, sizeof(r->why), "built-in: direct (no rule "
		    "matched, no proxy for %s)", t.scheme == SCHEME_HTTPS ?
		    "https" : "http");
	}
	/* The metadata addresses are always denied, whatever a name says:
	 * every name going direct has its addresses checked. */
	r->needs_addr_check = r->action == POLICY_DIRECT && t.name != NULL;
}

int
policy_addr_ok(const struct policy *p, const struct policy_caller *c,
    const char *scheme, const char *host, uint16_t port,
    const struct sockaddr *sa, char *why, size_t whylen)
{
	struct policy_route r;
	struct target t;
	struct addr a, literal;
	char name[HOST_MAX], at[INET6_ADDRSTRLEN];

	if (whylen > 0)
		why[0] = '\0';
	if (target_init(&t, scheme, host, port, name, &literal, why,
	    whylen) == -1)
		return 0;
	memset(&a, 0, sizeof(a));
	if (sa != NULL && sa->sa_family == AF_INET) {
		a.family = AF_INET;
		memcpy(a.b, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa != NULL && sa->sa_family == AF_INET6) {
		a.family = AF_INET6;
		memcpy(a.b, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		addr_unmap(&a, NULL);
	} else {
		snprintf(why, whylen, "not an IPv4 or IPv6 address");
		return 0;
	}
	t.addr = &a;
	addr_text(&a, at, sizeof(at));
	memset(&r, 0, sizeof(r));
	if (!route_rules(p, c, &t, &r) || r.action == POLICY_DIRECT)
		return 1;
	if (r.action == POLICY_DENY)
		snprintf(why, whylen, "%s, for %s", r.why, at);
	else
		snprintf(why, whylen, "%s wants a proxy for %s, and a name "
		    "resolved here is not re-routed", r.why, at);
	return 0;
}

const char *
policy_resolve(const struct policy *p, const char *host, uint16_t port)
{
	char name[HOST_MAX];
	size_t i;

	if (host == NULL || host_norm(host, name, sizeof(name)) != NULL)
		return NULL;
	for (i = 0; i < p->npins; i++)
		if (p->pins[i].port == port &&
		    strcmp(p->pins[i].host, name) == 0)
			return p->pins[i].addr;
	return NULL;
}

int
policy_caller_proxies_allowed(const struct policy *p)
{
	return p->caller_proxies;
}

static void
out(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(t->need < t->len ? t->buf + t->need : NULL,
	    t->need < t->len ? t->len - t->need : 0, fmt, ap);
	va_end(ap);
	if (n > 0)
		t->need += (size_t)n;
}

int
policy_needs_names(const struct policy *p)
{
	size_t i;

	if (p == NULL)
		return 0;
	for (i = 0; i < p->nrules; i++)
		if (p->rules[i].terms & (1u << T_USER | 1u << T_GROUP |
		    1u << T_UNIT))
			return 1;
	return 0;
}

const struct policy_proxy *
policy_proxy_at(const struct policy *p, size_t i)
{
	size_t k;

	if (i < p->nproxies)
		return &p->proxies[i].px;
	i -= p->nproxies;
	/* the simple form's, those that are set */
	for (k = 0; k < SIMPLE_COUNT; k++)
		if (p->simple[k].has_url && i-- == 0)
			return &p->simple[k].px;
	return NULL;
}

/* policy_proxy_at's i-th proxy, to change; NULL: none */
static struct policy_proxy *
proxy_nth(struct policy *p, size_t i)
{
	return (struct policy_proxy *)policy_proxy_at(p, i);
}

int
policy_proxy_set_cacert(struct policy *p, size_t i, const char *pem,
    size_t len)
{
	struct policy_proxy *px = proxy_nth(p, i);
	char *copy;

	if (px == NULL || (copy = malloc(len + 1)) == NULL)
		return -1;
	memcpy(copy, pem, len);
	copy[len] = '\0';
	free(px->cacert_pem);
	px->cacert_pem = copy;
	px->cacert_len = len;
	return 0;
}

int
policy_proxy_set_credentials(struct policy *p, size_t i, const char *user,
    const char *pass)
{
	struct policy_proxy *px;

	if ((px = proxy_nth(p, i)) == NULL)
		return -1;
	if (user[0] == '\0' || strlen(user) >= sizeof(px->user) ||
	    strlen(pass) >= sizeof(px->pass))
		return -1;
	explicit_bzero(px->user, sizeof(px->user));
	explicit_bzero(px->pass, sizeof(px->pass));
	memcpy(px->user, user, strlen(user));
	memcpy(px->pass, pass, strlen(pass));
	return 0;
}

size_t
policy_text(const struct policy *p, char *buf, size_t buflen)
{
	struct text t = { buf, buflen, 0 };
	const struct proxy_def *pd;
	char s[VALUE_MAX];
	size_t i;

	if (buflen > 0)
		buf[0] = '\0';
	out(&t, "# first match wins; a destination in a built-in deny is "
	    "matched only by a rule that denies or names it\n");
	for (i = 0; i < p->nrules; i++)
		out(&t, "rule %zu = %s\n", i + 1, p->rules[i].text);
	for (i = 0; i < NBUILTINS; i++)
		out(&t, "built-in %s = deny %s%s\n", builtins[i].what,
		    builtins[i].dest, builtins[i].link_local &&
		    p->allow_link_local ? " (lifted: allow_link_local = yes)" :
		    "");
	for (i = 0; i < SIMPLE_COUNT; i++) {
		pd = &p->simple[i];
		if (!pd->has_url)
			continue;
		proxy_text(&pd->px, s, sizeof(s));
		out(&t, "%s = %s\n", simple_names[i], s);
	}
	if (p->simple_cacert[0] != '\0')
		out(&t, "proxy_cacert = %s\n", p->simple_cacert);
	if (p->np_all)
		out(&t, "no_proxy = *\n");
	for (i = 0; i < p->nnp; i++)
		out(&t, "no_proxy = %s\n", p->np[i].text);
	out(&t, "# then: direct\n");
	for (i = 0; i < p->nproxies; i++) {
		pd = &p->proxies[i];
		proxy_text(&pd->px, s, sizeof(s));
		out(&t, "[proxy %s] url = %s, forward = %s%s%s%s%s\n",
		    pd->px.name, s, pd->px.absolute_form ? "absolute" :
		    "connect", pd->px.credentials_file[0] ?
		    ", credentials_file = " : "", pd->px.credentials_file,
		    pd->px.cacert[0] ? ", cacert = " : "", pd->px.cacert);
	}
	for (i = 0; i < p->npins; i++)
		out(&t, "resolve = %s:%u:%s\n", p->pins[i].host,
		    p->pins[i].port, p->pins[i].addr);
	out(&t, "caller_proxies = %s\n", p->caller_proxies ? "allow" :
	    "deny");
	out(&t, "allow_link_local = %s\n", p->allow_link_local ? "yes" : "no");
	return t.need;
}

/* -- config entries -- */

/* "hpoold", "policy" or "proxy NAME" (1; NAME in pname), not the
 * policy's (0), or a proxy section without a valid name (-1, pname says
 * why). */
static int
section_parse(const char *s, enum section *sec, char *pname, size_t len)
{
	char buf[IDNAME_MAX + 16], *n;

	if (strcmp(s, "hpoold") == 0) {
		*sec = SEC_HPOOLD;
		return 1;
	}
	if (strcmp(s, "policy") == 0) {
		*sec = SEC_POLICY;
		return 1;
	}
	if (strncmp(s, "proxy", 5) != 0 ||
	    (s[5] != '\0' && s[5] != ' ' && s[5] != '\t'))
		return 0;
	*sec = SEC_PROXY;
	if (strlen(s) >= sizeof(buf)) {
		snprintf(pname, len, "a proxy name is 1 to %d bytes",
		    IDNAME_MAX - 1);
		return -1;
	}
	snprintf(buf, sizeof(buf), "%s", s + 5);
	n = trim(buf);
	if (*n == '\0') {
		snprintf(pname, len, "a proxy section is [proxy NAME]");
		return -1;
	}
	if (!proxy_name_ok(n)) {
		snprintf(pname, len, "a proxy name is 1 to %d letters, digits, "
		    "'.', '_' or '-'", IDNAME_MAX - 1);
		return -1;
	}
	snprintf(pname, len, "%s", n);
	return 1;
}

static struct proxy_def *
proxy_find(const struct policy *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->nproxies; i++)
		if (strcmp(p->proxies[i].px.name, name) == 0)
			return &p->proxies[i];
	return NULL;
}

/* err = "SETTING: ..." (or "[proxy NAME] SETTING: ..."); -1. */
static int
refuse(struct entry *e, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (e->pd != NULL)
		n = snprintf(e->err, e->errlen, "[proxy %s] %s: ",
		    e->pd->px.name, e->name);
	else
		n = snprintf(e->err, e->errlen, "%s: ", e->name);
	if (n < 0 || (size_t)n >= e->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(e->err + n, e->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/* Add a note to the warning: "SETTING: note; note". */
static void
warn_add(struct entry *e, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (e->warnlen == 0)
		return;
	n = strlen(e->warn);
	if (n == 0)
		snprintf(e->warn, e->warnlen, "%s: ", e->name);
	else if (n + 2 < e->warnlen)
		snprintf(e->warn + n, e->warnlen - n, "; ");
	n = strlen(e->warn);
	if (n + 1 >= e->warnlen)
		return;
	va_start(ap, fmt);
	vsnprintf(e->warn + n, e->warnlen - n, fmt, ap);
	va_end(ap);
}

static int
fail(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return -1;
}

/* Room for item n of an array of at most max: the array, or NULL (full,
 * or out of memory; the old array stays whole). */
static void *
grow(void *a, size_t *cap, size_t n, size_t size, size_t max)
{
	size_t ncap;
	void *na;

	if (n < *cap)
		return a;
	if (n >= max)
		return NULL;
	ncap = *cap != 0 ? *cap * 2 : 8;
	if (ncap > max)
		ncap = max;
	if ((na = reallocarray(a, ncap, size)) == NULL)
		return NULL;
	*cap = ncap;
	return na;
}

static char *
trim(char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

/*
 * rule = TERM, TERM ... -> ACTION. The text kept for logs is the terms
 * and the action as written, blanks tidied, so a log line shows the rule
 * the reader wrote.
 */
static int
set_rule(struct entry *e)
{
	struct policy *p = e->pol;
	struct rule r;
	char buf[RULE_MAX], why[192], *arrow, *lhs, *rhs, *term, *next, *arg;
	size_t i, tl;

	if (strlen(e->value) >= sizeof(buf))
		return refuse(e, "longer than %d bytes", RULE_MAX - 1);
	snprintf(buf, sizeof(buf), "%s", e->value);
	if ((arrow = strstr(buf, "->")) == NULL)
		return refuse(e, "'%s': no '-> ACTION'", trim(buf));
	if (strstr(arrow + 2, "->") != NULL)
		return refuse(e, "'%s': more than one '->'", trim(buf));
	*arrow = '\0';
	lhs = trim(buf);
	rhs = trim(arrow + 2);
	memset(&r, 0, sizeof(r));
	r.proxy = -1;
	if (rule_action(&r, rhs, why, sizeof(why)) == -1)
		return refuse(e, "'%s': %s", rhs, why);
	for (term = *lhs != '\0' ? lhs : NULL; term != NULL; term = next) {
		if ((next = strchr(term, ',')) != NULL)
			*next++ = '\0';
		term = trim(term);
		if (*term == '\0')
			return refuse(e, "an empty term (two commas, or a "
			    "comma at an end)");
		arg = term + strcspn(term, " \t");
		if (*arg != '\0')
			*arg++ = '\0';
		arg = trim(arg);
		for (i = 0; i < T_COUNT; i++)
			if (strcmp(term, term_kinds[i].word) == 0)
				break;
		if (i == T_COUNT)
			return refuse(e, "'%s%s%s': unknown term (uid, user, "
			    "gid, group, unit, dest, scheme)", term,
			    *arg ? " " : "", arg);
		if (*arg == '\0')
			return refuse(e, "'%s': no value", term);
		if (strpbrk(arg, " \t") != NULL)
			return refuse(e, "'%s %s': one value only", term, arg);
		if (r.terms & (1u << i))
			return refuse(e, "'%s %s': a second %s term", term,
			    arg, term);
		if (term_kinds[i].parse(&r, arg, why, sizeof(why)) == -1)
			return refuse(e, "'%s %s': %s", term, arg, why);
		r.terms |= 1u << i;
		tl = strlen(r.text);
		snprintf(r.text + tl, sizeof(r.text) - tl, "%s%s %s",
		    tl ? ", " : "", term, arg);
	}
	tl = strlen(r.text);
	snprintf(r.text + tl, sizeof(r.text) - tl, "%s-> %s", tl ? " " : "",
	    rhs);
	if (p->nrules >= RULES_MAX)
		return refuse(e, "more than %d rules", RULES_MAX);
	if ((p->rules = grow(p->rules, &p->rules_cap, p->nrules,
	    sizeof(*p->rules), RULES_MAX)) == NULL)
		return refuse(e, "out of memory");
	p->rules[p->nrules++] = r;
	return 0;
}

/* direct | deny | proxy NAME */
static int
rule_action(struct rule *r, char *s, char *why, size_t whylen)
{
	char *name;

	if (strcmp(s, "direct") == 0) {
		r->action = POLICY_DIRECT;
		return 0;
	}
	if (strcmp(s, "deny") == 0) {
		r->action = POLICY_DENY;
		return 0;
	}
	if (strncmp(s, "proxy", 5) != 0 || (s[5] != ' ' && s[5] != '\t'))
		return fail(why, whylen, "the action is direct, deny or "
		    "proxy NAME");
	name = trim(s + 5);
	if (!proxy_name_ok(name))
		return fail(why, whylen, "a proxy name is 1 to %d letters, "
		    "digits, '.', '_' or '-'", IDNAME_MAX - 1);
	r->action = POLICY_PROXY;
	snprintf(r->proxy_name, sizeof(r->proxy_name), "%s", name);
	/* tidy "proxy   corp" for the rule's text */
	memmove(s + 6, name, strlen(name) + 1);
	s[5] = ' ';
	return 0;
}

static int
id_parse(const char *s, unsigned long *v)
{
	size_t n = strlen(s);

	/* (uid_t)-1 means "no id" to the kernel: never a caller's */
	if (n == 0 || n > 10 || strspn(s, "0123456789") != n)
		return -1;
	*v = strtoul(s, NULL, 10);
	return *v > 4294967294UL ? -1 : 0;
}

/* A user, group or proxy name: printable ASCII, no ',' and no blank. */
static int
idname_ok(const char *s, size_t max)
{
	size_t n = strlen(s), i;

	if (n == 0 || n >= max)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f ||
		    s[i] == ',')
			return 0;
	return 1;
}

static int
proxy_name_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n < IDNAME_MAX && strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

static int
term_uid(struct rule *r, const char *s, char *why, size_t whylen)
{
	unsigned long v;

	if (id_parse(s, &v) == -1)
		return fail(why, whylen, "not a number from 0 to 4294967294");
	r->uid = (uid_t)v;
	return 0;
}

static int
term_gid(struct rule *r, const char *s, char *why, size_t whylen)
{
	unsigned long v;

	if (id_parse(s, &v) == -1)
		return fail(why, whylen, "not a number from 0 to 4294967294");
	r->gid = (gid_t)v;
	return 0;
}

static int
term_user(struct rule *r, const char *s, char *why, size_t whylen)
{
	if (!idname_ok(s, sizeof(r->user)))
		return fail(why, whylen, "a user name is 1 to %zu printable "
		    "bytes", sizeof(r->user) - 1);
	snprintf(r->user, sizeof(r->user), "%s", s);
	return 0;
}

static int
term_group(struct rule *r, const char *s, char *why, size_t whylen)
{
	if (!idname_ok(s, sizeof(r->group)))
		return fail(why, whylen, "a group name is 1 to %zu printable "
		    "bytes", sizeof(r->group) - 1);
	snprintf(r->group, sizeof(r->group), "%s", s);
	return 0;
}

static int
term_unit(struct rule *r, const char *s, char *why, size_t whylen)
{
	if (!idname_ok(s, sizeof(r->unit)))
		return fail(why, whylen, "a unit pattern is 1 to %zu printable "
		    "bytes", sizeof(r->unit) - 1);
	snprintf(r->unit, sizeof(r->unit), "%s", s);
	return 0;
}

static int
term_dest(struct rule *r, const char *s, char *why, size_t whylen)
{
	unsigned q;

	return dest_parse(s, 0, &r->dest, &q, why, whylen);
}

static int
term_scheme(struct rule *r, const char *s, char *why, size_t whylen)
{
	if (strcmp(s, "http") == 0)
		r->scheme = SCHEME_HTTP;
	else if (strcmp(s, "https") == 0)
		r->scheme = SCHEME_HTTPS;
	else
		return fail(why, whylen, "not http or https");
	return 0;
}

static int
set_simple_proxy(struct entry *e)
{
	struct proxy_def *pd = NULL;
	char why[160], shown[VALUE_MAX];
	size_t i;

	for (i = 0; i < SIMPLE_COUNT; i++)
		if (strcmp(e->name, simple_names[i]) == 0)
			pd = &e->pol->simple[i];
	if (pd == NULL)
		return refuse(e, "not a proxy setting");
	/* empty: no proxy, as an empty variable is to curl and Go */
	if (e->value[0] == '\0')
		return 0;
	if (url_parse(e->value, &pd->px, why, sizeof(why)) == -1) {
		url_shown(e->value, shown, sizeof(shown));
		return refuse(e, "'%s': %s", shown, why);
	}
	pd->has_url = 1;
	return 0;
}

/*
 * no_proxy = LIST: curl's syntax. Where curl and Go (httpproxy) read an
 * entry alike, hpool does too; where they differ, hpool picks the reading
 * below and warns; where both never match (brackets without a port, a
 * CIDR with a port) or they disagree on the whole list ('*' among other
 * entries), the entry is refused.
 */
static int
set_no_proxy(struct entry *e)
{
	struct policy *p = e->pol;
	struct no_proxy *np;
	char buf[VALUE_MAX], why[192], an[INET6_ADDRSTRLEN], *ent, *next;
	size_t start = p->nnp;
	unsigned q;

	if (strlen(e->value) >= sizeof(buf))
		return refuse(e, "longer than %d bytes (give no_proxy again "
		    "for more entries)", VALUE_MAX - 1);
	snprintf(buf, sizeof(buf), "%s", e->value);
	for (ent = buf; ent != NULL; ent = next) {
		if ((next = strchr(ent, ',')) != NULL)
			*next++ = '\0';
		ent = trim(ent);
		if (*ent == '\0')
			continue;	/* both skip empty entries */
		if (strpbrk(ent, " \t") != NULL) {
			p->nnp = start;
			return refuse(e, "'%s': entries are separated by "
			    "commas (curl stops reading at the blank, Go "
			    "never matches the entry)", ent);
		}
		if (strcmp(ent, "*") == 0 || p->np_all) {
			if (p->nnp > 0 || p->np_all || strchr(e->value, ',')
			    != NULL) {
				p->nnp = start;
				return refuse(e, "'*' must be the whole list "
				    "(curl ignores it among other entries, "
				    "Go then bypasses every host)");
			}
			p->np_all = 1;
			continue;
		}
		if (p->nnp >= NOPROXY_MAX || (p->np = grow(p->np, &p->np_cap,
		    p->nnp, sizeof(*p->np), NOPROXY_MAX)) == NULL) {
			p->nnp = start;
			return refuse(e, "more than %d entries, or out of "
			    "memory", NOPROXY_MAX);
		}
		np = &p->np[p->nnp];
		if (dest_parse(ent, 1, &np->dest, &q, why, sizeof(why)) ==
		    -1) {
			p->nnp = start;
			return refuse(e, "'%s': %s", ent, why);
		}
		snprintf(np->text, sizeof(np->text), "%s", ent);
		p->nnp++;
		if (q & Q_LEADING_DOT)
			warn_add(e, "'%s' matches %s itself too, as curl does "
			    "(Go: only names below it)", ent, np->dest.name);
		if (q & Q_STAR_DOT)
			warn_add(e, "'%s' matches names below %s only, as Go "
			    "does (curl never matches it)", ent,
			    np->dest.name);
		if (q & Q_TRAILING_DOT)
			warn_add(e, "'%s' matches %s without the dot, as curl "
			    "does (Go never matches it)", ent, np->dest.name);
		if (q & Q_PORT)
			warn_add(e, "'%s' matches port %u only, as Go does "
			    "(curl never matches an entry with a port)", ent,
			    np->dest.port_lo);
		if (q & Q_ZERO_PREFIX) {
			addr_text(&np->dest.net, an, sizeof(an));
			warn_add(e, "'%s' matches every %s address, as Go does "
			    "(curl: only %s itself)", ent,
			    np->dest.net.family == AF_INET ? "IPv4" : "IPv6",
			    an);
		}
		if (q & Q_MAPPED) {
			addr_text(&np->dest.net, an, sizeof(an));
			warn_add(e, "'%s' matches the IPv4 %s too, as Go does "
			    "(curl: only this IPv6 form)", ent, an);
		}
	}
	return 0;
}

/* resolve = HOST:PORT:ADDRESS, curl's --resolve with one address. */
static int
set_resolve(struct entry *e)
{
	struct policy *p = e->pol;
	struct pin pin;
	struct addr a;
	char buf[VALUE_MAX], *c1, *c2, *addr;
	const char *why;
	size_t i, n;

	if (strlen(e->value) >= sizeof(buf))
		return refuse(e, "longer than %d bytes", VALUE_MAX - 1);
	snprintf(buf, sizeof(buf), "%s", e->value);
	if ((c1 = strchr(buf, ':')) == NULL ||
	    (c2 = strchr(c1 + 1, ':')) == NULL)
		return refuse(e, "'%s': not HOST:PORT:ADDRESS", e->value);
	*c1 = *c2 = '\0';
	addr = c2 + 1;
	memset(&pin, 0, sizeof(pin));
	if (buf[0] == '+' || buf[0] == '-')
		return refuse(e, "'%s': curl's +HOST and -HOST forms are not "
		    "taken", e->value);
	if (strcmp(buf, "*") == 0)
		return refuse(e, "'%s': a wildcard HOST is not taken",
		    e->value);
	if (addr_parse(buf, &a) == 0)
		return refuse(e, "'%s': HOST is an address already", e->value);
	if ((why = host_norm(buf, pin.host, sizeof(pin.host))) != NULL)
		return refuse(e, "'%s': HOST is %s", e->value, why);
	if (port_parse(c1 + 1, strlen(c1 + 1), &pin.port) == -1)
		return refuse(e, "'%s': PORT is not a number from 1 to 65535",
		    e->value);
	n = strlen(addr);
	if (n >= 2 && addr[0] == '[' && addr[n - 1] == ']') {
		addr[n - 1] = '\0';
		addr++;
	}
	if (strchr(addr, ',') != NULL)
		return refuse(e, "'%s': one ADDRESS (curl takes a list, hpool "
		    "pins one)", e->value);
	if (addr_parse(addr, &a) == -1)
		return refuse(e, "'%s': '%s' is not an IPv4 or IPv6 address",
		    e->value, addr);
	addr_text(&a, pin.addr, sizeof(pin.addr));
	for (i = 0; i < p->npins; i++)
		if (p->pins[i].port == pin.port &&
		    strcmp(p->pins[i].host, pin.host) == 0)
			return refuse(e, "'%s': %s:%u is pinned already",
			    e->value, pin.host, pin.port);
	if (p->npins >= PINS_MAX || (p->pins = grow(p->pins, &p->pins_cap,
	    p->npins, sizeof(*p->pins), PINS_MAX)) == NULL)
		return refuse(e, "more than %d entries, or out of memory",
		    PINS_MAX);
	p->pins[p->npins++] = pin;
	return 0;
}

static int
set_caller_proxies(struct entry *e)
{
	if (strcmp(e->value, "allow") == 0)
		e->pol->caller_proxies = 1;
	else if (strcmp(e->value, "deny") == 0)
		e->pol->caller_proxies = 0;
	else
		return refuse(e, "'%s' is not allow or deny", e->value);
	return 0;
}

static int
set_allow_link_local(struct entry *e)
{
	if (strcmp(e->value, "yes") == 0)
		e->pol->allow_link_local = 1;
	else if (strcmp(e->value, "no") == 0)
		e->pol->allow_link_local = 0;
	else
		return refuse(e, "'%s' is not yes or no", e->value);
	return 0;
}

static int
set_proxy_url(struct entry *e)
{
	char why[160], shown[VALUE_MAX];

	if (url_parse(e->value, &e->pd->px, why, sizeof(why)) == -1) {
		url_shown(e->value, shown, sizeof(shown));
		return refuse(e, "'%s': %s", shown, why);
	}
	e->pd->has_url = 1;
	return 0;
}

static int
set_proxy_credentials(struct entry *e)
{
	return path_value(e, e->pd->px.credentials_file,
	    sizeof(e->pd->px.credentials_file));
}

/* An absolute path without control characters into dst (dstlen). */
static int
path_value(struct entry *e, char *dst, size_t dstlen)
{
	size_t n = strlen(e->value), i;

	if (e->value[0] != '/' || n >= dstlen)
		return refuse(e, "'%s' is not an absolute path shorter than "
		    "%zu bytes", e->value, dstlen);
	for (i = 0; i < n; i++)
		if ((unsigned char)e->value[i] < ' ' || e->value[i] == 0x7f)
			return refuse(e, "a control character in the path");
	snprintf(dst, dstlen, "%s", e->value);
	return 0;
}

static int
set_proxy_cacert(struct entry *e)
{
	return path_value(e, e->pd->px.cacert, sizeof(e->pd->px.cacert));
}

static int
set_simple_cacert(struct entry *e)
{
	return path_value(e, e->pol->simple_cacert,
	    sizeof(e->pol->simple_cacert));
}

static int
set_proxy_forward(struct entry *e)
{
	if (strcmp(e->value, "absolute") == 0)
		e->pd->px.absolute_form = 1;
	else if (strcmp(e->value, "connect") == 0)
		e->pd->px.absolute_form = 0;
	else
		return refuse(e, "'%s' is not absolute or connect", e->value);
	return 0;
}

/* -- proxy URLs -- */

/*
 * [scheme://][user[:pass]@]host[:port][/]. No scheme means http (curl and
 * Go agree). User and password are percent-decoded as curl does; %00 is
 * refused. Fills the URL fields of px, not its name.
 */
static int
url_parse(const char *v, struct policy_proxy *px, char *why, size_t whylen)
{
	const struct url_scheme *us = &url_schemes[0];
	char buf[VALUE_MAX], host[HOST_MAX + 2], *auth, *at, *hp, *colon;
	char *portp = NULL;
	const char *sep, *rest, *r;
	struct addr a;
	size_t i, n;

	if (strlen(v) >= sizeof(buf))
		return fail(why, whylen, "longer than %d bytes", VALUE_MAX - 1);
	if ((sep = strstr(v, "://")) != NULL) {
		n = (size_t)(sep - v);
		us = NULL;
		for (i = 0; i < sizeof(url_schemes) / sizeof(url_schemes[0]);
		    i++)
			if (strlen(url_schemes[i].name) == n &&
			    strncasecmp(v, url_schemes[i].name, n) == 0)
				us = &url_schemes[i];
		if (us == NULL && n == 6 && strncasecmp(v, "socks5", 6) == 0)
			return fail(why, whylen, "socks5:// resolves names "
			    "here for curl and at the proxy for Go: write "
			    "socks5h://");
		if (us == NULL)
			return fail(why, whylen, "the scheme '%.*s' is not "
			    "http, https or socks5h", (int)(n > 16 ? 16 : n),
			    v);
		rest = sep + 3;
	} else
		rest = v;
	n = strcspn(rest, "/?#");
	if (rest[n] != '\0' && strcmp(rest + n, "/") != 0)
		return fail(why, whylen, "a proxy URL has no path, query or "
		    "fragment");
	memcpy(buf, rest, n);
	buf[n] = '\0';
	auth = buf;
	memset(px->user, 0, sizeof(px->user));
	memset(px->pass, 0, sizeof(px->pass));
	if ((at = strrchr(auth, '@')) != NULL) {
		*at = '\0';
		if (strchr(auth, '@') != NULL)
			return fail(why, whylen, "more than one '@' (write "
			    "%%40 in a user name or password)");
		if ((colon = strchr(auth, ':')) != NULL)
			*colon = '\0';
		if (auth[0] == '\0')
			return fail(why, whylen, "an empty user name");
		if ((r = pct_decode(auth, strlen(auth), px->user,
		    sizeof(px->user))) != NULL)
			return fail(why, whylen, "the user name: %s", r);
		if (colon != NULL && (r = pct_decode(colon + 1,
		    strlen(colon + 1), px->pass, sizeof(px->pass))) != NULL)
			return fail(why, whylen, "the password: %s", r);
		hp = at + 1;
	} else
		hp = auth;
	if (hp[0] == '[') {
		if ((colon = strchr(hp, ']')) == NULL)
			return fail(why, whylen, "no ']' after '['");
		*colon = '\0';
		if (colon[1] == ':')
			portp = colon + 2;
		else if (colon[1] != '\0')
			return fail(why, whylen, "text after ']' that is not "
			    ":PORT");
		if (inet_pton(AF_INET6, hp + 1, a.b) != 1)
			return fail(why, whylen, "'%s' is not an IPv6 address",
			    hp + 1);
		snprintf(host, sizeof(host), "%s", hp + 1);
	} else {
		if ((colon = strchr(hp, ':')) != NULL) {
			if (strchr(colon + 1, ':') != NULL)
				return fail(why, whylen, "an IPv6 address is "
				    "written in brackets");
			*colon = '\0';
			portp = colon + 1;
		}
		if (strlen(hp) >= sizeof(host))
			return fail(why, whylen, "the host is longer than 253 "
			    "bytes");
		if (addr_parse(hp, &a) == 0)
			snprintf(host, sizeof(host), "%.45s", hp);
		else if ((r = host_norm(hp, host, sizeof(host))) != NULL)
			return fail(why, whylen, "the host is %s", r);
	}
	if (host[0] == '\0')
		return fail(why, whylen, "no host");
	if (portp == NULL || *portp == '\0') {
		if (us->port == 0)
			return fail(why, whylen, "no port (curl assumes 1080, "
			    "Go 80: write it)");
		px->port = us->port;
	} else if (port_parse(portp, strlen(portp), &px->port) == -1)
		return fail(why, whylen, "the port '%s' is not a number from 1 "
		    "to 65535", portp);
	snprintf(px->scheme, sizeof(px->scheme), "%s", us->name);
	snprintf(px->host, sizeof(px->host), "%s", host);
	return 0;
}

/* NULL, or why s (n bytes) does not decode into out. */
static const char *
pct_decode(const char *s, size_t n, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef0123456789ABCDEF";
	const char *h, *l;
	size_t i, o = 0;
	int c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c == '%') {
			/* strchr finds the NUL too: i + 2 < n first */
			if (i + 2 >= n || s[i + 1] == '\0' ||
			    s[i + 2] == '\0' ||
			    (h = strchr(hex, s[i + 1])) == NULL ||
			    (l = strchr(hex, s[i + 2])) == NULL)
				return "a '%' without two hex digits";
			c = (int)((h - hex) % 16) * 16 + (int)((l - hex) % 16);
			if (c == 0)
				return "%00 is refused";
			i += 2;
		}
		if (o + 1 >= outlen)
			return "too long once decoded";
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return NULL;
}

/* v, with a user and password shown as "***", for an error message. */
static void
url_shown(const char *v, char *buf, size_t len)
{
	const char *sep = strstr(v, "://"), *auth, *at = NULL, *c;
	size_t n;

	auth = sep != NULL ? sep + 3 : v;
	n = strcspn(auth, "/?#");
	for (c = auth; c < auth + n; c++)
		if (*c == '@')
			at = c;
	if (at == NULL)
		snprintf(buf, len, "%s", v);
	else
		snprintf(buf, len, "%.*s***%s", (int)(auth - v), v, at);
}

/* scheme://[***@]host:port: never a credential. */
static void
proxy_text(const struct policy_proxy *px, char *buf, size_t len)
{
	int v6 = strchr(px->host, ':') != NULL;

	snprintf(buf, len, "%s://%s%s%s%s:%u", px->scheme,
	    px->user[0] ? "***@" : "", v6 ? "[" : "", px->host, v6 ? "]" : "",
	    px->port);
}

/* -- addresses, names, destinations -- */

static int
addr_parse(const char *s, struct addr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, a->b) == 1)
		a->family = AF_INET;
	else if (inet_pton(AF_INET6, s, a->b) == 1)
		a->family = AF_INET6;
	else
		return -1;
	return 0;
}

/*
 * An IPv4-mapped IPv6 address (::ffff:a.b.c.d) reaches the IPv4 host
 * on a dual-stack socket: one destination, so it is matched as IPv4 (a
 * deny of 169.254.0.0/16 holds for ::ffff:169.254.169.254). plen (may be
 * NULL) is a prefix to carry over. 1 if a was mapped.
 */
static int
addr_unmap(struct addr *a, unsigned *plen)
{
	if (a->family != AF_INET6 || memcmp(a->b, v4mapped, 12) != 0)
		return 0;
	if (plen != NULL) {
		if (*plen < 96)
			return 0;
		*plen -= 96;
	}
	memmove(a->b, a->b + 12, 4);
	memset(a->b + 4, 0, 12);
	a->family = AF_INET;
	return 1;
}

static int
addr_in(const struct addr *net, unsigned plen, const struct addr *a)
{
	unsigned bytes = plen / 8, bits = plen % 8;

	if (net->family != a->family)
		return 0;
	if (memcmp(net->b, a->b, bytes) != 0)
		return 0;
	return bits == 0 ||
	    ((net->b[bytes] ^ a->b[bytes]) & (0xff << (8 - bits))) == 0;
}

/* Clear the bits past plen: 1 if any was set. */
static int
addr_mask(struct addr *a, unsigned plen)
{
	unsigned i, keep;
	int set = 0;

	for (i = 0; i < 16; i++) {
		keep = plen >= (i + 1) * 8 ? 0xff : plen <= i * 8 ? 0 :
		    (0xff << (8 - (plen - i * 8))) & 0xff;
		if (a->b[i] & ~keep)
			set = 1;
		a->b[i] &= keep;
	}
	return set;
}

static void
addr_text(const struct addr *a, char *buf, size_t len)
{
	if (inet_ntop(a->family, a->b, buf, (socklen_t)len) == NULL)
		snprintf(buf, len, "?");
}

static int
port_parse(const char *s, size_t n, uint16_t *port)
{
	unsigned long v = 0;
	size_t i;

	if (n == 0 || n > 5)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/*
 * A DNS name as hpool compares it: lowercase, one trailing dot dropped.
 * NULL, or why s is not one. A last label that is a number is refused:
 * getaddrinfo reads 127.1 or 0x7f000001 as an address (inet_aton), and
 * an address must not pass as a name that only name rules look at.
 */
static const char *
host_norm(const char *s, char *out, size_t outlen)
{
	size_t n = strlen(s), i, label = 0, last = 0;
	unsigned char ch;
	const char *l;

	if (n > 0 && s[n - 1] == '.')
		n--;
	if (n == 0)
		return "an empty name";
	if (n > 253 || n >= outlen)
		return "a name longer than 253 bytes";
	for (i = 0; i < n; i++) {
		ch = (unsigned char)s[i];
		if (ch == '.') {
			if (label == 0)
				return "a name with an empty label";
			label = 0;
			last = i + 1;
			out[i] = '.';
			continue;
		}
		if (ch >= 0x80)
			return "a name with a byte that is not ASCII (write "
			    "an international name in its xn-- form)";
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'))
			return "a name with a character other than letters, "
			    "digits, '-', '_' and '.'";
		if (++label > 63)
			return "a name with a label longer than 63 bytes";
		out[i] = (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
	}
	if (label == 0)
		return "a name with an empty label";
	out[n] = '\0';
	l = out + last;
	if (strspn(l, "0123456789") == strlen(l) ||
	    (l[0] == '0' && l[1] == 'x' &&
	    strspn(l + 2, "0123456789abcdef") == strlen(l + 2)))
		return "neither an IP address in standard form nor a name "
		    "(its last label is a number)";
	return NULL;
}

/*
 * One DEST of a rule (noproxy 0) or one no_proxy entry (1):
 *   * | NAME | .DOMAIN | ADDRESS | CIDR, then :PORT or :LOW-HIGH;
 *   IPv6 with a port in brackets: [fd00::/8]:443.
 * no_proxy also takes *.DOMAIN (names below it), and a NAME there is a
 * domain (curl and Go agree). quirks: the Q_ forms met.
 */
static int
dest_parse(const char *s, int noproxy, struct dest *d, unsigned *quirks,
    char *why, size_t whylen)
{
	char host[ENTRY_MAX];
	const char *ports = NULL, *end, *c;
	size_t n;

	memset(d, 0, sizeof(*d));
	d->port_hi = 65535;
	*quirks = 0;
	if ((n = strlen(s)) >= sizeof(host))
		return fail(why, whylen, "longer than %zu bytes",
		    sizeof(host) - 1);
	if (s[0] == '[') {
		if ((end = strchr(s, ']')) == NULL)
			return fail(why, whylen, "no ']' after '['");
		n = (size_t)(end - s - 1);
		memcpy(host, s + 1, n);
		host[n] = '\0';
		if (end[1] == ':')
			ports = end + 2;
		else if (end[1] != '\0')
			return fail(why, whylen, "text after ']' that is not "
			    ":PORT");
		if (strchr(host, ':') == NULL)
			return fail(why, whylen, "brackets are for IPv6 "
			    "addresses");
		if (noproxy && ports == NULL)
			return fail(why, whylen, "write an IPv6 address "
			    "without brackets (curl and Go never match this "
			    "form)");
	} else if ((c = strchr(s, ':')) != NULL && strchr(c + 1, ':') == NULL) {
		n = (size_t)(c - s);
		memcpy(host, s, n);
		host[n] = '\0';
		ports = c + 1;
	} else
		snprintf(host, sizeof(host), "%s", s);
	if (ports != NULL) {
		if (dest_ports(ports, noproxy, d, why, whylen) == -1)
			return -1;
		*quirks |= Q_PORT;
	}
	if (strcmp(host, "*") == 0) {
		if (noproxy)
			return fail(why, whylen, "'*' must be the whole list");
		d->kind = DEST_ANY;
		return 0;
	}
	if (strchr(host, '/') != NULL)
		return dest_cidr(host, noproxy, ports != NULL, d, quirks, why,
		    whylen);
	if (addr_parse(host, &d->net) == 0) {
		d->kind = DEST_NET;
		d->plen = d->net.family == AF_INET ? 32 : 128;
		if (addr_unmap(&d->net, &d->plen))
			*quirks |= Q_MAPPED;
		return 0;
	}
	if (strchr(host, ':') != NULL)
		return fail(why, whylen, "'%s' is not an IPv6 address%s", host,
		    ports != NULL || s[0] == '[' ? "" :
		    " (with a port, IPv6 goes in brackets: [ADDRESS]:PORT)");
	return dest_name(host, noproxy, d, quirks, why, whylen);
}

/* :PORT or :LOW-HIGH (rules); :PORT only (no_proxy, as Go). */
static int
dest_ports(const char *s, int noproxy, struct dest *d, char *why,
    size_t whylen)
{
	const char *dash = strchr(s, '-');

	if (dash != NULL && noproxy)
		return fail(why, whylen, "a port range (Go takes one port, "
		    "curl none)");
	if (dash == NULL) {
		if (port_parse(s, strlen(s), &d->port_lo) == -1)
			return fail(why, whylen, "port '%s' is not a number "
			    "from 1 to 65535", s);
		d->port_hi = d->port_lo;
		return 0;
	}
	if (port_parse(s, (size_t)(dash - s), &d->port_lo) == -1 ||
	    port_parse(dash + 1, strlen(dash + 1), &d->port_hi) == -1)
		return fail(why, whylen, "port range '%s' is not LOW-HIGH, "
		    "each from 1 to 65535", s);
	if (d->port_lo > d->port_hi)
		return fail(why, whylen, "port range %u-%u runs backwards",
		    d->port_lo, d->port_hi);
	return 0;
}

static int
dest_cidr(char *host, int noproxy, int ports, struct dest *d,
    unsigned *quirks, char *why, size_t whylen)
{
	char *pfx = strchr(host, '/'), an[INET6_ADDRSTRLEN];
	unsigned max, plen;
	size_t n;

	*pfx++ = '\0';
	if (noproxy && ports)
		return fail(why, whylen, "a CIDR takes no port here (curl and "
		    "Go never match it)");
	if (addr_parse(host, &d->net) == -1)
		return fail(why, whylen, "'%s' is not an IPv4 or IPv6 address",
		    host);
	max = d->net.family == AF_INET ? 32 : 128;
	n = strlen(pfx);
	if (n == 0 || n > 3 || strspn(pfx, "0123456789") != n)
		return fail(why, whylen, "prefix length '%s' is not a number%s",
		    pfx, strchr(pfx, ':') != NULL ? " (with a port, IPv6 goes "
		    "in brackets: [NETWORK/LENGTH]:PORT)" : "");
	plen = (unsigned)atoi(pfx);
	if (plen > max)
		return fail(why, whylen, "prefix length %u is larger than %u",
		    plen, max);
	/* curl and Go both mask a no_proxy entry's host bits; in a rule
	 * they are more likely a typo than a wish */
	if (addr_mask(&d->net, plen) && !noproxy) {
		addr_text(&d->net, an, sizeof(an));
		return fail(why, whylen, "%s has bits set past the /%u prefix "
		    "(the network is %s/%u)", host, plen, an, plen);
	}
	if (plen == 0)
		*quirks |= Q_ZERO_PREFIX;
	if (addr_unmap(&d->net, &plen))
		*quirks |= Q_MAPPED;
	d->kind = DEST_NET;
	d->plen = plen;
	return 0;
}

static int
dest_name(const char *host, int noproxy, struct dest *d, unsigned *quirks,
    char *why, size_t whylen)
{
	const char *h = host, *r;
	size_t n = strlen(host);

	d->kind = noproxy ? DEST_DOMAIN : DEST_NAME;
	if (strncmp(h, "*.", 2) == 0) {
		if (!noproxy)
			return fail(why, whylen, "a domain and the names below "
			    "it are written '.%s'", h + 2);
		d->kind = DEST_BELOW;
		*quirks |= Q_STAR_DOT;
		h += 2;
	} else if (h[0] == '.') {
		d->kind = DEST_DOMAIN;
		if (noproxy)
			*quirks |= Q_LEADING_DOT;
		h++;
	}
	if (n > 1 && host[n - 1] == '.' && noproxy)
		*quirks |= Q_TRAILING_DOT;
	if ((r = host_norm(h, d->name, sizeof(d->name))) != NULL)
		return fail(why, whylen, "%s", r);
	return 0;
}

/* host (lowercase, no trailing dot) against a pattern of kind k. */
static int
name_match(enum dest_kind k, const char *pat, const char *host)
{
	size_t pl = strlen(pat), hl = strlen(host);
	int same = strcmp(host, pat) == 0;
	int below = hl > pl && host[hl - pl - 1] == '.' &&
	    strcmp(host + hl - pl, pat) == 0;

	if (k == DEST_NAME)
		return same;
	if (k == DEST_DOMAIN)
		return same || below;
	return below;
}

static enum match
dest_match(const struct dest *d, const struct target *t)
{
	if (t->port < d->port_lo || t->port > d->port_hi)
		return MATCH_NO;
	switch (d->kind) {
	case DEST_ANY:
		return MATCH_YES;
	case DEST_NAME:
	case DEST_DOMAIN:
	case DEST_BELOW:
		return t->name != NULL && name_match(d->kind, d->name,
		    t->name) ? MATCH_YES : MATCH_NO;
	case DEST_NET:
		if (t->addr != NULL)
			return addr_in(&d->net, d->plen, t->addr) ? MATCH_YES :
			    MATCH_NO;
		return t->name != NULL ? MATCH_UNKNOWN : MATCH_NO;
	}
	return MATCH_NO;
}

/* Does a rule's dest d name the built-in range b: an address or CIDR
 * inside it, or its name (or a domain at or below it)? A wider dest
 * (*, 0.0.0.0/0, .internal) only happens to contain it. */
static int
dest_names(const struct dest *d, const struct dest *b)
{
	if (b->kind == DEST_NET)
		return d->kind == DEST_NET && d->plen >= b->plen &&
		    addr_in(&b->net, b->plen, &d->net);
	return (d->kind == DEST_NAME || d->kind == DEST_DOMAIN) &&
	    name_match(DEST_DOMAIN, b->name, d->name);
}

/* -- matching -- */

static enum match
match_uid(const struct rule *r, const struct policy_caller *c,
    const struct target *t)
{
	(void)t;
	return c != NULL && c->uid == r->uid ? MATCH_YES : MATCH_NO;
}

static enum match
match_gid(const struct rule *r, const struct policy_caller *c,
    const struct target *t)
{
	(void)t;
	return c != NULL && c->gid == r->gid ? MATCH_YES : MATCH_NO;
}

static enum match
match_user(const struct rule *r, const struct policy_caller *c,
    const struct target *t)
{
	(void)t;
	return c != NULL && c->user != NULL && strcmp(c->user, r->user) == 0 ?
	    MATCH_YES : MATCH_NO;
}

static enum match
match_group(const struct rule *r, const struct policy_caller *c,
    const struct target *t)
{
	(void)t;
	return c != NULL && c->group != NULL &&
	    strcmp(c->group, r->group) == 0 ? MATCH_YES : MATCH_NO;
}

static enum match
match_unit(const struct rule *r, const struct policy_caller *c,
    const struct target *t)
{
	(void)t;
	return c != NULL && c->unit != NULL &&
	    fnmatch(r->unit, c->unit, 0) == 0 ? MATCH_YES : MATCH_NO;
}

static enum match
match_dest(const struct rule *r, const struct policy_caller *c,
    const struct target *t)
{
	(void)c;
	return dest_match(&r->dest, t);
}

static enum match
match_scheme(const struct rule *r, const struct policy_caller *c,
    const struct target *t)
{
	(void)c;
	return r->scheme == t->scheme ? MATCH_YES : MATCH_NO;
}

/* Every term must hold; UNKNOWN when all that can be told hold and an
 * address term waits for the name's addresses. */
static enum match
rule_match(const struct rule *r, const struct policy_caller *c,
    const struct target *t)
{
	enum match m, all = MATCH_YES;
	size_t i;

	for (i = 0; i < T_COUNT; i++) {
		if (!(r->terms & (1u << i)))
			continue;
		if ((m = term_kinds[i].match(r, c, t)) == MATCH_NO)
			return MATCH_NO;
		if (m == MATCH_UNKNOWN)
			all = MATCH_UNKNOWN;
	}
	return all;
}

/* -- deciding -- */

/* t from the caller's scheme and host; name and a are t's storage. -1
 * and why when the destination cannot be decided at all. */
static int
target_init(struct target *t, const char *scheme, const char *host,
    uint16_t port, char *name, struct addr *a, char *why, size_t whylen)
{
	memset(t, 0, sizeof(*t));
	t->port = port;
	if (scheme != NULL && strcasecmp(scheme, "http") == 0)
		t->scheme = SCHEME_HTTP;
	else if (scheme != NULL && strcasecmp(scheme, "https") == 0)
		t->scheme = SCHEME_HTTPS;
	else
		return fail(why, whylen, "built-in: the scheme is not http or "
		    "https");
	if (host == NULL)
		return fail(why, whylen, "built-in: no host");
	if (addr_parse(host, a) == 0) {
		addr_unmap(a, NULL);
		t->addr = a;
		return 0;
	}
	/* the host is the caller's: it is not echoed into a log line */
	if (host_norm(host, name, HOST_MAX) != NULL)
		return fail(why, whylen, "built-in: the host is neither a DNS "
		    "name nor an IP address in standard form");
	t->name = name;
	return 0;
}

/*
 * Steps 1 and 2 of the order (the file's head comment): 1 and r filled
 * when a rule or a built-in deny decides, 0 when neither does.
 */
static int
route_rules(const struct policy *p, const struct policy_caller *c,
    const struct target *t, struct policy_route *r)
{
	const struct dest *bi = NULL;
	const struct rule *ru;
	char an[INET6_ADDRSTRLEN];
	size_t i, b = 0;

	for (b = 0; b < NBUILTINS; b++) {
		if (builtins[b].link_local && p->allow_link_local)
			continue;
		if (dest_match(&p->builtin[b], t) == MATCH_YES) {
			bi = &p->builtin[b];
			break;
		}
	}
	for (i = 0; i < p->nrules; i++) {
		ru = &p->rules[i];
		/* UNKNOWN: an address rule for a name not resolved yet;
		 * policy_addr_ok decides it per address */
		if (rule_match(ru, c, t) != MATCH_YES)
			continue;
		if (bi != NULL && ru->action != POLICY_DENY &&
		    (!(ru->terms & (1u << T_DEST)) ||
		    !dest_names(&ru->dest, bi)))
			continue;
		r->action = ru->action;
		r->rule = (int)i + 1;
		snprintf(r->why, sizeof(r->why), "rule %zu (%s)", i + 1,
		    ru->text);
		if (ru->action == POLICY_PROXY) {
			if (ru->proxy < 0) {
				/* policy_finish was not run: not a route */
				r->action = POLICY_DENY;
				snprintf(r->why, sizeof(r->why), "rule %zu: "
				    "proxy %s is not set up", i + 1,
				    ru->proxy_name);
			} else
				r->proxy = &p->proxies[ru->proxy].px;
		}
		return 1;
	}
	if (bi == NULL)
		return 0;
	r->action = POLICY_DENY;
	r->rule = 0;
	if (bi->kind == DEST_NET) {
		addr_text(&bi->net, an, sizeof(an));
		if (bi->plen == (bi->net.family == AF_INET ? 32u : 128u))
			snprintf(r->why, sizeof(r->why), "built-in: %s (%s)",
			    builtins[b].what, an);
		else
			snprintf(r->why, sizeof(r->why), "built-in: %s "
			    "(%s/%u)", builtins[b].what, an, bi->plen);
	} else
		snprintf(r->why, sizeof(r->why), "built-in: %s (%.200s)",
		    builtins[b].what, bi->name);
	return 1;
}

/* Step 3: the simple form. 1 and r filled, or 0 (no proxy for the
 * scheme). no_proxy matches the host as given: a name is not resolved
 * for it, an address entry matches an IP literal only. */
static int
route_simple(const struct policy *p, const struct target *t,
    struct policy_route *r)
{
	const struct proxy_def *pd;
	char s[VALUE_MAX];
	size_t i;

	pd = &p->simple[t->scheme == SCHEME_HTTPS ? SIMPLE_HTTPS :
	    SIMPLE_HTTP];
	if (!pd->has_url)
		pd = &p->simple[SIMPLE_ALL];
	if (!pd->has_url)
		return 0;
	r->rule = -1;
	if (p->np_all) {
		r->action = POLICY_DIRECT;
		snprintf(r->why, sizeof(r->why), "no_proxy '*'");
		return 1;
	}
	for (i = 0; i < p->nnp; i++)
		if (dest_match(&p->np[i].dest, t) == MATCH_YES) {
			r->action = POLICY_DIRECT;
			snprintf(r->why, sizeof(r->why), "no_proxy entry "
			    "'%.200s'", p->np[i].text);
			return 1;
		}
	r->action = POLICY_PROXY;
	r->proxy = &pd->px;
	proxy_text(&pd->px, s, sizeof(s));
	snprintf(r->why, sizeof(r->why), "%.16s (%.200s)", pd->px.name, s);
	return 1;
}
