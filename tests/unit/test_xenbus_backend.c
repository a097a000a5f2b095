/* The backends' XenStore helpers: frontend-written values are guest input. */
#include <CUnit/Basic.h>
#include <errno.h>
#include <string.h>

#include "cunit_run.h"
#include "xenkvm/xenbus_backend.h"
#include "xenkvm/xenstore.h"

static struct xs_store *S;
static struct xs_client *D0;

static int setup(void)
{
	S = xs_store_new(NULL);
	D0 = S ? xs_client_new(S, 0, true, NULL, NULL) : NULL;
	return D0 ? 0 : -1;
}

static int teardown(void)
{
	xs_client_free(D0);
	xs_store_free(S);
	return 0;
}

static void put(const char *key, const char *val, size_t len)
{
	char path[64];

	snprintf(path, sizeof(path), "/fe/%s", key);
	CU_ASSERT_EQUAL_FATAL(xs_store_write(D0, 0, path, val, len), 0);
}

static void test_write_read(void)
{
	char buf[8];

	CU_ASSERT_EQUAL(xenbus_be_write(D0, "/be", "state", "%d", 4), 0);
	CU_ASSERT_EQUAL(xenbus_be_read(D0, "/be", "state", buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, "4");
	CU_ASSERT_EQUAL(xenbus_be_read(D0, "/be", "absent", buf, sizeof(buf)), -ENOENT);
	put("long", "12345678", 8);   /* one byte too many for buf and its NUL */
	CU_ASSERT_EQUAL(xenbus_be_read(D0, "/fe", "long", buf, sizeof(buf)), -EINVAL);
	put("nul", "ab\0cd", 5);
	CU_ASSERT_EQUAL(xenbus_be_read(D0, "/fe", "nul", buf, sizeof(buf)), -EINVAL);
}

static void test_uint_strict(void)
{
	static const struct { const char *val; int rc; unsigned long v; } cases[] = {
		{ "0", 0, 0 }, { "4096", 0, 4096 }, { "18446744073709551615", 0, 18446744073709551615ul },
		{ "", -EINVAL, 0 }, { " 1", -EINVAL, 0 }, { "+1", -EINVAL, 0 }, { "-1", -EINVAL, 0 },
		{ "1 ", -EINVAL, 0 }, { "0x10", -EINVAL, 0 }, { "12a", -EINVAL, 0 },
		{ "18446744073709551616", -EINVAL, 0 },
	};
	unsigned long v;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		put("n", cases[i].val, strlen(cases[i].val));
		v = 777;
		CU_ASSERT_EQUAL(xenbus_be_read_uint(D0, "/fe", "n", &v), cases[i].rc);
		if (!cases[i].rc)
			CU_ASSERT_EQUAL(v, cases[i].v);
	}
	CU_ASSERT_EQUAL(xenbus_be_read_uint(D0, "/fe", "missing", &v), -ENOENT);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("xenbus_backend", setup, teardown);
	CU_add_test(s, "write_read", test_write_read);
	CU_add_test(s, "uint_strict", test_uint_strict);
	return cunit_run(CU_BRM_VERBOSE);
}
