/*
 * What xen-compat needs from the VMM, and nothing more: xen-compat never
 * talks to /dev/kvm, it calls these.  The VMM (kvm/) fills one
 * struct xen_vmm_ops and passes it with its opaque pointer to
 * xen_domain_create().  Tests use a fake.
 *
 * Threading: callbacks are made from whatever thread entered xen-compat
 * (a vCPU thread handling a hypercall, a backend thread notifying an event
 * channel, the VMM's timer thread) and with the domain lock held, except
 * where noted.  A callback must not call back into xen-compat.
 *
 * Members marked (optional) may be NULL.
 */
#ifndef XENKVM_XEN_VMM_H
#define XENKVM_XEN_VMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum xen_shutdown_reason {
	XEN_SHUTDOWN_POWEROFF,
	XEN_SHUTDOWN_REBOOT,
	XEN_SHUTDOWN_CRASH,
	XEN_SHUTDOWN_WATCHDOG,
	XEN_SHUTDOWN_SOFT_RESET,
};

struct xen_vmm_ops {
	/* Translate a guest virtual address through vCPU `vcpu`'s current
	 * paging mode (identity when paging is off; KVM_TRANSLATE).  Only
	 * called from that vCPU's own thread, during its hypercall.
	 * 0, or -EFAULT when not mapped. */
	int (*gva_to_gpa)(void *opaque, unsigned int vcpu, uint64_t gva, uint64_t *gpa_r);

	/* Raise fixed-delivery, edge-triggered `vector` on `vcpu`'s local APIC
	 * (event channel upcall by HVM_PARAM_CALLBACK_IRQ vector type or by a
	 * per-vCPU HVMOP_set_evtchn_upcall_vector). */
	void (*inject_vector)(void *opaque, unsigned int vcpu, uint8_t vector);
	/* Drive a GSI line (callback via GSI or PCI INTx): level-triggered,
	 * high while vCPU 0 has evtchn_upcall_pending.  See
	 * xen_evtchn_callback_check(). */
	void (*set_gsi)(void *opaque, unsigned int gsi, bool level);
	/* (optional) GSI routed to a PCI INTx pin (pin 0 = INTA), or -1. */
	int (*pci_intx_to_gsi)(void *opaque, uint16_t segment, uint8_t bus, uint8_t devfn,
			       uint8_t pin);
	/* Wake `vcpu` if it waits in SCHEDOP_block/SCHEDOP_poll (see
	 * xen_vcpu_wake_ready()), or make it leave KVM_RUN soon. */
	void (*kick_vcpu)(void *opaque, unsigned int vcpu);

	/* Xen system time: monotonic ns since the domain was built.  The same
	 * clock as timer deadlines and pvclock system_time. */
	uint64_t (*now_ns)(void *opaque);
	/* (optional) Wall-clock time in ns since the epoch; NULL = CLOCK_REALTIME. */
	uint64_t (*wall_ns)(void *opaque);
	/* (optional, userspace pvclock only) The guest TSC of `vcpu` and
	 * now_ns() sampled together.  0 or -errno. */
	int (*read_tsc)(void *opaque, unsigned int vcpu, uint64_t *tsc_r, uint64_t *ns_r);
	/* Arm `vcpu`'s one-shot timer at absolute system time `deadline_ns`,
	 * replacing any earlier one; 0 cancels.  On expiry call
	 * xen_vcpu_timer_expired() (without holding the VMM's timer lock that
	 * timer_arm takes: it re-arms from inside). */
	void (*timer_arm)(void *opaque, unsigned int vcpu, uint64_t deadline_ns);

	/* The guest asked to stop (SCHEDOP_shutdown / remote_shutdown).
	 * `code` is Xen's SHUTDOWN_* number, `reason` our reading of it. */
	void (*shutdown)(void *opaque, enum xen_shutdown_reason reason, unsigned int code);

	/* Put host page `hva` (4 KiB, xen-compat owns it) at guest frame `gfn`,
	 * over whatever RAM is there (shared_info, grant frames).  hva NULL
	 * removes the overlay at gfn again.  0 or -errno. */
	int (*map_page)(void *opaque, uint64_t gfn, void *hva);

	/* (optional) The guest gave RAM [gpa, gpa+len) back to the host
	 * (XENMEM_decrease_reservation): drop its host backing.  If the guest
	 * touches it again it must read zeros, as a repopulated Xen page does.
	 * Page-aligned, wholly inside one RAM region. */
	void (*ram_discard)(void *opaque, uint64_t gpa, uint64_t len);

	/* (optional) Notifications for a KVM with CONFIG_KVM_XEN, to be passed
	 * on with KVM_XEN_HVM_SET_ATTR / KVM_XEN_VCPU_SET_ATTR. */
	void (*long_mode_set)(void *opaque, bool long_mode);         /* ATTR_TYPE_LONG_MODE */
	void (*shared_info_set)(void *opaque, uint64_t gfn);         /* ATTR_TYPE_SHARED_INFO */
	void (*vcpu_info_set)(void *opaque, unsigned int vcpu, uint64_t gpa);
	void (*vcpu_time_info_set)(void *opaque, unsigned int vcpu, uint64_t gpa);
	void (*runstate_set)(void *opaque, unsigned int vcpu, uint64_t gpa);
	/* Per-vCPU upcall vector (0 = none) / domain-wide callback vector
	 * (0 = none; VM attr UPCALL_VECTOR). */
	void (*upcall_vector_set)(void *opaque, unsigned int vcpu, uint8_t vector);
	void (*callback_vector_set)(void *opaque, uint8_t vector);

	/*
	 * (optional) In-kernel event-channel fast paths (KVM's
	 * KVM_XEN_HVM_CONFIG_EVTCHN_SEND).  Each may decline with -errno, and
	 * xen-compat then keeps doing the work itself, so a VMM without them
	 * behaves exactly as before.
	 *
	 * evtchn_fast_bind: guest port `port` now connects to backend port
	 * `be_port`.  If the VMM takes it (0), the guest's EVTCHNOP_send on
	 * `port` no longer reaches xen-compat: the VMM calls fn(fn_opaque,
	 * be_port) itself, on its I/O thread.  evtchn_fast_unbind undoes it
	 * (the port closed, the backend closed, reset) before the port is
	 * reused.
	 */
	int (*evtchn_fast_bind)(void *opaque, uint32_t port, uint32_t be_port,
				void (*fn)(void *fn_opaque, uint32_t be_port), void *fn_opaque);
	void (*evtchn_fast_unbind)(void *opaque, uint32_t port);
	/* evtchn_fast_ipi: the guest's sends on its IPI port `port` raise that
	 * port on `vcpu` in the VMM's own delivery path, without reaching
	 * xen-compat (Xen too delivers IPIs without leaving the hypervisor).
	 * -EAGAIN while the VMM cannot yet deliver to `vcpu` as xen-compat
	 * would (its upcall vector or vcpu_info not applied): asked again at
	 * the port's next send.  evtchn_fast_unbind undoes it. */
	int (*evtchn_fast_ipi)(void *opaque, uint32_t port, unsigned int vcpu);
	/* Raise `port` on `vcpu` the 2-level way (pending bit, mask, selector,
	 * upcall_pending, the vector upcall, pollers) in the VMM's own delivery
	 * path.  Only asked when the vCPU's upcall is a vector.  0: done, and
	 * xen-compat must not touch those bits for this event. */
	int (*evtchn_raise)(void *opaque, uint32_t port, unsigned int vcpu);
	/* VIRQ_TIMER of `vcpu` is bound to `port` (0: unbound again).  A VMM
	 * that runs Xen's one-shot timer itself then takes the guest's
	 * set_singleshot/stop_singleshot/set_timer_op without asking us. */
	void (*timer_virq_set)(void *opaque, unsigned int vcpu, uint32_t port);

	/* (optional) CONSOLEIO_write text; NULL makes console_io -EPERM as
	 * release builds of Xen do for an unprivileged domain. */
	void (*console_write)(void *opaque, const char *buf, size_t len);
};

#endif
