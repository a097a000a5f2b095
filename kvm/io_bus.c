#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xenkvm/io_bus.h"

void io_bus_init(struct io_bus *bus, const char *name)
{
	memset(bus, 0, sizeof(*bus));
	bus->name = name;
	pthread_rwlock_init(&bus->lock, NULL);
}

void io_bus_destroy(struct io_bus *bus)
{
	free(bus->ranges);
	bus->ranges = NULL;
	bus->nr = bus->cap = 0;
	pthread_rwlock_destroy(&bus->lock);
}

/* Index of the first range whose end is above addr. */
static unsigned int io_bus_search(const struct io_bus *bus, uint64_t addr)
{
	unsigned int lo = 0, hi = bus->nr;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;
		const struct io_range *r = &bus->ranges[mid];

		if (addr - r->base < r->len || addr < r->base)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

int io_bus_register(struct io_bus *bus, uint64_t base, uint64_t len, io_handler_fn *fn,
		    void *opaque, const char *name)
{
	unsigned int i;
	int rc = 0;

	if (!len || base + len - 1 < base)
		return -EINVAL;
	pthread_rwlock_wrlock(&bus->lock);
	i = io_bus_search(bus, base);
	if (i < bus->nr && bus->ranges[i].base <= base + len - 1) {
		rc = -EEXIST;
		goto out;
	}
	if (bus->nr == bus->cap) {
		unsigned int cap = bus->cap ? bus->cap * 2 : 16;
		struct io_range *n = realloc(bus->ranges, cap * sizeof(*n));

		if (!n) {
			rc = -ENOMEM;
			goto out;
		}
		bus->ranges = n;
		bus->cap = cap;
	}
	memmove(&bus->ranges[i + 1], &bus->ranges[i], (bus->nr - i) * sizeof(*bus->ranges));
	bus->ranges[i] = (struct io_range){ base, len, fn, opaque, name };
	bus->nr++;
out:
	pthread_rwlock_unlock(&bus->lock);
	return rc;
}

int io_bus_unregister(struct io_bus *bus, uint64_t base)
{
	unsigned int i;
	int rc = -ENOENT;

	pthread_rwlock_wrlock(&bus->lock);
	i = io_bus_search(bus, base);
	if (i < bus->nr && bus->ranges[i].base == base) {
		memmove(&bus->ranges[i], &bus->ranges[i + 1], (bus->nr - i - 1) * sizeof(*bus->ranges));
		bus->nr--;
		rc = 0;
	}
	pthread_rwlock_unlock(&bus->lock);
	return rc;
}

bool io_bus_access(struct io_bus *bus, uint64_t addr, void *data, unsigned int len, bool is_write)
{
	struct io_range r;
	unsigned int i;
	bool found = false;

	pthread_rwlock_rdlock(&bus->lock);
	i = io_bus_search(bus, addr);
	if (i < bus->nr && addr >= bus->ranges[i].base && addr - bus->ranges[i].base < bus->ranges[i].len) {
		r = bus->ranges[i];
		found = true;
	}
	pthread_rwlock_unlock(&bus->lock);

	if (!found) {
		__atomic_fetch_add(&bus->unhandled, 1, __ATOMIC_RELAXED);
		if (!is_write)
			memset(data, 0xff, len);
		return false;
	}
	/* Handlers run unlocked: a handler may itself remap ranges (PCI BARs). */
	r.fn(r.opaque, addr - r.base, data, len, is_write);
	return true;
}
