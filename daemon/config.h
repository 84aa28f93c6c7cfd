/* config.h: hpoold's settings, from built-in defaults and hpoold.conf. */
#ifndef HPOOL_CONFIG_H
#define HPOOL_CONFIG_H

#include <stddef.h>

#define CONFIG_PATH_MAX	108	/* sun_path */

struct policy;

#define CONFIG_WARM_MAX	16	/* warm = lines */
#define CONFIG_WARM_COUNT 64	/* connections one may keep */

/* warm = URL COUNT: connections kept open to a destination. */
struct config_warm {
	char		scheme[8];	/* "http" or "https" */
	char		host[256];	/* a name or an IP (no brackets) */
	unsigned	port;
	unsigned	count;
};

struct config {
	char		socket_path[CONFIG_PATH_MAX];
	unsigned	socket_mode;		/* octal, default 0660 */
	unsigned	max_per_host;		/* upstream conns per pool key */
	unsigned	max_idle_per_host;	/* idle conns kept per pool key */
	unsigned	max_queue;		/* requests waiting per pool key */
	unsigned	max_sessions;		/* client sessions at once; 0:
						 * auto (quota.c) */
	unsigned	max_sessions_per_uid;	/* of them, one caller uid's; 0:
						 * auto */
	unsigned	max_connections;	/* upstream conns in all; 0: auto */
	unsigned	max_connections_per_uid; /* opened for one uid; 0: auto */
	unsigned	max_idle;		/* idle upstream conns in all; 0:
						 * auto */
	unsigned	max_session_buffer;	/* bytes of one frame a session
						 * may hold */
	unsigned	partition_by_uid;	/* 1: pools never shared between
						 * caller uids */
	unsigned	idle_timeout_ms;	/* idle pooled conn lifetime */
	unsigned	connect_timeout_ms;	/* when the client gave none */
	unsigned	io_timeout_ms;		/* upstream I/O, client gave none */
	unsigned	session_idle_timeout_ms; /* client silent between requests */
	unsigned	client_write_timeout_ms; /* client not reading its response */
	char		nameservers[256];	/* "": /etc/resolv.conf's */
	unsigned	max_conn_age_ms;	/* 0: connections never age out */
	unsigned	max_requests_per_conn;	/* 0: no limit */
	struct config_warm warm[CONFIG_WARM_MAX];
	unsigned	nwarm;
	unsigned	workers;		/* worker processes; 0: auto, one
						 * per core */
	int		log_level;
	unsigned	access_log;		/* 1: a line per request (access.c) */
	char		stats_group[64];	/* may read stats, with uid 0 */
	char		metrics_listen[64];	/* "" none, else a loopback
						 * ADDRESS:PORT for /metrics */
	/* From the file: the rules and proxies (policy.c), and the file's
	 * text (sent to the workers on a reload). Owned by whoever holds
	 * this config: config_release(). */
	struct policy	*policy;
	char		*text;
};

void	config_defaults(struct config *);
/* Load FILE over the current values, with a policy of its own (the old
 * policy and text are not freed: config_release() them first if owned).
 * On error, errbuf names the file, line and what was wrong; the config is
 * left as it was. */
int	config_load(struct config *, const char *path, char *errbuf,
	    size_t errlen);
/* The same from the file's text (path only names it in errors); text
 * is not kept. */
int	config_parse(struct config *, const char *text, const char *path,
	    char *errbuf, size_t errlen);
/* Without a file: an empty policy (its built-in defaults only). */
int	config_ensure_policy(struct config *);
void	config_release(struct config *);
/* config_load, but a path that does not exist (ENOENT, no link there)
 * is no error: the config is left as it was and *absent is 1. A
 * directory, an unreadable file or a dangling link stay errors. */
int	config_load_optional(struct config *, const char *path, int *absent,
	    char *errbuf, size_t errlen);
/* "auto" (0) or 1 to 64: 0, or -1. */
int	config_parse_workers(const char *, unsigned *);
/* workers = auto: one per online core (1 to 64). */
void	config_resolve_workers(struct config *);
/* A reload's report: what became of the socket the new config names. */
enum config_socket {
	CONFIG_SOCKET_KEPT,	/* same path: the old socket stays */
	CONFIG_SOCKET_MOVED,	/* a new socket, a new generation on it */
	CONFIG_SOCKET_SYSTEMD,	/* systemd's socket: it stays */
};
#define CONFIG_CHANGES_MAX	40
#define CONFIG_CHANGE_LEN	512
/* One line per setting NEW (a reload's config) changes from OLD (the
 * running one), each with its old and new value and whether it applies
 * now or what it waits for (a restart). Returns the number of lines. */
size_t	config_changes(const struct config *old, const struct config *new,
	    enum config_socket, char (*lines)[CONFIG_CHANGE_LEN], size_t max);
/* The same, logged (info), one line each, "reload: " first; or that no
 * setting changed. */
void	config_log_changes(const struct config *old,
	    const struct config *new, enum config_socket);
/* Default socket path: $XDG_RUNTIME_DIR/hpool/hpoold.sock for a user,
 * /run/hpool/hpoold.sock for root. */
void	config_default_socket(char *buf, size_t len);

#endif
