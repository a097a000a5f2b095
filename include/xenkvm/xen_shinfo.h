/*
 * The shared_info page and per-vCPU vcpu_info (xen.h), in both layouts:
 * 64-bit guests use xen_ulong_t = 8 bytes, 32-bit guests 4, which moves
 * evtchn_pending_sel, evtchn_mask and the wallclock fields.  Also the
 * userspace pvclock (vcpu_time_info), wallclock and runstate areas for
 * when KVM does not maintain them itself.
 */
#ifndef XENKVM_XEN_SHINFO_H
#define XENKVM_XEN_SHINFO_H

#include <stdbool.h>
#include <stdint.h>

#include "xenkvm/xen_abi.h"

struct xen_domain;

/* vcpu_info field offsets (same 64-byte size in both layouts). */
#define XEN_VI_SIZE            64u
#define XEN_VI_UPCALL_PENDING  0u
#define XEN_VI_UPCALL_MASK     1u
#define XEN_VI_PENDING_SEL(lm) ((lm) ? 8u : 4u)
#define XEN_VI_TIME            32u
/* shared_info offsets */
#define XEN_SI_EVTCHN_PENDING  2048u
#define XEN_SI_EVTCHN_MASK(lm) ((lm) ? 2560u : 2176u)
#define XEN_SI_WC_VERSION(lm)  ((lm) ? 3072u : 2304u)
#define XEN_SI_WC_SEC_HI(lm)   ((lm) ? 3084u : 2340u)
#define XEN_LEGACY_VCPUS       32u

/* Atomic bit operations on guest-shared word arrays of the guest's word
 * size: the guest updates the same words concurrently from other vCPUs. */
static inline bool xen_test_bit(const void *words, unsigned int bit, bool lm)
{
	if (lm)
		return __atomic_load_n((const uint64_t *)words + bit / 64, __ATOMIC_SEQ_CST) >>
		       (bit % 64) & 1;
	return __atomic_load_n((const uint32_t *)words + bit / 32, __ATOMIC_SEQ_CST) >> (bit % 32) & 1;
}

static inline bool xen_test_and_set_bit(void *words, unsigned int bit, bool lm)
{
	if (lm) {
		uint64_t m = 1ull << (bit % 64);

		return __atomic_fetch_or((uint64_t *)words + bit / 64, m, __ATOMIC_SEQ_CST) & m;
	}
	uint32_t m = 1u << (bit % 32);

	return __atomic_fetch_or((uint32_t *)words + bit / 32, m, __ATOMIC_SEQ_CST) & m;
}

static inline bool xen_test_and_clear_bit(void *words, unsigned int bit, bool lm)
{
	if (lm) {
		uint64_t m = 1ull << (bit % 64);

		return __atomic_fetch_and((uint64_t *)words + bit / 64, ~m, __ATOMIC_SEQ_CST) & m;
	}
	uint32_t m = 1u << (bit % 32);

	return __atomic_fetch_and((uint32_t *)words + bit / 32, ~m, __ATOMIC_SEQ_CST) & m;
}

int shinfo_init(struct xen_domain *d);
void shinfo_fini(struct xen_domain *d);

/* XENMAPSPACE_shared_info: (re)place the page at gfn.  Lock held. */
int shinfo_map(struct xen_domain *d, uint64_t gfn);
/* vcpu_info of `vcpu`: registered, else inside shared_info (vCPU < 32),
 * else NULL. */
uint8_t *shinfo_vcpu_info(struct xen_domain *d, unsigned int vcpu);
void *shinfo_evtchn_pending(struct xen_domain *d);
void *shinfo_evtchn_mask(struct xen_domain *d);

/* VCPUOP_register_vcpu_info semantics (move, copy, force a rescan). */
int shinfo_register_vcpu_info(struct xen_domain *d, unsigned int vcpu, uint64_t gfn,
			      uint32_t offset);
/* VCPUOP_register_vcpu_time_memory_area / runstate area; gpa[1] is the
 * second page when the area straddles one (else XEN_INVALID_GPA). */
int shinfo_set_time_area(struct xen_domain *d, unsigned int vcpu, uint64_t gpa);
int shinfo_set_runstate_area(struct xen_domain *d, unsigned int vcpu, uint64_t gpa0,
			     uint64_t gpa1, uint32_t split);

void shinfo_update_wallclock(struct xen_domain *d);
void shinfo_update_time(struct xen_domain *d, unsigned int vcpu);
void shinfo_update_runstate(struct xen_domain *d, unsigned int vcpu);
/* The runstate record as the guest would read it, in its layout:
 * fills 48 (64-bit) or 44 (32-bit) bytes of buf, returns the size. */
unsigned int shinfo_runstate_record(struct xen_domain *d, unsigned int vcpu, uint8_t *buf);

/* pvclock scale for a TSC of `tsc_hz`: ns = ((delta << shift) * mul) >> 32
 * (right shift for negative shift).  0 or -EINVAL for 0 Hz. */
int pvclock_scale(uint64_t tsc_hz, uint32_t *mul_r, int8_t *shift_r);
uint64_t pvclock_delta_ns(uint64_t delta, uint32_t mul, int8_t shift);

#endif
