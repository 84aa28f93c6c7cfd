/*
 * multipart.c: owns -F: parsing name=value, name=@file and name=<file
 * (with ;type= and ;filename=) and building the multipart/form-data body
 * (RFC 7578) as curl lays it out.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli.h"

/* A form is built in memory: its files are read whole, up to this. */
#define FORM_MAX	(256u << 20)

/* curl's guesses of a file part's type from its name. */
static const struct {
	const char	*ext;
	const char	*type;
} types[] = {
	{ ".gif", "image/gif" }, { ".jpg", "image/jpeg" },
	{ ".jpeg", "image/jpeg" }, { ".png", "image/png" },
	{ ".svg", "image/svg+xml" }, { ".txt", "text/plain" },
	{ ".htm", "text/html" }, { ".html", "text/html" },
	{ ".pdf", "application/pdf" }, { ".xml", "application/xml" },
};

/* The form as it is built, capped at FORM_MAX. */
struct buf {
	char	*p;
	size_t	 len, cap;
	int	 full;
};

static char *dupn(const char *s, size_t n);
static void put(struct buf *b, const void *s, size_t n);
static void puts_b(struct buf *b, const char *s);
static void put_quoted(struct buf *b, const char *s);
static int put_file(struct buf *b, const char *path);
static const char *guess_type(const char *name);

static char *
dupn(const char *s, size_t n)
{
	char *p = strndup(s, n);

	if (p == NULL) {
		fputs("hpool: MemoryError: out of memory\n", stderr);
		exit(EX_NOMEM);
	}
	return p;
}

int
multipart_add(struct opts *o, const char *arg)
{
	struct form_part *f;
	const char *eq = strchr(arg, '='), *v, *semi, *attr;
	size_t vlen;

	if (eq == NULL || eq == arg)
		return cli_fail(EX_USAGE, "ValueError",
		    "bad -F '%s': want name=value, name=@file or name=<file",
		    arg);
	if (o->nform == MAX_FORM)
		return cli_fail(EX_USAGE, "ValueError", "more than %d -F parts",
		    MAX_FORM);
	f = &o->form[o->nform++];
	memset(f, 0, sizeof(*f));
	f->name = dupn(arg, (size_t)(eq - arg));
	v = eq + 1;
	if (*v == '@' || *v == '<') {
		f->file = *v == '@' ? 1 : 2;
		v++;
	}
	if (!f->file) {
		/* a text value keeps its ';' unless ;type= follows */
		if ((semi = strstr(v, ";type=")) != NULL) {
			f->value = dupn(v, (size_t)(semi - v));
			f->type = dupn(semi + 6, strlen(semi + 6));
		} else
			f->value = dupn(v, strlen(v));
		return EX_OK;
	}
	vlen = strcspn(v, ";");
	f->value = dupn(v, vlen);
	for (attr = v + vlen; *attr == ';'; attr += vlen) {
		attr++;
		vlen = strcspn(attr, ";");
		if (strncasecmp(attr, "type=", 5) == 0)
			f->type = dupn(attr + 5, vlen - 5);
		else if (strncasecmp(attr, "filename=", 9) == 0)
			f->filename = dupn(attr + 9, vlen - 9);
		else
			return cli_fail(EX_USAGE, "ValueError",
			    "bad -F '%s': unknown attribute '%.*s'", arg,
			    (int)vlen, attr);
	}
	return EX_OK;
}


static void
put(struct buf *b, const void *s, size_t n)
{
	char *np;
	size_t cap;

	if (b->full)
		return;
	if (b->len + n > FORM_MAX) {
		b->full = 1;
		return;
	}
	if (b->len + n + 1 > b->cap) {
		cap = (b->len + n + 1) * 2;
		if ((np = realloc(b->p, cap)) == NULL) {
			b->full = 2;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void
puts_b(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* A name in a quoted-string, with '"', CR and LF as curl escapes them. */
static void
put_quoted(struct buf *b, const char *s)
{
	put(b, "\"", 1);
	for (; *s != '\0'; s++)
		if (*s == '"')
			puts_b(b, "%22");
		else if (*s == '\r')
			puts_b(b, "%0D");
		else if (*s == '\n')
			puts_b(b, "%0A");
		else
			put(b, s, 1);
	put(b, "\"", 1);
}

static int
put_file(struct buf *b, const char *path)
{
	char chunk[65536];
	ssize_t n;
	int fd;

	if (strcmp(path, "-") == 0)
		fd = STDIN_FILENO;
	else if ((fd = open(path, O_RDONLY)) == -1)
		return cli_fail(EX_READ, errno == ENOENT ?
		    "FileNotFoundError" : "OSError", "%s: %s", path,
		    strerror(errno));
	while ((n = read(fd, chunk, sizeof(chunk))) > 0 && !b->full)
		put(b, chunk, (size_t)n);
	if (fd != STDIN_FILENO)
		close(fd);
	if (n < 0)
		return cli_fail(EX_READ, "OSError", "%s: %s", path,
		    strerror(errno));
	return EX_OK;
}

static const char *
guess_type(const char *name)
{
	size_t i, n = strlen(name), e;

	for (i = 0; i < NELEM(types); i++) {
		e = strlen(types[i].ext);
		if (n >= e && strcasecmp(name + n - e, types[i].ext) == 0)
			return types[i].type;
	}
	return "application/octet-stream";
}

int
multipart_build(const struct opts *o, char **body, size_t *len, char *ctype,
    size_t ctlen)
{
	static const char hex[] = "0123456789abcdef";
	char boundary[64];
	const struct form_part *f;
	const char *base;
	struct buf b = { NULL, 0, 0, 0 };
	unsigned char rnd[8];
	size_t i;
	int fd, ex;

	/* curl's shape: 24 dashes, then 16 random hex digits */
	memset(boundary, '-', 24);
	if ((fd = open("/dev/urandom", O_RDONLY)) == -1 ||
	    read(fd, rnd, sizeof(rnd)) != (ssize_t)sizeof(rnd)) {
		if (fd != -1)
			close(fd);
		return cli_fail(EX_GENERIC, "OSError",
		    "/dev/urandom: %s", strerror(errno));
	}
	close(fd);
	for (i = 0; i < sizeof(rnd); i++) {
		boundary[24 + 2 * i] = hex[rnd[i] >> 4];
		boundary[25 + 2 * i] = hex[rnd[i] & 15];
	}
	boundary[24 + 2 * sizeof(rnd)] = '\0';
	for (i = 0; i < o->nform; i++) {
		f = &o->form[i];
		puts_b(&b, "--");
		puts_b(&b, boundary);
		puts_b(&b, "\r\nContent-Disposition: form-data; name=");
		put_quoted(&b, f->name);
		if (f->file == 1) {
			base = f->filename;
			if (base == NULL) {
				base = strrchr(f->value, '/');
				base = base != NULL ? base + 1 : f->value;
			}
			puts_b(&b, "; filename=");
			put_quoted(&b, base);
			puts_b(&b, "\r\nContent-Type: ");
			puts_b(&b, f->type != NULL ? f->type :
			    guess_type(base));
		} else if (f->type != NULL) {
			puts_b(&b, "\r\nContent-Type: ");
			puts_b(&b, f->type);
		}
		puts_b(&b, "\r\n\r\n");
		if (f->file) {
			if ((ex = put_file(&b, f->value)) != EX_OK) {
				free(b.p);
				return ex;
			}
		} else
			puts_b(&b, f->value);
		puts_b(&b, "\r\n");
	}
	puts_b(&b, "--");
	puts_b(&b, boundary);
	puts_b(&b, "--\r\n");
	if (b.full) {
		free(b.p);
		return b.full == 1 ? cli_fail(EX_READ, "ValueError",
		    "the -F form is larger than %u MiB", FORM_MAX >> 20) :
		    cli_fail(EX_NOMEM, "MemoryError", "out of memory");
	}
	snprintf(ctype, ctlen, "multipart/form-data; boundary=%s", boundary);
	*body = b.p;
	*len = b.len;
	return EX_OK;
}
