/* config.c: owns hpoold.conf parsing (libinih) and the defaults. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>

#include <ini.h>

#include "config.h"
#include "log.h"
#include "policy.h"
#include "proto.h"

/* The config file is read whole (the workers get the same bytes on a
 * reload, in one control message), so it has a cap. */
#define CONFIG_TEXT_MAX	(128 * 1024)
/* A credentials file is one line, USER:PASSWORD; a bigger file is not
 * one. */
#define CREDS_FILE_MAX	4096
#define CACERT_FILE_MAX	(1024 * 1024)	/* an https:// proxy's cacert */

/* The most settings one file may hold (a 128 KiB file of short lines
 * stays below it). */
#define SEEN_MAX	16384

/* A setting as met in the file: a second one of a setting given once is
 * refused naming both lines, and errors found after the last line (a
 * proxy without url, a credentials file) name the line they are about. */
struct seen {
	char		 section[72];	/* blanks squeezed: "proxy NAME" */
	char		 name[64];
	int		 line;
};

struct load_ctx {
	struct config	*cfg;
	struct policy	*pol;
	const char	*path;
	/* the text, handed to inih a line at a time (next_line) so that the
	 * line of each entry is known */
	const char	*next;
	int		 line;		/* the line inih has now, from 1 */
	int		 indented;	/* it starts with a blank */
	/* the first error: its line (0: none yet) and text */
	int		 errline;
	char		 err[600];
	struct seen	*seen;
	size_t		 nseen, seencap;
};

static int	parse_uint(const char *, int, unsigned long, unsigned long,
		    unsigned *);
static int	on_entry(void *, const char *, const char *, const char *);
static int	fail(struct load_ctx *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static char	*next_line(char *, int, void *);
static int	note_seen(struct load_ctx *, const char *, const char *,
		    const char *);
static int	seen_line(const struct load_ctx *, const char *,
		    const char *, unsigned);
static int	proxy_line(const struct load_ctx *,
		    const struct policy_proxy *, const char *);
static int	finish_line(const struct load_ctx *, const char *);
static void	syntax_error(struct load_ctx *, const char *, int);
static int	load_cacert(struct policy *, size_t, char *, size_t);
static int	load_credentials(struct policy *, size_t, char *, size_t,
		    char *, size_t);

/* The settings the config file may hold: section "hpoold". */
struct setting {
	const char	*name;
	size_t		 offset;
	int		 base;
	unsigned long	 min;
	unsigned long	 max;
	unsigned	 scale;		/* file unit -> stored unit */
	int		 autook;	/* "auto" is taken, stored as 0 */
};

#define OFF(f)	offsetof(struct config, f)
static const struct setting settings[] = {
	{ "socket_mode", OFF(socket_mode), 8, 0, 0777, 1, 0 },
	{ "max_per_host", OFF(max_per_host), 10, 1, 65535, 1, 0 },
	{ "max_idle_per_host", OFF(max_idle_per_host), 10, 0, 65535, 1, 0 },
	{ "max_queue", OFF(max_queue), 10, 0, 1000000, 1, 0 },
	{ "max_sessions", OFF(max_sessions), 10, 1, 1000000, 1, 1 },
	{ "max_sessions_per_uid", OFF(max_sessions_per_uid), 10, 1, 1000000,
	    1, 1 },
	/* at most half the destination table of quota.c */
	{ "max_connections", OFF(max_connections), 10, 1, 65535, 1, 1 },
	{ "max_connections_per_uid", OFF(max_connections_per_uid), 10, 1,
	    65535, 1, 1 },
	{ "max_idle", OFF(max_idle), 10, 0, 1000000, 1, 1 },
	/* a REQ_BODY frame (64 KiB) must fit, with room for a head */
	{ "max_session_buffer", OFF(max_session_buffer), 10, 131072,
	    PROTO_FRAME_HDR + PROTO_MAX_PAYLOAD, 1, 0 },
	{ "partition_by_uid", OFF(partition_by_uid), 0, 0, 1, 1, 0 },
	{ "access_log", OFF(access_log), 0, 0, 1, 1, 0 },
	{ "idle_timeout", OFF(idle_timeout_ms), 10, 1, 86400, 1000, 0 },
	{ "connect_timeout", OFF(connect_timeout_ms), 10, 1, 3600, 1000, 0 },
	{ "io_timeout", OFF(io_timeout_ms), 10, 1, 86400, 1000, 0 },
	{ "session_idle_timeout", OFF(session_idle_timeout_ms), 10, 1, 86400,
	    1000, 0 },
	{ "client_write_timeout", OFF(client_write_timeout_ms), 10, 1, 86400,
	    1000, 0 },
	{ "workers", OFF(workers), 10, 1, 64, 1, 1 },
	{ "max_conn_age", OFF(max_conn_age_ms), 10, 0, 604800, 1000, 0 },
	{ "max_requests_per_conn", OFF(max_requests_per_conn), 10, 0,
	    1000000000, 1, 0 },
};
#undef OFF

void
config_default_socket(char *buf, size_t len)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");

	if (geteuid() != 0 && xdg != NULL && *xdg == '/')
		snprintf(buf, len, "%s/hpool/hpoold.sock", xdg);
	else
		snprintf(buf, len, "/run/hpool/hpoold.sock");
}

void
config_defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	config_default_socket(c->socket_path, sizeof(c->socket_path));
	c->socket_mode = 0660;
	c->max_per_host = 32;
	c->max_idle_per_host = 32;
	c->max_queue = 1024;
	c->max_sessions = 0;		/* auto: from the fd limit */
	c->max_sessions_per_uid = 0;
	c->max_connections = 0;
	c->max_connections_per_uid = 0;
	c->max_idle = 0;
	c->max_session_buffer = 1024 * 1024;
	c->partition_by_uid = 0;
	c->idle_timeout_ms = 60 * 1000;
	c->connect_timeout_ms = 30 * 1000;
	c->io_timeout_ms = 300 * 1000;
	c->session_idle_timeout_ms = 3600 * 1000;
	c->client_write_timeout_ms = 300 * 1000;
	c->workers = 0;			/* auto: one per core */
	c->log_level = LOG_LVL_INFO;
	c->access_log = 1;
	snprintf(c->stats_group, sizeof(c->stats_group), "hpool");
}

/* metrics_listen: 127.0.0.0/8 or [::1], and a port. The page names
 * destinations and callers and asks no password: never another address. */
static int
metrics_listen_ok(const char *v)
{
	char host[64];
	const char *colon = strrchr(v, ':');
	unsigned char a[16];
	unsigned port;
	size_t n;

	if (colon == NULL || (n = (size_t)(colon - v)) == 0 ||
	    n >= sizeof(host) || parse_uint(colon + 1, 10, 1, 65535,
	    &port) == -1)
		return 0;
	memcpy(host, v, n);
	host[n] = '\0';
	if (host[0] == '[' && host[n - 1] == ']') {
		host[n - 1] = '\0';
		return inet_pton(AF_INET6, host + 1, a) == 1 &&
		    memcmp(a, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16) == 0;
	}
	return inet_pton(AF_INET, host, a) == 1 && a[0] == 127;
}

static int
parse_uint(const char *s, int base, unsigned long min, unsigned long max,
    unsigned *out)
{
	unsigned long v;
	char *end;

	if (*s == '\0' || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	v = strtoul(s, &end, base);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* ADDRESS, ADDRESS:PORT, IPV6 or [IPV6]:PORT: 0 if one of them. */
static int
check_addr_port(const char *s)
{
	unsigned char buf[16];
	char host[64];
	const char *end, *colon;
	unsigned port;
	size_t n;

	if (s[0] == '[') {
		if ((end = strchr(s, ']')) == NULL)
			return -1;
		n = (size_t)(end - s - 1);
		colon = end[1] == ':' ? end + 1 : NULL;
		if (end[1] != '\0' && colon == NULL)
			return -1;
		s++;
	} else if ((colon = strchr(s, ':')) != NULL &&
	    strchr(colon + 1, ':') != NULL) {
		n = strlen(s);		/* a bare IPv6 address */
		colon = NULL;
	} else
		n = colon != NULL ? (size_t)(colon - s) : strlen(s);
	if (n == 0 || n >= sizeof(host))
		return -1;
	memcpy(host, s, n);
	host[n] = '\0';
	if (inet_pton(AF_INET, host, buf) != 1 &&
	    inet_pton(AF_INET6, host, buf) != 1)
		return -1;
	if (colon != NULL && parse_uint(colon + 1, 10, 1, 65535, &port) == -1)
		return -1;
	return 0;
}

/* warm = URL COUNT: http:// or https://, a host, an optional port, no
 * user:password, nothing after the path's first slash but the path. */
static int
parse_warm(struct load_ctx *ctx, struct config *c, const char *value)
{
	struct config_warm w;
	const char *sp, *h, *end, *colon;
	char url[320];
	size_t n;
	unsigned port;

	memset(&w, 0, sizeof(w));
	if (c->nwarm >= CONFIG_WARM_MAX)
		return fail(ctx, "warm: '%s' is one more than the %d warm "
		    "destinations allowed", value, CONFIG_WARM_MAX);
	if ((sp = strrchr(value, ' ')) == NULL ||
	    (size_t)(sp - value) >= sizeof(url) ||
	    parse_uint(sp + 1, 10, 1, CONFIG_WARM_COUNT, &w.count) == -1)
		return fail(ctx, "warm: '%s' is not URL COUNT (COUNT from 1 "
		    "to %d)", value, CONFIG_WARM_COUNT);
	memcpy(url, value, (size_t)(sp - value));
	url[sp - value] = '\0';
	if (strncmp(url, "http://", 7) == 0) {
		snprintf(w.scheme, sizeof(w.scheme), "http");
		w.port = 80;
		h = url + 7;
	} else if (strncmp(url, "https://", 8) == 0) {
		snprintf(w.scheme, sizeof(w.scheme), "https");
		w.port = 443;
		h = url + 8;
	} else
		goto bad;
	end = h + strcspn(h, "/?#");
	if (memchr(h, '@', (size_t)(end - h)) != NULL)
		goto bad;
	if (*h == '[') {
		if ((colon = memchr(h, ']', (size_t)(end - h))) == NULL)
			goto bad;
		n = (size_t)(colon - h - 1);
		h++;
		colon = colon[1] == ':' ? colon + 1 : NULL;
	} else {
		colon = memchr(h, ':', (size_t)(end - h));
		n = (size_t)((colon != NULL ? colon : end) - h);
	}
	if (n == 0 || n >= sizeof(w.host))
		goto bad;
	memcpy(w.host, h, n);
	if (colon != NULL) {
		char pbuf[8];

		if ((size_t)(end - colon - 1) >= sizeof(pbuf))
			goto bad;
		memcpy(pbuf, colon + 1, (size_t)(end - colon - 1));
		pbuf[end - colon - 1] = '\0';
		if (parse_uint(pbuf, 10, 1, 65535, &port) == -1)
			goto bad;
		w.port = port;
	}
	c->warm[c->nwarm++] = w;
	return 1;
bad:
	return fail(ctx, "warm: '%s' is not an http:// or https:// URL with "
	    "a host (and no user:password)", url);
}

/* nameserver = ADDRESS[:PORT] ..., the resolvers to ask instead of
 * /etc/resolv.conf's (separated by spaces or commas; [V6]:PORT). */
static int
parse_nameservers(struct load_ctx *ctx, struct config *c, const char *value)
{
	char one[80];
	const char *p = value;
	size_t n;

	if (strlen(value) >= sizeof(c->nameservers))
		return fail(ctx, "nameserver: the list is longer than %zu "
		    "bytes", sizeof(c->nameservers) - 1);
	for (;;) {
		p += strspn(p, " \t,");
		if ((n = strcspn(p, " \t,")) == 0)
			break;
		if (n >= sizeof(one) || (memcpy(one, p, n), one[n] = '\0',
		    check_addr_port(one) != 0))
			return fail(ctx, "nameserver: '%.*s' is not an IP "
			    "address with an optional :PORT", (int)(n < 80 ?
			    n : 80), p);
		p += n;
	}
	snprintf(c->nameservers, sizeof(c->nameservers), "%s", value);
	return 1;
}

/* The first error wins: its line is the line inih has now. Returns 0,
 * inih's "stop" (it goes on to the end, finding nothing we keep). */
static int
fail(struct load_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	if (ctx->errline != 0)
		return 0;
	ctx->errline = ctx->line;
	va_start(ap, fmt);
	vsnprintf(ctx->err, sizeof(ctx->err), fmt, ap);
	va_end(ap);
	return 0;
}

/* inih's reader: one line of the text a call, counted. A line longer
 * than inih's buffer is an error here (inih would cut the value short
 * and say nothing). */
static char *
next_line(char *buf, int size, void *arg)
{
	struct load_ctx *ctx = arg;
	const char *p = ctx->next, *eol;
	size_t len;

	if (*p == '\0' || size < 2)
		return NULL;
	eol = strchr(p, '\n');
	len = eol != NULL ? (size_t)(eol - p) : strlen(p);
	ctx->next = p + len + (eol != NULL);
	ctx->line++;
	ctx->indented = len > 0 && (p[0] == ' ' || p[0] == '\t');
	if (len > (size_t)size - 1) {
		fail(ctx, "a line holds at most %d bytes, this one %zu",
		    size - 1, len);
		len = 0;
	}
	memcpy(buf, p, len);
	buf[len] = '\0';
	return buf;
}

/* A section name with its blanks squeezed, as the policy reads it. */
static void
section_key(char *out, size_t outlen, const char *section)
{
	size_t o = 0;
	int blank = 0;

	for (; *section != '\0' && o + 2 < outlen; section++) {
		if (*section == ' ' || *section == '\t') {
			blank = o > 0;
			continue;
		}
		if (blank)
			out[o++] = ' ';
		blank = 0;
		out[o++] = *section;
	}
	out[o] = '\0';
}

/* The line of the n-th (from 0) NAME in SECTION, 0 if none. */
static int
seen_line(const struct load_ctx *ctx, const char *section, const char *name,
    unsigned n)
{
	char sec[sizeof(ctx->seen->section)];
	size_t i;

	section_key(sec, sizeof(sec), section);
	for (i = 0; i < ctx->nseen; i++)
		if (strcmp(ctx->seen[i].section, sec) == 0 &&
		    (name == NULL || strcmp(ctx->seen[i].name, name) == 0) &&
		    n-- == 0)
			return ctx->seen[i].line;
	return 0;
}

/* Remember NAME in SECTION at this line; a second one of a setting given
 * once is an error naming both lines. 0, or -1 (ctx's error set). */
static int
note_seen(struct load_ctx *ctx, const char *section, const char *name,
    const char *value)
{
	char sec[sizeof(ctx->seen->section)];
	struct seen *sn;
	int first;

	first = seen_line(ctx, section, name, 0);
	/* warm = is a list: a line per destination */
	if (first != 0 && !policy_setting_repeats(section, name) &&
	    !(strcmp(section, "hpoold") == 0 && strcmp(name, "warm") == 0)) {
		section_key(sec, sizeof(sec), section);
		if (ctx->indented)
			fail(ctx, "[%s] %s: '%s' on an indented line, which "
			    "continues the setting above it: %s is given once "
			    "(line %d)", sec, name, value, name, first);
		else
			fail(ctx, "[%s] %s: '%s' given a second time (first at "
			    "line %d): %s is given once", sec, name, value,
			    first, name);
		return -1;
	}
	if (ctx->nseen == ctx->seencap) {
		size_t cap = ctx->seencap ? ctx->seencap * 2 : 64;

		if (cap > SEEN_MAX || (sn = realloc(ctx->seen, cap *
		    sizeof(*sn))) == NULL) {
			fail(ctx, "%s", cap > SEEN_MAX ? "more than 16384 "
			    "settings" : "out of memory");
			return -1;
		}
		ctx->seen = sn;
		ctx->seencap = cap;
	}
	sn = &ctx->seen[ctx->nseen++];
	section_key(sn->section, sizeof(sn->section), section);
	snprintf(sn->name, sizeof(sn->name), "%s", name);
	sn->line = ctx->line;
	return 0;
}

static int
on_entry(void *arg, const char *section, const char *name, const char *value)
{
	struct load_ctx *ctx = arg;
	struct config *c = ctx->cfg;
	char perr[256], warn[256];
	unsigned v;
	size_t i;
	int r;

	if (note_seen(ctx, section, name, value) == -1)
		return 0;
	/* rules and proxies are the policy's: [policy], [proxy NAME] and a
	 * few names in [hpoold] */
	warn[0] = '\0';
	r = policy_config(ctx->pol, section, name, value, perr, sizeof(perr),
	    warn, sizeof(warn));
	if (r == -1)
		return fail(ctx, "%s", perr);
	if (r == 1) {
		if (warn[0] != '\0')
			log_warn("%s:%d: %s", ctx->path, ctx->line, warn);
		return 1;
	}
	if (strcmp(section, "hpoold") != 0)
		return fail(ctx, "unknown section [%s] (the sections are "
		    "[hpoold], [policy] and [proxy NAME])", section);
	if (strcmp(name, "socket") == 0) {
		if (value[0] != '/' ||
		    strlen(value) >= sizeof(c->socket_path))
			return fail(ctx, "socket: '%s' is not an absolute path "
			    "shorter than %zu bytes", value,
			    sizeof(c->socket_path));
		snprintf(c->socket_path, sizeof(c->socket_path), "%s", value);
		return 1;
	}
	if (strcmp(name, "stats_group") == 0) {
		if (value[0] == '\0' || strlen(value) >= sizeof(c->stats_group))
			return fail(ctx, "stats_group: '%s' is not a group name "
			    "of 1 to %zu bytes", value,
			    sizeof(c->stats_group) - 1);
		snprintf(c->stats_group, sizeof(c->stats_group), "%s", value);
		return 1;
	}
	if (strcmp(name, "metrics_listen") == 0) {
		if (strlen(value) >= sizeof(c->metrics_listen) ||
		    !metrics_listen_ok(value))
			return fail(ctx, "metrics_listen: '%s' is not a loopback "
			    "ADDRESS:PORT (127.0.0.0/8 or [::1], port 1-65535)",
			    value);
		snprintf(c->metrics_listen, sizeof(c->metrics_listen), "%s",
		    value);
		return 1;
	}
	if (strcmp(name, "log_level") == 0) {
		static const char *const lv[] = { "error", "warning", "info",
		    "debug" };
		for (i = 0; i < 4; i++)
			if (strcmp(value, lv[i]) == 0) {
				c->log_level = (int)i;
				return 1;
			}
		return fail(ctx, "log_level: '%s' is not one of error, "
		    "warning, info, debug", value);
	}
	if (strcmp(name, "nameserver") == 0)
		return parse_nameservers(ctx, c, value);
	if (strcmp(name, "warm") == 0)
		return parse_warm(ctx, c, value);
	for (i = 0; i < sizeof(settings) / sizeof(settings[0]); i++) {
		const struct setting *st = &settings[i];

		if (strcmp(name, st->name) != 0)
			continue;
		if (st->base == 0) {
			if (strcmp(value, "yes") == 0 ||
			    strcmp(value, "on") == 0)
				v = 1;
			else if (strcmp(value, "no") == 0 ||
			    strcmp(value, "off") == 0)
				v = 0;
			else
				return fail(ctx, "%s: '%s' is not yes, no, on "
				    "or off", name, value);
			*(unsigned *)((char *)c + st->offset) = v;
			return 1;
		}
		if (st->autook && strcmp(value, "auto") == 0) {
			*(unsigned *)((char *)c + st->offset) = 0;
			return 1;
		}
		if (parse_uint(value, st->base, st->min, st->max, &v) == -1) {
			if (st->base == 8)
				return fail(ctx, "%s: '%s' is not an octal "
				    "number from %04lo to %04lo", name, value,
				    st->min, st->max);
			return fail(ctx, "%s: '%s' is not a number from %lu "
			    "to %lu%s", name, value, st->min, st->max,
			    st->autook ? " or auto" : "");
		}
		*(unsigned *)((char *)c + st->offset) = v * st->scale;
		return 1;
	}
	return fail(ctx, "unknown setting '%s' in [hpoold] (hpoold.conf(5) "
	    "lists them)", name);
}

int
config_parse_workers(const char *s, unsigned *out)
{
	if (strcmp(s, "auto") == 0) {
		*out = 0;
		return 0;
	}
	return parse_uint(s, 10, 1, 64, out);
}

void
config_resolve_workers(struct config *c)
{
	long n;

	if (c->workers != 0)
		return;
	n = sysconf(_SC_NPROCESSORS_ONLN);
	c->workers = n < 1 ? 1 : n > 64 ? 64 : (unsigned)n;
}

static int
load_cacert(struct policy *pol, size_t i, char *err, size_t errlen)
{
	const struct policy_proxy *px = policy_proxy_at(pol, i);
	const char *why = NULL;
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	ssize_t r = 0;
	int fd;

	fd = open(px->cacert, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd == -1 || fstat(fd, &st) == -1)
		why = strerror(errno);
	else if (!S_ISREG(st.st_mode))
		why = "not a regular file";
	else if ((buf = malloc(CACERT_FILE_MAX + 1)) == NULL)
		why = "out of memory";
	else {
		while (len <= CACERT_FILE_MAX && (r = read(fd, buf + len,
		    CACERT_FILE_MAX + 1 - len)) > 0)
			len += (size_t)r;
		if (r == -1)
			why = strerror(errno);
		else if (len > CACERT_FILE_MAX)
			why = "larger than 1 MiB";
		else {
			buf[len] = '\0';
			if (memchr(buf, '\0', len) != NULL ||
			    strstr(buf, "-----BEGIN CERTIFICATE-----") == NULL)
				why = "no PEM certificate in it";
			else if (policy_proxy_set_cacert(pol, i, buf, len) == -1)
				why = "out of memory";
		}
	}
	if (fd != -1)
		close(fd);
	free(buf);
	if (why != NULL) {
		snprintf(err, errlen, "proxy %s: cacert %s: %s", px->name,
		    px->cacert, why);
		return -1;
	}
	return 0;
}

/* The i-th proxy's credentials_file, into the policy. Read here, in
 * config_parse, so that the supervisor's check and each worker's reload
 * both read it. A refusal names the proxy and the path and says what is
 * wrong, never what the file holds. warn: set to a text to log when the
 * file is taken but group or others may read it. */
static int
load_credentials(struct policy *pol, size_t i, char *err, size_t errlen,
    char *warn, size_t warnlen)
{
	const struct policy_proxy *px = policy_proxy_at(pol, i);
	char buf[CREDS_FILE_MAX + 1];
	const char *why = NULL;
	char *colon, *eol;
	struct stat st;
	size_t len = 0, n;
	ssize_t r = 0;
	int fd;

	warn[0] = '\0';
	/* O_NONBLOCK: a FIFO put there must not hang the reload */
	fd = open(px->credentials_file, O_RDONLY | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK);
	if (fd == -1 || fstat(fd, &st) == -1)
		why = strerror(errno);
	else if (!S_ISREG(st.st_mode))
		why = "not a regular file";
	else {
		while (len <= CREDS_FILE_MAX && (r = read(fd, buf + len,
		    sizeof(buf) - len)) > 0)
			len += (size_t)r;
		if (r == -1)
			why = strerror(errno);
		else if (len > CREDS_FILE_MAX)
			why = "larger than 4096 bytes";
		else if (memchr(buf, '\0', len) != NULL)
			why = "holds a NUL byte";
	}
	if (fd != -1)
		close(fd);
	if (why == NULL) {
		buf[len] = '\0';
		if ((eol = strchr(buf, '\n')) != NULL)
			*eol = '\0';
		n = strlen(buf);
		if (n > 0 && buf[n - 1] == '\r')
			buf[n - 1] = '\0';
		if ((colon = strchr(buf, ':')) == NULL)
			why = "no colon: the first line is USER:PASSWORD";
		else if (colon == buf)
			why = "an empty user";
		else {
			*colon = '\0';
			if (strlen(buf) >= sizeof(px->user))
				why = "a user longer than 127 bytes";
			else if (strlen(colon + 1) >= sizeof(px->pass))
				why = "a password longer than 127 bytes";
			else if (policy_proxy_set_credentials(pol, i, buf,
			    colon + 1) == -1)
				why = "credentials not taken";
		}
	}
	explicit_bzero(buf, sizeof(buf));
	if (why != NULL) {
		snprintf(err, errlen, "proxy %s: credentials_file %s: %s",
		    px->name, px->credentials_file, why);
		return -1;
	}
	if (st.st_mode & 077)
		snprintf(warn, warnlen, "proxy %s: credentials_file %s is "
		    "open to group or others (mode %04o): chmod 600 it",
		    px->name, px->credentials_file,
		    (unsigned)(st.st_mode & 07777));
	return 0;
}

/* The line a proxy's KEY was set on: in its [proxy NAME] section, or the
 * simple form's setting of that name in [hpoold]. 0 if not found. */
static int
proxy_line(const struct load_ctx *ctx, const struct policy_proxy *px,
    const char *key)
{
	char sec[sizeof(ctx->seen->section)];
	int line;

	snprintf(sec, sizeof(sec), "proxy %s", px->name);
	if ((line = seen_line(ctx, sec, key, 0)) != 0 ||
	    (line = seen_line(ctx, sec, NULL, 0)) != 0)
		return line;
	return seen_line(ctx, "hpoold", px->name, 0);
}

/* The line policy_finish's error is about: "[proxy NAME]: ..." (the
 * section's first setting) or "rule N (...)" (the N-th rule). 0 if
 * neither. */
static int
finish_line(const struct load_ctx *ctx, const char *perr)
{
	char sec[sizeof(ctx->seen->section)];
	const char *end;
	unsigned long n;
	char *e;

	if (strncmp(perr, "[proxy ", 7) == 0 &&
	    (end = strchr(perr, ']')) != NULL &&
	    (size_t)(end - perr) < sizeof(sec)) {
		snprintf(sec, sizeof(sec), "%.*s", (int)(end - perr - 1),
		    perr + 1);
		return seen_line(ctx, sec, NULL, 0);
	}
	if (strncmp(perr, "rule ", 5) == 0) {
		n = strtoul(perr + 5, &e, 10);
		if (e != perr + 5 && n >= 1 && n <= SEEN_MAX)
			return seen_line(ctx, "policy", "rule",
			    (unsigned)n - 1);
	}
	return 0;
}

/* inih refused line LINE of TEXT on its own (our handler was not called):
 * a section header without its ']', or a line that is not NAME = VALUE.
 * Say which, with the line's text. */
static void
syntax_error(struct load_ctx *ctx, const char *text, int line)
{
	char shown[80];
	const char *p = text, *eol;
	size_t len;
	int n;

	for (n = 1; n < line && (eol = strchr(p, '\n')) != NULL; n++)
		p = eol + 1;
	while (*p == ' ' || *p == '\t')
		p++;
	len = strcspn(p, "\r\n");
	if (len >= sizeof(shown))
		len = sizeof(shown) - 4;
	memcpy(shown, p, len);
	snprintf(shown + len, sizeof(shown) - len, "%s",
	    len < strcspn(p, "\r\n") ? "..." : "");
	ctx->errline = 0;
	ctx->line = line;
	if (p[0] == '[' && memchr(p, ']', strcspn(p, "\r\n")) == NULL)
		fail(ctx, "section header '%s' has no closing ']': a section "
		    "is [NAME]", shown);
	else if (p[0] == '[')
		fail(ctx, "section header '%s': a ';' comment starts before "
		    "its ']': a section is [NAME]", shown);
	else
		fail(ctx, "'%s' is not a setting: a setting is NAME = VALUE",
		    shown);
}

int
config_parse(struct config *cfg, const char *text, const char *path,
    char *errbuf, size_t errlen)
{
	struct config tmp = *cfg;
	struct load_ctx ctx;
	const struct policy_proxy *px;
	char perr[768], warn[768];
	size_t i;
	int rc;

	/* lists are the file's alone, not added to the last load's */
	tmp.nwarm = 0;
	tmp.nameservers[0] = '\0';
	errbuf[0] = '\0';
	memset(&ctx, 0, sizeof(ctx));
	ctx.cfg = &tmp;
	ctx.path = path;
	ctx.next = text;
	if ((ctx.pol = policy_new()) == NULL) {
		snprintf(errbuf, errlen, "%s: out of memory", path);
		return -1;
	}
	rc = ini_parse_stream(next_line, &ctx, on_entry, &ctx);
	/* inih's rc is the first line it refused: ours (the handler's, whose
	 * reason is in ctx) or its own (a syntax error, earlier) */
	if (rc > 0 && (ctx.errline == 0 || rc < ctx.errline))
		syntax_error(&ctx, text, rc);
	else if (rc < 0 && ctx.errline == 0) {
		snprintf(errbuf, errlen, "%s: out of memory", path);
		goto fail;
	}
	if (ctx.errline != 0) {
		snprintf(errbuf, errlen, "%s:%d: %s", path, ctx.errline,
		    ctx.err);
		goto fail;
	}
	if (policy_finish(ctx.pol, perr, sizeof(perr)) == -1) {
		ctx.line = finish_line(&ctx, perr);
		goto fail_at;
	}
	for (i = 0; (px = policy_proxy_at(ctx.pol, i)) != NULL; i++) {
		if (px->cacert[0] != '\0') {
			/* [proxy NAME] cacert, else the simple form's
			 * proxy_cacert */
			char sec[sizeof(ctx.seen->section)];

			snprintf(sec, sizeof(sec), "proxy %s", px->name);
			if ((ctx.line = seen_line(&ctx, sec, "cacert", 0)) == 0 &&
			    (ctx.line = seen_line(&ctx, "hpoold",
			    "proxy_cacert", 0)) == 0)
				ctx.line = proxy_line(&ctx, px, "url");
			if (load_cacert(ctx.pol, i, perr, sizeof(perr)) == -1)
				goto fail_at;
		}
		if (px->credentials_file[0] == '\0')
			continue;
		ctx.line = proxy_line(&ctx, px, "credentials_file");
		if (load_credentials(ctx.pol, i, perr, sizeof(perr), warn,
		    sizeof(warn)) == -1)
			goto fail_at;
		if (warn[0] != '\0')
			log_warn("%s:%d: %s", path, ctx.line, warn);
	}
	free(ctx.seen);
	if (tmp.max_idle_per_host > tmp.max_per_host)
		tmp.max_idle_per_host = tmp.max_per_host;
	tmp.policy = ctx.pol;
	tmp.text = NULL;
	*cfg = tmp;
	return 0;

fail_at:
	if (ctx.line != 0)
		snprintf(errbuf, errlen, "%s:%d: %s", path, ctx.line, perr);
	else
		snprintf(errbuf, errlen, "%s: %s", path, perr);
fail:
	/* the file's text goes to a terminal or a log: no control byte */
	for (i = 0; errbuf[i] != '\0'; i++)
		if ((unsigned char)errbuf[i] < 0x20 || errbuf[i] == 0x7f)
			errbuf[i] = '?';
	free(ctx.seen);
	policy_free(ctx.pol);
	return -1;
}

int
config_load(struct config *cfg, const char *path, char *errbuf, size_t errlen)
{
	const char *why = NULL;
	struct stat st;
	char *text;
	size_t len = 0;
	ssize_t n = 0;
	int fd;

	errbuf[0] = '\0';
	/* O_NONBLOCK: a FIFO named as the config must not hang a reload */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK)) == -1) {
		snprintf(errbuf, errlen, "%s: cannot open: %s", path,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1)
		why = strerror(errno);
	else if (S_ISDIR(st.st_mode))
		why = "is a directory, not a config file";
	else if (!S_ISREG(st.st_mode))
		why = "not a regular file";
	if (why != NULL) {
		snprintf(errbuf, errlen, "%s: %s", path, why);
		close(fd);
		return -1;
	}
	if ((text = malloc(CONFIG_TEXT_MAX + 1)) == NULL) {
		close(fd);
		snprintf(errbuf, errlen, "%s: out of memory", path);
		return -1;
	}
	while (len <= CONFIG_TEXT_MAX && (n = read(fd, text + len,
	    CONFIG_TEXT_MAX + 1 - len)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			break;
		len += (size_t)n;
	}
	if (n == -1) {
		snprintf(errbuf, errlen, "%s: cannot read: %s", path,
		    strerror(errno));
		close(fd);
		free(text);
		return -1;
	}
	close(fd);
	if (len > CONFIG_TEXT_MAX) {
		snprintf(errbuf, errlen, "%s: larger than %d bytes", path,
		    CONFIG_TEXT_MAX);
		free(text);
		return -1;
	}
	text[len] = '\0';
	if (strlen(text) != len) {
		int line = 1;

		for (n = 0; (size_t)n < strlen(text); n++)
			line += text[n] == '\n';
		snprintf(errbuf, errlen, "%s:%d: holds a NUL byte", path,
		    line);
		free(text);
		return -1;
	}
	if (config_parse(cfg, text, path, errbuf, errlen) == -1) {
		free(text);
		return -1;
	}
	cfg->text = text;
	return 0;
}

/* A setting's value as the file writes it. */
static void
setting_text(char *out, size_t outlen, const struct setting *st, unsigned v)
{
	if (st->base == 0)
		snprintf(out, outlen, "%s", v ? "yes" : "no");
	else if (st->base == 8)
		snprintf(out, outlen, "%04o", v);
	else
		snprintf(out, outlen, "%u", v / st->scale);
}

/* 1 if the two policies differ (as policy_text shows them, credentials
 * left out: a changed password alone is not seen), 0 if not. */
static int
policy_differs(const struct policy *a, const struct policy *b)
{
	char *ta, *tb;
	size_t la, lb;
	int differs = 1;

	if (a == NULL || b == NULL)
		return a != b;
	la = policy_text(a, NULL, 0);
	lb = policy_text(b, NULL, 0);
	if (la != lb)
		return 1;
	ta = malloc(la + 1);
	tb = malloc(lb + 1);
	if (ta != NULL && tb != NULL) {
		policy_text(a, ta, la + 1);
		policy_text(b, tb, lb + 1);
		differs = strcmp(ta, tb) != 0;
	}
	free(ta);
	free(tb);
	return differs;
}

size_t
config_changes(const struct config *old, const struct config *new,
    enum config_socket sock, char (*lines)[CONFIG_CHANGE_LEN], size_t max)
{
	static const char *const lv[] = { "error", "warning", "info",
	    "debug" };
	char from[32], to[32];
	unsigned a, b;
	size_t i, n = 0;

#define LINE(...)	do { if (n < max) snprintf(lines[n++], \
			    CONFIG_CHANGE_LEN, __VA_ARGS__); } while (0)
	if (strcmp(old->socket_path, new->socket_path) != 0) {
		if (sock == CONFIG_SOCKET_MOVED)
			LINE("socket: %s -> %s: applies now: new workers "
			    "listen there; the old socket is removed and its "
			    "workers finish their sessions", old->socket_path,
			    new->socket_path);
		else
			LINE("socket: %s -> %s: not applied: the socket is "
			    "systemd's (its .socket unit names the path)",
			    old->socket_path, new->socket_path);
	}
	if (old->socket_mode != new->socket_mode) {
		if (sock == CONFIG_SOCKET_MOVED)
			LINE("socket_mode: %04o -> %04o: applies now, to the "
			    "new socket %s", old->socket_mode,
			    new->socket_mode, new->socket_path);
		else if (sock == CONFIG_SOCKET_SYSTEMD)
			LINE("socket_mode: %04o -> %04o: not applied: the "
			    "socket is systemd's (SocketMode= in its .socket "
			    "unit)", old->socket_mode, new->socket_mode);
		else
			LINE("socket_mode: %04o -> %04o: needs a restart: "
			    "%s keeps mode %04o until hpoold restarts (or the "
			    "socket setting moves it)", old->socket_mode,
			    new->socket_mode, old->socket_path,
			    old->socket_mode);
	}
	for (i = 0; i < sizeof(settings) / sizeof(settings[0]); i++) {
		const struct setting *st = &settings[i];

		a = *(const unsigned *)((const char *)old + st->offset);
		b = *(const unsigned *)((const char *)new + st->offset);
		if (a == b || st->base == 8)
			continue;
		setting_text(from, sizeof(from), st, a);
		setting_text(to, sizeof(to), st, b);
		if (st->offset == offsetof(struct config, workers))
			LINE("workers: %s -> %s: applies now: a new "
			    "generation of %s takes over; the old one finishes "
			    "its sessions", from, to, to);
		else
			LINE("%s: %s -> %s: applies now", st->name, from, to);
	}
	if (old->log_level != new->log_level && old->log_level >= 0 &&
	    old->log_level < 4 && new->log_level >= 0 && new->log_level < 4)
		LINE("log_level: %s -> %s: applies now", lv[old->log_level],
		    lv[new->log_level]);
	if (policy_differs(old->policy, new->policy))
		LINE("rules and proxies: changed: apply now, to each request "
		    "from now on");
	if (strcmp(old->nameservers, new->nameservers) != 0)
		LINE("nameserver: '%.100s' -> '%.100s': needs a restart: a worker "
		    "reads it when it starts", old->nameservers,
		    new->nameservers);
	if (old->nwarm != new->nwarm || memcmp(old->warm, new->warm,
	    sizeof(old->warm[0]) * old->nwarm) != 0)
		LINE("warm: %u -> %u destinations: applies now", old->nwarm,
		    new->nwarm);
#undef LINE
	return n;
}

void
config_log_changes(const struct config *old, const struct config *new,
    enum config_socket sock)
{
	char lines[CONFIG_CHANGES_MAX][CONFIG_CHANGE_LEN];
	size_t i, n;

	n = config_changes(old, new, sock, lines, CONFIG_CHANGES_MAX);
	for (i = 0; i < n; i++)
		log_info("reload: %s", lines[i]);
	if (n == 0)
		log_info("reload: no setting changed");
}

int
config_ensure_policy(struct config *cfg)
{
	char err[256];

	if (cfg->policy != NULL)
		return 0;
	if ((cfg->policy = policy_new()) == NULL ||
	    policy_finish(cfg->policy, err, sizeof(err)) == -1)
		return -1;
	return 0;
}

void
config_release(struct config *cfg)
{
	policy_free(cfg->policy);
	free(cfg->text);
	cfg->policy = NULL;
	cfg->text = NULL;
}

int
config_load_optional(struct config *cfg, const char *path, int *absent,
    char *errbuf, size_t errlen)
{
	struct stat st;

	/* lstat: a dangling symbolic link is something an admin put there,
	 * so it stays config_load's error */
	*absent = lstat(path, &st) == -1 && errno == ENOENT;
	if (*absent) {
		errbuf[0] = '\0';
		return 0;
	}
	return config_load(cfg, path, errbuf, errlen);
}
