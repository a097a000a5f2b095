/*
 * Firmware boot (kvm/firmware.c) on a fake VM: the boot order, CMOS and
 * the hvmloader-style info block as pure functions, then firmware_load()
 * against malloc'd guest RAM, read back through the guest's ports (fw_cfg,
 * CMOS, the debug port) the way SeaBIOS reads them.
 */
#include <CUnit/Basic.h>
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cunit_run.h"
#include "fake_vm.h"
#include "xenkvm/boot.h"
#include "xenkvm/debugcon.h"
#include "xenkvm/firmware.h"
#include "xenkvm/fw_cfg.h"
#include "xenkvm/log.h"
#include "xenkvm/rtc.h"

static void test_boot_letters(void)
{
	CU_ASSERT_EQUAL(firmware_check_boot("c"), 0);
	CU_ASSERT_EQUAL(firmware_check_boot("dcn"), 0);
	CU_ASSERT_EQUAL(firmware_check_boot("acdn"), 0);
	CU_ASSERT_EQUAL(firmware_check_boot(""), -EINVAL);
	CU_ASSERT_EQUAL(firmware_check_boot("cc"), -EINVAL);
	CU_ASSERT_EQUAL(firmware_check_boot("x"), -EINVAL);
	CU_ASSERT_EQUAL(firmware_check_boot("acdnc"), -EINVAL);
	CU_ASSERT_EQUAL(firmware_check_boot(NULL), -EINVAL);
}

static void test_bootorder(void)
{
	const struct firmware_drive d[] = {
		{ .ide_index = 0 }, { .ide_index = 2, .cdrom = true }, { .ide_index = 1 }, { .ide_index = 7 },
	};
	char out[256], tiny[20];

	CU_ASSERT_EQUAL(firmware_bootorder("dc", d, 4, out, sizeof(out)), (int)strlen(out));
	CU_ASSERT_STRING_EQUAL(out, "/pci@i0cf8/ide@1,1/drive@1/disk@0\n"
				    "/pci@i0cf8/ide@1,1/drive@0/disk@0\n"
				    "/pci@i0cf8/ide@1,1/drive@0/disk@1");   /* no newline after the last */
	/* default "cd": disks first; 'n' has no device here */
	firmware_bootorder(NULL, d, 4, out, sizeof(out));
	CU_ASSERT_EQUAL(strncmp(out, "/pci@i0cf8/ide@1,1/drive@0/disk@0\n", 34), 0);
	CU_ASSERT_EQUAL(firmware_bootorder("n", d, 4, out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, "");
	CU_ASSERT_EQUAL(firmware_bootorder("c", d, 4, tiny, sizeof(tiny)), -ENOSPC);
	CU_ASSERT_EQUAL(firmware_bootorder("cz", d, 4, out, sizeof(out)), -EINVAL);
}

static void test_cmos(void)
{
	uint8_t c[128] = { 0 };

	/* 3 GiB - 64 KiB usable below 4 GiB, 1 GiB above, 4 vCPUs, boot="dcn" */
	firmware_cmos(0xc0000000ull - 0x10000, 1ull << 30, 4, "dcn", c);
	CU_ASSERT_EQUAL(c[0x15] | c[0x16] << 8, 640);
	CU_ASSERT_EQUAL(c[0x30] | c[0x31] << 8, 0xffff);                /* capped */
	CU_ASSERT_EQUAL(c[0x34] | c[0x35] << 8, (0xc0000000u - 0x10000 - (16u << 20)) >> 16);
	CU_ASSERT_EQUAL(c[0x5b] | c[0x5c] << 8 | c[0x5d] << 16, (1u << 30) >> 16);
	CU_ASSERT_EQUAL(c[0x5f], 3);
	CU_ASSERT_EQUAL(c[0x3d], 0x23);                                 /* CD-ROM, then disk */
	CU_ASSERT_EQUAL(c[0x38], 0x41);                                 /* network third; no floppy check */
	/* small guest: extended memory in KiB, nothing above 16 MiB / 4 GiB */
	memset(c, 0, sizeof(c));
	firmware_cmos(8ull << 20, 0, 1, NULL, c);
	CU_ASSERT_EQUAL(c[0x30] | c[0x31] << 8, 7 * 1024);
	CU_ASSERT_EQUAL(c[0x34] | c[0x35] << 8, 0);
	CU_ASSERT_EQUAL(c[0x5b] | c[0x5c] | c[0x5d], 0);
	CU_ASSERT_EQUAL(c[0x3d], 0x32);                                 /* default "cd" */
}

static uint8_t sum8(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

static uint32_t le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static void test_xen_info(void)
{
	uint8_t b[64];
	size_t n = firmware_xen_info(b, 0x1234, 2, 0x5678, 7);

	CU_ASSERT_EQUAL(n, 32);
	CU_ASSERT_EQUAL(memcmp(b, "XenHVMSeaBIOS", 14), 0);
	CU_ASSERT_EQUAL(b[14], 32);
	CU_ASSERT_EQUAL(sum8(b, n), 0);
	CU_ASSERT_EQUAL(le32(b + 16), 0x1234);
	CU_ASSERT_EQUAL(le32(b + 20), 2);
	CU_ASSERT_EQUAL(le32(b + 24), 0x5678);
	CU_ASSERT_EQUAL(le32(b + 28), 7);
}

static char last_line[DEBUGCON_LINE_MAX + 1];
static unsigned int nr_lines;

static void on_line(void *opaque, const char *line)
{
	(void)opaque;
	snprintf(last_line, sizeof(last_line), "%s", line);
	nr_lines++;
}

static void put(struct debugcon *d, const char *s)
{
	while (*s)
		debugcon_io(d, 0, (void *)s++, 1, true);
}

static void test_debugcon(void)
{
	struct debugcon *d = debugcon_new(on_line, NULL);
	uint8_t b = 0;
	char longline[400];

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	debugcon_io(d, 0, &b, 1, false);
	CU_ASSERT_EQUAL(b, DEBUGCON_READBACK);
	put(d, "Seg\x1b" "BIOS\r\n");
	CU_ASSERT_EQUAL(nr_lines, 1);
	CU_ASSERT_STRING_EQUAL(last_line, "Seg?BIOS");
	memset(longline, 'x', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = 0;
	put(d, longline);
	CU_ASSERT_EQUAL(nr_lines, 3);                  /* two full pieces so far */
	CU_ASSERT_EQUAL(strlen(last_line), DEBUGCON_LINE_MAX);
	put(d, "\n");
	CU_ASSERT_EQUAL(strlen(last_line), sizeof(longline) - 1 - 2 * DEBUGCON_LINE_MAX);
	debugcon_free(d);
}

/* --- firmware_load() on a fake VM ---------------------------------------- */

#define FAKE_RAM (64ull << 20)

static struct vm vm;

static time_t fixed_now(void)
{
	return 1700000000;
}

static struct rtc *rtc;
static char rom_path[64];

static void fake_vm_setup(void)
{
	memset(&vm, 0, sizeof(vm));
	io_bus_init(&vm.pio, "pio");
	vm.ram_size = vm.lowmem_size = FAKE_RAM;
	vm.ram = calloc(1, FAKE_RAM);
	guest_mem_add(&vm.mem, 0, FAKE_RAM, vm.ram);
	rtc = rtc_new_detached(fixed_now);
	fake_vm_reset();
	fake_rom_maps = 0;
}

static void fake_vm_teardown(void)
{
	io_bus_destroy(&vm.pio);
	free(vm.ram);
	rtc_destroy(rtc);
}

/* A 256 KiB "BIOS" whose last bytes are a marker. */
static void make_rom(size_t size)
{
	uint8_t *img = calloc(1, size);
	FILE *f;

	snprintf(rom_path, sizeof(rom_path), "/tmp/xk-fwtest-%d.bin", (int)getpid());
	memcpy(img + size - 16, "RESET-VECTOR-XK", 16);
	f = fopen(rom_path, "wb");
	fwrite(img, 1, size, f);
	fclose(f);
	free(img);
}

static void pio(uint16_t port, void *data, unsigned int len, bool w)
{
	io_bus_access(&vm.pio, port, data, len, w);
}

static uint8_t cmos_read(uint8_t idx)
{
	uint8_t v;

	rtc_io(rtc, 0, &idx, 1, 1);
	rtc_io(rtc, 1, &v, 1, 0);
	return v;
}

/* Reads fw_cfg file `name` through the data port; returns its size or -1. */
static int fw_file(const char *name, void *buf, size_t max)
{
	uint16_t key = FW_CFG_FILE_DIR;
	uint32_t count;
	struct fw_cfg_file f;

	pio(FW_CFG_PORT_SEL, &key, 2, true);
	for (size_t i = 0; i < 4; i++)
		pio(FW_CFG_PORT_DATA, (uint8_t *)&count + i, 1, false);
	for (uint32_t e = 0; e < be32toh(count); e++) {
		for (size_t i = 0; i < sizeof(f); i++)
			pio(FW_CFG_PORT_DATA, (uint8_t *)&f + i, 1, false);
		if (strcmp(f.name, name))
			continue;
		key = be16toh(f.select);
		pio(FW_CFG_PORT_SEL, &key, 2, true);
		for (size_t i = 0; i < be32toh(f.size) && i < max; i++)
			pio(FW_CFG_PORT_DATA, (uint8_t *)buf + i, 1, false);
		return (int)be32toh(f.size);
	}
	return -1;
}

static void test_load_qemu_path(void)
{
	const struct firmware_drive drives[] = { { .ide_index = 0 } };
	struct firmware_config cfg = { .nr_cpus = 2, .drives = drives, .nr_drives = 1, .boot = "c",
				       .version = "xenkvm" };
	struct boot_e820_entry e820[16];
	struct firmware *fw = NULL;
	char buf[4096];
	uint8_t sig[4];
	uint16_t key = FW_CFG_SIGNATURE;
	int n;

	fake_vm_setup();
	make_rom(0x40000);
	cfg.path = rom_path;
	CU_ASSERT_EQUAL_FATAL(firmware_load(&vm, rtc, &cfg, &fw), 0);
	CU_ASSERT_EQUAL(fake_rom_maps, 1);
	/* the running copy ends at 1 MiB with the image's last bytes */
	CU_ASSERT_EQUAL(memcmp(vm.ram + 0x100000 - 16, "RESET-VECTOR-XK", 16), 0);
	pio(FW_CFG_PORT_SEL, &key, 2, true);
	for (int i = 0; i < 4; i++)
		pio(FW_CFG_PORT_DATA, &sig[i], 1, false);
	CU_ASSERT_EQUAL(memcmp(sig, "QEMU", 4), 0);
	n = fw_file("etc/e820", e820, sizeof(e820));
	CU_ASSERT_FATAL(n > 0 && n % 20 == 0);
	CU_ASSERT_EQUAL(e820[0].addr, 0);
	CU_ASSERT_EQUAL(e820[0].type, 1);
	n = fw_file("bootorder", buf, sizeof(buf));
	CU_ASSERT_EQUAL(n, 34);   /* with its NUL */
	CU_ASSERT_STRING_EQUAL(buf, "/pci@i0cf8/ide@1,1/drive@0/disk@0");
	CU_ASSERT(fw_file("etc/table-loader", buf, sizeof(buf)) > 0);
	CU_ASSERT(fw_file("etc/acpi/rsdp", buf, sizeof(buf)) == 36);
	CU_ASSERT(fw_file("etc/smbios/smbios-anchor", buf, sizeof(buf)) == 31);
	CU_ASSERT(fw_file("etc/sercon-port", buf, sizeof(buf)) == 2);
	CU_ASSERT_EQUAL(fw_file("etc/boot-fail-wait", buf, sizeof(buf)), 4);
	/* CMOS: RAM above 16 MiB up to the reserved top */
	CU_ASSERT_EQUAL(cmos_read(0x34) | cmos_read(0x35) << 8,
			(FAKE_RAM - FIRMWARE_TABLES_SIZE - (16ull << 20)) >> 16);
	CU_ASSERT_EQUAL(cmos_read(0x5f), 1);
	/* The firmware's "No bootable device" stops the domain as not booting. */
	{
		const char *s = "No bootable device.  Retrying in 10 seconds.\n";

		CU_ASSERT_EQUAL(fake_stop_status, -1);
		while (*s)
			pio(DEBUGCON_QEMU_PORT, (void *)s++, 1, true);
		CU_ASSERT_EQUAL(fake_stop_status, VM_EXIT_NO_BOOT);
	}
	firmware_destroy(fw);
	fake_vm_teardown();
	unlink(rom_path);
}

static void test_load_xen_path(void)
{
	static const uint8_t uuid[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	struct firmware_config cfg = { .nr_cpus = 1, .xen = true, .uuid = uuid, .version = "4.17",
				       .reserved_top = 2 * 4096 };
	struct firmware *fw = NULL;
	const uint8_t *info, *list, *rsdp, *anchor;
	char buf[64];

	fake_vm_setup();
	make_rom(0x20000);
	cfg.path = rom_path;
	CU_ASSERT_EQUAL_FATAL(firmware_load(&vm, rtc, &cfg, &fw), 0);
	info = vm.ram + FIRMWARE_XEN_INFO_GPA;
	CU_ASSERT_EQUAL_FATAL(memcmp(info, "XenHVMSeaBIOS", 14), 0);
	CU_ASSERT_EQUAL(sum8(info, info[14]), 0);
	/* the tables live in the reserved area below the special pages */
	CU_ASSERT(le32(info + 16) >= FAKE_RAM - 2 * 4096 - FIRMWARE_TABLES_SIZE);
	CU_ASSERT(le32(info + 16) < FAKE_RAM - 2 * 4096);
	CU_ASSERT_EQUAL_FATAL(le32(info + 20), 2);
	list = vm.ram + le32(info + 16);
	rsdp = vm.ram + le32(list);
	anchor = vm.ram + le32(list + 4);
	CU_ASSERT_EQUAL(memcmp(rsdp, "RSD PTR ", 8), 0);
	CU_ASSERT_EQUAL(sum8(rsdp, 20), 0);
	CU_ASSERT_EQUAL(sum8(rsdp, 36), 0);
	CU_ASSERT_EQUAL(memcmp(anchor, "_SM_", 4), 0);
	CU_ASSERT_EQUAL(sum8(anchor, 0x10), 0);
	CU_ASSERT_EQUAL(sum8(anchor + 0x10, 15), 0);
	/* the SMBIOS table the anchor names starts with type 0 */
	CU_ASSERT_EQUAL(vm.ram[le32(anchor + 0x18)], 0);
	/* the e820 the info names reserves the tables and special pages */
	{
		const struct boot_e820_entry *e = (const void *)(vm.ram + le32(info + 24));
		uint32_t n = le32(info + 28);
		bool reserved = false;

		for (uint32_t i = 0; i < n; i++)
			if (e[i].type == 2 && e[i].addr <= le32(info + 16) &&
			    e[i].addr + e[i].size >= FAKE_RAM)
				reserved = true;
		CU_ASSERT_TRUE(reserved);
	}
	/* no table-loader on this path: SeaBIOS would not run it */
	CU_ASSERT_EQUAL(fw_file("etc/table-loader", buf, sizeof(buf)), -1);
	CU_ASSERT(fw_file("etc/sercon-port", buf, sizeof(buf)) == 2);
	firmware_destroy(fw);
	fake_vm_teardown();
	unlink(rom_path);
}

static void test_load_bad_images(void)
{
	struct firmware_config cfg = { .nr_cpus = 1, .version = "x" };
	struct firmware *fw = NULL;

	fake_vm_setup();
	cfg.path = "/nonexistent/bios.bin";
	CU_ASSERT_EQUAL(firmware_load(&vm, rtc, &cfg, &fw), -EINVAL);
	firmware_destroy(fw);
	cfg.path = "/tmp";
	CU_ASSERT_EQUAL(firmware_load(&vm, rtc, &cfg, &fw), -EINVAL);
	firmware_destroy(fw);
	make_rom(0x50000);                 /* too large: would cover KVM's TSS pages */
	cfg.path = rom_path;
	CU_ASSERT_EQUAL(firmware_load(&vm, rtc, &cfg, &fw), -EINVAL);
	firmware_destroy(fw);
	make_rom(0x20000);
	cfg.boot = "zz";
	CU_ASSERT_EQUAL(firmware_load(&vm, rtc, &cfg, &fw), -EINVAL);
	firmware_destroy(fw);
	CU_ASSERT_EQUAL(fake_rom_maps, 0);
	unlink(rom_path);
	fake_vm_teardown();
}

int main(void)
{
	CU_pSuite s;

	log_set_level(LOG_ERR);
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("firmware", NULL, NULL);
	CU_add_test(s, "boot letters", test_boot_letters);
	CU_add_test(s, "bootorder", test_bootorder);
	CU_add_test(s, "CMOS", test_cmos);
	CU_add_test(s, "Xen info block", test_xen_info);
	CU_add_test(s, "debug port", test_debugcon);
	CU_add_test(s, "load: QEMU path", test_load_qemu_path);
	CU_add_test(s, "load: Xen path", test_load_xen_path);
	CU_add_test(s, "load: bad images", test_load_bad_images);
	return cunit_run(CU_BRM_NORMAL);
}
