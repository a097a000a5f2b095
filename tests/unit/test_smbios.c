#include <CUnit/Basic.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cunit_run.h"
#include "xenkvm/smbios.h"

/* String `n` (1-based) of the structure at `s`, or NULL. */
static const char *smbios_string(const uint8_t *s, uint8_t n)
{
	const char *p = (const char *)s + s[1];

	if (!n)
		return NULL;
	while (--n) {
		if (!*p)
			return NULL;
		p += strlen(p) + 1;
	}
	return *p ? p : NULL;
}

/* Walks the table: counts structures per type, checks each is well formed. */
static int walk(const uint8_t *t, size_t len, unsigned int counts[256], const uint8_t **by_type)
{
	size_t off = 0;
	int n = 0;

	while (off < len) {
		const uint8_t *s = t + off;
		size_t i;

		if (len - off < 4 || s[1] < 4 || s[1] > len - off)
			return -1;
		/* strings end at a double NUL */
		for (i = off + s[1]; i + 1 < len && (t[i] || t[i + 1]); i++)
			;
		if (i + 1 >= len)
			return -1;
		counts[s[0]]++;
		if (!by_type[s[0]])
			by_type[s[0]] = s;
		n++;
		off = i + 2;
		if (s[0] == 127)
			return off == len ? n : -1;
	}
	return -1;
}

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

static void test_tables(void)
{
	static const uint8_t uuid[16] = { 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0,
					  1, 2, 3, 4, 5, 6, 7, 8 };
	struct smbios_config cfg = { .nr_cpus = 3, .lowmem = 3ull << 30, .highmem = 17ull << 30,
				     .uuid = uuid, .version = "4.17" };
	unsigned int counts[256] = { 0 };
	const uint8_t *by_type[256] = { 0 };
	uint8_t anchor[SMBIOS_ANCHOR_LEN];
	uint8_t *t = NULL;
	size_t len = 0;
	int n;

	CU_ASSERT_EQUAL_FATAL(smbios_build(&cfg, &t, &len, anchor), 0);
	n = walk(t, len, counts, by_type);
	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT_EQUAL(counts[0], 1);
	CU_ASSERT_EQUAL(counts[1], 1);
	CU_ASSERT_EQUAL(counts[3], 1);
	CU_ASSERT_EQUAL(counts[4], 3);
	CU_ASSERT_EQUAL(counts[16], 1);
	CU_ASSERT_EQUAL(counts[17], 2);     /* 20 GiB: two 16 GiB devices */
	CU_ASSERT_EQUAL(counts[19], 2);     /* below and above 4 GiB */
	CU_ASSERT_EQUAL(counts[32], 1);
	CU_ASSERT_EQUAL(counts[127], 1);
	/* what Xen guests look for */
	CU_ASSERT_STRING_EQUAL(smbios_string(by_type[1], by_type[1][4]), "Xen");
	CU_ASSERT_STRING_EQUAL(smbios_string(by_type[1], by_type[1][5]), "HVM domU");
	CU_ASSERT_STRING_EQUAL(smbios_string(by_type[1], by_type[1][7]), "12345678-9abc-def0-0102-030405060708");
	CU_ASSERT_STRING_EQUAL(smbios_string(by_type[0], by_type[0][4]), "Xen");
	/* UUID: first three fields little-endian (SMBIOS 2.6+) */
	CU_ASSERT_EQUAL(by_type[1][8], 0x78);
	CU_ASSERT_EQUAL(by_type[1][11], 0x12);
	CU_ASSERT_EQUAL(by_type[1][12], 0xbc);
	CU_ASSERT_EQUAL(by_type[1][14], 0xf0);
	CU_ASSERT_EQUAL(memcmp(by_type[1] + 16, uuid + 8, 8), 0);
	/* type 19 of low RAM: 0 .. 3 GiB - 1 in KiB */
	CU_ASSERT_EQUAL(by_type[19][8] | by_type[19][9] << 8 | by_type[19][10] << 16 | (uint32_t)by_type[19][11] << 24,
			(3u << 20) - 1);
	/* the anchor: both checksums, the table's length and count */
	CU_ASSERT_EQUAL(memcmp(anchor, "_SM_", 4), 0);
	CU_ASSERT_EQUAL(memcmp(anchor + 0x10, "_DMI_", 5), 0);
	CU_ASSERT_EQUAL(sum(anchor, 0x10), 0);
	CU_ASSERT_EQUAL(sum(anchor + 0x10, SMBIOS_ANCHOR_LEN - 0x10), 0);
	CU_ASSERT_EQUAL((size_t)(anchor[0x16] | anchor[0x17] << 8), len);
	CU_ASSERT_EQUAL(anchor[0x1c] | anchor[0x1d] << 8, n);
	free(t);

	/* no UUID: no serial, UUID bytes zero */
	cfg.uuid = NULL;
	cfg.highmem = 0;
	memset(counts, 0, sizeof(counts));
	memset(by_type, 0, sizeof(by_type));
	CU_ASSERT_EQUAL_FATAL(smbios_build(&cfg, &t, &len, anchor), 0);
	CU_ASSERT_FATAL(walk(t, len, counts, by_type) > 0);
	CU_ASSERT_EQUAL(by_type[1][7], 0);
	CU_ASSERT_EQUAL(counts[19], 1);
	free(t);

	cfg.nr_cpus = 0;
	CU_ASSERT_EQUAL(smbios_build(&cfg, &t, &len, anchor), -EINVAL);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("smbios", NULL, NULL);
	CU_add_test(s, "tables", test_tables);
	return cunit_run(CU_BRM_NORMAL);
}
