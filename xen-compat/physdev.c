/*
 * physdev_op.  For an HVM domain without PIRQs (we never offer
 * XENFEAT_hvm_pirqs) Xen answers every sub-op with -ENOSYS: the PIRQ ops
 * need has_pirq(), the PCI/MMCFG ones the hardware domain.  Linux HVM
 * guests only issue them with XENFEAT_hvm_pirqs, so they are counted and
 * logged at debug level only.
 */
#include <errno.h>

#include "xenkvm/hypercall.h"
#include "xenkvm/log.h"
#include "xenkvm/xen_domain.h"
#include "xenkvm/xen_handlers.h"

long xen_physdev_op_hcall(struct xen_domain *d, struct xen_hcall *hc)
{
	d->hcall_enosys[__HYPERVISOR_physdev_op]++;
	pr_debug_rl("vcpu%u: physdev_op %llu -> -ENOSYS\n", hc->vcpu,
		    (unsigned long long)hc->args[0]);
	return -ENOSYS;
}
