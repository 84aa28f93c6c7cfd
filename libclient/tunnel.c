/*
 * tunnel.c: owns set_tunnel(): the CONNECT target and headers a
 * connection keeps and sends in OPEN (hpoold does the CONNECT), and
 * whether the proxy is spoken to in TLS (set_tunnel_tls).
 */
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "link.h"

void
tunnel_free(hpool_conn *c)
{
	size_t i;

	for (i = 0; i < c->ntunnel_hdrs; i++) {
		free(c->tunnel_hdrs[i].name);
		free(c->tunnel_hdrs[i].value);
	}
	free(c->tunnel_hdrs);
	free(c->tunnel_host);
	free(c->tunnel_ca);
	c->tunnel_ca = NULL;
	c->tunnel_ca_len = 0;
	c->tunnel_tls = HPOOL_TUNNEL_TLS_NONE;
	c->tunnel_hdrs = NULL;
	c->ntunnel_hdrs = 0;
	c->tunnel_host = NULL;
	c->tunnel_port = 0;
}

/*
 * set_tunnel(): refused once the session is open, as http.client refuses
 * it once its socket exists. The host is parsed as the constructor's
 * (_get_hostport), without its control-character check, as in Python;
 * hpoold checks the CONNECT target itself.
 */
int
hpool_conn_set_tunnel(hpool_conn *c, const char *host, int port,
    const struct hpool_header *headers, size_t nheaders)
{
	struct req_header *th = NULL;
	char *h = NULL;
	size_t i;
	int p, rc;

	errfmt_clear(&c->err);
	if (link_alive(c->link))
		return errfmt_set(&c->err, HPOOL_E_RUNTIME_ERROR,
		    "Can't set up tunnel for established connection");
	if (host == NULL) {
		tunnel_free(c);
		return HPOOL_OK;
	}
	if (nheaders > PROTO_MAX_TUNNEL_HEADERS)
		return errfmt_set(&c->err, HPOOL_E_VALUE_ERROR,
		    "at most %d tunnel headers", PROTO_MAX_TUNNEL_HEADERS);
	for (i = 0; i < nheaders; i++)
		if (headers[i].name == NULL || headers[i].value == NULL)
			return errfmt_set(&c->err, HPOOL_E_TYPE_ERROR,
			    "tunnel header names and values must be strings");
	if ((rc = conn_get_hostport(host, port, c->default_port, 0, &h, &p,
	    &c->err)) != HPOOL_OK)
		return rc;
	if (nheaders > 0 && (th = calloc(nheaders, sizeof(*th))) == NULL) {
		free(h);
		return errfmt_set(&c->err, HPOOL_E_MEMORY, "out of memory");
	}
	for (i = 0; i < nheaders; i++)
		if ((th[i].name = strdup(headers[i].name)) == NULL ||
		    (th[i].value = strdup(headers[i].value)) == NULL) {
			for (; ; i--) {
				free(th[i].name);
				free(th[i].value);
				if (i == 0)
					break;
			}
			free(th);
			free(h);
			return errfmt_set(&c->err, HPOOL_E_MEMORY, "out of memory");
		}
	tunnel_free(c);
	c->tunnel_host = h;
	c->tunnel_port = p;
	c->tunnel_hdrs = th;
	c->ntunnel_hdrs = nheaders;
	return HPOOL_OK;
}

int
hpool_conn_set_tunnel_tls(hpool_conn *c, int mode, const char *ca_pem,
    size_t ca_len)
{
	char *ca = NULL;

	errfmt_clear(&c->err);
	if (link_alive(c->link))
		return errfmt_set(&c->err, HPOOL_E_RUNTIME_ERROR,
		    "Can't set up tunnel for established connection");
	if (mode != HPOOL_TUNNEL_TLS_NONE && mode != HPOOL_TUNNEL_TLS_VERIFY &&
	    mode != HPOOL_TUNNEL_TLS_INSECURE)
		return errfmt_set(&c->err, HPOOL_E_VALUE_ERROR,
		    "unknown tunnel TLS mode %d", mode);
	if (mode != HPOOL_TUNNEL_TLS_NONE && c->tunnel_host == NULL)
		return errfmt_set(&c->err, HPOOL_E_VALUE_ERROR,
		    "TLS to a proxy needs a tunnel: set_tunnel() first");
	if (ca_pem != NULL && (ca_len == 0 || ca_len > PROTO_MAX_STR))
		return errfmt_set(&c->err, HPOOL_E_VALUE_ERROR,
		    "the proxy's CA data must be 1 to %u bytes", PROTO_MAX_STR);
	if (ca_pem != NULL && mode == HPOOL_TUNNEL_TLS_VERIFY) {
		if ((ca = malloc(ca_len)) == NULL)
			return errfmt_set(&c->err, HPOOL_E_MEMORY,
			    "out of memory");
		memcpy(ca, ca_pem, ca_len);
	}
	free(c->tunnel_ca);
	c->tunnel_ca = ca;
	c->tunnel_ca_len = ca != NULL ? ca_len : 0;
	c->tunnel_tls = mode;
	return HPOOL_OK;
}
