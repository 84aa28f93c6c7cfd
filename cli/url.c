/*
 * url.c: owns URLs: splitting one into authority and path, resolving a
 * Location against the URL it came from (RFC 3986, 5.2), whether two
 * URLs have the same origin, and percent-encoding (curl_easy_escape's
 * set: all but letters, digits and -._~).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

#define SCHEME_CHARS	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" \
			"0123456789+-."

static size_t scheme_len(const char *s);
static void remove_dots(const char *in, size_t n, char *out);
static void origin(const char *url, char *out, size_t len);

/*
 * http://authority/path?query#fragment -> authority, "/path?query".
 * No scheme means http, as curl guesses; any other scheme is refused.
 */
int
url_split(const char *url, char **authority, char **path, int *https)
{
	const char *p, *rest, *sep;
	size_t alen;

	*authority = *path = NULL;
	*https = 0;
	if ((sep = strstr(url, "://")) != NULL) {
		for (p = url; p < sep; p++)
			if (strchr("abcdefghijklmnopqrstuvwxyz"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.", *p) ==
			    NULL)
				break;
		if (p == sep) {
			if (sep - url == 5 && strncasecmp(url, "https", 5) == 0)
				*https = 1;
			else if (sep - url != 4 ||
			    strncasecmp(url, "http", 4) != 0)
				return cli_fail(EX_GENERIC, "InvalidURL",
				    "unsupported scheme '%.*s'",
				    (int)(sep - url), url);
			url = sep + 3;
		}
	}
	alen = strcspn(url, "/?#");
	rest = url + alen;
	if (alen == 0)
		return cli_fail(EX_URL, "InvalidURL", "no host in URL");
	/* USER:PASSWORD@ is taken by url_userinfo(), not sent */
	for (p = url + alen; p > url && p[-1] != '@'; p--)
		;
	alen -= (size_t)(p - url);
	url = p;
	if (alen == 0)
		return cli_fail(EX_URL, "InvalidURL", "no host in URL");
	if ((*authority = strndup(url, alen)) == NULL)
		return cli_fail(EX_NOMEM, "MemoryError", "out of memory");
	/* the fragment is not sent (a browser keeps it to itself) */
	alen = strcspn(rest, "#");
	if ((*path = malloc(alen + 2)) == NULL)
		return cli_fail(EX_NOMEM, "MemoryError", "out of memory");
	snprintf(*path, alen + 2, "%s%.*s", rest[0] == '/' ? "" : "/",
	    (int)alen, rest);
	return EX_OK;
}

/* Length of "scheme:" at the start of s, 0 if none. */
static size_t
scheme_len(const char *s)
{
	size_t n = strspn(s, SCHEME_CHARS);

	return n > 0 && s[n] == ':' && strchr("+-.0123456789", s[0]) == NULL ?
	    n + 1 : 0;
}

/* The absolute path in (n bytes) without its "." and ".." segments. */
static void
remove_dots(const char *in, size_t n, char *out)
{
	size_t o = 0, seg, i = 0;

	while (i < n) {
		if (in[i] == '/' && ++i == n) {
			out[o++] = '/';
			break;
		}
		seg = i;
		while (i < n && in[i] != '/')
			i++;
		if (i - seg == 1 && in[seg] == '.') {
			if (i >= n)
				out[o++] = '/';
		} else if (i - seg == 2 && in[seg] == '.' &&
		    in[seg + 1] == '.') {
			while (o > 0 && out[--o] != '/')
				;
			if (i >= n)
				out[o++] = '/';
		} else {
			out[o++] = '/';
			memcpy(out + o, in + seg, i - seg);
			o += i - seg;
		}
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
}

/*
 * ref (a Location) resolved against base, as curl follows it: absolute,
 * scheme-relative (//host/...), absolute path, query or relative path.
 * The fragment of ref is dropped. NULL: out of memory.
 */
char *
url_resolve(const char *base, const char *ref)
{
	const char *auth, *pend, *q;
	size_t sl, alen, plen, need;
	char *out, *merged;

	if (scheme_len(ref) > 0)
		return strndup(ref, strcspn(ref, "#"));
	sl = scheme_len(base);
	auth = base + sl + (strncmp(base + sl, "//", 2) == 0 ? 2 : 0);
	alen = strcspn(auth, "/?#");
	pend = auth + alen + strcspn(auth + alen, "?#");
	need = strlen(base) + strlen(ref) + 4;
	if ((out = malloc(need)) == NULL || (merged = malloc(need)) == NULL) {
		free(out);
		return NULL;
	}
	if (strncmp(ref, "//", 2) == 0) {
		snprintf(out, need, "%.*s%.*s", (int)sl, base,
		    (int)strcspn(ref, "#"), ref);
		free(merged);
		return out;
	}
	plen = strcspn(ref, "#");
	if (plen == 0 || ref[0] == '?') {
		/* same path; a new query, or none with an empty ref */
		snprintf(out, need, "%.*s%.*s", (int)(pend - base), base,
		    (int)plen, ref);
		if (plen == 0)
			snprintf(out, need, "%.*s", (int)(auth + alen +
			    strcspn(auth + alen, "#") - base), base);
		free(merged);
		return out;
	}
	if (ref[0] == '/')
		snprintf(merged, need, "%.*s", (int)plen, ref);
	else {
		/* the base's directory, then ref */
		q = pend;
		while (q > auth + alen && q[-1] != '/')
			q--;
		if (q == auth + alen)
			snprintf(merged, need, "/%.*s", (int)plen, ref);
		else
			snprintf(merged, need, "%.*s%.*s",
			    (int)(q - (auth + alen)), auth + alen, (int)plen,
			    ref);
	}
	q = merged + strcspn(merged, "?");
	{
		char *path = malloc((size_t)(q - merged) + 2);

		if (path == NULL) {
			free(out);
			free(merged);
			return NULL;
		}
		remove_dots(merged, (size_t)(q - merged), path);
		snprintf(out, need, "%.*s%s%s", (int)(auth + alen - base), base,
		    path, q);
		free(path);
	}
	free(merged);
	return out;
}

/* scheme, host and port of an http(s) URL, lower-cased, port filled. */
static void
origin(const char *url, char *out, size_t len)
{
	const char *auth = url, *sep = strstr(url, "://"), *at;
	int https = 0;
	size_t alen, i;

	if (sep != NULL) {
		https = sep - url == 5;
		auth = sep + 3;
	}
	alen = strcspn(auth, "/?#");
	for (at = auth + alen; at > auth && at[-1] != '@'; at--)
		;
	alen -= (size_t)(at - auth);
	snprintf(out, len, "%s://%.*s", https ? "https" : "http", (int)alen,
	    at);
	for (i = 0; out[i] != '\0'; i++)
		if (out[i] >= 'A' && out[i] <= 'Z')
			out[i] = (char)(out[i] - 'A' + 'a');
	if (strchr(out + (https ? 8 : 7), ':') == NULL ||
	    (out[strlen(out) - 1] == ']'))
		snprintf(out + strlen(out), len - strlen(out), ":%d",
		    https ? 443 : 80);
}

int
url_same_origin(const char *a, const char *b)
{
	char oa[512], ob[512];

	origin(a, oa, sizeof(oa));
	origin(b, ob, sizeof(ob));
	return strcmp(oa, ob) == 0;
}

/* Append s (n bytes) to *buf (*len), percent-encoded; plus: a space as
 * '+' (form data, as curl's --data-urlencode). *buf NULL on failure (out
 * of memory) and stays so. */
void
url_escape_append(char **buf, size_t *len, const char *s, size_t n,
    int plus)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char c;
	char *nb;
	size_t i;

	if (*buf == NULL && *len != 0)
		return;
	if ((nb = realloc(*buf, *len + n * 3 + 1)) == NULL) {
		free(*buf);
		*buf = NULL;
		*len = 1;
		return;
	}
	*buf = nb;
	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') ||
		    (c != 0 && strchr("-._~", c) != NULL))
			nb[(*len)++] = (char)c;
		else if (c == ' ' && plus)
			nb[(*len)++] = '+';
		else {
			nb[(*len)++] = '%';
			nb[(*len)++] = hex[c >> 4];
			nb[(*len)++] = hex[c & 15];
		}
	}
	nb[*len] = '\0';
}

/*
 * s (n bytes) percent-decoded onto the end of the string out (outlen
 * bytes with its NUL), as curl decodes a proxy's user and password: a '%'
 * without two hex digits after it stays. -1 if it does not fit or
 * decodes to a NUL.
 */
int
url_pct_decode(const char *s, size_t n, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	const char *h, *l;
	size_t i, o = strlen(out);
	int c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c == '%' && i + 2 < n && s[i + 1] != '\0' &&
		    s[i + 2] != '\0' &&
		    (h = strchr(hex, tolower((unsigned char)s[i + 1]))) !=
		    NULL && (l = strchr(hex, tolower((unsigned char)s[i + 2])))
		    != NULL) {
			c = (int)((h - hex) << 4 | (l - hex));
			if (c == 0)
				return -1;
			i += 2;
		}
		if (o + 1 >= outlen)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

/*
 * The USER:PASSWORD@ of an http(s) URL, percent-decoded into out (as
 * curl takes it for Basic authentication): 1 if there is one, 0 if not,
 * -1 if it does not fit or holds %00.
 */
int
url_userinfo(const char *url, char *out, size_t outlen)
{
	const char *sep = strstr(url, "://"), *at;
	size_t alen;

	url = sep != NULL ? sep + 3 : url;
	alen = strcspn(url, "/?#");
	for (at = url + alen; at > url && at[-1] != '@'; at--)
		;
	if (at == url)
		return 0;
	out[0] = '\0';
	return url_pct_decode(url, (size_t)(at - 1 - url), out, outlen) ==
	    -1 ? -1 : 1;
}
