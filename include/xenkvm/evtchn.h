/*
 * 2-level event channels (xen/event_channel.h): the guest's port table,
 * the pending/mask bits in shared_info, the per-vCPU selector and the
 * upcall, plus the domain-0 side used by backends living in xenkvmd.
 *
 * Backends (xenstore, console, blkback, netback) act as domain 0: they bind
 * to a guest port the toolstack allocated for them (evtchn_backend_bind)
 * or offer one the guest binds (evtchn_backend_alloc), notify with
 * evtchn_backend_notify(), and get their handler called when the guest
 * sends on its end.  The handler runs without xen-compat locks held, on the
 * sending vCPU's thread, or on the VMM's I/O thread when the VMM handles
 * the guest's send itself (xen_vmm_ops.evtchn_fast_bind); it should only
 * signal the backend's own thread.  It may still run once right after
 * evtchn_backend_close() returned.
 */
#ifndef XENKVM_EVTCHN_H
#define XENKVM_EVTCHN_H

#include <stdbool.h>
#include <stdint.h>

#include "xenkvm/xen_abi.h"

struct xen_domain;
struct xen_hcall;

#define EVTCHN_BE_MAX_PORTS 256

typedef void (*evtchn_backend_fn)(void *opaque, evtchn_port_t be_port);

struct evtchn_port {
	uint8_t state;        /* EVTCHNSTAT_* */
	bool fast;            /* interdomain to dom0, sends handled by the VMM (evtchn_fast_bind) */
	uint16_t remote_dom;  /* unbound: who may bind; interdomain: the peer */
	uint32_t vcpu;        /* notify vCPU */
	uint32_t u;           /* virq number, or peer port (interdomain) */
};

struct evtchn_be_port {
	bool open;
	evtchn_port_t guest_port;  /* 0: unbound, waiting for the guest */
	evtchn_backend_fn fn;
	void *opaque;
};

struct evtchn_table {
	struct evtchn_port ports[XEN_2L_MAX_PORTS];
	struct evtchn_be_port be[EVTCHN_BE_MAX_PORTS];
	unsigned int nr_open;      /* guest ports not closed */
	unsigned int nr_be_open;
};

/* The event_channel_op hypercall (one function per sub-op below). */
long evtchn_hcall(struct xen_domain *d, struct xen_hcall *hc);

/* Sub-ops on an already copied-in argument; domain lock held; 0 or -errno.
 * `vcpu` is the calling vCPU. */
int evtchn_alloc_unbound(struct xen_domain *d, struct evtchn_alloc_unbound *op);
int evtchn_bind_interdomain(struct xen_domain *d, unsigned int vcpu,
			    struct evtchn_bind_interdomain *op);
int evtchn_bind_virq(struct xen_domain *d, struct evtchn_bind_virq *op);
int evtchn_bind_ipi(struct xen_domain *d, struct evtchn_bind_ipi *op);
int evtchn_bind_vcpu(struct xen_domain *d, struct evtchn_bind_vcpu *op);
int evtchn_close(struct xen_domain *d, evtchn_port_t port);
/* A backend peer is not called here: its handler comes back in fn_r,
 * opaque_r, be_r for the caller to run after unlocking. */
int evtchn_send(struct xen_domain *d, evtchn_port_t port, evtchn_backend_fn *fn_r,
		void **opaque_r, evtchn_port_t *be_r);
int evtchn_status(struct xen_domain *d, struct evtchn_status *op);
int evtchn_unmask(struct xen_domain *d, evtchn_port_t port);
int evtchn_reset(struct xen_domain *d, domid_t dom);

/* Raise `port` (2-level set_pending + upcall + pollers).  Lock held. */
void evtchn_set_pending(struct xen_domain *d, evtchn_port_t port);
/* Deliver a VIRQ bound on `vcpu` (per-vCPU) or vCPU 0 (global), if bound. */
void evtchn_send_virq(struct xen_domain *d, unsigned int vcpu, unsigned int virq);
/* Is `port` pending in shared_info?  (SCHEDOP_poll) */
bool evtchn_is_pending(struct xen_domain *d, evtchn_port_t port);
/* Set evtchn_upcall_pending on `vcpu` and deliver the upcall on 0->1. */
void evtchn_mark_events_pending(struct xen_domain *d, unsigned int vcpu);

/* Callback delivery (HVM_PARAM_CALLBACK_IRQ, HVMOP_set_evtchn_upcall_vector). */
int evtchn_callback_set(struct xen_domain *d, uint64_t via);
int evtchn_upcall_vector_set(struct xen_domain *d, unsigned int vcpu, uint8_t vector);
/*
 * GSI/INTx callbacks are level-triggered on vCPU 0's evtchn_upcall_pending,
 * which the guest clears by plain memory write.  The VMM calls this when
 * the line may have been acknowledged (resample/EOI notification, and on
 * exits of vCPU 0) to lower it once the guest has cleared the flag, or to
 * raise it again (set_gsi(true)) if the flag is still set.
 */
void xen_evtchn_callback_check(struct xen_domain *d);

/* --- domain-0 (backend) side; each takes the domain lock ------------------- */

/* A guest port in state unbound waiting for `remote` (the store/console
 * event channels the toolstack creates at build time). */
int evtchn_alloc_guest_unbound(struct xen_domain *d, domid_t remote, evtchn_port_t *port_r);
int evtchn_backend_alloc(struct xen_domain *d, evtchn_backend_fn fn, void *opaque,
			 evtchn_port_t *be_port_r);
int evtchn_backend_bind(struct xen_domain *d, evtchn_port_t guest_port, evtchn_backend_fn fn,
			void *opaque, evtchn_port_t *be_port_r);
/* Both ends of a channel the toolstack sets up at build time (XenStore,
 * console): a guest port already bound to our backend port. */
int evtchn_backend_channel(struct xen_domain *d, evtchn_backend_fn fn, void *opaque,
			   evtchn_port_t *guest_port_r, evtchn_port_t *be_port_r);
/* 0, or -EINVAL for a port that is not open.  Unbound: dropped, as Xen does. */
int evtchn_backend_notify(struct xen_domain *d, evtchn_port_t be_port);
int evtchn_backend_close(struct xen_domain *d, evtchn_port_t be_port);
/* Guest port the backend port is connected to, or 0. */
evtchn_port_t evtchn_backend_peer(struct xen_domain *d, evtchn_port_t be_port);
unsigned int evtchn_backend_nr_open(struct xen_domain *d);

#endif
