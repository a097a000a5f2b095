/*
 * Can this machine's /dev/kvm run a 64-bit guest at hardware speed, and what
 * Xen support does it have?
 *
 * Some /dev/kvm implementations accept every ioctl but emulate guest code (about
 * 2 us per instruction) and never return from a guest vmcall; a Linux guest would take
 * hours to boot there.  `xenkvm info` and `xenkvm create` say so, and the system tests
 * (build/kvm-probe) go through a nested host instead.
 *
 * The probe runs, in long mode with identity paging, a 10,000,000-iteration dec/jnz
 * loop (a few ms on hardware, ~0.1 s nested under TCG, ~40 s emulated), reports the
 * end of the loop with an OUT, then makes one unknown KVM hypercall, which a working
 * KVM answers with -KVM_ENOSYS, and halts.  A timer stops the loop once it has used
 * its budget, and the work happens in a child process so that even a KVM_RUN no signal
 * can interrupt leaves the verdict on time.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cpuid.h>

#include "xenkvm/kvm_probe.h"

#ifndef LOOP_ITERATIONS
#define LOOP_ITERATIONS  10000000u	/* -D to try other loops */
#endif
#define LOOP_BUDGET_NS   500000000ull	/* the loop must end within this */
#define HCALL_BUDGET_NS  500000000ull	/* and the hypercall return within this */
#define PARENT_WAIT_MS   3000		/* the child gets this long in all */
#define GUEST_MEM_SIZE   0x10000ul
#define GUEST_CODE       0x8000ul
#define LOOP_DONE_PORT   0x10
#define KVM_ENOSYS_VAL   1000		/* include/uapi/linux/kvm_para.h */

enum stage { STAGE_SETUP, STAGE_LOOP, STAGE_HCALL, STAGE_DONE };

/* What the child reports back through the pipe. */
struct probe_result {
	int stage;		/* the stage reached; STAGE_DONE = all ran */
	int timed_out;		/* the stage ran out of budget */
	uint64_t iterations;	/* loop iterations completed */
	uint64_t loop_ns;
	uint64_t rax;		/* after the hypercall */
	char error[200];
};

static struct kvm_run *volatile probe_run;
static volatile uint64_t probe_deadline_ns;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Periodic tick: once past the deadline, make every KVM_RUN return at once (the
 * immediate_exit flag closes the race with a signal arriving just before KVM_RUN). */
static void probe_tick(int sig)
{
	if (now_ns() >= probe_deadline_ns && probe_run)
		probe_run->immediate_exit = 1;
}

static int host_is_amd(void)
{
	unsigned int a, b, c, d;

	if (!__get_cpuid(0, &a, &b, &c, &d))
		return 0;
	return b == 0x68747541 && d == 0x69746e65 && c == 0x444d4163;	/* AuthenticAMD */
}

/* 4-level identity map of the first 2 MiB with one large page, code at GUEST_CODE. */
static void probe_build_guest(uint8_t *mem)
{
	uint64_t *pml4 = (uint64_t *)(mem + 0x1000);
	uint64_t *pdpt = (uint64_t *)(mem + 0x2000);
	uint64_t *pd = (uint64_t *)(mem + 0x3000);
	const uint8_t hcall_insn = host_is_amd() ? 0xd9 : 0xc1;	/* vmmcall : vmcall */
	const uint8_t code[] = {
		0xb9, LOOP_ITERATIONS & 0xff, (LOOP_ITERATIONS >> 8) & 0xff,
		(LOOP_ITERATIONS >> 16) & 0xff, LOOP_ITERATIONS >> 24,	/* mov $N, %ecx */
		0xff, 0xc9,				/* 1: dec %ecx */
		0x75, 0xfc,				/* jnz 1b */
		0xe6, LOOP_DONE_PORT,			/* out %al, $LOOP_DONE_PORT */
		0xb8, 0xff, 0x7f, 0x00, 0x00,		/* mov $0x7fff, %eax: no such hcall */
		0x0f, 0x01, hcall_insn,			/* vmcall / vmmcall */
		0xf4,					/* hlt */
	};

	pml4[0] = 0x2000 | 0x3;			/* present, writable */
	pdpt[0] = 0x3000 | 0x3;
	pd[0] = 0x0 | 0x83;			/* present, writable, 2 MiB page */
	memcpy(mem + GUEST_CODE, code, sizeof(code));
}

/* KVM checks EFER.LME against the guest's CPUID, so the guest needs one: the host's. */
static int probe_set_cpuid(int kvm, int vcpu, struct probe_result *res)
{
	const int max = 256;
	struct kvm_cpuid2 *cpuid;
	int rc = 0;

	cpuid = calloc(1, sizeof(*cpuid) + max * sizeof(cpuid->entries[0]));
	if (!cpuid)
		return -ENOMEM;
	cpuid->nent = max;
	if (ioctl(kvm, KVM_GET_SUPPORTED_CPUID, cpuid) < 0 ||
	    ioctl(vcpu, KVM_SET_CPUID2, cpuid) < 0) {
		rc = -errno;
		snprintf(res->error, sizeof(res->error), "KVM_SET_CPUID2: %s", strerror(errno));
	}
	free(cpuid);
	return rc;
}

static int probe_setup_vcpu(int vcpu, struct probe_result *res)
{
	struct kvm_segment code_seg = {
		.base = 0, .limit = 0xffffffff, .selector = 0x8, .type = 11,
		.present = 1, .dpl = 0, .db = 0, .s = 1, .l = 1, .g = 1,
	};
	struct kvm_segment data_seg = {
		.base = 0, .limit = 0xffffffff, .selector = 0x10, .type = 3,
		.present = 1, .dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1,
	};
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0) {
		snprintf(res->error, sizeof(res->error), "KVM_GET_SREGS: %s", strerror(errno));
		return -errno;
	}
	sregs.cr3 = 0x1000;
	sregs.cr4 = 1u << 5;				/* PAE */
	sregs.cr0 = 0x80000011;				/* PG, ET, PE */
	sregs.efer = 0x500;				/* LME, LMA */
	sregs.cs = code_seg;
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data_seg;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0) {
		snprintf(res->error, sizeof(res->error), "KVM_SET_SREGS (long mode): %s",
			 strerror(errno));
		return -errno;
	}
	memset(&regs, 0, sizeof(regs));
	regs.rip = GUEST_CODE;
	regs.rflags = 0x2;
	if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0) {
		snprintf(res->error, sizeof(res->error), "KVM_SET_REGS: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

/* Runs the guest to its hlt or until a stage's budget is gone; fills *res. */
static void probe_run_guest(struct probe_result *res)
{
	struct itimerval tick = { { 0, 20000 }, { 0, 20000 } };
	struct kvm_userspace_memory_region region = {
		.slot = 0, .guest_phys_addr = 0, .memory_size = GUEST_MEM_SIZE,
	};
	struct sigaction sa;
	struct kvm_regs regs;
	int kvm = -1, vm = -1, vcpu = -1;
	uint8_t *mem = MAP_FAILED;
	struct kvm_run *run = MAP_FAILED;
	long run_size = 0;
	uint64_t start = 0;

	res->stage = STAGE_SETUP;
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		snprintf(res->error, sizeof(res->error), "/dev/kvm: %s", strerror(errno));
		goto out;
	}
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0) {
		snprintf(res->error, sizeof(res->error), "KVM_CREATE_VM: %s", strerror(errno));
		goto out;
	}
	mem = mmap(NULL, GUEST_MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		snprintf(res->error, sizeof(res->error), "mmap: %s", strerror(errno));
		goto out;
	}
	probe_build_guest(mem);
	region.userspace_addr = (uintptr_t)mem;
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
		snprintf(res->error, sizeof(res->error), "KVM_SET_USER_MEMORY_REGION: %s",
			 strerror(errno));
		goto out;
	}
	(void)ioctl(vm, KVM_SET_TSS_ADDR, 0xfffbd000ul);	/* VMX wants one; harmless elsewhere */
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0) {
		snprintf(res->error, sizeof(res->error), "KVM_CREATE_VCPU: %s", strerror(errno));
		goto out;
	}
	run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size < (long)sizeof(struct kvm_run)) {
		snprintf(res->error, sizeof(res->error), "KVM_GET_VCPU_MMAP_SIZE: %ld", run_size);
		goto out;
	}
	run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED) {
		snprintf(res->error, sizeof(res->error), "mmap(vcpu): %s", strerror(errno));
		goto out;
	}
	if (probe_set_cpuid(kvm, vcpu, res) < 0 || probe_setup_vcpu(vcpu, res) < 0)
		goto out;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = probe_tick;		/* no SA_RESTART: KVM_RUN must see EINTR */
	sigaction(SIGALRM, &sa, NULL);
	probe_run = run;
	res->stage = STAGE_LOOP;
	start = now_ns();
	probe_deadline_ns = start + LOOP_BUDGET_NS;
	setitimer(ITIMER_REAL, &tick, NULL);

	for (;;) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0) {
			if (errno != EINTR && errno != EAGAIN) {
				snprintf(res->error, sizeof(res->error), "KVM_RUN: %s", strerror(errno));
				goto out;
			}
			if (now_ns() < probe_deadline_ns) {
				run->immediate_exit = 0;
				continue;
			}
			res->timed_out = 1;
			if (res->stage == STAGE_LOOP && ioctl(vcpu, KVM_GET_REGS, &regs) == 0 &&
			    regs.rip > GUEST_CODE && regs.rcx <= LOOP_ITERATIONS)
				res->iterations = LOOP_ITERATIONS - (uint32_t)regs.rcx;
			if (res->stage == STAGE_LOOP)
				res->loop_ns = now_ns() - start;
			goto out;
		}
		switch (run->exit_reason) {
		case KVM_EXIT_IO:
			if (res->stage != STAGE_LOOP || run->io.port != LOOP_DONE_PORT) {
				snprintf(res->error, sizeof(res->error), "unexpected I/O exit, port %#x",
					 run->io.port);
				goto out;
			}
			res->loop_ns = now_ns() - start;
			res->iterations = LOOP_ITERATIONS;
			res->stage = STAGE_HCALL;
			probe_deadline_ns = now_ns() + HCALL_BUDGET_NS;
			break;
		case KVM_EXIT_HLT:
			if (res->stage != STAGE_HCALL) {
				snprintf(res->error, sizeof(res->error), "early hlt");
				goto out;
			}
			if (ioctl(vcpu, KVM_GET_REGS, &regs) == 0)
				res->rax = regs.rax;
			res->stage = STAGE_DONE;
			goto out;
		case KVM_EXIT_INTR:
			break;
		default:
			snprintf(res->error, sizeof(res->error), "unexpected exit reason %u%s",
				 run->exit_reason,
				 run->exit_reason == KVM_EXIT_SHUTDOWN ? " (guest triple fault)" : "");
			goto out;
		}
	}
out:
	memset(&tick, 0, sizeof(tick));
	setitimer(ITIMER_REAL, &tick, NULL);
	probe_run = NULL;
	if (run != MAP_FAILED)
		munmap(run, run_size);
	if (vcpu >= 0)
		close(vcpu);
	if (mem != MAP_FAILED)
		munmap(mem, GUEST_MEM_SIZE);
	if (vm >= 0)
		close(vm);
	if (kvm >= 0)
		close(kvm);
}

/* Runs probe_run_guest() in a child; 0 with *res filled, or -ETIMEDOUT if the child
 * did not answer in time (it is killed, and not waited for: it may be stuck for good). */
static int probe_in_child(struct probe_result *res)
{
	struct pollfd pfd;
	int fds[2] = { -1, -1 };
	ssize_t n = -1;
	pid_t pid;
	int rc;

	if (pipe(fds) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		rc = -errno;
		goto out;
	}
	if (pid == 0) {
		struct probe_result mine;

		close(fds[0]);
		memset(&mine, 0, sizeof(mine));
		probe_run_guest(&mine);
		n = write(fds[1], &mine, sizeof(mine));
		_exit(n == (ssize_t)sizeof(mine) ? 0 : 1);
	}
	close(fds[1]);
	fds[1] = -1;
	pfd.fd = fds[0];
	pfd.events = POLLIN;
	if (poll(&pfd, 1, PARENT_WAIT_MS) == 1)
		n = read(fds[0], res, sizeof(*res));
	if (n != (ssize_t)sizeof(*res)) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, WNOHANG);
		rc = -ETIMEDOUT;
		goto out;
	}
	waitpid(pid, NULL, 0);
	rc = 0;
out:
	if (fds[0] >= 0)
		close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
	return rc;
}

/* The path xenkvmd takes with --xen-hcall=auto (kvm/xen.c asks the same). */
enum xen_hcall_path kvm_probe_auto_path(uint32_t xen_caps, bool user_msr)
{
	if (xen_caps & KVM_XEN_HVM_CONFIG_INTERCEPT_HCALL)
		return XEN_PATH_INTERCEPT;
	if (xen_caps)
		return XEN_PATH_BLOB;
	return user_msr ? XEN_PATH_MSR : XEN_PATH_AUTO;
}

bool kvm_probe_fast_paths(uint32_t xen_caps)
{
	return (xen_caps & KVM_XEN_HVM_CONFIG_SHARED_INFO) &&
	       (xen_caps & KVM_XEN_HVM_CONFIG_EVTCHN_SEND) &&
	       (xen_caps & KVM_XEN_HVM_CONFIG_INTERCEPT_HCALL);
}

void kvm_probe_caps(struct kvm_probe *p)
{
	int kvm, v;

	memset(p, 0, sizeof(*p));
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		p->open_errno = errno;
		snprintf(p->verdict, sizeof(p->verdict), "/dev/kvm: %s", strerror(errno));
		return;
	}
	if (ioctl(kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		snprintf(p->verdict, sizeof(p->verdict), "unexpected KVM API version");
		close(kvm);
		return;
	}
	p->opened = true;
	v = ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_XEN_HVM);
	p->xen_caps = v > 0 ? (uint32_t)v : 0;
	v = ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	p->max_vcpus = v > 0 ? v : 0;
	p->user_msr = ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_X86_USER_SPACE_MSR) > 0 &&
		      ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_X86_MSR_FILTER) > 0;
	close(kvm);
}

void kvm_probe_run(struct kvm_probe *p)
{
	const char *hcall = host_is_amd() ? "vmmcall" : "vmcall";
	struct probe_result res;
	int rc;

	kvm_probe_caps(p);
	if (!p->opened)
		return;
	memset(&res, 0, sizeof(res));
	rc = probe_in_child(&res);
	p->ran = true;
	p->loop_ns = res.loop_ns;
	p->iterations = res.iterations;
	if (rc == -ETIMEDOUT) {
		snprintf(p->verdict, sizeof(p->verdict), "KVM_RUN ignored its watchdog for %d ms "
			 "(stuck in the %s)", PARENT_WAIT_MS,
			 res.stage == STAGE_HCALL ? "hypercall" : "guest");
	} else if (rc < 0) {
		snprintf(p->verdict, sizeof(p->verdict), "cannot run the probe: %s", strerror(-rc));
	} else if (res.error[0]) {
		snprintf(p->verdict, sizeof(p->verdict), "%s", res.error);
	} else if (res.stage == STAGE_LOOP) {
		p->emulated = true;
		snprintf(p->verdict, sizeof(p->verdict), "guest loop ran %llu of %u iterations in "
			 "%.2f s (%.0f ns per iteration: guest code is emulated)",
			 (unsigned long long)res.iterations, LOOP_ITERATIONS, res.loop_ns / 1e9,
			 res.iterations ? (double)res.loop_ns / (double)res.iterations : 0.0);
	} else if (res.stage == STAGE_HCALL) {
		snprintf(p->verdict, sizeof(p->verdict), "a guest %s did not return within %.1f s",
			 hcall, HCALL_BUDGET_NS / 1e9);
	} else {
		p->hw_speed = true;
		snprintf(p->verdict, sizeof(p->verdict), "%u-iteration guest loop in %.3f s, %s "
			 "returned %lld", LOOP_ITERATIONS, res.loop_ns / 1e9, hcall, (long long)res.rax);
	}
}
