/*
 * sched_op: yield, block, poll, shutdown.  Blocking is the VMM's job: the
 * handler records what the vCPU waits for and returns XEN_HCALL_BLOCK or
 * XEN_HCALL_POLL; the VMM then waits until xen_vcpu_wake_ready().
 */
#include <errno.h>

#include "xenkvm/evtchn.h"
#include "xenkvm/hypercall.h"
#include "xenkvm/log.h"
#include "xenkvm/xen_domain.h"
#include "xenkvm/xen_guest_access.h"
#include "xenkvm/xen_handlers.h"
#include "xenkvm/xen_shinfo.h"

static bool upcall_pending(struct xen_domain *d, unsigned int vcpu)
{
	uint8_t *vi = shinfo_vcpu_info(d, vcpu);

	return vi && (__atomic_load_n(vi + XEN_VI_UPCALL_PENDING, __ATOMIC_SEQ_CST) & 1);
}

static long sched_shutdown(struct xen_domain *d, unsigned int reason)
{
	static const enum xen_shutdown_reason map[] = {
		[SHUTDOWN_poweroff] = XEN_SHUTDOWN_POWEROFF,
		[SHUTDOWN_reboot] = XEN_SHUTDOWN_REBOOT,
		[SHUTDOWN_crash] = XEN_SHUTDOWN_CRASH,
		[SHUTDOWN_watchdog] = XEN_SHUTDOWN_WATCHDOG,
		[SHUTDOWN_soft_reset] = XEN_SHUTDOWN_SOFT_RESET,
	};
	unsigned int code = reason;

	/* No save/restore of Xen guests: a suspend request is "cancelled",
	 * which Linux handles by simply carrying on. */
	if (reason == SHUTDOWN_suspend)
		return -ENOSYS;
	if (reason > SHUTDOWN_MAX)
		return -EINVAL;
	/* A code set earlier with SCHEDOP_shutdown_code wins, as in Xen. */
	if (d->shutdown_code != ~0u)
		code = d->shutdown_code;
	if (code > SHUTDOWN_MAX || code == SHUTDOWN_suspend)
		code = SHUTDOWN_crash;
	pr_info_rl("guest requested shutdown, reason %u\n", code);
	d->shutting_down = true;
	d->vmm->shutdown(d->opaque, map[code], code);
	return 0;
}

static long sched_poll(struct xen_domain *d, struct xen_hcall *hc, uint64_t arg)
{
	struct xen_vcpu *v = &d->vcpus[hc->vcpu];
	uint64_t ports, timeout, nr;
	unsigned int i;

	if (hc->longmode) {
		struct sched_poll p;

		if (xen_copy_from_guest(d, hc, &p, arg, sizeof(p)))
			return -EFAULT;
		ports = (uint64_t)(uintptr_t)p.ports.p;
		nr = p.nr_ports;
		timeout = p.timeout;
	} else {
		struct compat_sched_poll p;

		if (xen_copy_from_guest(d, hc, &p, arg, sizeof(p)))
			return -EFAULT;
		ports = p.ports;
		nr = p.nr_ports;
		timeout = p.timeout;
	}
	if (nr > XEN_POLL_MAX_PORTS)
		return -EINVAL;
	if (nr && xen_copy_from_guest(d, hc, v->poll_ports, ports, nr * sizeof(evtchn_port_t)))
		return -EFAULT;
	for (i = 0; i < nr; i++)
		if (v->poll_ports[i] >= XEN_2L_NR_PORTS(d->long_mode))
			return -EINVAL;
	/* Nothing to wait for if a polled port, or any event, is pending
	 * already, or the deadline has passed. */
	for (i = 0; i < nr; i++)
		if (evtchn_is_pending(d, v->poll_ports[i]))
			return 0;
	if (upcall_pending(d, hc->vcpu) || (timeout && timeout <= d->vmm->now_ns(d->opaque)))
		return 0;
	v->nr_poll = (unsigned int)nr;
	v->polling = true;
	v->poll_deadline = timeout;
	hc->action = XEN_HCALL_POLL;
	hc->deadline_ns = timeout;
	return 0;
}

long xen_sched_op_hcall(struct xen_domain *d, struct xen_hcall *hc)
{
	uint64_t cmd = hc->args[0], arg = hc->args[1];

	switch (cmd) {
	case SCHEDOP_yield:
		hc->action = XEN_HCALL_YIELD;
		return 0;
	case SCHEDOP_block:
		if (!upcall_pending(d, hc->vcpu)) {
			d->vcpus[hc->vcpu].blocked = true;
			hc->action = XEN_HCALL_BLOCK;
		}
		return 0;
	case SCHEDOP_shutdown: {
		struct sched_shutdown s;

		if (xen_copy_from_guest(d, hc, &s, arg, sizeof(s)))
			return -EFAULT;
		return sched_shutdown(d, s.reason);
	}
	case SCHEDOP_shutdown_code: {
		struct sched_shutdown s;

		if (xen_copy_from_guest(d, hc, &s, arg, sizeof(s)))
			return -EFAULT;
		if (s.reason > SHUTDOWN_MAX)
			return -EINVAL;
		d->shutdown_code = s.reason;
		return 0;
	}
	case SCHEDOP_poll:
		return sched_poll(d, hc, arg);
	case SCHEDOP_remote_shutdown:
		/* Only a device model or dom0 may shut down another domain. */
		return -EPERM;
	case SCHEDOP_watchdog:
		/* -ENOSYS makes Linux's xen_wdt decline to probe. */
		return -ENOSYS;
	case SCHEDOP_pin_override:
		return -EPERM;
	default:
		return xen_hcall_unknown_subop(d, hc, cmd);
	}
}
