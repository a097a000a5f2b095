/*
 * The CPUID a guest was given, carried so that a restore on a host that
 * cannot offer the same features is refused before the guest runs: a
 * kernel that saw AVX-512 at boot keeps using it, and would fault on a
 * host without it.  Pure codec and check; kvm/vm_state.c does the ioctls.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "xenkvm/vm_state.h"

void cpuid_state_write(const struct kvm_cpuid_entry2 *e, unsigned int n, struct state_writer *w)
{
	if (state_section_begin(w, VM_STATE_CPUID, VM_STATE_CPUID_VERSION))
		return;
	state_put_u32(w, n);
	for (unsigned int i = 0; i < n; i++) {
		state_put_u32(w, e[i].function);
		state_put_u32(w, e[i].index);
		state_put_u32(w, e[i].flags);
		state_put_u32(w, e[i].eax);
		state_put_u32(w, e[i].ebx);
		state_put_u32(w, e[i].ecx);
		state_put_u32(w, e[i].edx);
	}
	state_section_end(w);
}

int cpuid_state_read(struct state_section *s, struct kvm_cpuid_entry2 *e, unsigned int max,
		     unsigned int *n_r)
{
	uint32_t n;

	if (!state_get_u32(s, &n))
		return -EBADMSG;
	if (n > max || n > VM_STATE_CPUID_MAX) {
		state_section_fail(s, EBADMSG, "%u CPUID entries (at most %u)", n, VM_STATE_CPUID_MAX);
		return -EBADMSG;
	}
	memset(e, 0, n * sizeof(*e));
	for (unsigned int i = 0; i < n; i++) {
		state_get_u32(s, &e[i].function);
		state_get_u32(s, &e[i].index);
		state_get_u32(s, &e[i].flags);
		state_get_u32(s, &e[i].eax);
		state_get_u32(s, &e[i].ebx);
		state_get_u32(s, &e[i].ecx);
		state_get_u32(s, &e[i].edx);
	}
	if (state_section_failed(s))
		return -EBADMSG;
	*n_r = n;
	return 0;
}

/* The feature words a guest acts on, and names for the bits users know. */
enum reg { EAX, EBX, ECX, EDX };
static const struct feature_word {
	uint32_t function, index;
	enum reg reg;
	const char *name;
} feature_words[] = {
	{ 0x00000001, 0, ECX, "1.ecx" },
	{ 0x00000001, 0, EDX, "1.edx" },
	{ 0x00000007, 0, EBX, "7.0.ebx" },
	{ 0x00000007, 0, ECX, "7.0.ecx" },
	{ 0x00000007, 0, EDX, "7.0.edx" },
	{ 0x00000007, 1, EAX, "7.1.eax" },
	{ 0x0000000d, 1, EAX, "0xd.1.eax" },
	{ 0x80000001, 0, ECX, "0x80000001.ecx" },
	{ 0x80000001, 0, EDX, "0x80000001.edx" },
	{ 0x80000008, 0, EBX, "0x80000008.ebx" },
};

static const struct feature_name {
	uint32_t function, index;
	enum reg reg;
	unsigned int bit;
	const char *name;
} feature_names[] = {
	{ 1, 0, ECX, 0, "sse3" }, { 1, 0, ECX, 9, "ssse3" }, { 1, 0, ECX, 12, "fma" },
	{ 1, 0, ECX, 13, "cx16" }, { 1, 0, ECX, 19, "sse4.1" }, { 1, 0, ECX, 20, "sse4.2" },
	{ 1, 0, ECX, 21, "x2apic" }, { 1, 0, ECX, 22, "movbe" }, { 1, 0, ECX, 23, "popcnt" },
	{ 1, 0, ECX, 24, "tsc-deadline" }, { 1, 0, ECX, 25, "aes" }, { 1, 0, ECX, 26, "xsave" },
	{ 1, 0, ECX, 28, "avx" }, { 1, 0, ECX, 29, "f16c" }, { 1, 0, ECX, 30, "rdrand" },
	{ 1, 0, EDX, 25, "sse" }, { 1, 0, EDX, 26, "sse2" },
	{ 7, 0, EBX, 3, "bmi1" }, { 7, 0, EBX, 5, "avx2" }, { 7, 0, EBX, 8, "bmi2" },
	{ 7, 0, EBX, 9, "erms" }, { 7, 0, EBX, 16, "avx512f" }, { 7, 0, EBX, 18, "rdseed" },
	{ 7, 0, EBX, 19, "adx" }, { 7, 0, EBX, 29, "sha" }, { 7, 0, ECX, 1, "avx512vbmi" },
	{ 7, 0, ECX, 8, "gfni" }, { 7, 0, ECX, 9, "vaes" }, { 7, 0, ECX, 10, "vpclmulqdq" },
	{ 7, 0, EDX, 24, "amx-tile" },
	{ 0x80000001, 0, ECX, 5, "abm" }, { 0x80000001, 0, EDX, 20, "nx" },
	{ 0x80000001, 0, EDX, 26, "pdpe1gb" }, { 0x80000001, 0, EDX, 27, "rdtscp" },
	{ 0x80000001, 0, EDX, 29, "lm" },
};

static uint32_t reg_of(const struct kvm_cpuid_entry2 *e, enum reg r)
{
	return r == EAX ? e->eax : r == EBX ? e->ebx : r == ECX ? e->ecx : e->edx;
}

static const struct kvm_cpuid_entry2 *find(const struct kvm_cpuid_entry2 *e, unsigned int n,
					   uint32_t function, uint32_t index)
{
	for (unsigned int i = 0; i < n; i++)
		if (e[i].function == function &&
		    (!(e[i].flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || e[i].index == index))
			return &e[i];
	return NULL;
}

int cpuid_state_check(const struct kvm_cpuid_entry2 *saved, unsigned int n,
		      const struct kvm_cpuid_entry2 *here, unsigned int m, char *why, size_t size)
{
	for (size_t i = 0; i < sizeof(feature_words) / sizeof(feature_words[0]); i++) {
		const struct feature_word *f = &feature_words[i];
		const struct kvm_cpuid_entry2 *a = find(saved, n, f->function, f->index);
		const struct kvm_cpuid_entry2 *b = find(here, m, f->function, f->index);
		uint32_t missing = (a ? reg_of(a, f->reg) : 0) & ~(b ? reg_of(b, f->reg) : 0);
		unsigned int bit;
		const char *name = NULL;

		if (!missing)
			continue;
		bit = (unsigned int)__builtin_ctz(missing);
		for (size_t j = 0; j < sizeof(feature_names) / sizeof(feature_names[0]); j++)
			if (feature_names[j].function == f->function && feature_names[j].index == f->index &&
			    feature_names[j].reg == f->reg && feature_names[j].bit == bit)
				name = feature_names[j].name;
		snprintf(why, size, "the guest was given CPU feature %s%s(CPUID %s bit %u), which this "
			 "host does not offer", name ? name : "", name ? " " : "", f->name, bit);
		return -EOPNOTSUPP;
	}
	return 0;
}
