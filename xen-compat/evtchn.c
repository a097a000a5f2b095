/*
 * 2-level event channels, as xen/event_channel.h and Xen's event_2l.c
 * define them.
 *
 * Raising port P (evtchn_set_pending):
 *   1. set bit P in shared_info.evtchn_pending; if it was already set, stop;
 *   2. if bit P in evtchn_mask is clear, set bit P/W (W = 64 or 32, the
 *      guest's word size) in the notify vCPU's vcpu_info.evtchn_pending_sel;
 *      if that was clear, set vcpu_info.evtchn_upcall_pending, and if THAT
 *      was clear, deliver the upcall (vector or GSI, see deliver_upcall);
 *   3. wake vCPUs polling P (SCHEDOP_poll).
 * The guest clears these bits itself, concurrently on other vCPUs, so every
 * access to them is atomic.  Unmask re-runs step 2 for a pending port:
 * that is how an event raised while masked gets delivered.
 *
 * Domain 0 (the backends inside xenkvmd) has its own small port space
 * (evtchn_table.be); an interdomain channel links a guest port to one.
 *
 * In-kernel fast paths (xen_vmm_ops.evtchn_*, all optional): a guest port
 * linked to a backend is offered to the VMM (port_fast_bind), and while the
 * VMM holds it (ports[].fast) the guest's sends on it never come here; every
 * path that unlinks the port takes it back first (port_fast_unbind), so the
 * VMM's table never names a port ours calls closed or unbound.  Raising a
 * port whose vCPU takes its upcall as a vector is offered to the VMM's own
 * 2-level delivery first; the bits are then written by one party only.
 * An IPI port is offered too (port_ipi_fast_bind), lazily at a send that
 * reached us, and taken back whenever the upcall route changes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xenkvm/evtchn.h"
#include "xenkvm/hypercall.h"
#include "xenkvm/log.h"
#include "xenkvm/xen_domain.h"
#include "xenkvm/xen_guest_access.h"
#include "xenkvm/xen_shinfo.h"
#include "xenkvm/xen_state.h"

static unsigned int nr_ports(const struct xen_domain *d)
{
	return XEN_2L_NR_PORTS(d->long_mode);
}

static bool port_valid(const struct xen_domain *d, evtchn_port_t port)
{
	return port < nr_ports(d);
}

static bool is_self(const struct xen_domain *d, domid_t dom)
{
	return dom == DOMID_SELF || dom == d->p.domid;
}

/* Xen hands out the lowest free port; port 0 is reserved. */
static int port_alloc(struct xen_domain *d, evtchn_port_t *port_r)
{
	struct evtchn_table *t = &d->evtchn;

	for (evtchn_port_t p = 1; p < nr_ports(d); p++) {
		if (t->ports[p].state == EVTCHNSTAT_closed) {
			t->ports[p] = (struct evtchn_port){ .state = EVTCHNSTAT_closed };
			t->nr_open++;
			*port_r = p;
			return 0;
		}
	}
	return -ENOSPC;
}

/* Offer the send side of a guest<->backend channel to the VMM. */
static void port_fast_bind(struct xen_domain *d, evtchn_port_t port)
{
	struct evtchn_port *p = &d->evtchn.ports[port];
	struct evtchn_be_port *be = &d->evtchn.be[p->u];

	if (d->vmm->evtchn_fast_bind && !p->fast &&
	    d->vmm->evtchn_fast_bind(d->opaque, port, p->u, be->fn, be->opaque) == 0)
		p->fast = true;
}

static void port_fast_unbind(struct xen_domain *d, evtchn_port_t port)
{
	struct evtchn_port *p = &d->evtchn.ports[port];

	if (p->fast) {
		d->vmm->evtchn_fast_unbind(d->opaque, port);
		p->fast = false;
	}
}

/* An IPI port the VMM can deliver itself: only where its upcall is a
 * vector (a GSI/INTx line stays ours).  Called at each send that reached
 * us, so a port the VMM declined for now is offered again. */
static void port_ipi_fast_bind(struct xen_domain *d, evtchn_port_t port)
{
	struct evtchn_port *p = &d->evtchn.ports[port];

	if (!d->vmm->evtchn_fast_ipi || p->fast || p->state != EVTCHNSTAT_ipi ||
	    p->vcpu >= d->p.nr_vcpus)
		return;
	if (!d->vcpus[p->vcpu].upcall_vector && d->cb_type != XEN_CB_VECTOR)
		return;
	if (d->vmm->evtchn_fast_ipi(d->opaque, port, p->vcpu) == 0) {
		p->fast = true;
		pr_trace(TRACE_EVTCHN, "evtchn: IPI port %u of vCPU %u delivered by the VMM", port, p->vcpu);
	}
}

/* The upcall route changed: take the IPI ports back; their next sends
 * offer them again under the new route. */
static void ipi_fast_unbind_all(struct xen_domain *d)
{
	for (evtchn_port_t p = 1; p < XEN_2L_MAX_PORTS; p++)
		if (d->evtchn.ports[p].state == EVTCHNSTAT_ipi)
			port_fast_unbind(d, p);
}

static void port_free(struct xen_domain *d, evtchn_port_t port)
{
	/* A closed port must not leave a stale pending bit for its next user. */
	xen_test_and_clear_bit(shinfo_evtchn_pending(d), port, d->long_mode);
	d->evtchn.ports[port] = (struct evtchn_port){ .state = EVTCHNSTAT_closed };
	d->evtchn.nr_open--;
}

static void deliver_upcall(struct xen_domain *d, unsigned int vcpu)
{
	struct xen_vcpu *v = &d->vcpus[vcpu];

	if (v->upcall_vector) {
		d->vmm->inject_vector(d->opaque, vcpu, v->upcall_vector);
	} else if (d->cb_type == XEN_CB_VECTOR) {
		d->vmm->inject_vector(d->opaque, vcpu, d->cb_vector);
	} else if (d->cb_type == XEN_CB_GSI && vcpu == 0 && !d->cb_gsi_level) {
		d->cb_gsi_level = true;
		d->vmm->set_gsi(d->opaque, (unsigned int)d->cb_gsi, true);
	}
	if ((v->blocked || v->polling) && d->vmm->kick_vcpu)
		d->vmm->kick_vcpu(d->opaque, vcpu);
}

void evtchn_mark_events_pending(struct xen_domain *d, unsigned int vcpu)
{
	uint8_t *vi = shinfo_vcpu_info(d, vcpu);

	if (!vi)
		return;
	__atomic_fetch_or(vi + XEN_VI_UPCALL_PENDING, 1, __ATOMIC_SEQ_CST);
	/* Xen injects only on the 0->1 edge of evtchn_upcall_pending, relying
	 * on its vLAPIC to hold the vector while the guest's APIC is still
	 * disabled.  KVM's LAPIC drops fixed interrupts then (early boot), and
	 * the guest would never hear of an event again: re-assert on every new
	 * event instead.  A spare upcall finds nothing and costs one IRQ. */
	deliver_upcall(d, vcpu);
}

/* Step 2 of the comment at the top, for port on its notify vCPU. */
static void port_signal_vcpu(struct xen_domain *d, evtchn_port_t port)
{
	unsigned int vcpu = d->evtchn.ports[port].vcpu;
	uint8_t *vi = shinfo_vcpu_info(d, vcpu);
	unsigned int word_bits = d->long_mode ? 64 : 32;

	if (!vi)
		return;
	xen_test_and_set_bit(vi + XEN_VI_PENDING_SEL(d->long_mode), port / word_bits, d->long_mode);
	evtchn_mark_events_pending(d, vcpu);
}

static void wake_pollers(struct xen_domain *d, evtchn_port_t port)
{
	for (unsigned int i = 0; i < d->p.nr_vcpus; i++) {
		struct xen_vcpu *v = &d->vcpus[i];

		if (!v->polling)
			continue;
		for (unsigned int j = 0; j < v->nr_poll; j++) {
			if (v->poll_ports[j] == port) {
				if (d->vmm->kick_vcpu)
					d->vmm->kick_vcpu(d->opaque, i);
				break;
			}
		}
	}
}

/* The VMM's own 2-level delivery, where it can inject the upcall (a
 * vector; a GSI/INTx line stays ours).  True if it took the event. */
static bool raise_in_vmm(struct xen_domain *d, evtchn_port_t port)
{
	unsigned int vcpu = d->evtchn.ports[port].vcpu;
	struct xen_vcpu *v;

	if (!d->vmm->evtchn_raise || vcpu >= d->p.nr_vcpus)
		return false;
	v = &d->vcpus[vcpu];
	if (!v->upcall_vector && d->cb_type != XEN_CB_VECTOR)
		return false;
	if (d->vmm->evtchn_raise(d->opaque, port, vcpu))
		return false;
	pr_trace(TRACE_EVTCHN, "evtchn: port %u raised by the VMM on vCPU %u", port, vcpu);
	if (v->blocked && d->vmm->kick_vcpu)
		d->vmm->kick_vcpu(d->opaque, vcpu);
	return true;
}

void evtchn_set_pending(struct xen_domain *d, evtchn_port_t port)
{
	bool lm = d->long_mode;

	if (!port_valid(d, port))
		return;
	if (raise_in_vmm(d, port)) {
		wake_pollers(d, port);
		return;
	}
	if (xen_test_and_set_bit(shinfo_evtchn_pending(d), port, lm)) {
		pr_trace(TRACE_EVTCHN, "evtchn: port %u already pending", port);
		return;
	}
	if (!xen_test_bit(shinfo_evtchn_mask(d), port, lm)) {
		pr_trace(TRACE_EVTCHN, "evtchn: raise port %u on vCPU %u", port, d->evtchn.ports[port].vcpu);
		port_signal_vcpu(d, port);
	} else {
		pr_trace(TRACE_EVTCHN, "evtchn: port %u pending, masked", port);
	}
	wake_pollers(d, port);
}

bool evtchn_is_pending(struct xen_domain *d, evtchn_port_t port)
{
	return port_valid(d, port) && xen_test_bit(shinfo_evtchn_pending(d), port, d->long_mode);
}

static bool virq_is_global(unsigned int virq)
{
	switch (virq) {
	case VIRQ_TIMER:
	case VIRQ_DEBUG:
	case VIRQ_XENOPROF:
	case VIRQ_XENPMU:
		return false;
	default:
		return true;
	}
}

void evtchn_send_virq(struct xen_domain *d, unsigned int vcpu, unsigned int virq)
{
	evtchn_port_t port;

	if (virq >= NR_VIRQS)
		return;
	/* Global VIRQs are bound through vCPU 0 and go to the port's vCPU. */
	if (virq_is_global(virq))
		vcpu = 0;
	if (vcpu >= d->p.nr_vcpus)
		return;
	port = d->vcpus[vcpu].virq_port[virq];
	if (port)
		evtchn_set_pending(d, port);
}

int evtchn_alloc_unbound(struct xen_domain *d, struct evtchn_alloc_unbound *op)
{
	evtchn_port_t port;
	int rc;

	if (op->dom == 0)
		return -EPERM;
	if (!is_self(d, op->dom))
		return -ESRCH;
	rc = port_alloc(d, &port);
	if (rc)
		return rc;
	d->evtchn.ports[port].state = EVTCHNSTAT_unbound;
	d->evtchn.ports[port].remote_dom = op->remote_dom == DOMID_SELF ? d->p.domid : op->remote_dom;
	op->port = port;
	return 0;
}

int evtchn_bind_interdomain(struct xen_domain *d, unsigned int vcpu,
			    struct evtchn_bind_interdomain *op)
{
	struct evtchn_table *t = &d->evtchn;
	evtchn_port_t lport, rport = op->remote_port;
	struct evtchn_be_port *be = NULL;
	int rc;

	if (is_self(d, op->remote_dom)) {
		if (!port_valid(d, rport) || t->ports[rport].state != EVTCHNSTAT_unbound ||
		    t->ports[rport].remote_dom != d->p.domid)
			return -EINVAL;
	} else if (op->remote_dom == 0) {
		if (rport == 0 || rport >= EVTCHN_BE_MAX_PORTS || !t->be[rport].open ||
		    t->be[rport].guest_port)
			return -EINVAL;
		be = &t->be[rport];
	} else {
		return -ESRCH;
	}
	rc = port_alloc(d, &lport);
	if (rc)
		return rc;
	t->ports[lport].state = EVTCHNSTAT_interdomain;
	t->ports[lport].u = rport;
	if (be) {
		t->ports[lport].remote_dom = 0;
		be->guest_port = lport;
		port_fast_bind(d, lport);
	} else {
		t->ports[lport].remote_dom = d->p.domid;
		t->ports[rport].state = EVTCHNSTAT_interdomain;
		t->ports[rport].u = lport;
	}
	op->local_port = lport;
	/* Notifications sent while the remote end was unbound were dropped:
	 * like Xen, raise the new port once so the guest looks at its ring. */
	evtchn_set_pending(d, lport);
	(void)vcpu;
	return 0;
}

int evtchn_bind_virq(struct xen_domain *d, struct evtchn_bind_virq *op)
{
	evtchn_port_t port;
	int rc;

	if (op->virq >= NR_VIRQS)
		return -EINVAL;
	if (virq_is_global(op->virq) && op->vcpu != 0)
		return -EINVAL;
	if (op->vcpu >= d->p.nr_vcpus)
		return -ENOENT;
	if (d->vcpus[op->vcpu].virq_port[op->virq])
		return -EEXIST;
	rc = port_alloc(d, &port);
	if (rc)
		return rc;
	d->evtchn.ports[port].state = EVTCHNSTAT_virq;
	d->evtchn.ports[port].u = op->virq;
	d->evtchn.ports[port].vcpu = op->vcpu;
	d->vcpus[op->vcpu].virq_port[op->virq] = port;
	if (op->virq == VIRQ_TIMER && d->vmm->timer_virq_set)
		d->vmm->timer_virq_set(d->opaque, op->vcpu, port);
	op->port = port;
	return 0;
}

int evtchn_bind_ipi(struct xen_domain *d, struct evtchn_bind_ipi *op)
{
	evtchn_port_t port;
	int rc;

	if (op->vcpu >= d->p.nr_vcpus)
		return -ENOENT;
	rc = port_alloc(d, &port);
	if (rc)
		return rc;
	d->evtchn.ports[port].state = EVTCHNSTAT_ipi;
	d->evtchn.ports[port].vcpu = op->vcpu;
	op->port = port;
	return 0;
}

int evtchn_bind_vcpu(struct xen_domain *d, struct evtchn_bind_vcpu *op)
{
	struct evtchn_port *p;

	if (op->vcpu >= d->p.nr_vcpus)
		return -ENOENT;
	if (!port_valid(d, op->port))
		return -EINVAL;
	p = &d->evtchn.ports[op->port];
	switch (p->state) {
	case EVTCHNSTAT_virq:
		if (!virq_is_global(p->u))
			return -EINVAL;
		break;
	case EVTCHNSTAT_unbound:
	case EVTCHNSTAT_interdomain:
		break;
	default:
		return -EINVAL;
	}
	p->vcpu = op->vcpu;
	return 0;
}

int evtchn_close(struct xen_domain *d, evtchn_port_t port)
{
	struct evtchn_table *t = &d->evtchn;
	struct evtchn_port *p;

	if (!port_valid(d, port))
		return -EINVAL;
	p = &t->ports[port];
	switch (p->state) {
	case EVTCHNSTAT_closed:
		return -EINVAL;
	case EVTCHNSTAT_virq:
		for (unsigned int i = 0; i < d->p.nr_vcpus; i++) {
			if (d->vcpus[i].virq_port[p->u] != port)
				continue;
			d->vcpus[i].virq_port[p->u] = 0;
			if (p->u == VIRQ_TIMER && d->vmm->timer_virq_set)
				d->vmm->timer_virq_set(d->opaque, i, 0);
		}
		break;
	case EVTCHNSTAT_ipi:
		port_fast_unbind(d, port);
		break;
	case EVTCHNSTAT_interdomain:
		/* The other end stays, unbound, waiting for us to bind again. */
		port_fast_unbind(d, port);
		if (p->remote_dom == 0) {
			if (p->u < EVTCHN_BE_MAX_PORTS && t->be[p->u].guest_port == port)
				t->be[p->u].guest_port = 0;
		} else if (port_valid(d, p->u) && t->ports[p->u].state == EVTCHNSTAT_interdomain) {
			t->ports[p->u].state = EVTCHNSTAT_unbound;
			t->ports[p->u].remote_dom = d->p.domid;
			t->ports[p->u].u = 0;
		}
		break;
	default:
		break;
	}
	port_free(d, port);
	return 0;
}

int evtchn_send(struct xen_domain *d, evtchn_port_t port, evtchn_backend_fn *fn_r,
		void **opaque_r, evtchn_port_t *be_r)
{
	struct evtchn_table *t = &d->evtchn;
	struct evtchn_port *p;

	*fn_r = NULL;
	if (!port_valid(d, port))
		return -EINVAL;
	p = &t->ports[port];
	switch (p->state) {
	case EVTCHNSTAT_interdomain:
		if (p->remote_dom == 0) {
			struct evtchn_be_port *be = &t->be[p->u];

			if (be->open && be->guest_port == port) {
				*fn_r = be->fn;
				*opaque_r = be->opaque;
				*be_r = p->u;
			}
		} else {
			evtchn_set_pending(d, p->u);
		}
		return 0;
	case EVTCHNSTAT_ipi:
		evtchn_set_pending(d, port);
		port_ipi_fast_bind(d, port);
		return 0;
	case EVTCHNSTAT_unbound:
		return 0; /* nobody listens yet: dropped, as in Xen */
	default:
		return -EINVAL;
	}
}

int evtchn_status(struct xen_domain *d, struct evtchn_status *op)
{
	const struct evtchn_port *p;

	if (op->dom == 0)
		return -EPERM;
	if (!is_self(d, op->dom))
		return -ESRCH;
	if (!port_valid(d, op->port))
		return -EINVAL;
	p = &d->evtchn.ports[op->port];
	memset(&op->u, 0, sizeof(op->u));
	op->status = p->state;
	op->vcpu = p->vcpu;
	switch (p->state) {
	case EVTCHNSTAT_unbound:
		op->u.unbound.dom = p->remote_dom;
		break;
	case EVTCHNSTAT_interdomain:
		op->u.interdomain.dom = p->remote_dom;
		op->u.interdomain.port = p->u;
		break;
	case EVTCHNSTAT_virq:
		op->u.virq = p->u;
		break;
	default:
		break;
	}
	return 0;
}

int evtchn_unmask(struct xen_domain *d, evtchn_port_t port)
{
	bool lm = d->long_mode;

	if (!port_valid(d, port))
		return -EINVAL;
	if (xen_test_and_clear_bit(shinfo_evtchn_mask(d), port, lm) &&
	    xen_test_bit(shinfo_evtchn_pending(d), port, lm))
		port_signal_vcpu(d, port);
	return 0;
}

int evtchn_reset(struct xen_domain *d, domid_t dom)
{
	if (dom == 0)
		return -EPERM;
	if (!is_self(d, dom))
		return -ESRCH;
	for (evtchn_port_t p = 1; p < XEN_2L_MAX_PORTS; p++)
		if (d->evtchn.ports[p].state != EVTCHNSTAT_closed)
			evtchn_close(d, p);
	return 0;
}

/* --- callback delivery ------------------------------------------------------ */

int evtchn_callback_set(struct xen_domain *d, uint64_t via)
{
	unsigned int type = (unsigned int)(via >> 56);
	int gsi = -1;

	if (d->cb_type == XEN_CB_GSI && d->cb_gsi_level) {
		d->vmm->set_gsi(d->opaque, (unsigned int)d->cb_gsi, false);
		d->cb_gsi_level = false;
	}
	d->cb_type = XEN_CB_NONE;
	d->cb_gsi = -1;
	switch (type) {
	case HVM_PARAM_CALLBACK_TYPE_VECTOR:
		d->cb_type = XEN_CB_VECTOR;
		d->cb_vector = (uint8_t)via;
		break;
	case HVM_PARAM_CALLBACK_TYPE_GSI:
		/* 0 turns the callback off; Linux writes 1 after setting per-vCPU
		 * vectors only to say it is PV-aware: never drive GSI 1 for it. */
		if ((uint32_t)via > 1)
			gsi = (int)(uint32_t)via;
		break;
	case HVM_PARAM_CALLBACK_TYPE_PCI_INTX:
		if (d->vmm->pci_intx_to_gsi)
			gsi = d->vmm->pci_intx_to_gsi(d->opaque, (uint16_t)(via >> 32),
						      (uint8_t)(via >> 16), (uint8_t)(via >> 8),
						      (uint8_t)(via & 3));
		if (gsi < 0)
			pr_warn_rl("callback via PCI INTx %#llx: no GSI for it\n",
				   (unsigned long long)via);
		break;
	default:
		pr_warn_rl("callback via type %u not supported\n", type);
		break;
	}
	if (gsi >= 0) {
		d->cb_type = XEN_CB_GSI;
		d->cb_gsi = gsi;
	}
	ipi_fast_unbind_all(d);
	if (d->vmm->callback_vector_set)
		d->vmm->callback_vector_set(d->opaque, d->cb_type == XEN_CB_VECTOR ? d->cb_vector : 0);
	/* Deliver what is already pending through the new route. */
	for (unsigned int i = 0; i < d->p.nr_vcpus; i++) {
		uint8_t *vi = shinfo_vcpu_info(d, i);

		if (vi && (__atomic_load_n(vi + XEN_VI_UPCALL_PENDING, __ATOMIC_SEQ_CST) & 1))
			deliver_upcall(d, i);
	}
	return 0;
}

int evtchn_upcall_vector_set(struct xen_domain *d, unsigned int vcpu, uint8_t vector)
{
	uint8_t *vi;

	if (vcpu >= d->p.nr_vcpus)
		return -ENOENT;
	if (vector < 0x10)
		return -EINVAL;
	d->vcpus[vcpu].upcall_vector = vector;
	ipi_fast_unbind_all(d);
	if (d->vmm->upcall_vector_set)
		d->vmm->upcall_vector_set(d->opaque, vcpu, vector);
	vi = shinfo_vcpu_info(d, vcpu);
	if (vi && (__atomic_load_n(vi + XEN_VI_UPCALL_PENDING, __ATOMIC_SEQ_CST) & 1))
		deliver_upcall(d, vcpu);
	return 0;
}

void xen_evtchn_callback_check(struct xen_domain *d)
{
	pthread_mutex_lock(&d->lock);
	if (d->cb_type == XEN_CB_GSI && d->cb_gsi_level) {
		uint8_t *vi = shinfo_vcpu_info(d, 0);

		if (!vi || !(__atomic_load_n(vi + XEN_VI_UPCALL_PENDING, __ATOMIC_SEQ_CST) & 1)) {
			d->cb_gsi_level = false;
			d->vmm->set_gsi(d->opaque, (unsigned int)d->cb_gsi, false);
		} else {
			/* Still pending after the guest's EOI: a VMM whose line
			 * drops at EOI (KVM's resampling irqfd) needs it raised again. */
			d->vmm->set_gsi(d->opaque, (unsigned int)d->cb_gsi, true);
		}
	}
	pthread_mutex_unlock(&d->lock);
}

/* --- the hypercall ------------------------------------------------------------ */

/* Copy the op in, run it, copy it back on success (Xen's pattern). */
#define EVTCHN_OP_INOUT(type, call)                                                   \
	do {                                                                          \
		type op_;                                                             \
		if (xen_copy_from_guest(d, hc, &op_, arg, sizeof(op_)))               \
			return -EFAULT;                                               \
		rc = call;                                                            \
		if (!rc && xen_copy_to_guest(d, hc, arg, &op_, sizeof(op_)))          \
			rc = -EFAULT;                                                 \
	} while (0)
#define EVTCHN_OP_IN(type, call)                                                      \
	do {                                                                          \
		type op_;                                                             \
		if (xen_copy_from_guest(d, hc, &op_, arg, sizeof(op_)))               \
			return -EFAULT;                                               \
		rc = call;                                                            \
	} while (0)

long evtchn_hcall(struct xen_domain *d, struct xen_hcall *hc)
{
	uint64_t cmd = hc->args[0], arg = hc->args[1];
	int rc;

	if (!hc->longmode)
		cmd = (uint32_t)cmd;
	switch (cmd) {
	case EVTCHNOP_alloc_unbound:
		EVTCHN_OP_INOUT(struct evtchn_alloc_unbound, evtchn_alloc_unbound(d, &op_));
		break;
	case EVTCHNOP_bind_interdomain:
		EVTCHN_OP_INOUT(struct evtchn_bind_interdomain,
				evtchn_bind_interdomain(d, hc->vcpu, &op_));
		break;
	case EVTCHNOP_bind_virq:
		EVTCHN_OP_INOUT(struct evtchn_bind_virq, evtchn_bind_virq(d, &op_));
		break;
	case EVTCHNOP_bind_ipi:
		EVTCHN_OP_INOUT(struct evtchn_bind_ipi, evtchn_bind_ipi(d, &op_));
		break;
	case EVTCHNOP_bind_vcpu:
		EVTCHN_OP_IN(struct evtchn_bind_vcpu, evtchn_bind_vcpu(d, &op_));
		break;
	case EVTCHNOP_close:
		EVTCHN_OP_IN(struct evtchn_close, evtchn_close(d, op_.port));
		break;
	case EVTCHNOP_send: {
		evtchn_backend_fn fn;
		void *opaque = NULL;
		evtchn_port_t be = 0;

		EVTCHN_OP_IN(struct evtchn_send, evtchn_send(d, op_.port, &fn, &opaque, &be));
		if (!rc && fn) {
			hc->be_fn = fn;
			hc->be_opaque = opaque;
			hc->be_port = be;
		}
		break;
	}
	case EVTCHNOP_status:
		EVTCHN_OP_INOUT(struct evtchn_status, evtchn_status(d, &op_));
		break;
	case EVTCHNOP_unmask:
		EVTCHN_OP_IN(struct evtchn_unmask, evtchn_unmask(d, op_.port));
		break;
	case EVTCHNOP_reset:
		EVTCHN_OP_IN(struct evtchn_reset, evtchn_reset(d, op_.dom));
		break;
	case EVTCHNOP_bind_pirq:
		rc = -EINVAL; /* no PIRQs: we never offer XENFEAT_hvm_pirqs */
		break;
	case EVTCHNOP_init_control:   /* FIFO ABI: -ENOSYS makes Linux use 2-level */
	case EVTCHNOP_expand_array:
	case EVTCHNOP_set_priority:
		rc = -ENOSYS;
		break;
	default:
		rc = xen_hcall_unknown_subop(d, hc, cmd);
		break;
	}
	return rc;
}

/* --- domain-0 side ------------------------------------------------------------ */

int evtchn_alloc_guest_unbound(struct xen_domain *d, domid_t remote, evtchn_port_t *port_r)
{
	struct evtchn_alloc_unbound op = { .dom = DOMID_SELF, .remote_dom = remote };
	int rc;

	pthread_mutex_lock(&d->lock);
	rc = evtchn_alloc_unbound(d, &op);
	pthread_mutex_unlock(&d->lock);
	if (!rc)
		*port_r = op.port;
	return rc;
}

static int be_alloc(struct evtchn_table *t, evtchn_backend_fn fn, void *opaque,
		    evtchn_port_t *be_r)
{
	for (evtchn_port_t p = 1; p < EVTCHN_BE_MAX_PORTS; p++) {
		if (!t->be[p].open) {
			t->be[p] = (struct evtchn_be_port){ .open = true, .fn = fn, .opaque = opaque };
			t->nr_be_open++;
			*be_r = p;
			return 0;
		}
	}
	return -ENOSPC;
}

int evtchn_backend_alloc(struct xen_domain *d, evtchn_backend_fn fn, void *opaque,
			 evtchn_port_t *be_port_r)
{
	int rc;

	pthread_mutex_lock(&d->lock);
	rc = be_alloc(&d->evtchn, fn, opaque, be_port_r);
	pthread_mutex_unlock(&d->lock);
	return rc;
}

int evtchn_backend_bind(struct xen_domain *d, evtchn_port_t guest_port, evtchn_backend_fn fn,
			void *opaque, evtchn_port_t *be_port_r)
{
	struct evtchn_table *t = &d->evtchn;
	evtchn_port_t be;
	int rc = -EINVAL;

	pthread_mutex_lock(&d->lock);
	if (!port_valid(d, guest_port) || t->ports[guest_port].state != EVTCHNSTAT_unbound ||
	    t->ports[guest_port].remote_dom != 0)
		goto out;
	rc = be_alloc(t, fn, opaque, &be);
	if (rc)
		goto out;
	t->be[be].guest_port = guest_port;
	t->ports[guest_port].state = EVTCHNSTAT_interdomain;
	t->ports[guest_port].remote_dom = 0;
	t->ports[guest_port].u = be;
	port_fast_bind(d, guest_port);
	*be_port_r = be;
out:
	pthread_mutex_unlock(&d->lock);
	return rc;
}

int evtchn_backend_channel(struct xen_domain *d, evtchn_backend_fn fn, void *opaque,
			   evtchn_port_t *guest_port_r, evtchn_port_t *be_port_r)
{
	int rc = evtchn_alloc_guest_unbound(d, 0, guest_port_r);

	return rc ? rc : evtchn_backend_bind(d, *guest_port_r, fn, opaque, be_port_r);
}

static struct evtchn_be_port *be_get(struct xen_domain *d, evtchn_port_t be)
{
	if (be == 0 || be >= EVTCHN_BE_MAX_PORTS || !d->evtchn.be[be].open)
		return NULL;
	return &d->evtchn.be[be];
}

int evtchn_backend_notify(struct xen_domain *d, evtchn_port_t be_port)
{
	struct evtchn_be_port *be;
	int rc = -EINVAL;

	pthread_mutex_lock(&d->lock);
	be = be_get(d, be_port);
	if (be) {
		if (be->guest_port)
			evtchn_set_pending(d, be->guest_port);
		rc = 0;
	}
	pthread_mutex_unlock(&d->lock);
	return rc;
}

int evtchn_backend_close(struct xen_domain *d, evtchn_port_t be_port)
{
	struct evtchn_table *t = &d->evtchn;
	struct evtchn_be_port *be;
	int rc = -EINVAL;

	pthread_mutex_lock(&d->lock);
	be = be_get(d, be_port);
	if (be) {
		evtchn_port_t gp = be->guest_port;

		if (gp && t->ports[gp].state == EVTCHNSTAT_interdomain &&
		    t->ports[gp].remote_dom == 0 && t->ports[gp].u == be_port) {
			port_fast_unbind(d, gp);
			t->ports[gp].state = EVTCHNSTAT_unbound;
			t->ports[gp].u = 0;
		}
		*be = (struct evtchn_be_port){ 0 };
		t->nr_be_open--;
		rc = 0;
	}
	pthread_mutex_unlock(&d->lock);
	return rc;
}

evtchn_port_t evtchn_backend_peer(struct xen_domain *d, evtchn_port_t be_port)
{
	struct evtchn_be_port *be;
	evtchn_port_t gp = 0;

	pthread_mutex_lock(&d->lock);
	be = be_get(d, be_port);
	if (be)
		gp = be->guest_port;
	pthread_mutex_unlock(&d->lock);
	return gp;
}

unsigned int evtchn_backend_nr_open(struct xen_domain *d)
{
	unsigned int n;

	pthread_mutex_lock(&d->lock);
	n = d->evtchn.nr_be_open;
	pthread_mutex_unlock(&d->lock);
	return n;
}

int evtchn_backend_reattach(struct xen_domain *d, evtchn_port_t be_port, evtchn_backend_fn fn,
			    void *opaque)
{
	struct evtchn_be_port *be;
	int rc = -EINVAL;

	pthread_mutex_lock(&d->lock);
	be = be_get(d, be_port);
	if (be) {
		evtchn_port_t gp = be->guest_port;

		if (gp)
			port_fast_unbind(d, gp);
		be->fn = fn;
		be->opaque = opaque;
		if (gp && fn)
			port_fast_bind(d, gp);
		rc = 0;
	}
	pthread_mutex_unlock(&d->lock);
	return rc;
}

/* --- save / restore (XEN_STATE_EVTCHN) -------------------------------------------
 * The port table and the backend ports' links.  Pending and mask bits are
 * in shared_info (the domain section); the VMM's fast-path bindings and
 * backend handlers are this process's and are made again on load. */

void evtchn_state_save(struct xen_domain *d, struct state_writer *w)
{
	const struct evtchn_table *t = &d->evtchn;
	uint32_t nr = 1, nr_be = 1;

	for (uint32_t p = 1; p < XEN_2L_MAX_PORTS; p++)
		if (t->ports[p].state != EVTCHNSTAT_closed)
			nr = p + 1;
	for (uint32_t p = 1; p < EVTCHN_BE_MAX_PORTS; p++)
		if (t->be[p].open)
			nr_be = p + 1;
	state_section_begin(w, XEN_STATE_EVTCHN, XEN_STATE_EVTCHN_VERSION);
	state_put_u32(w, nr);
	for (uint32_t p = 1; p < nr; p++) {
		state_put_u8(w, t->ports[p].state);
		state_put_u16(w, t->ports[p].remote_dom);
		state_put_u32(w, t->ports[p].vcpu);
		state_put_u32(w, t->ports[p].u);
	}
	state_put_u32(w, nr_be);
	for (uint32_t p = 1; p < nr_be; p++) {
		state_put_u8(w, t->be[p].open);
		state_put_u32(w, t->be[p].guest_port);
	}
	state_section_end(w);
}

/* Whose virq_port[] names a VIRQ port: global VIRQs are bound through
 * vCPU 0 whichever vCPU they notify (evtchn_send_virq). */
static unsigned int virq_slot(const struct evtchn_port *p)
{
	return virq_is_global(p->u) ? 0 : p->vcpu;
}

/* Every link must point back at its other end, as the ops leave them. */
static void check_port(struct xen_domain *d, struct state_section *s, const struct evtchn_table *t,
		       uint32_t nr, uint32_t nr_be, evtchn_port_t port)
{
	const struct evtchn_port *p = &t->ports[port];

	if (p->state == EVTCHNSTAT_closed)
		return;
	if (p->vcpu >= d->p.nr_vcpus) {
		state_section_fail(s, EINVAL, "port %u notifies vCPU %u of %u", port, p->vcpu,
				   d->p.nr_vcpus);
		return;
	}
	switch (p->state) {
	case EVTCHNSTAT_unbound:
		if (p->u || (p->remote_dom >= DOMID_FIRST_RESERVED))
			state_section_fail(s, EINVAL, "unbound port %u waits for domain %u", port,
					   p->remote_dom);
		break;
	case EVTCHNSTAT_interdomain:
		if (p->remote_dom == 0) {
			if (!p->u || p->u >= nr_be || !t->be[p->u].open || t->be[p->u].guest_port != port)
				state_section_fail(s, EINVAL, "port %u names backend port %u, "
						   "which does not name it back", port, p->u);
		} else if (p->remote_dom == d->p.domid) {
			if (!p->u || p->u >= nr || t->ports[p->u].state != EVTCHNSTAT_interdomain ||
			    t->ports[p->u].remote_dom != d->p.domid || t->ports[p->u].u != port)
				state_section_fail(s, EINVAL, "port %u names port %u, "
						   "which does not name it back", port, p->u);
		} else {
			state_section_fail(s, EINVAL, "port %u is bound to domain %u, "
					   "which this host does not have", port, p->remote_dom);
		}
		break;
	case EVTCHNSTAT_virq:
		/* A global VIRQ may notify any vCPU (EVTCHNOP_bind_vcpu). */
		if (p->u >= NR_VIRQS)
			state_section_fail(s, EINVAL, "port %u: VIRQ %u", port, p->u);
		break;
	case EVTCHNSTAT_ipi:
		if (p->u || p->remote_dom)
			state_section_fail(s, EINVAL, "IPI port %u with a peer", port);
		break;
	default:
		state_section_fail(s, EINVAL, "port %u in state %u", port, p->state);
		break;
	}
}

int evtchn_state_load(struct xen_domain *d, struct state_section *s)
{
	struct evtchn_table *t = &d->evtchn, *n = calloc(1, sizeof(*n));
	uint32_t nr = 0, nr_be = 0, virq_seen[XEN_MAX_VCPUS] = { 0 };

	if (!n)
		return -ENOMEM;
	state_get_u32(s, &nr);
	if (!state_section_failed(s) && (!nr || nr > nr_ports(d)))
		state_section_fail(s, EINVAL, "%u ports, the domain has %u (%s layout)", nr,
				   nr_ports(d), d->long_mode ? "64-bit" : "32-bit");
	for (uint32_t p = 1; p < nr && !state_section_failed(s); p++) {
		struct evtchn_port *q = &n->ports[p];
		uint16_t rd;

		state_get_u8(s, &q->state);
		state_get_u16(s, &rd);
		state_get_u32(s, &q->vcpu);
		state_get_u32(s, &q->u);
		q->remote_dom = rd;
		if (q->state != EVTCHNSTAT_closed)
			n->nr_open++;
	}
	state_get_u32(s, &nr_be);
	if (!state_section_failed(s) && (!nr_be || nr_be > EVTCHN_BE_MAX_PORTS))
		state_section_fail(s, EINVAL, "%u backend ports, at most %u", nr_be,
				   EVTCHN_BE_MAX_PORTS);
	for (uint32_t p = 1; p < nr_be && !state_section_failed(s); p++) {
		state_get_bool(s, &n->be[p].open);
		state_get_u32(s, &n->be[p].guest_port);
		if (n->be[p].open)
			n->nr_be_open++;
		else if (n->be[p].guest_port)
			state_section_fail(s, EINVAL, "closed backend port %u names port %u", p,
					   n->be[p].guest_port);
	}
	for (uint32_t p = 1; p < nr_be && !state_section_failed(s); p++) {
		evtchn_port_t gp = n->be[p].guest_port;

		if (gp && (gp >= nr || n->ports[gp].state != EVTCHNSTAT_interdomain ||
			   n->ports[gp].remote_dom != 0 || n->ports[gp].u != p))
			state_section_fail(s, EINVAL, "backend port %u names port %u, "
					   "which does not name it back", p, gp);
	}
	for (uint32_t p = 1; p < nr && !state_section_failed(s); p++)
		check_port(d, s, n, nr, nr_be, p);
	for (uint32_t p = 1; p < nr && !state_section_failed(s); p++) {
		const struct evtchn_port *q = &n->ports[p];

		if (q->state != EVTCHNSTAT_virq)
			continue;
		if (virq_seen[virq_slot(q)] >> q->u & 1)
			state_section_fail(s, EINVAL, "VIRQ %u of vCPU %u bound twice", q->u,
					   virq_slot(q));
		virq_seen[virq_slot(q)] |= 1u << q->u;
	}
	if (state_section_failed(s) || s->pos != s->len) {
		free(n);
		return 0;
	}

	/* Undo what the fresh domain told the VMM, then take the saved table;
	 * backend ports open on both sides keep the fresh backend's handler. */
	for (evtchn_port_t p = 1; p < XEN_2L_MAX_PORTS; p++)
		port_fast_unbind(d, p);
	for (unsigned int v = 0; v < d->p.nr_vcpus; v++) {
		if (d->vcpus[v].virq_port[VIRQ_TIMER] && d->vmm->timer_virq_set)
			d->vmm->timer_virq_set(d->opaque, v, 0);
		memset(d->vcpus[v].virq_port, 0, sizeof(d->vcpus[v].virq_port));
	}
	for (uint32_t p = 1; p < EVTCHN_BE_MAX_PORTS; p++) {
		if (n->be[p].open && t->be[p].open) {
			n->be[p].fn = t->be[p].fn;
			n->be[p].opaque = t->be[p].opaque;
		}
	}
	memcpy(t, n, sizeof(*t));
	free(n);
	for (evtchn_port_t p = 1; p < XEN_2L_MAX_PORTS; p++) {
		struct evtchn_port *q = &t->ports[p];

		if (q->state == EVTCHNSTAT_virq) {
			d->vcpus[virq_slot(q)].virq_port[q->u] = p;
			if (q->u == VIRQ_TIMER && d->vmm->timer_virq_set)
				d->vmm->timer_virq_set(d->opaque, q->vcpu, p);
		} else if (q->state == EVTCHNSTAT_interdomain && q->remote_dom == 0 &&
			   t->be[q->u].fn) {
			port_fast_bind(d, p);
		}
	}
	/* Deliver what was pending at the save through the restored route
	 * (a spurious upcall is harmless: the guest scans its bits). */
	for (unsigned int v = 0; v < d->p.nr_vcpus; v++) {
		uint8_t *vi = shinfo_vcpu_info(d, v);

		if (vi && (__atomic_load_n(vi + XEN_VI_UPCALL_PENDING, __ATOMIC_SEQ_CST) & 1))
			deliver_upcall(d, v);
	}
	return 0;
}
