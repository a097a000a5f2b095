/*
 * The PIIX3 IDE model through its ports (kvm/piix3.c on a PCI bus whose
 * BARs map onto a test I/O bus), on temporary image files: ATA disks, the
 * ATAPI CD-ROM, resets, absent drives, bounds, bus-master DMA into a
 * malloc'd guest RAM, and Xen's unplug protocol taking disks away.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cunit_run.h"
#include "fake_vm.h"
#include "xenkvm/ide.h"
#include "xenkvm/guest_mem.h"
#include "xenkvm/io_bus.h"
#include "xenkvm/log.h"
#include "xenkvm/pci.h"
#include "xenkvm/piix3.h"
#include "xenkvm/state_stream.h"
#include "xenkvm/xen_platform.h"

#define DISK_SECTORS 64
#define CD_BLOCKS    10

#define ST_ERR  0x01
#define ST_DRQ  0x08
#define ST_DRDY 0x40
#define ST_BSY  0x80

static char disk_path[64], disk2_path[64], cd_path[64];
static int irq_level[16], irq_raises[16];

static void test_irq(void *opaque, unsigned int irq, int level)
{
	(void)opaque;
	if (irq < 16) {
		if (level && !irq_level[irq])
			irq_raises[irq]++;
		irq_level[irq] = level;
	}
}

/* Byte j of 512-byte sector (or 2048-byte block) i of an image. */
static uint8_t pattern(unsigned int i, unsigned int j, uint8_t salt)
{
	return (uint8_t)(i * 7 + j * 13 + salt);
}

static void make_image(char *path, size_t size_path, unsigned int units, unsigned int unit, uint8_t salt)
{
	uint8_t *b = malloc((size_t)units * unit);
	int fd;

	snprintf(path, size_path, "/tmp/xenkvm-ide-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0 || !b) {
		perror("temp image");
		exit(1);
	}
	for (unsigned int i = 0; i < units; i++)
		for (unsigned int j = 0; j < unit; j++)
			b[(size_t)i * unit + j] = pattern(i, j, salt);
	if (write(fd, b, (size_t)units * unit) != (ssize_t)units * unit) {
		perror("temp image");
		exit(1);
	}
	close(fd);
	free(b);
}

/* ---- a machine with a PIIX3 ------------------------------------------------ */
#define RAM_SIZE (1u << 20)   /* guest RAM at 0 for bus-master DMA */

struct rig {
	struct vm vm;          /* only its buses and guest_mem: BARs map onto vm.pio */
	struct pci_bus *pci;
	struct ide *ide;
	struct piix3 *piix3;
	uint8_t *ram;
};

static void rig_up(struct rig *r, bool with_slave, bool with_cd)
{
	memset(irq_level, 0, sizeof(irq_level));
	memset(irq_raises, 0, sizeof(irq_raises));
	memset(&r->vm, 0, sizeof(r->vm));
	io_bus_init(&r->vm.pio, "pio");
	io_bus_init(&r->vm.mmio, "mmio");
	r->ram = aligned_alloc(GUEST_PAGE_SIZE, RAM_SIZE);
	CU_ASSERT_FATAL(r->ram != NULL);
	memset(r->ram, 0, RAM_SIZE);
	CU_ASSERT_EQUAL_FATAL(guest_mem_add(&r->vm.mem, 0, RAM_SIZE, r->ram), 0);
	CU_ASSERT_EQUAL_FATAL(pci_bus_create(&r->vm, &r->pci), 0);
	r->ide = ide_new(test_irq, NULL, &r->vm.mem);
	CU_ASSERT_FATAL(r->ide != NULL);
	CU_ASSERT_EQUAL_FATAL(ide_attach(r->ide, 0, &(struct ide_drive_desc){ .path = disk_path }), 0);
	if (with_slave)
		CU_ASSERT_EQUAL_FATAL(ide_attach(r->ide, 1, &(struct ide_drive_desc){ .path = disk2_path }), 0);
	if (with_cd)
		CU_ASSERT_EQUAL_FATAL(ide_attach(r->ide, 2, &(struct ide_drive_desc){ .path = cd_path, .cdrom = true }), 0);
	CU_ASSERT_EQUAL_FATAL(piix3_create(r->pci, &r->vm.pio, r->ide, &r->piix3), 0);
}

static void rig_down(struct rig *r)
{
	piix3_destroy(r->piix3);
	ide_free(r->ide);
	pci_bus_destroy(r->pci);
	io_bus_destroy(&r->vm.pio);
	io_bus_destroy(&r->vm.mmio);
	free(r->ram);
}

static uint32_t in(struct rig *r, uint16_t port, unsigned int len)
{
	uint32_t v = 0;

	io_bus_access(&r->vm.pio, port, &v, len, false);
	return v;
}

static void out(struct rig *r, uint16_t port, uint32_t v, unsigned int len)
{
	io_bus_access(&r->vm.pio, port, &v, len, true);
}

#define P 0x1f0
#define S 0x170

static void select_drive(struct rig *r, uint16_t base, unsigned int unit)
{
	out(r, base + 6, 0xe0 | (unit << 4), 1);   /* LBA */
}

static void lba28(struct rig *r, uint16_t base, unsigned int unit, uint32_t lba, uint8_t count)
{
	out(r, base + 6, 0xe0 | (unit << 4) | ((lba >> 24) & 0xf), 1);
	out(r, base + 2, count, 1);
	out(r, base + 3, lba & 0xff, 1);
	out(r, base + 4, (lba >> 8) & 0xff, 1);
	out(r, base + 5, (lba >> 16) & 0xff, 1);
}

static void lba48(struct rig *r, uint16_t base, uint64_t lba, uint16_t count)
{
	out(r, base + 6, 0x40, 1);
	out(r, base + 2, count >> 8, 1);
	out(r, base + 3, (lba >> 24) & 0xff, 1);
	out(r, base + 4, (lba >> 32) & 0xff, 1);
	out(r, base + 5, (lba >> 40) & 0xff, 1);
	out(r, base + 2, count & 0xff, 1);
	out(r, base + 3, lba & 0xff, 1);
	out(r, base + 4, (lba >> 8) & 0xff, 1);
	out(r, base + 5, (lba >> 16) & 0xff, 1);
}

/* Reads n bytes from the data port, alternating 16- and 32-bit accesses. */
static void read_data(struct rig *r, uint16_t base, uint8_t *buf, unsigned int n)
{
	for (unsigned int i = 0; i < n;) {
		unsigned int len = (i / 4) % 2 && n - i >= 4 ? 4 : 2;
		uint32_t v = in(r, base, len);

		memcpy(buf + i, &v, len);
		i += len;
	}
}

static void write_data(struct rig *r, uint16_t base, const uint8_t *buf, unsigned int n)
{
	for (unsigned int i = 0; i < n; i += 2)
		out(r, base, (uint32_t)(buf[i] | buf[i + 1] << 8), 2);
}

static bool sector_is(const uint8_t *b, unsigned int sector, uint8_t salt, unsigned int unit)
{
	for (unsigned int j = 0; j < unit; j++)
		if (b[j] != pattern(sector, j, salt))
			return false;
	return true;
}

/* ---- ATA ------------------------------------------------------------------- */
static void test_identify(void)
{
	struct rig r;
	uint16_t w[256];
	char model[41];

	rig_up(&r, false, false);
	select_drive(&r, P, 0);
	out(&r, P + 7, 0xec, 1);
	CU_ASSERT_EQUAL(irq_level[14], 1);
	CU_ASSERT_EQUAL(in(&r, 0x3f6, 1) & (ST_DRQ | ST_BSY | ST_ERR), ST_DRQ);   /* alt status */
	CU_ASSERT_EQUAL(irq_level[14], 1);          /* alt status leaves INTRQ alone */
	CU_ASSERT_EQUAL(in(&r, P + 7, 1) & ST_DRQ, ST_DRQ);
	CU_ASSERT_EQUAL(irq_level[14], 0);          /* status acknowledges it */
	read_data(&r, P, (uint8_t *)w, 512);
	CU_ASSERT_EQUAL(in(&r, P + 7, 1) & (ST_DRQ | ST_ERR | ST_DRDY), ST_DRDY);
	CU_ASSERT_EQUAL(w[0], 0x0040);
	CU_ASSERT_EQUAL(w[60] | (uint32_t)w[61] << 16, DISK_SECTORS);
	CU_ASSERT_EQUAL(w[100], DISK_SECTORS);
	CU_ASSERT_EQUAL(w[83] & 0x0400, 0x0400);    /* LBA48 */
	CU_ASSERT_EQUAL(w[49] & 0x0200, 0x0200);    /* LBA */
	CU_ASSERT_EQUAL(w[49] & 0x0100, 0x0100);    /* DMA */
	for (unsigned int i = 0; i < 20; i++) {
		model[2 * i] = (char)(w[27 + i] >> 8);
		model[2 * i + 1] = (char)w[27 + i];
	}
	model[40] = 0;
	CU_ASSERT_EQUAL(strncmp(model, "XENKVM HARDDISK ", 16), 0);
	/* A data read with nothing to transfer gets nothing. */
	CU_ASSERT_EQUAL(in(&r, P, 2), 0);
	/* IDENTIFY PACKET DEVICE is a packet device's command. */
	out(&r, P + 7, 0xa1, 1);
	CU_ASSERT_EQUAL(in(&r, P + 7, 1) & (ST_ERR | ST_DRQ), ST_ERR);
	CU_ASSERT_EQUAL(in(&r, P + 1, 1), 0x04);
	rig_down(&r);
}

static void test_read_write_sectors(void)
{
	struct rig r;
	uint8_t b[4 * 512], w[512];
	int fd;

	rig_up(&r, false, false);
	lba28(&r, P, 0, 3, 2);
	out(&r, P + 7, 0x20, 1);
	CU_ASSERT_EQUAL(irq_raises[14], 1);
	CU_ASSERT_EQUAL(in(&r, P + 7, 1) & ST_DRQ, ST_DRQ);
	read_data(&r, P, b, 512);
	CU_ASSERT_EQUAL(irq_raises[14], 2);          /* one interrupt per sector */
	read_data(&r, P, b + 512, 512);
	CU_ASSERT_EQUAL(in(&r, P + 7, 1) & (ST_DRQ | ST_ERR), 0);
	CU_ASSERT(sector_is(b, 3, 0, 512));
	CU_ASSERT(sector_is(b + 512, 4, 0, 512));

	/* WRITE SECTORS: DRQ without an interrupt for the first sector. */
	for (unsigned int j = 0; j < 512; j++)
		w[j] = (uint8_t)(0xa5 ^ j);
	lba28(&r, P, 0, 9, 1);
	irq_raises[14] = 0;
	out(&r, P + 7, 0x30, 1);
	CU_ASSERT_EQUAL(irq_raises[14], 0);
	CU_ASSERT_EQUAL(in(&r, 0x3f6, 1) & ST_DRQ, ST_DRQ);
	write_data(&r, P, w, 512);
	CU_ASSERT_EQUAL(irq_raises[14], 1);
	CU_ASSERT_EQUAL(in(&r, P + 7, 1) & (ST_DRQ | ST_ERR | ST_DRDY), ST_DRDY);
	fd = open(disk_path, O_RDONLY);
	CU_ASSERT_EQUAL(pread(fd, b, 512, 9 * 512), 512);
	CU_ASSERT_EQUAL(memcmp(b, w, 512), 0);
	CU_ASSERT_EQUAL(pread(fd, b, 512, 10 * 512), 512);
	CU_ASSERT(sector_is(b, 10, 0, 512));         /* the next sector is untouched */
	close(fd);

	/* ... and read back through IDE. */
	lba28(&r, P, 0, 9, 1);
	out(&r, P + 7, 0x20, 1);
	read_data(&r, P, b, 512);
	CU_ASSERT_EQUAL(memcmp(b, w, 512), 0);

	/* CHS: cylinder 0, head 0, sector 2 is LBA 1; sector 0 does not exist. */
	out(&r, P + 6, 0xa0, 1);
	out(&r, P + 2, 1, 1);
	out(&r, P + 3, 2, 1);
	out(&r, P + 4, 0, 1);
	out(&r, P + 5, 0, 1);
	out(&r, P + 7, 0x20, 1);
	read_data(&r, P, b, 512);
	CU_ASSERT(sector_is(b, 1, 0, 512));
	out(&r, P + 3, 0, 1);
	out(&r, P + 7, 0x20, 1);
	CU_ASSERT_EQUAL(in(&r, P + 7, 1) & ST_ERR, ST_ERR);
	rig_down(&r);
}

static void test_ext_and_multiple(void)
{
	struct rig r;
	uint8_t b[8 * 512], w[4 * 512];
	int fd;

	rig_up(&r, false, false);
	/* READ SECTORS EXT: LBA 60, 4 sectors, the last four of the disk. */
	lba48(&r, P, 60, 4);
	out(&r, P + 7, 0x24, 1);
	for (unsigned int i = 0; i < 4; i++)
		read_data(&r, P, b + i * 512, 512);
	for (unsigned int i = 0; i < 4; i++)
		CU_ASSERT(sector_is(b + i * 512, 60 + i, 0, 512));
	CU_ASSERT_EQUAL(in(&r, P + 7, 1) & (ST_DRQ | ST_ERR), 0);
	/* The high-order bytes count: LBA 2^24 + 1 is past this disk. */
	lba48(&r, P, (1u << 24) + 1, 1);
	out(&r, P + 7, 0x24, 1);
	CU_ASSERT_EQUAL(in(&r, P + 7, 1) & (ST_ERR | ST_DRQ), ST_ERR);
	CU_ASSERT_EQUAL(in(&r, P + 1, 1) & 0x10, 0x10);   /* IDNF */
	/* HOB reads back the previous bytes. */
	out(&r, 0x3f6, 0x80, 1);
	CU_ASSERT_EQUAL(in(&r, P + 5, 1), 0);
	CU_ASSERT_EQUAL(in(&r, P + 3, 1), 1);
	out(&r, 0x3f6, 0x00, 1);

	/* READ MULTIPLE needs SET MULTIPLE MODE first; 3 is no power of two. */
	lba28(&r, P, 0, 0, 8);
	out(&r, P + 7, 0xc4, 1);
	CU_ASSERT_EQUAL(in(&r, P + 7, 1) & ST_ERR, ST_ERR);
	out(&r, P + 2, 3, 1);
	out(&r, P + 7, 0xc6, 1);
	CU_ASSERT_EQUAL(in(&r, P + 7, 1) & ST_ERR, ST_ERR);
	out(&r, P + 2, 4, 1);
	out(&r, P + 7, 0xc6, 1);
	CU_ASSERT_EQUAL(in(&r, P + 7, 1) & ST_ERR, 0);
	lba28(&r, P, 0, 20, 8);
	irq_raises[14] = 0;
	out(&r, P + 7, 0xc4, 1);
	CU_ASSERT_EQUAL(in(&r, P + 7, 1) & ST_DRQ, ST_DRQ);
	read_data(&r, P, b, 4 * 512);
	CU_ASSERT_EQUAL(irq_raises[14], 2);          /* one interrupt per 4-sector block */
	CU_ASSERT_EQUAL(in(&r, P + 7, 1) & ST_DRQ, ST_DRQ);
	read_data(&r, P, b + 4 * 512, 4 * 512);
	CU_ASSERT_EQUAL(irq_raises[14], 2);
	CU_ASSERT_EQUAL(in(&r, P + 7, 1) & (ST_DRQ | ST_ERR), 0);
	for (unsigned int i = 0; i < 8; i++)
		CU_ASSERT(sector_is(b + i * 512, 20 + i, 0, 512));

	/* WRITE MULTIPLE EXT of 4 sectors at 30: one block. */
	for (unsigned int j = 0; j < sizeof(w); j++)
		w[j] = (uint8_t)(j * 3 + 1);
	lba48(&r, P, 30, 4);
	out(&r, P + 7, 0x39, 1);
	write_data(&r, P, w, sizeof(w));
	CU_ASSERT_EQUAL(in(&r, P + 7, 1) & (ST_DRQ | ST_ERR), 0);
	/* FLUSH CACHE EXT */
	out(&r, P + 7, 0xea, 1);
	CU_ASSERT_EQUAL(in(&r, P + 7, 1) & ST_ERR, 0);
	fd = open(disk_path, O_RDONLY);
	CU_ASSERT_EQUAL(pread(fd, b, sizeof(w), 30 * 512), (ssize_t)sizeof(w));
	CU_ASSERT_EQUAL(memcmp(b, w, sizeof(w)), 0);
	close(fd);
	rig_down(&r);
}

static void test_bounds_and_bad_commands(void)
{
	struct rig r;
	uint8_t b[512];
	struct stat st;
	int fd;

	rig_up(&r, false, false);
	/* The last sector reads; one more is IDNF, for reads, writes (PIO and DMA)
	 * and verify. */
	lba28(&r, P, 0, DISK_SECTORS - 1, 1);
	out(&r, P + 7, 0x20, 1);
	read_data(&r, P, b, 512);
	CU_ASSERT(sector_is(b, DISK_SECTORS - 1, 0, 512));
	static const uint8_t cmds[] = { 0x20, 0x30, 0x40, 0x24, 0x34, 0xc8, 0xca, 0x25, 0x35 };
	for (unsigned int i = 0; i < sizeof(cmds); i++) {
		if (cmds[i] == 0x24 || cmds[i] == 0x34 || cmds[i] == 0x25 || cmds[i] == 0x35)
			lba48(&r, P, DISK_SECTORS - 1, 2);
		else
			lba28(&r, P, 0, DISK_SECTORS - 1, 2);
		out(&r, P + 7, cmds[i], 1);
		CU_ASSERT_EQUAL(in(&r, P + 7, 1) & (ST_ERR | ST_DRQ), ST_ERR);
		CU_ASSERT_EQUAL(in(&r, P + 1, 1), 0x14);   /* IDNF | ABRT */
	}
	/* A count of 0 means 256 sectors: past this disk. */
	lba28(&r, P, 0, 0, 0);
	out(&r, P + 7, 0x20, 1);
	CU_ASSERT_EQUAL(in(&r, P + 7, 1) & ST_ERR, ST_ERR);
	/* READ VERIFY inside the disk is fine. */
	lba28(&r, P, 0, 0, 4);
	out(&r, P + 7, 0x40, 1);
	CU_ASSERT_EQUAL(in(&r, P + 7, 1) & (ST_ERR | ST_DRQ), 0);
	/* Commands we do not have: ABRT. */
	static const uint8_t bad[] = { 0xff, 0x00, 0xb0, 0xf8, 0xa0, 0xc7 };
	for (unsigned int i = 0; i < sizeof(bad); i++) {
		out(&r, P + 7, bad[i], 1);
		CU_ASSERT_EQUAL(in(&r, P + 7, 1) & (ST_ERR | ST_DRQ), ST_ERR);
		CU_ASSERT_EQUAL(in(&r, P + 1, 1), 0x04);
	}
	/* SET FEATURES: PIO mode 4 yes, UDMA 6 no (test_identify_dma has the rest). */
	out(&r, P + 1, 0x03, 1);
	out(&r, P + 2, 0x0c, 1);
	out(&r, P + 7, 0xef, 1);
	CU_ASSERT_EQUAL(in(&r, P + 7, 1) & ST_ERR, 0);
	out(&r, P + 2, 0x46, 1);
	out(&r, P + 7, 0xef, 1);
	CU_ASSERT_EQUAL(in(&r, P + 7, 1) & ST_ERR, ST_ERR);
	CU_ASSERT_EQUAL(ide_out_of_range(r.ide), 0);
	rig_down(&r);
	CU_ASSERT_EQUAL(stat(disk_path, &st), 0);
	CU_ASSERT_EQUAL(st.st_size, DISK_SECTORS * 512);   /* nothing written past the end */

	/* A read-only disk refuses writes. */
	struct ide *ide = ide_new(test_irq, NULL, NULL);
	uint8_t v;
	CU_ASSERT_EQUAL(ide_attach(ide, 0, &(struct ide_drive_desc){ .path = disk_path, .readonly = true }), 0);
	v = 0xe0;
	ide_io(ide, 0, false, 6, &v, 1, true);
	v = 1;
	ide_io(ide, 0, false, 2, &v, 1, true);
	v = 0x30;
	ide_io(ide, 0, false, 7, &v, 1, true);
	ide_io(ide, 0, false, 7, &v, 1, false);
	CU_ASSERT_EQUAL(v & (ST_ERR | ST_DRQ), ST_ERR);
	ide_free(ide);
	fd = open(disk_path, O_RDONLY);
	CU_ASSERT(fd >= 0);
	close(fd);
}

static void test_reset_and_absent(void)
{
	struct rig r;

	rig_up(&r, false, false);
	/* SRST: busy while held, then the ATA signature and ready. */
	lba28(&r, P, 0, 5, 3);
	out(&r, 0x3f6, 0x06, 1);
	CU_ASSERT_EQUAL(in(&r, 0x3f6, 1) & ST_BSY, ST_BSY);
	out(&r, 0x3f6, 0x02, 1);
	CU_ASSERT_EQUAL(in(&r, P + 7, 1) & (ST_BSY | ST_DRDY), ST_DRDY);
	CU_ASSERT_EQUAL(in(&r, P + 2, 1), 1);
	CU_ASSERT_EQUAL(in(&r, P + 3, 1), 1);
	CU_ASSERT_EQUAL(in(&r, P + 4, 1), 0);
	CU_ASSERT_EQUAL(in(&r, P + 5, 1), 0);
	CU_ASSERT_EQUAL(in(&r, P + 1, 1), 1);        /* diagnostics passed */
	/* nIEN keeps the line low. */
	out(&r, P + 7, 0xec, 1);
	CU_ASSERT_EQUAL(irq_level[14], 0);
	out(&r, 0x3f6, 0x00, 1);
	CU_ASSERT_EQUAL(irq_level[14], 1);
	in(&r, P + 7, 1);
	/* SRST in the middle of a transfer ends it. */
	out(&r, 0x3f6, 0x04, 1);
	out(&r, 0x3f6, 0x00, 1);
	CU_ASSERT_EQUAL(in(&r, P + 7, 1) & ST_DRQ, 0);

	/* The slave is absent: its status and error read 0, its commands go
	 * nowhere, yet the shared task file latches what is written. */
	select_drive(&r, P, 1);
	CU_ASSERT_EQUAL(in(&r, P + 7, 1), 0);
	CU_ASSERT_EQUAL(in(&r, P + 1, 1), 0);
	out(&r, P + 2, 0x55, 1);
	out(&r, P + 3, 0xaa, 1);
	CU_ASSERT_EQUAL(in(&r, P + 2, 1), 0x55);
	CU_ASSERT_EQUAL(in(&r, P + 3, 1), 0xaa);
	irq_raises[14] = 0;
	out(&r, P + 7, 0xec, 1);
	CU_ASSERT_EQUAL(irq_raises[14], 0);
	CU_ASSERT_EQUAL(in(&r, P + 7, 1), 0);
	/* The master still answers. */
	select_drive(&r, P, 0);
	CU_ASSERT_EQUAL(in(&r, P + 7, 1) & ST_DRDY, ST_DRDY);
	/* An empty channel floats. */
	CU_ASSERT_EQUAL(in(&r, S + 7, 1), 0xff);
	CU_ASSERT_EQUAL(in(&r, 0x376, 1), 0xff);
	out(&r, S + 2, 0x55, 1);
	CU_ASSERT_EQUAL(in(&r, S + 2, 1), 0xff);
	rig_down(&r);
}

/* EXECUTE DEVICE DIAGNOSTIC, INITIALIZE DEVICE PARAMETERS (CHS follows the
 * new geometry), write cache off in IDENTIFY. */
static void test_diag_and_geometry(void)
{
	struct rig r;
	uint16_t w[256];
	uint8_t b[512];

	rig_up(&r, false, false);
	lba28(&r, P, 0, 7, 9);
	out(&r, P + 7, 0x90, 1);
	CU_ASSERT_EQUAL(irq_level[14], 1);
	CU_ASSERT_EQUAL(in(&r, P + 7, 1) & (ST_ERR | ST_DRQ | ST_DRDY), ST_DRDY);
	CU_ASSERT_EQUAL(in(&r, P + 1, 1), 0x01);
	CU_ASSERT_EQUAL(in(&r, P + 2, 1), 1);
	CU_ASSERT_EQUAL(in(&r, P + 4, 1), 0);
	/* 4 heads, 8 sectors per track: C/H/S 1/2/3 is LBA (1 * 4 + 2) * 8 + 2 = 50. */
	out(&r, P + 6, 0xa3, 1);
	out(&r, P + 2, 8, 1);
	out(&r, P + 7, 0x91, 1);
	CU_ASSERT_EQUAL(in(&r, P + 7, 1) & ST_ERR, 0);
	out(&r, P + 6, 0xa2, 1);
	out(&r, P + 2, 1, 1);
	out(&r, P + 3, 3, 1);
	out(&r, P + 4, 1, 1);
	out(&r, P + 5, 0, 1);
	out(&r, P + 7, 0x20, 1);
	CU_ASSERT_EQUAL(in(&r, P + 7, 1) & (ST_ERR | ST_DRQ), ST_DRQ);
	read_data(&r, P, b, 512);
	CU_ASSERT(sector_is(b, 50, 0, 512));
	out(&r, P + 3, 9, 1);            /* sector 9 of 8 */
	out(&r, P + 7, 0x20, 1);
	CU_ASSERT_EQUAL(in(&r, P + 7, 1) & ST_ERR, ST_ERR);
	out(&r, P + 2, 0, 1);            /* 0 sectors per track */
	out(&r, P + 7, 0x91, 1);
	CU_ASSERT_EQUAL(in(&r, P + 7, 1) & ST_ERR, ST_ERR);
	/* Write cache off shows in IDENTIFY word 85. */
	select_drive(&r, P, 0);
	out(&r, P + 1, 0x82, 1);
	out(&r, P + 7, 0xef, 1);
	CU_ASSERT_EQUAL(in(&r, P + 7, 1) & ST_ERR, 0);
	out(&r, P + 7, 0xec, 1);
	read_data(&r, P, (uint8_t *)w, 512);
	CU_ASSERT_EQUAL(w[85] & 0x20, 0);
	CU_ASSERT_EQUAL(w[55], 4);       /* the current geometry ... */
	CU_ASSERT_EQUAL(w[56], 8);
	CU_ASSERT_EQUAL(w[3], 16);       /* ... and the default one */
	rig_down(&r);
}

/* ---- ATAPI ------------------------------------------------------------------ */
/* Sends a 12-byte packet to the secondary master; returns the final status. */
static uint8_t packet(struct rig *r, const uint8_t *cdb, uint16_t bcl, uint8_t *data, unsigned int *got)
{
	unsigned int n = 0;
	uint8_t st;

	select_drive(r, S, 0);
	out(r, S + 1, 0, 1);
	out(r, S + 4, bcl & 0xff, 1);
	out(r, S + 5, bcl >> 8, 1);
	out(r, S + 7, 0xa0, 1);
	CU_ASSERT_EQUAL(in(r, 0x376, 1) & ST_DRQ, ST_DRQ);
	CU_ASSERT_EQUAL(in(r, S + 2, 1) & 3, 1);     /* CoD: send the command */
	write_data(r, S, cdb, 12);
	for (;;) {
		st = (uint8_t)in(r, S + 7, 1);
		if (!(st & ST_DRQ))
			break;
		unsigned int len = in(r, S + 4, 1) | in(r, S + 5, 1) << 8;

		CU_ASSERT_EQUAL(in(r, S + 2, 1) & 3, 2);  /* IO: data to the host */
		CU_ASSERT(len <= bcl);
		read_data(r, S, data + n, len);
		n += len;
	}
	CU_ASSERT_EQUAL(in(r, S + 2, 1) & 3, 3);      /* status phase */
	*got = n;
	return st;
}

static void test_atapi(void)
{
	static uint8_t data[8 * 2048];
	struct rig r;
	uint16_t w[256];
	unsigned int n;
	uint8_t cdb[12];

	rig_up(&r, false, true);
	/* The packet signature, and IDENTIFY DEVICE refused with it. */
	CU_ASSERT_EQUAL(in(&r, S + 4, 1), 0x14);
	CU_ASSERT_EQUAL(in(&r, S + 5, 1), 0xeb);
	out(&r, S + 4, 0, 1);
	out(&r, S + 7, 0xec, 1);
	CU_ASSERT_EQUAL(in(&r, S + 7, 1) & ST_ERR, ST_ERR);
	CU_ASSERT_EQUAL(in(&r, S + 4, 1), 0x14);
	out(&r, S + 7, 0xa1, 1);
	read_data(&r, S, (uint8_t *)w, 512);
	CU_ASSERT_EQUAL(w[0], 0x85c0);
	/* Read sector commands are for disks. */
	lba28(&r, S, 0, 0, 1);
	out(&r, S + 7, 0x20, 1);
	CU_ASSERT_EQUAL(in(&r, S + 7, 1) & (ST_ERR | ST_DRQ), ST_ERR);

	memset(cdb, 0, sizeof(cdb));   /* TEST UNIT READY */
	CU_ASSERT_EQUAL(packet(&r, cdb, 2048, data, &n) & ST_ERR, 0);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_EQUAL(irq_level[15], 0);           /* acknowledged by the status read */

	memset(cdb, 0, sizeof(cdb));   /* INQUIRY */
	cdb[0] = 0x12;
	cdb[4] = 96;
	CU_ASSERT_EQUAL(packet(&r, cdb, 2048, data, &n) & ST_ERR, 0);
	CU_ASSERT_EQUAL(n, 36);
	CU_ASSERT_EQUAL(data[0], 0x05);
	CU_ASSERT_EQUAL(data[1] & 0x80, 0x80);
	CU_ASSERT_EQUAL(memcmp(data + 8, "XENKVM", 6), 0);
	cdb[4] = 5;                    /* the allocation length cuts the reply */
	packet(&r, cdb, 2048, data, &n);
	CU_ASSERT_EQUAL(n, 5);

	memset(cdb, 0, sizeof(cdb));   /* READ CAPACITY */
	cdb[0] = 0x25;
	CU_ASSERT_EQUAL(packet(&r, cdb, 2048, data, &n) & ST_ERR, 0);
	CU_ASSERT_EQUAL(n, 8);
	CU_ASSERT_EQUAL(data[3], CD_BLOCKS - 1);
	CU_ASSERT_EQUAL(data[6], 0x08);              /* 2048 */

	memset(cdb, 0, sizeof(cdb));   /* READ(10) of blocks 7-9 with 4 KiB chunks */
	cdb[0] = 0x28;
	cdb[5] = 7;
	cdb[8] = 3;
	irq_raises[15] = 0;
	CU_ASSERT_EQUAL(packet(&r, cdb, 4096, data, &n) & ST_ERR, 0);
	CU_ASSERT_EQUAL(n, 3 * 2048);
	CU_ASSERT_EQUAL(irq_raises[15], 3);          /* 2 chunks + status */
	for (unsigned int i = 0; i < 3; i++)
		CU_ASSERT(sector_is(data + i * 2048, 7 + i, 0x40, 2048));
	cdb[0] = 0xa8;                 /* READ(12), block 2 */
	cdb[5] = 2;
	cdb[8] = 0;
	cdb[9] = 1;
	CU_ASSERT_EQUAL(packet(&r, cdb, 0xffff, data, &n) & ST_ERR, 0);
	CU_ASSERT_EQUAL(n, 2048);
	CU_ASSERT(sector_is(data, 2, 0x40, 2048));

	memset(cdb, 0, sizeof(cdb));   /* READ(10) past the end: CHECK CONDITION */
	cdb[0] = 0x28;
	cdb[5] = CD_BLOCKS - 1;
	cdb[8] = 2;
	CU_ASSERT_EQUAL(packet(&r, cdb, 2048, data, &n) & ST_ERR, ST_ERR);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_EQUAL(in(&r, S + 1, 1) >> 4, 0x05);   /* ILLEGAL REQUEST */
	memset(cdb, 0, sizeof(cdb));   /* REQUEST SENSE says why, once */
	cdb[0] = 0x03;
	cdb[4] = 18;
	CU_ASSERT_EQUAL(packet(&r, cdb, 2048, data, &n) & ST_ERR, 0);
	CU_ASSERT_EQUAL(n, 18);
	CU_ASSERT_EQUAL(data[2], 0x05);
	CU_ASSERT_EQUAL(data[12], 0x21);
	packet(&r, cdb, 2048, data, &n);
	CU_ASSERT_EQUAL(data[2], 0);

	memset(cdb, 0, sizeof(cdb));   /* an unknown command */
	cdb[0] = 0xff;
	CU_ASSERT_EQUAL(packet(&r, cdb, 2048, data, &n) & ST_ERR, ST_ERR);
	cdb[0] = 0x03;
	cdb[4] = 18;
	packet(&r, cdb, 2048, data, &n);
	CU_ASSERT_EQUAL(data[2], 0x05);
	CU_ASSERT_EQUAL(data[12], 0x20);

	memset(cdb, 0, sizeof(cdb));   /* READ TOC: track 1 and the lead-out */
	cdb[0] = 0x43;
	cdb[8] = 100;
	CU_ASSERT_EQUAL(packet(&r, cdb, 2048, data, &n) & ST_ERR, 0);
	CU_ASSERT_EQUAL(n, 20);
	CU_ASSERT_EQUAL(data[4 + 2], 1);
	CU_ASSERT_EQUAL(data[12 + 2], 0xaa);
	CU_ASSERT_EQUAL(data[12 + 7], CD_BLOCKS);

	memset(cdb, 0, sizeof(cdb));   /* MODE SENSE(10), capabilities page */
	cdb[0] = 0x5a;
	cdb[2] = 0x2a;
	cdb[8] = 128;
	CU_ASSERT_EQUAL(packet(&r, cdb, 2048, data, &n) & ST_ERR, 0);
	CU_ASSERT_EQUAL(n, 28);
	CU_ASSERT_EQUAL(data[8], 0x2a);
	cdb[2] = 0x05;                 /* a page we do not have */
	CU_ASSERT_EQUAL(packet(&r, cdb, 2048, data, &n) & ST_ERR, ST_ERR);

	memset(cdb, 0, sizeof(cdb));   /* GET EVENT STATUS: the disc is new, once */
	cdb[0] = 0x4a;
	cdb[1] = 1;
	cdb[4] = 0x10;
	cdb[8] = 8;
	CU_ASSERT_EQUAL(packet(&r, cdb, 2048, data, &n) & ST_ERR, 0);
	CU_ASSERT_EQUAL(n, 8);
	CU_ASSERT_EQUAL(data[4], 2);
	CU_ASSERT_EQUAL(data[5] & 2, 2);
	packet(&r, cdb, 2048, data, &n);
	CU_ASSERT_EQUAL(data[4], 0);

	memset(cdb, 0, sizeof(cdb));   /* GET CONFIGURATION: a CD-ROM */
	cdb[0] = 0x46;
	cdb[8] = 64;
	CU_ASSERT_EQUAL(packet(&r, cdb, 2048, data, &n) & ST_ERR, 0);
	CU_ASSERT_EQUAL(data[7], 0x08);

	/* PACKET with DMA asked for: there is no DMA engine. */
	select_drive(&r, S, 0);
	out(&r, S + 1, 1, 1);
	out(&r, S + 7, 0xa0, 1);
	CU_ASSERT_EQUAL(in(&r, S + 7, 1) & (ST_ERR | ST_DRQ), ST_ERR);
	CU_ASSERT_EQUAL(ide_out_of_range(r.ide), 0);
	rig_down(&r);
}

static void test_empty_cdrom(void)
{
	struct ide *ide = ide_new(test_irq, NULL, NULL);
	uint8_t cdb[12] = { 0 }, v;
	uint16_t w;

	CU_ASSERT_EQUAL(ide_attach(ide, 3, &(struct ide_drive_desc){ .cdrom = true }), 0);
	v = 0xf0;
	ide_io(ide, 1, false, 6, &v, 1, true);
	v = 0xa0;
	ide_io(ide, 1, false, 7, &v, 1, true);
	for (unsigned int i = 0; i < 12; i += 2) {
		w = (uint16_t)(cdb[i] | cdb[i + 1] << 8);
		ide_io(ide, 1, false, 0, &w, 2, true);
	}
	ide_io(ide, 1, false, 7, &v, 1, false);
	CU_ASSERT_EQUAL(v & ST_ERR, ST_ERR);
	ide_io(ide, 1, false, 1, &v, 1, false);
	CU_ASSERT_EQUAL(v >> 4, 0x02);               /* NOT READY: no disc */
	ide_free(ide);
}

static void test_attach_errors(void)
{
	struct ide *ide = ide_new(NULL, NULL, NULL);
	char small[64];
	int fd;

	CU_ASSERT_EQUAL(ide_attach(ide, 0, &(struct ide_drive_desc){ .path = "/nonexistent/x.img" }), -ENOENT);
	CU_ASSERT_EQUAL(ide_attach(ide, 0, &(struct ide_drive_desc){ .path = "/tmp" }), -EISDIR);
	snprintf(small, sizeof(small), "/tmp/xenkvm-ide-XXXXXX");
	fd = mkstemp(small);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, "tiny", 4), 4);
	close(fd);
	CU_ASSERT_EQUAL(ide_attach(ide, 0, &(struct ide_drive_desc){ .path = small }), -EINVAL);
	CU_ASSERT_EQUAL(ide_attach(ide, 0, &(struct ide_drive_desc){ .path = NULL }), -EINVAL);
	CU_ASSERT_EQUAL(ide_attach(ide, 4, &(struct ide_drive_desc){ .path = disk_path }), -EINVAL);
	CU_ASSERT_EQUAL(ide_attach(ide, 0, &(struct ide_drive_desc){ .path = disk_path }), 0);
	CU_ASSERT_EQUAL(ide_attach(ide, 0, &(struct ide_drive_desc){ .path = disk_path }), -EBUSY);
	CU_ASSERT_FALSE(ide_present(ide, 1));
	CU_ASSERT_TRUE(ide_present(ide, 0));
	unlink(small);
	ide_free(ide);
}

/* ---- the PCI layout and Xen's unplug protocol -------------------------------- */
static uint32_t cfg_read(struct pci_bus *bus, unsigned int slot, unsigned int fn, unsigned int off,
			 unsigned int len)
{
	uint32_t addr = 0x80000000u | (slot << 11) | (fn << 8) | (off & 0xfc), v = 0;

	pci_config_io(bus, 0xcf8, &addr, 4, true);
	pci_config_io(bus, 0xcfc + (off & 3), &v, len, false);
	return v;
}

static void unplug_to_ide(void *opaque, uint16_t mask)
{
	ide_unplug(opaque, mask);
}

static uint32_t plat_in(struct xen_platform *p, uint16_t port, unsigned int len)
{
	uint32_t v = 0;

	xen_platform_port_io(p, port, &v, len, false);
	return v;
}

static void plat_out(struct xen_platform *p, uint16_t port, uint32_t v, unsigned int len)
{
	xen_platform_port_io(p, port, &v, len, true);
}

/* What Linux's xen_unplug_emulated_devices() does; false if blacklisted. */
static bool linux_unplug(struct xen_platform *p, uint16_t product, uint32_t build, uint16_t mask)
{
	if (plat_in(p, 0x10, 2) != XEN_UNPLUG_MAGIC || plat_in(p, 0x12, 1) != XEN_UNPLUG_PROTOCOL)
		return false;
	plat_out(p, 0x12, product, 2);
	plat_out(p, 0x10, build, 4);
	if (plat_in(p, 0x10, 2) != XEN_UNPLUG_MAGIC) {
		CU_ASSERT_EQUAL(plat_in(p, 0x10, 2), XEN_UNPLUG_BLACKLISTED);
		/* A driver that ignores the answer is refused anyway. */
		plat_out(p, 0x10, mask, 2);
		return false;
	}
	plat_out(p, 0x10, mask, 2);
	return true;
}

static void test_pci_layout(void)
{
	struct rig r;
	struct xen_platform *plat;

	rig_up(&r, false, false);
	CU_ASSERT_EQUAL_FATAL(xen_platform_create(r.pci, &r.vm.pio, &plat), 0);
	CU_ASSERT_EQUAL(cfg_read(r.pci, 1, 0, 0, 4), 0x70008086u);
	CU_ASSERT_EQUAL(cfg_read(r.pci, 1, 0, 0x0e, 1), 0x80);    /* multi-function */
	CU_ASSERT_EQUAL(cfg_read(r.pci, 1, 0, 0x08, 4) >> 8, 0x060100u);
	CU_ASSERT_EQUAL(cfg_read(r.pci, 1, 1, 0, 4), 0x70108086u);
	CU_ASSERT_EQUAL(cfg_read(r.pci, 1, 1, 0x08, 4) >> 8, 0x010180u);
	CU_ASSERT_EQUAL(cfg_read(r.pci, 1, 1, 0x10, 4), 0);         /* legacy: BARs 0-3 unused */
	CU_ASSERT_EQUAL(cfg_read(r.pci, 1, 1, 0x20, 4), 0xc001u);   /* BAR4: bus-master I/O */
	CU_ASSERT_EQUAL(cfg_read(r.pci, 1, 1, 0x40, 4), 0x80008000u);   /* both channels decode */
	CU_ASSERT_EQUAL(cfg_read(r.pci, 1, 2, 0, 4), 0xffffffffu);
	CU_ASSERT_EQUAL(cfg_read(r.pci, 2, 0, 0, 4), 0x00015853u);     /* xen-platform at 00:02.0 */
	CU_ASSERT_EQUAL(cfg_read(r.pci, 2, 0, 0x0e, 1), 0);
	CU_ASSERT_EQUAL(cfg_read(r.pci, 3, 0, 0, 4), 0xffffffffu);
	xen_platform_destroy(plat);
	rig_down(&r);
}

static void test_unplug(void)
{
	struct rig r;
	struct xen_platform *plat;

	/* Aux disks only: the primary master stays, the slave goes, the CD stays. */
	rig_up(&r, true, true);
	plat = xen_platform_new_detached();
	xen_platform_set_unplug(plat, unplug_to_ide, r.ide);
	CU_ASSERT_TRUE(linux_unplug(plat, 3, 0x1, XEN_UNPLUG_AUX_IDE));
	CU_ASSERT_TRUE(ide_present(r.ide, 0));
	CU_ASSERT_FALSE(ide_present(r.ide, 1));
	CU_ASSERT_TRUE(ide_present(r.ide, 2));
	select_drive(&r, P, 1);
	CU_ASSERT_EQUAL(in(&r, P + 7, 1), 0);
	xen_platform_destroy(plat);
	rig_down(&r);

	/* All disks (as Linux does by default) and NICs: the primary channel
	 * floats, the CD-ROM answers. */
	rig_up(&r, true, true);
	plat = xen_platform_new_detached();
	xen_platform_set_unplug(plat, unplug_to_ide, r.ide);
	/* A write through IDE before the unplug is in the file after it. */
	{
		uint8_t w[512], b[512];
		int fd;

		memset(w, 0x5a, sizeof(w));
		lba28(&r, P, 0, 2, 1);
		out(&r, P + 7, 0x30, 1);
		write_data(&r, P, w, sizeof(w));
		CU_ASSERT_TRUE(linux_unplug(plat, 3, 0x1, XEN_UNPLUG_IDE_DISKS | XEN_UNPLUG_NICS));
		fd = open(disk_path, O_RDONLY);
		CU_ASSERT_EQUAL(pread(fd, b, 512, 2 * 512), 512);
		CU_ASSERT_EQUAL(memcmp(b, w, 512), 0);
		close(fd);
	}
	CU_ASSERT_EQUAL(xen_platform_unplugged(plat), XEN_UNPLUG_IDE_DISKS);
	CU_ASSERT_FALSE(ide_present(r.ide, 0));
	CU_ASSERT_FALSE(ide_present(r.ide, 1));
	CU_ASSERT_TRUE(ide_present(r.ide, 2));
	select_drive(&r, P, 0);
	CU_ASSERT_EQUAL(in(&r, P + 7, 1), 0xff);
	out(&r, P + 2, 0x55, 1);
	CU_ASSERT_EQUAL(in(&r, P + 2, 1), 0xff);   /* a probe finds nothing */
	out(&r, P + 7, 0xec, 1);
	CU_ASSERT_EQUAL(in(&r, P + 7, 1), 0xff);
	CU_ASSERT_EQUAL(in(&r, S + 4, 1), 0x14);
	/* Saved and loaded into a fresh machine: its disks are unplugged too. */
	{
		struct state_writer *w = state_writer_new_mem("t");
		struct xen_platform *fresh;
		struct state_handler h;
		struct state_reader *rd;
		const uint8_t *buf;
		size_t len;
		struct rig r2;

		xen_platform_state_save(plat, w);
		CU_ASSERT_EQUAL(state_writer_finish(w), 0);
		rig_up(&r2, true, true);
		fresh = xen_platform_new_detached();
		xen_platform_set_unplug(fresh, unplug_to_ide, r2.ide);
		CU_ASSERT_TRUE(ide_present(r2.ide, 0));
		xen_platform_state_handler(fresh, &h);
		buf = state_writer_mem(w, &len);
		rd = state_reader_new_mem(buf, len);
		CU_ASSERT_EQUAL(state_reader_header(rd), 0);
		CU_ASSERT_EQUAL(state_load(rd, &h, 1), 0);
		CU_ASSERT_EQUAL(xen_platform_unplugged(fresh), XEN_UNPLUG_IDE_DISKS);
		CU_ASSERT_FALSE(ide_present(r2.ide, 0));
		CU_ASSERT_FALSE(ide_present(r2.ide, 1));
		CU_ASSERT_TRUE(ide_present(r2.ide, 2));
		state_reader_free(rd);
		/* Without the device the section is refused. */
		xen_platform_state_handler(NULL, &h);
		rd = state_reader_new_mem(buf, len);
		CU_ASSERT_EQUAL(state_reader_header(rd), 0);
		CU_ASSERT_EQUAL(state_load(rd, &h, 1), -EINVAL);
		CU_ASSERT_PTR_NOT_NULL(strstr(state_reader_error(rd), "no Xen platform device"));
		state_reader_free(rd);
		state_writer_free(w);
		xen_platform_destroy(fresh);
		rig_down(&r2);
	}
	xen_platform_destroy(plat);
	rig_down(&r);

	/* A blacklisted driver: the disks stay. */
	rig_up(&r, true, false);
	plat = xen_platform_new_detached();
	xen_platform_set_unplug(plat, unplug_to_ide, r.ide);
	xen_platform_blacklist(plat, 3, 0x100);
	CU_ASSERT_FALSE(linux_unplug(plat, 3, 0x99, XEN_UNPLUG_IDE_DISKS));
	CU_ASSERT_TRUE(ide_present(r.ide, 0));
	CU_ASSERT_TRUE(ide_present(r.ide, 1));
	CU_ASSERT_EQUAL(xen_platform_unplugged(plat), 0);
	/* ... but after a reboot a newer build of it is fine. */
	xen_platform_destroy(plat);
	plat = xen_platform_new_detached();
	xen_platform_set_unplug(plat, unplug_to_ide, r.ide);
	xen_platform_blacklist(plat, 3, 0x100);
	CU_ASSERT_TRUE(linux_unplug(plat, 3, 0x100, XEN_UNPLUG_IDE_DISKS));
	CU_ASSERT_FALSE(ide_present(r.ide, 0));
	/* Other widths and ports, and the log port, change nothing. */
	CU_ASSERT_EQUAL(plat_in(plat, 0x11, 1), 0xff);
	plat_out(plat, 0x12, 'h', 1);
	plat_out(plat, 0x12, '\n', 1);
	xen_platform_destroy(plat);
	rig_down(&r);
}


/* ---- bus-master DMA (BAR4) ----------------------------------------------------- */
#define BM        0xc000   /* where the bus put BAR4: the first I/O BAR */
#define BM_START  0x01
#define BM_TO_MEM 0x08
#define BMS_ACTIVE 0x01
#define BMS_ERROR  0x02
#define BMS_INTR   0x04
#define PRD_EOT   0x80000000u
#define TABLE     0x1000   /* descriptor tables and data buffers in the rig's RAM */
#define BUF       0x40000

static void cfg_write(struct pci_bus *bus, unsigned int slot, unsigned int fn, unsigned int off,
		      uint32_t v, unsigned int len)
{
	uint32_t addr = 0x80000000u | (slot << 11) | (fn << 8) | (off & 0xfc);

	pci_config_io(bus, 0xcf8, &addr, 4, true);
	pci_config_io(bus, 0xcfc + (off & 3), &v, len, true);
}

/* PCI command: I/O decoding, and bus mastering as asked. */
static void bus_master(struct rig *r, bool on)
{
	cfg_write(r->pci, 1, 1, 0x04, 0x0001 | (on ? 0x0004 : 0), 2);
}

static void prd(struct rig *r, uint32_t table, unsigned int i, uint32_t addr, uint32_t count, bool eot)
{
	uint32_t e[2] = { addr, (count & 0xffff) | (eot ? PRD_EOT : 0) };

	memcpy(r->ram + table + 8 * i, e, sizeof(e));
}

/* What Linux's ata_bmdma_setup() does: table, direction, then the command. */
static void dma_setup(struct rig *r, uint16_t bm, uint32_t table, bool to_mem)
{
	out(r, bm + 4, table, 4);
	out(r, bm, to_mem ? BM_TO_MEM : 0, 1);
}

static void dma_start(struct rig *r, uint16_t bm, bool to_mem)
{
	out(r, bm, (to_mem ? BM_TO_MEM : 0) | BM_START, 1);
}

/* ata_bmdma_stop() and ata_bmdma_irq_clear() after the interrupt; returns
 * the bus-master status seen before the stop. */
static uint8_t dma_finish(struct rig *r, uint16_t bm)
{
	uint8_t st = (uint8_t)in(r, bm + 2, 1);

	out(r, bm, in(r, bm, 1) & ~BM_START, 1);
	out(r, bm + 2, in(r, bm + 2, 1), 1);
	return st;
}

static bool disk_bytes_are(const char *path, uint64_t off, const uint8_t *want, size_t n)
{
	uint8_t *b = malloc(n);
	int fd = open(path, O_RDONLY);
	bool same = fd >= 0 && b && pread(fd, b, n, (off_t)off) == (ssize_t)n && !memcmp(b, want, n);

	if (fd >= 0)
		close(fd);
	free(b);
	return same;
}

static void restore_disk(void)
{
	unlink(disk_path);
	make_image(disk_path, sizeof(disk_path), DISK_SECTORS, 512, 0);
}

static void test_bmdma_registers(void)
{
	struct rig r;

	rig_up(&r, false, false);
	/* Sizing and moving BAR4 as firmware does. */
	cfg_write(r.pci, 1, 1, 0x20, 0xffffffffu, 4);
	CU_ASSERT_EQUAL(cfg_read(r.pci, 1, 1, 0x20, 4), 0xfffffff1u);   /* 16 bytes of I/O */
	cfg_write(r.pci, 1, 1, 0x20, 0xd000, 4);
	CU_ASSERT_EQUAL(cfg_read(r.pci, 1, 1, 0x20, 4), 0xd001u);
	out(&r, 0xd000 + 4, 0x12345677u, 4);
	CU_ASSERT_EQUAL(in(&r, 0xd000 + 4, 4), 0x12345674u);            /* dword-aligned */
	CU_ASSERT_EQUAL(in(&r, BM + 4, 4), 0xffffffffu);                /* nothing at the old place */
	bus_master(&r, false);
	cfg_write(r.pci, 1, 1, 0x04, 0, 2);                               /* I/O decoding off */
	CU_ASSERT_EQUAL(in(&r, 0xd000 + 4, 4), 0xffffffffu);
	cfg_write(r.pci, 1, 1, 0x20, BM, 4);
	bus_master(&r, true);
	CU_ASSERT_EQUAL(in(&r, BM + 4, 4), 0x12345674u);                /* registers kept */
	CU_ASSERT_EQUAL(in(&r, BM + 8 + 4, 4), 0);                      /* channel 1's own */
	/* Byte writes into the address merge. */
	out(&r, BM + 8 + 5, 0xab, 1);
	CU_ASSERT_EQUAL(in(&r, BM + 8 + 4, 4), 0x0000ab00u);

	/* Status: interrupt and error are write-1-to-clear, the drive bits
	 * read/write, active read-only.  Any INTRQ sets the interrupt bit. */
	CU_ASSERT_EQUAL(in(&r, BM + 2, 1), 0);
	select_drive(&r, P, 0);
	out(&r, P + 7, 0xec, 1);                                          /* IDENTIFY: INTRQ */
	CU_ASSERT_EQUAL(in(&r, BM + 2, 1), BMS_INTR);
	CU_ASSERT_EQUAL(in(&r, BM + 8 + 2, 1), 0);                      /* not the other channel's */
	out(&r, BM + 2, 0x60 | BMS_ACTIVE, 1);
	CU_ASSERT_EQUAL(in(&r, BM + 2, 1), 0x60 | BMS_INTR);
	out(&r, BM + 2, 0x60 | BMS_INTR, 1);
	CU_ASSERT_EQUAL(in(&r, BM + 2, 1), 0x60);
	out(&r, BM + 2, 0x20, 1);
	CU_ASSERT_EQUAL(in(&r, BM + 2, 1), 0x20);

	/* The start bit with no command: active, nothing else happens; the stop
	 * clears active. */
	read_data(&r, P, (uint8_t *)r.ram, 512);                          /* end IDENTIFY */
	irq_raises[14] = 0;
	dma_setup(&r, BM, TABLE, true);
	prd(&r, TABLE, 0, BUF, 512, true);
	dma_start(&r, BM, true);
	CU_ASSERT_EQUAL(in(&r, BM, 1), BM_START | BM_TO_MEM);
	CU_ASSERT_EQUAL(in(&r, BM + 2, 1), 0x20 | BMS_ACTIVE);
	CU_ASSERT_EQUAL(irq_raises[14], 0);
	out(&r, BM, BM_TO_MEM, 1);
	CU_ASSERT_EQUAL(in(&r, BM + 2, 1), 0x20);
	/* Odd offsets and widths read the reserved bytes as 0, beyond the block 0xff. */
	CU_ASSERT_EQUAL(in(&r, BM + 1, 1), 0);
	CU_ASSERT_EQUAL(in(&r, BM, 4), 0x00200008u);
	rig_down(&r);
}

static void test_dma_read(void)
{
	struct rig r;
	uint8_t st;

	rig_up(&r, false, false);
	bus_master(&r, true);
	/* READ DMA of sectors 5-7 into three regions of 512, 1000 and 24 bytes. */
	memset(r.ram + BUF, 0xee, 0x30000);
	prd(&r, TABLE, 0, BUF, 512, false);
	prd(&r, TABLE, 1, BUF + 0x10000, 1000, false);
	prd(&r, TABLE, 2, BUF + 0x20000, 24, true);
	dma_setup(&r, BM, TABLE, true);
	lba28(&r, P, 0, 5, 3);
	out(&r, P + 7, 0xc8, 1);
	CU_ASSERT_EQUAL(irq_raises[14], 0);                  /* waits for the bus master */
	CU_ASSERT_EQUAL(in(&r, 0x3f6, 1) & (ST_ERR | ST_BSY), 0);
	dma_start(&r, BM, true);
	CU_ASSERT_EQUAL(irq_raises[14], 1);
	st = dma_finish(&r, BM);
	CU_ASSERT_EQUAL(st & (BMS_ACTIVE | BMS_ERROR | BMS_INTR), BMS_INTR);   /* exact fit */
	CU_ASSERT_EQUAL(in(&r, P + 7, 1) & (ST_DRDY | ST_DRQ | ST_ERR | ST_BSY), ST_DRDY);
	CU_ASSERT_EQUAL(irq_level[14], 0);
	CU_ASSERT_EQUAL(in(&r, BM + 2, 1) & (BMS_INTR | BMS_ACTIVE), 0);
	CU_ASSERT(sector_is(r.ram + BUF, 5, 0, 512));
	for (unsigned int j = 0; j < 1000; j++)
		CU_ASSERT_EQUAL_FATAL(r.ram[BUF + 0x10000 + j], pattern(6 + (512 + j) / 512 - 1, (512 + j) % 512, 0));
	for (unsigned int j = 0; j < 24; j++)
		CU_ASSERT_EQUAL_FATAL(r.ram[BUF + 0x20000 + j], pattern(7, 488 + j, 0));
	CU_ASSERT_EQUAL(r.ram[BUF + 512], 0xee);             /* nothing past each region */
	CU_ASSERT_EQUAL(r.ram[BUF + 0x10000 + 1000], 0xee);
	CU_ASSERT_EQUAL(r.ram[BUF + 0x20000 + 24], 0xee);

	/* READ DMA EXT, the start bit first this time, a 64 KiB region (count 0)
	 * bigger than the transfer: interrupt and still active. */
	irq_raises[14] = 0;
	prd(&r, TABLE, 0, BUF, 0, true);
	dma_setup(&r, BM, TABLE, true);
	dma_start(&r, BM, true);
	CU_ASSERT_EQUAL(irq_raises[14], 0);
	lba48(&r, P, 60, 4);
	out(&r, P + 7, 0x25, 1);
	CU_ASSERT_EQUAL(irq_raises[14], 1);
	CU_ASSERT_EQUAL(in(&r, BM + 2, 1) & (BMS_ACTIVE | BMS_ERROR | BMS_INTR), BMS_ACTIVE | BMS_INTR);
	st = dma_finish(&r, BM);
	CU_ASSERT_EQUAL(in(&r, BM + 2, 1) & (BMS_ACTIVE | BMS_INTR), 0);   /* the stop ends it */
	CU_ASSERT_EQUAL(in(&r, P + 7, 1) & (ST_DRQ | ST_ERR), 0);
	for (unsigned int i = 0; i < 4; i++)
		CU_ASSERT(sector_is(r.ram + BUF + 512 * i, 60 + i, 0, 512));

	/* Past the end of the disk: IDNF before any transfer. */
	lba28(&r, P, 0, DISK_SECTORS - 1, 2);
	out(&r, P + 7, 0xc8, 1);
	CU_ASSERT_EQUAL(in(&r, P + 7, 1) & ST_ERR, ST_ERR);
	CU_ASSERT_EQUAL(in(&r, P + 1, 1), 0x14);
	CU_ASSERT_EQUAL(ide_out_of_range(r.ide), 0);
	rig_down(&r);
}

static void test_dma_write(void)
{
	struct rig r;
	uint8_t w[3 * 512], b[2 * 512];
	uint8_t st;

	for (unsigned int j = 0; j < sizeof(w); j++)
		w[j] = (uint8_t)(j * 5 + 1);
	rig_up(&r, false, false);
	bus_master(&r, true);
	/* WRITE DMA of 3 sectors at 20 from four regions (uneven sizes). */
	memcpy(r.ram + BUF, w, 100);
	memcpy(r.ram + BUF + 0x1000, w + 100, 1000);
	memcpy(r.ram + BUF + 0x3000, w + 1100, 2);
	memcpy(r.ram + BUF + 0x5000, w + 1102, 434);
	prd(&r, TABLE, 0, BUF, 100, false);
	prd(&r, TABLE, 1, BUF + 0x1000, 1000, false);
	prd(&r, TABLE, 2, BUF + 0x3000, 2, false);
	prd(&r, TABLE, 3, BUF + 0x5000, 434, true);
	dma_setup(&r, BM, TABLE, false);
	lba28(&r, P, 0, 20, 3);
	out(&r, P + 7, 0xca, 1);
	dma_start(&r, BM, false);
	CU_ASSERT_EQUAL(irq_raises[14], 1);
	st = dma_finish(&r, BM);
	CU_ASSERT_EQUAL(st & (BMS_ACTIVE | BMS_ERROR | BMS_INTR), BMS_INTR);
	CU_ASSERT_EQUAL(in(&r, P + 7, 1) & (ST_DRQ | ST_ERR), 0);
	CU_ASSERT(disk_bytes_are(disk_path, 20 * 512, w, sizeof(w)));
	{
		int fd = open(disk_path, O_RDONLY);

		CU_ASSERT_EQUAL(pread(fd, b, 512, 23 * 512), 512);
		CU_ASSERT(sector_is(b, 23, 0, 512));            /* the next sector untouched */
		CU_ASSERT_EQUAL(pread(fd, b, 512, 19 * 512), 512);
		CU_ASSERT(sector_is(b, 19, 0, 512));
		close(fd);
	}
	/* WRITE DMA EXT, then a READ DMA round trip through other memory. */
	memset(r.ram + BUF, 0x3c, 1024);
	prd(&r, TABLE, 0, BUF, 1024, true);
	dma_setup(&r, BM, TABLE, false);
	lba48(&r, P, 40, 2);
	out(&r, P + 7, 0x35, 1);
	dma_start(&r, BM, false);
	CU_ASSERT_EQUAL(dma_finish(&r, BM) & (BMS_ERROR | BMS_INTR), BMS_INTR);
	prd(&r, TABLE + 0x100, 0, BUF + 0x8000, 512, false);
	prd(&r, TABLE + 0x100, 1, BUF + 0x9000, 512, true);
	dma_setup(&r, BM, TABLE + 0x100, true);
	lba28(&r, P, 0, 40, 2);
	out(&r, P + 7, 0xc8, 1);
	dma_start(&r, BM, true);
	CU_ASSERT_EQUAL(dma_finish(&r, BM) & (BMS_ERROR | BMS_INTR), BMS_INTR);
	memset(b, 0x3c, sizeof(b));
	CU_ASSERT_EQUAL(memcmp(r.ram + BUF + 0x8000, b, 512), 0);
	CU_ASSERT_EQUAL(memcmp(r.ram + BUF + 0x9000, b, 512), 0);
	rig_down(&r);

	/* A read-only disk refuses WRITE DMA before touching anything. */
	{
		struct ide *ide = ide_new(test_irq, NULL, NULL);
		uint8_t v;

		CU_ASSERT_EQUAL(ide_attach(ide, 0, &(struct ide_drive_desc){ .path = disk_path, .readonly = true }), 0);
		v = 0xe0;
		ide_io(ide, 0, false, 6, &v, 1, true);
		v = 0xca;
		ide_io(ide, 0, false, 7, &v, 1, true);
		ide_io(ide, 0, false, 7, &v, 1, false);
		CU_ASSERT_EQUAL(v & (ST_ERR | ST_DRQ), ST_ERR);
		ide_free(ide);
	}
	restore_disk();
}

static void test_dma_faults(void)
{
	struct rig r;
	uint8_t before[512];
	int fd;

	rig_up(&r, false, false);
	bus_master(&r, true);
	fd = open(disk_path, O_RDONLY);
	CU_ASSERT_EQUAL(pread(fd, before, 512, 0), 512);
	close(fd);

	/* A region past the end of RAM, after a good one: error and interrupt,
	 * not active; the drive aborts the command. */
	prd(&r, TABLE, 0, BUF, 512, false);
	prd(&r, TABLE, 1, RAM_SIZE - 256, 512, true);
	dma_setup(&r, BM, TABLE, true);
	lba28(&r, P, 0, 0, 2);
	out(&r, P + 7, 0xc8, 1);
	dma_start(&r, BM, true);
	CU_ASSERT_EQUAL(irq_raises[14], 1);
	CU_ASSERT_EQUAL(in(&r, BM + 2, 1) & (BMS_ACTIVE | BMS_ERROR | BMS_INTR), BMS_ERROR | BMS_INTR);
	CU_ASSERT_EQUAL(in(&r, P + 7, 1) & (ST_ERR | ST_DRQ), ST_ERR);
	CU_ASSERT_EQUAL(in(&r, P + 1, 1), 0x04);
	dma_finish(&r, BM);
	CU_ASSERT_EQUAL(in(&r, BM + 2, 1) & (BMS_ERROR | BMS_INTR), 0);

	/* The same for a write from a region at 4 GiB - 512 and from a table
	 * outside RAM: nothing reaches the image. */
	prd(&r, TABLE, 0, 0xfffffe00u, 512, true);
	dma_setup(&r, BM, TABLE, false);
	lba28(&r, P, 0, 0, 1);
	out(&r, P + 7, 0xca, 1);
	dma_start(&r, BM, false);
	CU_ASSERT_EQUAL(dma_finish(&r, BM) & (BMS_ACTIVE | BMS_ERROR | BMS_INTR), BMS_ERROR | BMS_INTR);
	CU_ASSERT_EQUAL(in(&r, P + 7, 1) & ST_ERR, ST_ERR);
	dma_setup(&r, BM, 0xfffffff8u, false);
	out(&r, P + 7, 0xca, 1);
	dma_start(&r, BM, false);
	CU_ASSERT_EQUAL(dma_finish(&r, BM) & (BMS_ACTIVE | BMS_ERROR | BMS_INTR), BMS_ERROR | BMS_INTR);
	CU_ASSERT_EQUAL(in(&r, P + 7, 1) & ST_ERR, ST_ERR);
	CU_ASSERT(disk_bytes_are(disk_path, 0, before, 512));

	/* Bus mastering off in PCI config: error, RAM untouched. */
	bus_master(&r, false);
	memset(r.ram + BUF, 0xee, 512);
	prd(&r, TABLE, 0, BUF, 512, true);
	dma_setup(&r, BM, TABLE, true);
	out(&r, P + 7, 0xc8, 1);
	irq_raises[14] = 0;
	dma_start(&r, BM, true);
	CU_ASSERT_EQUAL(irq_raises[14], 1);
	CU_ASSERT_EQUAL(dma_finish(&r, BM) & (BMS_ACTIVE | BMS_ERROR | BMS_INTR), BMS_ERROR | BMS_INTR);
	CU_ASSERT_EQUAL(in(&r, P + 7, 1) & ST_ERR, ST_ERR);
	CU_ASSERT_EQUAL(r.ram[BUF], 0xee);
	/* ... and on again, the same command works. */
	bus_master(&r, true);
	dma_setup(&r, BM, TABLE, true);
	out(&r, P + 7, 0xc8, 1);
	dma_start(&r, BM, true);
	CU_ASSERT_EQUAL(dma_finish(&r, BM) & (BMS_ERROR | BMS_INTR), BMS_INTR);
	CU_ASSERT(sector_is(r.ram + BUF, 0, 0, 512));

	/* DMA commands are a disk's: the CD-ROM aborts them. */
	rig_down(&r);
	rig_up(&r, false, true);
	bus_master(&r, true);
	select_drive(&r, S, 0);
	out(&r, S + 7, 0xc8, 1);
	CU_ASSERT_EQUAL(in(&r, S + 7, 1) & ST_ERR, ST_ERR);
	CU_ASSERT_EQUAL(ide_out_of_range(r.ide), 0);
	rig_down(&r);
}

static void test_dma_short_and_unbounded_tables(void)
{
	struct rig r;
	uint8_t st;

	rig_up(&r, false, false);
	bus_master(&r, true);
	/* Regions shorter than the transfer (EOT after 512 of 1024 bytes):
	 * neither interrupt nor active, no INTRQ; the drive still wants data. */
	prd(&r, TABLE, 0, BUF, 512, true);
	dma_setup(&r, BM, TABLE, true);
	lba28(&r, P, 0, 8, 2);
	out(&r, P + 7, 0xc8, 1);
	dma_start(&r, BM, true);
	CU_ASSERT_EQUAL(irq_raises[14], 0);
	CU_ASSERT_EQUAL(in(&r, BM + 2, 1) & (BMS_ACTIVE | BMS_ERROR | BMS_INTR), 0);
	CU_ASSERT_EQUAL(in(&r, 0x3f6, 1) & (ST_DRQ | ST_ERR), ST_DRQ);
	CU_ASSERT(sector_is(r.ram + BUF, 8, 0, 512));
	/* A restart with a new table moves the rest. */
	prd(&r, TABLE + 0x100, 0, BUF + 0x1000, 512, true);
	out(&r, BM, BM_TO_MEM, 1);
	dma_setup(&r, BM, TABLE + 0x100, true);
	dma_start(&r, BM, true);
	CU_ASSERT_EQUAL(irq_raises[14], 1);
	CU_ASSERT_EQUAL(dma_finish(&r, BM) & (BMS_ACTIVE | BMS_ERROR | BMS_INTR), BMS_INTR);
	CU_ASSERT(sector_is(r.ram + BUF + 0x1000, 9, 0, 512));
	CU_ASSERT_EQUAL(in(&r, P + 7, 1) & (ST_DRQ | ST_ERR), 0);

	/* A full 64 KiB table of 2-byte regions and no EOT covers 16 KiB of a
	 * 32 KiB read: the walk stops at its 8,192nd descriptor. */
	for (unsigned int i = 0; i < 8192; i++)
		prd(&r, 0x10000, i, BUF + 2 * i, 2, false);
	prd(&r, 0x20000, 0, BUF + 0x4000, 0x4000, false);   /* right after: must not be read */
	irq_raises[14] = 0;
	dma_setup(&r, BM, 0x10000, true);
	lba28(&r, P, 0, 0, 64);
	out(&r, P + 7, 0xc8, 1);
	dma_start(&r, BM, true);
	CU_ASSERT_EQUAL(irq_raises[14], 0);
	CU_ASSERT_EQUAL(in(&r, BM + 2, 1) & (BMS_ACTIVE | BMS_ERROR | BMS_INTR), 0);
	CU_ASSERT_EQUAL(in(&r, 0x3f6, 1) & ST_DRQ, ST_DRQ);
	for (unsigned int i = 0; i < 32; i++)
		CU_ASSERT(sector_is(r.ram + BUF + 512 * i, i, 0, 512));
	CU_ASSERT_FALSE(sector_is(r.ram + BUF + 0x4000, 32, 0, 512));
	/* A table of zeroes in RAM (64 KiB regions at 0, no EOT) ends a
	 * one-sector read at once: more regions than data, still active. */
	memset(r.ram + 0x20000, 0, 0x10000);
	out(&r, BM, BM_TO_MEM, 1);
	dma_setup(&r, BM, 0x20000, true);
	lba28(&r, P, 0, 3, 1);
	out(&r, P + 7, 0xc8, 1);
	dma_start(&r, BM, true);
	st = dma_finish(&r, BM);
	CU_ASSERT_EQUAL(st & (BMS_ACTIVE | BMS_ERROR | BMS_INTR), BMS_ACTIVE | BMS_INTR);
	CU_ASSERT(sector_is(r.ram, 3, 0, 512));
	/* A table at the top of RAM running off its end faults cleanly. */
	prd(&r, RAM_SIZE - 8, 0, BUF, 2, false);
	dma_setup(&r, BM, RAM_SIZE - 8, true);
	lba28(&r, P, 0, 3, 1);
	out(&r, P + 7, 0xc8, 1);
	dma_start(&r, BM, true);
	CU_ASSERT_EQUAL(dma_finish(&r, BM) & (BMS_ACTIVE | BMS_ERROR | BMS_INTR), BMS_ERROR | BMS_INTR);
	/* SRST drops a waiting DMA command. */
	prd(&r, TABLE, 0, BUF, 512, true);
	dma_setup(&r, BM, TABLE, true);
	lba28(&r, P, 0, 8, 2);
	out(&r, P + 7, 0xc8, 1);
	out(&r, 0x3f6, 0x04, 1);
	out(&r, 0x3f6, 0x00, 1);
	irq_raises[14] = 0;
	dma_start(&r, BM, true);
	CU_ASSERT_EQUAL(irq_raises[14], 0);
	CU_ASSERT_EQUAL(in(&r, BM + 2, 1) & (BMS_ERROR | BMS_INTR), 0);
	CU_ASSERT_EQUAL(in(&r, P + 7, 1) & (ST_DRQ | ST_BSY), 0);
	dma_finish(&r, BM);
	CU_ASSERT_EQUAL(ide_out_of_range(r.ide), 0);
	rig_down(&r);
}

static void identify_words(struct rig *r, uint16_t base, uint8_t cmd, uint16_t *w)
{
	out(r, base + 7, cmd, 1);
	CU_ASSERT_EQUAL(in(r, base + 7, 1) & (ST_DRQ | ST_ERR), ST_DRQ);
	read_data(r, base, (uint8_t *)w, 512);
}

static bool set_xfer_mode(struct rig *r, uint16_t base, uint8_t mode)
{
	out(r, base + 1, 0x03, 1);
	out(r, base + 2, mode, 1);
	out(r, base + 7, 0xef, 1);
	return !(in(r, base + 7, 1) & ST_ERR);
}

static void test_identify_dma(void)
{
	struct rig r;
	uint16_t w[256];

	rig_up(&r, false, true);
	select_drive(&r, P, 0);
	identify_words(&r, P, 0xec, w);
	CU_ASSERT_EQUAL(w[49] & 0x0100, 0x0100);        /* DMA */
	CU_ASSERT_EQUAL(w[53] & 0x0006, 0x0006);        /* words 64-70 and 88 valid */
	CU_ASSERT_EQUAL(w[63], 0x0007);                 /* MWDMA 0-2, none selected */
	CU_ASSERT_EQUAL(w[88], 0x003f);                 /* UDMA 0-5, none selected */
	CU_ASSERT_TRUE(set_xfer_mode(&r, P, 0x22));     /* MWDMA2, what ata_piix picks on a PIIX3 */
	identify_words(&r, P, 0xec, w);
	CU_ASSERT_EQUAL(w[63], 0x0407);
	CU_ASSERT_EQUAL(w[88], 0x003f);
	CU_ASSERT_TRUE(set_xfer_mode(&r, P, 0x0c));     /* a PIO mode leaves DMA's alone */
	identify_words(&r, P, 0xec, w);
	CU_ASSERT_EQUAL(w[63], 0x0407);
	CU_ASSERT_TRUE(set_xfer_mode(&r, P, 0x45));     /* UDMA5 replaces MWDMA2 */
	identify_words(&r, P, 0xec, w);
	CU_ASSERT_EQUAL(w[63], 0x0007);
	CU_ASSERT_EQUAL(w[88], 0x203f);
	CU_ASSERT_FALSE(set_xfer_mode(&r, P, 0x46));    /* UDMA6: not offered */
	CU_ASSERT_FALSE(set_xfer_mode(&r, P, 0x23));    /* MWDMA3 does not exist */
	CU_ASSERT_FALSE(set_xfer_mode(&r, P, 0x10));    /* single-word DMA: obsolete */
	CU_ASSERT_FALSE(set_xfer_mode(&r, P, 0x0d));    /* PIO5 */
	CU_ASSERT_TRUE(set_xfer_mode(&r, P, 0x01));
	identify_words(&r, P, 0xec, w);
	CU_ASSERT_EQUAL(w[88], 0x203f);                 /* a failed SET FEATURES changed nothing */
	/* The CD-ROM moves data by PIO only, and says so. */
	select_drive(&r, S, 0);
	identify_words(&r, S, 0xa1, w);
	CU_ASSERT_EQUAL(w[49] & 0x0100, 0);
	CU_ASSERT_FALSE(set_xfer_mode(&r, S, 0x22));
	CU_ASSERT_FALSE(set_xfer_mode(&r, S, 0x42));
	CU_ASSERT_TRUE(set_xfer_mode(&r, S, 0x0c));
	rig_down(&r);
}

int main(void)
{
	CU_pSuite s;
	int rc;

	log_set_level(LOG_WARN);
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	make_image(disk_path, sizeof(disk_path), DISK_SECTORS, 512, 0);
	make_image(disk2_path, sizeof(disk2_path), DISK_SECTORS, 512, 0x20);
	make_image(cd_path, sizeof(cd_path), CD_BLOCKS, 2048, 0x40);
	s = CU_add_suite("ide", NULL, NULL);
	CU_add_test(s, "identify", test_identify);
	CU_add_test(s, "read/write sectors, CHS", test_read_write_sectors);
	CU_add_test(s, "EXT and MULTIPLE", test_ext_and_multiple);
	CU_add_test(s, "bounds and bad commands", test_bounds_and_bad_commands);
	CU_add_test(s, "reset, absent slave, empty channel", test_reset_and_absent);
	CU_add_test(s, "diagnostic, geometry, write cache", test_diag_and_geometry);
	CU_add_test(s, "atapi", test_atapi);
	CU_add_test(s, "empty cdrom", test_empty_cdrom);
	CU_add_test(s, "attach errors", test_attach_errors);
	CU_add_test(s, "pci layout", test_pci_layout);
	CU_add_test(s, "unplug protocol", test_unplug);
	CU_add_test(s, "bus-master registers", test_bmdma_registers);
	CU_add_test(s, "DMA read", test_dma_read);
	CU_add_test(s, "DMA write", test_dma_write);
	CU_add_test(s, "DMA faults", test_dma_faults);
	CU_add_test(s, "DMA short and unbounded tables", test_dma_short_and_unbounded_tables);
	CU_add_test(s, "IDENTIFY DMA words, transfer modes", test_identify_dma);
	rc = cunit_run(CU_BRM_VERBOSE);
	unlink(disk_path);
	unlink(disk2_path);
	unlink(cd_path);
	return rc;
}
