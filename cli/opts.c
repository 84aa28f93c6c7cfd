/*
 * opts.c: owns the command line: the flag table, parsing each flag's
 * value, curl's one-line complaints about unknown or misused flags (exit
 * 2), the request-method contradictions curl refuses, and the help text.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

enum {
	OPT_SOCKET = 256, OPT_TIMEOUT, OPT_DATA_BINARY, OPT_DATA_RAW,
	OPT_DATA_ASCII, OPT_DATA_URLENCODE, OPT_JSON, OPT_CACERT, OPT_CERT,
	OPT_KEY, OPT_PASS, OPT_PROXY_USER, OPT_NOPROXY, OPT_EXPLAIN,
	OPT_MAX_REDIRS, OPT_URL, OPT_CONNECT_TIMEOUT, OPT_RETRY,
	OPT_RETRY_DELAY, OPT_RETRY_MAX_TIME, OPT_LIMIT_RATE,
	OPT_FAIL_WITH_BODY, OPT_COMPRESSED, OPT_REMOTE_NAME_ALL,
};

static const struct option longopts[] = {
	{ "request", required_argument, NULL, 'X' },
	{ "header", required_argument, NULL, 'H' },
	{ "data", required_argument, NULL, 'd' },
	{ "data-ascii", required_argument, NULL, OPT_DATA_ASCII },
	{ "data-binary", required_argument, NULL, OPT_DATA_BINARY },
	{ "data-raw", required_argument, NULL, OPT_DATA_RAW },
	{ "data-urlencode", required_argument, NULL, OPT_DATA_URLENCODE },
	{ "json", required_argument, NULL, OPT_JSON },
	{ "form", required_argument, NULL, 'F' },
	{ "get", no_argument, NULL, 'G' },
	{ "upload-file", required_argument, NULL, 'T' },
	{ "user", required_argument, NULL, 'u' },
	{ "user-agent", required_argument, NULL, 'A' },
	{ "referer", required_argument, NULL, 'e' },
	{ "range", required_argument, NULL, 'r' },
	{ "continue-at", required_argument, NULL, 'C' },
	{ "compressed", no_argument, NULL, OPT_COMPRESSED },
	{ "include", no_argument, NULL, 'i' },
	{ "head", no_argument, NULL, 'I' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "location", no_argument, NULL, 'L' },
	{ "max-redirs", required_argument, NULL, OPT_MAX_REDIRS },
	{ "write-out", required_argument, NULL, 'w' },
	{ "dump-header", required_argument, NULL, 'D' },
	{ "output", required_argument, NULL, 'o' },
	{ "remote-name", no_argument, NULL, 'O' },
	{ "remote-name-all", no_argument, NULL, OPT_REMOTE_NAME_ALL },
	{ "remote-header-name", no_argument, NULL, 'J' },
	{ "url", required_argument, NULL, OPT_URL },
	{ "max-time", required_argument, NULL, 'm' },
	{ "connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT },
	{ "retry", required_argument, NULL, OPT_RETRY },
	{ "retry-delay", required_argument, NULL, OPT_RETRY_DELAY },
	{ "retry-max-time", required_argument, NULL, OPT_RETRY_MAX_TIME },
	{ "limit-rate", required_argument, NULL, OPT_LIMIT_RATE },
	{ "socket", required_argument, NULL, OPT_SOCKET },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "cacert", required_argument, NULL, OPT_CACERT },
	{ "cert", required_argument, NULL, OPT_CERT },
	{ "key", required_argument, NULL, OPT_KEY },
	{ "pass", required_argument, NULL, OPT_PASS },
	{ "insecure", no_argument, NULL, 'k' },
	{ "proxy", required_argument, NULL, 'x' },
	{ "proxy-user", required_argument, NULL, OPT_PROXY_USER },
	{ "noproxy", required_argument, NULL, OPT_NOPROXY },
	{ "explain", no_argument, NULL, OPT_EXPLAIN },
	{ "fail", no_argument, NULL, 'f' },
	{ "fail-with-body", no_argument, NULL, OPT_FAIL_WITH_BODY },
	{ "silent", no_argument, NULL, 's' },
	{ "show-error", no_argument, NULL, 'S' },
	{ "progress-bar", no_argument, NULL, '#' },
	{ "version", no_argument, NULL, 'V' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};
#define SHORTOPTS	":X:H:d:F:GT:u:A:e:r:C:iIvLw:D:o:OJm:kx:fsS#Vh"

/* The request kinds curl refuses to mix, with its names for them. */
enum req { REQ_NONE, REQ_HEAD, REQ_FORM, REQ_POST, REQ_PUT };
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
"  --explain               -V, --version           -h, --help\n"
"\n"
"hpool-only: --socket PATH (hpoold's socket; default $HPOOL_SOCKET,\n"
"/run/hpool/hpoold.sock, $XDG_RUNTIME_DIR/hpool/), --timeout S (each\n"
"wait), --explain (what hpoold's policy does with URL; no request).\n");
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

/* The flag as the user typed it, for messages. */
static const char *
flag_name(char **argv, int ch)
{
	static char s[3] = "-?";
	const char *a = argv[optind - 1];

	if (ch != 0 && (a == NULL || strncmp(a, "--", 2) != 0)) {
		s[1] = (char)ch;
		return s;
	}
	return a;
}

/*
 * Fills o from argv; *done: exit now with the returned code (help,
 * version, an error). Returns EX_OK or the exit code.
 */
int
opts_parse(struct opts *o, int argc, char **argv, int *done)
{
	enum req req = REQ_NONE;
	const char *fl;
	size_t i;
	int ch, ex = EX_OK;
	long n;

	*done = 1;
	o->timeout = HPOOL_TIMEOUT_DEFAULT;
	o->max_redirs = 50;
	o->retry_delay = -1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, SHORTOPTS, longopts, NULL)) !=
	    -1) {
		fl = flag_name(argv, ch == '?' || ch == ':' ? optopt : ch);
		switch (ch) {
		case 'X':
			o->method = optarg;
			break;
		case 'H':
			if (o->nheaders == MAX_HEADERS)
				return cli_fail(EX_USAGE, "ValueError",
				    "more than %d headers", MAX_HEADERS);
			o->headers[o->nheaders++] = optarg;
			break;
		case 'd':
		case OPT_DATA_ASCII:
			ex = data_add(o, optarg, DATA_ASCII);
			break;
		case OPT_DATA_BINARY:
			ex = data_add(o, optarg, DATA_BINARY);
			break;
		case OPT_DATA_RAW:
			ex = data_add(o, optarg, DATA_RAW);
			break;
		case OPT_JSON:
			ex = data_add(o, optarg, DATA_JSON);
			break;
		case OPT_DATA_URLENCODE:
			ex = data_urlencode(o, optarg);
			break;
		case 'F':
			if ((ex = set_req(&req, REQ_FORM, fl)) == EX_OK)
				ex = multipart_add(o, optarg);
			break;
		case 'G':
			o->get = 1;
			break;
		case 'T':
			o->upload = optarg;
			break;
		case 'u':
			o->user = optarg;
			break;
		case 'A':
			o->agent = optarg;
			break;
		case 'e':
			o->referer = optarg;
			break;
		case 'r':
			o->range = optarg;
			break;
		case 'C':
			if (strcmp(optarg, "-") == 0)
				o->resume = -1;
			else if ((ex = number(optarg, &n, 0, fl)) == EX_OK)
				o->resume = n;
			break;
		case OPT_COMPRESSED:
			o->compressed = 1;
			break;
		case 'i':
			o->include = 1;
			break;
		case 'I':
			o->head = 1;
			ex = set_req(&req, REQ_HEAD, fl);
			break;
		case 'v':
			o->verbose = 1;
			break;
		case 'L':
			o->location = 1;
			break;
		case OPT_MAX_REDIRS:
			ex = number(optarg, &o->max_redirs, -1, fl);
			break;
		case 'w':
			o->writeout = optarg;
			break;
		case 'D':
			o->dump_header = optarg;
			break;
		case 'o':
			ex = add_output(o, optarg, 0);
			break;
		case 'O':
			ex = add_output(o, NULL, 1);
			break;
		case OPT_REMOTE_NAME_ALL:
			o->remote_name_all = 1;
			break;
		case 'J':
			o->content_disposition = 1;
			break;
		case OPT_URL:
			ex = add_url(o, optarg);
			break;
		case 'm':
			ex = seconds(optarg, &o->max_time, fl);
			break;
		case OPT_CONNECT_TIMEOUT:
			ex = seconds(optarg, &o->connect_timeout, fl);
			break;
		case OPT_RETRY:
			ex = number(optarg, &o->retry, 0, fl);
			break;
		case OPT_RETRY_DELAY:
			ex = seconds(optarg, &o->retry_delay, fl);
			break;
		case OPT_RETRY_MAX_TIME:
			ex = seconds(optarg, &o->retry_max_time, fl);
			break;
		case OPT_LIMIT_RATE:
			ex = rate(optarg, &o->limit_rate, fl);
			break;
		case OPT_SOCKET:
			o->socket_path = optarg;
			break;
		case OPT_TIMEOUT:
			ex = seconds(optarg, &o->timeout, fl);
			break;
		case OPT_CACERT:
			o->cacert = optarg;
			break;
		case OPT_CERT:
			o->cert = optarg;
			break;
		case OPT_KEY:
			o->key = optarg;
			break;
		case OPT_PASS:
			o->pass = optarg;
			break;
		case 'k':
			o->insecure = 1;
			break;
		case 'x':
			o->proxy = optarg;
			break;
		case OPT_PROXY_USER:
			o->proxy_user = optarg;
			break;
		case OPT_NOPROXY:
			o->noproxy = optarg;
			break;
		case OPT_EXPLAIN:
			o->explain = 1;
			break;
		case 'f':
			o->fail = 1;
			break;
		case OPT_FAIL_WITH_BODY:
			o->fail_with_body = 1;
			break;
		case 's':
			o->silent = 1;
			cli_silent = !o->show_error;
			cli_nowarn = 1;
			break;
		case 'S':
			o->show_error = 1;
			cli_silent = 0;
			break;
		case '#':
			o->progress_bar = 1;
			break;
		case 'V':
			printf("hpool %s\n", hpool_version());
			return EX_OK;
		case 'h':
			opts_usage(stdout);
			return EX_OK;
		case ':':
			return bad_flag(fl, "requires parameter");
		default:
			return bad_flag(fl, "is unknown");
		}
		if (ex != EX_OK)
			return ex;
	}
	for (; optind < argc; optind++)
		if ((ex = add_url(o, argv[optind])) != EX_OK)
			return ex;
	if (o->ntargets == 0) {
		if (!cli_silent)
			fprintf(stderr, "hpool: no URL specified!\nhpool: try "
			    "'hpool --help' for more information\n");
		return EX_USAGE;
	}
	/* as curl, -d and -T are weighed after the flags: -d, then -T */
	if ((o->has_data && !o->get &&
	    (ex = set_req(&req, REQ_POST, NULL)) != EX_OK) ||
	    (o->upload != NULL && (ex = set_req(&req, REQ_PUT, NULL)) !=
	    EX_OK))
		return ex;
	if (o->fail && o->fail_with_body) {
		cli_warn("You must select either --fail or --fail-with-body, "
		    "not both.\n");
		return EX_USAGE;
	}
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
