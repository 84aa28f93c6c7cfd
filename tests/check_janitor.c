/* check_janitor.c: unit tests of daemon/janitor.c: the Keep-Alive
 * header's parameters and each reason a pooled connection ends. */
#include <check.h>
#include <string.h>

#include "config.h"
#include "janitor.h"
#include "check_run.h"

static void
parse(const char *v, unsigned *t, int *m)
{
	*t = 0;
	*m = -1;
	jan_parse_keepalive(v, strlen(v), t, m);
}

START_TEST(keepalive_values)
{
	unsigned t;
	int m;

	parse("timeout=5, max=100", &t, &m);
	ck_assert_uint_eq(t, 5);
	ck_assert_int_eq(m, 100);
	parse("max=0,timeout=1", &t, &m);
	ck_assert_uint_eq(t, 1);
	ck_assert_int_eq(m, 0);
	parse(" TIMEOUT = \"15\" ,  Max=3 ", &t, &m);
	ck_assert_uint_eq(t, 15);
	ck_assert_int_eq(m, 3);
	/* unknown parameters, bad numbers and empty items are ignored */
	parse("foo=bar, timeout=-1, max=x1, ,timeout", &t, &m);
	ck_assert_uint_eq(t, 0);
	ck_assert_int_eq(m, -1);
	parse("timeout=99999999999999999999", &t, &m);
	ck_assert_uint_eq(t, 86400);	/* capped, never wrapped */
	parse("", &t, &m);
	ck_assert_uint_eq(t, 0);
	ck_assert_int_eq(m, -1);
}
END_TEST

static struct config
cfg_with(unsigned idle_ms, unsigned age_ms, unsigned maxreq)
{
	struct config c;

	memset(&c, 0, sizeof(c));
	c.idle_timeout_ms = idle_ms;
	c.max_conn_age_ms = age_ms;
	c.max_requests_per_conn = maxreq;
	return c;
}

START_TEST(reasons)
{
	struct config c = cfg_with(60000, 0, 0);
	struct jan_conn j;
	enum jan_reason why;
	uint64_t t0;
	unsigned ms;

	jan_born(&j);
	t0 = j.born_ms;
	/* nothing announced, no limits: only the idle timeout */
	ck_assert_int_eq(jan_expired(&j, 1000, &c, t0 + 1000, 0), 0);
	ms = jan_idle_ms(&j, &c, t0, &why);
	ck_assert_uint_eq(ms, 60000);
	ck_assert_int_eq(why, JAN_IDLE_TIMEOUT);
	ck_assert_int_eq(jan_expired(&j, 1, &c, t0 + 59999, 1), 0);
	ck_assert_int_eq(jan_expired(&j, 1, &c, t0 + 60000, 1),
	    JAN_IDLE_TIMEOUT + 1);
	/* timeout=4: a quarter off (3 s); timeout=60: a second off */
	j.ka_timeout_s = 4;
	ms = jan_idle_ms(&j, &c, t0, &why);
	ck_assert_uint_eq(ms, 3000);
	ck_assert_int_eq(why, JAN_KA_TIMEOUT);
	ck_assert_int_eq(jan_expired(&j, 1, &c, t0 + 2999, 1), 0);
	ck_assert_int_eq(jan_expired(&j, 1, &c, t0 + 3000, 1),
	    JAN_KA_TIMEOUT + 1);
	/* not while it was serving: idle time only counts when idle */
	ck_assert_int_eq(jan_expired(&j, 1, &c, t0 + 5000, 0), 0);
	j.ka_timeout_s = 60;
	ck_assert_uint_eq(jan_idle_ms(&j, &c, t0, &why), 59000);
	/* max counted down by each request */
	j.ka_max = 2;
	jan_request(&j);
	ck_assert_int_eq(jan_expired(&j, 1, &c, t0, 0), 0);
	jan_request(&j);
	ck_assert_int_eq(jan_expired(&j, 2, &c, t0, 0), JAN_KA_MAX + 1);
	jan_request(&j);		/* stays 0 */
	ck_assert_int_eq(j.ka_max, 0);
}
END_TEST

START_TEST(limits)
{
	struct config c = cfg_with(60000, 10000, 3);
	struct jan_conn j;
	enum jan_reason why;
	uint64_t t0;

	jan_born(&j);
	t0 = j.born_ms;
	ck_assert_int_eq(jan_expired(&j, 2, &c, t0, 0), 0);
	ck_assert_int_eq(jan_expired(&j, 3, &c, t0, 0),
	    JAN_MAX_REQUESTS + 1);
	ck_assert_int_eq(jan_expired(&j, 1, &c, t0 + 9999, 0), 0);
	ck_assert_int_eq(jan_expired(&j, 1, &c, t0 + 10000, 0),
	    JAN_MAX_AGE + 1);
	/* idle at 8 s of age: 2 s left, the age ends it */
	ck_assert_uint_eq(jan_idle_ms(&j, &c, t0 + 8000, &why), 2000);
	ck_assert_int_eq(why, JAN_MAX_AGE);
	ck_assert_uint_eq(jan_idle_ms(&j, &c, t0 + 12000, &why), 0);
	ck_assert_str_eq(jan_reason_name(JAN_MAX_AGE), "max_conn_age");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("janitor");
	TCase *tc = tcase_create("janitor");

	tcase_add_test(tc, keepalive_values);
	tcase_add_test(tc, reasons);
	tcase_add_test(tc, limits);
	suite_add_tcase(s, tc);
	return check_run(s);
}
