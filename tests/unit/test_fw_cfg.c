#include <CUnit/Basic.h>
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cunit_run.h"
#include "xenkvm/acpi.h"
#include "xenkvm/acpi_loader.h"
#include "xenkvm/fw_cfg.h"
#include "xenkvm/guest_mem.h"

/*
 * Guest RAM is the middle of a host buffer: 64 KiB at GPA 0 with 4 KiB of
 * guard on each side that no DMA may touch.
 */
#define GUARD    0x1000
#define RAM_SIZE 0x10000
static uint8_t host[GUARD + RAM_SIZE + GUARD];
static uint8_t *ram = host + GUARD;
static struct guest_mem gm;

static struct fw_cfg *new_dev(void)
{
	memset(&gm, 0, sizeof(gm));
	memset(host, 0xa5, sizeof(host));
	guest_mem_add(&gm, 0, RAM_SIZE, ram);
	return fw_cfg_new(&gm);
}

static bool guards_intact(void)
{
	for (size_t i = 0; i < GUARD; i++)
		if (host[i] != 0xa5 || host[GUARD + RAM_SIZE + i] != 0xa5)
			return false;
	return true;
}

static void sel(struct fw_cfg *fw, uint16_t key)
{
	fw_cfg_io(fw, 0, &key, 2, true);
}

static uint8_t rd8(struct fw_cfg *fw)
{
	uint8_t b = 0xee;

	fw_cfg_io(fw, 1, &b, 1, false);
	return b;
}

static void rd(struct fw_cfg *fw, void *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		((uint8_t *)buf)[i] = rd8(fw);
}

/* Writes a descriptor at `desc` and kicks it through the two 32-bit halves. */
static uint32_t dma(struct fw_cfg *fw, uint64_t desc, uint32_t control, uint32_t length, uint64_t addr)
{
	struct fw_cfg_dma_access a = {
		.control = htobe32(control), .length = htobe32(length), .address = htobe64(addr),
	};
	uint32_t hi = htobe32((uint32_t)(desc >> 32)), lo = htobe32((uint32_t)desc);

	if (desc + sizeof(a) <= RAM_SIZE)
		memcpy(ram + desc, &a, sizeof(a));
	fw_cfg_io(fw, 4, &hi, 4, true);
	fw_cfg_io(fw, 8, &lo, 4, true);
	if (desc + sizeof(a) > RAM_SIZE)
		return 0xdeadbeef;
	memcpy(&a, ram + desc, sizeof(a));
	return be32toh(a.control);
}

static void test_signature_and_features(void)
{
	struct fw_cfg *fw = new_dev();
	char sig[5] = { 0 };
	uint32_t id;
	uint8_t dmasig[8];

	CU_ASSERT_PTR_NOT_NULL_FATAL(fw);
	sel(fw, FW_CFG_SIGNATURE);
	rd(fw, sig, 4);
	CU_ASSERT_STRING_EQUAL(sig, "QEMU");
	CU_ASSERT_EQUAL(rd8(fw), 0);                 /* past the end */
	sel(fw, FW_CFG_ID);
	rd(fw, &id, 4);
	CU_ASSERT_EQUAL(le32toh(id), FW_CFG_ID_TRADITIONAL | FW_CFG_ID_DMA);
	/* Reselecting starts over. */
	sel(fw, FW_CFG_SIGNATURE);
	CU_ASSERT_EQUAL(rd8(fw), 'Q');
	/* A 4-byte read of the data port is four successive bytes. */
	sel(fw, FW_CFG_SIGNATURE);
	memset(sig, 0, sizeof(sig));
	fw_cfg_io(fw, 1, sig, 4, false);
	CU_ASSERT_STRING_EQUAL(sig, "QEMU");
	/* The DMA register reads back "QEMU CFG". */
	fw_cfg_io(fw, 4, dmasig, 4, false);
	fw_cfg_io(fw, 8, dmasig + 4, 4, false);
	CU_ASSERT_EQUAL(memcmp(dmasig, "QEMU CFG", 8), 0);
	/* An unknown key reads as zeros. */
	sel(fw, 0x1234);
	CU_ASSERT_EQUAL(rd8(fw), 0);
	fw_cfg_free(fw);
}

static void test_legacy_keys(void)
{
	struct fw_cfg *fw = new_dev();
	uint64_t v64;
	uint16_t v16;

	CU_ASSERT_EQUAL(fw_cfg_add_u64(fw, FW_CFG_RAM_SIZE, 0x12345678abull), 0);
	CU_ASSERT_EQUAL(fw_cfg_add_u16(fw, FW_CFG_NB_CPUS, 3), 0);
	CU_ASSERT_EQUAL(fw_cfg_add_u16(fw, FW_CFG_ARCH_LOCAL + 1, 7), 0);
	/* The device's own keys and the file range are refused. */
	CU_ASSERT_EQUAL(fw_cfg_add_u32(fw, FW_CFG_SIGNATURE, 0), -EINVAL);
	CU_ASSERT_EQUAL(fw_cfg_add_u32(fw, FW_CFG_FILE_DIR, 0), -EINVAL);
	CU_ASSERT_EQUAL(fw_cfg_add_u32(fw, FW_CFG_FILE_FIRST, 0), -EINVAL);
	sel(fw, FW_CFG_RAM_SIZE);
	rd(fw, &v64, 8);
	CU_ASSERT_EQUAL(le64toh(v64), 0x12345678abull);
	sel(fw, FW_CFG_NB_CPUS | FW_CFG_WRITE_CHANNEL);   /* the old write flag names the same item */
	rd(fw, &v16, 2);
	CU_ASSERT_EQUAL(le16toh(v16), 3);
	sel(fw, FW_CFG_ARCH_LOCAL + 1);
	rd(fw, &v16, 2);
	CU_ASSERT_EQUAL(le16toh(v16), 7);
	/* Data port writes are ignored. */
	sel(fw, FW_CFG_NB_CPUS);
	v16 = 0xffff;
	fw_cfg_io(fw, 1, &v16, 1, true);
	rd(fw, &v16, 2);
	CU_ASSERT_EQUAL(le16toh(v16), 3);
	fw_cfg_free(fw);
}

static void test_file_directory(void)
{
	struct fw_cfg *fw = new_dev();
	char long_name[FW_CFG_MAX_FILE_PATH + 1];
	struct fw_cfg_file f;
	uint32_t count;
	char buf[8] = { 0 };

	CU_ASSERT_EQUAL(fw_cfg_add_file(fw, "etc/one", "1", 1, false), 0);
	CU_ASSERT_EQUAL(fw_cfg_add_file(fw, "bootorder", "abcdef", 6, false), 0);
	CU_ASSERT_EQUAL(fw_cfg_add_file(fw, "bootorder", "x", 1, false), -EEXIST);
	CU_ASSERT_EQUAL(fw_cfg_add_file(fw, "", "x", 1, false), -EINVAL);
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = 0;
	CU_ASSERT_EQUAL(fw_cfg_add_file(fw, long_name, "x", 1, false), -EINVAL);

	sel(fw, FW_CFG_FILE_DIR);
	rd(fw, &count, 4);
	CU_ASSERT_EQUAL(be32toh(count), 2);
	rd(fw, &f, sizeof(f));
	CU_ASSERT_EQUAL(be32toh(f.size), 1);
	CU_ASSERT_EQUAL(be16toh(f.select), FW_CFG_FILE_FIRST);
	CU_ASSERT_STRING_EQUAL(f.name, "etc/one");
	rd(fw, &f, sizeof(f));
	CU_ASSERT_EQUAL(be32toh(f.size), 6);
	CU_ASSERT_STRING_EQUAL(f.name, "bootorder");
	CU_ASSERT_EQUAL(rd8(fw), 0);   /* the directory ends here */
	sel(fw, be16toh(f.select));
	rd(fw, buf, 7);
	CU_ASSERT_STRING_EQUAL(buf, "abcdef");
	fw_cfg_free(fw);
}

static void test_dma_read_skip_select(void)
{
	struct fw_cfg *fw = new_dev();
	uint8_t data[300];

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 1);
	CU_ASSERT_EQUAL(fw_cfg_add_file(fw, "etc/blob", data, sizeof(data), false), 0);

	/* select + read of the signature, as SeaBIOS's qemu_cfg_read_entry does */
	CU_ASSERT_EQUAL(dma(fw, 0x100, FW_CFG_SIGNATURE << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ,
			    4, 0x2000), 0);
	CU_ASSERT_EQUAL(memcmp(ram + 0x2000, "QEMU", 4), 0);
	/* select + skip 100, then read 8: bytes 100..107 */
	CU_ASSERT_EQUAL(dma(fw, 0x100, FW_CFG_FILE_FIRST << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_SKIP,
			    100, 0), 0);
	CU_ASSERT_EQUAL(dma(fw, 0x100, FW_CFG_DMA_CTL_READ, 8, 0x3000), 0);
	CU_ASSERT_EQUAL(memcmp(ram + 0x3000, data + 100, 8), 0);
	/* the data port continues where DMA stopped */
	CU_ASSERT_EQUAL(rd8(fw), data[108]);
	/* a read past the end: the rest of the buffer is zero-filled, no error */
	memset(ram + 0x4000, 0x77, 400);
	CU_ASSERT_EQUAL(dma(fw, 0x100, FW_CFG_FILE_FIRST << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ,
			    350, 0x4000), 0);
	CU_ASSERT_EQUAL(memcmp(ram + 0x4000, data, sizeof(data)), 0);
	CU_ASSERT_EQUAL(ram[0x4000 + 300], 0);
	CU_ASSERT_EQUAL(ram[0x4000 + 349], 0);
	CU_ASSERT_EQUAL(ram[0x4000 + 350], 0x77);   /* nothing past the length */
	/* a skip past the end, then a read: zeros */
	CU_ASSERT_EQUAL(dma(fw, 0x100, FW_CFG_FILE_FIRST << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_SKIP,
			    5000, 0), 0);
	ram[0x5000] = 0x77;
	CU_ASSERT_EQUAL(dma(fw, 0x100, FW_CFG_DMA_CTL_READ, 1, 0x5000), 0);
	CU_ASSERT_EQUAL(ram[0x5000], 0);
	/* a single 8-byte write of the address register also runs it */
	{
		struct fw_cfg_dma_access a = {
			.control = htobe32(FW_CFG_ID << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ),
			.length = htobe32(4), .address = htobe64(0x6000),
		};
		uint64_t addr = htobe64(0x200);

		memcpy(ram + 0x200, &a, sizeof(a));
		fw_cfg_io(fw, 4, &addr, 8, true);
		CU_ASSERT_EQUAL(ram[0x200] | ram[0x201] | ram[0x202] | ram[0x203], 0);
		CU_ASSERT_EQUAL(ram[0x6000], FW_CFG_ID_TRADITIONAL | FW_CFG_ID_DMA);
	}
	CU_ASSERT_TRUE(guards_intact());
	fw_cfg_free(fw);
}

static void test_dma_write(void)
{
	struct fw_cfg *fw = new_dev();
	uint8_t zero[16] = { 0 };
	const uint8_t *p;
	size_t len = 0;

	CU_ASSERT_EQUAL(fw_cfg_add_file(fw, "etc/ro", zero, sizeof(zero), false), 0);
	CU_ASSERT_EQUAL(fw_cfg_add_file(fw, "etc/rw", zero, sizeof(zero), true), 0);
	memcpy(ram + 0x3000, "0123456789abcdefXYZ", 19);
	/* write 4 bytes at offset 2 of the writable file */
	CU_ASSERT_EQUAL(dma(fw, 0x100, (FW_CFG_FILE_FIRST + 1) << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_SKIP,
			    2, 0), 0);
	CU_ASSERT_EQUAL(dma(fw, 0x100, FW_CFG_DMA_CTL_WRITE, 4, 0x3000), 0);
	p = fw_cfg_file_data(fw, "etc/rw", &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(len, 16);
	CU_ASSERT_EQUAL(memcmp(p + 2, "0123", 4), 0);
	CU_ASSERT_EQUAL(p[1], 0);
	CU_ASSERT_EQUAL(p[6], 0);
	/* past the file's end: error, file unchanged beyond its size */
	CU_ASSERT_EQUAL(dma(fw, 0x100, FW_CFG_DMA_CTL_WRITE, 11, 0x3000), FW_CFG_DMA_CTL_ERROR);
	/* a read-only file refuses writes */
	CU_ASSERT_EQUAL(dma(fw, 0x100, FW_CFG_FILE_FIRST << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_WRITE,
			    4, 0x3000), FW_CFG_DMA_CTL_ERROR);
	p = fw_cfg_file_data(fw, "etc/ro", &len);
	CU_ASSERT_EQUAL(memcmp(p, zero, sizeof(zero)), 0);
	/* so does a legacy key */
	CU_ASSERT_EQUAL(dma(fw, 0x100, FW_CFG_SIGNATURE << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_WRITE,
			    1, 0x3000), FW_CFG_DMA_CTL_ERROR);
	/* the source outside guest RAM: error, nothing copied */
	CU_ASSERT_EQUAL(dma(fw, 0x100, (FW_CFG_FILE_FIRST + 1) << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_WRITE,
			    4, RAM_SIZE - 2), FW_CFG_DMA_CTL_ERROR);
	p = fw_cfg_file_data(fw, "etc/rw", &len);
	CU_ASSERT_EQUAL(p[0], 0);
	fw_cfg_free(fw);
}

static void test_dma_bad_addresses(void)
{
	struct fw_cfg *fw = new_dev();
	uint8_t data[64];

	memset(data, 0x3c, sizeof(data));
	CU_ASSERT_EQUAL(fw_cfg_add_file(fw, "etc/blob", data, sizeof(data), false), 0);
	/* a destination running off the end of RAM: error, nothing written */
	CU_ASSERT_EQUAL(dma(fw, 0x100, FW_CFG_FILE_FIRST << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ,
			    64, RAM_SIZE - 32), FW_CFG_DMA_CTL_ERROR);
	CU_ASSERT_EQUAL(ram[RAM_SIZE - 32], 0xa5);
	/* an address that wraps the 64-bit space */
	CU_ASSERT_EQUAL(dma(fw, 0x100, FW_CFG_FILE_FIRST << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ,
			    64, UINT64_MAX - 8), FW_CFG_DMA_CTL_ERROR);
	/* a huge length */
	CU_ASSERT_EQUAL(dma(fw, 0x100, FW_CFG_FILE_FIRST << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ,
			    UINT32_MAX, 0x1000), FW_CFG_DMA_CTL_ERROR);
	CU_ASSERT_EQUAL(ram[0x1000], 0xa5);
	/* a destination in the guard below RAM (just under GPA 0 wraps) */
	CU_ASSERT_EQUAL(dma(fw, 0x100, FW_CFG_FILE_FIRST << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ,
			    8, (uint64_t)-4), FW_CFG_DMA_CTL_ERROR);
	/* an empty read succeeds wherever it points */
	CU_ASSERT_EQUAL(dma(fw, 0x100, FW_CFG_FILE_FIRST << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ,
			    0, UINT64_MAX), 0);
	/* descriptors outside RAM or straddling its end: dropped, nothing written */
	dma(fw, RAM_SIZE - 8, FW_CFG_DMA_CTL_READ, 4, 0x1000);
	dma(fw, 0x123456789ull, FW_CFG_DMA_CTL_READ, 4, 0x1000);
	CU_ASSERT_EQUAL(ram[0x1000], 0xa5);
	/* the device still works afterwards */
	CU_ASSERT_EQUAL(dma(fw, 0x100, FW_CFG_FILE_FIRST << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ,
			    64, 0x1000), 0);
	CU_ASSERT_EQUAL(memcmp(ram + 0x1000, data, 64), 0);
	CU_ASSERT_TRUE(guards_intact());
	fw_cfg_free(fw);

	/* without guest memory every DMA is dropped */
	fw = fw_cfg_new(NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(fw);
	{
		uint32_t z = 0;

		fw_cfg_io(fw, 8, &z, 4, true);
	}
	fw_cfg_free(fw);
}

/*
 * A loader like SeaBIOS's romfile_loader.c, run on the commands we emit:
 * files land at fixed places in `mem` (tables high, RSDP in the F segment).
 */
#define LMEM_SIZE 0x100000
#define TABLES_AT 0x20040u
#define RSDP_AT   0xf0010u

static uint32_t sum8(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

static uint64_t le(const uint8_t *p, unsigned int size)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < size; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static int run_loader(const struct acpi_loader_files *f, uint8_t *mem)
{
	bool have_tables = false, have_rsdp = false;

	for (size_t i = 0; i < f->nr_entries; i++) {
		const struct acpi_loader_entry *e = &f->loader[i];

		switch (e->command) {
		case ACPI_LOADER_ALLOCATE:
			if (!strcmp(e->alloc.file, ACPI_LOADER_TABLES_FILE) && e->alloc.zone == ACPI_LOADER_ZONE_HIGH &&
			    TABLES_AT % e->alloc.align == 0) {
				memcpy(mem + TABLES_AT, f->tables, f->tables_len);
				have_tables = true;
			} else if (!strcmp(e->alloc.file, ACPI_LOADER_RSDP_FILE) &&
				   e->alloc.zone == ACPI_LOADER_ZONE_FSEG && RSDP_AT % e->alloc.align == 0) {
				memcpy(mem + RSDP_AT, f->rsdp, f->rsdp_len);
				have_rsdp = true;
			} else {
				return -1;
			}
			break;
		case ACPI_LOADER_ADD_POINTER: {
			uint32_t base = !strcmp(e->pointer.dest_file, ACPI_LOADER_RSDP_FILE) ? RSDP_AT : TABLES_AT;
			size_t flen = base == RSDP_AT ? f->rsdp_len : f->tables_len;
			uint64_t v;

			if (!have_tables || !have_rsdp || strcmp(e->pointer.src_file, ACPI_LOADER_TABLES_FILE) ||
			    (e->pointer.size != 4 && e->pointer.size != 8) || e->pointer.offset + e->pointer.size > flen)
				return -1;
			v = le(mem + base + e->pointer.offset, e->pointer.size);
			if (v >= f->tables_len)   /* must be an offset into the source file */
				return -1;
			v += TABLES_AT;
			for (unsigned int b = 0; b < e->pointer.size; b++)
				mem[base + e->pointer.offset + b] = (uint8_t)(v >> (8 * b));
			break;
		}
		case ACPI_LOADER_ADD_CHECKSUM: {
			uint32_t base = !strcmp(e->cksum.file, ACPI_LOADER_RSDP_FILE) ? RSDP_AT : TABLES_AT;
			size_t flen = base == RSDP_AT ? f->rsdp_len : f->tables_len;

			if (e->cksum.offset >= flen || e->cksum.start > flen || e->cksum.length > flen - e->cksum.start)
				return -1;
			mem[base + e->cksum.offset] =
				(uint8_t)(mem[base + e->cksum.offset] - sum8(mem + base + e->cksum.start, e->cksum.length));
			break;
		}
		default:
			return -1;
		}
	}
	return have_tables && have_rsdp ? 0 : -1;
}

/* A table at guest address `a`: inside the loaded tables file, checksum valid. */
static const uint8_t *table_at(const uint8_t *mem, uint64_t a, const char *sig, size_t tables_len)
{
	const uint8_t *t;

	if (a < TABLES_AT || a + 36 > TABLES_AT + tables_len)
		return NULL;
	t = mem + a;
	if (memcmp(t, sig, 4) || a + le(t + 4, 4) > TABLES_AT + tables_len)
		return NULL;
	if (strcmp(sig, "FACS") && sum8(t, le(t + 4, 4)) != 0)
		return NULL;
	return t;
}

static void test_table_loader(void)
{
	struct acpi_config cfg = { .nr_cpus = 4, .pci_mmio32_base = 0xc0000000, .pci_mmio32_size = 0x3ec00000 };
	uint8_t *blob = calloc(1, ACPI_TABLES_SIZE), *mem = calloc(1, LMEM_SIZE);
	struct acpi_loader_files f;
	const uint8_t *rsdp, *rsdt, *xsdt, *fadt;
	uint64_t rsdp_gpa = 1;
	int used;

	CU_ASSERT_PTR_NOT_NULL_FATAL(blob);
	CU_ASSERT_PTR_NOT_NULL_FATAL(mem);
	used = acpi_build(&cfg, blob, 0, ACPI_TABLES_SIZE, &rsdp_gpa);
	CU_ASSERT_FATAL(used > 0);
	CU_ASSERT_EQUAL(rsdp_gpa, 0);
	CU_ASSERT_EQUAL_FATAL(acpi_loader_build(blob, (size_t)used, &f), 0);
	/* Nothing is valid before the loader ran: checksums are zeroed. */
	CU_ASSERT_EQUAL(f.rsdp[8], 0);
	CU_ASSERT_EQUAL(f.rsdp[32], 0);
	CU_ASSERT_EQUAL_FATAL(run_loader(&f, mem), 0);

	rsdp = mem + RSDP_AT;
	CU_ASSERT_EQUAL(memcmp(rsdp, "RSD PTR ", 8), 0);
	CU_ASSERT_EQUAL(sum8(rsdp, 20), 0);
	CU_ASSERT_EQUAL(sum8(rsdp, 36), 0);
	rsdt = table_at(mem, le(rsdp + 16, 4), "RSDT", f.tables_len);
	xsdt = table_at(mem, le(rsdp + 24, 8), "XSDT", f.tables_len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rsdt);
	CU_ASSERT_PTR_NOT_NULL_FATAL(xsdt);
	CU_ASSERT_EQUAL_FATAL(le(rsdt + 4, 4), 36 + 2 * 4);
	CU_ASSERT_EQUAL_FATAL(le(xsdt + 4, 4), 36 + 2 * 8);
	for (unsigned int i = 0; i < 2; i++)
		CU_ASSERT_EQUAL(le(rsdt + 36 + 4 * i, 4), le(xsdt + 36 + 8 * i, 8));
	fadt = table_at(mem, le(rsdt + 36, 4), "FACP", f.tables_len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(fadt);
	CU_ASSERT_PTR_NOT_NULL(table_at(mem, le(rsdt + 40, 4), "APIC", f.tables_len));
	CU_ASSERT_PTR_NOT_NULL(table_at(mem, le(fadt + 36, 4), "FACS", f.tables_len));
	CU_ASSERT_EQUAL(le(fadt + 36, 4) % 64, 0);
	CU_ASSERT_PTR_NOT_NULL(table_at(mem, le(fadt + 40, 4), "DSDT", f.tables_len));
	CU_ASSERT_EQUAL(le(fadt + 140, 8), le(fadt + 40, 4));
	CU_ASSERT_EQUAL(le(fadt + 132, 8), 0);   /* X_FIRMWARE_CTRL stays absent */
	acpi_loader_files_free(&f);

	/* Not tables, or a pointer leading out of the blob: refused. */
	CU_ASSERT_EQUAL(acpi_loader_build(mem, 100, &f), -EINVAL);
	blob[16] = 0xf0;
	blob[17] = 0xff;
	CU_ASSERT_EQUAL(acpi_loader_build(blob, (size_t)used, &f), -EINVAL);
	CU_ASSERT_PTR_NULL(f.loader);
	free(blob);
	free(mem);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("fw_cfg", NULL, NULL);
	CU_add_test(s, "signature and features", test_signature_and_features);
	CU_add_test(s, "legacy keys", test_legacy_keys);
	CU_add_test(s, "file directory", test_file_directory);
	CU_add_test(s, "DMA read/skip/select", test_dma_read_skip_select);
	CU_add_test(s, "DMA write", test_dma_write);
	CU_add_test(s, "DMA bad addresses", test_dma_bad_addresses);
	CU_add_test(s, "table-loader", test_table_loader);
	return cunit_run(CU_BRM_NORMAL);
}
