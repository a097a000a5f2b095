/*
 * libFuzzer harness: the kernel image parsers, on a user's hostile kernel
 * file.  The first input byte picks what the rest is: a bzImage setup
 * (bzimage_parse), a compressed payload (payload_decompress, then what it
 * unpacks to as below), or an unpacked vmlinux with relocation table
 * (vmlinux_parse, vmlinux_place into a 4 MiB guest RAM, relocated by an
 * offset from the second byte, and vmlinux_place_in_ram from a copy in
 * that RAM), or a PVH ELF image (pvh_elf_parse, then pvh_elf_place into
 * that RAM; data[0] & 4 also tries an unpacked payload as one, as the PVH
 * loader does with a bzImage).  Nothing may be written outside that RAM.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xenkvm/boot.h"
#include "xenkvm/bzimage_unpack.h"
#include "xenkvm/pvh_elf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RAM_SIZE (4u << 20)

static void load_vmlinux(const uint8_t *elf, size_t len, uint8_t offset_sel)
{
	static uint8_t *ram;
	struct vmlinux_info vi;
	char err[160];

	if (!ram && !(ram = malloc(RAM_SIZE)))
		abort();
	if (vmlinux_parse(elf, len, RAM_SIZE, &vi, err, sizeof(err)))
		return;
	if (vi.entry < vi.load_lo || vi.load_hi > RAM_SIZE || vi.file_hi > vi.load_hi || vi.elf_end > len)
		abort();
	vmlinux_place(elf, len, &vi, ram, RAM_SIZE, vi.relocatable ? (uint64_t)offset_sel << 21 : 0,
		      err, sizeof(err));
	/* Unpacked straight into RAM at a base from the input, placed there. */
	if (len <= RAM_SIZE / 2) {
		uint64_t base = (uint64_t)(offset_sel & 0xf) << 17;

		memcpy(ram + base, elf, len);
		if (!vmlinux_parse(ram + base, len, RAM_SIZE, &vi, err, sizeof(err)))
			vmlinux_place_in_ram(ram, RAM_SIZE, base, len, &vi,
					     vi.relocatable ? (uint64_t)(offset_sel >> 4) << 21 : 0, err, sizeof(err));
	}
}

static void load_pvh(const uint8_t *elf, size_t len)
{
	static uint8_t *ram;
	struct pvh_elf_info pi;
	char err[200];

	if (!ram && !(ram = malloc(RAM_SIZE)))
		abort();
	if (pvh_elf_parse(elf, len, RAM_SIZE, &pi, err, sizeof(err)))
		return;
	if (pi.load_lo >= pi.load_hi || pi.load_hi > RAM_SIZE || pi.entry < pi.load_lo || pi.entry >= pi.load_hi)
		abort();
	if (pvh_elf_place(elf, len, ram, RAM_SIZE, err, sizeof(err)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[160];

	if (size < 2)
		return 0;
	switch (data[0] % 4) {
	case 0: {
		struct bzimage bz;

		if (!bzimage_parse(data + 1, size - 1, size - 1, &bz, err, sizeof(err)) &&
		    (bz.setup_size > size - 1 || bz.kernel_size + (uint64_t)bz.setup_size != size - 1))
			abort();
		break;
	}
	case 1: {
		uint8_t *out;
		size_t out_len;

		if (payload_decompress(data + 2, size - 2, RAM_SIZE, &out, &out_len, err, sizeof(err)))
			break;
		if (out_len == 0 || out_len > RAM_SIZE)
			abort();
		if (data[0] & 4)
			load_pvh(out, out_len);
		else
			load_vmlinux(out, out_len, data[1]);
		free(out);
		break;
	}
	case 2:
		load_vmlinux(data + 2, size - 2, data[1]);
		break;
	default:
		load_pvh(data + 1, size - 1);
		break;
	}
	return 0;
}
