/*
 * writeout.c: owns -w: curl's %{variable} and %header{name} expansion,
 * its \n \r \t escapes, %{stdout} / %{stderr} switches and %{json}, over
 * one URL's record (struct xfer).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

enum vkind { V_STR, V_INT, V_CODE, V_TIME, V_VER };

/* curl's variables that hpool can fill, in the order of curl's %{json}. */
enum vid {
	W_CONTENT_TYPE, W_ERRORMSG, W_EXITCODE, W_FILENAME, W_HTTP_CODE,
	W_HTTP_CONNECT, W_HTTP_VERSION, W_LOCAL_IP, W_LOCAL_PORT, W_METHOD,
	W_NUM_CONNECTS, W_NUM_HEADERS, W_NUM_REDIRECTS, W_REDIRECT_URL,
	W_REMOTE_IP, W_REMOTE_PORT, W_RESPONSE_CODE, W_SCHEME,
	W_SIZE_DOWNLOAD, W_SIZE_HEADER, W_SIZE_REQUEST, W_SIZE_UPLOAD,
	W_SPEED_DOWNLOAD, W_SPEED_UPLOAD, W_T_APPCONNECT, W_T_CONNECT,
	W_T_NAMELOOKUP, W_T_PRETRANSFER, W_T_REDIRECT, W_T_STARTTRANSFER,
	W_T_TOTAL, W_URL, W_URL_EFFECTIVE, W_URLNUM,
};

static const struct {
	const char	*name;
	enum vid	 id;
	enum vkind	 kind;
} vars[] = {
	{ "content_type", W_CONTENT_TYPE, V_STR },
	{ "errormsg", W_ERRORMSG, V_STR },
	{ "exitcode", W_EXITCODE, V_INT },
	{ "filename_effective", W_FILENAME, V_STR },
	{ "http_code", W_HTTP_CODE, V_CODE },
	{ "http_connect", W_HTTP_CONNECT, V_CODE },
	{ "http_version", W_HTTP_VERSION, V_VER },
	{ "local_ip", W_LOCAL_IP, V_STR },
	{ "local_port", W_LOCAL_PORT, V_INT },
	{ "method", W_METHOD, V_STR },
	{ "num_connects", W_NUM_CONNECTS, V_INT },
	{ "num_headers", W_NUM_HEADERS, V_INT },
	{ "num_redirects", W_NUM_REDIRECTS, V_INT },
	{ "redirect_url", W_REDIRECT_URL, V_STR },
	{ "remote_ip", W_REMOTE_IP, V_STR },
	{ "remote_port", W_REMOTE_PORT, V_INT },
	{ "response_code", W_RESPONSE_CODE, V_CODE },
	{ "scheme", W_SCHEME, V_STR },
	{ "size_download", W_SIZE_DOWNLOAD, V_INT },
	{ "size_header", W_SIZE_HEADER, V_INT },
	{ "size_request", W_SIZE_REQUEST, V_INT },
	{ "size_upload", W_SIZE_UPLOAD, V_INT },
	{ "speed_download", W_SPEED_DOWNLOAD, V_INT },
	{ "speed_upload", W_SPEED_UPLOAD, V_INT },
	{ "time_appconnect", W_T_APPCONNECT, V_TIME },
	{ "time_connect", W_T_CONNECT, V_TIME },
	{ "time_namelookup", W_T_NAMELOOKUP, V_TIME },
	{ "time_pretransfer", W_T_PRETRANSFER, V_TIME },
	{ "time_redirect", W_T_REDIRECT, V_TIME },
	{ "time_starttransfer", W_T_STARTTRANSFER, V_TIME },
	{ "time_total", W_T_TOTAL, V_TIME },
	{ "url", W_URL, V_STR },
	{ "url_effective", W_URL_EFFECTIVE, V_STR },
	{ "urlnum", W_URLNUM, V_INT },
};

static const char *str_of(const struct xfer *x, enum vid id);
static double num_of(const struct xfer *x, enum vid id);
static void json_str(FILE *fp, const char *s);
static void print_var(FILE *fp, const struct xfer *x, size_t i, int json);
static void print_json(FILE *fp, const struct xfer *x);
static const char *header_of(const struct xfer *x, const char *name, size_t n);

void
writeout_reset(struct xfer *x)
{
	size_t i;

	free(x->url_effective);
	free(x->redirect_url);
	free(x->filename);
	free(x->content_type);
	for (i = 0; i < x->nhdrs; i++) {
		free((char *)x->hdrs[i].name);
		free((char *)x->hdrs[i].value);
	}
	free(x->hdrs);
	memset(x, 0, sizeof(*x));
}

/* A string variable's value; NULL: none (null in %{json}). */
static const char *
str_of(const struct xfer *x, enum vid id)
{
	switch (id) {
	case W_CONTENT_TYPE:
		return x->content_type;
	case W_ERRORMSG:
		return x->exitcode != 0 ? x->errormsg : NULL;
	case W_FILENAME:
		return x->filename;
	case W_METHOD:
		return x->method;
	case W_REDIRECT_URL:
		return x->redirect_url;
	case W_SCHEME:
		return x->status != 0 ? x->scheme : NULL;
	case W_URL:
		return x->url;
	case W_URL_EFFECTIVE:
		return x->url_effective != NULL ? x->url_effective : x->url;
	case W_LOCAL_IP:
	case W_REMOTE_IP:
		return "";	/* hpoold holds the socket */
	default:
		return NULL;
	}
}

static double
num_of(const struct xfer *x, enum vid id)
{
	double t = x->t_total > 0 ? x->t_total : 1e-9;

	switch (id) {
	case W_EXITCODE:
		return x->exitcode;
	case W_HTTP_CODE:
	case W_RESPONSE_CODE:
		return x->status;
	case W_HTTP_VERSION:
		return x->http_version;
	case W_NUM_CONNECTS:
		return 0;	/* hpoold connects, not hpool */
	case W_NUM_HEADERS:
		return x->num_headers;
	case W_NUM_REDIRECTS:
		return (double)x->num_redirects;
	case W_SIZE_DOWNLOAD:
		return (double)x->size_download;
	case W_SIZE_HEADER:
		return (double)x->size_header;
	case W_SIZE_REQUEST:
		return (double)x->size_request;
	case W_SIZE_UPLOAD:
		return (double)x->size_upload;
	case W_SPEED_DOWNLOAD:
		return (double)(int64_t)((double)x->size_download / t);
	case W_SPEED_UPLOAD:
		return (double)(int64_t)((double)x->size_upload / t);
	case W_T_PRETRANSFER:
		return x->t_pretransfer;
	case W_T_REDIRECT:
		return x->t_redirect;
	case W_T_STARTTRANSFER:
		return x->t_starttransfer;
	case W_T_TOTAL:
		return x->t_total;
	case W_URLNUM:
		return x->urlnum;
	default:
		return 0;	/* time_connect & co: hpoold's, not known */
	}
}

static void
json_str(FILE *fp, const char *s)
{
	unsigned char c;

	if (s == NULL) {
		fputs("null", fp);
		return;
	}
	fputc('"', fp);
	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(fp, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", fp);
		else if (c == '\r')
			fputs("\\r", fp);
		else if (c == '\t')
			fputs("\\t", fp);
		else if (c < 0x20)
			fprintf(fp, "\\u%04x", c);
		else
			fputc(c, fp);
	}
	fputc('"', fp);
}

static void
print_var(FILE *fp, const struct xfer *x, size_t i, int json)
{
	const char *s;
	double v;

	if (vars[i].kind == V_STR) {
		s = str_of(x, vars[i].id);
		if (json)
			json_str(fp, s);
		else if (s != NULL)
			fputs(s, fp);
		return;
	}
	v = num_of(x, vars[i].id);
	switch (vars[i].kind) {
	case V_CODE:
		fprintf(fp, json ? "%d" : "%03d", (int)v);
		break;
	case V_TIME:
		fprintf(fp, "%.6f", v);
		break;
	case V_VER:
		if (json)
			fputc('"', fp);
		if ((int)v == 0)
			fputs("0", fp);
		else
			fprintf(fp, "%d.%d", (int)v / 10, (int)v % 10);
		if (json)
			fputc('"', fp);
		break;
	default:
		fprintf(fp, "%lld", (long long)v);
	}
}

static void
print_json(FILE *fp, const struct xfer *x)
{
	size_t i;

	fputc('{', fp);
	for (i = 0; i < NELEM(vars); i++) {
		fprintf(fp, "\"%s\":", vars[i].name);
		print_var(fp, x, i, 1);
		fputc(',', fp);
	}
	fputs("\"hpool_version\":", fp);
	json_str(fp, hpool_version());
	fputc('}', fp);
}

/* The value of the last response's header name, NULL if none. */
static const char *
header_of(const struct xfer *x, const char *name, size_t n)
{
	size_t i;

	for (i = 0; i < x->nhdrs; i++)
		if (strlen(x->hdrs[i].name) == n &&
		    strncasecmp(x->hdrs[i].name, name, n) == 0)
			return x->hdrs[i].value;
	return NULL;
}

/* fmt expanded for x on out (stdout, or the stream %{stderr} picks). */
int
writeout(const char *fmt, const struct xfer *x, FILE *out)
{
	const char *p = fmt, *end, *h;
	FILE *fp = out;
	size_t i, n;

	while (*p != '\0') {
		if (p[0] == '%' && p[1] == '%') {
			fputc('%', fp);
			p += 2;
		} else if (p[0] == '%' && p[1] == '{' &&
		    (end = strchr(p + 2, '}')) != NULL) {
			n = (size_t)(end - (p + 2));
			p += 2;
			if (n == 6 && strncmp(p, "stdout", 6) == 0)
				fp = out;
			else if (n == 6 && strncmp(p, "stderr", 6) == 0)
				fp = stderr;
			else if (n == 4 && strncmp(p, "json", 4) == 0)
				print_json(fp, x);
			else if (n == 7 && strncmp(p, "onerror", 7) == 0) {
				if (x->exitcode == 0)
					break;
			} else {
				for (i = 0; i < NELEM(vars); i++)
					if (strlen(vars[i].name) == n &&
					    strncmp(vars[i].name, p, n) == 0)
						break;
				if (i < NELEM(vars))
					print_var(fp, x, i, 0);
				else if (!cli_silent)
					fprintf(stderr, "hpool: unknown "
					    "--write-out variable: '%.*s'\n",
					    (int)n, p);
			}
			p = end + 1;
		} else if (strncmp(p, "%header{", 8) == 0 &&
		    (end = strchr(p + 8, '}')) != NULL) {
			if ((h = header_of(x, p + 8, (size_t)(end - p - 8))) !=
			    NULL)
				fputs(h, fp);
			p = end + 1;
		} else if (p[0] == '\\' && p[1] != '\0' &&
		    strchr("nrt\\", p[1]) != NULL) {
			fputc(p[1] == 'n' ? '\n' : p[1] == 'r' ? '\r' :
			    p[1] == 't' ? '\t' : '\\', fp);
			p += 2;
		} else
			fputc(*p++, fp);
	}
	fflush(stderr);
	return fflush(out) == EOF ? -1 : 0;
}
