/* listen.h: the daemon's Unix listening socket (own, or from systemd). */
#ifndef HPOOL_LISTEN_H
#define HPOOL_LISTEN_H

#include <stddef.h>

struct server;

/* Bind cfg.socket_path (or take systemd's socket) and listen: the
 * socket, or -1 with errbuf saying what failed and the path. */
int	listen_open(struct server *, char *errbuf, size_t errlen);
/* Accept sessions from fd into this server (one per worker). */
int	listen_attach(struct server *, int fd, char *errbuf, size_t errlen);
/* Stop accepting into this server; the socket stays open. */
void	listen_stop(struct server *);
/* Close the socket and remove its file (once no worker accepts). */
void	listen_close(struct server *, int fd);

#endif
