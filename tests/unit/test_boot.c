#include <CUnit/Basic.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cunit_run.h"
#include "xenkvm/boot.h"
#include "xenkvm/vm.h"
#include "bzimage_fixture.h"

#define IMG_LEN (64 * 1024)

static uint8_t img[IMG_LEN];

static struct setup_header *make_image(void)
{
	memset(img, 0, sizeof(img));
	return bzimage_fixture(img);
}

static void test_parse_ok(void)
{
	struct bzimage bz;
	char err[128];

	make_image();
	CU_ASSERT_EQUAL_FATAL(bzimage_parse(img, sizeof(img), sizeof(img), &bz, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(bz.setup_size, 5 * 512);
	CU_ASSERT_EQUAL(bz.kernel_size, IMG_LEN - 5 * 512);
	CU_ASSERT_EQUAL(bz.init_size, 0x800000);
	CU_ASSERT_EQUAL(bz.protocol, 0x020f);
	CU_ASSERT_EQUAL(bz.cmdline_size, 2047);
	CU_ASSERT_EQUAL(bz.hdr.boot_flag, 0xaa55);
}

static void test_parse_header_only(void)
{
	struct bzimage bz;
	char err[128];

	/* Only the setup is read into memory; the file length gives the kernel size. */
	make_image();
	CU_ASSERT_EQUAL_FATAL(bzimage_parse(img, 0x1000, 20u << 20, &bz, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(bz.kernel_size, (20u << 20) - 5 * 512);
	CU_ASSERT_EQUAL(bz.init_size, (20u << 20) - 5 * 512);   /* at least the kernel itself */
	make_image()->setup_sects = 20;
	CU_ASSERT_EQUAL(bzimage_parse(img, 0x1000, 20u << 20, &bz, err, sizeof(err)), -EINVAL);
}

static void test_parse_setup_sects_zero_means_four(void)
{
	struct bzimage bz;
	char err[128];

	make_image()->setup_sects = 0;
	CU_ASSERT_EQUAL_FATAL(bzimage_parse(img, sizeof(img), sizeof(img), &bz, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(bz.setup_size, 5 * 512);
}

static void expect_reject(size_t len, const char *needle)
{
	struct bzimage bz;
	char err[160] = "";

	CU_ASSERT_EQUAL(bzimage_parse(img, len, len, &bz, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, needle));
}

static void test_parse_rejects(void)
{
	make_image();
	expect_reject(0x100, "too small");
	make_image()->header = 0;
	expect_reject(sizeof(img), "not a Linux bzImage");
	make_image()->boot_flag = 0;
	expect_reject(sizeof(img), "not a Linux bzImage");
	make_image()->version = 0x0204;
	expect_reject(sizeof(img), "too old");
	make_image()->loadflags = 0;
	expect_reject(sizeof(img), "zImage");
	make_image()->xloadflags = 0;
	expect_reject(sizeof(img), "64-bit");
	make_image()->setup_sects = 200;   /* setup larger than the file */
	expect_reject(0x4000, "larger than the file");
}

static void test_e820_layout(void)
{
	struct boot_e820_entry e[16];
	unsigned int n = e820_build(e, 16, 256ull << 20, 0, 0);
	uint64_t ram = 0;

	CU_ASSERT_EQUAL_FATAL(n, 5);
	for (unsigned int i = 0; i < n; i++) {
		if (i)
			CU_ASSERT(e[i].addr >= e[i - 1].addr + e[i - 1].size);   /* sorted, disjoint */
		if (e[i].type == 1)
			ram += e[i].size;
	}
	CU_ASSERT_EQUAL(e[0].addr, 0);
	CU_ASSERT_EQUAL(e[0].type, 1);
	CU_ASSERT_EQUAL(e[2].addr, BOOT_BIOS_START);     /* ACPI tables area reserved */
	CU_ASSERT_EQUAL(e[2].type, 2);
	CU_ASSERT_EQUAL(e[3].addr, 0x100000);
	CU_ASSERT_EQUAL(e[3].addr + e[3].size, 256ull << 20);
	CU_ASSERT_EQUAL(ram, (256ull << 20) - (0x100000 - BOOT_EBDA_START));

	n = e820_build(e, 16, VM_LOWMEM_LIMIT, 1ull << 30, 0);
	CU_ASSERT_EQUAL_FATAL(n, 6);
	CU_ASSERT_EQUAL(e[5].addr, VM_HIGHMEM_BASE);
	CU_ASSERT_EQUAL(e[5].size, 1ull << 30);
	CU_ASSERT_EQUAL(e[5].type, 1);
	CU_ASSERT_EQUAL(e820_build(e, 2, 256ull << 20, 0, 0), 2);   /* never writes past max */
	/* special pages at the top of low RAM are reserved, RAM stops below them */
	n = e820_build(e, 16, 256ull << 20, 0, 0x2000);
	CU_ASSERT_EQUAL_FATAL(n, 6);
	CU_ASSERT_EQUAL(e[3].addr + e[3].size, (256ull << 20) - 0x2000);
	CU_ASSERT_EQUAL(e[4].addr, (256ull << 20) - 0x2000);
	CU_ASSERT_EQUAL(e[4].size, 0x2000);
	CU_ASSERT_EQUAL(e[4].type, 2);
}

static void test_initrd_place(void)
{
	uint64_t a = 0;

	CU_ASSERT_EQUAL(boot_initrd_place(0x900000, 256ull << 20, 0x7fffffff, 0x100001, &a), 0);
	CU_ASSERT_EQUAL(a % 4096, 0);
	CU_ASSERT(a + 0x100001 <= 256ull << 20);
	CU_ASSERT(a >= (256ull << 20) - 0x102000);
	/* addr_max below RAM top caps it */
	CU_ASSERT_EQUAL(boot_initrd_place(0x900000, 1ull << 30, 0x1fffffff, 4096, &a), 0);
	CU_ASSERT_EQUAL(a, 0x20000000 - 4096);
	/* too big: would overlap the kernel, or exceed memory */
	CU_ASSERT_EQUAL(boot_initrd_place(0x900000, 32ull << 20, 0x7fffffff, 24ull << 20, &a), -ENOSPC);
	CU_ASSERT_EQUAL(boot_initrd_place(0x900000, 32ull << 20, 0x7fffffff, 64ull << 20, &a), -ENOSPC);
}

static void test_boot_params(void)
{
	struct boot_params *bp = calloc(1, sizeof(*bp));
	struct boot_layout l = {
		.cmdline_addr = BOOT_CMDLINE_ADDR, .initrd_addr = 0x5000000, .initrd_size = 0x123456,
		.rsdp_addr = 0xe0000, .lowmem = 512ull << 20, .highmem = 0,
	};
	struct bzimage bz;
	char err[64];

	make_image();
	CU_ASSERT_EQUAL_FATAL(bzimage_parse(img, sizeof(img), sizeof(img), &bz, err, sizeof(err)), 0);
	boot_params_build(bp, &bz, &l);
	CU_ASSERT_EQUAL(bp->hdr.header, 0x53726448);
	CU_ASSERT_EQUAL(bp->hdr.type_of_loader, 0xff);
	CU_ASSERT(bp->hdr.loadflags & CAN_USE_HEAP);
	CU_ASSERT(bp->hdr.loadflags & LOADED_HIGH);
	CU_ASSERT_EQUAL(bp->hdr.cmd_line_ptr, BOOT_CMDLINE_ADDR);
	CU_ASSERT_EQUAL(bp->hdr.ramdisk_image, 0x5000000);
	CU_ASSERT_EQUAL(bp->hdr.ramdisk_size, 0x123456);
	CU_ASSERT_EQUAL(bp->ext_ramdisk_image, 0);
	CU_ASSERT_EQUAL(bp->acpi_rsdp_addr, 0xe0000);
	CU_ASSERT_EQUAL(bp->e820_entries, 5);
	CU_ASSERT_EQUAL(bp->e820_table[3].addr + bp->e820_table[3].size, 512ull << 20);
	free(bp);
}

static void test_tables_and_entry(void)
{
	uint8_t *ram = calloc(1, 0x100000);
	uint64_t *pml4 = (uint64_t *)(ram + BOOT_PML4_ADDR);
	uint64_t *pdpt = (uint64_t *)(ram + BOOT_PDPT_ADDR);
	uint64_t *pd = (uint64_t *)(ram + BOOT_PD_ADDR);
	uint64_t *gdt = (uint64_t *)(ram + BOOT_GDT_ADDR);
	struct kvm_regs regs;
	struct kvm_sregs sregs;

	boot_write_tables(ram);
	CU_ASSERT_EQUAL(pml4[0] & ~0xfffull, BOOT_PDPT_ADDR);
	CU_ASSERT_EQUAL(pdpt[3] & ~0xfffull, BOOT_PD_ADDR + 3 * 4096);
	/* identity: the 2 MiB page covering 3 GiB + 2 MiB maps itself */
	CU_ASSERT_EQUAL(pd[3 * 512 + 1] & ~0x1fffffull, (3ull << 30) + (2ull << 20));
	CU_ASSERT(pd[5] & 0x80);   /* PS */
	CU_ASSERT_EQUAL((gdt[BOOT_CS / 8] >> 53) & 1, 1);   /* L bit of the code segment */

	boot_entry_state(&regs, &sregs, BOOT_KERNEL_ADDR + 0x200);
	CU_ASSERT_EQUAL(regs.rip, BOOT_KERNEL_ADDR + 0x200);
	CU_ASSERT_EQUAL(regs.rsi, BOOT_ZERO_PAGE);
	CU_ASSERT_EQUAL(sregs.cs.selector, BOOT_CS);
	CU_ASSERT_EQUAL(sregs.ds.selector, BOOT_DS);
	CU_ASSERT_EQUAL(sregs.cs.l, 1);
	CU_ASSERT(sregs.efer & (1u << 10));   /* LMA */
	CU_ASSERT(sregs.cr0 & 0x80000000u);   /* PG */
	CU_ASSERT_EQUAL(sregs.cr3, BOOT_PML4_ADDR);
	free(ram);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("boot", NULL, NULL);
	CU_add_test(s, "parse_ok", test_parse_ok);
	CU_add_test(s, "parse_header_only", test_parse_header_only);
	CU_add_test(s, "parse_setup_sects_zero_means_four", test_parse_setup_sects_zero_means_four);
	CU_add_test(s, "parse_rejects", test_parse_rejects);
	CU_add_test(s, "e820_layout", test_e820_layout);
	CU_add_test(s, "initrd_place", test_initrd_place);
	CU_add_test(s, "boot_params", test_boot_params);
	CU_add_test(s, "tables_and_entry", test_tables_and_entry);
	return cunit_run(CU_BRM_NORMAL);
}
