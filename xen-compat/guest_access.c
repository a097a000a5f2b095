/* copy_from_guest / copy_to_guest for hypercall arguments (guest virtual
 * addresses, translated page by page). */
#include <errno.h>
#include <string.h>

#include "xenkvm/hypercall.h"
#include "xenkvm/xen_domain.h"
#include "xenkvm/xen_guest_access.h"

int xen_gva_to_gpa(struct xen_domain *d, const struct xen_hcall *hc, uint64_t gva,
		   uint64_t *gpa_r)
{
	if (!hc->longmode && gva > UINT32_MAX)
		return -EFAULT;
	if (!d->vmm->gva_to_gpa)
		return -EFAULT;
	if (d->vmm->gva_to_gpa(d->opaque, hc->vcpu, gva, gpa_r))
		return -EFAULT;
	return 0;
}

/* Walks [gva, gva+len) a page at a time; `to_guest` picks the direction. */
static int copy_guest(struct xen_domain *d, const struct xen_hcall *hc, uint64_t gva,
		      uint8_t *buf, size_t len, bool to_guest)
{
	uint64_t limit = hc->longmode ? UINT64_MAX : UINT32_MAX;

	if (len > XEN_COPY_MAX || gva > limit || len - 1 > limit - gva)
		return len ? -EFAULT : 0;
	while (len) {
		uint64_t gpa;
		size_t chunk = GUEST_PAGE_SIZE - (gva & (GUEST_PAGE_SIZE - 1));
		void *p;

		if (chunk > len)
			chunk = len;
		if (xen_gva_to_gpa(d, hc, gva, &gpa))
			return -EFAULT;
		p = xen_gpa_ptr(d, gpa, chunk);
		if (!p)
			return -EFAULT;
		if (to_guest)
			memcpy(p, buf, chunk);
		else
			memcpy(buf, p, chunk);
		buf += chunk;
		gva += chunk;
		len -= chunk;
	}
	return 0;
}

int xen_copy_from_guest(struct xen_domain *d, const struct xen_hcall *hc, void *dst,
			uint64_t gva, size_t len)
{
	return copy_guest(d, hc, gva, dst, len, false);
}

int xen_copy_to_guest(struct xen_domain *d, const struct xen_hcall *hc, uint64_t gva,
		      const void *src, size_t len)
{
	return copy_guest(d, hc, gva, (uint8_t *)src, len, true);
}
