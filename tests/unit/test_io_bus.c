#include <CUnit/Basic.h>
#include <errno.h>
#include <string.h>

#include "cunit_run.h"
#include "xenkvm/io_bus.h"

static uint64_t last_off;
static unsigned int calls;

static void handler(void *opaque, uint64_t off, void *data, unsigned int len, bool is_write)
{
	last_off = off;
	calls++;
	if (!is_write)
		memset(data, (int)(uintptr_t)opaque, len);
}

static void test_register_lookup(void)
{
	struct io_bus bus;
	uint8_t b[4];

	io_bus_init(&bus, "t");
	for (unsigned int i = 0; i < 40; i++)   /* forces the array to grow */
		CU_ASSERT_EQUAL(io_bus_register(&bus, 0x1000 + 0x10 * (39 - i), 8, handler,
						(void *)(uintptr_t)(i + 1), "r"), 0);
	CU_ASSERT_EQUAL(bus.nr, 40);
	for (unsigned int i = 1; i < bus.nr; i++)
		CU_ASSERT(bus.ranges[i].base > bus.ranges[i - 1].base);
	CU_ASSERT(io_bus_access(&bus, 0x1017, b, 1, false));
	CU_ASSERT_EQUAL(last_off, 7);
	CU_ASSERT_EQUAL(b[0], 39);   /* registered at i = 38 */
	CU_ASSERT_FALSE(io_bus_access(&bus, 0x1018, b, 4, false));   /* gap */
	CU_ASSERT_EQUAL(b[0], 0xff);
	CU_ASSERT_EQUAL(b[3], 0xff);
	CU_ASSERT_FALSE(io_bus_access(&bus, 0xfff, b, 1, true));
	CU_ASSERT_EQUAL(bus.unhandled, 2);
	io_bus_destroy(&bus);
}

static void test_overlap_and_unregister(void)
{
	struct io_bus bus;
	uint8_t b;

	io_bus_init(&bus, "t");
	CU_ASSERT_EQUAL(io_bus_register(&bus, 0x100, 0x10, handler, NULL, "a"), 0);
	CU_ASSERT_EQUAL(io_bus_register(&bus, 0x10f, 1, handler, NULL, "b"), -EEXIST);
	CU_ASSERT_EQUAL(io_bus_register(&bus, 0xf8, 9, handler, NULL, "c"), -EEXIST);
	CU_ASSERT_EQUAL(io_bus_register(&bus, 0xf8, 8, handler, NULL, "d"), 0);
	CU_ASSERT_EQUAL(io_bus_register(&bus, 0x110, 1, handler, NULL, "e"), 0);
	CU_ASSERT_EQUAL(io_bus_register(&bus, UINT64_MAX, 2, handler, NULL, "wrap"), -EINVAL);
	CU_ASSERT_EQUAL(io_bus_register(&bus, 0x200, 0, handler, NULL, "empty"), -EINVAL);
	CU_ASSERT_EQUAL(io_bus_unregister(&bus, 0x101), -ENOENT);
	CU_ASSERT_EQUAL(io_bus_unregister(&bus, 0x100), 0);
	calls = 0;
	CU_ASSERT_FALSE(io_bus_access(&bus, 0x105, &b, 1, false));
	CU_ASSERT_EQUAL(calls, 0);
	CU_ASSERT(io_bus_access(&bus, 0x110, &b, 1, false));
	io_bus_destroy(&bus);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("io_bus", NULL, NULL);
	CU_add_test(s, "register_lookup", test_register_lookup);
	CU_add_test(s, "overlap_and_unregister", test_overlap_and_unregister);
	return cunit_run(CU_BRM_NORMAL);
}
