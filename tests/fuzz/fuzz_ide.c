/*
 * libFuzzer harness: the IDE model (kvm/ide.c, kvm/atapi.c) driven by
 * arbitrary register accesses on both channels: a disk at the primary
 * master, a read-only disk at the primary slave, a CD-ROM at the
 * secondary master, each a small temp image, and 64 KiB of guest RAM
 * for bus-master DMA.  Whatever the guest writes, no access may leave an
 * image (the model counts refused ones, which would mean a command path
 * skipped its bounds check) or the RAM (ASan), no image may grow, and no
 * descriptor table, however long or looped, may hold the harness.
 *
 * Input: a sequence of operations, each an opcode byte (bits 0-2 the
 * kind, bit 3 the channel, bit 5 the bus-master set) and its operands.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xenkvm/guest_mem.h"
#include "xenkvm/ide.h"
#include "xenkvm/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NR_IMAGES 3
static const uint64_t image_size[NR_IMAGES] = { 16 * 512, 8 * 512, 4 * 2048 };
static char image_path[NR_IMAGES][64];
static uint8_t image_init[16 * 512];
#define RAM_SIZE 65536
static uint8_t *ram;
static struct guest_mem mem;

static void remove_images(void)
{
	for (int i = 0; i < NR_IMAGES; i++)
		unlink(image_path[i]);
}

static void setup(void)
{
	static int done;

	if (done)
		return;
	done = 1;
	log_set_level(LOG_ERR);
	for (size_t i = 0; i < sizeof(image_init); i++)
		image_init[i] = (uint8_t)(i * 31 + 7);
	for (int i = 0; i < NR_IMAGES; i++) {
		int fd;

		snprintf(image_path[i], sizeof(image_path[i]), "%s/xenkvm-fuzz-ide-XXXXXX",
			 access("/dev/shm", W_OK) ? "/tmp" : "/dev/shm");
		fd = mkstemp(image_path[i]);
		if (fd < 0)
			abort();
		close(fd);
	}
	atexit(remove_images);
	ram = aligned_alloc(4096, RAM_SIZE);
	if (!ram || guest_mem_add(&mem, 0, RAM_SIZE, ram))
		abort();
}

static uint32_t le(const uint8_t *data, size_t size, size_t i, unsigned int n)
{
	uint32_t v = 0;

	for (unsigned int k = 0; k < n; k++)
		v |= (uint32_t)(i + k < size ? data[i + k] : 0) << (8 * k);
	return v;
}

/* The bus-master operations; returns the operand bytes used. */
static size_t bmdma_op(struct ide *ide, uint8_t op, const uint8_t *data, size_t size, size_t i)
{
	unsigned int ch = (op >> 3) & 1;
	uint8_t a = i < size ? data[i] : 0, b = i + 1 < size ? data[i + 1] : 0;
	uint32_t v = 0;

	switch (op & 7) {
	case 0:   /* register write */
		ide_bmdma_io(ide, ch, a & 7, &b, 1, true);
		return 2;
	case 1: { /* register read, any width */
		unsigned int len = 1u << (b & 3);

		ide_bmdma_io(ide, ch, a & 15, &v, len > 4 ? 3 : len, false);
		return 2;
	}
	case 2:   /* descriptor table address: mostly inside the RAM */
		v = le(data, size, i, 4);
		if (!(v & 0x80000000u))
			v %= RAM_SIZE + 64;
		ide_bmdma_io(ide, ch, 4, &v, 4, true);
		return 4;
	case 3:   /* PCI bus mastering on/off */
		ide_set_bus_master(ide, a & 1);
		return 1;
	case 4: { /* a descriptor in RAM: index, flags (bit 7 EOT), address / 16, count */
		uint32_t e[2] = { le(data, size, i + 2, 2) * 16 + (b & 1),
				  le(data, size, i + 4, 2) | (b & 0x80 ? 0x80000000u : 0) };

		memcpy(ram + (uint32_t)a * 8, e, sizeof(e));
		return 6;
	}
	case 5:   /* start, in either direction */
		v = 0x01 | (a & 0x08);
		ide_bmdma_io(ide, ch, 0, &v, 1, true);
		return 1;
	case 6:   /* stop and acknowledge, as Linux does after the interrupt */
		v = 0;
		ide_bmdma_io(ide, ch, 0, &v, 1, true);
		v = 0x06;
		ide_bmdma_io(ide, ch, 2, &v, 1, true);
		return 0;
	case 7: { /* a DMA command with an LBA and count: READ/WRITE DMA (EXT) */
		static const uint8_t cmds[4] = { 0xc8, 0xca, 0x25, 0x35 };
		uint8_t regs[] = { 0, 0, b, a >> 2 };

		v = 0x40;
		ide_io(ide, ch, false, 6, &v, 1, true);
		for (unsigned int r = 2; r < 4; r++)
			ide_io(ide, ch, false, r, &regs[r], 1, true);
		v = cmds[a & 3];
		ide_io(ide, ch, false, 7, &v, 1, true);
		return 2;
	}
	}
	return 0;
}

/* Same content for every input, so runs reproduce. */
static void reset_images(void)
{
	for (int i = 0; i < NR_IMAGES; i++) {
		int fd = open(image_path[i], O_WRONLY | O_TRUNC);

		if (fd < 0 || write(fd, image_init, image_size[i]) != (ssize_t)image_size[i])
			abort();
		close(fd);
	}
}

static void no_irq(void *opaque, unsigned int irq, int level)
{
	(void)opaque;
	if (irq != IDE_PRIMARY_IRQ && irq != IDE_SECONDARY_IRQ)
		abort();
	if (level != 0 && level != 1)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ide *ide;
	size_t i = 0;

	setup();
	reset_images();
	memset(ram, 0, RAM_SIZE);
	ide = ide_new(no_irq, NULL, &mem);
	if (!ide ||
	    ide_attach(ide, 0, &(struct ide_drive_desc){ .path = image_path[0] }) ||
	    ide_attach(ide, 1, &(struct ide_drive_desc){ .path = image_path[1], .readonly = true }) ||
	    ide_attach(ide, 2, &(struct ide_drive_desc){ .path = image_path[2], .cdrom = true }))
		abort();
	while (i < size) {
		uint8_t op = data[i++];
		unsigned int ch = (op >> 3) & 1;
		uint8_t a = i < size ? data[i] : 0, b = i + 1 < size ? data[i + 1] : 0;
		uint32_t v = 0;

		if (op & 0x20) {
			i += bmdma_op(ide, op, data, size, i);
			continue;
		}
		switch (op & 7) {
		case 0:   /* register write */
			ide_io(ide, ch, false, a & 7, &b, 1, true);
			i += 2;
			break;
		case 1:   /* register read */
			ide_io(ide, ch, false, a & 7, &v, 1, false);
			i += 1;
			break;
		case 2:   /* device control */
			ide_io(ide, ch, true, 0, &a, 1, true);
			i += 1;
			break;
		case 3:   /* alternate status */
			ide_io(ide, ch, true, 0, &v, 1, false);
			break;
		case 4:   /* a string of data-port reads, 16 or 32 bits each */
			for (unsigned int n = 0; n < (unsigned int)a * 8u; n++)
				ide_io(ide, ch, false, 0, &v, (op & 0x10) ? 4 : 2, false);
			i += 1;
			break;
		case 5:   /* data-port writes of input bytes */
			i += 1;
			for (unsigned int n = 0; n < a && i + 1 < size; n++, i += 2) {
				uint16_t w = (uint16_t)(data[i] | data[i + 1] << 8);

				ide_io(ide, ch, false, 0, &w, 2, true);
			}
			break;
		case 6:   /* Xen's unplug */
			ide_unplug(ide, a);
			i += 1;
			break;
		case 7: { /* wide or odd accesses anywhere */
			unsigned int len = 1u << (b & 3);
			uint32_t w = (uint32_t)a * 0x01010101u;

			ide_io(ide, ch, (b & 4) != 0, (b & 8) ? 0 : a & 7, &w, len > 4 ? 3 : len, (b & 16) != 0);
			i += 2;
			break;
		}
		}
	}
	if (ide_out_of_range(ide))
		abort();
	ide_free(ide);
	for (int n = 0; n < NR_IMAGES; n++) {
		struct stat st;

		if (stat(image_path[n], &st) || (uint64_t)st.st_size != image_size[n])
			abort();
	}
	return 0;
}
