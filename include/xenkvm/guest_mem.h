/*
 * Guest physical memory as the VMM maps it: a short table of RAM regions,
 * each backed by host memory.  Pure bookkeeping (no KVM calls), so that
 * xen-compat/ and the backends can be unit-tested on a malloc'd "guest".
 * Every access checks the whole range lies inside one region: guest
 * addresses are guest-controlled.
 */
#ifndef XENKVM_GUEST_MEM_H
#define XENKVM_GUEST_MEM_H

#include <stddef.h>
#include <stdint.h>

#define GUEST_MEM_MAX_REGIONS 8
#define GUEST_PAGE_SHIFT 12
#define GUEST_PAGE_SIZE  (1ull << GUEST_PAGE_SHIFT)

struct guest_mem_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *hva;
};

struct guest_mem {
	struct guest_mem_region regions[GUEST_MEM_MAX_REGIONS];
	unsigned int nr_regions;
};

/* 0, or -ENOSPC / -EINVAL (overlap, unaligned). */
int guest_mem_add(struct guest_mem *gm, uint64_t gpa, uint64_t size, void *hva);
/* Host pointer to [gpa, gpa+len) if it lies wholly in one region, else NULL. */
void *guest_mem_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len);
/* 0 or -EFAULT. */
int guest_mem_read(const struct guest_mem *gm, uint64_t gpa, void *dst, size_t len);
int guest_mem_write(const struct guest_mem *gm, uint64_t gpa, const void *src, size_t len);

#endif
