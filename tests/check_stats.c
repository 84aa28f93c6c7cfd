/* check_stats.c: unit tests for daemon/stats.c: rows made once per key,
 * the caps (the last row sums the rest, and says so), a worker's dump
 * merged back by the supervisor, malformed dumps refused, the renderings
 * cut to fit and free of what could break a label or a JSON string. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"
#include "check_run.h"

static struct stats_table *
table(void)
{
	struct stats_table *t = calloc(1, sizeof(*t));

	ck_assert_ptr_nonnull(t);
	return t;
}

START_TEST(rows_by_key)
{
	struct stats_table *t = table();
	struct stats_pool *a, *b;
	struct stats_caller *c;

	a = stats_pool_row(t, "http://h:80", "direct", 0);
	ck_assert_ptr_eq(stats_pool_row(t, "http://h:80", "direct", 0), a);
	b = stats_pool_row(t, "http://h:80", "proxy p", 0);
	ck_assert_ptr_ne(a, b);
	ck_assert_ptr_ne(stats_pool_row(t, "http://h:80", "direct", 1), a);
	ck_assert_uint_eq(t->npools, 3);
	c = stats_caller_row(t, 1000, "x.service");
	ck_assert_ptr_eq(stats_caller_row(t, 1000, "x.service"), c);
	ck_assert_ptr_ne(stats_caller_row(t, 1000, ""), c);
	ck_assert_uint_eq(t->ncallers, 2);
	/* text from outside cannot end a label or a field */
	c = stats_caller_row(t, 1, "a\"b\\c\td\ne");
	ck_assert_str_eq(c->unit, "a?b?c?d?e");
	free(t);
}
END_TEST

START_TEST(caps)
{
	struct stats_table *t = table();
	struct stats_pool *p, *last = NULL;
	char dest[64];
	int i;

	for (i = 0; i < STATS_MAX_POOLS + 50; i++) {
		snprintf(dest, sizeof(dest), "http://h%d:80", i);
		p = stats_pool_row(t, dest, "direct", 0);
		p->connects++;
		if (i >= STATS_MAX_POOLS - 1)
			last = p;
	}
	ck_assert_uint_eq(t->npools, STATS_MAX_POOLS);
	ck_assert_int_eq(t->pools_full, 1);
	ck_assert_ptr_eq(last, &t->pools[STATS_MAX_POOLS - 1]);
	ck_assert_str_eq(last->dest, "(other)");
	/* the last row: the one it held and the 50 that did not fit */
	ck_assert_uint_eq(last->connects, 51);
	for (i = 0; i < STATS_MAX_CALLERS + 3; i++)
		stats_caller_row(t, (uint32_t)i, "")->requests++;
	ck_assert_int_eq(t->callers_full, 1);
	ck_assert_uint_eq(t->callers[STATS_MAX_CALLERS - 1].requests, 4);
	free(t);
}
END_TEST

START_TEST(dump_merge)
{
	struct stats_table *w1 = table(), *w2 = table(), *m = table();
	struct stats st;
	struct stats_pool *p;
	char *buf = malloc(STATS_MAX_TEXT);
	const uint64_t e1[STATS_NENDED] = { 4, 0, 2, 0, 0, 1 };

	memset(&st, 0, sizeof(st));
	p = stats_pool_row(w1, "https://a:443", "proxy corp", 1);
	p->connects = 2;
	p->reuses = 10;
	p->tls_full = 1;
	p->tls_resumed = 1;
	p->idle = 2;
	stats_caller_row(w1, 1000, "x.service")->requests = 12;
	st.requests = 12;
	st.sessions = 5;
	stats_dump(w1, 1, 111, &st, e1, buf, STATS_MAX_TEXT);
	ck_assert_int_eq(stats_merge(m, buf), 0);
	p = stats_pool_row(w2, "https://a:443", "proxy corp", 1);
	p->connects = 1;
	p->failures = 3;
	stats_caller_row(w2, 1000, "x.service")->errors = 1;
	stats_caller_row(w2, 0, "")->denials = 2;
	st.requests = 1;
	stats_dump(w2, 2, 222, &st, NULL, buf, STATS_MAX_TEXT);
	ck_assert_int_eq(stats_merge(m, buf), 0);
	ck_assert_uint_eq(m->npools, 1);
	p = &m->pools[0];
	ck_assert_str_eq(p->dest, "https://a:443");
	ck_assert_str_eq(p->route, "proxy corp");
	ck_assert_uint_eq(p->tls, 1);
	ck_assert_uint_eq(p->connects, 3);
	ck_assert_uint_eq(p->reuses, 10);
	ck_assert_uint_eq(p->failures, 3);
	ck_assert_uint_eq(p->idle, 2);
	ck_assert_uint_eq(m->ncallers, 2);
	ck_assert_uint_eq(m->callers[0].requests, 12);
	ck_assert_uint_eq(m->callers[0].errors, 1);
	ck_assert_str_eq(m->callers[1].unit, "");
	ck_assert_uint_eq(m->callers[1].denials, 2);
	ck_assert_uint_eq(m->nworkers, 2);
	ck_assert_uint_eq(m->workers[0].id, 1);
	ck_assert_int_eq(m->workers[1].pid, 222);
	ck_assert_uint_eq(m->workers[0].st.requests, 12);
	ck_assert_uint_eq(m->workers[0].st.sessions, 5);
	/* connections ended, by reason: one worker's, the other sent none */
	ck_assert_uint_eq(m->ended[0], 4);
	ck_assert_uint_eq(m->ended[2], 2);
	ck_assert_uint_eq(m->ended[5], 1);
	ck_assert_uint_eq(m->ended[1] + m->ended[3] + m->ended[4], 0);
	stats_render(m, STATS_FMT_PROMETHEUS, buf, STATS_MAX_TEXT);
	ck_assert_ptr_nonnull(strstr(buf, "hpool_connections_ended_total{"
	    "reason=\"keepalive_max\"} 2\n"));
	stats_render(m, STATS_FMT_JSON, buf, STATS_MAX_TEXT);
	ck_assert_ptr_nonnull(strstr(buf, "\"connections_ended\": {"
	    "\"idle_timeout\": 4, "));
	free(buf);
	free(w1);
	free(w2);
	free(m);
}
END_TEST

START_TEST(malformed)
{
	struct stats_table *m = table();

	ck_assert_int_eq(stats_merge(m, "W\t1\t2\n"), -1);
	ck_assert_int_eq(stats_merge(m, "P\t0\t1\t1\t1\t1\t1\t1\t1\t1\td\n"),
	    -1);
	ck_assert_int_eq(stats_merge(m, "C\tx\t1\t1\t1\t1\t1\tu\n"), -1);
	ck_assert_int_eq(stats_merge(m, "C\t4294967296\t1\t1\t1\t1\t1\tu\n"),
	    -1);
	ck_assert_int_eq(stats_merge(m, "Z\n"), -1);
	/* cut (no newline at the end) */
	ck_assert_int_eq(stats_merge(m, "F\t0\t0"), -1);
	ck_assert_int_eq(stats_merge(m, "F\t0\t1\n"), 0);
	ck_assert_int_eq(m->callers_full, 1);
	ck_assert_int_eq(stats_merge(m, ""), 0);
	free(m);
}
END_TEST

START_TEST(render)
{
	struct stats_table *t = table();
	char buf[8192], small[100];
	size_t n;

	stats_pool_row(t, "http://h:80", "direct", 0)->connects = 7;
	stats_caller_row(t, 1000, "x.service")->requests = 9;
	t->total.requests = 9;
	t->expected = 2;
	t->nworkers = 1;
	t->workers[0].id = 1;
	t->workers[0].pid = 42;
	snprintf(t->missing, sizeof(t->missing), "2");
	stats_render(t, STATS_FMT_JSON, buf, sizeof(buf));
	ck_assert_ptr_nonnull(strstr(buf, "\"workers_missing\": [2]"));
	ck_assert_ptr_nonnull(strstr(buf, "{\"destination\": \"http://h:80\", "
	    "\"route\": \"direct\", \"tls\": false, \"idle\": 0, \"busy\": 0, "
	    "\"waiting\": 0, \"connects\": 7,"));
	ck_assert_ptr_nonnull(strstr(buf, "{\"uid\": 1000, \"unit\": "
	    "\"x.service\", \"requests\": 9,"));
	stats_render(t, STATS_FMT_PROMETHEUS, buf, sizeof(buf));
	ck_assert_ptr_nonnull(strstr(buf, "\nhpool_pool_connects_total{"
	    "destination=\"http://h:80\",route=\"direct\",tls=\"no\"} 7\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\nhpool_caller_requests_total{"
	    "uid=\"1000\",unit=\"x.service\"} 9\n"));
	ck_assert_ptr_nonnull(strstr(buf, "# TYPE hpool_requests_total "
	    "counter\nhpool_requests_total 9\n"));
	stats_render(t, STATS_FMT_TABLE, buf, sizeof(buf));
	ck_assert_ptr_nonnull(strstr(buf, "1 of 2 workers answered; missing: "
	    "worker 2"));
	/* cut to fit, NUL-terminated */
	n = stats_render(t, STATS_FMT_JSON, small, sizeof(small));
	ck_assert_uint_eq(n, strlen(small));
	ck_assert_uint_lt(n, sizeof(small));
	free(t);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("stats");
	TCase *tc = tcase_create("stats");

	tcase_add_test(tc, rows_by_key);
	tcase_add_test(tc, caps);
	tcase_add_test(tc, dump_merge);
	tcase_add_test(tc, malformed);
	tcase_add_test(tc, render);
	suite_add_tcase(s, tc);
	return check_run(s);
}
