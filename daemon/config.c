/* config.c: owns hpoold.conf parsing (libinih) and the defaults. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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

struct load_ctx {
	struct config	*cfg;
	struct policy	*pol;
	char		*err;
	size_t		 errlen;
	const char	*path;
};

static int	parse_uint(const char *, int, unsigned long, unsigned long,
		    unsigned *);
static int	on_entry(void *, const char *, const char *, const char *);
static int	proxies_supported(const struct policy *, char *, size_t);
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

static int
on_entry(void *arg, const char *section, const char *name, const char *value)
{
	struct load_ctx *ctx = arg;
	struct config *c = ctx->cfg;
	char perr[256], warn[256];
	unsigned v;
	size_t i;
	int r;

	/* rules and proxies are the policy's: [policy], [proxy NAME] and a
	 * few names in [hpoold] */
	warn[0] = '\0';
	r = policy_config(ctx->pol, section, name, value, perr, sizeof(perr),
	    warn, sizeof(warn));
	if (r == -1) {
		snprintf(ctx->err, ctx->errlen, "%s: %s", ctx->path, perr);
		return 0;
	}
	if (r == 1) {
		if (warn[0] != '\0')
			log_warn("%s: %s", ctx->path, warn);
		return 1;
	}
	if (strcmp(section, "hpoold") != 0) {
		snprintf(ctx->err, ctx->errlen, "%s: unknown section [%s]",
		    ctx->path, section);
		return 0;
	}
	if (strcmp(name, "socket") == 0) {
		if (value[0] != '/' ||
		    strlen(value) >= sizeof(c->socket_path)) {
			snprintf(ctx->err, ctx->errlen, "%s: socket: '%s' is "
			    "not an absolute path shorter than %zu bytes",
			    ctx->path, value, sizeof(c->socket_path));
			return 0;
		}
		snprintf(c->socket_path, sizeof(c->socket_path), "%s", value);
		return 1;
	}
	if (strcmp(name, "stats_group") == 0) {
		if (value[0] == '\0' || strlen(value) >= sizeof(c->stats_group)) {
			snprintf(ctx->err, ctx->errlen, "%s: stats_group: '%s' is "
			    "not a group name of 1 to %zu bytes", ctx->path,
			    value, sizeof(c->stats_group) - 1);
			return 0;
		}
		snprintf(c->stats_group, sizeof(c->stats_group), "%s", value);
		return 1;
	}
	if (strcmp(name, "metrics_listen") == 0) {
		if (strlen(value) >= sizeof(c->metrics_listen) ||
		    !metrics_listen_ok(value)) {
			snprintf(ctx->err, ctx->errlen, "%s: metrics_listen: '%s' "
			    "is not a loopback ADDRESS:PORT (127.0.0.0/8 or "
			    "[::1], port 1-65535)", ctx->path, value);
			return 0;
		}
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
		snprintf(ctx->err, ctx->errlen, "%s: log_level: '%s' is not "
		    "one of error, warning, info, debug", ctx->path, value);
		return 0;
	}
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
			else {
				snprintf(ctx->err, ctx->errlen, "%s: %s: '%s' "
				    "is not yes, no, on or off", ctx->path, name,
				    value);
				return 0;
			}
			*(unsigned *)((char *)c + st->offset) = v;
			return 1;
		}
		if (st->autook && strcmp(value, "auto") == 0) {
			*(unsigned *)((char *)c + st->offset) = 0;
			return 1;
		}
		if (parse_uint(value, st->base, st->min, st->max, &v) == -1) {
			snprintf(ctx->err, ctx->errlen, "%s: %s: '%s' is not %s"
			    " number from %lu to %lu%s", ctx->path, name, value,
			    st->base == 8 ? "an octal" : "a", st->min, st->max,
			    st->autook ? " or auto" : "");
			return 0;
		}
		*(unsigned *)((char *)c + st->offset) = v * st->scale;
		return 1;
	}
	snprintf(ctx->err, ctx->errlen, "%s: unknown setting '%s'", ctx->path,
	    name);
	return 0;
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

/* What the policy may say that this hpoold cannot do yet: refused with a
 * clear word, never taken and quietly done otherwise. */
static int
proxies_supported(const struct policy *pol, char *err, size_t errlen)
{
	const struct policy_proxy *px;
	size_t i;

	for (i = 0; (px = policy_proxy_at(pol, i)) != NULL; i++) {
		if (strcmp(px->scheme, "http") != 0 &&
		    strcmp(px->scheme, "socks5h") != 0) {
			snprintf(err, errlen, "proxy %s: %s:// proxies are not "
			    "supported by this hpoold yet (http:// and "
			    "socks5h:// are)", px->name, px->scheme);
			return -1;
		}
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

int
config_parse(struct config *cfg, const char *text, const char *path,
    char *errbuf, size_t errlen)
{
	struct config tmp = *cfg;
	struct load_ctx ctx = { &tmp, NULL, errbuf, errlen, path };
	const struct policy_proxy *px;
	char perr[768], warn[768];
	size_t i;
	int rc;

	errbuf[0] = '\0';
	if ((ctx.pol = policy_new()) == NULL) {
		snprintf(errbuf, errlen, "%s: out of memory", path);
		return -1;
	}
	rc = ini_parse_string(text, on_entry, &ctx);
	if (rc != 0) {
		if (rc > 0) {
			/* inih gives the first bad line; keep our reason. */
			char why[300];

			snprintf(why, sizeof(why), "%s", errbuf[0] ? errbuf :
			    "syntax error");
			snprintf(errbuf, errlen, "%s (line %d)", why, rc);
		} else if (errbuf[0] == '\0')
			snprintf(errbuf, errlen, "%s: cannot parse", path);
		policy_free(ctx.pol);
		return -1;
	}
	if (policy_finish(ctx.pol, perr, sizeof(perr)) == -1) {
		snprintf(errbuf, errlen, "%s: %s", path, perr);
		policy_free(ctx.pol);
		return -1;
	}
	if (proxies_supported(ctx.pol, perr, sizeof(perr)) == -1) {
		snprintf(errbuf, errlen, "%s: %s", path, perr);
		policy_free(ctx.pol);
		return -1;
	}
	for (i = 0; (px = policy_proxy_at(ctx.pol, i)) != NULL; i++) {
		if (px->credentials_file[0] == '\0')
			continue;
		if (load_credentials(ctx.pol, i, perr, sizeof(perr), warn,
		    sizeof(warn)) == -1) {
			snprintf(errbuf, errlen, "%s: %s", path, perr);
			policy_free(ctx.pol);
			return -1;
		}
		if (warn[0] != '\0')
			log_warn("%s: %s", path, warn);
	}
	if (tmp.max_idle_per_host > tmp.max_per_host)
		tmp.max_idle_per_host = tmp.max_per_host;
	tmp.policy = ctx.pol;
	tmp.text = NULL;
	*cfg = tmp;
	return 0;
}

int
config_load(struct config *cfg, const char *path, char *errbuf, size_t errlen)
{
	char *text;
	size_t len = 0;
	ssize_t n;
	int fd;

	errbuf[0] = '\0';
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(errbuf, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if ((text = malloc(CONFIG_TEXT_MAX + 1)) == NULL) {
		close(fd);
		snprintf(errbuf, errlen, "%s: out of memory", path);
		return -1;
	}
	while (len <= CONFIG_TEXT_MAX && (n = read(fd, text + len,
	    CONFIG_TEXT_MAX + 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	if (len > CONFIG_TEXT_MAX) {
		snprintf(errbuf, errlen, "%s: larger than %d bytes", path,
		    CONFIG_TEXT_MAX);
		free(text);
		return -1;
	}
	text[len] = '\0';
	if (strlen(text) != len) {
		snprintf(errbuf, errlen, "%s: holds a NUL byte", path);
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
