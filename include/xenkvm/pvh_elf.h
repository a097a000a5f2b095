/*
 * The ELF side of Xen's PVH entry (docs/misc/pvh.pandoc): an ELF image, 32-
 * or 64-bit, whose Xen ELF notes carry XEN_ELFNOTE_PHYS32_ENTRY, the
 * physical address a vCPU enters in 32-bit flat protected mode.  This is
 * how Xen's toolstack starts PVH kernels (Linux's vmlinux, FreeBSD,
 * NetBSD) and, with firmware_override, ELF images in HVM domains.
 * Pure functions over a buffer: the file is the user's, so every offset,
 * size and address is checked (tests/unit/test_pvh_elf.c, the
 * kernel_image fuzzer).
 */
#ifndef XENKVM_PVH_ELF_H
#define XENKVM_PVH_ELF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pvh_elf_info {
	uint32_t entry;          /* XEN_ELFNOTE_PHYS32_ENTRY */
	uint64_t load_lo;        /* lowest p_paddr of a PT_LOAD segment */
	uint64_t load_hi;        /* highest p_paddr + p_memsz */
	bool is64;               /* ELFCLASS64 */
};

/* Whether buf starts with the ELF magic (anything else may be a bzImage). */
bool pvh_elf_is_elf(const uint8_t *buf, size_t len);

/* Checks the image: a little-endian x86 (EM_386 or EM_X86_64) executable
 * whose PT_LOAD segments lie in the file and below ram_limit, with a Xen
 * PHYS32_ENTRY note (in a PT_NOTE segment, else an SHT_NOTE section) inside
 * the file that points into a loaded segment.  0, or -EINVAL with err
 * saying why; -ENOENT (err set) when it is a valid ELF without the note. */
int pvh_elf_parse(const uint8_t *buf, size_t len, uint64_t ram_limit, struct pvh_elf_info *pi,
		  char *err, size_t errlen);

/* Copies the PT_LOAD segments to their physical addresses in ram (guest
 * physical 0 .. ram_size) and zeroes their bss tails.  The image must
 * have passed pvh_elf_parse() with a ram_limit <= ram_size; checked again.
 * 0 or -EINVAL with err. */
int pvh_elf_place(const uint8_t *buf, size_t len, uint8_t *ram, uint64_t ram_size, char *err,
		  size_t errlen);

#endif
