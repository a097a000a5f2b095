/* Event channels: every op, the port state machine, 2-level delivery,
 * callback routes, the backend (domain 0) side, SCHEDOP_poll. */
#include <CUnit/Basic.h>
#include <errno.h>
#include <string.h>

#include "cunit_run.h"
#include "xen_fake_vmm.h"
#include "xenkvm/bench_echo.h"
#include "xenkvm/evtchn.h"
#include "xenkvm/xen_shinfo.h"

#define ARG 0x2000ull /* where ops are placed in guest memory (identity-mapped) */

static struct xen_fake F;

static int fresh(unsigned int vcpus)
{
	xen_fake_fini(&F);
	return xen_fake_init(&F, vcpus);
}

static int setup(void)
{
	return xen_fake_init(&F, 3);
}

static int teardown(void)
{
	xen_fake_fini(&F);
	return 0;
}

static long op_mode(bool lm, unsigned int vcpu, unsigned int cmd, void *op, size_t len)
{
	long rc;

	memcpy(xen_fake_gpa(&F, ARG), op, len);
	if (lm)
		rc = xen_fake_call64(&F, vcpu, __HYPERVISOR_event_channel_op, cmd, ARG, 0);
	else
		rc = xen_fake_call32(&F, vcpu, __HYPERVISOR_event_channel_op, cmd, ARG, 0);
	memcpy(op, xen_fake_gpa(&F, ARG), len);
	return rc;
}

static long op(unsigned int cmd, void *o, size_t len)
{
	return op_mode(true, 0, cmd, o, len);
}

static evtchn_port_t alloc_unbound(domid_t remote)
{
	struct evtchn_alloc_unbound a = { .dom = DOMID_SELF, .remote_dom = remote };

	CU_ASSERT_EQUAL_FATAL(op(EVTCHNOP_alloc_unbound, &a, sizeof(a)), 0);
	return a.port;
}

static evtchn_port_t bind_ipi(unsigned int vcpu)
{
	struct evtchn_bind_ipi b = { .vcpu = vcpu };

	CU_ASSERT_EQUAL_FATAL(op(EVTCHNOP_bind_ipi, &b, sizeof(b)), 0);
	return b.port;
}

static long send(evtchn_port_t port)
{
	struct evtchn_send s = { .port = port };

	return op(EVTCHNOP_send, &s, sizeof(s));
}

static long ev_close(evtchn_port_t port)
{
	struct evtchn_close c = { .port = port };

	return op(EVTCHNOP_close, &c, sizeof(c));
}

static struct evtchn_status status(evtchn_port_t port)
{
	struct evtchn_status st = { .dom = DOMID_SELF, .port = port };

	CU_ASSERT_EQUAL(op(EVTCHNOP_status, &st, sizeof(st)), 0);
	return st;
}

static bool pending(evtchn_port_t p)
{
	return xen_test_bit(shinfo_evtchn_pending(F.d), p, F.d->long_mode);
}

static long set_param(bool lm, unsigned int index, uint64_t value)
{
	struct xen_hvm_param hp = { .domid = DOMID_SELF, .index = index, .value = value };

	memcpy(xen_fake_gpa(&F, ARG), &hp, sizeof(hp));
	if (lm)
		return xen_fake_call64(&F, 0, __HYPERVISOR_hvm_op, HVMOP_set_param, ARG, 0);
	return xen_fake_call32(&F, 0, __HYPERVISOR_hvm_op, HVMOP_set_param, ARG, 0);
}

static uint8_t *vi(unsigned int vcpu)
{
	return F.d->shinfo + vcpu * 64;
}

static void clear_upcall(unsigned int vcpu)
{
	memset(vi(vcpu), 0, 16);
}

static void test_alloc_unbound_status(void)
{
	struct evtchn_alloc_unbound a = { .dom = DOMID_SELF, .remote_dom = 0 };
	struct evtchn_status st;
	evtchn_port_t p;

	CU_ASSERT_EQUAL(op(EVTCHNOP_alloc_unbound, &a, sizeof(a)), 0);
	CU_ASSERT_EQUAL(a.port, 1); /* lowest free, port 0 reserved */
	st = status(a.port);
	CU_ASSERT_EQUAL(st.status, EVTCHNSTAT_unbound);
	CU_ASSERT_EQUAL(st.u.unbound.dom, 0);
	a = (struct evtchn_alloc_unbound){ .dom = FAKE_DOMID, .remote_dom = DOMID_SELF };
	CU_ASSERT_EQUAL(op(EVTCHNOP_alloc_unbound, &a, sizeof(a)), 0);
	CU_ASSERT_EQUAL(status(a.port).u.unbound.dom, FAKE_DOMID);
	a.dom = 0;
	CU_ASSERT_EQUAL(op(EVTCHNOP_alloc_unbound, &a, sizeof(a)), -EPERM);
	a.dom = 3;
	CU_ASSERT_EQUAL(op(EVTCHNOP_alloc_unbound, &a, sizeof(a)), -ESRCH);
	st = (struct evtchn_status){ .dom = 3, .port = 1 };
	CU_ASSERT_EQUAL(op(EVTCHNOP_status, &st, sizeof(st)), -ESRCH);
	st = (struct evtchn_status){ .dom = DOMID_SELF, .port = 4096 };
	CU_ASSERT_EQUAL(op(EVTCHNOP_status, &st, sizeof(st)), -EINVAL);
	CU_ASSERT_EQUAL(status(100).status, EVTCHNSTAT_closed);
	/* sending on an unbound port is dropped silently */
	p = alloc_unbound(0);
	CU_ASSERT_EQUAL(send(p), 0);
	CU_ASSERT_FALSE(pending(p));
	CU_ASSERT_EQUAL(ev_close(p), 0);
	CU_ASSERT_EQUAL(ev_close(p), -EINVAL);
	CU_ASSERT_EQUAL(status(p).status, EVTCHNSTAT_closed);
}

static void test_loopback_interdomain(void)
{
	struct evtchn_bind_interdomain b;
	evtchn_port_t p1, p2, p0;
	struct evtchn_status st;

	CU_ASSERT_EQUAL(fresh(3), 0);
	p1 = alloc_unbound(DOMID_SELF);
	b = (struct evtchn_bind_interdomain){ .remote_dom = DOMID_SELF, .remote_port = p1 };
	CU_ASSERT_EQUAL(op(EVTCHNOP_bind_interdomain, &b, sizeof(b)), 0);
	p2 = b.local_port;
	CU_ASSERT_NOT_EQUAL(p1, p2);
	/* Xen raises the new port once: notifications before the bind were lost */
	CU_ASSERT_TRUE(pending(p2));
	CU_ASSERT_FALSE(pending(p1));
	st = status(p2);
	CU_ASSERT_EQUAL(st.status, EVTCHNSTAT_interdomain);
	CU_ASSERT_EQUAL(st.u.interdomain.dom, FAKE_DOMID);
	CU_ASSERT_EQUAL(st.u.interdomain.port, p1);
	CU_ASSERT_EQUAL(status(p1).u.interdomain.port, p2);
	CU_ASSERT_EQUAL(send(p2), 0);
	CU_ASSERT_TRUE(pending(p1));
	/* binding again to a port no longer unbound */
	CU_ASSERT_EQUAL(op(EVTCHNOP_bind_interdomain, &b, sizeof(b)), -EINVAL);
	/* closing one end leaves the other unbound, offered to us again */
	CU_ASSERT_EQUAL(ev_close(p2), 0);
	st = status(p1);
	CU_ASSERT_EQUAL(st.status, EVTCHNSTAT_unbound);
	CU_ASSERT_EQUAL(st.u.unbound.dom, FAKE_DOMID);
	CU_ASSERT_FALSE(pending(p2)); /* a closed port keeps no pending bit */
	/* a port offered to dom0 is not ours to bind; other domains don't exist */
	p0 = alloc_unbound(0);
	b = (struct evtchn_bind_interdomain){ .remote_dom = DOMID_SELF, .remote_port = p0 };
	CU_ASSERT_EQUAL(op(EVTCHNOP_bind_interdomain, &b, sizeof(b)), -EINVAL);
	b.remote_dom = 5;
	CU_ASSERT_EQUAL(op(EVTCHNOP_bind_interdomain, &b, sizeof(b)), -ESRCH);
	b = (struct evtchn_bind_interdomain){ .remote_dom = 0, .remote_port = 77 };
	CU_ASSERT_EQUAL(op(EVTCHNOP_bind_interdomain, &b, sizeof(b)), -EINVAL);
	b.remote_port = 100000;
	CU_ASSERT_EQUAL(op(EVTCHNOP_bind_interdomain, &b, sizeof(b)), -EINVAL);
}

static void test_virq(void)
{
	struct evtchn_bind_virq v = { .virq = VIRQ_TIMER, .vcpu = 1 };
	evtchn_port_t p;

	CU_ASSERT_EQUAL(fresh(3), 0);
	CU_ASSERT_EQUAL(op(EVTCHNOP_bind_virq, &v, sizeof(v)), 0);
	p = v.port;
	CU_ASSERT_EQUAL(status(p).status, EVTCHNSTAT_virq);
	CU_ASSERT_EQUAL(status(p).u.virq, VIRQ_TIMER);
	CU_ASSERT_EQUAL(status(p).vcpu, 1);
	CU_ASSERT_EQUAL(op(EVTCHNOP_bind_virq, &v, sizeof(v)), -EEXIST);
	v = (struct evtchn_bind_virq){ .virq = VIRQ_CONSOLE, .vcpu = 1 }; /* global */
	CU_ASSERT_EQUAL(op(EVTCHNOP_bind_virq, &v, sizeof(v)), -EINVAL);
	v = (struct evtchn_bind_virq){ .virq = NR_VIRQS, .vcpu = 0 };
	CU_ASSERT_EQUAL(op(EVTCHNOP_bind_virq, &v, sizeof(v)), -EINVAL);
	v = (struct evtchn_bind_virq){ .virq = VIRQ_TIMER, .vcpu = 3 };
	CU_ASSERT_EQUAL(op(EVTCHNOP_bind_virq, &v, sizeof(v)), -ENOENT);
	/* a VIRQ port cannot be sent on */
	CU_ASSERT_EQUAL(send(p), -EINVAL);
	evtchn_send_virq(F.d, 0, VIRQ_TIMER); /* not bound on vCPU 0 */
	CU_ASSERT_FALSE(pending(p));
	evtchn_send_virq(F.d, 1, VIRQ_TIMER);
	CU_ASSERT_TRUE(pending(p));
	evtchn_send_virq(F.d, 1, 999); /* out of range: ignored */
	/* close unbinds: the same VIRQ can be bound again */
	CU_ASSERT_EQUAL(ev_close(p), 0);
	v = (struct evtchn_bind_virq){ .virq = VIRQ_TIMER, .vcpu = 1 };
	CU_ASSERT_EQUAL(op(EVTCHNOP_bind_virq, &v, sizeof(v)), 0);
}

static void test_ipi_and_bind_vcpu(void)
{
	struct evtchn_bind_ipi b = { .vcpu = 3 };
	struct evtchn_bind_vcpu bv;
	struct evtchn_bind_virq v = { .virq = VIRQ_DEBUG, .vcpu = 0 };
	evtchn_port_t ipi, u;

	CU_ASSERT_EQUAL(fresh(3), 0);
	CU_ASSERT_EQUAL(op(EVTCHNOP_bind_ipi, &b, sizeof(b)), -ENOENT);
	ipi = bind_ipi(2);
	CU_ASSERT_EQUAL(status(ipi).status, EVTCHNSTAT_ipi);
	CU_ASSERT_EQUAL(status(ipi).vcpu, 2);
	/* bind_vcpu: only unbound/interdomain ports and global VIRQs move */
	bv = (struct evtchn_bind_vcpu){ .port = ipi, .vcpu = 1 };
	CU_ASSERT_EQUAL(op(EVTCHNOP_bind_vcpu, &bv, sizeof(bv)), -EINVAL);
	CU_ASSERT_EQUAL(op(EVTCHNOP_bind_virq, &v, sizeof(v)), 0);
	bv = (struct evtchn_bind_vcpu){ .port = v.port, .vcpu = 1 };
	CU_ASSERT_EQUAL(op(EVTCHNOP_bind_vcpu, &bv, sizeof(bv)), -EINVAL); /* per-vCPU VIRQ */
	v = (struct evtchn_bind_virq){ .virq = VIRQ_ARGO, .vcpu = 0 };
	CU_ASSERT_EQUAL(op(EVTCHNOP_bind_virq, &v, sizeof(v)), 0);
	bv = (struct evtchn_bind_vcpu){ .port = v.port, .vcpu = 2 };
	CU_ASSERT_EQUAL(op(EVTCHNOP_bind_vcpu, &bv, sizeof(bv)), 0);
	CU_ASSERT_EQUAL(status(v.port).vcpu, 2);
	u = alloc_unbound(0);
	bv = (struct evtchn_bind_vcpu){ .port = u, .vcpu = 1 };
	CU_ASSERT_EQUAL(op(EVTCHNOP_bind_vcpu, &bv, sizeof(bv)), 0);
	bv.vcpu = 3;
	CU_ASSERT_EQUAL(op(EVTCHNOP_bind_vcpu, &bv, sizeof(bv)), -ENOENT);
	bv = (struct evtchn_bind_vcpu){ .port = 5000, .vcpu = 0 };
	CU_ASSERT_EQUAL(op(EVTCHNOP_bind_vcpu, &bv, sizeof(bv)), -EINVAL);
	bv = (struct evtchn_bind_vcpu){ .port = 300, .vcpu = 0 }; /* closed */
	CU_ASSERT_EQUAL(op(EVTCHNOP_bind_vcpu, &bv, sizeof(bv)), -EINVAL);
	/* the global VIRQ is delivered to the vCPU it was moved to */
	CU_ASSERT_EQUAL(set_param(true, HVM_PARAM_CALLBACK_IRQ, 2ull << 56 | 0xf3), 0);
	evtchn_send_virq(F.d, 1, VIRQ_ARGO);
	CU_ASSERT_TRUE(pending(v.port));
	CU_ASSERT_EQUAL(F.injected[2], 1);
	CU_ASSERT_EQUAL(F.injected[0] + F.injected[1], 0);
	/* send errors */
	CU_ASSERT_EQUAL(send(0), -EINVAL);
	CU_ASSERT_EQUAL(send(4096), -EINVAL);
	CU_ASSERT_EQUAL(send(299), -EINVAL);
	CU_ASSERT_EQUAL(ev_close(4096), -EINVAL);
	CU_ASSERT_EQUAL(ev_close(0), -EINVAL);
}

static void test_2level_delivery(void)
{
	evtchn_port_t p;
	uint64_t sel, word;

	CU_ASSERT_EQUAL(fresh(3), 0);
	CU_ASSERT_EQUAL(set_param(true, HVM_PARAM_CALLBACK_IRQ, 2ull << 56 | 0xf3), 0);
	for (int i = 0; i < 70; i++) /* push the port into selector word 1 */
		bind_ipi(0);
	p = bind_ipi(1);
	CU_ASSERT_EQUAL(p, 71);
	CU_ASSERT_EQUAL(send(p), 0);
	memcpy(&word, F.d->shinfo + XEN_SI_EVTCHN_PENDING + 8, 8);
	CU_ASSERT_EQUAL(word, 1ull << (71 - 64));
	memcpy(&sel, vi(1) + XEN_VI_PENDING_SEL(true), 8);
	CU_ASSERT_EQUAL(sel, 1ull << 1);
	CU_ASSERT_EQUAL(vi(1)[XEN_VI_UPCALL_PENDING], 1);
	CU_ASSERT_EQUAL(F.injected[1], 1);
	CU_ASSERT_EQUAL(F.last_vector[1], 0xf3);
	CU_ASSERT_EQUAL(F.injected[0], 0);
	/* already pending: nothing new */
	CU_ASSERT_EQUAL(send(p), 0);
	CU_ASSERT_EQUAL(F.injected[1], 1);
	/* the guest consumed it: the next send is a new upcall */
	memset(F.d->shinfo + XEN_SI_EVTCHN_PENDING, 0, 512);
	clear_upcall(1);
	CU_ASSERT_EQUAL(send(p), 0);
	CU_ASSERT_EQUAL(F.injected[1], 2);
	/* a new event while the upcall flag is still set re-asserts the vector:
	 * KVM drops vectors a disabled LAPIC sees, so the edge alone could be lost */
	memset(F.d->shinfo + XEN_SI_EVTCHN_PENDING, 0, 512);
	CU_ASSERT_EQUAL(send(p), 0);
	CU_ASSERT_EQUAL(F.injected[1], 3);
	CU_ASSERT_EQUAL(vi(1)[XEN_VI_UPCALL_PENDING], 1);
}

static void test_mask_unmask(void)
{
	evtchn_port_t p;
	struct evtchn_unmask u;
	uint64_t sel;

	CU_ASSERT_EQUAL(fresh(3), 0);
	CU_ASSERT_EQUAL(set_param(true, HVM_PARAM_CALLBACK_IRQ, 2ull << 56 | 0xf3), 0);
	p = bind_ipi(0);
	xen_test_and_set_bit(shinfo_evtchn_mask(F.d), p, true);
	CU_ASSERT_EQUAL(send(p), 0);
	CU_ASSERT_TRUE(pending(p));
	memcpy(&sel, vi(0) + 8, 8);
	CU_ASSERT_EQUAL(sel, 0);
	CU_ASSERT_EQUAL(vi(0)[0], 0);
	CU_ASSERT_EQUAL(F.injected[0], 0);
	u.port = p;
	CU_ASSERT_EQUAL(op(EVTCHNOP_unmask, &u, sizeof(u)), 0);
	CU_ASSERT_FALSE(xen_test_bit(shinfo_evtchn_mask(F.d), p, true));
	memcpy(&sel, vi(0) + 8, 8);
	CU_ASSERT_EQUAL(sel, 1);
	CU_ASSERT_EQUAL(vi(0)[0], 1);
	CU_ASSERT_EQUAL(F.injected[0], 1);
	/* unmasking a port that is not masked, or not pending, raises nothing */
	CU_ASSERT_EQUAL(op(EVTCHNOP_unmask, &u, sizeof(u)), 0);
	CU_ASSERT_EQUAL(F.injected[0], 1);
	u.port = 5000;
	CU_ASSERT_EQUAL(op(EVTCHNOP_unmask, &u, sizeof(u)), -EINVAL);
}

static void test_per_vcpu_vector(void)
{
	struct xen_hvm_evtchn_upcall_vector uv = { .vcpu = 1, .vector = 0xf2 };
	evtchn_port_t p0, p1;

	CU_ASSERT_EQUAL(fresh(3), 0);
	memcpy(xen_fake_gpa(&F, ARG), &uv, sizeof(uv));
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_hvm_op,
					HVMOP_set_evtchn_upcall_vector, ARG, 0), 0);
	CU_ASSERT_EQUAL(F.upcall_vector_told[1], 0xf2);
	/* Linux then writes 1 to mean "enlightened": it must not become GSI 1 */
	CU_ASSERT_EQUAL(set_param(true, HVM_PARAM_CALLBACK_IRQ, 1), 0);
	p1 = bind_ipi(1);
	p0 = bind_ipi(0);
	CU_ASSERT_EQUAL(send(p1), 0);
	CU_ASSERT_EQUAL(F.injected[1], 1);
	CU_ASSERT_EQUAL(F.last_vector[1], 0xf2);
	CU_ASSERT_EQUAL(send(p0), 0);
	CU_ASSERT_EQUAL(F.injected[0], 0); /* no route for vCPU 0 */
	CU_ASSERT_EQUAL(F.gsi_changes, 0);
	CU_ASSERT_EQUAL(F.gsi_level[1], 0);
	/* setting vCPU 0's vector delivers what is already pending */
	uv = (struct xen_hvm_evtchn_upcall_vector){ .vcpu = 0, .vector = 0xf3 };
	memcpy(xen_fake_gpa(&F, ARG), &uv, sizeof(uv));
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_hvm_op,
					HVMOP_set_evtchn_upcall_vector, ARG, 0), 0);
	CU_ASSERT_EQUAL(F.injected[0], 1);
	uv.vector = 0x0f;
	memcpy(xen_fake_gpa(&F, ARG), &uv, sizeof(uv));
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_hvm_op,
					HVMOP_set_evtchn_upcall_vector, ARG, 0), -EINVAL);
	uv = (struct xen_hvm_evtchn_upcall_vector){ .vcpu = 3, .vector = 0xf3 };
	memcpy(xen_fake_gpa(&F, ARG), &uv, sizeof(uv));
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_hvm_op,
					HVMOP_set_evtchn_upcall_vector, ARG, 0), -ENOENT);
}

static void test_gsi_and_intx(void)
{
	evtchn_port_t p0, p1;

	CU_ASSERT_EQUAL(fresh(3), 0);
	CU_ASSERT_EQUAL(set_param(true, HVM_PARAM_CALLBACK_IRQ, 10), 0); /* GSI 10 */
	p0 = bind_ipi(0);
	p1 = bind_ipi(1);
	CU_ASSERT_EQUAL(send(p1), 0);
	CU_ASSERT_EQUAL(F.gsi_changes, 0); /* only vCPU 0 drives the line */
	CU_ASSERT_EQUAL(send(p0), 0);
	CU_ASSERT_EQUAL(F.gsi_level[10], 1);
	CU_ASSERT_EQUAL(F.gsi_changes, 1);
	xen_evtchn_callback_check(F.d); /* still pending: asserted again (the EOI may have dropped it) */
	CU_ASSERT_EQUAL(F.gsi_level[10], 1);
	CU_ASSERT_EQUAL(F.gsi_changes, 2);
	clear_upcall(0);
	xen_evtchn_callback_check(F.d);
	CU_ASSERT_EQUAL(F.gsi_level[10], 0);
	CU_ASSERT_EQUAL(F.gsi_changes, 3);
	/* a new event raises it again */
	memset(F.d->shinfo + XEN_SI_EVTCHN_PENDING, 0, 512);
	CU_ASSERT_EQUAL(send(p0), 0);
	CU_ASSERT_EQUAL(F.gsi_level[10], 1);
	/* switching route lowers the old line and re-delivers on the new one */
	CU_ASSERT_EQUAL(set_param(true, HVM_PARAM_CALLBACK_IRQ,
				  1ull << 56 | 0x18 << 8 | 0), 0); /* 00:03.0 INTA */
	CU_ASSERT_EQUAL(F.gsi_level[10], 0);
	CU_ASSERT_EQUAL(F.gsi_level[28], 1);
	CU_ASSERT_EQUAL(set_param(true, HVM_PARAM_CALLBACK_IRQ,
				  1ull << 56 | 0x20 << 8 | 1), 0); /* unknown device */
	CU_ASSERT_EQUAL(F.gsi_level[28], 0);
	CU_ASSERT_EQUAL(F.d->cb_type, XEN_CB_NONE);
	CU_ASSERT_EQUAL(set_param(true, HVM_PARAM_CALLBACK_IRQ, 0), 0);
	CU_ASSERT_EQUAL(F.d->cb_type, XEN_CB_NONE);
	CU_ASSERT_EQUAL(set_param(true, HVM_PARAM_CALLBACK_IRQ, 7ull << 56 | 5), 0);
	CU_ASSERT_EQUAL(F.d->cb_type, XEN_CB_NONE);
}

static void test_compat_layout(void)
{
	evtchn_port_t p = 0;
	uint32_t w;
	unsigned int n = 0;

	CU_ASSERT_EQUAL(fresh(2), 0);
	/* CALLBACK_IRQ from a 32-bit guest switches to the compat layout */
	CU_ASSERT_EQUAL(set_param(false, HVM_PARAM_CALLBACK_IRQ, 2ull << 56 | 0xf3), 0);
	CU_ASSERT_FALSE(F.d->long_mode);
	for (int i = 0; i < 40; i++) {
		struct evtchn_bind_ipi b = { .vcpu = 0 };

		CU_ASSERT_EQUAL(op_mode(false, 0, EVTCHNOP_bind_ipi, &b, sizeof(b)), 0);
		p = b.port;
	}
	CU_ASSERT_EQUAL(p, 40);
	{
		struct evtchn_send s = { .port = p };

		CU_ASSERT_EQUAL(op_mode(false, 0, EVTCHNOP_send, &s, sizeof(s)), 0);
	}
	memcpy(&w, F.d->shinfo + XEN_SI_EVTCHN_PENDING + 4, 4);
	CU_ASSERT_EQUAL(w, 1u << 8);
	memcpy(&w, vi(0) + 4, 4); /* 32-bit evtchn_pending_sel */
	CU_ASSERT_EQUAL(w, 1u << 1);
	CU_ASSERT_EQUAL(F.injected[0], 1);
	/* mask lives at 2048+128 in this layout */
	F.d->shinfo[XEN_SI_EVTCHN_MASK(false) + 5] = 1; /* port 40 */
	CU_ASSERT_TRUE(xen_test_bit(shinfo_evtchn_mask(F.d), 40, false));
	/* 1024 ports: 1023 allocatable */
	for (;;) {
		struct evtchn_bind_ipi b = { .vcpu = 0 };

		if (op_mode(false, 0, EVTCHNOP_bind_ipi, &b, sizeof(b)))
			break;
		n++;
		CU_ASSERT_FATAL(n < 2000);
	}
	CU_ASSERT_EQUAL(n, 1023 - 40);
	CU_ASSERT_EQUAL(F.d->evtchn.nr_open, 1023);
}

static void test_native_exhaustion_and_reset(void)
{
	unsigned int n = 0;
	struct evtchn_reset r = { .dom = DOMID_SELF };

	CU_ASSERT_EQUAL(fresh(1), 0);
	for (;;) {
		struct evtchn_bind_ipi b = { .vcpu = 0 };

		if (op(EVTCHNOP_bind_ipi, &b, sizeof(b)))
			break;
		n++;
		CU_ASSERT_FATAL(n < 5000);
	}
	CU_ASSERT_EQUAL(n, 4095);
	CU_ASSERT_EQUAL(op(EVTCHNOP_reset, &r, sizeof(r)), 0);
	CU_ASSERT_EQUAL(F.d->evtchn.nr_open, 0);
	CU_ASSERT_EQUAL(status(17).status, EVTCHNSTAT_closed);
	r.dom = 0;
	CU_ASSERT_EQUAL(op(EVTCHNOP_reset, &r, sizeof(r)), -EPERM);
	r.dom = 9;
	CU_ASSERT_EQUAL(op(EVTCHNOP_reset, &r, sizeof(r)), -ESRCH);
}

static void test_unsupported_ops(void)
{
	uint8_t buf[32] = { 0 };

	CU_ASSERT_EQUAL(op(EVTCHNOP_init_control, buf, sizeof(buf)), -ENOSYS);
	CU_ASSERT_EQUAL(op(EVTCHNOP_expand_array, buf, sizeof(buf)), -ENOSYS);
	CU_ASSERT_EQUAL(op(EVTCHNOP_set_priority, buf, sizeof(buf)), -ENOSYS);
	CU_ASSERT_EQUAL(op(EVTCHNOP_bind_pirq, buf, sizeof(buf)), -EINVAL);
	CU_ASSERT_EQUAL(op(99, buf, sizeof(buf)), -ENOSYS);
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_event_channel_op, EVTCHNOP_send,
					0x7f0000000000ull, 0), -EFAULT);
}

/* --- backend side -------------------------------------------------------------- */

static unsigned int be_calls;
static evtchn_port_t be_last;

static void be_handler(void *opaque, evtchn_port_t be)
{
	be_calls++;
	be_last = be;
	/* handlers run unlocked: answering at once must not deadlock */
	evtchn_backend_notify(opaque, be);
}

static void test_backend(void)
{
	evtchn_port_t gp, be, be2, lp;
	struct evtchn_bind_interdomain b;
	struct evtchn_status st;

	CU_ASSERT_EQUAL(fresh(2), 0);
	be_calls = 0;
	/* toolstack-style: a guest port offered to dom0, the backend binds it */
	CU_ASSERT_EQUAL(evtchn_alloc_guest_unbound(F.d, 0, &gp), 0);
	CU_ASSERT_EQUAL(evtchn_backend_bind(F.d, gp, be_handler, F.d, &be), 0);
	CU_ASSERT_EQUAL(evtchn_backend_peer(F.d, be), gp);
	st = status(gp);
	CU_ASSERT_EQUAL(st.status, EVTCHNSTAT_interdomain);
	CU_ASSERT_EQUAL(st.u.interdomain.dom, 0);
	CU_ASSERT_EQUAL(st.u.interdomain.port, be);
	CU_ASSERT_EQUAL(evtchn_backend_bind(F.d, gp, be_handler, F.d, &be2), -EINVAL);
	CU_ASSERT_EQUAL(evtchn_backend_bind(F.d, 4000, be_handler, F.d, &be2), -EINVAL);
	CU_ASSERT_EQUAL(send(gp), 0);
	CU_ASSERT_EQUAL(be_calls, 1);
	CU_ASSERT_EQUAL(be_last, be);
	CU_ASSERT_TRUE(pending(gp)); /* the handler's notify */
	memset(F.d->shinfo + XEN_SI_EVTCHN_PENDING, 0, 512);
	CU_ASSERT_EQUAL(evtchn_backend_notify(F.d, be), 0);
	CU_ASSERT_TRUE(pending(gp));
	CU_ASSERT_EQUAL(evtchn_backend_notify(F.d, 200), -EINVAL);
	CU_ASSERT_EQUAL(evtchn_backend_notify(F.d, 0), -EINVAL);
	CU_ASSERT_EQUAL(evtchn_backend_notify(F.d, 100000), -EINVAL);

	/* frontend-style: the backend offers a port, the guest binds it */
	CU_ASSERT_EQUAL(evtchn_backend_alloc(F.d, be_handler, F.d, &be2), 0);
	CU_ASSERT_EQUAL(evtchn_backend_peer(F.d, be2), 0);
	b = (struct evtchn_bind_interdomain){ .remote_dom = 0, .remote_port = be2 };
	CU_ASSERT_EQUAL(op(EVTCHNOP_bind_interdomain, &b, sizeof(b)), 0);
	lp = b.local_port;
	CU_ASSERT_EQUAL(evtchn_backend_peer(F.d, be2), lp);
	CU_ASSERT_EQUAL(op(EVTCHNOP_bind_interdomain, &b, sizeof(b)), -EINVAL); /* taken */
	CU_ASSERT_EQUAL(send(lp), 0);
	CU_ASSERT_EQUAL(be_calls, 2);
	CU_ASSERT_EQUAL(be_last, be2);
	/* guest closes: backend port stays open, unbound; notify is dropped */
	CU_ASSERT_EQUAL(ev_close(lp), 0);
	CU_ASSERT_EQUAL(evtchn_backend_peer(F.d, be2), 0);
	CU_ASSERT_EQUAL(evtchn_backend_notify(F.d, be2), 0);
	CU_ASSERT_FALSE(pending(lp));
	CU_ASSERT_EQUAL(evtchn_backend_nr_open(F.d), 2);
	/* backend closes: the guest's port is unbound (for dom0) again */
	CU_ASSERT_EQUAL(evtchn_backend_close(F.d, be), 0);
	st = status(gp);
	CU_ASSERT_EQUAL(st.status, EVTCHNSTAT_unbound);
	CU_ASSERT_EQUAL(st.u.unbound.dom, 0);
	CU_ASSERT_EQUAL(send(gp), 0);
	CU_ASSERT_EQUAL(be_calls, 2);
	CU_ASSERT_EQUAL(evtchn_backend_close(F.d, be), -EINVAL);
	CU_ASSERT_EQUAL(evtchn_backend_close(F.d, be2), 0);
	CU_ASSERT_EQUAL(evtchn_backend_nr_open(F.d), 0);
	/* backend port exhaustion is bounded */
	for (unsigned int i = 0; i < EVTCHN_BE_MAX_PORTS - 1; i++)
		CU_ASSERT_EQUAL(evtchn_backend_alloc(F.d, be_handler, F.d, &be2), 0);
	CU_ASSERT_EQUAL(evtchn_backend_alloc(F.d, be_handler, F.d, &be2), -ENOSPC);
	for (evtchn_port_t p = 1; p < EVTCHN_BE_MAX_PORTS; p++)
		CU_ASSERT_EQUAL(evtchn_backend_close(F.d, p), 0);
	CU_ASSERT_EQUAL(evtchn_backend_nr_open(F.d), 0);
}

static long poll_call(unsigned int vcpu, const evtchn_port_t *ports, unsigned int nr,
		      uint64_t timeout, struct xen_hcall *hc)
{
	struct sched_poll sp = { .nr_ports = nr, .timeout = timeout };

	set_xen_guest_handle(sp.ports, (evtchn_port_t *)(uintptr_t)(ARG + 0x100));
	memcpy(xen_fake_gpa(&F, ARG), &sp, sizeof(sp));
	memcpy(xen_fake_gpa(&F, ARG + 0x100), ports, nr * sizeof(*ports));
	*hc = (struct xen_hcall){ .vcpu = vcpu, .longmode = true, .nr = __HYPERVISOR_sched_op,
				  .args = { SCHEDOP_poll, ARG } };
	return xen_fake_call(&F, hc);
}

static void test_poll(void)
{
	struct xen_hcall hc;
	evtchn_port_t p, q, big[129] = { 0 };

	CU_ASSERT_EQUAL(fresh(2), 0);
	p = bind_ipi(0);
	q = bind_ipi(1);
	xen_test_and_set_bit(shinfo_evtchn_mask(F.d), p, true); /* spinlock kickers are masked */
	CU_ASSERT_EQUAL(poll_call(0, &p, 1, 0, &hc), 0);
	CU_ASSERT_EQUAL(hc.action, XEN_HCALL_POLL);
	CU_ASSERT_FALSE(xen_vcpu_wake_ready(F.d, 0));
	/* an event on another port, for another vCPU: no wake */
	CU_ASSERT_EQUAL(send(q), 0);
	CU_ASSERT_EQUAL(F.kicks[0], 0);
	CU_ASSERT_FALSE(xen_vcpu_wake_ready(F.d, 0));
	/* the polled (masked) port: kick and ready */
	CU_ASSERT_EQUAL(op_mode(true, 1, EVTCHNOP_send, &(struct evtchn_send){ .port = p }, 4), 0);
	CU_ASSERT_EQUAL(F.kicks[0], 1);
	CU_ASSERT_TRUE(xen_vcpu_wake_ready(F.d, 0));
	xen_vcpu_unblock(F.d, 0);
	CU_ASSERT_FALSE(F.d->vcpus[0].polling);
	/* already pending: returns at once */
	CU_ASSERT_EQUAL(poll_call(0, &p, 1, 0, &hc), 0);
	CU_ASSERT_EQUAL(hc.action, XEN_HCALL_DONE);
	/* a deadline in the past: at once; in the future: POLL with deadline */
	memset(F.d->shinfo + XEN_SI_EVTCHN_PENDING, 0, 512);
	CU_ASSERT_EQUAL(poll_call(0, &p, 1, F.now - 1, &hc), 0);
	CU_ASSERT_EQUAL(hc.action, XEN_HCALL_DONE);
	CU_ASSERT_EQUAL(poll_call(0, &p, 1, F.now + 1000, &hc), 0);
	CU_ASSERT_EQUAL(hc.action, XEN_HCALL_POLL);
	CU_ASSERT_EQUAL(hc.deadline_ns, F.now + 1000);
	CU_ASSERT_FALSE(xen_vcpu_wake_ready(F.d, 0));
	F.now += 1000;
	CU_ASSERT_TRUE(xen_vcpu_wake_ready(F.d, 0));
	xen_vcpu_unblock(F.d, 0);
	/* bad arguments */
	CU_ASSERT_EQUAL(poll_call(0, big, 129, 0, &hc), -EINVAL);
	big[3] = 4096;
	CU_ASSERT_EQUAL(poll_call(0, big, 4, 0, &hc), -EINVAL);
	CU_ASSERT_FALSE(F.d->vcpus[0].polling);
	{
		struct sched_poll sp = { .nr_ports = 2 };

		set_xen_guest_handle(sp.ports, (evtchn_port_t *)(uintptr_t)0x7f0000000000ull);
		memcpy(xen_fake_gpa(&F, ARG), &sp, sizeof(sp));
		CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_sched_op, SCHEDOP_poll, ARG, 0),
				-EFAULT);
	}
	/* compat layout: 16 bytes, pointer at 0, nr at 4, timeout at 8 */
	{
		struct compat_sched_poll cp = { .ports = ARG + 0x100, .nr_ports = 1,
						.timeout = F.now + 5 };

		memcpy(xen_fake_gpa(&F, ARG), &cp, sizeof(cp));
		memcpy(xen_fake_gpa(&F, ARG + 0x100), &q, 4);
		hc = (struct xen_hcall){ .vcpu = 1, .longmode = false, .nr = __HYPERVISOR_sched_op,
					 .args = { SCHEDOP_poll, ARG } };
		clear_upcall(1);
		memset(F.d->shinfo + XEN_SI_EVTCHN_PENDING, 0, 512);
		CU_ASSERT_EQUAL(xen_fake_call(&F, &hc), 0);
		CU_ASSERT_EQUAL(hc.action, XEN_HCALL_POLL);
		CU_ASSERT_EQUAL(hc.deadline_ns, F.now + 5);
		xen_vcpu_unblock(F.d, 1);
	}
}

/* --- in-kernel fast paths (the VMM's evtchn_* callbacks) ------------------------ */

static int fresh_fast(unsigned int vcpus)
{
	xen_fake_fini(&F);
	return xen_fake_init_fast(&F, vcpus);
}

static void set_upcall_vector(unsigned int vcpu, uint8_t vector)
{
	struct xen_hvm_evtchn_upcall_vector uv = { .vcpu = vcpu, .vector = vector };

	memcpy(xen_fake_gpa(&F, ARG), &uv, sizeof(uv));
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_hvm_op,
					HVMOP_set_evtchn_upcall_vector, ARG, 0), 0);
}

/* EVTCHNOP_reset takes every port back from the VMM, each exactly once. */
static void reset_expect_no_fast_ports(void)
{
	struct evtchn_reset r = { .dom = DOMID_SELF };

	CU_ASSERT_EQUAL(op(EVTCHNOP_reset, &r, sizeof(r)), 0);
	for (unsigned int p = 0; p < 4096; p++)
		CU_ASSERT_FALSE_FATAL(F.fast_table[p]);
	CU_ASSERT_EQUAL(F.fast_binds, F.fast_unbinds);
	CU_ASSERT_EQUAL(F.fast_bad_ops, 0);
}

/* The VMM's port table must name exactly the guest ports linked to a
 * backend: every bind offers, every unlink takes back, never twice. */
static void test_fast_port_table(void)
{
	evtchn_port_t gp, be, be2, lp, lp2, loop_a;
	struct evtchn_bind_interdomain b;

	CU_ASSERT_EQUAL(fresh_fast(2), 0);
	F.fast_bind_ok = true;
	be_calls = 0;
	/* toolstack-style: bound by the backend */
	CU_ASSERT_EQUAL(evtchn_alloc_guest_unbound(F.d, 0, &gp), 0);
	CU_ASSERT_FALSE(F.fast_table[gp]);             /* unbound: nothing to send to */
	CU_ASSERT_EQUAL(evtchn_backend_bind(F.d, gp, be_handler, F.d, &be), 0);
	CU_ASSERT_TRUE(F.fast_table[gp]);
	CU_ASSERT_EQUAL(F.fast_be[gp], be);
	CU_ASSERT_TRUE(F.d->evtchn.ports[gp].fast);
	/* the "kernel" runs the handler, with the backend's port */
	CU_ASSERT_EQUAL(xen_fake_kernel_send(&F, gp), 0);
	CU_ASSERT_EQUAL(be_calls, 1);
	CU_ASSERT_EQUAL(be_last, be);
	CU_ASSERT_TRUE(pending(gp));                   /* the handler's answer */
	/* backend closes: the kernel forgets the port before it is unbound */
	CU_ASSERT_EQUAL(evtchn_backend_close(F.d, be), 0);
	CU_ASSERT_FALSE(F.fast_table[gp]);
	CU_ASSERT_FALSE(F.d->evtchn.ports[gp].fast);
	CU_ASSERT_EQUAL(xen_fake_kernel_send(&F, gp), -ENOENT);
	CU_ASSERT_EQUAL(status(gp).status, EVTCHNSTAT_unbound);
	/* ... and the backend can bind it again */
	CU_ASSERT_EQUAL(evtchn_backend_bind(F.d, gp, be_handler, F.d, &be), 0);
	CU_ASSERT_TRUE(F.fast_table[gp]);
	/* the guest closes it: taken back, and the port number is reused */
	CU_ASSERT_EQUAL(ev_close(gp), 0);
	CU_ASSERT_FALSE(F.fast_table[gp]);

	/* frontend-style: the guest binds a port the backend offers */
	CU_ASSERT_EQUAL(evtchn_backend_alloc(F.d, be_handler, F.d, &be2), 0);
	b = (struct evtchn_bind_interdomain){ .remote_dom = 0, .remote_port = be2 };
	CU_ASSERT_EQUAL(op(EVTCHNOP_bind_interdomain, &b, sizeof(b)), 0);
	lp = b.local_port;
	CU_ASSERT_EQUAL(lp, gp);                       /* lowest free: the one just closed */
	CU_ASSERT_TRUE(F.fast_table[lp]);
	CU_ASSERT_EQUAL(F.fast_be[lp], be2);
	CU_ASSERT_EQUAL(xen_fake_kernel_send(&F, lp), 0);
	CU_ASSERT_EQUAL(be_last, be2);
	/* close + rebind (a frontend reconnecting) */
	CU_ASSERT_EQUAL(ev_close(lp), 0);
	CU_ASSERT_FALSE(F.fast_table[lp]);
	CU_ASSERT_EQUAL(op(EVTCHNOP_bind_interdomain, &b, sizeof(b)), 0);
	lp2 = b.local_port;
	CU_ASSERT_TRUE(F.fast_table[lp2]);
	/* guest<->guest loopback is not a backend's: never offered */
	loop_a = alloc_unbound(DOMID_SELF);
	b = (struct evtchn_bind_interdomain){ .remote_dom = DOMID_SELF, .remote_port = loop_a };
	CU_ASSERT_EQUAL(op(EVTCHNOP_bind_interdomain, &b, sizeof(b)), 0);
	CU_ASSERT_FALSE(F.fast_table[b.local_port]);
	CU_ASSERT_FALSE(F.fast_table[loop_a]);
	/* EVTCHNOP_reset takes everything back */
	CU_ASSERT_EQUAL(evtchn_backend_bind(F.d, 0, be_handler, F.d, &be), -EINVAL);
	CU_ASSERT_EQUAL(evtchn_alloc_guest_unbound(F.d, 0, &gp), 0);
	CU_ASSERT_EQUAL(evtchn_backend_bind(F.d, gp, be_handler, F.d, &be), 0);
	CU_ASSERT_TRUE(F.fast_table[gp]);
	reset_expect_no_fast_ports();
	CU_ASSERT_EQUAL(evtchn_backend_close(F.d, be), 0);
	CU_ASSERT_EQUAL(evtchn_backend_close(F.d, be2), 0);
	CU_ASSERT_EQUAL(F.fast_bad_ops, 0);

	/* a VMM that declines: the userspace path, and nothing to take back */
	F.fast_bind_ok = false;
	be_calls = 0;
	CU_ASSERT_EQUAL(evtchn_alloc_guest_unbound(F.d, 0, &gp), 0);
	CU_ASSERT_EQUAL(evtchn_backend_bind(F.d, gp, be_handler, F.d, &be), 0);
	CU_ASSERT_FALSE(F.d->evtchn.ports[gp].fast);
	CU_ASSERT_EQUAL(send(gp), 0);                  /* the hypercall runs the handler */
	CU_ASSERT_EQUAL(be_calls, 1);
	CU_ASSERT_EQUAL(ev_close(gp), 0);
	CU_ASSERT_EQUAL(evtchn_backend_close(F.d, be), 0);
	CU_ASSERT_EQUAL(F.fast_bad_ops, 0);
}

/* IPI ports: offered to the VMM at a send that reached us, once the vCPU's
 * upcall is a vector; taken back at close, reset and any route change. */
static void test_fast_ipi(void)
{
	evtchn_port_t p0, p1;

	CU_ASSERT_EQUAL(fresh_fast(2), 0);
	F.fast_ipi = true;
	p0 = bind_ipi(0);
	p1 = bind_ipi(1);
	CU_ASSERT_FALSE(F.fast_table[p1]);              /* nothing offered at bind */
	/* no vector route yet: the send is ours, and nothing is offered */
	CU_ASSERT_EQUAL(send(p1), 0);
	CU_ASSERT_TRUE(pending(p1));
	CU_ASSERT_FALSE(F.fast_table[p1]);
	CU_ASSERT_EQUAL(F.fast_ipi_binds, 0);
	/* a GSI callback is no vector either */
	CU_ASSERT_EQUAL(set_param(true, HVM_PARAM_CALLBACK_IRQ, 9), 0);
	CU_ASSERT_EQUAL(send(p1), 0);
	CU_ASSERT_FALSE(F.fast_table[p1]);
	/* vCPU 1 gets a vector: the next send is still delivered by us, then
	 * the port is the VMM's, raised on vCPU 1 */
	set_upcall_vector(1, 0xf2);
	memset(F.d->shinfo + XEN_SI_EVTCHN_PENDING, 0, 512);
	CU_ASSERT_EQUAL(send(p1), 0);
	CU_ASSERT_TRUE(pending(p1));
	CU_ASSERT_TRUE(F.fast_table[p1]);
	CU_ASSERT_EQUAL(F.fast_ipi_vcpu[p1], 1);
	CU_ASSERT_TRUE(F.d->evtchn.ports[p1].fast);
	CU_ASSERT_EQUAL(xen_fake_kernel_send(&F, p1), -ENOENT);   /* no backend handler */
	/* a send that still reaches us (KVM fell back) does not offer it twice */
	CU_ASSERT_EQUAL(send(p1), 0);
	CU_ASSERT_EQUAL(F.fast_ipi_binds, 1);
	/* vCPU 0 has no vector and the callback is a GSI: stays ours */
	CU_ASSERT_EQUAL(send(p0), 0);
	CU_ASSERT_FALSE(F.fast_table[p0]);
	/* the route changes (a domain-wide vector now): every IPI port back */
	CU_ASSERT_EQUAL(set_param(true, HVM_PARAM_CALLBACK_IRQ,
				  (uint64_t)HVM_PARAM_CALLBACK_TYPE_VECTOR << 56 | 0xf3), 0);
	CU_ASSERT_FALSE(F.fast_table[p1]);
	CU_ASSERT_FALSE(F.d->evtchn.ports[p1].fast);
	/* the VMM declines for now (its attributes not applied): asked again */
	F.fast_ipi_rc = -EAGAIN;
	CU_ASSERT_EQUAL(send(p0), 0);
	CU_ASSERT_FALSE(F.fast_table[p0]);
	F.fast_ipi_rc = 0;
	CU_ASSERT_EQUAL(send(p0), 0);
	CU_ASSERT_TRUE(F.fast_table[p0]);
	CU_ASSERT_EQUAL(F.fast_ipi_vcpu[p0], 0);
	CU_ASSERT_EQUAL(send(p1), 0);
	CU_ASSERT_TRUE(F.fast_table[p1]);
	/* a new per-vCPU vector is a route change too */
	set_upcall_vector(0, 0xf4);
	CU_ASSERT_FALSE(F.fast_table[p0]);
	CU_ASSERT_FALSE(F.fast_table[p1]);
	CU_ASSERT_EQUAL(send(p0), 0);
	CU_ASSERT_TRUE(F.fast_table[p0]);
	/* close takes it back before the number is reused */
	CU_ASSERT_EQUAL(ev_close(p0), 0);
	CU_ASSERT_FALSE(F.fast_table[p0]);
	CU_ASSERT_EQUAL(bind_ipi(1), p0);
	CU_ASSERT_FALSE(F.fast_table[p0]);
	CU_ASSERT_EQUAL(send(p0), 0);
	CU_ASSERT_EQUAL(F.fast_ipi_vcpu[p0], 1);
	CU_ASSERT_EQUAL(send(p1), 0);
	/* reset: everything back */
	reset_expect_no_fast_ports();
}

/* Raising a port: the VMM's delivery when the vCPU's upcall is a vector
 * and the VMM accepts; otherwise (and only then) our own bits. */
static void test_fast_raise(void)
{
	evtchn_port_t p0, p1, gp, be;

	CU_ASSERT_EQUAL(fresh_fast(2), 0);
	F.fast_raise = true;
	p0 = bind_ipi(0);
	p1 = bind_ipi(1);
	/* no callback at all: ours (the VMM could not inject anything) */
	CU_ASSERT_EQUAL(send(p1), 0);
	CU_ASSERT_EQUAL(F.raised, 0);
	CU_ASSERT_TRUE(pending(p1));
	memset(F.d->shinfo + XEN_SI_EVTCHN_PENDING, 0, 512);
	clear_upcall(1);
	/* per-vCPU vector on vCPU 1: the VMM's, and we write no bit */
	set_upcall_vector(1, 0xf2);
	CU_ASSERT_EQUAL(send(p1), 0);
	CU_ASSERT_EQUAL(F.raised, 1);
	CU_ASSERT_EQUAL(F.last_raised_port, p1);
	CU_ASSERT_EQUAL(F.last_raised_vcpu, 1);
	CU_ASSERT_FALSE(pending(p1));
	CU_ASSERT_EQUAL(vi(1)[XEN_VI_UPCALL_PENDING], 0);
	CU_ASSERT_EQUAL(F.injected[1], 0);
	/* vCPU 0 has no vector and no domain callback: still ours */
	CU_ASSERT_EQUAL(send(p0), 0);
	CU_ASSERT_EQUAL(F.raised, 1);
	CU_ASSERT_TRUE(pending(p0));
	/* the VMM declines (its attribute not applied yet): ours, in full */
	F.fast_raise_rc = -EAGAIN;
	CU_ASSERT_EQUAL(send(p1), 0);
	CU_ASSERT_EQUAL(F.raised, 1);
	CU_ASSERT_TRUE(pending(p1));
	CU_ASSERT_EQUAL(vi(1)[XEN_VI_UPCALL_PENDING], 1);
	CU_ASSERT_EQUAL(F.injected[1], 1);
	F.fast_raise_rc = 0;
	/* domain-wide callback vector: vCPU 0 too */
	memset(F.d->shinfo + XEN_SI_EVTCHN_PENDING, 0, 512);
	clear_upcall(0);
	clear_upcall(1);
	CU_ASSERT_EQUAL(set_param(true, HVM_PARAM_CALLBACK_IRQ,
				  (uint64_t)HVM_PARAM_CALLBACK_TYPE_VECTOR << 56 | 0xf3), 0);
	CU_ASSERT_EQUAL(send(p0), 0);
	CU_ASSERT_EQUAL(F.raised, 2);
	CU_ASSERT_EQUAL(F.last_raised_vcpu, 0);
	CU_ASSERT_FALSE(pending(p0));
	/* a backend's notify goes the same way */
	CU_ASSERT_EQUAL(evtchn_alloc_guest_unbound(F.d, 0, &gp), 0);
	CU_ASSERT_EQUAL(evtchn_backend_bind(F.d, gp, be_handler, F.d, &be), 0);
	CU_ASSERT_EQUAL(evtchn_backend_notify(F.d, be), 0);
	CU_ASSERT_EQUAL(F.raised, 3);
	CU_ASSERT_EQUAL(F.last_raised_port, gp);
	/* a timer VIRQ too */
	{
		struct evtchn_bind_virq v = { .virq = VIRQ_TIMER, .vcpu = 0 };

		CU_ASSERT_EQUAL(op(EVTCHNOP_bind_virq, &v, sizeof(v)), 0);
		evtchn_send_virq(F.d, 0, VIRQ_TIMER);
		CU_ASSERT_EQUAL(F.raised, 4);
		CU_ASSERT_EQUAL(F.last_raised_port, v.port);
	}
	/* GSI callback (vCPU 0 without its own vector): the line is ours */
	CU_ASSERT_EQUAL(set_param(true, HVM_PARAM_CALLBACK_IRQ, 9), 0);
	CU_ASSERT_EQUAL(send(p0), 0);
	CU_ASSERT_EQUAL(F.raised, 4);
	CU_ASSERT_TRUE(pending(p0));
	CU_ASSERT_EQUAL(F.gsi_level[9], 1);
	/* ...while vCPU 1 keeps its vector */
	CU_ASSERT_EQUAL(send(p1), 0);
	CU_ASSERT_EQUAL(F.raised, 5);
}

/* VIRQ_TIMER bindings are told to the VMM, which may run the timer. */
static void test_fast_timer_virq(void)
{
	struct evtchn_bind_virq v = { .virq = VIRQ_TIMER, .vcpu = 1 };
	struct evtchn_reset r = { .dom = DOMID_SELF };
	evtchn_port_t p;

	CU_ASSERT_EQUAL(fresh_fast(2), 0);
	CU_ASSERT_EQUAL(op(EVTCHNOP_bind_virq, &v, sizeof(v)), 0);
	p = v.port;
	CU_ASSERT_EQUAL(F.timer_virq[1], p);
	CU_ASSERT_EQUAL(F.timer_virq[0], 0);
	CU_ASSERT_EQUAL(F.timer_virq_calls, 1);
	/* a failed second bind says nothing */
	CU_ASSERT_EQUAL(op(EVTCHNOP_bind_virq, &v, sizeof(v)), -EEXIST);
	CU_ASSERT_EQUAL(F.timer_virq_calls, 1);
	/* other VIRQs are not timers */
	v = (struct evtchn_bind_virq){ .virq = VIRQ_DEBUG, .vcpu = 1 };
	CU_ASSERT_EQUAL(op(EVTCHNOP_bind_virq, &v, sizeof(v)), 0);
	CU_ASSERT_EQUAL(ev_close(v.port), 0);
	CU_ASSERT_EQUAL(F.timer_virq_calls, 1);
	/* close unbinds it */
	CU_ASSERT_EQUAL(ev_close(p), 0);
	CU_ASSERT_EQUAL(F.timer_virq[1], 0);
	CU_ASSERT_EQUAL(F.timer_virq_calls, 2);
	/* so does reset */
	v = (struct evtchn_bind_virq){ .virq = VIRQ_TIMER, .vcpu = 0 };
	CU_ASSERT_EQUAL(op(EVTCHNOP_bind_virq, &v, sizeof(v)), 0);
	CU_ASSERT_EQUAL(F.timer_virq[0], v.port);
	CU_ASSERT_EQUAL(op(EVTCHNOP_reset, &r, sizeof(r)), 0);
	CU_ASSERT_EQUAL(F.timer_virq[0], 0);
	CU_ASSERT_EQUAL(F.timer_virq_calls, 4);
}

/* The benchmark's echo backend answers every guest send, on both paths. */
static void test_bench_echo(void)
{
	struct bench_echo *e = NULL;
	evtchn_port_t p;

	CU_ASSERT_EQUAL(fresh_fast(1), 0);
	CU_ASSERT_EQUAL_FATAL(bench_echo_start(F.d, &e), 0);
	p = bench_echo_guest_port(e);
	CU_ASSERT_EQUAL(status(p).status, EVTCHNSTAT_interdomain);
	CU_ASSERT_EQUAL(status(p).u.interdomain.dom, 0);
	CU_ASSERT_EQUAL(send(p), 0);                   /* userspace path */
	CU_ASSERT_TRUE(pending(p));
	CU_ASSERT_EQUAL(bench_echo_count(e), 1);
	bench_echo_stop(e);
	CU_ASSERT_EQUAL(status(p).status, EVTCHNSTAT_unbound);
	CU_ASSERT_EQUAL(ev_close(p), 0);
	memset(F.d->shinfo + XEN_SI_EVTCHN_PENDING, 0, 512);
	F.fast_bind_ok = true;                         /* KVM's eventfd path */
	CU_ASSERT_EQUAL_FATAL(bench_echo_start(F.d, &e), 0);
	p = bench_echo_guest_port(e);
	CU_ASSERT_EQUAL(xen_fake_kernel_send(&F, p), 0);
	CU_ASSERT_TRUE(pending(p));
	CU_ASSERT_EQUAL(bench_echo_count(e), 1);
	bench_echo_stop(e);
	CU_ASSERT_FALSE(F.fast_table[p]);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("evtchn", setup, teardown);
	CU_add_test(s, "alloc_unbound, status, close", test_alloc_unbound_status);
	CU_add_test(s, "loopback interdomain", test_loopback_interdomain);
	CU_add_test(s, "bind_virq", test_virq);
	CU_add_test(s, "bind_ipi and bind_vcpu", test_ipi_and_bind_vcpu);
	CU_add_test(s, "2-level pending/selector/upcall", test_2level_delivery);
	CU_add_test(s, "mask and unmask", test_mask_unmask);
	CU_add_test(s, "per-vCPU upcall vector", test_per_vcpu_vector);
	CU_add_test(s, "GSI and PCI INTx callback", test_gsi_and_intx);
	CU_add_test(s, "32-bit layout and 1024 ports", test_compat_layout);
	CU_add_test(s, "4096 ports and reset", test_native_exhaustion_and_reset);
	CU_add_test(s, "unsupported ops", test_unsupported_ops);
	CU_add_test(s, "backend (domain 0) side", test_backend);
	CU_add_test(s, "SCHEDOP_poll", test_poll);
	CU_add_test(s, "fast path: the VMM's port table", test_fast_port_table);
	CU_add_test(s, "fast path: delivery by the VMM", test_fast_raise);
	CU_add_test(s, "fast path: IPI ports raised by the VMM", test_fast_ipi);
	CU_add_test(s, "fast path: VIRQ_TIMER bindings", test_fast_timer_virq);
	CU_add_test(s, "bench echo backend", test_bench_echo);
	return cunit_run(CU_BRM_NORMAL);
}
