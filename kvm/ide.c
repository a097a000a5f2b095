/*
 * The ATA side of the PIIX3 IDE channels: task-file registers, device
 * control (SRST, nIEN), the PIO data port and the ATA command set of a
 * disk.  PIO is synchronous: a command's data moves between the image
 * and a drive buffer on the vCPU thread that touched the port.  A DMA
 * command only records what to move; kvm/ide_bmdma.c moves it.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ide_drive.h"
#include "xenkvm/ide.h"
#include "xenkvm/log.h"

/* Command block offsets */
#define REG_DATA    0
#define REG_ERROR   1   /* features on write */
#define REG_NSECT   2
#define REG_LBAL    3
#define REG_LBAM    4
#define REG_LBAH    5
#define REG_SELECT  6
#define REG_STATUS  7   /* command on write */

/* Device control */
#define DC_NIEN 0x02
#define DC_SRST 0x04
#define DC_HOB  0x80

#define SEL_DEV 0x10
#define SEL_LBA 0x40
#define SEL_OBS 0xa0     /* obsolete bits, read as ones */

#define MAX_MULT 16

/* SET FEATURES transfer modes (sector count) */
#define XM_MWDMA   0x20
#define XM_UDMA    0x40
#define MWDMA_MODES 0x07   /* MWDMA 0-2 */
#define UDMA_MODES  0x3f   /* UDMA 0-5 */

/* ---- interrupts -------------------------------------------------------- */

static void ide_update_irq(struct ide_channel *ch)
{
	int level = ch->intrq && !(ch->devctl & DC_NIEN);

	if (level != ch->line) {
		ch->line = level;
		if (ch->ide->set_irq)
			ch->ide->set_irq(ch->ide->irq_opaque, ch->irq, level);
	}
}

void ide_drive_raise_irq(struct ide_drive *d)
{
	d->ch->intrq = true;
	ide_update_irq(d->ch);
	if (d->ch->line)
		ide_bmdma_irq_raised(d->ch);
}

static void ide_lower_irq(struct ide_channel *ch)
{
	ch->intrq = false;
	ide_update_irq(ch);
}

/* ---- image access -------------------------------------------------------- */

static bool ide_in_image(struct ide_drive *d, uint64_t off, uint32_t len)
{
	if (!d->has_medium || len > IDE_BUF_SIZE || off > d->bytes || len > d->bytes - off) {
		d->out_of_range++;
		return false;
	}
	return true;
}

int ide_drive_image_io(struct ide_drive *d, uint64_t off, void *buf, uint32_t len, bool write)
{
	uint8_t *p = buf;
	uint32_t done = 0;

	if (!ide_in_image(d, off, len) || (write && d->readonly))
		return -EIO;
	while (done < len) {
		ssize_t n = write ? pwrite(d->fd, p + done, len - done, (off_t)(off + done))
				  : pread(d->fd, p + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			pr_warn_rl("ide: %s %s: %s", write ? "writing" : "reading", d->path,
				   n < 0 ? strerror(errno) : write ? "short write" : "short read");
			return n < 0 ? -errno : -EIO;
		}
		done += (uint32_t)n;
	}
	return 0;
}

int ide_drive_read(struct ide_drive *d, uint64_t off, uint32_t len)
{
	return ide_drive_image_io(d, off, d->buf, len, false);
}

static int ide_drive_write(struct ide_drive *d, uint64_t off, uint32_t len)
{
	return ide_drive_image_io(d, off, d->buf, len, true);
}

static int ide_drive_flush(struct ide_drive *d)
{
	if (d->fd < 0 || d->readonly)
		return 0;
	if (fdatasync(d->fd) < 0) {
		pr_warn_rl("ide: flushing %s: %s", d->path, strerror(errno));
		return -errno;
	}
	return 0;
}

/* ---- command completion -------------------------------------------------- */

void ide_drive_cmd_ok(struct ide_drive *d, bool irq)
{
	d->xfer = XFER_NONE;
	d->status = ST_DRDY | ST_DSC;
	d->error = 0;
	if (irq)
		ide_drive_raise_irq(d);
}

void ide_drive_cmd_error(struct ide_drive *d, uint8_t error)
{
	d->xfer = XFER_NONE;
	d->status = ST_DRDY | ST_DSC | ST_ERR;
	d->error = error;
	ide_drive_raise_irq(d);
}

void ide_drive_set_signature(struct ide_drive *d)
{
	d->nsect = 1;
	d->lbal = 1;
	if (d->attached && d->cdrom && d->present) {
		d->lbam = 0x14;
		d->lbah = 0xeb;
	} else if (d->present) {
		d->lbam = 0;
		d->lbah = 0;
	} else {
		d->lbam = 0xff;
		d->lbah = 0xff;
	}
	d->select &= SEL_DEV;
	d->select |= SEL_OBS;
}

/* ---- IDENTIFY ---------------------------------------------------------- */

/* ATA strings: space-padded, two characters per word, first in the high byte. */
void ide_drive_ident_string(uint16_t *words, unsigned int first, unsigned int nwords, const char *s)
{
	size_t n = strlen(s);

	for (unsigned int i = 0; i < nwords * 2; i++) {
		uint8_t c = i < n ? (uint8_t)s[i] : ' ';

		if (i & 1)
			words[first + i / 2] |= c;
		else
			words[first + i / 2] = (uint16_t)(c << 8);
	}
}

static void ide_put_words(struct ide_drive *d, const uint16_t *w)
{
	for (unsigned int i = 0; i < 256; i++) {
		d->buf[2 * i] = (uint8_t)w[i];
		d->buf[2 * i + 1] = (uint8_t)(w[i] >> 8);
	}
}

static void ide_serial(const struct ide_drive *d, char *out, size_t size)
{
	unsigned int pos = (unsigned int)(d->ch - d->ch->ide->ch) * 2 + (unsigned int)(d - d->ch->drive);

	snprintf(out, size, "XK%08u", pos + 1);
}

/* The translated geometry BIOSes and IDENTIFY report: 16 heads, 63 sectors. */
static uint16_t ide_default_cyls(uint64_t sectors)
{
	uint64_t cyls = sectors / (16 * 63);

	return (uint16_t)(cyls > 16383 ? 16383 : cyls ? cyls : 1);
}

static void ide_identify_disk(struct ide_drive *d)
{
	uint16_t w[256] = { 0 };
	uint64_t lba28 = d->sectors < 0x0fffffff ? d->sectors : 0x0fffffff;
	uint32_t chs = (uint32_t)d->cyls * d->heads * d->spt;
	char serial[21];

	ide_serial(d, serial, sizeof(serial));
	w[0] = 0x0040;                           /* fixed, not removable */
	w[1] = ide_default_cyls(d->sectors);     /* default geometry */
	w[3] = 16;
	w[6] = 63;
	ide_drive_ident_string(w, 10, 10, serial);
	ide_drive_ident_string(w, 23, 4, "1.0");
	ide_drive_ident_string(w, 27, 20, "XENKVM HARDDISK");
	w[47] = 0x8000 | MAX_MULT;
	w[49] = 0x0b00;                          /* LBA, IORDY, DMA */
	w[50] = 0x4000;
	w[51] = 0x0200;                          /* PIO mode 2 timing */
	w[53] = 0x0007;                          /* words 54-58, 64-70 and 88 valid */
	w[54] = d->cyls;                         /* current geometry */
	w[55] = d->heads;
	w[56] = d->spt;
	w[57] = (uint16_t)chs;
	w[58] = (uint16_t)(chs >> 16);
	w[59] = d->mult ? (uint16_t)(0x100 | d->mult) : 0;
	w[60] = (uint16_t)lba28;
	w[61] = (uint16_t)(lba28 >> 16);
	/* DMA modes supported, and the one SET FEATURES selected (high byte). */
	w[63] = MWDMA_MODES;
	if ((d->dma_mode & 0xf8) == XM_MWDMA)
		w[63] |= (uint16_t)(0x100 << (d->dma_mode & 7));
	w[64] = 0x0003;                          /* PIO modes 3 and 4 */
	w[65] = w[66] = w[67] = w[68] = 120;
	w[80] = 0x00f0;                          /* ATA/ATAPI-4 to -7 */
	w[82] = 0x4060;                          /* NOP, look-ahead, write cache */
	w[83] = 0x7400;                          /* FLUSH CACHE (EXT), LBA48 */
	w[84] = 0x4000;
	w[85] = 0x4040 | (d->wcache ? 0x0020 : 0);
	w[86] = 0x3400;
	w[87] = 0x4000;
	w[100] = (uint16_t)d->sectors;
	w[101] = (uint16_t)(d->sectors >> 16);
	w[102] = (uint16_t)(d->sectors >> 32);
	w[103] = (uint16_t)(d->sectors >> 48);
	w[88] = UDMA_MODES;
	if ((d->dma_mode & 0xf8) == XM_UDMA)
		w[88] |= (uint16_t)(0x100 << (d->dma_mode & 7));
	ide_put_words(d, w);
}

void atapi_identify(struct ide_drive *d)
{
	uint16_t w[256] = { 0 };
	char serial[21];

	ide_serial(d, serial, sizeof(serial));
	w[0] = 0x85c0;     /* ATAPI, CD-ROM, removable, DRQ within 50 us, 12-byte packets */
	ide_drive_ident_string(w, 10, 10, serial);
	ide_drive_ident_string(w, 23, 4, "1.0");
	ide_drive_ident_string(w, 27, 20, "XENKVM DVD-ROM");
	w[49] = 0x0200;    /* LBA; no DMA: PACKET moves its data by PIO only */
	w[53] = 0x0003;
	w[64] = 0x0003;
	w[65] = w[66] = w[67] = w[68] = 120;
	w[80] = 0x001e;
	w[82] = 0x4010;    /* PACKET feature set */
	w[84] = 0x4000;
	w[85] = 0x4010;
	w[87] = 0x4000;
	ide_put_words(d, w);
}

/* ---- PIO data transfers ---------------------------------------------------- */

static void ide_start_in(struct ide_drive *d, uint32_t len)
{
	d->xfer = XFER_PIO_IN;
	d->pos = 0;
	d->len = len;
	d->status = ST_DRDY | ST_DSC | ST_DRQ;
	d->error = 0;
	ide_drive_raise_irq(d);
}

/* Loads the next block of a read into the buffer and raises DRQ. */
static void ide_read_block(struct ide_drive *d)
{
	uint32_t n = d->left < d->block ? d->left : d->block;

	if (ide_drive_read(d, d->lba * IDE_SECTOR, n * IDE_SECTOR)) {
		ide_drive_cmd_error(d, ER_UNC | ER_ABRT);
		return;
	}
	d->lba += n;
	d->left -= n;
	ide_start_in(d, n * IDE_SECTOR);
}

static void ide_write_block_start(struct ide_drive *d, bool irq)
{
	uint32_t n = d->left < d->block ? d->left : d->block;

	d->xfer = XFER_PIO_OUT;
	d->pos = 0;
	d->len = n * IDE_SECTOR;
	d->status = ST_DRDY | ST_DSC | ST_DRQ;
	if (irq)
		ide_drive_raise_irq(d);
}

/* The host filled the buffer of a write: store it, then ask for more or finish. */
static void ide_write_block_done(struct ide_drive *d)
{
	uint32_t n = d->len / IDE_SECTOR;

	if (ide_drive_write(d, d->lba * IDE_SECTOR, d->len)) {
		ide_drive_cmd_error(d, ER_ABRT);
		return;
	}
	d->lba += n;
	d->left -= n;
	if (d->left)
		ide_write_block_start(d, true);
	else
		ide_drive_cmd_ok(d, true);
}

/* The host emptied the buffer: the next block, the next ATAPI chunk, or done. */
static void ide_buffer_drained(struct ide_drive *d)
{
	switch (d->xfer) {
	case XFER_PIO_IN:
		if (d->left) {
			ide_read_block(d);
		} else {
			d->xfer = XFER_NONE;
			d->status = ST_DRDY | ST_DSC;
		}
		break;
	case XFER_PIO_OUT:
		ide_write_block_done(d);
		break;
	case XFER_ATAPI_CDB:
		atapi_cdb_received(d);
		break;
	case XFER_ATAPI_IN:
		atapi_chunk_done(d);
		break;
	case XFER_NONE:
	case XFER_DMA_IN:
	case XFER_DMA_OUT:
		break;
	}
}

static void ide_data_io(struct ide_drive *d, uint8_t *data, unsigned int len, bool is_write)
{
	bool out = d->xfer == XFER_PIO_OUT || d->xfer == XFER_ATAPI_CDB;
	bool in = d->xfer == XFER_PIO_IN || d->xfer == XFER_ATAPI_IN;
	unsigned int n;

	if (!(d->status & ST_DRQ) || (is_write ? !out : !in)) {
		if (!is_write)
			memset(data, 0, len);   /* nothing to transfer: the bus reads 0 */
		return;
	}
	n = d->len - d->pos < len ? d->len - d->pos : len;
	if (is_write) {
		memcpy(d->buf + d->pos, data, n);
	} else {
		memcpy(data, d->buf + d->pos, n);
		memset(data + n, 0, len - n);
	}
	d->pos += n;
	if (d->pos == d->len)
		ide_buffer_drained(d);
}

/* ---- commands ------------------------------------------------------------ */

/* Sector address and count of the command in the task file. */
static bool ide_addr(struct ide_drive *d, bool lba48, uint64_t *lba_r, uint32_t *count_r)
{
	if (lba48) {
		*lba_r = (uint64_t)d->lbal | (uint64_t)d->lbam << 8 | (uint64_t)d->lbah << 16 |
			 (uint64_t)d->hob_lbal << 24 | (uint64_t)d->hob_lbam << 32 | (uint64_t)d->hob_lbah << 40;
		*count_r = (uint32_t)d->nsect | (uint32_t)d->hob_nsect << 8;
		if (!*count_r)
			*count_r = 65536;
	} else {
		*count_r = d->nsect ? d->nsect : 256;
		if (d->select & SEL_LBA) {
			*lba_r = (uint64_t)d->lbal | (uint64_t)d->lbam << 8 | (uint64_t)d->lbah << 16 |
				 (uint64_t)(d->select & 0x0f) << 24;
		} else {
			/* CHS, for old bootloaders: the current logical geometry. */
			uint32_t cyl = (uint32_t)d->lbam | (uint32_t)d->lbah << 8;
			uint32_t head = d->select & 0x0f, sect = d->lbal;

			if (!sect || sect > d->spt || head >= d->heads)
				return false;
			*lba_r = ((uint64_t)cyl * d->heads + head) * d->spt + sect - 1;
		}
	}
	return *lba_r <= d->sectors && *count_r <= d->sectors - *lba_r;
}

static void ide_cmd_rw(struct ide_drive *d, bool write, bool lba48, bool multiple)
{
	uint64_t lba;
	uint32_t count;

	if (multiple && !d->mult) {
		ide_drive_cmd_error(d, ER_ABRT);
		return;
	}
	if (write && d->readonly) {
		ide_drive_cmd_error(d, ER_ABRT);
		return;
	}
	if (!ide_addr(d, lba48, &lba, &count)) {
		ide_drive_cmd_error(d, ER_IDNF | ER_ABRT);
		return;
	}
	d->lba = lba;
	d->left = count;
	d->block = multiple ? d->mult : 1;
	if (write)
		ide_write_block_start(d, false);
	else
		ide_read_block(d);
}

/* READ/WRITE DMA (EXT): the data moves when the bus master runs. */
static void ide_cmd_dma(struct ide_drive *d, bool write, bool lba48)
{
	uint64_t lba;
	uint32_t count;

	if (write && d->readonly) {
		ide_drive_cmd_error(d, ER_ABRT);
		return;
	}
	if (!ide_addr(d, lba48, &lba, &count)) {
		ide_drive_cmd_error(d, ER_IDNF | ER_ABRT);
		return;
	}
	d->xfer = write ? XFER_DMA_OUT : XFER_DMA_IN;
	d->dma_off = lba * IDE_SECTOR;
	d->dma_left = (uint64_t)count * IDE_SECTOR;
	d->status = ST_DRDY | ST_DSC | ST_DRQ;
	d->error = 0;
	ide_bmdma_kick(d->ch);
}

static void ide_cmd_verify(struct ide_drive *d, bool lba48)
{
	uint64_t lba;
	uint32_t count;

	if (!ide_addr(d, lba48, &lba, &count))
		ide_drive_cmd_error(d, ER_IDNF | ER_ABRT);
	else
		ide_drive_cmd_ok(d, true);
}

static void ide_cmd_set_features(struct ide_drive *d)
{
	switch (d->feature) {
	case 0x03: { /* transfer mode: PIO default or 0-4, MWDMA 0-2, UDMA 0-5 */
		unsigned int mode = d->nsect & 7;
		bool ok;

		switch (d->nsect & 0xf8) {
		case 0x00: ok = mode <= 1; break;
		case 0x08: ok = mode <= 4; break;
		/* The CD-ROM does PIO only. */
		case XM_MWDMA: ok = !d->cdrom && ((MWDMA_MODES >> mode) & 1); break;
		case XM_UDMA: ok = !d->cdrom && ((UDMA_MODES >> mode) & 1); break;
		default: ok = false; break;
		}
		if (!ok) {
			ide_drive_cmd_error(d, ER_ABRT);
			return;
		}
		/* A PIO mode leaves the DMA mode alone; a DMA mode replaces the other kind's. */
		if (d->nsect & (XM_MWDMA | XM_UDMA))
			d->dma_mode = d->nsect;
		ide_drive_cmd_ok(d, true);
		return;
	}
	case 0x02:   /* write cache on */
	case 0x82:   /* ... off: writes still reach the image at once */
		d->wcache = d->feature == 0x02;
		ide_drive_cmd_ok(d, true);
		return;
	case 0x55:   /* look-ahead off / on, power-on defaults revert: accepted */
	case 0xaa:
	case 0x66:
	case 0xcc:
		ide_drive_cmd_ok(d, true);
		return;
	default:
		ide_drive_cmd_error(d, ER_ABRT);
	}
}

static void ide_cmd_set_multiple(struct ide_drive *d)
{
	unsigned int n = d->nsect;

	if (n > MAX_MULT || (n & (n - 1))) {
		ide_drive_cmd_error(d, ER_ABRT);
		return;
	}
	d->mult = n;   /* 0 turns READ/WRITE MULTIPLE off */
	ide_drive_cmd_ok(d, true);
}

static void ide_cmd_init_params(struct ide_drive *d)
{
	unsigned int heads = (d->select & 0x0f) + 1, spt = d->nsect;
	uint64_t cyls;

	if (!spt) {
		ide_drive_cmd_error(d, ER_ABRT);
		return;
	}
	cyls = d->sectors / (heads * spt);
	d->heads = (uint16_t)heads;
	d->spt = (uint16_t)spt;
	d->cyls = (uint16_t)(cyls > 65535 ? 65535 : cyls);
	ide_drive_cmd_ok(d, true);
}

/* EXECUTE DEVICE DIAGNOSTIC and resets: both drives show their signature. */
static void ide_channel_diagnose(struct ide_channel *ch)
{
	for (unsigned int i = 0; i < 2; i++) {
		struct ide_drive *d = &ch->drive[i];

		d->xfer = XFER_NONE;
		ide_drive_set_signature(d);
		d->error = d->present ? 0x01 : 0;
		d->status = d->present && !d->cdrom ? ST_DRDY | ST_DSC : 0;
	}
	ch->drive[0].select &= (uint8_t)~SEL_DEV;
	ch->drive[1].select &= (uint8_t)~SEL_DEV;
	ch->cur = 0;
}

static void ide_exec_cmd(struct ide_channel *ch, uint8_t cmd)
{
	struct ide_drive *d = &ch->drive[ch->cur];
	bool disk = !d->cdrom;

	/* A command to a drive that is not there is not seen by anyone. */
	if (!d->present)
		return;
	ide_lower_irq(ch);
	d->xfer = XFER_NONE;
	switch (cmd) {
	case 0xec:   /* IDENTIFY DEVICE */
		if (!disk)
			break;
		ide_identify_disk(d);
		d->left = 0;
		ide_start_in(d, 512);
		return;
	case 0xa1:   /* IDENTIFY PACKET DEVICE */
		if (disk)
			break;
		atapi_identify(d);
		d->left = 0;
		ide_start_in(d, 512);
		return;
	case 0xa0:   /* PACKET */
		if (disk)
			break;
		atapi_packet(d);
		return;
	case 0x08:   /* DEVICE RESET */
		if (disk)
			break;
		ide_drive_set_signature(d);
		d->status = 0;
		d->error = 0x01;
		return;
	case 0x90:   /* EXECUTE DEVICE DIAGNOSTIC */
		ide_channel_diagnose(ch);
		ide_drive_raise_irq(&ch->drive[0]);
		return;
	case 0x20: case 0x21: if (disk) { ide_cmd_rw(d, false, false, false); return; } break;
	case 0x24:            if (disk) { ide_cmd_rw(d, false, true, false); return; } break;
	case 0xc4:            if (disk) { ide_cmd_rw(d, false, false, true); return; } break;
	case 0x29:            if (disk) { ide_cmd_rw(d, false, true, true); return; } break;
	case 0x30: case 0x31: if (disk) { ide_cmd_rw(d, true, false, false); return; } break;
	case 0x34:            if (disk) { ide_cmd_rw(d, true, true, false); return; } break;
	case 0xc5:            if (disk) { ide_cmd_rw(d, true, false, true); return; } break;
	case 0x39:            if (disk) { ide_cmd_rw(d, true, true, true); return; } break;
	case 0xc8: case 0xc9: if (disk) { ide_cmd_dma(d, false, false); return; } break;
	case 0x25:            if (disk) { ide_cmd_dma(d, false, true); return; } break;
	case 0xca: case 0xcb: if (disk) { ide_cmd_dma(d, true, false); return; } break;
	case 0x35:            if (disk) { ide_cmd_dma(d, true, true); return; } break;
	case 0x40: case 0x41: if (disk) { ide_cmd_verify(d, false); return; } break;
	case 0x42:            if (disk) { ide_cmd_verify(d, true); return; } break;
	case 0xc6:            if (disk) { ide_cmd_set_multiple(d); return; } break;
	case 0x91:            if (disk) { ide_cmd_init_params(d); return; } break;
	case 0xe7: case 0xea: /* FLUSH CACHE (EXT) */
		if (ide_drive_flush(d))
			ide_drive_cmd_error(d, ER_ABRT);
		else
			ide_drive_cmd_ok(d, true);
		return;
	case 0xef:
		ide_cmd_set_features(d);
		return;
	case 0x10 ... 0x1f:   /* RECALIBRATE */
	case 0x70:            /* SEEK */
		if (disk) {
			ide_drive_cmd_ok(d, true);
			return;
		}
		break;
	case 0xe0: case 0xe1: case 0xe2: case 0xe3:   /* standby / idle: nothing spins */
		ide_drive_cmd_ok(d, true);
		return;
	case 0xe5:   /* CHECK POWER MODE: active */
		ide_drive_cmd_ok(d, true);
		d->nsect = 0xff;
		return;
	default:
		break;
	}
	/* Anything else, or a disk command to the CD-ROM: aborted. A packet
	 * device shows its signature so that a driver probing it with ATA
	 * commands learns what it is. */
	if (!disk)
		ide_drive_set_signature(d);
	ide_drive_cmd_error(d, ER_ABRT);
}

/* ---- registers ----------------------------------------------------------- */

static void ide_channel_reset(struct ide_channel *ch)
{
	ide_channel_diagnose(ch);
	for (unsigned int i = 0; i < 2; i++) {
		ch->drive[i].mult = 0;
		ch->drive[i].feature = ch->drive[i].hob_feature = 0;
	}
	ide_lower_irq(ch);
}

static bool ide_channel_empty(const struct ide_channel *ch)
{
	return !ch->drive[0].present && !ch->drive[1].present;
}

static void ide_write_tf(struct ide_channel *ch, unsigned int reg, uint8_t v)
{
	ch->devctl &= (uint8_t)~DC_HOB;
	for (unsigned int i = 0; i < 2; i++) {
		struct ide_drive *d = &ch->drive[i];

		switch (reg) {
		case REG_ERROR: d->hob_feature = d->feature; d->feature = v; break;
		case REG_NSECT: d->hob_nsect = d->nsect; d->nsect = v; break;
		case REG_LBAL: d->hob_lbal = d->lbal; d->lbal = v; break;
		case REG_LBAM: d->hob_lbam = d->lbam; d->lbam = v; break;
		case REG_LBAH: d->hob_lbah = d->lbah; d->lbah = v; break;
		case REG_SELECT: d->select = v | SEL_OBS; break;
		}
	}
	if (reg == REG_SELECT)
		ch->cur = (v & SEL_DEV) ? 1 : 0;
}

static uint8_t ide_read_reg(struct ide_channel *ch, unsigned int reg)
{
	struct ide_drive *d = &ch->drive[ch->cur];
	bool hob = ch->devctl & DC_HOB;

	switch (reg) {
	case REG_ERROR:
		return !d->present ? 0 : hob ? d->hob_feature : d->error;
	case REG_NSECT:
		return hob ? d->hob_nsect : d->nsect;
	case REG_LBAL:
		return hob ? d->hob_lbal : d->lbal;
	case REG_LBAM:
		return hob ? d->hob_lbam : d->lbam;
	case REG_LBAH:
		return hob ? d->hob_lbah : d->lbah;
	case REG_SELECT:
		return d->select;
	case REG_STATUS:
		ide_lower_irq(ch);
		return d->present ? d->status : 0;
	}
	return 0xff;
}

static void ide_write_devctl(struct ide_channel *ch, uint8_t v)
{
	bool was_reset = ch->devctl & DC_SRST;

	ch->devctl = v;
	if (v & DC_SRST) {
		for (unsigned int i = 0; i < 2; i++) {
			ch->drive[i].xfer = XFER_NONE;
			ch->drive[i].status = ST_BSY | ST_DSC;
		}
	} else if (was_reset) {
		ide_channel_reset(ch);
	}
	ide_update_irq(ch);
}

static void ide_channel_io(struct ide_channel *ch, bool ctl, uint64_t off, uint8_t *data,
			   unsigned int len, bool is_write)
{
	if (ide_channel_empty(ch)) {
		/* Nothing drives the bus: it floats high, as probes expect. */
		if (!is_write)
			memset(data, 0xff, len);
		return;
	}
	if (ctl) {
		if (is_write)
			ide_write_devctl(ch, data[0]);
		else
			memset(data, ch->drive[ch->cur].present ? ch->drive[ch->cur].status : 0, len);
		return;
	}
	if (off == REG_DATA) {
		ide_data_io(&ch->drive[ch->cur], data, len, is_write);
		return;
	}
	/* Other registers are 8 bits wide; a wider access touches the next ones. */
	for (unsigned int i = 0; i < len && off + i < IDE_CMD_PORTS; i++) {
		unsigned int reg = (unsigned int)off + i;

		if (!is_write)
			data[i] = ide_read_reg(ch, reg);
		else if (ch->devctl & DC_SRST)
			continue;   /* held in reset */
		else if (reg == REG_STATUS)
			ide_exec_cmd(ch, data[i]);
		else if (reg != REG_DATA)
			ide_write_tf(ch, reg, data[i]);
	}
}

void ide_io(struct ide *ide, unsigned int channel, bool ctl, uint64_t off, void *data,
	    unsigned int len, bool is_write)
{
	struct ide_channel *ch;

	if (channel >= IDE_CHANNELS || !len || len > 4 || (ctl && off != 0) || off >= IDE_CMD_PORTS) {
		if (!is_write)
			memset(data, 0xff, len);
		return;
	}
	ch = &ide->ch[channel];
	pthread_mutex_lock(&ch->lock);
	ide_channel_io(ch, ctl, off, data, len, is_write);
	pthread_mutex_unlock(&ch->lock);
}

/* ---- set-up -------------------------------------------------------------- */

struct ide *ide_new(void (*set_irq)(void *opaque, unsigned int irq, int level), void *opaque,
		    const struct guest_mem *mem)
{
	struct ide *ide = calloc(1, sizeof(*ide));

	if (!ide)
		return NULL;
	ide->set_irq = set_irq;
	ide->irq_opaque = opaque;
	ide->mem = mem;
	for (unsigned int c = 0; c < IDE_CHANNELS; c++) {
		struct ide_channel *ch = &ide->ch[c];

		pthread_mutex_init(&ch->lock, NULL);
		ch->ide = ide;
		ch->irq = c ? IDE_SECONDARY_IRQ : IDE_PRIMARY_IRQ;
		for (unsigned int i = 0; i < 2; i++) {
			ch->drive[i].ch = ch;
			ch->drive[i].fd = -1;
		}
		ide_channel_diagnose(ch);
	}
	return ide;
}

static void ide_default_geometry(struct ide_drive *d)
{
	d->heads = 16;
	d->spt = 63;
	d->cyls = ide_default_cyls(d->sectors);
}

static int ide_open_image(struct ide_drive *d, const char *path, bool readonly)
{
	struct stat st;
	uint64_t size;

	d->fd = open(path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (d->fd < 0) {
		int rc = -errno;

		pr_err("ide: cannot open %s: %s", path, strerror(errno));
		return rc;
	}
	if (fstat(d->fd, &st) < 0)
		return -errno;
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(d->fd, BLKGETSIZE64, &size) < 0)
			return -errno;
	} else if (S_ISREG(st.st_mode)) {
		size = (uint64_t)st.st_size;
	} else {
		pr_err("ide: %s is not a regular file or a block device", path);
		return -EINVAL;
	}
	d->bytes = size;
	return 0;
}

int ide_attach(struct ide *ide, unsigned int position, const struct ide_drive_desc *desc)
{
	struct ide_channel *ch;
	struct ide_drive *d;
	int rc;

	if (position >= IDE_POSITIONS)
		return -EINVAL;
	ch = &ide->ch[position / 2];
	d = &ch->drive[position % 2];
	if (d->attached) {
		pr_err("ide: position %u is taken", position);
		return -EBUSY;
	}
	if (!desc->path && !desc->cdrom) {
		pr_err("ide: a disk needs an image");
		return -EINVAL;
	}
	d->buf = malloc(IDE_BUF_SIZE);
	if (!d->buf)
		return -ENOMEM;
	d->cdrom = desc->cdrom;
	d->wcache = true;
	d->readonly = desc->readonly || desc->cdrom;
	if (desc->path) {
		d->path = strdup(desc->path);
		rc = d->path ? ide_open_image(d, desc->path, d->readonly) : -ENOMEM;
		if (!rc && d->bytes < (d->cdrom ? ATAPI_BLOCK : IDE_SECTOR)) {
			pr_err("ide: %s is smaller than one %s (%llu bytes)", desc->path,
			       d->cdrom ? "2048-byte block" : "sector", (unsigned long long)d->bytes);
			rc = -EINVAL;
		}
		if (rc) {
			if (d->fd >= 0)
				close(d->fd);
			d->fd = -1;
			free(d->path);
			free(d->buf);
			d->path = NULL;
			d->buf = NULL;
			return rc;
		}
		d->has_medium = true;
		d->new_media_event = d->cdrom;
		d->sectors = d->bytes / (d->cdrom ? ATAPI_BLOCK : IDE_SECTOR);
		if (d->bytes % (d->cdrom ? ATAPI_BLOCK : IDE_SECTOR))
			pr_warn("ide: %s: the partial %s at the end is not used", desc->path,
				d->cdrom ? "block" : "sector");
	}
	ide_default_geometry(d);
	pthread_mutex_lock(&ch->lock);
	d->attached = d->present = true;
	ide_channel_diagnose(ch);
	pthread_mutex_unlock(&ch->lock);
	return 0;
}

void ide_unplug(struct ide *ide, unsigned int mask)
{
	for (unsigned int pos = 0; pos < IDE_POSITIONS; pos++) {
		struct ide_channel *ch = &ide->ch[pos / 2];
		struct ide_drive *d = &ch->drive[pos % 2];
		bool go = (mask & IDE_UNPLUG_ALL_DISKS) || ((mask & IDE_UNPLUG_AUX_DISKS) && pos != 0);

		pthread_mutex_lock(&ch->lock);
		if (go && d->present && !d->cdrom) {
			ide_drive_flush(d);
			d->present = false;
			d->xfer = XFER_NONE;
			d->status = 0;
			ide_drive_set_signature(d);
			if (ide_channel_empty(ch))
				ide_lower_irq(ch);
			pr_info("ide: %s disk at %s %s unplugged by the guest", d->path,
				pos < 2 ? "primary" : "secondary", pos % 2 ? "slave" : "master");
		}
		pthread_mutex_unlock(&ch->lock);
	}
}

bool ide_present(struct ide *ide, unsigned int position)
{
	struct ide_channel *ch;
	bool r;

	if (position >= IDE_POSITIONS)
		return false;
	ch = &ide->ch[position / 2];
	pthread_mutex_lock(&ch->lock);
	r = ch->drive[position % 2].present;
	pthread_mutex_unlock(&ch->lock);
	return r;
}

uint64_t ide_out_of_range(struct ide *ide)
{
	uint64_t n = 0;

	for (unsigned int pos = 0; pos < IDE_POSITIONS; pos++)
		n += ide->ch[pos / 2].drive[pos % 2].out_of_range;
	return n;
}

void ide_free(struct ide *ide)
{
	if (!ide)
		return;
	for (unsigned int pos = 0; pos < IDE_POSITIONS; pos++) {
		struct ide_drive *d = &ide->ch[pos / 2].drive[pos % 2];

		if (d->fd >= 0) {
			ide_drive_flush(d);
			close(d->fd);
		}
		free(d->path);
		free(d->buf);
	}
	for (unsigned int c = 0; c < IDE_CHANNELS; c++)
		pthread_mutex_destroy(&ide->ch[c].lock);
	free(ide);
}
