/*
 * What kvm/ide.c (the ATA register interface and command set) and
 * kvm/atapi.c (the SCSI commands a CD-ROM takes through PACKET) share:
 * one drive's state and the few helpers between the two.
 */
#ifndef KVM_IDE_DRIVE_H
#define KVM_IDE_DRIVE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define IDE_SECTOR       512
#define ATAPI_BLOCK      2048
#define IDE_BUF_SIZE     65536   /* the largest ATAPI byte count, 16-sector blocks */
#define ATAPI_CDB_LEN    12
#define ATAPI_REPLY_SIZE 256

/* Status register */
#define ST_ERR  0x01
#define ST_DRQ  0x08
#define ST_DSC  0x10
#define ST_DRDY 0x40
#define ST_BSY  0x80
/* Error register */
#define ER_ABRT 0x04
#define ER_IDNF 0x10
#define ER_UNC  0x40
/* ATAPI interrupt reason (the sector count register) */
#define IR_COD  0x01
#define IR_IO   0x02

enum ide_xfer {
	XFER_NONE,
	XFER_PIO_IN,       /* ATA data to the host, block by block */
	XFER_PIO_OUT,      /* ATA data from the host */
	XFER_ATAPI_CDB,    /* waiting for the 12-byte packet */
	XFER_ATAPI_IN,     /* ATAPI data to the host, chunk by chunk */
};

struct ide_channel;

struct ide_drive {
	struct ide_channel *ch;
	bool attached, present;   /* present: attached and not unplugged */
	bool cdrom, readonly, has_medium;
	int fd;
	char *path;
	uint64_t bytes;           /* image size */
	uint64_t sectors;         /* whole 512-byte sectors (disks) or 2048-byte blocks (CD) */
	uint16_t cyls, heads, spt;

	/* Task file: both drives of a channel latch every write, as on the wire. */
	uint8_t feature, nsect, lbal, lbam, lbah;
	uint8_t hob_feature, hob_nsect, hob_lbal, hob_lbam, hob_lbah;
	uint8_t select;
	uint8_t status, error;
	unsigned int mult;        /* sectors per block of READ/WRITE MULTIPLE, 0 = not set */
	bool wcache;

	/* The PIO transfer in progress. */
	enum ide_xfer xfer;
	uint8_t *buf;
	uint32_t pos, len;        /* in buf */
	uint64_t lba;             /* next sector to load or store */
	uint32_t left;            /* sectors not yet loaded (reads) or stored (writes) */
	uint32_t block;           /* sectors per DRQ block */

	/* ATAPI */
	uint16_t bcl;             /* byte count limit of the current PACKET */
	bool from_file;           /* data comes from the image, else from reply[] */
	uint64_t atapi_off;       /* image offset or reply[] index of the next chunk */
	uint64_t atapi_left;      /* bytes still to send */
	uint8_t reply[ATAPI_REPLY_SIZE];
	uint8_t sense_key, asc, ascq;
	bool locked;              /* PREVENT MEDIUM REMOVAL */
	bool new_media_event;     /* GET EVENT STATUS NOTIFICATION reports the disc once */

	uint64_t out_of_range;
};

/* ide.c, for atapi.c */
void ide_drive_raise_irq(struct ide_drive *d);
/* Reads len bytes of the image at off into d->buf; refuses (and counts)
 * anything outside the image.  0 or -errno. */
int ide_drive_read(struct ide_drive *d, uint64_t off, uint32_t len);
void ide_drive_ident_string(uint16_t *words, unsigned int first, unsigned int nwords, const char *s);
void ide_drive_set_signature(struct ide_drive *d);

/* atapi.c */
void atapi_identify(struct ide_drive *d);
void atapi_packet(struct ide_drive *d);          /* the PACKET command */
void atapi_cdb_received(struct ide_drive *d);    /* the 12 bytes are in d->buf */
void atapi_chunk_done(struct ide_drive *d);      /* the host read the chunk in d->buf */

#endif
