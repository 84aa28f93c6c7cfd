/*
 * explain.c: owns hpool_explain(): asking hpoold what its egress policy
 * would do with a destination (OPEN with EXPLAIN, protocol 3), without
 * doing it.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client.h"
#include "link.h"

/* The first protocol version with OPEN's EXPLAIN and the EXPLAIN reply;
 * an older daemon refuses the key (HpoolProtocolError). */
#define EXPLAIN_VERSION	3

static int	explain_read(struct link *, char **, struct hpool_error *);

int
hpool_explain(const char *scheme, const char *host, int port,
    const struct hpool_conn_opts *opts, char **text, struct hpool_error *err)
{
	static const struct hpool_conn_opts defaults = HPOOL_CONN_OPTS_INIT;
	struct hpool_error e;
	struct proto_open o;
	struct link *l = NULL;
	char *h = NULL, *path = NULL, rb[64];
	uint32_t timeout_ms;
	int rc, p, https, has_timeout, wait_ms;

	errfmt_clear(&e);
	if (text != NULL)
		*text = NULL;
	if (opts == NULL)
		opts = &defaults;
	if (scheme == NULL || host == NULL || text == NULL) {
		rc = errfmt_set(&e, HPOOL_E_TYPE_ERROR, "scheme, host and "
		    "text must not be NULL");
		goto out;
	}
	if (strcasecmp(scheme, "https") == 0)
		https = 1;
	else if (strcasecmp(scheme, "http") == 0)
		https = 0;
	else {
		errfmt_repr(rb, sizeof(rb), scheme, strlen(scheme), 0);
		rc = errfmt_set(&e, HPOOL_E_INVALID_URL, "unsupported scheme "
		    "%s (hpoold speaks http and https)", rb);
		goto out;
	}
	if ((rc = conn_timeouts(opts->timeout, &has_timeout, &timeout_ms,
	    &wait_ms, &e)) != HPOOL_OK ||
	    (rc = conn_get_hostport(host, port, https ? HPOOL_HTTPS_PORT :
	    HPOOL_HTTP_PORT, 1, &h, &p, &e)) != HPOOL_OK)
		goto out;
	if ((path = sockpath_find(opts->socket_path)) == NULL) {
		rc = errfmt_set(&e, HPOOL_E_MEMORY, "out of memory");
		goto out;
	}
	memset(&o, 0, sizeof(o));
	o.scheme.p = https ? "https" : "http";
	o.scheme.len = strlen(o.scheme.p);
	o.host.p = h;
	o.host.len = strlen(h);
	o.port = (uint16_t)p;
	o.has_timeout = has_timeout;
	o.timeout_ms = timeout_ms;
	o.explain = 1;
	if ((l = link_open(path, &o, wait_ms, 0, &e)) == NULL) {
		rc = e.code;
		goto out;
	}
	rc = explain_read(l, text, &e);
out:
	link_free(l);
	free(path);
	free(h);
	if (err != NULL)
		*err = e;
	return rc;
}

/* What comes after HELLO_OK: EXPLAIN, or ERROR saying why not. */
static int
explain_read(struct link *l, char **text, struct hpool_error *err)
{
	struct proto_str s;
	const uint8_t *p;
	uint8_t type;
	size_t len;
	int rc;

	/* The daemon has refused the key it does not know already; its
	 * ERROR ("malformed OPEN frame") would not say why. */
	if (l->version < EXPLAIN_VERSION) {
		link_close(l);
		return errfmt_set(err, HPOOL_E_PROTOCOL, "hpoold is too old "
		    "to explain (it speaks protocol %u; explaining needs %u)",
		    l->version, EXPLAIN_VERSION);
	}
	if ((rc = link_recv(l, &type, &p, &len, err)) != HPOOL_OK)
		return rc;
	if (type == PROTO_ERROR)
		return link_error_frame(l, p, len, err);
	if (type != PROTO_EXPLAIN)
		return link_protocol_error(l, err, "expected EXPLAIN from "
		    "hpoold, got %s", proto_type_name(type));
	if (proto_dec_explain(p, len, &s) == -1)
		return link_protocol_error(l, err,
		    "malformed EXPLAIN frame from hpoold");
	if ((*text = proto_strdup(&s)) == NULL)
		return errfmt_set(err, HPOOL_E_MEMORY, "out of memory");
	return HPOOL_OK;
}
