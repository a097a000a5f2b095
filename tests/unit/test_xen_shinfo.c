/* shared_info / vcpu_info layouts (native and 32-bit), placement, pvclock,
 * wallclock, runstate and time areas. */
#include <CUnit/Basic.h>
#include <errno.h>
#include <stddef.h>
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
	return xen_fake_init(&F, 3);
}

static int teardown(void)
{
	xen_fake_fini(&F);
	return 0;
}

static long call(bool lm, unsigned int vcpu, uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2)
{
	return lm ? xen_fake_call64(&F, vcpu, nr, a0, a1, a2)
		  : xen_fake_call32(&F, vcpu, nr, a0, a1, a2);
}

static long map_shinfo(bool lm, domid_t dom, unsigned int idx, uint64_t gfn)
{
	if (lm) {
		struct xen_add_to_physmap x = { .domid = dom, .space = XENMAPSPACE_shared_info,
						.idx = idx, .gpfn = gfn };

		memcpy(xen_fake_gpa(&F, ARG), &x, sizeof(x));
	} else {
		struct compat_add_to_physmap x = { .domid = dom, .space = XENMAPSPACE_shared_info,
						   .idx = idx, .gpfn = (uint32_t)gfn };

		memcpy(xen_fake_gpa(&F, ARG), &x, sizeof(x));
	}
	return call(lm, 0, __HYPERVISOR_memory_op, XENMEM_add_to_physmap, ARG, 0);
}

static void test_layout(void)
{
	CU_ASSERT_EQUAL(sizeof(struct vcpu_info), XEN_VI_SIZE);
	CU_ASSERT_EQUAL(sizeof(struct vcpu_info_x86_32), XEN_VI_SIZE);
	CU_ASSERT_EQUAL(offsetof(struct vcpu_info, evtchn_upcall_pending), XEN_VI_UPCALL_PENDING);
	CU_ASSERT_EQUAL(offsetof(struct vcpu_info, evtchn_upcall_mask), XEN_VI_UPCALL_MASK);
	CU_ASSERT_EQUAL(offsetof(struct vcpu_info, evtchn_pending_sel), XEN_VI_PENDING_SEL(true));
	CU_ASSERT_EQUAL(offsetof(struct vcpu_info_x86_32, evtchn_pending_sel),
			XEN_VI_PENDING_SEL(false));
	CU_ASSERT_EQUAL(offsetof(struct vcpu_info, time), XEN_VI_TIME);
	CU_ASSERT_EQUAL(offsetof(struct vcpu_info_x86_32, time), XEN_VI_TIME);
	CU_ASSERT_EQUAL(sizeof(struct vcpu_time_info), sizeof(struct vcpu_time_info_x86_32));
	CU_ASSERT_EQUAL(offsetof(struct shared_info, evtchn_pending), XEN_SI_EVTCHN_PENDING);
	CU_ASSERT_EQUAL(offsetof(struct shared_info_x86_32, evtchn_pending), XEN_SI_EVTCHN_PENDING);
	CU_ASSERT_EQUAL(offsetof(struct shared_info, evtchn_mask), XEN_SI_EVTCHN_MASK(true));
	CU_ASSERT_EQUAL(offsetof(struct shared_info_x86_32, evtchn_mask), XEN_SI_EVTCHN_MASK(false));
	CU_ASSERT_EQUAL(offsetof(struct shared_info, wc_version), XEN_SI_WC_VERSION(true));
	CU_ASSERT_EQUAL(offsetof(struct shared_info_x86_32, wc_version), XEN_SI_WC_VERSION(false));
	CU_ASSERT_EQUAL(offsetof(struct shared_info, wc_sec_hi), XEN_SI_WC_SEC_HI(true));
	CU_ASSERT_EQUAL(offsetof(struct shared_info_x86_32, arch.wc_sec_hi), XEN_SI_WC_SEC_HI(false));
	CU_ASSERT(sizeof(struct shared_info) <= 4096);
	CU_ASSERT_EQUAL(offsetof(struct compat_runstate_info, state_entry_time), 4);
	CU_ASSERT_EQUAL(offsetof(struct vcpu_runstate_info, state_entry_time), 8);
	CU_ASSERT_EQUAL(offsetof(struct compat_sched_poll, timeout), 8);
	CU_ASSERT_EQUAL(offsetof(struct sched_poll, timeout), 16);
	CU_ASSERT_EQUAL(offsetof(struct compat_add_to_physmap, gpfn), 12);
	CU_ASSERT_EQUAL(offsetof(struct xen_add_to_physmap, gpfn), 16);
}

static void test_map_and_wallclock(void)
{
	const struct shared_info *si;
	uint8_t *page;

	CU_ASSERT_EQUAL(fresh(3), 0);
	CU_ASSERT_EQUAL(map_shinfo(true, DOMID_SELF, 0, 0x80), 0);
	page = xen_fake_overlay(&F, 0x80);
	CU_ASSERT_PTR_EQUAL(page, F.d->shinfo);
	CU_ASSERT_EQUAL(F.shinfo_gfn_told, 0x80);
	si = (const struct shared_info *)page;
	CU_ASSERT_EQUAL(si->wc_version % 2, 0);
	CU_ASSERT(si->wc_version > 0);
	CU_ASSERT_EQUAL(si->wc_sec, 1767225600u);
	CU_ASSERT_EQUAL(si->wc_nsec, 500000000u);
	CU_ASSERT_EQUAL(si->wc_sec_hi, 0);
	/* moving it removes the old overlay */
	CU_ASSERT_EQUAL(map_shinfo(true, FAKE_DOMID, 0, 0x81), 0);
	CU_ASSERT_PTR_NULL(xen_fake_overlay(&F, 0x80));
	CU_ASSERT_PTR_EQUAL(xen_fake_overlay(&F, 0x81), F.d->shinfo);
	CU_ASSERT_EQUAL(map_shinfo(true, DOMID_SELF, 1, 0x82), -EINVAL);
	CU_ASSERT_EQUAL(map_shinfo(true, DOMID_SELF, 0, 1ull << 40), -EINVAL);
	CU_ASSERT_EQUAL(map_shinfo(true, 0, 0, 0x82), -EPERM);
	CU_ASSERT_EQUAL(map_shinfo(true, 4, 0, 0x82), -ESRCH);
	/* hypercall arguments inside the overlay read the overlay, not RAM */
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_xen_version, XENVER_extraversion,
					0x81000 + 3000, 0), 0);
	CU_ASSERT_STRING_EQUAL((char *)F.d->shinfo + 3000, ".0");
	/* a 32-bit guest's map uses the compat struct; wallclock moves */
	CU_ASSERT_EQUAL(fresh(3), 0);
	xen_domain_set_long_mode(F.d, false);
	CU_ASSERT_EQUAL(map_shinfo(false, DOMID_SELF, 0, 0x90), 0);
	{
		const struct shared_info_x86_32 *s32 = (const void *)F.d->shinfo;

		CU_ASSERT_EQUAL(s32->wc_sec, 1767225600u);
		CU_ASSERT_EQUAL(s32->wc_nsec, 500000000u);
		CU_ASSERT_EQUAL(s32->wc_version % 2, 0);
	}
}

static void test_register_vcpu_info(void)
{
	struct vcpu_register_vcpu_info r = { .mfn = 0x100, .offset = 0x40 };
	uint8_t *old, *newp;
	uint64_t sel;

	CU_ASSERT_EQUAL_FATAL(fresh(3), 0);
	newp = xen_fake_gpa(&F, 0x100040);
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_hvm_op, 99, 0, 0), -ENOSYS);
	{
		struct xen_hvm_param hp = { .domid = DOMID_SELF, .index = HVM_PARAM_CALLBACK_IRQ,
					    .value = 2ull << 56 | 0xf3 };

		memcpy(xen_fake_gpa(&F, ARG), &hp, sizeof(hp));
		CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_hvm_op, HVMOP_set_param, ARG, 0), 0);
	}
	old = F.d->shinfo + 1 * 64;
	old[XEN_VI_UPCALL_MASK] = 0x5a; /* something to be copied along */
	memcpy(xen_fake_gpa(&F, ARG), &r, sizeof(r));
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 1, __HYPERVISOR_vcpu_op, VCPUOP_register_vcpu_info, 1,
					ARG), 0);
	CU_ASSERT_EQUAL(F.vcpu_info_told[1], 0x100040);
	CU_ASSERT_PTR_EQUAL(shinfo_vcpu_info(F.d, 1), newp);
	CU_ASSERT_EQUAL(newp[XEN_VI_UPCALL_MASK], 0x5a);
	memcpy(&sel, newp + 8, 8);
	CU_ASSERT_EQUAL(sel, ~0ull); /* forced rescan */
	CU_ASSERT_EQUAL(newp[XEN_VI_UPCALL_PENDING], 1);
	CU_ASSERT_EQUAL(F.injected[1], 1);
	/* pvclock was written at the new place */
	{
		struct vcpu_time_info t;
		uint32_t mul;
		int8_t shift;

		memcpy(&t, newp + XEN_VI_TIME, sizeof(t));
		CU_ASSERT_EQUAL(t.version % 2, 0);
		CU_ASSERT(t.version > 0);
		CU_ASSERT_EQUAL(t.tsc_timestamp, F.tsc);
		CU_ASSERT_EQUAL(t.system_time, F.now);
		pvclock_scale(2500000000ull, &mul, &shift);
		CU_ASSERT_EQUAL(t.tsc_to_system_mul, mul);
		CU_ASSERT_EQUAL(t.tsc_shift, shift);
	}
	/* events for vCPU 1 now land there */
	{
		struct evtchn_bind_ipi b = { .vcpu = 1 };

		memset(newp, 0, 16);
		memcpy(xen_fake_gpa(&F, ARG), &b, sizeof(b));
		CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_event_channel_op,
						EVTCHNOP_bind_ipi, ARG, 0), 0);
		memcpy(&b, xen_fake_gpa(&F, ARG), sizeof(b));
		evtchn_set_pending(F.d, b.port);
		CU_ASSERT_EQUAL(newp[0], 1);
		CU_ASSERT_EQUAL(old[0], 0);
	}
	/* once only; bounds; alignment; RAM; vCPU */
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 1, __HYPERVISOR_vcpu_op, VCPUOP_register_vcpu_info, 1,
					ARG), -EINVAL);
	r = (struct vcpu_register_vcpu_info){ .mfn = 0x101, .offset = 4096 - 63 };
	memcpy(xen_fake_gpa(&F, ARG), &r, sizeof(r));
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_vcpu_op, VCPUOP_register_vcpu_info, 0,
					ARG), -EINVAL);
	r.offset = 4;
	memcpy(xen_fake_gpa(&F, ARG), &r, sizeof(r));
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_vcpu_op, VCPUOP_register_vcpu_info, 0,
					ARG), -ENXIO);
	r = (struct vcpu_register_vcpu_info){ .mfn = 0x50000, .offset = 0 };
	memcpy(xen_fake_gpa(&F, ARG), &r, sizeof(r));
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_vcpu_op, VCPUOP_register_vcpu_info, 0,
					ARG), -EINVAL);
	r.mfn = UINT64_MAX;
	memcpy(xen_fake_gpa(&F, ARG), &r, sizeof(r));
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_vcpu_op, VCPUOP_register_vcpu_info, 0,
					ARG), -EINVAL);
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_vcpu_op, VCPUOP_register_vcpu_info, 3,
					ARG), -ENOENT);
}

static void test_vcpus_beyond_32(void)
{
	struct vcpu_register_vcpu_info r = { .mfn = 0x120, .offset = 0 };
	struct evtchn_bind_ipi b = { .vcpu = 35 };

	CU_ASSERT_EQUAL(fresh(40), 0);
	CU_ASSERT_PTR_NULL(shinfo_vcpu_info(F.d, 35));
	CU_ASSERT_PTR_NOT_NULL(shinfo_vcpu_info(F.d, 31));
	memcpy(xen_fake_gpa(&F, ARG), &b, sizeof(b));
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_event_channel_op, EVTCHNOP_bind_ipi,
					ARG, 0), 0);
	memcpy(&b, xen_fake_gpa(&F, ARG), sizeof(b));
	evtchn_set_pending(F.d, b.port); /* no vcpu_info yet: bit only */
	CU_ASSERT_TRUE(evtchn_is_pending(F.d, b.port));
	memcpy(xen_fake_gpa(&F, ARG), &r, sizeof(r));
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 35, __HYPERVISOR_vcpu_op, VCPUOP_register_vcpu_info,
					35, ARG), 0);
	CU_ASSERT_PTR_EQUAL(shinfo_vcpu_info(F.d, 35), xen_fake_gpa(&F, 0x120000));
	CU_ASSERT_EQUAL(((uint8_t *)xen_fake_gpa(&F, 0x120000))[0], 1);
}

static void test_pvclock_scale(void)
{
	static const uint64_t hz[] = { 1000000, 100000000, 999999999, 1000000000, 1000000001,
				       2500000000ull, 3300000000ull, 10000000000ull, 2 };
	uint32_t mul;
	int8_t shift;

	CU_ASSERT_EQUAL(pvclock_scale(0, &mul, &shift), -EINVAL);
	for (unsigned int i = 0; i < sizeof(hz) / sizeof(hz[0]); i++) {
		uint64_t ns;

		CU_ASSERT_EQUAL(pvclock_scale(hz[i], &mul, &shift), 0);
		CU_ASSERT(mul >= 1u << 31); /* full precision */
		ns = pvclock_delta_ns(hz[i] * 3, mul, shift); /* three seconds of ticks */
		CU_ASSERT(ns <= 3000000000ull && 3000000000ull - ns <= 3000 + 3000000000ull / hz[i]);
	}
}

static void test_time_and_runstate(void)
{
	struct vcpu_runstate_info rs;
	uint8_t *area;
	uint64_t gva;

	CU_ASSERT_EQUAL(fresh(2), 0);
	/* time area: a guest virtual address, translated at registration */
	xen_fake_remap(&F, 0xffff800000010000ull, 0x30000);
	gva = 0xffff800000010040ull;
	memcpy(xen_fake_gpa(&F, ARG), &gva, 8);
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_vcpu_op,
					VCPUOP_register_vcpu_time_memory_area, 0, ARG), 0);
	{
		struct vcpu_time_info t;

		memcpy(&t, xen_fake_gpa(&F, 0x30040), sizeof(t));
		CU_ASSERT_EQUAL(t.system_time, F.now);
		CU_ASSERT_EQUAL(t.tsc_timestamp, F.tsc);
	}
	gva = 0xffff800000010ff0ull; /* straddles a page */
	memcpy(xen_fake_gpa(&F, ARG), &gva, 8);
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_vcpu_op,
					VCPUOP_register_vcpu_time_memory_area, 0, ARG), -EFAULT);
	gva = 0xffff900000000000ull; /* unmapped */
	memcpy(xen_fake_gpa(&F, ARG), &gva, 8);
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_vcpu_op,
					VCPUOP_register_runstate_memory_area, 0, ARG), -EFAULT);

	/* runstate across two non-adjacent frames, with the update flag on */
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_vm_assist, VMASST_CMD_enable,
					VMASST_TYPE_runstate_update_flag, 0), 0);
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_vm_assist, VMASST_CMD_enable,
					VMASST_TYPE_writable_pagetables, 0), -EINVAL);
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_vm_assist, 7,
					VMASST_TYPE_runstate_update_flag, 0), -ENOSYS);
	xen_fake_remap(&F, 0xffff800000020000ull, 0x40000);
	xen_fake_remap(&F, 0xffff800000021000ull, 0x48000);
	gva = 0xffff800000020fe0ull; /* 32 bytes in the first page, 16 in the second */
	memcpy(xen_fake_gpa(&F, ARG), &gva, 8);
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 1, __HYPERVISOR_vcpu_op,
					VCPUOP_register_runstate_memory_area, 1, ARG), 0);
	F.now += 700;
	xen_vcpu_set_runstate(F.d, 1, RUNSTATE_blocked);
	F.now += 300;
	xen_vcpu_set_runstate(F.d, 1, RUNSTATE_running);
	memcpy(&rs, xen_fake_gpa(&F, 0x40fe0), 32);
	memcpy((uint8_t *)&rs + 32, xen_fake_gpa(&F, 0x48000), 16);
	CU_ASSERT_EQUAL(rs.state, RUNSTATE_running);
	CU_ASSERT_EQUAL(rs.state_entry_time, F.now); /* no XEN_RUNSTATE_UPDATE left */
	CU_ASSERT_EQUAL(rs.time[RUNSTATE_running], 700);
	CU_ASSERT_EQUAL(rs.time[RUNSTATE_blocked], 300);
	/* get_runstate_info returns the same record */
	area = xen_fake_gpa(&F, 0x3000);
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_vcpu_op, VCPUOP_get_runstate_info, 1,
					0x3000), 0);
	CU_ASSERT_EQUAL(memcmp(area, &rs, sizeof(rs)), 0);
	xen_vcpu_set_runstate(F.d, 1, 9); /* bogus: ignored */
	xen_vcpu_set_runstate(F.d, 7, RUNSTATE_blocked);

	/* 32-bit: 44 bytes, entry time at offset 4 */
	CU_ASSERT_EQUAL(fresh(2), 0);
	xen_domain_set_long_mode(F.d, false);
	memset(xen_fake_gpa(&F, 0x5000), 0xee, 64);
	CU_ASSERT_EQUAL(xen_fake_call32(&F, 0, __HYPERVISOR_vcpu_op, VCPUOP_get_runstate_info, 0,
					0x5000), 0);
	{
		struct compat_runstate_info c;
		uint8_t *g = xen_fake_gpa(&F, 0x5000);

		memcpy(&c, g, sizeof(c));
		CU_ASSERT_EQUAL(c.state, RUNSTATE_running);
		CU_ASSERT_EQUAL(c.state_entry_time, F.now);
		CU_ASSERT_EQUAL(g[44], 0xee);
	}
	memcpy(xen_fake_gpa(&F, ARG), &(uint64_t){ 0x6000 }, 8);
	CU_ASSERT_EQUAL(xen_fake_call32(&F, 0, __HYPERVISOR_vcpu_op,
					VCPUOP_register_runstate_memory_area, 0, ARG), 0);
	F.now += 50;
	xen_vcpu_set_runstate(F.d, 0, RUNSTATE_runnable);
	{
		struct compat_runstate_info c;

		memcpy(&c, xen_fake_gpa(&F, 0x6000), sizeof(c));
		CU_ASSERT_EQUAL(c.state, RUNSTATE_runnable);
		CU_ASSERT_EQUAL(c.time[RUNSTATE_running], 50);
	}
}

static void test_kernel_accel(void)
{
	struct vcpu_register_vcpu_info r = { .mfn = 0x100, .offset = 0 };
	uint8_t *g;

	/* with KVM keeping pvclock and runstate, xen-compat only forwards */
	xen_fake_fini(&F);
	CU_ASSERT_EQUAL_FATAL(xen_fake_init_ex(&F, 1, true), 0);
	g = xen_fake_gpa(&F, 0x100000);
	memcpy(xen_fake_gpa(&F, ARG), &r, sizeof(r));
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_vcpu_op, VCPUOP_register_vcpu_info, 0,
					ARG), 0);
	CU_ASSERT_EQUAL(F.vcpu_info_told[0], 0x100000);
	CU_ASSERT_EQUAL(((struct vcpu_time_info *)(g + XEN_VI_TIME))->version, 0);
	memcpy(xen_fake_gpa(&F, ARG), &(uint64_t){ 0x6000 }, 8);
	memset(xen_fake_gpa(&F, 0x6000), 0xee, 48);
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_vcpu_op,
					VCPUOP_register_runstate_memory_area, 0, ARG), 0);
	CU_ASSERT_EQUAL(((uint8_t *)xen_fake_gpa(&F, 0x6000))[0], 0xee);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("shinfo", setup, teardown);
	CU_add_test(s, "layouts (native and 32-bit)", test_layout);
	CU_add_test(s, "mapping and wallclock", test_map_and_wallclock);
	CU_add_test(s, "VCPUOP_register_vcpu_info", test_register_vcpu_info);
	CU_add_test(s, "vCPUs beyond the legacy 32", test_vcpus_beyond_32);
	CU_add_test(s, "pvclock scale", test_pvclock_scale);
	CU_add_test(s, "time and runstate areas", test_time_and_runstate);
	CU_add_test(s, "kernel-accelerated mode only forwards", test_kernel_accel);
	return cunit_run(CU_BRM_NORMAL);
}
