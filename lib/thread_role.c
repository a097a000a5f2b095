/* The thread-start hook (include/xenkvm/thread_role.h). */
#include <stddef.h>

#include "xenkvm/thread_role.h"

static thread_role_hook role_hook;

void thread_role_set_hook(thread_role_hook hook)
{
	__atomic_store_n(&role_hook, hook, __ATOMIC_RELEASE);
}

void thread_role_enter(enum thread_role role)
{
	thread_role_hook hook = __atomic_load_n(&role_hook, __ATOMIC_ACQUIRE);

	if (hook)
		hook(role);
}

const char *thread_role_name(enum thread_role role)
{
	static const char *const names[THREAD_ROLE_COUNT] = {
		[THREAD_MAIN] = "main", [THREAD_IO] = "io", [THREAD_VCPU] = "vcpu",
		[THREAD_SERIAL_IN] = "serial-in",
	};

	return (unsigned int)role < THREAD_ROLE_COUNT ? names[role] : "?";
}
