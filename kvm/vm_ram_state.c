/*
 * Guest RAM in the state stream: runs of non-zero pages.  A restored VM's
 * RAM starts zeroed, so the pages a guest never touched (and those its
 * balloon gave back) cost nothing.
 */
#include <errno.h>
#include <string.h>

#include "xenkvm/guest_mem.h"
#include "xenkvm/vm.h"
#include "xenkvm/vm_state.h"

#define RUN_HDR (8u + 4u)

static bool page_is_zero(const uint8_t *p)
{
	const uint64_t *q = (const uint64_t *)p;

	for (size_t i = 0; i < GUEST_PAGE_SIZE / sizeof(*q); i++)
		if (q[i])
			return false;
	return true;
}

/* Host offset of guest physical `gpa` when [gpa, gpa+len) is inside one
 * RAM region, else -1. */
static int64_t ram_offset(const struct vm_ram_layout *l, uint64_t gpa, uint64_t len)
{
	uint64_t high = l->ram_size - l->lowmem_size;

	if (gpa < l->lowmem_size && len <= l->lowmem_size - gpa)
		return (int64_t)gpa;
	if (gpa >= VM_HIGHMEM_BASE && gpa - VM_HIGHMEM_BASE < high &&
	    len <= high - (gpa - VM_HIGHMEM_BASE))
		return (int64_t)(l->lowmem_size + (gpa - VM_HIGHMEM_BASE));
	return -1;
}

struct ram_writer {
	struct state_writer *w;
	size_t section_bytes;     /* payload of the open section; 0: none open */
};

static int put_run(struct ram_writer *rw, uint64_t gpa, const uint8_t *p, uint64_t pages)
{
	int rc;

	while (pages) {
		uint64_t room, n;

		if (rw->section_bytes + RUN_HDR + GUEST_PAGE_SIZE > VM_RAM_SECTION_BYTES) {
			rc = state_section_end(rw->w);
			if (rc)
				return rc;
			rw->section_bytes = 0;
		}
		if (!rw->section_bytes) {
			rc = state_section_begin(rw->w, VM_STATE_RAM, VM_STATE_RAM_VERSION);
			if (rc)
				return rc;
		}
		room = (VM_RAM_SECTION_BYTES - rw->section_bytes - RUN_HDR) / GUEST_PAGE_SIZE;
		n = pages < room ? pages : room;
		state_put_u64(rw->w, gpa);
		state_put_u32(rw->w, (uint32_t)n);
		state_put_bytes(rw->w, p, n * GUEST_PAGE_SIZE);
		rw->section_bytes += RUN_HDR + n * GUEST_PAGE_SIZE;
		gpa += n * GUEST_PAGE_SIZE;
		p += n * GUEST_PAGE_SIZE;
		pages -= n;
	}
	return 0;
}

static int save_region(struct ram_writer *rw, uint64_t gpa, const uint8_t *p, uint64_t size)
{
	uint64_t pages = size / GUEST_PAGE_SIZE, i = 0;

	while (i < pages) {
		uint64_t start;
		int rc;

		while (i < pages && page_is_zero(p + i * GUEST_PAGE_SIZE))
			i++;
		start = i;
		while (i < pages && !page_is_zero(p + i * GUEST_PAGE_SIZE))
			i++;
		if (i > start) {
			rc = put_run(rw, gpa + start * GUEST_PAGE_SIZE, p + start * GUEST_PAGE_SIZE,
				     i - start);
			if (rc)
				return rc;
		}
	}
	return 0;
}

int vm_ram_state_save(const struct vm_ram_layout *l, struct state_writer *w)
{
	struct ram_writer rw = { .w = w };
	int rc;

	if ((l->ram_size | l->lowmem_size) & (GUEST_PAGE_SIZE - 1) || l->lowmem_size > l->ram_size) {
		state_writer_fail(w, EINVAL, "RAM layout %#llx/%#llx is not page-aligned",
				  (unsigned long long)l->ram_size, (unsigned long long)l->lowmem_size);
		return -EINVAL;
	}
	rc = save_region(&rw, 0, l->ram, l->lowmem_size);
	if (!rc)
		rc = save_region(&rw, VM_HIGHMEM_BASE, l->ram + l->lowmem_size,
				 l->ram_size - l->lowmem_size);
	/* An all-zero guest still gets one (empty) section: the loader
	 * requires the id, and "no pages" is then said, not implied. */
	if (!rc && !rw.section_bytes)
		rc = state_section_begin(w, VM_STATE_RAM, VM_STATE_RAM_VERSION);
	if (!rc)
		rc = state_section_end(w);
	return rc;
}

int vm_ram_state_load(const struct vm_ram_layout *l, struct state_section *s)
{
	while (s->pos < s->len && !state_section_failed(s)) {
		uint64_t gpa;
		uint32_t pages;
		int64_t off;

		if (!state_get_u64(s, &gpa) || !state_get_u32(s, &pages))
			break;
		if (!pages || gpa & (GUEST_PAGE_SIZE - 1)) {
			state_section_fail(s, EINVAL, "RAM run at %#llx of %u pages is empty or unaligned",
					   (unsigned long long)gpa, pages);
			break;
		}
		off = ram_offset(l, gpa, (uint64_t)pages * GUEST_PAGE_SIZE);
		if (off < 0) {
			state_section_fail(s, ERANGE, "RAM run at %#llx of %u pages is outside guest RAM",
					   (unsigned long long)gpa, pages);
			break;
		}
		state_get_bytes(s, l->ram + off, (size_t)pages * GUEST_PAGE_SIZE);
	}
	return state_section_failed(s) ? -EBADMSG : 0;
}
