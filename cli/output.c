/*
 * output.c: owns where a response goes: stdout or the file of -o, -O
 * (the URL's last segment) or -J (Content-Disposition, without its
 * path), appended to for -C; the head for -i; the body as it arrives,
 * decoded for --compressed, paced for --limit-rate, refused to a
 * terminal when binary; -f and --fail-with-body.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "output.h"

static char *url_name(const char *url);
static char *header_name(hpool_response *r);
static int open_output(struct output *out);
static int sink_write(void *arg, const void *buf, size_t n);
static void pace(const struct opts *o, const struct xfer *x, double t0);
static int drop_body(hpool_response *r, struct xfer *x);

void
output_print_head(FILE *fp, const char *prefix, hpool_response *r, int esc)
{
	const struct hpool_header *hs;
	size_t i, nh;
	int v = hpool_response_version(r);

	fprintf(fp, "%sHTTP/%d.%d %d ", prefix, v / 10, v % 10,
	    hpool_response_status(r));
	termsafe_puts(fp, hpool_response_reason(r), esc);
	fputs("\r\n", fp);
	nh = hpool_response_getheaders(r, &hs);
	for (i = 0; i < nh; i++) {
		fputs(prefix, fp);
		termsafe_puts(fp, hs[i].name, esc);
		fputs(": ", fp);
		termsafe_puts(fp, hs[i].value, esc);
		fputs("\r\n", fp);
	}
	fprintf(fp, "%s\r\n", prefix);
}

/* -O: the last segment of the URL's path, as curl takes it. */
static char *
url_name(const char *url)
{
	const char *p = strstr(url, "://"), *end, *slash;

	p = p != NULL ? p + 3 : url;
	p += strcspn(p, "/?#");
	end = p + strcspn(p, "?#");
	for (slash = end; slash > p && slash[-1] != '/'; slash--)
		;
	return strndup(slash, (size_t)(end - slash));
}

/* -J: the filename of Content-Disposition without any path, NULL if none
 * or unusable. */
static char *
header_name(hpool_response *r)
{
	const char *cd = hpool_response_getheader(r, "Content-Disposition",
	    NULL), *p, *b;
	char *name;
	size_t n;

	if (cd == NULL)
		return NULL;
	for (p = cd; (p = strcasestr(p, "filename=")) != NULL; p += 9)
		if (p == cd || p[-1] == ';' || p[-1] == ' ' || p[-1] == '\t')
			break;
	if (p == NULL)
		return NULL;
	p += 9;
	if (*p == '"') {
		p++;
		n = strcspn(p, "\"");
	} else
		n = strcspn(p, "; \t\r\n");
	/* nothing of a path: the name after the last / or \ */
	for (b = p + n; b > p && b[-1] != '/' && b[-1] != '\\'; b--)
		;
	n -= (size_t)(b - p);
	if (n == 0 || (n == 1 && b[0] == '.') || (n == 2 &&
	    strncmp(b, "..", 2) == 0))
		return NULL;
	if ((name = strndup(b, n)) == NULL)
		return NULL;
	for (n = 0; name[n] != '\0'; n++)
		if ((unsigned char)name[n] < 0x20 || name[n] == 0x7f)
			name[n] = '_';
	return name;
}

void
output_init(struct output *out, const struct opts *o,
    const struct target *t, struct xfer *x)
{
	memset(out, 0, sizeof(*out));
	out->o = o;
	out->t = t;
	out->x = x;
	out->to_stdout = !t->remote_name && (t->output == NULL ||
	    strcmp(t->output, "-") == 0);
}

/* The output's name before the response (-o, -O); -C -'s offset. */
int
output_resume(struct output *out, int64_t *at)
{
	struct stat st;

	*at = 0;
	if (!out->to_stdout && out->name == NULL) {
		out->name = out->t->remote_name ? url_name(out->t->url) :
		    strdup(out->t->output);
		if (out->name == NULL)
			return cli_fail(EX_NOMEM, "MemoryError",
			    "out of memory");
		if (out->name[0] == '\0' && !out->o->content_disposition)
			return cli_fail(EX_WRITE, "OSError",
			    "Remote file name has no length!");
	}
	if (out->o->resume == -1)
		*at = out->name != NULL && stat(out->name, &st) == 0 ?
		    st.st_size : 0;
	else if (out->o->resume > 0)
		*at = out->o->resume;
	return EX_OK;
}

static int
open_output(struct output *out)
{
	int fd, flags = O_WRONLY | O_CREAT;

	if (out->fp != NULL)
		return EX_OK;
	if (out->to_stdout) {
		out->fp = stdout;
		return EX_OK;
	}
	flags |= out->o->resume != 0 ? O_APPEND : O_TRUNC;
	/* -J never overwrites a file, but its own of a try --retry repeats */
	if (out->o->content_disposition && out->x->attempt == 0)
		flags |= O_EXCL;
	if ((fd = open(out->name, flags, 0666)) == -1 ||
	    (out->fp = fdopen(fd, "ab")) == NULL) {
		if (errno == EEXIST && out->o->content_disposition)
			return cli_fail(EX_WRITE, "FileExistsError",
			    "Refusing to overwrite %s: File exists",
			    out->name);
		return cli_fail(EX_WRITE, errno == ENOENT ?
		    "FileNotFoundError" : errno == EACCES ?
		    "PermissionError" : "OSError", "%s: %s", out->name,
		    strerror(errno));
	}
	free(out->x->filename);
	out->x->filename = strdup(out->name);
	return EX_OK;
}

int
output_head(struct output *out, hpool_response *r)
{
	int ex;

	if ((ex = open_output(out)) != EX_OK)
		return ex;
	output_print_head(out->fp, "", r, out->to_stdout &&
	    isatty(STDOUT_FILENO));
	out->written = 1;
	return EX_OK;
}

struct sink {
	struct output	*out;
	int		 checked;	/* the binary test was made */
	int		 ex;
};

/* Decoded body bytes to the output. */
static int
sink_write(void *arg, const void *buf, size_t n)
{
	struct sink *s = arg;
	struct output *out = s->out;

	if (n == 0)
		return 0;
	if ((s->ex = open_output(out)) != EX_OK)
		return -1;
	if (!s->checked) {
		s->checked = 1;
		if (out->to_stdout && out->t->output == NULL &&
		    isatty(STDOUT_FILENO) && termsafe_binary(buf, n)) {
			cli_warn("Binary output can mess up your terminal. "
			    "Use \"--output -\" to tell hpool to output it "
			    "to your terminal anyway, or consider \"--output "
			    "<FILE>\" to save to a file.\n");
			s->ex = EX_WRITE;
			snprintf(cli_errmsg, sizeof(cli_errmsg), "binary "
			    "output to a terminal refused");
			return -1;
		}
	}
	out->written = 1;
	if (fwrite(buf, 1, n, out->fp) != n) {
		s->ex = cli_fail(EX_WRITE, "OSError", "failed writing the "
		    "body: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* --limit-rate: sleep until the bytes so far fit the rate. */
static void
pace(const struct opts *o, const struct xfer *x, double t0)
{
	double due, now;
	struct timespec ts;

	if (o->limit_rate <= 0)
		return;
	due = t0 + (double)x->size_download / (double)o->limit_rate;
	now = cli_now(&x->start);
	if (due > now) {
		ts.tv_sec = (time_t)(due - now);
		ts.tv_nsec = (long)((due - now - (double)ts.tv_sec) * 1e9);
		nanosleep(&ts, NULL);
	}
}

/* A body that is not written (-C: the file has it already). */
static int
drop_body(hpool_response *r, struct xfer *x)
{
	char buf[16384];
	size_t n;

	do {
		if (hpool_response_read_stream(r, buf, sizeof(buf), &n) !=
		    HPOOL_OK)
			return -1;
		x->size_download += (int64_t)n;
	} while (n > 0);
	return EX_OK;
}

/*
 * The body to the output. Returns EX_OK, an exit code (message printed),
 * or -1 for the library's read error (the caller words it).
 */
int
output_body(struct output *out, hpool_response *r, int status,
    int64_t resume_at)
{
	const struct opts *o = out->o;
	struct xfer *x = out->x;
	struct decoder *dec = NULL;
	struct sink s = { out, 0, EX_OK };
	struct progress prog;
	const char *ce;
	char *jname, *buf = NULL;
	size_t n;
	double t0 = cli_now(&x->start);
	int ex = EX_OK;

	if (o->fail && status >= 400)
		return cli_fail(EX_HTTP_FAIL, "HTTPError", "The requested URL "
		    "returned error: %d %s", status, hpool_response_reason(r));
	if (resume_at > 0 && status == 416 && !o->head)
		return drop_body(r, x);	/* as curl: already all there */
	if (resume_at > 0 && status < 300 && !o->head &&
	    hpool_response_getheader(r, "Content-Range", NULL) == NULL) {
		if (hpool_response_length(r) == resume_at)
			return drop_body(r, x);	/* the file is complete */
		return cli_fail(EX_RANGE, "HTTPError", "HTTP server doesn't "
		    "seem to support byte ranges. Cannot resume.");
	}
	if (o->content_disposition && out->t->remote_name &&
	    (jname = header_name(r)) != NULL) {
		free(out->name);
		out->name = jname;
	}
	if (!out->to_stdout && out->name != NULL && out->name[0] == '\0')
		return cli_fail(EX_WRITE, "OSError",
		    "Remote file name has no length!");
	ce = hpool_response_getheader(r, "Content-Encoding", NULL);
	if (o->compressed && ce != NULL && !o->head &&
	    (ex = decode_new(ce, &dec)) != EX_OK)
		return ex;
	if ((buf = malloc(READ_CHUNK)) == NULL)
		return cli_fail(EX_NOMEM, "MemoryError", "out of memory");
	progress_start(&prog, o, !out->to_stdout, hpool_response_length(r));
	for (;;) {
		if (hpool_response_read_stream(r, buf, o->limit_rate > 0 &&
		    o->limit_rate < READ_CHUNK ? (size_t)o->limit_rate + 1 :
		    READ_CHUNK, &n) != HPOOL_OK) {
			ex = -1;
			break;
		}
		x->size_download += (int64_t)n;
		prog.done += n;
		progress_update(&prog, n == 0);
		if (o->head && n == 0)
			break;
		if (o->head)
			continue;
		if (dec != NULL)
			ex = decode_run(dec, buf, n, sink_write, &s, n == 0);
		else
			ex = sink_write(&s, buf, n) == 0 ? EX_OK : s.ex;
		if (ex == -1 || (ex == EX_OK && s.ex != EX_OK))
			ex = s.ex;
		if (ex != EX_OK || n == 0)
			break;
		if (o->max_time > 0 && cli_now(&x->start) >= o->max_time) {
			ex = cli_fail(EX_TIMEOUT, "TimeoutError", "Operation "
			    "timed out after %.0f milliseconds with %lld bytes "
			    "received", cli_now(&x->start) * 1000,
			    (long long)x->size_download);
			break;
		}
		pace(o, x, t0);
	}
	if (prog.shown && ex != EX_OK)
		fputc('\n', stderr);
	free(buf);
	decode_free(dec);
	if (ex == EX_OK && o->fail_with_body && status >= 400)
		ex = cli_fail(EX_HTTP_FAIL, "HTTPError", "The requested URL "
		    "returned error: %d %s", status, hpool_response_reason(r));
	return ex;
}

int
output_close(struct output *out, int ex)
{
	/* as curl: an empty body still makes its file */
	if (ex == EX_OK && out->fp == NULL && !out->to_stdout &&
	    out->name != NULL)
		ex = open_output(out);
	if (out->fp != NULL && fflush(out->fp) == EOF && ex == EX_OK)
		ex = cli_fail(EX_WRITE, "OSError", "failed writing the body: "
		    "%s", strerror(errno));
	if (out->fp != NULL && out->fp != stdout && fclose(out->fp) == EOF &&
	    ex == EX_OK)
		ex = cli_fail(EX_WRITE, "OSError", "%s: %s", out->name,
		    strerror(errno));
	out->fp = NULL;
	free(out->name);
	out->name = NULL;
	return ex;
}
