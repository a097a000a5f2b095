/* vcpu_op, set_timer_op and vm_assist: per-vCPU registrations and timers. */
#ifndef XENKVM_XEN_VCPU_H
#define XENKVM_XEN_VCPU_H

#include <stdint.h>

struct xen_domain;

/* Arm vCPU `vcpu`'s single-shot timer at system time `deadline` (0 stops
 * it), re-arming the VMM timer.  Lock held. */
void xen_vcpu_set_singleshot(struct xen_domain *d, unsigned int vcpu, uint64_t deadline);
/* Arm the VMM timer at the earlier of the vCPU's single-shot and periodic
 * deadlines, if that is not what it is armed at already.  Lock held. */
void xen_vcpu_timer_rearm(struct xen_domain *d, unsigned int vcpu);

#endif
