/*
 * The bzImage's own decompressor, done by the VMM: the payload (lz4, zstd,
 * gzip or xz) is unpacked on the host, vmlinux's ELF segments are put at
 * their physical addresses and, for KASLR, the kernel's relocation table is
 * applied with a random virtual offset, so the boot vCPU enters vmlinux's
 * startup_64 directly.  Under emulation a guest spends seconds doing this
 * itself (bench/boot).  Pure functions over buffers, for unit tests and fuzzing.
 */
#ifndef XENKVM_BZIMAGE_UNPACK_H
#define XENKVM_BZIMAGE_UNPACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KERNEL_MAP_BASE   0xffffffff80000000ull  /* __START_KERNEL_map */
#define KERNEL_IMAGE_SIZE (1ull << 30)           /* x86_64 with RANDOMIZE_BASE */

enum payload_format {
	PAYLOAD_UNKNOWN,   /* bzip2, lzma, lzo, ...: left to the guest's decompressor */
	PAYLOAD_GZIP,
	PAYLOAD_XZ,
	PAYLOAD_LZ4,       /* the kernel's "legacy" lz4 framing */
	PAYLOAD_ZSTD,
};

enum payload_format payload_format(const uint8_t *p, size_t len);
const char *payload_format_name(enum payload_format f);

/* Unpacks a payload whose last 4 bytes give the unpacked size (as the
 * kernel's build appends) into a new buffer of exactly that size, which must
 * not exceed max_out.  0; -ENOTSUP for a format left to the guest; -EINVAL
 * for corrupt or oversized data (err says); -ENOMEM. */
int payload_decompress(const uint8_t *in, size_t len, size_t max_out, uint8_t **out, size_t *out_len,
		       char *err, size_t errlen);
/* The same into the caller's buffer of `cap` bytes. */
int payload_decompress_into(const uint8_t *in, size_t len, uint8_t *out, size_t cap, size_t *out_len,
			    char *err, size_t errlen);

/* What vmlinux_parse() found in an unpacked payload (vmlinux ELF, then the
 * relocation table the build appends when the kernel supports KASLR). */
struct vmlinux_info {
	uint64_t entry;          /* physical address of startup_64 */
	uint64_t load_lo;        /* lowest p_paddr of a PT_LOAD segment */
	uint64_t load_hi;        /* highest p_paddr + p_memsz */
	uint64_t file_hi;        /* highest p_paddr + p_filesz: where relocations may point */
	size_t elf_end;          /* bytes of ELF before the relocation table */
	bool relocatable;        /* a relocation table is present */
};

/* Checks the ELF (x86_64 executable, PT_LOAD segments in the file and below
 * ram_size, entry inside a loaded segment) and the relocation table's
 * structure.  0 or -EINVAL with err. */
int vmlinux_parse(const uint8_t *buf, size_t len, uint64_t ram_size, struct vmlinux_info *vi,
		  char *err, size_t errlen);

/* Copies the segments into ram (guest physical 0 .. ram_size), zeroes their
 * memsz tails and, when virt_offset is not 0, relocates the image by it as
 * the kernel's decompressor does for KASLR.  Checks every relocation target.
 * 0 or -EINVAL with err (ram may then hold a partial image). */
int vmlinux_place(const uint8_t *buf, size_t len, const struct vmlinux_info *vi, uint8_t *ram,
		  uint64_t ram_size, uint64_t virt_offset, char *err, size_t errlen);

/* vmlinux_place() for an image unpacked straight into guest RAM at `base`
 * (len bytes, parsed into vi): each segment is moved down to its place,
 * bss tails zeroed, then relocated, sparing a copy of the whole kernel.
 * -ENOTSUP when the layout does not allow it (a segment would move up,
 * segments out of file order, a bss tail over the relocation table): RAM is
 * then untouched and the caller copies the image out for vmlinux_place().
 * Else as vmlinux_place(). */
int vmlinux_place_in_ram(uint8_t *ram, uint64_t ram_size, uint64_t base, size_t len,
			 const struct vmlinux_info *vi, uint64_t virt_offset, char *err, size_t errlen);

/* The virtual offset KASLR gives for `random`, as the kernel's decompressor
 * picks it: a multiple of `align` keeping [load_addr, load_addr +
 * image_size) inside the kernel's 1 GiB mapping.  0 when nothing fits. */
uint64_t vmlinux_kaslr_offset(uint64_t load_addr, uint64_t image_size, uint64_t align, uint64_t random);

/* Whether the command line holds the word `opt` (e.g. "nokaslr"). */
bool cmdline_has_word(const char *cmdline, const char *opt);

#endif
