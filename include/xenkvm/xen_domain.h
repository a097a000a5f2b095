/*
 * One Xen HVM domain as xen-compat models it: the state behind the
 * hypercalls (shared_info, vCPU registrations, timers, event channels,
 * grant table, HVM params).  The VMM creates one per guest, feeds it
 * hypercalls (hypercall.h), CPUID leaves (xen_cpuid.h), hypercall-MSR
 * writes (hypercall_page.h) and timer expiries, and implements
 * struct xen_vmm_ops for it.
 *
 * Locking: one mutex per domain.  Every entry point takes it; internal
 * functions (most of xen-compat/) expect it held.
 */
#ifndef XENKVM_XEN_DOMAIN_H
#define XENKVM_XEN_DOMAIN_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "xenkvm/evtchn.h"
#include "xenkvm/gnttab.h"
#include "xenkvm/guest_mem.h"
#include "xenkvm/xen_abi.h"
#include "xenkvm/xen_vmm.h"

#define XEN_MAX_VCPUS 128          /* HVM_MAX_VCPUS */
#define XEN_INVALID_GPA UINT64_MAX
#define XEN_INVALID_GFN UINT64_MAX
#define XEN_POLL_MAX_PORTS 128     /* Xen's limit for SCHEDOP_poll */
#define XEN_HCALL_COUNTED 64       /* numbers >= this share one counter */

#define XEN_MEMMAP_MAX 32

struct xen_domain_params {
	uint16_t domid;            /* our domain id (not 0) */
	unsigned int nr_vcpus;
	uint32_t xen_version;      /* major << 16 | minor; 0 = 4.17 */
	const char *extraversion;  /* NULL = ".0" */
	uint64_t ram_pages;        /* RAM the guest was built with (4 KiB pages) */
	uint64_t max_gfn;          /* highest guest frame (RAM, MMIO holes included) */
	uint64_t tsc_khz;          /* guest TSC frequency, for userspace pvclock */
	bool kernel_accel;         /* KVM maintains pvclock/runstate/timers itself */
	uint32_t max_grant_frames; /* 0 = GNTTAB_MAX_FRAMES */
	uint8_t handle[16];        /* domain UUID (XENVER_guest_handle) */
};

struct xen_vcpu {
	uint64_t vcpu_info_gpa;      /* XEN_INVALID_GPA: inside shared_info */
	uint8_t upcall_vector;       /* HVMOP_set_evtchn_upcall_vector; 0 = none */
	evtchn_port_t virq_port[NR_VIRQS];

	/* VCPUOP_register_vcpu_time_memory_area / runstate area: translated
	 * once at registration (as KVM wants GPAs); may straddle two pages. */
	uint64_t time_gpa[2];
	uint64_t runstate_gpa[2];
	uint32_t runstate_split;     /* bytes in the first page */
	int runstate_state;
	uint64_t runstate_entry;     /* system time of the last change */
	uint64_t runstate_time[4];

	uint64_t singleshot_ns;      /* 0 = not armed */
	uint64_t periodic_ns;        /* period; 0 = off */
	uint64_t periodic_next;
	uint64_t armed_ns;           /* what the VMM's timer is set to */

	bool polling;                /* in SCHEDOP_poll */
	unsigned int nr_poll;
	evtchn_port_t poll_ports[XEN_POLL_MAX_PORTS];
	uint64_t poll_deadline;
	bool blocked;                /* in SCHEDOP_block */
};

enum xen_callback_type { XEN_CB_NONE, XEN_CB_VECTOR, XEN_CB_GSI };

struct xen_domain {
	pthread_mutex_t lock;
	const struct xen_vmm_ops *vmm;
	void *opaque;
	const struct guest_mem *mem;
	struct xen_domain_params p;

	bool long_mode;              /* layout of shared_info and vcpu_info */
	uint8_t *shinfo;             /* the shared_info page (host memory) */
	uint64_t shinfo_gfn;         /* where the guest mapped it */
	uint32_t vm_assist;          /* VMASST_TYPE_* bits enabled */

	struct xen_vcpu *vcpus;      /* p.nr_vcpus */

	uint64_t hvm_params[HVM_NR_PARAMS];
	enum xen_callback_type cb_type;
	uint8_t cb_vector;
	int cb_gsi;                  /* -1 none */
	bool cb_gsi_level;

	struct evtchn_table evtchn;
	struct gnttab gnttab;

	/* Frames the guest's balloon handed back and has not repopulated: one
	 * bit per gfn up to p.max_gfn, allocated at the first decrease (most
	 * domains never balloon). */
	uint64_t *balloon_map;
	uint64_t nr_ballooned;

	/* What XENMEM_memory_map answers: the e820 map the VMM built the guest
	 * with (xen_domain_set_memory_map); none: -ENOSYS. */
	struct xen_e820_entry {
		uint64_t addr, size;
		uint32_t type;
	} memmap[XEN_MEMMAP_MAX];
	unsigned int nr_memmap;

	unsigned int shutdown_code;  /* SCHEDOP_shutdown_code; ~0 = unset */
	bool shutting_down;

	uint64_t hcall_count[XEN_HCALL_COUNTED + 1];
	uint64_t hcall_enosys[XEN_HCALL_COUNTED + 1];
};

/* 0 or -errno; *d_r stays NULL on failure.  `mem` is the VMM's table and
 * must outlive the domain. */
int xen_domain_create(struct xen_domain **d_r, const struct xen_domain_params *p,
		      const struct xen_vmm_ops *ops, void *opaque, const struct guest_mem *mem);
void xen_domain_destroy(struct xen_domain *d);

/* Set an HVM param from the toolstack side (STORE_PFN, STORE_EVTCHN,
 * CONSOLE_PFN, CONSOLE_EVTCHN, ...).  0 or -EINVAL. */
int xen_domain_set_param(struct xen_domain *d, unsigned int index, uint64_t value);
uint64_t xen_domain_get_param(struct xen_domain *d, unsigned int index);

/* Host pointer to guest-physical [gpa, gpa+len): the shared_info and
 * grant-frame overlays first, then RAM.  NULL if not wholly inside one
 * page of overlay or one RAM region.  Lock held. */
void *xen_gpa_ptr(struct xen_domain *d, uint64_t gpa, uint64_t len);
/* RAM pages the guest holds now: what it was built with less what its
 * balloon gave back (xl's "Mem").  Takes the lock. */
uint64_t xen_domain_tot_pages(struct xen_domain *d);
/* The guest's memory map, for XENMEM_memory_map; at most XEN_MEMMAP_MAX
 * entries are kept (-E2BIG beyond). */
int xen_domain_set_memory_map(struct xen_domain *d, const struct xen_e820_entry *e, unsigned int n);
/* Latch the guest's word size (shared_info layout); tells the VMM.  Lock
 * held; called only for what the guest kernel did (a CPL-0 hypercall, the
 * hypercall-page MSR write), never for a user-mode process. */
void xen_domain_set_long_mode(struct xen_domain *d, bool long_mode);

/* --- called by the VMM's vCPU / timer threads (take the lock) -------------- */

/* The one-shot timer armed through xen_vmm_ops.timer_arm expired. */
void xen_vcpu_timer_expired(struct xen_domain *d, unsigned int vcpu);
/* For a vCPU the last hypercall left in XEN_HCALL_BLOCK/XEN_HCALL_POLL:
 * may it run again?  (event pending / polled port pending / deadline) */
bool xen_vcpu_wake_ready(struct xen_domain *d, unsigned int vcpu);
/* The VMM let the vCPU run again: leave the blocked/polling state. */
void xen_vcpu_unblock(struct xen_domain *d, unsigned int vcpu);
/* Runstate changes seen by the VMM (RUNSTATE_running/runnable/blocked/offline). */
void xen_vcpu_set_runstate(struct xen_domain *d, unsigned int vcpu, int state);
/* Refresh the userspace pvclock of `vcpu` (e.g. after the TSC changed). */
void xen_vcpu_update_time(struct xen_domain *d, unsigned int vcpu);

#endif
