/*
 * warm.c: owns the warm pools of a worker (see warm.h).
 *
 * A warm pool is the pool a caller with default settings would get for
 * URL: routed by the rules as for the daemon itself (its uid, no unit),
 * and, for https, with the TLS settings of http.client's and the hpool
 * command's default context (the system's CAs, certificate and host
 * name checked, TLS 1.2 at least, ALPN http/1.1). A caller with other
 * TLS settings (its own CA file, a client certificate) has a pool of its
 * own, as always. Once a second the worker tops each warm pool up to
 * COUNT connections (idle, connecting or serving); while it stays short
 * (the server down, a limit reached) the attempts back off to once a
 * minute.
 */
#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "config.h"
#include "janitor.h"
#include "log.h"
#include "pool.h"
#include "route.h"
#include "server.h"
#include "warm.h"

#define TICK_MS		1000
#define BACKOFF_MAX_MS	60000
#define TLS12		0x0303	/* libhpool's HPOOL_TLS_VERSION_1_2 */

struct warm_slot {
	struct pool	*pool;
	unsigned	 count;
	unsigned	 backoff_ms;	/* 0: not short last time */
	uint64_t	 next_ms;	/* no attempt before (monotonic) */
};

struct warm {
	struct server		*srv;
	struct event		*tick;
	struct route_caller	 caller;	/* the daemon itself */
	struct warm_slot	 slot[CONFIG_WARM_MAX];
	unsigned		 n;
};

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct warm *w = arg;
	struct server *srv = w->srv;
	struct timeval tv = { TICK_MS / 1000, (TICK_MS % 1000) * 1000 };
	uint64_t now = jan_now_ms();
	unsigned i, have;

	(void)fd;
	(void)what;
	for (i = 0; i < w->n && !srv->draining; i++) {
		struct warm_slot *ws = &w->slot[i];
		struct pool *p = ws->pool;

		have = p->nidle + p->nactive + p->nconnecting;
		if (have >= ws->count) {
			ws->backoff_ms = 0;
			continue;
		}
		if (now < ws->next_ms)
			continue;
		/* short again since the last try: wait longer next time */
		ws->backoff_ms = ws->backoff_ms == 0 ? TICK_MS :
		    ws->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS :
		    ws->backoff_ms * 2;
		ws->next_ms = now + ws->backoff_ms - TICK_MS / 2;
		while (have < ws->count && pool_warm_connect(p, geteuid()) == 0)
			have++;
		log_debug("warm %s: %u of %u", p->name, have, ws->count);
	}
	evtimer_add(w->tick, &tv);
}

/* The OPEN a default caller would send for the entry, routed. */
static int
warm_open(struct warm *w, const struct config_warm *cw, struct proto_open *o,
    struct route *rt)
{
	static const char alpn[] = "\x08http/1.1";

	memset(o, 0, sizeof(*o));
	o->scheme.p = cw->scheme;
	o->scheme.len = strlen(cw->scheme);
	o->host.p = cw->host;
	o->host.len = strlen(cw->host);
	o->port = (uint16_t)cw->port;
	if (strcmp(cw->scheme, "https") == 0) {
		proto_open_tls_defaults(o);
		o->tls_min_version = TLS12;
		o->tls_alpn.p = alpn;
		o->tls_alpn.len = sizeof(alpn) - 1;
		/* libhpool names the host as server_hostname, always */
		o->tls_sni = o->host;
	}
	memset(rt, 0, sizeof(*rt));
	if (route_open(w->srv->cfg.policy, &w->caller, o, rt) == -1) {
		log_warn("warm %s://%s:%u: not kept warm: %s", cw->scheme,
		    cw->host, cw->port, rt->log);
		return -1;
	}
	return 0;
}

void
warm_free(struct server *srv)
{
	struct warm *w = srv->warm;
	unsigned i;

	if (w == NULL)
		return;
	for (i = 0; i < w->n; i++) {
		w->slot[i].pool->warm_who = NULL;
		pool_unref(w->slot[i].pool);
	}
	event_free(w->tick);
	free(w);
	srv->warm = NULL;
}

int
warm_apply(struct server *srv)
{
	const struct config *cfg = &srv->cfg;
	struct warm *w;
	struct proto_open o;
	struct route rt;
	struct pool_key key;
	struct pool *p;
	struct timeval now = { 0, 0 };
	char err[256];
	unsigned i;
	int code;

	warm_free(srv);
	if (cfg->nwarm == 0)
		return 0;
	if (cfg->partition_by_uid) {
		log_warn("warm: ignored: with partition_by_uid = yes no "
		    "caller could use a warm connection");
		return 0;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL ||
	    (w->tick = evtimer_new(srv->base, tick_cb, w)) == NULL) {
		free(w);
		return -1;
	}
	w->srv = srv;
	route_caller_init(&w->caller, geteuid(), getegid(), getpid());
	for (i = 0; i < cfg->nwarm; i++) {
		const struct config_warm *cw = &cfg->warm[i];

		if (warm_open(w, cw, &o, &rt) == -1)
			continue;
		pool_key_make(&key, &o, &rt, 0);
		if ((p = pool_ref(srv, &key, &o, rt.socks, &code, err,
		    sizeof(err))) == NULL) {
			log_warn("warm %s://%s:%u: not kept warm: %s",
			    cw->scheme, cw->host, cw->port, err);
			continue;
		}
		if (rt.addr_check)
			p->addr_check = 1;
		p->warm_who = &w->caller.who;
		w->slot[w->n].pool = p;
		w->slot[w->n].count = cw->count;
		if (cw->count > cfg->max_idle_per_host) {
			log_warn("warm %s: %u connections asked for, "
			    "max_idle_per_host %u kept", p->name, cw->count,
			    cfg->max_idle_per_host);
			w->slot[w->n].count = cfg->max_idle_per_host;
		}
		w->n++;
	}
	srv->warm = w;
	evtimer_add(w->tick, &now);
	return 0;
}
