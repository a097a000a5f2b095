/*
 * Direct boot of a Linux bzImage (Documentation/arch/x86/boot.rst):
 * vmlinux unpacked on the host (or the protected-mode kernel at 1 MiB, which
 * unpacks itself), boot_params ("zero page"), command line, initrd at the
 * top of low RAM, identity page tables, and the 64-bit entry.
 * The layout and parsing helpers are pure for unit tests; boot_load_linux()
 * does the file I/O and writes into guest RAM.
 */
#ifndef XENKVM_BOOT_H
#define XENKVM_BOOT_H

#include <asm/bootparam.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define BOOT_GDT_ADDR      0x0500ull
#define BOOT_ZERO_PAGE     0x7000ull
#define BOOT_STACK_TOP     0x8ff0ull
#define BOOT_PML4_ADDR     0x9000ull
#define BOOT_PDPT_ADDR     0xa000ull
#define BOOT_PD_ADDR       0xb000ull   /* 4 pages: identity map of 4 GiB in 2 MiB pages */
#define BOOT_CMDLINE_ADDR  0x20000ull
#define BOOT_CMDLINE_MAX   0x10000ull
#define BOOT_KERNEL_ADDR   0x100000ull
#define BOOT_ALIGN_2M      (2ull << 20)   /* a 64-bit kernel's load alignment */
#define BOOT_EBDA_START    0x9fc00ull
#define BOOT_BIOS_START    0xe0000ull  /* ACPI tables live in 0xE0000-0xFFFFF */
#define BOOT_BIOS_END      0x100000ull

#define BOOT_CS 0x10   /* __BOOT_CS / __BOOT_DS the boot protocol requires */
#define BOOT_DS 0x18

struct bzimage {
	uint16_t protocol;          /* e.g. 0x020f */
	uint32_t setup_size;        /* bytes of real-mode setup, incl. boot sector */
	uint32_t kernel_size;       /* protected-mode part */
	uint32_t init_size;         /* memory the kernel needs from its load address */
	uint32_t initrd_addr_max;
	uint32_t cmdline_size;
	uint16_t xloadflags;
	struct setup_header hdr;    /* as found in the image */
};

/* Parses the first `len` bytes of an image of `file_len` bytes (the setup
 * fits in 128 KiB).  0, or -EINVAL with `err` saying what is wrong. */
int bzimage_parse(const uint8_t *img, size_t len, uint64_t file_len, struct bzimage *bz,
		  char *err, size_t errlen);

/* The guest's memory map for `lowmem` bytes below 4 GiB and `highmem`
 * above; the top `special` bytes of low RAM are reserved for the VMM. */
unsigned int e820_build(struct boot_e820_entry *e, unsigned int max, uint64_t lowmem, uint64_t highmem,
			uint64_t special);

/* Highest page-aligned address for an initrd of `size` bytes between
 * `kernel_end` and min(lowmem, addr_max + 1).  0 or -ENOSPC. */
int boot_initrd_place(uint64_t kernel_end, uint64_t lowmem, uint64_t addr_max, uint64_t size,
		      uint64_t *addr_r);

struct boot_layout {
	uint64_t cmdline_addr;
	uint32_t cmdline_len;       /* without NUL */
	uint64_t initrd_addr;
	uint64_t initrd_size;
	uint64_t rsdp_addr;
	uint64_t lowmem;
	uint64_t highmem;
	uint64_t special;           /* reserved at the top of low RAM */
};

void boot_params_build(struct boot_params *bp, const struct bzimage *bz, const struct boot_layout *l);

/* Identity page tables and GDT in guest RAM (host pointer to GPA 0). */
void boot_write_tables(uint8_t *ram);
/* Register state of the BSP at a 64-bit entry point. */
void boot_entry_state(struct kvm_regs *regs, struct kvm_sregs *sregs, uint64_t entry);
/* `path` opened read-only: a regular file of at most `limit` bytes, its size
 * in *size_r.  The fd, or -errno (-EFBIG: too large) with a message. */
int boot_open_image(const char *what, const char *path, uint64_t limit, uint64_t *size_r);
/* All of len bytes of `path` (open as fd) at off into dst; 0, or -EIO with
 * a message naming the file. */
int boot_read_at(int fd, const char *path, void *dst, size_t len, off_t off);

struct boot_request {
	const char *kernel;
	const char *initrd;         /* NULL: none */
	const char *cmdline;        /* NULL: empty */
	uint64_t rsdp_addr;
	uint64_t special;           /* reserved at the top of low RAM */
	/* Enter the bzImage's own decompressor instead of unpacking it on the
	 * host (xenkvm/bzimage_unpack.h); also the fallback for payloads the
	 * host cannot unpack. */
	bool guest_decompress;
};

struct vm;
/* Loads kernel, initrd and command line and writes boot_params; *entry_r is
 * where the boot vCPU starts.  On error, prints why and returns -errno
 * (-EINVAL: the user's files are unusable). */
int boot_load_linux(struct vm *vm, const struct boot_request *req, uint64_t *entry_r);

#endif
