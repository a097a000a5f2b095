/* One Xen HVM domain: creation, teardown, HVM params from the toolstack,
 * and guest-physical access that sees xen-compat's own overlay pages. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xenkvm/log.h"
#include "xenkvm/xen_domain.h"
#include "xenkvm/xen_shinfo.h"

int xen_domain_create(struct xen_domain **d_r, const struct xen_domain_params *p,
		      const struct xen_vmm_ops *ops, void *opaque, const struct guest_mem *mem)
{
	struct xen_domain *d = NULL;
	unsigned int i;
	int rc;

	*d_r = NULL;
	if (!p || !ops || !mem || !p->nr_vcpus || p->nr_vcpus > XEN_MAX_VCPUS || !p->domid ||
	    p->domid >= DOMID_FIRST_RESERVED || !ops->now_ns)
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->vmm = ops;
	d->opaque = opaque;
	d->mem = mem;
	d->p = *p;
	if (!d->p.xen_version)
		d->p.xen_version = 4 << 16 | 17;
	if (!d->p.extraversion)
		d->p.extraversion = ".0";
	/* A fresh HVM domain has the native (64-bit) layout until the guest
	 * shows it runs in 32-bit mode (Xen latches it the same way). */
	d->long_mode = true;
	d->shinfo_gfn = XEN_INVALID_GFN;
	d->cb_gsi = -1;
	d->shutdown_code = ~0u;
	rc = pthread_mutex_init(&d->lock, NULL);
	if (rc) {
		free(d);
		return -rc;
	}
	d->vcpus = calloc(p->nr_vcpus, sizeof(*d->vcpus));
	if (!d->vcpus) {
		rc = -ENOMEM;
		goto out;
	}
	for (i = 0; i < p->nr_vcpus; i++) {
		struct xen_vcpu *v = &d->vcpus[i];

		v->vcpu_info_gpa = XEN_INVALID_GPA;
		v->time_gpa[0] = v->time_gpa[1] = XEN_INVALID_GPA;
		v->runstate_gpa[0] = v->runstate_gpa[1] = XEN_INVALID_GPA;
		v->runstate_state = RUNSTATE_running;
		v->runstate_entry = ops->now_ns(opaque);
	}
	rc = shinfo_init(d);
	if (rc)
		goto out;
	rc = gnttab_init(d, p->max_grant_frames ? p->max_grant_frames : GNTTAB_MAX_FRAMES);
	if (rc)
		goto out;
	*d_r = d;
	return 0;
out:
	xen_domain_destroy(d);
	return rc;
}

void xen_domain_destroy(struct xen_domain *d)
{
	if (!d)
		return;
	gnttab_fini(d);
	shinfo_fini(d);
	free(d->balloon_map);
	free(d->vcpus);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

int xen_domain_set_param(struct xen_domain *d, unsigned int index, uint64_t value)
{
	if (index >= HVM_NR_PARAMS)
		return -EINVAL;
	pthread_mutex_lock(&d->lock);
	d->hvm_params[index] = value;
	pthread_mutex_unlock(&d->lock);
	return 0;
}

uint64_t xen_domain_get_param(struct xen_domain *d, unsigned int index)
{
	uint64_t v;

	if (index >= HVM_NR_PARAMS)
		return 0;
	pthread_mutex_lock(&d->lock);
	v = d->hvm_params[index];
	pthread_mutex_unlock(&d->lock);
	return v;
}

void *xen_gpa_ptr(struct xen_domain *d, uint64_t gpa, uint64_t len)
{
	uint64_t gfn = gpa >> GUEST_PAGE_SHIFT, off = gpa & (GUEST_PAGE_SIZE - 1);
	uint8_t *page;

	/* Callers work within one page: that keeps overlay checks exact. */
	if (!len || len > GUEST_PAGE_SIZE - off)
		return NULL;
	if (gfn == d->shinfo_gfn)
		return d->shinfo + off;
	page = gnttab_frame_at_gfn(d, gfn);
	if (page)
		return page + off;
	return guest_mem_ptr(d->mem, gpa, len);
}

void xen_domain_set_long_mode(struct xen_domain *d, bool long_mode)
{
	if (d->long_mode == long_mode)
		return;
	/* A kernel flipping its mode in a loop must not flood the log. */
	pr_info_rl("guest switched shared_info layout to %s\n", long_mode ? "64-bit" : "32-bit");
	d->long_mode = long_mode;
	shinfo_update_wallclock(d);
	if (d->vmm->long_mode_set)
		d->vmm->long_mode_set(d->opaque, long_mode);
}

int xen_domain_set_memory_map(struct xen_domain *d, const struct xen_e820_entry *e, unsigned int n)
{
	if (n > XEN_MEMMAP_MAX)
		return -E2BIG;
	memcpy(d->memmap, e, n * sizeof(*e));
	d->nr_memmap = n;
	return 0;
}
