#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "xenkvm/io_bus.h"
#include "xenkvm/log.h"
#include "xenkvm/pci.h"
#include "xenkvm/xen_platform.h"

#define XEN_PROTOVER_PORT (XEN_UNPLUG_PORT + 2)   /* version (read), product (write) */

struct xen_platform {
	struct pci_device dev;
	pthread_mutex_t lock;
	uint16_t product;
	uint32_t build;
	uint16_t unplugged;
};

void xen_platform_port_io(struct xen_platform *p, uint64_t port, void *data, unsigned int len, int is_write)
{
	uint32_t v = 0;

	if (is_write)
		memcpy(&v, data, len > 4 ? 4 : len);
	pthread_mutex_lock(&p->lock);
	if (port == XEN_UNPLUG_PORT) {
		if (!is_write) {
			v = XEN_UNPLUG_MAGIC;
		} else if (len == 4) {
			p->build = v;
		} else if (len == 2) {
			/* There are no emulated disks or NICs to take away: noted only. */
			p->unplugged |= (uint16_t)v;
			pr_debug_rl("xen-platform: guest unplugs emulated devices %#x", v);
		}
	} else if (port == XEN_PROTOVER_PORT) {
		if (!is_write) {
			v = XEN_UNPLUG_PROTOCOL;
		} else if (len == 2) {
			p->product = (uint16_t)v;
			pr_debug_rl("xen-platform: guest driver product %#x", v);
		}
		/* an 8-bit write is the old debug-log byte: ignored */
	} else if (!is_write) {
		v = ~0u;
	}
	pthread_mutex_unlock(&p->lock);
	if (!is_write)
		memcpy(data, &v, len > 4 ? 4 : len);
}

static void xen_platform_pio(void *opaque, uint64_t off, void *data, unsigned int len, bool is_write)
{
	xen_platform_port_io(opaque, XEN_UNPLUG_PORT + off, data, len, is_write);
}

/* The BARs themselves decode nothing: BAR1 is address space for grant
 * frames, which appear there as memory overlays, not as MMIO. */
static void xen_platform_bar(void *opaque, uint64_t off, void *data, unsigned int len, bool is_write)
{
	(void)opaque;
	(void)off;
	if (!is_write)
		memset(data, 0xff, len);
}

struct xen_platform *xen_platform_new_detached(void)
{
	struct xen_platform *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	pthread_mutex_init(&p->lock, NULL);
	p->dev = (struct pci_device){
		.name = "xen-platform",
		.vendor_id = XEN_PLATFORM_VENDOR, .device_id = XEN_PLATFORM_DEVICE,
		.subsystem_vendor_id = XEN_PLATFORM_VENDOR, .subsystem_id = XEN_PLATFORM_DEVICE,
		.revision = 1,
		.class_code = 0xff8000,
		.irq_pin = 1,
		.bars = {
			[0] = { .size = XEN_PLATFORM_IO_SIZE, .io = true, .fn = xen_platform_bar },
			[1] = { .size = XEN_PLATFORM_MMIO_SIZE, .prefetchable = true, .fn = xen_platform_bar },
		},
	};
	return p;
}

int xen_platform_create(struct pci_bus *pci, struct io_bus *pio, struct xen_platform **p_r)
{
	struct xen_platform *p = xen_platform_new_detached();
	int rc;

	if (!p)
		return -ENOMEM;
	p->dev.bars[0].opaque = p;
	p->dev.bars[1].opaque = p;
	rc = io_bus_register(pio, XEN_UNPLUG_PORT, 4, xen_platform_pio, p, "xen-unplug");
	if (!rc)
		rc = pci_register(pci, &p->dev);
	if (rc) {
		io_bus_unregister(pio, XEN_UNPLUG_PORT);
		free(p);
		return rc;
	}
	*p_r = p;
	return 0;
}

uint16_t xen_platform_unplugged(const struct xen_platform *p)
{
	return p->unplugged;
}

void xen_platform_destroy(struct xen_platform *p)
{
	free(p);
}
