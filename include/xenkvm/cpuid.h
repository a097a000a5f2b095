/*
 * CPUID as the guest sees it: KVM_GET_SUPPORTED_CPUID, adjusted per vCPU
 * for topology (one thread per core, all cores in one package) and the
 * hypervisor bit.  Pure functions on the entry array, so they are testable.
 */
#ifndef XENKVM_CPUID_H
#define XENKVM_CPUID_H

#include <linux/kvm.h>
#include <stdint.h>

struct kvm_cpuid_entry2;

/* Bits needed to number `n` cores (ceil(log2 n)). */
unsigned int cpuid_core_bits(unsigned int n);

/*
 * Rewrites entries[0..nent) in place for vCPU `vcpu_id` of `nr_vcpus`:
 * leaf 1 (APIC id, logical count, HTT, hypervisor bit), leaf 4 (cores per
 * package), leaf 0xB (x2APIC topology, rebuilt; 0x1F dropped), 0x80000008
 * (AMD core count), and hides AMD TOPOEXT so guests use the leaves we fill
 * in.  `max` is the array's capacity; returns the new entry count.
 */
unsigned int cpuid_adjust(struct kvm_cpuid_entry2 *entries, unsigned int nent, unsigned int max,
			  unsigned int vcpu_id, unsigned int nr_vcpus);

/*
 * Sets leaf 1's TSC-deadline bit.  KVM_GET_SUPPORTED_CPUID leaves it out
 * even where the in-kernel LAPIC emulates the deadline MSR
 * (KVM_CAP_TSC_DEADLINE_TIMER); without it Linux spends ~100 ms of boot
 * calibrating the LAPIC timer against the PIT and PM timer.
 */
void cpuid_set_tsc_deadline(struct kvm_cpuid_entry2 *entries, unsigned int nent);

/* Finds leaf/subleaf, or NULL. */
struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid_entry2 *entries, unsigned int nent,
				    uint32_t function, uint32_t index);

#endif
