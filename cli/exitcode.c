/*
 * exitcode.c: owns the command's one error space: which exit code an
 * error gets, how its line reads (the exception's name and message, then
 * the destination and the phase), curl's wrapped "Warning:" lines, and
 * the last message, kept for -w's %{errormsg}.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

int	 cli_silent;
int	 cli_nowarn;
char	 cli_errmsg[ERRMSG_MAX];

/* What a PermissionError of hpoold's policy says, at OPEN or at connect
 * (daemon/session.c, upstream.c), as against a file's or a limit's. */
#define POLICY_MARK	"hpoold's policy"

/* Error class -> exit code; the first entry the error is a kind of wins,
 * so subclasses come before their bases. */
static const struct {
	int	code;
	int	exit;
} exit_map[] = {
	{ HPOOL_E_SSL_CERT_VERIFICATION, EX_SSL_VERIFY },
	{ HPOOL_E_SSL_ERROR, EX_SSL_CONNECT },
	{ HPOOL_E_REMOTE_DISCONNECTED, EX_EMPTY_REPLY },
	{ HPOOL_E_INCOMPLETE_READ, EX_PARTIAL },
	{ HPOOL_E_INVALID_URL, EX_URL },
	{ HPOOL_E_BAD_STATUS_LINE, EX_WEIRD },
	{ HPOOL_E_LINE_TOO_LONG, EX_WEIRD },
	{ HPOOL_E_UNKNOWN_PROTOCOL, EX_WEIRD },
	{ HPOOL_E_UNKNOWN_TRANSFER_ENCODING, EX_WEIRD },
	{ HPOOL_E_TIMEOUT, EX_TIMEOUT },
	{ HPOOL_E_GAIERROR, EX_RESOLVE },
	{ HPOOL_E_DAEMON_UNAVAILABLE, EX_DAEMON },
	{ HPOOL_E_CONNECTION_REFUSED, EX_CONNECT },
	{ HPOOL_E_BROKEN_PIPE, EX_SEND },
	{ HPOOL_E_CONNECTION_RESET, EX_RECV },
	{ HPOOL_E_CONNECTION_ABORTED, EX_RECV },
	{ HPOOL_E_MEMORY, EX_NOMEM },
};

/* Errors of reaching the server: their phase is the connect. */
static const int connect_errors[] = {
	HPOOL_E_CONNECTION_REFUSED, HPOOL_E_GAIERROR, HPOOL_E_SSL_ERROR,
};

double
cli_now(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - since->tv_sec) +
	    (double)(now.tv_nsec - since->tv_nsec) / 1e9;
}

int
cli_exit_code(const struct hpool_error *e)
{
	size_t i;

	if (hpool_error_is(e->code, HPOOL_E_PERMISSION) &&
	    strstr(e->message, POLICY_MARK) != NULL)
		return EX_POLICY;
	for (i = 0; i < NELEM(exit_map); i++)
		if (hpool_error_is(e->code, exit_map[i].code))
			return exit_map[i].exit;
	return EX_GENERIC;
}

/*
 * "hpool: Name: message": the message is kept for %{errormsg}; on a
 * terminal its control characters are escaped (a server's text may be
 * in it: a bad status line).
 */
int
cli_fail(int ex, const char *name, const char *fmt, ...)
{
	char msg[ERRMSG_MAX - 64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(cli_errmsg, sizeof(cli_errmsg), "%s: %s", name, msg);
	fflush(stdout);
	if (cli_silent)
		return ex;
	fprintf(stderr, "hpool: %s: ", name);
	termsafe_puts(stderr, msg, isatty(STDERR_FILENO));
	fputc('\n', stderr);
	return ex;
}

/* An error from the library; where: " (phase)" or "". */
int
cli_fail_err(const struct hpool_error *e, const char *where)
{
	return cli_fail(cli_exit_code(e), hpool_error_name(e->code), "%s%s",
	    e->message, where != NULL ? where : "");
}

/*
 * The phase of a failed request, from the error's class, whether hpoold
 * says it sent the request, and the stage the command was in. hpoold
 * connects when the request's head reaches it, so a refusal shows at
 * the head's wait: the class and request_sent say it was the connect.
 */
void
cli_phase(const struct hpool_error *e, enum stage st, const char *dest,
    const char *socket_path, double timeout, char *out, size_t len)
{
	const char *what;
	char tmo[48] = "";
	size_t i;

	out[0] = '\0';
	if (hpool_error_is(e->code, HPOOL_E_DAEMON_UNAVAILABLE)) {
		/* the library's message names the socket already */
		if (strstr(e->message, "hpoold") == NULL)
			snprintf(out, len, " (connecting to hpoold%s%s)",
			    socket_path != NULL ? " at " : "",
			    socket_path != NULL ? socket_path : "");
		return;
	}
	for (i = 0; i < NELEM(connect_errors); i++)
		if (hpool_error_is(e->code, connect_errors[i]))
			st = STAGE_CONNECT;
	if (e->request_sent == HPOOL_SENT_NO && st > STAGE_CONNECT)
		st = STAGE_CONNECT;
	switch (st) {
	case STAGE_CONNECT:
		what = "connecting to";
		break;
	case STAGE_SEND:
		what = "sending the request to";
		break;
	case STAGE_HEAD:
		what = "waiting for the response head from";
		break;
	case STAGE_BODY:
		what = "reading the body from";
		break;
	default:
		out[0] = '\0';
		return;
	}
	if (hpool_error_is(e->code, HPOOL_E_TIMEOUT) && timeout > 0)
		snprintf(tmo, sizeof(tmo), ", timeout %g s", timeout);
	snprintf(out, len, " (%s %s%s)", what, dest, tmo);
}

/*
 * curl's "Warning: " lines: the text cut at the last space that keeps a
 * line within 79 columns, each piece with the prefix.
 */
void
cli_warn(const char *fmt, ...)
{
	static const char prefix[] = "Warning: ";
	const size_t width = 79 - (sizeof(prefix) - 1);
	char buf[1024], *p = buf;
	size_t len, cut;
	va_list ap;

	if (cli_nowarn)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	len = strlen(p);
	while (len > 0) {
		fputs(prefix, stderr);
		if (len <= width) {
			fputs(p, stderr);
			break;
		}
		cut = width - 1;
		while (cut > 0 && !isspace((unsigned char)p[cut]))
			cut--;
		if (cut == 0)
			cut = width - 1;
		fwrite(p, 1, cut + 1, stderr);
		fputc('\n', stderr);
		p += cut + 1;
		len -= cut + 1;
	}
}

/*
 * Whether the failed request reached the server, as hpoold reports it: a
 * user deciding whether to run the command again needs it, and the
 * exception's name alone does not tell (a RemoteDisconnected may follow a
 * request the server carried out). no_replay: why hpoold would not send
 * this request again by itself, NULL if it would.
 */
void
cli_sent_note(const struct hpool_error *e, const char *no_replay)
{
	if (cli_silent)
		return;
	if (e->request_sent == HPOOL_SENT_NO)
		fprintf(stderr, "hpool: the request was not sent "
		    "(safe to retry)\n");
	else if (e->request_sent == HPOOL_SENT_MAYBE &&
	    e->code == HPOOL_E_REMOTE_DISCONNECTED && no_replay != NULL)
		/* the one error hpoold answers with a retry when it can */
		fprintf(stderr, "hpool: the request may have been processed "
		    "by the server (not retried: %s)\n", no_replay);
	else if (e->request_sent == HPOOL_SENT_MAYBE)
		fprintf(stderr, "hpool: the request may have been processed "
		    "by the server\n");
}
