/* hvm_op params, sched_op (shutdown, block, yield), vCPU timers and
 * vcpu_op odds and ends, memory_op reservations and the balloon. */
#include <CUnit/Basic.h>
#include <errno.h>
#include <string.h>

#include "cunit_run.h"
#include "xen_fake_vmm.h"
#include "xenkvm/evtchn.h"
#include "xenkvm/xen_shinfo.h"

#define ARG 0x2000ull

static struct xen_fake F;

static int fresh(unsigned int vcpus)
{
	xen_fake_fini(&F);
	return xen_fake_init(&F, vcpus);
}

static int setup(void)
{
	return xen_fake_init(&F, 2);
}

static int teardown(void)
{
	xen_fake_fini(&F);
	return 0;
}

static long param(bool set, domid_t dom, uint32_t index, uint64_t *value)
{
	struct xen_hvm_param hp = { .domid = dom, .index = index, .value = *value };
	long rc;

	memcpy(xen_fake_gpa(&F, ARG), &hp, sizeof(hp));
	rc = xen_fake_call64(&F, 0, __HYPERVISOR_hvm_op, set ? HVMOP_set_param : HVMOP_get_param,
			     ARG, 0);
	memcpy(&hp, xen_fake_gpa(&F, ARG), sizeof(hp));
	*value = hp.value;
	return rc;
}

static void test_hvm_params(void)
{
	uint64_t v = 0;

	CU_ASSERT_EQUAL(fresh(2), 0);
	CU_ASSERT_EQUAL(xen_domain_set_param(F.d, HVM_PARAM_STORE_PFN, 0xfeffc), 0);
	CU_ASSERT_EQUAL(xen_domain_set_param(F.d, HVM_PARAM_STORE_EVTCHN, 3), 0);
	CU_ASSERT_EQUAL(xen_domain_set_param(F.d, HVM_NR_PARAMS, 3), -EINVAL);
	CU_ASSERT_EQUAL(xen_domain_get_param(F.d, HVM_PARAM_STORE_EVTCHN), 3);
	CU_ASSERT_EQUAL(param(false, DOMID_SELF, HVM_PARAM_STORE_PFN, &v), 0);
	CU_ASSERT_EQUAL(v, 0xfeffc);
	CU_ASSERT_EQUAL(param(false, FAKE_DOMID, HVM_PARAM_STORE_EVTCHN, &v), 0);
	CU_ASSERT_EQUAL(v, 3);
	CU_ASSERT_EQUAL(param(false, DOMID_SELF, HVM_PARAM_CONSOLE_PFN, &v), 0);
	CU_ASSERT_EQUAL(v, 0);
	/* what only the toolstack may touch */
	v = 1;
	CU_ASSERT_EQUAL(param(true, DOMID_SELF, HVM_PARAM_STORE_PFN, &v), -EPERM);
	CU_ASSERT_EQUAL(xen_domain_get_param(F.d, HVM_PARAM_STORE_PFN), 0xfeffc);
	CU_ASSERT_EQUAL(param(false, DOMID_SELF, HVM_PARAM_TIMER_MODE, &v), -EPERM);
	CU_ASSERT_EQUAL(param(false, DOMID_SELF, 4 /* PAE_ENABLED, deprecated */, &v), -EPERM);
	CU_ASSERT_EQUAL(param(false, DOMID_SELF, HVM_NR_PARAMS, &v), -EINVAL);
	CU_ASSERT_EQUAL(param(true, DOMID_SELF, 0xffffffff, &v), -EINVAL);
	CU_ASSERT_EQUAL(param(false, 0, HVM_PARAM_STORE_PFN, &v), -EPERM);
	CU_ASSERT_EQUAL(param(false, 3, HVM_PARAM_STORE_PFN, &v), -ESRCH);
	v = 3;
	CU_ASSERT_EQUAL(param(true, DOMID_SELF, HVM_PARAM_X87_FIP_WIDTH, &v), -EINVAL);
	v = 4;
	CU_ASSERT_EQUAL(param(true, DOMID_SELF, HVM_PARAM_X87_FIP_WIDTH, &v), 0);
	v = 2ull << 56 | 0xf3;
	CU_ASSERT_EQUAL(param(true, DOMID_SELF, HVM_PARAM_CALLBACK_IRQ, &v), 0);
	v = 0;
	CU_ASSERT_EQUAL(param(false, DOMID_SELF, HVM_PARAM_CALLBACK_IRQ, &v), 0);
	CU_ASSERT_EQUAL(v, 2ull << 56 | 0xf3);
	CU_ASSERT_EQUAL(F.d->cb_type, XEN_CB_VECTOR);
	CU_ASSERT_EQUAL(F.d->cb_vector, 0xf3);
	/* the rest of hvm_op */
	memset(xen_fake_gpa(&F, ARG), 0, 8);
	F.now = 123456789;
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_hvm_op, HVMOP_get_time, ARG, 0), 0);
	CU_ASSERT_EQUAL(*(uint64_t *)xen_fake_gpa(&F, ARG), 123456789);
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_hvm_op, HVMOP_pagetable_dying, ARG, 0),
			-ENOSYS);
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_hvm_op, HVMOP_flush_tlbs, 0, 0), -ENOSYS);
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_hvm_op, HVMOP_set_param, 0x7f000000000ull,
					0), -EFAULT);
}

static long shutdown(unsigned int cmd, unsigned int reason)
{
	struct sched_shutdown s = { .reason = reason };

	memcpy(xen_fake_gpa(&F, ARG), &s, sizeof(s));
	return xen_fake_call64(&F, 0, __HYPERVISOR_sched_op, cmd, ARG, 0);
}

static void test_shutdown(void)
{
	static const struct { unsigned int reason; enum xen_shutdown_reason want; } cases[] = {
		{ SHUTDOWN_poweroff, XEN_SHUTDOWN_POWEROFF },
		{ SHUTDOWN_reboot, XEN_SHUTDOWN_REBOOT },
		{ SHUTDOWN_crash, XEN_SHUTDOWN_CRASH },
		{ SHUTDOWN_watchdog, XEN_SHUTDOWN_WATCHDOG },
		{ SHUTDOWN_soft_reset, XEN_SHUTDOWN_SOFT_RESET },
	};

	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CU_ASSERT_EQUAL(fresh(1), 0);
		CU_ASSERT_EQUAL(shutdown(SCHEDOP_shutdown, cases[i].reason), 0);
		CU_ASSERT_EQUAL(F.shutdowns, 1);
		CU_ASSERT_EQUAL(F.shutdown_reason, cases[i].want);
		CU_ASSERT_EQUAL(F.shutdown_code, cases[i].reason);
	}
	CU_ASSERT_EQUAL(fresh(1), 0);
	CU_ASSERT_EQUAL(shutdown(SCHEDOP_shutdown, SHUTDOWN_suspend), -ENOSYS);
	CU_ASSERT_EQUAL(shutdown(SCHEDOP_shutdown, 6), -EINVAL);
	CU_ASSERT_EQUAL(shutdown(SCHEDOP_shutdown, 0xffffffff), -EINVAL);
	CU_ASSERT_EQUAL(F.shutdowns, 0);
	/* a code registered earlier is what the toolstack sees */
	CU_ASSERT_EQUAL(shutdown(SCHEDOP_shutdown_code, SHUTDOWN_crash), 0);
	CU_ASSERT_EQUAL(shutdown(SCHEDOP_shutdown_code, 17), -EINVAL);
	CU_ASSERT_EQUAL(shutdown(SCHEDOP_shutdown, SHUTDOWN_poweroff), 0);
	CU_ASSERT_EQUAL(F.shutdown_reason, XEN_SHUTDOWN_CRASH);
	CU_ASSERT_EQUAL(F.shutdown_code, SHUTDOWN_crash);
	CU_ASSERT_EQUAL(shutdown(SCHEDOP_remote_shutdown, 0), -EPERM);
	CU_ASSERT_EQUAL(shutdown(SCHEDOP_watchdog, 0), -ENOSYS);
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_sched_op, SCHEDOP_shutdown,
					0x7f0000000000ull, 0), -EFAULT);
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_sched_op, 42, 0, 0), -ENOSYS);
}

static void test_block_yield(void)
{
	struct xen_hcall hc = { .vcpu = 1, .longmode = true, .nr = __HYPERVISOR_sched_op,
				.args = { SCHEDOP_yield } };
	struct evtchn_bind_ipi b = { .vcpu = 1 };
	uint64_t v = 2ull << 56 | 0xf3;

	CU_ASSERT_EQUAL(fresh(2), 0);
	CU_ASSERT_EQUAL(param(true, DOMID_SELF, HVM_PARAM_CALLBACK_IRQ, &v), 0);
	CU_ASSERT_EQUAL(xen_fake_call(&F, &hc), 0);
	CU_ASSERT_EQUAL(hc.action, XEN_HCALL_YIELD);
	hc.args[0] = SCHEDOP_block;
	CU_ASSERT_EQUAL(xen_fake_call(&F, &hc), 0);
	CU_ASSERT_EQUAL(hc.action, XEN_HCALL_BLOCK);
	CU_ASSERT_FALSE(xen_vcpu_wake_ready(F.d, 1));
	CU_ASSERT_TRUE(xen_vcpu_wake_ready(F.d, 0)); /* not blocked */
	memcpy(xen_fake_gpa(&F, ARG), &b, sizeof(b));
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_event_channel_op, EVTCHNOP_bind_ipi,
					ARG, 0), 0);
	memcpy(&b, xen_fake_gpa(&F, ARG), sizeof(b));
	evtchn_set_pending(F.d, b.port);
	CU_ASSERT_EQUAL(F.kicks[1], 1);
	CU_ASSERT_TRUE(xen_vcpu_wake_ready(F.d, 1));
	xen_vcpu_unblock(F.d, 1);
	CU_ASSERT_FALSE(F.d->vcpus[1].blocked);
	/* an event already pending: no block at all */
	CU_ASSERT_EQUAL(xen_fake_call(&F, &hc), 0);
	CU_ASSERT_EQUAL(hc.action, XEN_HCALL_DONE);
}

static long singleshot(unsigned int caller, unsigned int vcpu, uint64_t t, uint32_t flags)
{
	struct vcpu_set_singleshot_timer st = { .timeout_abs_ns = t, .flags = flags };

	memcpy(xen_fake_gpa(&F, ARG), &st, sizeof(st));
	return xen_fake_call64(&F, caller, __HYPERVISOR_vcpu_op, VCPUOP_set_singleshot_timer, vcpu,
			       ARG);
}

static bool timer_pending(evtchn_port_t p)
{
	return evtchn_is_pending(F.d, p);
}

static void test_timers(void)
{
	struct evtchn_bind_virq bv = { .virq = VIRQ_TIMER, .vcpu = 0 };
	struct vcpu_set_periodic_timer pt;
	evtchn_port_t p;
	uint64_t t0;

	CU_ASSERT_EQUAL(fresh(2), 0);
	t0 = F.now;
	memcpy(xen_fake_gpa(&F, ARG), &bv, sizeof(bv));
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_event_channel_op, EVTCHNOP_bind_virq,
					ARG, 0), 0);
	memcpy(&bv, xen_fake_gpa(&F, ARG), sizeof(bv));
	p = bv.port;
	CU_ASSERT_EQUAL(singleshot(0, 0, t0 + 1000, 0), 0);
	CU_ASSERT_EQUAL(F.timer[0], t0 + 1000);
	/* an early expiry (timer slack) raises nothing and re-arms */
	F.now = t0 + 500;
	xen_vcpu_timer_expired(F.d, 0);
	CU_ASSERT_FALSE(timer_pending(p));
	CU_ASSERT_EQUAL(F.timer[0], t0 + 1000);
	F.now = t0 + 1000;
	xen_vcpu_timer_expired(F.d, 0);
	CU_ASSERT_TRUE(timer_pending(p));
	CU_ASSERT_EQUAL(F.d->vcpus[0].singleshot_ns, 0);
	/* only for oneself; "future" refuses a past deadline */
	CU_ASSERT_EQUAL(singleshot(0, 1, t0 + 5000, 0), -EINVAL);
	CU_ASSERT_EQUAL(singleshot(0, 0, F.now - 1, VCPU_SSHOTTMR_future), -ETIME);
	CU_ASSERT_EQUAL(singleshot(0, 0, F.now - 1, 0), 0); /* fires at once */
	CU_ASSERT_EQUAL(F.timer[0], F.now - 1);
	CU_ASSERT_EQUAL(singleshot(0, 0, 0, 0), 0); /* deadline 0 is in the past, not "off" */
	CU_ASSERT_EQUAL(F.timer[0], 1);
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_vcpu_op, VCPUOP_stop_singleshot_timer,
					0, 0), 0);
	CU_ASSERT_EQUAL(F.timer[0], 0);
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_vcpu_op, VCPUOP_stop_singleshot_timer,
					1, 0), -EINVAL);
	/* periodic: at least 1 ms; missed periods are skipped, not bunched */
	pt.period_ns = 500000;
	memcpy(xen_fake_gpa(&F, ARG), &pt, sizeof(pt));
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_vcpu_op, VCPUOP_set_periodic_timer, 0,
					ARG), -EINVAL);
	pt.period_ns = 10000000;
	memcpy(xen_fake_gpa(&F, ARG), &pt, sizeof(pt));
	t0 = F.now;
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_vcpu_op, VCPUOP_set_periodic_timer, 0,
					ARG), 0);
	CU_ASSERT_EQUAL(F.timer[0], t0 + 10000000);
	/* the earlier of singleshot and periodic is armed */
	CU_ASSERT_EQUAL(singleshot(0, 0, t0 + 3000000, 0), 0);
	CU_ASSERT_EQUAL(F.timer[0], t0 + 3000000);
	memset(F.d->shinfo + XEN_SI_EVTCHN_PENDING, 0, 512);
	F.now = t0 + 35000000;
	xen_vcpu_timer_expired(F.d, 0);
	CU_ASSERT_TRUE(timer_pending(p));
	CU_ASSERT_EQUAL(F.timer[0], t0 + 40000000);
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_vcpu_op, VCPUOP_stop_periodic_timer, 0,
					0), 0);
	CU_ASSERT_EQUAL(F.timer[0], 0);
	/* set_timer_op: 64-bit value, split over two registers for 32-bit */
	CU_ASSERT_EQUAL(xen_fake_call32(&F, 1, __HYPERVISOR_set_timer_op, 0x89abcdef, 0x1, 0), 0);
	CU_ASSERT_EQUAL(F.timer[1], 0x189abcdefull);
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 1, __HYPERVISOR_set_timer_op, 0, 0, 0), 0);
	CU_ASSERT_EQUAL(F.timer[1], 0);
	xen_vcpu_timer_expired(F.d, 9); /* bogus vCPU: ignored */
}

static void test_vcpu_misc(void)
{
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_vcpu_op, VCPUOP_is_up, 1, 0), 1);
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_vcpu_op, VCPUOP_up, 1, 0), -ENOSYS);
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_vcpu_op, VCPUOP_down, 1, 0), -ENOSYS);
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_vcpu_op, VCPUOP_is_up, 2, 0), -ENOENT);
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_vcpu_op, VCPUOP_is_up, ~0ull, 0),
			-ENOENT);
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_vcpu_op, 99, 0, 0), -ENOSYS);
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_vcpu_op, VCPUOP_register_vcpu_info, 0,
					0x7f0000000000ull), -EFAULT);
}

static long reservation(bool lm, unsigned int cmd, uint64_t list, uint64_t nr,
			unsigned int order, domid_t dom)
{
	if (lm) {
		struct xen_memory_reservation r = { .nr_extents = nr, .extent_order = order,
						    .domid = dom };

		set_xen_guest_handle(r.extent_start, (xen_pfn_t *)(uintptr_t)list);
		memcpy(xen_fake_gpa(&F, ARG), &r, sizeof(r));
		return xen_fake_call64(&F, 0, __HYPERVISOR_memory_op, cmd, ARG, 0);
	}
	struct compat_memory_reservation c = { .extent_start = (uint32_t)list,
					       .nr_extents = (uint32_t)nr, .extent_order = order,
					       .domid = dom };

	memcpy(xen_fake_gpa(&F, ARG), &c, sizeof(c));
	return xen_fake_call32(&F, 0, __HYPERVISOR_memory_op, cmd, ARG, 0);
}

/* XENMEM_memory_map: the VMM's e820, both ABIs, truncated to the buffer. */
static void test_memory_map(void)
{
	static const struct xen_e820_entry map[3] = {
		{ 0, 0x9fc00, 1 }, { 0xe0000, 0x20000, 2 }, { 0x100000, 0x1000000, 1 },
	};
	struct xen_memory_map m = { .nr_entries = 8 };
	uint32_t m32[2] = { 2, 0x3000 };
	uint8_t *buf = xen_fake_gpa(&F, 0x3000);
	uint64_t v;
	uint32_t t;

	memcpy(xen_fake_gpa(&F, ARG), &m, sizeof(m));
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_memory_op, XENMEM_memory_map, ARG, 0), -ENOSYS);
	CU_ASSERT_EQUAL(xen_domain_set_memory_map(F.d, map, XEN_MEMMAP_MAX + 1), -E2BIG);
	CU_ASSERT_EQUAL_FATAL(xen_domain_set_memory_map(F.d, map, 3), 0);
	set_xen_guest_handle(m.buffer, (void *)(uintptr_t)0x3000);
	memcpy(xen_fake_gpa(&F, ARG), &m, sizeof(m));
	memset(buf, 0xee, 100);
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_memory_op, XENMEM_memory_map, ARG, 0), 0);
	memcpy(&m, xen_fake_gpa(&F, ARG), sizeof(m));
	CU_ASSERT_EQUAL(m.nr_entries, 3);
	memcpy(&v, buf + 40, 8);                /* entry 2: 20-byte packed entries */
	CU_ASSERT_EQUAL(v, 0x100000);
	memcpy(&v, buf + 48, 8);
	CU_ASSERT_EQUAL(v, 0x1000000);
	memcpy(&t, buf + 56, 4);
	CU_ASSERT_EQUAL(t, 1);
	CU_ASSERT_EQUAL(buf[60], 0xee);         /* nothing past the map */
	/* 32-bit guest, a buffer for two entries: two written, count says so */
	memset(buf, 0xee, 100);
	memcpy(xen_fake_gpa(&F, ARG), m32, sizeof(m32));
	CU_ASSERT_EQUAL(xen_fake_call32(&F, 0, __HYPERVISOR_memory_op, XENMEM_memory_map, ARG, 0), 0);
	memcpy(m32, xen_fake_gpa(&F, ARG), sizeof(m32));
	CU_ASSERT_EQUAL(m32[0], 2);
	memcpy(&t, buf + 36, 4);
	CU_ASSERT_EQUAL(t, 2);
	CU_ASSERT_EQUAL(buf[40], 0xee);
	/* an unreadable buffer */
	m32[0] = 3;
	m32[1] = 0xfffff000u;
	memcpy(xen_fake_gpa(&F, ARG), m32, sizeof(m32));
	CU_ASSERT_EQUAL(xen_fake_call32(&F, 0, __HYPERVISOR_memory_op, XENMEM_memory_map, ARG, 0), -EFAULT);
}

static void test_memory_op(void)
{
	uint64_t *l64 = xen_fake_gpa(&F, 0x3000);
	uint32_t *l32 = xen_fake_gpa(&F, 0x3000);
	domid_t self = DOMID_SELF, other = 3;

	memcpy(xen_fake_gpa(&F, ARG), &self, 2);
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_memory_op, XENMEM_current_reservation,
					ARG, 0), FAKE_RAM_SIZE >> 12);
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_memory_op, XENMEM_maximum_reservation,
					ARG, 0), FAKE_RAM_SIZE >> 12);
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_memory_op, XENMEM_maximum_gpfn, ARG, 0),
			(long)F.p.max_gfn);
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_memory_op, XENMEM_maximum_ram_page, 0, 0),
			(long)F.p.max_gfn + 1);
	memcpy(xen_fake_gpa(&F, ARG), &other, 2);
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_memory_op, XENMEM_current_reservation,
					ARG, 0), -ESRCH);
	/* balloon: decrease completes (Linux BUG()s otherwise) */
	CU_ASSERT_EQUAL(reservation(true, XENMEM_decrease_reservation, 0x3000, 5, 0, DOMID_SELF), 5);
	CU_ASSERT_EQUAL(reservation(true, XENMEM_decrease_reservation, 0x3000, 5, 0, 0), -EPERM);
	CU_ASSERT_EQUAL(reservation(true, XENMEM_decrease_reservation, 0x3000, 5, 40, DOMID_SELF),
			-EINVAL);
	/* populate: as far as the frames are RAM */
	l64[0] = 0x10;
	l64[1] = 0x11;
	l64[2] = 0x50000; /* no RAM there */
	l64[3] = 0x12;
	CU_ASSERT_EQUAL(reservation(true, XENMEM_populate_physmap, 0x3000, 4, 0, DOMID_SELF), 2);
	l64[0] = 0x200; /* 2 MiB extent at 2 MiB: RAM */
	l64[1] = 0x3ff; /* misaligned for order 9 */
	CU_ASSERT_EQUAL(reservation(true, XENMEM_increase_reservation, 0x3000, 2, 9, DOMID_SELF), 1);
	CU_ASSERT_EQUAL(reservation(true, XENMEM_populate_physmap, 0x7f0000000000ull, 2, 0,
				    DOMID_SELF), 0);
	/* compat: 4-byte frame numbers */
	l32[0] = 0x20;
	l32[1] = 0x21;
	l32[2] = 0x22;
	CU_ASSERT_EQUAL(reservation(false, XENMEM_populate_physmap, 0x3000, 3, 0, DOMID_SELF), 3);
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_memory_op, XENMEM_memory_map, ARG, 0),
			-ENOSYS);
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_memory_op, XENMEM_set_pod_target, ARG,
					0), -EPERM);
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_memory_op, 63, ARG, 0), -ENOSYS);
	{
		struct xen_add_to_physmap x = { .domid = DOMID_SELF, .space = XENMAPSPACE_gmfn,
						.idx = 1, .gpfn = 2 };

		memcpy(xen_fake_gpa(&F, ARG), &x, sizeof(x));
		CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_memory_op,
						XENMEM_add_to_physmap, ARG, 0), -ENOSYS);
	}
}

static long current_reservation(void)
{
	domid_t self = DOMID_SELF;

	memcpy(xen_fake_gpa(&F, ARG), &self, 2);
	return xen_fake_call64(&F, 0, __HYPERVISOR_memory_op, XENMEM_current_reservation, ARG, 0);
}

static bool page_is(uint64_t gfn, uint8_t byte)
{
	const uint8_t *p = xen_fake_gpa(&F, gfn << 12);

	for (unsigned int i = 0; i < 4096; i++)
		if (p[i] != byte)
			return false;
	return true;
}

/* What Linux's balloon does: give frames back, then take them again. */
static void test_balloon(void)
{
	const long ram = FAKE_RAM_SIZE >> 12;
	uint64_t *l64;
	uint32_t *l32;

	CU_ASSERT_EQUAL_FATAL(fresh(1), 0);
	l64 = xen_fake_gpa(&F, 0x3000);
	l32 = xen_fake_gpa(&F, 0x3000);
	memset(xen_fake_gpa(&F, 0x100000), 0xab, 0x4000);
	CU_ASSERT_EQUAL(current_reservation(), ram);

	/* three frames named out of order but in a run: one discard */
	l64[0] = 0x101;
	l64[1] = 0x100;
	l64[2] = 0x102;
	CU_ASSERT_EQUAL(reservation(true, XENMEM_decrease_reservation, 0x3000, 3, 0, DOMID_SELF), 3);
	CU_ASSERT_EQUAL(F.discard_calls, 1);
	CU_ASSERT_EQUAL(F.last_discard_gpa, 0x100000);
	CU_ASSERT_EQUAL(F.last_discard_len, 0x3000);
	CU_ASSERT(page_is(0x100, 0) && page_is(0x101, 0) && page_is(0x102, 0));
	CU_ASSERT(page_is(0x103, 0xab)); /* its neighbour is the guest's still */
	CU_ASSERT_EQUAL(current_reservation(), ram - 3);
	CU_ASSERT_EQUAL(xen_domain_tot_pages(F.d), (uint64_t)ram - 3);
	/* the maximum does not move */
	{
		domid_t self = DOMID_SELF;

		memcpy(xen_fake_gpa(&F, ARG), &self, 2);
		CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_memory_op,
						XENMEM_maximum_reservation, ARG, 0), ram);
	}

	/* giving the same frame back twice counts it once */
	l64[0] = 0x101;
	CU_ASSERT_EQUAL(reservation(true, XENMEM_decrease_reservation, 0x3000, 1, 0, DOMID_SELF), 1);
	CU_ASSERT_EQUAL(current_reservation(), ram - 3);

	/* apart: two discards; it stops at the first frame that is not RAM */
	F.discard_calls = 0;
	l64[0] = 0x110;
	l64[1] = 0x120;
	l64[2] = 0x50000;
	l64[3] = 0x130;
	CU_ASSERT_EQUAL(reservation(true, XENMEM_decrease_reservation, 0x3000, 4, 0, DOMID_SELF), 2);
	CU_ASSERT_EQUAL(F.discard_calls, 2);
	CU_ASSERT_EQUAL(current_reservation(), ram - 5);
	/* past max_gfn, misaligned for its order, unreadable list: nothing */
	l64[0] = F.p.max_gfn + 1;
	CU_ASSERT_EQUAL(reservation(true, XENMEM_decrease_reservation, 0x3000, 1, 0, DOMID_SELF), 0);
	l64[0] = 0x201;
	CU_ASSERT_EQUAL(reservation(true, XENMEM_decrease_reservation, 0x3000, 1, 9, DOMID_SELF), 0);
	CU_ASSERT_EQUAL(reservation(true, XENMEM_decrease_reservation, 0x7f0000000000ull, 1, 0,
				    DOMID_SELF), 0);
	CU_ASSERT_EQUAL(current_reservation(), ram - 5);
	CU_ASSERT_EQUAL(F.discard_outside_ram, 0);

	/* a 2 MiB extent, from a 32-bit guest */
	l32[0] = 0x200;
	CU_ASSERT_EQUAL(reservation(false, XENMEM_decrease_reservation, 0x3000, 1, 9, DOMID_SELF), 1);
	CU_ASSERT_EQUAL(F.last_discard_gpa, 0x200000);
	CU_ASSERT_EQUAL(F.last_discard_len, 0x200000);
	CU_ASSERT_EQUAL(current_reservation(), ram - 5 - 512);

	/* populate takes them back; a frame never given back changes nothing */
	l64[0] = 0x100;
	l64[1] = 0x101;
	l64[2] = 0x105;
	CU_ASSERT_EQUAL(reservation(true, XENMEM_populate_physmap, 0x3000, 3, 0, DOMID_SELF), 3);
	CU_ASSERT_EQUAL(current_reservation(), ram - 3 - 512);
	l64[0] = 0x200;
	CU_ASSERT_EQUAL(reservation(true, XENMEM_increase_reservation, 0x3000, 1, 9, DOMID_SELF), 1);
	CU_ASSERT_EQUAL(current_reservation(), ram - 3);

	/* a continuation's start extent (above the low 6 bits of the command):
	 * extents before it are not touched again */
	l64[0] = 0x50000;      /* would stop the op if it were read */
	l64[1] = 0x102;
	l64[2] = 0x110;
	{
		struct xen_memory_reservation r = { .nr_extents = 3, .domid = DOMID_SELF };

		set_xen_guest_handle(r.extent_start, (xen_pfn_t *)(uintptr_t)0x3000);
		memcpy(xen_fake_gpa(&F, ARG), &r, sizeof(r));
		CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_memory_op,
						XENMEM_populate_physmap | 1 << 6, ARG, 0), 3);
		CU_ASSERT_EQUAL(current_reservation(), ram - 1);
		/* a start at or past the end does nothing */
		CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_memory_op,
						XENMEM_decrease_reservation | 7 << 6, ARG, 0), 7);
		CU_ASSERT_EQUAL(current_reservation(), ram - 1);
	}
	CU_ASSERT_EQUAL(xen_domain_tot_pages(F.d), (uint64_t)ram - 1);
	CU_ASSERT_EQUAL(F.discard_outside_ram, 0);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("xen ops", setup, teardown);
	CU_add_test(s, "HVM params and hvm_op", test_hvm_params);
	CU_add_test(s, "SCHEDOP_shutdown", test_shutdown);
	CU_add_test(s, "SCHEDOP_block and yield", test_block_yield);
	CU_add_test(s, "single-shot and periodic timers", test_timers);
	CU_add_test(s, "vcpu_op misc", test_vcpu_misc);
	CU_add_test(s, "memory_op", test_memory_op);
	CU_add_test(s, "XENMEM_memory_map", test_memory_map);
	CU_add_test(s, "balloon: decrease and populate", test_balloon);
	return cunit_run(CU_BRM_NORMAL);
}
