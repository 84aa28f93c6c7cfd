/* check_cli_url.c: unit tests for the hpool command's pure parts: a
 * Location resolved as curl follows it (cli/url.c, RFC 3986's examples),
 * origins, percent-encoding, -w's expansion (cli/writeout.c) and the
 * escaping of a server's text for a terminal (cli/termsafe.c). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../cli/cli.h"
#include "check_run.h"

#define BASE	"http://a/b/c/d;p?q"

/* RFC 3986, 5.4.1 and 5.4.2; fragments are dropped, as a request never
 * carries one. */
static const struct {
	const char	*ref;
	const char	*want;
} resolve_cases[] = {
	{ "g", "http://a/b/c/g" }, { "./g", "http://a/b/c/g" },
	{ "g/", "http://a/b/c/g/" }, { "/g", "http://a/g" },
	{ "//g", "http://g" }, { "?y", "http://a/b/c/d;p?y" },
	{ "g?y", "http://a/b/c/g?y" }, { "#s", "http://a/b/c/d;p?q" },
	{ "g#s", "http://a/b/c/g" }, { "g?y#s", "http://a/b/c/g?y" },
	{ ";x", "http://a/b/c/;x" }, { "g;x", "http://a/b/c/g;x" },
	{ "", "http://a/b/c/d;p?q" }, { ".", "http://a/b/c/" },
	{ "./", "http://a/b/c/" }, { "..", "http://a/b/" },
	{ "../", "http://a/b/" }, { "../g", "http://a/b/g" },
	{ "../..", "http://a/" }, { "../../", "http://a/" },
	{ "../../g", "http://a/g" }, { "../../../g", "http://a/g" },
	{ "../../../../g", "http://a/g" }, { "/./g", "http://a/g" },
	{ "/../g", "http://a/g" }, { "g.", "http://a/b/c/g." },
	{ ".g", "http://a/b/c/.g" }, { "g..", "http://a/b/c/g.." },
	{ "..g", "http://a/b/c/..g" }, { "./../g", "http://a/b/g" },
	{ "./g/.", "http://a/b/c/g/" }, { "g/./h", "http://a/b/c/g/h" },
	{ "g/../h", "http://a/b/c/h" }, { "g;x=1/./y", "http://a/b/c/g;x=1/y" },
	{ "g;x=1/../y", "http://a/b/c/y" }, { "g?y/./x", "http://a/b/c/g?y/./x" },
	{ "https://other:8443/x?y#z", "https://other:8443/x?y" },
};

START_TEST(test_resolve)
{
	char *got;

	got = url_resolve(BASE, resolve_cases[_i].ref);
	ck_assert_ptr_nonnull(got);
	ck_assert_msg(strcmp(got, resolve_cases[_i].want) == 0,
	    "'%s' against " BASE ": got '%s', want '%s'",
	    resolve_cases[_i].ref, got, resolve_cases[_i].want);
	free(got);
}
END_TEST

START_TEST(test_resolve_no_path)
{
	char *got = url_resolve("http://h:8080", "x/y");

	ck_assert_str_eq(got, "http://h:8080/x/y");
	free(got);
	got = url_resolve("http://h:8080?q", "?r");
	ck_assert_str_eq(got, "http://h:8080?r");
	free(got);
}
END_TEST

START_TEST(test_origin)
{
	ck_assert(url_same_origin("http://H:80/a", "http://h/b"));
	ck_assert(url_same_origin("https://h/a", "https://h:443/"));
	ck_assert(!url_same_origin("http://h/a", "https://h/a"));
	ck_assert(!url_same_origin("http://h:81/", "http://h/"));
	ck_assert(!url_same_origin("http://127.0.0.1:8/", "http://localhost:8/"));
	ck_assert(url_same_origin("http://[::1]/", "http://[::1]:80/"));
	ck_assert(url_same_origin("http://u:p@h/", "http://h:80/x"));
}
END_TEST

START_TEST(test_userinfo)
{
	char out[64];

	ck_assert_int_eq(url_userinfo("http://h/a@b", out, sizeof(out)), 0);
	ck_assert_int_eq(url_userinfo("http://u%40x:p%3A@h:1/", out,
	    sizeof(out)), 1);
	ck_assert_str_eq(out, "u@x:p:");
	ck_assert_int_eq(url_userinfo("https://a:b@c@h/", out, sizeof(out)), 1);
	ck_assert_str_eq(out, "a:b@c");
	ck_assert_int_eq(url_userinfo("http://a%00:b@h/", out, sizeof(out)),
	    -1);
	ck_assert_int_eq(url_userinfo("http://aaaaaaaa:b@h/", out, 8), -1);
}
END_TEST

START_TEST(test_escape)
{
	char *buf = NULL;
	size_t len = 0;

	url_escape_append(&buf, &len, "a b&c=d~-._\xff\n", 14, 1);
	ck_assert_str_eq(buf, "a+b%26c%3Dd~-._%FF%0A%00");
	free(buf);
	buf = NULL;
	len = 0;
	url_escape_append(&buf, &len, "a b", 3, 0);
	ck_assert_str_eq(buf, "a%20b");
	free(buf);
}
END_TEST

static char *
expand(const char *fmt, const struct xfer *x)
{
	char *out = NULL;
	size_t n = 0;
	FILE *fp = open_memstream(&out, &n);

	ck_assert_ptr_nonnull(fp);
	ck_assert_int_eq(writeout(fmt, x, fp), 0);
	fclose(fp);
	return out;
}

START_TEST(test_writeout)
{
	struct hpool_header h[] = { { "Content-Type", "text/x" } };
	struct xfer x;
	char *out;

	memset(&x, 0, sizeof(x));
	x.url = "http://h/a";
	x.status = 204;
	x.http_version = 11;
	x.size_download = 42;
	x.t_total = 1.5;
	x.hdrs = h;
	x.nhdrs = 1;
	x.method = "GET";
	out = expand("%{http_code} %{response_code} %{size_download} "
	    "%{http_version} %{time_total} %{url_effective} "
	    "%header{content-type}|%{redirect_url}|%%\\n\\t\\x%{", &x);
	ck_assert_str_eq(out, "204 204 42 1.1 1.500000 http://h/a text/x||%"
	    "\n\t\\x%{");
	free(out);
	out = expand("a%{onerror}b", &x);
	ck_assert_str_eq(out, "a");
	free(out);
	x.exitcode = 7;
	snprintf(x.errormsg, sizeof(x.errormsg), "say \"no\"\n");
	out = expand("a%{onerror}b %{exitcode}", &x);
	ck_assert_str_eq(out, "ab 7");
	free(out);
	out = expand("%{json}", &x);
	ck_assert_ptr_nonnull(strstr(out, "\"errormsg\":\"say \\\"no\\\"\\n\""));
	ck_assert_ptr_nonnull(strstr(out, "\"content_type\":null"));
	ck_assert_ptr_nonnull(strstr(out, "\"http_code\":204,"));
	ck_assert_ptr_nonnull(strstr(out, "\"http_version\":\"1.1\""));
	free(out);
}
END_TEST

START_TEST(test_termsafe)
{
	char *out = NULL;
	size_t n = 0;
	FILE *fp = open_memstream(&out, &n);

	termsafe_write(fp, "ok\x1b[2J\tx\x7f\x07\r\n\xc3\xa9", 14, 1);
	termsafe_write(fp, "\x1b", 1, 0);
	fclose(fp);
	ck_assert_str_eq(out, "ok\\x1b[2J\tx\\x7f\\x07\\x0d\\x0a\xc3\xa9\x1b");
	free(out);
	ck_assert(termsafe_binary("a\0b", 3));
	ck_assert(!termsafe_binary("\x1b\x01\xff", 3));
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("cli");
	TCase *tc = tcase_create("cli");

	tcase_add_loop_test(tc, test_resolve, 0,
	    (int)(sizeof(resolve_cases) / sizeof(resolve_cases[0])));
	tcase_add_test(tc, test_resolve_no_path);
	tcase_add_test(tc, test_origin);
	tcase_add_test(tc, test_userinfo);
	tcase_add_test(tc, test_escape);
	tcase_add_test(tc, test_writeout);
	tcase_add_test(tc, test_termsafe);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(suite());
}
