/*
 * Hypercall dispatch: one table from number to handler.  The VMM turns a
 * KVM_EXIT_XEN, a hypercall-page port-I/O exit or a trapped VMCALL into a
 * struct xen_hcall (xen_hcall_from_regs() does the register convention),
 * calls xen_hypercall() on the calling vCPU's thread, writes the result to
 * rax (eax for 32-bit guests) and acts on hc->action.
 */
#ifndef XENKVM_HYPERCALL_H
#define XENKVM_HYPERCALL_H

#include <stdbool.h>
#include <stdint.h>

struct xen_domain;

enum xen_hcall_action {
	XEN_HCALL_DONE,      /* resume the guest */
	XEN_HCALL_YIELD,     /* resume, after sched_yield() if you like */
	/* Don't re-enter the guest until xen_vcpu_wake_ready() (re-check after
	 * each kick_vcpu), then xen_vcpu_unblock().  POLL also ends at
	 * hc->deadline_ns (system time) unless it is 0. */
	XEN_HCALL_BLOCK,
	XEN_HCALL_POLL,
};

struct xen_hcall {
	/* in */
	unsigned int vcpu;
	bool longmode;       /* guest was in 64-bit mode: 64-bit ABI */
	unsigned int cpl;
	uint64_t nr;
	uint64_t args[6];    /* 64-bit: rdi rsi rdx r10 r8 r9; 32-bit: ebx ecx edx esi edi ebp */
	/* out */
	enum xen_hcall_action action;
	uint64_t deadline_ns;
	/* internal: a backend to notify once the domain lock is dropped */
	void (*be_fn)(void *opaque, uint32_t be_port);
	void *be_opaque;
	uint32_t be_port;
};

struct xen_hcall_regs {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp, r8, r9, r10;
};

/* Fill hc from the vCPU registers at the hypercall. */
void xen_hcall_from_regs(struct xen_hcall *hc, const struct xen_hcall_regs *regs,
			 unsigned int vcpu, bool longmode, unsigned int cpl);

/* Runs the hypercall; returns the value for rax (a 32-bit guest sees the
 * low half).  Never fails as a function: bad input is a Xen error code. */
uint64_t xen_hypercall(struct xen_domain *d, struct xen_hcall *hc);

/* Name for logs ("event_channel_op"), or NULL. */
const char *xen_hcall_name(uint64_t nr);

/* Count and log (rate-limited) an unsupported sub-op; returns -ENOSYS. */
int xen_hcall_unknown_subop(struct xen_domain *d, const struct xen_hcall *hc, uint64_t subop);

#endif
