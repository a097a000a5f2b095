/*
 * Saving and loading kvm/'s share of a domain's state (docs/SAVE-FORMAT.md,
 * 0x0002xxxx): the VM's shape, guest RAM (all-zero pages skipped), each
 * vCPU as KVM holds it, the in-kernel irqchip and PIT, and KVM's clock.
 *
 * Two halves: the codecs (vm_ram_state_*, vcpu_state_*) only move bytes
 * between a section and plain memory or a struct, so they are unit tested
 * and fuzzed without /dev/kvm; vm_state_save() and vm_state_handlers()
 * (kvm/vm_state.c) make the KVM ioctls around them.
 *
 * Not carried yet: KVM's Xen attributes (shared_info, vcpu_info, runstate,
 * Xen timers) and the emulated devices (serial, RTC, ACPI PM, PCI config
 * space, IDE): a VM that has them cannot be restored faithfully yet.
 */
#ifndef XENKVM_VM_STATE_H
#define XENKVM_VM_STATE_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xenkvm/state_stream.h"

struct vm;

#define VM_STATE_MACHINE  (STATE_ID_VMM_BASE + 1)  /* vCPU count, RAM layout, PIT */
#define VM_STATE_RAM      (STATE_ID_VMM_BASE + 2)  /* runs of non-zero pages; repeated */
#define VM_STATE_VCPU     (STATE_ID_VMM_BASE + 3)  /* one per vCPU */
#define VM_STATE_IRQCHIP  (STATE_ID_VMM_BASE + 4)  /* PIC master, slave, IOAPIC, PIT */
#define VM_STATE_CLOCK    (STATE_ID_VMM_BASE + 5)  /* KVM_GET_CLOCK */
#define VM_STATE_CPUID    (STATE_ID_VMM_BASE + 9)  /* vCPU 0's CPUID (kvm/cpuid_state.c) */
#define VM_STATE_XEN_PLATFORM (STATE_ID_VMM_BASE + 10) /* kvm/xen_platform.c */

#define VM_STATE_MACHINE_VERSION 1u
#define VM_STATE_RAM_VERSION     1u
#define VM_STATE_VCPU_VERSION    1u
#define VM_STATE_IRQCHIP_VERSION 1u
#define VM_STATE_CLOCK_VERSION   1u
#define VM_STATE_CPUID_VERSION   1u
#define VM_STATE_XEN_PLATFORM_VERSION 1u

#define VM_STATE_NR_HANDLERS 6

/* ---- guest RAM: no KVM needed ---------------------------------------- */

/* RAM as kvm/vm.c lays it out: [0, lowmem) at guest physical 0, the rest
 * at 4 GiB, one host buffer for both. */
struct vm_ram_layout {
	uint8_t *ram;
	uint64_t ram_size;
	uint64_t lowmem_size;
};

/* Payload bytes per RAM section before the writer starts another. */
#define VM_RAM_SECTION_BYTES (32u << 20)

/* Writes the non-zero pages as runs (gpa u64, pages u32, bytes) in as
 * many RAM sections as they need.  0 or -errno. */
int vm_ram_state_save(const struct vm_ram_layout *l, struct state_writer *w);
/* Loads one RAM section into RAM the caller has zeroed.  Refused: a run
 * not page-aligned, empty, or not inside one RAM region. */
int vm_ram_state_load(const struct vm_ram_layout *l, struct state_section *s);

/* ---- one vCPU: no KVM needed ----------------------------------------- */

#define VCPU_STATE_MAX_MSRS 256u

enum vcpu_state_part {
	VCPU_STATE_HAS_XSAVE = 1u << 0,   /* xsave, else fpu */
	VCPU_STATE_HAS_XCRS  = 1u << 1,
};

/* Everything KVM_GET_* says about one vCPU, as KVM's own structs. */
struct vcpu_state {
	uint32_t id;
	uint32_t parts;           /* enum vcpu_state_part */
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_fpu fpu;
	/* struct kvm_xsave's 4 KiB (it ends in a flexible array: AMX's
	 * larger area needs KVM_GET_XSAVE2, not supported yet) */
	uint32_t xsave[1024];
	struct kvm_xcrs xcrs;
	struct kvm_lapic_state lapic;
	struct kvm_vcpu_events events;
	struct kvm_mp_state mp_state;
	struct kvm_debugregs debugregs;
	uint32_t nr_msrs;
	struct kvm_msr_entry msrs[VCPU_STATE_MAX_MSRS];
};

void vcpu_state_write(const struct vcpu_state *vs, struct state_writer *w);
/* Fills *vs from a vCPU section; `nr_vcpus` bounds the id.  Refused: an
 * unknown part bit, a struct of the wrong size, too many MSRs, an MSR
 * listed twice.  0 or -errno (message in the section's reader). */
int vcpu_state_read(struct state_section *s, unsigned int nr_vcpus, struct vcpu_state *vs);

/* ---- the CPUID the guest was given: no KVM needed -------------------- */

#define VM_STATE_CPUID_MAX 256u

void cpuid_state_write(const struct kvm_cpuid_entry2 *e, unsigned int n, struct state_writer *w);
/* Reads up to `max` entries.  0 or -EBADMSG (message in the section). */
int cpuid_state_read(struct state_section *s, struct kvm_cpuid_entry2 *e, unsigned int max,
		     unsigned int *n_r);
/* Every feature bit the guest was given (leaves 1, 7, 0xd.1, 0x80000001,
 * 0x80000008) is offered `here` too; else -EOPNOTSUPP and why names the
 * first missing feature ("avx512f (CPUID 7.0.ebx bit 16)"). */
int cpuid_state_check(const struct kvm_cpuid_entry2 *saved, unsigned int n,
		      const struct kvm_cpuid_entry2 *here, unsigned int m, char *why, size_t size);

/* ---- the VM: KVM ioctls (kvm/vm_state.c) ----------------------------- */

/* Every vCPU must be parked (vm_pause_sync()).  Writes the machine, RAM,
 * vCPU, irqchip, clock and CPUID sections.  0 or -errno (message in the writer). */
int vm_state_save(struct vm *vm, struct state_writer *w);

/* What the loaders share; lives until state_load() returns. */
struct vm_state_load {
	struct vm *vm;
	bool have_machine, have_clock;
	bool vcpu_loaded[256];    /* VM_MAX_VCPUS fits */
};
/* Fills h[0 .. VM_STATE_NR_HANDLERS).  Load into a VM built with the same
 * vCPU count, RAM size and PIT whose vCPUs have not run: the machine
 * section zeroes its RAM first.  Every section is required. */
void vm_state_handlers(struct vm *vm, struct vm_state_load *ctx, struct state_handler *h);
/* After state_load(): each of the VM's vCPUs was loaded exactly once.
 * 0 or -EBADMSG with the reason in why. */
int vm_state_load_finish(const struct vm_state_load *ctx, char *why, size_t size);

#endif
