/* listen.h: the daemon's Unix listening socket (own, or from systemd). */
#ifndef HPOOL_LISTEN_H
#define HPOOL_LISTEN_H

#include <stddef.h>

struct server;

/* Bind cfg.socket_path (or take systemd's socket) and accept sessions.
 * On error errbuf says what failed and the path. */
int	listen_start(struct server *, char *errbuf, size_t errlen);
void	listen_stop(struct server *);

#endif
