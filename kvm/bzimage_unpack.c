#include <elf.h>
#include <errno.h>
#include <lz4.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "xenkvm/bzimage_unpack.h"

#define LZ4_LEGACY_MAGIC 0x184c2102u
#define LZ4_LEGACY_BLOCK (8u << 20)   /* each legacy block unpacks to at most 8 MiB */

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

enum payload_format payload_format(const uint8_t *p, size_t len)
{
	if (len >= 2 && p[0] == 0x1f && (p[1] == 0x8b || p[1] == 0x9e))
		return PAYLOAD_GZIP;
	if (len >= 6 && !memcmp(p, "\xfd" "7zXZ\0", 6))
		return PAYLOAD_XZ;
	if (len >= 4 && get_le32(p) == LZ4_LEGACY_MAGIC)
		return PAYLOAD_LZ4;
	if (len >= 4 && get_le32(p) == 0xfd2fb528u)
		return PAYLOAD_ZSTD;
	return PAYLOAD_UNKNOWN;
}

const char *payload_format_name(enum payload_format f)
{
	static const char *const names[] = {
		[PAYLOAD_UNKNOWN] = "unknown", [PAYLOAD_GZIP] = "gzip", [PAYLOAD_XZ] = "xz",
		[PAYLOAD_LZ4] = "lz4", [PAYLOAD_ZSTD] = "zstd",
	};

	return (unsigned int)f < sizeof(names) / sizeof(names[0]) ? names[f] : "unknown";
}

/* The kernel's lz4 framing: a magic, then blocks of (le32 size, raw lz4
 * block), where a block may also be another magic (concatenated streams). */
static int unpack_lz4(const uint8_t *in, size_t len, uint8_t *out, size_t out_len)
{
	size_t ip = 4, op = 0;

	while (op < out_len) {
		uint32_t csize;
		size_t want;
		int n;

		if (len - ip < 4)
			return -EINVAL;
		csize = get_le32(in + ip);
		ip += 4;
		if (csize == LZ4_LEGACY_MAGIC)
			continue;
		if (csize == 0 || csize > len - ip || csize > (uint32_t)LZ4_compressBound(LZ4_LEGACY_BLOCK))
			return -EINVAL;
		want = out_len - op < LZ4_LEGACY_BLOCK ? out_len - op : LZ4_LEGACY_BLOCK;
		n = LZ4_decompress_safe((const char *)in + ip, (char *)out + op, (int)csize, (int)want);
		if (n <= 0)
			return -EINVAL;
		ip += csize;
		op += (size_t)n;
	}
	return 0;
}

static int unpack_zstd(const uint8_t *in, size_t len, uint8_t *out, size_t out_len)
{
	size_t n = ZSTD_decompress(out, out_len, in, len);

	return ZSTD_isError(n) || n != out_len ? -EINVAL : 0;
}

static int unpack_gzip(const uint8_t *in, size_t len, uint8_t *out, size_t out_len)
{
	z_stream z;
	int zr;

	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
		return -ENOMEM;
	z.next_in = (Bytef *)(uintptr_t)in;
	z.next_out = out;
	/* zlib counts in uInt; kernel payloads are far below 4 GiB (checked by the caller). */
	z.avail_in = (uInt)len;
	z.avail_out = (uInt)out_len;
	zr = inflate(&z, Z_FINISH);
	inflateEnd(&z);
	return zr == Z_STREAM_END && z.total_out == out_len ? 0 : -EINVAL;
}

static int unpack_xz(const uint8_t *in, size_t len, uint8_t *out, size_t out_len)
{
	uint64_t memlimit = 256ull << 20;
	size_t ip = 0, op = 0;
	lzma_ret r;

	r = lzma_stream_buffer_decode(&memlimit, 0, NULL, in, &ip, len, out, &op, out_len);
	if (r == LZMA_MEM_ERROR)
		return -ENOMEM;
	return r == LZMA_OK && op == out_len ? 0 : -EINVAL;
}

int payload_decompress_into(const uint8_t *in, size_t len, uint8_t *out, size_t cap, size_t *out_len,
			    char *err, size_t errlen)
{
	enum payload_format f = payload_format(in, len);
	size_t size;
	int rc;

	*out_len = 0;
	if (f == PAYLOAD_UNKNOWN)
		return -ENOTSUP;
	if (len < 8 || len > UINT32_MAX) {
		snprintf(err, errlen, "%s payload of %zu bytes is implausible", payload_format_name(f), len);
		return -EINVAL;
	}
	size = get_le32(in + len - 4);
	if (size == 0 || size > cap) {
		snprintf(err, errlen, "%s payload claims to unpack to %zu bytes (at most %zu fit)",
			 payload_format_name(f), size, cap);
		return -EINVAL;
	}
	len -= 4;
	switch (f) {
	case PAYLOAD_GZIP: rc = unpack_gzip(in, len, out, size); break;
	case PAYLOAD_XZ:   rc = unpack_xz(in, len, out, size); break;
	case PAYLOAD_LZ4:  rc = unpack_lz4(in, len, out, size); break;
	case PAYLOAD_ZSTD: rc = unpack_zstd(in, len, out, size); break;
	default:           rc = -ENOTSUP; break;
	}
	if (rc == -EINVAL)
		snprintf(err, errlen, "%s payload is corrupt or not %zu bytes unpacked", payload_format_name(f),
			 size);
	if (!rc)
		*out_len = size;
	return rc;
}

int payload_decompress(const uint8_t *in, size_t len, size_t max_out, uint8_t **out, size_t *out_len,
		       char *err, size_t errlen)
{
	size_t size = len >= 8 ? get_le32(in + len - 4) : 0;
	int rc;

	*out = NULL;
	*out_len = 0;
	if (payload_format(in, len) == PAYLOAD_UNKNOWN)
		return -ENOTSUP;
	/* Checked again by payload_decompress_into(), which also says why. */
	if (size == 0 || size > max_out)
		return payload_decompress_into(in, len, NULL, max_out, out_len, err, errlen);
	*out = malloc(size);
	if (!*out)
		return -ENOMEM;
	rc = payload_decompress_into(in, len, *out, size, out_len, err, errlen);
	if (rc) {
		free(*out);
		*out = NULL;
	}
	return rc;
}

/* --- vmlinux ------------------------------------------------------------- */

/* The relocation table, read from the end of the unpacked payload as the
 * kernel's decompressor reads it: le32 entries, each a sign-extended
 * kernel virtual address; from the end, 32-bit relocations up to a 0, then
 * inverse 32-bit relocations up to a 0, then 64-bit ones up to a 0. */
enum reloc_kind { RELOC_32, RELOC_32_INVERSE, RELOC_64, RELOC_KINDS };

/* Walks the table; with ram, applies `delta` to each target.  0 or -EINVAL. */
static int relocs_walk(const uint8_t *buf, size_t len, const struct vmlinux_info *vi, uint8_t *ram,
		       uint64_t delta, char *err, size_t errlen)
{
	static const char *const what[RELOC_KINDS] = { "32-bit", "inverse 32-bit", "64-bit" };
	size_t pos = len;

	for (int kind = RELOC_32; kind < RELOC_KINDS; kind++) {
		unsigned int width = kind == RELOC_64 ? 8 : 4;

		for (;;) {
			uint64_t va, pa;
			uint8_t *p;

			if (pos < vi->elf_end + 4) {
				snprintf(err, errlen, "relocation table has no end");
				return -EINVAL;
			}
			pos -= 4;
			va = (uint64_t)(int64_t)(int32_t)get_le32(buf + pos);
			if (!va)
				break;
			pa = va - KERNEL_MAP_BASE;
			if (pa < vi->load_lo || pa > vi->file_hi || vi->file_hi - pa < width) {
				snprintf(err, errlen, "%s relocation at %#llx is outside the kernel", what[kind],
					 (unsigned long long)va);
				return -EINVAL;
			}
			if (!ram)
				continue;
			p = ram + pa;
			if (kind == RELOC_64) {
				uint64_t v;

				memcpy(&v, p, 8);
				v += delta;
				memcpy(p, &v, 8);
			} else {
				uint32_t v;

				memcpy(&v, p, 4);
				v = kind == RELOC_32 ? v + (uint32_t)delta : v - (uint32_t)delta;
				memcpy(p, &v, 4);
			}
		}
	}
	return 0;
}

int vmlinux_parse(const uint8_t *buf, size_t len, uint64_t ram_size, struct vmlinux_info *vi,
		  char *err, size_t errlen)
{
	Elf64_Ehdr eh;
	size_t end;
	bool entry_ok = false;
	unsigned int loads = 0;

	memset(vi, 0, sizeof(*vi));
	if (len < sizeof(eh)) {
		snprintf(err, errlen, "unpacked kernel is too small for an ELF header");
		return -EINVAL;
	}
	memcpy(&eh, buf, sizeof(eh));
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_type != ET_EXEC || eh.e_machine != EM_X86_64) {
		snprintf(err, errlen, "unpacked kernel is not an x86_64 ELF executable");
		return -EINVAL;
	}
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phoff > len ||
	    (len - eh.e_phoff) / sizeof(Elf64_Phdr) < eh.e_phnum) {
		snprintf(err, errlen, "unpacked kernel's program headers are outside the file");
		return -EINVAL;
	}
	end = eh.e_phoff + (size_t)eh.e_phnum * sizeof(Elf64_Phdr);
	if (eh.e_shnum) {
		if (eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shoff > len ||
		    (len - eh.e_shoff) / sizeof(Elf64_Shdr) < eh.e_shnum) {
			snprintf(err, errlen, "unpacked kernel's section headers are outside the file");
			return -EINVAL;
		}
		if (eh.e_shoff + (size_t)eh.e_shnum * sizeof(Elf64_Shdr) > end)
			end = eh.e_shoff + (size_t)eh.e_shnum * sizeof(Elf64_Shdr);
	}
	vi->load_lo = UINT64_MAX;
	for (unsigned int i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;

		memcpy(&ph, buf + eh.e_phoff + (size_t)i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD)
			continue;
		if (ph.p_filesz > ph.p_memsz || ph.p_offset > len || len - ph.p_offset < ph.p_filesz ||
		    ph.p_paddr > ram_size || ram_size - ph.p_paddr < ph.p_memsz) {
			snprintf(err, errlen, "kernel segment %u (%#llx bytes at %#llx) does not fit the file or "
				 "guest memory", i, (unsigned long long)ph.p_memsz, (unsigned long long)ph.p_paddr);
			return -EINVAL;
		}
		loads++;
		if (ph.p_offset + ph.p_filesz > end)
			end = ph.p_offset + ph.p_filesz;
		if (ph.p_paddr < vi->load_lo)
			vi->load_lo = ph.p_paddr;
		if (ph.p_paddr + ph.p_memsz > vi->load_hi)
			vi->load_hi = ph.p_paddr + ph.p_memsz;
		if (ph.p_paddr + ph.p_filesz > vi->file_hi)
			vi->file_hi = ph.p_paddr + ph.p_filesz;
		if ((ph.p_flags & PF_X) && eh.e_entry >= ph.p_paddr && eh.e_entry - ph.p_paddr < ph.p_filesz)
			entry_ok = true;
	}
	if (!loads || !entry_ok) {
		snprintf(err, errlen, loads ? "kernel entry point %#llx is not in a loaded code segment"
					    : "unpacked kernel has no loadable segment",
			 (unsigned long long)eh.e_entry);
		return -EINVAL;
	}
	vi->entry = eh.e_entry;
	vi->elf_end = end;
	/* Without a table (no CONFIG_RANDOMIZE_BASE) the ELF is all there is. */
	if (len - end >= 4) {
		int rc = relocs_walk(buf, len, vi, NULL, 0, err, errlen);

		if (rc)
			return rc;
		vi->relocatable = true;
	}
	return 0;
}

/* KASLR's last step, for both ways of placing: by virt_offset, if any. */
static int relocate(const uint8_t *buf, size_t len, const struct vmlinux_info *vi, uint8_t *ram,
		    uint64_t virt_offset, char *err, size_t errlen)
{
	if (!virt_offset)
		return 0;
	if (!vi->relocatable) {
		snprintf(err, errlen, "kernel has no relocation table");
		return -EINVAL;
	}
	return relocs_walk(buf, len, vi, ram, virt_offset, err, errlen);
}

int vmlinux_place(const uint8_t *buf, size_t len, const struct vmlinux_info *vi, uint8_t *ram,
		  uint64_t ram_size, uint64_t virt_offset, char *err, size_t errlen)
{
	Elf64_Ehdr eh;

	/* vi came from vmlinux_parse() on this buffer and a ram at least this big. */
	if (vi->load_hi > ram_size || len < sizeof(eh)) {
		snprintf(err, errlen, "kernel does not fit guest memory");
		return -EINVAL;
	}
	memcpy(&eh, buf, sizeof(eh));
	for (unsigned int i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;

		memcpy(&ph, buf + eh.e_phoff + (size_t)i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD)
			continue;
		memcpy(ram + ph.p_paddr, buf + ph.p_offset, ph.p_filesz);
		memset(ram + ph.p_paddr + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
	}
	return relocate(buf, len, vi, ram, virt_offset, err, errlen);
}

int vmlinux_place_in_ram(uint8_t *ram, uint64_t ram_size, uint64_t base, size_t len,
			 const struct vmlinux_info *vi, uint64_t virt_offset, char *err, size_t errlen)
{
	Elf64_Phdr ph[16];
	Elf64_Ehdr eh;
	unsigned int n = 0;

	if (base > ram_size || len > ram_size - base || len < sizeof(eh) || vi->elf_end > len)
		return -ENOTSUP;
	memcpy(&eh, ram + base, sizeof(eh));
	/* The headers are about to be overwritten: keep the loadable ones. */
	for (unsigned int i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr p;

		memcpy(&p, ram + base + eh.e_phoff + (size_t)i * sizeof(p), sizeof(p));
		if (p.p_type != PT_LOAD)
			continue;
		if (n == sizeof(ph) / sizeof(ph[0]))
			return -ENOTSUP;
		ph[n++] = p;
	}
	/* Placed in file order, each segment (and its bss tail) may only
	 * land on bytes already read: its own, or below the next segment's
	 * source; the last stays below the relocation table. */
	for (unsigned int i = 0; i < n; i++) {
		uint64_t limit = i + 1 < n ? ph[i + 1].p_offset : vi->elf_end;

		if (ph[i].p_paddr > base + ph[i].p_offset || limit < ph[i].p_offset + ph[i].p_filesz ||
		    ph[i].p_paddr + ph[i].p_memsz > base + limit)
			return -ENOTSUP;
	}
	for (unsigned int i = 0; i < n; i++) {
		memmove(ram + ph[i].p_paddr, ram + base + ph[i].p_offset, ph[i].p_filesz);
		memset(ram + ph[i].p_paddr + ph[i].p_filesz, 0, ph[i].p_memsz - ph[i].p_filesz);
	}
	return relocate(ram + base, len, vi, ram, virt_offset, err, errlen);
}

uint64_t vmlinux_kaslr_offset(uint64_t load_addr, uint64_t image_size, uint64_t align, uint64_t random)
{
	uint64_t slots;

	if (!align || (align & (align - 1)) || load_addr > KERNEL_IMAGE_SIZE ||
	    image_size > KERNEL_IMAGE_SIZE - load_addr)
		return 0;
	slots = (KERNEL_IMAGE_SIZE - load_addr - image_size) / align + 1;
	return (random % slots) * align;
}

bool cmdline_has_word(const char *cmdline, const char *opt)
{
	size_t n = strlen(opt);
	const char *p = cmdline;

	while ((p = strstr(p, opt))) {
		bool starts = p == cmdline || p[-1] == ' ' || p[-1] == '\t';
		char after = p[n];

		if (starts && (after == '\0' || after == ' ' || after == '\t'))
			return true;
		p += n;
	}
	return false;
}
