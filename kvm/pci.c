#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "xenkvm/acpi.h"
#include "xenkvm/log.h"
#include "xenkvm/pci.h"
#include "xenkvm/vm.h"

#define PCI_CONFIG_ADDRESS 0xcf8
#define PCI_CONFIG_DATA    0xcfc
#define CFG_ENABLE         0x80000000u

#define PCI_VENDOR_ID      0x00
#define PCI_COMMAND        0x04
#define PCI_REVISION       0x08
#define PCI_HEADER_TYPE    0x0e
#define PCI_HEADER_MULTI_FN 0x80
#define PCI_DEV_REGS       0x40   /* first device-specific register */
#define PCI_BAR0           0x10
#define PCI_SUBSYSTEM      0x2c
#define PCI_INTERRUPT_LINE 0x3c
#define PCI_INTERRUPT_PIN  0x3d
#define CMD_IO             0x0001
#define CMD_MEM            0x0002
#define CMD_MASTER         0x0004
#define CMD_INTX_DISABLE   0x0400

struct pci_bus {
	pthread_mutex_t lock;
	struct vm *vm;
	uint32_t address;
	struct pci_device *devs[PCI_SLOTS][PCI_FUNCS];
	struct pci_device host_bridge;
	uint64_t next_io, next_mem;
	bool firmware_assigns;     /* devices start with decoding off */
};

static uint32_t cfg_get(const struct pci_device *d, unsigned int off, unsigned int len)
{
	uint32_t v = 0;

	memcpy(&v, &d->config[off], len);
	return v;
}

static void cfg_put(struct pci_device *d, unsigned int off, unsigned int len, uint32_t v)
{
	memcpy(&d->config[off], &v, len);
}

/* Puts a BAR on (or takes it off) the bus it decodes on. */
static void pci_bar_map(struct pci_device *d, unsigned int i, bool on)
{
	struct pci_bar *b = &d->bars[i];
	struct vm *vm = d->bus->vm;
	struct io_bus *bus;

	if (!vm || !b->size || b->mapped == on)
		return;
	bus = b->io ? &vm->pio : &vm->mmio;
	if (on) {
		/* An address the guest left at 0 or in the way of others just stays off. */
		if (!b->addr || io_bus_register(bus, b->addr, b->size, b->fn, b->opaque, d->name)) {
			pr_debug_rl("pci %02x.%u: BAR%u at %#llx not mapped", d->slot, d->fn, i, (unsigned long long)b->addr);
			return;
		}
	} else {
		io_bus_unregister(bus, b->addr);
	}
	b->mapped = on;
}

static void pci_update_mappings(struct pci_device *d)
{
	uint16_t cmd = (uint16_t)cfg_get(d, PCI_COMMAND, 2);

	for (unsigned int i = 0; i < PCI_NUM_BARS; i++) {
		struct pci_bar *b = &d->bars[i];
		uint32_t raw = cfg_get(d, PCI_BAR0 + 4 * i, 4);
		uint64_t addr = raw & (b->io ? ~3u : ~15u);
		bool on = b->size && (cmd & (b->io ? CMD_IO : CMD_MEM)) && addr != (uint64_t)(-b->size & 0xffffffff);

		if (b->mapped && (!on || addr != b->addr))
			pci_bar_map(d, i, false);
		b->addr = addr;
		if (on)
			pci_bar_map(d, i, true);
	}
}

static void pci_config_write(struct pci_device *d, unsigned int off, unsigned int len, uint32_t v)
{
	if (off >= PCI_BAR0 && off < PCI_BAR0 + 4 * PCI_NUM_BARS) {
		unsigned int i = (off - PCI_BAR0) / 4;
		struct pci_bar *b = &d->bars[i];
		uint32_t cur = cfg_get(d, PCI_BAR0 + 4 * i, 4);
		uint32_t flags = cur & (b->io ? 3u : 15u);
		uint32_t mask = b->size ? (uint32_t)~(b->size - 1) : 0;

		/* Merge a partial write, then keep only the address bits the size allows:
		 * writing all-ones reads back the size mask, which is how sizing works. */
		memcpy((uint8_t *)&cur + (off & 3), &v, len);
		cfg_put(d, PCI_BAR0 + 4 * i, 4, (cur & mask) | flags);
		pci_update_mappings(d);
	} else if (off >= PCI_COMMAND && off < PCI_COMMAND + 2) {
		uint16_t cmd = (uint16_t)cfg_get(d, PCI_COMMAND, 2);

		memcpy((uint8_t *)&cmd + (off - PCI_COMMAND), &v, len > 2 - (off - PCI_COMMAND) ? 2 - (off - PCI_COMMAND) : len);
		cmd &= CMD_IO | CMD_MEM | CMD_MASTER | CMD_INTX_DISABLE;
		cfg_put(d, PCI_COMMAND, 2, cmd);
		pci_update_mappings(d);
	} else if (off == PCI_INTERRUPT_LINE && len == 1) {
		d->config[PCI_INTERRUPT_LINE] = (uint8_t)v;
	} else if (off >= PCI_DEV_REGS && d->dev_regs_writable) {
		memcpy(&d->config[off], &v, len);
	} else {
		return;   /* everything else is read-only */
	}
	if (d->config_written)
		d->config_written(d, off, len);
}

void pci_config_io(struct pci_bus *bus, uint64_t port, void *data, unsigned int len, bool is_write)
{
	uint32_t v = 0;

	if (is_write)
		memcpy(&v, data, len > 4 ? 4 : len);
	pthread_mutex_lock(&bus->lock);
	if (port == PCI_CONFIG_ADDRESS) {
		if (len == 4) {
			if (is_write)
				bus->address = v & 0x80fffffcu;
			else
				v = bus->address;
		} else if (!is_write) {
			v = ~0u;
		}
	} else {
		unsigned int off = (bus->address & 0xfc) + (unsigned int)(port - PCI_CONFIG_DATA);
		unsigned int busnr = (bus->address >> 16) & 0xff;
		unsigned int slot = (bus->address >> 11) & 0x1f;
		unsigned int fn = (bus->address >> 8) & 7;
		struct pci_device *d = NULL;

		if ((bus->address & CFG_ENABLE) && busnr == 0)
			d = bus->devs[slot][fn];
		if (off + len > 256)
			d = NULL;
		if (!d) {
			v = ~0u;   /* no device: reads float high, which is how probing ends */
		} else if (is_write) {
			pci_config_write(d, off, len, v);
		} else {
			v = cfg_get(d, off, len);
		}
	}
	pthread_mutex_unlock(&bus->lock);
	if (!is_write)
		memcpy(data, &v, len > 4 ? 4 : len);
}

static void pci_pio_addr(void *opaque, uint64_t off, void *data, unsigned int len, bool is_write)
{
	pci_config_io(opaque, PCI_CONFIG_ADDRESS + off, data, len, is_write);
}

static void pci_pio_data(void *opaque, uint64_t off, void *data, unsigned int len, bool is_write)
{
	pci_config_io(opaque, PCI_CONFIG_DATA + off, data, len, is_write);
}

static void pci_fill_config(struct pci_device *d)
{
	memset(d->config, 0, sizeof(d->config));
	cfg_put(d, PCI_VENDOR_ID, 2, d->vendor_id);
	cfg_put(d, PCI_VENDOR_ID + 2, 2, d->device_id);
	cfg_put(d, PCI_REVISION, 4, d->revision | (d->class_code << 8));
	d->config[PCI_HEADER_TYPE] = 0;
	cfg_put(d, PCI_SUBSYSTEM, 2, d->subsystem_vendor_id);
	cfg_put(d, PCI_SUBSYSTEM + 2, 2, d->subsystem_id);
	d->config[PCI_INTERRUPT_PIN] = d->irq_pin;
	d->config[PCI_INTERRUPT_LINE] = d->irq_pin ? (uint8_t)d->gsi : 0xff;
	for (unsigned int i = 0; i < PCI_NUM_BARS; i++) {
		const struct pci_bar *b = &d->bars[i];
		uint32_t flags = b->io ? 1u : (b->prefetchable ? 8u : 0u);

		if (b->size)
			cfg_put(d, PCI_BAR0 + 4 * i, 4, (uint32_t)b->addr | flags);
	}
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* Function 0 says whether the slot holds more functions; Linux and
 * firmware look at functions 1-7 only when it does. */
static void pci_update_multi_fn(struct pci_bus *bus, unsigned int slot)
{
	struct pci_device *f0 = bus->devs[slot][0];
	bool multi = false;

	for (unsigned int fn = 1; fn < PCI_FUNCS; fn++)
		multi |= bus->devs[slot][fn] != NULL;
	if (f0)
		f0->config[PCI_HEADER_TYPE] = multi ? PCI_HEADER_MULTI_FN : 0;
}

int pci_register(struct pci_bus *bus, struct pci_device *d)
{
	unsigned int slot;

	for (slot = 0; slot < PCI_SLOTS; slot++) {
		bool used = false;

		for (unsigned int fn = 0; fn < PCI_FUNCS; fn++)
			used |= bus->devs[slot][fn] != NULL;
		if (!used)
			return pci_register_at(bus, d, slot, 0);
	}
	return -ENOSPC;
}

int pci_register_at(struct pci_bus *bus, struct pci_device *d, unsigned int slot, unsigned int fn)
{
	uint64_t io = bus->next_io, mem = bus->next_mem;

	if (slot >= PCI_SLOTS || fn >= PCI_FUNCS)
		return -EINVAL;
	if (bus->devs[slot][fn])
		return -EBUSY;
	/* Assign BARs the way firmware does, naturally aligned. */
	for (unsigned int i = 0; i < PCI_NUM_BARS; i++) {
		struct pci_bar *b = &d->bars[i];

		if (!b->size)
			continue;
		if (b->size & (b->size - 1) || (b->io && b->size < 4) || (!b->io && b->size < 16))
			return -EINVAL;
		if (b->io) {
			b->addr = align_up(io, b->size);
			io = b->addr + b->size;
			if (io > PCI_IO_WINDOW_END)
				return -ENOSPC;
		} else {
			b->addr = align_up(mem, b->size);
			mem = b->addr + b->size;
			if (mem > VM_PCI_MMIO32_END)
				return -ENOSPC;
		}
		b->mapped = false;
	}
	bus->next_io = io;
	bus->next_mem = mem;
	d->bus = bus;
	d->slot = slot;
	d->fn = fn;
	d->gsi = d->irq_pin ? acpi_pci_intx_gsi(slot, d->irq_pin - 1) : 0;
	pci_fill_config(d);
	/* Firmware leaves devices decoding; Linux keeps what it finds.  When
	 * the guest's own firmware assigns BARs, devices come out of reset
	 * not decoding, so its sizing and moves never collide. */
	cfg_put(d, PCI_COMMAND, 2, bus->firmware_assigns ? 0 : CMD_IO | CMD_MEM);
	pthread_mutex_lock(&bus->lock);
	bus->devs[slot][fn] = d;
	pci_update_multi_fn(bus, slot);
	pci_update_mappings(d);
	pthread_mutex_unlock(&bus->lock);
	return 0;
}

void pci_bus_set_firmware_assigns(struct pci_bus *bus)
{
	bus->firmware_assigns = true;
}

void pci_set_irq(struct pci_device *d, int level)
{
	if (!d->irq_pin || !d->bus->vm)
		return;
	if (cfg_get(d, PCI_COMMAND, 2) & CMD_INTX_DISABLE)
		level = 0;
	vm_set_irq(d->bus->vm, d->gsi, level);
}

struct pci_bus *pci_bus_new_detached(void)
{
	struct pci_bus *bus = calloc(1, sizeof(*bus));

	if (!bus)
		return NULL;
	pthread_mutex_init(&bus->lock, NULL);
	bus->next_io = PCI_IO_WINDOW_BASE;
	bus->next_mem = VM_PCI_MMIO32_BASE;
	bus->host_bridge = (struct pci_device){
		.name = "host-bridge",
		/* The i440FX id Xen HVM guests have always seen as their host bridge. */
		.vendor_id = 0x8086, .device_id = 0x1237, .revision = 2,
		.class_code = 0x060000,
	};
	pci_register(bus, &bus->host_bridge);
	return bus;
}

int pci_bus_create(struct vm *vm, struct pci_bus **bus_r)
{
	struct pci_bus *bus = pci_bus_new_detached();
	int rc;

	if (!bus)
		return -ENOMEM;
	bus->vm = vm;
	rc = io_bus_register(&vm->pio, PCI_CONFIG_ADDRESS, 1, pci_pio_addr, bus, "pci-addr");
	if (!rc)
		rc = io_bus_register(&vm->pio, PCI_CONFIG_DATA, 4, pci_pio_data, bus, "pci-data");
	if (rc) {
		free(bus);
		return rc;
	}
	*bus_r = bus;
	return 0;
}

void pci_bus_destroy(struct pci_bus *bus)
{
	free(bus);
}
