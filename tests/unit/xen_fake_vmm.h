/*
 * A fake VMM for xen-compat tests: malloc'd guest RAM, a settable clock, a
 * toy page table (identity below RAM_SIZE plus remapped pages), and a
 * record of every callback xen-compat made.
 */
#ifndef TESTS_XEN_FAKE_VMM_H
#define TESTS_XEN_FAKE_VMM_H

#include <stdbool.h>
#include <stdint.h>

#include "xenkvm/guest_mem.h"
#include "xenkvm/hypercall.h"
#include "xenkvm/xen_domain.h"

#define FAKE_RAM_SIZE   (4u << 20)      /* guest RAM at gpa 0 */
#define FAKE_HIGH_GPA   0x10000000ull   /* a second 64 KiB RAM region */
#define FAKE_HIGH_SIZE  0x10000u
#define FAKE_MAX_VCPUS  4
#define FAKE_MAX_REMAPS 16
#define FAKE_MAX_OVERLAYS 80
#define FAKE_DOMID      7

struct fake_overlay {
	uint64_t gfn;
	void *hva;
};

struct xen_fake {
	struct guest_mem mem;
	uint8_t *ram, *high;
	struct xen_domain *d;
	struct xen_domain_params p;

	/* page table: remapped gva pages first, then identity below
	 * FAKE_RAM_SIZE; anything else faults */
	uint64_t remap_gva[FAKE_MAX_REMAPS], remap_gpa[FAKE_MAX_REMAPS];
	unsigned int nr_remaps;
	bool no_identity;

	uint64_t now;                 /* now_ns() */
	uint64_t tsc;                 /* read_tsc() */

	unsigned int injected[FAKE_MAX_VCPUS];
	uint8_t last_vector[FAKE_MAX_VCPUS];
	unsigned int kicks[FAKE_MAX_VCPUS];
	uint64_t timer[FAKE_MAX_VCPUS];
	unsigned int timer_arms[FAKE_MAX_VCPUS];
	int gsi_level[64];
	unsigned int gsi_changes;
	int intx_gsi;                 /* what pci_intx_to_gsi answers */
	unsigned int shutdowns;
	enum xen_shutdown_reason shutdown_reason;
	unsigned int shutdown_code;
	struct fake_overlay overlays[FAKE_MAX_OVERLAYS];
	unsigned int nr_overlays;
	unsigned int map_calls;
	unsigned int discard_calls;   /* ram_discard() */
	unsigned int discard_outside_ram;
	uint64_t discarded_bytes, last_discard_gpa, last_discard_len;
	uint64_t shinfo_gfn_told;
	uint64_t vcpu_info_told[FAKE_MAX_VCPUS];
	uint8_t upcall_vector_told[FAKE_MAX_VCPUS];
	bool long_mode_told;
	unsigned int long_mode_calls; /* long_mode_set() calls */
	char console[512];
	unsigned int console_len;

	/* in-kernel fast paths: off unless a test sets fast_* */
	bool fast_bind_ok;            /* evtchn_fast_bind accepts */
	int fast_raise_rc;            /* evtchn_raise's answer; set fast_raise to offer it */
	bool fast_raise;
	bool fast_table[4096];        /* the "kernel's" port table */
	uint32_t fast_be[4096];
	void (*fast_fn[4096])(void *, uint32_t);
	void *fast_opaque[4096];
	unsigned int fast_binds, fast_unbinds, fast_bad_ops;
	int fast_ipi_rc;              /* evtchn_fast_ipi's answer; set fast_ipi to offer it */
	bool fast_ipi;
	unsigned int fast_ipi_vcpu[4096]; /* an IPI port held: the vCPU it raises on (fast_be = 0) */
	unsigned int fast_ipi_binds;
	unsigned int raised;          /* evtchn_raise calls answered 0 */
	uint32_t last_raised_port;
	unsigned int last_raised_vcpu;
	uint32_t timer_virq[FAKE_MAX_VCPUS];
	unsigned int timer_virq_calls;
};

/* 0 or -errno.  Fills p with defaults first (nr_vcpus, domid 7, 4.17). */
int xen_fake_init(struct xen_fake *f, unsigned int nr_vcpus);
/* The same for a domain whose pvclock/runstate KVM maintains. */
int xen_fake_init_ex(struct xen_fake *f, unsigned int nr_vcpus, bool kernel_accel);
void xen_fake_fini(struct xen_fake *f);
/* A guest send on a port the fake "kernel" holds: what KVM would do (call
 * the handler as the VMM's I/O thread would).  -ENOENT if not held (or an
 * IPI port: KVM raises those itself). */
int xen_fake_kernel_send(struct xen_fake *f, uint32_t port);
/* Turn the fast-path callbacks on (they are NULL in the ops otherwise). */
int xen_fake_init_fast(struct xen_fake *f, unsigned int nr_vcpus);
/* Map guest virtual page `gva` to guest physical page `gpa`. */
void xen_fake_remap(struct xen_fake *f, uint64_t gva, uint64_t gpa);
/* Host pointer to guest physical memory (RAM only). */
void *xen_fake_gpa(struct xen_fake *f, uint64_t gpa);
/* The overlay page at gfn, or NULL. */
void *xen_fake_overlay(struct xen_fake *f, uint64_t gfn);

/* Issue a hypercall from vcpu in 64-bit (call64) or 32-bit (call32) mode,
 * CPL 0; returns rax sign-extended from the mode's width. */
long xen_fake_call64(struct xen_fake *f, unsigned int vcpu, uint64_t nr, uint64_t a0,
		     uint64_t a1, uint64_t a2);
long xen_fake_call32(struct xen_fake *f, unsigned int vcpu, uint64_t nr, uint64_t a0,
		     uint64_t a1, uint64_t a2);
/* Same with the full struct back (action, deadline). */
long xen_fake_call(struct xen_fake *f, struct xen_hcall *hc);

#endif
