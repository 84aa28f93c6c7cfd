/* config.h: hpoold's settings, from built-in defaults and hpoold.conf. */
#ifndef HPOOL_CONFIG_H
#define HPOOL_CONFIG_H

#include <stddef.h>

#define CONFIG_PATH_MAX	108	/* sun_path */

struct policy;

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
/* "auto" (0) or 1 to 64: 0, or -1. */
int	config_parse_workers(const char *, unsigned *);
/* workers = auto: one per online core (1 to 64). */
void	config_resolve_workers(struct config *);
/* Default socket path: $XDG_RUNTIME_DIR/hpool/hpoold.sock for a user,
 * /run/hpool/hpoold.sock for root. */
void	config_default_socket(char *buf, size_t len);

#endif
