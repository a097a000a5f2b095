/*
 * The CD-ROM behind an IDE position: the PACKET protocol (a 12-byte
 * command block in, data out in chunks no larger than the host's byte
 * count limit, each announced by an interrupt) and the SCSI/MMC commands
 * SeaBIOS's El Torito boot and Linux's sr driver use.  Anything else ends
 * in CHECK CONDITION with ILLEGAL REQUEST sense.
 */
#include <string.h>

#include "ide_drive.h"

/* Sense keys and additional sense codes */
#define SK_NOT_READY       0x02
#define SK_ILLEGAL_REQUEST 0x05
#define ASC_INVALID_OPCODE 0x20
#define ASC_LBA_OUT_OF_RANGE 0x21
#define ASC_INVALID_FIELD  0x24
#define ASC_NO_MEDIUM      0x3a

#define CD_MAX_BLOCKS      (700u * 1024 * 1024 / ATAPI_BLOCK)   /* larger is a DVD */

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	put_be16(p, (uint16_t)(v >> 16));
	put_be16(p + 2, (uint16_t)v);
}

/* The status phase: interrupt reason "command, to host", and the sense. */
static void atapi_finish(struct ide_drive *d, uint8_t key, uint8_t asc)
{
	d->xfer = XFER_NONE;
	d->nsect = IR_IO | IR_COD;
	d->sense_key = key;
	d->asc = asc;
	d->ascq = 0;
	if (key) {
		d->status = ST_DRDY | ST_ERR;
		d->error = (uint8_t)(key << 4);
	} else {
		d->status = ST_DRDY | ST_DSC;
		d->error = 0;
	}
	ide_drive_raise_irq(d);
}

static void atapi_check_condition(struct ide_drive *d, uint8_t key, uint8_t asc)
{
	atapi_finish(d, key, asc);
}

/* Offers the next chunk of a data-in command, or ends it when none is left. */
static void atapi_next_chunk(struct ide_drive *d)
{
	uint32_t n;

	if (!d->atapi_left) {
		atapi_finish(d, 0, 0);
		return;
	}
	n = d->atapi_left < d->bcl ? (uint32_t)d->atapi_left : d->bcl;
	if (n > d->bcl)
		n = d->bcl;
	if (n > IDE_BUF_SIZE)
		n = IDE_BUF_SIZE;
	if (d->from_file) {
		if (ide_drive_read(d, d->atapi_off, n)) {
			atapi_check_condition(d, SK_NOT_READY, 0x11);   /* unrecovered read error */
			return;
		}
	} else {
		memcpy(d->buf, d->reply + d->atapi_off, n);
	}
	d->xfer = XFER_ATAPI_IN;
	d->pos = 0;
	d->len = n;
	d->lbam = (uint8_t)n;
	d->lbah = (uint8_t)(n >> 8);
	d->nsect = IR_IO;
	d->status = ST_DRDY | ST_DSC | ST_DRQ;
	ide_drive_raise_irq(d);
}

void atapi_chunk_done(struct ide_drive *d)
{
	d->atapi_left -= d->len;
	d->atapi_off += d->len;
	atapi_next_chunk(d);
}

/* Sends n bytes of d->reply, cut to the command's allocation length. */
static void atapi_reply(struct ide_drive *d, uint32_t n, uint32_t alloc)
{
	d->from_file = false;
	d->atapi_off = 0;
	d->atapi_left = n < alloc ? n : alloc;
	atapi_next_chunk(d);
}

void atapi_packet(struct ide_drive *d)
{
	if (d->feature & 0x01) {   /* DMA: the CD-ROM moves data by PIO only (IDENTIFY says so) */
		ide_drive_set_signature(d);
		d->xfer = XFER_NONE;
		d->status = ST_DRDY | ST_ERR;
		d->error = 0x04;
		ide_drive_raise_irq(d);
		return;
	}
	/* 0 is not a valid limit; odd limits are rounded down (PIO moves words). */
	d->bcl = (uint16_t)(d->lbam | d->lbah << 8);
	if (!d->bcl || d->bcl == 0xffff)
		d->bcl = 0xfffe;
	d->bcl &= (uint16_t)~1u;
	d->xfer = XFER_ATAPI_CDB;
	d->pos = 0;
	d->len = ATAPI_CDB_LEN;
	d->nsect = IR_COD;
	d->status = ST_DRDY | ST_DSC | ST_DRQ;
}

static bool atapi_ready(struct ide_drive *d)
{
	if (d->has_medium)
		return true;
	atapi_check_condition(d, SK_NOT_READY, ASC_NO_MEDIUM);
	return false;
}

static void atapi_read(struct ide_drive *d, uint32_t lba, uint32_t count)
{
	if (!atapi_ready(d))
		return;
	if (lba > d->sectors || count > d->sectors - lba) {
		atapi_check_condition(d, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
		return;
	}
	d->from_file = true;
	d->atapi_off = (uint64_t)lba * ATAPI_BLOCK;
	d->atapi_left = (uint64_t)count * ATAPI_BLOCK;
	atapi_next_chunk(d);
}

static void atapi_request_sense(struct ide_drive *d, uint32_t alloc)
{
	uint8_t *r = d->reply;

	memset(r, 0, 18);
	r[0] = 0x70;               /* current error, fixed format */
	r[2] = d->sense_key;
	r[7] = 10;
	r[12] = d->asc;
	r[13] = d->ascq;
	d->sense_key = d->asc = d->ascq = 0;
	atapi_reply(d, 18, alloc);
}

static void atapi_inquiry(struct ide_drive *d, const uint8_t *cdb)
{
	uint8_t *r = d->reply;

	if (cdb[1] & 0x01) {       /* no vital product data pages */
		atapi_check_condition(d, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD);
		return;
	}
	memset(r, 0, 36);
	r[0] = 0x05;               /* CD/DVD device */
	r[1] = 0x80;               /* removable */
	r[2] = 0x00;
	r[3] = 0x21;               /* ATAPI, response format 1 */
	r[4] = 36 - 5;
	memcpy(r + 8, "XENKVM  ", 8);
	memcpy(r + 16, "DVD-ROM         ", 16);
	memcpy(r + 32, "1.0 ", 4);
	atapi_reply(d, 36, be16(cdb + 3));
}

static void atapi_read_capacity(struct ide_drive *d)
{
	if (!atapi_ready(d))
		return;
	put_be32(d->reply, (uint32_t)(d->sectors - 1));
	put_be32(d->reply + 4, ATAPI_BLOCK);
	atapi_reply(d, 8, 8);
}

/* Mode pages: error recovery (0x01) and the CD capabilities page (0x2a). */
static uint32_t atapi_mode_page(struct ide_drive *d, uint8_t page, uint8_t *p)
{
	switch (page) {
	case 0x01:
		memset(p, 0, 8);
		p[0] = 0x01;
		p[1] = 6;
		return 8;
	case 0x2a:
		memset(p, 0, 20);
		p[0] = 0x2a;
		p[1] = 18;
		p[2] = 0x08;                       /* reads DVD-ROM */
		p[6] = 0x29 | (d->locked ? 0x02 : 0);   /* lock, eject, tray loader; lock state */
		put_be16(p + 8, 706);              /* max read speed, kB/s (4x) */
		put_be16(p + 12, 512);             /* buffer size, KiB */
		put_be16(p + 14, 706);             /* current read speed */
		return 20;
	}
	return 0;
}

static void atapi_mode_sense10(struct ide_drive *d, const uint8_t *cdb)
{
	uint8_t page = cdb[2] & 0x3f, pc = cdb[2] >> 6;
	uint8_t *r = d->reply;
	uint32_t n = 8;

	if (pc == 3) {   /* saved values: not supported */
		atapi_check_condition(d, SK_ILLEGAL_REQUEST, 0x39);
		return;
	}
	memset(r, 0, 8);
	if (page == 0x3f) {
		n += atapi_mode_page(d, 0x01, r + n);
		n += atapi_mode_page(d, 0x2a, r + n);
	} else {
		uint32_t len = atapi_mode_page(d, page, r + n);

		if (!len) {
			atapi_check_condition(d, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD);
			return;
		}
		n += len;
	}
	put_be16(r, (uint16_t)(n - 2));
	r[2] = d->has_medium ? 0x01 : 0x70;   /* 120 mm data disc / no disc */
	atapi_reply(d, n, be16(cdb + 7));
}

/* An address in a TOC: an LBA, or minutes/seconds/frames with the 2 s lead-in. */
static void atapi_toc_addr(uint8_t *p, uint32_t lba, bool msf)
{
	if (msf) {
		lba += 150;
		p[0] = 0;
		p[1] = (uint8_t)(lba / (75 * 60));
		p[2] = (uint8_t)(lba / 75 % 60);
		p[3] = (uint8_t)(lba % 75);
	} else {
		put_be32(p, lba);
	}
}

static void atapi_read_toc(struct ide_drive *d, const uint8_t *cdb)
{
	bool msf = cdb[1] & 0x02;
	uint8_t format = cdb[2] & 0x0f, start = cdb[6];
	uint8_t *r = d->reply;
	uint32_t n = 4;

	if (!atapi_ready(d))
		return;
	if (!format)
		format = cdb[9] >> 6;   /* the older place for it */
	memset(r, 0, 4 + 3 * 8);
	switch (format) {
	case 0:    /* one data track, then the lead-out */
		if (start > 1 && start != 0xaa) {
			atapi_check_condition(d, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD);
			return;
		}
		r[2] = 1;
		r[3] = 1;
		if (start <= 1) {
			r[n + 1] = 0x14;        /* ADR 1, data track */
			r[n + 2] = 1;
			atapi_toc_addr(r + n + 4, 0, msf);
			n += 8;
		}
		r[n + 1] = 0x14;
		r[n + 2] = 0xaa;
		atapi_toc_addr(r + n + 4, (uint32_t)d->sectors, msf);
		n += 8;
		break;
	case 1:    /* multi-session information: one session */
		r[2] = 1;
		r[3] = 1;
		r[n + 1] = 0x14;
		r[n + 2] = 1;
		atapi_toc_addr(r + n + 4, 0, msf);
		n += 8;
		break;
	default:
		atapi_check_condition(d, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD);
		return;
	}
	put_be16(r, (uint16_t)(n - 2));
	atapi_reply(d, n, be16(cdb + 7));
}

static void atapi_get_configuration(struct ide_drive *d, const uint8_t *cdb)
{
	uint16_t profile = !d->has_medium ? 0 : d->sectors > CD_MAX_BLOCKS ? 0x0010 : 0x0008;
	uint8_t *r = d->reply;
	uint32_t n = 8;

	memset(r, 0, 8 + 12);
	put_be16(r + 6, profile);
	if (be16(cdb + 2) == 0 && (cdb[1] & 3) != 3) {
		/* Feature 0, the profile list: DVD-ROM and CD-ROM. */
		r[n + 2] = 0x03;        /* persistent, current */
		r[n + 3] = 8;
		put_be16(r + n + 4, 0x0010);
		r[n + 6] = profile == 0x0010;
		put_be16(r + n + 8, 0x0008);
		r[n + 10] = profile == 0x0008;
		n += 12;
	}
	put_be32(r, n - 4);
	atapi_reply(d, n, be16(cdb + 7));
}

static void atapi_event_status(struct ide_drive *d, const uint8_t *cdb)
{
	uint8_t *r = d->reply;
	uint32_t n;

	if (!(cdb[1] & 0x01)) {    /* only polled operation */
		atapi_check_condition(d, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD);
		return;
	}
	memset(r, 0, 8);
	r[3] = 0x10;               /* supported: media class */
	if (cdb[4] & 0x10) {
		r[2] = 0x04;           /* media class */
		r[4] = d->new_media_event ? 0x02 : 0x00;   /* new media, once */
		r[5] = d->has_medium ? 0x02 : 0x00;
		d->new_media_event = false;
		n = 8;
	} else {
		r[2] = 0x80;           /* no event available */
		n = 4;
	}
	put_be16(r, (uint16_t)(n - 2));
	atapi_reply(d, n, be16(cdb + 7));
}

void atapi_cdb_received(struct ide_drive *d)
{
	uint8_t cdb[ATAPI_CDB_LEN];

	memcpy(cdb, d->buf, sizeof(cdb));
	d->xfer = XFER_NONE;
	switch (cdb[0]) {
	case 0x00:   /* TEST UNIT READY */
		if (atapi_ready(d))
			atapi_finish(d, 0, 0);
		return;
	case 0x03:   /* REQUEST SENSE */
		atapi_request_sense(d, cdb[4]);
		return;
	case 0x12:   /* INQUIRY */
		atapi_inquiry(d, cdb);
		return;
	case 0x1b:   /* START STOP UNIT: nothing spins, the disc stays */
		atapi_finish(d, 0, 0);
		return;
	case 0x1e:   /* PREVENT ALLOW MEDIUM REMOVAL */
		d->locked = cdb[4] & 0x01;
		atapi_finish(d, 0, 0);
		return;
	case 0x25:   /* READ CAPACITY */
		atapi_read_capacity(d);
		return;
	case 0x28:   /* READ(10) */
		atapi_read(d, be32(cdb + 2), be16(cdb + 7));
		return;
	case 0xa8:   /* READ(12) */
		atapi_read(d, be32(cdb + 2), be32(cdb + 6));
		return;
	case 0x43:   /* READ TOC/PMA/ATIP */
		atapi_read_toc(d, cdb);
		return;
	case 0x46:   /* GET CONFIGURATION */
		atapi_get_configuration(d, cdb);
		return;
	case 0x4a:   /* GET EVENT STATUS NOTIFICATION */
		atapi_event_status(d, cdb);
		return;
	case 0x5a:   /* MODE SENSE(10) */
		atapi_mode_sense10(d, cdb);
		return;
	default:
		atapi_check_condition(d, SK_ILLEGAL_REQUEST, ASC_INVALID_OPCODE);
		return;
	}
}
