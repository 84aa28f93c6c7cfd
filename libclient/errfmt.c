/* errfmt.c: owns filling struct hpool_error and Python-style repr(). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "client.h"

/* request_sent is the ERROR frame's byte as it came: the public numbers
 * are the wire's. */
_Static_assert(HPOOL_SENT_UNKNOWN == PROTO_SENT_UNKNOWN &&
    HPOOL_SENT_NO == PROTO_SENT_NO && HPOOL_SENT_MAYBE == PROTO_SENT_MAYBE,
    "HPOOL_SENT_* differ from PROTO_SENT_*");

void
errfmt_clear(struct hpool_error *e)
{
	e->code = HPOOL_OK;
	e->message[0] = '\0';
	e->partial = 0;
	e->expected = -1;
	/* Only hpoold can know whether a request left it. */
	e->request_sent = HPOOL_SENT_UNKNOWN;
}

int
errfmt_set(struct hpool_error *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return code;
	errfmt_clear(e);
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	return code;
}

/* As errfmt_set, then ": strerror(errnum)" appended. */
int
errfmt_errno(struct hpool_error *e, int code, int errnum, const char *fmt,
    ...)
{
	va_list ap;
	size_t n;

	if (e == NULL)
		return code;
	errfmt_clear(e);
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	n = strlen(e->message);
	snprintf(e->message + n, sizeof(e->message) - n, ": %s",
	    strerror(errnum));
	return code;
}

/*
 * repr() as Python prints it in exception messages: single quotes unless
 * the text holds a single quote and no double quote; \t \n \r \\ and
 * non-printable bytes escaped. Truncated with "..." when out is short.
 */
void
errfmt_repr(char *out, size_t outlen, const char *s, size_t len,
    int as_bytes)
{
	char q = '\'';
	size_t i, o = 0;
	char tmp[8];
	unsigned char c;

	if (outlen < 8) {
		if (outlen > 0)
			out[0] = '\0';
		return;
	}
	if (memchr(s, '\'', len) != NULL && memchr(s, '"', len) == NULL)
		q = '"';
	if (as_bytes)
		out[o++] = 'b';
	out[o++] = q;
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c == '\\' || c == (unsigned char)q)
			snprintf(tmp, sizeof(tmp), "\\%c", c);
		else if (c == '\t')
			snprintf(tmp, sizeof(tmp), "\\t");
		else if (c == '\n')
			snprintf(tmp, sizeof(tmp), "\\n");
		else if (c == '\r')
			snprintf(tmp, sizeof(tmp), "\\r");
		else if (c < 0x20 || c == 0x7f || (c >= 0x80 && as_bytes))
			snprintf(tmp, sizeof(tmp), "\\x%02x", c);
		else {
			tmp[0] = (char)c;
			tmp[1] = '\0';
		}
		if (o + strlen(tmp) + 5 > outlen) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		memcpy(out + o, tmp, strlen(tmp));
		o += strlen(tmp);
	}
	out[o++] = q;
	out[o] = '\0';
}

void
errfmt_from_frame(struct hpool_error *e, const struct proto_error *pe)
{
	char name[64];
	int code = pe->code;
	size_t n;

	if (e == NULL)
		return;
	/* A code from a newer daemon: trust the class name if we know it. */
	if (strcmp(hpool_error_name(code), "UnknownError") == 0) {
		n = pe->name.len < sizeof(name) - 1 ? pe->name.len :
		    sizeof(name) - 1;
		memcpy(name, pe->name.p, n);
		name[n] = '\0';
		code = hpool_error_from_name(name);
		if (code == HPOOL_OK) {
			errfmt_set(e, HPOOL_E_HTTP_EXCEPTION, "%s: %.*s", name,
			    (int)(pe->message.len > 400 ? 400 :
			    pe->message.len), pe->message.p);
			/* whatever the error, whether it was sent holds */
			e->request_sent = pe->sent;
			return;
		}
	}
	errfmt_set(e, code, "%.*s", (int)(pe->message.len > 511 ? 511 :
	    pe->message.len), pe->message.p);
	e->partial = pe->partial;
	e->expected = pe->expected;
	e->request_sent = pe->sent;
}

void
errfmt_detail(char *out, size_t outlen, const struct proto_error *pe)
{
	size_t i, n = pe->detail.len < outlen - 1 ? pe->detail.len :
	    outlen - 1;

	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)pe->detail.p[i];

		out[i] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
	}
	out[n] = '\0';
}
