/* access.c: owns the access log's record formats (a plain line, journal
 * fields) and where an entry goes (stderr, the journal, or the test
 * hook's socket). */
#include "hpool_autoconf.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_SYSTEMD
#include <systemd/sd-journal.h>
#endif

#include "access.h"
#include "log.h"

#define ACCESS_FIELDS	20	/* journal fields of one entry, at most */
#define ACCESS_BUF	4096	/* their text */

static int journal;		/* stderr is the journal */
static int hook_fd = -1;	/* HPOOL_TEST_JOURNAL_SOCKET */
static struct sockaddr_un hook_addr;

static const char *const conn_names[] = { "none", "new", "reused" };
static const char *const tls_names[] = { "none", "full", "resumed" };

/* JOURNAL_STREAM is "DEV:INO" of the stream journald gave us; it counts
 * only while stderr is still that stream (a child may inherit the
 * variable with stderr redirected). */
static int
stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat sb;

	if (e == NULL || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &sb) == -1)
		return 0;
	return (unsigned long long)sb.st_dev == dev &&
	    (unsigned long long)sb.st_ino == ino;
}

void
access_init(int open_hook)
{
	const char *p = getenv("HPOOL_TEST_JOURNAL_SOCKET");

	journal = stderr_is_journal();
	if (!open_hook || hook_fd != -1 || p == NULL || *p != '/' ||
	    strlen(p) >= sizeof(hook_addr.sun_path))
		return;
	memset(&hook_addr, 0, sizeof(hook_addr));
	hook_addr.sun_family = AF_UNIX;
	memcpy(hook_addr.sun_path, p, strlen(p));
	hook_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0);
	if (hook_fd == -1)
		log_warn("HPOOL_TEST_JOURNAL_SOCKET: socket: %s",
		    strerror(errno));
}

void
access_clean(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f || *s == '"' ||
		    *s == '\\')
			*s = '?';
}

/* Appends like snprintf, never past len - 1. */
static void
add(char *buf, size_t len, size_t *n, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (*n + 1 >= len)
		return;
	va_start(ap, fmt);
	k = vsnprintf(buf + *n, len - *n, fmt, ap);
	va_end(ap);
	if (k > 0)
		*n = *n + (size_t)k < len ? *n + (size_t)k : len - 1;
}

/* The part of the line the journal's MESSAGE holds too. */
static size_t
message(const struct access_rec *r, int with_path, char *buf, size_t len)
{
	size_t n = 0;

	if (len == 0)
		return 0;
	buf[0] = '\0';
	add(buf, len, &n, "uid=%u unit=%s pid=%d %s %s%s", (unsigned)r->uid,
	    r->unit[0] != '\0' ? r->unit : "-", (int)r->pid,
	    r->method[0] != '\0' ? r->method : "-", r->dest,
	    with_path ? r->path : "");
	add(buf, len, &n, " status=%u", r->status);
	if (r->error[0] != '\0')
		add(buf, len, &n, " error=%s", r->error);
	add(buf, len, &n, " up=%" PRIu64 " down=%" PRIu64 " us=%" PRIu64
	    " conn=%s tls=%s retried=%s route=\"%s\"", r->bytes_up,
	    r->bytes_down, r->duration_us, conn_names[r->conn],
	    tls_names[r->tls], r->retried ? "yes" : "no", r->route);
	return n;
}

size_t
access_format_text(const struct access_rec *r, int with_path,
    const char *stamp, char *buf, size_t len)
{
	size_t n = 0;

	if (len == 0)
		return 0;
	buf[0] = '\0';
	add(buf, len, &n, "access: %s ", stamp);
	return n + message(r, with_path, buf + n, len - n);
}

/* One "NAME=value" field into buf at *used. */
static int
field(struct iovec *iov, size_t maxiov, size_t *niov, char *buf, size_t len,
    size_t *used, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (*niov >= maxiov || *used >= len)
		return -1;
	va_start(ap, fmt);
	k = vsnprintf(buf + *used, len - *used, fmt, ap);
	va_end(ap);
	if (k < 0 || (size_t)k >= len - *used)
		return -1;
	iov[*niov].iov_base = buf + *used;
	iov[*niov].iov_len = (size_t)k;
	(*niov)++;
	*used += (size_t)k + 1;
	return 0;
}

size_t
access_journal_fields(const struct access_rec *r, int with_path,
    struct iovec *iov, size_t maxiov, char *buf, size_t len)
{
	char msg[2048];
	size_t n = 0, used = 0;
	int bad = 0;

#define F(...)	bad |= field(iov, maxiov, &n, buf, len, &used, __VA_ARGS__)
	message(r, with_path, msg, sizeof(msg));
	F("MESSAGE=access: %s", msg);
	F("PRIORITY=6");
	F("SYSLOG_IDENTIFIER=hpoold");
	F("HPOOL_CALLER_UID=%u", (unsigned)r->uid);
	F("HPOOL_CALLER_PID=%d", (int)r->pid);
	if (r->unit[0] != '\0')
		F("HPOOL_UNIT=%s", r->unit);
	F("HPOOL_METHOD=%s", r->method[0] != '\0' ? r->method : "-");
	F("HPOOL_DEST=%s", r->dest);
	if (with_path && r->path[0] != '\0')
		F("HPOOL_PATH=%s", r->path);
	F("HPOOL_STATUS=%u", r->status);
	if (r->error[0] != '\0')
		F("HPOOL_ERROR=%s", r->error);
	F("HPOOL_BYTES_UP=%" PRIu64, r->bytes_up);
	F("HPOOL_BYTES_DOWN=%" PRIu64, r->bytes_down);
	F("HPOOL_DURATION_US=%" PRIu64, r->duration_us);
	F("HPOOL_CONN=%s", conn_names[r->conn]);
	F("HPOOL_TLS=%s", tls_names[r->tls]);
	F("HPOOL_RETRIED=%d", r->retried ? 1 : 0);
	F("HPOOL_ROUTE=%s", r->route);
#undef F
	return bad ? 0 : n;
}

size_t
access_journal_datagram(const struct iovec *iov, size_t n, char *out,
    size_t len)
{
	size_t i, used = 0, k, vlen;
	const char *p, *eq;
	uint64_t le;
	int b;

	for (i = 0; i < n; i++) {
		p = iov[i].iov_base;
		k = iov[i].iov_len;
		if ((eq = memchr(p, '=', k)) == NULL)
			return 0;
		vlen = k - (size_t)(eq - p) - 1;
		if (memchr(eq + 1, '\n', vlen) == NULL) {
			if (used + k + 1 > len)
				return 0;
			memcpy(out + used, p, k);
			used += k;
		} else {
			/* NAME '\n' le64 length, value */
			if (used + (size_t)(eq - p) + 1 + 8 + vlen + 1 > len)
				return 0;
			memcpy(out + used, p, (size_t)(eq - p));
			used += (size_t)(eq - p);
			out[used++] = '\n';
			le = vlen;
			for (b = 0; b < 8; b++)
				out[used++] = (char)((le >> (8 * b)) & 0xff);
			memcpy(out + used, eq + 1, vlen);
			used += vlen;
		}
		out[used++] = '\n';
	}
	return used;
}

static void
stamp_now(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

void
access_log(const struct access_rec *r, int with_path)
{
	struct iovec iov[ACCESS_FIELDS];
	char buf[ACCESS_BUF], dgram[ACCESS_BUF + 256], line[2200], stamp[40];
	size_t n, len;

	if (journal || hook_fd != -1) {
		if ((n = access_journal_fields(r, with_path, iov, ACCESS_FIELDS,
		    buf, sizeof(buf))) == 0)
			return;	/* cannot be: every part is capped */
		if (hook_fd != -1) {
			len = access_journal_datagram(iov, n, dgram,
			    sizeof(dgram));
			if (len > 0 && sendto(hook_fd, dgram, len, 0,
			    (struct sockaddr *)&hook_addr,
			    sizeof(hook_addr)) == -1)
				log_debug("HPOOL_TEST_JOURNAL_SOCKET: %s",
				    strerror(errno));
			return;
		}
#ifdef HAVE_SYSTEMD
		if (sd_journal_sendv(iov, (int)n) >= 0)
			return;
#endif
	}
	stamp_now(stamp, sizeof(stamp));
	access_format_text(r, with_path, stamp, line, sizeof(line));
	log_info("%s", line);
}
