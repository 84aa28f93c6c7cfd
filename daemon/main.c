/* main.c: owns hpoold's start-up, signals, systemd notification and
 * shutdown. */
#include "hpool_autoconf.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "config.h"
#include "quota.h"
#include "listen.h"
#include "log.h"
#include "server.h"
#include "tls.h"
#include "worker.h"

static void	usage(FILE *);
static void	on_signal(evutil_socket_t, short, void *);
static void	watchdog_cb(evutil_socket_t, short, void *);
static void	notify(const char *);

static const char	*config_path;
static int		 listen_fd = -1;

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: hpoold [-ft] [-c FILE] [-s PATH] [-v]\n"
	    "  -c, --config FILE    read settings from FILE "
	    "(default: none, built-in defaults)\n"
	    "  -s, --socket PATH    listen on PATH (overrides the config)\n"
	    "  -f, --foreground     stay in the foreground (default when\n"
	    "                       started by systemd)\n"
	    "  -t, --check-config   check the config and exit\n"
	    "  -v, --verbose        log debug messages\n"
	    "  -V, --version        print the version and exit\n"
	    "  -h, --help           print this help and exit\n");
}

static void
notify(const char *state)
{
#ifdef HAVE_SYSTEMD
	sd_notify(0, state);
#else
	(void)state;
#endif
}

static void
watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	notify("WATCHDOG=1");
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct server *srv = arg;
	char err[512];
	struct config cfg;

	(void)what;
	if (sig == SIGHUP) {
		notify("RELOADING=1");
		if (config_path == NULL) {
			log_info("SIGHUP: no config file to reload");
		} else {
			cfg = srv->cfg;
			if (config_load(&cfg, config_path, err,
			    sizeof(err)) == -1)
				log_err("reload refused, keeping the old "
				    "settings: %s", err);
			else {
				/* The socket stays: moving it needs a
				 * restart. */
				memcpy(cfg.socket_path, srv->cfg.socket_path,
				    sizeof(cfg.socket_path));
				if (cfg.workers != srv->cfg.workers)
					log_warn("workers stays %u until a "
					    "restart", srv->cfg.workers);
				cfg.workers = srv->cfg.workers;
				quota_resolve(&cfg, quota_raise_nofile());
				srv->cfg = cfg;
				workers_reload(&cfg);
				log_init(cfg.log_level);
				log_info("reloaded %s", config_path);
			}
		}
		notify("READY=1");
		return;
	}
	if (srv->draining) {
		/* second signal */
		workers_stop();
		event_base_loopexit(srv->base, NULL);
		return;
	}
	log_info("signal %d: draining", (int)sig);
	notify("STOPPING=1");
	server_drain(srv);
	/* once no worker accepts: refuse new clients at once */
	workers_drain();
	listen_close(srv, listen_fd);
	listen_fd = -1;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "check-config", no_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct server srv;
	struct event *sigs[4], *wd = NULL;
	const int signums[4] = { SIGTERM, SIGINT, SIGHUP, 0 };
	const char *socket_opt = NULL;
	char err[512];
	int ch, foreground = 0, check_only = 0, verbose = 0, i;
	uint64_t wd_usec = 0;

	memset(&srv, 0, sizeof(srv));
	config_defaults(&srv.cfg);
	while ((ch = getopt_long(argc, argv, "c:s:ftvVh", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			config_path = optarg;
			break;
		case 's':
			socket_opt = optarg;
			break;
		case 'f':
			foreground = 1;
			break;
		case 't':
			check_only = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'V':
			printf("hpoold %s (protocol %d)\n", PACKAGE_VERSION,
			    PROTO_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "hpoold: unexpected argument '%s'\n",
		    argv[optind]);
		usage(stderr);
		return 2;
	}
	if (config_path != NULL &&
	    config_load(&srv.cfg, config_path, err, sizeof(err)) == -1) {
		fprintf(stderr, "hpoold: config: %s\n", err);
		return 1;
	}
	if (socket_opt != NULL) {
		if (strlen(socket_opt) >= sizeof(srv.cfg.socket_path)) {
			fprintf(stderr, "hpoold: --socket: path longer than "
			    "%zu bytes\n", sizeof(srv.cfg.socket_path) - 1);
			return 2;
		}
		snprintf(srv.cfg.socket_path, sizeof(srv.cfg.socket_path),
		    "%s", socket_opt);
	}
	if (check_only) {
		printf("hpoold: configuration ok\n");
		return 0;
	}
	if (verbose)
		srv.cfg.log_level = LOG_LVL_DEBUG;
	log_init(srv.cfg.log_level);
	signal(SIGPIPE, SIG_IGN);
	if (quota_init() == -1) {
		log_err("cannot map the shared limit counters: %s",
		    strerror(errno));
		return 1;
	}
	quota_resolve(&srv.cfg, quota_raise_nofile());

	if (tls_init() == -1)
		log_warn("cannot load the system trust store now; each TLS "
		    "pool will try on its own");
	if ((listen_fd = listen_open(&srv, err, sizeof(err))) == -1 ||
	    server_init(&srv, listen_fd, err, sizeof(err)) == -1) {
		log_err("%s", err);
		if (listen_fd != -1)
			listen_close(&srv, listen_fd);
		return 1;
	}
#ifdef HAVE_SYSTEMD
	if (getenv("NOTIFY_SOCKET") != NULL)
		foreground = 1;
#endif
	if (!foreground && daemon(0, 1) == -1) {
		log_err("daemon: %s", strerror(errno));
		return 1;
	}
	for (i = 0; signums[i] != 0; i++) {
		sigs[i] = evsignal_new(srv.base, signums[i], on_signal, &srv);
		if (sigs[i] == NULL || evsignal_add(sigs[i], NULL) == -1)
			fatalx("cannot handle signal %d", signums[i]);
	}
	/* after daemon(): threads do not survive a fork */
	if (workers_start(&srv, listen_fd, srv.cfg.workers, err,
	    sizeof(err)) == -1) {
		log_err("%s", err);
		workers_stop();
		workers_join(&srv.stats);
		server_free(&srv);
		listen_close(&srv, listen_fd);
		return 1;
	}
#ifdef HAVE_SYSTEMD
	if (sd_watchdog_enabled(0, &wd_usec) > 0 && wd_usec > 0) {
		struct timeval tv = { (time_t)(wd_usec / 2000000),
		    (suseconds_t)(wd_usec / 2 % 1000000) };

		wd = event_new(srv.base, -1, EV_PERSIST, watchdog_cb, NULL);
		event_add(wd, &tv);
	}
#endif
	(void)wd_usec;
	notify("READY=1");
	log_info("hpoold %s ready (%u worker%s, max %u connections per host "
	    "each)", PACKAGE_VERSION, srv.cfg.workers, srv.cfg.workers == 1 ?
	    "" : "s", srv.cfg.max_per_host);
	event_base_dispatch(srv.base);

	/* the main worker is done: the others finish their draining (or
	 * were told to stop by a second signal) */
	workers_join(&srv.stats);
	for (i = 0; signums[i] != 0; i++)
		event_free(sigs[i]);
	if (wd != NULL)
		event_free(wd);
	server_free(&srv);
	if (listen_fd != -1)
		listen_close(&srv, listen_fd);
	tls_cleanup();
	log_info("stopped: %llu sessions, %llu requests, %llu upstream "
	    "connections opened, %llu requests on pooled connections, "
	    "TLS handshakes: %llu full, %llu resumed",
	    (unsigned long long)srv.stats.sessions,
	    (unsigned long long)srv.stats.requests,
	    (unsigned long long)srv.stats.upstream_connects,
	    (unsigned long long)srv.stats.upstream_reuses,
	    (unsigned long long)srv.stats.tls_full,
	    (unsigned long long)srv.stats.tls_resumed);
	return 0;
}
