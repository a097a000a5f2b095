/* Save/restore of xen-compat's domain state (xen_domain_state.c, evtchn.c,
 * gnttab.c): state built by hypercalls in domain A, saved, loaded into a
 * fresh domain B built the same way, and B then behaves as A did; streams
 * with a mismatch or a corrupted field are refused with a message. */
#include <CUnit/Basic.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cunit_run.h"
#include "xen_fake_vmm.h"
#include "xenkvm/evtchn.h"
#include "xenkvm/gnttab.h"
#include "xenkvm/xen_shinfo.h"
#include "xenkvm/xen_state.h"

#define ARG 0x2000ull
#define SHINFO_GFN 0x300ull
#define GNT_GFN 0x301ull
#define GRANTED_GFN 0x40ull
#define VCPUS 2

static struct xen_fake A, B;
static unsigned int be_calls;
static evtchn_port_t be_last;
static void *be_last_opaque;

static void be_handler(void *opaque, evtchn_port_t be)
{
	be_calls++;
	be_last = be;
	be_last_opaque = opaque;
}

static long op(struct xen_fake *f, unsigned int cmd, void *o, size_t len)
{
	long rc;

	memcpy(xen_fake_gpa(f, ARG), o, len);
	rc = xen_fake_call64(f, 0, __HYPERVISOR_event_channel_op, cmd, ARG, 0);
	memcpy(o, xen_fake_gpa(f, ARG), len);
	return rc;
}

static long add_to_physmap(struct xen_fake *f, unsigned int space, uint64_t idx, uint64_t gfn)
{
	struct xen_add_to_physmap x = { .domid = DOMID_SELF, .space = space, .idx = idx,
					.gpfn = gfn };

	memcpy(xen_fake_gpa(f, ARG), &x, sizeof(x));
	return xen_fake_call64(f, 0, __HYPERVISOR_memory_op, XENMEM_add_to_physmap, ARG, 0);
}

static long send(struct xen_fake *f, evtchn_port_t port)
{
	struct evtchn_send s = { .port = port };

	return op(f, EVTCHNOP_send, &s, sizeof(s));
}

/* What the toolstack does when it builds the domain (before the guest
 * runs): the XenStore channel.  B is built the same way before loading. */
static evtchn_port_t build_time(struct xen_fake *f, evtchn_port_t *be_r)
{
	evtchn_port_t gp = 0;

	CU_ASSERT_EQUAL(evtchn_backend_channel(f->d, be_handler, f, &gp, be_r), 0);
	return gp;
}

struct guest_ports {
	evtchn_port_t store, ipi, loop_a, loop_b, virq, timer, global, unbound, be_bound;
	evtchn_port_t store_be, be_be;
	uint64_t deadline;
};

/* A's guest: shared_info, ports of every kind, a timer, a grant. */
static void build_guest(struct guest_ports *g)
{
	struct evtchn_bind_ipi ipi = { .vcpu = 1 };
	struct evtchn_alloc_unbound au = { .dom = DOMID_SELF, .remote_dom = DOMID_SELF };
	struct evtchn_bind_interdomain bi = { .remote_dom = DOMID_SELF };
	struct evtchn_bind_virq bv = { .virq = VIRQ_DEBUG, .vcpu = 1 };
	struct evtchn_alloc_unbound au0 = { .dom = DOMID_SELF, .remote_dom = 0 };
	struct xen_hvm_evtchn_upcall_vector uv = { .vcpu = 1, .vector = 0xf3 };
	struct grant_entry_v1 *ge;

	g->store = build_time(&A, &g->store_be);
	CU_ASSERT_EQUAL(add_to_physmap(&A, XENMAPSPACE_shared_info, 0, SHINFO_GFN), 0);
	CU_ASSERT_EQUAL(add_to_physmap(&A, XENMAPSPACE_grant_table, 0, GNT_GFN), 0);
	CU_ASSERT_EQUAL_FATAL(op(&A, EVTCHNOP_bind_ipi, &ipi, sizeof(ipi)), 0);
	g->ipi = ipi.port;
	CU_ASSERT_EQUAL_FATAL(op(&A, EVTCHNOP_alloc_unbound, &au, sizeof(au)), 0);
	g->loop_a = au.port;
	bi.remote_port = au.port;
	CU_ASSERT_EQUAL_FATAL(op(&A, EVTCHNOP_bind_interdomain, &bi, sizeof(bi)), 0);
	g->loop_b = bi.local_port;
	CU_ASSERT_EQUAL_FATAL(op(&A, EVTCHNOP_bind_virq, &bv, sizeof(bv)), 0);
	g->virq = bv.port;
	bv.virq = VIRQ_TIMER;
	CU_ASSERT_EQUAL_FATAL(op(&A, EVTCHNOP_bind_virq, &bv, sizeof(bv)), 0);
	g->timer = bv.port;
	/* A global VIRQ moved to vCPU 1 (IRQ affinity): still bound via vCPU 0. */
	{
		struct evtchn_bind_virq gv = { .virq = VIRQ_CON_RING, .vcpu = 0 };
		struct evtchn_bind_vcpu bvc = { .vcpu = 1 };

		CU_ASSERT_EQUAL_FATAL(op(&A, EVTCHNOP_bind_virq, &gv, sizeof(gv)), 0);
		g->global = gv.port;
		bvc.port = gv.port;
		CU_ASSERT_EQUAL_FATAL(op(&A, EVTCHNOP_bind_vcpu, &bvc, sizeof(bvc)), 0);
	}
	CU_ASSERT_EQUAL_FATAL(op(&A, EVTCHNOP_alloc_unbound, &au0, sizeof(au0)), 0);
	g->unbound = au0.port;
	/* A frontend port a backend bound after boot (blkback, netback). */
	CU_ASSERT_EQUAL_FATAL(op(&A, EVTCHNOP_alloc_unbound, &au0, sizeof(au0)), 0);
	g->be_bound = au0.port;
	CU_ASSERT_EQUAL_FATAL(evtchn_backend_bind(A.d, g->be_bound, be_handler, &A, &g->be_be), 0);
	memcpy(xen_fake_gpa(&A, ARG), &uv, sizeof(uv));
	CU_ASSERT_EQUAL(xen_fake_call64(&A, 0, __HYPERVISOR_hvm_op, HVMOP_set_evtchn_upcall_vector,
					ARG, 0), 0);
	CU_ASSERT_EQUAL(xen_domain_set_param(A.d, HVM_PARAM_STORE_PFN, 0xfeffc), 0);
	g->deadline = A.now + 5000000;
	CU_ASSERT_EQUAL(xen_fake_call64(&A, 1, __HYPERVISOR_set_timer_op, g->deadline, 0, 0), 0);
	CU_ASSERT_EQUAL(A.timer[1], g->deadline);
	/* Grant 3: GRANTED_GFN readable and writable by domain 0. */
	ge = xen_fake_overlay(&A, GNT_GFN);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ge);
	ge[3].domid = 0;
	ge[3].frame = GRANTED_GFN;
	__atomic_store_n(&ge[3].flags, GTF_permit_access, __ATOMIC_SEQ_CST);
	/* The guest handled what binding raised; one IPI stays pending. */
	for (evtchn_port_t p = 1; p < 64; p++)
		__atomic_fetch_and((uint64_t *)shinfo_evtchn_pending(A.d), ~(1ull << p),
				   __ATOMIC_SEQ_CST);
	CU_ASSERT_EQUAL(send(&A, g->ipi), 0);
}

static struct state_writer *save(struct xen_fake *f)
{
	struct state_writer *w = state_writer_new_mem("test");

	CU_ASSERT_PTR_NOT_NULL_FATAL(w);
	CU_ASSERT_EQUAL(xen_domain_save(f->d, w), 0);
	CU_ASSERT_EQUAL(state_writer_finish(w), 0);
	return w;
}

/* 0 or the load's -errno; msg gets the reader's message. */
static int load(struct xen_fake *f, const uint8_t *p, size_t len, char *msg, size_t msg_len)
{
	struct state_reader *r = state_reader_new_mem(p, len);
	struct state_handler h[XEN_STATE_NR_HANDLERS];
	struct xen_state_load ctx;
	int rc;

	xen_domain_state_handlers(f->d, &ctx, h);
	rc = state_reader_header(r);
	if (!rc)
		rc = state_load(r, h, XEN_STATE_NR_HANDLERS);
	if (msg)
		snprintf(msg, msg_len, "%s", state_reader_error(r));
	state_reader_free(r);
	return rc;
}

static int fresh_b(unsigned int vcpus, evtchn_port_t *store_be)
{
	int rc;

	xen_fake_fini(&B);
	rc = xen_fake_init(&B, vcpus);
	if (!rc && store_be)
		build_time(&B, store_be);
	return rc;
}

static void test_round_trip(void)
{
	struct guest_ports g;
	struct state_writer *w;
	const uint8_t *p;
	size_t len;
	char msg[STATE_ERR_MAX];
	evtchn_port_t b_store_be = 0;
	struct gnttab_mapping m;
	struct grant_entry_v1 *ge;
	uint8_t *si;

	CU_ASSERT_EQUAL_FATAL(xen_fake_init(&A, VCPUS), 0);
	build_guest(&g);
	w = save(&A);
	p = state_writer_mem(w, &len);

	CU_ASSERT_EQUAL_FATAL(fresh_b(VCPUS, &b_store_be), 0);
	CU_ASSERT_EQUAL(b_store_be, g.store_be);
	CU_ASSERT_EQUAL(load(&B, p, len, msg, sizeof(msg)), 0);
	CU_ASSERT_STRING_EQUAL(msg, "");

	/* shared_info is where the guest put it, with A's bits. */
	si = xen_fake_overlay(&B, SHINFO_GFN);
	CU_ASSERT_PTR_NOT_NULL_FATAL(si);
	CU_ASSERT_EQUAL(B.shinfo_gfn_told, SHINFO_GFN);
	CU_ASSERT(evtchn_is_pending(B.d, g.ipi));
	CU_ASSERT_EQUAL(memcmp(si + XEN_SI_EVTCHN_PENDING, xen_fake_overlay(&A, SHINFO_GFN) +
			       XEN_SI_EVTCHN_PENDING, 512), 0);
	CU_ASSERT_EQUAL(B.upcall_vector_told[1], 0xf3);
	CU_ASSERT_EQUAL(xen_domain_get_param(B.d, HVM_PARAM_STORE_PFN), 0xfeffc);
	/* The Xen timer is armed again at the same absolute deadline, and its
	 * expiry reaches the restored VIRQ_TIMER port. */
	CU_ASSERT_EQUAL(B.timer[1], g.deadline);
	CU_ASSERT_FALSE(evtchn_is_pending(B.d, g.timer));
	B.now = g.deadline;
	xen_vcpu_timer_expired(B.d, 1);
	CU_ASSERT(evtchn_is_pending(B.d, g.timer));

	/* Sends behave as in A: the loopback pair, the IPI, VIRQ ports. */
	CU_ASSERT_FALSE(evtchn_is_pending(B.d, g.loop_b));
	CU_ASSERT_EQUAL(send(&B, g.loop_a), 0);
	CU_ASSERT(evtchn_is_pending(B.d, g.loop_b));
	CU_ASSERT_EQUAL(send(&B, g.loop_b), 0);
	CU_ASSERT(evtchn_is_pending(B.d, g.loop_a));
	pthread_mutex_lock(&B.d->lock);
	evtchn_send_virq(B.d, 1, VIRQ_DEBUG);
	pthread_mutex_unlock(&B.d->lock);
	CU_ASSERT(evtchn_is_pending(B.d, g.virq));
	CU_ASSERT_FALSE(evtchn_is_pending(B.d, g.global));
	pthread_mutex_lock(&B.d->lock);
	evtchn_send_virq(B.d, 0, VIRQ_CON_RING);
	pthread_mutex_unlock(&B.d->lock);
	CU_ASSERT(evtchn_is_pending(B.d, g.global));
	{
		struct evtchn_bind_virq bv = { .virq = VIRQ_DEBUG, .vcpu = 1 };

		CU_ASSERT_EQUAL(op(&B, EVTCHNOP_bind_virq, &bv, sizeof(bv)), -EEXIST);
	}
	{
		struct evtchn_status st = { .dom = DOMID_SELF, .port = g.unbound };

		CU_ASSERT_EQUAL(op(&B, EVTCHNOP_status, &st, sizeof(st)), 0);
		CU_ASSERT_EQUAL(st.status, EVTCHNSTAT_unbound);
		CU_ASSERT_EQUAL(st.u.unbound.dom, 0);
	}

	/* The build-time channel keeps B's backend: the guest's send reaches
	 * B's handler, the backend's notify marks the guest port. */
	be_calls = 0;
	CU_ASSERT_EQUAL(send(&B, g.store), 0);
	CU_ASSERT_EQUAL(be_calls, 1);
	CU_ASSERT_EQUAL(be_last, g.store_be);
	CU_ASSERT_PTR_EQUAL(be_last_opaque, &B);
	CU_ASSERT_FALSE(evtchn_is_pending(B.d, g.store));
	CU_ASSERT_EQUAL(evtchn_backend_notify(B.d, g.store_be), 0);
	CU_ASSERT(evtchn_is_pending(B.d, g.store));

	/* The port bound after boot has no handler until its backend claims it. */
	be_calls = 0;
	CU_ASSERT_EQUAL(send(&B, g.be_bound), 0);
	CU_ASSERT_EQUAL(be_calls, 0);
	CU_ASSERT_EQUAL(evtchn_backend_peer(B.d, g.be_be), g.be_bound);
	CU_ASSERT_EQUAL(evtchn_backend_reattach(B.d, g.be_be, be_handler, &B), 0);
	CU_ASSERT_EQUAL(send(&B, g.be_bound), 0);
	CU_ASSERT_EQUAL(be_calls, 1);
	CU_ASSERT_EQUAL(be_last, g.be_be);
	CU_ASSERT_EQUAL(evtchn_backend_reattach(B.d, 200, be_handler, &B), -EINVAL);
	CU_ASSERT_EQUAL(evtchn_backend_nr_open(B.d), 2);

	/* The grant frame is placed again, and the grant maps in B. */
	ge = xen_fake_overlay(&B, GNT_GFN);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ge);
	CU_ASSERT_EQUAL(ge[3].frame, GRANTED_GFN);
	CU_ASSERT_EQUAL(gnttab_map(B.d, 3, false, &m), 0);
	CU_ASSERT_PTR_EQUAL(m.hva, xen_fake_gpa(&B, GRANTED_GFN << 12));
	CU_ASSERT(ge[3].flags & GTF_writing);
	gnttab_unmap(B.d, &m);
	CU_ASSERT_FALSE(ge[3].flags & (GTF_reading | GTF_writing));

	state_writer_free(w);
	xen_fake_fini(&A);
}

/* A mapping A's backend held is not carried: the entry's in-use flags are
 * cleared, so only a backend that maps again marks it. */
static void test_mappings_not_carried(void)
{
	struct guest_ports g;
	struct gnttab_mapping m;
	struct state_writer *w;
	struct grant_entry_v1 *ge;
	const uint8_t *p;
	size_t len;

	CU_ASSERT_EQUAL_FATAL(xen_fake_init(&A, VCPUS), 0);
	build_guest(&g);
	CU_ASSERT_EQUAL_FATAL(gnttab_map(A.d, 3, true, &m), 0);
	w = save(&A);
	p = state_writer_mem(w, &len);
	CU_ASSERT_EQUAL_FATAL(fresh_b(VCPUS, NULL), 0);
	build_time(&B, &g.store_be);
	CU_ASSERT_EQUAL(load(&B, p, len, NULL, 0), 0);
	ge = xen_fake_overlay(&B, GNT_GFN);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ge);
	CU_ASSERT_EQUAL(ge[3].flags, GTF_permit_access);
	CU_ASSERT(((struct grant_entry_v1 *)xen_fake_overlay(&A, GNT_GFN))[3].flags & GTF_reading);
	gnttab_unmap(A.d, &m);
	state_writer_free(w);
	xen_fake_fini(&A);
}

/* Rewrites a stream with byte `off` of section `id`'s payload XORed with
 * x (or its version replaced), keeping the CRCs right. */
static struct state_writer *rewrite(const uint8_t *p, size_t len, uint32_t id, size_t off,
				    uint8_t x, uint32_t version)
{
	struct state_reader *r = state_reader_new_mem(p, len);
	struct state_writer *w = state_writer_new_mem("test");
	struct state_section s;

	CU_ASSERT_EQUAL_FATAL(state_reader_header(r), 0);
	while (state_reader_next(r, &s) == 1) {
		uint8_t *copy = malloc(s.len + 1);

		memcpy(copy, s.data, s.len);
		if (s.id == id && off < s.len)
			copy[off] ^= x;
		state_section_begin(w, s.id, s.id == id && version ? version : s.version);
		state_put_bytes(w, copy, s.len);
		state_section_end(w);
		free(copy);
	}
	CU_ASSERT_EQUAL(state_writer_finish(w), 0);
	state_reader_free(r);
	return w;
}

static void expect_refused(const uint8_t *p, size_t len, uint32_t id, size_t off, uint8_t x,
			   uint32_t version, const char *want)
{
	struct state_writer *w = rewrite(p, len, id, off, x, version);
	const uint8_t *q;
	size_t qlen;
	char msg[STATE_ERR_MAX];

	q = state_writer_mem(w, &qlen);
	CU_ASSERT_EQUAL_FATAL(fresh_b(VCPUS, NULL), 0);
	CU_ASSERT(load(&B, q, qlen, msg, sizeof(msg)) < 0);
	if (!strstr(msg, want)) {
		fprintf(stderr, "\n  wanted \"%s\" in \"%s\"\n", want, msg);
		CU_FAIL("refusal message");
	}
	state_writer_free(w);
}

/* evtchn payload: u32 nr, then per port from 1: state u8, remote u16, vcpu u32, u u32 */
#define EV_PORT(p, field) (4 + ((p) - 1) * 11 + (field))

static void test_refusals(void)
{
	struct guest_ports g;
	struct state_writer *w;
	const uint8_t *p;
	size_t len;
	char msg[STATE_ERR_MAX];

	CU_ASSERT_EQUAL_FATAL(xen_fake_init(&A, VCPUS), 0);
	build_guest(&g);
	w = save(&A);
	p = state_writer_mem(w, &len);

	/* A domain built with another vCPU count. */
	CU_ASSERT_EQUAL_FATAL(fresh_b(VCPUS + 1, NULL), 0);
	CU_ASSERT_EQUAL(load(&B, p, len, msg, sizeof(msg)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "section xen-domain"));
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "2 vCPUs"));

	/* Sections from a newer build. */
	expect_refused(p, len, XEN_STATE_EVTCHN, 0, 0, 2, "xen-evtchn (0x10002) v2: newer");
	/* A port table bigger than the domain's 4096 ports. */
	expect_refused(p, len, XEN_STATE_EVTCHN, 1, 0x20, 0, "ports, the domain has 4096");
	/* A port naming a vCPU the domain does not have. */
	expect_refused(p, len, XEN_STATE_EVTCHN, EV_PORT(g.ipi, 3), 0x40, 0, "notifies vCPU 65");
	/* A loopback pair whose ends do not name each other. */
	expect_refused(p, len, XEN_STATE_EVTCHN, EV_PORT(g.loop_a, 7), 0x01, 0,
		       "does not name it back");
	/* A grant frame placed beyond the guest's frames. */
	expect_refused(p, len, XEN_STATE_GNTTAB, 12 + 3, 0x10, 0, "not a frame of this guest");
	/* A grant table of another size. */
	expect_refused(p, len, XEN_STATE_GNTTAB, 4, 0x01, 0, "this domain allows 64");
	/* shared_info beyond the guest's frames. */
	expect_refused(p, len, XEN_STATE_DOMAIN, 2 + 4 + 8 + 8 + 1 + 4 + 4, 0x01, 0,
		       "shared_info at frame");

	/* Sections out of order: a stream without the domain section. */
	{
		struct state_reader *r = state_reader_new_mem(p, len);
		struct state_writer *w2 = state_writer_new_mem("test");
		struct state_section s;
		const uint8_t *q;
		size_t qlen;

		state_reader_header(r);
		while (state_reader_next(r, &s) == 1) {
			if (s.id == XEN_STATE_DOMAIN)
				continue;
			state_section_begin(w2, s.id, s.version);
			state_put_bytes(w2, s.data, s.len);
			state_section_end(w2);
		}
		state_writer_finish(w2);
		q = state_writer_mem(w2, &qlen);
		CU_ASSERT_EQUAL_FATAL(fresh_b(VCPUS, NULL), 0);
		CU_ASSERT(load(&B, q, qlen, msg, sizeof(msg)) < 0);
		CU_ASSERT_PTR_NOT_NULL(strstr(msg, "out of order"));
		state_reader_free(r);
		state_writer_free(w2);
	}
	state_writer_free(w);
	xen_fake_fini(&A);
}

/* Every byte of every section that is not page contents, flipped with a
 * correct CRC: loading must refuse with a message or succeed, never crash
 * (this runs under ASan in check-asan).  Raw flips fail the CRC. */
static void test_every_field_corrupted(void)
{
	struct guest_ports g;
	struct state_writer *w;
	const uint8_t *p;
	size_t len;
	unsigned int refused = 0, tried = 0;
	char msg[STATE_ERR_MAX];
	static const uint32_t ids[] = { XEN_STATE_DOMAIN, XEN_STATE_EVTCHN, XEN_STATE_GNTTAB };

	CU_ASSERT_EQUAL_FATAL(xen_fake_init(&A, VCPUS), 0);
	build_guest(&g);
	w = save(&A);
	p = state_writer_mem(w, &len);
	for (unsigned int k = 0; k < 3; k++) {
		for (size_t off = 0; off < 9000; off++) {
			struct state_writer *m;
			const uint8_t *q;
			size_t qlen;
			int rc;

			/* The shared_info page and the grant frame: any bytes go. */
			if (ids[k] == XEN_STATE_DOMAIN && off >= 35 && off < 35 + 4096)
				continue;
			if (ids[k] == XEN_STATE_GNTTAB && off >= 20 && off < 20 + 4096)
				continue;
			m = rewrite(p, len, ids[k], off, 0x81, 0);
			q = state_writer_mem(m, &qlen);
			if (qlen == len && !memcmp(p, q, len)) {   /* past the section's end */
				state_writer_free(m);
				break;
			}
			CU_ASSERT_EQUAL_FATAL(fresh_b(VCPUS, NULL), 0);
			build_time(&B, &g.store_be);
			rc = load(&B, q, qlen, msg, sizeof(msg));
			tried++;
			if (rc) {
				refused++;
				CU_ASSERT(msg[0] != '\0');
			}
			state_writer_free(m);
		}
	}
	fprintf(stderr, " [%u of %u refused] ", refused, tried);
	CU_ASSERT(tried > 300);
	CU_ASSERT(refused > tried / 4);
	/* Raw corruption anywhere: the CRCs refuse it. */
	for (size_t off = 0; off < len; off += 7) {
		uint8_t *c = malloc(len);

		memcpy(c, p, len);
		c[off] ^= 0x10;
		CU_ASSERT_EQUAL_FATAL(fresh_b(VCPUS, NULL), 0);
		CU_ASSERT(load(&B, c, len, NULL, 0) < 0);
		free(c);
	}
	state_writer_free(w);
	xen_fake_fini(&A);
}

static int teardown(void)
{
	xen_fake_fini(&B);
	return 0;
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("xen_state", NULL, teardown);
	CU_add_test(s, "save, load into a fresh domain, same behaviour", test_round_trip);
	CU_add_test(s, "backend mappings are not carried", test_mappings_not_carried);
	CU_add_test(s, "mismatches and bad links refused", test_refusals);
	CU_add_test(s, "every field corrupted: refused or accepted, no crash",
		    test_every_field_corrupted);
	return cunit_run(CU_BRM_VERBOSE);
}
