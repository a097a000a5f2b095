/*
 * Saving and loading xen-compat's share of a domain's state
 * (docs/SAVE-FORMAT.md): each module writes and reads its own section of
 * the state stream (include/xenkvm/state_stream.h).
 *
 * Save: the VMM pauses every vCPU (and the io thread's work on the
 * domain), then calls xen_domain_save() and xs_store_save() among its own
 * sections.  Load: the VMM builds a fresh domain from the same config (so
 * the build-time channels, xenstore and console, are set up again in the
 * same order), lists xen_domain_state_handlers() and xs_store_state_handler()
 * with its own handlers in state_load(), and runs the vCPUs once that
 * succeeded.  A failed load leaves the domain half restored: destroy it.
 *
 * Loading calls the VMM's xen_vmm_ops as the guest's own hypercalls did
 * (map_page for shared_info and grant frames, long_mode_set, *_set,
 * timer_arm, timer_virq_set, evtchn_fast_bind), so the VMM restores from
 * its own sections only what KVM holds beyond that (vCPU registers, the
 * LAPIC, KVM's Xen timers and runstate data, guest RAM, the clock).
 */
#ifndef XENKVM_XEN_STATE_H
#define XENKVM_XEN_STATE_H

#include "xenkvm/evtchn.h"
#include "xenkvm/state_stream.h"

struct xen_domain;
struct xs_store;
struct xs_client;

#define XEN_STATE_DOMAIN    (STATE_ID_XEN_BASE + 1)  /* xen_domain_state.c */
#define XEN_STATE_EVTCHN    (STATE_ID_XEN_BASE + 2)  /* evtchn.c */
#define XEN_STATE_GNTTAB    (STATE_ID_XEN_BASE + 3)  /* gnttab.c */
#define XEN_STATE_XENSTORE  (STATE_ID_XEN_BASE + 4)  /* xenstore/store_state.c */
#define XEN_STATE_XS_CONN   (STATE_ID_XEN_BASE + 5)  /* xenstore/wire_state.c */
#define XEN_STATE_PV_CONSOLE (STATE_ID_XEN_BASE + 6) /* pv_console.c */
#define XEN_STATE_BLKBACK   (STATE_ID_XEN_BASE + 7)  /* blkback/blkback_state.c; one per disk */
#define XEN_STATE_NETBACK   (STATE_ID_XEN_BASE + 8)  /* netback/netback_state.c; one per vif */

/* The newest version of each this build writes and reads. */
#define XEN_STATE_DOMAIN_VERSION    1u
#define XEN_STATE_EVTCHN_VERSION    1u
#define XEN_STATE_GNTTAB_VERSION    1u
#define XEN_STATE_XENSTORE_VERSION  1u
#define XEN_STATE_XS_CONN_VERSION   1u
#define XEN_STATE_PV_CONSOLE_VERSION 1u
#define XEN_STATE_BLKBACK_VERSION   1u
#define XEN_STATE_NETBACK_VERSION   1u

#define XEN_STATE_NR_HANDLERS 3

/* What the domain's loaders share: sections must come in the order
 * xen_domain_save() writes them (the domain section first). */
struct xen_state_load {
	struct xen_domain *d;
	bool have_domain, have_evtchn;
};

/* The domain, event-channel and grant-table sections.  Takes the domain
 * lock.  0 or -errno (message in state_writer_error()). */
int xen_domain_save(struct xen_domain *d, struct state_writer *w);
/* Fills h[0 .. XEN_STATE_NR_HANDLERS) for state_load(); ctx must live
 * until the load is done. */
void xen_domain_state_handlers(struct xen_domain *d, struct xen_state_load *ctx,
			       struct state_handler *h);

/* Per module; lock held (xen_domain_save / the handlers take it). */
void evtchn_state_save(struct xen_domain *d, struct state_writer *w);
int evtchn_state_load(struct xen_domain *d, struct state_section *s);
void gnttab_state_save(struct xen_domain *d, struct state_writer *w);
int gnttab_state_load(struct xen_domain *d, struct state_section *s);

/*
 * A backend port open in the saved domain but not (yet) claimed in the
 * fresh one has no handler: sends on it are dropped until the backend
 * restoring its connection claims it here (the build-time channels keep
 * the handlers their fresh backends registered).  0 or -EINVAL.
 */
int evtchn_backend_reattach(struct xen_domain *d, evtchn_port_t be_port, evtchn_backend_fn fn,
			    void *opaque);

/*
 * The whole XenStore: tree with permissions, introduced domains, quotas,
 * and the watches and transactions of the clients the caller names
 * (the guest's ring connection; in-process backends keep their own).
 * Transactions are not carried: a restored client's open transaction ids
 * exist again but their commit fails with EAGAIN, so the guest retries
 * (docs/SAVE-FORMAT.md).
 */
int xs_store_save(struct xs_store *s, struct xs_client *const *clients, unsigned int nr,
		  struct state_writer *w);
struct xs_state_load {
	struct xs_store *s;
	struct xs_client *const *clients;
	unsigned int nr;
};
void xs_store_state_handler(struct xs_state_load *ctx, struct state_handler *h);

/* The guest's XenStore connection: a request read in part and the replies
 * and events not yet written to its ring (one connection, the guest's).
 * Loading replaces only those; the connection's client is the one named
 * to xs_store_save / the xenstore section. */
struct xs_conn;
void xs_conn_state_save(struct xs_conn *conn, struct state_writer *w);
void xs_conn_state_handler(struct xs_conn *conn, struct state_handler *h);

/* The PV console's own ring indices (the ring itself is guest RAM).  Load
 * into a console started from the same config; it then pumps the ring. */
struct pv_console;
void pv_console_state_save(struct pv_console *pc, struct state_writer *w);
void pv_console_state_handler(struct pv_console *pc, struct state_handler *h);

#endif
