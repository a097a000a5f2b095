/*
 * The Xen platform PCI device (5853:0001) that Linux's xen-platform-pci
 * driver binds to, at 00:02.0 as on Xen: an I/O BAR, a 16 MiB memory BAR
 * whose pages the guest asks to have grant frames mapped into, INTA# for
 * the callback-via-INTx route, and the fixed "emulated device unplug"
 * ports 0x10/0x12 (docs/misc/hvm-emulated-unplug.pandoc in Xen):
 *   read  0x10 (2 bytes)  magic 0x49d2 (0xd249 once the driver is blacklisted)
 *   read  0x12 (1 byte)   protocol version
 *   write 0x12 (2 bytes)  the driver's product number
 *   write 0x10 (4 bytes)  its build number
 *   write 0x10 (2 bytes)  the unplug mask: bit 0 all IDE disks (not CD-ROMs),
 *                         bit 1 all NICs, bit 2 IDE disks but the primary master,
 *                         bit 3 NVMe disks
 *   write 0x12 (1 byte)   a character of the driver's log
 * A blacklisted driver is told so by the magic and must not load: the
 * emulated devices stay, and its unplug writes are refused.
 */
#ifndef XENKVM_XEN_PLATFORM_H
#define XENKVM_XEN_PLATFORM_H

#include <stdint.h>

struct pci_bus;
struct io_bus;
struct xen_platform;

#define XEN_PLATFORM_VENDOR   0x5853
#define XEN_PLATFORM_DEVICE   0x0001
#define XEN_PLATFORM_SLOT     2
#define XEN_PLATFORM_MMIO_SIZE (16u << 20)
#define XEN_PLATFORM_IO_SIZE  0x100
#define XEN_UNPLUG_PORT       0x10      /* magic (read), build number, unplug mask */
#define XEN_UNPLUG_MAGIC      0x49d2
#define XEN_UNPLUG_BLACKLISTED 0xd249
#define XEN_UNPLUG_PROTOCOL   1

#define XEN_UNPLUG_IDE_DISKS  0x1
#define XEN_UNPLUG_NICS       0x2
#define XEN_UNPLUG_AUX_IDE    0x4
#define XEN_UNPLUG_NVME       0x8

/* Called (on the vCPU thread, without the device's lock) with the bits
 * of a mask write that take devices away. */
typedef void xen_unplug_fn(void *opaque, uint16_t mask);

int xen_platform_create(struct pci_bus *pci, struct io_bus *pio, struct xen_platform **p_r);
void xen_platform_destroy(struct xen_platform *p);
void xen_platform_set_unplug(struct xen_platform *p, xen_unplug_fn *fn, void *opaque);
/* Refuse drivers of this product whose build number is below min_build. */
void xen_platform_blacklist(struct xen_platform *p, uint16_t product, uint32_t min_build);
/* What the guest asked to unplug (XEN_UNPLUG_* bits), for tests and logs. */
uint16_t xen_platform_unplugged(const struct xen_platform *p);
/* Save and restore (docs/SAVE-FORMAT.md, vm-xen-platform): the unplug
 * mask and the driver's registration; loading unplugs again what the
 * guest had unplugged.  The handler takes a NULL p (no device: refused). */
struct state_writer;
struct state_handler;
void xen_platform_state_save(struct xen_platform *p, struct state_writer *w);
void xen_platform_state_handler(struct xen_platform *p, struct state_handler *h);
/* The port model without a bus, for tests. */
struct xen_platform *xen_platform_new_detached(void);
void xen_platform_port_io(struct xen_platform *p, uint64_t port, void *data, unsigned int len, int is_write);

#endif
