/*
 * vcpu_op (registrations of vcpu_info, runstate and time areas; Xen timers),
 * set_timer_op and vm_assist, plus the timer/block/poll plumbing the VMM
 * drives.
 *
 * Timers: each vCPU has a single-shot and a periodic Xen timer but the VMM
 * only one one-shot timer per vCPU; it is always armed at the earlier of
 * the two, and on expiry both are checked against the clock.
 */
#include <errno.h>

#include "xenkvm/evtchn.h"
#include "xenkvm/hypercall.h"
#include "xenkvm/log.h"
#include "xenkvm/xen_domain.h"
#include "xenkvm/xen_guest_access.h"
#include "xenkvm/xen_handlers.h"
#include "xenkvm/xen_shinfo.h"
#include "xenkvm/xen_vcpu.h"

#define PERIODIC_MIN_NS 1000000ull /* Xen refuses periods under 1 ms */
/* VM assists an HVM guest may enable (Xen's HVM_VM_ASSIST_MASK). */
#define HVM_VM_ASSIST_MASK (1u << VMASST_TYPE_runstate_update_flag)

void xen_vcpu_timer_rearm(struct xen_domain *d, unsigned int vcpu)
{
	struct xen_vcpu *v = &d->vcpus[vcpu];
	uint64_t next = v->singleshot_ns;

	if (v->periodic_ns && (!next || v->periodic_next < next))
		next = v->periodic_next;
	if (next != v->armed_ns) {
		v->armed_ns = next;
		d->vmm->timer_arm(d->opaque, vcpu, next);
	}
}

void xen_vcpu_set_singleshot(struct xen_domain *d, unsigned int vcpu, uint64_t deadline)
{
	d->vcpus[vcpu].singleshot_ns = deadline;
	xen_vcpu_timer_rearm(d, vcpu);
}

void xen_vcpu_timer_expired(struct xen_domain *d, unsigned int vcpu)
{
	struct xen_vcpu *v;
	uint64_t now;
	bool fire = false;

	if (vcpu >= d->p.nr_vcpus)
		return;
	pthread_mutex_lock(&d->lock);
	v = &d->vcpus[vcpu];
	now = d->vmm->now_ns(d->opaque);
	v->armed_ns = 0; /* the VMM's one-shot timer is spent */
	if (v->singleshot_ns && v->singleshot_ns <= now) {
		v->singleshot_ns = 0;
		fire = true;
	}
	if (v->periodic_ns && v->periodic_next <= now) {
		/* Skip missed periods rather than firing a burst. */
		v->periodic_next += v->periodic_ns * ((now - v->periodic_next) / v->periodic_ns + 1);
		fire = true;
	}
	if (fire)
		evtchn_send_virq(d, vcpu, VIRQ_TIMER);
	xen_vcpu_timer_rearm(d, vcpu);
	pthread_mutex_unlock(&d->lock);
}

static bool upcall_pending(struct xen_domain *d, unsigned int vcpu)
{
	uint8_t *vi = shinfo_vcpu_info(d, vcpu);

	return vi && (__atomic_load_n(vi + XEN_VI_UPCALL_PENDING, __ATOMIC_SEQ_CST) & 1);
}

bool xen_vcpu_wake_ready(struct xen_domain *d, unsigned int vcpu)
{
	struct xen_vcpu *v;
	bool ready = true;

	if (vcpu >= d->p.nr_vcpus)
		return true;
	pthread_mutex_lock(&d->lock);
	v = &d->vcpus[vcpu];
	if (v->polling) {
		ready = upcall_pending(d, vcpu) ||
			(v->poll_deadline && d->vmm->now_ns(d->opaque) >= v->poll_deadline);
		for (unsigned int i = 0; !ready && i < v->nr_poll; i++)
			ready = evtchn_is_pending(d, v->poll_ports[i]);
	} else if (v->blocked) {
		ready = upcall_pending(d, vcpu);
	}
	pthread_mutex_unlock(&d->lock);
	return ready;
}

void xen_vcpu_unblock(struct xen_domain *d, unsigned int vcpu)
{
	if (vcpu >= d->p.nr_vcpus)
		return;
	pthread_mutex_lock(&d->lock);
	d->vcpus[vcpu].polling = false;
	d->vcpus[vcpu].nr_poll = 0;
	d->vcpus[vcpu].poll_deadline = 0;
	d->vcpus[vcpu].blocked = false;
	pthread_mutex_unlock(&d->lock);
}

void xen_vcpu_set_runstate(struct xen_domain *d, unsigned int vcpu, int state)
{
	struct xen_vcpu *v;
	uint64_t now;

	if (vcpu >= d->p.nr_vcpus || state < RUNSTATE_running || state > RUNSTATE_offline)
		return;
	pthread_mutex_lock(&d->lock);
	v = &d->vcpus[vcpu];
	now = d->vmm->now_ns(d->opaque);
	if (now > v->runstate_entry)
		v->runstate_time[v->runstate_state] += now - v->runstate_entry;
	v->runstate_state = state;
	v->runstate_entry = now;
	shinfo_update_runstate(d, vcpu);
	pthread_mutex_unlock(&d->lock);
}

void xen_vcpu_update_time(struct xen_domain *d, unsigned int vcpu)
{
	pthread_mutex_lock(&d->lock);
	shinfo_update_time(d, vcpu);
	pthread_mutex_unlock(&d->lock);
}

/* Guest virtual area [gva, gva+size) -> gpa of each page part. */
static int translate_area(struct xen_domain *d, struct xen_hcall *hc, uint64_t gva,
			  uint32_t size, uint64_t *gpa0, uint64_t *gpa1, uint32_t *split)
{
	uint32_t first = GUEST_PAGE_SIZE - (gva & (GUEST_PAGE_SIZE - 1));

	*gpa1 = XEN_INVALID_GPA;
	*split = first < size ? first : size;
	if (!hc->longmode && (gva > UINT32_MAX || size - 1 > UINT32_MAX - gva))
		return -EFAULT;
	if (xen_gva_to_gpa(d, hc, gva, gpa0))
		return -EFAULT;
	if (*split < size && xen_gva_to_gpa(d, hc, gva + *split, gpa1))
		return -EFAULT;
	return 0;
}

static long vcpu_op(struct xen_domain *d, struct xen_hcall *hc, unsigned int cmd,
		    unsigned int vcpu, uint64_t arg)
{
	struct xen_vcpu *v = &d->vcpus[vcpu];

	switch (cmd) {
	case VCPUOP_register_vcpu_info: {
		struct vcpu_register_vcpu_info r;

		if (xen_copy_from_guest(d, hc, &r, arg, sizeof(r)))
			return -EFAULT;
		return shinfo_register_vcpu_info(d, vcpu, r.mfn, r.offset);
	}
	case VCPUOP_register_runstate_memory_area:
	case VCPUOP_register_vcpu_time_memory_area: {
		uint64_t gva = 0, gpa0 = XEN_INVALID_GPA, gpa1;
		uint32_t split = 0, size;
		bool runstate = cmd == VCPUOP_register_runstate_memory_area;
		int rc;

		/* The area address is a union with a uint64_t in both ABIs. */
		if (xen_copy_from_guest(d, hc, &gva, arg, 8))
			return -EFAULT;
		if (!hc->longmode)
			gva = (uint32_t)gva;
		if (runstate)
			size = d->long_mode ? sizeof(struct vcpu_runstate_info)
					    : sizeof(struct compat_runstate_info);
		else
			size = sizeof(struct vcpu_time_info);
		if (gva) {
			rc = translate_area(d, hc, gva, size, &gpa0, &gpa1, &split);
			if (rc)
				return rc;
		}
		if (runstate)
			return shinfo_set_runstate_area(d, vcpu, gpa0, gpa1, split);
		/* KVM, like Xen's map_guest_area, wants the time area in one page. */
		if (gva && split < size)
			return -EINVAL;
		return shinfo_set_time_area(d, vcpu, gpa0);
	}
	case VCPUOP_get_runstate_info: {
		uint8_t rec[sizeof(struct vcpu_runstate_info)];
		unsigned int n = shinfo_runstate_record(d, vcpu, rec);

		return xen_copy_to_guest(d, hc, arg, rec, n) ? -EFAULT : 0;
	}
	case VCPUOP_set_singleshot_timer: {
		struct vcpu_set_singleshot_timer t;

		if (vcpu != hc->vcpu)
			return -EINVAL;
		/* timeout_abs_ns + flags: 12 bytes in both ABIs (the native struct
		 * only adds tail padding). */
		t.flags = 0;
		if (xen_copy_from_guest(d, hc, &t, arg, 12))
			return -EFAULT;
		if ((t.flags & VCPU_SSHOTTMR_future) &&
		    t.timeout_abs_ns < d->vmm->now_ns(d->opaque))
			return -ETIME;
		/* 0 means "stopped" to us; as a deadline it is just long past. */
		xen_vcpu_set_singleshot(d, vcpu, t.timeout_abs_ns ? t.timeout_abs_ns : 1);
		return 0;
	}
	case VCPUOP_stop_singleshot_timer:
		if (vcpu != hc->vcpu)
			return -EINVAL;
		xen_vcpu_set_singleshot(d, vcpu, 0);
		return 0;
	case VCPUOP_set_periodic_timer: {
		struct vcpu_set_periodic_timer t;

		if (xen_copy_from_guest(d, hc, &t, arg, sizeof(t)))
			return -EFAULT;
		if (t.period_ns < PERIODIC_MIN_NS || t.period_ns > (1ull << 62))
			return -EINVAL;
		v->periodic_ns = t.period_ns;
		v->periodic_next = d->vmm->now_ns(d->opaque) + t.period_ns;
		xen_vcpu_timer_rearm(d, vcpu);
		return 0;
	}
	case VCPUOP_stop_periodic_timer:
		v->periodic_ns = 0;
		xen_vcpu_timer_rearm(d, vcpu);
		return 0;
	case VCPUOP_is_up:
		/* APs come up through INIT/SIPI, which the VMM owns; report them
		 * all up, as a guest that asks only wants to know they exist. */
		return 1;
	case VCPUOP_initialise:
	case VCPUOP_up:
	case VCPUOP_down:
		/* Like QEMU's Xen emulation: HVM vCPUs are started by the APIC. */
		return -ENOSYS;
	default:
		return xen_hcall_unknown_subop(d, hc, cmd);
	}
}

long xen_vcpu_op_hcall(struct xen_domain *d, struct xen_hcall *hc)
{
	unsigned int cmd = (unsigned int)hc->args[0];
	uint64_t vcpu = hc->args[1];

	if (vcpu >= d->p.nr_vcpus)
		return -ENOENT;
	return vcpu_op(d, hc, cmd, (unsigned int)vcpu, hc->args[2]);
}

long xen_set_timer_op_hcall(struct xen_domain *d, struct xen_hcall *hc)
{
	/* A 64-bit timeout: split over ebx:ecx for 32-bit guests. */
	uint64_t timeout = hc->longmode ? hc->args[0] : (hc->args[0] | hc->args[1] << 32);

	xen_vcpu_set_singleshot(d, hc->vcpu, timeout);
	return 0;
}

long xen_vm_assist_hcall(struct xen_domain *d, struct xen_hcall *hc)
{
	uint64_t cmd = hc->args[0], type = hc->args[1];

	if (type >= 32 || !(HVM_VM_ASSIST_MASK & (1u << type)))
		return -EINVAL;
	switch (cmd) {
	case VMASST_CMD_enable:
		d->vm_assist |= 1u << type;
		return 0;
	case VMASST_CMD_disable:
		d->vm_assist &= ~(1u << type);
		return 0;
	default:
		return -ENOSYS;
	}
}
