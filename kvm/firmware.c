#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xenkvm/acpi.h"
#include "xenkvm/acpi_loader.h"
#include "xenkvm/boot.h"
#include "xenkvm/debugcon.h"
#include "xenkvm/firmware.h"
#include "xenkvm/fw_cfg.h"
#include "xenkvm/log.h"
#include "xenkvm/rtc.h"
#include "xenkvm/smbios.h"
#include "xenkvm/vm.h"

/* CMOS bytes PC firmware reads for memory size, CPUs and boot order. */
#define CMOS_BASE_MEM_LO     0x15
#define CMOS_BASE_MEM_HI     0x16
#define CMOS_EXT_MEM_LO      0x17
#define CMOS_EXT_MEM_HI      0x18
#define CMOS_EXT_MEM2_LO     0x30    /* KiB above 1 MiB, at most 0xffff */
#define CMOS_EXT_MEM2_HI     0x31
#define CMOS_MEM_16M_LO      0x34    /* 64 KiB units above 16 MiB */
#define CMOS_MEM_16M_HI      0x35
#define CMOS_BOOTFLAG1       0x38    /* bits 7-4: third boot device; bit 0: skip floppy check */
#define CMOS_BOOTFLAG2       0x3d    /* bits 7-4: second; 3-0: first */
#define CMOS_MEM_4G_LO       0x5b    /* 64 KiB units above 4 GiB, 24 bits */
#define CMOS_MEM_4G_MID      0x5c
#define CMOS_MEM_4G_HI       0x5d
#define CMOS_SMP_COUNT       0x5f    /* vCPUs - 1 */

static const uint8_t firmware_cmos_owned[] = {
	CMOS_BASE_MEM_LO, CMOS_BASE_MEM_HI, CMOS_EXT_MEM_LO, CMOS_EXT_MEM_HI, CMOS_EXT_MEM2_LO,
	CMOS_EXT_MEM2_HI, CMOS_MEM_16M_LO, CMOS_MEM_16M_HI, CMOS_BOOTFLAG1, CMOS_BOOTFLAG2,
	CMOS_MEM_4G_LO, CMOS_MEM_4G_MID, CMOS_MEM_4G_HI, CMOS_SMP_COUNT,
};

/* The Xen path's tables area, offsets from its start. */
#define XEN_ACPI_OFF         0x0000u
#define XEN_ACPI_SIZE        0x8000u
#define XEN_SMBIOS_OFF       0x8000u
#define XEN_SMBIOS_SIZE      0x6000u
#define XEN_ANCHOR_OFF       0xe000u
#define XEN_TABLE_LIST_OFF   0xe100u
#define XEN_E820_OFF         0xe200u
#define XEN_E820_MAX         ((FIRMWARE_TABLES_SIZE - XEN_E820_OFF) / sizeof(struct boot_e820_entry))

/* PIIX3 IDE, as Xen's and QEMU's i440FX machines place it. */
#define IDE_PCI_PATH         "/pci@i0cf8/ide@1,1"

struct firmware {
	struct vm *vm;
	struct fw_cfg *fw_cfg;
	struct debugcon *dbg;
	uint8_t *rom;
	size_t rom_size;
};

int firmware_check_boot(const char *boot)
{
	unsigned int seen = 0;

	if (!boot || !*boot || strlen(boot) > 4)
		return -EINVAL;
	for (const char *p = boot; *p; p++) {
		const char *at = strchr("acdn", *p);
		unsigned int bit;

		if (!at || !*p)
			return -EINVAL;
		bit = 1u << (at - "acdn");
		if (seen & bit)
			return -EINVAL;
		seen |= bit;
	}
	return 0;
}

int firmware_bootorder(const char *boot, const struct firmware_drive *drives, size_t nr, char *out,
		       size_t outlen)
{
	size_t len = 0;

	if (!boot)
		boot = "cd";
	if (firmware_check_boot(boot) || !outlen)
		return -EINVAL;
	out[0] = 0;
	for (const char *p = boot; *p; p++) {
		if (*p != 'c' && *p != 'd')
			continue;   /* no floppy, and no emulated NIC to boot from */
		for (size_t i = 0; i < nr; i++) {
			int n;

			if (drives[i].cdrom != (*p == 'd') || drives[i].ide_index > 3)
				continue;
			/* QEMU's format: paths separated by newlines, none after the last
			 * (SeaBIOS would read an empty last path as matching everything). */
			n = snprintf(out + len, outlen - len, "%s" IDE_PCI_PATH "/drive@%u/disk@%u",
				     len ? "\n" : "", drives[i].ide_index / 2, drives[i].ide_index % 2);
			if (n < 0 || (size_t)n >= outlen - len)
				return -ENOSPC;
			len += (size_t)n;
		}
	}
	return (int)len;
}

void firmware_cmos(uint64_t lowmem, uint64_t highmem, unsigned int nr_cpus, const char *boot,
		   uint8_t cmos[128])
{
	uint64_t ext_kib = lowmem > (1ull << 20) ? (lowmem - (1ull << 20)) >> 10 : 0;
	uint64_t above16 = lowmem > (16ull << 20) ? (lowmem - (16ull << 20)) >> 16 : 0;
	uint64_t above4g = highmem >> 16;
	uint8_t dev[3] = { 0 };

	if (ext_kib > 0xffff)
		ext_kib = 0xffff;
	if (above16 > 0xffff)
		above16 = 0xffff;
	if (above4g > 0xffffff)
		above4g = 0xffffff;
	cmos[CMOS_BASE_MEM_LO] = 640 & 0xff;
	cmos[CMOS_BASE_MEM_HI] = 640 >> 8;
	cmos[CMOS_EXT_MEM_LO] = cmos[CMOS_EXT_MEM2_LO] = (uint8_t)ext_kib;
	cmos[CMOS_EXT_MEM_HI] = cmos[CMOS_EXT_MEM2_HI] = (uint8_t)(ext_kib >> 8);
	cmos[CMOS_MEM_16M_LO] = (uint8_t)above16;
	cmos[CMOS_MEM_16M_HI] = (uint8_t)(above16 >> 8);
	cmos[CMOS_MEM_4G_LO] = (uint8_t)above4g;
	cmos[CMOS_MEM_4G_MID] = (uint8_t)(above4g >> 8);
	cmos[CMOS_MEM_4G_HI] = (uint8_t)(above4g >> 16);
	cmos[CMOS_SMP_COUNT] = (uint8_t)(nr_cpus ? nr_cpus - 1 : 0);
	/* Device classes in boot= order: 1 floppy, 2 disk, 3 CD-ROM, 4 network. */
	if (!boot || firmware_check_boot(boot))
		boot = "cd";
	for (unsigned int i = 0; i < 3 && boot[i]; i++)
		dev[i] = (uint8_t)(strchr("acdn", boot[i]) - "acdn" + 1);
	cmos[CMOS_BOOTFLAG2] = (uint8_t)(dev[1] << 4 | dev[0]);
	cmos[CMOS_BOOTFLAG1] = (uint8_t)(dev[2] << 4 | 1);   /* no floppy to check */
}

size_t firmware_xen_info(uint8_t *p, uint32_t tables_gpa, uint32_t nr_tables, uint32_t e820_gpa,
			 uint32_t nr_e820)
{
	/* hvmloader's struct: signature[14], length, checksum, then four u32. */
	const size_t len = 14 + 1 + 1 + 4 * 4;
	uint32_t v[4] = { tables_gpa, nr_tables, e820_gpa, nr_e820 };
	uint8_t sum = 0;

	memset(p, 0, len);
	memcpy(p, "XenHVMSeaBIOS", 14);
	p[14] = (uint8_t)len;
	for (unsigned int i = 0; i < 4; i++)
		for (unsigned int b = 0; b < 4; b++)
			p[16 + 4 * i + b] = (uint8_t)(v[i] >> (8 * b));
	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + p[i]);
	p[15] = (uint8_t)-sum;
	return len;
}

static void firmware_line(void *opaque, const char *line)
{
	struct firmware *fw = opaque;

	/* SeaBIOS would wait etc/boot-fail-wait and reset, forever. */
	if (!strncmp(line, "No bootable device", 18))
		vm_request_stop(fw->vm, VM_EXIT_NO_BOOT, "the guest did not boot: the firmware found no bootable device");
}

/* Reads the image into page-aligned memory; checks it can be a PC BIOS. */
static int firmware_read_rom(struct firmware *fw, const char *path)
{
	struct stat st;
	ssize_t n;
	size_t got = 0;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		pr_err("firmware %s: %s%s", path, strerror(errno),
		       rc == -ENOENT && !strcmp(path, FIRMWARE_SEABIOS_PATH) ? " (install Debian's seabios package)" : "");
		return rc == -ENOENT || rc == -EACCES ? -EINVAL : rc;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size < (off_t)FIRMWARE_ROM_MIN ||
	    st.st_size > (off_t)FIRMWARE_ROM_MAX || st.st_size % FIRMWARE_ROM_MIN) {
		pr_err("firmware %s: not a BIOS image (a file of 64 to 256 KiB in 64 KiB steps)", path);
		close(fd);
		return -EINVAL;
	}
	fw->rom_size = (size_t)st.st_size;
	fw->rom = mmap(NULL, fw->rom_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (fw->rom == MAP_FAILED) {
		fw->rom = NULL;
		close(fd);
		return -ENOMEM;
	}
	while (got < fw->rom_size && (n = read(fd, fw->rom + got, fw->rom_size - got)) > 0)
		got += (size_t)n;
	if (got != fw->rom_size) {
		pr_err("firmware %s: short read", path);
		rc = -EIO;
	}
	close(fd);
	return rc;
}

/* The tables SeaBIOS's QEMU path loads from fw_cfg itself. */
static int firmware_fw_cfg_tables(struct firmware *fw, const struct firmware_config *cfg, uint64_t lowmem,
				  uint64_t highmem)
{
	struct acpi_config acfg = {
		.nr_cpus = cfg->nr_cpus,
		.pci_mmio32_base = VM_PCI_MMIO32_BASE,
		.pci_mmio32_size = VM_PCI_MMIO32_END - VM_PCI_MMIO32_BASE,
	};
	struct smbios_config scfg = { .nr_cpus = cfg->nr_cpus, .lowmem = lowmem, .highmem = highmem,
				      .uuid = cfg->uuid, .version = cfg->version };
	uint8_t *blob = calloc(1, XEN_ACPI_SIZE), anchor[SMBIOS_ANCHOR_LEN], *st = NULL;
	struct acpi_loader_files f = { 0 };
	size_t st_len = 0;
	int used, rc = -ENOMEM;

	if (!blob)
		return -ENOMEM;
	used = acpi_build(&acfg, blob, 0, XEN_ACPI_SIZE, NULL);
	if (used < 0) {
		rc = used;
		goto out;
	}
	if ((rc = acpi_loader_build(blob, (size_t)used, &f)) ||
	    (rc = fw_cfg_add_file(fw->fw_cfg, ACPI_LOADER_TABLES_FILE, f.tables, f.tables_len, false)) ||
	    (rc = fw_cfg_add_file(fw->fw_cfg, ACPI_LOADER_RSDP_FILE, f.rsdp, f.rsdp_len, false)) ||
	    (rc = fw_cfg_add_file(fw->fw_cfg, ACPI_LOADER_FILE, f.loader,
				  f.nr_entries * sizeof(*f.loader), false)) ||
	    (rc = smbios_build(&scfg, &st, &st_len, anchor)) ||
	    (rc = fw_cfg_add_file(fw->fw_cfg, "etc/smbios/smbios-tables", st, st_len, false)) ||
	    (rc = fw_cfg_add_file(fw->fw_cfg, "etc/smbios/smbios-anchor", anchor, sizeof(anchor), false)))
		goto out;
out:
	acpi_loader_files_free(&f);
	free(st);
	free(blob);
	return rc;
}

/* The tables hvmloader would leave for SeaBIOS's Xen path, in reserved low RAM. */
static int firmware_xen_tables(struct firmware *fw, const struct firmware_config *cfg, uint64_t tables_gpa,
			       const struct boot_e820_entry *e820, unsigned int nr_e820, uint64_t lowmem,
			       uint64_t highmem)
{
	struct vm *vm = fw->vm;
	uint8_t *area = vm->ram + tables_gpa;
	struct acpi_config acfg = {
		.nr_cpus = cfg->nr_cpus,
		.pci_mmio32_base = VM_PCI_MMIO32_BASE,
		.pci_mmio32_size = VM_PCI_MMIO32_END - VM_PCI_MMIO32_BASE,
	};
	struct smbios_config scfg = { .nr_cpus = cfg->nr_cpus, .lowmem = lowmem, .highmem = highmem,
				      .uuid = cfg->uuid, .version = cfg->version };
	uint8_t anchor[SMBIOS_ANCHOR_LEN], *st = NULL;
	uint64_t rsdp = 0;
	uint32_t list[2];
	size_t st_len = 0;
	int rc;

	rc = acpi_build(&acfg, area + XEN_ACPI_OFF, tables_gpa + XEN_ACPI_OFF, XEN_ACPI_SIZE, &rsdp);
	if (rc < 0)
		return rc;
	rc = smbios_build(&scfg, &st, &st_len, anchor);
	if (rc)
		return rc;
	if (st_len > XEN_SMBIOS_SIZE || nr_e820 > XEN_E820_MAX) {
		free(st);
		return -ENOSPC;
	}
	memcpy(area + XEN_SMBIOS_OFF, st, st_len);
	free(st);
	smbios_anchor_set_address(anchor, (uint32_t)(tables_gpa + XEN_SMBIOS_OFF));
	memcpy(area + XEN_ANCHOR_OFF, anchor, sizeof(anchor));
	list[0] = (uint32_t)rsdp;
	list[1] = (uint32_t)(tables_gpa + XEN_ANCHOR_OFF);
	memcpy(area + XEN_TABLE_LIST_OFF, list, sizeof(list));
	memcpy(area + XEN_E820_OFF, e820, nr_e820 * sizeof(*e820));
	firmware_xen_info(vm->ram + FIRMWARE_XEN_INFO_GPA, (uint32_t)(tables_gpa + XEN_TABLE_LIST_OFF), 2,
			  (uint32_t)(tables_gpa + XEN_E820_OFF), nr_e820);
	return 0;
}

static int firmware_fill_fw_cfg(struct firmware *fw, const struct firmware_config *cfg,
				const struct boot_e820_entry *e820, unsigned int nr_e820)
{
	struct fw_cfg *c = fw->fw_cfg;
	char order[512];
	int len, rc;

	len = firmware_bootorder(cfg->boot, cfg->drives, cfg->nr_drives, order, sizeof(order));
	if (len < 0)
		return len;
	rc = fw_cfg_add_u64(c, FW_CFG_RAM_SIZE, fw->vm->ram_size);
	if (!rc)
		rc = fw_cfg_add_u16(c, FW_CFG_NB_CPUS, (uint16_t)cfg->nr_cpus);
	if (!rc)
		rc = fw_cfg_add_u16(c, FW_CFG_MAX_CPUS, (uint16_t)cfg->nr_cpus);
	if (!rc) {
		/* no NUMA nodes: the count, then a zero node per CPU, as SeaBIOS reads it */
		uint8_t *numa = calloc(1 + cfg->nr_cpus, 8);

		rc = numa ? fw_cfg_add(c, FW_CFG_NUMA, numa, (1 + cfg->nr_cpus) * 8ull) : -ENOMEM;
		free(numa);
	}
	if (!rc)
		rc = fw_cfg_add_u16(c, FW_CFG_BOOT_MENU, 0);
	if (!rc && cfg->uuid)
		rc = fw_cfg_add(c, FW_CFG_UUID, cfg->uuid, 16);
	if (!rc)
		rc = fw_cfg_add_file(c, "etc/e820", e820, nr_e820 * sizeof(*e820), false);
	/* QEMU's bootorder: paths, one a line, NUL-terminated. */
	if (!rc && len)
		rc = fw_cfg_add_file(c, "bootorder", order, (size_t)len + 1, false);
	if (!rc) {
		uint32_t wait = htole32(FIRMWARE_BOOT_FAIL_WAIT_MS);

		rc = fw_cfg_add_file(c, "etc/boot-fail-wait", &wait, sizeof(wait), false);
	}
	if (!rc) {
		uint16_t port = htole16(FIRMWARE_SERCON_PORT);

		rc = fw_cfg_add_file(c, "etc/sercon-port", &port, sizeof(port), false);
	}
	if (!rc) {
		uint16_t n = htole16((uint16_t)cfg->nr_cpus);

		rc = fw_cfg_add_file(c, "etc/boot-cpus", &n, sizeof(n), false);
	}
	return rc;
}

int firmware_load(struct vm *vm, struct rtc *rtc, const struct firmware_config *cfg, struct firmware **fw_r)
{
	const char *path = cfg->path ? cfg->path : FIRMWARE_SEABIOS_PATH;
	uint64_t reserved = cfg->reserved_top + FIRMWARE_TABLES_SIZE;
	uint64_t highmem = vm->ram_size - vm->lowmem_size, tables_gpa, usable;
	struct boot_e820_entry e820[16];
	struct firmware *fw;
	uint8_t cmos[128] = { 0 };
	unsigned int nr_e820;
	int rc;

	*fw_r = NULL;
	if (firmware_check_boot(cfg->boot ? cfg->boot : "cd")) {
		pr_err("boot=\"%s\": use the letters c (disk), d (CD-ROM), n (network), a (floppy), each once", cfg->boot);
		return -EINVAL;
	}
	if (vm->lowmem_size < reserved + (16ull << 20))
		return -EINVAL;
	fw = calloc(1, sizeof(*fw));
	if (!fw)
		return -ENOMEM;
	fw->vm = vm;
	*fw_r = fw;
	rc = firmware_read_rom(fw, path);
	if (rc)
		return rc;
	/* Reset vector at the top of 4 GiB; the running copy below 1 MiB. */
	rc = vm_map_rom(vm, VM_HIGHMEM_BASE - fw->rom_size, fw->rom, fw->rom_size);
	if (rc) {
		pr_err("mapping the firmware: %s", strerror(-rc));
		return rc;
	}
	memcpy(vm->ram + BOOT_BIOS_END - fw->rom_size, fw->rom, fw->rom_size);

	tables_gpa = vm->lowmem_size - reserved;
	usable = tables_gpa;
	nr_e820 = e820_build(e820, 16, vm->lowmem_size, highmem, reserved);

	firmware_cmos(usable, highmem, cfg->nr_cpus, cfg->boot, cmos);
	for (size_t i = 0; i < sizeof(firmware_cmos_owned); i++)
		rtc_set_cmos(rtc, firmware_cmos_owned[i], cmos[firmware_cmos_owned[i]]);

	fw->fw_cfg = fw_cfg_new(&vm->mem);
	fw->dbg = debugcon_new(firmware_line, fw);
	if (!fw->fw_cfg || !fw->dbg)
		return -ENOMEM;
	rc = firmware_fill_fw_cfg(fw, cfg, e820, nr_e820);
	if (!rc)
		rc = cfg->xen ? firmware_xen_tables(fw, cfg, tables_gpa, e820, nr_e820, usable, highmem)
			      : firmware_fw_cfg_tables(fw, cfg, usable, highmem);
	if (rc) {
		pr_err("building the firmware's tables: %s", strerror(-rc));
		return rc;
	}
	rc = fw_cfg_attach(fw->fw_cfg, &vm->pio);
	if (!rc)
		rc = debugcon_attach(fw->dbg, &vm->pio);
	if (rc) {
		pr_err("claiming the firmware's ports: %s", strerror(-rc));
		return rc;
	}
	pr_debug("firmware %s: %zu KiB, %s path", path, fw->rom_size >> 10, cfg->xen ? "Xen" : "QEMU");
	return 0;
}

void firmware_destroy(struct firmware *fw)
{
	if (!fw)
		return;
	fw_cfg_free(fw->fw_cfg);
	debugcon_free(fw->dbg);
	if (fw->rom)
		munmap(fw->rom, fw->rom_size);
	free(fw);
}
