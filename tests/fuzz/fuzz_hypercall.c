/*
 * libFuzzer harness for the Xen hypercall layer: random guest memory, then
 * a random sequence of hypercalls (any number, mode, CPL, vCPU, arguments
 * biased toward guest addresses) mixed with host-side events (timer
 * expiry, backend notifications, GSI checks, hypercall-MSR writes).
 * A fresh domain per input; its port accounting is checked afterwards.
 *
 * With flag bit 1 the VMM offers the in-kernel fast paths (a fake kernel
 * port table that traps on a double assign or a deassign of what it does
 * not hold; bit 2 makes it take raises; it takes every other IPI port
 * offered); afterwards the table must be exactly the ports xen-compat marks
 * fast, each a live backend link or an IPI port whose vCPU has a vector
 * upcall.
 *
 * Input: [0] flags (bit 0 kernel_accel), [1..2] bytes of guest RAM image
 * length n (LE, capped), n bytes of RAM image, then 27-byte records
 * [kind, mode, number, 3 x u64 args].
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xenkvm/evtchn.h"
#include "xenkvm/gnttab.h"
#include "xenkvm/guest_mem.h"
#include "xenkvm/hypercall.h"
#include "xenkvm/hypercall_page.h"
#include "xenkvm/log.h"
#include "xenkvm/xen_domain.h"

#define RAM_SIZE   0x10000u          /* 64 KiB at gpa 0 */
#define HIGH_GPA   0x100000u         /* 4 KiB more at 1 MiB */
#define HIGH_SIZE  0x1000u
#define KVA_BASE   0xffff800000000000ull /* "kernel" mapping, pages reversed */
#define NR_VCPUS   3
#define MAX_OVERLAYS 80

static uint8_t ram[RAM_SIZE] __attribute__((aligned(4096)));
static uint8_t high[HIGH_SIZE] __attribute__((aligned(4096)));
static uint64_t now;
static unsigned int nr_overlays;

static int gva_to_gpa(void *o, unsigned int vcpu, uint64_t gva, uint64_t *gpa)
{
	(void)o;
	(void)vcpu;
	if (gva < RAM_SIZE) {
		*gpa = gva;
		return 0;
	}
	if (gva >= KVA_BASE && gva - KVA_BASE < RAM_SIZE) {
		uint64_t page = (gva - KVA_BASE) >> 12, last = RAM_SIZE / 4096 - 1;

		*gpa = (last - page) << 12 | (gva & 0xfff);
		return 0;
	}
	if (gva >= HIGH_GPA && gva < HIGH_GPA + HIGH_SIZE) {
		*gpa = gva;
		return 0;
	}
	return -1;
}

static void inject(void *o, unsigned int vcpu, uint8_t vector)
{
	(void)o;
	if (vcpu >= NR_VCPUS || vector < 0x10)
		__builtin_trap();
}

static void set_gsi(void *o, unsigned int gsi, bool level)
{
	(void)o;
	(void)gsi;
	(void)level;
}

static int intx(void *o, uint16_t seg, uint8_t bus, uint8_t devfn, uint8_t pin)
{
	(void)o;
	return seg == 0 && bus == 0 && devfn == 0x18 && pin == 0 ? 28 : -1;
}

static void kick(void *o, unsigned int vcpu)
{
	(void)o;
	if (vcpu >= NR_VCPUS)
		__builtin_trap();
}

static uint64_t now_ns(void *o)
{
	(void)o;
	return now;
}

static int read_tsc(void *o, unsigned int vcpu, uint64_t *tsc, uint64_t *ns)
{
	(void)o;
	(void)vcpu;
	*tsc = now * 3;
	*ns = now;
	return 0;
}

static void timer_arm(void *o, unsigned int vcpu, uint64_t deadline)
{
	(void)o;
	(void)deadline;
	if (vcpu >= NR_VCPUS)
		__builtin_trap();
}

static void shutdown(void *o, enum xen_shutdown_reason r, unsigned int code)
{
	(void)o;
	if (r > XEN_SHUTDOWN_SOFT_RESET || code > SHUTDOWN_MAX)
		__builtin_trap();
}

static int map_page(void *o, uint64_t gfn, void *hva)
{
	(void)o;
	(void)gfn;
	if (hva) {
		if (nr_overlays == MAX_OVERLAYS)
			return -28;
		nr_overlays++;
	} else if (nr_overlays) {
		nr_overlays--;
	}
	return 0;
}

/* The contract: page-aligned, not empty, wholly inside one RAM region. */
static void ram_discard(void *o, uint64_t gpa, uint64_t len)
{
	(void)o;
	if (!len || (gpa | len) & 0xfff)
		__builtin_trap();
	if (gpa < RAM_SIZE && len <= RAM_SIZE - gpa)
		memset(ram + gpa, 0, len);
	else if (gpa >= HIGH_GPA && gpa - HIGH_GPA < HIGH_SIZE && len <= HIGH_SIZE - (gpa - HIGH_GPA))
		memset(high + (gpa - HIGH_GPA), 0, len);
	else
		__builtin_trap();
}

static void console(void *o, const char *buf, size_t len)
{
	(void)o;
	(void)buf;
	if (len > 4096)
		__builtin_trap();
}

static const struct xen_vmm_ops ops = {
	.gva_to_gpa = gva_to_gpa, .inject_vector = inject, .set_gsi = set_gsi,
	.pci_intx_to_gsi = intx, .kick_vcpu = kick, .now_ns = now_ns, .read_tsc = read_tsc,
	.timer_arm = timer_arm, .shutdown = shutdown, .map_page = map_page,
	.ram_discard = ram_discard, .console_write = console,
};

/* --- the fake kernel's fast-path table ------------------------------------- */

static bool ktable[XEN_2L_MAX_PORTS];
static bool kipi[XEN_2L_MAX_PORTS];          /* held as an IPI port */
static unsigned int kipi_vcpu[XEN_2L_MAX_PORTS];
static void (*kfn[XEN_2L_MAX_PORTS])(void *, uint32_t);
static void *kopaque[XEN_2L_MAX_PORTS];
static uint32_t kbe[XEN_2L_MAX_PORTS];
static bool kraise;

static int fast_bind(void *o, uint32_t port, uint32_t be_port, void (*fn)(void *, uint32_t),
		     void *fn_opaque)
{
	(void)o;
	if (port >= XEN_2L_MAX_PORTS || ktable[port])
		__builtin_trap();   /* KVM would say -EEXIST: our bookkeeping is off */
	ktable[port] = true;
	kipi[port] = false;
	kfn[port] = fn;
	kopaque[port] = fn_opaque;
	kbe[port] = be_port;
	return 0;
}

static void fast_unbind(void *o, uint32_t port)
{
	(void)o;
	if (port >= XEN_2L_MAX_PORTS || !ktable[port])
		__builtin_trap();
	ktable[port] = false;
}

/* Takes every other offer, as KVM declines while a vCPU's attributes wait. */
static int fast_ipi(void *o, uint32_t port, unsigned int vcpu)
{
	static unsigned int n;

	(void)o;
	if (port >= XEN_2L_MAX_PORTS || ktable[port] || vcpu >= NR_VCPUS)
		__builtin_trap();
	if (n++ & 1)
		return -11;
	ktable[port] = true;
	kipi[port] = true;
	kipi_vcpu[port] = vcpu;
	return 0;
}

static int fast_raise(void *o, uint32_t port, unsigned int vcpu)
{
	(void)o;
	if (port >= XEN_2L_MAX_PORTS || vcpu >= NR_VCPUS)
		__builtin_trap();
	return kraise ? 0 : -11;
}

static void timer_virq(void *o, unsigned int vcpu, uint32_t port)
{
	(void)o;
	if (vcpu >= NR_VCPUS || port >= XEN_2L_MAX_PORTS)
		__builtin_trap();
}

static const struct xen_vmm_ops fast_ops = {
	.gva_to_gpa = gva_to_gpa, .inject_vector = inject, .set_gsi = set_gsi,
	.pci_intx_to_gsi = intx, .kick_vcpu = kick, .now_ns = now_ns, .read_tsc = read_tsc,
	.timer_arm = timer_arm, .shutdown = shutdown, .map_page = map_page,
	.ram_discard = ram_discard, .console_write = console,
	.evtchn_fast_bind = fast_bind, .evtchn_fast_unbind = fast_unbind,
	.evtchn_raise = fast_raise, .timer_virq_set = timer_virq, .evtchn_fast_ipi = fast_ipi,
};

static unsigned int be_calls;

static void be_handler(void *opaque, evtchn_port_t be)
{
	be_calls++;
	evtchn_backend_notify(opaque, be);
}

static uint64_t bias(uint64_t v, unsigned int how)
{
	switch (how & 3) {
	case 0:
		return v;                        /* raw */
	case 1:
		return v % RAM_SIZE;             /* identity-mapped RAM */
	case 2:
		return KVA_BASE + v % RAM_SIZE;  /* the scrambled mapping */
	default:
		return v & 0xff;                 /* small numbers: ports, vcpus, indices */
	}
}

static void check_ports(struct xen_domain *d)
{
	unsigned int open = 0, be = 0;

	for (unsigned int p = 0; p < XEN_2L_MAX_PORTS; p++)
		open += d->evtchn.ports[p].state != EVTCHNSTAT_closed;
	for (unsigned int p = 0; p < EVTCHN_BE_MAX_PORTS; p++)
		be += d->evtchn.be[p].open;
	if (open != d->evtchn.nr_open || be != d->evtchn.nr_be_open || d->gnttab.nr_maps)
		__builtin_trap();
	/* The kernel's table = the ports marked fast = live guest<->backend links,
	 * or IPI ports raised on their own vCPU while its upcall is a vector. */
	for (unsigned int p = 0; p < XEN_2L_MAX_PORTS; p++) {
		const struct evtchn_port *ep = &d->evtchn.ports[p];

		if (ktable[p] != ep->fast)
			__builtin_trap();
		if (ep->fast && kipi[p]) {
			if (ep->state != EVTCHNSTAT_ipi || ep->vcpu != kipi_vcpu[p] ||
			    (!d->vcpus[ep->vcpu].upcall_vector && d->cb_type != XEN_CB_VECTOR))
				__builtin_trap();
			continue;
		}
		if (ep->fast && (ep->state != EVTCHNSTAT_interdomain || ep->remote_dom != 0 ||
				 ep->u >= EVTCHN_BE_MAX_PORTS || !d->evtchn.be[ep->u].open ||
				 d->evtchn.be[ep->u].guest_port != p || kbe[p] != ep->u))
			__builtin_trap();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guest_mem mem = { 0 };
	struct xen_domain *d = NULL;
	struct xen_domain_params p = { .domid = 5, .nr_vcpus = NR_VCPUS,
				       .ram_pages = (RAM_SIZE + HIGH_SIZE) / 4096,
				       .max_gfn = 0x200, .tsc_khz = 3000000 };
	size_t n;
	bool fast;
	static bool quiet;

	if (!quiet) {
		log_set_level(LOG_ERR);
		quiet = true;
	}
	if (size < 3)
		return 0;
	p.kernel_accel = data[0] & 1;
	memset(ktable, 0, sizeof(ktable));
	memset(kipi, 0, sizeof(kipi));
	kraise = data[0] & 4;
	fast = data[0] & 2;
	n = (size_t)(data[1] | data[2] << 8) % (RAM_SIZE + 1);
	data += 3;
	size -= 3;
	if (n > size)
		n = size;
	memset(ram, 0, sizeof(ram));
	memset(high, 0, sizeof(high));
	memcpy(ram, data, n);
	data += n;
	size -= n;
	now = 1000000;
	nr_overlays = 0;
	if (guest_mem_add(&mem, 0, RAM_SIZE, ram) || guest_mem_add(&mem, HIGH_GPA, HIGH_SIZE, high))
		__builtin_trap();
	if (xen_domain_create(&d, &p, fast ? &fast_ops : &ops, NULL, &mem))
		__builtin_trap();

	while (size >= 27) {
		uint8_t kind = data[0], mode = data[1], nr = data[2];
		uint64_t a[3];
		unsigned int vcpu = (mode >> 2) % (NR_VCPUS + 1); /* sometimes out of range */

		memcpy(a, data + 3, 24);
		data += 27;
		size -= 27;
		now += kind;
		switch (kind & 7) {
		default: {
			struct xen_hcall hc = {
				.vcpu = vcpu, .longmode = mode & 1, .cpl = (mode & 2) ? 3 : 0,
				.nr = nr < 0xf0 ? nr % 64u : a[2],
				.args = { bias(a[0], 3), bias(a[1], mode >> 4), bias(a[2], mode >> 6) },
			};

			/* mostly the real sub-op numbers: small first argument */
			if (kind & 0x80)
				hc.args[0] = a[0];
			xen_hypercall(d, &hc);
			if (hc.action == XEN_HCALL_BLOCK || hc.action == XEN_HCALL_POLL) {
				xen_vcpu_wake_ready(d, vcpu);
				xen_vcpu_unblock(d, vcpu);
			}
			break;
		}
		case 5:
			xen_vcpu_timer_expired(d, vcpu);
			xen_vcpu_set_runstate(d, vcpu, (int)(a[0] & 3));
			break;
		case 6: {
			evtchn_port_t gp = 0, be = 0;

			if (a[0] & 1) {
				if (!evtchn_alloc_guest_unbound(d, 0, &gp))
					evtchn_backend_bind(d, gp, be_handler, d, &be);
			} else if (a[0] & 2) {
				evtchn_backend_alloc(d, be_handler, d, &be);
			}
			evtchn_backend_notify(d, (evtchn_port_t)(a[1] & 0x1ff));
			/* a guest send the fake kernel takes: the handler, unlocked */
			if ((a[2] & 2) && ktable[a[1] & 0xfff])
				kfn[a[1] & 0xfff](kopaque[a[1] & 0xfff], kbe[a[1] & 0xfff]);
			if (a[2] & 1)
				evtchn_backend_close(d, (evtchn_port_t)(a[1] & 0x1ff));
			xen_evtchn_callback_check(d);
			break;
		}
		case 7: {
			struct gnttab_mapping m;
			uint8_t buf[64];

			xen_hypercall_msr_write(d, vcpu, mode & 1, bias(a[0], 1));
			if (!gnttab_map(d, (grant_ref_t)(a[1] & 0x7ff), a[2] & 1, &m))
				gnttab_unmap(d, &m);
			gnttab_copy_from(d, (grant_ref_t)(a[1] & 0x7ff), a[2] >> 52, buf,
					 (a[2] >> 8) % sizeof(buf));
			break;
		}
		}
	}
	check_ports(d);
	if (xen_domain_tot_pages(d) + d->nr_ballooned != p.ram_pages)
		__builtin_trap();
	xen_domain_destroy(d);
	return 0;
}
