#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "xenkvm/cpuid.h"
#include "xenkvm/log.h"
#include "xenkvm/vcpu.h"
#include "xenkvm/vm.h"
#include "xenkvm/thread_role.h"

#define VCPU_KICK_SIGNAL SIGUSR1
#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define APIC_MODE_NMI    (4u << 8)
#define APIC_MODE_EXTINT (7u << 8)

/* The kick handler runs on the vCPU's own thread: immediate_exit makes a
 * KVM_RUN that is about to start (or already running) return -EINTR, so a
 * stop request is never lost between the flag check and the ioctl. */
static __thread struct kvm_run *vcpu_current_run;
static __thread struct vcpu *vcpu_self;

struct vcpu *vcpu_current(void)
{
	return vcpu_self;
}

static void vcpu_kick_handler(int sig)
{
	(void)sig;
	if (vcpu_current_run)
		vcpu_current_run->immediate_exit = 1;
}

int vcpu_create(struct vm *vm, unsigned int id, struct vcpu **vcpu_r)
{
	struct vcpu *v;
	int rc;

	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->vm = vm;
	v->id = id;
	v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (v->fd < 0) {
		rc = -errno;
		pr_err("KVM_CREATE_VCPU %u: %s", id, strerror(errno));
		free(v);
		return rc;
	}
	v->run = mmap(NULL, (size_t)vm->kvm_run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		rc = -errno;
		pr_err("mmap kvm_run of vCPU %u: %s", id, strerror(errno));
		close(v->fd);
		free(v);
		return rc;
	}
	*vcpu_r = v;
	return 0;
}

void vcpu_destroy(struct vcpu *vcpu)
{
	if (!vcpu)
		return;
	free(vcpu->stats);
	munmap(vcpu->run, (size_t)vcpu->vm->kvm_run_size);
	close(vcpu->fd);
	free(vcpu);
}

int vcpu_set_cpuid(struct vcpu *vcpu, const struct kvm_cpuid_entry2 *entries, unsigned int nent)
{
	struct kvm_cpuid2 *c;
	int rc = 0;

	c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));
	if (!c)
		return -ENOMEM;
	c->nent = nent;
	memcpy(c->entries, entries, nent * sizeof(c->entries[0]));
	if (ioctl(vcpu->fd, KVM_SET_CPUID2, c) < 0) {
		rc = -errno;
		pr_err("KVM_SET_CPUID2 on vCPU %u: %s", vcpu->id, strerror(errno));
	}
	free(c);
	return rc;
}

int vcpu_setup_lapic(struct vcpu *vcpu)
{
	struct kvm_lapic_state st;
	uint32_t *lint0 = (uint32_t *)&st.regs[APIC_LVT_LINT0];
	uint32_t *lint1 = (uint32_t *)&st.regs[APIC_LVT_LINT1];

	if (ioctl(vcpu->fd, KVM_GET_LAPIC, &st) < 0)
		return -errno;
	*lint0 = (*lint0 & ~0x700u) | APIC_MODE_EXTINT;
	*lint1 = (*lint1 & ~0x700u) | APIC_MODE_NMI;
	if (ioctl(vcpu->fd, KVM_SET_LAPIC, &st) < 0)
		return -errno;
	return 0;
}

int vcpu_set_entry_state(struct vcpu *vcpu, const struct kvm_regs *regs, const struct kvm_sregs *sregs)
{
	struct kvm_sregs s;

	/* Start from KVM's reset state so fields we do not set stay sane. */
	if (ioctl(vcpu->fd, KVM_GET_SREGS, &s) < 0)
		return -errno;
	s.cs = sregs->cs; s.ds = sregs->ds; s.es = sregs->es; s.fs = sregs->fs;
	s.gs = sregs->gs; s.ss = sregs->ss; s.tr = sregs->tr; s.ldt = sregs->ldt;
	s.gdt = sregs->gdt; s.idt = sregs->idt;
	s.cr0 = sregs->cr0; s.cr3 = sregs->cr3; s.cr4 = sregs->cr4; s.efer = sregs->efer;
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &s) < 0)
		return -errno;
	if (ioctl(vcpu->fd, KVM_SET_REGS, regs) < 0)
		return -errno;
	return 0;
}

void vcpu_dump(struct vcpu *vcpu, const char *why)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	pr_err("vCPU %u: %s", vcpu->id, why);
	if (ioctl(vcpu->fd, KVM_GET_REGS, &r) < 0 || ioctl(vcpu->fd, KVM_GET_SREGS, &s) < 0) {
		pr_err("vCPU %u: registers unavailable: %s", vcpu->id, strerror(errno));
		return;
	}
	pr_err("vCPU %u: rip=%016llx rsp=%016llx rflags=%08llx cs=%04x(l=%u db=%u) cpl=%u",
	       vcpu->id, r.rip, r.rsp, r.rflags, s.cs.selector, s.cs.l, s.cs.db, s.cs.dpl);
	pr_err("vCPU %u: rax=%016llx rbx=%016llx rcx=%016llx rdx=%016llx",
	       vcpu->id, r.rax, r.rbx, r.rcx, r.rdx);
	pr_err("vCPU %u: rsi=%016llx rdi=%016llx rbp=%016llx r8=%016llx",
	       vcpu->id, r.rsi, r.rdi, r.rbp, r.r8);
	pr_err("vCPU %u: cr0=%016llx cr2=%016llx cr3=%016llx cr4=%016llx efer=%llx",
	       vcpu->id, s.cr0, s.cr2, s.cr3, s.cr4, s.efer);
}

static const char *vcpu_exit_name(uint32_t reason)
{
	static const char *const names[] = {
		[KVM_EXIT_UNKNOWN] = "UNKNOWN", [KVM_EXIT_EXCEPTION] = "EXCEPTION",
		[KVM_EXIT_IO] = "IO", [KVM_EXIT_HYPERCALL] = "HYPERCALL", [KVM_EXIT_DEBUG] = "DEBUG",
		[KVM_EXIT_HLT] = "HLT", [KVM_EXIT_MMIO] = "MMIO", [KVM_EXIT_IRQ_WINDOW_OPEN] = "IRQ_WINDOW_OPEN",
		[KVM_EXIT_SHUTDOWN] = "SHUTDOWN", [KVM_EXIT_FAIL_ENTRY] = "FAIL_ENTRY", [KVM_EXIT_INTR] = "INTR",
		[KVM_EXIT_SET_TPR] = "SET_TPR", [KVM_EXIT_TPR_ACCESS] = "TPR_ACCESS",
		[KVM_EXIT_NMI] = "NMI", [KVM_EXIT_INTERNAL_ERROR] = "INTERNAL_ERROR",
		[KVM_EXIT_SYSTEM_EVENT] = "SYSTEM_EVENT", [KVM_EXIT_X86_RDMSR] = "X86_RDMSR",
		[KVM_EXIT_X86_WRMSR] = "X86_WRMSR", [KVM_EXIT_XEN] = "XEN",
	};

	if (reason < sizeof(names) / sizeof(names[0]) && names[reason])
		return names[reason];
	return "?";
}

/* What a boot or a benchmark spends its exits on (--trace=+exit). */
#define EXIT_REASONS 64
struct vcpu_exit_stats {
	uint64_t reason[EXIT_REASONS];
	uint32_t port[65536];
};

static void vcpu_account_exit(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	struct vcpu_exit_stats *st = vcpu->stats;

	st->reason[run->exit_reason < EXIT_REASONS ? run->exit_reason : 0]++;
	if (run->exit_reason == KVM_EXIT_IO)
		st->port[run->io.port]++;
}

/* Index of the largest of n counters not yet taken (taken[] marks), or -1 if all are 0. */
static long top_counter(const void *counters, size_t n, bool wide, bool *taken)
{
	uint64_t best = 0;
	long at = -1;

	for (size_t i = 0; i < n; i++) {
		uint64_t v = wide ? ((const uint64_t *)counters)[i] : ((const uint32_t *)counters)[i];

		if (v > best && !taken[i]) {
			best = v;
			at = (long)i;
		}
	}
	if (at >= 0)
		taken[at] = true;
	return at;
}

static void vcpu_print_exit_stats(struct vcpu *vcpu)
{
	struct vcpu_exit_stats *st = vcpu->stats;
	static bool taken_port[65536];   /* vCPUs are joined one at a time */
	bool taken[EXIT_REASONS] = { false };
	char line[512];
	int len;
	long i;

	len = snprintf(line, sizeof(line), "vCPU %u: %llu exits:", vcpu->id,
		       (unsigned long long)vcpu->nr_exits);
	for (int k = 0; k < 8 && (i = top_counter(st->reason, EXIT_REASONS, true, taken)) >= 0; k++)
		len += snprintf(line + len, sizeof(line) - (size_t)len, " %s %llu", vcpu_exit_name((uint32_t)i),
				(unsigned long long)st->reason[i]);
	pr_info("%s", line);
	memset(taken_port, 0, sizeof(taken_port));
	len = snprintf(line, sizeof(line), "vCPU %u: busiest ports:", vcpu->id);
	for (int k = 0; k < 10 && (i = top_counter(st->port, 65536, false, taken_port)) >= 0; k++)
		len += snprintf(line + len, sizeof(line) - (size_t)len, " %#lx %u", i, st->port[i]);
	pr_info("%s", line);
}

static void vcpu_fatal(struct vcpu *vcpu, enum vm_exit_status status, const char *what)
{
	char why[128];

	snprintf(why, sizeof(why), "%s (exit reason %u %s)", what, vcpu->run->exit_reason,
		 vcpu_exit_name(vcpu->run->exit_reason));
	vcpu_dump(vcpu, why);
	vm_request_stop(vcpu->vm, status, "vCPU %u: %s", vcpu->id, why);
}

static void vcpu_handle_io(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool is_write = run->io.direction == KVM_EXIT_IO_OUT;

	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size)
		if (!io_bus_access(&vcpu->vm->pio, run->io.port, data, run->io.size, is_write))
			pr_trace(TRACE_IO, "unclaimed port %s %#x/%u", is_write ? "write" : "read",
				 run->io.port, run->io.size);
}

static void vcpu_handle_mmio(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	if (run->mmio.len > 8)
		return;
	if (!io_bus_access(&vcpu->vm->mmio, run->mmio.phys_addr, run->mmio.data, run->mmio.len,
			   run->mmio.is_write) &&
	    !vm_ram_access(vcpu->vm, run->mmio.phys_addr, run->mmio.data, run->mmio.len,
			   run->mmio.is_write))
		pr_trace(TRACE_IO, "unclaimed MMIO %s %#llx/%u", run->mmio.is_write ? "write" : "read",
			 run->mmio.phys_addr, run->mmio.len);
}

static void vcpu_handle_system_event(struct vcpu *vcpu)
{
	switch (vcpu->run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		vm_request_stop(vcpu->vm, VM_EXIT_POWEROFF, "guest powered off (system event)");
		break;
	case KVM_SYSTEM_EVENT_RESET:
		vm_request_stop(vcpu->vm, VM_EXIT_REBOOT, "guest reset (system event)");
		break;
	case KVM_SYSTEM_EVENT_CRASH:
		vcpu_fatal(vcpu, VM_EXIT_CRASH, "guest crashed (system event)");
		break;
	default:
		vcpu_fatal(vcpu, VM_EXIT_ERROR, "unknown system event");
		break;
	}
}

/* One exit KVM_RUN returned, to whoever handles it. */
static void vcpu_dispatch_exit(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;
	struct kvm_run *run = vcpu->run;

	vcpu->nr_exits++;
	if (vcpu->stats)
		vcpu_account_exit(vcpu);
	/* The Xen personality sees exits first: its hypercall port and MSR. */
	if (vm->exit_hook && run->exit_reason != KVM_EXIT_MMIO &&
	    vm->exit_hook(vm->exit_hook_opaque, vcpu))
		return;
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		vcpu_handle_io(vcpu);
		break;
	case KVM_EXIT_MMIO:
		vcpu_handle_mmio(vcpu);
		break;
	case KVM_EXIT_INTR:
		break;
	case KVM_EXIT_SHUTDOWN:
		/* A triple fault: what a crashed kernel (or a last-resort reboot) does. */
		vcpu_fatal(vcpu, VM_EXIT_CRASH, "triple fault");
		break;
	case KVM_EXIT_SYSTEM_EVENT:
		vcpu_handle_system_event(vcpu);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		vcpu_fatal(vcpu, VM_EXIT_CRASH, "KVM internal error (emulation failure?)");
		break;
	case KVM_EXIT_FAIL_ENTRY:
		vcpu_fatal(vcpu, VM_EXIT_ERROR, "VM entry failed");
		break;
	default:
		vcpu_fatal(vcpu, VM_EXIT_ERROR, "unhandled KVM exit");
		break;
	}
}

/*
 * An exit handled in userspace (an IN's data, an MMIO read) is finished
 * by KVM on the next KVM_RUN; immediate_exit makes that run return before
 * entering the guest, so a parked vCPU's registers are complete.
 */
static void vcpu_complete_exit(struct vcpu *vcpu)
{
	/* A string I/O instruction may need more exits to finish: handle
	 * them until KVM returns without one. */
	for (int i = 0; i < 4096; i++) {
		int rc;

		vcpu->run->immediate_exit = 1;
		rc = ioctl(vcpu->fd, KVM_RUN, 0);
		vcpu->run->immediate_exit = 0;
		if (rc < 0)
			return;
		vcpu_dispatch_exit(vcpu);
	}
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *vcpu = arg;
	struct vm *vm = vcpu->vm;
	struct kvm_run *run = vcpu->run;
	char name[16];

	snprintf(name, sizeof(name), "vcpu%u", vcpu->id);
	pthread_setname_np(pthread_self(), name);
	thread_role_enter(THREAD_VCPU);
	vcpu_current_run = run;
	vcpu_self = vcpu;

	while (!__atomic_load_n(&vm->stopping, __ATOMIC_ACQUIRE)) {
		if (__atomic_load_n(&vm->paused, __ATOMIC_ACQUIRE)) {
			vcpu_complete_exit(vcpu);
			pthread_mutex_lock(&vm->stop_lock);
			vm->nr_parked++;
			pthread_cond_broadcast(&vm->stop_cond);
			while (vm->paused && !vm->stopping)
				pthread_cond_wait(&vm->stop_cond, &vm->stop_lock);
			vm->nr_parked--;
			pthread_mutex_unlock(&vm->stop_lock);
			continue;
		}
		if (vm->pre_run_hook)
			vm->pre_run_hook(vm->pre_run_hook_opaque, vcpu);
		if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				run->immediate_exit = 0;
				continue;
			}
			pr_err("vCPU %u: KVM_RUN: %s", vcpu->id, strerror(errno));
			vm_request_stop(vm, VM_EXIT_ERROR, "KVM_RUN failed on vCPU %u", vcpu->id);
			break;
		}
		vcpu_dispatch_exit(vcpu);
	}
	vcpu_current_run = NULL;
	return NULL;
}

static void vcpu_install_kick_handler(void)
{
	struct sigaction sa = { .sa_handler = vcpu_kick_handler };

	sigemptyset(&sa.sa_mask);
	sigaction(VCPU_KICK_SIGNAL, &sa, NULL);
}

int vcpu_start(struct vcpu *vcpu)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	int rc;

	pthread_once(&once, vcpu_install_kick_handler);
	if (log_tracing(TRACE_EXIT) && !vcpu->stats)
		vcpu->stats = calloc(1, sizeof(*vcpu->stats));   /* none: no statistics */
	rc = pthread_create(&vcpu->thread, NULL, vcpu_thread, vcpu);
	if (rc) {
		pr_err("cannot start vCPU %u thread: %s", vcpu->id, strerror(rc));
		return -rc;
	}
	vcpu->thread_started = true;
	return 0;
}

void vcpu_kick(struct vcpu *vcpu)
{
	if (vcpu->thread_started)
		pthread_kill(vcpu->thread, VCPU_KICK_SIGNAL);
}

void vcpu_join(struct vcpu *vcpu)
{
	if (vcpu->thread_started) {
		pthread_join(vcpu->thread, NULL);
		vcpu->thread_started = false;
		if (vcpu->stats)
			vcpu_print_exit_stats(vcpu);
	}
}
