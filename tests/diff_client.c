/*
 * diff_client.c: the libhpool side of the differential harness
 * (tests/integration/test_diff_api.py). It runs one sequence of
 * http.client calls against http://127.0.0.1:PORT/ through hpoold and
 * prints each outcome as one line in the format the harness prints for
 * python3's http.client, so the two can be compared line by line.
 *
 * usage: diff_client PORT METHOD OP...   (hpoold's socket: $HPOOL_SOCKET)
 *   debug             set_debuglevel(1) (its lines go to stdout too)
 *   request           request(METHOD, "/")
 *   getresponse       getresponse(), then the head
 *   read              read()
 *   readloop:N        read(N) until b'' or an exception
 *   readintoloop:N    readinto(bytearray(N)) until 0 or an exception
 *   readlineloop:N    readline(N) until b'' or an exception
 *   read1all:N        read1(N) until b'' or an exception, the bytes
 *                     joined (how many each call gives is buffering's
 *                     business, on both sides)
 *   lines             for line in resp
 *   getheader:NAME[:DEFAULT]  getheaderv:NAME:A,B (a list default)
 *   msgget:NAME  getall:NAME  isclosed  length  chunked  willclose
 *   putrequest  putheader:NAME:VALUE  putheaderint:NAME:N  endheaders
 *   close (resp.close())  connclose (conn.close())
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hpool.h"

/* Bodies longer than this are printed as a length and a hash. */
#define SHOW_MAX	256
#define LOOP_MAX	(1 << 20)

static void	put_esc(const void *, size_t);
static void	put_bytes(const char *, const void *, size_t);
static void	put_err(const char *, const struct hpool_error *);
static void	put_head(hpool_response *);
static void	read1_all(const char *, size_t);
static int	run_op(const char *);

static hpool_conn *conn;
static hpool_response *resp;
static const char *method;

/* C-style escapes, as the harness's esc() writes them. */
static void
put_esc(const void *p, size_t len)
{
	const unsigned char *s = p;
	size_t i;

	for (i = 0; i < len; i++) {
		if (s[i] == '\\')
			fputs("\\\\", stdout);
		else if (s[i] == '\r')
			fputs("\\r", stdout);
		else if (s[i] == '\n')
			fputs("\\n", stdout);
		else if (s[i] == '\t')
			fputs("\\t", stdout);
		else if (s[i] >= 0x20 && s[i] < 0x7f)
			putchar(s[i]);
		else
			printf("\\x%02x", s[i]);
	}
}

/* "what: b<escaped>" or, when long, its length and FNV-1a hash. */
static void
put_bytes(const char *what, const void *p, size_t len)
{
	const unsigned char *s = p;
	uint64_t h = 14695981039346656037ULL;
	size_t i;

	if (len <= SHOW_MAX) {
		printf("%s: b", what);
		put_esc(p, len);
		putchar('\n');
		return;
	}
	for (i = 0; i < len; i++) {
		h ^= s[i];
		h *= 1099511628211ULL;
	}
	printf("%s: %zu bytes fnv %016llx\n", what, len,
	    (unsigned long long)h);
}

static void
put_err(const char *what, const struct hpool_error *e)
{
	printf("%s: ERR %s: ", what, hpool_error_name(e->code));
	put_esc(e->message, strlen(e->message));
	putchar('\n');
	if (e->code == HPOOL_E_INCOMPLETE_READ) {
		printf("%s: partial %llu expected ", what,
		    (unsigned long long)e->partial);
		if (e->expected < 0)
			printf("None\n");
		else
			printf("%lld\n", (long long)e->expected);
	}
}

static void
put_head(hpool_response *r)
{
	const struct hpool_header *hs;
	size_t n, i;

	printf("version %d\nstatus %d\nreason ", hpool_response_version(r),
	    hpool_response_status(r));
	put_esc(hpool_response_reason(r), strlen(hpool_response_reason(r)));
	putchar('\n');
	n = hpool_response_getheaders(r, &hs);
	for (i = 0; i < n; i++) {
		printf("header ");
		put_esc(hs[i].name, strlen(hs[i].name));
		printf(": ");
		put_esc(hs[i].value, strlen(hs[i].value));
		putchar('\n');
	}
}

/* Read calls that stop at b'' or at an exception. */
static void
read_loop(const char *op, int kind, size_t amt)
{
	char *buf, *line;
	size_t n;
	int rc, i;

	if ((buf = malloc(amt + 1)) == NULL)
		exit(2);
	for (i = 0; i < LOOP_MAX; i++) {
		if (kind == 'l') {
			rc = hpool_response_next_line(resp, &line, &n);
			if (rc == HPOOL_OK && line == NULL) {
				printf("%s: StopIteration\n", op);
				break;
			}
			if (rc == HPOOL_OK) {
				put_bytes(op, line, n);
				free(line);
				continue;
			}
		} else if (kind == 'r')
			rc = hpool_response_read(resp, buf, amt, &n);
		else if (kind == 'i')
			rc = hpool_response_readinto(resp, buf, amt, &n);
		else
			rc = hpool_response_readline(resp, buf, amt, &n);
		if (rc != HPOOL_OK) {
			put_err(op, hpool_response_error(resp));
			break;
		}
		put_bytes(op, buf, n);
		if (n == 0)
			break;
	}
	free(buf);
}

static void
read1_all(const char *op, size_t amt)
{
	char *buf, *all;
	size_t n, have = 0;
	int i;

	if ((buf = malloc(amt + 1)) == NULL ||
	    (all = malloc(LOOP_MAX)) == NULL)
		exit(2);
	for (i = 0; i < LOOP_MAX; i++) {
		if (hpool_response_read1(resp, buf, amt, &n) != HPOOL_OK) {
			put_bytes(op, all, have);
			put_err(op, hpool_response_error(resp));
			break;
		}
		if (n == 0 || n > amt || have + n > LOOP_MAX) {
			if (n > amt || have + n > LOOP_MAX)
				printf("%s: read1 gave %zu bytes\n", op, n);
			put_bytes(op, all, have);
			break;
		}
		memcpy(all + have, buf, n);
		have += n;
	}
	free(buf);
	free(all);
}

static int
run_op(const char *op)
{
	char name[256], *arg, *dflt;
	const char *v, *vals[8], *list[8];
	size_t n, i;
	char *body;
	int rc;

	snprintf(name, sizeof(name), "%s", op);
	if ((arg = strchr(name, ':')) != NULL)
		*arg++ = '\0';
	if (strcmp(name, "debug") == 0)
		hpool_conn_set_debuglevel(conn, 1);
	else if (strcmp(name, "request") == 0) {
		if ((rc = hpool_conn_request(conn, method, "/", NULL, 0, NULL,
		    0)) != HPOOL_OK)
			put_err(name, hpool_conn_error(conn));
		else
			printf("request: ok\n");
	} else if (strcmp(name, "getresponse") == 0) {
		hpool_response *r;

		if (hpool_conn_getresponse(conn, &r) != HPOOL_OK)
			put_err(name, hpool_conn_error(conn));
		else {
			printf("getresponse: ok\n");
			put_head(r);
			if (resp != NULL)
				hpool_response_free(resp);
			resp = r;
		}
	} else if (strcmp(name, "putrequest") == 0) {
		if (hpool_conn_putrequest(conn, method, "/", 0, 0) != HPOOL_OK)
			put_err(name, hpool_conn_error(conn));
		else
			printf("putrequest: ok\n");
	} else if (strcmp(name, "putheader") == 0 ||
	    strcmp(name, "putheaderint") == 0) {
		if (arg == NULL || (dflt = strchr(arg, ':')) == NULL)
			return -1;
		*dflt++ = '\0';
		if (strcmp(name, "putheader") == 0)
			rc = hpool_conn_putheader(conn, arg, dflt);
		else
			rc = hpool_conn_putheader_long(conn, arg,
			    strtol(dflt, NULL, 10));
		if (rc != HPOOL_OK)
			put_err(name, hpool_conn_error(conn));
		else
			printf("%s: ok\n", name);
	} else if (strcmp(name, "endheaders") == 0) {
		if (hpool_conn_endheaders(conn, NULL, 0) != HPOOL_OK)
			put_err(name, hpool_conn_error(conn));
		else
			printf("endheaders: ok\n");
	} else if (strcmp(name, "connclose") == 0) {
		hpool_conn_close(conn);
		printf("connclose: ok\n");
	} else if (resp == NULL) {
		printf("%s: no response\n", name);
	} else if (strcmp(name, "read") == 0) {
		if ((rc = hpool_response_readall(resp, &body, &n)) != HPOOL_OK)
			put_err(name, hpool_response_error(resp));
		else
			put_bytes(name, body, n);
		free(body);
	} else if (strcmp(name, "readloop") == 0 && arg != NULL)
		read_loop(op, 'r', strtoul(arg, NULL, 10));
	else if (strcmp(name, "readintoloop") == 0 && arg != NULL)
		read_loop(op, 'i', strtoul(arg, NULL, 10));
	else if (strcmp(name, "readlineloop") == 0 && arg != NULL)
		read_loop(op, 'n', strtoul(arg, NULL, 10));
	else if (strcmp(name, "read1all") == 0 && arg != NULL)
		read1_all(op, strtoul(arg, NULL, 10));
	else if (strcmp(name, "lines") == 0)
		read_loop(op, 'l', 0);
	else if (strcmp(name, "getheader") == 0 && arg != NULL) {
		if ((dflt = strchr(arg, ':')) != NULL)
			*dflt++ = '\0';
		v = hpool_response_getheader(resp, arg, dflt);
		printf("%s= ", op);
		if (v == NULL)
			printf("None");
		else
			put_esc(v, strlen(v));
		putchar('\n');
	} else if (strcmp(name, "getheaderv") == 0 && arg != NULL) {
		if ((dflt = strchr(arg, ':')) == NULL)
			return -1;
		*dflt++ = '\0';
		for (n = 0; n < 8 && dflt != NULL; n++) {
			list[n] = dflt;
			if ((dflt = strchr(dflt, ',')) != NULL)
				*dflt++ = '\0';
		}
		v = hpool_response_getheaderv(resp, arg, list, n);
		printf("%s= ", op);
		put_esc(v, strlen(v));
		putchar('\n');
	} else if (strcmp(name, "msgget") == 0 && arg != NULL) {
		v = hpool_message_get(hpool_response_msg(resp), arg, NULL);
		printf("%s= ", op);
		if (v == NULL)
			printf("None");
		else
			put_esc(v, strlen(v));
		putchar('\n');
	} else if (strcmp(name, "getall") == 0 && arg != NULL) {
		n = hpool_message_get_all(hpool_response_msg(resp), arg, vals,
		    8);
		if (n == 0)
			printf("%s= None\n", op);
		for (i = 0; i < n && i < 8; i++) {
			printf("%s= ", op);
			put_esc(vals[i], strlen(vals[i]));
			putchar('\n');
		}
	} else if (strcmp(name, "isclosed") == 0)
		printf("isclosed: %d\n", hpool_response_isclosed(resp));
	else if (strcmp(name, "chunked") == 0)
		printf("chunked: %d\n", hpool_response_chunked(resp));
	else if (strcmp(name, "willclose") == 0)
		printf("willclose: %d\n", hpool_response_will_close(resp));
	else if (strcmp(name, "length") == 0) {
		if (hpool_response_length(resp) < 0)
			printf("length: None\n");
		else
			printf("length: %lld\n",
			    (long long)hpool_response_length(resp));
	} else if (strcmp(name, "close") == 0) {
		hpool_response_close(resp);
		printf("close: ok\n");
	} else
		return -1;
	return 0;
}

int
main(int argc, char **argv)
{
	struct hpool_conn_opts o = HPOOL_CONN_OPTS_INIT;
	struct hpool_error e;
	int i;

	if (argc < 3) {
		fprintf(stderr, "usage: diff_client PORT METHOD OP...\n");
		return 2;
	}
	method = argv[2];
	o.timeout = 10;
	if (hpool_conn_new(&conn, "127.0.0.1", atoi(argv[1]), &o, &e) !=
	    HPOOL_OK) {
		put_err("new", &e);
		return 1;
	}
	for (i = 3; i < argc; i++)
		if (run_op(argv[i]) == -1) {
			fprintf(stderr, "diff_client: bad op %s\n", argv[i]);
			return 2;
		}
	hpool_response_free(resp);
	hpool_conn_free(conn);
	return 0;
}
