/*
 * hpool_error.h: the one error space of hpool, shared by hpoold, libhpool
 * and the hpool command. Each code is named after the Python exception that
 * http.client (or the socket and ssl modules under it) raises for the same
 * situation; hpool_error_name() gives that class name and
 * hpool_error_is() mirrors the exception hierarchy (issubclass).
 *
 * The numbers travel in PROTO_ERROR frames: never renumber, only append.
 */
#ifndef HPOOL_ERROR_H
#define HPOOL_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

enum hpool_err {
	HPOOL_OK			= 0,
	/* http.client.HTTPException and its subclasses */
	HPOOL_E_HTTP_EXCEPTION		= 1,
	HPOOL_E_NOT_CONNECTED		= 2,
	HPOOL_E_INVALID_URL		= 3,
	HPOOL_E_UNKNOWN_PROTOCOL	= 4,
	HPOOL_E_UNKNOWN_TRANSFER_ENCODING = 5,
	HPOOL_E_UNIMPLEMENTED_FILE_MODE	= 6,
	HPOOL_E_INCOMPLETE_READ		= 7,
	HPOOL_E_IMPROPER_CONNECTION_STATE = 8,
	HPOOL_E_CANNOT_SEND_REQUEST	= 9,
	HPOOL_E_CANNOT_SEND_HEADER	= 10,
	HPOOL_E_RESPONSE_NOT_READY	= 11,
	HPOOL_E_BAD_STATUS_LINE		= 12,
	HPOOL_E_LINE_TOO_LONG		= 13,
	HPOOL_E_REMOTE_DISCONNECTED	= 14,
	/* builtins that http.client lets through */
	HPOOL_E_OS_ERROR		= 32,
	HPOOL_E_CONNECTION_ERROR	= 33,
	HPOOL_E_CONNECTION_REFUSED	= 34,
	HPOOL_E_CONNECTION_RESET	= 35,
	HPOOL_E_CONNECTION_ABORTED	= 36,
	HPOOL_E_BROKEN_PIPE		= 37,
	HPOOL_E_TIMEOUT			= 38,
	HPOOL_E_GAIERROR		= 39,	/* socket.gaierror */
	HPOOL_E_FILE_NOT_FOUND		= 40,
	HPOOL_E_PERMISSION		= 41,
	HPOOL_E_VALUE_ERROR		= 42,
	HPOOL_E_MEMORY			= 43,
	HPOOL_E_SSL_ERROR		= 44,	/* ssl.SSLError */
	HPOOL_E_SSL_CERT_VERIFICATION	= 45,	/* ssl.SSLCertVerificationError */
	HPOOL_E_TYPE_ERROR		= 46,
	HPOOL_E_OVERFLOW		= 47,	/* OverflowError */
	HPOOL_E_UNICODE_ENCODE		= 48,	/* UnicodeEncodeError(ValueError) */
	HPOOL_E_RUNTIME_ERROR		= 49,	/* RuntimeError */
	/* hpool's own: the daemon or the link to it misbehaved */
	HPOOL_E_PROTOCOL		= 64,	/* HpoolProtocolError(OSError) */
	HPOOL_E_DAEMON_UNAVAILABLE	= 65,	/* HpoolDaemonUnavailable(ConnectionError) */
	HPOOL_E_POLICY			= 66,	/* HpoolPolicyError(PermissionError) */
	HPOOL_E_MAX			= 67
};

/* Python class name, e.g. "IncompleteRead"; "UnknownError" if unknown. */
const char	*hpool_error_name(int code);
/* One-line description of the class of error (not of one instance). */
const char	*hpool_strerror(int code);
/* 1 when code names base or a subclass of it (issubclass(code, base)). */
int		 hpool_error_is(int code, int base);
/* Code for a class name, HPOOL_OK when unknown. */
int		 hpool_error_from_name(const char *name);
/* The OSError subclass Python raises for an errno value. */
int		 hpool_error_from_errno(int errnum);

#ifdef __cplusplus
}
#endif

#endif
