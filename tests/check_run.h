/* tests/check_run.h: what every check suite's main() ends with. */
#ifndef CHECK_RUN_H
#define CHECK_RUN_H

#include <check.h>

/* Run the suite; the exit status says whether every test passed. */
static inline int
check_run(Suite *s)
{
	SRunner	*sr = srunner_create(s);
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}

#endif
