/* The fake VMM behind the xen-compat unit tests (see xen_fake_vmm.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xen_fake_vmm.h"

static int fake_gva_to_gpa(void *opaque, unsigned int vcpu, uint64_t gva, uint64_t *gpa_r)
{
	struct xen_fake *f = opaque;
	uint64_t page = gva & ~0xfffull;

	(void)vcpu;
	for (unsigned int i = 0; i < f->nr_remaps; i++) {
		if (f->remap_gva[i] == page) {
			*gpa_r = f->remap_gpa[i] | (gva & 0xfff);
			return 0;
		}
	}
	if (!f->no_identity && gva < FAKE_RAM_SIZE) {
		*gpa_r = gva;
		return 0;
	}
	return -EFAULT;
}

static void fake_inject(void *opaque, unsigned int vcpu, uint8_t vector)
{
	struct xen_fake *f = opaque;

	if (vcpu < FAKE_MAX_VCPUS) {
		f->injected[vcpu]++;
		f->last_vector[vcpu] = vector;
	}
}

static void fake_set_gsi(void *opaque, unsigned int gsi, bool level)
{
	struct xen_fake *f = opaque;

	if (gsi < 64)
		f->gsi_level[gsi] = level;
	f->gsi_changes++;
}

static int fake_intx(void *opaque, uint16_t seg, uint8_t bus, uint8_t devfn, uint8_t pin)
{
	struct xen_fake *f = opaque;

	/* The fake platform device: 0000:00:03.0 INTA. */
	if (seg == 0 && bus == 0 && devfn == 0x18 && pin == 0)
		return f->intx_gsi;
	return -1;
}

static void fake_kick(void *opaque, unsigned int vcpu)
{
	struct xen_fake *f = opaque;

	if (vcpu < FAKE_MAX_VCPUS)
		f->kicks[vcpu]++;
}

static uint64_t fake_now(void *opaque)
{
	return ((struct xen_fake *)opaque)->now;
}

static uint64_t fake_wall(void *opaque)
{
	/* 2026-01-01T00:00:00Z + 0.5 s, plus system time. */
	return 1767225600ull * 1000000000ull + 500000000ull + ((struct xen_fake *)opaque)->now;
}

static int fake_read_tsc(void *opaque, unsigned int vcpu, uint64_t *tsc_r, uint64_t *ns_r)
{
	struct xen_fake *f = opaque;

	(void)vcpu;
	*tsc_r = f->tsc;
	*ns_r = f->now;
	return 0;
}

static void fake_timer_arm(void *opaque, unsigned int vcpu, uint64_t deadline)
{
	struct xen_fake *f = opaque;

	if (vcpu < FAKE_MAX_VCPUS) {
		f->timer[vcpu] = deadline;
		f->timer_arms[vcpu]++;
	}
}

static void fake_shutdown(void *opaque, enum xen_shutdown_reason reason, unsigned int code)
{
	struct xen_fake *f = opaque;

	f->shutdowns++;
	f->shutdown_reason = reason;
	f->shutdown_code = code;
}

/* Zeroes what it drops, as a refault of freed anonymous memory would. */
static void fake_ram_discard(void *opaque, uint64_t gpa, uint64_t len)
{
	struct xen_fake *f = opaque;
	void *p = guest_mem_ptr(&f->mem, gpa, len);

	f->discard_calls++;
	f->discarded_bytes += len;
	f->last_discard_gpa = gpa;
	f->last_discard_len = len;
	if (p)
		memset(p, 0, len);
	else
		f->discard_outside_ram++;
}

static int fake_map_page(void *opaque, uint64_t gfn, void *hva)
{
	struct xen_fake *f = opaque;
	unsigned int i;

	f->map_calls++;
	for (i = 0; i < f->nr_overlays; i++)
		if (f->overlays[i].gfn == gfn)
			break;
	if (!hva) {
		if (i == f->nr_overlays)
			return -ENOENT;
		f->overlays[i] = f->overlays[--f->nr_overlays];
		return 0;
	}
	if (i == f->nr_overlays) {
		if (f->nr_overlays == FAKE_MAX_OVERLAYS)
			return -ENOSPC;
		f->nr_overlays++;
	}
	f->overlays[i] = (struct fake_overlay){ gfn, hva };
	return 0;
}

static void fake_long_mode(void *opaque, bool lm)
{
	((struct xen_fake *)opaque)->long_mode_told = lm;
	((struct xen_fake *)opaque)->long_mode_calls++;
}

static void fake_shinfo_set(void *opaque, uint64_t gfn)
{
	((struct xen_fake *)opaque)->shinfo_gfn_told = gfn;
}

static void fake_vcpu_info_set(void *opaque, unsigned int vcpu, uint64_t gpa)
{
	struct xen_fake *f = opaque;

	if (vcpu < FAKE_MAX_VCPUS)
		f->vcpu_info_told[vcpu] = gpa;
}

static void fake_upcall_vector_set(void *opaque, unsigned int vcpu, uint8_t vector)
{
	struct xen_fake *f = opaque;

	if (vcpu < FAKE_MAX_VCPUS)
		f->upcall_vector_told[vcpu] = vector;
}

static void fake_console(void *opaque, const char *buf, size_t len)
{
	struct xen_fake *f = opaque;
	size_t room = sizeof(f->console) - 1 - f->console_len;

	if (len > room)
		len = room;
	memcpy(f->console + f->console_len, buf, len);
	f->console_len += (unsigned int)len;
	f->console[f->console_len] = 0;
}

static int fake_fast_bind(void *opaque, uint32_t port, uint32_t be_port,
			  void (*fn)(void *, uint32_t), void *fn_opaque)
{
	struct xen_fake *f = opaque;

	if (!f->fast_bind_ok)
		return -EOPNOTSUPP;
	/* KVM refuses a port twice (-EEXIST): so must our bookkeeping never ask */
	if (port == 0 || port >= 4096 || f->fast_table[port]) {
		f->fast_bad_ops++;
		return -EEXIST;
	}
	f->fast_table[port] = true;
	f->fast_be[port] = be_port;
	f->fast_fn[port] = fn;
	f->fast_opaque[port] = fn_opaque;
	f->fast_binds++;
	return 0;
}

static void fake_fast_unbind(void *opaque, uint32_t port)
{
	struct xen_fake *f = opaque;

	if (port == 0 || port >= 4096 || !f->fast_table[port]) {
		f->fast_bad_ops++;   /* deassigning what the kernel does not hold */
		return;
	}
	f->fast_table[port] = false;
	f->fast_unbinds++;
}

static int fake_fast_ipi(void *opaque, uint32_t port, unsigned int vcpu)
{
	struct xen_fake *f = opaque;

	if (!f->fast_ipi)
		return -EOPNOTSUPP;
	if (f->fast_ipi_rc)
		return f->fast_ipi_rc;
	if (port == 0 || port >= 4096 || f->fast_table[port]) {
		f->fast_bad_ops++;
		return -EEXIST;
	}
	f->fast_table[port] = true;
	f->fast_be[port] = 0;
	f->fast_fn[port] = NULL;
	f->fast_ipi_vcpu[port] = vcpu;
	f->fast_binds++;
	f->fast_ipi_binds++;
	return 0;
}

static int fake_raise(void *opaque, uint32_t port, unsigned int vcpu)
{
	struct xen_fake *f = opaque;

	if (!f->fast_raise)
		return -EOPNOTSUPP;
	if (f->fast_raise_rc)
		return f->fast_raise_rc;
	f->raised++;
	f->last_raised_port = port;
	f->last_raised_vcpu = vcpu;
	return 0;
}

static void fake_timer_virq(void *opaque, unsigned int vcpu, uint32_t port)
{
	struct xen_fake *f = opaque;

	if (vcpu < FAKE_MAX_VCPUS)
		f->timer_virq[vcpu] = port;
	f->timer_virq_calls++;
}

int xen_fake_kernel_send(struct xen_fake *f, uint32_t port)
{
	if (port >= 4096 || !f->fast_table[port] || !f->fast_fn[port])
		return -ENOENT;
	f->fast_fn[port](f->fast_opaque[port], f->fast_be[port]);
	return 0;
}

static const struct xen_vmm_ops fake_ops = {
	.gva_to_gpa = fake_gva_to_gpa,
	.inject_vector = fake_inject,
	.set_gsi = fake_set_gsi,
	.pci_intx_to_gsi = fake_intx,
	.kick_vcpu = fake_kick,
	.now_ns = fake_now,
	.wall_ns = fake_wall,
	.read_tsc = fake_read_tsc,
	.timer_arm = fake_timer_arm,
	.shutdown = fake_shutdown,
	.map_page = fake_map_page,
	.ram_discard = fake_ram_discard,
	.long_mode_set = fake_long_mode,
	.shared_info_set = fake_shinfo_set,
	.vcpu_info_set = fake_vcpu_info_set,
	.upcall_vector_set = fake_upcall_vector_set,
	.console_write = fake_console,
};

/* The same VMM offering KVM's in-kernel event-channel paths. */
static struct xen_vmm_ops fake_fast_ops;

int xen_fake_init(struct xen_fake *f, unsigned int nr_vcpus)
{
	return xen_fake_init_ex(f, nr_vcpus, false);
}

static int fake_init(struct xen_fake *f, unsigned int nr_vcpus, bool kernel_accel,
		     const struct xen_vmm_ops *ops);

int xen_fake_init_ex(struct xen_fake *f, unsigned int nr_vcpus, bool kernel_accel)
{
	return fake_init(f, nr_vcpus, kernel_accel, &fake_ops);
}

int xen_fake_init_fast(struct xen_fake *f, unsigned int nr_vcpus)
{
	fake_fast_ops = fake_ops;
	fake_fast_ops.evtchn_fast_bind = fake_fast_bind;
	fake_fast_ops.evtchn_fast_unbind = fake_fast_unbind;
	fake_fast_ops.evtchn_fast_ipi = fake_fast_ipi;
	fake_fast_ops.evtchn_raise = fake_raise;
	fake_fast_ops.timer_virq_set = fake_timer_virq;
	return fake_init(f, nr_vcpus, true, &fake_fast_ops);
}

static int fake_init(struct xen_fake *f, unsigned int nr_vcpus, bool kernel_accel,
		     const struct xen_vmm_ops *ops)
{
	int rc;

	memset(f, 0, sizeof(*f));
	f->ram = aligned_alloc(4096, FAKE_RAM_SIZE);
	f->high = aligned_alloc(4096, FAKE_HIGH_SIZE);
	if (!f->ram || !f->high) {
		rc = -ENOMEM;
		goto out;
	}
	memset(f->ram, 0, FAKE_RAM_SIZE);
	memset(f->high, 0, FAKE_HIGH_SIZE);
	if (guest_mem_add(&f->mem, 0, FAKE_RAM_SIZE, f->ram) ||
	    guest_mem_add(&f->mem, FAKE_HIGH_GPA, FAKE_HIGH_SIZE, f->high)) {
		rc = -EINVAL;
		goto out;
	}
	f->intx_gsi = 28;
	f->now = 1000000000ull;
	f->tsc = 5000000ull;
	f->p = (struct xen_domain_params){
		.domid = FAKE_DOMID,
		.nr_vcpus = nr_vcpus,
		.ram_pages = FAKE_RAM_SIZE >> 12,
		.max_gfn = (FAKE_HIGH_GPA + FAKE_HIGH_SIZE) / 4096 + 16,
		.tsc_khz = 2500000,
		.kernel_accel = kernel_accel,
	};
	rc = xen_domain_create(&f->d, &f->p, ops, f, &f->mem);
	if (rc)
		goto out;
	return 0;
out:
	free(f->ram);
	free(f->high);
	f->ram = f->high = NULL;
	return rc;
}

void xen_fake_fini(struct xen_fake *f)
{
	xen_domain_destroy(f->d);
	free(f->ram);
	free(f->high);
	memset(f, 0, sizeof(*f));
}

void xen_fake_remap(struct xen_fake *f, uint64_t gva, uint64_t gpa)
{
	if (f->nr_remaps < FAKE_MAX_REMAPS) {
		f->remap_gva[f->nr_remaps] = gva & ~0xfffull;
		f->remap_gpa[f->nr_remaps] = gpa & ~0xfffull;
		f->nr_remaps++;
	}
}

void *xen_fake_gpa(struct xen_fake *f, uint64_t gpa)
{
	return guest_mem_ptr(&f->mem, gpa, 1);
}

void *xen_fake_overlay(struct xen_fake *f, uint64_t gfn)
{
	for (unsigned int i = 0; i < f->nr_overlays; i++)
		if (f->overlays[i].gfn == gfn)
			return f->overlays[i].hva;
	return NULL;
}

long xen_fake_call(struct xen_fake *f, struct xen_hcall *hc)
{
	uint64_t rax = xen_hypercall(f->d, hc);

	return hc->longmode ? (long)(int64_t)rax : (long)(int32_t)(uint32_t)rax;
}

long xen_fake_call64(struct xen_fake *f, unsigned int vcpu, uint64_t nr, uint64_t a0,
		     uint64_t a1, uint64_t a2)
{
	struct xen_hcall hc = { .vcpu = vcpu, .longmode = true, .nr = nr,
				.args = { a0, a1, a2 } };

	return xen_fake_call(f, &hc);
}

long xen_fake_call32(struct xen_fake *f, unsigned int vcpu, uint64_t nr, uint64_t a0,
		     uint64_t a1, uint64_t a2)
{
	struct xen_hcall hc = { .vcpu = vcpu, .longmode = false, .nr = nr,
				.args = { a0, a1, a2 } };

	return xen_fake_call(f, &hc);
}
