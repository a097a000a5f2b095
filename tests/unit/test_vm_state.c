/* kvm/'s state codecs without KVM: guest RAM as runs of non-zero pages
 * (round trips, chunking into sections, every bad run refused) and a
 * vCPU's section (round trip, every malformed field refused); the CPUID
 * check (a feature the guest was given and this host lacks is named). */
#include <CUnit/Basic.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cunit_run.h"
#include "xenkvm/guest_mem.h"
#include "xenkvm/vm.h"
#include "xenkvm/vm_state.h"

#define PG GUEST_PAGE_SIZE

struct ram_ctx {
	struct vm_ram_layout l;
	unsigned int calls;
};

static int ram_load(void *opaque, struct state_section *s)
{
	struct ram_ctx *c = opaque;

	c->calls++;
	return vm_ram_state_load(&c->l, s);
}

/* Loads a writer's stream with one handler: 0 or -errno; *msg the reason. */
static int load_stream(struct state_writer *w, const struct state_handler *h, char *msg, size_t size)
{
	struct state_reader *r;
	const uint8_t *p;
	size_t len;
	int rc;

	p = state_writer_mem(w, &len);
	r = state_reader_new_mem(p, len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	rc = state_reader_header(r);
	if (!rc)
		rc = state_load(r, h, 1);
	snprintf(msg, size, "%s", state_reader_error(r));
	state_reader_free(r);
	return rc;
}

/* Loads a writer's stream with the RAM handler: 0 or -errno; *msg the reason. */
static int load_ram_stream(struct state_writer *w, struct ram_ctx *c, char *msg, size_t size)
{
	struct state_handler h = { VM_STATE_RAM, VM_STATE_RAM_VERSION, "vm-ram", true, ram_load, c };

	return load_stream(w, &h, msg, size);
}

static void test_ram_round_trip(void)
{
	/* 48 pages: 32 below "4 GiB", 16 above, as vm.c lays out a big guest */
	struct vm_ram_layout src = { calloc(48, PG), 48 * PG, 32 * PG };
	struct ram_ctx c = { { calloc(48, PG), 48 * PG, 32 * PG }, 0 };
	struct state_writer *w = state_writer_new_mem("t");
	const unsigned int dirty[] = { 0, 1, 2, 7, 31, 32, 40, 47 };
	char msg[256];
	size_t len;

	CU_ASSERT_PTR_NOT_NULL_FATAL(src.ram);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c.l.ram);
	for (size_t i = 0; i < sizeof(dirty) / sizeof(dirty[0]); i++)
		memset(src.ram + dirty[i] * PG + (i * 97) % PG, (int)(i + 1), 1 + i);
	CU_ASSERT_EQUAL(vm_ram_state_save(&src, w), 0);
	CU_ASSERT_EQUAL(state_writer_finish(w), 0);
	state_writer_mem(w, &len);
	/* 8 pages of data, not 48 */
	CU_ASSERT(len < 9 * PG);
	CU_ASSERT(len > 8 * PG);
	CU_ASSERT_EQUAL(load_ram_stream(w, &c, msg, sizeof(msg)), 0);
	CU_ASSERT_EQUAL(c.calls, 1);
	CU_ASSERT_EQUAL(memcmp(src.ram, c.l.ram, 48 * PG), 0);
	state_writer_free(w);

	/* All zero: one empty section, still there (the loader requires it). */
	memset(src.ram, 0, 48 * PG);
	memset(c.l.ram, 0, 48 * PG);
	c.calls = 0;
	w = state_writer_new_mem("t");
	CU_ASSERT_EQUAL(vm_ram_state_save(&src, w), 0);
	CU_ASSERT_EQUAL(state_writer_finish(w), 0);
	CU_ASSERT_EQUAL(load_ram_stream(w, &c, msg, sizeof(msg)), 0);
	CU_ASSERT_EQUAL(c.calls, 1);
	state_writer_free(w);
	free(src.ram);
	free(c.l.ram);
}

/* More than VM_RAM_SECTION_BYTES of non-zero RAM goes as several sections. */
static void test_ram_chunks(void)
{
	uint64_t size = VM_RAM_SECTION_BYTES + 64 * PG;
	struct vm_ram_layout src = { malloc(size), size, size };
	struct ram_ctx c = { { calloc(1, size), size, size }, 0 };
	struct state_writer *w = state_writer_new_mem("t");
	char msg[256];

	CU_ASSERT_PTR_NOT_NULL_FATAL(src.ram);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c.l.ram);
	for (uint64_t i = 0; i < size; i++)
		src.ram[i] = (uint8_t)(i * 7 + 1 + (i >> 12));
	CU_ASSERT_EQUAL(vm_ram_state_save(&src, w), 0);
	CU_ASSERT_EQUAL(state_writer_finish(w), 0);
	CU_ASSERT_EQUAL(load_ram_stream(w, &c, msg, sizeof(msg)), 0);
	CU_ASSERT_EQUAL(c.calls, 2);
	CU_ASSERT_EQUAL(memcmp(src.ram, c.l.ram, size), 0);
	state_writer_free(w);
	free(src.ram);
	free(c.l.ram);
}

/* One hand-made RAM section with one run; the load's result and message. */
static int load_run(uint64_t gpa, uint32_t pages, size_t bytes, char *msg, size_t size)
{
	static uint8_t data[4 * 4096];
	struct ram_ctx c = { { calloc(48, PG), 48 * PG, 32 * PG }, 0 };
	struct state_writer *w = state_writer_new_mem("t");
	int rc;

	memset(data, 0x11, sizeof(data));
	state_section_begin(w, VM_STATE_RAM, 1);
	state_put_u64(w, gpa);
	state_put_u32(w, pages);
	state_put_bytes(w, data, bytes);
	state_section_end(w);
	state_writer_finish(w);
	rc = load_ram_stream(w, &c, msg, size);
	state_writer_free(w);
	free(c.l.ram);
	return rc;
}

static void test_ram_refusals(void)
{
	char msg[256];

	CU_ASSERT_EQUAL(load_run(PG, 1, PG, msg, sizeof(msg)), 0);
	CU_ASSERT_EQUAL(load_run(VM_HIGHMEM_BASE + 15 * PG, 1, PG, msg, sizeof(msg)), 0);
	CU_ASSERT_NOT_EQUAL(load_run(PG + 8, 1, PG, msg, sizeof(msg)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "unaligned"));
	CU_ASSERT_NOT_EQUAL(load_run(PG, 0, 0, msg, sizeof(msg)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "empty"));
	/* past low RAM, across its end, past high RAM, a gpa that wraps */
	CU_ASSERT_NOT_EQUAL(load_run(32 * PG, 1, PG, msg, sizeof(msg)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "outside guest RAM"));
	CU_ASSERT_NOT_EQUAL(load_run(31 * PG, 2, 2 * PG, msg, sizeof(msg)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "outside guest RAM"));
	CU_ASSERT_NOT_EQUAL(load_run(VM_HIGHMEM_BASE + 16 * PG, 1, PG, msg, sizeof(msg)), 0);
	CU_ASSERT_NOT_EQUAL(load_run(VM_HIGHMEM_BASE + 15 * PG, 0xffffffffu, PG, msg, sizeof(msg)), 0);
	CU_ASSERT_NOT_EQUAL(load_run(~0ull & ~(PG - 1), 2, 2 * PG, msg, sizeof(msg)), 0);
	/* the run says 2 pages, the section has 1 */
	CU_ASSERT_NOT_EQUAL(load_run(0, 2, PG, msg, sizeof(msg)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "vm-ram"));
}

struct vcpu_ctx {
	struct vcpu_state vs;
	unsigned int nr_vcpus;
};

static int vcpu_load(void *opaque, struct state_section *s)
{
	struct vcpu_ctx *c = opaque;

	return vcpu_state_read(s, c->nr_vcpus, &c->vs);
}

static int load_vcpu_stream(struct state_writer *w, struct vcpu_ctx *c, char *msg, size_t size)
{
	struct state_handler h = { VM_STATE_VCPU, 1, "vm-vcpu", true, vcpu_load, c };

	state_writer_finish(w);
	return load_stream(w, &h, msg, size);
}

static void sample_vcpu(struct vcpu_state *vs, uint32_t parts)
{
	memset(vs, 0, sizeof(*vs));
	vs->id = 1;
	vs->parts = parts;
	vs->regs.rip = 0xffffffff81000000ull;
	vs->regs.rcx = 42;
	vs->sregs.cr0 = 0x80050033;
	vs->sregs.efer = 0xd01;
	vs->fpu.fcw = 0x37f;
	vs->xsave[0] = 0x37f;
	vs->xcrs.nr_xcrs = 1;
	vs->xcrs.xcrs[0].value = 7;
	vs->lapic.regs[0x20] = 1;
	vs->events.exception.injected = 1;
	vs->mp_state.mp_state = KVM_MP_STATE_HALTED;
	vs->debugregs.dr7 = 0x400;
	vs->nr_msrs = 3;
	vs->msrs[0] = (struct kvm_msr_entry){ .index = 0x10, .data = 123456789 };
	vs->msrs[1] = (struct kvm_msr_entry){ .index = 0x4b564d01, .data = 0x1001 };
	vs->msrs[2] = (struct kvm_msr_entry){ .index = 0xc0000080, .data = 0xd01 };
}

static void test_vcpu_round_trip(void)
{
	static struct vcpu_ctx c;
	static struct vcpu_state vs;
	const uint32_t parts[] = { 0, VCPU_STATE_HAS_XSAVE | VCPU_STATE_HAS_XCRS };
	char msg[256];

	for (size_t i = 0; i < 2; i++) {
		struct state_writer *w = state_writer_new_mem("t");

		sample_vcpu(&vs, parts[i]);
		/* what a part bit leaves out is not carried */
		if (!parts[i]) {
			memset(vs.xsave, 0, sizeof(vs.xsave));
			memset(&vs.xcrs, 0, sizeof(vs.xcrs));
		} else {
			memset(&vs.fpu, 0, sizeof(vs.fpu));
		}
		state_section_begin(w, VM_STATE_VCPU, 1);
		vcpu_state_write(&vs, w);
		CU_ASSERT_EQUAL(state_section_end(w), 0);
		c.nr_vcpus = 2;
		CU_ASSERT_EQUAL(load_vcpu_stream(w, &c, msg, sizeof(msg)), 0);
		CU_ASSERT_EQUAL(memcmp(&c.vs, &vs, sizeof(vs)), 0);
		state_writer_free(w);
	}
}

enum vcpu_damage { D_ID, D_PARTS, D_SHORT_REGS, D_TOO_MANY_MSRS, D_DUP_MSR, D_TRUNC };

static int damaged_vcpu(enum vcpu_damage d, char *msg, size_t size)
{
	static struct vcpu_ctx c;
	static struct vcpu_state vs;
	struct state_writer *w = state_writer_new_mem("t");
	int rc;

	sample_vcpu(&vs, VCPU_STATE_HAS_XSAVE);
	c.nr_vcpus = 2;
	state_section_begin(w, VM_STATE_VCPU, 1);
	switch (d) {
	case D_ID:
		vs.id = 2;
		vcpu_state_write(&vs, w);
		break;
	case D_PARTS:
		vs.parts |= 1u << 7;
		vcpu_state_write(&vs, w);
		break;
	case D_SHORT_REGS:
		state_put_u32(w, 1);
		state_put_u32(w, 0);
		state_put_blob(w, &vs.regs, sizeof(vs.regs) - 8);
		break;
	case D_TOO_MANY_MSRS:
		vs.nr_msrs = 0;
		vcpu_state_write(&vs, w);
		/* patched below: the count is the section's last u32 */
		break;
	case D_DUP_MSR:
		vs.msrs[2].index = vs.msrs[0].index;
		vcpu_state_write(&vs, w);
		break;
	case D_TRUNC:
		state_put_u32(w, 1);
		state_put_u32(w, 0);
		state_put_blob(w, &vs.regs, sizeof(vs.regs));
		break;
	}
	if (d == D_TOO_MANY_MSRS) {
		/* rewrite: same section, a count over the cap */
		state_writer_free(w);
		w = state_writer_new_mem("t");
		state_section_begin(w, VM_STATE_VCPU, 1);
		state_put_u32(w, 1);
		state_put_u32(w, 0);
		state_put_blob(w, &vs.regs, sizeof(vs.regs));
		state_put_blob(w, &vs.sregs, sizeof(vs.sregs));
		state_put_blob(w, &vs.fpu, sizeof(vs.fpu));
		state_put_blob(w, &vs.lapic, sizeof(vs.lapic));
		state_put_blob(w, &vs.events, sizeof(vs.events));
		state_put_blob(w, &vs.mp_state, sizeof(vs.mp_state));
		state_put_blob(w, &vs.debugregs, sizeof(vs.debugregs));
		state_put_u32(w, VCPU_STATE_MAX_MSRS + 1);
	}
	state_section_end(w);
	rc = load_vcpu_stream(w, &c, msg, size);
	state_writer_free(w);
	return rc;
}

static void test_vcpu_refusals(void)
{
	static const struct { enum vcpu_damage d; const char *want; } cases[] = {
		{ D_ID, "vCPU 2, but the VM has 2" },
		{ D_PARTS, "unknown parts" },
		{ D_SHORT_REGS, "regs of" },
		{ D_TOO_MANY_MSRS, "MSRs (at most" },
		{ D_DUP_MSR, "listed twice" },
		{ D_TRUNC, "vm-vcpu" },
	};
	char msg[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CU_ASSERT_NOT_EQUAL(damaged_vcpu(cases[i].d, msg, sizeof(msg)), 0);
		if (!strstr(msg, cases[i].want))
			fprintf(stderr, "case %zu: '%s' lacks '%s'\n", i, msg, cases[i].want);
		CU_ASSERT_PTR_NOT_NULL(strstr(msg, cases[i].want));
	}
}

struct cpuid_ctx {
	struct kvm_cpuid_entry2 here[4];
	unsigned int nr_here;
	char why[200];
};

/* As kvm/vm_state.c's loader: read, then check against this host's. */
static int cpuid_load(void *opaque, struct state_section *s)
{
	struct cpuid_ctx *c = opaque;
	struct kvm_cpuid_entry2 saved[8];
	unsigned int n;
	int rc = cpuid_state_read(s, saved, 8, &n);

	if (!rc && (rc = cpuid_state_check(saved, n, c->here, c->nr_here, c->why, sizeof(c->why))))
		state_section_fail(s, -rc, "%s", c->why);
	return rc;
}

static void test_cpuid(void)
{
	struct kvm_cpuid_entry2 given[3] = {
		{ .function = 1, .ecx = (1u << 28) | (1u << 0), .edx = 1u << 26 },
		{ .function = 7, .index = 0, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
		  .ebx = (1u << 16) | (1u << 5) },
		{ .function = 7, .index = 1, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX },
	};
	struct cpuid_ctx c = { .nr_here = 3 };
	struct state_handler h = { VM_STATE_CPUID, VM_STATE_CPUID_VERSION, "vm-cpuid", true, cpuid_load, &c };
	struct state_writer *w = state_writer_new_mem("t");
	char msg[256];

	cpuid_state_write(given, 3, w);
	CU_ASSERT_EQUAL(state_writer_finish(w), 0);
	/* The same features here, and more: loads. */
	memcpy(c.here, given, sizeof(given));
	c.here[0].ecx |= 1u << 30;
	CU_ASSERT_EQUAL(load_stream(w, &h, msg, sizeof(msg)), 0);
	/* A host without AVX-512F: refused, naming it. */
	c.here[1].ebx &= ~(1u << 16);
	CU_ASSERT_EQUAL(load_stream(w, &h, msg, sizeof(msg)), -EOPNOTSUPP);
	CU_ASSERT_PTR_NOT_NULL(strstr(c.why, "avx512f (CPUID 7.0.ebx bit 16)"));
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "avx512f"));
	/* Leaf 7 missing altogether: AVX2 is the first bit missing. */
	c.nr_here = 1;
	CU_ASSERT_EQUAL(load_stream(w, &h, msg, sizeof(msg)), -EOPNOTSUPP);
	CU_ASSERT_PTR_NOT_NULL(strstr(c.why, "avx2"));
	/* Leaf 1's subleaf does not matter when the index is not significant. */
	c.nr_here = 3;
	c.here[1].ebx |= 1u << 16;
	c.here[0].index = 5;
	CU_ASSERT_EQUAL(load_stream(w, &h, msg, sizeof(msg)), 0);
	state_writer_free(w);

	/* More entries than the reader takes: refused. */
	w = state_writer_new_mem("t");
	state_section_begin(w, VM_STATE_CPUID, 1);
	state_put_u32(w, 9);
	state_section_end(w);
	CU_ASSERT_EQUAL(state_writer_finish(w), 0);
	CU_ASSERT_EQUAL(load_stream(w, &h, msg, sizeof(msg)), -EBADMSG);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "9 CPUID entries"));
	state_writer_free(w);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("vm_state", NULL, NULL);
	CU_add_test(s, "RAM round trip skips zero pages", test_ram_round_trip);
	CU_add_test(s, "RAM beyond one section goes as several", test_ram_chunks);
	CU_add_test(s, "bad RAM runs refused", test_ram_refusals);
	CU_add_test(s, "vCPU round trip", test_vcpu_round_trip);
	CU_add_test(s, "bad vCPU sections refused", test_vcpu_refusals);
	CU_add_test(s, "CPUID given must be offered here", test_cpuid);
	return cunit_run(CU_BRM_VERBOSE);
}
