/*
 * kvm/'s sections of the state stream: what KVM holds for the VM, read
 * with KVM_GET_* while every vCPU is parked and written back with
 * KVM_SET_* into a fresh VM of the same shape before its vCPUs run.
 * The byte layouts are the codecs' (kvm/vm_ram_state.c, kvm/vcpu_state.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "xenkvm/log.h"
#include "xenkvm/vcpu.h"
#include "xenkvm/vm.h"
#include "xenkvm/vm_state.h"

static struct vm_ram_layout vm_layout(struct vm *vm)
{
	return (struct vm_ram_layout){ vm->ram, vm->ram_size, vm->lowmem_size };
}

static bool has_cap(struct vm *vm, long cap)
{
	return ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, cap) > 0;
}

/* The MSRs KVM saves and restores for us (KVM_GET_MSR_INDEX_LIST). */
static int msr_index_list(struct vm *vm, uint32_t *idx, uint32_t *nr_r)
{
	struct kvm_msr_list probe = { .nmsrs = 0 };
	struct kvm_msr_list *l;
	uint32_t n;

	if (ioctl(vm->kvm_fd, KVM_GET_MSR_INDEX_LIST, &probe) < 0 && errno != E2BIG)
		return -errno;
	n = probe.nmsrs;
	l = calloc(1, sizeof(*l) + n * sizeof(l->indices[0]));
	if (!l)
		return -ENOMEM;
	l->nmsrs = n;
	if (ioctl(vm->kvm_fd, KVM_GET_MSR_INDEX_LIST, l) < 0) {
		int rc = -errno;

		free(l);
		return rc;
	}
	if (l->nmsrs > VCPU_STATE_MAX_MSRS)
		l->nmsrs = VCPU_STATE_MAX_MSRS;   /* never seen: KVM lists about 60 */
	memcpy(idx, l->indices, l->nmsrs * sizeof(*idx));
	*nr_r = l->nmsrs;
	free(l);
	return 0;
}

#define MSRS_SIZE (sizeof(struct kvm_msrs) + VCPU_STATE_MAX_MSRS * sizeof(struct kvm_msr_entry))

static struct kvm_msrs *msrs_alloc(void)
{
	return calloc(1, MSRS_SIZE);
}

/* KVM_GET_MSRS stops at the first MSR this vCPU lacks: skip it, go on. */
static int vcpu_get_msrs(struct vcpu *v, const uint32_t *idx, uint32_t n, struct vcpu_state *vs)
{
	struct kvm_msrs *m = msrs_alloc();
	uint32_t i = 0;
	int rc = 0;

	if (!m)
		return -ENOMEM;
	vs->nr_msrs = 0;
	while (i < n) {
		uint32_t want = n - i;
		int got;

		memset(m, 0, MSRS_SIZE);
		m->nmsrs = want;
		for (uint32_t j = 0; j < want; j++)
			m->entries[j].index = idx[i + j];
		got = ioctl(v->fd, KVM_GET_MSRS, m);
		if (got < 0) {
			rc = -errno;
			break;
		}
		for (int j = 0; j < got; j++)
			vs->msrs[vs->nr_msrs++] = m->entries[j];
		i += (uint32_t)got + ((uint32_t)got < want);   /* past the one it refused */
	}
	free(m);
	return rc;
}

static int vcpu_save(struct vm *vm, struct vcpu *v, const uint32_t *msr_idx, uint32_t nr_msr_idx,
		     struct vcpu_state *vs, const char **what)
{
	memset(vs, 0, sizeof(*vs));
	vs->id = v->id;
#define GET(req, field) do { *what = #req; if (ioctl(v->fd, req, &vs->field) < 0) return -errno; } while (0)
	GET(KVM_GET_REGS, regs);
	GET(KVM_GET_SREGS, sregs);
	if (has_cap(vm, KVM_CAP_XSAVE)) {
		GET(KVM_GET_XSAVE, xsave);
		vs->parts |= VCPU_STATE_HAS_XSAVE;
	} else {
		GET(KVM_GET_FPU, fpu);
	}
	if (has_cap(vm, KVM_CAP_XCRS)) {
		GET(KVM_GET_XCRS, xcrs);
		vs->parts |= VCPU_STATE_HAS_XCRS;
	}
	GET(KVM_GET_LAPIC, lapic);
	GET(KVM_GET_VCPU_EVENTS, events);
	GET(KVM_GET_MP_STATE, mp_state);
	GET(KVM_GET_DEBUGREGS, debugregs);
#undef GET
	*what = "KVM_GET_MSRS";
	return vcpu_get_msrs(v, msr_idx, nr_msr_idx, vs);
}

/* Reads every vCPU into vs[0 .. nr_vcpus). */
static int read_vcpus(struct vm *vm, struct vcpu_state *vs, struct state_writer *w)
{
	uint32_t *msr_idx = calloc(VCPU_STATE_MAX_MSRS, sizeof(*msr_idx));
	uint32_t nr_msr_idx = 0;
	const char *what = "KVM_GET_MSR_INDEX_LIST";
	int rc = -ENOMEM;

	if (!msr_idx)
		goto out;
	rc = msr_index_list(vm, msr_idx, &nr_msr_idx);
	for (unsigned int i = 0; !rc && i < vm->nr_vcpus; i++)
		rc = vcpu_save(vm, vm->vcpus[i], msr_idx, nr_msr_idx, &vs[i], &what);
	if (rc)
		state_writer_fail(w, -rc, "saving the vCPUs: %s: %s", what, strerror(-rc));
out:
	free(msr_idx);
	return rc;
}

static int write_vcpus(struct vm *vm, const struct vcpu_state *vs, struct state_writer *w)
{
	int rc = 0;

	for (unsigned int i = 0; !rc && i < vm->nr_vcpus; i++) {
		state_section_begin(w, VM_STATE_VCPU, VM_STATE_VCPU_VERSION);
		vcpu_state_write(&vs[i], w);
		rc = state_section_end(w);
	}
	return rc;
}

static int save_irqchip(struct vm *vm, struct state_writer *w)
{
	static const uint32_t chips[] = { KVM_IRQCHIP_PIC_MASTER, KVM_IRQCHIP_PIC_SLAVE,
					  KVM_IRQCHIP_IOAPIC };
	struct kvm_pit_state2 pit;

	state_section_begin(w, VM_STATE_IRQCHIP, VM_STATE_IRQCHIP_VERSION);
	for (size_t i = 0; i < sizeof(chips) / sizeof(chips[0]); i++) {
		struct kvm_irqchip c = { .chip_id = chips[i] };

		if (ioctl(vm->vm_fd, KVM_GET_IRQCHIP, &c) < 0) {
			state_writer_fail(w, errno, "KVM_GET_IRQCHIP %u: %s", chips[i], strerror(errno));
			return -EIO;
		}
		state_put_blob(w, &c, sizeof(c));
	}
	state_put_u8(w, vm->has_pit);
	if (vm->has_pit) {
		memset(&pit, 0, sizeof(pit));
		if (ioctl(vm->vm_fd, KVM_GET_PIT2, &pit) < 0) {
			state_writer_fail(w, errno, "KVM_GET_PIT2: %s", strerror(errno));
			return -EIO;
		}
		state_put_blob(w, &pit, sizeof(pit));
	}
	return state_section_end(w);
}

/* What vCPU 0 was given (every vCPU has the same features); NULL on error. */
static struct kvm_cpuid2 *vcpu0_cpuid(struct vm *vm)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + VM_STATE_CPUID_MAX * sizeof(c->entries[0]));

	if (!c)
		return NULL;
	c->nent = VM_STATE_CPUID_MAX;
	if (ioctl(vm->vcpus[0]->fd, KVM_GET_CPUID2, c) < 0) {
		free(c);
		return NULL;
	}
	return c;
}

static int save_cpuid(struct vm *vm, struct state_writer *w)
{
	struct kvm_cpuid2 *c = vcpu0_cpuid(vm);

	if (!c) {
		state_writer_fail(w, EIO, "KVM_GET_CPUID2: %s", strerror(errno));
		return -EIO;
	}
	cpuid_state_write(c->entries, c->nent, w);
	free(c);
	return state_writer_err(w);
}

int vm_state_save(struct vm *vm, struct state_writer *w)
{
	struct vm_ram_layout l = vm_layout(vm);
	struct kvm_clock_data clock = { 0 };
	struct vcpu_state *vs = calloc(vm->nr_vcpus, sizeof(*vs));
	int rc;

	if (!vs) {
		state_writer_fail(w, ENOMEM, "saving the vCPUs: out of memory");
		return -ENOMEM;
	}
	/* What counts time is read at the pause, before RAM, which takes long
	 * to write: the clock and each vCPU (its TSC).  The guest does not see
	 * the save's own duration pass. */
	if (ioctl(vm->vm_fd, KVM_GET_CLOCK, &clock) < 0) {
		state_writer_fail(w, errno, "KVM_GET_CLOCK: %s", strerror(errno));
		rc = -EIO;
		goto out;
	}
	rc = read_vcpus(vm, vs, w);
	if (rc)
		goto out;
	state_section_begin(w, VM_STATE_MACHINE, VM_STATE_MACHINE_VERSION);
	state_put_u32(w, vm->nr_vcpus);
	state_put_u64(w, vm->ram_size);
	state_put_u64(w, vm->lowmem_size);
	state_put_u8(w, vm->has_pit);
	rc = state_section_end(w);
	if (!rc)
		rc = vm_ram_state_save(&l, w);
	if (!rc)
		rc = write_vcpus(vm, vs, w);
	if (!rc)
		rc = save_irqchip(vm, w);
	if (rc)
		goto out;
	state_section_begin(w, VM_STATE_CLOCK, VM_STATE_CLOCK_VERSION);
	state_put_u64(w, clock.clock);
	rc = state_section_end(w);
	if (!rc)
		rc = save_cpuid(vm, w);
out:
	free(vs);
	return rc;
}

/* ---- load ------------------------------------------------------------- */

static int load_machine(void *opaque, struct state_section *s)
{
	struct vm_state_load *ctx = opaque;
	struct vm *vm = ctx->vm;
	uint32_t nr_vcpus;
	uint64_t ram_size, lowmem;
	bool pit;

	state_get_u32(s, &nr_vcpus);
	state_get_u64(s, &ram_size);
	state_get_u64(s, &lowmem);
	state_get_bool(s, &pit);
	if (state_section_failed(s))
		return -EBADMSG;
	if (ctx->have_machine) {
		state_section_fail(s, EBADMSG, "a second machine section");
		return -EBADMSG;
	}
	if (nr_vcpus != vm->nr_vcpus) {
		state_section_fail(s, EINVAL, "the guest had %u vCPUs, this VM has %u", nr_vcpus,
				   vm->nr_vcpus);
		return -EINVAL;
	}
	if (ram_size != vm->ram_size || lowmem != vm->lowmem_size) {
		state_section_fail(s, EINVAL, "the guest had %llu MiB of RAM, this VM has %llu MiB",
				   (unsigned long long)(ram_size >> 20),
				   (unsigned long long)(vm->ram_size >> 20));
		return -EINVAL;
	}
	if (pit != vm->has_pit) {
		state_section_fail(s, EINVAL, "the guest %s a PIT, this VM %s", pit ? "had" : "had no",
				   vm->has_pit ? "has one" : "has none");
		return -EINVAL;
	}
	/* Private anonymous RAM: DONTNEED refaults zeros, which the RAM
	 * sections (non-zero pages only) then fill in. */
	if (madvise(vm->ram, vm->ram_size, MADV_DONTNEED)) {
		state_section_fail(s, errno, "zeroing guest RAM: %s", strerror(errno));
		return -EIO;
	}
	ctx->have_machine = true;
	return 0;
}

static bool need_machine(struct vm_state_load *ctx, struct state_section *s)
{
	if (!ctx->have_machine)
		state_section_fail(s, EBADMSG, "comes before the machine section");
	return ctx->have_machine;
}

static int load_ram(void *opaque, struct state_section *s)
{
	struct vm_state_load *ctx = opaque;
	struct vm_ram_layout l = vm_layout(ctx->vm);

	if (!need_machine(ctx, s))
		return -EBADMSG;
	return vm_ram_state_load(&l, s);
}

/* One KVM_SET_* ioctl; on failure the section says which. */
static bool vcpu_set(struct vcpu *v, unsigned long req, const char *name, void *p,
		     struct state_section *s)
{
	if (ioctl(v->fd, req, p) >= 0)
		return true;
	state_section_fail(s, errno, "vCPU %u: %s: %s", v->id, name, strerror(errno));
	return false;
}

/* QEMU's order: registers, FPU, sregs, MSRs, then MP state, LAPIC and
 * pending events (which the sregs and MSRs would otherwise reset). */
static int vcpu_load(struct vcpu *v, struct vcpu_state *vs, struct state_section *s)
{
	struct kvm_msrs *m;
	int set;

	if (!vcpu_set(v, KVM_SET_REGS, "KVM_SET_REGS", &vs->regs, s) ||
	    ((vs->parts & VCPU_STATE_HAS_XSAVE)
		     ? !vcpu_set(v, KVM_SET_XSAVE, "KVM_SET_XSAVE", &vs->xsave, s)
		     : !vcpu_set(v, KVM_SET_FPU, "KVM_SET_FPU", &vs->fpu, s)) ||
	    ((vs->parts & VCPU_STATE_HAS_XCRS) && !vcpu_set(v, KVM_SET_XCRS, "KVM_SET_XCRS", &vs->xcrs, s)) ||
	    !vcpu_set(v, KVM_SET_SREGS, "KVM_SET_SREGS", &vs->sregs, s))
		return -EIO;
	m = msrs_alloc();
	if (!m)
		return -ENOMEM;
	m->nmsrs = vs->nr_msrs;
	memcpy(m->entries, vs->msrs, vs->nr_msrs * sizeof(m->entries[0]));
	set = ioctl(v->fd, KVM_SET_MSRS, m);
	free(m);
	if (set < 0 || (uint32_t)set != vs->nr_msrs) {
		state_section_fail(s, EINVAL, "vCPU %u: this host's KVM refuses MSR %#x = %#llx", vs->id,
				   set < 0 ? 0 : vs->msrs[set].index,
				   set < 0 ? 0ull : (unsigned long long)vs->msrs[set].data);
		return -EINVAL;
	}
	if (!vcpu_set(v, KVM_SET_MP_STATE, "KVM_SET_MP_STATE", &vs->mp_state, s) ||
	    !vcpu_set(v, KVM_SET_LAPIC, "KVM_SET_LAPIC", &vs->lapic, s) ||
	    !vcpu_set(v, KVM_SET_VCPU_EVENTS, "KVM_SET_VCPU_EVENTS", &vs->events, s) ||
	    !vcpu_set(v, KVM_SET_DEBUGREGS, "KVM_SET_DEBUGREGS", &vs->debugregs, s))
		return -EIO;
	return 0;
}

static int load_vcpu(void *opaque, struct state_section *s)
{
	struct vm_state_load *ctx = opaque;
	struct vcpu_state *vs;
	int rc;

	if (!need_machine(ctx, s))
		return -EBADMSG;
	vs = malloc(sizeof(*vs));
	if (!vs)
		return -ENOMEM;
	rc = vcpu_state_read(s, ctx->vm->nr_vcpus, vs);
	if (!rc && ctx->vcpu_loaded[vs->id]) {
		state_section_fail(s, EBADMSG, "vCPU %u twice", vs->id);
		rc = -EBADMSG;
	}
	if (!rc)
		rc = vcpu_load(ctx->vm->vcpus[vs->id], vs, s);
	if (!rc)
		ctx->vcpu_loaded[vs->id] = true;
	free(vs);
	return rc;
}

static bool get_exact(struct state_section *s, const char *what, void *p, size_t n)
{
	const uint8_t *q;
	uint32_t len;

	if (!state_get_blob(s, &q, &len, (uint32_t)n))
		return false;
	if (len != n) {
		state_section_fail(s, EBADMSG, "%s of %u bytes, this build's is %zu", what, len, n);
		return false;
	}
	memcpy(p, q, n);
	return true;
}

static int load_irqchip(void *opaque, struct state_section *s)
{
	static const uint32_t chips[] = { KVM_IRQCHIP_PIC_MASTER, KVM_IRQCHIP_PIC_SLAVE,
					  KVM_IRQCHIP_IOAPIC };
	struct vm_state_load *ctx = opaque;
	struct vm *vm = ctx->vm;
	struct kvm_irqchip c[3];
	struct kvm_pit_state2 pit;
	bool has_pit;

	if (!need_machine(ctx, s))
		return -EBADMSG;
	for (size_t i = 0; i < 3; i++)
		if (get_exact(s, "irqchip", &c[i], sizeof(c[i])) && c[i].chip_id != chips[i])
			state_section_fail(s, EBADMSG, "irqchip %zu is chip %u", i, c[i].chip_id);
	state_get_bool(s, &has_pit);
	if (!state_section_failed(s) && has_pit != vm->has_pit)
		state_section_fail(s, EINVAL, "PIT state %s, this VM %s", has_pit ? "present" : "absent",
				   vm->has_pit ? "has one" : "has none");
	if (!state_section_failed(s) && has_pit)
		get_exact(s, "PIT", &pit, sizeof(pit));
	if (state_section_failed(s))
		return -EBADMSG;
	for (size_t i = 0; i < 3; i++)
		if (ioctl(vm->vm_fd, KVM_SET_IRQCHIP, &c[i]) < 0) {
			state_section_fail(s, errno, "KVM_SET_IRQCHIP %u: %s", chips[i], strerror(errno));
			return -EIO;
		}
	if (has_pit && ioctl(vm->vm_fd, KVM_SET_PIT2, &pit) < 0) {
		state_section_fail(s, errno, "KVM_SET_PIT2: %s", strerror(errno));
		return -EIO;
	}
	return 0;
}

static int load_clock(void *opaque, struct state_section *s)
{
	struct vm_state_load *ctx = opaque;
	struct kvm_clock_data clock = { 0 };
	uint64_t ns;

	if (!need_machine(ctx, s) || !state_get_u64(s, &ns))
		return -EBADMSG;
	/* kvmclock continues from the saved value: the guest sees no time
	 * pass while it was saved, and none going backwards. */
	clock.clock = ns;
	if (ioctl(ctx->vm->vm_fd, KVM_SET_CLOCK, &clock) < 0) {
		state_section_fail(s, errno, "KVM_SET_CLOCK: %s", strerror(errno));
		return -EIO;
	}
	ctx->have_clock = true;
	return 0;
}

static int load_cpuid(void *opaque, struct state_section *s)
{
	struct vm_state_load *ctx = opaque;
	struct kvm_cpuid_entry2 *saved = calloc(VM_STATE_CPUID_MAX, sizeof(*saved));
	struct kvm_cpuid2 *here = vcpu0_cpuid(ctx->vm);
	char why[200];
	unsigned int n;
	int rc = -ENOMEM;

	if (!saved || !here) {
		state_section_fail(s, ENOMEM, "KVM_GET_CPUID2 on this VM failed");
		goto out;
	}
	rc = cpuid_state_read(s, saved, VM_STATE_CPUID_MAX, &n);
	if (rc)
		goto out;
	rc = cpuid_state_check(saved, n, here->entries, here->nent, why, sizeof(why));
	if (rc)
		state_section_fail(s, -rc, "%s", why);
out:
	free(saved);
	free(here);
	return rc;
}

void vm_state_handlers(struct vm *vm, struct vm_state_load *ctx, struct state_handler *h)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->vm = vm;
	h[0] = (struct state_handler){ VM_STATE_MACHINE, VM_STATE_MACHINE_VERSION, "vm-machine", true,
				       load_machine, ctx };
	h[1] = (struct state_handler){ VM_STATE_RAM, VM_STATE_RAM_VERSION, "vm-ram", true, load_ram, ctx };
	h[2] = (struct state_handler){ VM_STATE_VCPU, VM_STATE_VCPU_VERSION, "vm-vcpu", true, load_vcpu,
				       ctx };
	h[3] = (struct state_handler){ VM_STATE_IRQCHIP, VM_STATE_IRQCHIP_VERSION, "vm-irqchip", true,
				       load_irqchip, ctx };
	h[4] = (struct state_handler){ VM_STATE_CLOCK, VM_STATE_CLOCK_VERSION, "vm-clock", true,
				       load_clock, ctx };
	h[5] = (struct state_handler){ VM_STATE_CPUID, VM_STATE_CPUID_VERSION, "vm-cpuid", true,
				       load_cpuid, ctx };
}

int vm_state_load_finish(const struct vm_state_load *ctx, char *why, size_t size)
{
	for (unsigned int i = 0; i < ctx->vm->nr_vcpus; i++)
		if (!ctx->vcpu_loaded[i]) {
			snprintf(why, size, "vCPU %u is missing from the stream", i);
			return -EBADMSG;
		}
	return 0;
}
