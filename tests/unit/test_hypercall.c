/* Hypercall dispatch, argument conventions, guest copies, xen_version,
 * CPUID leaves, the hypercall page blobs, console_io. */
#include <CUnit/Basic.h>
#include <errno.h>
#include <string.h>

#include "cunit_run.h"
#include "log_capture.h"
#include "xen_fake_vmm.h"
#include "xenkvm/hypercall_page.h"
#include "xenkvm/log.h"
#include "xenkvm/xen_cpuid.h"
#include "xenkvm/xen_guest_access.h"
#include "xenkvm/xen_version.h"
#include "xenkvm/xen_shinfo.h"

static struct xen_fake F;

static int setup(void)
{
	return xen_fake_init(&F, 3);
}

static int teardown(void)
{
	xen_fake_fini(&F);
	return 0;
}

static void test_unknown_and_counters(void)
{
	uint64_t before = F.d->hcall_enosys[__HYPERVISOR_mmu_update];

	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_mmu_update, 0, 0, 0), -ENOSYS);
	CU_ASSERT_EQUAL(F.d->hcall_enosys[__HYPERVISOR_mmu_update], before + 1);
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, 1000, 0, 0, 0), -ENOSYS);
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, UINT64_MAX, 0, 0, 0), -ENOSYS);
	CU_ASSERT_EQUAL(F.d->hcall_enosys[XEN_HCALL_COUNTED], 2);
	/* an unknown sub-op of a known hypercall is counted under its number */
	before = F.d->hcall_enosys[__HYPERVISOR_xen_version];
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_xen_version, 77, 0, 0), -ENOSYS);
	CU_ASSERT_EQUAL(F.d->hcall_enosys[__HYPERVISOR_xen_version], before + 1);
	CU_ASSERT_STRING_EQUAL(xen_hcall_name(__HYPERVISOR_event_channel_op), "event_channel_op");
	CU_ASSERT_PTR_NULL(xen_hcall_name(5000));
}

static void test_cpl_and_vcpu(void)
{
	struct xen_hcall hc = { .vcpu = 0, .longmode = true, .cpl = 3,
				.nr = __HYPERVISOR_xen_version };

	CU_ASSERT_EQUAL(xen_fake_call(&F, &hc), -EPERM);
	hc.cpl = 0;
	CU_ASSERT_EQUAL(xen_fake_call(&F, &hc), 0x40011);
	hc.vcpu = 3; /* only 3 vCPUs */
	CU_ASSERT_EQUAL(xen_fake_call(&F, &hc), -EINVAL);
}

static void test_regs(void)
{
	struct xen_hcall_regs r = { .rax = 0x100000011, .rbx = 0x1111111122222222,
				    .rcx = 0x3333333344444444, .rdx = 5, .rsi = 6, .rdi = 7,
				    .rbp = 8, .r8 = 9, .r9 = 10, .r10 = 11 };
	struct xen_hcall hc;

	xen_hcall_from_regs(&hc, &r, 2, true, 0);
	CU_ASSERT_EQUAL(hc.nr, 0x100000011);
	CU_ASSERT_EQUAL(hc.args[0], 7);
	CU_ASSERT_EQUAL(hc.args[1], 6);
	CU_ASSERT_EQUAL(hc.args[2], 5);
	CU_ASSERT_EQUAL(hc.args[3], 11);
	CU_ASSERT_EQUAL(hc.args[4], 9);
	CU_ASSERT_EQUAL(hc.args[5], 10);
	CU_ASSERT_EQUAL(hc.vcpu, 2);
	xen_hcall_from_regs(&hc, &r, 1, false, 0);
	CU_ASSERT_EQUAL(hc.nr, 0x11);
	CU_ASSERT_EQUAL(hc.args[0], 0x22222222);
	CU_ASSERT_EQUAL(hc.args[1], 0x44444444);
	CU_ASSERT_EQUAL(hc.args[2], 5);
	CU_ASSERT_EQUAL(hc.args[3], 6);
	CU_ASSERT_EQUAL(hc.args[4], 7);
	CU_ASSERT_EQUAL(hc.args[5], 8);
	CU_ASSERT_FALSE(hc.longmode);
}

static void test_compat_result_width(void)
{
	struct xen_hcall hc = { .longmode = false, .nr = 0x1234567800000001ull };

	/* 32-bit: number truncated to eax (1 = mmu_update), result in eax only */
	CU_ASSERT_EQUAL(xen_hypercall(F.d, &hc), (uint32_t)-ENOSYS);
	hc = (struct xen_hcall){ .longmode = true, .nr = 1 };
	CU_ASSERT_EQUAL(xen_hypercall(F.d, &hc), (uint64_t)-ENOSYS);
}

static void test_version(void)
{
	char *g = xen_fake_gpa(&F, 0x1000);
	struct xen_feature_info fi = { .submap_idx = 0 };
	uint32_t feats;

	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_xen_version, XENVER_version, 0, 0),
			4 << 16 | 17);
	memset(g, 'x', 32);
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_xen_version, XENVER_extraversion,
					0x1000, 0), 0);
	CU_ASSERT_STRING_EQUAL(g, ".0");
	CU_ASSERT_EQUAL(g[16], 'x'); /* exactly xen_extraversion_t */
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_xen_version, XENVER_capabilities,
					0x1000, 0), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(g, "hvm-3.0-x86_64"));
	CU_ASSERT_PTR_NULL(strstr(g, "xen-3.0"));
	memcpy(g, &fi, sizeof(fi));
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_xen_version, XENVER_get_features,
					0x1000, 0), 0);
	memcpy(&feats, g + 4, 4);
	CU_ASSERT(feats & 1u << XENFEAT_hvm_callback_vector);
	CU_ASSERT(feats & 1u << XENFEAT_hvm_safe_pvclock);
	CU_ASSERT(feats & 1u << XENFEAT_auto_translated_physmap);
	CU_ASSERT_FALSE(feats & 1u << XENFEAT_hvm_pirqs);
	CU_ASSERT_FALSE(feats & 1u << XENFEAT_dom0);
	fi.submap_idx = 1;
	memcpy(g, &fi, sizeof(fi));
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_xen_version, XENVER_get_features,
					0x1000, 0), -EINVAL);
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_xen_version, XENVER_pagesize, 0, 0),
			4096);
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_xen_version, XENVER_build_id,
					0x1000, 0), -EPERM);
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_xen_version, XENVER_commandline,
					0x1000, 0), -EPERM);
	/* platform_parameters: one xen_ulong_t, 8 or 4 bytes by mode */
	memset(g, 0xff, 16);
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_xen_version,
					XENVER_platform_parameters, 0x1000, 0), 0);
	CU_ASSERT_EQUAL((uint8_t)g[7], 0);
	CU_ASSERT_EQUAL((uint8_t)g[8], 0xff);
	memset(g, 0xff, 16);
	CU_ASSERT_EQUAL(xen_fake_call32(&F, 0, __HYPERVISOR_xen_version,
					XENVER_platform_parameters, 0x1000, 0), 0);
	CU_ASSERT_EQUAL((uint8_t)g[3], 0);
	CU_ASSERT_EQUAL((uint8_t)g[4], 0xff);
}

static void test_copy_across_pages(void)
{
	/* gva pages 0x7f0000001000 and ...2000 map to non-adjacent frames. */
	struct xen_feature_info fi = { .submap_idx = 0 };
	uint8_t *lo = xen_fake_gpa(&F, 0x5ffc), *hi = xen_fake_gpa(&F, 0x9000);
	uint32_t feats;

	xen_fake_remap(&F, 0x7f0000001000ull, 0x5000);
	xen_fake_remap(&F, 0x7f0000002000ull, 0x9000);
	memcpy(lo, &fi.submap_idx, 4);
	memset(hi, 0xee, 4);
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_xen_version, XENVER_get_features,
					0x7f0000001ffcull, 0), 0);
	memcpy(&feats, hi, 4);
	CU_ASSERT_EQUAL(feats, xen_version_features(F.d));
	/* a 16-byte read across the same boundary lands on both frames */
	memset(lo, 0, 4);
	memcpy(lo - 12, "0123456789ab", 12);
	memcpy(hi, "cdef", 4);
	{
		struct xen_hcall hc = { .vcpu = 0, .longmode = true };
		char buf[17] = { 0 };

		CU_ASSERT_EQUAL(xen_copy_from_guest(F.d, &hc, buf, 0x7f0000001ff0ull, 16), 0);
		CU_ASSERT_EQUAL(memcmp(buf, "0123456789ab\0\0\0\0", 16), 0);
		CU_ASSERT_EQUAL(xen_copy_from_guest(F.d, &hc, buf, 0x7f0000001ff8ull, 12), 0);
		CU_ASSERT_EQUAL(memcmp(buf, "89ab\0\0\0\0cdef", 12), 0);
	}
}

static void test_efault(void)
{
	struct xen_hcall hc = { .vcpu = 0, .longmode = true };
	uint8_t buf[8];

	/* unmapped gva */
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_xen_version, XENVER_extraversion,
					0x7f00000f0000ull, 0), -EFAULT);
	/* mapped, but to no RAM */
	xen_fake_remap(&F, 0x7f0000003000ull, 0x20000000);
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_xen_version, XENVER_extraversion,
					0x7f0000003000ull, 0), -EFAULT);
	/* runs off the end of RAM */
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_xen_version, XENVER_capabilities,
					FAKE_RAM_SIZE - 16, 0), -EFAULT);
	/* 32-bit: the address space ends at 4 GiB */
	hc.longmode = false;
	CU_ASSERT_EQUAL(xen_copy_from_guest(F.d, &hc, buf, 0xfffffffcull, 8), -EFAULT);
	CU_ASSERT_EQUAL(xen_copy_from_guest(F.d, &hc, buf, 0x100001000ull, 8), -EFAULT);
	hc.longmode = true;
	CU_ASSERT_EQUAL(xen_copy_from_guest(F.d, &hc, buf, UINT64_MAX - 3, 8), -EFAULT);
	CU_ASSERT_EQUAL(xen_copy_from_guest(F.d, &hc, buf, 0x1000, 0), 0);
	/* 32-bit callers' argument registers are truncated to 32 bits first */
	CU_ASSERT_EQUAL(xen_fake_call32(&F, 0, __HYPERVISOR_xen_version, XENVER_extraversion,
					0xdead00001000ull, 0), 0);
}

static void test_blobs(void)
{
	const uint8_t *pages[2] = { xen_hypercall_page64, xen_hypercall_page32 };

	CU_ASSERT_EQUAL(sizeof(xen_hypercall_page64), 4096);
	for (int p = 0; p < 2; p++) {
		const uint8_t *pg = pages[p];
		unsigned int bad = 0;

		for (unsigned int i = 0; i < 4096 / 32; i++) {
			const uint8_t *s = pg + i * 32;
			uint32_t imm;
			unsigned int code_len = 8;

			if (i == __HYPERVISOR_iret) {
				bad += s[0] != 0x0f || s[1] != 0x0b; /* ud2 */
				code_len = 2;
			} else {
				memcpy(&imm, s + 1, 4);
				bad += s[0] != 0xb8 || imm != i;          /* mov $i,%eax */
				bad += s[5] != 0xe7 || s[6] != XEN_HCALL_IO_PORT; /* out %eax,$port */
				bad += s[7] != 0xc3;                      /* ret */
			}
			for (unsigned int j = code_len; j < 32; j++)
				bad += s[j] != 0xcc;
		}
		CU_ASSERT_EQUAL(bad, 0);
	}
}

static void test_msr_write(void)
{
	CU_ASSERT_EQUAL(xen_hypercall_msr_write(F.d, 0, true, 0x6000), 0);
	CU_ASSERT_EQUAL(memcmp(xen_fake_gpa(&F, 0x6000), xen_hypercall_page64, 4096), 0);
	CU_ASSERT_EQUAL(xen_hypercall_msr_write(F.d, 0, true, 0x6001), -EINVAL);
	CU_ASSERT_EQUAL(xen_hypercall_msr_write(F.d, 0, true, 0x30000000), -EFAULT);
	CU_ASSERT_EQUAL(xen_hypercall_msr_write(F.d, 0, true, FAKE_HIGH_GPA + FAKE_HIGH_SIZE - 4096),
			0);
	CU_ASSERT_TRUE(F.d->long_mode);
	CU_ASSERT_EQUAL(xen_hypercall_msr_write(F.d, 1, false, 0x7000), 0);
	CU_ASSERT_EQUAL(memcmp(xen_fake_gpa(&F, 0x7000), xen_hypercall_page32, 4096), 0);
	CU_ASSERT_FALSE(F.d->long_mode);
	CU_ASSERT_FALSE(F.long_mode_told);
	CU_ASSERT_EQUAL(xen_hypercall_msr_write(F.d, 1, true, 0x7000), 0);
	CU_ASSERT_TRUE(F.d->long_mode);
	CU_ASSERT_TRUE(F.long_mode_told);
}

static void test_cpuid(void)
{
	struct xen_cpuid_entry l, all[10];
	uint32_t mul;
	int8_t shift;

	CU_ASSERT_TRUE(xen_cpuid(F.d, 0, XEN_CPUID_BASE, XEN_CPUID_BASE, 0, &l));
	CU_ASSERT_EQUAL(l.eax, XEN_CPUID_BASE + 4);
	CU_ASSERT_EQUAL(memcmp(&l.ebx, "XenV", 4), 0);
	CU_ASSERT_EQUAL(memcmp(&l.ecx, "MMXe", 4), 0);
	CU_ASSERT_EQUAL(memcmp(&l.edx, "nVMM", 4), 0);
	CU_ASSERT_TRUE(xen_cpuid(F.d, 0, XEN_CPUID_BASE, XEN_CPUID_BASE + 1, 0, &l));
	CU_ASSERT_EQUAL(l.eax, 0x40011);
	CU_ASSERT_TRUE(xen_cpuid(F.d, 0, XEN_CPUID_BASE, XEN_CPUID_BASE + 2, 0, &l));
	CU_ASSERT_EQUAL(l.eax, 1);
	CU_ASSERT_EQUAL(l.ebx, XEN_HYPERCALL_MSR);
	CU_ASSERT_TRUE(xen_cpuid(F.d, 2, XEN_CPUID_BASE, XEN_CPUID_BASE + 4, 0, &l));
	CU_ASSERT_EQUAL(l.ebx, 2);
	CU_ASSERT(l.eax & 1u << 3); /* VCPU_ID_PRESENT */
	CU_ASSERT(l.eax & 1u << 6); /* UPCALL_VECTOR */
	CU_ASSERT_EQUAL(l.ecx, FAKE_DOMID);
	CU_ASSERT_TRUE(xen_cpuid(F.d, 0, XEN_CPUID_BASE, XEN_CPUID_BASE + 3, 1, &l));
	CU_ASSERT_EQUAL(pvclock_scale(2500000000ull, &mul, &shift), 0);
	CU_ASSERT_EQUAL(l.ecx, mul);
	CU_ASSERT_EQUAL((int32_t)l.edx, shift);
	CU_ASSERT_TRUE(xen_cpuid(F.d, 0, XEN_CPUID_BASE, XEN_CPUID_BASE + 3, 0, &l));
	CU_ASSERT_EQUAL(l.ecx, 2500000);
	CU_ASSERT_FALSE(xen_cpuid(F.d, 0, XEN_CPUID_BASE, XEN_CPUID_BASE + 5, 0, &l));
	CU_ASSERT_FALSE(xen_cpuid(F.d, 0, XEN_CPUID_BASE, XEN_CPUID_BASE - 1, 0, &l));
	/* at a shifted base */
	CU_ASSERT_TRUE(xen_cpuid(F.d, 0, 0x40000100, 0x40000100, 0, &l));
	CU_ASSERT_EQUAL(l.eax, 0x40000104);
	CU_ASSERT_EQUAL(xen_cpuid_leaves(F.d, 1, XEN_CPUID_BASE, all, 10), 7);
	CU_ASSERT_EQUAL(xen_cpuid_leaves(F.d, 1, XEN_CPUID_BASE, all, 3), 3);
	/* KVM's leaves move to 0x40000100 with their max-leaf */
	l = (struct xen_cpuid_entry){ .function = 0x40000000, .eax = 0x40000001 };
	CU_ASSERT_TRUE(xen_cpuid_rebase_kvm_leaf(&l, XEN_CPUID_KVM_BASE));
	CU_ASSERT_EQUAL(l.function, 0x40000100);
	CU_ASSERT_EQUAL(l.eax, 0x40000101);
	l = (struct xen_cpuid_entry){ .function = 0x40000001, .eax = 0x1234 };
	CU_ASSERT_TRUE(xen_cpuid_rebase_kvm_leaf(&l, XEN_CPUID_KVM_BASE));
	CU_ASSERT_EQUAL(l.function, 0x40000101);
	CU_ASSERT_EQUAL(l.eax, 0x1234);
	l = (struct xen_cpuid_entry){ .function = 0x40000200 };
	CU_ASSERT_FALSE(xen_cpuid_rebase_kvm_leaf(&l, XEN_CPUID_KVM_BASE));
}

static void test_console_physdev(void)
{
	memcpy(xen_fake_gpa(&F, 0x1000), "hello, xen\n", 11);
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_console_io, CONSOLEIO_write, 11,
					0x1000), 0);
	CU_ASSERT_STRING_EQUAL(F.console, "hello, xen\n");
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_console_io, CONSOLEIO_write, 11,
					0x7f00000f0000ull), -EFAULT);
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_console_io, 9, 0, 0), -EINVAL);
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_physdev_op, PHYSDEVOP_get_free_pirq,
					0x1000, 0), -ENOSYS);
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_physdev_op, PHYSDEVOP_map_pirq,
					0x1000, 0), -ENOSYS);
}

/* hvm_op set_param(CALLBACK_IRQ, 0) from `vcpu` at `cpl` in 64- or 32-bit
 * mode: the call Xen latches the shared_info layout on. */
static long set_callback_irq(unsigned int cpl, bool longmode)
{
	struct xen_hvm_param hp = { .domid = DOMID_SELF, .index = HVM_PARAM_CALLBACK_IRQ, .value = 0 };
	struct xen_hcall hc = { .vcpu = 0, .longmode = longmode, .cpl = cpl,
				.nr = __HYPERVISOR_hvm_op, .args = { HVMOP_set_param, 0x3000 } };

	memcpy(xen_fake_gpa(&F, 0x3000), &hp, sizeof(hp));
	return xen_fake_call(&F, &hc);
}

static void test_user_mode_does_not_latch_layout(void)
{
	struct xen_hcall hc = { .vcpu = 1, .longmode = false, .cpl = 3,
				.nr = __HYPERVISOR_xen_version };
	unsigned int told;

	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_xen_version, 0, 0, 0), 0x40011);
	CU_ASSERT_TRUE_FATAL(F.d->long_mode);
	told = F.long_mode_calls;
	/* a 32-bit process in the 64-bit guest: refused, and nothing moves */
	CU_ASSERT_EQUAL(xen_fake_call(&F, &hc), -EPERM);
	CU_ASSERT_EQUAL(set_callback_irq(3, false), -EPERM);
	hc.cpl = 1;
	CU_ASSERT_EQUAL(xen_fake_call(&F, &hc), -EPERM);
	CU_ASSERT_TRUE(F.d->long_mode);
	CU_ASSERT_EQUAL(F.long_mode_calls, told);
	/* the kernel's own 32-bit hypercall does latch it, and tells the VMM */
	CU_ASSERT_EQUAL(set_callback_irq(0, false), 0);
	CU_ASSERT_FALSE(F.d->long_mode);
	CU_ASSERT_EQUAL(F.long_mode_calls, told + 1);
	CU_ASSERT_FALSE(F.long_mode_told);
	/* and a user-mode 64-bit call cannot switch it back */
	hc.longmode = true;
	hc.cpl = 3;
	CU_ASSERT_EQUAL(xen_fake_call(&F, &hc), -EPERM);
	CU_ASSERT_FALSE(F.d->long_mode);
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_xen_version, 0, 0, 0), 0x40011);
	CU_ASSERT_TRUE(F.d->long_mode);
	CU_ASSERT_TRUE(F.long_mode_told);
}

static void test_layout_flips_do_not_flood_the_log(void)
{
	struct log_capture c;
	unsigned int told = F.long_mode_calls;
	int bad = 0;
	char *out;

	CU_ASSERT_EQUAL_FATAL(log_capture_begin(&c), 0);
	for (int i = 0; i < 10000; i++)
		bad += set_callback_irq(0, i & 1) != 0;
	out = log_capture_end(&c);
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(F.long_mode_calls, told + 10000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	CU_ASSERT_TRUE(log_count_lines(out) <= LOG_RL_BURST + 1);
	free(out);
	CU_ASSERT_EQUAL(xen_fake_call64(&F, 0, __HYPERVISOR_xen_version, 0, 0, 0), 0x40011);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("hypercall", setup, teardown);
	CU_add_test(s, "unknown numbers and sub-ops are counted", test_unknown_and_counters);
	CU_add_test(s, "CPL>0 and bad vCPU", test_cpl_and_vcpu);
	CU_add_test(s, "register conventions", test_regs);
	CU_add_test(s, "32-bit result width", test_compat_result_width);
	CU_add_test(s, "xen_version", test_version);
	CU_add_test(s, "copies across non-contiguous pages", test_copy_across_pages);
	CU_add_test(s, "bad pointers", test_efault);
	CU_add_test(s, "hypercall page blobs", test_blobs);
	CU_add_test(s, "hypercall MSR write", test_msr_write);
	CU_add_test(s, "cpuid leaves", test_cpuid);
	CU_add_test(s, "console_io and physdev_op", test_console_physdev);
	CU_add_test(s, "a user-mode hypercall does not latch the layout",
		    test_user_mode_does_not_latch_layout);
	CU_add_test(s, "layout flips do not flood the log", test_layout_flips_do_not_flood_the_log);
	return cunit_run(CU_BRM_NORMAL);
}
