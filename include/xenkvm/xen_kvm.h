/*
 * KVM's side of the Xen personality: picks how hypercalls reach us (kernel
 * intercept, kernel blob copy, or userspace MSR exit + our hypercall page),
 * turns the matching exits into xen_hypercall() calls, and implements
 * struct xen_vmm_ops for xen-compat with KVM ioctls.  When the kernel has
 * CONFIG_KVM_XEN it also hands shared_info/vcpu_info/runstate and the
 * callback vector to KVM, which then keeps pvclock and runstate current and
 * injects the callback itself.
 */
#ifndef XENKVM_XEN_KVM_H
#define XENKVM_XEN_KVM_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

struct vm;
struct event_loop;
struct xen_domain;
struct xen_kvm;

enum xen_hcall_path {
	XEN_PATH_AUTO,
	XEN_PATH_INTERCEPT,   /* KVM_XEN_HVM_CONFIG_INTERCEPT_HCALL: KVM_EXIT_XEN */
	XEN_PATH_BLOB,        /* KVM_XEN_HVM_CONFIG blob_addr: KVM copies our page */
	XEN_PATH_MSR,         /* MSR filter: we copy our page on KVM_EXIT_X86_WRMSR */
};

struct xen_kvm_config {
	uint16_t domid;
	uint32_t xen_version;          /* major << 16 | minor */
	enum xen_hcall_path path;
	bool no_kernel_accel;          /* keep pvclock/runstate in userspace even if KVM could */
	bool no_fastpaths;             /* keep event channels and Xen timers in userspace */
	uint8_t uuid[16];
};

/* Sets up hypercall delivery on `vm` (before any vCPU runs) and the Xen
 * domain; installs the VM's exit hook.  0 or -errno (message printed). */
int xen_kvm_create(struct vm *vm, struct event_loop *loop, const struct xen_kvm_config *cfg,
		   struct xen_kvm **x_r);
void xen_kvm_destroy(struct xen_kvm *x);
struct xen_domain *xen_kvm_domain(struct xen_kvm *x);
const char *xen_hcall_path_name(enum xen_hcall_path p);
enum xen_hcall_path xen_kvm_path(const struct xen_kvm *x);

/* Replaces KVM's hypervisor leaves by the Xen ones at 0x40000000, in a
 * table with room for `max` entries; returns the new count. */
unsigned int xen_kvm_cpuid(struct xen_kvm *x, unsigned int vcpu, struct kvm_cpuid_entry2 *e,
			   unsigned int nent, unsigned int max);

#endif
