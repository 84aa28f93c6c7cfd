/*
 * data.c: owns the request body of -d, --data-binary, --data-raw,
 * --data-urlencode and --json, joined as curl joins them ('&' between
 * form pieces, nothing between --json pieces).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int load(const char *arg, int file, char **out, size_t *len);
static int append(struct opts *o, const char *chunk, size_t len, int sep);

/* The whole of fp into a malloc'd buffer. */
int
data_read_all(FILE *fp, char **out, size_t *len)
{
	char *buf = NULL, *nb;
	size_t cap = 0, n = 0, r;

	for (;;) {
		if (cap - n < 65536) {
			cap = cap ? cap * 2 : 65536;
			if ((nb = realloc(buf, cap)) == NULL) {
				free(buf);
				errno = ENOMEM;
				return -1;
			}
			buf = nb;
		}
		r = fread(buf + n, 1, cap - n, fp);
		n += r;
		if (r == 0) {
			if (ferror(fp)) {
				free(buf);
				return -1;
			}
			break;
		}
	}
	*out = buf;
	*len = n;
	return 0;
}

/* The bytes of arg, or of the file @arg names (@- stdin), into *out. */
static int
load(const char *arg, int file, char **out, size_t *len)
{
	FILE *fp;
	int rc;

	if (!file) {
		*len = strlen(arg);
		if ((*out = strdup(arg)) == NULL)
			return cli_fail(EX_NOMEM, "MemoryError",
			    "out of memory");
		return EX_OK;
	}
	if (strcmp(arg, "-") == 0)
		fp = stdin;
	else if ((fp = fopen(arg, "rb")) == NULL)
		return cli_fail(EX_READ, errno == ENOENT ?
		    "FileNotFoundError" : "OSError", "%s: %s", arg,
		    strerror(errno));
	rc = data_read_all(fp, out, len);
	if (fp != stdin)
		fclose(fp);
	if (rc == -1)
		return cli_fail(EX_READ, "OSError", "%s: %s", arg,
		    strerror(errno));
	return EX_OK;
}

static int
append(struct opts *o, const char *chunk, size_t len, int sep)
{
	char *nb;

	if ((nb = realloc(o->data, o->data_len + len + 2)) == NULL)
		return cli_fail(EX_NOMEM, "MemoryError", "out of memory");
	o->data = nb;
	if (o->has_data && sep)
		o->data[o->data_len++] = '&';
	memcpy(o->data + o->data_len, chunk, len);
	o->data_len += len;
	o->data[o->data_len] = '\0';
	o->has_data = 1;
	return EX_OK;
}

/*
 * -d @FILE drops the CR and LF bytes of the file (form data on one
 * line), as curl does; --data-binary and --json send it byte for byte;
 * --data-raw takes a leading @ as text.
 */
int
data_add(struct opts *o, const char *arg, int kind)
{
	char *chunk;
	size_t len, i, j;
	int ex, file = arg[0] == '@' && kind != DATA_RAW;

	if ((ex = load(file ? arg + 1 : arg, file, &chunk, &len)) != EX_OK)
		return ex;
	if (file && kind == DATA_ASCII) {
		for (i = j = 0; i < len; i++)
			if (chunk[i] != '\r' && chunk[i] != '\n')
				chunk[j++] = chunk[i];
		len = j;
	}
	if (kind == DATA_JSON)
		o->json = 1;
	ex = append(o, chunk, len, kind != DATA_JSON);
	free(chunk);
	return ex;
}

/* --data-urlencode: content, =content, name=content, @file, name@file;
 * the content (never the name) percent-encoded. */
int
data_urlencode(struct opts *o, const char *arg)
{
	const char *eq = strchr(arg, '='), *at = strchr(arg, '@');
	const char *content = arg;
	char *raw, *enc = NULL;
	size_t nlen = 0, rlen, elen = 0;
	int file = 0, ex;

	if (eq != NULL && (at == NULL || eq < at)) {
		nlen = (size_t)(eq - arg);
		content = eq + 1;
	} else if (at != NULL) {
		nlen = (size_t)(at - arg);
		content = at + 1;
		file = 1;
	}
	if ((ex = load(content, file, &raw, &rlen)) != EX_OK)
		return ex;
	if (nlen > 0) {
		if ((enc = malloc(nlen + 2)) == NULL) {
			free(raw);
			return cli_fail(EX_NOMEM, "MemoryError",
			    "out of memory");
		}
		memcpy(enc, arg, nlen);
		enc[nlen] = '=';
		enc[nlen + 1] = '\0';
		elen = nlen + 1;
	}
	url_escape_append(&enc, &elen, raw, rlen, 1);
	free(raw);
	if (enc == NULL)
		return cli_fail(EX_NOMEM, "MemoryError", "out of memory");
	ex = append(o, enc, elen, 1);
	free(enc);
	return ex;
}
