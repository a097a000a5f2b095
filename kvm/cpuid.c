#include <stddef.h>

#include "xenkvm/cpuid.h"

#define CPUID_1_ECX_HYPERVISOR   (1u << 31)
#define CPUID_1_EDX_HTT          (1u << 28)
#define CPUID_1_ECX_TSC_DEADLINE (1u << 24)
#define CPUID_80000001_ECX_TOPOEXT (1u << 22)
#define CPUID_80000001_ECX_CMPLEGACY (1u << 1)

/* Level types of leaves 0xB/0x1F. */
#define TOPO_LEVEL_SMT  1u
#define TOPO_LEVEL_CORE 2u

unsigned int cpuid_core_bits(unsigned int n)
{
	unsigned int bits = 0;

	while ((1u << bits) < n)
		bits++;
	return bits;
}

struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid_entry2 *entries, unsigned int nent,
				    uint32_t function, uint32_t index)
{
	for (unsigned int i = 0; i < nent; i++) {
		struct kvm_cpuid_entry2 *e = &entries[i];

		if (e->function != function)
			continue;
		if ((e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) && e->index != index)
			continue;
		return e;
	}
	return NULL;
}

/* Fills subleaf `index` of leaf 0xB. */
static void cpuid_topology_leaf(struct kvm_cpuid_entry2 *e, uint32_t index,
				unsigned int vcpu_id, unsigned int nr_vcpus)
{
	*e = (struct kvm_cpuid_entry2){
		.function = 0xb,
		.index = index,
		.flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
		.edx = vcpu_id,   /* x2APIC id, at every subleaf */
	};
	switch (index) {
	case 0:   /* SMT: one thread per core */
		e->ebx = 1;
		e->ecx = (TOPO_LEVEL_SMT << 8) | 0;
		break;
	case 1:   /* cores: every vCPU of the domain in one package */
		e->eax = cpuid_core_bits(nr_vcpus);
		e->ebx = nr_vcpus;
		e->ecx = (TOPO_LEVEL_CORE << 8) | 1;
		break;
	default:  /* level type 0 ends the enumeration */
		e->ecx = index;
		break;
	}
}

unsigned int cpuid_adjust(struct kvm_cpuid_entry2 *entries, unsigned int nent, unsigned int max,
			  unsigned int vcpu_id, unsigned int nr_vcpus)
{
	unsigned int core_bits = cpuid_core_bits(nr_vcpus);
	struct kvm_cpuid_entry2 *leaf0 = cpuid_find(entries, nent, 0, 0);
	uint32_t max_basic = leaf0 ? leaf0->eax : 0;  /* read before entries move */
	unsigned int out = 0;

	/* The host's 0xB/0x1F subleaves describe the host: drop them all and
	 * describe our topology in 0xB; an absent 0x1F makes guests use 0xB. */
	for (unsigned int i = 0; i < nent; i++)
		if (entries[i].function != 0xb && entries[i].function != 0x1f)
			entries[out++] = entries[i];
	nent = out;
	if (max_basic >= 0xb && nent + 3 <= max)
		for (uint32_t sub = 0; sub < 3; sub++)
			cpuid_topology_leaf(&entries[nent++], sub, vcpu_id, nr_vcpus);

	for (unsigned int i = 0; i < nent; i++) {
		struct kvm_cpuid_entry2 *e = &entries[i];

		switch (e->function) {
		case 1:
			e->ebx = (e->ebx & 0x0000ffffu) | (vcpu_id << 24) |
				 ((nr_vcpus > 255 ? 255u : nr_vcpus) << 16);
			if (nr_vcpus > 1)
				e->edx |= CPUID_1_EDX_HTT;
			else
				e->edx &= ~CPUID_1_EDX_HTT;
			e->ecx |= CPUID_1_ECX_HYPERVISOR;
			break;
		case 4:
			/* EAX[31:26] cores per package - 1; [25:14] threads per cache - 1:
			 * keep each cache private to a core, except the LLC (level 3). */
			if ((e->eax & 0x1f) == 0)
				break;
			e->eax &= 0x00003fffu;
			e->eax |= (uint32_t)(nr_vcpus - 1) << 26;
			if (((e->eax >> 5) & 7) == 3)
				e->eax |= (uint32_t)((1u << core_bits) - 1) << 14;
			break;
		case 0x80000001:
			/* Leaf 0x8000001E would describe host topology: hide it. */
			e->ecx &= ~CPUID_80000001_ECX_TOPOEXT;
			if (nr_vcpus > 1)
				e->ecx |= CPUID_80000001_ECX_CMPLEGACY;
			else
				e->ecx &= ~CPUID_80000001_ECX_CMPLEGACY;
			break;
		case 0x80000008:
			/* ECX[7:0] cores - 1, [15:12] APIC id bits for cores. */
			e->ecx = (e->ecx & ~0xf0ffu) | (core_bits << 12) | (nr_vcpus - 1);
			break;
		default:
			break;
		}
	}
	return nent;
}

void cpuid_set_tsc_deadline(struct kvm_cpuid_entry2 *entries, unsigned int nent)
{
	struct kvm_cpuid_entry2 *e = cpuid_find(entries, nent, 1, 0);

	if (e)
		e->ecx |= CPUID_1_ECX_TSC_DEADLINE;
}
