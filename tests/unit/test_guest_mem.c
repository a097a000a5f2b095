#include <CUnit/Basic.h>
#include <errno.h>
#include <stdlib.h>

#include "cunit_run.h"
#include "xenkvm/guest_mem.h"

static void test_bounds(void)
{
	struct guest_mem gm = { 0 };
	static uint8_t low[0x2000], high[0x1000];
	uint8_t b = 0x5a;

	CU_ASSERT_EQUAL(guest_mem_add(&gm, 0, sizeof(low), low), 0);
	CU_ASSERT_EQUAL(guest_mem_add(&gm, 0x100000, sizeof(high), high), 0);
	CU_ASSERT_EQUAL(guest_mem_add(&gm, 0x1000, 0x1000, high), -EINVAL); /* overlap */
	CU_ASSERT_EQUAL(guest_mem_add(&gm, 0x5000, 0x800, high), -EINVAL);  /* unaligned */
	CU_ASSERT_PTR_EQUAL(guest_mem_ptr(&gm, 0x1fff, 1), low + 0x1fff);
	CU_ASSERT_PTR_NULL(guest_mem_ptr(&gm, 0x1fff, 2));                 /* runs off the end */
	CU_ASSERT_PTR_NULL(guest_mem_ptr(&gm, 0x100000, UINT64_MAX));      /* would overflow */
	CU_ASSERT_PTR_NULL(guest_mem_ptr(&gm, UINT64_MAX, 2));
	CU_ASSERT_EQUAL(guest_mem_write(&gm, 0x100fff, &b, 1), 0);
	CU_ASSERT_EQUAL(high[0xfff], 0x5a);
	CU_ASSERT_EQUAL(guest_mem_read(&gm, 0x3000, &b, 1), -EFAULT);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("guest_mem", NULL, NULL);
	CU_add_test(s, "bounds", test_bounds);
	return cunit_run(CU_BRM_NORMAL);
}
