#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <xen/elfnote.h>

#include "xenkvm/pvh_elf.h"

/* One program or section header, whichever ELF class it came from. */
struct seg {
	uint32_t type;
	uint64_t offset, filesz, memsz, paddr;
};

struct elf {
	const uint8_t *buf;
	size_t len;
	bool is64;
	uint64_t entry_field;
	uint64_t phoff, shoff;
	unsigned int phnum, shnum, phentsize, shentsize;
};

#define FAIL(...) do { snprintf(err, errlen, __VA_ARGS__); return -EINVAL; } while (0)

bool pvh_elf_is_elf(const uint8_t *buf, size_t len)
{
	return len >= SELFMAG && !memcmp(buf, ELFMAG, SELFMAG);
}

/* [off, off + size) inside a buffer of len bytes, without overflow. */
static bool in_range(uint64_t off, uint64_t size, uint64_t len)
{
	return off <= len && size <= len - off;
}

static int elf_open(struct elf *e, const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	uint16_t type, machine;

	memset(e, 0, sizeof(*e));
	e->buf = buf;
	e->len = len;
	if (!pvh_elf_is_elf(buf, len))
		FAIL("not an ELF file");
	if (len < EI_NIDENT)
		FAIL("ELF header truncated (%zu bytes)", len);
	if (buf[EI_CLASS] != ELFCLASS32 && buf[EI_CLASS] != ELFCLASS64)
		FAIL("unknown ELF class %u", buf[EI_CLASS]);
	if (buf[EI_DATA] != ELFDATA2LSB)
		FAIL("not a little-endian ELF file");
	e->is64 = buf[EI_CLASS] == ELFCLASS64;
	if (e->is64) {
		Elf64_Ehdr h;

		if (len < sizeof(h))
			FAIL("ELF header truncated (%zu bytes)", len);
		memcpy(&h, buf, sizeof(h));
		type = h.e_type;
		machine = h.e_machine;
		e->entry_field = h.e_entry;
		e->phoff = h.e_phoff;
		e->shoff = h.e_shoff;
		e->phnum = h.e_phnum;
		e->shnum = h.e_shnum;
		e->phentsize = h.e_phentsize;
		e->shentsize = h.e_shentsize;
		if (e->phnum && e->phentsize < sizeof(Elf64_Phdr))
			FAIL("ELF program headers too small (%u bytes)", e->phentsize);
		if (e->shnum && e->shentsize < sizeof(Elf64_Shdr))
			e->shnum = 0;   /* sections are only a fallback for notes */
	} else {
		Elf32_Ehdr h;

		if (len < sizeof(h))
			FAIL("ELF header truncated (%zu bytes)", len);
		memcpy(&h, buf, sizeof(h));
		type = h.e_type;
		machine = h.e_machine;
		e->entry_field = h.e_entry;
		e->phoff = h.e_phoff;
		e->shoff = h.e_shoff;
		e->phnum = h.e_phnum;
		e->shnum = h.e_shnum;
		e->phentsize = h.e_phentsize;
		e->shentsize = h.e_shentsize;
		if (e->phnum && e->phentsize < sizeof(Elf32_Phdr))
			FAIL("ELF program headers too small (%u bytes)", e->phentsize);
		if (e->shnum && e->shentsize < sizeof(Elf32_Shdr))
			e->shnum = 0;
	}
	if (type != ET_EXEC)
		FAIL("not an ELF executable (e_type %u)", type);
	if (machine != EM_386 && machine != EM_X86_64)
		FAIL("not an x86 ELF image (e_machine %u)", machine);
	if (!e->phnum)
		FAIL("ELF image has no program headers");
	if (!in_range(e->phoff, (uint64_t)e->phnum * e->phentsize, len))
		FAIL("ELF program headers lie outside the file (truncated image?)");
	if (e->shnum && !in_range(e->shoff, (uint64_t)e->shnum * e->shentsize, len))
		e->shnum = 0;   /* stripped or truncated section table: notes must be in PT_NOTE */
	return 0;
}

static struct seg elf_phdr(const struct elf *e, unsigned int i)
{
	const uint8_t *p = e->buf + e->phoff + (uint64_t)i * e->phentsize;

	if (e->is64) {
		Elf64_Phdr h;

		memcpy(&h, p, sizeof(h));
		return (struct seg){ h.p_type, h.p_offset, h.p_filesz, h.p_memsz, h.p_paddr };
	} else {
		Elf32_Phdr h;

		memcpy(&h, p, sizeof(h));
		return (struct seg){ h.p_type, h.p_offset, h.p_filesz, h.p_memsz, h.p_paddr };
	}
}

static struct seg elf_shdr(const struct elf *e, unsigned int i)
{
	const uint8_t *p = e->buf + e->shoff + (uint64_t)i * e->shentsize;

	if (e->is64) {
		Elf64_Shdr h;

		memcpy(&h, p, sizeof(h));
		return (struct seg){ h.sh_type, h.sh_offset, h.sh_size, h.sh_size, 0 };
	} else {
		Elf32_Shdr h;

		memcpy(&h, p, sizeof(h));
		return (struct seg){ h.sh_type, h.sh_offset, h.sh_size, h.sh_size, 0 };
	}
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

/*
 * Walks the notes in [off, off + size) for Xen's PHYS32_ENTRY.  Notes are
 * 4-byte aligned in both classes, as Xen's libelf and Linux's ELFNOTE()
 * lay them out.  1 found, 0 not in this area, -EINVAL malformed.
 */
static int find_phys32(const struct elf *e, uint64_t off, uint64_t size, uint64_t *val,
		       char *err, size_t errlen)
{
	uint64_t pos = 0;

	if (!in_range(off, size, e->len))
		FAIL("ELF note area (offset %#llx, %llu bytes) lies outside the file",
		     (unsigned long long)off, (unsigned long long)size);
	while (size - pos >= 12) {
		const uint8_t *n = e->buf + off + pos;
		uint32_t namesz = get32(n), descsz = get32(n + 4), type = get32(n + 8);
		uint64_t name_pad = ((uint64_t)namesz + 3) & ~3ull;
		uint64_t desc_pad = ((uint64_t)descsz + 3) & ~3ull;
		const uint8_t *name = n + 12, *desc = name + name_pad;

		if (name_pad > size - pos - 12 || desc_pad > size - pos - 12 - name_pad ||
		    descsz > size - pos - 12 - name_pad)
			FAIL("ELF note at offset %#llx runs past its note area",
			     (unsigned long long)(off + pos));
		if (namesz == 4 && !memcmp(name, "Xen", 4) && type == XEN_ELFNOTE_PHYS32_ENTRY) {
			if (descsz == 4)
				*val = get32(desc);
			else if (descsz == 8)
				memcpy(val, desc, 8);
			else
				FAIL("Xen PHYS32_ENTRY note has a %u-byte value (4 or 8 expected)", descsz);
			return 1;
		}
		pos += 12 + name_pad + desc_pad;
	}
	return 0;
}

int pvh_elf_parse(const uint8_t *buf, size_t len, uint64_t ram_limit, struct pvh_elf_info *pi,
		  char *err, size_t errlen)
{
	struct elf e;
	uint64_t entry = 0;
	bool found = false, loads = false;
	int rc;

	memset(pi, 0, sizeof(*pi));
	rc = elf_open(&e, buf, len, err, errlen);
	if (rc)
		return rc;
	pi->is64 = e.is64;
	pi->load_lo = UINT64_MAX;
	for (unsigned int i = 0; i < e.phnum; i++) {
		struct seg s = elf_phdr(&e, i);

		if (s.type == PT_NOTE && !found) {
			rc = find_phys32(&e, s.offset, s.filesz, &entry, err, errlen);
			if (rc < 0)
				return rc;
			found = rc;
		}
		if (s.type != PT_LOAD || !s.memsz)
			continue;
		if (s.filesz > s.memsz)
			FAIL("ELF segment %u: file size %#llx exceeds its memory size %#llx", i,
			     (unsigned long long)s.filesz, (unsigned long long)s.memsz);
		if (!in_range(s.offset, s.filesz, len))
			FAIL("ELF segment %u lies outside the file (truncated image?)", i);
		if (!in_range(s.paddr, s.memsz, ram_limit))
			FAIL("ELF segment %u (%#llx-%#llx) does not fit in guest RAM below %#llx", i,
			     (unsigned long long)s.paddr, (unsigned long long)(s.paddr + s.memsz),
			     (unsigned long long)ram_limit);
		loads = true;
		if (s.paddr < pi->load_lo)
			pi->load_lo = s.paddr;
		if (s.paddr + s.memsz > pi->load_hi)
			pi->load_hi = s.paddr + s.memsz;
	}
	if (!loads)
		FAIL("ELF image has no loadable segments");
	/* Xen's libelf falls back to note sections when no PT_NOTE has them. */
	for (unsigned int i = 0; !found && i < e.shnum; i++) {
		struct seg s = elf_shdr(&e, i);

		if (s.type != SHT_NOTE)
			continue;
		rc = find_phys32(&e, s.offset, s.filesz, &entry, err, errlen);
		if (rc < 0)
			return rc;
		found = rc;
	}
	if (!found) {
		snprintf(err, errlen, "no Xen PHYS32_ENTRY ELF note: not a PVH-capable image "
			 "(Linux needs CONFIG_PVH)");
		return -ENOENT;
	}
	if (entry > UINT32_MAX)
		FAIL("Xen PHYS32_ENTRY %#llx is above 4 GiB", (unsigned long long)entry);
	/* The entry must be code the image loads, not a stray address. */
	for (unsigned int i = 0; i < e.phnum; i++) {
		struct seg s = elf_phdr(&e, i);

		/* memsz 0: a segment that loads nothing, whatever its filesz says */
		if (s.type == PT_LOAD && s.memsz && s.filesz && entry >= s.paddr && entry - s.paddr < s.filesz) {
			pi->entry = (uint32_t)entry;
			return 0;
		}
	}
	FAIL("Xen PHYS32_ENTRY %#llx is outside the image's loaded segments", (unsigned long long)entry);
}

int pvh_elf_place(const uint8_t *buf, size_t len, uint8_t *ram, uint64_t ram_size, char *err,
		  size_t errlen)
{
	struct elf e;
	int rc;

	rc = elf_open(&e, buf, len, err, errlen);
	if (rc)
		return rc;
	for (unsigned int i = 0; i < e.phnum; i++) {
		struct seg s = elf_phdr(&e, i);

		if (s.type != PT_LOAD || !s.memsz)
			continue;
		if (s.filesz > s.memsz || !in_range(s.offset, s.filesz, len) ||
		    !in_range(s.paddr, s.memsz, ram_size))
			FAIL("ELF segment %u is out of bounds", i);
		memmove(ram + s.paddr, buf + s.offset, s.filesz);
		memset(ram + s.paddr + s.filesz, 0, s.memsz - s.filesz);
	}
	return 0;
}
