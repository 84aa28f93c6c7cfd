/* check_run.h: runs a Check suite and prints the count line that
 * ./quickstart sums (`# hpool-count: passed=N failed=M`). */
#ifndef HPOOL_CHECK_RUN_H
#define HPOOL_CHECK_RUN_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

static inline int
check_run(Suite *suite)
{
	SRunner *sr = srunner_create(suite);
	int run, failed;

	srunner_run_all(sr, CK_NORMAL);
	run = srunner_ntests_run(sr);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	printf("# hpool-count: passed=%d failed=%d\n", run - failed, failed);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
