/*
 * hvm_op: HVM params, the per-vCPU upcall vector, get_time.  Which params
 * a guest may read or write is Xen's list (hvm_allow_{get,set}_param); the
 * rest are the toolstack's (xen_domain_set_param).
 */
#include <errno.h>

#include "xenkvm/evtchn.h"
#include "xenkvm/hypercall.h"
#include "xenkvm/xen_domain.h"
#include "xenkvm/xen_guest_access.h"
#include "xenkvm/xen_handlers.h"

/* Xen keeps continuation state above the low 8 bits of the op. */
#define HVMOP_OP_MASK 0xffu

static bool guest_may_set(uint32_t index)
{
	switch (index) {
	case HVM_PARAM_CALLBACK_IRQ:
	case HVM_PARAM_VM86_TSS:
	case HVM_PARAM_VM86_TSS_SIZED:
	case HVM_PARAM_ACPI_IOPORTS_LOCATION:
	case HVM_PARAM_VM_GENERATION_ID_ADDR:
	case HVM_PARAM_STORE_EVTCHN:
	case HVM_PARAM_CONSOLE_EVTCHN:
	case HVM_PARAM_X87_FIP_WIDTH:
		return true;
	default:
		return false;
	}
}

static bool guest_may_get(uint32_t index)
{
	switch (index) {
	case HVM_PARAM_CALLBACK_IRQ:
	case HVM_PARAM_STORE_PFN:
	case HVM_PARAM_STORE_EVTCHN:
	case HVM_PARAM_CONSOLE_PFN:
	case HVM_PARAM_CONSOLE_EVTCHN:
	case HVM_PARAM_ALTP2M:
	case HVM_PARAM_X87_FIP_WIDTH:
		return true;
	default:
		return false;
	}
}

static int check_domid(const struct xen_domain *d, domid_t dom)
{
	if (dom == DOMID_SELF || dom == d->p.domid)
		return 0;
	return dom == 0 ? -EPERM : -ESRCH;
}

static int hvm_set_param(struct xen_domain *d, struct xen_hcall *hc, struct xen_hvm_param *op)
{
	int rc = check_domid(d, op->domid);

	if (rc)
		return rc;
	if (op->index >= HVM_NR_PARAMS)
		return -EINVAL;
	if (!guest_may_set(op->index))
		return -EPERM;
	switch (op->index) {
	case HVM_PARAM_CALLBACK_IRQ:
		/* Xen latches the shared_info layout here; xen_hypercall()
		 * already did, from this (kernel-mode) call. */
		rc = evtchn_callback_set(d, op->value);
		break;
	case HVM_PARAM_X87_FIP_WIDTH:
		if (op->value != 0 && op->value != 4 && op->value != 8)
			rc = -EINVAL;
		break;
	default:
		break;
	}
	if (!rc)
		d->hvm_params[op->index] = op->value;
	return rc;
}

static int hvm_get_param(struct xen_domain *d, struct xen_hvm_param *op)
{
	int rc = check_domid(d, op->domid);

	if (rc)
		return rc;
	if (op->index >= HVM_NR_PARAMS)
		return -EINVAL;
	if (!guest_may_get(op->index))
		return -EPERM;
	op->value = d->hvm_params[op->index];
	return 0;
}

long xen_hvm_op_hcall(struct xen_domain *d, struct xen_hcall *hc)
{
	/* Bits above the op number carry Xen's continuation state. */
	uint64_t op = hc->args[0] & HVMOP_OP_MASK, arg = hc->args[1];
	int rc;

	switch (op) {
	case HVMOP_set_param:
	case HVMOP_get_param: {
		struct xen_hvm_param p;

		if (xen_copy_from_guest(d, hc, &p, arg, sizeof(p)))
			return -EFAULT;
		if (op == HVMOP_set_param)
			return hvm_set_param(d, hc, &p);
		rc = hvm_get_param(d, &p);
		if (!rc && xen_copy_to_guest(d, hc, arg, &p, sizeof(p)))
			rc = -EFAULT;
		return rc;
	}
	case HVMOP_set_evtchn_upcall_vector: {
		struct xen_hvm_evtchn_upcall_vector uv;

		if (xen_copy_from_guest(d, hc, &uv, arg, sizeof(uv)))
			return -EFAULT;
		return evtchn_upcall_vector_set(d, uv.vcpu, uv.vector);
	}
	case HVMOP_get_time: {
		struct xen_hvm_get_time t = { .now = d->vmm->now_ns(d->opaque) };

		return xen_copy_to_guest(d, hc, arg, &t, sizeof(t)) ? -EFAULT : 0;
	}
	case HVMOP_pagetable_dying: /* Linux probes it; -ENOSYS turns it off */
	case HVMOP_flush_tlbs:      /* would need a remote TLB flush from the VMM */
		return -ENOSYS;
	default:
		return xen_hcall_unknown_subop(d, hc, op);
	}
}
