/* Xen CPUID leaves: signature, version, hypercall page MSR, TSC, HVM features. */
#include <string.h>

#include "xenkvm/hypercall_page.h"
#include "xenkvm/xen_cpuid.h"
#include "xenkvm/xen_domain.h"
#include "xenkvm/xen_shinfo.h"

#include <xen/arch-x86/cpuid.h>

/* Time leaf (base+3) sub-leaf 0, EAX bit 1: "host tsc is known to be reliable". */
#define XEN_TSC_RELIABLE   (1u << 1)
#define XEN_TSC_MODE_NEVER_EMULATE 2u

bool xen_cpuid(struct xen_domain *d, unsigned int vcpu, uint32_t base, uint32_t leaf,
	       uint32_t index, struct xen_cpuid_entry *out)
{
	uint32_t mul = 0;
	int8_t shift = 0;

	if (leaf < base || leaf - base >= XEN_CPUID_NR_LEAVES)
		return false;
	*out = (struct xen_cpuid_entry){ .function = leaf, .index = index };
	switch (leaf - base) {
	case 0:
		out->eax = base + XEN_CPUID_NR_LEAVES - 1;
		out->ebx = XEN_CPUID_SIGNATURE_EBX;
		out->ecx = XEN_CPUID_SIGNATURE_ECX;
		out->edx = XEN_CPUID_SIGNATURE_EDX;
		break;
	case 1:
		out->eax = d->p.xen_version;
		break;
	case 2:
		out->eax = 1; /* hypercall pages: FreeBSD insists on exactly one */
		out->ebx = XEN_HYPERCALL_MSR;
		break;
	case 3:
		/* KVM fills this itself when it handles Xen; these are the
		 * values for the userspace path: a fixed-rate, unemulated TSC. */
		out->indexed = true;
		if (d->p.tsc_khz)
			pvclock_scale(d->p.tsc_khz * 1000, &mul, &shift);
		if (index == 0) {
			out->eax = XEN_TSC_RELIABLE;
			out->ebx = XEN_TSC_MODE_NEVER_EMULATE;
			out->ecx = (uint32_t)d->p.tsc_khz;
		} else if (index == 1) {
			out->ecx = mul;
			out->edx = (uint32_t)(int32_t)shift;
		} else if (index == 2) {
			out->eax = (uint32_t)d->p.tsc_khz;
		}
		break;
	case 4:
		out->indexed = true;
		if (index == 0) {
			out->eax = XEN_HVM_CPUID_VCPU_ID_PRESENT | XEN_HVM_CPUID_DOMID_PRESENT |
				   XEN_HVM_CPUID_UPCALL_VECTOR;
			out->ebx = vcpu;
			out->ecx = d->p.domid;
		}
		break;
	}
	return true;
}

unsigned int xen_cpuid_leaves(struct xen_domain *d, unsigned int vcpu, uint32_t base,
			      struct xen_cpuid_entry *out, unsigned int max)
{
	static const struct { uint32_t leaf, index; } order[] = {
		{ 0, 0 }, { 1, 0 }, { 2, 0 }, { 3, 0 }, { 3, 1 }, { 3, 2 }, { 4, 0 },
	};
	unsigned int n = 0;

	for (unsigned int i = 0; i < sizeof(order) / sizeof(order[0]) && n < max; i++)
		if (xen_cpuid(d, vcpu, base, base + order[i].leaf, order[i].index, &out[n]))
			n++;
	return n;
}

bool xen_cpuid_rebase_kvm_leaf(struct xen_cpuid_entry *l, uint32_t new_base)
{
	uint32_t off;

	if (l->function < XEN_CPUID_BASE || l->function - XEN_CPUID_BASE > 0xff)
		return false;
	off = l->function - XEN_CPUID_BASE;
	l->function = new_base + off;
	if (off == 0 && l->eax >= XEN_CPUID_BASE && l->eax - XEN_CPUID_BASE <= 0xff)
		l->eax = new_base + (l->eax - XEN_CPUID_BASE);
	return true;
}
