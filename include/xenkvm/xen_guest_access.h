/*
 * Hypercall arguments are guest *virtual* addresses (Xen ABI); for an HVM
 * guest they go through the calling vCPU's page tables.  These helpers
 * translate page by page through xen_vmm_ops.gva_to_gpa, so a buffer may
 * straddle pages that are not contiguous in guest-physical memory.
 */
#ifndef XENKVM_XEN_GUEST_ACCESS_H
#define XENKVM_XEN_GUEST_ACCESS_H

#include <stddef.h>
#include <stdint.h>

struct xen_domain;
struct xen_hcall;

/* Largest single copy a handler may ask for: bounds guest-chosen lengths. */
#define XEN_COPY_MAX (64u * 1024)

/* 0 or -EFAULT (unmapped, outside RAM, wraps a 32-bit address space, too long). */
int xen_copy_from_guest(struct xen_domain *d, const struct xen_hcall *hc, void *dst,
			uint64_t gva, size_t len);
int xen_copy_to_guest(struct xen_domain *d, const struct xen_hcall *hc, uint64_t gva,
		      const void *src, size_t len);
/* Translate one address with the caller's word size applied. */
int xen_gva_to_gpa(struct xen_domain *d, const struct xen_hcall *hc, uint64_t gva,
		   uint64_t *gpa_r);

#endif
