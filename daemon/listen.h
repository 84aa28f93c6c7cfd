/* listen.h: the daemon's Unix listening socket (own, or from systemd). */
#ifndef HPOOL_LISTEN_H
#define HPOOL_LISTEN_H

#include <stddef.h>

struct server;

/* Bind cfg.socket_path (or take systemd's socket) and listen: the
 * socket, or -1 with errbuf saying what failed and the path. Only a
 * stale socket (one nobody accepts on) is replaced; anything else at the
 * path is left alone and refused. */
int	listen_open(struct server *, char *errbuf, size_t errlen);
/* Accept sessions from fd into this server (one per worker), keeping a
 * descriptor in reserve: out of descriptors, waiting clients are closed
 * and accepting pauses instead of spinning. */
int	listen_attach(struct server *, int fd, char *errbuf, size_t errlen);
/* Stop accepting into this server and give back what listen_attach
 * took; the socket stays open. */
void	listen_stop(struct server *);
/* Close the socket and remove its file (once no worker accepts). */
void	listen_close(struct server *, int fd);

#endif
