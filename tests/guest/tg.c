/*
 * xenkvm test guest: a freestanding guest that talks to its Xen hypervisor
 * the old way, through the hypercall page, and checks the answers against
 * Xen's public ABI (the xen/ headers, compiled for this guest's word size,
 * so the 32-bit build checks the compat layouts).
 *
 * Sequence: find Xen's CPUID leaves; write the hypercall MSR with a
 * page-aligned buffer; xen_version (version, features, extraversion, an
 * unknown command); error paths (unknown hypercall -> -ENOSYS, bad guest
 * pointers -> -EFAULT); map shared_info with XENMEM_add_to_physmap (no
 * stray pending bits, wallclock and vCPU 0's pvclock filled in); event
 * channels (alloc_unbound, bind_ipi, status, send with the 2-level
 * pending/selector/upcall bits, masked send + unmask, a loopback
 * interdomain pair, close); then SCHEDOP_shutdown.
 *
 * Output on COM1, one line per check:
 *   XENKVM-TG ok <what>
 *   XENKVM-TG FAIL <what> (got 0x..)
 * and last "XENKVM-TG PASS <n> checks" (then poweroff) or
 * "XENKVM-TG FAIL <k> of <n> checks" (then shutdown with reason crash).
 *
 * Benchmark mode (64-bit only; bench/hypercall/run.sh), from the kernel
 * command line, after the hypercall page and shared_info checks:
 *   tgbench=N  N xen_version(XENVER_version) calls timed with rdtsc:
 *              "XENKVM-TG bench hcall N calls C cycles/call X ns/call"
 *   tgecho=N   N event-channel round trips with xenkvmd --bench-echo's
 *              backend (the guest port bound to domain 0 that is not the
 *              XenStore's), spinning on the pending bit:
 *              "XENKVM-TG bench echo N round trips C cycles/call X ns/call"
 *   tgechopoll=N the same, waiting in SCHEDOP_poll as a frontend blocks
 *              ("XENKVM-TG bench echo-poll ...")
 * Cycles become ns with vCPU 0's pvclock scale.
 *   tgcount=1  before any Xen check: "XENKVM-TG count N" lines for ever,
 *              N from 1 (tests/system/machine-state-roundtrip, no Xen needed)
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Without it the headers give the pre-3.0.2 *_compat hypercall numbers. */
#define __XEN_INTERFACE_VERSION__ 0x00040e00
#include <xen/xen.h>
#include <xen/arch-x86/cpuid.h>
#include <xen/event_channel.h>
#include <xen/features.h>
#include <xen/hvm/hvm_op.h>
#include <xen/hvm/params.h>
#include <xen/memory.h>
#include <xen/sched.h>
#include <xen/version.h>

#include "tg.h"

#define COM1             0x3f8
#define COM1_LSR         (COM1 + 5)
#define LSR_THRE         0x20
#define ACPI_PM1A_CNT    0x604          /* xenkvmd's PM1a control block */
#define SLP_TYP_S5       (5 << 10)
#define SLP_EN           (1 << 13)
#define PAGE_SIZE        4096

#define XEN_VERSION_4_17 0x00040011
#define EFAULT 14
#define EINVAL 22
#define ENOSYS 38
/* 56..63 are not assigned by xen.h (arch-specific ones end at 55). */
#define UNKNOWN_HYPERCALL 63
/* Guest-physical address in no RAM: the guest gets 32 MiB (see
 * tests/system/test_hcall_paths.sh) and xenkvmd's RAM ends below 3 GiB. */
#define NOT_RAM_ADDR     0xc0000000ul
#define BITS_PER_XEN_WORD (sizeof(xen_ulong_t) * 8)

#if defined(__x86_64__)
#define TG_MODE "64-bit"
/* Above the 4 GiB identity map the boot loader built: no translation. */
#define UNMAPPED_ADDR    0x8000000000ul
#else
#define TG_MODE "32-bit"
#endif

unsigned char hypercall_page[TG_HCALL_STUBS * TG_HCALL_STUB_SIZE]
	__attribute__((section(".bss.page"), aligned(PAGE_SIZE)));
/* A whole page: add_to_physmap replaces the frame, so nothing else may
 * share it. */
static union {
	struct shared_info s;
	unsigned char page[PAGE_SIZE];
} shinfo __attribute__((section(".bss.page"), aligned(PAGE_SIZE)));
_Static_assert(sizeof(struct shared_info) <= PAGE_SIZE, "shared_info is one page");

/* The compiler may emit calls to these even in freestanding code. */
void *memset(void *s, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);

void *memset(void *s, int c, size_t n)
{
	unsigned char *p = s;

	while (n--)
		*p++ = (unsigned char)c;
	return s;
}

void *memcpy(void *d, const void *s, size_t n)
{
	unsigned char *dp = d;
	const unsigned char *sp = s;

	while (n--)
		*dp++ = *sp++;
	return d;
}

/* ---- port I/O, console, CPU ------------------------------------------------- */

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outw(uint16_t port, uint16_t v)
{
	__asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static void con_putc(char c)
{
	/* Bounded: a UART that never drains must not hang the guest. */
	for (unsigned int i = 0; i < 100000 && !(inb(COM1_LSR) & LSR_THRE); i++)
		;
	outb(COM1, (uint8_t)c);
}

static void con_puts(const char *s)
{
	while (*s) {
		if (*s == '\n')
			con_putc('\r');
		con_putc(*s++);
	}
}

static void con_dec(unsigned int v)
{
	char buf[12];
	int i = 0;

	do {
		buf[i++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (i)
		con_putc(buf[--i]);
}

static void con_hex(uint64_t v)
{
	static const char digits[] = "0123456789abcdef";
	bool started = false;

	con_puts("0x");
	for (int shift = 60; shift >= 0; shift -= 4) {
		unsigned int d = (unsigned int)(v >> shift) & 0xf;

		if (d || started || !shift) {
			con_putc(digits[d]);
			started = true;
		}
	}
}

static void cpuid(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
	__asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
}

#if !defined(__x86_64__)
static uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return (uint64_t)hi << 32 | lo;
}
#endif

static void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

/* ---- checks ------------------------------------------------------------------- */

static unsigned int checks_run, checks_failed;

/* Records one check; `got` is printed when it failed. */
static bool check(bool ok, const char *what, uint64_t got)
{
	checks_run++;
	if (ok) {
		con_puts("XENKVM-TG ok ");
		con_puts(what);
		con_puts("\n");
		return true;
	}
	checks_failed++;
	con_puts("XENKVM-TG FAIL ");
	con_puts(what);
	con_puts(" (got ");
	con_hex(got);
	con_puts(")\n");
	return false;
}

/* A hypercall result as the 64-bit value in rax (or eax, zero-extended):
 * a negative errno must arrive sign-extended to the guest's full word. */
static uint64_t raw(long rc)
{
	return (uint64_t)(unsigned long)rc;
}

static long hcall2(unsigned int nr, unsigned long a1, const void *a2)
{
	return tg_hcall(nr, a1, (unsigned long)a2, 0, 0, 0);
}

static long evtchn_op(unsigned int cmd, void *op)
{
	return hcall2(__HYPERVISOR_event_channel_op, cmd, op);
}

/* ---- 2-level event channel bits, in the guest's own word size ----------------- */

static bool bit_test(const xen_ulong_t *words, unsigned int bit)
{
	return __atomic_load_n(&words[bit / BITS_PER_XEN_WORD], __ATOMIC_SEQ_CST) >>
	       (bit % BITS_PER_XEN_WORD) & 1;
}

static void bit_set(xen_ulong_t *words, unsigned int bit)
{
	__atomic_fetch_or(&words[bit / BITS_PER_XEN_WORD], (xen_ulong_t)1 << (bit % BITS_PER_XEN_WORD),
			  __ATOMIC_SEQ_CST);
}

static void bit_clear(xen_ulong_t *words, unsigned int bit)
{
	__atomic_fetch_and(&words[bit / BITS_PER_XEN_WORD], ~((xen_ulong_t)1 << (bit % BITS_PER_XEN_WORD)),
			   __ATOMIC_SEQ_CST);
}

static volatile struct vcpu_info *vcpu0(void)
{
	return &shinfo.s.vcpu_info[0];
}

/* What the guest's upcall handler would have done: nothing left to see. */
static void evtchn_ack(unsigned int port)
{
	bit_clear(shinfo.s.evtchn_pending, port);
	__atomic_store_n(&vcpu0()->evtchn_pending_sel, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&vcpu0()->evtchn_upcall_pending, 0, __ATOMIC_SEQ_CST);
}

static bool selector_set(unsigned int port)
{
	return __atomic_load_n(&vcpu0()->evtchn_pending_sel, __ATOMIC_SEQ_CST) >> (port / BITS_PER_XEN_WORD) & 1;
}

static uint8_t upcall_pending(void)
{
	return __atomic_load_n(&vcpu0()->evtchn_upcall_pending, __ATOMIC_SEQ_CST);
}

static long evtchn_send_port(evtchn_port_t port)
{
	struct evtchn_send op = { .port = port };

	return evtchn_op(EVTCHNOP_send, &op);
}

static long evtchn_close_port(evtchn_port_t port)
{
	struct evtchn_close op = { .port = port };

	return evtchn_op(EVTCHNOP_close, &op);
}

static long evtchn_status_port(evtchn_port_t port, struct evtchn_status *st)
{
	*st = (struct evtchn_status){ .dom = DOMID_SELF, .port = port };
	return evtchn_op(EVTCHNOP_status, st);
}

/* ---- benchmark mode (64-bit) ---------------------------------------------------- */

unsigned long tg_boot_params;

#if defined(__x86_64__)
#define BP_CMD_LINE_PTR 0x228    /* boot_params.hdr.cmd_line_ptr */

/* Value of "key=N" on the kernel command line, or 0. */
static unsigned long cmdline_number(const char *key)
{
	const char *cl;

	if (!tg_boot_params)
		return 0;
	cl = (const char *)(uintptr_t)*(volatile uint32_t *)(tg_boot_params + BP_CMD_LINE_PTR);
	if (!cl)
		return 0;
	for (const char *p = cl; *p; p++) {
		const char *k = key, *q = p;
		unsigned long n = 0;

		if (p != cl && p[-1] != ' ')
			continue;
		while (*k && *q == *k)
			k++, q++;
		if (*k || *q != '=')
			continue;
		for (q++; *q >= '0' && *q <= '9'; q++)
			n = n * 10 + (unsigned long)(*q - '0');
		return n;
	}
	return 0;
}

static uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

/* TSC cycles -> ns by vCPU 0's pvclock scale (Xen's formula). */
static uint64_t cycles_to_ns(uint64_t delta)
{
	int8_t shift = vcpu0()->time.tsc_shift;

	if (shift < 0)
		delta >>= -shift;
	else
		delta <<= shift;
	return (uint64_t)(((unsigned __int128)delta * vcpu0()->time.tsc_to_system_mul) >> 32);
}

static void bench_report(const char *what, unsigned long n, const char *unit, uint64_t cycles)
{
	uint64_t ns = cycles_to_ns(cycles);

	con_puts("XENKVM-TG bench ");
	con_puts(what);
	con_puts(" ");
	con_dec((unsigned int)n);
	con_puts(unit);
	con_dec((unsigned int)(cycles / n));
	con_puts(" cycles/call ");
	con_dec((unsigned int)(ns / n));
	con_puts(" ns/call\n");
}

static void bench_hcall(unsigned long n)
{
	uint64_t t0, t1;
	long bad = 0;

	t0 = rdtsc();
	for (unsigned long i = 0; i < n; i++)
		bad |= hcall2(__HYPERVISOR_xen_version, XENVER_version, NULL) != XEN_VERSION_4_17;
	t1 = rdtsc();
	if (check(!bad, "bench: every xen_version answered 4.17", (uint64_t)bad))
		bench_report("hcall", n, " calls ", t1 - t0);
}

/* The echo backend's port: bound to domain 0, and not the XenStore's. */
static evtchn_port_t find_echo_port(void)
{
	struct xen_hvm_param hp = { .domid = DOMID_SELF, .index = HVM_PARAM_STORE_EVTCHN };
	struct evtchn_status st;

	if (hcall2(__HYPERVISOR_hvm_op, HVMOP_get_param, &hp))
		hp.value = 0;
	for (evtchn_port_t p = 1; p < 64; p++)
		if (evtchn_status_port(p, &st) == 0 && st.status == EVTCHNSTAT_interdomain &&
		    st.u.interdomain.dom == 0 && p != hp.value)
			return p;
	return 0;
}

/* Waits for `p` as Linux's PV spinlock waits for its kick (xen_poll_irq on
 * a masked port): SCHEDOP_poll, so the vCPU sleeps and the backend's thread
 * gets the CPU.  Masked, as there: an unmasked port's raise is an upcall,
 * which KVM does not count as waking a poller. */
static bool echo_poll(evtchn_port_t p)
{
	struct sched_poll sp = { .nr_ports = 1, .timeout = 0 };

	set_xen_guest_handle(sp.ports, &p);
	for (int tries = 0; tries < 1000; tries++) {
		if (bit_test(shinfo.s.evtchn_pending, p))
			return true;
		if (hcall2(__HYPERVISOR_sched_op, SCHEDOP_poll, &sp))
			return false;
	}
	return bit_test(shinfo.s.evtchn_pending, p);
}

/* poll: wait with SCHEDOP_poll instead of spinning on the pending bit. */
static void bench_echo(unsigned long n, bool poll)
{
	struct xen_hvm_evtchn_upcall_vector uv = { .vcpu = 0, .vector = 0xf3 };
	evtchn_port_t p = find_echo_port();
	uint64_t t0, t1;
	unsigned long lost = 0;

	if (!check(p != 0, "bench: an echo port (xenkvmd --bench-echo)", 0))
		return;
	/* A vector upcall, so KVM may raise the port itself (interrupts stay
	 * off: the guest polls the pending bit). */
	check(hcall2(__HYPERVISOR_hvm_op, HVMOP_set_evtchn_upcall_vector, &uv) == 0,
	      "bench: per-vCPU upcall vector", 0);
	if (poll)
		bit_set(shinfo.s.evtchn_mask, p);
	else
		bit_clear(shinfo.s.evtchn_mask, p);
	t0 = rdtsc();
	for (unsigned long i = 0; i < n; i++) {
		unsigned long spins = 0;

		evtchn_ack(p);
		evtchn_send_port(p);
		if (poll) {
			lost += !echo_poll(p);
			continue;
		}
		while (!bit_test(shinfo.s.evtchn_pending, p))
			if (++spins == 100000000ul) {
				lost++;
				break;
			}
	}
	t1 = rdtsc();
	if (check(lost == 0, "bench: every echo came back", lost))
		bench_report(poll ? "echo-poll" : "echo", n, " round trips ", t1 - t0);
}
#endif

/* ---- the test sequence ------------------------------------------------------------ */

static uint32_t find_xen_leaves(void)
{
	for (uint32_t base = XEN_CPUID_FIRST_LEAF; base < XEN_CPUID_FIRST_LEAF + 0x10000; base += 0x100) {
		uint32_t a, b, c, d;

		cpuid(base, &a, &b, &c, &d);
		if (b == XEN_CPUID_SIGNATURE_EBX && c == XEN_CPUID_SIGNATURE_ECX &&
		    d == XEN_CPUID_SIGNATURE_EDX && a >= base + 2)
			return base;
	}
	return 0;
}

/* CPUID, then the hypercall page.  False if there is no page to call through. */
static bool test_identity_and_page(void)
{
	uint32_t base, a, b, c, d, stub;

#if !defined(__x86_64__)
	/* The premise of this build: entry32.S really left long mode. */
	check(!(rdmsr(0xc0000080) & (1u << 10)), "32-bit protected mode (EFER.LMA clear)", rdmsr(0xc0000080));
#endif
	base = find_xen_leaves();
	if (!check(base != 0, "cpuid: XenVMMXenVMM signature", 0))
		return false;
	check(base == XEN_CPUID_FIRST_LEAF, "cpuid: Xen leaves at 0x40000000", base);
	cpuid(base + 1, &a, &b, &c, &d);
	check(a == XEN_VERSION_4_17, "cpuid: version 4.17", a);
	cpuid(base + 2, &a, &b, &c, &d);
	check(a >= 1, "cpuid: at least one hypercall page", a);
	if (!check(b == 0x40000000, "cpuid: hypercall MSR 0x40000000", b))
		return false;

	/* Page index 0 in the low 12 bits.  A refused write is a #GP, which
	 * this guest (no IDT) turns into a triple fault the host sees. */
	wrmsr(b, (uintptr_t)hypercall_page);
	/* Every hypercall page (Xen's, KVM's, xenkvm's blobs) starts stub i
	 * with `mov $i, %eax`. */
	stub = __HYPERVISOR_event_channel_op * TG_HCALL_STUB_SIZE;
	return check(hypercall_page[stub] == 0xb8 &&
		     *(volatile uint32_t *)&hypercall_page[stub + 1] == __HYPERVISOR_event_channel_op,
		     "hypercall page filled (stub 32: mov $32, %eax)", hypercall_page[stub]);
}

static void test_version(void)
{
	struct xen_feature_info fi = { .submap_idx = 0 };
	char extra[XEN_EXTRAVERSION_LEN];
	bool terminated = false;
	long rc;

	rc = hcall2(__HYPERVISOR_xen_version, XENVER_version, NULL);
	check(rc == XEN_VERSION_4_17, "xen_version(XENVER_version) = 4.17", raw(rc));

	rc = hcall2(__HYPERVISOR_xen_version, XENVER_get_features, &fi);
	check(rc == 0 && (fi.submap & (1u << XENFEAT_hvm_callback_vector)) &&
	      (fi.submap & (1u << XENFEAT_auto_translated_physmap)),
	      "xen_version(XENVER_get_features): hvm_callback_vector, auto_translated_physmap",
	      rc ? raw(rc) : fi.submap);
	fi = (struct xen_feature_info){ .submap_idx = XENFEAT_NR_SUBMAPS };
	rc = hcall2(__HYPERVISOR_xen_version, XENVER_get_features, &fi);
	check(rc == -EINVAL, "xen_version(XENVER_get_features, submap 1) = -EINVAL", raw(rc));

	memset(extra, 0xff, sizeof(extra));
	rc = hcall2(__HYPERVISOR_xen_version, XENVER_extraversion, extra);
	for (unsigned int i = 0; i < sizeof(extra); i++)
		terminated |= extra[i] == 0;
	check(rc == 0 && terminated, "xen_version(XENVER_extraversion) writes a string", raw(rc));

	rc = hcall2(__HYPERVISOR_xen_version, 0x7777, NULL);
	check(rc == -ENOSYS, "xen_version(unknown command) = -ENOSYS", raw(rc));
}

static void test_errors(void)
{
	struct evtchn_status st;
	long rc;

	rc = tg_hcall(UNKNOWN_HYPERCALL, 0, 0, 0, 0, 0);
	check(rc == -ENOSYS, "hypercall 63 (unassigned) = -ENOSYS", raw(rc));
	rc = hcall2(__HYPERVISOR_xen_version, XENVER_extraversion, (void *)NOT_RAM_ADDR);
	check(rc == -EFAULT, "xen_version to a buffer in no RAM = -EFAULT", raw(rc));
	rc = hcall2(__HYPERVISOR_event_channel_op, EVTCHNOP_status, (void *)NOT_RAM_ADDR);
	check(rc == -EFAULT, "event_channel_op with its argument in no RAM = -EFAULT", raw(rc));
#ifdef UNMAPPED_ADDR
	rc = hcall2(__HYPERVISOR_xen_version, XENVER_extraversion, (void *)UNMAPPED_ADDR);
	check(rc == -EFAULT, "xen_version to an unmapped virtual address = -EFAULT", raw(rc));
#endif
	rc = evtchn_status_port(5000, &st);
	check(rc == -EINVAL, "evtchn status of port 5000 (beyond 2-level) = -EINVAL", raw(rc));
}

static bool test_shared_info(void)
{
	struct xen_add_to_physmap xatp = {
		.domid = DOMID_SELF,
		.space = XENMAPSPACE_shared_info,
		.idx = 0,
		.gpfn = (xen_pfn_t)((uintptr_t)&shinfo / PAGE_SIZE),
	};
	unsigned int first = 0;
	bool clear = true;
	long rc;

	/* Junk in the page: what shows through afterwards must be Xen's. */
	memset(&shinfo, 0xa5, sizeof(shinfo));
	rc = hcall2(__HYPERVISOR_memory_op, XENMEM_add_to_physmap, &xatp);
	if (!check(rc == 0, "memory_op(XENMEM_add_to_physmap, shared_info)", raw(rc)))
		return false;
	for (unsigned int i = 0; i < sizeof(shinfo.s.evtchn_pending) / sizeof(xen_ulong_t); i++) {
		if (clear && __atomic_load_n(&shinfo.s.evtchn_pending[i], __ATOMIC_SEQ_CST)) {
			clear = false;
			first = i;
		}
	}
	check(clear, "shared_info mapped: evtchn_pending clear (got: first set word)", first);

	/* Both at this word size's offsets: a host writing the other layout
	 * leaves them zero here (and scribbles elsewhere). */
	check(!(shinfo.s.wc_version & 1) && shinfo.s.wc_sec != 0, "shared_info: wallclock set (wc_sec)",
	      shinfo.s.wc_sec);
	check(!(vcpu0()->time.version & 1) && vcpu0()->time.tsc_to_system_mul != 0,
	      "vcpu_info[0]: pvclock set (tsc_to_system_mul)", vcpu0()->time.tsc_to_system_mul);
	return true;
}

static void test_event_channels(void)
{
	struct evtchn_alloc_unbound au = { .dom = DOMID_SELF, .remote_dom = DOMID_SELF };
	struct evtchn_bind_ipi ipi = { .vcpu = 0 };
	struct evtchn_bind_interdomain bi = { .remote_dom = DOMID_SELF };
	struct evtchn_unmask um;
	struct evtchn_status st;
	evtchn_port_t u, p, l;
	long rc;

	rc = evtchn_op(EVTCHNOP_alloc_unbound, &au);
	if (!check(rc == 0 && au.port != 0, "EVTCHNOP_alloc_unbound", rc ? raw(rc) : au.port))
		return;
	u = au.port;
	rc = evtchn_status_port(u, &st);
	check(rc == 0 && st.status == EVTCHNSTAT_unbound, "EVTCHNOP_status: unbound", rc ? raw(rc) : st.status);

	rc = evtchn_op(EVTCHNOP_bind_ipi, &ipi);
	if (!check(rc == 0 && ipi.port != 0 && ipi.port != u, "EVTCHNOP_bind_ipi", rc ? raw(rc) : ipi.port))
		return;
	p = ipi.port;
	rc = evtchn_status_port(p, &st);
	check(rc == 0 && st.status == EVTCHNSTAT_ipi && st.vcpu == 0, "EVTCHNOP_status: ipi on vCPU 0",
	      rc ? raw(rc) : st.status);

	/* Unmasked send: pending, selector and upcall flag, as event_channel.h
	 * describes 2-level delivery. */
	bit_clear(shinfo.s.evtchn_mask, p);
	evtchn_ack(p);
	rc = evtchn_send_port(p);
	check(rc == 0 && bit_test(shinfo.s.evtchn_pending, p), "EVTCHNOP_send: ipi port pending",
	      rc ? raw(rc) : 0);
	check(selector_set(p) && upcall_pending() == 1, "EVTCHNOP_send: selector bit and upcall_pending set",
	      vcpu0()->evtchn_pending_sel);

	/* Masked send: pending only; the unmask delivers it. */
	bit_set(shinfo.s.evtchn_mask, p);
	evtchn_ack(p);
	rc = evtchn_send_port(p);
	check(rc == 0 && bit_test(shinfo.s.evtchn_pending, p) && !selector_set(p) && !upcall_pending(),
	      "EVTCHNOP_send on a masked port: pending, no selector, no upcall",
	      rc ? raw(rc) : vcpu0()->evtchn_pending_sel);
	um.port = p;
	rc = evtchn_op(EVTCHNOP_unmask, &um);
	check(rc == 0 && !bit_test(shinfo.s.evtchn_mask, p) && selector_set(p) && upcall_pending() == 1,
	      "EVTCHNOP_unmask of a pending port: unmasked, selector and upcall_pending set",
	      rc ? raw(rc) : vcpu0()->evtchn_pending_sel);

	/* A loopback interdomain pair with the unbound port. */
	bi.remote_port = u;
	rc = evtchn_op(EVTCHNOP_bind_interdomain, &bi);
	if (check(rc == 0 && bi.local_port != 0, "EVTCHNOP_bind_interdomain to our own unbound port",
		  rc ? raw(rc) : bi.local_port)) {
		l = bi.local_port;
		rc = evtchn_status_port(u, &st);
		check(rc == 0 && st.status == EVTCHNSTAT_interdomain && st.u.interdomain.port == l,
		      "EVTCHNOP_status: unbound port now interdomain, peer = the new port",
		      rc ? raw(rc) : st.status);
		evtchn_ack(u);
		rc = evtchn_send_port(l);
		check(rc == 0 && bit_test(shinfo.s.evtchn_pending, u), "EVTCHNOP_send: the peer port pending",
		      raw(rc));
		rc = evtchn_close_port(l);
		check(rc == 0, "EVTCHNOP_close: interdomain port", raw(rc));
	}

	rc = evtchn_close_port(p);
	check(rc == 0 && !bit_test(shinfo.s.evtchn_pending, p), "EVTCHNOP_close: ipi port, pending cleared",
	      raw(rc));
	rc = evtchn_status_port(p, &st);
	check(rc == 0 && st.status == EVTCHNSTAT_closed, "EVTCHNOP_status: closed", rc ? raw(rc) : st.status);
	rc = evtchn_close_port(p);
	check(rc == -EINVAL, "EVTCHNOP_close of a closed port = -EINVAL", raw(rc));
	rc = evtchn_send_port(p);
	check(rc == -EINVAL, "EVTCHNOP_send on a closed port = -EINVAL", raw(rc));
	rc = evtchn_close_port(u);
	check(rc == 0, "EVTCHNOP_close: the other port", raw(rc));
}

static void __attribute__((noreturn)) shutdown(bool passed)
{
	struct sched_shutdown sd = { .reason = passed ? SHUTDOWN_poweroff : SHUTDOWN_crash };
	long rc;

	rc = hcall2(__HYPERVISOR_sched_op, SCHEDOP_shutdown, &sd);
	/* Still here: say so, and power off through ACPI instead. */
	con_puts("XENKVM-TG FAIL SCHEDOP_shutdown returned ");
	con_hex(raw(rc));
	con_puts("\n");
	outw(ACPI_PM1A_CNT, SLP_TYP_S5 | SLP_EN);
	for (;;)
		__asm__ volatile("hlt");
}

/* HYPERVISOR_console_io(CONSOLEIO_write): xenkvmd logs it as the guest's
 * debug console (what Xen's test kernels print through). */
static void test_console_io(void)
{
	static const char msg[] = "XENKVM-TG console_io " TG_MODE "\n";
	long rc = tg_hcall(__HYPERVISOR_console_io, CONSOLEIO_write, sizeof(msg) - 1,
			   (unsigned long)msg, 0, 0);

	check(rc == 0, "console_io write", raw(rc));
}

#if defined(__x86_64__)
/* tgcount=1 (kvm/'s save and load, tests/system/machine-state-roundtrip):
 * no Xen at all, just "XENKVM-TG count N" lines on COM1 for ever, the
 * counter in RAM, a pause between lines. */
static volatile unsigned int tg_counter;

static void count_forever(void)
{
	for (;;) {
		tg_counter++;
		con_puts("XENKVM-TG count ");
		con_dec(tg_counter);
		con_puts("\n");
		for (volatile unsigned long i = 0; i < 20000; i++)
			;
	}
}
#endif

void tg_main(void)
{
	bool page;

	con_puts("XENKVM-TG start " TG_MODE "\n");
#if defined(__x86_64__)
	if (cmdline_number("tgcount"))
		count_forever();
#endif
	page = test_identity_and_page();
	if (page) {
		test_version();
		test_console_io();
		test_errors();
		if (test_shared_info()) {
#if defined(__x86_64__)
			unsigned long n;

			if ((n = cmdline_number("tgbench")))
				bench_hcall(n);
			if ((n = cmdline_number("tgecho")))
				bench_echo(n, false);
			if ((n = cmdline_number("tgechopoll")))
				bench_echo(n, true);
#endif
			test_event_channels();
		}
	}
	if (checks_failed == 0 && page) {
		con_puts("XENKVM-TG PASS ");
		con_dec(checks_run);
		con_puts(" checks\n");
		shutdown(true);
	}
	con_puts("XENKVM-TG FAIL ");
	con_dec(checks_failed);
	con_puts(" of ");
	con_dec(checks_run);
	con_puts(" checks\n");
	if (!page) {
		/* No hypercall page to shut down through. */
		outw(ACPI_PM1A_CNT, SLP_TYP_S5 | SLP_EN);
		for (;;)
			__asm__ volatile("hlt");
	}
	shutdown(false);
}
