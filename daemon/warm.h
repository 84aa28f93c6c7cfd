/*
 * warm.h: warm pools. `warm = URL COUNT` in hpoold.conf keeps COUNT
 * connections (TLS done) open to URL's destination in each worker, so
 * the first caller after a quiet hour pays no handshake. They follow the
 * same expiry rules as any pooled connection (janitor.c) and are
 * replaced when they end.
 */
#ifndef HPOOL_WARM_H
#define HPOOL_WARM_H

struct server;

/* (Re)build the warm set from srv->cfg.warm: at start and after new
 * rules. 0, or -1 when out of memory. */
int	warm_apply(struct server *);
/* Drop the warm set (its connections stay pooled as any other). */
void	warm_free(struct server *);

#endif
