/*
 * The PIIX3's two legacy IDE channels (0x1f0/0x3f6 IRQ 14, 0x170/0x376
 * IRQ 15), master and slave on each: ATA disks backed by image files
 * (IDENTIFY, READ/WRITE SECTORS, MULTIPLE and DMA and their LBA48 forms,
 * READ VERIFY, FLUSH CACHE, SET FEATURES, ...) and ATAPI CD-ROMs (PACKET,
 * PIO only) backed by ISO images, and each channel's bus-master DMA
 * registers (SFF-8038i), which kvm/piix3.c decodes behind BAR4.  The model
 * knows nothing of xl.cfg or of KVM: it takes a neutral description per
 * drive, reaches guest RAM through a struct guest_mem and reports its
 * interrupt lines through a callback; kvm/piix3.c puts it on the VM's buses.
 * All entry points may be called from any thread (a lock per channel).
 */
#ifndef XENKVM_IDE_H
#define XENKVM_IDE_H

#include <stdbool.h>
#include <stdint.h>

#define IDE_CHANNELS     2
#define IDE_POSITIONS    4       /* 0 primary master, 1 primary slave, 2/3 secondary */
#define IDE_PRIMARY_CMD  0x1f0
#define IDE_PRIMARY_CTL  0x3f6
#define IDE_PRIMARY_IRQ  14
#define IDE_SECONDARY_CMD 0x170
#define IDE_SECONDARY_CTL 0x376
#define IDE_SECONDARY_IRQ 15
#define IDE_CMD_PORTS    8
#define IDE_BMDMA_PORTS  8       /* per channel: command, status, PRD table address */

/* The unplug mask of Xen's protocol (docs/misc/hvm-emulated-unplug.pandoc). */
#define IDE_UNPLUG_ALL_DISKS 0x1  /* every IDE disk; CD-ROMs stay */
#define IDE_UNPLUG_AUX_DISKS 0x4  /* every IDE disk but the primary master */

struct ide;
struct guest_mem;

struct ide_drive_desc {
	const char *path;   /* image file or block device; NULL: a CD-ROM drive without a disc */
	bool readonly;
	bool cdrom;         /* an ATAPI CD-ROM (2048-byte blocks) rather than an ATA disk */
};

/* `mem` is the guest RAM bus-master DMA may touch (NULL: every transfer
 * fails with the bus master's error bit); it must outlive the model. */
struct ide *ide_new(void (*set_irq)(void *opaque, unsigned int irq, int level), void *opaque,
		    const struct guest_mem *mem);
/* Opens the image (O_RDWR, or O_RDONLY for read-only drives and CD-ROMs).
 * 0 or -errno with a message: missing file, a directory, a disk smaller
 * than one sector, a position already taken. */
int ide_attach(struct ide *ide, unsigned int position, const struct ide_drive_desc *desc);
/* A register access: `ctl` selects the control block (alt status/device
 * control at offset 0), otherwise offsets 0-7 of the command block. */
void ide_io(struct ide *ide, unsigned int channel, bool ctl, uint64_t offset, void *data,
	    unsigned int len, bool is_write);
/* A bus-master register access: offset 0-7 of the channel's block
 * (command at 0, status at 2, PRD table address at 4). */
void ide_bmdma_io(struct ide *ide, unsigned int channel, uint64_t offset, void *data,
		  unsigned int len, bool is_write);
/* PCI command bit 2: without it a started transfer fails (error bit). */
void ide_set_bus_master(struct ide *ide, bool on);
/* Takes disks off the bus for Xen's unplug protocol (IDE_UNPLUG_* bits):
 * their images are flushed (fdatasync) first so that blkback, which
 * opens the same files, sees every write made through IDE. */
void ide_unplug(struct ide *ide, unsigned int mask);
/* Whether a drive answers at that position (attached and not unplugged). */
bool ide_present(struct ide *ide, unsigned int position);
/* Image accesses the model refused as outside the image; always 0 unless
 * a command path forgot its bounds check (the fuzzer asserts it). */
uint64_t ide_out_of_range(struct ide *ide);
void ide_free(struct ide *ide);

#endif
