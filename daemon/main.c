/* main.c: owns hpoold's command line and start-up: the config is read
 * and checked, the socket opened, and the supervisor takes over. */
#include "hpool_autoconf.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "listen.h"
#include "access.h"
#include "log.h"
#include "proto.h"
#include "quota.h"
#include "server.h"
#include "supervisor.h"
#include "tls.h"

static void	usage(FILE *);
static const char *keep(char *, size_t, const char *);

/* -c and -s, copied: proctitle_set() rewrites argv's strings. Written by
 * main before any fork. */
static char	config_copy[4096];
static char	socket_copy[CONFIG_PATH_MAX + 1];

static const char *
keep(char *buf, size_t len, const char *s)
{
	if (strlen(s) >= len) {
		fprintf(stderr, "hpoold: '%s': longer than %zu bytes\n", s,
		    len - 1);
		exit(2);
	}
	memcpy(buf, s, strlen(s) + 1);
	return buf;
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: hpoold [-ft] [-c FILE] [-s PATH] [-v]\n"
	    "  -c, --config FILE    read settings from FILE; built-in\n"
	    "                       defaults without -c or if FILE does\n"
	    "                       not exist\n"
	    "  -s, --socket PATH    listen on PATH (overrides the config)\n"
	    "  -w, --workers N      run N worker processes, or auto (one\n"
	    "                       per core; overrides the config)\n"
	    "  -f, --foreground     stay in the foreground (default when\n"
	    "                       started by systemd)\n"
	    "  -t, --check-config   check the config and exit\n"
	    "  -v, --verbose        log debug messages\n"
	    "  -V, --version        print the version and exit\n"
	    "  -h, --help           print this help and exit\n");
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "workers", required_argument, NULL, 'w' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "check-config", no_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct supervisor_args args;
	struct server srv;
	const char *socket_opt = NULL, *config_path = NULL;
	char err[512];
	int ch, foreground = 0, check_only = 0, verbose = 0, rc, listen_fd;
	int workers_opt = 0, config_absent = 0;
	unsigned workers = 0;

	proctitle_init(argc, argv);
	memset(&srv, 0, sizeof(srv));
	config_defaults(&srv.cfg);
	while ((ch = getopt_long(argc, argv, "c:s:w:ftvVh", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			/* copies: proctitle_set() rewrites argv's strings */
			config_path = keep(config_copy, sizeof(config_copy),
			    optarg);
			break;
		case 's':
			socket_opt = keep(socket_copy, sizeof(socket_copy),
			    optarg);
			break;
		case 'w':
			if (config_parse_workers(optarg, &workers) == -1) {
				fprintf(stderr, "hpoold: --workers: '%s' is not "
				    "a number from 1 to 64 or auto\n", optarg);
				return 2;
			}
			workers_opt = 1;
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
	/* An absent --config file means the built-in defaults: the unit
	 * names /etc/hpool/hpoold.conf, which only the admin creates. */
	if (config_path != NULL && config_load_optional(&srv.cfg, config_path,
	    &config_absent, err, sizeof(err)) == -1) {
		fprintf(stderr, "hpoold: config: %s\n", err);
		return 1;
	}
	if (socket_opt != NULL) {
		if (strlen(socket_opt) >= sizeof(srv.cfg.socket_path)) {
			fprintf(stderr, "hpoold: --socket: path longer than "
			    "%zu bytes\n", sizeof(srv.cfg.socket_path) - 1);
			config_release(&srv.cfg);
			return 2;
		}
		snprintf(srv.cfg.socket_path, sizeof(srv.cfg.socket_path),
		    "%s", socket_opt);
	}
	if (workers_opt)
		srv.cfg.workers = workers;
	if (config_ensure_policy(&srv.cfg) == -1) {
		fprintf(stderr, "hpoold: out of memory\n");
		config_release(&srv.cfg);
		return 1;
	}
	if (check_only) {
		if (config_absent)
			printf("hpoold: %s does not exist: built-in "
			    "defaults\n", config_path);
		printf("hpoold: configuration ok\n");
		config_release(&srv.cfg);
		return 0;
	}
	if (verbose)
		srv.cfg.log_level = LOG_LVL_DEBUG;
	log_init(srv.cfg.log_level);
	access_init(0);
	if (config_absent)
		log_warn("%s does not exist: running with the built-in "
		    "defaults", config_path);
	signal(SIGPIPE, SIG_IGN);
	if (quota_init() == -1) {
		log_err("cannot map the shared limit counters: %s",
		    strerror(errno));
		config_release(&srv.cfg);
		return 1;
	}
	quota_resolve(&srv.cfg, quota_raise_nofile());
	config_resolve_workers(&srv.cfg);

	if (tls_init() == -1)
		log_warn("cannot load the system trust store now; each TLS "
		    "pool will try on its own");
	if ((listen_fd = listen_open(&srv, err, sizeof(err))) == -1) {
		log_err("%s", err);
		if (geteuid() != 0 && (getenv("XDG_RUNTIME_DIR") == NULL ||
		    getenv("XDG_RUNTIME_DIR")[0] != '/') &&
		    strcmp(srv.cfg.socket_path, "/run/hpool/hpoold.sock") == 0)
			log_err("XDG_RUNTIME_DIR is not set, so hpoold (not "
			    "root) defaults to /run/hpool/hpoold.sock: pass "
			    "--socket PATH (or socket = PATH in the config)");
		config_release(&srv.cfg);
		return 1;
	}
#ifdef HAVE_SYSTEMD
	if (getenv("NOTIFY_SOCKET") != NULL)
		foreground = 1;
#endif
	if (!foreground && daemon(0, 1) == -1) {
		log_err("daemon: %s", strerror(errno));
		listen_close(&srv, listen_fd);
		config_release(&srv.cfg);
		return 1;
	}
	args.argv = argv;
	args.config_path = config_path;
	args.socket_opt = socket_opt;
	args.verbose = verbose;
	args.workers_opt = workers_opt;
	args.workers = workers;
	args.srv = &srv;
	rc = supervisor_run(&args, &srv.cfg, listen_fd);
	tls_cleanup();
	return rc;
}
