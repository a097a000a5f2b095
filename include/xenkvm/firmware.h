/*
 * Booting a guest through SeaBIOS (Debian's bios-256k.bin, built for QEMU),
 * as Xen boots HVM guests without a kernel= line.
 *
 * The image is mapped read-only below 4 GiB (its reset vector at
 * 0xfffffff0) and copied into low RAM at 0x100000 - size, where SeaBIOS
 * runs: 0xc0000-0xfffff is plain RAM, so SeaBIOS's i440FX PAM writes need
 * no emulation (they are dropped and it copies itself from the high copy,
 * which changes nothing).  The vCPUs start in their architectural reset
 * state; APs wait for INIT/SIPI in KVM's LAPIC.
 *
 * SeaBIOS picks one of two paths by CPUID:
 *  - plain PC (no Xen leaves, xen_platform_pci=0): the QEMU path.  It reads
 *    fw_cfg (kvm/fw_cfg.c): etc/e820, the ACPI tables through
 *    etc/table-loader, SMBIOS, bootorder, etc/boot-fail-wait,
 *    etc/sercon-port, and assigns PCI BARs itself (devices start with
 *    decoding off).
 *  - Xen (the Xen personality's "XenVMMXenVMM" leaves): the path Xen's
 *    hvmloader feeds.  SeaBIOS reads a struct at 0x1000 naming the e820 map
 *    and the tables (ACPI RSDP, SMBIOS entry point), which we place in
 *    reserved low RAM below the special pages; BARs stay as xenkvmd assigned
 *    them.  It still reads fw_cfg for the boot order, the boot-fail wait and
 *    the serial console.
 * Either way CMOS holds the memory size and the legacy boot order, SeaBIOS's
 * screen output goes to COM1 (etc/sercon-port) and its log to the debug ports
 * (kvm/debugcon.c).  "No bootable device." ends the domain with
 * VM_EXIT_NO_BOOT instead of SeaBIOS's wait-and-reboot loop.
 */
#ifndef XENKVM_FIRMWARE_H
#define XENKVM_FIRMWARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FIRMWARE_SEABIOS_PATH   "/usr/share/seabios/bios-256k.bin"
#define FIRMWARE_ROM_MIN        0x10000ull
#define FIRMWARE_ROM_MAX        0x40000ull     /* up to the KVM TSS pages below it */
#define FIRMWARE_TABLES_SIZE    0x10000ull     /* reserved low RAM for the Xen path's tables */
#define FIRMWARE_XEN_INFO_GPA   0x1000ull      /* where SeaBIOS looks for hvmloader's info */
#define FIRMWARE_SERCON_PORT    0x3f8
#define FIRMWARE_BOOT_FAIL_WAIT_MS 10000u       /* if "No bootable device" went unnoticed */

/* One emulated drive SeaBIOS can boot: its PIIX3 IDE position
 * (0 primary master, 1 primary slave, 2 secondary master, 3 secondary slave). */
struct firmware_drive {
	unsigned int ide_index;
	bool cdrom;
};

struct firmware_config {
	const char *path;             /* NULL: FIRMWARE_SEABIOS_PATH */
	const char *boot;             /* xl's boot=: letters c, d, n; NULL = "cd" */
	const struct firmware_drive *drives;
	size_t nr_drives;
	bool xen;                     /* the guest sees Xen's CPUID leaves */
	const uint8_t *uuid;          /* 16 bytes or NULL */
	const char *version;          /* SMBIOS BIOS/system version */
	unsigned int nr_cpus;
	uint64_t reserved_top;        /* bytes at the top of low RAM already reserved (special pages) */
};

struct vm;
struct rtc;
struct firmware;

/*
 * Loads and maps the image, fills CMOS, fw_cfg and (Xen path) the
 * low-memory tables, claims the fw_cfg and debug ports.  The firmware's
 * tables area is FIRMWARE_TABLES_SIZE below `reserved_top`; the caller
 * reserves it in no other way.  0, or -errno with a message printed
 * (-EINVAL: the image or the config is unusable).
 */
int firmware_load(struct vm *vm, struct rtc *rtc, const struct firmware_config *cfg, struct firmware **fw_r);
/* After vm_destroy(): the ROM mapping goes last. */
void firmware_destroy(struct firmware *fw);

/* Pure helpers (unit-tested). */

/* Checks xl's boot= string: letters a, c, d, n, each at most once.  0 or -EINVAL. */
int firmware_check_boot(const char *boot);
/* SeaBIOS's "bootorder" file for `boot` and the drives: device paths
 * separated by newlines (disks for 'c', CD-ROMs for 'd', in IDE order; 'n'
 * has no device here).  Returns the length written (without the NUL), or -ENOSPC/-EINVAL. */
int firmware_bootorder(const char *boot, const struct firmware_drive *drives, size_t nr, char *out,
		       size_t outlen);
/* CMOS bytes SeaBIOS reads: memory size for `lowmem` bytes of usable RAM
 * below 4 GiB and `highmem` above, CPU count, legacy boot order. */
void firmware_cmos(uint64_t lowmem, uint64_t highmem, unsigned int nr_cpus, const char *boot,
		   uint8_t cmos[128]);
/* Writes Xen's hvmloader-to-SeaBIOS info block (tables and e820 addresses)
 * into `p`; returns its length. */
size_t firmware_xen_info(uint8_t *p, uint32_t tables_gpa, uint32_t nr_tables, uint32_t e820_gpa,
			 uint32_t nr_e820);

#endif
