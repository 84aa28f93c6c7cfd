/* tls.c: owns TLS: contexts from caller-supplied bytes, client SSLs with
 * SNI and name checks, pool-scoped session resumption, error wording. */
#include <arpa/inet.h>

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "hpool_error.h"
#include "log.h"
#include "pool.h"
#include "proto.h"
#include "server.h"
#include "tls.h"
#include "upstream.h"

/* The system trust store, loaded once and shared by every context that
 * trusts only it (the common case): a bundle costs hundreds of KiB. */
static X509_STORE *system_store;

static int	new_session_cb(SSL *, SSL_SESSION *);
static int	proxy_session_cb(SSL *, SSL_SESSION *);
static int	verify_text(long, const char *, char *, size_t);
static int	load_pem_cas(SSL_CTX *, const struct proto_str *);
static int	load_cert_key(SSL_CTX *, const struct proto_open *);
static int	password_cb(char *, int, int, void *);
static void	ssl_err_text(unsigned long, char *, size_t);

static void
digest_str(EVP_MD_CTX *md, uint8_t tag, const struct proto_str *s)
{
	uint8_t len[4] = { (uint8_t)(s->len >> 24), (uint8_t)(s->len >> 16),
	    (uint8_t)(s->len >> 8), (uint8_t)s->len };

	EVP_DigestUpdate(md, &tag, 1);
	EVP_DigestUpdate(md, len, 4);
	EVP_DigestUpdate(md, s->p, s->len);
}

int
tls_init(void)
{
	if ((system_store = X509_STORE_new()) == NULL ||
	    X509_STORE_set_default_paths(system_store) != 1) {
		ERR_clear_error();
		return -1;
	}
	ERR_clear_error();
	return 0;
}

void
tls_cleanup(void)
{
	X509_STORE_free(system_store);
	system_store = NULL;
}

void
tls_settings_digest(const struct proto_open *o, uint8_t out[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t fixed[7] = { o->tls_verify, o->tls_check_hostname,
	    o->tls_ca_system, (uint8_t)(o->tls_min_version >> 8),
	    (uint8_t)o->tls_min_version, (uint8_t)(o->tls_max_version >> 8),
	    (uint8_t)o->tls_max_version };
	unsigned int n = 32;

	if (md == NULL ||
	    EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		fatalx("cannot compute SHA-256");
	/* Every field length-prefixed and tagged: no two settings collide. */
	EVP_DigestUpdate(md, fixed, sizeof(fixed));
	digest_str(md, 1, &o->tls_ca_pem);
	digest_str(md, 2, &o->tls_cert_pem);
	digest_str(md, 3, &o->tls_key_pem);
	digest_str(md, 4, &o->tls_key_password);
	digest_str(md, 5, &o->tls_alpn);
	digest_str(md, 6, &o->tls_sni);
	EVP_DigestFinal_ex(md, out, &n);
	EVP_MD_CTX_free(md);
}

/* "[SSL: WRONG_VERSION_NUMBER] wrong version number", as Python's ssl
 * module prints an OpenSSL error. */
static void
ssl_err_text(unsigned long e, char *buf, size_t len)
{
	const char *reason = ERR_reason_error_string(e);
	const char *lib;
	char sym[128];
	size_t i;

	switch (ERR_GET_LIB(e)) {
	case ERR_LIB_SSL:	lib = "SSL"; break;
	case ERR_LIB_X509:	lib = "X509"; break;
	case ERR_LIB_PEM:	lib = "PEM"; break;
	case ERR_LIB_EVP:	lib = "EVP"; break;
	case ERR_LIB_ASN1:	lib = "ASN1"; break;
	default:		lib = "SSL"; break;
	}
	if (reason == NULL) {
		snprintf(buf, len, "[%s] unknown error (0x%lx)", lib, e);
		return;
	}
	for (i = 0; reason[i] != '\0' && i < sizeof(sym) - 1; i++)
		sym[i] = reason[i] == ' ' ? '_' :
		    (char)toupper((unsigned char)reason[i]);
	sym[i] = '\0';
	snprintf(buf, len, "[%s: %s] %s", lib, sym, reason);
}

static int
password_cb(char *buf, int size, int rwflag, void *arg)
{
	const struct proto_str *pw = arg;

	(void)rwflag;
	if (pw == NULL || pw->len == 0 || pw->len >= (size_t)size)
		return 0;
	memcpy(buf, pw->p, pw->len);
	return (int)pw->len;
}

static int
load_pem_cas(SSL_CTX *ctx, const struct proto_str *pem)
{
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	BIO *bio;
	X509 *x;
	int n = 0;

	if ((bio = BIO_new_mem_buf(pem->p, (int)pem->len)) == NULL)
		return -1;
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (X509_STORE_add_cert(store, x) != 1) {
			/* a duplicate is not an error */
			unsigned long e = ERR_peek_last_error();

			if (ERR_GET_REASON(e) != X509_R_CERT_ALREADY_IN_HASH_TABLE) {
				X509_free(x);
				BIO_free(bio);
				return -1;
			}
		}
		X509_free(x);
		n++;
	}
	BIO_free(bio);
	ERR_clear_error();	/* the end of the PEM stream */
	return n > 0 ? 0 : -1;
}

static int
load_cert_key(SSL_CTX *ctx, const struct proto_open *o)
{
	BIO *bio;
	X509 *x;
	EVP_PKEY *key;
	const struct proto_str *kpem = o->tls_key_pem.len ? &o->tls_key_pem :
	    &o->tls_cert_pem;	/* load_cert_chain(certfile): key in it */
	int rc = -1;

	if ((bio = BIO_new_mem_buf(o->tls_cert_pem.p,
	    (int)o->tls_cert_pem.len)) == NULL)
		return -1;
	if ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL ||
	    SSL_CTX_use_certificate(ctx, x) != 1)
		goto out;
	/* The rest of the chain. */
	while (1) {
		X509 *ca = PEM_read_bio_X509(bio, NULL, NULL, NULL);

		if (ca == NULL)
			break;
		if (SSL_CTX_add0_chain_cert(ctx, ca) != 1) {
			X509_free(ca);
			goto out;
		}
	}
	ERR_clear_error();
	BIO_free(bio);
	if ((bio = BIO_new_mem_buf(kpem->p, (int)kpem->len)) == NULL)
		goto out;
	key = PEM_read_bio_PrivateKey(bio, NULL, password_cb,
	    (void *)&o->tls_key_password);
	if (key == NULL || SSL_CTX_use_PrivateKey(ctx, key) != 1) {
		EVP_PKEY_free(key);
		goto out;
	}
	EVP_PKEY_free(key);
	if (SSL_CTX_check_private_key(ctx) != 1)
		goto out;
	rc = 0;
out:
	X509_free(x);
	BIO_free(bio);
	return rc;
}

SSL_CTX *
tls_ctx_new(const struct proto_open *o, int *code, char *err, size_t errlen)
{
	SSL_CTX *ctx;
	char why[200];

	*code = HPOOL_E_SSL_ERROR;
	ERR_clear_error();
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		snprintf(err, errlen, "cannot create a TLS context");
		return NULL;
	}
	/* ssl.create_default_context(): TLS 1.2 at least. */
	SSL_CTX_set_min_proto_version(ctx, o->tls_min_version ?
	    o->tls_min_version : TLS1_2_VERSION);
	if (o->tls_max_version &&
	    SSL_CTX_set_max_proto_version(ctx, o->tls_max_version) != 1) {
		*code = HPOOL_E_VALUE_ERROR;
		snprintf(err, errlen, "unsupported maximum TLS version 0x%04x",
		    o->tls_max_version);
		goto fail;
	}
	if (o->tls_min_version && SSL_CTX_get_min_proto_version(ctx) !=
	    o->tls_min_version) {
		*code = HPOOL_E_VALUE_ERROR;
		snprintf(err, errlen, "unsupported minimum TLS version 0x%04x",
		    o->tls_min_version);
		goto fail;
	}
	SSL_CTX_set_verify(ctx, o->tls_verify == PROTO_TLS_CERT_NONE ?
	    SSL_VERIFY_NONE : SSL_VERIFY_PEER, NULL);
	if (o->tls_ca_system && o->tls_ca_pem.len == 0 &&
	    system_store != NULL)
		SSL_CTX_set1_cert_store(ctx, system_store);
	else if (o->tls_ca_system &&
	    SSL_CTX_set_default_verify_paths(ctx) != 1) {
		snprintf(err, errlen, "cannot load the system trust store");
		goto fail;
	}
	if (o->tls_ca_pem.len && load_pem_cas(ctx, &o->tls_ca_pem) == -1) {
		ssl_err_text(ERR_peek_last_error(), why, sizeof(why));
		snprintf(err, errlen, "no usable CA certificate in the data "
		    "given: %s", ERR_peek_last_error() ? why :
		    "[X509: NO_CERTIFICATE_OR_CRL_FOUND] no certificate found");
		goto fail;
	}
	if (o->tls_cert_pem.len && load_cert_key(ctx, o) == -1) {
		ssl_err_text(ERR_peek_last_error(), why, sizeof(why));
		snprintf(err, errlen, "cannot use the client certificate or "
		    "key: %s", why);
		goto fail;
	}
	if (o->tls_alpn.len && SSL_CTX_set_alpn_protos(ctx,
	    (const unsigned char *)o->tls_alpn.p,
	    (unsigned int)o->tls_alpn.len) != 0) {
		*code = HPOOL_E_VALUE_ERROR;
		snprintf(err, errlen, "malformed ALPN protocol list");
		goto fail;
	}
	/* Sessions are kept by the pool, one per pool key, never shared
	 * with another key: OpenSSL's internal cache stays out of it. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT |
	    SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(ctx, new_session_cb);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	/* Read-ahead is turned on per connection by stream.c, which knows
	 * to look for records OpenSSL buffered when reading resumes. */
	ERR_clear_error();
	return ctx;
fail:
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return NULL;
}

static int
new_session_cb(SSL *ssl, SSL_SESSION *sess)
{
	struct upconn *c = SSL_get_app_data(ssl);
	struct pool *p;

	if (c == NULL)
		return 0;
	p = c->pool;
	if (p->tls_session != NULL)
		SSL_SESSION_free(p->tls_session);
	p->tls_session = sess;
	log_debug("pool %s: TLS session stored for resumption", p->name);
	return 1;	/* we keep the reference */
}

static int
is_ip_literal(const char *host)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, host, buf) == 1 ||
	    inet_pton(AF_INET6, host, buf) == 1;
}

/* An SSL of ctx for conn, to name: SNI for a name, not an address (as
 * Python and curl send it); the name or address checked when check;
 * session resumed when there is one. */
static SSL *
ssl_for(SSL_CTX *ctx, void *conn, const char *name, int check,
    SSL_SESSION *session)
{
	SSL *ssl;
	X509_VERIFY_PARAM *param;

	if ((ssl = SSL_new(ctx)) == NULL)
		return NULL;
	SSL_set_app_data(ssl, conn);
	if (!is_ip_literal(name))
		SSL_set_tlsext_host_name(ssl, name);
	if (check) {
		param = SSL_get0_param(ssl);
		X509_VERIFY_PARAM_set_hostflags(param,
		    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (is_ip_literal(name)) {
			if (X509_VERIFY_PARAM_set1_ip_asc(param, name) != 1)
				goto fail;
		} else if (SSL_set1_host(ssl, name) != 1)
			goto fail;
	}
	if (session != NULL)
		SSL_set_session(ssl, session);
	return ssl;
fail:
	SSL_free(ssl);
	return NULL;
}

SSL *
tls_ssl_new(struct pool *p, void *conn)
{
	return ssl_for(p->tls_ctx, conn, pool_tls_name(p),
	    p->tls_check_hostname, p->tls_session);
}

/* A failed verification (vr) of a certificate for name, worded as
 * Python's ssl module words it. */
static int
verify_text(long vr, const char *name, char *buf, size_t len)
{
	if (vr == X509_V_ERR_HOSTNAME_MISMATCH)
		snprintf(buf, len, "[SSL: CERTIFICATE_VERIFY_FAILED] "
		    "certificate verify failed: Hostname mismatch, "
		    "certificate is not valid for '%s'.", name);
	else if (vr == X509_V_ERR_IP_ADDRESS_MISMATCH)
		snprintf(buf, len, "[SSL: CERTIFICATE_VERIFY_FAILED] "
		    "certificate verify failed: IP address mismatch, "
		    "certificate is not valid for '%s'.", name);
	else
		snprintf(buf, len, "[SSL: CERTIFICATE_VERIFY_FAILED] "
		    "certificate verify failed: %s",
		    X509_verify_cert_error_string(vr));
	return HPOOL_E_SSL_CERT_VERIFICATION;
}

int
tls_error(SSL *ssl, unsigned long e, char *buf, size_t len)
{
	long vr = ssl != NULL ? SSL_get_verify_result(ssl) : X509_V_OK;
	struct upconn *c = ssl != NULL ? SSL_get_app_data(ssl) : NULL;

	if (vr != X509_V_OK)
		return verify_text(vr, c != NULL ? pool_tls_name(c->pool) :
		    "?", buf, len);
	if (e == 0) {
		snprintf(buf, len, "EOF occurred in violation of protocol");
		return HPOOL_E_SSL_ERROR;
	}
	ssl_err_text(e, buf, len);
	return HPOOL_E_SSL_ERROR;
}

int
tls_proxy_setup(struct pool *p, const struct proto_open *o, int *code,
    char *err, size_t errlen)
{
	SSL_CTX *ctx;
	char why[200];

	if (o->proxy_name.len > 0) {
		snprintf(p->proxy_name, sizeof(p->proxy_name), "%.*s",
		    (int)o->proxy_name.len, o->proxy_name.p);
		p->proxy_daemon = 1;
	} else if (p->key.tunnel_host[0])
		snprintf(p->proxy_name, sizeof(p->proxy_name), "%s%.50s%s:%u",
		    strchr(p->key.host, ':') != NULL ? "[" : "", p->key.host,
		    strchr(p->key.host, ':') != NULL ? "]" : "", p->key.port);
	if (o->tunnel_tls == PROTO_TUNNEL_TLS_NONE)
		return 0;
	*code = HPOOL_E_SSL_ERROR;
	ERR_clear_error();
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		snprintf(err, errlen, "cannot create a TLS context for proxy "
		    "%s", p->proxy_name);
		return -1;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, o->tunnel_tls == PROTO_TUNNEL_TLS_INSECURE ?
	    SSL_VERIFY_NONE : SSL_VERIFY_PEER, NULL);
	if (o->tunnel_ca_pem.len > 0) {
		if (load_pem_cas(ctx, &o->tunnel_ca_pem) == -1) {
			ssl_err_text(ERR_peek_last_error(), why, sizeof(why));
			snprintf(err, errlen, "no usable CA certificate for "
			    "proxy %s: %s", p->proxy_name,
			    ERR_peek_last_error() ? why : "[X509: "
			    "NO_CERTIFICATE_OR_CRL_FOUND] no certificate "
			    "found");
			SSL_CTX_free(ctx);
			ERR_clear_error();
			return -1;
		}
	} else if (system_store != NULL)
		SSL_CTX_set1_cert_store(ctx, system_store);
	else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
		snprintf(err, errlen, "cannot load the system trust store "
		    "for proxy %s", p->proxy_name);
		SSL_CTX_free(ctx);
		ERR_clear_error();
		return -1;
	}
	/* the proxy's session is resumed as the target's is: per pool */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT |
	    SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(ctx, proxy_session_cb);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	ERR_clear_error();
	p->proxy_tls_ctx = ctx;
	return 0;
}

static int
proxy_session_cb(SSL *ssl, SSL_SESSION *sess)
{
	struct upconn *c = SSL_get_app_data(ssl);
	struct pool *p;

	if (c == NULL)
		return 0;
	p = c->pool;
	if (p->proxy_tls_session != NULL)
		SSL_SESSION_free(p->proxy_tls_session);
	p->proxy_tls_session = sess;
	return 1;
}

SSL *
tls_proxy_ssl_new(struct pool *p, void *conn)
{
	/* the proxy's name, as curl checks it, unless --proxy-insecure's
	 * context verifies nothing */
	return ssl_for(p->proxy_tls_ctx, conn, p->key.host,
	    SSL_CTX_get_verify_mode(p->proxy_tls_ctx) != SSL_VERIFY_NONE,
	    p->proxy_tls_session);
}

int
tls_proxy_error(SSL *ssl, unsigned long e, const struct pool *p, char *buf,
    size_t len)
{
	long vr = ssl != NULL ? SSL_get_verify_result(ssl) : X509_V_OK;
	char text[300];
	int code;

	if (vr != X509_V_OK)
		code = verify_text(vr, p->key.host, text, sizeof(text));
	else {
		code = HPOOL_E_SSL_ERROR;
		if (e == 0)
			snprintf(text, sizeof(text), "EOF occurred in "
			    "violation of protocol");
		else
			ssl_err_text(e, text, sizeof(text));
	}
	snprintf(buf, len, "%s (TLS to proxy %s)", text, p->proxy_name);
	return code;
}

void
tls_pool_free(struct pool *p)
{
	if (p->proxy_tls_session != NULL)
		SSL_SESSION_free(p->proxy_tls_session);
	if (p->proxy_tls_ctx != NULL)
		SSL_CTX_free(p->proxy_tls_ctx);
	p->proxy_tls_session = NULL;
	p->proxy_tls_ctx = NULL;
	if (p->tls_session != NULL)
		SSL_SESSION_free(p->tls_session);
	if (p->tls_ctx != NULL)
		SSL_CTX_free(p->tls_ctx);
	p->tls_session = NULL;
	p->tls_ctx = NULL;
}
