/*
 * What kvm/ide.c (the ATA register interface and command set),
 * kvm/atapi.c (the SCSI commands a CD-ROM takes through PACKET) and
 * kvm/ide_bmdma.c (the bus-master DMA engine) share: a channel's and a
 * drive's state and the few helpers between them.
 */
#ifndef KVM_IDE_DRIVE_H
#define KVM_IDE_DRIVE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "xenkvm/ide.h"

struct guest_mem;

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
	XFER_DMA_IN,       /* a READ DMA waiting for (or between runs of) the bus master */
	XFER_DMA_OUT,      /* a WRITE DMA, likewise */
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

	/* The DMA transfer in progress (XFER_DMA_*): byte-exact, so that a
	 * PRD table shorter than the command resumes where it stopped. */
	uint64_t dma_off;         /* image offset of the next byte */
	uint64_t dma_left;        /* bytes still to move */
	uint8_t dma_mode;         /* SET FEATURES transfer mode: 0x20|n MWDMA, 0x40|n UDMA, 0 none */

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

/* The PIIX's bus-master IDE registers of one channel (SFF-8038i). */
struct ide_bmdma {
	uint8_t cmd;              /* BM_CMD_* */
	uint8_t status;           /* BM_ST_* */
	uint32_t prd;             /* descriptor table address, dword-aligned */
};

struct ide_channel {
	pthread_mutex_t lock;
	struct ide *ide;
	unsigned int irq;
	struct ide_drive drive[2];
	unsigned int cur;        /* selected drive */
	uint8_t devctl;
	bool intrq;              /* the drive asserts INTRQ */
	int line;                /* what we last told the interrupt controller */
	struct ide_bmdma bm;
};

struct ide {
	struct ide_channel ch[IDE_CHANNELS];
	void (*set_irq)(void *opaque, unsigned int irq, int level);
	void *irq_opaque;
	const struct guest_mem *mem;   /* what bus-master DMA reaches; NULL: nothing */
	bool bus_master;               /* PCI command bit 2 (every channel's lock to change) */
};

/* ide.c, for atapi.c and ide_bmdma.c */
void ide_drive_raise_irq(struct ide_drive *d);
/* The command ended well (status DRDY|DSC), with or without an interrupt. */
void ide_drive_cmd_ok(struct ide_drive *d, bool irq);
/* The command ended in ERR with that error register, and an interrupt. */
void ide_drive_cmd_error(struct ide_drive *d, uint8_t error);
/* Moves len bytes between the image at off and buf; refuses (and counts)
 * anything outside the image.  0 or -errno. */
int ide_drive_image_io(struct ide_drive *d, uint64_t off, void *buf, uint32_t len, bool write);
/* Reads len bytes of the image at off into d->buf (at most IDE_BUF_SIZE). */
int ide_drive_read(struct ide_drive *d, uint64_t off, uint32_t len);
void ide_drive_ident_string(uint16_t *words, unsigned int first, unsigned int nwords, const char *s);
void ide_drive_set_signature(struct ide_drive *d);

/* atapi.c */
void atapi_identify(struct ide_drive *d);
void atapi_packet(struct ide_drive *d);          /* the PACKET command */
void atapi_cdb_received(struct ide_drive *d);    /* the 12 bytes are in d->buf */
void atapi_chunk_done(struct ide_drive *d);      /* the host read the chunk in d->buf */

/* ide_bmdma.c, called with the channel's lock held */
/* A DMA command was accepted (d->xfer XFER_DMA_*): moves its data if the
 * bus master already runs, else it waits for the start bit. */
void ide_bmdma_kick(struct ide_channel *ch);
/* The channel's INTRQ went up: the bus master's interrupt bit follows it. */
void ide_bmdma_irq_raised(struct ide_channel *ch);

#endif
