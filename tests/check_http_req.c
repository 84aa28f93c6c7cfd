/* check_http_req.c: unit tests for daemon/http_req.c: what a request's
 * head means for the connection it goes on (framing, retry, reuse,
 * connection-bound credentials) and the head hpoold writes upstream. */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "http_req.h"
#include "check_run.h"

static struct proto_req_head head;

/* A head from "Name: value" strings, NULL-terminated. */
static void
mk(const char *method, ...)
{
	va_list ap;
	const char *h;
	size_t i = 0;

	memset(&head, 0, sizeof(head));
	head.method.p = method;
	head.method.len = strlen(method);
	head.url.p = "/";
	head.url.len = 1;
	va_start(ap, method);
	while ((h = va_arg(ap, const char *)) != NULL) {
		const char *colon = strchr(h, ':');

		head.headers[i].name.p = h;
		head.headers[i].name.len = (size_t)(colon - h);
		head.headers[i].value.p = colon + 2;
		head.headers[i].value.len = strlen(colon + 2);
		i++;
	}
	va_end(ap);
	head.nheaders = i;
}

static struct req_check
checked(void)
{
	struct req_check rc;

	ck_assert_int_eq(req_check(&head, &rc), 0);
	return rc;
}

START_TEST(idempotent_methods_and_keys)
{
	static const char *const yes[] = { "GET", "HEAD", "OPTIONS", "PUT",
	    "DELETE", "TRACE" };
	static const char *const no[] = { "POST", "PATCH", "CONNECT",
	    "get", "PROPFIND" };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		mk(yes[i], NULL);
		ck_assert_msg(checked().idempotent, "%s", yes[i]);
	}
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		mk(no[i], NULL);
		ck_assert_msg(!checked().idempotent, "%s", no[i]);
	}
	mk("POST", "Idempotency-Key: 8e03978e", NULL);
	ck_assert(checked().idempotent);
	mk("PATCH", "x-idempotency-key: a", NULL);
	ck_assert(checked().idempotent);
	mk("POST", "Idempotency-Keys: a", NULL);
	ck_assert(!checked().idempotent);
}
END_TEST

START_TEST(body_on_bodyless_methods_not_reused)
{
	static const char *const m[] = { "GET", "HEAD", "DELETE", "OPTIONS",
	    "TRACE" };
	size_t i;

	for (i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		mk(m[i], "Content-Length: 5", NULL);
		ck_assert_msg(checked().no_reuse, "%s with a length", m[i]);
		mk(m[i], "Transfer-Encoding: chunked", NULL);
		ck_assert_msg(checked().no_reuse, "%s chunked", m[i]);
		mk(m[i], NULL);
		ck_assert_msg(!checked().no_reuse, "%s without a body", m[i]);
		/* Content-Length: 0 hides nothing */
		mk(m[i], "Content-Length: 0", NULL);
		ck_assert_msg(!checked().no_reuse, "%s with length 0", m[i]);
	}
	mk("POST", "Content-Length: 5", NULL);
	ck_assert(!checked().no_reuse);
	mk("PUT", "Transfer-Encoding: chunked", NULL);
	ck_assert(!checked().no_reuse);
}
END_TEST

START_TEST(connect_is_never_reused)
{
	struct req_check rc;

	mk("CONNECT", "Host: example.invalid:443", NULL);
	rc = checked();
	ck_assert(rc.is_connect);
	ck_assert(rc.no_reuse);
	ck_assert(!rc.idempotent);
	mk("GET", NULL);
	ck_assert(!checked().is_connect);
}
END_TEST

START_TEST(connection_bound_credentials)
{
	mk("GET", "Authorization: NTLM TlRMTVNTUAABAAAAB4IIog==", NULL);
	ck_assert(checked().conn_auth);
	mk("GET", "authorization: negotiate YIIGhgYGKwYBBQUC", NULL);
	ck_assert(checked().conn_auth);
	mk("GET", "Proxy-Authorization: NTLM abc", NULL);
	ck_assert(checked().conn_auth);
	mk("GET", "Authorization: Basic dTpw", NULL);
	ck_assert(!checked().conn_auth);
	mk("GET", "Authorization: Bearer NTLM", NULL);
	ck_assert(!checked().conn_auth);
	mk("GET", "X-Authorization: NTLM abc", NULL);
	ck_assert(!checked().conn_auth);
}
END_TEST

static int
bound(const char *v)
{
	return req_auth_conn_bound(v, strlen(v));
}

START_TEST(challenges)
{
	ck_assert(bound("NTLM"));
	ck_assert(bound("Negotiate"));
	ck_assert(bound("negotiate abc=="));
	ck_assert(bound("Basic realm=\"x\", NTLM"));
	ck_assert(bound("Basic realm=\"x\",Negotiate"));
	ck_assert(bound("  ntlm  "));
	ck_assert(!bound("Basic realm=\"NTLMish\""));
	ck_assert(!bound("NTLMv2"));
	ck_assert(!bound("Negotiated"));
	ck_assert(!bound("Bearer"));
	ck_assert(!bound(""));
	/* a comma inside a quoted value: erring toward private is safe */
	ck_assert(bound("Basic realm=\"a, NTLM b\""));
}
END_TEST

static char *
written_as(int close, const struct req_form *f)
{
	struct evbuffer *b = evbuffer_new();
	size_t n;
	char *s;

	ck_assert_int_eq(req_write_head(b, &head, close, f), 0);
	n = evbuffer_get_length(b);
	s = malloc(n + 1);
	evbuffer_remove(b, s, n);
	s[n] = '\0';
	evbuffer_free(b);
	return s;
}

static char *
written(int close)
{
	return written_as(close, NULL);
}

START_TEST(connection_close_replaces_the_callers)
{
	char *s;

	mk("GET", "Host: a", "Connection: keep-alive", "Content-Length: 3",
	    "connection: Upgrade", NULL);
	s = written(1);
	ck_assert_str_eq(s, "GET / HTTP/1.1\r\nConnection: close\r\n"
	    "Host: a\r\nContent-Length: 3\r\n\r\n");
	free(s);
	s = written(0);
	ck_assert_str_eq(s, "GET / HTTP/1.1\r\nHost: a\r\nConnection: "
	    "keep-alive\r\nContent-Length: 3\r\nconnection: Upgrade\r\n\r\n");
	free(s);
}
END_TEST

START_TEST(absolute_form)
{
	struct proto_header auth = {
		{ "Proxy-Authorization", 19 }, { "Basic Y29ycDpz", 14 } };
	struct req_form f = { "http://127.0.0.1:8080", "127.0.0.1:8080",
	    &auth };
	struct proto_str u;
	char *s;

	/* the prefix before a path, the caller's Host kept, the daemon's
	 * Proxy-Authorization in place of the caller's, the rest untouched */
	mk("GET", "Host: a.test", "proxy-authorization: Basic Zm9yZ2Vk",
	    "Accept: */*", NULL);
	head.url.p = "/p?q=1";
	head.url.len = 6;
	s = written_as(0, &f);
	ck_assert_str_eq(s, "GET http://127.0.0.1:8080/p?q=1 HTTP/1.1\r\n"
	    "Host: a.test\r\nAccept: */*\r\nProxy-Authorization: Basic "
	    "Y29ycDpz\r\n\r\n");
	free(s);
	/* no Host from the caller: the target's; Connection: close still
	 * replaces the caller's */
	mk("POST", "Connection: keep-alive", "Content-Length: 0", NULL);
	s = written_as(1, &f);
	ck_assert_str_eq(s, "POST http://127.0.0.1:8080/ HTTP/1.1\r\n"
	    "Host: 127.0.0.1:8080\r\nConnection: close\r\nContent-Length: "
	    "0\r\nProxy-Authorization: Basic Y29ycDpz\r\n\r\n");
	free(s);
	/* an absolute URL goes as it is; no extra header: the caller's
	 * Proxy-Authorization stays */
	f.extra = NULL;
	mk("GET", "Proxy-Authorization: Basic Zm9v", NULL);
	head.url.p = "http://b.test/x";
	head.url.len = 15;
	s = written_as(0, &f);
	ck_assert_str_eq(s, "GET http://b.test/x HTTP/1.1\r\nHost: "
	    "127.0.0.1:8080\r\nProxy-Authorization: Basic Zm9v\r\n\r\n");
	free(s);

	u.p = "/x"; u.len = 2;
	ck_assert(req_form_url_ok(&u));
	u.p = "HTTP://b.test/"; u.len = 14;
	ck_assert(req_form_url_ok(&u));
	u.p = "*"; u.len = 1;
	ck_assert(!req_form_url_ok(&u));
	u.p = "https://b.test/"; u.len = 15;
	ck_assert(!req_form_url_ok(&u));
	u.p = "b.test/x"; u.len = 8;
	ck_assert(!req_form_url_ok(&u));
}
END_TEST

static Suite *
http_req_suite(void)
{
	Suite *s = suite_create("http_req");
	TCase *tc = tcase_create("meaning");

	tcase_add_test(tc, idempotent_methods_and_keys);
	tcase_add_test(tc, body_on_bodyless_methods_not_reused);
	tcase_add_test(tc, connect_is_never_reused);
	tcase_add_test(tc, connection_bound_credentials);
	tcase_add_test(tc, challenges);
	tcase_add_test(tc, connection_close_replaces_the_callers);
	tcase_add_test(tc, absolute_form);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(http_req_suite());
}
