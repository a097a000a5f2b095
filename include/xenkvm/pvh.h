/*
 * Xen's PVH entry (docs/misc/pvh.pandoc in Xen): the boot vCPU starts at
 * the image's XEN_ELFNOTE_PHYS32_ENTRY in 32-bit flat protected mode with
 * paging off and %ebx = the physical address of an hvm_start_info
 * (version 1: command line, the ramdisk as module 0, the memory map, the
 * RSDP).  Used for type="pvh" domains and for firmware_override ELF images
 * in HVM domains.  The layout helpers are pure for unit tests; pvh_load()
 * reads the files and writes guest RAM.
 */
#ifndef XENKVM_PVH_H
#define XENKVM_PVH_H

#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>

/* Below boot_params' page (unused by a PVH boot) and the 64-bit tables. */
#define PVH_START_INFO_ADDR 0x6000ull
#define PVH_START_INFO_SIZE 0x1000ull

#define PVH_CS 0x10   /* flat 32-bit code in the GDT at BOOT_GDT_ADDR */
#define PVH_DS 0x18   /* flat data */

struct pvh_layout {
	uint64_t cmdline_addr;    /* 0: no command line */
	uint64_t initrd_addr;
	uint64_t initrd_size;     /* 0: no module */
	uint64_t rsdp_addr;       /* 0: no ACPI */
	uint64_t lowmem, highmem; /* RAM below / above 4 GiB */
	uint64_t special;         /* reserved at the top of low RAM */
};

/* Writes the hvm_start_info, the module list and the memory map into mem,
 * the host view of `cap` bytes at guest physical `gpa`.  Returns the bytes
 * used, or -ENOSPC. */
int pvh_start_info_build(uint8_t *mem, uint64_t gpa, size_t cap, const struct pvh_layout *l);

/* The flat GDT the entry state's selectors name (host pointer to GPA 0). */
void pvh_write_gdt(uint8_t *ram);
/* The boot vCPU's registers at a PVH entry. */
void pvh_entry_state(struct kvm_regs *regs, struct kvm_sregs *sregs, uint32_t entry,
		     uint64_t start_info);

struct pvh_request {
	const char *kernel;       /* an ELF image, or a bzImage whose payload is one */
	const char *initrd;       /* NULL: none */
	const char *cmdline;      /* NULL: none */
	uint64_t rsdp_addr;       /* 0: no ACPI tables */
	uint64_t special;         /* reserved at the top of low RAM */
};

struct vm;
/* Loads the image, the initrd and the command line and writes the
 * hvm_start_info at PVH_START_INFO_ADDR and the GDT; *entry_r is the PHYS32
 * entry.  On error, prints why and returns -errno (-EINVAL: the user's
 * files are unusable, e.g. an image without the PVH note). */
int pvh_load(struct vm *vm, const struct pvh_request *req, uint32_t *entry_r);

#endif
