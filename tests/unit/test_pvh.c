/* The PVH entry: the ELF/PHYS32-note parser on crafted images (good ones
 * in both classes, and truncated, note-less and lying ones), the
 * hvm_start_info layout, the entry registers, and pvh_load() from files. */
#include <CUnit/Basic.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <stdint.h>
#include <xen/xen.h>
#include <xen/arch-x86/hvm/start_info.h>

#include "cunit_run.h"
#include "pvh_elf_fixture.h"
#include "xenkvm/boot.h"
#include "xenkvm/pvh.h"
#include "xenkvm/pvh_elf.h"
#include "xenkvm/vm.h"

#define RAM_LIMIT (64ull << 20)
#define ENTRY (FIX_LOAD_ADDR + 0x10)

static uint8_t img[FIX_LEN];

static int parse(size_t len, struct pvh_elf_info *pi, char *err, size_t errlen)
{
	return pvh_elf_parse(img, len, RAM_LIMIT, pi, err, errlen);
}

static void test_parse_64_and_32(void)
{
	struct pvh_elf_info pi;
	char err[200];

	for (int is64 = 0; is64 <= 1; is64++) {
		size_t len = pvh_elf_fixture(img, is64, FIX_NOTE_PHDR, ENTRY);

		CU_ASSERT_EQUAL_FATAL(parse(len, &pi, err, sizeof(err)), 0);
		CU_ASSERT_EQUAL(pi.entry, ENTRY);
		CU_ASSERT_EQUAL(pi.is64, is64);
		CU_ASSERT_EQUAL(pi.load_lo, FIX_LOAD_ADDR);
		CU_ASSERT_EQUAL(pi.load_hi, FIX_LOAD_ADDR + FIX_LOAD_MEMSZ);
	}
}

static void test_parse_note_in_section(void)
{
	struct pvh_elf_info pi;
	char err[200];

	for (int is64 = 0; is64 <= 1; is64++) {
		size_t len = pvh_elf_fixture(img, is64, FIX_NOTE_SECTION, ENTRY + 4);

		CU_ASSERT_EQUAL_FATAL(parse(len, &pi, err, sizeof(err)), 0);
		CU_ASSERT_EQUAL(pi.entry, ENTRY + 4);
	}
}

static void test_parse_8_byte_note(void)
{
	struct pvh_elf_info pi;
	char err[200];
	size_t len = pvh_elf_fixture(img, true, FIX_NOTE_PHDR, 0);
	uint64_t v = ENTRY;
	Elf64_Phdr ph;

	/* The PHYS32 note is the last thing in the note area: grow it in place. */
	fix_put32(img + FIX_NOTE_OFF + 24 + 4, 8);
	memcpy(img + FIX_PHYS32_DESC, &v, 8);
	memcpy(&ph, img + FIX_PHOFF + sizeof(ph), sizeof(ph));
	ph.p_filesz += 4;
	memcpy(img + FIX_PHOFF + sizeof(ph), &ph, sizeof(ph));
	CU_ASSERT_EQUAL_FATAL(parse(len, &pi, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(pi.entry, ENTRY);
}

static void test_refuses_no_note(void)
{
	struct pvh_elf_info pi;
	char err[200] = "";

	for (int is64 = 0; is64 <= 1; is64++) {
		size_t len = pvh_elf_fixture(img, is64, FIX_NOTE_NONE, 0);

		CU_ASSERT_EQUAL(parse(len, &pi, err, sizeof(err)), -ENOENT);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "PHYS32_ENTRY"));
	}
	/* A note area holding other notes only. */
	pvh_elf_fixture(img, true, FIX_NOTE_PHDR, ENTRY);
	fix_put32(img + FIX_NOTE_OFF + 24 + 8, XEN_ELFNOTE_ENTRY);
	CU_ASSERT_EQUAL(parse(FIX_LEN, &pi, err, sizeof(err)), -ENOENT);
	/* The right type under another owner's name is not Xen's. */
	pvh_elf_fixture(img, true, FIX_NOTE_PHDR, ENTRY);
	memcpy(img + FIX_NOTE_OFF + 24 + 12, "Lin", 4);
	CU_ASSERT_EQUAL(parse(FIX_LEN, &pi, err, sizeof(err)), -ENOENT);
}

static void test_refuses_truncated(void)
{
	struct pvh_elf_info pi;
	char err[200];
	static const size_t cuts[] = { 0, 3, 16, 0x3f, 0x60, FIX_NOTE_OFF + 10, FIX_CODE_OFF + 0x80 };

	for (int is64 = 0; is64 <= 1; is64++) {
		for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
			pvh_elf_fixture(img, is64, FIX_NOTE_PHDR, ENTRY);
			err[0] = 0;
			CU_ASSERT_EQUAL(parse(cuts[i], &pi, err, sizeof(err)), -EINVAL);
			CU_ASSERT(err[0] != 0);
		}
	}
}

static void set_phdr64(int idx, void (*fn)(Elf64_Phdr *))
{
	Elf64_Phdr ph;

	memcpy(&ph, img + FIX_PHOFF + idx * sizeof(ph), sizeof(ph));
	fn(&ph);
	memcpy(img + FIX_PHOFF + idx * sizeof(ph), &ph, sizeof(ph));
}

static void note_off_out(Elf64_Phdr *p) { p->p_offset = FIX_LEN - 8; }
static void note_huge(Elf64_Phdr *p) { p->p_offset = UINT64_MAX - 4; p->p_filesz = 64; }
static void load_over_ram(Elf64_Phdr *p) { p->p_paddr = RAM_LIMIT - 0x800; }
static void load_wraps(Elf64_Phdr *p) { p->p_paddr = UINT64_MAX - 0x100; }
static void load_filesz_big(Elf64_Phdr *p) { p->p_filesz = p->p_memsz + 1; }
static void load_off_out(Elf64_Phdr *p) { p->p_offset = FIX_LEN - 0x10; }
/* A segment that loads nothing (memsz 0) but claims file bytes at the entry. */
static void note_to_empty_load(Elf64_Phdr *p)
{
	*p = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = 0, .p_paddr = 0x200000, .p_filesz = 0x100 };
}

static void test_refuses_bad_notes_and_segments(void)
{
	struct pvh_elf_info pi;
	char err[200];
	static const uint32_t bad_entries[] = {
		FIX_LOAD_ADDR - 1,
		FIX_LOAD_ADDR + FIX_CODE_LEN,   /* in memsz (bss), not in the file's code */
		FIX_LOAD_ADDR + FIX_LOAD_MEMSZ,
		0, 0xffffffffu,
	};

	for (size_t i = 0; i < sizeof(bad_entries) / sizeof(bad_entries[0]); i++) {
		pvh_elf_fixture(img, true, FIX_NOTE_PHDR, bad_entries[i]);
		CU_ASSERT_EQUAL(parse(FIX_LEN, &pi, err, sizeof(err)), -EINVAL);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "outside"));
	}
	/* A note's sizes running past its area. */
	pvh_elf_fixture(img, true, FIX_NOTE_PHDR, ENTRY);
	fix_put32(img + FIX_NOTE_OFF + 4, 0xfffffff0u);
	CU_ASSERT_EQUAL(parse(FIX_LEN, &pi, err, sizeof(err)), -EINVAL);
	pvh_elf_fixture(img, true, FIX_NOTE_PHDR, ENTRY);
	fix_put32(img + FIX_NOTE_OFF + 24, 0xffffffffu);
	CU_ASSERT_EQUAL(parse(FIX_LEN, &pi, err, sizeof(err)), -EINVAL);
	/* A PHYS32 value of an odd size. */
	pvh_elf_fixture(img, true, FIX_NOTE_PHDR, ENTRY);
	fix_put32(img + FIX_NOTE_OFF + 24 + 4, 2);
	CU_ASSERT_EQUAL(parse(FIX_LEN, &pi, err, sizeof(err)), -EINVAL);

	void (*const bad_note[])(Elf64_Phdr *) = { note_off_out, note_huge };
	void (*const bad_load[])(Elf64_Phdr *) = { load_over_ram, load_wraps, load_filesz_big, load_off_out };

	for (size_t i = 0; i < 2; i++) {
		pvh_elf_fixture(img, true, FIX_NOTE_PHDR, ENTRY);
		set_phdr64(1, bad_note[i]);
		CU_ASSERT_EQUAL(parse(FIX_LEN, &pi, err, sizeof(err)), -EINVAL);
	}
	for (size_t i = 0; i < 4; i++) {
		pvh_elf_fixture(img, true, FIX_NOTE_PHDR, ENTRY);
		set_phdr64(0, bad_load[i]);
		CU_ASSERT_EQUAL(parse(FIX_LEN, &pi, err, sizeof(err)), -EINVAL);
	}
	/* Found by the fuzzer: an entry "in" a segment of memsz 0. The note
	 * stays found through the section table. */
	pvh_elf_fixture(img, true, FIX_NOTE_SECTION, 0x200010);
	{
		uint16_t two = 2;

		memcpy(img + offsetof(Elf64_Ehdr, e_phnum), &two, 2);
	}
	set_phdr64(1, note_to_empty_load);
	CU_ASSERT_EQUAL(parse(FIX_LEN, &pi, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "outside"));
}

static void test_refuses_wrong_kind(void)
{
	struct pvh_elf_info pi;
	char err[200];
	uint16_t v;

	pvh_elf_fixture(img, true, FIX_NOTE_PHDR, ENTRY);
	v = EM_AARCH64;
	memcpy(img + offsetof(Elf64_Ehdr, e_machine), &v, 2);
	CU_ASSERT_EQUAL(parse(FIX_LEN, &pi, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "x86"));
	pvh_elf_fixture(img, true, FIX_NOTE_PHDR, ENTRY);
	v = ET_REL;
	memcpy(img + offsetof(Elf64_Ehdr, e_type), &v, 2);
	CU_ASSERT_EQUAL(parse(FIX_LEN, &pi, err, sizeof(err)), -EINVAL);
	pvh_elf_fixture(img, true, FIX_NOTE_PHDR, ENTRY);
	img[EI_DATA] = ELFDATA2MSB;
	CU_ASSERT_EQUAL(parse(FIX_LEN, &pi, err, sizeof(err)), -EINVAL);
	pvh_elf_fixture(img, true, FIX_NOTE_PHDR, ENTRY);
	v = 8;   /* phentsize smaller than a program header */
	memcpy(img + offsetof(Elf64_Ehdr, e_phentsize), &v, 2);
	CU_ASSERT_EQUAL(parse(FIX_LEN, &pi, err, sizeof(err)), -EINVAL);
	CU_ASSERT_FALSE(pvh_elf_is_elf((const uint8_t *)"MZ\x90\0", 4));
}

static void test_place(void)
{
	uint8_t *ram = malloc(RAM_LIMIT);
	char err[200];

	CU_ASSERT_PTR_NOT_NULL_FATAL(ram);
	memset(ram, 0xaa, RAM_LIMIT);
	pvh_elf_fixture(img, false, FIX_NOTE_PHDR, ENTRY);
	CU_ASSERT_EQUAL(pvh_elf_place(img, FIX_LEN, ram, RAM_LIMIT, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(ram[FIX_LOAD_ADDR], 0x90);
	CU_ASSERT_EQUAL(ram[FIX_LOAD_ADDR + FIX_CODE_LEN - 1], 0x90);
	CU_ASSERT_EQUAL(ram[FIX_LOAD_ADDR + FIX_CODE_LEN], 0);             /* bss zeroed */
	CU_ASSERT_EQUAL(ram[FIX_LOAD_ADDR + FIX_LOAD_MEMSZ - 1], 0);
	CU_ASSERT_EQUAL(ram[FIX_LOAD_ADDR + FIX_LOAD_MEMSZ], 0xaa);       /* nothing beyond */
	CU_ASSERT_EQUAL(ram[FIX_LOAD_ADDR - 1], 0xaa);
	/* RAM smaller than the segment: refused, nothing written past it. */
	CU_ASSERT_EQUAL(pvh_elf_place(img, FIX_LEN, ram, FIX_LOAD_ADDR + 0x800, err, sizeof(err)), -EINVAL);
	free(ram);
}

static void test_start_info(void)
{
	static uint8_t page[PVH_START_INFO_SIZE];
	struct pvh_layout l = {
		.cmdline_addr = BOOT_CMDLINE_ADDR, .initrd_addr = 0x3000000, .initrd_size = 12345,
		.rsdp_addr = 0xe0000, .lowmem = 512ull << 20, .highmem = 0, .special = 0x2000,
	};
	struct hvm_start_info si;
	struct hvm_modlist_entry mod;
	struct hvm_memmap_table_entry mm;
	uint64_t ram = 0;
	int n;

	n = pvh_start_info_build(page, PVH_START_INFO_ADDR, sizeof(page), &l);
	CU_ASSERT_FATAL(n > (int)sizeof(si));
	memcpy(&si, page, sizeof(si));
	CU_ASSERT_EQUAL(si.magic, XEN_HVM_START_MAGIC_VALUE);
	CU_ASSERT_EQUAL(si.version, 1);
	CU_ASSERT_EQUAL(si.cmdline_paddr, BOOT_CMDLINE_ADDR);
	CU_ASSERT_EQUAL(si.rsdp_paddr, 0xe0000);
	CU_ASSERT_EQUAL(si.nr_modules, 1);
	CU_ASSERT_EQUAL(si.reserved, 0);
	CU_ASSERT_FATAL(si.modlist_paddr >= PVH_START_INFO_ADDR + sizeof(si));
	memcpy(&mod, page + (si.modlist_paddr - PVH_START_INFO_ADDR), sizeof(mod));
	CU_ASSERT_EQUAL(mod.paddr, 0x3000000);
	CU_ASSERT_EQUAL(mod.size, 12345);
	CU_ASSERT_FATAL(si.memmap_entries >= 3);
	CU_ASSERT_FATAL(si.memmap_paddr + si.memmap_entries * sizeof(mm) <= PVH_START_INFO_ADDR + (uint64_t)n);
	for (unsigned int i = 0; i < si.memmap_entries; i++) {
		memcpy(&mm, page + (si.memmap_paddr - PVH_START_INFO_ADDR) + i * sizeof(mm), sizeof(mm));
		CU_ASSERT_EQUAL(mm.reserved, 0);
		if (mm.type == XEN_HVM_MEMMAP_TYPE_RAM)
			ram += mm.size;
		/* The special pages at the top of low RAM are reserved. */
		if (mm.addr == l.lowmem - l.special)
			CU_ASSERT_EQUAL(mm.type, XEN_HVM_MEMMAP_TYPE_RESERVED);
	}
	/* RAM below the EBDA, and 1 MiB up to the special pages. */
	CU_ASSERT_EQUAL(ram, BOOT_EBDA_START + (l.lowmem - l.special - BOOT_BIOS_END));

	/* Without an initrd: no module list. */
	l.initrd_size = 0;
	CU_ASSERT(pvh_start_info_build(page, PVH_START_INFO_ADDR, sizeof(page), &l) > 0);
	memcpy(&si, page, sizeof(si));
	CU_ASSERT_EQUAL(si.nr_modules, 0);
	CU_ASSERT_EQUAL(si.modlist_paddr, 0);
	/* Too small a page is refused, not overrun. */
	CU_ASSERT_EQUAL(pvh_start_info_build(page, PVH_START_INFO_ADDR, sizeof(si) + 8, &l), -ENOSPC);
}

static void test_entry_state(void)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	uint8_t *ram = calloc(1, 0x1000);
	uint64_t cs;

	CU_ASSERT_PTR_NOT_NULL_FATAL(ram);
	pvh_entry_state(&regs, &sregs, ENTRY, PVH_START_INFO_ADDR);
	CU_ASSERT_EQUAL(regs.rip, ENTRY);
	CU_ASSERT_EQUAL(regs.rbx, PVH_START_INFO_ADDR);
	CU_ASSERT_EQUAL(regs.rflags, 0x2);                 /* interrupts off */
	CU_ASSERT_EQUAL(sregs.cr0 & 0x80000001u, 1);       /* PE, not PG */
	CU_ASSERT_EQUAL(sregs.efer, 0);
	CU_ASSERT_EQUAL(sregs.cs.db, 1);
	CU_ASSERT_EQUAL(sregs.cs.l, 0);
	CU_ASSERT_EQUAL(sregs.cs.base, 0);
	CU_ASSERT_EQUAL(sregs.cs.limit, 0xffffffffu);
	CU_ASSERT_EQUAL(sregs.ds.type & 0x8, 0);           /* data, not code */
	CU_ASSERT_EQUAL(sregs.ss.selector, PVH_DS);
	CU_ASSERT_EQUAL(sregs.tr.type, 0xb);
	pvh_write_gdt(ram);
	memcpy(&cs, ram + BOOT_GDT_ADDR + PVH_CS, 8);
	CU_ASSERT_EQUAL((cs >> 53) & 1, 0);                /* L = 0 */
	CU_ASSERT_EQUAL((cs >> 54) & 1, 1);                /* D = 1: 32-bit */
	free(ram);
}

/* pvh_load() from files into a RAM-only struct vm. */
static char *write_tmp(const void *data, size_t len)
{
	char *path = strdup("/tmp/test_pvh.XXXXXX");
	int fd = mkstemp(path);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(write(fd, data, len) == (ssize_t)len);
	close(fd);
	return path;
}

static void test_load(void)
{
	struct vm vm = { 0 };
	char *kernel, *initrd, *nonote;
	static const char rd[] = "initramfs-bytes";
	struct hvm_start_info si;
	struct hvm_modlist_entry mod;
	uint32_t entry = 0;

	vm.ram_size = vm.lowmem_size = RAM_LIMIT;
	vm.ram = calloc(1, RAM_LIMIT);
	CU_ASSERT_PTR_NOT_NULL_FATAL(vm.ram);
	pvh_elf_fixture(img, true, FIX_NOTE_PHDR, ENTRY);
	kernel = write_tmp(img, FIX_LEN);
	initrd = write_tmp(rd, sizeof(rd));
	pvh_elf_fixture(img, true, FIX_NOTE_NONE, 0);
	nonote = write_tmp(img, FIX_LEN);

	CU_ASSERT_EQUAL(pvh_load(&vm, &(struct pvh_request){ .kernel = kernel, .initrd = initrd,
				 .cmdline = "console=hvc0", .rsdp_addr = 0xe0000, .special = 0x2000 }, &entry), 0);
	CU_ASSERT_EQUAL(entry, ENTRY);
	CU_ASSERT_EQUAL(vm.ram[FIX_LOAD_ADDR], 0x90);
	memcpy(&si, vm.ram + PVH_START_INFO_ADDR, sizeof(si));
	CU_ASSERT_EQUAL(si.magic, XEN_HVM_START_MAGIC_VALUE);
	CU_ASSERT_STRING_EQUAL((char *)vm.ram + si.cmdline_paddr, "console=hvc0");
	CU_ASSERT_EQUAL_FATAL(si.nr_modules, 1);
	memcpy(&mod, vm.ram + si.modlist_paddr, sizeof(mod));
	CU_ASSERT_EQUAL(mod.size, sizeof(rd));
	CU_ASSERT(mod.paddr >= FIX_LOAD_ADDR + FIX_LOAD_MEMSZ);
	CU_ASSERT(mod.paddr + mod.size <= RAM_LIMIT - 0x2000);
	CU_ASSERT_EQUAL(memcmp(vm.ram + mod.paddr, rd, sizeof(rd)), 0);

	CU_ASSERT_EQUAL(pvh_load(&vm, &(struct pvh_request){ .kernel = nonote }, &entry), -EINVAL);
	CU_ASSERT_EQUAL(pvh_load(&vm, &(struct pvh_request){ .kernel = "/nonexistent/vmlinux" }, &entry), -EINVAL);
	/* A file that is neither ELF nor bzImage. */
	CU_ASSERT_EQUAL(pvh_load(&vm, &(struct pvh_request){ .kernel = initrd }, &entry), -EINVAL);
	unlink(kernel);
	unlink(initrd);
	unlink(nonote);
	free(kernel);
	free(initrd);
	free(nonote);
	free(vm.ram);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("pvh", NULL, NULL);
	CU_add_test(s, "parse_64_and_32", test_parse_64_and_32);
	CU_add_test(s, "parse_note_in_section", test_parse_note_in_section);
	CU_add_test(s, "parse_8_byte_note", test_parse_8_byte_note);
	CU_add_test(s, "refuses_no_note", test_refuses_no_note);
	CU_add_test(s, "refuses_truncated", test_refuses_truncated);
	CU_add_test(s, "refuses_bad_notes_and_segments", test_refuses_bad_notes_and_segments);
	CU_add_test(s, "refuses_wrong_kind", test_refuses_wrong_kind);
	CU_add_test(s, "place", test_place);
	CU_add_test(s, "start_info", test_start_info);
	CU_add_test(s, "entry_state", test_entry_state);
	CU_add_test(s, "load", test_load);
	return cunit_run(CU_BRM_NORMAL);
}
