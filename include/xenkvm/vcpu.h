/*
 * A vCPU: its KVM fd, the shared kvm_run page and the thread that runs the
 * exit loop.  Exits are dispatched to the VM's I/O buses; anything the loop
 * does not understand stops the domain with the registers printed.
 */
#ifndef XENKVM_VCPU_H
#define XENKVM_VCPU_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct vm;

struct vcpu {
	struct vm *vm;
	unsigned int id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool thread_started;
	uint64_t nr_exits;
	struct vcpu_exit_stats *stats; /* with --trace=+exit: printed when the thread ends */
};

int vcpu_create(struct vm *vm, unsigned int id, struct vcpu **vcpu_r);
void vcpu_destroy(struct vcpu *vcpu);
int vcpu_set_cpuid(struct vcpu *vcpu, const struct kvm_cpuid_entry2 *entries, unsigned int nent);
/* LINT0 = ExtINT, LINT1 = NMI: the "virtual wire" state firmware leaves. */
int vcpu_setup_lapic(struct vcpu *vcpu);
int vcpu_set_entry_state(struct vcpu *vcpu, const struct kvm_regs *regs, const struct kvm_sregs *sregs);
int vcpu_start(struct vcpu *vcpu);
/* Makes a running KVM_RUN return so the thread sees the stop request. */
void vcpu_kick(struct vcpu *vcpu);
void vcpu_join(struct vcpu *vcpu);
/* The vCPU whose thread this is, or NULL. */
struct vcpu *vcpu_current(void);
/* Prints registers and the exit reason: every fatal exit goes through it. */
void vcpu_dump(struct vcpu *vcpu, const char *why);

#endif
