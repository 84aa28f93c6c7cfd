/*
 * stats.c: owns hpool_stats(): hpoold's daemon-wide figures (pools,
 * callers, workers, totals) as tables, JSON or Prometheus text, asked
 * with STATS in place of OPEN (protocol 4).
 */
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "link.h"

/* The first protocol version with STATS and STATS_OK. */
#define STATS_VERSION	4

int
hpool_stats(int format, const struct hpool_conn_opts *opts, char **text,
    struct hpool_error *err)
{
	static const struct hpool_conn_opts defaults = HPOOL_CONN_OPTS_INIT;
	struct hpool_error e;
	struct proto_str s;
	struct link *l = NULL;
	const uint8_t *p;
	char *path = NULL;
	uint32_t timeout_ms;
	uint8_t type;
	size_t len;
	int rc, has_timeout, wait_ms;

	errfmt_clear(&e);
	if (text != NULL)
		*text = NULL;
	if (opts == NULL)
		opts = &defaults;
	if (text == NULL) {
		rc = errfmt_set(&e, HPOOL_E_TYPE_ERROR, "text must not be "
		    "NULL");
		goto out;
	}
	if (format < HPOOL_STATS_TABLE || format > HPOOL_STATS_PROMETHEUS) {
		rc = errfmt_set(&e, HPOOL_E_VALUE_ERROR, "stats format %d is "
		    "not HPOOL_STATS_TABLE, _JSON or _PROMETHEUS", format);
		goto out;
	}
	if ((rc = conn_timeouts(opts->timeout, &has_timeout, &timeout_ms,
	    &wait_ms, &e)) != HPOOL_OK)
		goto out;
	if ((path = sockpath_find(opts->socket_path)) == NULL) {
		rc = errfmt_set(&e, HPOOL_E_MEMORY, "out of memory");
		goto out;
	}
	if ((l = link_open(path, NULL, wait_ms, 0, &e)) == NULL) {
		rc = e.code;
		goto out;
	}
	if (l->version < STATS_VERSION) {
		link_close(l);
		rc = errfmt_set(&e, HPOOL_E_PROTOCOL, "hpoold is too old for "
		    "stats (it speaks protocol %u; stats need %u)", l->version,
		    STATS_VERSION);
		goto out;
	}
	if (proto_enc_stats(&l->w, (uint8_t)format) == -1 ||
	    (rc = link_flush(l, &e)) != HPOOL_OK ||
	    (rc = link_recv(l, &type, &p, &len, &e)) != HPOOL_OK) {
		rc = e.code != HPOOL_OK ? e.code : HPOOL_E_PROTOCOL;
		goto out;
	}
	if (type == PROTO_ERROR) {
		rc = link_error_frame(l, p, len, &e);
		goto out;
	}
	if (type != PROTO_STATS_OK) {
		rc = link_protocol_error(l, &e, "expected STATS_OK from "
		    "hpoold, got %s", proto_type_name(type));
		goto out;
	}
	if (proto_dec_stats_ok(p, len, &s) == -1) {
		rc = link_protocol_error(l, &e,
		    "malformed STATS_OK frame from hpoold");
		goto out;
	}
	if ((*text = proto_strdup(&s)) == NULL)
		rc = errfmt_set(&e, HPOOL_E_MEMORY, "out of memory");
	else
		rc = HPOOL_OK;
out:
	link_free(l);
	free(path);
	if (err != NULL)
		*err = e;
	return rc;
}
