/* check_config.c: unit tests for daemon/config.c: the errors of
 * config_parse (the line each is about, the first one kept, what is
 * expected) and the lines config_changes writes for a reload. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "check_run.h"

static char err[1024];

/* config_parse of text as "t.conf": 0 or -1, err filled. */
static int
parse(struct config *c, const char *text)
{
	config_defaults(c);
	return config_parse(c, text, "t.conf", err, sizeof(err));
}

static void
refused(const char *text, const char *want)
{
	struct config c;

	ck_assert_int_eq(parse(&c, text), -1);
	ck_assert_str_eq(err, want);
}

START_TEST(first_error_with_its_own_line)
{
	/* inih goes on after an error: the text was the last one's, the
	 * line the first one's */
	refused("[hpoold]\nfoo = 1\nbar = 2\n",
	    "t.conf:2: unknown setting 'foo' in [hpoold] (hpoold.conf(5) "
	    "lists them)");
	refused("[hpoold]\nmax_per_host = 0\nmax_queue = -1\n",
	    "t.conf:2: max_per_host: '0' is not a number from 1 to 65535");
	refused("[hpoold]\nworkers = 0\n[hpoold\n",
	    "t.conf:2: workers: '0' is not a number from 1 to 64 or auto");
	/* the value's control bytes are not echoed */
	refused("[hpoold]\nmax_queue = \033[31mred\n",
	    "t.conf:2: max_queue: '?[31mred' is not a number from 0 to "
	    "1000000");
}
END_TEST

START_TEST(syntax_errors_named)
{
	refused("[hpoold]\n[policy\n",
	    "t.conf:2: section header '[policy' has no closing ']': a "
	    "section is [NAME]");
	refused("[hpoold ; x]\n",
	    "t.conf:1: section header '[hpoold ; x]': a ';' comment starts "
	    "before its ']': a section is [NAME]");
	refused("[hpoold]\nworkers\n",
	    "t.conf:2: 'workers' is not a setting: a setting is NAME = "
	    "VALUE");
	/* control bytes of the line are not echoed */
	refused("[hpoold]\nwork\033[2Jers\n",
	    "t.conf:2: 'work?[2Jers' is not a setting: a setting is NAME = "
	    "VALUE");
	/* the syntax error comes first */
	refused("[hpoold]\nworkers\nfoo = 1\n",
	    "t.conf:2: 'workers' is not a setting: a setting is NAME = "
	    "VALUE");
}
END_TEST

START_TEST(long_lines_refused_lines_counted)
{
	char text[1024];

	snprintf(text, sizeof(text), "[hpoold]\n# %0300d\nfoo = 1\n", 0);
	refused(text, "t.conf:2: a line holds at most 199 bytes, this one "
	    "302");
	/* 199 bytes fit; the line after it keeps its number */
	snprintf(text, sizeof(text), "[hpoold]\n#%0198d\nfoo = 1\n", 0);
	refused(text, "t.conf:3: unknown setting 'foo' in [hpoold] "
	    "(hpoold.conf(5) lists them)");
	/* CRLF lines count as lines */
	refused("[hpoold]\r\n\r\nmax_queue = x\r\n",
	    "t.conf:3: max_queue: 'x' is not a number from 0 to 1000000");
}
END_TEST

START_TEST(given_twice)
{
	struct config c;

	refused("[hpoold]\nworkers = 2\n\nworkers = 2\n",
	    "t.conf:4: [hpoold] workers: '2' given a second time (first at "
	    "line 2): workers is given once");
	refused("[hpoold]\nproxy = http://127.0.0.1:1\nproxy = "
	    "http://127.0.0.1:2\n",
	    "t.conf:3: [hpoold] proxy: 'http://127.0.0.1:2' given a second "
	    "time (first at line 2): proxy is given once");
	refused("[proxy a]\nurl = http://127.0.0.1:1\n[proxy b]\nurl = "
	    "http://127.0.0.1:2\n[proxy\ta]\nforward = absolute\nurl = "
	    "http://127.0.0.1:3\n",
	    "t.conf:7: [proxy a] url: 'http://127.0.0.1:3' given a second "
	    "time (first at line 2): url is given once");
	/* the same name in two sections is two settings */
	ck_assert_int_eq(parse(&c, "[proxy a]\nurl = http://127.0.0.1:1\n"
	    "[proxy b]\nurl = http://127.0.0.1:2\n"), 0);
	config_release(&c);
	/* the lists */
	ck_assert_int_eq(parse(&c, "[hpoold]\nno_proxy = a\nno_proxy = b\n"
	    "resolve = a:1:127.0.0.1\nresolve = b:1:127.0.0.1\n[policy]\n"
	    "rule = dest a -> deny\nrule = dest b -> deny\n  dest c -> "
	    "deny\n"), 0);
	config_release(&c);
}
END_TEST

START_TEST(after_the_last_line)
{
	refused("[hpoold]\nworkers = 1\n[proxy p]\nforward = connect\n",
	    "t.conf:4: [proxy p]: no url");
	refused("[policy]\nrule = dest a -> deny\n\nrule = dest b -> proxy "
	    "q\n", "t.conf:4: rule 2 (dest b -> proxy q): no [proxy q] "
	    "section");
	refused("[hpoold]\nworkers = 1\nhttps_proxy = https://127.0.0.1:1\n"
	    "proxy_cacert = /nonexistent/ca.pem\n",
	    "t.conf:4: proxy https_proxy: cacert /nonexistent/ca.pem: No "
	    "such file or directory");
	refused("[proxy p]\nurl = https://127.0.0.1:1\n\ncacert = "
	    "/nonexistent/ca.pem\n", "t.conf:4: proxy p: cacert "
	    "/nonexistent/ca.pem: No such file or directory");
	refused("[proxy p]\nurl = http://127.0.0.1:1\ncredentials_file = "
	    "/nonexistent/x\n", "t.conf:3: proxy p: credentials_file "
	    "/nonexistent/x: No such file or directory");
}
END_TEST

START_TEST(octal_in_octal)
{
	struct config c;

	refused("[hpoold]\nsocket_mode = 1000\n",
	    "t.conf:2: socket_mode: '1000' is not an octal number from 0000 "
	    "to 0777");
	refused("[hpoold]\nsocket_mode = 8\n",
	    "t.conf:2: socket_mode: '8' is not an octal number from 0000 to "
	    "0777");
	ck_assert_int_eq(parse(&c, "[hpoold]\nsocket_mode = 0640\n"), 0);
	ck_assert_uint_eq(c.socket_mode, 0640);
	config_release(&c);
}
END_TEST

START_TEST(changes_one_line_each)
{
	char lines[CONFIG_CHANGES_MAX][CONFIG_CHANGE_LEN];
	struct config a, b;
	size_t n;

	ck_assert_int_eq(parse(&a, "[hpoold]\nsocket = /run/a.sock\n"
	    "workers = 2\n"), 0);
	ck_assert_int_eq(parse(&b, "[hpoold]\nsocket = /run/a.sock\n"
	    "workers = 2\n"), 0);
	ck_assert_uint_eq(config_changes(&a, &b, CONFIG_SOCKET_KEPT, lines,
	    CONFIG_CHANGES_MAX), 0);
	config_release(&b);
	ck_assert_int_eq(parse(&b, "[hpoold]\nsocket = /run/b.sock\n"
	    "workers = 3\nsocket_mode = 0600\nconnect_timeout = 5\n"
	    "partition_by_uid = yes\nlog_level = debug\n[policy]\nrule = "
	    "dest a -> deny\n"), 0);
	n = config_changes(&a, &b, CONFIG_SOCKET_MOVED, lines,
	    CONFIG_CHANGES_MAX);
	ck_assert_uint_eq(n, 7);
	ck_assert_str_eq(lines[0], "socket: /run/a.sock -> /run/b.sock: "
	    "applies now: new workers listen there; the old socket is "
	    "removed and its workers finish their sessions");
	ck_assert_str_eq(lines[1], "socket_mode: 0660 -> 0600: applies now, "
	    "to the new socket /run/b.sock");
	ck_assert_str_eq(lines[2], "partition_by_uid: no -> yes: applies "
	    "now");
	ck_assert_str_eq(lines[3], "connect_timeout: 30 -> 5: applies now");
	ck_assert_str_eq(lines[4], "workers: 2 -> 3: applies now: a new "
	    "generation of 3 takes over; the old one finishes its sessions");
	ck_assert_str_eq(lines[5], "log_level: info -> debug: applies now");
	ck_assert_str_eq(lines[6], "rules and proxies: changed: apply now, "
	    "to each request from now on");
	n = config_changes(&a, &b, CONFIG_SOCKET_SYSTEMD, lines, 2);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(lines[0], "socket: /run/a.sock -> /run/b.sock: not "
	    "applied: the socket is systemd's (its .socket unit names the "
	    "path)");
	ck_assert_str_eq(lines[1], "socket_mode: 0660 -> 0600: not applied: "
	    "the socket is systemd's (SocketMode= in its .socket unit)");
	memcpy(b.socket_path, a.socket_path, sizeof(b.socket_path));
	n = config_changes(&a, &b, CONFIG_SOCKET_KEPT, lines, 1);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(lines[0], "socket_mode: 0660 -> 0600: needs a "
	    "restart: /run/a.sock keeps mode 0660 until hpoold restarts (or "
	    "the socket setting moves it)");
	config_release(&a);
	config_release(&b);
}
END_TEST

static Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("config");

	tcase_add_test(tc, first_error_with_its_own_line);
	tcase_add_test(tc, syntax_errors_named);
	tcase_add_test(tc, long_lines_refused_lines_counted);
	tcase_add_test(tc, given_twice);
	tcase_add_test(tc, after_the_last_line);
	tcase_add_test(tc, octal_in_octal);
	tcase_add_test(tc, changes_one_line_each);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(config_suite());
}
