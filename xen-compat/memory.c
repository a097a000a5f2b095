/*
 * memory_op: placing shared_info and grant frames (XENMEM_add_to_physmap),
 * reservation queries, and the balloon.
 *
 * A decrease_reservation gives RAM back to the host for real: the VMM drops
 * the frames' backing (xen_vmm_ops.ram_discard) and they are counted out of
 * the domain until populate_physmap/increase_reservation hands them back,
 * which needs no work here because touching a dropped frame gives the guest
 * a zeroed one.  Only frames that are RAM can be given back or repopulated:
 * Linux's balloon never names anything else, and a decrease that stops short
 * is a BUG() in Linux, so a frontend that gets one was not Linux.
 */
#include <errno.h>
#include <string.h>
#include <stdlib.h>

#include "xenkvm/gnttab.h"
#include "xenkvm/hypercall.h"
#include "xenkvm/log.h"
#include "xenkvm/xen_domain.h"
#include "xenkvm/xen_guest_access.h"
#include "xenkvm/xen_handlers.h"
#include "xenkvm/xen_shinfo.h"

/* memory_op keeps a continuation's start extent above the low 6 bits. */
#define MEMOP_CMD_BITS 6
#define MEMOP_CMD_MASK ((1u << MEMOP_CMD_BITS) - 1)
#define MAX_EXTENT_ORDER 18
/* 64 GiB: every x86-64 CPU addresses at least 36 physical bits. */
#define XEN_MAX_OVERLAY_GFN ((1ull << (36 - 12)) - 1)
/* Tools-only in the public header, but a guest may still issue them. */
#define XENMEM_SHARING_FREED_PAGES 18
#define XENMEM_SHARING_SHARED_PAGES 19

static int check_domid(const struct xen_domain *d, domid_t dom)
{
	if (dom == DOMID_SELF || dom == d->p.domid)
		return 0;
	return dom == 0 ? -EPERM : -ESRCH;
}

/* A page moving to gfn replaces whatever overlay was there (Xen frees the
 * old page at that gfn). */
static void overlay_evict(struct xen_domain *d, uint64_t gfn)
{
	if (d->shinfo_gfn == gfn)
		d->shinfo_gfn = XEN_INVALID_GFN;
	for (uint32_t i = 0; i < d->gnttab.nr_frames; i++)
		if (d->gnttab.frames[i].gfn == gfn)
			d->gnttab.frames[i].gfn = XEN_INVALID_GFN;
}

static int add_to_physmap(struct xen_domain *d, domid_t dom, uint32_t space, uint64_t idx,
			  uint64_t gfn)
{
	int rc = check_domid(d, dom);

	if (rc)
		return rc;
	/* Above RAM too: a PVH guest has no platform device BAR and maps its
	 * grant frames into unpopulated guest-physical space of its choosing. */
	if (gfn > XEN_MAX_OVERLAY_GFN) {
		pr_warn_rl("add_to_physmap: space %u idx %llu to gfn %#llx: beyond the guest-physical space",
			   space, (unsigned long long)idx, (unsigned long long)gfn);
		return -EINVAL;
	}
	switch (space) {
	case XENMAPSPACE_shared_info:
		if (idx != 0)
			return -EINVAL;
		if (d->shinfo_gfn != gfn)
			overlay_evict(d, gfn);
		return shinfo_map(d, gfn);
	case XENMAPSPACE_grant_table:
		/* Status frames only exist in grant table v2. */
		if (idx & XENMAPIDX_grant_table_status || idx >= d->gnttab.max_frames) {
			pr_warn_rl("add_to_physmap: grant frame %#llx of %u refused",
				   (unsigned long long)idx, d->gnttab.max_frames);
			return -EINVAL;
		}
		if (d->gnttab.nr_frames <= idx || d->gnttab.frames[idx].gfn != gfn)
			overlay_evict(d, gfn);
		return gnttab_frame_map(d, (uint32_t)idx, gfn);
	default:
		pr_warn_rl("add_to_physmap space %u not supported\n", space);
		return -ENOSYS;
	}
}

/* XENMEM_memory_map: the e820 map, as Xen gives it to HVM and PVH guests
 * (Linux's PVH boot asks when its start info has no map).  In: how many
 * 20-byte entries the buffer holds; out: how many were written. */
static long memory_map(struct xen_domain *d, struct xen_hcall *hc, uint64_t arg)
{
	uint32_t want;
	uint64_t buf;
	unsigned int n;

	if (!d->nr_memmap)
		return -ENOSYS;
	if (hc->longmode) {
		struct xen_memory_map m;

		if (xen_copy_from_guest(d, hc, &m, arg, sizeof(m)))
			return -EFAULT;
		want = m.nr_entries;
		buf = (uint64_t)(uintptr_t)m.buffer.p;
	} else {
		uint32_t m[2];   /* nr_entries, 32-bit buffer handle */

		if (xen_copy_from_guest(d, hc, m, arg, sizeof(m)))
			return -EFAULT;
		want = m[0];
		buf = m[1];
	}
	n = want < d->nr_memmap ? want : d->nr_memmap;
	for (unsigned int i = 0; i < n; i++) {
		uint8_t e[20];

		memcpy(e, &d->memmap[i].addr, 8);
		memcpy(e + 8, &d->memmap[i].size, 8);
		memcpy(e + 16, &d->memmap[i].type, 4);
		if (xen_copy_to_guest(d, hc, buf + i * sizeof(e), e, sizeof(e)))
			return -EFAULT;
	}
	return xen_copy_to_guest(d, hc, arg, &n, sizeof(uint32_t)) ? -EFAULT : 0;
}

/* Reads extent i of a guest xen_pfn_t array. */
static int read_extent(struct xen_domain *d, struct xen_hcall *hc, uint64_t base, uint64_t i,
		       uint64_t *gfn_r)
{
	unsigned int sz = XEN_WORD_BYTES(hc->longmode);
	uint64_t v = 0;

	if (xen_copy_from_guest(d, hc, &v, base + i * sz, sz))
		return -EFAULT;
	*gfn_r = v;
	return 0;
}

/*
 * Xen preempts a long reservation op and resumes it at the extent it reached
 * (the start extent above MEMOP_CMD_BITS).  We have no continuations, so one
 * call stops once it has covered this many pages (4 GiB) and returns how far
 * it got, which the ABI allows; Linux's balloon passes at most a page of
 * frame numbers.
 */
#define MAX_PAGES_PER_CALL (1ull << 20)

static bool balloon_test(const struct xen_domain *d, uint64_t gfn)
{
	return d->balloon_map && (d->balloon_map[gfn / 64] >> (gfn % 64) & 1);
}

/* Marks [gfn, gfn+n) given back (out) or repopulated; keeps nr_ballooned. */
static void balloon_mark(struct xen_domain *d, uint64_t gfn, uint64_t n, bool out)
{
	for (uint64_t g = gfn; g < gfn + n; g++) {
		uint64_t bit = 1ull << (g % 64);

		if (balloon_test(d, g) == out)
			continue;
		d->balloon_map[g / 64] ^= bit;
		d->nr_ballooned += out ? 1 : -1ull;
	}
}

/* Frames handed to ram_discard in one call when the guest names them in a
 * row (Linux frees its balloon pages in runs). */
struct discard_run {
	uint64_t gpa, len;
};

static void discard_flush(struct xen_domain *d, struct discard_run *run)
{
	if (run->len && d->vmm->ram_discard)
		d->vmm->ram_discard(d->opaque, run->gpa, run->len);
	run->len = 0;
}

static void discard_add(struct xen_domain *d, struct discard_run *run, uint64_t gpa, uint64_t len)
{
	if (run->len) {
		uint64_t lo = gpa < run->gpa ? gpa : run->gpa;

		if ((gpa + len == run->gpa || run->gpa + run->len == gpa) &&
		    guest_mem_ptr(d->mem, lo, run->len + len)) {
			run->gpa = lo;
			run->len += len;
			return;
		}
		discard_flush(d, run);
	}
	*run = (struct discard_run){ gpa, len };
}

static long reservation_op(struct xen_domain *d, struct xen_hcall *hc, unsigned int op,
			   uint64_t start, uint64_t arg)
{
	struct discard_run run = { 0, 0 };
	uint64_t extents, nr, order, done, budget = MAX_PAGES_PER_CALL;
	domid_t dom;
	int rc;

	if (hc->longmode) {
		struct xen_memory_reservation r;

		if (xen_copy_from_guest(d, hc, &r, arg, sizeof(r)))
			return -EFAULT;
		extents = (uint64_t)(uintptr_t)r.extent_start.p;
		nr = r.nr_extents;
		order = r.extent_order;
		dom = r.domid;
	} else {
		struct compat_memory_reservation r;

		if (xen_copy_from_guest(d, hc, &r, arg, sizeof(r)))
			return -EFAULT;
		extents = r.extent_start;
		nr = r.nr_extents;
		order = r.extent_order;
		dom = r.domid;
	}
	rc = check_domid(d, dom);
	if (rc)
		return rc;
	if (order > MAX_EXTENT_ORDER || nr > (1ull << 30))
		return -EINVAL;
	if (start >= nr)
		return (long)start;
	if (op == XENMEM_decrease_reservation && !d->balloon_map) {
		d->balloon_map = calloc(d->p.max_gfn / 64 + 1, sizeof(uint64_t));
		if (!d->balloon_map)
			return -ENOMEM;
	}
	/* Stop at the first extent that is not wholly RAM, as Xen stops at the
	 * first it cannot do. */
	for (done = start; done < nr; done++) {
		uint64_t gfn, pages = 1ull << order;

		if (pages > budget)
			break;
		budget -= pages;
		if (read_extent(d, hc, extents, done, &gfn))
			break;
		if (gfn & (pages - 1) || gfn > d->p.max_gfn || d->p.max_gfn - gfn < pages - 1 ||
		    !guest_mem_ptr(d->mem, gfn << GUEST_PAGE_SHIFT, pages << GUEST_PAGE_SHIFT))
			break;
		if (op == XENMEM_decrease_reservation) {
			balloon_mark(d, gfn, pages, true);
			discard_add(d, &run, gfn << GUEST_PAGE_SHIFT, pages << GUEST_PAGE_SHIFT);
		} else if (d->balloon_map) {
			balloon_mark(d, gfn, pages, false);
		}
	}
	discard_flush(d, &run);
	return (long)done;
}

/* The VMM's RAM regions and ram_pages agree; if they did not, never wrap. */
static uint64_t held_pages(const struct xen_domain *d)
{
	return d->nr_ballooned < d->p.ram_pages ? d->p.ram_pages - d->nr_ballooned : 0;
}

uint64_t xen_domain_tot_pages(struct xen_domain *d)
{
	uint64_t n;

	pthread_mutex_lock(&d->lock);
	n = held_pages(d);
	pthread_mutex_unlock(&d->lock);
	return n;
}

long xen_memory_op_hcall(struct xen_domain *d, struct xen_hcall *hc)
{
	unsigned int op = (unsigned int)(hc->args[0] & MEMOP_CMD_MASK);
	uint64_t arg = hc->args[1];
	int rc;

	switch (op) {
	case XENMEM_add_to_physmap:
		if (hc->longmode) {
			struct xen_add_to_physmap x;

			if (xen_copy_from_guest(d, hc, &x, arg, sizeof(x)))
				return -EFAULT;
			return add_to_physmap(d, x.domid, x.space, x.idx, x.gpfn);
		} else {
			struct compat_add_to_physmap x;

			if (xen_copy_from_guest(d, hc, &x, arg, sizeof(x)))
				return -EFAULT;
			return add_to_physmap(d, x.domid, x.space, x.idx, x.gpfn);
		}
	case XENMEM_increase_reservation:
	case XENMEM_decrease_reservation:
	case XENMEM_populate_physmap:
		return reservation_op(d, hc, op, hc->args[0] >> MEMOP_CMD_BITS, arg);
	case XENMEM_current_reservation:
	case XENMEM_maximum_reservation:
	case XENMEM_maximum_gpfn: {
		domid_t dom;

		if (xen_copy_from_guest(d, hc, &dom, arg, sizeof(dom)))
			return -EFAULT;
		rc = check_domid(d, dom);
		if (rc)
			return rc;
		if (op == XENMEM_maximum_gpfn)
			return (long)d->p.max_gfn;
		if (op == XENMEM_current_reservation)
			return (long)held_pages(d);
		return (long)d->p.ram_pages;
	}
	case XENMEM_maximum_ram_page:
		return (long)(d->p.max_gfn + 1);
	case XENMEM_memory_map:
		return memory_map(d, hc, arg);
	case XENMEM_add_to_physmap_batch: /* ARM and PVH dom0 only in Linux */
	case XENMEM_exchange:
	case XENMEM_SHARING_FREED_PAGES:
	case XENMEM_SHARING_SHARED_PAGES:
		return -ENOSYS;
	case XENMEM_set_pod_target:
	case XENMEM_get_pod_target:
	case XENMEM_set_memory_map:
	case XENMEM_machine_memory_map:
		return -EPERM; /* privileged */
	default:
		return xen_hcall_unknown_subop(d, hc, op);
	}
}
