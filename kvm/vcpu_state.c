/*
 * One vCPU's section: KVM's own structs as fixed-size blobs (their layout
 * is KVM's x86-64 ABI, which does not change), each checked for its exact
 * size, and the MSRs as (index, value) pairs.
 */
#include <errno.h>
#include <string.h>

#include "xenkvm/vm_state.h"

#define KNOWN_PARTS (VCPU_STATE_HAS_XSAVE | VCPU_STATE_HAS_XCRS)

_Static_assert(sizeof(((struct vcpu_state *)0)->xsave) == sizeof(struct kvm_xsave),
	       "vcpu_state.xsave holds KVM_GET_XSAVE's area");

void vcpu_state_write(const struct vcpu_state *vs, struct state_writer *w)
{
	state_put_u32(w, vs->id);
	state_put_u32(w, vs->parts);
	state_put_blob(w, &vs->regs, sizeof(vs->regs));
	state_put_blob(w, &vs->sregs, sizeof(vs->sregs));
	if (vs->parts & VCPU_STATE_HAS_XSAVE)
		state_put_blob(w, &vs->xsave, sizeof(vs->xsave));
	else
		state_put_blob(w, &vs->fpu, sizeof(vs->fpu));
	if (vs->parts & VCPU_STATE_HAS_XCRS)
		state_put_blob(w, &vs->xcrs, sizeof(vs->xcrs));
	state_put_blob(w, &vs->lapic, sizeof(vs->lapic));
	state_put_blob(w, &vs->events, sizeof(vs->events));
	state_put_blob(w, &vs->mp_state, sizeof(vs->mp_state));
	state_put_blob(w, &vs->debugregs, sizeof(vs->debugregs));
	state_put_u32(w, vs->nr_msrs);
	for (uint32_t i = 0; i < vs->nr_msrs && i < VCPU_STATE_MAX_MSRS; i++) {
		state_put_u32(w, vs->msrs[i].index);
		state_put_u64(w, vs->msrs[i].data);
	}
}

/* A blob that must be exactly `n` bytes. */
static void get_struct(struct state_section *s, const char *what, void *p, size_t n)
{
	const uint8_t *q;
	uint32_t len;

	if (!state_get_blob(s, &q, &len, (uint32_t)n))
		return;
	if (len != n) {
		state_section_fail(s, EBADMSG, "%s of %u bytes, this build's is %zu", what, len, n);
		return;
	}
	memcpy(p, q, n);
}

int vcpu_state_read(struct state_section *s, unsigned int nr_vcpus, struct vcpu_state *vs)
{
	memset(vs, 0, sizeof(*vs));
	state_get_u32(s, &vs->id);
	state_get_u32(s, &vs->parts);
	if (state_section_failed(s))
		return -EBADMSG;
	if (vs->id >= nr_vcpus) {
		state_section_fail(s, ERANGE, "vCPU %u, but the VM has %u", vs->id, nr_vcpus);
		return -ERANGE;
	}
	if (vs->parts & ~KNOWN_PARTS) {
		state_section_fail(s, EBADMSG, "vCPU %u: unknown parts %#x", vs->id,
				   vs->parts & ~KNOWN_PARTS);
		return -EBADMSG;
	}
	get_struct(s, "regs", &vs->regs, sizeof(vs->regs));
	get_struct(s, "sregs", &vs->sregs, sizeof(vs->sregs));
	if (vs->parts & VCPU_STATE_HAS_XSAVE)
		get_struct(s, "xsave", &vs->xsave, sizeof(vs->xsave));
	else
		get_struct(s, "fpu", &vs->fpu, sizeof(vs->fpu));
	if (vs->parts & VCPU_STATE_HAS_XCRS)
		get_struct(s, "xcrs", &vs->xcrs, sizeof(vs->xcrs));
	get_struct(s, "lapic", &vs->lapic, sizeof(vs->lapic));
	get_struct(s, "events", &vs->events, sizeof(vs->events));
	get_struct(s, "mp_state", &vs->mp_state, sizeof(vs->mp_state));
	get_struct(s, "debugregs", &vs->debugregs, sizeof(vs->debugregs));
	state_get_u32(s, &vs->nr_msrs);
	if (!state_section_failed(s) && vs->nr_msrs > VCPU_STATE_MAX_MSRS)
		state_section_fail(s, EBADMSG, "vCPU %u: %u MSRs (at most %u)", vs->id, vs->nr_msrs,
				   VCPU_STATE_MAX_MSRS);
	for (uint32_t i = 0; i < vs->nr_msrs && !state_section_failed(s); i++) {
		uint64_t data;

		state_get_u32(s, &vs->msrs[i].index);
		state_get_u64(s, &data);
		vs->msrs[i].data = data;
		for (uint32_t j = 0; j < i; j++)
			if (vs->msrs[j].index == vs->msrs[i].index) {
				state_section_fail(s, EBADMSG, "vCPU %u: MSR %#x listed twice", vs->id,
						   vs->msrs[i].index);
				break;
			}
	}
	if (state_section_failed(s)) {
		vs->nr_msrs = 0;
		return -EBADMSG;
	}
	return 0;
}
