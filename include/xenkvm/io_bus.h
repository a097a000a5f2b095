/*
 * Port-I/O and MMIO dispatch.  Devices register address ranges with a
 * handler; a vCPU exit looks the address up and calls it.  Lookups happen
 * on every exit, registrations almost never, so the table is a sorted array
 * read under a rwlock.
 */
#ifndef XENKVM_IO_BUS_H
#define XENKVM_IO_BUS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* `offset` is relative to the registered base; `len` is 1, 2, 4 or 8. */
typedef void io_handler_fn(void *opaque, uint64_t offset, void *data, unsigned int len, bool is_write);

struct io_range {
	uint64_t base;
	uint64_t len;
	io_handler_fn *fn;
	void *opaque;
	const char *name;
};

struct io_bus {
	const char *name;
	pthread_rwlock_t lock;
	struct io_range *ranges;   /* sorted by base, non-overlapping */
	unsigned int nr, cap;
	uint64_t unhandled;        /* accesses nobody claimed */
};

void io_bus_init(struct io_bus *bus, const char *name);
void io_bus_destroy(struct io_bus *bus);
/* 0, -EEXIST on overlap, -ENOMEM. */
int io_bus_register(struct io_bus *bus, uint64_t base, uint64_t len, io_handler_fn *fn,
		    void *opaque, const char *name);
int io_bus_unregister(struct io_bus *bus, uint64_t base);
/*
 * Returns true if a device handled the access.  Unclaimed reads read as
 * all-ones (an open bus, as on real hardware) and writes are dropped.
 */
bool io_bus_access(struct io_bus *bus, uint64_t addr, void *data, unsigned int len, bool is_write);

#endif
