/*
 * What each of xenkvmd's threads is, announced by the thread itself when it
 * starts: the sandbox (userspace/sandbox.c) hooks in here to give every kind
 * of thread its own syscall filter, without lib/ or kvm/ knowing about it.
 */
#ifndef XENKVM_THREAD_ROLE_H
#define XENKVM_THREAD_ROLE_H

enum thread_role {
	THREAD_MAIN,       /* builds machines, waits for them to stop, restarts */
	THREAD_IO,         /* lib/event_loop.c: backends, sockets, XenStore */
	THREAD_VCPU,       /* kvm/vcpu.c: KVM_RUN and the exits it handles */
	THREAD_SERIAL_IN,  /* kvm/serial.c: reads the console's input fd */
	THREAD_ROLE_COUNT,
};

typedef void (*thread_role_hook)(enum thread_role role);

/* Called by each thread first thing (after naming itself). */
void thread_role_enter(enum thread_role role);
/* One process-wide hook; NULL (the default) does nothing. */
void thread_role_set_hook(thread_role_hook hook);
const char *thread_role_name(enum thread_role role);

#endif
