/*
 * The Xen CPUID leaves (xen/arch-x86/cpuid.h) a guest scans for at
 * 0x40000000 + n*0x100, and a helper to move KVM's own hypervisor leaves
 * out of their way (to 0x40000100) so a guest can see both.
 */
#ifndef XENKVM_XEN_CPUID_H
#define XENKVM_XEN_CPUID_H

#include <stdbool.h>
#include <stdint.h>

struct xen_domain;

#define XEN_CPUID_BASE      0x40000000u
#define XEN_CPUID_NR_LEAVES 5u           /* base+0 .. base+4 */
#define XEN_CPUID_KVM_BASE  0x40000100u  /* where KVM's leaves go instead */

struct xen_cpuid_entry {
	uint32_t function, index;
	bool indexed;     /* the leaf depends on ECX (KVM_CPUID_FLAG_SIGNIFCANT_INDEX) */
	uint32_t eax, ebx, ecx, edx;
};

/* Xen leaf `leaf` (sub-leaf `index`) as vCPU `vcpu` sees it with the Xen
 * leaves at `base`.  false if leaf is not one of them. */
bool xen_cpuid(struct xen_domain *d, unsigned int vcpu, uint32_t base, uint32_t leaf,
	       uint32_t index, struct xen_cpuid_entry *out);
/* Every Xen leaf for `vcpu` (each sub-leaf of the time leaf), for a
 * KVM_SET_CPUID2 table.  Returns how many were written (at most max). */
unsigned int xen_cpuid_leaves(struct xen_domain *d, unsigned int vcpu, uint32_t base,
			      struct xen_cpuid_entry *out, unsigned int max);
/* Rebase one of KVM's 0x400000xx leaves to new_base + n; leaf 0's EAX (max
 * leaf) moves with it.  false if the leaf is not in 0x40000000..0x400000ff. */
bool xen_cpuid_rebase_kvm_leaf(struct xen_cpuid_entry *l, uint32_t new_base);

#endif
