/*
 * shared_info, vcpu_info placement, and the time/runstate records the guest
 * reads from memory.
 *
 * The shared_info page is xen-compat's own host page; the guest sees it
 * wherever it asked with XENMAPSPACE_shared_info (the VMM overlays it).
 * vcpu_info lives in the first 32 slots of that page until the guest
 * registers its own location in RAM.
 *
 * Seqlock protocol for everything the guest reads lock-free (pvclock,
 * wallclock, runstate): make the version odd, write, make it even, with
 * barriers between, so a reader that saw the same even version twice read a
 * consistent record.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xenkvm/log.h"
#include "xenkvm/xen_domain.h"
#include "xenkvm/xen_shinfo.h"

int shinfo_init(struct xen_domain *d)
{
	d->shinfo = aligned_alloc(GUEST_PAGE_SIZE, GUEST_PAGE_SIZE);
	if (!d->shinfo)
		return -ENOMEM;
	memset(d->shinfo, 0, GUEST_PAGE_SIZE);
	shinfo_update_wallclock(d);
	return 0;
}

void shinfo_fini(struct xen_domain *d)
{
	free(d->shinfo);
	d->shinfo = NULL;
}

int shinfo_map(struct xen_domain *d, uint64_t gfn)
{
	int rc;

	if (gfn > d->p.max_gfn)
		return -EINVAL;
	if (d->shinfo_gfn != XEN_INVALID_GFN && d->shinfo_gfn != gfn)
		d->vmm->map_page(d->opaque, d->shinfo_gfn, NULL);
	rc = d->vmm->map_page(d->opaque, gfn, d->shinfo);
	if (rc) {
		d->shinfo_gfn = XEN_INVALID_GFN;
		return rc;
	}
	d->shinfo_gfn = gfn;
	if (d->vmm->shared_info_set)
		d->vmm->shared_info_set(d->opaque, gfn);
	shinfo_update_wallclock(d);
	for (unsigned int i = 0; i < d->p.nr_vcpus; i++)
		shinfo_update_time(d, i);
	return 0;
}

uint8_t *shinfo_vcpu_info(struct xen_domain *d, unsigned int vcpu)
{
	const struct xen_vcpu *v;

	if (vcpu >= d->p.nr_vcpus)
		return NULL;
	v = &d->vcpus[vcpu];
	if (v->vcpu_info_gpa != XEN_INVALID_GPA)
		return xen_gpa_ptr(d, v->vcpu_info_gpa, XEN_VI_SIZE);
	if (vcpu < XEN_LEGACY_VCPUS)
		return d->shinfo + vcpu * XEN_VI_SIZE;
	return NULL;
}

void *shinfo_evtchn_pending(struct xen_domain *d)
{
	return d->shinfo + XEN_SI_EVTCHN_PENDING;
}

void *shinfo_evtchn_mask(struct xen_domain *d)
{
	return d->shinfo + XEN_SI_EVTCHN_MASK(d->long_mode);
}

int shinfo_register_vcpu_info(struct xen_domain *d, unsigned int vcpu, uint64_t gfn,
			      uint32_t offset)
{
	struct xen_vcpu *v = &d->vcpus[vcpu];
	uint8_t *old, *new;
	uint64_t gpa;

	if (offset > GUEST_PAGE_SIZE - XEN_VI_SIZE || gfn > (UINT64_MAX >> GUEST_PAGE_SHIFT))
		return -EINVAL;
	/* Xen allows one registration per vCPU. */
	if (v->vcpu_info_gpa != XEN_INVALID_GPA)
		return -EINVAL;
	/* The selector is updated with atomics: it must be naturally aligned. */
	if (offset & (XEN_WORD_BYTES(d->long_mode) - 1))
		return -ENXIO;
	gpa = gfn << GUEST_PAGE_SHIFT | offset;
	new = xen_gpa_ptr(d, gpa, XEN_VI_SIZE);
	if (!new)
		return -EINVAL;
	old = shinfo_vcpu_info(d, vcpu);
	if (old && old != new)
		memcpy(new, old, XEN_VI_SIZE);
	else if (!old)
		memset(new, 0, XEN_VI_SIZE);
	v->vcpu_info_gpa = gpa;
	if (d->vmm->vcpu_info_set)
		d->vmm->vcpu_info_set(d->opaque, vcpu, gpa);
	/* Events may have been raised in the old place after the guest last
	 * looked: make it scan every selector word once (spurious is fine). */
	if (d->long_mode)
		__atomic_store_n((uint64_t *)(new + XEN_VI_PENDING_SEL(true)), ~0ull, __ATOMIC_SEQ_CST);
	else
		__atomic_store_n((uint32_t *)(new + XEN_VI_PENDING_SEL(false)), ~0u, __ATOMIC_SEQ_CST);
	evtchn_mark_events_pending(d, vcpu);
	shinfo_update_time(d, vcpu);
	return 0;
}

int shinfo_set_time_area(struct xen_domain *d, unsigned int vcpu, uint64_t gpa)
{
	struct xen_vcpu *v = &d->vcpus[vcpu];

	if (gpa != XEN_INVALID_GPA && !xen_gpa_ptr(d, gpa, sizeof(struct vcpu_time_info)))
		return -EINVAL;
	v->time_gpa[0] = gpa;
	if (d->vmm->vcpu_time_info_set)
		d->vmm->vcpu_time_info_set(d->opaque, vcpu, gpa);
	shinfo_update_time(d, vcpu);
	return 0;
}

int shinfo_set_runstate_area(struct xen_domain *d, unsigned int vcpu, uint64_t gpa0,
			     uint64_t gpa1, uint32_t split)
{
	struct xen_vcpu *v = &d->vcpus[vcpu];
	uint32_t size = d->long_mode ? sizeof(struct vcpu_runstate_info)
				     : sizeof(struct compat_runstate_info);

	if (gpa0 != XEN_INVALID_GPA) {
		if (split > size || !split || !xen_gpa_ptr(d, gpa0, split))
			return -EFAULT;
		if (split < size && !xen_gpa_ptr(d, gpa1, size - split))
			return -EFAULT;
	}
	v->runstate_gpa[0] = gpa0;
	v->runstate_gpa[1] = split < size ? gpa1 : XEN_INVALID_GPA;
	v->runstate_split = split;
	if (d->vmm->runstate_set)
		d->vmm->runstate_set(d->opaque, vcpu, gpa0);
	shinfo_update_runstate(d, vcpu);
	return 0;
}

static uint64_t wall_now_ns(struct xen_domain *d)
{
	struct timespec ts;

	if (d->vmm->wall_ns)
		return d->vmm->wall_ns(d->opaque);
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void shinfo_update_wallclock(struct xen_domain *d)
{
	bool lm = d->long_mode;
	uint8_t *si = d->shinfo;
	uint32_t *ver = (uint32_t *)(si + XEN_SI_WC_VERSION(lm));
	/* wc_* is the wall time at system time 0 (domain start). */
	uint64_t boot = wall_now_ns(d) - d->vmm->now_ns(d->opaque);
	uint64_t sec = boot / 1000000000ull;
	uint32_t v = __atomic_load_n(ver, __ATOMIC_RELAXED);

	__atomic_store_n(ver, (v | 1) + ((v & 1) ? 2 : 0), __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	*(uint32_t *)(si + XEN_SI_WC_VERSION(lm) + 4) = (uint32_t)sec;
	*(uint32_t *)(si + XEN_SI_WC_VERSION(lm) + 8) = (uint32_t)(boot % 1000000000ull);
	*(uint32_t *)(si + XEN_SI_WC_SEC_HI(lm)) = (uint32_t)(sec >> 32);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	__atomic_store_n(ver, __atomic_load_n(ver, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
}

int pvclock_scale(uint64_t tsc_hz, uint32_t *mul_r, int8_t *shift_r)
{
	/* Pick the shift that brings the scaled frequency into (1 GHz, 2 GHz]:
	 * then mul = 1e9 * 2^32 / scaled fits in 32 bits with the most
	 * precision. */
	const uint64_t ns_per_s = 1000000000ull;
	unsigned __int128 scaled = tsc_hz; /* in units of 2^-32 Hz below */
	int shift = 0;

	if (!tsc_hz)
		return -EINVAL;
	scaled <<= 32;
	while (scaled > (unsigned __int128)(2 * ns_per_s) << 32) {
		scaled >>= 1;
		shift--;
	}
	while (scaled <= (unsigned __int128)ns_per_s << 32) {
		scaled <<= 1;
		shift++;
	}
	*mul_r = (uint32_t)(((unsigned __int128)ns_per_s << 64) / scaled);
	*shift_r = (int8_t)shift;
	return 0;
}

uint64_t pvclock_delta_ns(uint64_t delta, uint32_t mul, int8_t shift)
{
	if (shift < 0)
		delta >>= -shift;
	else
		delta <<= shift;
	return (uint64_t)(((unsigned __int128)delta * mul) >> 32);
}

static void write_time_info(uint8_t *p, const struct vcpu_time_info *t)
{
	uint32_t *ver = (uint32_t *)p;
	uint32_t v = __atomic_load_n(ver, __ATOMIC_RELAXED);

	__atomic_store_n(ver, (v | 1) + ((v & 1) ? 2 : 0), __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	memcpy(p + 4, (const uint8_t *)t + 4, sizeof(*t) - 4);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	__atomic_store_n(ver, __atomic_load_n(ver, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
}

void shinfo_update_time(struct xen_domain *d, unsigned int vcpu)
{
	struct vcpu_time_info t = { 0 };
	struct xen_vcpu *v;
	uint8_t *vi, *area;
	uint64_t tsc, ns;

	if (d->p.kernel_accel || vcpu >= d->p.nr_vcpus || !d->vmm->read_tsc || !d->p.tsc_khz)
		return;
	if (pvclock_scale(d->p.tsc_khz * 1000, &t.tsc_to_system_mul, &t.tsc_shift))
		return;
	if (d->vmm->read_tsc(d->opaque, vcpu, &tsc, &ns))
		return;
	t.tsc_timestamp = tsc;
	t.system_time = ns;
	v = &d->vcpus[vcpu];
	vi = shinfo_vcpu_info(d, vcpu);
	if (vi)
		write_time_info(vi + XEN_VI_TIME, &t);
	if (v->time_gpa[0] != XEN_INVALID_GPA) {
		area = xen_gpa_ptr(d, v->time_gpa[0], sizeof(t));
		if (area)
			write_time_info(area, &t);
	}
}

unsigned int shinfo_runstate_record(struct xen_domain *d, unsigned int vcpu, uint8_t *buf)
{
	const struct xen_vcpu *v = &d->vcpus[vcpu];

	if (d->long_mode) {
		struct vcpu_runstate_info r = { .state = v->runstate_state,
						.state_entry_time = v->runstate_entry };

		memcpy(r.time, v->runstate_time, sizeof(r.time));
		memcpy(buf, &r, sizeof(r));
		return sizeof(r);
	}
	struct compat_runstate_info c = { .state = v->runstate_state,
					  .state_entry_time = v->runstate_entry };

	memcpy(c.time, v->runstate_time, sizeof(c.time));
	memcpy(buf, &c, sizeof(c));
	return sizeof(c);
}

/* Write bytes [off, off+len) of the runstate record into the (possibly
 * split) guest area. */
static void runstate_write(struct xen_domain *d, const struct xen_vcpu *v, const uint8_t *rec,
			   uint32_t off, uint32_t len)
{
	while (len) {
		bool first = off < v->runstate_split;
		uint32_t room = first ? v->runstate_split - off : len;
		uint32_t n = room < len ? room : len;
		uint64_t gpa = first ? v->runstate_gpa[0] + off
				     : v->runstate_gpa[1] + (off - v->runstate_split);
		uint8_t *p = (first || v->runstate_gpa[1] != XEN_INVALID_GPA) ? xen_gpa_ptr(d, gpa, n)
										: NULL;

		if (!p)
			return;
		memcpy(p, rec + off, n);
		off += n;
		len -= n;
	}
}

void shinfo_update_runstate(struct xen_domain *d, unsigned int vcpu)
{
	const struct xen_vcpu *v = &d->vcpus[vcpu];
	uint8_t rec[sizeof(struct vcpu_runstate_info)];
	/* state_entry_time follows state: offset 8 (64-bit) or 4 (32-bit). */
	uint32_t entry_off = d->long_mode ? 8 : 4, size;
	bool flag = d->vm_assist & (1u << VMASST_TYPE_runstate_update_flag);
	uint64_t entry;

	if (d->p.kernel_accel || v->runstate_gpa[0] == XEN_INVALID_GPA)
		return;
	size = shinfo_runstate_record(d, vcpu, rec);
	if (flag) {
		/* XEN_RUNSTATE_UPDATE tells a remote reader the record is in flux. */
		entry = v->runstate_entry | XEN_RUNSTATE_UPDATE;
		memcpy(rec + entry_off, &entry, 8);
		runstate_write(d, v, rec, entry_off, 8);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
	}
	runstate_write(d, v, rec, 0, entry_off);
	runstate_write(d, v, rec, entry_off + 8, size - entry_off - 8);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	entry = v->runstate_entry;
	memcpy(rec + entry_off, &entry, 8);
	runstate_write(d, v, rec, entry_off, 8);
}
