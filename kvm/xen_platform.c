/*
 * The Xen platform PCI device and the emulated-device unplug protocol
 * (include/xenkvm/xen_platform.h).  The unplug itself is the owner's
 * callback: the machine hands it to the IDE model.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xenkvm/io_bus.h"
#include "xenkvm/log.h"
#include "xenkvm/pci.h"
#include "xenkvm/vm_state.h"
#include "xenkvm/xen_platform.h"

#define XEN_PROTOVER_PORT (XEN_UNPLUG_PORT + 2)   /* version (read), product (write) */
#define XEN_LOG_MAX 128

struct xen_platform {
	struct pci_device dev;
	pthread_mutex_t lock;
	uint16_t product;
	uint32_t build;
	bool blacklisted;
	uint16_t bl_product;      /* 0: no blacklist */
	uint32_t bl_min_build;
	uint16_t unplugged;
	xen_unplug_fn *unplug;
	void *unplug_opaque;
	char log[XEN_LOG_MAX];
	unsigned int log_len;
};

/* The guest driver's log, a byte at a time, printed a line at a time. */
static void xen_platform_log_byte(struct xen_platform *p, char c)
{
	if (c != '\n' && p->log_len < XEN_LOG_MAX - 1) {
		p->log[p->log_len++] = (c >= 0x20 && c < 0x7f) ? c : '?';
		return;
	}
	p->log[p->log_len] = 0;
	pr_ratelimited(LOG_INFO, "xen-platform: guest driver: %s", p->log);
	p->log_len = 0;
}

/* A mask write: returns the bits that take something away, for the caller
 * to act on once the lock is dropped. */
static uint16_t xen_platform_mask_write(struct xen_platform *p, uint16_t mask)
{
	if (p->blacklisted) {
		pr_warn_rl("xen-platform: blacklisted driver (product %#x build %#x) tried to unplug %#x: refused",
			p->product, p->build, mask);
		return 0;
	}
	if (mask & XEN_UNPLUG_NICS)
		pr_debug_rl("xen-platform: NIC unplug: there are no emulated NICs");
	if (mask & XEN_UNPLUG_NVME)
		pr_debug_rl("xen-platform: NVMe unplug: there are no emulated NVMe disks");
	mask &= XEN_UNPLUG_IDE_DISKS | XEN_UNPLUG_AUX_IDE;
	p->unplugged |= mask;
	pr_ratelimited(LOG_INFO, "xen-platform: the guest unplugs emulated %s",
		(mask & XEN_UNPLUG_IDE_DISKS) ? "IDE disks" : mask ? "auxiliary IDE disks" : "devices (none here)");
	return mask;
}

void xen_platform_port_io(struct xen_platform *p, uint64_t port, void *data, unsigned int len, int is_write)
{
	uint32_t v = 0;
	uint16_t unplug = 0;
	xen_unplug_fn *fn;
	void *fn_opaque;

	if (is_write)
		memcpy(&v, data, len > 4 ? 4 : len);
	pthread_mutex_lock(&p->lock);
	if (port == XEN_UNPLUG_PORT) {
		if (!is_write) {
			v = p->blacklisted ? XEN_UNPLUG_BLACKLISTED : XEN_UNPLUG_MAGIC;
		} else if (len == 4) {
			p->build = v;
			p->blacklisted = p->bl_product && p->product == p->bl_product && v < p->bl_min_build;
			if (p->blacklisted)
				pr_warn_rl("xen-platform: guest driver product %#x build %#x is blacklisted",
					p->product, v);
		} else if (len == 2) {
			unplug = xen_platform_mask_write(p, (uint16_t)v);
		}
	} else if (port == XEN_PROTOVER_PORT) {
		if (!is_write) {
			v = XEN_UNPLUG_PROTOCOL;
		} else if (len == 2) {
			p->product = (uint16_t)v;
			pr_debug_rl("xen-platform: guest driver product %#x", v);
		} else if (len == 1) {
			xen_platform_log_byte(p, (char)v);
		}
	} else if (!is_write) {
		v = ~0u;
	}
	fn = p->unplug;
	fn_opaque = p->unplug_opaque;
	pthread_mutex_unlock(&p->lock);
	if (!is_write)
		memcpy(data, &v, len > 4 ? 4 : len);
	if (unplug && fn)
		fn(fn_opaque, unplug);
}

void xen_platform_set_unplug(struct xen_platform *p, xen_unplug_fn *fn, void *opaque)
{
	pthread_mutex_lock(&p->lock);
	p->unplug = fn;
	p->unplug_opaque = opaque;
	pthread_mutex_unlock(&p->lock);
}

void xen_platform_blacklist(struct xen_platform *p, uint16_t product, uint32_t min_build)
{
	pthread_mutex_lock(&p->lock);
	p->bl_product = product;
	p->bl_min_build = min_build;
	pthread_mutex_unlock(&p->lock);
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
		rc = pci_register_at(pci, &p->dev, XEN_PLATFORM_SLOT, 0);
	if (rc) {
		io_bus_unregister(pio, XEN_UNPLUG_PORT);
		free(p);
		return rc;
	}
	*p_r = p;
	return 0;
}

void xen_platform_state_save(struct xen_platform *p, struct state_writer *w)
{
	pthread_mutex_lock(&p->lock);
	state_section_begin(w, VM_STATE_XEN_PLATFORM, VM_STATE_XEN_PLATFORM_VERSION);
	state_put_u16(w, p->unplugged);
	state_put_u16(w, p->product);
	state_put_u32(w, p->build);
	state_put_u8(w, p->blacklisted);
	pthread_mutex_unlock(&p->lock);
	state_section_end(w);
}

static int platform_load(void *opaque, struct state_section *s)
{
	struct xen_platform *p = opaque;
	uint16_t mask, product;
	uint32_t build;
	bool blacklisted;

	if (!p) {
		state_section_fail(s, EINVAL, "this machine has no Xen platform device");
		return -EINVAL;
	}
	state_get_u16(s, &mask);
	state_get_u16(s, &product);
	state_get_u32(s, &build);
	state_get_bool(s, &blacklisted);
	if (state_section_failed(s))
		return -EBADMSG;
	if (mask & ~(XEN_UNPLUG_IDE_DISKS | XEN_UNPLUG_AUX_IDE)) {
		state_section_fail(s, EBADMSG, "unplug mask %#x has bits no device answers to", mask);
		return -EBADMSG;
	}
	pthread_mutex_lock(&p->lock);
	p->unplugged = mask;
	p->product = product;
	p->build = build;
	p->blacklisted = blacklisted;
	pthread_mutex_unlock(&p->lock);
	/* What the guest took away is gone in the restored machine too. */
	if (mask && p->unplug)
		p->unplug(p->unplug_opaque, mask);
	return 0;
}

void xen_platform_state_handler(struct xen_platform *p, struct state_handler *h)
{
	*h = (struct state_handler){ VM_STATE_XEN_PLATFORM, VM_STATE_XEN_PLATFORM_VERSION,
				     "vm-xen-platform", false, platform_load, p };
}

uint16_t xen_platform_unplugged(const struct xen_platform *p)
{
	return p->unplugged;
}

void xen_platform_destroy(struct xen_platform *p)
{
	if (p)
		pthread_mutex_destroy(&p->lock);
	free(p);
}
