/* check_access.c: unit tests for daemon/access.c, the access log's
 * record formats: the plain line, the journal fields, journald's native
 * datagram (plain and binary fields), cutting to fit, and text cleaned
 * of what could forge a field or a line. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "check_run.h"

static struct access_rec
sample(void)
{
	struct access_rec r;

	memset(&r, 0, sizeof(r));
	r.uid = 1000;
	r.pid = 4242;
	snprintf(r.unit, sizeof(r.unit), "x.service");
	snprintf(r.method, sizeof(r.method), "GET");
	snprintf(r.dest, sizeof(r.dest), "https://api.example:443");
	snprintf(r.path, sizeof(r.path), "/v1/items?key=1");
	r.status = 200;
	r.bytes_up = 12;
	r.bytes_down = 3456;
	r.duration_us = 7890;
	r.conn = ACCESS_CONN_REUSED;
	r.tls = ACCESS_TLS_RESUMED;
	r.retried = 1;
	snprintf(r.route, sizeof(r.route), "proxy corp");
	return r;
}

START_TEST(text_line)
{
	struct access_rec r = sample();
	char buf[1024];
	size_t n;

	n = access_format_text(&r, 0, "2026-01-02T03:04:05.006Z", buf,
	    sizeof(buf));
	ck_assert_str_eq(buf, "access: 2026-01-02T03:04:05.006Z uid=1000 "
	    "unit=x.service pid=4242 GET https://api.example:443 status=200 "
	    "up=12 down=3456 us=7890 conn=reused tls=resumed retried=yes "
	    "route=\"proxy corp\"");
	ck_assert_uint_eq(n, strlen(buf));
	/* the path only when asked (debug) */
	access_format_text(&r, 1, "T", buf, sizeof(buf));
	ck_assert_ptr_nonnull(strstr(buf, " GET "
	    "https://api.example:443/v1/items?key=1 status=200 "));
}
END_TEST

START_TEST(text_line_error_and_unknowns)
{
	struct access_rec r;
	char buf[1024];

	memset(&r, 0, sizeof(r));
	r.uid = 0;
	r.pid = 1;
	snprintf(r.dest, sizeof(r.dest), "http://10.0.0.1:80");
	snprintf(r.error, sizeof(r.error), "PermissionError");
	snprintf(r.route, sizeof(r.route), "denied by rule 2 (dest "
	    "10.0.0.0/8 -> deny)");
	access_format_text(&r, 0, "T", buf, sizeof(buf));
	ck_assert_str_eq(buf, "access: T uid=0 unit=- pid=1 - "
	    "http://10.0.0.1:80 status=0 error=PermissionError up=0 down=0 "
	    "us=0 conn=none tls=none retried=no route=\"denied by rule 2 "
	    "(dest 10.0.0.0/8 -> deny)\"");
}
END_TEST

START_TEST(text_cut_to_fit)
{
	struct access_rec r = sample();
	char buf[40];
	size_t n;

	n = access_format_text(&r, 1, "T", buf, sizeof(buf));
	ck_assert_uint_eq(n, strlen(buf));
	ck_assert_uint_lt(n, sizeof(buf));
	ck_assert(strncmp(buf, "access: T uid=1000", 18) == 0);
	ck_assert_uint_eq(access_format_text(&r, 1, "T", buf, 0), 0);
}
END_TEST

static const char *
find(const struct iovec *iov, size_t n, const char *name)
{
	size_t i, k = strlen(name);
	static char val[1024];

	for (i = 0; i < n; i++)
		if (iov[i].iov_len > k && memcmp(iov[i].iov_base, name, k) == 0
		    && ((char *)iov[i].iov_base)[k] == '=') {
			snprintf(val, sizeof(val), "%.*s", (int)(iov[i].iov_len
			    - k - 1), (char *)iov[i].iov_base + k + 1);
			return val;
		}
	return NULL;
}

START_TEST(journal_fields)
{
	struct access_rec r = sample();
	struct iovec iov[20];
	char buf[4096];
	size_t n;
	static const char *const want[][2] = {
		{ "PRIORITY", "6" }, { "SYSLOG_IDENTIFIER", "hpoold" },
		{ "HPOOL_CALLER_UID", "1000" }, { "HPOOL_CALLER_PID", "4242" },
		{ "HPOOL_UNIT", "x.service" }, { "HPOOL_METHOD", "GET" },
		{ "HPOOL_DEST", "https://api.example:443" },
		{ "HPOOL_STATUS", "200" }, { "HPOOL_BYTES_UP", "12" },
		{ "HPOOL_BYTES_DOWN", "3456" },
		{ "HPOOL_DURATION_US", "7890" }, { "HPOOL_CONN", "reused" },
		{ "HPOOL_TLS", "resumed" }, { "HPOOL_RETRIED", "1" },
		{ "HPOOL_ROUTE", "proxy corp" },
	};
	size_t i;

	n = access_journal_fields(&r, 0, iov, 20, buf, sizeof(buf));
	ck_assert_uint_eq(n, 16);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const char *v = find(iov, n, want[i][0]);

		ck_assert_msg(v != NULL, "no %s", want[i][0]);
		ck_assert_str_eq(v, want[i][1]);
	}
	ck_assert_ptr_null(find(iov, n, "HPOOL_PATH"));
	ck_assert_ptr_null(find(iov, n, "HPOOL_ERROR"));
	ck_assert_str_eq(find(iov, n, "MESSAGE"), "access: uid=1000 "
	    "unit=x.service pid=4242 GET https://api.example:443 status=200 "
	    "up=12 down=3456 us=7890 conn=reused tls=resumed retried=yes "
	    "route=\"proxy corp\"");
	/* debug: the path as a field of its own; no unit: no field */
	r.unit[0] = '\0';
	n = access_journal_fields(&r, 1, iov, 20, buf, sizeof(buf));
	ck_assert_str_eq(find(iov, n, "HPOOL_PATH"), "/v1/items?key=1");
	ck_assert_ptr_null(find(iov, n, "HPOOL_UNIT"));
	/* too small a buffer or array: 0, never a partial entry */
	ck_assert_uint_eq(access_journal_fields(&r, 1, iov, 20, buf, 100),
	    0);
	ck_assert_uint_eq(access_journal_fields(&r, 1, iov, 5, buf,
	    sizeof(buf)), 0);
}
END_TEST

START_TEST(native_datagram)
{
	struct iovec iov[2];
	char out[128];
	size_t n;
	static const char want[] = "A=1\nB\n\x05\0\0\0\0\0\0\0x\ny\nz\n";

	iov[0].iov_base = (void *)"A=1";
	iov[0].iov_len = 3;
	iov[1].iov_base = (void *)"B=x\ny\nz";
	iov[1].iov_len = 7;
	n = access_journal_datagram(iov, 2, out, sizeof(out));
	ck_assert_uint_eq(n, sizeof(want) - 1);
	ck_assert(memcmp(out, want, n) == 0);
	/* too small: 0 */
	ck_assert_uint_eq(access_journal_datagram(iov, 2, out, 10), 0);
	/* a field without '=': 0 */
	iov[0].iov_base = (void *)"A1";
	iov[0].iov_len = 2;
	ck_assert_uint_eq(access_journal_datagram(iov, 1, out, sizeof(out)),
	    0);
}
END_TEST

START_TEST(clean)
{
	char s[] = "a\"b\\c\nd\re\x7f" "f route=\"x\"";

	access_clean(s);
	ck_assert_str_eq(s, "a?b?c?d?e?f route=?x?");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("access");
	TCase *tc = tcase_create("format");

	tcase_add_test(tc, text_line);
	tcase_add_test(tc, text_line_error_and_unknowns);
	tcase_add_test(tc, text_cut_to_fit);
	tcase_add_test(tc, journal_fields);
	tcase_add_test(tc, native_datagram);
	tcase_add_test(tc, clean);
	suite_add_tcase(s, tc);
	return check_run(s);
}
