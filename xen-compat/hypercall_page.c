/* Filling the hypercall page on the guest's MSR write (userspace path). */
#include <errno.h>
#include <string.h>

#include "xenkvm/hypercall_page.h"
#include "xenkvm/log.h"
#include "xenkvm/xen_domain.h"

int xen_hypercall_msr_write(struct xen_domain *d, unsigned int vcpu, bool longmode,
			    uint64_t value)
{
	uint64_t gpa = value & ~(uint64_t)(XEN_HCALL_PAGE_SIZE - 1);
	void *page;
	int rc = 0;

	/* CPUID base+2 advertises a single page. */
	if (value & (XEN_HCALL_PAGE_SIZE - 1))
		return -EINVAL;
	pthread_mutex_lock(&d->lock);
	page = xen_gpa_ptr(d, gpa, XEN_HCALL_PAGE_SIZE);
	if (!page) {
		pr_warn_rl("vcpu%u: hypercall page at %#llx is not RAM\n", vcpu,
			   (unsigned long long)gpa);
		rc = -EFAULT;
		goto out;
	}
	memcpy(page, longmode ? xen_hypercall_page64 : xen_hypercall_page32, XEN_HCALL_PAGE_SIZE);
	xen_domain_set_long_mode(d, longmode);
out:
	pthread_mutex_unlock(&d->lock);
	return rc;
}
