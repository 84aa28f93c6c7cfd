/*
 * cli.h: what the files of the hpool command share: the options, one
 * transfer's record, the exit codes and the error space.
 */
#ifndef HPOOL_CLI_H
#define HPOOL_CLI_H

#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "hpool.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define MAX_HEADERS	256
#define MAX_URLS	256
#define MAX_FORM	128
#define READ_CHUNK	(64 * 1024)
#define PROXY_AUTH_MAX	700	/* user:password, before base64 */
#define ERRMSG_MAX	768

/* Exit codes: curl's where curl has one for the same situation. */
enum {
	EX_OK		= 0,
	EX_GENERIC	= 1,	/* also: unsupported scheme (curl: 1) */
	EX_USAGE	= 2,
	EX_URL		= 3,
	EX_RESOLVE	= 6,
	EX_CONNECT	= 7,
	EX_WEIRD	= 8,
	EX_PARTIAL	= 18,
	EX_HTTP_FAIL	= 22,
	EX_WRITE	= 23,
	EX_READ		= 26,
	EX_NOMEM	= 27,
	EX_TIMEOUT	= 28,
	EX_RANGE	= 33,	/* -C: the server ignored the range */
	EX_SSL_CONNECT	= 35,	/* SSLError */
	EX_REDIRECTS	= 47,	/* more than --max-redirs */
	EX_EMPTY_REPLY	= 52,
	EX_SEND		= 55,
	EX_RECV		= 56,
	EX_SSL_CERTPROBLEM = 58,	/* --cert / --key unusable */
	EX_SSL_VERIFY	= 60,	/* SSLCertVerificationError */
	EX_BAD_ENCODING	= 61,	/* --compressed: undecodable body */
	EX_REWIND	= 65,	/* -L 307/308: a -T pipe cannot be sent again */
	EX_SSL_CACERT	= 77,	/* --cacert unusable */
	/*
	 * hpool's own, above curl's table (which ends at 101) and below
	 * the shell's 126: hpoold's egress policy refused the destination
	 * (a retry does not mend it), and hpoold itself cannot be reached
	 * (the server was never tried).
	 */
	EX_POLICY	= 120,
	EX_DAEMON	= 121,
};

/* An output paired with a URL, as curl pairs -o/-O with URLs in order. */
struct target {
	const char	*url;
	const char	*output;	/* -o FILE, "-" stdout; NULL: stdout */
	int		 remote_name;	/* -O */
};

/* One -F part. */
struct form_part {
	char		*name;
	char		*value;		/* text, or the file path for @ / < */
	int		 file;		/* 1: @file (a file part), 2: <file */
	char		*type;		/* ;type= */
	char		*filename;	/* ;filename= */
};

struct opts {
	const char	*method;	/* -X */
	const char	*headers[MAX_HEADERS];
	size_t		 nheaders;
	char		*data;		/* -d and kin, joined */
	size_t		 data_len;
	int		 has_data;
	int		 json;		/* --json given */
	int		 get;		/* -G */
	struct form_part form[MAX_FORM];
	size_t		 nform;
	const char	*upload;	/* -T */
	const char	*user;		/* -u */
	const char	*agent;		/* -A; NULL: hpool/VERSION */
	const char	*referer;	/* -e */
	const char	*range;		/* -r */
	int64_t		 resume;	/* -C: -1 for "-", else the offset */
	int		 compressed;
	int		 include;	/* -i */
	int		 head;		/* -I */
	int		 verbose;	/* -v */
	int		 location;	/* -L */
	long		 max_redirs;
	const char	*writeout;	/* -w */
	const char	*dump_header;	/* -D */
	int		 content_disposition;	/* -J */
	int		 remote_name_all;
	struct target	 targets[MAX_URLS];
	size_t		 ntargets;
	size_t		 noutputs;	/* -o/-O given so far */
	const char	*socket_path;
	double		 timeout;	/* --timeout: each wait */
	double		 max_time;	/* -m, 0: none */
	double		 connect_timeout;
	long		 retry;
	double		 retry_delay;	/* <0: not given */
	double		 retry_max_time;
	int64_t		 limit_rate;	/* bytes/s, 0: none */
	int		 fail;		/* -f */
	int		 fail_with_body;
	int		 silent;
	int		 show_error;
	int		 progress_bar;	/* -# */
	const char	*cacert;
	const char	*cert;
	const char	*key;
	const char	*pass;
	int		 insecure;
	const char	*proxy;
	const char	*proxy_user;
	const char	*noproxy;
	const char	*proxy_cacert;	/* --proxy-cacert: an https proxy's CAs */
	int		 proxy_insecure; /* --proxy-insecure */
	int		 explain;
};

/* Where a transfer was when it failed: names the phase of an error. */
enum stage {
	STAGE_NONE = 0,
	STAGE_CONNECT,		/* opening the session, sending the head */
	STAGE_SEND,		/* sending the body */
	STAGE_HEAD,		/* waiting for the response head */
	STAGE_BODY,		/* reading the body */
};

/* What -w reports of one URL (after its redirects). */
struct xfer {
	const char	*url;		/* as given */
	char		*url_effective;
	char		*redirect_url;	/* Location not followed */
	char		*filename;	/* filename_effective */
	char		*content_type;
	const char	*method;
	char		 method_buf[32];
	char		 scheme[8];
	int		 status;
	int		 http_version;	/* 10, 11; 0: none */
	long		 num_redirects;
	int		 num_headers;
	int64_t		 size_download;
	int64_t		 size_upload;
	int64_t		 size_header;
	int64_t		 size_request;
	double		 t_pretransfer;
	double		 t_starttransfer;
	double		 t_redirect;
	double		 t_total;
	struct timespec	 start;
	int		 exitcode;
	char		 errormsg[ERRMSG_MAX];
	struct hpool_header *hdrs;	/* last response's, copied */
	size_t		 nhdrs;
	int		 urlnum;
	int		 attempt;	/* 0, then 1.. for --retry's tries */
};

/* exitcode.c: the one error space */
extern int	 cli_silent;	/* -s without -S: no error lines */
extern int	 cli_nowarn;	/* -s: no Warning: lines either */
extern char	 cli_errmsg[ERRMSG_MAX];
int	 cli_fail(int ex, const char *name, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
int	 cli_fail_err(const struct hpool_error *, const char *where);
int	 cli_exit_code(const struct hpool_error *);
void	 cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	 cli_sent_note(const struct hpool_error *, const char *no_replay);
void	 cli_phase(const struct hpool_error *, enum stage, const char *dest,
	    const char *socket_path, double timeout, char *out, size_t len);
double	 cli_now(const struct timespec *since);

/* termsafe.c */
void	 termsafe_write(FILE *, const char *s, size_t n, int escape);
void	 termsafe_puts(FILE *, const char *s, int escape);
int	 termsafe_binary(const void *buf, size_t n);

/* opts.c */
int	 opts_parse(struct opts *, int argc, char **argv, int *done);
void	 opts_free(struct opts *);
void	 opts_usage(FILE *);

/* url.c */
int	 url_split(const char *url, char **authority, char **path,
	    int *https);
char	*url_resolve(const char *base, const char *ref);
void	 url_escape_append(char **buf, size_t *len, const char *s, size_t n,
	    int plus);
int	 url_same_origin(const char *a, const char *b);
int	 url_userinfo(const char *url, char *out, size_t outlen);
int	 url_pct_decode(const char *s, size_t n, char *out, size_t outlen);

/* data.c */
int	 data_add(struct opts *, const char *arg, int kind);
int	 data_urlencode(struct opts *, const char *arg);
int	 data_read_all(FILE *, char **, size_t *);
enum { DATA_ASCII, DATA_BINARY, DATA_RAW, DATA_JSON };

/* multipart.c */
int	 multipart_add(struct opts *, const char *arg);
int	 multipart_build(const struct opts *, char **body, size_t *len,
	    char *ctype, size_t ctlen);

/* proxy.c */
struct proxy {
	char		 host[256];	/* an IPv6 address without brackets */
	int		 port;
	char		 userpass[PROXY_AUTH_MAX + 1];	/* "" if none */
	const char	*from;		/* "-x" or the variable's name */
	int		 tls;		/* https://: TLS to the proxy */
};
int	 proxy_pick(const struct opts *, const char *authority, int https,
	    struct proxy *, int *use);
int	 proxy_tunnel(hpool_conn *, const struct opts *, const struct proxy *,
	    const char *authority);
void	 proxy_basic_auth(const char *, char *, size_t);

/* tls.c */
int	 tls_context(const struct opts *, hpool_ssl_context **);

/* progress.c */
enum { PROGRESS_OFF, PROGRESS_METER, PROGRESS_BAR };
struct progress {
	int		 on;		/* PROGRESS_* */
	int64_t		 total;		/* -1: unknown */
	uint64_t	 done;
	struct timespec	 start;
	struct timespec	 last;
	int		 shown;
};
void	 progress_start(struct progress *, const struct opts *, int to_file,
	    int64_t total);
void	 progress_update(struct progress *, int final);

/* writeout.c */
int	 writeout(const char *fmt, const struct xfer *, FILE *out);
void	 writeout_reset(struct xfer *);

/* decode.c: --compressed */
struct decoder;
int	 decode_new(const char *content_encoding, struct decoder **);
int	 decode_run(struct decoder *, const void *in, size_t n,
	    int (*sink)(void *, const void *, size_t), void *arg, int last);
void	 decode_free(struct decoder *);
const char *decode_accept(void);

/* transfer.c */
int	 transfer(const struct opts *, const struct target *, struct xfer *,
	    FILE **hdrfp);
int	 run_explain(const struct opts *, const char *url);

#endif
