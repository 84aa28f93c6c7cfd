/*
 * api_examples.c: the calling patterns of docs/api.md (the reference
 * documentation's examples: GET read whole and in pieces, HEAD, POST
 * with form data, PUT) and the other body kinds, run against a real
 * server through hpoold by tests/integration/test_api_examples.py.
 *
 * usage: api_examples HOST PORT FILEPATH   (hpoold's socket: $HPOOL_SOCKET)
 * Prints one `name: value` line per result; exits 1 on an error.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hpool.h"

static int	fail(hpool_conn *, const char *);
static int	body_next(void *, const void **, size_t *);

static int
fail(hpool_conn *conn, const char *what)
{
	const struct hpool_error *e = hpool_conn_error(conn);

	printf("error: %s: %s: %s\n", what, hpool_error_name(e->code),
	    e->message);
	return 1;
}

/* An iterable body: three pieces. */
static int
body_next(void *arg, const void **data, size_t *len)
{
	static const char *const parts[] = { "one,", "two,", "three" };
	int *i = arg;

	if (*i >= 3) {
		*data = NULL;
		return HPOOL_OK;
	}
	*data = parts[*i];
	*len = strlen(parts[*i]);
	(*i)++;
	return HPOOL_OK;
}

int
main(int argc, char **argv)
{
	struct hpool_header headers[] = {
		{ "Content-type", "application/x-www-form-urlencoded" },
		{ "Accept", "text/plain" },
	};
	const char *params = "%40number=12524&%40type=issue&%40action=show";
	hpool_conn *conn;
	hpool_response *r1;
	char *data, buf[200];
	size_t len, n, total;
	int fd, i = 0;

	if (argc != 4)
		return 2;
	if (hpool_conn_new(&conn, argv[1], atoi(argv[2]), NULL, NULL) !=
	    HPOOL_OK)
		return 1;

	/* GET: read() whole, then read(200) until b'' */
	if (hpool_conn_request(conn, "GET", "/files/page", NULL, 0, NULL, 0)
	    != HPOOL_OK || hpool_conn_getresponse(conn, &r1) != HPOOL_OK)
		return fail(conn, "GET");
	printf("get: %d %s\n", hpool_response_status(r1),
	    hpool_response_reason(r1));
	if (hpool_response_readall(r1, &data, &len) != HPOOL_OK)
		return fail(conn, "read");
	printf("get-read: %zu\n", len);
	free(data);
	hpool_response_free(r1);
	if (hpool_conn_request(conn, "GET", "/files/page", NULL, 0, NULL, 0)
	    != HPOOL_OK || hpool_conn_getresponse(conn, &r1) != HPOOL_OK)
		return fail(conn, "GET");
	total = 0;
	while (!hpool_response_closed(r1)) {
		if (hpool_response_read(r1, buf, sizeof(buf), &n) != HPOOL_OK)
			return fail(conn, "read(200)");
		total += n;
	}
	printf("get-read200: %zu\n", total);
	hpool_response_free(r1);
	/* an invalid request */
	if (hpool_conn_request(conn, "GET", "/parrot.spam", NULL, 0, NULL, 0)
	    != HPOOL_OK || hpool_conn_getresponse(conn, &r1) != HPOOL_OK)
		return fail(conn, "GET 404");
	printf("get-404: %d %s\n", hpool_response_status(r1),
	    hpool_response_reason(r1));
	if (hpool_response_readall(r1, &data, &len) != HPOOL_OK)
		return fail(conn, "read 404");
	free(data);
	hpool_response_free(r1);

	/* HEAD */
	if (hpool_conn_request(conn, "HEAD", "/files/page", NULL, 0, NULL, 0)
	    != HPOOL_OK || hpool_conn_getresponse(conn, &r1) != HPOOL_OK)
		return fail(conn, "HEAD");
	if (hpool_response_readall(r1, &data, &len) != HPOOL_OK)
		return fail(conn, "HEAD read");
	printf("head: %d %s %zu\n", hpool_response_status(r1),
	    hpool_response_reason(r1), len);
	free(data);
	hpool_response_free(r1);

	/* POST with form data (a str body) */
	if (hpool_conn_request_text(conn, "POST", "/echo", params, headers, 2)
	    != HPOOL_OK || hpool_conn_getresponse(conn, &r1) != HPOOL_OK)
		return fail(conn, "POST");
	if (hpool_response_readall(r1, &data, &len) != HPOOL_OK)
		return fail(conn, "POST read");
	printf("post: %d %s %s\n", hpool_response_status(r1),
	    hpool_response_reason(r1), data);
	free(data);
	hpool_response_free(r1);

	/* PUT */
	if (hpool_conn_request_text(conn, "PUT", "/echo", "***filecontents***",
	    NULL, 0) != HPOOL_OK || hpool_conn_getresponse(conn, &r1) !=
	    HPOOL_OK)
		return fail(conn, "PUT");
	if (hpool_response_readall(r1, &data, &len) != HPOOL_OK)
		return fail(conn, "PUT read");
	printf("put: %d %s %s\n", hpool_response_status(r1),
	    hpool_response_reason(r1), data);
	free(data);
	hpool_response_free(r1);

	/* a file body (Content-Length from fstat) and an iterable (chunked) */
	if ((fd = open(argv[3], O_RDONLY)) == -1)
		return 1;
	if (hpool_conn_request_fd(conn, "PUT", "/sum", fd, NULL, 0) !=
	    HPOOL_OK || hpool_conn_getresponse(conn, &r1) != HPOOL_OK)
		return fail(conn, "PUT file");
	close(fd);
	printf("put-file: %s %s\n", hpool_response_getheader(r1,
	    "X-Echo-Length", "?"), hpool_response_getheader(r1,
	    "X-Echo-Sha256", "?"));
	hpool_response_free(r1);
	if (hpool_conn_request_iter(conn, "POST", "/echo", body_next, &i, NULL,
	    0) != HPOOL_OK || hpool_conn_getresponse(conn, &r1) != HPOOL_OK)
		return fail(conn, "POST iterable");
	if (hpool_response_readall(r1, &data, &len) != HPOOL_OK)
		return fail(conn, "POST iterable read");
	printf("post-iter: %s\n", data);
	free(data);
	hpool_response_free(r1);
	hpool_conn_free(conn);
	return 0;
}
