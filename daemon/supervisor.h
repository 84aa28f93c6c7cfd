/*
 * supervisor.h: hpoold's supervisor process: it forks the workers, keeps
 * them running, handles signals and systemd, and never handles a
 * client's or a server's bytes itself.
 */
#ifndef HPOOL_SUPERVISOR_H
#define HPOOL_SUPERVISOR_H

struct config;
struct server;

struct supervisor_args {
	char		**argv;
	const char	 *config_path;	/* NULL: built-in defaults only */
	const char	 *socket_opt;	/* -s, kept over reloads */
	int		  verbose;	/* -v, kept over reloads */
	int		  workers_opt;	/* -w given: workers, kept over
					 * reloads (0: auto) */
	unsigned	  workers;
	struct server	 *srv;		/* where listen_open noted the path
					 * it bound (removed at exit) */
};

/* Run the workers of cfg on listen_fd until a signal stops them; the
 * exit status for main. */
int	supervisor_run(const struct supervisor_args *,
	    const struct config *cfg, int listen_fd);

/* Name this process in ps: main's argv area is rewritten. _init once in
 * main, before any fork. */
void	proctitle_init(int argc, char **argv);
void	proctitle_set(const char *title);

#endif
