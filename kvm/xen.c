/*
 * KVM's side of the Xen personality (see include/xenkvm/xen_kvm.h).
 *
 * Threads: hypercalls run on the calling vCPU's thread; timers fire on the
 * daemon's event loop.  Everything KVM-specific that xen-compat asks for
 * through struct xen_vmm_ops lands here.  KVM vCPU ioctls may only be made
 * from the vCPU's own thread without stalling (a vCPU ioctl from elsewhere
 * waits until that vCPU leaves KVM_RUN, which for an AP waiting for SIPI is
 * never), so per-vCPU attributes are queued and applied by the vCPU itself
 * before it next enters the guest.
 *
 * In-kernel fast paths (KVM_XEN_HVM_CONFIG_EVTCHN_SEND, intercept path only,
 * off with --no-kernel-fastpaths): KVM takes the guest's EVTCHNOP_send on a
 * backend's port and signals an eventfd the I/O thread polls (no vCPU exit);
 * KVM_XEN_HVM_EVTCHN_SEND raises ports for vCPUs whose vector KVM knows; and
 * KVM runs each vCPU's one-shot Xen timer once VIRQ_TIMER is bound.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "xenkvm/acpi.h"
#include "xenkvm/clock.h"
#include "xenkvm/event_loop.h"
#include "xenkvm/hypercall.h"
#include "xenkvm/hypercall_page.h"
#include "xenkvm/kvm_probe.h"
#include "xenkvm/log.h"
#include "xenkvm/vcpu.h"
#include "xenkvm/vm.h"
#include "xenkvm/xen_cpuid.h"
#include "xenkvm/xen_domain.h"
#include "xenkvm/xen_kvm.h"

#define XEN_VCPU_INFO_SIZE 64   /* struct vcpu_info, both ABIs */
#define XEN_LEGACY_VCPUS   32   /* vcpu_info slots inside shared_info */
/* A blocked vCPU re-checks this often: KVM injects some interrupts itself,
 * out of xen-compat's sight. */
#define XEN_BLOCK_RECHECK_NS (5 * 1000 * 1000)
/* console_io lines logged per 5 s: a debug console's boot chatter fits,
 * a guest looping on it does not fill the disk. */
#define XEN_CONSOLE_LOG_BURST 100

enum {
	PENDING_VCPU_INFO = 1u << 0,
	PENDING_TIME_INFO = 1u << 1,
	PENDING_RUNSTATE  = 1u << 2,
	PENDING_UPCALL_VECTOR = 1u << 3,
	PENDING_TIMER = 1u << 4,
};

#define XEN_KVM_FAST_PORTS 256   /* = EVTCHN_BE_MAX_PORTS: one slot per backend port */

struct xen_kvm_vcpu {
	struct xen_kvm *x;
	unsigned int id;
	struct event_timer *timer;
	/* attributes for this vCPU's own thread to hand to KVM */
	unsigned int pending;
	uint64_t vcpu_info_gpa, time_info_gpa, runstate_gpa;
	uint8_t upcall_vector;         /* wanted per-vCPU vector (fast paths) */
	uint32_t timer_port;           /* wanted VIRQ_TIMER port for KVM's timer */
	bool vcpu_info_registered;
	/* what KVM has applied (written by the vCPU thread, read by any) */
	uint8_t kernel_upcall_vector;
};

/* A backend port whose guest sends KVM turns into an eventfd signal. */
struct xen_kvm_fast_port {
	struct xen_kvm *x;
	int efd;                       /* -1 until first used; kept until destroy */
	bool active;
	uint32_t guest_port, be_port;
	void (*fn)(void *opaque, uint32_t be_port);
	void *opaque;
};

struct xen_kvm {
	struct vm *vm;
	struct xen_domain *dom;
	enum xen_hcall_path path;
	uint32_t caps;                 /* KVM_CAP_XEN_HVM flags */
	bool kernel_accel;
	bool fast;                     /* in-kernel event-channel/timer fast paths */
	bool shinfo_in_kernel;         /* KVM has the shared_info gfn */
	uint8_t cb_vector;             /* domain-wide callback vector, 0 = none */
	struct xen_kvm_vcpu *vcpus;

	/* GSI/INTx callback: a resampling irqfd, so the line drops at the
	 * guest's EOI and we hear of it (no polling of evtchn_upcall_pending). */
	int cb_gsi;                    /* -1: none yet */
	int cb_irqfd, cb_resamplefd;
	struct event_loop *loop;

	/* Guest TSC = host TSC + tsc_offset (KVM gives every vCPU the same
	 * offset at creation); learnt on a vCPU thread, used from any. */
	bool tsc_offset_known;
	uint64_t tsc_offset;

	pthread_mutex_t lock;          /* pending attrs, wake generation, fast ports */
	pthread_cond_t wake;
	uint64_t wake_gen;

	struct xen_kvm_fast_port fports[XEN_KVM_FAST_PORTS];
	uint64_t fast_sends, fast_raises, fast_ipis;   /* statistics (logged at exit) */
	uint64_t timer_fired;               /* userspace Xen timer expiries */

	char con_line[200];            /* console_io text up to its newline */
	size_t con_len;
};

const char *xen_hcall_path_name(enum xen_hcall_path p)
{
	switch (p) {
	case XEN_PATH_INTERCEPT: return "kernel intercept (KVM_EXIT_XEN)";
	case XEN_PATH_BLOB:      return "kernel blob copy (KVM_XEN_HVM_CONFIG blobs, port-I/O stubs)";
	case XEN_PATH_MSR:       return "userspace MSR exit (our hypercall page, port-I/O stubs)";
	default:                 return "auto";
	}
}

enum xen_hcall_path xen_kvm_path(const struct xen_kvm *x)
{
	return x->path;
}

struct xen_domain *xen_kvm_domain(struct xen_kvm *x)
{
	return x->dom;
}

/* ---- KVM attribute helpers ------------------------------------------------ */

static int xen_kvm_vm_attr(struct xen_kvm *x, struct kvm_xen_hvm_attr *a)
{
	if (ioctl(x->vm->vm_fd, KVM_XEN_HVM_SET_ATTR, a) < 0) {
		int err = errno;

		pr_warn_rl("KVM_XEN_HVM_SET_ATTR type %u: %s", a->type, strerror(err));
		return -err;
	}
	return 0;
}

static int xen_kvm_vcpu_set(struct xen_kvm *x, unsigned int vcpu, struct kvm_xen_vcpu_attr *a)
{
	if (ioctl(x->vm->vcpus[vcpu]->fd, KVM_XEN_VCPU_SET_ATTR, a) < 0) {
		int err = errno;

		pr_warn_rl("vCPU %u: KVM_XEN_VCPU_SET_ATTR type %u: %s", vcpu, a->type, strerror(err));
		return -err;
	}
	return 0;
}

static void xen_kvm_vcpu_attr(struct xen_kvm *x, unsigned int vcpu, uint16_t type, uint64_t gpa)
{
	struct kvm_xen_vcpu_attr a = { .type = type, .u.gpa = gpa };

	xen_kvm_vcpu_set(x, vcpu, &a);
}

/* Queue an attribute for `vcpu`'s own thread and make it come round. */
static void xen_kvm_queue(struct xen_kvm *x, unsigned int vcpu, unsigned int what, uint64_t gpa)
{
	struct xen_kvm_vcpu *v = &x->vcpus[vcpu];

	pthread_mutex_lock(&x->lock);
	if (what == PENDING_VCPU_INFO)
		v->vcpu_info_gpa = gpa;
	else if (what == PENDING_TIME_INFO)
		v->time_info_gpa = gpa;
	else if (what == PENDING_RUNSTATE)
		v->runstate_gpa = gpa;
	else if (what == PENDING_UPCALL_VECTOR)
		v->upcall_vector = (uint8_t)gpa;
	else
		v->timer_port = (uint32_t)gpa;
	__atomic_or_fetch(&v->pending, what, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&x->lock);
	vcpu_kick(x->vm->vcpus[vcpu]);
}

/* vm->pre_run_hook: runs on the vCPU's thread before each KVM_RUN. */
static void xen_kvm_pre_run(void *opaque, struct vcpu *vcpu)
{
	struct xen_kvm *x = opaque;
	struct xen_kvm_vcpu *v = &x->vcpus[vcpu->id];
	unsigned int pending;
	uint64_t vi, ti, rs;
	uint8_t vector;
	uint32_t timer_port;

	if (!__atomic_load_n(&v->pending, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&x->lock);
	pending = v->pending;
	v->pending = 0;
	vi = v->vcpu_info_gpa;
	ti = v->time_info_gpa;
	rs = v->runstate_gpa;
	vector = v->upcall_vector;
	timer_port = v->timer_port;
	pthread_mutex_unlock(&x->lock);
	if (pending & PENDING_VCPU_INFO)
		xen_kvm_vcpu_attr(x, vcpu->id, KVM_XEN_VCPU_ATTR_TYPE_VCPU_INFO, vi);
	if (pending & PENDING_TIME_INFO)
		xen_kvm_vcpu_attr(x, vcpu->id, KVM_XEN_VCPU_ATTR_TYPE_VCPU_TIME_INFO, ti);
	if (pending & PENDING_RUNSTATE)
		xen_kvm_vcpu_attr(x, vcpu->id, KVM_XEN_VCPU_ATTR_TYPE_RUNSTATE_ADDR, rs);
	/* The vector before the timer: KVM's first timer event must find it. */
	if (pending & PENDING_UPCALL_VECTOR) {
		struct kvm_xen_vcpu_attr a = { .type = KVM_XEN_VCPU_ATTR_TYPE_UPCALL_VECTOR,
					       .u.vector = vector };

		/* Until this succeeds, raises for this vCPU stay in userspace. */
		if (xen_kvm_vcpu_set(x, vcpu->id, &a) == 0)
			__atomic_store_n(&v->kernel_upcall_vector, vector, __ATOMIC_RELEASE);
	}
	if (pending & PENDING_TIMER) {
		struct kvm_xen_vcpu_attr a = { .type = KVM_XEN_VCPU_ATTR_TYPE_TIMER };

		/* Port 0 stops KVM's timer and sends set_singleshot back to us. */
		a.u.timer.port = timer_port;
		a.u.timer.priority = timer_port ? KVM_IRQ_ROUTING_XEN_EVTCHN_PRIO_2LEVEL : 0;
		xen_kvm_vcpu_set(x, vcpu->id, &a);
		pr_debug_rl("vCPU %u: Xen timer %s", vcpu->id,
			    timer_port ? "run by KVM" : "back in userspace");
	}
}

/* ---- struct xen_vmm_ops ----------------------------------------------------- */

static int ops_gva_to_gpa(void *opaque, unsigned int vcpu, uint64_t gva, uint64_t *gpa_r)
{
	struct xen_kvm *x = opaque;
	struct kvm_translation t = { .linear_address = gva };

	if (ioctl(x->vm->vcpus[vcpu]->fd, KVM_TRANSLATE, &t) < 0 || !t.valid)
		return -EFAULT;
	*gpa_r = t.physical_address;
	return 0;
}

static void ops_inject_vector(void *opaque, unsigned int vcpu, uint8_t vector)
{
	struct xen_kvm *x = opaque;
	int rc;

	pr_trace(TRACE_EVTCHN, "vCPU %u: upcall vector %#x%s", vcpu, vector,
		 x->kernel_accel && vector == x->cb_vector ? " (KVM injects)" : " (MSI)");
	if (x->kernel_accel && vector == x->cb_vector) {
		/* KVM injects the domain-wide callback itself, the way Xen does
		 * (no LAPIC ISR bit the guest would never EOI): just make the
		 * vCPU look at evtchn_upcall_pending again. */
		vcpu_kick(x->vm->vcpus[vcpu]);
		return;
	}
	/* Fixed delivery, edge */
	rc = vm_msi_to_vcpu(x->vm, vcpu, vector);
	if (rc)
		pr_err_rl("KVM_SIGNAL_MSI vector %#x to vCPU %u: %s", vector, vcpu, strerror(-rc));
}

static void xen_kvm_resampled(void *opaque, uint32_t events)
{
	struct xen_kvm *x = opaque;
	uint64_t v;

	(void)events;
	if (read(x->cb_resamplefd, &v, sizeof(v)) == sizeof(v))
		xen_evtchn_callback_check(x->dom);
}

/* Sets up the resampling irqfd for `gsi`; false if KVM refused (then the
 * line is driven with KVM_IRQ_LINE and lowered on vCPU 0's exits). */
static bool xen_kvm_cb_irqfd(struct xen_kvm *x, unsigned int gsi)
{
	struct kvm_irqfd fd = { .gsi = gsi, .flags = KVM_IRQFD_FLAG_RESAMPLE };

	if (x->cb_gsi == (int)gsi)
		return x->cb_irqfd >= 0;
	if (x->cb_gsi >= 0)
		return false;   /* the guest moved its callback GSI: keep it simple */
	x->cb_gsi = (int)gsi;
	x->cb_irqfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	x->cb_resamplefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (x->cb_irqfd < 0 || x->cb_resamplefd < 0)
		goto fail;
	fd.fd = (uint32_t)x->cb_irqfd;
	fd.resamplefd = (uint32_t)x->cb_resamplefd;
	if (ioctl(x->vm->vm_fd, KVM_IRQFD, &fd) < 0) {
		pr_warn_rl("KVM_IRQFD with resample for the callback GSI %u: %s", gsi, strerror(errno));
		goto fail;
	}
	if (event_loop_add(x->loop, x->cb_resamplefd, EPOLLIN, xen_kvm_resampled, x))
		goto fail;
	return true;
fail:
	if (x->cb_irqfd >= 0)
		close(x->cb_irqfd);
	if (x->cb_resamplefd >= 0)
		close(x->cb_resamplefd);
	x->cb_irqfd = x->cb_resamplefd = -1;
	return false;
}

static void ops_set_gsi(void *opaque, unsigned int gsi, bool level)
{
	struct xen_kvm *x = opaque;
	uint64_t one = 1;

	if (xen_kvm_cb_irqfd(x, gsi)) {
		/* Asserting is a write; KVM lowers the line itself at EOI and
		 * tells us through the resample fd, where we re-check. */
		if (level && write(x->cb_irqfd, &one, sizeof(one)) < 0)
			pr_err_rl("callback GSI %u: %s", gsi, strerror(errno));
		return;
	}
	vm_set_irq(x->vm, gsi, level);
}

static int ops_pci_intx_to_gsi(void *opaque, uint16_t segment, uint8_t bus, uint8_t devfn, uint8_t pin)
{
	(void)opaque;
	if (segment || bus || pin > 3)
		return -1;
	return acpi_pci_intx_gsi(devfn >> 3, pin);
}

static void ops_kick_vcpu(void *opaque, unsigned int vcpu)
{
	struct xen_kvm *x = opaque;

	pthread_mutex_lock(&x->lock);
	x->wake_gen++;
	pthread_cond_broadcast(&x->wake);
	pthread_mutex_unlock(&x->lock);
	(void)vcpu;
}

/* Xen system time.  With KVM keeping pvclock it must be KVM's clock, the
 * one the guest reads, or timer deadlines would drift against it. */
static uint64_t ops_now_ns(void *opaque)
{
	struct xen_kvm *x = opaque;
	struct kvm_clock_data c = { 0 };

	if (ioctl(x->vm->vm_fd, KVM_GET_CLOCK, &c) == 0)
		return c.clock;
	return clock_mono_ns();
}

/* Userspace pvclock: a (guest TSC, system time) pair.  A vCPU's MSRs can
 * only be read on its own thread without stalling, so other threads
 * extrapolate from the host TSC with the offset learnt there. */
static int ops_read_tsc(void *opaque, unsigned int vcpu, uint64_t *tsc_r, uint64_t *ns_r)
{
	struct xen_kvm *x = opaque;
	struct vcpu *self = vcpu_current();
	union {
		struct kvm_msrs hdr;
		uint8_t buf[sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)];
	} m = { .hdr.nmsrs = 1 };

	(void)vcpu;
	if (self && self->vm == x->vm) {
		uint64_t host = __builtin_ia32_rdtsc();

		m.hdr.entries[0].index = 0x10;   /* IA32_TSC */
		if (ioctl(self->fd, KVM_GET_MSRS, &m) != 1)
			return -EIO;
		x->tsc_offset = m.hdr.entries[0].data - host;
		__atomic_store_n(&x->tsc_offset_known, true, __ATOMIC_RELEASE);
		*tsc_r = m.hdr.entries[0].data;
	} else if (__atomic_load_n(&x->tsc_offset_known, __ATOMIC_ACQUIRE)) {
		*tsc_r = __builtin_ia32_rdtsc() + x->tsc_offset;
	} else {
		return -EAGAIN;
	}
	*ns_r = ops_now_ns(x);
	return 0;
}

static void ops_timer_arm(void *opaque, unsigned int vcpu, uint64_t deadline_ns)
{
	struct xen_kvm *x = opaque;
	uint64_t mono = 0;

	if (deadline_ns) {
		uint64_t now = ops_now_ns(x);

		mono = clock_mono_ns() + (deadline_ns > now ? deadline_ns - now : 0);
		pr_trace(TRACE_EVTCHN, "vCPU %u: timer at %llu, now %llu (in %lld us)", vcpu,
			 (unsigned long long)deadline_ns, (unsigned long long)now,
			 (long long)(deadline_ns - now) / 1000);
	}
	if (event_timer_arm(x->vcpus[vcpu].timer, mono))
		pr_err_rl("vCPU %u: arming the Xen timer failed", vcpu);
}

static void xen_kvm_timer_fired(void *opaque, uint32_t events)
{
	struct xen_kvm_vcpu *v = opaque;

	(void)events;
	__atomic_fetch_add(&v->x->timer_fired, 1, __ATOMIC_RELAXED);
	pr_trace(TRACE_EVTCHN, "vCPU %u: timer fired", v->id);
	xen_vcpu_timer_expired(v->x->dom, v->id);
}

static void ops_shutdown(void *opaque, enum xen_shutdown_reason reason, unsigned int code)
{
	struct xen_kvm *x = opaque;

	switch (reason) {
	case XEN_SHUTDOWN_POWEROFF:
		vm_request_stop(x->vm, VM_EXIT_POWEROFF, "guest powered off (SCHEDOP_shutdown)");
		break;
	case XEN_SHUTDOWN_REBOOT:
	case XEN_SHUTDOWN_SOFT_RESET:
		vm_request_stop(x->vm, VM_EXIT_REBOOT, "guest rebooted (SCHEDOP_shutdown code %u)", code);
		break;
	default:
		vm_request_stop(x->vm, VM_EXIT_CRASH, "guest crashed (SCHEDOP_shutdown code %u)", code);
		break;
	}
}

static int ops_map_page(void *opaque, uint64_t gfn, void *hva)
{
	struct xen_kvm *x = opaque;

	return vm_map_page(x->vm, gfn, hva);
}

static void ops_ram_discard(void *opaque, uint64_t gpa, uint64_t len)
{
	struct xen_kvm *x = opaque;
	int rc = vm_ram_discard(x->vm, gpa, len);

	if (rc)
		pr_warn_rl("balloon: cannot free guest RAM %#llx+%#llx: %s",
			   (unsigned long long)gpa, (unsigned long long)len, strerror(-rc));
}

static void console_line_flush(struct xen_kvm *x)
{
	if (!x->con_len)
		return;
	pr_ratelimited_burst(LOG_INFO, XEN_CONSOLE_LOG_BURST, "guest console_io: %.*s",
			     (int)x->con_len, x->con_line);
	x->con_len = 0;
}

/* One log line per guest line, control bytes shown as '?': a guest can
 * neither forge our lines' prefixes nor flood the log.  Called under the
 * domain lock (from the hypercall). */
static void ops_console_write(void *opaque, const char *buf, size_t len)
{
	struct xen_kvm *x = opaque;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (c == '\n') {
			console_line_flush(x);
			continue;
		}
		if (c == '\r')
			continue;
		x->con_line[x->con_len++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
		if (x->con_len == sizeof(x->con_line))
			console_line_flush(x);
	}
}

static void ops_long_mode_set(void *opaque, bool long_mode)
{
	struct xen_kvm *x = opaque;
	struct kvm_xen_hvm_attr a = { .type = KVM_XEN_ATTR_TYPE_LONG_MODE, .u.long_mode = long_mode };

	if (x->kernel_accel)
		xen_kvm_vm_attr(x, &a);
}

static void ops_shared_info_set(void *opaque, uint64_t gfn)
{
	struct xen_kvm *x = opaque;
	struct kvm_xen_hvm_attr a = { .type = KVM_XEN_ATTR_TYPE_SHARED_INFO, .u.shared_info.gfn = gfn };

	if (!x->kernel_accel)
		return;
	__atomic_store_n(&x->shinfo_in_kernel, xen_kvm_vm_attr(x, &a) == 0, __ATOMIC_RELEASE);
	/* KVM reads evtchn_upcall_pending (and writes pvclock) only through a
	 * registered vcpu_info: point the legacy ones into shared_info. */
	for (unsigned int i = 0; i < x->vm->nr_vcpus && i < XEN_LEGACY_VCPUS; i++)
		if (!x->vcpus[i].vcpu_info_registered)
			xen_kvm_queue(x, i, PENDING_VCPU_INFO,
				      (gfn << GUEST_PAGE_SHIFT) + i * XEN_VCPU_INFO_SIZE);
}

static void ops_vcpu_info_set(void *opaque, unsigned int vcpu, uint64_t gpa)
{
	struct xen_kvm *x = opaque;

	x->vcpus[vcpu].vcpu_info_registered = true;
	if (x->kernel_accel)
		xen_kvm_queue(x, vcpu, PENDING_VCPU_INFO, gpa);
}

static void ops_vcpu_time_info_set(void *opaque, unsigned int vcpu, uint64_t gpa)
{
	struct xen_kvm *x = opaque;

	if (x->kernel_accel)
		xen_kvm_queue(x, vcpu, PENDING_TIME_INFO, gpa);
}

static void ops_runstate_set(void *opaque, unsigned int vcpu, uint64_t gpa)
{
	struct xen_kvm *x = opaque;

	if (x->kernel_accel && (x->caps & KVM_XEN_HVM_CONFIG_RUNSTATE))
		xen_kvm_queue(x, vcpu, PENDING_RUNSTATE, gpa);
}

static void ops_callback_vector_set(void *opaque, uint8_t vector)
{
	struct xen_kvm *x = opaque;
	struct kvm_xen_hvm_attr a = { .type = KVM_XEN_ATTR_TYPE_UPCALL_VECTOR, .u.vector = vector };

	x->cb_vector = vector;
	if (x->kernel_accel)
		xen_kvm_vm_attr(x, &a);
	else if (vector)
		pr_warn_rl("guest uses the domain-wide callback vector %#x without kernel Xen support: "
			   "delivered through the LAPIC, which such a guest may not acknowledge", vector);
}

/* ---- in-kernel fast paths ---------------------------------------------------- */

static void ops_upcall_vector_set(void *opaque, unsigned int vcpu, uint8_t vector)
{
	struct xen_kvm *x = opaque;

	/* Only KVM's own deliveries (fast raises, its timer) use it. */
	if (x->fast)
		xen_kvm_queue(x, vcpu, PENDING_UPCALL_VECTOR, vector);
}

static void ops_timer_virq_set(void *opaque, unsigned int vcpu, uint32_t port)
{
	struct xen_kvm *x = opaque;

	if (x->fast)
		xen_kvm_queue(x, vcpu, PENDING_TIMER, port);
}

/* I/O thread: KVM signalled a backend port's eventfd for a guest send. */
static void xen_kvm_fast_port_fired(void *opaque, uint32_t events)
{
	struct xen_kvm_fast_port *fp = opaque;
	struct xen_kvm *x = fp->x;
	void (*fn)(void *, uint32_t) = NULL;
	void *fn_opaque = NULL;
	uint32_t be_port = 0;
	uint64_t n;

	(void)events;
	if (read(fp->efd, &n, sizeof(n)) != sizeof(n))
		return;
	pthread_mutex_lock(&x->lock);
	if (fp->active) {
		fn = fp->fn;
		fn_opaque = fp->opaque;
		be_port = fp->be_port;
		x->fast_sends++;
	}
	pthread_mutex_unlock(&x->lock);
	/* As for a send that exits: no xen-compat lock held. */
	if (fn)
		fn(fn_opaque, be_port);
}

static int xen_kvm_evtchn_attr(struct xen_kvm *x, uint32_t guest_port, uint32_t flags, int efd)
{
	struct kvm_xen_hvm_attr a = { .type = KVM_XEN_ATTR_TYPE_EVTCHN };

	a.u.evtchn.send_port = guest_port;
	a.u.evtchn.type = EVTCHNSTAT_interdomain;
	a.u.evtchn.flags = flags;
	a.u.evtchn.deliver.eventfd.port = 0;   /* 0: an eventfd, not a guest port */
	a.u.evtchn.deliver.eventfd.fd = efd;
	return xen_kvm_vm_attr(x, &a);
}

static int ops_evtchn_fast_bind(void *opaque, uint32_t port, uint32_t be_port,
				void (*fn)(void *, uint32_t), void *fn_opaque)
{
	struct xen_kvm *x = opaque;
	struct xen_kvm_fast_port *fp;
	int rc;

	if (!x->fast || be_port >= XEN_KVM_FAST_PORTS)
		return -EOPNOTSUPP;
	fp = &x->fports[be_port];
	if (fp->efd < 0) {
		int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

		if (efd < 0)
			return -errno;
		fp->x = x;
		fp->efd = efd;
		rc = event_loop_add(x->loop, efd, EPOLLIN, xen_kvm_fast_port_fired, fp);
		if (rc) {
			close(efd);
			fp->efd = -1;
			return rc;
		}
	}
	rc = xen_kvm_evtchn_attr(x, port, 0, fp->efd);
	if (rc)
		return rc;
	pthread_mutex_lock(&x->lock);
	fp->active = true;
	fp->guest_port = port;
	fp->be_port = be_port;
	fp->fn = fn;
	fp->opaque = fn_opaque;
	pthread_mutex_unlock(&x->lock);
	pr_trace(TRACE_EVTCHN, "evtchn: guest port %u -> backend port %u sent through KVM (eventfd %d)",
		 port, be_port, fp->efd);
	return 0;
}

/* Whether KVM, raising an event on `vcpu`, injects what xen-compat would:
 * shared_info and every attribute queued for the vCPU applied, and the
 * vector it injects (the vCPU's own, else the domain-wide one) the one the
 * guest asked for. */
static bool xen_kvm_delivers_like_us(struct xen_kvm *x, unsigned int vcpu)
{
	struct xen_kvm_vcpu *v = &x->vcpus[vcpu];
	uint8_t want, have;

	if (!__atomic_load_n(&x->shinfo_in_kernel, __ATOMIC_ACQUIRE) ||
	    __atomic_load_n(&v->pending, __ATOMIC_ACQUIRE))
		return false;
	pthread_mutex_lock(&x->lock);
	want = v->upcall_vector;
	pthread_mutex_unlock(&x->lock);
	have = __atomic_load_n(&v->kernel_upcall_vector, __ATOMIC_ACQUIRE);
	return want ? want == have : x->cb_vector != 0;
}

static int ops_evtchn_fast_ipi(void *opaque, uint32_t port, unsigned int vcpu)
{
	struct xen_kvm *x = opaque;
	struct kvm_xen_hvm_attr a = { .type = KVM_XEN_ATTR_TYPE_EVTCHN };
	int rc;

	if (!x->fast || vcpu >= x->vm->nr_vcpus)
		return -EOPNOTSUPP;
	if (!xen_kvm_delivers_like_us(x, vcpu))
		return -EAGAIN;
	a.u.evtchn.send_port = port;
	a.u.evtchn.type = EVTCHNSTAT_ipi;
	a.u.evtchn.deliver.port.port = port;
	a.u.evtchn.deliver.port.vcpu = vcpu;
	a.u.evtchn.deliver.port.priority = KVM_IRQ_ROUTING_XEN_EVTCHN_PRIO_2LEVEL;
	rc = xen_kvm_vm_attr(x, &a);
	if (rc)
		return rc;
	__atomic_fetch_add(&x->fast_ipis, 1, __ATOMIC_RELAXED);
	return 0;
}

/* A backend's port (ours, with its eventfd) or an IPI port (KVM's alone). */
static void ops_evtchn_fast_unbind(void *opaque, uint32_t port)
{
	struct xen_kvm *x = opaque;

	for (unsigned int i = 0; i < XEN_KVM_FAST_PORTS; i++) {
		struct xen_kvm_fast_port *fp = &x->fports[i];

		if (!fp->active || fp->guest_port != port)
			continue;
		xen_kvm_evtchn_attr(x, port, KVM_XEN_EVTCHN_DEASSIGN, -1);
		pthread_mutex_lock(&x->lock);
		fp->active = false;
		pthread_mutex_unlock(&x->lock);
		pr_trace(TRACE_EVTCHN, "evtchn: guest port %u back from KVM", port);
		return;
	}
	xen_kvm_evtchn_attr(x, port, KVM_XEN_EVTCHN_DEASSIGN, -1);
	pr_trace(TRACE_EVTCHN, "evtchn: IPI port %u back from KVM", port);
}

static int ops_evtchn_raise(void *opaque, uint32_t port, unsigned int vcpu)
{
	struct xen_kvm *x = opaque;
	struct kvm_irq_routing_xen_evtchn e = {
		.port = port, .vcpu = vcpu, .priority = KVM_IRQ_ROUTING_XEN_EVTCHN_PRIO_2LEVEL,
	};

	if (!x->fast || vcpu >= x->vm->nr_vcpus)
		return -EOPNOTSUPP;
	if (!xen_kvm_delivers_like_us(x, vcpu))
		return -EAGAIN;
	if (ioctl(x->vm->vm_fd, KVM_XEN_HVM_EVTCHN_SEND, &e) < 0) {
		int err = errno;

		pr_warn_rl("KVM_XEN_HVM_EVTCHN_SEND port %u vCPU %u: %s", port, vcpu, strerror(err));
		return -err;
	}
	__atomic_fetch_add(&x->fast_raises, 1, __ATOMIC_RELAXED);
	return 0;
}

static const struct xen_vmm_ops xen_kvm_ops = {
	.gva_to_gpa = ops_gva_to_gpa,
	.inject_vector = ops_inject_vector,
	.set_gsi = ops_set_gsi,
	.pci_intx_to_gsi = ops_pci_intx_to_gsi,
	.kick_vcpu = ops_kick_vcpu,
	.now_ns = ops_now_ns,
	.timer_arm = ops_timer_arm,
	.read_tsc = ops_read_tsc,
	.shutdown = ops_shutdown,
	.map_page = ops_map_page,
	.ram_discard = ops_ram_discard,
	.console_write = ops_console_write,
	.long_mode_set = ops_long_mode_set,
	.shared_info_set = ops_shared_info_set,
	.vcpu_info_set = ops_vcpu_info_set,
	.vcpu_time_info_set = ops_vcpu_time_info_set,
	.runstate_set = ops_runstate_set,
	.callback_vector_set = ops_callback_vector_set,
	.upcall_vector_set = ops_upcall_vector_set,
	.evtchn_fast_bind = ops_evtchn_fast_bind,
	.evtchn_fast_unbind = ops_evtchn_fast_unbind,
	.evtchn_fast_ipi = ops_evtchn_fast_ipi,
	.evtchn_raise = ops_evtchn_raise,
	.timer_virq_set = ops_timer_virq_set,
};

/* ---- hypercall entry ------------------------------------------------------------ */

/* Waits out SCHEDOP_block/poll on the vCPU's thread. */
static void xen_kvm_block(struct xen_kvm *x, struct vcpu *vcpu, const struct xen_hcall *hc)
{
	struct vm *vm = x->vm;

	for (;;) {
		uint64_t gen, now;
		struct timespec ts;

		pthread_mutex_lock(&x->lock);
		gen = x->wake_gen;
		pthread_mutex_unlock(&x->lock);
		if (xen_vcpu_wake_ready(x->dom, vcpu->id) || __atomic_load_n(&vm->stopping, __ATOMIC_ACQUIRE))
			break;
		now = ops_now_ns(x);
		if (hc->action == XEN_HCALL_POLL && hc->deadline_ns && now >= hc->deadline_ns)
			break;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += XEN_BLOCK_RECHECK_NS;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_mutex_lock(&x->lock);
		while (x->wake_gen == gen && !__atomic_load_n(&vm->stopping, __ATOMIC_ACQUIRE))
			if (pthread_cond_timedwait(&x->wake, &x->lock, &ts))
				break;
		pthread_mutex_unlock(&x->lock);
	}
	xen_vcpu_unblock(x->dom, vcpu->id);
}

static uint64_t xen_kvm_dispatch(struct xen_kvm *x, struct vcpu *vcpu, struct xen_hcall *hc)
{
	uint64_t ret;

	pr_trace(TRACE_HCALL, "vCPU %u: hypercall %llu (%s) %llx %llx %llx", vcpu->id,
		 (unsigned long long)hc->nr, xen_hcall_name(hc->nr) ? xen_hcall_name(hc->nr) : "?",
		 (unsigned long long)hc->args[0], (unsigned long long)hc->args[1],
		 (unsigned long long)hc->args[2]);
	ret = xen_hypercall(x->dom, hc);
	switch (hc->action) {
	case XEN_HCALL_BLOCK:
	case XEN_HCALL_POLL:
		xen_kvm_block(x, vcpu, hc);
		break;
	case XEN_HCALL_YIELD:
		sched_yield();
		break;
	default:
		break;
	}
	return ret;
}

/* A hypercall-page stub trapped on XEN_HCALL_IO_PORT: arguments are in the
 * registers, the result goes to rax. */
static bool xen_kvm_port_hcall(struct xen_kvm *x, struct vcpu *vcpu)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	struct xen_hcall hc;
	struct xen_hcall_regs hr;
	bool longmode;

	if (ioctl(vcpu->fd, KVM_GET_REGS, &r) < 0 || ioctl(vcpu->fd, KVM_GET_SREGS, &s) < 0) {
		vm_request_stop(x->vm, VM_EXIT_ERROR, "vCPU %u: reading registers for a hypercall: %s",
				vcpu->id, strerror(errno));
		return true;
	}
	longmode = (s.efer & (1u << 10)) && s.cs.l;
	hr = (struct xen_hcall_regs){ r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp, r.r8, r.r9, r.r10 };
	/* KVM handled the MSR write on the blob path: xen_hypercall() latches
	 * the word size from this call if it comes from the guest kernel. */
	xen_hcall_from_regs(&hc, &hr, vcpu->id, longmode, s.ss.dpl);
	r.rax = xen_kvm_dispatch(x, vcpu, &hc);
	if (ioctl(vcpu->fd, KVM_SET_REGS, &r) < 0)
		vm_request_stop(x->vm, VM_EXIT_ERROR, "vCPU %u: writing a hypercall result: %s",
				vcpu->id, strerror(errno));
	return true;
}

static bool xen_kvm_exit(void *opaque, struct vcpu *vcpu)
{
	struct xen_kvm *x = opaque;
	struct kvm_run *run = vcpu->run;

	switch (run->exit_reason) {
	case KVM_EXIT_XEN: {
		struct xen_hcall hc = { 0 };

		if (run->xen.type != KVM_EXIT_XEN_HCALL)
			return false;
		hc.vcpu = vcpu->id;
		hc.longmode = run->xen.u.hcall.longmode;
		hc.cpl = run->xen.u.hcall.cpl;
		hc.nr = run->xen.u.hcall.input;
		memcpy(hc.args, run->xen.u.hcall.params, sizeof(hc.args));
		/* A modern guest never writes the hypercall MSR: xen_hypercall()
		 * latches its word size from its kernel-mode hypercalls. */
		run->xen.u.hcall.result = xen_kvm_dispatch(x, vcpu, &hc);
		if (vcpu->id == 0)
			xen_evtchn_callback_check(x->dom);
		return true;
	}
	case KVM_EXIT_IO:
		if (run->io.port != XEN_HCALL_IO_PORT || run->io.direction != KVM_EXIT_IO_OUT ||
		    x->path == XEN_PATH_INTERCEPT)
			return false;
		return xen_kvm_port_hcall(x, vcpu);
	case KVM_EXIT_X86_WRMSR: {
		struct kvm_sregs s;
		bool longmode = true;

		if (run->msr.index != XEN_HYPERCALL_MSR)
			return false;
		if (ioctl(vcpu->fd, KVM_GET_SREGS, &s) == 0)
			longmode = (s.efer & (1u << 10)) && s.cs.l;
		/* error = 1 makes KVM inject #GP, as Xen does for a bad page index. */
		run->msr.error = xen_hypercall_msr_write(x->dom, vcpu->id, longmode, run->msr.data) ? 1 : 0;
		return true;
	}
	case KVM_EXIT_X86_RDMSR:
		run->msr.error = 1;
		return run->msr.index == XEN_HYPERCALL_MSR;
	default:
		return false;
	}
}

/* ---- setup ---------------------------------------------------------------------- */

static int xen_kvm_setup_path(struct xen_kvm *x, enum xen_hcall_path want)
{
	struct vm *vm = x->vm;
	int user_msr = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_X86_USER_SPACE_MSR) > 0 &&
		       ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_X86_MSR_FILTER) > 0;
	enum xen_hcall_path p = want;

	/* The same choice `xenkvm info` reports; with none, msr's error below says why. */
	if (p == XEN_PATH_AUTO)
		p = kvm_probe_auto_path(x->caps, user_msr);
	if (p == XEN_PATH_AUTO)
		p = XEN_PATH_MSR;
	if ((p == XEN_PATH_INTERCEPT && !(x->caps & KVM_XEN_HVM_CONFIG_INTERCEPT_HCALL)) ||
	    (p == XEN_PATH_BLOB && !x->caps)) {
		pr_err("Xen hypercalls: %s needs a kernel with CONFIG_KVM_XEN (KVM_CAP_XEN_HVM = %#x); "
		       "see docs/KERNEL-MODULES.md", xen_hcall_path_name(p), x->caps);
		return -ENOTSUP;
	}
	if (p == XEN_PATH_MSR && !user_msr) {
		pr_err("Xen hypercalls: this KVM has neither CONFIG_KVM_XEN nor userspace MSR exits");
		return -ENOTSUP;
	}

	if (p == XEN_PATH_INTERCEPT || p == XEN_PATH_BLOB) {
		struct kvm_xen_hvm_config c = { .msr = XEN_HYPERCALL_MSR };

		if (p == XEN_PATH_INTERCEPT) {
			c.flags = KVM_XEN_HVM_CONFIG_INTERCEPT_HCALL;
			/* KVM then also takes EVTCHNOP_send on ports in its table
			 * (others still exit), SCHEDOP_poll, and the timer ops
			 * once a vCPU's timer attribute is set. */
			if (x->fast)
				c.flags |= KVM_XEN_HVM_CONFIG_EVTCHN_SEND;
		} else {
			c.blob_addr_32 = (uintptr_t)xen_hypercall_page32;
			c.blob_addr_64 = (uintptr_t)xen_hypercall_page64;
			c.blob_size_32 = 1;
			c.blob_size_64 = 1;
		}
		if (ioctl(vm->vm_fd, KVM_XEN_HVM_CONFIG, &c) < 0) {
			int err = errno;

			pr_err("KVM_XEN_HVM_CONFIG (%s): %s", xen_hcall_path_name(p), strerror(err));
			return -err;
		}
	} else {
		struct kvm_enable_cap cap = { .cap = KVM_CAP_X86_USER_SPACE_MSR,
					      .args = { KVM_MSR_EXIT_REASON_FILTER } };
		static uint8_t deny_bitmap[1];   /* bit clear = deny = exit to us */
		struct kvm_msr_filter f = {
			.flags = KVM_MSR_FILTER_DEFAULT_ALLOW,
			.ranges[0] = { .flags = KVM_MSR_FILTER_WRITE, .base = XEN_HYPERCALL_MSR,
				       .nmsrs = 1, .bitmap = deny_bitmap },
		};

		if (ioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap) < 0 || ioctl(vm->vm_fd, KVM_X86_SET_MSR_FILTER, &f) < 0) {
			int err = errno;

			pr_err("setting up the hypercall MSR filter: %s", strerror(err));
			return -err;
		}
	}
	x->path = p;
	return 0;
}

static int xen_kvm_tsc_khz(struct vm *vm)
{
	int khz = ioctl(vm->vcpus[0]->fd, KVM_GET_TSC_KHZ, 0);

	return khz > 0 ? khz : 0;
}

int xen_kvm_create(struct vm *vm, struct event_loop *loop, const struct xen_kvm_config *cfg,
		   struct xen_kvm **x_r)
{
	struct xen_kvm *x = calloc(1, sizeof(*x));
	struct xen_domain_params p = { 0 };
	int caps, rc;

	if (!x)
		return -ENOMEM;
	x->vm = vm;
	x->loop = loop;
	x->cb_gsi = -1;
	x->cb_irqfd = x->cb_resamplefd = -1;
	pthread_mutex_init(&x->lock, NULL);
	pthread_cond_init(&x->wake, NULL);
	for (unsigned int i = 0; i < XEN_KVM_FAST_PORTS; i++)
		x->fports[i].efd = -1;
	caps = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XEN_HVM);
	x->caps = caps > 0 ? (uint32_t)caps : 0;
	/* KVM keeps pvclock and runstate itself only with the shared_info attr. */
	x->kernel_accel = !cfg->no_kernel_accel && (x->caps & KVM_XEN_HVM_CONFIG_SHARED_INFO);
	/* The fast paths need KVM to see the hypercalls (intercept) and own
	 * shared_info; the path is decided below and may clear this. */
	x->fast = x->kernel_accel && !cfg->no_fastpaths && (x->caps & KVM_XEN_HVM_CONFIG_EVTCHN_SEND) &&
		  (cfg->path == XEN_PATH_AUTO || cfg->path == XEN_PATH_INTERCEPT) &&
		  (x->caps & KVM_XEN_HVM_CONFIG_INTERCEPT_HCALL);
	rc = xen_kvm_setup_path(x, cfg->path);
	if (rc)
		goto fail;
	if (x->path != XEN_PATH_INTERCEPT)
		x->fast = false;

	x->vcpus = calloc(vm->nr_vcpus, sizeof(*x->vcpus));
	if (!x->vcpus) {
		rc = -ENOMEM;
		goto fail;
	}
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		x->vcpus[i].x = x;
		x->vcpus[i].id = i;
		rc = event_timer_new(loop, xen_kvm_timer_fired, &x->vcpus[i], &x->vcpus[i].timer);
		if (rc)
			goto fail;
	}

	p.domid = cfg->domid;
	p.nr_vcpus = vm->nr_vcpus;
	p.xen_version = cfg->xen_version;
	p.ram_pages = vm->ram_size >> GUEST_PAGE_SHIFT;
	p.max_gfn = ((vm->ram_size > vm->lowmem_size ? VM_HIGHMEM_BASE + vm->ram_size - vm->lowmem_size
						      : VM_HIGHMEM_BASE) >> GUEST_PAGE_SHIFT) - 1;
	p.tsc_khz = (uint64_t)xen_kvm_tsc_khz(vm);
	p.kernel_accel = x->kernel_accel;
	memcpy(p.handle, cfg->uuid, sizeof(p.handle));
	rc = xen_domain_create(&x->dom, &p, &xen_kvm_ops, x, &vm->mem);
	if (rc) {
		pr_err("creating the Xen domain: %s", strerror(-rc));
		goto fail;
	}
	if (x->kernel_accel) {
		/* xen-compat starts in 64-bit layout and says so only on a change;
		 * KVM starts in 32-bit: agree now, or KVM writes pvclock and the
		 * wallclock at 32-bit offsets under a 64-bit guest. */
		struct kvm_xen_hvm_attr lm = { .type = KVM_XEN_ATTR_TYPE_LONG_MODE, .u.long_mode = 1 };

		xen_kvm_vm_attr(x, &lm);
	}
	for (unsigned int i = 0; x->fast && i < vm->nr_vcpus; i++) {
		/* Xen vCPU ids = our indices, said explicitly: KVM checks the
		 * timer ops' vcpu argument against it.  The vCPU threads do not
		 * run yet, so their ioctls cannot stall here. */
		struct kvm_xen_vcpu_attr a = { .type = KVM_XEN_VCPU_ATTR_TYPE_VCPU_ID, .u.vcpu_id = i };

		if (xen_kvm_vcpu_set(x, i, &a)) {
			pr_warn("Xen fast paths off: KVM refused vCPU %u's Xen id", i);
			x->fast = false;
		}
	}
	vm->exit_hook = xen_kvm_exit;
	vm->exit_hook_opaque = x;
	vm->pre_run_hook = xen_kvm_pre_run;
	vm->pre_run_hook_opaque = x;
	pr_info("Xen %u.%u personality; hypercalls: %s; %s", p.xen_version >> 16, p.xen_version & 0xffff,
		xen_hcall_path_name(x->path),
		x->kernel_accel ? "pvclock, runstate and callback injection by KVM"
				: "pvclock, runstate and event delivery in userspace");
	pr_info("Xen fast paths: %s",
		x->fast ? "in kernel (guest sends to backends -> eventfd, guest IPIs, 2-level "
			  "delivery for vector upcalls, one-shot Xen timers, SCHEDOP_poll)" :
		cfg->no_fastpaths || cfg->no_kernel_accel ? "off (--no-kernel-fastpaths/--no-kernel-xen): "
			  "event channels and Xen timers in userspace" :
		"unavailable (KVM lacks KVM_XEN_HVM_CONFIG_EVTCHN_SEND or the intercept path): "
			  "event channels and Xen timers in userspace");
	*x_r = x;
	return 0;
fail:
	xen_kvm_destroy(x);
	return rc;
}

void xen_kvm_destroy(struct xen_kvm *x)
{
	if (!x)
		return;
	if (x->vcpus)
		for (unsigned int i = 0; i < x->vm->nr_vcpus; i++)
			event_timer_free(x->vcpus[i].timer);
	free(x->vcpus);
	console_line_flush(x);
	if (x->fast)
		pr_info("Xen fast paths: %llu guest sends to backends via eventfd, %llu raises by KVM, "
			"%llu Xen timer expiries in userspace, %llu IPI port bindings in KVM",
			(unsigned long long)x->fast_sends, (unsigned long long)x->fast_raises,
			(unsigned long long)x->timer_fired, (unsigned long long)x->fast_ipis);
	/* KVM's port table goes with the VM; our eventfds go here. */
	for (unsigned int i = 0; i < XEN_KVM_FAST_PORTS; i++) {
		if (x->fports[i].efd >= 0) {
			event_loop_remove(x->loop, x->fports[i].efd);
			close(x->fports[i].efd);
		}
	}
	if (x->cb_resamplefd >= 0) {
		event_loop_remove(x->loop, x->cb_resamplefd);
		close(x->cb_resamplefd);
		close(x->cb_irqfd);
	}
	if (x->dom)
		xen_domain_destroy(x->dom);
	if (x->vm->exit_hook_opaque == x) {
		x->vm->exit_hook = NULL;
		x->vm->pre_run_hook = NULL;
	}
	free(x);
}

unsigned int xen_kvm_cpuid(struct xen_kvm *x, unsigned int vcpu, struct kvm_cpuid_entry2 *e,
			   unsigned int nent, unsigned int max)
{
	struct xen_cpuid_entry leaves[16];
	unsigned int n, out = 0;

	/* KVM's own leaves go: Linux picks the hypervisor whose leaves sit
	 * highest (KVM at 0x40000100 would beat Xen at 0x40000000), and a
	 * real Xen host has none, so a Xen guest must not see them. */
	for (unsigned int i = 0; i < nent; i++)
		if ((e[i].function & 0xffffff00u) != XEN_CPUID_BASE)
			e[out++] = e[i];
	nent = out;
	n = xen_cpuid_leaves(x->dom, vcpu, XEN_CPUID_BASE, leaves, 16);
	for (unsigned int i = 0; i < n && nent < max; i++)
		e[nent++] = (struct kvm_cpuid_entry2){
			.function = leaves[i].function, .index = leaves[i].index,
			.flags = leaves[i].indexed ? KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0,
			.eax = leaves[i].eax, .ebx = leaves[i].ebx, .ecx = leaves[i].ecx, .edx = leaves[i].edx,
		};
	return nent;
}
