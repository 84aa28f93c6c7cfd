/*
 * policy.h: the egress rules: which destinations a caller may reach, and
 * whether directly, through a proxy the daemon owns, or not at all.
 * No I/O: the caller reads the config (policy_config, one entry at a
 * time), resolves names, reads credentials files and logs the texts this
 * module returns. A finished policy is read-only: workers share it
 * without a lock. hpoold.conf(5), section POLICY, has the grammar.
 */
#ifndef HPOOL_POLICY_H
#define HPOOL_POLICY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct sockaddr;
struct policy;		/* rules, proxies, no_proxy, resolve map */

/* An empty policy (no rules, no proxies, the built-in denies), or NULL
 * when out of memory. */
struct policy	*policy_new(void);
void		 policy_free(struct policy *);

/*
 * One config entry as inih gives it. Section "policy" (rule) and
 * "proxy NAME" (url, credentials_file, forward) are the policy's
 * entirely; of section "hpoold" only proxy, http_proxy, https_proxy,
 * no_proxy, resolve, caller_proxies and allow_link_local are. Returns 1
 * (taken), -1 (refused: err names the setting and the offending text,
 * never a password; the caller adds file and line) or 0 (not a policy
 * entry). err, and warn (may be NULL), are set to "" first; warn is then
 * set to a text to log when the entry is taken but means something else
 * to curl or Go (a no_proxy form where they differ). Settings other than
 * rule, no_proxy and resolve may be given once. The section name is
 * taken as inih gives it: "proxy  NAME " (blanks around NAME) is fine.
 */
int	policy_config(struct policy *, const char *section, const char *name,
	    const char *value, char *err, size_t errlen, char *warn,
	    size_t warnlen);
/* 1 if NAME may be given several times in SECTION (rule, no_proxy,
 * resolve: lists), 0 otherwise (a policy setting given once, or not the
 * policy's at all). */
int	policy_setting_repeats(const char *section, const char *name);
/* After the last entry, before any decision: the cross-checks (a rule
 * names a proxy with no section, a proxy section without url, url
 * credentials and a credentials_file both). 0, or -1 and err. */
int	policy_finish(struct policy *, char *err, size_t errlen);

/* Who asks, as session.c knows it. user, group: names, NULL if unknown;
 * unit: the systemd unit ("foo.service"), NULL if none. The caller may be
 * NULL: then no caller term matches. */
struct policy_caller {
	uid_t		 uid;
	gid_t		 gid;
	pid_t		 pid;
	const char	*user;
	const char	*group;
	const char	*unit;
};

enum policy_action {
	POLICY_DIRECT = 0,
	POLICY_PROXY,
	POLICY_DENY,
};

#define POLICY_PATH_MAX	512

/* A proxy the daemon owns: a [proxy NAME] section, or one of the simple
 * form's proxy, http_proxy, https_proxy (name is then that setting). */
struct policy_proxy {
	char		name[64];
	char		scheme[8];	/* "http", "https", "socks5h" */
	char		host[256];	/* name or IP literal, no brackets */
	uint16_t	port;		/* always given: curl and Go differ
					 * on the default */
	char		user[128];	/* percent-decoded, "" if none */
	char		pass[128];
	/* the path as written, "" if none; never with user/pass in url.
	 * The daemon reads it, not this module. */
	char		credentials_file[POLICY_PATH_MAX];
	int		absolute_form;	/* forward = absolute: plain-http
					 * requests in absolute form, not
					 * through CONNECT */
	/* https:// proxies: cacert = PATH (or proxy_cacert for the simple
	 * form), "" for the system store; the PEM the daemon read from it
	 * (policy_proxy_set_cacert), freed with the policy */
	char		cacert[POLICY_PATH_MAX];
	char		*cacert_pem;
	size_t		cacert_len;
};

struct policy_route {
	enum policy_action action;
	const struct policy_proxy *proxy; /* POLICY_PROXY; owned by the
					 * policy, lives as long as it */
	/* 1-based index of the deciding rule; 0: a built-in (deny or the
	 * final direct); -1: the simple form (proxy / no_proxy) */
	int		rule;
	/* for a log line or an error to the caller; never a credential */
	char		why[256];
	/* POLICY_DIRECT to a name (always so: the built-in denies of the
	 * metadata addresses hold for every name). Check every resolved
	 * address with policy_addr_ok() before connecting to it. */
	int		needs_addr_check;
};

/* scheme "http" or "https"; host as the caller gave it (a name or an IP
 * literal, no brackets, no port). route is always filled. */
void	policy_decide(const struct policy *, const struct policy_caller *,
	    const char *scheme, const char *host, uint16_t port,
	    struct policy_route *route);
/* A direct route to host: may the resolved address sa (AF_INET or
 * AF_INET6; its port is ignored, port is used) be connected to? 1 yes;
 * 0 no, and why (if whylen) says which rule or built-in refused it. */
int	policy_addr_ok(const struct policy *, const struct policy_caller *,
	    const char *scheme, const char *host, uint16_t port,
	    const struct sockaddr *sa, char *why, size_t whylen);
/* A resolve = HOST:PORT:ADDRESS entry: the pinned address for host:port
 * as text (IPv4, or IPv6 without brackets), owned by the policy; NULL if
 * none. The address is still to be checked with policy_addr_ok(). */
const char *policy_resolve(const struct policy *, const char *host,
	    uint16_t port);
/* caller_proxies = allow (1, the default) | deny (0): may a caller name
 * a proxy of its own in OPEN? */
int	policy_caller_proxies_allowed(const struct policy *);
/* The whole policy as text for --explain and logs, one item a line, in
 * the order decisions take; a proxy's user and password shown as "***".
 * Like snprintf: the length the whole text needs; buf (may be NULL when
 * buflen is 0) always NUL-terminated. */
/* 1 if a rule names a user, a group or a unit: then a caller's names
 * must be looked up for every request; 0: uid and gid decide. */
int	policy_needs_names(const struct policy *);
/* The i-th proxy the policy defines (sections, then the simple form's
 * set ones), or NULL past the last. */
const struct policy_proxy *policy_proxy_at(const struct policy *, size_t i);
/* The credentials of the i-th proxy (as policy_proxy_at counts), read by
 * the caller from its credentials_file: copied in, replacing any. After
 * policy_finish, before the policy is shared. user: 1 to 127 bytes; pass:
 * at most 127. 0, or -1 (no such proxy, or a length out of bounds; the
 * proxy is then unchanged). */
int	policy_proxy_set_credentials(struct policy *, size_t i,
	    const char *user, const char *pass);
/* The PEM read from the i-th proxy's cacert file, copied in, replacing
 * any. 0, or -1 (no such proxy, out of memory). */
int	policy_proxy_set_cacert(struct policy *, size_t i, const char *pem,
	    size_t len);
size_t	policy_text(const struct policy *, char *buf, size_t buflen);

#endif
