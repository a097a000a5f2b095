/*
 * The syscalls each kind of xenkvmd thread may make, one line of reason
 * each.  THREAD_MAIN's table is the base filter of the whole process; the
 * io, vcpu and serial-in tables narrow it for their threads (filters stack,
 * the strictest wins).  ioctl is allowed by number only where a thread
 * needs it and not filtered by request: every fd it can reach was opened by
 * the daemon itself, KVM's vCPU and VM ioctls alone are dozens of
 * requests, and the vCPU thread has to keep all of them.
 *
 * A syscall missing here kills the daemon (SIGSYS): when a change adds a
 * call on some thread, add it to that thread's table and to the base.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/seccomp.h>

#include "xenkvm/sandbox.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define ANY(n, w) { .name = (n), .why = (w) }

/* Common to every thread: memory, locks, time, signals, leaving. */
#define COMMON_RULES                                                                           \
	ANY("read", "eventfd/timerfd/pipe reads, every thread's own fds"),                     \
	ANY("write", "log lines to stderr, eventfd kicks, console output pipes"),              \
	ANY("writev", "stdio and log output"),                                                 \
	ANY("close", "fds a thread opened or that its peers hand over"),                       \
	ANY("futex", "pthread mutexes, condvars, joins"),                                      \
	ANY("clock_gettime", "clock.h's monotonic clock when the vDSO falls back"),            \
	ANY("clock_nanosleep", "usleep/nanosleep in waits"),                                   \
	ANY("nanosleep", "usleep/nanosleep in waits"),                                         \
	ANY("sched_yield", "kvm/xen.c yields while another vCPU holds a Xen lock"),            \
	ANY("mmap", "malloc arenas and large allocations"),                                    \
	ANY("munmap", "free of large allocations, thread stacks"),                             \
	ANY("mprotect", "malloc growing a thread's arena"),                                    \
	ANY("mremap", "realloc of large buffers"),                                             \
	ANY("brk", "malloc on the main arena"),                                                \
	ANY("madvise", "malloc trimming; the balloon's MADV_DONTNEED (kvm/vm.c ram_discard)"), \
	ANY("rt_sigreturn", "return from the vCPU kick and host signal handlers"),             \
	ANY("rt_sigprocmask", "glibc blocks signals around thread start and exit"),            \
	ANY("restart_syscall", "a sleep interrupted by a signal resumes"),                     \
	ANY("sigaltstack", "a thread's alternate signal stack goes away at its exit (ASan too)"), \
	ANY("getpid", "log prefixes, info replies"),                                           \
	ANY("gettid", "glibc's pthread_kill, mutex ownership"),                                \
	ANY("exit", "a thread ends (event_loop_stop, vcpu_join)"),                             \
	ANY("exit_group", "the daemon ends"),                                                  \
	{ .name = "tgkill", .why = "vCPU kicks (vm_set_paused, vm_run), only within this process" }

/* tgkill's first argument is the thread group: filled with getpid() at
 * sandbox_apply() time (sandbox.c), so no rule can signal another process. */

static const struct sandbox_rule main_rules[] = {
	COMMON_RULES,
	ANY("openat", "restart rebuilds the machine: /dev/kvm, kernel, initrd, disk images, taps"),
	ANY("open", "as openat, for libraries still using it"),
	ANY("fchmod", "lib/unix_listener.c: a socket is made 0600 before bind, never wider"),
	ANY("readv", "socket and pipe reads"),
	ANY("pread64", "kernel and initrd loading, disk probing"),
	ANY("pwrite64", "blkback's synchronous path"),
	ANY("preadv", "blkback's synchronous path"),
	ANY("pwritev", "blkback's synchronous path"),
	ANY("preadv2", "blkback's RWF_NOWAIT page-cache reads"),
	ANY("pwritev2", "blkback's RWF_NOWAIT writes"),
	ANY("lseek", "kernel/initrd sizes, image sizes"),
	ANY("fstat", "image and kernel sizes"),
	ANY("newfstatat", "stat() and fstat() as glibc issues them"),
	ANY("statx", "stat() in newer glibc paths"),
	ANY("fstatfs", "blkback: is the image memory-backed (tmpfs)?"),
	ANY("ioctl", "KVM (system, VM, vCPU), tap setup, terminal modes, FIONBIO"),
	ANY("fcntl", "O_NONBLOCK/FD_CLOEXEC on sockets and pipes"),
	ANY("dup", "console fds"),
	ANY("dup2", "console fds"),
	ANY("dup3", "console fds"),
	ANY("pipe2", "console server's guest pipes"),
	ANY("eventfd2", "event loop wakeups, KVM irqfds and Xen fast-path ports, io_uring"),
	ANY("timerfd_create", "event loop timers armed from other threads"),
	ANY("timerfd_settime", "arming them"),
	ANY("timerfd_gettime", "reading them"),
	ANY("epoll_create1", "the event loop"),
	ANY("epoll_ctl", "registering fds in the event loop"),
	ANY("epoll_wait", "the event loop"),
	ANY("epoll_pwait", "the event loop"),
	ANY("epoll_pwait2", "the event loop (deadlines without timerfds)"),
	ANY("poll", "slirp, socket writes that must drain"),
	ANY("ppoll", "the event loop's poll source"),
	{ .name = "socket", .nr_args = 3, .args = { AF_UNIX, AF_INET, AF_INET6 },
	  .why = "control/console/XenStore sockets (unix), slirp and tap ifreq ioctls (inet)" },
	ANY("socketpair", "libslirp helpers"),
	ANY("bind", "the daemon's unix sockets; slirp hostfwd"),
	ANY("listen", "the same"),
	ANY("accept4", "control, console and XenStore clients"),
	ANY("connect", "slirp's outbound connections"),
	ANY("sendto", "slirp's UDP, replies on sockets"),
	ANY("recvfrom", "slirp's UDP, requests on sockets"),
	ANY("sendmsg", "socket replies"),
	ANY("recvmsg", "socket requests"),
	ANY("shutdown", "slirp closes half a TCP connection"),
	ANY("getsockopt", "slirp: SO_ERROR after connect"),
	ANY("setsockopt", "slirp: SO_REUSEADDR, TCP options"),
	ANY("getsockname", "slirp: local addresses"),
	ANY("getpeername", "slirp: remote addresses"),
	ANY("unlink", "remove the daemon's sockets at exit"),
	ANY("unlinkat", "the same, as glibc issues it"),
	ANY("rename", "xenkvm save: the complete file takes its name (on the io thread)"),
	ANY("renameat", "the same, as glibc may issue it"),
	ANY("renameat2", "the same, as glibc may issue it"),
	ANY("chmod", "socket permissions"),
	ANY("fchmodat", "the same, as glibc issues it"),
	ANY("flock", "the run directory's alive lock"),
	ANY("fallocate", "blkback discards"),
	ANY("fsync", "blkback flushes"),
	ANY("fdatasync", "blkback flushes"),
	ANY("io_uring_setup", "blkback's queues, built per incarnation"),
	ANY("io_uring_enter", "blkback submits and reaps"),
	ANY("io_uring_register", "blkback's completion eventfd"),
	ANY("getrandom", "UUIDs, KASLR offsets, slirp"),
	ANY("uname", "glibc and libslirp probe the kernel"),
	ANY("sysinfo", "glibc sysconf"),
	ANY("sched_getaffinity", "glibc's CPU count"),
	ANY("getrlimit", "glibc"),
	ANY("prlimit64", "glibc"),
	ANY("getuid", "run directory and NSS checks"),
	ANY("geteuid", "the same"),
	ANY("getgid", "the same"),
	ANY("getegid", "the same"),
	ANY("getcwd", "path resolution"),
	ANY("readlink", "path resolution"),
	ANY("getdents64", "directory listings"),
	ANY("access", "file checks"),
	ANY("faccessat", "file checks"),
	ANY("faccessat2", "file checks"),
	ANY("rt_sigaction", "vCPU kick handler, host signals (vm_run), on_crash=preserve"),
	ANY("clone", "starting vCPU, io and serial-in threads"),
	ANY("clone3", "the same (glibc 2.34+)"),
	ANY("set_robust_list", "every new thread"),
	ANY("rseq", "every new thread"),
	{ .name = "prctl", .nr_args = 3, .args = { PR_SET_NAME, PR_GET_NAME, PR_SET_NO_NEW_PRIVS },
	  .why = "thread names; no_new_privs before a thread's own filter" },
	{ .name = "seccomp", .nr_args = 1, .args = { SECCOMP_SET_MODE_FILTER },
	  .why = "each thread stacks its own filter when it starts (only more restrictive)" },
};

/* lib/event_loop.c's thread: all backends, sockets, hot-plug. */
static const struct sandbox_rule io_rules[] = {
	COMMON_RULES,
	ANY("openat", "network-attach opens /dev/net/tun; libslirp reads /etc/resolv.conf"),
	ANY("open", "as openat, for libraries still using it"),
	ANY("readv", "tap and socket reads"),
	ANY("pread64", "blkback's synchronous path"),
	ANY("pwrite64", "blkback's synchronous path"),
	ANY("preadv", "blkback's synchronous path"),
	ANY("pwritev", "blkback's synchronous path"),
	ANY("preadv2", "blkback's RWF_NOWAIT page-cache reads"),
	ANY("pwritev2", "blkback's RWF_NOWAIT writes"),
	ANY("lseek", "libslirp's file reads"),
	ANY("fstat", "libslirp's file reads"),
	ANY("newfstatat", "the same"),
	ANY("statx", "the same"),
	ANY("fstatfs", "blkback: memory-backed image check"),
	ANY("ioctl", "tap setup on network-attach (TUNSETIFF, SIOCBRADDIF), FIONREAD, FIONBIO"),
	ANY("fcntl", "O_NONBLOCK on accepted and slirp sockets"),
	ANY("pipe2", "console clients"),
	ANY("eventfd2", "backends created on network-attach; fast-path ports bound at run time"),
	ANY("timerfd_create", "timers created on the loop"),
	ANY("timerfd_settime", "arming them"),
	ANY("timerfd_gettime", "reading them"),
	ANY("epoll_ctl", "registering fds"),
	ANY("epoll_wait", "the loop's wait"),
	ANY("epoll_pwait", "the loop's wait"),
	ANY("epoll_pwait2", "the loop's wait with a deadline"),
	ANY("poll", "slirp, sockets that must drain"),
	ANY("ppoll", "the loop's poll source (slirp)"),
	{ .name = "socket", .nr_args = 3, .args = { AF_UNIX, AF_INET, AF_INET6 },
	  .why = "slirp's host sockets; tap's ifreq ioctls" },
	ANY("bind", "slirp"),
	ANY("listen", "slirp hostfwd"),
	ANY("accept4", "control, console, XenStore clients; slirp hostfwd"),
	ANY("connect", "slirp's outbound connections"),
	ANY("sendto", "slirp UDP, socket replies"),
	ANY("recvfrom", "slirp UDP, socket requests"),
	ANY("sendmsg", "socket replies"),
	ANY("recvmsg", "socket requests"),
	ANY("shutdown", "slirp"),
	ANY("getsockopt", "slirp"),
	ANY("setsockopt", "slirp"),
	ANY("getsockname", "slirp"),
	ANY("getpeername", "slirp"),
	ANY("fallocate", "blkback discards"),
	ANY("fsync", "blkback flushes; xenkvm save's file and its directory"),
	ANY("fdatasync", "blkback flushes"),
	ANY("rename", "xenkvm save: the complete file takes its name"),
	ANY("renameat", "the same, as glibc may issue it"),
	ANY("renameat2", "the same, as glibc may issue it"),
	ANY("unlink", "xenkvm save: a failed save's temporary file goes"),
	ANY("unlinkat", "the same, as glibc issues it"),
	ANY("io_uring_setup", "allowed in case a queue is built on the loop"),
	ANY("io_uring_enter", "blkback submits and reaps"),
	ANY("io_uring_register", "blkback's completion eventfd"),
	ANY("getrandom", "slirp, MAC addresses for hot-plugged vifs"),
	ANY("uname", "libslirp"),
};

/* kvm/vcpu.c's threads: KVM_RUN and the device and Xen handlers it calls. */
static const struct sandbox_rule vcpu_rules[] = {
	COMMON_RULES,
	ANY("ioctl", "KVM_RUN, register and KVM Xen attribute ioctls on the own vCPU; irq lines"),
	ANY("eventfd2", "a guest's EVTCHNOP_bind_* links a backend port: KVM fast-path eventfd"),
	ANY("epoll_ctl", "... registered in (and removed from) the io thread's loop"),
	ANY("fcntl", "flags on those eventfds"),
	ANY("timerfd_create", "a Xen timer the guest arms first (userspace timers)"),
	ANY("timerfd_settime", "arming Xen timers (userspace timers)"),
	ANY("timerfd_gettime", "reading them"),
	ANY("pread64", "the emulated IDE disk (kvm/ide.c): PIO sector reads on the vCPU that asked"),
	ANY("pwrite64", "... and sector writes"),
	ANY("fdatasync", "... FLUSH CACHE, and the unplug hands the disk to blkback flushed"),
	ANY("sendto", "log lines into the journal under a service (lib/journal.c)"),
};

/* kvm/serial.c's reader: console input into the UART. */
static const struct sandbox_rule serial_in_rules[] = {
	COMMON_RULES,
	ANY("ioctl", "KVM_IRQ_LINE: a received byte raises the UART's interrupt"),
	ANY("sendto", "log lines into the journal under a service (lib/journal.c)"),
};

static const struct sandbox_policy policies[THREAD_ROLE_COUNT] = {
	[THREAD_MAIN] = { main_rules, N(main_rules) },
	[THREAD_IO] = { io_rules, N(io_rules) },
	[THREAD_VCPU] = { vcpu_rules, N(vcpu_rules) },
	[THREAD_SERIAL_IN] = { serial_in_rules, N(serial_in_rules) },
};

const struct sandbox_policy *sandbox_policy(enum thread_role role)
{
	return (unsigned int)role < THREAD_ROLE_COUNT ? &policies[role] : NULL;
}

int sandbox_probe_nr(enum thread_role role)
{
	switch (role) {
	case THREAD_MAIN:      return SYS_personality;   /* in no table at all */
	case THREAD_IO:        return SYS_clone3;        /* the base allows it, io not */
	case THREAD_VCPU:      return SYS_openat;        /* the base allows it, vcpu not */
	case THREAD_SERIAL_IN: return SYS_socket;        /* the base allows it, serial-in not */
	default:               return -1;
	}
}

long sandbox_probe_syscall(enum thread_role role)
{
	long rc;

	switch (role) {
	case THREAD_MAIN:
		return syscall(SYS_personality, 0xffffffffUL);   /* a query: changes nothing */
	case THREAD_IO:
		return syscall(SYS_clone3, NULL, 0UL);           /* EINVAL: creates nothing */
	case THREAD_VCPU:
		rc = syscall(SYS_openat, AT_FDCWD, "/", O_RDONLY | O_PATH | O_CLOEXEC);
		break;
	case THREAD_SERIAL_IN:
		rc = syscall(SYS_socket, AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		break;
	default:
		errno = EINVAL;
		return -1;
	}
	if (rc >= 0)
		close((int)rc);
	return rc;
}
