/*
 * route.h: an OPEN's route. Who the caller is (from the kernel's uid,
 * gid and pid; names looked up only when needed), what the policy
 * (policy.c) says for it and the destination, and the OPEN rewritten to
 * go that way: refused, direct, or through a proxy of the daemon's as a
 * CONNECT or SOCKS5 tunnel, or (forward = absolute, plain http) as
 * absolute-form requests to the proxy; for an https:// proxy, with
 * OPEN's TUNNEL_TLS and the proxy's CAs set, and the proxy's name for
 * errors. Also the EXPLAIN text. No network I/O.
 */
#ifndef HPOOL_ROUTE_H
#define HPOOL_ROUTE_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "policy.h"
#include "proto.h"

/* The caller of one session. who's names point into user, group, unit. */
struct route_caller {
	uid_t			 uid;
	gid_t			 gid;
	pid_t			 pid;
	int			 named;		/* names looked up */
	int			 unit_done;	/* the unit looked up */
	char			 user[64];	/* "" unknown */
	char			 group[64];
	char			 unit[256];	/* systemd unit, "" none */
	struct policy_caller	 who;
};

/* What route_open() decided, and the storage the rewritten OPEN points
 * into (it must live as long as the OPEN is used). */
struct route {
	char			 host[256];	/* the proxy's name */
	char			 auth[400];	/* Proxy-Authorization value */
	struct proto_header	 hdr;
	const struct policy_proxy *socks;	/* a SOCKS5 proxy, or NULL */
	/* forward = absolute, plain http: the proxy (else NULL), and the
	 * target as "http://host:port" for the request line; origin + 7 is
	 * the Host value. hdr then holds Proxy-Authorization for every
	 * request, if the proxy has credentials (name.len 0 if not). */
	const struct policy_proxy *absolute;
	char			 origin[280];
	int			 addr_check;	/* judge the resolved addresses */
	/* for the access log: the daemon's proxy the route goes through
	 * (NULL: direct), or, refused, the rule that refused */
	const struct policy_proxy *proxy;
	char			 why[256];
	/* refused: the error for the caller, and a line for the log */
	int			 code;		/* enum hpool_err */
	int			 sent;		/* PROTO_SENT_* */
	char			 msg[640];
	char			 log[640];
};

void	route_caller_init(struct route_caller *, uid_t, gid_t, pid_t);
/* The caller for the policy; with names (or when a rule needs them) the
 * user and group names and the unit are looked up, once. */
const struct policy_caller *route_caller(struct route_caller *,
	    const struct policy *, int names);
/* The caller's systemd unit ("" none), looked up once (a read of
 * /proc): for the access log and the stats, without the names. */
const char *route_caller_unit(struct route_caller *);
/* 0: go, o rewritten for the route; -1: refused, r->code and r->msg for
 * the caller, r->log for the log. */
int	route_open(const struct policy *, struct route_caller *,
	    struct proto_open *o, struct route *r);
/* What route_open would do, as EXPLAIN's text (never a credential);
 * its length. */
size_t	route_explain(const struct policy *, struct route_caller *,
	    const struct proto_open *, char *text, size_t len);
/* The tunnel part of a pool key: the CONNECT headers (credentials among
 * them), and the name and credentials of px, a SOCKS5 proxy or one
 * forwarded to in absolute form (NULL: none). */
void	route_tunnel_digest(const struct proto_open *,
	    const struct policy_proxy *px, uint8_t out[32]);

#endif
