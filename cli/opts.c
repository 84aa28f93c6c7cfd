/*
 * opts.c: owns the command line: the flag table, parsing each flag's
 * value, curl's one-line complaints about unknown or misused flags (exit
 * 2), the request-method contradictions curl refuses, and the help text.
 */
#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* The request kinds curl refuses to mix, with its names for them. */
enum req { REQ_NONE, REQ_HEAD, REQ_FORM, REQ_POST, REQ_PUT };

/* How a flag's value is taken. */
enum kind {
	K_STR,		/* a string field: the value */
	K_ON,		/* an int field: 1 */
	K_SECONDS,	/* a double field: seconds >= 0 */
	K_LONG,		/* a long field: a number >= 0 */
	K_DATA,		/* request body: data_add() of the DATA_* in off */
	K_FN,		/* the flag's own function */
};

struct parse {
	struct opts	*o;
	enum req	 req;		/* the method's flag so far */
	int		 quit;		/* -h, -V: exit 0 now */
};

typedef int (*flag_fn)(struct parse *, const char *arg, const char *flag);

static int	f_urlencode(struct parse *, const char *, const char *);
static int	f_header(struct parse *, const char *, const char *);
static int	f_form(struct parse *, const char *, const char *);
static int	f_head(struct parse *, const char *, const char *);
static int	f_continue(struct parse *, const char *, const char *);
static int	f_redirs(struct parse *, const char *, const char *);
static int	f_output(struct parse *, const char *, const char *);
static int	f_remote(struct parse *, const char *, const char *);
static int	f_url(struct parse *, const char *, const char *);
static int	f_rate(struct parse *, const char *, const char *);
static int	f_silent(struct parse *, const char *, const char *);
static int	f_show_error(struct parse *, const char *, const char *);
static int	f_version(struct parse *, const char *, const char *);
static int	f_help(struct parse *, const char *, const char *);

#define F(field)	offsetof(struct opts, field)

/* Every flag: long name, short letter (0: none), whether it takes a
 * value, and what it sets. */
static const struct flag {
	const char	*name;
	char		 ch;
	int		 arg;
	enum kind	 kind;
	size_t		 off;
	flag_fn		 fn;
} flags[] = {
	{ "request", 'X', 1, K_STR, F(method), NULL },
	{ "header", 'H', 1, K_FN, 0, f_header },
	{ "data", 'd', 1, K_DATA, DATA_ASCII, NULL },
	{ "data-ascii", 0, 1, K_DATA, DATA_ASCII, NULL },
	{ "data-binary", 0, 1, K_DATA, DATA_BINARY, NULL },
	{ "data-raw", 0, 1, K_DATA, DATA_RAW, NULL },
	{ "data-urlencode", 0, 1, K_FN, 0, f_urlencode },
	{ "json", 0, 1, K_DATA, DATA_JSON, NULL },
	{ "form", 'F', 1, K_FN, 0, f_form },
	{ "get", 'G', 0, K_ON, F(get), NULL },
	{ "upload-file", 'T', 1, K_STR, F(upload), NULL },
	{ "user", 'u', 1, K_STR, F(user), NULL },
	{ "user-agent", 'A', 1, K_STR, F(agent), NULL },
	{ "referer", 'e', 1, K_STR, F(referer), NULL },
	{ "range", 'r', 1, K_STR, F(range), NULL },
	{ "continue-at", 'C', 1, K_FN, 0, f_continue },
	{ "compressed", 0, 0, K_ON, F(compressed), NULL },
	{ "include", 'i', 0, K_ON, F(include), NULL },
	{ "head", 'I', 0, K_FN, 0, f_head },
	{ "verbose", 'v', 0, K_ON, F(verbose), NULL },
	{ "location", 'L', 0, K_ON, F(location), NULL },
	{ "max-redirs", 0, 1, K_FN, 0, f_redirs },
	{ "write-out", 'w', 1, K_STR, F(writeout), NULL },
	{ "dump-header", 'D', 1, K_STR, F(dump_header), NULL },
	{ "output", 'o', 1, K_FN, 0, f_output },
	{ "remote-name", 'O', 0, K_FN, 0, f_remote },
	{ "remote-name-all", 0, 0, K_ON, F(remote_name_all), NULL },
	{ "remote-header-name", 'J', 0, K_ON, F(content_disposition), NULL },
	{ "url", 0, 1, K_FN, 0, f_url },
	{ "max-time", 'm', 1, K_SECONDS, F(max_time), NULL },
	{ "connect-timeout", 0, 1, K_SECONDS, F(connect_timeout), NULL },
	{ "retry", 0, 1, K_LONG, F(retry), NULL },
	{ "retry-delay", 0, 1, K_SECONDS, F(retry_delay), NULL },
	{ "retry-max-time", 0, 1, K_SECONDS, F(retry_max_time), NULL },
	{ "limit-rate", 0, 1, K_FN, 0, f_rate },
	{ "socket", 0, 1, K_STR, F(socket_path), NULL },
	{ "timeout", 0, 1, K_SECONDS, F(timeout), NULL },
	{ "cacert", 0, 1, K_STR, F(cacert), NULL },
	{ "cert", 0, 1, K_STR, F(cert), NULL },
	{ "key", 0, 1, K_STR, F(key), NULL },
	{ "pass", 0, 1, K_STR, F(pass), NULL },
	{ "insecure", 'k', 0, K_ON, F(insecure), NULL },
	{ "proxy", 'x', 1, K_STR, F(proxy), NULL },
	{ "proxy-user", 0, 1, K_STR, F(proxy_user), NULL },
	{ "noproxy", 0, 1, K_STR, F(noproxy), NULL },
	{ "proxy-cacert", 0, 1, K_STR, F(proxy_cacert), NULL },
	{ "proxy-insecure", 0, 0, K_ON, F(proxy_insecure), NULL },
	{ "explain", 0, 0, K_ON, F(explain), NULL },
	{ "fail", 'f', 0, K_ON, F(fail), NULL },
	{ "fail-with-body", 0, 0, K_ON, F(fail_with_body), NULL },
	{ "silent", 's', 0, K_FN, 0, f_silent },
	{ "show-error", 'S', 0, K_FN, 0, f_show_error },
	{ "progress-bar", '#', 0, K_ON, F(progress_bar), NULL },
	{ "version", 'V', 0, K_FN, 0, f_version },
	{ "help", 'h', 0, K_FN, 0, f_help },
};
/* getopt_long's value of a flag without a letter: FLAG_BASE + index */
#define FLAG_BASE	256

static const char *const req_names[] = {
	"", "HEAD (-I, --head)", "multipart formpost (-F, --form)",
	"POST (-d, --data)", "PUT (-T, --upload-file)",
};

static int bad_flag(const char *flag, const char *why);
static int set_req(enum req *cur, enum req want, const char *flag);
static int seconds(const char *arg, double *out, const char *flag);
static int number(const char *arg, long *out, long min, const char *flag);
static int rate(const char *arg, int64_t *out, const char *flag);
static int add_url(struct opts *o, const char *url);
static int add_output(struct opts *o, const char *file, int remote);
static const char *flag_name(char **argv, int ch);
static int take(struct parse *p, const struct flag *f, const char *arg,
	    const char *fl);
static int check(struct parse *p, int *done);

void
opts_usage(FILE *fp)
{
	fprintf(fp,
"usage: hpool [options] URL...\n"
"Make HTTP or HTTPS requests through hpoold's pooled connections, with\n"
"curl's flags. See hpool(1) for each flag and how it differs from curl's.\n"
"\n"
"  -X, --request METHOD    -H, --header 'N: v'     -A, --user-agent UA\n"
"  -d, --data DATA         --data-binary DATA      --data-raw DATA\n"
"  --data-urlencode DATA   --json DATA             -F, --form N=V|N=@FILE\n"
"  -G, --get               -T, --upload-file FILE  -u, --user USER:PASS\n"
"  -e, --referer URL       -r, --range RANGE       -C, --continue-at -|N\n"
"  --compressed            -i, --include           -I, --head\n"
"  -v, --verbose           -L, --location          --max-redirs N\n"
"  -w, --write-out FMT     -D, --dump-header FILE  -o, --output FILE\n"
"  -O, --remote-name       -J, --remote-header-name --url URL\n"
"  -m, --max-time S        --connect-timeout S     --timeout S\n"
"  --retry N               --retry-delay S         --retry-max-time S\n"
"  --limit-rate RATE       -f, --fail              --fail-with-body\n"
"  -s, --silent            -S, --show-error        -#, --progress-bar\n"
"  --cacert FILE           --cert FILE             --key FILE\n"
"  --pass PHRASE           -k, --insecure          -x, --proxy URL\n"
"  --proxy-user U:P        --noproxy LIST          --socket PATH\n"
"  --proxy-cacert FILE     --proxy-insecure        --explain\n"
"  -V, --version           -h, --help\n"
"\n"
"hpool-only: --socket PATH (hpoold's socket; default $HPOOL_SOCKET,\n"
"/run/hpool/hpoold.sock, $XDG_RUNTIME_DIR/hpool/), --timeout S (each\n"
"wait), --explain (what hpoold's policy does with URL; no request),\n"
"--stats [--json|--prometheus] (hpoold's figures; hpool --stats -h).\n");
}

/* curl's two lines for a flag it cannot take; exit 2. */
static int
bad_flag(const char *flag, const char *why)
{
	if (!cli_silent)
		fprintf(stderr, "hpool: option %s: %s\nhpool: try 'hpool "
		    "--help' for more information\n", flag, why);
	return EX_USAGE;
}

static int
set_req(enum req *cur, enum req want, const char *flag)
{
	if (*cur == REQ_NONE || *cur == want) {
		*cur = want;
		return EX_OK;
	}
	cli_warn("You can only select one HTTP request method! You asked for "
	    "both %s and %s.\n", req_names[want], req_names[*cur]);
	return flag != NULL ? bad_flag(flag, "is badly used here") : EX_USAGE;
}

/* Seconds as curl reads them: a number >= 0. */
static int
seconds(const char *arg, double *out, const char *flag)
{
	char *end;

	errno = 0;
	*out = strtod(arg, &end);
	if (errno != 0 || end == arg || *end != '\0' || !(*out >= 0 &&
	    *out < 1e9))
		return bad_flag(flag, "expected a proper numerical parameter");
	return EX_OK;
}

static int
number(const char *arg, long *out, long min, const char *flag)
{
	char *end;

	errno = 0;
	*out = strtol(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || *out < min)
		return bad_flag(flag, "expected a proper numerical parameter");
	return EX_OK;
}

/* --limit-rate: bytes per second, with curl's K, M, G suffixes. */
static int
rate(const char *arg, int64_t *out, const char *flag)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (errno != 0 || end == arg || !(v >= 0 && v < 1e15))
		return bad_flag(flag, "expected a proper numerical parameter");
	switch (*end) {
	case 'g': case 'G':
		v *= 1024;
		/* FALLTHROUGH */
	case 'm': case 'M':
		v *= 1024;
		/* FALLTHROUGH */
	case 'k': case 'K':
		v *= 1024;
		/* FALLTHROUGH */
	case 'b': case 'B':
		end++;
		break;
	case '\0':
		break;
	default:
		cli_warn("unsupported rate unit. Use G, M, K or B!\n");
		return EX_USAGE;
	}
	if (*end != '\0') {
		cli_warn("unsupported rate unit. Use G, M, K or B!\n");
		return EX_USAGE;
	}
	*out = (int64_t)v;
	return EX_OK;
}

static int
add_url(struct opts *o, const char *url)
{
	if (o->ntargets == MAX_URLS)
		return cli_fail(EX_USAGE, "ValueError", "more than %d URLs",
		    MAX_URLS);
	o->targets[o->ntargets++].url = url;
	return EX_OK;
}

/* -o and -O fill the first URL without an output, as curl pairs them. */
static int
add_output(struct opts *o, const char *file, int remote)
{
	if (o->noutputs == MAX_URLS)
		return cli_fail(EX_USAGE, "ValueError", "more than %d outputs",
		    MAX_URLS);
	o->targets[o->noutputs].output = file;
	o->targets[o->noutputs].remote_name = remote;
	o->noutputs++;
	return EX_OK;
}

/* The flag as the user typed it (its long name without "=value", or
 * its letter), for messages. */
static const char *
flag_name(char **argv, int ch)
{
	static char s[64];
	const char *a = argv[optind - 1];

	if (ch >= FLAG_BASE && ch < FLAG_BASE + (int)NELEM(flags)) {
		snprintf(s, sizeof(s), "--%s", flags[ch - FLAG_BASE].name);
		return s;
	}
	if (optarg != NULL && a == optarg && optind >= 2)
		a = argv[optind - 2];	/* the value was the next word */
	if (strncmp(a, "--", 2) == 0)
		snprintf(s, sizeof(s), "%.*s", (int)strcspn(a, "="), a);
	else
		snprintf(s, sizeof(s), "-%c", ch);
	return s;
}


static int
f_urlencode(struct parse *p, const char *arg, const char *fl)
{
	(void)fl;
	return data_urlencode(p->o, arg);
}

static int
f_header(struct parse *p, const char *arg, const char *fl)
{
	(void)fl;
	if (p->o->nheaders == MAX_HEADERS)
		return cli_fail(EX_USAGE, "ValueError", "more than %d headers",
		    MAX_HEADERS);
	p->o->headers[p->o->nheaders++] = arg;
	return EX_OK;
}

static int
f_form(struct parse *p, const char *arg, const char *fl)
{
	int ex;

	if ((ex = set_req(&p->req, REQ_FORM, fl)) != EX_OK)
		return ex;
	return multipart_add(p->o, arg);
}

static int
f_head(struct parse *p, const char *arg, const char *fl)
{
	(void)arg;
	p->o->head = 1;
	return set_req(&p->req, REQ_HEAD, fl);
}

static int
f_continue(struct parse *p, const char *arg, const char *fl)
{
	long n;
	int ex;

	if (strcmp(arg, "-") == 0) {
		p->o->resume = -1;
		return EX_OK;
	}
	if ((ex = number(arg, &n, 0, fl)) == EX_OK)
		p->o->resume = n;
	return ex;
}

static int
f_redirs(struct parse *p, const char *arg, const char *fl)
{
	return number(arg, &p->o->max_redirs, -1, fl);
}

static int
f_output(struct parse *p, const char *arg, const char *fl)
{
	(void)fl;
	return add_output(p->o, arg, 0);
}

static int
f_remote(struct parse *p, const char *arg, const char *fl)
{
	(void)arg;
	(void)fl;
	return add_output(p->o, NULL, 1);
}

static int
f_url(struct parse *p, const char *arg, const char *fl)
{
	(void)fl;
	return add_url(p->o, arg);
}

static int
f_rate(struct parse *p, const char *arg, const char *fl)
{
	return rate(arg, &p->o->limit_rate, fl);
}

static int
f_silent(struct parse *p, const char *arg, const char *fl)
{
	(void)arg;
	(void)fl;
	p->o->silent = 1;
	cli_silent = !p->o->show_error;
	cli_nowarn = 1;
	return EX_OK;
}

static int
f_show_error(struct parse *p, const char *arg, const char *fl)
{
	(void)arg;
	(void)fl;
	p->o->show_error = 1;
	cli_silent = 0;
	return EX_OK;
}

static int
f_version(struct parse *p, const char *arg, const char *fl)
{
	(void)arg;
	(void)fl;
	printf("hpool %s\n", hpool_version());
	p->quit = 1;
	return EX_OK;
}

static int
f_help(struct parse *p, const char *arg, const char *fl)
{
	(void)arg;
	(void)fl;
	opts_usage(stdout);
	p->quit = 1;
	return EX_OK;
}

/* One flag's value into its field. */
static int
take(struct parse *p, const struct flag *f, const char *arg, const char *fl)
{
	char *field = (char *)p->o + f->off;

	switch (f->kind) {
	case K_STR:
		*(const char **)(void *)field = arg;
		return EX_OK;
	case K_ON:
		*(int *)(void *)field = 1;
		return EX_OK;
	case K_SECONDS:
		return seconds(arg, (double *)(void *)field, fl);
	case K_LONG:
		return number(arg, (long *)(void *)field, 0, fl);
	case K_DATA:
		return data_add(p->o, arg, (int)f->off);
	default:
		return f->fn(p, arg, fl);
	}
}

/*
 * Fills o from argv; *done: exit now with the returned code (help,
 * version, an error). Returns EX_OK or the exit code.
 */
int
opts_parse(struct opts *o, int argc, char **argv, int *done)
{
	static struct option longopts[NELEM(flags) + 1];
	static char shortopts[2 + 2 * NELEM(flags) + 1];
	struct parse p = { o, REQ_NONE, 0 };
	const char *fl;
	size_t i, n = 0;
	int ch, ex = EX_OK;

	*done = 1;
	o->timeout = HPOOL_TIMEOUT_DEFAULT;
	o->max_redirs = 50;
	o->retry_delay = -1;
	shortopts[n++] = ':';	/* a missing value is ':', not '?' */
	for (i = 0; i < NELEM(flags); i++) {
		longopts[i].name = flags[i].name;
		longopts[i].has_arg = flags[i].arg ? required_argument :
		    no_argument;
		longopts[i].val = flags[i].ch != 0 ? flags[i].ch :
		    FLAG_BASE + (int)i;
		if (flags[i].ch != 0) {
			shortopts[n++] = flags[i].ch;
			if (flags[i].arg)
				shortopts[n++] = ':';
		}
	}
	opterr = 0;
	while ((ch = getopt_long(argc, argv, shortopts, longopts, NULL)) !=
	    -1) {
		fl = flag_name(argv, ch == '?' || ch == ':' ? optopt : ch);
		if (ch == ':')
			return bad_flag(fl, "requires parameter");
		for (i = 0; i < NELEM(flags); i++)
			if (longopts[i].val == ch)
				break;
		if (ch == '?' || i == NELEM(flags))
			return bad_flag(fl, "is unknown");
		if ((ex = take(&p, &flags[i], optarg, fl)) != EX_OK || p.quit)
			return ex;
	}
	for (; optind < argc; optind++)
		if ((ex = add_url(o, argv[optind])) != EX_OK)
			return ex;
	return check(&p, done);
}

/* What curl refuses once all flags are read. */
static int
check(struct parse *p, int *done)
{
	struct opts *o = p->o;
	size_t i;
	int ex;

	if (o->ntargets == 0) {
		if (!cli_silent)
			fprintf(stderr, "hpool: no URL specified!\nhpool: try "
			    "'hpool --help' for more information\n");
		return EX_USAGE;
	}
	/* as curl, -d and -T are weighed after the flags: -d, then -T */
	if ((o->has_data && !o->get &&
	    (ex = set_req(&p->req, REQ_POST, NULL)) != EX_OK) ||
	    (o->upload != NULL && (ex = set_req(&p->req, REQ_PUT, NULL)) !=
	    EX_OK))
		return ex;
	if (o->fail && o->fail_with_body) {
		cli_warn("You must select either --fail or --fail-with-body, "
		    "not both.\n");
		return EX_USAGE;
	}
	if (o->noutputs > o->ntargets)
		cli_warn("Got more output options than URLs\n");
	for (i = 0; o->remote_name_all && i < o->ntargets; i++)
		if (i >= o->noutputs)
			o->targets[i].remote_name = 1;
	*done = 0;
	return EX_OK;
}

void
opts_free(struct opts *o)
{
	size_t i;

	for (i = 0; i < o->nform; i++) {
		free(o->form[i].name);
		free(o->form[i].value);
		free(o->form[i].type);
		free(o->form[i].filename);
	}
	free(o->data);
}
