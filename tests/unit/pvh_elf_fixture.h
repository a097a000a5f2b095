/* Crafted PVH ELF images for the unit tests: an ELF header, a PT_LOAD
 * segment of code at 1 MiB (0x100 bytes in the file, a page in memory), and
 * Xen notes (a GUEST_OS note, then PHYS32_ENTRY) in a PT_NOTE segment or
 * only in an SHT_NOTE section.  Offsets are fixed so tests can corrupt them. */
#ifndef XENKVM_TESTS_PVH_ELF_FIXTURE_H
#define XENKVM_TESTS_PVH_ELF_FIXTURE_H

#include <elf.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <xen/elfnote.h>

#define FIX_LEN        0x600
#define FIX_PHOFF      0x40
#define FIX_NOTE_OFF   0x100
#define FIX_NOTE_LEN   (20 + 24)       /* GUEST_OS "linux\0" (24 bytes), PHYS32 (20) */
#define FIX_PHYS32_DESC (FIX_NOTE_OFF + 24 + 16)
#define FIX_CODE_OFF   0x200
#define FIX_CODE_LEN   0x100
#define FIX_LOAD_ADDR  0x100000u
#define FIX_LOAD_MEMSZ 0x1000u
#define FIX_SHOFF      0x400

enum fix_note { FIX_NOTE_PHDR, FIX_NOTE_SECTION, FIX_NOTE_NONE };

static inline void fix_put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

static inline void fix_notes(uint8_t *img, uint32_t entry)
{
	uint8_t *n = img + FIX_NOTE_OFF;

	fix_put32(n, 4); fix_put32(n + 4, 6); fix_put32(n + 8, XEN_ELFNOTE_GUEST_OS);
	memcpy(n + 12, "Xen\0linux\0\0\0", 12);
	n += 24;
	fix_put32(n, 4); fix_put32(n + 4, 4); fix_put32(n + 8, XEN_ELFNOTE_PHYS32_ENTRY);
	memcpy(n + 12, "Xen", 4);
	fix_put32(n + 16, entry);
}

/* Fills img[FIX_LEN]; returns its length. */
static inline size_t pvh_elf_fixture(uint8_t *img, bool is64, enum fix_note where, uint32_t entry)
{
	memset(img, 0, FIX_LEN);
	memset(img + FIX_CODE_OFF, 0x90, FIX_CODE_LEN);
	if (where != FIX_NOTE_NONE)
		fix_notes(img, entry);
	if (is64) {
		Elf64_Ehdr h = { .e_type = ET_EXEC, .e_machine = EM_X86_64, .e_version = EV_CURRENT,
				 .e_entry = 0xffffffff81000000ull, .e_phoff = FIX_PHOFF,
				 .e_ehsize = sizeof(Elf64_Ehdr), .e_phentsize = sizeof(Elf64_Phdr),
				 .e_phnum = where == FIX_NOTE_PHDR ? 2 : 1,
				 .e_shoff = where == FIX_NOTE_SECTION ? FIX_SHOFF : 0,
				 .e_shentsize = sizeof(Elf64_Shdr),
				 .e_shnum = where == FIX_NOTE_SECTION ? 2 : 0 };
		Elf64_Phdr ph[2] = {
			{ .p_type = PT_LOAD, .p_flags = PF_R | PF_X, .p_offset = FIX_CODE_OFF,
			  .p_vaddr = 0xffffffff81000000ull, .p_paddr = FIX_LOAD_ADDR,
			  .p_filesz = FIX_CODE_LEN, .p_memsz = FIX_LOAD_MEMSZ, .p_align = 0x1000 },
			{ .p_type = PT_NOTE, .p_offset = FIX_NOTE_OFF, .p_filesz = FIX_NOTE_LEN, .p_align = 4 },
		};
		Elf64_Shdr sh[2] = {
			{ 0 },
			{ .sh_type = SHT_NOTE, .sh_offset = FIX_NOTE_OFF, .sh_size = FIX_NOTE_LEN, .sh_addralign = 4 },
		};

		memcpy(h.e_ident, ELFMAG, SELFMAG);
		h.e_ident[EI_CLASS] = ELFCLASS64;
		h.e_ident[EI_DATA] = ELFDATA2LSB;
		h.e_ident[EI_VERSION] = EV_CURRENT;
		memcpy(img, &h, sizeof(h));
		memcpy(img + FIX_PHOFF, ph, sizeof(ph));
		memcpy(img + FIX_SHOFF, sh, sizeof(sh));
	} else {
		Elf32_Ehdr h = { .e_type = ET_EXEC, .e_machine = EM_386, .e_version = EV_CURRENT,
				 .e_entry = FIX_LOAD_ADDR, .e_phoff = FIX_PHOFF,
				 .e_ehsize = sizeof(Elf32_Ehdr), .e_phentsize = sizeof(Elf32_Phdr),
				 .e_phnum = where == FIX_NOTE_PHDR ? 2 : 1,
				 .e_shoff = where == FIX_NOTE_SECTION ? FIX_SHOFF : 0,
				 .e_shentsize = sizeof(Elf32_Shdr),
				 .e_shnum = where == FIX_NOTE_SECTION ? 2 : 0 };
		Elf32_Phdr ph[2] = {
			{ .p_type = PT_LOAD, .p_flags = PF_R | PF_X, .p_offset = FIX_CODE_OFF,
			  .p_vaddr = FIX_LOAD_ADDR, .p_paddr = FIX_LOAD_ADDR,
			  .p_filesz = FIX_CODE_LEN, .p_memsz = FIX_LOAD_MEMSZ, .p_align = 0x1000 },
			{ .p_type = PT_NOTE, .p_offset = FIX_NOTE_OFF, .p_filesz = FIX_NOTE_LEN, .p_align = 4 },
		};
		Elf32_Shdr sh[2] = {
			{ 0 },
			{ .sh_type = SHT_NOTE, .sh_offset = FIX_NOTE_OFF, .sh_size = FIX_NOTE_LEN, .sh_addralign = 4 },
		};

		memcpy(h.e_ident, ELFMAG, SELFMAG);
		h.e_ident[EI_CLASS] = ELFCLASS32;
		h.e_ident[EI_DATA] = ELFDATA2LSB;
		h.e_ident[EI_VERSION] = EV_CURRENT;
		memcpy(img, &h, sizeof(h));
		memcpy(img + FIX_PHOFF, ph, sizeof(ph));
		memcpy(img + FIX_SHOFF, sh, sizeof(sh));
	}
	return FIX_LEN;
}

#endif
