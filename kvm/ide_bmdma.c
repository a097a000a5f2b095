/*
 * The PIIX3's bus-master IDE engine (SFF-8038i), one per channel: a
 * command register (start, direction), a status register (active, error,
 * interrupt) and the address of a table of physical region descriptors,
 * each a guest RAM address and a byte count, the last one marked EOT.
 *
 * A READ/WRITE DMA command (kvm/ide.c) records what the drive is to move;
 * once the guest has also set the start bit, in whichever order, the whole
 * transfer runs at once on the vCPU thread that made the second of the two
 * writes: one exit per command instead of one per PIO string.  Every
 * descriptor and every region is looked up in guest RAM (struct guest_mem)
 * before it is used, and the walk stops after the 8,192 descriptors a
 * 64 KiB table can hold, so a table without EOT cannot hold the vCPU.
 *
 * How a transfer ends, as the status register tells it (SFF-8038i):
 *   regions == transfer   interrupt, not active (the normal case)
 *   regions >  transfer   interrupt, still active (valid: the driver stops it)
 *   regions <  transfer   neither: the drive still waits for the rest, which
 *                         a restart with a new table moves; no interrupt
 *   a descriptor or region outside RAM, or bus mastering off in PCI config:
 *                         error and interrupt, not active; the drive aborts
 */
#include <string.h>

#include "ide_drive.h"
#include "xenkvm/guest_mem.h"
#include "xenkvm/log.h"

#define BM_REG_CMD     0
#define BM_REG_STATUS  2
#define BM_REG_PRD     4

#define BM_CMD_START   0x01
#define BM_CMD_TO_MEM  0x08   /* the bus master writes memory (a device read); advisory here */

#define BM_ST_ACTIVE   0x01
#define BM_ST_ERROR    0x02
#define BM_ST_INTR     0x04
#define BM_ST_DRV_DMA  0x60   /* drives 0/1 DMA capable: firmware's notes, read/write */

#define PRD_SIZE       8
#define PRD_EOT        0x80000000u
#define PRD_MAX        (65536 / PRD_SIZE)

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The controller could not reach guest memory: error, and the drive gives up. */
static void bmdma_fault(struct ide_channel *ch, struct ide_drive *d, const char *why, uint64_t gpa)
{
	pr_warn_rl("ide: bus-master DMA on channel %u: %s %#llx", (unsigned int)(ch - ch->ide->ch), why,
		   (unsigned long long)gpa);
	ch->bm.status = (uint8_t)((ch->bm.status & ~BM_ST_ACTIVE) | BM_ST_ERROR);
	ide_drive_cmd_error(d, ER_ABRT);
}

/* Runs the selected drive's DMA command over the descriptor table, if both
 * the command and the start bit are there. */
void ide_bmdma_kick(struct ide_channel *ch)
{
	struct ide_bmdma *bm = &ch->bm;
	struct ide_drive *d = &ch->drive[ch->cur];
	const struct guest_mem *mem = ch->ide->mem;
	bool to_image = d->xfer == XFER_DMA_OUT;
	bool exhausted = false;

	if (!(bm->cmd & BM_CMD_START) || !(bm->status & BM_ST_ACTIVE))
		return;
	if (!d->present || (d->xfer != XFER_DMA_IN && d->xfer != XFER_DMA_OUT))
		return;
	if (!ch->ide->bus_master || !mem) {
		bmdma_fault(ch, d, "PCI bus mastering is off; descriptor table at", bm->prd);
		return;
	}
	/* A restart reads the table from its beginning, as the hardware reloads
	 * its descriptor pointer on the start bit. */
	for (unsigned int i = 0; d->dma_left; i++) {
		uint64_t at = (uint64_t)bm->prd + (uint64_t)i * PRD_SIZE;
		uint8_t e[PRD_SIZE];
		uint32_t addr, count, n, flags;
		void *p;

		if (i == PRD_MAX) {
			exhausted = true;   /* ran off the largest table without EOT */
			break;
		}
		if (guest_mem_read(mem, at, e, sizeof(e))) {
			bmdma_fault(ch, d, "descriptor outside RAM at", at);
			return;
		}
		addr = le32(e) & ~1u;            /* regions are word-aligned */
		flags = le32(e + 4);
		count = flags & 0xfffe;
		if (!count)
			count = 0x10000;
		n = d->dma_left < count ? (uint32_t)d->dma_left : count;
		p = guest_mem_ptr(mem, addr, n);
		if (!p) {
			bmdma_fault(ch, d, "region outside RAM at", addr);
			return;
		}
		if (ide_drive_image_io(d, d->dma_off, p, n, to_image)) {
			bm->status &= (uint8_t)~BM_ST_ACTIVE;
			ide_drive_cmd_error(d, to_image ? ER_ABRT : ER_UNC | ER_ABRT);
			return;
		}
		d->dma_off += n;
		d->dma_left -= n;
		if (flags & PRD_EOT) {
			exhausted = n == count;
			break;
		}
	}
	if (exhausted)
		bm->status &= (uint8_t)~BM_ST_ACTIVE;
	if (d->dma_left)
		return;   /* regions shorter than the transfer: the drive waits on */
	ide_drive_cmd_ok(d, true);
}

void ide_bmdma_irq_raised(struct ide_channel *ch)
{
	ch->bm.status |= BM_ST_INTR;
}

static void bmdma_write_cmd(struct ide_channel *ch, uint8_t v)
{
	struct ide_bmdma *bm = &ch->bm;
	uint8_t old = bm->cmd;

	bm->cmd = v & (BM_CMD_START | BM_CMD_TO_MEM);
	if ((v & BM_CMD_START) && !(old & BM_CMD_START)) {
		bm->status |= BM_ST_ACTIVE;
		ide_bmdma_kick(ch);
	} else if (!(v & BM_CMD_START)) {
		bm->status &= (uint8_t)~BM_ST_ACTIVE;   /* stopping drops the engine's state */
	}
}

static void bmdma_write(struct ide_channel *ch, unsigned int reg, uint8_t v)
{
	struct ide_bmdma *bm = &ch->bm;

	switch (reg) {
	case BM_REG_CMD:
		bmdma_write_cmd(ch, v);
		break;
	case BM_REG_STATUS:
		bm->status = (uint8_t)((bm->status & ~BM_ST_DRV_DMA) | (v & BM_ST_DRV_DMA));
		bm->status &= (uint8_t)~(v & (BM_ST_ERROR | BM_ST_INTR));   /* write 1 to clear */
		break;
	case BM_REG_PRD: case BM_REG_PRD + 1: case BM_REG_PRD + 2: case BM_REG_PRD + 3: {
		unsigned int shift = (reg - BM_REG_PRD) * 8;

		bm->prd = (bm->prd & ~(0xffu << shift)) | (uint32_t)v << shift;
		bm->prd &= ~3u;
		break;
	}
	default:
		break;   /* reserved */
	}
}

static uint8_t bmdma_read(const struct ide_channel *ch, unsigned int reg)
{
	switch (reg) {
	case BM_REG_CMD:
		return ch->bm.cmd;
	case BM_REG_STATUS:
		return ch->bm.status;   /* bit 7 clear: both channels may run at once */
	case BM_REG_PRD: case BM_REG_PRD + 1: case BM_REG_PRD + 2: case BM_REG_PRD + 3:
		return (uint8_t)(ch->bm.prd >> ((reg - BM_REG_PRD) * 8));
	default:
		return 0;
	}
}

void ide_bmdma_io(struct ide *ide, unsigned int channel, uint64_t off, void *data, unsigned int len,
		  bool is_write)
{
	struct ide_channel *ch;
	uint8_t *b = data;

	if (channel >= IDE_CHANNELS || !len || len > 4 || off >= IDE_BMDMA_PORTS) {
		if (!is_write)
			memset(data, 0xff, len);
		return;
	}
	ch = &ide->ch[channel];
	pthread_mutex_lock(&ch->lock);
	/* Byte-wide registers: a wider access covers the next ones. */
	for (unsigned int i = 0; i < len; i++) {
		unsigned int reg = (unsigned int)off + i;

		if (reg >= IDE_BMDMA_PORTS) {
			if (!is_write)
				b[i] = 0xff;
		} else if (is_write) {
			bmdma_write(ch, reg, b[i]);
		} else {
			b[i] = bmdma_read(ch, reg);
		}
	}
	pthread_mutex_unlock(&ch->lock);
}

void ide_set_bus_master(struct ide *ide, bool on)
{
	for (unsigned int c = 0; c < IDE_CHANNELS; c++)
		pthread_mutex_lock(&ide->ch[c].lock);
	ide->bus_master = on;
	for (unsigned int c = IDE_CHANNELS; c-- > 0;)
		pthread_mutex_unlock(&ide->ch[c].lock);
}
