/*
 * access.h: hpoold's access log, one entry per request (and per OPEN the
 * policy denies). session.c fills one struct access_rec when a request
 * ends; this module formats it and writes it: structured fields to the
 * journal when stderr is the journal (JOURNAL_STREAM), else a plain line
 * with a timestamp on stderr. Never a header, never a credential; the
 * path only at log_level = debug.
 */
#ifndef HPOOL_ACCESS_H
#define HPOOL_ACCESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

enum access_conn { ACCESS_CONN_NONE = 0, ACCESS_CONN_NEW,
	ACCESS_CONN_REUSED };
enum access_tls { ACCESS_TLS_NONE = 0, ACCESS_TLS_FULL, ACCESS_TLS_RESUMED };

#define ACCESS_PATH_MAX	256	/* a longer path is cut, with "..." */

struct access_rec {
	uid_t		 uid;
	pid_t		 pid;
	char		 unit[256];	/* systemd unit, "" none */
	char		 method[32];	/* "" for a denied OPEN */
	char		 dest[300];	/* scheme://host:port, as the caller
					 * asked (not the proxy) */
	char		 path[ACCESS_PATH_MAX]; /* "" unknown */
	unsigned	 status;	/* 0: no response */
	char		 error[48];	/* the error's Python name, "" none */
	uint64_t	 bytes_up;	/* request body bytes sent upstream */
	uint64_t	 bytes_down;	/* response body bytes to the caller */
	uint64_t	 duration_us;	/* REQ_HEAD taken to the end */
	enum access_conn conn;
	enum access_tls	 tls;
	int		 retried;	/* sent again on another connection */
	char		 route[320];	/* direct, proxy NAME, denied by ... */
};

/* Read the environment: JOURNAL_STREAM (the journal, when it names
 * stderr's device and inode) and, with open_hook (in a worker, after its
 * descriptors are closed), the test hook HPOOL_TEST_JOURNAL_SOCKET: the
 * journal fields go as journald's native datagrams to that Unix socket
 * instead. */
void	access_init(int open_hook);
/* Log one request if on; with_path: the path goes in too (debug). */
void	access_log(const struct access_rec *, int with_path);

/* The plain line, without the newline, cut to fit (like snprintf: the
 * length written, buf always NUL-terminated). */
size_t	access_format_text(const struct access_rec *, int with_path,
	    const char *stamp, char *buf, size_t len);
/* The journal fields ("NAME=value", MESSAGE and PRIORITY among them)
 * into iov (at most maxiov), their text in buf: the count, or 0 if buf
 * is too small. */
size_t	access_journal_fields(const struct access_rec *, int with_path,
	    struct iovec *iov, size_t maxiov, char *buf, size_t len);
/* Fields as one datagram of journald's native protocol (a value with a
 * newline in the binary form): the length, or 0 if out is too small. */
size_t	access_journal_datagram(const struct iovec *, size_t n, char *out,
	    size_t len);
/* Plain text safe for a log line: control characters, quotes and
 * backslashes become '?' (a unit or a route comes from outside). */
void	access_clean(char *);

#endif
