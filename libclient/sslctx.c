/*
 * sslctx.c: owns hpool_ssl_context (ssl.SSLContext): its settings, reading
 * CA, certificate and key files with the caller's own permissions, and
 * turning the settings into the TLS parameters of OPEN.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client.h"

/* PEM_BUFSIZE - 1: hpoold hands the password to OpenSSL's callback. */
#define PASSWORD_MAX	1023
/* The ALPN extension's list is a u16-length vector. */
#define ALPN_MAX	65535

struct hpool_ssl_context {
	unsigned	 refs;
	int		 verify_mode;	/* HPOOL_CERT_* */
	int		 check_hostname;
	int		 ca_system;	/* trust hpoold's system store */
	struct sslbuf	 ca;		/* PEM, every load appended */
	struct sslbuf	 cert;		/* PEM chain (may hold the key) */
	struct sslbuf	 key;		/* PEM, empty: in cert */
	char		*password;	/* NULL: none */
	int		 min_version;	/* HPOOL_TLS_VERSION_* */
	int		 max_version;
	struct sslbuf	 alpn;		/* wire format */
};

static int	ctx_new(hpool_ssl_context **, int, struct hpool_error *);
static int	file_error(struct hpool_error *, int errnum, const char *);
static int	ca_append(hpool_ssl_context *, const char *, size_t,
		    struct hpool_error *);
static int	ca_add_pem(hpool_ssl_context *, const char *, size_t,
		    struct hpool_error *);
static int	ca_add_der(hpool_ssl_context *, const uint8_t *, size_t,
		    struct hpool_error *);
static int	ca_add_dir(hpool_ssl_context *, const char *,
		    struct hpool_error *);
static int	is_hashed_name(const char *);
static int	version_ok(int);
static int	set_version(int *, int, struct hpool_error *);
static void	buf_wipe(struct sslbuf *);

static void
buf_wipe(struct sslbuf *b)
{
	/* Key material does not linger in freed memory. */
	if (b->p != NULL)
		explicit_bzero(b->p, b->len);
	free(b->p);
	b->p = NULL;
	b->len = 0;
}

static int
ctx_new(hpool_ssl_context **out, int ca_system, struct hpool_error *err)
{
	hpool_ssl_context *ctx;

	if (err != NULL)
		errfmt_clear(err);
	if ((*out = ctx = calloc(1, sizeof(*ctx))) == NULL)
		return errfmt_set(err, HPOOL_E_MEMORY, "out of memory");
	ctx->refs = 1;
	ctx->verify_mode = HPOOL_CERT_REQUIRED;
	ctx->check_hostname = 1;
	ctx->ca_system = ca_system;
	/* What Python 3.10+ reports for a TLS client context. */
	ctx->min_version = HPOOL_TLS_VERSION_1_2;
	ctx->max_version = HPOOL_TLS_VERSION_MAXIMUM_SUPPORTED;
	return HPOOL_OK;
}

int
hpool_ssl_context_new_default(hpool_ssl_context **out,
    struct hpool_error *err)
{
	return ctx_new(out, 1, err);
}

int
hpool_ssl_context_new(hpool_ssl_context **out, struct hpool_error *err)
{
	return ctx_new(out, 0, err);
}

hpool_ssl_context *
hpool_ssl_context_ref(hpool_ssl_context *ctx)
{
	if (ctx != NULL)
		__atomic_add_fetch(&ctx->refs, 1, __ATOMIC_RELAXED);
	return ctx;
}

void
hpool_ssl_context_free(hpool_ssl_context *ctx)
{
	if (ctx == NULL ||
	    __atomic_sub_fetch(&ctx->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	free(ctx->ca.p);
	free(ctx->alpn.p);
	buf_wipe(&ctx->cert);
	buf_wipe(&ctx->key);
	if (ctx->password != NULL)
		explicit_bzero(ctx->password, strlen(ctx->password));
	free(ctx->password);
	free(ctx);
}

int
hpool_ssl_context_set_verify_mode(hpool_ssl_context *ctx, int mode,
    struct hpool_error *err)
{
	if (err != NULL)
		errfmt_clear(err);
	if (mode != HPOOL_CERT_NONE && mode != HPOOL_CERT_OPTIONAL &&
	    mode != HPOOL_CERT_REQUIRED)
		return errfmt_set(err, HPOOL_E_VALUE_ERROR,
		    "invalid value for verify_mode");
	if (mode == HPOOL_CERT_NONE && ctx->check_hostname)
		return errfmt_set(err, HPOOL_E_VALUE_ERROR, "Cannot set "
		    "verify_mode to CERT_NONE when check_hostname is enabled.");
	ctx->verify_mode = mode;
	return HPOOL_OK;
}

int
hpool_ssl_context_verify_mode(const hpool_ssl_context *ctx)
{
	return ctx->verify_mode;
}

int
hpool_ssl_context_set_check_hostname(hpool_ssl_context *ctx, int on,
    struct hpool_error *err)
{
	if (err != NULL)
		errfmt_clear(err);
	ctx->check_hostname = on != 0;
	/* Python: a name check without verification would mean nothing. */
	if (on && ctx->verify_mode == HPOOL_CERT_NONE)
		ctx->verify_mode = HPOOL_CERT_REQUIRED;
	return HPOOL_OK;
}

int
hpool_ssl_context_check_hostname(const hpool_ssl_context *ctx)
{
	return ctx->check_hostname;
}

/* OSError as Python's open() words it: "[Errno 2] No such ...: 'path'". */
static int
file_error(struct hpool_error *err, int errnum, const char *path)
{
	char rb[300];

	errfmt_repr(rb, sizeof(rb), path, strlen(path), 0);
	return errfmt_set(err, hpool_error_from_errno(errnum),
	    "[Errno %d] %s: %s", errnum, strerror(errnum), rb);
}

int
sslctx_read_file(const char *path, char **out, size_t *len,
    struct hpool_error *err)
{
	struct stat st;
	char *buf, rb[300];
	size_t n = 0;
	ssize_t r;
	int fd, e;

	*out = NULL;
	*len = 0;
	/* Opened here, by the caller's process: hpoold never opens a path. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1)
		return file_error(err, errno, path);
	if (fstat(fd, &st) == -1) {
		e = errno;
		close(fd);
		return file_error(err, e, path);
	}
	if (S_ISDIR(st.st_mode)) {
		close(fd);
		return file_error(err, EISDIR, path);
	}
	/* One byte more than the cap tells "too large" from "exactly 1 MiB". */
	if ((buf = malloc(PROTO_MAX_STR + 1)) == NULL) {
		close(fd);
		return errfmt_set(err, HPOOL_E_MEMORY, "out of memory");
	}
	while (n < PROTO_MAX_STR + 1) {
		r = read(fd, buf + n, PROTO_MAX_STR + 1 - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			e = errno;
			close(fd);
			buf_wipe(&(struct sslbuf){ buf, n });
			return file_error(err, e, path);
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (n > PROTO_MAX_STR) {
		buf_wipe(&(struct sslbuf){ buf, n });
		errfmt_repr(rb, sizeof(rb), path, strlen(path), 0);
		return errfmt_set(err, HPOOL_E_VALUE_ERROR,
		    "%s is larger than 1 MiB, the most hpool can send", rb);
	}
	*out = buf;
	*len = n;
	return HPOOL_OK;
}

/* Append PEM text to the CA set, within the protocol's cap. */
static int
ca_append(hpool_ssl_context *ctx, const char *p, size_t len,
    struct hpool_error *err)
{
	size_t need = ctx->ca.len + len + 1;
	char *nb;

	if (need > PROTO_MAX_STR)
		return errfmt_set(err, HPOOL_E_VALUE_ERROR, "CA certificates "
		    "larger than 1 MiB in all, the most hpool can send");
	if ((nb = realloc(ctx->ca.p, need)) == NULL)
		return errfmt_set(err, HPOOL_E_MEMORY, "out of memory");
	ctx->ca.p = nb;
	memcpy(nb + ctx->ca.len, p, len);
	ctx->ca.len += len;
	/* The next PEM block starts on a line of its own. */
	if (len > 0 && p[len - 1] != '\n')
		nb[ctx->ca.len++] = '\n';
	return HPOOL_OK;
}

/* PEM with at least one certificate, or OpenSSL's reason it has none. */
static int
ca_add_pem(hpool_ssl_context *ctx, const char *p, size_t len,
    struct hpool_error *err)
{
	if (memmem(p, len, "-----BEGIN ", 11) == NULL ||
	    memmem(p, len, "CERTIFICATE-----", 16) == NULL)
		return errfmt_set(err, HPOOL_E_SSL_ERROR, "[X509: "
		    "NO_CERTIFICATE_OR_CRL_FOUND] no certificate or crl found");
	return ca_append(ctx, p, len, err);
}

/*
 * cadata as bytes is DER, one certificate after another (as Python takes
 * it); each becomes a PEM block, the only form the protocol carries.
 */
static int
ca_add_der(hpool_ssl_context *ctx, const uint8_t *p, size_t len,
    struct hpool_error *err)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	static const char hdr[] = "-----BEGIN CERTIFICATE-----\n";
	static const char ftr[] = "-----END CERTIFICATE-----\n";
	size_t off = 0, clen, hlen, i, o, nl, k;
	uint32_t v;
	char *pem;
	int rc;

	while (off < len) {
		/* SEQUENCE, then a definite length of at most 4 bytes. */
		if (len - off < 2 || p[off] != 0x30)
			goto bad;
		if (p[off + 1] < 0x80) {
			clen = p[off + 1];
			hlen = 2;
		} else {
			nl = p[off + 1] & 0x7f;
			if (nl == 0 || nl > 4 || len - off < 2 + nl)
				goto bad;
			for (clen = 0, k = 0; k < nl; k++)
				clen = clen << 8 | p[off + 2 + k];
			hlen = 2 + nl;
		}
		if (clen > len - off - hlen)
			goto bad;
		clen += hlen;
		if (clen > PROTO_MAX_STR)
			goto bad;
		/* 4 chars per 3 bytes, a newline per 64 chars. */
		if ((pem = malloc(sizeof(hdr) + sizeof(ftr) + (clen + 2) / 3 *
		    4 + clen / 48 + 2)) == NULL)
			return errfmt_set(err, HPOOL_E_MEMORY, "out of memory");
		memcpy(pem, hdr, sizeof(hdr) - 1);
		o = sizeof(hdr) - 1;
		for (i = 0; i < clen; i += 3) {
			v = (uint32_t)p[off + i] << 16;
			if (i + 1 < clen)
				v |= (uint32_t)p[off + i + 1] << 8;
			if (i + 2 < clen)
				v |= p[off + i + 2];
			pem[o++] = b64[v >> 18 & 63];
			pem[o++] = b64[v >> 12 & 63];
			pem[o++] = i + 1 < clen ? b64[v >> 6 & 63] : '=';
			pem[o++] = i + 2 < clen ? b64[v & 63] : '=';
			if ((i / 3 + 1) % 16 == 0 || i + 3 >= clen)
				pem[o++] = '\n';
		}
		memcpy(pem + o, ftr, sizeof(ftr) - 1);
		o += sizeof(ftr) - 1;
		rc = ca_append(ctx, pem, o, err);
		free(pem);
		if (rc != HPOOL_OK)
			return rc;
		off += clen;
	}
	return HPOOL_OK;
bad:
	return errfmt_set(err, HPOOL_E_SSL_ERROR,
	    "not enough data: cadata does not contain a certificate");
}

/* "5ed36f99.0": the names `openssl rehash` gives, the only ones OpenSSL
 * looks up in a CA directory. */
static int
is_hashed_name(const char *s)
{
	int i;

	for (i = 0; i < 8; i++)
		if (!isxdigit((unsigned char)s[i]) ||
		    isupper((unsigned char)s[i]))
			return 0;
	if (s[8] != '.' || !isdigit((unsigned char)s[9]))
		return 0;
	for (i = 10; s[i] != '\0'; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

static int
ca_add_dir(hpool_ssl_context *ctx, const char *dir, struct hpool_error *err)
{
	struct dirent *de;
	char path[4096], *data;
	size_t len;
	DIR *d;
	int rc = HPOOL_OK, n;

	if ((d = opendir(dir)) == NULL)
		return file_error(err, errno, dir);
	while ((de = readdir(d)) != NULL) {
		if (!is_hashed_name(de->d_name))
			continue;
		n = snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (n < 0 || (size_t)n >= sizeof(path)) {
			rc = file_error(err, ENAMETOOLONG, dir);
			break;
		}
		if ((rc = sslctx_read_file(path, &data, &len, err)) !=
		    HPOOL_OK)
			break;
		rc = ca_add_pem(ctx, data, len, err);
		free(data);
		if (rc != HPOOL_OK)
			break;
	}
	closedir(d);
	return rc;
}

int
hpool_ssl_context_load_verify_locations(hpool_ssl_context *ctx,
    const char *cafile, const char *capath, const void *cadata,
    size_t cadata_len, struct hpool_error *err)
{
	struct sslbuf saved = ctx->ca;
	char *data, *copy;
	size_t len;
	int rc = HPOOL_OK;

	if (err != NULL)
		errfmt_clear(err);
	if (cadata == NULL)
		cadata_len = 0;
	if (cafile == NULL && capath == NULL && cadata_len == 0)
		return errfmt_set(err, HPOOL_E_TYPE_ERROR,
		    "cafile, capath and cadata cannot be all omitted");
	/* All or nothing: a failed call leaves the CA set as it was. */
	if (saved.len > 0) {
		if ((copy = malloc(saved.len)) == NULL)
			return errfmt_set(err, HPOOL_E_MEMORY,
			    "out of memory");
		memcpy(copy, saved.p, saved.len);
		saved.p = copy;
	}
	if (cafile != NULL) {
		if ((rc = sslctx_read_file(cafile, &data, &len, err)) ==
		    HPOOL_OK) {
			rc = ca_add_pem(ctx, data, len, err);
			free(data);
		}
	}
	if (rc == HPOOL_OK && capath != NULL)
		rc = ca_add_dir(ctx, capath, err);
	if (rc == HPOOL_OK && cadata_len > 0) {
		if (((const uint8_t *)cadata)[0] == 0x30)
			rc = ca_add_der(ctx, cadata, cadata_len, err);
		else if (memmem(cadata, cadata_len, "-----BEGIN ", 11) ==
		    NULL)
			rc = errfmt_set(err, HPOOL_E_SSL_ERROR, "no start "
			    "line: cadata does not contain a certificate");
		else
			rc = ca_add_pem(ctx, cadata, cadata_len, err);
	}
	if (rc != HPOOL_OK) {
		free(ctx->ca.p);
		ctx->ca = saved;
	} else
		free(saved.p);
	return rc;
}

int
hpool_ssl_context_load_cert_chain(hpool_ssl_context *ctx,
    const char *certfile, const char *keyfile, const char *password,
    struct hpool_error *err)
{
	struct sslbuf cert = { NULL, 0 }, key = { NULL, 0 };
	char *pw = NULL;
	int rc;

	if (err != NULL)
		errfmt_clear(err);
	if (certfile == NULL)
		return errfmt_set(err, HPOOL_E_TYPE_ERROR,
		    "certfile should be a valid filesystem path");
	if (password != NULL && strlen(password) > PASSWORD_MAX)
		return errfmt_set(err, HPOOL_E_VALUE_ERROR,
		    "password cannot be longer than %d bytes", PASSWORD_MAX);
	if ((rc = sslctx_read_file(certfile, &cert.p, &cert.len, err)) !=
	    HPOOL_OK)
		return rc;
	if (keyfile != NULL && (rc = sslctx_read_file(keyfile, &key.p,
	    &key.len, err)) != HPOOL_OK) {
		buf_wipe(&cert);
		return rc;
	}
	if (password != NULL && password[0] != '\0' &&
	    (pw = strdup(password)) == NULL) {
		buf_wipe(&cert);
		buf_wipe(&key);
		return errfmt_set(err, HPOOL_E_MEMORY, "out of memory");
	}
	/* Both files read: only now is the old chain replaced. */
	buf_wipe(&ctx->cert);
	buf_wipe(&ctx->key);
	if (ctx->password != NULL)
		explicit_bzero(ctx->password, strlen(ctx->password));
	free(ctx->password);
	ctx->cert = cert;
	ctx->key = key;
	ctx->password = pw;
	return HPOOL_OK;
}

int
hpool_ssl_context_load_default_certs(hpool_ssl_context *ctx,
    struct hpool_error *err)
{
	if (err != NULL)
		errfmt_clear(err);
	ctx->ca_system = 1;
	return HPOOL_OK;
}

static int
version_ok(int v)
{
	return v == HPOOL_TLS_VERSION_MINIMUM_SUPPORTED ||
	    v == HPOOL_TLS_VERSION_MAXIMUM_SUPPORTED ||
	    v == HPOOL_TLS_VERSION_1_2 || v == HPOOL_TLS_VERSION_1_3;
}

/* Python's minimum_version / maximum_version setters share one rule. */
static int
set_version(int *slot, int version, struct hpool_error *err)
{
	if (err != NULL)
		errfmt_clear(err);
	if (!version_ok(version))
		return errfmt_set(err, HPOOL_E_VALUE_ERROR,
		    "Unsupported TLS/SSL version 0x%x", (unsigned)version);
	*slot = version;
	return HPOOL_OK;
}

int
hpool_ssl_context_set_minimum_version(hpool_ssl_context *ctx, int version,
    struct hpool_error *err)
{
	return set_version(&ctx->min_version, version, err);
}

int
hpool_ssl_context_minimum_version(const hpool_ssl_context *ctx)
{
	return ctx->min_version;
}

int
hpool_ssl_context_set_maximum_version(hpool_ssl_context *ctx, int version,
    struct hpool_error *err)
{
	return set_version(&ctx->max_version, version, err);
}

int
hpool_ssl_context_maximum_version(const hpool_ssl_context *ctx)
{
	return ctx->max_version;
}

int
hpool_ssl_context_set_alpn_protocols(hpool_ssl_context *ctx,
    const char *const *protos, size_t nprotos, struct hpool_error *err)
{
	struct sslbuf w = { NULL, 0 };
	size_t i, j, len, total = 0;

	if (err != NULL)
		errfmt_clear(err);
	for (i = 0; i < nprotos; i++) {
		if (protos[i] == NULL)
			return errfmt_set(err, HPOOL_E_TYPE_ERROR,
			    "ALPN protocol must be a string, not NULL");
		len = strlen(protos[i]);
		for (j = 0; j < len; j++)
			if ((unsigned char)protos[i][j] >= 0x80)
				return errfmt_set(err, HPOOL_E_VALUE_ERROR,
				    "'ascii' codec can't encode character "
				    "'\\x%02x' in position %zu: ordinal not "
				    "in range(128)",
				    (unsigned char)protos[i][j], j);
		if (len == 0 || len > 255)
			return errfmt_set(err, HPOOL_E_SSL_ERROR,
			    "ALPN protocols must be 1 to 255 in length");
		total += 1 + len;
		if (total > ALPN_MAX)
			return errfmt_set(err, HPOOL_E_VALUE_ERROR,
			    "ALPN protocol list longer than %d bytes",
			    ALPN_MAX);
	}
	if (total > 0 && (w.p = malloc(total)) == NULL)
		return errfmt_set(err, HPOOL_E_MEMORY, "out of memory");
	/* Wire format: each name prefixed by its length byte. */
	for (i = 0; i < nprotos; i++) {
		len = strlen(protos[i]);
		w.p[w.len++] = (char)len;
		memcpy(w.p + w.len, protos[i], len);
		w.len += len;
	}
	free(ctx->alpn.p);
	ctx->alpn = w;
	return HPOOL_OK;
}

int
sslctx_check(const hpool_ssl_context *ctx, int check_hostname,
    struct hpool_error *err)
{
	if (check_hostname == HPOOL_CHECK_HOSTNAME_DEFAULT)
		check_hostname = ctx->check_hostname;
	if (check_hostname && ctx->verify_mode == HPOOL_CERT_NONE)
		return errfmt_set(err, HPOOL_E_VALUE_ERROR, "check_hostname "
		    "needs a SSL context with either CERT_OPTIONAL or "
		    "CERT_REQUIRED");
	return HPOOL_OK;
}

/* The TLS parameters of OPEN; o's slices point into ctx. */
int
sslctx_fill_open(const hpool_ssl_context *ctx, int check_hostname,
    struct proto_open *o, struct hpool_error *err)
{
	int rc;

	if ((rc = sslctx_check(ctx, check_hostname, err)) != HPOOL_OK)
		return rc;
	if (check_hostname == HPOOL_CHECK_HOSTNAME_DEFAULT)
		check_hostname = ctx->check_hostname;
	o->tls_verify = (uint8_t)ctx->verify_mode;
	o->tls_check_hostname = check_hostname != 0;
	o->tls_ca_system = (uint8_t)ctx->ca_system;
	o->tls_ca_pem.p = ctx->ca.p;
	o->tls_ca_pem.len = ctx->ca.len;
	o->tls_cert_pem.p = ctx->cert.p;
	o->tls_cert_pem.len = ctx->cert.len;
	o->tls_key_pem.p = ctx->key.p;
	o->tls_key_pem.len = ctx->key.len;
	o->tls_key_password.p = ctx->password;
	o->tls_key_password.len = ctx->password ? strlen(ctx->password) : 0;
	/* MINIMUM_SUPPORTED: hpoold's floor (TLS 1.2); MAXIMUM: its top. */
	o->tls_min_version = ctx->min_version ==
	    HPOOL_TLS_VERSION_MINIMUM_SUPPORTED ? 0 : ctx->min_version ==
	    HPOOL_TLS_VERSION_MAXIMUM_SUPPORTED ? HPOOL_TLS_VERSION_1_3 :
	    (uint16_t)ctx->min_version;
	o->tls_max_version = ctx->max_version ==
	    HPOOL_TLS_VERSION_MAXIMUM_SUPPORTED ? 0 : ctx->max_version ==
	    HPOOL_TLS_VERSION_MINIMUM_SUPPORTED ? HPOOL_TLS_VERSION_1_2 :
	    (uint16_t)ctx->max_version;
	o->tls_alpn.p = ctx->alpn.p;
	o->tls_alpn.len = ctx->alpn.len;
	return HPOOL_OK;
}
