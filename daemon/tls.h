/*
 * tls.h: hpoold's TLS with OpenSSL: one SSL_CTX per pool built from the
 * caller's settings (never from a file path), per-connection SSL objects
 * with SNI and name checks, session resumption scoped to the pool, and
 * errors named and worded as Python's ssl module words them.
 */
#ifndef HPOOL_TLS_H
#define HPOOL_TLS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

struct proto_open;
struct pool;

/* Load the shared system trust store; -1 if it cannot be read (contexts
 * then load it themselves). */
int	 tls_init(void);
void	 tls_cleanup(void);
/* Digest of every TLS setting in o: part of the pool key. */
void	 tls_settings_digest(const struct proto_open *, uint8_t out[32]);
/* An SSL_CTX for o's settings, or NULL with errbuf naming the problem
 * and *code the hpool error (SSLError, ValueError...). */
SSL_CTX	*tls_ctx_new(const struct proto_open *, int *code, char *errbuf,
	    size_t errlen);
/* A client SSL for one connection of pool p to host. */
SSL	*tls_ssl_new(struct pool *, void *conn);
/* After a failed handshake or read: the error as Python would word it. */
int	 tls_error(SSL *, unsigned long, char *buf, size_t len);
/* The proxy side of a new pool: its name for errors (the daemon's name
 * for it, else HOST:PORT) and, for OPEN's TUNNEL_TLS, the TLS context to
 * it (its own CAs or the system store; verified unless
 * PROTO_TUNNEL_TLS_INSECURE). 0, or -1 with *code and err. */
int	 tls_proxy_setup(struct pool *, const struct proto_open *, int *code,
	    char *err, size_t errlen);
/* A client SSL to p's proxy, for one connection (SNI and the name
 * checked: the proxy's host). */
SSL	*tls_proxy_ssl_new(struct pool *, void *conn);
/* After a failed handshake with the proxy: as tls_error, the proxy
 * named. */
int	 tls_proxy_error(SSL *, unsigned long, const struct pool *, char *buf,
	    size_t len);
void	 tls_pool_free(struct pool *);

#endif
