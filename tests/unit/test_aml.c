/* AML emitter: encodings byte for byte, PkgLength boundaries, error paths. */
#include <CUnit/Basic.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cunit_run.h"
#include "xenkvm/aml.h"

static uint8_t out[4096];
static struct aml_buf b;

static void fresh(void)
{
	memset(out, 0xee, sizeof(out));
	aml_init(&b, out, sizeof(out));
}

static int bytes_are(const void *want, size_t n)
{
	return aml_finish(&b) == (long)n && memcmp(out, want, n) == 0;
}

/* Independent PkgLength decoder: returns the value, *n_r its size. */
static uint32_t pkglen_decode(const uint8_t *p, size_t *n_r)
{
	size_t n = 1 + (p[0] >> 6);
	uint32_t v;

	if (n == 1) {
		*n_r = 1;
		return p[0] & 0x3f;
	}
	v = p[0] & 0x0f;
	for (size_t i = 1; i < n; i++)
		v |= (uint32_t)p[i] << (4 + 8 * (i - 1));
	*n_r = n;
	return v;
}

static void test_pkglen_encode(void)
{
	static const struct {
		uint32_t v;
		size_t n;
		uint8_t enc[4];
	} cases[] = {
		{ 0, 1, { 0x00 } },
		{ 63, 1, { 0x3f } },
		{ 64, 2, { 0x40, 0x04 } },
		{ 0x123, 2, { 0x43, 0x12 } },
		{ 4095, 2, { 0x4f, 0xff } },
		{ 4096, 3, { 0x80, 0x00, 0x01 } },
		{ 0xfffff, 3, { 0x8f, 0xff, 0xff } },
		{ 0x100000, 4, { 0xc0, 0x00, 0x00, 0x01 } },	/* 1 MiB */
		{ 0x0fffffff, 4, { 0xcf, 0xff, 0xff, 0xff } },
	};
	uint8_t enc[4];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = aml_pkglen_encode(enc, cases[i].v), dn;

		CU_ASSERT_EQUAL(n, cases[i].n);
		CU_ASSERT(memcmp(enc, cases[i].enc, cases[i].n) == 0);
		CU_ASSERT_EQUAL(pkglen_decode(enc, &dn), cases[i].v);
		CU_ASSERT_EQUAL(dn, n);
	}
	CU_ASSERT_EQUAL(aml_pkglen_encode(enc, 0x10000000), 0);
}

static void test_pkglen_for_body(void)
{
	/* body -> (bytes, value): the PkgLength counts its own bytes */
	static const struct {
		size_t body, n;
		uint32_t v;
	} cases[] = {
		{ 0, 1, 1 }, { 62, 1, 63 }, { 63, 2, 65 },
		{ 4093, 2, 4095 }, { 4094, 3, 4097 },
		{ 0xffffc, 3, 0xfffff }, { 0xffffd, 4, 0x100001 },
		{ 0x0ffffffb, 4, 0x0fffffff },
	};
	uint32_t v;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CU_ASSERT_EQUAL(aml_pkglen_for_body(cases[i].body, &v), cases[i].n);
		CU_ASSERT_EQUAL(v, cases[i].v);
	}
	CU_ASSERT_EQUAL(aml_pkglen_for_body(0x0ffffffc, &v), 0);
}

/*
 * Scope (\) { "xxxx..." } with bodies straddling each PkgLength size: the
 * body is moved behind the PkgLength intact and the lengths add up.
 */
static void test_scope_pkglen_boundaries(void)
{
	/* body = NameString "\" + NullName (2) + StringPrefix + chars + NUL */
	static const size_t bodies[] = { 62, 63, 4093, 4094, 0xffffc, 0xffffd };
	size_t cap = 0x100100;
	uint8_t *buf = malloc(cap);
	char *s = malloc(cap);
	struct aml_buf sb;

	CU_ASSERT_FATAL(buf != NULL && s != NULL);
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		size_t slen = bodies[i] - 4, n;
		uint32_t v;
		long len;

		memset(s, 'a', slen);
		s[0] = 'F';
		s[slen - 1] = 'L';
		s[slen] = 0;
		aml_init(&sb, buf, cap);
		aml_scope_begin(&sb, "\\");
		aml_string(&sb, s);
		aml_end(&sb);
		len = aml_finish(&sb);
		CU_ASSERT_EQUAL(buf[0], AML_SCOPE_OP);
		v = pkglen_decode(buf + 1, &n);
		CU_ASSERT_EQUAL(n, bodies[i] <= 62 ? 1u : bodies[i] <= 4093 ? 2u :
				   bodies[i] <= 0xffffc ? 3u : 4u);
		CU_ASSERT_EQUAL(v, bodies[i] + n);
		CU_ASSERT_EQUAL(len, (long)(1 + v));
		CU_ASSERT_EQUAL(buf[1 + n], AML_ROOT_CHAR);
		CU_ASSERT_EQUAL(buf[2 + n], 0);
		CU_ASSERT_EQUAL(buf[3 + n], AML_STRING_PREFIX);
		CU_ASSERT_EQUAL(buf[4 + n], 'F');
		CU_ASSERT_EQUAL(buf[4 + n + slen - 1], 'L');
		CU_ASSERT_EQUAL(buf[4 + n + slen], 0);
	}
	free(s);
	free(buf);
}

static void test_integers(void)
{
	static const struct {
		uint64_t v;
		size_t n;
		uint8_t enc[9];
	} cases[] = {
		{ 0, 1, { 0x00 } },
		{ 1, 1, { 0x01 } },
		{ 2, 2, { 0x0a, 0x02 } },
		{ 0xff, 2, { 0x0a, 0xff } },
		{ 0x100, 3, { 0x0b, 0x00, 0x01 } },
		{ 0xffff, 3, { 0x0b, 0xff, 0xff } },
		{ 0x10000, 5, { 0x0c, 0x00, 0x00, 0x01, 0x00 } },
		{ 0xffffffff, 5, { 0x0c, 0xff, 0xff, 0xff, 0xff } },
		{ 0x100000000ull, 9, { 0x0e, 0, 0, 0, 0, 1, 0, 0, 0 } },
		{ 0xfffffffffffffffeull, 9, { 0x0e, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } },
		{ UINT64_MAX, 1, { 0xff } },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fresh();
		aml_integer(&b, cases[i].v);
		CU_ASSERT(bytes_are(cases[i].enc, cases[i].n));
	}
}

static void test_strings_and_eisaid(void)
{
	static const uint8_t str[] = { 0x0d, 'a', 'B', '1', 0 };
	static const uint8_t empty[] = { 0x0d, 0 };
	/* PNP0A03 compresses to 0x030AD041, PNP0501 to 0x0105D041 */
	static const uint8_t pnp0a03[] = { 0x0c, 0x41, 0xd0, 0x0a, 0x03 };
	static const uint8_t pnp0501[] = { 0x0c, 0x41, 0xd0, 0x05, 0x01 };
	static const char *const bad_ids[] = { "pnp0A03", "PNP0A0", "PNP0A033", "PNP0AG3", "P@P0A03", "" };

	fresh();
	aml_string(&b, "aB1");
	CU_ASSERT(bytes_are(str, sizeof(str)));
	fresh();
	aml_string(&b, "");
	CU_ASSERT(bytes_are(empty, sizeof(empty)));
	fresh();
	aml_string(&b, "caf\xc3\xa9");
	CU_ASSERT_EQUAL(aml_finish(&b), -EINVAL);

	fresh();
	aml_eisaid(&b, "PNP0A03");
	CU_ASSERT(bytes_are(pnp0a03, sizeof(pnp0a03)));
	fresh();
	aml_eisaid(&b, "PNP0501");
	CU_ASSERT(bytes_are(pnp0501, sizeof(pnp0501)));
	fresh();
	aml_eisaid(&b, "PNP0a03");	/* hex digits in either case */
	CU_ASSERT(bytes_are(pnp0a03, sizeof(pnp0a03)));
	for (size_t i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++) {
		fresh();
		aml_eisaid(&b, bad_ids[i]);
		CU_ASSERT_EQUAL(aml_finish(&b), -EINVAL);
	}
}

static void test_namestrings(void)
{
	static const uint8_t hid[] = { '_', 'H', 'I', 'D' };
	static const uint8_t sb[] = { 0x5c, '_', 'S', 'B', '_' };
	static const uint8_t dual[] = { 0x5c, 0x2e, '_', 'S', 'B', '_', 'P', 'C', 'I', '0' };
	static const uint8_t multi[] = { 0x5c, 0x2f, 3, 'A', '_', '_', '_', 'B', 'C', '_', '_',
					 'D', '1', '2', '3' };
	static const uint8_t parent[] = { 0x5e, 0x5e, 'F', 'O', 'O', '_' };
	static const uint8_t root[] = { 0x5c, 0x00 };
	static const uint8_t name_op[] = { 0x08, '_', 'U', 'I', 'D', 0x01 };
	static const char *const bad[] = {
		"", "PCI0.", ".PCI0", "TOOLONG", "1ABC", "pci0", "\\_SB..X", "A-B", "\\^A",
	};

	fresh();
	aml_namestring(&b, "_HID");
	CU_ASSERT(bytes_are(hid, sizeof(hid)));
	fresh();
	aml_namestring(&b, "\\_SB");
	CU_ASSERT(bytes_are(sb, sizeof(sb)));
	fresh();
	aml_namestring(&b, "\\_SB.PCI0");
	CU_ASSERT(bytes_are(dual, sizeof(dual)));
	fresh();
	aml_namestring(&b, "\\A.BC.D123");
	CU_ASSERT(bytes_are(multi, sizeof(multi)));
	fresh();
	aml_namestring(&b, "^^FOO");
	CU_ASSERT(bytes_are(parent, sizeof(parent)));
	fresh();
	aml_namestring(&b, "\\");
	CU_ASSERT(bytes_are(root, sizeof(root)));
	fresh();
	aml_name(&b, "_UID");
	aml_integer(&b, 1);
	CU_ASSERT(bytes_are(name_op, sizeof(name_op)));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fresh();
		aml_namestring(&b, bad[i]);
		CU_ASSERT_EQUAL(aml_finish(&b), -EINVAL);
	}
}

static void test_package_counts_elements(void)
{
	/* Package () { One, "x", Package () { 2, 3 }, Buffer () { 0x79, 0 } } */
	static const uint8_t want[] = {
		0x12, 0x13, 0x04,
		0x01,
		0x0d, 'x', 0,
		0x12, 0x06, 0x02, 0x0a, 0x02, 0x0a, 0x03,
		0x11, 0x05, 0x0a, 0x02, 0x79, 0x00,
	};
	/* Package () {} and Buffer () {} */
	static const uint8_t empty[] = { 0x12, 0x02, 0x00, 0x11, 0x02, 0x00 };

	fresh();
	aml_package_begin(&b);
	aml_integer(&b, 1);
	aml_string(&b, "x");
	aml_package_begin(&b);
	aml_integer(&b, 2);
	aml_integer(&b, 3);
	aml_end(&b);
	aml_buffer_begin(&b);
	aml_res_end_tag(&b);
	aml_end(&b);
	aml_end(&b);
	CU_ASSERT(bytes_are(want, sizeof(want)));

	fresh();
	aml_package_begin(&b);
	aml_end(&b);
	aml_buffer_begin(&b);
	aml_end(&b);
	CU_ASSERT(bytes_are(empty, sizeof(empty)));

	/* 255 elements fit the NumElements byte, 256 do not */
	fresh();
	aml_package_begin(&b);
	for (int i = 0; i < 255; i++)
		aml_integer(&b, 0);
	aml_end(&b);
	CU_ASSERT_EQUAL(aml_finish(&b), 1 + 2 + 1 + 255);
	CU_ASSERT_EQUAL(out[3], 255);
	fresh();
	aml_package_begin(&b);
	for (int i = 0; i < 256; i++)
		aml_integer(&b, 0);
	aml_end(&b);
	CU_ASSERT_EQUAL(aml_finish(&b), -EINVAL);
}

static void test_scope_device_method(void)
{
	/* Scope (\_SB) { Device (DEV0) { Method (_STA, 0) { Return (0x0F) } } }
	 * then Method (M2, 2, Serialized) {} */
	static const uint8_t want[] = {
		0x10, 0x17, 0x5c, '_', 'S', 'B', '_',
		0x5b, 0x82, 0x0f, 'D', 'E', 'V', '0',
		0x14, 0x09, '_', 'S', 'T', 'A', 0x00, 0xa4, 0x0a, 0x0f,
		0x14, 0x06, 'M', '2', '_', '_', 0x0a,
	};

	fresh();
	aml_scope_begin(&b, "\\_SB");
	aml_device_begin(&b, "DEV0");
	aml_method_begin(&b, "_STA", 0, 0);
	aml_return(&b);
	aml_integer(&b, 0x0f);
	aml_end(&b);
	aml_end(&b);
	aml_end(&b);
	aml_method_begin(&b, "M2", 2, 1);
	aml_end(&b);
	CU_ASSERT(bytes_are(want, sizeof(want)));

	fresh();
	aml_method_begin(&b, "M8", 8, 0);
	CU_ASSERT_EQUAL(aml_finish(&b), -EINVAL);
}

static void test_resource_descriptors(void)
{
	static const uint8_t io[] = { 0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08 };
	static const uint8_t irq4[] = { 0x22, 0x10, 0x00 };
	static const uint8_t bus[] = { 0x88, 0x0d, 0x00, 0x02, 0x0c, 0x00, 0, 0,
				       0x00, 0x00, 0xff, 0x00, 0, 0, 0x00, 0x01 };
	static const uint8_t wio[] = { 0x88, 0x0d, 0x00, 0x01, 0x0c, 0x03, 0, 0,
				       0x00, 0x0d, 0xff, 0xff, 0, 0, 0x00, 0xf3 };
	static const uint8_t dio[] = { 0x87, 0x17, 0x00, 0x01, 0x0c, 0x03, 0, 0, 0, 0,
				       0x00, 0x10, 0, 0, 0xff, 0xff, 0, 0, 0, 0, 0, 0,
				       0x00, 0xf0, 0, 0 };
	static const uint8_t dmem[] = { 0x87, 0x17, 0x00, 0x00, 0x0c, 0x01, 0, 0, 0, 0,
					0x00, 0x00, 0x00, 0xe0, 0xff, 0xff, 0xbf, 0xfe,
					0, 0, 0, 0, 0x00, 0x00, 0xc0, 0x1e };
	static const uint8_t qmem[] = { 0x8a, 0x2b, 0x00, 0x00, 0x0c, 0x07, 0, 0, 0, 0, 0, 0, 0, 0,
					0, 0, 0, 0, 0, 0x01, 0, 0,
					0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0, 0,
					0, 0, 0, 0, 0, 0, 0, 0,
					0, 0, 0, 0, 0, 0x01, 0, 0 };
	static const uint8_t end[] = { 0x79, 0x00 };
	/* Buffer () { IO, EndTag }: BufferSize 10 */
	static const uint8_t tmpl[] = { 0x11, 0x0d, 0x0a, 0x0a,
					0x47, 0x01, 0x70, 0x00, 0x70, 0x00, 0x01, 0x02, 0x79, 0x00 };

	fresh();
	aml_res_io(&b, 0x3f8, 0x3f8, 1, 8);
	CU_ASSERT(bytes_are(io, sizeof(io)));
	fresh();
	aml_res_irq_noflags(&b, 4);
	CU_ASSERT(bytes_are(irq4, sizeof(irq4)));
	fresh();
	aml_res_word_bus(&b, 0, 0xff);
	CU_ASSERT(bytes_are(bus, sizeof(bus)));
	fresh();
	aml_res_word_io(&b, 0xd00, 0xffff);
	CU_ASSERT(bytes_are(wio, sizeof(wio)));
	fresh();
	aml_res_dword_io(&b, 0x1000, 0xffff);
	CU_ASSERT(bytes_are(dio, sizeof(dio)));
	fresh();
	aml_res_dword_mem(&b, 0xe0000000, 0xfebfffff, AML_RES_NON_CACHEABLE);
	CU_ASSERT(bytes_are(dmem, sizeof(dmem)));
	fresh();
	aml_res_qword_mem(&b, 1ull << 40, (1ull << 40) + (1ull << 40) - 1, AML_RES_PREFETCHABLE);
	CU_ASSERT(bytes_are(qmem, sizeof(qmem)));
	fresh();
	aml_res_end_tag(&b);
	CU_ASSERT(bytes_are(end, sizeof(end)));
	fresh();
	aml_buffer_begin(&b);
	aml_res_io(&b, 0x70, 0x70, 1, 2);
	aml_res_end_tag(&b);
	aml_end(&b);
	CU_ASSERT(bytes_are(tmpl, sizeof(tmpl)));

	fresh();
	aml_res_irq_noflags(&b, 16);
	CU_ASSERT_EQUAL(aml_finish(&b), -EINVAL);
	fresh();
	aml_res_word_io(&b, 0x100, 0xff);
	CU_ASSERT_EQUAL(aml_finish(&b), -EINVAL);
	fresh();
	aml_res_io(&b, 0x100, 0xff, 1, 1);
	CU_ASSERT_EQUAL(aml_finish(&b), -EINVAL);
}

static void test_structure_errors(void)
{
	long len;

	fresh();
	aml_end(&b);				/* nothing open */
	CU_ASSERT_EQUAL(aml_finish(&b), -EINVAL);

	fresh();
	aml_scope_begin(&b, "\\_SB");		/* never closed */
	CU_ASSERT_EQUAL(aml_finish(&b), -EINVAL);

	fresh();
	for (int i = 0; i < AML_MAX_DEPTH; i++)
		aml_package_begin(&b);
	for (int i = 0; i < AML_MAX_DEPTH; i++)
		aml_end(&b);
	CU_ASSERT(aml_finish(&b) > 0);
	fresh();
	for (int i = 0; i <= AML_MAX_DEPTH; i++)
		aml_package_begin(&b);
	CU_ASSERT_EQUAL(aml_finish(&b), -EINVAL);

	/* Errors are sticky: nothing more is emitted after the first one. */
	fresh();
	aml_integer(&b, 7);
	aml_eisaid(&b, "bad");
	len = (long)b.len;
	aml_integer(&b, 0x1234);
	aml_end(&b);
	CU_ASSERT_EQUAL((long)b.len, len);
	CU_ASSERT_EQUAL(aml_finish(&b), -EINVAL);
}

/* A small DSDT-like tree exercising every object kind. */
static void emit_sample(struct aml_buf *ab)
{
	aml_name(ab, "\\_S5");
	aml_package_begin(ab);
	aml_integer(ab, 5);
	aml_integer(ab, 5);
	aml_end(ab);
	aml_scope_begin(ab, "\\_SB");
	aml_device_begin(ab, "PCI0");
	aml_name(ab, "_HID");
	aml_eisaid(ab, "PNP0A03");
	aml_name(ab, "_CRS");
	aml_buffer_begin(ab);
	aml_res_word_bus(ab, 0, 0xff);
	aml_res_io(ab, 0xcf8, 0xcf8, 1, 8);
	aml_res_qword_mem(ab, 1ull << 36, (1ull << 37) - 1, AML_RES_NON_CACHEABLE);
	aml_res_end_tag(ab);
	aml_end(ab);
	aml_name(ab, "_PRT");
	aml_package_begin(ab);
	for (int i = 0; i < 40; i++) {
		aml_package_begin(ab);
		aml_integer(ab, ((uint64_t)i << 16) | 0xffff);
		aml_integer(ab, (uint64_t)i % 4);
		aml_integer(ab, 0);
		aml_integer(ab, 16 + (uint64_t)i % 8);
		aml_end(ab);
	}
	aml_end(ab);
	aml_method_begin(ab, "_STA", 0, 0);
	aml_return(ab);
	aml_integer(ab, 0x0f);
	aml_end(ab);
	aml_end(ab);
	aml_end(ab);
}

/*
 * For every capacity short of the full size the emitter reports -ENOSPC and
 * writes nothing past the capacity; at the full size the bytes match.
 */
static void test_too_small(void)
{
	static uint8_t ref[4096], buf[4096 + 64];
	struct aml_buf ab;
	long full;
	int overflow = 0, wrong_rc = 0;

	aml_init(&ab, ref, sizeof(ref));
	emit_sample(&ab);
	full = aml_finish(&ab);
	CU_ASSERT_FATAL(full > 64);	/* PkgLengths of 2 bytes get exercised */
	CU_ASSERT_FATAL(full < 4096);
	for (long cap = 0; cap < full; cap++) {
		memset(buf, 0xa5, sizeof(buf));
		aml_init(&ab, buf, (size_t)cap);
		emit_sample(&ab);
		if (aml_finish(&ab) != -ENOSPC)
			wrong_rc++;
		for (size_t i = (size_t)cap; i < sizeof(buf); i++)
			if (buf[i] != 0xa5)
				overflow++;
	}
	CU_ASSERT_EQUAL(wrong_rc, 0);
	CU_ASSERT_EQUAL(overflow, 0);

	memset(buf, 0xa5, sizeof(buf));
	aml_init(&ab, buf, (size_t)full);
	emit_sample(&ab);
	CU_ASSERT_EQUAL(aml_finish(&ab), full);
	CU_ASSERT(memcmp(buf, ref, (size_t)full) == 0);
	CU_ASSERT_EQUAL(buf[full], 0xa5);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("aml", NULL, NULL);
	CU_add_test(s, "pkglen_encode", test_pkglen_encode);
	CU_add_test(s, "pkglen_for_body", test_pkglen_for_body);
	CU_add_test(s, "scope_pkglen_boundaries", test_scope_pkglen_boundaries);
	CU_add_test(s, "integers", test_integers);
	CU_add_test(s, "strings_and_eisaid", test_strings_and_eisaid);
	CU_add_test(s, "namestrings", test_namestrings);
	CU_add_test(s, "package_counts_elements", test_package_counts_elements);
	CU_add_test(s, "scope_device_method", test_scope_device_method);
	CU_add_test(s, "resource_descriptors", test_resource_descriptors);
	CU_add_test(s, "structure_errors", test_structure_errors);
	CU_add_test(s, "too_small", test_too_small);
	return cunit_run(CU_BRM_NORMAL);
}
