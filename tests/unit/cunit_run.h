/* The end of every unit test program's main(): runs the registered suites,
 * reports in `mode`, frees the registry; 1 if any assertion failed. */
#ifndef XENKVM_TESTS_CUNIT_RUN_H
#define XENKVM_TESTS_CUNIT_RUN_H
#include <CUnit/Basic.h>

static inline int cunit_run(CU_BasicRunMode mode)
{
	unsigned int failed;

	CU_basic_set_mode(mode);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
#endif
