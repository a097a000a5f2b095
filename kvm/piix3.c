/*
 * PIIX3 functions 0 (PCI-ISA bridge) and 1 (IDE).  The IDE function is in
 * legacy ("compatibility") mode: its channels decode the fixed ISA ports
 * and interrupt on ISA IRQs 14 and 15 and its BARs 0-3 are unused; BAR4
 * is the 16 bytes of bus-master DMA registers (8 per channel), which
 * Linux's ata_piix uses for (MW)DMA: one exit per command, where PIO
 * takes one per 4 KiB string and keeps the guest's CPU in its hardirq
 * handler meanwhile.  SeaBIOS and GRUB still use PIO.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

#include "xenkvm/ide.h"
#include "xenkvm/io_bus.h"
#include "xenkvm/pci.h"
#include "xenkvm/piix3.h"

#define PIIX3_IDETIM 0x40   /* primary, then secondary timing: bit 15 decodes the channel */
#define PIIX3_BMDMA_BAR 4
#define PCI_COMMAND  0x04
#define PCI_COMMAND_MASTER 0x0004

struct piix3_port {
	struct piix3 *p;
	unsigned int channel;
	bool ctl;
};

struct piix3 {
	struct pci_device isa, idefn;
	struct ide *ide;
	struct io_bus *pio;
	struct piix3_port ports[4];
	unsigned int nr_ports;
};

static const struct {
	uint16_t base, len;
	unsigned int channel;
	bool ctl;
} piix3_ranges[4] = {
	{ IDE_PRIMARY_CMD, IDE_CMD_PORTS, 0, false },
	{ IDE_PRIMARY_CTL, 1, 0, true },
	{ IDE_SECONDARY_CMD, IDE_CMD_PORTS, 1, false },
	{ IDE_SECONDARY_CTL, 1, 1, true },
};

/* BAR4: channel 0's registers, then channel 1's. */
static void piix3_bmdma_io(void *opaque, uint64_t off, void *data, unsigned int len, bool is_write)
{
	struct piix3 *p = opaque;

	ide_bmdma_io(p->ide, (unsigned int)(off / IDE_BMDMA_PORTS), off % IDE_BMDMA_PORTS, data, len, is_write);
}

/* The engine needs to know whether it may master the bus. */
static void piix3_ide_config_written(struct pci_device *dev, unsigned int off, unsigned int len)
{
	struct piix3 *p = (struct piix3 *)((char *)dev - offsetof(struct piix3, idefn));

	if (off < PCI_COMMAND + 2 && off + len > PCI_COMMAND)
		ide_set_bus_master(p->ide, dev->config[PCI_COMMAND] & PCI_COMMAND_MASTER);
}

static void piix3_ide_pio(void *opaque, uint64_t off, void *data, unsigned int len, bool is_write)
{
	struct piix3_port *port = opaque;

	ide_io(port->p->ide, port->channel, port->ctl, off, data, len, is_write);
}

void piix3_destroy(struct piix3 *p)
{
	if (!p)
		return;
	for (unsigned int i = 0; i < p->nr_ports; i++)
		io_bus_unregister(p->pio, piix3_ranges[i].base);
	free(p);
}

int piix3_create(struct pci_bus *pci, struct io_bus *pio, struct ide *ide, struct piix3 **p_r)
{
	struct piix3 *p = calloc(1, sizeof(*p));
	int rc;

	if (!p)
		return -ENOMEM;
	p->ide = ide;
	p->pio = pio;
	p->isa = (struct pci_device){
		.name = "piix3-isa",
		.vendor_id = 0x8086, .device_id = 0x7000,
		.class_code = 0x060100,
		/* PIRQ routing and the like: firmware writes them, nothing here reads them. */
		.dev_regs_writable = true,
	};
	p->idefn = (struct pci_device){
		.name = "piix3-ide",
		.vendor_id = 0x8086, .device_id = 0x7010,
		.class_code = 0x010180,   /* IDE, both channels legacy, bus-master capable */
		/* IDE timing: Linux's ata_piix programs it and reads the decode bits. */
		.dev_regs_writable = true,
		.config_written = piix3_ide_config_written,
	};
	p->idefn.bars[PIIX3_BMDMA_BAR] = (struct pci_bar){
		.size = IDE_CHANNELS * IDE_BMDMA_PORTS, .io = true, .fn = piix3_bmdma_io, .opaque = p,
	};
	for (unsigned int i = 0; i < 4; i++) {
		p->ports[i] = (struct piix3_port){ p, piix3_ranges[i].channel, piix3_ranges[i].ctl };
		rc = io_bus_register(pio, piix3_ranges[i].base, piix3_ranges[i].len, piix3_ide_pio,
				     &p->ports[i], "ide");
		if (rc)
			goto fail;
		p->nr_ports++;
	}
	rc = pci_register_at(pci, &p->isa, PIIX3_SLOT, PIIX3_ISA_FN);
	if (rc)
		goto fail;
	rc = pci_register_at(pci, &p->idefn, PIIX3_SLOT, PIIX3_IDE_FN);
	if (rc)
		return rc;   /* function 0 is on the bus and points here: p stays */
	/* Both channels decode, as firmware leaves them: ata_piix skips a
	 * channel whose enable bit is clear. */
	p->idefn.config[PIIX3_IDETIM + 1] = 0x80;
	p->idefn.config[PIIX3_IDETIM + 3] = 0x80;
	*p_r = p;
	return 0;
fail:
	piix3_destroy(p);
	return rc;
}
