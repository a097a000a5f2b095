#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <stdint.h>
#include <xen/xen.h>
#include <xen/arch-x86/hvm/start_info.h>

#include "xenkvm/boot.h"
#include "xenkvm/bzimage_unpack.h"
#include "xenkvm/clock.h"
#include "xenkvm/log.h"
#include "xenkvm/pvh.h"
#include "xenkvm/pvh_elf.h"
#include "xenkvm/vm.h"

#define PVH_MAX_MEMMAP 16

int pvh_start_info_build(uint8_t *mem, uint64_t gpa, size_t cap, const struct pvh_layout *l)
{
	struct boot_e820_entry e820[PVH_MAX_MEMMAP];
	struct hvm_start_info si = {
		.magic = XEN_HVM_START_MAGIC_VALUE,
		.version = 1,
		.cmdline_paddr = l->cmdline_addr,
		.rsdp_paddr = l->rsdp_addr,
	};
	struct hvm_modlist_entry mod = { .paddr = l->initrd_addr, .size = l->initrd_size };
	unsigned int n = e820_build(e820, PVH_MAX_MEMMAP, l->lowmem, l->highmem, l->special);
	size_t off = sizeof(si), need;

	if (l->initrd_size) {
		si.nr_modules = 1;
		si.modlist_paddr = gpa + off;
		off += sizeof(mod);
	}
	si.memmap_paddr = gpa + off;
	si.memmap_entries = n;
	need = off + n * sizeof(struct hvm_memmap_table_entry);
	if (need > cap)
		return -ENOSPC;
	memset(mem, 0, need);
	memcpy(mem, &si, sizeof(si));
	if (l->initrd_size)
		memcpy(mem + sizeof(si), &mod, sizeof(mod));
	for (unsigned int i = 0; i < n; i++) {
		struct hvm_memmap_table_entry m = {
			.addr = e820[i].addr, .size = e820[i].size, .type = e820[i].type,
		};

		memcpy(mem + off + i * sizeof(m), &m, sizeof(m));
	}
	return (int)need;
}

void pvh_write_gdt(uint8_t *ram)
{
	uint64_t gdt[5] = {
		[PVH_CS / 8] = 0x00cf9b000000ffffull,   /* 32-bit code, 4 GiB, accessed */
		[PVH_DS / 8] = 0x00cf93000000ffffull,   /* data, 4 GiB, accessed */
		[4] = 0x00008b0000000067ull,            /* busy 32-bit TSS for TR */
	};

	memcpy(ram + BOOT_GDT_ADDR, gdt, sizeof(gdt));
}

static void pvh_segment(struct kvm_segment *s, uint16_t sel, uint8_t type)
{
	*s = (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = sel, .type = type,
		.present = 1, .dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1,
	};
}

void pvh_entry_state(struct kvm_regs *regs, struct kvm_sregs *sregs, uint32_t entry, uint64_t start_info)
{
	memset(regs, 0, sizeof(*regs));
	memset(sregs, 0, sizeof(*sregs));
	regs->rflags = 0x2;
	regs->rip = entry;
	regs->rbx = start_info;

	pvh_segment(&sregs->cs, PVH_CS, 0xb);
	pvh_segment(&sregs->ds, PVH_DS, 0x3);
	sregs->es = sregs->fs = sregs->gs = sregs->ss = sregs->ds;
	sregs->tr = (struct kvm_segment){ .selector = 0x20, .limit = 0x67, .type = 0xb, .present = 1 };
	sregs->ldt = (struct kvm_segment){ .type = 0x2, .present = 1, .unusable = 1 };
	sregs->gdt.base = BOOT_GDT_ADDR;
	sregs->gdt.limit = 5 * 8 - 1;
	sregs->cr0 = 0x11;   /* PE | ET: protected mode, paging off */
}

/* Reads a whole regular file of at most `limit` bytes into a new buffer. */
static int read_whole(const char *what, const char *path, uint64_t limit, uint8_t **buf_r, size_t *len_r)
{
	uint64_t size;
	uint8_t *buf;
	int fd, rc;

	fd = boot_open_image(what, path, limit, &size);
	if (fd < 0)
		return fd == -ENOMEM ? fd : -EINVAL;
	if (size == 0) {
		pr_err("%s '%s' is empty", what, path);
		close(fd);
		return -EINVAL;
	}
	buf = malloc((size_t)size);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	rc = boot_read_at(fd, path, buf, (size_t)size, 0);
	close(fd);
	if (rc) {
		free(buf);
		return rc;
	}
	*buf_r = buf;
	*len_r = (size_t)size;
	return 0;
}

/*
 * A bzImage's payload unpacked: Linux's vmlinux, an ELF with the Xen notes.
 * Where the header's preferred address allows, straight into guest RAM 2 MiB
 * below it, as boot.c does, so pvh_place_kernel() can move the segments down in
 * place: the nested host was seen to spend 4 s copying a malloc'd vmlinux into
 * untouched guest RAM.  *elf_r is then vm->ram + *base_r and not to be freed;
 * else it is malloc'd and *base_r is 0.
 */
static int unpack_bzimage(struct vm *vm, const char *path, const uint8_t *img, size_t len, uint64_t limit,
			  uint8_t **elf_r, size_t *elf_len_r, uint64_t *base_r)
{
	struct bzimage bz;
	char err[160];
	uint32_t poff, plen;
	uint64_t pref;
	int rc;

	*base_r = 0;
	rc = bzimage_parse(img, len, len, &bz, err, sizeof(err));
	if (rc) {
		pr_err("kernel '%s' is neither an ELF image nor a bzImage: %s", path, err);
		return -EINVAL;
	}
	poff = bz.hdr.payload_offset;
	plen = bz.hdr.payload_length;
	if (bz.protocol < 0x020a || !plen || poff > bz.kernel_size || plen > bz.kernel_size - poff) {
		pr_err("kernel '%s': bzImage without a payload the PVH loader can find", path);
		return -EINVAL;
	}
	pref = bz.hdr.pref_address;
	if (pref >= BOOT_KERNEL_ADDR + BOOT_ALIGN_2M && pref < limit) {
		rc = payload_decompress_into(img + bz.setup_size + poff, plen, vm->ram + pref - BOOT_ALIGN_2M,
					     limit - (pref - BOOT_ALIGN_2M), elf_len_r, err, sizeof(err));
		if (!rc) {
			*elf_r = vm->ram + pref - BOOT_ALIGN_2M;
			*base_r = pref - BOOT_ALIGN_2M;
		}
	} else {
		rc = payload_decompress(img + bz.setup_size + poff, plen, limit, elf_r, elf_len_r, err,
					sizeof(err));
	}
	if (rc == -ENOTSUP) {
		pr_err("kernel '%s': %s payload cannot be unpacked on the host (lz4, zstd, gzip or xz are)",
		       path, payload_format_name(payload_format(img + bz.setup_size + poff, plen)));
		return -EINVAL;
	}
	if (rc == -EINVAL)
		pr_err("kernel '%s': %s", path, err);
	return rc;
}

/* Loads the parsed image's segments.  An image unpacked into RAM at `base` is
 * moved down in place when its layout allows (Linux's does), else copied out
 * first; any other is copied from elf.  0 or -EINVAL with err. */
static int pvh_place_kernel(struct vm *vm, uint64_t room, const uint8_t *elf, size_t elf_len, uint64_t base,
			    char *err, size_t errlen)
{
	struct vmlinux_info vi;
	uint8_t *copy;
	int rc;

	if (!base)
		return pvh_elf_place(elf, elf_len, vm->ram, room, err, errlen);
	if (!vmlinux_parse(elf, elf_len, room, &vi, err, errlen)) {
		rc = vmlinux_place_in_ram(vm->ram, room, base, elf_len, &vi, 0, err, errlen);
		if (rc != -ENOTSUP)
			return rc;
	}
	copy = malloc(elf_len);
	if (!copy) {
		snprintf(err, errlen, "no memory for a %zu-byte copy of the image", elf_len);
		return -EINVAL;
	}
	memcpy(copy, elf, elf_len);
	rc = pvh_elf_place(copy, elf_len, vm->ram, room, err, errlen);
	free(copy);
	return rc;
}

int pvh_load(struct vm *vm, const struct pvh_request *req, uint32_t *entry_r)
{
	uint64_t room = vm->lowmem_size - req->special;
	struct pvh_layout l = {
		.rsdp_addr = req->rsdp_addr,
		.lowmem = vm->lowmem_size,
		.highmem = vm->ram_size - vm->lowmem_size,
		.special = req->special,
	};
	uint8_t *img = NULL, *elf = NULL, *rd = NULL;
	size_t img_len, elf_len, rd_len = 0;
	uint64_t base = 0;
	struct pvh_elf_info pi;
	char err[200];
	uint64_t t0 = clock_mono_ms(), t_read, t_unpack, t_place;
	int rc;

	rc = read_whole("kernel", req->kernel, room, &img, &img_len);
	t_read = clock_mono_ms();
	if (rc)
		return rc;
	if (pvh_elf_is_elf(img, img_len)) {
		elf = img;
		elf_len = img_len;
		img = NULL;
	} else {
		rc = unpack_bzimage(vm, req->kernel, img, img_len, room, &elf, &elf_len, &base);
		if (rc)
			goto out;
	}
	t_unpack = clock_mono_ms();
	rc = pvh_elf_parse(elf, elf_len, room, &pi, err, sizeof(err));
	/* Below 1 MiB are the start info, GDT, command line and ACPI tables. */
	if (!rc && pi.load_lo < BOOT_BIOS_END) {
		snprintf(err, sizeof(err), "image loads at %#llx, below 1 MiB, where the boot structures live",
			 (unsigned long long)pi.load_lo);
		rc = -EINVAL;
	}
	if (!rc)
		rc = pvh_place_kernel(vm, room, elf, elf_len, base, err, sizeof(err));
	if (rc) {
		pr_err("kernel '%s': %s", req->kernel, err);
		rc = -EINVAL;
		goto out;
	}

	t_place = clock_mono_ms();
	if (req->initrd) {
		rc = read_whole("initrd", req->initrd, room, &rd, &rd_len);
		if (rc)
			goto out;
		rc = boot_initrd_place(pi.load_hi, room, UINT64_MAX, rd_len, &l.initrd_addr);
		if (rc) {
			pr_err("initrd '%s' (%llu MiB) does not fit in guest memory above the kernel; raise 'memory'",
			       req->initrd, (unsigned long long)(rd_len >> 20));
			rc = -EINVAL;
			goto out;
		}
		memcpy(vm->ram + l.initrd_addr, rd, rd_len);
		l.initrd_size = rd_len;
	}
	if (req->cmdline) {
		size_t n = strlen(req->cmdline);

		if (n >= BOOT_CMDLINE_MAX) {
			pr_err("kernel command line is %zu bytes; at most %llu fit", n,
			       (unsigned long long)BOOT_CMDLINE_MAX - 1);
			rc = -EINVAL;
			goto out;
		}
		memcpy(vm->ram + BOOT_CMDLINE_ADDR, req->cmdline, n + 1);
		l.cmdline_addr = BOOT_CMDLINE_ADDR;
	}
	rc = pvh_start_info_build(vm->ram + PVH_START_INFO_ADDR, PVH_START_INFO_ADDR, PVH_START_INFO_SIZE, &l);
	if (rc < 0)
		goto out;
	pvh_write_gdt(vm->ram);
	*entry_r = pi.entry;
	pr_debug("PVH image: ELF%d, entry %#x, %#llx-%#llx; initrd %zu bytes at %#llx; "
		 "read %u ms, unpacked %u ms, placed %u ms, initrd %u ms", pi.is64 ? 64 : 32,
		 pi.entry, (unsigned long long)pi.load_lo, (unsigned long long)pi.load_hi, rd_len,
		 (unsigned long long)l.initrd_addr, (unsigned int)(t_read - t0), (unsigned int)(t_unpack - t_read),
		 (unsigned int)(t_place - t_unpack), (unsigned int)(clock_mono_ms() - t_place));
	rc = 0;
out:
	free(img);
	if (!base)
		free(elf);
	free(rd);
	return rc;
}
