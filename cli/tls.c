/*
 * tls.c: owns the TLS settings of an https URL: the SSLContext that
 * HTTPSConnection would be given, from --cacert, --cert, --key, --pass
 * and -k.
 */
#include <stdio.h>

#include "cli.h"

/*
 * The context HTTPSConnection would be given: Python's default one, or,
 * with --cacert, create_default_context(cafile=...) which trusts that file
 * only (so does curl). Files are read here, with our own permissions.
 */
int
tls_context(const struct opts *o, hpool_ssl_context **out)
{
	static const char *const http11[] = { "http/1.1" };
	hpool_ssl_context *ctx = NULL;
	struct hpool_error e;
	int ex = EX_OK;

	*out = NULL;
	if ((o->cacert != NULL ? hpool_ssl_context_new(&ctx, &e) :
	    hpool_ssl_context_new_default(&ctx, &e)) != HPOOL_OK)
		return cli_fail_err(&e, NULL);
	if (hpool_ssl_context_set_alpn_protocols(ctx, http11, 1, &e) !=
	    HPOOL_OK) {
		ex = cli_fail_err(&e, NULL);
		goto out;
	}
	if (o->insecure &&
	    (hpool_ssl_context_set_check_hostname(ctx, 0, &e) != HPOOL_OK ||
	    hpool_ssl_context_set_verify_mode(ctx, HPOOL_CERT_NONE, &e) !=
	    HPOOL_OK)) {
		ex = cli_fail_err(&e, NULL);
		goto out;
	}
	if (o->cacert != NULL && hpool_ssl_context_load_verify_locations(ctx,
	    o->cacert, NULL, NULL, 0, &e) != HPOOL_OK) {
		ex = cli_fail_err(&e, NULL);
		if (ex == EX_GENERIC || ex == EX_SSL_CONNECT)
			ex = EX_SSL_CACERT;
		goto out;
	}
	if (o->key != NULL && o->cert == NULL) {
		ex = cli_fail(EX_USAGE, "ValueError", "--key needs --cert");
		goto out;
	}
	if (o->cert != NULL && hpool_ssl_context_load_cert_chain(ctx, o->cert,
	    o->key, o->pass, &e) != HPOOL_OK) {
		ex = cli_fail_err(&e, NULL);
		if (ex == EX_GENERIC || ex == EX_SSL_CONNECT)
			ex = EX_SSL_CERTPROBLEM;
		goto out;
	}
out:
	if (ex != EX_OK)
		hpool_ssl_context_free(ctx);
	else
		*out = ctx;
	return ex;
}
