/*
 * The Xen platform PCI device (5853:0001) that Linux's xen-platform-pci
 * driver binds to: an I/O BAR, a 16 MiB memory BAR whose pages the guest
 * asks to have grant frames mapped into, INTA# for the callback-via-INTx
 * route, and the fixed "emulated device unplug" ports 0x10/0x12
 * (docs/misc/hvm-emulated-unplug.pandoc in Xen).
 */
#ifndef XENKVM_XEN_PLATFORM_H
#define XENKVM_XEN_PLATFORM_H

#include <stdint.h>

struct pci_bus;
struct io_bus;
struct xen_platform;

#define XEN_PLATFORM_VENDOR   0x5853
#define XEN_PLATFORM_DEVICE   0x0001
#define XEN_PLATFORM_MMIO_SIZE (16u << 20)
#define XEN_PLATFORM_IO_SIZE  0x100
#define XEN_UNPLUG_PORT       0x10      /* magic (read), build number, unplug mask */
#define XEN_UNPLUG_MAGIC      0x49d2
#define XEN_UNPLUG_PROTOCOL   1

int xen_platform_create(struct pci_bus *pci, struct io_bus *pio, struct xen_platform **p_r);
void xen_platform_destroy(struct xen_platform *p);
/* What the guest asked to unplug (bit 0 IDE disks, 1 NICs, 2 aux IDE), for tests/logs. */
uint16_t xen_platform_unplugged(const struct xen_platform *p);
/* The port model without a bus, for tests. */
struct xen_platform *xen_platform_new_detached(void);
void xen_platform_port_io(struct xen_platform *p, uint64_t port, void *data, unsigned int len, int is_write);

#endif
