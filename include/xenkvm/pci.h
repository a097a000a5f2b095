/*
 * PCI bus 0 behind configuration mechanism #1 (ports 0xCF8/0xCFC), with a
 * host bridge at 00:00.0.  Devices are placed in the next free slot (or at
 * a fixed slot and function: multi-function slots are flagged in function
 * 0's header type), get
 * their BARs assigned from the VM's windows (as firmware would) and their
 * INTx routed to the GSI the DSDT's _PRT names.
 */
#ifndef XENKVM_PCI_H
#define XENKVM_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "xenkvm/io_bus.h"

#define PCI_SLOTS     32
#define PCI_FUNCS     8
#define PCI_NUM_BARS  6
#define PCI_IO_WINDOW_BASE 0xc000
#define PCI_IO_WINDOW_END  0x10000

struct vm;
struct pci_bus;

struct pci_bar {
	uint64_t size;        /* power of two; 0 = unused */
	bool io;              /* I/O space, else 32-bit memory */
	bool prefetchable;
	io_handler_fn *fn;    /* called with the offset inside the BAR */
	void *opaque;
	/* Maintained by the bus. */
	uint64_t addr;
	bool mapped;
};

struct pci_device {
	const char *name;
	uint16_t vendor_id, device_id;
	uint16_t subsystem_vendor_id, subsystem_id;
	uint8_t revision;
	uint32_t class_code;  /* class << 16 | subclass << 8 | prog-if */
	uint8_t irq_pin;      /* 0 = none, 1 = INTA# ... */
	struct pci_bar bars[PCI_NUM_BARS];
	/* Config registers 0x40-0xff take guest writes (chipset timing and
	 * routing registers); otherwise they are read-only. */
	bool dev_regs_writable;
	/* Optional: sees every config write after the bus applied it. */
	void (*config_written)(struct pci_device *dev, unsigned int offset, unsigned int len);

	/* Filled in by the bus. */
	struct pci_bus *bus;
	unsigned int slot, fn;
	unsigned int gsi;
	uint8_t config[256];
};

int pci_bus_create(struct vm *vm, struct pci_bus **bus_r);
void pci_bus_destroy(struct pci_bus *bus);
/* Function 0 of the next free slot.  0, -ENOSPC (no slot or window space)
 * or -EINVAL (bad BAR size). */
int pci_register(struct pci_bus *bus, struct pci_device *dev);
/* The guest's firmware assigns BARs (SeaBIOS's QEMU path): devices
 * registered from now on start with I/O and memory decoding off. */
void pci_bus_set_firmware_assigns(struct pci_bus *bus);
/* At a fixed slot and function (the PC's fixed layout); -EBUSY if taken. */
int pci_register_at(struct pci_bus *bus, struct pci_device *dev, unsigned int slot, unsigned int fn);
/* Level of the device's INTx line. */
void pci_set_irq(struct pci_device *dev, int level);

/* For tests: config mechanism #1 accesses without a VM. */
void pci_config_io(struct pci_bus *bus, uint64_t port, void *data, unsigned int len, bool is_write);
struct pci_bus *pci_bus_new_detached(void);

#endif
