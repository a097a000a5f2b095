/*
 * Grant tables, version 1 only (as QEMU's Xen emulation): the frames live
 * in host memory owned here and are overlaid into the guest by
 * XENMEM_add_to_physmap(XENMAPSPACE_grant_table).  Backends (domain 0)
 * map the guest's grants through gnttab_map()/gnttab_unmap(), which set and
 * clear GTF_reading/GTF_writing in the shared entry the way Xen does, so the
 * frontend's gnttab_end_foreign_access() sees when a grant is still in use.
 */
#ifndef XENKVM_GNTTAB_H
#define XENKVM_GNTTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xenkvm/xen_abi.h"

struct xen_domain;
struct xen_hcall;

#define GNTTAB_MAX_FRAMES 64
#define GNTTAB_INITIAL_FRAMES 1
#define GNTTAB_ENTRIES_PER_FRAME (4096 / sizeof(struct grant_entry_v1))

struct gnttab_frame {
	struct grant_entry_v1 *entries; /* host page, NULL until grown */
	uint64_t gfn;                   /* where the guest put it, or XEN_INVALID_GFN */
	uint16_t *read_pins;            /* per entry: backend mappings */
	uint16_t *write_pins;
};

struct gnttab {
	uint32_t version;
	uint32_t nr_frames;
	uint32_t max_frames;
	struct gnttab_frame frames[GNTTAB_MAX_FRAMES];
	unsigned int nr_maps;           /* live backend mappings (leak counter) */
};

struct gnttab_mapping {
	grant_ref_t ref;
	bool readonly;
	uint64_t gfn;    /* granted guest frame */
	void *hva;       /* host address of that frame, 4 KiB */
};

int gnttab_init(struct xen_domain *d, uint32_t max_frames);
void gnttab_fini(struct xen_domain *d);

long gnttab_hcall(struct xen_domain *d, struct xen_hcall *hc);

/* Make frame `idx` exist (growing the table up to it); host page or NULL. */
void *gnttab_frame(struct xen_domain *d, uint32_t idx);
/* Host page of the grant frame the guest placed at `gfn`, or NULL. */
void *gnttab_frame_at_gfn(struct xen_domain *d, uint64_t gfn);
/* XENMAPSPACE_grant_table: move frame idx to gfn.  Lock held. */
int gnttab_frame_map(struct xen_domain *d, uint32_t idx, uint64_t gfn);

/* Backend API (domain 0); each takes the domain lock.  0 or -errno:
 * -EINVAL bad ref, -EACCES not granted to domain 0 / wrong type,
 * -EPERM read-only grant mapped writable, -EFAULT frame not guest RAM. */
int gnttab_map(struct xen_domain *d, grant_ref_t ref, bool readonly, struct gnttab_mapping *m_r);
void gnttab_unmap(struct xen_domain *d, struct gnttab_mapping *m);
/* Transient map + copy + unmap within one granted page. */
int gnttab_copy_from(struct xen_domain *d, grant_ref_t ref, size_t offset, void *dst, size_t len);
int gnttab_copy_to(struct xen_domain *d, grant_ref_t ref, size_t offset, const void *src, size_t len);

#endif
