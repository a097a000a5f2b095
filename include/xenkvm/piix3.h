/*
 * The PIIX3 south bridge as Xen's HVM guests see it behind the i440FX:
 * the PCI-ISA bridge at 00:01.0 (8086:7000) and the IDE function at
 * 00:01.1 (8086:7010, legacy mode, bus-master DMA registers behind BAR4),
 * whose two channels are the IDE model of include/xenkvm/ide.h on the
 * legacy ports.
 */
#ifndef XENKVM_PIIX3_H
#define XENKVM_PIIX3_H

struct pci_bus;
struct io_bus;
struct ide;
struct piix3;

#define PIIX3_SLOT    1
#define PIIX3_ISA_FN  0
#define PIIX3_IDE_FN  1

/* Registers both functions and the IDE ports; the IDE model stays the caller's. */
int piix3_create(struct pci_bus *pci, struct io_bus *pio, struct ide *ide, struct piix3 **p_r);
void piix3_destroy(struct piix3 *p);

#endif
