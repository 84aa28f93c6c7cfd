/* check_quota.c: unit tests for daemon/quota.c: the "auto" limits taken
 * from the fd limit, per-uid and total counting, refusals that name the
 * setting, and counters that threads and forked processes share. */
#include <sys/wait.h>

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "quota.h"
#include "check_run.h"

static struct config cfg;

static void
setup(void)
{
	ck_assert_int_eq(quota_init(), 0);
	config_defaults(&cfg);
}

START_TEST(auto_from_fd_limit)
{
	quota_resolve(&cfg, 1024);
	/* 1024 - 64 kept for hpoold itself, halved */
	ck_assert_uint_eq(cfg.max_sessions, 480);
	ck_assert_uint_eq(cfg.max_connections, 480);
	ck_assert_uint_eq(cfg.max_sessions_per_uid, 120);
	ck_assert_uint_eq(cfg.max_connections_per_uid, 120);
	ck_assert_uint_eq(cfg.max_idle, 240);
	/* whatever the limit, sessions and connections fit in it */
	config_defaults(&cfg);
	quota_resolve(&cfg, 200);
	ck_assert_uint_le(cfg.max_sessions + cfg.max_connections, 200);
	/* a huge limit: capped */
	config_defaults(&cfg);
	quota_resolve(&cfg, 1UL << 24);
	ck_assert_uint_eq(cfg.max_connections, 32768);
}
END_TEST

START_TEST(explicit_values_stay)
{
	cfg.max_sessions = 3;
	cfg.max_connections = 100;
	cfg.max_idle = 7;
	quota_resolve(&cfg, 1024);
	ck_assert_uint_eq(cfg.max_sessions, 3);
	/* a small total still lets one uid have all of it, not 0 */
	ck_assert_uint_eq(cfg.max_sessions_per_uid, 3);
	ck_assert_uint_eq(cfg.max_connections_per_uid, 25);
	ck_assert_uint_eq(cfg.max_idle, 7);
	config_defaults(&cfg);
	cfg.max_connections = 40;
	quota_resolve(&cfg, 1024);
	ck_assert_uint_eq(cfg.max_connections_per_uid, 16);
}
END_TEST

START_TEST(sessions_per_uid_and_total)
{
	char why[160];
	int i;

	cfg.max_sessions = 5;
	cfg.max_sessions_per_uid = 3;
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(quota_session_take(1001, &cfg, why,
		    sizeof(why)), 0);
	ck_assert_int_eq(quota_session_take(1001, &cfg, why, sizeof(why)),
	    -1);
	ck_assert_ptr_nonnull(strstr(why, "max_sessions_per_uid = 3"));
	ck_assert_ptr_nonnull(strstr(why, "uid 1001"));
	/* another uid is not held back by the first one's limit */
	ck_assert_int_eq(quota_session_take(1002, &cfg, why, sizeof(why)),
	    0);
	ck_assert_int_eq(quota_session_take(1003, &cfg, why, sizeof(why)),
	    0);
	/* ...but by the total; a refusal holds nothing */
	ck_assert_int_eq(quota_session_take(1004, &cfg, why, sizeof(why)),
	    -1);
	ck_assert_ptr_nonnull(strstr(why, "(max_sessions = 5)"));
	quota_session_put(1001);
	ck_assert_int_eq(quota_session_take(1004, &cfg, why, sizeof(why)),
	    0);
	quota_session_put(1001);
	quota_session_put(1001);
	quota_session_put(1002);
	quota_session_put(1003);
	quota_session_put(1004);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(quota_session_take(1001, &cfg, why,
		    sizeof(why)), 0);
	for (i = 0; i < 3; i++)
		quota_session_put(1001);
}
END_TEST

START_TEST(connections_and_idle)
{
	char why[160];
	int i;

	cfg.max_connections = 4;
	cfg.max_connections_per_uid = 2;
	ck_assert_int_eq(quota_conn_take(0, &cfg, why, sizeof(why)), 0);
	ck_assert_int_eq(quota_conn_take(0, &cfg, why, sizeof(why)), 0);
	ck_assert_int_eq(quota_conn_take(0, &cfg, why, sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "max_connections_per_uid = 2"));
	ck_assert_uint_eq(quota_uid_conns(0), 2);
	ck_assert_int_eq(quota_conn_take(7, &cfg, why, sizeof(why)), 0);
	ck_assert_int_eq(quota_conn_take(8, &cfg, why, sizeof(why)), 0);
	ck_assert_int_eq(quota_conn_take(9, &cfg, why, sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "max_connections = 4"));
	ck_assert_uint_eq(quota_conns(), 4);
	ck_assert_uint_eq(quota_uid_conns(9), 0);
	quota_conn_put(0);
	quota_conn_put(0);
	quota_conn_put(7);
	quota_conn_put(8);
	ck_assert_uint_eq(quota_conns(), 0);
	for (i = 0; i < 5; i++)
		quota_idle_add(1);
	quota_idle_add(-2);
	ck_assert_uint_eq(quota_idle(), 3);
	quota_idle_add(-3);
	ck_assert_uint_eq(quota_idle(), 0);
}
END_TEST

START_TEST(many_uids)
{
	char why[160];
	unsigned uid;

	/* more uids than slots: the rest share one, and still count */
	cfg.max_connections = 1000000;
	cfg.max_connections_per_uid = 1000000;
	for (uid = 20000; uid < 30000; uid++)
		ck_assert_int_eq(quota_conn_take(uid, &cfg, why, sizeof(why)),
		    0);
	ck_assert_uint_eq(quota_conns(), 10000);
	ck_assert_uint_eq(quota_uid_conns(20000), 1);
	for (uid = 20000; uid < 30000; uid++)
		quota_conn_put(uid);
	ck_assert_uint_eq(quota_conns(), 0);
}
END_TEST

#define THREADS	4
#define ROUNDS	20000

static void *
hammer(void *arg)
{
	char why[160];
	int i, got = 0;

	(void)arg;
	for (i = 0; i < ROUNDS; i++)
		if (quota_conn_take(42, &cfg, why, sizeof(why)) == 0) {
			got++;
			if (quota_conns() > cfg.max_connections + THREADS)
				abort();
			quota_conn_put(42);
		}
	return (void *)(long)got;
}

START_TEST(threads_never_pass_the_limit_for_long)
{
	pthread_t t[THREADS];
	void *got;
	int i;

	cfg.max_connections = 3;
	cfg.max_connections_per_uid = 3;
	for (i = 0; i < THREADS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, hammer, NULL), 0);
	for (i = 0; i < THREADS; i++) {
		ck_assert_int_eq(pthread_join(t[i], &got), 0);
		ck_assert_int_gt((long)got, 0);
	}
	/* every take was put back: nothing leaked by a race */
	ck_assert_uint_eq(quota_conns(), 0);
	ck_assert_uint_eq(quota_uid_conns(42), 0);
}
END_TEST

START_TEST(forked_processes_share_the_counters)
{
	char why[160];
	pid_t pid;
	int st;

	cfg.max_sessions = 10;
	cfg.max_sessions_per_uid = 2;
	ck_assert_int_eq(quota_session_take(77, &cfg, why, sizeof(why)), 0);
	if ((pid = fork()) == 0)
		_exit(quota_session_take(77, &cfg, why, sizeof(why)) == 0 &&
		    quota_session_take(77, &cfg, why, sizeof(why)) == -1 ? 0 :
		    1);
	ck_assert_int_gt(pid, 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* the child's take is seen here */
	ck_assert_int_eq(quota_session_take(77, &cfg, why, sizeof(why)), -1);
	quota_session_put(77);
	quota_session_put(77);
}
END_TEST

START_TEST(destinations)
{
	/* keys 1 << 17 apart share a home slot: one chain */
	const uint64_t k = 0x1000, step = 1ULL << 17;
	int i;

	ck_assert_int_eq(quota_dest_take(k, 2), 0);
	ck_assert_int_eq(quota_dest_take(k, 2), 0);
	ck_assert_int_eq(quota_dest_take(k, 2), -1);
	ck_assert_uint_eq(quota_dest_conns(k), 2);
	for (i = 1; i <= 5; i++)
		ck_assert_int_eq(quota_dest_take(k + i * step, 9), 0);
	/* the chain's head leaves: the entries behind it move back and
	 * are still found, with their counts */
	quota_dest_put(k);
	quota_dest_put(k);
	ck_assert_uint_eq(quota_dest_conns(k), 0);
	for (i = 1; i <= 5; i++)
		ck_assert_uint_eq(quota_dest_conns(k + i * step), 1);
	quota_dest_put(k + 3 * step);
	for (i = 1; i <= 5; i++)
		ck_assert_uint_eq(quota_dest_conns(k + i * step), i == 3 ? 0 :
		    1);
	ck_assert_int_eq(quota_dest_take(k + 5 * step, 1), -1);
	/* wanted: seen everywhere, and kept while nothing is open */
	ck_assert(!quota_any_wanted());
	quota_dest_want(k + 7 * step, 1);
	ck_assert(quota_any_wanted());
	ck_assert(quota_dest_wanted(k + 7 * step));
	ck_assert(!quota_dest_wanted(k + 5 * step));
	quota_dest_want(k + 7 * step, 0);
	ck_assert(!quota_any_wanted());
}
END_TEST

START_TEST(a_dead_worker_gives_back_what_it_held)
{
	char why[160];
	pid_t pid;
	int st;

	cfg.max_sessions = 100;
	cfg.max_sessions_per_uid = 100;
	cfg.max_connections = 100;
	cfg.max_connections_per_uid = 2;
	quota_set_worker(1);
	ck_assert_int_eq(quota_conn_take(5, &cfg, why, sizeof(why)), 0);
	ck_assert_int_eq(quota_dest_take(99, 2), 0);
	if ((pid = fork()) == 0) {
		/* a worker: takes, then dies without giving back */
		quota_set_worker(2);
		_exit(quota_conn_take(5, &cfg, why, sizeof(why)) == 0 &&
		    quota_session_take(5, &cfg, why, sizeof(why)) == 0 &&
		    quota_dest_take(99, 2) == 0 && quota_dest_take(99, 2) == -1 ?
		    0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ck_assert_uint_eq(quota_uid_conns(5), 2);
	ck_assert_uint_eq(quota_dest_conns(99), 2);
	ck_assert_int_eq(quota_conn_take(5, &cfg, why, sizeof(why)), -1);
	quota_worker_gone(2);
	/* what the dead one held is free; what this one holds is not */
	ck_assert_uint_eq(quota_uid_conns(5), 1);
	ck_assert_uint_eq(quota_conns(), 1);
	ck_assert_uint_eq(quota_dest_conns(99), 1);
	ck_assert_int_eq(quota_session_take(5, &cfg, why, sizeof(why)), 0);
	ck_assert_int_eq(quota_conn_take(5, &cfg, why, sizeof(why)), 0);
	ck_assert_int_eq(quota_dest_take(99, 2), 0);
}
END_TEST

static Suite *
quota_suite(void)
{
	Suite *s = suite_create("quota");
	TCase *tc = tcase_create("counters");

	/* one process: the counters are the mapping's, made once */
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, auto_from_fd_limit);
	tcase_add_test(tc, explicit_values_stay);
	tcase_add_test(tc, sessions_per_uid_and_total);
	tcase_add_test(tc, connections_and_idle);
	tcase_add_test(tc, many_uids);
	tcase_add_test(tc, threads_never_pass_the_limit_for_long);
	tcase_add_test(tc, forked_processes_share_the_counters);
	tcase_add_test(tc, destinations);
	tcase_add_test(tc, a_dead_worker_gives_back_what_it_held);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(quota_suite());
}
