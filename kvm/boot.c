#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xenkvm/boot.h"
#include "xenkvm/bzimage_unpack.h"
#include "xenkvm/clock.h"
#include "xenkvm/log.h"
#include "xenkvm/vm.h"

#define SETUP_HDR_OFFSET 0x1f1
#define HDRS_MAGIC       0x53726448u /* "HdrS" */
#define E820_RAM         1
#define E820_RESERVED    2

int bzimage_parse(const uint8_t *img, size_t len, uint64_t file_len, struct bzimage *bz,
		  char *err, size_t errlen)
{
	const struct setup_header *h;
	uint32_t setup_sects;
	size_t hdr_len;

	memset(bz, 0, sizeof(*bz));
	if (len < 0x250) {
		snprintf(err, errlen, "file too small to be a bzImage (%zu bytes)", len);
		return -EINVAL;
	}
	h = (const void *)(img + SETUP_HDR_OFFSET);
	if (h->boot_flag != 0xaa55 || h->header != HDRS_MAGIC) {
		snprintf(err, errlen, "not a Linux bzImage (no \"HdrS\" boot header)");
		return -EINVAL;
	}
	if (h->version < 0x020c) {
		snprintf(err, errlen, "boot protocol %u.%02u is too old (2.12 needed for the 64-bit entry)",
			 h->version >> 8, h->version & 0xff);
		return -EINVAL;
	}
	if (!(h->loadflags & LOADED_HIGH)) {
		snprintf(err, errlen, "zImage (loaded low) is not supported; use a bzImage");
		return -EINVAL;
	}
	if (!(h->xloadflags & XLF_KERNEL_64)) {
		snprintf(err, errlen, "kernel has no 64-bit entry point (32-bit kernels are not supported)");
		return -EINVAL;
	}
	setup_sects = h->setup_sects ? h->setup_sects : 4;
	bz->setup_size = (setup_sects + 1) * 512;
	if (bz->setup_size >= file_len || bz->setup_size > len) {
		snprintf(err, errlen, "setup (%u bytes) is larger than the file", bz->setup_size);
		return -EINVAL;
	}
	/* The header's own length: byte 0x201 is the jump's offset past 0x202. */
	hdr_len = 0x202 + img[0x201] - SETUP_HDR_OFFSET;
	if (hdr_len > sizeof(bz->hdr))
		hdr_len = sizeof(bz->hdr);
	memcpy(&bz->hdr, h, hdr_len);
	bz->protocol = h->version;
	if (file_len - bz->setup_size > UINT32_MAX) {
		snprintf(err, errlen, "kernel is larger than 4 GiB");
		return -EINVAL;
	}
	bz->kernel_size = (uint32_t)(file_len - bz->setup_size);
	bz->init_size = h->init_size > bz->kernel_size ? h->init_size : bz->kernel_size;
	bz->initrd_addr_max = h->initrd_addr_max ? h->initrd_addr_max : 0x37ffffff;
	bz->cmdline_size = h->cmdline_size ? h->cmdline_size : 255;
	bz->xloadflags = h->xloadflags;
	return 0;
}

unsigned int e820_build(struct boot_e820_entry *e, unsigned int max, uint64_t lowmem, uint64_t highmem,
			uint64_t special)
{
	unsigned int n = 0;

#define E820_ADD(a, s, t) do { if (n < max) e[n++] = (struct boot_e820_entry){ (a), (s), (t) }; } while (0)
	E820_ADD(0, BOOT_EBDA_START, E820_RAM);
	E820_ADD(BOOT_EBDA_START, 0xa0000 - BOOT_EBDA_START, E820_RESERVED);
	E820_ADD(BOOT_BIOS_START, BOOT_BIOS_END - BOOT_BIOS_START, E820_RESERVED);
	if (lowmem - special > BOOT_BIOS_END)
		E820_ADD(BOOT_BIOS_END, lowmem - special - BOOT_BIOS_END, E820_RAM);
	/* Pages the VMM shares with the guest (the XenStore ring, ...), as
	 * Xen's special pages: backed by RAM, but never the guest's to use. */
	if (special)
		E820_ADD(lowmem - special, special, E820_RESERVED);
	/* The IOAPIC, LAPIC and TSS pages up to 4 GiB: never RAM to the guest. */
	E820_ADD(VM_IOAPIC_BASE, VM_HIGHMEM_BASE - VM_IOAPIC_BASE, E820_RESERVED);
	if (highmem)
		E820_ADD(VM_HIGHMEM_BASE, highmem, E820_RAM);
#undef E820_ADD
	return n;
}

int boot_initrd_place(uint64_t kernel_end, uint64_t lowmem, uint64_t addr_max, uint64_t size,
		      uint64_t *addr_r)
{
	uint64_t top = lowmem;
	uint64_t addr;

	if (addr_max != UINT64_MAX && addr_max + 1 < top)
		top = addr_max + 1;
	if (size > top)
		return -ENOSPC;
	addr = (top - size) & ~(GUEST_PAGE_SIZE - 1);
	if (addr < kernel_end)
		return -ENOSPC;
	*addr_r = addr;
	return 0;
}

void boot_params_build(struct boot_params *bp, const struct bzimage *bz, const struct boot_layout *l)
{
	memset(bp, 0, sizeof(*bp));
	bp->hdr = bz->hdr;
	bp->hdr.type_of_loader = 0xff;   /* "undefined" loader */
	bp->hdr.loadflags |= CAN_USE_HEAP;
	bp->hdr.loadflags &= ~KEEP_SEGMENTS;
	bp->hdr.heap_end_ptr = 0xfe00;
	bp->hdr.vid_mode = 0xffff;       /* "normal": no mode switch */
	bp->hdr.cmd_line_ptr = (uint32_t)l->cmdline_addr;
	bp->ext_cmd_line_ptr = (uint32_t)(l->cmdline_addr >> 32);
	bp->hdr.ramdisk_image = (uint32_t)l->initrd_addr;
	bp->hdr.ramdisk_size = (uint32_t)l->initrd_size;
	bp->ext_ramdisk_image = (uint32_t)(l->initrd_addr >> 32);
	bp->ext_ramdisk_size = (uint32_t)(l->initrd_size >> 32);
	bp->acpi_rsdp_addr = l->rsdp_addr;
	bp->e820_entries = (uint8_t)e820_build(bp->e820_table, E820_MAX_ENTRIES_ZEROPAGE,
					       l->lowmem, l->highmem, l->special);
}

void boot_write_tables(uint8_t *ram)
{
	uint64_t *pml4 = (uint64_t *)(ram + BOOT_PML4_ADDR);
	uint64_t *pdpt = (uint64_t *)(ram + BOOT_PDPT_ADDR);
	uint64_t *pd = (uint64_t *)(ram + BOOT_PD_ADDR);
	uint64_t *gdt = (uint64_t *)(ram + BOOT_GDT_ADDR);

	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = BOOT_PDPT_ADDR | 0x3;               /* present, writable */
	for (unsigned int i = 0; i < 4; i++)
		pdpt[i] = (BOOT_PD_ADDR + i * 4096) | 0x3;
	for (uint64_t i = 0; i < 4 * 512; i++)
		pd[i] = (i << 21) | 0x83;                 /* present, writable, 2 MiB */

	gdt[0] = 0;
	gdt[1] = 0;
	gdt[BOOT_CS / 8] = 0x00af9b000000ffffull;     /* 64-bit code, DPL 0 */
	gdt[BOOT_DS / 8] = 0x00cf93000000ffffull;     /* flat data */
	gdt[4] = 0x00008b0000000fffull;               /* TSS placeholder for TR */
}

static void boot_segment(struct kvm_segment *s, uint16_t sel, uint8_t type, uint8_t l, uint8_t db)
{
	*s = (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = sel, .type = type,
		.present = 1, .dpl = 0, .db = db, .s = 1, .l = l, .g = 1,
	};
}

void boot_entry_state(struct kvm_regs *regs, struct kvm_sregs *sregs, uint64_t entry)
{
	memset(regs, 0, sizeof(*regs));
	regs->rflags = 0x2;
	regs->rip = entry;
	regs->rsi = BOOT_ZERO_PAGE;
	regs->rsp = BOOT_STACK_TOP;

	boot_segment(&sregs->cs, BOOT_CS, 0xb, 1, 0);
	boot_segment(&sregs->ds, BOOT_DS, 0x3, 0, 1);
	sregs->es = sregs->fs = sregs->gs = sregs->ss = sregs->ds;
	sregs->tr = (struct kvm_segment){ .selector = 0x20, .limit = 0xfff, .type = 0xb, .present = 1 };
	sregs->ldt = (struct kvm_segment){ .type = 0x2, .present = 1, .unusable = 1 };
	sregs->gdt.base = BOOT_GDT_ADDR;
	sregs->gdt.limit = 5 * 8 - 1;
	sregs->idt.base = 0;
	sregs->idt.limit = 0;
	sregs->cr3 = BOOT_PML4_ADDR;
	sregs->cr4 = 1u << 5;                          /* PAE */
	sregs->cr0 = 0x80000011;                       /* PG | ET | PE */
	sregs->efer = (1u << 8) | (1u << 10);          /* LME | LMA */
}

/* Opens a regular file no larger than `limit`; prints why on failure. */
int boot_open_image(const char *what, const char *path, uint64_t limit, uint64_t *size_r)
{
	struct stat st;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int err = errno;

		pr_err("cannot open %s '%s': %s", what, path, strerror(err));
		return -err;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		pr_err("%s '%s' is not a regular file", what, path);
		close(fd);
		return -EINVAL;
	}
	if ((uint64_t)st.st_size > limit) {
		pr_err("%s '%s' (%lld bytes) does not fit in guest memory", what, path, (long long)st.st_size);
		close(fd);
		return -EFBIG;
	}
	*size_r = (uint64_t)st.st_size;
	return fd;
}

/* Reads len bytes at offset: straight into guest RAM, so images are copied once. */
int boot_read_at(int fd, const char *path, void *dst, size_t len, off_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (uint8_t *)dst + done, len - done, off + (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			pr_err("reading '%s': %s", path, n < 0 ? strerror(errno) : "file shrank while reading");
			return -EIO;
		}
		done += (size_t)n;
	}
	return 0;
}

/* setup_sects is a byte: the setup is at most 256 sectors, boot sector included. */
#define SETUP_MAX (256 * 512)

static uint64_t random_u64(void)
{
	uint64_t r = 0;

	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		pr_warn("getrandom: %s; the kernel's KASLR offset is not random", strerror(errno));
	return r;
}

/*
 * Does the bzImage decompressor's work on the host: the payload is unpacked,
 * vmlinux placed at its preferred address and relocated by a random virtual
 * offset (KASLR, if wanted), so the vCPU starts in vmlinux itself.
 * 0 with *entry_r and *kernel_end_r set; -ENOTSUP when the image is left to
 * its own decompressor; else the error (printed).
 */
static int boot_unpack_kernel(struct vm *vm, int kfd, const struct boot_request *req,
			      const struct bzimage *bz, bool want_kaslr, uint64_t *entry_r,
			      uint64_t *kernel_end_r, bool *kaslr_r)
{
	uint64_t load = bz->hdr.pref_address, room = vm->lowmem_size - req->special, offset = 0;
	uint64_t align = bz->hdr.kernel_alignment > BOOT_ALIGN_2M ? bz->hdr.kernel_alignment : BOOT_ALIGN_2M;
	uint32_t poff = bz->hdr.payload_offset, plen = bz->hdr.payload_length;
	uint8_t *payload = NULL, *elf = NULL, *unpacked;
	uint64_t base = 0;
	struct vmlinux_info vi;
	uint64_t t0;
	unsigned int t_read, t_unpack;
	size_t elf_len;
	char err[160];
	int rc;

	t0 = clock_mono_ms();
	if (bz->protocol < 0x020a || !plen || poff > bz->kernel_size || plen > bz->kernel_size - poff ||
	    !load || load % BOOT_ALIGN_2M || load > room || bz->init_size > room - load)
		return -ENOTSUP;
	payload = malloc(plen);
	if (!payload)
		return -ENOMEM;
	rc = boot_read_at(kfd, req->kernel, payload, plen, (off_t)bz->setup_size + poff);
	if (rc)
		goto out;
	t_read = (unsigned int)(clock_mono_ms() - t0);
	/* Straight into guest RAM where vmlinux's first segment (at file
	 * offset 2 MiB in Linux's layout) is already in place, sparing a copy
	 * of the whole kernel; vmlinux_place_in_ram() checks the guess. */
	if (load >= BOOT_KERNEL_ADDR + BOOT_ALIGN_2M) {
		base = load - BOOT_ALIGN_2M;
		rc = payload_decompress_into(payload, plen, vm->ram + base, room - base, &elf_len, err,
					     sizeof(err));
		unpacked = vm->ram + base;
	} else {
		rc = payload_decompress(payload, plen, room - load, &elf, &elf_len, err, sizeof(err));
		unpacked = elf;
	}
	if (rc == -ENOTSUP) {
		pr_debug("kernel payload is not lz4/zstd/gzip/xz: the guest unpacks it");
		goto out;
	}
	t_unpack = (unsigned int)(clock_mono_ms() - t0);
	if (!rc)
		rc = vmlinux_parse(unpacked, elf_len, room, &vi, err, sizeof(err));
	if (rc == -EINVAL) {
		pr_err("kernel '%s': %s", req->kernel, err);
		goto out;
	}
	if (rc)
		goto out;
	if (vi.load_lo != load) {
		/* Not laid out as the boot header says: let its own decompressor cope. */
		pr_warn("kernel '%s': vmlinux starts at %#llx, not at the preferred %#llx; "
			"booting it through its own decompressor", req->kernel,
			(unsigned long long)vi.load_lo, (unsigned long long)load);
		rc = -ENOTSUP;
		goto out;
	}
	*kaslr_r = vi.relocatable && want_kaslr;
	if (*kaslr_r)
		offset = vmlinux_kaslr_offset(load, bz->init_size > vi.load_hi - load ? bz->init_size
										: vi.load_hi - load,
					      align, random_u64());
	if (!elf) {
		rc = vmlinux_place_in_ram(vm->ram, room, base, elf_len, &vi, offset, err, sizeof(err));
		if (rc == -ENOTSUP) {
			/* A layout that cannot be moved into place: from a copy. */
			elf = malloc(elf_len);
			if (!elf) {
				rc = -ENOMEM;
				goto out;
			}
			memcpy(elf, unpacked, elf_len);
		}
	}
	if (elf)
		rc = vmlinux_place(elf, elf_len, &vi, vm->ram, room, offset, err, sizeof(err));
	if (rc) {
		pr_err("kernel '%s': %s", req->kernel, err);
		goto out;
	}
	*entry_r = vi.entry;
	*kernel_end_r = load + bz->init_size > vi.load_hi ? load + bz->init_size : vi.load_hi;
	pr_debug("kernel unpacked on the host: %s payload, %zu bytes, entry %#llx, KASLR %s; "
		 "read %u ms, unpacked %u ms, placed %u ms%s",
		 payload_format_name(payload_format(payload, plen)), elf_len, (unsigned long long)vi.entry,
		 *kaslr_r ? "on" : "off", t_read, t_unpack - t_read, (unsigned int)(clock_mono_ms() - t0) - t_unpack,
		 elf ? " (copied)" : " (in place)");
out:
	free(elf);
	free(payload);
	return rc;
}

int boot_load_linux(struct vm *vm, const struct boot_request *req, uint64_t *entry_r)
{
	struct boot_layout l = {
		.cmdline_addr = BOOT_CMDLINE_ADDR,
		.rsdp_addr = req->rsdp_addr,
		.lowmem = vm->lowmem_size,
		.highmem = vm->ram_size - vm->lowmem_size,
		.special = req->special,
	};
	static uint8_t setup[SETUP_MAX];
	const char *kernel = req->kernel, *initrd = req->initrd;
	const char *cmdline = req->cmdline ? req->cmdline : "";
	struct boot_params *bp = (struct boot_params *)(vm->ram + BOOT_ZERO_PAGE);
	struct bzimage bz;
	uint64_t img_len = 0, rd_len = 0;
	uint64_t kernel_end;
	bool kaslr = false;
	char err[160];
	int kfd = -1, rfd = -1, rc;

	kfd = boot_open_image("kernel", kernel, vm->lowmem_size, &img_len);
	if (kfd < 0)
		return kfd == -EFBIG ? -EINVAL : kfd;
	rc = boot_read_at(kfd, kernel, setup, img_len < sizeof(setup) ? img_len : sizeof(setup), 0);
	if (rc)
		goto out;
	rc = bzimage_parse(setup, img_len < sizeof(setup) ? img_len : sizeof(setup), img_len, &bz,
			   err, sizeof(err));
	if (rc) {
		pr_err("kernel '%s': %s", kernel, err);
		rc = -EINVAL;
		goto out;
	}
	rc = req->guest_decompress ? -ENOTSUP
				   : boot_unpack_kernel(vm, kfd, req, &bz, !cmdline_has_word(cmdline, "nokaslr"),
							entry_r, &kernel_end, &kaslr);
	if (rc && rc != -ENOTSUP)
		goto out;
	if (rc == -ENOTSUP) {
		kernel_end = BOOT_KERNEL_ADDR + bz.init_size;
		if (kernel_end > vm->lowmem_size - req->special) {
			pr_err("kernel '%s' needs %u MiB from 1 MiB up, more than the guest's %llu MiB of low memory",
			       kernel, bz.init_size >> 20, (unsigned long long)(vm->lowmem_size >> 20));
			rc = -EINVAL;
			goto out;
		}
		rc = boot_read_at(kfd, kernel, vm->ram + BOOT_KERNEL_ADDR, bz.kernel_size, bz.setup_size);
		if (rc)
			goto out;
		*entry_r = BOOT_KERNEL_ADDR + 0x200;   /* the bzImage's 64-bit entry */
	}

	if (initrd) {
		rfd = boot_open_image("initrd", initrd, vm->lowmem_size, &rd_len);
		if (rfd < 0) {
			rc = rfd == -EFBIG ? -EINVAL : rfd;
			goto out;
		}
		rc = boot_initrd_place(kernel_end, vm->lowmem_size - req->special, bz.initrd_addr_max, rd_len,
				       &l.initrd_addr);
		if (rc) {
			pr_err("initrd '%s' (%llu MiB) does not fit in guest memory above the kernel; "
			       "raise 'memory'", initrd, (unsigned long long)(rd_len >> 20));
			rc = -EINVAL;
			goto out;
		}
		rc = boot_read_at(rfd, initrd, vm->ram + l.initrd_addr, rd_len, 0);
		if (rc)
			goto out;
		l.initrd_size = rd_len;
	}

	l.cmdline_len = (uint32_t)strlen(cmdline);
	if (l.cmdline_len >= bz.cmdline_size || l.cmdline_len >= BOOT_CMDLINE_MAX) {
		pr_err("kernel command line is %u bytes; this kernel accepts at most %u",
		       l.cmdline_len, bz.cmdline_size - 1);
		rc = -EINVAL;
		goto out;
	}
	memcpy(vm->ram + BOOT_CMDLINE_ADDR, cmdline, l.cmdline_len + 1);

	boot_params_build(bp, &bz, &l);
	/* What the kernel's decompressor tells vmlinux when it randomised it. */
	if (kaslr)
		bp->hdr.loadflags |= KASLR_FLAG;
	boot_write_tables(vm->ram);
	pr_debug("kernel: protocol %x, entry %#llx, end %#llx; initrd %llu bytes at %#llx",
		 bz.protocol, (unsigned long long)*entry_r, (unsigned long long)kernel_end,
		 (unsigned long long)rd_len, (unsigned long long)l.initrd_addr);
	rc = 0;
out:
	if (kfd >= 0)
		close(kfd);
	if (rfd >= 0)
		close(rfd);
	return rc;
}
