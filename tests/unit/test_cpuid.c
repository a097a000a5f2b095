#include <CUnit/Basic.h>
#include <string.h>

#include "cunit_run.h"
#include "xenkvm/cpuid.h"

#define MAX 32

/* A host-like supported set: basic max leaf 0xD, host topology in 0xB/0x1F. */
static unsigned int make_host(struct kvm_cpuid_entry2 *e)
{
	unsigned int n = 0;

	memset(e, 0, MAX * sizeof(*e));
	e[n++] = (struct kvm_cpuid_entry2){ .function = 0, .eax = 0x1f };
	e[n++] = (struct kvm_cpuid_entry2){ .function = 1, .ebx = 0x12340800, .ecx = 0x1, .edx = 1u << 28 };
	e[n++] = (struct kvm_cpuid_entry2){ .function = 4, .index = 0, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
					    .eax = 0xfc004121 };   /* L1d, 64 cores/pkg on host */
	e[n++] = (struct kvm_cpuid_entry2){ .function = 4, .index = 3, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
					    .eax = 0xfc0fc163 };   /* L3 */
	e[n++] = (struct kvm_cpuid_entry2){ .function = 0xb, .index = 0, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
					    .eax = 1, .ebx = 2, .ecx = 0x100, .edx = 77 };
	e[n++] = (struct kvm_cpuid_entry2){ .function = 0xb, .index = 1, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
					    .eax = 7, .ebx = 96, .ecx = 0x201, .edx = 77 };
	e[n++] = (struct kvm_cpuid_entry2){ .function = 0x1f, .index = 0, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
					    .eax = 1, .ebx = 2, .ecx = 0x100 };
	e[n++] = (struct kvm_cpuid_entry2){ .function = 0x80000001, .ecx = (1u << 22) };
	e[n++] = (struct kvm_cpuid_entry2){ .function = 0x80000008, .eax = 0x3030, .ecx = 0x703f };
	return n;
}

static void test_core_bits(void)
{
	CU_ASSERT_EQUAL(cpuid_core_bits(1), 0);
	CU_ASSERT_EQUAL(cpuid_core_bits(2), 1);
	CU_ASSERT_EQUAL(cpuid_core_bits(3), 2);
	CU_ASSERT_EQUAL(cpuid_core_bits(4), 2);
	CU_ASSERT_EQUAL(cpuid_core_bits(5), 3);
	CU_ASSERT_EQUAL(cpuid_core_bits(255), 8);
}

static void test_leaf1_and_topology(void)
{
	struct kvm_cpuid_entry2 e[MAX], *l;
	unsigned int n = cpuid_adjust(e, make_host(e), MAX, 2, 3);

	l = cpuid_find(e, n, 1, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	CU_ASSERT_EQUAL(l->ebx >> 24, 2);              /* initial APIC id */
	CU_ASSERT_EQUAL((l->ebx >> 16) & 0xff, 3);     /* logical processors */
	CU_ASSERT_EQUAL(l->ebx & 0xffff, 0x0800);      /* CLFLUSH etc. kept */
	CU_ASSERT(l->ecx & (1u << 31));                /* hypervisor */
	CU_ASSERT(l->edx & (1u << 28));                /* HTT with > 1 logical */

	/* host 0x1F gone, 0xB rebuilt with exactly 3 subleaves */
	CU_ASSERT_PTR_NULL(cpuid_find(e, n, 0x1f, 0));
	l = cpuid_find(e, n, 0xb, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	CU_ASSERT_EQUAL(l->eax, 0);
	CU_ASSERT_EQUAL(l->ebx, 1);
	CU_ASSERT_EQUAL(l->ecx, 0x100);
	CU_ASSERT_EQUAL(l->edx, 2);
	l = cpuid_find(e, n, 0xb, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	CU_ASSERT_EQUAL(l->eax, 2);                    /* shift: 3 cores need 2 bits */
	CU_ASSERT_EQUAL(l->ebx, 3);
	CU_ASSERT_EQUAL(l->ecx, 0x201);
	CU_ASSERT_EQUAL(l->edx, 2);
	l = cpuid_find(e, n, 0xb, 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	CU_ASSERT_EQUAL(l->ecx & 0xff00, 0);           /* terminator */
	CU_ASSERT_EQUAL(n, 9 - 3 + 3);
}

static void test_cache_and_amd(void)
{
	struct kvm_cpuid_entry2 e[MAX], *l;
	unsigned int n = cpuid_adjust(e, make_host(e), MAX, 0, 4);

	l = cpuid_find(e, n, 4, 0);
	CU_ASSERT_EQUAL(l->eax >> 26, 3);              /* cores per package - 1 */
	CU_ASSERT_EQUAL((l->eax >> 14) & 0xfff, 0);    /* L1 private */
	CU_ASSERT_EQUAL(l->eax & 0x3fff, 0x0121);
	l = cpuid_find(e, n, 4, 3);
	CU_ASSERT_EQUAL((l->eax >> 14) & 0xfff, 3);    /* L3 shared by all 4 */
	l = cpuid_find(e, n, 0x80000001, 0);
	CU_ASSERT_EQUAL(l->ecx & (1u << 22), 0);       /* TOPOEXT hidden */
	CU_ASSERT(l->ecx & (1u << 1));                 /* CmpLegacy */
	l = cpuid_find(e, n, 0x80000008, 0);
	CU_ASSERT_EQUAL(l->ecx & 0xff, 3);
	CU_ASSERT_EQUAL((l->ecx >> 12) & 0xf, 2);
	CU_ASSERT_EQUAL(l->eax, 0x3030);
}

static void test_single_vcpu_and_no_room(void)
{
	struct kvm_cpuid_entry2 e[MAX], *l;
	unsigned int host = make_host(e);
	unsigned int n = cpuid_adjust(e, host, host - 3 + 2, 0, 1);   /* no room for 3 subleaves */

	CU_ASSERT_EQUAL(n, host - 3);
	CU_ASSERT_PTR_NULL(cpuid_find(e, n, 0xb, 0));                 /* dropped, not half-written */
	l = cpuid_find(e, n, 1, 0);
	CU_ASSERT_EQUAL(l->edx & (1u << 28), 0);
	CU_ASSERT_EQUAL((l->ebx >> 16) & 0xff, 1);
}

static void test_tsc_deadline(void)
{
	struct kvm_cpuid_entry2 e[MAX], *l;
	unsigned int n = make_host(e);

	l = cpuid_find(e, n, 1, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	CU_ASSERT_FALSE(l->ecx & (1u << 24));
	cpuid_set_tsc_deadline(e, n);
	CU_ASSERT(l->ecx & (1u << 24));
	CU_ASSERT(l->ecx & 1u);                        /* other bits kept */
	/* survives the per-vCPU rewrite of leaf 1 */
	n = cpuid_adjust(e, n, MAX, 1, 2);
	l = cpuid_find(e, n, 1, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	CU_ASSERT(l->ecx & (1u << 24));
	/* no leaf 1: nothing to set, nothing touched */
	cpuid_set_tsc_deadline(e + 2, 1);
	CU_ASSERT_EQUAL(e[2].ecx, 0);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("cpuid", NULL, NULL);
	CU_add_test(s, "core_bits", test_core_bits);
	CU_add_test(s, "leaf1_and_topology", test_leaf1_and_topology);
	CU_add_test(s, "cache_and_amd", test_cache_and_amd);
	CU_add_test(s, "single_vcpu_and_no_room", test_single_vcpu_and_no_room);
	CU_add_test(s, "tsc_deadline", test_tsc_deadline);
	return cunit_run(CU_BRM_NORMAL);
}
