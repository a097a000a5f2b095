/*
 * The host-side bzImage unpacker on synthetic kernels: an ELF with two
 * loadable segments and a relocation table in the kernel's layout, packed
 * by each compressor the kernel builds with, and boot_load_linux() placing
 * it (and the guest-decompress fallback) in a RAM buffer.
 */
#include <CUnit/Basic.h>
#include <elf.h>
#include <errno.h>
#include <lz4.h>
#include <lzma.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "cunit_run.h"
#include "xenkvm/boot.h"
#include "xenkvm/bzimage_unpack.h"
#include "xenkvm/vm.h"
#include "bzimage_fixture.h"

#define LOAD     0x200000ull    /* the synthetic kernel's link (physical) address */
#define ELF_END  0x5000u
#define RAM_SIZE (16ull << 20)

/* Relocation targets (physical) and what the image holds there. */
#define R32_AT   (LOAD + 0x10)
#define R32B_AT  (LOAD + 0x14)
#define RINV_AT  (LOAD + 0x20)
#define R64_AT   (LOAD + 0x4010)

static uint8_t elf[ELF_END + 64];
static size_t elf_len;
static char err[200];

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static uint32_t va32(uint64_t pa) { return (uint32_t)(KERNEL_MAP_BASE + pa); }

static Elf64_Phdr *phdr(unsigned int i) { return (Elf64_Phdr *)(elf + sizeof(Elf64_Ehdr)) + i; }

/* Text segment (R E) 0x3000 bytes at LOAD from file offset 0x1000; data
 * segment (RW) 0x1000 bytes of file, 0x3000 in memory, at LOAD + 0x4000 from
 * 0x4000; a NOTE; then the table [0][64-bit][0][inverse 32][0][32-bit]. */
static void make_elf(bool with_relocs)
{
	Elf64_Ehdr *eh = (Elf64_Ehdr *)elf;
	uint8_t *t;

	memset(elf, 0, sizeof(elf));
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_entry = LOAD;
	eh->e_phoff = sizeof(*eh);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = 3;
	*phdr(0) = (Elf64_Phdr){ .p_type = PT_LOAD, .p_flags = PF_R | PF_X, .p_offset = 0x1000,
				 .p_vaddr = KERNEL_MAP_BASE + LOAD, .p_paddr = LOAD,
				 .p_filesz = 0x3000, .p_memsz = 0x3000 };
	*phdr(1) = (Elf64_Phdr){ .p_type = PT_LOAD, .p_flags = PF_R | PF_W, .p_offset = 0x4000,
				 .p_vaddr = KERNEL_MAP_BASE + LOAD + 0x4000, .p_paddr = LOAD + 0x4000,
				 .p_filesz = 0x1000, .p_memsz = 0x3000 };
	*phdr(2) = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = 0x1800, .p_filesz = 0x20 };
	for (unsigned int i = 0x1000; i < ELF_END; i++)
		elf[i] = (uint8_t)(i * 7);
	put32(elf + 0x1000 + 0x10, 0x81000000u);          /* 32-bit pointer */
	put32(elf + 0x1000 + 0x14, 0x81001234u);
	put32(elf + 0x1000 + 0x20, 0x00100000u);          /* inverse: an offset to subtract from */
	memcpy(elf + 0x4000 + 0x10, &(uint64_t){ 0xffffffff81002000ull }, 8);
	elf_len = ELF_END;
	if (!with_relocs)
		return;
	t = elf + ELF_END;
	put32(t, 0);
	put32(t + 4, va32(R64_AT));
	put32(t + 8, 0);
	put32(t + 12, va32(RINV_AT));
	put32(t + 16, 0);
	put32(t + 20, va32(R32_AT));
	put32(t + 24, va32(R32B_AT));
	elf_len += 28;
}

static void test_parse(void)
{
	struct vmlinux_info vi;

	make_elf(true);
	CU_ASSERT_EQUAL_FATAL(vmlinux_parse(elf, elf_len, RAM_SIZE, &vi, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(vi.entry, LOAD);
	CU_ASSERT_EQUAL(vi.load_lo, LOAD);
	CU_ASSERT_EQUAL(vi.load_hi, LOAD + 0x7000);
	CU_ASSERT_EQUAL(vi.file_hi, LOAD + 0x5000);
	CU_ASSERT_EQUAL(vi.elf_end, ELF_END);
	CU_ASSERT(vi.relocatable);

	make_elf(false);
	CU_ASSERT_EQUAL_FATAL(vmlinux_parse(elf, elf_len, RAM_SIZE, &vi, err, sizeof(err)), 0);
	CU_ASSERT(!vi.relocatable);
}

static void test_place_and_relocate(void)
{
	uint8_t *ram = malloc(RAM_SIZE);
	struct vmlinux_info vi;
	uint64_t off = 0x40000000ull - 0x3e00000ull;   /* a large, 2 MiB-aligned offset */

	CU_ASSERT_FATAL(ram != NULL);
	make_elf(true);
	CU_ASSERT_EQUAL_FATAL(vmlinux_parse(elf, elf_len, RAM_SIZE, &vi, err, sizeof(err)), 0);

	memset(ram, 0xaa, RAM_SIZE);
	CU_ASSERT_EQUAL(vmlinux_place(elf, elf_len, &vi, ram, RAM_SIZE, 0, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(memcmp(ram + LOAD + 0x100, elf + 0x1100, 0x2f00), 0);
	CU_ASSERT_EQUAL(ram[LOAD + 0x4000 + 0x800], elf[0x4800]);
	CU_ASSERT_EQUAL(ram[LOAD + 0x5000], 0);               /* memsz tail zeroed */
	CU_ASSERT_EQUAL(ram[LOAD + 0x6fff], 0);
	CU_ASSERT_EQUAL(ram[LOAD + 0x7000], 0xaa);            /* nothing past the segment */
	CU_ASSERT_EQUAL(ram[LOAD + 0x3000], 0xaa);            /* nor in the gap */
	CU_ASSERT_EQUAL(get32(ram + R32_AT), 0x81000000u);    /* offset 0: untouched */

	memset(ram, 0xaa, RAM_SIZE);
	CU_ASSERT_EQUAL(vmlinux_place(elf, elf_len, &vi, ram, RAM_SIZE, off, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(get32(ram + R32_AT), (uint32_t)(0x81000000u + off));
	CU_ASSERT_EQUAL(get32(ram + R32B_AT), (uint32_t)(0x81001234u + off));
	CU_ASSERT_EQUAL(get32(ram + RINV_AT), (uint32_t)(0x00100000u - off));
	CU_ASSERT_EQUAL(get64(ram + R64_AT), 0xffffffff81002000ull + off);
	CU_ASSERT_EQUAL(ram[R32_AT + 4], (uint8_t)0x34);      /* the next value is its own */

	make_elf(false);
	CU_ASSERT_EQUAL_FATAL(vmlinux_parse(elf, elf_len, RAM_SIZE, &vi, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(vmlinux_place(elf, elf_len, &vi, ram, RAM_SIZE, off, err, sizeof(err)), -EINVAL);
	free(ram);
}

/* Each hostile variant of the image is refused by vmlinux_parse(). */
static void expect_bad(const char *what)
{
	struct vmlinux_info vi;
	int rc = vmlinux_parse(elf, elf_len, RAM_SIZE, &vi, err, sizeof(err));

	if (rc != -EINVAL)
		fprintf(stderr, "\n  accepted: %s\n", what);
	CU_ASSERT_EQUAL(rc, -EINVAL);
	CU_ASSERT(err[0] != '\0');
}

static void test_parse_rejects(void)
{
	struct vmlinux_info vi;

	make_elf(true);
	elf[0] = 'x';
	expect_bad("bad magic");
	make_elf(true);
	((Elf64_Ehdr *)elf)->e_machine = EM_386;
	expect_bad("i386");
	make_elf(true);
	((Elf64_Ehdr *)elf)->e_phnum = 0xffff;
	expect_bad("program headers past the end");
	make_elf(true);
	((Elf64_Ehdr *)elf)->e_phoff = ~0ull - 8;
	expect_bad("program header offset wraps");
	make_elf(true);
	phdr(0)->p_filesz = 0x100000;
	phdr(0)->p_memsz = 0x100000;
	expect_bad("segment past the file");
	make_elf(true);
	phdr(1)->p_paddr = RAM_SIZE - 0x1000;
	expect_bad("segment past RAM");
	make_elf(true);
	phdr(1)->p_paddr = ~0ull - 0x100;
	expect_bad("segment address wraps");
	make_elf(true);
	phdr(1)->p_memsz = 0x10;
	expect_bad("filesz > memsz");
	make_elf(true);
	((Elf64_Ehdr *)elf)->e_entry = LOAD + 0x4000;
	expect_bad("entry in a data segment");
	make_elf(true);
	((Elf64_Ehdr *)elf)->e_entry = LOAD + 0x3000;
	expect_bad("entry past the code");
	make_elf(true);
	phdr(0)->p_type = PT_NULL;
	phdr(1)->p_type = PT_NULL;
	expect_bad("no loadable segment");
	make_elf(true);
	((Elf64_Ehdr *)elf)->e_shnum = 100;
	((Elf64_Ehdr *)elf)->e_shentsize = sizeof(Elf64_Shdr);
	((Elf64_Ehdr *)elf)->e_shoff = 0x4000;
	expect_bad("section headers past the end");
	make_elf(true);
	put32(elf + ELF_END + 20, va32(LOAD + 0x5000 - 2));
	expect_bad("32-bit relocation straddling the end of the image");
	make_elf(true);
	put32(elf + ELF_END + 4, va32(LOAD - 8));
	expect_bad("64-bit relocation below the image");
	make_elf(true);
	put32(elf + ELF_END + 20, 0x12345678u);
	expect_bad("relocation outside the kernel map");
	make_elf(true);
	put32(elf + ELF_END, va32(R64_AT));
	put32(elf + ELF_END + 8, va32(R64_AT));
	expect_bad("relocation table without its terminators");

	/* A table that is only the last terminators is fine (nothing to do). */
	make_elf(false);
	memset(elf + ELF_END, 0, 12);
	elf_len = ELF_END + 12;
	CU_ASSERT_EQUAL(vmlinux_parse(elf, elf_len, RAM_SIZE, &vi, err, sizeof(err)), 0);
	CU_ASSERT(vi.relocatable);
}

/* Linux's own layout: the first segment at file offset 2 MiB, so unpacked
 * at its load address - 2 MiB it is in place; the data segment sits 4 KiB
 * further on in the file than in memory (moves down), with a bss tail. */
#define LX_LOAD  (8ull << 20)
#define LX_OFF   0x200000u
#define LX_END   (LX_OFF + 0x6000u)

static size_t make_linux_elf(uint8_t *b)
{
	Elf64_Ehdr *eh = (Elf64_Ehdr *)b;
	Elf64_Phdr *ph = (Elf64_Phdr *)(b + sizeof(*eh));
	uint8_t *t = b + LX_END;

	memset(b, 0, LX_END + 32);
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_entry = LX_LOAD + 0x40;
	eh->e_phoff = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = 2;
	ph[0] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_flags = PF_R | PF_X, .p_offset = LX_OFF,
			      .p_paddr = LX_LOAD, .p_filesz = 0x3000, .p_memsz = 0x3000 };
	ph[1] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_flags = PF_R | PF_W, .p_offset = LX_OFF + 0x4000,
			      .p_paddr = LX_LOAD + 0x3000, .p_filesz = 0x1800, .p_memsz = 0x2800 };
	for (unsigned int i = LX_OFF; i < LX_END; i++)
		b[i] = (uint8_t)(i * 11 + 1);
	put32(b + LX_OFF + 0x10, 0x81000000u);
	memcpy(b + LX_OFF + 0x4000 + 0x18, &(uint64_t){ 0xffffffff81000000ull }, 8);
	put32(t, 0);
	put32(t + 4, va32(LX_LOAD + 0x3018));   /* 64-bit, in the moved segment */
	put32(t + 8, 0);
	put32(t + 12, 0);
	put32(t + 16, va32(LX_LOAD + 0x10));
	return LX_END + 20;
}

static void test_place_in_ram(void)
{
	static uint8_t img[LX_END + 32];
	uint64_t base = LX_LOAD - LX_OFF, off = 6ull << 20;
	uint8_t *a = malloc(RAM_SIZE), *b = malloc(RAM_SIZE);
	size_t len = make_linux_elf(img);
	struct vmlinux_info vi;

	CU_ASSERT_FATAL(a && b);
	memset(a, 0x5a, RAM_SIZE);
	memset(b, 0x5a, RAM_SIZE);
	memcpy(a + base, img, len);
	CU_ASSERT_EQUAL_FATAL(vmlinux_parse(a + base, len, RAM_SIZE, &vi, err, sizeof(err)), 0);
	CU_ASSERT(vi.relocatable);
	CU_ASSERT_EQUAL(vmlinux_place_in_ram(a, RAM_SIZE, base, len, &vi, off, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(vmlinux_place(img, len, &vi, b, RAM_SIZE, off, err, sizeof(err)), 0);
	/* The kernel comes out exactly as placed from a separate copy. */
	CU_ASSERT_EQUAL(memcmp(a + LX_LOAD, b + LX_LOAD, vi.load_hi - LX_LOAD), 0);
	CU_ASSERT_EQUAL(get32(a + LX_LOAD + 0x10), (uint32_t)(0x81000000u + off));
	CU_ASSERT_EQUAL(get64(a + LX_LOAD + 0x3018), 0xffffffff81000000ull + off);
	CU_ASSERT_EQUAL(a[LX_LOAD + 0x4800], 0);                  /* bss tail */
	CU_ASSERT_EQUAL(a[LX_LOAD + 0x1000], (uint8_t)((LX_OFF + 0x1000) * 11 + 1));

	/* A segment that would have to move up: refused, RAM untouched. */
	((Elf64_Phdr *)(img + sizeof(Elf64_Ehdr)))[1].p_paddr = LX_LOAD + 0x4800;
	((Elf64_Phdr *)(img + sizeof(Elf64_Ehdr)))[1].p_memsz = 0x1800;
	memset(a, 0x5a, RAM_SIZE);
	memcpy(a + base, img, len);
	memcpy(b, a, RAM_SIZE);
	CU_ASSERT_EQUAL_FATAL(vmlinux_parse(a + base, len, RAM_SIZE, &vi, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(vmlinux_place_in_ram(a, RAM_SIZE, base, len, &vi, off, err, sizeof(err)), -ENOTSUP);
	CU_ASSERT_EQUAL(memcmp(a, b, RAM_SIZE), 0);
	/* A bss tail over the next segment's source: refused too. */
	make_linux_elf(img);
	((Elf64_Phdr *)(img + sizeof(Elf64_Ehdr)))[0].p_memsz = 0x5000;
	memcpy(a + base, img, len);
	CU_ASSERT_EQUAL_FATAL(vmlinux_parse(a + base, len, RAM_SIZE, &vi, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(vmlinux_place_in_ram(a, RAM_SIZE, base, len, &vi, off, err, sizeof(err)), -ENOTSUP);
	free(a);
	free(b);
}

/* --- payloads -------------------------------------------------------------- */

static uint8_t *with_trailer(uint8_t *buf, size_t *len, uint32_t size)
{
	buf = realloc(buf, *len + 4);
	put32(buf + *len, size);
	*len += 4;
	return buf;
}

static uint8_t *pack(enum payload_format f, const uint8_t *in, size_t in_len, size_t *len)
{
	size_t cap = in_len + in_len / 2 + 65536;
	uint8_t *out = malloc(cap);
	size_t n = 0;

	switch (f) {
	case PAYLOAD_GZIP: {
		z_stream z = { 0 };

		deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
		z.next_in = (Bytef *)(uintptr_t)in;
		z.avail_in = (uInt)in_len;
		z.next_out = out;
		z.avail_out = (uInt)cap;
		CU_ASSERT(deflate(&z, Z_FINISH) == Z_STREAM_END);
		n = z.total_out;
		deflateEnd(&z);
		break;
	}
	case PAYLOAD_XZ:
		CU_ASSERT(lzma_easy_buffer_encode(1, LZMA_CHECK_CRC32, NULL, in, in_len, out, &n, cap) == LZMA_OK);
		break;
	case PAYLOAD_LZ4:   /* legacy framing, 8 MiB blocks */
		put32(out, 0x184c2102u);
		n = 4;
		for (size_t off = 0; off < in_len; off += 8u << 20) {
			size_t blk = in_len - off < (8u << 20) ? in_len - off : 8u << 20;
			int c = LZ4_compress_default((const char *)in + off, (char *)out + n + 4, (int)blk,
						     (int)(cap - n - 4));

			CU_ASSERT(c > 0);
			put32(out + n, (uint32_t)c);
			n += 4 + (size_t)c;
		}
		break;
	case PAYLOAD_ZSTD:
		n = ZSTD_compress(out, cap, in, in_len, 3);
		CU_ASSERT(!ZSTD_isError(n));
		break;
	default:
		break;
	}
	*len = n;
	return with_trailer(out, len, (uint32_t)in_len);
}

static void test_payload_round_trips(void)
{
	/* 9 MiB for lz4: more than one legacy block */
	size_t big = (9u << 20) + 123;
	uint8_t *data = malloc(big);

	CU_ASSERT_FATAL(data != NULL);
	for (size_t i = 0; i < big; i++)
		data[i] = (uint8_t)((i * 2654435761u) >> (i % 13));
	for (enum payload_format f = PAYLOAD_GZIP; f <= PAYLOAD_ZSTD; f++) {
		size_t n = f == PAYLOAD_LZ4 ? big : (1u << 20) + 7, len, out_len;
		uint8_t *p = pack(f, data, n, &len), *out;

		CU_ASSERT_EQUAL(payload_format(p, len), f);
		CU_ASSERT_EQUAL_FATAL(payload_decompress(p, len, n, &out, &out_len, err, sizeof(err)), 0);
		CU_ASSERT_EQUAL(out_len, n);
		CU_ASSERT_EQUAL(memcmp(out, data, n), 0);
		free(out);
		free(p);
	}
	free(data);
}

static void test_payload_rejects(void)
{
	uint8_t junk[64] = { 'B', 'Z', 'h', '9' };   /* bzip2: not ours */
	size_t len, out_len;
	uint8_t *out = (uint8_t *)1;
	int rc;

	CU_ASSERT_EQUAL(payload_format(junk, sizeof(junk)), PAYLOAD_UNKNOWN);
	CU_ASSERT_EQUAL(payload_decompress(junk, sizeof(junk), 1 << 20, &out, &out_len, err, sizeof(err)),
			-ENOTSUP);
	CU_ASSERT_PTR_NULL(out);

	make_elf(true);
	for (enum payload_format f = PAYLOAD_GZIP; f <= PAYLOAD_ZSTD; f++) {
		uint8_t *p = pack(f, elf, elf_len, &len);

		/* unpacked size larger than allowed */
		CU_ASSERT_EQUAL(payload_decompress(p, len, elf_len - 1, &out, &out_len, err, sizeof(err)), -EINVAL);
		/* the trailer lies: more than the stream holds, or less */
		put32(p + len - 4, (uint32_t)elf_len + 1);
		CU_ASSERT_EQUAL(payload_decompress(p, len, 1 << 20, &out, &out_len, err, sizeof(err)), -EINVAL);
		put32(p + len - 4, (uint32_t)elf_len - 1);
		rc = payload_decompress(p, len, 1 << 20, &out, &out_len, err, sizeof(err));
		/* lz4 blocks have no end marker: stopping early is all it can do */
		if (f == PAYLOAD_LZ4 && rc == 0)
			free(out);
		else {
			CU_ASSERT_EQUAL(rc, -EINVAL);
		}
		put32(p + len - 4, 0);
		CU_ASSERT_EQUAL(payload_decompress(p, len, 1 << 20, &out, &out_len, err, sizeof(err)), -EINVAL);
		/* truncated stream */
		put32(p + len / 2 - 4, (uint32_t)elf_len);
		CU_ASSERT_EQUAL(payload_decompress(p, len / 2, 1 << 20, &out, &out_len, err, sizeof(err)),
				-EINVAL);
		free(p);
	}
	/* an lz4 block size beyond the data */
	{
		uint8_t p[16];

		put32(p, 0x184c2102u);
		put32(p + 4, 0x7fffffffu);
		put32(p + 12, 100);
		CU_ASSERT_EQUAL(payload_decompress(p, sizeof(p), 1 << 20, &out, &out_len, err, sizeof(err)),
				-EINVAL);
	}
}

static void test_kaslr_offset(void)
{
	uint64_t two = 2ull << 20, load = 16ull << 20, size = 64ull << 20;
	uint64_t slots = (KERNEL_IMAGE_SIZE - load - size) / two + 1;

	CU_ASSERT_EQUAL(vmlinux_kaslr_offset(load, size, two, 0), 0);
	CU_ASSERT_EQUAL(vmlinux_kaslr_offset(load, size, two, 5), 5 * two);
	CU_ASSERT_EQUAL(vmlinux_kaslr_offset(load, size, two, slots), 0);
	CU_ASSERT_EQUAL(vmlinux_kaslr_offset(load, size, two, slots - 1), (slots - 1) * two);
	/* the highest slot still ends inside the 1 GiB kernel mapping */
	CU_ASSERT(load + (slots - 1) * two + size <= KERNEL_IMAGE_SIZE);
	CU_ASSERT_EQUAL(vmlinux_kaslr_offset(load, KERNEL_IMAGE_SIZE, two, 7), 0);
	CU_ASSERT_EQUAL(vmlinux_kaslr_offset(load, size, 3 << 20, 7), 0);    /* not a power of 2 */
	CU_ASSERT_EQUAL(vmlinux_kaslr_offset(load, size, 0, 7), 0);
}

static void test_cmdline_word(void)
{
	CU_ASSERT(cmdline_has_word("nokaslr", "nokaslr"));
	CU_ASSERT(cmdline_has_word("console=ttyS0 nokaslr quiet", "nokaslr"));
	CU_ASSERT(cmdline_has_word("quiet\tnokaslr", "nokaslr"));
	CU_ASSERT(!cmdline_has_word("nokaslrx", "nokaslr"));
	CU_ASSERT(!cmdline_has_word("xnokaslr nokaslr=1", "nokaslr"));
	CU_ASSERT(!cmdline_has_word("", "nokaslr"));
}

/* --- boot_load_linux() on a synthetic bzImage ------------------------------ */

#define IMG_SETUP (5 * 512)
#define KLOAD     (16ull << 20)

/* A bzImage whose payload is `elf` relinked at 16 MiB, gzip-packed. */
/* A bzImage of the unpacked kernel `e`, gzip-packed, preferring `load`. */
static char *write_bzimage_of(const uint8_t *e, size_t n, uint64_t load)
{
	static char path[] = "/tmp/test-bzimage-XXXXXX";
	struct setup_header *h;
	size_t plen;
	uint8_t *p, *img;
	int fd;

	p = pack(PAYLOAD_GZIP, e, n, &plen);
	img = calloc(1, IMG_SETUP + 0x200 + plen);
	h = bzimage_fixture(img);
	h->kernel_alignment = 0x200000;
	h->pref_address = load;
	h->payload_offset = 0x200;
	h->payload_length = (uint32_t)plen;
	memcpy(img + IMG_SETUP + 0x200, p, plen);
	strcpy(path, "/tmp/test-bzimage-XXXXXX");
	fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT(write(fd, img, IMG_SETUP + 0x200 + plen) == (ssize_t)(IMG_SETUP + 0x200 + plen));
	close(fd);
	free(img);
	free(p);
	return path;
}

/* The small kernel of make_elf() relinked at 16 MiB: its first segment is
 * not at file offset 2 MiB, so it is placed from a copy. */
static char *write_bzimage(bool with_relocs)
{
	make_elf(with_relocs);
	((Elf64_Ehdr *)elf)->e_entry = KLOAD;
	phdr(0)->p_paddr = KLOAD;
	phdr(1)->p_paddr = KLOAD + 0x4000;
	if (with_relocs) {   /* relocation targets move with the image */
		put32(elf + ELF_END + 4, va32(KLOAD + 0x4010));
		put32(elf + ELF_END + 12, va32(KLOAD + 0x20));
		put32(elf + ELF_END + 20, va32(KLOAD + 0x10));
		put32(elf + ELF_END + 24, va32(KLOAD + 0x14));
	}
	return write_bzimage_of(elf, elf_len, KLOAD);
}

static void test_boot_load(void)
{
	struct vm vm = { .ram_size = 64ull << 20, .lowmem_size = 64ull << 20 };
	struct boot_request req = { .cmdline = "console=ttyS0" };
	struct boot_params *bp;
	uint64_t entry = 0;
	bool moved = false;

	vm.ram = calloc(1, vm.ram_size);
	CU_ASSERT_FATAL(vm.ram != NULL);
	bp = (struct boot_params *)(vm.ram + BOOT_ZERO_PAGE);
	req.kernel = write_bzimage(true);
	req.initrd = req.kernel;   /* any file will do as an initrd */

	/* Unpacked on the host: vmlinux at its link address, entered there, KASLR on. */
	CU_ASSERT_EQUAL_FATAL(boot_load_linux(&vm, &req, &entry), 0);
	CU_ASSERT_EQUAL(entry, KLOAD);
	CU_ASSERT_EQUAL(vm.ram[KLOAD + 0x100], elf[0x1100]);
	CU_ASSERT(bp->hdr.loadflags & KASLR_FLAG);
	CU_ASSERT(bp->hdr.ramdisk_image >= KLOAD + 0x800000);   /* above init_size */
	/* Relocated by a random multiple of 2 MiB: over a few boots it moves. */
	for (int i = 0; i < 8 && !moved; i++) {
		uint32_t v;

		CU_ASSERT_EQUAL_FATAL(boot_load_linux(&vm, &req, &entry), 0);
		v = get32(vm.ram + KLOAD + 0x10);
		CU_ASSERT_EQUAL((v - 0x81000000u) % (2u << 20), 0);
		CU_ASSERT_EQUAL(get32(vm.ram + KLOAD + 0x14) - v, 0x1234u);
		moved = v != 0x81000000u;
	}
	CU_ASSERT(moved);

	/* No command line at all: KASLR as usual. */
	req.cmdline = NULL;
	CU_ASSERT_EQUAL_FATAL(boot_load_linux(&vm, &req, &entry), 0);
	CU_ASSERT(bp->hdr.loadflags & KASLR_FLAG);

	/* nokaslr: nothing relocated, no flag */
	req.cmdline = "nokaslr console=ttyS0";
	CU_ASSERT_EQUAL_FATAL(boot_load_linux(&vm, &req, &entry), 0);
	CU_ASSERT_EQUAL(get32(vm.ram + KLOAD + 0x10), 0x81000000u);
	CU_ASSERT(!(bp->hdr.loadflags & KASLR_FLAG));

	/* The bzImage's own decompressor: the image at 1 MiB, its 64-bit entry. */
	req.guest_decompress = true;
	memset(vm.ram, 0, vm.ram_size);
	CU_ASSERT_EQUAL_FATAL(boot_load_linux(&vm, &req, &entry), 0);
	CU_ASSERT_EQUAL(entry, BOOT_KERNEL_ADDR + 0x200);
	CU_ASSERT_EQUAL(vm.ram[KLOAD + 0x100], 0);
	CU_ASSERT_EQUAL(vm.ram[BOOT_KERNEL_ADDR + 0x200], 0x1f);   /* the gzip payload */
	unlink(req.kernel);

	/* A kernel without a relocation table boots unrandomised. */
	req.guest_decompress = false;
	req.cmdline = NULL;
	req.kernel = write_bzimage(false);
	req.initrd = NULL;
	CU_ASSERT_EQUAL_FATAL(boot_load_linux(&vm, &req, &entry), 0);
	CU_ASSERT_EQUAL(entry, KLOAD);
	CU_ASSERT(!(bp->hdr.loadflags & KASLR_FLAG));
	unlink(req.kernel);

	/* Linux's layout: unpacked straight into place; nokaslr, so the
	 * image must be byte for byte what the ELF says. */
	{
		static uint8_t lx[LX_END + 32];
		size_t n = make_linux_elf(lx);

		req.cmdline = "nokaslr";
		req.kernel = write_bzimage_of(lx, n, LX_LOAD);
		memset(vm.ram, 0, vm.ram_size);
		CU_ASSERT_EQUAL_FATAL(boot_load_linux(&vm, &req, &entry), 0);
		CU_ASSERT_EQUAL(entry, LX_LOAD + 0x40);
		CU_ASSERT_EQUAL(memcmp(vm.ram + LX_LOAD, lx + LX_OFF, 0x3000), 0);
		CU_ASSERT_EQUAL(memcmp(vm.ram + LX_LOAD + 0x3000, lx + LX_OFF + 0x4000, 0x1800), 0);
		CU_ASSERT_EQUAL(vm.ram[LX_LOAD + 0x4800], 0);
		unlink(req.kernel);
	}
	free(vm.ram);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("bzimage_unpack", NULL, NULL);
	CU_add_test(s, "parse", test_parse);
	CU_add_test(s, "place_and_relocate", test_place_and_relocate);
	CU_add_test(s, "parse_rejects", test_parse_rejects);
	CU_add_test(s, "place_in_ram", test_place_in_ram);
	CU_add_test(s, "payload_round_trips", test_payload_round_trips);
	CU_add_test(s, "payload_rejects", test_payload_rejects);
	CU_add_test(s, "kaslr_offset", test_kaslr_offset);
	CU_add_test(s, "cmdline_word", test_cmdline_word);
	CU_add_test(s, "boot_load", test_boot_load);
	return cunit_run(CU_BRM_NORMAL);
}
