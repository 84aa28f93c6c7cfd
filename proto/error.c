/* error.c: owns the hpool error space: names, hierarchy, errno mapping. */
#include <errno.h>
#include <string.h>

#include "hpool_error.h"

/* Exception classes and their bases (at most two, as RemoteDisconnected). */
struct err_class {
	int		 code;
	const char	*name;
	int		 base1;
	int		 base2;
	const char	*desc;
};

#define NONE	(-1)
static const struct err_class classes[] = {
	{ HPOOL_OK, "OK", NONE, NONE, "no error" },
	{ HPOOL_E_HTTP_EXCEPTION, "HTTPException", NONE, NONE,
	    "HTTP protocol error" },
	{ HPOOL_E_NOT_CONNECTED, "NotConnected", HPOOL_E_HTTP_EXCEPTION, NONE,
	    "not connected" },
	{ HPOOL_E_INVALID_URL, "InvalidURL", HPOOL_E_HTTP_EXCEPTION, NONE,
	    "invalid URL, host or port" },
	{ HPOOL_E_UNKNOWN_PROTOCOL, "UnknownProtocol", HPOOL_E_HTTP_EXCEPTION,
	    NONE, "server answered with an unknown HTTP version" },
	{ HPOOL_E_UNKNOWN_TRANSFER_ENCODING, "UnknownTransferEncoding",
	    HPOOL_E_HTTP_EXCEPTION, NONE, "unknown transfer encoding" },
	{ HPOOL_E_UNIMPLEMENTED_FILE_MODE, "UnimplementedFileMode",
	    HPOOL_E_HTTP_EXCEPTION, NONE, "unimplemented file mode" },
	{ HPOOL_E_INCOMPLETE_READ, "IncompleteRead", HPOOL_E_HTTP_EXCEPTION,
	    NONE, "response body ended early" },
	{ HPOOL_E_IMPROPER_CONNECTION_STATE, "ImproperConnectionState",
	    HPOOL_E_HTTP_EXCEPTION, NONE, "call not allowed in this state" },
	{ HPOOL_E_CANNOT_SEND_REQUEST, "CannotSendRequest",
	    HPOOL_E_IMPROPER_CONNECTION_STATE, NONE,
	    "cannot send a request now" },
	{ HPOOL_E_CANNOT_SEND_HEADER, "CannotSendHeader",
	    HPOOL_E_IMPROPER_CONNECTION_STATE, NONE,
	    "cannot send a header now" },
	{ HPOOL_E_RESPONSE_NOT_READY, "ResponseNotReady",
	    HPOOL_E_IMPROPER_CONNECTION_STATE, NONE, "response not ready" },
	{ HPOOL_E_BAD_STATUS_LINE, "BadStatusLine", HPOOL_E_HTTP_EXCEPTION,
	    NONE, "bad status line from server" },
	{ HPOOL_E_LINE_TOO_LONG, "LineTooLong", HPOOL_E_HTTP_EXCEPTION, NONE,
	    "line from server too long" },
	{ HPOOL_E_REMOTE_DISCONNECTED, "RemoteDisconnected",
	    HPOOL_E_CONNECTION_RESET, HPOOL_E_BAD_STATUS_LINE,
	    "server closed the connection without a response" },
	{ HPOOL_E_OS_ERROR, "OSError", NONE, NONE, "operating system error" },
	{ HPOOL_E_CONNECTION_ERROR, "ConnectionError", HPOOL_E_OS_ERROR, NONE,
	    "connection error" },
	{ HPOOL_E_CONNECTION_REFUSED, "ConnectionRefusedError",
	    HPOOL_E_CONNECTION_ERROR, NONE, "connection refused" },
	{ HPOOL_E_CONNECTION_RESET, "ConnectionResetError",
	    HPOOL_E_CONNECTION_ERROR, NONE, "connection reset by peer" },
	{ HPOOL_E_CONNECTION_ABORTED, "ConnectionAbortedError",
	    HPOOL_E_CONNECTION_ERROR, NONE, "connection aborted" },
	{ HPOOL_E_BROKEN_PIPE, "BrokenPipeError", HPOOL_E_CONNECTION_ERROR,
	    NONE, "broken pipe" },
	{ HPOOL_E_TIMEOUT, "TimeoutError", HPOOL_E_OS_ERROR, NONE,
	    "timed out" },
	{ HPOOL_E_GAIERROR, "gaierror", HPOOL_E_OS_ERROR, NONE,
	    "name resolution failed" },
	{ HPOOL_E_FILE_NOT_FOUND, "FileNotFoundError", HPOOL_E_OS_ERROR, NONE,
	    "no such file or directory" },
	{ HPOOL_E_PERMISSION, "PermissionError", HPOOL_E_OS_ERROR, NONE,
	    "permission denied" },
	{ HPOOL_E_VALUE_ERROR, "ValueError", NONE, NONE, "invalid value" },
	{ HPOOL_E_MEMORY, "MemoryError", NONE, NONE, "out of memory" },
	{ HPOOL_E_SSL_ERROR, "SSLError", HPOOL_E_OS_ERROR, NONE, "TLS error" },
	{ HPOOL_E_SSL_CERT_VERIFICATION, "SSLCertVerificationError",
	    HPOOL_E_SSL_ERROR, HPOOL_E_VALUE_ERROR,
	    "certificate verification failed" },
	{ HPOOL_E_TYPE_ERROR, "TypeError", NONE, NONE, "wrong type" },
	{ HPOOL_E_OVERFLOW, "OverflowError", NONE, NONE,
	    "number too large" },
	/* UnicodeEncodeError's own base, UnicodeError, is not in the space. */
	{ HPOOL_E_UNICODE_ENCODE, "UnicodeEncodeError", HPOOL_E_VALUE_ERROR,
	    NONE, "text cannot be encoded" },
	{ HPOOL_E_RUNTIME_ERROR, "RuntimeError", NONE, NONE,
	    "call not allowed now" },
	{ HPOOL_E_PROTOCOL, "HpoolProtocolError", HPOOL_E_OS_ERROR, NONE,
	    "hpool wire protocol violated" },
	{ HPOOL_E_DAEMON_UNAVAILABLE, "HpoolDaemonUnavailable",
	    HPOOL_E_CONNECTION_ERROR, NONE, "cannot reach hpoold" },
	{ HPOOL_E_POLICY, "HpoolPolicyError", HPOOL_E_PERMISSION, NONE,
	    "refused by hpoold policy" },
};
#undef NONE

static const struct err_class *
find(int code)
{
	size_t i;

	for (i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
		if (classes[i].code == code)
			return &classes[i];
	return NULL;
}

const char *
hpool_error_name(int code)
{
	const struct err_class *c = find(code);

	return c ? c->name : "UnknownError";
}

const char *
hpool_strerror(int code)
{
	const struct err_class *c = find(code);

	return c ? c->desc : "unknown error";
}

int
hpool_error_is(int code, int base)
{
	const struct err_class *c;
	int depth;

	if (code == base)
		return 1;
	c = find(code);
	if (c == NULL)
		return 0;
	/* The hierarchy is a few levels deep; the depth cap guards loops. */
	for (depth = 0; depth < 8; depth++) {
		if (c->base2 >= 0 && hpool_error_is(c->base2, base))
			return 1;
		if (c->base1 < 0)
			return 0;
		if (c->base1 == base)
			return 1;
		if ((c = find(c->base1)) == NULL)
			return 0;
	}
	return 0;
}

int
hpool_error_from_name(const char *name)
{
	size_t i;

	for (i = 1; i < sizeof(classes) / sizeof(classes[0]); i++)
		if (strcmp(classes[i].name, name) == 0)
			return classes[i].code;
	return HPOOL_OK;
}

int
hpool_error_from_errno(int errnum)
{
	switch (errnum) {
	case ECONNREFUSED:	return HPOOL_E_CONNECTION_REFUSED;
	case ECONNRESET:	return HPOOL_E_CONNECTION_RESET;
	case ECONNABORTED:	return HPOOL_E_CONNECTION_ABORTED;
	case EPIPE:		return HPOOL_E_BROKEN_PIPE;
	case ETIMEDOUT:		return HPOOL_E_TIMEOUT;
	case ENOENT:		return HPOOL_E_FILE_NOT_FOUND;
	case EACCES:
	case EPERM:		return HPOOL_E_PERMISSION;
	case ENOMEM:		return HPOOL_E_MEMORY;
	default:		return HPOOL_E_OS_ERROR;
	}
}
